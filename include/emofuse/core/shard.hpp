// emofuse/core/shard.hpp — the one rule that splits N ordered items over R processes
// (emofuse-mpi-align's videos, emofuse-mpi-predict's samples): contiguous ranges, so that
// concatenating the shards in rank order gives back the items in their original order.
#pragma once

#include "emofuse/core/error.hpp"

#include <cstddef>
#include <string>

namespace emofuse {

/// Items [begin, end) of an ordered list.
struct index_range {
    std::size_t begin = 0;
    std::size_t end = 0;

    [[nodiscard]] std::size_t size() const { return end - begin; }
    friend bool operator==(const index_range&, const index_range&) = default;
};

/// The items shard `shard` of `shards` takes out of `items`: [⌊shard·N/R⌋, ⌊(shard+1)·N/R⌋).
/// Sizes differ by at most one and the shards cover the items exactly once, in order (a
/// shard is empty when there are fewer items than shards). Throws value_error unless
/// shard < shards.
inline index_range shard_range(std::size_t items, std::size_t shard, std::size_t shards) {
    if (shards == 0 || shard >= shards) {
        throw value_error("shard_range: expected a shard in [0, " + std::to_string(shards) +
                          "), got " + std::to_string(shard));
    }
    // ⌊r·N/R⌋ = r·⌊N/R⌋ + ⌊r·(N mod R)/R⌋: r·(N mod R) < R², so no N overflows (R < 2³²).
    const auto start = [&](std::size_t r) {
        return r * (items / shards) + r * (items % shards) / shards;
    };
    return {start(shard), shard + 1 == shards ? items : start(shard + 1)};
}

} // namespace emofuse
