// emofuse/models/mfn.hpp — MMSA's MFN (src/MMSA/models/singleTask/MFN.py), the Memory Fusion
// Network: one LSTM cell per modality, an attention over the cell states of the previous and
// the current step (the "delta-memory attention"), and a gated multi-view memory.
#pragma once

#include <emofuse/config.hpp>
#include <emofuse/core/error.hpp>
#include <emofuse/kernels/epilogue.hpp>
#include <emofuse/kernels/softmax.hpp>
#include <emofuse/layers/dense.hpp>
#include <emofuse/models/detail/recurrent_common.hpp>
#include <emofuse/models/mmsa_config.hpp>
#include <emofuse/models/mmsa_inputs.hpp>
#include <emofuse/models/mmsa_model.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace emofuse::models {

/// MMSA's `mfn` in inference. Per time step t, with c_m the cell states of the three
/// nn.LSTMCells (zero before the first step):
///   cStar     = cat(c_l, c_a, c_v at t−1, c_l, c_a, c_v at t)
///   attended  = softmax(att1_fc2(relu(att1_fc1(cStar)))) · cStar
///   and the gated memory of detail::gated_memory on `attended`.
/// Returns "M" and "L" = cat(h_l, h_a, h_v, mem) of the last step, as MMSA does. Dropout is
/// the identity.
template <class T>
class mfn {
public:
    /// Builds MMSA's MFN for `config` (feature_dims, hidden_dims, memsize, windowsize,
    /// NN1Config/NN2Config/gamma1Config/gamma2Config/outConfig "shapes") and loads
    /// `<prefix>lstm_{l,a,v}.*`, `att1_fc{1,2}`, `att2_fc{1,2}`, `gamma{1,2}_fc{1,2}`,
    /// `out_fc{1,2}`. Every shape is checked; unused tensors under the prefix are an error.
    template <class StateDict>
    static mfn load(const mmsa_config& config, const StateDict& sd,
                    std::string_view prefix = "Model.") {
        constexpr std::string_view model = "mfn";
        mfn result;
        result.features_ = config.feature_dims();
        const auto hidden = config.sizes("hidden_dims", 3);
        const std::size_t total = hidden[0] + hidden[1] + hidden[2];
        const std::size_t window = config.size("windowsize");
        if (window != 2) {
            // MFN.py sizes the attention for windowsize·Σhidden inputs but always feeds it the
            // cell states of two steps: any other window fails inside MMSA's forward.
            throw value_error("models::mfn: windowsize = " + std::to_string(window) +
                              ": MMSA's MFN attends over the cell states of exactly two steps "
                              "(the previous and the current), so it runs only with windowsize 2" +
                              config.context());
        }
        const std::size_t attention_in = total * window;
        const tracking_state_dict<StateDict> tracked(sd);
        const std::string at(prefix);
        result.cells_ = detail::modality_cells<T>::load(tracked, at, result.features_,
                                                        {hidden[0], hidden[1], hidden[2]});
        const std::size_t att1 = config.nested_size("NN1Config", "shapes");
        result.att1_fc1_ =
            detail::load_mmsa_linear<T>(tracked, model, at + "att1_fc1", attention_in, att1);
        result.att1_fc2_ =
            detail::load_mmsa_linear<T>(tracked, model, at + "att1_fc2", att1, attention_in);
        typename detail::gated_memory<T>::sizes sizes;
        sizes.attended = attention_in;
        sizes.memory = config.size("memsize");
        sizes.att2 = config.nested_size("NN2Config", "shapes");
        sizes.gamma1 = config.nested_size("gamma1Config", "shapes");
        sizes.gamma2 = config.nested_size("gamma2Config", "shapes");
        sizes.hidden = total;
        sizes.out_hidden = config.nested_size("outConfig", "shapes");
        sizes.output = config.output_dim();
        result.memory_ = detail::gated_memory<T>::load(tracked, model, at, sizes);
        tracked.require_all_read(prefix, model);
        return result;
    }

    /// MMSA's forward on prepared inputs: every modality (B, T, feature_dims[m]) with the
    /// text's T (AMIO's alignment). Returns "M" (B, output_dim) and "L" (B, Σhidden + memsize).
    [[nodiscard]] mmsa_outputs<T> forward(const mmsa_batch<T>& inputs) const {
        detail::check_aligned_inputs("mfn", inputs, features_, inputs.text.shape(1));
        const std::size_t batch = inputs.text.shape(0), steps = inputs.text.shape(1);
        const std::array<std::size_t, 3> hidden{cells_.hidden(0), cells_.hidden(1),
                                                cells_.hidden(2)};
        const std::size_t total = hidden[0] + hidden[1] + hidden[2];
        const std::size_t star = 2 * total, rows = steps * batch;
        const std::size_t memory = memory_.memory_size();
        const std::array<std::size_t, 3> offset{0, hidden[0], hidden[0] + hidden[1]};

        // cStar for every step, time-major rows: the previous states in the first half (zero
        // at t = 0), the current ones in the second.
        T* states = detail::scratch<T>(detail::scratch_slot::cell_states, rows * star);
        std::fill_n(states, batch * star, T(0));
        xt::xtensor<T, 2> last = xt::xtensor<T, 2>::from_shape({batch, total + memory});
        cells_.run(inputs, [&](std::size_t m, std::size_t t, const T* h, const T* c) {
            for (std::size_t b = 0; b < batch; ++b) {
                const T* cell = c + b * hidden[m];
                std::copy_n(cell, hidden[m], states + (t * batch + b) * star + total + offset[m]);
                if (t + 1 < steps) {
                    std::copy_n(cell, hidden[m], states + ((t + 1) * batch + b) * star + offset[m]);
                } else {
                    std::copy_n(h + b * hidden[m], hidden[m],
                                last.data() + b * (total + memory) + offset[m]);
                }
            }
        });

        T* attention_hidden = detail::scratch<T>(detail::scratch_slot::attention_hidden,
                                                 rows * att1_fc1_.out_features());
        T* attended = detail::scratch<T>(detail::scratch_slot::attended, rows * star);
        att1_fc1_.apply(states, rows, attention_hidden, kernels::epilogue::relu);
        att1_fc2_.apply(attention_hidden, rows, attended);
        kernels::softmax_rows(attended, rows, star, star, attended, star);
        for (std::size_t i = 0; i < rows * star; ++i) {
            attended[i] *= states[i];
        }
        mmsa_outputs<T> result;
        result.emplace("M", memory_.run(attended, steps, batch, last.data()));
        result.emplace("L", std::move(last));
        return result;
    }

    [[nodiscard]] std::size_t output_dim() const { return memory_.output_dim(); }

private:
    std::array<std::size_t, 3> features_{};
    detail::modality_cells<T> cells_;
    layers::dense<T> att1_fc1_, att1_fc2_;
    detail::gated_memory<T> memory_;
};

} // namespace emofuse::models
