// Test support for the models built on MMSA's SubNet/TextSubNet (tfn, lmf, lf_dnn, mtfn, mlmf,
// mlf_dnn): the fixtures generate_fixtures.py computed with MMSA's code, the state-dict manifest
// of MMSA's shipped configurations, and comparisons that report the largest error seen.
#pragma once

#include <doctest/doctest.h>

#include <emofuse/io/npz.hpp>
#include <emofuse/io/safetensors.hpp>
#include <emofuse/io/state_dict.hpp>
#include <emofuse/models/mmsa_config.hpp>
#include <emofuse/models/mmsa_inputs.hpp>
#include <emofuse/models/mmsa_model.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace subnet_models_testing {

namespace em = emofuse::models;

inline std::string data_path(const std::string& file) {
    return std::string(EMOFUSE_TEST_DATA_DIR) + "/" + file;
}

inline nlohmann::json read_json(const std::string& file) {
    std::ifstream input(data_path(file));
    REQUIRE_MESSAGE(input.good(), "cannot open " << file);
    return nlohmann::json::parse(input);
}

/// One fixture case <model>_<dataset>_<mode>: MMSA's merged configuration, its checkpoint (as
/// safetensors), the raw inputs and MMSA's outputs.
struct fixture {
    em::mmsa_config config;
    emofuse::io::state_dict weights;
    emofuse::io::state_dict inputs;
    emofuse::io::state_dict expected;
};

inline fixture load_fixture(const std::string& model, const std::string& dataset,
                            em::train_mode mode) {
    const std::string name = model + "_" + dataset + "_" +
                             (mode == em::train_mode::regression ? "regression" : "classification");
    return {em::mmsa_config::load(data_path(name + ".config.json"), model, dataset, mode),
            emofuse::io::load_safetensors(data_path(name + ".safetensors")),
            emofuse::io::load_npz(data_path(name + ".inputs.npz")),
            emofuse::io::load_npz(data_path(name + ".expected.npz"))};
}

/// The raw arrays through MMSA's data-loader steps (updates `config` as MMSA does). MMSA's
/// loader works in float32 whatever the model's precision — its float64 reference
/// (`<key>_f64`) is its float64 model on the float32 loader's output — so the inputs are
/// prepared in float and converted for double.
template <class T>
em::mmsa_batch<T> prepared_inputs(em::mmsa_config& config, const emofuse::io::state_dict& raw) {
    em::mmsa_batch<float> batch{raw.tensor<float, 3>("text"), raw.tensor<float, 3>("audio"),
                                raw.tensor<float, 3>("vision")};
    auto prepared = em::prepare_mmsa_inputs(config, batch);
    if constexpr (std::is_same_v<T, float>) {
        return prepared;
    } else {
        auto convert = [](const xt::xtensor<float, 3>& x) {
            xt::xtensor<T, 3> y = xt::xtensor<T, 3>::from_shape(x.shape());
            std::copy(x.begin(), x.end(), y.begin());
            return y;
        };
        return {convert(prepared.text), convert(prepared.audio), convert(prepared.vision)};
    }
}

/// MMSA's tensor `key` as doubles in C order (float32 or float64 as stored).
inline std::vector<double> stored_values(const emofuse::io::state_dict& expected,
                                         const std::string& key) {
    REQUIRE_MESSAGE(expected.contains(key), "expected.npz has no " << key);
    const auto& stored = expected.at(key);
    std::vector<double> values(stored.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (stored.type == emofuse::io::dtype::f32) {
            float value = 0;
            std::memcpy(&value, stored.bytes.data() + i * sizeof(float), sizeof(float));
            values[i] = value;
        } else {
            REQUIRE(stored.type == emofuse::io::dtype::f64);
            std::memcpy(&values[i], stored.bytes.data() + i * sizeof(double), sizeof(double));
        }
    }
    return values;
}

/// Float: |x − e| ≤ 1e-5·(1 + |e|) against MMSA's float32 output `key`; double:
/// |x − e| ≤ 1e-10·(1 + |e|) against its float64 output `key`_f64. Element counts must agree
/// (MMSA's squeezed shapes are compared flattened, row by row), no NaN. `tolerance` replaces
/// the precision's bound where a model states why it needs another. Returns the largest
/// |x − e|.
template <class T>
double check_close(const xt::xtensor<T, 2>& actual, const emofuse::io::state_dict& expected,
                   const std::string& key, std::optional<double> tolerance_override = {}) {
    const bool single = sizeof(T) == 4;
    const std::string name = single ? key : key + "_f64";
    INFO("output " << name);
    const auto values = stored_values(expected, name);
    REQUIRE(expected.at(name).shape.at(0) == actual.shape(0));
    REQUIRE(values.size() == actual.size());
    const double tolerance = tolerance_override.value_or(single ? 1e-5 : 1e-10);
    double worst = 0;
    std::size_t failures = 0;
    for (std::size_t i = 0; i < values.size(); ++i) {
        const double got = static_cast<double>(actual.data()[i]);
        const double error = std::abs(got - values[i]);
        const bool ok = error <= tolerance * (1 + std::abs(values[i])); // false for NaN
        worst = ok ? std::max(worst, error) : std::max(worst, std::isnan(error) ? 1e300 : error);
        if (!ok && failures++ < 5) {
            CHECK_MESSAGE(ok, "element " << i << ": got " << got << ", expected " << values[i]);
        }
    }
    CHECK(failures == 0);
    return worst;
}

