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
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
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

namespace {

/// A fixture written by generate_mmsa_mult_fixtures.py from MMSA's own MULT class.
struct mmsa_case {
    fixture io;
    emofuse::io::state_dict sd;

    explicit mmsa_case(const std::string& name)
        : io(name + "_io"), sd(emofuse::io::load_safetensors(data_path(name + "_state_dict"))) {}

    /// MMSA's preset with the case's attn_mask.
    [[nodiscard]] ea::encoder_options options() const {
        auto options = ea::encoder_options::mmsa();
        options.mask_future = io.meta("attn_mask") == "1";
        return options;
    }
    template <class T>
    [[nodiscard]] ea::mult_model<T> load() const {
        return ea::load_mult<T>(sd, "Model.", std::stoul(io.meta("heads")), options());
    }
    /// MMSA's MULT ignores lengths: full-length sequences.
    template <class T>
    [[nodiscard]] emofuse::sequence<T> input(const std::string& m) const {
        return emofuse::sequence<T>(io.get<T, 3>("input." + m));
    }
};

/// Sample b of x, its first `steps` time steps.
xt::xtensor<double, 3> sample_of(const xt::xtensor<double, 3>& x, std::size_t b,
                                 std::size_t steps) {
    const std::size_t features = x.shape(2);
    xt::xtensor<double, 3> out({1, steps, features});
    std::copy_n(x.data() + b * x.shape(1) * features, steps * features, out.data());
    return out;
}

/// Sets frames [first, last) of sample b to `value`.
void fill_frames(xt::xtensor<double, 3>& x, std::size_t b, std::size_t first, std::size_t last,
                 double value) {
    const std::size_t features = x.shape(2);
    std::fill(x.data() + (b * x.shape(1) + first) * features,
              x.data() + (b * x.shape(1) + last) * features, value);
}

} // namespace

TEST_CASE_TEMPLATE("MulT with MMSA's Conv1d kernels matches MMSA's MULT", T, float, double) {
    // MMSA's MultiheadAttention takes its softmax in float32 (attn_weights.float()) even in a
    // float64 model, so the reference holds float32 rounding: 1e-5 (float), 1e-6 (double).
    const double tolerance = std::is_same_v<T, float> ? 1e-5 : 1e-6;
    for (const char* name : {"mmsa_mult_k5", "mmsa_mult_mixed"}) {
        CAPTURE(name);
        const mmsa_case c(name);
        const auto model = c.load<T>();
        const auto r = model.forward(c.input<T>("text"), c.input<T>("audio"), c.input<T>("vision"));
        check_close(r.prediction, c.io.get<double, 2>("expected.M"), tolerance, name);
        check_close(r.hidden, c.io.get<double, 2>("expected.Feature_f"), tolerance, name);
    }
}

TEST_CASE("load_mult takes the kernel sizes from the weights and skips square projections") {
    const mmsa_case k5("mmsa_mult_k5");
    const auto model = k5.load<float>();
    for (const auto& conv : model.parameters().projections) {
        CHECK(conv.options().kernel_size == 5);
        CHECK(conv.options().padding == 0);
        CHECK(!conv.options().bias);
    }
    // Audio has d = 8 features: MULT stores proj_a (kernel 5) but never applies it.
    const mmsa_case mixed("mmsa_mult_mixed");
    CHECK(mixed.sd.contains("Model.proj_a.weight"));
    const auto mixed_model = mixed.load<float>();
    const auto& p = mixed_model.parameters().projections;
    CHECK(p[0].options().kernel_size == 3);
    CHECK(p[1].empty());
    CHECK(p[2].options().kernel_size == 1);
}

