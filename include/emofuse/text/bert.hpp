// emofuse/text/bert.hpp — Hugging Face's BertModel and RobertaModel in inference, loaded from
// their parameter names (a model's checkpoint or a stock bert-base-* file), with the tokens as
// MMSA's text_bert rows hold them.
#pragma once

#include "emofuse/attention/mask.hpp"
#include "emofuse/attention/multi_head.hpp"
#include "emofuse/attention/torch_transformer.hpp"
#include "emofuse/config.hpp"
#include "emofuse/core/dims.hpp"
#include "emofuse/core/error.hpp"
#include "emofuse/layers/dense.hpp"
#include "emofuse/layers/layer_norm.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace emofuse::language {

/// Which Hugging Face model the weights belong to. RoBERTa differs from BERT only in its
/// positions: counted from pad_token_id + 1 over the non-padding tokens (padding tokens get
/// position pad_token_id).
enum class bert_flavour { bert, roberta };

/// The sizes and constants of a Hugging Face BertConfig / RobertaConfig (config.json).
struct bert_config {
    std::size_t vocab_size = 0;
    std::size_t hidden_size = 0;
    std::size_t num_hidden_layers = 0;
    std::size_t num_attention_heads = 0;
    std::size_t intermediate_size = 0;
    std::size_t max_position_embeddings = 0;
    std::size_t type_vocab_size = 0;
    double layer_norm_eps = 1e-12; ///< RoBERTa checkpoints store 1e-5
    std::size_t pad_token_id = 0;  ///< RoBERTa: 1
    bert_flavour flavour = bert_flavour::bert;

    /// A Hugging Face config.json object. The sizes are required; layer_norm_eps defaults to
    /// 1e-12 and pad_token_id to 0 (BERT) or 1 (RoBERTa), as transformers' classes do.
    /// model_type "bert" (or absent) or "roberta"; hidden_act must be "gelu" (the erf form)
    /// and position_embedding_type, when present, "absolute". Throws value_error naming the
    /// key for anything else, a missing size or a value of the wrong type.
    static bert_config from_json(const nlohmann::json& json);

    /// Throws value_error for a size of 0, shape_error when hidden_size is not a multiple of
    /// num_attention_heads, value_error for a non-positive or non-finite eps, and (RoBERTa) a
    /// pad_token_id at or beyond max_position_embeddings.
    void check() const;

    /// bert-base-uncased's sizes (its config.json): 30 522 tokens, 768 wide, 12 layers of 12
    /// heads, 3072-wide feed-forward, 512 positions, 2 token types.
    [[nodiscard]] static bert_config bert_base() {
        bert_config config;
        config.vocab_size = 30522;
        config.hidden_size = 768;
        config.num_hidden_layers = 12;
        config.num_attention_heads = 12;
        config.intermediate_size = 3072;
        config.max_position_embeddings = 512;
        config.type_vocab_size = 2;
        return config;
    }
};

namespace detail {

inline std::size_t config_size(const nlohmann::json& json, const char* key) {
    if (!json.contains(key)) {
        throw value_error(emofuse::detail::concat_message(
            "language::bert_config::from_json: '", key, "': expected a positive integer, missing"));
    }
    const auto& value = json.at(key);
    if (!value.is_number_integer() ||
        (value.is_number_integer() && value.get<std::int64_t>() < 0)) {
        throw value_error(emofuse::detail::concat_message(
            "language::bert_config::from_json: '", key, "': expected a non-negative integer, got ",
            value.dump()));
    }
    return value.get<std::size_t>();
}

inline std::string config_string(const nlohmann::json& json, const char* key,
                                 std::string_view fallback) {
    if (!json.contains(key)) {
        return std::string(fallback);
    }
    const auto& value = json.at(key);
    if (!value.is_string()) {
        throw value_error(emofuse::detail::concat_message("language::bert_config::from_json: '",
                                                          key, "': expected a string, got ",
                                                          value.dump()));
    }
    return value.get<std::string>();
}

} // namespace detail

