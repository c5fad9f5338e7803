// emofuse/models/mult.hpp — MMSA's MulT (src/MMSA/models/singleTask/MULT.py, on feature-file
// text or, with use_bert, on BERT's output), built from MMSA's configuration and loaded from its
// AMIO checkpoint.
#pragma once

#include <emofuse/attention/crossmodal.hpp>
#include <emofuse/attention/load.hpp>
#include <emofuse/attention/mult.hpp>
#include <emofuse/config.hpp>
#include <emofuse/core/error.hpp>
#include <emofuse/core/sequence.hpp>
#include <emofuse/encoders/conv1d.hpp>
#include <emofuse/layers/dense.hpp>
#include <emofuse/models/detail/mmsa_bert.hpp>
#include <emofuse/models/mmsa_config.hpp>
#include <emofuse/models/mmsa_inputs.hpp>
#include <emofuse/models/mmsa_model.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace emofuse::models {

namespace detail {

/// Tensor name → expected shape.
using mult_shape_map = std::map<std::string, std::vector<std::size_t>, std::less<>>;

/// Adds the tensors of MMSA's TransformerEncoder (subNets/transformers_encoder/transformer.py)
/// of width `e` and `count` layers under `base` (ending in '.'): its `version` buffer, each
/// layer's self_attn, fc1 (4e), fc2 and layer_norms, the final layer_norm. (The buffer
/// `embed_positions._float_tensor` of an encoder with positions is not included.)
inline void add_mmsa_encoder_shapes(mult_shape_map& shapes, const std::string& base, std::size_t e,
                                    std::size_t count) {
    shapes[base + "version"] = {1};
    for (std::size_t i = 0; i < count; ++i) {
        const std::string layer = base + "layers." + std::to_string(i) + ".";
        shapes[layer + "self_attn.in_proj_weight"] = {3 * e, e};
        shapes[layer + "self_attn.in_proj_bias"] = {3 * e};
        shapes[layer + "self_attn.out_proj.weight"] = {e, e};
        shapes[layer + "self_attn.out_proj.bias"] = {e};
        shapes[layer + "fc1.weight"] = {4 * e, e};
        shapes[layer + "fc1.bias"] = {4 * e};
        shapes[layer + "fc2.weight"] = {e, 4 * e};
        shapes[layer + "fc2.bias"] = {e};
        for (const char* norm : {"layer_norms.0.", "layer_norms.1."}) {
            shapes[layer + norm + "weight"] = {e};
            shapes[layer + norm + "bias"] = {e};
        }
    }
    shapes[base + "layer_norm.weight"] = {e};
    shapes[base + "layer_norm.bias"] = {e};
}

/// value_error naming (up to eight of) the tensors of `shapes` that `sd` lacks; `model` is
/// emofuse's name, `mmsa_class` MMSA's.
template <class StateDict>
void require_listed_tensors(std::string_view model, std::string_view mmsa_class,
                            const StateDict& sd, const mult_shape_map& shapes,
                            const mmsa_config& config) {
    std::vector<std::string> missing;
    for (const auto& [name, shape] : shapes) {
        if (!sd.contains(name)) {
            missing.push_back(name);
        }
    }
    if (missing.empty()) {
        return;
    }
    std::string text = "models::" + std::string(model) + ": the checkpoint lacks " +
                       std::to_string(missing.size()) + " tensor" +
                       (missing.size() == 1 ? "" : "s") + " of " + std::string(mmsa_class);
    if constexpr (requires { sd.source(); }) {
        text += " (" + std::string(sd.source()) + ")";
    }
    for (std::size_t index = 0; index < missing.size() && index < 8; ++index) {
        text += (index == 0 ? ": '" : ", '") + missing[index] + "'";
    }
    if (missing.size() > 8) {
        text += ", ...";
    }
    throw value_error(text + config.context());
}

/// A state-dict view for loaders that read names without full shapes (the attention and dense
/// loaders): it shows them only the names of MulT's expected list and reads each with its
/// expected shape, so a tensor the configuration sizes differently fails with an error naming
/// it and both shapes, and layers beyond the configured count stay unread (and are reported).
template <class StateDict>
class mult_shaped_state_dict {
public:
    mult_shaped_state_dict(const StateDict& tensors, const mult_shape_map& shapes)
        : tensors_(tensors), shapes_(shapes) {}

