// emofuse/io/csd/detail/storage.hpp — checks of a dataset's stored data before HDF5 reads it:
// its declared size, where its bytes lie, and every stored chunk once its filters are undone.
// libhdf5 1.10 trusts the stored sizes: it copies compact data and chunks by the dataspace's
// size without comparing it with what is stored or what a chunk inflates to (out-of-bounds
// reads found by fuzzing). Declared extents far beyond what is stored would make the reader
// allocate them; external and virtual storage would make it read other files.
#pragma once

#include "emofuse/core/checked_size.hpp"
#include "emofuse/core/error.hpp"
#include "emofuse/io/csd/detail/hdf5_lock.hpp"
#include "emofuse/io/csd/detail/zlib_stream.hpp"
#include "emofuse/io/csd/hdf5.hpp"
#include "emofuse/io/csd/limits.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace emofuse::io::csd::detail {

/// Bytes per element of the widest numeric type: with max_dataset_elements, the largest
/// dataset in bytes.
inline constexpr hsize_t widest_element_bytes = 16;
inline constexpr hsize_t max_dataset_bytes = max_dataset_elements * widest_element_bytes;
/// A chunk shape describing more bytes than this is malformed, whatever its dataset.
inline constexpr hsize_t max_chunk_shape_bytes = hsize_t{1} << 40;
/// Bytes the fletcher32 filter appends to a chunk.
inline constexpr hsize_t fletcher32_bytes = 4;
/// gzip grows incompressible data by well under 1/256 plus a few bytes (zlib's
/// compressBound): a stored gzip chunk larger than chunk + chunk / 256 + 1024 is corrupt.
inline constexpr hsize_t gzip_growth_divisor = 256;
inline constexpr hsize_t gzip_growth_bytes = 1024;
/// Up to this many stored chunks are listed by index (listing chunk i costs O(i) in libhdf5
/// 1.10); more are found by walking the chunk grid, an index lookup each.
inline constexpr hsize_t few_chunks = 256;

/// Receives each decoded chunk: its offset, its shape and its bytes.
using chunk_sink =
    std::function<void(const hsize_t* offset, const hsize_t* shape, const unsigned char*)>;

/// What a dataset's creation properties and dataspace say about its storage, read once and
/// shared by the checks below and the reader's direct path. Nothing here is checked yet.
struct dataset_storage {
    handle properties;
    handle space;
    int rank = -1;
    bool null_space = false;
    std::vector<hsize_t> extent;
    H5D_layout_t layout = H5D_LAYOUT_ERROR;
    bool other_files = false; // virtual or external storage
    /// Chunked layout only: the chunk shape (empty when unreadable) and the filter pipeline
    /// in the order writing applies it (a negative id when unreadable).
    std::vector<hsize_t> chunk;
    std::vector<H5Z_filter_t> filters;
};

inline dataset_storage describe_storage(hid_t dataset, const std::string& where, const char* what) {
    dataset_storage s;
    s.properties = checked(H5Dget_create_plist(dataset), H5Pclose, where, what);
    s.space = checked(H5Dget_space(dataset), H5Sclose, where, what);
    s.rank = H5Sget_simple_extent_ndims(s.space.get());
    s.null_space = H5Sget_simple_extent_type(s.space.get()) == H5S_NULL;
    s.extent.resize(static_cast<std::size_t>(std::max(s.rank, 0)));
    H5Sget_simple_extent_dims(s.space.get(), s.extent.data(), nullptr);
    s.layout = H5Pget_layout(s.properties.get());
    s.other_files = s.layout == H5D_VIRTUAL || H5Pget_external_count(s.properties.get()) > 0;
    if (s.layout == H5D_CHUNKED && s.rank > 0 && s.rank <= H5S_MAX_RANK) {
        s.chunk.resize(static_cast<std::size_t>(s.rank));
        if (H5Pget_chunk(s.properties.get(), s.rank, s.chunk.data()) != s.rank) {
            H5Eclear2(H5E_DEFAULT);
            s.chunk.clear();
        }
        const int filters = H5Pget_nfilters(s.properties.get());
        for (int f = 0; f < filters; ++f) {
            unsigned flags = 0;
            std::size_t values = 0;
            s.filters.push_back(H5Pget_filter2(s.properties.get(), static_cast<unsigned>(f), &flags,
                                               &values, nullptr, 0, nullptr, nullptr));
        }
        H5Eclear2(H5E_DEFAULT);
    }
    return s;
}

