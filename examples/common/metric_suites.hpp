// examples/common/metric_suites.hpp — what emofuse-eval and the Python module share about the
// metric suites: the one table of suites and presets (names, input kind, default class count)
// and the evaluate(weights) functions that turn parsed data into a suite's result. Each front
// end reads its own input (text files, arrays) and words its own errors; a new suite, preset
// or result key is added here once.
#pragma once

#include <emofuse/metrics/emotion.hpp>
#include <emofuse/metrics/open_vocabulary.hpp>
#include <emofuse/metrics/policy.hpp>
#include <emofuse/metrics/regression_suite.hpp>
#include <emofuse/metrics/sentiment.hpp>
#include <emofuse/metrics/suite_result.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace emofuse::cli::suites {

/// What one sample holds.
enum class input_kind {
    scores,          ///< one real score
    class_ids,       ///< one class id (or K logits), mer2023 plus a valence
    binary_emotions, ///< per-emotion 0/1 columns (or two logits each)
    word_sets,       ///< comma-separated words
    /// comma-separated words scored on OV-MER emotion wheels (emofuse-eval's --wheel DIR;
    /// not offered by the Python module, which has no wheel-folder reader)
    wheel_word_sets,
};

struct preset_entry {
    std::string_view name;
    input_kind input;
    /// Takes free-text LLM answers as predictions (emofuse-eval --pred-format llm).
    bool answers = false;
    /// Decimals each run's values have in the peer's reports before they are averaged over
    /// runs (MMSA's MetricsTop rounds to 4); 0: unrounded.
    int run_decimals = 0;
};

inline constexpr std::size_t max_presets = 3;

struct suite_entry {
    std::string_view name;
    std::array<preset_entry, max_presets> preset_list;
    std::size_t preset_count;
    /// Class suites without a class count: K; 0 infers the largest id + 1 (at least 2).
    std::size_t default_classes;
    /// emofuse-eval's --help description; continuation lines start with '\n'. Empty: listed
    /// on the previous suite's row (same presets).
    std::string_view help;

    [[nodiscard]] constexpr std::span<const preset_entry> presets() const noexcept {
        return std::span<const preset_entry>(preset_list.data(), preset_count);
    }
};

namespace detail {
using enum input_kind;
inline constexpr preset_entry none{};
} // namespace detail

/// Every suite, in emofuse-eval's --help order; the first preset is the default.
inline constexpr std::array<suite_entry, 10> table = {{
    {"mosi",
     {{{"mmsa", detail::scores, false, 4}, {"mult", detail::scores}, detail::none}},
     2,
     0,
     "one sentiment score per line, in [-3, 3]"},
    {"mosei", {{{"mmsa", detail::scores, false, 4}, {"mult", detail::scores}, detail::none}}, 2, 0, ""},
    {"sims",
     {{{"mmsa", detail::scores, false, 4}, detail::none, detail::none}},
     1,
     0,
     "one sentiment score per line, in [-1, 1]"},
    {"regression",
     {{{"mertools", detail::scores}, {"torchmetrics", detail::scores}, detail::none}},
     2,
     0,
     "one value per line; CCC ddof 0 / 1"},
    {"classification",
     {{{"sklearn", detail::class_ids, true}, detail::none, detail::none}},
     1,
     0,
     "one class id per line (or --logits)"},
    {"iemocap",
     {{{"default", detail::class_ids, true}, {"mult", detail::binary_emotions}, detail::none}},
     2,
     4,
     "default: class ids, 4 or 6 classes;\n"
     "mult: 4 per-emotion 0/1 columns per line\n"
     "(with --logits: 8 columns, 2 logits per emotion)"},
    {"meld",
     {{{"default", detail::class_ids, true}, detail::none, detail::none}},
     1,
     7,
     "class ids, 7 emotions (or 3 sentiments)"},
    {"mer2023",
     {{{"mertools", detail::class_ids}, detail::none, detail::none}},
     1,
     6,
     "\"class valence\" per line (pred: --logits K logits + valence)"},
    {"mer2024",
     {{{"mertools", detail::class_ids, true}, detail::none, detail::none}},
     1,
     6,
     "class ids, 6 classes"},
    {"ov",
     {{{"default", detail::word_sets, true},
       {"mertools", detail::wheel_word_sets},
       {"mertools2026", detail::wheel_word_sets}}},
     3,
     0,
     "comma-separated emotion words per line; default: --groups\n"
     "maps words; mertools (MER2025), mertools2026: OV-MER\n"
     "emotion-wheel scoring on --wheel DIR [--level 1|2|both]"},
}};

