// emofuse/core/batch.hpp — the multimodal batch: a Boost.Hana map from modality key to a
// sequence<T> or features<T>.
#pragma once

#include "emofuse/core/error.hpp"
#include "emofuse/core/modality.hpp"
#include "emofuse/core/sequence.hpp"

#include <boost/hana/at_key.hpp>
#include <boost/hana/contains.hpp>
#include <boost/hana/core/tag_of.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/keys.hpp>
#include <boost/hana/length.hpp>
#include <boost/hana/map.hpp>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>

namespace emofuse {

namespace hana = boost::hana;

/// Builds a batch from key(value) pairs: make_batch(text(t), audio(a), vision(v)).
/// The order given is the order stages visit modalities (e.g. concatenation order).
template <class... Entries>
auto make_batch(Entries&&... entries) {
    static_assert((modality_key_type<decltype(hana::first(entries))> && ...),
                  "emofuse::make_batch: every argument must be key(value), e.g. "
                  "emofuse::text(text_sequence)");
    return hana::make_map(std::forward<Entries>(entries)...);
}

/// A batch entry, whether stored by value or (inside only<...>) by std::reference_wrapper.
template <class T>
inline constexpr bool is_reference_wrapper_v = false;
template <class T>
inline constexpr bool is_reference_wrapper_v<std::reference_wrapper<T>> = true;

template <class Value>
const auto& entry_of(const Value& value) {
    if constexpr (is_reference_wrapper_v<Value>) {
        return value.get();
    } else {
        return value;
    }
}

/// The type of a batch entry with any reference_wrapper removed.
template <class Value>
using entry_t = std::remove_cvref_t<decltype(entry_of(std::declval<const Value&>()))>;

template <class T>
inline constexpr bool is_batch_v = std::is_same_v<hana::tag_of_t<T>, hana::map_tag>;

/// A Hana map keyed by modalities.
template <class T>
concept batch_type = is_batch_v<std::remove_cvref_t<T>>;

namespace detail {

template <class Value>
std::size_t rows_of(const Value& value) {
    if constexpr (is_sequence_v<Value>) {
        return value.batch_size();
    } else {
        return value.shape(0);
    }
}

} // namespace detail

/// Number of samples in the batch; throws shape_error when modalities disagree or when the
/// batch is empty of modalities.
template <batch_type Batch>
std::size_t batch_size(const Batch& batch, std::string_view stage = "batch") {
    std::optional<std::size_t> size;
    std::string first_name;
    hana::for_each(hana::keys(batch), [&](auto key) {
        const std::size_t rows = detail::rows_of(entry_of(batch[key]));
        if (!size) {
            size = rows;
            first_name = std::string(name_of(key));
        } else if (*size != rows) {
            throw shape_error(detail::concat_message(stage, ": modality '", name_of(key), "' has ",
                                                     rows, " samples but '", first_name, "' has ",
                                                     *size));
        }
    });
    if (!size) {
        throw shape_error(detail::concat_message(stage, ": the batch holds no modality"));
    }
    return *size;
}

} // namespace emofuse
