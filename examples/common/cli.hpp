// examples/common/cli.hpp — what every emofuse command-line tool shares: one exit-code rule,
// range-checked numeric flags, bounded echoes of user input, a byte-order-mark rule and the
// output-file rules (no partial output after a signal, stale temporaries swept, a notice when
// an existing file is replaced).
//
// Exit codes: 0 success, 1 bad input or a failed run, 2 bad command line. Any exception that
// reaches `run_tool` becomes one line "TOOL: error: ..." on stderr, never an abort.
#pragma once

#include <emofuse/core/error.hpp>
#include <emofuse/io/detail/temporary_files.hpp>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>
#include <limits>
#include <new>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace emofuse::cli {

/// A bad command line: the tool exits with 2.
struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// Longest piece of user input a message repeats; longer input is cut after it.
inline constexpr std::size_t max_echo = 60;

/// `text` in double quotes with control characters shown as \xNN, so a message stays one
/// line; when `cut` is set, text longer than `max_echo` is cut with its byte count kept.
[[nodiscard]] inline std::string escaped(std::string_view text, bool cut) {
    return printable(text, '"', cut ? max_echo : std::string_view::npos);
}

/// `text` quoted for a message, cut to about `max_echo` characters with the byte count kept,
/// and with control characters shown as \xNN so a message stays one line.
[[nodiscard]] inline std::string quoted(std::string_view text) {
    return escaped(text, true);
}

/// A file name for a message: quoted and escaped like `quoted`, never cut (its end matters).
[[nodiscard]] inline std::string quoted_path(const std::filesystem::path& path) {
    return escaped(path.string(), false);
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
        std::ostringstream range; // shortest form: [0, 1], not [0.000000, 1.000000]
        range << "[" << min << ", " << max << "]";
        throw usage_error(std::string(flag) + ": expected a number in " + range.str() + ", got " +
                          quoted(text));
    }
    return value;
}

/// Makes SIGINT, SIGTERM, SIGHUP and SIGQUIT remove the run's temporary outputs (and put
/// back files being replaced) before the process ends with the signal. Call first in main.
inline void remove_outputs_on_signals() {
    io::detail::undo_outputs_on_signals();
}

/// Removes what emofuse runs which no longer exist left in `directory` (temporaries
/// `*.emofuse-tmp.<pid>.<n>` of a dead pid, see io/detail/temporary_files.hpp) and says so in
/// one line. A directory that does not exist yet has nothing to sweep.
inline void sweep_stale_outputs(std::string_view tool, const std::filesystem::path& directory) {
    std::error_code code;
    if (!std::filesystem::is_directory(directory, code)) {
        return;
    }
    const auto swept = io::detail::sweep_stale_outputs(directory);
    if (!swept.removed.empty() || !swept.restored.empty()) {
        std::cerr << tool << ": cleaned up after an interrupted earlier run in "
                  << quoted_path(directory) << ": removed " << swept.removed.size()
                  << " temporary file(s), put back " << swept.restored.size()
                  << " file(s) it was replacing\n";
    }
}

/// The one-line notice a tool prints before its output replaces an existing file.
inline void notice_replacing(std::string_view tool, const std::filesystem::path& file) {
    std::cerr << tool << ": replacing existing " << quoted_path(file) << "\n";
}

/// The same notice for several files of one run, still one line.
inline void notice_replacing(std::string_view tool,
                             const std::vector<std::filesystem::path>& files) {
    if (files.size() == 1) {
        notice_replacing(tool, files.front());
        return;
    }
    std::cerr << tool << ": replacing existing";
    for (std::size_t i = 0; i < files.size(); ++i) {
        std::cerr << (i == 0 ? " " : ", ") << quoted_path(files[i]);
    }
    std::cerr << "\n";
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
