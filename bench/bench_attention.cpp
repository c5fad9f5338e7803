// Attention workloads (docs/workloads.md): mult_cross — one pre-LN MulT crossmodal
// layer (MHA with Q from the target, K = V from the source, FFN 4d) — and mha_self — multi-head
// self-attention with its in/out projections. fp32, one thread, seeded random parameters.
#include "random_tensor.hpp"
#include <emofuse/attention/crossmodal.hpp>
#include <emofuse/attention/mult.hpp>
#include <emofuse/attention/multi_head.hpp>
#include <emofuse/attention/torch_transformer.hpp>
#include <emofuse/encoders/conv1d.hpp>
#include <emofuse/layers/dense.hpp>
#include <emofuse/layers/layer_norm.hpp>

#include <benchmark/benchmark.h>

#include <array>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <random>
#include <vector>

namespace {

namespace ea = emofuse::attention;

using emofuse_bench::random_tensor;

ea::multi_head_attention<float> random_mha(std::size_t d, std::size_t heads, std::mt19937& rng) {
    const float s = 1.0f / std::sqrt(static_cast<float>(d));
    return ea::multi_head_attention<float>(
        heads, random_tensor<2>({3 * d, d}, s, rng), random_tensor<1>({3 * d}, 0.1f, rng),
        random_tensor<2>({d, d}, s, rng), random_tensor<1>({d}, 0.1f, rng));
}

emofuse::layers::layer_norm<float> random_norm(std::size_t d, std::mt19937& rng) {
    xt::xtensor<float, 1> w = random_tensor<1>({d}, 0.1f, rng) + 1.0f;
    return emofuse::layers::layer_norm<float>(w, random_tensor<1>({d}, 0.1f, rng));
}

// FLOPs of one pre-LN crossmodal layer, counting each multiply-add as 2 (projections,
// Q·Kᵀ, P·V, FFN); layer norms, softmax exponentials and residual adds are not counted.
double crossmodal_flops(double b, double tq, double tk, double d) {
    const double projections = 2 * b * tq * d * d + 2 * b * tk * 2 * d * d + 2 * b * tq * d * d;
    const double attention = 2 * (2 * b * tq * tk * d);
    const double ffn = 2 * (2 * b * tq * d * 4 * d);
    return projections + attention + ffn;
}

double self_attention_flops(double b, double t, double d) {
    return 2 * b * t * 3 * d * d + 2 * (2 * b * t * t * d) + 2 * b * t * d * d;
}

/// One crossmodal layer (model width d, ReLU FFN of width 4d) with seeded random weights.
ea::crossmodal_layer<float> random_crossmodal_layer(std::size_t d, std::size_t heads,
                                                    std::mt19937& rng) {
    const float s = 1.0f / std::sqrt(static_cast<float>(d));
    return ea::crossmodal_layer<float>(
        random_mha(d, heads, rng), random_norm(d, rng),
        emofuse::layers::dense<float>(random_tensor<2>({4 * d, d}, s, rng),
                                      random_tensor<1>({4 * d}, 0.1f, rng)),
        emofuse::layers::dense<float>(random_tensor<2>({d, 4 * d}, 0.5f * s, rng),
                                      random_tensor<1>({d}, 0.1f, rng)),
        random_norm(d, rng), emofuse::layers::activation::relu);
}

void mult_cross(benchmark::State& state) {
    constexpr std::size_t batch = 16, tq = 50, tk = 500, d = 50, heads = 10;
    std::mt19937 rng(42);
    const ea::crossmodal_layer<float> layer = random_crossmodal_layer(d, heads, rng);
    const auto target = random_tensor<3>({batch, tq, d}, 1.0f, rng);
    const auto source = random_tensor<3>({batch, tk, d}, 1.0f, rng);
    xt::xtensor<float, 3> x(target.shape());
    const ea::attention_mask<float> mask;
    for (auto _ : state) {
        std::memcpy(x.data(), target.data(), target.size() * sizeof(float));
        layer.apply(x.data(), batch, tq, source.data(), tk, mask);
        benchmark::DoNotOptimize(x.data());
        benchmark::ClobberMemory();
    }
    state.counters["FLOP/s"] = benchmark::Counter(crossmodal_flops(batch, tq, tk, d),
                                                  benchmark::Counter::kIsIterationInvariantRate);
}

void mha_self(benchmark::State& state) {
    constexpr std::size_t batch = 16, t = 50, d = 50, heads = 10;
    std::mt19937 rng(7);
    const auto mha = random_mha(d, heads, rng);
    const auto x = random_tensor<3>({batch, t, d}, 1.0f, rng);
    xt::xtensor<float, 3> out(x.shape());
    const ea::token_view<float> view{x.data(), batch, t, d, ea::layout::batch_first};
    const ea::attention_mask<float> mask;
    for (auto _ : state) {
        mha.forward(view, view, view, mask, out.data());
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    state.counters["FLOP/s"] = benchmark::Counter(self_attention_flops(batch, t, d),
                                                  benchmark::Counter::kIsIterationInvariantRate);
}

ea::crossmodal_encoder<float> random_encoder(std::size_t d, std::size_t heads, std::size_t layers,
                                             std::mt19937& rng) {
    std::vector<ea::crossmodal_layer<float>> stack;
    for (std::size_t i = 0; i < layers; ++i) {
        stack.push_back(random_crossmodal_layer(d, heads, rng));
    }
    // MulT's encoder as this workload was first measured: every frame gets a position, no
    // future mask.
    auto options = ea::encoder_options::mult_original();
    options.positions.zero_position_for_padding_frames = false;
    options.mask_future = false;
    return ea::crossmodal_encoder<float>(std::move(stack), random_norm(d, rng), options);
}

// The full MulT forward with MulT's CMU-MOSEI configuration (unaligned: text 50 × 300, audio
// 500 × 74, vision 500 × 35; d = 30, 5 heads, 5 layers per block and memory), batch 8.
// Not a canonical row of docs/workloads.md: an end-to-end figure next to the layer-level ones.
void mult_forward_mosei(benchmark::State& state) {
    constexpr std::size_t batch = 8, d = 30, heads = 5, layers = 5;
    constexpr std::array<std::size_t, 3> time{50, 500, 500};
    constexpr std::array<std::size_t, 3> orig{300, 74, 35};
    std::mt19937 rng(3);
    ea::mult_parameters<float> p;
    for (std::size_t m = 0; m < 3; ++m) {
        p.projections[m] = emofuse::encoders::conv1d<float>(
            random_tensor<3>({d, orig[m], 1}, 1.0f / std::sqrt(float(orig[m])), rng), {});
    }
    for (auto& e : p.crossmodal) {
        e = random_encoder(d, heads, layers, rng);
    }
    for (auto& e : p.memory) {
        e = random_encoder(2 * d, heads, layers, rng);
    }
    const float s = 1.0f / std::sqrt(float(6 * d));
    p.proj1 = emofuse::layers::dense<float>(random_tensor<2>({6 * d, 6 * d}, s, rng),
                                            random_tensor<1>({6 * d}, 0.1f, rng));
    p.proj2 = emofuse::layers::dense<float>(random_tensor<2>({6 * d, 6 * d}, s, rng),
                                            random_tensor<1>({6 * d}, 0.1f, rng));
    p.out_layer = emofuse::layers::dense<float>(random_tensor<2>({1, 6 * d}, s, rng),
                                                random_tensor<1>({1}, 0.1f, rng));
    const ea::mult_model<float> model(std::move(p));
    const emofuse::sequence<float> l(random_tensor<3>({batch, time[0], orig[0]}, 1.0f, rng));
    const emofuse::sequence<float> a(random_tensor<3>({batch, time[1], orig[1]}, 1.0f, rng));
    const emofuse::sequence<float> v(random_tensor<3>({batch, time[2], orig[2]}, 1.0f, rng));
    for (auto _ : state) {
        auto r = model.forward(l, a, v);
        benchmark::DoNotOptimize(r.prediction.data());
        benchmark::ClobberMemory();
    }
}

// PyTorch's own nn.TransformerEncoder(nn.TransformerEncoderLayer(128, nhead=8,
// dim_feedforward=512, batch_first=True), num_layers=2) in eval mode (post-LN, ReLU), batch 32 ×
// 50 steps with a key-padding mask (lengths 25..50, the same in compare_torch_attention.py).
std::vector<std::size_t> torch_encoder_lengths(std::size_t batch, std::size_t time) {
    std::vector<std::size_t> lengths(batch);
    for (std::size_t b = 0; b < batch; ++b) {
        lengths[b] = time - (b * 7) % (time / 2 + 1);
    }
    return lengths;
}

void torch_encoder_b32_t50_d128(benchmark::State& state) {
    constexpr std::size_t batch = 32, t = 50, d = 128, heads = 8, ffn = 512, layers = 2;
    std::mt19937 rng(11);
    std::vector<ea::torch_encoder_layer<float>> stack;
    const float s = 1.0f / std::sqrt(float(d));
    for (std::size_t i = 0; i < layers; ++i) {
        stack.emplace_back(random_mha(d, heads, rng),
                           emofuse::layers::dense<float>(random_tensor<2>({ffn, d}, s, rng),
                                                         random_tensor<1>({ffn}, 0.1f, rng)),
                           emofuse::layers::dense<float>(random_tensor<2>({d, ffn}, 0.5f * s, rng),
                                                         random_tensor<1>({d}, 0.1f, rng)),
                           random_norm(d, rng), random_norm(d, rng),
                           ea::torch_encoder_options::pytorch());
    }
    const ea::torch_encoder<float> encoder(std::move(stack));
    const auto x = random_tensor<3>({batch, t, d}, 1.0f, rng);
    ea::attention_mask<float> mask;
    mask.key_lengths = torch_encoder_lengths(batch, t);
    for (auto _ : state) {
        auto y = encoder(x, mask);
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    // Per layer: QKV, Q·Kᵀ and P·V over all T keys (padding included in the count), out_proj,
    // the two FFN products; multiply-adds counted as 2.
    const double per_layer = 2.0 * batch * t * d * (3 * d + d + 2 * ffn) + 4.0 * batch * t * t * d;
    state.counters["FLOP/s"] =
        benchmark::Counter(layers * per_layer, benchmark::Counter::kIsIterationInvariantRate);
}

} // namespace

BENCHMARK(mult_cross)->Unit(benchmark::kMillisecond);
BENCHMARK(mha_self)->Unit(benchmark::kMicrosecond);
BENCHMARK(mult_forward_mosei)->Unit(benchmark::kMillisecond);
BENCHMARK(torch_encoder_b32_t50_d128)->Unit(benchmark::kMillisecond);
