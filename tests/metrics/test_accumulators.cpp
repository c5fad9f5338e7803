// Accumulator semantics: shards merged equal one pass, weights equal repetition, the NaN
// policy, and a clear error for every kind of bad input.
#include "fixtures.hpp"

#include <emofuse/core/error.hpp>
#include <emofuse/metrics/across_runs.hpp>
#include <emofuse/metrics/classification.hpp>
#include <emofuse/metrics/emotion.hpp>
#include <emofuse/metrics/numeric.hpp>
#include <emofuse/metrics/open_vocabulary.hpp>
#include <emofuse/metrics/policy.hpp>
#include <emofuse/metrics/regression.hpp>
#include <emofuse/metrics/sentiment.hpp>

#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace em = emofuse::metrics;

namespace {

// Relative 1e-12 (merged shards differ from one pass only by rounding).
bool near(double a, double b, double rel = 1e-12) {
    if (std::isnan(a) || std::isnan(b)) {
        return std::isnan(a) && std::isnan(b);
    }
    return std::fabs(a - b) <= rel * std::max({std::fabs(a), std::fabs(b), 1e-300});
}

template <class T>
void random_scores(std::size_t n, unsigned seed, std::vector<T>& truth, std::vector<T>& pred) {
    std::mt19937_64 gen(seed);
    std::normal_distribution<double> noise(0.0, 1.5);
    std::uniform_int_distribution<int> label(-9, 9);
    truth.resize(n);
    pred.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        truth[i] = static_cast<T>(label(gen) / 3.0);
        pred[i] = static_cast<T>(static_cast<double>(truth[i]) * 0.6 + noise(gen));
    }
}

template <class T>
std::span<const T> slice(const std::vector<T>& v, std::size_t begin, std::size_t end) {
    return std::span<const T>(v).subspan(begin, end - begin);
}

} // namespace

TEST_CASE("round half to even matches numpy.round") {
    CHECK(em::detail::round_half_to_even(0.5) == 0.0);
    CHECK(em::detail::round_half_to_even(1.5) == 2.0);
    CHECK(em::detail::round_half_to_even(2.5) == 2.0);
    CHECK(em::detail::round_half_to_even(-2.5) == -2.0);
    CHECK(em::detail::round_half_to_even(-0.5) == 0.0);
    CHECK(em::detail::round_half_to_even(-1.5) == -2.0);
    CHECK(em::detail::round_half_to_even(0.49999999999999994) == 0.0);
    CHECK(em::detail::round_half_to_even(2.5000000000000004) == 3.0);
    CHECK(em::detail::round_half_to_even(-3.0) == -3.0);
}

TEST_CASE_TEMPLATE("co-moments: merged shards equal one pass", T, float, double) {
    std::vector<T> truth, pred;
    random_scores<T>(10007, 7, truth, pred);
    em::regression_accumulator whole;
    whole.update(std::span<const T>(truth), std::span<const T>(pred));
    // Uneven shards, including an empty one and one shorter than a block.
    const std::size_t cuts[] = {0, 0, 13, 300, 5000, 9999, 10007};
    em::regression_accumulator merged;
    for (std::size_t s = 0; s + 1 < std::size(cuts); ++s) {
        em::regression_accumulator shard;
        shard.update(slice(truth, cuts[s], cuts[s + 1]), slice(pred, cuts[s], cuts[s + 1]));
        merged.merge(shard);
    }
    const auto a = whole.compute();
    const auto b = merged.compute();
    CHECK(a.count == b.count);
    CHECK(near(a.mae, b.mae));
    CHECK(near(a.mse, b.mse));
    CHECK(near(a.pearson, b.pearson));
    CHECK(near(a.ccc, b.ccc));
    CHECK(near(whole.compute(1).ccc, merged.compute(1).ccc));
    // The state is plain data: 10 doubles.
    static_assert(std::is_trivially_copyable_v<em::comoments>);
}

TEST_CASE("co-moments: Chan's merge is exact on a hand example") {
    // x = [1, 2] and [3, 4, 5]: var of 1..5 is 2 (ddof 0) -> M2 = 10.
    em::regression_accumulator a, b;
    const double xa[] = {1, 2}, xb[] = {3, 4, 5};
    a.update(std::span<const double>(xa), std::span<const double>(xa));
    b.update(std::span<const double>(xb), std::span<const double>(xb));
    a.merge(b);
    CHECK(a.state().n == 5);
    CHECK(a.state().mean_x == doctest::Approx(3.0).epsilon(1e-15));
    CHECK(a.state().m2_x == doctest::Approx(10.0).epsilon(1e-15));
    CHECK(a.state().c_xy == doctest::Approx(10.0).epsilon(1e-15));
    CHECK(a.compute().pearson == doctest::Approx(1.0).epsilon(1e-15));
    CHECK(a.compute().ccc == doctest::Approx(1.0).epsilon(1e-15));
}

