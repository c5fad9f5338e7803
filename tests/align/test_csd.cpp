// .csd reader, writer and align_files against the numpy/h5py fixtures; malformed files.
#include "fixture_io.hpp"

#include <emofuse/io/csd/align_files.hpp>
#include <emofuse/io/csd/detail/hdf5_lock.hpp>
#include <emofuse/io/csd/reader.hpp>
#include <emofuse/io/csd/writer.hpp>
#include <emofuse/platform/parallel.hpp>

#include <doctest/doctest.h>
#include <xtensor/xnpy.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <thread>
#include <vector>

using namespace emofuse::align;
namespace csd = emofuse::io::csd;
namespace fs = std::filesystem;

namespace {

constexpr double tolerance = 1e-6; // as in test_interval_align.cpp

fs::path data_file(const std::string& name) {
    return fs::path(EMOFUSE_TEST_DATA_DIR) / name;
}

// A fresh, empty directory under the system temp dir, removed at scope exit.
struct temp_dir {
    fs::path path;
    temp_dir() {
        std::random_device rd;
        path = fs::temp_directory_path() / ("emofuse-align-test-" + std::to_string(rd()));
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    std::size_t file_count() const {
        return static_cast<std::size_t>(
            std::distance(fs::directory_iterator(path), fs::directory_iterator()));
    }
};

const std::vector<std::string> sequence_names{"words", "audio", "visual", "labels"};

} // namespace

TEST_CASE("the reader loads SDK-layout files, gzip-compressed or not, with their metadata") {
    const auto fixture = align_test::load_json("interval_align.json");
    for (std::size_t s = 0; s < sequence_names.size(); ++s) {
        INFO(sequence_names[s]);
        const csd::file_source file(data_file(sequence_names[s] + ".csd"));
        CHECK(file.name() == sequence_names[s]);
        const bool is_float = fixture.at("sequences")[s].at("dtype") == "float32";
        CHECK((file.type() == feature_type::float32) == is_float);
        CHECK(file.feature_size() ==
              fixture.at("sequences")[s].at("feature_size").get<std::size_t>());
        for (const auto& key : csd::required_metadata_keys()) {
            CHECK(file.metadata().count(key) == 1);
        }
        CHECK(file.metadata().at("root name") == "\"" + sequence_names[s] + "\"");
        const auto seq = csd::read_csd(data_file(sequence_names[s] + ".csd"));
        align_test::check_entries(seq, fixture.at("sequences")[s], 0.0);
    }
}

TEST_CASE("aligning from files streams the same result as in memory") {
    const auto fixture = align_test::load_json("interval_align.json");
    const auto& c = fixture.at("cases")[2]; // words, all collapse functions, impute
    std::vector<std::unique_ptr<csd::file_source>> files;
    std::vector<const sequence_source*> sources;
    for (const auto& name : sequence_names) {
        files.push_back(std::make_unique<csd::file_source>(data_file(name + ".csd")));
        sources.push_back(files.back().get());
    }
    align_options options;
    options.reference = "words";
    for (const auto& name : c.at("collapse")) {
        options.collapse.push_back(collapse::by_name(name.get<std::string>()));
    }
    options.impute_zeros = true;
    std::vector<any_sequence> merged;
    align_stream(sources, options, [&](std::string_view, aligned_chunk& chunk) {
        if (merged.empty()) {
            for (const auto& rows : chunk) {
                merged.push_back(std::visit(
                    [](const auto& r) { return any_sequence(to_computational_sequence(r)); },
                    rows));
            }
            return;
        }
        for (std::size_t s = 0; s < chunk.size(); ++s) {
            std::visit(
                [](auto& dst, const auto& src) {
                    if constexpr (std::is_same_v<
                                      typename std::decay_t<decltype(dst)>::value_type,
                                      typename std::decay_t<decltype(src)>::value_type>) {
                        append_entries(src, dst);
                    }
                },
                merged[s], chunk[s]);
        }
    });
    for (std::size_t s = 0; s < merged.size(); ++s) {
        align_test::check_entries(merged[s], c.at("expected")[s], tolerance);
    }
}

TEST_CASE_TEMPLATE("the writer round-trips entries and completes the SDK metadata", T, float,
                   double) {
    temp_dir dir;
    computational_sequence<T> seq{"covarep", {{"creator", "\"me\""}}, 3, {}};
    seq.entries["a[0]"].intervals = {{0.0, 1.5}};
    seq.entries["a[0]"].features = {{1, 2, 3}};
    seq.entries["b"].intervals = {{0.0, 1.0}, {1.0, 2.0}};
    seq.entries["b"].features = {{4, 5, 6}, {7, 8, 9}};
    const fs::path path = dir.path / "covarep.csd";
    csd::write_csd(path, seq);
    // Only the finished file is left: no temporary (`covarep.csd.emofuse-tmp.<pid>.<n>`).
    for (const auto& entry : fs::directory_iterator(dir.path)) {
        CHECK(entry.path().filename() == "covarep.csd");
    }
    const csd::file_source file(path);
    CHECK(file.name() == "covarep");
    CHECK(file.type() == feature_type_of<T>);
    CHECK(file.metadata().at("creator") == "\"me\"");
    CHECK(file.metadata().at("root name") == "\"covarep\"");
    CHECK(file.metadata().count("dimension namescomputational sequence version") == 1);
    const auto back = csd::read_sequence<T>(file);
    CHECK(back.entries.size() == 2);
    CHECK(back.entries.at("b").features == seq.entries.at("b").features);
    CHECK(back.entries.at("a[0]").intervals == seq.entries.at("a[0]").intervals);
    // Tiny datasets are compact; with compact_below = 0 every dataset is gzip-compressed
    // like the SDK's deploy.
    const auto layout_and_filters = [](const fs::path& csd_path) {
        hid_t f = H5Fopen(csd_path.string().c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
        hid_t d = H5Dopen2(f, "/covarep/data/b/features", H5P_DEFAULT);
        hid_t plist = H5Dget_create_plist(d);
        const auto out = std::make_pair(H5Pget_layout(plist), H5Pget_nfilters(plist));
        H5Pclose(plist);
        H5Dclose(d);
        H5Fclose(f);
        return out;
    };
    CHECK(layout_and_filters(path) == std::make_pair(H5D_COMPACT, 0));
    csd::writer_options sdk_like;
    sdk_like.compact_below = 0;
    const fs::path gz = dir.path / "covarep_gzip.csd";
    csd::write_csd(gz, seq, sdk_like);
    CHECK(layout_and_filters(gz) == std::make_pair(H5D_CHUNKED, 1));
    CHECK(csd::read_sequence<T>(csd::file_source(gz)).entries.at("b").features ==
          seq.entries.at("b").features);
    CHECK(csd::json_string("a\"b\\c\n") == "\"a\\\"b\\\\c\\n\"");
}

TEST_CASE("a writer dropped before commit leaves no file") {
    temp_dir dir;
    {
        csd::writer w(dir.path / "x.csd", "x");
        segment<float> s;
        s.intervals = {{0.0, 1.0}};
        s.features = {{1}};
        w.write("v", s);
    }
    CHECK(dir.file_count() == 0);
    CHECK_THROWS_AS(csd::writer(dir.path / "y.csd", "a/b"), emofuse::value_error);
}

TEST_CASE("align_files writes aligned .csd files and get_tensors-style .npy tensors") {
    const auto fixture = align_test::load_json("interval_align.json");
    const auto& c = fixture.at("cases")[1]; // words, mean, no impute
    temp_dir dir;
    std::vector<fs::path> inputs;
    for (const auto& name : sequence_names) {
        inputs.push_back(data_file(name + ".csd"));
    }
    csd::align_files_options options;
    options.align.reference = "words";
    options.align.collapse = {collapse::mean()};
    options.tensors = tensor_options{3, pad_side::left, truncate_side::as_sdk};
    const auto result = csd::align_files(inputs, dir.path, options);
    CHECK(result.report.removed_ids == std::vector<std::string>{"vidC"});
    for (std::size_t s = 0; s < sequence_names.size(); ++s) {
        const auto seq = csd::read_csd(dir.path / (sequence_names[s] + ".csd"));
        align_test::check_entries(seq, c.at("expected")[s], tolerance);
        const csd::file_source file(dir.path / (sequence_names[s] + ".csd"));
        CHECK(file.metadata().at("creator") == "\"test fixture creator\"");
    }
    const auto& want = c.at("tensors_left");
    std::ifstream keys_file(dir.path / "tensor_keys.txt");
    std::vector<std::string> keys;
    for (std::string line; std::getline(keys_file, line);) {
        keys.push_back(line);
    }
    CHECK(keys == want.at("keys").get<std::vector<std::string>>());
    CHECK(result.tensor_samples == keys.size());
    const auto audio = xt::load_npy<float>((dir.path / "audio.npy").string());
    const auto words = xt::load_npy<double>((dir.path / "words.npy").string());
    REQUIRE(audio.dimension() == 3);
    REQUIRE(audio.shape()[0] == keys.size());
    CHECK(words.shape()[2] == 3);
    for (std::size_t n = 0; n < keys.size(); ++n) {
        for (std::size_t l = 0; l < 3; ++l) {
            for (std::size_t j = 0; j < 4; ++j) {
                CHECK(std::abs(audio(n, l, j) - want.at("values")[1][n][l][j].get<double>()) <=
                      tolerance);
            }
        }
    }
    // The reference may be given by file stem too; an unknown one fails before any output.
    temp_dir stem_in, stem_out;
    fs::copy_file(data_file("words.csd"), stem_in.path / "glove_vectors.csd");
    fs::copy_file(data_file("audio.csd"), stem_in.path / "covarep.csd");
    options.align.reference = "glove_vectors";
    options.tensors.reset();
    const auto by_stem = csd::align_files(
        {stem_in.path / "glove_vectors.csd", stem_in.path / "covarep.csd"}, stem_out.path, options);
    CHECK(by_stem.written.size() == 2);
    CHECK(csd::file_source(stem_out.path / "glove_vectors.csd").name() == "words");
    const fs::path never = stem_out.path / "never";
    options.align.reference = "glove";
    CHECK_THROWS_WITH_AS(csd::align_files({stem_in.path / "glove_vectors.csd"}, never, options),
                         doctest::Contains("got 'glove'"), emofuse::value_error);
    CHECK(!fs::exists(never));
    // Outputs never overwrite inputs.
    options.align.reference = "words";
    CHECK_THROWS_WITH_AS(csd::align_files(inputs, fs::path(EMOFUSE_TEST_DATA_DIR), options),
                         doctest::Contains("is the input file itself"), emofuse::value_error);
}

TEST_CASE("malformed files give io_error naming file, video and problem") {
    const auto bad = [](const std::string& name) { return data_file("bad/" + name); };
    const auto message_of = [](const fs::path& path) -> std::string {
        try {
            const auto seq = csd::read_csd(path);
            (void)seq;
        } catch (const emofuse::io_error& e) {
            return e.what();
        }
        return "no error";
    };
    CHECK(message_of(bad("missing.csd")).find("not found") != std::string::npos);
    CHECK(message_of(bad("not_hdf5.csd")).find("not an HDF5 file") != std::string::npos);
    CHECK(message_of(bad("truncated.csd")).find("truncated.csd") != std::string::npos);
    CHECK(message_of(bad("no_root.csd")).find("no root group") != std::string::npos);
    CHECK(message_of(bad("missing_data.csd")).find("missing group '/audio/data'") !=
          std::string::npos);
    CHECK(message_of(bad("missing_features.csd")).find("video 'v': missing dataset 'features'") !=
          std::string::npos);
    CHECK(message_of(bad("rank1_intervals.csd")).find("expected a rank-2 dataset, got rank 1") !=
          std::string::npos);
    CHECK(message_of(bad("interval_columns.csd")).find("expected shape (n, 2), got (2, 3)") !=
          std::string::npos);
    CHECK(message_of(bad("row_mismatch.csd")).find("expected 2 rows") != std::string::npos);
    CHECK(message_of(bad("string_features.csd")).find("expected a numeric type") !=
          std::string::npos);
    const std::string end = message_of(bad("end_before_start.csd"));
    CHECK(end.find("end_before_start.csd") != std::string::npos);
    CHECK(end.find("video 'v', interval 1: expected end >= start") != std::string::npos);
    CHECK(message_of(bad("nan_time.csd")).find("interval 1: expected finite") != std::string::npos);
    CHECK(message_of(bad("tiny_valid.csd")) == "no error");
}

TEST_CASE("align_files leaves no output behind when an input is bad") {
    temp_dir dir;
    csd::align_files_options options;
    options.align.reference = "words";
    options.align.collapse = {collapse::mean()};
    options.tensors = tensor_options{};
    // end_before_start.csd is a sequence named 'audio' whose only video 'v' is not in
    // words, so use it with a words file that has 'v': the error arises mid-stream.
    temp_dir inputs;
    computational_sequence<double> words{"words", {}, 1, {}};
    words.entries["v"].intervals = {{0.0, 1.0}};
    words.entries["v"].features = {{1}};
    words.entries["a"].intervals = {{0.0, 1.0}};
    words.entries["a"].features = {{1}};
    csd::write_csd(inputs.path / "words.csd", words);
    computational_sequence<double> audio_ok{"audio", {}, 2, {}};
    csd::write_csd(inputs.path / "audio_ok.csd", audio_ok);
    const std::vector<fs::path> files{inputs.path / "words.csd",
                                      data_file("bad/end_before_start.csd")};
    CHECK_THROWS_WITH_AS(csd::align_files(files, dir.path, options),
                         doctest::Contains("video 'v', interval 1"), emofuse::io_error);
    CHECK(dir.file_count() == 0);
    CHECK_THROWS_AS(csd::align_files({data_file("bad/not_hdf5.csd")}, dir.path, options),
                    emofuse::io_error);
    CHECK(dir.file_count() == 0);
}

TEST_CASE("the reader opens in-memory images; damaged images give io_error") {
    std::ifstream in(data_file("bad/tiny_valid.csd"), std::ios::binary);
    std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)),
                                     std::istreambuf_iterator<char>());
    const auto file = csd::file_source::from_image(bytes, "tiny");
    CHECK(file->keys() == std::vector<std::string>{"v"});
    CHECK(file->rows("v") == 2);
    std::vector<double> iv;
    std::vector<float> ft;
    file->read("v", iv, ft);
    CHECK(iv == std::vector<double>{0.0, 1.0, 1.0, 2.0});
    CHECK(ft == std::vector<float>{1, 1, 1, 1});
    CHECK_THROWS_AS(file->read("w", iv, ft), emofuse::io_error);
    const std::vector<unsigned char> half(
        bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(bytes.size() / 2));
    CHECK_THROWS_AS(csd::file_source::from_image(half, "half"), emofuse::io_error);
    CHECK_THROWS_AS(csd::file_source::from_image(std::vector<unsigned char>{}, "empty"),
                    emofuse::io_error);
    // A corrupted global-heap object size (what made libhdf5's H5HG_read copy out of bounds
    // under fuzzing) is caught before HDF5 converts the metadata strings.
    const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    const std::size_t heap = text.find("GCOL");
    REQUIRE(heap != std::string_view::npos);
    auto corrupt = bytes;
    for (std::size_t b = 0; b < 8; ++b) {
        corrupt[heap + 16 + 8 + b] = 0x7f; // first object's size
    }
    CHECK_THROWS_WITH_AS(csd::file_source::from_image(corrupt, "corrupt"),
                         doctest::Contains("corrupt variable-length string"), emofuse::io_error);
    temp_dir dir;
    {
        std::ofstream out(dir.path / "corrupt.csd", std::ios::binary);
        out.write(reinterpret_cast<const char*>(corrupt.data()),
                  static_cast<std::streamsize>(corrupt.size()));
    }
    CHECK_THROWS_WITH_AS(csd::file_source(dir.path / "corrupt.csd"), doctest::Contains("metadata"),
                         emofuse::io_error);
}

