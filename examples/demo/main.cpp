// emofuse-demo — the main job: builds pipelines with the composer on the embedded sample set
// (or on real data, see --help), fits a ridge read-out per fusion method on the train split
// and prints the test metrics of every method side by side.
#include "aligned_data.hpp"
#include "attention_methods.hpp"
#include "comparison.hpp"
#include "fusion_methods.hpp"
#include "sample_data.hpp"
#ifdef EMOFUSE_DEMO_HAS_CSD
#include "data_files.hpp"
#endif

#include <emofuse/align/pool.hpp>
#include <emofuse/core/pipeline.hpp>
#include <emofuse/fusion/concat.hpp>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

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
};

void print_usage() {
    std::puts(
        "usage: emofuse-demo [--train N] [--test N] [--seed S]\n"
        "       emofuse-demo --aligned [--train N] [--test N] [--seed S] [--seq-len L]\n"
        "       emofuse-demo --data DIR [--seq-len L] [--test-fraction F]\n"
        "Runs every fusion method on the embedded sample set (N train / N test samples,\n"
        "generated from seed S) and prints test metrics (MOSI suite, MMSA preset), parameter\n"
        "count and forward time per sample.\n"
        "  --aligned  generate raw timed streams per video instead (words of 0.2-0.6 s,\n"
        "             100 Hz audio and 30 Hz video frames, N utterances per split) and build\n"
        "             the splits with the CMU-SDK recipe: align audio and vision to the words\n"
        "             (mean), then to the utterance labels; L steps per utterance (default 50)\n"
        "  --data DIR real CMU-MOSI/MOSEI .csd files (word vectors, audio, vision, labels;\n"
        "             roles from the file names), same recipe; videos go to the test split\n"
        "             by a hash of their id (fraction F, default 0.3)");
}

std::size_t parse_count(std::string_view flag, const char* text) {
    char* end = nullptr;
    const unsigned long long value = std::strtoull(text, &end, 10);
    if (end == text || *end != '\0' || value == 0) {
        throw std::invalid_argument(std::string(flag) + ": expected a positive integer, got '" +
                                    text + "'");
    }
    return static_cast<std::size_t>(value);
}

options parse(int argc, char** argv) {
    options opts;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            print_usage();
            std::exit(0);
        }
        if (arg == "--aligned") {
            opts.aligned = true;
            continue;
        }
        if (i + 1 >= argc) {
            throw std::invalid_argument("unknown option or missing value: " + std::string(arg));
        }
        if (arg == "--train") {
            opts.train = parse_count(arg, argv[++i]);
        } else if (arg == "--test") {
            opts.test = parse_count(arg, argv[++i]);
        } else if (arg == "--seed") {
            opts.seed = parse_count(arg, argv[++i]);
        } else if (arg == "--seq-len") {
            opts.seq_len = parse_count(arg, argv[++i]);
        } else if (arg == "--data") {
            opts.data_dir = argv[++i];
        } else if (arg == "--write-sample-csd") {
            opts.write_sample_dir = argv[++i];
        } else if (arg == "--test-fraction") {
            const char* text = argv[++i];
            char* end = nullptr;
            opts.test_fraction = std::strtod(text, &end);
            if (end == text || *end != '\0' || !(opts.test_fraction > 0.0) ||
                !(opts.test_fraction < 1.0)) {
                throw std::invalid_argument(
                    std::string("--test-fraction: expected a number in (0, 1), got '") + text +
                    "'");
            }
        } else {
            throw std::invalid_argument("unknown option: " + std::string(arg));
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

} // namespace

int main(int argc, char** argv) try {
    const options opts = parse(argc, argv);
    if (!opts.write_sample_dir.empty()) {
#ifdef EMOFUSE_DEMO_HAS_CSD
        demo::write_sample_csd(opts.write_sample_dir,
                               demo::make_raw_streams(opts.train, opts.test, opts.seed));
        std::printf("emofuse-demo: wrote 4 .csd files to %s\n", opts.write_sample_dir.c_str());
        return 0;
#else
        throw std::invalid_argument("--write-sample-csd needs .csd support: this emofuse-demo "
                                    "was built without HDF5 (emofuse::csd)");
#endif
    }
    demo::sample_set data;
    if (!opts.data_dir.empty()) {
#ifdef EMOFUSE_DEMO_HAS_CSD
        data = file_data(opts);
#else
        throw std::invalid_argument("--data needs .csd support: this emofuse-demo was built "
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

    std::vector<demo::row_result> rows;
    for (const demo::method& m : methods) {
        rows.push_back(demo::evaluate(m, data));
    }
    demo::print_table(rows);
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "emofuse-demo: %s\n", e.what());
    return 1;
}
