// emofuse/io/csd/reader.hpp — reads CMU computational sequence files (.csd, HDF5) lazily,
// one entry at a time: `/<root>/data/<key>/{intervals,features}` and `/<root>/metadata/*`.
// Malformed or hostile files give emofuse::io_error naming the file, the entry and the
// problem; gzip-compressed and uncompressed datasets are both read.
#pragma once

#include "emofuse/align/computational_sequence.hpp"
#include "emofuse/align/sequence_source.hpp"
#include "emofuse/core/error.hpp"
#include "emofuse/io/csd/hdf5.hpp"
#include "emofuse/io/detail/inflate.hpp"

// emofuse::csd defines EMOFUSE_CSD_HAVE_ZLIB when zlib was found; a build may define
// EMOFUSE_CSD_INFLATE_WITHOUT_ZLIB to take emofuse's own inflater regardless (tests do).
#if defined(EMOFUSE_CSD_HAVE_ZLIB) && !defined(EMOFUSE_CSD_INFLATE_WITHOUT_ZLIB)
#define EMOFUSE_CSD_INFLATE_WITH_ZLIB 1
#include <zlib.h>
#endif

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

namespace emofuse::io::csd {

/// The metadata keys the SDK insists on, including the literal key produced by a missing
/// comma in the SDK's own list ("dimension namescomputational sequence version").
inline const std::vector<std::string>& required_metadata_keys() {
    static const std::vector<std::string> keys{
        "root name",
        "computational sequence description",
        "computational sequence version",
        "alignment compatible",
        "dataset name",
        "dataset version",
        "creator",
        "contact",
        "featureset bib citation",
        "dataset bib citation",
        "dimension names",
        "dimension namescomputational sequence version",
    };
    return keys;
}

/// Largest dataset emofuse agrees to read (elements); larger sizes in a header are treated
/// as a malformed file rather than an allocation request.
inline constexpr hsize_t max_dataset_elements = hsize_t{1} << 32;

/// A chunked dataset may declare at most this many bytes more than the file stores for it
/// (unwritten chunks read as fill values)...
inline constexpr hsize_t max_unstored_bytes = hsize_t{1} << 20;
/// ...or, when compressed, this many times what is stored (deflate cannot exceed 1032:1).
/// Larger declared extents are a malformed file, not an allocation request.
inline constexpr hsize_t max_compression_ratio = 1100;
/// Largest chunk read when the chunk is larger than its dataset's whole data.
inline constexpr hsize_t max_chunk_bytes = hsize_t{64} << 20;

/// A .csd file opened for reading. Opening lists the entries and looks at the first one
/// (feature size and type); `read` checks one entry's layout (ranks, sizes, numeric types)
/// and times, and loads it.
class file_source final : public align::sequence_source {
public:
    /// Opens a file on disk.
    explicit file_source(const std::filesystem::path& path) : path_(path) {
        detail::silence_hdf5();
        std::error_code ec;
        if (!std::filesystem::is_regular_file(path, ec)) {
            throw io_error("csd: file '" + path.string() + "': not found or not a regular file");
        }
        const std::string p = path.string();
        if (H5Fis_hdf5(p.c_str()) <= 0) {
            H5Eclear2(H5E_DEFAULT);
            throw io_error("csd: file '" + p + "': not an HDF5 file (truncated or another format)");
        }
        const detail::handle fapl = detail::bounded_file_access(context());
        file_ = detail::checked(H5Fopen(p.c_str(), H5F_ACC_RDONLY, fapl.get()), H5Fclose, context(),
                                "opening");
        scan();
    }

    /// Opens an HDF5 file image held in memory (the bytes are copied). `label` names it in
    /// error messages.
    static std::unique_ptr<file_source> from_image(std::span<const unsigned char> image,
                                                   std::string label = "<memory>") {
        return std::unique_ptr<file_source>(new file_source(image, std::move(label)));
    }

    [[nodiscard]] const std::string& name() const override { return root_; }
    [[nodiscard]] std::string label() const override {
        return "file '" + path_.string() + "' (sequence '" + root_ + "')";
    }
    [[nodiscard]] align::feature_type type() const override { return type_; }
    [[nodiscard]] std::size_t feature_size() const override { return dim_; }
    [[nodiscard]] std::vector<std::string> keys() const override { return keys_; }
    /// Rows of entry `key` (checks the entry's layout).
    [[nodiscard]] std::size_t rows(const std::string& key) const {
        return static_cast<std::size_t>(open_checked(key).rows);
    }

    /// Stored metadata strings (JSON-encoded values in SDK files), by name.
    [[nodiscard]] const std::map<std::string, std::string>& metadata() const { return metadata_; }
    [[nodiscard]] const std::filesystem::path& path() const { return path_; }

    void read(const std::string& key, std::vector<double>& intervals,
              std::vector<float>& features) const override {
        read_entry(key, intervals, features, H5T_NATIVE_FLOAT);
    }
    void read(const std::string& key, std::vector<double>& intervals,
              std::vector<double>& features) const override {
        read_entry(key, intervals, features, H5T_NATIVE_DOUBLE);
    }

private:
    // Receives each decoded chunk: its offset, its shape and its bytes.
    using chunk_sink =
        std::function<void(const hsize_t* offset, const hsize_t* shape, const unsigned char*)>;

    // An entry's open datasets after its layout was checked.
    struct checked_entry {
        detail::handle group, intervals, features;
        hsize_t rows = 0;
    };

