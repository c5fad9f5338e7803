// emofuse/models/detail/mmsa_bert.hpp — what MMSA's BERT-era models share: MMSA's
// BertTextEncoder (src/MMSA/models/subNets/BertTextEncoder.py) around language::bert_model, the
// per-sample lengths their packed LSTMs take, and row-wise dense layers and concatenation.
#pragma once

#include <emofuse/config.hpp>
#include <emofuse/core/error.hpp>
#include <emofuse/layers/dense.hpp>
#include <emofuse/models/detail/mmsa_bert_models.hpp>
#include <emofuse/models/mmsa_config.hpp>
#include <emofuse/models/mmsa_inputs.hpp>
#include <emofuse/text/bert.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace emofuse::models::detail {

/// MMSA's BertTextEncoder in inference: a Hugging Face BertModel (`transformers: "bert"`, the
/// default) or RobertaModel (`"roberta"`) under `<prefix>model.`, run on MMSA's text_bert rows
/// (ids, mask, segment ids), returning last_hidden_state. `use_finetune` only decides whether
/// MMSA trains BERT: the forward is the same. The pooler is in MMSA's checkpoints (BertModel
/// builds it) but BertTextEncoder never uses it.
template <class T>
class mmsa_bert_encoder {
public:
    mmsa_bert_encoder() = default;

    /// Configured as mmsa_bert_config says (sizes from the checkpoint's shapes, the flavour
    /// from `transformers`, the head count from `bert_num_attention_heads` or hidden / 64).
    /// `raw` is the checkpoint (its stored shapes are read), `tracked` the view that records the
    /// tensors read.
    template <class StateDict, class Tracked>
    static mmsa_bert_encoder load(const mmsa_config& config, const StateDict& raw,
                                  const Tracked& tracked, const std::string& prefix,
                                  std::string_view model) {
        const std::string at = prefix + "model.";
        if (!raw.contains(at + "embeddings.word_embeddings.weight")) {
            throw value_error("models::" + std::string(model) +
                              ": use_bert: the model reads text through BERT, but the checkpoint "
                              "has no '" +
                              at +
                              "embeddings.word_embeddings.weight' (MMSA's BertTextEncoder keeps "
                              "its Hugging Face model there)" +
                              config.context());
        }
        mmsa_bert_encoder encoder;
        encoder.model_ = load_mmsa_bert<T>(model, config, raw, tracked, at);
        return encoder;
    }

    [[nodiscard]] std::size_t hidden_size() const { return model_.config().hidden_size; }

    /// MMSA's text_bert (B, 3, seq_len) as token rows; shape_error naming the model otherwise
    /// (value_error for ids that are not whole numbers).
    [[nodiscard]] static language::bert_tokens tokens(const xt::xtensor<T, 3>& text_bert,
                                                      std::string_view model) {
        if (text_bert.shape(0) == 0 || text_bert.shape(1) != 3 || text_bert.shape(2) == 0) {
            throw shape_error("models::" + std::string(model) + ": text input: expected MMSA's " +
                              "text_bert (batch > 0, 3, seq_len > 0) of token ids, mask and " +
                              "segment ids, got (" + std::to_string(text_bert.shape(0)) + ", " +
                              std::to_string(text_bert.shape(1)) + ", " +
                              std::to_string(text_bert.shape(2)) + ")");
        }
        return language::bert_tokens::from_mmsa_text(text_bert);
    }

    /// last_hidden_state (B, seq_len, hidden).
    [[nodiscard]] xt::xtensor<T, 3> operator()(const language::bert_tokens& tokens) const {
        return model_.forward(tokens);
    }

private:
    language::bert_model<T> model_;
};

/// The (B, hidden) rows of position 0 of BERT's output: `[:, 0, :]`, the [CLS] token.
template <class T>
[[nodiscard]] xt::xtensor<T, 2> first_token(const xt::xtensor<T, 3>& hidden) {
    const std::size_t batch = hidden.shape(0), seq = hidden.shape(1), width = hidden.shape(2);
    xt::xtensor<T, 2> rows = xt::xtensor<T, 2>::from_shape({batch, width});
    for (std::size_t b = 0; b < batch; ++b) {
        std::copy_n(hidden.data() + b * seq * width, width, rows.data() + b * width);
    }
    return rows;
}

/// MMSA's text lengths: `torch.sum(text[:, 1, :], dim=1).int()`, the number of ones in each
/// sample's BERT mask. value_error naming the model for a sample without a real token (MMSA's
/// pack_padded_sequence refuses a length of 0).
[[nodiscard]] inline std::vector<std::size_t> mask_lengths(const language::bert_tokens& tokens,
                                                           std::string_view model) {
    std::vector<std::size_t> lengths(tokens.batch(), 0);
    for (std::size_t b = 0; b < tokens.batch(); ++b) {
        std::int64_t sum = 0;
        for (std::size_t t = 0; t < tokens.seq(); ++t) {
            sum += tokens.attention_mask(b, t);
        }
        if (sum <= 0) {
            throw value_error("models::" + std::string(model) + ": text_bert sample " +
                              std::to_string(b) + " has no real token (its mask sums to " +
                              std::to_string(sum) +
                              "); MMSA derives a sequence length from it, which must be ≥ 1");
        }
        lengths[b] = static_cast<std::size_t>(sum);
    }
    return lengths;
}

