// emofuse/core/modality.hpp — compile-time modality keys (text, audio, vision, your own).
#pragma once

#include "emofuse/core/fixed_string.hpp"

#include <boost/hana/bool.hpp>
#include <boost/hana/fwd/equal.hpp>
#include <boost/hana/fwd/hash.hpp>
#include <boost/hana/pair.hpp>
#include <boost/hana/type.hpp>

#include <string_view>
#include <type_traits>
#include <utility>

namespace emofuse {

/// Hana tag shared by every modality key, so keys can index a boost::hana::map.
struct modality_tag {};

/// A modality key: an empty value whose type carries the name. `text(x)` pairs the key
/// with a value for make_batch.
template <fixed_string Name>
struct modality_key {
    using hana_tag = modality_tag;
    static constexpr std::string_view name = Name.view();

    template <class Value>
    constexpr auto operator()(Value&& value) const {
        return boost::hana::make_pair(*this, std::forward<Value>(value));
    }
};

/// A user-defined modality: `constexpr auto depth = emofuse::modality<"depth">;`
template <fixed_string Name>
inline constexpr modality_key<Name> modality{};

inline constexpr auto text = modality<"text">;
inline constexpr auto audio = modality<"audio">;
inline constexpr auto vision = modality<"vision">;

template <class T>
inline constexpr bool is_modality_key_v = false;
template <fixed_string Name>
inline constexpr bool is_modality_key_v<modality_key<Name>> = true;

/// Anything that names a modality.
template <class T>
concept modality_key_type = is_modality_key_v<std::remove_cvref_t<T>>;

/// The name of a key as a string_view, for messages.
template <modality_key_type Key>
constexpr std::string_view name_of(Key) {
    return std::remove_cvref_t<Key>::name;
}

} // namespace emofuse

namespace boost::hana {

// Two keys are equal exactly when they name the same modality (same type).
template <>
struct equal_impl<emofuse::modality_tag, emofuse::modality_tag> {
    template <class X, class Y>
    static constexpr auto apply(const X&, const Y&) {
        return bool_c<std::is_same_v<X, Y>>;
    }
};

// A key hashes to its own type, which is what hana::map needs for compile-time lookup.
template <>
struct hash_impl<emofuse::modality_tag> {
    template <class X>
    static constexpr auto apply(const X&) {
        return type_c<X>;
    }
};

} // namespace boost::hana
