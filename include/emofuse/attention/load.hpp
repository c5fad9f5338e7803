// emofuse/attention/load.hpp — builds the attention stages from PyTorch state dicts (names as
// torch.nn.MultiheadAttention, MulT's MULTModel and emofuse's documented connector modules).
#pragma once

#include "emofuse/attention/connectors.hpp"
#include "emofuse/attention/crossmodal.hpp"
#include "emofuse/attention/mult.hpp"
#include "emofuse/attention/multi_head.hpp"
#include "emofuse/attention/pooling.hpp"
#include "emofuse/attention/torch_transformer.hpp"
#include "emofuse/core/dims.hpp"
#include "emofuse/core/error.hpp"
#include "emofuse/encoders/conv1d.hpp"
#include "emofuse/layers/dense.hpp"
#include "emofuse/layers/layer_norm.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// Every loader takes (state dict, prefix, then what the state dict does not store). The state
// dict is io::state_dict or anything with contains(name) and tensor<T, N>(name, shape).

namespace emofuse::attention {

namespace detail {

inline std::string join(std::string_view prefix, std::string_view name) {
    return std::string(prefix) + std::string(name);
}

/// Number of consecutive `<prefix>layers.<i>.<probe>` entries, from i = 0.
template <class StateDict>
std::size_t count_layers(const StateDict& sd, std::string_view prefix, std::string_view probe) {
    std::size_t count = 0;
    while (
        sd.contains(join(prefix, "layers." + std::to_string(count) + "." + std::string(probe)))) {
        ++count;
    }
    return count;
}

/// count_layers, or io_error naming the loader and the first name it looked for.
template <class StateDict>
std::size_t require_layers(const StateDict& sd, std::string_view loader, std::string_view prefix,
                           std::string_view probe) {
    const std::size_t count = count_layers(sd, prefix, probe);
    if (count == 0) {
        throw io_error(emofuse::detail::concat_message(
            "attention::", loader, ": no layers under '", prefix, "'",
            layers::state_dict_source_suffix(sd), " (expected ", prefix, "layers.0.", probe, ")"));
    }
    return count;
}

} // namespace detail

/// torch.nn.MultiheadAttention: `<prefix>in_proj_weight` (3d, d), `<prefix>in_proj_bias`,
/// `<prefix>out_proj.weight`, `<prefix>out_proj.bias` (biases optional). The head count is not
/// stored in state dicts.
template <class T, class StateDict>
[[nodiscard]] multi_head_attention<T>
load_multi_head_attention(const StateDict& sd, std::string_view prefix, std::size_t heads) {
    auto in = layers::load_linear_parameters<T>(sd, detail::join(prefix, "in_proj_"));
    const std::size_t d = in.weight.shape(1);
    auto out = layers::load_linear_parameters<T>(sd, detail::join(prefix, "out_proj."), d, d);
    return multi_head_attention<T>(heads, std::move(in.weight), std::move(in.bias),
                                   std::move(out.weight), std::move(out.bias));
}

/// MulT's TransformerEncoderLayer: `<prefix>self_attn.*`, `fc1.*`, `fc2.*`,
/// `layer_norms.0.*` (shared by query and key/value), `layer_norms.1.*`. The FFN activation is
/// not stored (MulT: ReLU).
template <class T, class StateDict>
[[nodiscard]] crossmodal_layer<T> load_crossmodal_layer(const StateDict& sd,
                                                        std::string_view prefix, std::size_t heads,
                                                        layers::activation ffn_activation) {
    return crossmodal_layer<T>(
        load_multi_head_attention<T>(sd, detail::join(prefix, "self_attn."), heads),
        layers::load_layer_norm<T>(sd, detail::join(prefix, "layer_norms.0.")),
        layers::load_dense<T>(sd, detail::join(prefix, "fc1.")),
        layers::load_dense<T>(sd, detail::join(prefix, "fc2.")),
        layers::load_layer_norm<T>(sd, detail::join(prefix, "layer_norms.1.")), ffn_activation);
}

/// MulT's TransformerEncoder: `<prefix>layers.<i>.*` for i = 0, 1, … (as many as stored) and
/// `<prefix>layer_norm.*`. Other entries (MulT's `version` buffer) are ignored. `options` says
/// which peer's encoder it is (encoder_options::mult_original() or ::mmsa()).
template <class T, class StateDict>
[[nodiscard]] crossmodal_encoder<T>
load_crossmodal_encoder(const StateDict& sd, std::string_view prefix, std::size_t heads,
                        encoder_options options) {
    const std::size_t count =
        detail::require_layers(sd, "load_crossmodal_encoder", prefix, "self_attn.in_proj_weight");
    std::vector<crossmodal_layer<T>> stack;
    stack.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        stack.push_back(
            load_crossmodal_layer<T>(sd, detail::join(prefix, "layers." + std::to_string(i) + "."),
                                     heads, options.ffn_activation));
    }
    return crossmodal_encoder<T>(
        std::move(stack), layers::load_layer_norm<T>(sd, detail::join(prefix, "layer_norm.")),
        options);
}

