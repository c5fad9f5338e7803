// text::bert_model against the transformers stand-in's BertModel and RobertaModel
// (generate_bert_fixtures.py): both flavours, float and double, .pth (with position_ids) and
// safetensors, a stock Hugging Face checkpoint layout, MMSA's text_bert rows, the pieces
// (embed, apply_layer) and bad input.
#include <emofuse/io/load_state_dict.hpp>
#include <emofuse/io/npz.hpp>
#include <emofuse/io/state_dict.hpp>
#include <emofuse/text/bert.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <xtensor/xview.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace et = emofuse::language;
namespace eio = emofuse::io;

namespace {

std::string data_path(const std::string& name) {
    return std::string(EMOFUSE_TEST_DATA_DIR) + "/" + name;
}

nlohmann::json read_json(const std::string& name) {
    std::ifstream in(data_path(name));
    REQUIRE(in.good());
    return nlohmann::json::parse(in);
}

/// Inputs and outputs of one fixture case.
struct bert_case {
    et::bert_config config;
    eio::state_dict io;
    et::bert_tokens tokens;

    explicit bert_case(const std::string& name)
        : config(et::bert_config::from_json(read_json(name + ".config.json"))),
          io(eio::load_npz(data_path(name + ".io.npz"))) {
        tokens.input_ids = io.tensor<std::int64_t, 2>("input_ids");
        tokens.attention_mask = io.tensor<std::int64_t, 2>("attention_mask");
        tokens.token_type_ids = io.tensor<std::int64_t, 2>("token_type_ids");
    }

    template <class T, std::size_t N>
    [[nodiscard]] xt::xtensor<T, N> expected(const std::string& output) const {
        return io.tensor<T, N>(output + (sizeof(T) == 4 ? "_f32" : "_f64"));
    }
};

/// float: 1e-5 of max(1, max |expected|) (the issue allows 1e-4); double: 1e-11 of it.
template <class T, class A, class E>
void check_close(const A& actual, const E& expected) {
    REQUIRE(actual.shape() == expected.shape());
    double scale = 1.0;
    for (const auto value : expected) {
        scale = std::max(scale, std::abs(static_cast<double>(value)));
    }
    const double tolerance = (sizeof(T) == 4 ? 1e-5 : 1e-11) * scale;
    double worst = 0.0;
    for (std::size_t i = 0; i < expected.size(); ++i) {
        const double difference = std::abs(static_cast<double>(actual.data()[i]) -
                                           static_cast<double>(expected.data()[i]));
        worst = std::isnan(difference) ? INFINITY : std::max(worst, difference);
    }
    CAPTURE(tolerance);
    CHECK(worst <= tolerance);
}

/// A copy of `sd` without `dropped` and with `extra` tensors added.
eio::state_dict edited(const eio::state_dict& sd, const std::string& dropped,
                       const eio::state_dict& extra = eio::state_dict()) {
    eio::state_dict out("edited");
    for (const auto& [name, tensor] : sd) {
        if (name != dropped) {
            out.insert(name, tensor);
        }
    }
    for (const auto& [name, tensor] : extra) {
        out.insert(name, tensor);
    }
    return out;
}

} // namespace

TEST_CASE_TEMPLATE("bert_model matches transformers' BertModel and RobertaModel", T, float,
                   double) {
    for (const char* name : {"bert", "roberta"}) {
        for (const char* file : {".safetensors", ".pth"}) {
            CAPTURE(name);
            CAPTURE(file);
            const bert_case c(name);
            const auto sd = eio::load_state_dict(data_path(std::string(name) + file));
            CHECK(sd.contains("embeddings.position_ids") == (std::string(file) == ".pth"));
            const auto model = et::bert_model<T>::load(sd, "", c.config);
            CHECK(model.num_layers() == 2);
            REQUIRE(model.has_pooler());
            const xt::xtensor<T, 3> hidden = model.forward(c.tokens);
            check_close<T>(hidden, c.expected<T, 3>("last_hidden_state"));
            check_close<T>(model.pool(hidden), c.expected<T, 2>("pooler_output"));
        }
    }
}