TEST_CASE_TEMPLATE("sentiment suite: merged shards equal one pass", T, float, double) {
    std::vector<T> truth, pred;
    random_scores<T>(3001, 11, truth, pred);
    for (const auto dataset : {em::sentiment_dataset::mosi, em::sentiment_dataset::sims}) {
        for (const auto preset : {em::sentiment_preset::mmsa, em::sentiment_preset::mult}) {
            if (dataset == em::sentiment_dataset::sims && preset == em::sentiment_preset::mult) {
                CHECK_THROWS_AS(em::sentiment_suite(dataset, preset), emofuse::value_error);
                continue;
            }
            em::sentiment_suite whole(dataset, preset);
            whole.update(std::span<const T>(truth), std::span<const T>(pred));
            em::sentiment_suite left(dataset, preset), right(dataset, preset);
            left.update(slice(truth, 0, 1234), slice(pred, 0, 1234));
            right.update(slice(truth, 1234, 3001), slice(pred, 1234, 3001));
            left.merge(right.state()); // plain state, as an MPI all-reduce delivers it
            const auto a = whole.compute();
            const auto b = left.compute();
            REQUIRE(a.metrics.size() == b.metrics.size());
            for (std::size_t k = 0; k < a.metrics.size(); ++k) {
                CAPTURE(a.metrics[k].key);
                CHECK(near(a.metrics[k].value, b.metrics[k].value));
            }
        }
    }
}

TEST_CASE("confusion counts: shards, weights and label types") {
    std::mt19937 gen(3);
    std::uniform_int_distribution<int> label(0, 6);
    std::vector<int> truth(5000), pred(5000);
    for (std::size_t i = 0; i < truth.size(); ++i) {
        truth[i] = label(gen);
        pred[i] = (i % 3 == 0) ? truth[i] : label(gen);
    }
    em::confusion_counts whole(7), a(7), b(7);
    whole.update(std::span<const int>(truth), std::span<const int>(pred));
    a.update(slice(truth, 0, 1777), slice(pred, 0, 1777));
    b.update(slice(truth, 1777, 5000), slice(pred, 1777, 5000));
    a.merge(b);
    CHECK(std::equal(whole.state().begin(), whole.state().end(), a.state().begin()));
    CHECK(whole.total() == 5000);

    // Weight w means "this sample w times".
    std::vector<std::uint32_t> weights(truth.size());
    std::vector<int> repeated_truth, repeated_pred;
    for (std::size_t i = 0; i < truth.size(); ++i) {
        weights[i] = static_cast<std::uint32_t>(i % 4);
        for (std::uint32_t r = 0; r < weights[i]; ++r) {
            repeated_truth.push_back(truth[i]);
            repeated_pred.push_back(pred[i]);
        }
    }
    em::confusion_counts weighted(7), repeated(7);
    weighted.update(std::span<const int>(truth), std::span<const int>(pred),
                    std::span<const std::uint32_t>(weights));
    repeated.update(std::span<const int>(repeated_truth), std::span<const int>(repeated_pred));
    CHECK(std::equal(weighted.state().begin(), weighted.state().end(), repeated.state().begin()));

    // Other integer label types count the same.
    std::vector<std::uint8_t> t8(truth.begin(), truth.end()), p8(pred.begin(), pred.end());
    std::vector<std::int64_t> t64(truth.begin(), truth.end()), p64(pred.begin(), pred.end());
    em::confusion_counts c8(7), c64(7);
    c8.update(std::span<const std::uint8_t>(t8), std::span<const std::uint8_t>(p8));
    c64.update(std::span<const std::int64_t>(t64), std::span<const std::int64_t>(p64));
    CHECK(std::equal(c8.state().begin(), c8.state().end(), whole.state().begin()));
    CHECK(std::equal(c64.state().begin(), c64.state().end(), whole.state().begin()));

    // Many classes (beyond the interleaved small-table path).
    em::confusion_counts big(40);
    std::vector<int> tb{0, 39, 39, 17}, pb{39, 39, 0, 17};
    big.update(std::span<const int>(tb), std::span<const int>(pb));
    CHECK(big(0, 39) == 1);
    CHECK(big(39, 39) == 1);
    CHECK(big(39, 0) == 1);
    CHECK(big(17, 17) == 1);
    CHECK(em::accuracy(big) == 0.5);
}

