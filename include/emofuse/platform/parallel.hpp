// emofuse/platform/parallel.hpp — the library's one threading model: a process-wide pool of
// persistent workers that runs `parallel_for` chunks, sized by set_num_threads() or the
// EMOFUSE_NUM_THREADS environment variable (docs/core.md, "Threads").
//
// Why a pool of its own and not OpenMP: the library is header-only, so OpenMP would need every
// consumer to compile and link with -fopenmp (and a consumer that does not would silently get
// serial code); libgomp and libomp cannot share a process; and OpenMP's nested-region and
// oversubscription rules depend on the runtime's environment. This pool needs only <thread>.
//
// Rules every caller can rely on:
// - Chunks are [k·grain, min((k+1)·grain, count)): they depend on count and grain only, never on
//   the thread count, so work that reduces per chunk and combines the chunks in order gives the
//   same bits at 1, 2 or 7 threads.
// - No oversubscription: a parallel_for called from inside a chunk (nested), or while another
//   thread's parallel_for holds the pool, runs its chunks inline on the calling thread.
// - Workers are created once (lazily, on the first parallel call that needs them) and reused;
//   nothing creates a thread per call.
// - An exception thrown by a chunk stops the chunks not yet started and is rethrown to the
//   caller once every running chunk has returned.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <emofuse/core/error.hpp>

namespace emofuse {

namespace detail {

/// Upper bound on threads: far above any machine, low enough that a typo cannot start 10⁹ workers.
inline constexpr unsigned max_threads = 4096;

/// EMOFUSE_NUM_THREADS as a thread count; 0 when unset or empty. Anything but a whole number
/// in [1, max_threads] is a value_error naming the variable, not a silent fallback.
inline unsigned thread_count_from_environment() {
    const char* text = std::getenv("EMOFUSE_NUM_THREADS");
    if (text == nullptr || *text == '\0') {
        return 0;
    }
    unsigned long value = 0;
    const std::string_view digits(text);
    bool valid = digits.size() <= 5;
    for (const char c : digits) {
        valid = valid && c >= '0' && c <= '9';
        value = value * 10 + static_cast<unsigned long>(c - '0');
    }
    if (!valid || value == 0 || value > max_threads) {
        throw value_error("EMOFUSE_NUM_THREADS: expected a whole number from 1 to " +
                          std::to_string(max_threads) + ", got \"" +
                          std::string(digits.substr(0, 20)) + "\"");
    }
    return static_cast<unsigned>(value);
}

/// True on the pool's workers, and on a caller while it runs chunks: a parallel_for there
/// runs inline.
inline thread_local bool inside_parallel_region = false;

class thread_pool {
public:
    static thread_pool& instance() {
        static thread_pool pool;
        return pool;
    }

    thread_pool(const thread_pool&) = delete;
    thread_pool& operator=(const thread_pool&) = delete;
    ~thread_pool() { stop_workers(); }

    [[nodiscard]] unsigned threads() {
        const std::lock_guard lock(settings_);
        return resolved_threads();
    }

    /// n = 0 returns to the default (EMOFUSE_NUM_THREADS, else every hardware thread). Waits
    /// for a running parallel_for to finish; the workers are re-created on the next call.
    void set_threads(unsigned n) {
        if (n > max_threads) {
            throw value_error("set_num_threads: expected at most " + std::to_string(max_threads) +
                              " threads, got " + std::to_string(n));
        }
        const std::lock_guard busy(busy_);
        const std::lock_guard lock(settings_);
        requested_ = n;
        if (workers_.size() + 1 != resolved_threads()) {
            stop_workers();
        }
    }

    /// Runs body(chunk) for chunk in [0, chunks) on up to `limit` threads (0: the pool's size),
    /// the caller included.
    template <class Body>
    void run(std::size_t chunks, unsigned limit, Body& body) {
        if (chunks == 0) {
            return;
        }
        std::unique_lock busy(busy_, std::defer_lock);
        const bool inline_only = chunks == 1 || inside_parallel_region || !busy.try_lock();
        unsigned participants = 1;
        if (!inline_only) {
            const std::lock_guard lock(settings_);
            participants = resolved_threads();
            if (limit != 0 && limit < participants) {
                participants = limit;
            }
            if (participants > chunks) {
                participants = static_cast<unsigned>(chunks);
            }
            if (participants > 1) {
                start_workers(resolved_threads() - 1);
            }
        }
        if (participants <= 1) {
            for (std::size_t chunk = 0; chunk < chunks; ++chunk) {
                body(chunk);
            }
            return;
        }
        job work;
        work.chunks = chunks;
        work.helpers_wanted = participants - 1;
        work.context = &body;
        work.invoke = [](void* context, std::size_t chunk) {
            (*static_cast<Body*>(context))(chunk);
        };
        {
            const std::lock_guard lock(state_);
            current_ = &work;
            ++generation_;
        }
        wake_.notify_all();
        inside_parallel_region = true;
        work_on(work);
        inside_parallel_region = false;
        {
            std::unique_lock lock(state_);
            finished_.wait(lock, [&] { return work.active_helpers == 0; });
            current_ = nullptr;
        }
        if (work.failure) {
            std::rethrow_exception(work.failure);
        }
    }

private:
    struct job {
        std::size_t chunks = 0;
        unsigned helpers_wanted = 0;
        unsigned active_helpers = 0; // guarded by state_
        void* context = nullptr;
        void (*invoke)(void*, std::size_t) = nullptr;
        std::atomic<std::size_t> next_chunk{0};
        std::atomic<bool> failed{false};
        std::mutex failure_lock;
        std::exception_ptr failure;
    };