/// A copy of `sd` with tensor `name` replaced by `values`.
template <class T, std::size_t N>
emofuse::io::state_dict with_tensor(const emofuse::io::state_dict& sd, const std::string& name,
                                    const xt::xtensor<T, N>& values) {
    emofuse::io::state_dict copy(std::string(sd.source()));
    for (const auto& [entry, stored] : sd) {
        if (entry == name) {
            copy.insert(entry, values);
        } else {
            copy.insert(entry, stored);
        }
    }
    return copy;
}

/// The batch's sample `row` alone (a batch of one).
template <class T>
em::mmsa_batch<T> single_sample(const em::mmsa_batch<T>& batch, std::size_t row) {
    auto take = [row](const xt::xtensor<T, 3>& x) {
        xt::xtensor<T, 3> y = xt::xtensor<T, 3>::from_shape({1, x.shape(1), x.shape(2)});
        std::copy_n(x.data() + row * x.shape(1) * x.shape(2), y.size(), y.data());
        return y;
    };
    return {take(batch.text), take(batch.audio), take(batch.vision)};
}

/// Checks every key against the fixture and reports the largest error per key (shown with
/// doctest's -s).
template <class T>
void check_outputs(const em::mmsa_outputs<T>& outputs, const emofuse::io::state_dict& expected,
                   const std::vector<std::string>& keys, const std::string& label,
                   std::optional<double> tolerance = {}) {
    for (const auto& key : keys) {
        const auto found = outputs.find(key);
        REQUIRE_MESSAGE(found != outputs.end(), "the model returned no " << key);
        const double worst = check_close(found->second, expected, key, tolerance);
        const std::string type = sizeof(T) == 4 ? "float" : "double";
        MESSAGE(label << " " << type << " " << key << " max |error| = " << worst);
    }
}

/// The names and shapes of MMSA's state dict for `model/dataset/mode` at the shipped
/// configuration (mmsa_state_dict_shapes.json), as a state dict of zeros (float32; BatchNorm's
/// num_batches_tracked int64),.
inline emofuse::io::state_dict zero_state_dict(const nlohmann::json& shapes) {
    emofuse::io::state_dict sd("<zeros>");
    for (const auto& [name, shape_json] : shapes.items()) {
        emofuse::io::stored_tensor tensor;
        tensor.shape = shape_json.get<std::vector<std::size_t>>();
        tensor.type = tensor.shape.empty() ? emofuse::io::dtype::i64 : emofuse::io::dtype::f32;
        std::size_t count = 1;
        for (auto extent : tensor.shape) {
            count *= extent;
        }
        tensor.bytes.assign(count * emofuse::io::dtype_size(tensor.type), std::byte{0});
        sd.insert(name, std::move(tensor));
    }
    return sd;
}

/// Parameter count of a manifest entry.
inline std::size_t parameter_count(const nlohmann::json& shapes) {
    std::size_t total = 0;
    for (const auto& [name, shape] : shapes.items()) {
        std::size_t count = 1;
        for (const auto& extent : shape) {
            count *= extent.get<std::size_t>();
        }
        total += count;
    }
    return total;
}

/// Every entry of mmsa_state_dict_shapes.json for `model`: the configuration MMSA ships
/// (config_regression.json merged for the dataset) loads a zero state dict of exactly MMSA's
/// names and shapes. Entries below 10^7 parameters (at least one per model; the TFN-family
/// entries run to 1.4·10^8, whose copies would dominate the test's time) also check that
/// without `removed`, with an extra tensor, or with `reshaped` given one more row, loading
/// fails with an error naming the tensor. `load(config, sd)` builds the model.
inline void check_state_dict_manifest(
    const std::string& model, const std::string& removed, const std::string& reshaped,
    const std::function<void(const em::mmsa_config&, const emofuse::io::state_dict&)>& load) {
    const auto manifest = read_json("mmsa_state_dict_shapes.json");
    const auto mmsa_file = read_json("config_regression.json");
    std::size_t entries = 0, negative = 0;
    for (const auto& [key, shapes] : manifest.items()) {
        if (!key.starts_with(model + "/")) {
            continue;
        }
        ++entries;
        INFO("manifest entry " << key);
        const auto dataset = key.substr(model.size() + 1, key.rfind('/') - model.size() - 1);
        const auto mode = key.ends_with("/regression") ? em::train_mode::regression
                                                       : em::train_mode::classification;
        const auto config = em::mmsa_config::from_mmsa(mmsa_file, model, dataset, mode);
        auto zeros = zero_state_dict(shapes);
        CHECK_NOTHROW(load(config, zeros));
        if (parameter_count(shapes) >= 10'000'000) {
            continue;
        }
        ++negative;
        zeros.insert("Model.audio_subnet.linear_4.weight", xt::xtensor<float, 2>({2, 2}, 0.0f));
        CHECK_THROWS_WITH(load(config, zeros),
                          doctest::Contains("Model.audio_subnet.linear_4.weight"));

        REQUIRE(shapes.contains(removed));
        auto without = shapes;
        without.erase(removed);
        CHECK_THROWS_WITH(load(config, zero_state_dict(without)),
                          doctest::Contains(removed.c_str()));

        REQUIRE(shapes.contains(reshaped));
        auto misshaped = shapes;
        misshaped[reshaped][0] = misshaped[reshaped][0].get<std::size_t>() + 1;
        std::string message = "(no shape_error)";
        try {
            load(config, zero_state_dict(misshaped));
        } catch (const emofuse::shape_error& error) {
            message = error.what();
        }
        CHECK_MESSAGE(message.find(reshaped) != std::string::npos, message);
    }
    CHECK(entries >= 4);
    CHECK(negative >= 1);
}

} // namespace subnet_models_testing