    [[nodiscard]] bool contains(std::string_view name) const {
        return shapes_.find(name) != shapes_.end() && tensors_.contains(name);
    }

    template <class T, std::size_t N>
    [[nodiscard]] xt::xtensor<T, N> tensor(std::string_view name) const {
        return tensors_.template tensor<T, N>(name, expected<N>(name));
    }

    template <class T, std::size_t N>
    [[nodiscard]] xt::xtensor<T, N> tensor(std::string_view name,
                                           const std::array<std::size_t, N>& /*loader's*/) const {
        return tensor<T, N>(name);
    }

    [[nodiscard]] auto source() const requires requires(const StateDict& sd) { sd.source(); }
    { return tensors_.source(); }

private:
    template <std::size_t N>
    [[nodiscard]] std::array<std::size_t, N> expected(std::string_view name) const {
        const auto found = shapes_.find(name);
        if (found == shapes_.end() || found->second.size() != N) {
            // A loader asked for a name or rank outside MulT's list: a defect of this header.
            throw value_error("models::mult: internal: no rank-" + std::to_string(N) + " entry '" +
                              std::string(name) + "' in the expected tensors");
        }
        std::array<std::size_t, N> shape{};
        std::copy(found->second.begin(), found->second.end(), shape.begin());
        return shape;
    }

    const StateDict& tensors_;
    const mult_shape_map& shapes_;
};

} // namespace detail

/// MMSA's MULT, eval mode (with use_bert, x_text is BertTextEncoder's last_hidden_state of the
/// text_bert rows, (B, seq_len, hidden)):
///   x̂_m = Conv1d_m(x_m) (kernel `conv1d_kernel_size_m`, no padding, no bias; skipped when
///   orig_d_m = d), then attention::mult_model with MMSA's encoder preset and no padding masks:
///   crossmodal blocks of `nlevels` layers, memory blocks of max(nlevels, 3), the last time
///   step of each, proj2(ReLU(proj1(h))) + h, out_layer.
template <class T>
class mult {
public:
    /// MMSA's output dict: M, and what MULT.forward returns besides it.
    struct result {
        xt::xtensor<T, 2> prediction; ///< "M" (batch, output_dim)
        xt::xtensor<T, 2> feature_t;  ///< "Feature_t": last step of trans_l_mem (batch, 2d)
        xt::xtensor<T, 2> feature_a;  ///< "Feature_a" (batch, 2d)
        xt::xtensor<T, 2> feature_v;  ///< "Feature_v" (batch, 2d)
        xt::xtensor<T, 2> feature_f;  ///< "Feature_f": [Feature_t, Feature_a, Feature_v] (6d)
    };

    mult() = default;

