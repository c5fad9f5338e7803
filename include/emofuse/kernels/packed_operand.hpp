// emofuse/kernels/packed_operand.hpp — the right-hand GEMM operand op(B) packed once into the
// micro-kernel's panel layout, for weights that are multiplied many times.
#pragma once

#include <emofuse/config.hpp>
#include <emofuse/kernels/epilogue.hpp>
#include <emofuse/kernels/gemm.hpp>
#include <emofuse/kernels/operand.hpp>
#include <emofuse/kernels/workspace.hpp>
#include <emofuse/platform/parallel.hpp>
#include <emofuse/platform/prefetch.hpp>

#include <algorithm>
#include <cstddef>
#include <thread>
#include <utility>

namespace emofuse::kernels {

/// op(B), a (k, n) matrix, stored as the GEMM micro-kernel reads it: panels of nr columns,
/// each holding all k rows contiguously (the last panel zero-padded). Packing costs one pass
/// over B; every later gemm/linear with it skips that pass — for a PyTorch (out, in) weight
/// it is the transposing copy that otherwise runs on every call.
/// Copies duplicate the panels (no re-pack). The layout is that of the SIMD architecture this
/// translation unit is compiled for (emofuse::simd_arch).
template <class T>
class packed_operand {
public:
    packed_operand() = default;
    packed_operand(const packed_operand& other) : depth_(other.depth_), columns_(other.columns_) {
        if (other.panels_ != nullptr) {
            const std::size_t count = panel_count() * panel_stride();
            T* out = storage_.buffer<T>(0, count);
            std::copy_n(other.panels_, count, out);
            panels_ = out;
        }
    }
    packed_operand& operator=(const packed_operand& other) {
        if (this != &other) {
            *this = packed_operand(other);
        }
        return *this;
    }
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

