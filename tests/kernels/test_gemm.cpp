// GEMM, GEMV and linear: the packed SIMD paths against their scalar references.
// Tolerance: |fast - reference| <= 2·(k + 3)·eps·M, where M = |alpha|·Σ_p |a_ip·b_pj| +
// |beta·c_ij| + |bias_j| (the standard γ_k bound of each summation order, for both results).
#include "kernel_testing.hpp"

#include <emofuse/kernels/gemm.hpp>
#include <emofuse/kernels/gemv.hpp>
#include <emofuse/kernels/linear.hpp>
#include <emofuse/kernels/packed_operand.hpp>
#include <emofuse/platform/parallel.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

using namespace emofuse::kernels;
using kernel_testing::agrees;
using kernel_testing::guarded_buffer;

namespace {

/// Runs a test case on one thread, then restores the default.
struct one_thread {
    one_thread() { emofuse::set_num_threads(1); }
    ~one_thread() { emofuse::set_num_threads(0); }
    one_thread(const one_thread&) = delete;
    one_thread& operator=(const one_thread&) = delete;
};

struct gemm_case {
    std::size_t m, n, k;
    transpose ta, tb;
    std::size_t pad_a, pad_b, pad_c; // extra elements per row beyond the minimum
    double alpha, beta;
    bool bias;
    epilogue act;
};

template <class T>
void check_gemm_case(const gemm_case& g, T scale = T(1), workspace* ws = nullptr) {
    const std::size_t a_rows = g.ta == transpose::no ? g.m : g.k;
    const std::size_t a_cols = g.ta == transpose::no ? g.k : g.m;
    const std::size_t b_rows = g.tb == transpose::no ? g.k : g.n;
    const std::size_t b_cols = g.tb == transpose::no ? g.n : g.k;
    const std::size_t lda = a_cols + g.pad_a, ldb = b_cols + g.pad_b, ldc = g.n + g.pad_c;
    guarded_buffer<T> a(a_rows * lda), b(b_rows * ldb), c(g.m * ldc), bias(g.n);
    kernel_testing::fill_uniform(a.data(), a.size(), -scale, scale);
    kernel_testing::fill_uniform(b.data(), b.size(), -scale, scale);
    kernel_testing::fill_uniform(c.data(), c.size());
    kernel_testing::fill_uniform(bias.data(), bias.size());
    // Padding between rows of C must survive untouched.
    for (std::size_t i = 0; i < g.m; ++i) {
        for (std::size_t j = g.n; j < ldc; ++j) {
            c[i * ldc + j] = T(777);
        }
    }
    std::vector<T> expected(c.data(), c.data() + c.size());
    const fused_epilogue<T> post{g.bias ? bias.data() : nullptr, g.act};
    const T alpha = static_cast<T>(g.alpha), beta = static_cast<T>(g.beta);
    gemm_reference(g.ta, g.tb, g.m, g.n, g.k, alpha, a.data(), lda, b.data(), ldb, beta,
                   expected.data(), ldc, post);
    const std::vector<T> c_before(c.data(), c.data() + c.size());
    if (ws) {
        gemm(g.ta, g.tb, g.m, g.n, g.k, alpha, a.data(), lda, b.data(), ldb, beta, c.data(), ldc,
             post, *ws);
    } else {
        gemm(g.ta, g.tb, g.m, g.n, g.k, alpha, a.data(), lda, b.data(), ldb, beta, c.data(), ldc,
             post);
    }
    CAPTURE(g.m);
    CAPTURE(g.n);
    CAPTURE(g.k);
    CAPTURE(static_cast<int>(g.ta));
    CAPTURE(static_cast<int>(g.tb));
    REQUIRE(a.guards_intact());
    REQUIRE(b.guards_intact());
    REQUIRE(c.guards_intact());
    std::size_t failures = 0;
    for (std::size_t i = 0; i < g.m; ++i) {
        for (std::size_t j = 0; j < ldc; ++j) {
            const T got = c[i * ldc + j];
            if (j >= g.n) {
                failures += got != T(777);
                continue;
            }
            double magnitude = 0;
            for (std::size_t p = 0; p < g.k; ++p) {
                const T aip = g.ta == transpose::no ? a[i * lda + p] : a[p * lda + i];
                const T bpj = g.tb == transpose::no ? b[p * ldb + j] : b[j * ldb + p];
                magnitude += std::abs(static_cast<double>(aip) * static_cast<double>(bpj));
            }
            magnitude = std::abs(g.alpha) * magnitude +
                        (g.beta != 0 ? std::abs(g.beta * c_before[i * ldc + j]) : 0.0) +
                        (g.bias ? std::abs(static_cast<double>(bias[j])) : 0.0);
            const double bound =
                2.0 * static_cast<double>(g.k + 3) * kernel_testing::eps<T>() * magnitude;
            if (!agrees(got, expected[i * ldc + j], bound)) {
                if (failures < 5) {
                    MESSAGE("C[" << i << "," << j << "] = " << got << ", reference "
                                 << expected[i * ldc + j] << ", bound " << bound);
                }
                ++failures;
            }
        }
    }
    CHECK(failures == 0);
}

} // namespace

