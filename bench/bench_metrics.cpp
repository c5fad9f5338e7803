// Metric benchmarks (names from docs/workloads.md): the MOSI suite on the MOSEI
// test size, a 10^7-sample streaming pass, and a 1000-resample bootstrap of MELD's weighted
// F1. bench/compare_metrics.py times the numpy / scikit-learn equivalents side by side.
#include <emofuse/metrics/bootstrap.hpp>
#include <emofuse/metrics/classification.hpp>
#include <emofuse/metrics/confusion.hpp>
#include <emofuse/metrics/regression.hpp>
#include <emofuse/metrics/sentiment.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace em = emofuse::metrics;

namespace {

/// MOSI-style data: truths on the 1/3 grid of [-3, 3], noisy predictions (fp32).
void sentiment_data(std::size_t n, std::vector<float>& truth, std::vector<float>& pred) {
    std::mt19937 gen(42);
    std::uniform_int_distribution<int> grid(-9, 9);
    std::normal_distribution<float> noise(0.0f, 1.0f);
    truth.resize(n);
    pred.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        truth[i] = static_cast<float>(grid(gen)) / 3.0f;
        pred[i] = 0.7f * truth[i] + noise(gen);
    }
}

void label_data(std::size_t n, std::size_t k, std::vector<std::int32_t>& truth,
                std::vector<std::int32_t>& pred) {
    std::mt19937 gen(7);
    std::uniform_int_distribution<std::int32_t> label(0, static_cast<std::int32_t>(k) - 1);
    std::bernoulli_distribution correct(0.6);
    truth.resize(n);
    pred.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        truth[i] = label(gen);
        pred[i] = correct(gen) ? truth[i] : label(gen);
    }
}

/// Full MMSA MOSI suite (8 keys) on N = 4659 predictions, a fresh suite per iteration (one
/// span below the parallel block: serial at any --threads).
void metrics_mosi_suite(benchmark::State& state) {
    std::vector<float> truth, pred;
    sentiment_data(4659, truth, pred);
    for (auto _ : state) {
        em::sentiment_suite suite(em::sentiment_dataset::mosi, em::sentiment_preset::mmsa);
        suite.update(std::span<const float>(truth), std::span<const float>(pred));
        auto result = suite.compute();
        benchmark::DoNotOptimize(result.metrics.data());
    }
    state.SetItemsProcessed(std::int64_t(state.iterations()) * 4659);
}
BENCHMARK(metrics_mosi_suite)->Unit(benchmark::kMicrosecond);

/// One streaming pass over 10^7 samples: 7-class labels (accuracy, weighted F1) and scores
/// (MAE, Pearson), each array read from memory once. 16 bytes per sample (two int32 labels,
/// two float scores). The whole spans go to `update`, which reduces them in fixed blocks on
/// the pool (emofuse-bench --threads=N), merged in block order: the same bits at any N.
void metrics_stream_1e7(benchmark::State& state) {
    constexpr std::size_t n = 10'000'000;
    std::vector<std::int32_t> truth_label, pred_label;
    label_data(n, 7, truth_label, pred_label);
    std::vector<float> truth, pred;
    sentiment_data(n, truth, pred);
    for (auto _ : state) {
        em::confusion_counts counts(7);
        em::regression_accumulator moments;
        counts.update(std::span<const std::int32_t>(truth_label),
                      std::span<const std::int32_t>(pred_label));
        moments.update(std::span<const float>(truth), std::span<const float>(pred));
        const double accuracy = em::accuracy(counts);
        const double weighted_f1 = em::f1(counts, em::average::weighted);
        const double mae = em::mae(moments.state());
        const double pearson = em::pearson(moments.state());
        benchmark::DoNotOptimize(accuracy + weighted_f1 + mae + pearson);
    }
    state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(n) * 16);
    state.SetItemsProcessed(std::int64_t(state.iterations()) * std::int64_t(n));
}
BENCHMARK(metrics_stream_1e7)->Unit(benchmark::kMillisecond);

/// 1000-resample percentile bootstrap CI of weighted F1, N = 2610 (MELD test), 7 classes, on
/// the pool (emofuse-bench --threads=N; the intervals do not depend on N).
void bootstrap_f1_meld(benchmark::State& state) {
    std::vector<std::int32_t> truth, pred;
    label_data(2610, 7, truth, pred);
    em::bootstrap_options options;
    options.resamples = 1000;
    options.seed = 2024; // threads = 0: the pool's size
    const auto weighted_f1 = [&](std::span<const std::uint32_t> weights) {
        em::confusion_counts counts(7);
        counts.update(std::span<const std::int32_t>(truth), std::span<const std::int32_t>(pred),
                      weights);
        return em::f1(counts, em::average::weighted);
    };
    for (auto _ : state) {
        auto ci = em::bootstrap(truth.size(), weighted_f1, options);
        benchmark::DoNotOptimize(ci.intervals.data());
    }
}
BENCHMARK(bootstrap_f1_meld)->Unit(benchmark::kMillisecond);

} // namespace
