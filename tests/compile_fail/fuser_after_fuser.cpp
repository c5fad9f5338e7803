// expect: only a head \(heads::linear, heads::ridge, ...\) can follow
// Two fusion stages in a row: after the first the data is one feature matrix.
#include <emofuse/core/pipeline.hpp>
#include <emofuse/fusion/concat.hpp>

int main() {
    using namespace emofuse;
    auto pipe = fusion::concat{} | fusion::concat{};
    (void)pipe;
}