TEST_CASE_TEMPLATE("gemm matches the reference over edge shapes, transposes and strides", T, float,
                   double) {
    const std::size_t dims[] = {1, 2, 3, 5, 6, 7, 8, 11, 12, 13, 16, 17, 31, 32, 33, 49};
    std::size_t index = 0;
    for (std::size_t m : dims) {
        for (std::size_t n : dims) {
            // k cycles through small and odd depths; transposes and strides cycle too.
            const std::size_t k = dims[(index * 7 + 3) % std::size(dims)];
            const auto ta = (index & 1) ? transpose::yes : transpose::no;
            const auto tb = (index & 2) ? transpose::yes : transpose::no;
            const std::size_t pad = index % 3;
            check_gemm_case<T>(
                {m, n, k, ta, tb, pad, 2 * pad, pad + 1, 1.0, 0.0, false, epilogue::none});
            ++index;
        }
    }
}

TEST_CASE_TEMPLATE("gemm crosses every cache block boundary", T, float, double) {
    // Depths around kc = 256 (and its multiples), rows past mc, columns past several panels.
    for (transpose ta : {transpose::no, transpose::yes}) {
        for (transpose tb : {transpose::no, transpose::yes}) {
            check_gemm_case<T>({203, 97, 255, ta, tb, 1, 0, 3, 1.0, 0.0, false, epilogue::none});
            check_gemm_case<T>({37, 65, 257, ta, tb, 0, 1, 0, 1.0, 0.0, false, epilogue::none});
            check_gemm_case<T>({13, 40, 513, ta, tb, 2, 2, 2, 1.0, 0.0, false, epilogue::none});
        }
    }
    check_gemm_case<T>(
        {250, 130, 300, transpose::no, transpose::yes, 0, 0, 0, 1.0, 0.0, true, epilogue::relu});
}

TEST_CASE_TEMPLATE("gemm applies alpha, beta, bias and ReLU or GELU in the documented order", T,
                   float, double) {
    for (std::size_t k : {1u, 9u, 300u}) {
        for (bool bias : {false, true}) {
            for (epilogue act : {epilogue::none, epilogue::relu, epilogue::gelu}) {
                check_gemm_case<T>(
                    {19, 35, k, transpose::no, transpose::yes, 1, 1, 1, 0.5, -1.5, bias, act});
                check_gemm_case<T>(
                    {1, 35, k, transpose::no, transpose::yes, 0, 0, 0, -2.0, 0.25, bias, act});
                check_gemm_case<T>(
                    {1, 33, k, transpose::yes, transpose::no, 2, 0, 0, 1.0, 1.0, bias, act});
            }
        }
    }
}

TEST_CASE_TEMPLATE("gemm with an empty dimension", T, float, double) {
    // k == 0: C = act(beta·C + bias), A and B are never read (may be null).
    std::vector<T> c = {1, -2, 3, -4, 5, -6};
    const std::vector<T> bias = {0.5, 0.5, -10};
    gemm<T>(transpose::no, transpose::no, 2, 3, 0, T(1), nullptr, 0, nullptr, 3, T(2), c.data(), 3,
            {bias.data(), epilogue::relu});
    CHECK(c == std::vector<T>{2.5, 0, 0, 0, 10.5, 0});
    // m == 0 or n == 0: nothing happens, even with null pointers.
    gemm<T>(transpose::no, transpose::no, 0, 3, 4, T(1), nullptr, 4, nullptr, 3, T(0), nullptr, 3);
    gemm<T>(transpose::no, transpose::no, 3, 0, 4, T(1), nullptr, 4, nullptr, 0, T(0), nullptr, 0);
}