/// Every suite has 1..max_presets named presets; a suite listed on the previous row (empty
/// help) has the same preset names, since --help shows them once.
constexpr bool well_formed(std::span<const suite_entry> suites) {
    for (std::size_t s = 0; s < suites.size(); ++s) {
        const suite_entry& suite = suites[s];
        if (suite.name.empty() || suite.preset_count == 0 || suite.preset_count > max_presets) {
            return false;
        }
        for (const auto& p : suite.presets()) {
            if (p.name.empty()) {
                return false;
            }
        }
        if (suite.help.empty()) {
            if (s == 0 || suites[s - 1].preset_count != suite.preset_count) {
                return false;
            }
            for (std::size_t p = 0; p < suite.preset_count; ++p) {
                if (suites[s - 1].preset_list[p].name != suite.preset_list[p].name) {
                    return false;
                }
            }
        }
    }
    return true;
}
static_assert(well_formed(table));

/// The suite named `name`, or nullptr.
[[nodiscard]] constexpr const suite_entry* find_suite(std::string_view name) noexcept {
    for (const auto& suite : table) {
        if (suite.name == name) {
            return &suite;
        }
    }
    return nullptr;
}

/// The suite's preset named `name` (empty: the default, its first), or nullptr.
[[nodiscard]] constexpr const preset_entry* find_preset(const suite_entry& suite,
                                                        std::string_view name) noexcept {
    if (name.empty()) {
        return &suite.presets().front();
    }
    for (const auto& preset : suite.presets()) {
        if (preset.name == name) {
            return &preset;
        }
    }
    return nullptr;
}

/// "a, b, c" of the suite names, or of one suite's preset names, each wrapped in `quote`.
[[nodiscard]] inline std::string suite_names(std::string_view quote = "") {
    std::string out;
    for (const auto& suite : table) {
        out += (out.empty() ? "" : ", ") + std::string(quote) + std::string(suite.name) +
               std::string(quote);
    }
    return out;
}
[[nodiscard]] inline std::string preset_names(const suite_entry& suite,
                                              std::string_view quote = "") {
    std::string out;
    for (const auto& preset : suite.presets()) {
        out += (out.empty() ? "" : ", ") + std::string(quote) + std::string(preset.name) +
               std::string(quote);
    }
    return out;
}

/// The library's kind of a single-label class suite (classification, iemocap, meld, mer2023,
/// mer2024).
[[nodiscard]] inline metrics::emotion_suite_kind emotion_kind(std::string_view suite) {
    using metrics::emotion_suite_kind;
    return suite == "classification" ? emotion_suite_kind::classification
           : suite == "iemocap"      ? emotion_suite_kind::iemocap
           : suite == "meld"         ? emotion_suite_kind::meld
           : suite == "mer2023"      ? emotion_suite_kind::mer2023
                                     : emotion_suite_kind::mer2024;
}

/// Whether a class suite's samples carry a valence score (mer2023).
[[nodiscard]] constexpr bool has_valence(std::string_view suite) noexcept {
    return suite == "mer2023";
}

/// A suite bound to its data: evaluate(weights) with empty weights = every sample once (what
/// the bootstrap resamples call with their counts). Each evaluator holds `owner`, which keeps
/// the viewed data alive.
using evaluator = std::function<metrics::suite_result(std::span<const std::uint32_t>)>;
using data_owner = std::shared_ptr<const void>;

namespace detail {

/// Calls f(data...) for the plain run and f(data..., weights) for a bootstrap resample.
template <class F, class... Data>
void apply_weights(std::span<const std::uint32_t> weights, F&& f, const Data&... data) {
    if (weights.empty()) {
        f(data...);
    } else {
        f(data..., weights);
    }
}

} // namespace detail

/// mosi, mosei, sims (presets mmsa, mult) and regression (mertools, torchmetrics) on score
/// pairs the caller has checked (finite, same length).
template <class T>
[[nodiscard]] evaluator score_evaluator(std::string_view suite, std::string_view preset,
                                        std::span<const T> truth, std::span<const T> pred,
                                        data_owner owner) {
    const auto run = [truth, pred, owner](auto make) -> evaluator {
        return [truth, pred, owner, make](std::span<const std::uint32_t> weights) {
            auto scored = make();
            detail::apply_weights(
                weights, [&](const auto&... a) { scored.update(a...); }, truth, pred);
            return scored.compute();
        };
    };
    if (suite == "regression") {
        const auto p = preset == "mertools" ? metrics::regression_preset::mertools
                                            : metrics::regression_preset::torchmetrics;
        return run([p] { return metrics::regression_suite(p, metrics::nan_policy::error); });
    }
    const auto dataset = suite == "mosi"    ? metrics::sentiment_dataset::mosi
                         : suite == "mosei" ? metrics::sentiment_dataset::mosei
                                            : metrics::sentiment_dataset::sims;
    const auto p =
        preset == "mmsa" ? metrics::sentiment_preset::mmsa : metrics::sentiment_preset::mult;
    return run(
        [dataset, p] { return metrics::sentiment_suite(dataset, p, metrics::nan_policy::error); });
}

