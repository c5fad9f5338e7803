// LLM answers to labels and classes (metrics/llm_answers.hpp), the invalid-answer column of
// the emotion suites, and NFKC case folding (text/unicode_fold.hpp, when utf8proc is
// available). Cases written from the documented rules.
#include <emofuse/core/error.hpp>
#include <emofuse/metrics/emotion.hpp>
#include <emofuse/metrics/llm_answers.hpp>
#ifdef EMOFUSE_TEST_HAS_UNICODE
#include <emofuse/text/unicode_fold.hpp>
#endif

#include <doctest/doctest.h>

#include <cmath>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace em = emofuse::metrics;

namespace {

using strings = std::vector<std::string>;

/// ASCII lower-casing: the rules below do not depend on Unicode tables.
std::string ascii_lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return out;
}

em::answer_parser ascii_parser() {
    return em::answer_parser(ascii_lower);
}

strings labels(const em::answer_parser& parser, std::string_view response) {
    return parser.parse(response).labels;
}

} // namespace

TEST_CASE("extract_answer: the answer between the first <answer> and </answer>") {
    const auto a = em::extract_answer("<think>The voice is shaky, maybe sad?</think>"
                                      "<answer>worried</answer>");
    CHECK(a.text == "worried");
    CHECK(a.tag == em::answer_tag::tagged);
    CHECK(a.answer_tags == 1);

    // Tag names are matched ignoring ASCII case; text around the tags is not the answer.
    const auto upper = em::extract_answer("Final: <ANSWER>happy</Answer> (confident)");
    CHECK(upper.text == "happy");
    CHECK(upper.tag == em::answer_tag::tagged);
}

TEST_CASE("extract_answer: missing, unclosed, several and nested answer tags") {
    struct expected {
        const char* rule;
        std::string_view response;
        std::string_view text;
        em::answer_tag tag;
        std::size_t answer_tags;
    };
    using enum em::answer_tag;
    const expected cases[] = {
        {"no tags: the whole response", "happy, surprised", "happy, surprised", untagged, 0},
        {"reasoning, no answer tag: the text outside the reasoning",
         "<think>sad or angry</think> angry", " angry", untagged, 0},
        {"unclosed <answer>: everything after it", "<think>x</think><answer>happy, sa", "happy, sa",
         unclosed, 1},
        {"several answers: the first, and the count",
         "<answer>happy</answer> or <answer>sad</answer>", "happy", tagged, 2},
        {"nested answer tags become spaces", "<answer><answer>sad</answer></answer>", " sad",
         tagged, 2},
        {"an <answer> inside the reasoning is not the answer",
         "<think>is it <answer>sad</answer>? no</think><answer>calm</answer>", "calm", tagged, 1},
        {"unclosed <think> runs to the next <answer>",
         "<think>hmm, tense voice <answer>angry</answer>", "angry", tagged, 1},
        {"unclosed <think> with no answer: nothing after it",
         "happy? <think>the generation was cut", "happy? ", untagged, 0},
        {"</think> without <think>: all before it is reasoning",
         "the face says sad</think>\n<answer>sad</answer>", "sad", tagged, 1},
        {"</think> without <think>, untagged", "I think joy... </think> joy", " joy", untagged, 0},
        {"nested think blocks end at the last closing tag",
         "<think>a <think>b</think> c</think><answer>fear</answer>", "fear", tagged, 1},
        {"a lone '<' is text", "<3 happy", "<3 happy", untagged, 0},
    };
    for (const auto& c : cases) {
        CAPTURE(c.rule);
        const auto a = em::extract_answer(c.response);
        CHECK(a.text == c.text);
        CHECK(a.tag == c.tag);
        CHECK(a.answer_tags == c.answer_tags);
    }
}

