// emofuse/models/almt.hpp — MMSA's ALMT (src/MMSA/models/singleTask/ALMT.py): BERT text,
// per-modality token embeddings, the Adaptive Hyper-modality Learning layers and a cross
// transformer, built from MMSA's configuration and loaded from its AMIO checkpoint.
#pragma once

#include <emofuse/attention/scaled_dot_product.hpp>
#include <emofuse/config.hpp>
#include <emofuse/core/error.hpp>
#include <emofuse/layers/dense.hpp>
#include <emofuse/layers/layer_norm.hpp>
#include <emofuse/models/detail/mmsa_bert_models.hpp>
#include <emofuse/models/detail/recurrent_common.hpp>
#include <emofuse/models/mmsa_config.hpp>
#include <emofuse/models/mmsa_inputs.hpp>
#include <emofuse/models/mmsa_model.hpp>
#include <emofuse/text/bert.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace emofuse::models {

namespace detail {

/// ALMT's (ViT-style) multi-head attention without biases on q, k, v: to_q, to_k, to_v
/// (heads·head_dim, dim), softmax(q·kᵀ·head_dim^−½)·v per head, then to_out (dim,
/// heads·head_dim) with bias — an nn.Identity when heads = 1 and head_dim = dim, as ALMT builds
/// it then. `keys` lists the key projections ("to_k" or "to_k_ta", "to_k_tv"), `values` the
/// value ones.
template <class T>
struct almt_projections {
    std::size_t heads = 1, head_dim = 0;
    layers::dense<T> query;
    std::vector<layers::dense<T>> keys, values;
    layers::dense<T> out; ///< empty: identity

    /// nn.Linear(in, out, bias=False) at `<name>.weight`; a stored bias is an error.
    template <class StateDict>
    static layers::dense<T> load_unbiased(const StateDict& sd, const std::string& name,
                                          std::size_t in, std::size_t out) {
        require_tensor(sd, "almt", name + ".weight");
        if (sd.contains(name + ".bias")) {
            throw value_error("models::almt: the checkpoint has '" + name +
                              ".bias'; ALMT's q, k and v projections have no bias");
        }
        return layers::dense<T>(
            sd.template tensor<T, 2>(name + ".weight", std::array<std::size_t, 2>{out, in}),
            xt::xtensor<T, 1>{}, name);
    }

    template <class StateDict>
    static almt_projections load(const StateDict& sd, const std::string& at, std::size_t dim,
                                 std::size_t heads, std::size_t head_dim,
                                 const std::vector<std::string>& key_names,
                                 const std::vector<std::string>& value_names) {
        almt_projections p;
        p.heads = heads;
        p.head_dim = head_dim;
        const std::size_t inner = heads * head_dim;
        p.query = load_unbiased(sd, at + "to_q", dim, inner);
        for (const auto& name : key_names) {
            p.keys.push_back(load_unbiased(sd, at + name, dim, inner));
        }
        for (const auto& name : value_names) {
            p.values.push_back(load_unbiased(sd, at + name, dim, inner));
        }
        if (!(heads == 1 && head_dim == dim)) {
            p.out = load_mmsa_linear<T>(sd, "almt", at + "to_out.0", inner, dim);
        }
        return p;
    }

