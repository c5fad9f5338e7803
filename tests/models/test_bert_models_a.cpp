// MMSA's BERT-era models of part a (Self-MM, MMIM, MISA, MulT with use_bert) against the outputs
// MMSA's own code computed with a stand-in BERT (generate_bert_fixtures.py), their checkpoints'
// missing, extra and mis-shaped tensors, and bad text_bert rows and lengths. One table row per
// model; every test case runs for each row.
#include "subnet_models_testing.hpp"

#include <emofuse/io/load_state_dict.hpp>
#include <emofuse/models/misa.hpp>
#include <emofuse/models/mmim.hpp>
#include <emofuse/models/mult.hpp>
#include <emofuse/models/self_mm.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

namespace {

namespace em = emofuse::models;
namespace smt = subnet_models_testing;

struct mult_bert_row {
    template <class T>
    using model = em::mult<T>;
    static constexpr const char* name = "mult";
    static std::vector<std::string> cases() { return {"mosi_bert"}; }
    static std::vector<std::string> heads() { return {"M"}; }
    static std::vector<std::string> keys() {
        return {"M", "Feature_t", "Feature_a", "Feature_v", "Feature_f"};
    }
    static constexpr const char* removed =
        "Model.text_model.model.encoder.layer.1.output.dense.bias";
    static constexpr const char* reshaped =
        "Model.text_model.model.encoder.layer.0.attention.self.query.weight";
    /// MMSA's float64 MULT rounds every attention probability to float32 (multihead_attention.py
    /// takes F.softmax(attn_weights.float(), ...)), so its float64 outputs are float32-accurate
    /// there (see docs/models.md, mult).
    static constexpr double double_tolerance = 1e-6;
};

struct self_mm_row {
    template <class T>
    using model = em::self_mm<T>;
    static constexpr const char* name = "self_mm";
    static std::vector<std::string> cases() { return {"mosi", "mosi_aligned"}; }
    static std::vector<std::string> heads() { return {"M", "T", "A", "V"}; }
    static std::vector<std::string> keys() {
        return {"M", "T", "A", "V", "Feature_t", "Feature_a", "Feature_v", "Feature_f"};
    }
    static constexpr const char* removed = "Model.audio_model.rnn.bias_hh_l0";
    static constexpr const char* reshaped = "Model.post_video_layer_2.weight";
    static constexpr double double_tolerance = 1e-10;
};

struct mmim_row {
    template <class T>
    using model = em::mmim<T>;
    static constexpr const char* name = "mmim";
    static std::vector<std::string> cases() { return {"mosi", "mosi_unidirectional"}; }
    static std::vector<std::string> heads() { return {"M"}; }
    static std::vector<std::string> keys() {
        return {"M", "Feature_t", "Feature_a", "Feature_v", "Feature_f", "lld", "nce"};
    }
    static constexpr const char* removed = "Model.cpc_za.net.bias";
    static constexpr const char* reshaped = "Model.visual_enc.linear_1.weight";
    static constexpr double double_tolerance = 1e-10;
};

struct misa_row {
    template <class T>
    using model = em::misa<T>;
    static constexpr const char* name = "misa";
    static std::vector<std::string> cases() { return {"mosi"}; }
    static std::vector<std::string> heads() { return {"M"}; }
    static std::vector<std::string> keys() { return {"M"}; }
    static constexpr const char* removed = "Model.recon_a.recon_a_1.weight";
    static constexpr const char* reshaped = "Model.private_a.private_a_3.weight";
    static constexpr double double_tolerance = 1e-10;
};

/// A case's checkpoint. MISA's 768-wide BERT makes its checkpoints large: the regression case
/// is committed as MMSA saves it (.pth only), and the classification case, whose BERT is the
/// same (generate_bert_fixtures.py: share_bert), as its other tensors
/// (<stem>.nobert.safetensors) to which the regression file's BERT tensors are added.
emofuse::io::state_dict checkpoint(const std::string& model, const std::string& stem,
                                   em::train_mode mode) {
    if (model != "misa") {
        return emofuse::io::load_state_dict(smt::data_path(stem + ".safetensors"));
    }
    if (mode == em::train_mode::regression) {
        return emofuse::io::load_state_dict(smt::data_path(stem + ".pth"));
    }
    auto assembled = emofuse::io::load_state_dict(smt::data_path(stem + ".nobert.safetensors"));
    const std::string full = stem.substr(0, stem.rfind('_')) + "_regression.pth";
    const auto shared = emofuse::io::load_state_dict(smt::data_path(full));
    for (const auto& [name, stored] : shared) {
        if (name.starts_with("Model.bertmodel.")) {
            assembled.insert(name, stored);
        }
    }
    return assembled;
}

/// One fixture case <model>_<case>_<mode>.
smt::fixture load_case(const std::string& model, const std::string& name, em::train_mode mode) {
    const std::string stem = model + "_" + name + "_" +
                             (mode == em::train_mode::regression ? "regression" : "classification");
    const std::string dataset = name.substr(0, name.find('_'));
    return {em::mmsa_config::load(smt::data_path(stem + ".config.json"), model, dataset, mode),
            checkpoint(model, stem, mode),
            emofuse::io::load_npz(smt::data_path(stem + ".inputs.npz")),
            emofuse::io::load_npz(smt::data_path(stem + ".expected.npz"))};
}

std::vector<std::size_t> lengths_of(const emofuse::io::state_dict& raw, const std::string& key) {
    const auto values = raw.tensor<std::int64_t, 1>(key);
    return {values.begin(), values.end()};
}

/// text_bert, audio, vision and — on unaligned data, as MMSA's loader passes them — the
/// lengths, through MMSA's data-loader steps (in float32, as MMSA's loader; converted for
/// double).
template <class T>
em::mmsa_batch<T> prepared(em::mmsa_config& config, const emofuse::io::state_dict& raw) {
    em::mmsa_batch<float> batch{raw.tensor<float, 3>("text_bert"), raw.tensor<float, 3>("audio"),
                                raw.tensor<float, 3>("vision")};
    if (!config.flag("need_data_aligned")) {
        batch.audio_lengths = lengths_of(raw, "audio_lengths");
        batch.vision_lengths = lengths_of(raw, "vision_lengths");
    }
    auto ready = em::prepare_mmsa_inputs(config, batch);
    if constexpr (std::is_same_v<T, float>) {
        return ready;
    } else {
        auto convert = [](const xt::xtensor<float, 3>& x) {
            xt::xtensor<T, 3> y = xt::xtensor<T, 3>::from_shape(x.shape());
            std::copy(x.begin(), x.end(), y.begin());
            return y;
        };
        return {convert(ready.text), convert(ready.audio), convert(ready.vision),
                ready.audio_lengths, ready.vision_lengths};
    }
}

/// Sample `row` alone, lengths included.
template <class T>
em::mmsa_batch<T> one_sample(const em::mmsa_batch<T>& batch, std::size_t row) {
    auto alone = smt::single_sample(batch, row);
    if (!batch.audio_lengths.empty()) {
        alone.audio_lengths = {batch.audio_lengths[row]};
        alone.vision_lengths = {batch.vision_lengths[row]};
    }
    return alone;
}

/// Every key within tolerance·(1 + |expected|) of MMSA's (float: its float32 run; double: its
/// float64 run, `<key>_f64`), same element count, no NaN; reports the largest error per key
/// (shown with doctest's -s). MMSA's 0-d lld/nce compare with the (1, 1) outputs.
template <class T>
void check_outputs(const em::mmsa_outputs<T>& outputs, const emofuse::io::state_dict& expected,
                   const std::vector<std::string>& keys, const std::string& label,
                   double tolerance) {
    for (const auto& key : keys) {
        const auto found = outputs.find(key);
        REQUIRE_MESSAGE(found != outputs.end(), "the model returned no " << key);
        const std::string name = sizeof(T) == 4 ? key : key + "_f64";
        const auto values = smt::stored_values(expected, name);
        const auto& actual = found->second;
        REQUIRE_MESSAGE(values.size() == actual.size(), label << " " << name);
        double worst = 0;
        for (std::size_t i = 0; i < values.size(); ++i) {
            const double error = std::abs(static_cast<double>(actual.data()[i]) - values[i]);
            const bool ok = error <= tolerance * (1 + std::abs(values[i])); // false for NaN
            CHECK_MESSAGE(ok, label << " " << name << "[" << i << "]: got " << actual.data()[i]
                                    << ", expected " << values[i]);
            worst = std::max(worst, error);
        }
        MESSAGE(label << std::string(sizeof(T) == 4 ? " float " : " double ") << key
                      << " max |error| = " << worst);
    }
}

template <class Row>
std::string label(const std::string& name, em::train_mode mode) {
    return std::string(Row::name) + "_" + name +
           (mode == em::train_mode::regression ? " regression" : " classification");
}

template <class Row, class T>
void check_case(const std::string& name, em::train_mode mode) {
    auto fx = load_case(Row::name, name, mode);
    const auto inputs = prepared<T>(fx.config, fx.inputs);
    const auto model = Row::template model<T>::load(fx.config, fx.weights);
    const auto outputs = model.forward_with_features(inputs);
    check_outputs(outputs, fx.expected, Row::keys(), label<Row>(name, mode),
                  sizeof(T) == 4 ? 1e-5 : Row::double_tolerance);
    const auto plain = model.forward(inputs);
    CHECK(plain.size() == Row::heads().size());
    // One sample alone gives its row of the batch.
    const auto alone = model.forward(one_sample(inputs, 1));
    for (const auto& key : Row::heads()) {
        REQUIRE(plain.count(key) == 1);
        CHECK(plain.at(key) == outputs.at(key));
        CHECK(plain.at(key).shape(1) == model.output_dim());
        for (std::size_t j = 0; j < model.output_dim(); ++j) {
            CHECK(alone.at(key)(0, j) == doctest::Approx(outputs.at(key)(1, j)).epsilon(1e-5));
        }
    }
}

/// A copy of `sd` without `name`, or with one more tensor.
emofuse::io::state_dict without(const emofuse::io::state_dict& sd, const std::string& name) {
    emofuse::io::state_dict copy(std::string(sd.source()));
    for (const auto& [entry, stored] : sd) {
        if (entry != name) {
            copy.insert(entry, stored);
        }
    }
    return copy;
}

} // namespace

