// emofuse/core/fixed_string.hpp — a string literal usable as a template argument.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string_view>

namespace emofuse {

/// A compile-time string that can be a non-type template parameter: modality<"depth">.
template <std::size_t N>
struct fixed_string {
    char chars[N]{};

    constexpr fixed_string(const char (&text)[N]) { std::copy_n(text, N, chars); }

    [[nodiscard]] constexpr std::string_view view() const { return {chars, N - 1}; }
    [[nodiscard]] static constexpr std::size_t size() { return N - 1; }

    template <std::size_t M>
    constexpr bool operator==(const fixed_string<M>& other) const {
        return view() == other.view();
    }
};

} // namespace emofuse
