// emofuse/io/csd/writer.hpp — writes CMU computational sequence files (.csd, HDF5) in the
// SDK's layout, entry by entry, gzip-compressed like the SDK's `deploy`; files appear under
// their final name only when complete.
#pragma once

#include "emofuse/align/computational_sequence.hpp"
#include "emofuse/core/checked_size.hpp"
#include "emofuse/core/error.hpp"
#include "emofuse/io/csd/detail/hdf5_lock.hpp"
#include "emofuse/io/csd/hdf5.hpp"
#include "emofuse/io/csd/reader.hpp"
#include "emofuse/io/detail/temporary_files.hpp"

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <system_error>
#include <vector>

namespace emofuse::io::csd {

/// JSON-encodes a string the way Python's json.dumps does for ASCII text (the SDK stores
/// every metadata value JSON-encoded).
inline std::string json_string(std::string_view text) {
    std::string out = "\"";
    for (const char c : text) {
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        default:
            if (static_cast<unsigned char>(c) < 0x20) {
                static const char* hex = "0123456789abcdef";
                out += "\\u00";
                out += hex[(c >> 4) & 0xf];
                out += hex[c & 0xf];
            } else {
                out += c;
            }
        }
    }
    return out + "\"";
}

/// Adds every metadata key the SDK requires that `metadata` lacks: "root name" gets the
/// sequence name, the others an empty JSON string (so the SDK never prompts on stdin).
inline std::map<std::string, std::string>
complete_metadata(std::map<std::string, std::string> metadata, const std::string& root_name) {
    for (const auto& key : required_metadata_keys()) {
        if (metadata.count(key) == 0) {
            metadata[key] = key == "root name" ? json_string(root_name) : json_string("");
        }
    }
    return metadata;
}

struct writer_options {
    /// gzip level (the SDK's deploy uses 9); -1 stores datasets uncompressed.
    int gzip_level = 9;
    /// Datasets smaller than this many bytes are stored uncompressed in compact layout
    /// (readers see no difference); 0 compresses every dataset as the SDK does.
    std::size_t compact_below = 4096;
};

