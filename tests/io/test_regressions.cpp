// Inputs that once crashed or misbehaved (found by the fuzzers); each must stay an io_error.
#include <emofuse/io/npy.hpp>
#include <emofuse/io/npz.hpp>
#include <emofuse/io/safetensors.hpp>

#include "io_fixtures.hpp"

#include <filesystem>

using namespace emofuse::io;

TEST_CASE("regression inputs are rejected cleanly or parsed") {
    const auto directory = io_test::data_path("regressions");
    REQUIRE(std::filesystem::is_directory(directory));
    std::size_t count = 0;
    for (const auto& entry : std::filesystem::directory_iterator(directory)) {
        const auto bytes = io_test::read_bytes(entry.path());
        INFO(entry.path().string());
        ++count;
        try {
            if (entry.path().extension() == ".npy") {
                (void)parse_npy(bytes);
            } else if (entry.path().extension() == ".npz") {
                (void)parse_npz(bytes);
            } else {
                (void)parse_safetensors(bytes);
            }
        } catch (const emofuse::io_error&) {
        }
    }
    CHECK(count >= 1);
}
