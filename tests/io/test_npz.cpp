// .npz: archives written by numpy.savez (and a hand-built ZIP64 one numpy reads), and every
// way a ZIP container can be broken.
#include <emofuse/io/npz.hpp>

#include "io_fixtures.hpp"

#include <cstdint>
#include <string>
#include <vector>

using namespace emofuse::io;
using io_test::message_of;

namespace {

void check_archive(const state_dict& tensors, const nlohmann::json& expected) {
    CHECK(tensors.size() == expected.size());
    for (const auto& item : expected.items()) {
        const std::string& name = item.key();
        INFO("member " << name);
        REQUIRE(tensors.contains(name));
        io_test::check_tensor(tensors.at(name), item.value());
    }
}

void put_u32(std::vector<std::byte>& bytes, std::size_t offset, std::uint32_t value) {
    for (std::size_t i = 0; i < 4; ++i) {
        bytes[offset + i] = static_cast<std::byte>((value >> (8 * i)) & 0xffu);
    }
}

std::uint32_t get_u32(const std::vector<std::byte>& bytes, std::size_t offset) {
    std::uint32_t value = 0;
    for (std::size_t i = 0; i < 4; ++i) {
        value |= std::to_integer<std::uint32_t>(bytes[offset + i]) << (8 * i);
    }
    return value;
}

/// Offset of the last (or first) occurrence of a 4-byte record signature.
std::size_t find_signature(const std::vector<std::byte>& bytes, std::uint32_t signature,
                           bool last = true) {
    for (std::size_t step = 0; step + 4 <= bytes.size(); ++step) {
        const std::size_t i = last ? bytes.size() - 4 - step : step;
        if (detail::read_little_endian<std::uint32_t>(bytes.data() + i) == signature) {
            return i;
        }
    }
    FAIL("signature not found");
    return 0;
}

} // namespace

TEST_CASE("load_npz reads numpy.savez archives member by member") {
    const auto path = io_test::data_path("savez.npz");
    const auto tensors = load_npz(path);
    CHECK(tensors.source() == path.string());
    CHECK(tensors.names() ==
          std::vector<std::string>{"counts", "flag", "fortran", "halves", "layer.0.weight"});
    check_archive(tensors, io_test::expected()["npz"]["savez"]);
    CHECK(tensors.tensor<float, 2>("layer.0.weight", {2, 3}).size() == 6);
    CHECK(tensors.tensor<int, 2>("fortran")(0, 1) == -2); // Fortran order transposed
    CHECK(tensors.tensor<bool, 0>("flag")());

    const auto from_memory = parse_npz(io_test::read_bytes(path));
    CHECK(from_memory.names() == tensors.names());
    for (const auto& name : tensors.names()) {
        CHECK(from_memory.at(name) == tensors.at(name));
    }
    CHECK(load_npz(io_test::data_path("savez_empty.npz")).empty());
}

TEST_CASE("load_npz reads ZIP64 directories, skips non-.npy members, allows a comment") {
    check_archive(load_npz(io_test::data_path("zip64.npz")), io_test::expected()["npz"]["zip64"]);
    const auto mixed = load_npz(io_test::data_path("mixed_members.npz"));
    CHECK(mixed.names() == std::vector<std::string>{"bytes"});
    CHECK(mixed.tensor<int, 1>("bytes")(3) == 255);
}

TEST_CASE("load_npz reads numpy.savez_compressed archives (deflate)") {
    const auto path = io_test::data_path("savez_compressed.npz");
    const auto tensors = load_npz(path);
    check_archive(tensors, io_test::expected()["npz"]["savez_compressed"]);
    const auto from_memory = parse_npz(io_test::read_bytes(path));
    for (const auto& name : tensors.names()) {
        CHECK(from_memory.at(name) == tensors.at(name));
    }
}

