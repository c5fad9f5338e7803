// emofuse/text/unicode.hpp — the Unicode a BERT tokenizer needs, as Python computes it.
//
// Hugging Face's BertTokenizer runs on Python strings: it classifies characters with
// `unicodedata.category`, lower-cases with `str.lower`, normalises with
// `unicodedata.normalize` and splits with `str.split`. The tables behind these functions are
// generated from Python's own database (detail/unicode_tables.hpp, Unicode version in
// `unicode_version`), so the answers are Python's, not some other library's Unicode version.
// Text comes in as UTF-8 bytes and is checked strictly: overlong forms, surrogates, code
// points above U+10FFFF and cut sequences are errors that name the byte.
#pragma once

#include <emofuse/core/error.hpp>
#include <emofuse/text/detail/unicode_tables.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>

namespace emofuse::language {

/// The Unicode version of the tables (that of the Python that generated them).
inline constexpr std::string_view unicode_version = detail::unicode_version;

namespace detail {

[[nodiscard]] inline std::uint16_t unicode_entry(char32_t cp) noexcept {
    if (cp >= 0x110000) {
        return static_cast<std::uint16_t>(removed_by_clean << 8); // unassigned: category Cn
    }
    const std::size_t block = property_index[cp >> property_block_shift];
    return property_blocks[(block << property_block_shift) |
                           (cp & ((1u << property_block_shift) - 1))];
}

[[nodiscard]] inline bool has_property(char32_t cp, std::uint16_t bit) noexcept {
    return (unicode_entry(cp) >> 8) & bit;
}

/// The code points `key` maps to in one of the generated mapping tables, empty if none.
template <std::size_t Keys, std::size_t Starts, std::size_t Data>
[[nodiscard]] std::u32string_view find_mapping(const std::uint32_t (&keys)[Keys],
                                               const std::uint16_t (&starts)[Starts],
                                               const char32_t (&data)[Data], char32_t key) {
    const auto* found = std::lower_bound(std::begin(keys), std::end(keys), key);
    if (found == std::end(keys) || *found != key) {
        return {};
    }
    const auto index = static_cast<std::size_t>(found - std::begin(keys));
    return {data + starts[index], static_cast<std::size_t>(starts[index + 1] - starts[index])};
}

inline constexpr char32_t hangul_s_base = 0xAC00, hangul_l_base = 0x1100;
inline constexpr char32_t hangul_v_base = 0x1161, hangul_t_base = 0x11A7;
inline constexpr char32_t hangul_l_count = 19, hangul_v_count = 21, hangul_t_count = 28;
inline constexpr char32_t hangul_n_count = hangul_v_count * hangul_t_count;
inline constexpr char32_t hangul_s_count = hangul_l_count * hangul_n_count;

/// The primary composite of `first` + `second`, or 0 when the pair does not compose.
[[nodiscard]] inline char32_t compose_pair(char32_t first, char32_t second) {
    if (first >= hangul_l_base && first < hangul_l_base + hangul_l_count &&
        second >= hangul_v_base && second < hangul_v_base + hangul_v_count) {
        return hangul_s_base +
               ((first - hangul_l_base) * hangul_v_count + (second - hangul_v_base)) *
                   hangul_t_count;
    }
    if (first >= hangul_s_base && first < hangul_s_base + hangul_s_count &&
        (first - hangul_s_base) % hangul_t_count == 0 && second > hangul_t_base &&
        second < hangul_t_base + hangul_t_count) {
        return first + (second - hangul_t_base);
    }
    const std::uint64_t key = (std::uint64_t{first} << 21) | second;
    const auto* found =
        std::lower_bound(std::begin(composition_keys), std::end(composition_keys), key);
    if (found == std::end(composition_keys) || *found != key) {
        return 0;
    }
    return composition_values[found - std::begin(composition_keys)];
}

} // namespace detail

/// Canonical combining class (Python: unicodedata.combining).
[[nodiscard]] inline int combining_class(char32_t cp) noexcept {
    return detail::unicode_entry(cp) & 0xFF;
}

/// What BertTokenizer's `_clean_text` deletes: NUL, U+FFFD and every character of category C*
/// (control, format, surrogate, private use, unassigned) except tab, newline and carriage return.
[[nodiscard]] inline bool is_removed_by_cleaning(char32_t cp) noexcept {
    return detail::has_property(cp, detail::removed_by_clean);
}

/// BertTokenizer's `_is_whitespace`: space, tab, newline, carriage return or category Zs.
[[nodiscard]] inline bool is_bert_whitespace(char32_t cp) noexcept {
    return detail::has_property(cp, detail::bert_whitespace);
}

/// BertTokenizer's `_is_punctuation`: every non-alphanumeric printable ASCII character (33-47,
/// 58-64, 91-96, 123-126) and every character of category P*.
[[nodiscard]] inline bool is_bert_punctuation(char32_t cp) noexcept {
    return detail::has_property(cp, detail::punctuation);
}

/// Category Mn: what accent stripping removes after NFD.
[[nodiscard]] inline bool is_nonspacing_mark(char32_t cp) noexcept {
    return detail::has_property(cp, detail::nonspacing_mark);
}

/// Python's `str.isspace`, where `str.split()` cuts (includes U+2028 and U+2029, which
/// cleaning keeps).
[[nodiscard]] inline bool is_python_space(char32_t cp) noexcept {
    return detail::has_property(cp, detail::python_space);
}

/// BertTokenizer's `_is_chinese_char`: the CJK Unified Ideographs blocks and extensions A-E
/// and the compatibility ideographs, exactly the ranges it lists (not Hangul, kana or
/// extensions added after it was written).
[[nodiscard]] inline bool is_cjk_ideograph(char32_t cp) noexcept {
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
           (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

/// Appends Python's `chr(cp).lower()`: the full lower-case mapping of one character (U+0130
/// becomes "i" + U+0307). Applied character by character, as BertTokenizer's base class
/// lower-cases its input, so the context-dependent final sigma is never produced.
inline void append_lowercase(std::u32string& out, char32_t cp) {
    if (cp < 0x80) {
        out.push_back(cp >= 'A' && cp <= 'Z' ? cp + ('a' - 'A') : cp);
        return;
    }
    if (detail::has_property(cp, detail::has_lowercase)) {
        out += detail::find_mapping(detail::lowercase_keys, detail::lowercase_starts,
                                    detail::lowercase_data, cp);
    } else {
        out.push_back(cp);
    }
}

/// Canonical decomposition (Python: unicodedata.normalize("NFD", text)).
[[nodiscard]] inline std::u32string nfd(std::u32string_view text) {
    using namespace detail;
    std::u32string out;
    out.reserve(text.size());
    bool has_marks = false;
    for (const char32_t cp : text) {
        const auto entry = unicode_entry(cp);
        if (!((entry >> 8) & has_decomposition)) {
            has_marks = has_marks || (entry & 0xFF) != 0;
            out.push_back(cp);
        } else if (cp >= hangul_s_base && cp < hangul_s_base + hangul_s_count) {
            const char32_t index = cp - hangul_s_base;
            out.push_back(hangul_l_base + index / hangul_n_count);
            out.push_back(hangul_v_base + (index % hangul_n_count) / hangul_t_count);
            if (index % hangul_t_count != 0) {
                out.push_back(hangul_t_base + index % hangul_t_count);
            }
        } else {
            out += find_mapping(decomposition_keys, decomposition_starts, decomposition_data, cp);
            has_marks = true;
        }
    }
    if (!has_marks) {
        return out;
    }
    // Canonical ordering: each run of non-starters sorted stably by combining class.
    for (std::size_t i = 0; i < out.size();) {
        if (combining_class(out[i]) == 0) {
            ++i;
            continue;
        }
        std::size_t end = i;
        while (end < out.size() && combining_class(out[end]) != 0) {
            ++end;
        }
        std::stable_sort(
            out.begin() + static_cast<std::ptrdiff_t>(i),
            out.begin() + static_cast<std::ptrdiff_t>(end),
            [](char32_t a, char32_t b) { return combining_class(a) < combining_class(b); });
        i = end;
    }
    return out;
}

/// Whether NFC leaves `text` unchanged without computing it: true when no character
/// decomposes, carries a combining class or can be the second of a composition. A false
/// answer means "maybe not".
[[nodiscard]] inline bool is_nfc_quick(std::u32string_view text) noexcept {
    for (const char32_t cp : text) {
        if (cp < 0x300) {
            continue; // nothing below U+0300 composes with what precedes it or reorders
        }
        const auto entry = detail::unicode_entry(cp);
        if ((entry & 0xFF) != 0 ||
            ((entry >> 8) & (detail::has_decomposition | detail::composes_as_second))) {
            return false;
        }
    }
    return true;
}

/// Canonical composition of the canonical decomposition (Python: unicodedata.normalize("NFC",
/// text)).
[[nodiscard]] inline std::u32string nfc(std::u32string_view text) {
    if (is_nfc_quick(text)) {
        return std::u32string(text);
    }
    std::u32string s = nfd(text);
    if (s.empty()) {
        return s;
    }
    std::size_t starter = 0;
    int last_class = combining_class(s[0]);
    if (last_class != 0) {
        last_class = 256; // a leading non-starter has no starter to compose with
    }
    std::size_t kept = 1;
    for (std::size_t i = 1; i < s.size(); ++i) {
        const char32_t cp = s[i];
        const auto entry = detail::unicode_entry(cp);
        const int cp_class = entry & 0xFF;
        if ((entry >> 8) & detail::composes_as_second) {
            const char32_t composite = detail::compose_pair(s[starter], cp);
            if (composite != 0 && (last_class < cp_class || last_class == 0)) {
                s[starter] = composite;
                continue;
            }
        }
        if (cp_class == 0) {
            starter = kept;
        }
        last_class = cp_class;
        s[kept++] = cp;
    }
    s.resize(kept);
    return s;
}

/// Appends the UTF-8 encoding of `cp` (a valid scalar value).
inline void append_utf8(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

[[nodiscard]] inline std::string to_utf8(std::u32string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char32_t cp : text) {
        append_utf8(out, cp);
    }
    return out;
}

/// The byte offset of the first invalid UTF-8 sequence in `bytes`, or npos when it is valid.
[[nodiscard]] inline std::size_t find_invalid_utf8(std::string_view bytes) noexcept {
    const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
    const std::size_t size = bytes.size();
    std::size_t i = 0;
    while (i < size) {
        const unsigned lead = data[i];
        if (lead < 0x80) {
            ++i;
            continue;
        }
        std::size_t length = 0;
        unsigned low = 0x80, high = 0xBF; // allowed range of the second byte
        if (lead >= 0xC2 && lead <= 0xDF) {
            length = 2;
        } else if (lead >= 0xE0 && lead <= 0xEF) {
            length = 3;
            low = lead == 0xE0 ? 0xA0 : 0x80;  // no overlong forms
            high = lead == 0xED ? 0x9F : 0xBF; // no surrogates
        } else if (lead >= 0xF0 && lead <= 0xF4) {
            length = 4;
            low = lead == 0xF0 ? 0x90 : 0x80;
            high = lead == 0xF4 ? 0x8F : 0xBF; // nothing above U+10FFFF
        } else {
            return i;
        }
        if (i + length > size || data[i + 1] < low || data[i + 1] > high) {
            return i;
        }
        for (std::size_t k = 2; k < length; ++k) {
            if ((data[i + k] & 0xC0) != 0x80) {
                return i;
            }
        }
        i += length;
    }
    return std::string_view::npos;
}

/// Decodes UTF-8 `bytes` into code points; invalid UTF-8 is a value_error naming `what` and
/// the offset of the bad byte.
[[nodiscard]] inline std::u32string decode_utf8(std::string_view bytes,
                                                std::string_view what = "text") {
    if (const auto bad = find_invalid_utf8(bytes); bad != std::string_view::npos) {
        throw value_error(::emofuse::detail::concat_message(
            what, ": invalid UTF-8 at byte ", bad, " (0x", std::hex,
            static_cast<unsigned>(static_cast<unsigned char>(bytes[bad])), ")"));
    }
    std::u32string out;
    out.reserve(bytes.size());
    const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
    for (std::size_t i = 0; i < bytes.size();) {
        const unsigned lead = data[i];
        if (lead < 0x80) {
            out.push_back(lead);
            ++i;
        } else if (lead < 0xE0) {
            out.push_back(((lead & 0x1F) << 6) | (data[i + 1] & 0x3F));
            i += 2;
        } else if (lead < 0xF0) {
            out.push_back(((lead & 0x0F) << 12) | ((data[i + 1] & 0x3Fu) << 6) |
                          (data[i + 2] & 0x3F));
            i += 3;
        } else {
            out.push_back(((lead & 0x07) << 18) | ((data[i + 1] & 0x3Fu) << 12) |
                          ((data[i + 2] & 0x3Fu) << 6) | (data[i + 3] & 0x3F));
            i += 4;
        }
    }
    return out;
}

} // namespace emofuse::language