/// "(2, 3)", "(4,)": an extent as numpy prints a shape.
inline std::string extent_text(const std::vector<hsize_t>& extent) {
    std::string text = "(";
    for (std::size_t d = 0; d < extent.size(); ++d) {
        text += (d == 0 ? "" : ", ") + std::to_string(extent[d]);
    }
    return text + (extent.size() == 1 ? ",)" : ")");
}

/// Bytes of `extent` elements of `element` bytes, or nullopt when that overflows.
inline std::optional<hsize_t> extent_bytes(const std::vector<hsize_t>& extent,
                                           std::size_t element) {
    const std::vector<std::size_t> sizes(extent.begin(), extent.end());
    const auto count = try_element_count(sizes);
    const auto bytes = count ? try_multiply(*count, element) : std::nullopt;
    return bytes ? std::optional<hsize_t>(*bytes) : std::nullopt;
}

/// One stored chunk of `stored` bytes at `offset`: undoes the filters it went through (in
/// reverse; `mask` has bit f set when filter f was skipped) on sizes only, inflating gzip data
/// without keeping it, and requires exactly `chunk_bytes` at the end. With `decoded`
/// (chunk_bytes long; only for pipelines of gzip alone, see the reader's direct path) the
/// chunk's data is kept there. `raw` is scratch space for the stored bytes.
inline void check_chunk(hid_t dataset, const hsize_t* offset,
                        const std::vector<H5Z_filter_t>& pipeline, unsigned mask, hsize_t stored,
                        hsize_t chunk_bytes, std::vector<unsigned char>& raw, const std::string& at,
                        unsigned char* decoded = nullptr) {
    const std::string bad = at + ": corrupt chunk";
    const auto active = [&](std::size_t f) { return (mask & (1u << f)) == 0; };
    bool applied = false;
    for (std::size_t f = 0; f < pipeline.size(); ++f) {
        applied = applied || active(f);
    }
    if (!applied) {
        if (stored != chunk_bytes) {
            throw io_error(bad + " (" + std::to_string(stored) + " bytes stored, expected " +
                           std::to_string(chunk_bytes) + ")");
        }
        if (decoded != nullptr) {
            std::uint32_t read_mask = 0;
            check(H5Dread_chunk(dataset, H5P_DEFAULT, offset, &read_mask, decoded), at,
                  "reading a chunk");
        }
        return;
    }
    // A stored chunk larger than gzip can make it is corrupt, and is not read into memory.
    if (stored > chunk_bytes + chunk_bytes / gzip_growth_divisor + gzip_growth_bytes) {
        throw io_error(bad + " (" + std::to_string(stored) + " bytes stored for a chunk of " +
                       std::to_string(chunk_bytes) + ")");
    }
    raw.resize(static_cast<std::size_t>(stored));
    std::uint32_t read_mask = 0;
    check(H5Dread_chunk(dataset, H5P_DEFAULT, offset, &read_mask, raw.data()), at,
          "reading a chunk");
    // Writing applies the filters in order: shuffle keeps the size, fletcher32 adds its
    // checksum, gzip compresses. Undo them in reverse; gzip must be undone on its own output,
    // so only one gzip and no shuffle of compressed bytes. No libhdf5 call from here on:
    // other threads may use it meanwhile.
    const hdf5_unlocked inflating;
    hsize_t bytes = stored;
    for (std::size_t f = pipeline.size(); f-- > 0;) {
        if (!active(f)) {
            continue;
        }
        if (pipeline[f] == H5Z_FILTER_FLETCHER32) {
            if (bytes < fletcher32_bytes) {
                throw io_error(bad + " (no room for its checksum)");
            }
            bytes -= fletcher32_bytes;
            continue;
        }
        bool deflate_below = false;
        hsize_t checksums_below = 0;
        for (std::size_t g = 0; g < f; ++g) {
            deflate_below = deflate_below || (active(g) && pipeline[g] == H5Z_FILTER_DEFLATE);
            checksums_below +=
                active(g) && pipeline[g] == H5Z_FILTER_FLETCHER32 ? fletcher32_bytes : 0;
        }
        if (deflate_below) {
            throw io_error(at + ": unsupported filter order (gzip applied twice, or shuffle " +
                           "after gzip)");
        }
        if (pipeline[f] == H5Z_FILTER_DEFLATE) {
            bytes = decoded != nullptr ? inflate_zlib(raw.data(), bytes, decoded, chunk_bytes, bad)
                                       : inflate_zlib(raw.data(), bytes, nullptr,
                                                      chunk_bytes + checksums_below, bad);
        }
    }
    if (bytes != chunk_bytes) {
        throw io_error(bad + " (" + std::to_string(bytes) + " bytes after its filters, " +
                       "expected " + std::to_string(chunk_bytes) + ")");
    }
}

