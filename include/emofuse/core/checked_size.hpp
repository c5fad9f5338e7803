// emofuse/core/checked_size.hpp — size arithmetic that cannot wrap. Every place where a shape
// becomes an element or byte count goes through these, so an absurd extent (a hostile file, a
// flag of 2^62) is a clear shape_error instead of a small allocation that is then overrun.
#pragma once

#include <emofuse/core/error.hpp>

#include <cstddef>
#include <initializer_list>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace emofuse {

/// a·b, or nullopt when it does not fit in size_t.
[[nodiscard]] constexpr std::optional<std::size_t> try_multiply(std::size_t a, std::size_t b) {
    if (a != 0 && b > std::numeric_limits<std::size_t>::max() / a) {
        return std::nullopt;
    }
    return a * b;
}

/// Product of `extents`, or nullopt when the product of the non-zero extents overflows (such
/// a shape is refused even when another extent is zero: its strides would overflow too).
[[nodiscard]] constexpr std::optional<std::size_t>
try_element_count(std::span<const std::size_t> extents) {
    std::size_t nonzero_product = 1;
    bool has_zero = false;
    for (const std::size_t extent : extents) {
        if (extent == 0) {
            has_zero = true;
            continue;
        }
        const auto next = try_multiply(nonzero_product, extent);
        if (!next) {
            return std::nullopt;
        }
        nonzero_product = *next;
    }
    return has_zero ? 0 : nonzero_product;
}

/// Product of `extents` times `item_bytes`; throws shape_error naming `what` on overflow.
/// `what` says whose size it is ("emofuse-align --tensors: (samples, seq_len, features)").
[[nodiscard]] inline std::size_t checked_byte_count(std::string_view what,
                                                    std::span<const std::size_t> extents,
                                                    std::size_t item_bytes = 1) {
    const auto count = try_element_count(extents);
    const auto bytes = count ? try_multiply(*count, item_bytes) : std::nullopt;
    if (!bytes) {
        std::string shape = "(";
        for (std::size_t i = 0; i < extents.size(); ++i) {
            shape += (i ? ", " : "") + std::to_string(extents[i]);
        }
        shape += ")";
        throw shape_error(detail::concat_message(what, ": shape ", shape, " of ", item_bytes,
                                                 "-byte items does not fit in memory (",
                                                 "its size overflows size_t)"));
    }
    return *bytes;
}

/// checked_byte_count for a fixed list of extents.
[[nodiscard]] inline std::size_t checked_byte_count(std::string_view what,
                                                    std::initializer_list<std::size_t> extents,
                                                    std::size_t item_bytes = 1) {
    return checked_byte_count(what, std::span<const std::size_t>(extents.begin(), extents.size()),
                              item_bytes);
}

/// Element count of `extents`; throws shape_error naming `what` on overflow.
[[nodiscard]] inline std::size_t checked_element_count(std::string_view what,
                                                       std::initializer_list<std::size_t> extents) {
    return checked_byte_count(what, extents, 1);
}

} // namespace emofuse
