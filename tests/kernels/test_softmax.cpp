// Row softmax and the online (streaming) softmax against their scalar references.
// Tolerance: softmax elements 8·eps·|ref| + eps·(cols + 2)·|ref| (exp ~1–2 ulp, then the
// normalising sum's γ_cols relative error); online softmax·V vs. the two-pass result
// 4·(T_k + dim + 8)·eps·max|V|.
#include "kernel_testing.hpp"

#include <emofuse/kernels/softmax.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

using namespace emofuse::kernels;
using kernel_testing::agrees;
using kernel_testing::guarded_buffer;

namespace {

template <class T>
double softmax_bound(std::size_t cols, T ref) {
    return (8.0 + static_cast<double>(cols + 2)) * kernel_testing::eps<T>() *
               std::abs(static_cast<double>(ref)) +
           static_cast<double>(std::numeric_limits<T>::min());
}

template <class T>
void check_softmax(std::size_t rows, std::size_t cols, std::size_t pad, T lo, T hi, bool in_place) {
    const std::size_t ld = cols + pad;
    guarded_buffer<T> x(rows * ld, 1 + pad % 2), y(rows * ld, 2);
    kernel_testing::fill_uniform(x.data(), x.size(), lo, hi);
    std::vector<T> expected(rows * ld);
    softmax_rows_reference(x.data(), rows, cols, ld, expected.data(), ld);
    if (in_place) {
        softmax_rows(x.data(), rows, cols, ld, x.data(), ld);
        for (std::size_t i = 0; i < rows * ld; ++i) {
            y[i] = x[i];
        }
    } else {
        softmax_rows(x.data(), rows, cols, ld, y.data(), ld);
    }
    REQUIRE(x.guards_intact());
    REQUIRE(y.guards_intact());
    std::size_t failures = 0;
    for (std::size_t r = 0; r < rows; ++r) {
        double total = 0;
        for (std::size_t j = 0; j < cols; ++j) {
            const T got = y[r * ld + j], ref = expected[r * ld + j];
            total += static_cast<double>(got);
            failures += !agrees(got, ref, softmax_bound(cols, ref));
        }
        CHECK(std::abs(total - 1.0) <=
              2.0 * static_cast<double>(cols + 2) * kernel_testing::eps<T>());
    }
    CAPTURE(rows);
    CAPTURE(cols);
    CHECK(failures == 0);
}

} // namespace

TEST_CASE_TEMPLATE("softmax_rows matches the reference over shapes, strides, in place", T, float,
                   double) {
    for (std::size_t cols : kernel_testing::edge_sizes()) {
        if (cols == 0) {
            continue;
        }
        check_softmax<T>(3, cols, cols % 3, T(-5), T(5), false);
        check_softmax<T>(2, cols, 1, T(-5), T(5), true);
    }
    check_softmax<T>(4, 5000, 7, T(-30), T(30), false);
    // Large magnitudes: only the shift by the row max keeps exp finite.
    const T big = std::is_same_v<T, float> ? T(1e30) : T(1e200);
    check_softmax<T>(5, 37, 0, -big, big, false);
    check_softmax<T>(5, 37, 0, T(1000), T(1010), false);
}

TEST_CASE_TEMPLATE("softmax_rows: masked rows, NaN and Inf", T, float, double) {
    const T inf = std::numeric_limits<T>::infinity(), nan = std::numeric_limits<T>::quiet_NaN();
    std::vector<T> x = {-inf, -inf, -inf, 1, -inf, 2, nan, 0, 0, inf, 0, -inf};
    std::vector<T> y(12);
    softmax_rows(x.data(), 4, 3, 3, y.data(), 3);
    for (std::size_t j = 0; j < 3; ++j) {
        CHECK(y[j] == T(0)); // fully masked row: zeros, not NaN
    }
    CHECK(y[4] == T(0)); // a masked entry gets weight 0
    CHECK(agrees(y[3], T(1) / (T(1) + std::exp(T(1))), 4 * kernel_testing::eps<T>()));
    for (std::size_t j = 6; j < 9; ++j) {
        CHECK(std::isnan(y[j])); // NaN poisons its row
    }
    // +inf: max is inf, inf - inf = NaN, like torch.
    std::vector<T> expected(12);
    softmax_rows_reference(x.data(), 4, 3, 3, expected.data(), 3);
    for (std::size_t j = 0; j < 12; ++j) {
        CHECK(agrees(y[j], expected[j], 4 * kernel_testing::eps<T>()));
    }
}

