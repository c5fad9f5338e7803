// OV-MER emotion-wheel scoring against MERTools' own wheel.py (MER2025 and MER2026 releases)
// on the committed synthetic folders, every key to 1e-12 (tests/metrics/
// generate_wheel_fixtures.py); the .xlsx reader against pandas.read_excel on hand-written
// workbooks; and the chain's rules one by one.
#include "fixtures.hpp"

#include <emofuse/io/xlsx/emotion_wheel.hpp>
#include <emofuse/io/xlsx/workbook.hpp>
#include <emofuse/metrics/emotion_wheel.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace em = emofuse::metrics;
namespace xlsx = emofuse::io::xlsx;
using metrics_test::close;

namespace {

const std::string wheel_data = std::string(EMOFUSE_TEST_DATA_DIR) + "/wheel";

nlohmann::json load_json(const std::string& path) {
    std::ifstream in(path);
    REQUIRE_MESSAGE(in.good(), "missing " << path);
    return nlohmann::json::parse(in);
}

std::vector<em::wheel_answer> answers(const em::emotion_wheel_map& map, const std::string& path) {
    std::ifstream in(path);
    REQUIRE(in.good());
    std::vector<em::wheel_answer> out;
    for (std::string line; std::getline(in, line);) {
        out.push_back(em::map_wheel_answer(map, line == "-" ? std::string() : line));
    }
    return out;
}

em::suite_result score(const std::vector<em::wheel_answer>& truth,
                       const std::vector<em::wheel_answer>& pred, em::wheel_release release,
                       em::wheel_levels levels = em::wheel_levels::both) {
    em::emotion_wheel_suite suite(release, levels);
    suite.update(truth, pred);
    return suite.compute();
}

/// Five one-row wheels naming `words` (so every scored wheel exists), plus synonyms.
em::emotion_wheel_tables small_tables() {
    em::emotion_wheel_tables t;
    auto row = [](const char* a, const char* b, const char* c) {
        std::array<std::optional<std::string>, 3> r;
        if (a)
            r[0] = a;
        if (b)
            r[1] = b;
        if (c)
            r[2] = c;
        return r;
    };
    // wheel1: Joy > {Proud > Confident, Happy > Glad}; "glad" also under Sad (later wins at
    // level 1 and level 2).
    t.wheels.push_back({"wheel1",
                        {row("Joy", "Proud", "Confident"), row(nullptr, "Happy", "Glad"),
                         row("Sad", "Lonely", "Glad")}});
    for (int k = 2; k <= 5; ++k) {
        t.wheels.push_back({"wheel" + std::to_string(k), {row("Other", "Calm", "Serene")}});
    }
    t.synonym_runs.resize(2);
    t.synonym_runs[0] = {{"joy", "['delight', 'bliss']"}, {"LONELY ", "alone"}, {"glad", ""}};
    t.synonym_runs[1] = {{"serene", "bliss"}, {"confident", ""}};
    t.forms = {{"joy", "joyful,joys"}, {"delight", "delighted"},
               {"bliss", "blissful"},  {"lonely", "loneliness"},
               {"alone", ""},          {"glad", "gladly"},
               {"serene", ""},         {"confident", ""},
               {"happy", ""}};
    return t;
}

} // namespace

TEST_CASE("emotion wheel: MERTools parity on the synthetic folders, both releases") {
    const auto expected = load_json(wheel_data + "/expected.json");
    for (const auto& [name, releases] : expected.items()) {
        const em::emotion_wheel_map map(xlsx::read_emotion_wheel(wheel_data + "/" + name));
        const auto truth = answers(map, wheel_data + "/" + name + "_truth.txt");
        const auto pred = answers(map, wheel_data + "/" + name + "_pred.txt");
        for (const auto& [release_name, keys] : releases.items()) {
            const auto release = release_name == "mertools2026" ? em::wheel_release::mertools2026
                                                                : em::wheel_release::mertools2025;
            const auto result = score(truth, pred, release);
            CHECK(result.metrics.size() == keys.size());
            for (const auto& [key, value] : keys.items()) {
                INFO(name << " " << release_name << " " << key);
                CHECK(close(result.at(key), value, 1e-12));
            }
        }
    }
}

