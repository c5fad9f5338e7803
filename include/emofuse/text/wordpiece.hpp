// emofuse/text/wordpiece.hpp — Hugging Face's BertTokenizer (the Python one, `use_fast=False`,
// which is what MMSA's BertTextEncoder loads) from a vocab.txt.
//
// `tokenize(text)`:
//  1. special tokens ([UNK] [SEP] [PAD] [CLS] [MASK] as configured) written in the text are
//     cut out and kept whole wherever they stand, case-sensitively (the base class's added-token
//     split; at one position the longest special token wins);
//  2. with `do_lower_case`, the rest is lower-cased one character at a time (`str.lower`);
//  3. the basic tokenizer (basic_tokenizer.hpp) splits it into words;
//  4. greedy longest-match-first WordPiece: each word is cut, from its start, into the longest
//     vocabulary piece, the pieces after the first looked up with a "##" prefix; a word with no
//     complete cut, or longer than `max_input_chars_per_word` code points (100), is one [UNK].
// `encode` adds [CLS] … [SEP] (… [SEP] for a pair, token type 1 for the second text and its
// [SEP]), truncates to `max_length` by removing tokens from the end of the longer text first
// (Hugging Face's `longest_first`), and pads on the right with [PAD] id, attention mask 0 and
// token type 0. Text is UTF-8; invalid UTF-8 is a value_error naming the byte.
#pragma once

#include <emofuse/core/error.hpp>
#include <emofuse/text/basic_tokenizer.hpp>
#include <emofuse/text/unicode.hpp>
#include <emofuse/text/vocabulary.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace emofuse::language {

struct bert_tokenizer_options {
    bool do_lower_case = true;
    /// Hugging Face's None / True / False: unset strips accents exactly when lower-casing.
    std::optional<bool> strip_accents;
    bool tokenize_chinese_chars = true;
    /// false: no NFC in the basic tokenizer, as transformers releases from before 2023.
    bool nfc_normalize = true;
    /// false: WordPiece runs on the whitespace-split text without the basic tokenizer.
    bool do_basic_tokenize = true;
    /// Words the basic tokenizer keeps whole; they are looked up as they are (no WordPiece).
    std::vector<std::string> never_split;
    std::size_t max_input_chars_per_word = 100;
    std::string unk_token = "[UNK]";
    std::string sep_token = "[SEP]";
    std::string pad_token = "[PAD]";
    std::string cls_token = "[CLS]";
    std::string mask_token = "[MASK]";
};

/// How `encode` fits its output to a length, as Hugging Face's
/// `tokenizer(text, max_length=…, truncation=…, padding="max_length")`.
struct encode_options {
    /// Unset: no truncation and no padding.
    std::optional<std::size_t> max_length;
    bool truncation = true;
    bool pad_to_max_length = true;
};

/// One encoded text (or pair), as `input_ids`, `attention_mask` and `token_type_ids`.
struct bert_encoding {
    std::vector<std::int32_t> input_ids;
    std::vector<std::int32_t> attention_mask;
    std::vector<std::int32_t> token_type_ids;
};

class bert_tokenizer {
public:
    using id_type = vocabulary::id_type;

    /// Needs the unknown, separator, classifier and padding tokens in the vocabulary.
    explicit bert_tokenizer(vocabulary vocab, bert_tokenizer_options options = {})
        : vocab_(std::move(vocab)), options_(std::move(options)),
          basic_(basic_tokenizer_options{.do_lower_case = options_.do_lower_case,
                                         .strip_accents = options_.strip_accents,
                                         .tokenize_chinese_chars = options_.tokenize_chinese_chars,
                                         .split_on_punctuation = true,
                                         .nfc_normalize = options_.nfc_normalize,
                                         .never_split = options_.never_split}) {
        unk_id_ = required_id(options_.unk_token, "unknown");
        sep_id_ = required_id(options_.sep_token, "separator");
        cls_id_ = required_id(options_.cls_token, "classifier");
        pad_id_ = required_id(options_.pad_token, "padding");
        for (const std::string* special :
             {&options_.unk_token, &options_.sep_token, &options_.pad_token, &options_.cls_token,
              &options_.mask_token}) {
            if (special->empty()) {
                throw value_error("bert_tokenizer: a special token is empty");
            }
            specials_.push_back({decode_utf8(*special, "bert_tokenizer: special token"),
                                 vocab_.find(*special).value_or(unk_id_), *special});
        }
        if (options_.max_input_chars_per_word == 0) {
            throw value_error("bert_tokenizer: max_input_chars_per_word must be at least 1");
        }
    }

    /// Reads the vocabulary from a vocab.txt file.
    [[nodiscard]] static bert_tokenizer from_file(const std::filesystem::path& vocab_file,
                                                  bert_tokenizer_options options = {}) {
        return bert_tokenizer(vocabulary::load(vocab_file), std::move(options));
    }