/// Loads MulT (MULTModel, all three modalities) from its state dict: proj_{l,a,v}.weight
/// (nn.Conv1d (d, orig_d, k), any kernel size k; a proj_m.bias is used when stored; absent or
/// with orig_d == d: no projection, as MulT and MMSA skip it then though they store it),
/// trans_{l,a,v}_with_{…}.*, trans_{l,a,v}_mem.*, proj1.*, proj2.*, out_layer.*; `prefix` is
/// prepended to every name ("" for a plain checkpoint, "module." for a DataParallel one, "Model."
/// for MMSA's AMIO wrapper). The kernel sizes come from the weights (MulT: 1; MMSA:
/// conv1d_kernel_size_{l,a,v}, 5 in its configs), with stride 1 and padding 0 as both build them.
/// `heads` is MulT's num_heads; `options` names the peer that trained it:
/// encoder_options::mult_original() (yaohungt/Multimodal-Transformer) or encoder_options::mmsa()
/// (thuiar/MMSA: positions off) — their state dicts have the same names but their encoders differ.
/// Throws shape_error naming the tensor and both shapes when a projection does not fit its
/// encoders.
template <class T, class StateDict>
[[nodiscard]] mult_model<T> load_mult(const StateDict& sd, std::string_view prefix,
                                      std::size_t heads, encoder_options options,
                                      mult_output output = mult_output::prediction) {
    constexpr std::array<std::string_view, 3> names{"l", "a", "v"};
    mult_parameters<T> p;
    std::size_t block = 0;
    for (std::size_t m = 0; m < 3; ++m) {
        for (std::size_t n = 0; n < 3; ++n) {
            if (n == m) {
                continue;
            }
            const std::string name =
                "trans_" + std::string(names[m]) + "_with_" + std::string(names[n]) + ".";
            p.crossmodal[block++] =
                load_crossmodal_encoder<T>(sd, detail::join(prefix, name), heads, options);
        }
    }
    for (std::size_t m = 0; m < 3; ++m) {
        const std::string name = "trans_" + std::string(names[m]) + "_mem.";
        p.memory[m] = load_crossmodal_encoder<T>(sd, detail::join(prefix, name), heads, options);
    }
    for (std::size_t m = 0; m < 3; ++m) {
        const std::string proj = detail::join(prefix, "proj_" + std::string(names[m]) + ".");
        if (!sd.contains(proj + "weight")) {
            continue;
        }
        const auto weight = sd.template tensor<T, 3>(proj + "weight", {dynamic, dynamic, dynamic});
        const std::size_t d = p.crossmodal[2 * m].embed_dim();
        if (weight.shape(0) != d) {
            throw shape_error(emofuse::detail::concat_message(
                "attention::load_mult: tensor '", proj, "weight'",
                layers::state_dict_source_suffix(sd), ": expected shape (", d,
                ", orig_d, kernel_size) (nn.Conv1d with d = ", d, " from trans_", names[m],
                "_with_*), got (", weight.shape(0), ", ", weight.shape(1), ", ", weight.shape(2),
                ")"));
        }
        if (weight.shape(1) == d) {
            continue; // orig_d == d: MulT's forward never applies this convolution
        }
        xt::xtensor<T, 1> bias;
        if (sd.contains(proj + "bias")) {
            bias = sd.template tensor<T, 1>(proj + "bias", {d});
        }
        p.projections[m] = encoders::conv1d<T>(weight, bias);
    }
    p.proj1 = layers::load_dense<T>(sd, detail::join(prefix, "proj1."));
    p.proj2 = layers::load_dense<T>(sd, detail::join(prefix, "proj2."));
    p.out_layer = layers::load_dense<T>(sd, detail::join(prefix, "out_layer."));
    return mult_model<T>(std::move(p), output);
}

/// nn.TransformerEncoderLayer: `<prefix>self_attn.{in_proj_weight, in_proj_bias,
/// out_proj.weight, out_proj.bias}`, `linear1.*`, `linear2.*`, `norm1.*`, `norm2.*`. nhead,
/// norm_first, the activation and the eps are constructor arguments, not stored.
template <class T, class StateDict>
[[nodiscard]] torch_encoder_layer<T>
load_torch_encoder_layer(const StateDict& sd, std::string_view prefix, std::size_t heads,
                         torch_encoder_options options) {
    const T eps = static_cast<T>(options.layer_norm_eps);
    return torch_encoder_layer<T>(
        load_multi_head_attention<T>(sd, detail::join(prefix, "self_attn."), heads),
        layers::load_dense<T>(sd, detail::join(prefix, "linear1.")),
        layers::load_dense<T>(sd, detail::join(prefix, "linear2.")),
        layers::load_layer_norm<T>(sd, detail::join(prefix, "norm1."), eps),
        layers::load_layer_norm<T>(sd, detail::join(prefix, "norm2."), eps), options);
}

