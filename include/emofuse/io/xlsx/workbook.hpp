// emofuse/io/xlsx/workbook.hpp — the first worksheet of an .xlsx workbook, read the way
// pandas.read_excel (openpyxl, data_only) sees it: shared strings, inline strings, numbers,
// cached formula strings; error cells (#N/A...) read as missing. The archive goes through the
// project's strict ZIP reader, the XML through expat (namespace-aware, no DTDs, so no entity
// expansion). Any other cell type (boolean, date) is an io_error naming the file, the sheet
// and the cell.
#pragma once

#include <emofuse/core/error.hpp>
#include <emofuse/io/detail/zip_archive.hpp>

#include <expat.h>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace emofuse::io::xlsx {

/// Excel's own sheet limits: larger coordinates are corrupt input.
inline constexpr std::uint32_t max_rows = 1'048'576;
inline constexpr std::uint32_t max_columns = 16'384;
/// Largest part (sheet, shared strings) inflated: the shipped wheel files are ~100 KB.
inline constexpr std::size_t max_part_bytes = std::size_t{256} << 20;

enum class cell_kind : std::uint8_t {
    missing, ///< no value, or an empty <v>
    text,
    number,
    error, ///< an error value (#N/A...): pandas reads NaN, but the row counts as data
};

struct cell {
    std::uint32_t row = 0;    ///< 1-based, as Excel numbers rows
    std::uint32_t column = 0; ///< 1-based: A = 1
    cell_kind kind = cell_kind::missing;
    std::string text; ///< text cells; numbers keep their stored digits here too
    double number = 0;
};

/// "B7" for row 7, column 2.
[[nodiscard]] inline std::string cell_name(std::uint32_t row, std::uint32_t column) {
    std::string letters;
    for (std::uint32_t c = column; c > 0; c = (c - 1) / 26) {
        letters.insert(letters.begin(), static_cast<char>('A' + (c - 1) % 26));
    }
    return letters + std::to_string(row);
}

/// One worksheet: its cells in file order (a later cell at the same place replaces an
/// earlier one, as openpyxl does), and where it came from for messages.
class sheet {
public:
    sheet(std::string file, std::string name, std::vector<cell> cells)
        : file_(std::move(file)), name_(std::move(name)), cells_(std::move(cells)) {
        std::stable_sort(cells_.begin(), cells_.end(), [](const cell& a, const cell& b) {
            return a.row != b.row ? a.row < b.row : a.column < b.column;
        });
        // Keep the last of duplicates (stable sort kept file order among equals).
        std::vector<cell> unique;
        unique.reserve(cells_.size());
        for (auto& c : cells_) {
            if (!unique.empty() && unique.back().row == c.row && unique.back().column == c.column) {
                unique.back() = std::move(c);
            } else {
                unique.push_back(std::move(c));
            }
        }
        cells_ = std::move(unique);
    }

    [[nodiscard]] const std::string& file() const noexcept { return file_; }
    [[nodiscard]] const std::string& name() const noexcept { return name_; }
    [[nodiscard]] std::span<const cell> cells() const noexcept { return cells_; }

    /// The cell at (row, column), or nullptr when the sheet has none there.
    [[nodiscard]] const cell* find(std::uint32_t row, std::uint32_t column) const {
        const auto it = std::lower_bound(
            cells_.begin(), cells_.end(), std::pair{row, column},
            [](const cell& c, const std::pair<std::uint32_t, std::uint32_t>& key) {
                return c.row != key.first ? c.row < key.first : c.column < key.second;
            });
        return it != cells_.end() && it->row == row && it->column == column ? &*it : nullptr;
    }

    /// The last row holding a non-empty value (pandas drops the empty rows after it); 0 if
    /// none.
    [[nodiscard]] std::uint32_t last_row_with_data() const noexcept {
        for (auto it = cells_.rbegin(); it != cells_.rend(); ++it) {
            if (it->kind == cell_kind::number || it->kind == cell_kind::error ||
                (it->kind == cell_kind::text && !it->text.empty())) {
                return it->row;
            }
        }
        return 0;
    }

    /// "'wheel1.xlsx', sheet 'Sheet1', cell B7" for messages.
    [[nodiscard]] std::string where(std::uint32_t row, std::uint32_t column) const {
        return "'" + file_ + "', sheet '" + name_ + "', cell " + cell_name(row, column);
    }

private:
    std::string file_;
    std::string name_;
    std::vector<cell> cells_;
};

