// emofuse/kernels/softmax.hpp — numerically stable row softmax, and the online (streaming)
// softmax state that attention uses to fold score blocks without storing the score matrix.
#pragma once

#include <emofuse/config.hpp>
#include <emofuse/kernels/operand.hpp>
#include <emofuse/kernels/reduce.hpp>
#include <emofuse/kernels/simd.hpp>

#include <cmath>
#include <cstddef>
#include <limits>

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
        const batch e0 = xsimd::exp(batch::load_unaligned(in + j) - s);
        const batch e1 = xsimd::exp(batch::load_unaligned(in + j + lanes) - s);
        e0.store_unaligned(out + j);
        e1.store_unaligned(out + j + lanes);
        acc0 += e0;
        acc1 += e1;
    }
    for (; j + lanes <= n; j += lanes) {
        const batch e = xsimd::exp(batch::load_unaligned(in + j) - s);
        e.store_unaligned(out + j);
        acc0 += e;
    }
    if (j < n) {
        // Padding lanes hold -inf, whose exp is exactly 0: they add nothing to the sum.
        const batch e = xsimd::exp(
            load_partial<T, Arch>(in + j, n - j, -std::numeric_limits<T>::infinity()) - s);
        store_partial(e, out + j, n - j);
        acc1 += e;
    }
    return horizontal_sum(acc0 + acc1);
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
    for (std::size_t r = 0; r < rows; ++r) {
        const T* in = x + r * ldx;
        T* out = y + r * ldy;
        const T row_max = max(in, cols);
        if (row_max == -std::numeric_limits<T>::infinity()) {
            for (std::size_t j = 0; j < cols; ++j) {
                out[j] = T(0);
            }
            continue;
        }
        const bool has_next = r + 1 < rows;
        const T total = detail::exp_shifted_sum<T, simd_arch>(
            in, row_max, out, cols, has_next ? x + (r + 1) * ldx : nullptr, cols,
            has_next ? y + (r + 1) * ldy : nullptr);
        scale(T(1) / total, out, out, cols);
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
    const T block_max = max(scores, n);
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
