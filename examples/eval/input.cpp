// examples/eval/input.cpp — emofuse-eval's readers: lines, numeric rows, word sets, and the
// input checks that name file:line.
#include "input.hpp"

#include "common/cli.hpp"
#include "options.hpp"

#include <emofuse/io/convert.hpp>
#include <emofuse/io/pkl.hpp>
#include <emofuse/platform/parallel.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <system_error>
#include <vector>

namespace emofuse::eval {

namespace {

/// Splits a line on commas and/or whitespace and appends every field as a number; returns
/// the number of fields, or throws naming the bad field (the first data line gets a hint
/// that it may be a header).
std::size_t append_numbers(const std::string& name, std::size_t number, std::string_view text,
                           bool first_row, std::vector<double>& out) {
    std::size_t fields = 0;
    std::size_t i = 0;
    const auto separator = [](char c) {
        return c == ',' || std::isspace(static_cast<unsigned char>(c));
    };
    while (i < text.size()) {
        if (separator(text[i])) {
            ++i;
            continue;
        }
        std::size_t end = i;
        while (end < text.size() && !separator(text[end])) {
            ++end;
        }
        const std::string_view field = text.substr(i, end - i);
        // strtod needs a terminated string: a stack copy for ordinary fields.
        std::array<char, 64> small;
        std::string large;
        const char* start = small.data();
        if (field.size() < small.size()) {
            std::memcpy(small.data(), field.data(), field.size());
            small[field.size()] = '\0';
        } else {
            large.assign(field);
            start = large.c_str();
        }
        char* stop = nullptr;
        const double value = std::strtod(start, &stop);
        if (stop != start + field.size()) {
            if (first_row) {
                fail_at(name, number,
                        "the first data line is not numeric (" + cli::quoted(text) +
                            "); a header line? emofuse-eval reads files without a header: "
                            "delete the line or start it with '#'");
            }
            fail_at(name, number, "expected a number, got " + cli::quoted(field));
        }
        out.push_back(value);
        ++fields;
        i = end;
    }
    return fields;
}

} // namespace

std::string display_name(const std::string& path) {
    return path == "-" ? "<stdin>" : path;
}

[[noreturn]] void fail_at(const std::string& file, std::size_t line, const std::string& what) {
    throw input_error(file + ":" + std::to_string(line) + ": " + what);
}

std::string_view trim(std::string_view s) {
    std::size_t b = 0, e = s.size();
    while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) {
        ++b;
    }
    while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) {
        --e;
    }
    return s.substr(b, e - b);
}

namespace {

/// The stream to read `path` from ('-': stdin); `stream` holds an opened file.
std::istream& open_input(const std::string& path, const std::string& name, std::ifstream& stream) {
    if (path == "-") {
        return std::cin;
    }
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        throw input_error(name + ": is a directory, expected a text file");
    }
    errno = 0;
    stream.open(path, std::ios::binary);
    if (!stream) {
        throw input_error(name + ": cannot open: " + std::strerror(errno));
    }
    return stream;
}

[[noreturn]] void throw_read_error(const std::string& name, std::size_t lines) {
    const int code = errno;
    throw input_error(name + ": read error after line " + std::to_string(lines) + ": " +
                      (code != 0 ? std::strerror(code) : "I/O error"));
}

/// Line `number` of a file as a data line: trimmed, or empty for a blank or '#' line. The
/// first line loses a UTF-8 byte-order mark; UTF-16 and NUL bytes are refused.
std::string_view data_line(const std::string& name, std::size_t number, std::string_view text) {
    if (number == 1) {
        if (text.starts_with("\xFF\xFE") || text.starts_with("\xFE\xFF")) {
            throw input_error(name + ": UTF-16 text (it starts with a UTF-16 byte-order "
                                     "mark); convert it to UTF-8, e.g. with iconv -f "
                                     "UTF-16 -t UTF-8");
        }
        text = cli::strip_bom(text);
    }
    if (text.find('\0') != std::string_view::npos) {
        const auto nuls = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\0'));
        if (nuls * 4 >= text.size()) {
            fail_at(name, number,
                    "UTF-16 text? (" + std::to_string(nuls) + " of " + std::to_string(text.size()) +
                        " bytes are NUL); convert it to UTF-8, e.g. with iconv -f UTF-16 -t "
                        "UTF-8");
        }
        fail_at(name, number, "NUL byte in " + cli::quoted(text) + ": expected text");
    }
    text = trim(text);
    return text.empty() || text.front() == '#' ? std::string_view{} : text;
}