namespace detail {

inline constexpr std::string_view main_namespace =
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
inline constexpr std::string_view relationship_namespace =
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
inline constexpr std::string_view package_relationship_namespace =
    "http://schemas.openxmlformats.org/package/2006/relationships";
inline constexpr char namespace_separator = '\x01';

/// An element or attribute name split at the separator expat puts between URI and name.
struct qualified_name {
    std::string_view uri;
    std::string_view local;
};
inline qualified_name split_name(const char* name) {
    const std::string_view text(name);
    const auto cut = text.find(namespace_separator);
    if (cut == std::string_view::npos) {
        return {{}, text};
    }
    return {text.substr(0, cut), text.substr(cut + 1)};
}

/// Base of the SAX readers below: runs expat over one part, stopping at the first error a
/// handler reports; rejects DTDs, so no entity is ever declared or expanded.
class xml_reader {
public:
    virtual ~xml_reader() = default;

    void parse(std::string_view xml, const std::string& what) {
        const std::unique_ptr<XML_ParserStruct, decltype(&XML_ParserFree)> parser(
            XML_ParserCreateNS(nullptr, namespace_separator), &XML_ParserFree);
        if (!parser) {
            throw io_error(what + ": cannot create an XML parser");
        }
        XML_SetUserData(parser.get(), this);
        XML_SetElementHandler(parser.get(), &on_start, &on_end);
        XML_SetCharacterDataHandler(parser.get(), &on_text);
        XML_SetStartDoctypeDeclHandler(parser.get(), &on_doctype);
        parser_ = parser.get();
        // Fed in chunks: XML_Parse takes an int length.
        constexpr std::size_t chunk = std::size_t{1} << 24;
        std::size_t offset = 0;
        do {
            const std::size_t length = std::min(chunk, xml.size() - offset);
            const bool last = offset + length == xml.size();
            if (XML_Parse(parser.get(), xml.data() + offset, static_cast<int>(length),
                          last ? 1 : 0) != XML_STATUS_OK) {
                if (!error_.empty()) {
                    throw io_error(what + ": " + error_);
                }
                throw io_error(what + ": malformed XML at line " +
                               std::to_string(XML_GetCurrentLineNumber(parser.get())) + ": " +
                               XML_ErrorString(XML_GetErrorCode(parser.get())));
            }
            offset += length;
        } while (offset < xml.size());
        parser_ = nullptr;
    }

protected:
    virtual void start(qualified_name name, const char** attributes) = 0;
    virtual void end(qualified_name name) = 0;
    virtual void text(std::string_view) {}

    /// Stops the parse; parse() then throws with `message`.
    void stop(std::string message) {
        if (error_.empty()) {
            error_ = std::move(message);
            XML_StopParser(parser_, XML_FALSE);
        }
    }
    [[nodiscard]] bool stopped() const noexcept { return !error_.empty(); }

    /// The value of attribute (uri, local), or nullptr.
    static const char* attribute(const char** attributes, std::string_view uri,
                                 std::string_view local) {
        for (; attributes[0] != nullptr; attributes += 2) {
            const auto name = split_name(attributes[0]);
            if (name.uri == uri && name.local == local) {
                return attributes[1];
            }
        }
        return nullptr;
    }

private:
    static void XMLCALL on_start(void* self, const XML_Char* name, const XML_Char** attributes) {
        auto* reader = static_cast<xml_reader*>(self);
        if (!reader->stopped()) {
            reader->start(split_name(name), attributes);
        }
    }
    static void XMLCALL on_end(void* self, const XML_Char* name) {
        auto* reader = static_cast<xml_reader*>(self);
        if (!reader->stopped()) {
            reader->end(split_name(name));
        }
    }
    static void XMLCALL on_text(void* self, const XML_Char* text, int length) {
        auto* reader = static_cast<xml_reader*>(self);
        if (!reader->stopped()) {
            reader->text(std::string_view(text, static_cast<std::size_t>(length)));
        }
    }
    static void XMLCALL on_doctype(void* self, const XML_Char*, const XML_Char*, const XML_Char*,
                                   int) {
        static_cast<xml_reader*>(self)->stop("a document type declaration (DTD) is not allowed");
    }

