// emofuse/metrics/sentiment.hpp — the MOSI / MOSEI / CH-SIMS regression-sentiment suites with
// named peer presets (MMSA MetricsTop, MulT eval_metrics), over a mergeable plain-data state.
#pragma once

#include <emofuse/core/error.hpp>
#include <emofuse/metrics/blocked.hpp>
#include <emofuse/metrics/classification.hpp>
#include <emofuse/metrics/confusion.hpp>
#include <emofuse/metrics/moments.hpp>
#include <emofuse/metrics/numeric.hpp>
#include <emofuse/metrics/policy.hpp>
#include <emofuse/metrics/regression.hpp>
#include <emofuse/metrics/suite_result.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

namespace emofuse::metrics {

/// Which dataset's label scale and bins: MOSI and MOSEI share [-3, 3]; CH-SIMS uses [-1, 1].
enum class sentiment_dataset { mosi, mosei, sims };

/// Which peer's definitions. `mmsa`: thuiar/MMSA MetricsTop (all three datasets). `mult`:
/// yaohungt/Multimodal-Transformer eval_mosei_senti (MOSI/MOSEI only).
enum class sentiment_preset { mmsa, mult };

/// Plain-data state of a sentiment suite: counts and co-moments only (trivially copyable),
/// so shards reduce with elementwise sums of the counts and Chan's merge of the moments.
struct sentiment_state {
    /// 2×2 counts [truth][pred] of the binary split over all samples (MMSA: >= 0 on MOSI,
    /// 2-class bins on SIMS; MulT: > 0).
    std::array<std::uint64_t, 4> binary_all{};
    /// 2×2 counts of (> 0) over samples whose truth is not 0 (MOSI/MOSEI only).
    std::array<std::uint64_t, 4> binary_nonzero{};
    /// Samples whose rounded/binned prediction equals the truth's: MOSI [acc7, acc5, acc3],
    /// SIMS [acc2, acc3, acc5].
    std::array<std::uint64_t, 3> exact_match{};
    std::uint64_t samples = 0;
    comoments moments{}; ///< unclipped on MOSI/MOSEI, clipped to [-1, 1] on SIMS
};
static_assert(std::is_trivially_copyable_v<sentiment_state>);

[[nodiscard]] inline sentiment_state merge(const sentiment_state& a, const sentiment_state& b) {
    sentiment_state out = a;
    for (std::size_t i = 0; i < 4; ++i) {
        out.binary_all[i] += b.binary_all[i];
        out.binary_nonzero[i] += b.binary_nonzero[i];
    }
    for (std::size_t i = 0; i < 3; ++i) {
        out.exact_match[i] += b.exact_match[i];
    }
    out.samples += b.samples;
    out.moments = merge(a.moments, b.moments);
    return out;
}

[[nodiscard]] inline std::string_view to_string(sentiment_dataset d) {
    return d == sentiment_dataset::mosi ? "mosi" : d == sentiment_dataset::mosei ? "mosei" : "sims";
}
[[nodiscard]] inline std::string_view to_string(sentiment_preset p) {
    return p == sentiment_preset::mmsa ? "mmsa" : "mult";
}

namespace detail {

/// numpy.clip followed by numpy.round, in the input's own precision.
template <class T>
double clip_round(T value, T bound) {
    const T clipped = std::clamp(value, T(-bound), bound);
    return round_half_to_even(static_cast<double>(clipped));
}

/// MMSA's CH-SIMS bins: left-open intervals (e_i, e_{i+1}]; edges compared in T (numpy
/// compares a float32 array with float32(edge)).
template <class T, std::size_t E>
std::uint32_t sims_bin(T value, const std::array<double, E>& edges) {
    std::uint32_t bin = 0;
    for (const double edge : edges) {
        bin += value > static_cast<T>(edge) ? 1U : 0U;
    }
    return bin;
}

/// round_half_to_even(clip(value, ±3)) as an int for a finite value, without branches so
/// that loops of it vectorise (a float ?: is a branch under the default -ftrapping-math):
/// the clip is an arithmetic select, the floor a truncation and a compare (|value| <= 3
/// fits an int), and the result goes up when the fraction (exact in T) is above one half, or
/// is one half and the floor is odd. Clipping to ±2 or ±1 before rounding gives this clamped
/// to ±2 or ±1 (the bounds are integers).
template <class T>
int rounded_grade(T value) noexcept {
    const T below = static_cast<T>(value < T(-3));
    const T above = static_cast<T>(value > T(3));
    const T clipped = value * (T(1) - below - above) + T(3) * (above - below); // exact
    const int truncated = static_cast<int>(clipped);
    const int floor = truncated - static_cast<int>(clipped < static_cast<T>(truncated));
    const T fraction = clipped - static_cast<T>(floor);
    const int up = static_cast<int>(fraction > T(0.5));
    const int half = static_cast<int>(fraction == T(0.5));
    return floor + (up | (half & floor & 1));
}

[[nodiscard]] inline int clamp_grade(int grade, int bound) noexcept {
    const int low = grade < -bound ? -bound : grade;
    return low > bound ? bound : low;
}

/// True when every truth and prediction of a block is finite (one vectorised pass).
template <class T>
bool all_finite(const T* truth, const T* pred, std::size_t count) noexcept {
    constexpr T largest = std::numeric_limits<T>::max();
    int finite = 1;
    for (std::size_t i = 0; i < count; ++i) {
        finite &= static_cast<int>(std::fabs(truth[i]) <= largest) &
                  static_cast<int>(std::fabs(pred[i]) <= largest);
    }
    return finite != 0;
}

inline confusion_counts binary_counts(const std::array<std::uint64_t, 4>& cells) {
    confusion_counts counts(2);
    for (std::size_t t = 0; t < 2; ++t) {
        for (std::size_t p = 0; p < 2; ++p) {
            counts.add(t, p, cells[t * 2 + p]);
        }
    }
    return counts;
}

inline constexpr double nan = std::numeric_limits<double>::quiet_NaN();

} // namespace detail

/// Multiclass accuracy after clipping both sides to [-bound, bound] and rounding half to
/// even (MMSA/MulT `multiclass_acc` on clipped arrays): bound 3 gives Acc-7, 2 gives Acc-5,
/// 1 gives Acc-3.
template <class T>
[[nodiscard]] double clipped_round_accuracy(std::span<const T> truth, std::span<const T> pred,
                                            T bound) {
    check_size("metrics::clipped_round_accuracy", "prediction count", truth.size(), pred.size());
    detail::require_samples("metrics::clipped_round_accuracy", static_cast<double>(truth.size()));
    std::size_t equal = 0;
    for (std::size_t i = 0; i < truth.size(); ++i) {
        if (!std::isfinite(static_cast<double>(truth[i])) ||
            !std::isfinite(static_cast<double>(pred[i]))) {
            detail::throw_non_finite(
                "metrics::clipped_round_accuracy", "input", i,
                static_cast<double>(std::isfinite(static_cast<double>(truth[i])) ? pred[i]
                                                                                 : truth[i]));
        }
        equal += detail::clip_round(truth[i], bound) == detail::clip_round(pred[i], bound);
    }
    return static_cast<double>(equal) / static_cast<double>(truth.size());
}

/// A regression-sentiment suite: update with (truth, prediction) scores, merge shards,
/// compute the preset's keys.
///
/// Keys, MMSA preset, MOSI/MOSEI: Has0_acc_2, Has0_F1_score, Non0_acc_2, Non0_F1_score,
/// Mult_acc_5, Mult_acc_7, MAE, Corr. MMSA preset, SIMS: Mult_acc_2, Mult_acc_3, Mult_acc_5,
/// F1_score, MAE, Corr. MulT preset, MOSI/MOSEI: MAE, Corr, Mult_acc_7, Mult_acc_5,
/// Acc_2_non0, F1_non0, Acc_2_all, F1_all, Weighted_acc_2. docs/metrics.md defines each.
class sentiment_suite {
public:
    explicit sentiment_suite(sentiment_dataset dataset,
                             sentiment_preset preset = sentiment_preset::mmsa,
                             nan_policy policy = nan_policy::error)
        : dataset_(dataset), preset_(preset), policy_(policy) {
        if (dataset == sentiment_dataset::sims && preset != sentiment_preset::mmsa) {
            throw value_error("metrics::sentiment_suite: dataset \"sims\": expected preset "
                              "\"mmsa\" (the only peer definition of CH-SIMS metrics), got \"" +
                              std::string(to_string(preset)) + "\"");
        }
    }

