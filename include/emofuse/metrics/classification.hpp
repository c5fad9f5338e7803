// emofuse/metrics/classification.hpp — single-label classification metrics computed from
// confusion counts, with scikit-learn's semantics (zero_division = 0), and the
// classification accumulator (update / merge / compute).
#pragma once

#include <emofuse/core/error.hpp>
#include <emofuse/metrics/confusion.hpp>
#include <emofuse/metrics/numeric.hpp>
#include <emofuse/metrics/policy.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

namespace emofuse::metrics {

/// How per-class scores are averaged (scikit-learn's `average=`).
/// - macro: unweighted mean over the classes that occur in truth OR prediction (sklearn's
///   default labels); classes absent from both are ignored.
/// - micro: from global TP/FP/FN; for single-label data all three equal accuracy.
/// - weighted: mean weighted by TRUE-class support.
enum class average { macro, micro, weighted };

/// Per-class precision, recall and F1 (index = class id). An undefined ratio (no predictions
/// of a class, or no true samples of it) is 0, as scikit-learn's zero_division=0 (and its
/// default "warn") gives.
struct per_class_scores {
    std::vector<double> precision;
    std::vector<double> recall;
    std::vector<double> f1;
    std::vector<std::uint64_t> support;   ///< true samples per class
    std::vector<std::uint64_t> predicted; ///< predicted samples per class
    std::vector<bool> present;            ///< class occurs in truth or prediction
};

[[nodiscard]] inline per_class_scores per_class(const confusion_counts& counts) {
    const std::size_t k = counts.num_classes();
    per_class_scores out;
    out.support = counts.true_support();
    out.predicted = counts.predicted_support();
    out.precision.assign(k, 0.0);
    out.recall.assign(k, 0.0);
    out.f1.assign(k, 0.0);
    out.present.assign(k, false);
    for (std::size_t c = 0; c < k; ++c) {
        const auto tp = static_cast<double>(counts(c, c));
        const double p = out.predicted[c] ? tp / static_cast<double>(out.predicted[c]) : 0.0;
        const double r = out.support[c] ? tp / static_cast<double>(out.support[c]) : 0.0;
        const double denominator = p + r;
        out.precision[c] = p;
        out.recall[c] = r;
        out.f1[c] = denominator == 0.0 ? 0.0 : 2.0 * p * r / denominator;
        out.present[c] = out.support[c] + out.predicted[c] > 0;
    }
    return out;
}

/// Fraction of samples whose prediction equals the truth (accuracy; "WA" in speech-emotion
/// papers).
[[nodiscard]] inline double accuracy(const confusion_counts& counts) {
    const auto n = static_cast<double>(counts.total());
    detail::require_samples("metrics::accuracy", n);
    std::uint64_t correct = 0;
    for (std::size_t c = 0; c < counts.num_classes(); ++c) {
        correct += counts(c, c);
    }
    return static_cast<double>(correct) / n;
}

namespace detail {

inline double average_scores(const std::vector<double>& scores, const per_class_scores& pc,
                             average how) {
    std::vector<double> values;
    std::vector<double> weights;
    for (std::size_t c = 0; c < scores.size(); ++c) {
        if (pc.present[c]) {
            values.push_back(scores[c]);
            weights.push_back(static_cast<double>(pc.support[c]));
        }
    }
    if (how == average::macro) {
        return numpy_sum(values.data(), values.size()) / static_cast<double>(values.size());
    }
    const double total_weight = numpy_sum(weights.data(), weights.size());
    if (total_weight == 0.0) {
        return 0.0;
    }
    for (std::size_t i = 0; i < values.size(); ++i) {
        values[i] *= weights[i];
    }
    return numpy_sum(values.data(), values.size()) / total_weight;
}

} // namespace detail

/// Averaged precision (zero_division = 0).
[[nodiscard]] inline double precision(const confusion_counts& counts, average how) {
    detail::require_samples("metrics::precision", static_cast<double>(counts.total()));
    if (how == average::micro) {
        return accuracy(counts);
    }
    const auto pc = per_class(counts);
    return detail::average_scores(pc.precision, pc, how);
}

/// Averaged recall (zero_division = 0). `macro` includes classes that occur only in the
/// predictions (with recall 0); see unweighted_accuracy for the variant that does not.
[[nodiscard]] inline double recall(const confusion_counts& counts, average how) {
    detail::require_samples("metrics::recall", static_cast<double>(counts.total()));
    if (how == average::micro) {
        return accuracy(counts);
    }
    const auto pc = per_class(counts);
    return detail::average_scores(pc.recall, pc, how);
}

/// Averaged F1 (zero_division = 0).
[[nodiscard]] inline double f1(const confusion_counts& counts, average how) {
    detail::require_samples("metrics::f1", static_cast<double>(counts.total()));
    if (how == average::micro) {
        return accuracy(counts);
    }
    const auto pc = per_class(counts);
    return detail::average_scores(pc.f1, pc, how);
}

/// Weighted F1 with the arguments swapped, f1_score(pred, truth, average="weighted"): the
/// per-class F1 is the same but the weights are PREDICTED-class support (MulT, MultiBench).
[[nodiscard]] inline double f1_weighted_by_prediction(const confusion_counts& counts) {
    return f1(counts.transposed(), average::weighted);
}

/// UA / UAR: mean recall over the classes that occur in the truth (scikit-learn's
/// balanced_accuracy_score). Differs from recall(macro) when a class occurs only in the
/// predictions: that class is ignored here and counted as recall 0 there.
[[nodiscard]] inline double unweighted_accuracy(const confusion_counts& counts) {
    detail::require_samples("metrics::unweighted_accuracy", static_cast<double>(counts.total()));
    const auto pc = per_class(counts);
    std::vector<double> recalls;
    for (std::size_t c = 0; c < counts.num_classes(); ++c) {
        if (pc.support[c] > 0) {
            recalls.push_back(pc.recall[c]);
        }
    }
    return detail::numpy_sum(recalls.data(), recalls.size()) / static_cast<double>(recalls.size());
}

/// Cohen's kappa of truth vs prediction (unweighted), as scikit-learn computes it. NaN when
/// chance agreement is total (e.g. a single class in both), which sklearn also returns.
[[nodiscard]] inline double cohen_kappa(const confusion_counts& counts) {
    const auto n = static_cast<double>(counts.total());
    detail::require_samples("metrics::cohen_kappa", n);
    const std::size_t k = counts.num_classes();
    const auto rows = counts.true_support();
    const auto cols = counts.predicted_support();
    // scikit-learn works on the classes present in truth or prediction only.
    std::vector<std::size_t> labels;
    for (std::size_t c = 0; c < k; ++c) {
        if (rows[c] + cols[c] > 0) {
            labels.push_back(c);
        }
    }
    const std::size_t m = labels.size();
    std::vector<double> observed(m * m), expected(m * m);
    for (std::size_t a = 0; a < m; ++a) {
        for (std::size_t b = 0; b < m; ++b) {
            const bool off_diagonal = a != b;
            observed[a * m + b] =
                off_diagonal ? static_cast<double>(counts(labels[a], labels[b])) : 0.0;
            // sklearn: outer(column sums, row sums) / total, with the pred sums first.
            const double e =
                static_cast<double>(cols[labels[a]]) * static_cast<double>(rows[labels[b]]) / n;
            expected[a * m + b] = off_diagonal ? e : 0.0;
        }
    }
    const double disagreement = detail::numpy_sum(observed.data(), observed.size());
    const double chance = detail::numpy_sum(expected.data(), expected.size());
    if (chance == 0.0) {
        return std::numeric_limits<double>::quiet_NaN();
    }
    return 1.0 - disagreement / chance;
}

/// Every classification metric at once.
struct classification_report {
    double count = 0;
    double accuracy = 0;
    double unweighted_accuracy = 0; ///< UA / UAR / balanced accuracy
    double macro_precision = 0, macro_recall = 0, macro_f1 = 0;
    double micro_precision = 0, micro_recall = 0, micro_f1 = 0;
    double weighted_precision = 0, weighted_recall = 0, weighted_f1 = 0;
    double kappa = 0;
    bool kappa_undefined = false;
    per_class_scores classes;
};

[[nodiscard]] inline classification_report compute_classification(const confusion_counts& counts) {
    classification_report out;
    out.count = static_cast<double>(counts.total());
    detail::require_samples("metrics::compute_classification", out.count);
    out.classes = per_class(counts);
    const auto& pc = out.classes;
    out.accuracy = accuracy(counts);
    out.unweighted_accuracy = unweighted_accuracy(counts);
    out.macro_precision = detail::average_scores(pc.precision, pc, average::macro);
    out.macro_recall = detail::average_scores(pc.recall, pc, average::macro);
    out.macro_f1 = detail::average_scores(pc.f1, pc, average::macro);
    out.micro_precision = out.micro_recall = out.micro_f1 = out.accuracy;
    out.weighted_precision = detail::average_scores(pc.precision, pc, average::weighted);
    out.weighted_recall = detail::average_scores(pc.recall, pc, average::weighted);
    out.weighted_f1 = detail::average_scores(pc.f1, pc, average::weighted);
    out.kappa = cohen_kappa(counts);
    out.kappa_undefined = out.kappa != out.kappa;
    return out;
}

namespace detail {

/// update(truth, pred[, weights]) of integer labels for an accumulator `Derived` that keeps
/// them in its counts() (written once for every such accumulator).
template <class Derived>
class label_updates {
public:
    template <std::integral L>
    void update(std::span<const L> truth, std::span<const L> pred) {
        static_cast<Derived&>(*this).counts().update(truth, pred);
    }
    template <std::integral L>
    void update(std::span<const L> truth, std::span<const L> pred,
                std::span<const std::uint32_t> weights) {
        static_cast<Derived&>(*this).counts().update(truth, pred, weights);
    }
};

} // namespace detail

/// Accumulates confusion counts of integer labels and computes every classification metric.
class classification_accumulator : public detail::label_updates<classification_accumulator> {
public:
    explicit classification_accumulator(std::size_t num_classes) : counts_(num_classes) {}

    void merge(const classification_accumulator& other) { counts_.merge(other.counts_); }

    [[nodiscard]] classification_report compute() const { return compute_classification(counts_); }
    [[nodiscard]] const confusion_counts& counts() const noexcept { return counts_; }
    [[nodiscard]] confusion_counts& counts() noexcept { return counts_; }

private:
    confusion_counts counts_;
};

} // namespace emofuse::metrics
