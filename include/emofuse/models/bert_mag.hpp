// emofuse/models/bert_mag.hpp — MMSA's BERT_MAG (src/MMSA/models/singleTask/BERT_MAG.py):
// BERT whose embeddings a Multimodal Adaptation Gate shifts by audio and vision before the
// encoder layers, built from MMSA's configuration and loaded from its AMIO checkpoint.
#pragma once

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
#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace emofuse::models {

/// MMSA's BERT_MAG, eval mode. With e = BertEmbeddings(text_bert) (batch, T, H) and the
/// aligned audio a and vision v (batch, T, ·):
///   g_v = ReLU(W_hv·[v, e]),  g_a = ReLU(W_ha·[a, e]),  h = g_v ⊙ W_v·v + g_a ⊙ W_a·a
///   α = min(β · ‖e‖ / (‖h‖ + 1e-6), 1)   (‖h‖ = 0 counts as 1),  e' = LN(α·h + e)  (eps 1e-5)
/// then BERT's encoder layers on e' with the text mask, the pooler, and classifier → "M".
/// MAG_BertForSequenceClassification is built with num_labels=1 whatever train_mode says, so
/// M has one column in classification too.
template <class T>
class bert_mag {
public:
    bert_mag() = default;

    /// Loads `<prefix>model.bert.*` (the BERT and its MAG) and `<prefix>model.classifier.*`.
    /// Configuration keys: feature_dims (audio, vision widths), beta_shift,
    /// bert_num_attention_heads (optional). Missing, mis-shaped or unknown tensors: errors
    /// naming them.
    template <class StateDict>
    static bert_mag load(const mmsa_config& config, const StateDict& sd,
                         std::string_view prefix = "Model.") {
        const std::string at(prefix);
        const std::string bert_at = at + "model.bert.";
        const std::string mag = bert_at + "MAG.";
        tracking_state_dict<StateDict> tracked(sd);
        bert_mag model;
        model.bert_ = detail::load_mmsa_bert<T>("bert_mag", config, sd, tracked, bert_at, true);
        if (!model.bert_.has_pooler()) {
            throw io_error("models::bert_mag: the checkpoint lacks '" + bert_at +
                           "pooler.dense.weight' (MAG_BertModel's pooler)" + config.context());
        }
        const std::size_t d = model.bert_.hidden_size();
        const auto dims = config.feature_dims();
        model.audio_dim_ = dims[1];
        model.vision_dim_ = dims[2];
        model.w_hv_ = detail::load_mmsa_linear<T>(tracked, "bert_mag", mag + "W_hv",
                                                  model.vision_dim_ + d, d);
        model.w_ha_ =
            detail::load_mmsa_linear<T>(tracked, "bert_mag", mag + "W_ha", model.audio_dim_ + d, d);
        model.w_v_ =
            detail::load_mmsa_linear<T>(tracked, "bert_mag", mag + "W_v", model.vision_dim_, d);
        model.w_a_ =
            detail::load_mmsa_linear<T>(tracked, "bert_mag", mag + "W_a", model.audio_dim_, d);
        // MAG's nn.LayerNorm(config.hidden_size) keeps torch's default eps.
        model.norm_ = layers::load_layer_norm<T>(tracked, mag + "LayerNorm.", T(1e-5));
        check_size("models::bert_mag", "MAG.LayerNorm size (hidden_size)", d, model.norm_.size());
        model.classifier_ =
            detail::load_mmsa_linear<T>(tracked, "bert_mag", at + "model.classifier", d, 1);
        model.beta_shift_ = static_cast<T>(config.real("beta_shift"));
        tracked.require_all_read(prefix, "bert_mag");
        return model;
    }

