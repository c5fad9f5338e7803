// MLB, MFB, MFH, MUTAN and MCB against block-style PyTorch references (generate_fixtures.py),
// and the FFT against a direct DFT.
#include "fusion_testing.hpp"

#include <emofuse/fusion/bilinear.hpp>
#include <emofuse/fusion/compact_bilinear.hpp>

#include <cmath>
#include <complex>
#include <limits>
#include <numbers>
#include <vector>

using namespace emofuse;
using emofuse::fusion::activation;
using emofuse::fusion::bilinear_options;
using emofuse::test::check_close;
using emofuse::test::fixture;
using emofuse::test::tolerance;

namespace {

template <class T>
auto pair_batch(const std::string& c) {
    return make_batch(vision(fixture<T, 2>(c + "_x0")), text(fixture<T, 2>(c + "_x1")));
}

} // namespace

TEST_CASE_TEMPLATE("MLB, MFB, MFH and MUTAN match block's modules", T, float, double) {
    const bilinear_options relu_norm{activation::relu, activation::identity, true};
    const bilinear_options identity{activation::identity, activation::identity, false};
    for (const std::string s : {"", "_b1"}) {
        CAPTURE(s);
        check_close(fusion::mlb<T>::from_state_dict(
                        test::weights("mlb" + s), "",
                        {activation::relu, activation::identity, false})(pair_batch<T>("mlb" + s)),
                    fixture<T, 2>("mlb" + s + "_y"), tolerance<T>());
        check_close(fusion::mfb<T>::from_state_dict(test::weights("mfb" + s), "", 3,
                                                    relu_norm)(pair_batch<T>("mfb" + s)),
                    fixture<T, 2>("mfb" + s + "_y"), tolerance<T>());
        check_close(fusion::mfh<T>::from_state_dict(test::weights("mfh" + s), "", 3,
                                                    {activation::relu, activation::tanh, true})(
                        pair_batch<T>("mfh" + s)),
                    fixture<T, 2>("mfh" + s + "_y"), tolerance<T>());
        const auto mutan =
            fusion::mutan<T>::from_state_dict(test::weights("mutan" + s), "", 3, relu_norm);
        check_close(mutan(pair_batch<T>("mutan" + s)), fixture<T, 2>("mutan" + s + "_y"),
                    tolerance<T>());
    }
    check_close(fusion::mlb<T>::from_state_dict(test::weights("mlb_norm"), "",
                                                {activation::tanh, activation::relu, true})(
                    pair_batch<T>("mlb_norm")),
                fixture<T, 2>("mlb_norm_y"), tolerance<T>());
    const auto plain = fusion::mfb<T>::from_state_dict(
        test::weights("mfb_plain"), "", 2, {activation::identity, activation::identity, true});
    CHECK(plain.outputs() == 4);
    check_close(plain(pair_batch<T>("mfb_plain")), fixture<T, 2>("mfb_plain_y"), tolerance<T>());
    check_close(fusion::mfh<T>::from_state_dict(test::weights("mfh_raw"), "", 2,
                                                identity)(pair_batch<T>("mfh_raw")),
                fixture<T, 2>("mfh_raw_y"), tolerance<T>());
    const auto rank15 =
        fusion::mutan<T>::from_state_dict(test::weights("mutan_raw"), "", 15, identity);
    CHECK(rank15.rank() == 15);
    check_close(rank15(pair_batch<T>("mutan_raw")), fixture<T, 2>("mutan_raw_y"), tolerance<T>());
    const auto masked =
        fusion::mfb<T>::from_state_dict(test::weights("mfb_masked"), "", 3, relu_norm);
    check_close(masked(pair_batch<T>("mfb_masked"), test::fixture_mask("mfb_masked")),
                fixture<T, 2>("mfb_masked_y"), tolerance<T>());
}

TEST_CASE("bilinear stages reject bad input") {
    const bilinear_options identity{activation::identity, activation::identity, false};
    const auto sd = test::weights("mfb");
    CHECK_THROWS_WITH_AS(fusion::mfb<float>::from_state_dict(sd, "", 5, identity),
                         doctest::Contains("expected a multiple of the factor k = 5, got 12"),
                         shape_error);
    const auto stage = fusion::mfb<float>::from_state_dict(sd, "", 3, identity);
    CHECK_THROWS_WITH_AS(
        stage(make_batch(text(fixture<float, 2>("mfb_x1")), vision(fixture<float, 2>("mfb_x0")))),
        doctest::Contains("features of modality 'text': expected 6, got 5"), shape_error);
    CHECK_THROWS_AS(stage(pair_batch<float>("mfb"), fusion::modality_mask::from_shape({5, 3})),
                    shape_error);
    CHECK_THROWS_AS(fusion::mutan<float>::from_state_dict(test::weights("mutan"), "", 5, identity),
                    shape_error);
    CHECK_THROWS_WITH_AS(fusion::mlb<float>::from_state_dict(sd, "", identity),
                         doctest::Contains("linear_out"), shape_error);
}

