// emofuse/attention/detail/attend.hpp — the streaming-softmax attention kernel for one
// (sample, head) problem, plus its scalar reference.
#pragma once

#include "emofuse/attention/mask.hpp"
#include "emofuse/config.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <type_traits>
#include <vector>

// GCC 12 reports -Wmaybe-uninitialized inside its own AVX-512 intrinsics (the
// _mm512_undefined_* pass-through operands of xsimd's exp) once they are inlined here; the
// values are fully defined, so the false positive is silenced for this kernel only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace emofuse::attention::detail {

/// One (sample, head) problem, every operand row-major with its own row stride: queries
/// (already scaled) q[i, c], keys k[j, c], values v[j, c], output out[i, c].
template <class T>
struct head_problem {
    std::size_t query_time = 0;
    std::size_t key_dim = 0;
    std::size_t value_dim = 0;
    const T* q = nullptr;
    std::size_t ldq = 0;
    const T* k = nullptr;
    std::size_t ldk = 0;
    const T* v = nullptr;
    std::size_t ldv = 0;
    T* out = nullptr;
    std::size_t ldo = 0;
};

/// Keys per block: a block of scores for one query block (key_block × SIMD lanes values)
/// stays in L1 between computing it and consuming it.
inline constexpr std::size_t key_block = 128;

template <class T, class Arch = simd_arch>
constexpr std::size_t attend_lanes() {
    return xsimd::batch<T, Arch>::size;
}

/// Scratch elements attend_head needs (64-byte aligned).
template <class T, class Arch = simd_arch>
constexpr std::size_t attend_scratch_size(std::size_t key_dim, std::size_t value_dim) {
    return attend_lanes<T, Arch>() * (key_dim + key_block + value_dim + 2);
}

/// Scalar reference: softmax over the allowed keys of q·k, times V; a row with no allowed key
/// is zero. Stores one score row at a time.
template <class T>
void attend_head_reference(const head_problem<T>& p, const key_rule<T>& rule) {
    constexpr T minus_inf = -std::numeric_limits<T>::infinity();
    std::vector<T> score;
    for (std::size_t i = 0; i < p.query_time; ++i) {
        const std::size_t end = rule.key_end(i);
        score.assign(end, minus_inf);
        T best = minus_inf;
        for (std::size_t j = 0; j < end; ++j) {
            if (rule.key_valid && rule.key_valid[j] == 0) {
                continue;
            }
            T s(0);
            for (std::size_t c = 0; c < p.key_dim; ++c) {
                s += p.q[i * p.ldq + c] * p.k[j * p.ldk + c];
            }
            if (rule.additive) {
                s += rule.additive[i * rule.ld_additive + j];
            }
            score[j] = s;
            best = std::max(best, s);
        }
        T* out = p.out + i * p.ldo;
        std::fill(out, out + p.value_dim, T(0));
        if (best == minus_inf) {
            continue;
        }
        T total(0);
        for (std::size_t j = 0; j < end; ++j) {
            score[j] = score[j] == minus_inf ? T(0) : std::exp(score[j] - best);
            total += score[j];
        }
        for (std::size_t c = 0; c < p.value_dim; ++c) {
            T sum(0);
            for (std::size_t j = 0; j < end; ++j) {
                if (score[j] != T(0)) {
                    sum += score[j] * p.v[j * p.ldv + c];
                }
            }
            out[c] = sum / total;
        }
    }
}

/// AVX-512 has 32 vector registers: head sizes up to 16 keep queries and accumulators in them.
template <class Arch>
inline constexpr bool has_32_vector_registers = std::is_base_of_v<xsimd::avx512f, Arch>;

/// Scores of one key for the query block: Σ_c q_t[c]·k[c] (lanes = query rows). DK > 0 keeps
/// the query columns in registers; DK == 0 is the generic loop.
template <class T, class Arch, std::size_t DK>
struct key_scores {
    using batch = xsimd::batch<T, Arch>;
    batch q[DK];
    explicit key_scores(const T* q_t, std::size_t) {
        constexpr std::size_t lanes = batch::size;
        for (std::size_t c = 0; c < DK; ++c) {
            q[c] = batch::load_aligned(q_t + c * lanes);
        }
    }
    EMOFUSE_ALWAYS_INLINE batch operator()(const T* key) const {
        batch s = q[0] * batch(key[0]);
        for (std::size_t c = 1; c < DK; ++c) {
            s = xsimd::fma(q[c], batch(key[c]), s);
        }
        return s;
    }
};

