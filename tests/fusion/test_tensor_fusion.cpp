// Tensor fusion (z and fused linear) against the PyTorch references in generate_fixtures.py.
#include "fusion_testing.hpp"

#include <emofuse/core/pipeline.hpp>
#include <emofuse/fusion/tensor_fusion.hpp>
#include <emofuse/heads/linear.hpp>
#include <emofuse/kernels/linear.hpp>

#include <cmath>
#include <thread>
#include <vector>

#include <limits>

using namespace emofuse;
using emofuse::test::check_close;
using emofuse::test::fixture;
using emofuse::test::tolerance;

namespace {

constexpr auto depth = modality<"depth">;

// Batches in the fixtures' modality order: (audio, vision, text), or a prefix of
// (audio, text) / (audio, vision, text, depth) for two or four modalities.
template <class T>
auto batch3(const std::string& c) {
    return make_batch(audio(fixture<T, 2>(c + "_x0")), vision(fixture<T, 2>(c + "_x1")),
                      text(fixture<T, 2>(c + "_x2")));
}
template <class T>
auto batch2(const std::string& c) {
    return make_batch(audio(fixture<T, 2>(c + "_x0")), text(fixture<T, 2>(c + "_x1")));
}
template <class T>
auto batch4(const std::string& c) {
    return make_batch(audio(fixture<T, 2>(c + "_x0")), vision(fixture<T, 2>(c + "_x1")),
                      text(fixture<T, 2>(c + "_x2")), depth(fixture<T, 2>(c + "_x3")));
}

} // namespace

TEST_CASE_TEMPLATE("tensor_fusion z matches MMSA/MultiBench and the CMU-SDK form", T, float,
                   double) {
    // Products of three values: exact to a rounding or two.
    check_close(fusion::tensor_fusion<>{}(batch3<T>("tfn_z")), fixture<T, 2>("tfn_z_y"),
                tolerance<T>());
    check_close(
        fusion::tensor_fusion<dims<>, fusion::tensor_form::cmu_sdk>{}(batch3<T>("tfn_z_cmu")),
        fixture<T, 2>("tfn_z_cmu_y"), tolerance<T>());
    const auto mask = test::fixture_mask("tfn_z_masked");
    check_close(fusion::tensor_fusion<>{}(batch3<T>("tfn_z_masked"), mask),
                fixture<T, 2>("tfn_z_masked_y"), tolerance<T>());
}

TEST_CASE("tensor_fusion with static dims has a compile-time output size") {
    using tfn = fusion::tensor_fusion<dims<3, 4, 2>>;
    static_assert(tfn::output_size == 4 * 5 * 3);
    static_assert(fusion::tensor_fusion<dims<3, 4, 2>, fusion::tensor_form::cmu_sdk>::output_size ==
                  24);
    static_assert(fusion::tensor_fusion<>::output_size == dynamic);
    const auto z = tfn{}(batch3<float>("tfn_z"));
    CHECK(z.shape(1) == tfn::output_size);
    // A pipeline checks the static size against the head's.
    xt::xtensor<float, 2> w = xt::ones<float>({2, 60});
    auto pipe = tfn{} | heads::linear<float, 60, 2>(w);
    CHECK(pipe(batch3<float>("tfn_z")).shape(1) == 2);
    CHECK_THROWS_AS(tfn{}(batch2<float>("tfn_linear_2mod")), shape_error);
}