    /// MMSA's forward on PREPARED inputs: {"M"} (batch, 1). shape_error naming the modality
    /// for a text that is not (batch, 3, T), audio or vision whose batch, step count (they are
    /// aligned to the text) or width differs; value_error for bad token rows.
    [[nodiscard]] mmsa_outputs<T> forward(const mmsa_batch<T>& inputs) const {
        const language::bert_tokens tokens = detail::mmsa_bert_tokens("bert_mag", inputs.text);
        const std::size_t batch = tokens.batch(), steps = tokens.seq();
        detail::check_input_beside_text("bert_mag", "audio", inputs.audio, batch, steps,
                                        audio_dim_);
        detail::check_input_beside_text("bert_mag", "vision", inputs.vision, batch, steps,
                                        vision_dim_);
        xt::xtensor<T, 3> hidden = bert_.embed(tokens);
        gate(hidden, inputs.audio, inputs.vision);
        for (std::size_t layer = 0; layer < bert_.num_layers(); ++layer) {
            bert_.apply_layer(layer, hidden, tokens);
        }
        const xt::xtensor<T, 2> pooled = bert_.pool(hidden);
        xt::xtensor<T, 2> logits = xt::xtensor<T, 2>::from_shape({batch, 1});
        classifier_.apply(pooled.data(), batch, logits.data());
        mmsa_outputs<T> outputs;
        outputs.emplace("M", std::move(logits));
        return outputs;
    }

    [[nodiscard]] std::size_t output_dim() const { return 1; }
    [[nodiscard]] const language::bert_model<T>& bert() const { return bert_; }

private:
    /// MAG on the embeddings, in place (every row of batch·T independently).
    void gate(xt::xtensor<T, 3>& embedding, const xt::xtensor<T, 3>& audio,
              const xt::xtensor<T, 3>& vision) const {
        const std::size_t d = embedding.shape(2);
        const std::size_t rows = embedding.shape(0) * embedding.shape(1);
        std::vector<T> joined_v(rows * (vision_dim_ + d)), joined_a(rows * (audio_dim_ + d));
        for (std::size_t r = 0; r < rows; ++r) {
            const T* e = embedding.data() + r * d;
            T* jv = joined_v.data() + r * (vision_dim_ + d);
            T* ja = joined_a.data() + r * (audio_dim_ + d);
            std::copy_n(vision.data() + r * vision_dim_, vision_dim_, jv);
            std::copy_n(e, d, jv + vision_dim_);
            std::copy_n(audio.data() + r * audio_dim_, audio_dim_, ja);
            std::copy_n(e, d, ja + audio_dim_);
        }
        std::vector<T> gate_v(rows * d), gate_a(rows * d), shift_v(rows * d), shift_a(rows * d);
        w_hv_.apply(joined_v.data(), rows, gate_v.data(), kernels::epilogue::relu);
        w_ha_.apply(joined_a.data(), rows, gate_a.data(), kernels::epilogue::relu);
        w_v_.apply(vision.data(), rows, shift_v.data());
        w_a_.apply(audio.data(), rows, shift_a.data());
        for (std::size_t r = 0; r < rows; ++r) {
            T* e = embedding.data() + r * d;
            T* h = shift_v.data() + r * d;
            T e_norm2 = 0, h_norm2 = 0;
            for (std::size_t c = 0; c < d; ++c) {
                h[c] = gate_v[r * d + c] * h[c] + gate_a[r * d + c] * shift_a[r * d + c];
                e_norm2 += e[c] * e[c];
                h_norm2 += h[c] * h[c];
            }
            // MAG replaces a zero ‖h‖ by 1 (then α·h = 0 either way, without a 0/0 in training).
            const T h_norm = h_norm2 == T(0) ? T(1) : std::sqrt(h_norm2);
            const T alpha = std::min(std::sqrt(e_norm2) / (h_norm + T(1e-6)) * beta_shift_, T(1));
            for (std::size_t c = 0; c < d; ++c) {
                h[c] = alpha * h[c] + e[c];
            }
        }
        norm_.apply(shift_v.data(), d, rows, embedding.data(), d);
    }

    language::bert_model<T> bert_;
    layers::dense<T> w_hv_, w_ha_, w_v_, w_a_, classifier_;
    layers::layer_norm<T> norm_;
    T beta_shift_ = T(1);
    std::size_t audio_dim_ = 0, vision_dim_ = 0;
};

} // namespace emofuse::models
