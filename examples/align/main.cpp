// emofuse-align — aligns CMU computational sequences (.csd files) to a reference sequence
// with the CMU-MultimodalSDK's semantics, one video in memory at a time.
//
//   emofuse-align --reference NAME --collapse mean[,std,...] [--impute zeros]
//                 [--tensors --seq-len N --pad left|right] [--gzip LEVEL] [--quiet]
//                 --out DIR FILE.csd...
#include <emofuse/io/csd/align_files.hpp>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr std::string_view usage =
    "usage: emofuse-align --reference NAME [--collapse mean[,std,...]] [--impute zeros]\n"
    "                     [--tensors --seq-len N [--pad left|right]] [--gzip LEVEL] [--quiet]\n"
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
    "                    DIR/tensor_keys.txt, as the SDK's get_tensors\n"
    "  --seq-len N       time steps per sample (required with --tensors)\n"
    "  --pad left|right  zero padding side (default left, which keeps the last steps)\n"
    "  --gzip LEVEL      0-9, or -1 for uncompressed datasets (default 9, as the SDK)\n"
    "  --quiet           no progress on stderr\n";

[[noreturn]] void fail_usage(const std::string& message) {
    std::cerr << "emofuse-align: " << message << "\n\n" << usage;
    std::exit(2);
}

std::size_t parse_count(const std::string& flag, const std::string& text) {
    try {
        std::size_t used = 0;
        const long long value = std::stoll(text, &used);
        if (used == text.size() && value > 0) {
            return static_cast<std::size_t>(value);
        }
    } catch (const std::exception&) {
    }
    fail_usage(flag + ": expected a positive integer, got '" + text + "'");
}

} // namespace

int main(int argc, char** argv) {
    namespace csd = emofuse::io::csd;
    namespace align = emofuse::align;
    csd::align_files_options options;
    std::string out_dir;
    std::vector<std::filesystem::path> inputs;
    bool tensors = false;
    bool quiet = false;
    std::size_t seq_len = 0;
    align::pad_side pad = align::pad_side::left;
    try {
        for (int i = 1; i < argc; ++i) {
            const std::string arg = argv[i];
            const auto value = [&]() -> std::string {
                if (i + 1 >= argc) {
                    fail_usage(arg + ": missing value");
                }
                return argv[++i];
            };
            if (arg == "--help" || arg == "-h") {
                std::cout << usage;
                return 0;
            } else if (arg == "--reference") {
                options.align.reference = value();
            } else if (arg == "--collapse") {
                options.align.collapse = align::collapse::parse_list(value());
            } else if (arg == "--impute") {
                const std::string how = value();
                if (how != "zeros") {
                    fail_usage("--impute: expected 'zeros', got '" + how + "'");
                }
                options.align.impute_zeros = true;
            } else if (arg == "--out") {
                out_dir = value();
            } else if (arg == "--tensors") {
                tensors = true;
            } else if (arg == "--seq-len") {
                seq_len = parse_count(arg, value());
            } else if (arg == "--pad") {
                const std::string side = value();
                if (side != "left" && side != "right") {
                    fail_usage("--pad: expected 'left' or 'right', got '" + side + "'");
                }
                pad = side == "left" ? align::pad_side::left : align::pad_side::right;
            } else if (arg == "--gzip") {
                const std::string level = value();
                if (level == "-1") {
                    options.writer.gzip_level = -1;
                } else if (level.size() == 1 && level[0] >= '0' && level[0] <= '9') {
                    options.writer.gzip_level = level[0] - '0';
                } else {
                    fail_usage("--gzip: expected -1 or 0..9, got '" + level + "'");
                }
            } else if (arg == "--quiet") {
                quiet = true;
            } else if (arg.rfind("--", 0) == 0) {
                fail_usage("unknown option '" + arg + "'");
            } else {
                inputs.emplace_back(arg);
            }
        }
    } catch (const emofuse::error& e) {
        fail_usage(e.what());
    }
    if (options.align.reference.empty()) {
        fail_usage("--reference NAME is required");
    }
    if (out_dir.empty()) {
        fail_usage("--out DIR is required");
    }
    if (inputs.empty()) {
        fail_usage("no input .csd files");
    }
    if (tensors != (seq_len != 0)) {
        fail_usage("--tensors and --seq-len N go together");
    }
    if (tensors) {
        options.tensors = align::tensor_options{seq_len, pad, align::truncate_side::as_sdk};
    }
    const auto start = std::chrono::steady_clock::now();
    auto last_report = start;
    if (!quiet) {
        options.align.progress = [&](std::size_t done, std::size_t total, std::string_view video) {
            const auto now = std::chrono::steady_clock::now();
            if (done == total || now - last_report > std::chrono::milliseconds(500)) {
                std::cerr << "\remofuse-align: " << done << "/" << total << " videos (" << video
                          << ")\033[K" << std::flush;
                last_report = now;
            }
        };
    }
    try {
        const auto result = csd::align_files(inputs, out_dir, options);
        if (!quiet) {
            std::cerr << "\n";
        }
        for (const auto& id : result.report.removed_ids) {
            std::cerr << "emofuse-align: warning: video '" << id
                      << "' is not in every sequence; removed\n";
        }
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::cout << "emofuse-align: aligned " << result.report.videos << " videos to '"
                  << options.align.reference << "' in " << seconds << " s; wrote";
        for (const auto& path : result.written) {
            std::cout << " " << path.filename().string();
        }
        if (tensors) {
            std::cout << "; " << result.tensor_samples << " tensor samples";
        }
        std::cout << "\n";
    } catch (const emofuse::error& e) {
        if (!quiet) {
            std::cerr << "\n";
        }
        std::cerr << "emofuse-align: error: " << e.what() << "\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "emofuse-align: error: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
