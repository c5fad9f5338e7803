// MMSA's MULT (src/MMSA/models/singleTask/MULT.py) against the outputs MMSA's own forward
// computed (tests/models/generate_fixtures.py), the state-dict names and shapes of every
// shipped configuration, and the errors of bad checkpoints and inputs.
#include <emofuse/io/npz.hpp>
#include <emofuse/io/safetensors.hpp>
#include <emofuse/io/state_dict.hpp>
#include <emofuse/models/mult.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace em = emofuse::models;
namespace io = emofuse::io;

std::string data_path(const std::string& name) {
    return std::string(EMOFUSE_TEST_DATA_DIR) + "/" + name;
}

nlohmann::json read_json(const std::string& name) {
    std::ifstream input(data_path(name));
    REQUIRE(input);
    return nlohmann::json::parse(input);
}

std::string message_of(auto&& action) {
    try {
        action();
    } catch (const std::exception& error) {
        return error.what();
    }
    return "(no error)";
}

em::train_mode mode_named(const std::string& mode) {
    return mode == "classification" ? em::train_mode::classification : em::train_mode::regression;
}

struct fixture {
    em::mmsa_config config;
    io::state_dict weights;
    io::state_dict inputs;
    io::state_dict expected;
};

/// The fixture `mult_<dataset><suffix>_<mode>`.
fixture load_fixture(const std::string& mode, const std::string& dataset = "mosi",
                     const std::string& suffix = "") {
    const std::string name = "mult_" + dataset + suffix + "_" + mode;
    return {
        em::mmsa_config::load(data_path(name + ".config.json"), "mult", dataset, mode_named(mode)),
        io::load_safetensors(data_path(name + ".safetensors")),
        io::load_npz(data_path(name + ".inputs.npz")),
        io::load_npz(data_path(name + ".expected.npz"))};
}

template <class T>
em::mmsa_batch<T> raw_batch(const io::state_dict& inputs) {
    return {inputs.tensor<T, 3>("text"), inputs.tensor<T, 3>("audio"),
            inputs.tensor<T, 3>("vision")};
}

/// max |got − want| / (1 + |want|) over the array.
template <class T>
double max_scaled_error(const xt::xtensor<T, 2>& got, const xt::xtensor<double, 2>& want) {
    REQUIRE(got.shape(0) == want.shape(0));
    REQUIRE(got.shape(1) == want.shape(1));
    double worst = 0;
    for (std::size_t i = 0; i < want.size(); ++i) {
        const double error = std::abs(static_cast<double>(got.data()[i]) - want.data()[i]) /
                             (1 + std::abs(want.data()[i]));
        worst = std::max(worst, error);
    }
    return worst;
}

template <class T>
void check_against_mmsa(const fixture& loaded, const std::string& mode, const char* suffix,
                        double tolerance) {
    auto f = loaded;
    const auto prepared = em::prepare_mmsa_inputs(f.config, raw_batch<T>(f.inputs));
    const auto model = em::mult<T>::load(f.config, f.weights);
    CHECK(model.output_dim() == (mode == "classification" ? 3u : 1u));
    const auto outputs = model.forward_with_features(prepared);
    REQUIRE(outputs.size() == 5);
    for (const char* key : {"M", "Feature_t", "Feature_a", "Feature_v", "Feature_f"}) {
        const auto want = f.expected.tensor<double, 2>(std::string(key) + suffix);
        const double error = max_scaled_error(outputs.at(key), want);
        std::ostringstream report;
        report << mode << (sizeof(T) == 4 ? " float " : " double ") << key
               << ": max |error|/(1+|x|) = " << error;
        MESSAGE(report.str());
        CHECK(error <= tolerance);
    }
    const auto m_only = model.forward(prepared);
    REQUIRE(m_only.size() == 1);
    CHECK(m_only.at("M") == outputs.at("M"));
}

/// A state dict of zeros with exactly the names and shapes of `manifest`.
io::state_dict zeros_like(const nlohmann::json& manifest) {
    io::state_dict sd("zeros");
    for (const auto& [name, shape_json] : manifest.items()) {
        io::stored_tensor tensor;
        tensor.type = io::dtype::f32;
        tensor.shape = shape_json.get<std::vector<std::size_t>>();
        std::size_t count = 1;
        for (const std::size_t extent : tensor.shape) {
            count *= extent;
        }
        tensor.bytes.assign(count * sizeof(float), std::byte{0});
        sd.insert(name, std::move(tensor));
    }
    return sd;
}

