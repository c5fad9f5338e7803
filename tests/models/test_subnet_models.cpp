// MMSA's models on the SubNet/TextSubNet front (TFN, LMF, LF_DNN and their multi-task twins
// MTFN, MLMF, MLF_DNN) against the outputs MMSA's own code computed (generate_fixtures.py),
// their shipped state-dict layouts, and bad inputs. One table row per model; every test case
// runs for each row it applies to.
#include "subnet_models_testing.hpp"

#include <emofuse/models/lf_dnn.hpp>
#include <emofuse/models/lmf.hpp>
#include <emofuse/models/mlf_dnn.hpp>
#include <emofuse/models/mlmf.hpp>
#include <emofuse/models/mtfn.hpp>
#include <emofuse/models/tfn.hpp>

#include <doctest/doctest.h>

#include <cstddef>
#include <string>
#include <vector>

namespace {

namespace em = emofuse::models;
namespace smt = subnet_models_testing;

/// The fields every row has: MMSA's model name, the fixtures' dataset, the heads `forward`
/// returns, and the tensors the manifest check removes and mis-shapes.
struct single_task_row {
    static std::vector<std::string> heads() { return {"M"}; }
    static std::vector<std::string> keys() {
        return {"M", "Feature_t", "Feature_a", "Feature_v", "Feature_f"};
    }
    static constexpr const char* dataset = "mosi";
};

struct multi_task_row {
    static std::vector<std::string> heads() { return {"M", "T", "A", "V"}; }
    static std::vector<std::string> keys() {
        return {"M", "T", "A", "V", "Feature_t", "Feature_a", "Feature_v", "Feature_f"};
    }
    static constexpr const char* dataset = "sims";
};

struct tfn_row : single_task_row {
    template <class T>
    using model = em::tfn<T>;
    static constexpr const char* name = "tfn";
    static constexpr const char* removed = "Model.output_shift";
    static constexpr const char* reshaped = "Model.audio_subnet.linear_1.weight";
};

struct lmf_row : single_task_row {
    template <class T>
    using model = em::lmf<T>;
    static constexpr const char* name = "lmf";
    static constexpr const char* removed = "Model.fusion_bias";
    static constexpr const char* reshaped = "Model.text_factor";
    /// The last bias before M (MMSA maps no output range).
    static constexpr const char* output_bias = "Model.fusion_bias";
    static constexpr std::size_t output_bias_rank = 2;
};

struct lf_dnn_row : single_task_row {
    template <class T>
    using model = em::lf_dnn<T>;
    static constexpr const char* name = "lf_dnn";
    static constexpr const char* removed = "Model.post_fusion_layer_3.bias";
    static constexpr const char* reshaped = "Model.post_fusion_layer_1.weight";
    static constexpr const char* output_bias = "Model.post_fusion_layer_3.bias";
    static constexpr std::size_t output_bias_rank = 1;
};

struct mtfn_row : multi_task_row {
    template <class T>
    using model = em::mtfn<T>;
    static constexpr const char* name = "mtfn";
    static constexpr const char* removed = "Model.post_video_layer_2.bias";
    static constexpr const char* reshaped = "Model.post_text_layer_1.weight";
};

struct mlmf_row : multi_task_row {
    template <class T>
    using model = em::mlmf<T>;
    static constexpr const char* name = "mlmf";
    static constexpr const char* removed = "Model.post_audio_layer_3.weight";
    static constexpr const char* reshaped = "Model.text_factor";
    static constexpr const char* output_bias = "Model.fusion_bias";
    static constexpr std::size_t output_bias_rank = 2;
};

struct mlf_dnn_row : multi_task_row {
    template <class T>
    using model = em::mlf_dnn<T>;
    static constexpr const char* name = "mlf_dnn";
    static constexpr const char* removed = "Model.post_text_layer_2.bias";
    static constexpr const char* reshaped = "Model.post_video_layer_1.weight";
    static constexpr const char* output_bias = "Model.post_fusion_layer_3.bias";
    static constexpr std::size_t output_bias_rank = 1;
};

template <class Row, class T>
void check_fixture_case(em::train_mode mode) {
    const std::string name = Row::name;
    auto fx = smt::load_fixture(name, Row::dataset, mode);
    const auto inputs = smt::prepared_inputs<T>(fx.config, fx.inputs);
    const auto model = Row::template model<T>::load(fx.config, fx.weights);
    CHECK(model.output_dim() == fx.config.output_dim());
    const auto outputs = model.forward_with_features(inputs);
    smt::check_outputs(
        outputs, fx.expected, Row::keys(),
        name + (mode == em::train_mode::regression ? " regression" : " classification"));
    const auto plain = model.forward(inputs);
    const auto heads = Row::heads();
    CHECK(plain.size() == heads.size());
    // One sample alone gives its row of the batch (MMSA's own multi-task models fail on a batch
    // of one).
    const auto alone = model.forward(smt::single_sample(inputs, 2));
    for (const auto& key : heads) {
        CHECK(plain.at(key) == outputs.at(key));
        for (std::size_t j = 0; j < model.output_dim(); ++j) {
            CHECK(alone.at(key)(0, j) == doctest::Approx(outputs.at(key)(2, j)).epsilon(1e-6));
        }
    }
}

} // namespace