    XML_Parser parser_ = nullptr;
    std::string error_;
};

/// workbook.xml: the first <sheet>'s name and relationship id (pandas reads sheet 0).
class workbook_reader final : public xml_reader {
public:
    std::string sheet_name;
    std::string relationship;
    bool found = false;

private:
    void start(qualified_name name, const char** attributes) override {
        if (found || name.uri != main_namespace || name.local != "sheet") {
            return;
        }
        const char* sheet = attribute(attributes, {}, "name");
        const char* id = attribute(attributes, relationship_namespace, "id");
        if (sheet == nullptr || id == nullptr) {
            stop("a <sheet> lacks its name or r:id attribute");
            return;
        }
        sheet_name = sheet;
        relationship = id;
        found = true;
    }
    void end(qualified_name) override {}
};

/// xl/_rels/workbook.xml.rels: the target of one relationship id.
class relationships_reader final : public xml_reader {
public:
    explicit relationships_reader(std::string id) : id_(std::move(id)) {}
    std::string target;

private:
    void start(qualified_name name, const char** attributes) override {
        if (!target.empty() || name.uri != package_relationship_namespace ||
            name.local != "Relationship") {
            return;
        }
        const char* id = attribute(attributes, {}, "Id");
        const char* to = attribute(attributes, {}, "Target");
        if (id != nullptr && to != nullptr && id == id_) {
            target = to;
        }
    }
    void end(qualified_name) override {}
    std::string id_;
};

/// Collects rich text as openpyxl's Text.content does: the <t> directly under the string
/// element first, then each run's <t>, in order; phonetic runs (<rPh>) are left out.
class rich_text {
public:
    /// Call on every start/end below the string element; depth 0 is the string element.
    void start(std::string_view local, int depth, bool main) {
        if (main && depth == 1 && local == "t") {
            target_ = &plain_;
        } else if (main && depth == 1 && local == "r") {
            in_run_ = true;
        } else if (main && depth == 2 && in_run_ && local == "t") {
            runs_.emplace_back();
            target_ = &runs_.back();
        }
    }
    void end(std::string_view local, int depth) {
        if (local == "t" && (depth == 1 || depth == 2)) {
            target_ = nullptr;
        } else if (depth == 1 && local == "r") {
            in_run_ = false;
        }
    }
    void text(std::string_view piece) {
        if (target_ != nullptr) {
            target_->append(piece);
        }
    }
    [[nodiscard]] std::string take() {
        std::string out = std::move(plain_);
        for (const auto& run : runs_) {
            out += run;
        }
        plain_.clear();
        runs_.clear();
        target_ = nullptr;
        in_run_ = false;
        return out;
    }

private:
    std::string plain_;
    std::vector<std::string> runs_;
    std::string* target_ = nullptr;
    bool in_run_ = false;
};

/// xl/sharedStrings.xml: one string per <si>. openpyxl also deletes every "x005F_" (the
/// escape of a literal "_x...._"), and so does this.
class shared_strings_reader final : public xml_reader {
public:
    std::vector<std::string> strings;

private:
    void start(qualified_name name, const char**) override {
        const bool main = name.uri == main_namespace;
        if (depth_ < 0) {
            if (main && name.local == "si") {
                depth_ = 0;
            }
            return;
        }
        ++depth_;
        text_.start(name.local, depth_, main);
    }
    void end(qualified_name name) override {
        if (depth_ < 0) {
            return;
        }
        if (depth_ == 0) {
            std::string value = text_.take();
            constexpr std::string_view escape = "x005F_";
            for (auto at = value.find(escape); at != std::string::npos;
                 at = value.find(escape, at)) {
                value.erase(at, escape.size());
            }
            strings.push_back(std::move(value));
            depth_ = -1;
            return;
        }
        text_.end(name.local, depth_);
        --depth_;
    }
    void text(std::string_view piece) override { text_.text(piece); }

    int depth_ = -1; // depth below the current <si>; -1 outside one
    rich_text text_;
};

/// A 1-based row number or column letters from a cell reference; 0 when malformed.
inline std::uint32_t parse_row_number(std::string_view digits) {
    std::uint32_t value = 0;
    const auto [end, code] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (code != std::errc{} || end != digits.data() + digits.size() || value == 0 ||
        value > max_rows) {
        return 0;
    }
    return value;
}

/// The worksheet part: <row r> and <c r t> with <v> or <is>, following openpyxl's counters
/// when a row or cell leaves out its reference.
class sheet_reader final : public xml_reader {
public:
    sheet_reader(const std::vector<std::string>& shared, std::string where)
        : shared_(shared), where_(std::move(where)) {}

