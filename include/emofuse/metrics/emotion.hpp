// emofuse/metrics/emotion.hpp — discrete-emotion suites (classification, IEMOCAP, MELD,
// MER2023, MER2024) and MulT's per-emotion binary IEMOCAP suite, over mergeable
// confusion-count states.
#pragma once

#include <emofuse/core/error.hpp>
#include <emofuse/metrics/classification.hpp>
#include <emofuse/metrics/confusion.hpp>
#include <emofuse/metrics/moments.hpp>
#include <emofuse/metrics/policy.hpp>
#include <emofuse/metrics/regression.hpp>
#include <emofuse/metrics/suite_result.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace emofuse::metrics {

/// The single-label emotion suites and their presets:
/// - classification / sklearn: accuracy, uar, macro_precision, macro_recall, macro_f1,
///   micro_precision, micro_recall, micro_f1, weighted_precision, weighted_recall,
///   weighted_f1, kappa (any K).
/// - iemocap / default (K = 4 or 6): accuracy (= WA), UA, weighted_f1, macro_f1.
/// - meld / default (K = 7 emotions or 3 sentiments): weighted_f1, accuracy.
/// - mer2023 / mertools (MERTools): emofscore (weighted F1), emoacc, valmse, overall
///   (= emofscore - 0.25 valmse); also needs valence scores.
/// - mer2024 / mertools: emofscore, emoacc.
enum class emotion_suite_kind { classification, iemocap, meld, mer2023, mer2024 };

[[nodiscard]] inline std::string_view to_string(emotion_suite_kind kind) {
    switch (kind) {
    case emotion_suite_kind::classification:
        return "classification";
    case emotion_suite_kind::iemocap:
        return "iemocap";
    case emotion_suite_kind::meld:
        return "meld";
    case emotion_suite_kind::mer2023:
        return "mer2023";
    case emotion_suite_kind::mer2024:
        return "mer2024";
    }
    return "?";
}

/// The one preset each single-label suite has.
[[nodiscard]] inline std::string_view default_preset(emotion_suite_kind kind) {
    switch (kind) {
    case emotion_suite_kind::classification:
        return "sklearn";
    case emotion_suite_kind::mer2023:
    case emotion_suite_kind::mer2024:
        return "mertools";
    default:
        return "default";
    }
}

/// Whether predictions may be "no class" (a free-text answer naming none of the classes).
/// `counted`: the confusion counts get an extra class, `__invalid__`, with id K, that only
/// predictions use: such a sample is wrong, and the metrics are scikit-learn's with
/// "__invalid__" as one more label (it joins the macro averages only when predicted; it
/// has no true samples, so weighted averages and UAR ignore it). The suite then also reports
/// `invalid_answers` (count) and `invalid_rate` (share of the samples).
enum class invalid_answers { none, counted };

/// A single-label emotion suite: confusion counts (plus valence co-moments for MER2023).
class emotion_suite : public detail::label_updates<emotion_suite> {
public:
    emotion_suite(emotion_suite_kind kind, std::size_t num_classes,
                  nan_policy policy = nan_policy::error,
                  invalid_answers invalid = invalid_answers::none)
        : kind_(kind), invalid_(invalid),
          counts_(num_classes + (invalid == invalid_answers::counted ? 1 : 0)), valence_(policy) {
        const auto bad_classes = [&](std::string_view expected) {
            throw value_error(mismatch_message("metrics::emotion_suite: suite \"" +
                                                   std::string(to_string(kind)) + "\"",
                                               "number of classes", expected, num_classes));
        };
        if (kind == emotion_suite_kind::iemocap && num_classes != 4 && num_classes != 6) {
            bad_classes("4 or 6");
        }
        if (kind == emotion_suite_kind::meld && num_classes != 7 && num_classes != 3) {
            bad_classes("7 (emotions) or 3 (sentiments)");
        }
    }

