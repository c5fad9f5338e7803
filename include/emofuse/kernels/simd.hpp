// emofuse/kernels/simd.hpp — small helpers over xsimd batches for code that writes its own
// SIMD loops (the kernels, DTW's frame distance): horizontal reductions, lane numbers, and
// partial loads/stores for array tails.
#pragma once

#include <emofuse/config.hpp>

#include <cstddef>

namespace emofuse::kernels {

/// Sum of the lanes, reduced in registers. (With -Wall at -O1, GCC 12 reports a false
/// "may be used uninitialized" inside its own AVX-512 intrinsics header for xsimd's hadd.)
template <class T, class Arch>
T horizontal_sum(const xsimd::batch<T, Arch>& v) {
    return xsimd::hadd(v);
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

/// The batch {0, 1, 2, ...}: lane numbers, for masks over the lanes of a window.
template <class T, class Arch>
xsimd::batch<T, Arch> lane_index() {
    constexpr std::size_t lanes = xsimd::batch<T, Arch>::size;
    alignas(64) T index[lanes];
    for (std::size_t i = 0; i < lanes; ++i) {
        index[i] = static_cast<T>(i);
    }
    return xsimd::batch<T, Arch>::load_aligned(index);
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

} // namespace emofuse::kernels
