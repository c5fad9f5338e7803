// examples/eval/answers.cpp — reading LLM answers, the --aliases table and the --classes
// list, with errors naming file and line.
#include "answers.hpp"

#include "common/cli.hpp"
#include "options.hpp"

#include <emofuse/core/error.hpp>
#include <emofuse/metrics/llm_answers.hpp>
#ifdef EMOFUSE_EVAL_HAS_UNICODE
#include <emofuse/text/unicode_fold.hpp>
#endif

#include <nlohmann/json.hpp>

#include <cstddef>
#include <memory>
#include <set>
#include <span>
#include <string_view>
#include <utility>

namespace emofuse::eval {

namespace em = emofuse::metrics;

namespace {

/// A library message without its "namespace::function: " stage (the CLI names file:line).
std::string without_stage(const std::string& message) {
    const std::size_t colon = message.find(": ");
    return colon == std::string::npos ? message : message.substr(colon + 2);
}

em::text_normalizer unicode_normalizer() {
#ifdef EMOFUSE_EVAL_HAS_UNICODE
    return [](std::string_view text) { return emofuse::language::nfkc_casefold(text); };
#else
    throw cli::usage_error("--pred-format llm needs utf8proc, which this emofuse-eval was built "
                           "without (apt-get install libutf8proc-dev, then reconfigure)");
#endif
}

/// The answer parser with the --aliases table. `classes` (normalised class names, closed
/// sets) non-empty: every alias must map to one of them.
em::answer_parser read_aliases(const options& o, const std::set<std::string>& classes) {
    em::answer_parser parser(unicode_normalizer());
    if (o.aliases_path.empty()) {
        return parser;
    }
    const std::string name = display_name(o.aliases_path);
    for_each_data_line(o.aliases_path, [&](std::size_t line, std::string_view text) {
        const std::size_t comma = text.find(',');
        if (comma == std::string_view::npos ||
            text.find(',', comma + 1) != std::string_view::npos) {
            fail_at(name, line, "expected \"alias,label\" (one comma), got " + cli::quoted(text));
        }
        const std::string_view alias = trim(text.substr(0, comma));
        const std::string_view label = trim(text.substr(comma + 1));
        try {
            parser.add_alias(alias, label);
            if (!classes.empty() && classes.count(parser.normalize_item(label, "label")) == 0) {
                fail_at(name, line, "label " + cli::quoted(label) + " is not one of the --classes");
            }
        } catch (const emofuse::value_error& e) {
            fail_at(name, line, without_stage(e.what()));
        }
    });
    return parser;
}

/// The response on a data line: a JSON string when the line starts with '"' (multi-line
/// and empty answers), else the line itself.
std::string response_of(const text_file& file, std::size_t row) {
    const std::string& text = file.texts[row];
    if (text.empty() || text.front() != '"') {
        return text;
    }
    nlohmann::json value;
    try {
        value = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        fail_at(file.name, file.lines[row],
                "expected a JSON string (the line starts with '\"'): " + without_stage(e.what()));
    }
    if (!value.is_string()) {
        fail_at(file.name, file.lines[row], "expected one JSON string, got " + cli::quoted(text));
    }
    return value.get<std::string>();
}

/// Counts of what the answers held, said as notes.
struct answer_counts {
    std::size_t answers = 0, several_tags = 0, unclosed = 0, invalid = 0, several_classes = 0;

    void count(em::answer_tag tag, std::size_t answer_tags) {
        ++answers;
        several_tags += answer_tags > 1 ? 1 : 0;
        unclosed += tag == em::answer_tag::unclosed ? 1 : 0;
    }

