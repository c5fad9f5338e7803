// MMSA's data-loader steps and AMIO's avg_pool alignment, on values worked out by hand from
// src/MMSA/data_loader.py and src/MMSA/models/subNets/AlignNets.py (the whole-model fixtures
// check them against MMSA's code as well).
#include <emofuse/models/mmsa_inputs.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <limits>

namespace {

namespace em = emofuse::models;

em::mmsa_config config_with(nlohmann::json arguments) {
    arguments["model_name"] = "test";
    return em::mmsa_config::from_merged(std::move(arguments), em::train_mode::regression);
}

em::mmsa_batch<float> ramp_batch(std::size_t text_steps, std::size_t audio_steps,
                                 std::size_t vision_steps) {
    em::mmsa_batch<float> batch{xt::xtensor<float, 3>::from_shape({1, text_steps, 1}),
                                xt::xtensor<float, 3>::from_shape({1, audio_steps, 1}),
                                xt::xtensor<float, 3>::from_shape({1, vision_steps, 1})};
    for (auto* array : {&batch.text, &batch.audio, &batch.vision}) {
        for (std::size_t step = 0; step < array->shape(1); ++step) {
            (*array)(0, step, 0) = static_cast<float>(step + 1);
        }
    }
    return batch;
}

} // namespace

TEST_CASE("loader steps: -inf audio is 0, need_normalized averages over time and zeroes NaN") {
    auto config = config_with({{"need_normalized", true}});
    auto batch = ramp_batch(3, 4, 2);
    batch.audio(0, 3, 0) = -std::numeric_limits<float>::infinity();
    batch.vision(0, 1, 0) = std::numeric_limits<float>::quiet_NaN();
    const auto prepared = em::apply_mmsa_loader_steps(config, batch);
    CHECK(prepared.audio.shape(1) == 1);
    CHECK(prepared.audio(0, 0, 0) == doctest::Approx((1 + 2 + 3 + 0) / 4.0));
    CHECK(prepared.vision(0, 0, 0) == 0.0f);
    CHECK(prepared.text == batch.text);
    CHECK(config.seq_lens() == std::array<std::size_t, 3>{3, 1, 1});

    auto plain = config_with({{"need_normalized", false}});
    const auto kept = em::apply_mmsa_loader_steps(plain, batch);
    CHECK(kept.audio(0, 3, 0) == 0.0f);
    CHECK(std::isnan(kept.vision(0, 1, 0)));
    CHECK(plain.seq_lens() == std::array<std::size_t, 3>{3, 4, 2});
}

TEST_CASE(
    "AMIO avg_pool: repeat the last frame up to a multiple of the text length, then average") {
    auto config = config_with({{"need_model_aligned", true}});
    // text 3 steps; audio 7 → padded with two copies of frame 7 to 9, pooled by 3;
    // vision 2 (< 3) → padded with one copy to 3, pooled by 1.
    const auto prepared = em::prepare_mmsa_inputs(config, ramp_batch(3, 7, 2));
    REQUIRE(prepared.audio.shape(1) == 3);
    CHECK(prepared.audio(0, 0, 0) == doctest::Approx(2.0));
    CHECK(prepared.audio(0, 1, 0) == doctest::Approx(5.0));
    CHECK(prepared.audio(0, 2, 0) == doctest::Approx(7.0));
    REQUIRE(prepared.vision.shape(1) == 3);
    CHECK(prepared.vision(0, 2, 0) == 2.0f);
    CHECK(config.size("seq_lens") == 3);

    auto aligned = config_with({{"need_model_aligned", true}});
    const auto same = em::prepare_mmsa_inputs(aligned, ramp_batch(4, 4, 4));
    CHECK(same.audio == ramp_batch(4, 4, 4).audio);
}

TEST_CASE("mmsa inputs: mismatched batches and empty arrays are errors") {
    auto config = config_with({});
    auto batch = ramp_batch(3, 4, 2);
    batch.vision = xt::xtensor<float, 3>::from_shape({2, 2, 1});
    CHECK_THROWS_AS(em::apply_mmsa_loader_steps(config, batch), emofuse::shape_error);
    auto empty = ramp_batch(3, 4, 2);
    empty.audio = xt::xtensor<float, 3>::from_shape({1, 0, 1});
    CHECK_THROWS_AS(em::apply_mmsa_loader_steps(config, empty), emofuse::shape_error);
}
