// emofuse/kernels/gemm.hpp — packed, register-blocked matrix multiply (BLIS-style) with a fused
// bias/ReLU epilogue, plus its strided-batched form.
#pragma once

#include <emofuse/config.hpp>
#include <emofuse/kernels/elementwise.hpp>
#include <emofuse/kernels/epilogue.hpp>
#include <emofuse/kernels/gemv.hpp>
#include <emofuse/kernels/operand.hpp>
#include <emofuse/kernels/workspace.hpp>
#include <emofuse/platform/prefetch.hpp>

#include <algorithm>
#include <cstddef>
#include <type_traits>
#include <utility>

namespace emofuse::kernels {

/// Scalar reference: C = act(alpha·op(A)·op(B) + beta·C + bias) for an (m, n) C.
/// All matrices are row-major with leading dimensions lda/ldb/ldc. op(A) is (m, k): A is
/// stored (m, k) or, transposed, (k, m); op(B) is (k, n): B is stored (k, n) or, transposed,
/// (n, k) — PyTorch's (out, in) weight layout. C is not read when beta == 0.
template <class T>
void gemm_reference(transpose trans_a, transpose trans_b, std::size_t m, std::size_t n,
                    std::size_t k, T alpha, const T* a, std::size_t lda, const T* b,
                    std::size_t ldb, T beta, T* c, std::size_t ldc, fused_epilogue<T> post = {}) {
    for (std::size_t i = 0; i < m; ++i) {
        for (std::size_t j = 0; j < n; ++j) {
            T sum(0);
            for (std::size_t p = 0; p < k; ++p) {
                const T aip = trans_a == transpose::no ? a[i * lda + p] : a[p * lda + i];
                const T bpj = trans_b == transpose::no ? b[p * ldb + j] : b[j * ldb + p];
                sum += aip * bpj;
            }
            c[i * ldc + j] = detail::apply_epilogue_scalar(
                alpha * sum, beta, c + i * ldc + j,
                post.column_bias ? post.column_bias + j : nullptr, post.activation);
        }
    }
}

namespace detail {

template <class Arch>
inline constexpr bool has_32_vector_registers = std::is_base_of_v<xsimd::avx512f, Arch>;

/// Register tile and cache blocking for one element type and architecture.
/// The micro-kernel keeps an mr × nr block of C in registers (mr·nr/lanes accumulators),
/// broadcasting one element of A per row and loading nr/lanes vectors of B per step of k.
template <class T, class Arch>
struct gemm_blocking {
    using batch = xsimd::batch<T, Arch>;
    static constexpr std::size_t lanes = batch::size;
    // 32 registers (AVX-512): 12 × 2 = 24 accumulators, 2 for B, the broadcast is folded into
    // the FMA. 16 registers (SSE/AVX): 6 × 2 = 12 accumulators, 2 for B, 1 broadcast.
    static constexpr std::size_t mr = has_32_vector_registers<Arch> ? 12 : 6;
    static constexpr std::size_t nv = 2;
    static constexpr std::size_t nr = nv * lanes;
    // kc·nr·sizeof(T) — one packed B micro-panel — stays in L1 while A panels stream past it.
    static constexpr std::size_t kc = 256;
    // mc·kc·sizeof(T) — the packed A block — fits in a quarter-to-half of L2.
    static constexpr std::size_t mc = mr * (has_32_vector_registers<Arch> ? 16 : 24);
    // kc·nc·sizeof(T) — the packed B block — takes half of a 1 MiB L2 (512 KiB).
    static constexpr std::size_t nc = (512 * 1024 / (kc * sizeof(T))) / nr * nr;
};

/// Depth of the blocks a GEMM walks over a B packed beforehand. When all of A is one row block
/// (m ≤ mc, e.g. one 50-token sentence), each B panel serves only a few row tiles whatever the
/// depth, so deeper blocks cost nothing in reuse and save the re-reads of C between depth
/// blocks (beta = 1 passes) and the restarts of the B stream: bert-base's 50 × 768 × 2304
/// projection went from ~125 to ~150 GFLOP/s with the whole depth in one block. The depth
/// stays small enough that A's block and one B panel share half of L2, in equal blocks.
template <class T, class Arch>
std::size_t packed_depth_block(std::size_t m, std::size_t k) {
    using blocking = gemm_blocking<T, Arch>;
    if (m > blocking::mc || k <= blocking::kc) {
        return blocking::kc;
    }
    const std::size_t rows = (m + blocking::mr - 1) / blocking::mr * blocking::mr;
    const std::size_t budget = (std::size_t{512} * 1024 / sizeof(T)) / (rows + blocking::nr);
    const std::size_t limit = std::max(blocking::kc, budget);
    const std::size_t blocks = (k + limit - 1) / limit;
    return (k + blocks - 1) / blocks;
}

/// Copies op(A)[row0 : row0+rows, k0 : k0+depth] into panels of mr rows: panel r holds, for
/// each step p of k, the mr values op(A)[row, p] contiguously (a partial last panel keeps the
/// mr stride; its missing rows are never read).
template <class T, std::size_t MR>
void pack_a(transpose trans, const T* a, std::size_t lda, std::size_t row0, std::size_t k0,
            std::size_t rows, std::size_t depth, T* EMOFUSE_RESTRICT out) {
    for (std::size_t r = 0; r < rows; r += MR) {
        const std::size_t panel_rows = std::min(MR, rows - r);
        T* panel = out + r * depth;
        if (trans == transpose::no) {
            for (std::size_t i = 0; i < panel_rows; ++i) {
                const T* src = a + (row0 + r + i) * lda + k0;
                for (std::size_t p = 0; p < depth; ++p) {
                    panel[p * MR + i] = src[p];
                }
            }
        } else {
            for (std::size_t p = 0; p < depth; ++p) {
                const T* src = a + (k0 + p) * lda + row0 + r;
                for (std::size_t i = 0; i < panel_rows; ++i) {
                    panel[p * MR + i] = src[i];
                }
            }
        }
    }
}

/// Copies op(B)[k0 : k0+depth, col0 : col0+cols] into panels of nr columns: panel j holds, for
/// each step p of k, nr values contiguously; a partial last panel is padded with zeros.
template <class T, std::size_t NR>
void pack_b(transpose trans, const T* b, std::size_t ldb, std::size_t k0, std::size_t col0,
            std::size_t depth, std::size_t cols, T* EMOFUSE_RESTRICT out) {
    for (std::size_t j = 0; j < cols; j += NR) {
        const std::size_t panel_cols = std::min(NR, cols - j);
        T* panel = out + j * depth;
        if (trans == transpose::no) {
            for (std::size_t p = 0; p < depth; ++p) {
                const T* src = b + (k0 + p) * ldb + col0 + j;
                T* dst = panel + p * NR;
                std::size_t q = 0;
                for (; q < panel_cols; ++q) {
                    dst[q] = src[q];
                }
                for (; q < NR; ++q) {
                    dst[q] = T(0);
                }
            }
        } else {
            // B is (n, k): each output column is a contiguous row of B. Transpose 8 × 8
            // tiles through a local block (the compiler turns it into vector loads, shuffles
            // and stores: ~5 % faster end to end than the 4-column walk below, which handles
            // the rest); both the reads and the writes stay sequential.
            std::size_t q = 0;
            for (; q + 8 <= panel_cols; q += 8) {
                const T* src = b + (col0 + j + q) * ldb + k0;
                std::size_t p = 0;
                for (; p + 8 <= depth; p += 8) {
                    T tile[8][8];
                    for (std::size_t c = 0; c < 8; ++c) {
                        for (std::size_t t = 0; t < 8; ++t) {
                            tile[c][t] = src[c * ldb + p + t];
                        }
                    }
                    for (std::size_t t = 0; t < 8; ++t) {
                        T* dst = panel + (p + t) * NR + q;
                        for (std::size_t c = 0; c < 8; ++c) {
                            dst[c] = tile[c][t];
                        }
                    }
                }
                for (; p < depth; ++p) {
                    for (std::size_t c = 0; c < 8; ++c) {
                        panel[p * NR + q + c] = src[c * ldb + p];
                    }
                }
            }
            for (; q + 4 <= panel_cols; q += 4) {
                const T* s0 = b + (col0 + j + q) * ldb + k0;
                const T* s1 = s0 + ldb;
                const T* s2 = s1 + ldb;
                const T* s3 = s2 + ldb;
                for (std::size_t p = 0; p < depth; ++p) {
                    T* dst = panel + p * NR + q;
                    dst[0] = s0[p];
                    dst[1] = s1[p];
                    dst[2] = s2[p];
                    dst[3] = s3[p];
                }
            }
            for (; q < panel_cols; ++q) {
                const T* src = b + (col0 + j + q) * ldb + k0;
                for (std::size_t p = 0; p < depth; ++p) {
                    panel[p * NR + q] = src[p];
                }
            }
            for (; q < NR; ++q) {
                for (std::size_t p = 0; p < depth; ++p) {
                    panel[p * NR + q] = T(0);
                }
            }
        }
    }
}

/// How a micro-tile is written back to C.
template <class T>
struct tile_store {
    T alpha;
    T beta;        // 0: C is not read
    const T* bias; // already offset to the tile's first column, or null
    epilogue activation;
};

template <class T, class Arch, std::size_t Rows, std::size_t NV>
EMOFUSE_ALWAYS_INLINE void store_tile(xsimd::batch<T, Arch> (&acc)[Rows][NV], T* c, std::size_t ldc,
                                      std::size_t cols, const tile_store<T>& st) {
    using batch = xsimd::batch<T, Arch>;
    constexpr std::size_t lanes = batch::size;
    constexpr std::size_t nr = NV * lanes;
    const batch zero(T(0));
    const batch alpha(st.alpha);
    const batch beta(st.beta);
    if (cols == nr) {
        batch bias[NV];
        for (std::size_t v = 0; v < NV; ++v) {
            bias[v] = st.bias ? batch::load_unaligned(st.bias + v * lanes) : zero;
        }
#pragma GCC unroll 16
        for (std::size_t i = 0; i < Rows; ++i) {
            T* row = c + i * ldc;
#pragma GCC unroll 4
            for (std::size_t v = 0; v < NV; ++v) {
                batch r = alpha * acc[i][v];
                if (st.beta != T(0)) {
                    r = xsimd::fma(beta, batch::load_unaligned(row + v * lanes), r);
                }
                r += bias[v];
                if (st.activation == epilogue::relu) {
                    r = xsimd::select(r < zero, zero, r);
                } else if (st.activation == epilogue::gelu) {
                    r = gelu_batch(r);
                }
                r.store_unaligned(row + v * lanes);
            }
        }
        return;
    }
    // A partial tile: the scalar epilogue, except GELU, which runs on the vectors as above so
    // that a column's value does not depend on where the tile boundaries fall.
    const epilogue scalar_act = st.activation == epilogue::gelu ? epilogue::none : st.activation;
    alignas(64) T tile[nr];
    for (std::size_t i = 0; i < Rows; ++i) {
        for (std::size_t v = 0; v < NV; ++v) {
            acc[i][v].store_aligned(tile + v * lanes);
        }
        T* row = c + i * ldc;
        for (std::size_t j = 0; j < cols; ++j) {
            tile[j] = apply_epilogue_scalar(st.alpha * tile[j], st.beta, row + j,
                                            st.bias ? st.bias + j : nullptr, scalar_act);
        }
        if (st.activation == epilogue::gelu) {
            for (std::size_t v = 0; v < NV; ++v) {
                gelu_batch(batch::load_aligned(tile + v * lanes)).store_aligned(tile + v * lanes);
            }
        }
        std::copy_n(tile, cols, row);
    }
}

/// The register-blocked inner loop: Rows × nr of C from depth kc. B comes packed (nr values
/// per step of k). A comes either packed (mr values per step, `a_stride` unused) or straight
/// from a row-major A (row i at a + i·a_stride, contiguous in k): broadcasts need no layout,
/// so skipping A's pack saves a transposing copy when few column panels would reuse it.
///
/// `prefetch_lines` cache lines from `prefetch` on (the B panel a later call reads from DRAM)
/// are hinted into L2, one per step of k: a kernel whose B is already in cache spreads the
/// next panel's DRAM reads over its own time instead of leaving them to one burst.
template <class T, class Arch, std::size_t Rows, bool PackedA>
void micro_kernel(std::size_t kc, const T* EMOFUSE_RESTRICT a, std::size_t a_stride,
                  const T* EMOFUSE_RESTRICT b, T* c, std::size_t ldc, std::size_t cols,
                  const tile_store<T>& st, const void* prefetch = nullptr,
                  std::size_t prefetch_lines = 0) {
    using blocking = gemm_blocking<T, Arch>;
    using batch = xsimd::batch<T, Arch>;
    constexpr std::size_t lanes = batch::size;
    constexpr std::size_t nv = blocking::nv;
    constexpr std::size_t mr = blocking::mr;
    constexpr std::size_t nr = blocking::nr;
    batch acc[Rows][nv];
#pragma GCC unroll 16
    for (std::size_t i = 0; i < Rows; ++i) {
#pragma GCC unroll 4
        for (std::size_t v = 0; v < nv; ++v) {
            acc[i][v] = batch(T(0));
        }
    }
    const char* next_line = static_cast<const char*>(prefetch);
    const std::size_t prefetch_steps = std::min(prefetch_lines, kc);
    for (std::size_t p = 0; p < kc; ++p) {
        if (p < prefetch_steps) {
            prefetch_for_read(next_line + p * cache_line_bytes);
        }
        batch bv[nv];
#pragma GCC unroll 4
        for (std::size_t v = 0; v < nv; ++v) {
            bv[v] = batch::load_aligned(b + v * lanes);
        }
#pragma GCC unroll 16
        for (std::size_t i = 0; i < Rows; ++i) {
            const batch ai(PackedA ? a[i] : a[i * a_stride]);
#pragma GCC unroll 4
            for (std::size_t v = 0; v < nv; ++v) {
                acc[i][v] = xsimd::fma(ai, bv[v], acc[i][v]);
            }
        }
        a += PackedA ? mr : 1;
        b += nr;
    }
    store_tile<T, Arch, Rows, nv>(acc, c, ldc, cols, st);
}

template <class T, class Arch, bool PackedA, std::size_t... Rows>
void micro_kernel_rows(std::size_t rows, std::size_t kc, const T* a, std::size_t a_stride,
                       const T* b, T* c, std::size_t ldc, std::size_t cols, const tile_store<T>& st,
                       std::index_sequence<Rows...>, const void* prefetch = nullptr,
                       std::size_t prefetch_lines = 0) {
    // Dispatch the edge row count to the kernel specialised for it (Rows... = 0 .. mr-1,
    // kernel row count = Rows + 1).
    (void)((rows == Rows + 1 ? (micro_kernel<T, Arch, Rows + 1, PackedA>(
                                    kc, a, a_stride, b, c, ldc, cols, st, prefetch, prefetch_lines),
                                true)
                             : false) ||
           ...);
}

/// Where the packed micro-panels of op(B) are for one block of depth: the panel of columns
/// jc + j·nr .. starts at `base + j·panel_stride`, and holds that block's rows contiguously.
template <class T>
struct b_panels {
    const T* base;
    std::size_t panel_stride;
};

/// The blocked loops around the micro-kernel (BLIS order jc → pc → ic → jr → ir).
/// `panels_of(jc, nc, pc, kc)` supplies op(B)'s packed panels for each block: packed on the
/// fly into the workspace, or taken from a packed_operand built once; `depth_block` is kc.
template <class T, class Arch, class PanelsOf>
void gemm_blocked(transpose trans_a, std::size_t m, std::size_t n, std::size_t k, T alpha,
                  const T* a, std::size_t lda, T beta, T* c, std::size_t ldc,
                  fused_epilogue<T> post, workspace& ws, PanelsOf panels_of,
                  std::size_t depth_block = gemm_blocking<T, Arch>::kc) {
    using blocking = gemm_blocking<T, Arch>;
    constexpr std::size_t mr = blocking::mr;
    constexpr std::size_t nr = blocking::nr;
    const std::size_t kc_max = std::min(depth_block, k);
    const std::size_t mc_max = std::min(blocking::mc, (m + mr - 1) / mr * mr);
    // A that is not transposed is read in place: its rows are contiguous in k, which is all
    // the broadcasts need, and on the machines measured (docs/kernels.md) the strided rows
    // stay in L1/L2 as well as a packed panel does — while the pack, a transposing copy,
    // costs as much as the FMAs when C has few columns. A transposed A is packed.
    const bool direct_a = trans_a == transpose::no;
    T* packed_a = direct_a ? nullptr : ws.buffer<T>(1, kc_max * mc_max);

    for (std::size_t jc = 0; jc < n; jc += blocking::nc) {
        const std::size_t nc = std::min(blocking::nc, n - jc);
        for (std::size_t pc = 0; pc < k; pc += depth_block) {
            const std::size_t kc = std::min(depth_block, k - pc);
            const bool last_k = pc + kc == k;
            const b_panels<T> panels = panels_of(jc, nc, pc, kc);
            for (std::size_t ic = 0; ic < m; ic += blocking::mc) {
                const std::size_t mc = std::min(blocking::mc, m - ic);
                if (!direct_a) {
                    pack_a<T, mr>(trans_a, a, lda, ic, pc, mc, kc, packed_a);
                }
                for (std::size_t jr = 0; jr < nc; jr += nr) {
                    const std::size_t cols = std::min(nr, nc - jr);
                    const tile_store<T> st{alpha, pc == 0 ? beta : T(1),
                                           (last_k && post.column_bias) ? post.column_bias + jc + jr
                                                                        : nullptr,
                                           last_k ? post.activation : epilogue::none};
                    const T* b_panel = panels.base + (jr / nr) * panels.panel_stride;
                    // An unpacked A is split into tiles of nearly equal height (50 rows: five
                    // of 10, not four of 12 and one of 2, whose few accumulators leave the
                    // FMA units waiting on latency); a packed A keeps its mr-row panels.
                    const std::size_t tiles = (mc + mr - 1) / mr;
                    const std::size_t tile_rows = direct_a ? mc / tiles : mr;
                    const std::size_t taller = direct_a ? mc % tiles : 0;
                    std::size_t ir = 0;
                    for (std::size_t tile = 0; tile < tiles; ++tile) {
                        const std::size_t rows =
                            direct_a ? tile_rows + (tile < taller ? 1 : 0) : std::min(mr, mc - ir);
                        const std::size_t row0 = ir;
                        ir += rows;
                        T* c_tile = c + (ic + row0) * ldc + jc + jr;
                        if (direct_a) {
                            const T* a_rows = a + (ic + row0) * lda + pc;
                            if (rows == mr) {
                                micro_kernel<T, Arch, mr, false>(kc, a_rows, lda, b_panel, c_tile,
                                                                 ldc, cols, st);
                            } else {
                                micro_kernel_rows<T, Arch, false>(
                                    rows, kc, a_rows, lda, b_panel, c_tile, ldc, cols, st,
                                    std::make_index_sequence<mr - 1>{});
                            }
                            continue;
                        }
                        const T* a_panel = packed_a + row0 * kc;
                        if (rows == mr) {
                            micro_kernel<T, Arch, mr, true>(kc, a_panel, 0, b_panel, c_tile, ldc,
                                                            cols, st);
                        } else {
                            micro_kernel_rows<T, Arch, true>(rows, kc, a_panel, 0, b_panel, c_tile,
                                                             ldc, cols, st,
                                                             std::make_index_sequence<mr - 1>{});
                        }
                    }
                }
            }
        }
    }
}

template <class T, class Arch>
void gemm_packed(transpose trans_a, transpose trans_b, std::size_t m, std::size_t n, std::size_t k,
                 T alpha, const T* a, std::size_t lda, const T* b, std::size_t ldb, T beta, T* c,
                 std::size_t ldc, fused_epilogue<T> post, workspace& ws) {
    using blocking = gemm_blocking<T, Arch>;
    constexpr std::size_t nr = blocking::nr;
    const std::size_t nc_max = std::min(blocking::nc, (n + nr - 1) / nr * nr);
    const std::size_t kc_max = std::min(blocking::kc, k);
    T* packed_b = ws.buffer<T>(0, kc_max * nc_max);
    gemm_blocked<T, Arch>(trans_a, m, n, k, alpha, a, lda, beta, c, ldc, post, ws,
                          [&](std::size_t jc, std::size_t nc, std::size_t pc, std::size_t kc) {
                              pack_b<T, nr>(trans_b, b, ldb, pc, jc, kc, nc, packed_b);
                              return b_panels<T>{packed_b, kc * nr};
                          });
}

inline void check_gemm_arguments(const char* op, transpose trans_a, transpose trans_b,
                                 std::size_t m, std::size_t n, std::size_t k, const void* a,
                                 std::size_t lda, const void* b, std::size_t ldb, const void* c,
                                 std::size_t ldc) {
    if (m == 0 || n == 0) {
        return;
    }
    check_pointer(op, "C", c);
    check_leading_dimension(op, "C", ldc, n);
    if (k == 0) {
        return;
    }
    check_pointer(op, "A", a);
    check_pointer(op, "B", b);
    check_leading_dimension(op, "A", lda, trans_a == transpose::no ? k : m);
    check_leading_dimension(op, "B", ldb, trans_b == transpose::no ? n : k);
}

/// C = act(beta·C + bias) for an empty inner dimension.
template <class T>
void gemm_empty_inner(std::size_t m, std::size_t n, T beta, T* c, std::size_t ldc,
                      fused_epilogue<T> post) {
    for (std::size_t i = 0; i < m; ++i) {
        for (std::size_t j = 0; j < n; ++j) {
            c[i * ldc + j] = apply_epilogue_scalar(
                T(0), beta, c + i * ldc + j, post.column_bias ? post.column_bias + j : nullptr,
                post.activation);
        }
    }
}

template <class T>
void gemm_unchecked(transpose trans_a, transpose trans_b, std::size_t m, std::size_t n,
                    std::size_t k, T alpha, const T* a, std::size_t lda, const T* b,
                    std::size_t ldb, T beta, T* c, std::size_t ldc, fused_epilogue<T> post,
                    workspace& ws) {
    if (m == 0 || n == 0) {
        return;
    }
    if (k == 0) {
        gemm_empty_inner(m, n, beta, c, ldc, post);
        return;
    }
    if (m == 1) {
        // One row of C is a matrix-vector product with op(B)ᵀ; a transposed A row is strided.
        const T* x = a;
        if (trans_a == transpose::yes && lda != 1) {
            T* row = ws.buffer<T>(1, k); // slot 1: A is not packed on this path
            for (std::size_t p = 0; p < k; ++p) {
                row[p] = a[p * lda];
            }
            x = row;
        }
        if (trans_b == transpose::yes) {
            gemv_rows<T, simd_arch>(n, k, alpha, b, ldb, x, beta, c, post);
        } else {
            gemv_columns<T, simd_arch>(k, n, alpha, b, ldb, x, beta, c, post);
        }
        return;
    }
    gemm_packed<T, simd_arch>(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, post,
                              ws);
}

} // namespace detail

/// C = act(alpha·op(A)·op(B) + beta·C + bias): same contract as gemm_reference. C must not
/// alias A or B. Scratch (the packed panels) comes from `ws`; it grows once and is reused.
/// Throws shape_error for a leading dimension smaller than its row, value_error for a null
/// operand that is not empty.
template <class T>
void gemm(transpose trans_a, transpose trans_b, std::size_t m, std::size_t n, std::size_t k,
          T alpha, const T* a, std::size_t lda, const T* b, std::size_t ldb, T beta, T* c,
          std::size_t ldc, fused_epilogue<T> post = {}, workspace& ws = thread_workspace()) {
    static_assert(std::is_floating_point_v<T>, "gemm: element type must be float or double");
    detail::check_gemm_arguments("gemm", trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc);
    detail::gemm_unchecked(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, post,
                           ws);
}

/// `count` independent products C_i = act(alpha·op(A_i)·op(B_i) + beta·C_i + bias) where
/// A_i = a + i·stride_a (likewise B, C). A stride of 0 shares one operand (e.g. weights).
template <class T>
void gemm_strided_batched(transpose trans_a, transpose trans_b, std::size_t m, std::size_t n,
                          std::size_t k, T alpha, const T* a, std::size_t lda, std::size_t stride_a,
                          const T* b, std::size_t ldb, std::size_t stride_b, T beta, T* c,
                          std::size_t ldc, std::size_t stride_c, std::size_t count,
                          fused_epilogue<T> post = {}, workspace& ws = thread_workspace()) {
    static_assert(std::is_floating_point_v<T>,
                  "gemm_strided_batched: element type must be float or double");
    if (count == 0) {
        return;
    }
    detail::check_gemm_arguments("gemm_strided_batched", trans_a, trans_b, m, n, k, a, lda, b, ldb,
                                 c, ldc);
    for (std::size_t i = 0; i < count; ++i) {
        // With k == 0 the operands may be null and are never read: do not offset them.
        const T* a_i = k == 0 ? a : a + i * stride_a;
        const T* b_i = k == 0 ? b : b + i * stride_b;
        detail::gemm_unchecked(trans_a, trans_b, m, n, k, alpha, a_i, lda, b_i, ldb, beta,
                               c + i * stride_c, ldc, post, ws);
    }
}

/// Scalar reference of gemm_strided_batched.
template <class T>
void gemm_strided_batched_reference(transpose trans_a, transpose trans_b, std::size_t m,
                                    std::size_t n, std::size_t k, T alpha, const T* a,
                                    std::size_t lda, std::size_t stride_a, const T* b,
                                    std::size_t ldb, std::size_t stride_b, T beta, T* c,
                                    std::size_t ldc, std::size_t stride_c, std::size_t count,
                                    fused_epilogue<T> post = {}) {
    for (std::size_t i = 0; i < count; ++i) {
        gemm_reference(trans_a, trans_b, m, n, k, alpha, a + i * stride_a, lda, b + i * stride_b,
                       ldb, beta, c + i * stride_c, ldc, post);
    }
}

} // namespace emofuse::kernels
