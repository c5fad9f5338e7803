// emofuse-eval — evaluates predictions against truths with a named, peer-compatible metric
// suite, optionally with bootstrap confidence intervals and a confusion-matrix heat map.
// Usage: emofuse-eval --help
#include <emofuse/core/error.hpp>
#include <emofuse/metrics/bootstrap.hpp>
#include <emofuse/metrics/confusion.hpp>
#include <emofuse/metrics/emotion.hpp>
#include <emofuse/metrics/open_vocabulary.hpp>
#include <emofuse/metrics/policy.hpp>
#include <emofuse/metrics/regression_suite.hpp>
#include <emofuse/metrics/sentiment.hpp>
#include <emofuse/metrics/suite_result.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace em = emofuse::metrics;

namespace {

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
  --num-classes K       number of classes (class suites)
  --logits              prediction lines hold K scores; the class is their argmax
  --groups FILE         CSV word,group table for ov (repeat to average over tables)
  --bootstrap N         N-resample percentile bootstrap confidence intervals
  --seed S              bootstrap seed (default 0)
  --confidence C        bootstrap interval coverage (default 0.95)
  --threads T           bootstrap threads (default: all cores)
  --nan error|skip      non-finite values: fail (default) or drop the sample
  --format json|table   output format (default json)
  --confusion-svg FILE  write a labelled confusion-matrix heat map (class suites)
Blank lines and lines starting with '#' are ignored.
)";

/// Bad command line: exit 2.
struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};
/// Bad input data or unreadable files: exit 1.
struct input_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct options {
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

struct text_line {
    std::size_t number;
    std::string text;
};

struct input_file {
    std::string name;
    std::vector<text_line> lines; // data lines only
};

[[noreturn]] void fail_at(const input_file& file, const text_line& line, const std::string& what) {
    throw input_error(file.name + ":" + std::to_string(line.number) + ": " + what);
}

std::string trim(std::string_view s) {
    std::size_t b = 0, e = s.size();
    while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) {
        ++b;
    }
    while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) {
        --e;
    }
    return std::string(s.substr(b, e - b));
}

input_file read_input(const std::string& path) {
    input_file file;
    file.name = path == "-" ? "<stdin>" : path;
    std::ifstream stream;
    std::istream* in = &std::cin;
    if (path != "-") {
        stream.open(path);
        if (!stream) {
            throw input_error(path + ": cannot open: " + std::strerror(errno));
        }
        in = &stream;
    }
    std::string raw;
    std::size_t number = 0;
    while (std::getline(*in, raw)) {
        ++number;
        std::string text = trim(raw);
        if (text.empty() || text.front() == '#') {
            continue;
        }
        file.lines.push_back({number, std::move(text)});
    }
    if (in->bad()) {
        throw input_error(file.name + ": read error after line " + std::to_string(number));
    }
    return file;
}

/// Splits on commas and/or whitespace and parses every field as a number.
std::vector<double> parse_numbers(const input_file& file, const text_line& line) {
    std::vector<double> out;
    std::string field;
    const auto flush = [&] {
        if (field.empty()) {
            return;
        }
        const char* begin = field.c_str();
        char* end = nullptr;
        errno = 0;
        const double value = std::strtod(begin, &end);
        if (end == begin || *end != '\0') {
            fail_at(file, line, "expected a number, got \"" + field + "\"");
        }
        out.push_back(value);
        field.clear();
    };
    for (const char c : line.text) {
        if (c == ',' || std::isspace(static_cast<unsigned char>(c))) {
            flush();
        } else {
            field.push_back(c);
        }
    }
    flush();
    return out;
}

