// emofuse/io/convert.hpp — stored tensors to xtensor containers and back: dtype conversion,
// rank and shape checks with messages that name the tensor and the file it came from.
#pragma once

#include <emofuse/config.hpp>
#include <emofuse/core/dims.hpp>
#include <emofuse/core/error.hpp>
#include <emofuse/io/half.hpp>
#include <emofuse/io/stored_tensor.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace emofuse::io {

namespace detail {

/// Reads element `index` of the stored bytes as the C++ type matching the dtype and passes it
/// to `visit` (f16/bf16 arrive already widened to float).
template <class Visit>
void visit_elements(const stored_tensor& tensor, Visit&& visit) {
    const std::byte* data = tensor.bytes.data();
    const std::size_t count = tensor.size();
    auto each = [&]<class Stored>(auto widen) {
        for (std::size_t index = 0; index < count; ++index) {
            Stored value;
            std::memcpy(&value, data + index * sizeof(Stored), sizeof(Stored));
            visit(index, widen(value));
        }
    };
    auto same = [](auto value) { return value; };
    switch (tensor.type) {
    case dtype::f16:
        each.template operator()<std::uint16_t>([](std::uint16_t v) { return half_to_float(v); });
        break;
    case dtype::bf16:
        each.template operator()<std::uint16_t>(
            [](std::uint16_t v) { return bfloat16_to_float(v); });
        break;
    case dtype::f32:
        each.template operator()<float>(same);
        break;
    case dtype::f64:
        each.template operator()<double>(same);
        break;
    case dtype::i8:
        each.template operator()<std::int8_t>(same);
        break;
    case dtype::i16:
        each.template operator()<std::int16_t>(same);
        break;
    case dtype::i32:
        each.template operator()<std::int32_t>(same);
        break;
    case dtype::i64:
        each.template operator()<std::int64_t>(same);
        break;
    case dtype::u8:
    case dtype::boolean:
        each.template operator()<std::uint8_t>(same);
        break;
    case dtype::u16:
        each.template operator()<std::uint16_t>(same);
        break;
    case dtype::u32:
        each.template operator()<std::uint32_t>(same);
        break;
    case dtype::u64:
        each.template operator()<std::uint64_t>(same);
        break;
    }
}

/// BOOL elements must be bytes 0 or 1 (reading any other byte as a C++ bool is undefined).
inline void check_boolean_bytes(const stored_tensor& tensor, std::string_view name,
                                std::string_view source) {
    if (tensor.type != dtype::boolean) {
        return;
    }
    for (std::size_t index = 0; index < tensor.bytes.size(); ++index) {
        const auto byte = static_cast<unsigned>(tensor.bytes[index]);
        if (byte > 1) {
            throw io_error(emofuse::detail::concat_message("io: tensor '", name, "' in ", source,
                                                           ": BOOL element ", index, " is byte ",
                                                           byte, ", not 0 or 1"));
        }
    }
}

template <std::size_t N>
std::string expected_shape_to_string(const std::array<std::size_t, N>& expected) {
    std::string text = "(";
    for (std::size_t axis = 0; axis < N; ++axis) {
        if (axis > 0) {
            text += ", ";
        }
        text += expected[axis] == dynamic ? std::string("any") : std::to_string(expected[axis]);
    }
    text += N == 1 ? ",)" : ")";
    return text;
}

} // namespace detail