    /// residual += to_out(Σ_s Attention_s), where Attention_s attends from to_q(q_in) over
    /// keys[s](key_in[s]) with values values[s](value_in[s]). q_in has batch·query_time rows,
    /// key_in[s] and value_in[s] batch·key_time[s] rows, all of width dim; residual has
    /// batch·query_time rows of dim.
    void add_to(const T* q_in, std::size_t batch, std::size_t query_time,
                const std::vector<const T*>& key_in, const std::vector<const T*>& value_in,
                const std::vector<std::size_t>& key_time, T* residual) const {
        const std::size_t inner = heads * head_dim;
        const std::size_t rows = batch * query_time;
        std::vector<T> q(rows * inner), context(rows * inner, T(0)), part(rows * inner);
        const T scale = T(1) / std::sqrt(static_cast<T>(head_dim));
        for (std::size_t s = 0; s < key_in.size(); ++s) {
            const std::size_t source_rows = batch * key_time[s];
            std::vector<T> k(source_rows * inner), v(source_rows * inner);
            query.apply(q_in, rows, q.data());
            keys[s].apply(key_in[s], source_rows, k.data());
            values[s].apply(value_in[s], source_rows, v.data());
            attention::attend_projected_heads(q.data(), inner, k.data(), inner, v.data(), inner,
                                              batch, query_time, key_time[s], heads, head_dim,
                                              scale, part.data(), inner);
            for (std::size_t i = 0; i < context.size(); ++i) {
                context[i] += part[i];
            }
        }
        const std::size_t dim = out.empty() ? inner : out.out_features();
        if (out.empty()) {
            for (std::size_t i = 0; i < rows * dim; ++i) {
                residual[i] += context[i];
            }
        } else {
            out.apply(context.data(), inner, rows, residual, dim, kernels::epilogue::none,
                      /*accumulate=*/true);
        }
    }
};

/// One layer of ALMT's TransformerEncoder / CrossTransformerEncoder:
///   y = x + Attention(LN_q(x), LN_k(s), LN_v(s)),  y ← y + W₂·GELU(W₁·LN(y) + b₁) + b₂
/// with s = x for self-attention.
template <class T>
struct almt_layer {
    layers::layer_norm<T> norm_q, norm_k, norm_v, ffn_norm;
    almt_projections<T> attention;
    layers::dense<T> fc1, fc2;

    template <class StateDict>
    static almt_layer load(const StateDict& sd, const std::string& at, std::size_t dim,
                           std::size_t heads, std::size_t head_dim, std::size_t mlp) {
        almt_layer layer;
        layer.norm_q = layers::load_layer_norm<T>(sd, at + "0.norm_q.");
        layer.norm_k = layers::load_layer_norm<T>(sd, at + "0.norm_k.");
        layer.norm_v = layers::load_layer_norm<T>(sd, at + "0.norm_v.");
        layer.attention =
            almt_projections<T>::load(sd, at + "0.fn.", dim, heads, head_dim, {"to_k"}, {"to_v"});
        layer.ffn_norm = layers::load_layer_norm<T>(sd, at + "1.norm.");
        layer.fc1 = load_mmsa_linear<T>(sd, "almt", at + "1.fn.net.0", dim, mlp);
        layer.fc2 = load_mmsa_linear<T>(sd, "almt", at + "1.fn.net.3", mlp, dim);
        for (const auto* norm : {&layer.norm_q, &layer.norm_k, &layer.norm_v, &layer.ffn_norm}) {
            check_size("models::almt", at + " LayerNorm size (dim)", dim, norm->size());
        }
        return layer;
    }

    /// The layer's output for the first `keep` steps of each sample of x (batch, steps, dim)
    /// — later steps are not needed when the caller keeps only these — attending over
    /// source (batch, source_steps, dim), or over x itself when source is null.
    xt::xtensor<T, 3> operator()(const xt::xtensor<T, 3>& x, const xt::xtensor<T, 3>* source,
                                 std::size_t keep) const {
        const std::size_t batch = x.shape(0), steps = x.shape(1), dim = x.shape(2);
        const xt::xtensor<T, 3>& keys = source ? *source : x;
        const std::size_t key_steps = keys.shape(1);
        xt::xtensor<T, 3> y = xt::xtensor<T, 3>::from_shape({batch, keep, dim});
        for (std::size_t b = 0; b < batch; ++b) {
            std::copy_n(x.data() + b * steps * dim, keep * dim, y.data() + b * keep * dim);
        }
        const std::size_t rows = batch * keep, key_rows = batch * key_steps;
        std::vector<T> q_in(rows * dim), k_in(key_rows * dim), v_in(key_rows * dim);
        norm_q.apply(y.data(), dim, rows, q_in.data(), dim);
        norm_k.apply(keys.data(), dim, key_rows, k_in.data(), dim);
        norm_v.apply(keys.data(), dim, key_rows, v_in.data(), dim);
        attention.add_to(q_in.data(), batch, keep, {k_in.data()}, {v_in.data()}, {key_steps},
                         y.data());
        std::vector<T> normed(rows * dim), hidden(rows * fc1.out_features());
        ffn_norm.apply(y.data(), dim, rows, normed.data(), dim);
        fc1.apply(normed.data(), dim, rows, hidden.data(), fc1.out_features(),
                  layers::activation::gelu);
        fc2.apply(hidden.data(), fc1.out_features(), rows, y.data(), dim, kernels::epilogue::none,
                  /*accumulate=*/true);
        return y;
    }
};

} // namespace detail

