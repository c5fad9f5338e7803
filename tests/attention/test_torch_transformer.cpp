// PyTorch's own nn.TransformerEncoderLayer / nn.TransformerEncoder against torch 1.13 itself
// (generate_torch_transformer_fixtures.py): post-LN and norm_first, ReLU and GELU, both
// layouts, key padding, causal and additive masks, the final norm, torch's fast path; bad input.
#include "fixture.hpp"

#include <emofuse/attention/load.hpp>
#include <emofuse/attention/torch_transformer.hpp>
#include <emofuse/core/concepts.hpp>
#include <emofuse/core/sequence.hpp>
#include <emofuse/io/safetensors.hpp>
#include <emofuse/layers/dense.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ea = emofuse::attention;
using attention_testing::check_close;
using attention_testing::data_path;
using attention_testing::fixture;

namespace {

/// float: 1e-5 of max(1, max |expected|) (the bound); double: 1e-11.
template <class T>
constexpr double tolerance() {
    return attention_testing::parity_tolerance<T>();
}

struct torch_case {
    fixture f;
    emofuse::io::state_dict sd;
    ea::torch_encoder_options options = ea::torch_encoder_options::pytorch();
    ea::layout order = ea::layout::batch_first;
    std::size_t heads = 0;

    explicit torch_case(const std::string& name)
        : f("torch_" + name), sd(emofuse::io::load_safetensors(data_path("torch_" + name))) {
        options.norm_first = f.meta("norm_first") == "1";
        options.activation = f.meta("activation") == "gelu" ? emofuse::layers::activation::gelu
                                                            : emofuse::layers::activation::relu;
        options.layer_norm_eps = std::stod(f.meta("eps"));
        order = f.meta("batch_first") == "1" ? ea::layout::batch_first : ea::layout::sequence_first;
        heads = std::stoul(f.meta("heads"));
    }

    template <class T>
    [[nodiscard]] ea::attention_mask<T> mask() const {
        ea::attention_mask<T> m;
        if (f.has("src_key_padding_mask")) {
            m = ea::from_key_padding_mask<T>(f.get<std::uint8_t, 2>("src_key_padding_mask"));
        }
        if (f.meta("causal") == "1") {
            m.future = ea::future_mask::causal;
        }
        if (f.has("additive")) {
            m.additive = f.get<T, 3>("additive");
        }
        return m;
    }

    /// Whether token (b, t) is padding.
    [[nodiscard]] bool padded(std::size_t b, std::size_t t) const {
        return f.has("src_key_padding_mask") &&
               f.get<std::uint8_t, 2>("src_key_padding_mask")(b, t) != 0;
    }
};

} // namespace

TEST_CASE_TEMPLATE("torch_encoder matches nn.TransformerEncoder", T, float, double) {
    for (const char* name :
         {"post_relu_padded", "post_gelu_norm_padded", "norm_first_gelu_seq_first",
          "post_relu_causal_seq_first", "norm_first_additive_padded"}) {
        CAPTURE(name);
        const torch_case c(name);
        const auto encoder = ea::load_torch_encoder<T>(c.sd, "weights.", c.heads, c.options);
        CHECK(encoder.layer_count() == std::stoul(c.f.meta("layers")));
        CHECK(encoder.has_norm() == (c.f.meta("final_norm") == "1"));
        const auto out = encoder(c.f.get<T, 3>("input"), c.mask<T>(), c.order);
        check_close(out, c.f.get<double, 3>("expected"), tolerance<T>(), name);
    }
}

TEST_CASE_TEMPLATE("torch_encoder_layer matches nn.TransformerEncoderLayer", T, float, double) {
    const torch_case c("layer_post_gelu_padded");
    const auto layer = ea::load_torch_encoder_layer<T>(c.sd, "weights.", c.heads, c.options);
    CHECK(layer.d_model() == 8);
    CHECK(layer.dim_feedforward() == 16);
    const auto out = layer(c.f.get<T, 3>("input"), c.mask<T>(), c.order);
    check_close(out, c.f.get<double, 3>("expected"), tolerance<T>(), "layer");
}

