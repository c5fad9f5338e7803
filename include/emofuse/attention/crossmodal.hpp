// emofuse/attention/crossmodal.hpp — MulT's pre-LN crossmodal transformer layer and the layer
// stack (TransformerEncoder: √d scaling, sinusoidal positions, layers, final LayerNorm).
#pragma once

#include "emofuse/attention/mask.hpp"
#include "emofuse/attention/multi_head.hpp"
#include "emofuse/attention/positions.hpp"
#include "emofuse/core/concepts.hpp"
#include "emofuse/core/error.hpp"
#include "emofuse/core/sequence.hpp"
#include "emofuse/kernels/workspace.hpp"
#include "emofuse/layers/dense.hpp"
#include "emofuse/layers/layer_norm.hpp"

#include <cmath>
#include <cstddef>
#include <string_view>
#include <utility>
#include <vector>

namespace emofuse::attention {

namespace detail {

/// Scratch of the layers of one thread (normalised inputs, FFN hidden units); separate from
/// attention_workspace(), which the multi-head attention they call uses.
[[nodiscard]] inline kernels::workspace& layer_workspace() {
    thread_local kernels::workspace ws;
    return ws;
}

} // namespace detail

/// One pre-LN crossmodal layer (MulT's TransformerEncoderLayer with normalize_before):
///   x ← x + MHA(Q = LN₀(x), K = V = LN₀(source))   (LN₀ shared by query and key/value)
///   x ← x + W₂·act(W₁·LN₁(x) + b₁) + b₂             (hidden width usually 4d)
/// Without a source it is a self-attention layer (K = V = LN₀(x)). `ffn_activation` is a peer
/// choice with no default: MulT and MMSA use ReLU (encoder_options' presets carry it).
template <class T>
class crossmodal_layer {
public:
    crossmodal_layer() = default;

    crossmodal_layer(multi_head_attention<T> attention, layers::layer_norm<T> attention_norm,
                     layers::dense<T> fc1, layers::dense<T> fc2, layers::layer_norm<T> ffn_norm,
                     layers::activation ffn_activation)
        : attention_(std::move(attention)), attention_norm_(std::move(attention_norm)),
          fc1_(std::move(fc1)), fc2_(std::move(fc2)), ffn_norm_(std::move(ffn_norm)),
          ffn_activation_(ffn_activation) {
        constexpr std::string_view stage = "attention::crossmodal_layer";
        const std::size_t d = attention_.embed_dim();
        check_size(stage, "layer_norms.0 size (embed_dim)", d, attention_norm_.size());
        check_size(stage, "layer_norms.1 size (embed_dim)", d, ffn_norm_.size());
        check_size(stage, "fc1 input features (embed_dim)", d, fc1_.in_features());
        check_size(stage, "fc2 input features (fc1 output features)", fc1_.out_features(),
                   fc2_.in_features());
        check_size(stage, "fc2 output features (embed_dim)", d, fc2_.out_features());
    }

    [[nodiscard]] std::size_t embed_dim() const { return attention_.embed_dim(); }
    [[nodiscard]] const multi_head_attention<T>& attention() const { return attention_; }
    [[nodiscard]] layers::activation ffn_activation() const { return ffn_activation_; }

    /// Updates x (batch, T_q, d; batch-first, contiguous) in place. `source` is (batch, T_k, d)
    /// or null for self-attention; `mask` describes the keys (the source's, or x's own).
    void apply(T* x, std::size_t batch, std::size_t query_time, const T* source,
               std::size_t key_time, const attention_mask<T>& mask) const {
        const std::size_t d = embed_dim();
        const std::size_t rows = batch * query_time;
        kernels::workspace& ws = detail::layer_workspace();
        T* normed = ws.buffer<T>(0, rows * d);
        attention_norm_.apply(x, d, rows, normed, d);
        const token_view<T> query{normed, batch, query_time, d, layout::batch_first};
        if (source) {
            const std::size_t source_rows = batch * key_time;
            T* normed_source = ws.buffer<T>(1, source_rows * d);
            attention_norm_.apply(source, d, source_rows, normed_source, d);
            const token_view<T> keys{normed_source, batch, key_time, d, layout::batch_first};
            attention_.forward(query, keys, keys, mask, x, /*accumulate=*/true);
        } else {
            attention_.forward(query, query, query, mask, x, /*accumulate=*/true);
        }
        const std::size_t hidden = fc1_.out_features();
        T* hidden_units = ws.buffer<T>(2, rows * hidden);
        ffn_norm_.apply(x, d, rows, normed, d);
        fc1_.apply(normed, d, rows, hidden_units, hidden, ffn_activation_);
        fc2_.apply(hidden_units, hidden, rows, x, d, kernels::epilogue::none,
                   /*accumulate=*/true);
    }

