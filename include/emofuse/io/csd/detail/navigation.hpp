// emofuse/io/csd/detail/navigation.hpp — finding things in a .csd file: groups and datasets
// opened by link name without ever following a link to another file, and the shape, element
// type and first element of a dataset, each with an io_error naming where it went wrong.
#pragma once

#include "emofuse/core/error.hpp"
#include "emofuse/io/csd/hdf5.hpp"
#include "emofuse/io/csd/limits.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace emofuse::io::csd::detail {

/// True when `parent` has a link called `name` (a failed lookup counts as none).
inline bool has_link(hid_t parent, const char* name) {
    if (H5Lexists(parent, name, H5P_DEFAULT) > 0) {
        return true;
    }
    H5Eclear2(H5E_DEFAULT);
    return false;
}

/// Opens groups and datasets by link name, following only links inside the file: the link is
/// checked first (require_local_link), and the access properties refuse external links even
/// when a soft link leads to one.
class local_links {
public:
    local_links() = default;
    explicit local_links(std::string_view context)
        : groups_(local_links_only(H5P_GROUP_ACCESS, context)),
          datasets_(local_links_only(H5P_DATASET_ACCESS, context)) {}

    /// The group `name` of `parent`; io_error("<where>: <not_a_group>: ...") if it is none.
    [[nodiscard]] handle group(hid_t parent, const char* name, std::string_view where,
                               std::string_view not_a_group) const {
        require_local_link(parent, name, where);
        return checked(H5Gopen2(parent, name, groups_.get()), H5Gclose, where, not_a_group);
    }

    /// The dataset `name` of `parent`; io_error("<where>: <not_a_dataset>: ...") if it is none.
    [[nodiscard]] handle dataset(hid_t parent, const char* name, std::string_view where,
                                 std::string_view not_a_dataset) const {
        require_local_link(parent, name, where);
        return checked(H5Dopen2(parent, name, datasets_.get()), H5Dclose, where, not_a_dataset);
    }

private:
    handle groups_;
    handle datasets_;
};

/// The extent of a rank-2 dataset, no larger than max_dataset_elements; io_error otherwise.
inline void rank2_extent(hid_t dataset, const std::string& where, const char* what,
                         hsize_t extent[2]) {
    handle space = checked(H5Dget_space(dataset), H5Sclose, where, what);
    const int rank = H5Sget_simple_extent_ndims(space.get());
    if (rank != 2) {
        throw io_error(where + ": " + what + ": expected a rank-2 dataset, got rank " +
                       std::to_string(rank));
    }
    H5Sget_simple_extent_dims(space.get(), extent, nullptr);
    if (extent[1] != 0 && extent[0] > max_dataset_elements / extent[1]) {
        throw io_error(where + ": " + what + ": implausible size " + std::to_string(extent[0]) +
                       " x " + std::to_string(extent[1]));
    }
}

/// Bytes per element of a dataset's stored type; only numbers are accepted.
inline std::size_t numeric_size(hid_t dataset, const std::string& where, const char* what) {
    handle type = checked(H5Dget_type(dataset), H5Tclose, where, what);
    const H5T_class_t cls = H5Tget_class(type.get());
    if (cls != H5T_FLOAT && cls != H5T_INTEGER) {
        throw io_error(where + ": " + what +
                       ": expected a numeric type (float or integer), got HDF5 type class " +
                       std::to_string(static_cast<int>(cls)) +
                       (cls == H5T_STRING ? " (strings: use a word-vector sequence)" : ""));
    }
    return H5Tget_size(type.get());
}

/// A copy of `space` with only its first element selected.
inline handle first_element(hid_t space, const std::string& where) {
    handle first = checked(H5Scopy(space), H5Sclose, where, "space");
    const int rank = H5Sget_simple_extent_ndims(first.get());
    if (rank > 0) {
        const std::vector<hsize_t> start(static_cast<std::size_t>(rank), 0);
        const std::vector<hsize_t> count(static_cast<std::size_t>(rank), 1);
        check(H5Sselect_hyperslab(first.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(),
                                  nullptr),
              where, "selecting the first string");
    }
    return first;
}

} // namespace emofuse::io::csd::detail
