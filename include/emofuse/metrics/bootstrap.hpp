// emofuse/metrics/bootstrap.hpp — seeded percentile bootstrap confidence intervals for any
// metric or suite, and the paired bootstrap test. Resamples are count weights over the
// sample indices (no data copies), each drawn from its own seeded stream, so the result is
// the same for a seed whatever the number of threads.
#pragma once

#include <emofuse/core/error.hpp>
#include <emofuse/metrics/suite_result.hpp>
#include <emofuse/platform/parallel.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <mutex>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace emofuse::metrics {

struct bootstrap_options {
    std::size_t resamples = 1000;
    std::uint64_t seed = 0;
    double confidence = 0.95; ///< central interval: percentiles (1-c)/2 and (1+c)/2
    unsigned threads = 0; ///< at most this many threads; 0: num_threads() (platform/parallel.hpp)
};

/// A confidence interval [low, high].
struct interval {
    double low = 0;
    double high = 0;
};

/// Per-key percentile intervals, in the statistic's key order, plus every resample's values
/// (resample-major) for callers that want other summaries.
struct bootstrap_result {
    std::vector<std::string> keys;
    std::vector<interval> intervals;
    std::vector<std::vector<double>> resample_values;

    [[nodiscard]] interval at(std::string_view key) const {
        for (std::size_t k = 0; k < keys.size(); ++k) {
            if (keys[k] == key) {
                return intervals[k];
            }
        }
        throw value_error(
            emofuse::detail::concat_message("metrics::bootstrap_result::at: no key \"", key, "\""));
    }
};

