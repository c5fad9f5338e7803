// emofuse/kernels/packed_operand.hpp — the right-hand GEMM operand op(B) packed once into the
// micro-kernel's panel layout, for weights that are multiplied many times.
#pragma once

#include <emofuse/config.hpp>
#include <emofuse/kernels/epilogue.hpp>
#include <emofuse/kernels/gemm.hpp>
#include <emofuse/kernels/operand.hpp>
#include <emofuse/kernels/workspace.hpp>

#include <cstddef>
#include <utility>

namespace emofuse::kernels {

/// op(B), a (k, n) matrix, stored as the GEMM micro-kernel reads it: panels of nr columns,
/// each holding all k rows contiguously (the last panel zero-padded). Packing costs one pass
/// over B; every later gemm/linear with it skips that pass — for a PyTorch (out, in) weight
/// it is the transposing copy that otherwise runs on every call.
/// Move-only (it owns an aligned buffer). The layout is that of the SIMD architecture this
/// translation unit is compiled for (emofuse::simd_arch).
template <class T>
class packed_operand {
public:
    packed_operand() = default;
    packed_operand(const packed_operand&) = delete;
    packed_operand& operator=(const packed_operand&) = delete;
    packed_operand(packed_operand&& other) noexcept
        : depth_(other.depth_), columns_(other.columns_), panels_(other.panels_),
          storage_(std::move(other.storage_)) {
        other.depth_ = other.columns_ = 0;
        other.panels_ = nullptr;
    }
    packed_operand& operator=(packed_operand&& other) noexcept {
        depth_ = other.depth_;
        columns_ = other.columns_;
        panels_ = other.panels_;
        storage_ = std::move(other.storage_);
        other.depth_ = other.columns_ = 0;
        other.panels_ = nullptr;
        return *this;
    }
    ~packed_operand() = default;

    /// Packs op(B): B is stored (k, n) (trans == no) or (n, k) (trans == yes), row-major with
    /// leading dimension ldb. Throws value_error for a null B with k·n > 0, shape_error for a
    /// short leading dimension.
    packed_operand(transpose trans, std::size_t k, std::size_t n, const T* b, std::size_t ldb)
        : depth_(k), columns_(n) {
        if (k == 0 || n == 0) {
            return;
        }
        detail::check_pointer("packed_operand", "B", b);
        detail::check_leading_dimension("packed_operand", "B", ldb, trans == transpose::no ? n : k);
        T* out = storage_.buffer<T>(0, panel_count() * panel_stride());
        panels_ = out;
        // One call packs every panel with the full depth: panel j lands at out + j·k·nr.
        detail::pack_b<T, nr>(trans, b, ldb, 0, 0, k, n, out);
    }

    /// Packs a PyTorch linear weight, (out, in) row-major, as op(B) = Wᵀ (in, out).
    static packed_operand from_linear_weight(const T* weight, std::size_t out, std::size_t in) {
        return packed_operand(transpose::yes, in, out, weight, in);
    }

    /// Rows of op(B) (the inner dimension k of the product).
    [[nodiscard]] std::size_t depth() const { return depth_; }
    /// Columns of op(B) (the n of C).
    [[nodiscard]] std::size_t columns() const { return columns_; }

    /// Where the panels of the depth block starting at `row0` are.
    [[nodiscard]] detail::b_panels<T> panels_from(std::size_t row0) const {
        return {panels_ + row0 * nr, panel_stride()};
    }

private:
    static constexpr std::size_t nr = detail::gemm_blocking<T, simd_arch>::nr;
    [[nodiscard]] std::size_t panel_count() const { return (columns_ + nr - 1) / nr; }
    [[nodiscard]] std::size_t panel_stride() const { return depth_ * nr; }

    std::size_t depth_ = 0;
    std::size_t columns_ = 0;
    const T* panels_ = nullptr; // points into storage_ (heap memory: survives moves)
    workspace storage_;
};

/// C = act(alpha·op(A)·op(B) + beta·C + bias) with op(B) packed beforehand; otherwise the same
/// contract as gemm (m × b.columns() result, inner dimension b.depth()).
template <class T>
void gemm(transpose trans_a, std::size_t m, T alpha, const T* a, std::size_t lda,
          const packed_operand<T>& b, T beta, T* c, std::size_t ldc, fused_epilogue<T> post = {},
          workspace& ws = thread_workspace()) {
    const std::size_t n = b.columns(), k = b.depth();
    // The packed panels stand for a valid B: check A and C only.
    detail::check_gemm_arguments("gemm(packed)", trans_a, transpose::no, m, n, k, a, lda,
                                 static_cast<const void*>(&b), n, c, ldc);
    if (m == 0 || n == 0) {
        return;
    }
    if (k == 0) {
        detail::gemm_empty_inner(m, n, beta, c, ldc, post);
        return;
    }
    detail::gemm_blocked<T, simd_arch>(
        trans_a, m, n, k, alpha, a, lda, beta, c, ldc, post, ws,
        [&](std::size_t jc, std::size_t, std::size_t pc, std::size_t) {
            detail::b_panels<T> p = b.panels_from(pc);
            p.base += (jc / detail::gemm_blocking<T, simd_arch>::nr) * p.panel_stride;
            return p;
        });
}

} // namespace emofuse::kernels
