// Bootstrap and significance tests: the resampling stream is reproduced by the fixture
// generator (same splitmix64 draws), so CIs are checked against sklearn on the resampled
// indices; results are deterministic for a seed and independent of the thread count.
#include "fixtures.hpp"

#include <emofuse/core/error.hpp>
#include <emofuse/metrics/bootstrap.hpp>
#include <emofuse/metrics/classification.hpp>
#include <emofuse/metrics/emotion.hpp>
#include <emofuse/metrics/sentiment.hpp>
#include <emofuse/metrics/significance.hpp>
#include <emofuse/platform/parallel.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <numeric>
#include <span>
#include <vector>

namespace em = emofuse::metrics;
using metrics_test::close;
using metrics_test::fixtures;

TEST_CASE("resample weights: reproducible stream, counts sum to n") {
    const auto& c = fixtures()["bootstrap"];
    const auto n = c["n"].get<std::size_t>();
    std::vector<std::uint32_t> weights(n);
    em::resample_weights(n, c["seed"].get<std::uint64_t>(), 0, weights);
    for (std::size_t i = 0; i < n; ++i) {
        CHECK(weights[i] == c["first_weights"][i].get<std::uint32_t>());
    }
    CHECK(std::accumulate(weights.begin(), weights.end(), std::uint64_t{0}) == n);
    std::vector<std::uint32_t> other(n);
    em::resample_weights(n, c["seed"].get<std::uint64_t>(), 1, other);
    CHECK(other != weights);
    CHECK_THROWS_AS(em::resample_weights(n, 0, 0, std::span<std::uint32_t>(other).first(3)),
                    emofuse::shape_error);
}

TEST_CASE("bootstrap CI of weighted F1 matches sklearn on the same resamples") {
    const auto& c = fixtures()["bootstrap"];
    const auto truth = metrics_test::as_labels<int>(c["truth"]);
    const auto pred = metrics_test::as_labels<int>(c["pred"]);
    const auto k = c["num_classes"].get<std::size_t>();
    const auto statistic = [&](std::span<const std::uint32_t> weights) {
        em::confusion_counts counts(k);
        counts.update(std::span<const int>(truth), std::span<const int>(pred), weights);
        return em::f1(counts, em::average::weighted);
    };
    em::bootstrap_options options;
    options.resamples = c["resamples"].get<std::size_t>();
    options.seed = c["seed"].get<std::uint64_t>();
    options.confidence = c["confidence"].get<double>();
    // The pool holds 3 threads here whatever the machine has, so "3" really runs on three.
    emofuse::set_num_threads(3);
    for (const unsigned threads : {1U, 2U, 3U}) {
        CAPTURE(threads);
        options.threads = threads;
        const auto result = em::bootstrap(truth.size(), statistic, options);
        REQUIRE(result.keys.size() == 1);
        CHECK(close(result.intervals[0].low, c["ci"][0], 1e-12));
        CHECK(close(result.intervals[0].high, c["ci"][1], 1e-12));
    }
    emofuse::set_num_threads(0);
}

TEST_CASE("bootstrap of a whole suite: keys, determinism, sanity") {
    std::vector<double> truth(500), pred(500);
    for (std::size_t i = 0; i < truth.size(); ++i) {
        truth[i] = static_cast<double>(static_cast<int>(i % 13) - 6) / 2.0;
        pred[i] = truth[i] * 0.7 + std::sin(static_cast<double>(i)) * 1.2;
    }
    const auto suite_on = [&](std::span<const std::uint32_t> weights) {
        em::sentiment_suite suite(em::sentiment_dataset::mosi);
        suite.update(std::span<const double>(truth), std::span<const double>(pred), weights);
        return suite.compute();
    };
    em::bootstrap_options options;
    options.resamples = 200;
    options.seed = 99;
    options.threads = 2;
    const auto a = em::bootstrap(truth.size(), suite_on, options);
    options.threads = 1;
    const auto b = em::bootstrap(truth.size(), suite_on, options);
    const std::vector<std::uint32_t> ones(truth.size(), 1);
    const auto full = suite_on(ones);
    REQUIRE(a.keys.size() == 8);
    CHECK(a.keys[0] == "Has0_acc_2");
    CHECK(a.keys[7] == "Corr");
    for (std::size_t k = 0; k < a.keys.size(); ++k) {
        CAPTURE(a.keys[k]);
        CHECK(a.intervals[k].low == b.intervals[k].low); // bitwise: same resamples
        CHECK(a.intervals[k].high == b.intervals[k].high);
        CHECK(a.intervals[k].low <= full.metrics[k].value);
        CHECK(a.intervals[k].high >= full.metrics[k].value);
        CHECK(a.intervals[k].low < a.intervals[k].high);
    }
    CHECK(a.at("MAE").low == a.intervals[6].low);
    CHECK_THROWS_AS(static_cast<void>(a.at("nope")), emofuse::value_error);
    options.seed = 100;
    const auto c = em::bootstrap(truth.size(), suite_on, options);
    CHECK(c.intervals[7].low != a.intervals[7].low);
}