std::vector<std::vector<double>> parse_rows(const input_file& file, std::size_t columns,
                                            const std::string& what) {
    std::vector<std::vector<double>> rows;
    rows.reserve(file.lines.size());
    for (const auto& line : file.lines) {
        auto row = parse_numbers(file, line);
        if (columns != 0 && row.size() != columns) {
            fail_at(file, line,
                    "expected " + std::to_string(columns) + " column" + (columns == 1 ? "" : "s") +
                        " (" + what + "), got " + std::to_string(row.size()));
        }
        rows.push_back(std::move(row));
    }
    return rows;
}

void check_same_length(const input_file& pred, const input_file& truth) {
    if (pred.lines.size() == truth.lines.size()) {
        return;
    }
    const bool pred_longer = pred.lines.size() > truth.lines.size();
    const input_file& longer = pred_longer ? pred : truth;
    const input_file& shorter = pred_longer ? truth : pred;
    fail_at(longer, longer.lines[shorter.lines.size()],
            "length mismatch: sample " + std::to_string(shorter.lines.size() + 1) +
                " has no match in " + shorter.name + " (" + std::to_string(shorter.lines.size()) +
                " samples vs " + std::to_string(longer.lines.size()) + ")");
}

/// Indices of the samples to keep under the NaN policy (error: throws at the first).
std::vector<std::size_t> finite_samples(const input_file& pred, const input_file& truth,
                                        const std::vector<std::vector<double>>& pred_rows,
                                        const std::vector<std::vector<double>>& truth_rows,
                                        em::nan_policy policy) {
    std::vector<std::size_t> keep;
    const auto finite = [](const std::vector<double>& row) {
        return std::all_of(row.begin(), row.end(), [](double v) { return std::isfinite(v); });
    };
    for (std::size_t i = 0; i < pred_rows.size(); ++i) {
        const bool pred_ok = finite(pred_rows[i]);
        const bool truth_ok = finite(truth_rows[i]);
        if (pred_ok && truth_ok) {
            keep.push_back(i);
        } else if (policy == em::nan_policy::error) {
            const input_file& file = pred_ok ? truth : pred;
            fail_at(file, file.lines[i],
                    "non-finite value (NaN or Inf) under --nan error; use --nan skip to drop "
                    "such samples");
        }
    }
    return keep;
}

int class_id(const input_file& file, const text_line& line, double value, std::size_t k) {
    if (value != std::floor(value) || value < 0 || value >= static_cast<double>(k)) {
        std::ostringstream v;
        v << value;
        fail_at(file, line,
                "class id " + v.str() + " out of range: expected an integer in [0, " +
                    std::to_string(k) + ")");
    }
    return static_cast<int>(value);
}

std::size_t argmax(const double* row, std::size_t count) {
    return static_cast<std::size_t>(std::max_element(row, row + count) - row); // first max
}

std::uint64_t parse_unsigned(const std::string& flag, const std::string& text) {
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || errno != 0 || text.front() == '-') {
        throw usage_error(flag + ": expected a non-negative integer, got \"" + text + "\"");
    }
    return v;
}

