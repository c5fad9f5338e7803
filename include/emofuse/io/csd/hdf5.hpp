// emofuse/io/csd/hdf5.hpp — the small part of the HDF5 C API the .csd reader and writer use:
// owning handles, silenced error printing, and errors turned into emofuse::io_error.
#pragma once

#include "emofuse/core/error.hpp"

#include <hdf5.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace emofuse::io::csd::detail {

// Process-wide HDF5 settings, applied once: no error printing (emofuse reports errors as
// exceptions), and bounded free lists (HDF5 otherwise keeps every freed object header for
// reuse, so memory would grow with the number of segments written, not with one video).
inline void silence_hdf5() {
    static const bool silenced = [] {
        H5open();
        H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
        H5set_free_list_limits(4 << 20, 1 << 20, 4 << 20, 1 << 20, 4 << 20, 1 << 20);
        return true;
    }();
    (void)silenced;
}

// The innermost message of HDF5's current error stack (then clears it).
inline std::string hdf5_error_text() {
    std::string text;
    H5Ewalk2(
        H5E_DEFAULT, H5E_WALK_DOWNWARD,
        [](unsigned, const H5E_error2_t* err, void* out) -> herr_t {
            if (err != nullptr && err->desc != nullptr) {
                *static_cast<std::string*>(out) = err->desc;
            }
            return 0;
        },
        &text);
    H5Eclear2(H5E_DEFAULT);
    return text.empty() ? std::string("unknown HDF5 error") : text;
}

// An owning hid_t with the matching close function.
class handle {
public:
    using closer = herr_t (*)(hid_t);

    handle() = default;
    handle(hid_t id, closer close) : id_(id), close_(close) {}
    handle(const handle&) = delete;
    handle& operator=(const handle&) = delete;
    handle(handle&& other) noexcept
        : id_(std::exchange(other.id_, H5I_INVALID_HID)), close_(other.close_) {}
    handle& operator=(handle&& other) noexcept {
        if (this != &other) {
            reset();
            id_ = std::exchange(other.id_, H5I_INVALID_HID);
            close_ = other.close_;
        }
        return *this;
    }
    ~handle() { reset(); }

    [[nodiscard]] hid_t get() const { return id_; }
    [[nodiscard]] bool valid() const { return id_ >= 0; }
    void reset() {
        if (id_ >= 0 && close_ != nullptr) {
            close_(id_);
        }
        id_ = H5I_INVALID_HID;
    }

private:
    hid_t id_ = H5I_INVALID_HID;
    closer close_ = nullptr;
};

// Throws io_error("<context>: <what>: <HDF5 detail>") when id is negative.
inline handle checked(hid_t id, handle::closer close, std::string_view context,
                      std::string_view what) {
    if (id < 0) {
        throw io_error(
            emofuse::detail::concat_message(context, ": ", what, ": ", hdf5_error_text()));
    }
    return handle(id, close);
}

inline void check(herr_t status, std::string_view context, std::string_view what) {
    if (status < 0) {
        throw io_error(
            emofuse::detail::concat_message(context, ": ", what, ": ", hdf5_error_text()));
    }
}

// Names of the links in a group, in HDF5's name order (byte-wise), as h5py lists them.
inline std::vector<std::string> link_names(hid_t group, std::string_view context) {
    std::vector<std::string> names;
    hsize_t index = 0;
    const herr_t status = H5Literate(
        group, H5_INDEX_NAME, H5_ITER_INC, &index,
        [](hid_t, const char* name, const H5L_info_t*, void* out) -> herr_t {
            static_cast<std::vector<std::string>*>(out)->emplace_back(name);
            return 0;
        },
        &names);
    check(status, context, "listing a group");
    return names;
}

// File access properties with a small metadata cache: HDF5's adaptive cache grows towards
// 32 MiB per open file, which would make memory grow with the part of a file visited
// instead of staying bounded by one video.
inline handle bounded_file_access(std::string_view context) {
    handle fapl = checked(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, context, "file access");
    H5AC_cache_config_t cache;
    cache.version = H5AC__CURR_CACHE_CONFIG_VERSION;
    check(H5Pget_mdc_config(fapl.get(), &cache), context, "metadata cache");
    cache.set_initial_size = 1;
    cache.initial_size = 1 << 20;
    cache.min_size = 1 << 20;
    cache.max_size = 4 << 20;
    check(H5Pset_mdc_config(fapl.get(), &cache), context, "metadata cache");
    return fapl;
}

// Access properties (for H5Gopen2 and H5Dopen2) that refuse to follow external links, even
// through a soft link: a hostile file must not make the reader open other files on disk.
inline handle local_links_only(hid_t list_class, std::string_view context) {
    handle access = checked(H5Pcreate(list_class), H5Pclose, context, "access properties");
    check(H5Pset_elink_cb(
              access.get(),
              [](const char*, const char*, const char*, const char*, unsigned*, hid_t,
                 void*) -> herr_t { return -1; },
              nullptr),
          context, "access properties");
    return access;
}

// Throws io_error when `name` in `group` is an external or user-defined link (the reader
// only follows links inside the file).
inline void require_local_link(hid_t group, const char* name, std::string_view context) {
    H5L_info_t info;
    if (H5Lget_info(group, name, &info, H5P_DEFAULT) < 0) {
        H5Eclear2(H5E_DEFAULT);
        return; // a missing link is reported by the open that follows
    }
    if (info.type != H5L_TYPE_HARD && info.type != H5L_TYPE_SOFT) {
        throw io_error(emofuse::detail::concat_message(
            context, ": '", name, "' is a link to another file (not followed)"));
    }
}

// A variable-length UTF-8 string type (h5py's special_dtype(vlen=str)).
inline handle vlen_string_type() {
    handle type = checked(H5Tcopy(H5T_C_S1), H5Tclose, "csd", "string type");
    H5Tset_size(type.get(), H5T_VARIABLE);
    H5Tset_cset(type.get(), H5T_CSET_UTF8);
    return type;
}

} // namespace emofuse::io::csd::detail
