// Unicode as Python computes it: strict UTF-8, the character classes BertTokenizer uses,
// per-character lower-casing, NFD and NFC (the full-range comparison with unicodedata is in
// generate_unicode_tables.py; these are the cases the tokenizer depends on).
#include <emofuse/text/unicode.hpp>

#include "text_fixtures.hpp"

#include <string>

using namespace emofuse::language;
using text_test::message_of;

TEST_CASE("decode_utf8 decodes every sequence length") {
    CHECK(decode_utf8("a\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80") == U"a\u00e9\u4e2d\U0001F600");
    CHECK(to_utf8(U"a\u00e9\u4e2d\U0001F600") == "a\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80");
    CHECK(decode_utf8("").empty());
    CHECK(decode_utf8(std::string("a\0b", 3)) == std::u32string(U"a\0b", 3));
}

TEST_CASE("decode_utf8 names the first invalid byte") {
    const auto error = [](std::string_view bytes) {
        return message_of<emofuse::value_error>([&] { (void)decode_utf8(bytes, "line 3"); });
    };
    CHECK(error("ab\xFF") == "line 3: invalid UTF-8 at byte 2 (0xff)");
    CHECK(error("\xC0\xAF") == "line 3: invalid UTF-8 at byte 0 (0xc0)");         // overlong '/'
    CHECK(error("x\xE0\x80\xAF") == "line 3: invalid UTF-8 at byte 1 (0xe0)");    // overlong
    CHECK(error("\xED\xA0\x80") == "line 3: invalid UTF-8 at byte 0 (0xed)");     // surrogate
    CHECK(error("\xF4\x90\x80\x80") == "line 3: invalid UTF-8 at byte 0 (0xf4)"); // > U+10FFFF
    CHECK(error("ok\xE4\xB8") == "line 3: invalid UTF-8 at byte 2 (0xe4)");       // cut short
    CHECK(error("\xE4\x41\x80") == "line 3: invalid UTF-8 at byte 0 (0xe4)");     // bad tail
    CHECK(error("\x80") == "line 3: invalid UTF-8 at byte 0 (0x80)");             // stray tail
    CHECK(find_invalid_utf8("\xF4\x8F\xBF\xBF") == std::string_view::npos);       // U+10FFFF
}

TEST_CASE("character classes follow BertTokenizer's helpers") {
    // _clean_text: NUL, U+FFFD and category C* except \t \n \r
    for (const char32_t removed : {U'\0', U'\x01', U'\x7f', U'\ufffd', U'\u200b', U'\ufeff',
                                   U'\ue000', U'\U000E0001', char32_t{0x0378}}) {
        CHECK(is_removed_by_cleaning(removed));
    }
    for (const char32_t kept : {U'\t', U'\n', U'\r', U' ', U'a', U'\u2028', U'\u00a0'}) {
        CHECK_FALSE(is_removed_by_cleaning(kept));
    }
    CHECK(is_bert_whitespace(U'\u00a0'));
    CHECK(is_bert_whitespace(U'\u3000'));
    CHECK_FALSE(is_bert_whitespace(U'\u2028')); // Zl, not Zs
    CHECK(is_python_space(U'\u2028'));
    CHECK(is_python_space(U'\x1c'));
    CHECK_FALSE(is_python_space(U'\u200b'));
    // punctuation: the ASCII symbols count, Unicode symbols (S*) do not
    for (const char32_t p : {U'$', U'^', U'`', U'~', U'+', U'<', U'\u00bf', U'\u2014', U'\u3002'}) {
        CHECK(is_bert_punctuation(p));
    }
    for (const char32_t s : {U'\u00b1', U'\u20ac', U'a', U'0', U' ', U'\U0001F600'}) {
        CHECK_FALSE(is_bert_punctuation(s));
    }
    CHECK(is_cjk_ideograph(U'\u4e2d'));
    CHECK(is_cjk_ideograph(U'\uf900'));
    CHECK(is_cjk_ideograph(U'\U0002F800'));
    CHECK_FALSE(is_cjk_ideograph(U'\uac00')); // Hangul
    CHECK_FALSE(is_cjk_ideograph(U'\u3042')); // Hiragana
    CHECK(is_nonspacing_mark(U'\u0301'));
    CHECK_FALSE(is_nonspacing_mark(U'\u0903')); // Mc
    CHECK(combining_class(U'\u0301') == 230);
    CHECK(combining_class(U'\u0323') == 220);
    CHECK(unicode_version == "14.0.0");
}

TEST_CASE("lower-casing is Python's per-character str.lower") {
    const auto lower = [](std::u32string_view text) {
        std::u32string out;
        for (const char32_t cp : text) {
            append_lowercase(out, cp);
        }
        return out;
    };
    CHECK(lower(U"HeLLo ÀÉ ΣΑΣ Привет") == U"hello àé σασ привет");
    CHECK(lower(U"\u0130") == U"i\u0307"); // full mapping, two code points
    CHECK(lower(U"\u212a") == U"k");       // Kelvin sign
    CHECK(lower(U"\u1e9e") == U"\u00df");  // capital sharp s
    CHECK(lower(U"\u00df\u4e2d1") == U"\u00df\u4e2d1");
}

TEST_CASE("NFD decomposes fully and orders marks canonically") {
    CHECK(nfd(U"\u00e9") == U"e\u0301");
    CHECK(nfd(U"\u1e69") == U"s\u0323\u0307"); // s with dot below and dot above
    CHECK(nfd(U"s\u0307\u0323") == U"s\u0323\u0307");
    CHECK(nfd(U"\uac01") == U"\u1100\u1161\u11a8"); // Hangul LVT syllable
    CHECK(nfd(U"\uf900") == U"\u8c48");             // compatibility ideograph singleton
    CHECK(nfd(U"abc") == U"abc");
}

TEST_CASE("NFC composes what NFD decomposed") {
    CHECK(nfc(U"e\u0301") == U"\u00e9");
    CHECK(nfc(U"s\u0307\u0323") == U"\u1e69");
    CHECK(nfc(U"\u1100\u1161\u11a8") == U"\uac01");
    CHECK(nfc(U"\uac00\u11a8") == U"\uac01");
    CHECK(nfc(U"\uf900") == U"\u8c48");
    CHECK(nfc(U"\u0301e") == U"\u0301e");            // a leading mark stays
    CHECK(nfc(U"a\u0308\u0304") == U"\u01df");       // two-step composition
    CHECK(nfc(U"a\u0304\u0308") == U"\u0101\u0308"); // same class: the second is blocked
    CHECK(nfc(U"\u0b47\u0b3e") == U"\u0b4b");        // two starters compose
    CHECK(nfc(U"\u212b") == U"\u00c5");              // angstrom sign
    CHECK(nfc(U"\u0344") == U"\u0308\u0301");        // excluded from composition
    CHECK(nfc(U"plain ascii") == U"plain ascii");
}
