// emofuse/align/collapse.hpp — collapse functions: reduce the frames kept for one reference
// segment to one feature row (the SDK's `collapse_functions`).
#pragma once

#include "emofuse/config.hpp"
#include "emofuse/core/error.hpp"
#include "emofuse/platform/prefetch.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace emofuse::align {

/// A collapse function. It receives the k kept frames of one segment: their clipped
/// intervals (k, 2) and their raw feature rows (k, d), both row-major, and writes
/// output_size(d) values. Built-ins write d values; a user function may write any fixed
/// multiple of d. The callable must accept both `float` and `double` features (a generic
/// lambda does): `void(const double* intervals, const T* features, std::size_t k,
/// std::size_t d, T* out)`.
class collapse_function {
public:
    template <class T>
    using kernel = std::function<void(const double*, const T*, std::size_t, std::size_t, T*)>;

    template <class F>
    collapse_function(std::string name, F fn, std::size_t width_factor = 1)
        : name_(std::move(name)), width_factor_(width_factor), float_(fn), double_(fn) {
        if (width_factor_ == 0) {
            throw value_error("collapse_function '" + name_ +
                              "': width factor: expected at least 1, got 0");
        }
    }

    [[nodiscard]] const std::string& name() const { return name_; }
    [[nodiscard]] std::size_t output_size(std::size_t d) const { return d * width_factor_; }

    void operator()(const double* intervals, const float* features, std::size_t k, std::size_t d,
                    float* out) const {
        float_(intervals, features, k, d, out);
    }
    void operator()(const double* intervals, const double* features, std::size_t k, std::size_t d,
                    double* out) const {
        double_(intervals, features, k, d, out);
    }

private:
    std::string name_;
    std::size_t width_factor_;
    kernel<float> float_;
    kernel<double> double_;
};

namespace detail {

// Per-thread accumulator so collapse calls do not allocate once warmed up.
inline std::vector<double>& collapse_scratch(std::size_t d) {
    thread_local std::vector<double> scratch;
    scratch.assign(d, 0.0);
    return scratch;
}

// acc[j] += Σ_r features[r, j] in float64; four rows per pass so the accumulator row is
// loaded and stored once per four input rows (the loop is load-bound otherwise).
template <class T>
void column_sums(const T* EMOFUSE_RESTRICT features, std::size_t k, std::size_t d,
                 double* EMOFUSE_RESTRICT acc) {
    std::size_t r = 0;
    for (; r + 4 <= k; r += 4) {
        // The rows of one segment are contiguous: fetch the block 16 rows ahead so the loads
        // below do not wait on memory (the aligner fetches the first rows of the next
        // segment itself).
        if (r + 20 <= k) {
            prefetch_range(features + (r + 16) * d, 4 * d * sizeof(T));
        }
        const T* a = features + r * d;
        const T* b = a + d;
        const T* c = b + d;
        const T* e = c + d;
        for (std::size_t j = 0; j < d; ++j) {
            acc[j] += (static_cast<double>(a[j]) + static_cast<double>(b[j])) +
                      (static_cast<double>(c[j]) + static_cast<double>(e[j]));
        }
    }
    for (; r < k; ++r) {
        const T* row = features + r * d;
        for (std::size_t j = 0; j < d; ++j) {
            acc[j] += static_cast<double>(row[j]);
        }
    }
}

struct mean_kernel {
    template <class T>
    void operator()(const double*, const T* features, std::size_t k, std::size_t d, T* out) const {
        if (k == 1) { // exact: the float64 mean of one value is that value
            std::copy(features, features + d, out);
            return;
        }
        auto& acc = collapse_scratch(d);
        column_sums(features, k, d, acc.data());
        const double inv = 1.0 / static_cast<double>(k);
        for (std::size_t j = 0; j < d; ++j) {
            out[j] = static_cast<T>(acc[j] * inv);
        }
    }
};

struct weighted_mean_kernel {
    template <class T>
    void operator()(const double* intervals, const T* features, std::size_t k, std::size_t d,
                    T* out) const {
        auto& acc = collapse_scratch(d);
        double total = 0.0;
        for (std::size_t r = 0; r < k; ++r) {
            const double w = intervals[2 * r + 1] - intervals[2 * r];
            total += w;
            const T* row = features + r * d;
            for (std::size_t j = 0; j < d; ++j) {
                acc[j] += w * static_cast<double>(row[j]);
            }
        }
        for (std::size_t j = 0; j < d; ++j) {
            out[j] = static_cast<T>(acc[j] / total);
        }
    }
};

// numpy's max/min: NaN propagates.
template <bool TakeMax>
struct extreme_kernel {
    template <class T>
    void operator()(const double*, const T* features, std::size_t k, std::size_t d, T* out) const {
        std::copy(features, features + d, out);
        for (std::size_t r = 1; r < k; ++r) {
            const T* row = features + r * d;
            for (std::size_t j = 0; j < d; ++j) {
                const T v = row[j];
                if (std::isnan(out[j])) {
                    continue;
                }
                if (std::isnan(v) || (TakeMax ? v > out[j] : v < out[j])) {
                    out[j] = v;
                }
            }
        }
    }
};

struct std_kernel {
    double ddof = 0.0;
    template <class T>
    void operator()(const double*, const T* features, std::size_t k, std::size_t d, T* out) const {
        auto& mean = collapse_scratch(d);
        column_sums(features, k, d, mean.data());
        for (std::size_t j = 0; j < d; ++j) {
            mean[j] /= static_cast<double>(k);
        }
        std::vector<double> sq(d, 0.0);
        for (std::size_t r = 0; r < k; ++r) {
            const T* row = features + r * d;
            for (std::size_t j = 0; j < d; ++j) {
                const double dev = static_cast<double>(row[j]) - mean[j];
                sq[j] += dev * dev;
            }
        }
        const double denom = static_cast<double>(k) - ddof;
        for (std::size_t j = 0; j < d; ++j) {
            // numpy gives NaN (with a warning) when k <= ddof; so do we.
            out[j] = static_cast<T>(denom > 0 ? std::sqrt(sq[j] / denom)
                                              : std::numeric_limits<double>::quiet_NaN());
        }
    }
};

template <bool First>
struct pick_kernel {
    template <class T>
    void operator()(const double*, const T* features, std::size_t k, std::size_t d, T* out) const {
        const T* row = features + (First ? 0 : (k - 1) * d);
        std::copy(row, row + d, out);
    }
};

} // namespace detail

