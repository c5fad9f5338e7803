// Test support for the attention module: reads the fixture .safetensors files written by
// generate_fixtures.py (F64/F32/I64/U8 tensors plus string metadata) and compares tensors.
#pragma once

#include <emofuse/config.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace attention_testing {

/// tests/attention/data/<name>.safetensors
inline std::string data_path(const std::string& name) {
    return std::string(EMOFUSE_TEST_DATA_DIR) + "/" + name + ".safetensors";
}

struct stored {
    std::string dtype;
    std::vector<std::size_t> shape;
    std::vector<char> bytes;
};

class fixture {
public:
    explicit fixture(const std::string& name) {
        const std::string path = data_path(name);
        std::ifstream in(path, std::ios::binary);
        if (!in) {
            throw std::runtime_error("missing fixture " + path);
        }
        std::uint64_t header_size = 0;
        in.read(reinterpret_cast<char*>(&header_size), 8);
        std::string header(header_size, '\0');
        in.read(header.data(), static_cast<std::streamsize>(header_size));
        std::vector<char> body((std::istreambuf_iterator<char>(in)),
                               std::istreambuf_iterator<char>());
        const auto json = nlohmann::json::parse(header);
        for (const auto& [key, value] : json.items()) {
            if (key == "__metadata__") {
                for (const auto& [mk, mv] : value.items()) {
                    metadata_[mk] = mv.get<std::string>();
                }
                continue;
            }
            stored s;
            s.dtype = value["dtype"].get<std::string>();
            s.shape = value["shape"].get<std::vector<std::size_t>>();
            const auto offsets = value["data_offsets"].get<std::vector<std::size_t>>();
            s.bytes.assign(body.begin() + static_cast<std::ptrdiff_t>(offsets[0]),
                           body.begin() + static_cast<std::ptrdiff_t>(offsets[1]));
            tensors_[key] = std::move(s);
        }
    }

    [[nodiscard]] bool has(const std::string& name) const { return tensors_.count(name) != 0; }
    [[nodiscard]] std::string meta(const std::string& key, const std::string& fallback = "") const {
        const auto found = metadata_.find(key);
        return found == metadata_.end() ? fallback : found->second;
    }

    /// Tensor `name` as xtensor<T, N> (values converted from the stored dtype).
    template <class T, std::size_t N>
    [[nodiscard]] xt::xtensor<T, N> get(const std::string& name) const {
        const auto found = tensors_.find(name);
        if (found == tensors_.end()) {
            throw std::runtime_error("fixture has no tensor " + name);
        }
        const stored& s = found->second;
        if (s.shape.size() != N) {
            throw std::runtime_error("fixture tensor " + name + " has another rank");
        }
        std::array<std::size_t, N> shape{};
        std::copy(s.shape.begin(), s.shape.end(), shape.begin());
        xt::xtensor<T, N> out(shape);
        const std::size_t n = out.size();
        for (std::size_t i = 0; i < n; ++i) {
            out.data()[i] = static_cast<T>(element(s, i));
        }
        return out;
    }

    /// Integer vector (lengths).
    [[nodiscard]] std::vector<std::size_t> sizes(const std::string& name) const {
        const auto t = get<double, 1>(name);
        std::vector<std::size_t> out;
        for (double v : t) {
            out.push_back(static_cast<std::size_t>(v));
        }
        return out;
    }

private:
    static double element(const stored& s, std::size_t i) {
        if (s.dtype == "F64") {
            double v;
            std::memcpy(&v, s.bytes.data() + i * 8, 8);
            return v;
        }
        if (s.dtype == "F32") {
            float v;
            std::memcpy(&v, s.bytes.data() + i * 4, 4);
            return v;
        }
        if (s.dtype == "I64") {
            std::int64_t v;
            std::memcpy(&v, s.bytes.data() + i * 8, 8);
            return static_cast<double>(v);
        }
        if (s.dtype == "U8") {
            return static_cast<unsigned char>(s.bytes[i]);
        }
        throw std::runtime_error("fixture dtype " + s.dtype + " not handled");
    }

    std::map<std::string, stored> tensors_;
    std::map<std::string, std::string> metadata_;
};

/// Tolerance of a comparison against a float64 PyTorch reference:
/// max_i |actual_i − expected_i| ≤ tol · max(1, max_i |expected_i|).
/// float: 1e-5 (the bound); double: 1e-11.
template <class T>
constexpr double parity_tolerance() {
    return std::is_same_v<T, float> ? 1e-5 : 1e-11;
}

template <class A, class E>
void check_close(const A& actual, const E& expected, double tol, const char* what = "") {
    REQUIRE(actual.size() == expected.size());
    double scale = 1.0;
    for (std::size_t i = 0; i < expected.size(); ++i) {
        scale = std::max(scale, std::abs(static_cast<double>(expected.data()[i])));
    }
    double worst = 0.0;
    std::size_t worst_index = 0;
    for (std::size_t i = 0; i < expected.size(); ++i) {
        const double a = static_cast<double>(actual.data()[i]);
        const double e = static_cast<double>(expected.data()[i]);
        const double diff = std::isnan(a) ? INFINITY : std::abs(a - e);
        if (diff > worst) {
            worst = diff;
            worst_index = i;
        }
    }
    INFO(what, ": worst |diff| ", worst, " at ", worst_index, ", scale ", scale, ", tol ", tol);
    CHECK(worst <= tol * scale);
}

} // namespace attention_testing
