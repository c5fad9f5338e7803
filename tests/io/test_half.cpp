// Exact 16-bit float conversions, checked against numpy (binary16) and torch (bfloat16).
#include <emofuse/io/half.hpp>

#include "io_fixtures.hpp"

#include <xtensor/xnpy.hpp>

#include <bit>
#include <cmath>
#include <cstdint>

using namespace emofuse::io;

namespace {

bool is_half_nan(std::uint16_t bits) {
    return (bits & 0x7c00u) == 0x7c00u && (bits & 0x3ffu) != 0;
}
bool is_bfloat_nan(std::uint16_t bits) {
    return (bits & 0x7f80u) == 0x7f80u && (bits & 0x7fu) != 0;
}

} // namespace

TEST_CASE("half_to_float matches numpy bit for bit on all 65536 patterns") {
    const auto reference =
        xt::load_npy<std::uint32_t>(io_test::data_path("half_to_float_bits.npy").string());
    REQUIRE(reference.size() == 65536);
    std::size_t mismatches = 0;
    for (std::uint32_t bits = 0; bits < 65536; ++bits) {
        const auto got =
            std::bit_cast<std::uint32_t>(half_to_float(static_cast<std::uint16_t>(bits)));
        if (got != reference(bits)) {
            ++mismatches;
            INFO("half bits 0x" << std::hex << bits << ": got 0x" << got << ", numpy 0x"
                                << reference(bits));
            CHECK(got == reference(bits));
        }
    }
    CHECK(mismatches == 0);
}

TEST_CASE("half_to_float special values") {
    CHECK(half_to_float(0x0001) == 0x1p-24f);        // smallest subnormal
    CHECK(half_to_float(0x03ff) == 1023 * 0x1p-24f); // largest subnormal
    CHECK(half_to_float(0x0400) == 0x1p-14f);        // smallest normal
    CHECK(half_to_float(0x7bff) == 65504.0f);        // largest finite
    CHECK(std::isinf(half_to_float(0x7c00)));
    CHECK(half_to_float(0xfc00) < 0);
    CHECK(std::isnan(half_to_float(0x7e00)));
    CHECK(std::signbit(half_to_float(0x8000)));
    CHECK(half_to_float(0x8000) == 0.0f);
}

TEST_CASE("bfloat16_to_float is the upper half of a binary32") {
    for (std::uint32_t bits = 0; bits < 65536; ++bits) {
        const auto widened =
            std::bit_cast<std::uint32_t>(bfloat16_to_float(static_cast<std::uint16_t>(bits)));
        REQUIRE(widened == bits << 16);
    }
}

TEST_CASE("float_to_half and float_to_bfloat16 round like numpy and torch") {
    const auto inputs =
        xt::load_npy<std::uint32_t>(io_test::data_path("narrowing_inputs_f32_bits.npy").string());
    const auto halves =
        xt::load_npy<std::uint16_t>(io_test::data_path("narrowing_half_bits.npy").string());
    const auto bfloats =
        xt::load_npy<std::uint16_t>(io_test::data_path("narrowing_bfloat16_bits.npy").string());
    REQUIRE(inputs.size() == halves.size());
    REQUIRE(inputs.size() == bfloats.size());
    REQUIRE(inputs.size() > 10000);
    std::size_t half_mismatches = 0, bfloat_mismatches = 0, nans = 0;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        const float value = std::bit_cast<float>(inputs(i));
        const std::uint16_t half = float_to_half(value);
        const std::uint16_t bfloat = float_to_bfloat16(value);
        if (std::isnan(value)) {
            // NaN payloads are not specified by either library; NaN must stay NaN.
            ++nans;
            half_mismatches += is_half_nan(half) ? 0 : 1;
            bfloat_mismatches += is_bfloat_nan(bfloat) ? 0 : 1;
            continue;
        }
        if (half != halves(i)) {
            ++half_mismatches;
            INFO("f32 0x" << std::hex << inputs(i) << " -> half 0x" << half << ", numpy 0x"
                          << halves(i));
            CHECK(half == halves(i));
        }
        if (bfloat != bfloats(i)) {
            ++bfloat_mismatches;
            INFO("f32 0x" << std::hex << inputs(i) << " -> bf16 0x" << bfloat << ", torch 0x"
                          << bfloats(i));
            CHECK(bfloat == bfloats(i));
        }
    }
    CHECK(nans > 0); // the random bit patterns include NaNs
    CHECK(half_mismatches == 0);
    CHECK(bfloat_mismatches == 0);
}

TEST_CASE("narrowing then widening is the identity on representable values") {
    for (std::uint32_t bits = 0; bits < 65536; ++bits) {
        const auto half = static_cast<std::uint16_t>(bits);
        if (is_half_nan(half)) {
            CHECK(is_half_nan(float_to_half(half_to_float(half))));
            continue;
        }
        REQUIRE(float_to_half(half_to_float(half)) == half);
        if (!is_bfloat_nan(half)) {
            REQUIRE(float_to_bfloat16(bfloat16_to_float(half)) == half);
        }
    }
}