    /// Adds every pair. A span longer than detail::parallel_block is split into blocks of
    /// that size, computed on the thread pool and merged in block order, so the state has the
    /// same bits at any thread count (docs/metrics.md, "Threads").
    template <class T>
    void update(std::span<const T> truth, std::span<const T> pred) {
        update_blocks(truth, pred, std::span<const std::uint32_t>{});
    }

    /// Sample i counts weights[i] times (a bootstrap resample).
    template <class T>
    void update(std::span<const T> truth, std::span<const T> pred,
                std::span<const std::uint32_t> weights) {
        check_size("metrics::sentiment_suite::update", "weight count", truth.size(),
                   weights.size());
        update_blocks(truth, pred, weights);
    }

    void merge(const sentiment_suite& other) { state_ = metrics::merge(state_, other.state_); }
    void merge(const sentiment_state& other) { state_ = metrics::merge(state_, other); }

    [[nodiscard]] const sentiment_state& state() const noexcept { return state_; }
    [[nodiscard]] sentiment_state& state() noexcept { return state_; }
    [[nodiscard]] sentiment_dataset dataset() const noexcept { return dataset_; }
    [[nodiscard]] sentiment_preset preset() const noexcept { return preset_; }

    /// The preset's keys (value_error when no sample was seen).
    [[nodiscard]] suite_result compute() const {
        suite_result out;
        out.suite = std::string(to_string(dataset_));
        out.preset = std::string(to_string(preset_));
        out.count = static_cast<double>(state_.samples);
        detail::require_samples("metrics::sentiment_suite::compute", out.count);
        const auto all = detail::binary_counts(state_.binary_all);
        const auto n = static_cast<double>(state_.samples);
        const double corr = pearson(state_.moments);
        if (constant_input(state_.moments)) {
            out.warnings.emplace_back("Corr is NaN: predictions or truths are constant");
        }
        if (dataset_ == sentiment_dataset::sims) {
            out.add("Mult_acc_2", static_cast<double>(state_.exact_match[0]) / n);
            out.add("Mult_acc_3", static_cast<double>(state_.exact_match[1]) / n);
            out.add("Mult_acc_5", static_cast<double>(state_.exact_match[2]) / n);
            out.add("F1_score", f1(all, average::weighted));
            out.add("MAE", mae(state_.moments));
            out.add("Corr", corr);
            return out;
        }
        const auto nonzero = detail::binary_counts(state_.binary_nonzero);
        const bool has_nonzero = nonzero.total() > 0;
        if (!has_nonzero) {
            out.warnings.emplace_back("every truth is 0: the non-zero binary metrics are NaN");
        }
        if (preset_ == sentiment_preset::mmsa) {
            out.add("Has0_acc_2", accuracy(all));
            out.add("Has0_F1_score", f1(all, average::weighted));
            out.add("Non0_acc_2", has_nonzero ? accuracy(nonzero) : detail::nan);
            out.add("Non0_F1_score", has_nonzero ? f1(nonzero, average::weighted) : detail::nan);
            out.add("Mult_acc_5", static_cast<double>(state_.exact_match[1]) / n);
            out.add("Mult_acc_7", static_cast<double>(state_.exact_match[0]) / n);
            out.add("MAE", mae(state_.moments));
            out.add("Corr", corr);
            return out;
        }
        out.add("MAE", mae(state_.moments));
        out.add("Corr", corr);
        out.add("Mult_acc_7", static_cast<double>(state_.exact_match[0]) / n);
        out.add("Mult_acc_5", static_cast<double>(state_.exact_match[1]) / n);
        out.add("Acc_2_non0", has_nonzero ? accuracy(nonzero) : detail::nan);
        out.add("F1_non0", has_nonzero ? f1_weighted_by_prediction(nonzero) : detail::nan);
        out.add("Acc_2_all", accuracy(all));
        out.add("F1_all", f1_weighted_by_prediction(all));
        // MulT's weighted_accuracy: (TP * N/P + TN) / (2N) with P, N the true class sizes.
        const auto tn = static_cast<double>(state_.binary_all[0]);
        const auto negatives = static_cast<double>(state_.binary_all[0] + state_.binary_all[1]);
        const auto tp = static_cast<double>(state_.binary_all[3]);
        const auto positives = static_cast<double>(state_.binary_all[2] + state_.binary_all[3]);
        if (positives == 0 || negatives == 0) {
            out.warnings.emplace_back("Weighted_acc_2 is NaN: one true class is empty");
            out.add("Weighted_acc_2", detail::nan);
        } else {
            out.add("Weighted_acc_2", (tp * (negatives / positives) + tn) / (2 * negatives));
        }
        return out;
    }

private:
    /// `weights` is empty or as long as the scores.
    template <class T>
    void update_blocks(std::span<const T> truth, std::span<const T> pred,
                       std::span<const std::uint32_t> weights) {
        static_assert(std::is_floating_point_v<T>, "sentiment scores must be float or double");
        check_size("metrics::sentiment_suite::update", "prediction count", truth.size(),
                   pred.size());
        if (truth.size() <= detail::parallel_block) {
            accumulate(state_, truth, pred, weights, 0);
            return;
        }
        sentiment_state total = state_;
        detail::blocked_reduce(
            truth.size(),
            [&](std::size_t begin, std::size_t end) {
                const std::size_t count = end - begin;
                sentiment_state block{};
                accumulate(block, truth.subspan(begin, count), pred.subspan(begin, count),
                           weights.empty() ? weights : weights.subspan(begin, count), begin);
                return block;
            },
            [&](const sentiment_state& block) { total = metrics::merge(total, block); });
        state_ = total;
    }

