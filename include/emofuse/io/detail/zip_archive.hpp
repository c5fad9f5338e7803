// emofuse/io/detail/zip_archive.hpp — ZIP building blocks shared by the .npz and .pth readers
// (record signatures, CRC-32), and zip_archive: a strict reader for archives whose every byte
// is untrusted (PyTorch checkpoints). Before any member is read it validates the whole
// directory: every size and offset inside the file, each local header agreeing with its
// central directory entry (name, method, sizes, CRC), no two members' bytes overlapping and no
// member reaching into the central directory, no duplicate names. Stored members are read as
// they are, deflate members through the bounded decoder of inflate.hpp; every member's CRC-32
// is verified.
#pragma once

#include <emofuse/core/error.hpp>
#include <emofuse/io/detail/binary_file.hpp>
#include <emofuse/io/detail/inflate.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace emofuse::io::detail {

inline constexpr std::uint32_t zip_local_signature = 0x04034b50;
inline constexpr std::uint32_t zip_central_signature = 0x02014b50;
inline constexpr std::uint32_t zip_end_signature = 0x06054b50;
inline constexpr std::uint32_t zip64_end_signature = 0x06064b50;
inline constexpr std::uint32_t zip64_locator_signature = 0x07064b50;
inline constexpr std::size_t zip_end_size = 22;
inline constexpr std::size_t zip64_locator_size = 20;
inline constexpr std::size_t zip64_end_size = 56;
inline constexpr std::size_t zip_central_size = 46;
inline constexpr std::size_t zip_local_size = 30;

/// CRC-32 (ISO 3309, the ZIP checksum), slicing by 8: eight table lookups per 8 input bytes
/// instead of one per byte (checkpoints of hundreds of MB are checked whole).
inline std::uint32_t crc32(std::span<const std::byte> bytes) noexcept {
    static const auto tables = [] {
        std::array<std::array<std::uint32_t, 256>, 8> result{};
        for (std::uint32_t index = 0; index < 256; ++index) {
            std::uint32_t value = index;
            for (int bit = 0; bit < 8; ++bit) {
                value = (value & 1u) != 0 ? 0xedb88320u ^ (value >> 1) : value >> 1;
            }
            result[0][index] = value;
        }
        for (std::size_t slice = 1; slice < 8; ++slice) {
            for (std::size_t index = 0; index < 256; ++index) {
                const std::uint32_t previous = result[slice - 1][index];
                result[slice][index] = result[0][previous & 0xffu] ^ (previous >> 8);
            }
        }
        return result;
    }();
    std::uint32_t crc = 0xffffffffu;
    std::size_t position = 0;
    for (; position + 8 <= bytes.size(); position += 8) {
        const std::byte* block = bytes.data() + position;
        const std::uint32_t low = crc ^ read_little_endian<std::uint32_t>(block);
        const std::uint32_t high = read_little_endian<std::uint32_t>(block + 4);
        crc = tables[7][low & 0xffu] ^ tables[6][(low >> 8) & 0xffu] ^
              tables[5][(low >> 16) & 0xffu] ^ tables[4][low >> 24] ^ tables[3][high & 0xffu] ^
              tables[2][(high >> 8) & 0xffu] ^ tables[1][(high >> 16) & 0xffu] ^
              tables[0][high >> 24];
    }
    for (; position < bytes.size(); ++position) {
        crc = tables[0][(crc ^ static_cast<std::uint32_t>(bytes[position])) & 0xffu] ^ (crc >> 8);
    }
    return crc ^ 0xffffffffu;
}

/// One member of a validated archive.
struct zip_entry {
    std::string name;
    std::uint16_t flags = 0;
    std::uint16_t method = 0;
    std::uint32_t crc = 0;
    std::uint64_t compressed_size = 0;
    std::uint64_t uncompressed_size = 0;
    std::uint64_t local_offset = 0;
    std::uint64_t data_offset = 0; // first byte after the local header
};

/// A validated ZIP archive read through `read_at(offset, length) -> std::vector<std::byte>`.
/// Every failure is an io_error starting with `what` (e.g. "io::pth: model.pth").
template <class ReadAt>
class zip_archive {
public:
    /// `validate` false parses only the central directory (enough to look at member names);
    /// members must not be read then.
    zip_archive(ReadAt read_at, std::size_t total_size, std::string what, bool validate = true)
        : read_at_(std::move(read_at)), total_size_(total_size), what_(std::move(what)) {
        read_directory();
        if (validate) {
            check_layout();
        }
    }

