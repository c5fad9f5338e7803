// emofuse/attention/mask.hpp — which keys each query may attend to: key padding (lengths or a
// frame mask), causal / MulT's shifted triangle, and arbitrary additive masks.
#pragma once

#include "emofuse/config.hpp"
#include "emofuse/core/error.hpp"
#include "emofuse/core/sequence.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace emofuse::attention {

/// Masks of future keys (query i, key j).
enum class future_mask {
    none,   ///< every key is allowed
    causal, ///< j ≤ i (a square self-attention triangle)
    shifted, ///< MulT's buffered_future_mask: triu(−inf, 1+|T_k−T_q|), i.e. j ≤ i + |T_k−T_q|
};

/// What a query may see. Every part is optional; parts combine (a key is used only when all
/// of them allow it). A query row that no key survives produces zeros, never NaN.
template <class T>
struct attention_mask {
    /// Empty: every key is valid. Otherwise one entry per sample: keys t ≥ key_lengths[b]
    /// are padding.
    std::vector<std::size_t> key_lengths;
    /// Empty, or (batch, T_k): non-zero marks a valid key frame (emofuse's sequence
    /// convention; torch's key_padding_mask is the negation).
    xt::xtensor<std::uint8_t, 2> key_valid;
    future_mask future = future_mask::none;
    /// Empty, or (1, T_q, T_k) shared by all samples and heads, (batch, T_q, T_k) shared by the
    /// heads of a sample, or (batch·heads, T_q, T_k) (torch's 3-D attn_mask layout, sample
    /// major). Added to the scaled scores; −inf removes a key.
    xt::xtensor<T, 3> additive;

    [[nodiscard]] bool empty() const {
        return key_lengths.empty() && key_valid.size() == 0 && future == future_mask::none &&
               additive.size() == 0;
    }
};

/// Key-padding mask of a sequence used as keys/values: its lengths and frame mask.
template <class T>
[[nodiscard]] attention_mask<T> key_padding_of(const sequence<T>& keys) {
    attention_mask<T> mask;
    mask.key_lengths = keys.lengths();
    if (keys.has_frame_mask()) {
        mask.key_valid = keys.frame_mask();
    }
    return mask;
}

namespace detail {

/// The rules for one (sample, head) problem, resolved from an attention_mask.
template <class T>
struct key_rule {
    std::size_t key_count = 0;               ///< keys at or after this index are padding
    const std::uint8_t* key_valid = nullptr; ///< null, or one flag per key (non-zero = valid)
    bool limit_future = false;               ///< whether keys j > i + diagonal are masked
    std::size_t diagonal = 0;                ///< allowed j ≤ i + diagonal
    const T* additive = nullptr;             ///< null, or T_q rows of ld_additive values
    std::size_t ld_additive = 0;

    /// One past the last key query `row` may see (before key_valid and additive).
    [[nodiscard]] std::size_t key_end(std::size_t row) const {
        if (!limit_future) {
            return key_count;
        }
        const std::size_t limit = row + diagonal + 1;
        return limit < key_count ? limit : key_count;
    }
};

/// Checks a mask against the problem it is applied to; `stage` names the caller.
template <class T>
void check_mask(std::string_view stage, const attention_mask<T>& mask, std::size_t batch,
                std::size_t heads, std::size_t query_time, std::size_t key_time) {
    if (!mask.key_lengths.empty()) {
        check_size(stage, "mask key_lengths (one per sample)", batch, mask.key_lengths.size());
        for (std::size_t b = 0; b < batch; ++b) {
            if (mask.key_lengths[b] > key_time) {
                throw shape_error(emofuse::detail::concat_message(
                    stage, ": mask key_lengths[", b, "]: expected at most ", key_time,
                    " (key time steps), got ", mask.key_lengths[b]));
            }
        }
    }
    if (mask.key_valid.size() != 0 &&
        (mask.key_valid.shape(0) != batch || mask.key_valid.shape(1) != key_time)) {
        throw shape_error(emofuse::detail::concat_message(
            stage, ": mask key_valid shape: expected (", batch, ", ", key_time, "), got (",
            mask.key_valid.shape(0), ", ", mask.key_valid.shape(1), ")"));
    }
    if (mask.additive.size() != 0) {
        const std::size_t lead = mask.additive.shape(0);
        if ((lead != 1 && lead != batch && lead != batch * heads) ||
            mask.additive.shape(1) != query_time || mask.additive.shape(2) != key_time) {
            throw shape_error(emofuse::detail::concat_message(
                stage, ": mask additive shape: expected (1 | ", batch, " | ", batch * heads, ", ",
                query_time, ", ", key_time, "), got (", mask.additive.shape(0), ", ",
                mask.additive.shape(1), ", ", mask.additive.shape(2), ")"));
        }
    }
}

/// The rule for sample `b`, head `h` of a checked mask.
template <class T>
[[nodiscard]] key_rule<T> rule_for(const attention_mask<T>& mask, std::size_t b, std::size_t h,
                                   std::size_t batch, std::size_t heads, std::size_t query_time,
                                   std::size_t key_time) {
    key_rule<T> rule;
    rule.key_count = mask.key_lengths.empty() ? key_time : mask.key_lengths[b];
    if (mask.key_valid.size() != 0) {
        rule.key_valid = mask.key_valid.data() + b * key_time;
    }
    if (mask.future == future_mask::causal) {
        rule.limit_future = true;
        rule.diagonal = 0;
    } else if (mask.future == future_mask::shifted) {
        rule.limit_future = true;
        rule.diagonal = key_time > query_time ? key_time - query_time : query_time - key_time;
    }
    if (mask.additive.size() != 0) {
        const std::size_t lead = mask.additive.shape(0);
        const std::size_t slice = lead == 1                                  ? 0
                                  : (lead == batch && lead != batch * heads) ? b
                                                                             : b * heads + h;
        rule.additive = mask.additive.data() + slice * query_time * key_time;
        rule.ld_additive = key_time;
    }
    return rule;
}

} // namespace detail

} // namespace emofuse::attention
