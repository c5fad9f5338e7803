// The demo's comparison table: each row is a fusion method that turns a split into one
// feature row per sample; a ridge read-out is fitted on the train split's features and the
// row reports test metrics, parameter count and forward time per sample.
//
// Adding a row: write a function returning std::vector<demo::method> (see core_methods() in
// main.cpp) and append its result in main(). The operator's own weights are fixed (seeded),
// not trained: the ridge read-out is the only fitted part, so the table compares what each
// fusion operator makes linearly available to a read-out.
#pragma once

#include "sample_data.hpp"

#include <emofuse/heads/ridge.hpp>
#include <emofuse/metrics/sentiment.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace demo {

struct method {
    std::string name;
    /// Weights of the fusion operator itself (the ridge read-out is counted separately).
    std::size_t operator_parameters = 0;
    /// Features of every sample of a split: (samples, width).
    std::function<emofuse::features<float>(const split&)> featurize;
    double ridge_alpha = 1.0;
};

struct row_result {
    std::string name;
    std::size_t parameters = 0;
    emofuse::metrics::suite_result metrics;
    double microseconds_per_sample = 0.0;
};

/// Median wall time of `repeats` calls of `work`, in seconds.
template <class Work>
double median_seconds(std::size_t repeats, Work&& work) {
    std::vector<double> times;
    for (std::size_t r = 0; r < repeats; ++r) {
        const auto start = std::chrono::steady_clock::now();
        work();
        times.push_back(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
    return times[times.size() / 2];
}

inline row_result evaluate(const method& m, const sample_set& data) {
    emofuse::heads::ridge<float> readout(m.ridge_alpha);
    readout.fit(m.featurize(data.train), data.train.labels);

    emofuse::features<float> predictions;
    const double seconds =
        median_seconds(5, [&] { predictions = readout(m.featurize(data.test)); });

    emofuse::metrics::sentiment_suite suite(emofuse::metrics::sentiment_dataset::mosi);
    suite.update(std::span<const float>(data.test.labels.data(), data.test.size()),
                 std::span<const float>(predictions.data(), data.test.size()));
    return {m.name, m.operator_parameters + readout.weight().size() + readout.bias().size(),
            suite.compute(), 1e6 * seconds / static_cast<double>(data.test.size())};
}

inline void print_table(const std::vector<row_result>& rows) {
    int width = 6;
    for (const row_result& r : rows) {
        width = std::max(width, static_cast<int>(r.name.size()));
    }
    std::printf("%-*s %10s %7s %7s %10s %13s %10s %9s\n", width, "method", "parameters", "MAE",
                "Corr", "Has0_acc_2", "Non0_F1_score", "Mult_acc_7", "us/sample");
    for (const row_result& r : rows) {
        std::printf("%-*s %10zu %7.3f %7.3f %10.3f %13.3f %10.3f %9.2f\n", width, r.name.c_str(),
                    r.parameters, r.metrics.at("MAE"), r.metrics.at("Corr"),
                    r.metrics.at("Has0_acc_2"), r.metrics.at("Non0_F1_score"),
                    r.metrics.at("Mult_acc_7"), r.microseconds_per_sample);
    }
}

} // namespace demo