/// Chunked data of `expected` bytes, `stored` of them in the file: a bounded chunk size, a
/// declared size the stored chunks can hold, and every stored chunk inside the file and
/// exactly one chunk long once its filters are undone (only gzip, shuffle and fletcher32 are
/// accepted: what h5py, the SDK and emofuse write, and what emofuse can check). With
/// `decoded`, each chunk's data is passed to it.
inline void check_chunks(hid_t dataset, const dataset_storage& s, std::size_t element,
                         hsize_t expected, hsize_t stored, hsize_t file_size,
                         const std::string& where, const char* what, const chunk_sink* decoded) {
    const std::string at = where + ": " + what;
    if (s.rank <= 0 || s.rank > H5S_MAX_RANK) {
        throw io_error(at + ": chunked data of rank " + std::to_string(s.rank));
    }
    if (s.chunk.empty()) {
        throw io_error(at + ": unreadable chunk shape");
    }
    const auto chunk_size = extent_bytes(s.chunk, element);
    if (std::find(s.chunk.begin(), s.chunk.end(), 0) != s.chunk.end() || !chunk_size ||
        *chunk_size > max_chunk_shape_bytes) {
        throw io_error(at + ": implausible chunk shape");
    }
    const hsize_t chunk_bytes = *chunk_size;
    if (chunk_bytes > std::max(max_chunk_bytes, expected)) {
        throw io_error(at + ": chunks of " + std::to_string(chunk_bytes) + " bytes for " +
                       std::to_string(expected) + " bytes of data");
    }
    for (const H5Z_filter_t id : s.filters) {
        if (id != H5Z_FILTER_DEFLATE && id != H5Z_FILTER_SHUFFLE && id != H5Z_FILTER_FLETCHER32) {
            throw io_error(at + ": HDF5 filter " + std::to_string(id) +
                           " is not supported (gzip, shuffle and fletcher32 are)");
        }
    }
    const hsize_t ratio = s.filters.empty() ? 1 : max_compression_ratio;
    if (expected > max_unstored_bytes && expected / ratio > stored) {
        throw io_error(at + ": declares " + std::to_string(expected) +
                       " bytes of data but the file stores " + std::to_string(stored) +
                       " (unwritten, truncated or hostile file)");
    }
    // Every stored chunk (unallocated ones read as fill values): by index when there are
    // few, else by walking the chunk grid.
    const std::size_t rank = s.chunk.size();
    std::vector<unsigned char> raw;
    std::vector<unsigned char> data(decoded != nullptr ? chunk_bytes : 0);
    std::vector<hsize_t> offset(rank, 0);
    const auto visit = [&](unsigned mask, haddr_t address, hsize_t size) {
        if (address == HADDR_UNDEF) {
            return;
        }
        if (address > file_size || size > file_size - address) {
            throw io_error(at + ": a chunk lies outside the file (truncated file?)");
        }
        check_chunk(dataset, offset.data(), s.filters, mask, size, chunk_bytes, raw, at,
                    decoded != nullptr ? data.data() : nullptr);
        if (decoded != nullptr) {
            (*decoded)(offset.data(), s.chunk.data(), data.data());
        }
    };
    hsize_t allocated = 0;
    check(H5Dget_num_chunks(dataset, s.space.get(), &allocated), at, "chunk index");
    if (allocated == 0 || std::find(s.extent.begin(), s.extent.end(), 0) != s.extent.end()) {
        return;
    }
    if (allocated <= few_chunks) {
        for (hsize_t i = 0; i < allocated; ++i) {
            unsigned mask = 0;
            haddr_t address = HADDR_UNDEF;
            hsize_t size = 0;
            check(
                H5Dget_chunk_info(dataset, s.space.get(), i, offset.data(), &mask, &address, &size),
                at, "chunk index");
            visit(mask, address, size);
        }
        return;
    }
    std::vector<hsize_t> index(rank, 0);
    while (true) {
        for (std::size_t d = 0; d < rank; ++d) {
            offset[d] = index[d] * s.chunk[d];
        }
        unsigned mask = 0;
        haddr_t address = HADDR_UNDEF;
        hsize_t size = 0;
        check(H5Dget_chunk_info_by_coord(dataset, offset.data(), &mask, &address, &size), at,
              "chunk index");
        visit(mask, address, size);
        std::size_t d = rank;
        while (d-- > 0) {
            if (++index[d] * s.chunk[d] < s.extent[d]) {
                break;
            }
            index[d] = 0;
        }
        if (d == static_cast<std::size_t>(-1)) {
            return;
        }
    }
}

