// tests/io/io_fixtures.hpp — helpers shared by the io tests: fixture paths, expected values
// from expected.json, raw file bytes and scratch files.
#pragma once

#include <emofuse/io/convert.hpp>

#include "fixtures.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace io_test {

using emofuse::test::message_of;

inline std::filesystem::path data_path(std::string_view name) {
    return std::filesystem::path(EMOFUSE_TEST_DATA_DIR) / name;
}

inline const nlohmann::json& expected() {
    static const nlohmann::json value = [] {
        std::ifstream in(data_path("expected.json"));
        REQUIRE(in.good());
        return nlohmann::json::parse(in);
    }();
    return value;
}

inline std::vector<std::byte> read_bytes(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in.good());
    std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::byte> bytes(chars.size());
    for (std::size_t i = 0; i < chars.size(); ++i) {
        bytes[i] = static_cast<std::byte>(chars[i]);
    }
    return bytes;
}

inline std::vector<std::byte> to_bytes(std::string_view text) {
    std::vector<std::byte> bytes;
    for (char c : text) {
        bytes.push_back(static_cast<std::byte>(c));
    }
    return bytes;
}

/// A file under the system temp directory, removed when the object goes out of scope.
class scratch_file {
public:
    explicit scratch_file(std::string_view suffix) {
        static std::atomic<int> counter{0};
        path_ = std::filesystem::temp_directory_path() /
                ("emofuse_io_test_" + std::to_string(std::random_device{}()) + "_" +
                 std::to_string(counter++) + std::string(suffix));
    }
    scratch_file(const scratch_file&) = delete;
    scratch_file& operator=(const scratch_file&) = delete;
    ~scratch_file() {
        std::error_code ignored;
        std::filesystem::remove(path_, ignored);
    }
    const std::filesystem::path& path() const { return path_; }
    void write(const std::vector<std::byte>& bytes) const {
        std::ofstream out(path_, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(bytes.data()),
                  static_cast<std::streamsize>(bytes.size()));
        REQUIRE(out.good());
    }

private:
    std::filesystem::path path_;
};

/// Expected value `index` of a fixture entry as a double ("nan"/"inf" spelled as strings).
inline double expected_number(const nlohmann::json& value) {
    if (value.is_string()) {
        const auto& text = value.get_ref<const std::string&>();
        if (text == "nan") {
            return std::numeric_limits<double>::quiet_NaN();
        }
        return text == "inf" ? std::numeric_limits<double>::infinity()
                             : -std::numeric_limits<double>::infinity();
    }
    return value.get<double>();
}

/// Checks dtype, shape and every value (float tensors bit for bit through float32, and
/// float64 tensors also through double) against a fixture entry of expected.json.
inline void check_tensor(const emofuse::io::stored_tensor& tensor, const nlohmann::json& entry) {
    using namespace emofuse::io;
    CHECK(dtype_name(tensor.type) == entry["dtype"].get<std::string>());
    CHECK(tensor.shape == entry["shape"].get<std::vector<std::size_t>>());
    const auto& values = entry["values"];
    REQUIRE(tensor.size() == values.size());
    const stored_tensor flat{tensor.type, {tensor.size()}, tensor.bytes};
    if (is_floating(tensor.type)) {
        const auto as_float = to_xtensor<float, 1>(flat, "flat", "<test>");
        for (std::size_t i = 0; i < as_float.size(); ++i) {
            CHECK(std::bit_cast<std::uint32_t>(as_float(i)) ==
                  entry["f32_bits"][i].get<std::uint32_t>());
        }
        if (tensor.type == dtype::f64) {
            const auto as_double = to_xtensor<double, 1>(flat, "flat", "<test>");
            for (std::size_t i = 0; i < as_double.size(); ++i) {
                CHECK(std::bit_cast<std::uint64_t>(as_double(i)) ==
                      entry["f64_bits"][i].get<std::uint64_t>());
            }
        }
    } else if (tensor.type == dtype::u64) {
        const auto as_unsigned = to_xtensor<std::uint64_t, 1>(flat, "flat", "<test>");
        for (std::size_t i = 0; i < as_unsigned.size(); ++i) {
            CHECK(as_unsigned(i) == values[i].get<std::uint64_t>());
        }
    } else {
        const auto as_integer = to_xtensor<std::int64_t, 1>(flat, "flat", "<test>");
        for (std::size_t i = 0; i < as_integer.size(); ++i) {
            CHECK(as_integer(i) == values[i].get<std::int64_t>());
        }
    }
}

} // namespace io_test
