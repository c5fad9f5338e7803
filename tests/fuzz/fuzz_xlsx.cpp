// fuzz_xlsx: the .xlsx reader and the emotion-wheel folder parsing on hostile bytes. The first
// byte picks what the rest is: a whole workbook (mode 0), or — so mutations reach the XML
// rather than stop at the ZIP CRC — the worksheet part (1) or the shared-strings part (2)
// wrapped in a well-formed archive, or format.csv text (3). Anything accepted must also be
// readable as a wheel sheet or a synonym sheet (or refused with io_error), and the cells of
// an accepted sheet must be sorted, unique and inside Excel's limits. As format.csv text the
// input is also scored as an answer on a fixed small wheel map (ids sorted and unique per
// slot), and its forms are compiled into a map of their own.
#include <emofuse/io/detail/zip_archive.hpp>
#include <emofuse/io/xlsx/emotion_wheel.hpp>
#include <emofuse/io/xlsx/workbook.hpp>
#include <emofuse/metrics/emotion_wheel.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

namespace xlsx = emofuse::io::xlsx;

void require(bool condition, const char* what) {
    if (!condition) {
        std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
        std::abort();
    }
}

void put16(std::vector<std::byte>& out, std::uint32_t value) {
    out.push_back(std::byte(value & 0xffu));
    out.push_back(std::byte((value >> 8) & 0xffu));
}
void put32(std::vector<std::byte>& out, std::uint32_t value) {
    put16(out, value & 0xffffu);
    put16(out, value >> 16);
}

/// A stored (uncompressed) ZIP archive of the given members.
std::vector<std::byte> stored_zip(const std::vector<std::pair<std::string, std::string>>& members) {
    std::vector<std::byte> out, directory;
    for (const auto& [name, data] : members) {
        const auto bytes = std::as_bytes(std::span<const char>(data));
        const std::uint32_t crc = emofuse::io::detail::crc32(bytes);
        const auto offset = static_cast<std::uint32_t>(out.size());
        const auto size = static_cast<std::uint32_t>(data.size());
        const auto name_size = static_cast<std::uint32_t>(name.size());
        for (auto* block : {&out, &directory}) {
            const bool central = block == &directory;
            put32(*block, central ? 0x02014b50u : 0x04034b50u);
            if (central) {
                put16(*block, 20);
            }
            put16(*block, 20);
            put16(*block, 0); // flags
            put16(*block, 0); // stored
            put32(*block, 0); // time, date
            put32(*block, crc);
            put32(*block, size);
            put32(*block, size);
            put16(*block, name_size);
            put16(*block, 0);
            if (central) {
                put16(*block, 0);
                put16(*block, 0);
                put16(*block, 0);
                put32(*block, 0);
                put32(*block, offset);
            }
            for (const char c : name) {
                block->push_back(std::byte(static_cast<unsigned char>(c)));
            }
            if (!central) {
                out.insert(out.end(), bytes.begin(), bytes.end());
            }
        }
    }
    const auto directory_offset = static_cast<std::uint32_t>(out.size());
    out.insert(out.end(), directory.begin(), directory.end());
    put32(out, 0x06054b50u);
    put32(out, 0);
    put16(out, static_cast<std::uint32_t>(members.size()));
    put16(out, static_cast<std::uint32_t>(members.size()));
    put32(out, static_cast<std::uint32_t>(directory.size()));
    put32(out, directory_offset);
    put16(out, 0);
    return out;
}

constexpr std::string_view workbook =
    R"(<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" )"
    R"(xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">)"
    R"(<sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>)";
constexpr std::string_view relationships =
    R"(<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">)"
    R"(<Relationship Id="rId1" Target="worksheets/sheet1.xml"/></Relationships>)";
constexpr std::string_view default_sheet =
    R"(<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>)"
    R"(<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s">)"
    R"(<v>2</v></c></row><row r="2"><c r="A2" t="s"><v>3</v></c><c t="s"><v>1</v></c></row>)"
    R"(</sheetData></worksheet>)";
