// load_state_dict: the container is recognised by content, whatever the file is called.
#include <emofuse/io/load_state_dict.hpp>

#include "io_fixtures.hpp"

#include <filesystem>
#include <string>

using namespace emofuse::io;

namespace {

void check_same(const state_dict& a, const state_dict& b) {
    CHECK(a.names() == b.names());
    for (const auto& name : a.names()) {
        CHECK(a.at(name) == b.at(name));
    }
}

} // namespace

TEST_CASE("load_state_dict recognises each container by content") {
    check_same(load_state_dict(io_test::data_path("model.safetensors")),
               load_safetensors(io_test::data_path("model.safetensors")));
    check_same(load_state_dict(io_test::data_path("savez_compressed.npz")),
               load_npz(io_test::data_path("savez_compressed.npz")));
    check_same(load_state_dict(io_test::data_path("model_npy")),
               load_npy_directory(io_test::data_path("model_npy")));
    const auto single = load_state_dict(io_test::data_path("be_f4.npy"));
    CHECK(single.names() == std::vector<std::string>{"be_f4"});
    CHECK(single.at("be_f4") == load_npy_file(io_test::data_path("be_f4.npy")));
    CHECK(load_state_dict(io_test::data_path("savez_empty.npz")).empty());
    CHECK(load_state_dict(io_test::data_path("empty.safetensors")).empty());

    // The extension plays no part.
    io_test::scratch_file renamed(".bin");
    renamed.write(io_test::read_bytes(io_test::data_path("mixed.safetensors")));
    check_same(load_state_dict(renamed.path()),
               load_safetensors(io_test::data_path("mixed.safetensors")));
}

TEST_CASE("load_state_dict: unknown content, missing files") {
    io_test::scratch_file text(".safetensors");
    text.write(io_test::to_bytes("hello"));
    try {
        (void)load_state_dict(text.path());
        FAIL("no exception");
    } catch (const emofuse::io_error& error) {
        const std::string message = error.what();
        CHECK(message.find(text.path().string()) != std::string::npos);
        CHECK(message.find("not a safetensors, .npz, .pth or .npy file") != std::string::npos);
    }
    text.write({});
    CHECK_THROWS_AS(load_state_dict(text.path()), emofuse::io_error);
    CHECK_THROWS_AS(load_state_dict("/nonexistent/emofuse/weights.safetensors"), emofuse::io_error);
    // A recognised container with a corrupt body reports the reader's own error.
    auto truncated = io_test::read_bytes(io_test::data_path("model.safetensors"));
    truncated.resize(truncated.size() - 3);
    text.write(truncated);
    CHECK_THROWS_WITH_AS(load_state_dict(text.path()), doctest::Contains("io::safetensors"),
                         emofuse::io_error);
}

TEST_CASE("input_file reads ranges and refuses ranges outside the file") {
    emofuse::io::detail::input_file file(io_test::data_path("empty.safetensors"), "io::test");
    CHECK(file.size() == 16);
    const auto bytes = file.read_at(8, 2);
    CHECK(bytes == io_test::to_bytes("{}"));
    CHECK(file.read_at(16, 0).empty());
    CHECK_THROWS_WITH_AS(file.read_at(10, 7), doctest::Contains("outside the file of 16 bytes"),
                         emofuse::io_error);
    CHECK_THROWS_AS(file.read_at(SIZE_MAX, 2), emofuse::io_error);
    std::byte too_many[32];
    CHECK_THROWS_WITH_AS(file.read(too_many), doctest::Contains("ended early"), emofuse::io_error);
}
