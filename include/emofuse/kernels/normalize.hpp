// emofuse/kernels/normalize.hpp — row-wise L2 normalisation
// (torch.nn.functional.normalize(x, p=2, dim=-1, eps): x / max(‖x‖₂, eps)).
#pragma once

#include <emofuse/config.hpp>
#include <emofuse/kernels/operand.hpp>
#include <emofuse/kernels/reduce.hpp>

#include <cmath>
#include <cstddef>

namespace emofuse::kernels {

/// Scalar reference: each row of `cols` values becomes x / max(√Σx², eps). x rows are `ldx`
/// apart, y rows `ldy` apart; y may be x. The squares must stay finite (|x| below ~1e19 for
/// float), as in torch.
template <class T>
void l2_normalize_rows_reference(const T* x, std::size_t rows, std::size_t cols, std::size_t ldx,
                                 T eps, T* y, std::size_t ldy) {
    for (std::size_t r = 0; r < rows; ++r) {
        const T norm = std::sqrt(sum_squares_reference(x + r * ldx, cols));
        const T denom = norm > eps ? norm : (norm != norm ? norm : eps); // NaN stays NaN
        for (std::size_t j = 0; j < cols; ++j) {
            y[r * ldy + j] = x[r * ldx + j] / denom;
        }
    }
}

/// L2 normalisation, same contract as the reference. NaN in a row makes the row NaN. Throws
/// shape_error for small leading dimensions, value_error for null pointers or eps < 0.
template <class T>
void l2_normalize_rows(const T* x, std::size_t rows, std::size_t cols, std::size_t ldx, T eps, T* y,
                       std::size_t ldy) {
    if (!(eps >= T(0))) {
        throw value_error(emofuse::detail::concat_message(
            "l2_normalize_rows: eps: expected a non-negative number, got ", eps));
    }
    if (rows == 0 || cols == 0) {
        return;
    }
    detail::check_pointer("l2_normalize_rows", "x", x);
    detail::check_pointer("l2_normalize_rows", "y", y);
    detail::check_leading_dimension("l2_normalize_rows", "x", ldx, cols);
    detail::check_leading_dimension("l2_normalize_rows", "y", ldy, cols);
    for (std::size_t r = 0; r < rows; ++r) {
        const T norm = std::sqrt(sum_squares(x + r * ldx, cols));
        // max(norm, eps) written so a NaN norm stays NaN.
        const T denom = norm > eps ? norm : (norm != norm ? norm : eps);
        scale(T(1) / denom, x + r * ldx, y + r * ldy, cols);
    }
}

/// L2 normalisation of one contiguous vector.
template <class T>
void l2_normalize(const T* x, T* y, std::size_t n, T eps = T(1e-12)) {
    l2_normalize_rows(x, 1, n, n, eps, y, n);
}

} // namespace emofuse::kernels
