// Length pooling, resampling, soft alignment, DTW, contrastive scores and missing-modality
// masks against the numpy/torch references in generate_fixtures.py (data/ops.json).
#include "fixture_io.hpp"

#include <emofuse/align/contrastive.hpp>
#include <emofuse/align/dtw.hpp>
#include <emofuse/align/length_pool.hpp>
#include <emofuse/align/missing.hpp>
#include <emofuse/align/resample.hpp>
#include <emofuse/align/soft_align.hpp>

#include <doctest/doctest.h>

using namespace emofuse::align;
using nlohmann::json;

namespace {

const json& ops() {
    static const json fixture = align_test::load_json("ops.json");
    return fixture;
}

// float64 results must match to 1e-12; float32 ones to 2e-6 (inputs are rounded to float).
template <class T>
constexpr double tolerance = sizeof(T) == 8 ? 1e-12 : 2e-6;

template <class T, std::size_t N>
xt::xtensor<T, N> tensor(const json& j) {
    std::vector<std::size_t> shape;
    const json* level = &j;
    for (std::size_t k = 0; k < N; ++k) {
        shape.push_back(level->size());
        level = level->empty() ? level : &(*level)[0];
    }
    xt::xtensor<T, N> out = xt::xtensor<T, N>::from_shape(shape);
    std::size_t i = 0;
    const auto fill = [&](const auto& self, const json& node) -> void {
        if (node.is_array()) {
            for (const auto& child : node) {
                self(self, child);
            }
        } else {
            out.data()[i++] = static_cast<T>(node.get<double>());
        }
    };
    fill(fill, j);
    REQUIRE(i == out.size());
    return out;
}

template <class A, class B>
void check_close(const A& got, const B& want, double tol) {
    REQUIRE(got.shape() == want.shape());
    for (std::size_t i = 0; i < got.size(); ++i) {
        const double w = static_cast<double>(want.data()[i]);
        CHECK(std::abs(static_cast<double>(got.data()[i]) - w) <= tol * std::max(1.0, std::abs(w)));
    }
}

} // namespace

TEST_CASE_TEMPLATE("length pooling matches MMSA's avg_pool and the MERTools form", T, float,
                   double) {
    for (const auto& c : ops().at("length_pool")) {
        const auto x = tensor<T, 3>(c.at("x"));
        const std::size_t target = c.at("target").get<std::size_t>();
        INFO("T = " << x.shape(1) << ", L = " << target);
        check_close(length_pool_mmsa(x, target), tensor<double, 3>(c.at("mmsa")), tolerance<T>);
        check_close(length_pool_mertools(x, target), tensor<double, 3>(c.at("mertools")),
                    tolerance<T>);
    }
    const xt::xtensor<T, 3> empty = xt::zeros<T>({2, 0, 3});
    CHECK_THROWS_AS(length_pool_mmsa(empty, 3), emofuse::shape_error);
    const xt::xtensor<T, 3> one = xt::zeros<T>({1, 4, 2});
    CHECK_THROWS_WITH_AS(length_pool_mertools(one, 0), doctest::Contains("target length"),
                         emofuse::value_error);
}

TEST_CASE_TEMPLATE("resampling to a length or a rate follows torch's interpolate per sample", T,
                   float, double) {
    const auto& r = ops().at("resample");
    const auto x = tensor<T, 3>(r.at("x"));
    const auto lengths = r.at("lengths").get<std::vector<std::size_t>>();
    for (const auto& c : r.at("cases")) {
        const auto method =
            c.at("method") == "nearest" ? resample_method::nearest : resample_method::linear;
        INFO(c.at("mode").get<std::string>() << " " << c.at("method").get<std::string>());
        const auto got =
            c.at("mode") == "length"
                ? resample_to_length(x, lengths, c.at("target").get<std::size_t>(), method)
                : resample_to_rate(x, lengths, c.at("rate_in").get<double>(),
                                   c.at("rate_out").get<double>(), method);
        CHECK(got.lengths == c.at("lengths").get<std::vector<std::size_t>>());
        check_close(got.values, tensor<double, 3>(c.at("values")), tolerance<T>);
    }
    // The sequence<T> adapter keeps the per-sample lengths.
    const emofuse::sequence<T> seq(x, lengths);
    const auto out = resample_to_length(seq, 4, resample_method::linear);
    CHECK(out.lengths() == std::vector<std::size_t>{4, 4, 0});
    CHECK(resample_to_rate(seq, 100, 50, resample_method::nearest).max_time() == 4);
    CHECK_THROWS_AS(resample_to_length(x, {8, 5}, 4, resample_method::linear),
                    emofuse::shape_error);
    CHECK_THROWS_AS(resample_to_length(x, {9, 5, 0}, 4, resample_method::linear),
                    emofuse::shape_error);
    CHECK_THROWS_AS(resample_to_length(x, lengths, 0, resample_method::linear),
                    emofuse::value_error);
    CHECK_THROWS_WITH_AS(resample_to_rate(x, lengths, 0.0, 30.0, resample_method::linear),
                         doctest::Contains("rates"), emofuse::value_error);
}