    /// Adds one span's samples to `into`; `index_offset` is the span's position in the
    /// caller's input, for error messages.
    template <class T>
    void accumulate(sentiment_state& into, std::span<const T> truth, std::span<const T> pred,
                    std::span<const std::uint32_t> weights, std::size_t index_offset) const {
        constexpr std::size_t block = detail::moments_block;
        const bool sims = dataset_ == sentiment_dataset::sims;
        std::array<T, block> bt, bp;
        std::array<std::uint32_t, block> bw;
        for (std::size_t start = 0; start < truth.size(); start += block) {
            const std::size_t count = std::min(block, truth.size() - start);
            // The common case reads the scores where they are: unweighted MOSI/MOSEI blocks
            // of finite values (checked in one vectorised pass).
            if (!sims && weights.empty() &&
                detail::all_finite(truth.data() + start, pred.data() + start, count)) {
                count_scores(into, truth.data() + start, pred.data() + start, count,
                             detail::unit_weight{});
                into.moments = metrics::merge(
                    into.moments, detail::block_comoments(pred.data() + start, truth.data() + start,
                                                          count, detail::unit_weight{}));
                continue;
            }
            // Gather the block's usable samples (clipped on SIMS), applying the NaN policy.
            std::size_t kept = 0;
            for (std::size_t i = start; i < start + count; ++i) {
                const T t = truth[i];
                const T p = pred[i];
                if (!std::isfinite(static_cast<double>(t)) ||
                    !std::isfinite(static_cast<double>(p))) {
                    if (policy_ == nan_policy::error) {
                        const bool bad_pred = !std::isfinite(static_cast<double>(p));
                        detail::throw_non_finite(
                            "metrics::sentiment_suite::update", bad_pred ? "prediction" : "truth",
                            index_offset + i, static_cast<double>(bad_pred ? p : t));
                    }
                    continue;
                }
                const std::uint32_t w = weights.empty() ? 1U : weights[i];
                if (w == 0) {
                    continue;
                }
                bt[kept] = sims ? std::clamp(t, T(-1), T(1)) : t;
                bp[kept] = sims ? std::clamp(p, T(-1), T(1)) : p;
                bw[kept] = w;
                ++kept;
            }
            if (sims) {
                for (std::size_t i = 0; i < kept; ++i) {
                    count_sample(into, bt[i], bp[i], bw[i]);
                }
            } else {
                count_scores(into, bt.data(), bp.data(), kept,
                             detail::pointer_weight<std::uint32_t>{bw.data()});
            }
            const comoments m =
                weights.empty()
                    ? detail::block_comoments(bp.data(), bt.data(), kept, detail::unit_weight{})
                    : detail::block_comoments(bp.data(), bt.data(), kept,
                                              detail::pointer_weight<std::uint32_t>{bw.data()});
            into.moments = metrics::merge(into.moments, m);
        }
    }

