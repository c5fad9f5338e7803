// emofuse-eval — evaluates predictions against truths with a named, peer-compatible metric
// suite, optionally with bootstrap confidence intervals and a confusion-matrix heat map.
// Usage: emofuse-eval --help
#include "common/cli.hpp"

#include <emofuse/core/error.hpp>
#include <emofuse/io/detail/binary_file.hpp>
#include <emofuse/metrics/bootstrap.hpp>
#include <emofuse/metrics/confusion.hpp>
#include <emofuse/metrics/emotion.hpp>
#include <emofuse/metrics/open_vocabulary.hpp>
#include <emofuse/metrics/policy.hpp>
#include <emofuse/metrics/regression_suite.hpp>
#include <emofuse/metrics/sentiment.hpp>
#include <emofuse/metrics/suite_result.hpp>

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace em = emofuse::metrics;
namespace cli = emofuse::cli;

namespace {

/// Most classes emofuse-eval handles (a K×K table of 64-bit counts is 128 MiB at 4096), both
/// inferred from the data and given with --num-classes.
constexpr std::size_t max_classes = 4096;
/// Most classes a --confusion-svg heat map draws (100 × 100 cells is about 4 MB of SVG).
constexpr std::size_t max_svg_classes = 100;
/// Most bootstrap resamples (each keeps one value per metric).
constexpr std::size_t max_bootstrap = 1'000'000;
/// Most bootstrap threads (0 = all cores).
constexpr unsigned max_threads = 1024;

constexpr const char* usage_text =
    R"(usage: emofuse-eval --suite NAME --pred FILE --truth FILE [options]

Suites (presets; the first is the default):
  mosi, mosei     (mmsa, mult)   one sentiment score per line, in [-3, 3]
  sims            (mmsa)         one sentiment score per line, in [-1, 1]
  regression      (mertools, torchmetrics)  one value per line; CCC ddof 0 / 1
  classification  (sklearn)      one class id per line (or --logits)
  iemocap         (default, mult) default: class ids, 4 or 6 classes;
                                 mult: 4 per-emotion 0/1 columns per line
                                 (with --logits: 8 columns, 2 logits per emotion)
  meld            (default)      class ids, 7 emotions (or 3 sentiments)
  mer2023         (mertools)     "class valence" per line (pred: --logits K logits + valence)
  mer2024         (mertools)     class ids, 6 classes
  ov              (default)      comma-separated emotion words per line; --groups maps words

Options:
  --suite NAME          metric suite (required)
  --pred FILE           predictions, one sample per line ('-' reads stdin)
  --truth FILE          ground truth, one sample per line ('-' reads stdin)
  --preset P            peer definition of the suite's metrics
  --num-classes K       number of classes (class suites), 1..4096; without it K is the
                        suite's default, or for classification the largest id + 1 (at most 4096)
  --logits              prediction lines hold K scores; the class is their argmax
  --groups FILE         CSV word,group table for ov (repeat to average over tables)
  --bootstrap N         N-resample percentile bootstrap confidence intervals, 0..1000000
                        (progress on stderr when it is a terminal)
  --seed S              bootstrap seed, 0..18446744073709551615 (default 0)
  --confidence C        bootstrap interval coverage, in (0, 1) (default 0.95)
  --threads T           bootstrap threads, 0..1024 (default 0: all cores)
  --nan error|skip      non-finite values: fail (default) or drop the sample
  --format json|table   output format (default json)
  --confusion-svg FILE  write a labelled confusion-matrix heat map (class suites, at most
                        100 classes); an existing FILE is replaced
Input is UTF-8 text (a byte-order mark is ignored). Blank lines and lines starting with '#'
are ignored.
)";

/// Bad input data or unreadable files: exit 1.
struct input_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct options {
    bool help = false;
    std::string suite;
    std::string preset;
    std::string pred_path;
    std::string truth_path;
    std::vector<std::string> group_paths;
    std::size_t num_classes = 0;
    bool logits = false;
    std::size_t bootstrap = 0;
    std::uint64_t seed = 0;
    double confidence = 0.95;
    unsigned threads = 0;
    em::nan_policy nan = em::nan_policy::error;
    std::string format = "json";
    std::string confusion_svg;
};

// ---------------------------------------------------------------------------------------
// Reading text files

std::string display_name(const std::string& path) {
    return path == "-" ? "<stdin>" : path;
}

[[noreturn]] void fail_at(const std::string& file, std::size_t line, const std::string& what) {
    throw input_error(file + ":" + std::to_string(line) + ": " + what);
}

std::string_view trim(std::string_view s) {
    std::size_t b = 0, e = s.size();
    while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) {
        ++b;
    }
    while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) {
        --e;
    }
    return s.substr(b, e - b);
}