options parse_options(int argc, char** argv) {
    options o;
    const auto value = [&](int& i, const std::string& flag) -> std::string {
        if (i + 1 >= argc) {
            throw usage_error(flag + " needs a value");
        }
        return argv[++i];
    };
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            std::cout << usage_text;
            std::exit(0);
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
            o.num_classes = parse_unsigned(arg, value(i, arg));
            if (o.num_classes < 1) {
                throw usage_error("--num-classes: expected at least 1, got 0");
            }
        } else if (arg == "--logits") {
            o.logits = true;
        } else if (arg == "--bootstrap") {
            o.bootstrap = parse_unsigned(arg, value(i, arg));
        } else if (arg == "--seed") {
            o.seed = parse_unsigned(arg, value(i, arg));
        } else if (arg == "--threads") {
            o.threads = static_cast<unsigned>(parse_unsigned(arg, value(i, arg)));
        } else if (arg == "--confidence") {
            const std::string text = value(i, arg);
            char* end = nullptr;
            o.confidence = std::strtod(text.c_str(), &end);
            if (text.empty() || *end != '\0' || !(o.confidence > 0 && o.confidence < 1)) {
                throw usage_error("--confidence: expected a number in (0, 1), got \"" + text +
                                  "\"");
            }
        } else if (arg == "--nan") {
            const std::string text = value(i, arg);
            if (text != "error" && text != "skip") {
                throw usage_error("--nan: expected error or skip, got \"" + text + "\"");
            }
            o.nan = em::parse_nan_policy(text);
        } else if (arg == "--format") {
            o.format = value(i, arg);
            if (o.format != "json" && o.format != "table") {
                throw usage_error("--format: expected json or table, got \"" + o.format + "\"");
            }
        } else if (arg == "--confusion-svg") {
            o.confusion_svg = value(i, arg);
        } else {
            throw usage_error("unknown argument \"" + arg + "\" (see --help)");
        }
    }
    if (o.suite.empty() || o.pred_path.empty() || o.truth_path.empty()) {
        throw usage_error("--suite, --pred and --truth are required (see --help)");
    }
    if (o.pred_path == "-" && o.truth_path == "-") {
        throw usage_error("only one of --pred and --truth can read stdin");
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
            throw usage_error("--preset: suite \"" + o.suite + "\" has presets " + valid +
                              "; got \"" + o.preset + "\"");
        }
        return o.preset;
    }
    throw usage_error("--suite: unknown suite \"" + o.suite +
                      "\" (mosi, mosei, sims, regression, classification, iemocap, meld, "
                      "mer2023, mer2024, ov)");
}