    /// Cross-attention of `x` (batch, T_q, d) over `source` (batch, T_k, d).
    [[nodiscard]] xt::xtensor<T, 3> operator()(const xt::xtensor<T, 3>& x,
                                               const xt::xtensor<T, 3>& source,
                                               const attention_mask<T>& mask = {}) const {
        check_inputs(x, &source);
        xt::xtensor<T, 3> out = x;
        apply(out.data(), x.shape(0), x.shape(1), source.data(), source.shape(1), mask);
        return out;
    }

    /// Self-attention of `x` (batch, T, d).
    [[nodiscard]] xt::xtensor<T, 3> operator()(const xt::xtensor<T, 3>& x,
                                               const attention_mask<T>& mask = {}) const {
        check_inputs(x, nullptr);
        xt::xtensor<T, 3> out = x;
        apply(out.data(), x.shape(0), x.shape(1), nullptr, x.shape(1), mask);
        return out;
    }

private:
    void check_inputs(const xt::xtensor<T, 3>& x, const xt::xtensor<T, 3>* source) const {
        constexpr std::string_view stage = "attention::crossmodal_layer";
        check_size(stage, "target features (embed_dim)", embed_dim(), x.shape(2));
        if (source) {
            check_size(stage, "source features (embed_dim)", embed_dim(), source->shape(2));
            check_size(stage, "source batch (= target batch)", x.shape(0), source->shape(0));
        }
    }

    multi_head_attention<T> attention_;
    layers::layer_norm<T> attention_norm_;
    layers::dense<T> fc1_;
    layers::dense<T> fc2_;
    layers::layer_norm<T> ffn_norm_;
    layers::activation ffn_activation_ = layers::activation::relu;
};

/// Options of a layer stack (MulT's TransformerEncoder). The peers differ, so there is no
/// default: start from a named preset (docs/presets.md) and change fields from there.
struct encoder_options {
    /// Multiply the inputs by √d (MulT's embed_scale).
    bool scale_inputs;
    /// Add fairseq sinusoidal positions computed from the unscaled inputs.
    bool add_positions;
    position_options positions;
    /// MulT's attn_mask flag: mask future keys with the shifted triangle triu(1+|T_k−T_q|).
    bool mask_future;
    /// The activation between the layers' fc1 and fc2 (the loaders build the layers with it;
    /// the encoder checks that its layers agree).
    layers::activation ffn_activation;

    /// yaohungt/Multimodal-Transformer (modules/transformer.py, modules/position_embedding.py,
    /// main.py): √d scaling, sinusoidal positions always added (a frame whose first feature is
    /// exactly 0 gets none: make_positions treats it as padding), `--attn_mask` on by default,
    /// ReLU FFN.
    [[nodiscard]] static constexpr encoder_options mult_original() {
        return {true, true, position_options{0, true}, true, layers::activation::relu};
    }
    /// thuiar/MMSA (models/subNets/transformers_encoder/transformer.py, models/singleTask/
    /// MULT.py, config/config_regression.json): as MulT but `position_embedding=False` by
    /// default and never turned on by MULT; `attn_mask` true in MMSA's MulT config.
    [[nodiscard]] static constexpr encoder_options mmsa() {
        return {true, false, position_options{}, true, layers::activation::relu};
    }
};

/// A stack of crossmodal layers with a final LayerNorm (MulT's TransformerEncoder):
///   x = √d·x_in + pos(x_in);  s = √d·s_in + pos(s_in);  x = layer_n(…layer_1(x, s)…);  LN(x).
/// As a per-modality stage it is a self-attention stack over a sequence (keys masked by the
/// sequence's lengths and frame mask). Inputs are batch-first (batch, T, d), as emofuse's
/// sequences are; MulT's and MMSA's TransformerEncoder take (T, batch, d) — permute(1, 0, 2) a
/// tensor taken from them (mult_model takes batch-first sequences as well).
template <class T>
class crossmodal_encoder : public modality_stage_base {
public:
    crossmodal_encoder() = default;

