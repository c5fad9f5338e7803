// Parallel updates of the accumulators (docs/metrics.md, "Threads"): a span longer than
// detail::parallel_block is reduced in fixed blocks on the pool and merged in block order, so
// the state has the same bits at 1, 2 and 3 threads, and errors name the same sample.
#include <emofuse/core/error.hpp>
#include <emofuse/metrics/blocked.hpp>
#include <emofuse/metrics/confusion.hpp>
#include <emofuse/metrics/moments.hpp>
#include <emofuse/metrics/regression.hpp>
#include <emofuse/metrics/sentiment.hpp>
#include <emofuse/platform/parallel.hpp>

#include <doctest/doctest.h>

#include "thread_count_guard.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace em = emofuse::metrics;

namespace {

/// Three full blocks and a ragged tail: not a multiple of the block size.
constexpr std::size_t samples = 3 * em::detail::parallel_block + 777;
constexpr unsigned thread_counts[] = {1, 2, 3};

using emofuse::test::thread_count_guard;

template <class T>
bool same_bits(const T& a, const T& b) {
    return std::memcmp(&a, &b, sizeof(T)) == 0;
}

void scores(std::size_t n, std::vector<float>& truth, std::vector<float>& pred) {
    std::mt19937 gen(11);
    std::uniform_int_distribution<int> grid(-9, 9);
    std::normal_distribution<float> noise(0.5f, 1.0f);
    truth.resize(n);
    pred.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        truth[i] = static_cast<float>(grid(gen)) / 3.0f;
        pred[i] = 0.7f * truth[i] + noise(gen);
    }
}

void labels(std::size_t n, int k, std::vector<std::int32_t>& truth,
            std::vector<std::int32_t>& pred) {
    std::mt19937 gen(5);
    std::uniform_int_distribution<std::int32_t> label(0, k - 1);
    truth.resize(n);
    pred.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        truth[i] = label(gen);
        pred[i] = i % 3 == 0 ? truth[i] : label(gen);
    }
}

std::vector<std::uint32_t> resample_weights(std::size_t n) {
    std::mt19937 gen(3);
    std::uniform_int_distribution<std::uint32_t> w(0, 3);
    std::vector<std::uint32_t> out(n);
    for (auto& v : out) {
        v = w(gen);
    }
    return out;
}

std::string message_of(auto&& call) {
    try {
        call();
    } catch (const emofuse::value_error& e) {
        return e.what();
    }
    return "(no error)";
}

} // namespace

TEST_CASE("regression_accumulator: a large span gives the same bits at 1, 2 and 3 threads") {
    std::vector<float> truth, pred;
    scores(samples, truth, pred);
    const auto weights = resample_weights(samples);
    std::vector<em::comoments> plain, weighted;
    for (const unsigned threads : thread_counts) {
        const thread_count_guard pool(threads);
        em::regression_accumulator a;
        a.update(std::span<const float>(truth), std::span<const float>(pred));
        plain.push_back(a.state());
        em::regression_accumulator b;
        b.update(std::span<const float>(truth), std::span<const float>(pred),
                 std::span<const std::uint32_t>(weights));
        weighted.push_back(b.state());
    }
    for (std::size_t i = 1; i < plain.size(); ++i) {
        CHECK(same_bits(plain[0], plain[i]));
        CHECK(same_bits(weighted[0], weighted[i]));
    }

    // The documented rule: each block's co-moments from an empty state, merged in order.
    em::comoments expected;
    const std::span<const float> t(truth), p(pred);
    for (std::size_t begin = 0; begin < samples; begin += em::detail::parallel_block) {
        const std::size_t count = std::min(em::detail::parallel_block, samples - begin);
        em::regression_accumulator block;
        block.update(t.subspan(begin, count), p.subspan(begin, count));
        expected = em::merge(expected, block.state());
    }
    CHECK(same_bits(plain[0], expected));

    // And it is accurate: a long-double two-pass reference.
    long double mx = 0, my = 0;
    for (std::size_t i = 0; i < samples; ++i) {
        mx += pred[i];
        my += truth[i];
    }
    mx /= samples;
    my /= samples;
    long double cxy = 0;
    for (std::size_t i = 0; i < samples; ++i) {
        cxy += (pred[i] - mx) * (truth[i] - my);
    }
    CHECK(std::fabs(plain[0].c_xy - static_cast<double>(cxy)) <=
          1e-12 * std::fabs(static_cast<double>(cxy)));
    CHECK(plain[0].n == static_cast<double>(samples));
}

TEST_CASE("regression_accumulator: a merged state keeps its earlier samples first") {
    std::vector<float> truth, pred;
    scores(samples, truth, pred);
    const std::span<const float> t(truth), p(pred);
    std::vector<em::comoments> states;
    for (const unsigned threads : thread_counts) {
        const thread_count_guard pool(threads);
        em::regression_accumulator a;
        a.update(t.first(1000), p.first(1000));
        a.update(t.subspan(1000), p.subspan(1000));
        states.push_back(a.state());
    }
    CHECK(same_bits(states[0], states[1]));
    CHECK(same_bits(states[0], states[2]));
    CHECK(states[0].n == static_cast<double>(samples));
}