TEST_CASE("inflate decodes zlib's stored, fixed, dynamic, Huffman-only and RLE streams") {
    const auto input = io_test::read_bytes(io_test::data_path("deflate_input.bin"));
    for (const std::string kind : {"stored", "fixed", "huffman_only", "rle", "best"}) {
        INFO("deflate_" << kind << ".bin");
        const auto stream = io_test::read_bytes(io_test::data_path("deflate_" + kind + ".bin"));
        CHECK(detail::inflate(stream, input.size(), "test") == input);
        // Declared sizes that disagree with the stream, and every truncation, are io_errors.
        CHECK(message_of<emofuse::io_error>([&] {
                  (void)detail::inflate(stream, 100, "m");
              }).find("exceeds the declared 100 bytes") != std::string::npos);
        CHECK(message_of<emofuse::io_error>([&] {
                  (void)detail::inflate(stream, input.size() + 1, "m");
              }).find("the archive declares") != std::string::npos);
        for (std::size_t length = 0; length < stream.size(); length += 97) {
            CHECK_THROWS_AS(detail::inflate(std::span(stream).first(length), input.size(), "m"),
                            emofuse::io_error);
        }
    }
}

TEST_CASE("inflate rejects invalid streams with a reason") {
    const auto error = [](std::initializer_list<unsigned> bytes, std::size_t size = 16) {
        std::vector<std::byte> stream;
        for (unsigned byte : bytes) {
            stream.push_back(static_cast<std::byte>(byte));
        }
        return message_of<emofuse::io_error>(
            [&] { (void)detail::inflate(stream, size, "io::npz: a.npz: member 'x.npy'"); });
    };
    CHECK(error({0x07}).find("reserved block type 3") != std::string::npos);
    CHECK(error({0x07}).find("member 'x.npy'") != std::string::npos);
    CHECK(error({0x01, 0x02, 0x00, 0x00, 0x00}).find("does not match its complement") !=
          std::string::npos);
    CHECK(error({0x01, 0x05, 0x00, 0xfa, 0xff, 0x41}).find("cut short") != std::string::npos);
    CHECK(error({}).find("ends early") != std::string::npos);
    // Fixed block: a length/distance pair as the first code refers before the output start.
    // Bits (LSB first): 1 (final), 10 (fixed), 0000001 (symbol 257), 00000 (distance 1).
    CHECK(error({0x03, 0x02, 0x00}).find("before the start") != std::string::npos);
    // Dynamic block whose code-length code is over-subscribed: HLIT=0 HDIST=0 HCLEN=0 (4
    // lengths), all four code-length code lengths 1.
    CHECK(error({0x05, 0x00, 0x92, 0x04}).find("over-subscribed") != std::string::npos);
    // The same with lengths 1, 2, 0, 0: one two-bit code is unused, so the code is incomplete.
    // Bits 17-28: 100 010 000 000.
    CHECK(error({0x05, 0x00, 0x22, 0x00}).find("incomplete") != std::string::npos);
}

TEST_CASE("npz: corrupt and truncated archives are io_errors naming the member") {
    const auto original = io_test::read_bytes(io_test::data_path("savez.npz"));
    auto corrupt = original;
    corrupt[200] ^= std::byte{0x40}; // inside the first member's data
    CHECK(message_of<emofuse::io_error>([&] {
              (void)parse_npz(corrupt, "c.npz");
          }).find("CRC-32 mismatch") != std::string::npos);

    for (std::size_t length = 0; length < original.size(); ++length) {
        INFO("truncated to " << length);
        CHECK_THROWS_AS(parse_npz(std::span(original).first(length)), emofuse::io_error);
    }
    io_test::scratch_file file(".npz");
    file.write(std::vector<std::byte>(original.begin(), original.begin() + 700));
    CHECK(message_of<emofuse::io_error>([&] {
              (void)load_npz(file.path());
          }).find(file.path().string()) != std::string::npos);
    CHECK_THROWS_AS(load_npz("/nonexistent/emofuse/a.npz"), emofuse::io_error);
    CHECK(message_of<emofuse::io_error>([] {
              (void)parse_npz(io_test::to_bytes("not a zip"));
          }).find("not a ZIP archive") != std::string::npos);
}

