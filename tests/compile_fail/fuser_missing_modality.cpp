// expect: the batch has no modality that this stage needs
// A fusion stage restricted to a modality the batch does not hold.
#include <emofuse/core/pipeline.hpp>
#include <emofuse/fusion/concat.hpp>
#include <emofuse/heads/linear.hpp>

int main() {
    using namespace emofuse;
    auto batch = make_batch(text(features<float>::from_shape({1, 2})));
    auto pipe = only<text, audio>(fusion::concat{}) |
                heads::linear<float>(xt::xtensor<float, 2>::from_shape({1, 2}));
    (void)pipe(batch);
}