TEST_CASE("a padded sample is projected as if alone at its own length") {
    const mmsa_case c("mmsa_mult_k5");
    // MulT's shifted future mask is built from the padded time axes, so a sample's result
    // depends on its batch's padding with it on; this is about the projection alone.
    auto options = c.options();
    options.mask_future = false;
    const auto model = ea::load_mult<double>(c.sd, "Model.", 2, options);
    auto text = c.io.get<double, 3>("input.text"); // (3, 9, 12)
    auto audio = c.io.get<double, 3>("input.audio");
    auto vision = c.io.get<double, 3>("input.vision");
    // Sample 1 alone, its text cut to 7 steps.
    const std::size_t keep = 7;
    const auto alone =
        model.forward(emofuse::sequence<double>(sample_of(text, 1, keep)),
                      emofuse::sequence<double>(sample_of(audio, 1, audio.shape(1))),
                      emofuse::sequence<double>(sample_of(vision, 1, vision.shape(1))));
    // The same sample in the batch, its text padded with values that must not leak.
    fill_frames(text, 1, keep, 9, std::nan(""));
    const auto batched =
        model.forward(emofuse::sequence<double>(text, {9, keep, 9}),
                      emofuse::sequence<double>(audio), emofuse::sequence<double>(vision));
    CHECK(batched.prediction.shape(1) == 1);
    CHECK(std::abs(batched.prediction(1, 0) - alone.prediction(0, 0)) < 1e-12);
    // A sample shorter than the kernel has no projected step: its text part of h is zero.
    const auto none =
        model.forward(emofuse::sequence<double>(text, {9, 4, 9}), emofuse::sequence<double>(audio),
                      emofuse::sequence<double>(vision));
    for (std::size_t j = 0; j < 16; ++j) {
        CHECK(none.hidden(1, j) == 0.0);
    }
}

TEST_CASE("with a frame mask, a projected step reads only valid frames") {
    const mmsa_case c("mmsa_mult_k5");
    const auto model = c.load<double>();
    auto text = c.io.get<double, 3>("input.text");
    const emofuse::sequence<double> audio(c.io.get<double, 3>("input.audio"));
    const emofuse::sequence<double> vision(c.io.get<double, 3>("input.vision"));
    xt::xtensor<std::uint8_t, 2> valid = xt::ones<std::uint8_t>({3, 9});
    valid(0, 2) = 0; // every window of sample 0 but the last two reads frame 2
    const auto masked =
        model.forward(emofuse::sequence<double>(text, {9, 9, 9}, valid), audio, vision);
    const auto plain = model.forward(emofuse::sequence<double>(text), audio, vision);
    // The dropped frame's value never reaches the output …
    fill_frames(text, 0, 2, 3, std::nan(""));
    const auto poisoned =
        model.forward(emofuse::sequence<double>(text, {9, 9, 9}, valid), audio, vision);
    check_close(poisoned.prediction, masked.prediction, 1e-12, "dropped frame");
    // … and the mask changes sample 0 only.
    CHECK(std::abs(masked.prediction(0, 0) - plain.prediction(0, 0)) > 1e-6);
    for (std::size_t b = 1; b < 3; ++b) {
        CHECK(std::abs(masked.prediction(b, 0) - plain.prediction(b, 0)) < 1e-12);
    }
}

TEST_CASE("load_mult and mult_model name the projection on mismatched shapes") {
    const mmsa_case c("mmsa_mult_k5");
    // proj_l with 6 output channels where the encoders have d = 8.
    emofuse::io::state_dict wrong;
    for (const auto& name : c.sd.names()) {
        if (name != "Model.proj_l.weight") {
            wrong.insert(name, c.sd.at(name));
        }
    }
    wrong.insert("Model.proj_l.weight", xt::xtensor<float, 3>(xt::zeros<float>({6, 12, 5})));
    CHECK_THROWS_WITH_AS((void)ea::load_mult<float>(wrong, "Model.", 2, c.options()),
                         doctest::Contains("'Model.proj_l.weight'"), emofuse::shape_error);
    CHECK_THROWS_WITH_AS((void)ea::load_mult<float>(wrong, "Model.", 2, c.options()),
                         doctest::Contains("expected shape (8, orig_d, kernel_size)"),
                         emofuse::shape_error);
    CHECK_THROWS_WITH_AS((void)ea::load_mult<float>(wrong, "Model.", 2, c.options()),
                         doctest::Contains("got (6, 12, 5)"), emofuse::shape_error);
    // Text shorter than the kernel.
    const auto model = c.load<float>();
    const emofuse::sequence<float> short_text(xt::xtensor<float, 3>(xt::zeros<float>({3, 4, 12})));
    CHECK_THROWS_WITH_AS(
        (void)model.forward(short_text, c.input<float>("audio"), c.input<float>("vision")),
        "attention::mult_model: proj_l over text (4 time steps): encoders::conv1d: input "
        "length: expected at least 5 after padding (dilation·(kernel_size − 1) + 1), got 4",
        emofuse::shape_error);
}