/// MMSA's ALMT, eval mode (every sequence over all its padded frames: ALMT has no masks):
///   x_m ∈ {BERT(text_bert), audio, vision};  e_m = Linear_m(x_m)
///   h_m = Transformer_m([E_m, e_m] + P_m[:8+n])[:, :8]   (E_m: 8 learnt tokens, 1 layer)
///   [h_t⁰ … h_t^{D−1}] = the inputs and outputs of l_encoder's D−1 layers on h_l + P[:8]
///   H ← LN₄(H) + to_out(Attn(LN₁(h_tⁱ), LN₂(h_a)) + Attn(LN₁(h_tⁱ), LN₃(h_v)))  for i < D
///       (H starts as the learnt h_hyper; the residual is the NORMALISED H: ALMT adds the
///       shift in place to norm4's output)
///   f = CrossTransformer(source [c, H] + P_s, target [c, h_t^{D−1}] + P_t)[:, 0],  M = W·f
/// with D = AHL_depth. The layers are pre-LN (separate LayerNorms for q, k and v), GELU FFNs,
/// attention heads of width 64 (ALMT's default dim_head; the hyper layer's dim / heads).
/// regression_head is nn.Linear(128, 1) whatever train_mode says, so dst_feature_dims must be
/// 128 and M has one column; ALMT's h[:, :8] requires dst_embedding_length 8.
template <class T>
class almt {
public:
    almt() = default;

