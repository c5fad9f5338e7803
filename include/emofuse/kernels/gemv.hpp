// emofuse/kernels/gemv.hpp — matrix-vector product y = act(alpha·op(A)·x + beta·y + bias).
#pragma once

#include <emofuse/config.hpp>
#include <emofuse/kernels/elementwise.hpp>
#include <emofuse/kernels/epilogue.hpp>
#include <emofuse/kernels/operand.hpp>
#include <emofuse/kernels/simd.hpp>

#include <cstddef>

namespace emofuse::kernels {

/// Scalar reference of gemv. A is (rows, cols) row-major with leading dimension `lda`;
/// op(A) is A or Aᵀ. y has op(A)'s row count and is not read when beta == 0;
/// `post.column_bias` (if set) has one value per element of y.
template <class T>
void gemv_reference(transpose trans, std::size_t rows, std::size_t cols, T alpha, const T* a,
                    std::size_t lda, const T* x, T beta, T* y, fused_epilogue<T> post = {}) {
    const std::size_t out = trans == transpose::no ? rows : cols;
    const std::size_t inner = trans == transpose::no ? cols : rows;
    for (std::size_t o = 0; o < out; ++o) {
        T sum(0);
        for (std::size_t i = 0; i < inner; ++i) {
            const T aij = trans == transpose::no ? a[o * lda + i] : a[i * lda + o];
            sum += aij * x[i];
        }
        y[o] = detail::apply_epilogue_scalar(alpha * sum, beta, y + o,
                                             post.column_bias ? post.column_bias + o : nullptr,
                                             post.activation);
    }
}

namespace detail {

template <class T, class Arch>
void gemv_rows(std::size_t rows, std::size_t cols, T alpha, const T* EMOFUSE_RESTRICT a,
               std::size_t lda, const T* EMOFUSE_RESTRICT x, T beta, T* EMOFUSE_RESTRICT y,
               fused_epilogue<T> post) {
    using batch = xsimd::batch<T, Arch>;
    constexpr std::size_t lanes = batch::size;
    constexpr std::size_t block = 4; // rows sharing each load of x
    const std::size_t vec_end = cols - cols % lanes;
    std::size_t r = 0;
    for (; r + block <= rows; r += block) {
        batch acc[block];
        for (auto& v : acc) {
            v = batch(T(0));
        }
        std::size_t j = 0;
        for (; j < vec_end; j += lanes) {
            const batch xv = batch::load_unaligned(x + j);
#pragma GCC unroll 4
            for (std::size_t q = 0; q < block; ++q) {
                acc[q] = xsimd::fma(batch::load_unaligned(a + (r + q) * lda + j), xv, acc[q]);
            }
        }
        for (std::size_t q = 0; q < block; ++q) {
            T sum = horizontal_sum(acc[q]);
            for (std::size_t jj = j; jj < cols; ++jj) {
                sum += a[(r + q) * lda + jj] * x[jj];
            }
            const std::size_t o = r + q;
            y[o] = apply_epilogue_scalar(alpha * sum, beta, y + o,
                                         post.column_bias ? post.column_bias + o : nullptr,
                                         post.activation);
        }
    }
    for (; r < rows; ++r) {
        batch acc0(T(0)), acc1(T(0));
        std::size_t j = 0;
        for (; j + 2 * lanes <= cols; j += 2 * lanes) {
            acc0 = xsimd::fma(batch::load_unaligned(a + r * lda + j), batch::load_unaligned(x + j),
                              acc0);
            acc1 = xsimd::fma(batch::load_unaligned(a + r * lda + j + lanes),
                              batch::load_unaligned(x + j + lanes), acc1);
        }
        for (; j < vec_end; j += lanes) {
            acc0 = xsimd::fma(batch::load_unaligned(a + r * lda + j), batch::load_unaligned(x + j),
                              acc0);
        }
        T sum = horizontal_sum(acc0 + acc1);
        for (; j < cols; ++j) {
            sum += a[r * lda + j] * x[j];
        }
        y[r] = apply_epilogue_scalar(alpha * sum, beta, y + r,
                                     post.column_bias ? post.column_bias + r : nullptr,
                                     post.activation);
    }
}

template <class T, class Arch>
void gemv_columns(std::size_t rows, std::size_t cols, T alpha, const T* EMOFUSE_RESTRICT a,
                  std::size_t lda, const T* EMOFUSE_RESTRICT x, T beta, T* EMOFUSE_RESTRICT y,
                  fused_epilogue<T> post) {
    using batch = xsimd::batch<T, Arch>;
    constexpr std::size_t lanes = batch::size;
    constexpr std::size_t chunk = 4; // vectors of y kept in registers over the whole column
    const batch zero(T(0));
    auto finish = [&](batch acc, std::size_t o) {
        batch v = batch(alpha) * acc;
        if (beta != T(0)) {
            v = xsimd::fma(batch(beta), batch::load_unaligned(y + o), v);
        }
        if (post.column_bias) {
            v += batch::load_unaligned(post.column_bias + o);
        }
        if (post.activation == epilogue::relu) {
            v = xsimd::select(v < zero, zero, v);
        } else if (post.activation == epilogue::gelu) {
            v = gelu_batch(v);
        }
        v.store_unaligned(y + o);
    };
    std::size_t o = 0;
    for (; o + chunk * lanes <= cols; o += chunk * lanes) {
        batch acc[chunk];
        for (auto& v : acc) {
            v = zero;
        }
        for (std::size_t i = 0; i < rows; ++i) {
            const batch xi(x[i]);
#pragma GCC unroll 4
            for (std::size_t q = 0; q < chunk; ++q) {
                acc[q] = xsimd::fma(xi, batch::load_unaligned(a + i * lda + o + q * lanes), acc[q]);
            }
        }
        for (std::size_t q = 0; q < chunk; ++q) {
            finish(acc[q], o + q * lanes);
        }
    }
    for (; o + lanes <= cols; o += lanes) {
        batch acc = zero;
        for (std::size_t i = 0; i < rows; ++i) {
            acc = xsimd::fma(batch(x[i]), batch::load_unaligned(a + i * lda + o), acc);
        }
        finish(acc, o);
    }
    for (; o < cols; ++o) {
        T sum(0);
        for (std::size_t i = 0; i < rows; ++i) {
            sum += a[i * lda + o] * x[i];
        }
        y[o] = apply_epilogue_scalar(alpha * sum, beta, y + o,
                                     post.column_bias ? post.column_bias + o : nullptr,
                                     post.activation);
    }
}

} // namespace detail

/// y = act(alpha·op(A)·x + beta·y + bias), same contract as gemv_reference. y must not alias
/// A or x. Throws shape_error if lda < cols (with rows > 0), value_error for null operands.
template <class T>
void gemv(transpose trans, std::size_t rows, std::size_t cols, T alpha, const T* a, std::size_t lda,
          const T* x, T beta, T* y, fused_epilogue<T> post = {}) {
    const std::size_t out = trans == transpose::no ? rows : cols;
    const std::size_t inner = trans == transpose::no ? cols : rows;
    if (out == 0) {
        return;
    }
    detail::check_pointer("gemv", "y", y);
    if (inner > 0) {
        detail::check_pointer("gemv", "A", a);
        detail::check_pointer("gemv", "x", x);
        detail::check_leading_dimension("gemv", "A", lda, cols);
    }
    if (trans == transpose::no) {
        detail::gemv_rows<T, simd_arch>(rows, cols, alpha, a, lda, x, beta, y, post);
    } else {
        detail::gemv_columns<T, simd_arch>(rows, cols, alpha, a, lda, x, beta, y, post);
    }
}

} // namespace emofuse::kernels
