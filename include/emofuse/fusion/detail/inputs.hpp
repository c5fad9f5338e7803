// emofuse/fusion/detail/inputs.hpp — reading a batch's utterance-level entries as raw views in
// batch order, with the element-type and size checks every fusion stage shares.
#pragma once

#include "emofuse/core/batch.hpp"
#include "emofuse/core/error.hpp"
#include "emofuse/core/sequence.hpp"
#include "emofuse/kernels/workspace.hpp"

#include <boost/hana/for_each.hpp>
#include <boost/hana/front.hpp>
#include <boost/hana/keys.hpp>
#include <boost/hana/length.hpp>

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>

namespace emofuse::fusion::detail {

/// The element type of a batch's first entry (features<T> or sequence<T>).
template <class Batch>
using batch_value_t =
    typename entry_t<std::remove_cvref_t<decltype(std::declval<const Batch&>()[hana::front(
        hana::keys(std::declval<const Batch&>()))])>>::value_type;

/// Number of modalities in a batch type.
template <class Batch>
inline constexpr std::size_t modality_count_v =
    decltype(hana::length(hana::keys(std::declval<const Batch&>())))::value;

/// One modality's utterance rows: `rows` samples of `cols` features, row-major.
template <class T>
struct feature_view {
    const T* data = nullptr;
    std::size_t cols = 0;
    std::string_view name;

    [[nodiscard]] const T* row(std::size_t r) const { return data + r * cols; }
};

/// Checks that every entry is features<T> of one element type and returns views in batch
/// order. `Stage` is a literal naming the stage for static_assert-free messages.
template <class T, batch_type Batch>
std::array<feature_view<T>, modality_count_v<Batch>> feature_views(const Batch& batch) {
    std::array<feature_view<T>, modality_count_v<Batch>> views{};
    std::size_t index = 0;
    hana::for_each(hana::keys(batch), [&](auto key) {
        using entry = entry_t<std::remove_cvref_t<decltype(batch[key])>>;
        static_assert(is_features_v<entry>,
                      "emofuse::fusion: this stage fuses utterance-level features (batch, "
                      "features); pool sequences first, e.g. per_modality(pool::mean{}) | stage");
        static_assert(std::is_same_v<typename entry::value_type, T>,
                      "emofuse::fusion: every modality must have the same element type");
        const auto& x = entry_of(batch[key]);
        views[index++] = feature_view<T>{x.data(), x.shape(1), name_of(key)};
    });
    return views;
}

/// Throws shape_error unless the batch holds exactly `expected` modalities.
inline void check_modality_count(std::string_view stage, std::size_t expected, std::size_t actual) {
    if (expected != actual) {
        throw shape_error(emofuse::detail::concat_message(
            stage, ": number of modalities: expected ", expected, ", got ", actual));
    }
}

/// Throws shape_error unless modality `view` has `expected` features.
template <class T>
void check_features(std::string_view stage, const feature_view<T>& view, std::size_t expected) {
    if (view.cols != expected) {
        throw shape_error(mismatch_message(
            stage, "features of modality '" + std::string(view.name) + "'", expected, view.cols));
    }
}

/// Scratch owned by the calling thread for fusion stages (separate from the kernels' own
/// thread workspace, so a stage can hold its buffers while it calls a GEMM).
[[nodiscard]] inline kernels::workspace& fusion_scratch() {
    thread_local kernels::workspace ws;
    return ws;
}

} // namespace emofuse::fusion::detail
