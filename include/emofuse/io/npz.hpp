// emofuse/io/npz.hpp — reads NumPy .npz archives (numpy.savez, numpy.savez_compressed): a ZIP
// file whose members are .npy files. Each member `<name>.npy` becomes tensor `<name>`.
//
// Supported: stored members (numpy.savez) and deflate members (numpy.savez_compressed), ZIP64
// sizes and offsets (numpy always writes ZIP64 local headers), archive comments. Every
// member's CRC-32 is verified. Rejected with an io_error: other compression methods, encrypted
// members, multi-disk archives, duplicate names, a declared size that deflate could not
// produce from the compressed size, and any size or offset that points outside the file.
// Members whose name does not end in .npy are skipped.
#pragma once

#include <emofuse/core/error.hpp>
#include <emofuse/io/detail/binary_file.hpp>
#include <emofuse/io/detail/inflate.hpp>
#include <emofuse/io/detail/zip_archive.hpp>
#include <emofuse/io/npy.hpp>
#include <emofuse/io/state_dict.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace emofuse::io {

namespace detail {

/// A bounds-checked little-endian view of a block read from the archive.
class zip_block {
public:
    zip_block(std::vector<std::byte> bytes, std::string_view source)
        : bytes_(std::move(bytes)), source_(source) {}

    template <class Unsigned>
    Unsigned get(std::size_t offset) const {
        require(offset, sizeof(Unsigned));
        return read_little_endian<Unsigned>(bytes_.data() + offset);
    }
    std::string_view text(std::size_t offset, std::size_t length) const {
        require(offset, length);
        return {reinterpret_cast<const char*>(bytes_.data()) + offset, length};
    }
    std::size_t size() const noexcept { return bytes_.size(); }
    const std::vector<std::byte>& bytes() const noexcept { return bytes_; }

private:
    void require(std::size_t offset, std::size_t length) const {
        if (offset > bytes_.size() || length > bytes_.size() - offset) {
            throw io_error(emofuse::detail::concat_message(
                "io::npz: ", source_, ": a ZIP record is cut short (corrupt archive)"));
        }
    }