/// The lengths MMSA's trainers pass with audio or vision (`<modality>_lengths` of the batch,
/// unaligned data), checked: present, one per sample, each in [1, steps]. Errors name the model
/// and the array.
[[nodiscard]] inline const std::vector<std::size_t>&
required_lengths(const std::vector<std::size_t>& lengths, std::size_t batch, std::size_t steps,
                 std::string_view modality, std::string_view model) {
    const std::string name = std::string(modality) + "_lengths";
    if (lengths.empty()) {
        throw value_error("models::" + std::string(model) + ": the inputs have no " + name +
                          "; on unaligned data (need_data_aligned false) MMSA's trainer passes "
                          "them with " +
                          std::string(modality) + " (the feature file's '" + name + "')");
    }
    if (lengths.size() != batch) {
        throw shape_error("models::" + std::string(model) + ": " + name + " holds " +
                          std::to_string(lengths.size()) + " lengths for " + std::to_string(batch) +
                          " samples");
    }
    for (std::size_t b = 0; b < batch; ++b) {
        if (lengths[b] == 0 || lengths[b] > steps) {
            throw value_error("models::" + std::string(model) + ": " + name + "[" +
                              std::to_string(b) + "] is " + std::to_string(lengths[b]) +
                              ", outside [1, " + std::to_string(steps) + "] (" +
                              std::string(modality) + " has " + std::to_string(steps) +
                              " steps; pack_padded_sequence needs lengths ≥ 1)");
        }
    }
    return lengths;
}

/// The audio and vision lengths of MMSA's models that pack their sequences (Self-MM, MMIM):
/// on unaligned data the inputs' audio_lengths and vision_lengths; with `aligned`
/// (need_data_aligned), the BERT mask's counts for both, as those models' forward derives them
/// (MMSA's trainers pass 0 then). Checked against each modality's steps.
template <class T>
[[nodiscard]] std::pair<std::vector<std::size_t>, std::vector<std::size_t>>
sequence_lengths(const mmsa_batch<T>& inputs, const language::bert_tokens& tokens, bool aligned,
                 std::string_view model) {
    const std::size_t batch = tokens.batch();
    if (aligned) {
        const auto lengths = mask_lengths(tokens, model);
        return {required_lengths(lengths, batch, inputs.audio.shape(1), "audio", model),
                required_lengths(lengths, batch, inputs.vision.shape(1), "vision", model)};
    }
    return {
        required_lengths(inputs.audio_lengths, batch, inputs.audio.shape(1), "audio", model),
        required_lengths(inputs.vision_lengths, batch, inputs.vision.shape(1), "vision", model)};
}

/// shape_error naming the model and the modality unless `values` is (batch, steps > 0,
/// features): an audio or vision input beside text_bert.
template <class T>
void check_sequence_input(std::string_view model, const xt::xtensor<T, 3>& values,
                          std::size_t batch, std::size_t features, std::string_view name) {
    if (values.shape(0) != batch || values.shape(2) != features || values.shape(1) == 0) {
        throw shape_error("models::" + std::string(model) + ": " + std::string(name) +
                          " input: expected (" + std::to_string(batch) + ", steps > 0, " +
                          std::to_string(features) +
                          ") = (text_bert's batch, steps, feature_dims), got (" +
                          std::to_string(values.shape(0)) + ", " + std::to_string(values.shape(1)) +
                          ", " + std::to_string(values.shape(2)) + ")");
    }
}

/// act(x·Wᵀ + b) for every row of x: (rows, in) → (rows, out).
template <class T>
[[nodiscard]] xt::xtensor<T, 2> dense_rows(const layers::dense<T>& layer,
                                           const xt::xtensor<T, 2>& x,
                                           layers::activation act = layers::activation::identity) {
    xt::xtensor<T, 2> y = xt::xtensor<T, 2>::from_shape({x.shape(0), layer.out_features()});
    layer.apply(x.data(), x.shape(1), x.shape(0), y.data(), layer.out_features(), act);
    return y;
}

/// The rows of the parts side by side: torch.cat(parts, dim=1) of (B, d_i) matrices.
template <class T>
[[nodiscard]] xt::xtensor<T, 2>
concat_columns(std::initializer_list<const xt::xtensor<T, 2>*> parts) {
    const std::size_t batch = (*parts.begin())->shape(0);
    std::size_t width = 0;
    for (const auto* part : parts) {
        width += part->shape(1);
    }
    xt::xtensor<T, 2> joined = xt::xtensor<T, 2>::from_shape({batch, width});
    for (std::size_t b = 0; b < batch; ++b) {
        T* out = joined.data() + b * width;
        for (const auto* part : parts) {
            const std::size_t w = part->shape(1);
            out = std::copy_n(part->data() + b * w, w, out);
        }
    }
    return joined;
}

/// Row `index` of a (layers·directions, B, H) final state: the (B, H) matrix h_n[index].
template <class T>
[[nodiscard]] xt::xtensor<T, 2> state_rows(const xt::xtensor<T, 3>& h_n, std::size_t index) {
    const std::size_t batch = h_n.shape(1), hidden = h_n.shape(2);
    xt::xtensor<T, 2> rows = xt::xtensor<T, 2>::from_shape({batch, hidden});
    std::copy_n(h_n.data() + index * batch * hidden, batch * hidden, rows.data());
    return rows;
}

} // namespace emofuse::models::detail
