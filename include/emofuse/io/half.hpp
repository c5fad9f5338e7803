// emofuse/io/half.hpp — exact conversions between binary32 and the 16-bit float formats that
// PyTorch checkpoints use: IEEE binary16 (f16) and bfloat16 (bf16).
#pragma once

#include <bit>
#include <cstdint>

namespace emofuse::io {

/// binary16 → binary32. Exact for every input: subnormals become normal floats, infinities
/// stay infinite, NaNs stay NaN with their sign and payload (shifted into the upper bits).
/// Written with selects instead of branches so conversion loops vectorise; no step produces a
/// binary32 subnormal, so flush-to-zero modes (-ffast-math) do not change the result.
constexpr float half_to_float(std::uint16_t bits) noexcept {
    const std::uint32_t sign = static_cast<std::uint32_t>(bits & 0x8000u) << 16;
    const std::uint32_t exponent = bits & 0x7c00u;
    const std::uint32_t mantissa = bits & 0x3ffu;
    // Normal numbers: shift exponent and mantissa into place and re-bias 15 → 127; infinities
    // and NaNs (exponent 31) get the bias added twice, which lands on exponent 255.
    const std::uint32_t rebias =
        0x38000000u * (1u + static_cast<std::uint32_t>(exponent == 0x7c00u));
    const std::uint32_t normal = (static_cast<std::uint32_t>(bits & 0x7fffu) << 13) + rebias;
    // Zero and subnormals: mantissa · 2^-24, exactly representable as a normal binary32.
    const std::uint32_t subnormal =
        std::bit_cast<std::uint32_t>(static_cast<float>(mantissa) * 0x1p-24f);
    const std::uint32_t use_subnormal = 0u - static_cast<std::uint32_t>(exponent == 0);
    return std::bit_cast<float>(sign | (subnormal & use_subnormal) | (normal & ~use_subnormal));
}

/// bfloat16 → binary32: the upper half of a binary32, so the conversion is a shift.
constexpr float bfloat16_to_float(std::uint16_t bits) noexcept {
    return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16);
}

/// binary32 → binary16, rounding to nearest with ties to even (what numpy and PyTorch do).
/// Magnitudes from 65520 up become infinity; NaNs stay (quiet) NaN.
constexpr std::uint16_t float_to_half(float value) noexcept {
    const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
    const auto sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000u);
    const std::uint32_t magnitude = bits & 0x7fffffffu;
    if (magnitude > 0x7f800000u) { // NaN: keep the top payload bits, force the quiet bit
        return static_cast<std::uint16_t>(sign | 0x7e00u | ((magnitude >> 13) & 0x3ffu));
    }
    if (magnitude >= 0x477ff000u) { // ≥ 65520 rounds past the largest half (65504)
        return static_cast<std::uint16_t>(sign | 0x7c00u);
    }
    if (magnitude < 0x38800000u) { // below 2^-14: a half subnormal (or zero)
        const std::uint32_t exponent = magnitude >> 23;
        if (exponent < 102) { // < 2^-25: rounds to zero
            return sign;
        }
        const std::uint32_t significand = (magnitude & 0x7fffffu) | 0x800000u;
        const std::uint32_t shift = 126u - exponent; // value / 2^-24 = significand · 2^-shift
        std::uint32_t rounded = significand >> shift;
        const std::uint32_t remainder = significand & ((1u << shift) - 1u);
        const std::uint32_t halfway = 1u << (shift - 1u);
        if (remainder > halfway || (remainder == halfway && (rounded & 1u) != 0)) {
            ++rounded; // may carry into the smallest normal, which encodes correctly
        }
        return static_cast<std::uint16_t>(sign | rounded);
    }
    std::uint32_t rounded = ((magnitude >> 23) - 112u) << 10 | ((magnitude >> 13) & 0x3ffu);
    const std::uint32_t remainder = magnitude & 0x1fffu;
    if (remainder > 0x1000u || (remainder == 0x1000u && (rounded & 1u) != 0)) {
        ++rounded; // a carry into the exponent is the correct result
    }
    return static_cast<std::uint16_t>(sign | rounded);
}

/// binary32 → bfloat16, rounding to nearest with ties to even; NaNs stay (quiet) NaN.
constexpr std::uint16_t float_to_bfloat16(float value) noexcept {
    const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
    if ((bits & 0x7fffffffu) > 0x7f800000u) {
        return static_cast<std::uint16_t>((bits >> 16) | 0x40u);
    }
    const std::uint32_t rounding_bias = 0x7fffu + ((bits >> 16) & 1u);
    return static_cast<std::uint16_t>((bits + rounding_bias) >> 16);
}

} // namespace emofuse::io