    std::vector<std::byte> bytes_;
    std::string_view source_;
};

struct zip_member {
    std::string name;
    std::uint16_t flags = 0;
    std::uint16_t method = 0;
    std::uint32_t crc = 0;
    std::uint64_t compressed_size = 0;
    std::uint64_t uncompressed_size = 0;
    std::uint64_t local_offset = 0;
};

/// Reads the archive through `read_at(offset, length) -> std::vector<std::byte>` (which
/// throws io_error outside the archive) and returns the central directory entries.
template <class ReadAt>
std::vector<zip_member> read_zip_directory(ReadAt& read_at, std::size_t total_size,
                                           std::string_view source) {
    const auto fail = [&](auto&&... parts) {
        throw io_error(emofuse::detail::concat_message("io::npz: ", source, ": ", parts...));
    };
    if (total_size < zip_end_size) {
        fail("not a ZIP archive (", total_size, " bytes is too short for an .npz)");
    }
    // The end record sits at the end, followed only by a comment of at most 65535 bytes.
    const std::size_t tail_size = std::min<std::size_t>(total_size, zip_end_size + 65535);
    const zip_block tail(read_at(total_size - tail_size, tail_size), source);
    std::size_t end_position = tail_size - zip_end_size + 1;
    bool found = false;
    while (end_position-- > 0) {
        if (tail.get<std::uint32_t>(end_position) == zip_end_signature &&
            end_position + zip_end_size + tail.get<std::uint16_t>(end_position + 20) == tail_size) {
            found = true;
            break;
        }
    }
    if (!found) {
        fail("not a ZIP archive (no end of central directory record)");
    }
    std::uint64_t entry_count = tail.get<std::uint16_t>(end_position + 10);
    std::uint64_t directory_size = tail.get<std::uint32_t>(end_position + 12);
    std::uint64_t directory_offset = tail.get<std::uint32_t>(end_position + 16);
    if (tail.get<std::uint16_t>(end_position + 4) != 0 ||
        tail.get<std::uint16_t>(end_position + 6) != 0 ||
        tail.get<std::uint16_t>(end_position + 8) != entry_count) {
        fail("multi-disk ZIP archives are not supported");
    }
    const std::size_t end_offset = total_size - tail_size + end_position;
    if (entry_count == 0xffff || directory_size == 0xffffffff || directory_offset == 0xffffffff) {
        if (end_offset < zip64_locator_size) {
            fail("ZIP64 end-of-directory locator missing");
        }
        const zip_block locator(read_at(end_offset - zip64_locator_size, zip64_locator_size),
                                source);
        if (locator.get<std::uint32_t>(0) != zip64_locator_signature) {
            fail("ZIP64 end-of-directory locator missing");
        }
        const auto record_offset = locator.get<std::uint64_t>(8);
        if (record_offset > total_size || zip64_end_size > total_size - record_offset) {
            fail("ZIP64 end-of-directory record lies outside the file");
        }
        const zip_block record(read_at(static_cast<std::size_t>(record_offset), zip64_end_size),
                               source);
        if (record.get<std::uint32_t>(0) != zip64_end_signature) {
            fail("ZIP64 end-of-directory record has a bad signature");
        }
        if (record.get<std::uint32_t>(16) != 0 || record.get<std::uint32_t>(20) != 0 ||
            record.get<std::uint64_t>(24) != record.get<std::uint64_t>(32)) {
            fail("multi-disk ZIP archives are not supported");
        }
        entry_count = record.get<std::uint64_t>(32);
        directory_size = record.get<std::uint64_t>(40);
        directory_offset = record.get<std::uint64_t>(48);
    }
    if (directory_offset > total_size || directory_size > total_size - directory_offset) {
        fail("the central directory [", directory_offset, " + ", directory_size,
             " bytes] lies outside the file of ", total_size, " bytes");
    }
    if (entry_count > directory_size / zip_central_size) {
        fail(entry_count, " members cannot fit a central directory of ", directory_size, " bytes");
    }
    const zip_block directory(read_at(static_cast<std::size_t>(directory_offset),
                                      static_cast<std::size_t>(directory_size)),
                              source);

    std::vector<zip_member> members;
    std::size_t position = 0;
    for (std::uint64_t entry = 0; entry < entry_count; ++entry) {
        if (directory.get<std::uint32_t>(position) != zip_central_signature) {
            fail("central directory entry ", entry, " has a bad signature");
        }
        zip_member member;
        member.flags = directory.get<std::uint16_t>(position + 8);
        member.method = directory.get<std::uint16_t>(position + 10);
        member.crc = directory.get<std::uint32_t>(position + 16);
        member.compressed_size = directory.get<std::uint32_t>(position + 20);
        member.uncompressed_size = directory.get<std::uint32_t>(position + 24);
        const std::size_t name_length = directory.get<std::uint16_t>(position + 28);
        const std::size_t extra_length = directory.get<std::uint16_t>(position + 30);
        const std::size_t comment_length = directory.get<std::uint16_t>(position + 32);
        const std::uint16_t start_disk = directory.get<std::uint16_t>(position + 34);
        member.local_offset = directory.get<std::uint32_t>(position + 42);
        member.name = std::string(directory.text(position + zip_central_size, name_length));

        // ZIP64 extra field: 64-bit values for exactly the fields saturated above, in order.
        const std::size_t extra_start = position + zip_central_size + name_length;
        std::size_t extra = extra_start;
        const std::size_t extra_end = extra_start + extra_length;
        directory.text(extra_start, extra_length); // bounds check of the whole extra block
        while (extra + 4 <= extra_end) {
            const auto id = directory.get<std::uint16_t>(extra);
            const std::size_t length = directory.get<std::uint16_t>(extra + 2);
            if (length > extra_end - extra - 4) {
                fail("member '", member.name, "': a ZIP extra field overruns its block");
            }
            if (id == 0x0001) {
                std::size_t field = extra + 4;
                const std::size_t field_end = field + length;
                const auto take = [&](std::uint64_t& value) {
                    if (value != 0xffffffff) {
                        return;
                    }
                    if (field + 8 > field_end) {
                        fail("member '", member.name, "': ZIP64 extra field too short");
                    }
                    value = directory.get<std::uint64_t>(field);
                    field += 8;
                };
                take(member.uncompressed_size);
                take(member.compressed_size);
                take(member.local_offset);
            }
            extra += 4 + length;
        }
        if (start_disk != 0 && start_disk != 0xffff) {
            fail("multi-disk ZIP archives are not supported");
        }
        members.push_back(std::move(member));
        position = extra_end + comment_length;
    }
    return members;
}

/// Reads member data after validating its local header; returns the .npy bytes.
template <class ReadAt>
std::vector<std::byte> read_zip_member(ReadAt& read_at, const zip_member& member,
                                       std::size_t total_size, std::string_view source) {
    const auto fail = [&](auto&&... parts) {
        throw io_error(emofuse::detail::concat_message("io::npz: ", source, ": member '",
                                                       member.name, "': ", parts...));
    };
    if ((member.flags & 0x1u) != 0) {
        fail("is encrypted");
    }
    if (member.method != 0 && member.method != 8) {
        fail("uses ZIP compression method ", member.method,
             "; only stored (0) and deflate (8) are supported");
    }
    if (member.method == 0 && member.compressed_size != member.uncompressed_size) {
        fail("stored member has compressed size ", member.compressed_size,
             " but uncompressed size ", member.uncompressed_size);
    }
    // Deflate expands at most 1032:1 (a 258-byte match in two bits), so a larger declared size
    // is corrupt; checking it first keeps a hostile header from forcing a huge allocation.
    if (member.method == 8 && member.uncompressed_size / 1032 > member.compressed_size + 1) {
        fail("declares ", member.uncompressed_size, " bytes from ", member.compressed_size,
             " compressed bytes, more than deflate can produce");
    }
    if (member.local_offset > total_size || zip_local_size > total_size - member.local_offset) {
        fail("local header offset ", member.local_offset, " lies outside the file");
    }
    const zip_block local(read_at(static_cast<std::size_t>(member.local_offset), zip_local_size),
                          source);
    if (local.get<std::uint32_t>(0) != zip_local_signature) {
        fail("local header has a bad signature");
    }
    const std::uint64_t data_offset = member.local_offset + zip_local_size +
                                      local.get<std::uint16_t>(26) + local.get<std::uint16_t>(28);
    if (data_offset > total_size || member.compressed_size > total_size - data_offset) {
        fail(member.compressed_size, " bytes at offset ", data_offset, " lie outside the file of ",
             total_size, " bytes (truncated?)");
    }
    auto data = read_at(static_cast<std::size_t>(data_offset),
                        static_cast<std::size_t>(member.compressed_size));
    if (member.method == 8) {
        data = inflate(
            data, static_cast<std::size_t>(member.uncompressed_size),
            emofuse::detail::concat_message("io::npz: ", source, ": member '", member.name, "'"));
    }
    if (crc32(data) != member.crc) {
        fail("CRC-32 mismatch: the data is corrupt");
    }
    return data;
}

template <class ReadAt>
state_dict read_npz(ReadAt& read_at, std::size_t total_size, std::string source) {
    const auto members = read_zip_directory(read_at, total_size, source);
    state_dict tensors(source);
    for (const auto& member : members) {
        const std::string_view name = member.name;
        if (!name.ends_with(".npy")) {
            continue;
        }
        const std::string tensor_name(name.substr(0, name.size() - 4));
        if (tensors.contains(tensor_name)) {
            throw io_error(emofuse::detail::concat_message("io::npz: ", source, ": member '",
                                                           member.name, "' appears twice"));
        }
        const auto data = read_zip_member(read_at, member, total_size, source);
        tensors.insert(tensor_name, parse_npy(data, source + ":" + member.name));
    }
    return tensors;
}

} // namespace detail

/// Parses an .npz archive held in memory. `source` names it in error messages.
inline state_dict parse_npz(std::span<const std::byte> bytes, std::string source = "<memory>") {
    auto read_at = [&](std::size_t offset, std::size_t length) {
        if (offset > bytes.size() || length > bytes.size() - offset) {
            throw io_error(emofuse::detail::concat_message("io::npz: ", source, ": ", length,
                                                           " bytes at offset ", offset,
                                                           " lie outside the archive"));
        }
        const auto part = bytes.subspan(offset, length);
        return std::vector<std::byte>(part.begin(), part.end());
    };
    return detail::read_npz(read_at, bytes.size(), source);
}

/// Reads an .npz archive (numpy.savez or savez_compressed) as a state_dict: member `<name>.npy` →
/// tensor `<name>`. Only the directory and one member at a time are held in memory besides the
/// result.
inline state_dict load_npz(const std::filesystem::path& file) {
    detail::input_file input(file, "io::load_npz");
    auto read_at = [&](std::size_t offset, std::size_t length) {
        return input.read_at(offset, length);
    };
    return detail::read_npz(read_at, input.size(), input.path());
}

} // namespace emofuse::io