TEST_CASE("npz: directory fields that point outside the file") {
    const auto original = io_test::read_bytes(io_test::data_path("savez.npz"));
    const std::size_t end = find_signature(original, detail::zip_end_signature);
    const std::size_t central = find_signature(original, detail::zip_central_signature);

    auto directory_outside = original;
    put_u32(directory_outside, end + 16, 0x7fffffff);
    CHECK(message_of<emofuse::io_error>([&] {
              (void)parse_npz(directory_outside);
          }).find("central directory") != std::string::npos);

    auto too_many = original;
    too_many[end + 8] = std::byte{0xfe};
    too_many[end + 10] = std::byte{0xfe};
    CHECK(message_of<emofuse::io_error>([&] { (void)parse_npz(too_many); }).find("cannot fit") !=
          std::string::npos);

    auto multi_disk = original;
    multi_disk[end + 4] = std::byte{1};
    CHECK(message_of<emofuse::io_error>([&] { (void)parse_npz(multi_disk); }).find("multi-disk") !=
          std::string::npos);

    // The last central entry is "flag.npy": move its local header or grow its size.
    auto local_outside = original;
    put_u32(local_outside, central + 42, 0x7fffffff);
    CHECK(message_of<emofuse::io_error>([&] {
              (void)parse_npz(local_outside);
          }).find("its local header [2147483647 + 30 bytes] lies outside the file") !=
          std::string::npos);
    // Sizes grown in the central directory only: the local header no longer agrees.
    auto size_outside = original;
    put_u32(size_outside, central + 20, 0x7ffffff0);
    put_u32(size_outside, central + 24, 0x7ffffff0);
    CHECK(message_of<emofuse::io_error>([&] {
              (void)parse_npz(size_outside);
          }).find("the local header and the central directory disagree") != std::string::npos);
    // Grown in both: the member would run past the central directory.
    const std::size_t local = get_u32(original, central + 42);
    put_u32(size_outside, local + 18, 0x7ffffff0);
    put_u32(size_outside, local + 22, 0x7ffffff0);
    CHECK(message_of<emofuse::io_error>([&] {
              (void)parse_npz(size_outside);
          }).find("do not end before the central directory") != std::string::npos);
    auto absurd = original; // deflate cannot turn 10 bytes into 2 GB
    absurd[central + 10] = std::byte{8};
    put_u32(absurd, central + 20, 10);
    put_u32(absurd, central + 24, 0x7fffffff);
    CHECK(message_of<emofuse::io_error>([&] {
              (void)parse_npz(absurd);
          }).find("more than deflate can produce") != std::string::npos);
    auto size_mismatch = original;
    put_u32(size_mismatch, central + 20, 3);
    CHECK(message_of<emofuse::io_error>([&] {
              (void)parse_npz(size_mismatch);
          }).find("\'flag.npy\' has compressed size 3 but uncompressed size") != std::string::npos);
    auto method = original;
    method[central + 10] = std::byte{12}; // bzip2
    CHECK(message_of<emofuse::io_error>([&] {
              (void)parse_npz(method);
          }).find("compression method 12") != std::string::npos);
    auto encrypted = original;
    encrypted[central + 8] |= std::byte{1};
    CHECK(message_of<emofuse::io_error>([&] { (void)parse_npz(encrypted); }).find("encrypted") !=
          std::string::npos);
    auto bad_local = original;
    bad_local[detail::read_little_endian<std::uint32_t>(original.data() + central + 42)] =
        std::byte{0};
    CHECK(message_of<emofuse::io_error>([&] {
              (void)parse_npz(bad_local);
          }).find("local header has a bad signature") != std::string::npos);
}

TEST_CASE("npz: duplicate member names") {
    const auto message =
        message_of<emofuse::io_error>([] { (void)load_npz(io_test::data_path("duplicate.npz")); });
    CHECK(message.find("member 'x.npy' appears twice") != std::string::npos);
}

TEST_CASE("npz: a member that is not a valid .npy names the archive and the member") {
    // Rewrite the first member's magic (CRC recomputed so only the .npy parser objects).
    auto bytes = io_test::read_bytes(io_test::data_path("mixed_members.npz"));
    const auto header_end = 30 + std::string_view("bytes.npy").size();
    const std::size_t data_size = detail::read_little_endian<std::uint32_t>(bytes.data() + 18);
    bytes[header_end + 1] = std::byte{'X'};
    const auto crc = detail::crc32(std::span(bytes).subspan(header_end, data_size));
    put_u32(bytes, 14, crc);
    put_u32(bytes, find_signature(bytes, detail::zip_central_signature, false) + 16, crc);
    const auto message = message_of<emofuse::io_error>([&] { (void)parse_npz(bytes, "m.npz"); });
    CHECK(message.find("m.npz:bytes.npy") != std::string::npos);
    CHECK(message.find("magic") != std::string::npos);
}

TEST_CASE("crc32 matches the standard check value") {
    CHECK(detail::crc32(io_test::to_bytes("123456789")) == 0xcbf43926u);
    CHECK(detail::crc32({}) == 0u);
}
