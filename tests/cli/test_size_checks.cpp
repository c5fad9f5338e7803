// The library's size arithmetic under absurd shapes: a product that would wrap is a clear
// shape_error, never a small allocation that is then overrun (issue 16; emofuse-align and
// emofuse-demo reached these with --seq-len 2^61 before their flags had ranges).
#include <emofuse/align/tensors.hpp>
#include <emofuse/core/checked_size.hpp>
#include <emofuse/fusion/tensor_fusion.hpp>
#ifdef EMOFUSE_TEST_HAS_CSD
#include <emofuse/io/csd/align_files.hpp>
#endif

#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr std::size_t two_to(int power) {
    return std::size_t{1} << power;
}

template <class Function>
std::string shape_error_of(Function&& function) {
    try {
        function();
    } catch (const emofuse::shape_error& e) {
        return e.what();
    }
    FAIL("no shape_error thrown");
    return {};
}

} // namespace

TEST_CASE("checked_byte_count refuses products that wrap") {
    CHECK(emofuse::checked_byte_count("x", {3, 4}, 8) == 96);
    CHECK(emofuse::checked_byte_count("x", {two_to(40), 0}, 8) == 0);
    const auto message = shape_error_of([] {
        (void)emofuse::checked_byte_count("what", {two_to(61), 1}, 8);
    });
    CHECK(message.find("what: shape (2305843009213693952, 1) of 8-byte items does not fit") !=
          std::string::npos);
    CHECK_THROWS_AS((void)emofuse::checked_element_count("x", {two_to(32), two_to(32)}),
                    emofuse::shape_error);
}

TEST_CASE("to_tensor refuses (keys, seq_len, features) that wrap instead of overrunning") {
    emofuse::align::computational_sequence<float> seq;
    seq.name = "audio";
    seq.feature_size = 4;
    std::vector<std::string> keys;
    for (const char* key : {"a", "b", "c", "d"}) {
        seq.entries[key].intervals = {{0.0, 1.0}};
        seq.entries[key].features = {{1.0f, 2.0f, 3.0f, 4.0f}};
        keys.emplace_back(key);
    }
    emofuse::align::tensor_options options;
    options.seq_len = two_to(62); // 4 · 2^62 · 4 elements wrap to 0
    const auto message =
        shape_error_of([&] { (void)emofuse::align::to_tensor(seq, keys, options); });
    CHECK(message.find("to_tensor: sequence 'audio' (keys, seq_len, features): shape (4, "
                       "4611686018427387904, 4)") != std::string::npos);
    CHECK_THROWS_AS((void)emofuse::align::to_sequence(seq, keys, two_to(61)), emofuse::shape_error);
    options.seq_len = 3;
    CHECK(emofuse::align::to_tensor(seq, keys, options).shape(1) == 3);
}

TEST_CASE("tensor fusion refuses an outer product whose width wraps") {
    using view = emofuse::fusion::detail::feature_view<float>;
    const std::array<view, 3> views{view{nullptr, two_to(22), "text"},
                                    view{nullptr, two_to(22), "audio"},
                                    view{nullptr, two_to(22), "vision"}};
    const auto message = shape_error_of([&] {
        (void)emofuse::fusion::detail::tensor_product_width<emofuse::dims<>>(
            "fusion::tensor_fusion", views, emofuse::fusion::tensor_form::prepend_one);
    });
    CHECK(message.find("fusion::tensor_fusion: shape (4194305, 4194305, 4194305)") !=
          std::string::npos);
    const std::array<view, 2> small{view{nullptr, 2, "text"}, view{nullptr, 3, "audio"}};
    CHECK(emofuse::fusion::detail::tensor_product_width<emofuse::dims<>>(
              "stage", small, emofuse::fusion::tensor_form::prepend_one) == 12);
}

#ifdef EMOFUSE_TEST_HAS_CSD
TEST_CASE("align_files refuses a tensor sample that wraps and leaves no file behind") {
    namespace fs = std::filesystem;
    const fs::path data = EMOFUSE_TEST_ALIGN_DATA;
    const fs::path out = fs::temp_directory_path() /
                         ("emofuse_cli_library_" + std::to_string(std::random_device{}()));
    emofuse::io::csd::align_files_options options;
    options.align.reference = "words";
    options.align.collapse = {emofuse::align::collapse::mean()};
    // seq_len · features · sizeof(T) wrapped to a small buffer that pad_truncate overran.
    options.tensors = emofuse::align::tensor_options{two_to(61), emofuse::align::pad_side::left,
                                                     emofuse::align::truncate_side::as_sdk};
    const auto message = shape_error_of([&] {
        (void)emofuse::io::csd::align_files({data / "words.csd", data / "audio.csd"}, out, options);
    });
    CHECK(message.find("align_files: tensor sample (seq_len, features): shape "
                       "(2305843009213693952, ") != std::string::npos);
    CHECK(fs::is_empty(out));
    fs::remove_all(out);
}
#endif
