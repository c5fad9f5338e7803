// emofuse/metrics/blocked.hpp — how the accumulators take a large span on the thread pool:
// fixed blocks, one state per block, states merged in block order (docs/metrics.md, "Threads").
#pragma once

#include <emofuse/platform/parallel.hpp>

#include <cstddef>
#include <exception>
#include <optional>
#include <utility>
#include <vector>

namespace emofuse::metrics::detail {

/// Samples per block of a parallel update. A constant, never derived from the thread count,
/// so the blocks — and the order their states are merged in — are the same on any machine
/// and at any thread count. Large enough that a block's work (tens of µs) dwarfs waking a
/// worker; spans up to this size are updated serially without touching the pool.
inline constexpr std::size_t parallel_block = std::size_t(1) << 16;

/// Reduces [0, count) in blocks of `parallel_block`: state_of(begin, end) computes one
/// block's state on the pool, then combine(block_state) is called for each block in order
/// on the calling thread. Nothing is combined when a block throws: the exception of the
/// lowest block that threw is rethrown (the same one a serial pass meets first).
template <class StateOf, class Combine>
void blocked_reduce(std::size_t count, StateOf&& state_of, Combine&& combine) {
    using state = decltype(state_of(std::size_t{0}, std::size_t{0}));
    const std::size_t blocks = (count + parallel_block - 1) / parallel_block;
    std::vector<std::optional<state>> states(blocks);
    std::vector<std::exception_ptr> failures(blocks);
    parallel_for(count, parallel_block, [&](std::size_t begin, std::size_t end) {
        const std::size_t block = begin / parallel_block;
        try {
            states[block].emplace(state_of(begin, end));
        } catch (...) {
            failures[block] = std::current_exception();
        }
    });
    for (const auto& failure : failures) {
        if (failure) {
            std::rethrow_exception(failure);
        }
    }
    for (auto& block_state : states) {
        combine(std::move(*block_state));
    }
}

} // namespace emofuse::metrics::detail
