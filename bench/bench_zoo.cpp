// Model-zoo workloads (docs/workloads.md): zoo_<model>_b32 and zoo_<model>_b1 — one forward of
// an MMSA model (include/emofuse/models/) at MMSA's shipped configuration for MOSI (SIMS for the
// multi-task models), in fp32, through models::parallel_forward (runs of 16 samples on the
// library's threads: emofuse-bench --threads=N; batch 1 is one plain forward). The configuration is
// MMSA's own file (tests/models/data/config_regression.json, regression mode); the weights are
// random tensors with exactly the names and shapes of MMSA's AMIO state dict for that configuration
// (tests/models/data/mmsa_state_dict_shapes.json); the inputs are random feature-file arrays
// shaped by the configuration's seq_lens and feature_dims, passed through MMSA's data-loader
// steps and AMIO's alignment (prepare_mmsa_inputs) before timing. Model and inputs are built
// once per benchmark; an iteration is one forward. bench/compare_zoo.py times MMSA's own AMIO
// forward (PyTorch eager) and ONNX Runtime on the same shapes.
#include "random_tensor.hpp"

#include <emofuse/core/fixed_string.hpp>
#include <emofuse/io/state_dict.hpp>
#include <emofuse/models/ef_lstm.hpp>
#include <emofuse/models/graph_mfn.hpp>
#include <emofuse/models/lf_dnn.hpp>
#include <emofuse/models/lmf.hpp>
#include <emofuse/models/mfn.hpp>
#include <emofuse/models/mlf_dnn.hpp>
#include <emofuse/models/mlmf.hpp>
#include <emofuse/models/mmsa_config.hpp>
#include <emofuse/models/mmsa_inputs.hpp>
#include <emofuse/models/mtfn.hpp>
#include <emofuse/models/mult.hpp>
#include <emofuse/models/parallel_forward.hpp>
#include <emofuse/models/tfn.hpp>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

namespace em = emofuse::models;
using emofuse_bench::random_tensor;

nlohmann::json read_zoo_json(std::string_view file) {
    const auto path = std::filesystem::path(EMOFUSE_ZOO_DATA_DIR) / file;
    std::ifstream input(path);
    if (!input) {
        throw std::runtime_error("bench_zoo: cannot open " + path.string());
    }
    return nlohmann::json::parse(input);
}

/// A float tensor of any rank from a shape list (the state dict stores raw bytes, so the
/// values can be drawn flat and reshaped).
template <std::size_t N>
xt::xtensor<float, N> random_of_shape(const std::vector<std::size_t>& shape, float scale,
                                      std::mt19937& rng) {
    std::array<std::size_t, N> extents{};
    std::copy_n(shape.begin(), N, extents.begin());
    return random_tensor<N>(extents, scale, rng);
}

void insert_random(emofuse::io::state_dict& sd, const std::string& name,
                   const std::vector<std::size_t>& shape, std::mt19937& rng) {
    if (name.ends_with("num_batches_tracked")) {
        sd.insert(name, xt::xtensor<std::int64_t, 0>(17));
        return;
    }
    if (name.ends_with("running_var")) {
        // BatchNorm divides by √(running_var + eps): a positive variance keeps it finite.
        std::uniform_real_distribution<float> positive(0.5f, 2.0f);
        xt::xtensor<float, 1> values = xt::xtensor<float, 1>::from_shape({shape.at(0)});
        for (auto& value : values) {
            value = positive(rng);
        }
        sd.insert(name, values);
        return;
    }
    // nn.Linear's initialisation range (1/√fan_in) keeps activations of deep stacks bounded,
    // so the timed forward never runs on denormals or saturated gates only.
    const float scale =
        shape.size() >= 2 ? 1.0f / std::sqrt(static_cast<float>(shape.back())) : 0.1f;
    switch (shape.size()) {
    case 1:
        sd.insert(name, random_of_shape<1>(shape, scale, rng));
        break;
    case 2:
        sd.insert(name, random_of_shape<2>(shape, scale, rng));
        break;
    case 3:
        sd.insert(name, random_of_shape<3>(shape, scale, rng));
        break;
    case 4:
        sd.insert(name, random_of_shape<4>(shape, scale, rng));
        break;
    default:
        throw std::runtime_error("bench_zoo: tensor '" + name + "' has an unexpected rank");
    }
}

/// Graph-MFN's DynamicFusionGraph keeps its node networks in a plain dict, so MMSA's state dict
/// (and the shape manifest) lacks them; the model reads them as
/// Model.graph_mfn.networks.<i_j[_k]>.{0,1.0}.{weight,bias}. Their shapes follow
/// DynamicFusionGraph.__init__ (src/MMSA/models/singleTask/Graph_MFN.py): each node is
/// Linear(node input, 100) then the pattern model Linear(100, inner_node_dim).
void add_graph_mfn_node_networks(emofuse::io::state_dict& sd, const em::mmsa_config& config,
                                 std::mt19937& rng) {
    const auto singleton = config.sizes("hidden_dims", 3);
    const std::size_t inner = config.size("inner_node_dim");
    const std::vector<std::vector<std::size_t>> nodes{{0, 1}, {0, 2}, {1, 2}, {0, 1, 2}};
    for (const auto& node : nodes) {
        std::size_t input = 0;
        std::string key;
        for (const auto modality : node) {
            input += singleton[modality];
            key += (key.empty() ? "" : "_") + std::to_string(modality);
        }
        // Inputs from the node's multimodal sub-nodes: 2^n − 2 − n of them, inner wide each.
        input += ((std::size_t{1} << node.size()) - 2 - node.size()) * inner;
        const std::string prefix = "Model.graph_mfn.networks." + key + ".";
        insert_random(sd, prefix + "0.weight", {100, input}, rng);
        insert_random(sd, prefix + "0.bias", {100}, rng);
        insert_random(sd, prefix + "1.0.weight", {inner, 100}, rng);
        insert_random(sd, prefix + "1.0.bias", {inner}, rng);
    }
}

