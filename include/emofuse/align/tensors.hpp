// emofuse/align/tensors.hpp — aligned entries to (samples, seq_len, features) tensors with the
// SDK's `get_tensors` padding and truncation.
#pragma once

#include "emofuse/align/aligned_rows.hpp"
#include "emofuse/align/computational_sequence.hpp"
#include "emofuse/core/checked_size.hpp"
#include "emofuse/core/sequence.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace emofuse::align {

/// Where zeros go when an entry has fewer than seq_len rows.
enum class pad_side { left, right };

/// Which rows survive when an entry has more than seq_len rows.
enum class truncate_side {
    /// The SDK's rule: the last rows with left padding, the first rows with right padding
    /// (`concatenate([zeros, x])[-seq_len:]` / `concatenate([x, zeros])[:seq_len]`).
    as_sdk,
    keep_last,
    keep_first,
};

struct tensor_options {
    std::size_t seq_len = 50;
    pad_side pad = pad_side::left;
    truncate_side truncate = truncate_side::as_sdk;
};

/// Writes `rows` feature rows of width d into `out` (seq_len × d, row-major), zero-padded
/// and truncated as `options` says.
template <class T>
void pad_truncate(const T* features, std::size_t rows, std::size_t d, const tensor_options& options,
                  T* out) {
    const std::size_t len = options.seq_len;
    std::fill(out, out + len * d, T(0));
    const std::size_t used = std::min(rows, len);
    const bool keep_last =
        options.truncate == truncate_side::keep_last ||
        (options.truncate == truncate_side::as_sdk && options.pad == pad_side::left);
    const std::size_t first_row = keep_last ? rows - used : 0;
    const std::size_t first_step = options.pad == pad_side::left ? len - used : 0;
    std::copy_n(features + first_row * d, used * d, out + first_step * d);
}

namespace detail {

// Splits "prefix[N]" into (prefix, N); keys without a numeric suffix get N = -1.
inline std::pair<std::string_view, long long> split_segment_key(std::string_view key) {
    if (key.size() >= 3 && key.back() == ']') {
        const std::size_t open = key.rfind('[');
        if (open != std::string_view::npos && open + 2 < key.size()) {
            const std::string_view digits = key.substr(open + 1, key.size() - open - 2);
            if (std::all_of(digits.begin(), digits.end(),
                            [](char c) { return c >= '0' && c <= '9'; }) &&
                digits.size() < 18) {
                return {key.substr(0, open), std::stoll(std::string(digits))};
            }
        }
    }
    return {key, -1};
}

} // namespace detail

/// Orders aligned keys as the SDK produces them: by reference key (byte-wise), then by the
/// segment index numerically (`v[2]` before `v[10]`).
[[nodiscard]] inline bool segment_key_less(std::string_view a, std::string_view b) {
    const auto [pa, ia] = detail::split_segment_key(a);
    const auto [pb, ib] = detail::split_segment_key(b);
    if (pa != pb) {
        return pa < pb;
    }
    return ia < ib;
}

/// The keys present in every sequence (the SDK's `hard_unify`), in segment_key_less order.
[[nodiscard]] inline std::vector<std::string> common_keys(const std::vector<any_sequence>& seqs) {
    std::vector<std::string> out;
    if (seqs.empty()) {
        return out;
    }
    std::visit(
        [&](const auto& first) {
            for (const auto& kv : first.entries) {
                const bool everywhere = std::all_of(seqs.begin(), seqs.end(), [&](const auto& s) {
                    return std::visit([&](const auto& t) { return t.entries.count(kv.first) != 0; },
                                      s);
                });
                if (everywhere) {
                    out.push_back(kv.first);
                }
            }
        },
        seqs.front());
    std::stable_sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
        return segment_key_less(a, b);
    });
    return out;
}

/// The entries present in every sequence (the SDK's `hard_unify`) of aligned rows: for each,
/// its entry index in every sequence, in alignment order. Each sequence's keys must be in
/// segment_key_less order, as the aligner writes them.
[[nodiscard]] inline std::vector<std::vector<std::size_t>>
common_entries(const std::vector<any_aligned_rows>& seqs) {
    std::vector<std::vector<std::size_t>> out;
    if (seqs.empty()) {
        return out;
    }
    const auto keys_of = [](const any_aligned_rows& s) -> const std::vector<std::string>& {
        return std::visit([](const auto& r) -> const std::vector<std::string>& { return r.keys; },
                          s);
    };
    const auto& first = keys_of(seqs.front());
    std::vector<std::size_t> cursor(seqs.size(), 0);
    for (std::size_t e = 0; e < first.size(); ++e) {
        cursor[0] = e;
        bool everywhere = true;
        for (std::size_t s = 1; s < seqs.size(); ++s) {
            const auto& keys = keys_of(seqs[s]);
            while (cursor[s] < keys.size() && segment_key_less(keys[cursor[s]], first[e])) {
                ++cursor[s];
            }
            everywhere = everywhere && cursor[s] < keys.size() && keys[cursor[s]] == first[e];
        }
        if (everywhere) {
            out.push_back(cursor);
        }
    }
    return out;
}

/// Stacks the entries `keys` of `seq` into (keys, seq_len, feature_size). A missing key is
/// a value_error; a shape whose byte size overflows size_t is a shape_error.
template <class T>
xt::xtensor<T, 3> to_tensor(const computational_sequence<T>& seq,
                            const std::vector<std::string>& keys, const tensor_options& options) {
    const std::size_t d = seq.feature_size;
    const std::size_t len = options.seq_len;
    (void)checked_byte_count("to_tensor: sequence '" + seq.name + "' (keys, seq_len, features)",
                             {keys.size(), len, d}, sizeof(T));
    xt::xtensor<T, 3> out = xt::xtensor<T, 3>::from_shape({keys.size(), len, d});
    for (std::size_t n = 0; n < keys.size(); ++n) {
        const auto it = seq.entries.find(keys[n]);
        if (it == seq.entries.end()) {
            throw value_error("to_tensor: sequence '" + seq.name + "': no entry '" + keys[n] + "'");
        }
        const auto& f = it->second.features;
        check_size("to_tensor", "feature size of entry '" + keys[n] + "'", d, f.shape(1));
        pad_truncate(f.data(), f.shape(0), d, options, out.data() + n * len * d);
    }
    return out;
}

/// The entries `keys` of `seq` as an emofuse::sequence<T> (samples, seq_len, d): rows at the
/// front (right padding, which is what per-sample lengths describe), lengths = rows kept.
/// `keep_last` keeps the last seq_len rows of longer entries (the SDK's default side).
template <class T>
sequence<T> to_sequence(const computational_sequence<T>& seq, const std::vector<std::string>& keys,
                        std::size_t seq_len, bool keep_last = true) {
    tensor_options options;
    options.seq_len = seq_len;
    options.pad = pad_side::right;
    options.truncate = keep_last ? truncate_side::keep_last : truncate_side::keep_first;
    auto values = to_tensor(seq, keys, options);
    std::vector<std::size_t> lengths(keys.size());
    for (std::size_t n = 0; n < keys.size(); ++n) {
        lengths[n] = std::min(seq.entries.at(keys[n]).rows(), seq_len);
    }
    return sequence<T>(std::move(values), std::move(lengths));
}

} // namespace emofuse::align