    crossmodal_encoder(std::vector<crossmodal_layer<T>> layers, layers::layer_norm<T> final_norm,
                       encoder_options options)
        : layers_(std::move(layers)), final_norm_(std::move(final_norm)), options_(options) {
        constexpr std::string_view stage = "attention::crossmodal_encoder";
        if (layers_.empty()) {
            throw value_error("attention::crossmodal_encoder: layers: expected at least one, "
                              "got none");
        }
        for (const auto& layer : layers_) {
            check_size(stage, "layer embed_dim (the first layer's)", layers_.front().embed_dim(),
                       layer.embed_dim());
            if (layer.ffn_activation() != options_.ffn_activation) {
                throw value_error("attention::crossmodal_encoder: a layer's FFN activation differs "
                                  "from options.ffn_activation");
            }
        }
        check_size(stage, "final layer_norm size (embed_dim)", embed_dim(), final_norm_.size());
    }

    [[nodiscard]] std::size_t embed_dim() const { return layers_.front().embed_dim(); }
    [[nodiscard]] std::size_t layer_count() const { return layers_.size(); }
    [[nodiscard]] const encoder_options& options() const { return options_; }
    [[nodiscard]] const std::vector<crossmodal_layer<T>>& layers() const { return layers_; }

    /// Cross-attention stack: `target` (batch, T_q, d) attends over `source` (batch, T_k, d);
    /// `mask` describes the source keys (the future mask comes from the options).
    [[nodiscard]] xt::xtensor<T, 3> operator()(const xt::xtensor<T, 3>& target,
                                               const xt::xtensor<T, 3>& source,
                                               attention_mask<T> mask = {}) const {
        constexpr std::string_view stage = "attention::crossmodal_encoder";
        check_size(stage, "target features (embed_dim)", embed_dim(), target.shape(2));
        check_size(stage, "source features (embed_dim)", embed_dim(), source.shape(2));
        check_size(stage, "source batch (= target batch)", target.shape(0), source.shape(0));
        xt::xtensor<T, 3> x = embed(target);
        const xt::xtensor<T, 3> s = embed(source);
        apply_future(mask);
        for (const auto& layer : layers_) {
            layer.apply(x.data(), x.shape(0), x.shape(1), s.data(), s.shape(1), mask);
        }
        final_norm_.apply(x.data(), embed_dim(), x.shape(0) * x.shape(1), x.data(), embed_dim());
        return x;
    }

    /// Self-attention stack over x (batch, T, d); `mask` describes x's own frames as keys.
    [[nodiscard]] xt::xtensor<T, 3> operator()(const xt::xtensor<T, 3>& target,
                                               attention_mask<T> mask = {}) const {
        check_size("attention::crossmodal_encoder", "target features (embed_dim)", embed_dim(),
                   target.shape(2));
        xt::xtensor<T, 3> x = embed(target);
        apply_future(mask);
        for (const auto& layer : layers_) {
            layer.apply(x.data(), x.shape(0), x.shape(1), nullptr, x.shape(1), mask);
        }
        final_norm_.apply(x.data(), embed_dim(), x.shape(0) * x.shape(1), x.data(), embed_dim());
        return x;
    }

    /// Self-attention stack over a sequence; the result keeps its lengths and frame mask.
    [[nodiscard]] sequence<T> operator()(const sequence<T>& target) const {
        return with_layout_of(target, (*this)(target.values(), key_padding_of(target)));
    }

    /// `target` attends over `source`; the result keeps the target's lengths and frame mask.
    [[nodiscard]] sequence<T> operator()(const sequence<T>& target,
                                         const sequence<T>& source) const {
        return with_layout_of(target,
                              (*this)(target.values(), source.values(), key_padding_of(source)));
    }

private:
    static sequence<T> with_layout_of(const sequence<T>& like, xt::xtensor<T, 3> values) {
        if (like.has_frame_mask()) {
            return sequence<T>(std::move(values), like.lengths(), like.frame_mask());
        }
        return sequence<T>(std::move(values), like.lengths());
    }

    void apply_future(attention_mask<T>& mask) const {
        if (options_.mask_future) {
            mask.future = future_mask::shifted;
        }
    }

    xt::xtensor<T, 3> embed(const xt::xtensor<T, 3>& in) const {
        const std::size_t d = embed_dim();
        const T scale = options_.scale_inputs ? std::sqrt(static_cast<T>(d)) : T(1);
        xt::xtensor<T, 3> out(in.shape());
        if (options_.add_positions) {
            embed_with_positions(in.data(), in.shape(0), in.shape(1), d, scale, options_.positions,
                                 out.data());
        } else {
            for (std::size_t i = 0; i < in.size(); ++i) {
                out.data()[i] = scale * in.data()[i];
            }
        }
        return out;
    }

    std::vector<crossmodal_layer<T>> layers_;
    layers::layer_norm<T> final_norm_;
    encoder_options options_ = encoder_options::mult_original();
};

} // namespace emofuse::attention