TEST_CASE("emotion wheel: the two releases differ only where MER2025 gives NaN") {
    const auto expected = load_json(wheel_data + "/expected.json");
    REQUIRE(expected["few"]["mertools"]["level1_f_score"].is_null());
    REQUIRE(expected["few"]["mertools2026"]["level1_f_score"].get<double>() > 0);
    const em::emotion_wheel_map map(xlsx::read_emotion_wheel(wheel_data + "/few"));
    const auto truth = answers(map, wheel_data + "/few_truth.txt");
    const auto pred = answers(map, wheel_data + "/few_pred.txt");
    const auto r2025 = score(truth, pred, em::wheel_release::mertools2025);
    CHECK(std::isnan(r2025.at("track2_score")));
    CHECK_FALSE(r2025.warnings.empty());
    const auto r2026 = score(truth, pred, em::wheel_release::mertools2026);
    CHECK(r2026.at("track2_score") ==
          doctest::Approx(expected["few"]["mertools2026"]["track2_score"].get<double>()));
}

TEST_CASE("emotion wheel: --level selects the keys; bootstrap weights repeat samples") {
    const em::emotion_wheel_map map(xlsx::read_emotion_wheel(wheel_data + "/random"));
    const auto truth = answers(map, wheel_data + "/random_truth.txt");
    const auto pred = answers(map, wheel_data + "/random_pred.txt");
    const auto both = score(truth, pred, em::wheel_release::mertools2025);
    const auto one = score(truth, pred, em::wheel_release::mertools2025, em::wheel_levels::level1);
    REQUIRE(one.metrics.size() == 3);
    CHECK(one.at("level1_f_score") == both.at("level1_f_score"));
    CHECK_FALSE(one.contains("track2_score"));
    const auto two = score(truth, pred, em::wheel_release::mertools2025, em::wheel_levels::level2);
    CHECK(two.at("level2_recall") == both.at("level2_recall"));
    // Two halves merged: the same sums as one pass.
    const std::size_t half = truth.size() / 2;
    em::emotion_wheel_suite first(em::wheel_release::mertools2025, em::wheel_levels::both);
    em::emotion_wheel_suite second(em::wheel_release::mertools2025, em::wheel_levels::both);
    first.update(std::span(truth).first(half), std::span(pred).first(half));
    second.update(std::span(truth).subspan(half), std::span(pred).subspan(half));
    first.merge(second);
    CHECK(first.compute().at("track2_score") ==
          doctest::Approx(both.at("track2_score")).epsilon(1e-14));
    // Weight 2 on every sample: the same averages.
    std::vector<std::uint32_t> weights(truth.size(), 2);
    em::emotion_wheel_suite suite(em::wheel_release::mertools2025, em::wheel_levels::both);
    suite.update(truth, pred, weights);
    CHECK(suite.compute().at("track2_score") ==
          doctest::Approx(both.at("track2_score")).epsilon(1e-14));
}

TEST_CASE("emotion wheel: string_to_list and Python's strip") {
    using V = std::vector<std::string>;
    CHECK(em::mertools_string_to_list("['happy', \"sad\",, angry ]") == V{"happy", "sad", "angry"});
    CHECK(em::mertools_string_to_list("a,b") == V{"a", "b"});
    CHECK(em::mertools_string_to_list("[]").empty());
    CHECK(em::mertools_string_to_list("[").empty());
    CHECK(em::mertools_string_to_list("don't care") == V{"don", "t care"}); // quotes split
    CHECK(em::mertools_string_to_list("\xC2\xA0joy\xE3\x80\x80, \x1f sad") == V{"joy", "sad"});
    CHECK(em::detail::python_lower_strip(" JOY\t") == "joy");
    CHECK(em::detail::python_strip("\xE2\x80\x99x\xE2\x80\x99") == "\xE2\x80\x99x\xE2\x80\x99");
}