TEST_CASE("regression_accumulator: a NaN in a late block names its index at any thread count") {
    std::vector<float> truth, pred;
    scores(samples, truth, pred);
    const std::size_t bad = 2 * em::detail::parallel_block + 12345;
    pred[bad] = std::numeric_limits<float>::quiet_NaN();
    truth[samples - 1] = std::numeric_limits<float>::infinity(); // a later one: not reported
    for (const unsigned threads : thread_counts) {
        const thread_count_guard pool(threads);
        em::regression_accumulator a;
        const std::string message = message_of(
            [&] { a.update(std::span<const float>(truth), std::span<const float>(pred)); });
        CHECK(message.find("prediction at index " + std::to_string(bad) + ":") !=
              std::string::npos);
        CHECK(a.state().n == 0); // nothing was merged
    }
    // nan_policy::skip drops the two samples, with the same bits at every thread count.
    std::vector<em::comoments> skipped;
    for (const unsigned threads : thread_counts) {
        const thread_count_guard pool(threads);
        em::regression_accumulator a(em::nan_policy::skip);
        a.update(std::span<const float>(truth), std::span<const float>(pred));
        skipped.push_back(a.state());
    }
    CHECK(skipped[0].n == static_cast<double>(samples - 2));
    CHECK(same_bits(skipped[0], skipped[1]));
    CHECK(same_bits(skipped[0], skipped[2]));
}

TEST_CASE("confusion_counts: a large span counts exactly at 1, 2 and 3 threads") {
    // K = 7 takes the pair tables, 12 the byte histograms (both in blocks on the pool), 20
    // the plain loop (serial: K > 16).
    for (const int k : {7, 12, 20}) {
        CAPTURE(k);
        std::vector<std::int32_t> truth, pred;
        labels(samples, k, truth, pred);
        const auto weights = resample_weights(samples);
        std::vector<std::uint64_t> naive(std::size_t(k) * k, 0), naive_weighted(naive);
        for (std::size_t i = 0; i < samples; ++i) {
            naive[std::size_t(truth[i]) * k + pred[i]] += 1;
            naive_weighted[std::size_t(truth[i]) * k + pred[i]] += weights[i];
        }
        for (const unsigned threads : thread_counts) {
            const thread_count_guard pool(threads);
            em::confusion_counts counts(k);
            counts.add(0, 1, 5); // earlier counts are kept
            counts.update(std::span<const std::int32_t>(truth),
                          std::span<const std::int32_t>(pred));
            auto expected = naive;
            expected[1] += 5;
            CHECK(std::vector<std::uint64_t>(counts.state().begin(), counts.state().end()) ==
                  expected);
            em::confusion_counts weighted(k);
            weighted.update(std::span<const std::int32_t>(truth),
                            std::span<const std::int32_t>(pred),
                            std::span<const std::uint32_t>(weights));
            CHECK(std::vector<std::uint64_t>(weighted.state().begin(), weighted.state().end()) ==
                  naive_weighted);
        }
    }
}

TEST_CASE("confusion_counts: a bad label in a late block names its global index") {
    std::vector<std::int32_t> truth, pred;
    labels(samples, 7, truth, pred);
    const std::size_t bad = 3 * em::detail::parallel_block + 100; // in the ragged tail
    pred[bad] = 9;
    pred[samples - 1] = -1; // a later one: not reported
    const std::string expected = "metrics::confusion_counts::update: prediction label at index " +
                                 std::to_string(bad) + ": expected a class id in [0, 7), got 9";
    for (const unsigned threads : thread_counts) {
        const thread_count_guard pool(threads);
        em::confusion_counts counts(7);
        CHECK(message_of([&] {
                  counts.update(std::span<const std::int32_t>(truth),
                                std::span<const std::int32_t>(pred));
              }) == expected);
        CHECK(counts.total() == 0);
    }
}

TEST_CASE("sentiment_suite: a large span gives the same state and keys at 1, 2 and 3 threads") {
    std::vector<float> truth, pred;
    scores(samples, truth, pred);
    for (const auto dataset : {em::sentiment_dataset::mosi, em::sentiment_dataset::sims}) {
        std::vector<em::sentiment_state> states;
        std::vector<em::suite_result> results;
        for (const unsigned threads : thread_counts) {
            const thread_count_guard pool(threads);
            em::sentiment_suite suite(dataset);
            suite.update(std::span<const float>(truth), std::span<const float>(pred));
            states.push_back(suite.state());
            results.push_back(suite.compute());
        }
        CHECK(states[0].samples == samples);
        for (std::size_t i = 1; i < states.size(); ++i) {
            CHECK(same_bits(states[0], states[i]));
            REQUIRE(results[0].metrics.size() == results[i].metrics.size());
            for (std::size_t m = 0; m < results[0].metrics.size(); ++m) {
                CHECK(same_bits(results[0].metrics[m].value, results[i].metrics[m].value));
            }
        }
        // The documented rule: one state per block, merged in block order.
        em::sentiment_state expected{};
        const std::span<const float> t(truth), p(pred);
        for (std::size_t begin = 0; begin < samples; begin += em::detail::parallel_block) {
            const std::size_t count = std::min(em::detail::parallel_block, samples - begin);
            em::sentiment_suite block(dataset);
            block.update(t.subspan(begin, count), p.subspan(begin, count));
            expected = em::merge(expected, block.state());
        }
        CHECK(same_bits(states[0], expected));
    }
}

TEST_CASE("sentiment_suite: a NaN in a late block names its index at any thread count") {
    std::vector<float> truth, pred;
    scores(samples, truth, pred);
    const std::size_t bad = em::detail::parallel_block + 3;
    truth[bad] = std::numeric_limits<float>::quiet_NaN();
    for (const unsigned threads : thread_counts) {
        const thread_count_guard pool(threads);
        em::sentiment_suite suite(em::sentiment_dataset::mosei);
        const std::string message = message_of(
            [&] { suite.update(std::span<const float>(truth), std::span<const float>(pred)); });
        CHECK(message.find("truth at index " + std::to_string(bad) + ":") != std::string::npos);
        CHECK(suite.state().samples == 0);
    }
}
