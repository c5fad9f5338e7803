// examples/common/npz_output.hpp — writes named arrays as one .npz archive (what
// numpy.savez writes: a ZIP of stored `<name>.npy` members) atomically: a temporary file
// renamed over the target when complete, removed on an error or a signal.
#pragma once

#include <emofuse/core/error.hpp>
#include <emofuse/io/detail/binary_file.hpp>
#include <emofuse/io/detail/zip_archive.hpp>
#include <emofuse/io/npy.hpp>
#include <emofuse/io/stored_tensor.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace emofuse::cli {

/// One array of an .npz archive: its name (without ".npy") and its values.
struct npz_member {
    std::string name;
    io::stored_tensor values;
};

namespace detail {

inline void append_u16(std::vector<std::byte>& out, std::size_t value) {
    io::detail::append_little_endian<std::uint16_t>(out, static_cast<std::uint16_t>(value));
}
inline void append_u32(std::vector<std::byte>& out, std::size_t value) {
    io::detail::append_little_endian<std::uint32_t>(out, static_cast<std::uint32_t>(value));
}

/// The ZIP record fields every member's local and central header share: version needed
/// (2.0), no flags, stored, 1980-01-01 00:00, CRC, sizes, name length, no extra field.
inline void append_member_fields(std::vector<std::byte>& out, std::uint32_t crc, std::size_t size,
                                 std::size_t name_size) {
    append_u16(out, 20);   // version needed to extract
    append_u16(out, 0);    // flags
    append_u16(out, 0);    // method: stored
    append_u16(out, 0);    // time
    append_u16(out, 0x21); // date: 1980-01-01
    append_u32(out, crc);
    append_u32(out, size); // compressed
    append_u32(out, size); // uncompressed
    append_u16(out, name_size);
    append_u16(out, 0); // extra field length
}

inline void append_text(std::vector<std::byte>& out, const std::string& text) {
    for (const char c : text) {
        out.push_back(static_cast<std::byte>(c));
    }
}

} // namespace detail

/// Writes `members` to `path` as an uncompressed .npz (numpy.load reads it, as does
/// io::load_npz). Archives beyond the plain ZIP limits (4 GiB, 65535 members) are refused
/// before anything is written; an existing file is replaced only when the new one is complete.
inline void save_npz(const std::filesystem::path& path, const std::vector<npz_member>& members,
                     std::string_view stage) {
    constexpr std::size_t zip_limit = std::numeric_limits<std::uint32_t>::max();
    std::vector<std::vector<std::byte>> images;
    std::size_t total = 0;
    for (const auto& member : members) {
        images.push_back(io::serialize_npy(member.values));
        total += images.back().size() + 128 + 2 * member.name.size();
    }
    if (total >= zip_limit || members.size() > 0xffff) {
        throw io_error(std::string(stage) + ": '" + path.string() +
                       "' would exceed the plain ZIP format's 4 GiB (ZIP64 is not written)");
    }
    io::detail::output_file output(path, stage);
    std::vector<std::byte> directory;
    std::size_t offset = 0;
    for (std::size_t index = 0; index < members.size(); ++index) {
        const std::string name = members[index].name + ".npy";
        const auto& image = images[index];
        const std::uint32_t crc = io::detail::crc32(image);
        std::vector<std::byte> local;
        detail::append_u32(local, io::detail::zip_local_signature);
        detail::append_member_fields(local, crc, image.size(), name.size());
        detail::append_text(local, name);
        output.write(local);
        output.write(image);

        detail::append_u32(directory, io::detail::zip_central_signature);
        detail::append_u16(directory, 20); // version made by
        detail::append_member_fields(directory, crc, image.size(), name.size());
        detail::append_u16(directory, 0); // comment length
        detail::append_u16(directory, 0); // disk number
        detail::append_u16(directory, 0); // internal attributes
        detail::append_u32(directory, 0); // external attributes
        detail::append_u32(directory, offset);
        detail::append_text(directory, name);
        offset += local.size() + image.size();
    }
    std::vector<std::byte> end;
    detail::append_u32(end, io::detail::zip_end_signature);
    detail::append_u16(end, 0); // this disk
    detail::append_u16(end, 0); // disk of the directory
    detail::append_u16(end, members.size());
    detail::append_u16(end, members.size());
    detail::append_u32(end, directory.size());
    detail::append_u32(end, offset);
    detail::append_u16(end, 0); // comment length
    output.write(directory);
    output.write(end);
    output.finish();
}

} // namespace emofuse::cli
