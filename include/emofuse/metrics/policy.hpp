// emofuse/metrics/policy.hpp — explicit policies shared by every metric: what to do with
// non-finite values, and the check that rejects empty inputs.
#pragma once

#include <emofuse/core/error.hpp>

#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>

namespace emofuse::metrics {

/// What an accumulator does with a sample whose prediction or truth is NaN or ±Inf.
/// `error` (the default) throws value_error naming the index; `skip` drops the whole sample
/// (both sides), as a peer that masks missing values does.
enum class nan_policy { error, skip };

/// Parses "error" or "skip".
[[nodiscard]] inline nan_policy parse_nan_policy(std::string_view name) {
    if (name == "error") {
        return nan_policy::error;
    }
    if (name == "skip") {
        return nan_policy::skip;
    }
    throw value_error(mismatch_message("metrics::parse_nan_policy", "NaN policy",
                                       "\"error\" or \"skip\"", std::string(name)));
}

[[nodiscard]] constexpr std::string_view to_string(nan_policy policy) {
    return policy == nan_policy::error ? "error" : "skip";
}

namespace detail {

/// Throws the value_error every metric uses for a non-finite value under nan_policy::error.
[[noreturn]] inline void throw_non_finite(std::string_view stage, std::string_view what,
                                          std::size_t index, double value) {
    throw value_error(emofuse::detail::concat_message(
        stage, ": ", what, " at index ", index,
        ": expected a finite value (nan_policy::error), got ", value));
}

/// Throws value_error when a metric is computed from no samples.
inline void require_samples(std::string_view stage, double count) {
    if (!(count > 0)) {
        throw value_error(emofuse::detail::concat_message(
            stage, ": no samples: expected at least one (finite) sample, got 0"));
    }
}

} // namespace detail
} // namespace emofuse::metrics
