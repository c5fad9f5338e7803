// emofuse/layers/dense.hpp — nn.Linear as the one dense layer every parameterised stage is built
// from (attention, fusion, heads), its weight packed once for the GEMM, the element-wise
// activations stages apply to its outputs, and the loader that reads it from a state dict.
#pragma once

#include "emofuse/config.hpp"
#include "emofuse/core/dims.hpp"
#include "emofuse/core/error.hpp"
#include "emofuse/kernels/elementwise.hpp"
#include "emofuse/kernels/epilogue.hpp"
#include "emofuse/kernels/gemm.hpp"
#include "emofuse/kernels/packed_operand.hpp"
#include "emofuse/kernels/workspace.hpp"

#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

namespace emofuse::layers {

/// Element-wise activations, named as torch.nn.functional names them (gelu: the exact erf
/// form, approximate='none').
enum class activation { identity, relu, tanh, sigmoid, gelu };

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
            values[i] = T(1) / (T(1) + std::exp(-values[i]));
        }
        return;
    case activation::gelu:
        kernels::gelu(values, values, n);
        return;
    }
}

/// An nn.Linear's parameters as stored: weight (out, in), bias (out) or empty (bias=False).
template <class T>
struct linear_parameters {
    xt::xtensor<T, 2> weight;
    xt::xtensor<T, 1> bias;
};

/// nn.Linear: y = x·Wᵀ + b. The weight is kept in PyTorch's (out, in) layout (for inspection
/// and for stages that use blocks of its columns) and packed once, at construction, into the
/// GEMM's panel layout (kernels::packed_operand), so applying the layer never re-packs it.
/// A default-constructed layer is empty (no outputs), which stages use for "no layer here".
/// Copies re-pack from the weight.
template <class T>
class dense {
public:
    dense() = default;

    /// `what` names the layer in error messages (e.g. "fc1"). Throws shape_error when a
    /// non-empty bias does not have one value per weight row. Not explicit, so that a layer
    /// can be written {weight, bias}.
    dense(xt::xtensor<T, 2> weight, xt::xtensor<T, 1> bias, std::string_view what = "dense")
        : weight_(std::move(weight)), bias_(std::move(bias)) {
        if (bias_.size() != 0) {
            check_size(std::string("layers::dense (") + std::string(what) + ")",
                       "bias size (weight rows)", weight_.shape(0), bias_.size());
        }
        pack();
    }
    /// Without bias (bias=False).
    explicit dense(xt::xtensor<T, 2> weight) : dense(std::move(weight), xt::xtensor<T, 1>()) {}
    explicit dense(linear_parameters<T> parameters, std::string_view what = "dense")
        : dense(std::move(parameters.weight), std::move(parameters.bias), what) {}

    dense(const dense& other) : weight_(other.weight_), bias_(other.bias_) { pack(); }
    dense& operator=(const dense& other) {
        if (this != &other) {
            weight_ = other.weight_;
            bias_ = other.bias_;
            pack();
        }
        return *this;
    }
    dense(dense&&) = default;
    dense& operator=(dense&&) = default;
    ~dense() = default;

    [[nodiscard]] std::size_t in_features() const { return weight_.shape(1); }
    [[nodiscard]] std::size_t out_features() const { return weight_.shape(0); }
    /// No outputs: a default-constructed layer (or a weight with zero rows).
    [[nodiscard]] bool empty() const { return weight_.shape(0) == 0; }
    [[nodiscard]] std::size_t parameter_count() const { return weight_.size() + bias_.size(); }
    [[nodiscard]] const xt::xtensor<T, 2>& weight() const { return weight_; }
    [[nodiscard]] const xt::xtensor<T, 1>& bias() const { return bias_; }
    /// The bias values, or null for bias=False (the GEMM epilogue's convention).
    [[nodiscard]] const T* bias_data() const { return bias_.size() != 0 ? bias_.data() : nullptr; }

    /// Throws shape_error naming `stage` and `name` unless the sizes are the expected ones
    /// (`dynamic` leaves one unchecked).
    void check(std::string_view stage, std::string_view name, std::size_t in = dynamic,
               std::size_t out = dynamic) const {
        const std::string what(name);
        if (in != dynamic) {
            check_size(stage, what + " weight columns (inputs)", in, in_features());
        }
        if (out != dynamic) {
            check_size(stage, what + " weight rows (outputs)", out, out_features());
        }
    }

