// libFuzzer target: the .csd reader on HDF5 files BUILT from the fuzz input. The input is a
// recipe (read with FuzzedDataProvider) for a .csd-like file made through the libhdf5 C API in
// memory: roots, `data` and `metadata` present, missing or of the wrong kind, odd entry names,
// datasets of any rank, type, layout and declared extent (huge chunked extents never written
// included), hostile times, metadata of the wrong type. Every file is valid HDF5, so what is
// fuzzed is emofuse's handling of hostile *content*, not libhdf5's own parser of damaged bytes
// (fuzz_csd_reader covers that with a fixed seed replay; see docs/alignment.md, "Fuzzing").
//
// Accepted outcomes: success or an emofuse::error. Any other exception, a crash, a sanitizer
// report, a leaked HDF5 handle or a huge allocation is a bug. Deterministic given the input:
// no clock (object time stamps are off), no randomness but the provider's bytes, no disk I/O
// (the core driver without backing store; external storage and links name a path that cannot
// exist, so following them fails the same way every time).
#include <emofuse/align/computational_sequence.hpp>
#include <emofuse/io/csd/hdf5.hpp>
#include <emofuse/io/csd/reader.hpp>

#include "objects_closed.hpp"

#include <fuzzer/FuzzedDataProvider.h>
#include <hdf5.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <vector>

namespace {

using emofuse::io::csd::detail::handle;

constexpr const char* missing_path = "/nonexistent-emofuse-fuzz/elsewhere.h5";
constexpr std::size_t max_written_elements = 4096; // per dataset, keeps one input fast
constexpr hsize_t max_plain_bytes = 1 << 20;       // contiguous/compact datasets stay small

// Builds one file in memory from the recipe. HDF5 calls that the recipe makes fail (an invalid
// name, a chunk larger than a fixed extent...) just leave that object out: the file is
// whatever HDF5 accepted.
class recipe_builder {
public:
    explicit recipe_builder(FuzzedDataProvider& in) : in_(in) {}

    std::vector<unsigned char> build() {
        handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
        H5Pset_fapl_core(fapl.get(), 1 << 14, 0);
        H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG);
        if (in_.ConsumeBool()) {
            H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V18, H5F_LIBVER_LATEST);
        }
        handle file(H5Fcreate("fuzz-build", H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), H5Fclose);
        if (!file.valid()) {
            std::abort(); // the builder itself must always work
        }
        gcpl_ = handle(H5Pcreate(H5P_GROUP_CREATE), H5Pclose);
        H5Pset_obj_track_times(gcpl_.get(), 0);
        const int roots = in_.ConsumeIntegralInRange(0, 3);
        for (int r = 0; r < roots; ++r) {
            add_root(file.get());
        }
        H5Fflush(file.get(), H5F_SCOPE_GLOBAL);
        const ssize_t size = H5Fget_file_image(file.get(), nullptr, 0);
        if (size <= 0) {
            std::abort();
        }
        std::vector<unsigned char> image(static_cast<std::size_t>(size));
        if (H5Fget_file_image(file.get(), image.data(), image.size()) != size) {
            std::abort();
        }
        gcpl_.reset();
        return image;
    }

