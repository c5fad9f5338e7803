// emofuse/align/aligned_rows.hpp — aligned entries stored contiguously: one key list, one
// (rows, 2) interval array and one (rows, width) feature array per sequence, so aligning a
// dataset allocates per video, not per segment.
#pragma once

#include "emofuse/align/computational_sequence.hpp"
#include "emofuse/core/checked_size.hpp"

#include <algorithm>
#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace emofuse::align {

/// The aligned entries of one sequence. Entry e is `keys[e]` with rows
/// [offsets[e], offsets[e + 1]) of `intervals` (row-major, 2 per row) and `features`
/// (row-major, `feature_size` per row). Entries are in alignment order: reference key, then
/// segment index (`v[2]` before `v[10]`), which is `segment_key_less` order.
template <class T>
struct aligned_rows {
    using value_type = T;

    std::string name;
    std::map<std::string, std::string> metadata;
    std::size_t feature_size = 0;
    std::vector<std::string> keys;
    std::vector<std::size_t> offsets{0};
    std::vector<double> intervals;
    std::vector<T> features;

    [[nodiscard]] std::size_t entries() const { return keys.size(); }
    [[nodiscard]] std::size_t rows() const { return offsets.back(); }
    [[nodiscard]] std::size_t rows(std::size_t entry) const {
        return offsets[entry + 1] - offsets[entry];
    }
    [[nodiscard]] const double* intervals_of(std::size_t entry) const {
        return intervals.data() + 2 * offsets[entry];
    }
    [[nodiscard]] const T* features_of(std::size_t entry) const {
        return features.data() + feature_size * offsets[entry];
    }

    /// Adds entry `key` of `count` rows; returns where its features go (the caller fills
    /// them) and writes its intervals to `*interval_out`.
    T* append(const std::string& key, std::size_t count, double** interval_out) {
        keys.push_back(key);
        const std::size_t first = offsets.back();
        offsets.push_back(first + count);
        intervals.resize(checked_element_count("aligned rows: intervals", {first + count, 2}));
        features.resize(
            checked_element_count("aligned rows: features", {first + count, feature_size}));
        *interval_out = intervals.data() + 2 * first;
        return features.data() + feature_size * first;
    }

    /// Room for `entries` more entries (and as many rows when each entry is one row).
    void reserve(std::size_t entries, bool one_row_each) {
        keys.reserve(keys.size() + entries);
        offsets.reserve(offsets.size() + entries);
        if (one_row_each) {
            intervals.reserve(intervals.size() + 2 * entries);
            features.reserve(features.size() + feature_size * entries);
        }
    }

    /// Drops every entry and keeps the capacity (the aligner reuses one per video).
    void clear() {
        keys.clear();
        offsets.assign(1, 0);
        intervals.clear();
        features.clear();
    }
};

/// Aligned rows whose feature type is chosen at run time.
using any_aligned_rows = std::variant<aligned_rows<float>, aligned_rows<double>>;

/// Entries of `rows` as a computational_sequence (one allocation per entry: the SDK's form).
template <class T>
void append_entries(const aligned_rows<T>& rows, computational_sequence<T>& out) {
    for (std::size_t e = 0; e < rows.entries(); ++e) {
        const std::size_t n = rows.rows(e);
        segment<T> entry;
        entry.intervals = xt::xtensor<double, 2>::from_shape({n, 2});
        entry.features = xt::xtensor<T, 2>::from_shape({n, rows.feature_size});
        std::copy_n(rows.intervals_of(e), 2 * n, entry.intervals.data());
        std::copy_n(rows.features_of(e), n * rows.feature_size, entry.features.data());
        out.entries.insert_or_assign(rows.keys[e], std::move(entry));
    }
}

/// `rows` as a computational_sequence with the same name, metadata and feature size.
template <class T>
computational_sequence<T> to_computational_sequence(const aligned_rows<T>& rows) {
    computational_sequence<T> out;
    out.name = rows.name;
    out.metadata = rows.metadata;
    out.feature_size = rows.feature_size;
    append_entries(rows, out);
    return out;
}

} // namespace emofuse::align
