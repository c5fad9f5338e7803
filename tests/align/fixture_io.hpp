// Helpers for the align tests: JSON fixtures to computational sequences and comparisons.
#pragma once

#include <emofuse/align/computational_sequence.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <string>
#include <vector>

namespace align_test {

inline nlohmann::json load_json(const std::string& name) {
    std::ifstream in(std::string(EMOFUSE_TEST_DATA_DIR) + "/" + name);
    REQUIRE_MESSAGE(in.good(), "missing fixture " << name);
    return nlohmann::json::parse(in);
}

template <class T>
emofuse::align::segment<T> segment_from_json(const nlohmann::json& e, std::size_t d) {
    emofuse::align::segment<T> out;
    const auto& iv = e.at("intervals");
    const auto& ft = e.at("features");
    out.intervals = xt::xtensor<double, 2>::from_shape({iv.size(), 2});
    out.features = xt::xtensor<T, 2>::from_shape({ft.size(), d});
    for (std::size_t r = 0; r < iv.size(); ++r) {
        out.intervals(r, 0) = iv[r][0].get<double>();
        out.intervals(r, 1) = iv[r][1].get<double>();
        REQUIRE(ft[r].size() == d);
        for (std::size_t j = 0; j < d; ++j) {
            out.features(r, j) = static_cast<T>(ft[r][j].get<double>());
        }
    }
    return out;
}

template <class T>
emofuse::align::computational_sequence<T> sequence_from_json(const nlohmann::json& s) {
    emofuse::align::computational_sequence<T> out;
    out.name = s.at("name").get<std::string>();
    out.feature_size = s.at("feature_size").get<std::size_t>();
    for (const auto& [key, e] : s.at("entries").items()) {
        out.entries.emplace(key, segment_from_json<T>(e, out.feature_size));
    }
    return out;
}

inline emofuse::align::any_sequence any_from_json(const nlohmann::json& s) {
    if (s.at("dtype").get<std::string>() == "float32") {
        return sequence_from_json<float>(s);
    }
    return sequence_from_json<double>(s);
}

// Compares an aligned sequence with the reference's entries: same keys, shapes, values
// within `tol` (absolute, on values of order 1).
inline void check_entries(const emofuse::align::any_sequence& got, const nlohmann::json& want,
                          double tol) {
    std::visit(
        [&](const auto& seq) {
            INFO("sequence " << seq.name);
            const auto& entries = want.at("entries");
            CHECK(seq.entries.size() == entries.size());
            for (const auto& item : entries.items()) {
                // Not a structured binding: clang 14 cannot capture one in INFO's lambda.
                const std::string& key = item.key();
                const auto& e = item.value();
                INFO("key " << key);
                const auto it = seq.entries.find(key);
                REQUIRE(it != seq.entries.end());
                const auto& iv = e.at("intervals");
                const auto& ft = e.at("features");
                REQUIRE(it->second.intervals.shape(0) == iv.size());
                REQUIRE(it->second.features.shape(0) == ft.size());
                for (std::size_t r = 0; r < iv.size(); ++r) {
                    CHECK(std::abs(it->second.intervals(r, 1) - iv[r][1].template get<double>()) <=
                          tol);
                    CHECK(std::abs(it->second.intervals(r, 0) - iv[r][0].template get<double>()) <=
                          tol);
                    REQUIRE(it->second.features.shape(1) == ft[r].size());
                    for (std::size_t j = 0; j < ft[r].size(); ++j) {
                        const double w = ft[r][j].template get<double>();
                        const double g = static_cast<double>(it->second.features(r, j));
                        CHECK(std::abs(g - w) <= tol * std::max(1.0, std::abs(w)));
                    }
                }
            }
        },
        got);
}

} // namespace align_test
