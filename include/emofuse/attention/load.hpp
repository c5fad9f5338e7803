// emofuse/attention/load.hpp — builds the attention stages from PyTorch state dicts (names as
// torch.nn.MultiheadAttention, MulT's MULTModel and emofuse's documented connector modules).
#pragma once

#include "emofuse/attention/connectors.hpp"
#include "emofuse/attention/crossmodal.hpp"
#include "emofuse/attention/dense.hpp"
#include "emofuse/attention/mult.hpp"
#include "emofuse/attention/multi_head.hpp"
#include "emofuse/attention/pooling.hpp"
#include "emofuse/core/dims.hpp"
#include "emofuse/core/error.hpp"
#include "emofuse/io/state_dict.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace emofuse::attention {

namespace detail {

inline std::string join(std::string_view prefix, std::string_view name) {
    return std::string(prefix) + std::string(name);
}

/// Number of consecutive `<prefix>layers.<i>.<probe>` entries, from i = 0.
inline std::size_t count_layers(const io::state_dict& sd, std::string_view prefix,
                                std::string_view probe) {
    std::size_t count = 0;
    while (
        sd.contains(join(prefix, "layers." + std::to_string(count) + "." + std::string(probe)))) {
        ++count;
    }
    return count;
}

} // namespace detail

/// nn.Linear `<prefix>weight` (out, in) and, when present, `<prefix>bias`.
template <class T>
[[nodiscard]] dense<T> load_dense(const io::state_dict& sd, std::string_view prefix) {
    auto weight = sd.tensor<T, 2>(detail::join(prefix, "weight"));
    const std::string bias_name = detail::join(prefix, "bias");
    xt::xtensor<T, 1> bias;
    if (sd.contains(bias_name)) {
        bias = sd.tensor<T, 1>(bias_name, {weight.shape(0)});
    }
    return dense<T>(std::move(weight), std::move(bias), prefix);
}

/// nn.LayerNorm `<prefix>weight`, `<prefix>bias` (eps is not stored in state dicts).
template <class T>
[[nodiscard]] layer_norm<T> load_layer_norm(const io::state_dict& sd, std::string_view prefix,
                                            T eps = T(1e-5)) {
    auto weight = sd.tensor<T, 1>(detail::join(prefix, "weight"));
    auto bias = sd.tensor<T, 1>(detail::join(prefix, "bias"), {weight.size()});
    return layer_norm<T>(std::move(weight), std::move(bias), eps);
}

/// torch.nn.MultiheadAttention: `<prefix>in_proj_weight` (3d, d), `<prefix>in_proj_bias`,
/// `<prefix>out_proj.weight`, `<prefix>out_proj.bias` (biases optional). The head count is not
/// stored in state dicts.
template <class T>
[[nodiscard]] multi_head_attention<T>
load_multi_head_attention(const io::state_dict& sd, std::string_view prefix, std::size_t heads) {
    auto in_weight = sd.tensor<T, 2>(detail::join(prefix, "in_proj_weight"));
    const std::size_t d = in_weight.shape(1);
    xt::xtensor<T, 1> in_bias;
    if (sd.contains(detail::join(prefix, "in_proj_bias"))) {
        in_bias = sd.tensor<T, 1>(detail::join(prefix, "in_proj_bias"), {3 * d});
    }
    auto out_weight = sd.tensor<T, 2>(detail::join(prefix, "out_proj.weight"), {d, d});
    xt::xtensor<T, 1> out_bias;
    if (sd.contains(detail::join(prefix, "out_proj.bias"))) {
        out_bias = sd.tensor<T, 1>(detail::join(prefix, "out_proj.bias"), {d});
    }
    return multi_head_attention<T>(heads, std::move(in_weight), std::move(in_bias),
                                   std::move(out_weight), std::move(out_bias));
}