    [[nodiscard]] emotion_suite_kind kind() const noexcept { return kind_; }
    /// The class id of "names no class" (K) under invalid_answers::counted.
    [[nodiscard]] int invalid_class() const {
        if (invalid_ != invalid_answers::counted) {
            throw value_error("metrics::emotion_suite::invalid_class: the suite was built "
                              "with invalid_answers::none");
        }
        return static_cast<int>(counts_.num_classes() - 1);
    }
    [[nodiscard]] bool needs_valence() const noexcept {
        return kind_ == emotion_suite_kind::mer2023;
    }

    /// Class labels (ids in [0, K)).
    using detail::label_updates<emotion_suite>::update;

    /// Valence scores (MER2023 only).
    template <class T>
    void update_valence(std::span<const T> truth, std::span<const T> pred) {
        require_valence();
        valence_.update(truth, pred);
    }
    template <class T>
    void update_valence(std::span<const T> truth, std::span<const T> pred,
                        std::span<const std::uint32_t> weights) {
        require_valence();
        valence_.update(truth, pred, weights);
    }

    void merge(const emotion_suite& other) {
        counts_.merge(other.counts_);
        valence_.merge(other.valence_);
    }

    [[nodiscard]] const confusion_counts& counts() const noexcept { return counts_; }
    [[nodiscard]] confusion_counts& counts() noexcept { return counts_; }
    [[nodiscard]] const comoments& valence_state() const noexcept { return valence_.state(); }

    [[nodiscard]] suite_result compute() const {
        suite_result out;
        out.suite = std::string(to_string(kind_));
        out.preset = std::string(default_preset(kind_));
        out.count = static_cast<double>(counts_.total());
        detail::require_samples("metrics::emotion_suite::compute (" + out.suite + ")", out.count);
        switch (kind_) {
        case emotion_suite_kind::classification: {
            const auto r = compute_classification(counts_);
            out.add("accuracy", r.accuracy);
            out.add("uar", r.unweighted_accuracy);
            out.add("macro_precision", r.macro_precision);
            out.add("macro_recall", r.macro_recall);
            out.add("macro_f1", r.macro_f1);
            out.add("micro_precision", r.micro_precision);
            out.add("micro_recall", r.micro_recall);
            out.add("micro_f1", r.micro_f1);
            out.add("weighted_precision", r.weighted_precision);
            out.add("weighted_recall", r.weighted_recall);
            out.add("weighted_f1", r.weighted_f1);
            out.add("kappa", r.kappa);
            if (r.kappa_undefined) {
                out.warnings.emplace_back("kappa is NaN: chance agreement is total");
            }
            break;
        }
        case emotion_suite_kind::iemocap:
            out.add("accuracy", accuracy(counts_));
            out.add("UA", unweighted_accuracy(counts_));
            out.add("weighted_f1", f1(counts_, average::weighted));
            out.add("macro_f1", f1(counts_, average::macro));
            break;
        case emotion_suite_kind::meld:
            out.add("weighted_f1", f1(counts_, average::weighted));
            out.add("accuracy", accuracy(counts_));
            break;
        case emotion_suite_kind::mer2023: {
            if (valence_.state().n != static_cast<double>(counts_.total())) {
                throw value_error(mismatch_message("metrics::emotion_suite::compute (mer2023)",
                                                   "valence sample count", counts_.total(),
                                                   valence_.state().n));
            }
            const double fscore = f1(counts_, average::weighted);
            const double valmse = mse(valence_.state());
            out.add("emofscore", fscore);
            out.add("emoacc", accuracy(counts_));
            out.add("valmse", valmse);
            out.add("overall", fscore - valmse * 0.25);
            break;
        }
        case emotion_suite_kind::mer2024:
            out.add("emofscore", f1(counts_, average::weighted));
            out.add("emoacc", accuracy(counts_));
            break;
        }
        if (invalid_ == invalid_answers::counted) {
            const auto invalid =
                static_cast<double>(counts_.predicted_support()[counts_.num_classes() - 1]);
            out.add("invalid_answers", invalid);
            out.add("invalid_rate", invalid / out.count);
        }
        return out;
    }

private:
    void require_valence() const {
        if (!needs_valence()) {
            throw value_error("metrics::emotion_suite::update_valence: suite \"" +
                              std::string(to_string(kind_)) +
                              "\" has no valence metrics (only mer2023 does)");
        }
    }