inline bert_config bert_config::from_json(const nlohmann::json& json) {
    constexpr std::string_view where = "language::bert_config::from_json";
    if (!json.is_object()) {
        throw value_error(emofuse::detail::concat_message(where, ": expected a JSON object, got ",
                                                          json.type_name()));
    }
    bert_config config;
    const std::string model_type = detail::config_string(json, "model_type", "bert");
    if (model_type == "roberta") {
        config.flavour = bert_flavour::roberta;
        config.pad_token_id = 1;
    } else if (model_type != "bert") {
        throw value_error(emofuse::detail::concat_message(
            where, ": 'model_type': expected \"bert\" or \"roberta\", got \"", model_type, "\""));
    }
    const std::string act = detail::config_string(json, "hidden_act", "gelu");
    if (act != "gelu") {
        throw value_error(emofuse::detail::concat_message(
            where, ": 'hidden_act': only \"gelu\" (the erf form) is supported, got \"", act, "\""));
    }
    const std::string positions =
        detail::config_string(json, "position_embedding_type", "absolute");
    if (positions != "absolute") {
        throw value_error(emofuse::detail::concat_message(
            where, ": 'position_embedding_type': only \"absolute\" is supported, got \"", positions,
            "\""));
    }
    config.vocab_size = detail::config_size(json, "vocab_size");
    config.hidden_size = detail::config_size(json, "hidden_size");
    config.num_hidden_layers = detail::config_size(json, "num_hidden_layers");
    config.num_attention_heads = detail::config_size(json, "num_attention_heads");
    config.intermediate_size = detail::config_size(json, "intermediate_size");
    config.max_position_embeddings = detail::config_size(json, "max_position_embeddings");
    config.type_vocab_size = detail::config_size(json, "type_vocab_size");
    if (json.contains("pad_token_id") && !json.at("pad_token_id").is_null()) {
        config.pad_token_id = detail::config_size(json, "pad_token_id");
    }
    if (json.contains("layer_norm_eps")) {
        const auto& eps = json.at("layer_norm_eps");
        if (!eps.is_number()) {
            throw value_error(emofuse::detail::concat_message(
                where, ": 'layer_norm_eps': expected a number, got ", eps.dump()));
        }
        config.layer_norm_eps = eps.get<double>();
    }
    config.check();
    return config;
}

inline void bert_config::check() const {
    constexpr std::string_view where = "language::bert_config";
    const std::array<std::pair<const char*, std::size_t>, 7> sizes{{
        {"vocab_size", vocab_size},
        {"hidden_size", hidden_size},
        {"num_hidden_layers", num_hidden_layers},
        {"num_attention_heads", num_attention_heads},
        {"intermediate_size", intermediate_size},
        {"max_position_embeddings", max_position_embeddings},
        {"type_vocab_size", type_vocab_size},
    }};
    for (const auto& [name, value] : sizes) {
        if (value == 0) {
            throw value_error(
                emofuse::detail::concat_message(where, ": ", name, ": expected at least 1, got 0"));
        }
    }
    if (hidden_size % num_attention_heads != 0) {
        throw shape_error(emofuse::detail::concat_message(
            where, ": hidden_size ", hidden_size, " is not a multiple of num_attention_heads ",
            num_attention_heads));
    }
    if (!(layer_norm_eps > 0.0) || !std::isfinite(layer_norm_eps)) {
        throw value_error(emofuse::detail::concat_message(
            where, ": layer_norm_eps: expected a positive finite number, got ", layer_norm_eps));
    }
    if (flavour == bert_flavour::roberta && pad_token_id >= max_position_embeddings) {
        throw value_error(emofuse::detail::concat_message(
            where, ": pad_token_id ", pad_token_id,
            " (RoBERTa's first position) must be below max_position_embeddings ",
            max_position_embeddings));
    }
}

namespace detail {

inline std::string join(std::string_view prefix, std::string_view name) {
    return std::string(prefix) + std::string(name);
}

inline std::string layer_prefix(std::string_view prefix, std::size_t layer) {
    return std::string(prefix) + "encoder.layer." + std::to_string(layer) + ".";
}

/// The extents of a rank-N tensor: from the stored header when the state dict keeps one
/// (io::state_dict::at), else by reading the tensor.
template <std::size_t N, class StateDict>
std::array<std::size_t, N> stored_shape(const StateDict& sd, const std::string& name) {
    std::array<std::size_t, N> shape{};
    if constexpr (requires { sd.at(name).shape; }) {
        const auto& stored = sd.at(name).shape;
        if (stored.size() != N) {
            throw shape_error(emofuse::detail::concat_message(
                "language::infer_bert_config: tensor '", name, "': expected rank ", N,
                ", got rank ", stored.size()));
        }
        std::copy(stored.begin(), stored.end(), shape.begin());
    } else {
        const auto values = sd.template tensor<float, N>(name);
        std::copy(values.shape().begin(), values.shape().end(), shape.begin());
    }
    return shape;
}

/// `<base>weight`, or the `<base>gamma` of checkpoints written by the first BERT ports
/// (bert-base-uncased's pytorch_model.bin; transformers renames it on load too).
template <class StateDict>
std::string layer_norm_name(const StateDict& sd, const std::string& base, bool weight) {
    const std::string modern = base + (weight ? "weight" : "bias");
    const std::string legacy = base + (weight ? "gamma" : "beta");
    return !sd.contains(modern) && sd.contains(legacy) ? legacy : modern;
}

} // namespace detail

