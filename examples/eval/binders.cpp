// examples/eval/binders.cpp — reading each input format into a suite's data and binding the
// suite's metrics to it.
#include "binders.hpp"

#include "answers.hpp"
#include "common/cli.hpp"
#include "common/metric_suites.hpp"
#include "input.hpp"
#include "options.hpp"

#include <emofuse/core/error.hpp>
#include <emofuse/metrics/emotion.hpp>
#include <emofuse/metrics/open_vocabulary.hpp>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace emofuse::eval {

namespace em = emofuse::metrics;

namespace {

/// The kept samples' values of a one-column file (moved out when every sample is kept).
std::vector<double> kept_column(numeric_file& file, const std::vector<std::size_t>& keep) {
    if (keep.size() == file.rows()) {
        return std::move(file.values);
    }
    std::vector<double> out;
    out.reserve(keep.size());
    for (const auto i : keep) {
        out.push_back(file.values[i]);
    }
    return out;
}

std::size_t argmax(const double* row, std::size_t count) {
    return static_cast<std::size_t>(std::max_element(row, row + count) - row); // first max
}

/// K for classification without --num-classes: the largest id + 1 (at least 2), refusing an
/// implausible K at the line that implies it.
std::size_t infer_classes(const numeric_file& pred, const numeric_file& truth,
                          const std::vector<std::size_t>& keep, bool logits) {
    double largest = 0;
    const numeric_file* where = nullptr;
    std::size_t where_row = 0;
    const auto consider = [&](const numeric_file& file, std::size_t row) {
        const double v = file.row(row)[0];
        if (v > largest) {
            largest = v;
            where = &file;
            where_row = row;
        }
    };
    for (const auto i : keep) {
        consider(truth, i);
        if (!logits) {
            consider(pred, i);
        }
    }
    if (largest >= static_cast<double>(max_classes)) {
        fail_at(where->name, where->lines[where_row],
                "class id " + shortest(largest) + " would make more than " +
                    std::to_string(max_classes) +
                    " classes, the most inferred from the data; fix the line, or give "
                    "--num-classes K to check every id against K");
    }
    return static_cast<std::size_t>(std::max(2.0, std::floor(largest) + 1));
}

struct label_data {
    std::vector<int> truth, pred;
    std::vector<double> val_truth, val_pred;
};

em::grouping_table read_groups(const std::string& path) {
    const text_file file = read_text(path);
    em::grouping_table table;
    for (std::size_t i = 0; i < file.rows(); ++i) {
        const std::string& text = file.texts[i];
        const auto comma = text.find(',');
        if (comma == std::string::npos) {
            fail_at(file.name, file.lines[i], "expected \"word,group\", got " + cli::quoted(text));
        }
        // Checked here rather than left to grouping_table::add, whose messages repeat the
        // whole entry: echoed input stays short.
        const std::string_view word = trim(std::string_view(text).substr(0, comma));
        const std::string_view group = trim(std::string_view(text).substr(comma + 1));
        if (word.empty() || group.empty()) {
            fail_at(file.name, file.lines[i],
                    "expected a non-empty word and group, got " + cli::quoted(text));
        }
        try {
            table.add(word, group);
        } catch (const emofuse::error&) {
            fail_at(file.name, file.lines[i],
                    "word " + cli::quoted(word) + " already has the group " +
                        cli::quoted(table.group_of(word)) + ", got " + cli::quoted(group));
        }
    }
    return table;
}

using word_sets = std::vector<cli::suites::word_set>;

/// Comma-separated words per line; "-" is the empty set (a blank line would be skipped).
word_sets parse_word_sets(const text_file& file) {
    word_sets out;
    out.reserve(file.rows());
    for (const auto& text : file.texts) {
        out.push_back(text == "-" ? cli::suites::word_set{} : cli::suites::split_words(text));
    }
    return out;
}

} // namespace

bound_suite bind_scores(const options& o, std::string_view suite, std::string_view preset) {
    auto pred_file = read_numeric(o.pred_path, 1, "one score per line");
    auto truth_file = read_truth(o, 1, "one score per line");
    check_same_length(pred_file.name, pred_file.lines, truth_file.name, truth_file.lines);
    const auto keep = finite_samples(pred_file, truth_file, o.nan);
    auto columns = std::make_shared<std::pair<std::vector<double>, std::vector<double>>>(
        kept_column(truth_file, keep), kept_column(pred_file, keep));
    bound_suite bound;
    bound.samples = bound.scored = keep.size();
    bound.evaluate =
        cli::suites::score_evaluator(suite, preset, std::span<const double>(columns->first),
                                     std::span<const double>(columns->second), columns);
    return bound;
}

