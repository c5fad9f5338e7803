// Scaled dot-product attention: parity with the float64 PyTorch math, the streaming kernel
// against its scalar reference over awkward shapes, masks and bad input.
#include "fixture.hpp"

#include <emofuse/attention/scaled_dot_product.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>

namespace ea = emofuse::attention;
using attention_testing::check_close;
using attention_testing::fixture;
using attention_testing::parity_tolerance;

namespace {

template <class T>
ea::attention_mask<T> mask_of(const fixture& f, std::size_t batch, std::size_t tk) {
    ea::attention_mask<T> mask;
    if (f.has("key_lengths")) {
        mask.key_lengths = f.sizes("key_lengths");
    }
    if (f.has("key_valid")) {
        mask.key_valid = f.get<std::uint8_t, 2>("key_valid");
    }
    if (f.has("additive")) {
        mask.additive = f.get<T, 3>("additive");
    }
    const std::string future = f.meta("future", "none");
    mask.future = future == "causal"    ? ea::future_mask::causal
                  : future == "shifted" ? ea::future_mask::shifted
                                        : ea::future_mask::none;
    (void)batch;
    (void)tk;
    return mask;
}

template <class T>
xt::xtensor<T, 3> random_tensor(std::size_t a, std::size_t b, std::size_t c, std::mt19937& rng) {
    std::normal_distribution<double> normal(0.0, 1.0);
    xt::xtensor<T, 3> x({a, b, c});
    for (auto& v : x) {
        v = static_cast<T>(normal(rng));
    }
    return x;
}

} // namespace

TEST_CASE_TEMPLATE("scaled_dot_product_attention matches the PyTorch math", T, float, double) {
    for (const char* name : {"sdpa_plain", "sdpa_lengths_valid", "sdpa_causal", "sdpa_shifted",
                             "sdpa_additive", "sdpa_fully_masked", "sdpa_long", "sdpa_b1"}) {
        CAPTURE(name);
        const fixture f(name);
        const auto q = f.get<T, 3>("query");
        const auto k = f.get<T, 3>("key");
        const auto v = f.get<T, 3>("value");
        const auto expected = f.get<double, 3>("expected");
        const auto mask = mask_of<T>(f, q.shape(0), k.shape(1));
        std::optional<T> scale;
        if (!f.meta("scale").empty()) {
            scale = static_cast<T>(std::stod(f.meta("scale")));
        }
        const auto out = ea::scaled_dot_product_attention(q, k, v, mask, scale);
        check_close(out, expected, parity_tolerance<T>(), name);
        const auto ref = ea::scaled_dot_product_attention_reference(q, k, v, mask, scale);
        check_close(ref, expected, parity_tolerance<T>(), name);
    }
}

TEST_CASE("a fully masked query row is zero, never NaN") {
    const fixture f("sdpa_fully_masked");
    const auto q = f.get<float, 3>("query");
    const auto out = ea::scaled_dot_product_attention(
        q, f.get<float, 3>("key"), f.get<float, 3>("value"), mask_of<float>(f, 3, 6));
    for (std::size_t b : {0u, 1u}) {
        for (std::size_t i = 0; i < out.shape(1); ++i) {
            for (std::size_t c = 0; c < out.shape(2); ++c) {
                CHECK(out(b, i, c) == 0.0f);
            }
        }
    }
    for (float v : out) {
        CHECK(std::isfinite(v));
    }
}

