// emofuse/core/pipeline.hpp — composing stages: per_modality(s), only<keys...>(s), a | b.
//
//   auto pipe = per_modality(pool::mean{}) | fusion::concat{} | heads::linear<float>{w, b};
//   features<float> out = pipe(batch);
//
// Stages that cannot fit together fail to compile with a static_assert that says what to do.
#pragma once

#include "emofuse/core/batch.hpp"
#include "emofuse/core/concepts.hpp"

#include <boost/hana/at.hpp>
#include <boost/hana/contains.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/map.hpp>
#include <boost/hana/pair.hpp>
#include <boost/hana/tuple.hpp>
#include <boost/hana/unpack.hpp>

#include <cstddef>
#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>

namespace emofuse {

namespace detail {

// Instantiated once per (batch, key) that a stage needs; the failing instantiation names
// both in the compiler's "required from" note.
template <class Batch, class Key>
struct require_modality {
    static constexpr bool present =
        decltype(hana::contains(std::declval<const Batch&>(), Key{}))::value;
    static_assert(present,
                  "emofuse: the batch has no modality that this stage needs. The missing key is "
                  "the modality_key<...> named in require_modality<...> above: add it to "
                  "make_batch(...), or leave it out of only<...>(...) / the fusion stage.");
};

template <class Batch, class KeyTuple>
constexpr void require_modalities() {
    hana::for_each(KeyTuple{}, [](auto key) {
        static_assert(require_modality<Batch, decltype(key)>::present);
    });
}

// Instantiated when two static sizes meet; a failure shows both numbers.
template <std::size_t Produced, std::size_t Expected>
struct static_size_check {
    static constexpr bool fits = !static_sizes_conflict(Produced, Expected);
    static_assert(fits,
                  "emofuse: a stage produces a different number of features per sample than "
                  "the next stage expects. The two numbers are the arguments of "
                  "static_size_check<produced, expected> above: make the dims<...> or sizes of "
                  "the two stages agree, or leave one of them dynamic.");
};

} // namespace detail

/// Runs a per-modality stage on every modality of the batch.
template <modality_stage Stage>
class per_modality_stage : public batch_stage_base {
public:
    explicit per_modality_stage(Stage stage) : stage_(std::move(stage)) {}

    template <batch_type Batch>
    auto operator()(const Batch& batch) const {
        return hana::unpack(batch, [&](const auto&... entries) {
            return hana::make_map(
                hana::make_pair(hana::first(entries), stage_(hana::second(entries)))...);
        });
    }

    [[nodiscard]] const Stage& inner() const { return stage_; }

private:
    Stage stage_;
};

/// Restricts a stage to the listed modalities. A per-modality stage runs on those keys and
/// passes the others through unchanged; a fusion stage sees only those keys, in that order.
template <class Stage, auto... Keys>
class selected_stage
    : public std::conditional_t<modality_stage<Stage>, batch_stage_base, fusion_stage_base> {
public:
    static constexpr auto required_modalities = hana::make_tuple(Keys...);
    static constexpr std::size_t output_size = output_size_of<Stage>;

    explicit selected_stage(Stage stage) : stage_(std::move(stage)) {}

    template <batch_type Batch>
    auto operator()(const Batch& batch) const {
        detail::require_modalities<Batch, std::remove_const_t<decltype(required_modalities)>>();
        if constexpr (modality_stage<Stage>) {
            return hana::unpack(batch, [&](const auto&... entries) {
                return hana::make_map(hana::make_pair(
                    hana::first(entries),
                    apply_if_selected(hana::first(entries), hana::second(entries)))...);
            });
        } else {
            // References, not copies: fusion stages read entries through entry_of().
            return stage_(hana::make_map(hana::make_pair(Keys, std::cref(batch[Keys]))...));
        }
    }

    [[nodiscard]] const Stage& inner() const { return stage_; }

private:
    template <class Key, class Value>
    auto apply_if_selected(Key key, const Value& value) const {
        if constexpr (((std::is_same_v<Key, std::remove_const_t<decltype(Keys)>>) || ...)) {
            (void)key;
            return stage_(value);
        } else {
            (void)key;
            return value;
        }
    }

    Stage stage_;
};

/// per_modality(pool::mean{}): run a per-modality stage on every modality.
template <class Stage>
auto per_modality(Stage stage) {
    static_assert(modality_stage<Stage>,
                  "emofuse::per_modality: the argument must be a per-modality stage (a pooler, "
                  "aligner or normaliser deriving from emofuse::modality_stage_base); fusion "
                  "stages and heads go directly into the pipeline with |");
    return per_modality_stage<Stage>(std::move(stage));
}

/// only<text, audio>(stage): run a per-modality stage on some modalities, or feed a fusion
/// stage a chosen subset of modalities in a chosen order.
template <auto... Keys, class Stage>
auto only(Stage stage) {
    static_assert(sizeof...(Keys) > 0, "emofuse::only: name at least one modality key");
    static_assert((modality_key_type<decltype(Keys)> && ...),
                  "emofuse::only<...>: the template arguments must be modality keys such as "
                  "emofuse::text or emofuse::modality<\"depth\">");
    static_assert(modality_stage<Stage> || fusion_stage<Stage>,
                  "emofuse::only: the argument must be a per-modality stage or a fusion stage; "
                  "heads see one feature matrix and have no modalities to choose");
    return selected_stage<Stage, Keys...>(std::move(stage));
}

template <class... Stages>
class pipeline;

namespace detail {

template <class T>
inline constexpr bool is_pipeline_v = false;
template <class... S>
inline constexpr bool is_pipeline_v<pipeline<S...>> = true;

// Compile-time check that Right may follow Left.
template <class Left, class Right>
constexpr bool check_link() {
    static_assert(!modality_stage<Left> && !modality_stage<Right>,
                  "emofuse: a per-modality stage (pooler, aligner, normaliser) acts on one "
                  "modality at a time and cannot be chained with | directly: wrap it as "
                  "per_modality(stage) to run it on every modality, or only<keys...>(stage).");
    if constexpr (fusion_stage<Left> || head_stage<Left>) {
        static_assert(head_stage<Right>,
                      "emofuse: after a fusion stage or a head the data is one feature matrix "
                      "(batch, features), so only a head (heads::linear, heads::ridge, ...) can "
                      "follow. Move per-modality stages and fusion in front of it.");
    }
    if constexpr (batch_stage<Left>) {
        static_assert(!head_stage<Right>,
                      "emofuse: a head needs one feature matrix, but the data here is still a "
                      "multimodal batch. Put a fusion stage (e.g. fusion::concat{}) between "
                      "the per-modality stages and the head.");
    }
    return static_size_check<output_size_of<Left>, input_size_of<Right>>::fits;
}

template <class Stage>
auto as_tuple(Stage&& stage) {
    using S = std::remove_cvref_t<Stage>;
    if constexpr (is_pipeline_v<S>) {
        return std::forward<Stage>(stage).stages();
    } else {
        return std::tuple<S>(std::forward<Stage>(stage));
    }
}

template <class... Stages>
auto make_pipeline(std::tuple<Stages...> stages) {
    return pipeline<Stages...>(std::move(stages));
}

template <class Stage, class Input>
auto run_stage(const Stage& stage, const Input& input) {
    if constexpr (batch_stage<Stage> || fusion_stage<Stage>) {
        static_assert(batch_type<Input>,
                      "emofuse: this stage takes a multimodal batch (make_batch(...)), but it "
                      "was given a feature matrix");
        if constexpr (requires { Stage::required_modalities; }) {
            require_modalities<Input, std::remove_const_t<decltype(Stage::required_modalities)>>();
        }
    } else {
        static_assert(!batch_type<Input>,
                      "emofuse: a head takes one feature matrix, but it was given a multimodal "
                      "batch; put a fusion stage in front of it");
    }
    return stage(input);
}

} // namespace detail

/// A fixed sequence of stages; calling it runs them left to right.
template <class... Stages>
class pipeline {
    static_assert(sizeof...(Stages) > 0, "emofuse::pipeline needs at least one stage");

public:
    static constexpr std::size_t size = sizeof...(Stages);
    using first_stage = std::tuple_element_t<0, std::tuple<Stages...>>;
    using last_stage = std::tuple_element_t<size - 1, std::tuple<Stages...>>;
    static constexpr std::size_t input_size = input_size_of<first_stage>;
    static constexpr std::size_t output_size = output_size_of<last_stage>;

