// emofuse/models/mmsa_config.hpp — a model's arguments as MMSA builds them: its
// config_regression.json merged the way `get_config_regression` merges it (src/MMSA/config.py),
// or a flat JSON of the merged arguments, with typed access whose errors name the key.
#pragma once

#include <emofuse/core/error.hpp>

#include <nlohmann/json.hpp>

#include <array>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace emofuse::models {

/// MMSA's `train_mode`: regression models end in one output, classification models in
/// `num_classes` logits.
enum class train_mode { regression, classification };

/// The merged arguments of one MMSA model on one dataset.
class mmsa_config {
public:
    /// Merges MMSA's configuration file content as `get_config_regression(model, dataset)`
    /// does: the dataset's common parameters (its "aligned" entry when the model's
    /// `need_data_aligned` is true and the dataset has one, else "unaligned"), then the model's
    /// `commonParams`, then its `datasetParams[dataset]`, later keys replacing earlier ones.
    /// `model_name` and `dataset_name` are set. value_error naming what is missing.
    static mmsa_config from_mmsa(const nlohmann::json& all, std::string_view model,
                                 std::string_view dataset, train_mode mode,
                                 std::string source = "<memory>") {
        const std::string where = " in " + source;
        if (!all.is_object()) {
            fail("the configuration is not a JSON object", where);
        }
        const auto models = all.find(std::string(model));
        if (models == all.end() || std::string_view(model) == "datasetCommonParams") {
            fail("no model '" + std::string(model) + "'", where);
        }
        const auto& model_entry = *models;
        const auto& common = member(model_entry, "commonParams", std::string(model), where);
        const auto& per_dataset = member(model_entry, "datasetParams", std::string(model), where);
        if (!per_dataset.is_object() || !per_dataset.contains(std::string(dataset))) {
            fail("model '" + std::string(model) + "' has no dataset '" + std::string(dataset) +
                     "' (it has " + keys_of(per_dataset) + ")",
                 where);
        }
        const auto& datasets = member(all, "datasetCommonParams", "the file", where);
        if (!datasets.is_object() || !datasets.contains(std::string(dataset))) {
            fail("no dataset '" + std::string(dataset) + "' in datasetCommonParams", where);
        }
        const auto& dataset_entry = datasets.at(std::string(dataset));
        const auto aligned = common.find("need_data_aligned");
        const bool wants_aligned =
            aligned != common.end() && aligned->is_boolean() && aligned->get<bool>();
        const char* variant =
            wants_aligned && dataset_entry.contains("aligned") ? "aligned" : "unaligned";
        nlohmann::json merged = nlohmann::json::object();
        merged["model_name"] = model;
        merged["dataset_name"] = dataset;
        merge_into(merged, member(dataset_entry, variant, std::string(dataset), where), where);
        merge_into(merged, common, where);
        merge_into(merged, per_dataset.at(std::string(dataset)), where);
        // config.py joins the feature file onto dataset_root_dir (os.path.join: an absolute
        // featurePath stays as it is).
        const auto root = datasets.find("dataset_root_dir");
        const auto feature_path = merged.find("featurePath");
        if (root != datasets.end() && root->is_string() && feature_path != merged.end() &&
            feature_path->is_string()) {
            const auto& relative = feature_path->get_ref<const std::string&>();
            const auto& base = root->get_ref<const std::string&>();
            if (!relative.starts_with('/')) {
                *feature_path =
                    base.empty() || base.ends_with('/') ? base + relative : base + "/" + relative;
            }
        }
        return mmsa_config(std::move(merged), mode, std::move(source));
    }

    /// A flat JSON object of merged arguments (what `get_config_regression` returns, e.g. saved
    /// with json.dump). It must name `model_name`. `train_mode` is set from `mode`, as MMSA's
    /// run.py sets it after merging.
    static mmsa_config from_merged(nlohmann::json merged, train_mode mode,
                                   std::string source = "<memory>") {
        if (!merged.is_object() || !merged.contains("model_name") ||
            !merged.at("model_name").is_string()) {
            fail("a merged configuration needs a string \"model_name\"", " in " + source);
        }
        return mmsa_config(std::move(merged), mode, std::move(source));
    }