TEST_CASE_TEMPLATE("gemm handles large magnitudes with a relative bound", T, float, double) {
    const T scale = std::is_same_v<T, float> ? T(1e15) : T(1e140);
    check_gemm_case<T>(
        {29, 41, 77, transpose::no, transpose::no, 1, 0, 1, 1.0, 0.0, false, epilogue::none},
        scale);
    check_gemm_case<T>(
        {29, 41, 77, transpose::yes, transpose::yes, 1, 0, 1, 1.0, 0.0, false, epilogue::none},
        T(1) / scale);
}

TEST_CASE_TEMPLATE("gemm propagates NaN and Inf like the reference", T, float, double) {
    const T nan = std::numeric_limits<T>::quiet_NaN();
    const T inf = std::numeric_limits<T>::infinity();
    const std::size_t m = 14, n = 37, k = 21;
    std::vector<T> a = kernel_testing::uniform_vector<T>(m * k);
    std::vector<T> b = kernel_testing::uniform_vector<T>(k * n, T(0.5), T(1)); // positive
    for (auto& v : a) {
        v = std::abs(v) + T(0.5); // positive, so an Inf in B gives +Inf, never Inf - Inf
    }
    a[3 * k + 5] = nan;                                 // row 3 of C becomes NaN
    b[7 * n + 20] = inf;                                // column 20 becomes +Inf (NaN in row 3)
    std::vector<T> c(m * n, nan), expected(m * n, nan); // beta == 0: old NaNs are not read
    gemm(transpose::no, transpose::no, m, n, k, T(1), a.data(), k, b.data(), n, T(0), c.data(), n);
    gemm_reference(transpose::no, transpose::no, m, n, k, T(1), a.data(), k, b.data(), n, T(0),
                   expected.data(), n);
    for (std::size_t i = 0; i < m; ++i) {
        for (std::size_t j = 0; j < n; ++j) {
            const T got = c[i * n + j];
            if (i == 3) {
                CHECK(std::isnan(got));
            } else if (j == 20) {
                CHECK(got == inf);
            } else {
                CHECK(std::isfinite(got));
            }
            CHECK(agrees(got, expected[i * n + j], 1e-3));
        }
    }
    // ReLU keeps NaN (like torch.relu) and clamps -Inf to 0.
    std::vector<T> x = {nan, -inf, inf, T(-1)};
    std::vector<T> w = {T(1)};
    std::vector<T> y(4);
    linear(x.data(), 4, 1, w.data(), static_cast<const T*>(nullptr), 1, y.data(), epilogue::relu);
    CHECK(std::isnan(y[0]));
    CHECK(y[1] == T(0));
    CHECK(y[2] == inf);
    CHECK(y[3] == T(0));
}

TEST_CASE_TEMPLATE("gemm_strided_batched matches per-item references, shared weights", T, float,
                   double) {
    const std::size_t m = 7, n = 19, k = 23, count = 3;
    const auto a = kernel_testing::uniform_vector<T>(count * m * k);
    const auto w = kernel_testing::uniform_vector<T>(n * k); // stride 0: shared
    std::vector<T> c(count * m * n), expected(count * m * n);
    gemm_strided_batched(transpose::no, transpose::yes, m, n, k, T(1), a.data(), k, m * k, w.data(),
                         k, 0, T(0), c.data(), n, m * n, count);
    gemm_strided_batched_reference(transpose::no, transpose::yes, m, n, k, T(1), a.data(), k, m * k,
                                   w.data(), k, 0, T(0), expected.data(), n, m * n, count);
    for (std::size_t i = 0; i < c.size(); ++i) {
        CHECK(agrees(c[i], expected[i], 2.0 * (k + 3) * kernel_testing::eps<T>() * double(k)));
    }
}

TEST_CASE("gemm reuses its workspace: no growth after the first call of a shape") {
    workspace ws;
    check_gemm_case<float>(
        {100, 100, 300, transpose::yes, transpose::yes, 0, 0, 0, 1.0, 0.0, false, epilogue::none},
        1.0f, &ws);
    const std::size_t b_bytes = ws.capacity_bytes(0), a_bytes = ws.capacity_bytes(1);
    CHECK(b_bytes > 0);
    CHECK(a_bytes > 0);
    check_gemm_case<float>(
        {60, 80, 200, transpose::yes, transpose::no, 0, 0, 0, 1.0, 0.0, false, epilogue::none},
        1.0f, &ws);
    CHECK(ws.capacity_bytes(0) == b_bytes);
    CHECK(ws.capacity_bytes(1) == a_bytes);
    ws.release();
    CHECK(ws.capacity_bytes(0) == 0);
}

