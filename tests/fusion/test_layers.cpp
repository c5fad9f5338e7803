// layers::dense (the one nn.Linear of attention, fusion and heads) and its loader: products
// against a direct sum, every activation, strided and accumulating forms, copies, loading from a
// state-dict-like object that is not io::state_dict, and bad shapes.
#include "fusion_testing.hpp"

#include <emofuse/kernels/elementwise.hpp>
#include <emofuse/layers/dense.hpp>
#include <emofuse/layers/layer_norm.hpp>

#include <array>
#include <cmath>
#include <map>
#include <string>
#include <string_view>
#include <vector>

using namespace emofuse;
using emofuse::test::check_close;

namespace {

template <class T>
xt::xtensor<T, 2> ramp(std::size_t rows, std::size_t cols, double step, double offset) {
    auto out = xt::xtensor<T, 2>::from_shape({rows, cols});
    for (std::size_t i = 0; i < out.size(); ++i) {
        out.data()[i] = static_cast<T>(std::sin(step * double(i) + offset));
    }
    return out;
}

template <class T>
xt::xtensor<T, 1> ramp_vector(std::size_t size, double step, double offset) {
    auto out = xt::xtensor<T, 1>::from_shape({size});
    for (std::size_t i = 0; i < size; ++i) {
        out(i) = static_cast<T>(std::sin(step * double(i) + offset));
    }
    return out;
}

/// The first `cols` columns of m.
template <class T>
xt::xtensor<T, 2> left_columns(const xt::xtensor<T, 2>& m, std::size_t cols) {
    auto out = xt::xtensor<T, 2>::from_shape({m.shape(0), cols});
    for (std::size_t r = 0; r < m.shape(0); ++r) {
        for (std::size_t c = 0; c < cols; ++c) {
            out(r, c) = m(r, c);
        }
    }
    return out;
}

/// y = x·Wᵀ + b by direct summation in double.
template <class T>
xt::xtensor<double, 2> direct(const xt::xtensor<T, 2>& x, const xt::xtensor<T, 2>& w,
                              const xt::xtensor<T, 1>& b) {
    xt::xtensor<double, 2> y = xt::zeros<double>({x.shape(0), w.shape(0)});
    for (std::size_t r = 0; r < x.shape(0); ++r) {
        for (std::size_t o = 0; o < w.shape(0); ++o) {
            double sum = b.size() ? double(b(o)) : 0.0;
            for (std::size_t i = 0; i < w.shape(1); ++i) {
                sum += double(x(r, i)) * double(w(o, i));
            }
            y(r, o) = sum;
        }
    }
    return y;
}

/// A state-dict-like object that is not io::state_dict: only contains() and tensor<T, N>().
struct map_state_dict {
    std::map<std::string, xt::xtensor<float, 2>, std::less<>> matrices;
    std::map<std::string, xt::xtensor<float, 1>, std::less<>> vectors;

    [[nodiscard]] bool contains(std::string_view name) const {
        return matrices.find(name) != matrices.end() || vectors.find(name) != vectors.end();
    }
    template <class T, std::size_t N>
    [[nodiscard]] xt::xtensor<T, N> tensor(std::string_view name,
                                           const std::array<std::size_t, N>& shape) const {
        xt::xtensor<T, N> out;
        if constexpr (N == 2) {
            out = xt::cast<T>(matrices.at(std::string(name)));
        } else {
            out = xt::cast<T>(vectors.at(std::string(name)));
        }
        for (std::size_t d = 0; d < N; ++d) {
            if (shape[d] != dynamic && shape[d] != out.shape(d)) {
                throw shape_error("map_state_dict: " + std::string(name) + ": wrong shape");
            }
        }
        return out;
    }
};

} // namespace

TEST_CASE_TEMPLATE("layers::dense computes x·Wᵀ + b for any batch, with or without bias", T, float,
                   double) {
    for (std::size_t rows : {0u, 1u, 3u, 17u, 64u}) {
        CAPTURE(rows);
        const auto x = ramp<T>(rows, 37, 0.37, 0.1);
        const auto w = ramp<T>(29, 37, 0.11, 0.7);
        const auto b = ramp_vector<T>(29, 0.5, 0.2);
        const layers::dense<T> with_bias(w, b);
        const layers::dense<T> without_bias(w);
        CHECK(with_bias.in_features() == 37);
        CHECK(with_bias.out_features() == 29);
        CHECK(with_bias.parameter_count() == 29 * 37 + 29);
        CHECK(without_bias.bias_data() == nullptr);
        xt::xtensor<T, 2> y = xt::zeros<T>({rows, std::size_t{29}});
        with_bias.apply(x.data(), rows, y.data());
        check_close(y, direct(x, w, b), test::tolerance<T>());
        without_bias.apply(x.data(), rows, y.data());
        check_close(y, direct(x, w, xt::xtensor<T, 1>()), test::tolerance<T>());
    }
}

