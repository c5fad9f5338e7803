// emofuse/kernels/linear.hpp — y = x·Wᵀ + b with PyTorch's (out, in) weight layout.
#pragma once

#include <cstddef>

namespace emofuse::kernels {

/// What is applied to each output element after the bias.
enum class epilogue { none, relu };

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
            y[r * out + o] = (act == epilogue::relu && sum < T(0)) ? T(0) : sum;
        }
    }
}

/// Fast path with the same contract as linear_reference.
template <class T>
void linear(const T* x, std::size_t rows, std::size_t in, const T* w, const T* bias,
            std::size_t out, T* y, epilogue act = epilogue::none) {
    linear_reference(x, rows, in, w, bias, out, y, act);
}

} // namespace emofuse::kernels
