// emofuse/models/detail/mmsa_bert_models.hpp — what MMSA's BERT-era models share around the text
// encoder: the BERT's configuration from MMSA's arguments and the checkpoint, the text_bert
// rows as tokens, and the shape check of audio and vision beside them.
#pragma once

#include <emofuse/config.hpp>
#include <emofuse/core/error.hpp>
#include <emofuse/models/mmsa_config.hpp>
#include <emofuse/text/bert.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace emofuse::models::detail {

/// Head width of every published BERT and RoBERTa checkpoint (base: 768/12, large: 1024/16).
inline constexpr std::size_t published_bert_head_width = 64;

/// The configuration of the BERT stored under `prefix`: sizes from the tensors' shapes, the
/// flavour from MMSA's `transformers` argument ("bert" or "roberta"; BERT when absent or when
/// `bert_only`, for models that build a BERT whatever it says), the head count from
/// `bert_num_attention_heads` when given, else hidden_size / 64.
template <class StateDict>
language::bert_config mmsa_bert_config(std::string_view model, const mmsa_config& config,
                                       const StateDict& sd, std::string_view prefix,
                                       bool bert_only = false) {
    language::bert_flavour flavour = language::bert_flavour::bert;
    if (!bert_only && config.contains("transformers")) {
        const auto& name = config.at("transformers");
        if (name == "roberta") {
            flavour = language::bert_flavour::roberta;
        } else if (name != "bert") {
            throw value_error("models::" + std::string(model) +
                              ": transformers: expected \"bert\" or \"roberta\", got " +
                              name.dump() + config.context());
        }
    }
    std::size_t heads = 0;
    if (config.contains("bert_num_attention_heads")) {
        heads = config.size("bert_num_attention_heads");
    } else {
        const auto hidden = language::infer_bert_config(sd, prefix, 1, flavour).hidden_size;
        if (hidden % published_bert_head_width != 0) {
            throw value_error("models::" + std::string(model) + ": the BERT under '" +
                              std::string(prefix) + "' has hidden size " + std::to_string(hidden) +
                              ", not a multiple of 64 (the head width of published BERT "
                              "checkpoints); give its head count as bert_num_attention_heads" +
                              config.context());
        }
        heads = hidden / published_bert_head_width;
    }
    return language::infer_bert_config(sd, prefix, heads, flavour);
}

/// The BERT under `prefix` (configured by mmsa_bert_config from `sd`), read through `tracked`,
/// the view that records the names a model reads.
template <class T, class StateDict, class Tracked>
language::bert_model<T> load_mmsa_bert(std::string_view model, const mmsa_config& config,
                                       const StateDict& sd, const Tracked& tracked,
                                       const std::string& prefix, bool bert_only = false) {
    return language::bert_model<T>::load(tracked, prefix,
                                         mmsa_bert_config(model, config, sd, prefix, bert_only));
}

/// The text_bert rows (batch, 3, seq) of a prepared batch as tokens; shape_error naming the
/// model when the text is not MMSA's text_bert array (a use_bert: false feature file).
template <class T>
language::bert_tokens mmsa_bert_tokens(std::string_view model, const xt::xtensor<T, 3>& text_bert) {
    if (text_bert.shape(1) != 3) {
        throw shape_error("models::" + std::string(model) +
                          ": text: expected MMSA's text_bert array (batch, 3, seq_len) of input "
                          "ids, mask and segment ids, got shape (" +
                          std::to_string(text_bert.shape(0)) + ", " +
                          std::to_string(text_bert.shape(1)) + ", " +
                          std::to_string(text_bert.shape(2)) + ")");
    }
    return language::bert_tokens::from_mmsa_text(text_bert);
}

/// shape_error naming the model and the modality unless `values` (audio or vision beside
/// text_bert) is (batch, steps, width); `steps` 0 leaves the step count free.
template <class T>
void check_input_beside_text(std::string_view model, std::string_view what,
                             const xt::xtensor<T, 3>& values, std::size_t batch, std::size_t steps,
                             std::size_t width) {
    if (values.shape(0) == batch && values.shape(2) == width &&
        (steps == 0 || values.shape(1) == steps)) {
        return;
    }
    throw shape_error(
        "models::" + std::string(model) + ": " + std::string(what) + ": expected shape (" +
        std::to_string(batch) + ", " + (steps == 0 ? std::string("steps") : std::to_string(steps)) +
        ", " + std::to_string(width) + ") (text_bert's batch" + (steps == 0 ? "" : " and length") +
        ", feature_dims' width), got (" + std::to_string(values.shape(0)) + ", " +
        std::to_string(values.shape(1)) + ", " + std::to_string(values.shape(2)) + ")");
}

} // namespace emofuse::models::detail