/// One tensor a BERT stores: its Hugging Face name (without a prefix) and its extents.
struct bert_parameter {
    std::string name;
    std::vector<std::size_t> shape;
};

/// Every tensor a BertModel / RobertaModel of `config` stores, in save_pretrained's order and
/// spelling (LayerNorm `weight`/`bias`; no `position_ids` buffer), the pooler included.
/// What a test or benchmark fills to build a model without a checkpoint.
[[nodiscard]] inline std::vector<bert_parameter> bert_parameter_shapes(const bert_config& config) {
    const std::size_t d = config.hidden_size;
    const std::size_t ffn = config.intermediate_size;
    std::vector<bert_parameter> tensors = {
        {"embeddings.word_embeddings.weight", {config.vocab_size, d}},
        {"embeddings.position_embeddings.weight", {config.max_position_embeddings, d}},
        {"embeddings.token_type_embeddings.weight", {config.type_vocab_size, d}},
        {"embeddings.LayerNorm.weight", {d}},
        {"embeddings.LayerNorm.bias", {d}}};
    const auto add_linear = [&](const std::string& base, std::size_t in, std::size_t out) {
        tensors.push_back({base + "weight", {out, in}});
        tensors.push_back({base + "bias", {out}});
    };
    const auto add_norm = [&](const std::string& base) {
        tensors.push_back({base + "weight", {d}});
        tensors.push_back({base + "bias", {d}});
    };
    for (std::size_t i = 0; i < config.num_hidden_layers; ++i) {
        const std::string at = detail::layer_prefix("", i);
        for (const char* name : {"attention.self.query.", "attention.self.key.",
                                 "attention.self.value.", "attention.output.dense."}) {
            add_linear(at + name, d, d);
        }
        add_norm(at + "attention.output.LayerNorm.");
        add_linear(at + "intermediate.dense.", d, ffn);
        add_linear(at + "output.dense.", ffn, d);
        add_norm(at + "output.LayerNorm.");
    }
    add_linear("pooler.dense.", d, d);
    return tensors;
}

/// Sizes from a state dict's shapes under `prefix` (`embeddings.*`, `encoder.layer.N.*`); the
/// head count is not stored and is given. eps and pad_token_id are the flavour's defaults
/// (BERT 1e-12 and 0, RoBERTa 1e-5 and 1). Throws io_error when no layer is stored.
template <class StateDict>
[[nodiscard]] bert_config infer_bert_config(const StateDict& sd, std::string_view prefix,
                                            std::size_t heads,
                                            bert_flavour flavour = bert_flavour::bert) {
    bert_config config;
    config.flavour = flavour;
    config.layer_norm_eps = flavour == bert_flavour::roberta ? 1e-5 : 1e-12;
    config.pad_token_id = flavour == bert_flavour::roberta ? 1 : 0;
    config.num_attention_heads = heads;
    const auto words =
        detail::stored_shape<2>(sd, detail::join(prefix, "embeddings.word_embeddings.weight"));
    config.vocab_size = words[0];
    config.hidden_size = words[1];
    config.max_position_embeddings = detail::stored_shape<2>(
        sd, detail::join(prefix, "embeddings.position_embeddings.weight"))[0];
    config.type_vocab_size = detail::stored_shape<2>(
        sd, detail::join(prefix, "embeddings.token_type_embeddings.weight"))[0];
    while (sd.contains(detail::layer_prefix(prefix, config.num_hidden_layers) +
                       "attention.self.query.weight")) {
        ++config.num_hidden_layers;
    }
    if (config.num_hidden_layers == 0) {
        throw io_error(emofuse::detail::concat_message(
            "language::infer_bert_config: no encoder layers under '", prefix, "'",
            layers::state_dict_source_suffix(sd), " (expected ", prefix,
            "encoder.layer.0.attention.self.query.weight)"));
    }
    config.intermediate_size = detail::stored_shape<2>(sd, detail::layer_prefix(prefix, 0) +
                                                               "intermediate.dense.weight")[0];
    config.check();
    return config;
}