TEST_CASE("emotion wheel: the chain's rules") {
    const em::emotion_wheel_map map(small_tables());
    auto cluster = [&](const char* word, std::size_t wheel, int level) -> std::string {
        const auto* c = map.clusters(word);
        if (c == nullptr || (*c)[em::emotion_wheel_map::slot(wheel, level)] < 0) {
            return "";
        }
        return map.cluster_name((*c)[em::emotion_wheel_map::slot(wheel, level)]);
    };
    // A later row's group overwrites an earlier one ("glad" under Sad > Lonely).
    CHECK(cluster("gladly", 0, 1) == "sad");
    CHECK(cluster("gladly", 0, 2) == "lonely");
    // A level-1 word goes to its first level-2 child in sorted order: happy < proud.
    CHECK(cluster("joyful", 0, 2) == "happy");
    // Synonyms: "delighted" -> delight -> {joy} -> Joy; "blissful" -> bliss -> {joy, serene}:
    // the first in sorted order the wheel lists.
    CHECK(cluster("delighted", 0, 1) == "joy");
    CHECK(cluster("blissful", 0, 1) == "joy");
    CHECK(cluster("blissful", 1, 1) == "other"); // wheel2 lists serene, not joy
    // Synonym keys are lower-cased and stripped; format.csv keys are taken as they are.
    CHECK(cluster("loneliness", 0, 1) == "sad");
    CHECK(map.clusters("Joyful") == nullptr);
    // "happy" is a form but no synonym run lists it: wheel.py raises KeyError.
    CHECK_THROWS_WITH_AS((void)map.clusters("happy"), doctest::Contains("KeyError"),
                         emofuse::value_error);
    // Unmapped words are dropped; an answer of only those is empty.
    const auto answer = em::map_wheel_answer(map, "['nothing', 'JOYS ', 'joy']");
    CHECK(answer.slot(em::emotion_wheel_map::slot(0, 1)).size() == 1);
    CHECK(em::map_wheel_answer(map, "nothing, zzz").ids.empty());
}

TEST_CASE("emotion wheel: tables wheel.py refuses") {
    auto tables = small_tables();
    tables.synonym_runs[1].push_back({"nowhere", ""});
    CHECK_THROWS_WITH_AS(em::emotion_wheel_map{tables},
                         doctest::Contains("word_run2: \"nowhere\" is not a label of any wheel"),
                         emofuse::value_error);
    tables = small_tables();
    tables.wheels[3].name = "wheel9"; // still a candidate-label source, but wheel4 is missing
    CHECK_THROWS_WITH_AS(em::emotion_wheel_map{tables}, doctest::Contains("no wheel4"),
                         emofuse::value_error);
}

TEST_CASE("xlsx: cells as pandas.read_excel reads them") {
    const auto readings = load_json(wheel_data + "/xlsx/pandas.json");
    for (const auto& [name, reading] : readings.items()) {
        INFO(name);
        const std::string path = wheel_data + "/xlsx/" + name + ".xlsx";
        if (reading.contains("error")) {
            CHECK_THROWS_AS((void)xlsx::read_wheel_levels(xlsx::read_first_sheet(path), name),
                            emofuse::io_error);
            continue;
        }
        const auto sheet = xlsx::read_first_sheet(path);
        CHECK(sheet.name() == "Data " + name);
        const auto& header = reading["header"];
        for (std::size_t c = 0; c < header.size(); ++c) {
            const auto* cell = sheet.find(1, static_cast<std::uint32_t>(c + 1));
            const std::string text = cell != nullptr && cell->kind == xlsx::cell_kind::text
                                         ? cell->text
                                         : "Unnamed: " + std::to_string(c);
            CHECK(text == header[c].get<std::string>());
        }
        const auto& rows = reading["rows"];
        CHECK(sheet.last_row_with_data() ==
              std::max<std::uint32_t>(1, static_cast<std::uint32_t>(rows.size() + 1)));
        for (std::size_t r = 0; r < rows.size(); ++r) {
            for (std::size_t c = 0; c < rows[r].size(); ++c) {
                INFO("row " << r + 2 << " column " << c + 1);
                const auto& want = rows[r][c];
                const auto* cell = sheet.find(static_cast<std::uint32_t>(r + 2),
                                              static_cast<std::uint32_t>(c + 1));
                if (want.is_null()) {
                    CHECK(
                        (cell == nullptr || cell->kind == xlsx::cell_kind::missing ||
                         cell->kind == xlsx::cell_kind::error ||
                         (cell->kind == xlsx::cell_kind::text && xlsx::is_pandas_na(cell->text))));
                } else if (want.is_number()) {
                    REQUIRE(cell != nullptr);
                    CHECK(cell->kind == xlsx::cell_kind::number);
                    CHECK(cell->number == want.get<double>());
                } else {
                    REQUIRE(cell != nullptr);
                    CHECK(cell->kind == xlsx::cell_kind::text);
                    CHECK(cell->text == want.get<std::string>());
                }
            }
        }
    }
}

