// python/src/models.cpp — MMSA checkpoints as callables on arrays: the configuration and the
// weights are read and the zoo's model built once (models::load_mmsa_model, as MMSA builds its
// model once from the configuration); each call runs MMSA's data-loader steps and AMIO's
// alignment on the given arrays, then the forward, without the GIL.
#include "arrays.hpp"
#include "bindings.hpp"

#include <emofuse/io/load_state_dict.hpp>
#include <emofuse/models/mmsa_config.hpp>
#include <emofuse/models/mmsa_inputs.hpp>
#include <emofuse/models/mmsa_zoo.hpp>

#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace emofuse::python {

namespace {

namespace mo = emofuse::models;

constexpr std::array<const char*, 3> modality_names{"text", "audio", "vision"};

mo::train_mode mode_named(const std::string& mode) {
    if (mode == "regression") {
        return mo::train_mode::regression;
    }
    if (mode == "classification") {
        return mo::train_mode::classification;
    }
    throw_value("mode", "\"regression\" or \"classification\"", "\"" + mode + "\"");
}

/// A zero batch of one sample with the configuration's seq_lens and feature_dims, through the
/// loader steps and the alignment: the configuration as MMSA leaves it for data of the shapes
/// it was written for (seq_lens after normalisation and alignment), which the model is built
/// from. A merged configuration saved after AMIO holds seq_lens as one integer (the text's
/// length, to which audio and vision are pooled).
mo::mmsa_config prepared_config(const mo::mmsa_config& loaded) {
    mo::mmsa_config config = loaded;
    const auto widths = config.feature_dims();
    std::array<std::size_t, 3> steps{};
    if (config.at("seq_lens").is_array()) {
        steps = config.seq_lens();
    } else {
        const std::size_t length = config.size("seq_lens");
        steps = {length, length, length};
    }
    const auto zeros = [&](std::size_t m) {
        return xt::xtensor<float, 3>(xt::zeros<float>({std::size_t{1}, steps[m], widths[m]}));
    };
    (void)mo::prepare_mmsa_inputs(config, mo::mmsa_batch<float>{zeros(0), zeros(1), zeros(2)});
    return config;
}

/// One modality's array, checked: float32/float64, (batch, steps > 0, width).
real_array modality_array(py::handle obj, std::size_t m, std::size_t width) {
    const char* name = modality_names[m];
    if (obj.is_none()) {
        throw py::type_error(std::string(name) +
                             ": expected an array (batch, steps, features); the model needs "
                             "text, audio and vision, got None");
    }
    py::array in = as_array(obj, name);
    const std::string expected = "shape (batch, steps, " + std::to_string(width) +
                                 ") (the configuration's feature_dims[" + std::to_string(m) + "])";
    if (in.ndim() != 3) {
        throw_value(name, "a 3-D array of " + expected, "shape " + shape_text(in));
    }
    if (in.shape(0) == 0 || in.shape(1) == 0 || in.shape(2) != py::ssize_t(width)) {
        throw_value(name, expected + " with batch and steps > 0", "shape " + shape_text(in));
    }
    // real_matrix checks the dtype (TypeError) and makes the array C-contiguous.
    real_array out = real_matrix(in.reshape({in.shape(0) * in.shape(1), in.shape(2)}), name, width);
    out.array = out.array.reshape({in.shape(0), in.shape(1), in.shape(2)});
    out.rows = static_cast<std::size_t>(in.shape(0));
    out.cols = static_cast<std::size_t>(in.shape(1) * in.shape(2));
    return out;
}

/// `<modality>_lengths`, when given: one integer per sample of modality `m`, in [0, steps].
/// The zoo's models do not read them (as in MMSA), so they are only checked.
void check_lengths(py::handle obj, std::size_t m, const real_array& values) {
    if (obj.is_none()) {
        return;
    }
    const std::string name = std::string(modality_names[m]) + "_lengths";
    const py::array in = as_array(obj, name.c_str());
    if (in.dtype().kind() != 'i' && in.dtype().kind() != 'u') {
        throw py::type_error(name + ": expected an integer dtype, got " + dtype_text(in));
    }
    if (in.ndim() != 1) {
        throw_value(name, "a 1-D array (batch,)", "shape " + shape_text(in));
    }
    check_rows(name.c_str(), static_cast<std::size_t>(in.shape(0)), modality_names[m], values.rows);
    const py::array lengths = py::array::ensure(in.attr("astype")("int64"), py::array::c_style);
    const auto* length = static_cast<const std::int64_t*>(lengths.data());
    const auto steps = static_cast<std::int64_t>(values.array.shape(1));
    for (std::size_t i = 0; i < values.rows; ++i) {
        if (length[i] < 0 || length[i] > steps) {
            throw_value(name,
                        "lengths in [0, " + std::to_string(steps) + "] (the steps of " +
                            modality_names[m] + ")",
                        std::to_string(length[i]) + " at index " + std::to_string(i));
        }
    }
}

template <class T>
xt::xtensor<T, 3> copy_modality(const real_array& a) {
    auto out = xt::xtensor<T, 3>::from_shape({static_cast<std::size_t>(a.array.shape(0)),
                                              static_cast<std::size_t>(a.array.shape(1)),
                                              static_cast<std::size_t>(a.array.shape(2))});
    if (a.is_double) {
        std::copy_n(a.values<double>().data(), out.size(), out.data());
    } else {
        std::copy_n(a.values<float>().data(), out.size(), out.data());
    }
    return out;
}

template <class To, class From>
mo::mmsa_batch<To> convert_batch(mo::mmsa_batch<From>&& batch) {
    if constexpr (std::is_same_v<To, From>) {
        return std::move(batch);
    } else {
        const auto convert = [](const xt::xtensor<From, 3>& x) {
            auto y = xt::xtensor<To, 3>::from_shape(x.shape());
            std::copy(x.begin(), x.end(), y.begin());
            return y;
        };
        return {convert(batch.text), convert(batch.audio), convert(batch.vision)};
    }
}

/// A loaded MMSA model and the configuration it was built from.
class mmsa_callable {
public:
    mmsa_callable(const std::string& model, const std::string& dataset,
                  const std::filesystem::path& config, const std::filesystem::path& weights,
                  const std::string& mode, const std::string& dtype)
        : loaded_(load_config(config, model, dataset, mode)),
          model_(load_model(loaded_, weights, dtype)), feature_dims_(loaded_.feature_dims()) {}