    file_source(std::span<const unsigned char> image, std::string label)
        : path_(label), image_(image.begin(), image.end()), in_memory_(true) {
        detail::silence_hdf5();
        detail::handle fapl =
            detail::checked(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, context(), "file access");
        detail::check(H5Pset_fapl_core(fapl.get(), 1 << 16, 0), context(), "core driver");
        detail::check(
            H5Pset_file_image(fapl.get(), const_cast<unsigned char*>(image.data()), image.size()),
            context(), "file image");
        file_ = detail::checked(H5Fopen(label.c_str(), H5F_ACC_RDONLY, fapl.get()), H5Fclose,
                                context(), "opening");
        scan();
    }

    std::string context() const { return "csd: file '" + path_.string() + "'"; }
    std::string context(const std::string& key) const {
        return context() + ", video '" + key + "'";
    }

    // Opens entry `key` and checks its layout: rank-2 datasets, intervals (n, 2), features
    // (n, d) with the file's d, numeric types, and (unless `check_data` is false: the caller
    // then checks each dataset's storage as it reads it) their stored data.
    checked_entry open_checked(const std::string& key, bool check_data = true) const {
        if (!std::binary_search(keys_.begin(), keys_.end(), key)) {
            throw io_error(context(key) + ": no such entry");
        }
        const std::string where = context(key);
        checked_entry e;
        e.group = open_entry(key);
        e.intervals = open_dataset(e.group.get(), key, "intervals");
        e.features = open_dataset(e.group.get(), key, "features");
        hsize_t idims[2];
        hsize_t fdims[2];
        dims2(e.intervals.get(), where, "intervals", idims);
        dims2(e.features.get(), where, "features", fdims);
        if (idims[1] != 2) {
            throw io_error(where + ": intervals: expected shape (n, 2), got (" +
                           std::to_string(idims[0]) + ", " + std::to_string(idims[1]) + ")");
        }
        if (fdims[0] != idims[0]) {
            throw io_error(where + ": features: expected " + std::to_string(idims[0]) +
                           " rows (one per interval), got " + std::to_string(fdims[0]));
        }
        if (fdims[1] != dim_) {
            throw io_error(where + ": features: expected " + std::to_string(dim_) +
                           " columns (as the first entry), got " + std::to_string(fdims[1]));
        }
        const std::size_t interval_size = numeric_size(e.intervals.get(), where, "intervals");
        const std::size_t feature_size = numeric_size(e.features.get(), where, "features");
        if (check_data) {
            check_storage(e.intervals.get(), interval_size, where, "intervals");
            check_storage(e.features.get(), feature_size, where, "features");
        }
        e.rows = idims[0];
        return e;
    }

    // Rank-2 dims of a dataset, with a readable error otherwise.
    static void dims2(hid_t dataset, const std::string& where, const char* what, hsize_t dims[2]) {
        detail::handle space = detail::checked(H5Dget_space(dataset), H5Sclose, where, what);
        const int rank = H5Sget_simple_extent_ndims(space.get());
        if (rank != 2) {
            throw io_error(where + ": " + what + ": expected a rank-2 dataset, got rank " +
                           std::to_string(rank));
        }
        H5Sget_simple_extent_dims(space.get(), dims, nullptr);
        if (dims[1] != 0 && dims[0] > max_dataset_elements / dims[1]) {
            throw io_error(where + ": " + what + ": implausible size " + std::to_string(dims[0]) +
                           " x " + std::to_string(dims[1]));
        }
    }

    // Checks that a dataset's data is stored in this file and as large as its dataspace says,
    // before HDF5 reads it. libhdf5 1.10 trusts the stored sizes: it copies compact data and
    // chunks by the dataspace's size without comparing it with what is stored or what a chunk
    // inflates to (out-of-bounds reads found by fuzzing). Declared extents far beyond what is
    // stored would make the reader allocate them; external and virtual storage would make it
    // read other files.
    void check_storage(hid_t dataset, std::size_t element, const std::string& where,
                       const char* what, const chunk_sink* decoded = nullptr) const {
        detail::handle dcpl = detail::checked(H5Dget_create_plist(dataset), H5Pclose, where, what);
        detail::handle space = detail::checked(H5Dget_space(dataset), H5Sclose, where, what);
        // The element count from the extent, checked: H5Sget_simple_extent_npoints wraps
        // around for extents beyond 2^64 elements.
        const int rank = H5Sget_simple_extent_ndims(space.get());
        std::vector<hsize_t> dims(static_cast<std::size_t>(std::max(rank, 0)));
        H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
        const hsize_t limit = element == 0 ? 0 : max_dataset_elements * 16 / element;
        hsize_t points = H5Sget_simple_extent_type(space.get()) == H5S_NULL ? 0 : 1;
        bool implausible = rank < 0 || element == 0;
        for (const hsize_t d : dims) {
            implausible = implausible || (d != 0 && points > limit / d);
            points *= d;
        }
        if (implausible || points > limit) {
            throw io_error(where + ": " + what + ": implausible size (" + extent_text(dims) +
                           " elements of " + std::to_string(element) + " bytes)");
        }
        const hsize_t expected = points * element;
        const H5D_layout_t layout = H5Pget_layout(dcpl.get());
        if (layout == H5D_VIRTUAL || H5Pget_external_count(dcpl.get()) > 0) {
            throw io_error(where + ": " + what +
                           ": data stored in other files (virtual or external dataset) is not "
                           "read");
        }
        const hsize_t stored = H5Dget_storage_size(dataset);
        if (layout == H5D_COMPACT && stored != expected) {
            throw io_error(where + ": " + what + ": compact data of " + std::to_string(stored) +
                           " bytes, expected " + std::to_string(expected));
        }
        if (layout == H5D_CONTIGUOUS && expected > 0) {
            hsize_t file_size = 0;
            const haddr_t offset = H5Dget_offset(dataset);
            H5Fget_filesize(file_.get(), &file_size);
            if (offset == HADDR_UNDEF || offset > file_size || expected > file_size - offset) {
                H5Eclear2(H5E_DEFAULT);
                throw io_error(where + ": " + what + ": data lies outside the file (" +
                               std::to_string(expected) + " bytes)");
            }
        }
        if (layout == H5D_CHUNKED) {
            check_chunks(dataset, dcpl.get(), space.get(), element, expected, stored, where, what,
                         decoded);
        }
    }

