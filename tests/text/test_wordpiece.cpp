// BertTokenizer: hand-written cases from the algorithm (a tiny inline vocabulary each), and
// the cases generate_fixtures.py recorded with the Python restatement on the committed
// vocabularies (accents, punctuation, Chinese, mixed scripts, control characters, special
// tokens in the text, the 100-character limit, truncation and padding).
#include <emofuse/text/wordpiece.hpp>

#include "text_fixtures.hpp"

#include <cstdlib>
#include <string>
#include <vector>

using namespace emofuse::language;
using text_test::message_of;
using strings = std::vector<std::string>;
using ids = std::vector<std::int32_t>;

namespace {

// ids: [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4 un=5 ##aff=6 ##able=7 a=8 ##a=9 ##b=10 b=11
//      ,=12 !=13 cafe=14 café=15 中=16 ##bb=17 hello=18 ##llo=19 he=20
constexpr char tiny_vocab[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nun\n##aff\n##able\na\n##a\n"
                              "##b\nb\n,\n!\ncafe\ncaf\xC3\xA9\n\xE4\xB8\xAD\n##bb\nhello\n##llo\n"
                              "he\n";

bert_tokenizer tiny(bert_tokenizer_options options = {}) {
    return bert_tokenizer(vocabulary::parse(tiny_vocab), std::move(options));
}

} // namespace

TEST_CASE("WordPiece takes the longest piece first and continues with ##") {
    const auto tokenizer = tiny();
    CHECK(tokenizer.tokenize("unaffable") == strings{"un", "##aff", "##able"});
    CHECK(tokenizer.token_ids("unaffable") == ids{5, 6, 7});
    CHECK(tokenizer.tokenize("abbb") == strings{"a", "##bb", "##b"}); // ##bb before ##b
    CHECK(tokenizer.tokenize("hello") == strings{"hello"});           // not he + ##llo
    CHECK(tokenizer.tokenize("bab") == strings{"b", "##a", "##b"});
}

TEST_CASE("a word without a complete cut is one [UNK], its other pieces dropped") {
    const auto tokenizer = tiny();
    CHECK(tokenizer.tokenize("unaffablex") == strings{"[UNK]"});
    CHECK(tokenizer.tokenize("xa a") == strings{"[UNK]", "a"});
    CHECK(tokenizer.token_ids("unaffablex a") == ids{1, 8});
}

TEST_CASE("words longer than max_input_chars_per_word code points are [UNK]") {
    const auto tokenizer = tiny();
    const std::string hundred(100, 'a');
    CHECK(tokenizer.tokenize(hundred).size() == 100); // a ##a ##a …
    CHECK(tokenizer.tokenize(hundred + "a") == strings{"[UNK]"});
    // the limit counts code points, not bytes: 99 × 'a' + 'é' is 100 characters, 101 bytes
    bert_tokenizer_options cased;
    cased.do_lower_case = false;
    const auto accented = tiny(cased).tokenize(std::string(99, 'a') + "\xC3\xA9");
    CHECK(accented == strings{"[UNK]"}); // no ##é piece, but not cut off by the limit
    bert_tokenizer_options short_words;
    short_words.max_input_chars_per_word = 3;
    CHECK(tiny(short_words).tokenize("aaa aaaa") == strings{"a", "##a", "##a", "[UNK]"});
}

TEST_CASE("lower-casing and accent stripping follow do_lower_case and strip_accents") {
    CHECK(tiny().tokenize("CAF\xC3\x89 Caf\xC3\xA9") == strings{"cafe", "cafe"});
    bert_tokenizer_options keep_accents; // lower-case, strip_accents=False
    keep_accents.strip_accents = false;
    CHECK(tiny(keep_accents).tokenize("CAF\xC3\x89") == strings{"caf\xC3\xA9"});
    bert_tokenizer_options cased; // cased vocabulary: neither
    cased.do_lower_case = false;
    CHECK(tiny(cased).tokenize("caf\xC3\xA9 cafe\xCC\x81") ==
          strings{"caf\xC3\xA9", "caf\xC3\xA9"});
    cased.strip_accents = true; // cased, strip_accents=True
    CHECK(tiny(cased).tokenize("caf\xC3\xA9") == strings{"cafe"});
}

TEST_CASE("NFC joins decomposed accents unless nfc_normalize is off (older transformers)") {
    bert_tokenizer_options cased;
    cased.do_lower_case = false;
    CHECK(tiny(cased).tokenize("cafe\xCC\x81") == strings{"caf\xC3\xA9"});
    cased.nfc_normalize = false; // c a f e U+0301: "cafe" matches, "##\u0301" does not
    CHECK(tiny(cased).tokenize("cafe\xCC\x81") == strings{"[UNK]"});
    CHECK(tiny(cased).tokenize("caf\xC3\xA9") == strings{"caf\xC3\xA9"});
}

TEST_CASE("punctuation splits words; CJK ideographs stand alone") {
    const auto tokenizer = tiny();
    CHECK(tokenizer.tokenize("hello,hello!") == strings{"hello", ",", "hello", "!"});
    CHECK(tokenizer.tokenize("a\xE4\xB8\xAD"
                             "a") == strings{"a", "\xE4\xB8\xAD", "a"});
    bert_tokenizer_options no_cjk;
    no_cjk.tokenize_chinese_chars = false;
    CHECK(tiny(no_cjk).tokenize("a\xE4\xB8\xAD"
                                "a") == strings{"[UNK]"});
}

TEST_CASE("cleaning drops control characters and turns whitespace into separators") {
    const auto tokenizer = tiny();
    CHECK(tokenizer.tokenize(std::string("a\0b", 3)) == strings{"a", "##b"});
    CHECK(tokenizer.tokenize("a\xE2\x80\x8B"
                             "b") == strings{"a", "##b"}); // U+200B (Cf)
    CHECK(tokenizer.tokenize("a\tb\nhello\r\xC2\xA0un") == strings{"a", "b", "hello", "un"});
    CHECK(tokenizer.tokenize("a\xE2\x80\xA8"
                             "b") == strings{"a", "b"}); // U+2028 splits
    CHECK(tokenizer.tokenize("").empty());
    CHECK(tokenizer.tokenize(" \t\x01\n").empty());
}

TEST_CASE("special tokens in the text are kept whole, case-sensitively") {
    const auto tokenizer = tiny();
    CHECK(tokenizer.tokenize("a[MASK]b") == strings{"a", "[MASK]", "b"});
    CHECK(tokenizer.token_ids("hello[SEP]hello") == ids{18, 3, 18});
    // lower case is no special token: '[', 'mask', ']', none of them in this vocabulary
    CHECK(tokenizer.tokenize("[mask]") == strings{"[UNK]", "[UNK]", "[UNK]"});
    CHECK(tokenizer.tokenize("[MASK][MASK]") == strings{"[MASK]", "[MASK]"});
}

TEST_CASE("never_split words are looked up whole") {
    bert_tokenizer_options options;
    options.never_split = {"un,aff"};
    const auto tokenizer = tiny(options);
    CHECK(tokenizer.tokenize("un,aff un,a") == strings{"un,aff", "un", ",", "a"});
    CHECK(tokenizer.token_ids("un,aff") == ids{1}); // not in the vocabulary
}

TEST_CASE("without the basic tokenizer WordPiece runs on whitespace-split text") {
    bert_tokenizer_options options;
    options.do_basic_tokenize = false;
    CHECK(tiny(options).tokenize("hello,hello un") == strings{"[UNK]", "un"});
}

TEST_CASE("encode adds [CLS] and [SEP], truncates the text and pads") {
    const auto tokenizer = tiny();
    const auto plain = tokenizer.encode("un a");
    CHECK(plain.input_ids == ids{2, 5, 8, 3});
    CHECK(plain.attention_mask == ids{1, 1, 1, 1});
    CHECK(plain.token_type_ids == ids{0, 0, 0, 0});

    const auto padded = tokenizer.encode("un a", {.max_length = 7});
    CHECK(padded.input_ids == ids{2, 5, 8, 3, 0, 0, 0});
    CHECK(padded.attention_mask == ids{1, 1, 1, 1, 0, 0, 0});
    CHECK(padded.token_type_ids == ids{0, 0, 0, 0, 0, 0, 0});

    const auto truncated = tokenizer.encode("unaffable a b", {.max_length = 4});
    CHECK(truncated.input_ids == ids{2, 5, 6, 3}); // [SEP] kept, pieces cut from the end

    const auto unpadded = tokenizer.encode("un", {.max_length = 5, .pad_to_max_length = false});
    CHECK(unpadded.input_ids == ids{2, 5, 3});
    const auto untruncated = tokenizer.encode("un a b", {.max_length = 3, .truncation = false});
    CHECK(untruncated.input_ids == ids{2, 5, 8, 11, 3});

    const auto empty = tokenizer.encode("", {.max_length = 3});
    CHECK(empty.input_ids == ids{2, 3, 0});
    CHECK(empty.attention_mask == ids{1, 1, 0});
}

TEST_CASE("pairs: token type 1 for the second text, longest_first truncation") {
    const auto tokenizer = tiny();
    const auto pair = tokenizer.encode_pair("un", "a b", {.max_length = 8});
    CHECK(pair.input_ids == ids{2, 5, 3, 8, 11, 3, 0, 0});
    CHECK(pair.token_type_ids == ids{0, 0, 0, 1, 1, 1, 0, 0});
    CHECK(pair.attention_mask == ids{1, 1, 1, 1, 1, 1, 0, 0});
    // 4 + 2 tokens into 7 - 3 = 4: the longer loses 2 to reach the other's length
    CHECK(tokenizer.encode_pair("a a a a", "b b", {.max_length = 7}).input_ids ==
          ids{2, 8, 8, 3, 11, 11, 3});
    // equal lengths: one token at a time, the second text first on a tie
    CHECK(tokenizer.encode_pair("a a a", "b b b", {.max_length = 7}).input_ids ==
          ids{2, 8, 8, 3, 11, 11, 3});
    CHECK(tokenizer.encode_pair("a a a", "b b b", {.max_length = 6}).input_ids ==
          ids{2, 8, 8, 3, 11, 3});
}

TEST_CASE("bad input is a clear error") {
    CHECK(message_of<emofuse::value_error>([] { (void)tiny().tokenize("ok \xC3"); }) ==
          "bert_tokenizer: text: invalid UTF-8 at byte 3 (0xc3)");
    CHECK(message_of<emofuse::value_error>([] { (void)tiny().encode("a", {.max_length = 2}); }) ==
          "bert_tokenizer: max_length 2 leaves no room for text besides the 2 special tokens");
    CHECK_THROWS_AS((void)tiny().encode_pair("a", "b", {.max_length = 3}), emofuse::value_error);
    CHECK(message_of<emofuse::value_error>([] {
              (void)bert_tokenizer(vocabulary::parse("[PAD]\n[CLS]\n[SEP]\n"));
          }) == "bert_tokenizer: the unknown token \"[UNK]\" is not in the vocabulary (3 lines)");
    bert_tokenizer_options no_limit;
    no_limit.max_input_chars_per_word = 0;
    CHECK_THROWS_AS((void)tiny(no_limit), emofuse::value_error);
}

TEST_CASE("the tokenizer survives copies (special tokens own their names)") {
    std::vector<bert_tokenizer> copies;
    copies.push_back(tiny());
    copies.push_back(copies.front());
    copies.erase(copies.begin());
    CHECK(copies.front().tokenize("a[SEP]") == strings{"a", "[SEP]"});
}

namespace {

void check_recorded_cases(const nlohmann::json& recorded, const bert_tokenizer& tokenizer) {
    for (const auto& c : recorded.at("sentences")) {
        const auto text = c.at("text").get<std::string>();
        CAPTURE(text);
        CHECK(tokenizer.tokenize(text) == c.at("tokens").get<strings>());
        CHECK(tokenizer.token_ids(text) == c.at("ids").get<ids>());
        for (const auto& e : c.at("encodings")) {
            encode_options options;
            if (!e.at("max_length").is_null()) {
                options.max_length = e.at("max_length").get<std::size_t>();
            }
            CAPTURE(e.at("max_length").dump());
            const auto encoded = tokenizer.encode(text, options);
            CHECK(encoded.input_ids == e.at("input_ids").get<ids>());
            CHECK(encoded.attention_mask == e.at("attention_mask").get<ids>());
            CHECK(encoded.token_type_ids == e.at("token_type_ids").get<ids>());
        }
    }
    for (const auto& p : recorded.at("pairs")) {
        const auto first = p.at("first").get<std::string>();
        const auto second = p.at("second").get<std::string>();
        CAPTURE(first);
        CAPTURE(second);
        const auto encoded = tokenizer.encode_pair(
            first, second, {.max_length = p.at("max_length").get<std::size_t>()});
        CHECK(encoded.input_ids == p.at("input_ids").get<ids>());
        CHECK(encoded.attention_mask == p.at("attention_mask").get<ids>());
        CHECK(encoded.token_type_ids == p.at("token_type_ids").get<ids>());
    }
}

} // namespace

TEST_CASE("recorded cases: uncased vocabulary") {
    const auto& recorded = text_test::expected().at("uncased");
    const auto tokenizer =
        bert_tokenizer::from_file(text_test::data_path(recorded.at("vocab").get<std::string>()));
    check_recorded_cases(recorded, tokenizer);
}

TEST_CASE("recorded cases: cased vocabulary") {
    const auto& recorded = text_test::expected().at("cased");
    bert_tokenizer_options options;
    options.do_lower_case = false;
    const auto tokenizer = bert_tokenizer::from_file(
        text_test::data_path(recorded.at("vocab").get<std::string>()), options);
    check_recorded_cases(recorded, tokenizer);
}

TEST_CASE("recorded cases: a real vocabulary (EMOFUSE_BERT_VOCAB_CASES)") {
    // generate_fixtures.py --vocab <bert vocab.txt> --out cases.json records the same sentences
    // against a real vocabulary; point EMOFUSE_BERT_VOCAB_CASES at the file to check them.
    const char* file = std::getenv("EMOFUSE_BERT_VOCAB_CASES");
    if (file == nullptr) {
        MESSAGE("EMOFUSE_BERT_VOCAB_CASES not set: no real vocabulary checked");
        return;
    }
    std::ifstream in(file);
    REQUIRE(in);
    const auto recorded = nlohmann::json::parse(in);
    bert_tokenizer_options options;
    options.do_lower_case = recorded.at("do_lower_case").get<bool>();
    check_recorded_cases(
        recorded, bert_tokenizer::from_file(recorded.at("vocab_path").get<std::string>(), options));
}