/// MulT's TransformerEncoderLayer: `<prefix>self_attn.*`, `fc1.*`, `fc2.*`,
/// `layer_norms.0.*` (shared by query and key/value), `layer_norms.1.*`.
template <class T>
[[nodiscard]] crossmodal_layer<T>
load_crossmodal_layer(const io::state_dict& sd, std::string_view prefix, std::size_t heads) {
    return crossmodal_layer<T>(
        load_multi_head_attention<T>(sd, detail::join(prefix, "self_attn."), heads),
        load_layer_norm<T>(sd, detail::join(prefix, "layer_norms.0.")),
        load_dense<T>(sd, detail::join(prefix, "fc1.")),
        load_dense<T>(sd, detail::join(prefix, "fc2.")),
        load_layer_norm<T>(sd, detail::join(prefix, "layer_norms.1.")));
}

/// MulT's TransformerEncoder: `<prefix>layers.<i>.*` for i = 0, 1, … (as many as stored) and
/// `<prefix>layer_norm.*`. Other entries (MulT's `version` buffer) are ignored.
template <class T>
[[nodiscard]] crossmodal_encoder<T>
load_crossmodal_encoder(const io::state_dict& sd, std::string_view prefix, std::size_t heads,
                        encoder_options options = {}) {
    const std::size_t count = detail::count_layers(sd, prefix, "self_attn.in_proj_weight");
    if (count == 0) {
        throw io_error(emofuse::detail::concat_message(
            "attention::load_crossmodal_encoder: no layers under '", prefix, "' in ", sd.source(),
            " (expected ", prefix, "layers.0.self_attn.in_proj_weight)"));
    }
    std::vector<crossmodal_layer<T>> layers;
    layers.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        layers.push_back(load_crossmodal_layer<T>(
            sd, detail::join(prefix, "layers." + std::to_string(i) + "."), heads));
    }
    return crossmodal_encoder<T>(
        std::move(layers), load_layer_norm<T>(sd, detail::join(prefix, "layer_norm.")), options);
}

/// Loads MulT (yaohungt/Multimodal-Transformer MULTModel, all three modalities) from its state
/// dict: proj_{l,a,v}.weight (Conv1d (d, orig_d, 1), optional), trans_{l,a,v}_with_{…}.*,
/// trans_{l,a,v}_mem.*, proj1.*, proj2.*, out_layer.*; `prefix` is prepended to every name
/// (e.g. "module." for a DataParallel checkpoint). `heads` is MulT's num_heads.
template <class T>
[[nodiscard]] mult_model<T>
load_mult(const io::state_dict& sd, std::size_t heads, encoder_options options = {},
          mult_output output = mult_output::prediction, std::string_view prefix = "") {
    constexpr std::array<std::string_view, 3> names{"l", "a", "v"};
    mult_parameters<T> p;
    for (std::size_t m = 0; m < 3; ++m) {
        const std::string proj = detail::join(prefix, "proj_" + std::string(names[m]) + ".weight");
        if (sd.contains(proj)) {
            const auto conv = sd.tensor<T, 3>(proj, {dynamic, dynamic, 1});
            xt::xtensor<T, 2> weight({conv.shape(0), conv.shape(1)});
            std::copy(conv.begin(), conv.end(), weight.begin());
            p.projections[m] = dense<T>(std::move(weight), {}, proj);
        }
    }
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
    p.proj1 = load_dense<T>(sd, detail::join(prefix, "proj1."));
    p.proj2 = load_dense<T>(sd, detail::join(prefix, "proj2."));
    p.out_layer = load_dense<T>(sd, detail::join(prefix, "out_layer."));
    return mult_model<T>(std::move(p), output);
}

namespace detail {

template <class T>
xt::xtensor<T, 1> score_vector(const io::state_dict& sd, std::string_view prefix,
                               std::size_t hidden) {
    const auto w = sd.tensor<T, 2>(join(prefix, "score.weight"), {1, hidden});
    xt::xtensor<T, 1> out = xt::xtensor<T, 1>::from_shape({hidden});
    std::copy(w.begin(), w.end(), out.begin());
    return out;
}

} // namespace detail

