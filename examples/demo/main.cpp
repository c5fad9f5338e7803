// emofuse-demo — the main job: builds pipelines with the composer on the embedded sample set
// (or on real data, see --help), fits a ridge read-out per fusion method on the train split
// and prints the test metrics of every method side by side.
#include "attention_methods.hpp"
#include "comparison.hpp"
#include "fusion_methods.hpp"
#include "sample_data.hpp"

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
};

void print_usage() {
    std::puts(
        "usage: emofuse-demo [--train N] [--test N] [--seed S]\n"
        "Runs every fusion method on the embedded sample set (N train / N test samples,\n"
        "generated from seed S) and prints test metrics (MOSI suite, MMSA preset), parameter\n"
        "count and forward time per sample.");
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
        if (i + 1 >= argc) {
            throw std::invalid_argument("unknown option or missing value: " + std::string(arg));
        }
        if (arg == "--train") {
            opts.train = parse_count(arg, argv[++i]);
        } else if (arg == "--test") {
            opts.test = parse_count(arg, argv[++i]);
        } else if (arg == "--seed") {
            opts.seed = parse_count(arg, argv[++i]);
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

} // namespace

int main(int argc, char** argv) try {
    const options opts = parse(argc, argv);
    const demo::sample_set data = demo::make_sample_set(opts.train, opts.test, opts.seed);
    std::printf("emofuse-demo: embedded sample set, seed %llu: %zu train / %zu test samples\n",
                static_cast<unsigned long long>(opts.seed), data.train.size(), data.test.size());
    std::printf("  text %zu features x %zu-%zu words, audio %zu x %zu-%zu frames, "
                "vision %zu x %zu-%zu frames (unaligned)\n",
                demo::text_spec.features, demo::text_spec.min_frames, demo::text_spec.max_frames,
                demo::audio_spec.features, demo::audio_spec.min_frames,
                demo::audio_spec.max_frames, demo::vision_spec.features,
                demo::vision_spec.min_frames, demo::vision_spec.max_frames);
    std::printf("  label y = clip(1.2 s_text + 1.5 s_audio s_vision + noise, -3, 3)\n\n");

    std::vector<demo::method> methods = core_methods();
    for (demo::method& m : demo::attention_methods()) {
        methods.push_back(std::move(m));
    }
    for (demo::method& m : demo::fusion_methods()) {
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