/// Calls on_line(number, text) for every data line of a UTF-8 text file ('-': stdin), with
/// `text` trimmed; blank and '#' lines are skipped. A leading byte-order mark is dropped.
/// UTF-16 input, NUL bytes, directories and read errors are reported with their cause.
template <class OnLine>
void for_each_data_line(const std::string& path, OnLine&& on_line) {
    const std::string name = display_name(path);
    std::ifstream stream;
    std::istream* in = &std::cin;
    if (path != "-") {
        std::error_code ec;
        if (std::filesystem::is_directory(path, ec)) {
            throw input_error(name + ": is a directory, expected a text file");
        }
        errno = 0;
        stream.open(path, std::ios::binary);
        if (!stream) {
            throw input_error(name + ": cannot open: " + std::strerror(errno));
        }
        in = &stream;
    }
    std::string raw;
    std::size_t number = 0;
    errno = 0;
    while (std::getline(*in, raw)) {
        ++number;
        std::string_view text = raw;
        if (number == 1) {
            if (text.starts_with("\xFF\xFE") || text.starts_with("\xFE\xFF")) {
                throw input_error(name + ": UTF-16 text (it starts with a UTF-16 byte-order "
                                         "mark); convert it to UTF-8, e.g. with iconv -f "
                                         "UTF-16 -t UTF-8");
            }
            text = cli::strip_bom(text);
        }
        if (text.find('\0') != std::string_view::npos) {
            const auto nuls = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\0'));
            if (nuls * 4 >= text.size()) {
                fail_at(name, number,
                        "UTF-16 text? (" + std::to_string(nuls) + " of " +
                            std::to_string(text.size()) +
                            " bytes are NUL); convert it to UTF-8, e.g. with iconv -f UTF-16 -t "
                            "UTF-8");
            }
            fail_at(name, number, "NUL byte in " + cli::quoted(text) + ": expected text");
        }
        text = trim(text);
        if (text.empty() || text.front() == '#') {
            continue;
        }
        on_line(number, text);
    }
    if (in->bad()) {
        const int code = errno;
        throw input_error(name + ": read error after line " + std::to_string(number) + ": " +
                          (code != 0 ? std::strerror(code) : "I/O error"));
    }
}

/// Numeric rows parsed as they are read: values row-major, and each row's line number for
/// messages. Peak memory is the doubles plus one line number per row.
struct numeric_file {
    std::string name;
    std::size_t columns = 0;
    std::vector<double> values;
    std::vector<std::size_t> lines;

    [[nodiscard]] std::size_t rows() const noexcept { return lines.size(); }
    [[nodiscard]] const double* row(std::size_t i) const noexcept {
        return values.data() + i * columns;
    }
};

/// Splits a line on commas and/or whitespace and appends every field as a number; returns
/// the number of fields, or throws naming the bad field (the first data line gets a hint
/// that it may be a header).
std::size_t append_numbers(const std::string& name, std::size_t number, std::string_view text,
                           bool first_row, std::vector<double>& out) {
    std::size_t fields = 0;
    std::size_t i = 0;
    const auto separator = [](char c) {
        return c == ',' || std::isspace(static_cast<unsigned char>(c));
    };
    while (i < text.size()) {
        if (separator(text[i])) {
            ++i;
            continue;
        }
        std::size_t end = i;
        while (end < text.size() && !separator(text[end])) {
            ++end;
        }
        // The field is followed by a separator or by the end of the (NUL-free) line, where
        // strtod stops, so it cannot read past the field.
        const std::string_view field = text.substr(i, end - i);
        const std::string copy(field); // strtod needs a terminated string
        char* stop = nullptr;
        const double value = std::strtod(copy.c_str(), &stop);
        if (stop != copy.c_str() + copy.size()) {
            if (first_row) {
                fail_at(name, number,
                        "the first data line is not numeric (" + cli::quoted(text) +
                            "); a header line? emofuse-eval reads files without a header: "
                            "delete the line or start it with '#'");
            }
            fail_at(name, number, "expected a number, got " + cli::quoted(field));
        }
        out.push_back(value);
        ++fields;
        i = end;
    }
    return fields;
}

/// Reads a numeric file. columns = 0 takes the column count of the first data line; then
/// every line must have that many fields.
numeric_file read_numeric(const std::string& path, std::size_t columns, const std::string& what) {
    numeric_file file;
    file.name = display_name(path);
    file.columns = columns;
    for_each_data_line(path, [&](std::size_t number, std::string_view text) {
        const bool first = file.lines.empty();
        const std::size_t fields = append_numbers(file.name, number, text, first, file.values);
        if (first && file.columns == 0) {
            file.columns = fields;
        }
        if (fields != file.columns) {
            fail_at(file.name, number,
                    "expected " + std::to_string(file.columns) + " column" +
                        (file.columns == 1 ? "" : "s") + " (" + what + "), got " +
                        std::to_string(fields));
        }
        file.lines.push_back(number);
    });
    return file;
}

