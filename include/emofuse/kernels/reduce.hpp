// emofuse/kernels/reduce.hpp — BLAS-1 style vector kernels: dot, axpy, scale, sum, max,
// sum of squares, and the rank-1 update (outer product).
#pragma once

#include <emofuse/config.hpp>
#include <emofuse/kernels/operand.hpp>
#include <emofuse/kernels/simd.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>

namespace emofuse::kernels {

// ---------------------------------------------------------------- scalar references

/// Σ x[i]·y[i] (0 for n == 0).
template <class T>
T dot_reference(const T* x, const T* y, std::size_t n) {
    T sum(0);
    for (std::size_t i = 0; i < n; ++i) {
        sum += x[i] * y[i];
    }
    return sum;
}

/// y[i] += alpha·x[i].
template <class T>
void axpy_reference(T alpha, const T* x, T* y, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        y[i] += alpha * x[i];
    }
}

/// y[i] = alpha·x[i] (y may be x).
template <class T>
void scale_reference(T alpha, const T* x, T* y, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        y[i] = alpha * x[i];
    }
}

/// Σ x[i] (0 for n == 0).
template <class T>
T sum_reference(const T* x, std::size_t n) {
    T sum(0);
    for (std::size_t i = 0; i < n; ++i) {
        sum += x[i];
    }
    return sum;
}

/// Σ x[i]² (0 for n == 0).
template <class T>
T sum_squares_reference(const T* x, std::size_t n) {
    T sum(0);
    for (std::size_t i = 0; i < n; ++i) {
        sum += x[i] * x[i];
    }
    return sum;
}

/// Largest element; NaN if any element is NaN; -inf for n == 0 (the identity of max).
template <class T>
T max_reference(const T* x, std::size_t n) {
    T best = -std::numeric_limits<T>::infinity();
    for (std::size_t i = 0; i < n; ++i) {
        if (x[i] != x[i]) {
            return x[i];
        }
        best = x[i] > best ? x[i] : best;
    }
    return best;
}

/// Rank-1 update A[i, j] += alpha·x[i]·y[j] for an (m, n) row-major A with leading dim lda.
template <class T>
void outer_reference(std::size_t m, std::size_t n, T alpha, const T* x, const T* y, T* a,
                     std::size_t lda) {
    for (std::size_t i = 0; i < m; ++i) {
        for (std::size_t j = 0; j < n; ++j) {
            a[i * lda + j] += alpha * x[i] * y[j];
        }
    }
}

// ---------------------------------------------------------------- SIMD kernels

namespace detail {

inline void check_span(const char* op, const char* what, const void* p, std::size_t n) {
    if (n > 0) {
        check_pointer(op, what, p);
    }
}

/// Folds n elements into one vector with four independent accumulators (hides the add
/// latency so the loop runs at load bandwidth). `step(acc, i)` folds the full vector at
/// element i into acc; `tail(acc, i, count)` folds a partial one. Accumulators are summed.
template <class T, class Arch, class Step, class Tail>
xsimd::batch<T, Arch> accumulate4(std::size_t n, Step step, Tail tail) {
    using batch = xsimd::batch<T, Arch>;
    constexpr std::size_t lanes = batch::size;
    batch acc0(T(0)), acc1(T(0)), acc2(T(0)), acc3(T(0));
    std::size_t i = 0;
    for (; i + 4 * lanes <= n; i += 4 * lanes) {
        acc0 = step(acc0, i);
        acc1 = step(acc1, i + lanes);
        acc2 = step(acc2, i + 2 * lanes);
        acc3 = step(acc3, i + 3 * lanes);
    }
    for (; i + lanes <= n; i += lanes) {
        acc0 = step(acc0, i);
    }
    if (i < n) {
        acc1 = tail(acc1, i, n - i);
    }
    return (acc0 + acc1) + (acc2 + acc3);
}

} // namespace detail

/// Σ x[i]·y[i]; same result contract as dot_reference (summation order differs).
template <class T>
T dot(const T* x, const T* y, std::size_t n) {
    using batch = xsimd::batch<T, simd_arch>;
    detail::check_span("dot", "x", x, n);
    detail::check_span("dot", "y", y, n);
    const batch acc = detail::accumulate4<T, simd_arch>(
        n,
        [&](batch a, std::size_t i) {
            return xsimd::fma(batch::load_unaligned(x + i), batch::load_unaligned(y + i), a);
        },
        [&](batch a, std::size_t i, std::size_t count) {
            return xsimd::fma(load_partial<T, simd_arch>(x + i, count, T(0)),
                              load_partial<T, simd_arch>(y + i, count, T(0)), a);
        });
    return horizontal_sum(acc);
}

/// Σ x[i].
template <class T>
T sum(const T* x, std::size_t n) {
    using batch = xsimd::batch<T, simd_arch>;
    detail::check_span("sum", "x", x, n);
    const batch acc = detail::accumulate4<T, simd_arch>(
        n, [&](batch a, std::size_t i) { return a + batch::load_unaligned(x + i); },
        [&](batch a, std::size_t i, std::size_t count) {
            return a + load_partial<T, simd_arch>(x + i, count, T(0));
        });
    return horizontal_sum(acc);
}

