// emofuse/encoders/recurrent.hpp — nn.LSTM and nn.GRU for inference: any number of layers,
// uni- or bidirectional, either batch layout, optional initial state and per-sample lengths
// with pack_padded_sequence semantics. Parameters carry PyTorch's state-dict names.
#pragma once

#include <emofuse/config.hpp>
#include <emofuse/core/checked_size.hpp>
#include <emofuse/core/error.hpp>
#include <emofuse/encoders/detail/gates.hpp>
#include <emofuse/kernels/epilogue.hpp>
#include <emofuse/kernels/linear.hpp>
#include <emofuse/kernels/packed_operand.hpp>
#include <emofuse/kernels/workspace.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <numeric>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace emofuse::encoders {

/// The recurrent unit of a layer.
enum class rnn_cell_type {
    lstm, ///< 4 gates (i, f, g, o) and a cell state
    gru,  ///< 3 gates (r, z, n), no cell state
};

/// The constructor arguments of nn.LSTM / nn.GRU that shape the parameters and the input.
/// Dropout between layers is not here: it is the identity in inference.
struct rnn_options {
    std::size_t input_size = 0;
    std::size_t hidden_size = 0;
    std::size_t num_layers = 1;
    bool bidirectional = false;
    /// Input and output are (batch, time, features) instead of (time, batch, features).
    bool batch_first = false;
    /// The layers have bias_ih / bias_hh.
    bool bias = true;
};

/// The parameters of one direction of one layer, in PyTorch's layout: weight_ih
/// (gates·hidden, input), weight_hh (gates·hidden, hidden), biases (gates·hidden) or empty.
template <class T>
struct rnn_parameters {
    xt::xtensor<T, 2> weight_ih;
    xt::xtensor<T, 2> weight_hh;
    xt::xtensor<T, 1> bias_ih;
    xt::xtensor<T, 1> bias_hh;
};

/// A recurrent state: h and, for an LSTM, c. For a layer stack both are
/// (num_layers·directions, batch, hidden) with torch's order (layer 0 forward, layer 0
/// reverse, layer 1 forward, ...); for a cell both are (batch, hidden). An empty tensor means
/// zeros.
template <class T>
struct rnn_state {
    xt::xtensor<T, 3> h;
    xt::xtensor<T, 3> c;
};

/// What nn.LSTM / nn.GRU return: the last layer's output for every step, in the input's
/// layout with directions·hidden features (forward first), and the final states h_n, c_n
/// ((num_layers·directions, batch, hidden); c_n is empty for a GRU).
template <class T>
struct rnn_output {
    xt::xtensor<T, 3> output;
    xt::xtensor<T, 3> h_n;
    xt::xtensor<T, 3> c_n;
};

