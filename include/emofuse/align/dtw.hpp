// emofuse/align/dtw.hpp — dynamic time warping between two feature sequences with an
// optional Sakoe-Chiba band and a pluggable frame distance; returns the cost and the path.
#pragma once

#include "emofuse/config.hpp"
#include "emofuse/core/error.hpp"
#include "emofuse/kernels/reduce.hpp"
#include "emofuse/kernels/simd.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

namespace emofuse::align {

/// Built-in frame distances.
enum class frame_distance {
    euclidean,   ///< ‖x − y‖
    sqeuclidean, ///< ‖x − y‖² (tslearn's dtw is the square root of this DTW's cost)
    cosine,      ///< 1 − x·y / (‖x‖‖y‖), with 1 when either vector is zero
};

struct dtw_result {
    /// Sum of frame distances along the optimal path.
    double cost = 0;
    /// (i, j) pairs from (0, 0) to (n − 1, m − 1).
    std::vector<std::pair<std::size_t, std::size_t>> path;
};

namespace detail {

/// ‖x − y‖² with xsimd (four-accumulator loop from the kernels, partial tail load).
template <class T, class Arch = simd_arch>
T squared_distance(const T* x, const T* y, std::size_t n) {
    using batch = xsimd::batch<T, Arch>;
    constexpr std::size_t lanes = batch::size;
    batch acc0(T(0)), acc1(T(0));
    std::size_t i = 0;
    for (; i + 2 * lanes <= n; i += 2 * lanes) {
        const batch d0 = batch::load_unaligned(x + i) - batch::load_unaligned(y + i);
        const batch d1 =
            batch::load_unaligned(x + i + lanes) - batch::load_unaligned(y + i + lanes);
        acc0 = xsimd::fma(d0, d0, acc0);
        acc1 = xsimd::fma(d1, d1, acc1);
    }
    for (; i + lanes <= n; i += lanes) {
        const batch d0 = batch::load_unaligned(x + i) - batch::load_unaligned(y + i);
        acc0 = xsimd::fma(d0, d0, acc0);
    }
    if (i < n) {
        const batch d0 = kernels::load_partial<T, Arch>(x + i, n - i, T(0)) -
                         kernels::load_partial<T, Arch>(y + i, n - i, T(0));
        acc1 = xsimd::fma(d0, d0, acc1);
    }
    return kernels::horizontal_sum(acc0 + acc1);
}

// Allowed column range [lo, hi] of row i (tslearn's sakoe_chiba_mask for radius r).
inline std::pair<std::size_t, std::size_t> band_columns(std::size_t i, std::size_t n, std::size_t m,
                                                        std::optional<std::size_t> radius) {
    if (!radius) {
        return {0, m - 1};
    }
    const std::size_t r = *radius;
    const std::size_t below = n <= m ? r : n - m + r; // j >= i - below
    const std::size_t above = n <= m ? m - n + r : r; // j <= i + above
    const std::size_t lo = i > below ? i - below : 0;
    const std::size_t hi = std::min(m - 1, i + above);
    return {lo, hi};
}

// `distance(i, j)` is the frame distance between a[i] and b[j].
template <class T, class Distance>
dtw_result dtw_impl(const xt::xtensor<T, 2>& a, const xt::xtensor<T, 2>& b, Distance&& distance,
                    std::optional<std::size_t> band) {
    check_size("dtw", "feature size of the second sequence (as the first)", a.shape(1), b.shape(1));
    const std::size_t n = a.shape(0), m = b.shape(0);
    if (n == 0 || m == 0) {
        throw value_error(emofuse::detail::concat_message(
            "dtw: sequence lengths: expected at least one frame each, got ", n, " and ", m));
    }
    constexpr double inf = std::numeric_limits<double>::infinity();
    std::vector<double> cost(n * m, inf);
    for (std::size_t i = 0; i < n; ++i) {
        const auto [lo, hi] = band_columns(i, n, m, band);
        double* row = cost.data() + i * m;
        const double* up = i > 0 ? row - m : nullptr;
        for (std::size_t j = lo; j <= hi; ++j) {
            const double local = static_cast<double>(distance(i, j));
            double best;
            if (i == 0 && j == 0) {
                best = 0;
            } else {
                best = inf;
                if (i > 0 && j > 0) {
                    best = up[j - 1];
                }
                if (i > 0) {
                    best = std::min(best, up[j]);
                }
                if (j > 0) {
                    best = std::min(best, row[j - 1]);
                }
            }
            row[j] = local + best;
        }
    }
    dtw_result out;
    out.cost = cost[n * m - 1];
    std::size_t i = n - 1, j = m - 1;
    out.path.emplace_back(i, j);
    while (i > 0 || j > 0) {
        // Preference on ties: diagonal, then (i − 1, j), then (i, j − 1).
        std::size_t ni = i, nj = j;
        double best = inf;
        if (i > 0 && j > 0) {
            best = cost[(i - 1) * m + j - 1];
            ni = i - 1;
            nj = j - 1;
        }
        if (i > 0 && cost[(i - 1) * m + j] < best) {
            best = cost[(i - 1) * m + j];
            ni = i - 1;
            nj = j;
        }
        if (j > 0 && cost[i * m + j - 1] < best) {
            ni = i;
            nj = j - 1;
        }
        i = ni;
        j = nj;
        out.path.emplace_back(i, j);
    }
    std::reverse(out.path.begin(), out.path.end());
    return out;
}

} // namespace detail

/// DTW with a built-in frame distance. `band` is the Sakoe-Chiba radius as tslearn defines
/// it for unequal lengths (n ≤ m: row i may use columns i − r … i + (m − n) + r); none means
/// no constraint. Costs accumulate in double; distances are computed in T with SIMD.
template <class T>
dtw_result dtw(const xt::xtensor<T, 2>& a, const xt::xtensor<T, 2>& b,
               frame_distance distance = frame_distance::euclidean,
               std::optional<std::size_t> band = std::nullopt) {
    const std::size_t d = a.shape(1);
    const T* a0 = a.data();
    const T* b0 = b.data();
    switch (distance) {
    case frame_distance::sqeuclidean:
        return detail::dtw_impl(
            a, b,
            [&](std::size_t i, std::size_t j) {
                return static_cast<double>(detail::squared_distance(a0 + i * d, b0 + j * d, d));
            },
            band);
    case frame_distance::cosine: {
        std::vector<double> na(a.shape(0)), nb(b.shape(0));
        for (std::size_t i = 0; i < na.size(); ++i) {
            na[i] = std::sqrt(static_cast<double>(kernels::sum_squares(a0 + i * d, d)));
        }
        if (b.shape(1) == d) {
            for (std::size_t j = 0; j < nb.size(); ++j) {
                nb[j] = std::sqrt(static_cast<double>(kernels::sum_squares(b0 + j * d, d)));
            }
        }
        return detail::dtw_impl(
            a, b,
            [&](std::size_t i, std::size_t j) {
                if (na[i] == 0 || nb[j] == 0) {
                    return 1.0;
                }
                return 1.0 - static_cast<double>(kernels::dot(a0 + i * d, b0 + j * d, d)) /
                                 (na[i] * nb[j]);
            },
            band);
    }
    case frame_distance::euclidean:
    default:
        return detail::dtw_impl(
            a, b,
            [&](std::size_t i, std::size_t j) {
                return std::sqrt(
                    static_cast<double>(detail::squared_distance(a0 + i * d, b0 + j * d, d)));
            },
            band);
    }
}

/// DTW with a user frame distance: `distance(const T* x, const T* y, std::size_t d)` returns
/// a number (converted to double).
template <class T, class Distance>
requires std::is_invocable_v<Distance, const T*, const T*, std::size_t>
    dtw_result dtw(const xt::xtensor<T, 2>& a, const xt::xtensor<T, 2>& b, Distance distance,
                   std::optional<std::size_t> band = std::nullopt) {
    const std::size_t d = a.shape(1);
    return detail::dtw_impl(
        a, b,
        [&](std::size_t i, std::size_t j) {
            return static_cast<double>(distance(a.data() + i * d, b.data() + j * d, d));
        },
        band);
}

} // namespace emofuse::align
