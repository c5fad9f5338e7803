// emofuse/io/csd/detail/global_heap.hpp — bounds checks of the HDF5 global heap behind
// variable-length strings, read from the file's raw bytes. libhdf5 1.10 trusts the global heap
// when it converts variable-length strings: a corrupted object size makes H5Dread copy out of
// bounds (found by fuzzing), so each string's heap object is located and checked first.
#pragma once

#include "emofuse/core/error.hpp"
#include "emofuse/io/csd/hdf5.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace emofuse::io::csd::detail {

/// The raw bytes of an opened .csd file: a copy of an in-memory image, or the file on disk.
class file_bytes {
public:
    file_bytes() = default;
    explicit file_bytes(std::filesystem::path path) : path_(std::move(path)) {}
    explicit file_bytes(std::span<const unsigned char> image)
        : image_(image.begin(), image.end()), in_memory_(true) {}

    /// Reads `n` bytes at absolute address `address` into `out`; false when they are not all
    /// there.
    bool read(std::uint64_t address, std::size_t n, unsigned char* out) const {
        if (in_memory_) {
            if (address > image_.size() || n > image_.size() - address) {
                return false;
            }
            std::memcpy(out, image_.data() + address, n);
            return true;
        }
        std::ifstream in(path_, std::ios::binary);
        in.seekg(static_cast<std::streamoff>(address));
        in.read(reinterpret_cast<char*>(out), static_cast<std::streamsize>(n));
        return static_cast<std::size_t>(in.gcount()) == n;
    }

private:
    std::filesystem::path path_;
    std::vector<unsigned char> image_;
    bool in_memory_ = false;
};

/// The layout checked here (HDF5 file format, "Global Heap Collection" and "Variable-length
/// data" in a dataset): files with 8-byte addresses and sizes; other layouts are read as
/// they are.
inline constexpr std::size_t heap_address_bytes = 8;
/// A string in a dataset: its length, the address of its heap collection and its object's
/// index in that collection.
inline constexpr std::size_t vlen_length_bytes = 4;
inline constexpr std::size_t vlen_index_bytes = 4;
inline constexpr std::size_t vlen_reference_bytes =
    vlen_length_bytes + heap_address_bytes + vlen_index_bytes;
/// A collection: "GCOL", version and reserved bytes, then its 8-byte size at offset 8.
inline constexpr char heap_collection_signature[4] = {'G', 'C', 'O', 'L'};
inline constexpr std::size_t heap_collection_header_bytes = 16;
inline constexpr std::size_t heap_collection_size_offset = 8;
/// An object: its index (0: free space), reference count, reserved bytes, its size at offset
/// 8, then its data padded to a multiple of 8.
inline constexpr std::size_t heap_object_index_bytes = 2;
inline constexpr std::size_t heap_object_header_bytes = 16;
inline constexpr std::size_t heap_object_size_offset = 8;
inline constexpr std::uint64_t heap_object_alignment = 8;
inline constexpr std::uint64_t heap_free_space_index = 0;
/// Collections larger than this are treated as corrupt, not read into memory.
inline constexpr std::uint64_t max_heap_collection_bytes = std::uint64_t{1} << 28;
/// Datasets with more strings are not checked (the reader reads one metadata string).
inline constexpr hssize_t max_checked_strings = 4096;

/// The unsigned little-endian number in `bytes` bytes at `p`.
inline std::uint64_t little_endian(const unsigned char* p, std::size_t bytes) {
    std::uint64_t v = 0;
    for (std::size_t i = bytes; i-- > 0;) {
        v = (v << 8) | p[i];
    }
    return v;
}

/// Checks the heap objects of the first `count` variable-length strings of `dataset`
/// (contiguous layout) in `file` (`file_size` bytes, raw bytes in `bytes`): each lies in a
/// well-formed collection inside the file and holds at least the string's length.
inline void check_string_heap(hid_t file, const file_bytes& bytes, hsize_t file_size, hid_t dataset,
                              hssize_t count, const std::string& where) {
    const haddr_t offset = H5Dget_offset(dataset);
    handle fcpl = checked(H5Fget_create_plist(file), H5Pclose, where, "file properties");
    std::size_t sizeof_addr = 0, sizeof_size = 0;
    hsize_t userblock = 0;
    H5Pget_sizes(fcpl.get(), &sizeof_addr, &sizeof_size);
    H5Pget_userblock(fcpl.get(), &userblock);
    if (offset == HADDR_UNDEF || sizeof_addr != heap_address_bytes ||
        sizeof_size != heap_address_bytes || count > max_checked_strings) {
        H5Eclear2(H5E_DEFAULT);
        return;
    }
    const std::string bad = where + ": corrupt variable-length string (global heap)";
    std::vector<unsigned char> refs(static_cast<std::size_t>(count) * vlen_reference_bytes);
    if (!bytes.read(offset, refs.size(), refs.data())) {
        throw io_error(bad);
    }
    constexpr std::size_t object_header = heap_object_header_bytes;
    for (std::size_t e = 0; e < static_cast<std::size_t>(count); ++e) {
        const unsigned char* ref = refs.data() + vlen_reference_bytes * e;
        const std::uint64_t length = little_endian(ref, vlen_length_bytes);
        const std::uint64_t heap = little_endian(ref + vlen_length_bytes, heap_address_bytes);
        const std::uint64_t index =
            little_endian(ref + vlen_length_bytes + heap_address_bytes, vlen_index_bytes);
        if (length == 0) {
            continue;
        }
        unsigned char header[heap_collection_header_bytes];
        const std::uint64_t at = heap + userblock;
        if (heap > file_size || !bytes.read(at, sizeof header, header) ||
            std::memcmp(header, heap_collection_signature, sizeof heap_collection_signature) != 0) {
            throw io_error(bad);
        }
        const std::uint64_t size =
            little_endian(header + heap_collection_size_offset, heap_address_bytes);
        if (size < heap_collection_header_bytes + object_header || size > file_size ||
            at > file_size - size || size > max_heap_collection_bytes) {
            throw io_error(bad);
        }
        std::vector<unsigned char> collection(static_cast<std::size_t>(size));
        if (!bytes.read(at, collection.size(), collection.data())) {
            throw io_error(bad);
        }
        // Walk the whole collection as HDF5's loader does, rejecting what would make it
        // loop forever (a free-space object smaller than an object header) or read past
        // the end.
        const auto padded = [](std::uint64_t n) {
            return (n + heap_object_alignment - 1) / heap_object_alignment * heap_object_alignment;
        };
        bool found = false;
        for (std::uint64_t pos = heap_collection_header_bytes; pos + object_header <= size;) {
            const unsigned char* obj = collection.data() + pos;
            const std::uint64_t id = little_endian(obj, heap_object_index_bytes);
            const std::uint64_t object_bytes =
                little_endian(obj + heap_object_size_offset, heap_address_bytes);
            if (id == heap_free_space_index) {
                if (object_bytes < object_header || object_bytes > size - pos) {
                    throw io_error(bad);
                }
                pos += object_bytes;
                continue;
            }
            if (object_bytes > size - pos - object_header ||
                padded(object_bytes) > size - pos - object_header) {
                throw io_error(bad);
            }
            found = found || (id == index && object_bytes >= length);
            pos += object_header + padded(object_bytes);
        }
        if (!found) {
            throw io_error(bad);
        }
    }
}

} // namespace emofuse::io::csd::detail