TYPE_TO_STRING_AS("mult (use_bert)", mult_bert_row);
TYPE_TO_STRING_AS("self_mm", self_mm_row);
TYPE_TO_STRING_AS("mmim", mmim_row);
TYPE_TO_STRING_AS("misa", misa_row);

TEST_CASE_TEMPLATE("bert models a: MMSA's outputs and features, both modes, float and double", Row,
                   mult_bert_row, self_mm_row, mmim_row, misa_row) {
    for (const auto& name : Row::cases()) {
        for (const auto mode : {em::train_mode::regression, em::train_mode::classification}) {
            check_case<Row, float>(name, mode);
            check_case<Row, double>(name, mode);
        }
    }
}

TEST_CASE_TEMPLATE("bert models a: missing, extra and mis-shaped tensors are errors naming them",
                   Row, mult_bert_row, self_mm_row, mmim_row, misa_row) {
    const auto fx = load_case(Row::name, Row::cases().front(), em::train_mode::regression);
    using model = typename Row::template model<float>;
    CHECK_THROWS_WITH(static_cast<void>(model::load(fx.config, without(fx.weights, Row::removed))),
                      doctest::Contains(Row::removed));

    auto extra = fx.weights;
    extra.insert("Model.unexpected.weight", xt::xtensor<float, 1>{1.0f, 2.0f});
    CHECK_THROWS_WITH_AS(static_cast<void>(model::load(fx.config, extra)),
                         doctest::Contains("Model.unexpected.weight"), emofuse::value_error);

    const auto& stored = fx.weights.at(Row::reshaped);
    std::vector<std::size_t> shape = stored.shape;
    shape.back() += 1;
    emofuse::io::stored_tensor wider;
    wider.type = stored.type;
    wider.shape = shape;
    std::size_t count = 1;
    for (const auto extent : shape) {
        count *= extent;
    }
    wider.bytes.assign(count * emofuse::io::dtype_size(wider.type), std::byte{0});
    auto reshaped = without(fx.weights, Row::reshaped);
    reshaped.insert(Row::reshaped, std::move(wider));
    CHECK_THROWS_WITH_AS(static_cast<void>(model::load(fx.config, reshaped)),
                         doctest::Contains(Row::reshaped), emofuse::shape_error);
}

