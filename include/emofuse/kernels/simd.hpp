// emofuse/kernels/simd.hpp — small helpers over xsimd batches shared by the kernels
// (horizontal reductions, partial loads/stores for array tails).
#pragma once

#include <emofuse/config.hpp>

#include <cstddef>

namespace emofuse::kernels::detail {

/// Sum of the lanes, added pairwise (xsimd 8's hadd trips a GCC 12 false warning on AVX-512).
template <class T, class Arch>
T horizontal_sum(const xsimd::batch<T, Arch>& v) {
    constexpr std::size_t lanes = xsimd::batch<T, Arch>::size;
    alignas(64) T lane[lanes];
    v.store_aligned(lane);
    for (std::size_t width = lanes / 2; width > 0; width /= 2) {
        for (std::size_t i = 0; i < width; ++i) {
            lane[i] += lane[i + width];
        }
    }
    return lane[0];
}

/// Largest lane; NaN if any lane is NaN.
template <class T, class Arch>
T horizontal_max(const xsimd::batch<T, Arch>& v) {
    constexpr std::size_t lanes = xsimd::batch<T, Arch>::size;
    alignas(64) T lane[lanes];
    v.store_aligned(lane);
    T best = lane[0];
    for (std::size_t i = 1; i < lanes; ++i) {
        // !(a <= b) is true when either is NaN, so a NaN lane wins and stays.
        if (!(lane[i] <= best)) {
            best = (best != best) ? best : lane[i];
        }
    }
    return best;
}

/// Loads the first `count` (< lanes) elements of `src`, filling the other lanes with `fill`.
template <class T, class Arch>
xsimd::batch<T, Arch> load_partial(const T* src, std::size_t count, T fill) {
    constexpr std::size_t lanes = xsimd::batch<T, Arch>::size;
    alignas(64) T lane[lanes];
    for (std::size_t i = 0; i < lanes; ++i) {
        lane[i] = i < count ? src[i] : fill;
    }
    return xsimd::batch<T, Arch>::load_aligned(lane);
}

/// Stores the first `count` (< lanes) lanes of `v` to `dst`.
template <class T, class Arch>
void store_partial(const xsimd::batch<T, Arch>& v, T* dst, std::size_t count) {
    constexpr std::size_t lanes = xsimd::batch<T, Arch>::size;
    alignas(64) T lane[lanes];
    v.store_aligned(lane);
    for (std::size_t i = 0; i < count; ++i) {
        dst[i] = lane[i];
    }
}

} // namespace emofuse::kernels::detail
