// emofuse/kernels/linear.hpp — y = x·Wᵀ + b with PyTorch's (out, in) weight layout.
#pragma once

#include <emofuse/kernels/epilogue.hpp>
#include <emofuse/kernels/gemm.hpp>
#include <emofuse/kernels/packed_operand.hpp>
#include <emofuse/kernels/workspace.hpp>

#include <cstddef>

namespace emofuse::kernels {

/// Scalar reference: y[r, o] = act(Σ_i x[r, i]·w[o, i] + b[o]) for r < rows, o < out.
/// `x` is (rows, in) row-major, `w` is (out, in) row-major, `bias` may be null, `y` is
/// (rows, out) row-major and must not alias `x` or `w`.
template <class T>
void linear_reference(const T* x, std::size_t rows, std::size_t in, const T* w, const T* bias,
                      std::size_t out, T* y, epilogue act = epilogue::none) {
    for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t o = 0; o < out; ++o) {
            T sum = bias ? bias[o] : T(0);
            for (std::size_t i = 0; i < in; ++i) {
                sum += x[r * in + i] * w[o * in + i];
            }
            y[r * out + o] = detail::apply_epilogue_scalar<T>(sum, T(0), nullptr, nullptr, act);
        }
    }
}

/// Fast path with the same contract as linear_reference: one packed GEMM (x·Wᵀ) with the
/// bias and activation fused into its store; a single row runs as a matrix-vector product.
/// Throws value_error for a null x, w or y with non-zero sizes.
template <class T>
void linear(const T* x, std::size_t rows, std::size_t in, const T* w, const T* bias,
            std::size_t out, T* y, epilogue act = epilogue::none) {
    gemm(transpose::no, transpose::yes, rows, out, in, T(1), x, in, w, in, T(0), y, out,
         fused_epilogue<T>{bias, act}, thread_workspace());
}

/// linear with explicit strides (x rows `ldx` apart, y rows `ldy` apart) and scratch.
template <class T>
void linear(const T* x, std::size_t ldx, std::size_t rows, std::size_t in, const T* w,
            const T* bias, std::size_t out, T* y, std::size_t ldy, epilogue act, workspace& ws) {
    gemm(transpose::no, transpose::yes, rows, out, in, T(1), x, ldx, w, in, T(0), y, ldy,
         fused_epilogue<T>{bias, act}, ws);
}

/// linear with a weight packed once (packed_operand::from_linear_weight(w, out, in)): the
/// per-call transposing pack of W disappears. x is (rows, weight.depth()), y is
/// (rows, weight.columns()).
template <class T>
void linear(const T* x, std::size_t rows, const packed_operand<T>& weight, const T* bias, T* y,
            epilogue act = epilogue::none, workspace& ws = thread_workspace()) {
    gemm(transpose::no, rows, T(1), x, weight.depth(), weight, T(0), y, weight.columns(),
         fused_epilogue<T>{bias, act}, ws);
}

} // namespace emofuse::kernels