/// Calls on_line(number, line) for each '\n'-terminated line of `text` (and a last line
/// without one), numbering from first_number; returns the number after the last line.
template <class OnLine>
std::size_t for_each_line(std::string_view text, std::size_t first_number, OnLine&& on_line) {
    std::size_t number = first_number;
    while (!text.empty()) {
        const std::size_t end = text.find('\n');
        on_line(number++, text.substr(0, end));
        text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    }
    return number;
}

} // namespace

void for_each_data_line(const std::string& path,
                        const std::function<void(std::size_t, std::string_view)>& on_line) {
    const std::string name = display_name(path);
    std::ifstream stream;
    std::istream& in = open_input(path, name, stream);
    std::string raw;
    std::size_t number = 0;
    errno = 0;
    while (std::getline(in, raw)) {
        ++number;
        const std::string_view text = data_line(name, number, raw);
        if (!text.empty()) {
            on_line(number, text);
        }
    }
    if (in.bad()) {
        throw_read_error(name, number);
    }
}

namespace {

/// Rows parsed from one piece of a file.
struct parsed_rows {
    std::vector<double> values;
    std::vector<std::size_t> lines;
};

void check_columns(const numeric_file& file, std::size_t number, const std::string& what,
                   std::size_t fields) {
    if (fields != file.columns) {
        fail_at(file.name, number,
                "expected " + std::to_string(file.columns) + " column" +
                    (file.columns == 1 ? "" : "s") + " (" + what + "), got " +
                    std::to_string(fields));
    }
}

/// Parses the data lines of `text` (whole lines, the first numbered first_number) into
/// `out`, checking that each has file.columns fields. `first_data_line` is the line number
/// of the file's first data line (it gets the header hint).
void parse_lines(const numeric_file& file, const std::string& what, std::string_view text,
                 std::size_t first_number, std::size_t first_data_line, parsed_rows& out) {
    for_each_line(text, first_number, [&](std::size_t number, std::string_view raw) {
        const std::string_view line = data_line(file.name, number, raw);
        if (line.empty()) {
            return;
        }
        check_columns(
            file, number, what,
            append_numbers(file.name, number, line, number == first_data_line, out.values));
        out.lines.push_back(number);
    });
}

/// Bytes of a file read and parsed at a time (peak memory: one window of text besides the
/// parsed values), and bytes per piece parsed on one thread.
constexpr std::size_t parse_window_bytes = std::size_t(16) << 20;
constexpr std::size_t parse_piece_bytes = std::size_t(256) << 10;

/// Parses a window of whole lines on the thread pool: it is cut into pieces of about
/// parse_piece_bytes at line ends, each piece's first line number comes from counting the
/// line ends before it, pieces are parsed in parallel and appended in order. The first error
/// in file order is thrown, with its line number, whatever the thread count.
void parse_window(numeric_file& file, const std::string& what, std::string_view window,
                  std::size_t first_number, std::size_t first_data_line) {
    std::vector<std::string_view> pieces;
    while (!window.empty()) {
        std::size_t end = std::min(window.size(), parse_piece_bytes);
        const std::size_t line_end = window.find('\n', end - 1);
        end = line_end == std::string_view::npos ? window.size() : line_end + 1;
        pieces.push_back(window.substr(0, end));
        window.remove_prefix(end);
    }
    std::vector<std::size_t> line_ends(pieces.size());
    emofuse::parallel_for(pieces.size(), 1, [&](std::size_t begin, std::size_t end) {
        for (std::size_t k = begin; k < end; ++k) {
            line_ends[k] =
                static_cast<std::size_t>(std::count(pieces[k].begin(), pieces[k].end(), '\n'));
        }
    });
    std::vector<std::size_t> first_numbers(pieces.size());
    std::size_t number = first_number;
    for (std::size_t k = 0; k < pieces.size(); ++k) {
        first_numbers[k] = number;
        number += line_ends[k];
    }
    std::vector<parsed_rows> rows(pieces.size());
    std::vector<std::exception_ptr> failures(pieces.size());
    emofuse::parallel_for(pieces.size(), 1, [&](std::size_t begin, std::size_t end) {
        for (std::size_t k = begin; k < end; ++k) {
            try {
                parse_lines(file, what, pieces[k], first_numbers[k], first_data_line, rows[k]);
            } catch (...) {
                failures[k] = std::current_exception();
            }
        }
    });
    for (const auto& failure : failures) {
        if (failure) {
            std::rethrow_exception(failure);
        }
    }
    for (const auto& piece : rows) {
        file.values.insert(file.values.end(), piece.values.begin(), piece.values.end());
        file.lines.insert(file.lines.end(), piece.lines.begin(), piece.lines.end());
    }
}

} // namespace

