// emofuse/models/graph_mfn.hpp — MMSA's Graph_MFN (src/MMSA/models/singleTask/Graph_MFN.py):
// MFN with its attention replaced by the Dynamic Fusion Graph of the CMU-MOSEI paper.
#pragma once

#include <emofuse/config.hpp>
#include <emofuse/core/error.hpp>
#include <emofuse/kernels/epilogue.hpp>
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
#include <utility>
#include <vector>

namespace emofuse::models {

namespace detail {

/// MMSA's DynamicFusionGraph for three modalities, as Graph_MFN builds it. Its vertices are
/// the non-empty subsets of {0, 1, 2} in MMSA's powerset order (0), (1), (2), (0,1), (0,2),
/// (1,2), (0,1,2); a multimodal vertex's input is the concatenation of the outputs of its
/// proper subsets (same order), each scaled by one efficacy; the top vertex τ (t_network)
/// takes every vertex. The 19 efficacies come from the singletons:
/// efficacy_model = Linear(Σin, 100) → Linear(100, inner) → Linear(inner, 19), no activation.
/// Each vertex network and t_network is Linear(in, 100) → Linear(100, inner): MMSA's
/// pattern_model is nn.Linear(100, inner_node_dim) with 100 hard-coded, and the DFG puts a
/// Linear to its in_features in front of each copy.
template <class T>
class dynamic_fusion_graph {
public:
    static constexpr std::size_t pattern_width = 100; // Graph_MFN.py's nn.Linear(100, ...)
    static constexpr std::size_t vertices = 7;
    static constexpr std::size_t efficacies = 19;

    /// The subsets in MMSA's powerset order, as modality lists.
    static constexpr std::array<std::array<int, 3>, vertices> subsets{
        {{0, -1, -1}, {1, -1, -1}, {2, -1, -1}, {0, 1, -1}, {0, 2, -1}, {1, 2, -1}, {0, 1, 2}}};

    /// "0_1" for the vertex (0, 1): how the pair networks' tensors are named (see
    /// docs/models.md; MMSA's own state dict has no name for them).
    static std::string vertex_name(std::size_t vertex) {
        std::string name;
        for (const int m : subsets[vertex]) {
            if (m >= 0) {
                name += (name.empty() ? "" : "_") + std::to_string(m);
            }
        }
        return name;
    }

    /// The vertices whose outputs vertex `vertex`'s network reads, in MMSA's order (its proper
    /// non-empty subsets; for the top vertex τ, `vertex` = vertices, every vertex).
    static std::vector<std::size_t> inputs_of(std::size_t vertex) {
        std::vector<std::size_t> result;
        for (std::size_t other = 0; other < vertices; ++other) {
            if (other != vertex && (vertex == vertices || is_subset(other, vertex))) {
                result.push_back(other);
            }
        }
        return result;
    }

    /// Input width of vertex `vertex`'s network (`vertices`: τ).
    static std::size_t input_width(std::size_t vertex, const std::array<std::size_t, 3>& in,
                                   std::size_t inner) {
        std::size_t width = 0;
        for (const std::size_t other : inputs_of(vertex)) {
            width += other < 3 ? in[other] : inner;
        }
        return width;
    }

    /// Every tensor the pair networks need (name relative to `graph_prefix`, shape), for the
    /// error that explains their absence.
    static std::vector<std::pair<std::string, std::array<std::size_t, 2>>>
    network_tensors(const std::array<std::size_t, 3>& in, std::size_t inner) {
        std::vector<std::pair<std::string, std::array<std::size_t, 2>>> result;
        for (std::size_t vertex = 3; vertex < vertices; ++vertex) {
            const std::string base = "networks." + vertex_name(vertex) + ".";
            result.push_back({base + "0.weight", {pattern_width, input_width(vertex, in, inner)}});
            result.push_back({base + "0.bias", {pattern_width, 0}});
            result.push_back({base + "1.0.weight", {inner, pattern_width}});
            result.push_back({base + "1.0.bias", {inner, 0}});
        }
        return result;
    }

