// nn.BatchNorm1d, nn.Embedding and nn.Conv1d parity (fixtures from torch.nn) and the errors of
// bad input.
#include "encoders_testing.hpp"

#include <emofuse/encoders/batch_norm.hpp>
#include <emofuse/encoders/conv1d.hpp>
#include <emofuse/encoders/embedding.hpp>
#include <emofuse/io/state_dict.hpp>

#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <limits>
#include <string>

namespace {

namespace ee = emofuse::encoders;
using namespace encoders_testing;

ee::batch_norm_options batch_norm_options_of(const emofuse::io::state_dict& sd) {
    return {meta_size(sd, "channels"), std::stod(meta(sd, "eps")), meta_flag(sd, "affine")};
}

ee::conv1d_options conv1d_options_of(const emofuse::io::state_dict& sd) {
    return {meta_size(sd, "in_channels"), meta_size(sd, "out_channels"),
            meta_size(sd, "kernel_size"), meta_size(sd, "stride"),
            meta_size(sd, "padding"),     meta_size(sd, "dilation"),
            meta_flag(sd, "bias")};
}

} // namespace

TEST_CASE_TEMPLATE("batch_norm matches torch.nn.BatchNorm1d in eval mode", T, float, double) {
    SUBCASE("(N, C)") {
        const auto sd = load_case("batch_norm_nc");
        const auto norm =
            ee::batch_norm<T>::from_state_dict(sd, "norm.", batch_norm_options_of(sd));
        check_close<T>(norm(sd.tensor<T, 2>("input")), sd.tensor<double, 2>("output"), "output");
    }
    for (const char* name : {"batch_norm_ncl", "batch_norm_no_affine"}) {
        INFO("case ", std::string(name));
        const auto sd = load_case(name);
        const auto norm =
            ee::batch_norm<T>::from_state_dict(sd, "norm.", batch_norm_options_of(sd));
        check_close<T>(norm(sd.tensor<T, 3>("input")), sd.tensor<double, 3>("output"), "output");
        auto in_place = sd.tensor<T, 3>("input");
        norm.apply_in_place(in_place.data(), in_place.shape(0), in_place.shape(2));
        check_close<T>(in_place, sd.tensor<double, 3>("output"), "output (in place)");
    }
}

TEST_CASE("batch_norm rejects bad input with clear errors") {
    const auto sd = load_case("batch_norm_ncl");
    const auto options = batch_norm_options_of(sd);
    const auto norm = ee::batch_norm<float>::from_state_dict(sd, "norm.", options);
    const xt::xtensor<float, 3> wrong = xt::zeros<float>({2, 4, 3});
    CHECK_THROWS_WITH_AS(static_cast<void>(norm(wrong)),
                         "encoders::batch_norm: input channels (axis 1, num_features): expected "
                         "5, got 4",
                         emofuse::shape_error);
    CHECK_THROWS_WITH_AS(ee::batch_norm<float>::from_state_dict(sd, "bn.", options),
                         "encoders::batch_norm: parameter 'bn.weight': expected in the state "
                         "dict, missing",
                         emofuse::value_error);
    auto plain = options;
    plain.affine = false;
    CHECK_THROWS_AS(ee::batch_norm<float>::from_state_dict(sd, "norm.", plain),
                    emofuse::value_error);
    auto wider = options;
    wider.num_features = 6;
    CHECK_THROWS_AS(ee::batch_norm<float>::from_state_dict(sd, "norm.", wider),
                    emofuse::shape_error);
    const xt::xtensor<float, 1> mean = xt::zeros<float>({2});
    const xt::xtensor<float, 1> variance = {1.0f, -2.0f};
    CHECK_THROWS_WITH_AS(ee::batch_norm<float>(mean, variance, {}, {}, 1e-5),
                         doctest::Contains("running_var + eps of channel 1: expected > 0"),
                         emofuse::value_error);
}

TEST_CASE_TEMPLATE("embedding matches torch.nn.Embedding", T, float, double) {
    const auto sd = load_case("embedding");
    const auto embed = ee::embedding<T>::from_state_dict(
        sd, "embed.", {meta_size(sd, "num_embeddings"), meta_size(sd, "embedding_dim")});
    const auto indices = sd.tensor<std::int64_t, 2>("indices");
    check_close<T>(embed(indices), sd.tensor<double, 3>("output"), "output");
    const xt::xtensor<std::int64_t, 1> flat = {10, 1};
    const auto rows = embed(flat);
    CHECK(rows.shape(0) == 2);
    CHECK(rows(0, 3) == embed.weight()(10, 3));
}

TEST_CASE("embedding rejects indices out of range") {
    const auto sd = load_case("embedding");
    const auto embed = ee::embedding<float>::from_state_dict(sd, "embed.", {11, 6});
    const xt::xtensor<std::int64_t, 1> negative = {1, -1};
    CHECK_THROWS_WITH_AS(static_cast<void>(embed(negative)),
                         "encoders::embedding: index at position 1: expected in [0, 11), got -1",
                         emofuse::value_error);
    const xt::xtensor<std::int64_t, 1> beyond = {11};
    CHECK_THROWS_AS(static_cast<void>(embed(beyond)), emofuse::value_error);
    CHECK_THROWS_AS(ee::embedding<float>::from_state_dict(sd, "embed.", {12, 6}),
                    emofuse::shape_error);
    CHECK_THROWS_AS(ee::embedding<float>::from_state_dict(sd, "emb.", {11, 6}),
                    emofuse::value_error);
}