TEST_CASE_TEMPLATE("tensor_fusion_linear matches Linear(TFN(z)) for every variant", T, float,
                   double) {
    using kernels::epilogue;
    for (const std::string c : {"tfn_linear", "tfn_linear_b1", "tfn_linear_wide"}) {
        CAPTURE(c);
        const auto sd = test::weights(c);
        const auto act =
            c == "tfn_linear" || c == "tfn_linear_wide" ? epilogue::none : epilogue::relu;
        const auto stage =
            fusion::tensor_fusion_linear<T>::from_state_dict(sd, "post_fusion_layer_1.", act);
        check_close(stage(batch3<T>(c)), fixture<T, 2>(c + "_y"), tolerance<T>());
    }
    {
        const auto sd = test::weights("tfn_linear_relu");
        const auto stage = fusion::tensor_fusion_linear<T, dims<4, 6, 5>>::from_state_dict(
            sd, "post_fusion_layer_1.", fusion::tfn_activation::mmsa);
        check_close(stage(batch3<T>("tfn_linear_relu")), fixture<T, 2>("tfn_linear_relu_y"),
                    tolerance<T>());
    }
    {
        const auto sd = test::weights("tfn_linear_cmu");
        const auto stage =
            fusion::tensor_fusion_linear<T, dims<>, fusion::tensor_form::cmu_sdk>::from_state_dict(
                sd, "post_fusion_layer_1.", fusion::tfn_activation::linear);
        check_close(stage(batch3<T>("tfn_linear_cmu")), fixture<T, 2>("tfn_linear_cmu_y"),
                    tolerance<T>());
    }
    {
        const auto stage = fusion::tensor_fusion_linear<T>::from_state_dict(
            test::weights("tfn_linear_2mod"), "post_fusion_layer_1.",
            fusion::tfn_activation::linear);
        check_close(stage(batch2<T>("tfn_linear_2mod")), fixture<T, 2>("tfn_linear_2mod_y"),
                    tolerance<T>());
    }
    {
        const auto stage = fusion::tensor_fusion_linear<T>::from_state_dict(
            test::weights("tfn_linear_4mod"), "post_fusion_layer_1.", epilogue::relu);
        check_close(stage(batch4<T>("tfn_linear_4mod")), fixture<T, 2>("tfn_linear_4mod_y"),
                    tolerance<T>());
    }
    {
        const auto stage = fusion::tensor_fusion_linear<T>::from_state_dict(
            test::weights("tfn_linear_masked"), "post_fusion_layer_1.",
            fusion::tfn_activation::linear);
        check_close(stage(batch3<T>("tfn_linear_masked"), test::fixture_mask("tfn_linear_masked")),
                    fixture<T, 2>("tfn_linear_masked_y"), tolerance<T>());
    }
}

TEST_CASE("tensor_fusion_linear equals tensor_fusion followed by heads::linear") {
    const auto sd = test::weights("tfn_linear_wide");
    const auto fused = fusion::tensor_fusion_linear<double>::from_state_dict(
        sd, "post_fusion_layer_1.", fusion::tfn_activation::linear);
    const heads::linear<double> head(fused.weight(), fused.bias());
    const auto batch = batch3<double>("tfn_linear_wide");
    check_close(fused(batch), head(fusion::tensor_fusion<>{}(batch)), 1e-12);
    // only<...> picks and orders the modalities.
    auto reordered = make_batch(text(fixture<double, 2>("tfn_linear_wide_x2")),
                                audio(fixture<double, 2>("tfn_linear_wide_x0")),
                                vision(fixture<double, 2>("tfn_linear_wide_x1")));
    check_close(only<audio, vision, text>(fused)(reordered),
                fixture<double, 2>("tfn_linear_wide_y"), 1e-11);
}

TEST_CASE("tensor fusion rejects bad input with messages that name the problem") {
    const auto sd = test::weights("tfn_linear");
    const auto stage = fusion::tensor_fusion_linear<float>::from_state_dict(
        sd, "post_fusion_layer_1.", fusion::tfn_activation::linear);
    // Wrong feature size: Π changes.
    auto wrong = make_batch(audio(xt::xtensor<float, 2>::from_shape({2, 4})),
                            vision(xt::xtensor<float, 2>::from_shape({2, 6})),
                            text(xt::xtensor<float, 2>::from_shape({2, 4})));
    CHECK_THROWS_WITH_AS(stage(wrong),
                         doctest::Contains("fusion::tensor_fusion_linear: Π of factor sizes"),
                         shape_error);
    // Wrong modality count.
    CHECK_THROWS_AS(stage(batch2<float>("tfn_linear_2mod")), shape_error);
    // Disagreeing batch sizes.
    auto ragged = make_batch(audio(xt::xtensor<float, 2>::from_shape({2, 4})),
                             vision(xt::xtensor<float, 2>::from_shape({3, 6})),
                             text(xt::xtensor<float, 2>::from_shape({2, 5})));
    CHECK_THROWS_WITH_AS(stage(ragged), doctest::Contains("has 3 samples"), shape_error);
    // Mask shape.
    const auto batch = batch3<float>("tfn_linear");
    CHECK_THROWS_WITH_AS(stage(batch, fusion::modality_mask::from_shape({5, 2})),
                         doctest::Contains("modality mask shape: expected (5, 3)"), shape_error);
    CHECK_THROWS_AS(stage(batch, fusion::modality_mask::from_shape({4, 3})), shape_error);
    // Static dims and bias checked at construction.
    CHECK_THROWS_AS((fusion::tensor_fusion_linear<float, dims<4, 6, 4>>(
                        stage.weight(), stage.bias(), fusion::tfn_activation::linear)),
                    shape_error);
    CHECK_THROWS_AS(fusion::tensor_fusion_linear<float>(stage.weight(),
                                                        xt::xtensor<float, 1>({1.f}),
                                                        fusion::tfn_activation::linear),
                    shape_error);
    // A missing tensor is an io_error naming it.
    CHECK_THROWS_WITH_AS(fusion::tensor_fusion_linear<float>::from_state_dict(
                             sd, "post_fusion_layer_2.", fusion::tfn_activation::linear),
                         doctest::Contains("post_fusion_layer_2.weight"), io_error);
}

