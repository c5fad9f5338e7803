// MMSA's MFN against outputs computed by MMSA's own code (tests/models/data), its state-dict
// names and shapes at every shipped configuration, and its errors.
#include "recurrent_testing.hpp"

#include <emofuse/models/mfn.hpp>

#include <doctest/doctest.h>

#include <string>

namespace {

using namespace recurrent_testing;

template <class T>
void check_mfn_fixture(const std::string& fixture) {
    auto config = fixture_config(fixture, "mfn");
    const auto inputs = fixture_inputs<T>(config, fixture);
    // need_normalized: audio and vision are time-averaged, then AMIO repeats them to the
    // text's length.
    CHECK(inputs.audio.shape(1) == inputs.text.shape(1));
    const auto model =
        em::mfn<T>::load(config, io::load_safetensors(data_path(fixture + ".safetensors")));
    CHECK(model.output_dim() == config.output_dim());
    check_against_fixture(model.forward(inputs), fixture, {"M", "L"}, 1e-5);
}

} // namespace

TEST_CASE_TEMPLATE("mfn matches MMSA (M and L, regression and classification)", T, float, double) {
    check_mfn_fixture<T>("mfn_mosi_regression");
    check_mfn_fixture<T>("mfn_mosi_classification");
}

TEST_CASE("mfn loads MMSA's state dict of every shipped configuration, and only that") {
    std::size_t entries = 0;
    for (const auto& [entry, manifest] : shipped_shapes().items()) {
        if (!entry.starts_with("mfn/")) {
            continue;
        }
        INFO(entry);
        ++entries;
        const auto config = shipped_config(entry);
        const auto model = em::mfn<float>::load(config, zero_state_dict(manifest));
        CHECK(model.output_dim() == config.output_dim());
        check_manifest_errors(
            [&](const io::state_dict& sd) { static_cast<void>(em::mfn<float>::load(config, sd)); },
            manifest);
    }
    CHECK(entries == 8);
}

TEST_CASE("mfn: a windowsize MMSA's MFN cannot run, and bad inputs, are errors") {
    const std::string fixture = "mfn_mosi_regression";
    auto config = fixture_config(fixture, "mfn");
    const auto sd = io::load_safetensors(data_path(fixture + ".safetensors"));
    auto wide = config;
    wide.set("windowsize", 3);
    check_error<emofuse::value_error>([&] { static_cast<void>(em::mfn<float>::load(wide, sd)); },
                                      "windowsize = 3");
    const auto inputs = fixture_inputs<float>(config, fixture);
    const auto model = em::mfn<float>::load(config, sd);
    check_bad_inputs(
        [&](const em::mmsa_batch<float>& batch) { static_cast<void>(model.forward(batch)); },
        inputs, "mfn", true);
}