/// Where a Hugging Face checkpoint keeps its BERT: "" (BertModel / RobertaModel.save_pretrained),
/// "bert." (BertFor… heads, e.g. bert-base-uncased's pytorch_model.bin) or "roberta.". Throws
/// io_error when `embeddings.word_embeddings.weight` is under none of them.
template <class StateDict>
[[nodiscard]] std::string hugging_face_prefix(const StateDict& sd) {
    for (const char* prefix : {"", "bert.", "roberta."}) {
        if (sd.contains(detail::join(prefix, "embeddings.word_embeddings.weight"))) {
            return prefix;
        }
    }
    throw io_error(emofuse::detail::concat_message(
        "language::hugging_face_prefix: no embeddings.word_embeddings.weight, bert.… or "
        "roberta.… tensor",
        layers::state_dict_source_suffix(sd), "; not a Hugging Face BERT checkpoint"));
}

/// One batch of token rows (batch × seq), as MMSA's text_bert holds them.
struct bert_tokens {
    /// Vocabulary ids, (batch, seq).
    xt::xtensor<std::int64_t, 2> input_ids;
    /// 1 for a real token, 0 for padding, (batch, seq); empty = every token is real.
    xt::xtensor<std::int64_t, 2> attention_mask;
    /// Segment ids, (batch, seq); empty = all 0.
    xt::xtensor<std::int64_t, 2> token_type_ids;

    [[nodiscard]] std::size_t batch() const { return input_ids.shape(0); }
    [[nodiscard]] std::size_t seq() const { return input_ids.shape(1); }

    /// MMSA's (batch, 3, seq) array of floats: rows input_ids, input_mask, segment_ids. Throws
    /// shape_error unless the middle extent is 3, value_error for a value that is not a whole
    /// number in int64's range (ranges of ids are checked at forward).
    template <class T>
    static bert_tokens from_mmsa_text(const xt::xtensor<T, 3>& text_bert) {
        static_assert(std::is_arithmetic_v<T>, "language::bert_tokens: text_bert must be numeric");
        if (text_bert.shape(1) != 3) {
            throw shape_error(emofuse::detail::concat_message(
                "language::bert_tokens::from_mmsa_text: text_bert shape: expected (batch, 3, seq), "
                "got (",
                text_bert.shape(0), ", ", text_bert.shape(1), ", ", text_bert.shape(2), ")"));
        }
        const std::size_t batch = text_bert.shape(0);
        const std::size_t seq = text_bert.shape(2);
        bert_tokens tokens;
        std::array<xt::xtensor<std::int64_t, 2>*, 3> rows{&tokens.input_ids, &tokens.attention_mask,
                                                          &tokens.token_type_ids};
        constexpr std::array<const char*, 3> names{"input_ids", "input_mask", "segment_ids"};
        for (std::size_t r = 0; r < 3; ++r) {
            *rows[r] = xt::xtensor<std::int64_t, 2>::from_shape({batch, seq});
            for (std::size_t b = 0; b < batch; ++b) {
                for (std::size_t t = 0; t < seq; ++t) {
                    const T value = text_bert(b, r, t);
                    if constexpr (std::is_floating_point_v<T>) {
                        // 2^63 is the first double past int64's range.
                        if (!(std::trunc(value) == value) ||
                            std::abs(value) >= T(9.2233720368547758e18)) {
                            throw value_error(emofuse::detail::concat_message(
                                "language::bert_tokens::from_mmsa_text: ", names[r], "[", b, ", ",
                                t, "]: expected a whole number, got ", value));
                        }
                    }
                    (*rows[r])(b, t) = static_cast<std::int64_t>(value);
                }
            }
        }
        return tokens;
    }
};

/// Hugging Face's BertModel / RobertaModel (the base model, eval mode):
///   embeddings: LN(word[id] + token_type[type] + position[pos])
///   each layer (post-LN): a = LN₁(x + Wₒ·MHA(x) + bₒ), x = LN₂(a + W₂·gelu(W₁·a + b₁) + b₂)
///   pooler:     tanh(W_p·h[:, 0] + b_p)
/// with the extended attention mask (1 − mask)·finfo(T).min added to every head's scores: keys
/// of padding are left out, and a sample whose mask is all 0 gets, as in transformers, the
/// uniform average over all its keys (every score equals finfo.min). Padding query positions
/// are computed, as transformers does.
template <class T>
class bert_model {
public:
    static_assert(std::is_floating_point_v<T>,
                  "language::bert_model<T>: T must be float or double");

    bert_model() = default;