    thread_pool() = default;

    unsigned resolved_threads() {
        if (requested_ != 0) {
            return requested_;
        }
        if (default_threads_ == 0) {
            const unsigned from_environment = thread_count_from_environment();
            const unsigned hardware = std::thread::hardware_concurrency();
            default_threads_ =
                from_environment != 0 ? from_environment : (hardware != 0 ? hardware : 1);
        }
        return default_threads_;
    }

    static void work_on(job& work) {
        for (;;) {
            const std::size_t chunk = work.next_chunk.fetch_add(1, std::memory_order_relaxed);
            if (chunk >= work.chunks || work.failed.load(std::memory_order_relaxed)) {
                return;
            }
            try {
                work.invoke(work.context, chunk);
            } catch (...) {
                const std::lock_guard lock(work.failure_lock);
                if (!work.failure) {
                    work.failure = std::current_exception();
                }
                work.failed.store(true, std::memory_order_relaxed);
            }
        }
    }

    void worker_loop() {
        inside_parallel_region = true;
        std::uint64_t seen = 0;
        std::unique_lock lock(state_);
        for (;;) {
            wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
            if (stopping_) {
                return;
            }
            seen = generation_;
            job* work = current_;
            if (work == nullptr || work->active_helpers >= work->helpers_wanted) {
                continue;
            }
            ++work->active_helpers;
            lock.unlock();
            work_on(*work);
            lock.lock();
            if (--work->active_helpers == 0) {
                finished_.notify_all();
            }
        }
    }

    void start_workers(unsigned count) {
        if (!workers_.empty()) {
            return;
        }
        stopping_ = false;
        workers_.reserve(count);
        for (unsigned i = 0; i < count; ++i) {
            workers_.emplace_back([this] { worker_loop(); });
        }
    }

    void stop_workers() {
        {
            const std::lock_guard lock(state_);
            stopping_ = true;
        }
        wake_.notify_all();
        for (auto& worker : workers_) {
            worker.join();
        }
        workers_.clear();
    }

    std::mutex busy_;     // held by the one parallel_for that owns the workers
    std::mutex settings_; // requested_, default_threads_
    unsigned requested_ = 0;
    unsigned default_threads_ = 0;

    std::mutex state_; // current_, generation_, stopping_, job::active_helpers
    std::condition_variable wake_;
    std::condition_variable finished_;
    job* current_ = nullptr;
    std::uint64_t generation_ = 0;
    bool stopping_ = false;
    std::vector<std::thread> workers_;
};

} // namespace detail

/// The number of threads parallel work uses: set_num_threads(n), else EMOFUSE_NUM_THREADS, else
/// every hardware thread. Throws value_error for a malformed EMOFUSE_NUM_THREADS.
[[nodiscard]] inline unsigned num_threads() {
    return detail::thread_pool::instance().threads();
}

/// Sets the thread count of all later parallel work (0: back to the default). Safe to call at
/// any time; it waits for parallel work in flight.
inline void set_num_threads(unsigned n) {
    detail::thread_pool::instance().set_threads(n);
}

/// Calls body(begin, end) for the chunks [k·grain, min((k+1)·grain, count)) of [0, count), on
/// up to num_threads() threads (at most `max_threads_for_call` when that is not 0), the calling
/// thread included; returns when every chunk is done. Chunks do not depend on the thread
/// count. body must be safe to call concurrently for different chunks.
template <class Body>
void parallel_for(std::size_t count, std::size_t grain, Body&& body,
                  unsigned max_threads_for_call = 0) {
    static_assert(
        std::is_invocable_v<Body&, std::size_t, std::size_t>,
        "parallel_for: body must be callable as body(std::size_t begin, std::size_t end)");
    if (grain == 0) {
        throw value_error("parallel_for: grain must be at least 1");
    }
    const std::size_t chunks = count / grain + (count % grain != 0 ? 1 : 0);
    auto chunk_body = [&](std::size_t chunk) {
        const std::size_t begin = chunk * grain;
        const std::size_t end = count - begin < grain ? count : begin + grain;
        body(begin, end);
    };
    detail::thread_pool::instance().run(chunks, max_threads_for_call, chunk_body);
}

} // namespace emofuse
