// emofuse/models/mmsa_zoo.hpp — one entry point for every model of MMSA's zoo: the model is
// chosen at run time by the configuration's `model_name`, through ONE table of MMSA's names.
// Adding a model is one include below and one row in `mmsa_zoo_table`.
#pragma once

#include <emofuse/config.hpp>
#include <emofuse/core/error.hpp>
#include <emofuse/models/mmsa_config.hpp>
#include <emofuse/models/mmsa_inputs.hpp>
#include <emofuse/models/mmsa_model.hpp>
#include <emofuse/models/parallel_forward.hpp>
// The zoo's models (one include per row of mmsa_zoo_table):
#include <emofuse/models/almt.hpp>
#include <emofuse/models/bert_mag.hpp>
#include <emofuse/models/cenet.hpp>
#include <emofuse/models/ef_lstm.hpp>
#include <emofuse/models/graph_mfn.hpp>
#include <emofuse/models/lf_dnn.hpp>
#include <emofuse/models/lmf.hpp>
#include <emofuse/models/mfn.hpp>
#include <emofuse/models/misa.hpp>
#include <emofuse/models/mlf_dnn.hpp>
#include <emofuse/models/mlmf.hpp>
#include <emofuse/models/mmim.hpp>
#include <emofuse/models/mtfn.hpp>
#include <emofuse/models/mult.hpp>
#include <emofuse/models/self_mm.hpp>
#include <emofuse/models/tetfn.hpp>
#include <emofuse/models/tfn.hpp>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace emofuse::models {

/// What a model's forward returns: "M" only, or "M", "T", "A", "V" (MMSA's multi-task models).
enum class mmsa_task { single, multi };

/// The output names of a task kind, in MMSA's order.
[[nodiscard]] inline std::span<const std::string_view> mmsa_output_names(mmsa_task task) {
    static constexpr std::string_view single[] = {"M"};
    static constexpr std::string_view multi[] = {"M", "T", "A", "V"};
    return task == mmsa_task::single ? std::span<const std::string_view>(single)
                                     : std::span<const std::string_view>(multi);
}

/// One row of a zoo table: MMSA's lower-case model key, the emofuse class template that
/// implements it (`Model<T>::load(config, state_dict, prefix)`, `forward`, `output_dim`) and
/// its outputs.
template <template <class> class Model>
struct mmsa_zoo_entry {
    std::string_view name;
    mmsa_task task;
};

/// The zoo: one row per model (MMSA's names, as config_regression.json spells them).
inline constexpr auto mmsa_zoo_table = std::tuple{
    mmsa_zoo_entry<tfn>{"tfn", mmsa_task::single},
    mmsa_zoo_entry<lmf>{"lmf", mmsa_task::single},
    mmsa_zoo_entry<mfn>{"mfn", mmsa_task::single},
    mmsa_zoo_entry<ef_lstm>{"ef_lstm", mmsa_task::single},
    mmsa_zoo_entry<lf_dnn>{"lf_dnn", mmsa_task::single},
    mmsa_zoo_entry<graph_mfn>{"graph_mfn", mmsa_task::single},
    mmsa_zoo_entry<mult>{"mult", mmsa_task::single},
    mmsa_zoo_entry<mtfn>{"mtfn", mmsa_task::multi},
    mmsa_zoo_entry<mlmf>{"mlmf", mmsa_task::multi},
    mmsa_zoo_entry<mlf_dnn>{"mlf_dnn", mmsa_task::multi},
    mmsa_zoo_entry<self_mm>{"self_mm", mmsa_task::multi},
    mmsa_zoo_entry<mmim>{"mmim", mmsa_task::single},
    mmsa_zoo_entry<misa>{"misa", mmsa_task::single},
    mmsa_zoo_entry<bert_mag>{"bert_mag", mmsa_task::single},
    mmsa_zoo_entry<cenet>{"cenet", mmsa_task::single},
    mmsa_zoo_entry<almt>{"almt", mmsa_task::single},
    mmsa_zoo_entry<tetfn>{"tetfn", mmsa_task::multi},
};