    /// Hugging Face names under `prefix` (e.g. "Model.text_model.model." in MMSA, "bert." in a
    /// stock BertForPreTraining file, "" for BertModel.save_pretrained): embeddings.*,
    /// encoder.layer.N.* for N < num_hidden_layers, pooler.dense.* (optional: has_pooler()).
    /// `embeddings.position_ids` is accepted when present and must hold 0, 1, 2, ...; the
    /// LayerNorm's old gamma/beta names are read too. Throws io_error for a missing tensor,
    /// shape_error for one whose shape disagrees with `config`, and — when the state dict
    /// lists its names (names(prefix)) — value_error naming tensors under `prefix` that a BERT
    /// of this configuration does not have.
    template <class StateDict>
    static bert_model load(const StateDict& sd, std::string_view prefix, const bert_config& config);

    [[nodiscard]] const bert_config& config() const { return config_; }
    [[nodiscard]] bool has_pooler() const { return !pooler_.empty(); }
    [[nodiscard]] std::size_t num_layers() const { return layers_.size(); }
    [[nodiscard]] std::size_t hidden_size() const { return config_.hidden_size; }

    /// last_hidden_state (batch, seq, hidden): BertModel(input_ids, attention_mask,
    /// token_type_ids)[0]. Throws value_error for an id, token type or mask value out of range,
    /// a sequence longer than the positions, and shape_error for tensors of differing shapes.
    [[nodiscard]] xt::xtensor<T, 3> forward(const bert_tokens& tokens) const {
        check_tokens(tokens);
        xt::xtensor<T, 3> hidden = embed_checked(tokens);
        const attention::attention_mask<T> mask = mask_of(tokens);
        for (const auto& layer : layers_) {
            layer.apply(hidden.data(), tokens.batch(), tokens.seq(), mask,
                        attention::layout::batch_first);
        }
        return hidden;
    }

    /// pooler_output (batch, hidden): tanh(dense(last_hidden_state[:, 0])). Throws value_error
    /// without a pooler, shape_error for a shape other than (batch, seq ≥ 1, hidden).
    [[nodiscard]] xt::xtensor<T, 2> pool(const xt::xtensor<T, 3>& last_hidden_state) const {
        constexpr std::string_view where = "language::bert_model::pool";
        if (!has_pooler()) {
            throw value_error("language::bert_model::pool: the checkpoint has no pooler "
                              "(pooler.dense.weight was not stored)");
        }
        check_size(where, "last_hidden_state features (hidden_size)", hidden_size(),
                   last_hidden_state.shape(2));
        if (last_hidden_state.shape(1) == 0) {
            throw shape_error("language::bert_model::pool: last_hidden_state has no tokens");
        }
        const std::size_t batch = last_hidden_state.shape(0);
        const std::size_t d = hidden_size();
        xt::xtensor<T, 2> out = xt::xtensor<T, 2>::from_shape({batch, d});
        // Row b of the first tokens starts seq·d values after row b − 1.
        pooler_.apply(last_hidden_state.data(), last_hidden_state.shape(1) * d, batch, out.data(),
                      d, layers::activation::tanh);
        return out;
    }

    /// BertEmbeddings alone (batch, seq, hidden); the checks of forward.
    [[nodiscard]] xt::xtensor<T, 3> embed(const bert_tokens& tokens) const {
        check_tokens(tokens);
        return embed_checked(tokens);
    }

