// emofuse/models/detail/recurrent_common.hpp — what MMSA's recurrent models (EF-LSTM, MFN,
// Graph-MFN) share: loading their nn.Linear layers with every name and shape checked, checking
// their prepared inputs modality by modality, and MFN's per-modality LSTM cells and gated
// memory, which Graph-MFN keeps.
#pragma once

#include <emofuse/config.hpp>
#include <emofuse/core/error.hpp>
#include <emofuse/encoders/cells.hpp>
#include <emofuse/kernels/elementwise.hpp>
#include <emofuse/kernels/epilogue.hpp>
#include <emofuse/layers/dense.hpp>
#include <emofuse/models/mmsa_inputs.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace emofuse::models::detail {

/// The per-thread scratch buffers of the recurrent models, one per use. They are reused by
/// every later call: at MOSI's sizes they hold megabytes, whose fresh (zeroed, page-faulted)
/// memory costs more per call than the arithmetic on them.
enum class scratch_slot : std::size_t {
    projections,
    cell_h,
    cell_c,
    cell_states,
    attention_hidden,
    attended,
    memory_hidden,
    candidate,
    gate_hidden,
    memory,
    gate1,
    gate2,
    pairs_l,
    pairs_a,
    pairs_v,
    singletons,
    graph_hidden,
    graph_efficacies,
    graph_narrow,
    graph_input,
    graph_vertex_01,
    graph_vertex_02,
    graph_vertex_12,
    graph_vertex_012,
    count
};

/// At least `count` elements of the calling thread's buffer `slot` (contents unspecified).
/// Pointers stay valid until the same slot is asked for more.
template <class T>
[[nodiscard]] T* scratch(scratch_slot slot, std::size_t count) {
    thread_local std::array<std::vector<T>, static_cast<std::size_t>(scratch_slot::count)> buffers;
    auto& buffer = buffers[static_cast<std::size_t>(slot)];
    if (buffer.size() < count) {
        buffer.resize(count);
    }
    return buffer.data();
}

/// value_error unless the checkpoint has `name`: a missing tensor is named, with the model.
template <class StateDict>
void require_tensor(const StateDict& sd, std::string_view model, const std::string& name) {
    if (!sd.contains(name)) {
        std::string text =
            "models::" + std::string(model) + ": the checkpoint has no tensor '" + name + "'";
        if constexpr (requires { sd.source(); }) {
            text += " (" + std::string(sd.source()) + ")";
        }
        throw value_error(text + "; is it a checkpoint of this model and configuration?");
    }
}

/// MMSA's nn.Linear(in, out) at `<name>.weight` (out, in) and `<name>.bias` (out), both
/// required; a wrong shape is a shape_error naming the tensor and both shapes.
template <class T, class StateDict>
layers::dense<T> load_mmsa_linear(const StateDict& sd, std::string_view model,
                                  const std::string& name, std::size_t in, std::size_t out) {
    require_tensor(sd, model, name + ".weight");
    require_tensor(sd, model, name + ".bias");
    auto weight = sd.template tensor<T, 2>(name + ".weight", std::array<std::size_t, 2>{out, in});
    auto bias = sd.template tensor<T, 1>(name + ".bias", std::array<std::size_t, 1>{out});
    return layers::dense<T>(std::move(weight), std::move(bias), name);
}

/// "(4, 6, 16)".
inline std::string shape_text(std::size_t a, std::size_t b, std::size_t c) {
    return "(" + std::to_string(a) + ", " + std::to_string(b) + ", " + std::to_string(c) + ")";
}

/// Checks the prepared inputs of a model that takes every modality with `steps` time steps
/// (AMIO's alignment gives them the text's length): shape_error naming the modality, the
/// expected (batch, steps, features) and the shape found.
template <class T>
void check_aligned_inputs(std::string_view model, const mmsa_batch<T>& inputs,
                          const std::array<std::size_t, 3>& features, std::size_t steps) {
    const std::size_t batch = inputs.text.shape(0);
    if (batch == 0 || steps == 0) {
        throw shape_error("models::" + std::string(model) + ": the inputs have no " +
                          (batch == 0 ? "samples" : "time steps"));
    }
    const std::array<const xt::xtensor<T, 3>*, 3> arrays{&inputs.text, &inputs.audio,
                                                         &inputs.vision};
    constexpr std::array<std::string_view, 3> names{"text", "audio", "vision"};
    for (std::size_t m = 0; m < 3; ++m) {
        const auto& shape = arrays[m]->shape();
        if (shape[0] != batch || shape[1] != steps || shape[2] != features[m]) {
            throw shape_error("models::" + std::string(model) + ": " + std::string(names[m]) +
                              " input: expected " + shape_text(batch, steps, features[m]) +
                              " = (batch, seq_lens after AMIO's alignment, feature_dims), got " +
                              shape_text(shape[0], shape[1], shape[2]));
        }
    }
}

