// Attention pooling over time and attention over modalities against PyTorch modules written
// from the math (float64), with masks, empty samples and bad input.
#include "fixture.hpp"

#include <emofuse/attention/load.hpp>
#include <emofuse/attention/pooling.hpp>
#include <emofuse/core/batch.hpp>
#include <emofuse/core/pipeline.hpp>
#include <emofuse/io/safetensors.hpp>

#include <doctest/doctest.h>

#include <string>

namespace ea = emofuse::attention;
using attention_testing::check_close;
using attention_testing::data_path;
using attention_testing::fixture;
using attention_testing::parity_tolerance;

TEST_CASE_TEMPLATE("attention_pool matches the PyTorch module (masks, empty sample)", T, float,
                   double) {
    const fixture f("attention_pool");
    const auto sd = emofuse::io::load_safetensors(data_path("attention_pool"));
    const auto pool = ea::load_attention_pool<T>(sd, "weights.");
    const emofuse::sequence<T> x(f.get<T, 3>("input"), f.sizes("lengths"),
                                 f.get<std::uint8_t, 2>("frame_mask"));
    check_close(pool(x), f.get<double, 2>("expected"), parity_tolerance<T>(), "pooled");
    check_close(pool.weights(x), f.get<double, 2>("expected.weights"), parity_tolerance<T>(),
                "weights");
    // Composes as a per-modality stage.
    const auto batch = emofuse::make_batch(emofuse::audio(x));
    const auto pooled = emofuse::per_modality(pool)(batch);
    check_close(emofuse::entry_of(pooled[emofuse::audio]), f.get<double, 2>("expected"),
                parity_tolerance<T>(), "per_modality");
}

TEST_CASE_TEMPLATE("modality_attention matches the PyTorch module, with a presence mask", T, float,
                   double) {
    const fixture f("modality_attention");
    const auto sd = emofuse::io::load_safetensors(data_path("modality_attention"));
    const auto fuse = ea::load_modality_attention<T>(sd, "weights.");
    const auto batch = emofuse::make_batch(emofuse::text(f.get<T, 2>("input.0")),
                                           emofuse::audio(f.get<T, 2>("input.1")),
                                           emofuse::vision(f.get<T, 2>("input.2")));
    check_close(fuse(batch), f.get<double, 2>("expected"), parity_tolerance<T>(), "all present");
    check_close(fuse(batch, f.get<std::uint8_t, 2>("present")), f.get<double, 2>("expected.masked"),
                parity_tolerance<T>(), "masked");
    static_assert(emofuse::fusion_stage<ea::modality_attention<T>>);
}

TEST_CASE("pooling stages reject bad input") {
    const auto sd = emofuse::io::load_safetensors(data_path("attention_pool"));
    const auto pool = ea::load_attention_pool<float>(sd, "weights.");
    const emofuse::sequence<float> wrong(xt::xtensor<float, 3>({2, 3, 4}));
    CHECK_THROWS_WITH_AS((void)pool(wrong), doctest::Contains("input features"),
                         emofuse::shape_error);
    CHECK_THROWS_AS(
        ea::attention_pool<float>(emofuse::layers::dense<float>(xt::xtensor<float, 2>({5, 6})),
                                  xt::xtensor<float, 1>::from_shape({4})),
        emofuse::shape_error);

    const auto msd = emofuse::io::load_safetensors(data_path("modality_attention"));
    const auto fuse = ea::load_modality_attention<float>(msd, "weights.");
    const auto batch = emofuse::make_batch(emofuse::text(xt::xtensor<float, 2>({4, 6})),
                                           emofuse::audio(xt::xtensor<float, 2>({4, 5})));
    CHECK_THROWS_WITH_AS((void)fuse(batch), doctest::Contains("modality 'audio'"),
                         emofuse::shape_error);
    const auto ok = emofuse::make_batch(emofuse::text(xt::xtensor<float, 2>({4, 6})),
                                        emofuse::audio(xt::xtensor<float, 2>({4, 6})));
    CHECK_THROWS_WITH_AS((void)fuse(ok, xt::xtensor<std::uint8_t, 2>({4, 3})),
                         doctest::Contains("presence mask shape"), emofuse::shape_error);
    const auto uneven = emofuse::make_batch(emofuse::text(xt::xtensor<float, 2>({4, 6})),
                                            emofuse::audio(xt::xtensor<float, 2>({3, 6})));
    CHECK_THROWS_AS((void)fuse(uneven), emofuse::shape_error);
    // The score vector must be (1, h).
    emofuse::io::state_dict broken;
    broken.insert("proj.weight", msd.at("weights.proj.weight"));
    broken.insert("score.weight", msd.at("weights.proj.weight"));
    CHECK_THROWS_AS((void)ea::load_modality_attention<float>(broken, ""), emofuse::shape_error);
}