    /// op(B)[row, col], read back from the panels (row < depth(), col < columns()).
    [[nodiscard]] T at(std::size_t row, std::size_t col) const {
        return panels_[(col / nr) * panel_stride() + row * nr + col % nr];
    }

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

namespace detail {

/// Products with fewer multiply-adds than this run on the calling thread alone. Waking the
/// pool and joining costs a few tens of µs; at 2^21 (≈30 µs of work) batch-1 models with many
/// such products (MulT, an LSTM's input projection) ran 5–10 % slower on 2 threads than on 1,
/// at 2^23 (≈110 µs) the split pays for itself (bench/compare_threads.py).
inline constexpr std::size_t parallel_gemm_min_fmas = std::size_t{1} << 23;

/// Calls body(col0, cols, ws) over C's columns [0, n) split into runs of whole nr-wide panels,
/// one run per thread (platform/parallel.hpp), or once for all of them when the product is
/// small. Every element of C is computed by the same micro-kernel steps in the same order
/// whichever run holds it, so the result does not depend on the thread count. `ws` serves
/// the calling thread; the pool's workers use their own thread_workspace().
template <class Body>
void for_column_runs(std::size_t m, std::size_t n, std::size_t k, std::size_t nr, workspace& ws,
                     Body&& body) {
    const std::size_t panels = (n + nr - 1) / nr;
    const unsigned threads = num_threads();
    if (threads <= 1 || panels < 2 || m * n * k < parallel_gemm_min_fmas) {
        body(std::size_t{0}, n, ws);
        return;
    }
    const std::size_t panels_per_run = (panels + threads - 1) / threads;
    const auto caller = std::this_thread::get_id();
    parallel_for(panels, panels_per_run, [&](std::size_t first, std::size_t last) {
        const std::size_t col0 = first * nr;
        workspace& own = std::this_thread::get_id() == caller ? ws : thread_workspace();
        body(col0, std::min(n, last * nr) - col0, own);
    });
}

} // namespace detail

/// C = act(alpha·op(A)·op(B) + beta·C + bias) with op(B) packed beforehand; otherwise the same
/// contract as gemm (m × b.columns() result, inner dimension b.depth()). Large products run on
/// the library's threads, split over C's columns (the same bits at any thread count).
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
    constexpr std::size_t nr = detail::gemm_blocking<T, simd_arch>::nr;
    // From the whole product's shape, so every column run walks the same depth blocks.
    const std::size_t depth_block = detail::packed_depth_block<T, simd_arch>(m, k);
    detail::for_column_runs(
        m, n, k, nr, ws, [&](std::size_t col0, std::size_t cols, workspace& own) {
            const fused_epilogue<T> run_post{post.column_bias ? post.column_bias + col0 : nullptr,
                                             post.activation};
            detail::gemm_blocked<T, simd_arch>(
                trans_a, m, cols, k, alpha, a, lda, beta, c + col0, ldc, run_post, own,
                [&](std::size_t jc, std::size_t, std::size_t pc, std::size_t) {
                    detail::b_panels<T> p = b.panels_from(pc);
                    p.base += ((col0 + jc) / nr) * p.panel_stride;
                    return p;
                },
                depth_block);
        });
}

/// Bytes after each row of a gemm_generated block that make_a may overwrite (one cache line:
/// room for one SIMD vector of any width the library uses).
inline constexpr std::size_t generated_row_slack_bytes = 64;

/// C = act(op(A)·op(B) + bias) (m × b.columns(), rows `ldc` apart) for an op(A) that is
/// never stored whole: `make_a(row0, rows, k0, depth, dst, ld)` must write op(A)[row0 :
/// row0+rows, k0 : k0+depth] into dst (rows `ld` apart; it may also overwrite the
/// generated_row_slack_bytes after each row's `depth` elements), and is called once per block just
/// before the micro-kernel reads it. For an A that is cheaper to compute than to store, such
/// as tensor fusion's per-sample outer products (Π n_m wide). Blocks have at most the GEMM's
/// mc rows and a depth of at least kc: one block of A stays in cache while every column panel
/// of B's matching block passes over it. Scratch: slot 1 of `ws` (one block). Large products
/// run on the library's threads, split over C's columns: make_a must then be safe to call
/// from several threads at once (each call writes only its own `dst`).
/// Throws value_error for a null C, shape_error for ldc < b.columns().
template <class T, class MakeA>
void gemm_generated(std::size_t m, MakeA&& make_a, const packed_operand<T>& b, T* c,
                    std::size_t ldc, fused_epilogue<T> post = {},
                    workspace& ws = thread_workspace()) {
    using blocking = detail::gemm_blocking<T, simd_arch>;
    constexpr std::size_t mr = blocking::mr;
    constexpr std::size_t nr = blocking::nr;
    const std::size_t n = b.columns(), k = b.depth();
    if (m == 0 || n == 0) {
        return;
    }
    detail::check_pointer("gemm_generated", "C", c);
    detail::check_leading_dimension("gemm_generated", "C", ldc, n);
    if (k == 0) {
        detail::gemm_empty_inner(m, n, T(0), c, ldc, post);
        return;
    }
    // Depth blocks longer than the GEMM's kc while the block of A stays within a quarter of
    // L2 (256 KiB): each B panel is then read in longer contiguous runs, which the hardware
    // prefetcher streams from DRAM better (TFN at B = 32: 4.7 ms with kc = 256, 4.0 ms with
    // 2048 in one run). Capped at 2048, where B's matching block for 64 columns is 512 KiB.
    constexpr std::size_t a_block_elements = (std::size_t{256} << 10) / sizeof(T);
    const std::size_t chunk = std::min(blocking::mc, m);
    const std::size_t block =
        std::min(k, std::max(blocking::kc, std::min<std::size_t>(2048, a_block_elements / chunk)));
    // Rows of a block one cache line longer than its depth: at a depth of 2048 floats the rows
    // are 8 KiB apart, so the micro-kernel's 12 broadcast streams would all fall in one L1 set.
    // The slack also lets make_a store whole vectors past a row's end.
    constexpr std::size_t row_pad = generated_row_slack_bytes / sizeof(T);
    // Large products split C's columns over the library's threads; each run makes its own
    // blocks of A (make_a is called from several threads at once then).
    detail::for_column_runs(
        m, n, k, nr, ws, [&](std::size_t col0, std::size_t run_cols, workspace& own) {
            T* a = own.buffer<T>(1, chunk * (block + row_pad));
            for (std::size_t ic = 0; ic < m; ic += chunk) {
                const std::size_t mc = std::min(chunk, m - ic);
                for (std::size_t pc = 0; pc < k; pc += block) {
                    const std::size_t kc = std::min(block, k - pc);
                    const bool last_k = pc + kc == k;
                    const std::size_t ld = kc + row_pad;
                    make_a(ic, mc, pc, kc, a, ld);
                    const detail::b_panels<T> panels = b.panels_from(pc);
                    // The B panel after this one: the next column panel of this depth block,
                    // else the first of the next block (lines = its depth·nr elements).
                    const std::size_t next_depth = std::min(block, k - std::min(k, pc + kc));
                    for (std::size_t jr = col0; jr < col0 + run_cols; jr += nr) {
                        const std::size_t cols = std::min(nr, n - jr);
                        const detail::tile_store<T> st{
                            T(1), pc == 0 ? T(0) : T(1),
                            (last_k && post.column_bias) ? post.column_bias + jr : nullptr,
                            last_k ? post.activation : epilogue::none};
                        const T* b_panel = panels.base + (jr / nr) * panels.panel_stride;
                        const bool last_panel = jr + nr >= col0 + run_cols;
                        const T* next_panel =
                            !last_panel ? b_panel + panels.panel_stride
                            : next_depth != 0
                                ? b.panels_from(pc + kc).base + (col0 / nr) * panels.panel_stride
                                : nullptr;
                        const std::size_t next_lines =
                            next_panel == nullptr
                                ? 0
                                : ((last_panel ? next_depth : kc) * nr * sizeof(T) +
                                   cache_line_bytes - 1) /
                                      cache_line_bytes;
                        // The first row tile reads this panel (prefetched by the tiles before
                        // it); the others, which find it in cache, prefetch the next one
                        // between them.
                        const std::size_t tiles = (mc + mr - 1) / mr;
                        const std::size_t lines_per_tile =
                            tiles < 2 ? 0 : (next_lines + tiles - 2) / (tiles - 1);
                        for (std::size_t ir = 0, tile = 0; ir < mc; ir += mr, ++tile) {
                            const std::size_t rows = std::min(mr, mc - ir);
                            T* c_tile = c + (ic + ir) * ldc + jr;
                            const T* a_rows = a + ir * ld;
                            const std::size_t first_line =
                                tile == 0 ? next_lines
                                          : std::min(next_lines, (tile - 1) * lines_per_tile);
                            const std::size_t lines =
                                std::min(next_lines - first_line, lines_per_tile);
                            const void* prefetch = lines == 0
                                                       ? nullptr
                                                       : reinterpret_cast<const char*>(next_panel) +
                                                             first_line * cache_line_bytes;
                            if (rows == mr) {
                                detail::micro_kernel<T, simd_arch, mr, false>(
                                    kc, a_rows, ld, b_panel, c_tile, ldc, cols, st, prefetch,
                                    lines);
                            } else {
                                detail::micro_kernel_rows<T, simd_arch, false>(
                                    rows, kc, a_rows, ld, b_panel, c_tile, ldc, cols, st,
                                    std::make_index_sequence<mr - 1>{}, prefetch, lines);
                            }
                        }
                    }
                }
            }
        });
}

} // namespace emofuse::kernels
