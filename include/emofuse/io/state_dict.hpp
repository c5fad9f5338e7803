// emofuse/io/state_dict.hpp — named tensors as PyTorch's state_dict() names them, with
// typed, shape-checked access and error messages that name the tensor and the file.
#pragma once

#include <emofuse/config.hpp>
#include <emofuse/core/error.hpp>
#include <emofuse/io/convert.hpp>
#include <emofuse/io/stored_tensor.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace emofuse::io {

/// A set of named tensors, e.g. read from a safetensors file. Names are unique and sorted.
class state_dict {
public:
    state_dict() = default;
    /// `source` names where the tensors came from (a file path) in error messages.
    explicit state_dict(std::string source) : source_(std::move(source)) {}

    /// Adds a tensor. Throws value_error when the name is taken, shape_error when the bytes do
    /// not hold product(shape) elements of the dtype.
    void insert(std::string name, stored_tensor tensor) {
        check_consistent(tensor, name, source_);
        if (tensors_.contains(name)) {
            throw value_error(emofuse::detail::concat_message(
                "io::state_dict::insert: tensor '", name, "' is already present in ", source_));
        }
        tensors_.emplace(std::move(name), std::move(tensor));
    }

    /// Adds a copy of an xtensor as a tensor of the matching dtype.
    template <class T, std::size_t N>
    void insert(std::string name, const xt::xtensor<T, N>& values) {
        insert(std::move(name), to_stored(values));
    }

    bool contains(std::string_view name) const { return tensors_.find(name) != tensors_.end(); }
    std::size_t size() const noexcept { return tensors_.size(); }
    bool empty() const noexcept { return tensors_.empty(); }

    /// All names, sorted.
    std::vector<std::string> names() const {
        std::vector<std::string> result;
        result.reserve(tensors_.size());
        for (const auto& entry : tensors_) {
            result.push_back(entry.first);
        }
        return result;
    }

    /// The names that start with `prefix` (e.g. "fusion.0."), sorted: lets a loader check that
    /// a module's parameters are exactly the expected ones.
    std::vector<std::string> names(std::string_view prefix) const {
        std::vector<std::string> result;
        for (auto it = tensors_.lower_bound(prefix);
             it != tensors_.end() && std::string_view(it->first).starts_with(prefix); ++it) {
            result.push_back(it->first);
        }
        return result;
    }

    /// The tensors whose names start with `prefix`, renamed without it (same source and
    /// metadata): strips the "module." that nn.DataParallel adds, or selects one sub-module.
    state_dict without_prefix(std::string_view prefix) const {
        state_dict result(source_);
        result.metadata_ = metadata_;
        for (auto it = tensors_.lower_bound(prefix);
             it != tensors_.end() && std::string_view(it->first).starts_with(prefix); ++it) {
            result.tensors_.emplace(it->first.substr(prefix.size()), it->second);
        }
        return result;
    }

    /// The stored tensor; io_error naming the tensor, the source and some available names
    /// (those sharing the requested name's last component first) when absent.
    const stored_tensor& at(std::string_view name) const {
        const auto found = tensors_.find(name);
        if (found == tensors_.end()) {
            throw io_error(missing_message(name));
        }
        return found->second;
    }

    /// The tensor converted to T with rank N (see to_xtensor for the dtype rules).
    template <class T, std::size_t N>
    xt::xtensor<T, N> tensor(std::string_view name) const {
        return to_xtensor<T, N>(at(name), name, source_);
    }

    /// As above, also checking each extent of `expected_shape` that is not emofuse::dynamic.
    template <class T, std::size_t N>
    xt::xtensor<T, N> tensor(std::string_view name,
                             const std::array<std::size_t, N>& expected_shape) const {
        return to_xtensor<T, N>(at(name), name, source_, expected_shape);
    }

    /// The file path the tensors were read from, or "<memory>".
    std::string_view source() const noexcept { return source_; }

    /// Free-form string metadata (safetensors' "__metadata__").
    const std::map<std::string, std::string>& metadata() const noexcept { return metadata_; }
    void set_metadata(std::map<std::string, std::string> metadata) {
        metadata_ = std::move(metadata);
    }

    /// Iteration over (name, stored_tensor) pairs in name order.
    auto begin() const noexcept { return tensors_.begin(); }
    auto end() const noexcept { return tensors_.end(); }

private:
    std::string missing_message(std::string_view name) const {
        constexpr std::size_t shown = 8;
        // Names with the same last component ("weight", "bias", ...) are the likeliest
        // intended ones (a missing or extra module prefix), so they are listed first.
        const std::string_view last =
            name.substr(name.rfind('.') == std::string_view::npos ? 0 : name.rfind('.') + 1);
        std::vector<std::string_view> listed;
        for (const auto& [candidate, stored] : tensors_) {
            if (listed.size() < shown && std::string_view(candidate).ends_with(last) &&
                !last.empty()) {
                listed.push_back(candidate);
            }
        }
        for (const auto& [candidate, stored] : tensors_) {
            if (listed.size() >= shown) {
                break;
            }
            if (std::find(listed.begin(), listed.end(), candidate) == listed.end()) {
                listed.push_back(candidate);
            }
        }
        std::string text = emofuse::detail::concat_message(
            "io::state_dict: no tensor named '", name, "' in ", source_, "; it has ",
            tensors_.size(), tensors_.size() == 1 ? " tensor" : " tensors");
        for (std::size_t index = 0; index < listed.size(); ++index) {
            text += index == 0 ? ": '" : ", '";
            text += listed[index];
            text += "'";
        }
        if (tensors_.size() > listed.size()) {
            text += ", ...";
        }
        return text;
    }

    std::string source_ = "<memory>";
    std::map<std::string, stored_tensor, std::less<>> tensors_;
    std::map<std::string, std::string> metadata_;
};

} // namespace emofuse::io