    /// The MOSI/MOSEI counts of a block of finite scores, without branches so that the loop
    /// vectorises: each cell of a 2×2 table is derived from sums of 0/1 indicators, and the
    /// three accuracies from one rounding per score (detail::rounded_grade).
    template <class T, class WeightOf>
    void count_scores(sentiment_state& into, const T* truth, const T* pred, std::size_t count,
                      WeightOf weight) const {
        // A block of unit weights counts at most moments_block: 32-bit sums vectorise wider.
        using sum = std::conditional_t<std::is_same_v<WeightOf, detail::unit_weight>, std::uint32_t,
                                       std::uint64_t>;
        // MMSA splits at >= 0, MulT at > 0.
        const sum zero_is_up = preset_ == sentiment_preset::mmsa ? 1 : 0;
        sum total = 0, truth_up = 0, pred_up = 0, both_up = 0;
        sum truth_positive = 0, pred_positive_nonzero = 0, both_positive = 0;
        sum nonzero = 0, equal7 = 0, equal5 = 0, equal3 = 0;
        for (std::size_t i = 0; i < count; ++i) {
            const auto w = static_cast<sum>(weight(i));
            const T t = truth[i];
            const T p = pred[i];
            const sum tp = t > T(0);
            const sum pp = p > T(0);
            const sum nz = t != T(0);
            const sum tb = tp | (zero_is_up & static_cast<sum>(t == T(0)));
            const sum pb = pp | (zero_is_up & static_cast<sum>(p == T(0)));
            const int rt = detail::rounded_grade(t);
            const int rp = detail::rounded_grade(p);
            total += w;
            truth_up += w * tb;
            pred_up += w * pb;
            both_up += w * (tb & pb);
            nonzero += w * nz;
            truth_positive += w * tp;
            pred_positive_nonzero += w * (pp & nz);
            both_positive += w * (tp & pp);
            equal7 += w * static_cast<sum>(rt == rp);
            equal5 +=
                w * static_cast<sum>(detail::clamp_grade(rt, 2) == detail::clamp_grade(rp, 2));
            equal3 +=
                w * static_cast<sum>(detail::clamp_grade(rt, 1) == detail::clamp_grade(rp, 1));
        }
        into.samples += total;
        // [truth][pred]: 00, 01, 10, 11.
        into.binary_all[0] += total - truth_up - pred_up + both_up;
        into.binary_all[1] += pred_up - both_up;
        into.binary_all[2] += truth_up - both_up;
        into.binary_all[3] += both_up;
        into.binary_nonzero[0] += nonzero - truth_positive - pred_positive_nonzero + both_positive;
        into.binary_nonzero[1] += pred_positive_nonzero - both_positive;
        into.binary_nonzero[2] += truth_positive - both_positive;
        into.binary_nonzero[3] += both_positive;
        into.exact_match[0] += equal7;
        into.exact_match[1] += equal5;
        into.exact_match[2] += equal3;
    }