    static std::string extent_text(const std::vector<hsize_t>& dims) {
        std::string text = "(";
        for (std::size_t d = 0; d < dims.size(); ++d) {
            text += (d == 0 ? "" : ", ") + std::to_string(dims[d]);
        }
        return text + (dims.size() == 1 ? ",)" : ")");
    }

    // Chunked data: a bounded chunk size, a declared size the stored chunks can hold, and
    // every stored chunk inside the file and exactly one chunk long once its filters are
    // undone (only gzip, shuffle and fletcher32 are accepted: what h5py, the SDK and emofuse
    // write, and what emofuse can check).
    void check_chunks(hid_t dataset, hid_t dcpl, hid_t space, std::size_t element, hsize_t expected,
                      hsize_t stored, const std::string& where, const char* what,
                      const chunk_sink* decoded) const {
        const std::string at = where + ": " + what;
        const int rank = H5Sget_simple_extent_ndims(space);
        if (rank <= 0 || rank > H5S_MAX_RANK) {
            throw io_error(at + ": chunked data of rank " + std::to_string(rank));
        }
        const auto r = static_cast<std::size_t>(rank);
        std::vector<hsize_t> dims(r), chunk(r);
        H5Sget_simple_extent_dims(space, dims.data(), nullptr);
        if (H5Pget_chunk(dcpl, rank, chunk.data()) != rank) {
            H5Eclear2(H5E_DEFAULT);
            throw io_error(at + ": unreadable chunk shape");
        }
        hsize_t chunk_bytes = element;
        for (const hsize_t c : chunk) {
            if (c == 0 || chunk_bytes > (hsize_t{1} << 40) / c) {
                throw io_error(at + ": implausible chunk shape");
            }
            chunk_bytes *= c;
        }
        if (chunk_bytes > std::max(max_chunk_bytes, expected)) {
            throw io_error(at + ": chunks of " + std::to_string(chunk_bytes) + " bytes for " +
                           std::to_string(expected) + " bytes of data");
        }
        const int filters = H5Pget_nfilters(dcpl);
        std::vector<H5Z_filter_t> pipeline;
        for (int f = 0; f < filters; ++f) {
            unsigned flags = 0;
            std::size_t values = 0;
            const H5Z_filter_t id = H5Pget_filter2(dcpl, static_cast<unsigned>(f), &flags, &values,
                                                   nullptr, 0, nullptr, nullptr);
            if (id != H5Z_FILTER_DEFLATE && id != H5Z_FILTER_SHUFFLE &&
                id != H5Z_FILTER_FLETCHER32) {
                H5Eclear2(H5E_DEFAULT);
                throw io_error(at + ": HDF5 filter " + std::to_string(id) +
                               " is not supported (gzip, shuffle and fletcher32 are)");
            }
            pipeline.push_back(id);
        }
        const hsize_t ratio = pipeline.empty() ? 1 : max_compression_ratio;
        if (expected > max_unstored_bytes && expected / ratio > stored) {
            throw io_error(at + ": declares " + std::to_string(expected) +
                           " bytes of data but the file stores " + std::to_string(stored) +
                           " (unwritten, truncated or hostile file)");
        }
        hsize_t file_size = 0;
        detail::check(H5Fget_filesize(file_.get(), &file_size), where, "file size");
        // Every stored chunk (unallocated ones read as fill values): by index when there are
        // few, else by walking the chunk grid (an index lookup each).
        std::vector<unsigned char> raw;
        std::vector<unsigned char> data(decoded != nullptr ? chunk_bytes : 0);
        std::vector<hsize_t> offset(r, 0);
        const auto visit = [&](unsigned mask, haddr_t address, hsize_t size) {
            if (address == HADDR_UNDEF) {
                return;
            }
            if (address > file_size || size > file_size - address) {
                throw io_error(at + ": a chunk lies outside the file (truncated file?)");
            }
            check_chunk(dataset, offset.data(), pipeline, mask, size, chunk_bytes, raw, at,
                        decoded != nullptr ? data.data() : nullptr);
            if (decoded != nullptr) {
                (*decoded)(offset.data(), chunk.data(), data.data());
            }
        };
        hsize_t allocated = 0;
        detail::check(H5Dget_num_chunks(dataset, space, &allocated), at, "chunk index");
        if (allocated == 0 || std::find(dims.begin(), dims.end(), 0) != dims.end()) {
            return;
        }
        constexpr hsize_t few_chunks = 256; // listing chunk i costs O(i) in libhdf5 1.10
        if (allocated <= few_chunks) {
            for (hsize_t i = 0; i < allocated; ++i) {
                unsigned mask = 0;
                haddr_t address = HADDR_UNDEF;
                hsize_t size = 0;
                detail::check(
                    H5Dget_chunk_info(dataset, space, i, offset.data(), &mask, &address, &size), at,
                    "chunk index");
                visit(mask, address, size);
            }
            return;
        }
        std::vector<hsize_t> index(r, 0);
        while (true) {
            for (std::size_t d = 0; d < r; ++d) {
                offset[d] = index[d] * chunk[d];
            }
            unsigned mask = 0;
            haddr_t address = HADDR_UNDEF;
            hsize_t size = 0;
            detail::check(
                H5Dget_chunk_info_by_coord(dataset, offset.data(), &mask, &address, &size), at,
                "chunk index");
            visit(mask, address, size);
            std::size_t d = r;
            while (d-- > 0) {
                if (++index[d] * chunk[d] < dims[d]) {
                    break;
                }
                index[d] = 0;
            }
            if (d == static_cast<std::size_t>(-1)) {
                return;
            }
        }
    }

