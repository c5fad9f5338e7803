// emofuse/core/dims.hpp — optional static dimensions: where sizes are known at compile
// time, output sizes become constants and stages compose with compile-time checks.
#pragma once

#include <array>
#include <cstddef>
#include <limits>

namespace emofuse {

/// Marks a size that is only known at run time.
inline constexpr std::size_t dynamic = std::numeric_limits<std::size_t>::max();

/// A list of sizes, each a constant or `dynamic`: dims<32, 128, 32>.
template <std::size_t... Sizes>
struct dims {
    static constexpr std::size_t count = sizeof...(Sizes);
    static constexpr std::array<std::size_t, count> values{Sizes...};
    static constexpr bool is_static = ((Sizes != dynamic) && ...);

    /// Sum of the sizes, or dynamic when any is dynamic.
    static constexpr std::size_t sum = is_static ? (Sizes + ... + 0) : dynamic;
    /// Product of the sizes, or dynamic when any is dynamic.
    static constexpr std::size_t product = is_static ? (Sizes * ... * 1) : dynamic;
    /// Product of (size + 1): the width of a tensor fusion with a prepended 1 per factor.
    static constexpr std::size_t product_plus_one = is_static ? ((Sizes + 1) * ... * 1) : dynamic;
};

template <class T>
inline constexpr bool is_dims_v = false;
template <std::size_t... Sizes>
inline constexpr bool is_dims_v<dims<Sizes...>> = true;

/// True when both sizes are known and differ.
constexpr bool static_sizes_conflict(std::size_t produced, std::size_t expected) {
    return produced != dynamic && expected != dynamic && produced != expected;
}

} // namespace emofuse
