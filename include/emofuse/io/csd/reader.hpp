// emofuse/io/csd/reader.hpp — reads CMU computational sequence files (.csd, HDF5) lazily,
// one entry at a time: `/<root>/data/<key>/{intervals,features}` and `/<root>/metadata/*`.
// Malformed or hostile files give emofuse::io_error naming the file, the entry and the
// problem; gzip-compressed and uncompressed datasets are both read. The checks live beside
// it: detail/storage.hpp (declared sizes, stored chunks), detail/zlib_stream.hpp (gzip),
// detail/global_heap.hpp (variable-length strings), detail/navigation.hpp (groups, datasets).
#pragma once

#include "emofuse/align/computational_sequence.hpp"
#include "emofuse/align/sequence_source.hpp"
#include "emofuse/core/checked_size.hpp"
#include "emofuse/core/error.hpp"
#include "emofuse/io/csd/detail/global_heap.hpp"
#include "emofuse/io/csd/detail/hdf5_lock.hpp"
#include "emofuse/io/csd/detail/navigation.hpp"
#include "emofuse/io/csd/detail/storage.hpp"
#include "emofuse/io/csd/hdf5.hpp"
#include "emofuse/io/csd/limits.hpp"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <filesystem>
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

/// Longest metadata string read (bytes of a fixed-length string type).
inline constexpr std::size_t max_metadata_string_bytes = std::size_t{1} << 24;