/// Data lines of a text file, kept as they are (ov word sets and --groups tables are small).
struct text_file {
    std::string name;
    std::vector<std::string> texts;
    std::vector<std::size_t> lines;

    [[nodiscard]] std::size_t rows() const noexcept { return lines.size(); }
};

text_file read_text(const std::string& path) {
    text_file file;
    file.name = display_name(path);
    for_each_data_line(path, [&](std::size_t number, std::string_view text) {
        file.texts.emplace_back(text);
        file.lines.push_back(number);
    });
    return file;
}

/// Error for files of different lengths, at the first sample the shorter file lacks.
void check_same_length(const std::string& pred_name, const std::vector<std::size_t>& pred_lines,
                       const std::string& truth_name, const std::vector<std::size_t>& truth_lines) {
    if (pred_lines.size() == truth_lines.size()) {
        return;
    }
    const bool pred_longer = pred_lines.size() > truth_lines.size();
    const auto& longer = pred_longer ? pred_lines : truth_lines;
    const auto& shorter = pred_longer ? truth_lines : pred_lines;
    fail_at(pred_longer ? pred_name : truth_name, longer[shorter.size()],
            "length mismatch: sample " + std::to_string(shorter.size() + 1) + " has no match in " +
                (pred_longer ? truth_name : pred_name) + " (" + std::to_string(shorter.size()) +
                " samples vs " + std::to_string(longer.size()) + ")");
}

/// Indices of the samples to keep under the NaN policy (error: throws at the first).
std::vector<std::size_t> finite_samples(const numeric_file& pred, const numeric_file& truth,
                                        em::nan_policy policy) {
    std::vector<std::size_t> keep;
    keep.reserve(pred.rows());
    const auto finite = [](const double* row, std::size_t columns) {
        return std::all_of(row, row + columns, [](double v) { return std::isfinite(v); });
    };
    for (std::size_t i = 0; i < pred.rows(); ++i) {
        const bool pred_ok = finite(pred.row(i), pred.columns);
        const bool truth_ok = finite(truth.row(i), truth.columns);
        if (pred_ok && truth_ok) {
            keep.push_back(i);
        } else if (policy == em::nan_policy::error) {
            const numeric_file& file = pred_ok ? truth : pred;
            fail_at(file.name, file.lines[i],
                    "non-finite value (NaN or Inf) under --nan error; use --nan skip to drop "
                    "such samples");
        }
    }
    return keep;
}

/// A value in its shortest round-trip form, for messages.
std::string shortest(double value) {
    char buffer[32];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
    return std::string(buffer, result.ptr);
}

/// A class id in [0, k); the range is checked on the double, before any conversion.
int class_id(const numeric_file& file, std::size_t row, double value, std::size_t k) {
    if (!(value >= 0 && value < static_cast<double>(k)) || value != std::floor(value)) {
        fail_at(file.name, file.lines[row],
                "class id " + shortest(value) + " out of range: expected an integer in [0, " +
                    std::to_string(k) + ")");
    }
    return static_cast<int>(value);
}

std::size_t argmax(const double* row, std::size_t count) {
    return static_cast<std::size_t>(std::max_element(row, row + count) - row); // first max
}

// ---------------------------------------------------------------------------------------
// Command line

options parse_options(int argc, char** argv) {
    options o;
    const auto value = [&](int& i, const std::string& flag) -> std::string {
        if (i + 1 >= argc) {
            throw cli::usage_error(flag + " needs a value");
        }
        return argv[++i];
    };
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            o.help = true;
            return o;
        } else if (arg == "--suite") {
            o.suite = value(i, arg);
        } else if (arg == "--preset") {
            o.preset = value(i, arg);
        } else if (arg == "--pred") {
            o.pred_path = value(i, arg);
        } else if (arg == "--truth") {
            o.truth_path = value(i, arg);
        } else if (arg == "--groups") {
            o.group_paths.push_back(value(i, arg));
        } else if (arg == "--num-classes") {
            o.num_classes = cli::parse_integer<std::size_t>(arg, value(i, arg), 1, max_classes);
        } else if (arg == "--logits") {
            o.logits = true;
        } else if (arg == "--bootstrap") {
            o.bootstrap = cli::parse_integer<std::size_t>(arg, value(i, arg), 0, max_bootstrap);
        } else if (arg == "--seed") {
            o.seed = cli::parse_integer<std::uint64_t>(arg, value(i, arg), 0,
                                                       std::numeric_limits<std::uint64_t>::max());
        } else if (arg == "--threads") {
            o.threads = cli::parse_integer<unsigned>(arg, value(i, arg), 0, max_threads);
        } else if (arg == "--confidence") {
            const std::string text = value(i, arg);
            double c = -1;
            try {
                c = cli::parse_real(arg, text, 0.0, 1.0);
            } catch (const cli::usage_error&) {
                c = -1; // reported below with the open interval
            }
            if (!(c > 0 && c < 1)) {
                throw cli::usage_error("--confidence: expected a number in (0, 1), got " +
                                       cli::quoted(text));
            }
            o.confidence = c;
        } else if (arg == "--nan") {
            const std::string text = value(i, arg);
            if (text != "error" && text != "skip") {
                throw cli::usage_error("--nan: expected error or skip, got " + cli::quoted(text));
            }
            o.nan = em::parse_nan_policy(text);
        } else if (arg == "--format") {
            o.format = value(i, arg);
            if (o.format != "json" && o.format != "table") {
                throw cli::usage_error("--format: expected json or table, got " +
                                       cli::quoted(o.format));
            }
        } else if (arg == "--confusion-svg") {
            o.confusion_svg = value(i, arg);
        } else {
            throw cli::usage_error("unknown argument " + cli::quoted(arg));
        }
    }
    if (o.suite.empty() || o.pred_path.empty() || o.truth_path.empty()) {
        throw cli::usage_error("--suite, --pred and --truth are required");
    }
    if (o.pred_path == "-" && o.truth_path == "-") {
        throw cli::usage_error("only one of --pred and --truth can read stdin");
    }
    return o;
}