bound_suite bind_class_ids(const options& o, std::string_view suite, std::size_t default_classes) {
    const bool valence = cli::suites::has_valence(suite);
    const auto kind = cli::suites::emotion_kind(suite);
    const std::size_t extra = valence ? 1 : 0;
    const std::string truth_what = valence ? "class and valence" : "one class id per line";
    // With --logits and no --num-classes, the first line's column count sets K.
    const std::size_t pred_columns = !o.logits            ? 1 + extra
                                     : o.num_classes == 0 ? 0
                                                          : o.num_classes + extra;
    auto pred_file =
        read_numeric(o.pred_path, pred_columns,
                     o.logits ? (valence ? "--logits: K logits then valence" : "--logits: K logits")
                              : truth_what);
    auto truth_file = read_truth(o, 1 + extra, truth_what);
    check_same_length(pred_file.name, pred_file.lines, truth_file.name, truth_file.lines);
    std::size_t k = o.num_classes;
    if (o.logits && k == 0 && pred_file.rows() > 0) {
        k = pred_file.columns > extra ? pred_file.columns - extra : 0;
        if (k == 0) {
            fail_at(pred_file.name, pred_file.lines.front(), "expected at least one logit");
        }
        if (k > max_classes) {
            fail_at(pred_file.name, pred_file.lines.front(),
                    std::to_string(k) + " logits per line is more than " +
                        std::to_string(max_classes) + " classes");
        }
    }
    const auto keep = finite_samples(pred_file, truth_file, o.nan);
    if (k == 0) {
        k = default_classes != 0 ? default_classes
                                 : infer_classes(pred_file, truth_file, keep, o.logits);
    }
    auto data = std::make_shared<label_data>();
    data->truth.reserve(keep.size());
    data->pred.reserve(keep.size());
    for (const auto i : keep) {
        data->truth.push_back(class_id(truth_file, i, truth_file.row(i)[0], k));
        data->pred.push_back(o.logits ? static_cast<int>(argmax(pred_file.row(i), k))
                                      : class_id(pred_file, i, pred_file.row(i)[0], k));
        if (valence) {
            data->val_truth.push_back(truth_file.row(i)[extra]);
            data->val_pred.push_back(pred_file.row(i)[pred_file.columns - 1]);
        }
    }
    em::emotion_suite probe(kind, k); // validates K for the suite now
    bound_suite bound;
    bound.samples = bound.scored = keep.size();
    bound.num_classes = k;
    bound.evaluate = cli::suites::class_evaluator(
        suite, k, std::span<const int>(data->truth), std::span<const int>(data->pred),
        std::span<const double>(data->val_truth), std::span<const double>(data->val_pred), data);
    bound.confusion = [=] {
        em::confusion_counts counts(k);
        counts.update(std::span<const int>(data->truth), std::span<const int>(data->pred));
        return counts;
    };
    return bound;
}

bound_suite bind_binary_emotions(const options& o) {
    constexpr std::size_t emotions = 4;
    auto pred_file =
        read_numeric(o.pred_path, o.logits ? 2 * emotions : emotions,
                     o.logits ? "--logits: 2 logits per emotion" : "4 per-emotion 0/1 labels");
    auto truth_file = read_truth(o, emotions, "4 per-emotion 0/1 labels");
    check_same_length(pred_file.name, pred_file.lines, truth_file.name, truth_file.lines);
    const auto keep = finite_samples(pred_file, truth_file, o.nan);
    auto data = std::make_shared<label_data>();
    data->truth.reserve(keep.size() * emotions);
    data->pred.reserve(keep.size() * emotions);
    for (const auto i : keep) {
        for (std::size_t e = 0; e < emotions; ++e) {
            data->truth.push_back(class_id(truth_file, i, truth_file.row(i)[e], 2));
            data->pred.push_back(o.logits ? static_cast<int>(argmax(pred_file.row(i) + 2 * e, 2))
                                          : class_id(pred_file, i, pred_file.row(i)[e], 2));
        }
    }
    bound_suite bound;
    bound.samples = bound.scored = keep.size();
    bound.evaluate = cli::suites::binary_emotion_evaluator(std::span<const int>(data->truth),
                                                           std::span<const int>(data->pred), data);
    return bound;
}

bound_suite bind_open_vocabulary(const options& o) {
    std::vector<em::grouping_table> tables;
    for (const auto& path : o.group_paths) {
        tables.push_back(read_groups(path));
    }
    if (!o.truth_split.empty()) {
        throw cli::usage_error("--split and --labels read numeric labels; the ov suite reads "
                               "word sets from text files");
    }
    const text_file pred_file = read_text(o.pred_path);
    const text_file truth_file = read_text(o.truth_path);
    check_same_length(pred_file.name, pred_file.lines, truth_file.name, truth_file.lines);
    auto truth = std::make_shared<word_sets>(parse_word_sets(truth_file));
    std::vector<std::string> notes;
    auto pred = std::make_shared<word_sets>(o.predictions == pred_format::llm
                                                ? answer_label_sets(o, pred_file, notes)
                                                : parse_word_sets(pred_file));
    auto scoring = cli::suites::open_vocabulary_evaluator(std::move(tables), truth, pred);
    bound_suite bound;
    bound.notes = std::move(notes);
    bound.samples = truth->size();
    bound.scored = scoring.scored;
    if (bound.samples > 0 && bound.scored == 0) {
        throw input_error(truth_file.name + ": every truth set is empty ('-'); ov scores only "
                                            "samples with a non-empty truth set");
    }
    bound.evaluate = std::move(scoring.evaluate);
    return bound;
}

} // namespace emofuse::eval
