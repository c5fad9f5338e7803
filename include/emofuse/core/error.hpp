// emofuse/core/error.hpp — the exception hierarchy. Every error names the stage, the
// modality or tensor, what was expected and what was given.
#pragma once

#include <cstddef>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace emofuse {

/// Base of every exception emofuse throws.
class error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A tensor or container has the wrong rank, size or layout.
class shape_error : public error {
public:
    using error::error;
};

/// A value is outside what the operation defines: NaN/Inf under an error policy, a label
/// out of range, a negative length, an empty input.
class value_error : public error {
public:
    using error::error;
};

/// A file or stream could not be read or written, or its content is malformed.
class io_error : public error {
public:
    using error::error;
};

namespace detail {

template <class... Parts>
std::string concat_message(const Parts&... parts) {
    std::ostringstream out;
    (out << ... << parts);
    return out.str();
}

} // namespace detail

/// `text` as a message quotes it: between `quote`s, control bytes as \xNN (so the message
/// stays one line), and text longer than `max_shown` bytes cut with its length given (a 20 MB
/// bad token is not echoed whole).
[[nodiscard]] inline std::string printable(std::string_view text, char quote = '"',
                                           std::size_t max_shown = 60) {
    const bool cut = text.size() > max_shown;
    std::string out(1, quote);
    for (const char c : text.substr(0, max_shown)) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) {
            constexpr char hex[] = "0123456789abcdef";
            out += "\\x";
            out += hex[byte >> 4];
            out += hex[byte & 15];
        } else {
            out += c;
        }
    }
    if (cut) {
        out += "...";
    }
    out += quote;
    if (cut) {
        out += " (" + std::to_string(text.size()) + " bytes)";
    }
    return out;
}

/// Builds "stage: what: expected E, got G".
template <class Expected, class Actual>
[[nodiscard]] std::string mismatch_message(std::string_view stage, std::string_view what,
                                           const Expected& expected, const Actual& actual) {
    return detail::concat_message(stage, ": ", what, ": expected ", expected, ", got ", actual);
}

/// Throws shape_error unless `expected == actual`.
template <class Size>
void check_size(std::string_view stage, std::string_view what, Size expected, Size actual) {
    if (expected != actual) {
        throw shape_error(mismatch_message(stage, what, expected, actual));
    }
}

} // namespace emofuse