template <class T, class Arch>
struct key_scores<T, Arch, 0> {
    using batch = xsimd::batch<T, Arch>;
    const T* q_t;
    std::size_t dim;
    key_scores(const T* q, std::size_t d) : q_t(q), dim(d) {}
    EMOFUSE_ALWAYS_INLINE batch operator()(const T* key) const {
        constexpr std::size_t lanes = batch::size;
        batch s(T(0));
        for (std::size_t c = 0; c < dim; ++c) {
            s = xsimd::fma(batch::load_aligned(q_t + c * lanes), batch(key[c]), s);
        }
        return s;
    }
};

/// acc[c] += Σ_j p[j]·v[j, c] for C value columns starting at `col` (lanes = query rows);
/// keys whose flag in `skip` is set are not read.
template <class T, class Arch, std::size_t C>
void accumulate_values(const T* p, std::size_t count, const T* v, std::size_t ldv,
                       const std::uint8_t* skip, T* acc) {
    using batch = xsimd::batch<T, Arch>;
    constexpr std::size_t lanes = batch::size;
    batch sums[C];
    for (std::size_t c = 0; c < C; ++c) {
        sums[c] = batch::load_aligned(acc + c * lanes);
    }
    for (std::size_t j = 0; j < count; ++j) {
        if (skip && skip[j] == 0) {
            continue;
        }
        const batch w = batch::load_aligned(p + j * lanes);
        const T* value = v + j * ldv;
        for (std::size_t c = 0; c < C; ++c) {
            sums[c] = xsimd::fma(w, batch(value[c]), sums[c]);
        }
    }
    for (std::size_t c = 0; c < C; ++c) {
        sums[c].store_aligned(acc + c * lanes);
    }
}

template <class T, class Arch>
void accumulate_values_any(const T* p, std::size_t count, const T* v, std::size_t ldv,
                           std::size_t value_dim, const std::uint8_t* skip, T* acc) {
    constexpr std::size_t lanes = xsimd::batch<T, Arch>::size;
    constexpr std::size_t chunk = 8;
    std::size_t c = 0;
    for (; c + chunk <= value_dim; c += chunk) {
        accumulate_values<T, Arch, chunk>(p, count, v + c, ldv, skip, acc + c * lanes);
    }
    T* a = acc + c * lanes;
    const T* vc = v + c;
    switch (value_dim - c) {
    case 7:
        accumulate_values<T, Arch, 7>(p, count, vc, ldv, skip, a);
        break;
    case 6:
        accumulate_values<T, Arch, 6>(p, count, vc, ldv, skip, a);
        break;
    case 5:
        accumulate_values<T, Arch, 5>(p, count, vc, ldv, skip, a);
        break;
    case 4:
        accumulate_values<T, Arch, 4>(p, count, vc, ldv, skip, a);
        break;
    case 3:
        accumulate_values<T, Arch, 3>(p, count, vc, ldv, skip, a);
        break;
    case 2:
        accumulate_values<T, Arch, 2>(p, count, vc, ldv, skip, a);
        break;
    case 1:
        accumulate_values<T, Arch, 1>(p, count, vc, ldv, skip, a);
        break;
    default:
        break;
    }
}

/// Σ_j p_j and acc[c] += Σ_j p_j·v[j, c] with p_j = exp(score_j − shift), for D = value_dim
/// columns held in registers (one pass, p never stored). Keys flagged invalid are skipped.
template <class T, class Arch, std::size_t D>
xsimd::batch<T, Arch> exp_accumulate_fused(const T* score, std::size_t count,
                                           const xsimd::batch<T, Arch>& shift, const T* v,
                                           std::size_t ldv, const std::uint8_t* valid, T* acc) {
    using batch = xsimd::batch<T, Arch>;
    constexpr std::size_t lanes = batch::size;
    batch sums[D];
    for (std::size_t c = 0; c < D; ++c) {
        sums[c] = batch::load_aligned(acc + c * lanes);
    }
    batch total(T(0));
    for (std::size_t j = 0; j < count; ++j) {
        if (valid && valid[j] == 0) {
            continue;
        }
        const batch e = xsimd::exp(batch::load_aligned(score + j * lanes) - shift);
        total += e;
        const T* value = v + j * ldv;
        for (std::size_t c = 0; c < D; ++c) {
            sums[c] = xsimd::fma(e, batch(value[c]), sums[c]);
        }
    }
    for (std::size_t c = 0; c < D; ++c) {
        sums[c].store_aligned(acc + c * lanes);
    }
    return total;
}