TYPE_TO_STRING_AS("tfn", tfn_row);
TYPE_TO_STRING_AS("lmf", lmf_row);
TYPE_TO_STRING_AS("lf_dnn", lf_dnn_row);
TYPE_TO_STRING_AS("mtfn", mtfn_row);
TYPE_TO_STRING_AS("mlmf", mlmf_row);
TYPE_TO_STRING_AS("mlf_dnn", mlf_dnn_row);

TEST_CASE_TEMPLATE("subnet models: MMSA's outputs and features, both modes, float and double", Row,
                   tfn_row, lmf_row, lf_dnn_row, mtfn_row, mlmf_row, mlf_dnn_row) {
    check_fixture_case<Row, float>(em::train_mode::regression);
    check_fixture_case<Row, float>(em::train_mode::classification);
    check_fixture_case<Row, double>(em::train_mode::regression);
    check_fixture_case<Row, double>(em::train_mode::classification);
}

TEST_CASE_TEMPLATE("subnet models: regression maps M (only) through output_range and output_shift",
                   Row, tfn_row, mtfn_row) {
    using model = typename Row::template model<double>;
    auto fx = smt::load_fixture(Row::name, Row::dataset, em::train_mode::regression);
    const auto inputs = smt::prepared_inputs<double>(fx.config, fx.inputs);
    const auto all = model::load(fx.config, fx.weights).forward(inputs);
    const auto& reference = all.at("M");
    auto changed = smt::with_tensor(fx.weights, "Model.output_range", xt::xtensor<float, 1>{2.0f});
    changed = smt::with_tensor(changed, "Model.output_shift", xt::xtensor<float, 1>{0.5f});
    const auto moved_all = model::load(fx.config, changed).forward(inputs);
    const auto& moved = moved_all.at("M");
    // The unimodal outputs (multi-task models) are never range-mapped.
    for (const auto& key : Row::heads()) {
        if (key != "M") {
            CHECK(moved_all.at(key) == all.at(key));
        }
    }
    for (std::size_t i = 0; i < reference.size(); ++i) {
        const double sigmoid = (reference(i, 0) + 3.0) / 6.0;
        CHECK(moved(i, 0) == doctest::Approx(sigmoid * 2.0 + 0.5).epsilon(1e-12));
    }
}

TEST_CASE_TEMPLATE("subnet models: the last bias before M adds to M unchanged, in both modes", Row,
                   lmf_row, lf_dnn_row, mlmf_row, mlf_dnn_row) {
    using model = typename Row::template model<double>;
    for (const auto mode : {em::train_mode::regression, em::train_mode::classification}) {
        auto fx = smt::load_fixture(Row::name, Row::dataset, mode);
        const auto inputs = smt::prepared_inputs<double>(fx.config, fx.inputs);
        const auto reference = model::load(fx.config, fx.weights).forward(inputs).at("M");
        auto bias = fx.weights.template tensor<float, Row::output_bias_rank>(Row::output_bias);
        bias += 1.0f; // rounded to float: the check allows that rounding
        const auto moved =
            model::load(fx.config, smt::with_tensor(fx.weights, Row::output_bias, bias))
                .forward(inputs)
                .at("M");
        for (std::size_t i = 0; i < reference.size(); ++i) {
            CHECK(moved.data()[i] == doctest::Approx(reference.data()[i] + 1.0).epsilon(1e-7));
        }
    }
}

TEST_CASE_TEMPLATE("subnet models: every shipped configuration's state dict loads; missing, extra, "
                   "mis-shaped fail",
                   Row, tfn_row, lmf_row, lf_dnn_row, mtfn_row, mlmf_row, mlf_dnn_row) {
    smt::check_state_dict_manifest(
        Row::name, Row::removed, Row::reshaped,
        [](const em::mmsa_config& config, const emofuse::io::state_dict& sd) {
            static_cast<void>(Row::template model<float>::load(config, sd));
        });
}

TEST_CASE_TEMPLATE("subnet models: bad inputs are shape errors naming the modality", Row, tfn_row,
                   lmf_row, lf_dnn_row, mtfn_row, mlmf_row, mlf_dnn_row) {
    auto fx = smt::load_fixture(Row::name, Row::dataset, em::train_mode::classification);
    const auto inputs = smt::prepared_inputs<float>(fx.config, fx.inputs);
    const auto model = Row::template model<float>::load(fx.config, fx.weights);

    auto narrow = inputs;
    narrow.text = xt::zeros<float>({inputs.text.shape(0), inputs.text.shape(1), std::size_t{15}});
    // The message names the model (the shared code takes the name from each model class).
    const std::string text_error = "models::" + std::string(Row::name) + ": text input";
    CHECK_THROWS_WITH_AS(static_cast<void>(model.forward(narrow)),
                         doctest::Contains(text_error.c_str()), emofuse::shape_error);

    auto short_batch = inputs;
    short_batch.vision = xt::zeros<float>({std::size_t{3}, std::size_t{1}, inputs.vision.shape(2)});
    CHECK_THROWS_WITH_AS(static_cast<void>(model.forward(short_batch)),
                         doctest::Contains("vision input"), emofuse::shape_error);

    auto unaveraged = inputs;
    unaveraged.audio =
        xt::zeros<float>({inputs.audio.shape(0), std::size_t{5}, inputs.audio.shape(2)});
    CHECK_THROWS_WITH_AS(static_cast<void>(model.forward(unaveraged)),
                         doctest::Contains("need_normalized"), emofuse::shape_error);
}