namespace detail {

template <rnn_cell_type Cell>
inline constexpr std::size_t gate_count = Cell == rnn_cell_type::lstm ? 4 : 3;

template <rnn_cell_type Cell>
inline constexpr std::string_view rnn_stage =
    Cell == rnn_cell_type::lstm ? "encoders::lstm" : "encoders::gru";

/// The input-projection bias with every bias that adds outside a non-linearity's product
/// folded in: LSTM b_ih + b_hh; GRU b_ih + b_hh for r and z, b_in alone for n (b_hn stays in
/// the hidden projection, inside r·(W_hn·h + b_hn)). Writes gates·hidden values to `out`.
template <class T, rnn_cell_type Cell>
void fold_input_bias(const xt::xtensor<T, 1>& bias_ih, const xt::xtensor<T, 1>& bias_hh,
                     std::size_t hidden, T* out) {
    const std::size_t width = gate_count<Cell> * hidden;
    const std::size_t shared = Cell == rnn_cell_type::lstm ? width : 2 * hidden;
    for (std::size_t j = 0; j < width; ++j) {
        const T ih = bias_ih.size() ? bias_ih(j) : T(0);
        const T hh = bias_hh.size() && j < shared ? bias_hh(j) : T(0);
        out[j] = ih + hh;
    }
}

/// The hidden-projection bias: a GRU's (0, 0, b_hn); an LSTM needs none (empty).
template <class T, rnn_cell_type Cell>
std::vector<T> hidden_bias(const xt::xtensor<T, 1>& bias_hh, std::size_t hidden) {
    if constexpr (Cell == rnn_cell_type::lstm) {
        return {};
    } else {
        if (bias_hh.size() == 0) {
            return {};
        }
        std::vector<T> out(3 * hidden, T(0));
        std::copy_n(bias_hh.data() + 2 * hidden, hidden, out.data() + 2 * hidden);
        return out;
    }
}

/// Checks the shapes of one direction's parameters against (input, hidden, bias).
template <class T, rnn_cell_type Cell>
void check_parameters(std::string_view stage, const std::string& where, const rnn_parameters<T>& p,
                      std::size_t input, std::size_t hidden, bool bias) {
    const std::size_t width = gate_count<Cell> * hidden;
    check_size(stage, where + " weight_ih rows (gates·hidden_size)", width, p.weight_ih.shape(0));
    check_size(stage, where + " weight_ih columns (input features)", input, p.weight_ih.shape(1));
    check_size(stage, where + " weight_hh rows (gates·hidden_size)", width, p.weight_hh.shape(0));
    check_size(stage, where + " weight_hh columns (hidden_size)", hidden, p.weight_hh.shape(1));
    check_size(stage, where + " bias_ih size", bias ? width : std::size_t(0), p.bias_ih.size());
    check_size(stage, where + " bias_hh size", bias ? width : std::size_t(0), p.bias_hh.size());
}

/// Scratch of the recurrent encoders of one thread (slots: 0 input projections, 1 hidden
/// projections and state, 2 and 3 the outputs of inner layers). Separate from
/// kernels::thread_workspace(), which the GEMMs use.
[[nodiscard]] inline kernels::workspace& recurrent_workspace() {
    thread_local kernels::workspace ws;
    return ws;
}

/// "weight_ih_l1_reverse" and friends.
inline std::string rnn_parameter_name(std::string_view prefix, std::string_view kind,
                                      std::size_t layer, bool reverse) {
    std::string name(prefix);
    name += kind;
    name += "_l";
    name += std::to_string(layer);
    if (reverse) {
        name += "_reverse";
    }
    return name;
}

template <class StateDict>
void require_parameter(std::string_view stage, const StateDict& sd, const std::string& name) {
    if (!sd.contains(name)) {
        throw value_error(emofuse::detail::concat_message(
            stage, ": parameter '", name, "': expected in the state dict, missing"));
    }
}

template <class StateDict>
void reject_parameter(std::string_view stage, const StateDict& sd, const std::string& name,
                      std::string_view why) {
    if (sd.contains(name)) {
        throw value_error(emofuse::detail::concat_message(stage, ": parameter '", name,
                                                          "': not expected (", why, ")"));
    }
}

} // namespace detail

/// nn.LSTM (Cell = lstm) or nn.GRU (Cell = gru) in inference.
///
/// Per layer, the input projection of every time step and both directions is one GEMM with
/// the stacked W_ih packed once at construction (kernels::packed_operand); each time step
/// then multiplies the live hidden states by the packed W_hh and applies the gate
/// non-linearities and the state update in one pass. Samples are processed longest first so
/// that the live samples of a step are the leading rows of the state.
///
/// operator() is const and thread-safe (scratch is per thread). Move-only.
template <class T, rnn_cell_type Cell>
class recurrent {
public:
    static_assert(std::is_floating_point_v<T>, "encoders::recurrent<T>: T must be float or double");
    static constexpr rnn_cell_type cell = Cell;
    static constexpr std::size_t gates = detail::gate_count<Cell>;

    recurrent() = default;

