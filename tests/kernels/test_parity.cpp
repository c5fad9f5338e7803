// Parity with PyTorch (CPU) for the transcendental maps, softmax, layer norm, L2
// normalisation and linear+ReLU. Fixtures: data/torch_parity.json from generate_fixtures.py.
// Tolerances (eps of T): exp 4·eps·|ref|; tanh, sigmoid 4·eps·|ref| + eps; GELU
// 64·eps·max(|x|, |ref|); ReLU and signed sqrt 1·eps·|ref|; softmax 16·eps·|ref| + tiny;
// layer norm 64·eps·(|ref| + 1); L2 normalise 16·eps·|ref|; linear 8·(in + 2)·eps·(Σ|x·w| + |b|).
#include "kernel_testing.hpp"

#include <emofuse/kernels/elementwise.hpp>
#include <emofuse/kernels/layer_norm.hpp>
#include <emofuse/kernels/linear.hpp>
#include <emofuse/kernels/normalize.hpp>
#include <emofuse/kernels/softmax.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <string>
#include <vector>

using namespace emofuse::kernels;
using kernel_testing::agrees;

namespace {

const nlohmann::json& fixture() {
    static const nlohmann::json data = [] {
        std::ifstream in(std::string(EMOFUSE_TEST_DATA_DIR) + "/torch_parity.json");
        REQUIRE_MESSAGE(in.good(), "missing fixture torch_parity.json");
        return nlohmann::json::parse(in);
    }();
    return data;
}

template <class T>
std::vector<T> values(const nlohmann::json& j) {
    std::vector<T> out;
    out.reserve(j.size());
    for (const auto& v : j) {
        out.push_back(static_cast<T>(v.get<double>()));
    }
    return out;
}

template <class T>
const char* dtype() {
    return std::is_same_v<T, float> ? "f32" : "f64";
}

template <class T>
void check_close(const std::vector<T>& got, const std::vector<T>& want, double rel, double abs_eps,
                 const char* what) {
    REQUIRE(got.size() == want.size());
    const double e = kernel_testing::eps<T>();
    std::size_t failures = 0;
    for (std::size_t i = 0; i < got.size(); ++i) {
        const double bound =
            (rel * std::abs(double(want[i])) + abs_eps) * e + double(std::numeric_limits<T>::min());
        if (!agrees(got[i], want[i], bound) && failures++ < 3) {
            MESSAGE(what << "[" << i << "] = " << got[i] << ", torch " << want[i]);
        }
    }
    CHECK_MESSAGE(failures == 0, what);
}

} // namespace

TEST_CASE_TEMPLATE("element-wise maps agree with torch", T, float, double) {
    const auto& e = fixture()["elementwise"];
    const std::vector<T> x = values<T>(e["x"]);
    std::vector<T> y(x.size());
    struct entry {
        const char* name;
        void (*fn)(const T*, T*, std::size_t);
        double rel, abs_eps;
    };
    for (const entry& m : {entry{"exp", &exp<T>, 4, 0}, entry{"tanh", &tanh<T>, 4, 1},
                           entry{"sigmoid", &sigmoid<T>, 4, 1}, entry{"relu", &relu<T>, 1, 0},
                           entry{"signed_sqrt", &signed_sqrt<T>, 1, 0}}) {
        m.fn(x.data(), y.data(), x.size());
        check_close(y, values<T>(e[m.name][dtype<T>()]), m.rel, m.abs_eps, m.name);
    }
    gelu(x.data(), y.data(), x.size());
    const std::vector<T> want = values<T>(e["gelu"][dtype<T>()]);
    for (std::size_t i = 0; i < x.size(); ++i) {
        const double bound = 64 * kernel_testing::eps<T>() *
                                 std::max(std::abs(double(x[i])), std::abs(double(want[i]))) +
                             double(std::numeric_limits<T>::min());
        CHECK_MESSAGE(agrees(y[i], want[i], bound),
                      "gelu(" << x[i] << ") = " << y[i] << ", torch " << want[i]);
    }
}

TEST_CASE_TEMPLATE("softmax, layer norm and L2 normalisation agree with torch", T, float, double) {
    {
        const auto& s = fixture()["softmax"];
        const std::size_t rows = s["rows"], cols = s["cols"];
        const std::vector<T> x = values<T>(s["x"]);
        std::vector<T> y(x.size());
        softmax_rows(x.data(), rows, cols, cols, y.data(), cols);
        check_close(y, values<T>(s["y"][dtype<T>()]), 16, 0, "softmax");
    }
    {
        const auto& l = fixture()["layer_norm"];
        const std::size_t rows = l["rows"], cols = l["cols"];
        const std::vector<T> x = values<T>(l["x"]), gamma = values<T>(l["gamma"]),
                             beta = values<T>(l["beta"]);
        std::vector<T> y(x.size());
        layer_norm(x.data(), rows, cols, cols, gamma.data(), beta.data(),
                   static_cast<T>(l["eps"].get<double>()), y.data(), cols);
        const std::vector<T> want = values<T>(l["y"][dtype<T>()]);
        for (std::size_t i = 0; i < y.size(); ++i) {
            CHECK(agrees(y[i], want[i],
                         64 * kernel_testing::eps<T>() * (std::abs(double(want[i])) + 1)));
        }
    }
    {
        const auto& n = fixture()["l2_normalize"];
        const std::size_t rows = n["rows"], cols = n["cols"];
        const std::vector<T> x = values<T>(n["x"]);
        std::vector<T> y(x.size());
        l2_normalize_rows(x.data(), rows, cols, cols, static_cast<T>(n["eps"].get<double>()),
                          y.data(), cols);
        check_close(y, values<T>(n["y"][dtype<T>()]), 16, 0, "l2_normalize");
    }
}

TEST_CASE_TEMPLATE("linear + ReLU agrees with torch.nn.functional.linear", T, float, double) {
    const auto& l = fixture()["linear"];
    const std::size_t rows = l["rows"], in = l["in"], out = l["out"];
    const std::vector<T> x = values<T>(l["x"]), w = values<T>(l["weight"]),
                         b = values<T>(l["bias"]);
    const std::vector<T> want = values<T>(l["y_relu"][dtype<T>()]);
    std::vector<T> y(rows * out);
    linear(x.data(), rows, in, w.data(), b.data(), out, y.data(), epilogue::relu);
    for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t o = 0; o < out; ++o) {
            double magnitude = std::abs(double(b[o]));
            for (std::size_t i = 0; i < in; ++i) {
                magnitude += std::abs(double(x[r * in + i]) * double(w[o * in + i]));
            }
            CHECK(agrees(y[r * out + o], want[r * out + o],
                         8.0 * double(in + 2) * kernel_testing::eps<T>() * magnitude));
        }
    }
}
