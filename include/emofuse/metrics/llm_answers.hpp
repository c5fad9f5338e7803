// emofuse/metrics/llm_answers.hpp — free-text answers of multimodal LLMs turned into label
// sets (open vocabulary) and class ids (closed sets): the <answer> of an R1-Omni style
// <think>…</think><answer>…</answer> response, split into items, normalised by a caller-given
// function (emofuse::language::nfkc_casefold in the CLI), mapped through a user alias table and
// de-duplicated in order. Pure text processing: no Unicode tables here.
#pragma once

#include <emofuse/core/error.hpp>

#include <algorithm>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace emofuse::metrics {

/// Where an answer's text was found.
enum class answer_tag {
    tagged,   ///< between <answer> and </answer>
    unclosed, ///< after an <answer> with no </answer> (a truncated generation)
    untagged, ///< no <answer> tag: the whole response outside the reasoning
};

/// The answer part of a response, tags removed.
struct extracted_answer {
    std::string text;
    answer_tag tag = answer_tag::untagged;
    /// <answer> tags outside the reasoning; more than one means only the first was used.
    std::size_t answer_tags = 0;
};

namespace detail {

inline bool ascii_iequal(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i];
        char y = b[i];
        x = (x >= 'A' && x <= 'Z') ? static_cast<char>(x - 'A' + 'a') : x;
        y = (y >= 'A' && y <= 'Z') ? static_cast<char>(y - 'A' + 'a') : y;
        if (x != y) {
            return false;
        }
    }
    return true;
}

enum class tag_kind { think_open, think_close, answer_open, answer_close };

/// One think/answer tag of a response.
struct tag_at {
    std::size_t pos;
    std::size_t length;
    tag_kind kind;
};

/// Every think/answer tag of `text` (names ASCII case-insensitive), in order, in one pass:
/// every later step walks this list forwards, so hostile input with many tags stays linear.
inline std::vector<tag_at> find_tags(std::string_view text) {
    constexpr std::pair<std::string_view, tag_kind> names[] = {
        {"<think>", tag_kind::think_open},
        {"</think>", tag_kind::think_close},
        {"<answer>", tag_kind::answer_open},
        {"</answer>", tag_kind::answer_close},
    };
    std::vector<tag_at> tags;
    for (std::size_t i = text.find('<'); i != std::string_view::npos; i = text.find('<', i + 1)) {
        for (const auto& [name, kind] : names) {
            if (ascii_iequal(text.substr(i, name.size()), name)) {
                tags.push_back({i, name.size(), kind});
                break;
            }
        }
    }
    return tags;
}

/// Index of the first tag of `kind` at or after index `from`, or tags.size().
inline std::size_t next_tag(const std::vector<tag_at>& tags, std::size_t from, tag_kind kind) {
    while (from < tags.size() && tags[from].kind != kind) {
        ++from;
    }
    return from;
}

/// The response without its reasoning: a <think>…</think> span is removed; an unclosed
/// <think> (no </think> after it) runs to the next <answer> or the end; a </think> with no
/// <think> before it ends reasoning that began with the response (models whose prompt holds
/// the opening tag).
inline std::string strip_reasoning(std::string_view text) {
    const auto tags = find_tags(text);
    std::size_t last_close = std::string_view::npos;
    for (const auto& t : tags) {
        last_close = t.kind == tag_kind::think_close ? t.pos : last_close;
    }
    std::string out;
    std::size_t pos = 0; // start of the text not yet copied or dropped
    for (std::size_t k = 0; k < tags.size(); ++k) {
        const tag_at& t = tags[k];
        if (t.kind == tag_kind::think_close) { // no <think> open: all before it is reasoning
            out.clear();
            pos = t.pos + t.length;
        } else if (t.kind == tag_kind::think_open) {
            out += text.substr(pos, t.pos - pos);
            const bool closed = last_close != std::string_view::npos && last_close > t.pos;
            const std::size_t end =
                next_tag(tags, k + 1, closed ? tag_kind::think_close : tag_kind::answer_open);
            if (end == tags.size()) {
                return out; // unclosed, and no answer follows
            }
            pos = closed ? tags[end].pos + tags[end].length : tags[end].pos;
            k = closed ? end : end - 1; // an unclosed think's <answer> is read next
        }
    }
    out += text.substr(pos);
    return out;
}