    /// Members in central directory order.
    const std::vector<zip_entry>& entries() const noexcept { return entries_; }

    /// The member called `name`, or nullptr.
    const zip_entry* find(std::string_view name) const {
        const auto found = by_name_.find(name);
        return found == by_name_.end() ? nullptr : &entries_[found->second];
    }

    /// The member's uncompressed bytes, CRC-checked.
    std::vector<std::byte> read(const zip_entry& entry) {
        auto data = read_at_(static_cast<std::size_t>(entry.data_offset),
                             static_cast<std::size_t>(entry.compressed_size));
        if (entry.method == 8) {
            data = inflate(data, static_cast<std::size_t>(entry.uncompressed_size),
                           emofuse::detail::concat_message(what_, ": member ",
                                                           printable(entry.name, '\'', 120), ""));
        }
        if (crc32(data) != entry.crc) {
            fail("member ", printable(entry.name, '\'', 120),
                 ": CRC-32 mismatch: the data is corrupt");
        }
        return data;
    }

private:
    template <class... Parts>
    [[noreturn]] void fail(const Parts&... parts) const {
        throw io_error(emofuse::detail::concat_message(what_, ": ", parts...));
    }

    /// Bounds-checked little-endian reads from a block.
    template <class Unsigned>
    Unsigned get(const std::vector<std::byte>& block, std::size_t offset) const {
        if (offset > block.size() || sizeof(Unsigned) > block.size() - offset) {
            fail("a ZIP record is cut short (corrupt archive)");
        }
        return read_little_endian<Unsigned>(block.data() + offset);
    }
    std::string_view text(const std::vector<std::byte>& block, std::size_t offset,
                          std::size_t length) const {
        if (offset > block.size() || length > block.size() - offset) {
            fail("a ZIP record is cut short (corrupt archive)");
        }
        return {reinterpret_cast<const char*>(block.data()) + offset, length};
    }
    std::vector<std::byte> read_checked(std::uint64_t offset, std::uint64_t length,
                                        std::string_view what) {
        if (offset > total_size_ || length > total_size_ - offset) {
            fail(what, " [", offset, " + ", length, " bytes] lies outside the file of ",
                 total_size_, " bytes (truncated or corrupt)");
        }
        return read_at_(static_cast<std::size_t>(offset), static_cast<std::size_t>(length));
    }

    /// Replaces the saturated (0xffffffff) fields among `fields`, in order, by the 64-bit
    /// values of the ZIP64 extra field found in `block[start, start + length)`.
    void apply_zip64(const std::vector<std::byte>& block, std::size_t start, std::size_t length,
                     std::initializer_list<std::uint64_t*> fields, std::string_view name) const {
        text(block, start, length); // bounds check of the whole extra block
        const std::size_t end = start + length;
        std::size_t position = start;
        while (position + 4 <= end) {
            const auto id = get<std::uint16_t>(block, position);
            const std::size_t field_length = get<std::uint16_t>(block, position + 2);
            if (field_length > end - position - 4) {
                fail("member ", printable(name, '\'', 120),
                     ": a ZIP extra field overruns its block");
            }
            if (id == 0x0001) {
                std::size_t field = position + 4;
                const std::size_t field_end = field + field_length;
                for (std::uint64_t* value : fields) {
                    if (*value != 0xffffffff) {
                        continue;
                    }
                    if (field + 8 > field_end) {
                        fail("member ", printable(name, '\'', 120),
                             ": ZIP64 extra field too short");
                    }
                    *value = get<std::uint64_t>(block, field);
                    field += 8;
                }
            }
            position += 4 + field_length;
        }
    }

