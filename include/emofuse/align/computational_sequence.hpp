// emofuse/align/computational_sequence.hpp — CMU computational sequences in memory: per entry
// (a video, or an aligned segment `video[i]`) n time intervals and n feature rows.
#pragma once

#include "emofuse/config.hpp"
#include "emofuse/core/error.hpp"

#include <cmath>
#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <variant>

namespace emofuse::align {

/// The SDK's tolerance for every interval comparison (its `epsilon = 10e-6`).
inline constexpr double interval_epsilon = 1e-5;

/// One entry: intervals (n, 2) as [start, end] seconds in float64, features (n, d).
template <class T>
struct segment {
    xt::xtensor<double, 2> intervals;
    xt::xtensor<T, 2> features;

    [[nodiscard]] std::size_t rows() const { return intervals.shape(0); }
};

/// A computational sequence: a named set of entries keyed by string.
///
/// Entries are kept in byte-wise key order, the order in which HDF5 lists the groups of a
/// `.csd` file and in which the SDK therefore concatenates and visits them. `metadata` holds
/// the stored strings as they are (the SDK stores JSON-encoded values). `feature_size` is d,
/// kept even when there is no entry (needed to impute zeros).
template <class T>
struct computational_sequence {
    using value_type = T;

    std::string name;
    std::map<std::string, std::string> metadata;
    std::size_t feature_size = 0;
    std::map<std::string, segment<T>> entries;
};

/// A sequence whose feature type is chosen at run time (files of either precision).
using any_sequence = std::variant<computational_sequence<float>, computational_sequence<double>>;

/// The video id of an entry key: everything before the first `[` (the SDK's `split("[")[0]`).
[[nodiscard]] inline std::string_view video_id(std::string_view key) {
    return key.substr(0, key.find('['));
}

/// Name of a sequence held in an any_sequence.
[[nodiscard]] inline const std::string& sequence_name(const any_sequence& seq) {
    return std::visit([](const auto& s) -> const std::string& { return s.name; }, seq);
}

/// Checks `rows` intervals stored as (start, end) pairs: finite times and end >= start, else
/// value_error naming `stage`, `where` (the sequence or file), the video `key` and the first
/// bad interval. The readers and the aligner share it, so a bad time reads the same everywhere.
inline void check_intervals(std::string_view stage, std::string_view where, std::string_view key,
                            const double* intervals, std::size_t rows) {
    // One branch-free pass (x - x is 0 only for finite x; comparisons with NaN are false),
    // then the slow loop below only to name the first bad interval.
    bool all_good = true;
    for (std::size_t r = 0; r < rows; ++r) {
        const double start = intervals[2 * r];
        const double end = intervals[2 * r + 1];
        all_good &= (start - start == 0.0) & (end - end == 0.0) & (end >= start);
    }
    if (all_good) {
        return;
    }
    for (std::size_t r = 0; r < rows; ++r) {
        const double start = intervals[2 * r];
        const double end = intervals[2 * r + 1];
        if (!std::isfinite(start) || !std::isfinite(end)) {
            throw value_error(emofuse::detail::concat_message(
                stage, ": ", where, ", video '", key, "', interval ", r,
                ": expected finite start and end times, got [", start, ", ", end, "]"));
        }
        if (end < start) {
            throw value_error(emofuse::detail::concat_message(
                stage, ": ", where, ", video '", key, "', interval ", r,
                ": expected end >= start, got [", start, ", ", end, "]"));
        }
    }
}

/// Checks one entry: intervals (n, 2), features (n, feature_size), finite times, end >= start.
template <class T>
void validate_segment(std::string_view sequence, std::string_view key, const segment<T>& entry,
                      std::size_t feature_size) {
    const auto& iv = entry.intervals;
    if (iv.shape(1) != 2) {
        throw shape_error(emofuse::detail::concat_message(
            "computational sequence: sequence '", sequence, "', video '", key,
            "': intervals: expected shape (n, 2), got (", iv.shape(0), ", ", iv.shape(1), ")"));
    }
    if (entry.features.shape(0) != iv.shape(0) || entry.features.shape(1) != feature_size) {
        throw shape_error(emofuse::detail::concat_message(
            "computational sequence: sequence '", sequence, "', video '", key,
            "': features: expected shape (", iv.shape(0), ", ", feature_size, "), got (",
            entry.features.shape(0), ", ", entry.features.shape(1), ")"));
    }
    check_intervals("computational sequence",
                    emofuse::detail::concat_message("sequence '", sequence, "'"), key, iv.data(),
                    iv.shape(0));
}

/// Checks every entry of a sequence (see validate_segment).
template <class T>
void validate(const computational_sequence<T>& seq) {
    for (const auto& [key, entry] : seq.entries) {
        validate_segment(seq.name, key, entry, seq.feature_size);
    }
}

} // namespace emofuse::align