TEST_CASE_TEMPLATE("bert_model: rows padded only at their ends (key lengths) match too", T, float,
                   double) {
    // Rows 0-2 of the fixture: full, padded after 6 tokens, padded after 1; no hole and no
    // empty row, so the mask becomes key lengths.
    for (const char* name : {"bert", "roberta"}) {
        CAPTURE(name);
        const bert_case c(name);
        const auto model = et::bert_model<T>::load(
            eio::load_state_dict(data_path(std::string(name) + ".pth")), "", c.config);
        et::bert_tokens tokens;
        tokens.input_ids = xt::view(c.tokens.input_ids, xt::range(0, 3), xt::all());
        tokens.attention_mask = xt::view(c.tokens.attention_mask, xt::range(0, 3), xt::all());
        tokens.token_type_ids = xt::view(c.tokens.token_type_ids, xt::range(0, 3), xt::all());
        const xt::xtensor<T, 3> expected =
            xt::view(c.expected<T, 3>("last_hidden_state"), xt::range(0, 3), xt::all(), xt::all());
        check_close<T>(model.forward(tokens), expected);
    }
}

TEST_CASE("bert_config: from config.json, and inferred from the shapes") {
    const auto bert = et::bert_config::from_json(read_json("bert.config.json"));
    CHECK(bert.vocab_size == 100);
    CHECK(bert.hidden_size == 32);
    CHECK(bert.num_hidden_layers == 2);
    CHECK(bert.num_attention_heads == 4);
    CHECK(bert.intermediate_size == 37);
    CHECK(bert.max_position_embeddings == 40);
    CHECK(bert.type_vocab_size == 2);
    CHECK(bert.layer_norm_eps == 1e-12);
    CHECK(bert.pad_token_id == 0);
    CHECK(bert.flavour == et::bert_flavour::bert);
    const auto roberta = et::bert_config::from_json(read_json("roberta.config.json"));
    CHECK(roberta.flavour == et::bert_flavour::roberta);
    CHECK(roberta.pad_token_id == 1);
    CHECK(roberta.layer_norm_eps == 1e-5);
    CHECK(roberta.type_vocab_size == 1);

    for (const auto& [name, config] : {std::pair{"bert", bert}, std::pair{"roberta", roberta}}) {
        CAPTURE(name);
        const auto sd = eio::load_state_dict(data_path(std::string(name) + ".pth"));
        const auto inferred = et::infer_bert_config(sd, "", 4, config.flavour);
        CHECK(inferred.vocab_size == config.vocab_size);
        CHECK(inferred.hidden_size == config.hidden_size);
        CHECK(inferred.num_hidden_layers == config.num_hidden_layers);
        CHECK(inferred.num_attention_heads == config.num_attention_heads);
        CHECK(inferred.intermediate_size == config.intermediate_size);
        CHECK(inferred.max_position_embeddings == config.max_position_embeddings);
        CHECK(inferred.type_vocab_size == config.type_vocab_size);
        CHECK(inferred.layer_norm_eps == config.layer_norm_eps);
        CHECK(inferred.pad_token_id == config.pad_token_id);
    }
    CHECK_THROWS_AS(
        (void)et::infer_bert_config(eio::load_state_dict(data_path("bert.pth")), "bert.", 4),
        emofuse::io_error);
}

TEST_CASE("bert_config: bad config.json values are refused, naming the key") {
    const auto base = read_json("bert.config.json");
    const auto refused = [&](const char* key, const nlohmann::json& value, const char* says) {
        nlohmann::json changed = base;
        if (value.is_null()) {
            changed.erase(key);
        } else {
            changed[key] = value;
        }
        CAPTURE(key);
        CHECK_THROWS_WITH_AS(et::bert_config::from_json(changed), doctest::Contains(says),
                             emofuse::value_error);
    };
    refused("hidden_size", nullptr, "'hidden_size': expected a positive integer, missing");
    refused("vocab_size", "100", "'vocab_size': expected a non-negative integer");
    refused("num_hidden_layers", -2, "'num_hidden_layers'");
    refused("hidden_act", "relu", "'hidden_act'");
    refused("position_embedding_type", "relative_key", "'position_embedding_type'");
    refused("model_type", "gpt2", "'model_type'");
    refused("layer_norm_eps", "small", "'layer_norm_eps'");
    refused("layer_norm_eps", 0.0, "layer_norm_eps");
    refused("type_vocab_size", 0, "type_vocab_size: expected at least 1");
    nlohmann::json uneven = base;
    uneven["num_attention_heads"] = 5;
    CHECK_THROWS_AS(et::bert_config::from_json(uneven), emofuse::shape_error);
    CHECK_THROWS_AS(et::bert_config::from_json(nlohmann::json::array()), emofuse::value_error);
}