TEST_CASE_TEMPLATE("weighted regression update equals repetition", T, float, double) {
    std::vector<T> truth, pred;
    random_scores<T>(700, 5, truth, pred);
    std::vector<std::uint32_t> weights(truth.size());
    std::vector<T> rt, rp;
    for (std::size_t i = 0; i < truth.size(); ++i) {
        weights[i] = static_cast<std::uint32_t>((i * 7) % 5);
        for (std::uint32_t r = 0; r < weights[i]; ++r) {
            rt.push_back(truth[i]);
            rp.push_back(pred[i]);
        }
    }
    em::regression_accumulator weighted, repeated;
    weighted.update(std::span<const T>(truth), std::span<const T>(pred),
                    std::span<const std::uint32_t>(weights));
    repeated.update(std::span<const T>(rt), std::span<const T>(rp));
    const auto a = weighted.compute();
    const auto b = repeated.compute();
    CHECK(a.count == b.count);
    CHECK(near(a.mae, b.mae));
    CHECK(near(a.mse, b.mse));
    CHECK(near(a.pearson, b.pearson));
    CHECK(near(a.ccc, b.ccc));
}

TEST_CASE_TEMPLATE("NaN policy: error names the index, skip drops the sample", T, float, double) {
    const T nan = std::numeric_limits<T>::quiet_NaN();
    const T inf = std::numeric_limits<T>::infinity();
    std::vector<T> truth{1, 2, 3, 4, 5, -1, 0.5};
    std::vector<T> pred{1.5, nan, 2.5, 4, inf, -2, 0};
    em::regression_accumulator strict;
    try {
        strict.update(std::span<const T>(truth), std::span<const T>(pred));
        FAIL("expected value_error");
    } catch (const emofuse::value_error& e) {
        const std::string what = e.what();
        CHECK(what.find("prediction at index 1") != std::string::npos);
        CHECK(what.find("nan_policy::error") != std::string::npos);
    }
    em::regression_accumulator skipping(em::nan_policy::skip);
    skipping.update(std::span<const T>(truth), std::span<const T>(pred));
    std::vector<T> kept_truth{1, 3, 4, -1, 0.5}, kept_pred{1.5, 2.5, 4, -2, 0};
    em::regression_accumulator clean;
    clean.update(std::span<const T>(kept_truth), std::span<const T>(kept_pred));
    CHECK(skipping.compute().count == 5);
    CHECK(near(skipping.compute().mae, clean.compute().mae));
    CHECK(near(skipping.compute().pearson, clean.compute().pearson));

    em::sentiment_suite strict_suite(em::sentiment_dataset::mosi);
    CHECK_THROWS_AS(strict_suite.update(std::span<const T>(truth), std::span<const T>(pred)),
                    emofuse::value_error);
    em::sentiment_suite skip_suite(em::sentiment_dataset::mosi, em::sentiment_preset::mmsa,
                                   em::nan_policy::skip);
    skip_suite.update(std::span<const T>(truth), std::span<const T>(pred));
    em::sentiment_suite clean_suite(em::sentiment_dataset::mosi);
    clean_suite.update(std::span<const T>(kept_truth), std::span<const T>(kept_pred));
    const auto a = skip_suite.compute();
    const auto b = clean_suite.compute();
    CHECK(a.count == 5);
    for (std::size_t k = 0; k < a.metrics.size(); ++k) {
        CHECK(near(a.metrics[k].value, b.metrics[k].value));
    }
    CHECK(em::parse_nan_policy("skip") == em::nan_policy::skip);
    CHECK_THROWS_AS(static_cast<void>(em::parse_nan_policy("ignore")), emofuse::value_error);
}

TEST_CASE("constant input gives NaN correlation with a warning, not a crash") {
    const std::vector<double> truth{1, -1, 2, 0.5}, pred(4, 0.25);
    em::regression_accumulator acc;
    acc.update(std::span<const double>(truth), std::span<const double>(pred));
    const auto r = acc.compute();
    CHECK(std::isnan(r.pearson));
    CHECK(r.constant_input);
    CHECK(std::isfinite(r.ccc)); // CCC is defined while one side varies
    em::sentiment_suite suite(em::sentiment_dataset::mosi);
    suite.update(std::span<const double>(truth), std::span<const double>(pred));
    const auto s = suite.compute();
    CHECK(std::isnan(s.at("Corr")));
    REQUIRE(s.warnings.size() == 1);
    CHECK(s.warnings[0].find("Corr is NaN") != std::string::npos);
    // Both constant and equal: CCC's denominator is 0 -> NaN.
    const std::vector<double> same(3, 2.0);
    em::regression_accumulator flat;
    flat.update(std::span<const double>(same), std::span<const double>(same));
    CHECK(std::isnan(flat.compute().ccc));
}

