// Alignment workload (docs/workloads.md): align_words — interval alignment of audio,
// video and label sequences to word intervals with mean collapse, in memory. 100 videos of
// 85-95 s, 120 words each, audio 100 Hz d=74, video 30 Hz d=35, one label row per 9 s
// utterance; words carry d=300 vectors. The data come from a counter-based generator
// (splitmix64) that bench/compare_align.py reproduces in numpy, so both time the same data.
#include <emofuse/align/interval_align.hpp>

#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <string>
#include <variant>
#include <vector>

namespace {

namespace ea = emofuse::align;

std::uint64_t splitmix64(std::uint64_t x) {
    std::uint64_t z = x + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// Uniform in [0, 1) for (stream, video, index).
double uniform(std::uint64_t stream, std::uint64_t video, std::uint64_t index) {
    const std::uint64_t key = (stream << 48) ^ (video << 32) ^ index;
    return static_cast<double>(splitmix64(key) >> 11) * 0x1.0p-53;
}

ea::segment<float> frames(std::uint64_t stream, std::uint64_t video, std::size_t count, double rate,
                          std::size_t dim) {
    ea::segment<float> s;
    s.intervals = xt::xtensor<double, 2>::from_shape({count, 2});
    s.features = xt::xtensor<float, 2>::from_shape({count, dim});
    for (std::size_t k = 0; k < count; ++k) {
        s.intervals(k, 0) = static_cast<double>(k) / rate;
        s.intervals(k, 1) = static_cast<double>(k + 1) / rate;
        for (std::size_t j = 0; j < dim; ++j) {
            s.features(k, j) = static_cast<float>(uniform(stream, video, k * dim + j) * 2 - 1);
        }
    }
    return s;
}

std::vector<ea::computational_sequence<float>> make_dataset(std::size_t videos) {
    ea::computational_sequence<float> words{"words", {}, 300, {}};
    ea::computational_sequence<float> audio{"covarep", {}, 74, {}};
    ea::computational_sequence<float> video{"facet", {}, 35, {}};
    ea::computational_sequence<float> labels{"labels", {}, 1, {}};
    for (std::uint64_t v = 0; v < videos; ++v) {
        char id[16];
        std::snprintf(id, sizeof id, "video%03u", static_cast<unsigned>(v));
        const double duration = 85.0 + 10.0 * uniform(1, v, 0);
        const std::size_t n_words = 120;
        const double slot = duration / static_cast<double>(n_words);
        auto& w = words.entries[id];
        w.intervals = xt::xtensor<double, 2>::from_shape({n_words, 2});
        w.features = xt::xtensor<float, 2>::from_shape({n_words, 300});
        for (std::size_t i = 0; i < n_words; ++i) {
            const double start = static_cast<double>(i) * slot + 0.1 * slot * uniform(2, v, 2 * i);
            w.intervals(i, 0) = start;
            w.intervals(i, 1) = start + slot * (0.4 + 0.5 * uniform(2, v, 2 * i + 1));
            for (std::size_t j = 0; j < 300; ++j) {
                w.features(i, j) = static_cast<float>(uniform(5, v, i * 300 + j) * 2 - 1);
            }
        }
        audio.entries[id] =
            frames(3, v, static_cast<std::size_t>(std::floor(duration * 100)), 100, 74);
        video.entries[id] =
            frames(4, v, static_cast<std::size_t>(std::floor(duration * 30)), 30, 35);
        const std::size_t utterances = static_cast<std::size_t>(std::ceil(duration / 9.0));
        auto& l = labels.entries[id];
        l.intervals = xt::xtensor<double, 2>::from_shape({utterances, 2});
        l.features = xt::xtensor<float, 2>::from_shape({utterances, 1});
        for (std::size_t u = 0; u < utterances; ++u) {
            l.intervals(u, 0) = 9.0 * static_cast<double>(u);
            l.intervals(u, 1) = std::min(9.0 * static_cast<double>(u + 1), duration);
            l.features(u, 0) = static_cast<float>(uniform(6, v, u) * 6 - 3);
        }
    }
    return {words, audio, video, labels};
}

const std::vector<ea::any_sequence>& align_words_data() {
    static const std::vector<ea::any_sequence> sequences = [] {
        auto dataset = make_dataset(100);
        return std::vector<ea::any_sequence>(std::make_move_iterator(dataset.begin()),
                                             std::make_move_iterator(dataset.end()));
    }();
    return sequences;
}

// The canonical workload: aligned rows held contiguously (ea::align_rows).
void align_words(benchmark::State& state) {
    const auto& sequences = align_words_data();
    ea::align_options options;
    options.reference = "words";
    options.collapse = {ea::collapse::mean()};
    std::size_t segments = 0;
    for (auto _ : state) {
        ea::align_report report;
        auto aligned = ea::align_rows(sequences, options, &report);
        benchmark::DoNotOptimize(aligned.data());
        segments = report.segments[0];
    }
    state.counters["words/s"] = benchmark::Counter(static_cast<double>(segments),
                                                   benchmark::Counter::kIsIterationInvariantRate);
    // Input bytes (every interval and feature) per second: compare with `triad`, since
    // the frames are read once from memory and the run is bandwidth-bound.
    std::size_t input_bytes = 0;
    for (const auto& seq : sequences) {
        std::visit(
            [&](const auto& s) {
                for (const auto& kv : s.entries) {
                    input_bytes += kv.second.intervals.size() * sizeof(double) +
                                   kv.second.features.size() * sizeof(kv.second.features(0, 0));
                }
            },
            seq);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * input_bytes));
    state.counters["segments"] = static_cast<double>(segments);
}

// The same alignment returned in the SDK's shape: one (intervals, features) pair per key
// (ea::align), which costs an allocation per entry.
void align_words_sequences(benchmark::State& state) {
    const auto& sequences = align_words_data();
    ea::align_options options;
    options.reference = "words";
    options.collapse = {ea::collapse::mean()};
    for (auto _ : state) {
        auto aligned = ea::align(sequences, options);
        benchmark::DoNotOptimize(aligned.data());
    }
}

} // namespace

BENCHMARK(align_words)->Unit(benchmark::kMillisecond);
BENCHMARK(align_words_sequences)->Unit(benchmark::kMillisecond);
