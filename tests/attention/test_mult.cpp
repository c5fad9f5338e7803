// MulT: crossmodal layer stacks and the full forward pass against the float64 PyTorch math,
// loaded from safetensors with MulT's names; bad input.
#include "fixture.hpp"

#include <emofuse/attention/load.hpp>
#include <emofuse/attention/mult.hpp>
#include <emofuse/core/batch.hpp>
#include <emofuse/core/pipeline.hpp>
#include <emofuse/io/safetensors.hpp>
#include <emofuse/layers/dense.hpp>
#include <emofuse/layers/layer_norm.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ea = emofuse::attention;
using attention_testing::check_close;
using attention_testing::data_path;
using attention_testing::fixture;
using attention_testing::parity_tolerance;

namespace {

template <class T>
emofuse::sequence<T> sequence_of(const fixture& f, const std::string& m) {
    return emofuse::sequence<T>(f.get<T, 3>("input." + m), f.sizes("lengths." + m));
}

/// MulT's encoder with every frame given a position (the fixtures' convention) and the future
/// mask as given.
ea::encoder_options plain_positions(bool mask_future) {
    auto options = ea::encoder_options::mult_original();
    options.positions.zero_position_for_padding_frames = false;
    options.mask_future = mask_future;
    return options;
}

} // namespace

TEST_CASE_TEMPLATE("crossmodal encoder stacks match the PyTorch math", T, float, double) {
    for (const char* name : {"encoder_cross", "encoder_self_future", "encoder_cross_heads1"}) {
        CAPTURE(name);
        const fixture f(name);
        const auto sd = emofuse::io::load_safetensors(data_path(name));
        auto options = ea::encoder_options::mult_original();
        options.mask_future = f.meta("future") == "1";
        options.positions.zero_position_for_padding_frames = f.meta("zero_padding_frames") == "1";
        const auto encoder =
            ea::load_crossmodal_encoder<T>(sd, "weights.", std::stoul(f.meta("heads")), options);
        CHECK(encoder.layer_count() == std::stoul(f.meta("layers")));
        ea::attention_mask<T> mask;
        if (f.has("key_lengths")) {
            mask.key_lengths = f.sizes("key_lengths");
        }
        const auto target = f.get<T, 3>("input.target");
        const auto out = f.has("input.source") ? encoder(target, f.get<T, 3>("input.source"), mask)
                                               : encoder(target, mask);
        check_close(out, f.get<double, 3>("expected"), parity_tolerance<T>(), name);
    }
}

TEST_CASE("the encoder is a per-modality stage over sequences") {
    const fixture f("encoder_self_future");
    const auto sd = emofuse::io::load_safetensors(data_path("encoder_self_future"));
    auto options = ea::encoder_options::mult_original();
    options.positions.zero_position_for_padding_frames = false;
    const auto encoder = ea::load_crossmodal_encoder<double>(sd, "weights.", 3, options);
    const emofuse::sequence<double> x(f.get<double, 3>("input.target"), f.sizes("key_lengths"));
    const auto out = encoder(x);
    CHECK(out.lengths() == x.lengths());
    check_close(out.values(), f.get<double, 3>("expected"), 1e-11);
    static_assert(emofuse::modality_stage<ea::crossmodal_encoder<double>>);
}

TEST_CASE_TEMPLATE("MulT forward matches the PyTorch math", T, float, double) {
    for (const char* name : {"mult_full", "mult_padded"}) {
        CAPTURE(name);
        const fixture io(std::string(name) + "_io");
        const auto sd = emofuse::io::load_safetensors(data_path(std::string(name) + "_state_dict"));
        auto options = ea::encoder_options::mult_original();
        options.mask_future = io.meta("future") == "1";
        options.positions.zero_position_for_padding_frames = false;
        const auto model = ea::load_mult<T>(sd, "", std::stoul(io.meta("heads")), options);
        const auto l = sequence_of<T>(io, "l");
        const auto a = sequence_of<T>(io, "a");
        const auto v = sequence_of<T>(io, "v");
        const auto r = model.forward(l, a, v);
        check_close(r.prediction, io.get<double, 2>("expected.prediction"), parity_tolerance<T>(),
                    name);
        check_close(r.hidden, io.get<double, 2>("expected.hidden"), parity_tolerance<T>(), name);

        // As a fusion stage in a pipeline, over a multimodal batch.
        const auto batch =
            emofuse::make_batch(emofuse::text(l), emofuse::audio(a), emofuse::vision(v));
        const emofuse::features<T> fused = model(batch);
        check_close(fused, io.get<double, 2>("expected.prediction"), parity_tolerance<T>(), name);
        // Restricted to the three modalities of a larger batch with the composer.
        const auto wider = emofuse::make_batch(
            emofuse::text(l), emofuse::audio(a), emofuse::vision(v),
            emofuse::modality<"depth">(emofuse::features<T>({l.batch_size(), 2})));
        const auto pipe = emofuse::only<emofuse::text, emofuse::audio, emofuse::vision>(model);
        check_close(pipe(wider), io.get<double, 2>("expected.prediction"), parity_tolerance<T>(),
                    name);
    }
}

TEST_CASE("MulT hidden output and state-dict prefix") {
    const fixture io("mult_full_io");
    const auto sd = emofuse::io::load_safetensors(data_path("mult_full_state_dict"));
    emofuse::io::state_dict prefixed;
    for (const auto& name : sd.names()) {
        prefixed.insert("module." + name, sd.at(name));
    }
    const auto model = ea::load_mult<double>(prefixed, "module.", 2, plain_positions(false),
                                             ea::mult_output::hidden);
    const auto batch = emofuse::make_batch(emofuse::text(sequence_of<double>(io, "l")),
                                           emofuse::audio(sequence_of<double>(io, "a")),
                                           emofuse::vision(sequence_of<double>(io, "v")));
    check_close(model(batch), io.get<double, 2>("expected.hidden"), 1e-11);
    static_assert(emofuse::fusion_stage<ea::mult_model<double>>);
}