/// Writes one .csd file; write() and flush() hold the process-wide HDF5 lock, so one thread may
/// write while others read .csd files (align_files does). Data goes to a temporary file next to
/// `path`
/// (`<path>.emofuse-tmp.<pid>.<n>`, removed by a signal handler too, see
/// io/detail/temporary_files.hpp) and is renamed to `path` by commit(); a writer destroyed
/// without commit removes it. To commit several files together: close() each, then
/// io::detail::commit_together on their pending() names and committed() each.
class writer {
public:
    writer(std::filesystem::path path, std::string root_name, writer_options options = {})
        : path_(std::move(path)), partial_(io::detail::temporary_path(path_)),
          root_(std::move(root_name)), options_(options) {
        detail::silence_hdf5();
        if (root_.empty() || root_.find('/') != std::string::npos || root_ == ".") {
            throw value_error(
                "csd writer: root name: expected a non-empty name without '/', got '" + root_ +
                "'");
        }
        io::detail::check_replaceable(path_, context());
        cleanup_ = io::detail::cleanup_entry(partial_);
        const std::string p = partial_.string();
        // HDF5 1.8+ object format: compact groups (no B-tree and heap per entry group), which
        // makes the SDK's one-group-per-segment layout several times smaller and faster to
        // write; h5py/HDF5 1.8 and later read it.
        detail::handle fapl = detail::bounded_file_access(context());
        detail::check(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V18, H5F_LIBVER_LATEST),
                      context(), "format version");
        detail::check(H5Pset_meta_block_size(fapl.get(), 1 << 20), context(), "metadata blocks");
        try {
            // No creation times in object headers: the same inputs give the same bytes.
            untimed_group_ = detail::checked(H5Pcreate(H5P_GROUP_CREATE), H5Pclose, context(),
                                             "group properties");
            detail::check(H5Pset_obj_track_times(untimed_group_.get(), 0), context(),
                          "time tracking");
            untimed_dataset_ = detail::checked(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, context(),
                                               "dataset properties");
            detail::check(H5Pset_obj_track_times(untimed_dataset_.get(), 0), context(),
                          "time tracking");
            // Made once, not per dataset: a collapsed run writes thousands of tiny datasets.
            compact_dataset_ = detail::checked(H5Pcopy(untimed_dataset_.get()), H5Pclose, context(),
                                               "dataset properties");
            detail::check(H5Pset_layout(compact_dataset_.get(), H5D_COMPACT), context(),
                          "compact layout");
            // The file's own root group "/" takes its creation properties from the file's.
            const detail::handle fcpl =
                detail::checked(H5Pcreate(H5P_FILE_CREATE), H5Pclose, context(), "file properties");
            detail::check(H5Pset_obj_track_times(fcpl.get(), 0), context(), "time tracking");
            file_ = detail::checked(H5Fcreate(p.c_str(), H5F_ACC_TRUNC, fcpl.get(), fapl.get()),
                                    H5Fclose, context(), "creating");
            root_group_ = detail::checked(H5Gcreate2(file_.get(), root_.c_str(), H5P_DEFAULT,
                                                     untimed_group_.get(), H5P_DEFAULT),
                                          H5Gclose, context(), "creating the root group");
            data_ = detail::checked(H5Gcreate2(root_group_.get(), "data", H5P_DEFAULT,
                                               untimed_group_.get(), H5P_DEFAULT),
                                    H5Gclose, context(), "creating the data group");
        } catch (...) {
            abandon(); // no destructor runs for a half-built writer
            throw;
        }
    }
    writer(const writer&) = delete;
    writer& operator=(const writer&) = delete;
    ~writer() { abandon(); }

    /// Writes one entry: intervals (n, 2) float64 and features (n, d) of type T.
    template <class T>
    void write(const std::string& key, const align::segment<T>& entry) {
        write(key, entry.intervals.data(), entry.features.data(), entry.rows(),
              entry.features.shape(1));
    }

    template <class T>
    void write(const std::string& key, const double* intervals, const T* features, std::size_t rows,
               std::size_t dim) {
        if (!file_.valid()) {
            throw io_error(context() + ": write after commit");
        }
        if (key.empty() || key.find('/') != std::string::npos || key == ".") {
            throw value_error(context() +
                              ": entry key: expected a non-empty name without '/', got '" + key +
                              "'");
        }
        const detail::hdf5_lock hdf5;
        detail::handle group = detail::checked(
            H5Gcreate2(data_.get(), key.c_str(), H5P_DEFAULT, untimed_group_.get(), H5P_DEFAULT),
            H5Gclose, context() + ", video '" + key + "'", "creating the entry group");
        // The SDK writes features first, then intervals.
        write_matrix(group.get(), key, "features", features, rows, dim,
                     sizeof(T) == 4 ? H5T_IEEE_F32LE : H5T_IEEE_F64LE,
                     sizeof(T) == 4 ? H5T_NATIVE_FLOAT : H5T_NATIVE_DOUBLE);
        write_matrix(group.get(), key, "intervals", intervals, rows, 2, H5T_IEEE_F64LE,
                     H5T_NATIVE_DOUBLE);
    }

    /// Writes buffered HDF5 metadata to the file so the cache can evict it (align_files calls
    /// this after every video to keep memory bounded by one video).
    void flush() {
        if (file_.valid()) {
            const detail::hdf5_lock hdf5;
            detail::check(H5Fflush(file_.get(), H5F_SCOPE_LOCAL), context(), "flushing");
        }
    }

    /// Writes the metadata (completed with complete_metadata) and closes the file: it is
    /// complete under its temporary name.
    void close(const std::map<std::string, std::string>& metadata) {
        if (!file_.valid()) {
            throw io_error(context() + (closed_ ? ": closed twice" : ": close after abandon"));
        }
        detail::handle meta = detail::checked(H5Gcreate2(root_group_.get(), "metadata", H5P_DEFAULT,
                                                         untimed_group_.get(), H5P_DEFAULT),
                                              H5Gclose, context(), "creating the metadata group");
        detail::handle type = detail::vlen_string_type();
        const hsize_t one = 1;
        for (const auto& [name, value] : complete_metadata(metadata, root_)) {
            detail::handle space =
                detail::checked(H5Screate_simple(1, &one, nullptr), H5Sclose, context(), "space");
            detail::handle ds =
                detail::checked(H5Dcreate2(meta.get(), name.c_str(), type.get(), space.get(),
                                           H5P_DEFAULT, untimed_dataset_.get(), H5P_DEFAULT),
                                H5Dclose, context(), "metadata '" + name + "'");
            const char* text = value.c_str();
            detail::check(H5Dwrite(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, &text),
                          context(), "writing metadata '" + name + "'");
        }
        meta.reset();
        data_.reset();
        root_group_.reset();
        detail::check(H5Fflush(file_.get(), H5F_SCOPE_GLOBAL), context(), "flushing");
        file_.reset();
        closed_ = true;
    }

    /// The temporary file and its target, for io::detail::commit_together.
    [[nodiscard]] io::detail::pending_output pending() const { return {partial_, path_}; }

    /// The temporary file was renamed onto the target: nothing is left to remove.
    void committed() noexcept {
        committed_ = true;
        cleanup_.release();
    }

    /// close(metadata), then renames the file into place.
    void commit(const std::map<std::string, std::string>& metadata) {
        if (committed_ || closed_) {
            throw io_error(context() + ": commit twice");
        }
        close(metadata);
        const io::detail::pending_output output = pending();
        io::detail::commit_together(std::span(&output, 1), context());
        committed();
    }

    /// Drops an uncommitted file.
    void abandon() noexcept {
        if (committed_) {
            return;
        }
        data_.reset();
        root_group_.reset();
        file_.reset();
        std::error_code ec;
        std::filesystem::remove(partial_, ec);
        cleanup_.release();
    }

    [[nodiscard]] const std::filesystem::path& path() const { return path_; }

