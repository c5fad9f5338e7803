// Test support for the recurrent MMSA models (EF-LSTM, MFN, Graph-MFN): the committed fixtures
// of tests/models/data (generate_fixtures.py), MMSA's state-dict manifest, and zero-filled
// checkpoints with exactly its names and shapes.
#pragma once

#include <emofuse/io/npz.hpp>
#include <emofuse/io/safetensors.hpp>
#include <emofuse/io/state_dict.hpp>
#include <emofuse/models/mmsa_config.hpp>
#include <emofuse/models/mmsa_inputs.hpp>
#include <emofuse/models/mmsa_model.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <fstream>
#include <string>
#include <type_traits>
#include <vector>

namespace recurrent_testing {

namespace em = emofuse::models;
namespace io = emofuse::io;

inline std::string data_path(const std::string& file) {
    return std::string(EMOFUSE_TEST_DATA_DIR) + "/" + file;
}

inline em::train_mode mode_of(const std::string& fixture) {
    return fixture.ends_with("_classification") ? em::train_mode::classification
                                                : em::train_mode::regression;
}

/// The fixture's merged configuration (flat JSON written by the generator).
inline em::mmsa_config fixture_config(const std::string& fixture, const std::string& model) {
    return em::mmsa_config::load(data_path(fixture + ".config.json"), model, "", mode_of(fixture));
}

/// The fixture's raw feature-file arrays after prepare_mmsa_inputs (which updates `config`).
/// MMSA's data loader runs in float32 whatever the model's precision, while AMIO's alignment
/// is part of the model: so the loader steps run in float and the alignment in T, as in the
/// generator's float64 reference.
template <class T>
em::mmsa_batch<T> fixture_inputs(em::mmsa_config& config, const std::string& fixture) {
    const auto arrays = io::load_npz(data_path(fixture + ".inputs.npz"));
    auto loaded = em::apply_mmsa_loader_steps(
        config,
        em::mmsa_batch<float>{arrays.tensor<float, 3>("text"), arrays.tensor<float, 3>("audio"),
                              arrays.tensor<float, 3>("vision")});
    return em::apply_mmsa_alignment(
        config, em::mmsa_batch<T>{xt::xtensor<T, 3>(xt::cast<T>(loaded.text)),
                                  xt::xtensor<T, 3>(xt::cast<T>(loaded.audio)),
                                  xt::xtensor<T, 3>(xt::cast<T>(loaded.vision))});
}

/// The largest |actual − expected| / (1 + |expected|) over the two tensors (shapes must match).
template <class T>
double max_relative_error(const xt::xtensor<T, 2>& actual, const xt::xtensor<double, 2>& expected) {
    REQUIRE(actual.shape(0) == expected.shape(0));
    REQUIRE(actual.shape(1) == expected.shape(1));
    double worst = 0;
    for (std::size_t i = 0; i < expected.size(); ++i) {
        const double want = expected.data()[i];
        const double got = static_cast<double>(actual.data()[i]);
        const double error = std::abs(got - want) / (1.0 + std::abs(want));
        worst = std::isnan(error) ? INFINITY : std::max(worst, error);
    }
    return worst;
}

inline std::string scientific(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%.2e", value);
    return text;
}

/// Compares every output of `outputs` named in `keys` with the fixture's float32 results
/// ("<key>") for T = float, its float64 results ("<key>_f64") for T = double, and returns
/// the largest relative error seen (printed with MESSAGE so the test log records it).
template <class T>
double check_against_fixture(const em::mmsa_outputs<T>& outputs, const std::string& fixture,
                             const std::vector<std::string>& keys, double float_tolerance) {
    const auto expected = io::load_npz(data_path(fixture + ".expected.npz"));
    const bool single = sizeof(T) == 4;
    double worst = 0;
    for (const auto& key : keys) {
        INFO(fixture, " output ", key);
        REQUIRE(outputs.contains(key));
        const auto want = expected.tensor<double, 2>(single ? key : key + "_f64");
        const double error = max_relative_error(outputs.at(key), want);
        CHECK(error <= (single ? float_tolerance : 1e-10));
        worst = std::max(worst, error);
    }
    const std::string report =
        fixture + (single ? " float" : " double") + ": max |error|/(1+|x|) = " + scientific(worst);
    MESSAGE(report);
    return worst;
}

/// MMSA's state-dict names and shapes for `model/dataset/mode` at the shipped configuration.
inline const nlohmann::json& shipped_shapes() {
    static const nlohmann::json shapes = [] {
        std::ifstream in(data_path("mmsa_state_dict_shapes.json"));
        REQUIRE(in);
        return nlohmann::json::parse(in);
    }();
    return shapes;
}

/// The merged configuration MMSA builds for the entry "model/dataset/mode" of the manifest.
inline em::mmsa_config shipped_config(const std::string& entry) {
    static const nlohmann::json all = [] {
        std::ifstream in(data_path("config_regression.json"));
        REQUIRE(in);
        return nlohmann::json::parse(in);
    }();
    const auto first = entry.find('/');
    const auto second = entry.find('/', first + 1);
    return em::mmsa_config::from_mmsa(
        all, entry.substr(0, first), entry.substr(first + 1, second - first - 1),
        mode_of("_" + entry.substr(second + 1)), "config_regression.json");
}

/// A zero tensor of `shape` (float32; num_batches_tracked, rank 0, as int64 as torch has it).
inline io::stored_tensor zero_tensor(const std::vector<std::size_t>& shape) {
    io::stored_tensor tensor;
    tensor.type = shape.empty() ? io::dtype::i64 : io::dtype::f32;
    tensor.shape = shape;
    std::size_t count = 1;
    for (const auto extent : shape) {
        count *= extent;
    }
    tensor.bytes.resize(count * io::dtype_size(tensor.type));
    return tensor;
}

/// A checkpoint of zeros with exactly the names and shapes in `manifest` (name → shape).
inline io::state_dict zero_state_dict(const nlohmann::json& manifest) {
    io::state_dict sd("zeros");
    for (const auto& [name, shape] : manifest.items()) {
        sd.insert(name, zero_tensor(shape.get<std::vector<std::size_t>>()));
    }
    return sd;
}

/// The same checkpoint without `removed`, or with `changed` given another shape.
inline io::state_dict edited_state_dict(const nlohmann::json& manifest, const std::string& removed,
                                        const std::string& changed = "",
                                        std::vector<std::size_t> new_shape = {}) {
    io::state_dict sd("zeros");
    for (const auto& [name, shape] : manifest.items()) {
        if (name == removed) {
            continue;
        }
        sd.insert(name,
                  zero_tensor(name == changed ? new_shape : shape.get<std::vector<std::size_t>>()));
    }
    return sd;
}

/// Runs `body` and checks that it throws E with a message containing `needle`.
template <class E, class Body>
void check_error(Body body, const std::string& needle) {
    INFO("expected an error mentioning '", needle, "'");
    try {
        body();
        FAIL("no error");
    } catch (const E& error) {
        INFO("message: ", error.what());
        CHECK(std::string(error.what()).find(needle) != std::string::npos);
    }
}

/// Every tensor of the manifest removed (except `optional` ones), mis-shaped (rank ≥ 1), and
/// one unknown tensor added: each load must fail with an error naming that tensor.
template <class Load>
void check_manifest_errors(Load load, const nlohmann::json& manifest,
                           const std::vector<std::string>& optional = {}) {
    for (const auto& [name, shape] : manifest.items()) {
        if (std::find(optional.begin(), optional.end(), name) != optional.end()) {
            continue;
        }
        INFO("tensor ", name);
        check_error<emofuse::value_error>([&] { load(edited_state_dict(manifest, name)); },
                                          "'" + name + "'");
        auto wrong = shape.template get<std::vector<std::size_t>>();
        if (!wrong.empty()) {
            wrong.front() += 1;
            check_error<emofuse::shape_error>(
                [&] { load(edited_state_dict(manifest, "", name, wrong)); }, name);
        }
    }
    auto extra = zero_state_dict(manifest);
    extra.insert("Model.unknown.weight", zero_tensor({2, 3}));
    check_error<emofuse::value_error>([&] { load(extra); }, "'Model.unknown.weight'");
}

/// Inputs with one modality's feature width, batch or time length changed: shape_error naming
/// the modality. With `text_sets_length` (MFN: the text's length is the loop's), a longer text
/// is blamed on the others and is not tried.
template <class T, class Forward>
void check_bad_inputs(Forward forward, const em::mmsa_batch<T>& good, const std::string& model,
                      bool text_sets_length = false) {
    const char* names[] = {"text", "audio", "vision"};
    for (std::size_t m = 0; m < 3; ++m) {
        INFO("modality ", names[m]);
        for (std::size_t axis = 0; axis < 3; ++axis) {
            auto bad = good;
            auto& array = m == 0 ? bad.text : m == 1 ? bad.audio : bad.vision;
            auto shape = array.shape();
            shape[axis] += 1;
            array = xt::zeros<T>(shape);
            if (m == 0 && (axis == 0 || (axis == 1 && text_sets_length))) {
                continue; // the text's batch is the reference: audio/vision then mismatch
            }
            check_error<emofuse::shape_error>([&] { forward(bad); },
                                              "models::" + model + ": " + names[m] + " input");
        }
    }
}

} // namespace recurrent_testing
