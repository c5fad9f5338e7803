// emofuse/metrics/suite_result.hpp — the named metric values a suite returns, in the suite's
// key order, with its warnings.
#pragma once

#include <emofuse/core/error.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace emofuse::metrics {

/// One metric of a suite: its peer-compatible key and its value (full double precision).
struct metric_value {
    std::string key;
    double value = 0;
};

/// What a suite computed: keys in the suite's documented order, the sample count and any
/// warnings (a NaN correlation from constant input, an empty subset...).
struct suite_result {
    std::string suite;
    std::string preset;
    double count = 0;
    std::vector<metric_value> metrics;
    std::vector<std::string> warnings;

    void add(std::string key, double value) { metrics.push_back({std::move(key), value}); }

    [[nodiscard]] bool contains(std::string_view key) const noexcept {
        for (const auto& m : metrics) {
            if (m.key == key) {
                return true;
            }
        }
        return false;
    }

    /// The value of `key`; value_error naming the suite when it has no such key.
    [[nodiscard]] double at(std::string_view key) const {
        for (const auto& m : metrics) {
            if (m.key == key) {
                return m.value;
            }
        }
        throw value_error(emofuse::detail::concat_message("metrics::suite_result::at: suite \"",
                                                          suite, "\" (preset \"", preset,
                                                          "\") has no key \"", key, "\""));
    }

    /// Values only, in key order (what a bootstrap resample records).
    [[nodiscard]] std::vector<double> values() const {
        std::vector<double> out;
        out.reserve(metrics.size());
        for (const auto& m : metrics) {
            out.push_back(m.value);
        }
        return out;
    }
};

} // namespace emofuse::metrics
