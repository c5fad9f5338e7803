// emofuse/text/basic_tokenizer.hpp — Hugging Face's BasicTokenizer: the word splitting that
// runs before WordPiece.
//
// In order, as `BasicTokenizer.tokenize` does it:
//  1. cleaning: NUL, U+FFFD and control/format/unassigned/private-use characters (category
//     C* except \t \n \r) are deleted, whitespace (space, \t, \n, \r, category Zs) becomes one
//     space each;
//  2. every CJK ideograph in BERT's ranges (`is_cjk_ideograph`) gets a space on each side;
//  3. NFC (unless `nfc_normalize` is false);
//  4. split where Python's `str.split()` splits (`is_python_space`);
//  5. each word not in `never_split`: lower-cased when `do_lower_case`, then accents stripped
//     (NFD, category Mn removed) when `strip_accents` is true, or unset and lower-casing is on;
//  6. each word not in `never_split` split around every punctuation character, which becomes
//     a word of its own; empty words are dropped.
// Lower-casing is Python's `str.lower` applied one character at a time, which is what the
// full BertTokenizer pipeline amounts to (its base class lower-cases the text character by
// character before this step): a capital sigma becomes σ even at the end of a word, where
// `str.lower` on a whole word would give ς.
#pragma once

#include <emofuse/text/unicode.hpp>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace emofuse::language {

/// Calls `visit` with each word of `text` as Python's `str.split()` cuts it: the non-empty
/// runs between characters for which `is_python_space` holds.
template <class Visit>
void for_each_python_word(std::u32string_view text, Visit&& visit) {
    std::size_t start = 0;
    while (start < text.size()) {
        if (is_python_space(text[start])) {
            ++start;
            continue;
        }
        std::size_t end = start;
        while (end < text.size() && !is_python_space(text[end])) {
            ++end;
        }
        visit(text.substr(start, end - start));
        start = end;
    }
}

struct basic_tokenizer_options {
    bool do_lower_case = true;
    /// Hugging Face's None / True / False: unset strips accents exactly when lower-casing.
    std::optional<bool> strip_accents;
    bool tokenize_chinese_chars = true;
    /// Hugging Face's `do_split_on_punc`.
    bool split_on_punctuation = true;
    /// Step 3. transformers releases from before 2023 had no NFC step: false matches them
    /// (MMSA's published feature files were made with such a release).
    bool nfc_normalize = true;
    /// Words (UTF-8, compared after cleaning and NFC) kept as they are: not lower-cased,
    /// stripped or split.
    std::vector<std::string> never_split;
};

class basic_tokenizer {
public:
    basic_tokenizer() : basic_tokenizer(basic_tokenizer_options{}) {}

    explicit basic_tokenizer(basic_tokenizer_options options) : options_(std::move(options)) {
        for (const auto& word : options_.never_split) {
            never_split_.push_back(decode_utf8(word, "basic_tokenizer: never_split word"));
        }
    }

    [[nodiscard]] const basic_tokenizer_options& options() const noexcept { return options_; }

    [[nodiscard]] bool strips_accents() const noexcept {
        return options_.strip_accents.value_or(options_.do_lower_case);
    }

    [[nodiscard]] bool is_never_split(std::u32string_view word) const {
        return std::find(never_split_.begin(), never_split_.end(), word) != never_split_.end();
    }

    /// Appends the words of `text` to `words`.
    void tokenize(std::u32string_view text, std::vector<std::u32string>& words) const {
        std::u32string cleaned;
        cleaned.reserve(text.size() + 8);
        for (const char32_t cp : text) {
            if (is_removed_by_cleaning(cp)) {
                continue;
            }
            if (is_bert_whitespace(cp)) {
                cleaned.push_back(U' ');
            } else if (options_.tokenize_chinese_chars && is_cjk_ideograph(cp)) {
                cleaned.push_back(U' ');
                cleaned.push_back(cp);
                cleaned.push_back(U' ');
            } else {
                cleaned.push_back(cp);
            }
        }
        const std::u32string normalized = options_.nfc_normalize ? nfc(cleaned) : cleaned;

        for_each_python_word(normalized, [&](std::u32string_view word) { add_word(word, words); });
    }

    [[nodiscard]] std::vector<std::u32string> tokenize(std::u32string_view text) const {
        std::vector<std::u32string> words;
        tokenize(text, words);
        return words;
    }

private:
    void add_word(std::u32string_view word, std::vector<std::u32string>& words) const {
        if (is_never_split(word)) {
            words.emplace_back(word);
            return;
        }
        std::u32string processed(word);
        if (options_.do_lower_case && std::any_of(word.begin(), word.end(), [](char32_t cp) {
                return cp >= U'A' &&
                       (cp <= U'Z' ||
                        (cp >= 0x80 && detail::has_property(cp, detail::has_lowercase)));
            })) {
            processed.clear();
            for (const char32_t cp : word) {
                append_lowercase(processed, cp);
            }
        }
        const bool maybe_accented =
            std::any_of(processed.begin(), processed.end(), [](char32_t cp) { return cp >= 0xC0; });
        if (strips_accents() && maybe_accented) { // nothing below U+00C0 decomposes or is Mn
            std::u32string decomposed = nfd(processed);
            std::erase_if(decomposed, [](char32_t cp) { return is_nonspacing_mark(cp); });
            processed = std::move(decomposed);
        }
        if (!options_.split_on_punctuation) {
            if (!processed.empty()) {
                words.push_back(std::move(processed));
            }
            return;
        }
        std::size_t piece_start = 0;
        for (std::size_t i = 0; i < processed.size(); ++i) {
            if (is_bert_punctuation(processed[i])) {
                if (i > piece_start) {
                    words.emplace_back(processed, piece_start, i - piece_start);
                }
                words.emplace_back(1, processed[i]);
                piece_start = i + 1;
            }
        }
        if (processed.size() > piece_start) {
            words.emplace_back(processed, piece_start, processed.size() - piece_start);
        }
    }

    basic_tokenizer_options options_;
    std::vector<std::u32string> never_split_;
};

} // namespace emofuse::language