TEST_CASE_TEMPLATE("conv1d matches torch.nn.Conv1d", T, float, double) {
    for (const char* name : {"conv1d_k1_nobias", "conv1d_k5", "conv1d_strided"}) {
        INFO("case ", std::string(name));
        const auto sd = load_case(name);
        const auto conv = ee::conv1d<T>::from_state_dict(sd, "proj.", conv1d_options_of(sd));
        check_close<T>(conv(sd.tensor<T, 3>("input")), sd.tensor<double, 3>("output"), "output");
    }
}

TEST_CASE_TEMPLATE("conv1d over channels-last input is the transposed convolution", T, float,
                   double) {
    for (const char* name : {"conv1d_k1_nobias", "conv1d_k5", "conv1d_strided"}) {
        INFO("case ", std::string(name));
        const auto sd = load_case(name);
        const auto conv = ee::conv1d<T>::from_state_dict(sd, "proj.", conv1d_options_of(sd));
        const auto x = sd.tensor<T, 3>("input");       // (N, C_in, L)
        const auto y = sd.tensor<double, 3>("output"); // (N, C_out, L_out)
        xt::xtensor<T, 3> x_last({x.shape(0), x.shape(2), x.shape(1)});
        for (std::size_t n = 0; n < x.shape(0); ++n) {
            for (std::size_t c = 0; c < x.shape(1); ++c) {
                for (std::size_t t = 0; t < x.shape(2); ++t) {
                    x_last(n, t, c) = x(n, c, t);
                }
            }
        }
        xt::xtensor<double, 3> y_last({y.shape(0), y.shape(2), y.shape(1)});
        for (std::size_t n = 0; n < y.shape(0); ++n) {
            for (std::size_t o = 0; o < y.shape(1); ++o) {
                for (std::size_t t = 0; t < y.shape(2); ++t) {
                    y_last(n, t, o) = y(n, o, t);
                }
            }
        }
        check_close<T>(conv.forward_channels_last(x_last), y_last, "channels-last output");
        // A copy re-packs the kept weight and computes the same.
        const ee::conv1d<T> copy = conv;
        CHECK(copy.weight() == conv.weight());
        check_close<T>(copy(x), y, "copy");
        const xt::xtensor<T, 3> wrong_channels =
            xt::zeros<T>(std::array<std::size_t, 3>{1, x.shape(2), x.shape(1) + 1});
        CHECK_THROWS_WITH_AS(static_cast<void>(conv.forward_channels_last(wrong_channels)),
                             doctest::Contains("input channels (axis 2, in_channels)"),
                             emofuse::shape_error);
    }
    CHECK(ee::conv1d<T>().empty());
}

TEST_CASE("conv1d rejects bad input with clear errors") {
    const auto sd = load_case("conv1d_k5");
    const auto options = conv1d_options_of(sd); // 6 → 4, kernel 5, no padding
    const auto conv = ee::conv1d<float>::from_state_dict(sd, "proj.", options);
    const xt::xtensor<float, 3> short_input = xt::zeros<float>({1, 6, 4});
    CHECK_THROWS_WITH_AS(static_cast<void>(conv(short_input)),
                         "encoders::conv1d: input length: expected at least 5 after padding "
                         "(dilation·(kernel_size − 1) + 1), got 4",
                         emofuse::shape_error);
    const xt::xtensor<float, 3> wrong_channels = xt::zeros<float>({1, 5, 9});
    CHECK_THROWS_AS(static_cast<void>(conv(wrong_channels)), emofuse::shape_error);
    auto kernel_1 = options;
    kernel_1.kernel_size = 1; // MulT's default against MMSA's kernel-5 checkpoint
    CHECK_THROWS_WITH_AS(ee::conv1d<float>::from_state_dict(sd, "proj.", kernel_1),
                         doctest::Contains("expected rank 3 shape (4, 6, 1), got rank 3 shape "
                                           "(4, 6, 5)"),
                         emofuse::shape_error);
    auto no_bias = options;
    no_bias.bias = false;
    CHECK_THROWS_AS(ee::conv1d<float>::from_state_dict(sd, "proj.", no_bias), emofuse::value_error);
    const xt::xtensor<float, 3> weight = xt::zeros<float>({2, 3, 1});
    CHECK_THROWS_AS(ee::conv1d<float>(weight, {}, 0), emofuse::value_error);
    auto padded = options;
    padded.padding = std::numeric_limits<std::size_t>::max() / 2;
    const auto far = ee::conv1d<float>::from_state_dict(sd, "proj.", padded);
    CHECK_THROWS_WITH_AS(static_cast<void>(far(xt::xtensor<float, 3>(xt::zeros<float>({1, 6, 9})))),
                         doctest::Contains("their window overflows size_t"), emofuse::shape_error);
    // A length-1 output from exactly one window, and an empty batch.
    const xt::xtensor<float, 3> one_window = xt::ones<float>({2, 6, 5});
    CHECK(conv(one_window).shape(2) == 1);
    const xt::xtensor<float, 3> none = xt::zeros<float>({0, 6, 9});
    CHECK(conv(none).shape(0) == 0);
}
