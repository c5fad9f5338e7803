// The library's thread pool (platform/parallel.hpp): every index once, chunks that do not
// depend on the thread count, nested and concurrent callers inline, errors propagated, and the
// thread-count settings.
#include <emofuse/core/error.hpp>
#include <emofuse/platform/parallel.hpp>

#include <doctest/doctest.h>

#include "thread_count_guard.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

namespace {

using emofuse::test::thread_count_guard;

std::vector<std::pair<std::size_t, std::size_t>> chunks_seen(std::size_t count, std::size_t grain) {
    std::mutex lock;
    std::vector<std::pair<std::size_t, std::size_t>> seen;
    emofuse::parallel_for(count, grain, [&](std::size_t begin, std::size_t end) {
        const std::lock_guard guard(lock);
        seen.emplace_back(begin, end);
    });
    std::sort(seen.begin(), seen.end());
    return seen;
}

} // namespace

TEST_CASE("parallel_for calls every index once, in chunks that do not depend on the thread count") {
    for (const std::size_t count :
         {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{1000}}) {
        for (const std::size_t grain :
             {std::size_t{1}, std::size_t{3}, std::size_t{64}, std::size_t{5000}}) {
            CAPTURE(count);
            CAPTURE(grain);
            std::vector<std::vector<std::pair<std::size_t, std::size_t>>> per_thread_count;
            for (const unsigned threads : {1U, 2U, 3U, 7U}) {
                const thread_count_guard guard(threads);
                std::vector<std::atomic<int>> hits(count);
                emofuse::parallel_for(count, grain, [&](std::size_t begin, std::size_t end) {
                    for (std::size_t i = begin; i < end; ++i) {
                        hits[i].fetch_add(1);
                    }
                });
                for (std::size_t i = 0; i < count; ++i) {
                    REQUIRE(hits[i].load() == 1);
                }
                per_thread_count.push_back(chunks_seen(count, grain));
            }
            for (const auto& chunks : per_thread_count) {
                CHECK(chunks == per_thread_count.front());
            }
            if (count > 0) {
                const auto& chunks = per_thread_count.front();
                CHECK(chunks.front().first == 0);
                CHECK(chunks.back().second == count);
                CHECK(chunks.size() == (count + grain - 1) / grain);
            }
        }
    }
}

TEST_CASE("parallel_for runs on several threads, at most the call's limit") {
    const thread_count_guard guard(3);
    CHECK(emofuse::num_threads() == 3);
    std::mutex lock;
    std::set<std::thread::id> ids;
    std::atomic<int> waiting{0};
    // Each chunk waits (bounded) until three chunks are in flight, so three threads must serve.
    emofuse::parallel_for(3, 1, [&](std::size_t, std::size_t) {
        waiting.fetch_add(1);
        for (int spin = 0; spin < 2000 && waiting.load() < 3; ++spin) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        const std::lock_guard g(lock);
        ids.insert(std::this_thread::get_id());
    });
    CHECK(ids.size() == 3);

    ids.clear();
    emofuse::parallel_for(
        50, 1,
        [&](std::size_t, std::size_t) {
            const std::lock_guard g(lock);
            ids.insert(std::this_thread::get_id());
        },
        /*max_threads_for_call=*/1);
    CHECK(ids == std::set<std::thread::id>{std::this_thread::get_id()});
}

TEST_CASE("a nested parallel_for runs inline on the chunk's thread") {
    const thread_count_guard guard(2);
    std::atomic<int> mismatches{0};
    std::atomic<int> inner_calls{0};
    emofuse::parallel_for(8, 1, [&](std::size_t, std::size_t) {
        const auto outer = std::this_thread::get_id();
        emofuse::parallel_for(16, 1, [&](std::size_t, std::size_t) {
            inner_calls.fetch_add(1);
            if (std::this_thread::get_id() != outer) {
                mismatches.fetch_add(1);
            }
        });
    });
    CHECK(inner_calls.load() == 8 * 16);
    CHECK(mismatches.load() == 0);
}

TEST_CASE("callers on several threads at once each get all their chunks") {
    const thread_count_guard guard(2);
    constexpr int callers = 4;
    std::vector<long> sums(callers, 0);
    std::vector<std::thread> threads;
    for (int c = 0; c < callers; ++c) {
        threads.emplace_back([&, c] {
            for (int round = 0; round < 50; ++round) {
                std::vector<long> partial(100, 0);
                emofuse::parallel_for(100, 7, [&](std::size_t begin, std::size_t end) {
                    for (std::size_t i = begin; i < end; ++i) {
                        partial[i] = static_cast<long>(i);
                    }
                });
                long total = 0;
                for (const long v : partial) {
                    total += v;
                }
                sums[static_cast<std::size_t>(c)] += total;
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    for (const long s : sums) {
        CHECK(s == 50L * 4950L);
    }
}

TEST_CASE("an exception in a chunk reaches the caller and the pool stays usable") {
    const thread_count_guard guard(2);
    CHECK_THROWS_WITH_AS(emofuse::parallel_for(100, 1,
                                               [](std::size_t begin, std::size_t) {
                                                   if (begin == 37) {
                                                       throw std::runtime_error("chunk 37 failed");
                                                   }
                                               }),
                         "chunk 37 failed", std::runtime_error);
    std::atomic<int> calls{0};
    emofuse::parallel_for(10, 1, [&](std::size_t, std::size_t) { calls.fetch_add(1); });
    CHECK(calls.load() == 10);
    CHECK_THROWS_AS(emofuse::parallel_for(10, 0, [](std::size_t, std::size_t) {}),
                    emofuse::value_error);
}

TEST_CASE("thread-count settings: set_num_threads, EMOFUSE_NUM_THREADS and their errors") {
    {
        const thread_count_guard guard(5);
        CHECK(emofuse::num_threads() == 5);
    }
    CHECK(emofuse::num_threads() >= 1);
    CHECK_THROWS_AS(emofuse::set_num_threads(emofuse::detail::max_threads + 1),
                    emofuse::value_error);

    ::unsetenv("EMOFUSE_NUM_THREADS");
    CHECK(emofuse::detail::thread_count_from_environment() == 0);
    ::setenv("EMOFUSE_NUM_THREADS", "3", 1);
    CHECK(emofuse::detail::thread_count_from_environment() == 3);
    for (const char* bad : {"0", "-1", "two", "3.5", "99999", " 3"}) {
        CAPTURE(bad);
        ::setenv("EMOFUSE_NUM_THREADS", bad, 1);
        CHECK_THROWS_WITH_AS(emofuse::detail::thread_count_from_environment(),
                             doctest::Contains("EMOFUSE_NUM_THREADS"), emofuse::value_error);
    }
    ::unsetenv("EMOFUSE_NUM_THREADS");
}
