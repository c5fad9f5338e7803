// expect: wrap it as per_modality\(stage\)
// A pooler chained directly, without per_modality(...).
#include <emofuse/align/pool.hpp>
#include <emofuse/core/pipeline.hpp>
#include <emofuse/fusion/concat.hpp>

int main() {
    using namespace emofuse;
    auto pipe = pool::mean{} | fusion::concat{};
    (void)pipe;
}
