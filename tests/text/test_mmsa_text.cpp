// Text lines to MMSA's (batch, 3, seq_len) text_bert array and the separate int32 arrays.
#include <emofuse/text/mmsa_text.hpp>

#include "text_fixtures.hpp"

#include <string>
#include <vector>

using namespace emofuse::language;
using text_test::message_of;
using text_test::scratch_file;

namespace {

// [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4 good=5 movie=6 !=7
bert_tokenizer tiny() {
    return bert_tokenizer(
        vocabulary::parse("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\ngood\nmovie\n!\n"));
}

} // namespace

TEST_CASE("encode_batch gives (batch, seq_len) ids, mask and token types") {
    const std::vector<std::string> texts{"Good movie!", "", "good good good good good"};
    const auto batch = encode_batch(tiny(), texts, 5);
    REQUIRE(batch.input_ids.shape(0) == 3);
    REQUIRE(batch.input_ids.shape(1) == 5);
    const xt::xtensor<std::int32_t, 2> want_ids{{2, 5, 6, 7, 3}, {2, 3, 0, 0, 0}, {2, 5, 5, 5, 3}};
    const xt::xtensor<std::int32_t, 2> want_mask{{1, 1, 1, 1, 1}, {1, 1, 0, 0, 0}, {1, 1, 1, 1, 1}};
    CHECK(batch.input_ids == want_ids);
    CHECK(batch.attention_mask == want_mask);
    CHECK(batch.token_type_ids == xt::xtensor<std::int32_t, 2>(xt::zeros<std::int32_t>({3, 5})));
}

TEST_CASE("mmsa_text_bert stacks ids, mask and token types as MMSA's channels") {
    const std::vector<std::string> texts{"good movie", "movie"};
    const auto text_bert = mmsa_text_bert(tiny(), texts, 6);
    REQUIRE(text_bert.shape() == std::array<std::size_t, 3>{2, 3, 6});
    const xt::xtensor<float, 3> want{{{2, 5, 6, 3, 0, 0}, {1, 1, 1, 1, 0, 0}, {0, 0, 0, 0, 0, 0}},
                                     {{2, 6, 3, 0, 0, 0}, {1, 1, 1, 0, 0, 0}, {0, 0, 0, 0, 0, 0}}};
    CHECK(text_bert == want);
    CHECK(mmsa_text_bert(tiny(), texts).shape(2) == 50); // MMSA's feature files
}

TEST_CASE("read_text_lines: one sample per line, BOM and CRLF handled") {
    const scratch_file file("\xEF\xBB\xBFgood movie\r\n\nmovie!\n");
    CHECK(read_text_lines(file.path()) == std::vector<std::string>{"good movie", "", "movie!"});
    const scratch_file no_final_break("a\nb");
    CHECK(read_text_lines(no_final_break.path()) == std::vector<std::string>{"a", "b"});
    const scratch_file empty("");
    CHECK(read_text_lines(empty.path()).empty());
}

TEST_CASE("mmsa_text_bert_from_file encodes a text file") {
    const scratch_file file("good movie\nmovie\n");
    const auto text_bert = mmsa_text_bert_from_file(tiny(), file.path(), 4);
    const xt::xtensor<float, 3> want{{{2, 5, 6, 3}, {1, 1, 1, 1}, {0, 0, 0, 0}},
                                     {{2, 6, 3, 0}, {1, 1, 1, 0}, {0, 0, 0, 0}}};
    CHECK(text_bert == want);
}

TEST_CASE("bad text files and lengths are clear errors") {
    const scratch_file file("good\nmo\xFFvie\n");
    const auto message = message_of<emofuse::io_error>([&] { (void)read_text_lines(file.path()); });
    CHECK(message.find(": line 2: invalid UTF-8 at byte 2 of the line") != std::string::npos);
    CHECK_THROWS_AS((void)read_text_lines("/nonexistent/lines.txt"), emofuse::io_error);
    const std::vector<std::string> texts{"good"};
    CHECK_THROWS_AS((void)encode_batch(tiny(), texts, 2), emofuse::value_error);
    const std::vector<std::string> bad{"good", "\xC3"};
    CHECK(message_of<emofuse::value_error>([&] { (void)encode_batch(tiny(), bad, 4); }) ==
          "text 1: bert_tokenizer: text: invalid UTF-8 at byte 0 (0xc3)");
}
