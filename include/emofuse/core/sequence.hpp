// emofuse/core/sequence.hpp — one modality's data for a batch: a (batch, time, features)
// tensor with per-sample lengths and an optional frame mask, or (batch, features) rows.
#pragma once

#include "emofuse/config.hpp"
#include "emofuse/core/error.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace emofuse {

/// Utterance-level features: one row per sample, (batch, features).
template <class T>
using features = xt::xtensor<T, 2>;

/// A batch of variable-length sequences of one modality.
///
/// Frame t of sample b is valid when t < length(b) and, if a frame mask is set, when
/// mask(b, t) is non-zero. Padding frames are never read by emofuse stages, so their
/// values do not matter.
template <class T>
class sequence {
public:
    using value_type = T;

    sequence() = default;

    /// Every sample uses all `time` steps.
    explicit sequence(xt::xtensor<T, 3> values)
        : values_(std::move(values)), lengths_(values_.shape(0), values_.shape(1)) {}

    /// Sample b uses its first lengths[b] steps.
    sequence(xt::xtensor<T, 3> values, std::vector<std::size_t> lengths)
        : values_(std::move(values)), lengths_(std::move(lengths)) {
        check_size("sequence", "number of lengths (one per sample)", values_.shape(0),
                   lengths_.size());
        for (std::size_t b = 0; b < lengths_.size(); ++b) {
            if (lengths_[b] > values_.shape(1)) {
                throw shape_error(detail::concat_message("sequence: length of sample ", b,
                                                         ": expected at most ", values_.shape(1),
                                                         " (time steps), got ", lengths_[b]));
            }
        }
    }

    /// Lengths plus a (batch, time) mask of valid frames, for sequences with holes
    /// (dropped frames).
    sequence(xt::xtensor<T, 3> values, std::vector<std::size_t> lengths,
             xt::xtensor<std::uint8_t, 2> frame_mask)
        : sequence(std::move(values), std::move(lengths)) {
        if (frame_mask.shape(0) != values_.shape(0) || frame_mask.shape(1) != values_.shape(1)) {
            throw shape_error(detail::concat_message(
                "sequence: frame mask shape: expected (", values_.shape(0), ", ", values_.shape(1),
                "), got (", frame_mask.shape(0), ", ", frame_mask.shape(1), ")"));
        }
        mask_ = std::move(frame_mask);
    }

    [[nodiscard]] std::size_t batch_size() const { return values_.shape(0); }
    [[nodiscard]] std::size_t max_time() const { return values_.shape(1); }
    [[nodiscard]] std::size_t feature_size() const { return values_.shape(2); }
    [[nodiscard]] std::size_t length(std::size_t sample) const { return lengths_[sample]; }
    [[nodiscard]] const std::vector<std::size_t>& lengths() const { return lengths_; }
    [[nodiscard]] bool has_frame_mask() const { return mask_.size() != 0; }
    [[nodiscard]] const xt::xtensor<std::uint8_t, 2>& frame_mask() const { return mask_; }

    [[nodiscard]] bool valid(std::size_t sample, std::size_t step) const {
        return step < lengths_[sample] && (!has_frame_mask() || mask_(sample, step) != 0);
    }

    [[nodiscard]] const xt::xtensor<T, 3>& values() const { return values_; }
    [[nodiscard]] xt::xtensor<T, 3>& values() { return values_; }

    /// Pointer to the feature vector of one frame.
    [[nodiscard]] const T* frame(std::size_t sample, std::size_t step) const {
        return values_.data() + (sample * max_time() + step) * feature_size();
    }

private:
    xt::xtensor<T, 3> values_;
    std::vector<std::size_t> lengths_;
    xt::xtensor<std::uint8_t, 2> mask_;
};

template <class T>
inline constexpr bool is_sequence_v = false;
template <class T>
inline constexpr bool is_sequence_v<sequence<T>> = true;

template <class T>
inline constexpr bool is_features_v = false;
template <class T>
inline constexpr bool is_features_v<xt::xtensor<T, 2>> = true;

} // namespace emofuse
