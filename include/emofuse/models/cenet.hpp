// emofuse/models/cenet.hpp — MMSA's CENET (src/MMSA/models/singleTask/CENET.py, built by
// models/AMIO.py): a BERT whose hidden states a cross-modal enhancement module shifts by audio
// and vision before its second layer, built from MMSA's configuration and loaded from its AMIO
// checkpoint.
#pragma once

#include <emofuse/attention/scaled_dot_product.hpp>
#include <emofuse/config.hpp>
#include <emofuse/core/error.hpp>
#include <emofuse/layers/dense.hpp>
#include <emofuse/models/detail/mmsa_bert_models.hpp>
#include <emofuse/models/detail/recurrent_common.hpp>
#include <emofuse/models/mmsa_config.hpp>
#include <emofuse/models/mmsa_inputs.hpp>
#include <emofuse/models/mmsa_model.hpp>
#include <emofuse/text/bert.hpp>

#include <array>
#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace emofuse::models {

/// MMSA's CENET, eval mode: BERT's embeddings, then its layers, with CE applied to the hidden
/// states x (batch, T, H) before layer 1 (CENET's injection_index; a one-layer BERT never
/// applies it):
///   v' = W₂·ReLU(W₁·v) (visual_transform), a' likewise (acoustic_transform)
///   c_m = softmax(8 · (W_q·x)(W_k·m')ᵀ)·(W_v·m') over all of m's frames (hv, ha: one head, no
///         mask, the scores multiplied by 8), x ← x + cat_connect([c_v, c_a])
/// then the classification head on the first token: out_proj(tanh(dense(h[:, 0]))) → "M".
/// MMSA's CENET masks padded text keys with −10000 where transformers uses finfo.min: both
/// give those keys weight exactly 0 (and an all-padding row the uniform average), so BERT's
/// layers serve unchanged. AMIO builds CENET with num_labels=1 whatever train_mode says, so M
/// has one column in classification too. The pooler, and the senti/pos-tag/polarity
/// embeddings CENET creates but never receives ids for, are loaded (their shapes checked) and
/// unused, as in MMSA.
template <class T>
class cenet {
public:
    cenet() = default;

    /// Loads `<prefix>bert.*` (BERT, its three unused embedding tables, encoder.CE.*) and
    /// `<prefix>classifier.*`. Configuration keys: feature_dims (audio, vision widths),
    /// bert_num_attention_heads (optional). Missing, mis-shaped or unknown tensors: errors
    /// naming them.
    template <class StateDict>
    static cenet load(const mmsa_config& config, const StateDict& sd,
                      std::string_view prefix = "Model.") {
        const std::string at(prefix);
        const std::string bert_at = at + "bert.";
        const std::string ce = bert_at + "encoder.CE.";
        tracking_state_dict<StateDict> tracked(sd);
        cenet model;
        model.bert_ = detail::load_mmsa_bert<T>("cenet", config, sd, tracked, bert_at, true);
        const std::size_t d = model.bert_.hidden_size();
        // BertEmbeddings(pos_tag_embedding=True, senti_embedding=True, polarity_embedding=True)
        for (const auto& [table, rows] :
             {std::pair{"senti_embeddings", 3}, std::pair{"pos_tag_embeddings", 5},
              std::pair{"polarity_embeddings", 6}}) {
            (void)tracked.template tensor<T, 2>(bert_at + "embeddings." + table + ".weight",
                                                {static_cast<std::size_t>(rows), d});
        }
        const auto dims = config.feature_dims();
        model.audio_dim_ = dims[1];
        model.vision_dim_ = dims[2];
        model.visual_in_ =
            detail::load_mmsa_linear<T>(tracked, "cenet", ce + "visual_transform.0", dims[2], d);
        model.visual_out_ =
            detail::load_mmsa_linear<T>(tracked, "cenet", ce + "visual_transform.2", d, d);
        model.acoustic_in_ =
            detail::load_mmsa_linear<T>(tracked, "cenet", ce + "acoustic_transform.0", dims[1], d);
        model.acoustic_out_ =
            detail::load_mmsa_linear<T>(tracked, "cenet", ce + "acoustic_transform.2", d, d);
        for (std::size_t m = 0; m < 2; ++m) {
            const std::string attention = ce + (m == 0 ? "hv." : "ha.");
            model.query_[m] = detail::load_mmsa_linear<T>(tracked, "cenet", attention + "Wq", d, d);
            model.key_[m] = detail::load_mmsa_linear<T>(tracked, "cenet", attention + "Wk", d, d);
            model.value_[m] = detail::load_mmsa_linear<T>(tracked, "cenet", attention + "Wv", d, d);
        }
        model.cat_connect_ =
            detail::load_mmsa_linear<T>(tracked, "cenet", ce + "cat_connect", 2 * d, d);
        model.head_dense_ =
            detail::load_mmsa_linear<T>(tracked, "cenet", at + "classifier.dense", d, d);
        model.head_out_ =
            detail::load_mmsa_linear<T>(tracked, "cenet", at + "classifier.out_proj", d, 1);
        tracked.require_all_read(prefix, "cenet");
        return model;
    }

