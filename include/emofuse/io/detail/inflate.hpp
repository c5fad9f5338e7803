// emofuse/io/detail/inflate.hpp — a bounded DEFLATE (RFC 1951) decoder for .npz members
// written by numpy.savez_compressed. Written for safety on hostile input, not for speed: every
// read is bounds-checked, the output may not exceed the size the archive declares, and any
// invalid code, length or distance is an io_error.
#pragma once

#include <emofuse/core/error.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace emofuse::io::detail {

class inflater {
public:
    inflater(std::span<const std::byte> input, std::size_t output_size, std::string_view what)
        : input_(input), limit_(output_size), what_(what) {
        output_.reserve(output_size);
    }

    /// Decodes the whole stream; the result must be exactly `output_size` bytes.
    std::vector<std::byte> run() {
        bool last = false;
        while (!last) {
            last = bits(1) == 1;
            switch (bits(2)) {
            case 0:
                stored_block();
                break;
            case 1:
                fixed_block();
                break;
            case 2:
                dynamic_block();
                break;
            default:
                fail("reserved block type 3");
            }
        }
        if (output_.size() != limit_) {
            fail(emofuse::detail::concat_message("decompressed to ", output_.size(),
                                                 " bytes, the archive declares ", limit_));
        }
        return std::move(output_);
    }

private:
    static constexpr int max_bits = 15;

    /// A canonical Huffman code: how many codes of each length, and the symbols in code order.
    struct huffman {
        std::array<std::uint16_t, max_bits + 1> counts{};
        std::vector<std::uint16_t> symbols;
    };

    [[noreturn]] void fail(const std::string& message) const {
        throw io_error(
            emofuse::detail::concat_message(what_, ": corrupt deflate stream: ", message));
    }

    std::uint32_t bits(int count) {
        while (bit_count_ < count) {
            if (position_ >= input_.size()) {
                fail("the compressed data ends early");
            }
            bit_buffer_ |= static_cast<std::uint64_t>(input_[position_++]) << bit_count_;
            bit_count_ += 8;
        }
        const auto value = static_cast<std::uint32_t>(bit_buffer_ & ((1ull << count) - 1));
        bit_buffer_ >>= count;
        bit_count_ -= count;
        return value;
    }

    void emit(std::byte value) {
        if (output_.size() >= limit_) {
            fail(emofuse::detail::concat_message("output exceeds the declared ", limit_, " bytes"));
        }
        output_.push_back(value);
    }

    void stored_block() {
        bit_buffer_ = 0; // skip to the byte boundary (fewer than 8 bits are ever buffered)
        bit_count_ = 0;
        if (input_.size() - position_ < 4) {
            fail("a stored block header is cut short");
        }
        const auto byte_at = [&](std::size_t offset) {
            return static_cast<unsigned>(input_[position_ + offset]);
        };
        const unsigned length = byte_at(0) | byte_at(1) << 8;
        const unsigned complement = byte_at(2) | byte_at(3) << 8;
        position_ += 4;
        if ((length ^ 0xffffu) != complement) {
            fail("a stored block length does not match its complement");
        }
        if (input_.size() - position_ < length) {
            fail("a stored block is cut short");
        }
        for (unsigned index = 0; index < length; ++index) {
            emit(input_[position_ + index]);
        }
        position_ += length;
    }

    huffman build(std::span<const std::uint8_t> lengths) const {
        huffman code;
        for (std::uint8_t length : lengths) {
            ++code.counts[length];
        }
        code.counts[0] = 0;
        int left = 1; // codes still available at the current length
        int longest = 0;
        for (int length = 1; length <= max_bits; ++length) {
            left = left * 2 - code.counts[length];
            if (left < 0) {
                fail("an over-subscribed Huffman code");
            }
            longest = code.counts[length] != 0 ? length : longest;
        }
        // Like zlib: a code must be complete, except an empty one or a single one-bit code.
        if (left > 0 && longest > 1) {
            fail("an incomplete Huffman code");
        }
        std::array<std::uint16_t, max_bits + 2> offsets{};
        for (int length = 1; length <= max_bits; ++length) {
            offsets[length + 1] = static_cast<std::uint16_t>(offsets[length] + code.counts[length]);
        }
        code.symbols.resize(offsets[max_bits + 1]);
        for (std::size_t symbol = 0; symbol < lengths.size(); ++symbol) {
            if (lengths[symbol] != 0) {
                code.symbols[offsets[lengths[symbol]]++] = static_cast<std::uint16_t>(symbol);
            }
        }
        return code;
    }

    /// Decodes one symbol bit by bit (codes are packed most significant bit first).
    std::uint16_t decode(const huffman& code) {
        int value = 0, first = 0, index = 0;
        for (int length = 1; length <= max_bits; ++length) {
            value |= static_cast<int>(bits(1));
            const int count = code.counts[length];
            if (value - first < count) {
                return code.symbols[static_cast<std::size_t>(index + value - first)];
            }
            index += count;
            first = (first + count) << 1;
            value <<= 1;
        }
        fail("an invalid Huffman code");
    }