TEST_CASE("bilinear stages propagate NaN per sample") {
    const bilinear_options identity{activation::identity, activation::identity, false};
    const auto stage = fusion::mfb<float>::from_state_dict(test::weights("mfb"), "", 3, identity);
    auto x0 = fixture<float, 2>("mfb_x0");
    x0(2, 1) = std::numeric_limits<float>::quiet_NaN();
    const auto y = stage(make_batch(vision(x0), text(fixture<float, 2>("mfb_x1"))));
    CHECK(std::isnan(y(2, 0)));
    CHECK(!std::isnan(y(1, 0)));
}

TEST_CASE_TEMPLATE("the radix-2 FFT matches a direct DFT", T, float, double) {
    for (std::size_t n : {1u, 2u, 8u, 64u, 1024u}) {
        CAPTURE(n);
        fusion::detail::fft_plan<T> plan(n);
        std::vector<T> re(n), im(n);
        std::vector<std::complex<double>> x(n);
        for (std::size_t i = 0; i < n; ++i) {
            x[i] = {std::sin(0.37 * double(i) + 0.1), std::cos(1.3 * double(i))};
            re[i] = T(x[i].real());
            im[i] = T(x[i].imag());
        }
        plan.transform(re.data(), im.data(), false);
        const double scale = std::sqrt(double(n)) + 1.0;
        for (std::size_t k = 0; k < n; ++k) {
            std::complex<double> sum = 0;
            for (std::size_t j = 0; j < n; ++j) {
                sum +=
                    x[j] * std::polar(1.0, -2.0 * std::numbers::pi * double(j * k % n) / double(n));
            }
            CHECK(std::abs(double(re[k]) - sum.real()) <= 20 * tolerance<T>() * scale);
            CHECK(std::abs(double(im[k]) - sum.imag()) <= 20 * tolerance<T>() * scale);
        }
        plan.transform(re.data(), im.data(), true);
        for (std::size_t i = 0; i < n; ++i) {
            CHECK(std::abs(double(re[i]) / double(n) - x[i].real()) <= 20 * tolerance<T>());
        }
    }
    CHECK_THROWS_AS(fusion::detail::fft_plan<T>(12), value_error);
    CHECK_THROWS_AS(fusion::detail::fft_plan<T>(0), value_error);
}

TEST_CASE_TEMPLATE("MCB matches the sketch-matrix + torch.fft reference, FFT and direct", T, float,
                   double) {
    using fusion::mcb_convolution;
    for (const std::string c : {"mcb", "mcb_norm", "mcb_b1", "mcb_wide"}) {
        CAPTURE(c);
        const std::size_t out = c == "mcb" ? 16 : c == "mcb_norm" ? 8 : c == "mcb_b1" ? 8 : 64;
        const bool normalize = c == "mcb_norm";
        for (auto method :
             {mcb_convolution::fft, mcb_convolution::direct, mcb_convolution::automatic}) {
            const auto stage = fusion::compact_bilinear<T>::from_state_dict(test::weights(c), "",
                                                                            out, normalize, method);
            check_close(stage(pair_batch<T>(c)), fixture<T, 2>(c + "_y"), tolerance<T>());
        }
    }
    const auto wide =
        fusion::compact_bilinear<T>::from_state_dict(test::weights("mcb_wide"), "", 64);
    CHECK(wide.method() == mcb_convolution::fft);
    const auto small = fusion::compact_bilinear<T>::from_state_dict(test::weights("mcb"), "", 16);
    CHECK(small.method() == mcb_convolution::direct);
}

