// emofuse/layers/layer_norm.hpp — nn.LayerNorm over rows of a matrix, and its state-dict loader.
#pragma once

#include "emofuse/config.hpp"
#include "emofuse/core/dims.hpp"
#include "emofuse/core/error.hpp"
#include "emofuse/kernels/layer_norm.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

namespace emofuse::layers {

/// nn.LayerNorm over the last dimension: biased variance, eps inside the square root.
template <class T>
class layer_norm {
public:
    layer_norm() = default;
    layer_norm(xt::xtensor<T, 1> weight, xt::xtensor<T, 1> bias, T eps = T(1e-5))
        : weight_(std::move(weight)), bias_(std::move(bias)), eps_(eps) {
        check_size("layers::layer_norm", "bias size (weight size)", weight_.size(), bias_.size());
    }

    [[nodiscard]] std::size_t size() const { return weight_.size(); }
    [[nodiscard]] T eps() const { return eps_; }
    [[nodiscard]] const xt::xtensor<T, 1>& weight() const { return weight_; }
    [[nodiscard]] const xt::xtensor<T, 1>& bias() const { return bias_; }

    /// y = LN(x) for `rows` rows of size() values; y may equal x.
    void apply(const T* x, std::size_t ldx, std::size_t rows, T* y, std::size_t ldy) const {
        kernels::layer_norm(x, rows, size(), ldx, weight_.data(), bias_.data(), eps_, y, ldy);
    }

private:
    xt::xtensor<T, 1> weight_;
    xt::xtensor<T, 1> bias_;
    T eps_ = T(1e-5);
};

/// nn.LayerNorm `<prefix>weight`, `<prefix>bias` (eps is not stored in state dicts).
/// `StateDict` is io::state_dict or anything with tensor<T, N>(name, shape).
template <class T, class StateDict>
[[nodiscard]] layer_norm<T> load_layer_norm(const StateDict& sd, std::string_view prefix,
                                            T eps = T(1e-5)) {
    const std::string at(prefix);
    auto weight = sd.template tensor<T, 1>(at + "weight", {dynamic});
    auto bias = sd.template tensor<T, 1>(at + "bias", {weight.size()});
    return layer_norm<T>(std::move(weight), std::move(bias), eps);
}

} // namespace emofuse::layers
