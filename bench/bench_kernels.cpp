// Kernel benchmarks: GEMM (gemm_512 and fusion-head shapes), the machine's limits (fma_peak,
// triad) and the memory-bound kernels at sizes far beyond the caches, each with a FLOP/s or
// bytes/s counter so bench/compare_blas.py can report fractions of the binding limit.
#include <emofuse/kernels/elementwise.hpp>
#include <emofuse/kernels/gemm.hpp>
#include <emofuse/kernels/layer_norm.hpp>
#include <emofuse/kernels/linear.hpp>
#include <emofuse/kernels/packed_operand.hpp>
#include <emofuse/kernels/reduce.hpp>
#include <emofuse/kernels/softmax.hpp>
#include <emofuse/kernels/workspace.hpp>

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace {

namespace k = emofuse::kernels;

std::vector<float> random_floats(std::size_t n, std::uint64_t seed, float lo = -1, float hi = 1) {
    std::mt19937_64 engine(seed);
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> v(n);
    for (auto& x : v) {
        x = dist(engine);
    }
    return v;
}

void set_flops(benchmark::State& state, double flops_per_iteration) {
    state.counters["FLOP/s"] =
        benchmark::Counter(flops_per_iteration, benchmark::Counter::kIsIterationInvariantRate);
}

// ------------------------------------------------------------------------------------ GEMM

/// C = A·B (A (M,K), B (K,N), all row-major) — the classic BLAS shape.
void run_gemm(benchmark::State& state, std::size_t m, std::size_t kdim, std::size_t n,
              k::transpose trans_b) {
    const auto a = random_floats(m * kdim, 1);
    const auto b = random_floats(kdim * n, 2);
    std::vector<float> c(m * n);
    k::workspace ws;
    const std::size_t ldb = trans_b == k::transpose::no ? n : kdim;
    for (auto _ : state) {
        k::gemm(k::transpose::no, trans_b, m, n, kdim, 1.0f, a.data(), kdim, b.data(), ldb, 0.0f,
                c.data(), n, {}, ws);
        benchmark::DoNotOptimize(c.data());
        benchmark::ClobberMemory();
    }
    set_flops(state, 2.0 * double(m) * double(n) * double(kdim));
}

void gemm_512(benchmark::State& state) {
    run_gemm(state, 512, 512, 512, k::transpose::no);
}
BENCHMARK(gemm_512)->Unit(benchmark::kMicrosecond);

/// Args {M, K, N}: C(M,N) = A(M,K)·B(K,N).
void gemm_nn(benchmark::State& state) {
    run_gemm(state, std::size_t(state.range(0)), std::size_t(state.range(1)),
             std::size_t(state.range(2)), k::transpose::no);
}
/// Args {M, K, N}: C(M,N) = A(M,K)·Wᵀ with W (N,K) — a PyTorch linear layer.
void gemm_nt(benchmark::State& state) {
    run_gemm(state, std::size_t(state.range(0)), std::size_t(state.range(1)),
             std::size_t(state.range(2)), k::transpose::yes);
}

// Shapes the fusion workloads use: TFN (33·129·33 = 140481 → 64), skinny heads, MFB's
// 128 → 2400 projection, MulT's FFN (B·T = 800 rows, 50 → 200), MAG-sized 768-wide layers.
void gemm_shapes(benchmark::internal::Benchmark* b) {
    b->ArgNames({"M", "K", "N"});
    for (auto shape : std::vector<std::vector<std::int64_t>>{{32, 64, 64},
                                                             {32, 4096, 64},
                                                             {32, 16384, 64},
                                                             {32, 140481, 64},
                                                             {64, 128, 2400},
                                                             {256, 1024, 1024},
                                                             {800, 50, 200},
                                                             {1600, 768, 768},
                                                             {2048, 2048, 64},
                                                             {2048, 64, 2048}}) {
        b->Args(shape);
    }
    b->Unit(benchmark::kMicrosecond);
}
BENCHMARK(gemm_nn)->Apply(gemm_shapes);
BENCHMARK(gemm_nt)->Apply(gemm_shapes);

/// Args {M, K, N}: a linear layer y = x·Wᵀ with W (N, K) packed once beforehand
/// (packed_operand), as a stage that owns its weights would run it.
void linear_packed(benchmark::State& state) {
    const auto m = std::size_t(state.range(0)), kdim = std::size_t(state.range(1)),
               n = std::size_t(state.range(2));
    const auto x = random_floats(m * kdim, 1);
    const auto w = random_floats(n * kdim, 2);
    const auto packed = k::packed_operand<float>::from_linear_weight(w.data(), n, kdim);
    std::vector<float> y(m * n);
    for (auto _ : state) {
        k::linear(x.data(), m, packed, static_cast<const float*>(nullptr), y.data());
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    set_flops(state, 2.0 * double(m) * double(n) * double(kdim));
}
BENCHMARK(linear_packed)->Apply(gemm_shapes);

/// Batch-1 linear layer (GEMV): y = W·x + b, W (N, K). Memory-bound on W.
void linear_gemv(benchmark::State& state) {
    const auto in = std::size_t(state.range(0)), out = std::size_t(state.range(1));
    const auto x = random_floats(in, 3);
    const auto w = random_floats(out * in, 4);
    const auto bias = random_floats(out, 5);
    std::vector<float> y(out);
    for (auto _ : state) {
        k::linear(x.data(), 1, in, w.data(), bias.data(), out, y.data());
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    set_flops(state, 2.0 * double(in) * double(out));
    state.SetBytesProcessed(std::int64_t(state.iterations()) *
                            std::int64_t(out * in * sizeof(float)));
}
BENCHMARK(linear_gemv)
    ->ArgNames({"K", "N"})
    ->Args({140481, 64})
    ->Args({4096, 4096})
    ->Unit(benchmark::kMicrosecond);

// ------------------------------------------------------------------------ machine limits

/// Single-core FMA peak: 16 independent accumulator chains of the widest vector (enough to
/// cover FMA latency × throughput on current cores), 2·lanes FLOP per FMA.
void fma_peak(benchmark::State& state) {
    using batch = xsimd::batch<float, emofuse::simd_arch>;
    constexpr int chains = 16;
    constexpr int steps = 4096;
    batch acc[chains];
    for (int i = 0; i < chains; ++i) {
        acc[i] = batch(float(i) * 1e-3f);
    }
    batch x(0.999999f), y(1e-7f);
    benchmark::DoNotOptimize(x);
    benchmark::DoNotOptimize(y);
    for (auto _ : state) {
        for (int s = 0; s < steps; ++s) {
#pragma GCC unroll 16
            for (int i = 0; i < chains; ++i) {
                acc[i] = xsimd::fma(acc[i], x, y);
            }
        }
        for (int i = 0; i < chains; ++i) {
            benchmark::DoNotOptimize(acc[i]);
        }
    }
    set_flops(state, 2.0 * batch::size * chains * steps);
    state.counters["lanes"] = batch::size;
}
BENCHMARK(fma_peak);

constexpr std::size_t stream_elements = std::size_t(1) << 24; // 64 MiB per float array

/// STREAM triad a = b + s·c over three 64 MiB arrays: 3·n·4 bytes per pass.
void triad(benchmark::State& state) {
    std::vector<float> a(stream_elements), b = random_floats(stream_elements, 6),
                                           c = random_floats(stream_elements, 7);
    const float s = 1.5f;
    for (auto _ : state) {
        float* EMOFUSE_RESTRICT ap = a.data();
        const float* EMOFUSE_RESTRICT bp = b.data();
        const float* EMOFUSE_RESTRICT cp = c.data();
        for (std::size_t i = 0; i < stream_elements; ++i) {
            ap[i] = bp[i] + s * cp[i];
        }
        benchmark::DoNotOptimize(a.data());
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(std::int64_t(state.iterations()) * 3 *
                            std::int64_t(stream_elements * sizeof(float)));
}
BENCHMARK(triad)->Unit(benchmark::kMillisecond);

// ---------------------------------------------------------------- memory-bound kernels

void reduce_sum(benchmark::State& state) {
    const auto x = random_floats(stream_elements, 8);
    for (auto _ : state) {
        benchmark::DoNotOptimize(k::sum(x.data(), x.size()));
    }
    state.SetBytesProcessed(std::int64_t(state.iterations()) *
                            std::int64_t(x.size() * sizeof(float)));
}
BENCHMARK(reduce_sum)->Unit(benchmark::kMillisecond);

void reduce_max(benchmark::State& state) {
    const auto x = random_floats(stream_elements, 9);
    for (auto _ : state) {
        benchmark::DoNotOptimize(k::max(x.data(), x.size()));
    }
    state.SetBytesProcessed(std::int64_t(state.iterations()) *
                            std::int64_t(x.size() * sizeof(float)));
}
BENCHMARK(reduce_max)->Unit(benchmark::kMillisecond);

void reduce_sum_squares(benchmark::State& state) {
    const auto x = random_floats(stream_elements, 10);
    for (auto _ : state) {
        benchmark::DoNotOptimize(k::sum_squares(x.data(), x.size()));
    }
    state.SetBytesProcessed(std::int64_t(state.iterations()) *
                            std::int64_t(x.size() * sizeof(float)));
}
BENCHMARK(reduce_sum_squares)->Unit(benchmark::kMillisecond);

void reduce_dot(benchmark::State& state) {
    const auto x = random_floats(stream_elements, 11), y = random_floats(stream_elements, 12);
    for (auto _ : state) {
        benchmark::DoNotOptimize(k::dot(x.data(), y.data(), x.size()));
    }
    state.SetBytesProcessed(std::int64_t(state.iterations()) * 2 *
                            std::int64_t(x.size() * sizeof(float)));
}
BENCHMARK(reduce_dot)->Unit(benchmark::kMillisecond);

/// Row softmax over 64 MiB of rows (cols 4096: 4096 rows; cols 500 — MulT's T_k — 33554
/// rows), out of place: bytes = read + write.
void softmax_rows_large(benchmark::State& state) {
    const std::size_t cols = std::size_t(state.range(0)), rows = stream_elements / cols;
    const auto x = random_floats(rows * cols, 13, -5, 5);
    std::vector<float> y(rows * cols);
    for (auto _ : state) {
        k::softmax_rows(x.data(), rows, cols, cols, y.data(), cols);
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(std::int64_t(state.iterations()) * 2 *
                            std::int64_t(rows * cols * sizeof(float)));
}
BENCHMARK(softmax_rows_large)->ArgName("cols")->Arg(4096)->Arg(500)->Unit(benchmark::kMillisecond);

/// Layer norm with affine over 16384 rows × 1024 (64 MiB in, 64 MiB out), and MAG's 768.
void layer_norm_large(benchmark::State& state) {
    const std::size_t cols = std::size_t(state.range(0)), rows = stream_elements / cols;
    const auto x = random_floats(rows * cols, 14, -3, 3);
    const auto gamma = random_floats(cols, 15, 0.5f, 1.5f), beta = random_floats(cols, 16);
    std::vector<float> y(rows * cols);
    for (auto _ : state) {
        k::layer_norm(x.data(), rows, cols, cols, gamma.data(), beta.data(), 1e-5f, y.data(), cols);
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(std::int64_t(state.iterations()) * 2 *
                            std::int64_t(rows * cols * sizeof(float)));
}
BENCHMARK(layer_norm_large)->ArgName("cols")->Arg(1024)->Arg(768)->Unit(benchmark::kMillisecond);

/// Element-wise maps over 64 MiB (read + write).
template <void (*Map)(const float*, float*, std::size_t)>
void elementwise_large(benchmark::State& state) {
    const auto x = random_floats(stream_elements, 17, -8, 8);
    std::vector<float> y(stream_elements);
    for (auto _ : state) {
        Map(x.data(), y.data(), x.size());
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(std::int64_t(state.iterations()) * 2 *
                            std::int64_t(x.size() * sizeof(float)));
}
BENCHMARK_TEMPLATE(elementwise_large, k::exp<float>)
    ->Name("exp_large")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(elementwise_large, k::gelu<float>)
    ->Name("gelu_large")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(elementwise_large, k::tanh<float>)
    ->Name("tanh_large")
    ->Unit(benchmark::kMillisecond);

} // namespace