TEST_CASE("gemm rejects bad arguments with a clear error") {
    std::vector<float> a(12), b(12), c(9);
    CHECK_THROWS_AS(gemm(transpose::no, transpose::no, 3, 3, 4, 1.0f,
                         static_cast<const float*>(nullptr), 4, b.data(), 3, 0.0f, c.data(), 3),
                    emofuse::value_error);
    CHECK_THROWS_AS(gemm(transpose::no, transpose::no, 3, 3, 4, 1.0f, a.data(), 4,
                         static_cast<const float*>(nullptr), 3, 0.0f, c.data(), 3),
                    emofuse::value_error);
    CHECK_THROWS_AS(gemm(transpose::no, transpose::no, 3, 3, 4, 1.0f, a.data(), 4, b.data(), 3,
                         0.0f, static_cast<float*>(nullptr), 3),
                    emofuse::value_error);
    CHECK_THROWS_AS(gemm(transpose::no, transpose::no, 3, 3, 4, 1.0f, a.data(), 3, b.data(), 3,
                         0.0f, c.data(), 3),
                    emofuse::shape_error);
    CHECK_THROWS_AS(gemm(transpose::no, transpose::yes, 3, 3, 4, 1.0f, a.data(), 4, b.data(), 3,
                         0.0f, c.data(), 3),
                    emofuse::shape_error);
    CHECK_THROWS_AS(gemm(transpose::no, transpose::no, 3, 3, 4, 1.0f, a.data(), 4, b.data(), 3,
                         0.0f, c.data(), 2),
                    emofuse::shape_error);
    try {
        gemm(transpose::yes, transpose::no, 3, 3, 4, 1.0f, a.data(), 2, b.data(), 3, 0.0f, c.data(),
             3);
        FAIL("expected a shape_error");
    } catch (const emofuse::shape_error& e) {
        const std::string msg = e.what();
        CHECK(msg.find("gemm") != std::string::npos);
        CHECK(msg.find("A") != std::string::npos);
        CHECK(msg.find(">= 3") != std::string::npos);
        CHECK(msg.find("got 2") != std::string::npos);
    }
    std::vector<float> y(3);
    CHECK_THROWS_AS(gemv(transpose::no, 3, 4, 1.0f, static_cast<const float*>(nullptr), 4, a.data(),
                         0.0f, y.data()),
                    emofuse::value_error);
    CHECK_THROWS_AS(linear(a.data(), 3, 4, static_cast<const float*>(nullptr),
                           static_cast<const float*>(nullptr), 3, y.data()),
                    emofuse::value_error);
}

TEST_CASE_TEMPLATE("gemv matches the reference in both orientations", T, float, double) {
    for (std::size_t rows : kernel_testing::edge_sizes()) {
        for (std::size_t cols : {std::size_t(0), std::size_t(1), std::size_t(7), std::size_t(16),
                                 std::size_t(33), std::size_t(70)}) {
            for (transpose t : {transpose::no, transpose::yes}) {
                const std::size_t lda = cols + 1;
                guarded_buffer<T> a(rows * lda), x(t == transpose::no ? cols : rows),
                    y(t == transpose::no ? rows : cols), bias(y.size());
                kernel_testing::fill_uniform(a.data(), a.size());
                kernel_testing::fill_uniform(x.data(), x.size());
                kernel_testing::fill_uniform(y.data(), y.size());
                kernel_testing::fill_uniform(bias.data(), bias.size());
                std::vector<T> expected(y.data(), y.data() + y.size());
                const fused_epilogue<T> post{bias.data(), epilogue::relu};
                gemv_reference(t, rows, cols, T(0.75), a.data(), lda, x.data(), T(0.5),
                               expected.data(), post);
                gemv(t, rows, cols, T(0.75), a.data(), lda, x.data(), T(0.5), y.data(), post);
                REQUIRE(y.guards_intact());
                const std::size_t inner = x.size();
                for (std::size_t i = 0; i < y.size(); ++i) {
                    CHECK(agrees(y[i], expected[i],
                                 2.0 * double(inner + 3) * kernel_testing::eps<T>() *
                                     double(inner + 2)));
                }
            }
        }
    }
}

