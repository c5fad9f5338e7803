// emofuse/metrics/significance.hpp — McNemar's test for two classifiers scored on the same
// samples: the exact binomial version and the chi-square version with continuity correction.
#pragma once

#include <emofuse/core/error.hpp>
#include <emofuse/metrics/confusion.hpp>

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>

namespace emofuse::metrics {

/// `exact` (default, as statsmodels' mcnemar(exact=True)): statistic = min(b, c),
/// p = min(1, 2·P[X <= min(b, c)]) with X ~ Binomial(b + c, 1/2).
/// `chi_square_corrected` (statsmodels' exact=False, correction=True): statistic =
/// (|b - c| - 1)^2 / (b + c), p = P[chi2(1) >= statistic].
/// b = samples only A gets right, c = samples only B gets right. With no discordant pairs
/// (b + c = 0) both give statistic 0 and p = 1.
enum class mcnemar_method { exact, chi_square_corrected };

struct mcnemar_result {
    std::uint64_t only_a_correct = 0; ///< b
    std::uint64_t only_b_correct = 0; ///< c
    double statistic = 0;
    double p_value = 1;
};

namespace detail {

/// P[X <= k] for X ~ Binomial(n, 1/2), summed in log space (stable for large n).
inline double binomial_half_cdf(std::uint64_t k, std::uint64_t n) {
    if (k >= n) {
        return 1.0;
    }
    const double log_half_n = static_cast<double>(n) * std::log(0.5);
    const double lgamma_n1 = std::lgamma(static_cast<double>(n) + 1.0);
    // Terms grow with i up to n/2 and k < n/2 here when it matters: sum from the largest.
    double sum = 0.0;
    for (std::uint64_t i = k + 1; i-- > 0;) {
        const double log_term = lgamma_n1 - std::lgamma(static_cast<double>(i) + 1.0) -
                                std::lgamma(static_cast<double>(n - i) + 1.0) + log_half_n;
        const double term = std::exp(log_term);
        sum += term;
        if (term < sum * 1e-18) {
            break;
        }
    }
    return std::min(1.0, sum);
}

} // namespace detail

/// McNemar's test from the discordant counts b (only A right) and c (only B right).
[[nodiscard]] inline mcnemar_result
mcnemar_from_counts(std::uint64_t b, std::uint64_t c,
                    mcnemar_method method = mcnemar_method::exact) {
    mcnemar_result out;
    out.only_a_correct = b;
    out.only_b_correct = c;
    const std::uint64_t discordant = b + c;
    if (discordant == 0) {
        out.statistic = 0;
        out.p_value = 1;
        return out;
    }
    if (method == mcnemar_method::exact) {
        const std::uint64_t smaller = std::min(b, c);
        out.statistic = static_cast<double>(smaller);
        out.p_value = std::min(1.0, 2.0 * detail::binomial_half_cdf(smaller, discordant));
        return out;
    }
    const double gap = std::fabs(static_cast<double>(b) - static_cast<double>(c)) - 1.0;
    out.statistic = gap * gap / static_cast<double>(discordant);
    out.p_value = std::erfc(std::sqrt(out.statistic / 2.0));
    return out;
}

/// McNemar's test of systems A and B on the same samples (class ids in [0, K)).
template <std::integral L>
[[nodiscard]] mcnemar_result mcnemar(std::span<const L> truth, std::span<const L> pred_a,
                                     std::span<const L> pred_b, std::size_t num_classes,
                                     mcnemar_method method = mcnemar_method::exact) {
    check_size("metrics::mcnemar", "system A prediction count", truth.size(), pred_a.size());
    check_size("metrics::mcnemar", "system B prediction count", truth.size(), pred_b.size());
    if (truth.empty()) {
        throw value_error("metrics::mcnemar: no samples: expected at least one, got 0");
    }
    detail::check_labels("metrics::mcnemar", "truth", truth, num_classes);
    detail::check_labels("metrics::mcnemar", "system A prediction", pred_a, num_classes);
    detail::check_labels("metrics::mcnemar", "system B prediction", pred_b, num_classes);
    std::uint64_t b = 0, c = 0;
    for (std::size_t i = 0; i < truth.size(); ++i) {
        const bool a_right = pred_a[i] == truth[i];
        const bool b_right = pred_b[i] == truth[i];
        b += a_right && !b_right;
        c += b_right && !a_right;
    }
    return mcnemar_from_counts(b, c, method);
}

} // namespace emofuse::metrics