    void read_directory() {
        if (total_size_ < zip_end_size) {
            fail("not a ZIP archive (", total_size_, " bytes is too short)");
        }
        // The end record sits at the end, followed only by a comment of at most 65535 bytes.
        const std::size_t tail_size = std::min<std::size_t>(total_size_, zip_end_size + 65535);
        const auto tail = read_at_(total_size_ - tail_size, tail_size);
        std::size_t end_position = tail_size - zip_end_size + 1;
        bool found = false;
        while (end_position-- > 0) {
            if (get<std::uint32_t>(tail, end_position) == zip_end_signature &&
                end_position + zip_end_size + get<std::uint16_t>(tail, end_position + 20) ==
                    tail_size) {
                found = true;
                break;
            }
        }
        if (!found) {
            fail("not a ZIP archive (no end of central directory record)");
        }
        std::uint64_t entry_count = get<std::uint16_t>(tail, end_position + 10);
        std::uint64_t directory_size = get<std::uint32_t>(tail, end_position + 12);
        std::uint64_t directory_offset = get<std::uint32_t>(tail, end_position + 16);
        if (get<std::uint16_t>(tail, end_position + 4) != 0 ||
            get<std::uint16_t>(tail, end_position + 6) != 0 ||
            get<std::uint16_t>(tail, end_position + 8) != entry_count) {
            fail("multi-disk ZIP archives are not supported");
        }
        const std::size_t end_offset = total_size_ - tail_size + end_position;
        std::uint64_t directory_limit = end_offset;
        if (entry_count == 0xffff || directory_size == 0xffffffff ||
            directory_offset == 0xffffffff) {
            if (end_offset < zip64_locator_size) {
                fail("ZIP64 end-of-directory locator missing");
            }
            const auto locator = read_at_(end_offset - zip64_locator_size, zip64_locator_size);
            if (get<std::uint32_t>(locator, 0) != zip64_locator_signature) {
                fail("ZIP64 end-of-directory locator missing");
            }
            const auto record_offset = get<std::uint64_t>(locator, 8);
            const auto record =
                read_checked(record_offset, zip64_end_size, "the ZIP64 end-of-directory record");
            if (get<std::uint32_t>(record, 0) != zip64_end_signature) {
                fail("ZIP64 end-of-directory record has a bad signature");
            }
            if (get<std::uint32_t>(record, 16) != 0 || get<std::uint32_t>(record, 20) != 0 ||
                get<std::uint64_t>(record, 24) != get<std::uint64_t>(record, 32)) {
                fail("multi-disk ZIP archives are not supported");
            }
            entry_count = get<std::uint64_t>(record, 32);
            directory_size = get<std::uint64_t>(record, 40);
            directory_offset = get<std::uint64_t>(record, 48);
            directory_limit = record_offset;
        }
        if (directory_offset > directory_limit ||
            directory_size > directory_limit - directory_offset) {
            fail("the central directory [", directory_offset, " + ", directory_size,
                 " bytes] does not end before the end-of-directory record at ", directory_limit);
        }
        if (entry_count > directory_size / zip_central_size) {
            fail(entry_count, " members cannot fit a central directory of ", directory_size,
                 " bytes");
        }
        directory_offset_ = directory_offset;
        const auto directory = read_at_(static_cast<std::size_t>(directory_offset),
                                        static_cast<std::size_t>(directory_size));
        std::size_t position = 0;
        for (std::uint64_t index = 0; index < entry_count; ++index) {
            if (get<std::uint32_t>(directory, position) != zip_central_signature) {
                fail("central directory entry ", index, " has a bad signature");
            }
            zip_entry entry;
            entry.flags = get<std::uint16_t>(directory, position + 8);
            entry.method = get<std::uint16_t>(directory, position + 10);
            entry.crc = get<std::uint32_t>(directory, position + 16);
            entry.compressed_size = get<std::uint32_t>(directory, position + 20);
            entry.uncompressed_size = get<std::uint32_t>(directory, position + 24);
            const std::size_t name_length = get<std::uint16_t>(directory, position + 28);
            const std::size_t extra_length = get<std::uint16_t>(directory, position + 30);
            const std::size_t comment_length = get<std::uint16_t>(directory, position + 32);
            const auto start_disk = get<std::uint16_t>(directory, position + 34);
            entry.local_offset = get<std::uint32_t>(directory, position + 42);
            entry.name = std::string(text(directory, position + zip_central_size, name_length));
            const std::size_t extra_start = position + zip_central_size + name_length;
            apply_zip64(directory, extra_start, extra_length,
                        {&entry.uncompressed_size, &entry.compressed_size, &entry.local_offset},
                        entry.name);
            if (start_disk != 0 && start_disk != 0xffff) {
                fail("multi-disk ZIP archives are not supported");
            }
            by_name_.emplace(entry.name, entries_.size()); // the first of duplicates
            entries_.push_back(std::move(entry));
            position = extra_start + extra_length + comment_length;
        }
    }

