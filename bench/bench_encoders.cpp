// Encoder workloads (docs/workloads.md): lstm_b32_t50_768_128 — one nn.LSTM layer
// (768 → 128, batch-first, unidirectional) over 32 sequences of 50 steps, the shape of MMSA's
// text sub-network on BERT-sized features. fp32, one thread, seeded random parameters.
#include "random_tensor.hpp"
#include <emofuse/encoders/recurrent.hpp>

#include <benchmark/benchmark.h>

#include <array>
#include <cstddef>
#include <random>
#include <vector>

namespace {

namespace ee = emofuse::encoders;

using emofuse_bench::random_tensor;

void lstm_b32_t50_768_128(benchmark::State& state) {
    constexpr std::size_t batch = 32, steps = 50, input = 768, hidden = 128;
    std::mt19937 rng(42);
    ee::rnn_options options;
    options.input_size = input;
    options.hidden_size = hidden;
    options.batch_first = true;
    std::vector<ee::rnn_parameters<float>> parameters(1);
    const float scale = 0.088f; // 1/√hidden, nn.LSTM's initialisation range
    parameters[0].weight_ih = random_tensor<2>({4 * hidden, input}, scale, rng);
    parameters[0].weight_hh = random_tensor<2>({4 * hidden, hidden}, scale, rng);
    parameters[0].bias_ih = random_tensor<1>({4 * hidden}, scale, rng);
    parameters[0].bias_hh = random_tensor<1>({4 * hidden}, scale, rng);
    const ee::lstm<float> lstm(options, parameters);
    const auto x = random_tensor<3>({batch, steps, input}, 1.0f, rng);
    for (auto _ : state) {
        auto result = lstm(x);
        benchmark::DoNotOptimize(result.output.data());
        benchmark::ClobberMemory();
    }
    // Multiply-adds counted as 2 FLOPs: the input projection and the recurrent products.
    const double flops = 2.0 * batch * steps * 4 * hidden * (input + hidden);
    state.counters["FLOP/s"] =
        benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
}

} // namespace

BENCHMARK(lstm_b32_t50_768_128)->Unit(benchmark::kMillisecond);