    // One stored chunk: undoes the filters it went through (in reverse) on sizes only,
    // inflating gzip data without keeping it, and requires exactly chunk_bytes at the end.
    // With `decoded` (chunk_bytes long; only for pipelines of gzip alone, see read_direct)
    // the chunk's data is kept there.
    static void check_chunk(hid_t dataset, const hsize_t* offset,
                            const std::vector<H5Z_filter_t>& pipeline, unsigned mask,
                            hsize_t stored, hsize_t chunk_bytes, std::vector<unsigned char>& raw,
                            const std::string& at, unsigned char* decoded = nullptr) {
        const std::string bad = at + ": corrupt chunk";
        bool applied = false;
        for (std::size_t f = 0; f < pipeline.size(); ++f) {
            applied = applied || (mask & (1u << f)) == 0;
        }
        if (!applied) {
            if (stored != chunk_bytes) {
                throw io_error(bad + " (" + std::to_string(stored) + " bytes stored, expected " +
                               std::to_string(chunk_bytes) + ")");
            }
            if (decoded != nullptr) {
                std::uint32_t read_mask = 0;
                detail::check(H5Dread_chunk(dataset, H5P_DEFAULT, offset, &read_mask, decoded), at,
                              "reading a chunk");
            }
            return;
        }
        // gzip grows incompressible data by well under 1/256 (zlib's compressBound), so a
        // larger stored chunk is corrupt, and is not read into memory.
        if (stored > chunk_bytes + chunk_bytes / 256 + 1024) {
            throw io_error(bad + " (" + std::to_string(stored) + " bytes stored for a chunk of " +
                           std::to_string(chunk_bytes) + ")");
        }
        raw.resize(static_cast<std::size_t>(stored));
        std::uint32_t read_mask = 0;
        detail::check(H5Dread_chunk(dataset, H5P_DEFAULT, offset, &read_mask, raw.data()), at,
                      "reading a chunk");
        // Writing applies the filters in order: shuffle keeps the size, fletcher32 adds 4
        // bytes, gzip compresses. Undo them in reverse; gzip must be undone on its own output,
        // so only one gzip and no shuffle of compressed bytes.
        const auto active = [&](std::size_t f) { return (mask & (1u << f)) == 0; };
        hsize_t bytes = stored;
        for (std::size_t f = pipeline.size(); f-- > 0;) {
            if (!active(f)) {
                continue;
            }
            if (pipeline[f] == H5Z_FILTER_FLETCHER32) {
                if (bytes < 4) {
                    throw io_error(bad + " (no room for its checksum)");
                }
                bytes -= 4;
                continue;
            }
            bool deflate_below = false;
            hsize_t checksums_below = 0;
            for (std::size_t g = 0; g < f; ++g) {
                deflate_below = deflate_below || (active(g) && pipeline[g] == H5Z_FILTER_DEFLATE);
                checksums_below += active(g) && pipeline[g] == H5Z_FILTER_FLETCHER32 ? 4 : 0;
            }
            if (deflate_below) {
                throw io_error(at + ": unsupported filter order (gzip applied twice, or shuffle " +
                               "after gzip)");
            }
            if (pipeline[f] == H5Z_FILTER_DEFLATE) {
                bytes = decoded != nullptr
                            ? inflate_into(raw.data(), bytes, decoded, chunk_bytes, bad)
                            : inflated_size(raw.data(), bytes, chunk_bytes + checksums_below, bad);
            }
        }

        if (bytes != chunk_bytes) {
            throw io_error(bad + " (" + std::to_string(bytes) + " bytes after its filters, " +
                           "expected " + std::to_string(chunk_bytes) + ")");
        }
    }

    // A zlib stream (what HDF5's gzip filter stores) starts with CMF (method 8) and FLG (no
    // preset dictionary), whose 16 bits are a multiple of 31.
    static void check_zlib_header(const unsigned char* in, hsize_t size, const std::string& bad) {
        if (size < 6 || (in[0] & 0x0f) != 8 || (in[1] & 0x20) != 0 ||
            ((in[0] << 8) | in[1]) % 31 != 0) {
            throw io_error(bad + " (not zlib data)");
        }
    }

