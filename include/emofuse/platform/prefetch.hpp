// emofuse/platform/prefetch.hpp — cache prefetch hints for loops that know where they will
// read next (no-ops on compilers without the builtin). A leaf: kernels, metrics, align and
// fusion all use it, and it needs nothing but the standard library.
#pragma once

#include <cstddef>

namespace emofuse {

/// Bytes per cache line on every x86-64 and most AArch64 parts.
inline constexpr std::size_t cache_line_bytes = 64;

/// Hints that the cache line holding `p` will be read soon (into L2 and closer). Used to
/// fetch the next row while this one computes.
inline void prefetch_for_read(const void* p) noexcept {
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(p, 0, 2);
#else
    (void)p;
#endif
}

/// Hints that the cache line holding `p` will be written soon: fetching it for ownership
/// ahead of time keeps the stores of a large output from stalling on their read-for-ownership.
inline void prefetch_for_write(const void* p) noexcept {
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(p, 1, 2);
#else
    (void)p;
#endif
}

/// Hints every cache line of [p, p + bytes) for reading: for the start of a block that lies
/// past a gap the hardware prefetcher cannot predict.
inline void prefetch_range(const void* p, std::size_t bytes) noexcept {
    const char* first = static_cast<const char*>(p);
    for (std::size_t offset = 0; offset < bytes; offset += cache_line_bytes) {
        prefetch_for_read(first + offset);
    }
}

/// How many rows ahead a row-wise kernel prefetches: far enough that at least `bytes` of rows
/// (default 8 KiB, more than one memory round trip of work) lie between the row being
/// computed and the row being fetched, and never fewer than `minimum` rows.
inline std::size_t prefetch_rows_ahead(std::size_t row_bytes, std::size_t minimum = 1,
                                       std::size_t bytes = 8192) {
    const std::size_t rows = row_bytes == 0 ? minimum : (bytes + row_bytes - 1) / row_bytes;
    return rows < minimum ? minimum : rows;
}

} // namespace emofuse
