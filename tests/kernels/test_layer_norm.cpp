// Layer norm and L2 normalisation against their scalar references.
// Tolerance: layer norm |fast - ref| <= 8·(cols + 4)·eps·(|gamma|·|x-μ|/σ + |beta| + 1)
// (mean and variance each carry γ_cols relative error); L2 normalise 4·(cols + 2)·eps·|ref|.
#include "kernel_testing.hpp"

#include <emofuse/kernels/layer_norm.hpp>
#include <emofuse/kernels/normalize.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

using namespace emofuse::kernels;
using kernel_testing::agrees;
using kernel_testing::guarded_buffer;

TEST_CASE_TEMPLATE("layer_norm matches the reference over shapes, strides, affine or not", T, float,
                   double) {
    std::vector<std::size_t> sizes = kernel_testing::edge_sizes();
    sizes.insert(sizes.end(), {768u, 1001u});
    for (std::size_t cols : sizes) {
        for (int affine = 0; affine < 3; ++affine) {
            const std::size_t rows = 3, ldx = cols + 1, ldy = cols + 2;
            guarded_buffer<T> x(rows * ldx, 1), y(rows * ldy, 2), gamma(cols, 3), beta(cols, 1);
            kernel_testing::fill_uniform(x.data(), x.size(), T(-3), T(7));
            kernel_testing::fill_uniform(gamma.data(), cols, T(0.5), T(2));
            kernel_testing::fill_uniform(beta.data(), cols);
            const T* g = affine >= 1 ? gamma.data() : nullptr;
            const T* b = affine == 2 ? beta.data() : nullptr;
            std::vector<T> expected(rows * ldy);
            layer_norm_reference(x.data(), rows, cols, ldx, g, b, T(1e-5), expected.data(), ldy);
            layer_norm(x.data(), rows, cols, ldx, g, b, T(1e-5), y.data(), ldy);
            REQUIRE(y.guards_intact());
            for (std::size_t r = 0; r < rows; ++r) {
                for (std::size_t j = 0; j < cols; ++j) {
                    const double bound = 8.0 * double(cols + 4) * kernel_testing::eps<T>() *
                                         (2.0 * std::abs(double(expected[r * ldy + j])) + 4.0);
                    CHECK(agrees(y[r * ldy + j], expected[r * ldy + j], bound));
                }
            }
        }
    }
}

TEST_CASE_TEMPLATE("layer_norm in place, constant rows, large magnitudes and NaN", T, float,
                   double) {
    // In place.
    auto x = kernel_testing::uniform_vector<T>(2 * 33);
    std::vector<T> expected(x.size());
    layer_norm_reference(x.data(), 2, 33, 33, static_cast<const T*>(nullptr),
                         static_cast<const T*>(nullptr), T(1e-5), expected.data(), 33);
    layer_norm(x.data(), 2, 33, 33, static_cast<const T*>(nullptr), static_cast<const T*>(nullptr),
               T(1e-5), x.data(), 33);
    for (std::size_t i = 0; i < x.size(); ++i) {
        CHECK(agrees(x[i], expected[i], 64 * 37 * kernel_testing::eps<T>()));
    }
    // A constant row has zero variance: output is beta (0 here), not NaN.
    std::vector<T> c(17, T(4.25)), out(17);
    layer_norm(c.data(), 1, 17, 17, static_cast<const T*>(nullptr), static_cast<const T*>(nullptr),
               T(1e-5), out.data(), 17);
    for (T v : out) {
        CHECK(v == T(0));
    }
    // Large offset and scale: two passes keep the variance accurate.
    const T offset = std::is_same_v<T, float> ? T(1e4) : T(1e12);
    std::vector<T> big(40), big_out(40);
    for (std::size_t i = 0; i < big.size(); ++i) {
        big[i] = offset + T(i % 2 == 0 ? 1 : -1);
    }
    layer_norm(big.data(), 1, 40, 40, static_cast<const T*>(nullptr),
               static_cast<const T*>(nullptr), T(0), big_out.data(), 40);
    for (std::size_t i = 0; i < big.size(); ++i) {
        CHECK(agrees(big_out[i], T(i % 2 == 0 ? 1 : -1), 1e-3));
    }
    // NaN poisons its row only.
    std::vector<T> n(2 * 20, T(1)), n_out(2 * 20);
    n[5] = std::numeric_limits<T>::quiet_NaN();
    layer_norm(n.data(), 2, 20, 20, static_cast<const T*>(nullptr), static_cast<const T*>(nullptr),
               T(1e-5), n_out.data(), 20);
    for (std::size_t j = 0; j < 20; ++j) {
        CHECK(std::isnan(n_out[j]));
        CHECK(n_out[20 + j] == T(0));
    }
}