    /// Reads `file`: MMSA's own configuration file (it has "datasetCommonParams"), merged for
    /// `model` and `dataset`, or a flat merged JSON, whose model_name (and dataset_name when
    /// present) must then equal `model` and `dataset` unless these are empty.
    static mmsa_config load(const std::filesystem::path& file, std::string_view model,
                            std::string_view dataset, train_mode mode) {
        const std::string source = file.string();
        std::ifstream input(file, std::ios::binary);
        if (!input) {
            throw io_error("models::mmsa_config: cannot open '" + source + "'");
        }
        nlohmann::json all;
        try {
            all = nlohmann::json::parse(input);
        } catch (const nlohmann::json::exception& error) {
            throw io_error("models::mmsa_config: '" + source +
                           "' is not valid JSON: " + error.what());
        }
        if (all.is_object() && all.contains("datasetCommonParams")) {
            if (model.empty() || dataset.empty()) {
                fail("an MMSA configuration file needs a model and a dataset name",
                     " in " + source);
            }
            return from_mmsa(all, model, dataset, mode, source);
        }
        auto config = from_merged(std::move(all), mode, source);
        if (!model.empty() && config.model_name() != model) {
            fail("the merged configuration is for model '" + std::string(config.model_name()) +
                     "', not '" + std::string(model) + "'",
                 " in " + source);
        }
        if (!dataset.empty() && config.arguments_.contains("dataset_name") &&
            config.dataset_name() != dataset) {
            fail("the merged configuration is for dataset '" + std::string(config.dataset_name()) +
                     "', not '" + std::string(dataset) + "'",
                 " in " + source);
        }
        return config;
    }

    /// Every merged argument.
    [[nodiscard]] const nlohmann::json& arguments() const noexcept { return arguments_; }
    [[nodiscard]] std::string_view source() const noexcept { return source_; }
    [[nodiscard]] std::string_view model_name() const {
        return at("model_name").get_ref<const std::string&>();
    }
    [[nodiscard]] std::string_view dataset_name() const {
        const auto found = arguments_.find("dataset_name");
        return found != arguments_.end() && found->is_string()
                   ? std::string_view(found->get_ref<const std::string&>())
                   : std::string_view("(unnamed)");
    }
    [[nodiscard]] train_mode mode() const noexcept { return mode_; }
    [[nodiscard]] bool classification() const noexcept {
        return mode_ == train_mode::classification;
    }
    /// `num_classes` in classification, 1 in regression (every MMSA model's `output_dim`).
    [[nodiscard]] std::size_t output_dim() const {
        return classification() ? size("num_classes") : 1;
    }

    [[nodiscard]] bool contains(std::string_view key) const {
        return arguments_.contains(std::string(key));
    }
    /// The argument `key`; value_error naming it, the model and the dataset when absent.
    [[nodiscard]] const nlohmann::json& at(std::string_view key) const {
        const auto found = arguments_.find(std::string(key));
        if (found == arguments_.end()) {
            fail("missing argument '" + std::string(key) + "'", context());
        }
        return *found;
    }
    /// A boolean argument (JSON true/false).
    [[nodiscard]] bool flag(std::string_view key) const {
        return as_flag(at(key), std::string(key));
    }
    /// `args.get(key)` in MMSA: false when absent.
    [[nodiscard]] bool flag_or_false(std::string_view key) const {
        return contains(key) && as_flag(at(key), std::string(key));
    }
    /// A non-negative integer argument (≤ 2^31, which no size in MMSA's configurations reaches).
    [[nodiscard]] std::size_t size(std::string_view key) const {
        return as_size(at(key), std::string(key));
    }
    /// A number.
    [[nodiscard]] double real(std::string_view key) const {
        const auto& value = at(key);
        if (!value.is_number()) {
            fail("argument '" + std::string(key) + "' is not a number", context());
        }
        return value.get<double>();
    }
    /// A list of `count` non-negative integers (`hidden_dims`, `feature_dims`, ...).
    [[nodiscard]] std::vector<std::size_t> sizes(std::string_view key, std::size_t count) const {
        const auto& value = at(key);
        if (!value.is_array() || value.size() != count) {
            fail("argument '" + std::string(key) + "' must be a list of " + std::to_string(count) +
                     " integers",
                 context());
        }
        std::vector<std::size_t> result;
        for (std::size_t index = 0; index < count; ++index) {
            result.push_back(
                as_size(value[index], std::string(key) + "[" + std::to_string(index) + "]"));
        }
        return result;
    }
    /// `args.<key>["<field>"]` of a nested object argument (MFN's `NN1Config["shapes"]`).
    [[nodiscard]] std::size_t nested_size(std::string_view key, std::string_view field) const {
        const auto& value = at(key);
        const std::string name = std::string(key) + "." + std::string(field);
        if (!value.is_object() || !value.contains(std::string(field))) {
            fail("missing argument '" + name + "'", context());
        }
        return as_size(value.at(std::string(field)), name);
    }
    /// (text, audio, vision) `feature_dims`.
    [[nodiscard]] std::array<std::size_t, 3> feature_dims() const { return triple("feature_dims"); }
    /// (text, audio, vision) `seq_lens`. MMSA's MMDataLoader replaces the configured ones by
    /// the lengths of the loaded arrays; set_seq_lens does the same.
    [[nodiscard]] std::array<std::size_t, 3> seq_lens() const { return triple("seq_lens"); }
    void set_seq_lens(const std::array<std::size_t, 3>& lengths) {
        arguments_["seq_lens"] = {lengths[0], lengths[1], lengths[2]};
    }
    /// Replaces or adds one argument (a flat override, as MMSA's run.py merges user arguments).
    void set(std::string_view key, nlohmann::json value) {
        arguments_[std::string(key)] = std::move(value);
    }

