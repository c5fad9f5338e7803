// emofuse/kernels/workspace.hpp — reusable, aligned scratch memory for kernels and stages.
#pragma once

#include <array>
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>

namespace emofuse::kernels {

/// Scratch buffers that kernels borrow instead of allocating in their hot loops. A buffer
/// grows (one allocation) the first time a call needs more than it holds and is reused by
/// every later call, so a stage that keeps a workspace allocates only while warming up.
/// Not thread-safe: give each thread its own (see thread_workspace()).
class workspace {
public:
    /// Alignment of every buffer: a cache line, enough for any SIMD register width.
    static constexpr std::size_t alignment = 64;
    /// Independent buffers a single call may hold at once. gemm, gemm_strided_batched and
    /// linear use slots 0 (packed B) and 1 (packed A); a stage that passes its workspace to
    /// them keeps its own data in slots 2 and 3.
    static constexpr std::size_t slot_count = 4;

    workspace() = default;
    workspace(const workspace&) = delete;
    workspace& operator=(const workspace&) = delete;
    workspace(workspace&&) noexcept = default;
    workspace& operator=(workspace&&) noexcept = default;
    ~workspace() = default;

    /// An aligned buffer of at least `count` elements of T in `slot` (contents unspecified).
    /// Pointers previously returned for the same slot are invalidated when it grows.
    template <class T>
    [[nodiscard]] T* buffer(std::size_t slot, std::size_t count) {
        static_assert(alignof(T) <= alignment, "workspace: over-aligned element type");
        slot_storage& s = slots_.at(slot);
        const std::size_t bytes = round_up(count * sizeof(T));
        if (bytes > s.bytes) {
            s.data.reset(
                static_cast<std::byte*>(::operator new[](bytes, std::align_val_t{alignment})));
            s.bytes = bytes;
        }
        return reinterpret_cast<T*>(s.data.get());
    }

    /// Bytes currently reserved in `slot`.
    [[nodiscard]] std::size_t capacity_bytes(std::size_t slot) const {
        return slots_.at(slot).bytes;
    }

    /// Frees every buffer.
    void release() noexcept {
        for (auto& s : slots_) {
            s.data.reset();
            s.bytes = 0;
        }
    }

private:
    struct aligned_delete {
        void operator()(std::byte* p) const noexcept {
            ::operator delete[](p, std::align_val_t{alignment});
        }
    };
    struct slot_storage {
        std::unique_ptr<std::byte[], aligned_delete> data;
        std::size_t bytes = 0;
    };

    static std::size_t round_up(std::size_t bytes) {
        // Round to whole cache lines and keep a floor so tiny calls do not regrow often.
        const std::size_t lines = (bytes + alignment - 1) / alignment;
        return (lines < 4 ? 4 : lines) * alignment;
    }

    std::array<slot_storage, slot_count> slots_{};
};

/// The calling thread's own workspace, used by the kernel overloads that take none.
[[nodiscard]] inline workspace& thread_workspace() {
    thread_local workspace ws;
    return ws;
}

} // namespace emofuse::kernels
