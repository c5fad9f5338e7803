// emofuse/kernels/softmax.hpp — numerically stable row softmax, and the online (streaming)
// softmax state that attention uses to fold score blocks without storing the score matrix.
#pragma once

#include <emofuse/config.hpp>
#include <emofuse/kernels/operand.hpp>
#include <emofuse/kernels/reduce.hpp>
#include <emofuse/kernels/simd.hpp>
#include <emofuse/platform/prefetch.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>

namespace emofuse::kernels {

// ---------------------------------------------------------------- row softmax

/// Scalar reference: for each of `rows` rows of `cols` values (x rows `ldx` apart, y rows
/// `ldy` apart), y = exp(x - max x) / Σ exp(x - max x). A row whose values are all -inf (a
/// fully masked row) becomes all zeros — torch gives NaN there; zeros keep masked attention
/// finite. A NaN anywhere in a row makes the whole row NaN. y may be x (ldy == ldx).
template <class T>
void softmax_rows_reference(const T* x, std::size_t rows, std::size_t cols, std::size_t ldx, T* y,
                            std::size_t ldy) {
    for (std::size_t r = 0; r < rows; ++r) {
        const T* in = x + r * ldx;
        T* out = y + r * ldy;
        const T row_max = max_reference(in, cols);
        if (row_max == -std::numeric_limits<T>::infinity()) {
            for (std::size_t j = 0; j < cols; ++j) {
                out[j] = T(0);
            }
            continue;
        }
        T total(0);
        for (std::size_t j = 0; j < cols; ++j) {
            out[j] = std::exp(in[j] - row_max);
            total += out[j];
        }
        const T inv = T(1) / total;
        for (std::size_t j = 0; j < cols; ++j) {
            out[j] *= inv;
        }
    }
}

namespace detail {

/// e^x for x <= 0 or NaN (all softmax needs: scores minus their maximum). Float uses a
/// Cephes-style reduction x = n·ln2 + r, |r| <= ln2/2, a degree-5 polynomial for e^r and the
/// exponent bits for 2^n (≈1 ulp); it skips the overflow handling of a general exp, which
/// softmax never needs. Below -87.34 (2^-126) the result is flushed to 0. Double uses xsimd.
template <class T, class Arch>
xsimd::batch<T, Arch> exp_nonpositive(const xsimd::batch<T, Arch>& x) {
    using batch = xsimd::batch<T, Arch>;
    if constexpr (std::is_same_v<T, float>) {
        using int_batch = xsimd::batch<std::int32_t, Arch>;
        const batch lowest(-87.3365478515625f);
        const auto underflow = x < lowest; // false for NaN: NaN flows through
        const batch v = xsimd::select(underflow, lowest, x);
        const batch shifter(12582912.0f); // 1.5·2^23: adding it rounds to an integer
        const batch t = xsimd::fma(v, batch(1.44269504088896341f), shifter);
        const batch n = t - shifter;
        batch r = xsimd::fma(n, batch(-0.693359375f), v);
        r = xsimd::fma(n, batch(2.12194440e-4f), r);
        batch p(1.9875691500e-4f);
        p = xsimd::fma(p, r, batch(1.3981999507e-3f));
        p = xsimd::fma(p, r, batch(8.3334519073e-3f));
        p = xsimd::fma(p, r, batch(4.1665795894e-2f));
        p = xsimd::fma(p, r, batch(1.6666665459e-1f));
        p = xsimd::fma(p, r, batch(5.0000001201e-1f));
        p = xsimd::fma(p, r * r, r + batch(1.0f));
        const int_batch exponent = (xsimd::bitwise_cast<int_batch>(t) -
                                    xsimd::bitwise_cast<int_batch>(shifter) + int_batch(127))
                                   << 23;
        return xsimd::select(underflow, batch(0.0f), p * xsimd::bitwise_cast<batch>(exponent));
    } else {
        return xsimd::exp(x);
    }
}

/// Largest element where NaNs may or may not win (lane maxima only): enough for softmax,
/// whose exp(x - max) turns any NaN x into a NaN row anyway. -inf for n == 0.
template <class T, class Arch>
T lane_max(const T* x, std::size_t n) {
    using batch = xsimd::batch<T, Arch>;
    constexpr std::size_t lanes = batch::size;
    const T lowest = -std::numeric_limits<T>::infinity();
    batch m0(lowest), m1(lowest), m2(lowest), m3(lowest);
    std::size_t i = 0;
    for (; i + 4 * lanes <= n; i += 4 * lanes) {
        m0 = xsimd::max(m0, batch::load_unaligned(x + i));
        m1 = xsimd::max(m1, batch::load_unaligned(x + i + lanes));
        m2 = xsimd::max(m2, batch::load_unaligned(x + i + 2 * lanes));
        m3 = xsimd::max(m3, batch::load_unaligned(x + i + 3 * lanes));
    }
    for (; i + lanes <= n; i += lanes) {
        m0 = xsimd::max(m0, batch::load_unaligned(x + i));
    }
    if (i < n) {
        // The last full window overlaps elements already seen, which max does not mind.
        m1 = xsimd::max(m1, n >= lanes ? batch::load_unaligned(x + n - lanes)
                                       : load_partial<T, Arch>(x + i, n - i, lowest));
    }
    return horizontal_max(xsimd::max(xsimd::max(m0, m1), xsimd::max(m2, m3)));
}

/// The row maximum with softmax's NaN rule: exact (NaN if any NaN) where it matters — a row
/// whose lane maximum is -inf is all -inf or holds a NaN, and only a scan tells which.
template <class T, class Arch>
T softmax_row_max(const T* x, std::size_t n) {
    const T m = lane_max<T, Arch>(x, n);
    return m == -std::numeric_limits<T>::infinity() ? max_reference(x, n) : m;
}

/// out[j] = exp(in[j] - shift) for j < n; returns Σ out[j]. out may be in. `upcoming` (may
/// be null) is the next row to be processed, `upcoming_n` its length: it is prefetched while
/// the exponentials keep the core busy, so the next row's loads overlap this row's compute.
template <class T, class Arch>
T exp_shifted_sum(const T* in, T shift, T* out, std::size_t n, const T* upcoming = nullptr,
                  std::size_t upcoming_n = 0, const T* upcoming_out = nullptr) {
    using batch = xsimd::batch<T, Arch>;
    constexpr std::size_t lanes = batch::size;
    constexpr std::size_t line = 64 / sizeof(T);
    const batch s(shift);
    batch acc0(T(0)), acc1(T(0));
    // A ragged end (n >= lanes) runs as the last full window, loaded before any store so
    // in-place rows still see their inputs; its lanes the loop already covered are masked
    // out of the sum (their stored values are recomputed identically).
    const std::size_t body_end = n - n % lanes;
    const bool overlap_tail = n >= lanes && body_end < n;
    const batch tail_in = overlap_tail ? batch::load_unaligned(in + n - lanes) : batch(T(0));
    std::size_t j = 0;
    std::size_t next_prefetch = 0;
    for (; j + 2 * lanes <= n; j += 2 * lanes) {
        // One prefetch per cache line of the next row, spread over this row's iterations.
        for (; upcoming && next_prefetch < upcoming_n &&
               next_prefetch * n <= (j + 2 * lanes) * upcoming_n;
             next_prefetch += line) {
            prefetch_for_read(upcoming + next_prefetch);
            if (upcoming_out) {
                prefetch_for_write(upcoming_out + next_prefetch);
            }
        }
        const batch e0 = exp_nonpositive<T, Arch>(batch::load_unaligned(in + j) - s);
        const batch e1 = exp_nonpositive<T, Arch>(batch::load_unaligned(in + j + lanes) - s);
        e0.store_unaligned(out + j);
        e1.store_unaligned(out + j + lanes);
        acc0 += e0;
        acc1 += e1;
    }
    for (; j + lanes <= n; j += lanes) {
        const batch e = exp_nonpositive<T, Arch>(batch::load_unaligned(in + j) - s);
        e.store_unaligned(out + j);
        acc0 += e;
    }
    if (overlap_tail) {
        const batch e = exp_nonpositive<T, Arch>(tail_in - s);
        const batch first_new(static_cast<T>(lanes - (n - body_end)));
        acc1 += xsimd::select(lane_index<T, Arch>() >= first_new, e, batch(T(0)));
        e.store_unaligned(out + n - lanes);
    } else if (j < n) {
        // Padding lanes hold -inf, whose exp is exactly 0: they add nothing to the sum.
        const batch e = exp_nonpositive<T, Arch>(
            load_partial<T, Arch>(in + j, n - j, -std::numeric_limits<T>::infinity()) - s);
        store_partial(e, out + j, n - j);
        acc1 += e;
    }
    return horizontal_sum(acc0 + acc1);
}

/// row[j] *= factor for j < n, with a ragged end handled as an overlapping last window that
/// is loaded before the body stores (so no element is scaled twice).
template <class T, class Arch>
void scale_row(T factor, T* row, std::size_t n) {
    using batch = xsimd::batch<T, Arch>;
    constexpr std::size_t lanes = batch::size;
    if (n < lanes) {
        scale(factor, row, row, n);
        return;
    }
    const batch f(factor);
    const batch tail = batch::load_unaligned(row + n - lanes);
    std::size_t j = 0;
    for (; j + lanes <= n; j += lanes) {
        (f * batch::load_unaligned(row + j)).store_unaligned(row + j);
    }
    if (j < n) {
        (f * tail).store_unaligned(row + n - lanes);
    }
}

} // namespace detail

/// Row softmax, same contract as softmax_rows_reference. Throws shape_error if a leading
/// dimension is smaller than `cols`, value_error for null pointers with non-empty rows.
template <class T>
void softmax_rows(const T* x, std::size_t rows, std::size_t cols, std::size_t ldx, T* y,
                  std::size_t ldy) {
    if (rows == 0 || cols == 0) {
        return;
    }
    detail::check_pointer("softmax_rows", "x", x);
    detail::check_pointer("softmax_rows", "y", y);
    detail::check_leading_dimension("softmax_rows", "x", ldx, cols);
    detail::check_leading_dimension("softmax_rows", "y", ldy, cols);
    const std::size_t ahead = prefetch_rows_ahead(cols * sizeof(T));
    for (std::size_t r = 0; r < rows; ++r) {
        const T* in = x + r * ldx;
        T* out = y + r * ldy;
        const T row_max = detail::softmax_row_max<T, simd_arch>(in, cols);
        if (row_max == -std::numeric_limits<T>::infinity()) {
            for (std::size_t j = 0; j < cols; ++j) {
                out[j] = T(0);
            }
            continue;
        }
        const bool has_ahead = r + ahead < rows;
        const T total = detail::exp_shifted_sum<T, simd_arch>(
            in, row_max, out, cols, has_ahead ? x + (r + ahead) * ldx : nullptr, cols,
            has_ahead ? y + (r + ahead) * ldy : nullptr);
        detail::scale_row<T, simd_arch>(T(1) / total, out, cols);
    }
}

/// Softmax of one contiguous vector (rows == 1).
template <class T>
void softmax(const T* x, T* y, std::size_t n) {
    softmax_rows(x, 1, n, n, y, n);
}

// ---------------------------------------------------------------- online softmax

/// Running state of a streaming softmax over one row of scores: the largest score seen and
/// Σ exp(score - max). Together with an accumulator row (Σ weight·value, kept relative to
/// the same max) it computes softmax(scores)·V one block of keys at a time.
template <class T>
struct online_softmax_state {
    T running_max = -std::numeric_limits<T>::infinity();
    T running_sum = T(0);
};

/// Scalar reference of online_softmax_update.
template <class T>
void online_softmax_update_reference(online_softmax_state<T>& state, T* scores, std::size_t n,
                                     T* accumulator, std::size_t dim) {
    const T block_max = max_reference(scores, n);
    const T new_max =
        (block_max > state.running_max || block_max != block_max) ? block_max : state.running_max;
    if (new_max == -std::numeric_limits<T>::infinity()) {
        for (std::size_t j = 0; j < n; ++j) {
            scores[j] = T(0); // nothing unmasked yet: all weights are zero
        }
        return;
    }
    const T rescale = std::exp(state.running_max - new_max);
    for (std::size_t d = 0; d < dim; ++d) {
        accumulator[d] *= rescale;
    }
    T block_sum(0);
    for (std::size_t j = 0; j < n; ++j) {
        scores[j] = std::exp(scores[j] - new_max);
        block_sum += scores[j];
    }
    state.running_sum = state.running_sum * rescale + block_sum;
    state.running_max = new_max;
}

/// Folds a block of n scores into the state. On return `scores` holds the block's weights
/// exp(score - running_max) (not yet normalised) and `accumulator` (dim values) has been
/// rescaled to the new running max, so the caller adds Σ_j scores[j]·V[j] to it next.
/// -inf scores (masked keys) get weight 0; a NaN score makes the state NaN.
template <class T>
void online_softmax_update(online_softmax_state<T>& state, T* scores, std::size_t n, T* accumulator,
                           std::size_t dim) {
    if (n == 0) {
        return;
    }
    detail::check_pointer("online_softmax_update", "scores", scores);
    if (dim > 0) {
        detail::check_pointer("online_softmax_update", "accumulator", accumulator);
    }
    const T block_max = max(scores, n); // exact: a NaN score makes running_max NaN
    const T new_max =
        (block_max > state.running_max || block_max != block_max) ? block_max : state.running_max;
    if (new_max == -std::numeric_limits<T>::infinity()) {
        for (std::size_t j = 0; j < n; ++j) {
            scores[j] = T(0);
        }
        return;
    }
    const T rescale = std::exp(state.running_max - new_max);
    if (rescale != T(1)) {
        scale(rescale, accumulator, accumulator, dim);
    }
    const T block_sum = detail::exp_shifted_sum<T, simd_arch>(scores, new_max, scores, n);
    state.running_sum = state.running_sum * rescale + block_sum;
    state.running_max = new_max;
}

/// Scalar reference of online_softmax_finish.
template <class T>
void online_softmax_finish_reference(const online_softmax_state<T>& state, T* accumulator,
                                     std::size_t dim) {
    const T inv = state.running_sum == T(0) ? T(0) : T(1) / state.running_sum;
    for (std::size_t d = 0; d < dim; ++d) {
        accumulator[d] = state.running_sum == T(0) ? T(0) : accumulator[d] * inv;
    }
}

/// Normalises the accumulator: accumulator /= running_sum. With no unmasked score at all
/// (running_sum == 0) the result is zeros, never NaN.
template <class T>
void online_softmax_finish(const online_softmax_state<T>& state, T* accumulator, std::size_t dim) {
    if (dim == 0) {
        return;
    }
    detail::check_pointer("online_softmax_finish", "accumulator", accumulator);
    if (state.running_sum == T(0)) {
        for (std::size_t d = 0; d < dim; ++d) {
            accumulator[d] = T(0);
        }
        return;
    }
    scale(T(1) / state.running_sum, accumulator, accumulator, dim);
}

} // namespace emofuse::kernels