/// A .csd file opened for reading. Opening lists the entries and looks at the first one
/// (feature size and type); `read` checks one entry's layout (ranks, sizes, numeric types)
/// and times, and loads it.
class file_source final : public align::sequence_source {
public:
    /// Opens a file on disk.
    explicit file_source(const std::filesystem::path& path) : path_(path), bytes_(path) {
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

    /// Appends entry `key`: its intervals (checked: finite, end >= start) and its features.
    /// Several threads may read at once (from this file or others): the HDF5 calls take
    /// turns under one process-wide lock, the inflating of chunks does not.
    void read(const std::string& key, std::vector<double>& intervals,
              std::vector<float>& features) const override {
        const detail::hdf5_lock hdf5;
        read_entry(key, intervals, features, H5T_NATIVE_FLOAT);
    }
    void read(const std::string& key, std::vector<double>& intervals,
              std::vector<double>& features) const override {
        const detail::hdf5_lock hdf5;
        read_entry(key, intervals, features, H5T_NATIVE_DOUBLE);
    }
    [[nodiscard]] bool concurrent_reads() const override { return true; }

private:
    // An entry's open datasets after its layout was checked.
    struct checked_entry {
        detail::handle group, intervals, features;
        hsize_t rows = 0;
    };

    file_source(std::span<const unsigned char> image, std::string label)
        : path_(label), bytes_(image) {
        detail::silence_hdf5();
        detail::handle fapl =
            detail::checked(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, context(), "file access");
        // The core driver's growth step does not matter for a read-only image; no backing file.
        constexpr std::size_t core_driver_increment = std::size_t{1} << 16;
        detail::check(H5Pset_fapl_core(fapl.get(), core_driver_increment, 0), context(),
                      "core driver");
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
        detail::rank2_extent(e.intervals.get(), where, "intervals", idims);
        detail::rank2_extent(e.features.get(), where, "features", fdims);
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
        const std::size_t interval_size =
            detail::numeric_size(e.intervals.get(), where, "intervals");
        const std::size_t feature_size = detail::numeric_size(e.features.get(), where, "features");
        if (check_data) {
            detail::check_storage(e.intervals.get(), interval_size, file_size_, where, "intervals");
            detail::check_storage(e.features.get(), feature_size, file_size_, where, "features");
        }
        e.rows = idims[0];
        return e;
    }

    // Reads a rank-2 dataset of `rows` × `columns` values of type T from its decoded chunks,
    // when it is stored the way h5py and emofuse store it: chunked, gzip or no filter, every
    // chunk written, elements of exactly T. Each chunk is then inflated once (the chunk
    // checks included) instead of once to check it and once more by H5Dread. `destination()`
    // is called once the stored sizes passed the storage checks and returns where the values
    // go. Returns false, having read nothing, for any other dataset.
    template <class T, class Destination>
    bool read_direct(hid_t dataset, const detail::dataset_storage& storage, std::size_t rows,
                     std::size_t columns, Destination&& destination, const std::string& where,
                     const char* what) const {
        detail::handle type = detail::checked(H5Dget_type(dataset), H5Tclose, where, what);
        const hid_t native = std::is_same_v<T, float> ? H5T_NATIVE_FLOAT : H5T_NATIVE_DOUBLE;
        if (storage.layout != H5D_CHUNKED || H5Tequal(type.get(), native) <= 0) {
            H5Eclear2(H5E_DEFAULT);
            return false;
        }
        const auto& filters = storage.filters;
        if (filters.size() > 1 || (filters.size() == 1 && filters[0] != H5Z_FILTER_DEFLATE)) {
            return false; // gzip alone or no filter
        }
        const auto& chunk = storage.chunk;
        if (chunk.size() != 2 || chunk[0] == 0 || chunk[1] == 0) {
            return false;
        }
        // Unwritten chunks read as fill values: left to H5Dread.
        hsize_t allocated = 0;
        if (H5Dget_num_chunks(dataset, storage.space.get(), &allocated) < 0 ||
            allocated !=
                ((rows + chunk[0] - 1) / chunk[0]) * ((columns + chunk[1] - 1) / chunk[1])) {
            H5Eclear2(H5E_DEFAULT);
            return false;
        }
        // Each decoded chunk (chunk[0] × chunk[1] values) fills its part of `out`; edge chunks
        // reach past the dataset and are cut.
        T* out = nullptr;
        const detail::chunk_sink scatter = [&](const hsize_t* offset, const hsize_t*,
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
        detail::check_storage(dataset, storage, sizeof(T), file_size_, where, what, &scatter);
        if (out == nullptr) { // no chunk listed after all: the values stay zero
            destination();
        }
        return true;
    }

    void scan() {
        detail::check(H5Fget_filesize(file_.get(), &file_size_), context(), "file size");
        const auto top = detail::link_names(file_.get(), context());
        if (top.empty()) {
            throw io_error(context() + ": no root group (the file is empty)");
        }
        links_ = detail::local_links(context());
        root_ = top.front(); // the SDK takes the first top-level group
        detail::handle root = links_.group(file_.get(), root_.c_str(), context(),
                                           "root '" + root_ + "' is not a group");
        if (!detail::has_link(root.get(), "data")) {
            throw io_error(context() + ": missing group '/" + root_ + "/data'");
        }
        data_ = links_.group(root.get(), "data", context(), "'/" + root_ + "/data' is not a group");
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
            detail::rank2_extent(ft.get(), where, "features", fdims);
            dim_ = static_cast<std::size_t>(fdims[1]);
            const std::size_t size = detail::numeric_size(ft.get(), where, "features");
            detail::handle type = detail::checked(H5Dget_type(ft.get()), H5Tclose, where, "type");
            type_ = (size > 4 || H5Tget_class(type.get()) == H5T_INTEGER)
                        ? align::feature_type::float64
                        : align::feature_type::float32;
        }
        read_metadata(root.get());
    }

    detail::handle open_entry(const std::string& key) const {
        return links_.group(data_.get(), key.c_str(), context(key), "entry is not a group");
    }

    detail::handle open_dataset(hid_t group, const std::string& key, const char* name) const {
        if (!detail::has_link(group, name)) {
            throw io_error(context(key) + ": missing dataset '" + name + "'");
        }
        return links_.dataset(group, name, context(key),
                              std::string("'") + name + "' is not a dataset");
    }

    void read_metadata(hid_t root) {
        if (!detail::has_link(root, "metadata")) {
            return; // readable without metadata; the writer completes it
        }
        detail::handle meta =
            links_.group(root, "metadata", context(), "'metadata' is not a group");
        for (const auto& name : detail::link_names(meta.get(), context())) {
            const std::string where = context() + ", metadata '" + name + "'";
            detail::handle ds = links_.dataset(meta.get(), name.c_str(), where, "not a dataset");
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
            if (size == 0 || size > max_metadata_string_bytes) {
                throw io_error(where + ": implausible string size " + std::to_string(size));
            }
            detail::check_storage(ds.get(), size, file_size_, where, "strings");
            // The value is the first string (the SDK stores one); reading only that one keeps
            // memory bounded whatever extent the dataset declares.
            const detail::handle first = detail::first_element(space.get(), where);
            const detail::handle one =
                detail::checked(H5Screate(H5S_SCALAR), H5Sclose, where, "space");
            if (H5Tis_variable_str(type.get()) > 0) {
                detail::check_string_heap(file_.get(), bytes_, file_size_, ds.get(), 1, where);
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
                const auto added = try_multiply(n, columns);
                if (!added || *added > values.max_size() - old_size) {
                    throw io_error(where + ": " + what + ": " + std::to_string(n) + " rows of " +
                                   std::to_string(columns) + " values do not fit in memory");
                }
                try {
                    values.resize(old_size + *added);
                } catch (const std::bad_alloc&) {
                    throw io_error(where + ": " + what + ": not enough memory for " +
                                   std::to_string(n) + " rows");
                }
                return values.data() + old_size;
            };
            const detail::dataset_storage storage = detail::describe_storage(dataset, where, what);
            if (n != 0 && columns != 0 &&
                read_direct<U>(dataset, storage, n, columns, destination, where, what)) {
                return;
            }
            detail::check_storage(dataset, storage, detail::numeric_size(dataset, where, what),
                                  file_size_, where, what);
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

    std::filesystem::path path_;
    detail::file_bytes bytes_; // the raw bytes, for the global-heap checks
    detail::handle file_;
    hsize_t file_size_ = 0;
    detail::local_links links_;
    detail::handle data_;
    std::string root_;
    std::vector<std::string> keys_;
    std::map<std::string, std::string> metadata_;
    align::feature_type type_ = align::feature_type::float64;
    std::size_t dim_ = 0;
};

/// Reads a whole file into memory with features of type T (converted if stored otherwise).
/// Intervals are checked (finite, end >= start) as each entry is read.
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