numeric_file read_numeric(const std::string& path, std::size_t columns, const std::string& what) {
    numeric_file file;
    file.name = display_name(path);
    file.columns = columns;
    std::ifstream stream;
    std::istream& in = open_input(path, file.name, stream);
    std::string window;
    std::size_t next_number = 1;     // number of the window's first line
    std::size_t first_data_line = 0; // 0: not met yet
    errno = 0;
    for (;;) {
        const std::size_t kept = window.size(); // an unfinished line from the last read
        window.resize(kept + parse_window_bytes);
        in.read(window.data() + kept, static_cast<std::streamsize>(parse_window_bytes));
        window.resize(kept + static_cast<std::size_t>(in.gcount()));
        if (in.bad()) {
            throw_read_error(file.name, next_number - 1);
        }
        const bool at_end = in.eof();
        std::size_t usable = window.size();
        if (!at_end) {
            const std::size_t last_end = window.rfind('\n');
            if (last_end == std::string::npos) {
                continue; // one line longer than the window: read on
            }
            usable = last_end + 1;
        }
        std::string_view text(window.data(), usable);
        if (first_data_line == 0) {
            // Serially up to the first data line, which fixes the column count.
            while (!text.empty() && first_data_line == 0) {
                const std::size_t end = text.find('\n');
                const std::string_view raw = text.substr(0, end);
                text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
                const std::size_t number = next_number++;
                const std::string_view line = data_line(file.name, number, raw);
                if (line.empty()) {
                    continue;
                }
                first_data_line = number;
                const std::size_t fields =
                    append_numbers(file.name, number, line, true, file.values);
                if (file.columns == 0) {
                    file.columns = fields;
                }
                check_columns(file, number, what, fields);
                file.lines.push_back(number);
            }
        }
        parse_window(file, what, text, next_number, first_data_line);
        next_number += static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) +
                       (at_end && !text.empty() && text.back() != '\n' ? 1 : 0);
        if (at_end) {
            return file;
        }
        window.erase(0, usable);
    }
}