TEST_CASE("bad input: empty, length mismatch, labels out of range, wrong class counts") {
    const std::vector<double> empty;
    em::regression_accumulator acc;
    acc.update(std::span<const double>(empty), std::span<const double>(empty));
    CHECK_THROWS_WITH_AS(static_cast<void>(acc.compute()), doctest::Contains("no samples"),
                         emofuse::value_error);
    em::sentiment_suite suite(em::sentiment_dataset::mosi);
    CHECK_THROWS_AS(static_cast<void>(suite.compute()), emofuse::value_error);
    const std::vector<double> two{1, 2}, three{1, 2, 3};
    CHECK_THROWS_AS(acc.update(std::span<const double>(two), std::span<const double>(three)),
                    emofuse::shape_error);
    CHECK_THROWS_AS(suite.update(std::span<const double>(two), std::span<const double>(three)),
                    emofuse::shape_error);

    em::confusion_counts counts(3);
    const std::vector<int> ok{0, 1, 2}, negative{0, -1, 2}, too_big{0, 3, 1};
    CHECK_THROWS_WITH_AS(counts.update(std::span<const int>(ok), std::span<const int>(too_big)),
                         doctest::Contains("prediction label at index 1: expected a class id "
                                           "in [0, 3), got 3"),
                         emofuse::value_error);
    CHECK_THROWS_WITH_AS(counts.update(std::span<const int>(negative), std::span<const int>(ok)),
                         doctest::Contains("truth label at index 1"), emofuse::value_error);
    CHECK(counts.total() == 0); // a rejected batch leaves the state untouched
    CHECK_THROWS_AS(static_cast<void>(em::accuracy(counts)), emofuse::value_error);
    CHECK_THROWS_AS(em::confusion_counts(0), emofuse::value_error);
    CHECK_THROWS_AS(counts.add(3, 0), emofuse::value_error);
    em::confusion_counts other(4);
    CHECK_THROWS_AS(counts.merge(other), emofuse::shape_error);
    CHECK_THROWS_AS(em::emotion_suite(em::emotion_suite_kind::iemocap, 5), emofuse::value_error);
    CHECK_THROWS_AS(em::emotion_suite(em::emotion_suite_kind::meld, 6), emofuse::value_error);
    em::emotion_suite meld(em::emotion_suite_kind::meld, 7);
    CHECK_THROWS_AS(meld.update_valence(std::span<const double>(two), std::span<const double>(two)),
                    emofuse::value_error);
    em::emotion_suite mer(em::emotion_suite_kind::mer2023, 6);
    const std::vector<int> labels{0, 1};
    mer.update(std::span<const int>(labels), std::span<const int>(labels));
    CHECK_THROWS_WITH_AS(static_cast<void>(mer.compute()),
                         doctest::Contains("valence sample count"), emofuse::value_error);

    em::per_emotion_binary_suite binary;
    const std::vector<int> five{0, 1, 0, 1, 1}, bad{0, 2, 0, 1};
    CHECK_THROWS_AS(binary.update(std::span<const int>(five), std::span<const int>(five)),
                    emofuse::shape_error);
    CHECK_THROWS_AS(binary.update(std::span<const int>(bad), std::span<const int>(bad)),
                    emofuse::value_error);

    em::grouping_table table;
    table.add("Happy", "joy");
    CHECK(table.group_of(" HAPPY ") == "joy");
    CHECK(table.group_of("calm") == "calm");
    CHECK_THROWS_AS(table.add("happy", "sadness"), emofuse::value_error);
    CHECK_THROWS_AS(table.add("", "x"), emofuse::value_error);
    CHECK_THROWS_AS(em::open_vocabulary_suite({}), emofuse::value_error);
    em::open_vocabulary_suite ov({table});
    const std::vector<std::vector<std::string>> no_truth{{}}, some{{"happy"}};
    ov.update(no_truth, some);
    CHECK_THROWS_AS(static_cast<void>(ov.compute()), emofuse::value_error);
}