/// Σ x[i]².
template <class T>
T sum_squares(const T* x, std::size_t n) {
    using batch = xsimd::batch<T, simd_arch>;
    detail::check_span("sum_squares", "x", x, n);
    const batch acc = detail::accumulate4<T, simd_arch>(
        n,
        [&](batch a, std::size_t i) {
            const batch v = batch::load_unaligned(x + i);
            return xsimd::fma(v, v, a);
        },
        [&](batch a, std::size_t i, std::size_t count) {
            const batch v = load_partial<T, simd_arch>(x + i, count, T(0));
            return xsimd::fma(v, v, a);
        });
    return horizontal_sum(acc);
}

/// Largest element; NaN if any element is NaN; -inf for n == 0.
template <class T>
T max(const T* x, std::size_t n) {
    using batch = xsimd::batch<T, simd_arch>;
    using bits =
        xsimd::batch<std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>, simd_arch>;
    using bits_scalar = typename bits::value_type;
    constexpr std::size_t lanes = batch::size;
    detail::check_span("max", "x", x, n);
    // Lane-wise maxima in the FP units, and beside them, in integer ops, the largest exponent
    // field seen: only when it is all ones (a NaN or an infinity is present, rare) does the
    // exact scalar scan decide, so NaN propagation costs no FP work in the fast loop.
    constexpr bits_scalar exponent_mask =
        sizeof(T) == 4 ? bits_scalar(0x7f800000u) : bits_scalar(0x7ff0000000000000ull);
    const bits mask(exponent_mask);
    const batch lowest(-std::numeric_limits<T>::infinity());
    batch m0 = lowest, m1 = lowest, m2 = lowest, m3 = lowest;
    bits e0(bits_scalar(0)), e1(bits_scalar(0));
    auto exponent = [&](const batch& v) { return xsimd::bitwise_cast<bits>(v) & mask; };
    std::size_t i = 0;
    for (; i + 4 * lanes <= n; i += 4 * lanes) {
        const batch v0 = batch::load_unaligned(x + i), v1 = batch::load_unaligned(x + i + lanes);
        const batch v2 = batch::load_unaligned(x + i + 2 * lanes),
                    v3 = batch::load_unaligned(x + i + 3 * lanes);
        m0 = xsimd::max(m0, v0);
        m1 = xsimd::max(m1, v1);
        m2 = xsimd::max(m2, v2);
        m3 = xsimd::max(m3, v3);
        e0 = xsimd::max(e0, xsimd::max(exponent(v0), exponent(v1)));
        e1 = xsimd::max(e1, xsimd::max(exponent(v2), exponent(v3)));
    }
    for (; i + lanes <= n; i += lanes) {
        const batch v = batch::load_unaligned(x + i);
        m0 = xsimd::max(m0, v);
        e0 = xsimd::max(e0, exponent(v));
    }
    if (i < n) {
        const batch v = load_partial<T, simd_arch>(x + i, n - i, T(0));
        m1 = xsimd::max(
            m1, load_partial<T, simd_arch>(x + i, n - i, -std::numeric_limits<T>::infinity()));
        e1 = xsimd::max(e1, exponent(v));
    }
    alignas(64) bits_scalar largest_exponent[bits::size];
    xsimd::max(e0, e1).store_aligned(largest_exponent);
    for (bits_scalar e : largest_exponent) {
        if (e == exponent_mask) {
            return max_reference(x, n); // a NaN or an infinity is present
        }
    }
    return horizontal_max(xsimd::max(xsimd::max(m0, m1), xsimd::max(m2, m3)));
}

/// y[i] += alpha·x[i]; y must not partially overlap x.
template <class T>
void axpy(T alpha, const T* x, T* y, std::size_t n) {
    using batch = xsimd::batch<T, simd_arch>;
    constexpr std::size_t lanes = batch::size;
    detail::check_span("axpy", "x", x, n);
    detail::check_span("axpy", "y", y, n);
    const batch a(alpha);
    std::size_t i = 0;
    for (; i + lanes <= n; i += lanes) {
        xsimd::fma(a, batch::load_unaligned(x + i), batch::load_unaligned(y + i))
            .store_unaligned(y + i);
    }
    for (; i < n; ++i) {
        y[i] += alpha * x[i];
    }
}

/// y[i] = alpha·x[i]; y may be x (in place).
template <class T>
void scale(T alpha, const T* x, T* y, std::size_t n) {
    using batch = xsimd::batch<T, simd_arch>;
    constexpr std::size_t lanes = batch::size;
    detail::check_span("scale", "x", x, n);
    detail::check_span("scale", "y", y, n);
    const batch a(alpha);
    std::size_t i = 0;
    for (; i + lanes <= n; i += lanes) {
        (a * batch::load_unaligned(x + i)).store_unaligned(y + i);
    }
    if (i < n) {
        store_partial(a * load_partial<T, simd_arch>(x + i, n - i, T(0)), y + i, n - i);
    }
}

/// A[i, j] += alpha·x[i]·y[j] for an (m, n) row-major A with leading dimension lda >= n.
template <class T>
void outer(std::size_t m, std::size_t n, T alpha, const T* x, const T* y, T* a, std::size_t lda) {
    if (m == 0 || n == 0) {
        return;
    }
    detail::check_pointer("outer", "x", x);
    detail::check_pointer("outer", "y", y);
    detail::check_pointer("outer", "A", a);
    detail::check_leading_dimension("outer", "A", lda, n);
    for (std::size_t i = 0; i < m; ++i) {
        axpy(alpha * x[i], y, a + i * lda, n);
    }
}

} // namespace emofuse::kernels
