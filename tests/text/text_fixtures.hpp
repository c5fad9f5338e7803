// tests/text/text_fixtures.hpp — helpers shared by the tokenizer tests: fixture paths, the
// expected cases generate_fixtures.py recorded, exception messages and scratch files.
#pragma once

#include "fixtures.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <unistd.h>

namespace text_test {

inline std::filesystem::path data_path(std::string_view name) {
    return std::filesystem::path(EMOFUSE_TEST_DATA_DIR) / name;
}

inline const nlohmann::json& expected() {
    static const nlohmann::json cases = [] {
        std::ifstream in(data_path("expected.json"));
        REQUIRE(in);
        return nlohmann::json::parse(in);
    }();
    return cases;
}

using emofuse::test::message_of;

/// A file with `contents` under the temporary directory, removed when it goes out of scope.
class scratch_file {
public:
    explicit scratch_file(std::string_view contents) {
        static std::atomic<int> counter{0};
        path_ = std::filesystem::temp_directory_path() /
                ("emofuse_text_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
        std::ofstream out(path_, std::ios::binary);
        out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
        REQUIRE(out);
    }
    scratch_file(const scratch_file&) = delete;
    scratch_file& operator=(const scratch_file&) = delete;
    ~scratch_file() {
        std::error_code ignored;
        std::filesystem::remove(path_, ignored);
    }
    [[nodiscard]] const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

} // namespace text_test
