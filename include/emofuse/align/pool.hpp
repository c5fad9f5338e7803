// emofuse/align/pool.hpp — mask-aware pooling over time: sequence<T> -> features<T>.
//
// Only valid frames enter (t < length and, if set, frame_mask != 0). A sample with no valid
// frame pools to zeros, the same convention as a fully masked attention row. NaN in a valid
// frame propagates to the output. Utterance-level features (no time axis) pass through
// unchanged, so a batch may mix sequences and utterance vectors.
#pragma once

#include "emofuse/core/concepts.hpp"
#include "emofuse/core/sequence.hpp"

#include <cmath>
#include <cstddef>

namespace emofuse::pool {

namespace detail {

// Visits the valid frames of every sample: start(sample), frame(sample, pointer), finish(sample,
// count).
template <class T, class Start, class Frame, class Finish>
void for_each_valid_frame(const sequence<T>& seq, Start start, Frame frame, Finish finish) {
    for (std::size_t b = 0; b < seq.batch_size(); ++b) {
        start(b);
        std::size_t count = 0;
        for (std::size_t t = 0; t < seq.length(b); ++t) {
            if (seq.valid(b, t)) {
                frame(b, seq.frame(b, t));
                ++count;
            }
        }
        finish(b, count);
    }
}

// The stage interface shared by the poolers: sequences are pooled by Pooler::pool, and
// utterance-level features have no time axis to pool, so they pass through.
template <class Pooler>
struct time_pool : modality_stage_base {
    template <class T>
    features<T> operator()(const sequence<T>& seq) const {
        return static_cast<const Pooler&>(*this).pool(seq);
    }
    template <class T>
    features<T> operator()(const features<T>& utterance) const {
        return utterance;
    }
};

} // namespace detail

/// Mean of the valid frames.
struct mean : detail::time_pool<mean> {
    template <class T>
    features<T> pool(const sequence<T>& seq) const {
        const std::size_t d = seq.feature_size();
        features<T> out = xt::zeros<T>({seq.batch_size(), d});
        detail::for_each_valid_frame(
            seq, [](std::size_t) {},
            [&](std::size_t b, const T* x) {
                T* row = &out(b, 0);
                for (std::size_t j = 0; j < d; ++j) {
                    row[j] += x[j];
                }
            },
            [&](std::size_t b, std::size_t count) {
                if (count == 0) {
                    return;
                }
                const T inv = T(1) / static_cast<T>(count);
                for (std::size_t j = 0; j < d; ++j) {
                    out(b, j) *= inv;
                }
            });
        return out;
    }
};

/// Element-wise maximum of the valid frames (NaN wins, as in torch.max).
struct max : detail::time_pool<max> {
    template <class T>
    features<T> pool(const sequence<T>& seq) const {
        const std::size_t d = seq.feature_size();
        features<T> out = xt::zeros<T>({seq.batch_size(), d});
        bool first = true;
        detail::for_each_valid_frame(
            seq, [&](std::size_t) { first = true; },
            [&](std::size_t b, const T* x) {
                T* row = &out(b, 0);
                for (std::size_t j = 0; j < d; ++j) {
                    const T v = x[j];
                    if (first || (!std::isnan(row[j]) && (std::isnan(v) || v > row[j]))) {
                        row[j] = v;
                    }
                }
                first = false;
            },
            [](std::size_t, std::size_t) {});
        return out;
    }
};

/// The last valid frame (the read-out MulT and LSTM encoders use).
struct last : detail::time_pool<last> {
    template <class T>
    features<T> pool(const sequence<T>& seq) const {
        const std::size_t d = seq.feature_size();
        features<T> out = xt::zeros<T>({seq.batch_size(), d});
        detail::for_each_valid_frame(
            seq, [](std::size_t) {},
            [&](std::size_t b, const T* x) {
                for (std::size_t j = 0; j < d; ++j) {
                    out(b, j) = x[j];
                }
            },
            [](std::size_t, std::size_t) {});
        return out;
    }
};

} // namespace emofuse::pool