constexpr std::string_view default_strings =
    R"(<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>level1</t>)"
    R"(</si><si><t>level2</t></si><si><t>level3</t></si><si><t>Joy</t></si></sst>)";

namespace em = emofuse::metrics;

/// Five one-row wheels and one synonym run: enough for every chain step.
em::emotion_wheel_tables fixed_tables() {
    em::emotion_wheel_tables t;
    for (int k = 1; k <= 5; ++k) {
        t.wheels.push_back({"wheel" + std::to_string(k),
                            {{std::string("Joy"), std::string("Happy"), std::string("Glad")},
                             {std::nullopt, std::string("Calm"), std::nullopt}}});
    }
    t.synonym_runs = {{{"joy", "['delight', 'bliss']"}, {"glad", "cheerful"}, {"calm", ""}}};
    t.forms = {{"joy", "joyful,joys"}, {"delight", "delighted"}, {"glad", ""}, {"cheerful", ""}};
    return t;
}

void check_answer(const em::emotion_wheel_map& map, std::string_view text) {
    try {
        const auto answer = em::map_wheel_answer(map, text);
        for (std::size_t s = 0; s < em::emotion_wheel_map::slots; ++s) {
            const auto ids = answer.slot(s);
            for (std::size_t i = 1; i < ids.size(); ++i) {
                require(ids[i - 1] < ids[i], "an answer's ids are sorted and unique per slot");
            }
        }
    } catch (const emofuse::value_error&) {
        // a form whose chain reaches a name the synonym runs lack (wheel.py's KeyError)
    }
}

void check_sheet(const xlsx::sheet& sheet) {
    const auto cells = sheet.cells();
    for (std::size_t i = 0; i < cells.size(); ++i) {
        require(cells[i].row >= 1 && cells[i].row <= xlsx::max_rows && cells[i].column >= 1 &&
                    cells[i].column <= xlsx::max_columns,
                "cells lie inside Excel's limits");
        require(i == 0 || cells[i - 1].row < cells[i].row ||
                    (cells[i - 1].row == cells[i].row && cells[i - 1].column < cells[i].column),
                "cells are sorted and unique");
        require(sheet.find(cells[i].row, cells[i].column) == &cells[i], "find locates each cell");
    }
    try {
        const auto wheel = xlsx::read_wheel_levels(sheet, "wheel1");
        require(wheel.rows.size() + 1 == std::max<std::size_t>(1, sheet.last_row_with_data()),
                "one wheel row per data row");
    } catch (const emofuse::io_error&) {
    }
    try {
        emofuse::metrics::emotion_wheel_tables tables;
        xlsx::read_wheel_synonyms(sheet, tables, 1);
    } catch (const emofuse::io_error&) {
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const auto mode = data[0] % 4;
    const std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
    try {
        if (mode == 3) {
            static const em::emotion_wheel_map fixed(fixed_tables());
            check_answer(fixed, rest);
            auto tables = fixed_tables();
            tables.forms = xlsx::parse_wheel_forms(rest, "format.csv");
            const em::emotion_wheel_map own(tables);
            for (const auto& [name, forms] : tables.forms) {
                check_answer(own, forms);
                check_answer(own, name);
            }
            return 0;
        }
        std::vector<std::byte> archive;
        if (mode == 0) {
            const auto bytes = std::as_bytes(std::span<const char>(rest));
            archive.assign(bytes.begin(), bytes.end());
        } else {
            archive = stored_zip(
                {{"xl/workbook.xml", std::string(workbook)},
                 {"xl/_rels/workbook.xml.rels", std::string(relationships)},
                 {"xl/worksheets/sheet1.xml", mode == 1 ? rest : std::string(default_sheet)},
                 {"xl/sharedStrings.xml", mode == 2 ? rest : std::string(default_strings)}});
        }
        check_sheet(xlsx::parse_first_sheet(archive, "fuzz.xlsx"));
    } catch (const emofuse::io_error&) {
    }
    return 0;
}
