// examples/eval/suites.hpp — the one table of emofuse-eval's suites: names, presets (each
// with its input kind and binder), default class counts and --help descriptions. Every
// suite list the tool prints or checks is derived from it.
#pragma once

#include "binders.hpp"

#include <array>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

namespace emofuse::eval {

struct options;
struct suite_spec;

/// What one sample line holds.
enum class input_kind {
    scores,          ///< one real score
    class_ids,       ///< one class id (or K logits), mer2023 plus a valence
    binary_emotions, ///< per-emotion 0/1 columns (or two logits each)
    word_sets,       ///< comma-separated words
};

/// Reads both files and binds the suite's metrics to the parsed data.
using binder = bound_suite (*)(const options&, const suite_spec&, std::string_view preset);

struct preset_spec {
    std::string_view name;
    input_kind input;
    binder bind;
    /// Binder for --pred-format llm (free-text answers); null: the preset takes none.
    binder answers = nullptr;
    /// Decimals each run's values have in the peer's reports before they are averaged over
    /// runs (MMSA's metricsTop rounds to 4); 0: unrounded.
    int run_decimals = 0;
};

inline constexpr std::size_t max_presets = 2;

struct suite_spec {
    std::string_view name;
    std::array<preset_spec, max_presets> preset_list;
    std::size_t preset_count;
    /// Class suites without --num-classes: K; 0 infers the largest id + 1.
    std::size_t default_classes;
    /// Description in --help; continuation lines start with '\n'. Empty: listed on the
    /// previous suite's row (same presets).
    std::string_view help;

    [[nodiscard]] constexpr std::span<const preset_spec> presets() const noexcept {
        return std::span<const preset_spec>(preset_list.data(), preset_count);
    }
};

/// Every suite, in --help order.
[[nodiscard]] std::span<const suite_spec> suite_table() noexcept;

/// The suite named o.suite and its preset (o.preset or the default, the first);
/// cli::usage_error naming the valid choices otherwise.
struct resolved_suite {
    const suite_spec* suite;
    const preset_spec* preset;
};
[[nodiscard]] resolved_suite resolve_suite(const options& o);

/// "a, b, c": the suites (with the preset when only some of a suite's presets qualify)
/// whose preset (or its input kind) passes `accept`.
template <class Accept>
[[nodiscard]] std::string suites_where(Accept accept) {
    std::string out;
    for (const auto& s : suite_table()) {
        std::size_t accepted = 0;
        const auto passes = [&](const preset_spec& p) {
            if constexpr (std::is_invocable_v<Accept, const preset_spec&>) {
                return static_cast<bool>(accept(p));
            } else {
                return static_cast<bool>(accept(p.input));
            }
        };
        for (const auto& p : s.presets()) {
            accepted += passes(p) ? 1 : 0;
        }
        for (const auto& p : s.presets()) {
            if (accepted == 0 || !passes(p)) {
                continue;
            }
            out += (out.empty() ? "" : ", ") + std::string(s.name);
            if (accepted != s.preset_count) {
                out += " " + std::string(p.name);
            }
            if (accepted == s.preset_count) {
                break; // the whole suite qualifies: name it once
            }
        }
    }
    return out;
}

} // namespace emofuse::eval