TEST_CASE("bert_model loads a stock Hugging Face checkpoint layout") {
    const bert_case c("bert");
    const auto config = et::bert_config::from_json(read_json("stock_bert/config.json"));
    // BertForPreTraining's pytorch_model.bin: "bert." prefix, LayerNorm gamma/beta, a cls head.
    const auto bin = eio::load_state_dict(data_path("stock_bert/pytorch_model.bin"));
    CHECK(bin.contains("bert.embeddings.LayerNorm.gamma"));
    CHECK(bin.contains("cls.predictions.bias"));
    CHECK(et::hugging_face_prefix(bin) == "bert.");
    const auto from_bin = et::bert_model<float>::load(bin, et::hugging_face_prefix(bin), config);
    check_close<float>(from_bin.forward(c.tokens), c.expected<float, 3>("last_hidden_state"));
    // BertModel.save_pretrained's model.safetensors: no prefix.
    const auto st = eio::load_state_dict(data_path("stock_bert/model.safetensors"));
    CHECK(et::hugging_face_prefix(st).empty());
    const auto from_st = et::bert_model<float>::load(st, et::hugging_face_prefix(st), config);
    check_close<float>(from_st.pool(from_st.forward(c.tokens)),
                       c.expected<float, 2>("pooler_output"));
    CHECK_THROWS_AS(et::hugging_face_prefix(eio::load_state_dict(data_path("bert.io.npz"))),
                    emofuse::io_error);
}

TEST_CASE_TEMPLATE("bert_tokens::from_mmsa_text reads MMSA's (batch, 3, seq) rows", T, float,
                   double) {
    const bert_case c("bert");
    const std::size_t batch = c.tokens.batch();
    const std::size_t seq = c.tokens.seq();
    xt::xtensor<T, 3> text_bert = xt::xtensor<T, 3>::from_shape({batch, 3, seq});
    for (std::size_t b = 0; b < batch; ++b) {
        for (std::size_t t = 0; t < seq; ++t) {
            text_bert(b, 0, t) = static_cast<T>(c.tokens.input_ids(b, t));
            text_bert(b, 1, t) = static_cast<T>(c.tokens.attention_mask(b, t));
            text_bert(b, 2, t) = static_cast<T>(c.tokens.token_type_ids(b, t));
        }
    }
    const auto tokens = et::bert_tokens::from_mmsa_text(text_bert);
    CHECK(tokens.input_ids == c.tokens.input_ids);
    CHECK(tokens.attention_mask == c.tokens.attention_mask);
    CHECK(tokens.token_type_ids == c.tokens.token_type_ids);

    xt::xtensor<T, 3> fractional = text_bert;
    fractional(1, 0, 2) = T(7.5);
    CHECK_THROWS_WITH_AS(et::bert_tokens::from_mmsa_text(fractional),
                         doctest::Contains("input_ids[1, 2]: expected a whole number"),
                         emofuse::value_error);
    fractional(1, 0, 2) = std::numeric_limits<T>::quiet_NaN();
    CHECK_THROWS_AS(et::bert_tokens::from_mmsa_text(fractional), emofuse::value_error);
    CHECK_THROWS_AS(et::bert_tokens::from_mmsa_text(xt::xtensor<T, 3>::from_shape({2, 2, 4})),
                    emofuse::shape_error);
}

TEST_CASE("bert_model: embed and apply_layer compute what forward does") {
    const bert_case c("roberta");
    const auto model =
        et::bert_model<double>::load(eio::load_state_dict(data_path("roberta.pth")), "", c.config);
    xt::xtensor<double, 3> hidden = model.embed(c.tokens);
    for (std::size_t layer = 0; layer < model.num_layers(); ++layer) {
        model.apply_layer(layer, hidden, c.tokens);
    }
    CHECK(hidden == model.forward(c.tokens));
    CHECK_THROWS_AS(model.apply_layer(2, hidden, c.tokens), emofuse::value_error);
    xt::xtensor<double, 3> narrow = xt::zeros<double>({5ul, 9ul, 31ul});
    CHECK_THROWS_AS(model.apply_layer(0, narrow, c.tokens), emofuse::shape_error);
}

TEST_CASE("bert_model: defaults for an absent mask and absent token types") {
    const bert_case c("bert");
    const auto model =
        et::bert_model<double>::load(eio::load_state_dict(data_path("bert.pth")), "", c.config);
    et::bert_tokens explicit_defaults;
    explicit_defaults.input_ids = c.tokens.input_ids;
    explicit_defaults.attention_mask = xt::ones<std::int64_t>(c.tokens.input_ids.shape());
    explicit_defaults.token_type_ids = xt::zeros<std::int64_t>(c.tokens.input_ids.shape());
    et::bert_tokens implicit;
    implicit.input_ids = c.tokens.input_ids;
    CHECK(model.forward(implicit) == model.forward(explicit_defaults));
}

