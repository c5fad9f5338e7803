// OV-MER emotion-wheel scoring (name from docs/workloads.md): 2,000 answer pairs mapped
// through MERTools' chain and scored on wheels 1..5 at both levels, the tables loaded once
// before timing. Tables: $EMOFUSE_WHEEL_DIR (default: the committed synthetic folder);
// answers: $EMOFUSE_WHEEL_TRUTH / $EMOFUSE_WHEEL_PRED (default: the committed answers,
// repeated to 2,000 lines). bench/compare_wheel.py times MERTools' wheel.py on the same files.
#ifdef EMOFUSE_BENCH_HAVE_XLSX
#include <emofuse/io/xlsx/emotion_wheel.hpp>
#include <emofuse/metrics/emotion_wheel.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace em = emofuse::metrics;

namespace {

constexpr std::size_t wheel_samples = 2000;

std::string setting(const char* name, const std::string& fallback) {
    const char* value = std::getenv(name);
    return value != nullptr && *value != '\0' ? value : fallback;
}

/// The file's lines, repeated until there are `count`.
std::vector<std::string> answer_lines(const std::string& path, std::size_t count) {
    std::ifstream in(path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) {
        lines.push_back(line == "-" ? std::string() : line);
    }
    if (lines.empty()) {
        throw std::runtime_error("bench ov_mertools_2000: no answers in " + path);
    }
    std::vector<std::string> out;
    out.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        out.push_back(lines[i % lines.size()]);
    }
    return out;
}

/// From answer text to the seven keys of --level both.
void ov_mertools_2000(benchmark::State& state) {
    const std::string data = EMOFUSE_WHEEL_DATA_DIR;
    const em::emotion_wheel_map map(
        emofuse::io::xlsx::read_emotion_wheel(setting("EMOFUSE_WHEEL_DIR", data + "/random")));
    const auto truth_text =
        answer_lines(setting("EMOFUSE_WHEEL_TRUTH", data + "/random_truth.txt"), wheel_samples);
    const auto pred_text =
        answer_lines(setting("EMOFUSE_WHEEL_PRED", data + "/random_pred.txt"), wheel_samples);
    std::vector<em::wheel_answer> truth(wheel_samples), pred(wheel_samples);
    for (auto _ : state) {
        for (std::size_t i = 0; i < wheel_samples; ++i) {
            em::map_wheel_answer(map, truth_text[i], truth[i]);
            em::map_wheel_answer(map, pred_text[i], pred[i]);
        }
        em::emotion_wheel_suite suite(em::wheel_release::mertools2025, em::wheel_levels::both);
        suite.update(truth, pred);
        auto result = suite.compute();
        benchmark::DoNotOptimize(result.metrics.data());
    }
    state.SetItemsProcessed(std::int64_t(state.iterations()) * std::int64_t(wheel_samples));
}
BENCHMARK(ov_mertools_2000)->Unit(benchmark::kMicrosecond);

} // namespace
#endif
