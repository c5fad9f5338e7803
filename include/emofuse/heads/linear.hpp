// emofuse/heads/linear.hpp — a linear read-out y = x·Wᵀ + b (PyTorch nn.Linear layout).
#pragma once

#include "emofuse/core/concepts.hpp"
#include "emofuse/core/error.hpp"
#include "emofuse/core/sequence.hpp"
#include "emofuse/layers/dense.hpp"

#include <cstddef>
#include <utility>

namespace emofuse::heads {

/// nn.Linear: weight (out, in), optional bias (out). In/Out may be fixed at compile time
/// so that composition checks them; the constructor checks the weights against them.
template <class T, std::size_t In = dynamic, std::size_t Out = dynamic>
class linear : public head_stage_base {
public:
    static constexpr std::size_t input_size = In;
    static constexpr std::size_t output_size = Out;

    linear(xt::xtensor<T, 2> weight, xt::xtensor<T, 1> bias)
        : layer_(std::move(weight), std::move(bias), "heads::linear") {
        if constexpr (Out != dynamic) {
            check_size("heads::linear", "weight rows (outputs)", Out, layer_.out_features());
        }
        if constexpr (In != dynamic) {
            check_size("heads::linear", "weight columns (inputs)", In, layer_.in_features());
        }
    }

    /// Without bias.
    explicit linear(xt::xtensor<T, 2> weight) : linear(std::move(weight), xt::xtensor<T, 1>()) {}

    [[nodiscard]] std::size_t inputs() const { return layer_.in_features(); }
    [[nodiscard]] std::size_t outputs() const { return layer_.out_features(); }
    [[nodiscard]] const xt::xtensor<T, 2>& weight() const { return layer_.weight(); }
    [[nodiscard]] const xt::xtensor<T, 1>& bias() const { return layer_.bias(); }

    features<T> operator()(const features<T>& x) const {
        check_size("heads::linear", "input features", inputs(), x.shape(1));
        features<T> y({x.shape(0), outputs()});
        layer_.apply(x.data(), x.shape(0), y.data());
        return y;
    }

private:
    layers::dense<T> layer_;
};

} // namespace emofuse::heads