TEST_CASE("split_answer_items: separators, \"and\", Oxford comma, trimming") {
    CHECK(em::split_answer_items("happy, sad") == strings{"happy", "sad"});
    CHECK(em::split_answer_items("happy;sad ;  angry") == strings{"happy", "sad", "angry"});
    CHECK(em::split_answer_items("happy and sad") == strings{"happy", "sad"});
    CHECK(em::split_answer_items("worried, sad, and angry") == strings{"worried", "sad", "angry"});
    CHECK(em::split_answer_items("worried, sad and angry") == strings{"worried", "sad", "angry"});
    // "and" only as a whole word.
    CHECK(em::split_answer_items("candid, android") == strings{"candid", "android"});
    CHECK(em::split_answer_items("and") == strings{});
    // Line breaks and the ideographic comma separate items too.
    CHECK(em::split_answer_items("happy\nsad\r\ncalm") == strings{"happy", "sad", "calm"});
    CHECK(em::split_answer_items("开心、惊讶") == strings{"开心", "惊讶"});
    // Items are their words joined by one space: punctuation and markup at the ends and
    // runs of spaces inside go; apostrophes and hyphens stay.
    CHECK(em::split_answer_items("  **happy!**  ,  \"very   sad\".") ==
          strings{"happy", "very sad"});
    CHECK(em::split_answer_items("bitter-sweet, don't know") ==
          strings{"bitter-sweet", "don't know"});
    CHECK(em::split_answer_items("happy / sad") == strings{"happy sad"});
    CHECK(em::split_answer_items("“happy”。") == strings{"happy"});
    // Empty answers and empty items.
    CHECK(em::split_answer_items("").empty());
    CHECK(em::split_answer_items(" , ;; .").empty());
    CHECK(em::split_answer_items("happy,,sad,") == strings{"happy", "sad"});
}

TEST_CASE("split_answer_items: ill-formed UTF-8 is an error naming the byte") {
    CHECK_THROWS_WITH_AS(static_cast<void>(em::split_answer_items("ok \xC3")),
                         doctest::Contains("invalid UTF-8 at byte 4"), emofuse::value_error);
}

TEST_CASE("first_invalid_utf8: overlong forms, surrogates, truncation, beyond U+10FFFF") {
    CHECK_FALSE(em::first_invalid_utf8("plain ascii, ünïcödé, 情绪, 😀").has_value());
    CHECK(em::first_invalid_utf8("\xC0\xAF") == 0u);         // overlong '/'
    CHECK(em::first_invalid_utf8("a\xE0\x80\xAF") == 1u);    // overlong, 3 bytes
    CHECK(em::first_invalid_utf8("ab\xED\xA0\x80") == 2u);   // surrogate U+D800
    CHECK(em::first_invalid_utf8("\xF4\x90\x80\x80") == 0u); // U+110000
    CHECK(em::first_invalid_utf8("ok\xE6\x83") == 2u);       // truncated
    CHECK(em::first_invalid_utf8("\x80") == 0u);             // lone continuation byte
    CHECK(em::first_invalid_utf8("\xF0\x9F\x98\x80").has_value() == false);
}

TEST_CASE("answer_parser: normalising, aliases, de-duplication in order") {
    auto parser = ascii_parser();
    parser.add_alias("Joyful", "happy");
    parser.add_alias("Very  SAD", "sad");
    parser.add_alias("happy", "content"); // one step only: joyful stays happy
    CHECK(labels(parser, "<answer>Joyful, VERY sad and Happy</answer>") ==
          strings{"happy", "sad", "content"});
    // Duplicates keep their first position, also when an alias makes them equal.
    CHECK(labels(parser, "sad, joyful, angry, SAD, very sad") == strings{"sad", "happy", "angry"});
    CHECK(labels(parser, "<answer></answer>").empty());
    CHECK(labels(parser, "<answer> . </answer>").empty());
    const auto parsed = parser.parse("<answer>angry");
    CHECK(parsed.labels == strings{"angry"});
    CHECK(parsed.tag == em::answer_tag::unclosed);
}

TEST_CASE("answer_parser: bad aliases and responses are errors") {
    auto parser = ascii_parser();
    parser.add_alias("glad", "happy");
    parser.add_alias("GLAD", "Happy"); // the same pair again
    CHECK_THROWS_WITH_AS(parser.add_alias("glad", "calm"),
                         "metrics::answer_parser::add_alias: alias \"glad\" already maps to "
                         "\"happy\", got \"calm\"",
                         emofuse::value_error);
    CHECK_THROWS_WITH_AS(parser.add_alias("happy and sad", "mixed"),
                         doctest::Contains("is several items"), emofuse::value_error);
    CHECK_THROWS_WITH_AS(parser.add_alias("!!", "happy"), doctest::Contains("has no words"),
                         emofuse::value_error);
    CHECK_THROWS_WITH_AS(parser.add_alias("ok", ""), doctest::Contains("label \"\" has no words"),
                         emofuse::value_error);
    CHECK_THROWS_WITH_AS(static_cast<void>(parser.parse("happy \xFF sad")),
                         "metrics::answer_parser: response: invalid UTF-8 at byte 7 (0xFF)",
                         emofuse::value_error);
    CHECK_THROWS_AS(em::answer_parser(em::text_normalizer{}), emofuse::value_error);
}