TEST_CASE("layer_norm rejects bad arguments") {
    float v[8] = {};
    CHECK_THROWS_AS(layer_norm<float>(v, 2, 4, 4, nullptr, nullptr, -1.0f, v, 4),
                    emofuse::value_error);
    CHECK_THROWS_AS(layer_norm<float>(v, 2, 4, 4, nullptr, nullptr, std::nanf(""), v, 4),
                    emofuse::value_error);
    CHECK_THROWS_AS(layer_norm<float>(nullptr, 2, 4, 4, nullptr, nullptr, 1e-5f, v, 4),
                    emofuse::value_error);
    CHECK_THROWS_AS(layer_norm<float>(v, 2, 4, 3, nullptr, nullptr, 1e-5f, v, 4),
                    emofuse::shape_error);
    CHECK_NOTHROW(layer_norm<float>(nullptr, 0, 4, 4, nullptr, nullptr, 1e-5f, nullptr, 4));
}

TEST_CASE_TEMPLATE("l2_normalize_rows matches the reference; eps floor; NaN", T, float, double) {
    for (std::size_t cols : kernel_testing::edge_sizes()) {
        const std::size_t rows = 4, ld = cols + 3;
        guarded_buffer<T> x(rows * ld, 1), y(rows * ld, 2);
        kernel_testing::fill_uniform(x.data(), x.size());
        const T big = std::is_same_v<T, float> ? T(1e15) : T(1e150);
        for (std::size_t j = 0; j < cols; ++j) {
            x[ld + j] *= big;          // row 1: large magnitudes
            x[2 * ld + j] *= T(1e-20); // row 2: below eps → divided by eps
        }
        std::vector<T> expected(rows * ld);
        l2_normalize_rows_reference(x.data(), rows, cols, ld, T(1e-12), expected.data(), ld);
        l2_normalize_rows(x.data(), rows, cols, ld, T(1e-12), y.data(), ld);
        REQUIRE(y.guards_intact());
        for (std::size_t r = 0; r < rows; ++r) {
            for (std::size_t j = 0; j < cols; ++j) {
                const T ref = expected[r * ld + j];
                CHECK(agrees(y[r * ld + j], ref,
                             4.0 * double(cols + 2) * kernel_testing::eps<T>() *
                                     std::abs(double(ref)) +
                                 double(std::numeric_limits<T>::min())));
            }
        }
    }
    std::vector<T> v = {T(3), T(4)}, out(2);
    l2_normalize(v.data(), out.data(), 2);
    CHECK(agrees(out[0], T(0.6), 2 * kernel_testing::eps<T>()));
    CHECK(agrees(out[1], T(0.8), 2 * kernel_testing::eps<T>()));
    std::vector<T> z(5, T(0)), z_out(5, T(9));
    l2_normalize(z.data(), z_out.data(), 5);
    for (T e : z_out) {
        CHECK(e == T(0)); // 0 / eps
    }
    v[1] = std::numeric_limits<T>::quiet_NaN();
    l2_normalize(v.data(), out.data(), 2);
    CHECK(std::isnan(out[0]));
    CHECK(std::isnan(out[1]));
    CHECK_THROWS_AS(l2_normalize_rows<T>(v.data(), 1, 2, 2, T(-1), out.data(), 2),
                    emofuse::value_error);
    CHECK_THROWS_AS(l2_normalize_rows<T>(v.data(), 1, 2, 1, T(0), out.data(), 2),
                    emofuse::shape_error);
    CHECK_THROWS_AS(l2_normalize_rows<T>(nullptr, 1, 2, 2, T(0), out.data(), 2),
                    emofuse::value_error);
}