/// nn.TransformerEncoder: `<prefix>layers.<i>.*` for i = 0, 1, … (as many as stored; see
/// load_torch_encoder_layer) and, when stored, the final `<prefix>norm.*`. Every layer takes
/// the same options, as nn.TransformerEncoder deep-copies one layer.
template <class T, class StateDict>
[[nodiscard]] torch_encoder<T> load_torch_encoder(const StateDict& sd, std::string_view prefix,
                                                  std::size_t heads,
                                                  torch_encoder_options options) {
    const std::size_t count =
        detail::require_layers(sd, "load_torch_encoder", prefix, "self_attn.in_proj_weight");
    std::vector<torch_encoder_layer<T>> stack;
    stack.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        stack.push_back(load_torch_encoder_layer<T>(
            sd, detail::join(prefix, "layers." + std::to_string(i) + "."), heads, options));
    }
    layers::layer_norm<T> norm;
    if (sd.contains(detail::join(prefix, "norm.weight"))) {
        norm = layers::load_layer_norm<T>(sd, detail::join(prefix, "norm."),
                                          static_cast<T>(options.final_norm_eps));
    }
    return torch_encoder<T>(std::move(stack), std::move(norm));
}

/// An additive-attention stage (attention_pool or modality_attention) from
/// `<prefix>proj.weight` (h, d), `<prefix>proj.bias` (optional) and `<prefix>score.weight`
/// (1, h) — nn.Linear(d, h) and nn.Linear(h, 1, bias=False).
template <class Stage, class StateDict>
[[nodiscard]] Stage load_additive_attention(const StateDict& sd, std::string_view prefix) {
    using T = typename Stage::value_type;
    auto projection = layers::load_dense<T>(sd, detail::join(prefix, "proj."));
    const auto w = sd.template tensor<T, 2>(detail::join(prefix, "score.weight"),
                                            {1, projection.out_features()});
    xt::xtensor<T, 1> score = xt::xtensor<T, 1>::from_shape({w.size()});
    std::copy(w.begin(), w.end(), score.begin());
    return Stage(std::move(projection), std::move(score));
}

/// attention_pool: see load_additive_attention for the names.
template <class T, class StateDict>
[[nodiscard]] attention_pool<T> load_attention_pool(const StateDict& sd, std::string_view prefix) {
    return load_additive_attention<attention_pool<T>>(sd, prefix);
}

/// modality_attention: see load_additive_attention for the names.
template <class T, class StateDict>
[[nodiscard]] modality_attention<T> load_modality_attention(const StateDict& sd,
                                                            std::string_view prefix) {
    return load_additive_attention<modality_attention<T>>(sd, prefix);
}

/// linear_projector from `<prefix>weight` (d_model, d_in) and `<prefix>bias`.
template <class T, class StateDict>
[[nodiscard]] linear_projector<T> load_linear_projector(const StateDict& sd,
                                                        std::string_view prefix) {
    return linear_projector<T>(layers::load_dense<T>(sd, prefix));
}

/// mlp_projector from nn.Sequential(Linear, act, Linear): `<prefix>0.*` and `<prefix>2.*`
/// (LLaVA's mm_projector layout; projector_options::llava() for its GELU).
template <class T, class StateDict>
[[nodiscard]] mlp_projector<T> load_mlp_projector(const StateDict& sd, std::string_view prefix,
                                                  projector_options options) {
    return mlp_projector<T>(layers::load_dense<T>(sd, detail::join(prefix, "0.")),
                            layers::load_dense<T>(sd, detail::join(prefix, "2.")), options);
}

/// resampler from `<prefix>queries` (n_q, d_model), `<prefix>input_proj.*` (optional) and,
/// for i = 0, 1, …: `<prefix>layers.<i>.cross_attn.*` (nn.MultiheadAttention),
/// `layers.<i>.norm1.*`, `layers.<i>.ffn.0.*`, `layers.<i>.ffn.2.*`
/// (nn.Sequential(Linear, act, Linear)), `layers.<i>.norm2.*`.
template <class T, class StateDict>
[[nodiscard]] resampler<T> load_resampler(const StateDict& sd, std::string_view prefix,
                                          std::size_t heads, resampler_options options) {
    auto queries = sd.template tensor<T, 2>(detail::join(prefix, "queries"), {dynamic, dynamic});
    auto input = layers::load_optional_dense<T>(sd, detail::join(prefix, "input_proj."));
    const std::size_t count =
        detail::require_layers(sd, "load_resampler", prefix, "cross_attn.in_proj_weight");
    std::vector<resampler_layer<T>> stack;
    for (std::size_t i = 0; i < count; ++i) {
        const std::string at = detail::join(prefix, "layers." + std::to_string(i) + ".");
        stack.push_back(resampler_layer<T>{
            load_multi_head_attention<T>(sd, at + "cross_attn.", heads),
            layers::load_layer_norm<T>(sd, at + "norm1."), layers::load_dense<T>(sd, at + "ffn.0."),
            layers::load_dense<T>(sd, at + "ffn.2."),
            layers::load_layer_norm<T>(sd, at + "norm2.")});
    }
    return resampler<T>(std::move(queries), std::move(input), std::move(stack), options);
}

} // namespace emofuse::attention
