// examples/eval/options.hpp — emofuse-eval's command line: the options, their documented
// ranges and the --help text (whose suite list comes from the suite table).
#pragma once

#include <emofuse/metrics/policy.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace emofuse::eval {

/// Most classes emofuse-eval handles (a K×K table of 64-bit counts is 128 MiB at 4096), both
/// inferred from the data and given with --num-classes.
inline constexpr std::size_t max_classes = 4096;
/// Most classes a --confusion-svg heat map draws (100 × 100 cells is about 4 MB of SVG).
inline constexpr std::size_t max_svg_classes = 100;
/// Most bootstrap resamples (each keeps one value per metric).
inline constexpr std::size_t max_bootstrap = 1'000'000;
/// How prediction lines are read: in the suite's own format, or as free-text LLM answers.
enum class pred_format { plain, llm };

struct options {
    bool help = false;
    std::string suite;
    std::string preset;
    /// The --pred files in order; several are runs (seeds) of one model on one truth.
    std::vector<std::string> pred_paths;
    std::string pred_path; ///< the prediction file being read (the first, or the current run)
    std::string truth_path;
    std::string truth_split;  ///< with truth_labels: --truth is a pickled dict of splits (.pkl)
    std::string truth_labels; ///< the split's key holding the labels
    std::vector<std::string> group_paths;
    std::string wheel_dir; ///< ov mertools presets: the emotion_wheel/ folder
    std::string level;     ///< ov mertools presets: 1, 2 or both (empty: both)
    std::size_t num_classes = 0;
    bool logits = false;
    std::size_t bootstrap = 0;
    std::uint64_t seed = 0;
    double confidence = 0.95;
    unsigned threads =
        0; ///< --threads; 0: the library's default (EMOFUSE_NUM_THREADS, else all cores)
    metrics::nan_policy nan = metrics::nan_policy::error;
    std::string format = "json";
    std::string confusion_svg;
    pred_format predictions = pred_format::plain;
    std::string aliases_path;         ///< --aliases: alias,label CSV (llm)
    std::vector<std::string> classes; ///< --classes: class names in id order (llm, class suites)
};

/// Parses argv; cli::usage_error for anything out of place. `help` set: nothing else checked.
[[nodiscard]] options parse_options(int argc, char** argv);

/// The --help text.
[[nodiscard]] std::string usage_text();

} // namespace emofuse::eval
