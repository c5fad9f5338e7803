// emofuse/fusion/detail/outer_product_gemm.hpp — y = act(z·W + b) where each row of z is an
// outer product that is generated block by block and never stored whole, against a weight
// pre-packed once as (k, H rounded up to whole SIMD vectors).
#pragma once

#include "emofuse/config.hpp"
#include "emofuse/core/sequence.hpp"
#include "emofuse/kernels/epilogue.hpp"
#include "emofuse/kernels/workspace.hpp"
#include "emofuse/platform/prefetch.hpp"

#include <algorithm>
#include <cstddef>
#include <type_traits>
#include <utility>

namespace emofuse::fusion::detail {

template <class T>
using simd_batch = xsimd::batch<T, simd_arch>;

/// Rows of z per register tile: MR rows × 4 vectors of accumulators fill 24 of 32 AVX-512
/// registers, or 12 of 16 with fewer registers.
template <class T>
inline constexpr std::size_t outer_tile_rows = std::is_base_of_v<xsimd::avx512f, simd_arch> ? 6 : 3;
inline constexpr std::size_t outer_tile_vectors = 4;
/// Depth of one block of z/W: the packed W block (depth × H_pad) stays in L2 while every row
/// tile of the batch passes over it.
inline constexpr std::size_t outer_block_depth = 2048;

/// Pads a width to whole SIMD vectors.
template <class T>
constexpr std::size_t padded_width(std::size_t width) {
    constexpr std::size_t lanes = simd_batch<T>::size;
    return (width + lanes - 1) / lanes * lanes;
}

/// Packs an (out, in) nn.Linear weight into (in, padded(out)) rows, zero padded.
template <class T>
void pack_weight_transposed(const T* weight, std::size_t out, std::size_t in, T* packed) {
    const std::size_t ld = padded_width<T>(out);
    for (std::size_t k = 0; k < in; ++k) {
        T* dst = packed + k * ld;
        for (std::size_t h = 0; h < out; ++h) {
            dst[h] = weight[h * in + k];
        }
        for (std::size_t h = out; h < ld; ++h) {
            dst[h] = T(0);
        }
    }
}

/// Cache lines of the next W block that one tile call asks the memory system for, spread over
/// its k steps (`lines_per_step` per step, `lines` in all), so the DRAM stream of W overlaps
/// the arithmetic instead of stalling the first row tile of every block.
struct prefetch_share {
    const char* start = nullptr;
    std::size_t lines = 0;
    std::size_t lines_per_step = 0;
};

/// acc[r, 0 : NV·lanes] += Σ_k z[r, k]·w[k, 0 : NV·lanes] for r < Rows.
template <class T, std::size_t Rows, std::size_t NV>
EMOFUSE_ALWAYS_INLINE void outer_tile(std::size_t depth, const T* EMOFUSE_RESTRICT z,
                                      std::size_t ldz, const T* EMOFUSE_RESTRICT w, std::size_t ldw,
                                      T* EMOFUSE_RESTRICT acc, std::size_t ldacc,
                                      prefetch_share next = {}) {
    using batch = simd_batch<T>;
    constexpr std::size_t lanes = batch::size;
    batch c[Rows][NV];
    for (std::size_t r = 0; r < Rows; ++r) {
        for (std::size_t v = 0; v < NV; ++v) {
            c[r][v] = batch::load_aligned(acc + r * ldacc + v * lanes);
        }
    }
    std::size_t prefetched = 0;
    for (std::size_t k = 0; k < depth; ++k) {
        for (std::size_t l = 0; l < next.lines_per_step && prefetched < next.lines; ++l) {
            prefetch_for_read(next.start + 64 * prefetched++);
        }
        batch b[NV];
        for (std::size_t v = 0; v < NV; ++v) {
            b[v] = batch::load_unaligned(w + k * ldw + v * lanes);
        }
        for (std::size_t r = 0; r < Rows; ++r) {
            const batch a(z[r * ldz + k]);
            for (std::size_t v = 0; v < NV; ++v) {
                c[r][v] = xsimd::fma(a, b[v], c[r][v]);
            }
        }
    }
    for (std::size_t r = 0; r < Rows; ++r) {
        for (std::size_t v = 0; v < NV; ++v) {
            c[r][v].store_aligned(acc + r * ldacc + v * lanes);
        }
    }
}

template <class T, std::size_t NV, std::size_t... Rows>
void outer_tile_rows_dispatch(std::size_t rows, std::size_t depth, const T* z, std::size_t ldz,
                              const T* w, std::size_t ldw, T* acc, std::size_t ldacc,
                              prefetch_share next, std::index_sequence<Rows...>) {
    (void)((rows == Rows + 1
                ? (outer_tile<T, Rows + 1, NV>(depth, z, ldz, w, ldw, acc, ldacc, next), true)
                : false) ||
           ...);
}

template <class T, std::size_t... NV>
void outer_tile_dispatch(std::size_t rows, std::size_t vectors, std::size_t depth, const T* z,
                         std::size_t ldz, const T* w, std::size_t ldw, T* acc, std::size_t ldacc,
                         prefetch_share next, std::index_sequence<NV...>) {
    (void)((vectors == NV + 1 ? (outer_tile_rows_dispatch<T, NV + 1>(
                                     rows, depth, z, ldz, w, ldw, acc, ldacc, next,
                                     std::make_index_sequence<outer_tile_rows<T>>{}),
                                 true)
                              : false) ||
           ...);
}

/// Rows of z generated at once: the (rows × depth) block of z is reused by every column tile.
inline constexpr std::size_t outer_chunk_rows = 240;

/// y[r, h] = act(Σ_k z[r, k]·W[h, k] + bias[h]) where W is packed by pack_weight_transposed
/// (ld = padded(out)) and `make_z(r0, rows, k0, depth, dst, ld)` writes z[r0 : r0+rows,
/// k0 : k0+depth] into dst (row stride ld). Loop order: chunks of rows, blocks of depth (W's
/// block stays in L2), then column tiles of 4 vectors (their slice of W's block stays in L1)
/// and register tiles of rows. Scratch: slots 2 and 3 of `ws`.
template <class T, class MakeZ>
void outer_product_linear(std::size_t rows, std::size_t depth_total, std::size_t out,
                          const T* packed, const T* bias, kernels::epilogue act, T* y,
                          kernels::workspace& ws, MakeZ&& make_z) {
    constexpr std::size_t lanes = simd_batch<T>::size;
    constexpr std::size_t mr = outer_tile_rows<T>;
    constexpr std::size_t nv = outer_tile_vectors;
    const std::size_t ld = padded_width<T>(out);
    const std::size_t chunk = std::min(outer_chunk_rows, rows);
    // The z block (chunk × block) stays within ~256 KiB of L2 next to W's block.
    const std::size_t block_limit =
        std::max<std::size_t>(64, (std::size_t{1} << 16) / std::max<std::size_t>(1, chunk));
    const std::size_t block =
        std::min({outer_block_depth, block_limit, std::max<std::size_t>(1, depth_total)});
    T* acc = ws.buffer<T>(2, chunk * ld);
    T* z = ws.buffer<T>(3, chunk * block);
    for (std::size_t c0 = 0; c0 < rows; c0 += chunk) {
        const std::size_t chunk_rows = std::min(chunk, rows - c0);
        std::fill_n(acc, chunk_rows * ld, T(0));
        // Row tiles of near-equal height (32 rows with mr = 6: 6,6,5,5,5,5 rather than
        // 6,6,6,6,6,2), so no tile runs with a mostly idle register block.
        const std::size_t tiles = (chunk_rows + mr - 1) / mr;
        for (std::size_t k0 = 0; k0 < depth_total; k0 += block) {
            const std::size_t depth = std::min(block, depth_total - k0);
            make_z(c0, chunk_rows, k0, depth, z, depth);
            const T* w_block = packed + k0 * ld;
            // The next block of W (contiguous: rows k0+block … of the packed Wᵀ) is fetched
            // in equal shares by this block's tile calls.
            // With a single row tile W is streamed once and the hardware prefetcher keeps up.
            const std::size_t next_depth = (tiles > 1 && k0 + depth < depth_total)
                                               ? std::min(block, depth_total - k0 - depth)
                                               : 0;
            const std::size_t next_lines = (next_depth * ld * sizeof(T) + 63) / 64;
            const std::size_t calls = tiles * ((ld + nv * lanes - 1) / (nv * lanes));
            const std::size_t share = (next_lines + calls - 1) / calls;
            const char* next_start = reinterpret_cast<const char*>(w_block + depth * ld);
            std::size_t call = 0;
            for (std::size_t j0 = 0; j0 < ld; j0 += nv * lanes) {
                const std::size_t vectors = std::min(nv, (ld - j0) / lanes);
                for (std::size_t tile = 0, r0 = 0; tile < tiles; ++tile, ++call) {
                    const std::size_t tile_rows =
                        chunk_rows / tiles + (tile < chunk_rows % tiles ? 1 : 0);
                    const std::size_t first = std::min(next_lines, call * share);
                    const prefetch_share next{next_start + 64 * first,
                                              std::min(share, next_lines - first),
                                              (share + depth - 1) / depth};
                    outer_tile_dispatch<T>(tile_rows, vectors, depth, z + r0 * depth, depth,
                                           w_block + j0, ld, acc + r0 * ld + j0, ld, next,
                                           std::make_index_sequence<nv>{});
                    r0 += tile_rows;
                }
            }
        }
        for (std::size_t r = 0; r < chunk_rows; ++r) {
            T* dst = y + (c0 + r) * out;
            const T* src = acc + r * ld;
            for (std::size_t h = 0; h < out; ++h) {
                const T v = src[h] + (bias ? bias[h] : T(0));
                dst[h] = (act == kernels::epilogue::relu && v < T(0)) ? T(0) : v;
            }
        }
    }
}

/// An nn.Linear whose weight is packed once as Wᵀ (in, padded(out)) for outer_product_linear:
/// for layers applied to small batches, where re-packing the weight on every call (as a
/// general GEMM must) costs as much as the product.
template <class T>
class packed_linear {
public:
    packed_linear() = default;
    packed_linear(const T* weight, const T* bias, std::size_t out, std::size_t in)
        : in_(in), out_(out), packed_(xt::xtensor<T, 2>::from_shape({in, padded_width<T>(out)})) {
        pack_weight_transposed(weight, out, in, packed_.data());
        if (bias != nullptr) {
            bias_ = xt::xtensor<T, 1>::from_shape({out});
            std::copy_n(bias, out, bias_.data());
        }
    }

    [[nodiscard]] std::size_t inputs() const { return in_; }
    [[nodiscard]] std::size_t outputs() const { return out_; }

    /// y (rows, out) = act(x (rows, in, row stride ldx)·Wᵀ + b). Scratch: slots 2 and 3 of
    /// `ws` (by default the kernels' per-thread workspace, free between kernel calls).
    void apply(const T* x, std::size_t ldx, std::size_t rows, T* y,
               kernels::epilogue act = kernels::epilogue::none,
               kernels::workspace& ws = kernels::thread_workspace()) const {
        outer_product_linear<T>(rows, in_, out_, packed_.data(),
                                bias_.size() ? bias_.data() : nullptr, act, y, ws,
                                [&](std::size_t r0, std::size_t count, std::size_t k0,
                                    std::size_t depth, T* dst, std::size_t ld) {
                                    for (std::size_t r = 0; r < count; ++r) {
                                        std::copy_n(x + (r0 + r) * ldx + k0, depth, dst + r * ld);
                                    }
                                });
    }

private:
    std::size_t in_ = 0;
    std::size_t out_ = 0;
    xt::xtensor<T, 2> packed_;
    xt::xtensor<T, 1> bias_;
};

} // namespace emofuse::fusion::detail
