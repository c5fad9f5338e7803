// Shared helpers for the fusion tests: fixtures written by tests/fusion/generate_fixtures.py.
#pragma once

#include <doctest/doctest.h>

#include <emofuse/core/batch.hpp>
#include <emofuse/io/safetensors.hpp>

#include <xtensor/xnpy.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>

namespace emofuse::test {

inline std::string data_path(const std::string& name) {
    return std::string(EMOFUSE_TEST_DATA_DIR) + "/" + name;
}

/// A float64 .npy fixture converted to T.
template <class T, std::size_t N>
xt::xtensor<T, N> fixture(const std::string& name) {
    auto stored = xt::load_npy<double>(data_path(name + ".npy"));
    xt::xtensor<T, N> out = xt::cast<T>(stored);
    return out;
}

inline xt::xtensor<std::uint8_t, 2> fixture_mask(const std::string& name) {
    auto stored = xt::load_npy<std::uint8_t>(data_path(name + "_mask.npy"));
    xt::xtensor<std::uint8_t, 2> out = stored;
    return out;
}

inline io::state_dict weights(const std::string& name) {
    return io::load_safetensors(data_path(name + ".safetensors"));
}

/// Relative tolerance of the parity tests: float 1e-5 (the bound), double 1e-11.
template <class T>
constexpr double tolerance() {
    return sizeof(T) == 4 ? 1e-5 : 1e-11;
}

/// Checks |a − b| ≤ rtol·(|b| + ‖b_row‖∞) + atol element-wise, where b_row is the expected row
/// (last axis) holding the element: relative to the element, with the row's scale as a floor
/// so that entries near zero after cancellation are judged against the row they belong to.
/// atol is 0 except where a test states why the reference itself is only absolutely accurate.
template <class A, class B>
void check_close(const A& actual, const B& expected, double rtol, double atol = 0.0) {
    REQUIRE(actual.dimension() == expected.dimension());
    for (std::size_t d = 0; d < actual.dimension(); ++d) {
        REQUIRE(actual.shape()[d] == expected.shape()[d]);
    }
    const std::size_t row = expected.dimension() == 0 ? 1 : expected.shape().back();
    std::size_t failures = 0;
    for (std::size_t start = 0; start < expected.size(); start += row) {
        double scale = 0.0;
        for (std::size_t j = 0; j < row; ++j) {
            scale = std::max(scale, std::abs(static_cast<double>(expected.data()[start + j])));
        }
        for (std::size_t j = 0; j < row; ++j) {
            const double a = static_cast<double>(actual.data()[start + j]);
            const double b = static_cast<double>(expected.data()[start + j]);
            const bool ok = std::abs(a - b) <= rtol * (std::abs(b) + scale) + atol;
            if (!ok && failures++ < 5) {
                CHECK_MESSAGE(ok, "element " << start + j << ": got " << a << ", expected " << b
                                             << " (rtol " << rtol << ")");
            }
        }
    }
    CHECK(failures == 0);
}

} // namespace emofuse::test
