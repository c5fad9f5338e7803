// bench/random_tensor.hpp — normal random inputs and weights for the benchmarks.
#pragma once

#include <emofuse/config.hpp>

#include <array>
#include <cstddef>
#include <random>

namespace emofuse_bench {

/// A float tensor of `shape` with N(0, scale²) entries drawn from `rng`.
template <std::size_t N>
xt::xtensor<float, N> random_tensor(const std::array<std::size_t, N>& shape, float scale,
                                    std::mt19937& rng) {
    std::normal_distribution<float> normal(0.0f, scale);
    xt::xtensor<float, N> x(shape);
    for (auto& v : x) {
        v = normal(rng);
    }
    return x;
}

} // namespace emofuse_bench