TEST_CASE_TEMPLATE("linear matches linear_reference (rows = 1 takes the GEMV path)", T, float,
                   double) {
    for (std::size_t rows : {1u, 2u, 13u, 64u}) {
        for (std::size_t in : {1u, 15u, 64u, 300u}) {
            for (std::size_t out : {1u, 17u, 64u}) {
                for (bool with_bias : {false, true}) {
                    const auto x = kernel_testing::uniform_vector<T>(rows * in);
                    const auto w = kernel_testing::uniform_vector<T>(out * in);
                    const auto b = kernel_testing::uniform_vector<T>(out);
                    const T* bias = with_bias ? b.data() : nullptr;
                    std::vector<T> y(rows * out), expected(rows * out);
                    const epilogue act = with_bias ? epilogue::relu : epilogue::none;
                    linear(x.data(), rows, in, w.data(), bias, out, y.data(), act);
                    linear_reference(x.data(), rows, in, w.data(), bias, out, expected.data(), act);
                    for (std::size_t i = 0; i < y.size(); ++i) {
                        CHECK(agrees(y[i], expected[i],
                                     2.0 * double(in + 3) * kernel_testing::eps<T>() *
                                         double(in + 1)));
                    }
                }
            }
        }
    }
}

TEST_CASE_TEMPLATE("linear with row strides and an explicit workspace", T, float, double) {
    const std::size_t rows = 9, in = 20, out = 11, ldx = 23, ldy = 14;
    const auto x = kernel_testing::uniform_vector<T>(rows * ldx);
    const auto w = kernel_testing::uniform_vector<T>(out * in);
    const auto b = kernel_testing::uniform_vector<T>(out);
    std::vector<T> y(rows * ldy, T(5));
    workspace ws;
    linear(x.data(), ldx, rows, in, w.data(), b.data(), out, y.data(), ldy, epilogue::none, ws);
    for (std::size_t r = 0; r < rows; ++r) {
        std::vector<T> expected(out);
        linear_reference(x.data() + r * ldx, 1, in, w.data(), b.data(), out, expected.data());
        for (std::size_t o = 0; o < out; ++o) {
            CHECK(agrees(y[r * ldy + o], expected[o],
                         2.0 * double(in + 3) * kernel_testing::eps<T>() * double(in + 1)));
        }
        for (std::size_t o = out; o < ldy; ++o) {
            CHECK(y[r * ldy + o] == T(5));
        }
    }
}

TEST_CASE_TEMPLATE("gemm with a packed_operand matches the reference", T, float, double) {
    struct shape {
        std::size_t m, n, k;
        transpose ta, tb;
    };
    for (const shape& s : {shape{1, 37, 19, transpose::no, transpose::yes},
                           shape{13, 70, 300, transpose::no, transpose::yes},
                           shape{29, 33, 513, transpose::yes, transpose::no},
                           shape{40, 1100, 20, transpose::no, transpose::no},
                           shape{3, 5, 1, transpose::yes, transpose::yes}}) {
        const std::size_t lda = (s.ta == transpose::no ? s.k : s.m) + 1;
        const std::size_t ldb = (s.tb == transpose::no ? s.n : s.k) + 2;
        const auto a = kernel_testing::uniform_vector<T>((s.ta == transpose::no ? s.m : s.k) * lda);
        const auto b = kernel_testing::uniform_vector<T>((s.tb == transpose::no ? s.k : s.n) * ldb);
        const auto bias = kernel_testing::uniform_vector<T>(s.n);
        auto c = kernel_testing::uniform_vector<T>(s.m * s.n);
        auto expected = c;
        const fused_epilogue<T> post{bias.data(), epilogue::relu};
        gemm_reference(s.ta, s.tb, s.m, s.n, s.k, T(0.5), a.data(), lda, b.data(), ldb, T(-1),
                       expected.data(), s.n, post);
        packed_operand<T> packed(s.tb, s.k, s.n, b.data(), ldb);
        CHECK(packed.depth() == s.k);
        CHECK(packed.columns() == s.n);
        packed_operand<T> moved = std::move(packed); // ownership moves with the panels
        CHECK(packed.columns() == 0);
        gemm(s.ta, s.m, T(0.5), a.data(), lda, moved, T(-1), c.data(), s.n, post);
        for (std::size_t i = 0; i < c.size(); ++i) {
            CHECK(agrees(c[i], expected[i],
                         2.0 * double(s.k + 3) * kernel_testing::eps<T>() * double(s.k + 2)));
        }
    }
}

