// Shared helpers for the kernel property tests: seeded random data, deliberately misaligned
// buffers, and error bounds relative to the magnitude of the summed terms.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace kernel_testing {

/// Heap buffer whose data() is offset by `misalign` elements from a 64-byte boundary, with
/// sentinel-filled guard elements on both sides so out-of-bounds writes are detected.
template <class T>
class guarded_buffer {
public:
    static constexpr std::size_t guard = 16;

    explicit guarded_buffer(std::size_t size, std::size_t misalign = 1)
        : size_(size), storage_(size + 2 * guard + 64 / sizeof(T) + misalign + 1) {
        const auto base = reinterpret_cast<std::uintptr_t>(storage_.data());
        const std::size_t to_aligned = ((64 - base % 64) % 64) / sizeof(T);
        offset_ = to_aligned + guard + misalign;
        for (auto& v : storage_) {
            v = sentinel();
        }
    }
    T* data() { return storage_.data() + offset_; }
    const T* data() const { return storage_.data() + offset_; }
    std::size_t size() const { return size_; }
    T& operator[](std::size_t i) { return data()[i]; }
    const T& operator[](std::size_t i) const { return data()[i]; }

    /// True when nothing outside [data(), data()+size()) was written.
    bool guards_intact() const {
        for (std::size_t i = 0; i < offset_; ++i) {
            if (storage_[i] != sentinel()) {
                return false;
            }
        }
        for (std::size_t i = offset_ + size_; i < storage_.size(); ++i) {
            if (storage_[i] != sentinel()) {
                return false;
            }
        }
        return true;
    }
    static T sentinel() { return T(-12345.5); }

private:
    std::size_t size_;
    std::vector<T> storage_;
    std::size_t offset_ = 0;
};

inline std::mt19937_64& rng() {
    static std::mt19937_64 engine(20261125);
    return engine;
}

template <class T>
void fill_uniform(T* data, std::size_t n, T lo = T(-1), T hi = T(1)) {
    std::uniform_real_distribution<double> dist(static_cast<double>(lo), static_cast<double>(hi));
    for (std::size_t i = 0; i < n; ++i) {
        data[i] = static_cast<T>(dist(rng()));
    }
}

template <class T>
std::vector<T> uniform_vector(std::size_t n, T lo = T(-1), T hi = T(1)) {
    std::vector<T> v(n);
    fill_uniform(v.data(), n, lo, hi);
    return v;
}

template <class T>
constexpr double eps() {
    return static_cast<double>(std::numeric_limits<T>::epsilon());
}

/// True when a and b agree: both NaN, equal infinities, or |a-b| <= bound.
template <class T>
bool agrees(T a, T b, double bound) {
    if (std::isnan(a) || std::isnan(b)) {
        return std::isnan(a) && std::isnan(b);
    }
    if (std::isinf(a) || std::isinf(b)) {
        return a == b;
    }
    return std::abs(static_cast<double>(a) - static_cast<double>(b)) <= bound;
}

/// Element counts around the SIMD widths in play (SSE2 4/2 lanes up to AVX-512 16/8 lanes).
inline std::vector<std::size_t> edge_sizes() {
    return {0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100};
}

} // namespace kernel_testing