    emotion_suite_kind kind_;
    invalid_answers invalid_;
    confusion_counts counts_;
    regression_accumulator valence_;
};

/// MulT's IEMOCAP evaluation (preset `mult`): one binary (present / absent) decision per
/// emotion; per emotion, accuracy and weighted F1 called as f1_score(truth, pred). Keys
/// `<Emotion>_acc`, `<Emotion>_f1` in emotion order (default: Neutral, Happy, Sad, Angry).
class per_emotion_binary_suite {
public:
    explicit per_emotion_binary_suite(std::vector<std::string> emotions = {"Neutral", "Happy",
                                                                           "Sad", "Angry"})
        : emotions_(std::move(emotions)), cells_(emotions_.size() * 4, 0) {
        if (emotions_.empty()) {
            throw value_error("metrics::per_emotion_binary_suite: expected at least one "
                              "emotion name, got none");
        }
    }

    [[nodiscard]] std::size_t num_emotions() const noexcept { return emotions_.size(); }
    [[nodiscard]] const std::vector<std::string>& emotions() const noexcept { return emotions_; }

    /// Row-major N×E 0/1 labels: truth[i*E + e] is whether sample i shows emotion e.
    template <std::integral L>
    void update(std::span<const L> truth, std::span<const L> pred) {
        update_impl(truth, pred, {});
    }
    template <std::integral L>
    void update(std::span<const L> truth, std::span<const L> pred,
                std::span<const std::uint32_t> weights) {
        check_size("metrics::per_emotion_binary_suite::update", "weight count",
                   truth.size() / emotions_.size(), weights.size());
        update_impl(truth, pred, weights);
    }

    void merge(const per_emotion_binary_suite& other) {
        check_size("metrics::per_emotion_binary_suite::merge", "number of emotions",
                   emotions_.size(), other.emotions_.size());
        for (std::size_t i = 0; i < cells_.size(); ++i) {
            cells_[i] += other.cells_[i];
        }
    }

    /// E × 2×2 counts ([emotion][truth][pred]), plain uint64 data.
    [[nodiscard]] std::span<std::uint64_t> state() noexcept { return cells_; }
    [[nodiscard]] std::span<const std::uint64_t> state() const noexcept { return cells_; }

    [[nodiscard]] suite_result compute() const {
        suite_result out;
        out.suite = "iemocap";
        out.preset = "mult";
        for (std::size_t e = 0; e < emotions_.size(); ++e) {
            confusion_counts counts(2);
            for (std::size_t c = 0; c < 4; ++c) {
                counts.add(c / 2, c % 2, cells_[e * 4 + c]);
            }
            out.count = static_cast<double>(counts.total());
            detail::require_samples("metrics::per_emotion_binary_suite::compute", out.count);
            out.add(emotions_[e] + "_acc", accuracy(counts));
            out.add(emotions_[e] + "_f1", f1(counts, average::weighted));
        }
        return out;
    }

private:
    template <std::integral L>
    void update_impl(std::span<const L> truth, std::span<const L> pred,
                     std::span<const std::uint32_t> weights) {
        const std::size_t e_count = emotions_.size();
        check_size("metrics::per_emotion_binary_suite::update", "prediction count", truth.size(),
                   pred.size());
        if (truth.size() % e_count != 0) {
            throw shape_error(emofuse::detail::concat_message(
                "metrics::per_emotion_binary_suite::update: label count: expected a multiple "
                "of the ",
                e_count, " emotions, got ", truth.size()));
        }
        detail::check_labels("metrics::per_emotion_binary_suite::update", "truth", truth, 2);
        detail::check_labels("metrics::per_emotion_binary_suite::update", "prediction", pred, 2);
        for (std::size_t i = 0; i < truth.size(); ++i) {
            const std::size_t e = i % e_count;
            const std::uint64_t w = weights.empty() ? 1U : weights[i / e_count];
            cells_[e * 4 + static_cast<std::size_t>(truth[i]) * 2 +
                   static_cast<std::size_t>(pred[i])] += w;
        }
    }

    std::vector<std::string> emotions_;
    std::vector<std::uint64_t> cells_;
};

} // namespace emofuse::metrics