TEST_CASE_TEMPLATE("packed GEMM over a short A: whole-depth blocks, even tiles, GELU fused", T,
                   float, double) {
    // m ≤ mc with k past kc takes the deep depth blocks; 50 and 61 rows split into tiles of
    // unequal height; widths end in partial panels (the GELU of a partial tile).
    for (std::size_t m : {50u, 61u, 1u}) {
        for (std::size_t k : {300u, 800u, 3100u}) {
            const std::size_t n = 70;
            const auto x = kernel_testing::uniform_vector<T>(m * k);
            const auto w = kernel_testing::uniform_vector<T>(n * k);
            const auto b = kernel_testing::uniform_vector<T>(n);
            const auto packed = packed_operand<T>::from_linear_weight(w.data(), n, k);
            for (epilogue act : {epilogue::none, epilogue::gelu}) {
                CAPTURE(m);
                CAPTURE(k);
                std::vector<T> y(m * n), expected(m * n);
                linear(x.data(), m, packed, b.data(), y.data(), act);
                linear_reference(x.data(), m, k, w.data(), b.data(), n, expected.data(), act);
                std::size_t failures = 0;
                for (std::size_t i = 0; i < y.size(); ++i) {
                    failures +=
                        !agrees(y[i], expected[i],
                                2.0 * double(k + 3) * kernel_testing::eps<T>() * double(k + 1));
                }
                CHECK(failures == 0);
            }
        }
    }
    // GELU as torch's erf form: NaN stays NaN, +Inf stays +Inf, −Inf·Φ(−Inf) = −Inf·0 is NaN.
    const T nan = std::numeric_limits<T>::quiet_NaN();
    const T inf = std::numeric_limits<T>::infinity();
    std::vector<T> x = {nan, -inf, inf, T(-1), T(2)};
    std::vector<T> w = {T(1)};
    std::vector<T> y(5);
    linear(x.data(), 5, 1, w.data(), static_cast<const T*>(nullptr), 1, y.data(), epilogue::gelu);
    CHECK(std::isnan(y[0]));
    CHECK(std::isnan(y[1]));
    CHECK(y[2] == inf);
    CHECK(y[3] == doctest::Approx(-0.15865525393145707));
    CHECK(y[4] == doctest::Approx(1.9544997361036416));
}

TEST_CASE_TEMPLATE("linear with a packed weight matches linear_reference", T, float, double) {
    for (std::size_t rows : {1u, 5u, 64u}) {
        const std::size_t in = 77, out = 40;
        const auto x = kernel_testing::uniform_vector<T>(rows * in);
        const auto w = kernel_testing::uniform_vector<T>(out * in);
        const auto b = kernel_testing::uniform_vector<T>(out);
        const auto packed = packed_operand<T>::from_linear_weight(w.data(), out, in);
        std::vector<T> y(rows * out), expected(rows * out);
        linear(x.data(), rows, packed, b.data(), y.data(), epilogue::relu);
        linear_reference(x.data(), rows, in, w.data(), b.data(), out, expected.data(),
                         epilogue::relu);
        for (std::size_t i = 0; i < y.size(); ++i) {
            CHECK(agrees(y[i], expected[i],
                         2.0 * double(in + 3) * kernel_testing::eps<T>() * double(in + 1)));
        }
    }
    CHECK_THROWS_AS(packed_operand<T>(transpose::no, 3, 4, nullptr, 4), emofuse::value_error);
    std::vector<T> b(12);
    CHECK_THROWS_AS(packed_operand<T>(transpose::no, 3, 4, b.data(), 3), emofuse::shape_error);
    const packed_operand<T> empty(transpose::no, 0, 4, nullptr, 4);
    std::vector<T> c(8, T(2));
    gemm(transpose::no, 2, T(1), static_cast<const T*>(nullptr), 0, empty, T(0.5), c.data(), 4);
    CHECK(c == std::vector<T>(8, T(1)));
}

TEST_CASE_TEMPLATE("a copied packed_operand holds its own panels; at() reads op(B) back", T, float,
                   double) {
    const std::size_t k = 45, n = 37, ldb = k + 3;
    const auto b = kernel_testing::uniform_vector<T>(n * ldb);
    auto original = std::make_unique<packed_operand<T>>(transpose::yes, k, n, b.data(), ldb);
    const packed_operand<T> copy(*original);
    packed_operand<T> assigned;
    assigned = *original;
    original.reset(); // the copies must not share the original's buffer
    for (const packed_operand<T>* p : {&copy, static_cast<const packed_operand<T>*>(&assigned)}) {
        REQUIRE(p->depth() == k);
        REQUIRE(p->columns() == n);
        for (std::size_t row = 0; row < k; ++row) {
            for (std::size_t col = 0; col < n; ++col) {
                REQUIRE(p->at(row, col) == b[col * ldb + row]);
            }
        }
    }
    const packed_operand<T> empty_copy(assigned = packed_operand<T>());
    CHECK(empty_copy.columns() == 0);
}

