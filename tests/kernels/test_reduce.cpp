// dot, sum, sum of squares, max, axpy, scale and outer against their scalar references.
// Tolerance for the reductions: |fast - ref| <= 2·(n + 2)·eps·Σ|terms| (γ_n of either
// summation order); max is exact; axpy/scale/outer within 1 rounding of each element
// (2·eps·(|y| + |alpha·x|)).
#include "kernel_testing.hpp"

#include <emofuse/kernels/reduce.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

using namespace emofuse::kernels;
using kernel_testing::agrees;
using kernel_testing::guarded_buffer;

namespace {

template <class T>
double abs_sum(const T* x, const T* y, std::size_t n) {
    double s = 0;
    for (std::size_t i = 0; i < n; ++i) {
        s += std::abs(static_cast<double>(x[i]) * (y ? static_cast<double>(y[i]) : 1.0));
    }
    return s;
}

template <class T>
void check_reductions(const T* x, const T* y, std::size_t n) {
    const double g = 2.0 * static_cast<double>(n + 2) * kernel_testing::eps<T>();
    CAPTURE(n);
    CHECK(agrees(dot(x, y, n), dot_reference(x, y, n), g * abs_sum(x, y, n)));
    CHECK(agrees(sum(x, n), sum_reference(x, n), g * abs_sum<T>(x, nullptr, n)));
    CHECK(agrees(sum_squares(x, n), sum_squares_reference(x, n), g * abs_sum(x, x, n)));
    const T m = max(x, n), m_ref = max_reference(x, n);
    CHECK(((m == m_ref) || (std::isnan(m) && std::isnan(m_ref))));
}

} // namespace

TEST_CASE_TEMPLATE("reductions match the references over edge sizes and misalignment", T, float,
                   double) {
    std::vector<std::size_t> sizes = kernel_testing::edge_sizes();
    sizes.insert(sizes.end(), {127, 128, 129, 1000, 4099, 100003});
    for (std::size_t n : sizes) {
        guarded_buffer<T> x(n, 1), y(n, 2);
        kernel_testing::fill_uniform(x.data(), n);
        kernel_testing::fill_uniform(y.data(), n);
        check_reductions(x.data(), y.data(), n);
        // Large magnitudes whose products stay finite.
        const T big = std::is_same_v<T, float> ? T(1e18) : T(1e150);
        for (std::size_t i = 0; i < n; ++i) {
            x[i] *= big;
        }
        check_reductions(x.data(), y.data(), n);
    }
}

TEST_CASE_TEMPLATE("reductions of empty ranges are the identities", T, float, double) {
    CHECK(sum<T>(nullptr, 0) == T(0));
    CHECK(dot<T>(nullptr, nullptr, 0) == T(0));
    CHECK(sum_squares<T>(nullptr, 0) == T(0));
    CHECK(max<T>(nullptr, 0) == -std::numeric_limits<T>::infinity());
}

TEST_CASE_TEMPLATE("reductions propagate NaN and Inf from every lane position", T, float, double) {
    const T nan = std::numeric_limits<T>::quiet_NaN(), inf = std::numeric_limits<T>::infinity();
    for (std::size_t n : {1u, 3u, 7u, 16u, 17u, 40u, 67u}) {
        for (std::size_t at = 0; at < n; at += (n > 20 ? 7 : 1)) {
            std::vector<T> x = kernel_testing::uniform_vector<T>(n);
            x[at] = nan;
            CHECK(std::isnan(sum(x.data(), n)));
            CHECK(std::isnan(dot(x.data(), x.data(), n)));
            CHECK(std::isnan(max(x.data(), n)));
            x[at] = inf;
            CHECK(sum(x.data(), n) == inf);
            CHECK(max(x.data(), n) == inf);
            CHECK(sum_squares(x.data(), n) == inf);
            x[at] = -inf;
            CHECK(sum(x.data(), n) == -inf);
            CHECK(max(x.data(), n) == (n == 1 ? -inf : max_reference(x.data(), n)));
        }
    }
    const std::vector<T> all_minus_inf(9, -inf);
    CHECK(max(all_minus_inf.data(), 9) == -inf);
}

TEST_CASE_TEMPLATE("axpy, scale and outer match the references", T, float, double) {
    for (std::size_t n : kernel_testing::edge_sizes()) {
        guarded_buffer<T> x(n, 1), y(n, 2), z(n, 3);
        kernel_testing::fill_uniform(x.data(), n);
        kernel_testing::fill_uniform(y.data(), n);
        std::vector<T> expected(y.data(), y.data() + n);
        axpy_reference(T(-1.25), x.data(), expected.data(), n);
        const std::vector<T> y_before(y.data(), y.data() + n);
        axpy(T(-1.25), x.data(), y.data(), n);
        REQUIRE(y.guards_intact());
        for (std::size_t i = 0; i < n; ++i) {
            CHECK(agrees(y[i], expected[i],
                         2 * kernel_testing::eps<T>() *
                             (std::abs(double(y_before[i])) + 1.25 * std::abs(double(x[i])))));
        }
        scale_reference(T(3.5), x.data(), expected.data(), n);
        scale(T(3.5), x.data(), z.data(), n);
        REQUIRE(z.guards_intact());
        for (std::size_t i = 0; i < n; ++i) {
            CHECK(z[i] == expected[i]); // one multiplication: exact same rounding
        }
        scale(T(3.5), x.data(), x.data(), n); // in place
        for (std::size_t i = 0; i < n; ++i) {
            CHECK(x[i] == expected[i]);
        }
    }
    for (std::size_t m : {0u, 1u, 5u, 18u}) {
        for (std::size_t n : {0u, 1u, 15u, 33u}) {
            const std::size_t lda = n + 3;
            const auto x = kernel_testing::uniform_vector<T>(m);
            const auto y = kernel_testing::uniform_vector<T>(n);
            auto a = kernel_testing::uniform_vector<T>(m * lda);
            auto expected = a;
            outer_reference(m, n, T(0.5), x.data(), y.data(), expected.data(), lda);
            outer(m, n, T(0.5), x.data(), y.data(), a.data(), lda);
            for (std::size_t i = 0; i < a.size(); ++i) {
                CHECK(agrees(a[i], expected[i], 4 * kernel_testing::eps<T>()));
            }
        }
    }
}

TEST_CASE("vector kernels reject null pointers and short leading dimensions") {
    float v[4] = {1, 2, 3, 4};
    CHECK_THROWS_AS(sum<float>(nullptr, 3), emofuse::value_error);
    CHECK_THROWS_AS(dot<float>(v, nullptr, 3), emofuse::value_error);
    CHECK_THROWS_AS(max<float>(nullptr, 1), emofuse::value_error);
    CHECK_THROWS_AS(axpy<float>(1.0f, v, nullptr, 2), emofuse::value_error);
    CHECK_THROWS_AS(scale<float>(1.0f, nullptr, v, 2), emofuse::value_error);
    CHECK_THROWS_AS(outer<float>(2, 2, 1.0f, v, v, v, 1), emofuse::shape_error);
    CHECK_THROWS_AS(outer<float>(2, 2, 1.0f, nullptr, v, v, 2), emofuse::value_error);
}
