// MMSA's BERT-era models BERT_MAG, CENET, ALMT and TETFN against the outputs MMSA's own code
// computed (generate_bert_fixtures.py, with the transformers / pytorch_transformers / einops
// stand-ins), their checkpoints' names and shapes, and bad inputs. One table row per model;
// every test case runs for each row.
#include "subnet_models_testing.hpp"

#include <emofuse/io/load_state_dict.hpp>
#include <emofuse/models/almt.hpp>
#include <emofuse/models/bert_mag.hpp>
#include <emofuse/models/cenet.hpp>
#include <emofuse/models/mmsa_zoo.hpp>
#include <emofuse/models/tetfn.hpp>

#include <doctest/doctest.h>

#include <cstddef>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace {

namespace em = emofuse::models;
namespace smt = subnet_models_testing;

/// A row: MMSA's model name, the checkpoint file's extension (ALMT's ~2 MB checkpoint is
/// committed as .pth only), the train modes its fixtures were written for (ALMT's code never
/// reads train_mode: its one checkpoint is loaded under both), the outputs forward returns and
/// every key compared, the tensors the bad-checkpoint checks remove and mis-shape, and the
/// float64 tolerance (float32: 1e-5·(1 + |e|) for all).
struct bert_mag_row {
    template <class T>
    using model = em::bert_mag<T>;
    static constexpr const char* name = "bert_mag";
    static constexpr const char* extension = ".safetensors";
    static constexpr bool one_mode = false;
    static std::vector<std::string> heads() { return {"M"}; }
    static constexpr const char* removed = "Model.model.bert.MAG.W_a.bias";
    static constexpr const char* reshaped = "Model.model.bert.MAG.W_hv.weight";
    static constexpr double double_tolerance = 1e-10;
};

struct cenet_row {
    template <class T>
    using model = em::cenet<T>;
    static constexpr const char* name = "cenet";
    static constexpr const char* extension = ".safetensors";
    static constexpr bool one_mode = false;
    static std::vector<std::string> heads() { return {"M"}; }
    static constexpr const char* removed = "Model.bert.embeddings.polarity_embeddings.weight";
    static constexpr const char* reshaped = "Model.bert.encoder.CE.ha.Wk.weight";
    static constexpr double double_tolerance = 1e-10;
};

struct almt_row {
    template <class T>
    using model = em::almt<T>;
    static constexpr const char* name = "almt";
    static constexpr const char* extension = ".pth";
    static constexpr bool one_mode = true;
    static std::vector<std::string> heads() { return {"M"}; }
    static constexpr const char* removed = "Model.h_hyper_layer.layers.1.0.fn.to_v_tv.weight";
    static constexpr const char* reshaped = "Model.embedding_a.1.pos_embedding";
    static constexpr double double_tolerance = 1e-10;
};

struct tetfn_row {
    template <class T>
    using model = em::tetfn<T>;
    static constexpr const char* name = "tetfn";
    static constexpr const char* extension = ".safetensors";
    static constexpr bool one_mode = false;
    static std::vector<std::string> heads() { return {"M", "T", "A", "V"}; }
    static constexpr const char* removed = "Model.trans_v_with_a.upper_mha.layers.1.fc2.bias";
    static constexpr const char* reshaped = "Model.video_model.conv.weight";
    /// MMSA's float64 TETFN is not float64 throughout: multihead_attention.py rounds every
    /// attention probability to float32 (softmax of attn_weights.float()) and
    /// SinusoidalPositionalEmbedding builds its table in float32 (dtype=torch.float), so its
    /// crossmodal outputs agree with emofuse's exact ones to float32's rounding there.
    static constexpr double double_tolerance = 1e-7;
};

const char* mode_name(em::train_mode mode) {
    return mode == em::train_mode::regression ? "regression" : "classification";
}

/// The row's fixture for `mode` (ALMT: its one regression checkpoint and outputs, with the
/// configuration loaded under `mode`).
template <class Row>
smt::fixture load_case(em::train_mode mode) {
    const std::string stem = std::string(Row::name) + "_mosi_" +
                             mode_name(Row::one_mode ? em::train_mode::regression : mode);
    return {em::mmsa_config::load(smt::data_path(stem + ".config.json"), Row::name, "mosi", mode),
            emofuse::io::load_state_dict(smt::data_path(stem + Row::extension)),
            emofuse::io::load_npz(smt::data_path(stem + ".inputs.npz")),
            emofuse::io::load_npz(smt::data_path(stem + ".expected.npz"))};
}

template <class T>
xt::xtensor<T, 3> converted(const xt::xtensor<float, 3>& x) {
    xt::xtensor<T, 3> y = xt::xtensor<T, 3>::from_shape(x.shape());
    std::copy(x.begin(), x.end(), y.begin());
    return y;
}

