// emofuse/align/length_pool.hpp — fixed-length pooling of (batch, time, features) sequences
// to L steps, in the two forms MER toolkits use: MMSA's and MERTools'.
#pragma once

#include "emofuse/config.hpp"
#include "emofuse/core/error.hpp"

#include <algorithm>
#include <cstddef>

namespace emofuse::align {

namespace detail {

template <class T>
void check_pool_input(const char* stage, const xt::xtensor<T, 3>& x, std::size_t target) {
    if (target == 0) {
        throw value_error(
            emofuse::detail::concat_message(stage, ": target length: expected at least 1, got 0"));
    }
    if (x.shape(1) == 0) {
        throw shape_error(emofuse::detail::concat_message(
            stage, ": input time steps: expected at least 1, got 0"));
    }
}

// out[b, j] = (1/pool) Σ_{k<pool} x[b, step(j, k)], summed in T and scaled in double;
// `step` returns the input step for (j, k), or the step count for a zero step.
template <class T, class Step>
xt::xtensor<T, 3> pooled_means(const xt::xtensor<T, 3>& x, std::size_t target, std::size_t pool,
                               Step step) {
    const std::size_t batch = x.shape(0), steps = x.shape(1), d = x.shape(2);
    xt::xtensor<T, 3> out = xt::zeros<T>({batch, target, d});
    const double inv = 1.0 / static_cast<double>(pool);
    for (std::size_t b = 0; b < batch; ++b) {
        const T* sample = x.data() + b * steps * d;
        for (std::size_t j = 0; j < target; ++j) {
            T* dst = out.data() + (b * target + j) * d;
            for (std::size_t k = 0; k < pool; ++k) {
                const std::size_t t = step(j, k);
                if (t >= steps) {
                    continue; // a zero step
                }
                const T* src = sample + t * d;
                for (std::size_t f = 0; f < d; ++f) {
                    dst[f] += src[f];
                }
            }
            for (std::size_t f = 0; f < d; ++f) {
                dst[f] = static_cast<T>(static_cast<double>(dst[f]) * inv);
            }
        }
    }
    return out;
}

} // namespace detail

/// MMSA's AlignSubNet `avg_pool` on the padded tensor (its lengths are not used, as in MMSA).
///
/// With T input steps and L = target: T == L returns x; otherwise pool = ceil(T / L), the
/// input is padded to pool·L steps by repeating its last step, viewed as (pool, L) and
/// averaged over pool: out[j] = mean_k padded[k·L + j] (strided groups, not blocks).
template <class T>
xt::xtensor<T, 3> length_pool_mmsa(const xt::xtensor<T, 3>& x, std::size_t target) {
    detail::check_pool_input("length_pool_mmsa", x, target);
    const std::size_t steps = x.shape(1);
    if (steps == target) {
        return x;
    }
    const std::size_t pool = (steps + target - 1) / target;
    return detail::pooled_means(x, target, pool, [&](std::size_t j, std::size_t k) {
        return std::min(k * target + j, steps - 1); // repeat the last step
    });
}

/// MERTools' form: pool = ceil(T / L); the input gets pool·L − T zero steps in front, is
/// cut into L consecutive blocks of pool steps, and each block is averaged with the zeros
/// counted: out[j] = (1/pool) Σ_{k<pool} padded[j·pool + k]. T ≤ L gives front zero padding.
template <class T>
xt::xtensor<T, 3> length_pool_mertools(const xt::xtensor<T, 3>& x, std::size_t target) {
    detail::check_pool_input("length_pool_mertools", x, target);
    const std::size_t steps = x.shape(1);
    const std::size_t pool = (steps + target - 1) / target;
    const std::size_t front = pool * target - steps;
    return detail::pooled_means(x, target, pool, [&](std::size_t j, std::size_t k) {
        const std::size_t padded = j * pool + k;
        return padded < front ? steps : padded - front; // zeros in front
    });
}

} // namespace emofuse::align
