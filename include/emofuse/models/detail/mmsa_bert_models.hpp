// emofuse/models/detail/mmsa_bert_models.hpp — what MMSA's BERT-era models share around the text
// encoder: the BERT's configuration from MMSA's arguments and the checkpoint, the text_bert
// rows as tokens, and attention over projected heads without a mask (CENET's and ALMT's
// hand-written attention modules).
#pragma once

#include <emofuse/attention/detail/attend.hpp>
#include <emofuse/attention/scaled_dot_product.hpp>
#include <emofuse/config.hpp>
#include <emofuse/core/error.hpp>
#include <emofuse/kernels/workspace.hpp>
#include <emofuse/models/mmsa_config.hpp>
#include <emofuse/text/bert.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace emofuse::models {

/// text/bert.hpp's namespace, named once for the models built on it.
namespace bert_text = ::emofuse::text;

} // namespace emofuse::models

namespace emofuse::models::detail {

/// Head width of every published BERT and RoBERTa checkpoint (base: 768/12, large: 1024/16).
inline constexpr std::size_t published_bert_head_width = 64;

/// The configuration of the BERT stored under `prefix`: sizes from the tensors' shapes, the
/// flavour from MMSA's `transformers` argument ("bert" or "roberta"; BERT when absent or when
/// `bert_only`, for models that build a BERT whatever it says), the head count from
/// `bert_num_attention_heads` when given, else hidden_size / 64.
template <class StateDict>
bert_text::bert_config mmsa_bert_config(std::string_view model, const mmsa_config& config,
                                        const StateDict& sd, std::string_view prefix,
                                        bool bert_only = false) {
    bert_text::bert_flavour flavour = bert_text::bert_flavour::bert;
    if (!bert_only && config.contains("transformers")) {
        const auto& name = config.at("transformers");
        if (name == "roberta") {
            flavour = bert_text::bert_flavour::roberta;
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
        const auto hidden = bert_text::infer_bert_config(sd, prefix, 1, flavour).hidden_size;
        if (hidden % published_bert_head_width != 0) {
            throw value_error("models::" + std::string(model) + ": the BERT under '" +
                              std::string(prefix) + "' has hidden size " + std::to_string(hidden) +
                              ", not a multiple of 64 (the head width of published BERT "
                              "checkpoints); give its head count as bert_num_attention_heads" +
                              config.context());
        }
        heads = hidden / published_bert_head_width;
    }
    return bert_text::infer_bert_config(sd, prefix, heads, flavour);
}

/// The text_bert rows (batch, 3, seq) of a prepared batch as tokens; shape_error naming the
/// model when the text is not MMSA's text_bert array (a use_bert: false feature file).
template <class T>
bert_text::bert_tokens mmsa_bert_tokens(std::string_view model,
                                        const xt::xtensor<T, 3>& text_bert) {
    if (text_bert.shape(1) != 3) {
        throw shape_error("models::" + std::string(model) +
                          ": text: expected MMSA's text_bert array (batch, 3, seq_len) of input "
                          "ids, mask and segment ids, got shape (" +
                          std::to_string(text_bert.shape(0)) + ", " +
                          std::to_string(text_bert.shape(1)) + ", " +
                          std::to_string(text_bert.shape(2)) + ")");
    }
    return bert_text::bert_tokens::from_mmsa_text(text_bert);
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

/// Scaled dot-product attention of every head over projected rows, no mask:
///   out[b, i, h] = Σ_j softmax_j(scale · q[b, i, h]·k[b, j, h]) · v[b, j, h]
/// where q holds batch·query_time rows of heads·head_dim values (`ldq` apart), k and v
/// batch·key_time rows (`ldk`, `ldv` apart), head h in columns [h·head_dim, (h+1)·head_dim),
/// rows batch-major; out gets batch·query_time rows (`ldo` apart). q is scaled in place.
template <class T>
void attend_projected_heads(T* q, std::size_t ldq, const T* k, std::size_t ldk, const T* v,
                            std::size_t ldv, std::size_t batch, std::size_t query_time,
                            std::size_t key_time, std::size_t heads, std::size_t head_dim, T scale,
                            T* out, std::size_t ldo) {
    for (std::size_t row = 0; row < batch * query_time; ++row) {
        T* q_row = q + row * ldq;
        for (std::size_t c = 0; c < heads * head_dim; ++c) {
            q_row[c] *= scale;
        }
    }
    kernels::workspace& ws = attention::detail::attention_workspace();
    T* scratch = ws.buffer<T>(0, attention::detail::attend_scratch_size<T>(head_dim, head_dim));
    attention::detail::key_rule<T> every_key;
    every_key.key_count = key_time;
    for (std::size_t b = 0; b < batch; ++b) {
        for (std::size_t h = 0; h < heads; ++h) {
            const std::size_t column = h * head_dim;
            const attention::detail::head_problem<T> problem{
                query_time, head_dim,
                head_dim,   q + b * query_time * ldq + column,
                ldq,        k + b * key_time * ldk + column,
                ldk,        v + b * key_time * ldv + column,
                ldv,        out + b * query_time * ldo + column,
                ldo};
            attention::detail::attend_head(problem, every_key, scratch);
        }
    }
}

} // namespace emofuse::models::detail
