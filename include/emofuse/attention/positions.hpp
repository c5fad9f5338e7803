// emofuse/attention/positions.hpp — fairseq-layout sinusoidal positions (as MulT uses them) and
// MulT's input embedding √d·x + positions.
#pragma once

#include "emofuse/core/error.hpp"

#include <cmath>
#include <cstddef>
#include <vector>

namespace emofuse::attention {

/// How MulT/fairseq positions treat padding.
struct position_options {
    /// fairseq's padding index (MulT: 0). Positions count from padding_index + 1.
    std::size_t padding_index = 0;
    /// MulT's make_positions keeps the padding index for frames whose first feature equals
    /// padding_index exactly, and row `padding_index` of the table is zero, so those frames get
    /// no position. Off by default: every frame t gets position padding_index + 1 + t.
    bool zero_position_for_padding_frames = false;
};

/// The fairseq table row for `position`: [sin(p·f_0..f_{h−1}), cos(p·f_0..f_{h−1}), (0 if dim
/// is odd)] with h = dim/2 and f_i = exp(−i·ln(10000)/(h−1)); computed in double. Throws
/// value_error for dim < 4 (fairseq divides by h − 1 = 0 there).
template <class T>
void sinusoidal_position(std::size_t position, std::size_t dim, T* out) {
    if (dim < 4) {
        throw value_error(emofuse::detail::concat_message(
            "attention::sinusoidal_position: embedding size: expected at least 4 (fairseq's "
            "table divides by dim/2 − 1), got ",
            dim));
    }
    const std::size_t half = dim / 2;
    const double step = std::log(10000.0) / static_cast<double>(half - 1);
    for (std::size_t i = 0; i < half; ++i) {
        const double angle =
            static_cast<double>(position) * std::exp(-static_cast<double>(i) * step);
        out[i] = static_cast<T>(std::sin(angle));
        out[half + i] = static_cast<T>(std::cos(angle));
    }
    if (dim % 2 == 1) {
        out[dim - 1] = T(0);
    }
}

/// MulT's encoder input: out = scale·x + position(t) for `batch` samples of `time` frames of
/// `dim` features, batch-first and contiguous (out may equal x). Frame t has position
/// padding_index + 1 + t; with zero_position_for_padding_frames a frame whose first feature is
/// exactly padding_index gets none.
template <class T>
void embed_with_positions(const T* x, std::size_t batch, std::size_t time, std::size_t dim, T scale,
                          const position_options& options, T* out) {
    std::vector<T> table(time * dim);
    for (std::size_t t = 0; t < time; ++t) {
        sinusoidal_position(options.padding_index + 1 + t, dim, table.data() + t * dim);
    }
    const T padding_value = static_cast<T>(options.padding_index);
    for (std::size_t b = 0; b < batch; ++b) {
        for (std::size_t t = 0; t < time; ++t) {
            const T* in = x + (b * time + t) * dim;
            T* o = out + (b * time + t) * dim;
            const bool no_position =
                options.zero_position_for_padding_frames && dim > 0 && in[0] == padding_value;
            const T* pos = table.data() + t * dim;
            for (std::size_t c = 0; c < dim; ++c) {
                o[c] = scale * in[c] + (no_position ? T(0) : pos[c]);
            }
        }
    }
}

} // namespace emofuse::attention