    /// `parameters` holds num_layers·directions entries in torch's order (layer 0 forward,
    /// layer 0 reverse, layer 1 forward, ...). Throws value_error for a zero size or layer
    /// count, shape_error for a parameter of the wrong shape.
    recurrent(const rnn_options& options, const std::vector<rnn_parameters<T>>& parameters)
        : options_(options) {
        constexpr std::string_view stage = detail::rnn_stage<Cell>;
        if (options.input_size == 0 || options.hidden_size == 0 || options.num_layers == 0) {
            throw value_error(emofuse::detail::concat_message(
                stage, ": input_size, hidden_size and num_layers: expected > 0, got ",
                options.input_size, ", ", options.hidden_size, ", ", options.num_layers));
        }
        const std::size_t directions = direction_count();
        const std::size_t hidden = options.hidden_size;
        const std::size_t width = gates * hidden;
        check_size(stage, "number of parameter sets (num_layers·directions)",
                   options.num_layers * directions, parameters.size());
        layers_.resize(options.num_layers);
        for (std::size_t l = 0; l < options.num_layers; ++l) {
            const std::size_t in = layer_input_size(l);
            layer& lay = layers_[l];
            std::vector<T> stacked(directions * width * in);
            lay.input_bias.assign(directions * width, T(0));
            for (std::size_t d = 0; d < directions; ++d) {
                const rnn_parameters<T>& p = parameters[l * directions + d];
                detail::check_parameters<T, Cell>(
                    stage, detail::rnn_parameter_name("", "layer", l, d == 1), p, in, hidden,
                    options.bias);
                std::copy_n(p.weight_ih.data(), width * in, stacked.data() + d * width * in);
                detail::fold_input_bias<T, Cell>(p.bias_ih, p.bias_hh, hidden,
                                                 lay.input_bias.data() + d * width);
                lay.hidden[d] = kernels::packed_operand<T>::from_linear_weight(p.weight_hh.data(),
                                                                               width, hidden);
                lay.hidden_bias[d] = detail::hidden_bias<T, Cell>(p.bias_hh, hidden);
            }
            lay.input = kernels::packed_operand<T>::from_linear_weight(stacked.data(),
                                                                       directions * width, in);
        }
    }

    /// Loads `<prefix>weight_ih_l<k>[_reverse]`, `weight_hh_…` and, with options.bias,
    /// `bias_ih_…`, `bias_hh_…` — the names nn.LSTM / nn.GRU's state_dict() gives. `StateDict`
    /// is io::state_dict or anything with contains(name) and tensor<T, N>(name, shape).
    /// Throws value_error naming a missing parameter or one the options do not expect (a layer
    /// beyond num_layers, a reverse direction of a unidirectional layer, a bias with
    /// bias = false, proj_size's weight_hr), shape_error for a wrong shape.
    template <class StateDict>
    static recurrent from_state_dict(const StateDict& sd, const std::string& prefix,
                                     const rnn_options& options) {
        constexpr std::string_view stage = detail::rnn_stage<Cell>;
        const std::size_t directions = options.bidirectional ? 2 : 1;
        const std::size_t width = gates * options.hidden_size;
        std::vector<rnn_parameters<T>> parameters;
        for (std::size_t l = 0; l < options.num_layers; ++l) {
            const std::size_t in = l == 0 ? options.input_size : directions * options.hidden_size;
            for (std::size_t d = 0; d < directions; ++d) {
                const bool reverse = d == 1;
                auto load = [&](std::string_view kind, auto shape) {
                    const std::string name = detail::rnn_parameter_name(prefix, kind, l, reverse);
                    detail::require_parameter(stage, sd, name);
                    return sd.template tensor<T, std::tuple_size_v<decltype(shape)>>(name, shape);
                };
                rnn_parameters<T> p;
                p.weight_ih = load("weight_ih", std::array<std::size_t, 2>{width, in});
                p.weight_hh =
                    load("weight_hh", std::array<std::size_t, 2>{width, options.hidden_size});
                if (options.bias) {
                    p.bias_ih = load("bias_ih", std::array<std::size_t, 1>{width});
                    p.bias_hh = load("bias_hh", std::array<std::size_t, 1>{width});
                } else {
                    for (std::string_view kind : {"bias_ih", "bias_hh"}) {
                        detail::reject_parameter(
                            stage, sd, detail::rnn_parameter_name(prefix, kind, l, reverse),
                            "the options say bias = false");
                    }
                }
                detail::reject_parameter(
                    stage, sd, detail::rnn_parameter_name(prefix, "weight_hr", l, reverse),
                    "proj_size is not supported");
                parameters.push_back(std::move(p));
            }
            if (!options.bidirectional) {
                detail::reject_parameter(stage, sd,
                                         detail::rnn_parameter_name(prefix, "weight_ih", l, true),
                                         "the options say bidirectional = false");
            }
        }
        detail::reject_parameter(
            stage, sd, detail::rnn_parameter_name(prefix, "weight_ih", options.num_layers, false),
            "the options say num_layers = " + std::to_string(options.num_layers));
        return recurrent(options, parameters);
    }

