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
/// array of 10 doubles that any engine can ship; combine two with `merge`, never by summing.
/// `n` is the total weight (the sample count when every weight is 1).
///
/// Values far outside [2^-400, 2^400] (e.g. ±1e308, or data on a 1e160 or 1e-160 scale) would
/// overflow or underflow the squares, so a side's sums may be kept in units of a power of two:
/// m2_x is in units of 4^scale_x, c_xy of 2^(scale_x + scale_y), the error sums of
/// 2^max(scale_x, scale_y) (squared for sum_sq_err). The scales are 0 — every field in plain
/// units — unless a block's values need them, so ordinary data never pays for or sees them.
/// Means are always in plain units. Read the metrics through mae(), pearson()... which apply
/// the scales.
struct comoments {
    double n = 0;           ///< total weight
    double mean_x = 0;      ///< mean prediction
    double mean_y = 0;      ///< mean truth
    double m2_x = 0;        ///< sum of squared deviations of x from its mean
    double m2_y = 0;        ///< sum of squared deviations of y from its mean
    double c_xy = 0;        ///< sum of (x - mean_x)(y - mean_y)
    double sum_abs_err = 0; ///< sum of |x - y|
    double sum_sq_err = 0;  ///< sum of (x - y)^2
    double scale_x = 0;     ///< base-2 exponent of x's unit (an integer; 0 for ordinary data)
    double scale_y = 0;     ///< base-2 exponent of y's unit
};
static_assert(std::is_trivially_copyable_v<comoments> && sizeof(comoments) == 10 * sizeof(double));

namespace detail {

/// A scale field as an ldexp exponent (clamped: garbage in a hand-made state stays finite).
[[nodiscard]] inline int scale_exponent(double scale) noexcept {
    constexpr double limit = 4096;
    return !(scale > -limit) ? -static_cast<int>(limit)
           : scale > limit   ? static_cast<int>(limit)
                             : static_cast<int>(scale);
}

/// The unit exponent of the error sums: the larger side's.
[[nodiscard]] inline int error_exponent(const comoments& m) noexcept {
    return std::max(scale_exponent(m.scale_x), scale_exponent(m.scale_y));
}

/// A side whose every value is 0 carries no magnitude: its scale can be anything.
[[nodiscard]] inline bool all_zero_side(double m2, double mean) noexcept {
    return m2 == 0 && mean == 0;
}

/// The unit exponent of one side of merge(a, b): the larger, ignoring an all-zero side.
[[nodiscard]] inline int merged_exponent(double m2_a, double mean_a, double scale_a, double m2_b,
                                         double mean_b, double scale_b) noexcept {
    const int a = scale_exponent(scale_a);
    const int b = scale_exponent(scale_b);
    if (all_zero_side(m2_a, mean_a)) {
        return b;
    }
    if (all_zero_side(m2_b, mean_b)) {
        return a;
    }
    return std::max(a, b);
}

/// Chan's update for states with scales: both are brought to common units (exact powers of
/// two), merged there, and the means taken back to plain units.
[[nodiscard]] inline comoments merge_scaled(const comoments& a, const comoments& b) noexcept {
    const int tx = merged_exponent(a.m2_x, a.mean_x, a.scale_x, b.m2_x, b.mean_x, b.scale_x);
    const int ty = merged_exponent(a.m2_y, a.mean_y, a.scale_y, b.m2_y, b.mean_y, b.scale_y);
    const int te = std::max(tx, ty);
    struct in_units {
        double mean_x, mean_y, m2_x, m2_y, c_xy, sum_abs_err, sum_sq_err;
    };
    const auto convert = [&](const comoments& m) {
        const int sx = scale_exponent(m.scale_x);
        const int sy = scale_exponent(m.scale_y);
        const int se = std::max(sx, sy);
        return in_units{std::ldexp(m.mean_x, -tx),
                        std::ldexp(m.mean_y, -ty),
                        std::ldexp(m.m2_x, 2 * (sx - tx)),
                        std::ldexp(m.m2_y, 2 * (sy - ty)),
                        std::ldexp(m.c_xy, (sx - tx) + (sy - ty)),
                        std::ldexp(m.sum_abs_err, se - te),
                        std::ldexp(m.sum_sq_err, 2 * (se - te))};
    };
    const in_units ua = convert(a);
    const in_units ub = convert(b);
    const double n = a.n + b.n;
    const double dx = ub.mean_x - ua.mean_x;
    const double dy = ub.mean_y - ua.mean_y;
    const double cross = a.n * b.n / n;
    comoments out;
    out.n = n;
    out.mean_x = std::ldexp(ua.mean_x + dx * (b.n / n), tx);
    out.mean_y = std::ldexp(ua.mean_y + dy * (b.n / n), ty);
    out.m2_x = ua.m2_x + ub.m2_x + dx * dx * cross;
    out.m2_y = ua.m2_y + ub.m2_y + dy * dy * cross;
    out.c_xy = ua.c_xy + ub.c_xy + dx * dy * cross;
    out.sum_abs_err = ua.sum_abs_err + ub.sum_abs_err;
    out.sum_sq_err = ua.sum_sq_err + ub.sum_sq_err;
    out.scale_x = tx;
    out.scale_y = ty;
    return out;
}

} // namespace detail

