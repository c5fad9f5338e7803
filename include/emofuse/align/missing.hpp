// emofuse/align/missing.hpp — missing-modality simulation: seeded frame drop and whole-
// modality drop with MMSA's rule (keep when U > rate), reproducible across platforms.
//
// The generator is numpy's legacy one, reproduced exactly: std::mt19937 (whose output the
// C++ standard fixes) seeded as np.random.seed(seed) seeds MT19937, and each uniform draw is
// numpy's random_sample: ((a >> 5)·2^26 + (b >> 6)) / 2^53 from two 32-bit outputs. So
// frame_drop_mask(..., seed) equals MMSA's `np.random.seed(seed);
// (np.random.uniform(size=(B, T)) > rate) * input_mask` bit for bit.
#pragma once

#include "emofuse/config.hpp"
#include "emofuse/core/error.hpp"
#include "emofuse/core/sequence.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace emofuse::align {

/// numpy's legacy RandomState (MT19937) uniform stream.
class numpy_legacy_uniform {
public:
    explicit numpy_legacy_uniform(std::uint32_t seed) : engine_(seed) {}

    /// Next draw in [0, 1), identical to np.random.random_sample() / uniform().
    double operator()() {
        const std::uint32_t a = static_cast<std::uint32_t>(engine_()) >> 5;
        const std::uint32_t b = static_cast<std::uint32_t>(engine_()) >> 6;
        return (static_cast<double>(a) * 67108864.0 + static_cast<double>(b)) / 9007199254740992.0;
    }

private:
    std::mt19937 engine_;
};

namespace detail {

inline void check_rate(const char* stage, double rate) {
    if (!(rate >= 0 && rate <= 1)) {
        throw value_error(emofuse::detail::concat_message(
            stage, ": missing rate: expected a value in [0, 1], got ", rate));
    }
}

} // namespace detail

/// (batch, time) mask of kept frames: 1 where t < lengths[b] and U > rate, U drawn in
/// row-major (batch, time) order from numpy_legacy_uniform(seed). With `keep_ends`, the
/// first and last valid frames are always kept (MMSA keeps BERT's [CLS] and [SEP] tokens).
inline xt::xtensor<std::uint8_t, 2> frame_drop_mask(const std::vector<std::size_t>& lengths,
                                                    std::size_t time, double rate,
                                                    std::uint32_t seed, bool keep_ends = false) {
    detail::check_rate("frame_drop_mask", rate);
    numpy_legacy_uniform uniform(seed);
    xt::xtensor<std::uint8_t, 2> mask = xt::zeros<std::uint8_t>({lengths.size(), time});
    for (std::size_t b = 0; b < lengths.size(); ++b) {
        if (lengths[b] > time) {
            throw shape_error(emofuse::detail::concat_message("frame_drop_mask: length of sample ",
                                                              b, ": expected at most ", time,
                                                              ", got ", lengths[b]));
        }
        for (std::size_t t = 0; t < time; ++t) {
            const bool keep = uniform() > rate; // draw for every cell, as numpy does
            mask(b, t) = static_cast<std::uint8_t>(keep && t < lengths[b]);
        }
        if (keep_ends && lengths[b] > 0) {
            mask(b, 0) = 1;
            mask(b, lengths[b] - 1) = 1;
        }
    }
    return mask;
}

/// (batch, modalities) mask of kept modalities: 1 where U > rate, U drawn in row-major
/// order from numpy_legacy_uniform(seed). With `keep_one`, a sample that lost every
/// modality keeps the one with the largest draw (so no sample is left empty).
inline xt::xtensor<std::uint8_t, 2> modality_drop_mask(std::size_t batch, std::size_t modalities,
                                                       double rate, std::uint32_t seed,
                                                       bool keep_one = false) {
    detail::check_rate("modality_drop_mask", rate);
    numpy_legacy_uniform uniform(seed);
    xt::xtensor<std::uint8_t, 2> mask = xt::zeros<std::uint8_t>({batch, modalities});
    for (std::size_t b = 0; b < batch; ++b) {
        std::size_t best = 0;
        double best_u = -1;
        bool any = false;
        for (std::size_t m = 0; m < modalities; ++m) {
            const double u = uniform();
            mask(b, m) = static_cast<std::uint8_t>(u > rate);
            any = any || u > rate;
            if (u > best_u) {
                best_u = u;
                best = m;
            }
        }
        if (keep_one && !any && modalities > 0) {
            mask(b, best) = 1;
        }
    }
    return mask;
}

/// Zeroes the dropped frames: out[b, t, :] = mask[b, t] · x[b, t, :] (MMSA's audio/vision
/// form).
template <class T>
xt::xtensor<T, 3> apply_frame_mask(const xt::xtensor<T, 3>& x,
                                   const xt::xtensor<std::uint8_t, 2>& mask) {
    if (mask.shape(0) != x.shape(0) || mask.shape(1) != x.shape(1)) {
        throw shape_error(emofuse::detail::concat_message(
            "apply_frame_mask: mask shape: expected (", x.shape(0), ", ", x.shape(1), "), got (",
            mask.shape(0), ", ", mask.shape(1), ")"));
    }
    xt::xtensor<T, 3> out = x;
    const std::size_t d = x.shape(2);
    for (std::size_t b = 0; b < x.shape(0); ++b) {
        for (std::size_t t = 0; t < x.shape(1); ++t) {
            if (mask(b, t) == 0) {
                T* row = out.data() + (b * x.shape(1) + t) * d;
                std::fill(row, row + d, T(0));
            }
        }
    }
    return out;
}

/// sequence<T> form: the dropped frames are zeroed and recorded in the frame mask (combined
/// with an existing one), so mask-aware stages skip them.
template <class T>
sequence<T> drop_frames(const sequence<T>& seq, double rate, std::uint32_t seed) {
    auto mask = frame_drop_mask(seq.lengths(), seq.max_time(), rate, seed);
    if (seq.has_frame_mask()) {
        for (std::size_t i = 0; i < mask.size(); ++i) {
            mask.data()[i] =
                static_cast<std::uint8_t>(mask.data()[i] && seq.frame_mask().data()[i]);
        }
    }
    auto values = apply_frame_mask(seq.values(), mask);
    return sequence<T>(std::move(values), seq.lengths(), std::move(mask));
}

} // namespace emofuse::align
