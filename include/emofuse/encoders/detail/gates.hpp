// emofuse/encoders/detail/gates.hpp — the fused gate step shared by the LSTM/GRU layers and
// cells: pre-activations in, new state out, one pass over the hidden units.
#pragma once

#include <emofuse/config.hpp>
#include <emofuse/kernels/elementwise.hpp>
#include <emofuse/kernels/simd.hpp>

#include <cstddef>

namespace emofuse::encoders::detail {

/// Calls body(offset, load, store) over [0, n) in SIMD batches; the tail goes through the same
/// body with partial loads and stores, so every unit gets the same arithmetic.
template <class T, class Arch, class Body>
EMOFUSE_ALWAYS_INLINE void for_each_batch(std::size_t n, Body body) {
    using batch = xsimd::batch<T, Arch>;
    constexpr std::size_t lanes = batch::size;
    std::size_t j = 0;
    const auto full_load = [](const T* p) { return batch::load_unaligned(p); };
    const auto full_store = [](const batch& v, T* p) { v.store_unaligned(p); };
    for (; j + lanes <= n; j += lanes) {
        body(j, full_load, full_store);
    }
    if (j < n) {
        const std::size_t rest = n - j;
        body(
            j, [rest](const T* p) { return kernels::load_partial<T, Arch>(p, rest, T(0)); },
            [rest](const batch& v, T* p) { kernels::store_partial<T, Arch>(v, p, rest); });
    }
}

/// One LSTM step for one sample (PyTorch gate order i, f, g, o):
///   gates = xp + hp;  c' = σ(f)·c + σ(i)·tanh(g);  h' = σ(o)·tanh(c').
/// `xp` holds x·W_ihᵀ + b_ih + b_hh and `hp` holds h·W_hhᵀ, 4·hidden values each. `c` is
/// updated in place, h' goes to `h` and, when not null, to `out`.
template <class T, class Arch = simd_arch>
void lstm_step(const T* xp, const T* hp, T* c, T* h, T* out, std::size_t hidden) {
    for_each_batch<T, Arch>(hidden, [&](std::size_t j, auto load, auto store) {
        const auto in_gate = kernels::sigmoid_batch<T, Arch>(load(xp + j) + load(hp + j));
        const auto forget_gate =
            kernels::sigmoid_batch<T, Arch>(load(xp + hidden + j) + load(hp + hidden + j));
        const auto cell_gate = xsimd::tanh(load(xp + 2 * hidden + j) + load(hp + 2 * hidden + j));
        const auto out_gate =
            kernels::sigmoid_batch<T, Arch>(load(xp + 3 * hidden + j) + load(hp + 3 * hidden + j));
        const auto cell = xsimd::fma(forget_gate, load(c + j), in_gate * cell_gate);
        const auto state = out_gate * xsimd::tanh(cell);
        store(cell, c + j);
        store(state, h + j);
        if (out) {
            store(state, out + j);
        }
    });
}

/// One GRU step for one sample (PyTorch gate order r, z, n; b_hn inside the reset product):
///   r = σ(xp_r + hp_r);  z = σ(xp_z + hp_z);  n = tanh(xp_n + r·hp_n);  h' = n + z·(h − n).
/// `xp` holds x·W_ihᵀ + b_ih (+ b_hh for r and z), `hp` holds h·W_hhᵀ (+ b_hn for n), 3·hidden
/// values each. `h` is updated in place; h' also goes to `out` when not null.
template <class T, class Arch = simd_arch>
void gru_step(const T* xp, const T* hp, T* h, T* out, std::size_t hidden) {
    for_each_batch<T, Arch>(hidden, [&](std::size_t j, auto load, auto store) {
        const auto reset = kernels::sigmoid_batch<T, Arch>(load(xp + j) + load(hp + j));
        const auto update =
            kernels::sigmoid_batch<T, Arch>(load(xp + hidden + j) + load(hp + hidden + j));
        const auto candidate =
            xsimd::tanh(xsimd::fma(reset, load(hp + 2 * hidden + j), load(xp + 2 * hidden + j)));
        const auto state = xsimd::fma(update, load(h + j) - candidate, candidate);
        store(state, h + j);
        if (out) {
            store(state, out + j);
        }
    });
}

} // namespace emofuse::encoders::detail