TEST_CASE("xlsx: errors name the file, the sheet and the cell") {
    const auto kinds = xlsx::read_first_sheet(wheel_data + "/xlsx/kinds.xlsx");
    // B2 holds the number 2.5 where wheel.py expects a word.
    CHECK_THROWS_WITH_AS((void)xlsx::read_wheel_levels(kinds, "kinds"),
                         doctest::Contains("kinds.xlsx', sheet 'Data kinds', cell B2: expected "
                                           "an emotion word text, got the number 2.5"),
                         emofuse::io_error);
    CHECK_THROWS_WITH_AS((void)xlsx::read_first_sheet(wheel_data + "/xlsx/boolean.xlsx"),
                         doctest::Contains("sheet 'Data boolean', cell A2: cell type 'b'"),
                         emofuse::io_error);
    em::emotion_wheel_tables tables;
    CHECK_THROWS_WITH_AS(xlsx::read_wheel_synonyms(kinds, tables),
                         doctest::Contains("no column 'word_run1'"), emofuse::io_error);
    CHECK_THROWS_WITH_AS((void)xlsx::read_first_sheet(wheel_data + "/random/format.csv"),
                         doctest::Contains("format.csv"), emofuse::io_error);
    CHECK_THROWS_AS((void)xlsx::read_emotion_wheel(wheel_data + "/missing"), emofuse::io_error);
}

TEST_CASE("xlsx: format.csv as pandas.read_csv reads it") {
    const std::string csv = "\xEF\xBB\xBFname,format\r\n"
                            "joy,\"joyful,\"\"joys\"\"\"\r\n"
                            "   \n"
                            "\n"
                            "NA,x\n"
                            "sad\n"
                            "\"a\"b,nan\n";
    const auto rows = xlsx::parse_wheel_forms(csv, "format.csv");
    REQUIRE(rows.size() == 4);
    CHECK(rows[0] == std::pair<std::string, std::string>{"joy", "joyful,\"joys\""});
    CHECK(rows[1] == std::pair<std::string, std::string>{"", "x"});
    CHECK(rows[2] == std::pair<std::string, std::string>{"sad", ""});
    CHECK(rows[3] == std::pair<std::string, std::string>{"ab", ""});
    CHECK_THROWS_WITH_AS((void)xlsx::parse_wheel_forms("name,format\na,b,c\n", "f.csv"),
                         doctest::Contains("'f.csv', line 2: 3 fields"), emofuse::io_error);
    CHECK_THROWS_WITH_AS((void)xlsx::parse_wheel_forms("name,forms\n", "f.csv"),
                         doctest::Contains("lacks the column 'format'"), emofuse::io_error);
    CHECK_THROWS_WITH_AS((void)xlsx::parse_wheel_forms("name,format\n\"a,b\n", "f.csv"),
                         doctest::Contains("never closed"), emofuse::io_error);
}