    std::vector<cell> cells;

private:
    void start(qualified_name name, const char** attributes) override {
        const bool main = name.uri == main_namespace;
        if (in_cell_) {
            ++cell_depth_;
            if (cell_depth_ == 1 && main && name.local == "v") {
                in_value_ = true;
                has_value_ = true;
            } else if (cell_depth_ == 1 && main && name.local == "is") {
                in_inline_ = true;
                has_inline_ = true;
            } else if (in_inline_) {
                inline_text_.start(name.local, cell_depth_ - 1, main);
            }
            return;
        }
        if (!main) {
            return;
        }
        if (name.local == "row") {
            const char* r = attribute(attributes, {}, "r");
            if (r != nullptr) {
                row_ = parse_row_number(r);
                if (row_ == 0) {
                    stop(where_ + ": row number '" + std::string(r).substr(0, 20) +
                         "' is not in 1.." + std::to_string(max_rows));
                }
            } else if (++row_ > max_rows) {
                stop(where_ + ": more than " + std::to_string(max_rows) + " rows");
            }
            column_ = 0;
        } else if (name.local == "c") {
            start_cell(attributes);
        }
    }

    void start_cell(const char** attributes) {
        in_cell_ = true;
        cell_depth_ = 0;
        in_value_ = has_value_ = in_inline_ = has_inline_ = false;
        value_.clear();
        const char* type = attribute(attributes, {}, "t");
        type_ = type != nullptr ? type : "n";
        const char* reference = attribute(attributes, {}, "r");
        if (reference == nullptr) {
            if (++column_ > max_columns) {
                stop(where_ + ": row " + std::to_string(row_) + " has more than " +
                     std::to_string(max_columns) + " columns");
            }
            cell_row_ = row_;
            return;
        }
        const std::string_view ref(reference);
        std::size_t letters = 0;
        std::uint32_t column = 0;
        while (letters < ref.size() && ref[letters] >= 'A' && ref[letters] <= 'Z' && letters < 3) {
            column = column * 26 + static_cast<std::uint32_t>(ref[letters] - 'A' + 1);
            ++letters;
        }
        const std::uint32_t row = parse_row_number(ref.substr(letters));
        if (letters == 0 || column > max_columns || row == 0) {
            stop(where_ + ": malformed cell reference '" + std::string(ref.substr(0, 20)) + "'");
            return;
        }
        column_ = column;
        cell_row_ = row;
    }

    void end(qualified_name name) override {
        if (!in_cell_) {
            return;
        }
        if (cell_depth_ > 0) {
            if (cell_depth_ == 1 && name.local == "v") {
                in_value_ = false;
            } else if (cell_depth_ == 1 && name.local == "is") {
                in_inline_ = false;
            } else if (in_inline_) {
                inline_text_.end(name.local, cell_depth_ - 1);
            }
            --cell_depth_;
            return;
        }
        in_cell_ = false;
        finish_cell();
    }

    void text(std::string_view piece) override {
        if (in_value_) {
            if (value_.size() + piece.size() > max_part_bytes) {
                stop(where_ + ": a cell value is too long");
                return;
            }
            value_.append(piece);
        } else if (in_inline_) {
            inline_text_.text(piece);
        }
    }

    void finish_cell() {
        cell out;
        out.row = cell_row_;
        out.column = column_;
        const std::string here = where_ + ", cell " + cell_name(cell_row_, column_);
        if (type_ == "inlineStr") {
            std::string content = inline_text_.take();
            if (has_inline_) {
                out.kind = cell_kind::text;
                out.text = std::move(content);
            }
            cells.push_back(std::move(out));
            return;
        }
        // openpyxl: `findtext(v) or None`, so an empty <v> is no value at all.
        if (!has_value_ || value_.empty()) {
            cells.push_back(std::move(out));
            return;
        }
        if (type_ == "s") {
            std::size_t index = 0;
            const auto [end, code] =
                std::from_chars(value_.data(), value_.data() + value_.size(), index);
            if (code != std::errc{} || end != value_.data() + value_.size() ||
                index >= shared_.size()) {
                stop(here + ": shared string index '" + value_.substr(0, 20) + "' is not below " +
                     std::to_string(shared_.size()));
                return;
            }
            out.kind = cell_kind::text;
            out.text = shared_[index];
        } else if (type_ == "str") {
            out.kind = cell_kind::text;
            out.text = std::move(value_);
        } else if (type_ == "n") {
            double number = 0;
            const auto [end, code] =
                std::from_chars(value_.data(), value_.data() + value_.size(), number);
            if (code != std::errc{} || end != value_.data() + value_.size()) {
                stop(here + ": number '" + value_.substr(0, 20) + "' does not parse");
                return;
            }
            out.kind = cell_kind::number;
            out.number = number;
            out.text = std::move(value_);
        } else if (type_ == "e") {
            out.kind = cell_kind::error;
            out.text = std::move(value_);
        } else {
            stop(here + ": cell type '" + type_.substr(0, 20) +
                 "' is not supported (shared strings, inline strings, numbers, formula strings "
                 "and error values are)");
            return;
        }
        cells.push_back(std::move(out));
    }

