// emofuse/fusion/modality_mask.hpp — per-sample modality-present masks for missing-modality
// fusion: (batch, modalities) in batch order, non-zero = present.
//
// Every masked fusion stage in emofuse follows one rule: an absent modality's input is
// replaced by zeros for that sample (its whole sequence, for sequence inputs) and the stage
// then runs unchanged. So a tensor fusion keeps the prepended 1 ([1; 0...] for an absent
// modality), LMF keeps the factor's bias row, and concat writes zeros in the absent block.
// A PyTorch model reproduces this by zeroing the absent inputs.
#pragma once

#include "emofuse/core/batch.hpp"
#include "emofuse/core/error.hpp"
#include "emofuse/core/sequence.hpp"

#include "emofuse/fusion/detail/inputs.hpp"

#include <boost/hana/at.hpp>
#include <boost/hana/keys.hpp>
#include <boost/hana/map.hpp>
#include <boost/hana/pair.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <utility>

namespace emofuse::fusion {

/// (batch, modalities): mask(b, m) != 0 when modality m (in batch order) is present for
/// sample b.
using modality_mask = xt::xtensor<std::uint8_t, 2>;

/// Throws shape_error unless the mask is (rows, modalities).
inline void check_modality_mask(std::string_view stage, const modality_mask& mask, std::size_t rows,
                                std::size_t modalities) {
    if (mask.shape(0) != rows || mask.shape(1) != modalities) {
        throw shape_error(emofuse::detail::concat_message(
            stage, ": modality mask shape: expected (", rows, ", ", modalities,
            ") = (batch, modalities), got (", mask.shape(0), ", ", mask.shape(1), ")"));
    }
}

namespace detail {

template <class T>
features<T> zero_absent_rows(const features<T>& x, const modality_mask& mask, std::size_t m) {
    features<T> out = x;
    const std::size_t d = x.shape(1);
    for (std::size_t b = 0; b < x.shape(0); ++b) {
        if (mask(b, m) == 0) {
            std::fill_n(out.data() + b * d, d, T(0));
        }
    }
    return out;
}

template <class T>
sequence<T> zero_absent_rows(const sequence<T>& x, const modality_mask& mask, std::size_t m) {
    sequence<T> out = x;
    const std::size_t frame_values = x.max_time() * x.feature_size();
    for (std::size_t b = 0; b < x.batch_size(); ++b) {
        if (mask(b, m) == 0) {
            std::fill_n(out.values().data() + b * frame_values, frame_values, T(0));
        }
    }
    return out;
}

} // namespace detail

/// A copy of the batch in which modality m of sample b is all zeros wherever mask(b, m) == 0.
/// Throws shape_error when the mask is not (batch, modalities).
template <batch_type Batch>
auto zero_absent(const Batch& batch, const modality_mask& mask,
                 std::string_view stage = "fusion::zero_absent") {
    const std::size_t rows = batch_size(batch, stage);
    constexpr std::size_t count = detail::modality_count_v<Batch>;
    check_modality_mask(stage, mask, rows, count);
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
        const auto keys = hana::keys(batch);
        return hana::make_map(hana::make_pair(
            hana::at_c<I>(keys),
            detail::zero_absent_rows(entry_of(batch[hana::at_c<I>(keys)]), mask, I))...);
    }
    (std::make_index_sequence<count>{});
}

} // namespace emofuse::fusion