private:
    static constexpr std::array<const char*, 8> root_names{"words", "audio",   "a", "zz",
                                                           "data",  "COVAREP", "~", "b"};

    std::string odd_name() {
        switch (in_.ConsumeIntegralInRange(0, 9)) {
        case 0:
            return "v";
        case 1:
            return "v[" + std::to_string(in_.ConsumeIntegralInRange(0, 20)) + "]";
        case 2:
            return "[";
        case 3:
            return "vid\xc3\xa9o-\xe2\x82\xac"; // UTF-8, no '/'
        case 4:
            return " ";
        case 5:
            return std::string(in_.ConsumeIntegralInRange<std::size_t>(1, 4096), 'x');
        case 6:
            return "v[0][1]";
        case 7:
            return ".";
        case 8:
            return "a\tb";
        default: {
            std::string s = in_.ConsumeRandomLengthString(24);
            std::replace(s.begin(), s.end(), '/', '_');
            return s; // may be empty: HDF5 refuses it and the object is left out
        }
        }
    }

    handle group(hid_t parent, const std::string& name) {
        return handle(H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, gcpl_.get(), H5P_DEFAULT),
                      H5Gclose);
    }

    // A link that is not a hard link to a group: a dangling soft link, a soft link elsewhere
    // in the file, or an external link to a file that cannot exist.
    void odd_link(hid_t parent, const std::string& name) {
        switch (in_.ConsumeIntegralInRange(0, 2)) {
        case 0:
            H5Lcreate_soft("/no/such/object", parent, name.c_str(), H5P_DEFAULT, H5P_DEFAULT);
            break;
        case 1:
            H5Lcreate_soft("/", parent, name.c_str(), H5P_DEFAULT, H5P_DEFAULT);
            break;
        default:
            H5Lcreate_external(missing_path, "/x", parent, name.c_str(), H5P_DEFAULT, H5P_DEFAULT);
            break;
        }
    }

    void add_root(hid_t file) {
        const std::string name =
            in_.ConsumeBool()
                ? root_names[in_.ConsumeIntegralInRange<std::size_t>(0, root_names.size() - 1)]
                : odd_name();
        switch (in_.ConsumeIntegralInRange(0, 5)) {
        case 0:
            add_dataset(file, name, role::number);
            return; // root is a dataset
        case 1:
            odd_link(file, name);
            return;
        default:
            break;
        }
        handle root = group(file, name);
        if (!root.valid()) {
            return;
        }
        // data: group (usually), dataset, odd link or missing
        switch (in_.ConsumeIntegralInRange(0, 7)) {
        case 0:
            break;
        case 1:
            add_dataset(root.get(), "data", role::number);
            break;
        case 2:
            odd_link(root.get(), "data");
            break;
        default:
            add_data(root.get());
            break;
        }
        switch (in_.ConsumeIntegralInRange(0, 4)) {
        case 0:
            break;
        case 1:
            add_dataset(root.get(), "metadata", role::metadata);
            break;
        case 2:
            odd_link(root.get(), "metadata");
            break;
        default:
            add_metadata(root.get());
            break;
        }
    }

    void add_data(hid_t root) {
        handle data = group(root, "data");
        if (!data.valid()) {
            return;
        }
        // Feature size and rows shared by the entries (a consistent file), varied per entry
        // by the dataset recipes below.
        columns_ = in_.ConsumeIntegralInRange<hsize_t>(0, 5);
        const int entries = in_.ConsumeIntegralInRange(0, 6);
        std::vector<std::string> made;
        for (int e = 0; e < entries; ++e) {
            const std::string name = odd_name();
            switch (in_.ConsumeIntegralInRange(0, 9)) {
            case 0:
                add_dataset(data.get(), name, role::number);
                break;
            case 1:
                odd_link(data.get(), name);
                break;
            case 2:
                if (!made.empty()) { // a second name for an earlier entry
                    H5Lcreate_hard(data.get(), made.back().c_str(), data.get(), name.c_str(),
                                   H5P_DEFAULT, H5P_DEFAULT);
                }
                break;
            default: {
                handle entry = group(data.get(), name);
                if (!entry.valid()) {
                    break;
                }
                made.push_back(name);
                rows_ = in_.ConsumeIntegralInRange<hsize_t>(0, 8);
                for (const role part : {role::intervals, role::features}) {
                    const char* part_name = part == role::intervals ? "intervals" : "features";
                    switch (in_.ConsumeIntegralInRange(0, 9)) {
                    case 0:
                        break; // missing
                    case 1:
                        group(entry.get(), part_name);
                        break;
                    case 2:
                        odd_link(entry.get(), part_name);
                        break;
                    default:
                        add_dataset(entry.get(), part_name, part);
                        break;
                    }
                }
                if (in_.ConsumeIntegralInRange(0, 7) == 0) {
                    add_dataset(entry.get(), odd_name(), role::number); // an extra object
                }
            }
            }
        }
    }

    void add_metadata(hid_t root) {
        handle meta = group(root, "metadata");
        if (!meta.valid()) {
            return;
        }
        const auto& keys = emofuse::io::csd::required_metadata_keys();
        const int count = in_.ConsumeIntegralInRange(0, 6);
        for (int m = 0; m < count; ++m) {
            const std::string name =
                in_.ConsumeBool()
                    ? keys[in_.ConsumeIntegralInRange<std::size_t>(0, keys.size() - 1)]
                    : odd_name();
            switch (in_.ConsumeIntegralInRange(0, 7)) {
            case 0:
                group(meta.get(), name);
                break;
            case 1:
                add_dataset(meta.get(), name, role::number);
                break;
            case 2:
                odd_link(meta.get(), name);
                break;
            default:
                add_dataset(meta.get(), name, role::metadata);
                break;
            }
        }
    }

    enum class role { intervals, features, number, metadata };

    enum class kind {
        f64,
        f32,
        i32,
        u8,
        i64,
        f32be,
        f64be,
        f16,
        fixed_string,
        vlen_string,
        compound,
        enumeration,
        bitfield,
        opaque,
        reference,
        vlen_f64,
        array
    };

    handle make_type(kind k) {
        switch (k) {
        case kind::f64:
            return handle(H5Tcopy(H5T_NATIVE_DOUBLE), H5Tclose);
        case kind::f32:
            return handle(H5Tcopy(H5T_NATIVE_FLOAT), H5Tclose);
        case kind::i32:
            return handle(H5Tcopy(H5T_STD_I32LE), H5Tclose);
        case kind::u8:
            return handle(H5Tcopy(H5T_STD_U8LE), H5Tclose);
        case kind::i64:
            return handle(H5Tcopy(H5T_STD_I64BE), H5Tclose);
        case kind::f32be:
            return handle(H5Tcopy(H5T_IEEE_F32BE), H5Tclose);
        case kind::f64be:
            return handle(H5Tcopy(H5T_IEEE_F64BE), H5Tclose);
        case kind::f16: { // IEEE half precision, as numpy's float16 is stored by h5py
            handle t(H5Tcopy(H5T_IEEE_F32LE), H5Tclose);
            H5Tset_fields(t.get(), 15, 10, 5, 0, 10);
            H5Tset_size(t.get(), 2);
            H5Tset_ebias(t.get(), 15);
            return t;
        }
        case kind::fixed_string: {
            handle t(H5Tcopy(H5T_C_S1), H5Tclose);
            const std::size_t size = in_.ConsumeBool()
                                         ? in_.ConsumeIntegralInRange<std::size_t>(1, 64)
                                         : (std::size_t{1} << 24);
            H5Tset_size(t.get(), size);
            H5Tset_strpad(t.get(), static_cast<H5T_str_t>(in_.ConsumeIntegralInRange(0, 2)));
            H5Tset_cset(t.get(), in_.ConsumeBool() ? H5T_CSET_UTF8 : H5T_CSET_ASCII);
            return t;
        }
        case kind::vlen_string:
            return emofuse::io::csd::detail::vlen_string_type();
        case kind::compound: {
            handle t(H5Tcreate(H5T_COMPOUND, 16), H5Tclose);
            H5Tinsert(t.get(), "start", 0, H5T_NATIVE_DOUBLE);
            H5Tinsert(t.get(), "end", 8, H5T_NATIVE_DOUBLE);
            return t;
        }
        case kind::enumeration: {
            handle t(H5Tenum_create(H5T_NATIVE_INT), H5Tclose);
            int value = 0;
            H5Tenum_insert(t.get(), "zero", &value);
            value = 1;
            H5Tenum_insert(t.get(), "one", &value);
            return t;
        }
        case kind::bitfield:
            return handle(H5Tcopy(H5T_NATIVE_B16), H5Tclose);
        case kind::opaque: {
            handle t(H5Tcreate(H5T_OPAQUE, 4), H5Tclose);
            H5Tset_tag(t.get(), "emofuse fuzz");
            return t;
        }
        case kind::reference:
            return handle(H5Tcopy(H5T_STD_REF_OBJ), H5Tclose);
        case kind::vlen_f64:
            return handle(H5Tvlen_create(H5T_NATIVE_DOUBLE), H5Tclose);
        case kind::array: {
            const hsize_t dims[1] = {2};
            return handle(H5Tarray_create2(H5T_NATIVE_DOUBLE, 1, dims), H5Tclose);
        }
        }
        return handle();
    }

    static bool is_number(kind k) { return k <= kind::f16; }
    // Types whose in-memory form is plain bytes (no pointers), so a raw write is safe.
    static bool is_plain(kind k) {
        return k != kind::vlen_string && k != kind::reference && k != kind::vlen_f64;
    }

    hsize_t extent(hsize_t natural) {
        switch (in_.ConsumeIntegralInRange(0, 11)) {
        case 0:
            return in_.ConsumeIntegralInRange<hsize_t>(0, 9);
        case 1:
            return hsize_t{1} << in_.ConsumeIntegralInRange(20, 40); // huge, never written
        case 2:
            return 1000000000000ull;
        default:
            return natural;
        }
    }

    // One dataset in the role's natural shape and type, or (as the recipe says) another rank,
    // extent, type, layout and content.
    void add_dataset(hid_t parent, const std::string& name, role r) {
        const bool natural = in_.ConsumeIntegralInRange(0, 3) != 0;
        int rank = 2;
        std::array<hsize_t, 3> dims{rows_, r == role::intervals ? 2 : columns_, 1};
        kind k = r == role::features && in_.ConsumeBool() ? kind::f32 : kind::f64;
        if (r == role::metadata) {
            rank = in_.ConsumeBool() ? 0 : 1;
            dims = {1, 1, 1};
            k = in_.ConsumeBool() ? kind::vlen_string : kind::fixed_string;
        }
        if (r == role::number) {
            rank = in_.ConsumeIntegralInRange(0, 3);
        }
        if (!natural) {
            rank = in_.ConsumeIntegralInRange(0, 3);
            for (hsize_t& d : dims) {
                d = extent(d);
            }
            k = static_cast<kind>(in_.ConsumeIntegralInRange(0, static_cast<int>(kind::array)));
        }
        handle type = make_type(k);
        // dataspace: scalar, simple (rank 1..3) or null
        handle space;
        const bool null_space = !natural && in_.ConsumeIntegralInRange(0, 15) == 0;
        if (null_space) {
            space = handle(H5Screate(H5S_NULL), H5Sclose);
        } else if (rank == 0) {
            space = handle(H5Screate(H5S_SCALAR), H5Sclose);
        } else {
            std::array<hsize_t, 3> maxdims = dims;
            if (in_.ConsumeIntegralInRange(0, 5) == 0) {
                maxdims.fill(H5S_UNLIMITED);
            }
            space = handle(H5Screate_simple(rank, dims.data(), maxdims.data()), H5Sclose);
        }
        if (!type.valid() || !space.valid()) {
            return;
        }
        const hssize_t points = H5Sget_simple_extent_npoints(space.get());
        const std::size_t element = H5Tget_size(type.get());
        // (HDF5 accepts extents whose size overflows 64 bits: divide, never multiply)
        bool huge =
            points < 0 || element == 0 || static_cast<hsize_t>(points) > max_plain_bytes / element;
        // npoints wraps around for extents beyond 2^64 elements, and libhdf5 1.10.8 crashes
        // writing into them (chunk index arithmetic): those are only ever declared.
        hsize_t product = 1;
        bool overflowing = false;
        for (int d = 0; d < rank && !null_space; ++d) {
            overflowing = overflowing || __builtin_mul_overflow(product, dims[d], &product);
        }
        huge = huge || overflowing;
        huge = huge || product > max_plain_bytes / std::max<std::size_t>(element, 1);

        handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
        H5Pset_obj_track_times(dcpl.get(), 0);
        // layout: contiguous, chunked (+ filters), compact, external file, virtual
        int layout = in_.ConsumeIntegralInRange(0, 9);
        if (huge && rank > 0) {
            layout = 1; // a huge extent is only ever declared, never allocated
        }
        bool chunked = false;
        hsize_t chunk_bytes = 0; // HDF5 allocates a whole chunk when it writes into it
        switch (layout) {
        case 1:
        case 2:
        case 3:
        case 4: {
            if (rank == 0 || null_space) {
                break;
            }
            std::array<hsize_t, 3> chunk{};
            for (int d = 0; d < rank; ++d) {
                const hsize_t limit = std::max<hsize_t>(1, std::min<hsize_t>(dims[d], 16));
                chunk[d] = in_.ConsumeIntegralInRange<hsize_t>(1, limit);
            }
            if (in_.ConsumeIntegralInRange(0, 7) == 0) {
                chunk[0] = 1 << 20; // a chunk far larger than the data (unlimited extents only)
            }
            chunked = H5Pset_chunk(dcpl.get(), rank, chunk.data()) >= 0;
            chunk_bytes = element;
            for (int d = 0; d < rank; ++d) {
                chunk_bytes *= chunk[d];
            }
            if (layout >= 3) {
                if (in_.ConsumeBool()) {
                    H5Pset_shuffle(dcpl.get());
                }
                H5Pset_deflate(dcpl.get(), in_.ConsumeIntegralInRange(0u, 9u));
                if (layout == 4) {
                    H5Pset_fletcher32(dcpl.get());
                }
            }
            break;
        }
        case 5:
            H5Pset_layout(dcpl.get(), H5D_COMPACT);
            break;
        case 6:
            H5Pset_external(dcpl.get(), missing_path, 0, H5F_UNLIMITED);
            break;
        case 7:
            if (!null_space) {
                handle source(H5Scopy(space.get()), H5Sclose);
                H5Pset_virtual(dcpl.get(), space.get(), missing_path, "/source", source.get());
            }
            break;
        default:
            break; // contiguous
        }
        if (in_.ConsumeIntegralInRange(0, 7) == 0 && is_number(k)) {
            const double fill = special_value();
            H5Pset_fill_value(dcpl.get(), H5T_NATIVE_DOUBLE, &fill);
        }
        handle ds(H5Dcreate2(parent, name.c_str(), type.get(), space.get(), H5P_DEFAULT, dcpl.get(),
                             H5P_DEFAULT),
                  H5Dclose);
        if (!ds.valid() || null_space || overflowing || layout == 6 || layout == 7) {
            return; // external and virtual data live elsewhere: nothing is written
        }
        // content: none, everything, the first row only, or a raw chunk
        switch (in_.ConsumeIntegralInRange(0, 7)) {
        case 0:
            return;
        case 1: {
            // libhdf5 1.10.8 dereferences NULL (in H5B_find) when it writes a raw chunk into
            // an empty extent or a huge one.
            if (!chunked || huge ||
                std::any_of(dims.begin(), dims.begin() + rank, [](hsize_t d) { return d == 0; })) {
                return;
            }
            const std::string bytes = in_.ConsumeRandomLengthString(256);
            const std::array<hsize_t, 3> origin{};
            H5Dwrite_chunk(ds.get(), H5P_DEFAULT, in_.ConsumeBool() ? 0u : 1u, origin.data(),
                           bytes.size(), bytes.data());
            return;
        }
        default:
            break;
        }
        if (chunk_bytes > max_plain_bytes) {
            return; // a huge chunk is declared, written only raw (above)
        }
        switch (in_.ConsumeIntegralInRange(0, 3)) {
        case 0:
            if (rank > 0) {
                write_first_row(ds.get(), space.get(), rank, dims, k, type.get(), r);
                return;
            }
            break;
        default:
            break;
        }
        if (huge || static_cast<std::size_t>(points) > max_written_elements) {
            if (rank > 0) {
                write_first_row(ds.get(), space.get(), rank, dims, k, type.get(), r);
            }
        } else {
            write(ds.get(), H5S_ALL, static_cast<std::size_t>(points), k, type.get(), r);
        }
    }

    void write_first_row(hid_t ds, hid_t space, int rank, const std::array<hsize_t, 3>& dims,
                         kind k, hid_t type, role r) {
        std::array<hsize_t, 3> start{}, count{};
        std::size_t n = 1;
        for (int d = 0; d < rank; ++d) {
            count[d] = d == 0 ? 1 : std::min<hsize_t>(dims[d], 64);
            n *= static_cast<std::size_t>(count[d]);
        }
        if (n == 0) {
            return;
        }
        handle file_space(H5Scopy(space), H5Sclose);
        H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(),
                            nullptr);
        handle memory(H5Screate_simple(rank, count.data(), nullptr), H5Sclose);
        write(ds, file_space.get(), n, k, type, r, memory.get());
    }

    double special_value() {
        switch (in_.ConsumeIntegralInRange(0, 8)) {
        case 0:
            return std::numeric_limits<double>::quiet_NaN();
        case 1:
            return std::numeric_limits<double>::infinity();
        case 2:
            return -std::numeric_limits<double>::infinity();
        case 3:
            return -1.0;
        case 4:
            return 1e300;
        case 5:
            return std::numeric_limits<double>::denorm_min();
        case 6:
            return -0.0;
        case 7:
            return 4294967296.5;
        default:
            return in_.ConsumeFloatingPoint<double>();
        }
    }

    // Writes n elements: numbers as doubles converted by HDF5 (times increasing by default,
    // with a few hostile values), strings from the recipe, other plain types as raw bytes.
    void write(hid_t ds, hid_t file_space, std::size_t n, kind k, hid_t type, role r,
               hid_t memory_space = H5S_ALL) {
        if (n * H5Tget_size(type) > max_plain_bytes) {
            return; // e.g. one 16 MiB string: declared, never written
        }
        if (is_number(k) && in_.ConsumeIntegralInRange(0, 3) != 0) {
            std::vector<double> values(n);
            for (std::size_t i = 0; i < n; ++i) {
                // intervals row i = [i, i + 1] seconds; features count up
                values[i] = r == role::intervals ? static_cast<double>(i / 2 + i % 2)
                                                 : static_cast<double>(i) * 0.25;
            }
            const int hostile = in_.ConsumeIntegralInRange(0, 3);
            for (int h = 0; h < hostile && n > 0; ++h) {
                values[in_.ConsumeIntegralInRange<std::size_t>(0, n - 1)] = special_value();
            }
            H5Dwrite(ds, H5T_NATIVE_DOUBLE, memory_space, file_space, H5P_DEFAULT, values.data());
        } else if (k == kind::vlen_string) {
            std::vector<std::string> text(n);
            std::vector<const char*> pointers(n);
            for (std::size_t i = 0; i < n; ++i) {
                text[i] = in_.ConsumeRandomLengthString(48);
                pointers[i] = text[i].c_str();
            }
            handle memory = emofuse::io::csd::detail::vlen_string_type();
            H5Dwrite(ds, memory.get(), memory_space, file_space, H5P_DEFAULT, pointers.data());
        } else if (is_plain(k)) {
            const std::size_t bytes = n * H5Tget_size(type);
            std::vector<unsigned char> raw(bytes);
            const std::vector<std::uint8_t> given =
                in_.ConsumeBytes<std::uint8_t>(std::min<std::size_t>(bytes, 512));
            for (std::size_t i = 0; i < bytes && !given.empty(); ++i) {
                raw[i] = given[i % given.size()];
            }
            H5Dwrite(ds, type, memory_space, file_space, H5P_DEFAULT, raw.data());
        }
    }

    FuzzedDataProvider& in_;
    handle gcpl_;
    hsize_t rows_ = 2;
    hsize_t columns_ = 1;
};

