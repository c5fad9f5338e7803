// emofuse/fusion/detail/dense.hpp — an nn.Linear's parameters inside fusion stages, loaded by
// PyTorch state-dict names, plus the element-wise activations the stages apply.
#pragma once

#include "emofuse/core/dims.hpp"
#include "emofuse/core/error.hpp"
#include "emofuse/core/sequence.hpp"
#include "emofuse/kernels/linear.hpp"

#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

namespace emofuse::fusion {

/// Element-wise activations named as torch.nn.functional names them.
enum class activation { identity, relu, tanh, sigmoid };

namespace detail {

template <class T>
T sigmoid(T v) {
    return T(1) / (T(1) + std::exp(-v));
}

/// Applies `act` in place to n values (NaN stays NaN).
template <class T>
void activate(activation act, T* values, std::size_t n) {
    switch (act) {
    case activation::identity:
        return;
    case activation::relu:
        for (std::size_t i = 0; i < n; ++i) {
            values[i] = values[i] < T(0) ? T(0) : values[i];
        }
        return;
    case activation::tanh:
        for (std::size_t i = 0; i < n; ++i) {
            values[i] = std::tanh(values[i]);
        }
        return;
    case activation::sigmoid:
        for (std::size_t i = 0; i < n; ++i) {
            values[i] = sigmoid(values[i]);
        }
        return;
    }
}

/// One nn.Linear: weight (out, in), bias (out) or empty.
template <class T>
struct dense {
    xt::xtensor<T, 2> weight;
    xt::xtensor<T, 1> bias;

    [[nodiscard]] std::size_t inputs() const { return weight.shape(1); }
    [[nodiscard]] std::size_t outputs() const { return weight.shape(0); }
    [[nodiscard]] bool empty() const { return weight.size() == 0 && weight.shape(0) == 0; }
    [[nodiscard]] std::size_t parameter_count() const { return weight.size() + bias.size(); }

    /// Throws shape_error unless the bias matches and the sizes are the expected ones
    /// (`dynamic` leaves one unchecked).
    void check(std::string_view stage, std::string_view name, std::size_t in = dynamic,
               std::size_t out = dynamic) const {
        const std::string what(name);
        if (in != dynamic) {
            check_size(stage, what + " weight columns (inputs)", in, inputs());
        }
        if (out != dynamic) {
            check_size(stage, what + " weight rows (outputs)", out, outputs());
        }
        if (bias.size() != 0) {
            check_size(stage, what + " bias size", outputs(), bias.size());
        }
    }

    /// y (rows, out) = act(x (rows, in)·Wᵀ + b) through kernels::linear.
    void apply(const T* x, std::size_t rows, T* y,
               kernels::epilogue act = kernels::epilogue::none) const {
        kernels::linear(x, rows, inputs(), weight.data(), bias.size() ? bias.data() : nullptr,
                        outputs(), y, act);
    }
};

/// Loads `<prefix>weight` and, when present, `<prefix>bias`.
template <class T, class StateDict>
dense<T> load_dense(const StateDict& sd, const std::string& prefix) {
    dense<T> layer{sd.template tensor<T, 2>(prefix + "weight"), {}};
    if (sd.contains(prefix + "bias")) {
        layer.bias = sd.template tensor<T, 1>(prefix + "bias", {layer.weight.shape(0)});
    }
    return layer;
}

} // namespace detail

} // namespace emofuse::fusion