/// text_bert, audio, vision through MMSA's loader steps and AMIO's alignment (in float, as
/// MMSA's loader; converted for double).
template <class T>
em::mmsa_batch<T> prepared(em::mmsa_config& config, const emofuse::io::state_dict& raw) {
    const auto batch =
        em::prepare_mmsa_inputs(config, em::mmsa_batch<float>{raw.tensor<float, 3>("text_bert"),
                                                              raw.tensor<float, 3>("audio"),
                                                              raw.tensor<float, 3>("vision")});
    return {converted<T>(batch.text), converted<T>(batch.audio), converted<T>(batch.vision)};
}

template <class Model, class T>
em::mmsa_outputs<T> all_outputs(const Model& model, const em::mmsa_batch<T>& inputs) {
    if constexpr (requires { model.forward_with_features(inputs); }) {
        return model.forward_with_features(inputs);
    } else {
        return model.forward(inputs);
    }
}

/// Every output MMSA's expected.npz holds (M, and T/A/V/Feature_* where MMSA returns them).
std::vector<std::string> expected_keys(const emofuse::io::state_dict& expected) {
    std::vector<std::string> keys;
    for (const auto& name : expected.names()) {
        if (!name.ends_with("_f64")) {
            keys.push_back(name);
        }
    }
    return keys;
}

template <class Row, class T>
void check_fixture_case(em::train_mode mode) {
    auto fx = load_case<Row>(mode);
    const auto inputs = prepared<T>(fx.config, fx.inputs);
    const auto model = Row::template model<T>::load(fx.config, fx.weights);
    CHECK(model.output_dim() == 1); // every head of these models is Linear(·, 1)
    const auto outputs = all_outputs(model, inputs);
    const auto keys = expected_keys(fx.expected);
    CHECK(outputs.size() == keys.size());
    smt::check_outputs(outputs, fx.expected, keys, std::string(Row::name) + " " + mode_name(mode),
                       std::is_same_v<T, double> ? std::optional<double>(Row::double_tolerance)
                                                 : std::nullopt);
    const auto plain = model.forward(inputs);
    CHECK(plain.size() == Row::heads().size());
    for (const auto& key : Row::heads()) {
        CHECK(plain.at(key) == outputs.at(key));
    }
}

} // namespace

TYPE_TO_STRING_AS("bert_mag", bert_mag_row);
TYPE_TO_STRING_AS("cenet", cenet_row);
TYPE_TO_STRING_AS("almt", almt_row);
TYPE_TO_STRING_AS("tetfn", tetfn_row);

TEST_CASE_TEMPLATE("BERT models (b): MMSA's outputs, both modes, float and double", Row,
                   bert_mag_row, cenet_row, almt_row, tetfn_row) {
    for (const auto mode : {em::train_mode::regression, em::train_mode::classification}) {
        check_fixture_case<Row, float>(mode);
        check_fixture_case<Row, double>(mode);
    }
}

TEST_CASE_TEMPLATE("BERT models (b): the zoo table loads each from its configuration", Row,
                   bert_mag_row, cenet_row, almt_row, tetfn_row) {
    auto fx = load_case<Row>(em::train_mode::regression);
    const auto inputs = prepared<float>(fx.config, fx.inputs);
    const auto model = em::load_mmsa_model<float>(fx.config, fx.weights);
    CHECK(model.name() == Row::name);
    const auto outputs = model.forward(inputs);
    const auto direct = Row::template model<float>::load(fx.config, fx.weights).forward(inputs);
    REQUIRE(model.output_names().size() == Row::heads().size());
    for (const auto& key : Row::heads()) {
        CHECK(outputs.at(key) == direct.at(key));
    }
}

TEST_CASE_TEMPLATE("BERT models (b): missing, extra and mis-shaped tensors are errors naming them",
                   Row, bert_mag_row, cenet_row, almt_row, tetfn_row) {
    auto fx = load_case<Row>(em::train_mode::regression);
    const auto load = [&](const emofuse::io::state_dict& sd) {
        static_cast<void>(Row::template model<float>::load(fx.config, sd));
    };
    CHECK_NOTHROW(load(fx.weights));

    emofuse::io::state_dict without("<without>");
    for (const auto& [name, stored] : fx.weights) {
        if (name != Row::removed) {
            without.insert(name, stored);
        }
    }
    REQUIRE(without.names().size() + 1 == fx.weights.names().size());
    CHECK_THROWS_WITH(load(without), doctest::Contains(Row::removed));

    auto extra = fx.weights;
    extra.insert("Model.extra_head.weight", xt::xtensor<float, 2>({2, 2}, 0.0f));
    CHECK_THROWS_WITH(load(extra), doctest::Contains("Model.extra_head.weight"));

    const auto& stored = fx.weights.at(Row::reshaped);
    emofuse::io::stored_tensor grown = stored;
    grown.shape[0] += 1;
    grown.bytes.resize(grown.bytes.size() / stored.shape[0] * grown.shape[0]);
    emofuse::io::state_dict misshaped("<misshaped>");
    for (const auto& [name, tensor] : fx.weights) {
        misshaped.insert(name, name == Row::reshaped ? grown : tensor);
    }
    CHECK_THROWS_WITH(load(misshaped), doctest::Contains(Row::reshaped));
}

