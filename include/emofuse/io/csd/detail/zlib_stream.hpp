// emofuse/io/csd/detail/zlib_stream.hpp — the zlib streams HDF5's gzip filter stores: their
// header, and bounded inflation that either keeps or only counts the bytes. zlib does the work
// when the build links it (libhdf5 uses it anyway); otherwise emofuse's own inflater does.
#pragma once

#include "emofuse/core/error.hpp"
#include "emofuse/io/detail/inflate.hpp"

// emofuse::csd defines EMOFUSE_CSD_HAVE_ZLIB when zlib was found; a build may define
// EMOFUSE_CSD_INFLATE_WITHOUT_ZLIB to take emofuse's own inflater regardless (tests do).
#if defined(EMOFUSE_CSD_HAVE_ZLIB) && !defined(EMOFUSE_CSD_INFLATE_WITHOUT_ZLIB)
#define EMOFUSE_CSD_INFLATE_WITH_ZLIB 1
#include <zlib.h>
#endif

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <span>
#include <string>

namespace emofuse::io::csd::detail {

// A zlib stream (RFC 1950) starts with two bytes, CMF and FLG: the low nibble of CMF is the
// method (8: deflate), bit 5 of FLG asks for a preset dictionary (HDF5 never uses one), and
// CMF·256 + FLG is a multiple of 31. It ends with a 4-byte Adler-32 checksum.
inline constexpr unsigned zlib_method_mask = 0x0f;
inline constexpr unsigned zlib_method_deflate = 8;
inline constexpr unsigned zlib_preset_dictionary_flag = 0x20;
inline constexpr unsigned zlib_header_check_divisor = 31;
inline constexpr std::size_t zlib_header_bytes = 2;
/// Header, the shortest deflate data and the checksum: no zlib stream is shorter.
inline constexpr std::size_t zlib_shortest_stream = 6;
/// Bytes decoded per step when they are only counted.
inline constexpr std::size_t zlib_count_buffer_bytes = std::size_t{1} << 16;

/// Throws io_error("<bad> (not zlib data)") unless `in` starts with a zlib header.
inline void check_zlib_header(const unsigned char* in, std::size_t size, const std::string& bad) {
    if (size < zlib_shortest_stream || (in[0] & zlib_method_mask) != zlib_method_deflate ||
        (in[1] & zlib_preset_dictionary_flag) != 0 ||
        ((in[0] << 8) | in[1]) % zlib_header_check_divisor != 0) {
        throw io_error(bad + " (not zlib data)");
    }
}

/// Inflates the zlib stream `in` (`size` bytes) and returns how many bytes it gives. More than
/// `limit` bytes is an io_error, raised as soon as the stream passes `limit` (so a
/// decompression bomb costs no memory); so is a stream that is not zlib data or does not
/// decode. With `out` (room for `limit` bytes) the bytes are kept there; with nullptr they are
/// only counted. `bad` starts every error message.
inline std::size_t inflate_zlib(const unsigned char* in, std::size_t size, unsigned char* out,
                                std::size_t limit, const std::string& bad) {
    check_zlib_header(in, size, bad);
#if defined(EMOFUSE_CSD_INFLATE_WITH_ZLIB)
    z_stream z{};
    if (inflateInit(&z) != Z_OK) {
        throw io_error(bad + " (zlib could not start)");
    }
    constexpr std::size_t max_step = std::size_t{1} << 30; // zlib counts in uInt
    unsigned char scratch[zlib_count_buffer_bytes];
    std::size_t input_left = size;
    std::size_t produced = 0;
    z.next_in = const_cast<unsigned char*>(in);
    int status = Z_OK;
    while (true) {
        if (z.avail_in == 0 && input_left != 0) {
            const std::size_t step = std::min(input_left, max_step);
            z.avail_in = static_cast<uInt>(step);
            input_left -= step;
        }
        // Bytes go to `out` while it has room, then to scratch, where they are only counted
        // (when keeping, any byte there is one too many).
        const bool keep = out != nullptr && produced < limit;
        const std::size_t room = keep ? std::min(limit - produced, max_step) : sizeof scratch;
        z.next_out = keep ? out + produced : scratch;
        z.avail_out = static_cast<uInt>(room);
        const uInt input_before = z.avail_in;
        // Z_FINISH once all input is in: a stream that ends in this call then needs no window.
        status = inflate(&z, input_left == 0 ? Z_FINISH : Z_NO_FLUSH);
        produced += room - z.avail_out;
        const bool progress = z.avail_out != room || z.avail_in != input_before;
        if (status == Z_STREAM_END || produced > limit ||
            (status != Z_OK && status != Z_BUF_ERROR) || !progress) {
            break;
        }
    }
    inflateEnd(&z);
    if (produced > limit) {
        throw io_error(bad + " (inflates to more than " + std::to_string(limit) + " bytes)");
    }
    if (status != Z_STREAM_END) {
        throw io_error(bad + " (invalid gzip data)");
    }
    return produced;
#else
    const auto body = std::span(reinterpret_cast<const std::byte*>(in) + zlib_header_bytes,
                                size - zlib_header_bytes);
    try {
        const auto bytes = io::detail::inflate(body, limit, "chunk");
        if (out != nullptr) {
            std::memcpy(out, bytes.data(), bytes.size());
        }
        return bytes.size();
    } catch (const io_error& e) {
        throw io_error(bad + " (" + e.what() + ")");
    }
#endif
}

} // namespace emofuse::io::csd::detail
