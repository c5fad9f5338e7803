// emofuse/kernels/operand.hpp — how matrix operands are passed to GEMM/GEMV, and their checks.
#pragma once

#include <emofuse/core/error.hpp>

#include <cstddef>

namespace emofuse::kernels {

/// Whether a matrix operand is used as stored or transposed.
enum class transpose : bool { no, yes };

namespace detail {

inline void check_pointer(const char* op, const char* what, const void* p) {
    if (p == nullptr) {
        throw value_error(emofuse::detail::concat_message(
            op, ": ", what, ": expected a non-null pointer for a non-empty operand, got null"));
    }
}

inline void check_leading_dimension(const char* op, const char* what, std::size_t ld,
                                    std::size_t min_ld) {
    if (ld < min_ld) {
        throw shape_error(mismatch_message(
            op, what, emofuse::detail::concat_message("leading dimension >= ", min_ld), ld));
    }
}

} // namespace detail

} // namespace emofuse::kernels
