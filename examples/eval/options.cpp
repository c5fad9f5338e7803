// examples/eval/options.cpp — parsing emofuse-eval's flags and writing its --help text.
#include "options.hpp"

#include "common/cli.hpp"
#include "input.hpp"
#include "suites.hpp"

#include <emofuse/core/error.hpp>
#include <emofuse/platform/parallel.hpp>

#include <algorithm>
#include <limits>
#include <string_view>

namespace emofuse::eval {

namespace {

constexpr std::string_view usage_head =
    R"(usage: emofuse-eval --suite NAME --pred FILE [--pred FILE...] --truth FILE [options]

Suites (presets; the first is the default):
)";

constexpr std::string_view usage_options = R"(
Options:
  --suite NAME          metric suite (required)
  --pred FILE           predictions, one sample per line ('-' reads stdin); repeated: runs
                        (seeds) of one model, summarised per key as mean and std (ddof 0)
                        over the runs, and as MMSA prints them (x100, 2 decimals)
  --truth FILE          ground truth, one sample per line ('-' reads stdin)
  --split NAME          with --labels: --truth is MMSA's feature file (.pkl, read without
                        executing it) and the truth is array KEY of split NAME
  --labels KEY          e.g. regression_labels, classification_labels (one row per sample)
  --preset P            peer definition of the suite's metrics
  --num-classes K       number of classes (class suites), 1..4096; without it K is the
                        suite's default, or for classification the largest id + 1 (at most 4096)
  --logits              prediction lines hold K scores; the class is their argmax
  --groups FILE         CSV word,group table for ov (repeat to average over tables)
  --wheel DIR           ov mertools presets: MERTools' emotion_wheel/ folder
  --level 1|2|both      ov mertools presets: wheel levels to report (default both)
  --bootstrap N         N-resample percentile bootstrap confidence intervals, 0..1000000
                        (progress on stderr when it is a terminal)
  --seed S              bootstrap seed, 0..18446744073709551615 (default 0)
  --confidence C        bootstrap interval coverage, in (0, 1) (default 0.95)
  --threads N           read, score and bootstrap on N threads, 1..4096 (default:
                        EMOFUSE_NUM_THREADS, else every core); results do not depend on N
  --nan error|skip      non-finite values: fail (default) or drop the sample
  --format json|table   output format (default json)
  --confusion-svg FILE  write a labelled confusion-matrix heat map (class suites, at most
                        100 classes); an existing FILE is replaced
  --pred-format F       plain (default): the suite's own format; llm: one free-text LLM
                        answer per line (a JSON string for multi-line or empty answers),
                        <think>/<answer> tags read, NFKC case-folded, split into labels
                        (classification, iemocap, meld, mer2024, ov; needs utf8proc)
  --aliases FILE        llm: CSV alias,label lines mapping answer words to labels
  --classes A,B,...     llm, class suites: the class names in id order; an answer naming
                        none is __invalid__ (counted wrong)
Input is UTF-8 text (a byte-order mark is ignored). Blank lines and lines starting with '#'
are ignored.
)";

/// Column where a suite's description starts in --help.
constexpr std::size_t help_column = 33;

/// One --help row per suite, or per run of suites sharing a row: "  NAMES  (PRESETS)  what".
/// Names fill 16 columns and presets 15; presets that fill their column exactly are followed
/// by one space, longer ones by two.
std::string suite_rows() {
    std::string out;
    const auto table = suite_table();
    for (std::size_t s = 0; s < table.size(); ++s) {
        const suite_spec& row = table[s];
        std::string names(row.name);
        while (s + 1 < table.size() && table[s + 1].help.empty()) {
            names += ", " + std::string(table[++s].name);
        }
        std::string presets = "(";
        for (const auto& p : row.presets()) {
            presets += (presets.size() > 1 ? ", " : "") + std::string(p.name);
        }
        presets += ")";
        names.resize(std::max<std::size_t>(names.size(), 16), ' ');
        const std::size_t gap = presets.size() < 15    ? 15 - presets.size()
                                : presets.size() == 15 ? 1
                                                       : 2;
        out += "  " + names + presets + std::string(gap, ' ');
        for (const char c : row.help) { // continuation lines align with the first
            out += c;
            if (c == '\n') {
                out += std::string(help_column, ' ');
            }
        }
        out += "\n";
    }
    return out;
}