/// Checks that the data of `dataset` (elements of `element` bytes, storage `s`) lies in this
/// file (`file_size` bytes) and is as large as its dataspace says, before HDF5 reads it. With
/// `decoded` (chunked data only), each chunk's decoded data is passed to it.
inline void check_storage(hid_t dataset, const dataset_storage& s, std::size_t element,
                          hsize_t file_size, const std::string& where, const char* what,
                          const chunk_sink* decoded = nullptr) {
    // H5Sget_simple_extent_npoints would wrap around for extents beyond 2^64 elements.
    const auto bytes = s.null_space ? std::optional<hsize_t>(0) : extent_bytes(s.extent, element);
    if (s.rank < 0 || element == 0 || !bytes || *bytes > max_dataset_bytes) {
        throw io_error(where + ": " + what + ": implausible size (" + extent_text(s.extent) +
                       " elements of " + std::to_string(element) + " bytes)");
    }
    const hsize_t expected = *bytes;
    if (s.other_files) {
        throw io_error(where + ": " + what +
                       ": data stored in other files (virtual or external dataset) is not "
                       "read");
    }
    const hsize_t stored = H5Dget_storage_size(dataset);
    if (s.layout == H5D_COMPACT && stored != expected) {
        throw io_error(where + ": " + what + ": compact data of " + std::to_string(stored) +
                       " bytes, expected " + std::to_string(expected));
    }
    if (s.layout == H5D_CONTIGUOUS && expected > 0) {
        const haddr_t offset = H5Dget_offset(dataset);
        if (offset == HADDR_UNDEF || offset > file_size || expected > file_size - offset) {
            H5Eclear2(H5E_DEFAULT);
            throw io_error(where + ": " + what + ": data lies outside the file (" +
                           std::to_string(expected) + " bytes)");
        }
    }
    if (s.layout == H5D_CHUNKED) {
        check_chunks(dataset, s, element, expected, stored, file_size, where, what, decoded);
    }
}

/// check_storage for a dataset whose storage was not described yet.
inline void check_storage(hid_t dataset, std::size_t element, hsize_t file_size,
                          const std::string& where, const char* what) {
    check_storage(dataset, describe_storage(dataset, where, what), element, file_size, where, what);
}

} // namespace emofuse::io::csd::detail