    template <class StateDict>
    static dynamic_fusion_graph load(const StateDict& sd, const std::string& graph_prefix,
                                     const std::array<std::size_t, 3>& in, std::size_t inner) {
        constexpr std::string_view model = "graph_mfn";
        const auto tensors = network_tensors(in, inner);
        bool any = false;
        for (const auto& [name, shape] : tensors) {
            any = any || sd.contains(graph_prefix + name);
        }
        if (!any) {
            std::string text =
                "models::graph_mfn: the checkpoint has none of the Dynamic Fusion Graph's vertex "
                "networks. MMSA's DynamicFusionGraph keeps them in a plain dict (self.networks), "
                "so nn.Module never registers them: MMSA's state_dict(), and so every Graph-MFN "
                "checkpoint MMSA saves, lacks their weights. The model's predictions cannot be "
                "reproduced from such a file, not even by MMSA after reloading it (it draws new "
                "random weights for them). A checkpoint that also holds them is needed, with the "
                "names";
            for (std::size_t i = 0; i < tensors.size(); ++i) {
                const auto& [name, shape] = tensors[i];
                text += (i == 0 ? " " : ", ") + ("'" + graph_prefix + name + "' ") +
                        (shape[1] == 0 ? "(" + std::to_string(shape[0]) + ",)"
                                       : "(" + std::to_string(shape[0]) + ", " +
                                             std::to_string(shape[1]) + ")");
            }
            if constexpr (requires { sd.source(); }) {
                text += " (reading " + std::string(sd.source()) + ")";
            }
            throw value_error(text);
        }
        dynamic_fusion_graph graph;
        graph.in_ = in;
        graph.inner_ = inner;
        for (std::size_t vertex = 3; vertex <= vertices; ++vertex) {
            const std::string base = vertex == vertices
                                         ? graph_prefix + "t_network."
                                         : graph_prefix + "networks." + vertex_name(vertex) + ".";
            graph.first_[vertex - 3] = load_mmsa_linear<T>(
                sd, model, base + "0", input_width(vertex, in, inner), pattern_width);
            graph.second_[vertex - 3] =
                load_mmsa_linear<T>(sd, model, base + "1.0", pattern_width, inner);
        }
        const std::string efficacy = graph_prefix + "efficacy_model.";
        graph.efficacy_[0] =
            load_mmsa_linear<T>(sd, model, efficacy + "0", in[0] + in[1] + in[2], pattern_width);
        graph.efficacy_[1] = load_mmsa_linear<T>(sd, model, efficacy + "1.0", pattern_width, inner);
        graph.efficacy_[2] = load_mmsa_linear<T>(sd, model, efficacy + "2", inner, efficacies);
        return graph;
    }

    /// τ for `rows` rows at once: `singletons` (rows, Σin) holds the three singleton vertices
    /// side by side; writes (rows, inner) to `top`.
    void operator()(const T* singletons, std::size_t rows, T* top) const {
        const std::size_t total_in = in_[0] + in_[1] + in_[2];
        T* hidden = scratch<T>(scratch_slot::graph_hidden, rows * std::max(pattern_width, inner_));
        T* weights = scratch<T>(scratch_slot::graph_efficacies, rows * efficacies);
        T* narrow = scratch<T>(scratch_slot::graph_narrow, rows * inner_);
        efficacy_[0].apply(singletons, rows, hidden);
        efficacy_[1].apply(hidden, rows, narrow);
        efficacy_[2].apply(narrow, rows, weights);

        // Vertex outputs: the singletons are read in place, the others stored here.
        constexpr std::array<scratch_slot, vertices - 3> output_slots{
            scratch_slot::graph_vertex_01, scratch_slot::graph_vertex_02,
            scratch_slot::graph_vertex_12, scratch_slot::graph_vertex_012};
        std::array<T*, vertices - 3> outputs{};
        std::size_t next_efficacy = 0;
        for (std::size_t vertex = 3; vertex <= vertices; ++vertex) {
            const auto sources = inputs_of(vertex);
            const std::size_t width = input_width(vertex, in_, inner_);
            T* input = scratch<T>(scratch_slot::graph_input, rows * width);
            for (std::size_t r = 0; r < rows; ++r) {
                T* out = input + r * width;
                for (std::size_t k = 0; k < sources.size(); ++k) {
                    const std::size_t source = sources[k];
                    const T scale = weights[r * efficacies + next_efficacy + k];
                    const std::size_t n = source < 3 ? in_[source] : inner_;
                    const T* from = source < 3
                                        ? singletons + r * total_in + singleton_offset(source)
                                        : outputs[source - 3] + r * inner_;
                    for (std::size_t j = 0; j < n; ++j) {
                        out[j] = from[j] * scale;
                    }
                    out += n;
                }
            }
            next_efficacy += sources.size();
            first_[vertex - 3].apply(input, rows, hidden);
            T* result = top;
            if (vertex < vertices) {
                outputs[vertex - 3] = scratch<T>(output_slots[vertex - 3], rows * inner_);
                result = outputs[vertex - 3];
            }
            second_[vertex - 3].apply(hidden, rows, result);
        }
    }

private:
    static bool is_subset(std::size_t part, std::size_t whole) {
        for (const int m : subsets[part]) {
            if (m >= 0 && std::find(subsets[whole].begin(), subsets[whole].end(), m) ==
                              subsets[whole].end()) {
                return false;
            }
        }
        return true;
    }