    /// y (rows × out, `ldy` apart) = act(x·Wᵀ + b) (+ y when `accumulate`); x is rows × in,
    /// `ldx` apart. y must not alias x.
    void apply(const T* x, std::size_t ldx, std::size_t rows, T* y, std::size_t ldy,
               kernels::epilogue act = kernels::epilogue::none, bool accumulate = false,
               kernels::workspace& ws = kernels::thread_workspace()) const {
        kernels::gemm(kernels::transpose::no, rows, T(1), x, ldx, packed_, accumulate ? T(1) : T(0),
                      y, ldy, kernels::fused_epilogue<T>{bias_data(), act}, ws);
    }

    /// Contiguous rows: y (rows, out) = act(x (rows, in)·Wᵀ + b).
    void apply(const T* x, std::size_t rows, T* y,
               kernels::epilogue act = kernels::epilogue::none) const {
        apply(x, in_features(), rows, y, out_features(), act);
    }

    /// y = act(x·Wᵀ + b) with any activation (ReLU and GELU fused into the GEMM's store, the
    /// others applied to each row after it).
    void apply(const T* x, std::size_t ldx, std::size_t rows, T* y, std::size_t ldy,
               activation act) const {
        if (act == activation::relu || act == activation::gelu) {
            apply(x, ldx, rows, y, ldy,
                  act == activation::relu ? kernels::epilogue::relu : kernels::epilogue::gelu);
            return;
        }
        apply(x, ldx, rows, y, ldy, kernels::epilogue::none);
        if (act == activation::identity) {
            return;
        }
        if (ldy == out_features()) {
            activate(act, y, rows * ldy); // contiguous rows: one pass
            return;
        }
        for (std::size_t r = 0; r < rows; ++r) {
            activate(act, y + r * ldy, out_features());
        }
    }

private:
    void pack() {
        packed_ = kernels::packed_operand<T>::from_linear_weight(weight_.data(), out_features(),
                                                                 in_features());
    }

    xt::xtensor<T, 2> weight_ = xt::xtensor<T, 2>::from_shape({0, 0});
    xt::xtensor<T, 1> bias_;
    kernels::packed_operand<T> packed_;
};

/// " in <source>" naming where a state dict's tensors came from (io::state_dict::source()),
/// or nothing for state-dict-like objects without one: the tail of a loader's error message.
template <class StateDict>
[[nodiscard]] std::string state_dict_source_suffix(const StateDict& sd) {
    if constexpr (requires { sd.source(); }) {
        return " in " + std::string(sd.source());
    } else {
        return {};
    }
}

/// Reads `<prefix>weight` (out, in) and, when present, `<prefix>bias` (out). `in`/`out` that
/// are not `dynamic` are checked against the weight. `StateDict` is io::state_dict or anything
/// with contains(name) and tensor<T, N>(name, shape).
template <class T, class StateDict>
[[nodiscard]] linear_parameters<T>
load_linear_parameters(const StateDict& sd, std::string_view prefix, std::size_t in = dynamic,
                       std::size_t out = dynamic) {
    const std::string at(prefix);
    linear_parameters<T> p{sd.template tensor<T, 2>(at + "weight", {out, in}), {}};
    if (sd.contains(at + "bias")) {
        p.bias = sd.template tensor<T, 1>(at + "bias", {p.weight.shape(0)});
    }
    return p;
}

/// The dense layer `<prefix>weight`, `<prefix>bias` (bias optional); see load_linear_parameters.
template <class T, class StateDict>
[[nodiscard]] dense<T> load_dense(const StateDict& sd, std::string_view prefix,
                                  std::size_t in = dynamic, std::size_t out = dynamic) {
    return dense<T>(load_linear_parameters<T>(sd, prefix, in, out), prefix);
}

/// load_dense when `<prefix>weight` is present, else an empty layer (an optional module).
template <class T, class StateDict>
[[nodiscard]] dense<T> load_optional_dense(const StateDict& sd, std::string_view prefix) {
    return sd.contains(std::string(prefix) + "weight") ? load_dense<T>(sd, prefix) : dense<T>();
}

} // namespace emofuse::layers