    // Size of the zlib stream `in` (what HDF5's gzip filter stores) once inflated; anything
    // but exactly `expected` bytes is an io_error, and decoding stops past `expected`, so a
    // decompression bomb costs no memory. With EMOFUSE_CSD_HAVE_ZLIB (the build links zlib,
    // which libhdf5 uses anyway) zlib counts the bytes through a small scratch buffer;
    // otherwise emofuse's own bounded (slower) inflater decodes the chunk.
    static hsize_t inflated_size(const unsigned char* in, hsize_t size, hsize_t expected,
                                 const std::string& bad) {
        check_zlib_header(in, size, bad);
#if defined(EMOFUSE_CSD_INFLATE_WITH_ZLIB)
        z_stream z{};
        if (inflateInit(&z) != Z_OK) {
            throw io_error(bad + " (zlib could not start)");
        }
        unsigned char scratch[1 << 16];
        hsize_t out = 0;
        hsize_t left = size;
        z.next_in = const_cast<unsigned char*>(in);
        int status = Z_OK;
        while (status == Z_OK && out <= expected) {
            if (z.avail_in == 0) {
                const auto step = static_cast<uInt>(std::min<hsize_t>(left, 1u << 30));
                z.avail_in = step;
                left -= step;
            }
            z.next_out = scratch;
            z.avail_out = sizeof scratch;
            status = inflate(&z, Z_NO_FLUSH);
            out += sizeof scratch - z.avail_out;
        }
        inflateEnd(&z);
        if (out > expected) {
            throw io_error(bad + " (inflates to more than " + std::to_string(expected) + " bytes)");
        }
        if (status != Z_STREAM_END) {
            throw io_error(bad + " (invalid gzip data)");
        }
        return out;
#else
        const auto body = std::span(reinterpret_cast<const std::byte*>(in) + 2,
                                    static_cast<std::size_t>(size - 2));
        try {
            return io::detail::inflate(body, static_cast<std::size_t>(expected), "chunk").size();
        } catch (const io_error& e) {
            throw io_error(bad + " (" + e.what() + ")");
        }
#endif
    }

    // Inflates the zlib stream `in` into `out` (`capacity` bytes) and returns how many bytes
    // it gave; a stream that would give more than `capacity` is an io_error.
    static hsize_t inflate_into(const unsigned char* in, hsize_t size, unsigned char* out,
                                hsize_t capacity, const std::string& bad) {
        check_zlib_header(in, size, bad);
#if defined(EMOFUSE_CSD_INFLATE_WITH_ZLIB)
        // Stored chunks are bounded (check_chunk), so one call sees all of the input.
        z_stream z{};
        if (inflateInit(&z) != Z_OK) {
            throw io_error(bad + " (zlib could not start)");
        }
        z.next_in = const_cast<unsigned char*>(in);
        z.avail_in = static_cast<uInt>(size);
        z.next_out = out;
        z.avail_out = static_cast<uInt>(capacity);
        const int status = inflate(&z, Z_FINISH);
        const hsize_t produced = capacity - z.avail_out;
        inflateEnd(&z);
        if (status == Z_STREAM_END) {
            return produced;
        }
        if (status == Z_BUF_ERROR && z.avail_out == 0) {
            throw io_error(bad + " (inflates to more than " + std::to_string(capacity) + " bytes)");
        }
        throw io_error(bad + " (invalid gzip data)");
#else
        const auto body = std::span(reinterpret_cast<const std::byte*>(in) + 2,
                                    static_cast<std::size_t>(size - 2));
        try {
            const auto bytes =
                io::detail::inflate(body, static_cast<std::size_t>(capacity), "chunk");
            std::memcpy(out, bytes.data(), bytes.size());
            return bytes.size();
        } catch (const io_error& e) {
            throw io_error(bad + " (" + e.what() + ")");
        }
#endif
    }

    // Reads a rank-2 dataset of `rows` × `columns` values of type T from its decoded chunks,
    // when it is stored the way h5py and emofuse store it: chunked, gzip or no filter, every
    // chunk written, elements of exactly T. Each chunk is then inflated once (check_chunk's
    // checks included) instead of once to check it and once more by H5Dread. `destination()`
    // is called once the stored sizes passed check_storage and returns where the values go.
    // Returns false, having read nothing, for any other dataset.
    template <class T, class Destination>
    bool read_direct(hid_t dataset, std::size_t rows, std::size_t columns,
                     Destination&& destination, const std::string& where, const char* what) const {
        detail::handle dcpl = detail::checked(H5Dget_create_plist(dataset), H5Pclose, where, what);
        detail::handle type = detail::checked(H5Dget_type(dataset), H5Tclose, where, what);
        const hid_t native = sizeof(T) == 4 ? H5T_NATIVE_FLOAT : H5T_NATIVE_DOUBLE;
        if (H5Pget_layout(dcpl.get()) != H5D_CHUNKED || H5Tequal(type.get(), native) <= 0) {
            H5Eclear2(H5E_DEFAULT);
            return false;
        }
        const int filters = H5Pget_nfilters(dcpl.get());
        unsigned flags = 0;
        std::size_t values = 0;
        if (filters > 1 ||
            (filters == 1 && H5Pget_filter2(dcpl.get(), 0, &flags, &values, nullptr, 0, nullptr,
                                            nullptr) != H5Z_FILTER_DEFLATE)) {
            H5Eclear2(H5E_DEFAULT);
            return false; // gzip alone or no filter
        }
        hsize_t chunk[2] = {0, 0};
        if (H5Pget_chunk(dcpl.get(), 2, chunk) != 2 || chunk[0] == 0 || chunk[1] == 0) {
            H5Eclear2(H5E_DEFAULT);
            return false;
        }
        // Unwritten chunks read as fill values: left to H5Dread.
        detail::handle space = detail::checked(H5Dget_space(dataset), H5Sclose, where, what);
        hsize_t allocated = 0;
        if (H5Dget_num_chunks(dataset, space.get(), &allocated) < 0 ||
            allocated !=
                ((rows + chunk[0] - 1) / chunk[0]) * ((columns + chunk[1] - 1) / chunk[1])) {
            H5Eclear2(H5E_DEFAULT);
            return false;
        }
        // Each decoded chunk (chunk[0] × chunk[1] values) fills its part of `out`; edge chunks
        // reach past the dataset and are cut.
        T* out = nullptr;
        const chunk_sink scatter = [&](const hsize_t* offset, const hsize_t*,
                                       const unsigned char* bytes) {
            if (out == nullptr) {
                out = destination();
            }
            if (offset[0] >= rows || offset[1] >= columns || offset[0] % chunk[0] != 0 ||
                offset[1] % chunk[1] != 0) {
                throw io_error(where + ": " + what + ": a chunk at (" + std::to_string(offset[0]) +
                               ", " + std::to_string(offset[1]) +
                               ") is not on the dataset's chunk grid");
            }
            const std::size_t row0 = static_cast<std::size_t>(offset[0]);
            const std::size_t col0 = static_cast<std::size_t>(offset[1]);
            const std::size_t height = std::min<std::size_t>(chunk[0], rows - row0);
            const std::size_t width = std::min<std::size_t>(chunk[1], columns - col0);
            for (std::size_t r = 0; r < height; ++r) {
                std::memcpy(out + (row0 + r) * columns + col0, bytes + r * chunk[1] * sizeof(T),
                            width * sizeof(T));
            }
        };
        check_storage(dataset, sizeof(T), where, what, &scatter);
        if (out == nullptr) { // no chunk listed after all: the values stay zero
            destination();
        }
        return true;
    }