/// `sd` without `removed`, with `extra` added (zeros of `extra_shape`) when not empty, and
/// with `reshaped` given `new_shape` when not empty.
io::state_dict edited(const io::state_dict& sd, const std::string& removed,
                      const std::string& extra = {}, const std::vector<std::size_t>& shape = {}) {
    io::state_dict result("edited");
    for (const auto& name : sd.names()) {
        if (name != removed) {
            result.insert(name, sd.at(name));
        }
    }
    if (!extra.empty()) {
        io::stored_tensor tensor;
        tensor.shape = shape;
        std::size_t count = 1;
        for (const std::size_t extent : shape) {
            count *= extent;
        }
        tensor.bytes.assign(count * sizeof(float), std::byte{0});
        result.insert(extra, std::move(tensor));
    }
    return result;
}

} // namespace

TEST_CASE("mult matches MMSA's forward on the MOSI fixtures (float and double)") {
    for (const std::string mode : {"regression", "classification"}) {
        INFO(mode);
        const auto f = load_fixture(mode);
        check_against_mmsa<float>(f, mode, "", 1e-5);
        // MMSA's float64 reference is not float64 throughout: its MultiheadAttention takes the
        // softmax of `attn_weights.float()`, so every attention probability is rounded to
        // float32 (~1e-7 off). With that cast removed, MMSA's float64 outputs and these agree
        // to 1e-15 (checked when this test was written).
        check_against_mmsa<double>(f, mode, "_f64", 1e-6);
    }
}

TEST_CASE("mult matches MMSA with kernels 5/3/1, a skipped projection and attn_mask false") {
    // generate_mult_fixtures.py: d = 5 = audio's width, so MULT never applies proj_a (3 steps
    // would be lost otherwise); vision's kernel-1 projection keeps its 9 steps; no future mask.
    const auto f = load_fixture("regression", "mosei", "_mixed");
    check_against_mmsa<float>(f, "mixed regression", "", 1e-5);
    check_against_mmsa<double>(f, "mixed regression", "_f64", 1e-6);
    const auto model = em::mult<float>::load(f.config, f.weights);
    CHECK(model.core().parameters().crossmodal[0].layer_count() == 1);
    CHECK(model.core().parameters().memory[0].layer_count() == 3);
    CHECK_FALSE(model.core().parameters().memory[1].options().mask_future);
}

TEST_CASE("mult loads every shipped MMSA configuration's state dict, names and shapes exact") {
    const auto all = read_json("config_regression.json");
    const auto manifests = read_json("mmsa_state_dict_shapes.json");
    std::size_t cases = 0;
    for (const auto& [key, manifest] : manifests.items()) {
        if (!key.starts_with("mult/")) {
            continue;
        }
        ++cases;
        INFO(key);
        const auto second = key.find('/', 5);
        const std::string dataset = key.substr(5, second - 5);
        const std::string mode = key.substr(second + 1);
        const auto config = em::mmsa_config::from_mmsa(all, "mult", dataset, mode_named(mode));
        const auto sd = zeros_like(manifest);
        const auto model = em::mult<float>::load(config, sd);
        CHECK(model.output_dim() == config.output_dim());
        const std::size_t d = config.sizes("dst_feature_dim_nheads", 2)[0];

        // MulT's encoders as MMSA builds them: no positions, the future mask from attn_mask.
        const auto& p = model.core().parameters();
        CHECK_FALSE(p.crossmodal[0].options().add_positions);
        CHECK(p.crossmodal[0].options().mask_future == config.flag("attn_mask"));
        CHECK(p.crossmodal[0].layer_count() == config.size("nlevels"));
        CHECK(p.memory[2].layer_count() == std::max<std::size_t>(config.size("nlevels"), 3));

        for (const std::string removed :
             {"Model.proj_v.weight", "Model.proj1.bias", "Model.trans_a_mem.layers.2.fc2.bias",
              "Model.trans_v_with_l.version"}) {
            const auto message =
                message_of([&] { (void)em::mult<float>::load(config, edited(sd, removed)); });
            INFO(message);
            CHECK(message.find("lacks 1 tensor") != std::string::npos);
            CHECK(message.find("'" + removed + "'") != std::string::npos);
        }
        for (const auto& [extra, shape] :
             std::vector<std::pair<std::string, std::vector<std::size_t>>>{
                 {"Model.proj_l.bias", {d}},
                 // one layer more than nlevels: not counted as a layer, reported unused
                 {"Model.trans_l_with_a.layers." + std::to_string(config.size("nlevels")) +
                      ".self_attn.in_proj_weight",
                  {3 * d, d}},
                 {"Model.something_else", {1}}}) {
            const auto message = message_of(
                [&] { (void)em::mult<float>::load(config, edited(sd, "", extra, shape)); });
            INFO(message);
            CHECK(message.find("does not use") != std::string::npos);
            CHECK(message.find("'" + extra + "'") != std::string::npos);
        }
        for (const std::string reshaped :
             {"Model.proj_a.weight", "Model.trans_l_mem.layers.1.self_attn.in_proj_weight",
              "Model.out_layer.weight", "Model.trans_v_with_a.layer_norm.bias"}) {
            auto shape = manifest.at(reshaped).get<std::vector<std::size_t>>();
            shape.back() += 1;
            const auto message = message_of([&] {
                (void)em::mult<float>::load(config, edited(sd, reshaped, reshaped, shape));
            });
            INFO(message);
            CHECK(message.find("'" + reshaped + "'") != std::string::npos);
            CHECK(message.find("expected rank") != std::string::npos);
        }
    }
    CHECK(cases == 8);
}