    std::size_t singleton_offset(std::size_t m) const {
        return m == 0 ? 0 : m == 1 ? in_[0] : in_[0] + in_[1];
    }

    std::array<std::size_t, 3> in_{};
    std::size_t inner_ = 0;
    // Vertices (0,1), (0,2), (1,2), (0,1,2) and τ: Linear(in, 100) then Linear(100, inner).
    std::array<layers::dense<T>, vertices - 2> first_, second_;
    std::array<layers::dense<T>, 3> efficacy_;
};

} // namespace detail

/// MMSA's `graph_mfn` in inference. Per time step t, with h_m the hidden states of the three
/// nn.LSTMCells (zero before the first step):
///   s_m      = relu(m_transform(cat(h_m at t−1, h_m at t)))        m = l, a, v
///   attended = τ of the Dynamic Fusion Graph on (s_l, s_a, s_v)
///   and the gated memory of detail::gated_memory on `attended`.
/// Returns "M" (MMSA's per-step "Efficacies" list is not returned). Dropout is the identity.
template <class T>
class graph_mfn {
public:
    /// Builds MMSA's Graph_MFN for `config` (feature_dims, hidden_dims, memsize,
    /// inner_node_dim, NNConfig/gamma1Config/gamma2Config/outConfig "shapes") and loads
    /// `<prefix>lstm_{l,a,v}.*`, `{l,a,v}_transform.*`, `graph_mfn.t_network.*`,
    /// `graph_mfn.efficacy_model.*`, `att2_fc{1,2}`, `gamma{1,2}_fc{1,2}`, `out_fc{1,2}` and
    /// the vertex networks `graph_mfn.networks.<i_j>.{0,1.0}.{weight,bias}` that MMSA's own
    /// state dict lacks (value_error explaining this when none is there). Every shape is
    /// checked; unused tensors under the prefix are an error.
    template <class StateDict>
    static graph_mfn load(const mmsa_config& config, const StateDict& sd,
                          std::string_view prefix = "Model.") {
        constexpr std::string_view model = "graph_mfn";
        graph_mfn result;
        result.features_ = config.feature_dims();
        const auto hidden_list = config.sizes("hidden_dims", 3);
        const std::array<std::size_t, 3> hidden{hidden_list[0], hidden_list[1], hidden_list[2]};
        const std::size_t inner = config.size("inner_node_dim");
        const tracking_state_dict<StateDict> tracked(sd);
        const std::string at(prefix);
        result.cells_ = detail::modality_cells<T>::load(tracked, at, result.features_, hidden);
        constexpr std::array<const char*, 3> transforms{"l_transform", "a_transform",
                                                        "v_transform"};
        for (std::size_t m = 0; m < 3; ++m) {
            // Singleton sizes are the hidden sizes (Graph_MFN.py's singleton_*_size).
            result.transforms_[m] = detail::load_mmsa_linear<T>(tracked, model, at + transforms[m],
                                                                2 * hidden[m], hidden[m]);
        }
        result.graph_ =
            detail::dynamic_fusion_graph<T>::load(tracked, at + "graph_mfn.", hidden, inner);
        typename detail::gated_memory<T>::sizes sizes;
        sizes.attended = inner;
        sizes.memory = config.size("memsize");
        sizes.att2 = config.nested_size("NNConfig", "shapes");
        sizes.gamma1 = config.nested_size("gamma1Config", "shapes");
        sizes.gamma2 = config.nested_size("gamma2Config", "shapes");
        sizes.hidden = hidden[0] + hidden[1] + hidden[2];
        sizes.out_hidden = config.nested_size("outConfig", "shapes");
        sizes.output = config.output_dim();
        result.memory_ = detail::gated_memory<T>::load(tracked, model, at, sizes);
        tracked.require_all_read(prefix, model);
        return result;
    }