/// "--classes a,b,c": names trimmed, none empty.
std::vector<std::string> split_class_names(std::string_view text) {
    std::vector<std::string> names;
    std::size_t start = 0;
    while (true) {
        const std::size_t comma = std::min(text.find(',', start), text.size());
        const std::string_view name = trim(text.substr(start, comma - start));
        if (name.empty()) {
            throw cli::usage_error("--classes: expected comma-separated class names, got " +
                                   cli::quoted(text));
        }
        names.emplace_back(name);
        if (names.size() > max_classes) {
            throw cli::usage_error("--classes: more than " + std::to_string(max_classes) +
                                   " class names");
        }
        if (comma == text.size()) {
            return names;
        }
        start = comma + 1;
    }
}

} // namespace

std::string usage_text() {
    return std::string(usage_head) + suite_rows() + std::string(usage_options);
}

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
            o.pred_paths.push_back(value(i, arg));
        } else if (arg == "--truth") {
            o.truth_path = value(i, arg);
        } else if (arg == "--split") {
            o.truth_split = value(i, arg);
        } else if (arg == "--labels") {
            o.truth_labels = value(i, arg);
        } else if (arg == "--groups") {
            o.group_paths.push_back(value(i, arg));
        } else if (arg == "--wheel") {
            o.wheel_dir = value(i, arg);
        } else if (arg == "--level") {
            o.level = value(i, arg);
            if (o.level != "1" && o.level != "2" && o.level != "both") {
                throw cli::usage_error("--level: expected 1, 2 or both, got " +
                                       cli::quoted(o.level));
            }
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
            o.threads =
                cli::parse_integer<unsigned>(arg, value(i, arg), 1, emofuse::detail::max_threads);
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
            try {
                o.nan = metrics::parse_nan_policy(text);
            } catch (const emofuse::value_error&) {
                throw cli::usage_error("--nan: expected error or skip, got " + cli::quoted(text));
            }
        } else if (arg == "--format") {
            o.format = value(i, arg);
            if (o.format != "json" && o.format != "table") {
                throw cli::usage_error("--format: expected json or table, got " +
                                       cli::quoted(o.format));
            }
        } else if (arg == "--confusion-svg") {
            o.confusion_svg = value(i, arg);
        } else if (arg == "--pred-format") {
            const std::string text = value(i, arg);
            if (text != "plain" && text != "llm") {
                throw cli::usage_error("--pred-format: expected plain or llm, got " +
                                       cli::quoted(text));
            }
            o.predictions = text == "llm" ? pred_format::llm : pred_format::plain;
        } else if (arg == "--aliases") {
            o.aliases_path = value(i, arg);
        } else if (arg == "--classes") {
            o.classes = split_class_names(value(i, arg));
        } else {
            throw cli::usage_error("unknown argument " + cli::quoted(arg));
        }
    }
    if (o.suite.empty() || o.pred_paths.empty() || o.truth_path.empty()) {
        throw cli::usage_error("--suite, --pred and --truth are required");
    }
    if (o.truth_split.empty() != o.truth_labels.empty()) {
        throw cli::usage_error("--split and --labels go together (the split and key of the "
                               "labels in a .pkl --truth)");
    }
    if (!o.truth_split.empty() && o.truth_path == "-") {
        throw cli::usage_error("--split reads --truth as a .pkl file, not from stdin");
    }
    if (o.truth_split.empty() && o.truth_path.ends_with(".pkl")) {
        throw cli::usage_error("--truth " + cli::quoted(o.truth_path) +
                               " is a pickle: name its labels with --split and --labels (e.g. "
                               "--split test --labels regression_labels)");
    }
    o.pred_path = o.pred_paths.front();
    if (o.pred_paths.size() > 1) {
        if (std::count(o.pred_paths.begin(), o.pred_paths.end(), "-") > 0 || o.truth_path == "-") {
            throw cli::usage_error("with several --pred files (runs), no file can be '-' "
                                   "(stdin)");
        }
        if (o.bootstrap > 0 || !o.confusion_svg.empty()) {
            throw cli::usage_error("--bootstrap and --confusion-svg take one --pred file, "
                                   "not runs");
        }
    }
    if (o.pred_path == "-" && o.truth_path == "-") {
        throw cli::usage_error("only one of --pred and --truth can read stdin");
    }
    if (o.predictions != pred_format::llm && (!o.aliases_path.empty() || !o.classes.empty())) {
        throw cli::usage_error("--aliases and --classes apply to --pred-format llm only");
    }
    return o;
}

} // namespace emofuse::eval