/// A single-label class suite on checked class ids in [0, num_classes) (and, for mer2023,
/// valence scores of the same samples).
template <class Id>
[[nodiscard]] evaluator class_evaluator(std::string_view suite, std::size_t num_classes,
                                        std::span<const Id> truth, std::span<const Id> pred,
                                        std::span<const double> valence_truth,
                                        std::span<const double> valence_pred, data_owner owner) {
    const auto kind = emotion_kind(suite);
    return [kind, num_classes, truth, pred, valence_truth, valence_pred,
            owner](std::span<const std::uint32_t> weights) {
        metrics::emotion_suite scored(kind, num_classes);
        detail::apply_weights(
            weights, [&](const auto&... a) { scored.update(a...); }, truth, pred);
        if (scored.needs_valence()) {
            detail::apply_weights(
                weights, [&](const auto&... a) { scored.update_valence(a...); }, valence_truth,
                valence_pred);
        }
        return scored.compute();
    };
}

/// iemocap mult: four 0/1 labels per sample, sample-major.
template <class Id>
[[nodiscard]] evaluator binary_emotion_evaluator(std::span<const Id> truth,
                                                 std::span<const Id> pred, data_owner owner) {
    return [truth, pred, owner](std::span<const std::uint32_t> weights) {
        metrics::per_emotion_binary_suite scored;
        detail::apply_weights(
            weights, [&](const auto&... a) { scored.update(a...); }, truth, pred);
        return scored.compute();
    };
}

using word_set = metrics::open_vocabulary_suite::word_set;

/// The words of one comma-separated list, as given (blank entries dropped).
[[nodiscard]] inline word_set split_words(std::string_view text) {
    word_set words;
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t comma = std::min(text.find(',', start), text.size());
        const std::string_view word = text.substr(start, comma - start);
        if (word.find_first_not_of(" \t\n\v\f\r") != std::string_view::npos) { // isspace
            words.emplace_back(word);
        }
        start = comma + 1;
    }
    return words;
}

/// ov bound to its word sets: the suite scores a sample only when its truth set is
/// non-empty, so `scored` counts those, and a resample that draws none has no value (NaN
/// for every key, which the bootstrap leaves out of its percentiles).
struct open_vocabulary_binding {
    std::size_t scored = 0;
    evaluator evaluate;
};
[[nodiscard]] inline open_vocabulary_binding
open_vocabulary_evaluator(std::vector<metrics::grouping_table> tables,
                          std::shared_ptr<const std::vector<word_set>> truth,
                          std::shared_ptr<const std::vector<word_set>> pred) {
    if (tables.empty()) {
        tables.emplace_back(); // every word is its own group
    }
    auto scorable = std::make_shared<std::vector<bool>>();
    scorable->reserve(truth->size());
    for (const auto& words : *truth) {
        scorable->push_back(!words.empty());
    }
    open_vocabulary_binding out;
    out.scored = static_cast<std::size_t>(std::count(scorable->begin(), scorable->end(), true));
    out.evaluate = [tables = std::move(tables), truth, pred,
                    scorable](std::span<const std::uint32_t> weights) {
        bool any = weights.empty();
        for (std::size_t i = 0; i < weights.size() && !any; ++i) {
            any = weights[i] != 0 && (*scorable)[i];
        }
        if (!any) {
            metrics::suite_result none;
            for (const char* key : {"precision", "recall", "mer_ov_score", "f_score"}) {
                none.add(key, std::numeric_limits<double>::quiet_NaN());
            }
            return none;
        }
        metrics::open_vocabulary_suite scored(tables);
        detail::apply_weights(
            weights, [&](const auto&... a) { scored.update(a...); },
            std::span<const word_set>(*truth), std::span<const word_set>(*pred));
        return scored.compute();
    };
    return out;
}

} // namespace emofuse::cli::suites