/// `text` with every think/answer tag replaced by a space (tags nested in an answer).
inline std::string remove_tags(std::string_view text) {
    std::string out;
    std::size_t pos = 0;
    for (const auto& t : find_tags(text)) {
        out += text.substr(pos, t.pos - pos);
        out += ' ';
        pos = t.pos + t.length;
    }
    out += text.substr(pos);
    return out;
}

/// Length of the UTF-8 sequence starting at text[i], or 0 when it is not well formed
/// (overlong forms, surrogates and code points above U+10FFFF are not).
inline std::size_t utf8_sequence_length(std::string_view text, std::size_t i) noexcept {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char lead = byte(i);
    if (lead < 0x80) {
        return 1;
    }
    std::size_t length = 0;
    unsigned char low = 0x80, high = 0xBF; // range of the second byte
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        low = lead == 0xE0 ? 0xA0 : 0x80;
        high = lead == 0xED ? 0x9F : 0xBF;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        low = lead == 0xF0 ? 0x90 : 0x80;
        high = lead == 0xF4 ? 0x8F : 0xBF;
    } else {
        return 0;
    }
    if (i + length > text.size() || byte(i + 1) < low || byte(i + 1) > high) {
        return 0;
    }
    for (std::size_t k = 2; k < length; ++k) {
        if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) {
            return 0;
        }
    }
    return length;
}

/// Code point of a well-formed sequence of `length` bytes at text[i].
inline char32_t utf8_decode(std::string_view text, std::size_t i, std::size_t length) noexcept {
    const auto byte = [&](std::size_t k) { return static_cast<char32_t>(text[i + k]) & 0xFF; };
    if (length == 1) {
        return byte(0);
    }
    char32_t cp = byte(0) & (0xFF >> (length + 1));
    for (std::size_t k = 1; k < length; ++k) {
        cp = (cp << 6) | (byte(k) & 0x3F);
    }
    return cp;
}

/// Characters that end a word: ASCII whitespace and punctuation except the apostrophe, the
/// hyphen and the underscore (which join words), and common CJK and typographic
/// punctuation NFKC leaves alone.
inline bool word_breaking(char32_t c) noexcept {
    if (c < 0x80) {
        const bool word = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                          (c >= 'A' && c <= 'Z') || c == '\'' || c == '-' || c == '_';
        return !word;
    }
    switch (c) {
    case 0x00A0: // no-break space
    case 0x00AB: // «
    case 0x00BB: // »
    case 0x2013: // en dash
    case 0x2014: // em dash
    case 0x2018: // ‘
    case 0x2019: // ’
    case 0x201C: // “
    case 0x201D: // ”
    case 0x3000: // ideographic space
    case 0x3001: // 、
    case 0x3002: // 。
    case 0x300C: // 「
    case 0x300D: // 」
    case 0x300E: // 『
    case 0x300F: // 』
        return true;
    default:
        return false;
    }
}

/// Separators between list items: ',' ';' line breaks and the ideographic comma 、.
inline bool item_separator(char32_t c) noexcept {
    return c == ',' || c == ';' || c == '\n' || c == '\r' || c == 0x3001;
}

/// One character of a normalised answer.
struct answer_char {
    std::size_t begin, end;
    char32_t code;
};

/// The characters of `text`, which must be well-formed UTF-8 (value_error naming the byte).
inline std::vector<answer_char> decode_answer(std::string_view text, std::string_view stage) {
    std::vector<answer_char> out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t length = utf8_sequence_length(text, i);
        if (length == 0) {
            throw value_error(emofuse::detail::concat_message(stage, ": invalid UTF-8 at byte ",
                                                              i + 1, " of the normalised answer"));
        }
        out.push_back({i, i + length, utf8_decode(text, i, length)});
        i += length;
    }
    return out;
}