/// The suite's presets, default first; usage_error for an unknown suite or preset.
std::string resolve_preset(const options& o) {
    const std::vector<std::pair<std::string, std::vector<std::string>>> table = {
        {"mosi", {"mmsa", "mult"}},
        {"mosei", {"mmsa", "mult"}},
        {"sims", {"mmsa"}},
        {"regression", {"mertools", "torchmetrics"}},
        {"classification", {"sklearn"}},
        {"iemocap", {"default", "mult"}},
        {"meld", {"default"}},
        {"mer2023", {"mertools"}},
        {"mer2024", {"mertools"}},
        {"ov", {"default"}}};
    for (const auto& [suite, presets] : table) {
        if (suite != o.suite) {
            continue;
        }
        if (o.preset.empty()) {
            return presets.front();
        }
        if (std::find(presets.begin(), presets.end(), o.preset) == presets.end()) {
            std::string valid;
            for (const auto& p : presets) {
                valid += (valid.empty() ? "" : ", ") + p;
            }
            throw cli::usage_error("--preset: suite \"" + o.suite + "\" has presets " + valid +
                                   "; got " + cli::quoted(o.preset));
        }
        return o.preset;
    }
    throw cli::usage_error("--suite: unknown suite " + cli::quoted(o.suite) +
                           " (mosi, mosei, sims, regression, classification, iemocap, meld, "
                           "mer2023, mer2024, ov)");
}

// ---------------------------------------------------------------------------------------
// Suites bound to parsed data

/// A suite bound to parsed data: evaluate(weights) with empty weights = every sample once.
struct bound_suite {
    std::size_t samples = 0;     ///< samples the bootstrap resamples
    std::size_t scored = 0;      ///< samples the metrics count (ov skips empty truth sets)
    std::size_t num_classes = 0; ///< single-label class suites: K
    std::function<em::suite_result(std::span<const std::uint32_t>)> evaluate;
    std::function<em::confusion_counts()> confusion; // single-label class suites only
};

template <class Suite, class... Args>
em::suite_result run_scores(std::span<const std::uint32_t> w, const std::vector<double>& truth,
                            const std::vector<double>& pred, Args... args) {
    Suite suite(args...);
    if (w.empty()) {
        suite.update(std::span<const double>(truth), std::span<const double>(pred));
    } else {
        suite.update(std::span<const double>(truth), std::span<const double>(pred), w);
    }
    return suite.compute();
}

struct label_data {
    std::vector<int> truth, pred;
    std::vector<double> val_truth, val_pred;
    std::size_t num_classes = 0;
};

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