TEST_CASE_TEMPLATE("gemm_generated matches the reference and generates each block of A once", T,
                   float, double) {
    // Row counts across register tiles and row chunks (mc), depths across the depth block
    // (at least kc, at most 2048), widths across column panels (nr); C rows wider than n keep
    // their tail. On one thread: with more, each column run generates its own blocks (below).
    const one_thread serial;
    for (std::size_t m : {1u, 7u, 13u, 300u}) {
        for (std::size_t k : {1u, 255u, 600u, 2100u}) {
            for (std::size_t n : {1u, 37u, 70u}) {
                CAPTURE(m);
                CAPTURE(k);
                CAPTURE(n);
                const std::size_t ldc = n + 3;
                const auto a = kernel_testing::uniform_vector<T>(m * k);
                const auto b = kernel_testing::uniform_vector<T>(n * k);
                const auto bias = kernel_testing::uniform_vector<T>(n);
                const auto packed = packed_operand<T>::from_linear_weight(b.data(), n, k);
                std::vector<T> c(m * ldc, T(7)), expected(m * ldc, T(7));
                std::vector<int> generated(m * k, 0);
                bool in_range = true;
                auto make_a = [&](std::size_t row0, std::size_t rows, std::size_t k0,
                                  std::size_t depth, T* dst, std::size_t ld) {
                    in_range = in_range && row0 + rows <= m && k0 + depth <= k && ld >= depth &&
                               rows > 0 && depth > 0;
                    for (std::size_t r = 0; r < rows && in_range; ++r) {
                        for (std::size_t p = 0; p < depth; ++p) {
                            dst[r * ld + p] = a[(row0 + r) * k + k0 + p];
                            ++generated[(row0 + r) * k + k0 + p];
                        }
                    }
                };
                const fused_epilogue<T> post{bias.data(), epilogue::relu};
                gemm_generated(m, make_a, packed, c.data(), ldc, post);
                gemm_reference(transpose::no, transpose::yes, m, n, k, T(1), a.data(), k, b.data(),
                               k, T(0), expected.data(), ldc, post);
                REQUIRE(in_range);
                CHECK(generated == std::vector<int>(m * k, 1));
                for (std::size_t r = 0; r < m; ++r) {
                    for (std::size_t j = 0; j < ldc; ++j) {
                        const std::size_t i = r * ldc + j;
                        REQUIRE(
                            agrees(c[i], expected[i],
                                   2.0 * double(k + 3) * kernel_testing::eps<T>() * double(k + 2)));
                    }
                }
            }
        }
    }
}

TEST_CASE_TEMPLATE("gemm_generated: empty shapes and bad C", T, float, double) {
    auto never = [](std::size_t, std::size_t, std::size_t, std::size_t, T*, std::size_t) {
        FAIL("an empty product must not generate A");
    };
    const std::vector<T> bias{T(-1), T(2)};
    const packed_operand<T> no_depth(transpose::no, 0, 2, nullptr, 2);
    std::vector<T> c(6, T(9));
    gemm_generated(3, never, no_depth, c.data(), 2, fused_epilogue<T>{bias.data(), epilogue::relu});
    CHECK(c == std::vector<T>{T(0), T(2), T(0), T(2), T(0), T(2)});
    const std::vector<T> w(8, T(1));
    const auto packed = packed_operand<T>::from_linear_weight(w.data(), 2, 4);
    gemm_generated(0, never, packed, static_cast<T*>(nullptr), 2);
    CHECK_THROWS_AS(gemm_generated(1, never, packed, static_cast<T*>(nullptr), 2),
                    emofuse::value_error);
    CHECK_THROWS_AS(gemm_generated(1, never, packed, c.data(), 1), emofuse::shape_error);
}