/// Words of a normalised text: maximal runs of non-breaking characters.
inline std::vector<std::string> words_of(std::string_view text, std::string_view stage) {
    std::vector<std::string> words;
    std::string current;
    for (const auto& c : decode_answer(text, stage)) {
        if (word_breaking(c.code)) {
            if (!current.empty()) {
                words.push_back(std::move(current));
                current.clear();
            }
        } else {
            current += text.substr(c.begin, c.end - c.begin);
        }
    }
    if (!current.empty()) {
        words.push_back(std::move(current));
    }
    return words;
}

} // namespace detail

/// Byte offset of the first ill-formed UTF-8 sequence in `text`, or nullopt when it is valid.
[[nodiscard]] inline std::optional<std::size_t> first_invalid_utf8(std::string_view text) noexcept {
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t length = detail::utf8_sequence_length(text, i);
        if (length == 0) {
            return i;
        }
        i += length;
    }
    return std::nullopt;
}

/// The answer of a response. Tag names match ASCII case-insensitively.
/// 1. Reasoning is removed: every <think>…</think> span; an unclosed <think> up to the next
///    <answer> (or the end); everything before a </think> that has no <think>.
/// 2. The answer is the text between the first <answer> and the first </answer> after it
///    (`tagged`); with no </answer>, everything after the <answer> (`unclosed`); with no
///    <answer>, the whole remaining text (`untagged`). Later <answer> tags are ignored (and
///    counted in answer_tags); tags left inside the answer (nested ones) become spaces.
[[nodiscard]] inline extracted_answer extract_answer(std::string_view response) {
    const std::string visible = detail::strip_reasoning(response);
    const std::string_view view = visible;
    const auto tags = detail::find_tags(view);
    extracted_answer out;
    for (const auto& t : tags) {
        out.answer_tags += t.kind == detail::tag_kind::answer_open ? 1 : 0;
    }
    const std::size_t open = detail::next_tag(tags, 0, detail::tag_kind::answer_open);
    if (open == tags.size()) {
        out.text = detail::remove_tags(view);
        return out;
    }
    const std::size_t body = tags[open].pos + tags[open].length;
    const std::size_t close = detail::next_tag(tags, open + 1, detail::tag_kind::answer_close);
    out.tag = close == tags.size() ? answer_tag::unclosed : answer_tag::tagged;
    out.text = detail::remove_tags(
        view.substr(body, close == tags.size() ? std::string_view::npos : tags[close].pos - body));
    return out;
}

/// The items of a normalised answer, in order: split at ',' ';' '、' and line breaks and at
/// the word "and" (so "a, b and c" and the Oxford "a, b, and c" give three items). An item
/// is its words (runs of characters other than spaces and punctuation; apostrophes, hyphens
/// and underscores belong to words) joined by one space, so "**Happy!**" gives "happy" and
/// "happy / sad" gives "happy sad". Empty items are dropped. value_error for ill-formed UTF-8.
[[nodiscard]] inline std::vector<std::string> split_answer_items(std::string_view normalized) {
    std::vector<std::string> items;
    std::string item;
    std::string word;
    const auto end_item = [&] {
        if (!item.empty()) {
            items.push_back(std::move(item));
            item.clear();
        }
    };
    const auto end_word = [&] {
        if (word == "and") {
            end_item();
        } else if (!word.empty()) {
            item += item.empty() ? "" : " ";
            item += word;
        }
        word.clear();
    };
    for (const auto& c : detail::decode_answer(normalized, "metrics::split_answer_items")) {
        if (detail::item_separator(c.code)) {
            end_word();
            end_item();
        } else if (detail::word_breaking(c.code)) {
            end_word();
        } else {
            word += normalized.substr(c.begin, c.end - c.begin);
        }
    }
    end_word();
    end_item();
    return items;
}

