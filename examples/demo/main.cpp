// emofuse-demo — the main job: builds pipelines with the composer on the embedded sample set
// (or on real data, see --help), fits a ridge read-out per fusion method on the train split
// and prints the test metrics of every method side by side.
#include "common/cli.hpp"

#include "aligned_data.hpp"
#include "attention_methods.hpp"
#include "comparison.hpp"
#include "fusion_methods.hpp"
#include "sample_data.hpp"
#ifdef EMOFUSE_DEMO_HAS_CSD
#include "data_files.hpp"
#endif
// After data_files.hpp: io/csd/writer.hpp calls checked_byte_count unqualified, which finds
// io::checked_byte_count (stored_tensor.hpp) instead of emofuse::checked_byte_count when that
// is declared first.
#include "mmsa_checkpoint.hpp"

#include <emofuse/align/pool.hpp>
#include <emofuse/core/pipeline.hpp>
#include <emofuse/fusion/concat.hpp>
#include <emofuse/platform/parallel.hpp>

#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <string_view>
#include <vector>
#if __has_include(<unistd.h>)
#include <unistd.h>
#endif

namespace {

struct options {
    std::size_t train = 1200;
    std::size_t test = 600;
    std::uint64_t seed = 2026;
    bool aligned = false;
    std::string data_dir;
    std::string write_sample_dir; // hidden: writes the raw streams as .csd files (tests)
    std::size_t seq_len = 50;
    double test_fraction = 0.3;
    std::string zoo_dir;  // the MMSA checkpoint sample (default: examples/data/zoo)
    unsigned threads = 0; // 0: the library's default (EMOFUSE_NUM_THREADS, else every core)
    bool help = false;
};

namespace cli = emofuse::cli;

constexpr std::string_view tool = "emofuse-demo";

// Flag ranges: the upper ends keep one run within a few GB of memory (the aligned streams hold
// about 40 KB per utterance) and minutes of time.
constexpr std::size_t max_samples = 20000;
constexpr std::size_t max_seq_len = 4096;

void print_usage() {
    std::puts(
        "usage: emofuse-demo [--train N] [--test N] [--seed S] [--threads N]\n"
        "       emofuse-demo --aligned [--train N] [--test N] [--seed S] [--seq-len L]\n"
        "       emofuse-demo --data DIR [--seq-len L] [--test-fraction F]\n"
        "Runs every fusion method on the embedded sample set (N train / N test samples,\n"
        "generated from seed S) and prints test metrics (MOSI suite, MMSA preset), parameter\n"
        "count and forward time per sample.\n"
        "  --train N, --test N  samples (utterances) per split, 1-20000 (default 1200 / 600)\n"
        "  --seed S   0-18446744073709551615 (default 2026)\n"
        "  --aligned  generate raw timed streams per video instead (words of 0.2-0.6 s,\n"
        "             100 Hz audio and 30 Hz video frames, N utterances per split) and build\n"
        "             the splits with the CMU-SDK recipe: align audio and vision to the words\n"
        "             (mean), then to the utterance labels; L steps per utterance, 1-4096\n"
        "             (default 50)\n"
        "  --data DIR real CMU-MOSI/MOSEI .csd files (word vectors, audio, vision, labels;\n"
        "             roles from the file names), same recipe; videos go to the test split\n"
        "             by a hash of their id (fraction F, 0 < F < 1, default 0.3)\n"
        "Last, an LF_DNN checkpoint trained and saved by MMSA's own code is run on held-out\n"
        "samples as emofuse-predict runs it (MOSI suite, and the command line to do the same).\n"
        "  --zoo DIR  where that sample is (default: the source tree's examples/data/zoo, or\n"
        "             <prefix>/share/emofuse/zoo when installed)\n"
        "  --threads N  run on N threads, 1-4096 (default: EMOFUSE_NUM_THREADS, else every\n"
        "             core); the metrics do not depend on N, only the times do\n"
        "Exit status: 0 success, 1 bad input or failed run, 2 bad command line.");
}

options parse(int argc, char** argv) {
    options opts;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            opts.help = true;
            return opts;
        }
        if (arg == "--aligned") {
            opts.aligned = true;
            continue;
        }
        const bool takes_value = arg == "--train" || arg == "--test" || arg == "--seed" ||
                                 arg == "--seq-len" || arg == "--data" ||
                                 arg == "--write-sample-csd" || arg == "--test-fraction" ||
                                 arg == "--zoo" || arg == "--threads";
        if (!takes_value) {
            throw cli::usage_error("unknown option " + cli::quoted(arg));
        }
        if (i + 1 >= argc) {
            throw cli::usage_error(std::string(arg) + ": missing value");
        }
        const std::string_view value = argv[++i];
        if (arg == "--train") {
            opts.train = cli::parse_integer<std::size_t>(arg, value, 1, max_samples);
        } else if (arg == "--test") {
            opts.test = cli::parse_integer<std::size_t>(arg, value, 1, max_samples);
        } else if (arg == "--seed") {
            opts.seed = cli::parse_integer<std::uint64_t>(
                arg, value, 0, std::numeric_limits<std::uint64_t>::max());
        } else if (arg == "--seq-len") {
            opts.seq_len = cli::parse_integer<std::size_t>(arg, value, 1, max_seq_len);
        } else if (arg == "--threads") {
            opts.threads =
                cli::parse_integer<unsigned>(arg, value, 1, emofuse::detail::max_threads);
        } else if (arg == "--zoo") {
            if (value.empty()) {
                throw cli::usage_error("--zoo: expected a directory, got an empty name");
            }
            opts.zoo_dir = value;
        } else if (arg == "--data" || arg == "--write-sample-csd") {
            if (value.empty()) {
                throw cli::usage_error(std::string(arg) + ": expected a directory, got an empty "
                                                          "name");
            }
            (arg == "--data" ? opts.data_dir : opts.write_sample_dir) = value;
        } else {
            opts.test_fraction = cli::parse_real(arg, value, 0.0, 1.0);
            if (opts.test_fraction == 0.0 || opts.test_fraction == 1.0) {
                throw cli::usage_error("--test-fraction: expected a number strictly between 0 "
                                       "and 1 (both splits need videos), got " +
                                       cli::quoted(value));
            }
        }
    }
    return opts;
}