TEST_CASE_TEMPLATE("streaming kernel equals its scalar reference over awkward shapes", T, float,
                   double) {
    std::mt19937 rng(7);
    // Key counts around SIMD widths and the key block (256); queries around the query block.
    for (std::size_t tk : {1u, 2u, 7u, 15u, 16u, 17u, 31u, 33u, 255u, 256u, 257u, 530u}) {
        for (std::size_t tq : {1u, 5u, 33u}) {
            for (std::size_t d : {1u, 5u, 8u, 9u, 12u, 16u}) {
                CAPTURE(tk);
                CAPTURE(tq);
                CAPTURE(d);
                const auto q = random_tensor<T>(2, tq, d, rng);
                const auto k = random_tensor<T>(2, tk, d, rng);
                // value_dim = key_dim takes the register-blocked path, d + 2 the generic one.
                const std::size_t dv = (tk + tq) % 2 ? d : d + 2;
                const auto v = random_tensor<T>(2, tk, dv, rng);
                ea::attention_mask<T> mask;
                mask.key_lengths = {tk, tk / 2};
                mask.future = (tk % 2) ? ea::future_mask::shifted : ea::future_mask::causal;
                if (tq == 33) {
                    mask.key_valid = xt::ones<std::uint8_t>({std::size_t(2), tk});
                    for (std::size_t j = 0; j < tk; j += 3) {
                        mask.key_valid(1, j) = 0;
                    }
                }
                const auto fast = ea::scaled_dot_product_attention(q, k, v, mask);
                const auto slow = ea::scaled_dot_product_attention_reference(q, k, v, mask);
                check_close(fast, slow, std::is_same_v<T, float> ? 2e-6 : 1e-13);
            }
        }
    }
}

TEST_CASE("large scores do not overflow the streaming softmax") {
    std::mt19937 rng(3);
    auto q = random_tensor<float>(1, 4, 3, rng);
    auto k = random_tensor<float>(1, 600, 3, rng);
    const auto v = random_tensor<float>(1, 600, 2, rng);
    q *= 40.0f; // scores of several hundreds: exp would overflow without the running max
    k *= 40.0f;
    const auto fast = ea::scaled_dot_product_attention(q, k, v);
    const auto slow = ea::scaled_dot_product_attention_reference(q, k, v);
    for (float x : fast) {
        CHECK(std::isfinite(x));
    }
    check_close(fast, slow, 1e-5);
}

TEST_CASE("scaled_dot_product_attention rejects bad shapes and masks") {
    std::mt19937 rng(1);
    const auto q = random_tensor<float>(2, 3, 4, rng);
    const auto k = random_tensor<float>(2, 5, 4, rng);
    const auto v = random_tensor<float>(2, 5, 6, rng);
    CHECK_THROWS_AS(
        (void)ea::scaled_dot_product_attention(q, random_tensor<float>(2, 5, 3, rng), v),
        emofuse::shape_error);
    CHECK_THROWS_AS(
        (void)ea::scaled_dot_product_attention(q, k, random_tensor<float>(2, 4, 6, rng)),
        emofuse::shape_error);
    CHECK_THROWS_AS(
        (void)ea::scaled_dot_product_attention(q, random_tensor<float>(3, 5, 4, rng), v),
        emofuse::shape_error);
    ea::attention_mask<float> lengths_too_long;
    lengths_too_long.key_lengths = {5, 6};
    CHECK_THROWS_WITH_AS((void)ea::scaled_dot_product_attention(q, k, v, lengths_too_long),
                         doctest::Contains("key_lengths[1]"), emofuse::shape_error);
    ea::attention_mask<float> wrong_count;
    wrong_count.key_lengths = {5};
    CHECK_THROWS_AS((void)ea::scaled_dot_product_attention(q, k, v, wrong_count),
                    emofuse::shape_error);
    ea::attention_mask<float> wrong_valid;
    wrong_valid.key_valid = xt::xtensor<std::uint8_t, 2>({2, 4});
    CHECK_THROWS_WITH_AS((void)ea::scaled_dot_product_attention(q, k, v, wrong_valid),
                         doctest::Contains("key_valid shape"), emofuse::shape_error);
    ea::attention_mask<float> wrong_additive;
    wrong_additive.additive = xt::xtensor<float, 3>({1, 3, 4});
    CHECK_THROWS_WITH_AS((void)ea::scaled_dot_product_attention(q, k, v, wrong_additive),
                         doctest::Contains("additive shape"), emofuse::shape_error);
}