    // Class and size of a dataset's stored type; only numbers are accepted.
    static std::size_t numeric_size(hid_t dataset, const std::string& where, const char* what) {
        detail::handle type = detail::checked(H5Dget_type(dataset), H5Tclose, where, what);
        const H5T_class_t cls = H5Tget_class(type.get());
        if (cls != H5T_FLOAT && cls != H5T_INTEGER) {
            throw io_error(where + ": " + what +
                           ": expected a numeric type (float or integer), got HDF5 type class " +
                           std::to_string(static_cast<int>(cls)) +
                           (cls == H5T_STRING ? " (strings: use a word-vector sequence)" : ""));
        }
        return H5Tget_size(type.get());
    }

    void scan() {
        const auto top = detail::link_names(file_.get(), context());
        if (top.empty()) {
            throw io_error(context() + ": no root group (the file is empty)");
        }
        group_access_ = detail::local_links_only(H5P_GROUP_ACCESS, context());
        dataset_access_ = detail::local_links_only(H5P_DATASET_ACCESS, context());
        root_ = top.front(); // the SDK takes the first top-level group
        detail::require_local_link(file_.get(), root_.c_str(), context());
        detail::handle root =
            detail::checked(H5Gopen2(file_.get(), root_.c_str(), group_access_.get()), H5Gclose,
                            context(), "root '" + root_ + "' is not a group");
        if (H5Lexists(root.get(), "data", H5P_DEFAULT) <= 0) {
            H5Eclear2(H5E_DEFAULT);
            throw io_error(context() + ": missing group '/" + root_ + "/data'");
        }
        detail::require_local_link(root.get(), "data", context());
        data_ = detail::checked(H5Gopen2(root.get(), "data", group_access_.get()), H5Gclose,
                                context(), "'/" + root_ + "/data' is not a group");
        // Entries are checked when read, so opening costs O(entries) link names, not two
        // dataset opens per entry (aligned files have one entry per word). The feature
        // type and size come from the first entry; HDF5 converts other stored types.
        keys_ = detail::link_names(data_.get(), context());
        if (!keys_.empty()) {
            const std::string& key = keys_.front();
            const std::string where = context(key);
            detail::handle group = open_entry(key);
            detail::handle ft = open_dataset(group.get(), key, "features");
            hsize_t fdims[2];
            dims2(ft.get(), where, "features", fdims);
            dim_ = static_cast<std::size_t>(fdims[1]);
            const std::size_t size = numeric_size(ft.get(), where, "features");
            detail::handle type = detail::checked(H5Dget_type(ft.get()), H5Tclose, where, "type");
            type_ = (size > 4 || H5Tget_class(type.get()) == H5T_INTEGER)
                        ? align::feature_type::float64
                        : align::feature_type::float32;
        }
        read_metadata(root.get());
    }

    detail::handle open_entry(const std::string& key) const {
        detail::require_local_link(data_.get(), key.c_str(), context(key));
        return detail::checked(H5Gopen2(data_.get(), key.c_str(), group_access_.get()), H5Gclose,
                               context(key), "entry is not a group");
    }

    detail::handle open_dataset(hid_t group, const std::string& key, const char* name) const {
        if (H5Lexists(group, name, H5P_DEFAULT) <= 0) {
            H5Eclear2(H5E_DEFAULT);
            throw io_error(context(key) + ": missing dataset '" + name + "'");
        }
        detail::require_local_link(group, name, context(key));
        return detail::checked(H5Dopen2(group, name, dataset_access_.get()), H5Dclose, context(key),
                               std::string("'") + name + "' is not a dataset");
    }

