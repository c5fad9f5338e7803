// Shared helpers for the metrics tests: loading the committed reference fixtures and
// comparing values (null in the JSON means NaN).
#pragma once

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstddef>
#include <fstream>
#include <string>
#include <vector>

namespace metrics_test {

inline const nlohmann::json& fixtures() {
    static const nlohmann::json data = [] {
        std::ifstream in(std::string(EMOFUSE_TEST_DATA_DIR) + "/fixtures.json");
        REQUIRE_MESSAGE(in.good(), "missing tests/metrics/data/fixtures.json");
        return nlohmann::json::parse(in);
    }();
    return data;
}

/// |actual - expected| <= rel * max(|expected|, tiny); NaN matches null / NaN.
inline bool close(double actual, const nlohmann::json& expected, double rel) {
    if (expected.is_null()) {
        return std::isnan(actual);
    }
    const double e = expected.get<double>();
    if (std::isnan(e)) {
        return std::isnan(actual);
    }
    const double scale = std::max(std::fabs(e), 1e-300);
    return std::fabs(actual - e) <= rel * scale || actual == e;
}

template <class T>
std::vector<T> as_vector(const nlohmann::json& values) {
    std::vector<T> out;
    out.reserve(values.size());
    for (const auto& v : values) {
        out.push_back(static_cast<T>(v.get<double>()));
    }
    return out;
}

template <class L>
std::vector<L> as_labels(const nlohmann::json& values) {
    std::vector<L> out;
    for (const auto& v : values) {
        out.push_back(static_cast<L>(v.get<long long>()));
    }
    return out;
}

} // namespace metrics_test