    [[nodiscard]] const vocabulary& vocab() const noexcept { return vocab_; }
    [[nodiscard]] const bert_tokenizer_options& options() const noexcept { return options_; }
    [[nodiscard]] id_type unk_id() const noexcept { return unk_id_; }
    [[nodiscard]] id_type sep_id() const noexcept { return sep_id_; }
    [[nodiscard]] id_type cls_id() const noexcept { return cls_id_; }
    [[nodiscard]] id_type pad_id() const noexcept { return pad_id_; }

    /// The tokens of `text` (no [CLS]/[SEP]), as Hugging Face's `tokenize`.
    [[nodiscard]] std::vector<std::string> tokenize(std::string_view text) const {
        std::vector<std::string> tokens;
        run<true>(text, [&](std::string_view token, id_type) { tokens.emplace_back(token); });
        return tokens;
    }

    /// The ids of `text`'s tokens (no [CLS]/[SEP]), as `convert_tokens_to_ids(tokenize(text))`.
    [[nodiscard]] std::vector<id_type> token_ids(std::string_view text) const {
        std::vector<id_type> ids;
        run<false>(text, [&](std::string_view, id_type id) { ids.push_back(id); });
        return ids;
    }

    /// [CLS] text [SEP], truncated and padded as `options` says.
    [[nodiscard]] bert_encoding encode(std::string_view text,
                                       const encode_options& options = {}) const {
        auto ids = token_ids(text);
        return assemble(std::move(ids), std::nullopt, options);
    }

    /// [CLS] first [SEP] second [SEP], the second text and its [SEP] with token type 1.
    [[nodiscard]] bert_encoding encode_pair(std::string_view first, std::string_view second,
                                            const encode_options& options = {}) const {
        auto first_ids = token_ids(first);
        auto second_ids = token_ids(second);
        return assemble(std::move(first_ids), std::move(second_ids), options);
    }

private:
    struct special_token {
        std::u32string text;
        id_type id;
        std::string name;
    };

    id_type required_id(const std::string& token, const char* role) const {
        const auto id = vocab_.find(token);
        if (!id) {
            throw value_error(::emofuse::detail::concat_message(
                "bert_tokenizer: the ", role, " token ", printable(token),
                " is not in the vocabulary (", vocab_.size(), " lines)"));
        }
        return *id;
    }

    /// The longest special token starting at `position`, or nullptr.
    const special_token* special_at(std::u32string_view text, std::size_t position) const {
        const special_token* best = nullptr;
        for (const auto& special : specials_) {
            if (text[position] == special.text.front() &&
                text.substr(position).starts_with(special.text) &&
                (!best || special.text.size() > best->text.size())) {
                best = &special;
            }
        }
        return best;
    }

    struct piece {
        std::size_t begin, end;
        id_type id;
    };

    /// Buffers reused across the words of a text.
    struct scratch {
        std::vector<std::u32string> words;
        std::string utf8;
        std::string candidate;
        std::vector<std::size_t> boundaries;
        std::vector<piece> pieces;
    };

    /// Calls sink(token, id) for every token of `text`; the token text is built only when
    /// `WithText` (ids alone skip assembling "##" pieces).
    template <bool WithText, class Sink>
    void run(std::string_view text, Sink&& sink) const {
        scratch buffers;
        const std::u32string decoded = decode_utf8(text, "bert_tokenizer: text");
        const std::u32string_view view(decoded);
        std::size_t segment_start = 0;
        for (std::size_t i = 0; i < view.size();) {
            const special_token* special = special_at(view, i);
            if (!special) {
                ++i;
                continue;
            }
            run_plain<WithText>(view.substr(segment_start, i - segment_start), sink, buffers);
            sink(special->name, special->id);
            i += special->text.size();
            segment_start = i;
        }
        run_plain<WithText>(view.substr(segment_start), sink, buffers);
    }

    template <bool WithText, class Sink>
    void run_plain(std::u32string_view text, Sink& sink, scratch& buffers) const {
        if (text.empty()) {
            return;
        }
        std::u32string lowered;
        if (options_.do_lower_case) {
            lowered.reserve(text.size());
            for (const char32_t cp : text) {
                append_lowercase(lowered, cp);
            }
            text = lowered;
        }
        auto& words = buffers.words;
        words.clear();
        if (options_.do_basic_tokenize) {
            basic_.tokenize(text, words);
        } else {
            for_each_python_word(text, [&](std::u32string_view word) { words.emplace_back(word); });
        }
        for (const auto& word : words) {
            if (options_.do_basic_tokenize && basic_.is_never_split(word)) {
                buffers.utf8 = to_utf8(word);
                sink(buffers.utf8, vocab_.find(buffers.utf8).value_or(unk_id_));
                continue;
            }
            wordpiece<WithText>(word, sink, buffers);
        }
    }

