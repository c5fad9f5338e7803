// emofuse/core/concepts.hpp — the four kinds of stage and what each accepts and returns.
//
// A stage declares its kind by deriving from one of the empty bases below (which also lets
// `a | b` find emofuse's operator| for stages from any namespace):
//   modality_stage_base: one modality's sequence<T> or features<T> -> sequence<T> or features<T>
//   batch_stage_base:    batch -> batch (per_modality(s) and only<keys...>(s) make these)
//   fusion_stage_base:   batch -> features<T>
//   head_stage_base:     features<T> -> features<T>
// A stage may declare `static constexpr std::size_t input_size` / `output_size` (features
// per sample, `dynamic` when unknown) so that composition checks them at compile time, and
// a fusion stage may declare `static constexpr auto required_modalities` (a hana tuple of
// keys) so that a batch lacking one fails to compile.
#pragma once

#include "emofuse/core/dims.hpp"
#include "emofuse/core/sequence.hpp"

#include <concepts>
#include <cstddef>
#include <type_traits>

namespace emofuse {

struct modality_stage_base {};
struct batch_stage_base {};
struct fusion_stage_base {};
struct head_stage_base {};

template <class S>
concept modality_stage = std::derived_from<std::remove_cvref_t<S>, modality_stage_base>;
template <class S>
concept batch_stage = std::derived_from<std::remove_cvref_t<S>, batch_stage_base>;
template <class S>
concept fusion_stage = std::derived_from<std::remove_cvref_t<S>, fusion_stage_base>;
template <class S>
concept head_stage = std::derived_from<std::remove_cvref_t<S>, head_stage_base>;

/// Anything that can be an element of a pipeline.
template <class S>
concept stage = modality_stage<S> || batch_stage<S> || fusion_stage<S> || head_stage<S>;

/// A head that can be fitted in closed form on (features, targets).
template <class S, class T>
concept fittable_head = head_stage<S> &&
    requires(S& head, const features<T>& x, const features<T>& y) {
    head.fit(x, y);
};

namespace detail {

template <class S>
constexpr std::size_t declared_input_size() {
    if constexpr (requires { S::input_size; }) {
        return S::input_size;
    } else {
        return dynamic;
    }
}

template <class S>
constexpr std::size_t declared_output_size() {
    if constexpr (requires { S::output_size; }) {
        return S::output_size;
    } else {
        return dynamic;
    }
}

} // namespace detail

/// Features per sample a stage consumes, or `dynamic`.
template <class S>
inline constexpr std::size_t input_size_of = detail::declared_input_size<std::remove_cvref_t<S>>();

/// Features per sample a stage produces, or `dynamic`.
template <class S>
inline constexpr std::size_t
    output_size_of = detail::declared_output_size<std::remove_cvref_t<S>>();

} // namespace emofuse