private:
    std::string context() const { return "csd writer: file '" + path_.string() + "'"; }

    void write_matrix(hid_t group, const std::string& key, const char* name, const void* values,
                      std::size_t rows, std::size_t cols, hid_t file_type, hid_t memory_type) {
        const std::string where = context() + ", video '" + key + "'";
        const hsize_t dims[2] = {rows, cols};
        detail::handle space =
            detail::checked(H5Screate_simple(2, dims, nullptr), H5Sclose, where, "space");
        // No modification-time message per dataset: smaller headers, byte-identical reruns.
        hid_t properties = untimed_dataset_.get();
        detail::handle chunked;
        const std::size_t bytes = checked_byte_count(where, {rows, cols}, H5Tget_size(file_type));
        if (bytes > 0 && bytes < options_.compact_below) {
            // Tiny datasets (a collapsed segment is one row) live in their object header:
            // gzip would not shrink them and a chunk index would cost kilobytes each.
            properties = compact_dataset_.get();
        } else if (options_.gzip_level >= 0 && rows > 0 && cols > 0) {
            chunked =
                detail::checked(H5Pcopy(untimed_dataset_.get()), H5Pclose, where, "properties");
            // One chunk per dataset (the SDK's full chunk shape), split only past HDF5's
            // 4 GiB chunk limit.
            const std::size_t element = H5Tget_size(file_type);
            const std::size_t max_rows =
                std::max<std::size_t>(1, (std::size_t{1} << 30) / (cols * element));
            const hsize_t chunk[2] = {std::min(rows, max_rows), cols};
            detail::check(H5Pset_chunk(chunked.get(), 2, chunk), where, "chunking");
            detail::check(H5Pset_deflate(chunked.get(),
                                         static_cast<unsigned>(std::min(options_.gzip_level, 9))),
                          where, "gzip");
            properties = chunked.get();
        }
        detail::handle ds = detail::checked(
            H5Dcreate2(group, name, file_type, space.get(), H5P_DEFAULT, properties, H5P_DEFAULT),
            H5Dclose, where, std::string("creating '") + name + "'");
        if (rows > 0 && cols > 0) {
            detail::check(H5Dwrite(ds.get(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values),
                          where, std::string("writing '") + name + "'");
        }
    }

    std::filesystem::path path_;
    std::filesystem::path partial_;
    io::detail::cleanup_entry cleanup_;
    bool closed_ = false;
    bool committed_ = false;
    std::string root_;
    writer_options options_;
    detail::handle untimed_group_;
    detail::handle untimed_dataset_;
    detail::handle compact_dataset_;
    detail::handle file_;
    detail::handle root_group_;
    detail::handle data_;
};

/// Writes a whole sequence to `path` (metadata completed as complete_metadata says).
template <class T>
void write_csd(const std::filesystem::path& path, const align::computational_sequence<T>& seq,
               writer_options options = {}) {
    writer out(path, seq.name, options);
    for (const auto& [key, entry] : seq.entries) {
        align::validate_segment(seq.name, key, entry, seq.feature_size);
        out.write(key, entry);
    }
    out.commit(seq.metadata);
}

inline void write_csd(const std::filesystem::path& path, const align::any_sequence& seq,
                      writer_options options = {}) {
    std::visit([&](const auto& s) { write_csd(path, s, options); }, seq);
}

} // namespace emofuse::io::csd
