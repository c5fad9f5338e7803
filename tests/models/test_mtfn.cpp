// MMSA's MTFN against the outputs MMSA's own code computed (generate_fixtures.py), its shipped
// state-dict layouts, and bad inputs.
#include "subnet_models_testing.hpp"

#include <emofuse/models/mtfn.hpp>

#include <doctest/doctest.h>

namespace {

namespace em = emofuse::models;
namespace smt = subnet_models_testing;

const std::vector<std::string> mtfn_keys{"M",         "T",         "A",         "V",
                                         "Feature_t", "Feature_a", "Feature_v", "Feature_f"};

template <class T>
void check_mtfn_case(em::train_mode mode) {
    auto fx = smt::load_fixture("mtfn", "sims", mode);
    const auto inputs = smt::prepared_inputs<T>(fx.config, fx.inputs);
    const auto model = em::mtfn<T>::load(fx.config, fx.weights);
    CHECK(model.output_dim() == fx.config.output_dim());
    const auto outputs = model.forward_with_features(inputs);
    smt::check_outputs(outputs, fx.expected, mtfn_keys,
                       mode == em::train_mode::regression ? "mtfn regression"
                                                          : "mtfn classification");
    const auto plain = model.forward(inputs);
    CHECK(plain.size() == 4);
    // One sample alone gives its row of the batch (MMSA's own MTFN fails on a batch of one).
    const auto alone = model.forward(smt::single_sample(inputs, 2));
    for (const char* key : {"M", "T", "A", "V"}) {
        CHECK(plain.at(key) == outputs.at(key));
        for (std::size_t j = 0; j < model.output_dim(); ++j) {
            CHECK(alone.at(key)(0, j) == doctest::Approx(outputs.at(key)(2, j)).epsilon(1e-6));
        }
    }
}

} // namespace

TEST_CASE("mtfn: MMSA's outputs and features, regression and classification, float and double") {
    check_mtfn_case<float>(em::train_mode::regression);
    check_mtfn_case<float>(em::train_mode::classification);
    check_mtfn_case<double>(em::train_mode::regression);
    check_mtfn_case<double>(em::train_mode::classification);
}

TEST_CASE("mtfn: regression maps M (only) through the checkpoint's output_range and output_shift") {
    auto fx = smt::load_fixture("mtfn", "sims", em::train_mode::regression);
    const auto inputs = smt::prepared_inputs<double>(fx.config, fx.inputs);
    const auto all = em::mtfn<double>::load(fx.config, fx.weights).forward(inputs);
    const auto& reference = all.at("M");
    auto changed = smt::with_tensor(fx.weights, "Model.output_range", xt::xtensor<float, 1>{2.0f});
    changed = smt::with_tensor(changed, "Model.output_shift", xt::xtensor<float, 1>{0.5f});
    const auto moved_all = em::mtfn<double>::load(fx.config, changed).forward(inputs);
    const auto& moved = moved_all.at("M");
    // The unimodal outputs are never range-mapped.
    for (const char* key : {"T", "A", "V"}) {
        CHECK(moved_all.at(key) == all.at(key));
    }
    for (std::size_t i = 0; i < reference.size(); ++i) {
        const double sigmoid = (reference(i, 0) + 3.0) / 6.0;
        CHECK(moved(i, 0) == doctest::Approx(sigmoid * 2.0 + 0.5).epsilon(1e-12));
    }
}

TEST_CASE("mtfn: every shipped configuration's state dict loads; missing, extra, mis-shaped fail") {
    smt::check_state_dict_manifest(
        "mtfn", "Model.post_video_layer_2.bias", "Model.post_text_layer_1.weight",
        [](const em::mmsa_config& config, const emofuse::io::state_dict& sd) {
            static_cast<void>(em::mtfn<float>::load(config, sd));
        });
}

TEST_CASE("mtfn: bad inputs are shape errors naming the modality") {
    auto fx = smt::load_fixture("mtfn", "sims", em::train_mode::classification);
    const auto inputs = smt::prepared_inputs<float>(fx.config, fx.inputs);
    const auto model = em::mtfn<float>::load(fx.config, fx.weights);

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