    /// Loads `<prefix>bertmodel.model.*` and ALMT's tensors. Configuration keys:
    /// feature_dims, feature_length, dst_feature_dims, dst_feature_hidden_dims,
    /// dst_embedding_length, embedding_depth, embedding_heads, l_encoder_heads, AHL_depth,
    /// h_hyper_layer_heads, fusion_hidden_d, fusion_heads, fusion_layer_depth, transformers,
    /// bert_num_attention_heads (optional). Missing, mis-shaped or unknown tensors: errors
    /// naming them.
    template <class StateDict>
    static almt load(const mmsa_config& config, const StateDict& sd,
                     std::string_view prefix = "Model.") {
        const std::string at(prefix);
        tracking_state_dict<StateDict> tracked(sd);
        almt model;
        model.bert_ =
            detail::load_mmsa_bert<T>("almt", config, sd, tracked, at + "bertmodel.model.");
        const std::size_t d = config.size("dst_feature_dims");
        if (d != head_input) {
            throw value_error("models::almt: dst_feature_dims is " + std::to_string(d) +
                              "; ALMT's regression_head is nn.Linear(128, 1), so only 128 runs" +
                              config.context());
        }
        if (config.size("dst_embedding_length") != kept_tokens) {
            throw value_error("models::almt: dst_embedding_length is " +
                              std::to_string(config.size("dst_embedding_length")) +
                              "; ALMT keeps h[:, :8] of each embedding, so only 8 runs" +
                              config.context());
        }
        const auto dims = config.feature_dims();
        model.widths_ = {model.bert_.hidden_size(), dims[1], dims[2]};
        const auto lengths = config.sizes("feature_length", 3);
        const auto depths = config.sizes("embedding_depth", 3);
        const auto heads = config.sizes("embedding_heads", 3);
        const std::size_t mlp = config.size("dst_feature_hidden_dims");
        const std::array<const char*, 3> letters{"l", "a", "v"};
        for (std::size_t m = 0; m < 3; ++m) {
            const std::string base = at + "embedding_" + letters[m] + ".";
            model.max_steps_[m] = lengths[m];
            model.embed_[m] =
                detail::load_mmsa_linear<T>(tracked, "almt", base + "0", model.widths_[m], d);
            model.positions_[m] = tracked.template tensor<T, 3>(base + "1.pos_embedding",
                                                                {1, lengths[m] + kept_tokens, d});
            model.tokens_[m] =
                tracked.template tensor<T, 3>(base + "1.extra_token", {1, kept_tokens, d});
            model.embedding_layers_[m] = load_stack(tracked, base + "1.encoder.layers.", depths[m],
                                                    d, heads[m], default_head_dim, mlp, config);
        }
        const std::size_t depth = config.size("AHL_depth");
        if (depth == 0) {
            throw value_error("models::almt: AHL_depth: expected at least 1, got 0" +
                              config.context());
        }
        model.l_positions_ =
            tracked.template tensor<T, 3>(at + "l_encoder.pos_embedding", {1, kept_tokens, d});
        model.l_encoder_ = load_stack(tracked, at + "l_encoder.encoder.layers.", depth - 1, d,
                                      config.size("l_encoder_heads"), default_head_dim, d, config);
        model.h_hyper_ = tracked.template tensor<T, 3>(at + "h_hyper", {1, kept_tokens, d});
        const std::size_t hyper_heads = config.size("h_hyper_layer_heads");
        if (hyper_heads == 0 || d % hyper_heads != 0) {
            throw value_error("models::almt: h_hyper_layer_heads (" + std::to_string(hyper_heads) +
                              ") must divide dst_feature_dims (" + std::to_string(d) + ")" +
                              config.context());
        }
        for (std::size_t i = 0; i < depth; ++i) {
            const std::string base = at + "h_hyper_layer.layers." + std::to_string(i) + ".0.";
            hyper_layer layer;
            for (std::size_t n = 0; n < 4; ++n) {
                layer.norms[n] = layers::load_layer_norm<T>(
                    tracked, base + "norm" + std::to_string(n + 1) + ".");
                check_size("models::almt", base + "norm LayerNorm size", d, layer.norms[n].size());
            }
            layer.attention = detail::almt_projections<T>::load(
                tracked, base + "fn.", d, hyper_heads, d / hyper_heads, {"to_k_ta", "to_k_tv"},
                {"to_v_ta", "to_v_tv"});
            model.hyper_.push_back(std::move(layer));
        }
        const std::string fusion = at + "fusion_layer.";
        model.fusion_source_positions_ =
            tracked.template tensor<T, 3>(fusion + "pos_embedding_s", {1, kept_tokens + 1, d});
        model.fusion_target_positions_ =
            tracked.template tensor<T, 3>(fusion + "pos_embedding_t", {1, kept_tokens + 1, d});
        model.fusion_token_ = tracked.template tensor<T, 3>(fusion + "extra_token", {1, 1, d});
        model.fusion_ =
            load_stack(tracked, fusion + "CrossTransformerEncoder.layers.",
                       config.size("fusion_layer_depth"), d, config.size("fusion_heads"),
                       default_head_dim, config.size("fusion_hidden_d"), config);
        model.head_ =
            detail::load_mmsa_linear<T>(tracked, "almt", at + "regression_head", head_input, 1);
        tracked.require_all_read(prefix, "almt");
        return model;
    }