    [[nodiscard]] std::vector<std::string> notes() const {
        std::vector<std::string> out;
        const auto of = [&](std::size_t n) {
            return std::to_string(n) + " of " + std::to_string(answers) + " answers ";
        };
        if (invalid > 0) {
            out.push_back(of(invalid) +
                          "name no class: counted wrong, as __invalid__ (see invalid_answers, "
                          "invalid_rate)");
        }
        if (several_classes > 0) {
            out.push_back(of(several_classes) + "name several classes: the first named counts");
        }
        if (several_tags > 0) {
            out.push_back(of(several_tags) + "have several <answer> tags: the first counts");
        }
        if (unclosed > 0) {
            out.push_back(of(unclosed) + "have an <answer> with no </answer>: read to the end");
        }
        return out;
    }
};

} // namespace

std::vector<std::vector<std::string>> answer_label_sets(const options& o, const text_file& pred,
                                                        std::vector<std::string>& notes) {
    const em::answer_parser parser = read_aliases(o, {});
    std::vector<std::vector<std::string>> out;
    out.reserve(pred.rows());
    answer_counts counts;
    for (std::size_t i = 0; i < pred.rows(); ++i) {
        try {
            auto parsed = parser.parse(response_of(pred, i));
            counts.count(parsed.tag, parsed.answer_tags);
            out.push_back(std::move(parsed.labels));
        } catch (const emofuse::value_error& e) {
            fail_at(pred.name, pred.lines[i], without_stage(e.what()));
        }
    }
    notes = counts.notes();
    return out;
}

bound_suite bind_class_answers(const options& o, em::emotion_suite_kind kind) {
    if (o.classes.empty()) {
        throw cli::usage_error("--pred-format llm with --suite " + o.suite +
                               " needs --classes: the class names in id order");
    }
    const std::size_t k = o.classes.size();
    if (o.num_classes != 0 && o.num_classes != k) {
        throw cli::usage_error("--num-classes " + std::to_string(o.num_classes) +
                               " but --classes has " + std::to_string(k) + " names");
    }
    if (o.logits) {
        throw cli::usage_error("--logits and --pred-format llm exclude each other");
    }
    try {
        em::emotion_suite probe(kind, k, em::nan_policy::error, em::invalid_answers::counted);
    } catch (const emofuse::value_error& e) {
        throw cli::usage_error("--classes: " + std::to_string(k) +
                               " names: " + without_stage(e.what()));
    }
    const em::answer_parser no_aliases(unicode_normalizer());
    std::set<std::string> normalised_classes;
    for (const auto& c : o.classes) {
        try {
            normalised_classes.insert(no_aliases.normalize_item(c, "class name"));
        } catch (const emofuse::value_error& e) {
            throw cli::usage_error("--classes: " + without_stage(e.what()));
        }
    }
    const auto parser =
        std::make_shared<const em::answer_parser>(read_aliases(o, normalised_classes));
    std::unique_ptr<em::closed_set_matcher> matcher;
    try {
        matcher = std::make_unique<em::closed_set_matcher>(*parser, o.classes);
    } catch (const emofuse::value_error& e) {
        throw cli::usage_error("--classes: " + without_stage(e.what()));
    }

    const text_file pred_file = read_text(o.pred_path);
    const numeric_file truth_file = read_truth(o, 1, "one class id per line");
    check_same_length(pred_file.name, pred_file.lines, truth_file.name, truth_file.lines);
    auto truth = std::make_shared<std::vector<int>>();
    auto pred = std::make_shared<std::vector<int>>();
    truth->reserve(truth_file.rows());
    pred->reserve(truth_file.rows());
    answer_counts counts;
    for (std::size_t i = 0; i < truth_file.rows(); ++i) {
        truth->push_back(class_id(truth_file, i, truth_file.row(i)[0], k));
        em::closed_set_answer answer;
        try {
            answer = matcher->match(response_of(pred_file, i));
        } catch (const emofuse::value_error& e) {
            fail_at(pred_file.name, pred_file.lines[i], without_stage(e.what()));
        }
        counts.count(answer.tag, answer.answer_tags);
        counts.invalid += answer.class_id == em::closed_set_answer::invalid ? 1 : 0;
        counts.several_classes += answer.classes_named > 1 ? 1 : 0;
        pred->push_back(answer.class_id == em::closed_set_answer::invalid ? static_cast<int>(k)
                                                                          : answer.class_id);
    }
    bound_suite bound;
    bound.samples = bound.scored = truth->size();
    bound.num_classes = k + 1;
    bound.class_names = o.classes;
    bound.class_names.emplace_back("__invalid__");
    bound.notes = counts.notes();
    bound.evaluate = [=](std::span<const std::uint32_t> w) {
        em::emotion_suite suite(kind, k, em::nan_policy::error, em::invalid_answers::counted);
        if (w.empty()) {
            suite.update(std::span<const int>(*truth), std::span<const int>(*pred));
        } else {
            suite.update(std::span<const int>(*truth), std::span<const int>(*pred), w);
        }
        return suite.compute();
    };
    bound.confusion = [=] {
        em::confusion_counts table(k + 1);
        table.update(std::span<const int>(*truth), std::span<const int>(*pred));
        return table;
    };
    return bound;
}

} // namespace emofuse::eval
