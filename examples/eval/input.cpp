// examples/eval/input.cpp — emofuse-eval's readers: lines, numeric rows, word sets, and the
// input checks that name file:line.
#include "input.hpp"

#include "common/cli.hpp"
#include "options.hpp"

#include <emofuse/io/convert.hpp>
#include <emofuse/io/pkl.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <system_error>

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
        const std::string copy(field); // strtod needs a terminated string
        char* stop = nullptr;
        const double value = std::strtod(copy.c_str(), &stop);
        if (stop != copy.c_str() + copy.size()) {
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

void for_each_data_line(const std::string& path,
                        const std::function<void(std::size_t, std::string_view)>& on_line) {
    const std::string name = display_name(path);
    std::ifstream stream;
    std::istream* in = &std::cin;
    if (path != "-") {
        std::error_code ec;
        if (std::filesystem::is_directory(path, ec)) {
            throw input_error(name + ": is a directory, expected a text file");
        }
        errno = 0;
        stream.open(path, std::ios::binary);
        if (!stream) {
            throw input_error(name + ": cannot open: " + std::strerror(errno));
        }
        in = &stream;
    }
    std::string raw;
    std::size_t number = 0;
    errno = 0;
    while (std::getline(*in, raw)) {
        ++number;
        std::string_view text = raw;
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
                        "UTF-16 text? (" + std::to_string(nuls) + " of " +
                            std::to_string(text.size()) +
                            " bytes are NUL); convert it to UTF-8, e.g. with iconv -f UTF-16 -t "
                            "UTF-8");
            }
            fail_at(name, number, "NUL byte in " + cli::quoted(text) + ": expected text");
        }
        text = trim(text);
        if (text.empty() || text.front() == '#') {
            continue;
        }
        on_line(number, text);
    }
    if (in->bad()) {
        const int code = errno;
        throw input_error(name + ": read error after line " + std::to_string(number) + ": " +
                          (code != 0 ? std::strerror(code) : "I/O error"));
    }
}

numeric_file read_numeric(const std::string& path, std::size_t columns, const std::string& what) {
    numeric_file file;
    file.name = display_name(path);
    file.columns = columns;
    for_each_data_line(path, [&](std::size_t number, std::string_view text) {
        const bool first = file.lines.empty();
        const std::size_t fields = append_numbers(file.name, number, text, first, file.values);
        if (first && file.columns == 0) {
            file.columns = fields;
        }
        if (fields != file.columns) {
            fail_at(file.name, number,
                    "expected " + std::to_string(file.columns) + " column" +
                        (file.columns == 1 ? "" : "s") + " (" + what + "), got " +
                        std::to_string(fields));
        }
        file.lines.push_back(number);
    });
    return file;
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
