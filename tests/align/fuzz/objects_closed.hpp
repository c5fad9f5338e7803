// Shared by the .csd fuzz targets: after each input the reader must have closed every HDF5
// file, group, dataset, type and space it opened.
#pragma once

#include <hdf5.h>

#include <cstdio>
#include <cstdlib>

inline void abort_if_hdf5_objects_open() {
    const ssize_t left_open = H5Fget_obj_count(static_cast<hid_t>(H5F_OBJ_ALL), H5F_OBJ_ALL);
    if (left_open != 0) {
        std::fprintf(stderr, "the reader left %zd HDF5 objects open\n", left_open);
        std::abort();
    }
}