    /// Greedy longest-match-first WordPiece of one word; the buffers are reused across words.
    template <bool WithText, class Sink>
    void wordpiece(std::u32string_view word, Sink& sink, scratch& buffers) const {
        auto& utf8 = buffers.utf8;
        auto& boundaries = buffers.boundaries;
        auto& candidate = buffers.candidate;
        auto& pieces = buffers.pieces;
        if (word.size() > options_.max_input_chars_per_word) {
            sink(options_.unk_token, unk_id_);
            return;
        }
        utf8.clear();
        boundaries.clear();
        for (const char32_t cp : word) {
            boundaries.push_back(utf8.size());
            append_utf8(utf8, cp);
        }
        boundaries.push_back(utf8.size());

        pieces.clear();
        const std::size_t characters = word.size();
        std::size_t start = 0;
        while (start < characters) {
            // No vocabulary entry is longer than `longest` bytes, so no longer piece can match.
            const std::size_t longest =
                start == 0 ? vocab_.longest_word_start() : vocab_.longest_continuation();
            std::size_t end = characters;
            while (end > start && boundaries[end] - boundaries[start] > longest) {
                --end;
            }
            std::optional<id_type> found;
            for (; end > start; --end) {
                const std::string_view substring(utf8.data() + boundaries[start],
                                                 boundaries[end] - boundaries[start]);
                if (start == 0) {
                    found = vocab_.find(substring);
                } else {
                    candidate.assign("##");
                    candidate.append(substring);
                    found = vocab_.find(candidate);
                }
                if (found) {
                    break;
                }
            }
            if (!found) {
                sink(options_.unk_token, unk_id_);
                return;
            }
            pieces.push_back({boundaries[start], boundaries[end], *found});
            start = end;
        }
        for (const auto& p : pieces) {
            if constexpr (!WithText) {
                sink(std::string_view(), p.id);
                continue;
            }
            const std::string_view substring(utf8.data() + p.begin, p.end - p.begin);
            if (p.begin == 0) {
                sink(substring, p.id);
            } else {
                candidate.assign("##");
                candidate.append(substring);
                sink(std::string_view(candidate), p.id);
            }
        }
    }

    bert_encoding assemble(std::vector<id_type> first, std::optional<std::vector<id_type>> second,
                           const encode_options& options) const {
        const std::size_t specials = second ? 3 : 2;
        if (options.max_length && options.truncation) {
            const std::size_t max_length = *options.max_length;
            if (max_length <= specials) {
                throw value_error(::emofuse::detail::concat_message(
                    "bert_tokenizer: max_length ", max_length,
                    " leaves no room for text besides the ", specials, " special tokens"));
            }
            const std::size_t total = first.size() + (second ? second->size() : 0) + specials;
            if (total > max_length) {
                std::size_t remove = total - max_length;
                if (!second) {
                    first.resize(first.size() - remove);
                } else {
                    // longest_first: shorten the longer text down to the other's length, then
                    // both alternately, the second text first on a tie.
                    auto& longer = first.size() > second->size() ? first : *second;
                    const std::size_t difference = first.size() > second->size()
                                                       ? first.size() - second->size()
                                                       : second->size() - first.size();
                    const std::size_t from_longer = std::min(difference, remove);
                    longer.resize(longer.size() - from_longer);
                    remove -= from_longer;
                    first.resize(first.size() - remove / 2);
                    second->resize(second->size() - (remove - remove / 2));
                }
            }
        }
        bert_encoding out;
        const std::size_t length = first.size() + (second ? second->size() : 0) + specials;
        const std::size_t padded = options.max_length && options.pad_to_max_length
                                       ? std::max(length, *options.max_length)
                                       : length;
        out.input_ids.reserve(padded);
        out.input_ids.push_back(cls_id_);
        out.input_ids.insert(out.input_ids.end(), first.begin(), first.end());
        out.input_ids.push_back(sep_id_);
        const std::size_t first_part = out.input_ids.size();
        if (second) {
            out.input_ids.insert(out.input_ids.end(), second->begin(), second->end());
            out.input_ids.push_back(sep_id_);
        }
        out.attention_mask.assign(length, 1);
        out.token_type_ids.assign(first_part, 0);
        out.token_type_ids.resize(length, 1);
        out.input_ids.resize(padded, pad_id_);
        out.attention_mask.resize(padded, 0);
        out.token_type_ids.resize(padded, 0);
        return out;
    }

    vocabulary vocab_;
    bert_tokenizer_options options_;
    basic_tokenizer basic_;
    std::vector<special_token> specials_;
    id_type unk_id_ = 0, sep_id_ = 0, cls_id_ = 0, pad_id_ = 0;
};

} // namespace emofuse::language