    void read_metadata(hid_t root) {
        if (H5Lexists(root, "metadata", H5P_DEFAULT) <= 0) {
            H5Eclear2(H5E_DEFAULT);
            return; // readable without metadata; the writer completes it
        }
        detail::require_local_link(root, "metadata", context());
        detail::handle meta = detail::checked(H5Gopen2(root, "metadata", group_access_.get()),
                                              H5Gclose, context(), "'metadata' is not a group");
        for (const auto& name : detail::link_names(meta.get(), context())) {
            const std::string where = context() + ", metadata '" + name + "'";
            detail::require_local_link(meta.get(), name.c_str(), where);
            detail::handle ds =
                detail::checked(H5Dopen2(meta.get(), name.c_str(), dataset_access_.get()), H5Dclose,
                                where, "not a dataset");
            detail::handle type = detail::checked(H5Dget_type(ds.get()), H5Tclose, where, "type");
            if (H5Tget_class(type.get()) != H5T_STRING) {
                continue; // not a string: not SDK metadata, ignored
            }
            detail::handle space =
                detail::checked(H5Dget_space(ds.get()), H5Sclose, where, "space");
            if (H5Sget_simple_extent_npoints(space.get()) <= 0) {
                metadata_[name] = std::string();
                continue;
            }
            const std::size_t size = H5Tget_size(type.get());
            if (size == 0 || size > (1 << 24)) {
                throw io_error(where + ": implausible string size " + std::to_string(size));
            }
            check_storage(ds.get(), size, where, "strings");
            // The value is the first string (the SDK stores one); reading only that one keeps
            // memory bounded whatever extent the dataset declares.
            const detail::handle first = first_element(space.get(), where);
            const detail::handle one =
                detail::checked(H5Screate(H5S_SCALAR), H5Sclose, where, "space");
            if (H5Tis_variable_str(type.get()) > 0) {
                check_string_heap(ds.get(), 1, where);
                detail::handle mem = detail::vlen_string_type();
                char* value = nullptr;
                detail::check(
                    H5Dread(ds.get(), mem.get(), one.get(), first.get(), H5P_DEFAULT, &value),
                    where, "reading");
                metadata_[name] = value != nullptr ? std::string(value) : std::string();
#if H5_VERSION_GE(1, 12, 0)
                H5Treclaim(mem.get(), one.get(), H5P_DEFAULT, &value);
#else
                H5Dvlen_reclaim(mem.get(), one.get(), H5P_DEFAULT, &value);
#endif
            } else {
                detail::handle mem = detail::checked(H5Tcopy(type.get()), H5Tclose, where, "type");
                std::vector<char> buffer(size);
                detail::check(H5Dread(ds.get(), mem.get(), one.get(), first.get(), H5P_DEFAULT,
                                      buffer.data()),
                              where, "reading");
                metadata_[name] = std::string(buffer.data(), strnlen(buffer.data(), size));
            }
        }
    }

    // A copy of `space` with only its first element selected.
    static detail::handle first_element(hid_t space, const std::string& where) {
        detail::handle first = detail::checked(H5Scopy(space), H5Sclose, where, "space");
        const int rank = H5Sget_simple_extent_ndims(first.get());
        if (rank > 0) {
            const std::vector<hsize_t> start(static_cast<std::size_t>(rank), 0);
            const std::vector<hsize_t> count(static_cast<std::size_t>(rank), 1);
            detail::check(H5Sselect_hyperslab(first.get(), H5S_SELECT_SET, start.data(), nullptr,
                                              count.data(), nullptr),
                          where, "selecting the first string");
        }
        return first;
    }

    template <class T>
    void read_entry(const std::string& key, std::vector<double>& intervals,
                    std::vector<T>& features, hid_t memory_type) const {
        const std::string where = context(key);
        const checked_entry entry = open_checked(key, false);
        const hid_t iv = entry.intervals.get();
        const hid_t ft = entry.features.get();
        const std::size_t n = static_cast<std::size_t>(entry.rows);
        const std::size_t old_rows = intervals.size();
        const std::size_t old_features = features.size();
        // Each dataset is read from its decoded chunks, or checked and then read by HDF5. Its
        // vector grows only after its stored sizes were checked (a file may declare far more
        // rows than it stores).
        const auto read = [&](hid_t dataset, auto& values, std::size_t old_size,
                              std::size_t columns, hid_t type, const char* what) {
            using U = typename std::decay_t<decltype(values)>::value_type;
            const auto destination = [&]() -> U* {
                try {
                    values.resize(old_size + n * columns);
                } catch (const std::bad_alloc&) {
                    throw io_error(where + ": " + what + ": not enough memory for " +
                                   std::to_string(n) + " rows");
                }
                return values.data() + old_size;
            };
            if (n != 0 && columns != 0 &&
                read_direct<U>(dataset, n, columns, destination, where, what)) {
                return;
            }
            check_storage(dataset, numeric_size(dataset, where, what), where, what);
            U* out = destination();
            if (n != 0 && columns != 0) {
                detail::check(H5Dread(dataset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out), where,
                              std::string("reading ") + what + " (truncated or corrupt file?)");
            }
        };
        read(iv, intervals, old_rows, 2, H5T_NATIVE_DOUBLE, "intervals");
        if (n != 0) {
            try {
                align::check_intervals("csd", label(), key, intervals.data() + old_rows, n);
            } catch (const value_error& bad) {
                throw io_error(bad.what()); // a bad time in a file is a malformed file
            }
        }
        read(ft, features, old_features, dim_, memory_type, "features");
    }

    // Reads n bytes at absolute file address `addr` (from the image or the file on disk).
    bool raw_bytes(std::uint64_t addr, std::size_t n, unsigned char* out) const {
        if (in_memory_) {
            if (addr > image_.size() || n > image_.size() - addr) {
                return false;
            }
            std::memcpy(out, image_.data() + addr, n);
            return true;
        }
        std::ifstream in(path_, std::ios::binary);
        in.seekg(static_cast<std::streamoff>(addr));
        in.read(reinterpret_cast<char*>(out), static_cast<std::streamsize>(n));
        return static_cast<std::size_t>(in.gcount()) == n;
    }