TEST_CASE("torch's fast path differs only at padded positions") {
    for (const char* name : {"post_relu_padded", "post_gelu_norm_padded"}) {
        CAPTURE(name);
        const torch_case c(name);
        // The fixtures record torch taking its nested-tensor path under no_grad here.
        REQUIRE(c.f.meta("fast_path") == "1");
        const auto encoder = ea::load_torch_encoder<double>(c.sd, "weights.", c.heads, c.options);
        const auto x = c.f.get<double, 3>("input"); // batch-first
        const auto out = encoder(x, c.mask<double>());
        const auto fast = c.f.get<double, 3>("expected_fast");
        std::size_t padded_rows = 0;
        for (std::size_t b = 0; b < x.shape(0); ++b) {
            for (std::size_t t = 0; t < x.shape(1); ++t) {
                for (std::size_t j = 0; j < x.shape(2); ++j) {
                    if (!c.padded(b, t)) {
                        CHECK(std::abs(out(b, t, j) - fast(b, t, j)) < 1e-11);
                    } else if (!encoder.has_norm()) {
                        CHECK(fast(b, t, j) == 0.0); // torch's fast path zeroes padding
                    }
                }
                padded_rows += c.padded(b, t) ? 1 : 0;
            }
        }
        CHECK(padded_rows > 0);
        // The sequence form marks those positions as padding.
        std::vector<std::size_t> lengths;
        for (std::size_t b = 0; b < x.shape(0); ++b) {
            std::size_t n = 0;
            while (n < x.shape(1) && !c.padded(b, n)) {
                ++n;
            }
            lengths.push_back(n);
        }
        const auto seq = encoder(emofuse::sequence<double>(x, lengths));
        CHECK(seq.lengths() == lengths);
        check_close(seq.values(), c.f.get<double, 3>("expected"), 1e-11, "sequence form");
    }
    static_assert(emofuse::modality_stage<ea::torch_encoder<double>>);
}

TEST_CASE("the sequence-first layout is the batch-first computation transposed") {
    const torch_case c("norm_first_gelu_seq_first");
    const auto encoder = ea::load_torch_encoder<double>(c.sd, "weights.", c.heads, c.options);
    const auto x = c.f.get<double, 3>("input"); // (T, B, d)
    xt::xtensor<double, 3> x_bf({x.shape(1), x.shape(0), x.shape(2)});
    for (std::size_t t = 0; t < x.shape(0); ++t) {
        for (std::size_t b = 0; b < x.shape(1); ++b) {
            for (std::size_t j = 0; j < x.shape(2); ++j) {
                x_bf(b, t, j) = x(t, b, j);
            }
        }
    }
    const auto out = encoder(x_bf, c.mask<double>());
    const auto expected = c.f.get<double, 3>("expected");
    for (std::size_t t = 0; t < x.shape(0); ++t) {
        for (std::size_t b = 0; b < x.shape(1); ++b) {
            for (std::size_t j = 0; j < x.shape(2); ++j) {
                CHECK(std::abs(out(b, t, j) - expected(t, b, j)) < 1e-11);
            }
        }
    }
}

TEST_CASE("torch_encoder's options change the result and bad input is refused") {
    const torch_case c("post_relu_padded");
    const auto x = c.f.get<double, 3>("input");
    const auto expected = c.f.get<double, 3>("expected");
    // norm_first and GELU are not what this checkpoint was trained with.
    for (int variant = 0; variant < 2; ++variant) {
        auto options = c.options;
        if (variant == 0) {
            options.norm_first = true;
        } else {
            options.activation = emofuse::layers::activation::gelu;
        }
        const auto other = ea::load_torch_encoder<double>(c.sd, "weights.", c.heads, options);
        const auto out = other(x, c.mask<double>());
        double largest = 0;
        for (std::size_t i = 0; i < out.size(); ++i) {
            largest = std::max(largest, std::abs(out.data()[i] - expected.data()[i]));
        }
        CHECK(largest > 1e-3);
    }
    const auto encoder = ea::load_torch_encoder<double>(c.sd, "weights.", c.heads, c.options);
    CHECK_THROWS_WITH_AS((void)encoder(xt::xtensor<double, 3>({3, 7, 5})),
                         doctest::Contains("input features (d_model)"), emofuse::shape_error);
    ea::attention_mask<double> wrong_mask;
    wrong_mask.key_valid = xt::xtensor<std::uint8_t, 2>({3, 6});
    CHECK_THROWS_AS((void)encoder(x, wrong_mask), emofuse::shape_error);
    // 12 features cannot be split into 5 heads.
    CHECK_THROWS_AS((void)ea::load_torch_encoder<double>(c.sd, "weights.", 5, c.options),
                    emofuse::shape_error);
    // No layers under the prefix.
    CHECK_THROWS_WITH_AS((void)ea::load_torch_encoder<double>(c.sd, "encoder.", 4, c.options),
                         doctest::Contains("encoder.layers.0.self_attn.in_proj_weight"),
                         emofuse::io_error);
    // A final norm of the wrong size.
    emofuse::io::state_dict with_norm;
    for (const auto& name : c.sd.names()) {
        with_norm.insert(name, c.sd.at(name));
    }
    with_norm.insert("weights.norm.weight", xt::xtensor<float, 1>({1.0f, 1.0f}));
    with_norm.insert("weights.norm.bias", xt::xtensor<float, 1>({0.0f, 0.0f}));
    CHECK_THROWS_WITH_AS((void)ea::load_torch_encoder<double>(with_norm, "weights.", 4, c.options),
                         doctest::Contains("norm size (d_model)"), emofuse::shape_error);
    CHECK_THROWS_AS(ea::torch_encoder<double>(std::vector<ea::torch_encoder_layer<double>>{}),
                    emofuse::value_error);
}