/// MFN's and Graph-MFN's three nn.LSTMCells (`lstm_l`, `lstm_a`, `lstm_v`), stepped by hand
/// over the time-major view of the batch-first inputs, from zero states. They never see the
/// memory, so every time step's input projection is one GEMM per modality before the loop.
template <class T>
class modality_cells {
public:
    template <class StateDict>
    static modality_cells load(const StateDict& sd, const std::string& prefix,
                               const std::array<std::size_t, 3>& features,
                               const std::array<std::size_t, 3>& hidden) {
        modality_cells result;
        constexpr std::array<const char*, 3> names{"lstm_l.", "lstm_a.", "lstm_v."};
        for (std::size_t m = 0; m < 3; ++m) {
            result.cells_[m] = encoders::lstm_cell<T>::from_state_dict(sd, prefix + names[m],
                                                                       {features[m], hidden[m]});
        }
        return result;
    }

    [[nodiscard]] std::size_t hidden(std::size_t m) const {
        return cells_[m].options().hidden_size;
    }

    /// Runs the cells over every step of `inputs` (already checked, all modalities with the
    /// same number of steps). After modality m's step t, visit(m, t, h, c) sees its new state,
    /// batch × hidden(m) each.
    template <class Visit>
    void run(const mmsa_batch<T>& inputs, Visit visit) const {
        const std::array<const xt::xtensor<T, 3>*, 3> arrays{&inputs.text, &inputs.audio,
                                                             &inputs.vision};
        const std::size_t batch = inputs.text.shape(0), steps = inputs.text.shape(1);
        for (std::size_t m = 0; m < 3; ++m) {
            const std::size_t units = hidden(m), width = 4 * units;
            T* projected = scratch<T>(scratch_slot::projections, batch * steps * width);
            T* h = scratch<T>(scratch_slot::cell_h, batch * units);
            T* c = scratch<T>(scratch_slot::cell_c, batch * units);
            std::fill_n(h, batch * units, T(0));
            std::fill_n(c, batch * units, T(0));
            // Batch-first rows: step t of sample b is row b·steps + t.
            cells_[m].project_inputs(arrays[m]->data(), batch * steps, projected);
            for (std::size_t t = 0; t < steps; ++t) {
                cells_[m].step(projected + t * width, steps * width, batch, h, c);
                visit(m, t, static_cast<const T*>(h), static_cast<const T*>(c));
            }
        }
    }

private:
    std::array<encoders::lstm_cell<T>, 3> cells_;
};

/// The gated memory and the output network MFN and Graph-MFN share (MFN.py / Graph_MFN.py):
/// per time step, from that step's `attended` vector (MFN: the attended cell states; Graph-MFN:
/// the fusion graph's output)
///   cHat  = tanh(att2_fc2(relu(att2_fc1(attended))))
///   gamma = sigmoid(gammaK_fc2(relu(gammaK_fc1(cat(attended, mem)))))   K = 1, 2
///   mem   = gamma1·mem + gamma2·cHat                                   (mem starts at 0)
/// then M = out_fc2(relu(out_fc1(cat(h_l, h_a, h_v, mem)))) with the last step's states.
/// Only the memory terms depend on the previous step: cHat and the attended half of the
/// gammas' first layers are computed for every step at once; the step multiplies the memory
/// by the memory columns of both gammas' first layers in one GEMM.
template <class T>
class gated_memory {
public:
    struct sizes {
        std::size_t attended = 0; ///< features of `attended`
        std::size_t memory = 0;   ///< memsize
        std::size_t att2 = 0;     ///< NN(2)Config shapes
        std::size_t gamma1 = 0;
        std::size_t gamma2 = 0;
        std::size_t hidden = 0; ///< h_l + h_a + h_v
        std::size_t out_hidden = 0;
        std::size_t output = 0;
    };