/// A loaded model of any kind, behind one interface (a shared, immutable model: copies are
/// cheap and forward is const).
template <class T>
class mmsa_model {
public:
    /// Wraps a loaded model object (anything with forward(mmsa_batch<T>) → mmsa_outputs<T>
    /// and output_dim()).
    template <class Model>
    mmsa_model(std::string name, mmsa_task task, Model model)
        : self_(std::make_shared<const holder<Model>>(std::move(model))), name_(std::move(name)),
          task_(task) {}

    /// MMSA's forward on PREPARED inputs (prepare_mmsa_inputs): every output of
    /// output_names(), each (batch, output_dim()) (the multi-task heads T/A/V too).
    [[nodiscard]] mmsa_outputs<T> forward(const mmsa_batch<T>& inputs) const {
        return self_->forward(inputs);
    }
    /// "M", or "M", "T", "A", "V".
    [[nodiscard]] std::span<const std::string_view> output_names() const {
        return mmsa_output_names(task_);
    }
    /// 1 in regression, num_classes in classification.
    [[nodiscard]] std::size_t output_dim() const { return self_->output_dim(); }
    /// Whether parallel_forward may split the batch (batch_invariant_forward of the model).
    [[nodiscard]] bool batch_invariant() const { return self_->batch_invariant(); }
    /// MMSA's model key ("tfn", "lf_dnn", ...).
    [[nodiscard]] std::string_view name() const noexcept { return name_; }

private:
    struct interface {
        virtual ~interface() = default;
        virtual mmsa_outputs<T> forward(const mmsa_batch<T>& inputs) const = 0;
        virtual std::size_t output_dim() const = 0;
        virtual bool batch_invariant() const = 0;
    };
    template <class Model>
    struct holder final : interface {
        explicit holder(Model loaded) : model(std::move(loaded)) {}
        mmsa_outputs<T> forward(const mmsa_batch<T>& inputs) const override {
            return model.forward(inputs);
        }
        std::size_t output_dim() const override { return model.output_dim(); }
        bool batch_invariant() const override { return batch_invariant_forward<Model>(); }
        Model model;
    };

    std::shared_ptr<const interface> self_;
    std::string name_;
    mmsa_task task_;
};

namespace detail {

/// The first few names of a state dict, for messages.
template <class StateDict>
std::string some_names(const StateDict& tensors, std::size_t count = 4) {
    const auto names = tensors.names("");
    std::string text;
    for (std::size_t index = 0; index < names.size() && index < count; ++index) {
        text += (index == 0 ? "'" : ", '") + names[index] + "'";
    }
    return names.size() > count ? text + ", ..." : text;
}

template <class Table>
std::vector<std::string_view> zoo_names(const Table& table) {
    std::vector<std::string_view> names;
    std::apply([&](const auto&... entry) { (names.push_back(entry.name), ...); }, table);
    return names;
}

template <class Table>
std::string zoo_name_list(const Table& table) {
    std::string text;
    for (const auto name : zoo_names(table)) {
        text += (text.empty() ? "" : ", ") + std::string(name);
    }
    return text.empty() ? "none in this build" : text;
}

template <class T, template <class> class Model, class StateDict>
mmsa_model<T> load_entry(const mmsa_zoo_entry<Model>& entry, const mmsa_config& config,
                         const StateDict& tensors, std::string_view prefix) {
    return mmsa_model<T>(std::string(entry.name), entry.task,
                         Model<T>::load(config, tensors, prefix));
}

/// load_mmsa_model over any table of mmsa_zoo_entry rows (the tests use their own).
template <class T, class Table, class StateDict>
mmsa_model<T> load_from_table(const Table& table, const mmsa_config& config,
                              const StateDict& tensors, std::string_view prefix);

} // namespace detail

/// Every model name load_mmsa_model knows, in table order.
[[nodiscard]] inline std::vector<std::string_view> mmsa_model_names() {
    return detail::zoo_names(mmsa_zoo_table);
}

