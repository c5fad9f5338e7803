// emofuse/metrics/moments.hpp — co-moments of (prediction, truth) pairs: the plain-data state
// behind MAE, MSE, RMSE, Pearson and CCC, updated in one pass and merged with Chan's update.
#pragma once

#include <emofuse/core/error.hpp>
#include <emofuse/metrics/policy.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>

namespace emofuse::metrics {

/// Weighted co-moments of x = prediction and y = truth. Plain data (trivially copyable): an
/// array of 8 doubles that any engine can ship; combine two with `merge`, never by summing.
/// `n` is the total weight (the sample count when every weight is 1).
struct comoments {
    double n = 0;           ///< total weight
    double mean_x = 0;      ///< mean prediction
    double mean_y = 0;      ///< mean truth
    double m2_x = 0;        ///< sum of squared deviations of x from its mean
    double m2_y = 0;        ///< sum of squared deviations of y from its mean
    double c_xy = 0;        ///< sum of (x - mean_x)(y - mean_y)
    double sum_abs_err = 0; ///< sum of |x - y|
    double sum_sq_err = 0;  ///< sum of (x - y)^2
};
static_assert(std::is_trivially_copyable_v<comoments> && sizeof(comoments) == 8 * sizeof(double));

/// Chan et al.'s parallel update: the co-moments of the union of two disjoint sample sets.
/// Merging the states of shards equals one pass over all samples up to rounding.
[[nodiscard]] constexpr comoments merge(const comoments& a, const comoments& b) noexcept {
    if (b.n == 0) {
        return a;
    }
    if (a.n == 0) {
        return b;
    }
    const double n = a.n + b.n;
    const double dx = b.mean_x - a.mean_x;
    const double dy = b.mean_y - a.mean_y;
    const double cross = a.n * b.n / n;
    comoments out;
    out.n = n;
    out.mean_x = a.mean_x + dx * (b.n / n);
    out.mean_y = a.mean_y + dy * (b.n / n);
    out.m2_x = a.m2_x + b.m2_x + dx * dx * cross;
    out.m2_y = a.m2_y + b.m2_y + dy * dy * cross;
    out.c_xy = a.c_xy + b.c_xy + dx * dy * cross;
    out.sum_abs_err = a.sum_abs_err + b.sum_abs_err;
    out.sum_sq_err = a.sum_sq_err + b.sum_sq_err;
    return out;
}

namespace detail {

/// Calls visit(i, lane) for every i < count, with lane = i mod Lanes, in blocks of Lanes so
/// that each lane's accumulators form an independent dependency chain.
template <std::size_t Lanes, class Visit>
inline void for_each_in_lanes(std::size_t count, Visit&& visit) {
    const std::size_t unrolled = count - count % Lanes;
    for (std::size_t i = 0; i < unrolled; i += Lanes) {
        for (std::size_t l = 0; l < Lanes; ++l) {
            visit(i + l, l);
        }
    }
    for (std::size_t i = unrolled; i < count; ++i) {
        visit(i, i - unrolled);
    }
}

/// Samples per block: the block's moments are computed two-pass from L1 (accurate), then
/// merged into the running state with Chan's update.
inline constexpr std::size_t moments_block = 1024;
inline constexpr std::size_t moments_lanes = 32;
/// Lanes of the single-pass kernel: 8 accumulators x 16 doubles fill half of AVX-512's
/// registers.
inline constexpr std::size_t shifted_lanes = 16;

struct unit_weight {
    constexpr double operator()(std::size_t) const noexcept { return 1.0; }
};

template <class Weight>
struct pointer_weight {
    const Weight* values;
    double operator()(std::size_t i) const noexcept { return static_cast<double>(values[i]); }
};

/// Weighted sums of one block (first pass): total weight, sum w·x, sum w·y. A non-finite
/// value anywhere in the block makes a sum non-finite, which is how blocks are screened for
/// NaN/Inf without a separate pass. Lane arrays let the compiler vectorise the reductions
/// without reassociating them.
struct block_sums {
    double w = 0, wx = 0, wy = 0;
    [[nodiscard]] bool finite() const noexcept { return std::isfinite(wx) && std::isfinite(wy); }
};

template <class T, class WeightOf>
block_sums sum_block(const T* x, const T* y, std::size_t count, WeightOf weight) {
    constexpr std::size_t L = moments_lanes;
    std::array<double, L> w{}, wx{}, wy{};
    for_each_in_lanes<L>(count, [&](std::size_t i, std::size_t l) {
        const double wi = weight(i);
        w[l] += wi;
        wx[l] += wi * static_cast<double>(x[i]);
        wy[l] += wi * static_cast<double>(y[i]);
    });
    block_sums out;
    for (std::size_t l = 0; l < L; ++l) {
        out.w += w[l];
        out.wx += wx[l];
        out.wy += wy[l];
    }
    return out;
}

/// Co-moments of one block of finite values, given its sums (second pass, centred).
template <class T, class WeightOf>
comoments centred_block(const T* x, const T* y, std::size_t count, WeightOf weight,
                        const block_sums& sums) {
    constexpr std::size_t L = moments_lanes;
    comoments out;
    if (sums.w == 0) {
        return out;
    }
    const double mx = sums.wx / sums.w;
    const double my = sums.wy / sums.w;
    std::array<double, L> m2x{}, m2y{}, cxy{}, sae{}, sse{};
    const auto accumulate = [&](std::size_t i, std::size_t l) {
        const double wi = weight(i);
        const double xi = static_cast<double>(x[i]);
        const double yi = static_cast<double>(y[i]);
        const double dx = xi - mx;
        const double dy = yi - my;
        const double e = xi - yi;
        m2x[l] += wi * dx * dx;
        m2y[l] += wi * dy * dy;
        cxy[l] += wi * dx * dy;
        sae[l] += wi * std::fabs(e);
        sse[l] += wi * e * e;
    };
    for_each_in_lanes<L>(count, accumulate);
    out.n = sums.w;
    out.mean_x = mx;
    out.mean_y = my;
    for (std::size_t l = 0; l < L; ++l) {
        out.m2_x += m2x[l];
        out.m2_y += m2y[l];
        out.c_xy += cxy[l];
        out.sum_abs_err += sae[l];
        out.sum_sq_err += sse[l];
    }
    return out;
}

/// Two-pass co-moments of one block whose values are all finite.
template <class T, class WeightOf>
comoments block_comoments(const T* x, const T* y, std::size_t count, WeightOf weight) {
    return centred_block(x, y, count, weight, sum_block(x, y, count, weight));
}

/// Co-moments of one block in a single pass around a shift (sx, sy), normally the running
/// mean: with dx = x - sx and dy = y - sy, m2_x = sum w·dx² - (sum w·dx)²/W and likewise for
/// m2_y and c_xy. The rounding this adds is about eps·W·(block mean - shift)², and with the
/// running mean as shift that is eps times the between-block term Chan's merge adds for this
/// block (times 1 + W / n so far), so the merged state keeps relative accuracy ~eps. It
/// replaces the two passes of `block_comoments`. Non-finite inputs make a sum non-finite
/// (see `finite`).
template <class T, class WeightOf>
comoments shifted_block(const T* x, const T* y, std::size_t count, WeightOf weight, double sx,
                        double sy) {
    constexpr std::size_t L = shifted_lanes;
    constexpr bool unit = std::is_same_v<WeightOf, unit_weight>; // count instead of summing 1s
    std::array<double, L> w{}, sdx{}, sdy{}, sxx{}, syy{}, sxy{}, sae{}, sse{};
    const auto accumulate = [&](std::size_t i, std::size_t l) {
        const double wi = weight(i);
        const double xi = static_cast<double>(x[i]);
        const double yi = static_cast<double>(y[i]);
        const double dx = xi - sx;
        const double dy = yi - sy;
        const double e = xi - yi;
        const double wdx = wi * dx;
        const double wdy = wi * dy;
        if constexpr (!unit) {
            w[l] += wi;
        }
        sdx[l] += wdx;
        sdy[l] += wdy;
        sxx[l] += wdx * dx;
        syy[l] += wdy * dy;
        sxy[l] += wdx * dy;
        sae[l] += wi * std::fabs(e);
        sse[l] += wi * e * e;
    };
    for_each_in_lanes<L>(count, accumulate);
    double total_w = unit ? static_cast<double>(count) : 0.0, sum_dx = 0, sum_dy = 0;
    comoments out;
    for (std::size_t l = 0; l < L; ++l) {
        total_w += w[l];
        sum_dx += sdx[l];
        sum_dy += sdy[l];
        out.m2_x += sxx[l];
        out.m2_y += syy[l];
        out.c_xy += sxy[l];
        out.sum_abs_err += sae[l];
        out.sum_sq_err += sse[l];
    }
    if (total_w == 0) {
        return comoments{};
    }
    const double mean_dx = sum_dx / total_w;
    const double mean_dy = sum_dy / total_w;
    out.n = total_w;
    out.mean_x = sx + mean_dx;
    out.mean_y = sy + mean_dy;
    out.m2_x = std::max(0.0, out.m2_x - sum_dx * mean_dx);
    out.m2_y = std::max(0.0, out.m2_y - sum_dy * mean_dy);
    out.c_xy -= sum_dx * mean_dy;
    return out;
}

/// False when a block's sums met a NaN or an infinity (then the block takes the slow path).
[[nodiscard]] inline bool finite(const comoments& m) noexcept {
    return std::isfinite(m.mean_x) && std::isfinite(m.mean_y) && std::isfinite(m.m2_x) &&
           std::isfinite(m.m2_y) && std::isfinite(m.c_xy) && std::isfinite(m.sum_sq_err);
}

/// Co-moments of a whole span, block by block, applying the NaN policy.
/// `prior` is the state the result will be merged into: its mean is the first shift.
template <class T, class WeightOf>
comoments span_comoments(std::span<const T> truth, std::span<const T> pred, WeightOf weight,
                         nan_policy policy, std::string_view stage,
                         const comoments& prior = comoments{}) {
    comoments total;
    for (std::size_t start = 0; start < truth.size(); start += moments_block) {
        const std::size_t count = std::min(moments_block, truth.size() - start);
        const T* x = pred.data() + start;
        const T* y = truth.data() + start;
        // Weights of this block's samples (unit weights stay a type the kernels recognise).
        const auto shifted = [&] {
            if constexpr (std::is_same_v<WeightOf, unit_weight>) {
                return unit_weight{};
            } else {
                return [&weight, start](std::size_t i) { return weight(start + i); };
            }
        }();
        // Once a mean is known, one pass around it; the very first block is two-pass.
        const comoments known = merge(prior, total);
        if (known.n > 0) {
            const comoments block = shifted_block(x, y, count, shifted, known.mean_x, known.mean_y);
            if (finite(block)) {
                total = merge(total, block);
                continue;
            }
        } else {
            const block_sums sums = sum_block(x, y, count, shifted);
            if (sums.finite()) {
                total = merge(total, centred_block(x, y, count, shifted, sums));
                continue;
            }
        }
        // Slow path: find the non-finite samples; error, or give them weight 0 (their
        // values replaced by 0 so the NaN cannot reach the sums).
        std::array<double, moments_block> local_weight{};
        std::array<T, moments_block> cx{}, cy{};
        for (std::size_t i = 0; i < count; ++i) {
            const bool x_ok = std::isfinite(static_cast<double>(x[i]));
            const bool y_ok = std::isfinite(static_cast<double>(y[i]));
            if (!(x_ok && y_ok) && policy == nan_policy::error) {
                throw_non_finite(stage, x_ok ? "truth" : "prediction", start + i,
                                 static_cast<double>(x_ok ? y[i] : x[i]));
            }
            const bool keep = x_ok && y_ok;
            local_weight[i] = keep ? shifted(i) : 0.0;
            cx[i] = keep ? x[i] : T(0);
            cy[i] = keep ? y[i] : T(0);
        }
        total = merge(total, block_comoments(cx.data(), cy.data(), count,
                                             pointer_weight<double>{local_weight.data()}));
    }
    return total;
}

} // namespace detail

} // namespace emofuse::metrics