TEST_CASE("MulT rejects mismatched inputs and state dicts") {
    const fixture io("mult_full_io");
    const auto sd = emofuse::io::load_safetensors(data_path("mult_full_state_dict"));
    const auto model = ea::load_mult<float>(sd, "", 2, plain_positions(false));
    const auto l = sequence_of<float>(io, "l");
    const auto a = sequence_of<float>(io, "a");
    const auto v = sequence_of<float>(io, "v");
    // Features of the wrong size for proj_a.
    const emofuse::sequence<float> wrong_audio(xt::xtensor<float, 3>({2, 9, 6}));
    CHECK_THROWS_WITH_AS((void)model.forward(l, wrong_audio, v), doctest::Contains("proj_a"),
                         emofuse::shape_error);
    // A batch size that disagrees.
    const emofuse::sequence<float> one_sample(xt::xtensor<float, 3>({1, 7, 4}));
    CHECK_THROWS_WITH_AS((void)model.forward(l, a, one_sample), doctest::Contains("vision batch"),
                         emofuse::shape_error);
    // 8 is not divisible by 3 heads.
    CHECK_THROWS_AS((void)ea::load_mult<float>(sd, "", 3, plain_positions(false)),
                    emofuse::shape_error);
    // A state dict without one of the blocks.
    emofuse::io::state_dict partial;
    for (const auto& name : sd.names()) {
        if (name.rfind("trans_v_with_a.", 0) != 0) {
            partial.insert(name, sd.at(name));
        }
    }
    CHECK_THROWS_WITH_AS((void)ea::load_mult<float>(partial, "", 2, plain_positions(false)),
                         doctest::Contains("trans_v_with_a"), emofuse::io_error);
    // A sinusoidal table needs at least 4 features.
    std::vector<float> row(3);
    CHECK_THROWS_AS(ea::sinusoidal_position<float>(1, 3, row.data()), emofuse::value_error);
}

namespace {

/// Exposes only contains() and tensor<T, N>(): the loaders must not need io::state_dict.
struct minimal_state_dict {
    const emofuse::io::state_dict* inner;

    [[nodiscard]] bool contains(std::string_view name) const { return inner->contains(name); }
    template <class T, std::size_t N>
    [[nodiscard]] xt::xtensor<T, N> tensor(std::string_view name,
                                           const std::array<std::size_t, N>& shape) const {
        return inner->tensor<T, N>(name, shape);
    }
};

} // namespace

TEST_CASE("encoder presets spell out the peers' encoders") {
    constexpr auto mult = ea::encoder_options::mult_original();
    CHECK(mult.scale_inputs);
    CHECK(mult.add_positions);
    CHECK(mult.positions.zero_position_for_padding_frames);
    CHECK(mult.mask_future);
    CHECK(mult.ffn_activation == emofuse::layers::activation::relu);
    constexpr auto mmsa = ea::encoder_options::mmsa();
    CHECK(mmsa.scale_inputs);
    CHECK(!mmsa.add_positions);
    CHECK(mmsa.mask_future);
    CHECK(mmsa.ffn_activation == emofuse::layers::activation::relu);
}

TEST_CASE("load_mult builds the encoders the preset names, from any state-dict-like object") {
    const fixture io("mult_full_io");
    const auto sd = emofuse::io::load_safetensors(data_path("mult_full_state_dict"));
    const minimal_state_dict minimal{&sd};
    const auto l = sequence_of<double>(io, "l");
    const auto a = sequence_of<double>(io, "a");
    const auto v = sequence_of<double>(io, "v");
    const auto expected = io.get<double, 2>("expected.prediction");

    const auto original = ea::load_mult<double>(minimal, "", 2, plain_positions(false));
    check_close(original.forward(l, a, v).prediction, expected, 1e-11);

    // MMSA's MulT: same names, no positions. Every encoder carries the preset, and the
    // prediction moves away from the positional one.
    const auto mmsa = ea::load_mult<double>(minimal, "", 2, ea::encoder_options::mmsa());
    for (const auto& e : mmsa.parameters().crossmodal) {
        CHECK(!e.options().add_positions);
    }
    const auto without = mmsa.forward(l, a, v).prediction;
    double largest = 0;
    for (std::size_t i = 0; i < without.size(); ++i) {
        largest = std::max(largest, std::abs(without.data()[i] - expected.data()[i]));
    }
    CHECK(largest > 1e-3);
}

TEST_CASE("an encoder rejects layers whose FFN activation differs from its options") {
    const auto sd = emofuse::io::load_safetensors(data_path("encoder_cross"));
    auto layer = ea::load_crossmodal_layer<double>(sd, "weights.layers.0.", 2,
                                                   emofuse::layers::activation::gelu);
    CHECK(layer.ffn_activation() == emofuse::layers::activation::gelu);
    std::vector<ea::crossmodal_layer<double>> stack{layer};
    CHECK_THROWS_WITH_AS(ea::crossmodal_encoder<double>(
                             std::move(stack),
                             emofuse::layers::load_layer_norm<double>(sd, "weights.layer_norm."),
                             plain_positions(false)),
                         doctest::Contains("FFN activation"), emofuse::value_error);
}