    /// Builds MMSA's MULT for `config` and loads `<prefix>...` tensors (prefix "Model.", as
    /// AMIO's state dict names them). Every tensor's shape is checked against the
    /// configuration (an error names the tensor, expected and found shapes); missing tensors
    /// and tensors under the prefix that MULT does not have are errors naming them.
    /// Configuration keys: feature_dims, dst_feature_dim_nheads, nlevels,
    /// conv1d_kernel_size_{l,a,v}, attn_mask, use_bert, train_mode/num_classes; with use_bert
    /// BERT's tensors are `<prefix>text_model.model.*` and feature_dims[0] must be BERT's
    /// hidden size (MMSA's data loader sets 768, bert-base's).
    template <class StateDict>
    static mult load(const mmsa_config& config, const StateDict& sd,
                     std::string_view prefix = "Model.") {
        const sizes_type sizes = read_sizes(config);
        const auto shapes = expected_shapes(sizes, prefix);
        tracking_state_dict<StateDict> tracked(sd);
        detail::require_listed_tensors("mult", "MULT", tracked, shapes, config);
        const detail::mult_shaped_state_dict<tracking_state_dict<StateDict>> view(tracked, shapes);

        mult model;
        model.sizes_ = sizes;
        if (sizes.use_bert) {
            model.bert_ = detail::mmsa_bert_encoder<T>::load(
                config, sd, tracked, std::string(prefix) + "text_model.", "mult");
            if (model.bert_.hidden_size() != sizes.feature_dims[0]) {
                throw value_error("models::mult: BERT's hidden size is " +
                                  std::to_string(model.bert_.hidden_size()) +
                                  " but feature_dims[0] (MULT's text width) is " +
                                  std::to_string(sizes.feature_dims[0]) + config.context());
            }
        }
        attention::mult_parameters<T> parameters;
        for (std::size_t m = 0; m < 3; ++m) {
            const std::string name =
                std::string(prefix) + "proj_" + std::string(modality_letter(m)) + ".";
            // MULT always builds the Conv1d, but skips it when orig_d == d: read and discard.
            auto conv = encoders::conv1d<T>::from_state_dict(
                view, name,
                encoders::conv1d_options{sizes.feature_dims[m], sizes.d, sizes.kernels[m], 1, 0, 1,
                                         /*bias=*/false});
            if (sizes.feature_dims[m] != sizes.d) {
                parameters.projections[m] = std::move(conv);
            }
        }
        auto options = attention::encoder_options::mmsa();
        options.mask_future = sizes.attn_mask;
        std::size_t block = 0;
        for (std::size_t m = 0; m < 3; ++m) {
            for (std::size_t n = 0; n < 3; ++n) {
                if (n != m) {
                    parameters.crossmodal[block++] = attention::load_crossmodal_encoder<T>(
                        view, std::string(prefix) + crossmodal_name(m, n) + ".", sizes.heads,
                        options);
                }
            }
        }
        for (std::size_t m = 0; m < 3; ++m) {
            parameters.memory[m] = attention::load_crossmodal_encoder<T>(
                view, std::string(prefix) + memory_name(m) + ".", sizes.heads, options);
        }
        parameters.proj1 = layers::load_dense<T>(view, std::string(prefix) + "proj1.");
        parameters.proj2 = layers::load_dense<T>(view, std::string(prefix) + "proj2.");
        parameters.out_layer = layers::load_dense<T>(view, std::string(prefix) + "out_layer.");
        model.core_ = attention::mult_model<T>(std::move(parameters));
        for (const auto& [name, shape] : shapes) {
            if (name.ends_with(".version")) {
                tracked.ignore(name); // TransformerEncoder's unused `version` buffer
            }
        }
        tracked.require_all_read(prefix, "mult");
        return model;
    }

    /// MMSA's forward on PREPARED inputs (after prepare_mmsa_inputs), eval mode: {"M"}.
    /// shape_error naming the modality for a wrong feature width, a batch mismatch or a
    /// sequence shorter than its projection's kernel.
    [[nodiscard]] mmsa_outputs<T> forward(const mmsa_batch<T>& inputs) const {
        mmsa_outputs<T> outputs;
        outputs.emplace("M", run(inputs).prediction);
        return outputs;
    }

    /// MMSA's whole output dict: "M", "Feature_t", "Feature_a", "Feature_v", "Feature_f".
    [[nodiscard]] mmsa_outputs<T> forward_with_features(const mmsa_batch<T>& inputs) const {
        result r = run(inputs);
        mmsa_outputs<T> outputs;
        outputs.emplace("M", std::move(r.prediction));
        outputs.emplace("Feature_t", std::move(r.feature_t));
        outputs.emplace("Feature_a", std::move(r.feature_a));
        outputs.emplace("Feature_v", std::move(r.feature_v));
        outputs.emplace("Feature_f", std::move(r.feature_f));
        return outputs;
    }