TEST_CASE("closed_set_matcher: classes named by name or alias, whole words") {
    auto parser = ascii_parser();
    parser.add_alias("joyful", "happy");
    parser.add_alias("sadness", "sad");
    const em::closed_set_matcher matcher(parser, {"neutral", "happy", "sad", "angry"});
    CHECK(matcher.num_classes() == 4);
    CHECK(matcher.match("<answer>Happy</answer>").class_id == 1);
    CHECK(matcher.match("<think>angry?</think><answer>joyful</answer>").class_id == 1);
    CHECK(matcher.match("The speaker sounds SAD.").class_id == 2);
    CHECK(matcher.match("deep sadness").class_id == 2);
    // Whole words only: "unhappy" names no class.
    const auto none = matcher.match("unhappy");
    CHECK(none.class_id == em::closed_set_answer::invalid);
    CHECK(none.classes_named == 0);
    CHECK(matcher.match("").class_id == em::closed_set_answer::invalid);
    CHECK(matcher.match("<answer></answer>").class_id == em::closed_set_answer::invalid);
    CHECK(matcher.match("I cannot tell").class_id == em::closed_set_answer::invalid);
}

TEST_CASE("closed_set_matcher: precedence when an answer names several classes") {
    auto parser = ascii_parser();
    parser.add_alias("happy surprise", "surprise");
    const em::closed_set_matcher matcher(parser, {"happy", "surprise", "sad"});
    // The earliest mention wins, in list and in prose.
    const auto list = matcher.match("sad, happy");
    CHECK(list.class_id == 2);
    CHECK(list.classes_named == 2);
    CHECK(matcher.match("mostly happy but also sad").class_id == 0);
    // At the same start the longest name or alias wins: "happy surprise" over "happy".
    const auto longest = matcher.match("a happy surprise");
    CHECK(longest.class_id == 1);
    CHECK(longest.classes_named == 1);
    // A phrase does not span items.
    CHECK(matcher.match("happy, surprise").class_id == 0);
    // Repeated mentions of one class count once.
    CHECK(matcher.match("sad, sad, sad").classes_named == 1);
}

TEST_CASE("closed_set_matcher: bad class lists and aliases are errors") {
    auto parser = ascii_parser();
    CHECK_THROWS_WITH_AS(em::closed_set_matcher(parser, {"happy", "HAPPY"}),
                         "metrics::closed_set_matcher: class names 0 and 1 are the same after "
                         "normalisation (\"happy\")",
                         emofuse::value_error);
    CHECK_THROWS_AS(em::closed_set_matcher(parser, {}), emofuse::value_error);
    CHECK_THROWS_WITH_AS(em::closed_set_matcher(parser, {"happy", "sad and tired"}),
                         doctest::Contains("class name \"sad and tired\" is several items"),
                         emofuse::value_error);
    parser.add_alias("glad", "joy");
    CHECK_THROWS_WITH_AS(em::closed_set_matcher(parser, {"happy", "sad"}),
                         "metrics::closed_set_matcher: alias \"glad\" maps to \"joy\", which is "
                         "not one of the 2 class names",
                         emofuse::value_error);
}

