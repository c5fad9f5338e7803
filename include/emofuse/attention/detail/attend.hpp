// emofuse/attention/detail/attend.hpp — the streaming-softmax attention kernel for one
// (sample, head) problem, plus its scalar reference.
#pragma once

#include "emofuse/attention/mask.hpp"
#include "emofuse/config.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

namespace emofuse::attention::detail {

/// One (sample, head) problem. Queries are rows (already scaled); keys and values are stored
/// transposed — feature-major, `ld` apart, one column per key — so the scores of one query
/// against a block of keys are a SIMD sweep along keys with no horizontal reduction.
/// Columns [key_count, round_up(key_count, lanes)) of kt and vt must be readable (zeros).
template <class T>
struct head_problem {
    std::size_t query_time = 0;
    std::size_t key_dim = 0;
    std::size_t value_dim = 0;
    const T* q = nullptr; ///< query_time rows of key_dim, `ldq` apart
    std::size_t ldq = 0;
    const T* kt = nullptr; ///< key_dim rows, `ldkt` apart
    std::size_t ldkt = 0;
    const T* vt = nullptr; ///< value_dim rows, `ldvt` apart
    std::size_t ldvt = 0;
    T* out = nullptr; ///< query_time rows of value_dim, `ldo` apart
    std::size_t ldo = 0;
};

/// Keys per block: a block of transposed keys and values stays in L1 while the rows of a
/// query block stream past it.
inline constexpr std::size_t key_block = 256;
/// Queries per block (their running max, sum and accumulator live in scratch).
inline constexpr std::size_t query_block = 32;

/// Scratch elements attend_head needs for a value dimension.
template <class T>
constexpr std::size_t attend_scratch_size(std::size_t value_dim) {
    return key_block + query_block * (value_dim + 2);
}

/// Scalar reference: softmax over the allowed keys of q·k, times V; a row with no allowed key
/// is zero. Reads the same transposed layout as attend_head.
template <class T>
void attend_head_reference(const head_problem<T>& p, const key_rule<T>& rule) {
    std::vector<T> score;
    for (std::size_t i = 0; i < p.query_time; ++i) {
        const std::size_t end = rule.key_end(i);
        score.assign(end, -std::numeric_limits<T>::infinity());
        T best = -std::numeric_limits<T>::infinity();
        for (std::size_t j = 0; j < end; ++j) {
            if (rule.key_valid && rule.key_valid[j] == 0) {
                continue;
            }
            T s(0);
            for (std::size_t c = 0; c < p.key_dim; ++c) {
                s += p.q[i * p.ldq + c] * p.kt[c * p.ldkt + j];
            }
            if (rule.additive) {
                s += rule.additive[i * rule.ld_additive + j];
            }
            score[j] = s;
            best = std::max(best, s);
        }
        T* out = p.out + i * p.ldo;
        std::fill(out, out + p.value_dim, T(0));
        if (best == -std::numeric_limits<T>::infinity()) {
            continue;
        }
        T total(0);
        for (std::size_t j = 0; j < end; ++j) {
            score[j] =
                score[j] == -std::numeric_limits<T>::infinity() ? T(0) : std::exp(score[j] - best);
            total += score[j];
        }
        for (std::size_t c = 0; c < p.value_dim; ++c) {
            T sum(0);
            for (std::size_t j = 0; j < end; ++j) {
                if (score[j] != T(0)) {
                    sum += score[j] * p.vt[c * p.ldvt + j];
                }
            }
            out[c] = sum / total;
        }
    }
}

template <class T, class Arch>
T lanes_sum(const xsimd::batch<T, Arch>& v) {
    constexpr std::size_t lanes = xsimd::batch<T, Arch>::size;
    alignas(64) T lane[lanes];
    v.store_aligned(lane);
    T sum(0);
    for (std::size_t i = 0; i < lanes; ++i) {
        sum += lane[i];
    }
    return sum;
}

template <class T, class Arch>
T lanes_max(const xsimd::batch<T, Arch>& v) {
    constexpr std::size_t lanes = xsimd::batch<T, Arch>::size;
    alignas(64) T lane[lanes];
    v.store_aligned(lane);
    T best = lane[0];
    for (std::size_t i = 1; i < lanes; ++i) {
        best = lane[i] > best ? lane[i] : best;
    }
    return best;
}

/// Loads `count` ≤ lanes values, zero-filling the rest (never reads past `count`).
template <class T, class Arch>
xsimd::batch<T, Arch> load_head(const T* src, std::size_t count) {
    using batch = xsimd::batch<T, Arch>;
    if (count == batch::size) {
        return batch::load_unaligned(src);
    }
    alignas(64) T lane[batch::size] = {};
    std::copy_n(src, count, lane);
    return batch::load_aligned(lane);
}

/// acc[c] += Σ_j p[j]·vt[c, j] for C consecutive value features (C accumulators in registers).
template <class T, class Arch, std::size_t C>
EMOFUSE_ALWAYS_INLINE void weighted_value_sums(const T* p, std::size_t count, const T* vt,
                                               std::size_t ldvt, T* acc) {
    using batch = xsimd::batch<T, Arch>;
    constexpr std::size_t lanes = batch::size;
    batch sums[C];
    for (std::size_t c = 0; c < C; ++c) {
        sums[c] = batch(T(0));
    }
    std::size_t j = 0;
    for (; j + lanes <= count; j += lanes) {
        const batch w = batch::load_aligned(p + j);
        for (std::size_t c = 0; c < C; ++c) {
            sums[c] = xsimd::fma(w, batch::load_unaligned(vt + c * ldvt + j), sums[c]);
        }
    }
    if (j < count) {
        // p beyond `count` is zero; load the values partially so masked or padding keys never
        // contribute (0·NaN would).
        const batch w = batch::load_aligned(p + j);
        for (std::size_t c = 0; c < C; ++c) {
            sums[c] = xsimd::fma(w, load_head<T, Arch>(vt + c * ldvt + j, count - j), sums[c]);
        }
    }
    for (std::size_t c = 0; c < C; ++c) {
        acc[c] += lanes_sum(sums[c]);
    }
}

template <class T, class Arch>
void weighted_value_sums_any(const T* p, std::size_t count, const T* vt, std::size_t ldvt,
                             std::size_t value_dim, T* acc) {
    constexpr std::size_t chunk = 4;
    std::size_t c = 0;
    for (; c + chunk <= value_dim; c += chunk) {
        weighted_value_sums<T, Arch, chunk>(p, count, vt + c * ldvt, ldvt, acc + c);
    }
    switch (value_dim - c) {
    case 3:
        weighted_value_sums<T, Arch, 3>(p, count, vt + c * ldvt, ldvt, acc + c);
        break;
    case 2:
        weighted_value_sums<T, Arch, 2>(p, count, vt + c * ldvt, ldvt, acc + c);
        break;
    case 1:
        weighted_value_sums<T, Arch, 1>(p, count, vt + c * ldvt, ldvt, acc + c);
        break;
    default:
        break;
    }
}

/// Streaming-softmax attention for one (sample, head) problem: queries in blocks, keys in
/// blocks; per block of keys each query row updates its running max m, sum l and accumulator
/// (rescaled by exp(m_old − m_new)), so no T_q×T_k score matrix exists. `scratch` holds
/// attend_scratch_size(value_dim) elements, 64-byte aligned.
template <class T, class Arch = simd_arch>
void attend_head(const head_problem<T>& p, const key_rule<T>& rule, T* scratch) {
    using batch = xsimd::batch<T, Arch>;
    constexpr std::size_t lanes = batch::size;
    static_assert(key_block % lanes == 0, "key block must be a whole number of SIMD vectors");
    constexpr T minus_inf = -std::numeric_limits<T>::infinity();
    T* score = scratch;                 // key_block
    T* running_max = score + key_block; // query_block
    T* running_sum = running_max + query_block;
    T* acc = running_sum + query_block; // query_block × value_dim

    const std::size_t last_key = rule.key_count;
    for (std::size_t i0 = 0; i0 < p.query_time; i0 += query_block) {
        const std::size_t rows = std::min(query_block, p.query_time - i0);
        std::fill(running_max, running_max + rows, minus_inf);
        std::fill(running_sum, running_sum + rows, T(0));
        std::fill(acc, acc + rows * p.value_dim, T(0));
        const std::size_t block_end = rule.key_end(i0 + rows - 1);
        for (std::size_t j0 = 0; j0 < block_end && j0 < last_key; j0 += key_block) {
            for (std::size_t r = 0; r < rows; ++r) {
                const std::size_t i = i0 + r;
                const std::size_t end = std::min(j0 + key_block, rule.key_end(i));
                if (end <= j0) {
                    continue;
                }
                const std::size_t count = end - j0;
                const std::size_t padded = (count + lanes - 1) / lanes * lanes;
                // Scores q·k for keys j0 .. j0+padded (columns past key_count are zero).
                const T* qi = p.q + i * p.ldq;
                for (std::size_t j = 0; j < padded; j += lanes) {
                    batch s(T(0));
                    const T* kcol = p.kt + j0 + j;
                    for (std::size_t c = 0; c < p.key_dim; ++c) {
                        s = xsimd::fma(batch(qi[c]), batch::load_unaligned(kcol + c * p.ldkt), s);
                    }
                    s.store_aligned(score + j);
                }
                std::fill(score + count, score + padded, minus_inf);
                if (rule.key_valid) {
                    const std::uint8_t* valid = rule.key_valid + j0;
                    for (std::size_t j = 0; j < count; ++j) {
                        score[j] = valid[j] ? score[j] : minus_inf;
                    }
                }
                if (rule.additive) {
                    const T* add = rule.additive + i * rule.ld_additive + j0;
                    std::size_t j = 0;
                    for (; j + lanes <= count; j += lanes) {
                        (batch::load_aligned(score + j) + batch::load_unaligned(add + j))
                            .store_aligned(score + j);
                    }
                    for (; j < count; ++j) {
                        score[j] += add[j];
                    }
                }
                batch block_max(minus_inf);
                for (std::size_t j = 0; j < padded; j += lanes) {
                    block_max = xsimd::max(block_max, batch::load_aligned(score + j));
                }
                const T bmax = lanes_max(block_max);
                if (bmax == minus_inf) {
                    continue; // every key of this block is masked for this row
                }
                const T old_max = running_max[r];
                const T new_max = old_max > bmax ? old_max : bmax;
                const T rescale = std::exp(old_max - new_max); // 0 when old_max = −inf
                const batch shift(new_max);
                batch sum(T(0));
                for (std::size_t j = 0; j < padded; j += lanes) {
                    const batch e = xsimd::exp(batch::load_aligned(score + j) - shift);
                    e.store_aligned(score + j);
                    sum += e;
                }
                running_max[r] = new_max;
                running_sum[r] = running_sum[r] * rescale + lanes_sum(sum);
                T* acc_row = acc + r * p.value_dim;
                if (rescale != T(1)) {
                    for (std::size_t c = 0; c < p.value_dim; ++c) {
                        acc_row[c] *= rescale;
                    }
                }
                weighted_value_sums_any<T, Arch>(score, count, p.vt + j0, p.ldvt, p.value_dim,
                                                 acc_row);
            }
        }
        for (std::size_t r = 0; r < rows; ++r) {
            T* out = p.out + (i0 + r) * p.ldo;
            const T* acc_row = acc + r * p.value_dim;
            if (running_sum[r] > T(0)) {
                const T inverse = T(1) / running_sum[r];
                for (std::size_t c = 0; c < p.value_dim; ++c) {
                    out[c] = acc_row[c] * inverse;
                }
            } else {
                std::fill(out, out + p.value_dim, T(0));
            }
        }
    }
}

} // namespace emofuse::attention::detail