    /// The forward with every output as a struct.
    [[nodiscard]] result run(const mmsa_batch<T>& inputs) const {
        // With use_bert, MULT's text is BERT's output over every position, padding included
        // (MULT.forward passes no mask on to the convolution or the attention).
        xt::xtensor<T, 3> encoded;
        if (sizes_.use_bert) {
            encoded = bert_(detail::mmsa_bert_encoder<T>::tokens(inputs.text, "mult"));
        }
        const xt::xtensor<T, 3>& text = sizes_.use_bert ? encoded : inputs.text;
        const std::array<const xt::xtensor<T, 3>*, 3> raw{&text, &inputs.audio, &inputs.vision};
        check_inputs(raw);
        // MULT passes no padding masks: every projected step is a valid key and h[-1] is the
        // last step, which is what full-length sequences give mult_model (whose Conv1d
        // projections are MULT's proj_l/a/v).
        auto core =
            core_.forward(sequence<T>(text), sequence<T>(inputs.audio), sequence<T>(inputs.vision));
        result r;
        r.prediction = std::move(core.prediction);
        const std::size_t batch = core.hidden.shape(0);
        const std::size_t width = 2 * sizes_.d;
        std::array<xt::xtensor<T, 2>*, 3> parts{&r.feature_t, &r.feature_a, &r.feature_v};
        for (std::size_t m = 0; m < 3; ++m) {
            *parts[m] = xt::xtensor<T, 2>::from_shape({batch, width});
            for (std::size_t b = 0; b < batch; ++b) {
                const T* src = core.hidden.data() + b * core.hidden.shape(1) + m * width;
                std::copy(src, src + width, parts[m]->data() + b * width);
            }
        }
        r.feature_f = std::move(core.hidden);
        return r;
    }

    [[nodiscard]] std::size_t output_dim() const { return sizes_.output_dim; }
    /// The MulT core after the projections: its encoders (and their options), proj1, proj2,
    /// out_layer.
    [[nodiscard]] const attention::mult_model<T>& core() const { return core_; }

private:
    struct sizes_type {
        std::array<std::size_t, 3> feature_dims{}; ///< orig_d_l, orig_d_a, orig_d_v
        std::array<std::size_t, 3> kernels{};      ///< conv1d_kernel_size_{l,a,v}
        std::size_t d = 0;                         ///< dst_feature_dim_nheads[0] (d_l = d_a = d_v)
        std::size_t heads = 0;                     ///< dst_feature_dim_nheads[1]
        std::size_t levels = 0;                    ///< nlevels (crossmodal blocks)
        std::size_t output_dim = 0;
        bool attn_mask = false;
        bool use_bert = false;
    };

    static std::string_view modality_letter(std::size_t m) {
        constexpr std::array<std::string_view, 3> letters{"l", "a", "v"};
        return letters[m];
    }
    static std::string_view modality_name(std::size_t m) {
        constexpr std::array<std::string_view, 3> names{"text", "audio", "vision"};
        return names[m];
    }
    static std::string crossmodal_name(std::size_t target, std::size_t source) {
        return "trans_" + std::string(modality_letter(target)) + "_with_" +
               std::string(modality_letter(source));
    }
    static std::string memory_name(std::size_t m) {
        return "trans_" + std::string(modality_letter(m)) + "_mem";
    }

