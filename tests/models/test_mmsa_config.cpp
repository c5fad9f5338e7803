// MMSA's configuration merge (src/MMSA/config.py, get_config_regression) against what MMSA's own
// function returned for every model and dataset (tests/models/generate_fixtures.py), and the
// errors of a configuration that names something absent.
#include <emofuse/models/mmsa_config.hpp>

#include <doctest/doctest.h>

#include <fstream>
#include <string>

namespace {

namespace em = emofuse::models;

nlohmann::json read_json(const std::string& name) {
    std::ifstream input(std::string(EMOFUSE_TEST_DATA_DIR) + "/" + name);
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

} // namespace

TEST_CASE("mmsa_config merges every model and dataset as MMSA's get_config_regression") {
    const auto all = read_json("config_regression.json");
    const auto expected = read_json("mmsa_merged_configs.json");
    REQUIRE(expected.size() >= 30);
    for (const auto& [key, merged] : expected.items()) {
        const auto slash = key.find('/');
        const std::string model = key.substr(0, slash);
        const std::string dataset = key.substr(slash + 1);
        INFO(key);
        auto config = em::mmsa_config::from_mmsa(all, model, dataset, em::train_mode::regression);
        auto arguments = config.arguments();
        CHECK(arguments.at("train_mode") == "regression");
        arguments.erase("train_mode");
        CHECK(arguments == merged);
        CHECK(config.model_name() == model);
        CHECK(config.dataset_name() == dataset);
        CHECK(config.output_dim() == 1);
    }
}

TEST_CASE("mmsa_config: classification outputs num_classes, typed access checks the values") {
    const auto all = read_json("config_regression.json");
    const auto config =
        em::mmsa_config::from_mmsa(all, "mfn", "mosi", em::train_mode::classification);
    CHECK(config.output_dim() == 3);
    CHECK(config.seq_lens() == std::array<std::size_t, 3>{50, 50, 50}); // mfn: aligned data
    CHECK(config.feature_dims() == std::array<std::size_t, 3>{768, 5, 20});
    CHECK(config.nested_size("NN1Config", "shapes") == 32);
    CHECK(config.sizes("hidden_dims", 3) == std::vector<std::size_t>{256, 32, 256});
    CHECK(config.flag("need_model_aligned"));
    CHECK_FALSE(config.flag_or_false("use_bert"));
    const auto unaligned =
        em::mmsa_config::from_mmsa(all, "tfn", "mosi", em::train_mode::regression);
    CHECK(unaligned.seq_lens() == std::array<std::size_t, 3>{50, 500, 375});
}

TEST_CASE("mmsa_config: absent models, datasets and arguments are named") {
    const auto all = read_json("config_regression.json");
    using em::mmsa_config;
    const auto regression = em::train_mode::regression;
    CHECK(message_of([&] {
              (void)mmsa_config::from_mmsa(all, "tfnn", "mosi", regression);
          }).find("no model 'tfnn'") != std::string::npos);
    CHECK(message_of([&] {
              (void)mmsa_config::from_mmsa(all, "mtfn", "mosi", regression);
          }).find("model 'mtfn' has no dataset 'mosi' (it has 'sims', 'simsv2')") !=
          std::string::npos);
    const auto config = mmsa_config::from_mmsa(all, "tfn", "mosi", regression);
    const auto missing = message_of([&] { (void)config.size("rank"); });
    CHECK(missing.find("missing argument 'rank'") != std::string::npos);
    CHECK(missing.find("model 'tfn', dataset 'mosi'") != std::string::npos);
    CHECK(message_of([&] { (void)config.size("dropouts"); }).find("is not an integer") !=
          std::string::npos);
    CHECK(message_of([&] {
              (void)config.sizes("hidden_dims", 2);
          }).find("must be a list of 2 integers") != std::string::npos);
    auto negative = config;
    negative.set("text_out", -4);
    CHECK(message_of([&] { (void)negative.size("text_out"); }).find("outside [0, 2^31]") !=
          std::string::npos);
    CHECK(message_of([] {
              (void)mmsa_config::from_merged(nlohmann::json{{"x", 1}}, em::train_mode::regression);
          }).find("needs a string \"model_name\"") != std::string::npos);
}
