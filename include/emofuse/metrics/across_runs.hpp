// emofuse/metrics/across_runs.hpp — summarising one suite over several runs (seeds) the way
// MMSA reports it: per key, the mean and the population standard deviation (ddof = 0).
#pragma once

#include <emofuse/core/error.hpp>
#include <emofuse/metrics/suite_result.hpp>

#include <cmath>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace emofuse::metrics {

/// One key over the runs. MMSA prints round(mean * 100, 2) and std with ddof = 0; the values
/// here are unrounded and unscaled.
struct run_summary {
    std::string key;
    double mean = 0;
    double std = 0; ///< population standard deviation (ddof = 0)
    std::size_t runs = 0;
};

/// Mean and ddof-0 standard deviation of every key across runs of the same suite and preset.
/// value_error for no runs or runs whose keys differ.
[[nodiscard]] inline std::vector<run_summary> summarize_runs(std::span<const suite_result> runs) {
    if (runs.empty()) {
        throw value_error("metrics::summarize_runs: no runs: expected at least one, got 0");
    }
    const auto& first = runs.front();
    std::vector<run_summary> out;
    for (std::size_t k = 0; k < first.metrics.size(); ++k) {
        run_summary s;
        s.key = first.metrics[k].key;
        s.runs = runs.size();
        double sum = 0;
        for (const auto& run : runs) {
            if (run.metrics.size() != first.metrics.size() || run.metrics[k].key != s.key) {
                throw value_error(
                    "metrics::summarize_runs: runs of different suites: expected key \"" + s.key +
                    "\" at position " + std::to_string(k) + " in every run");
            }
            sum += run.metrics[k].value;
        }
        s.mean = sum / static_cast<double>(runs.size());
        double squares = 0;
        for (const auto& run : runs) {
            const double d = run.metrics[k].value - s.mean;
            squares += d * d;
        }
        s.std = std::sqrt(squares / static_cast<double>(runs.size()));
        out.push_back(std::move(s));
    }
    return out;
}

} // namespace emofuse::metrics