    /// MMSA's forward on PREPARED inputs: {"M"} (batch, 1). shape_error naming the modality
    /// for a text that is not (batch, 3, T), or audio/vision whose batch or width differs
    /// (their lengths are free: CE attends over every frame); value_error for bad token rows.
    [[nodiscard]] mmsa_outputs<T> forward(const mmsa_batch<T>& inputs) const {
        const language::bert_tokens tokens = detail::mmsa_bert_tokens("cenet", inputs.text);
        const std::size_t batch = tokens.batch();
        detail::check_input_beside_text("cenet", "audio", inputs.audio, batch, 0, audio_dim_);
        detail::check_input_beside_text("cenet", "vision", inputs.vision, batch, 0, vision_dim_);
        xt::xtensor<T, 3> hidden = bert_.embed(tokens);
        for (std::size_t layer = 0; layer < bert_.num_layers(); ++layer) {
            if (layer == injection_layer) {
                enhance(hidden, inputs.audio, inputs.vision);
            }
            bert_.apply_layer(layer, hidden, tokens);
        }
        const std::size_t d = hidden.shape(2);
        std::vector<T> pooled(batch * d);
        head_dense_.apply(hidden.data(), hidden.shape(1) * d, batch, pooled.data(), d);
        for (auto& value : pooled) {
            value = std::tanh(value);
        }
        xt::xtensor<T, 2> logits = xt::xtensor<T, 2>::from_shape({batch, 1});
        head_out_.apply(pooled.data(), batch, logits.data());
        mmsa_outputs<T> outputs;
        outputs.emplace("M", std::move(logits));
        return outputs;
    }

    [[nodiscard]] std::size_t output_dim() const { return 1; }
    [[nodiscard]] const language::bert_model<T>& bert() const { return bert_; }

private:
    /// BertEncoder.injection_index in MMSA's CENET.
    static constexpr std::size_t injection_layer = 1;
    /// SelfAttention multiplies its raw scores by 8 (no 1/√d).
    static constexpr T score_scale = T(8);

    /// CE on the hidden states, in place.
    void enhance(xt::xtensor<T, 3>& hidden, const xt::xtensor<T, 3>& audio,
                 const xt::xtensor<T, 3>& vision) const {
        const std::size_t batch = hidden.shape(0), steps = hidden.shape(1), d = hidden.shape(2);
        const std::size_t rows = batch * steps;
        std::vector<T> contexts(rows * 2 * d), query(rows * d);
        const std::array<const xt::xtensor<T, 3>*, 2> sources{&vision, &audio};
        const std::array<const layers::dense<T>*, 2> inner{&visual_in_, &acoustic_in_};
        const std::array<const layers::dense<T>*, 2> outer{&visual_out_, &acoustic_out_};
        for (std::size_t m = 0; m < 2; ++m) {
            const std::size_t frames = sources[m]->shape(1);
            const std::size_t source_rows = batch * frames;
            std::vector<T> transformed(source_rows * d), inner_units(source_rows * d);
            std::vector<T> keys(source_rows * d), values(source_rows * d);
            inner[m]->apply(sources[m]->data(), source_rows, inner_units.data(),
                            kernels::epilogue::relu);
            outer[m]->apply(inner_units.data(), source_rows, transformed.data());
            query_[m].apply(hidden.data(), rows, query.data());
            key_[m].apply(transformed.data(), source_rows, keys.data());
            value_[m].apply(transformed.data(), source_rows, values.data());
            attention::attend_projected_heads(query.data(), d, keys.data(), d, values.data(), d,
                                              batch, steps, frames, 1, d, score_scale,
                                              contexts.data() + m * d, 2 * d);
        }
        cat_connect_.apply(contexts.data(), 2 * d, rows, hidden.data(), d, kernels::epilogue::none,
                           /*accumulate=*/true);
    }

    language::bert_model<T> bert_;
    layers::dense<T> visual_in_, visual_out_, acoustic_in_, acoustic_out_;
    std::array<layers::dense<T>, 2> query_, key_, value_; ///< [0] hv (vision), [1] ha (audio)
    layers::dense<T> cat_connect_, head_dense_, head_out_;
    std::size_t audio_dim_ = 0, vision_dim_ = 0;
};

} // namespace emofuse::models
