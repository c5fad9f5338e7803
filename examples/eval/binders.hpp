// examples/eval/binders.hpp — suites bound to parsed data: each binder reads both files in
// its input format, applies the NaN policy and returns an evaluate(weights) function that
// the plain run and every bootstrap resample call.
#pragma once

#include <emofuse/metrics/confusion.hpp>
#include <emofuse/metrics/emotion.hpp>
#include <emofuse/metrics/sentiment.hpp>
#include <emofuse/metrics/suite_result.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace emofuse::eval {

struct options;

/// A suite bound to parsed data: evaluate(weights) with empty weights = every sample once.
struct bound_suite {
    std::size_t samples = 0;     ///< samples the bootstrap resamples
    std::size_t scored = 0;      ///< samples the metrics count (ov skips empty truth sets)
    std::size_t num_classes = 0; ///< single-label class suites: K
    std::function<metrics::suite_result(std::span<const std::uint32_t>)> evaluate;
    std::function<metrics::confusion_counts()> confusion; ///< single-label class suites only
    std::vector<std::string> class_names; ///< confusion labels (empty: the class ids)
    std::vector<std::string> notes;       ///< said on stderr (what LLM answers held)
};

/// mosi, mosei, sims: one score per line; preset mmsa or mult.
[[nodiscard]] bound_suite bind_sentiment(const options& o, std::string_view preset,
                                         metrics::sentiment_dataset dataset);

/// regression: one value per line; preset mertools or torchmetrics.
[[nodiscard]] bound_suite bind_regression(const options& o, std::string_view preset);

/// Single-label class suites: one class id per line (or K logits with --logits), plus a
/// valence column when `valence`. default_classes = 0: K is the largest id + 1.
[[nodiscard]] bound_suite bind_class_ids(const options& o, metrics::emotion_suite_kind kind,
                                         std::size_t default_classes, bool valence);

/// iemocap mult: four per-emotion 0/1 columns (eight logits with --logits).
[[nodiscard]] bound_suite bind_binary_emotions(const options& o);

/// ov: comma-separated words per line (or LLM answers), grouped by the --groups tables.
[[nodiscard]] bound_suite bind_open_vocabulary(const options& o);

} // namespace emofuse::eval
