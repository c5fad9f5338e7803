// emofuse/attention/dense.hpp — the parameterised row operators the attention layers are built
// from: a dense (nn.Linear) layer and a layer norm (nn.LayerNorm), over rows of a matrix.
#pragma once

#include "emofuse/config.hpp"
#include "emofuse/core/error.hpp"
#include "emofuse/kernels/gemm.hpp"
#include "emofuse/kernels/layer_norm.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

namespace emofuse::attention {

/// nn.Linear: y = x·Wᵀ + b with weight (out, in) and bias (out) or empty (bias=False).
template <class T>
class dense {
public:
    dense() = default;

    /// `what` names the layer in error messages (e.g. "fc1").
    dense(xt::xtensor<T, 2> weight, xt::xtensor<T, 1> bias, std::string_view what = "dense")
        : weight_(std::move(weight)), bias_(std::move(bias)) {
        if (bias_.size() != 0) {
            check_size(std::string("attention::dense (") + std::string(what) + ")",
                       "bias size (weight rows)", weight_.shape(0), bias_.size());
        }
    }

    [[nodiscard]] std::size_t in_features() const { return weight_.shape(1); }
    [[nodiscard]] std::size_t out_features() const { return weight_.shape(0); }
    [[nodiscard]] bool empty() const { return weight_.size() == 0; }
    [[nodiscard]] const xt::xtensor<T, 2>& weight() const { return weight_; }
    [[nodiscard]] const xt::xtensor<T, 1>& bias() const { return bias_; }

    /// y (rows × out, `ldy` apart) = act(x·Wᵀ + b) + accumulate·y; x is rows × in, `ldx` apart.
    void apply(const T* x, std::size_t ldx, std::size_t rows, T* y, std::size_t ldy,
               kernels::epilogue act = kernels::epilogue::none, bool accumulate = false) const {
        kernels::gemm(kernels::transpose::no, kernels::transpose::yes, rows, out_features(),
                      in_features(), T(1), x, ldx, weight_.data(), in_features(),
                      accumulate ? T(1) : T(0), y, ldy,
                      kernels::fused_epilogue<T>{bias_.size() != 0 ? bias_.data() : nullptr, act});
    }

private:
    xt::xtensor<T, 2> weight_;
    xt::xtensor<T, 1> bias_;
};

/// nn.LayerNorm over the last dimension: biased variance, eps inside the square root.
template <class T>
class layer_norm {
public:
    layer_norm() = default;
    layer_norm(xt::xtensor<T, 1> weight, xt::xtensor<T, 1> bias, T eps = T(1e-5))
        : weight_(std::move(weight)), bias_(std::move(bias)), eps_(eps) {
        check_size("attention::layer_norm", "bias size (weight size)", weight_.size(),
                   bias_.size());
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

} // namespace emofuse::attention