/// The streaming softmax over the query rows of one block (one row per SIMD lane).
/// DK = D > 0 when key_dim = value_dim = D ∈ {1..8, 12, 16}: registers hold the queries and
/// the accumulator (12 and 16 with AVX-512 only). DK = 0 is the generic path.
template <class T, class Arch, std::size_t DK>
void attend_query_block(const head_problem<T>& p, const key_rule<T>& rule, std::size_t i0,
                        std::size_t rows, T* scratch) {
    using batch = xsimd::batch<T, Arch>;
    constexpr std::size_t lanes = batch::size;
    constexpr T minus_inf = -std::numeric_limits<T>::infinity();
    const std::size_t key_dim = p.key_dim;
    const std::size_t value_dim = p.value_dim;
    T* q_t = scratch;                     // key_dim × lanes
    T* score = q_t + key_dim * lanes;     // key_block × lanes
    T* acc = score + key_block * lanes;   // value_dim × lanes
    T* row_max = acc + value_dim * lanes; // lanes
    T* row_sum = row_max + lanes;         // lanes
    // Locals, so that stores to the score block cannot be taken to change them.
    const T* keys = p.k;
    const std::size_t ldk = p.ldk;
    const T* additive = rule.additive;
    const std::size_t ld_additive = rule.ld_additive;
    const bool limit_future = rule.limit_future;
    const std::size_t diagonal = rule.diagonal;

    // Queries of the block, feature-major: lane r holds row i0 + r (missing rows are zero).
    for (std::size_t c = 0; c < key_dim; ++c) {
        for (std::size_t r = 0; r < lanes; ++r) {
            q_t[c * lanes + r] = r < rows ? p.q[(i0 + r) * p.ldq + c] : T(0);
        }
    }
    std::fill(acc, acc + value_dim * lanes, T(0));
    batch running_max(minus_inf);
    batch running_sum(T(0));
    const key_scores<T, Arch, DK> scores_of(q_t, key_dim);
    alignas(64) T row_index[lanes];
    for (std::size_t r = 0; r < lanes; ++r) {
        row_index[r] = static_cast<T>(i0 + r + diagonal);
    }
    const batch future_limit = batch::load_aligned(row_index); // key j allowed when j ≤ i + diag
    const std::size_t block_end = rule.key_end(i0 + rows - 1);

    for (std::size_t j0 = 0; j0 < block_end; j0 += key_block) {
        const std::size_t count = std::min(key_block, block_end - j0);
        const std::uint8_t* valid = rule.key_valid ? rule.key_valid + j0 : nullptr;
        // Scores q·k of every key of the block (masked keys are computed, then replaced).
        batch block_max(minus_inf);
        {
            const T* key = keys + j0 * ldk;
            T* out = score;
            for (std::size_t j = 0; j < count; ++j, key += ldk, out += lanes) {
                const batch s = scores_of(key);
                s.store_aligned(out);
                block_max = xsimd::max(block_max, s);
            }
        }
        const bool future_in_block = limit_future && j0 + count > i0 + diagonal + 1;
        if (valid || additive || future_in_block) {
            block_max = batch(minus_inf);
            for (std::size_t j = 0; j < count; ++j) {
                const std::size_t key = j0 + j;
                batch s = batch::load_aligned(score + j * lanes);
                if (valid && valid[j] == 0) {
                    s = batch(minus_inf);
                } else {
                    if (additive) {
                        alignas(64) T add[lanes];
                        for (std::size_t r = 0; r < lanes; ++r) {
                            add[r] = r < rows ? additive[(i0 + r) * ld_additive + key] : T(0);
                        }
                        s += batch::load_aligned(add);
                    }
                    if (future_in_block) {
                        s = xsimd::select(batch(static_cast<T>(key)) > future_limit,
                                          batch(minus_inf), s);
                    }
                }
                s.store_aligned(score + j * lanes);
                block_max = xsimd::max(block_max, s);
            }
        }
        const batch new_max = xsimd::max(running_max, block_max);
        // Rows that have seen no allowed key keep max −inf: shift by 0 so exp gives 0, not NaN.
        const batch shift = xsimd::select(new_max == batch(minus_inf), batch(T(0)), new_max);
        const batch rescale = xsimd::exp(running_max - shift);
        running_sum *= rescale;
        for (std::size_t c = 0; c < value_dim; ++c) {
            (batch::load_aligned(acc + c * lanes) * rescale).store_aligned(acc + c * lanes);
        }
        running_max = new_max;
        const T* values = p.v + j0 * p.ldv;
        if constexpr (DK > 0) {
            running_sum +=
                exp_accumulate_fused<T, Arch, DK>(score, count, shift, values, p.ldv, valid, acc);
        } else {
            batch sum(T(0));
            for (std::size_t j = 0; j < count; ++j) {
                const batch e = xsimd::exp(batch::load_aligned(score + j * lanes) - shift);
                e.store_aligned(score + j * lanes);
                sum += e;
            }
            running_sum += sum;
            accumulate_values_any<T, Arch>(score, count, values, p.ldv, value_dim, valid, acc);
        }
    }
    running_max.store_aligned(row_max);
    running_sum.store_aligned(row_sum);
    for (std::size_t r = 0; r < rows; ++r) {
        T* out = p.out + (i0 + r) * p.ldo;
        if (row_max[r] == minus_inf) {
            std::fill(out, out + value_dim, T(0)); // no allowed key: zeros, never NaN
            continue;
        }
        const T inverse = T(1) / row_sum[r];
        for (std::size_t c = 0; c < value_dim; ++c) {
            out[c] = acc[c * lanes + r] * inverse;
        }
    }
}

