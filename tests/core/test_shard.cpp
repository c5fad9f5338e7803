// The sharding rule of the MPI tools (core/shard.hpp): contiguous ranges
// [⌊r·N/R⌋, ⌊(r+1)·N/R⌋) that cover the items once, in order.
#include <emofuse/core/error.hpp>
#include <emofuse/core/shard.hpp>

#include <doctest/doctest.h>

#include <cstddef>
#include <limits>

using emofuse::index_range;
using emofuse::shard_range;

TEST_CASE("shard_range splits N items into R contiguous ranges in order") {
    CHECK(shard_range(5, 0, 2) == index_range{0, 2});
    CHECK(shard_range(5, 1, 2) == index_range{2, 5});
    CHECK(shard_range(4, 0, 3) == index_range{0, 1});
    CHECK(shard_range(4, 1, 3) == index_range{1, 2});
    CHECK(shard_range(4, 2, 3) == index_range{2, 4});
    // Fewer items than shards: some shards are empty.
    CHECK(shard_range(1, 0, 3).size() == 0);
    CHECK(shard_range(1, 2, 3) == index_range{0, 1});
    CHECK(shard_range(0, 0, 1) == index_range{0, 0});
    for (std::size_t items = 0; items < 40; ++items) {
        for (std::size_t shards = 1; shards < 12; ++shards) {
            std::size_t next = 0;
            for (std::size_t shard = 0; shard < shards; ++shard) {
                const auto range = shard_range(items, shard, shards);
                CHECK(range.begin == next);
                CHECK(range.begin == shard * items / shards); // the documented formula
                CHECK(range.size() + 1 >= items / shards);
                CHECK(range.size() <= items / shards + 1);
                next = range.end;
            }
            CHECK(next == items);
        }
    }
}

TEST_CASE("shard_range does not overflow for any item count") {
    constexpr std::size_t all = std::numeric_limits<std::size_t>::max();
    const auto last = shard_range(all, 2, 3);
    CHECK(last.end == all);
    CHECK(last.begin == shard_range(all, 1, 3).end);
    CHECK(shard_range(all, 1, 3).begin == all / 3);
}

TEST_CASE("shard_range refuses a shard outside [0, shards)") {
    CHECK_THROWS_AS((void)shard_range(10, 2, 2), emofuse::value_error);
    CHECK_THROWS_AS((void)shard_range(10, 0, 0), emofuse::value_error);
}