    /// MMSA's forward on PREPARED inputs: {"M"} (batch, 1). shape_error naming the modality
    /// for a text that is not (batch, 3, T), audio or vision whose batch or width differs, or a
    /// sequence longer than its feature_length (ALMT's positional tables); value_error for bad
    /// token rows.
    [[nodiscard]] mmsa_outputs<T> forward(const mmsa_batch<T>& inputs) const {
        const language::bert_tokens tokens = detail::mmsa_bert_tokens("almt", inputs.text);
        const std::size_t batch = tokens.batch();
        check_modality(0, tokens.seq(), batch, widths_[0], batch);
        check_modality(1, inputs.audio.shape(1), inputs.audio.shape(0), inputs.audio.shape(2),
                       batch);
        check_modality(2, inputs.vision.shape(1), inputs.vision.shape(0), inputs.vision.shape(2),
                       batch);
        const xt::xtensor<T, 3> text = bert_.forward(tokens);
        const std::array<const xt::xtensor<T, 3>*, 3> raw{&text, &inputs.audio, &inputs.vision};
        std::array<xt::xtensor<T, 3>, 3> h;
        for (std::size_t m = 0; m < 3; ++m) {
            h[m] = embed(m, *raw[m]);
        }
        // l_encoder: h_l + P, then its layers, keeping every layer's input.
        std::vector<xt::xtensor<T, 3>> text_states{add_positions(h[0], l_positions_, 0)};
        for (const auto& layer : l_encoder_) {
            text_states.push_back(layer(text_states.back(), nullptr, kept_tokens));
        }
        xt::xtensor<T, 3> hyper = xt::xtensor<T, 3>::from_shape({batch, kept_tokens, d()});
        for (std::size_t b = 0; b < batch; ++b) {
            std::copy(h_hyper_.begin(), h_hyper_.end(), hyper.data() + b * h_hyper_.size());
        }
        for (std::size_t i = 0; i < hyper_.size(); ++i) {
            hyper = hyper_[i](text_states[i], h[1], h[2], hyper);
        }
        // CrossTransformer: [c, H] + P_s as keys, [c, h_t] + P_t as queries; f = row 0.
        const xt::xtensor<T, 3> source =
            add_positions(prepend(fusion_token_, hyper), fusion_source_positions_, 0);
        xt::xtensor<T, 3> target =
            add_positions(prepend(fusion_token_, text_states.back()), fusion_target_positions_, 0);
        for (std::size_t i = 0; i < fusion_.size(); ++i) {
            target = fusion_[i](target, &source, i + 1 == fusion_.size() ? 1 : target.shape(1));
        }
        xt::xtensor<T, 2> prediction = xt::xtensor<T, 2>::from_shape({batch, 1});
        head_.apply(target.data(), target.shape(1) * d(), batch, prediction.data(), 1);
        mmsa_outputs<T> outputs;
        outputs.emplace("M", std::move(prediction));
        return outputs;
    }

    [[nodiscard]] std::size_t output_dim() const { return 1; }

private:
    static constexpr std::size_t head_input = 128;      ///< nn.Linear(128, 1)
    static constexpr std::size_t kept_tokens = 8;       ///< h[:, :8]
    static constexpr std::size_t default_head_dim = 64; ///< Transformer's dim_head default

    /// PreNormAHL + HhyperLearningLayer.
    struct hyper_layer {
        std::array<layers::layer_norm<T>, 4> norms; ///< norm1 (text) … norm4 (H)
        detail::almt_projections<T> attention;

        xt::xtensor<T, 3> operator()(const xt::xtensor<T, 3>& text, const xt::xtensor<T, 3>& audio,
                                     const xt::xtensor<T, 3>& vision,
                                     const xt::xtensor<T, 3>& hyper) const {
            const std::size_t batch = hyper.shape(0), dim = hyper.shape(2);
            std::array<xt::xtensor<T, 3>, 4> normed;
            const std::array<const xt::xtensor<T, 3>*, 4> in{&text, &audio, &vision, &hyper};
            for (std::size_t n = 0; n < 4; ++n) {
                normed[n] = xt::xtensor<T, 3>::from_shape(in[n]->shape());
                norms[n].apply(in[n]->data(), dim, in[n]->shape(0) * in[n]->shape(1),
                               normed[n].data(), dim);
            }
            // The shift goes to norm4's output (ALMT's in-place `h_hyper += shift`); MMSA
            // applies it for every query row of the text, which has H's length (8).
            attention.add_to(normed[0].data(), batch, text.shape(1),
                             {normed[1].data(), normed[2].data()},
                             {normed[1].data(), normed[2].data()},
                             {audio.shape(1), vision.shape(1)}, normed[3].data());
            return std::move(normed[3]);
        }
    };

    template <class StateDict>
    static std::vector<detail::almt_layer<T>>
    load_stack(const StateDict& sd, const std::string& at, std::size_t depth, std::size_t dim,
               std::size_t heads, std::size_t head_dim, std::size_t mlp,
               const mmsa_config& config) {
        if (heads == 0) {
            throw value_error("models::almt: '" + at + "': a head count of 0" + config.context());
        }
        std::vector<detail::almt_layer<T>> stack;
        for (std::size_t i = 0; i < depth; ++i) {
            stack.push_back(detail::almt_layer<T>::load(sd, at + std::to_string(i) + ".", dim,
                                                        heads, head_dim, mlp));
        }
        return stack;
    }