/// Chan et al.'s parallel update: the co-moments of the union of two disjoint sample sets.
/// Merging the states of shards equals one pass over all samples up to rounding.
[[nodiscard]] inline comoments merge(const comoments& a, const comoments& b) noexcept {
    if (b.n == 0) {
        return a;
    }
    if (a.n == 0) {
        return b;
    }
    if (a.scale_x != 0 || a.scale_y != 0 || b.scale_x != 0 || b.scale_y != 0) {
        return detail::merge_scaled(a, b);
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
    // Clamp rounding below 0, but let a NaN from an overflow through to `finite`.
    const double m2_x = out.m2_x - sum_dx * mean_dx;
    const double m2_y = out.m2_y - sum_dy * mean_dy;
    out.m2_x = m2_x < 0 ? 0.0 : m2_x;
    out.m2_y = m2_y < 0 ? 0.0 : m2_y;
    out.c_xy -= sum_dx * mean_dy;
    return out;
}

/// False when a block's sums met a NaN or an infinity (then the block takes the slow path).
[[nodiscard]] inline bool finite(const comoments& m) noexcept {
    return std::isfinite(m.mean_x) && std::isfinite(m.mean_y) && std::isfinite(m.m2_x) &&
           std::isfinite(m.m2_y) && std::isfinite(m.c_xy) && std::isfinite(m.sum_sq_err);
}

/// Plain-unit sums are exact enough while every value is 0 or within [2^-400, 2^400]: no
/// square or product of deviations overflows, and none that matters underflows.
inline constexpr double ordinary_low = 0x1p-400;
inline constexpr double ordinary_high = 0x1p400;

/// True when one side's plain-unit result is certainly accurate: a finite mean within
/// 2^±400's reach and a spread that neither overflowed nor lost precision to underflow (a
/// spread of 0 with a mean of at least 2^-400 is a constant side, since distinct values that
/// large differ by far more than 2^-537). False for NaN or infinity.
[[nodiscard]] inline bool plain_side(double m2, double mean) noexcept {
    const double magnitude = std::fabs(mean);
    return (magnitude <= ordinary_high) &
           (((m2 >= 0x1p-800) & (m2 <= 0x1p800)) | ((m2 == 0) & (magnitude >= ordinary_low)));
}

/// Cheap screen of a block computed in plain units: false means it is certainly accurate;
/// true means look at the values (`ordinary_magnitude`) before trusting it. Mostly
/// branch-free: it runs once per block on the fast path.
[[nodiscard]] inline bool needs_closer_look(const comoments& m) noexcept {
    const bool x_plain = plain_side(m.m2_x, m.mean_x);
    const bool y_plain = plain_side(m.m2_y, m.mean_y);
    const bool sums_finite = std::isfinite(m.c_xy) && std::isfinite(m.sum_sq_err);
    return !(x_plain & y_plain & sums_finite);
}

/// Largest |value| of a block.
template <class T>
double largest_magnitude(const T* v, std::size_t count) noexcept {
    double out = 0;
    for (std::size_t i = 0; i < count; ++i) {
        out = std::max(out, std::fabs(static_cast<double>(v[i])));
    }
    return out;
}

[[nodiscard]] inline bool ordinary_magnitude(double largest) noexcept {
    return largest == 0 || (largest >= ordinary_low && largest <= ordinary_high);
}

/// A plain-unit block result can be kept: it passed the screen, or it is finite and every
/// value is ordinary.
template <class T>
bool acceptable(const comoments& block, const T* x, const T* y, std::size_t count) {
    return !needs_closer_look(block) ||
           (finite(block) && ordinary_magnitude(largest_magnitude(x, count)) &&
            ordinary_magnitude(largest_magnitude(y, count)));
}

/// Two-pass co-moments of one block of finite values whose magnitudes are extreme: each side
/// is divided by the power of two just above its largest |value| (exact), so nothing
/// overflows and the spread keeps its precision; the result carries the scales. A side of
/// zeros takes the other side's scale. Rare, so written plainly rather than in lanes.
template <class T, class WeightOf>
comoments rescaled_block(const T* x, const T* y, std::size_t count, WeightOf weight) {
    const double largest_x = largest_magnitude(x, count);
    const double largest_y = largest_magnitude(y, count);
    int ex = 0;
    int ey = 0;
    static_cast<void>(std::frexp(largest_x, &ex));
    static_cast<void>(std::frexp(largest_y, &ey));
    ex = largest_x == 0 ? ey : ex;
    ey = largest_y == 0 ? ex : ey;
    const int ee = std::max(ex, ey);
    // Deviations from the first sample: small and exact for data with a large offset, so
    // the block mean keeps its precision.
    const double shift_x = count > 0 ? std::ldexp(static_cast<double>(x[0]), -ex) : 0.0;
    const double shift_y = count > 0 ? std::ldexp(static_cast<double>(y[0]), -ey) : 0.0;
    const auto sx = [&](std::size_t i) {
        return std::ldexp(static_cast<double>(x[i]), -ex) - shift_x;
    };
    const auto sy = [&](std::size_t i) {
        return std::ldexp(static_cast<double>(y[i]), -ey) - shift_y;
    };
    double w = 0, wx = 0, wy = 0;
    for (std::size_t i = 0; i < count; ++i) {
        const double wi = weight(i);
        w += wi;
        wx += wi * sx(i);
        wy += wi * sy(i);
    }
    if (w == 0) {
        return comoments{};
    }
    const double mx = wx / w;
    const double my = wy / w;
    comoments out;
    for (std::size_t i = 0; i < count; ++i) {
        const double wi = weight(i);
        const double dx = sx(i) - mx;
        const double dy = sy(i) - my;
        const double e =
            std::ldexp(static_cast<double>(x[i]), -ee) - std::ldexp(static_cast<double>(y[i]), -ee);
        out.m2_x += wi * dx * dx;
        out.m2_y += wi * dy * dy;
        out.c_xy += wi * dx * dy;
        out.sum_abs_err += wi * std::fabs(e);
        out.sum_sq_err += wi * e * e;
    }
    out.n = w;
    out.mean_x = std::ldexp(shift_x + mx, ex);
    out.mean_y = std::ldexp(shift_y + my, ey);
    out.scale_x = ex;
    out.scale_y = ey;
    return out;
}

/// Two-pass co-moments of one block whose values are all finite, rescaled when the values
/// are extreme.
template <class T, class WeightOf>
comoments block_comoments(const T* x, const T* y, std::size_t count, WeightOf weight) {
    const comoments plain = centred_block(x, y, count, weight, sum_block(x, y, count, weight));
    return acceptable(plain, x, y, count) ? plain : rescaled_block(x, y, count, weight);
}

/// The total weight and means of merge(a, b), without the rest of the merge (one per block
/// in the loop below; the same arithmetic as `merge`, so the same bits).
struct running_mean {
    double n, x, y;
};
[[nodiscard]] inline running_mean merged_mean(const comoments& a, const comoments& b) noexcept {
    if (b.n == 0) {
        return {a.n, a.mean_x, a.mean_y};
    }
    if (a.n == 0) {
        return {b.n, b.mean_x, b.mean_y};
    }
    if (a.scale_x != 0 || a.scale_y != 0 || b.scale_x != 0 || b.scale_y != 0) {
        const comoments m = merge(a, b);
        return {m.n, m.mean_x, m.mean_y};
    }
    const double n = a.n + b.n;
    return {n, a.mean_x + (b.mean_x - a.mean_x) * (b.n / n),
            a.mean_y + (b.mean_y - a.mean_y) * (b.n / n)};
}

/// Co-moments of a whole span, block by block, applying the NaN policy.
/// `prior` is the state the result will be merged into: its mean is the first shift.
/// `index_offset` is the span's position in the caller's input, for error messages.
template <class T, class WeightOf>
comoments span_comoments(std::span<const T> truth, std::span<const T> pred, WeightOf weight,
                         nan_policy policy, std::string_view stage,
                         const comoments& prior = comoments{}, std::size_t index_offset = 0) {
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
        const running_mean known = merged_mean(prior, total);
        if (known.n > 0) {
            const comoments block = shifted_block(x, y, count, shifted, known.x, known.y);
            if (acceptable(block, x, y, count)) {
                total = merge(total, block);
                continue;
            }
        } else {
            const block_sums sums = sum_block(x, y, count, shifted);
            if (sums.finite()) {
                const comoments block = centred_block(x, y, count, shifted, sums);
                if (acceptable(block, x, y, count)) {
                    total = merge(total, block);
                    continue;
                }
            }
        }
        // Slow path: find the non-finite samples; error, or give them weight 0 (their
        // values replaced by 0 so the NaN cannot reach the sums). Finite but extreme values
        // land here too and are rescaled by block_comoments.
        std::array<double, moments_block> local_weight{};
        std::array<T, moments_block> cx{}, cy{};
        for (std::size_t i = 0; i < count; ++i) {
            const bool x_ok = std::isfinite(static_cast<double>(x[i]));
            const bool y_ok = std::isfinite(static_cast<double>(y[i]));
            if (!(x_ok && y_ok) && policy == nan_policy::error) {
                throw_non_finite(stage, x_ok ? "truth" : "prediction", index_offset + start + i,
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
