// models/mmsa_zoo.hpp: the one table of MMSA's models, dispatch by the configuration's
// model_name, and the checkpoint prefix rule (AMIO's "Model.", nn.DataParallel's "module.").
#include <emofuse/models/mmsa_zoo.hpp>

#include "subnet_models_testing.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <tuple>
#include <vector>

namespace {

namespace em = emofuse::models;
namespace io = emofuse::io;
using subnet_models_testing::load_fixture;

/// The state dict with every name given another prefix.
io::state_dict renamed(const io::state_dict& tensors, const std::string& from,
                       const std::string& to) {
    io::state_dict result(std::string(tensors.source()));
    for (const auto& [name, tensor] : tensors) {
        REQUIRE(name.starts_with(from));
        result.insert(to + name.substr(from.size()), tensor);
    }
    return result;
}

io::state_dict with_extra(const io::state_dict& tensors, const std::string& name) {
    io::state_dict result = tensors;
    result.insert(name, xt::xtensor<float, 1>{1.0f, 2.0f});
    return result;
}

/// Every output of `model` on the fixture's inputs against MMSA's, within 1e-5·(1 + |x|).
template <class T>
void check_matches_mmsa(const em::mmsa_model<T>& model, subnet_models_testing::fixture& data) {
    auto config = data.config;
    const auto prepared = subnet_models_testing::prepared_inputs<T>(config, data.inputs);
    const auto outputs = model.forward(prepared);
    REQUIRE(outputs.size() == model.output_names().size());
    for (const auto name : model.output_names()) {
        CAPTURE(name);
        const auto expected =
            subnet_models_testing::stored_values(data.expected, std::string(name));
        const auto found = outputs.find(name);
        REQUIRE(found != outputs.end());
        const auto& values = found->second;
        REQUIRE(values.size() == expected.size());
        for (std::size_t i = 0; i < expected.size(); ++i) {
            CHECK(std::abs(static_cast<double>(values.data()[i]) - expected[i]) <=
                  1e-5 * (1 + std::abs(expected[i])));
        }
    }
}

/// A stand-in model for the table mechanics: its one "weight" is added to every output.
template <class T>
class fake_multi {
public:
    template <class StateDict>
    static fake_multi load(const em::mmsa_config& config, const StateDict& sd,
                           std::string_view prefix) {
        fake_multi model;
        model.offset_ = sd.template tensor<T, 1>(std::string(prefix) + "offset")(0);
        model.out_ = config.output_dim();
        return model;
    }
    em::mmsa_outputs<T> forward(const em::mmsa_batch<T>& inputs) const {
        em::mmsa_outputs<T> outputs;
        for (const char* key : {"M", "T", "A", "V"}) {
            outputs[key] = xt::xtensor<T, 2>(xt::zeros<T>({inputs.text.shape(0), out_}) + offset_);
        }
        return outputs;
    }
    std::size_t output_dim() const { return out_; }

private:
    T offset_ = 0;
    std::size_t out_ = 1;
};

template <class T>
class fake_single : public fake_multi<T> {
public:
    template <class StateDict>
    static fake_single load(const em::mmsa_config& config, const StateDict& sd,
                            std::string_view prefix) {
        fake_single model;
        static_cast<fake_multi<T>&>(model) = fake_multi<T>::load(config, sd, prefix);
        return model;
    }
};

em::mmsa_config fake_config(const std::string& name) {
    return em::mmsa_config::from_merged({{"model_name", name}}, em::train_mode::regression);
}

} // namespace

TEST_CASE("mmsa zoo: the table's names, unknown names listed in the error") {
    const auto names = em::mmsa_model_names();
    CHECK(std::find(names.begin(), names.end(), "tfn") != names.end());
    auto data = load_fixture("tfn", "mosi", em::train_mode::regression);
    data.config.set("model_name", "tfnn");
    CHECK_THROWS_WITH_AS((void)em::load_mmsa_model<float>(data.config, data.weights),
                         doctest::Contains("unknown model 'tfnn' (known: tfn"),
                         emofuse::value_error);
}

TEST_CASE("mmsa zoo: tfn through the table matches MMSA (float and double, both modes)") {
    for (const auto mode : {em::train_mode::regression, em::train_mode::classification}) {
        auto data = load_fixture("tfn", "mosi", mode);
        auto prepared_config = data.config;
        (void)subnet_models_testing::prepared_inputs<float>(prepared_config, data.inputs);
        const auto model = em::load_mmsa_model<float>(prepared_config, data.weights);
        CHECK(model.name() == "tfn");
        REQUIRE(model.output_names().size() == 1);
        CHECK(model.output_names()[0] == "M");
        CHECK(model.output_dim() == data.config.output_dim());
        check_matches_mmsa(model, data);
        const auto twice = em::load_mmsa_model<double>(prepared_config, data.weights);
        CHECK(twice.output_dim() == model.output_dim());
    }
}

TEST_CASE("mmsa zoo: the multi-task models through the table return M, T, A, V as MMSA") {
    for (const char* name : {"mtfn", "mlmf", "mlf_dnn"}) {
        for (const auto mode : {em::train_mode::regression, em::train_mode::classification}) {
            CAPTURE(name);
            auto data = load_fixture(name, "sims", mode);
            auto prepared_config = data.config;
            (void)subnet_models_testing::prepared_inputs<float>(prepared_config, data.inputs);
            const auto model = em::load_mmsa_model<float>(prepared_config, data.weights);
            CHECK(model.name() == name);
            const std::vector<std::string_view> names(model.output_names().begin(),
                                                      model.output_names().end());
            CHECK(names == std::vector<std::string_view>{"M", "T", "A", "V"});
            check_matches_mmsa(model, data);
        }
    }
}