    [[nodiscard]] std::string name() const {
        return std::visit([](const auto& m) { return std::string(m.name()); }, model_);
    }
    [[nodiscard]] std::string dataset() const { return std::string(loaded_.dataset_name()); }
    [[nodiscard]] std::string mode() const {
        return loaded_.classification() ? "classification" : "regression";
    }
    [[nodiscard]] std::string dtype() const {
        return std::holds_alternative<mo::mmsa_model<float>>(model_) ? "float32" : "float64";
    }
    [[nodiscard]] std::vector<std::string> output_names() const {
        const auto names = std::visit([](const auto& m) { return m.output_names(); }, model_);
        return {names.begin(), names.end()};
    }
    [[nodiscard]] std::size_t output_dim() const {
        return std::visit([](const auto& m) { return m.output_dim(); }, model_);
    }
    [[nodiscard]] std::array<std::size_t, 3> feature_dims() const { return feature_dims_; }

    py::dict call(py::handle text, py::handle audio, py::handle vision, py::handle audio_lengths,
                  py::handle vision_lengths) const {
        std::array<real_array, 3> arrays{modality_array(text, 0, feature_dims_[0]),
                                         modality_array(audio, 1, feature_dims_[1]),
                                         modality_array(vision, 2, feature_dims_[2])};
        check_rows("audio", arrays[1].rows, "text", arrays[0].rows);
        check_rows("vision", arrays[2].rows, "text", arrays[0].rows);
        check_lengths(audio_lengths, 1, arrays[1]);
        check_lengths(vision_lengths, 2, arrays[2]);
        // MMSA's loader works in float32 (astype(np.float32)); a float64 model on float64
        // arrays runs the loader steps in float64 too. The alignment runs in the model's dtype.
        const bool double_loader = dtype() == "float64" && arrays[0].is_double &&
                                   arrays[1].is_double && arrays[2].is_double;
        py::dict result;
        std::visit(
            [&](const auto& model) {
                using T = std::conditional_t<
                    std::is_same_v<std::decay_t<decltype(model)>, mo::mmsa_model<float>>, float,
                    double>;
                mo::mmsa_outputs<T> outputs;
                {
                    const py::gil_scoped_release unlocked;
                    mo::mmsa_config config = loaded_;
                    const auto prepared = double_loader ? prepare<double, T>(config, arrays)
                                                        : prepare<float, T>(config, arrays);
                    outputs = model.forward(prepared);
                }
                for (const auto head : model.output_names()) { // M first, then T, A, V
                    const auto found = outputs.find(head);
                    if (found != outputs.end()) {
                        result[py::str(std::string(head))] = to_numpy(std::move(found->second));
                        outputs.erase(found);
                    }
                }
                for (auto& [key, values] : outputs) { // what else the model returns (MFN's L)
                    result[py::str(key)] = to_numpy(std::move(values));
                }
            },
            model_);
        return result;
    }

private:
    static mo::mmsa_config load_config(const std::filesystem::path& config,
                                       const std::string& model, const std::string& dataset,
                                       const std::string& mode) {
        const auto train_mode = mode_named(mode);
        auto loaded = [&] {
            const py::gil_scoped_release unlocked;
            return mo::mmsa_config::load(config, model, dataset, train_mode);
        }();
        // The BERT-era models read MMSA's text_bert token rows, which this binding's
        // feature-array interface does not take yet.
        if (loaded.flag_or_false("use_bert")) {
            throw py::value_error("model: '" + model +
                                  "' reads BERT token rows (use_bert: true), which load_mmsa "
                                  "does not take yet; run it with emofuse-predict (--inputs with "
                                  "text_bert, or --text LINES --vocab vocab.txt)");
        }
        return loaded;
    }

