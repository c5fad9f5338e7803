// emofuse/encoders/cells.hpp — nn.LSTMCell and nn.GRUCell for models that step by hand (MFN,
// Graph-MFN): one step for a batch, with the gate code of the recurrent layers.
#pragma once

#include <emofuse/config.hpp>
#include <emofuse/core/error.hpp>
#include <emofuse/encoders/detail/gates.hpp>
#include <emofuse/encoders/recurrent.hpp>
#include <emofuse/kernels/epilogue.hpp>
#include <emofuse/kernels/linear.hpp>
#include <emofuse/kernels/packed_operand.hpp>
#include <emofuse/kernels/workspace.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace emofuse::encoders {

/// The constructor arguments of nn.LSTMCell / nn.GRUCell.
struct cell_options {
    std::size_t input_size = 0;
    std::size_t hidden_size = 0;
    /// The cell has bias_ih / bias_hh.
    bool bias = true;
};

/// A cell's state for a batch: h and, for an LSTM cell, c, both (batch, hidden). An empty
/// tensor means zeros.
template <class T>
struct cell_state {
    xt::xtensor<T, 2> h;
    xt::xtensor<T, 2> c;
};

namespace detail {

template <rnn_cell_type Cell>
inline constexpr std::string_view cell_stage =
    Cell == rnn_cell_type::lstm ? "encoders::lstm_cell" : "encoders::gru_cell";

} // namespace detail

/// nn.LSTMCell (Cell = lstm) or nn.GRUCell (Cell = gru) in inference: the same gates as
/// lstm<T> / gru<T> (docs/encoders.md), for one step. W_ih and W_hh are packed once at
/// construction; a call is two GEMMs and one fused gate pass per sample.
///
/// operator() is const and thread-safe (scratch is per thread). Move-only.
template <class T, rnn_cell_type Cell>
class recurrent_cell {
public:
    static_assert(std::is_floating_point_v<T>,
                  "encoders::recurrent_cell<T>: T must be float or double");
    static constexpr rnn_cell_type cell = Cell;
    static constexpr std::size_t gates = detail::gate_count<Cell>;

    recurrent_cell() = default;

    /// Parameters in PyTorch's layout (rnn_parameters: weight_ih (gates·H, in), weight_hh
    /// (gates·H, H), biases (gates·H) or both empty). Throws value_error for a zero size,
    /// shape_error for inconsistent shapes.
    explicit recurrent_cell(const rnn_parameters<T>& p)
        : options_{p.weight_ih.shape(1), p.weight_hh.shape(1), p.bias_ih.size() != 0} {
        constexpr std::string_view stage = detail::cell_stage<Cell>;
        if (options_.input_size == 0 || options_.hidden_size == 0) {
            throw value_error(emofuse::detail::concat_message(
                stage, ": input_size and hidden_size: expected > 0, got ", options_.input_size,
                ", ", options_.hidden_size));
        }
        const std::size_t hidden = options_.hidden_size;
        const std::size_t width = gates * hidden;
        detail::check_parameters<T, Cell>(stage, "cell", p, options_.input_size, hidden,
                                          options_.bias);
        input_ = kernels::packed_operand<T>::from_linear_weight(p.weight_ih.data(), width,
                                                                options_.input_size);
        hidden_ = kernels::packed_operand<T>::from_linear_weight(p.weight_hh.data(), width, hidden);
        input_bias_.assign(width, T(0));
        detail::fold_input_bias<T, Cell>(p.bias_ih, p.bias_hh, hidden, input_bias_.data());
        hidden_bias_ = detail::hidden_bias<T, Cell>(p.bias_hh, hidden);
    }

    /// Loads `<prefix>weight_ih`, `weight_hh` and, with options.bias, `bias_ih`, `bias_hh`
    /// (nn.LSTMCell / nn.GRUCell's state_dict() names, e.g. MMSA's "Model.lstm_l."). Throws
    /// value_error for a missing parameter or a bias with bias = false, shape_error for a wrong
    /// shape.
    template <class StateDict>
    static recurrent_cell from_state_dict(const StateDict& sd, const std::string& prefix,
                                          const cell_options& options) {
        constexpr std::string_view stage = detail::cell_stage<Cell>;
        const std::size_t width = gates * options.hidden_size;
        auto load = [&](std::string_view kind, auto shape) {
            const std::string name = prefix + std::string(kind);
            detail::require_parameter(stage, sd, name);
            return sd.template tensor<T, std::tuple_size_v<decltype(shape)>>(name, shape);
        };
        rnn_parameters<T> p;
        p.weight_ih = load("weight_ih", std::array<std::size_t, 2>{width, options.input_size});
        p.weight_hh = load("weight_hh", std::array<std::size_t, 2>{width, options.hidden_size});
        if (options.bias) {
            p.bias_ih = load("bias_ih", std::array<std::size_t, 1>{width});
            p.bias_hh = load("bias_hh", std::array<std::size_t, 1>{width});
        } else {
            for (std::string_view kind : {"bias_ih", "bias_hh"}) {
                detail::reject_parameter(stage, sd, prefix + std::string(kind),
                                         "the options say bias = false");
            }
        }
        return recurrent_cell(p);
    }