namespace detail {

/// splitmix64: a tiny, well-mixed generator; one stream per (seed, resample).
struct splitmix64 {
    std::uint64_t state;
    std::uint64_t operator()() noexcept {
        std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
};

/// High 64 bits of a*b: maps a uniform 64-bit draw onto [0, n) (bias below n / 2^64).
inline std::uint64_t multiply_high(std::uint64_t a, std::uint64_t b) noexcept {
#if defined(__SIZEOF_INT128__)
    __extension__ using wide = unsigned __int128;
    return static_cast<std::uint64_t>((static_cast<wide>(a) * b) >> 64);
#else
    const std::uint64_t a_lo = a & 0xFFFFFFFFULL, a_hi = a >> 32;
    const std::uint64_t b_lo = b & 0xFFFFFFFFULL, b_hi = b >> 32;
    const std::uint64_t lo_lo = a_lo * b_lo, hi_lo = a_hi * b_lo;
    const std::uint64_t lo_hi = a_lo * b_hi, hi_hi = a_hi * b_hi;
    const std::uint64_t cross = (lo_lo >> 32) + (hi_lo & 0xFFFFFFFFULL) + lo_hi;
    return hi_hi + (hi_lo >> 32) + (cross >> 32);
#endif
}

} // namespace detail

/// Fills `weights` (size n) with resample `resample`'s counts: n indices drawn uniformly with
/// replacement from the stream seeded by (seed, resample). The counts sum to n.
inline void resample_weights(std::size_t n, std::uint64_t seed, std::size_t resample,
                             std::span<std::uint32_t> weights) {
    check_size("metrics::resample_weights", "weight count", n, weights.size());
    std::fill(weights.begin(), weights.end(), 0U);
    detail::splitmix64 seeder{seed};
    detail::splitmix64 rng{seeder() ^ (0xD1B54A32D192ED03ULL * (resample + 1))};
    rng(); // decorrelate neighbouring streams
    for (std::size_t i = 0; i < n; ++i) {
        ++weights[detail::multiply_high(rng(), n)];
    }
}

namespace detail {

/// numpy.percentile's default (linear interpolation) on sorted values.
inline double sorted_percentile(const std::vector<double>& sorted, double q) {
    if (sorted.empty()) {
        return std::numeric_limits<double>::quiet_NaN();
    }
    const double position = q * static_cast<double>(sorted.size() - 1);
    const auto below = static_cast<std::size_t>(std::floor(position));
    const std::size_t above = std::min(below + 1, sorted.size() - 1);
    const double fraction = position - static_cast<double>(below);
    return sorted[below] + (sorted[above] - sorted[below]) * fraction;
}

inline void check_bootstrap_options(std::string_view stage, std::size_t n,
                                    const bootstrap_options& options) {
    if (n == 0) {
        throw value_error(
            emofuse::detail::concat_message(stage, ": no samples: expected at least one, got 0"));
    }
    if (options.resamples == 0) {
        throw value_error(mismatch_message(stage, "resamples", "at least 1", options.resamples));
    }
    if (!(options.confidence > 0 && options.confidence < 1)) {
        throw value_error(
            mismatch_message(stage, "confidence", "a value in (0, 1)", options.confidence));
    }
}

template <class R>
std::vector<double> statistic_values(const R& value) {
    if constexpr (std::is_same_v<R, suite_result>) {
        return value.values();
    } else if constexpr (std::is_arithmetic_v<R>) {
        return {static_cast<double>(value)};
    } else {
        return std::vector<double>(value.begin(), value.end());
    }
}

template <class R>
std::vector<std::string> statistic_keys(const R& value, std::size_t count) {
    if constexpr (std::is_same_v<R, suite_result>) {
        std::vector<std::string> keys;
        for (const auto& m : value.metrics) {
            keys.push_back(m.key);
        }
        return keys;
    } else {
        std::vector<std::string> keys;
        for (std::size_t k = 0; k < count; ++k) {
            keys.push_back(count == 1 ? "value" : "value_" + std::to_string(k));
        }
        return keys;
    }
}

/// Runs body(resample, weights) for every resample on the library's thread pool (at most
/// options.threads threads when that is not 0). Each resample's weights depend on the seed and
/// its index only, so the result does not depend on the thread count.
template <class Body>
void for_each_resample(std::size_t n, const bootstrap_options& options, Body&& body) {
    constexpr std::size_t resamples_per_chunk = 4;
    parallel_for(
        options.resamples, resamples_per_chunk,
        [&](std::size_t begin, std::size_t end) {
            std::vector<std::uint32_t> weights(n);
            for (std::size_t r = begin; r < end; ++r) {
                resample_weights(n, options.seed, r, weights);
                body(r, std::span<const std::uint32_t>(weights));
            }
        },
        options.threads);
}

} // namespace detail

/// Percentile bootstrap CIs of a statistic over n samples. `statistic(weights)` evaluates the
/// metric with sample i counted weights[i] times and returns a double, a vector of doubles,
/// or a suite_result (its keys name the intervals). It must be safe to call concurrently.
/// NaN resample values (e.g. a correlation of a constant resample) are left out of that key's
/// percentiles; a key whose every resample is NaN gets a NaN interval.
template <class Statistic>
[[nodiscard]] bootstrap_result bootstrap(std::size_t n, Statistic&& statistic,
                                         const bootstrap_options& options = {}) {
    detail::check_bootstrap_options("metrics::bootstrap", n, options);
    using result_type = std::decay_t<decltype(statistic(std::span<const std::uint32_t>{}))>;
    bootstrap_result out;
    out.resample_values.resize(options.resamples);
    std::vector<std::string> keys;
    std::mutex keys_lock;
    detail::for_each_resample(n, options, [&](std::size_t r, std::span<const std::uint32_t> w) {
        const result_type value = statistic(w);
        out.resample_values[r] = detail::statistic_values(value);
        if (r == 0) {
            const std::lock_guard lock(keys_lock);
            keys = detail::statistic_keys(value, out.resample_values[r].size());
        }
    });
    out.keys = std::move(keys);
    const double tail = (1.0 - options.confidence) / 2.0;
    for (std::size_t k = 0; k < out.keys.size(); ++k) {
        std::vector<double> column;
        column.reserve(options.resamples);
        for (const auto& values : out.resample_values) {
            if (k < values.size() && values[k] == values[k]) {
                column.push_back(values[k]);
            }
        }
        std::sort(column.begin(), column.end());
        out.intervals.push_back({detail::sorted_percentile(column, tail),
                                 detail::sorted_percentile(column, 1.0 - tail)});
    }
    return out;
}

/// Result of comparing system A with system B on the same samples.
struct paired_bootstrap_result {
    double observed_delta = 0; ///< metric(A) - metric(B) on all samples
    interval delta_interval;   ///< percentile CI of the delta
    /// One-sided p-value of "A is not better than B": the fraction of resamples whose delta is
    /// <= 0 (Koehn 2004). Small values mean A's advantage survives resampling.
    double p_value = 0;
    std::size_t resamples = 0;
};

/// Paired bootstrap: both systems are scored on the SAME resample of sample indices.
/// `metric_a(weights)` and `metric_b(weights)` return doubles (higher is better).
template <class MetricA, class MetricB>
[[nodiscard]] paired_bootstrap_result paired_bootstrap(std::size_t n, MetricA&& metric_a,
                                                       MetricB&& metric_b,
                                                       const bootstrap_options& options = {}) {
    detail::check_bootstrap_options("metrics::paired_bootstrap", n, options);
    const std::vector<std::uint32_t> ones(n, 1U);
    paired_bootstrap_result out;
    out.resamples = options.resamples;
    out.observed_delta = metric_a(std::span<const std::uint32_t>(ones)) -
                         metric_b(std::span<const std::uint32_t>(ones));
    std::vector<double> deltas(options.resamples);
    detail::for_each_resample(n, options, [&](std::size_t r, std::span<const std::uint32_t> w) {
        deltas[r] = metric_a(w) - metric_b(w);
    });
    std::size_t not_better = 0;
    for (const double d : deltas) {
        not_better += d <= 0 ? 1 : 0;
    }
    out.p_value = static_cast<double>(not_better) / static_cast<double>(options.resamples);
    std::sort(deltas.begin(), deltas.end());
    const double tail = (1.0 - options.confidence) / 2.0;
    out.delta_interval = {detail::sorted_percentile(deltas, tail),
                          detail::sorted_percentile(deltas, 1.0 - tail)};
    return out;
}

} // namespace emofuse::metrics