/// Normalises answer text (the CLI uses emofuse::language::nfkc_casefold: NFKC, full case
/// folding); may throw value_error for text it cannot take.
using text_normalizer = std::function<std::string(std::string_view)>;

/// An open-vocabulary answer as labels.
struct parsed_answer {
    std::vector<std::string> labels; ///< normalised, aliased, de-duplicated, in answer order
    answer_tag tag = answer_tag::untagged;
    std::size_t answer_tags = 0;
};

/// Turns responses into label lists: extract_answer, normalise, split_answer_items, then
/// each item through the alias table (one step: an alias's label is not looked up again),
/// keeping the first of repeated labels.
class answer_parser {
public:
    explicit answer_parser(text_normalizer normalize) : normalize_(std::move(normalize)) {
        if (!normalize_) {
            throw value_error("metrics::answer_parser: no normalising function given");
        }
    }

    /// `text` as one item: normalised, its words joined by one space. value_error when it is
    /// empty or would be split into several items (it holds ',' ';' or the word "and").
    [[nodiscard]] std::string normalize_item(std::string_view text, std::string_view what) const {
        check_utf8(text, what);
        const auto items = split_answer_items(normalize_(text));
        if (items.size() != 1) {
            throw value_error(emofuse::detail::concat_message(
                "metrics::answer_parser: ", what, " ", printable(text), " ",
                items.empty() ? "has no words" : "is several items (',', ';' or \"and\")",
                ": expected one label"));
        }
        return items.front();
    }

    /// Maps answers naming `alias` to `label` (both normalised as items). value_error when
    /// the alias already maps to another label; the same pair twice is fine.
    void add_alias(std::string_view alias, std::string_view label) {
        std::string key = normalize_item(alias, "alias");
        std::string value = normalize_item(label, "label");
        const auto [it, inserted] = aliases_.try_emplace(std::move(key), value);
        if (!inserted && it->second != value) {
            throw value_error(emofuse::detail::concat_message(
                "metrics::answer_parser::add_alias: alias ", printable(alias), " already maps to ",
                printable(it->second), ", got ", printable(value)));
        }
    }

    [[nodiscard]] const std::map<std::string, std::string, std::less<>>& aliases() const noexcept {
        return aliases_;
    }

    /// The answer's items, normalised but not aliased (what closed-set matching reads).
    [[nodiscard]] std::vector<std::string> items(std::string_view response,
                                                 extracted_answer* answer = nullptr) const {
        check_utf8(response, "response");
        extracted_answer extracted = extract_answer(response);
        auto out = split_answer_items(normalize_(extracted.text));
        if (answer != nullptr) {
            *answer = std::move(extracted);
        }
        return out;
    }

    [[nodiscard]] parsed_answer parse(std::string_view response) const {
        extracted_answer extracted;
        parsed_answer out;
        for (auto& item : items(response, &extracted)) {
            const auto alias = aliases_.find(item);
            std::string label = alias == aliases_.end() ? std::move(item) : alias->second;
            if (std::find(out.labels.begin(), out.labels.end(), label) == out.labels.end()) {
                out.labels.push_back(std::move(label));
            }
        }
        out.tag = extracted.tag;
        out.answer_tags = extracted.answer_tags;
        return out;
    }

private:
    static void check_utf8(std::string_view text, std::string_view what) {
        if (const auto bad = first_invalid_utf8(text)) {
            throw value_error(emofuse::detail::concat_message(
                "metrics::answer_parser: ", what, ": invalid UTF-8 at byte ", *bad + 1, " (0x",
                "0123456789ABCDEF"[(static_cast<unsigned char>(text[*bad]) >> 4) & 0xF],
                "0123456789ABCDEF"[static_cast<unsigned char>(text[*bad]) & 0xF], ")"));
        }
    }

    text_normalizer normalize_;
    std::map<std::string, std::string, std::less<>> aliases_;
};