    void check_policy(const zip_entry& entry, std::size_t index) {
        if ((entry.flags & 0x1u) != 0) {
            fail("member ", printable(entry.name, '\'', 120), " is encrypted");
        }
        if (entry.method != 0 && entry.method != 8) {
            fail("member ", printable(entry.name, '\'', 120), " uses ZIP compression method ",
                 entry.method, "; only stored (0) and deflate (8) are supported");
        }
        if (entry.method == 0 && entry.compressed_size != entry.uncompressed_size) {
            fail("stored member ", printable(entry.name, '\'', 120), " has compressed size ",
                 entry.compressed_size, " but uncompressed size ", entry.uncompressed_size);
        }
        // Deflate expands at most 1032:1, so a larger declared size is a lie; checking it
        // here keeps a hostile header from forcing a huge allocation.
        if (entry.method == 8 && entry.uncompressed_size / 1032 > entry.compressed_size + 1) {
            fail("member ", printable(entry.name, '\'', 120), " declares ", entry.uncompressed_size,
                 " bytes from ", entry.compressed_size,
                 " compressed bytes, more than deflate can produce");
        }
        if (by_name_.find(entry.name)->second != index) {
            fail("member ", printable(entry.name, '\'', 120),
                 " appears twice in the central directory");
        }
    }

    /// Member policy (method, encryption, sizes, unique names); each local header must repeat
    /// its central entry, and members' bytes must not overlap.
    void check_layout() {
        std::vector<std::pair<std::uint64_t, std::uint64_t>> extents; // [begin, end) per member
        extents.reserve(entries_.size());
        for (std::size_t index = 0; index < entries_.size(); ++index) {
            auto& entry = entries_[index];
            check_policy(entry, index);
            const auto local = read_checked(entry.local_offset, zip_local_size,
                                            "member '" + entry.name + "': its local header");
            if (get<std::uint32_t>(local, 0) != zip_local_signature) {
                fail("member ", printable(entry.name, '\'', 120),
                     ": local header has a bad signature");
            }
            const auto flags = get<std::uint16_t>(local, 6);
            const auto method = get<std::uint16_t>(local, 8);
            const auto crc = get<std::uint32_t>(local, 14);
            std::uint64_t compressed = get<std::uint32_t>(local, 18);
            std::uint64_t uncompressed = get<std::uint32_t>(local, 22);
            const std::size_t name_length = get<std::uint16_t>(local, 26);
            const std::size_t extra_length = get<std::uint16_t>(local, 28);
            const auto names_and_extra =
                read_checked(entry.local_offset + zip_local_size, name_length + extra_length,
                             "member '" + entry.name + "': its local header");
            const std::string_view local_name = text(names_and_extra, 0, name_length);
            if (local_name != entry.name) {
                fail("member ", printable(entry.name, '\'', 120), ": the local header names it ",
                     printable(local_name, '\'', 120),
                     " (the central directory and local headers disagree)");
            }
            std::uint64_t unused_offset = 0;
            apply_zip64(names_and_extra, name_length, extra_length,
                        {&uncompressed, &compressed, &unused_offset}, entry.name);
            // With a data descriptor (flag bit 3) the local sizes and CRC may be zero.
            const bool deferred =
                (flags & 0x8u) != 0 && crc == 0 && compressed == 0 && uncompressed == 0;
            if (method != entry.method ||
                (!deferred && (crc != entry.crc || compressed != entry.compressed_size ||
                               uncompressed != entry.uncompressed_size))) {
                fail("member ", printable(entry.name, '\'', 120),
                     ": the local header and the central directory disagree on its method, "
                     "sizes or CRC");
            }
            entry.data_offset = entry.local_offset + zip_local_size + name_length + extra_length;
            if (entry.data_offset > directory_offset_ ||
                entry.compressed_size > directory_offset_ - entry.data_offset) {
                fail("member ", printable(entry.name, '\'', 120), ": its ", entry.compressed_size,
                     " bytes at offset ", entry.data_offset,
                     " do not end before the central directory at ", directory_offset_,
                     " (truncated or lying sizes)");
            }
            extents.emplace_back(entry.local_offset, entry.data_offset + entry.compressed_size);
        }
        std::vector<std::size_t> order(entries_.size());
        for (std::size_t index = 0; index < order.size(); ++index) {
            order[index] = index;
        }
        std::sort(order.begin(), order.end(), [&](std::size_t left, std::size_t right) {
            return extents[left].first < extents[right].first;
        });
        for (std::size_t index = 1; index < order.size(); ++index) {
            if (extents[order[index]].first < extents[order[index - 1]].second) {
                fail("members ", printable(entries_[order[index - 1]].name, '\'', 120), " and '",
                     entries_[order[index]].name, "' overlap in the file");
            }
        }
    }

    ReadAt read_at_;
    std::size_t total_size_ = 0;
    std::string what_;
    std::uint64_t directory_offset_ = 0;
    std::vector<zip_entry> entries_;
    std::map<std::string, std::size_t, std::less<>> by_name_;
};

} // namespace emofuse::io::detail
