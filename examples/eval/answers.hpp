// examples/eval/answers.hpp — emofuse-eval --pred-format llm: free-text LLM answers (one per
// line, or a JSON string for multi-line and empty ones) read into label sets for ov and into
// class ids (with an __invalid__ class) for the single-label class suites.
#pragma once

#include "binders.hpp"
#include "input.hpp"

#include <emofuse/metrics/emotion.hpp>

#include <string>
#include <vector>

namespace emofuse::eval {

struct options;

/// ov: each answer's labels (normalised, aliased, de-duplicated); what the answers held
/// (several or unclosed <answer> tags) is added to `notes`.
[[nodiscard]] std::vector<std::vector<std::string>>
answer_label_sets(const options& o, const text_file& pred, std::vector<std::string>& notes);

/// Single-label class suites: truth class ids, predictions LLM answers naming one of the
/// --classes; an answer naming none is the extra class __invalid__ (id K), counted wrong.
[[nodiscard]] bound_suite bind_class_answers(const options& o, metrics::emotion_suite_kind kind);

} // namespace emofuse::eval