/// Converts a stored tensor to an xtensor of rank N and element type T.
///  - T floating point: every dtype converts (f16/bf16 exactly; integers by static_cast).
///  - T integral or bool: only integer/bool dtypes, and each value must fit T (else io_error).
///  - BOOL elements must be bytes 0 or 1 (else io_error), whatever T is.
/// Throws shape_error, naming `name` and `source`, when the rank is not N or an extent of
/// `expected_shape` other than `dynamic` differs.
template <class T, std::size_t N>
xt::xtensor<T, N> to_xtensor(const stored_tensor& tensor, std::string_view name,
                             std::string_view source,
                             const std::array<std::size_t, N>& expected_shape) {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double> ||
                      std::is_same_v<T, bool> ||
                      (std::is_integral_v<T> && !std::is_same_v<T, char> && sizeof(T) <= 8),
                  "to_xtensor<T, N>: T must be float, double, bool or a fixed-width integer type");
    check_consistent(tensor, name, source);
    detail::check_boolean_bytes(tensor, name, source);
    bool shape_matches = tensor.shape.size() == N;
    for (std::size_t axis = 0; shape_matches && axis < N; ++axis) {
        shape_matches =
            expected_shape[axis] == dynamic || expected_shape[axis] == tensor.shape[axis];
    }
    if (!shape_matches) {
        throw shape_error(emofuse::detail::concat_message(
            "io: tensor '", name, "' in ", source, ": expected rank ", N, " shape ",
            detail::expected_shape_to_string(expected_shape), ", got rank ", tensor.shape.size(),
            " shape ", shape_to_string(tensor.shape)));
    }
    if constexpr (!std::is_floating_point_v<T>) {
        if (is_floating(tensor.type)) {
            throw io_error(emofuse::detail::concat_message(
                "io: tensor '", name, "' in ", source, ": stored as ", dtype_name(tensor.type),
                ", which does not convert to an integer type without loss"));
        }
    }

    typename xt::xtensor<T, N>::shape_type shape;
    for (std::size_t axis = 0; axis < N; ++axis) {
        shape[axis] = tensor.shape[axis];
    }
    xt::xtensor<T, N> result(shape);
    T* out = result.data();
    if (tensor.type == dtype_of<T>()) {
        if (!tensor.bytes.empty()) {
            std::memcpy(out, tensor.bytes.data(), tensor.bytes.size());
        }
        return result;
    }
    detail::visit_elements(tensor, [&](std::size_t index, auto value) {
        using Value = decltype(value);
        if constexpr (std::is_floating_point_v<T>) {
            out[index] = static_cast<T>(value);
        } else if constexpr (std::is_integral_v<Value>) {
            bool fits = false;
            if constexpr (std::is_same_v<T, bool>) {
                fits = value == 0 || value == 1;
            } else {
                fits = std::in_range<T>(value);
            }
            if (!fits) {
                throw io_error(emofuse::detail::concat_message(
                    "io: tensor '", name, "' in ", source, ": element ", index, " = ", +value,
                    " does not fit the requested integer type"));
            }
            out[index] = static_cast<T>(value);
        }
    });
    return result;
}

/// As above with every extent left unchecked (only the rank is checked).
template <class T, std::size_t N>
xt::xtensor<T, N> to_xtensor(const stored_tensor& tensor, std::string_view name,
                             std::string_view source) {
    std::array<std::size_t, N> any_shape;
    any_shape.fill(dynamic);
    return to_xtensor<T, N>(tensor, name, source, any_shape);
}

/// Copies a row-major xtensor into a stored tensor of the matching dtype (float → f32, ...).
template <class T, std::size_t N>
stored_tensor to_stored(const xt::xtensor<T, N>& values) {
    static_assert(sizeof(bool) == 1, "emofuse::io stores bool as one byte");
    stored_tensor tensor;
    tensor.type = dtype_of<T>();
    tensor.shape.assign(values.shape().begin(), values.shape().end());
    tensor.bytes.resize(values.size() * sizeof(T));
    if (!tensor.bytes.empty()) {
        std::memcpy(tensor.bytes.data(), values.data(), tensor.bytes.size());
    }
    return tensor;
}

/// Converts the elements of a float tensor to another float dtype (f16/bf16 round to nearest
/// even; f64 → f16/bf16 goes through f32). Integer sources convert by static_cast.
inline stored_tensor cast_floating(const stored_tensor& tensor, dtype target,
                                   std::string_view name = "<tensor>") {
    if (!is_floating(target)) {
        throw value_error(emofuse::detail::concat_message("io::cast_floating: tensor '", name,
                                                          "': target dtype ", dtype_name(target),
                                                          " is not a float type"));
    }
    check_consistent(tensor, name, "<memory>");
    detail::check_boolean_bytes(tensor, name, "<memory>");
    stored_tensor result;
    result.type = target;
    result.shape = tensor.shape;
    result.bytes.resize(emofuse::checked_byte_count("io::cast_floating: tensor", {tensor.size()},
                                                    dtype_size(target)));
    std::byte* out = result.bytes.data();
    detail::visit_elements(tensor, [&](std::size_t index, auto value) {
        auto store = [&](auto converted) {
            std::memcpy(out + index * sizeof(converted), &converted, sizeof(converted));
        };
        switch (target) {
        case dtype::f16:
            store(float_to_half(static_cast<float>(value)));
            break;
        case dtype::bf16:
            store(float_to_bfloat16(static_cast<float>(value)));
            break;
        case dtype::f32:
            store(static_cast<float>(value));
            break;
        default:
            store(static_cast<double>(value));
            break;
        }
    });
    return result;
}

} // namespace emofuse::io
