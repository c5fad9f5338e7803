// emofuse/metrics/numeric.hpp — small numeric helpers shared by the metrics: numpy's
// pairwise summation order (so averages match the reference to the last bits) and
// round-half-to-even.
#pragma once

#include <cmath>
#include <cstddef>

namespace emofuse::metrics::detail {

/// Sums like numpy's add.reduce on a contiguous float64 array: sequential below 8 values,
/// 8 interleaved partial sums up to 128, recursive halving above.
inline double numpy_sum(const double* values, std::size_t n) {
    if (n < 8) {
        double sum = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
            sum += values[i];
        }
        return sum;
    }
    if (n <= 128) {
        double r[8];
        for (std::size_t j = 0; j < 8; ++j) {
            r[j] = values[j];
        }
        std::size_t i = 8;
        for (; i < n - (n % 8); i += 8) {
            for (std::size_t j = 0; j < 8; ++j) {
                r[j] += values[i + j];
            }
        }
        double sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; ++i) {
            sum += values[i];
        }
        return sum;
    }
    std::size_t half = n / 2;
    half -= half % 8;
    return numpy_sum(values, half) + numpy_sum(values + half, n - half);
}

/// Rounds to the nearest integer, ties to even (numpy.round / rint): 0.5 -> 0, 1.5 -> 2,
/// -2.5 -> -2. Exact for every finite double and independent of the FP rounding mode.
[[nodiscard]] inline double round_half_to_even(double x) noexcept {
    const double floor_x = std::floor(x);
    const double fraction = x - floor_x; // exact
    if (fraction > 0.5) {
        return floor_x + 1.0;
    }
    if (fraction < 0.5) {
        return floor_x;
    }
    return std::fmod(floor_x, 2.0) == 0.0 ? floor_x : floor_x + 1.0;
}

} // namespace emofuse::metrics::detail