    static std::uint64_t little_endian(const unsigned char* p, std::size_t bytes) {
        std::uint64_t v = 0;
        for (std::size_t i = bytes; i-- > 0;) {
            v = (v << 8) | p[i];
        }
        return v;
    }

    // libhdf5 1.10 trusts the global heap when it converts variable-length strings: a
    // corrupted object size makes H5Dread copy out of bounds (found by fuzzing). So before
    // reading, each string's heap object is located and bounds-checked here, for the
    // common case (contiguous layout, 8-byte addresses and sizes); other layouts are read
    // as they are.
    void check_string_heap(hid_t dataset, hssize_t count, const std::string& where) const {
        const haddr_t offset = H5Dget_offset(dataset);
        detail::handle fcpl =
            detail::checked(H5Fget_create_plist(file_.get()), H5Pclose, where, "file properties");
        std::size_t sizeof_addr = 0, sizeof_size = 0;
        hsize_t userblock = 0;
        H5Pget_sizes(fcpl.get(), &sizeof_addr, &sizeof_size);
        H5Pget_userblock(fcpl.get(), &userblock);
        if (offset == HADDR_UNDEF || sizeof_addr != 8 || sizeof_size != 8 || count > 4096) {
            H5Eclear2(H5E_DEFAULT);
            return;
        }
        hsize_t file_size = 0;
        detail::check(H5Fget_filesize(file_.get(), &file_size), where, "file size");
        const std::string bad = where + ": corrupt variable-length string (global heap)";
        std::vector<unsigned char> refs(static_cast<std::size_t>(count) * 16);
        if (!raw_bytes(offset, refs.size(), refs.data())) {
            throw io_error(bad);
        }
        for (std::size_t e = 0; e < static_cast<std::size_t>(count); ++e) {
            const unsigned char* ref = refs.data() + 16 * e;
            const std::uint64_t length = little_endian(ref, 4);
            const std::uint64_t heap = little_endian(ref + 4, 8);
            const std::uint64_t index = little_endian(ref + 12, 4);
            if (length == 0) {
                continue;
            }
            unsigned char header[16];
            const std::uint64_t at = heap + userblock;
            if (heap > file_size || !raw_bytes(at, 16, header) ||
                std::memcmp(header, "GCOL", 4) != 0) {
                throw io_error(bad);
            }
            const std::uint64_t size = little_endian(header + 8, 8);
            if (size < 32 || size > file_size || at > file_size - size || size > (1u << 28)) {
                throw io_error(bad);
            }
            std::vector<unsigned char> collection(static_cast<std::size_t>(size));
            if (!raw_bytes(at, collection.size(), collection.data())) {
                throw io_error(bad);
            }
            // Walk the whole collection as HDF5's loader does, rejecting what would make it
            // loop forever (a free-space object of size < 16) or read past the end.
            bool found = false;
            for (std::uint64_t pos = 16; pos + 16 <= size;) {
                const unsigned char* obj = collection.data() + pos;
                const std::uint64_t id = little_endian(obj, 2);
                const std::uint64_t bytes = little_endian(obj + 8, 8);
                if (id == 0) {
                    if (bytes < 16 || bytes > size - pos) {
                        throw io_error(bad);
                    }
                    pos += bytes;
                    continue;
                }
                if (bytes > size - pos - 16 || ((bytes + 7) / 8) * 8 > size - pos - 16) {
                    throw io_error(bad);
                }
                found = found || (id == index && bytes >= length);
                pos += 16 + ((bytes + 7) / 8) * 8;
            }
            if (!found) {
                throw io_error(bad);
            }
        }
    }

    std::filesystem::path path_;
    std::vector<unsigned char> image_; // a copy of an in-memory image, for check_string_heap
    bool in_memory_ = false;
    detail::handle file_;
    detail::handle group_access_;
    detail::handle dataset_access_;
    detail::handle data_;
    std::string root_;
    std::vector<std::string> keys_;
    std::map<std::string, std::string> metadata_;
    align::feature_type type_ = align::feature_type::float64;
    std::size_t dim_ = 0;
};

/// Reads a whole file into memory with features of type T (converted if stored otherwise).
/// Intervals are checked (finite, end >= start).
template <class T>
align::computational_sequence<T> read_sequence(const file_source& file) {
    align::computational_sequence<T> out;
    out.name = file.name();
    out.metadata = file.metadata();
    out.feature_size = file.feature_size();
    std::vector<double> intervals;
    std::vector<T> features;
    for (const auto& key : file.keys()) {
        intervals.clear();
        features.clear();
        file.read(key, intervals, features);
        const std::size_t n = intervals.size() / 2;
        align::check_intervals("csd", file.label(), key, intervals.data(), n);
        align::segment<T> seg;
        seg.intervals = xt::adapt(intervals, std::vector<std::size_t>{n, 2});
        seg.features = xt::adapt(features, std::vector<std::size_t>{n, out.feature_size});
        out.entries.emplace(key, std::move(seg));
    }
    return out;
}

/// Reads a whole .csd file, keeping its stored precision (float32 stays float32).
inline align::any_sequence read_csd(const std::filesystem::path& path) {
    const file_source file(path);
    if (file.type() == align::feature_type::float32) {
        return read_sequence<float>(file);
    }
    return read_sequence<double>(file);
}

} // namespace emofuse::io::csd