TEST_CASE_TEMPLATE("BERT models (b): bad text_bert and mismatched modalities are clear errors", Row,
                   bert_mag_row, cenet_row, almt_row, tetfn_row) {
    auto fx = load_case<Row>(em::train_mode::regression);
    const auto inputs = prepared<float>(fx.config, fx.inputs);
    const auto model = Row::template model<float>::load(fx.config, fx.weights);
    const auto forward = [&](const em::mmsa_batch<float>& batch) {
        static_cast<void>(model.forward(batch));
    };

    auto fractional = inputs;
    fractional.text(1, 0, 2) += 0.5f;
    CHECK_THROWS_WITH_AS(forward(fractional), doctest::Contains("whole number"),
                         emofuse::value_error);

    auto out_of_vocabulary = inputs;
    out_of_vocabulary.text(0, 0, 1) = 100.0f; // the fixtures' BERT has 100 ids
    CHECK_THROWS_AS(forward(out_of_vocabulary), emofuse::value_error);

    auto feature_text = inputs;
    feature_text.text =
        xt::zeros<float>({inputs.text.shape(0), inputs.text.shape(2), std::size_t{32}});
    CHECK_THROWS_WITH_AS(forward(feature_text), doctest::Contains("text_bert"),
                         emofuse::shape_error);

    auto narrow = inputs;
    narrow.audio =
        xt::zeros<float>({inputs.audio.shape(0), inputs.audio.shape(1), inputs.audio.shape(2) + 1});
    CHECK_THROWS_WITH_AS(forward(narrow), doctest::Contains("audio"), emofuse::shape_error);

    auto short_batch = inputs;
    short_batch.vision =
        xt::zeros<float>({std::size_t{3}, inputs.vision.shape(1), inputs.vision.shape(2)});
    CHECK_THROWS_WITH_AS(forward(short_batch), doctest::Contains("vision"), emofuse::shape_error);
}

TEST_CASE("BERT models (b): with use_bert, seq_lens take text_bert's token count") {
    auto fx = load_case<tetfn_row>(em::train_mode::regression);
    const auto raw_text = fx.inputs.tensor<float, 3>("text_bert");
    REQUIRE(raw_text.shape(1) == 3);
    REQUIRE(raw_text.shape(2) != 3);
    // AMIO's alignment target is seq_lens[0]: the token count, as MMDataset.get_seq_len gives it.
    auto unaligned = fx.config;
    unaligned.set("need_model_aligned", false);
    static_cast<void>(prepared<float>(unaligned, fx.inputs));
    CHECK(unaligned.seq_lens()[0] == raw_text.shape(2));
    const auto aligned = prepared<float>(fx.config, fx.inputs);
    CHECK(fx.config.at("seq_lens") == raw_text.shape(2));
    CHECK(aligned.audio.shape(1) == raw_text.shape(2));
}

TEST_CASE("BERT models (b): BERT's head count comes from the configuration or hidden / 64") {
    auto fx = load_case<cenet_row>(em::train_mode::regression);
    auto config = fx.config;
    REQUIRE(config.size("bert_num_attention_heads") == 4);
    config.set("bert_num_attention_heads", 2);
    const auto inputs = prepared<double>(config, fx.inputs);
    const auto four = em::cenet<double>::load(fx.config, fx.weights).forward(inputs).at("M");
    const auto two = em::cenet<double>::load(config, fx.weights).forward(inputs).at("M");
    CHECK(two != four);
    CHECK(em::cenet<double>::load(config, fx.weights).bert().config().num_attention_heads == 2);
    // Without the key, hidden_size / 64: the fixtures' 32-wide BERT has no such count.
    nlohmann::json arguments = fx.config.arguments();
    arguments.erase("bert_num_attention_heads");
    const auto unkeyed = em::mmsa_config::from_merged(arguments, em::train_mode::regression);
    CHECK_THROWS_WITH_AS(static_cast<void>(em::cenet<double>::load(unkeyed, fx.weights)),
                         doctest::Contains("bert_num_attention_heads"), emofuse::value_error);
}

TEST_CASE("BERT models (b): ALMT refuses configurations its fixed sizes cannot run") {
    auto fx = load_case<almt_row>(em::train_mode::regression);
    auto config = fx.config;
    config.set("dst_embedding_length", 4);
    CHECK_THROWS_WITH_AS(static_cast<void>(em::almt<float>::load(config, fx.weights)),
                         doctest::Contains("h[:, :8]"), emofuse::value_error);
    auto inputs = prepared<float>(fx.config, fx.inputs);
    const auto model = em::almt<float>::load(fx.config, fx.weights);
    // feature_length[1] is 13: a longer audio sequence has no positions in ALMT's table.
    inputs.audio =
        xt::zeros<float>({inputs.audio.shape(0), std::size_t{14}, inputs.audio.shape(2)});
    CHECK_THROWS_WITH_AS(static_cast<void>(model.forward(inputs)),
                         doctest::Contains("feature_length"), emofuse::shape_error);
}