TEST_CASE("bert_model: bad tokens are refused with the offending value") {
    const bert_case c("bert");
    const auto model =
        et::bert_model<float>::load(eio::load_state_dict(data_path("bert.pth")), "", c.config);
    const auto refused = [&](const et::bert_tokens& tokens, const char* says) {
        CHECK_THROWS_WITH(model.forward(tokens), doctest::Contains(says));
    };
    et::bert_tokens bad = c.tokens;
    bad.input_ids(1, 3) = 100;
    refused(bad, "input_ids[1, 3] = 100: expected in [0, 100)");
    bad.input_ids(1, 3) = -1;
    CHECK_THROWS_AS(model.forward(bad), emofuse::value_error);
    bad = c.tokens;
    bad.token_type_ids(0, 0) = 2;
    refused(bad, "token_type_ids[0, 0] = 2: expected in [0, 2)");
    bad = c.tokens;
    bad.attention_mask(2, 5) = 2;
    refused(bad, "attention_mask[2, 5] = 2");
    bad = c.tokens;
    bad.attention_mask = xt::ones<std::int64_t>({5ul, 8ul});
    CHECK_THROWS_AS(model.forward(bad), emofuse::shape_error);
    bad = c.tokens;
    bad.token_type_ids = xt::zeros<std::int64_t>({4ul, 9ul});
    CHECK_THROWS_AS(model.forward(bad), emofuse::shape_error);
    et::bert_tokens long_rows;
    long_rows.input_ids = xt::full_like(xt::xtensor<std::int64_t, 2>::from_shape({1, 41}), 5);
    refused(long_rows, "sequence length 41 exceeds max_position_embeddings 40");
    et::bert_tokens empty_rows;
    empty_rows.input_ids = xt::xtensor<std::int64_t, 2>::from_shape({2, 0});
    CHECK_THROWS_AS(model.forward(empty_rows), emofuse::value_error);
    CHECK_THROWS_AS(model.pool(xt::xtensor<float, 3>::from_shape({2, 3, 31})),
                    emofuse::shape_error);

    // RoBERTa's positions run past the table only over non-padding tokens (pad id 1).
    const bert_case r("roberta");
    const auto roberta =
        et::bert_model<float>::load(eio::load_state_dict(data_path("roberta.pth")), "", r.config);
    et::bert_tokens padded;
    padded.input_ids = xt::full_like(xt::xtensor<std::int64_t, 2>::from_shape({1, 45}), 1);
    std::fill_n(padded.input_ids.data(), 38, 7); // positions 2..39: the last row of the table
    CHECK_NOTHROW((void)roberta.forward(padded));
    padded.input_ids(0, 40) = 7;
    CHECK_THROWS_WITH(roberta.forward(padded), doctest::Contains("RoBERTa position 40"));
}

TEST_CASE("bert_model::load: missing, extra and mis-shaped tensors") {
    const bert_case c("bert");
    const auto sd = eio::load_state_dict(data_path("bert.pth"));
    CHECK_THROWS_WITH_AS(et::bert_model<float>::load(
                             edited(sd, "encoder.layer.1.attention.self.key.bias"), "", c.config),
                         doctest::Contains("encoder.layer.1.attention.self.key.bias"),
                         emofuse::io_error);
    CHECK_THROWS_AS(
        et::bert_model<float>::load(edited(sd, "encoder.layer.0.output.dense.bias"), "", c.config),
        emofuse::io_error);

    eio::state_dict extra;
    extra.insert("encoder.layer.2.output.dense.bias", xt::xtensor<float, 1>::from_shape({32}));
    CHECK_THROWS_WITH_AS(et::bert_model<float>::load(edited(sd, "", extra), "", c.config),
                         doctest::Contains("'encoder.layer.2.output.dense.bias'"),
                         emofuse::value_error);

    eio::state_dict wrong;
    wrong.insert("encoder.layer.0.intermediate.dense.weight",
                 xt::xtensor<float, 2>::from_shape({36, 32}));
    CHECK_THROWS_WITH_AS(
        et::bert_model<float>::load(edited(sd, "encoder.layer.0.intermediate.dense.weight", wrong),
                                    "", c.config),
        doctest::Contains("encoder.layer.0.intermediate.dense.weight"), emofuse::shape_error);

    eio::state_dict shifted;
    xt::xtensor<std::int64_t, 2> ids = xt::xtensor<std::int64_t, 2>::from_shape({1, 40});
    for (std::size_t i = 0; i < 40; ++i) {
        ids(0, i) = static_cast<std::int64_t>(i + 1);
    }
    shifted.insert("embeddings.position_ids", ids);
    CHECK_THROWS_WITH_AS(
        et::bert_model<float>::load(edited(sd, "embeddings.position_ids", shifted), "", c.config),
        doctest::Contains("position_ids"), emofuse::value_error);

    // A configuration that does not fit the weights.
    et::bert_config bigger = c.config;
    bigger.hidden_size = 64;
    CHECK_THROWS_AS(et::bert_model<float>::load(sd, "", bigger), emofuse::shape_error);
    et::bert_config deeper = c.config;
    deeper.num_hidden_layers = 3;
    CHECK_THROWS_WITH_AS(et::bert_model<float>::load(sd, "", deeper),
                         doctest::Contains("encoder.layer.2."), emofuse::io_error);

    // No pooler stored: forward works, pool says why it cannot.
    eio::state_dict no_pooler = edited(edited(sd, "pooler.dense.weight"), "pooler.dense.bias");
    const auto model = et::bert_model<float>::load(no_pooler, "", c.config);
    CHECK_FALSE(model.has_pooler());
    CHECK_THROWS_WITH_AS(model.pool(model.forward(c.tokens)), doctest::Contains("no pooler"),
                         emofuse::value_error);
}