TEST_CASE_TEMPLATE("soft alignment applies shared and per-sample weight matrices", T, float,
                   double) {
    const auto& s = ops().at("soft_align");
    const auto x = tensor<T, 3>(s.at("x"));
    check_close(soft_align(tensor<T, 2>(s.at("weights")), x), tensor<double, 3>(s.at("shared")),
                tolerance<T> * 4);
    check_close(soft_align(tensor<T, 3>(s.at("batched_weights")), x),
                tensor<double, 3>(s.at("per_sample")), tolerance<T> * 4);
    const xt::xtensor<T, 2> wrong = xt::zeros<T>({4, 5});
    CHECK_THROWS_WITH_AS(soft_align(wrong, x), doctest::Contains("expected 6, got 5"),
                         emofuse::shape_error);
    const xt::xtensor<T, 3> wrong_batch = xt::zeros<T>({3, 4, 6});
    CHECK_THROWS_AS(soft_align(wrong_batch, x), emofuse::shape_error);
}

TEST_CASE_TEMPLATE("DTW cost and path match the O(nm) reference for every distance and band", T,
                   float, double) {
    for (const auto& c : ops().at("dtw")) {
        const auto a = tensor<T, 2>(c.at("a"));
        const auto b = tensor<T, 2>(c.at("b"));
        const std::string name = c.at("distance").get<std::string>();
        const auto distance = name == "euclidean"     ? frame_distance::euclidean
                              : name == "sqeuclidean" ? frame_distance::sqeuclidean
                                                      : frame_distance::cosine;
        std::optional<std::size_t> band;
        if (!c.at("band").is_null()) {
            band = c.at("band").get<std::size_t>();
        }
        INFO(name << " band " << c.at("band").dump() << " n " << a.shape(0) << " m " << b.shape(0));
        const auto got = dtw(a, b, distance, band);
        const double want = c.at("cost").get<double>();
        CHECK(std::abs(got.cost - want) <= tolerance<T> * 10 * std::max(1.0, want));
        std::vector<std::pair<std::size_t, std::size_t>> path;
        for (const auto& step : c.at("path")) {
            path.emplace_back(step[0].get<std::size_t>(), step[1].get<std::size_t>());
        }
        if constexpr (sizeof(T) == 8) {
            CHECK(got.path == path); // float rounding may flip exact ties
        }
        CHECK(got.path.front() == std::pair<std::size_t, std::size_t>{0, 0});
        CHECK(got.path.back() ==
              std::pair<std::size_t, std::size_t>{a.shape(0) - 1, b.shape(0) - 1});
    }
    // A user distance (L1) through the callable overload.
    const xt::xtensor<T, 2> a{{0, 0}, {1, 1}, {2, 2}};
    const xt::xtensor<T, 2> b{{0, 0}, {2, 2}};
    const auto l1 = dtw(a, b, [](const T* x, const T* y, std::size_t d) {
        double s = 0;
        for (std::size_t k = 0; k < d; ++k) {
            s += std::abs(static_cast<double>(x[k] - y[k]));
        }
        return s;
    });
    CHECK(l1.cost == doctest::Approx(2.0));
    const xt::xtensor<T, 2> none = xt::zeros<T>({0, 2});
    CHECK_THROWS_AS(dtw(none, b), emofuse::value_error);
    const xt::xtensor<T, 2> wide = xt::zeros<T>({2, 3});
    CHECK_THROWS_AS(dtw(a, wide), emofuse::shape_error);
}

TEST_CASE("the SIMD squared distance equals the scalar sum at every length and offset") {
    std::vector<float> x(70), y(70);
    for (std::size_t i = 0; i < x.size(); ++i) {
        x[i] = static_cast<float>(std::sin(0.7 * static_cast<double>(i)) * 100);
        y[i] = static_cast<float>(std::cos(0.3 * static_cast<double>(i)) * 100);
    }
    for (std::size_t offset = 0; offset < 3; ++offset) {
        for (std::size_t n = 0; n + offset <= x.size(); ++n) {
            double want = 0;
            for (std::size_t k = 0; k < n; ++k) {
                const double d = double(x[offset + k]) - double(y[offset + k]);
                want += d * d;
            }
            const double got =
                emofuse::align::detail::squared_distance(x.data() + offset, y.data() + offset, n);
            CHECK(std::abs(got - want) <= 1e-5 * std::max(1.0, want));
        }
    }
}

