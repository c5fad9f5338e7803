// emofuse/io/xlsx/emotion_wheel.hpp — reads an OV-MER emotion_wheel/ folder as MERTools ships
// it (format.csv, synonym.xlsx, wheel*.xlsx) into metrics::emotion_wheel_tables, seeing each
// cell the way wheel.py's pandas calls do: pandas' default NA strings ("NA", "nan", "", ...)
// are missing, blank CSV lines are skipped, trailing empty sheet rows are dropped. What makes
// wheel.py fail (a number where a word belongs, a missing column, an empty synonym word) is
// an io_error naming the file, sheet and cell.
#pragma once

#include <emofuse/core/error.hpp>
#include <emofuse/io/xlsx/workbook.hpp>
#include <emofuse/metrics/emotion_wheel.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace emofuse::io::xlsx {

/// pandas 1.5's default NA strings (pandas._libs.parsers.STR_NA_VALUES), which read_csv and
/// read_excel turn into NaN. pandas 2 adds "None".
[[nodiscard]] inline bool is_pandas_na(std::string_view text) noexcept {
    static constexpr std::array<std::string_view, 18> values = {
        "",        "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
        "1.#QNAN", "<NA>", "N/A",      "NA",  "NULL",    "NaN",      "n/a",  "nan",  "null"};
    return std::find(values.begin(), values.end(), text) != values.end();
}

namespace detail {

/// One CSV record and the line it starts on.
struct csv_record {
    std::size_t line = 0;
    std::vector<std::string> fields;
};

/// CSV as pandas' C parser reads it: a leading UTF-8 BOM dropped, "..." quoting with ""
/// for a quote (text after a closing quote is kept), \n, \r\n or \r ending records outside
/// quotes, blank and whitespace-only lines skipped.
inline std::vector<csv_record> parse_csv(std::string_view text, const std::string& file) {
    if (text.substr(0, 3) == "\xEF\xBB\xBF") {
        text.remove_prefix(3);
    }
    std::vector<csv_record> out;
    std::size_t line = 1;
    std::size_t at = 0;
    while (at < text.size()) {
        csv_record record;
        record.line = line;
        std::string field;
        bool blank = true;
        bool quoted = false;
        for (; at < text.size(); ++at) {
            const char c = text[at];
            if (quoted) {
                if (c == '"') {
                    if (at + 1 < text.size() && text[at + 1] == '"') {
                        field += '"';
                        ++at;
                    } else {
                        quoted = false;
                    }
                } else {
                    line += c == '\n' ? 1 : 0;
                    field += c;
                }
                continue;
            }
            if (c == '\n' || c == '\r') {
                if (c == '\r' && at + 1 < text.size() && text[at + 1] == '\n') {
                    ++at;
                }
                ++at;
                ++line;
                break;
            }
            if (c == ',') {
                record.fields.push_back(std::move(field));
                field.clear();
                blank = false;
            } else if (c == '"' && field.empty()) {
                quoted = true;
                blank = false;
            } else {
                blank = blank && (c == ' ' || c == '\t');
                field += c;
            }
        }
        if (quoted) {
            throw io_error("io::xlsx: '" + file + "': a quoted field opened on line " +
                           std::to_string(record.line) + " is never closed");
        }
        if (blank) {
            continue;
        }
        record.fields.push_back(std::move(field));
        out.push_back(std::move(record));
    }
    return out;
}

/// The column whose header is `name` (the first such), or nullopt.
inline std::optional<std::size_t> find_column(const std::vector<std::string>& header,
                                              std::string_view name) {
    const auto it = std::find(header.begin(), header.end(), name);
    return it == header.end()
               ? std::nullopt
               : std::optional<std::size_t>(static_cast<std::size_t>(it - header.begin()));
}

/// Columns (1-based) of a sheet's header row (row 1), by header text: the first of each.
inline std::uint32_t sheet_column(const sheet& s, std::string_view name) {
    for (const auto& c : s.cells()) {
        if (c.row != 1) {
            break;
        }
        if (c.kind == cell_kind::text && c.text == name) {
            return c.column;
        }
    }
    throw io_error("io::xlsx: '" + s.file() + "', sheet '" + s.name() + "': no column '" +
                   std::string(name) + "' in the header row (row 1)");
}

/// A text cell's value as pandas sees it: nullopt when missing/NA/an error value;
/// io_error for a number (wheel.py calls string methods on these cells).
inline std::optional<std::string> text_cell(const sheet& s, std::uint32_t row, std::uint32_t column,
                                            std::string_view role) {
    const cell* c = s.find(row, column);
    if (c == nullptr || c->kind == cell_kind::missing || c->kind == cell_kind::error) {
        return std::nullopt;
    }
    if (c->kind == cell_kind::number) {
        throw io_error("io::xlsx: " + s.where(row, column) + ": expected " + std::string(role) +
                       " text, got the number " + c->text.substr(0, 30));
    }
    if (is_pandas_na(c->text)) {
        return std::nullopt;
    }
    return c->text;
}

inline std::string read_text_file(const std::filesystem::path& path) {
    std::ifstream stream(path, std::ios::binary);
    if (!stream) {
        throw io_error("io::xlsx: cannot open '" + path.string() + "'");
    }
    std::string text((std::istreambuf_iterator<char>(stream)), std::istreambuf_iterator<char>());
    if (stream.bad()) {
        throw io_error("io::xlsx: cannot read '" + path.string() + "'");
    }
    return text;
}

} // namespace detail

