// examples/eval/input.hpp — reading emofuse-eval's text inputs: UTF-8 lines (byte-order mark
// dropped; UTF-16, NUL bytes and directories refused), numeric rows parsed as they are read,
// and the checks that name file:line.
#pragma once

#include <emofuse/metrics/policy.hpp>

#include <cstddef>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace emofuse::eval {

struct options;

/// Bad input data, unreadable or unwritable files: exit 1.
struct input_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// "<stdin>" for "-", else the path.
[[nodiscard]] std::string display_name(const std::string& path);

[[noreturn]] void fail_at(const std::string& file, std::size_t line, const std::string& what);

[[nodiscard]] std::string_view trim(std::string_view s);

/// Calls on_line(number, text) for every data line of a UTF-8 text file ('-': stdin), with
/// `text` trimmed; blank and '#' lines are skipped. A leading byte-order mark is dropped.
/// UTF-16 input, NUL bytes, directories and read errors are reported with their cause.
void for_each_data_line(const std::string& path,
                        const std::function<void(std::size_t, std::string_view)>& on_line);

/// Numeric rows parsed as they are read: values row-major, and each row's line number for
/// messages. Peak memory is the doubles plus one line number per row.
struct numeric_file {
    std::string name;
    std::size_t columns = 0;
    std::vector<double> values;
    std::vector<std::size_t> lines;

    [[nodiscard]] std::size_t rows() const noexcept { return lines.size(); }
    [[nodiscard]] const double* row(std::size_t i) const noexcept {
        return values.data() + i * columns;
    }
};

/// Reads a numeric file (fields split on commas and/or whitespace). columns = 0 takes the
/// column count of the first data line; then every line must have that many fields (`what`
/// describes them in the message).
[[nodiscard]] numeric_file read_numeric(const std::string& path, std::size_t columns,
                                        const std::string& what);

/// The truth as numeric rows: read_numeric on --truth, or with --split/--labels the array
/// `labels` of that split of an MMSA .pkl (shape (N,) or (N, C); row i is "line" i + 1 of
/// the name "FILE:split/labels", so messages point at the sample).
[[nodiscard]] numeric_file read_truth(const options& o, std::size_t columns,
                                      const std::string& what);

/// Data lines of a text file, kept as they are (ov word sets and --groups tables are small).
struct text_file {
    std::string name;
    std::vector<std::string> texts;
    std::vector<std::size_t> lines;

    [[nodiscard]] std::size_t rows() const noexcept { return lines.size(); }
};

[[nodiscard]] text_file read_text(const std::string& path);

/// Error for files of different lengths, at the first sample the shorter file lacks.
void check_same_length(const std::string& pred_name, const std::vector<std::size_t>& pred_lines,
                       const std::string& truth_name, const std::vector<std::size_t>& truth_lines);

/// Indices of the samples to keep under the NaN policy (error: throws at the first).
[[nodiscard]] std::vector<std::size_t>
finite_samples(const numeric_file& pred, const numeric_file& truth, metrics::nan_policy policy);

/// A value in its shortest round-trip form, for messages.
[[nodiscard]] std::string shortest(double value);

/// A class id in [0, k); the range is checked on the double, before any conversion.
[[nodiscard]] int class_id(const numeric_file& file, std::size_t row, double value, std::size_t k);

} // namespace emofuse::eval