TEST_CASE("multiclass accuracy helper: clip then round half to even") {
    // 3.5 clips to 3; 2.5 rounds to 2; -0.5 rounds to 0 (-0 == 0).
    const std::vector<double> truth{3.5, 2.5, -0.5, 1.4}, pred{3.0, 2.0, 0.4, 1.6};
    CHECK(em::clipped_round_accuracy(std::span<const double>(truth), std::span<const double>(pred),
                                     3.0) == 0.75);
    CHECK(em::clipped_round_accuracy(std::span<const double>(truth), std::span<const double>(pred),
                                     1.0) == 1.0);
    const std::vector<double> bad{std::numeric_limits<double>::quiet_NaN(), 0, 0, 0};
    CHECK_THROWS_AS(static_cast<void>(em::clipped_round_accuracy(
                        std::span<const double>(bad), std::span<const double>(pred), 3.0)),
                    emofuse::value_error);
}

TEST_CASE("every suite: weight w equals repeating the sample w times") {
    std::vector<double> truth, pred;
    random_scores<double>(600, 21, truth, pred);
    std::vector<std::uint32_t> weights(truth.size());
    std::vector<std::size_t> repeated_index;
    for (std::size_t i = 0; i < truth.size(); ++i) {
        weights[i] = static_cast<std::uint32_t>((i * 5 + 1) % 4);
        for (std::uint32_t r = 0; r < weights[i]; ++r) {
            repeated_index.push_back(i);
        }
    }
    const auto repeat = [&](const auto& values) {
        std::decay_t<decltype(values)> out;
        for (const auto i : repeated_index) {
            out.push_back(values[i]);
        }
        return out;
    };
    const auto same = [](const em::suite_result& a, const em::suite_result& b) {
        REQUIRE(a.metrics.size() == b.metrics.size());
        CHECK(a.count == b.count);
        for (std::size_t k = 0; k < a.metrics.size(); ++k) {
            CAPTURE(a.metrics[k].key);
            CHECK(near(a.metrics[k].value, b.metrics[k].value));
        }
    };
    const auto rt = repeat(truth);
    const auto rp = repeat(pred);
    const std::span<const std::uint32_t> w(weights);

    for (const auto dataset : {em::sentiment_dataset::mosei, em::sentiment_dataset::sims}) {
        em::sentiment_suite weighted(dataset), repeated(dataset);
        weighted.update(std::span<const double>(truth), std::span<const double>(pred), w);
        repeated.update(std::span<const double>(rt), std::span<const double>(rp));
        same(weighted.compute(), repeated.compute());
    }
    em::sentiment_suite weighted_mult(em::sentiment_dataset::mosi, em::sentiment_preset::mult);
    em::sentiment_suite repeated_mult(em::sentiment_dataset::mosi, em::sentiment_preset::mult);
    weighted_mult.update(std::span<const double>(truth), std::span<const double>(pred), w);
    repeated_mult.update(std::span<const double>(rt), std::span<const double>(rp));
    same(weighted_mult.compute(), repeated_mult.compute());

    std::vector<int> labels_t(truth.size()), labels_p(truth.size());
    for (std::size_t i = 0; i < truth.size(); ++i) {
        labels_t[i] = static_cast<int>(i % 6);
        labels_p[i] = static_cast<int>((i * 7) % 11 % 6);
    }
    const auto rlt = repeat(labels_t);
    const auto rlp = repeat(labels_p);
    em::emotion_suite mer_w(em::emotion_suite_kind::mer2023, 6),
        mer_r(em::emotion_suite_kind::mer2023, 6);
    mer_w.update(std::span<const int>(labels_t), std::span<const int>(labels_p), w);
    mer_w.update_valence(std::span<const double>(truth), std::span<const double>(pred), w);
    mer_r.update(std::span<const int>(rlt), std::span<const int>(rlp));
    mer_r.update_valence(std::span<const double>(rt), std::span<const double>(rp));
    same(mer_w.compute(), mer_r.compute());

    // MulT IEMOCAP: 4 binary columns per sample, one weight per sample.
    std::vector<int> bt, bp, rbt, rbp;
    for (std::size_t i = 0; i < truth.size(); ++i) {
        for (std::size_t e = 0; e < 4; ++e) {
            bt.push_back(static_cast<int>((i >> e) & 1U));
            bp.push_back(static_cast<int>(((i * 3) >> e) & 1U));
        }
    }
    for (const auto i : repeated_index) {
        for (std::size_t e = 0; e < 4; ++e) {
            rbt.push_back(bt[i * 4 + e]);
            rbp.push_back(bp[i * 4 + e]);
        }
    }
    em::per_emotion_binary_suite bin_w, bin_r;
    bin_w.update(std::span<const int>(bt), std::span<const int>(bp), w);
    bin_r.update(std::span<const int>(rbt), std::span<const int>(rbp));
    same(bin_w.compute(), bin_r.compute());

    // Open vocabulary.
    const std::vector<std::string> words{"happy", "sad", "angry", "calm", "glad"};
    em::grouping_table table;
    table.add("glad", "happy");
    std::vector<std::vector<std::string>> ot, op;
    for (std::size_t i = 0; i < truth.size(); ++i) {
        ot.push_back({words[i % 5], words[(i / 5) % 5]});
        op.push_back(i % 7 == 0 ? std::vector<std::string>{}
                                : std::vector<std::string>{words[(i * 3) % 5]});
    }
    em::open_vocabulary_suite ov_w({table}), ov_r({table});
    ov_w.update(ot, op, w);
    ov_r.update(repeat(ot), repeat(op));
    same(ov_w.compute(), ov_r.compute());
}