// ---- regressions for what the structure-aware fuzzer (fuzz/fuzz_csd_structure.cpp) found:
// files that are valid HDF5 but whose content made the reader misbehave. Each builds a small
// file image in memory with the HDF5 C API: /seq/data/v/{intervals, features} where one of
// the two datasets is made by the test.

namespace {

using csd::detail::handle;

// Writes a (rows, cols) float64 dataset with values row + col (so intervals are [r, r + 1]).
void write_f64(hid_t group, const char* name, hsize_t rows, hsize_t cols,
               hid_t dcpl = H5P_DEFAULT) {
    const hsize_t dims[2] = {rows, cols};
    handle space(H5Screate_simple(2, dims, nullptr), H5Sclose);
    handle ds(
        H5Dcreate2(group, name, H5T_NATIVE_DOUBLE, space.get(), H5P_DEFAULT, dcpl, H5P_DEFAULT),
        H5Dclose);
    REQUIRE(ds.valid());
    std::vector<double> values;
    for (hsize_t r = 0; r < rows; ++r) {
        for (hsize_t c = 0; c < cols; ++c) {
            values.push_back(static_cast<double>(r + c));
        }
    }
    REQUIRE(H5Dwrite(ds.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) >=
            0);
}

// The image of a one-entry file; `make(entry_group, name)` creates the dataset called `odd`
// ("intervals" or "features", or both for "*"), the other one is a plain (2, 2) / (2, 1)
// dataset. HDF5 paths have no "..": callbacks reach other groups by absolute path.
template <class Make>
std::vector<unsigned char> entry_image(const std::string& odd, Make make) {
    csd::detail::silence_hdf5();
    handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
    H5Pset_fapl_core(fapl.get(), 1 << 14, 0);
    handle file(H5Fcreate("regression-image", H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), H5Fclose);
    REQUIRE(file.valid());
    {
        handle root(H5Gcreate2(file.get(), "seq", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
        handle data(H5Gcreate2(root.get(), "data", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                    H5Gclose);
        handle entry(H5Gcreate2(data.get(), "v", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
        for (const std::string name : {"intervals", "features"}) {
            if (odd == "*" || name == odd) {
                make(entry.get(), name.c_str());
            } else {
                write_f64(entry.get(), name.c_str(), 2, name == "intervals" ? 2 : 1);
            }
        }
    }
    H5Fflush(file.get(), H5F_SCOPE_GLOBAL);
    const ssize_t size = H5Fget_file_image(file.get(), nullptr, 0);
    REQUIRE(size > 0);
    std::vector<unsigned char> image(static_cast<std::size_t>(size));
    REQUIRE(H5Fget_file_image(file.get(), image.data(), image.size()) == size);
    return image;
}

// Opens the image and reads every entry: the message of the io_error, or "no error".
std::string read_image(const std::vector<unsigned char>& image) {
    try {
        const auto file = csd::file_source::from_image(image, "image");
        std::vector<double> intervals;
        std::vector<double> features;
        for (const auto& key : file->keys()) {
            file->read(key, intervals, features);
        }
        return "no error";
    } catch (const emofuse::io_error& e) {
        return e.what();
    }
}

// A chunked (2, 1) float64 dataset whose single chunk is stored as the given raw bytes,
// optionally through the gzip filter (H5Dwrite_chunk stores bytes as they are).
void raw_chunk(hid_t group, const char* name, const std::vector<unsigned char>& bytes, bool gzip) {
    const hsize_t dims[2] = {2, 1};
    handle space(H5Screate_simple(2, dims, nullptr), H5Sclose);
    handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    H5Pset_chunk(dcpl.get(), 2, dims);
    if (gzip) {
        H5Pset_deflate(dcpl.get(), 6);
    }
    handle ds(H5Dcreate2(group, name, H5T_NATIVE_DOUBLE, space.get(), H5P_DEFAULT, dcpl.get(),
                         H5P_DEFAULT),
              H5Dclose);
    const hsize_t origin[2] = {0, 0};
    REQUIRE(H5Dwrite_chunk(ds.get(), H5P_DEFAULT, 0, origin, bytes.size(), bytes.data()) >= 0);
}

// A zlib stream holding `n` bytes in one stored block (what gzip level 0 writes); the
// Adler-32 trailer is left zero (emofuse checks sizes before HDF5 reads, HDF5 checks sums).
std::vector<unsigned char> zlib_stored(std::size_t n) {
    std::vector<unsigned char> z{0x78,
                                 0x01,
                                 0x01,
                                 static_cast<unsigned char>(n & 0xff),
                                 static_cast<unsigned char>(n >> 8),
                                 static_cast<unsigned char>(~n & 0xff),
                                 static_cast<unsigned char>((~n >> 8) & 0xff)};
    z.insert(z.end(), n, 0);
    z.insert(z.end(), 4, 0);
    return z;
}

} // namespace

TEST_CASE("fuzz regression: a chunk stored shorter or longer than its size gives io_error") {
    // libhdf5 copied the full 16-byte chunk out of a 5-byte buffer (heap-buffer-overflow
    // in H5VM_memcpyvv during H5Dread).
    for (const std::size_t stored : {std::size_t{5}, std::size_t{24}}) {
        CAPTURE(stored);
        const auto image = entry_image("features", [&](hid_t g, const char* name) {
            raw_chunk(g, name, std::vector<unsigned char>(stored, 0), false);
        });
        CHECK(read_image(image) == "csd: file 'image', video 'v': features: corrupt chunk (" +
                                       std::to_string(stored) + " bytes stored, expected 16)");
    }
    // The same chunk stored at its size reads.
    const auto exact = entry_image("features", [](hid_t g, const char* name) {
        raw_chunk(g, name, std::vector<unsigned char>(16, 0), false);
    });
    CHECK(read_image(exact) == "no error");
}

TEST_CASE("fuzz regression: a gzip chunk inflating to another size gives io_error") {
    // Inflating to 5 of 16 bytes made libhdf5 read past its inflate buffer; more than the
    // chunk would be a decompression bomb.
    for (const std::size_t inflated : {std::size_t{5}, std::size_t{40}}) {
        CAPTURE(inflated);
        const auto image = entry_image("intervals", [&](hid_t g, const char* name) {
            const hsize_t dims[2] = {2, 2};
            handle space(H5Screate_simple(2, dims, nullptr), H5Sclose);
            handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
            H5Pset_chunk(dcpl.get(), 2, dims);
            H5Pset_deflate(dcpl.get(), 6);
            handle ds(H5Dcreate2(g, name, H5T_NATIVE_DOUBLE, space.get(), H5P_DEFAULT, dcpl.get(),
                                 H5P_DEFAULT),
                      H5Dclose);
            const hsize_t origin[2] = {0, 0};
            const auto z = zlib_stored(inflated);
            REQUIRE(H5Dwrite_chunk(ds.get(), H5P_DEFAULT, 0, origin, z.size(), z.data()) >= 0);
        });
        const std::string message = read_image(image);
        CHECK(message.find("video 'v': intervals: corrupt chunk") != std::string::npos);
    }
    const auto garbage = entry_image("features", [](hid_t g, const char* name) {
        raw_chunk(g, name, {1, 2, 3, 4, 5, 6, 7, 8}, true);
    });
    CHECK(read_image(garbage) == "csd: file 'image', video 'v': features: corrupt chunk (not "
                                 "zlib data)");
    // A stored chunk far larger than any compression of the chunk is not even read.
    const auto oversized = entry_image("features", [](hid_t g, const char* name) {
        raw_chunk(g, name, std::vector<unsigned char>(2000, 0x78), true);
    });
    CHECK(read_image(oversized) == "csd: file 'image', video 'v': features: corrupt chunk (2000 "
                                   "bytes stored for a chunk of 16)");
    // gzip level 0 data of exactly one chunk reads (and HDF5 then checks the checksum).
    const auto exact = entry_image("features", [](hid_t g, const char* name) {
        handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
        const hsize_t chunk[2] = {2, 1};
        H5Pset_chunk(dcpl.get(), 2, chunk);
        H5Pset_shuffle(dcpl.get());
        H5Pset_deflate(dcpl.get(), 0);
        H5Pset_fletcher32(dcpl.get());
        write_f64(g, name, 2, 1, dcpl.get());
    });
    CHECK(read_image(exact) == "no error");
}

TEST_CASE("fuzz regression: huge declared extents never written are rejected, not allocated") {
    // A chunked (1e12, 2) dataset costs a few hundred bytes of file; reading it would have
    // allocated 16 TB.
    const auto image = entry_image("intervals", [](hid_t g, const char* name) {
        const hsize_t dims[2] = {1000000000000ull, 2};
        const hsize_t chunk[2] = {4, 2};
        handle space(H5Screate_simple(2, dims, nullptr), H5Sclose);
        handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
        H5Pset_chunk(dcpl.get(), 2, chunk);
        handle ds(H5Dcreate2(g, name, H5T_NATIVE_DOUBLE, space.get(), H5P_DEFAULT, dcpl.get(),
                             H5P_DEFAULT),
                  H5Dclose);
    });
    CHECK(read_image(image).find("video 'v': intervals: expected 2 rows") == std::string::npos);
    const std::string message = read_image(image);
    CHECK(message.find("video 'v': ") != std::string::npos);
    CHECK((message.find("implausible size") != std::string::npos ||
           message.find("declares") != std::string::npos));
    // Smaller, plausible-looking extents (2^21 rows) with nothing stored: the storage check
    // (with gzip the file may hold up to 1100 times less than it declares, not 0 bytes).
    for (const bool gzip : {false, true}) {
        CAPTURE(gzip);
        const auto unwritten = entry_image("*", [&](hid_t g, const char* name) {
            const hsize_t columns = std::string(name) == "intervals" ? 2 : 1;
            const hsize_t dims[2] = {hsize_t{1} << 21, columns};
            const hsize_t chunk[2] = {1024, columns};
            handle space(H5Screate_simple(2, dims, nullptr), H5Sclose);
            handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
            H5Pset_chunk(dcpl.get(), 2, chunk);
            if (gzip) {
                H5Pset_deflate(dcpl.get(), 6);
            }
            handle ds(H5Dcreate2(g, name, H5T_NATIVE_DOUBLE, space.get(), H5P_DEFAULT, dcpl.get(),
                                 H5P_DEFAULT),
                      H5Dclose);
        });
        CHECK(read_image(unwritten) ==
              "csd: file 'image', video 'v': intervals: declares 33554432 bytes of data but the "
              "file stores 0 (unwritten, truncated or hostile file)");
    }
    // A chunk far larger than the data it holds (possible with unlimited extents).
    const auto big_chunk = entry_image("features", [](hid_t g, const char* name) {
        const hsize_t dims[2] = {2, 1};
        const hsize_t unlimited[2] = {H5S_UNLIMITED, 1};
        const hsize_t chunk[2] = {hsize_t{1} << 24, 1};
        handle space(H5Screate_simple(2, dims, unlimited), H5Sclose);
        handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
        H5Pset_chunk(dcpl.get(), 2, chunk);
        handle ds(H5Dcreate2(g, name, H5T_NATIVE_DOUBLE, space.get(), H5P_DEFAULT, dcpl.get(),
                             H5P_DEFAULT),
                  H5Dclose);
    });
    CHECK(read_image(big_chunk) ==
          "csd: file 'image', video 'v': features: chunks of 134217728 bytes for 16 bytes of data");
}

TEST_CASE("fuzz regression: metadata strings are read one, whatever extent is declared") {
    // A fixed 16 MiB string type over 2^20 declared (unwritten) elements made the reader
    // allocate 16 TiB for the metadata; a plausible array of strings reads its first one.
    csd::detail::silence_hdf5();
    const auto image_with = [](hsize_t count, std::size_t size, bool chunked) {
        return entry_image("features", [&](hid_t g, const char* name) {
            write_f64(g, name, 2, 1);
            handle root(H5Gopen2(g, "/seq", H5P_DEFAULT), H5Gclose);
            handle meta(H5Gcreate2(root.get(), "metadata", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                        H5Gclose);
            handle type(H5Tcopy(H5T_C_S1), H5Tclose);
            H5Tset_size(type.get(), size);
            handle space(H5Screate_simple(1, &count, nullptr), H5Sclose);
            handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
            if (chunked) {
                const hsize_t chunk = 1;
                H5Pset_chunk(dcpl.get(), 1, &chunk);
            }
            handle ds(H5Dcreate2(meta.get(), "creator", type.get(), space.get(), H5P_DEFAULT,
                                 dcpl.get(), H5P_DEFAULT),
                      H5Dclose);
            REQUIRE(ds.valid());
            if (!chunked) {
                std::vector<char> text(size * count, 0);
                std::memcpy(text.data(), "first", 5);
                std::memcpy(text.data() + size, "second", 6);
                H5Dwrite(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, text.data());
            }
        });
    };
    CHECK(read_image(image_with(hsize_t{1} << 20, std::size_t{1} << 24, true)) ==
          "csd: file 'image', metadata 'creator': strings: implausible size ((1048576,) elements "
          "of 16777216 bytes)");
    CHECK(read_image(image_with(hsize_t{1} << 20, std::size_t{1} << 16, true)) ==
          "csd: file 'image', metadata 'creator': strings: declares 68719476736 bytes of data "
          "but the file stores 0 (unwritten, truncated or hostile file)");
    const auto two = csd::file_source::from_image(image_with(2, 8, false), "two");
    CHECK(two->metadata().at("creator") == "first");
}

TEST_CASE("fuzz regression: the reader never follows data into other files") {
    // External links (also behind a soft link), external raw storage and virtual datasets
    // would make a hostile .csd read other files on disk.
    const auto external_entry = entry_image("features", [](hid_t g, const char* name) {
        write_f64(g, name, 2, 1);
        handle data(H5Gopen2(g, "/seq/data", H5P_DEFAULT), H5Gclose);
        H5Lcreate_external("/etc/elsewhere.h5", "/x", data.get(), "w", H5P_DEFAULT, H5P_DEFAULT);
    });
    CHECK(read_image(external_entry) ==
          "csd: file 'image', video 'w': 'w' is a link to another file (not followed)");
    const auto through_soft = entry_image("features", [](hid_t g, const char* name) {
        H5Lcreate_external("/etc/elsewhere.h5", "/x", g, "elsewhere", H5P_DEFAULT, H5P_DEFAULT);
        H5Lcreate_soft("/seq/data/v/elsewhere/features", g, name, H5P_DEFAULT, H5P_DEFAULT);
    });
    CHECK(read_image(through_soft).find("video 'v': 'features' is not a dataset") !=
          std::string::npos);
    const auto external_storage = entry_image("features", [](hid_t g, const char* name) {
        const hsize_t dims[2] = {2, 1};
        handle space(H5Screate_simple(2, dims, nullptr), H5Sclose);
        handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
        H5Pset_external(dcpl.get(), "/etc/elsewhere.bin", 0, H5F_UNLIMITED);
        handle ds(H5Dcreate2(g, name, H5T_NATIVE_DOUBLE, space.get(), H5P_DEFAULT, dcpl.get(),
                             H5P_DEFAULT),
                  H5Dclose);
    });
    CHECK(read_image(external_storage) ==
          "csd: file 'image', video 'v': features: data stored in other files (virtual or "
          "external dataset) is not read");
    const auto virtual_dataset = entry_image("features", [](hid_t g, const char* name) {
        const hsize_t dims[2] = {2, 1};
        handle space(H5Screate_simple(2, dims, nullptr), H5Sclose);
        handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
        H5Pset_virtual(dcpl.get(), space.get(), "/etc/elsewhere.h5", "/x", space.get());
        handle ds(H5Dcreate2(g, name, H5T_NATIVE_DOUBLE, space.get(), H5P_DEFAULT, dcpl.get(),
                             H5P_DEFAULT),
                  H5Dclose);
    });
    CHECK(read_image(virtual_dataset) ==
          "csd: file 'image', video 'v': features: data stored in other files (virtual or "
          "external dataset) is not read");
}

TEST_CASE("fuzz regression: filters emofuse cannot check are refused by name") {
    const auto image = entry_image("features", [](hid_t g, const char* name) {
        handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
        const hsize_t chunk[2] = {2, 1};
        H5Pset_chunk(dcpl.get(), 2, chunk);
        H5Pset_scaleoffset(dcpl.get(), H5Z_SO_FLOAT_DSCALE, 2);
        write_f64(g, name, 2, 1, dcpl.get());
    });
    CHECK(read_image(image) == "csd: file 'image', video 'v': features: HDF5 filter 6 is not "
                               "supported (gzip, shuffle and fletcher32 are)");
}

TEST_CASE("chunked data reads the same through the decoded-chunk path and through HDF5") {
    // 37 rows: the (8, 3) and (5, 2) chunks leave partial chunks at both edges. The same
    // values stored gzip-chunked in the feature type (read from decoded chunks), shuffled
    // (read by HDF5), unfiltered chunked (decoded chunks, no inflate) and as float64 read
    // into float (HDF5 converts) must all read back exactly.
    constexpr hsize_t rows = 37;
    constexpr hsize_t columns = 5;
    std::vector<double> times(2 * rows);
    std::vector<double> values(rows * columns);
    for (hsize_t r = 0; r < rows; ++r) {
        times[2 * r] = 0.25 * static_cast<double>(r);
        times[2 * r + 1] = 0.25 * static_cast<double>(r + 1);
        for (hsize_t c = 0; c < columns; ++c) {
            values[r * columns + c] = static_cast<double>(r) - 0.125 * static_cast<double>(c);
        }
    }
    enum class storage { gzip, shuffle_gzip, plain_chunks, gzip_float64 };
    for (const storage how :
         {storage::gzip, storage::shuffle_gzip, storage::plain_chunks, storage::gzip_float64}) {
        CAPTURE(static_cast<int>(how));
        const auto image = entry_image("*", [&](hid_t g, const char* name) {
            const bool is_intervals = std::string(name) == "intervals";
            const hsize_t dims[2] = {rows, is_intervals ? 2 : columns};
            const hsize_t chunk[2] = {is_intervals ? hsize_t{5} : hsize_t{8},
                                      is_intervals ? hsize_t{2} : hsize_t{3}};
            handle space(H5Screate_simple(2, dims, nullptr), H5Sclose);
            handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
            H5Pset_chunk(dcpl.get(), 2, chunk);
            if (how == storage::shuffle_gzip) {
                H5Pset_shuffle(dcpl.get());
            }
            if (how != storage::plain_chunks) {
                H5Pset_deflate(dcpl.get(), 4);
            }
            const hid_t stored =
                is_intervals || how == storage::gzip_float64 ? H5T_IEEE_F64LE : H5T_IEEE_F32LE;
            handle ds(
                H5Dcreate2(g, name, stored, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                H5Dclose);
            REQUIRE(ds.valid());
            REQUIRE(H5Dwrite(ds.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                             is_intervals ? times.data() : values.data()) >= 0);
        });
        const auto file = csd::file_source::from_image(image, "image");
        std::vector<double> intervals;
        std::vector<float> features;
        file->read("v", intervals, features);
        CHECK(intervals == times);
        REQUIRE(features.size() == values.size());
        for (std::size_t i = 0; i < values.size(); ++i) {
            CHECK(features[i] == static_cast<float>(values[i]));
        }
        std::vector<double> as_double;
        intervals.clear();
        file->read("v", intervals, as_double); // float32 data read into double: HDF5 converts
        CHECK(as_double == values);
    }
}

TEST_CASE(
    "align_files: the same aligned contents at 1 and 3 threads, gzip'd inputs read concurrently") {
    // 23 videos in three gzip-compressed files (chunks inflated on the aligner's threads).
    std::mt19937 rng(11);
    temp_dir in;
    std::vector<fs::path> inputs;
    const std::vector<std::pair<std::string, double>> streams = {
        {"words", 0.4}, {"audio", 0.01}, {"visual", 1.0 / 30.0}};
    for (const auto& [name, step] : streams) {
        computational_sequence<float> seq;
        seq.name = name;
        seq.feature_size = name == "words" ? 3 : 5;
        for (int v = 0; v < 23; ++v) {
            const std::size_t rows = static_cast<std::size_t>(20.0 / step);
            segment<float> entry;
            entry.intervals = xt::xtensor<double, 2>::from_shape({rows, 2});
            entry.features = xt::xtensor<float, 2>::from_shape({rows, seq.feature_size});
            for (std::size_t i = 0; i < rows; ++i) {
                entry.intervals(i, 0) = static_cast<double>(i) * step;
                entry.intervals(i, 1) = static_cast<double>(i + 1) * step;
                for (std::size_t d = 0; d < seq.feature_size; ++d) {
                    entry.features(i, d) = static_cast<float>(rng() % 1000) / 8.0F;
                }
            }
            seq.entries["video" + std::to_string(v)] = std::move(entry);
        }
        csd::writer_options gzip;
        gzip.compact_below = 0;
        inputs.push_back(in.path / (name + ".csd"));
        csd::write_csd(inputs.back(), seq, gzip);
    }
    const auto run = [&](unsigned threads, const fs::path& out) {
        emofuse::set_num_threads(threads);
        csd::align_files_options options;
        options.align.reference = "words";
        options.align.collapse = {collapse::mean(), collapse::stddev()};
        const auto result = csd::align_files(inputs, out, options);
        emofuse::set_num_threads(0);
        return result.report;
    };
    temp_dir serial, parallel;
    const auto serial_report = run(1, serial.path);
    const auto parallel_report = run(3, parallel.path);
    CHECK(serial_report.videos == 23);
    CHECK(parallel_report.videos == serial_report.videos);
    CHECK(parallel_report.segments == serial_report.segments);
    for (const auto& [name, step] : streams) {
        CAPTURE(name);
        const auto a =
            std::get<computational_sequence<float>>(csd::read_csd(serial.path / (name + ".csd")));
        const auto b =
            std::get<computational_sequence<float>>(csd::read_csd(parallel.path / (name + ".csd")));
        REQUIRE(a.entries.size() == b.entries.size());
        for (const auto& [key, entry] : a.entries) {
            const auto& other = b.entries.at(key);
            CHECK(entry.intervals == other.intervals);
            CHECK(entry.features == other.features);
        }
    }
}

TEST_CASE("the HDF5 lock serves threads in arrival order, so a writer taking it entry after "
          "entry cannot starve a reader") {
    csd::detail::ticket_mutex mutex;
    std::vector<int> order;
    mutex.lock();
    std::thread reader([&] {
        mutex.lock();
        order.push_back(1);
        mutex.unlock();
    });
    while (mutex.waiting() == 0) {
        std::this_thread::yield();
    }
    mutex.unlock();
    mutex.lock(); // back to back, as the writer does: the reader queued first goes first
    order.push_back(0);
    mutex.unlock();
    reader.join();
    CHECK(order == std::vector<int>{1, 0});
    CHECK(mutex.waiting() == 0);
}

TEST_CASE("the HDF5 lock nests: a thread that holds it takes it again without deadlock") {
    const csd::detail::hdf5_lock outer;
    const csd::detail::hdf5_lock inner; // a write from inside a reading call chain
    {
        const csd::detail::hdf5_unlocked inflating;
        CHECK(csd::detail::hdf5_mutex().waiting() == 0);
        // Released: another thread can take it meanwhile.
        std::thread other([] { const csd::detail::hdf5_lock lock; });
        other.join();
    }
    CHECK(csd::detail::held_hdf5_lock != nullptr);
}
