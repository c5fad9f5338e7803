// emofuse/align/soft_align.hpp — soft (CTC-style) alignment: a given T_out × T_in weight
// matrix maps a (T_in, d) sequence to (T_out, d), as MulT's CTC module does with its
// predicted alignment.
#pragma once

#include "emofuse/config.hpp"
#include "emofuse/core/error.hpp"

#include <algorithm>
#include <cstddef>

namespace emofuse::align {

namespace detail {

// out (t_out, d) = weights (t_out, t_in) · x (t_in, d); rows of x are streamed so the inner
// loop is a contiguous axpy the compiler vectorises.
template <class T>
void weighted_rows(const T* weights, std::size_t t_out, std::size_t t_in, const T* x, std::size_t d,
                   T* out) {
    for (std::size_t i = 0; i < t_out; ++i) {
        T* dst = out + i * d;
        std::fill(dst, dst + d, T(0));
        const T* w = weights + i * t_in;
        for (std::size_t k = 0; k < t_in; ++k) {
            const T wk = w[k];
            const T* src = x + k * d;
            for (std::size_t f = 0; f < d; ++f) {
                dst[f] += wk * src[f];
            }
        }
    }
}

} // namespace detail

/// One weight matrix (T_out, T_in) shared by the batch: out[b] = weights · x[b].
template <class T>
xt::xtensor<T, 3> soft_align(const xt::xtensor<T, 2>& weights, const xt::xtensor<T, 3>& x) {
    check_size("soft_align", "weights columns (input time steps)", x.shape(1), weights.shape(1));
    const std::size_t batch = x.shape(0), t_in = x.shape(1), d = x.shape(2);
    const std::size_t t_out = weights.shape(0);
    xt::xtensor<T, 3> out = xt::xtensor<T, 3>::from_shape({batch, t_out, d});
    for (std::size_t b = 0; b < batch; ++b) {
        detail::weighted_rows(weights.data(), t_out, t_in, x.data() + b * t_in * d, d,
                              out.data() + b * t_out * d);
    }
    return out;
}

/// One weight matrix per sample (batch, T_out, T_in): out[b] = weights[b] · x[b].
template <class T>
xt::xtensor<T, 3> soft_align(const xt::xtensor<T, 3>& weights, const xt::xtensor<T, 3>& x) {
    check_size("soft_align", "weights batch size", x.shape(0), weights.shape(0));
    check_size("soft_align", "weights columns (input time steps)", x.shape(1), weights.shape(2));
    const std::size_t batch = x.shape(0), t_in = x.shape(1), d = x.shape(2);
    const std::size_t t_out = weights.shape(1);
    xt::xtensor<T, 3> out = xt::xtensor<T, 3>::from_shape({batch, t_out, d});
    for (std::size_t b = 0; b < batch; ++b) {
        detail::weighted_rows(weights.data() + b * t_out * t_in, t_out, t_in,
                              x.data() + b * t_in * d, d, out.data() + b * t_out * d);
    }
    return out;
}

} // namespace emofuse::align