TEST_CASE("mmsa zoo: a checkpoint of a DataParallel-wrapped AMIO ('module.Model.') loads") {
    auto data = load_fixture("tfn", "mosi", em::train_mode::regression);
    auto config = data.config;
    (void)subnet_models_testing::prepared_inputs<float>(config, data.inputs);
    const auto wrapped = renamed(data.weights, "Model.", "module.Model.");
    CHECK(em::resolve_mmsa_prefix(wrapped) == "module.Model.");
    CHECK(em::resolve_mmsa_prefix(data.weights) == "Model.");
    check_matches_mmsa(em::load_mmsa_model<float>(config, wrapped), data);
    // A state dict of the bare model (amio.Model.state_dict()) loads with an empty prefix.
    const auto bare = renamed(data.weights, "Model.", "");
    CHECK(em::resolve_mmsa_prefix(bare, "") == "");
    check_matches_mmsa(em::load_mmsa_model<float>(config, bare, ""), data);
}

TEST_CASE("mmsa zoo: checkpoints the prefix rule refuses, each named") {
    auto data = load_fixture("tfn", "mosi", em::train_mode::regression);
    auto config = data.config;
    (void)subnet_models_testing::prepared_inputs<float>(config, data.inputs);
    SUBCASE("no tensor under Model.") {
        const auto other = renamed(data.weights, "Model.", "net.");
        CHECK_THROWS_WITH_AS((void)em::load_mmsa_model<float>(config, other),
                             doctest::Contains("no tensor under 'Model.' (nor under "
                                               "'module.Model.'"),
                             emofuse::value_error);
    }
    SUBCASE("empty") {
        CHECK_THROWS_WITH_AS((void)em::load_mmsa_model<float>(config, io::state_dict("x.pth")),
                             doctest::Contains("holds no tensors"), emofuse::value_error);
    }
    SUBCASE("DataParallel names mixed with plain ones") {
        const auto mixed = with_extra(renamed(data.weights, "Model.", "module.Model."), "step");
        CHECK_THROWS_WITH_AS((void)em::load_mmsa_model<float>(config, mixed),
                             doctest::Contains("no tensor under 'Model.'"), emofuse::value_error);
    }
    SUBCASE("an alignment network with weights") {
        CHECK_THROWS_WITH_AS(
            (void)em::load_mmsa_model<float>(config, with_extra(data.weights, "alignNet.w")),
            doctest::Contains("'alignNet.w', a tensor of AMIO's alignment network"),
            emofuse::value_error);
        const auto wrapped = with_extra(renamed(data.weights, "Model.", "module.Model."),
                                        "module.alignNet.conv.weight");
        CHECK_THROWS_WITH_AS((void)em::load_mmsa_model<float>(config, wrapped),
                             doctest::Contains("'module.alignNet.conv.weight', a tensor of "
                                               "AMIO's alignment network"),
                             emofuse::value_error);
    }
    SUBCASE("a tensor outside Model.") {
        CHECK_THROWS_WITH_AS(
            (void)em::load_mmsa_model<float>(config, with_extra(data.weights, "optimizer.lr")),
            doctest::Contains("'optimizer.lr', outside the model's 'Model.'"),
            emofuse::value_error);
    }
    SUBCASE("an unused tensor under Model. (the model's own check)") {
        CHECK_THROWS_WITH_AS(
            (void)em::load_mmsa_model<float>(config, with_extra(data.weights, "Model.extra")),
            doctest::Contains("Model.extra"), emofuse::value_error);
    }
}

TEST_CASE("mmsa zoo: dispatch picks the named row; multi-task rows return M, T, A, V") {
    const auto table = std::tuple{em::mmsa_zoo_entry<fake_single>{"single", em::mmsa_task::single},
                                  em::mmsa_zoo_entry<fake_multi>{"multi", em::mmsa_task::multi}};
    io::state_dict weights("memory");
    weights.insert("Model.offset", xt::xtensor<float, 1>{0.5f});
    const em::mmsa_batch<float> batch{xt::zeros<float>({3, 2, 1}), xt::zeros<float>({3, 2, 1}),
                                      xt::zeros<float>({3, 2, 1})};

    const auto multi =
        em::detail::load_from_table<float>(table, fake_config("multi"), weights, "Model.");
    CHECK(multi.name() == "multi");
    const std::vector<std::string_view> names(multi.output_names().begin(),
                                              multi.output_names().end());
    CHECK(names == std::vector<std::string_view>{"M", "T", "A", "V"});
    const auto outputs = multi.forward(batch);
    CHECK(outputs.size() == 4);
    CHECK(outputs.at("V")(2, 0) == 0.5f);

    const auto single =
        em::detail::load_from_table<float>(table, fake_config("single"), weights, "Model.");
    CHECK(single.name() == "single");
    CHECK(single.output_names().size() == 1);
    CHECK_THROWS_WITH_AS(
        (void)em::detail::load_from_table<float>(table, fake_config("tfn"), weights, "Model."),
        doctest::Contains("unknown model 'tfn' (known: single, multi)"), emofuse::value_error);
    // Copies share the loaded model.
    const auto copy = multi;
    CHECK(copy.forward(batch).at("M")(0, 0) == 0.5f);
}