    [[nodiscard]] const cell_options& options() const { return options_; }
    [[nodiscard]] std::size_t parameter_count() const {
        const std::size_t width = gates * options_.hidden_size;
        return width * (options_.input_size + options_.hidden_size + (options_.bias ? 2 : 0));
    }

    /// One step: `input` (batch, input_size), `state` the previous (h, c) — empty tensors are
    /// zeros. Returns the new state (c empty for a GRU cell). Throws shape_error for a wrong
    /// feature size or state shape, value_error for a c given to a GRU cell.
    [[nodiscard]] cell_state<T> operator()(const xt::xtensor<T, 2>& input,
                                           const cell_state<T>& state = {}) const {
        constexpr std::string_view stage = detail::cell_stage<Cell>;
        check_size(stage, "input features (input_size)", options_.input_size, input.shape(1));
        const std::size_t batch = input.shape(0);
        const std::size_t hidden = options_.hidden_size;
        const std::size_t width = gates * hidden;
        cell_state<T> next;
        next.h = initial(state.h, "h", batch);
        if constexpr (Cell == rnn_cell_type::lstm) {
            next.c = initial(state.c, "c", batch);
        } else if (state.c.size() != 0) {
            throw value_error(emofuse::detail::concat_message(
                stage, ": c: expected none (a GRU cell has no cell state), got a tensor"));
        }
        if (batch == 0) {
            return next;
        }
        T* projected = detail::recurrent_workspace().buffer<T>(0, batch * width);
        project_inputs(input.data(), batch, projected);
        step(projected, width, batch, next.h.data(),
             Cell == rnn_cell_type::lstm ? next.c.data() : nullptr);
        return next;
    }

    /// The part of a step that does not depend on the state, for `rows` inputs at once:
    /// out (rows, gates·hidden) = inputs (rows, input_size)·W_ihᵀ + the biases folded into it.
    /// A model that steps by hand over a sequence projects every time step in one GEMM this
    /// way, then calls step() per time step. `out` must not alias `inputs`.
    void project_inputs(const T* inputs, std::size_t rows, T* out) const {
        kernels::linear(inputs, rows, input_, input_bias_.data(), out);
    }

    /// One step from projections made by project_inputs: sample b's are at
    /// projected + b·stride (stride ≥ gates·hidden). `h` (and, for an LSTM cell, `c`), each
    /// batch × hidden contiguous, hold the previous state and receive the new one. The same
    /// arithmetic as operator().
    void step(const T* projected, std::size_t stride, std::size_t batch, T* h, T* c) const {
        const std::size_t hidden = options_.hidden_size;
        const std::size_t width = gates * hidden;
        T* hidden_projected = detail::recurrent_workspace().buffer<T>(1, batch * width);
        kernels::gemm(
            kernels::transpose::no, batch, T(1), h, hidden, hidden_, T(0), hidden_projected, width,
            kernels::fused_epilogue<T>{hidden_bias_.empty() ? nullptr : hidden_bias_.data(),
                                       kernels::epilogue::none});
        for (std::size_t b = 0; b < batch; ++b) {
            if constexpr (Cell == rnn_cell_type::lstm) {
                detail::lstm_step(projected + b * stride, hidden_projected + b * width,
                                  c + b * hidden, h + b * hidden, static_cast<T*>(nullptr), hidden);
            } else {
                detail::gru_step(projected + b * stride, hidden_projected + b * width,
                                 h + b * hidden, static_cast<T*>(nullptr), hidden);
            }
        }
    }

private:
    xt::xtensor<T, 2> initial(const xt::xtensor<T, 2>& given, std::string_view name,
                              std::size_t batch) const {
        const std::size_t hidden = options_.hidden_size;
        if (given.size() == 0) {
            return xt::zeros<T>(std::array<std::size_t, 2>{batch, hidden});
        }
        if (given.shape(0) != batch || given.shape(1) != hidden) {
            throw shape_error(emofuse::detail::concat_message(
                detail::cell_stage<Cell>, ": ", name, " shape: expected (", batch, ", ", hidden,
                ") = (batch, hidden_size), got (", given.shape(0), ", ", given.shape(1), ")"));
        }
        return given;
    }

    cell_options options_{};
    kernels::packed_operand<T> input_;
    kernels::packed_operand<T> hidden_;
    std::vector<T> input_bias_;
    std::vector<T> hidden_bias_;
};

/// nn.LSTMCell in inference.
template <class T>
using lstm_cell = recurrent_cell<T, rnn_cell_type::lstm>;

/// nn.GRUCell in inference.
template <class T>
using gru_cell = recurrent_cell<T, rnn_cell_type::gru>;

} // namespace emofuse::encoders