// Baselines built from the core stages: pooling over time, then late concatenation.
std::vector<demo::method> core_methods() {
    using namespace emofuse;
    std::vector<demo::method> methods;
    methods.push_back({"text only (mean pooling)", 0, [](const demo::split& s) {
                           auto pipe = per_modality(pool::mean{}) | only<text>(fusion::concat{});
                           return pipe(s.batch());
                       }});
    methods.push_back({"concat (mean pooling)", 0, [](const demo::split& s) {
                           auto pipe = per_modality(pool::mean{}) | fusion::concat{};
                           return pipe(s.batch());
                       }});
    return methods;
}

void print_aligned_summary(const demo::aligned_streams& aligned,
                           const std::vector<demo::ea::any_sequence>& raw) {
    std::printf("  aligned %zu videos: %zu words, %zu audio frames, %zu video frames -> %zu "
                "utterances in %.1f ms (words step with mean collapse, then labels)\n",
                aligned.videos, demo::total_rows(raw[0]), demo::total_rows(raw[1]),
                demo::total_rows(raw[2]), aligned.keys.size(), 1e3 * aligned.seconds);
    if (!aligned.removed_ids.empty()) {
        std::printf("  %zu videos missing from some sequence were dropped (first: %s)\n",
                    aligned.removed_ids.size(), aligned.removed_ids.front().c_str());
    }
}

// Splits the aligned utterances by video: `is_test(video id)`.
demo::sample_set split_aligned(const demo::aligned_streams& aligned, std::size_t seq_len,
                               const std::function<bool(std::string_view)>& is_test) {
    std::vector<std::string> train_keys, test_keys;
    for (const std::string& key : aligned.keys) {
        (is_test(emofuse::align::video_id(key)) ? test_keys : train_keys).push_back(key);
    }
    if (train_keys.empty() || test_keys.empty()) {
        throw emofuse::value_error("split: " + std::to_string(train_keys.size()) + " train / " +
                                   std::to_string(test_keys.size()) +
                                   " test utterances; both splits need at least one (" +
                                   std::to_string(aligned.keys.size()) + " aligned in total)");
    }
    std::size_t replaced = 0;
    demo::sample_set data{demo::make_aligned_split(aligned, train_keys, seq_len, replaced),
                          demo::make_aligned_split(aligned, test_keys, seq_len, replaced)};
    if (replaced != 0) {
        std::printf("  %zu non-finite feature values replaced by 0\n", replaced);
    }
    return data;
}

demo::sample_set embedded_data(const options& opts) {
    demo::sample_set data = demo::make_sample_set(opts.train, opts.test, opts.seed);
    std::printf("emofuse-demo: embedded sample set, seed %llu: %zu train / %zu test samples\n",
                static_cast<unsigned long long>(opts.seed), data.train.size(), data.test.size());
    std::printf("  text %zu features x %zu-%zu words, audio %zu x %zu-%zu frames, "
                "vision %zu x %zu-%zu frames (unaligned)\n",
                demo::text_spec.features, demo::text_spec.min_frames, demo::text_spec.max_frames,
                demo::audio_spec.features, demo::audio_spec.min_frames, demo::audio_spec.max_frames,
                demo::vision_spec.features, demo::vision_spec.min_frames,
                demo::vision_spec.max_frames);
    std::printf("  label y = clip(1.2 s_text + 1.5 s_audio s_vision + noise, -3, 3)\n\n");
    return data;
}