TEST_CASE_TEMPLATE("gemm_generated: make_a may overwrite the slack after each row", T, float,
                   double) {
    // A generator that stores whole vectors spills past a row's depth (tensor fusion's does):
    // the spill must land in slack, never in the next row of the block.
    const one_thread serial;
    constexpr std::size_t slack = generated_row_slack_bytes / sizeof(T);
    for (std::size_t k : {5u, 33u, 2100u}) {
        CAPTURE(k);
        const std::size_t m = 29, n = 40;
        const auto a = kernel_testing::uniform_vector<T>(m * k);
        const auto b = kernel_testing::uniform_vector<T>(n * k);
        const auto packed = packed_operand<T>::from_linear_weight(b.data(), n, k);
        std::vector<T> c(m * n), expected(m * n);
        bool room = true;
        auto make_a = [&](std::size_t row0, std::size_t rows, std::size_t k0, std::size_t depth,
                          T* dst, std::size_t ld) {
            room = room && ld >= depth + slack;
            for (std::size_t r = 0; r < rows; ++r) {
                std::copy_n(a.data() + (row0 + r) * k + k0, depth, dst + r * ld);
                std::fill_n(dst + r * ld + depth, slack, std::numeric_limits<T>::quiet_NaN());
            }
        };
        gemm_generated(m, make_a, packed, c.data(), n);
        gemm_reference(transpose::no, transpose::yes, m, n, k, T(1), a.data(), k, b.data(), k, T(0),
                       expected.data(), n);
        CHECK(room);
        for (std::size_t i = 0; i < c.size(); ++i) {
            REQUIRE(agrees(c[i], expected[i],
                           2.0 * double(k + 3) * kernel_testing::eps<T>() * double(k + 2)));
        }
    }
}

TEST_CASE("gemm leaves workspace slots 2 and 3 to the caller") {
    workspace ws;
    float* mine = ws.buffer<float>(2, 64);
    float* more = ws.buffer<float>(3, 64);
    for (std::size_t i = 0; i < 64; ++i) {
        mine[i] = float(i);
        more[i] = -float(i);
    }
    const auto a = kernel_testing::uniform_vector<float>(300 * 40);
    const auto b = kernel_testing::uniform_vector<float>(300 * 70);
    std::vector<float> c(40 * 70);
    // Packed A and B, then the single-row path with a strided (transposed) A row.
    gemm(transpose::yes, transpose::no, 40, 70, 300, 1.0f, a.data(), 40, b.data(), 70, 0.0f,
         c.data(), 70, {}, ws);
    gemm(transpose::yes, transpose::yes, 1, 70, 300, 1.0f, a.data(), 40, b.data(), 300, 0.0f,
         c.data(), 70, {}, ws);
    for (std::size_t i = 0; i < 64; ++i) {
        CHECK(mine[i] == float(i));
        CHECK(more[i] == -float(i));
    }
}

TEST_CASE_TEMPLATE("packed gemm and gemm_generated: the same bits at 1, 2, 3 and 5 threads", T,
                   float, double) {
    // Large enough to be split (m·n·k above parallel_gemm_min_fmas) over column runs whose
    // borders fall inside the GEMM's nc blocks; a width that is not a multiple of nr.
    const std::size_t m = 45, k = 700, n = 333, ldc = n + 5;
    REQUIRE(m * n * k >= detail::parallel_gemm_min_fmas);
    const auto a = kernel_testing::uniform_vector<T>(m * k);
    const auto b = kernel_testing::uniform_vector<T>(n * k);
    const auto bias = kernel_testing::uniform_vector<T>(n);
    const auto packed = packed_operand<T>::from_linear_weight(b.data(), n, k);
    const fused_epilogue<T> post{bias.data(), epilogue::relu};
    std::atomic<int> blocks_made{0};
    auto make_a = [&](std::size_t row0, std::size_t rows, std::size_t k0, std::size_t depth, T* dst,
                      std::size_t ld) {
        blocks_made.fetch_add(1);
        for (std::size_t r = 0; r < rows; ++r) {
            std::memcpy(dst + r * ld, a.data() + (row0 + r) * k + k0, depth * sizeof(T));
        }
    };
    const auto run = [&](unsigned threads) {
        emofuse::set_num_threads(threads);
        std::vector<T> plain(m * ldc, T(3)), generated(m * ldc, T(3));
        gemm(transpose::no, m, T(1), a.data(), k, packed, T(0), plain.data(), ldc, post);
        blocks_made = 0;
        gemm_generated(m, make_a, packed, generated.data(), ldc, post);
        emofuse::set_num_threads(0);
        return std::make_pair(plain, generated);
    };
    const auto [plain1, generated1] = run(1);
    const int serial_blocks = blocks_made.load();
    for (const unsigned threads : {2U, 3U, 5U}) {
        CAPTURE(threads);
        const auto [plain, generated] = run(threads);
        CHECK(std::memcmp(plain.data(), plain1.data(), plain.size() * sizeof(T)) == 0);
        CHECK(std::memcmp(generated.data(), generated1.data(), generated.size() * sizeof(T)) == 0);
        // Each column run makes its own blocks of A.
        CHECK(blocks_made.load() > serial_blocks);
        CHECK(blocks_made.load() <= static_cast<int>(threads) * serial_blocks);
    }
}
