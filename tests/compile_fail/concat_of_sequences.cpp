// expect: pool sequences first, e.g. per_modality\(pool::mean\{\}\) \| concat\{\}
// Late concat applied to time sequences.
#include <emofuse/core/pipeline.hpp>
#include <emofuse/fusion/concat.hpp>

int main() {
    using namespace emofuse;
    auto batch = make_batch(text(sequence<float>(xt::xtensor<float, 3>::from_shape({1, 2, 3}))));
    (void)fusion::concat{}(batch);
}