/// The prefix under which an MMSA checkpoint holds the model's tensors.
///
/// MMSA saves `AMIO.state_dict()`: the model's tensors are `Model.<name>`, and AMIO's alignment
/// sub-network's would be `alignNet.<name>` (its 'avg_pool' mode, the only one emofuse runs,
/// has none). A checkpoint saved while AMIO was wrapped in nn.DataParallel has every name
/// behind one more `module.`. The rule, with `prefix` the requested one (default "Model."):
///   * some name starts with `prefix`: `prefix` is used;
///   * otherwise, when EVERY name starts with "module." and some with "module." + prefix
///     (a DataParallel checkpoint): "module." + prefix is used;
///   * otherwise: value_error naming the prefix and some of the names found.
/// An empty prefix takes every tensor (a state dict saved from the bare model, amio.Model).
/// Then every tensor must be the model's or, as AMIO saves them, lie under the same wrapping
/// plus "alignNet." with no tensors at all there; anything else is a value_error naming it
/// (an alignment network with weights — MMSA's 'ctc' or 'conv1d' — or a foreign tensor).
template <class StateDict>
[[nodiscard]] std::string resolve_mmsa_prefix(const StateDict& tensors,
                                              std::string_view prefix = "Model.") {
    std::string chosen(prefix);
    std::string wrapper;
    if (tensors.names(chosen).empty()) {
        const std::string wrapped = "module." + chosen;
        if (!tensors.names(wrapped).empty() &&
            tensors.names("module.").size() == tensors.names("").size()) {
            chosen = wrapped;
            wrapper = "module.";
        } else {
            throw value_error("models::load_mmsa_model: the checkpoint" +
                              (tensors.names("").empty()
                                   ? std::string(" holds no tensors")
                                   : " has no tensor under '" + chosen + "' (nor under 'module." +
                                         chosen + "', as nn.DataParallel saves it); it holds " +
                                         detail::some_names(tensors)) +
                              "; MMSA saves AMIO's state_dict(), whose names start with 'Model.'");
        }
    }
    if (chosen.empty()) {
        return chosen;
    }
    for (const auto& name : tensors.names("")) {
        if (name.starts_with(chosen)) {
            continue;
        }
        if (name.starts_with(wrapper + "alignNet.")) {
            throw value_error("models::load_mmsa_model: the checkpoint holds '" + name +
                              "', a tensor of AMIO's alignment network; emofuse runs its "
                              "'avg_pool' mode only, which has no tensors");
        }
        throw value_error("models::load_mmsa_model: the checkpoint holds '" + name +
                          "', outside the model's '" + chosen +
                          "' (an MMSA checkpoint holds AMIO's 'Model.' and 'alignNet.' tensors "
                          "only)");
    }
    return chosen;
}

/// Builds the model `config.model_name()` names and loads its tensors from `tensors` (under
/// the prefix resolve_mmsa_prefix chooses). value_error listing the known names when the
/// table has no such model; the model's own loader checks every shape and refuses unused
/// tensors.
template <class T, class StateDict>
[[nodiscard]] mmsa_model<T> load_mmsa_model(const mmsa_config& config, const StateDict& tensors,
                                            std::string_view prefix = "Model.") {
    return detail::load_from_table<T>(mmsa_zoo_table, config, tensors, prefix);
}

template <class T, class Table, class StateDict>
mmsa_model<T> detail::load_from_table(const Table& table, const mmsa_config& config,
                                      const StateDict& tensors, std::string_view prefix) {
    const std::string_view wanted = config.model_name();
    const auto names = zoo_names(table);
    if (std::find(names.begin(), names.end(), wanted) == names.end()) {
        throw value_error("models::load_mmsa_model: unknown model '" + std::string(wanted) +
                          "' (known: " + zoo_name_list(table) + ")" + config.context());
    }
    const std::string resolved = resolve_mmsa_prefix(tensors, prefix);
    std::optional<mmsa_model<T>> loaded;
    const auto load_if_wanted = [&](const auto& entry) {
        if (!loaded && entry.name == wanted) {
            loaded.emplace(load_entry<T>(entry, config, tensors, resolved));
        }
    };
    std::apply([&](const auto&... entry) { (load_if_wanted(entry), ...); }, table);
    return std::move(*loaded);
}

} // namespace emofuse::models