TEST_CASE_TEMPLATE("bert models a: bad text_bert rows are clear errors", Row, mult_bert_row,
                   self_mm_row, mmim_row, misa_row) {
    auto fx = load_case(Row::name, Row::cases().front(), em::train_mode::regression);
    const auto inputs = prepared<float>(fx.config, fx.inputs);
    const auto model = Row::template model<float>::load(fx.config, fx.weights);

    auto fractional = inputs;
    fractional.text(0, 0, 1) = 5.5f;
    CHECK_THROWS_WITH_AS(static_cast<void>(model.forward(fractional)),
                         doctest::Contains("whole number"), emofuse::value_error);

    auto out_of_vocabulary = inputs;
    out_of_vocabulary.text(1, 0, 2) = 100000.0f;
    CHECK_THROWS_WITH(static_cast<void>(model.forward(out_of_vocabulary)),
                      doctest::Contains("vocab_size"));

    auto rows = inputs;
    rows.text = xt::zeros<float>({inputs.text.shape(0), std::size_t{2}, inputs.text.shape(2)});
    CHECK_THROWS_WITH_AS(static_cast<void>(model.forward(rows)), doctest::Contains(Row::name),
                         emofuse::shape_error);

    auto narrow = inputs;
    narrow.audio = xt::zeros<float>({inputs.audio.shape(0), inputs.audio.shape(1), std::size_t{2}});
    CHECK_THROWS_WITH_AS(static_cast<void>(model.forward(narrow)), doctest::Contains("audio"),
                         emofuse::shape_error);
}