    template <class StateDict>
    static gated_memory load(const StateDict& sd, std::string_view model, const std::string& prefix,
                             const sizes& s) {
        gated_memory g;
        g.sizes_ = s;
        g.att2_fc1_ = load_mmsa_linear<T>(sd, model, prefix + "att2_fc1", s.attended, s.att2);
        g.att2_fc2_ = load_mmsa_linear<T>(sd, model, prefix + "att2_fc2", s.att2, s.memory);
        const std::size_t gamma_in = s.attended + s.memory;
        const auto gamma1 =
            load_mmsa_linear<T>(sd, model, prefix + "gamma1_fc1", gamma_in, s.gamma1);
        const auto gamma2 =
            load_mmsa_linear<T>(sd, model, prefix + "gamma2_fc1", gamma_in, s.gamma2);
        // Both first layers stacked (gamma1's rows, then gamma2's), split by input columns.
        const std::size_t rows = s.gamma1 + s.gamma2;
        xt::xtensor<T, 2> attended_part = xt::xtensor<T, 2>::from_shape({rows, s.attended});
        xt::xtensor<T, 2> memory_part = xt::xtensor<T, 2>::from_shape({rows, s.memory});
        xt::xtensor<T, 1> bias = xt::xtensor<T, 1>::from_shape({rows});
        for (std::size_t r = 0; r < rows; ++r) {
            const auto& layer = r < s.gamma1 ? gamma1 : gamma2;
            const std::size_t row = r < s.gamma1 ? r : r - s.gamma1;
            const T* weights = layer.weight().data() + row * gamma_in;
            std::copy_n(weights, s.attended, attended_part.data() + r * s.attended);
            std::copy_n(weights + s.attended, s.memory, memory_part.data() + r * s.memory);
            bias(r) = layer.bias()(row);
        }
        g.gamma_attended_ = layers::dense<T>(std::move(attended_part), std::move(bias));
        g.gamma_memory_ = layers::dense<T>(std::move(memory_part));
        g.gamma1_fc2_ = load_mmsa_linear<T>(sd, model, prefix + "gamma1_fc2", s.gamma1, s.memory);
        g.gamma2_fc2_ = load_mmsa_linear<T>(sd, model, prefix + "gamma2_fc2", s.gamma2, s.memory);
        g.out_fc1_ =
            load_mmsa_linear<T>(sd, model, prefix + "out_fc1", s.hidden + s.memory, s.out_hidden);
        g.out_fc2_ = load_mmsa_linear<T>(sd, model, prefix + "out_fc2", s.out_hidden, s.output);
        return g;
    }

    [[nodiscard]] std::size_t output_dim() const { return sizes_.output; }
    [[nodiscard]] std::size_t memory_size() const { return sizes_.memory; }
    [[nodiscard]] std::size_t attended_size() const { return sizes_.attended; }

    /// `attended`: steps·batch rows of sizes.attended, time-major (step t's rows are
    /// t·batch … t·batch + batch − 1). `last` (batch, hidden + memory) holds h_l, h_a, h_v of
    /// the last step in its first `hidden` columns; the final memory is written after them.
    /// Returns M (batch, output).
    [[nodiscard]] xt::xtensor<T, 2> run(const T* attended, std::size_t steps, std::size_t batch,
                                        T* last) const {
        const sizes& s = sizes_;
        const std::size_t rows = steps * batch, gammas = s.gamma1 + s.gamma2;
        T* hidden = scratch<T>(scratch_slot::memory_hidden, rows * std::max(s.att2, s.out_hidden));
        T* candidate = scratch<T>(scratch_slot::candidate, rows * s.memory);
        att2_fc1_.apply(attended, rows, hidden, kernels::epilogue::relu);
        att2_fc2_.apply(hidden, rows, candidate);
        kernels::tanh(candidate, candidate, rows * s.memory);
        T* gate_hidden = scratch<T>(scratch_slot::gate_hidden, rows * gammas);
        gamma_attended_.apply(attended, rows, gate_hidden);

        const std::size_t cells = batch * s.memory;
        T* memory = scratch<T>(scratch_slot::memory, cells);
        T* gate1 = scratch<T>(scratch_slot::gate1, cells);
        T* gate2 = scratch<T>(scratch_slot::gate2, cells);
        std::fill_n(memory, cells, T(0));
        for (std::size_t t = 0; t < steps; ++t) {
            T* step_hidden = gate_hidden + t * batch * gammas;
            if (t == 0) {
                kernels::relu(step_hidden, step_hidden, batch * gammas); // the memory is 0
            } else {
                gamma_memory_.apply(memory, s.memory, batch, step_hidden, gammas,
                                    kernels::epilogue::relu, true);
            }
            gamma1_fc2_.apply(step_hidden, gammas, batch, gate1, s.memory, kernels::epilogue::none);
            gamma2_fc2_.apply(step_hidden + s.gamma1, gammas, batch, gate2, s.memory,
                              kernels::epilogue::none);
            kernels::sigmoid(gate1, gate1, cells);
            kernels::sigmoid(gate2, gate2, cells);
            const T* step_candidate = candidate + t * cells;
            for (std::size_t i = 0; i < cells; ++i) {
                memory[i] = gate1[i] * memory[i] + gate2[i] * step_candidate[i];
            }
        }
        const std::size_t width = s.hidden + s.memory;
        for (std::size_t b = 0; b < batch; ++b) {
            std::copy_n(memory + b * s.memory, s.memory, last + b * width + s.hidden);
        }
        out_fc1_.apply(last, batch, hidden, kernels::epilogue::relu);
        xt::xtensor<T, 2> output = xt::xtensor<T, 2>::from_shape({batch, s.output});
        out_fc2_.apply(hidden, batch, output.data());
        return output;
    }

private:
    sizes sizes_{};
    layers::dense<T> att2_fc1_, att2_fc2_;
    layers::dense<T> gamma_attended_, gamma_memory_, gamma1_fc2_, gamma2_fc2_;
    layers::dense<T> out_fc1_, out_fc2_;
};

} // namespace emofuse::models::detail
