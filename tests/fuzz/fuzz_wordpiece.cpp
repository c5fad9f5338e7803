// libFuzzer target for the vocab.txt reader and the BERT tokenizer. Input layout: one option
// byte, the vocabulary text, then (after a 0xFF byte, which UTF-8 never contains) the text to
// tokenize. The vocabulary must parse or throw io_error; the text must tokenize whenever it is
// valid UTF-8 (value_error otherwise), every id must name a line of the vocabulary holding the
// token, encode must give exactly max_length ids with the mask and token types BERT's layout
// implies, and NFC/NFD must be idempotent and agree with each other on the decoded text.
#include <emofuse/text/unicode.hpp>
#include <emofuse/text/vocabulary.hpp>
#include <emofuse/text/wordpiece.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <optional>
#include <string>
#include <string_view>

namespace {

void require(bool condition, const char* what) {
    if (!condition) {
        std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
        std::abort();
    }
}

void check_normalization(const std::u32string& text) {
    using namespace emofuse::language;
    const auto composed = nfc(text);
    const auto decomposed = nfd(text);
    require(nfc(composed) == composed, "NFC is idempotent");
    require(nfd(decomposed) == decomposed, "NFD is idempotent");
    require(nfd(composed) == decomposed, "NFD(NFC(x)) == NFD(x)");
    require(nfc(decomposed) == composed, "NFC(NFD(x)) == NFC(x)");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace emofuse::language;
    if (size == 0) {
        return 0;
    }
    const std::uint8_t flags = data[0];
    const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
    const std::size_t separator = rest.find('\xFF');
    std::string vocab_text(rest.substr(0, separator));
    const std::string_view text =
        separator == std::string_view::npos ? std::string_view() : rest.substr(separator + 1);
    if (flags & 1) {
        vocab_text += "\n[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
    }

    std::optional<vocabulary> vocab;
    try {
        vocab = vocabulary::parse(vocab_text, "fuzz");
    } catch (const emofuse::io_error&) {
        require(find_invalid_utf8(vocab_text) != std::string_view::npos,
                "the vocabulary is refused only for invalid UTF-8");
        return 0;
    }
    for (std::size_t line = 0; line < vocab->size(); ++line) {
        const auto& token = vocab->token(static_cast<vocabulary::id_type>(line));
        const auto id = vocab->find(token);
        require(id.has_value() && vocab->token(*id) == token, "every line's token is found");
        require(static_cast<std::size_t>(*id) >= line, "a repeated token keeps its last line");
    }

    const bool valid_text = find_invalid_utf8(text) == std::string_view::npos;
    if (valid_text) {
        check_normalization(decode_utf8(text));
    }

    bert_tokenizer_options options;
    options.do_lower_case = (flags & 2) != 0;
    if (flags & 4) {
        options.strip_accents = (flags & 8) != 0;
    }
    options.tokenize_chinese_chars = (flags & 16) == 0;
    options.max_input_chars_per_word = (flags & 32) ? 5 : 100;
    std::optional<bert_tokenizer> tokenizer;
    try {
        tokenizer.emplace(std::move(*vocab), options);
    } catch (const emofuse::value_error&) {
        require(!(flags & 1), "construction fails only without the special tokens");
        return 0;
    }

    try {
        const auto tokens = tokenizer->tokenize(text);
        const auto ids = tokenizer->token_ids(text);
        require(valid_text, "invalid UTF-8 is refused");
        require(tokens.size() == ids.size(), "one id per token");
        for (std::size_t i = 0; i < tokens.size(); ++i) {
            require(ids[i] >= 0 && static_cast<std::size_t>(ids[i]) < tokenizer->vocab().size(),
                    "ids name vocabulary lines");
            const auto found = tokenizer->vocab().find(tokens[i]);
            require(found ? *found == ids[i] : ids[i] == tokenizer->unk_id(),
                    "a token's id is its vocabulary id, or [UNK]'s");
            require(!tokens[i].empty(), "no empty tokens");
        }
        const std::size_t max_length = 3 + flags / 64 * 5;
        const auto encoded = tokenizer->encode(text, {.max_length = max_length});
        require(encoded.input_ids.size() == max_length, "encode gives max_length ids");
        require(encoded.attention_mask.size() == max_length &&
                    encoded.token_type_ids.size() == max_length,
                "mask and token types have max_length entries");
        require(encoded.input_ids.front() == tokenizer->cls_id(), "[CLS] first");
        const auto kept = static_cast<std::size_t>(std::accumulate(
            encoded.attention_mask.begin(), encoded.attention_mask.end(), std::int32_t{0}));
        require(kept == std::min(ids.size() + 2, max_length), "the mask covers the tokens");
        require(encoded.input_ids[kept - 1] == tokenizer->sep_id(), "[SEP] last");
        for (std::size_t i = kept; i < max_length; ++i) {
            require(encoded.input_ids[i] == tokenizer->pad_id(), "padding is [PAD]");
        }
        const auto pair = tokenizer->encode_pair(text, text, {.max_length = max_length + 1});
        require(pair.input_ids.size() == max_length + 1, "pairs give max_length ids");
    } catch (const emofuse::value_error&) {
        require(!valid_text, "valid text never fails");
    }
    return 0;
}
