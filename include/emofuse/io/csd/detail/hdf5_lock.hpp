// emofuse/io/csd/detail/hdf5_lock.hpp — the process-wide lock that lets several threads read
// .csd files at once. libhdf5 (Debian's build included) is not safe to call from two threads,
// so file_source::read holds this lock for its HDF5 calls and releases it only while a chunk
// inflates, which touches nothing of libhdf5: the aligner's threads then overlap their
// inflating, checking and aligning while one of them talks to libhdf5.
#pragma once

#include <mutex>

namespace emofuse::io::csd::detail {

inline std::mutex& hdf5_mutex() {
    static std::mutex mutex;
    return mutex;
}

/// The lock this thread holds through a hdf5_read_lock, if any.
inline thread_local std::unique_lock<std::mutex>* held_hdf5_lock = nullptr;

/// Holds the HDF5 lock for a reading call (not re-entrant: one per call chain).
class hdf5_read_lock {
public:
    hdf5_read_lock() : lock_(hdf5_mutex()), previous_(held_hdf5_lock) { held_hdf5_lock = &lock_; }
    ~hdf5_read_lock() { held_hdf5_lock = previous_; }
    hdf5_read_lock(const hdf5_read_lock&) = delete;
    hdf5_read_lock& operator=(const hdf5_read_lock&) = delete;

private:
    std::unique_lock<std::mutex> lock_;
    std::unique_lock<std::mutex>* previous_;
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
    std::unique_lock<std::mutex>* lock_;
};

} // namespace emofuse::io::csd::detail
