// vocab.txt reading: ids are line numbers, Python's line endings, duplicates, BOM, errors.
#include <emofuse/text/vocabulary.hpp>

#include "text_fixtures.hpp"

#include <string>

using namespace emofuse::language;
using text_test::message_of;

TEST_CASE("ids are line numbers, lines end at LF, CRLF or a lone CR") {
    const auto vocab = vocabulary::parse("[PAD]\r\nhello\rworld\n##s\n");
    CHECK(vocab.size() == 4);
    CHECK(vocab.find("[PAD]") == 0);
    CHECK(vocab.find("hello") == 1);
    CHECK(vocab.find("world") == 2);
    CHECK(vocab.find("##s") == 3);
    CHECK_FALSE(vocab.find("hello\r").has_value());
    CHECK(vocab.token(2) == "world");
    CHECK(vocab.longest_word_start() == 5);
    CHECK(vocab.longest_continuation() == 1);
}

TEST_CASE("a final line without a line break is a token; empty lines are empty tokens") {
    const auto vocab = vocabulary::parse("a\n\nb");
    CHECK(vocab.size() == 3);
    CHECK(vocab.find("") == 1);
    CHECK(vocab.find("b") == 2);
    CHECK(vocabulary::parse("").size() == 0);
    CHECK(vocabulary::parse("\n").size() == 1);
}

TEST_CASE("spaces are part of tokens") {
    const auto vocab = vocabulary::parse("a \n b\n");
    CHECK(vocab.find("a ") == 0);
    CHECK(vocab.find(" b") == 1);
    CHECK_FALSE(vocab.contains("a"));
}

TEST_CASE("a repeated token keeps the id of its last line, as a Python dict does") {
    const auto vocab = vocabulary::parse("x\ny\nx\n");
    CHECK(vocab.find("x") == 2);
    CHECK(vocab.size() == 3);
    CHECK(vocab.distinct_size() == 2);
    CHECK(vocab.token(0) == "x");
}

TEST_CASE("a leading byte order mark is skipped") {
    const auto vocab = vocabulary::parse("\xEF\xBB\xBF[PAD]\n[UNK]\n");
    CHECK(vocab.find("[PAD]") == 0);
    CHECK(vocab.find("[UNK]") == 1);
}

TEST_CASE("invalid UTF-8 names the line and the byte") {
    const auto message = message_of<emofuse::io_error>([] {
        (void)vocabulary::parse("ok\nfine\r\nba\xFF"
                                "d\n",
                                "my_vocab.txt");
    });
    CHECK(message == "my_vocab.txt: line 3: invalid UTF-8 at byte 11 of the file");
}

TEST_CASE("token ids outside the vocabulary and missing files are errors") {
    const auto vocab = vocabulary::parse("a\n");
    CHECK(message_of<emofuse::value_error>([&] { (void)vocab.token(1); }) ==
          "vocabulary: id 1 outside [0, 1)");
    CHECK_THROWS_AS((void)vocab.token(-1), emofuse::value_error);
    CHECK_THROWS_AS((void)vocabulary::load("/nonexistent/vocab.txt"), emofuse::io_error);
}

TEST_CASE("load reads the committed fixture") {
    const auto vocab = vocabulary::load(text_test::data_path("uncased_vocab.txt"));
    CHECK(vocab.find("[PAD]") == 0);
    CHECK(vocab.find("[UNK]") == 2);
    CHECK(vocab.find("the") == static_cast<vocabulary::id_type>(vocab.size() - 1)); // duplicate
}