demo::sample_set aligned_data(const options& opts) {
    const demo::raw_streams raw = demo::make_raw_streams(opts.train, opts.test, opts.seed);
    std::printf("emofuse-demo: raw timed streams, seed %llu: %zu videos, %zu utterances "
                "(words 0.2-0.6 s, audio %.0f Hz, video %.0f Hz)\n",
                static_cast<unsigned long long>(opts.seed), raw.videos, raw.utterances,
                demo::audio_rate_hz, demo::video_rate_hz);
    const demo::aligned_streams aligned = demo::align_to_labels(raw.sequences);
    print_aligned_summary(aligned, raw.sequences);
    demo::sample_set data = split_aligned(aligned, opts.seq_len, [](std::string_view video) {
        return video.substr(0, 5) == "test_";
    });
    std::printf("  %zu train / %zu test utterances, %zu steps, text %zu, audio %zu, vision %zu "
                "features per word\n",
                data.train.size(), data.test.size(), opts.seq_len, data.train.sizes().text,
                data.train.sizes().audio, data.train.sizes().vision);
    std::printf("  label y = clip(1.2 s_text + 1.5 s_audio s_vision + noise, -3, 3)\n\n");
    return data;
}

#ifdef EMOFUSE_DEMO_HAS_CSD
demo::sample_set file_data(const options& opts) {
    const auto files = demo::find_data_files(opts.data_dir);
    std::vector<demo::ea::any_sequence> raw;
    for (const auto& file : files) {
        raw.push_back(emofuse::io::csd::read_csd(file));
    }
    std::printf("emofuse-demo: %s: text '%s', audio '%s', vision '%s', labels '%s'\n",
                opts.data_dir.c_str(), files[0].filename().c_str(), files[1].filename().c_str(),
                files[2].filename().c_str(), files[3].filename().c_str());
    const demo::aligned_streams aligned = demo::align_to_labels(raw);
    print_aligned_summary(aligned, raw);
    raw.clear();
    const double fraction = opts.test_fraction;
    demo::sample_set data = split_aligned(aligned, opts.seq_len, [fraction](std::string_view v) {
        return demo::is_test_video(v, fraction);
    });
    std::printf("  %zu train / %zu test utterances (test: hash of the video id, fraction %.2f), "
                "%zu steps, text %zu, audio %zu, vision %zu features\n\n",
                data.train.size(), data.test.size(), fraction, opts.seq_len,
                data.train.sizes().text, data.train.sizes().audio, data.train.sizes().vision);
    return data;
}
#endif

// Progress on stderr for long runs, when a person is watching (stderr is a terminal).
bool show_progress() {
#if __has_include(<unistd.h>)
    return ::isatty(2) == 1;
#else
    return false;
#endif
}

int run(int argc, char** argv) {
    cli::remove_outputs_on_signals();
    const options opts = parse(argc, argv);
    if (opts.help) {
        print_usage();
        return 0;
    }
    if (opts.threads != 0) {
        emofuse::set_num_threads(opts.threads);
    }
    if (!opts.write_sample_dir.empty()) {
#ifdef EMOFUSE_DEMO_HAS_CSD
        cli::sweep_stale_outputs(tool, opts.write_sample_dir);
        demo::write_sample_csd(opts.write_sample_dir,
                               demo::make_raw_streams(opts.train, opts.test, opts.seed),
                               [](const std::vector<std::filesystem::path>& files) {
                                   cli::notice_replacing(tool, files);
                               });
        std::printf("emofuse-demo: wrote 4 .csd files to %s\n", opts.write_sample_dir.c_str());
        return 0;
#else
        throw emofuse::value_error("--write-sample-csd needs .csd support: this emofuse-demo "
                                   "was built without HDF5 (emofuse::csd)");
#endif
    }
    demo::sample_set data;
    if (!opts.data_dir.empty()) {
#ifdef EMOFUSE_DEMO_HAS_CSD
        data = file_data(opts);
#else
        throw emofuse::value_error("--data needs .csd support: this emofuse-demo was built "
                                   "without HDF5 (install libhdf5-dev and reconfigure)");
#endif
    } else if (opts.aligned) {
        data = aligned_data(opts);
    } else {
        data = embedded_data(opts);
    }
    const demo::feature_sizes sizes = data.train.sizes();

    std::vector<demo::method> methods = core_methods();
    for (demo::method& m : demo::attention_methods(sizes)) {
        methods.push_back(std::move(m));
    }
    for (demo::method& m : demo::fusion_methods(sizes)) {
        methods.push_back(std::move(m));
    }

    const bool progress = show_progress();
    std::vector<demo::row_result> rows;
    for (const demo::method& m : methods) {
        if (progress) {
            std::fprintf(stderr, "\remofuse-demo: method %zu/%zu (%s)\033[K", rows.size() + 1,
                         methods.size(), m.name.c_str());
        }
        rows.push_back(demo::evaluate(m, data));
    }
    if (progress) {
        std::fprintf(stderr, "\r\033[K");
    }
    demo::print_table(rows);
    demo::run_mmsa_checkpoint(demo::find_zoo_sample(opts.zoo_dir, EMOFUSE_DEMO_ZOO_DIR));
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    return cli::run_tool(tool, [&] { return run(argc, argv); });
}
