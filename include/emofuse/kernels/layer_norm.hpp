// emofuse/kernels/layer_norm.hpp — layer normalisation over the last dimension with an
// optional affine transform (torch.nn.LayerNorm semantics: biased variance, eps inside sqrt).
#pragma once

#include <emofuse/config.hpp>
#include <emofuse/kernels/operand.hpp>
#include <emofuse/kernels/reduce.hpp>
#include <emofuse/kernels/simd.hpp>
#include <emofuse/platform/prefetch.hpp>

#include <cmath>
#include <cstddef>

namespace emofuse::kernels {

/// Scalar reference: for each row of `cols` values, mean μ and biased variance σ² =
/// Σ(x-μ)²/cols (two passes), y = (x - μ)/√(σ² + eps)·gamma + beta. `gamma`/`beta` may be
/// null (weight 1 / bias 0). x rows are `ldx` apart, y rows `ldy` apart; y may be x.
template <class T>
void layer_norm_reference(const T* x, std::size_t rows, std::size_t cols, std::size_t ldx,
                          const T* gamma, const T* beta, T eps, T* y, std::size_t ldy) {
    for (std::size_t r = 0; r < rows; ++r) {
        const T* in = x + r * ldx;
        T* out = y + r * ldy;
        T mean(0);
        for (std::size_t j = 0; j < cols; ++j) {
            mean += in[j];
        }
        mean /= static_cast<T>(cols);
        T var(0);
        for (std::size_t j = 0; j < cols; ++j) {
            var += (in[j] - mean) * (in[j] - mean);
        }
        var /= static_cast<T>(cols);
        const T inv_std = T(1) / std::sqrt(var + eps);
        for (std::size_t j = 0; j < cols; ++j) {
            T v = (in[j] - mean) * inv_std;
            if (gamma) {
                v *= gamma[j];
            }
            if (beta) {
                v += beta[j];
            }
            out[j] = v;
        }
    }
}

namespace detail {

/// Pass 3: out = (in - mean)·inv_std·gamma + beta, specialised on which affine parts exist
/// so the loop carries no branches. Prefetches a later input row (`upcoming`) for reading and
/// a later output row (`upcoming_out`) for writing (both may be null), so the memory traffic
/// of later rows overlaps this row's arithmetic.
template <class T, class Arch, bool HasGamma, bool HasBeta>
void layer_norm_affine(const T* in, std::size_t cols, T mean, T inv_std, const T* gamma,
                       const T* beta, T* out, const T* upcoming, const T* upcoming_out) {
    using batch = xsimd::batch<T, Arch>;
    constexpr std::size_t lanes = batch::size;
    constexpr std::size_t line = 64 / sizeof(T);
    const batch mean_v(mean), inv_v(inv_std);
    auto normalise = [&](batch v, batch g, batch b) {
        v = (v - mean_v) * inv_v;
        if constexpr (HasGamma && HasBeta) {
            return xsimd::fma(v, g, b);
        } else if constexpr (HasGamma) {
            return v * g;
        } else if constexpr (HasBeta) {
            return v + b;
        } else {
            return v;
        }
    };
    const batch one(T(1)), zero(T(0));
    std::size_t j = 0;
    std::size_t next_prefetch = 0;
    for (; j + lanes <= cols; j += lanes) {
        if (upcoming && next_prefetch <= j) {
            prefetch_for_read(upcoming + next_prefetch);
            prefetch_for_write(upcoming_out + next_prefetch);
            next_prefetch += line;
        }
        const batch g = HasGamma ? batch::load_unaligned(gamma + j) : one;
        const batch b = HasBeta ? batch::load_unaligned(beta + j) : zero;
        normalise(batch::load_unaligned(in + j), g, b).store_unaligned(out + j);
    }
    if (j < cols) {
        const std::size_t tail = cols - j;
        const batch g = HasGamma ? load_partial<T, Arch>(gamma + j, tail, T(1)) : one;
        const batch b = HasBeta ? load_partial<T, Arch>(beta + j, tail, T(0)) : zero;
        store_partial(normalise(load_partial<T, Arch>(in + j, tail, mean), g, b), out + j, tail);
    }
}

template <class T, class Arch>
void layer_norm_row(const T* in, std::size_t cols, const T* gamma, const T* beta, T eps, T* out,
                    const T* upcoming, const T* upcoming_out) {
    using batch = xsimd::batch<T, Arch>;
    // Pass 1: mean. Pass 2: centred sum of squares (no E[x²] - E[x]² cancellation). Both run
    // four accumulator chains so the add latency does not bound the loop.
    const T mean =
        horizontal_sum(accumulate4<T, Arch>(
            cols, [&](batch acc, std::size_t j) { return acc + batch::load_unaligned(in + j); },
            [&](batch acc, std::size_t j, std::size_t count) {
                return acc + load_partial<T, Arch>(in + j, count, T(0));
            })) /
        static_cast<T>(cols);
    const batch mean_v(mean);
    const T var = horizontal_sum(accumulate4<T, Arch>(
                      cols,
                      [&](batch acc, std::size_t j) {
                          const batch d = batch::load_unaligned(in + j) - mean_v;
                          return xsimd::fma(d, d, acc);
                      },
                      [&](batch acc, std::size_t j, std::size_t count) {
                          // Padding lanes hold the mean: their deviation is exactly 0.
                          const batch d = load_partial<T, Arch>(in + j, count, mean) - mean_v;
                          return xsimd::fma(d, d, acc);
                      })) /
                  static_cast<T>(cols);
    const T inv_std = T(1) / std::sqrt(var + eps);
    if (gamma && beta) {
        layer_norm_affine<T, Arch, true, true>(in, cols, mean, inv_std, gamma, beta, out, upcoming,
                                               upcoming_out);
    } else if (gamma) {
        layer_norm_affine<T, Arch, true, false>(in, cols, mean, inv_std, gamma, beta, out, upcoming,
                                                upcoming_out);
    } else if (beta) {
        layer_norm_affine<T, Arch, false, true>(in, cols, mean, inv_std, gamma, beta, out, upcoming,
                                                upcoming_out);
    } else {
        layer_norm_affine<T, Arch, false, false>(in, cols, mean, inv_std, gamma, beta, out,
                                                 upcoming, upcoming_out);
    }
}

} // namespace detail

/// Layer norm, same contract as layer_norm_reference. Throws shape_error for leading
/// dimensions smaller than `cols`, value_error for null x/y with non-empty rows or eps < 0.
template <class T>
void layer_norm(const T* x, std::size_t rows, std::size_t cols, std::size_t ldx, const T* gamma,
                const T* beta, T eps, T* y, std::size_t ldy) {
    if (!(eps >= T(0))) {
        throw value_error(emofuse::detail::concat_message(
            "layer_norm: eps: expected a non-negative number, got ", eps));
    }
    if (rows == 0 || cols == 0) {
        return;
    }
    detail::check_pointer("layer_norm", "x", x);
    detail::check_pointer("layer_norm", "y", y);
    detail::check_leading_dimension("layer_norm", "x", ldx, cols);
    detail::check_leading_dimension("layer_norm", "y", ldy, cols);
    // At least two rows ahead: one row's work is shorter than a memory round trip.
    const std::size_t ahead = prefetch_rows_ahead(cols * sizeof(T), 2);
    for (std::size_t r = 0; r < rows; ++r) {
        const bool has_ahead = r + ahead < rows;
        detail::layer_norm_row<T, simd_arch>(x + r * ldx, cols, gamma, beta, eps, y + r * ldy,
                                             has_ahead ? x + (r + ahead) * ldx : nullptr,
                                             has_ahead ? y + (r + ahead) * ldy : nullptr);
    }
}

} // namespace emofuse::kernels
