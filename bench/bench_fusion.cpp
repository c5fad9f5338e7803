// Fusion workloads from docs/workloads.md: tfn_mmsa, tfn_mmsa_b1, lmf_mmsa, mag, mfb,
// mcb (fp32, one thread, one forward call per iteration).
#include <benchmark/benchmark.h>

#include <emofuse/core/batch.hpp>
#include <emofuse/fusion/bilinear.hpp>
#include <emofuse/fusion/compact_bilinear.hpp>
#include <emofuse/fusion/low_rank_fusion.hpp>
#include <emofuse/fusion/mag.hpp>
#include <emofuse/fusion/tensor_fusion.hpp>
#include <emofuse/layers/dense.hpp>

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

emofuse::layers::dense<float> random_dense(std::size_t out, std::size_t in, unsigned seed) {
    return emofuse::layers::dense<float>(random_tensor<2>({out, in}, seed, 0.05f),
                                         random_tensor<1>({out}, seed + 1000, 0.05f));
}

// MAG on every time step, LayerNorm included: B=32, T=50, d_t=768, d_a=74, d_v=47.
void mag(benchmark::State& state) {
    const std::size_t batch = 32, steps = 50, dt = 768, da = 74, dv = 47;
    std::vector<fusion::mag_auxiliary<float>> aux;
    aux.push_back({random_dense(dt, dv + dt, 30), random_dense(dt, dv, 31)});
    aux.push_back({random_dense(dt, da + dt, 32), random_dense(dt, da, 33)});
    fusion::mag<float> stage(std::move(aux), xt::ones<float>({dt}), xt::zeros<float>({dt}), 0.5f);
    const auto input = make_batch(text(sequence<float>(random_tensor<3>({batch, steps, dt}, 34))),
                                  vision(sequence<float>(random_tensor<3>({batch, steps, dv}, 35))),
                                  audio(sequence<float>(random_tensor<3>({batch, steps, da}, 36))));
    for (auto _ : state) {
        auto y = stage(input);
        benchmark::DoNotOptimize(y.values().data());
        benchmark::ClobberMemory();
    }
    const double rows = double(batch * steps);
    set_flops(state, 2.0 * rows * double(dt) * double((dv + dt) + dv + (da + dt) + da));
}

// MFB with power + L2 normalisation: B=64, d_0=d_1=128, o=1200, k=2.
void mfb(benchmark::State& state) {
    const std::size_t batch = 64, d = 128, o = 1200, k = 2;
    fusion::mfb<float> stage(random_dense(o * k, d, 40), random_dense(o * k, d, 41), k,
                             {fusion::activation::identity, fusion::activation::identity, true});
    const auto input = make_batch(vision(random_tensor<2>({batch, d}, 42)),
                                  text(random_tensor<2>({batch, d}, 43)));
    for (auto _ : state) {
        auto y = stage(input);
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    set_flops(state, 2.0 * 2.0 * double(batch * d * o * k));
}

// Compact bilinear pooling: B=64, d_0=d_1=128, D=16384. The automatic method (the direct
// sketch of the outer product, O(d_0·d_1) per sample) is the stable workload; mcb_fft forces
// the O(D log D) FFT path for comparison.
void run_mcb(benchmark::State& state, fusion::mcb_convolution method) {
    const std::size_t batch = 64, d = 128, out = 16384;
    fusion::compact_bilinear<float> stage(d, d, out, 7, false, method);
    const auto input = make_batch(vision(random_tensor<2>({batch, d}, 50)),
                                  text(random_tensor<2>({batch, d}, 51)));
    for (auto _ : state) {
        auto y = stage(input);
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    state.counters["samples/s"] =
        benchmark::Counter(double(batch), benchmark::Counter::kIsIterationInvariantRate);
}
void mcb(benchmark::State& state) {
    run_mcb(state, fusion::mcb_convolution::automatic);
}
void mcb_fft(benchmark::State& state) {
    run_mcb(state, fusion::mcb_convolution::fft);
}

} // namespace

BENCHMARK(tfn_mmsa)->Unit(benchmark::kMillisecond);
BENCHMARK(tfn_mmsa_b1)->Unit(benchmark::kMillisecond);
BENCHMARK(lmf_mmsa)->Unit(benchmark::kMicrosecond);
BENCHMARK(mag)->Unit(benchmark::kMillisecond);
BENCHMARK(mfb)->Unit(benchmark::kMicrosecond);
BENCHMARK(mcb)->Unit(benchmark::kMicrosecond);
BENCHMARK(mcb_fft)->Unit(benchmark::kMillisecond);
