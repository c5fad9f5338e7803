// examples/align/align_tool.hpp — what emofuse-align and emofuse-mpi-align share: the
// command line, the progress line, and the warnings and summary after a run.
#pragma once

#include "common/cli.hpp"

#include <emofuse/io/csd/align_files.hpp>
#include <emofuse/platform/parallel.hpp>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <iostream>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace emofuse::cli::align_tool {

/// Upper end of --seq-len: 10^5 steps already make one sample of 74 COVAREP features 30 MB.
constexpr std::size_t max_seq_len = 100000;

constexpr std::string_view usage =
    "usage: emofuse-align --reference NAME [--collapse mean[,std,...]] [--impute zeros]\n"
    "                     [--tensors --seq-len N [--pad left|right]] [--gzip LEVEL] [--quiet]\n"
    "                     [--threads N]\n"
    "                     --out DIR FILE.csd...\n"
    "\n"
    "Aligns every FILE.csd to the reference sequence NAME (a root name or a file stem) as the\n"
    "CMU-MultimodalSDK's mmdataset.align does, and writes one aligned .csd per input under the\n"
    "same file name in DIR.\n"
    "  --collapse F,...  collapse each segment: mean (the SDK's avg), weighted_mean, max, min,\n"
    "                    std (ddof 0), first, last; outputs concatenated. Without it entries\n"
    "                    keep every clipped frame.\n"
    "  --impute zeros    give reference segments missing elsewhere zero features\n"
    "  --tensors         also write DIR/<stem>.npy (samples, seq_len, features) per input and\n"
    "                    DIR/tensor_keys.txt, as the SDK's get_tensors (a segment key holding\n"
    "                    a line break is an error)\n"
    "  --seq-len N       time steps per sample, 1-100000 (required with --tensors)\n"
    "  --pad left|right  zero padding side (default left, which keeps the last steps)\n"
    "  --gzip LEVEL      -1-9: 0-9 gzip level, -1 uncompressed datasets (default 9, as the SDK)\n"
    "  --quiet           no progress on stderr\n"
    "  --threads N       align on N threads, 1-4096 (default: EMOFUSE_NUM_THREADS, else every\n"
    "                    core); the outputs are the same bytes whatever N is\n"
    "\n"
    "All outputs of a run appear together or not at all (also when interrupted by a signal);\n"
    "an existing output file is replaced with a notice on stderr. Exit status: 0 success,\n"
    "1 bad input or failed run, 2 bad command line.\n";

struct arguments {
    emofuse::io::csd::align_files_options options;
    std::string out_dir;
    std::vector<std::filesystem::path> inputs;
    bool tensors = false;
    bool quiet = false;
    bool help = false;
    unsigned threads = 0; // 0: the library's default
    std::size_t seq_len = 0;
    emofuse::align::pad_side pad = emofuse::align::pad_side::left;
};

/// The flags of emofuse-align (usage_error for a bad command line).
inline arguments parse(int argc, char** argv) {
    namespace align = emofuse::align;
    arguments args;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                throw usage_error(arg + ": missing value");
            }
            return argv[++i];
        };
        if (arg == "--help" || arg == "-h") {
            args.help = true;
            return args;
        } else if (arg == "--reference") {
            args.options.align.reference = value();
        } else if (arg == "--collapse") {
            try {
                args.options.align.collapse = align::collapse::parse_list(value());
            } catch (const emofuse::error& e) {
                throw usage_error(std::string("--collapse: ") + e.what());
            }
        } else if (arg == "--impute") {
            const std::string how = value();
            if (how != "zeros") {
                throw usage_error("--impute: expected 'zeros', got " + emofuse::cli::quoted(how));
            }
            args.options.align.impute_zeros = true;
        } else if (arg == "--out") {
            args.out_dir = value();
            if (args.out_dir.empty()) {
                throw usage_error("--out: expected a directory, got an empty name");
            }
        } else if (arg == "--tensors") {
            args.tensors = true;
        } else if (arg == "--seq-len") {
            args.seq_len = parse_integer<std::size_t>(arg, value(), 1, max_seq_len);
        } else if (arg == "--pad") {
            const std::string side = value();
            if (side != "left" && side != "right") {
                throw usage_error("--pad: expected 'left' or 'right', got " +
                                  emofuse::cli::quoted(side));
            }
            args.pad = side == "left" ? align::pad_side::left : align::pad_side::right;
        } else if (arg == "--gzip") {
            args.options.writer.gzip_level = parse_integer<int>(arg, value(), -1, 9);
        } else if (arg == "--quiet") {
            args.quiet = true;
        } else if (arg == "--threads") {
            args.threads = parse_integer<unsigned>(arg, value(), 1, emofuse::detail::max_threads);
        } else if (arg.starts_with("-") && arg.size() > 1) {
            throw usage_error("unknown option " + emofuse::cli::quoted(arg));
        } else {
            args.inputs.emplace_back(arg);
        }
    }
    if (args.options.align.reference.empty()) {
        throw usage_error("--reference NAME is required");
    }
    if (args.out_dir.empty()) {
        throw usage_error("--out DIR is required");
    }
    if (args.inputs.empty()) {
        throw usage_error("no input .csd files");
    }
    if (args.tensors != (args.seq_len != 0)) {
        throw usage_error("--tensors and --seq-len N go together");
    }
    return args;
}