TEST_CASE_TEMPLATE("online softmax folds key blocks into softmax(scores)·V", T, float, double) {
    for (std::size_t keys : {1u, 7u, 50u, 500u}) {
        for (std::size_t block : {1u, 3u, 16u, 64u}) {
            for (std::size_t dim : {1u, 5u, 50u}) {
                auto scores = kernel_testing::uniform_vector<T>(keys, T(-8), T(8));
                if (keys > 3) {
                    scores[2] = -std::numeric_limits<T>::infinity(); // a masked key
                }
                const auto values = kernel_testing::uniform_vector<T>(keys * dim);
                // Two-pass result.
                std::vector<T> weights(keys), expected(dim, T(0));
                softmax_rows_reference(scores.data(), 1, keys, keys, weights.data(), keys);
                for (std::size_t k = 0; k < keys; ++k) {
                    for (std::size_t d = 0; d < dim; ++d) {
                        expected[d] += weights[k] * values[k * dim + d];
                    }
                }
                // Streaming result, SIMD and reference.
                std::vector<T> acc(dim, T(0)), acc_ref(dim, T(0));
                online_softmax_state<T> state, state_ref;
                for (std::size_t k0 = 0; k0 < keys; k0 += block) {
                    const std::size_t n = std::min(block, keys - k0);
                    std::vector<T> blk(scores.begin() + k0, scores.begin() + k0 + n), blk_ref = blk;
                    online_softmax_update(state, blk.data(), n, acc.data(), dim);
                    online_softmax_update_reference(state_ref, blk_ref.data(), n, acc_ref.data(),
                                                    dim);
                    for (std::size_t j = 0; j < n; ++j) {
                        for (std::size_t d = 0; d < dim; ++d) {
                            acc[d] += blk[j] * values[(k0 + j) * dim + d];
                            acc_ref[d] += blk_ref[j] * values[(k0 + j) * dim + d];
                        }
                    }
                }
                online_softmax_finish(state, acc.data(), dim);
                online_softmax_finish_reference(state_ref, acc_ref.data(), dim);
                const double bound =
                    4.0 * static_cast<double>(keys + dim + 8) * kernel_testing::eps<T>();
                for (std::size_t d = 0; d < dim; ++d) {
                    CHECK(agrees(acc[d], expected[d], bound));
                    CHECK(agrees(acc_ref[d], expected[d], bound));
                }
            }
        }
    }
}

TEST_CASE_TEMPLATE("online softmax: fully masked rows give zeros, NaN propagates", T, float,
                   double) {
    const T inf = std::numeric_limits<T>::infinity();
    std::vector<T> scores(5, -inf), acc(3, T(0));
    online_softmax_state<T> state;
    online_softmax_update(state, scores.data(), 5, acc.data(), 3);
    for (T w : scores) {
        CHECK(w == T(0));
    }
    online_softmax_finish(state, acc.data(), 3);
    for (T a : acc) {
        CHECK(a == T(0));
    }
    std::vector<T> with_nan = {T(1), std::numeric_limits<T>::quiet_NaN()};
    online_softmax_state<T> s2;
    std::vector<T> acc2(2, T(0));
    online_softmax_update(s2, with_nan.data(), 2, acc2.data(), 2);
    CHECK(std::isnan(s2.running_max));
    CHECK(std::isnan(s2.running_sum));
}

TEST_CASE("softmax rejects bad arguments") {
    float v[6] = {};
    CHECK_THROWS_AS(softmax_rows<float>(nullptr, 2, 3, 3, v, 3), emofuse::value_error);
    CHECK_THROWS_AS(softmax_rows<float>(v, 2, 3, 2, v, 3), emofuse::shape_error);
    CHECK_THROWS_AS(softmax_rows<float>(v, 2, 3, 3, v, 1), emofuse::shape_error);
    CHECK_NOTHROW(softmax_rows<float>(nullptr, 0, 3, 3, nullptr, 3));
    online_softmax_state<float> s;
    CHECK_THROWS_AS(online_softmax_update<float>(s, nullptr, 2, v, 2), emofuse::value_error);
    CHECK_THROWS_AS(online_softmax_update<float>(s, v, 2, nullptr, 2), emofuse::value_error);
}