/// attention_pool from `<prefix>proj.weight` (h, d), `<prefix>proj.bias` (optional) and
/// `<prefix>score.weight` (1, h) — nn.Linear(d, h) and nn.Linear(h, 1, bias=False).
template <class T>
[[nodiscard]] attention_pool<T> load_attention_pool(const io::state_dict& sd,
                                                    std::string_view prefix) {
    auto projection = load_dense<T>(sd, detail::join(prefix, "proj."));
    auto score = detail::score_vector<T>(sd, prefix, projection.out_features());
    return attention_pool<T>(std::move(projection), std::move(score));
}

/// modality_attention with the same names as load_attention_pool.
template <class T>
[[nodiscard]] modality_attention<T> load_modality_attention(const io::state_dict& sd,
                                                            std::string_view prefix) {
    auto projection = load_dense<T>(sd, detail::join(prefix, "proj."));
    auto score = detail::score_vector<T>(sd, prefix, projection.out_features());
    return modality_attention<T>(std::move(projection), std::move(score));
}

/// linear_projector from `<prefix>weight` (d_model, d_in) and `<prefix>bias`.
template <class T>
[[nodiscard]] linear_projector<T> load_linear_projector(const io::state_dict& sd,
                                                        std::string_view prefix) {
    return linear_projector<T>(load_dense<T>(sd, prefix));
}

/// mlp_projector from nn.Sequential(Linear, GELU, Linear): `<prefix>0.*` and `<prefix>2.*`
/// (LLaVA's mm_projector layout).
template <class T>
[[nodiscard]] mlp_projector<T> load_mlp_projector(const io::state_dict& sd,
                                                  std::string_view prefix) {
    return mlp_projector<T>(load_dense<T>(sd, detail::join(prefix, "0.")),
                            load_dense<T>(sd, detail::join(prefix, "2.")));
}

/// resampler from `<prefix>queries` (n_q, d_model), `<prefix>input_proj.*` (optional) and,
/// for i = 0, 1, …: `<prefix>layers.<i>.cross_attn.*` (nn.MultiheadAttention),
/// `layers.<i>.norm1.*`, `layers.<i>.ffn.0.*`, `layers.<i>.ffn.2.*`
/// (nn.Sequential(Linear, GELU, Linear)), `layers.<i>.norm2.*`.
template <class T>
[[nodiscard]] resampler<T> load_resampler(const io::state_dict& sd, std::string_view prefix,
                                          std::size_t heads) {
    auto queries = sd.tensor<T, 2>(detail::join(prefix, "queries"));
    dense<T> input;
    if (sd.contains(detail::join(prefix, "input_proj.weight"))) {
        input = load_dense<T>(sd, detail::join(prefix, "input_proj."));
    }
    const std::size_t count = detail::count_layers(sd, prefix, "cross_attn.in_proj_weight");
    if (count == 0) {
        throw io_error(emofuse::detail::concat_message(
            "attention::load_resampler: no layers under '", prefix, "' in ", sd.source(),
            " (expected ", prefix, "layers.0.cross_attn.in_proj_weight)"));
    }
    std::vector<resampler_layer<T>> layers;
    for (std::size_t i = 0; i < count; ++i) {
        const std::string at = detail::join(prefix, "layers." + std::to_string(i) + ".");
        layers.push_back(resampler_layer<T>{
            load_multi_head_attention<T>(sd, at + "cross_attn.", heads),
            load_layer_norm<T>(sd, at + "norm1."), load_dense<T>(sd, at + "ffn.0."),
            load_dense<T>(sd, at + "ffn.2."), load_layer_norm<T>(sd, at + "norm2.")});
    }
    return resampler<T>(std::move(queries), std::move(input), std::move(layers));
}

} // namespace emofuse::attention
