// Element-wise maps against their scalar references (std:: functions).
// Tolerances (eps = machine epsilon of T, tiny = smallest normal, which also absorbs the
// flush of subnormal results): exp 2·eps·|ref|; tanh and sigmoid 4·eps·|ref| + eps;
// GELU 64·eps·max(|x|, |ref|) (xsimd's erfc is ~1e-14 absolute in double, 12 ulp in float);
// ReLU and signed square root exact.
#include "kernel_testing.hpp"

#include <emofuse/kernels/elementwise.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <vector>

using namespace emofuse::kernels;
using kernel_testing::agrees;
using kernel_testing::guarded_buffer;

namespace {

template <class T>
struct map_case {
    const char* name;
    void (*fast)(const T*, T*, std::size_t);
    void (*reference)(const T*, T*, std::size_t);
    double rel, abs_eps, x_rel; // bound = (rel·|ref| + abs_eps + x_rel·max(|x|,|ref|))·eps + tiny
    T lo, hi;                   // range of the random inputs
};

template <class T>
std::vector<map_case<T>> all_maps() {
    return {
        {"exp", &exp<T>, &exp_reference<T>, 2, 0, 0, T(-80), T(80)},
        {"tanh", &tanh<T>, &tanh_reference<T>, 4, 1, 0, T(-12), T(12)},
        {"sigmoid", &sigmoid<T>, &sigmoid_reference<T>, 4, 1, 0, T(-40), T(40)},
        {"relu", &relu<T>, &relu_reference<T>, 0, 0, 0, T(-5), T(5)},
        {"gelu", &gelu<T>, &gelu_reference<T>, 0, 0, 64, T(-8), T(8)},
        {"signed_sqrt", &signed_sqrt<T>, &signed_sqrt_reference<T>, 0, 0, 0, T(-1e6), T(1e6)},
    };
}

template <class T>
double bound_for(const map_case<T>& c, T x, T ref) {
    const double e = kernel_testing::eps<T>();
    const double r = std::abs(static_cast<double>(ref));
    const double x_term = c.x_rel > 0 ? c.x_rel * std::max(std::abs(static_cast<double>(x)), r) : 0;
    return (c.rel * r + c.abs_eps + x_term) * e +
           static_cast<double>(std::numeric_limits<T>::min());
}

template <class T>
void check_map(const map_case<T>& c, const T* x, std::size_t n, bool in_place) {
    guarded_buffer<T> y(n, 1 + n % 3);
    std::vector<T> expected(n);
    c.reference(x, expected.data(), n);
    if (in_place) {
        for (std::size_t i = 0; i < n; ++i) {
            y[i] = x[i];
        }
        c.fast(y.data(), y.data(), n);
    } else {
        c.fast(x, y.data(), n);
    }
    REQUIRE(y.guards_intact());
    std::size_t failures = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (!agrees(y[i], expected[i], bound_for(c, x[i], expected[i]))) {
            if (failures++ < 3) {
                MESSAGE(std::string(c.name)
                        << "(" << x[i] << ") = " << y[i] << ", reference " << expected[i]);
            }
        }
    }
    CHECK_MESSAGE(failures == 0, std::string(c.name) << " n=" << n);
}

} // namespace

TEST_CASE_TEMPLATE("element-wise maps match the references over edge sizes and misalignment", T,
                   float, double) {
    for (const auto& c : all_maps<T>()) {
        for (std::size_t n : kernel_testing::edge_sizes()) {
            guarded_buffer<T> x(n, 1 + n % 2);
            kernel_testing::fill_uniform(x.data(), n, c.lo, c.hi);
            check_map(c, x.data(), n, false);
            check_map(c, x.data(), n, true);
        }
        guarded_buffer<T> big(10007, 3);
        kernel_testing::fill_uniform(big.data(), big.size(), c.lo, c.hi);
        check_map(c, big.data(), big.size(), false);
    }
}

TEST_CASE_TEMPLATE("element-wise maps on special values: NaN, infinities, zeros, extremes", T,
                   float, double) {
    using lim = std::numeric_limits<T>;
    const std::vector<T> specials = {lim::quiet_NaN(),
                                     lim::infinity(),
                                     -lim::infinity(),
                                     T(0),
                                     -T(0),
                                     lim::max(),
                                     -lim::max(),
                                     lim::min(),
                                     -lim::min(),
                                     lim::denorm_min(),
                                     T(88.7),
                                     T(-87.3),
                                     T(89),
                                     T(-104),
                                     T(709.7),
                                     T(-745),
                                     T(1e-30),
                                     T(-1e-30),
                                     T(20),
                                     T(-20),
                                     T(1e30),
                                     T(-1e30),
                                     T(0.5),
                                     T(-0.5),
                                     T(1),
                                     T(-1),
                                     T(3),
                                     T(-3),
                                     T(6),
                                     T(-6),
                                     T(12),
                                     T(-12)};
    for (const auto& c : all_maps<T>()) {
        // Every special value in every lane position, vector body and tail alike.
        for (std::size_t shift = 0; shift < 17; ++shift) {
            std::vector<T> x(specials.size() + shift, T(0.25));
            for (std::size_t i = 0; i < specials.size(); ++i) {
                x[shift + i] = specials[i];
            }
            check_map(c, x.data(), x.size(), false);
        }
    }
    // Spot values that pin the semantics.
    const T nan = lim::quiet_NaN(), inf = lim::infinity();
    T y[4];
    const T x[4] = {nan, inf, -inf, T(-2)};
    relu(x, y, 4);
    CHECK(std::isnan(y[0]));
    CHECK(y[1] == inf);
    CHECK(y[2] == T(0));
    CHECK(y[3] == T(0));
    exp(x, y, 4);
    CHECK(std::isnan(y[0]));
    CHECK(y[1] == inf);
    CHECK(y[2] == T(0));
    sigmoid(x, y, 4);
    CHECK(std::isnan(y[0]));
    CHECK(y[1] == T(1));
    CHECK(y[2] == T(0));
    tanh(x, y, 4);
    CHECK(std::isnan(y[0]));
    CHECK(y[1] == T(1));
    CHECK(y[2] == T(-1));
    gelu(x, y, 4);
    CHECK(std::isnan(y[0]));
    CHECK(y[1] == inf);
    const T zero_signs[2] = {T(0), -T(0)};
    T z[2];
    signed_sqrt(zero_signs, z, 2);
    CHECK(z[0] == T(0));
    CHECK(!std::signbit(z[0]));
    CHECK(std::signbit(z[1]));
}

TEST_CASE("element-wise maps reject null pointers with a non-zero size") {
    float v[2] = {1, 2};
    CHECK_THROWS_AS(exp<float>(nullptr, v, 2), emofuse::value_error);
    CHECK_THROWS_AS(gelu<float>(v, nullptr, 2), emofuse::value_error);
    CHECK_NOTHROW(tanh<float>(nullptr, nullptr, 0));
}