TEST_CASE("across runs: mean and ddof-0 std per key, as MMSA reports") {
    std::vector<em::suite_result> runs(3);
    const double acc[] = {0.8123, 0.8011, 0.8302}, f1[] = {0.7, 0.75, 0.71};
    for (std::size_t r = 0; r < 3; ++r) {
        runs[r].suite = "mosi";
        runs[r].add("Has0_acc_2", acc[r]);
        runs[r].add("Has0_F1_score", f1[r]);
    }
    const auto summary = em::summarize_runs(runs);
    REQUIRE(summary.size() == 2);
    CHECK(summary[0].key == "Has0_acc_2");
    // numpy.mean / numpy.std (ddof = 0) on the same values.
    CHECK(near(summary[0].mean, 0.8145333333333333));
    CHECK(near(summary[0].std, 0.011984527061544358));
    CHECK(near(summary[1].mean, 0.7200000000000001));
    CHECK(near(summary[1].std, 0.021602468994692887));
    CHECK(summary[1].runs == 3);
    CHECK_THROWS_AS(static_cast<void>(em::summarize_runs({})), emofuse::value_error);
    runs[1].metrics[1].key = "F1_score";
    CHECK_THROWS_WITH_AS(static_cast<void>(em::summarize_runs(runs)),
                         doctest::Contains("runs of different suites"), emofuse::value_error);
}

// The streaming fast paths: pairs of samples through a 16-bit table for K <= 8 (flushed
// every 131072 samples), and one-pass co-moment blocks around the running mean.

