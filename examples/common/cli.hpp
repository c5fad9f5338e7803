// examples/common/cli.hpp — what every emofuse command-line tool shares: one exit-code rule,
// range-checked numeric flags, bounded echoes of user input and a byte-order-mark rule.
//
// Exit codes: 0 success, 1 bad input or a failed run, 2 bad command line. Any exception that
// reaches `run_tool` becomes one line "TOOL: error: ..." on stderr, never an abort.
#pragma once

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

namespace emofuse::cli {

/// A bad command line: the tool exits with 2.
struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// Longest piece of user input a message repeats; longer input is cut in the middle.
inline constexpr std::size_t max_echo = 60;

/// `text` quoted for a message, cut to about `max_echo` characters with the byte count kept,
/// and with control characters shown as \xNN so a message stays one line.
[[nodiscard]] inline std::string quoted(std::string_view text) {
    std::string out = "\"";
    const bool cut = text.size() > max_echo;
    const std::string_view shown = cut ? text.substr(0, max_echo) : text;
    for (const char c : shown) {
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
    out += cut ? "...\" (" + std::to_string(text.size()) + " bytes)" : "\"";
    return out;
}

/// The UTF-8 byte-order mark some editors put at the start of a text file.
inline constexpr std::string_view utf8_bom = "\xEF\xBB\xBF";

/// `text` without a leading UTF-8 byte-order mark (every text reader calls this on its first
/// line, so the mark never becomes part of a word or a number).
[[nodiscard]] constexpr std::string_view strip_bom(std::string_view text) {
    return text.starts_with(utf8_bom) ? text.substr(utf8_bom.size()) : text;
}

/// A decimal integer flag in [min, max]; usage_error naming the flag, the range and the
/// (shortened) text otherwise. No sign is accepted on an unsigned type, no trailing bytes.
template <class Int>
[[nodiscard]] Int parse_integer(std::string_view flag, std::string_view text, Int min, Int max) {
    static_assert(std::is_integral_v<Int>, "parse_integer reads integer flags");
    Int value{};
    const char* begin = text.data();
    const char* end = text.data() + text.size();
    if (std::is_unsigned_v<Int> && !text.empty() && text.front() == '+') {
        ++begin;
    }
    const auto [stop, status] = std::from_chars(begin, end, value);
    const bool parsed = !text.empty() && status == std::errc{} && stop == end;
    if (!parsed || value < min || value > max) {
        const bool too_big = status == std::errc::result_out_of_range;
        throw usage_error(std::string(flag) + ": expected an integer in [" + std::to_string(min) +
                          ", " + std::to_string(max) + "], got " + quoted(text) +
                          (too_big ? " (out of range)" : ""));
    }
    return value;
}

/// A decimal real flag in [min, max] (finite); usage_error otherwise.
[[nodiscard]] inline double parse_real(std::string_view flag, std::string_view text, double min,
                                       double max) {
    const std::string copy(text); // strtod needs a terminated string
    char* stop = nullptr;
    errno = 0;
    const double value = std::strtod(copy.c_str(), &stop);
    const bool parsed = !copy.empty() && stop == copy.c_str() + copy.size() && errno == 0 &&
                        std::isfinite(value) && copy.find('\0') == std::string::npos;
    if (!parsed || value < min || value > max) {
        throw usage_error(std::string(flag) + ": expected a number in [" + std::to_string(min) +
                          ", " + std::to_string(max) + "], got " + quoted(text));
    }
    return value;
}

/// Runs a tool's body and turns every exception into one stderr line and an exit code:
/// usage_error → 2 (with a pointer to --help), anything else → 1.
template <class Body>
int run_tool(std::string_view tool, Body&& body) noexcept {
    try {
        return body();
    } catch (const usage_error& e) {
        std::cerr << tool << ": usage error: " << e.what() << " (see " << tool << " --help)\n";
        return 2;
    } catch (const std::bad_alloc&) {
        std::cerr << tool << ": error: out of memory (an input or a flag asks for more memory "
                  << "than this machine has)\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << tool << ": error: " << e.what() << "\n";
        return 1;
    } catch (...) {
        std::cerr << tool << ": error: unknown exception\n";
        return 1;
    }
}

} // namespace emofuse::cli
