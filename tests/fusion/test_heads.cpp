// MLP heads (ReLU/tanh, MMSA regression output) against PyTorch (generate_fixtures.py).
#include "fusion_testing.hpp"

#include <emofuse/core/pipeline.hpp>
#include <emofuse/fusion/tensor_fusion.hpp>
#include <emofuse/heads/mlp.hpp>

using namespace emofuse;
using emofuse::test::check_close;
using emofuse::test::fixture;
using emofuse::test::tolerance;

namespace {

template <class T>
heads::mlp<T> load_mlp(const std::string& c, std::size_t layers, heads::activation act,
                       heads::output_transform out) {
    std::vector<std::string> prefixes;
    for (std::size_t l = 0; l < layers; ++l) {
        prefixes.push_back("layers." + std::to_string(l) + ".");
    }
    return heads::mlp<T>::from_state_dict(test::weights(c), prefixes, act, out);
}

} // namespace

TEST_CASE_TEMPLATE("heads::mlp matches PyTorch with ReLU, tanh and the MMSA output", T, float,
                   double) {
    using heads::activation;
    using heads::output_transform;
    check_close(load_mlp<T>("mlp_relu", 3, activation::relu,
                            output_transform::identity)(fixture<T, 2>("mlp_relu_x0")),
                fixture<T, 2>("mlp_relu_y"), tolerance<T>());
    check_close(load_mlp<T>("mlp_tanh", 3, activation::tanh,
                            output_transform::identity)(fixture<T, 2>("mlp_tanh_x0")),
                fixture<T, 2>("mlp_tanh_y"), tolerance<T>());
    for (const std::string c : {"mlp_mmsa", "mlp_b1"}) {
        const auto head = load_mlp<T>(c, 2, activation::relu, output_transform::mmsa_regression);
        const auto y = head(fixture<T, 2>(c + "_x0"));
        check_close(y, fixture<T, 2>(c + "_y"), tolerance<T>());
        for (auto v : y) {
            CHECK(v > T(-3));
            CHECK(v < T(3));
        }
    }
}

TEST_CASE("heads::mlp composes after a fusion stage and reports its sizes") {
    const auto head =
        load_mlp<float>("mlp_relu", 3, heads::activation::relu, heads::output_transform::identity);
    CHECK(head.inputs() == 6);
    CHECK(head.outputs() == 3);
    CHECK(head.parameter_count() == 6 * 8 + 8 + 8 * 5 + 5 + 5 * 3 + 3);
    // (2 + 1)·(1 + 1) = 6 features from a two-modality tensor fusion.
    auto pipe = fusion::tensor_fusion<>{} | head;
    auto batch = make_batch(audio(xt::xtensor<float, 2>({{0.5f, -1.f}})),
                            text(xt::xtensor<float, 2>({{2.f}})));
    const auto z = fusion::tensor_fusion<>{}(batch);
    check_close(pipe(batch), head(z), 0.0);
}

TEST_CASE("heads::mlp rejects inconsistent layers and inputs") {
    using layer = emofuse::layers::dense<float>;
    const layer a{xt::zeros<float>({4, 3}), xt::zeros<float>({4})};
    const layer b{xt::zeros<float>({2, 5}), {}};
    CHECK_THROWS_WITH_AS(heads::mlp<float>({a, b}),
                         doctest::Contains("layer 1 inputs (weight columns)"), shape_error);
    CHECK_THROWS_AS(heads::mlp<float>({layer{xt::zeros<float>({4, 3}), xt::zeros<float>({3})}}),
                    shape_error);
    CHECK_THROWS_AS(heads::mlp<float>(std::vector<layer>{}), shape_error);
    const heads::mlp<float> head({a});
    CHECK_THROWS_WITH_AS(head(xt::zeros<float>({2, 4})),
                         doctest::Contains("heads::mlp: input features: expected 3, got 4"),
                         shape_error);
}