TEST_CASE("emotion_suite: invalid answers are an extra, always wrong prediction column") {
    // Classes a, b, c = 0, 1, 2; invalid = 3. Values: scikit-learn with "__invalid__" as a
    // label (accuracy_score, f1_score macro/weighted, cohen_kappa_score).
    const std::vector<int> truth = {0, 1, 2, 0, 1, 2};
    const std::vector<int> pred = {0, 3, 2, 1, 1, 3};
    em::emotion_suite suite(em::emotion_suite_kind::classification, 3, em::nan_policy::error,
                            em::invalid_answers::counted);
    CHECK(suite.invalid_class() == 3);
    suite.update(std::span<const int>(truth), std::span<const int>(pred));
    const auto r = suite.compute();
    CHECK(r.at("accuracy") == 0.5);
    CHECK(r.at("macro_f1") == doctest::Approx(0.45833333333333326).epsilon(1e-14));
    CHECK(r.at("weighted_f1") == doctest::Approx(0.611111111111111).epsilon(1e-14));
    CHECK(r.at("kappa") == doctest::Approx(0.3571428571428571).epsilon(1e-14));
    CHECK(r.at("uar") == 0.5); // over the true classes (scikit-learn macro recall: 0.375)
    CHECK(r.at("invalid_answers") == 2);
    CHECK(r.at("invalid_rate") == doctest::Approx(1.0 / 3.0).epsilon(1e-15));
    CHECK(suite.counts()(1, 3) == 1);
    CHECK(suite.counts()(2, 3) == 1);

    // With no invalid answer the metrics are those of the plain K-class suite.
    const std::vector<int> valid = {0, 1, 2, 0, 1, 0};
    em::emotion_suite with(em::emotion_suite_kind::meld, 7, em::nan_policy::error,
                           em::invalid_answers::counted);
    em::emotion_suite without(em::emotion_suite_kind::meld, 7);
    with.update(std::span<const int>(truth), std::span<const int>(valid));
    without.update(std::span<const int>(truth), std::span<const int>(valid));
    const auto a = with.compute();
    const auto b = without.compute();
    CHECK(a.at("weighted_f1") == b.at("weighted_f1"));
    CHECK(a.at("accuracy") == b.at("accuracy"));
    CHECK(a.at("invalid_answers") == 0);
    CHECK_FALSE(b.contains("invalid_answers"));
    // K is checked as the suite's own (MELD: 7 or 3), not K + 1.
    CHECK_THROWS_AS(em::emotion_suite(em::emotion_suite_kind::meld, 8, em::nan_policy::error,
                                      em::invalid_answers::counted),
                    emofuse::value_error);
    CHECK_THROWS_AS(static_cast<void>(without.invalid_class()), emofuse::value_error);
}

#ifdef EMOFUSE_TEST_HAS_UNICODE
TEST_CASE("nfkc_casefold: compatibility forms, ligatures, case folding, ignorables") {
    namespace tx = emofuse::language;
    CHECK(tx::nfkc_casefold("ＨＡＰＰＹ") == "happy");     // full-width letters
    CHECK(tx::nfkc_casefold("satisﬁed") == "satisfied");   // fi ligature
    CHECK(tx::nfkc_casefold("Ⅳ") == "iv");                 // roman numeral
    CHECK(tx::nfkc_casefold("Cafe\u0301") == "caf\u00e9"); // composed
    CHECK(tx::nfkc_casefold("WÜTEND") == "w\u00fctend");   // German
    CHECK(tx::nfkc_casefold("Straße") == "strasse");       // full folding: ß -> ss
    CHECK(tx::nfkc_casefold("STRASSE") == tx::nfkc_casefold("straße"));
    // Turkish: folding is language-independent. Dotted capital İ folds to i + U+0307, the
    // dotless ı stays, and I folds to i (not ı).
    CHECK(tx::nfkc_casefold("İ") == "i\u0307");
    CHECK(tx::nfkc_casefold("ı") == "\u0131");
    CHECK(tx::nfkc_casefold("KIZGIN") == "kizgin");
    CHECK(tx::nfkc_casefold("ha\u200bppy\u00ad") == "happy"); // zero-width space, soft hyphen
    CHECK(tx::nfkc_casefold("") == "");
    CHECK_THROWS_WITH_AS(static_cast<void>(tx::nfkc_casefold("ok\xC0\x80")),
                         "language::nfkc_casefold: invalid UTF-8 at byte 3 (0xC0)",
                         emofuse::value_error);
}

TEST_CASE("answer_parser with NFKC case folding: full-width separators, aliases in any form") {
    em::answer_parser parser(emofuse::language::nfkc_casefold);
    parser.add_alias("ＪＯＹＦＵＬ", "Happy");
    // The full-width comma and semicolon become ',' and ';' before splitting.
    CHECK(labels(parser, "<answer>Ｈａｐｐｙ，ＳＡＤ；joyful</answer>") == strings{"happy", "sad"});
    CHECK(labels(parser, "STRASSE, straße") == strings{"strasse"});
    const em::closed_set_matcher matcher(parser, {"Neutral", "Happy", "Sad"});
    CHECK(matcher.match("<answer>ＳＡＤ</answer>").class_id == 2);
    CHECK(matcher.match("ｊｏｙｆｕｌ").class_id == 1);
}
#endif