TEST_CASE("mult: bad inputs are shape errors naming the modality") {
    auto f = load_fixture("regression");
    const auto prepared = em::prepare_mmsa_inputs(f.config, raw_batch<float>(f.inputs));
    const auto model = em::mult<float>::load(f.config, f.weights);

    auto wide_audio = prepared;
    wide_audio.audio = xt::zeros<float>({4, 11, 6});
    auto message = message_of([&] { (void)model.forward(wide_audio); });
    CHECK(message.find("audio features: expected 5") != std::string::npos);
    CHECK_THROWS_AS((void)model.forward(wide_audio), emofuse::shape_error);

    auto short_batch = prepared;
    short_batch.vision = xt::zeros<float>({3, 9, 7});
    message = message_of([&] { (void)model.forward(short_batch); });
    CHECK(message.find("vision batch: expected 4") != std::string::npos);
    CHECK_THROWS_AS((void)model.forward(short_batch), emofuse::shape_error);

    auto short_text = prepared;
    short_text.text = xt::zeros<float>({4, 4, 16});
    message = message_of([&] { (void)model.forward(short_text); });
    CHECK(message.find("text steps: expected at least 5") != std::string::npos);
    CHECK_THROWS_AS((void)model.forward(short_text), emofuse::shape_error);
}

TEST_CASE("mult: configuration errors name the key") {
    auto f = load_fixture("regression");
    auto bert = f.config;
    bert.set("use_bert", true);
    CHECK(message_of([&] { (void)em::mult<float>::load(bert, f.weights); }).find("use_bert") !=
          std::string::npos);
    auto heads = f.config;
    heads.set("dst_feature_dim_nheads", nlohmann::json::array({8, 3}));
    CHECK(message_of([&] {
              (void)em::mult<float>::load(heads, f.weights);
          }).find("dst_feature_dim_nheads") != std::string::npos);
    auto no_mask = f.config;
    no_mask.set("attn_mask", false);
    const auto unmasked = em::mult<float>::load(no_mask, f.weights);
    CHECK_FALSE(unmasked.core().parameters().memory[0].options().mask_future);
}

TEST_CASE("mult skips a projection whose input width is already d, as MULT does") {
    // Audio features widened to d = 8: MULT still holds proj_a (8, 8, 5) but never applies it,
    // so audio keeps its 3 steps (fewer than the kernel) and proj_a's values do not matter.
    auto f = load_fixture("regression");
    auto config = f.config;
    config.set("feature_dims", nlohmann::json::array({16, 8, 7}));
    auto with_weights = [&](float fill) {
        io::state_dict sd("identity");
        for (const auto& name : f.weights.names()) {
            if (name != "Model.proj_a.weight") {
                sd.insert(name, f.weights.at(name));
            }
        }
        sd.insert("Model.proj_a.weight", xt::xtensor<float, 3>(xt::ones<float>({8, 8, 5}) * fill));
        return sd;
    };
    auto batch = em::prepare_mmsa_inputs(config, raw_batch<float>(f.inputs));
    batch.audio = xt::xtensor<float, 3>::from_shape({4, 3, 8});
    for (std::size_t i = 0; i < batch.audio.size(); ++i) {
        batch.audio.data()[i] = std::sin(0.37f * static_cast<float>(i));
    }
    const auto first =
        em::mult<float>::load(config, with_weights(1.0f)).forward_with_features(batch);
    const auto second =
        em::mult<float>::load(config, with_weights(-2.0f)).forward_with_features(batch);
    CHECK(first.at("M") == second.at("M"));
    CHECK(first.at("Feature_a") == second.at("Feature_a"));
    // The text projection is applied: other text weights change the output.
    auto changed = with_weights(1.0f);
    auto proj_l = f.weights.tensor<float, 3>("Model.proj_l.weight");
    proj_l *= 0.5f;
    io::state_dict halved("halved");
    for (const auto& name : changed.names()) {
        if (name != "Model.proj_l.weight") {
            halved.insert(name, changed.at(name));
        }
    }
    halved.insert("Model.proj_l.weight", proj_l);
    const auto third = em::mult<float>::load(config, halved).forward_with_features(batch);
    CHECK(third.at("M") != first.at("M"));
}
