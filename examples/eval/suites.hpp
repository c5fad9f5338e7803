// examples/eval/suites.hpp — emofuse-eval's view of the one suite table
// (common/metric_suites.hpp: names, presets with their input kinds, default class counts,
// --help descriptions): preset resolution, the binder of each input kind, and the suite
// lists the tool prints or checks.
#pragma once

#include "binders.hpp"
#include "common/metric_suites.hpp"

#include <array>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

namespace emofuse::eval {

struct options;

// The table itself is shared with the Python module (common/metric_suites.hpp).
using input_kind = cli::suites::input_kind;
using preset_spec = cli::suites::preset_entry;
using suite_spec = cli::suites::suite_entry;

/// Reads both files in the preset's input format and binds the suite's metrics to the data.
[[nodiscard]] bound_suite bind_suite(const options& o, const suite_spec& suite,
                                     const preset_spec& preset);

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
