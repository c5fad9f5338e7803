// emofuse/kernels/elementwise.hpp — vectorised element-wise maps: exp, tanh, sigmoid, ReLU,
// GELU (exact erf form, like torch's default) and signed square root.
#pragma once

#include <emofuse/config.hpp>
#include <emofuse/kernels/operand.hpp>
#include <emofuse/kernels/simd.hpp>

#include <cmath>
#include <cstddef>
#include <type_traits>

namespace emofuse::kernels {

// ---------------------------------------------------------------- scalar references
// Each maps y[i] = f(x[i]) for i < n; y may be x (in place).

template <class T>
void exp_reference(const T* x, T* y, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        y[i] = std::exp(x[i]);
    }
}

template <class T>
void tanh_reference(const T* x, T* y, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        y[i] = std::tanh(x[i]);
    }
}

/// 1 / (1 + e^-x).
template <class T>
void sigmoid_reference(const T* x, T* y, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        y[i] = T(1) / (T(1) + std::exp(-x[i]));
    }
}

/// max(x, 0), keeping NaN (like torch.relu).
template <class T>
void relu_reference(const T* x, T* y, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        y[i] = x[i] < T(0) ? T(0) : x[i];
    }
}

/// x·Φ(x) = x/2·(1 + erf(x/√2)) — torch.nn.functional.gelu with approximate='none'. Computed as
/// x/2·erfc(-x/√2), the same function without the cancellation of 1 + erf for x < 0.
template <class T>
void gelu_reference(const T* x, T* y, std::size_t n) {
    const T inv_sqrt2 = T(0.70710678118654752440084436210484903928483593768847);
    for (std::size_t i = 0; i < n; ++i) {
        y[i] = T(0.5) * x[i] * std::erfc(-x[i] * inv_sqrt2);
    }
}

/// sign(x)·√|x| (the power normalisation of bilinear pooling); ±0 stays ±0.
template <class T>
void signed_sqrt_reference(const T* x, T* y, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        y[i] = std::copysign(std::sqrt(std::abs(x[i])), x[i]);
    }
}

// ---------------------------------------------------------------- SIMD kernels

namespace detail {

/// Applies a batch function to n elements; the tail runs through the same batch function on
/// a padded vector, so every element gets exactly the same arithmetic wherever it sits.
template <class T, class Arch, class F>
void map_elements(const char* op, const T* x, T* y, std::size_t n, F f) {
    using batch = xsimd::batch<T, Arch>;
    constexpr std::size_t lanes = batch::size;
    if (n == 0) {
        return;
    }
    check_pointer(op, "x", x);
    check_pointer(op, "y", y);
    std::size_t i = 0;
    for (; i + lanes <= n; i += lanes) {
        f(batch::load_unaligned(x + i)).store_unaligned(y + i);
    }
    if (i < n) {
        store_partial(f(load_partial<T, Arch>(x + i, n - i, T(0))), y + i, n - i);
    }
}

/// e^x over the whole range of T. xsimd 8's exp returns +inf slightly early (above 88.376 in
/// float, 709.44 in double, while e^x stays finite up to 88.72 / 709.78), so large arguments
/// are evaluated as e^(x-1)·e.
template <class T, class Arch>
xsimd::batch<T, Arch> exp_batch(const xsimd::batch<T, Arch>& v) {
    using batch = xsimd::batch<T, Arch>;
    const batch threshold(std::is_same_v<T, float> ? T(88) : T(709));
    const auto large = v > threshold;
    const batch r = xsimd::exp(xsimd::select(large, v - batch(T(1)), v));
    return xsimd::select(large, r * batch(T(2.71828182845904523536028747135266249775724709)), r);
}

template <class T, class Arch>
xsimd::batch<T, Arch> relu_batch(const xsimd::batch<T, Arch>& v) {
    using batch = xsimd::batch<T, Arch>;
    const batch zero(T(0));
    return xsimd::select(v < zero, zero, v);
}

template <class T, class Arch>
xsimd::batch<T, Arch> gelu_batch(const xsimd::batch<T, Arch>& v) {
    using batch = xsimd::batch<T, Arch>;
    const batch inv_sqrt2(T(0.70710678118654752440084436210484903928483593768847));
    // erfc is exactly 0 or 2 beyond ±30 in both precisions; clamping keeps xsimd's erfc away
    // from arguments where it returns NaN, and keeps NaN (the comparison is false for NaN).
    const batch limit(T(30));
    batch t = -v * inv_sqrt2;
    t = xsimd::select(xsimd::abs(t) > limit, xsimd::copysign(limit, t), t);
    return batch(T(0.5)) * v * xsimd::erfc(t);
}

template <class T, class Arch>
xsimd::batch<T, Arch> signed_sqrt_batch(const xsimd::batch<T, Arch>& v) {
    return xsimd::copysign(xsimd::sqrt(xsimd::abs(v)), v);
}

} // namespace detail

/// σ(v) = 1 / (1 + e^−v) on one SIMD batch (e^−v overflowing to +inf gives 0): public so that
/// layers fusing it into their own loops (the LSTM/GRU gates) compute what `sigmoid` does.
template <class T, class Arch>
xsimd::batch<T, Arch> sigmoid_batch(const xsimd::batch<T, Arch>& v) {
    using batch = xsimd::batch<T, Arch>;
    return batch(T(1)) / (batch(T(1)) + xsimd::exp(-v));
}

/// y = e^x (overflow gives +inf, -inf gives 0, NaN stays NaN).
template <class T>
void exp(const T* x, T* y, std::size_t n) {
    detail::map_elements<T, simd_arch>(
        "exp", x, y, n, [](const auto& v) { return detail::exp_batch<T, simd_arch>(v); });
}

/// y = tanh(x).
template <class T>
void tanh(const T* x, T* y, std::size_t n) {
    detail::map_elements<T, simd_arch>("tanh", x, y, n,
                                       [](const auto& v) { return xsimd::tanh(v); });
}

/// y = 1 / (1 + e^-x).
template <class T>
void sigmoid(const T* x, T* y, std::size_t n) {
    detail::map_elements<T, simd_arch>(
        "sigmoid", x, y, n, [](const auto& v) { return sigmoid_batch<T, simd_arch>(v); });
}

/// y = max(x, 0), NaN kept.
template <class T>
void relu(const T* x, T* y, std::size_t n) {
    detail::map_elements<T, simd_arch>(
        "relu", x, y, n, [](const auto& v) { return detail::relu_batch<T, simd_arch>(v); });
}

/// y = x·Φ(x) with the exact erf (torch's default GELU).
template <class T>
void gelu(const T* x, T* y, std::size_t n) {
    detail::map_elements<T, simd_arch>(
        "gelu", x, y, n, [](const auto& v) { return detail::gelu_batch<T, simd_arch>(v); });
}

/// y = sign(x)·√|x|.
template <class T>
void signed_sqrt(const T* x, T* y, std::size_t n) {
    detail::map_elements<T, simd_arch>("signed_sqrt", x, y, n, [](const auto& v) {
        return detail::signed_sqrt_batch<T, simd_arch>(v);
    });
}

} // namespace emofuse::kernels
