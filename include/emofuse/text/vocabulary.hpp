// emofuse/text/vocabulary.hpp — a WordPiece vocabulary read from a BERT `vocab.txt`.
//
// One token per line; a token's id is its line number from 0, as Hugging Face's `load_vocab`
// numbers them. Lines end at "\n", "\r\n" or a lone "\r" (Python's universal newlines, which
// `open(..., "r")` applies); nothing else is stripped, so a token keeps inner and trailing
// spaces. An empty line is the empty token. A final line without a line break is a token; a
// line break at the end of the file does not start another. A token listed twice keeps the id
// of its last line (Hugging Face builds a dict), while `token(id)` still answers for every
// line. One deliberate difference: a leading UTF-8 byte order mark is skipped, where Python
// would make it part of the first token. Bytes that are not UTF-8 are an io_error naming the
// line and the byte offset in the file.
#pragma once

#include <emofuse/core/error.hpp>
#include <emofuse/text/unicode.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace emofuse::language {

class vocabulary {
public:
    using id_type = std::int32_t;

    vocabulary() = default;

    /// Parses the contents of a vocab.txt; `source` names it in error messages.
    [[nodiscard]] static vocabulary parse(std::string_view contents,
                                          std::string_view source = "vocab.txt") {
        vocabulary vocab;
        std::size_t offset = 0;
        if (contents.starts_with("\xEF\xBB\xBF")) {
            offset = 3;
        }
        std::size_t line = 1;
        while (offset < contents.size()) {
            std::size_t end = contents.find_first_of("\r\n", offset);
            const bool last = end == std::string_view::npos;
            if (last) {
                end = contents.size();
            }
            const std::string_view token = contents.substr(offset, end - offset);
            if (const auto bad = find_invalid_utf8(token); bad != std::string_view::npos) {
                throw io_error(::emofuse::detail::concat_message(source, ": line ", line,
                                                                 ": invalid UTF-8 at byte ",
                                                                 offset + bad, " of the file"));
            }
            vocab.add(token, source);
            if (last) {
                break;
            }
            offset = end + 1;
            if (contents[end] == '\r' && offset < contents.size() && contents[offset] == '\n') {
                ++offset;
            }
            ++line;
        }
        return vocab;
    }

    /// Reads and parses a vocab.txt file.
    [[nodiscard]] static vocabulary load(const std::filesystem::path& path) {
        std::ifstream in(path, std::ios::binary);
        if (!in) {
            throw io_error(::emofuse::detail::concat_message("vocabulary: cannot open ",
                                                             printable(path.string())));
        }
        std::string contents((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
        if (in.bad()) {
            throw io_error(::emofuse::detail::concat_message("vocabulary: cannot read ",
                                                             printable(path.string())));
        }
        return parse(contents, path.string());
    }

    /// The id of `token` (the last line that holds it), or nullopt.
    [[nodiscard]] std::optional<id_type> find(std::string_view token) const {
        const auto found = ids_.find(token);
        if (found == ids_.end()) {
            return std::nullopt;
        }
        return found->second;
    }

    [[nodiscard]] bool contains(std::string_view token) const { return ids_.contains(token); }

    /// The token on line `id`.
    [[nodiscard]] const std::string& token(id_type id) const {
        if (id < 0 || static_cast<std::size_t>(id) >= tokens_.size()) {
            throw value_error(::emofuse::detail::concat_message(
                "vocabulary: id ", id, " outside [0, ", tokens_.size(), ")"));
        }
        return tokens_[static_cast<std::size_t>(id)];
    }

    /// Number of lines, so ids run from 0 to size() - 1.
    [[nodiscard]] std::size_t size() const noexcept { return tokens_.size(); }
    /// Number of distinct tokens (Hugging Face's `vocab_size`; smaller when a token repeats).
    [[nodiscard]] std::size_t distinct_size() const noexcept { return ids_.size(); }

    /// Length in bytes of the longest token that does not start with "##", and of the longest
    /// that does (without its "##"): no longer piece can match, which bounds WordPiece's search.
    [[nodiscard]] std::size_t longest_word_start() const noexcept { return longest_start_; }
    [[nodiscard]] std::size_t longest_continuation() const noexcept {
        return longest_continuation_;
    }

private:
    struct string_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view text) const noexcept {
            return std::hash<std::string_view>{}(text);
        }
    };

    void add(std::string_view token, std::string_view source) {
        if (tokens_.size() >= static_cast<std::size_t>(std::numeric_limits<id_type>::max())) {
            throw io_error(::emofuse::detail::concat_message(
                source, ": more lines than 32-bit token ids can number"));
        }
        const auto id = static_cast<id_type>(tokens_.size());
        tokens_.emplace_back(token);
        ids_.insert_or_assign(std::string(token), id);
        if (token.starts_with("##")) {
            longest_continuation_ = std::max(longest_continuation_, token.size() - 2);
        }
        longest_start_ = std::max(longest_start_, token.size());
    }

    std::vector<std::string> tokens_;
    std::unordered_map<std::string, id_type, string_hash, std::equal_to<>> ids_;
    std::size_t longest_start_ = 0;
    std::size_t longest_continuation_ = 0;
};

} // namespace emofuse::language