    const std::vector<std::string>& shared_;
    std::string where_;
    std::uint32_t row_ = 0;
    std::uint32_t column_ = 0;
    std::uint32_t cell_row_ = 0;
    bool in_cell_ = false;
    int cell_depth_ = 0;
    bool in_value_ = false, has_value_ = false, in_inline_ = false, has_inline_ = false;
    std::string type_;
    std::string value_;
    rich_text inline_text_;
};

/// The part a relationship target names: relative to xl/, or absolute from the package root.
inline std::string resolve_target(std::string_view target) {
    if (!target.empty() && target.front() == '/') {
        return std::string(target.substr(1));
    }
    std::string out = "xl/";
    while (target.substr(0, 3) == "../") { // relative to the package root
        target.remove_prefix(3);
        out.clear();
    }
    return out + std::string(target);
}

} // namespace detail

/// The first worksheet of an .xlsx held in memory; `file` names it in messages.
[[nodiscard]] inline sheet parse_first_sheet(std::span<const std::byte> bytes,
                                             const std::string& file) {
    const std::string what = "io::xlsx: '" + file + "'";
    auto read_at = [bytes, &what](std::size_t offset, std::size_t length) {
        if (offset > bytes.size() || length > bytes.size() - offset) {
            throw io_error(what + ": " + std::to_string(length) + " bytes at offset " +
                           std::to_string(offset) + " lie outside the archive");
        }
        const auto part = bytes.subspan(offset, length);
        return std::vector<std::byte>(part.begin(), part.end());
    };
    io::detail::zip_archive<decltype(read_at)> archive(read_at, bytes.size(), what);
    auto part = [&](const std::string& name, bool required) -> std::string {
        const auto* entry = archive.find(name);
        if (entry == nullptr) {
            if (required) {
                throw io_error(what + ": not an .xlsx workbook: no part '" + name + "'");
            }
            return {};
        }
        if (entry->uncompressed_size > max_part_bytes) {
            throw io_error(what + ": part '" + name + "' is larger than " +
                           std::to_string(max_part_bytes >> 20) + " MiB");
        }
        const auto data = archive.read(*entry);
        return std::string(reinterpret_cast<const char*>(data.data()), data.size());
    };

    detail::workbook_reader workbook;
    workbook.parse(part("xl/workbook.xml", true), what + ", xl/workbook.xml");
    if (!workbook.found) {
        throw io_error(what + ": the workbook lists no sheet");
    }
    detail::relationships_reader relationships(workbook.relationship);
    relationships.parse(part("xl/_rels/workbook.xml.rels", true),
                        what + ", xl/_rels/workbook.xml.rels");
    if (relationships.target.empty()) {
        throw io_error(what + ": sheet '" + workbook.sheet_name + "' has no relationship target");
    }
    detail::shared_strings_reader shared;
    const std::string shared_xml = part("xl/sharedStrings.xml", false);
    if (!shared_xml.empty()) {
        shared.parse(shared_xml, what + ", xl/sharedStrings.xml");
    }
    const std::string where = "'" + file + "', sheet '" + workbook.sheet_name + "'";
    detail::sheet_reader cells(shared.strings, where);
    cells.parse(part(detail::resolve_target(relationships.target), true), "io::xlsx: " + where);
    return sheet(file, workbook.sheet_name, std::move(cells.cells));
}

/// The first worksheet of the .xlsx file at `path`; messages name the file by its path.
[[nodiscard]] inline sheet read_first_sheet(const std::filesystem::path& path) {
    std::ifstream stream(path, std::ios::binary);
    if (!stream) {
        throw io_error("io::xlsx: cannot open '" + path.string() + "'");
    }
    std::vector<char> bytes((std::istreambuf_iterator<char>(stream)),
                            std::istreambuf_iterator<char>());
    if (stream.bad()) {
        throw io_error("io::xlsx: cannot read '" + path.string() + "'");
    }
    return parse_first_sheet(std::as_bytes(std::span<const char>(bytes)), path.string());
}

} // namespace emofuse::io::xlsx
