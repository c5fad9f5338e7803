// emofuse/heads/linear.hpp — a linear read-out y = x·Wᵀ + b (PyTorch nn.Linear layout).
#pragma once

#include "emofuse/core/concepts.hpp"
#include "emofuse/core/error.hpp"
#include "emofuse/core/sequence.hpp"
#include "emofuse/kernels/linear.hpp"

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
        : weight_(std::move(weight)), bias_(std::move(bias)) {
        if constexpr (Out != dynamic) {
            check_size("heads::linear", "weight rows (outputs)", Out, weight_.shape(0));
        }
        if constexpr (In != dynamic) {
            check_size("heads::linear", "weight columns (inputs)", In, weight_.shape(1));
        }
        if (bias_.size() != 0) {
            check_size("heads::linear", "bias size", weight_.shape(0), bias_.size());
        }
    }

    /// Without bias.
    explicit linear(xt::xtensor<T, 2> weight) : linear(std::move(weight), xt::xtensor<T, 1>()) {}

    [[nodiscard]] std::size_t inputs() const { return weight_.shape(1); }
    [[nodiscard]] std::size_t outputs() const { return weight_.shape(0); }
    [[nodiscard]] const xt::xtensor<T, 2>& weight() const { return weight_; }
    [[nodiscard]] const xt::xtensor<T, 1>& bias() const { return bias_; }

    features<T> operator()(const features<T>& x) const {
        check_size("heads::linear", "input features", inputs(), x.shape(1));
        features<T> y({x.shape(0), outputs()});
        kernels::linear(x.data(), x.shape(0), inputs(), weight_.data(),
                        bias_.size() ? bias_.data() : nullptr, outputs(), y.data());
        return y;
    }

private:
    xt::xtensor<T, 2> weight_;
    xt::xtensor<T, 1> bias_;
};

} // namespace emofuse::heads
