// Test support for the encoders: the fixtures written by generate_fixtures.py (one safetensors
// file per case: parameters under their state-dict names, the call's arguments and torch's
// float64 results) and a comparison relative to the output's scale.
#pragma once

#include <doctest/doctest.h>

#include <emofuse/io/safetensors.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

namespace encoders_testing {

/// tests/encoders/data/<name>.safetensors.
inline emofuse::io::state_dict load_case(const std::string& name) {
    return emofuse::io::load_safetensors(std::string(EMOFUSE_TEST_DATA_DIR) + "/" + name +
                                         ".safetensors");
}

inline std::string meta(const emofuse::io::state_dict& sd, const std::string& key) {
    const auto found = sd.metadata().find(key);
    REQUIRE_MESSAGE(found != sd.metadata().end(), "fixture metadata has no " << key);
    return found->second;
}

inline std::size_t meta_size(const emofuse::io::state_dict& sd, const std::string& key) {
    return static_cast<std::size_t>(std::stoul(meta(sd, key)));
}

inline bool meta_flag(const emofuse::io::state_dict& sd, const std::string& key) {
    return meta(sd, key) == "1";
}

/// The case's "lengths" tensor, or none.
inline std::vector<std::size_t> lengths_of(const emofuse::io::state_dict& sd) {
    std::vector<std::size_t> lengths;
    if (sd.contains("lengths")) {
        const auto stored = sd.tensor<std::size_t, 1>("lengths");
        lengths.assign(stored.begin(), stored.end());
    }
    return lengths;
}

/// Tolerance relative to the expected tensor's scale (its largest magnitude): float 1e-5,
/// double 1e-12. Recurrences here are short and their units bounded, so float32 rounding
/// stays near 1e-7 of the scale; the bound leaves two orders of margin.
template <class T>
constexpr double relative_tolerance() {
    return sizeof(T) == 4 ? 1e-5 : 1e-12;
}

/// |actual − expected| ≤ tolerance·max|expected| element-wise, shapes equal, no NaN anywhere.
template <class T, class A, class E>
void check_close(const A& actual, const E& expected, const char* what) {
    INFO(what);
    REQUIRE(actual.dimension() == expected.dimension());
    for (std::size_t d = 0; d < actual.dimension(); ++d) {
        REQUIRE(actual.shape()[d] == expected.shape()[d]);
    }
    double scale = 0.0;
    for (auto v : expected) {
        scale = std::max(scale, std::abs(static_cast<double>(v)));
    }
    const double bound = relative_tolerance<T>() * std::max(scale, 1e-30);
    std::size_t failures = 0;
    double worst = 0.0;
    auto a = actual.begin();
    for (auto e = expected.begin(); e != expected.end(); ++e, ++a) {
        const double diff = std::abs(static_cast<double>(*a) - static_cast<double>(*e));
        const bool ok = diff <= bound; // false for NaN
        worst = std::max(worst, diff);
        if (!ok && failures++ < 5) {
            CHECK_MESSAGE(ok, "element " << std::distance(expected.begin(), e) << ": got " << *a
                                         << ", expected " << *e << " (bound " << bound << ")");
        }
    }
    CHECK(failures == 0);
}

} // namespace encoders_testing