    [[nodiscard]] std::size_t d() const { return h_hyper_.shape(2); }

    void check_modality(std::size_t m, std::size_t steps, std::size_t rows, std::size_t width,
                        std::size_t batch) const {
        constexpr std::array<const char*, 3> names{"text", "audio", "vision"};
        if (rows != batch || width != widths_[m] || steps == 0 || steps > max_steps_[m]) {
            throw shape_error(std::string("models::almt: ") + names[m] + ": expected (" +
                              std::to_string(batch) + ", 1.." + std::to_string(max_steps_[m]) +
                              " steps (feature_length), " + std::to_string(widths_[m]) +
                              " features), got (" + std::to_string(rows) + ", " +
                              std::to_string(steps) + ", " + std::to_string(width) + ")");
        }
    }

    /// [E (1, n, d) repeated over the batch, x (batch, steps, d)] along the steps.
    static xt::xtensor<T, 3> prepend(const xt::xtensor<T, 3>& tokens, const xt::xtensor<T, 3>& x) {
        const std::size_t batch = x.shape(0), steps = x.shape(1), dim = x.shape(2);
        const std::size_t n = tokens.shape(1);
        xt::xtensor<T, 3> joined = xt::xtensor<T, 3>::from_shape({batch, n + steps, dim});
        for (std::size_t b = 0; b < batch; ++b) {
            T* row = joined.data() + b * (n + steps) * dim;
            std::copy(tokens.begin(), tokens.end(), row);
            std::copy_n(x.data() + b * steps * dim, steps * dim, row + n * dim);
        }
        return joined;
    }

    /// x + P[:, offset : offset + steps] (P (1, ≥ steps, d)).
    static xt::xtensor<T, 3> add_positions(xt::xtensor<T, 3> x, const xt::xtensor<T, 3>& table,
                                           std::size_t offset) {
        const std::size_t steps = x.shape(1), dim = x.shape(2);
        for (std::size_t b = 0; b < x.shape(0); ++b) {
            T* row = x.data() + b * steps * dim;
            const T* position = table.data() + offset * dim;
            for (std::size_t i = 0; i < steps * dim; ++i) {
                row[i] += position[i];
            }
        }
        return x;
    }

    /// embedding_m: Linear, then Transformer with the learnt tokens first; its first 8 steps.
    xt::xtensor<T, 3> embed(std::size_t m, const xt::xtensor<T, 3>& x) const {
        const std::size_t batch = x.shape(0), steps = x.shape(1), dim = d();
        xt::xtensor<T, 3> projected = xt::xtensor<T, 3>::from_shape({batch, steps, dim});
        embed_[m].apply(x.data(), batch * steps, projected.data());
        xt::xtensor<T, 3> h = add_positions(prepend(tokens_[m], projected), positions_[m], 0);
        const auto& stack = embedding_layers_[m];
        for (std::size_t i = 0; i < stack.size(); ++i) {
            h = stack[i](h, nullptr, i + 1 == stack.size() ? kept_tokens : h.shape(1));
        }
        if (stack.empty()) {
            xt::xtensor<T, 3> first = xt::xtensor<T, 3>::from_shape({batch, kept_tokens, dim});
            for (std::size_t b = 0; b < batch; ++b) {
                std::copy_n(h.data() + b * h.shape(1) * dim, kept_tokens * dim,
                            first.data() + b * kept_tokens * dim);
            }
            return first;
        }
        return h;
    }

    language::bert_model<T> bert_;
    std::array<std::size_t, 3> widths_{}, max_steps_{};
    std::array<layers::dense<T>, 3> embed_;
    std::array<xt::xtensor<T, 3>, 3> positions_, tokens_;
    std::array<std::vector<detail::almt_layer<T>>, 3> embedding_layers_;
    xt::xtensor<T, 3> l_positions_;
    std::vector<detail::almt_layer<T>> l_encoder_;
    xt::xtensor<T, 3> h_hyper_;
    std::vector<hyper_layer> hyper_;
    xt::xtensor<T, 3> fusion_source_positions_, fusion_target_positions_, fusion_token_;
    std::vector<detail::almt_layer<T>> fusion_;
    layers::dense<T> head_;
};

} // namespace emofuse::models
