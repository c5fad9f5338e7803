// MMSA's MLF_DNN against the outputs MMSA's own code computed (generate_fixtures.py), its shipped
// state-dict layouts, and bad inputs.
#include "subnet_models_testing.hpp"

#include <emofuse/models/mlf_dnn.hpp>

#include <doctest/doctest.h>

namespace {

namespace em = emofuse::models;
namespace smt = subnet_models_testing;

const std::vector<std::string> mlf_dnn_keys{"M",         "T",         "A",         "V",
                                            "Feature_t", "Feature_a", "Feature_v", "Feature_f"};

template <class T>
void check_mlf_dnn_case(em::train_mode mode) {
    auto fx = smt::load_fixture("mlf_dnn", "sims", mode);
    const auto inputs = smt::prepared_inputs<T>(fx.config, fx.inputs);
    const auto model = em::mlf_dnn<T>::load(fx.config, fx.weights);
    CHECK(model.output_dim() == fx.config.output_dim());
    const auto outputs = model.forward_with_features(inputs);
    smt::check_outputs(outputs, fx.expected, mlf_dnn_keys,
                       mode == em::train_mode::regression ? "mlf_dnn regression"
                                                          : "mlf_dnn classification");
    const auto plain = model.forward(inputs);
    CHECK(plain.size() == 4);
    // One sample alone gives its row of the batch (MMSA's own model fails on a batch of one).
    const auto alone = model.forward(smt::single_sample(inputs, 2));
    for (const char* key : {"M", "T", "A", "V"}) {
        CHECK(plain.at(key) == outputs.at(key));
        for (std::size_t j = 0; j < model.output_dim(); ++j) {
            CHECK(alone.at(key)(0, j) == doctest::Approx(outputs.at(key)(2, j)).epsilon(1e-6));
        }
    }
}

} // namespace

TEST_CASE("mlf_dnn: MMSA's outputs and features, regression and classification, float and double") {
    check_mlf_dnn_case<float>(em::train_mode::regression);
    check_mlf_dnn_case<float>(em::train_mode::classification);
    check_mlf_dnn_case<double>(em::train_mode::regression);
    check_mlf_dnn_case<double>(em::train_mode::classification);
}

TEST_CASE("mlf_dnn: post_fusion_layer_3's bias adds to M unchanged, in both modes") {
    for (const auto mode : {em::train_mode::regression, em::train_mode::classification}) {
        auto fx = smt::load_fixture("mlf_dnn", "sims", mode);
        const auto inputs = smt::prepared_inputs<double>(fx.config, fx.inputs);
        const auto reference =
            em::mlf_dnn<double>::load(fx.config, fx.weights).forward(inputs).at("M");
        auto bias = fx.weights.tensor<float, 1>("Model.post_fusion_layer_3.bias");
        bias += 1.0f; // rounded to float: the check allows that rounding
        const auto moved =
            em::mlf_dnn<double>::load(
                fx.config, smt::with_tensor(fx.weights, "Model.post_fusion_layer_3.bias", bias))
                .forward(inputs)
                .at("M");
        for (std::size_t i = 0; i < reference.size(); ++i) {
            CHECK(moved.data()[i] == doctest::Approx(reference.data()[i] + 1.0).epsilon(1e-7));
        }
    }
}

TEST_CASE(
    "mlf_dnn: every shipped configuration's state dict loads; missing, extra, mis-shaped fail") {
    smt::check_state_dict_manifest(
        "mlf_dnn", "Model.post_text_layer_2.bias", "Model.post_video_layer_1.weight",
        [](const em::mmsa_config& config, const emofuse::io::state_dict& sd) {
            static_cast<void>(em::mlf_dnn<float>::load(config, sd));
        });
}

TEST_CASE("mlf_dnn: bad inputs are shape errors naming the modality") {
    auto fx = smt::load_fixture("mlf_dnn", "sims", em::train_mode::classification);
    const auto inputs = smt::prepared_inputs<float>(fx.config, fx.inputs);
    const auto model = em::mlf_dnn<float>::load(fx.config, fx.weights);

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