TEST_CASE("tensor fusion propagates NaN and handles an empty batch") {
    const auto sd = test::weights("tfn_linear");
    const auto stage = fusion::tensor_fusion_linear<float>::from_state_dict(
        sd, "post_fusion_layer_1.", fusion::tfn_activation::linear);
    auto batch = batch3<float>("tfn_linear");
    batch[vision](1, 2) = std::numeric_limits<float>::quiet_NaN();
    const auto y = stage(batch);
    for (std::size_t h = 0; h < y.shape(1); ++h) {
        CHECK(std::isnan(y(1, h)));
        CHECK(!std::isnan(y(0, h)));
    }
    auto empty = make_batch(audio(xt::xtensor<float, 2>::from_shape({0, 4})),
                            vision(xt::xtensor<float, 2>::from_shape({0, 6})),
                            text(xt::xtensor<float, 2>::from_shape({0, 5})));
    CHECK(stage(empty).shape(0) == 0);
    CHECK(fusion::tensor_fusion<>{}(empty).shape(1) == 5 * 7 * 6);
}

TEST_CASE_TEMPLATE("the blocked outer-product kernel matches a scalar linear over edge shapes", T,
                   float, double) {
    // Row counts across register tiles and row chunks (240), depths across the depth block,
    // widths across SIMD vectors and 4-vector column tiles.
    std::size_t seed = 1;
    auto next = [&seed] {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        return T(double((seed >> 33) % 2001) / 1000.0 - 1.0);
    };
    for (std::size_t rows : {1u, 5u, 7u, 250u, 481u}) {
        for (std::size_t in : {1u, 13u, 300u}) {
            for (std::size_t out : {1u, 17u, 70u}) {
                CAPTURE(rows);
                CAPTURE(in);
                CAPTURE(out);
                std::vector<T> x(rows * in), w(out * in), b(out), y(rows * out), ref(rows * out);
                for (auto* v : {&x, &w, &b}) {
                    for (auto& e : *v) {
                        e = next();
                    }
                }
                const fusion::detail::packed_linear<T> layer(w.data(), b.data(), out, in);
                layer.apply(x.data(), in, rows, y.data(), kernels::epilogue::relu);
                kernels::linear_reference(x.data(), rows, in, w.data(), b.data(), out, ref.data(),
                                          kernels::epilogue::relu);
                for (std::size_t i = 0; i < y.size(); ++i) {
                    REQUIRE(std::abs(double(y[i]) - double(ref[i])) <=
                            10 * tolerance<T>() * (1.0 + std::abs(double(ref[i]))) *
                                std::sqrt(double(in)));
                }
            }
        }
    }
}

TEST_CASE("tensor_fusion_linear over a batch larger than one row chunk") {
    // 250 samples (two row chunks), Π = 5·41·14 (several depth blocks).
    const auto sd = test::weights("tfn_linear_wide");
    const auto fused = fusion::tensor_fusion_linear<double>::from_state_dict(
        sd, "post_fusion_layer_1.", fusion::tfn_activation::linear);
    const heads::linear<double> head(fused.weight(), fused.bias());
    auto make = [](std::size_t d, double phase) {
        auto x = xt::xtensor<double, 2>::from_shape({250, d});
        for (std::size_t i = 0; i < x.size(); ++i) {
            x.data()[i] = std::sin(0.7 * double(i) + phase);
        }
        return x;
    };
    const auto batch = make_batch(audio(make(5, 0.1)), vision(make(40, 0.2)), text(make(13, 0.3)));
    check_close(fused(batch), head(fusion::tensor_fusion<>{}(batch)), 1e-12);
}

TEST_CASE("one stage object serves several threads at once (per-thread scratch)") {
    const auto stage = fusion::tensor_fusion_linear<float>::from_state_dict(
        test::weights("tfn_linear_wide"), "post_fusion_layer_1.", fusion::tfn_activation::linear);
    const auto batch = batch3<float>("tfn_linear_wide");
    const auto expected = stage(batch);
    std::vector<features<float>> results(4);
    std::vector<std::thread> workers;
    for (std::size_t i = 0; i < results.size(); ++i) {
        workers.emplace_back([&, i] {
            for (int repeat = 0; repeat < 20; ++repeat) {
                results[i] = stage(batch);
            }
        });
    }
    for (auto& w : workers) {
        w.join();
    }
    for (const auto& r : results) {
        check_close(r, expected, 0.0);
    }
}
