// emofuse/io/stored_tensor.hpp — a tensor as a file stores it: element type, shape and raw
// little-endian bytes, before any conversion to an xtensor container.
#pragma once

#include <emofuse/core/checked_size.hpp>
#include <emofuse/core/error.hpp>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace emofuse::io {

static_assert(std::endian::native == std::endian::little,
              "emofuse::io reads and writes little-endian tensor bytes in place; big-endian "
              "hosts are not supported");

/// Element types that safetensors and .npy files store. f16 is IEEE binary16, bf16 is bfloat16
/// (the upper half of a binary32), boolean is one byte (0 or 1).
enum class dtype { f16, bf16, f32, f64, i8, i16, i32, i64, u8, boolean, u16, u32, u64 };

/// Bytes per element.
constexpr std::size_t dtype_size(dtype type) noexcept {
    switch (type) {
    case dtype::i8:
    case dtype::u8:
    case dtype::boolean:
        return 1;
    case dtype::f16:
    case dtype::bf16:
    case dtype::i16:
    case dtype::u16:
        return 2;
    case dtype::f32:
    case dtype::i32:
    case dtype::u32:
        return 4;
    case dtype::f64:
    case dtype::i64:
    case dtype::u64:
        return 8;
    }
    return 0;
}

/// The safetensors spelling ("F32", "BF16", "BOOL", ...), also used in messages.
constexpr std::string_view dtype_name(dtype type) noexcept {
    switch (type) {
    case dtype::f16:
        return "F16";
    case dtype::bf16:
        return "BF16";
    case dtype::f32:
        return "F32";
    case dtype::f64:
        return "F64";
    case dtype::i8:
        return "I8";
    case dtype::i16:
        return "I16";
    case dtype::i32:
        return "I32";
    case dtype::i64:
        return "I64";
    case dtype::u8:
        return "U8";
    case dtype::u16:
        return "U16";
    case dtype::u32:
        return "U32";
    case dtype::u64:
        return "U64";
    case dtype::boolean:
        return "BOOL";
    }
    return "?";
}

/// Inverse of dtype_name; nullopt for names emofuse does not read (F8_E4M3, ...).
constexpr std::optional<dtype> dtype_from_name(std::string_view name) noexcept {
    constexpr dtype all[] = {dtype::f16, dtype::bf16, dtype::f32, dtype::f64, dtype::i8,
                             dtype::i16, dtype::i32,  dtype::i64, dtype::u8,  dtype::boolean,
                             dtype::u16, dtype::u32,  dtype::u64};
    for (dtype type : all) {
        if (dtype_name(type) == name) {
            return type;
        }
    }
    return std::nullopt;
}

/// The dtype of NumPy's type code without byte order ("f4", "i8", "b1", as in .npy
/// descriptors and pickled dtypes), nullopt for codes emofuse does not read.
constexpr std::optional<dtype> dtype_from_numpy_code(std::string_view code) noexcept {
    constexpr std::pair<std::string_view, dtype> known[] = {
        {"f2", dtype::f16}, {"f4", dtype::f32}, {"f8", dtype::f64}, {"i1", dtype::i8},
        {"i2", dtype::i16}, {"i4", dtype::i32}, {"i8", dtype::i64}, {"u1", dtype::u8},
        {"u2", dtype::u16}, {"u4", dtype::u32}, {"u8", dtype::u64}, {"b1", dtype::boolean}};
    for (const auto& [known_code, type] : known) {
        if (known_code == code) {
            return type;
        }
    }
    return std::nullopt;
}

constexpr bool is_floating(dtype type) noexcept {
    return type == dtype::f16 || type == dtype::bf16 || type == dtype::f32 || type == dtype::f64;
}

/// The dtype whose elements are exactly T (float → f32, std::int64_t → i64, bool → boolean).
template <class T>
constexpr dtype dtype_of() noexcept {
    if constexpr (std::is_same_v<T, float>) {
        static_assert(sizeof(float) == 4 && std::numeric_limits<float>::is_iec559);
        return dtype::f32;
    } else if constexpr (std::is_same_v<T, double>) {
        static_assert(sizeof(double) == 8 && std::numeric_limits<double>::is_iec559);
        return dtype::f64;
    } else if constexpr (std::is_same_v<T, bool>) {
        return dtype::boolean;
    } else {
        static_assert(std::is_integral_v<T> && sizeof(T) <= 8,
                      "dtype_of<T>: T must be float, double, bool or a fixed-width integer");
        constexpr bool is_signed = std::is_signed_v<T>;
        if constexpr (sizeof(T) == 1) {
            return is_signed ? dtype::i8 : dtype::u8;
        } else if constexpr (sizeof(T) == 2) {
            return is_signed ? dtype::i16 : dtype::u16;
        } else if constexpr (sizeof(T) == 4) {
            return is_signed ? dtype::i32 : dtype::u32;
        } else {
            return is_signed ? dtype::i64 : dtype::u64;
        }
    }
}

/// Writes "(2, 3)" style shapes into messages.
inline std::string shape_to_string(std::span<const std::size_t> shape) {
    std::string text = "(";
    for (std::size_t axis = 0; axis < shape.size(); ++axis) {
        if (axis > 0) {
            text += ", ";
        }
        text += std::to_string(shape[axis]);
    }
    text += shape.size() == 1 ? ",)" : ")";
    return text;
}

/// Byte size of `shape` elements of `type`, or nullopt on overflow (core/checked_size.hpp's
/// rule: a shape whose non-zero extents overflow is refused even when another is zero).
inline std::optional<std::size_t> checked_byte_count(dtype type,
                                                     std::span<const std::size_t> shape) {
    const auto count = try_element_count(shape);
    return count ? try_multiply(*count, dtype_size(type)) : std::nullopt;
}

/// A tensor as stored: C-order (row-major) elements as little-endian bytes.
struct stored_tensor {
    dtype type = dtype::f32;
    std::vector<std::size_t> shape;
    std::vector<std::byte> bytes;

    /// Number of elements (product of the shape; 1 for a scalar of rank 0).
    std::size_t size() const noexcept { return bytes.size() / dtype_size(type); }
    std::size_t rank() const noexcept { return shape.size(); }

    friend bool operator==(const stored_tensor&, const stored_tensor&) = default;
};

/// Throws io_error unless `tensor.bytes` holds exactly product(shape) elements of its dtype.
inline void check_consistent(const stored_tensor& tensor, std::string_view name,
                             std::string_view source) {
    const auto expected = checked_byte_count(tensor.type, tensor.shape);
    if (!expected) {
        throw shape_error(emofuse::detail::concat_message("io: tensor '", name, "' in ", source,
                                                          ": shape ", shape_to_string(tensor.shape),
                                                          " has more elements than fit in memory"));
    }
    if (*expected != tensor.bytes.size()) {
        throw shape_error(emofuse::detail::concat_message(
            "io: tensor '", name, "' in ", source, ": ", dtype_name(tensor.type), " shape ",
            shape_to_string(tensor.shape), " needs ", *expected, " bytes, got ",
            tensor.bytes.size()));
    }
}

} // namespace emofuse::io
