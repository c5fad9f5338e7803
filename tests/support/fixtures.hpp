// Test support: loading committed .npy fixtures, comparing tensors with a stated tolerance, and
// the message of an expected exception.
#pragma once

#include <doctest/doctest.h>
#include <xtensor/xnpy.hpp>

#include <emofuse/config.hpp>

#include <cmath>
#include <cstddef>
#include <string>

namespace emofuse::test {

/// Loads tests/<module>/data/<name>.npy (stored as float64 unless the name says otherwise)
/// and converts it to T.
template <class T, std::size_t N, class Stored = double>
xt::xtensor<T, N> fixture(const std::string& name) {
    auto stored = xt::load_npy<Stored>(std::string(EMOFUSE_TEST_DATA_DIR) + "/" + name + ".npy");
    REQUIRE(stored.dimension() == N);
    typename xt::xtensor<T, N>::shape_type shape;
    std::copy(stored.shape().begin(), stored.shape().end(), shape.begin());
    xt::xtensor<T, N> out = xt::xtensor<T, N>::from_shape(shape);
    std::transform(stored.begin(), stored.end(), out.begin(),
                   [](Stored v) { return static_cast<T>(v); });
    return out;
}

/// Element-wise |actual − expected| <= tolerance·(1 + |expected|), shapes equal.
template <class A, class E>
void check_close(const A& actual, const E& expected, double tolerance) {
    REQUIRE(actual.dimension() == expected.dimension());
    for (std::size_t d = 0; d < actual.dimension(); ++d) {
        REQUIRE(actual.shape()[d] == expected.shape()[d]);
    }
    auto a = actual.begin();
    for (auto e = expected.begin(); e != expected.end(); ++e, ++a) {
        const double want = static_cast<double>(*e);
        const double got = static_cast<double>(*a);
        INFO("element ", std::distance(expected.begin(), e), ": got ", got, ", want ", want);
        CHECK(std::abs(got - want) <= tolerance * (1.0 + std::abs(want)));
    }
}

/// The message of the Exception that `function` throws; fails the test when none is thrown.
template <class Exception, class Function>
std::string message_of(Function&& function) {
    try {
        function();
    } catch (const Exception& error) {
        return error.what();
    }
    FAIL("no exception thrown");
    return {};
}

/// Tolerance for a computation done in T from float64 references.
template <class T>
constexpr double tolerance_for() {
    return sizeof(T) == 4 ? 1e-5 : 1e-12;
}

} // namespace emofuse::test
