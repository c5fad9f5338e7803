// MLLM connectors (linear and MLP projectors, learned-query resampler) against PyTorch modules
// (float64), loaded from safetensors with the documented names; bad input.
#include "fixture.hpp"

#include <emofuse/attention/connectors.hpp>
#include <emofuse/attention/load.hpp>
#include <emofuse/core/batch.hpp>
#include <emofuse/core/pipeline.hpp>
#include <emofuse/io/safetensors.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <string>

namespace ea = emofuse::attention;
using attention_testing::check_close;
using attention_testing::data_path;
using attention_testing::fixture;
using attention_testing::parity_tolerance;

TEST_CASE_TEMPLATE("linear and MLP projectors match nn.Linear / nn.Sequential", T, float, double) {
    const fixture f("projectors");
    const auto sd = emofuse::io::load_safetensors(data_path("projectors"));
    const auto linear = ea::load_linear_projector<T>(sd, "linear.");
    const auto mlp = ea::load_mlp_projector<T>(sd, "mlp.", ea::projector_options::llava());
    const auto x = f.get<T, 3>("input");
    const emofuse::sequence<T> seq(x, {4, 2});
    const auto lin_out = linear(seq);
    CHECK(lin_out.lengths() == seq.lengths());
    check_close(lin_out.values(), f.get<double, 3>("expected.linear"), parity_tolerance<T>(),
                "linear");
    check_close(mlp(seq).values(), f.get<double, 3>("expected.mlp"), parity_tolerance<T>(), "mlp");
    // Utterance-level rows: the first frame of each sample.
    emofuse::features<T> rows({2, 5});
    for (std::size_t b = 0; b < 2; ++b) {
        for (std::size_t c = 0; c < 5; ++c) {
            rows(b, c) = x(b, 0, c);
        }
    }
    const auto expected = f.get<double, 3>("expected.mlp");
    const auto y = mlp(rows);
    for (std::size_t b = 0; b < 2; ++b) {
        for (std::size_t c = 0; c < 7; ++c) {
            CHECK(std::abs(y(b, c) - expected(b, 0, c)) <= parity_tolerance<T>() * 4);
        }
    }
}

TEST_CASE_TEMPLATE("resampler matches the PyTorch module for any input length", T, float, double) {
    for (const char* name : {"resampler", "resampler_same_dim"}) {
        CAPTURE(name);
        const fixture f(name);
        const auto sd = emofuse::io::load_safetensors(data_path(name));
        const auto res = ea::load_resampler<T>(sd, "weights.", std::stoul(f.meta("heads")),
                                               ea::resampler_options::blip2_qformer());
        const emofuse::sequence<T> x(f.get<T, 3>("input"), f.sizes("lengths"));
        const auto out = res(x);
        CHECK(out.max_time() == res.query_count());
        CHECK(out.lengths() == std::vector<std::size_t>(3, res.query_count()));
        check_close(out.values(), f.get<double, 3>("expected"), parity_tolerance<T>(), name);
        // A pipeline stage: resample audio, then project it.
        const auto pipe = emofuse::per_modality(res);
        const auto result = pipe(emofuse::make_batch(emofuse::audio(x)));
        check_close(emofuse::entry_of(result[emofuse::audio]).values(),
                    f.get<double, 3>("expected"), parity_tolerance<T>(), name);
    }
}

TEST_CASE("connectors reject bad input") {
    const auto sd = emofuse::io::load_safetensors(data_path("projectors"));
    const auto linear = ea::load_linear_projector<float>(sd, "linear.");
    const auto mlp = ea::load_mlp_projector<float>(sd, "mlp.", ea::projector_options::llava());
    const emofuse::sequence<float> wrong(xt::xtensor<float, 3>({1, 2, 4}));
    CHECK_THROWS_WITH_AS((void)linear(wrong), doctest::Contains("linear_projector"),
                         emofuse::shape_error);
    CHECK_THROWS_WITH_AS((void)mlp(wrong), doctest::Contains("mlp_projector"),
                         emofuse::shape_error);
    CHECK_THROWS_AS(
        ea::mlp_projector<float>(emofuse::layers::dense<float>(xt::xtensor<float, 2>({9, 5})),
                                 emofuse::layers::dense<float>(xt::xtensor<float, 2>({7, 8})),
                                 ea::projector_options::llava()),
        emofuse::shape_error);

    const auto rsd = emofuse::io::load_safetensors(data_path("resampler"));
    constexpr auto qformer = ea::resampler_options::blip2_qformer();
    const auto res = ea::load_resampler<float>(rsd, "weights.", 2, qformer);
    const emofuse::sequence<float> wrong_dim(xt::xtensor<float, 3>({1, 3, 8}));
    CHECK_THROWS_WITH_AS((void)res(wrong_dim), doctest::Contains("input features"),
                         emofuse::shape_error);
    CHECK_THROWS_AS((void)ea::load_resampler<float>(rsd, "weights.", 3, qformer),
                    emofuse::shape_error);
    CHECK_THROWS_AS((void)ea::load_resampler<float>(rsd, "missing.", 2, qformer),
                    emofuse::io_error);
    CHECK_THROWS_AS(ea::resampler<float>(xt::xtensor<float, 2>({4, 8}), {}, {}, qformer),
                    emofuse::value_error);
}

TEST_CASE("connector presets name the peers' activations, and other activations are honoured") {
    CHECK(ea::projector_options::llava().hidden == emofuse::layers::activation::gelu);
    CHECK(ea::resampler_options::blip2_qformer().ffn == emofuse::layers::activation::gelu);
    // With the identity between its layers the MLP projector is the two linear layers in turn.
    const auto sd = emofuse::io::load_safetensors(data_path("projectors"));
    const auto straight =
        ea::load_mlp_projector<double>(sd, "mlp.", {emofuse::layers::activation::identity});
    const auto first = ea::load_linear_projector<double>(sd, "mlp.0.");
    const auto second = ea::load_linear_projector<double>(sd, "mlp.2.");
    const fixture f("projectors");
    const emofuse::sequence<double> seq(f.get<double, 3>("input"), {4, 2});
    const auto expected = second(first(seq));
    check_close(straight(seq).values(), expected.values(), 1e-12, "identity");
}
