// expect: produces a different number of features per sample than the next stage expects
// concat of dims<32, 16> yields 48 features; the head is declared for 40.
#include <emofuse/core/pipeline.hpp>
#include <emofuse/fusion/concat.hpp>
#include <emofuse/heads/linear.hpp>

int main() {
    using namespace emofuse;
    auto pipe = fusion::concat<dims<32, 16>>{} |
                heads::linear<float, 40, 1>(xt::xtensor<float, 2>::from_shape({1, 40}));
    (void)pipe;
}
