// examples/eval/binders.hpp — suites bound to parsed data: each binder reads both files in
// its input format, applies the NaN policy and returns an evaluate(weights) function that
// the plain run and every bootstrap resample call.
#pragma once

#include <emofuse/metrics/confusion.hpp>
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

/// mosi, mosei, sims (presets mmsa, mult) and regression (mertools, torchmetrics): one score
/// per line.
[[nodiscard]] bound_suite bind_scores(const options& o, std::string_view suite,
                                      std::string_view preset);

/// Single-label class suites: one class id per line (or K logits with --logits), plus a
/// valence column for mer2023. default_classes = 0: K is the largest id + 1.
[[nodiscard]] bound_suite bind_class_ids(const options& o, std::string_view suite,
                                         std::size_t default_classes);

/// iemocap mult: four per-emotion 0/1 columns (eight logits with --logits).
[[nodiscard]] bound_suite bind_binary_emotions(const options& o);

/// ov: comma-separated words per line (or LLM answers), grouped by the --groups tables.
[[nodiscard]] bound_suite bind_open_vocabulary(const options& o);

/// ov mertools / mertools2026: answers scored on the --wheel folder (wheel_binder.cpp).
[[nodiscard]] bound_suite bind_emotion_wheel(const options& o, std::string_view preset);

} // namespace emofuse::eval