// Opens the image with the reader and goes through everything a caller would: keys, rows,
// metadata, every entry in both precisions, the whole sequence and its validation.
void read_everything(std::span<const unsigned char> image) {
    namespace csd = emofuse::io::csd;
    const auto file = csd::file_source::from_image(image, "fuzz-recipe");
    (void)file->metadata();
    std::vector<double> intervals;
    std::vector<float> features32;
    std::vector<double> features64;
    for (const auto& key : file->keys()) {
        try {
            (void)file->rows(key);
            intervals.clear();
            features32.clear();
            file->read(key, intervals, features32);
            intervals.clear();
            file->read(key, intervals, features64);
            features64.clear();
        } catch (const emofuse::error&) {
            // one bad entry; the next may be fine
        }
    }
    if (file->type() == emofuse::align::feature_type::float32) {
        emofuse::align::validate(csd::read_sequence<float>(*file));
    } else {
        emofuse::align::validate(csd::read_sequence<double>(*file));
    }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    emofuse::io::csd::detail::silence_hdf5();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider in(data, size);
    const std::vector<unsigned char> image = recipe_builder(in).build();
    if (H5Fget_obj_count(static_cast<hid_t>(H5F_OBJ_ALL), H5F_OBJ_ALL) != 0) {
        std::fprintf(stderr, "the recipe builder left HDF5 objects open\n");
        std::abort();
    }
    try {
        read_everything(image);
    } catch (const emofuse::error&) {
        // a clear rejection is an accepted outcome
    }
    abort_if_hdf5_objects_open();
    return 0;
}