    using any_model = std::variant<mo::mmsa_model<float>, mo::mmsa_model<double>>;

    /// The model built from the configuration as the loader steps leave it for data of its
    /// own shapes (prepared_config), its tensors read from `weights`.
    static any_model load_model(const mo::mmsa_config& loaded, const std::filesystem::path& weights,
                                const std::string& dtype) {
        if (dtype != "float32" && dtype != "float64") {
            throw_value("dtype", "\"float32\" or \"float64\"", "\"" + dtype + "\"");
        }
        const py::gil_scoped_release unlocked;
        const auto tensors = io::load_state_dict(weights);
        const mo::mmsa_config built = prepared_config(loaded);
        if (dtype == "float32") {
            return mo::load_mmsa_model<float>(built, tensors);
        }
        return mo::load_mmsa_model<double>(built, tensors);
    }

    /// MMSA's loader steps in `Loader`'s precision, then AMIO's alignment — part of the model
    /// in MMSA — in the model's.
    template <class Loader, class T>
    static mo::mmsa_batch<T> prepare(mo::mmsa_config& config,
                                     const std::array<real_array, 3>& arrays) {
        return mo::apply_mmsa_alignment(
            config, convert_batch<T>(mo::apply_mmsa_loader_steps(
                        config, mo::mmsa_batch<Loader>{copy_modality<Loader>(arrays[0]),
                                                       copy_modality<Loader>(arrays[1]),
                                                       copy_modality<Loader>(arrays[2])})));
    }

    mo::mmsa_config loaded_;
    any_model model_;
    std::array<std::size_t, 3> feature_dims_;
};

} // namespace

void bind_models(py::module_& m) {
    m.def(
        "model_names",
        [] {
            const auto names = mo::mmsa_model_names();
            return std::vector<std::string>(names.begin(), names.end());
        },
        "MMSA's names of the models load_mmsa can build, in the zoo's order.");
    py::class_<mmsa_callable>(m, "MmsaModel",
                              "An MMSA checkpoint loaded into emofuse's zoo; call it on arrays.")
        .def(py::init<const std::string&, const std::string&, const std::filesystem::path&,
                      const std::filesystem::path&, const std::string&, const std::string&>(),
             py::arg("model"), py::arg("dataset"), py::arg("config"), py::arg("weights"),
             py::arg("mode") = "regression", py::arg("dtype") = "float32")
        .def("__call__", &mmsa_callable::call, py::arg("text"), py::arg("audio"), py::arg("vision"),
             py::arg("audio_lengths") = py::none(), py::arg("vision_lengths") = py::none(),
             "MMSA's data-loader steps, AMIO's alignment and the forward on (batch, steps, "
             "features) arrays; a dict of (batch, output_dim) arrays by MMSA's output names.")
        .def_property_readonly("name", &mmsa_callable::name, "MMSA's model key (\"tfn\", ...).")
        .def_property_readonly("dataset", &mmsa_callable::dataset, "The dataset's name.")
        .def_property_readonly("mode", &mmsa_callable::mode,
                               "\"regression\" or \"classification\".")
        .def_property_readonly("dtype", &mmsa_callable::dtype, "\"float32\" or \"float64\".")
        .def_property_readonly("output_names", &mmsa_callable::output_names,
                               "\"M\", or \"M\", \"T\", \"A\", \"V\" (multi-task models).")
        .def_property_readonly("output_dim", &mmsa_callable::output_dim,
                               "1 in regression, num_classes in classification.")
        .def_property_readonly("feature_dims", &mmsa_callable::feature_dims,
                               "(text, audio, vision) feature widths the model was built for.");
}

} // namespace emofuse::python