TEST_CASE_TEMPLATE("bert models a: unaligned inputs need their lengths, each in [1, steps]", Row,
                   self_mm_row, mmim_row) {
    auto fx = load_case(Row::name, "mosi", em::train_mode::regression);
    const auto inputs = prepared<double>(fx.config, fx.inputs);
    const auto model = Row::template model<double>::load(fx.config, fx.weights);

    auto missing = inputs;
    missing.vision_lengths.clear();
    CHECK_THROWS_WITH_AS(static_cast<void>(model.forward(missing)),
                         doctest::Contains("vision_lengths"), emofuse::value_error);
    auto zero = inputs;
    zero.audio_lengths[2] = 0;
    CHECK_THROWS_WITH_AS(static_cast<void>(model.forward(zero)),
                         doctest::Contains("audio_lengths[2]"), emofuse::value_error);
    // The lengths matter: a shorter one changes that sample only.
    auto shorter = inputs;
    shorter.audio_lengths[0] -= 1;
    const auto reference = model.forward(inputs).at("M");
    const auto changed = model.forward(shorter).at("M");
    CHECK(changed(0, 0) != reference(0, 0));
    CHECK(changed(1, 0) == reference(1, 0));
}

TEST_CASE("bert models a: MISA packs audio and vision with the text's lengths") {
    auto fx = load_case("misa", "mosi", em::train_mode::regression);
    const auto inputs = prepared<double>(fx.config, fx.inputs);
    const auto model = em::misa<double>::load(fx.config, fx.weights);
    const auto reference = model.forward(inputs).at("M");
    // audio_lengths/vision_lengths are not read (MISA.py ignores them) ...
    auto other_lengths = inputs;
    other_lengths.audio_lengths = {1, 1, 1, 1};
    other_lengths.vision_lengths = {};
    CHECK(model.forward(other_lengths).at("M") == reference);
    // ... the frames past the text's length are not read either (sample 3 has 2 tokens) ...
    auto late_frames = inputs;
    for (std::size_t t = 2; t < late_frames.audio.shape(1); ++t) {
        late_frames.audio(3, t, 0) += 1.0;
    }
    const auto moved = model.forward(late_frames).at("M");
    CHECK(moved == reference);
    // ... and a text longer than the audio is refused with the reason.
    auto short_audio = inputs;
    short_audio.audio =
        xt::zeros<double>({inputs.audio.shape(0), std::size_t{8}, inputs.audio.shape(2)});
    CHECK_THROWS_WITH_AS(static_cast<void>(model.forward(short_audio)),
                         doctest::Contains("with the text's lengths"), emofuse::shape_error);
}