    [[nodiscard]] const rnn_options& options() const { return options_; }
    [[nodiscard]] std::size_t direction_count() const { return options_.bidirectional ? 2 : 1; }
    /// Features of each output step: directions·hidden_size.
    [[nodiscard]] std::size_t output_size() const {
        return direction_count() * options_.hidden_size;
    }
    [[nodiscard]] std::size_t parameter_count() const {
        const std::size_t width = gates * options_.hidden_size;
        std::size_t count = 0;
        for (std::size_t l = 0; l < options_.num_layers; ++l) {
            count += width * (layer_input_size(l) + options_.hidden_size + (options_.bias ? 2 : 0));
        }
        return count * direction_count();
    }

    /// Runs the stack over `input` ((time, batch, input_size), or (batch, time, input_size)
    /// with batch_first).
    ///
    /// `lengths` (one per sample, 1 ≤ length ≤ time) gives pack_padded_sequence semantics:
    /// sample b only sees its first lengths[b] steps — the reverse direction starts at step
    /// lengths[b]−1 —, its outputs from lengths[b] on are 0 and its final states are those
    /// after its last valid step; padded steps are never read. Empty: every sample runs over
    /// all `time` steps, padding included.
    /// `initial` gives h_0 (and c_0 for an LSTM), (num_layers·directions, batch, hidden);
    /// empty tensors are zeros.
    /// Throws shape_error for a wrong feature size, number of lengths, length > time or
    /// initial-state shape, value_error for a length of 0 or a c_0 given to a GRU.
    [[nodiscard]] rnn_output<T> operator()(const xt::xtensor<T, 3>& input,
                                           std::span<const std::size_t> lengths = {},
                                           const rnn_state<T>& initial = {}) const {
        constexpr std::string_view stage = detail::rnn_stage<Cell>;
        check_size(stage, "input features (input_size)", options_.input_size, input.shape(2));
        const std::size_t batch = options_.batch_first ? input.shape(0) : input.shape(1);
        const std::size_t steps = options_.batch_first ? input.shape(1) : input.shape(0);
        const std::size_t hidden = options_.hidden_size;
        const std::size_t states = options_.num_layers * direction_count();
        check_lengths(lengths, batch, steps);
        check_state(initial.h, "h_0", states, batch);
        if constexpr (Cell == rnn_cell_type::lstm) {
            check_state(initial.c, "c_0", states, batch);
        } else if (initial.c.size() != 0) {
            throw value_error(emofuse::detail::concat_message(
                stage, ": c_0: expected none (a GRU has no cell state), got a tensor"));
        }

        // The projections of every step are held at once: refuse sizes that overflow.
        static_cast<void>(checked_byte_count(
            emofuse::detail::concat_message(stage, ": input projections (time, batch, "
                                                   "directions·gates·hidden_size)"),
            {steps, batch, direction_count() * gates * hidden}, sizeof(T)));

        rnn_output<T> result;
        result.output =
            xt::zeros<T>(std::array<std::size_t, 3>{input.shape(0), input.shape(1), output_size()});
        result.h_n = xt::zeros<T>(std::array<std::size_t, 3>{states, batch, hidden});
        if constexpr (Cell == rnn_cell_type::lstm) {
            result.c_n = xt::zeros<T>(std::array<std::size_t, 3>{states, batch, hidden});
        }
        if (batch == 0 || steps == 0) {
            if (initial.h.size() != 0) {
                result.h_n = initial.h;
            }
            if (initial.c.size() != 0) {
                result.c_n = initial.c;
            }
            return result;
        }
        run(input.data(), batch, steps, lengths, initial, result);
        return result;
    }

private:
    struct layer {
        kernels::packed_operand<T> input;     // stacked W_ihᵀ of both directions
        std::vector<T> input_bias;            // folded biases, directions·gates·hidden
        kernels::packed_operand<T> hidden[2]; // W_hhᵀ per direction
        std::vector<T> hidden_bias[2];        // GRU: (0, 0, b_hn); LSTM: empty
    };

