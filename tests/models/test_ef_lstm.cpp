// MMSA's EF_LSTM against outputs computed by MMSA's own code (tests/models/data), its state-dict
// names and shapes at every shipped configuration, and its errors.
#include "recurrent_testing.hpp"

#include <emofuse/models/ef_lstm.hpp>

#include <doctest/doctest.h>
#include <xtensor/xview.hpp>

#include <string>

namespace {

using namespace recurrent_testing;

template <class T>
void check_ef_lstm_fixture(const std::string& fixture) {
    auto config = fixture_config(fixture, "ef_lstm");
    const auto inputs = fixture_inputs<T>(config, fixture);
    const auto sd = io::load_safetensors(data_path(fixture + ".safetensors"));
    const auto model = em::ef_lstm<T>::load(config, sd);
    CHECK(model.output_dim() == config.output_dim());
    check_against_fixture(model.forward(inputs), fixture, {"M"}, 1e-5);
}

} // namespace

TEST_CASE_TEMPLATE("ef_lstm matches MMSA (aligned regression and classification)", T, float,
                   double) {
    check_ef_lstm_fixture<T>("ef_lstm_mosi_regression");
    check_ef_lstm_fixture<T>("ef_lstm_mosi_classification");
}

TEST_CASE_TEMPLATE("ef_lstm matches MMSA on unaligned inputs (AMIO's avg_pool alignment)", T, float,
                   double) {
    const std::string fixture = "ef_lstm_mosi_unaligned_regression";
    auto config = fixture_config(fixture, "ef_lstm");
    CHECK(config.seq_lens() == std::array<std::size_t, 3>{7, 11, 9});
    const auto inputs = fixture_inputs<T>(config, fixture);
    // AMIO set seq_lens to the text's length: the BatchNorm has 7 channels.
    CHECK(config.size("seq_lens") == 7);
    CHECK(inputs.audio.shape(1) == 7);
    const auto sd = io::load_safetensors(data_path(fixture + ".safetensors"));
    const auto model = em::ef_lstm<T>::load(config, sd);
    CHECK(model.sequence_length() == 7);
    check_against_fixture(model.forward(inputs), fixture, {"M"}, 1e-5);
}

TEST_CASE("ef_lstm: a batch of one (MMSA's .squeeze()) gives that sample's row of the batch") {
    const std::string fixture = "ef_lstm_mosi_classification";
    auto config = fixture_config(fixture, "ef_lstm");
    const auto inputs = fixture_inputs<double>(config, fixture);
    const auto model = em::ef_lstm<double>::load(
        config, io::load_safetensors(data_path(fixture + ".safetensors")));
    const auto all = model.forward(inputs).at("M");
    for (std::size_t sample = 0; sample < inputs.text.shape(0); ++sample) {
        em::mmsa_batch<double> one{xt::view(inputs.text, xt::range(sample, sample + 1)),
                                   xt::view(inputs.audio, xt::range(sample, sample + 1)),
                                   xt::view(inputs.vision, xt::range(sample, sample + 1))};
        const auto single = model.forward(one).at("M");
        REQUIRE(single.shape(0) == 1);
        REQUIRE(single.shape(1) == 3);
        for (std::size_t k = 0; k < 3; ++k) {
            CHECK(single(0, k) == doctest::Approx(all(sample, k)).epsilon(1e-12));
        }
    }
}

TEST_CASE("ef_lstm loads MMSA's state dict of every shipped configuration, and only that") {
    std::size_t entries = 0;
    for (const auto& [entry, manifest] : shipped_shapes().items()) {
        if (!entry.starts_with("ef_lstm/")) {
            continue;
        }
        INFO(entry);
        ++entries;
        // As AMIO builds it: seq_lens still the dataset's list, need_model_aligned on.
        auto config = shipped_config(entry);
        const auto model = em::ef_lstm<float>::load(config, zero_state_dict(manifest));
        CHECK(model.output_dim() == config.output_dim());
        CHECK(model.sequence_length() == config.seq_lens()[0]);
        // As prepare_mmsa_inputs leaves it: one integer.
        auto prepared = config;
        prepared.set("seq_lens", config.seq_lens()[0]);
        CHECK(em::ef_lstm<float>::load(prepared, zero_state_dict(manifest)).sequence_length() ==
              config.seq_lens()[0]);
        check_manifest_errors(
            [&](const io::state_dict& sd) {
                static_cast<void>(em::ef_lstm<float>::load(config, sd));
            },
            manifest, {"Model.norm.num_batches_tracked"});
    }
    CHECK(entries == 8);
}

TEST_CASE("ef_lstm: configurations MMSA's EF_LSTM cannot run, and bad inputs, are errors") {
    const std::string fixture = "ef_lstm_mosi_regression";
    auto config = fixture_config(fixture, "ef_lstm");
    const auto sd = io::load_safetensors(data_path(fixture + ".safetensors"));
    auto unaligned = config;
    unaligned.set("need_model_aligned", false);
    check_error<emofuse::value_error>(
        [&] { static_cast<void>(em::ef_lstm<float>::load(unaligned, sd)); },
        "seq_lens is a list and need_model_aligned is off");
    auto narrow = config;
    narrow.set("hidden_dims", 1);
    check_error<emofuse::value_error>(
        [&] { static_cast<void>(em::ef_lstm<float>::load(narrow, sd)); }, "hidden_dims = 1");
    // A checkpoint for another aligned length: the BatchNorm's channels are the time steps.
    auto longer = config;
    longer.set("seq_lens", 7);
    check_error<emofuse::shape_error>(
        [&] { static_cast<void>(em::ef_lstm<float>::load(longer, sd)); }, "Model.norm.");

    const auto inputs = fixture_inputs<float>(config, fixture);
    const auto model = em::ef_lstm<float>::load(config, sd);
    check_bad_inputs(
        [&](const em::mmsa_batch<float>& batch) { static_cast<void>(model.forward(batch)); },
        inputs, "ef_lstm");
}
