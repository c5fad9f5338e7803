// emofuse/text/unicode_fold.hpp — NFKC with full case folding (Unicode's NFKC_Casefold, as
// utf8proc computes it): the normalisation that makes "ＨＡＰＰＹ", "Happy" and "happy" one
// word. Needs utf8proc (the emofuse::unicode component).
#pragma once

#include <emofuse/core/error.hpp>

#include <utf8proc.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

namespace emofuse::language {

/// `utf8` under NFKC_Casefold: compatibility decomposition (full-width forms, ligatures,
/// superscripts), full case folding (language-independent: "ß" becomes "ss", "İ" becomes
/// "i̇" — 'i' and U+0307 — and the dotless "ı" stays), canonical composition, and default
/// ignorable characters (zero-width spaces and joiners, soft hyphens) removed.
/// value_error naming the byte for ill-formed UTF-8 (NUL is a character like any other).
[[nodiscard]] inline std::string nfkc_casefold(std::string_view utf8) {
    const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(utf8.data());
    const auto size = static_cast<utf8proc_ssize_t>(utf8.size());
    for (utf8proc_ssize_t i = 0; i < size;) {
        utf8proc_int32_t code = 0;
        const utf8proc_ssize_t length = utf8proc_iterate(bytes + i, size - i, &code);
        if (length <= 0) {
            constexpr char hex[] = "0123456789ABCDEF";
            const unsigned byte = bytes[i];
            throw value_error(emofuse::detail::concat_message(
                "language::nfkc_casefold: invalid UTF-8 at byte ", i + 1, " (0x", hex[byte >> 4],
                hex[byte & 0xF], ")"));
        }
        i += length;
    }
    utf8proc_uint8_t* folded = nullptr;
    const auto options = static_cast<utf8proc_option_t>(
        UTF8PROC_STABLE | UTF8PROC_COMPAT | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD | UTF8PROC_IGNORE);
    const utf8proc_ssize_t length = utf8proc_map(bytes, size, &folded, options);
    const std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owner(folded, &std::free);
    if (length < 0) {
        throw value_error(
            emofuse::detail::concat_message("language::nfkc_casefold: ", utf8proc_errmsg(length)));
    }
    return std::string(reinterpret_cast<const char*>(folded), static_cast<std::size_t>(length));
}

} // namespace emofuse::language