    void codes(const huffman& literals, const huffman& distances) {
        static constexpr std::uint16_t length_base[] = {3,  4,  5,  6,   7,   8,   9,   10,  11, 13,
                                                        15, 17, 19, 23,  27,  31,  35,  43,  51, 59,
                                                        67, 83, 99, 115, 131, 163, 195, 227, 258};
        static constexpr std::uint8_t length_extra[] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                                        2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
        static constexpr std::uint16_t distance_base[] = {
            1,   2,   3,   4,   5,   7,    9,    13,   17,   25,   33,   49,   65,    97,    129,
            193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
        static constexpr std::uint8_t distance_extra[] = {0, 0, 0,  0,  1,  1,  2,  2,  3,  3,
                                                          4, 4, 5,  5,  6,  6,  7,  7,  8,  8,
                                                          9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
        while (true) {
            const std::uint16_t symbol = decode(literals);
            if (symbol < 256) {
                emit(static_cast<std::byte>(symbol));
                continue;
            }
            if (symbol == 256) {
                return;
            }
            const std::size_t length_code = symbol - 257u;
            if (length_code >= std::size(length_base)) {
                fail("an invalid length symbol");
            }
            const std::size_t length = length_base[length_code] + bits(length_extra[length_code]);
            const std::uint16_t distance_code = decode(distances);
            if (distance_code >= std::size(distance_base)) {
                fail("an invalid distance symbol");
            }
            const std::size_t distance =
                distance_base[distance_code] + bits(distance_extra[distance_code]);
            if (distance > output_.size()) {
                fail("a back-reference before the start of the output");
            }
            for (std::size_t copied = 0; copied < length; ++copied) {
                emit(output_[output_.size() - distance]);
            }
        }
    }

    void fixed_block() {
        std::array<std::uint8_t, 288> literal_lengths{};
        for (std::size_t symbol = 0; symbol < 288; ++symbol) {
            literal_lengths[symbol] = symbol < 144 ? 8 : symbol < 256 ? 9 : symbol < 280 ? 7 : 8;
        }
        // 32 five-bit distance codes keep the code complete; 30 and 31 are invalid if used.
        std::array<std::uint8_t, 32> distance_lengths{};
        distance_lengths.fill(5);
        codes(build(literal_lengths), build(distance_lengths));
    }

    void dynamic_block() {
        const std::size_t literal_count = bits(5) + 257;
        const std::size_t distance_count = bits(5) + 1;
        const std::size_t length_code_count = bits(4) + 4;
        if (literal_count > 286 || distance_count > 30) {
            fail("too many literal/length or distance codes");
        }
        static constexpr std::uint8_t order[19] = {16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
                                                   11, 4,  12, 3, 13, 2, 14, 1, 15};
        std::array<std::uint8_t, 19> length_lengths{};
        for (std::size_t index = 0; index < length_code_count; ++index) {
            length_lengths[order[index]] = static_cast<std::uint8_t>(bits(3));
        }
        const huffman length_code = build(length_lengths);

        std::array<std::uint8_t, 286 + 30> lengths{};
        const std::size_t total = literal_count + distance_count;
        std::size_t index = 0;
        while (index < total) {
            const std::uint16_t symbol = decode(length_code);
            if (symbol < 16) {
                lengths[index++] = static_cast<std::uint8_t>(symbol);
                continue;
            }
            std::uint8_t repeated = 0;
            std::size_t repeat = 0;
            if (symbol == 16) {
                if (index == 0) {
                    fail("a repeat code with no previous length");
                }
                repeated = lengths[index - 1];
                repeat = 3 + bits(2);
            } else if (symbol == 17) {
                repeat = 3 + bits(3);
            } else {
                repeat = 11 + bits(7);
            }
            if (repeat > total - index) {
                fail("code lengths repeat past the end of the table");
            }
            for (std::size_t count = 0; count < repeat; ++count) {
                lengths[index++] = repeated;
            }
        }
        if (lengths[256] == 0) {
            fail("no end-of-block code");
        }
        codes(build(std::span(lengths).first(literal_count)),
              build(std::span(lengths).subspan(literal_count, distance_count)));
    }

    std::span<const std::byte> input_;
    std::size_t position_ = 0;
    std::uint64_t bit_buffer_ = 0;
    int bit_count_ = 0;
    std::size_t limit_;
    std::string what_;
    std::vector<std::byte> output_;
};

/// Decompresses a raw DEFLATE stream that must produce exactly `output_size` bytes. `what`
/// names the data in error messages.
inline std::vector<std::byte> inflate(std::span<const std::byte> input, std::size_t output_size,
                                      std::string_view what) {
    return inflater(input, output_size, what).run();
}

} // namespace emofuse::io::detail
