// Fusion workloads from shared/design/WORKLOADS.md: tfn_mmsa, tfn_mmsa_b1, lmf_mmsa, mag, mfb,
// mcb (fp32, one thread, one forward call per iteration).
#include <benchmark/benchmark.h>

#include <emofuse/core/batch.hpp>
#include <emofuse/fusion/low_rank_fusion.hpp>
#include <emofuse/fusion/tensor_fusion.hpp>

#include <cstddef>
#include <random>
#include <vector>

using namespace emofuse;

namespace {

template <std::size_t N>
xt::xtensor<float, N> random_tensor(const std::array<std::size_t, N>& shape, unsigned seed,
                                    float scale = 1.f) {
    std::mt19937 gen(seed);
    std::normal_distribution<float> dist(0.f, scale);
    auto out = xt::xtensor<float, N>::from_shape(shape);
    for (auto& v : out) {
        v = dist(gen);
    }
    return out;
}

void set_flops(benchmark::State& state, double flops_per_call) {
    state.counters["FLOP/s"] =
        benchmark::Counter(flops_per_call, benchmark::Counter::kIsIterationInvariantRate);
}

// tensor fusion + linear + ReLU, MMSA MOSI shapes: d_a=32, d_v=128, d_t=32 (+1 each), H=64.
void run_tfn(benchmark::State& state, std::size_t batch) {
    const std::size_t da = 32, dv = 128, dt = 32, out = 64;
    const std::size_t width = (da + 1) * (dv + 1) * (dt + 1);
    fusion::tensor_fusion_linear<float, dims<32, 128, 32>> stage(
        random_tensor<2>({out, width}, 1, 0.01f), random_tensor<1>({out}, 2),
        kernels::epilogue::relu);
    const auto input = make_batch(audio(random_tensor<2>({batch, da}, 3)),
                                  vision(random_tensor<2>({batch, dv}, 4)),
                                  text(random_tensor<2>({batch, dt}, 5)));
    for (auto _ : state) {
        auto y = stage(input);
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    set_flops(state, 2.0 * double(batch) * double(width) * double(out));
}

void tfn_mmsa(benchmark::State& state) {
    run_tfn(state, 32);
}
void tfn_mmsa_b1(benchmark::State& state) {
    run_tfn(state, 1);
}

// LMF, B=64, d=(128, 16, 128), rank 4, H=64.
void lmf_mmsa(benchmark::State& state) {
    const std::size_t batch = 64, rank = 4, out = 64;
    const std::array<std::size_t, 3> d{128, 16, 128};
    std::vector<xt::xtensor<float, 3>> factors;
    for (std::size_t m = 0; m < 3; ++m) {
        factors.push_back(random_tensor<3>({rank, d[m] + 1, out}, unsigned(10 + m), 0.1f));
    }
    fusion::low_rank_fusion<float> stage(std::move(factors), random_tensor<2>({1, rank}, 20),
                                         random_tensor<2>({1, out}, 21));
    const auto input = make_batch(audio(random_tensor<2>({batch, d[0]}, 22)),
                                  vision(random_tensor<2>({batch, d[1]}, 23)),
                                  text(random_tensor<2>({batch, d[2]}, 24)));
    for (auto _ : state) {
        auto y = stage(input);
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    double flops = 0;
    for (auto dm : d) {
        flops += 2.0 * double(batch) * double(dm + 1) * double(rank * out);
    }
    set_flops(state, flops + 3.0 * double(batch * rank * out));
}

} // namespace

BENCHMARK(tfn_mmsa)->Unit(benchmark::kMillisecond);
BENCHMARK(tfn_mmsa_b1)->Unit(benchmark::kMillisecond);
BENCHMARK(lmf_mmsa)->Unit(benchmark::kMicrosecond);