template <class T, class Arch, std::size_t DK>
void attend_blocks(const head_problem<T>& p, const key_rule<T>& rule, T* scratch) {
    constexpr std::size_t lanes = xsimd::batch<T, Arch>::size;
    for (std::size_t i0 = 0; i0 < p.query_time; i0 += lanes) {
        attend_query_block<T, Arch, DK>(p, rule, i0, std::min(lanes, p.query_time - i0), scratch);
    }
}

/// Streaming-softmax attention for one (sample, head) problem. SIMD lanes hold consecutive
/// query rows; keys are visited in blocks, and per block each row updates its running max m,
/// sum l and accumulator (rescaled by exp(m_old − m_new)), so no T_q×T_k score matrix exists
/// and no horizontal reduction is needed. Keys at or past rule.key_count, and keys flagged
/// invalid, are never read. `scratch` holds attend_scratch_size(key_dim, value_dim) elements,
/// 64-byte aligned.
template <class T, class Arch = simd_arch>
void attend_head(const head_problem<T>& p, const key_rule<T>& rule, T* scratch) {
    switch (p.key_dim == p.value_dim ? p.key_dim : 0) {
    case 1:
        attend_blocks<T, Arch, 1>(p, rule, scratch);
        break;
    case 2:
        attend_blocks<T, Arch, 2>(p, rule, scratch);
        break;
    case 3:
        attend_blocks<T, Arch, 3>(p, rule, scratch);
        break;
    case 4:
        attend_blocks<T, Arch, 4>(p, rule, scratch);
        break;
    case 5:
        attend_blocks<T, Arch, 5>(p, rule, scratch);
        break;
    case 6:
        attend_blocks<T, Arch, 6>(p, rule, scratch);
        break;
    case 7:
        attend_blocks<T, Arch, 7>(p, rule, scratch);
        break;
    case 8:
        attend_blocks<T, Arch, 8>(p, rule, scratch);
        break;
    case 12: // MulT's memory layers: 2·30 features over 5 heads
        if constexpr (has_32_vector_registers<Arch>) {
            attend_blocks<T, Arch, 12>(p, rule, scratch);
        } else {
            attend_blocks<T, Arch, 0>(p, rule, scratch);
        }
        break;
    case 16:
        if constexpr (has_32_vector_registers<Arch>) {
            attend_blocks<T, Arch, 16>(p, rule, scratch);
        } else {
            attend_blocks<T, Arch, 0>(p, rule, scratch);
        }
        break;
    default:
        attend_blocks<T, Arch, 0>(p, rule, scratch);
        break;
    }
}

} // namespace emofuse::attention::detail

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
