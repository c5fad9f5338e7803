// emofuse/attention/connectors.hpp — MLLM connectors that map audio/visual encoder features
// into a language model's embedding space: linear and two-layer MLP projectors, and the
// learned-query cross-attention resampler (Q-Former / Perceiver-resampler style).
#pragma once

#include "emofuse/attention/mask.hpp"
#include "emofuse/attention/multi_head.hpp"
#include "emofuse/core/concepts.hpp"
#include "emofuse/core/error.hpp"
#include "emofuse/core/sequence.hpp"
#include "emofuse/kernels/epilogue.hpp"
#include "emofuse/layers/dense.hpp"
#include "emofuse/layers/layer_norm.hpp"

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace emofuse::attention {

namespace detail {

template <class T>
xt::xtensor<T, 3> map_frames(const xt::xtensor<T, 3>& x, std::size_t out_features,
                             const auto& per_rows) {
    xt::xtensor<T, 3> out({x.shape(0), x.shape(1), out_features});
    per_rows(x.data(), x.shape(0) * x.shape(1), out.data());
    return out;
}

template <class T>
sequence<T> same_frames(const sequence<T>& like, xt::xtensor<T, 3> values) {
    if (like.has_frame_mask()) {
        return sequence<T>(std::move(values), like.lengths(), like.frame_mask());
    }
    return sequence<T>(std::move(values), like.lengths());
}

} // namespace detail

/// Linear projector y = W·x + b applied to every frame (or utterance vector); W is (d_model,
/// d_in). Sequences keep their lengths and frame masks.
template <class T>
class linear_projector : public modality_stage_base {
public:
    linear_projector() = default;
    explicit linear_projector(layers::dense<T> projection) : projection_(std::move(projection)) {}

    [[nodiscard]] std::size_t input_features() const { return projection_.in_features(); }
    [[nodiscard]] std::size_t output_features() const { return projection_.out_features(); }

    [[nodiscard]] features<T> operator()(const features<T>& x) const {
        check_input(x.shape(1));
        features<T> out({x.shape(0), output_features()});
        projection_.apply(x.data(), input_features(), x.shape(0), out.data(), output_features());
        return out;
    }

    [[nodiscard]] sequence<T> operator()(const sequence<T>& x) const {
        check_input(x.feature_size());
        return detail::same_frames(
            x, detail::map_frames<T>(
                   x.values(), output_features(), [&](const T* in, std::size_t rows, T* out) {
                       projection_.apply(in, input_features(), rows, out, output_features());
                   }));
    }

private:
    void check_input(std::size_t d) const {
        check_size("attention::linear_projector", "input features (weight columns)",
                   input_features(), d);
    }
    layers::dense<T> projection_;
};

/// The activation between an MLP projector's two layers (a peer choice: no default).
struct projector_options {
    layers::activation hidden;

    /// LLaVA's `mm_projector_type = "mlp2x_gelu"` (llava/model/multimodal_projector/
    /// builder.py): nn.Sequential(Linear, GELU(), Linear), GELU with the exact erf.
    [[nodiscard]] static constexpr projector_options llava() { return {layers::activation::gelu}; }
};

/// Two-layer MLP projector y = W₂·act(W₁·x + b₁) + b₂, applied to every frame or utterance
/// vector. LLaVA-style state dicts name the layers `0.` and `2.` (nn.Sequential(Linear, act,
/// Linear)).
template <class T>
class mlp_projector : public modality_stage_base {
public:
    mlp_projector() = default;
    mlp_projector(layers::dense<T> fc1, layers::dense<T> fc2, projector_options options)
        : fc1_(std::move(fc1)), fc2_(std::move(fc2)), options_(options) {
        check_size("attention::mlp_projector", "second layer input features (first layer outputs)",
                   fc1_.out_features(), fc2_.in_features());
    }

    [[nodiscard]] std::size_t input_features() const { return fc1_.in_features(); }
    [[nodiscard]] std::size_t output_features() const { return fc2_.out_features(); }

    [[nodiscard]] features<T> operator()(const features<T>& x) const {
        check_input(x.shape(1));
        features<T> out({x.shape(0), output_features()});
        apply(x.data(), x.shape(0), out.data());
        return out;
    }

    [[nodiscard]] sequence<T> operator()(const sequence<T>& x) const {
        check_input(x.feature_size());
        return detail::same_frames(x, detail::map_frames<T>(x.values(), output_features(),
                                                            [&](const T* in, std::size_t rows,
                                                                T* out) { apply(in, rows, out); }));
    }

    /// Rows of input_features() values → rows of output_features() values.
    void apply(const T* x, std::size_t rows, T* y) const {
        const std::size_t hidden = fc1_.out_features();
        std::vector<T> h(rows * hidden);
        fc1_.apply(x, input_features(), rows, h.data(), hidden, options_.hidden);
        fc2_.apply(h.data(), hidden, rows, y, output_features());
    }

private:
    void check_input(std::size_t d) const {
        check_size("attention::mlp_projector", "input features (first layer weight columns)",
                   input_features(), d);
    }
    layers::dense<T> fc1_;
    layers::dense<T> fc2_;
    projector_options options_ = projector_options::llava();
};

/// The activation inside the resampler's feed-forward blocks (a peer choice: no default).
struct resampler_options {
    layers::activation ffn;

    /// BLIP-2's Q-Former (transformers, models/blip_2/configuration_blip_2.py:
    /// Blip2QFormerConfig hidden_act = "gelu", the exact erf form).
    [[nodiscard]] static constexpr resampler_options blip2_qformer() {
        return {layers::activation::gelu};
    }
};

/// One resampler layer (post-LN, as a Q-Former cross-attention block):
///   q ← LN₁(q + MHA(q, x, x; key padding))      q ← LN₂(q + W₂·act(W₁·q + b₁) + b₂)
template <class T>
struct resampler_layer {
    multi_head_attention<T> cross_attention;
    layers::layer_norm<T> norm1;
    layers::dense<T> ffn1;
    layers::dense<T> ffn2;
    layers::layer_norm<T> norm2;
};

/// Learned-query resampler: n_q learned queries (n_q, d_model) cross-attend over a
/// variable-length modality sequence (optionally first projected from d_in to d_model),
/// through stacked resampler_layer blocks. Output: n_q tokens of size d_model per sample,
/// whatever the input length (a sequence with every length = n_q). Keys are masked by the
/// input's lengths and frame mask; a sample with no valid frame gets attention vectors of
/// zero (so out_proj.bias) in every layer.
template <class T>
class resampler : public modality_stage_base {
public:
    resampler() = default;

    /// `input_projection` may be empty (the input then must have d_model features).
    resampler(xt::xtensor<T, 2> queries, layers::dense<T> input_projection,
              std::vector<resampler_layer<T>> layers, resampler_options options)
        : queries_(std::move(queries)), input_(std::move(input_projection)),
          layers_(std::move(layers)), options_(options) {
        constexpr std::string_view stage = "attention::resampler";
        if (layers_.empty()) {
            throw value_error("attention::resampler: layers: expected at least one, got none");
        }
        const std::size_t d = queries_.shape(1);
        if (!input_.empty()) {
            check_size(stage, "input projection output features (d_model)", d,
                       input_.out_features());
        }
        for (std::size_t i = 0; i < layers_.size(); ++i) {
            const auto& l = layers_[i];
            const std::string at = "layer " + std::to_string(i) + " ";
            check_size(stage, at + "cross_attn embed_dim (d_model)", d,
                       l.cross_attention.embed_dim());
            check_size(stage, at + "norm1 size (d_model)", d, l.norm1.size());
            check_size(stage, at + "norm2 size (d_model)", d, l.norm2.size());
            check_size(stage, at + "ffn.0 input features (d_model)", d, l.ffn1.in_features());
            check_size(stage, at + "ffn.2 input features (ffn.0 outputs)", l.ffn1.out_features(),
                       l.ffn2.in_features());
            check_size(stage, at + "ffn.2 output features (d_model)", d, l.ffn2.out_features());
        }
    }

    [[nodiscard]] std::size_t query_count() const { return queries_.shape(0); }
    [[nodiscard]] std::size_t model_dim() const { return queries_.shape(1); }
    [[nodiscard]] std::size_t input_features() const {
        return input_.empty() ? model_dim() : input_.in_features();
    }

    /// (batch, T, d_in) with lengths → (batch, n_q, d_model).
    [[nodiscard]] sequence<T> operator()(const sequence<T>& x) const {
        constexpr std::string_view stage = "attention::resampler";
        check_size(stage, "input features (d_in)", input_features(), x.feature_size());
        const std::size_t batch = x.batch_size();
        const std::size_t time = x.max_time();
        const std::size_t d = model_dim();
        const std::size_t nq = query_count();
        xt::xtensor<T, 3> memory;
        const T* keys = x.values().data();
        if (!input_.empty()) {
            memory = xt::xtensor<T, 3>({batch, time, d});
            input_.apply(keys, input_features(), batch * time, memory.data(), d);
            keys = memory.data();
        }
        const attention_mask<T> mask = key_padding_of(x);
        xt::xtensor<T, 3> q({batch, nq, d});
        for (std::size_t b = 0; b < batch; ++b) {
            std::copy(queries_.begin(), queries_.end(), q.data() + b * nq * d);
        }
        const std::size_t rows = batch * nq;
        std::vector<T> attended(rows * d);
        for (const auto& layer : layers_) {
            const token_view<T> query{q.data(), batch, nq, d, layout::batch_first};
            const token_view<T> kv{keys, batch, time, d, layout::batch_first};
            layer.cross_attention.forward(query, kv, kv, mask, attended.data());
            for (std::size_t i = 0; i < rows * d; ++i) {
                attended[i] += q.data()[i];
            }
            layer.norm1.apply(attended.data(), d, rows, q.data(), d);
            const std::size_t hidden = layer.ffn1.out_features();
            std::vector<T> h(rows * hidden);
            layer.ffn1.apply(q.data(), d, rows, h.data(), hidden, options_.ffn);
            std::copy(q.begin(), q.end(), attended.begin());
            layer.ffn2.apply(h.data(), hidden, rows, attended.data(), d, kernels::epilogue::none,
                             /*accumulate=*/true);
            layer.norm2.apply(attended.data(), d, rows, q.data(), d);
        }
        return sequence<T>(std::move(q), std::vector<std::size_t>(batch, nq));
    }

private:
    xt::xtensor<T, 2> queries_;
    layers::dense<T> input_;
    std::vector<resampler_layer<T>> layers_;
    resampler_options options_ = resampler_options::blip2_qformer();
};

} // namespace emofuse::attention