bound_suite bind_scores(const options& o, const std::string& preset) {
    auto pred_file = read_numeric(o.pred_path, 1, "one score per line");
    auto truth_file = read_numeric(o.truth_path, 1, "one score per line");
    check_same_length(pred_file.name, pred_file.lines, truth_file.name, truth_file.lines);
    const auto keep = finite_samples(pred_file, truth_file, o.nan);
    auto truth = std::make_shared<std::vector<double>>(kept_column(truth_file, keep));
    auto pred = std::make_shared<std::vector<double>>(kept_column(pred_file, keep));
    bound_suite bound;
    bound.samples = bound.scored = keep.size();
    if (o.suite == "regression") {
        const auto p = preset == "mertools" ? em::regression_preset::mertools
                                            : em::regression_preset::torchmetrics;
        bound.evaluate = [=](std::span<const std::uint32_t> w) {
            return run_scores<em::regression_suite>(w, *truth, *pred, p, em::nan_policy::error);
        };
        return bound;
    }
    const auto dataset = o.suite == "mosi"    ? em::sentiment_dataset::mosi
                         : o.suite == "mosei" ? em::sentiment_dataset::mosei
                                              : em::sentiment_dataset::sims;
    const auto p = preset == "mmsa" ? em::sentiment_preset::mmsa : em::sentiment_preset::mult;
    bound.evaluate = [=](std::span<const std::uint32_t> w) {
        return run_scores<em::sentiment_suite>(w, *truth, *pred, dataset, p, em::nan_policy::error);
    };
    return bound;
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

bound_suite bind_labels(const options& o) {
    const bool valence = o.suite == "mer2023";
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
    auto truth_file = read_numeric(o.truth_path, 1 + extra, truth_what);
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
        if (o.suite == "classification") {
            k = infer_classes(pred_file, truth_file, keep, o.logits);
        } else {
            k = o.suite == "iemocap" ? 4 : o.suite == "meld" ? 7 : 6;
        }
    }
    auto data = std::make_shared<label_data>();
    data->num_classes = k;
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
    const auto kind = o.suite == "classification" ? em::emotion_suite_kind::classification
                      : o.suite == "iemocap"      ? em::emotion_suite_kind::iemocap
                      : o.suite == "meld"         ? em::emotion_suite_kind::meld
                      : o.suite == "mer2023"      ? em::emotion_suite_kind::mer2023
                                                  : em::emotion_suite_kind::mer2024;
    em::emotion_suite probe(kind, k); // validates K for the suite now
    bound_suite bound;
    bound.samples = bound.scored = keep.size();
    bound.num_classes = k;
    bound.evaluate = [=](std::span<const std::uint32_t> w) {
        em::emotion_suite suite(kind, data->num_classes);
        const std::span<const int> t(data->truth), p(data->pred);
        const std::span<const double> vt(data->val_truth), vp(data->val_pred);
        if (w.empty()) {
            suite.update(t, p);
            if (suite.needs_valence()) {
                suite.update_valence(vt, vp);
            }
        } else {
            suite.update(t, p, w);
            if (suite.needs_valence()) {
                suite.update_valence(vt, vp, w);
            }
        }
        return suite.compute();
    };
    bound.confusion = [=] {
        em::confusion_counts counts(data->num_classes);
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
    auto truth_file = read_numeric(o.truth_path, emotions, "4 per-emotion 0/1 labels");
    check_same_length(pred_file.name, pred_file.lines, truth_file.name, truth_file.lines);
    const auto keep = finite_samples(pred_file, truth_file, o.nan);
    auto truth = std::make_shared<std::vector<int>>();
    auto pred = std::make_shared<std::vector<int>>();
    truth->reserve(keep.size() * emotions);
    pred->reserve(keep.size() * emotions);
    for (const auto i : keep) {
        for (std::size_t e = 0; e < emotions; ++e) {
            truth->push_back(class_id(truth_file, i, truth_file.row(i)[e], 2));
            pred->push_back(o.logits ? static_cast<int>(argmax(pred_file.row(i) + 2 * e, 2))
                                     : class_id(pred_file, i, pred_file.row(i)[e], 2));
        }
    }
    bound_suite bound;
    bound.samples = bound.scored = keep.size();
    bound.evaluate = [=](std::span<const std::uint32_t> w) {
        em::per_emotion_binary_suite suite;
        if (w.empty()) {
            suite.update(std::span<const int>(*truth), std::span<const int>(*pred));
        } else {
            suite.update(std::span<const int>(*truth), std::span<const int>(*pred), w);
        }
        return suite.compute();
    };
    return bound;
}

em::grouping_table read_groups(const std::string& path) {
    const text_file file = read_text(path);
    em::grouping_table table;
    for (std::size_t i = 0; i < file.rows(); ++i) {
        const std::string& text = file.texts[i];
        const auto comma = text.find(',');
        if (comma == std::string::npos) {
            fail_at(file.name, file.lines[i], "expected \"word,group\", got " + cli::quoted(text));
        }
        try {
            table.add(text.substr(0, comma), text.substr(comma + 1));
        } catch (const emofuse::error& e) {
            fail_at(file.name, file.lines[i], e.what());
        }
    }
    return table;
}

using word_sets = std::vector<em::open_vocabulary_suite::word_set>;

/// Comma-separated words per line; "-" is the empty set (a blank line would be skipped).
word_sets parse_word_sets(const text_file& file) {
    word_sets out;
    out.reserve(file.rows());
    for (const auto& text : file.texts) {
        em::open_vocabulary_suite::word_set words;
        if (text != "-") {
            std::size_t start = 0;
            while (start <= text.size()) {
                const std::size_t comma = std::min(text.find(',', start), text.size());
                const std::string_view word = std::string_view(text).substr(start, comma - start);
                if (!trim(word).empty()) {
                    words.emplace_back(word);
                }
                start = comma + 1;
            }
        }
        out.push_back(std::move(words));
    }
    return out;
}

bound_suite bind_open_vocabulary(const options& o) {
    std::vector<em::grouping_table> tables;
    for (const auto& path : o.group_paths) {
        tables.push_back(read_groups(path));
    }
    if (tables.empty()) {
        tables.emplace_back(); // every word is its own group
    }
    const text_file pred_file = read_text(o.pred_path);
    const text_file truth_file = read_text(o.truth_path);
    check_same_length(pred_file.name, pred_file.lines, truth_file.name, truth_file.lines);
    auto truth = std::make_shared<word_sets>(parse_word_sets(truth_file));
    auto pred = std::make_shared<word_sets>(parse_word_sets(pred_file));
    // The library scores a sample only when its truth set is non-empty (words are trimmed
    // and non-empty, and every word maps to a non-empty group).
    auto scorable = std::make_shared<std::vector<bool>>();
    scorable->reserve(truth->size());
    for (const auto& words : *truth) {
        scorable->push_back(!words.empty());
    }
    bound_suite bound;
    bound.samples = truth->size();
    bound.scored = static_cast<std::size_t>(std::count(scorable->begin(), scorable->end(), true));
    if (bound.samples > 0 && bound.scored == 0) {
        throw input_error(truth_file.name + ": every truth set is empty ('-'); ov scores only "
                                            "samples with a non-empty truth set");
    }
    const std::vector<std::string> keys = {"precision", "recall", "mer_ov_score", "f_score"};
    bound.evaluate = [=](std::span<const std::uint32_t> w) {
        if (!w.empty()) {
            // A resample may draw only empty truth sets: no value, which the bootstrap
            // leaves out of the percentiles.
            bool any = false;
            for (std::size_t i = 0; i < w.size() && !any; ++i) {
                any = w[i] != 0 && (*scorable)[i];
            }
            if (!any) {
                em::suite_result none;
                for (const auto& key : keys) {
                    none.add(key, std::numeric_limits<double>::quiet_NaN());
                }
                return none;
            }
        }
        em::open_vocabulary_suite suite(tables);
        if (w.empty()) {
            suite.update(*truth, *pred);
        } else {
            suite.update(*truth, *pred, w);
        }
        return suite.compute();
    };
    return bound;
}

// ---------------------------------------------------------------------------------------
// Output

std::string xml_escape(const std::string& s) {
    std::string out;
    for (const char c : s) {
        switch (c) {
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '&':
            out += "&amp;";
            break;
        case '"':
            out += "&quot;";
            break;
        default:
            out += c;
        }
    }
    return out;
}

/// Writes `content` to `path` atomically (a temporary file renamed over it), saying on
/// stderr when an existing file is replaced; failures carry the system's reason.
void write_output_file(const std::string& path, const std::string& content,
                       const std::string& stage) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        throw input_error(stage + ": " + path + " is a directory, not a file to write");
    }
    const bool existed = std::filesystem::exists(path, ec);
    // The writer is kept alive until errno is read: its destructor removes the temporary
    // file, which may change errno.
    std::optional<emofuse::io::detail::output_file> out;
    errno = 0;
    try {
        out.emplace(path, stage);
        out->write(std::as_bytes(std::span<const char>(content.data(), content.size())));
        out->finish();
    } catch (const emofuse::error& e) {
        const int code = errno;
        out.reset();
        throw input_error(std::string(e.what()) +
                          (code != 0 ? std::string(": ") + std::strerror(code) : ""));
    }
    if (existed) {
        std::cerr << "emofuse-eval: replacing existing " << path << "\n";
    }
}