// Why a run aligned nothing, for the warning.
inline std::string why_nothing_aligned(const emofuse::align::align_report& report,
                                       std::size_t inputs) {
    if (report.removed_ids.empty()) {
        return "the inputs hold no videos";
    }
    return std::to_string(report.removed_ids.size()) + " video id" +
           (report.removed_ids.size() == 1 ? " was" : "s were") + " found, none of them in all " +
           std::to_string(inputs) + " inputs (e.g. " +
           emofuse::cli::quoted(report.removed_ids.front()) + ")";
}

/// Applies the parsed flags that are not alignment options: the thread count and the
/// tensor shape.
inline void apply(arguments& args) {
    if (args.threads != 0) {
        emofuse::set_num_threads(args.threads);
    }
    if (args.tensors) {
        args.options.tensors = emofuse::align::tensor_options{
            args.seq_len, args.pad, emofuse::align::truncate_side::as_sdk};
    }
}

/// The "done/total videos" line on stderr (at most twice a second, unless quiet) and the
/// notice before outputs replace files, hooked into the options; end_line() ends the
/// progress line before other output.
class progress_display {
public:
    explicit progress_display(std::string_view tool) : tool_(tool) {}
    progress_display(const progress_display&) = delete;
    progress_display& operator=(const progress_display&) = delete;

    void attach(emofuse::io::csd::align_files_options& options, bool quiet) {
        options.on_replace = [this](const std::vector<std::filesystem::path>& files) {
            end_line();
            notice_replacing(tool_, files);
        };
        if (quiet) {
            return;
        }
        options.align.progress = [this](std::size_t done, std::size_t total,
                                        std::string_view video) {
            const auto now = std::chrono::steady_clock::now();
            if (done == total || now - last_report_ > std::chrono::milliseconds(500)) {
                console_ << "\r" << tool_ << ": " << done << "/" << total << " videos ("
                         << emofuse::cli::quoted(video) << ")\033[K" << std::flush;
                last_report_ = now;
                shown_ = true;
            }
        };
    }

    void end_line() {
        if (shown_) {
            console_ << "\n" << std::flush;
            shown_ = false;
        }
    }

private:
    std::string_view tool_;
    // The terminal's stderr, also while a caller collects std::cerr's messages elsewhere
    // (emofuse-mpi-align writes each rank's error line in one piece).
    std::ostream console_{std::cerr.rdbuf()};
    std::chrono::steady_clock::time_point last_report_ = std::chrono::steady_clock::now();
    bool shown_ = false;
};

/// The warnings about removed videos and empty outputs (stderr) and the one-line summary
/// (stdout) after a run that took `seconds`.
inline void report(std::string_view tool, const arguments& args,
                   const emofuse::io::csd::align_files_result& result, double seconds) {
    const auto& removed = result.report.removed_ids;
    if (result.report.videos == 0) {
        std::cerr << tool << ": warning: no video was aligned, the outputs are empty: "
                  << why_nothing_aligned(result.report, args.inputs.size()) << "\n";
    } else if (!removed.empty()) {
        std::cerr << tool << ": warning: " << removed.size() << " video"
                  << (removed.size() == 1 ? " is" : "s are") << " not in every sequence and "
                  << (removed.size() == 1 ? "was" : "were")
                  << " removed (first: " << emofuse::cli::quoted(removed.front()) << ")\n";
    }
    if (args.tensors && result.report.videos != 0 && result.tensor_samples == 0) {
        std::cerr << tool << ": warning: no segment key is in every aligned sequence, so the "
                  << "tensors hold no samples\n";
    }
    std::cout << tool << ": aligned " << result.report.videos << " videos to '"
              << args.options.align.reference << "' in " << seconds << " s; wrote";
    for (const auto& path : result.written) {
        std::cout << " " << path.filename().string();
    }
    if (args.tensors) {
        std::cout << "; " << result.tensor_samples << " tensor samples";
    }
    std::cout << "\n";
}

/// Runs align_files with `options` (the parsed ones, possibly with another video source),
/// ends the progress line, and reports as report() does, timed from `start`.
inline void align_and_report(std::string_view tool, const arguments& args,
                             const emofuse::io::csd::align_files_options& options,
                             progress_display& progress,
                             std::chrono::steady_clock::time_point start) {
    emofuse::io::csd::align_files_result result;
    try {
        result = emofuse::io::csd::align_files(args.inputs, args.out_dir, options);
    } catch (...) {
        progress.end_line(); // the error line starts on a line of its own
        throw;
    }
    progress.end_line();
    report(tool, args, result,
           std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

} // namespace emofuse::cli::align_tool