    /// " (model M, dataset D, from SOURCE)": the tail of every error about this configuration.
    [[nodiscard]] std::string context() const {
        const auto name = arguments_.find("model_name");
        return " (model '" +
               (name != arguments_.end() && name->is_string() ? name->get<std::string>()
                                                              : std::string("?")) +
               "', dataset '" + std::string(dataset_name()) + "', from " + source_ + ")";
    }

private:
    mmsa_config(nlohmann::json arguments, train_mode mode, std::string source)
        : arguments_(std::move(arguments)), source_(std::move(source)), mode_(mode) {
        arguments_["train_mode"] =
            mode == train_mode::classification ? "classification" : "regression";
    }

    [[noreturn]] static void fail(const std::string& what, const std::string& where) {
        throw value_error("models::mmsa_config: " + what + where);
    }

    static const nlohmann::json& member(const nlohmann::json& object, const char* key,
                                        const std::string& owner, const std::string& where) {
        if (!object.is_object() || !object.contains(key)) {
            fail("'" + owner + "' has no \"" + key + "\"", where);
        }
        return object.at(key);
    }

    static void merge_into(nlohmann::json& merged, const nlohmann::json& part,
                           const std::string& where) {
        if (!part.is_object()) {
            fail("a configuration section is not a JSON object", where);
        }
        for (const auto& [key, value] : part.items()) {
            merged[key] = value;
        }
    }

    static std::string keys_of(const nlohmann::json& object) {
        if (!object.is_object() || object.empty()) {
            return "none";
        }
        std::string text;
        for (const auto& [key, value] : object.items()) {
            text += (text.empty() ? "'" : ", '") + key + "'";
        }
        return text;
    }

    bool as_flag(const nlohmann::json& value, const std::string& name) const {
        if (!value.is_boolean()) {
            fail("argument '" + name + "' is not true or false", context());
        }
        return value.get<bool>();
    }

    std::size_t as_size(const nlohmann::json& value, const std::string& name) const {
        constexpr double largest = 2147483648.0;
        if (!value.is_number() ||
            (value.is_number_float() && std::floor(value.get<double>()) != value.get<double>())) {
            fail("argument '" + name + "' is not an integer", context());
        }
        const double number = value.get<double>();
        if (!(number >= 0 && number <= largest)) {
            std::ostringstream shown;
            shown << number;
            fail("argument '" + name + "' = " + shown.str() + " is outside [0, 2^31]", context());
        }
        return static_cast<std::size_t>(number);
    }

    std::array<std::size_t, 3> triple(std::string_view key) const {
        const auto values = sizes(key, 3);
        return {values[0], values[1], values[2]};
    }

    nlohmann::json arguments_;
    std::string source_;
    train_mode mode_;
};

} // namespace emofuse::models
