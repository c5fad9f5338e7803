// Text workloads (docs/workloads.md): bert_base_b32_t50 / bert_base_b1_t50 — Hugging Face's
// BertModel at bert-base shapes (hidden 768, 12 layers, 12 heads, intermediate 3072) with
// seeded random weights, last_hidden_state of 50-token rows. fp32, one thread.
#include "random_tensor.hpp"
#include <emofuse/io/state_dict.hpp>
#include <emofuse/text/bert.hpp>

#include <benchmark/benchmark.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>

namespace {

namespace et = emofuse::language;
using emofuse_bench::random_tensor;

/// bert-base's tensors with N(0, s²) weights (s = 1/√fan-in, embeddings 1), N(0, 0.1²)
/// biases and LayerNorm parameters 1 + N(0, 0.1²), N(0, 0.1²).
emofuse::io::state_dict random_bert(const et::bert_config& c, std::mt19937& rng) {
    emofuse::io::state_dict sd;
    for (const auto& [name, shape] : et::bert_parameter_shapes(c)) {
        if (name.find("LayerNorm.weight") != std::string::npos) {
            xt::xtensor<float, 1> weight = random_tensor<1>({shape[0]}, 0.1f, rng) + 1.0f;
            sd.insert(name, weight);
        } else if (shape.size() == 1) {
            sd.insert(name, random_tensor<1>({shape[0]}, 0.1f, rng));
        } else {
            // Embedding tables at unit scale, Linear weights at 1/sqrt(fan_in).
            const bool table = name.starts_with("embeddings.");
            sd.insert(name,
                      random_tensor<2>({shape[0], shape[1]},
                                       table ? 1.0f : 1.0f / std::sqrt(float(shape[1])), rng));
        }
    }
    return sd;
}

/// Rows of 50 tokens; with `padded`, sample b has 50 − (7b mod 26) real tokens (25..50, as
/// compare_torch_bert.py pads them), the rest padding.
et::bert_tokens random_tokens(std::size_t batch, std::size_t t, bool padded, std::mt19937& rng) {
    std::uniform_int_distribution<std::int64_t> id(1000, 30000);
    et::bert_tokens tokens;
    tokens.input_ids = xt::xtensor<std::int64_t, 2>::from_shape({batch, t});
    tokens.attention_mask = xt::xtensor<std::int64_t, 2>::from_shape({batch, t});
    tokens.token_type_ids = xt::zeros<std::int64_t>({batch, t});
    for (std::size_t b = 0; b < batch; ++b) {
        const std::size_t length = padded ? t - (b * 7) % (t / 2 + 1) : t;
        for (std::size_t i = 0; i < t; ++i) {
            tokens.input_ids(b, i) = i < length ? id(rng) : 0;
            tokens.attention_mask(b, i) = i < length ? 1 : 0;
        }
    }
    return tokens;
}

void run_bert_base(benchmark::State& state, std::size_t batch, bool padded) {
    constexpr std::size_t t = 50;
    std::mt19937 rng(2018);
    const et::bert_config config = et::bert_config::bert_base();
    const auto model = et::bert_model<float>::load(random_bert(config, rng), "", config);
    const et::bert_tokens tokens = random_tokens(batch, t, padded, rng);
    for (auto _ : state) {
        auto hidden = model.forward(tokens);
        benchmark::DoNotOptimize(hidden.data());
        benchmark::ClobberMemory();
    }
    // Per layer: q|k|v, out, the two FFN products over every token; Q·Kᵀ and P·V over all 50
    // keys (padding included in the count); multiply-adds counted as 2.
    const double d = 768, ffn = 3072, rows = double(batch) * t;
    const double per_layer = 2.0 * rows * d * (4 * d + 2 * ffn) + 4.0 * rows * t * d;
    state.counters["FLOP/s"] =
        benchmark::Counter(12 * per_layer, benchmark::Counter::kIsIterationInvariantRate);
}

void bert_base_b32_t50(benchmark::State& state) {
    run_bert_base(state, 32, true);
}
void bert_base_b1_t50(benchmark::State& state) {
    run_bert_base(state, 1, false);
}

} // namespace

BENCHMARK(bert_base_b32_t50)->Unit(benchmark::kMillisecond);
BENCHMARK(bert_base_b1_t50)->Unit(benchmark::kMillisecond);