    template <class T>
    void count_sample(sentiment_state& into, T t, T p, std::uint32_t w) const {
        into.samples += w;
        if (dataset_ == sentiment_dataset::sims) {
            constexpr std::array<double, 1> two{0.0};
            constexpr std::array<double, 2> three{-0.1, 0.1};
            constexpr std::array<double, 4> five{-0.7, -0.1, 0.1, 0.7};
            const std::uint32_t t2 = detail::sims_bin(t, two);
            const std::uint32_t p2 = detail::sims_bin(p, two);
            into.binary_all[t2 * 2 + p2] += w;
            into.exact_match[0] += t2 == p2 ? w : 0;
            into.exact_match[1] += detail::sims_bin(t, three) == detail::sims_bin(p, three) ? w : 0;
            into.exact_match[2] += detail::sims_bin(t, five) == detail::sims_bin(p, five) ? w : 0;
            return;
        }
        const bool mmsa = preset_ == sentiment_preset::mmsa;
        const std::size_t tb = mmsa ? (t >= T(0)) : (t > T(0));
        const std::size_t pb = mmsa ? (p >= T(0)) : (p > T(0));
        into.binary_all[tb * 2 + pb] += w;
        if (t != T(0)) {
            into.binary_nonzero[(t > T(0)) * 2 + (p > T(0))] += w;
        }
        into.exact_match[0] += detail::clip_round(t, T(3)) == detail::clip_round(p, T(3)) ? w : 0;
        into.exact_match[1] += detail::clip_round(t, T(2)) == detail::clip_round(p, T(2)) ? w : 0;
        into.exact_match[2] += detail::clip_round(t, T(1)) == detail::clip_round(p, T(1)) ? w : 0;
    }

    sentiment_dataset dataset_;
    sentiment_preset preset_;
    nan_policy policy_;
    sentiment_state state_{};
};

} // namespace emofuse::metrics