TEST_CASE_TEMPLATE("layers::dense applies every activation, strided and accumulating", T, float,
                   double) {
    const std::size_t rows = 5, in = 6, out = 7, ldx = 9, ldy = 11;
    const auto w = ramp<T>(out, in, 0.3, 0.0);
    const auto b = ramp_vector<T>(out, 0.9, 1.0);
    const layers::dense<T> layer(w, b, "probe");
    // x lives in a wider buffer (row stride ldx), y is written with row stride ldy.
    const auto wide_x = ramp<T>(rows, ldx, 0.21, 0.4);
    const auto x = left_columns(wide_x, in);
    const auto linear = direct(x, w, b);
    using layers::activation;
    for (activation act : {activation::identity, activation::relu, activation::tanh,
                           activation::sigmoid, activation::gelu}) {
        CAPTURE(static_cast<int>(act));
        xt::xtensor<T, 2> y = xt::zeros<T>({rows, ldy});
        layer.apply(wide_x.data(), ldx, rows, y.data(), ldy, act);
        xt::xtensor<double, 2> expected = linear;
        for (auto& v : expected) {
            switch (act) {
            case activation::identity:
                break;
            case activation::relu:
                v = v < 0 ? 0 : v;
                break;
            case activation::tanh:
                v = std::tanh(v);
                break;
            case activation::sigmoid:
                v = 1 / (1 + std::exp(-v));
                break;
            case activation::gelu:
                v = 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
                break;
            }
        }
        const auto written = left_columns(y, out);
        check_close(written, expected, 10 * test::tolerance<T>());
        // The padding columns beyond `out` are never written.
        for (std::size_t r = 0; r < rows; ++r) {
            for (std::size_t c = out; c < ldy; ++c) {
                CHECK(y(r, c) == T(0));
            }
        }
    }
    // accumulate: y ← y + x·Wᵀ + b.
    xt::xtensor<T, 2> y = xt::ones<T>({rows, out});
    layer.apply(wide_x.data(), ldx, rows, y.data(), out, kernels::epilogue::none, true);
    const xt::xtensor<double, 2> shifted = linear + 1.0;
    check_close(y, shifted, test::tolerance<T>());
}

TEST_CASE("layers::dense copies own their packed weight") {
    const auto w = ramp<float>(12, 8, 0.4, 0.3);
    const auto x = ramp<float>(4, 8, 0.7, 0.2);
    std::vector<layers::dense<float>> stack;
    {
        layers::dense<float> original(w, xt::xtensor<float, 1>(xt::ones<float>({12})));
        stack.push_back(original);      // copy
        stack.push_back(stack.front()); // copy of the copy
        layers::dense<float> assigned;
        CHECK(assigned.empty());
        assigned = original; // copy assignment
        stack.push_back(std::move(assigned));
    } // original destroyed
    const auto expected = direct(x, w, xt::xtensor<float, 1>(xt::ones<float>({12})));
    for (const auto& layer : stack) {
        xt::xtensor<float, 2> y({4, 12});
        layer.apply(x.data(), 4, y.data());
        check_close(y, expected, test::tolerance<float>());
    }
}

TEST_CASE("layers::dense rejects a bias of the wrong size and checks expected sizes") {
    CHECK_THROWS_WITH_AS(
        layers::dense<float>(xt::zeros<float>({3, 4}), xt::zeros<float>({2}), "fc1"),
        doctest::Contains("layers::dense (fc1): bias size (weight rows): "
                          "expected 3, got 2"),
        shape_error);
    const layers::dense<float> layer(xt::zeros<float>({3, 4}));
    CHECK_NOTHROW(layer.check("stage", "fc", 4, 3));
    CHECK_THROWS_WITH_AS(layer.check("stage", "fc", 5), doctest::Contains("fc weight columns"),
                         shape_error);
    CHECK_THROWS_WITH_AS(layer.check("stage", "fc", dynamic, 2),
                         doctest::Contains("fc weight rows"), shape_error);
}

TEST_CASE("layers::load_dense reads any state-dict-like object") {
    map_state_dict sd;
    sd.matrices["fc.weight"] = ramp<float>(3, 5, 0.3, 0.0);
    sd.vectors["fc.bias"] = xt::xtensor<float, 1>{1.f, 2.f, 3.f};
    sd.matrices["nobias.weight"] = ramp<float>(2, 5, 0.6, 0.1);
    sd.vectors["norm.weight"] = xt::ones<float>({5});
    sd.vectors["norm.bias"] = xt::zeros<float>({5});

    const auto fc = layers::load_dense<double>(sd, "fc.");
    CHECK(fc.out_features() == 3);
    CHECK(fc.bias().size() == 3);
    CHECK(fc.bias()(2) == 3.0);
    const auto nobias = layers::load_dense<double>(sd, "nobias.", 5, 2);
    CHECK(nobias.bias().size() == 0);
    CHECK(layers::load_optional_dense<double>(sd, "absent.").empty());
    CHECK(!layers::load_optional_dense<double>(sd, "fc.").empty());
    CHECK_THROWS_AS((void)layers::load_dense<double>(sd, "fc.", 4), shape_error);
    const auto p = layers::load_linear_parameters<float>(sd, "fc.", dynamic, 3);
    CHECK(p.weight.shape(1) == 5);
    const auto norm = layers::load_layer_norm<float>(sd, "norm.");
    CHECK(norm.size() == 5);
}
