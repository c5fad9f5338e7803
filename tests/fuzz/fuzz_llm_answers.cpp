// libFuzzer target for LLM answers (metrics/llm_answers.hpp with text::nfkc_casefold): any
// bytes are either refused with value_error (ill-formed UTF-8) or parsed, and what is parsed
// keeps the documented invariants: labels are non-empty, distinct, normalised items, and a
// closed-set answer is a class id in range or invalid.
#include <emofuse/metrics/llm_answers.hpp>
#include <emofuse/text/unicode_fold.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace {

void require(bool condition, const char* what) {
    if (!condition) {
        std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
        std::abort();
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace em = emofuse::metrics;
    static const em::answer_parser parser = [] {
        em::answer_parser p(emofuse::language::nfkc_casefold);
        p.add_alias("joyful", "happy");
        p.add_alias("happy surprise", "surprise");
        return p;
    }();
    static const em::closed_set_matcher matcher(parser, {"happy", "sad", "surprise"});
    const std::string_view response(reinterpret_cast<const char*>(data), size);
    const bool valid = !em::first_invalid_utf8(response).has_value();
    try {
        const auto parsed = parser.parse(response);
        require(valid, "parse accepts only well-formed UTF-8");
        for (std::size_t i = 0; i < parsed.labels.size(); ++i) {
            const auto& label = parsed.labels[i];
            require(!label.empty(), "labels are non-empty");
            require(std::count(parsed.labels.begin(), parsed.labels.end(), label) == 1,
                    "labels are distinct");
            require(label.front() != ' ' && label.back() != ' ', "labels are trimmed");
            // An item is a fixed point of normalising and splitting (aliases map to items).
            const auto again = em::split_answer_items(emofuse::language::nfkc_casefold(label));
            require(again.size() == 1 && again.front() == label, "labels are normalised items");
        }
        const auto answer = matcher.match(response);
        require(answer.class_id == em::closed_set_answer::invalid ||
                    (answer.class_id >= 0 && answer.class_id < 3),
                "class ids are in range or invalid");
        require((answer.class_id == em::closed_set_answer::invalid) ==
                    (answer.classes_named == 0),
                "an answer is invalid exactly when it names no class");
    } catch (const emofuse::value_error&) {
        require(!valid, "only ill-formed UTF-8 is refused");
    }
    return 0;
}