namespace {

/// generate_bert_base_formula.py's weights: tensor t, element i →
/// u = ((i·2654435761 + (t+1)·40503) mod 2^32) / 2^32 − 0.5, then 0.08·u (matrices,
/// embeddings), 1 + 0.2·u (LayerNorm weights) or 0.04·u (biases); computed in double and
/// rounded once to T, as the generator's float32 copy of its float64 model is.
template <class T>
eio::state_dict bert_base_formula_weights(const et::bert_config& config) {
    const auto tensors = et::bert_parameter_shapes(config);
    eio::state_dict sd("bert-base formula");
    for (std::size_t t = 0; t < tensors.size(); ++t) {
        const auto& [name, shape] = tensors[t];
        const bool layer_norm_weight = name.find("LayerNorm.weight") != std::string::npos;
        const bool bias = name.ends_with("bias");
        const auto fill = [&](auto& values) {
            for (std::size_t i = 0; i < values.size(); ++i) {
                const std::uint64_t bits =
                    (static_cast<std::uint64_t>(i) * 2654435761ULL + (t + 1) * 40503ULL) &
                    0xFFFFFFFFULL;
                const double u = static_cast<double>(bits) / 4294967296.0 - 0.5;
                values.data()[i] =
                    static_cast<T>(layer_norm_weight ? 1.0 + 0.2 * u : (bias ? 0.04 : 0.08) * u);
            }
        };
        if (shape.size() == 1) {
            auto values = xt::xtensor<T, 1>::from_shape({shape[0]});
            fill(values);
            sd.insert(name, values);
        } else {
            auto values = xt::xtensor<T, 2>::from_shape({shape[0], shape[1]});
            fill(values);
            sd.insert(name, values);
        }
    }
    return sd;
}

} // namespace

TEST_CASE_TEMPLATE("bert_model matches BertModel at bert-base shapes (weights from a formula)", T,
                   float, double) {
    // generate_bert_base_formula.py: bert-base-uncased's sizes, 2 rows of 11 tokens (the second
    // padded after 7), token types 0 and 1, outputs of the stand-in BertModel.
    const auto config = et::bert_config::bert_base();
    const auto io = eio::load_npz(data_path("bert_base_formula.npz"));
    et::bert_tokens tokens;
    tokens.input_ids = io.tensor<std::int64_t, 2>("input_ids");
    tokens.attention_mask = io.tensor<std::int64_t, 2>("attention_mask");
    tokens.token_type_ids = io.tensor<std::int64_t, 2>("token_type_ids");
    // bert-base-uncased's BertModel stores 199 tensors (5 embedding, 16 per layer, 2 pooler).
    REQUIRE(et::bert_parameter_shapes(config).size() == 199);
    const auto model = et::bert_model<T>::load(bert_base_formula_weights<T>(config), "", config);
    const auto hidden = model.forward(tokens);
    const std::string suffix = sizeof(T) == 4 ? "_f32" : "_f64";
    check_close<T>(hidden, io.tensor<T, 3>("last_hidden_state" + suffix));
    check_close<T>(model.pool(hidden), io.tensor<T, 2>("pooler_output" + suffix));
}