    [[nodiscard]] std::size_t layer_input_size(std::size_t l) const {
        return l == 0 ? options_.input_size : output_size();
    }

    void check_lengths(std::span<const std::size_t> lengths, std::size_t batch,
                       std::size_t steps) const {
        constexpr std::string_view stage = detail::rnn_stage<Cell>;
        if (lengths.empty()) {
            return;
        }
        check_size(stage, "number of lengths (batch)", batch, lengths.size());
        for (std::size_t b = 0; b < batch; ++b) {
            if (lengths[b] == 0) {
                throw value_error(emofuse::detail::concat_message(stage, ": length of sample ", b,
                                                                  ": expected at least 1, got 0"));
            }
            if (lengths[b] > steps) {
                throw shape_error(emofuse::detail::concat_message(
                    stage, ": length of sample ", b, ": expected at most ", steps,
                    " (time steps), got ", lengths[b]));
            }
        }
    }

    void check_state(const xt::xtensor<T, 3>& state, std::string_view name, std::size_t states,
                     std::size_t batch) const {
        if (state.size() == 0) {
            return; // empty: zeros
        }
        constexpr std::string_view stage = detail::rnn_stage<Cell>;
        if (state.shape(0) != states || state.shape(1) != batch ||
            state.shape(2) != options_.hidden_size) {
            throw shape_error(emofuse::detail::concat_message(
                stage, ": ", name, " shape: expected (", states, ", ", batch, ", ",
                options_.hidden_size, ") = (num_layers·directions, batch, hidden_size), got (",
                state.shape(0), ", ", state.shape(1), ", ", state.shape(2), ")"));
        }
    }