TEST_CASE_TEMPLATE("cosine similarity, InfoNCE and CLIP loss match torch", T, float, double) {
    const auto& c = ops().at("contrastive");
    const auto a = tensor<T, 2>(c.at("a"));
    const auto b = tensor<T, 2>(c.at("b"));
    const double tau = c.at("temperature").get<double>();
    check_close(cosine_similarity_matrix(a, b), tensor<double, 2>(c.at("similarity")),
                tolerance<T>);
    check_close(cosine_similarity_matrix(tensor<T, 2>(c.at("a_zero_row")), b),
                tensor<double, 2>(c.at("similarity_zero_row")), tolerance<T>);
    // The loss divides similarities by τ = 0.07, so float inputs move it by ~1e-5.
    const double loss_tol = sizeof(T) == 8 ? 1e-10 : 1e-4;
    CHECK(std::abs(info_nce(a, b, tau) - c.at("info_nce").get<double>()) <= loss_tol);
    CHECK(std::abs(clip_loss(a, b, tau) - c.at("clip").get<double>()) <= loss_tol);
    const xt::xtensor<T, 2> short_b = xt::zeros<T>({4, 4});
    CHECK_THROWS_AS(info_nce(a, short_b, tau), emofuse::shape_error);
    CHECK_THROWS_WITH_AS(clip_loss(a, b, 0.0), doctest::Contains("temperature"),
                         emofuse::value_error);
    const xt::xtensor<T, 2> narrow = xt::zeros<T>({5, 3});
    CHECK_THROWS_AS(cosine_similarity_matrix(a, narrow), emofuse::shape_error);
}

TEST_CASE("missing-modality masks reproduce numpy's legacy generator bit for bit") {
    const auto& m = ops().at("missing");
    numpy_legacy_uniform zero(0);
    for (const auto& u : m.at("uniform_seed0")) {
        CHECK(zero() == u.get<double>());
    }
    numpy_legacy_uniform top(4294967295u);
    for (const auto& u : m.at("uniform_seed_max")) {
        CHECK(top() == u.get<double>());
    }
    const auto lengths = m.at("lengths").get<std::vector<std::size_t>>();
    const auto time = m.at("time").get<std::size_t>();
    const auto rate = m.at("rate").get<double>();
    const auto seed = m.at("seed").get<std::uint32_t>();
    const auto mask = frame_drop_mask(lengths, time, rate, seed);
    const auto ends = frame_drop_mask(lengths, time, rate, seed, true);
    for (std::size_t b = 0; b < lengths.size(); ++b) {
        for (std::size_t t = 0; t < time; ++t) {
            CHECK(mask(b, t) == m.at("frame_mask")[b][t].get<int>());
            CHECK(ends(b, t) == m.at("frame_mask_keep_ends")[b][t].get<int>());
        }
    }
    const auto modality = modality_drop_mask(6, 3, 0.5, 7);
    for (std::size_t b = 0; b < 6; ++b) {
        for (std::size_t k = 0; k < 3; ++k) {
            CHECK(modality(b, k) == m.at("modality_mask")[b][k].get<int>());
        }
    }
    const auto kept = modality_drop_mask(50, 3, 0.9, 3, true);
    for (std::size_t b = 0; b < 50; ++b) {
        CHECK(kept(b, 0) + kept(b, 1) + kept(b, 2) >= 1);
    }
    CHECK_THROWS_WITH_AS(frame_drop_mask(lengths, time, 1.5, 1), doctest::Contains("[0, 1]"),
                         emofuse::value_error);
    CHECK_THROWS_AS(frame_drop_mask({8}, 7, 0.1, 1), emofuse::shape_error);
}

TEST_CASE_TEMPLATE("dropped frames are zeroed and recorded in the sequence's frame mask", T, float,
                   double) {
    xt::xtensor<T, 3> x = xt::ones<T>({2, 4, 3});
    const emofuse::sequence<T> seq(x, {4, 2});
    const auto dropped = drop_frames(seq, 0.5, 11);
    const auto mask = frame_drop_mask({4, 2}, 4, 0.5, 11);
    REQUIRE(dropped.has_frame_mask());
    for (std::size_t b = 0; b < 2; ++b) {
        for (std::size_t t = 0; t < 4; ++t) {
            CHECK(dropped.valid(b, t) == (mask(b, t) != 0));
            CHECK(dropped.values()(b, t, 1) == static_cast<T>(mask(b, t)));
        }
    }
    const xt::xtensor<std::uint8_t, 2> wrong = xt::zeros<std::uint8_t>({2, 3});
    CHECK_THROWS_AS(apply_frame_mask(x, wrong), emofuse::shape_error);
}