/// Built-in collapse functions.
namespace collapse {

/// Plain mean of the raw rows: the SDK's standard `avg` (`numpy.average(features, axis=0)`).
/// Accumulates in float64 and rounds once to the feature type.
[[nodiscard]] inline collapse_function mean() {
    return {"mean", detail::mean_kernel{}};
}

/// Mean weighted by each frame's clipped duration (end - start inside the segment).
[[nodiscard]] inline collapse_function weighted_mean() {
    return {"weighted_mean", detail::weighted_mean_kernel{}};
}

/// Element-wise maximum (NaN propagates, as numpy.max).
[[nodiscard]] inline collapse_function max() {
    return {"max", detail::extreme_kernel<true>{}};
}

/// Element-wise minimum (NaN propagates, as numpy.min).
[[nodiscard]] inline collapse_function min() {
    return {"min", detail::extreme_kernel<false>{}};
}

/// Standard deviation with `ddof` (0 by default, numpy.std's default; a single frame gives 0).
[[nodiscard]] inline collapse_function stddev(double ddof = 0.0) {
    return {"std", detail::std_kernel{ddof}};
}

/// The first kept frame (in start-sorted order).
[[nodiscard]] inline collapse_function first() {
    return {"first", detail::pick_kernel<true>{}};
}

/// The last kept frame (in start-sorted order).
[[nodiscard]] inline collapse_function last() {
    return {"last", detail::pick_kernel<false>{}};
}

/// A built-in by name: mean (alias avg), weighted_mean, max, min, std, first, last.
[[nodiscard]] inline collapse_function by_name(std::string_view name) {
    if (name == "mean" || name == "avg") {
        return mean();
    }
    if (name == "weighted_mean") {
        return weighted_mean();
    }
    if (name == "max") {
        return max();
    }
    if (name == "min") {
        return min();
    }
    if (name == "std") {
        return stddev();
    }
    if (name == "first") {
        return first();
    }
    if (name == "last") {
        return last();
    }
    throw value_error(emofuse::detail::concat_message(
        "collapse: function name: expected one of mean, avg, weighted_mean, max, min, std, "
        "first, last, got '",
        name, "'"));
}

/// Parses a comma-separated list such as "mean,std" (outputs are concatenated in that order).
[[nodiscard]] inline std::vector<collapse_function> parse_list(std::string_view list) {
    std::vector<collapse_function> out;
    std::size_t begin = 0;
    while (begin <= list.size()) {
        const std::size_t comma = std::min(list.find(',', begin), list.size());
        out.push_back(by_name(list.substr(begin, comma - begin)));
        begin = comma + 1;
    }
    return out;
}

} // namespace collapse

} // namespace emofuse::align