/// A heat map of the confusion matrix: rows are true classes, columns predictions, colour
/// is the share of the true class, each cell shows its count.
void write_confusion_svg(const std::string& path, const em::confusion_counts& counts,
                         const std::string& title) {
    const std::size_t k = counts.num_classes();
    const auto share = counts.normalized(em::confusion_normalization::by_true);
    const int cell = k > 12 ? 32 : 56;
    const int left = 90, top = 70;
    const int width = std::max(470, left + static_cast<int>(k) * cell + 30);
    const int height = top + static_cast<int>(k) * cell + 60;
    std::ostringstream svg;
    svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
        << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
    svg << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
    svg << "<text x=\"" << left << "\" y=\"20\" font-size=\"14\" font-weight=\"bold\">"
        << xml_escape(title) << "</text>\n";
    svg << "<text x=\"" << left + static_cast<int>(k) * cell / 2 << "\" y=\"" << top - 28
        << "\" text-anchor=\"middle\">predicted class</text>\n";
    svg << "<text transform=\"translate(" << 20 << "," << top + static_cast<int>(k) * cell / 2
        << ") rotate(-90)\" text-anchor=\"middle\">true class</text>\n";
    for (std::size_t c = 0; c < k; ++c) {
        svg << "<text x=\"" << left + static_cast<int>(c) * cell + cell / 2 << "\" y=\"" << top - 8
            << "\" text-anchor=\"middle\">" << c << "</text>\n";
        svg << "<text x=\"" << left - 8 << "\" y=\""
            << top + static_cast<int>(c) * cell + cell / 2 + 4 << "\" text-anchor=\"end\">" << c
            << "</text>\n";
    }
    for (std::size_t t = 0; t < k; ++t) {
        for (std::size_t p = 0; p < k; ++p) {
            const double v = share[t * k + p];
            // White -> deep blue.
            const int r = static_cast<int>(std::lround(255 - v * (255 - 8)));
            const int g = static_cast<int>(std::lround(255 - v * (255 - 48)));
            const int b = static_cast<int>(std::lround(255 - v * (255 - 107)));
            const int x = left + static_cast<int>(p) * cell;
            const int y = top + static_cast<int>(t) * cell;
            svg << "<rect x=\"" << x << "\" y=\"" << y << "\" width=\"" << cell << "\" height=\""
                << cell << "\" fill=\"rgb(" << r << "," << g << "," << b
                << ")\" stroke=\"#999\"><title>true " << t << ", predicted " << p << ": "
                << counts(t, p) << " (" << static_cast<double>(std::lround(v * 1000)) / 10.0
                << "% of true class)</title></rect>\n";
            svg << "<text x=\"" << x + cell / 2 << "\" y=\"" << y + cell / 2 + 4
                << "\" text-anchor=\"middle\" fill=\"" << (v > 0.5 ? "white" : "black") << "\">"
                << counts(t, p) << "</text>\n";
        }
    }
    svg << "<text x=\"" << left << "\" y=\"" << height - 20
        << "\" fill=\"#555\">colour: share of the true class (row-normalised); numbers: counts"
        << "</text>\n</svg>\n";
    write_output_file(path, svg.str(), "--confusion-svg");
}