/// What one zoo benchmark times: the model loaded from random weights and prepared inputs.
template <template <class> class Model>
struct zoo_case {
    Model<float> model;
    em::mmsa_batch<float> inputs;
};

template <template <class> class Model>
zoo_case<Model> make_zoo_case(std::string_view key, std::string_view dataset, std::size_t batch) {
    auto config = em::mmsa_config::from_mmsa(read_zoo_json("config_regression.json"), key, dataset,
                                             em::train_mode::regression);
    std::mt19937 rng(42);
    const auto lengths = config.seq_lens();
    const auto widths = config.feature_dims();
    em::mmsa_batch<float> raw{random_tensor<3>({batch, lengths[0], widths[0]}, 1.0f, rng),
                              random_tensor<3>({batch, lengths[1], widths[1]}, 1.0f, rng),
                              random_tensor<3>({batch, lengths[2], widths[2]}, 1.0f, rng)};
    // The data loader's steps and AMIO's alignment also set the seq_lens the model is built for.
    auto inputs = em::prepare_mmsa_inputs(config, std::move(raw));

    const auto manifest = read_zoo_json("mmsa_state_dict_shapes.json");
    const std::string entry = std::string(key) + "/" + std::string(dataset) + "/regression";
    emofuse::io::state_dict sd("random weights shaped as MMSA's " + entry);
    for (const auto& [name, shape] : manifest.at(entry).items()) {
        insert_random(sd, name, shape.template get<std::vector<std::size_t>>(), rng);
    }
    if (key == "graph_mfn") {
        add_graph_mfn_node_networks(sd, config, rng);
    }
    return {Model<float>::load(config, sd), std::move(inputs)};
}

/// One forward of MMSA model `Key` (its class `Model`) at `Dataset`'s configuration.
template <template <class> class Model, emofuse::fixed_string Key, emofuse::fixed_string Dataset,
          std::size_t Batch>
void zoo_forward(benchmark::State& state) {
    static const auto prepared = make_zoo_case<Model>(Key.view(), Dataset.view(), Batch);
    for (auto _ : state) {
        auto outputs = em::parallel_forward(prepared.model, prepared.inputs);
        benchmark::DoNotOptimize(outputs.at("M").data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * Batch));
}

} // namespace

// A model is two lines (one per batch size): its class, MMSA's key, the configuration's dataset.
BENCHMARK_TEMPLATE(zoo_forward, em::tfn, "tfn", "mosi", 32)->Name("zoo_tfn_b32");
BENCHMARK_TEMPLATE(zoo_forward, em::tfn, "tfn", "mosi", 1)->Name("zoo_tfn_b1");
BENCHMARK_TEMPLATE(zoo_forward, em::lmf, "lmf", "mosi", 32)->Name("zoo_lmf_b32");
BENCHMARK_TEMPLATE(zoo_forward, em::lmf, "lmf", "mosi", 1)->Name("zoo_lmf_b1");
BENCHMARK_TEMPLATE(zoo_forward, em::lf_dnn, "lf_dnn", "mosi", 32)->Name("zoo_lf_dnn_b32");
BENCHMARK_TEMPLATE(zoo_forward, em::lf_dnn, "lf_dnn", "mosi", 1)->Name("zoo_lf_dnn_b1");
BENCHMARK_TEMPLATE(zoo_forward, em::mtfn, "mtfn", "sims", 32)->Name("zoo_mtfn_b32");
BENCHMARK_TEMPLATE(zoo_forward, em::mtfn, "mtfn", "sims", 1)->Name("zoo_mtfn_b1");
BENCHMARK_TEMPLATE(zoo_forward, em::mlmf, "mlmf", "sims", 32)->Name("zoo_mlmf_b32");
BENCHMARK_TEMPLATE(zoo_forward, em::mlmf, "mlmf", "sims", 1)->Name("zoo_mlmf_b1");
BENCHMARK_TEMPLATE(zoo_forward, em::mlf_dnn, "mlf_dnn", "sims", 32)->Name("zoo_mlf_dnn_b32");
BENCHMARK_TEMPLATE(zoo_forward, em::mlf_dnn, "mlf_dnn", "sims", 1)->Name("zoo_mlf_dnn_b1");
BENCHMARK_TEMPLATE(zoo_forward, em::ef_lstm, "ef_lstm", "mosi", 32)->Name("zoo_ef_lstm_b32");
BENCHMARK_TEMPLATE(zoo_forward, em::ef_lstm, "ef_lstm", "mosi", 1)->Name("zoo_ef_lstm_b1");
BENCHMARK_TEMPLATE(zoo_forward, em::mfn, "mfn", "mosi", 32)->Name("zoo_mfn_b32");
BENCHMARK_TEMPLATE(zoo_forward, em::mfn, "mfn", "mosi", 1)->Name("zoo_mfn_b1");
BENCHMARK_TEMPLATE(zoo_forward, em::graph_mfn, "graph_mfn", "mosi", 32)->Name("zoo_graph_mfn_b32");
BENCHMARK_TEMPLATE(zoo_forward, em::graph_mfn, "graph_mfn", "mosi", 1)->Name("zoo_graph_mfn_b1");
BENCHMARK_TEMPLATE(zoo_forward, em::mult, "mult", "mosi", 32)->Name("zoo_mult_b32");
BENCHMARK_TEMPLATE(zoo_forward, em::mult, "mult", "mosi", 1)->Name("zoo_mult_b1");