    /// BertLayer `layer` in place on hidden (batch, seq, hidden), keys masked by the tokens'
    /// attention mask; the checks of forward, and value_error for a layer out of range.
    void apply_layer(std::size_t layer, xt::xtensor<T, 3>& hidden,
                     const bert_tokens& tokens) const {
        constexpr std::string_view where = "language::bert_model::apply_layer";
        if (layer >= num_layers()) {
            throw value_error(emofuse::detail::concat_message(
                where, ": layer ", layer, " out of range (the model has ", num_layers(), ")"));
        }
        check_tokens(tokens);
        check_size(where, "hidden batch (tokens' batch)", tokens.batch(), hidden.shape(0));
        check_size(where, "hidden time steps (tokens' seq)", tokens.seq(), hidden.shape(1));
        check_size(where, "hidden features (hidden_size)", hidden_size(), hidden.shape(2));
        layers_[layer].apply(hidden.data(), tokens.batch(), tokens.seq(), mask_of(tokens),
                             attention::layout::batch_first);
    }

private:
    void check_tokens(const bert_tokens& tokens) const {
        constexpr std::string_view where = "language::bert_model";
        const std::size_t batch = tokens.batch();
        const std::size_t seq = tokens.seq();
        const auto same_shape = [&](const xt::xtensor<std::int64_t, 2>& other, const char* name) {
            if (other.size() != 0 && (other.shape(0) != batch || other.shape(1) != seq)) {
                throw shape_error(emofuse::detail::concat_message(
                    where, ": ", name, " shape: expected (", batch, ", ", seq,
                    ") like input_ids, got (", other.shape(0), ", ", other.shape(1), ")"));
            }
        };
        same_shape(tokens.attention_mask, "attention_mask");
        same_shape(tokens.token_type_ids, "token_type_ids");
        if (seq == 0) {
            throw value_error(
                "language::bert_model: input_ids: expected at least one token per row");
        }
        const auto in_range = [&](const xt::xtensor<std::int64_t, 2>& values, const char* name,
                                  std::int64_t end, const char* bound) {
            for (std::size_t i = 0; i < values.size(); ++i) {
                const std::int64_t v = values.data()[i];
                if (v < 0 || v >= end) {
                    throw value_error(emofuse::detail::concat_message(
                        where, ": ", name, "[", i / seq, ", ", i % seq, "] = ", v,
                        ": expected in [0, ", end, ") (", bound, ")"));
                }
            }
        };
        in_range(tokens.input_ids, "input_ids", static_cast<std::int64_t>(config_.vocab_size),
                 "vocab_size");
        in_range(tokens.token_type_ids, "token_type_ids",
                 static_cast<std::int64_t>(config_.type_vocab_size), "type_vocab_size");
        in_range(tokens.attention_mask, "attention_mask", 2, "1 marks a token, 0 padding");
        if (config_.flavour == bert_flavour::bert && seq > config_.max_position_embeddings) {
            throw value_error(emofuse::detail::concat_message(where, ": sequence length ", seq,
                                                              " exceeds max_position_embeddings ",
                                                              config_.max_position_embeddings));
        }
    }

    /// Position ids: 0..seq−1 (BERT), or RoBERTa's running count of non-padding ids offset by
    /// pad_token_id (padding ids keep pad_token_id); value_error past the table.
    [[nodiscard]] std::vector<std::size_t> positions_of(const bert_tokens& tokens,
                                                        std::size_t b) const {
        const std::size_t seq = tokens.seq();
        std::vector<std::size_t> positions(seq);
        if (config_.flavour == bert_flavour::bert) {
            for (std::size_t t = 0; t < seq; ++t) {
                positions[t] = t;
            }
            return positions;
        }
        const auto pad = static_cast<std::int64_t>(config_.pad_token_id);
        std::size_t count = 0;
        for (std::size_t t = 0; t < seq; ++t) {
            if (tokens.input_ids(b, t) == pad) {
                positions[t] = config_.pad_token_id;
                continue;
            }
            positions[t] = config_.pad_token_id + ++count;
            if (positions[t] >= config_.max_position_embeddings) {
                throw value_error(emofuse::detail::concat_message(
                    "language::bert_model: sample ", b, ": ", count,
                    " non-padding tokens need RoBERTa position ", positions[t],
                    ", beyond max_position_embeddings ", config_.max_position_embeddings));
            }
        }
        return positions;
    }

    [[nodiscard]] xt::xtensor<T, 3> embed_checked(const bert_tokens& tokens) const {
        const std::size_t batch = tokens.batch();
        const std::size_t seq = tokens.seq();
        const std::size_t d = hidden_size();
        xt::xtensor<T, 3> out = xt::xtensor<T, 3>::from_shape({batch, seq, d});
        const bool has_types = tokens.token_type_ids.size() != 0;
        for (std::size_t b = 0; b < batch; ++b) {
            const std::vector<std::size_t> positions = positions_of(tokens, b);
            for (std::size_t t = 0; t < seq; ++t) {
                const auto id = static_cast<std::size_t>(tokens.input_ids(b, t));
                const std::size_t type =
                    has_types ? static_cast<std::size_t>(tokens.token_type_ids(b, t)) : 0;
                const T* word = word_embeddings_.data() + id * d;
                const T* segment = token_type_embeddings_.data() + type * d;
                const T* position = position_embeddings_.data() + positions[t] * d;
                T* row = out.data() + (b * seq + t) * d;
                // transformers' order: (word + token type) + position.
                for (std::size_t c = 0; c < d; ++c) {
                    row[c] = (word[c] + segment[c]) + position[c];
                }
            }
        }
        embeddings_norm_.apply(out.data(), d, batch * seq, out.data(), d);
        return out;
    }

