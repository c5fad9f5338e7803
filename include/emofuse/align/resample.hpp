// emofuse/align/resample.hpp — resampling variable-length sequences in time to a target
// length or frame rate (nearest or linear), using only each sample's valid frames.
#pragma once

#include "emofuse/config.hpp"
#include "emofuse/core/error.hpp"
#include "emofuse/core/sequence.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace emofuse::align {

/// How output steps read the input. Both follow torch.nn.functional.interpolate
/// (align_corners=False) applied to each sample's n valid frames with output size m:
/// nearest takes frame floor(i·n/m); linear reads position (i + 0.5)·n/m − 0.5 (clamped
/// at 0) and blends its two neighbours.
enum class resample_method { nearest, linear };

/// A resampled batch: values (batch, max output length, features), zero beyond each length.
template <class T>
struct resampled {
    xt::xtensor<T, 3> values;
    std::vector<std::size_t> lengths;
};

namespace detail {

template <class T>
void resample_one(const T* src, std::size_t n, std::size_t d, T* dst, std::size_t m,
                  resample_method method) {
    const double scale = static_cast<double>(n) / static_cast<double>(m);
    for (std::size_t i = 0; i < m; ++i) {
        T* out = dst + i * d;
        if (method == resample_method::nearest) {
            const auto k = std::min(
                n - 1, static_cast<std::size_t>(std::floor(static_cast<double>(i) * scale)));
            std::copy_n(src + k * d, d, out);
            continue;
        }
        const double pos = std::max(0.0, (static_cast<double>(i) + 0.5) * scale - 0.5);
        const std::size_t i0 = std::min(n - 1, static_cast<std::size_t>(pos));
        const std::size_t i1 = std::min(n - 1, i0 + 1);
        const double w1 = pos - static_cast<double>(i0);
        const double w0 = 1.0 - w1;
        const T* a = src + i0 * d;
        const T* b = src + i1 * d;
        for (std::size_t f = 0; f < d; ++f) {
            out[f] =
                static_cast<T>(w0 * static_cast<double>(a[f]) + w1 * static_cast<double>(b[f]));
        }
    }
}

template <class T>
resampled<T> resample_lengths(const xt::xtensor<T, 3>& x, const std::vector<std::size_t>& lengths,
                              const std::vector<std::size_t>& targets, resample_method method) {
    const std::size_t batch = x.shape(0), steps = x.shape(1), d = x.shape(2);
    const std::size_t max_out =
        targets.empty() ? 0 : *std::max_element(targets.begin(), targets.end());
    resampled<T> out{xt::zeros<T>({batch, max_out, d}), targets};
    for (std::size_t b = 0; b < batch; ++b) {
        if (lengths[b] == 0) {
            out.lengths[b] = 0;
            continue;
        }
        resample_one(x.data() + b * steps * d, lengths[b], d, out.values.data() + b * max_out * d,
                     targets[b], method);
    }
    return out;
}

template <class T>
void check_lengths(const char* stage, const xt::xtensor<T, 3>& x,
                   const std::vector<std::size_t>& lengths) {
    check_size(stage, "number of lengths (one per sample)", x.shape(0), lengths.size());
    for (std::size_t b = 0; b < lengths.size(); ++b) {
        if (lengths[b] > x.shape(1)) {
            throw shape_error(emofuse::detail::concat_message(stage, ": length of sample ", b,
                                                              ": expected at most ", x.shape(1),
                                                              ", got ", lengths[b]));
        }
    }
}

} // namespace detail

/// Resamples sample b's first lengths[b] frames to `target` frames (a sample of length 0
/// stays empty).
template <class T>
resampled<T> resample_to_length(const xt::xtensor<T, 3>& x, const std::vector<std::size_t>& lengths,
                                std::size_t target, resample_method method) {
    detail::check_lengths("resample_to_length", x, lengths);
    if (target == 0) {
        throw value_error("resample_to_length: target length: expected at least 1, got 0");
    }
    return detail::resample_lengths(x, lengths, std::vector<std::size_t>(lengths.size(), target),
                                    method);
}

/// Resamples from `rate_in` to `rate_out` frames per second: sample b gets
/// floor(lengths[b]·rate_out/rate_in) frames (at least 1 when it had any), read with the
/// exact ratio n/m of its own lengths.
template <class T>
resampled<T> resample_to_rate(const xt::xtensor<T, 3>& x, const std::vector<std::size_t>& lengths,
                              double rate_in, double rate_out, resample_method method) {
    detail::check_lengths("resample_to_rate", x, lengths);
    if (!(rate_in > 0) || !(rate_out > 0) || !std::isfinite(rate_in) || !std::isfinite(rate_out)) {
        throw value_error(emofuse::detail::concat_message(
            "resample_to_rate: rates: expected finite positive frames per second, got ", rate_in,
            " -> ", rate_out));
    }
    std::vector<std::size_t> targets(lengths.size());
    for (std::size_t b = 0; b < lengths.size(); ++b) {
        const double m = std::floor(static_cast<double>(lengths[b]) * rate_out / rate_in);
        targets[b] = lengths[b] == 0 ? 0 : std::max<std::size_t>(1, static_cast<std::size_t>(m));
    }
    return detail::resample_lengths(x, lengths, targets, method);
}

/// sequence<T> form: the frame mask, if any, is not carried over (resampling mixes frames).
template <class T>
sequence<T> resample_to_length(const sequence<T>& seq, std::size_t target, resample_method method) {
    auto out = resample_to_length(seq.values(), seq.lengths(), target, method);
    return sequence<T>(std::move(out.values), std::move(out.lengths));
}

template <class T>
sequence<T> resample_to_rate(const sequence<T>& seq, double rate_in, double rate_out,
                             resample_method method) {
    auto out = resample_to_rate(seq.values(), seq.lengths(), rate_in, rate_out, method);
    return sequence<T>(std::move(out.values), std::move(out.lengths));
}

} // namespace emofuse::align