    void run(const T* input, std::size_t batch, std::size_t steps,
             std::span<const std::size_t> lengths, const rnn_state<T>& initial,
             rnn_output<T>& result) const {
        const std::size_t hidden = options_.hidden_size;
        const std::size_t directions = direction_count();
        const std::size_t width = gates * hidden;
        const std::size_t rows = batch * steps;
        const bool batch_first = options_.batch_first;

        // Samples longest first (stable, like pack_padded_sequence's sort): at step s the
        // live samples are the first `live` rows of the state.
        std::vector<std::size_t> order(batch);
        std::iota(order.begin(), order.end(), std::size_t(0));
        std::vector<std::size_t> length(batch, steps);
        if (!lengths.empty()) {
            std::stable_sort(order.begin(), order.end(),
                             [&](std::size_t a, std::size_t b) { return lengths[a] > lengths[b]; });
            for (std::size_t i = 0; i < batch; ++i) {
                length[i] = lengths[order[i]];
            }
        }
        const auto row_of = [&](std::size_t b, std::size_t t) {
            return batch_first ? b * steps + t : t * batch + b;
        };

        kernels::workspace& ws = detail::recurrent_workspace();
        T* projected = ws.buffer<T>(0, rows * directions * width);
        T* scratch = ws.buffer<T>(1, batch * (width + 2 * hidden));
        T* hidden_projected = scratch;
        T* h = scratch + batch * width;
        T* c = h + batch * hidden;
        T* inner[2] = {nullptr, nullptr};
        if (options_.num_layers > 1) {
            inner[0] = ws.buffer<T>(2, rows * output_size());
            inner[1] = options_.num_layers > 2 ? ws.buffer<T>(3, rows * output_size()) : nullptr;
        }

        const T* layer_in = input;
        for (std::size_t l = 0; l < options_.num_layers; ++l) {
            const layer& lay = layers_[l];
            const bool last = l + 1 == options_.num_layers;
            T* layer_out = last ? result.output.data() : inner[l % 2];
            if (!last && !lengths.empty()) {
                // Steps past a length are never written below; the next layer's projection
                // reads them (and never uses the result), so they must hold numbers.
                std::fill_n(layer_out, rows * output_size(), T(0));
            }
            kernels::linear(layer_in, rows, lay.input, lay.input_bias.data(), projected);
            for (std::size_t d = 0; d < directions; ++d) {
                const std::size_t state_index = l * directions + d;
                for (std::size_t i = 0; i < batch; ++i) {
                    load_state(initial.h, state_index, order[i], h + i * hidden);
                    if constexpr (Cell == rnn_cell_type::lstm) {
                        load_state(initial.c, state_index, order[i], c + i * hidden);
                    }
                }
                const T* bias_hh = lay.hidden_bias[d].empty() ? nullptr : lay.hidden_bias[d].data();
                std::size_t live = batch;
                for (std::size_t s = 0; s < steps; ++s) {
                    while (live > 0 && length[live - 1] <= s) {
                        --live;
                    }
                    if (live == 0) {
                        break;
                    }
                    kernels::gemm(kernels::transpose::no, live, T(1), h, hidden, lay.hidden[d],
                                  T(0), hidden_projected, width,
                                  kernels::fused_epilogue<T>{bias_hh, kernels::epilogue::none});
                    for (std::size_t i = 0; i < live; ++i) {
                        const std::size_t t = d == 0 ? s : length[i] - 1 - s;
                        const std::size_t row = row_of(order[i], t);
                        const T* xp = projected + row * directions * width + d * width;
                        T* out = layer_out + row * output_size() + d * hidden;
                        if constexpr (Cell == rnn_cell_type::lstm) {
                            detail::lstm_step(xp, hidden_projected + i * width, c + i * hidden,
                                              h + i * hidden, out, hidden);
                        } else {
                            detail::gru_step(xp, hidden_projected + i * width, h + i * hidden, out,
                                             hidden);
                        }
                    }
                }
                for (std::size_t i = 0; i < batch; ++i) {
                    const std::size_t at = (state_index * batch + order[i]) * hidden;
                    std::copy_n(h + i * hidden, hidden, result.h_n.data() + at);
                    if constexpr (Cell == rnn_cell_type::lstm) {
                        std::copy_n(c + i * hidden, hidden, result.c_n.data() + at);
                    }
                }
            }
            layer_in = layer_out;
        }
    }

    void load_state(const xt::xtensor<T, 3>& initial, std::size_t state_index, std::size_t sample,
                    T* dst) const {
        const std::size_t hidden = options_.hidden_size;
        if (initial.size() == 0) {
            std::fill_n(dst, hidden, T(0));
            return;
        }
        std::copy_n(initial.data() + (state_index * initial.shape(1) + sample) * hidden, hidden,
                    dst);
    }

    rnn_options options_{};
    std::vector<layer> layers_;
};

/// nn.LSTM in inference.
template <class T>
using lstm = recurrent<T, rnn_cell_type::lstm>;

/// nn.GRU in inference.
template <class T>
using gru = recurrent<T, rnn_cell_type::gru>;

} // namespace emofuse::encoders