/// A suite bound to parsed data: evaluate(weights) with empty weights = every sample once.
struct bound_suite {
    std::size_t samples = 0;
    std::function<em::suite_result(std::span<const std::uint32_t>)> evaluate;
    std::function<em::confusion_counts()> confusion; // class suites only
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

bound_suite bind_scores(const options& o, const std::string& preset, const input_file& pred_file,
                        const input_file& truth_file) {
    const auto pred_rows = parse_rows(pred_file, 1, "one score per line");
    const auto truth_rows = parse_rows(truth_file, 1, "one score per line");
    const auto keep = finite_samples(pred_file, truth_file, pred_rows, truth_rows, o.nan);
    auto truth = std::make_shared<std::vector<double>>();
    auto pred = std::make_shared<std::vector<double>>();
    for (const auto i : keep) {
        truth->push_back(truth_rows[i][0]);
        pred->push_back(pred_rows[i][0]);
    }
    bound_suite bound;
    bound.samples = keep.size();
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

bound_suite bind_labels(const options& o, const input_file& pred_file,
                        const input_file& truth_file) {
    const bool valence = o.suite == "mer2023";
    const std::size_t extra = valence ? 1 : 0;
    const std::string truth_what = valence ? "class and valence" : "one class id per line";
    const auto truth_rows = parse_rows(truth_file, 1 + extra, truth_what);
    std::size_t k = o.num_classes;
    std::vector<std::vector<double>> pred_rows;
    if (o.logits) {
        if (k == 0 && !pred_file.lines.empty()) {
            const auto first = parse_numbers(pred_file, pred_file.lines.front());
            k = first.size() > extra ? first.size() - extra : 0;
            if (k == 0) {
                fail_at(pred_file, pred_file.lines.front(), "expected at least one logit");
            }
        }
        pred_rows = parse_rows(pred_file, k + extra,
                               valence ? "--logits: K logits then valence" : "--logits: K logits");
    } else {
        pred_rows = parse_rows(pred_file, 1 + extra, truth_what);
    }
    const auto keep = finite_samples(pred_file, truth_file, pred_rows, truth_rows, o.nan);
    if (k == 0) {
        if (o.suite == "classification") { // infer from the largest id seen
            double largest = 0;
            for (const auto i : keep) {
                largest = std::max({largest, truth_rows[i][0], pred_rows[i][0]});
            }
            k = static_cast<std::size_t>(std::max(2.0, std::floor(largest) + 1));
        } else {
            k = o.suite == "iemocap" ? 4 : o.suite == "meld" ? 7 : 6;
        }
    }
    auto data = std::make_shared<label_data>();
    data->num_classes = k;
    for (const auto i : keep) {
        data->truth.push_back(class_id(truth_file, truth_file.lines[i], truth_rows[i][0], k));
        data->pred.push_back(o.logits
                                 ? static_cast<int>(argmax(pred_rows[i].data(), k))
                                 : class_id(pred_file, pred_file.lines[i], pred_rows[i][0], k));
        if (valence) {
            data->val_truth.push_back(truth_rows[i].back());
            data->val_pred.push_back(pred_rows[i].back());
        }
    }
    const auto kind = o.suite == "classification" ? em::emotion_suite_kind::classification
                      : o.suite == "iemocap"      ? em::emotion_suite_kind::iemocap
                      : o.suite == "meld"         ? em::emotion_suite_kind::meld
                      : o.suite == "mer2023"      ? em::emotion_suite_kind::mer2023
                                                  : em::emotion_suite_kind::mer2024;
    em::emotion_suite probe(kind, k); // validates K for the suite now
    bound_suite bound;
    bound.samples = keep.size();
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

bound_suite bind_binary_emotions(const options& o, const input_file& pred_file,
                                 const input_file& truth_file) {
    constexpr std::size_t emotions = 4;
    const auto truth_rows = parse_rows(truth_file, emotions, "4 per-emotion 0/1 labels");
    const auto pred_rows =
        parse_rows(pred_file, o.logits ? 2 * emotions : emotions,
                   o.logits ? "--logits: 2 logits per emotion" : "4 per-emotion 0/1 labels");
    const auto keep = finite_samples(pred_file, truth_file, pred_rows, truth_rows, o.nan);
    auto truth = std::make_shared<std::vector<int>>();
    auto pred = std::make_shared<std::vector<int>>();
    for (const auto i : keep) {
        for (std::size_t e = 0; e < emotions; ++e) {
            truth->push_back(class_id(truth_file, truth_file.lines[i], truth_rows[i][e], 2));
            pred->push_back(o.logits ? static_cast<int>(argmax(&pred_rows[i][2 * e], 2))
                                     : class_id(pred_file, pred_file.lines[i], pred_rows[i][e], 2));
        }
    }
    bound_suite bound;
    bound.samples = keep.size();
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
    const auto file = read_input(path);
    em::grouping_table table;
    for (const auto& line : file.lines) {
        const auto comma = line.text.find(',');
        if (comma == std::string::npos) {
            fail_at(file, line, "expected \"word,group\", got \"" + line.text + "\"");
        }
        try {
            table.add(line.text.substr(0, comma), line.text.substr(comma + 1));
        } catch (const emofuse::error& e) {
            fail_at(file, line, e.what());
        }
    }
    return table;
}

bound_suite bind_open_vocabulary(const options& o, const input_file& pred_file,
                                 const input_file& truth_file) {
    std::vector<em::grouping_table> tables;
    for (const auto& path : o.group_paths) {
        tables.push_back(read_groups(path));
    }
    if (tables.empty()) {
        tables.emplace_back(); // every word is its own group
    }
    const auto sets = [](const input_file& file) {
        std::vector<std::vector<std::string>> out;
        for (const auto& line : file.lines) {
            std::vector<std::string> words;
            if (line.text == "-") { // the empty set (a blank line would be skipped)
                out.push_back(std::move(words));
                continue;
            }
            std::stringstream stream(line.text);
            std::string word;
            while (std::getline(stream, word, ',')) {
                if (!trim(word).empty()) {
                    words.push_back(word);
                }
            }
            out.push_back(std::move(words));
        }
        return out;
    };
    auto truth = std::make_shared<std::vector<std::vector<std::string>>>(sets(truth_file));
    auto pred = std::make_shared<std::vector<std::vector<std::string>>>(sets(pred_file));
    bound_suite bound;
    bound.samples = truth->size();
    bound.evaluate = [=](std::span<const std::uint32_t> w) {
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
    std::ofstream out(path);
    out << svg.str();
    if (!out) {
        throw input_error(path + ": cannot write the confusion SVG");
    }
}

std::string table_number(double v) {
    if (std::isnan(v)) {
        return "nan";
    }
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.6f", v);
    return buffer;
}

int run(int argc, char** argv) {
    const options o = parse_options(argc, argv);
    const std::string preset = resolve_preset(o);
    if (!o.group_paths.empty() && o.suite != "ov") {
        throw usage_error("--groups applies to --suite ov only");
    }
    const input_file pred_file = read_input(o.pred_path);
    const input_file truth_file = read_input(o.truth_path);
    check_same_length(pred_file, truth_file);

    bound_suite bound;
    const bool scores =
        o.suite == "mosi" || o.suite == "mosei" || o.suite == "sims" || o.suite == "regression";
    if (o.logits && (scores || o.suite == "ov")) {
        throw usage_error("--logits applies to class suites only");
    }
    if (scores) {
        bound = bind_scores(o, preset, pred_file, truth_file);
    } else if (o.suite == "ov") {
        bound = bind_open_vocabulary(o, pred_file, truth_file);
    } else if (o.suite == "iemocap" && preset == "mult") {
        bound = bind_binary_emotions(o, pred_file, truth_file);
    } else {
        bound = bind_labels(o, pred_file, truth_file);
    }
    if (bound.samples == 0) {
        throw input_error(pred_file.name + ": no samples to evaluate (after skipping blank, "
                                           "comment and non-finite lines)");
    }
    if (!o.confusion_svg.empty() && !bound.confusion) {
        throw usage_error("--confusion-svg needs a single-label class suite (classification, "
                          "iemocap default, meld, mer2023, mer2024)");
    }

    const em::suite_result result = bound.evaluate({});
    for (const auto& warning : result.warnings) {
        std::cerr << "emofuse-eval: warning: " << warning << "\n";
    }
    em::bootstrap_result intervals;
    if (o.bootstrap > 0) {
        em::bootstrap_options b;
        b.resamples = o.bootstrap;
        b.seed = o.seed;
        b.confidence = o.confidence;
        b.threads = o.threads;
        intervals = em::bootstrap(bound.samples, bound.evaluate, b);
    }
    if (!o.confusion_svg.empty()) {
        write_confusion_svg(o.confusion_svg, bound.confusion(),
                            "emofuse-eval: " + o.suite + " / " + preset +
                                ", n = " + std::to_string(bound.samples));
    }

    if (o.format == "json") {
        nlohmann::ordered_json out;
        out["suite"] = o.suite;
        out["preset"] = preset;
        out["n"] = bound.samples;
        out["metrics"] = nlohmann::ordered_json::object();
        for (const auto& m : result.metrics) {
            out["metrics"][m.key] = m.value; // NaN is written as null
        }
        out["ci"] = nlohmann::ordered_json::object();
        for (std::size_t k = 0; k < intervals.keys.size(); ++k) {
            out["ci"][intervals.keys[k]] = {intervals.intervals[k].low,
                                            intervals.intervals[k].high};
        }
        std::cout << out.dump(2) << "\n";
    } else {
        std::size_t width = 6;
        for (const auto& m : result.metrics) {
            width = std::max(width, m.key.size());
        }
        std::cout << "suite " << o.suite << ", preset " << preset << ", n = " << bound.samples
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
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const usage_error& e) {
        std::cerr << "emofuse-eval: usage error: " << e.what() << "\n";
        return 2;
    } catch (const input_error& e) {
        std::cerr << "emofuse-eval: error: " << e.what() << "\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "emofuse-eval: error: " << e.what() << "\n";
        return 1;
    }
}
