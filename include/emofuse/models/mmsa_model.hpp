// emofuse/models/mmsa_model.hpp — what every MMSA model of the zoo shares: its outputs by MMSA's
// key names, and a state-dict view that notices tensors a model did not read.
#pragma once

#include <emofuse/config.hpp>
#include <emofuse/core/error.hpp>

#include <array>
#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace emofuse::models {

/// A model's outputs under MMSA's names: "M" (every model), "T", "A", "V" (the multi-task
/// models), each (batch, output_dim).
template <class T>
using mmsa_outputs = std::map<std::string, xt::xtensor<T, 2>, std::less<>>;

/// Wraps a state-dict-like object (contains(name), tensor<T, N>(name[, shape])) and records
/// every name read, so a model loader can refuse a checkpoint with tensors it does not know:
/// a wrong model, a wrong configuration, or a file from another MMSA version.
template <class StateDict>
class tracking_state_dict {
public:
    explicit tracking_state_dict(const StateDict& tensors) : tensors_(tensors) {}

    [[nodiscard]] bool contains(std::string_view name) const { return tensors_.contains(name); }

    template <class T, std::size_t N>
    [[nodiscard]] xt::xtensor<T, N> tensor(std::string_view name) const {
        read_.emplace(name);
        return tensors_.template tensor<T, N>(name);
    }

    template <class T, std::size_t N>
    [[nodiscard]] xt::xtensor<T, N> tensor(std::string_view name,
                                           const std::array<std::size_t, N>& shape) const {
        read_.emplace(name);
        return tensors_.template tensor<T, N>(name, shape);
    }

    [[nodiscard]] auto source() const requires requires(const StateDict& sd) { sd.source(); }
    { return tensors_.source(); }

    /// Marks names as accounted for without reading them (buffers a model does not use, such
    /// as BatchNorm's num_batches_tracked).
    void ignore(std::string_view name) const { read_.emplace(name); }

    /// value_error listing (up to eight of) the tensors whose names start with `prefix` that no
    /// loader read. Needs the wrapped object's names(prefix).
    void require_all_read(std::string_view prefix, std::string_view model) const {
        std::vector<std::string> unread;
        for (const auto& name : tensors_.names(prefix)) {
            if (!read_.contains(name)) {
                unread.push_back(name);
            }
        }
        if (unread.empty()) {
            return;
        }
        std::string text = "models::" + std::string(model) + ": the checkpoint has " +
                           std::to_string(unread.size()) + " tensor" +
                           (unread.size() == 1 ? "" : "s") + " the model does not use";
        if constexpr (requires { tensors_.source(); }) {
            text += " (" + std::string(tensors_.source()) + ")";
        }
        for (std::size_t index = 0; index < unread.size() && index < 8; ++index) {
            text += (index == 0 ? ": '" : ", '") + unread[index] + "'";
        }
        if (unread.size() > 8) {
            text += ", ...";
        }
        throw value_error(text + "; is the configuration the one the model was trained with?");
    }

private:
    const StateDict& tensors_;
    mutable std::set<std::string, std::less<>> read_;
};

} // namespace emofuse::models
