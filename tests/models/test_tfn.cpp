// MMSA's TFN against the outputs MMSA's own code computed (generate_fixtures.py), its shipped
// state-dict layouts, and bad inputs.
#include "subnet_models_testing.hpp"

#include <emofuse/models/tfn.hpp>

#include <doctest/doctest.h>

namespace {

namespace em = emofuse::models;
namespace smt = subnet_models_testing;

const std::vector<std::string> tfn_keys{"M", "Feature_t", "Feature_a", "Feature_v", "Feature_f"};

template <class T>
void check_tfn_case(em::train_mode mode) {
    auto fx = smt::load_fixture("tfn", "mosi", mode);
    const auto inputs = smt::prepared_inputs<T>(fx.config, fx.inputs);
    const auto model = em::tfn<T>::load(fx.config, fx.weights);
    CHECK(model.output_dim() == fx.config.output_dim());
    const auto outputs = model.forward_with_features(inputs);
    smt::check_outputs(outputs, fx.expected, tfn_keys,
                       mode == em::train_mode::regression ? "tfn regression"
                                                          : "tfn classification");
    const auto plain = model.forward(inputs);
    CHECK(plain.size() == 1);
    CHECK(plain.at("M") == outputs.at("M"));
    // One sample alone gives its row of the batch.
    const auto alone = model.forward(smt::single_sample(inputs, 2));
    for (std::size_t j = 0; j < model.output_dim(); ++j) {
        CHECK(alone.at("M")(0, j) == doctest::Approx(outputs.at("M")(2, j)).epsilon(1e-6));
    }
}

} // namespace

TEST_CASE("tfn: MMSA's outputs and features, regression and classification, float and double") {
    check_tfn_case<float>(em::train_mode::regression);
    check_tfn_case<float>(em::train_mode::classification);
    check_tfn_case<double>(em::train_mode::regression);
    check_tfn_case<double>(em::train_mode::classification);
}

TEST_CASE("tfn: regression maps through the checkpoint's output_range and output_shift") {
    auto fx = smt::load_fixture("tfn", "mosi", em::train_mode::regression);
    const auto inputs = smt::prepared_inputs<double>(fx.config, fx.inputs);
    const auto reference = em::tfn<double>::load(fx.config, fx.weights).forward(inputs).at("M");
    auto changed = smt::with_tensor(fx.weights, "Model.output_range", xt::xtensor<float, 1>{2.0f});
    changed = smt::with_tensor(changed, "Model.output_shift", xt::xtensor<float, 1>{0.5f});
    const auto moved = em::tfn<double>::load(fx.config, changed).forward(inputs).at("M");
    for (std::size_t i = 0; i < reference.size(); ++i) {
        const double sigmoid = (reference(i, 0) + 3.0) / 6.0;
        CHECK(moved(i, 0) == doctest::Approx(sigmoid * 2.0 + 0.5).epsilon(1e-12));
    }
}

TEST_CASE("tfn: every shipped configuration's state dict loads; missing, extra, mis-shaped fail") {
    smt::check_state_dict_manifest(
        "tfn", "Model.output_shift", "Model.audio_subnet.linear_1.weight",
        [](const em::mmsa_config& config, const emofuse::io::state_dict& sd) {
            static_cast<void>(em::tfn<float>::load(config, sd));
        });
}

TEST_CASE("tfn: bad inputs are shape errors naming the modality") {
    auto fx = smt::load_fixture("tfn", "mosi", em::train_mode::classification);
    const auto inputs = smt::prepared_inputs<float>(fx.config, fx.inputs);
    const auto model = em::tfn<float>::load(fx.config, fx.weights);

    auto narrow = inputs;
    narrow.text = xt::zeros<float>({inputs.text.shape(0), inputs.text.shape(1), std::size_t{15}});
    CHECK_THROWS_WITH_AS(model.forward(narrow), doctest::Contains("text input"),
                         emofuse::shape_error);

    auto short_batch = inputs;
    short_batch.vision = xt::zeros<float>({std::size_t{3}, std::size_t{1}, inputs.vision.shape(2)});
    CHECK_THROWS_WITH_AS(model.forward(short_batch), doctest::Contains("vision input"),
                         emofuse::shape_error);

    auto unaveraged = inputs;
    unaveraged.audio =
        xt::zeros<float>({inputs.audio.shape(0), std::size_t{5}, inputs.audio.shape(2)});
    CHECK_THROWS_WITH_AS(model.forward(unaveraged), doctest::Contains("need_normalized"),
                         emofuse::shape_error);
}
