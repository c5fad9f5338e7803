// emofuse/kernels/layer_norm.hpp — layer normalisation over the last dimension with an
// optional affine transform (torch.nn.LayerNorm semantics: biased variance, eps inside sqrt).
#pragma once

#include <emofuse/config.hpp>
#include <emofuse/kernels/operand.hpp>
#include <emofuse/kernels/simd.hpp>

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

template <class T, class Arch>
void layer_norm_row(const T* in, std::size_t cols, const T* gamma, const T* beta, T eps, T* out) {
    using batch = xsimd::batch<T, Arch>;
    constexpr std::size_t lanes = batch::size;
    const std::size_t vec_end = cols - cols % lanes;
    const std::size_t tail = cols - vec_end;
    // Pass 1: mean. Pass 2: centred sum of squares (exact-ish, no E[x²]-E[x]² cancellation).
    batch s0(T(0)), s1(T(0));
    std::size_t j = 0;
    for (; j + 2 * lanes <= vec_end; j += 2 * lanes) {
        s0 += batch::load_unaligned(in + j);
        s1 += batch::load_unaligned(in + j + lanes);
    }
    for (; j < vec_end; j += lanes) {
        s0 += batch::load_unaligned(in + j);
    }
    if (tail) {
        s1 += load_partial<T, Arch>(in + vec_end, tail, T(0));
    }
    const T mean = horizontal_sum(s0 + s1) / static_cast<T>(cols);
    const batch mean_v(mean);
    batch q0(T(0)), q1(T(0));
    for (j = 0; j + 2 * lanes <= vec_end; j += 2 * lanes) {
        const batch d0 = batch::load_unaligned(in + j) - mean_v;
        const batch d1 = batch::load_unaligned(in + j + lanes) - mean_v;
        q0 = xsimd::fma(d0, d0, q0);
        q1 = xsimd::fma(d1, d1, q1);
    }
    for (; j < vec_end; j += lanes) {
        const batch d = batch::load_unaligned(in + j) - mean_v;
        q0 = xsimd::fma(d, d, q0);
    }
    if (tail) {
        const batch d = load_partial<T, Arch>(in + vec_end, tail, mean) - mean_v; // pad: d = 0
        q1 = xsimd::fma(d, d, q1);
    }
    const T var = horizontal_sum(q0 + q1) / static_cast<T>(cols);
    const T inv_std = T(1) / std::sqrt(var + eps);
    const batch inv_v(inv_std);
    auto normalise = [&](batch v, std::size_t at, std::size_t count) {
        v = (v - mean_v) * inv_v;
        if (gamma) {
            v *= count == lanes ? batch::load_unaligned(gamma + at)
                                : load_partial<T, Arch>(gamma + at, count, T(1));
        }
        if (beta) {
            v += count == lanes ? batch::load_unaligned(beta + at)
                                : load_partial<T, Arch>(beta + at, count, T(0));
        }
        return v;
    };
    for (j = 0; j < vec_end; j += lanes) {
        normalise(batch::load_unaligned(in + j), j, lanes).store_unaligned(out + j);
    }
    if (tail) {
        store_partial(normalise(load_partial<T, Arch>(in + vec_end, tail, mean), vec_end, tail),
                      out + vec_end, tail);
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
    for (std::size_t r = 0; r < rows; ++r) {
        detail::layer_norm_row<T, simd_arch>(x + r * ldx, cols, gamma, beta, eps, y + r * ldy);
    }
}

} // namespace emofuse::kernels