std::string table_number(double v) {
    if (std::isnan(v)) {
        return "nan";
    }
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.6f", v);
    return buffer;
}

/// JSON has no NaN or infinity: finite values are numbers, the others the strings "nan",
/// "inf" and "-inf" (so the three stay distinguishable).
nlohmann::ordered_json json_number(double v) {
    if (std::isfinite(v)) {
        return v;
    }
    return std::isnan(v) ? "nan" : v > 0 ? "inf" : "-inf";
}

/// Counts finished bootstrap resamples and, when stderr is a terminal, shows
/// "resamples done / total" there at most twice a second (first after one second, so short
/// runs print nothing).
class progress_meter {
public:
    explicit progress_meter(std::size_t total)
        : total_(total), enabled_(::isatty(STDERR_FILENO) == 1),
          start_(std::chrono::steady_clock::now()), next_(start_ + std::chrono::seconds(1)) {}
    progress_meter(const progress_meter&) = delete;
    progress_meter& operator=(const progress_meter&) = delete;

    void tick() {
        const std::size_t done = ++done_;
        if (!enabled_) {
            return;
        }
        const auto now = std::chrono::steady_clock::now();
        const std::unique_lock lock(mutex_, std::try_to_lock);
        if (!lock.owns_lock() || now < next_) {
            return;
        }
        next_ = now + std::chrono::milliseconds(500);
        shown_ = true;
        std::cerr << "\remofuse-eval: bootstrap " << done << "/" << total_ << " resamples ("
                  << done * 100 / total_ << "%)" << std::flush;
    }

    ~progress_meter() {
        if (shown_) {
            std::cerr << "\remofuse-eval: bootstrap " << done_.load() << "/" << total_
                      << " resamples        \n";
        }
    }

private:
    std::size_t total_;
    bool enabled_;
    std::chrono::steady_clock::time_point start_;
    std::chrono::steady_clock::time_point next_;
    std::atomic<std::size_t> done_{0};
    std::mutex mutex_;
    bool shown_ = false;
};