TEST_CASE("confusion counts: the paired small-table path equals direct counting") {
    for (std::size_t classes : {std::size_t{1}, std::size_t{2}, std::size_t{7}, std::size_t{8}}) {
        CAPTURE(classes);
        const std::size_t n = 300'001; // odd, and more than two table flushes
        std::mt19937 gen(static_cast<unsigned>(classes));
        std::uniform_int_distribution<int> label(0, static_cast<int>(classes) - 1);
        std::vector<int> truth(n), pred(n);
        std::vector<std::uint64_t> expected(classes * classes, 0);
        for (std::size_t i = 0; i < n; ++i) {
            truth[i] = label(gen);
            pred[i] = (i % 5 == 0) ? truth[i] : label(gen);
            ++expected[static_cast<std::size_t>(truth[i]) * classes +
                       static_cast<std::size_t>(pred[i])];
        }
        em::confusion_counts whole(classes), pieces(classes);
        whole.update(std::span<const int>(truth), std::span<const int>(pred));
        for (std::size_t begin = 0; begin < n; begin += 77'777) {
            const std::size_t end = std::min(n, begin + 77'777);
            pieces.update(slice(truth, begin, end), slice(pred, begin, end));
        }
        CHECK(std::equal(expected.begin(), expected.end(), whole.state().begin()));
        CHECK(std::equal(expected.begin(), expected.end(), pieces.state().begin()));
    }
}

TEST_CASE("confusion counts: a bad label in a later block leaves the counts unchanged") {
    const std::size_t n = 250'000;
    std::vector<int> truth(n), pred(n);
    for (std::size_t i = 0; i < n; ++i) {
        truth[i] = static_cast<int>(i % 7);
        pred[i] = static_cast<int>((i / 3) % 7);
    }
    em::confusion_counts counts(7);
    counts.update(slice(truth, 0, 1000), slice(pred, 0, 1000));
    const std::vector<std::uint64_t> before(counts.state().begin(), counts.state().end());
    pred[200'000] = 7;
    CHECK_THROWS_AS(counts.update(std::span<const int>(truth), std::span<const int>(pred)),
                    emofuse::value_error);
    CHECK(std::equal(before.begin(), before.end(), counts.state().begin()));
}

TEST_CASE("co-moments: offset, sorted and trending data across updates match long double") {
    const std::size_t n = 200'003;
    for (int shape = 0; shape < 3; ++shape) {
        CAPTURE(shape);
        std::mt19937_64 gen(11 + static_cast<unsigned>(shape));
        std::normal_distribution<double> noise(0.0, 1e-3);
        std::vector<double> truth(n), pred(n);
        for (std::size_t i = 0; i < n; ++i) {
            const double t = static_cast<double>(i) / static_cast<double>(n);
            if (shape == 0) { // offset 1e4, spread 1: (offset / spread)² = 1e8
                truth[i] = 1e4 + 1e3 * noise(gen);
                pred[i] = 1e4 + 0.5 * (truth[i] - 1e4) + 1e3 * noise(gen);
            } else if (shape == 1) { // sorted: block means drift monotonically
                truth[i] = t * 10.0;
                pred[i] = t * 10.0 + noise(gen) * 100.0;
            } else { // a step of 1e3 half-way
                truth[i] = (i < n / 2 ? 0.0 : 1e3) + noise(gen);
                pred[i] = truth[i] + noise(gen);
            }
        }
        long double mx = 0, my = 0;
        for (std::size_t i = 0; i < n; ++i) {
            mx += pred[i];
            my += truth[i];
        }
        mx /= n;
        my /= n;
        long double sxx = 0, syy = 0, sxy = 0, abs_err = 0, sq_err = 0;
        for (std::size_t i = 0; i < n; ++i) {
            const long double dx = pred[i] - mx, dy = truth[i] - my;
            sxx += dx * dx;
            syy += dy * dy;
            sxy += dx * dy;
            const long double e = static_cast<long double>(pred[i]) - truth[i];
            abs_err += e < 0 ? -e : e;
            sq_err += e * e;
        }
        em::regression_accumulator acc;
        for (std::size_t begin = 0; begin < n; begin += 65'536) {
            const std::size_t end = std::min(n, begin + 65'536);
            acc.update(slice(truth, begin, end), slice(pred, begin, end));
        }
        const em::comoments& m = acc.state();
        CHECK(m.n == static_cast<double>(n));
        CHECK(near(m.mean_x, static_cast<double>(mx)));
        CHECK(near(m.mean_y, static_cast<double>(my)));
        CHECK(near(m.m2_x, static_cast<double>(sxx)));
        CHECK(near(m.m2_y, static_cast<double>(syy)));
        CHECK(near(m.c_xy, static_cast<double>(sxy)));
        CHECK(near(em::mae(m), static_cast<double>(abs_err / n)));
        CHECK(near(em::mse(m), static_cast<double>(sq_err / n)));
        CHECK(near(em::pearson(m), static_cast<double>(sxy / std::sqrt(sxx * syy))));
    }
}

TEST_CASE("co-moments: extreme magnitudes keep Pearson, CCC and RMSE exact up to scale") {
    std::vector<double> truth, pred;
    random_scores<double>(5003, 11, truth, pred);
    em::regression_accumulator plain;
    plain.update(std::span<const double>(truth), std::span<const double>(pred));
    const auto reference = plain.compute();
    CHECK(plain.state().scale_x == 0); // ordinary data stays in plain units
    CHECK(plain.state().scale_y == 0);
    const auto scaled = [](const std::vector<double>& v, double factor) {
        std::vector<double> out(v);
        for (double& x : out) {
            x *= factor;
        }
        return out;
    };
    struct scales {
        double pred, truth;
    };
    for (const scales s : {scales{1e300, 1e300}, scales{1e160, 1e160}, scales{1e-160, 1e-160},
                           scales{1e-300, 1e-300}, scales{1e300, 1e-300}, scales{1.0, 1e-200}}) {
        CAPTURE(s.pred);
        CAPTURE(s.truth);
        const auto t = scaled(truth, s.truth);
        const auto p = scaled(pred, s.pred);
        // One pass, uneven shards (one starting plain-scale-free, one empty) and weights.
        em::regression_accumulator whole, merged, weighted;
        whole.update(std::span<const double>(t), std::span<const double>(p));
        const std::size_t cuts[] = {0, 0, 700, 3000, 5003};
        for (std::size_t c = 0; c + 1 < std::size(cuts); ++c) {
            em::regression_accumulator shard;
            shard.update(slice(t, cuts[c], cuts[c + 1]), slice(p, cuts[c], cuts[c + 1]));
            merged.merge(shard);
        }
        const std::vector<std::uint32_t> twos(t.size(), 2);
        weighted.update(std::span<const double>(t), std::span<const double>(p),
                        std::span<const std::uint32_t>(twos));
        for (const auto* acc : {&whole, &merged, &weighted}) {
            const auto r = acc->compute();
            CHECK_FALSE(r.constant_input);
            CHECK(near(r.pearson, reference.pearson, 1e-11));
            if (s.pred == s.truth) {
                CHECK(near(r.ccc, reference.ccc, 1e-11));
                CHECK(near(r.rmse, reference.rmse * s.pred, 1e-11));
                CHECK(near(r.mae, reference.mae * s.pred, 1e-11));
            }
        }
        // The sentiment suite's Corr takes the same path.
        em::sentiment_suite suite(em::sentiment_dataset::mosi, em::sentiment_preset::mmsa);
        suite.update(std::span<const double>(t), std::span<const double>(p));
        CHECK(near(suite.compute().at("Corr"), reference.pearson, 1e-11));
    }
    // Constant extreme input is still reported as constant.
    const std::vector<double> constant(100, 1e308);
    em::regression_accumulator flat;
    flat.update(std::span<const double>(constant), std::span<const double>(constant));
    CHECK(flat.compute().constant_input);
}

namespace {

/// The MOSI/MOSEI counts one sample at a time, from the definitions (clip, round half to
/// even, compare), for the branch-free block counting to be checked against.
template <class T>
em::sentiment_state naive_sentiment_counts(const std::vector<T>& truth, const std::vector<T>& pred,
                                           bool mmsa) {
    em::sentiment_state s{};
    for (std::size_t i = 0; i < truth.size(); ++i) {
        const T t = truth[i];
        const T p = pred[i];
        ++s.samples;
        const std::size_t tb = mmsa ? (t >= T(0)) : (t > T(0));
        const std::size_t pb = mmsa ? (p >= T(0)) : (p > T(0));
        ++s.binary_all[tb * 2 + pb];
        if (t != T(0)) {
            ++s.binary_nonzero[(t > T(0)) * 2 + (p > T(0))];
        }
        const std::array<T, 3> bounds{T(3), T(2), T(1)};
        for (std::size_t k = 0; k < 3; ++k) {
            s.exact_match[k] +=
                em::detail::clip_round(t, bounds[k]) == em::detail::clip_round(p, bounds[k]);
        }
    }
    return s;
}

template <class T>
void check_sentiment_counts() {
    // Halves (ties to even), their neighbours, the clip bounds, signed zeros, subnormals and
    // values far outside the clip range, then random scores.
    std::vector<T> values;
    for (const double base : {0.5, 1.5, 2.5, 3.0, 3.5, 2.0, 1.0, 0.0}) {
        for (const double sign : {1.0, -1.0}) {
            const T v = static_cast<T>(sign * base);
            values.insert(values.end(), {v, std::nextafter(v, T(10)), std::nextafter(v, T(-10))});
        }
    }
    values.insert(values.end(), {T(-0.0), std::numeric_limits<T>::denorm_min(),
                                 -std::numeric_limits<T>::denorm_min(), T(1e30), T(-1e30),
                                 std::numeric_limits<T>::max(), std::numeric_limits<T>::lowest(),
                                 T(2.4999999), T(-1.5000001)});
    std::vector<T> truth, pred;
    for (const T t : values) {
        for (const T p : values) {
            truth.push_back(t);
            pred.push_back(p);
        }
    }
    std::mt19937 gen(17);
    std::normal_distribution<double> score(0.0, 2.0);
    std::uniform_int_distribution<int> grid(-9, 9);
    for (int i = 0; i < 5000; ++i) {
        truth.push_back(static_cast<T>(grid(gen) / 3.0));
        pred.push_back(static_cast<T>(score(gen)));
    }
    for (const auto preset : {em::sentiment_preset::mmsa, em::sentiment_preset::mult}) {
        em::sentiment_suite suite(em::sentiment_dataset::mosi, preset);
        suite.update(std::span<const T>(truth), std::span<const T>(pred));
        const auto expected =
            naive_sentiment_counts(truth, pred, preset == em::sentiment_preset::mmsa);
        CHECK(suite.state().samples == expected.samples);
        CHECK(suite.state().binary_all == expected.binary_all);
        CHECK(suite.state().binary_nonzero == expected.binary_nonzero);
        CHECK(suite.state().exact_match == expected.exact_match);
    }
}

} // namespace

TEST_CASE("sentiment_suite: block counts equal the per-sample definitions at ties and bounds") {
    check_sentiment_counts<float>();
    check_sentiment_counts<double>();
}
