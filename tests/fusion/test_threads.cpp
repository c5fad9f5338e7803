// The fused fusion kernels (TFN, LMF, MFB, MAG) split their products over output columns on the
// library's threads: no dot product changes order, so every thread count gives the same bits.
#include "fusion_testing.hpp"

#include <emofuse/fusion/bilinear.hpp>
#include <emofuse/fusion/low_rank_fusion.hpp>
#include <emofuse/fusion/mag.hpp>
#include <emofuse/fusion/tensor_fusion.hpp>
#include <emofuse/kernels/packed_operand.hpp>
#include <emofuse/layers/dense.hpp>
#include <emofuse/platform/parallel.hpp>

#include <array>
#include <cstddef>
#include <cstring>
#include <utility>
#include <vector>

using namespace emofuse;

namespace {

/// Deterministic values in [-scale, scale] (a linear congruential walk), no fixtures needed.
template <class T, std::size_t N>
xt::xtensor<T, N> pattern(const std::array<std::size_t, N>& shape, std::uint64_t seed,
                          double scale = 1.0) {
    auto out = xt::xtensor<T, N>::from_shape(shape);
    for (auto& v : out) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        v = T(scale * (double((seed >> 33) % 2001) / 1000.0 - 1.0));
    }
    return out;
}

template <class T>
layers::dense<T> pattern_dense(std::size_t out, std::size_t in, std::uint64_t seed) {
    return layers::dense<T>(pattern<T, 2>({out, in}, seed, 0.1), pattern<T, 1>({out}, seed + 1));
}

/// Runs `forward` at 1, 2 and 3 threads and checks the three results are bitwise equal.
template <class Forward>
void check_same_bits_at_any_thread_count(Forward&& forward) {
    struct restore_threads {
        ~restore_threads() { set_num_threads(0); }
    } restore;
    set_num_threads(1);
    const auto serial = forward();
    for (const unsigned threads : {2U, 3U}) {
        CAPTURE(threads);
        set_num_threads(threads);
        const auto threaded = forward();
        REQUIRE(threaded.shape() == serial.shape());
        CHECK(std::memcmp(threaded.data(), serial.data(), serial.size() * sizeof(*serial.data())) ==
              0);
    }
}

} // namespace

TEST_CASE_TEMPLATE("tensor_fusion_linear gives the same bits at 1, 2 and 3 threads", T, float,
                   double) {
    // Odd sizes: Π = 51·61·41 = 127 551 (many depth blocks), 70 outputs (a partial column panel),
    // batches of 37 (a partial row tile) and 1 — both above the split threshold.
    const std::size_t out = 70;
    const std::array<std::size_t, 3> d{50, 60, 40};
    const std::size_t width = (d[0] + 1) * (d[1] + 1) * (d[2] + 1);
    const fusion::tensor_fusion_linear<T> stage(pattern<T, 2>({out, width}, 1, 0.01),
                                                pattern<T, 1>({out}, 2),
                                                fusion::tfn_activation::mmsa);
    for (const std::size_t batch : {37U, 1U}) {
        CAPTURE(batch);
        REQUIRE(batch * out * width >= kernels::detail::parallel_gemm_min_fmas);
        const auto input = make_batch(audio(pattern<T, 2>({batch, d[0]}, 3)),
                                      vision(pattern<T, 2>({batch, d[1]}, 4)),
                                      text(pattern<T, 2>({batch, d[2]}, 5)));
        check_same_bits_at_any_thread_count([&] { return stage(input); });
    }
}

TEST_CASE_TEMPLATE("low_rank_fusion, mfb and mag give the same bits at 1, 2 and 3 threads", T,
                   float, double) {
    SUBCASE("low_rank_fusion") {
        const std::size_t batch = 197, rank = 5, out = 67;
        const std::array<std::size_t, 3> d{131, 17, 129};
        std::vector<xt::xtensor<T, 3>> factors;
        for (std::size_t m = 0; m < 3; ++m) {
            factors.push_back(pattern<T, 3>({rank, d[m] + 1, out}, 10 + m, 0.1));
        }
        REQUIRE(batch * rank * out * (d[0] + 1) >= kernels::detail::parallel_gemm_min_fmas);
        const fusion::low_rank_fusion<T> stage(std::move(factors), pattern<T, 2>({1, rank}, 20),
                                               pattern<T, 2>({1, out}, 21));
        const auto input = make_batch(audio(pattern<T, 2>({batch, d[0]}, 22)),
                                      vision(pattern<T, 2>({batch, d[1]}, 23)),
                                      text(pattern<T, 2>({batch, d[2]}, 24)));
        check_same_bits_at_any_thread_count([&] { return stage(input); });
    }
    SUBCASE("mfb") {
        const std::size_t batch = 117, d = 123, o = 301, k = 2;
        REQUIRE(batch * d * o * k >= kernels::detail::parallel_gemm_min_fmas);
        const fusion::mfb<T> stage(
            pattern_dense<T>(o * k, d, 40), pattern_dense<T>(o * k, d, 42), k,
            {fusion::activation::identity, fusion::activation::identity, true});
        const auto input =
            make_batch(vision(pattern<T, 2>({batch, d}, 44)), text(pattern<T, 2>({batch, d}, 45)));
        check_same_bits_at_any_thread_count([&] { return stage(input); });
    }
    SUBCASE("mag") {
        const std::size_t batch = 21, steps = 9, dt = 203, da = 29, dv = 17;
        REQUIRE(batch * steps * dt * (dt + da) >= kernels::detail::parallel_gemm_min_fmas);
        std::vector<fusion::mag_auxiliary<T>> aux;
        aux.push_back({pattern_dense<T>(dt, dv + dt, 30), pattern_dense<T>(dt, dv, 32)});
        aux.push_back({pattern_dense<T>(dt, da + dt, 34), pattern_dense<T>(dt, da, 36)});
        const fusion::mag<T> stage(std::move(aux), pattern<T, 1>({dt}, 38), pattern<T, 1>({dt}, 39),
                                   T(0.5));
        const auto input = make_batch(text(sequence<T>(pattern<T, 3>({batch, steps, dt}, 50))),
                                      vision(sequence<T>(pattern<T, 3>({batch, steps, dv}, 51))),
                                      audio(sequence<T>(pattern<T, 3>({batch, steps, da}, 52))));
        check_same_bits_at_any_thread_count([&] { return stage(input).values(); });
    }
}