TEST_CASE("bert models a: on aligned data Self-MM takes its lengths from the BERT mask") {
    auto fx = load_case("self_mm", "mosi_aligned", em::train_mode::regression);
    const auto inputs = prepared<double>(fx.config, fx.inputs);
    const auto model = em::self_mm<double>::load(fx.config, fx.weights);
    const auto reference = model.forward(inputs).at("A");
    auto given = inputs;
    given.audio_lengths = {1, 1, 1, 1};
    given.vision_lengths = {1, 1, 1, 1};
    CHECK(model.forward(given).at("A") == reference);
    // A shorter mask shortens the audio sequence of that sample.
    auto masked = inputs;
    masked.text(0, 1, masked.text.shape(2) - 1) = 0.0;
    const auto changed = model.forward(masked).at("A");
    CHECK(changed(0, 0) != reference(0, 0));
    CHECK(changed(1, 0) == reference(1, 0));
    auto empty = inputs;
    for (std::size_t t = 0; t < empty.text.shape(2); ++t) {
        empty.text(2, 1, t) = 0.0;
    }
    CHECK_THROWS_WITH_AS(static_cast<void>(model.forward(empty)),
                         doctest::Contains("no real token"), emofuse::value_error);
}

TEST_CASE("bert models a: configurations MMSA's code cannot run are refused with the reason") {
    auto self_mm = load_case("self_mm", "mosi", em::train_mode::regression);
    auto layers = self_mm.config;
    layers.set("a_lstm_layers", 2);
    CHECK_THROWS_WITH_AS(static_cast<void>(em::self_mm<float>::load(layers, self_mm.weights)),
                         doctest::Contains("a_lstm_layers is 2"), emofuse::value_error);
    auto text_out = self_mm.config;
    text_out.set("text_out", 768);
    CHECK_THROWS_WITH_AS(static_cast<void>(em::self_mm<float>::load(text_out, self_mm.weights)),
                         doctest::Contains("text_out is 768"), emofuse::value_error);
    // The head count is not in a checkpoint: 32 is no multiple of 64, so it must be given.
    auto heads = nlohmann::json(self_mm.config.arguments());
    heads.erase("bert_num_attention_heads");
    const auto no_heads = em::mmsa_config::from_merged(heads, em::train_mode::regression);
    CHECK_THROWS_WITH_AS(static_cast<void>(em::self_mm<float>::load(no_heads, self_mm.weights)),
                         doctest::Contains("bert_num_attention_heads"), emofuse::value_error);

    auto mmim = load_case("mmim", "mosi_unidirectional", em::train_mode::regression);
    auto stacked = mmim.config;
    stacked.set("n_layer", 2);
    CHECK_THROWS_WITH_AS(static_cast<void>(em::mmim<float>::load(stacked, mmim.weights)),
                         doctest::Contains("n_layer is 2 with bidirectional false"),
                         emofuse::value_error);
    auto activation = mmim.config;
    activation.set("cpc_activation", "Softsign");
    CHECK_THROWS_WITH_AS(static_cast<void>(em::mmim<float>::load(activation, mmim.weights)),
                         doctest::Contains("cpc_activation is 'Softsign'"), emofuse::value_error);

    auto mult = load_case("mult", "mosi_bert", em::train_mode::regression);
    auto width = mult.config;
    width.set("feature_dims", nlohmann::json::array({768, 5, 7}));
    CHECK_THROWS_WITH_AS(static_cast<void>(em::mult<float>::load(width, mult.weights)),
                         doctest::Contains("feature_dims[0]"), emofuse::value_error);
}

TEST_CASE("bert models a: the loader steps on text_bert and the lengths") {
    auto fx = load_case("self_mm", "mosi", em::train_mode::regression);
    auto config = fx.config;
    const auto inputs = prepared<float>(config, fx.inputs);
    // MMDataset.get_seq_len: with use_bert the text's length is text_bert's last extent.
    CHECK(config.seq_lens()[0] == inputs.text.shape(2));
    CHECK(inputs.text.shape(1) == 3);

    em::mmsa_batch<float> raw{fx.inputs.tensor<float, 3>("text_bert"),
                              fx.inputs.tensor<float, 3>("audio"),
                              fx.inputs.tensor<float, 3>("vision")};
    raw.audio_lengths = {1, 2, 3};
    auto copy = fx.config;
    CHECK_THROWS_WITH_AS(static_cast<void>(em::prepare_mmsa_inputs(copy, raw)),
                         doctest::Contains("audio_lengths holds 3 lengths for 4 samples"),
                         emofuse::shape_error);
    raw.audio_lengths = {1, 2, 3, 1000};
    CHECK_THROWS_WITH_AS(static_cast<void>(em::prepare_mmsa_inputs(copy, raw)),
                         doctest::Contains("audio_lengths[3] is 1000"), emofuse::shape_error);
}
