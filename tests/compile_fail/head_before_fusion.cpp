// expect: Put a fusion stage \(e.g. fusion::concat\{\}\) between
// A head placed straight after per-modality stages: the data is still a batch.
#include <emofuse/align/pool.hpp>
#include <emofuse/core/pipeline.hpp>
#include <emofuse/heads/linear.hpp>

int main() {
    using namespace emofuse;
    auto pipe = per_modality(pool::mean{}) |
                heads::linear<float>(xt::xtensor<float, 2>::from_shape({1, 2}));
    (void)pipe;
}
