// emofuse/metrics/regression.hpp — MAE, MSE, RMSE, Pearson r and CCC from co-moments, and the
// regression accumulator (update / merge / compute).
#pragma once

#include <emofuse/core/error.hpp>
#include <emofuse/metrics/blocked.hpp>
#include <emofuse/metrics/moments.hpp>
#include <emofuse/metrics/policy.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string_view>

namespace emofuse::metrics {

/// Mean absolute error, mean |pred - truth| over unclipped values.
[[nodiscard]] inline double mae(const comoments& m) {
    detail::require_samples("metrics::mae", m.n);
    return std::ldexp(m.sum_abs_err / m.n, detail::error_exponent(m));
}

/// Mean squared error.
[[nodiscard]] inline double mse(const comoments& m) {
    detail::require_samples("metrics::mse", m.n);
    return std::ldexp(m.sum_sq_err / m.n, 2 * detail::error_exponent(m));
}

/// Root mean squared error (finite even when the MSE itself leaves the double range).
[[nodiscard]] inline double rmse(const comoments& m) {
    detail::require_samples("metrics::rmse", m.n);
    return std::ldexp(std::sqrt(m.sum_sq_err / m.n), detail::error_exponent(m));
}

/// True when either side has zero variance, so Pearson r is undefined.
[[nodiscard]] inline bool constant_input(const comoments& m) noexcept {
    return !(m.m2_x > 0) || !(m.m2_y > 0);
}

/// Pearson r, as numpy.corrcoef computes it (clipped to [-1, 1]). NaN when either side is
/// constant: that is reported (constant_input), never thrown.
[[nodiscard]] inline double pearson(const comoments& m) {
    detail::require_samples("metrics::pearson", m.n);
    if (constant_input(m)) {
        return std::numeric_limits<double>::quiet_NaN();
    }
    const double r = m.c_xy / (std::sqrt(m.m2_x) * std::sqrt(m.m2_y));
    return std::clamp(r, -1.0, 1.0);
}

/// Lin's concordance correlation coefficient
/// CCC = 2 cov(x, y) / (var x + var y + (mean x - mean y)^2), with (co)variances divided by
/// n - ddof (MERTools uses ddof = 0, torchmetrics ddof = 1). NaN when n <= ddof or when the
/// denominator is 0 (both sides constant and equal).
[[nodiscard]] inline double ccc(const comoments& m, int ddof = 0) {
    detail::require_samples("metrics::ccc", m.n);
    if (ddof < 0) {
        throw value_error(mismatch_message("metrics::ccc", "ddof", "a value >= 0", ddof));
    }
    const double dof = m.n - ddof;
    if (!(dof > 0)) {
        return std::numeric_limits<double>::quiet_NaN();
    }
    // Scale-free up to a common unit: 2^s, the larger side's (plain units when s = 0).
    const int sx = detail::scale_exponent(m.scale_x);
    const int sy = detail::scale_exponent(m.scale_y);
    const int s = std::max(sx, sy);
    const double var_x = std::ldexp(m.m2_x, 2 * (sx - s)) / dof;
    const double var_y = std::ldexp(m.m2_y, 2 * (sy - s)) / dof;
    const double cov = std::ldexp(m.c_xy, (sx - s) + (sy - s)) / dof;
    const double mean_gap = std::ldexp(m.mean_x, -s) - std::ldexp(m.mean_y, -s);
    const double denominator = var_x + var_y + mean_gap * mean_gap;
    if (!(denominator > 0)) {
        return std::numeric_limits<double>::quiet_NaN();
    }
    return 2.0 * cov / denominator;
}

/// Every regression metric at once.
struct regression_scores {
    double count = 0;
    double mae = 0;
    double mse = 0;
    double rmse = 0;
    double pearson = 0;
    double ccc = 0;
    bool constant_input = false; ///< Pearson (and maybe CCC) is NaN because a side is constant
};

[[nodiscard]] inline regression_scores compute_regression(const comoments& m, int ccc_ddof = 0) {
    regression_scores out;
    out.count = m.n;
    out.mae = mae(m);
    out.mse = mse(m);
    out.rmse = rmse(m);
    out.pearson = pearson(m);
    out.ccc = ccc(m, ccc_ddof);
    out.constant_input = constant_input(m);
    return out;
}

/// Accumulates co-moments of (truth, prediction) pairs. Values may be float or double; the
/// state is always double.
class regression_accumulator {
public:
    explicit regression_accumulator(nan_policy policy = nan_policy::error) : policy_(policy) {}

    /// Adds every pair (truth[i], pred[i]). A span longer than detail::parallel_block is
    /// split into blocks of that size, computed on the thread pool and merged in block order,
    /// so the state has the same bits at any thread count (docs/metrics.md, "Threads").
    template <class T>
    void update(std::span<const T> truth, std::span<const T> pred) {
        check_size("metrics::regression_accumulator::update", "prediction count", truth.size(),
                   pred.size());
        update_blocks(truth, pred, [](std::size_t) { return detail::unit_weight{}; });
    }

    /// Adds pair i with integer weight weights[i] (a bootstrap resample's counts).
    template <class T>
    void update(std::span<const T> truth, std::span<const T> pred,
                std::span<const std::uint32_t> weights) {
        check_size("metrics::regression_accumulator::update", "prediction count", truth.size(),
                   pred.size());
        check_size("metrics::regression_accumulator::update", "weight count", truth.size(),
                   weights.size());
        update_blocks(truth, pred, [&weights](std::size_t begin) {
            return detail::pointer_weight<std::uint32_t>{weights.data() + begin};
        });
    }

    void merge(const regression_accumulator& other) {
        state_ = metrics::merge(state_, other.state_);
    }
    void merge(const comoments& other) { state_ = metrics::merge(state_, other); }

    /// All regression metrics of the samples seen so far (value_error when there are none).
    [[nodiscard]] regression_scores compute(int ccc_ddof = 0) const {
        return compute_regression(state_, ccc_ddof);
    }

    [[nodiscard]] const comoments& state() const noexcept { return state_; }
    [[nodiscard]] comoments& state() noexcept { return state_; }
    [[nodiscard]] nan_policy policy() const noexcept { return policy_; }

private:
    /// weight_from(begin) gives the weights of the samples from `begin` on.
    template <class T, class WeightFrom>
    void update_blocks(std::span<const T> truth, std::span<const T> pred, WeightFrom weight_from) {
        constexpr std::string_view stage = "metrics::regression_accumulator::update";
        if (truth.size() <= detail::parallel_block) {
            state_ = metrics::merge(state_, detail::span_comoments(truth, pred, weight_from(0),
                                                                   policy_, stage, state_));
            return;
        }
        comoments total = state_;
        detail::blocked_reduce(
            truth.size(),
            [&](std::size_t begin, std::size_t end) {
                return detail::span_comoments(truth.subspan(begin, end - begin),
                                              pred.subspan(begin, end - begin), weight_from(begin),
                                              policy_, stage, comoments{}, begin);
            },
            [&](const comoments& block) { total = metrics::merge(total, block); });
        state_ = total;
    }

    comoments state_{};
    nan_policy policy_;
};

} // namespace emofuse::metrics