    /// Keys of padding are skipped (their exp(score + finfo.min − max) is exactly 0 in
    /// transformers too); a sample with no real token gets finfo.min added to every score, so
    /// that, as in transformers, all its scores collapse to finfo.min and weigh keys equally.
    [[nodiscard]] attention::attention_mask<T> mask_of(const bert_tokens& tokens) const {
        attention::attention_mask<T> mask;
        if (tokens.attention_mask.size() == 0) {
            return mask;
        }
        const std::size_t batch = tokens.batch();
        const std::size_t seq = tokens.seq();
        mask.key_valid = xt::xtensor<std::uint8_t, 2>::from_shape({batch, seq});
        std::vector<std::size_t> empty_samples;
        // Padding at the ends of rows (the tokenizers' layout) becomes key lengths, which the
        // attention kernel stops at instead of testing every key.
        std::vector<std::size_t> lengths(batch);
        bool trailing_padding = true;
        for (std::size_t b = 0; b < batch; ++b) {
            std::size_t count = 0;
            for (std::size_t t = 0; t < seq; ++t) {
                mask.key_valid(b, t) = tokens.attention_mask(b, t) != 0 ? 1 : 0;
                count += mask.key_valid(b, t);
            }
            for (std::size_t t = 0; t < seq; ++t) {
                trailing_padding = trailing_padding && (mask.key_valid(b, t) != 0) == (t < count);
            }
            lengths[b] = count;
            if (count == 0) {
                empty_samples.push_back(b);
            }
        }
        if (trailing_padding && empty_samples.empty()) {
            mask.key_valid = xt::xtensor<std::uint8_t, 2>();
            mask.key_lengths = std::move(lengths);
            return mask;
        }
        if (!empty_samples.empty()) {
            mask.additive = xt::xtensor<T, 3>::from_shape({batch, seq, seq});
            std::fill(mask.additive.begin(), mask.additive.end(), T(0));
            for (const std::size_t b : empty_samples) {
                std::fill_n(mask.additive.data() + b * seq * seq, seq * seq,
                            std::numeric_limits<T>::lowest());
                std::fill_n(mask.key_valid.data() + b * seq, seq, std::uint8_t{1});
            }
        }
        return mask;
    }

    bert_config config_;
    xt::xtensor<T, 2> word_embeddings_;
    xt::xtensor<T, 2> position_embeddings_;
    xt::xtensor<T, 2> token_type_embeddings_;
    layers::layer_norm<T> embeddings_norm_;
    std::vector<attention::torch_encoder_layer<T>> layers_;
    layers::dense<T> pooler_;
};

namespace detail {

/// The names a BERT of `config` may store under `prefix`: bert_parameter_shapes' names, the
/// LayerNorms also under their first spelling (gamma/beta), and the position_ids buffer.
inline std::set<std::string> bert_parameter_names(std::string_view prefix,
                                                  const bert_config& config) {
    std::set<std::string> names{join(prefix, "embeddings.position_ids")};
    for (const auto& tensor : bert_parameter_shapes(config)) {
        names.insert(join(prefix, tensor.name));
        const auto norm = tensor.name.find("LayerNorm.");
        if (norm != std::string::npos) {
            const bool weight = tensor.name.ends_with("weight");
            names.insert(join(prefix, tensor.name.substr(0, norm) + "LayerNorm." +
                                          (weight ? "gamma" : "beta")));
        }
    }
    return names;
}

/// An nn.Linear of BERT: `<base>weight` (out, in) and `<base>bias` (out), both required.
template <class T, class StateDict>
layers::linear_parameters<T> load_bert_linear(const StateDict& sd, const std::string& base,
                                              std::size_t in, std::size_t out) {
    return {sd.template tensor<T, 2>(base + "weight", std::array<std::size_t, 2>{out, in}),
            sd.template tensor<T, 1>(base + "bias", std::array<std::size_t, 1>{out})};
}

template <class T, class StateDict>
layers::layer_norm<T> load_bert_norm(const StateDict& sd, const std::string& base, double eps) {
    const std::string weight = layer_norm_name(sd, base, true);
    const std::string bias = layer_norm_name(sd, base, false);
    auto w = sd.template tensor<T, 1>(weight, std::array<std::size_t, 1>{dynamic});
    auto b = sd.template tensor<T, 1>(bias, std::array<std::size_t, 1>{w.size()});
    return layers::layer_norm<T>(std::move(w), std::move(b), static_cast<T>(eps));
}

} // namespace detail