numeric_file read_truth(const options& o, std::size_t columns, const std::string& what) {
    if (o.truth_split.empty()) {
        return read_numeric(o.truth_path, columns, what);
    }
    numeric_file file;
    file.name = o.truth_path + ":" + o.truth_split + "/" + o.truth_labels;
    const auto split = io::load_pkl_split(o.truth_path, o.truth_split);
    if (!split.arrays.contains(o.truth_labels)) {
        std::string held;
        for (const auto& name : split.arrays.names()) {
            held += (held.empty() ? "" : ", ") + cli::quoted(name);
        }
        throw input_error(o.truth_path + ": split " + cli::quoted(o.truth_split) +
                          " has no numeric array " + cli::quoted(o.truth_labels) + " (it has " +
                          (held.empty() ? std::string("none") : held) + ")");
    }
    const auto& labels = split.arrays.at(o.truth_labels);
    const std::size_t rank = labels.shape.size();
    const std::size_t found = rank == 2 ? labels.shape[1] : 1;
    if (rank < 1 || rank > 2 || (columns != 0 && found != columns)) {
        const std::string expected = columns > 1 ? "(samples, " + std::to_string(columns) + ")"
                                     : columns == 1
                                         ? std::string("(samples,) or (samples, 1)")
                                         : std::string("(samples,) or (samples, columns)");
        throw input_error(file.name + ": shape " + io::shape_to_string(labels.shape) +
                          ", expected " + expected + " (" + what + ")");
    }
    file.columns = found;
    const auto values = io::to_xtensor<double, 2>(
        io::stored_tensor{labels.type, {labels.shape[0], found}, labels.bytes}, o.truth_labels,
        file.name);
    file.values.assign(values.begin(), values.end());
    for (std::size_t row = 0; row < labels.shape[0]; ++row) {
        file.lines.push_back(row + 1);
    }
    return file;
}

text_file read_text(const std::string& path) {
    text_file file;
    file.name = display_name(path);
    for_each_data_line(path, [&](std::size_t number, std::string_view text) {
        file.texts.emplace_back(text);
        file.lines.push_back(number);
    });
    return file;
}

void check_same_length(const std::string& pred_name, const std::vector<std::size_t>& pred_lines,
                       const std::string& truth_name, const std::vector<std::size_t>& truth_lines) {
    if (pred_lines.size() == truth_lines.size()) {
        return;
    }
    const bool pred_longer = pred_lines.size() > truth_lines.size();
    const auto& longer = pred_longer ? pred_lines : truth_lines;
    const auto& shorter = pred_longer ? truth_lines : pred_lines;
    fail_at(pred_longer ? pred_name : truth_name, longer[shorter.size()],
            "length mismatch: sample " + std::to_string(shorter.size() + 1) + " has no match in " +
                (pred_longer ? truth_name : pred_name) + " (" + std::to_string(shorter.size()) +
                " samples vs " + std::to_string(longer.size()) + ")");
}

std::vector<std::size_t> finite_samples(const numeric_file& pred, const numeric_file& truth,
                                        metrics::nan_policy policy) {
    std::vector<std::size_t> keep;
    keep.reserve(pred.rows());
    const auto finite = [](const double* row, std::size_t columns) {
        return std::all_of(row, row + columns, [](double v) { return std::isfinite(v); });
    };
    for (std::size_t i = 0; i < pred.rows(); ++i) {
        const bool pred_ok = finite(pred.row(i), pred.columns);
        const bool truth_ok = finite(truth.row(i), truth.columns);
        if (pred_ok && truth_ok) {
            keep.push_back(i);
        } else if (policy == metrics::nan_policy::error) {
            const numeric_file& file = pred_ok ? truth : pred;
            fail_at(file.name, file.lines[i],
                    "non-finite value (NaN or Inf) under --nan error; use --nan skip to drop "
                    "such samples");
        }
    }
    return keep;
}

std::string shortest(double value) {
    char buffer[32];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
    return std::string(buffer, result.ptr);
}

int class_id(const numeric_file& file, std::size_t row, double value, std::size_t k) {
    if (!(value >= 0 && value < static_cast<double>(k)) || value != std::floor(value)) {
        fail_at(file.name, file.lines[row],
                "class id " + shortest(value) + " out of range: expected an integer in [0, " +
                    std::to_string(k) + ")");
    }
    return static_cast<int>(value);
}

} // namespace emofuse::eval
