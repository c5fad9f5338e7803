// emofuse/io/csd/detail/hdf5_lock.hpp — the process-wide lock that lets several threads use
// .csd files at once. libhdf5 (Debian's build included) is not safe to call from two threads,
// so file_source::read and the writer hold this lock for their HDF5 calls; a reader releases it
// while a chunk inflates, which touches nothing of libhdf5. The aligner's threads then overlap
// their inflating, checking and aligning while one of them talks to libhdf5, and one thread
// writes the previous videos while the others read the next ones.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace emofuse::io::csd::detail {

/// A first-come, first-served mutex. A writer takes the lock once per entry, back to back; with
/// a plain std::mutex it would take it again before a waiting reader wakes, and the reader
/// would wait for the whole video's output. Tickets make each waiter's turn come.
class ticket_mutex {
public:
    void lock() {
        std::unique_lock lock(state_);
        const std::uint64_t ticket = next_ticket_++;
        turn_.wait(lock, [&] { return serving_ == ticket; });
    }
    void unlock() {
        bool waiters = false;
        {
            const std::lock_guard lock(state_);
            ++serving_;
            waiters = serving_ != next_ticket_;
        }
        if (waiters) {
            turn_.notify_all();
        }
    }

    /// Threads waiting for their turn (for tests and diagnostics).
    [[nodiscard]] std::uint64_t waiting() {
        const std::lock_guard lock(state_);
        return next_ticket_ - serving_ - (next_ticket_ != serving_ ? 1 : 0);
    }

private:
    std::mutex state_;
    std::condition_variable turn_;
    std::uint64_t next_ticket_ = 0;
    std::uint64_t serving_ = 0;
};

inline ticket_mutex& hdf5_mutex() {
    static ticket_mutex mutex;
    return mutex;
}

/// The lock this thread holds through a hdf5_lock, if any.
inline thread_local std::unique_lock<ticket_mutex>* held_hdf5_lock = nullptr;

/// Holds the HDF5 lock for a call chain; on a thread that holds it already (a writer called from
/// inside a reading call) it does nothing, so nesting cannot deadlock.
class hdf5_lock {
public:
    hdf5_lock() : previous_(held_hdf5_lock) {
        if (previous_ == nullptr || !previous_->owns_lock()) {
            lock_ = std::unique_lock(hdf5_mutex());
            held_hdf5_lock = &lock_;
        }
    }
    ~hdf5_lock() { held_hdf5_lock = previous_; }
    hdf5_lock(const hdf5_lock&) = delete;
    hdf5_lock& operator=(const hdf5_lock&) = delete;

private:
    std::unique_lock<ticket_mutex> lock_;
    std::unique_lock<ticket_mutex>* previous_;
};

/// Releases the thread's HDF5 lock for a stretch of work that makes no libhdf5 call, and takes
/// it back at the end; does nothing on a thread that holds none (single-threaded callers).
class hdf5_unlocked {
public:
    hdf5_unlocked()
        : lock_(held_hdf5_lock != nullptr && held_hdf5_lock->owns_lock() ? held_hdf5_lock
                                                                         : nullptr) {
        if (lock_ != nullptr) {
            lock_->unlock();
        }
    }
    ~hdf5_unlocked() {
        if (lock_ != nullptr) {
            lock_->lock();
        }
    }
    hdf5_unlocked(const hdf5_unlocked&) = delete;
    hdf5_unlocked& operator=(const hdf5_unlocked&) = delete;

private:
    std::unique_lock<ticket_mutex>* lock_;
};

} // namespace emofuse::io::csd::detail