/// A closed-set answer as a class id.
struct closed_set_answer {
    static constexpr int invalid = -1;
    int class_id = invalid;        ///< the class named first, or invalid (names no class)
    std::size_t classes_named = 0; ///< distinct classes the answer names
    answer_tag tag = answer_tag::untagged;
    std::size_t answer_tags = 0;
};

/// Maps answers to one of K named classes. A class is named by its name or by an alias
/// whose label is its name, as whole words inside one item ("sad" in "very sad", not in
/// "sadness" — give that an alias). Precedence when an answer names several classes: the
/// mention that starts first in the answer wins; at the same start, the longest name or
/// alias. An answer naming none is `invalid`.
class closed_set_matcher {
public:
    /// value_error for an empty or repeated class name (after normalisation), or an alias
    /// whose label is not a class name.
    closed_set_matcher(const answer_parser& parser, const std::vector<std::string>& class_names)
        : parser_(&parser) {
        if (class_names.empty()) {
            throw value_error("metrics::closed_set_matcher: no class names given");
        }
        std::map<std::string, int, std::less<>> ids;
        for (std::size_t c = 0; c < class_names.size(); ++c) {
            std::string name = parser.normalize_item(class_names[c], "class name");
            const auto [it, inserted] = ids.try_emplace(name, static_cast<int>(c));
            if (!inserted) {
                throw value_error(emofuse::detail::concat_message(
                    "metrics::closed_set_matcher: class names ", it->second, " and ", c,
                    " are the same after normalisation (", printable(name), ")"));
            }
            add_phrase(name, static_cast<int>(c));
        }
        for (const auto& [alias, label] : parser.aliases()) {
            const auto it = ids.find(label);
            if (it == ids.end()) {
                throw value_error(emofuse::detail::concat_message(
                    "metrics::closed_set_matcher: alias ", printable(alias), " maps to ",
                    printable(label), ", which is not one of the ", class_names.size(),
                    " class names"));
            }
            add_phrase(alias, it->second);
        }
        std::stable_sort(phrases_.begin(), phrases_.end(), [](const auto& a, const auto& b) {
            return a.words.size() > b.words.size();
        });
        num_classes_ = class_names.size();
    }

    [[nodiscard]] std::size_t num_classes() const noexcept { return num_classes_; }

    [[nodiscard]] closed_set_answer match(std::string_view response) const {
        extracted_answer extracted;
        const auto items = parser_->items(response, &extracted);
        closed_set_answer out;
        out.tag = extracted.tag;
        out.answer_tags = extracted.answer_tags;
        std::vector<int> named;
        for (const auto& item : items) {
            const auto words = detail::words_of(item, "metrics::closed_set_matcher");
            for (std::size_t start = 0; start < words.size();) {
                const phrase* hit = longest_at(words, start);
                if (hit == nullptr) {
                    ++start;
                    continue;
                }
                if (std::find(named.begin(), named.end(), hit->class_id) == named.end()) {
                    named.push_back(hit->class_id);
                }
                start += hit->words.size();
            }
        }
        if (!named.empty()) {
            out.class_id = named.front();
        }
        out.classes_named = named.size();
        return out;
    }

private:
    struct phrase {
        std::vector<std::string> words;
        int class_id;
    };

    void add_phrase(std::string_view text, int class_id) {
        phrases_.push_back({detail::words_of(text, "metrics::closed_set_matcher"), class_id});
    }

    /// The longest phrase matching words[start...] (phrases_ is sorted longest first).
    const phrase* longest_at(const std::vector<std::string>& words, std::size_t start) const {
        for (const auto& p : phrases_) {
            if (p.words.size() <= words.size() - start &&
                std::equal(p.words.begin(), p.words.end(),
                           words.begin() + static_cast<std::ptrdiff_t>(start))) {
                return &p;
            }
        }
        return nullptr;
    }

    const answer_parser* parser_;
    std::vector<phrase> phrases_;
    std::size_t num_classes_ = 0;
};

} // namespace emofuse::metrics
