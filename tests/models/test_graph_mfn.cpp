// MMSA's Graph_MFN against outputs computed by MMSA's own code (tests/models/data), the vertex
// networks MMSA's state dict lacks, its state-dict names and shapes at every shipped
// configuration, and its errors.
#include "recurrent_testing.hpp"

#include <emofuse/models/graph_mfn.hpp>

#include <doctest/doctest.h>

#include <string>

namespace {

using namespace recurrent_testing;

template <class T>
void check_graph_mfn_fixture(const std::string& fixture) {
    auto config = fixture_config(fixture, "graph_mfn");
    const auto inputs = fixture_inputs<T>(config, fixture);
    const auto model =
        em::graph_mfn<T>::load(config, io::load_safetensors(data_path(fixture + ".safetensors")));
    CHECK(model.output_dim() == config.output_dim());
    check_against_fixture(model.forward(inputs), fixture, {"M"}, 1e-5);
}

/// The Dynamic Fusion Graph's vertex networks for `config` (Graph_MFN.py: pattern width 100,
/// vertex (i, j) reads the singletons i and j, vertex (0, 1, 2) the singletons and the three
/// pair vertices), named as the fixtures' .safetensors name them.
nlohmann::json vertex_network_shapes(const em::mmsa_config& config) {
    const auto hidden = config.sizes("hidden_dims", 3);
    const std::size_t inner = config.size("inner_node_dim");
    const std::pair<const char*, std::size_t> vertices[] = {
        {"0_1", hidden[0] + hidden[1]},
        {"0_2", hidden[0] + hidden[2]},
        {"1_2", hidden[1] + hidden[2]},
        {"0_1_2", hidden[0] + hidden[1] + hidden[2] + 3 * inner}};
    nlohmann::json shapes = nlohmann::json::object();
    for (const auto& [name, in] : vertices) {
        const std::string base = std::string("Model.graph_mfn.networks.") + name + ".";
        shapes[base + "0.weight"] = {100, in};
        shapes[base + "0.bias"] = {100};
        shapes[base + "1.0.weight"] = {inner, 100};
        shapes[base + "1.0.bias"] = {inner};
    }
    return shapes;
}

} // namespace

TEST_CASE_TEMPLATE("graph_mfn matches MMSA (regression and classification)", T, float, double) {
    check_graph_mfn_fixture<T>("graph_mfn_mosi_regression");
    check_graph_mfn_fixture<T>("graph_mfn_mosi_classification");
}

TEST_CASE("graph_mfn: MMSA's own state dict lacks the vertex networks, and the error says so") {
    const std::string fixture = "graph_mfn_mosi_regression";
    const auto config = fixture_config(fixture, "graph_mfn");
    const auto complete = io::load_safetensors(data_path(fixture + ".safetensors"));
    // What MMSA's torch.save(model.state_dict()) holds: everything but the networks.
    io::state_dict as_mmsa_saves("mmsa.pth");
    for (const auto& [name, tensor] : complete) {
        if (!name.starts_with("Model.graph_mfn.networks.")) {
            as_mmsa_saves.insert(name, tensor);
        }
    }
    REQUIRE(as_mmsa_saves.size() + 16 == complete.size());
    for (const std::string needle : {"plain dict", "not even by MMSA after reloading",
                                     "'Model.graph_mfn.networks.0_1.0.weight' (100, 12)",
                                     "'Model.graph_mfn.networks.0_1_2.0.weight' (100, 33)",
                                     "'Model.graph_mfn.networks.1_2.1.0.bias' (5,)", "mmsa.pth"}) {
        check_error<emofuse::value_error>(
            [&] { static_cast<void>(em::graph_mfn<float>::load(config, as_mmsa_saves)); }, needle);
    }
}

TEST_CASE("graph_mfn loads MMSA's state dict of every shipped configuration plus the networks") {
    std::size_t entries = 0;
    for (const auto& [entry, manifest] : shipped_shapes().items()) {
        if (!entry.starts_with("graph_mfn/")) {
            continue;
        }
        INFO(entry);
        ++entries;
        const auto config = shipped_config(entry);
        check_error<emofuse::value_error>(
            [&] {
                static_cast<void>(em::graph_mfn<float>::load(config, zero_state_dict(manifest)));
            },
            "lacks their weights");
        auto complete = manifest;
        complete.update(vertex_network_shapes(config));
        const auto model = em::graph_mfn<float>::load(config, zero_state_dict(complete));
        CHECK(model.output_dim() == config.output_dim());
        check_manifest_errors(
            [&](const io::state_dict& sd) {
                static_cast<void>(em::graph_mfn<float>::load(config, sd));
            },
            complete);
    }
    CHECK(entries == 8);
}

TEST_CASE("graph_mfn: bad inputs are errors naming the modality") {
    const std::string fixture = "graph_mfn_mosi_classification";
    auto config = fixture_config(fixture, "graph_mfn");
    const auto inputs = fixture_inputs<float>(config, fixture);
    const auto model = em::graph_mfn<float>::load(
        config, io::load_safetensors(data_path(fixture + ".safetensors")));
    check_bad_inputs(
        [&](const em::mmsa_batch<float>& batch) { static_cast<void>(model.forward(batch)); },
        inputs, "graph_mfn", true);
}
