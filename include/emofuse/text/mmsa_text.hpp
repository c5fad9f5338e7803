// emofuse/text/mmsa_text.hpp — text lines to MMSA's `text_bert` array.
//
// MMSA's BERT models take text as one float array of shape (batch, 3, seq_len): channel 0 the
// input ids, 1 the attention mask, 2 the token type (segment) ids, each sample encoded as
// BertTokenizer encodes it with `max_length=seq_len, truncation=True, padding="max_length"`
// ([CLS] text [SEP], then [PAD] id / mask 0 / type 0). MMSA's feature files use seq_len 50.
// `encode_batch` gives the three channels as separate int32 arrays; `mmsa_text_bert` packs
// them as MMSA's loader hands them to the model.
#pragma once

#include <emofuse/config.hpp>
#include <emofuse/core/error.hpp>
#include <emofuse/text/unicode.hpp>
#include <emofuse/text/wordpiece.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace emofuse::language {

/// MMSA's text length in its feature files (MOSI, MOSEI, SIMS): 50 tokens.
inline constexpr std::size_t mmsa_text_length = 50;

/// A batch of encoded texts, each (batch, seq_len).
struct bert_batch {
    xt::xtensor<std::int32_t, 2> input_ids;
    xt::xtensor<std::int32_t, 2> attention_mask;
    xt::xtensor<std::int32_t, 2> token_type_ids;
};

/// Encodes every text to exactly `seq_len` tokens (truncated and padded).
[[nodiscard]] inline bert_batch encode_batch(const bert_tokenizer& tokenizer,
                                             std::span<const std::string> texts,
                                             std::size_t seq_len = mmsa_text_length) {
    if (seq_len < 3) {
        throw value_error(::emofuse::detail::concat_message(
            "encode_batch: seq_len ", seq_len, " leaves no room for text besides [CLS] and [SEP]"));
    }
    const std::array<std::size_t, 2> shape{texts.size(), seq_len};
    bert_batch batch{xt::xtensor<std::int32_t, 2>::from_shape(shape),
                     xt::xtensor<std::int32_t, 2>::from_shape(shape),
                     xt::xtensor<std::int32_t, 2>::from_shape(shape)};
    const encode_options options{seq_len, true, true};
    for (std::size_t row = 0; row < texts.size(); ++row) {
        bert_encoding encoded;
        try {
            encoded = tokenizer.encode(texts[row], options);
        } catch (const value_error& e) {
            throw value_error(::emofuse::detail::concat_message("text ", row, ": ", e.what()));
        }
        for (std::size_t column = 0; column < seq_len; ++column) {
            batch.input_ids(row, column) = encoded.input_ids[column];
            batch.attention_mask(row, column) = encoded.attention_mask[column];
            batch.token_type_ids(row, column) = encoded.token_type_ids[column];
        }
    }
    return batch;
}

/// MMSA's (batch, 3, seq_len) float array: ids, mask, token types.
[[nodiscard]] inline xt::xtensor<float, 3> mmsa_text_bert(const bert_batch& batch) {
    const auto rows = batch.input_ids.shape(0);
    const auto columns = batch.input_ids.shape(1);
    if (batch.attention_mask.shape() != batch.input_ids.shape() ||
        batch.token_type_ids.shape() != batch.input_ids.shape()) {
        throw shape_error(
            "mmsa_text_bert: input_ids, attention_mask and token_type_ids differ in shape");
    }
    auto out = xt::xtensor<float, 3>::from_shape({rows, 3, columns});
    constexpr std::int32_t exact_in_float = 1 << 24; // larger ids would be rounded
    for (std::size_t row = 0; row < rows; ++row) {
        for (std::size_t column = 0; column < columns; ++column) {
            const std::int32_t id = batch.input_ids(row, column);
            if (id < 0 || id > exact_in_float) {
                throw value_error(::emofuse::detail::concat_message("mmsa_text_bert: token id ", id,
                                                                    " is not exact as a float"));
            }
            out(row, 0, column) = static_cast<float>(id);
            out(row, 1, column) = static_cast<float>(batch.attention_mask(row, column));
            out(row, 2, column) = static_cast<float>(batch.token_type_ids(row, column));
        }
    }
    return out;
}

/// Encodes `texts` into MMSA's (batch, 3, seq_len) `text_bert` array.
[[nodiscard]] inline xt::xtensor<float, 3> mmsa_text_bert(const bert_tokenizer& tokenizer,
                                                          std::span<const std::string> texts,
                                                          std::size_t seq_len = mmsa_text_length) {
    return mmsa_text_bert(encode_batch(tokenizer, texts, seq_len));
}

/// The lines of a UTF-8 text file, one sample each: a leading byte order mark is skipped,
/// lines end at "\n" or "\r\n", and a final line break does not start another (empty) sample;
/// an empty line is an empty text. Invalid UTF-8 is an io_error naming the line and byte.
[[nodiscard]] inline std::vector<std::string> read_text_lines(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw io_error(::emofuse::detail::concat_message("read_text_lines: cannot open ",
                                                         printable(path.string())));
    }
    std::string contents((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) {
        throw io_error(::emofuse::detail::concat_message("read_text_lines: cannot read ",
                                                         printable(path.string())));
    }
    std::string_view rest(contents);
    if (rest.starts_with("\xEF\xBB\xBF")) {
        rest.remove_prefix(3);
    }
    std::vector<std::string> lines;
    std::size_t line_number = 1;
    while (!rest.empty()) {
        const std::size_t end = rest.find('\n');
        std::string_view line = rest.substr(0, end);
        if (line.ends_with('\r')) {
            line.remove_suffix(1);
        }
        if (const auto bad = find_invalid_utf8(line); bad != std::string_view::npos) {
            throw io_error(
                ::emofuse::detail::concat_message(printable(path.string()), ": line ", line_number,
                                                  ": invalid UTF-8 at byte ", bad, " of the line"));
        }
        lines.emplace_back(line);
        if (end == std::string_view::npos) {
            break;
        }
        rest.remove_prefix(end + 1);
        ++line_number;
    }
    return lines;
}

/// Reads the lines of `text_file` and encodes them into MMSA's (lines, 3, seq_len) array.
[[nodiscard]] inline xt::xtensor<float, 3>
mmsa_text_bert_from_file(const bert_tokenizer& tokenizer, const std::filesystem::path& text_file,
                         std::size_t seq_len = mmsa_text_length) {
    const auto lines = read_text_lines(text_file);
    return mmsa_text_bert(tokenizer, lines, seq_len);
}

} // namespace emofuse::language