TEST_CASE("MCB seeded sketches are deterministic; bad sketches and sizes are rejected") {
    const fusion::compact_bilinear<float> a(6, 5, 16, 42), b(6, 5, 16, 42), c(6, 5, 16, 43);
    CHECK(a.hash(0) == b.hash(0));
    CHECK(a.sign(1) == b.sign(1));
    CHECK(a.hash(0) != c.hash(0));
    for (auto v : a.hash(1)) {
        CHECK((v >= 0 && v < 16));
    }
    // A non-power-of-two D works with the direct convolution and is refused by the FFT.
    const fusion::compact_bilinear<double> odd(6, 5, 10, 1);
    const auto batch = pair_batch<double>("mcb");
    const auto fast = fusion::compact_bilinear<double>(
        a.hash(0), a.sign(0), a.hash(1), a.sign(1), 16, false, fusion::mcb_convolution::fft)(batch);
    const auto direct =
        fusion::compact_bilinear<double>(a.hash(0), a.sign(0), a.hash(1), a.sign(1), 16, false,
                                         fusion::mcb_convolution::direct)(batch);
    check_close(fast, direct, 1e-12);
    CHECK(odd(batch).shape(1) == 10);
    CHECK_THROWS_AS(
        fusion::compact_bilinear<double>(6, 5, 10, 1, false, fusion::mcb_convolution::fft),
        value_error);
    using iv = fusion::compact_bilinear<float>::index_vector;
    CHECK_THROWS_WITH_AS(
        fusion::compact_bilinear<float>(iv({0, 16}), iv({1, 1}), iv({0}), iv({1}), 16),
        doctest::Contains("h_0[1]: expected a value in [0, 16), got 16"), value_error);
    CHECK_THROWS_WITH_AS(
        fusion::compact_bilinear<float>(iv({0, 1}), iv({1, 0}), iv({0}), iv({1}), 16),
        doctest::Contains("s_0[1]: expected +1 or -1, got 0"), value_error);
    CHECK_THROWS_AS(fusion::compact_bilinear<float>(iv({0, 1}), iv({1}), iv({0}), iv({1}), 16),
                    shape_error);
    CHECK_THROWS_AS(fusion::compact_bilinear<float>(6, 5, 0), value_error);
}

TEST_CASE_TEMPLATE("power + L2 normalisation: SIMD body and tail match the formula", T, float,
                   double) {
    for (std::size_t n : {1u, 7u, 16u, 37u, 64u}) {
        CAPTURE(n);
        std::vector<T> z(2 * n);
        for (std::size_t i = 0; i < z.size(); ++i) {
            z[i] = T(std::sin(1.7 * double(i)) * 3.0);
        }
        z[0] = T(0);
        std::vector<double> expected(z.size());
        for (std::size_t r = 0; r < 2; ++r) {
            double sum = 0;
            for (std::size_t j = 0; j < n; ++j) {
                const double v = double(z[r * n + j]);
                expected[r * n + j] = v < 0 ? -std::sqrt(-v) : std::sqrt(v);
                sum += std::abs(v);
            }
            for (std::size_t j = 0; j < n; ++j) {
                expected[r * n + j] /= std::max(std::sqrt(sum), 1e-12);
            }
        }
        fusion::detail::power_l2_normalize(z.data(), 2, n, n);
        for (std::size_t i = 0; i < z.size(); ++i) {
            CHECK(std::abs(double(z[i]) - expected[i]) <= tolerance<T>());
        }
    }
    std::vector<T> zeros(20, T(0));
    fusion::detail::power_l2_normalize(zeros.data(), 1, 20, 20);
    CHECK(zeros[19] == T(0)); // ‖z‖ = 0: divided by 1e-12, stays 0 (no NaN)
    std::vector<T> with_nan(20, T(1));
    with_nan[3] = std::numeric_limits<T>::quiet_NaN();
    fusion::detail::power_l2_normalize(with_nan.data(), 1, 20, 20);
    CHECK(std::isnan(with_nan[0]));
}

TEST_CASE_TEMPLATE("FFT circular convolution matches the direct O(n²) sum", T, float, double) {
    for (std::size_t n : {1u, 2u, 4u, 8u, 64u, 256u}) {
        CAPTURE(n);
        fusion::detail::fft_plan<T> plan(n);
        std::vector<T> a(n), b(n), out(n), re(n), im(n);
        for (std::size_t i = 0; i < n; ++i) {
            a[i] = T(std::sin(0.9 * double(i) + 0.3));
            b[i] = T(std::cos(0.4 * double(i * i) + 0.1));
        }
        plan.circular_convolution(a.data(), b.data(), out.data(), re.data(), im.data());
        for (std::size_t k = 0; k < n; ++k) {
            double sum = 0;
            for (std::size_t i = 0; i < n; ++i) {
                sum += double(a[i]) * double(b[(k + n - i) % n]);
            }
            CHECK(std::abs(double(out[k]) - sum) <=
                  20 * tolerance<T>() * (1.0 + std::sqrt(double(n))));
        }
    }
}

TEST_CASE_TEMPLATE("bilinear_options::block() is block's ReLU in and out", T, float, double) {
    constexpr auto block = bilinear_options::block();
    CHECK(block.input == activation::relu);
    CHECK(block.output == activation::relu);
    CHECK(!block.normalize);
    // The "mlb" fixture is ReLU in, identity out: block's output is its ReLU.
    const auto stage = fusion::mlb<T>::from_state_dict(test::weights("mlb"), "", block);
    auto expected = fixture<T, 2>("mlb_y");
    for (auto& v : expected) {
        v = v < T(0) ? T(0) : v;
    }
    check_close(stage(pair_batch<T>("mlb")), expected, tolerance<T>());
}