/// format.csv's (name, format) rows; `file` names it in messages.
[[nodiscard]] inline std::vector<std::pair<std::string, std::string>>
parse_wheel_forms(std::string_view csv, const std::string& file) {
    const auto records = detail::parse_csv(csv, file);
    if (records.empty()) {
        throw io_error("io::xlsx: '" + file + "': empty: expected a header 'name,format'");
    }
    const auto& header = records.front().fields;
    const auto name = detail::find_column(header, "name");
    const auto format = detail::find_column(header, "format");
    if (!name || !format) {
        throw io_error("io::xlsx: '" + file + "': the header (line " +
                       std::to_string(records.front().line) + ") lacks the column '" +
                       (name ? "format" : "name") + "'");
    }
    std::vector<std::pair<std::string, std::string>> out;
    out.reserve(records.size() - 1);
    for (std::size_t i = 1; i < records.size(); ++i) {
        const auto& fields = records[i].fields;
        if (fields.size() > header.size()) {
            throw io_error("io::xlsx: '" + file + "', line " + std::to_string(records[i].line) +
                           ": " + std::to_string(fields.size()) + " fields, the header has " +
                           std::to_string(header.size()) + " (pandas fails here too)");
        }
        auto value = [&](std::size_t column) {
            return column < fields.size() && !is_pandas_na(fields[column]) ? fields[column]
                                                                           : std::string();
        };
        out.emplace_back(value(*name), value(*format));
    }
    return out;
}

/// synonym.xlsx's runs into `tables` (columns word_run1..8 and synonym_run1..8).
inline void read_wheel_synonyms(const sheet& s, metrics::emotion_wheel_tables& tables,
                                std::size_t runs = 8) {
    std::vector<std::pair<std::uint32_t, std::uint32_t>> columns;
    for (std::size_t run = 1; run <= runs; ++run) {
        const auto word = detail::sheet_column(s, "word_run" + std::to_string(run));
        columns.emplace_back(word, detail::sheet_column(s, "synonym_run" + std::to_string(run)));
    }
    const std::uint32_t last = s.last_row_with_data();
    tables.synonym_runs.assign(runs, {});
    tables.synonym_rows.clear();
    for (std::uint32_t row = 2; row <= last; ++row) {
        tables.synonym_rows.push_back(row);
        for (std::size_t run = 0; run < runs; ++run) {
            auto word = detail::text_cell(s, row, columns[run].first, "a word");
            if (!word) {
                throw io_error("io::xlsx: " + s.where(row, columns[run].first) + ": word_run" +
                               std::to_string(run + 1) +
                               " is empty (wheel.py fails on it: every row needs a word)");
            }
            auto synonyms = detail::text_cell(s, row, columns[run].second, "synonyms");
            tables.synonym_runs[run].emplace_back(std::move(*word), synonyms.value_or(""));
        }
    }
}

/// One wheel sheet (columns level1, level2, level3) as table rows.
[[nodiscard]] inline metrics::emotion_wheel_tables::wheel read_wheel_levels(const sheet& s,
                                                                            std::string name) {
    metrics::emotion_wheel_tables::wheel out;
    out.name = std::move(name);
    const std::array<std::uint32_t, 3> columns = {detail::sheet_column(s, "level1"),
                                                  detail::sheet_column(s, "level2"),
                                                  detail::sheet_column(s, "level3")};
    const std::uint32_t last = s.last_row_with_data();
    for (std::uint32_t row = 2; row <= last; ++row) {
        std::array<std::optional<std::string>, 3> cells;
        for (std::size_t l = 0; l < 3; ++l) {
            cells[l] = detail::text_cell(s, row, columns[l], "an emotion word");
        }
        out.rows.push_back(std::move(cells));
    }
    return out;
}

/// The whole folder: format.csv, synonym.xlsx and every wheel*.xlsx (in name order).
[[nodiscard]] inline metrics::emotion_wheel_tables
read_emotion_wheel(const std::filesystem::path& folder) {
    std::error_code code;
    if (!std::filesystem::is_directory(folder, code)) {
        throw io_error("io::xlsx: '" + folder.string() + "' is not a directory (expected an " +
                       "emotion_wheel/ folder holding format.csv, synonym.xlsx, wheel*.xlsx)");
    }
    metrics::emotion_wheel_tables tables;
    const auto forms_path = folder / "format.csv";
    tables.forms = parse_wheel_forms(detail::read_text_file(forms_path), forms_path.string());
    read_wheel_synonyms(read_first_sheet(folder / "synonym.xlsx"), tables);
    std::vector<std::filesystem::path> wheels;
    for (const auto& entry : std::filesystem::directory_iterator(folder)) {
        const std::string file = entry.path().filename().string();
        if (file.size() >= 10 && file.starts_with("wheel") && file.ends_with(".xlsx")) {
            wheels.push_back(entry.path());
        }
    }
    std::sort(wheels.begin(), wheels.end());
    for (const auto& path : wheels) {
        const std::string file = path.filename().string();
        tables.wheels.push_back(
            read_wheel_levels(read_first_sheet(path), file.substr(0, file.size() - 5)));
    }
    return tables;
}

} // namespace emofuse::io::xlsx