    static sizes_type read_sizes(const mmsa_config& config) {
        sizes_type s;
        s.use_bert = config.flag("use_bert");
        s.feature_dims = config.feature_dims();
        const auto dims_heads = config.sizes("dst_feature_dim_nheads", 2);
        s.d = dims_heads[0];
        s.heads = dims_heads[1];
        s.levels = config.size("nlevels");
        s.kernels = {config.size("conv1d_kernel_size_l"), config.size("conv1d_kernel_size_a"),
                     config.size("conv1d_kernel_size_v")};
        s.attn_mask = config.flag("attn_mask");
        s.output_dim = config.output_dim();
        if (s.heads == 0 || s.d == 0 || s.d % s.heads != 0) {
            throw value_error("models::mult: dst_feature_dim_nheads: the dimension (" +
                              std::to_string(s.d) +
                              ") must be a positive multiple of the head count (" +
                              std::to_string(s.heads) + ")" + config.context());
        }
        if (s.levels == 0) {
            throw value_error("models::mult: nlevels: expected at least 1, got 0" +
                              config.context());
        }
        for (std::size_t m = 0; m < 3; ++m) {
            if (s.kernels[m] == 0) {
                throw value_error("models::mult: conv1d_kernel_size_" +
                                  std::string(modality_letter(m)) + ": expected at least 1, got 0" +
                                  config.context());
            }
        }
        return s;
    }

    /// Name → shape of MULT's state dict (as mmsa_state_dict_shapes.json lists it).
    static detail::mult_shape_map expected_shapes(const sizes_type& s, std::string_view prefix) {
        detail::mult_shape_map shapes;
        const std::string at(prefix);
        for (std::size_t m = 0; m < 3; ++m) {
            shapes[at + "proj_" + std::string(modality_letter(m)) + ".weight"] = {
                s.d, s.feature_dims[m], s.kernels[m]};
        }
        auto add_encoder = [&](const std::string& name, std::size_t e, std::size_t count) {
            detail::add_mmsa_encoder_shapes(shapes, at + name + ".", e, count);
        };
        for (std::size_t m = 0; m < 3; ++m) {
            for (std::size_t n = 0; n < 3; ++n) {
                if (n != m) {
                    add_encoder(crossmodal_name(m, n), s.d, s.levels);
                }
            }
        }
        for (std::size_t m = 0; m < 3; ++m) {
            add_encoder(memory_name(m), 2 * s.d, std::max<std::size_t>(s.levels, 3));
        }
        const std::size_t combined = 6 * s.d;
        for (const char* name : {"proj1.", "proj2."}) {
            shapes[at + name + "weight"] = {combined, combined};
            shapes[at + name + "bias"] = {combined};
        }
        shapes[at + "out_layer.weight"] = {s.output_dim, combined};
        shapes[at + "out_layer.bias"] = {s.output_dim};
        return shapes;
    }

    void check_inputs(const std::array<const xt::xtensor<T, 3>*, 3>& raw) const {
        const std::size_t batch = raw[0]->shape(0);
        if (batch == 0) {
            throw shape_error("models::mult: text: the batch is empty");
        }
        for (std::size_t m = 0; m < 3; ++m) {
            const std::string what(modality_name(m));
            if (raw[m]->shape(0) != batch) {
                throw shape_error("models::mult: " + what + " batch: expected " +
                                  std::to_string(batch) + " (text's), got " +
                                  std::to_string(raw[m]->shape(0)));
            }
            if (raw[m]->shape(2) != sizes_.feature_dims[m]) {
                throw shape_error("models::mult: " + what + " features: expected " +
                                  std::to_string(sizes_.feature_dims[m]) + " (feature_dims), got " +
                                  std::to_string(raw[m]->shape(2)) + " (input shape (" +
                                  std::to_string(raw[m]->shape(0)) + ", " +
                                  std::to_string(raw[m]->shape(1)) + ", " +
                                  std::to_string(raw[m]->shape(2)) + "))");
            }
            const std::size_t needed = sizes_.feature_dims[m] != sizes_.d ? sizes_.kernels[m] : 1;
            if (raw[m]->shape(1) < needed) {
                throw shape_error("models::mult: " + what + " steps: expected at least " +
                                  std::to_string(needed) + " (proj_" +
                                  std::string(modality_letter(m)) + "'s kernel size), got " +
                                  std::to_string(raw[m]->shape(1)));
            }
        }
    }

    sizes_type sizes_;
    detail::mmsa_bert_encoder<T> bert_;
    attention::mult_model<T> core_;
};

} // namespace emofuse::models