    explicit pipeline(std::tuple<Stages...> stages) : stages_(std::move(stages)) {}

    /// Runs every stage.
    template <class Input>
    auto operator()(const Input& input) const {
        return run_until<0, size>(input);
    }

    /// Runs every stage but the last: the features a read-out head sees (e.g. to fit it).
    template <class Input>
    auto features(const Input& input) const {
        static_assert(size > 1, "emofuse::pipeline::features needs at least two stages");
        return run_until<0, size - 1>(input);
    }

    template <std::size_t I>
    [[nodiscard]] auto& stage() {
        return std::get<I>(stages_);
    }
    template <std::size_t I>
    [[nodiscard]] const auto& stage() const {
        return std::get<I>(stages_);
    }
    [[nodiscard]] last_stage& last() { return std::get<size - 1>(stages_); }
    [[nodiscard]] const last_stage& last() const { return std::get<size - 1>(stages_); }

    [[nodiscard]] const std::tuple<Stages...>& stages() const& { return stages_; }
    [[nodiscard]] std::tuple<Stages...>&& stages() && { return std::move(stages_); }

private:
    /// Runs stages I, I+1, …, End−1 on `input`.
    template <std::size_t I, std::size_t End, class Input>
    auto run_until(const Input& input) const {
        if constexpr (I + 1 == End) {
            return detail::run_stage(std::get<I>(stages_), input);
        } else {
            return run_until<I + 1, End>(detail::run_stage(std::get<I>(stages_), input));
        }
    }

    std::tuple<Stages...> stages_;
};

template <class S>
concept pipeline_or_stage = stage<S> || detail::is_pipeline_v<std::remove_cvref_t<S>>;

template <class S>
struct first_stage_of {
    using type = S;
};
template <class... S>
struct first_stage_of<pipeline<S...>> {
    using type = typename pipeline<S...>::first_stage;
};
template <class S>
struct last_stage_of {
    using type = S;
};
template <class... S>
struct last_stage_of<pipeline<S...>> {
    using type = typename pipeline<S...>::last_stage;
};

/// a | b: a pipeline that runs a, then b. Either side may itself be a pipeline.
template <class Left, class Right>
requires(pipeline_or_stage<Left>&& pipeline_or_stage<Right>) auto operator|(Left&& left,
                                                                            Right&& right) {
    using L = typename last_stage_of<std::remove_cvref_t<Left>>::type;
    using R = typename first_stage_of<std::remove_cvref_t<Right>>::type;
    static_assert(detail::check_link<L, R>());
    return detail::make_pipeline(std::tuple_cat(detail::as_tuple(std::forward<Left>(left)),
                                                detail::as_tuple(std::forward<Right>(right))));
}

} // namespace emofuse
