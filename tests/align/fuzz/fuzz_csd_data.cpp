// libFuzzer target: the .csd reader on real .csd files whose dataset *contents* are mutated.
// A custom mutator opens the input with libhdf5, lists the bytes that hold raw dataset data
// (contiguous storage and stored chunks, gzip-compressed or not) and lets libFuzzer mutate
// only those, in place: the HDF5 metadata (superblock, object headers, B-trees, heaps) is
// never touched, so the runs stay clear of libhdf5 1.10.8's own crashes on damaged metadata
// (see docs/alignment.md, "Fuzzing") and reach what emofuse must handle: any times, any
// feature values, fixed strings, damaged or bomb-like gzip chunks, broken checksums.
// Variable-length and reference data are left alone (their bytes are heap addresses, i.e.
// metadata). Accepted outcomes: success or an emofuse::error.
//
// Deterministic: the mutator depends only on its input and libFuzzer's seed.
#include <emofuse/align/computational_sequence.hpp>
#include <emofuse/io/csd/hdf5.hpp>
#include <emofuse/io/csd/reader.hpp>

#include "objects_closed.hpp"

#include <hdf5.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <span>
#include <utility>
#include <vector>

extern "C" std::size_t LLVMFuzzerMutate(std::uint8_t* data, std::size_t size, std::size_t max_size);

namespace {

using emofuse::io::csd::detail::handle;
using region = std::pair<std::size_t, std::size_t>; // offset, length in the image

struct visit_state {
    std::size_t image_size = 0;
    std::vector<region> regions;
};

void add_region(visit_state& state, haddr_t address, hsize_t length) {
    if (address != HADDR_UNDEF && length > 0 && address < state.image_size &&
        length <= state.image_size - address) {
        state.regions.emplace_back(static_cast<std::size_t>(address),
                                   static_cast<std::size_t>(length));
    }
}

herr_t visit_object(hid_t parent, const char* name, const H5O_info_t* info, void* data) {
    if (info->type != H5O_TYPE_DATASET) {
        return 0;
    }
    auto& state = *static_cast<visit_state*>(data);
    handle ds(H5Dopen2(parent, name, H5P_DEFAULT), H5Dclose);
    handle type(H5Dget_type(ds.get()), H5Tclose);
    handle space(H5Dget_space(ds.get()), H5Sclose);
    handle dcpl(H5Dget_create_plist(ds.get()), H5Pclose);
    if (!ds.valid() || !type.valid() || !space.valid() || !dcpl.valid() ||
        H5Tis_variable_str(type.get()) != 0 || H5Tdetect_class(type.get(), H5T_VLEN) != 0 ||
        H5Tdetect_class(type.get(), H5T_REFERENCE) != 0) {
        return 0;
    }
    switch (H5Pget_layout(dcpl.get())) {
    case H5D_CONTIGUOUS:
        if (H5Pget_external_count(dcpl.get()) == 0) {
            add_region(state, H5Dget_offset(ds.get()), H5Dget_storage_size(ds.get()));
        }
        break;
    case H5D_CHUNKED: {
        hsize_t chunks = 0;
        if (H5Dget_num_chunks(ds.get(), space.get(), &chunks) < 0) {
            break;
        }
        for (hsize_t i = 0; i < chunks && i < 64; ++i) {
            hsize_t offset[H5S_MAX_RANK];
            unsigned mask = 0;
            haddr_t address = HADDR_UNDEF;
            hsize_t length = 0;
            if (H5Dget_chunk_info(ds.get(), space.get(), i, offset, &mask, &address, &length) >=
                0) {
                add_region(state, address, length);
            }
        }
        break;
    }
    default:
        break; // compact data lives inside an object header: metadata
    }
    return 0;
}

// The raw-data regions of an HDF5 image (empty when libhdf5 cannot open it).
std::vector<region> raw_data_regions(const std::uint8_t* data, std::size_t size) {
    visit_state state;
    state.image_size = size;
    if (size < 8) {
        return {};
    }
    handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
    H5Pset_fapl_core(fapl.get(), 1 << 16, 0);
    H5Pset_file_image(fapl.get(), const_cast<std::uint8_t*>(data), size);
    handle file(H5Fopen("fuzz-mutator", H5F_ACC_RDONLY, fapl.get()), H5Fclose);
    if (file.valid()) {
        H5Ovisit2(file.get(), H5_INDEX_NAME, H5_ITER_INC, visit_object, &state, H5O_INFO_BASIC);
    }
    H5Eclear2(H5E_DEFAULT);
    return state.regions;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    emofuse::io::csd::detail::silence_hdf5();
    return 0;
}

extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size, std::size_t,
                                               unsigned int seed) {
    const std::vector<region> regions = raw_data_regions(data, size);
    if (regions.empty()) {
        return size; // not an HDF5 file, or no raw data: nothing may change
    }
    std::minstd_rand pick(seed);
    const int edits = 1 + static_cast<int>(pick() % 3);
    for (int e = 0; e < edits; ++e) {
        const auto [offset, length] = regions[pick() % regions.size()];
        // In place and at most `length` bytes: the file keeps its size and layout (a
        // shrinking mutation leaves the region's old tail bytes behind).
        LLVMFuzzerMutate(data + offset, length, length);
    }
    return size;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace csd = emofuse::io::csd;
    try {
        const auto file =
            csd::file_source::from_image(std::span<const unsigned char>(data, size), "fuzz-data");
        std::vector<double> intervals;
        std::vector<float> features;
        for (const auto& key : file->keys()) {
            try {
                intervals.clear();
                features.clear();
                file->read(key, intervals, features);
            } catch (const emofuse::error&) {
            }
        }
        if (file->type() == emofuse::align::feature_type::float32) {
            emofuse::align::validate(csd::read_sequence<float>(*file));
        } else {
            emofuse::align::validate(csd::read_sequence<double>(*file));
        }
    } catch (const emofuse::error&) {
    }
    abort_if_hdf5_objects_open();
    return 0;
}