TEST_CASE("bootstrap rejects bad options and propagates statistic errors") {
    const auto constant = [](std::span<const std::uint32_t>) { return 1.0; };
    em::bootstrap_options options;
    CHECK_THROWS_AS(static_cast<void>(em::bootstrap(0, constant, options)), emofuse::value_error);
    options.confidence = 1.0;
    CHECK_THROWS_AS(static_cast<void>(em::bootstrap(5, constant, options)), emofuse::value_error);
    options.confidence = 0.95;
    options.resamples = 0;
    CHECK_THROWS_AS(static_cast<void>(em::bootstrap(5, constant, options)), emofuse::value_error);
    options.resamples = 10;
    options.threads = 2;
    const auto failing = [](std::span<const std::uint32_t>) -> double {
        throw emofuse::value_error("statistic failed");
    };
    CHECK_THROWS_WITH_AS(static_cast<void>(em::bootstrap(5, failing, options)), "statistic failed",
                         emofuse::value_error);
}

TEST_CASE("paired bootstrap: a clearly better system wins, identical systems do not") {
    std::vector<int> truth(400), good(400), bad(400);
    for (std::size_t i = 0; i < truth.size(); ++i) {
        truth[i] = static_cast<int>(i % 4);
        good[i] = i % 10 == 0 ? (truth[i] + 1) % 4 : truth[i];
        bad[i] = i % 3 == 0 ? truth[i] : (truth[i] + 2) % 4;
    }
    const auto metric_of = [&](const std::vector<int>& pred) {
        return [&truth, &pred](std::span<const std::uint32_t> weights) {
            em::confusion_counts counts(4);
            counts.update(std::span<const int>(truth), std::span<const int>(pred), weights);
            return em::accuracy(counts);
        };
    };
    em::bootstrap_options options;
    options.resamples = 300;
    options.seed = 5;
    const auto better =
        em::paired_bootstrap(truth.size(), metric_of(good), metric_of(bad), options);
    CHECK(better.observed_delta == doctest::Approx(0.9 - 0.335).epsilon(1e-12));
    CHECK(better.p_value == 0.0);
    CHECK(better.delta_interval.low > 0.4);
    const auto same = em::paired_bootstrap(truth.size(), metric_of(good), metric_of(good), options);
    CHECK(same.observed_delta == 0.0);
    CHECK(same.p_value == 1.0); // every delta is exactly 0
}

TEST_CASE("McNemar from predictions counts the discordant pairs") {
    const std::vector<int> truth{0, 1, 2, 0, 1, 2, 0, 1}, a{0, 1, 2, 0, 0, 0, 0, 1},
        b{0, 0, 0, 0, 1, 2, 1, 0};
    const auto r = em::mcnemar(std::span<const int>(truth), std::span<const int>(a),
                               std::span<const int>(b), 3);
    CHECK(r.only_a_correct == 4); // samples 1, 2, 6, 7
    CHECK(r.only_b_correct == 2); // samples 4, 5
    CHECK(r.statistic == 2.0);
    CHECK(r.p_value == doctest::Approx(0.6875).epsilon(1e-12)); // 2 * (1 + 6 + 15) / 64
    const std::vector<int> bad{0, 1, 2, 0, 1, 2, 0, 3};
    CHECK_THROWS_AS(
        static_cast<void>(em::mcnemar(std::span<const int>(truth), std::span<const int>(a),
                                      std::span<const int>(bad), 3)),
        emofuse::value_error);
    const std::vector<int> empty;
    CHECK_THROWS_AS(
        static_cast<void>(em::mcnemar(std::span<const int>(empty), std::span<const int>(empty),
                                      std::span<const int>(empty), 3)),
        emofuse::value_error);
}