void write_results(const options& o, const std::string& preset, const bound_suite& bound,
                   const em::suite_result& result, const em::bootstrap_result& intervals) {
    if (o.format == "json") {
        nlohmann::ordered_json out;
        out["suite"] = o.suite;
        out["preset"] = preset;
        out["n"] = bound.scored;
        out["metrics"] = nlohmann::ordered_json::object();
        for (const auto& m : result.metrics) {
            out["metrics"][m.key] = json_number(m.value);
        }
        out["ci"] = nlohmann::ordered_json::object();
        for (std::size_t k = 0; k < intervals.keys.size(); ++k) {
            out["ci"][intervals.keys[k]] = {json_number(intervals.intervals[k].low),
                                            json_number(intervals.intervals[k].high)};
        }
        std::cout << out.dump(2) << "\n";
    } else {
        std::size_t width = 6;
        for (const auto& m : result.metrics) {
            width = std::max(width, m.key.size());
        }
        std::cout << "suite " << o.suite << ", preset " << preset << ", n = " << bound.scored
                  << "\n";
        std::cout << std::string(width - 6, ' ') << "metric  value";
        if (!intervals.keys.empty()) {
            std::cout << "      " << std::lround(o.confidence * 100) << "% CI (bootstrap, "
                      << o.bootstrap << " resamples)";
        }
        std::cout << "\n";
        for (std::size_t k = 0; k < result.metrics.size(); ++k) {
            const auto& m = result.metrics[k];
            std::cout << std::string(width - m.key.size(), ' ') << m.key << "  "
                      << table_number(m.value);
            if (k < intervals.keys.size()) {
                std::cout << "  [" << table_number(intervals.intervals[k].low) << ", "
                          << table_number(intervals.intervals[k].high) << "]";
            }
            std::cout << "\n";
        }
    }
    errno = 0;
    std::cout.flush();
    if (!std::cout) {
        const int code = errno;
        throw input_error(std::string("writing the results to stdout failed") +
                          (code != 0 ? std::string(": ") + std::strerror(code) : ""));
    }
}

int run(int argc, char** argv) {
    const options o = parse_options(argc, argv);
    if (o.help) {
        std::cout << usage_text;
        return 0;
    }
    const std::string preset = resolve_preset(o);
    if (!o.group_paths.empty() && o.suite != "ov") {
        throw cli::usage_error("--groups applies to --suite ov only");
    }
    const bool scores =
        o.suite == "mosi" || o.suite == "mosei" || o.suite == "sims" || o.suite == "regression";
    if (o.logits && (scores || o.suite == "ov")) {
        throw cli::usage_error("--logits applies to class suites only");
    }
    const bool single_label =
        !scores && o.suite != "ov" && !(o.suite == "iemocap" && preset == "mult");
    if (!o.confusion_svg.empty() && !single_label) {
        throw cli::usage_error("--confusion-svg needs a single-label class suite "
                               "(classification, iemocap default, meld, mer2023, mer2024)");
    }
    if (!o.confusion_svg.empty() && o.num_classes > max_svg_classes) {
        throw cli::usage_error("--confusion-svg draws at most " + std::to_string(max_svg_classes) +
                               " classes; --num-classes is " + std::to_string(o.num_classes));
    }

    bound_suite bound;
    if (scores) {
        bound = bind_scores(o, preset);
    } else if (o.suite == "ov") {
        bound = bind_open_vocabulary(o);
    } else if (o.suite == "iemocap" && preset == "mult") {
        bound = bind_binary_emotions(o);
    } else {
        bound = bind_labels(o);
    }
    if (bound.samples == 0) {
        throw input_error(display_name(o.pred_path) +
                          ": no samples to evaluate (after skipping blank, comment and "
                          "non-finite lines)");
    }
    if (!o.confusion_svg.empty() && bound.num_classes > max_svg_classes) {
        throw cli::usage_error("--confusion-svg draws at most " + std::to_string(max_svg_classes) +
                               " classes; the data has " + std::to_string(bound.num_classes));
    }

    const em::suite_result result = bound.evaluate({});
    for (const auto& warning : result.warnings) {
        std::cerr << "emofuse-eval: warning: " << warning << "\n";
    }
    if (bound.scored != bound.samples) {
        std::cerr << "emofuse-eval: note: " << bound.samples - bound.scored << " of "
                  << bound.samples
                  << " samples have an empty truth set and are not scored (n counts the rest)\n";
    }
    em::bootstrap_result intervals;
    if (o.bootstrap > 0) {
        em::bootstrap_options b;
        b.resamples = o.bootstrap;
        b.seed = o.seed;
        b.confidence = o.confidence;
        b.threads = o.threads;
        progress_meter progress(o.bootstrap);
        intervals = em::bootstrap(
            bound.samples,
            [&](std::span<const std::uint32_t> w) {
                em::suite_result r = bound.evaluate(w);
                progress.tick();
                return r;
            },
            b);
    }
    if (!o.confusion_svg.empty()) {
        write_confusion_svg(o.confusion_svg, bound.confusion(),
                            "emofuse-eval: " + o.suite + " / " + preset +
                                ", n = " + std::to_string(bound.samples));
    }
    write_results(o, preset, bound, result, intervals);
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    return cli::run_tool("emofuse-eval", [&] { return run(argc, argv); });
}