    /// MMSA's forward on prepared inputs: every modality (B, T, feature_dims[m]) with the
    /// text's T (AMIO's alignment). Returns "M" (B, output_dim).
    [[nodiscard]] mmsa_outputs<T> forward(const mmsa_batch<T>& inputs) const {
        detail::check_aligned_inputs("graph_mfn", inputs, features_, inputs.text.shape(1));
        const std::size_t batch = inputs.text.shape(0), steps = inputs.text.shape(1);
        const std::array<std::size_t, 3> hidden{cells_.hidden(0), cells_.hidden(1),
                                                cells_.hidden(2)};
        const std::size_t total = hidden[0] + hidden[1] + hidden[2];
        const std::size_t rows = steps * batch;
        const std::size_t memory = memory_.memory_size();

        // Per modality, (h at t−1, h at t) for every step, time-major rows (zero at t = 0).
        constexpr std::array<detail::scratch_slot, 3> pair_slots{detail::scratch_slot::pairs_l,
                                                                 detail::scratch_slot::pairs_a,
                                                                 detail::scratch_slot::pairs_v};
        std::array<T*, 3> pairs{};
        for (std::size_t m = 0; m < 3; ++m) {
            pairs[m] = detail::scratch<T>(pair_slots[m], rows * 2 * hidden[m]);
            std::fill_n(pairs[m], batch * 2 * hidden[m], T(0));
        }
        xt::xtensor<T, 2> last = xt::xtensor<T, 2>::from_shape({batch, total + memory});
        const std::array<std::size_t, 3> offset{0, hidden[0], hidden[0] + hidden[1]};
        cells_.run(inputs, [&](std::size_t m, std::size_t t, const T* h, const T*) {
            const std::size_t n = hidden[m], width = 2 * n;
            for (std::size_t b = 0; b < batch; ++b) {
                const T* state = h + b * n;
                std::copy_n(state, n, pairs[m] + (t * batch + b) * width + n);
                if (t + 1 < steps) {
                    std::copy_n(state, n, pairs[m] + ((t + 1) * batch + b) * width);
                } else {
                    std::copy_n(state, n, last.data() + b * (total + memory) + offset[m]);
                }
            }
        });
        // The singleton vertices of every step, side by side: (rows, Σhidden).
        T* singletons = detail::scratch<T>(detail::scratch_slot::singletons, rows * total);
        for (std::size_t m = 0; m < 3; ++m) {
            transforms_[m].apply(pairs[m], 2 * hidden[m], rows, singletons + offset[m], total,
                                 kernels::epilogue::relu);
        }
        T* attended =
            detail::scratch<T>(detail::scratch_slot::attended, rows * memory_.attended_size());
        graph_(singletons, rows, attended);
        mmsa_outputs<T> result;
        result.emplace("M", memory_.run(attended, steps, batch, last.data()));
        return result;
    }

    [[nodiscard]] std::size_t output_dim() const { return memory_.output_dim(); }

private:
    std::array<std::size_t, 3> features_{};
    detail::modality_cells<T> cells_;
    std::array<layers::dense<T>, 3> transforms_;
    detail::dynamic_fusion_graph<T> graph_;
    detail::gated_memory<T> memory_;
};

} // namespace emofuse::models