template <class T>
template <class StateDict>
bert_model<T> bert_model<T>::load(const StateDict& sd, std::string_view prefix,
                                  const bert_config& config) {
    config.check();
    const std::size_t d = config.hidden_size;
    const std::size_t ffn = config.intermediate_size;
    const std::string emb = detail::join(prefix, "embeddings.");

    if constexpr (requires { sd.names(prefix); }) {
        const std::set<std::string> known = detail::bert_parameter_names(prefix, config);
        std::vector<std::string> unknown;
        for (const auto& name : sd.names(prefix)) {
            if (!known.contains(std::string(name))) {
                unknown.push_back(std::string(name));
            }
        }
        if (!unknown.empty()) {
            std::string text = emofuse::detail::concat_message(
                "language::bert_model::load: ", unknown.size(), " tensor",
                unknown.size() == 1 ? "" : "s", " under '", prefix, "'",
                layers::state_dict_source_suffix(sd), " that a BERT of ", config.num_hidden_layers,
                " layers does not have");
            for (std::size_t i = 0; i < unknown.size() && i < 8; ++i) {
                text += (i == 0 ? ": '" : ", '") + unknown[i] + "'";
            }
            throw value_error(text + (unknown.size() > 8 ? ", ..." : ""));
        }
    }

    bert_model model;
    model.config_ = config;
    model.word_embeddings_ =
        sd.template tensor<T, 2>(emb + "word_embeddings.weight", {config.vocab_size, d});
    model.position_embeddings_ = sd.template tensor<T, 2>(emb + "position_embeddings.weight",
                                                          {config.max_position_embeddings, d});
    model.token_type_embeddings_ =
        sd.template tensor<T, 2>(emb + "token_type_embeddings.weight", {config.type_vocab_size, d});
    if (sd.contains(emb + "position_ids")) {
        const auto ids = sd.template tensor<std::int64_t, 2>(emb + "position_ids",
                                                             {1, config.max_position_embeddings});
        for (std::size_t i = 0; i < ids.size(); ++i) {
            if (ids.data()[i] != static_cast<std::int64_t>(i)) {
                throw value_error(emofuse::detail::concat_message(
                    "language::bert_model::load: '", emb, "position_ids'",
                    layers::state_dict_source_suffix(sd), ": expected 0, 1, 2, ...; element ", i,
                    " is ", ids.data()[i]));
            }
        }
    }
    model.embeddings_norm_ =
        detail::load_bert_norm<T>(sd, emb + "LayerNorm.", config.layer_norm_eps);
    check_size("language::bert_model::load", "embeddings.LayerNorm size (hidden_size)", d,
               model.embeddings_norm_.size());

    const attention::torch_encoder_options options{false, layers::activation::gelu,
                                                   config.layer_norm_eps, config.layer_norm_eps};
    model.layers_.reserve(config.num_hidden_layers);
    for (std::size_t i = 0; i < config.num_hidden_layers; ++i) {
        const std::string at = detail::layer_prefix(prefix, i);
        // q, k and v are three Linears in transformers: stacked, they are MHA's in_proj.
        xt::xtensor<T, 2> in_weight = xt::xtensor<T, 2>::from_shape({3 * d, d});
        xt::xtensor<T, 1> in_bias = xt::xtensor<T, 1>::from_shape({3 * d});
        std::size_t part = 0;
        for (const char* name : {"query.", "key.", "value."}) {
            const auto p = detail::load_bert_linear<T>(sd, at + "attention.self." + name, d, d);
            std::copy(p.weight.begin(), p.weight.end(), in_weight.data() + part * d * d);
            std::copy(p.bias.begin(), p.bias.end(), in_bias.data() + part * d);
            ++part;
        }
        auto out = detail::load_bert_linear<T>(sd, at + "attention.output.dense.", d, d);
        attention::multi_head_attention<T> self_attention(
            config.num_attention_heads, std::move(in_weight), std::move(in_bias),
            std::move(out.weight), std::move(out.bias));
        model.layers_.emplace_back(
            std::move(self_attention),
            layers::dense<T>(detail::load_bert_linear<T>(sd, at + "intermediate.dense.", d, ffn),
                             "intermediate.dense"),
            layers::dense<T>(detail::load_bert_linear<T>(sd, at + "output.dense.", ffn, d),
                             "output.dense"),
            detail::load_bert_norm<T>(sd, at + "attention.output.LayerNorm.",
                                      config.layer_norm_eps),
            detail::load_bert_norm<T>(sd, at + "output.LayerNorm.", config.layer_norm_eps),
            options);
    }
    const std::string pooler = detail::join(prefix, "pooler.dense.");
    if (sd.contains(pooler + "weight")) {
        model.pooler_ = layers::dense<T>(detail::load_bert_linear<T>(sd, pooler, d, d), "pooler");
    }
    return model;
}

} // namespace emofuse::language
