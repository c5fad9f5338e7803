// emofuse/attention/scaled_dot_product.hpp — softmax(Q·Kᵀ·scale + mask)·V with a streaming
// softmax (no T_q×T_k score matrix is stored), for (batch, time, features) tensors.
#pragma once

#include "emofuse/attention/detail/attend.hpp"
#include "emofuse/attention/mask.hpp"
#include "emofuse/config.hpp"
#include "emofuse/core/error.hpp"
#include "emofuse/kernels/workspace.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

namespace emofuse::attention {

namespace detail {

/// Scratch owned by the attention stages of one thread (separate from the kernels' own).
/// Slots: 0 the streaming-softmax state, 1 projected keys/values, 2 projected queries,
/// 3 per-head outputs.
[[nodiscard]] inline kernels::workspace& attention_workspace() {
    thread_local kernels::workspace ws;
    return ws;
}

// The sizes of one attention call, after checking that query, key, value and mask agree.
struct attention_sizes {
    std::size_t batch, tq, dk, tk, dv;
};

template <class T>
attention_sizes check_inputs(std::string_view stage, const xt::xtensor<T, 3>& query,
                             const xt::xtensor<T, 3>& key, const xt::xtensor<T, 3>& value,
                             const attention_mask<T>& mask) {
    const attention_sizes sizes{query.shape(0), query.shape(1), query.shape(2), key.shape(1),
                                value.shape(2)};
    check_size(stage, "key batch", sizes.batch, key.shape(0));
    check_size(stage, "value batch", sizes.batch, value.shape(0));
    check_size(stage, "key features (= query features)", sizes.dk, key.shape(2));
    check_size(stage, "value time steps (= key time steps)", sizes.tk, value.shape(1));
    check_mask(stage, mask, sizes.batch, 1, sizes.tq, sizes.tk);
    return sizes;
}

} // namespace detail

/// softmax(Q·Kᵀ·scale + mask)·V for query (batch, T_q, d_k), key (batch, T_k, d_k) and
/// value (batch, T_k, d_v); returns (batch, T_q, d_v). `scale` defaults to 1/√d_k. A query
/// row whose keys are all masked is zero. Throws shape_error on any shape mismatch.
template <class T>
[[nodiscard]] xt::xtensor<T, 3>
scaled_dot_product_attention(const xt::xtensor<T, 3>& query, const xt::xtensor<T, 3>& key,
                             const xt::xtensor<T, 3>& value, const attention_mask<T>& mask = {},
                             std::optional<T> scale = std::nullopt) {
    constexpr std::string_view stage = "attention::scaled_dot_product_attention";
    const auto [batch, tq, dk, tk, dv] = detail::check_inputs(stage, query, key, value, mask);
    const T factor = scale ? *scale : T(1) / std::sqrt(static_cast<T>(dk == 0 ? 1 : dk));

    xt::xtensor<T, 3> out({batch, tq, dv});
    kernels::workspace& ws = detail::attention_workspace();
    T* scratch = ws.buffer<T>(0, detail::attend_scratch_size<T>(dk, dv));
    T* q = ws.buffer<T>(2, tq * dk);
    for (std::size_t b = 0; b < batch; ++b) {
        const detail::key_rule<T> rule = detail::rule_for(mask, b, 0, batch, 1, tq, tk);
        const T* qb = query.data() + b * tq * dk;
        for (std::size_t i = 0; i < tq * dk; ++i) {
            q[i] = qb[i] * factor;
        }
        const detail::head_problem<T> problem{tq, dk,
                                              dv, q,
                                              dk, key.data() + b * tk * dk,
                                              dk, value.data() + b * tk * dv,
                                              dv, out.data() + b * tq * dv,
                                              dv};
        detail::attend_head(problem, rule, scratch);
    }
    return out;
}

/// Scalar reference of scaled_dot_product_attention (same contract; stores one score row at
/// a time and uses plain loops); kept for property tests.
template <class T>
[[nodiscard]] xt::xtensor<T, 3> scaled_dot_product_attention_reference(
    const xt::xtensor<T, 3>& query, const xt::xtensor<T, 3>& key, const xt::xtensor<T, 3>& value,
    const attention_mask<T>& mask = {}, std::optional<T> scale = std::nullopt) {
    constexpr std::string_view stage = "attention::scaled_dot_product_attention_reference";
    const auto [batch, tq, dk, tk, dv] = detail::check_inputs(stage, query, key, value, mask);
    const T factor = scale ? *scale : T(1) / std::sqrt(static_cast<T>(dk == 0 ? 1 : dk));
    xt::xtensor<T, 3> out({batch, tq, dv});
    std::vector<T> q(tq * dk);
    for (std::size_t b = 0; b < batch; ++b) {
        const detail::key_rule<T> rule = detail::rule_for(mask, b, 0, batch, 1, tq, tk);
        for (std::size_t i = 0; i < tq * dk; ++i) {
            q[i] = query.data()[b * tq * dk + i] * factor;
        }
        const detail::head_problem<T> problem{tq, dk,
                                              dv, q.data(),
                                              dk, key.data() + b * tk * dk,
                                              dk, value.data() + b * tk * dv,
                                              dv, out.data() + b * tq * dv,
                                              dv};
        detail::attend_head_reference(problem, rule);
    }
    return out;
}

/// Scaled dot-product attention of every head over projected rows, no mask:
///   out[b, i, h] = Σ_j softmax_j(scale · q[b, i, h]·k[b, j, h]) · v[b, j, h]
/// where q holds batch·query_time rows of heads·head_dim values (`ldq` apart), k and v
/// batch·key_time rows (`ldk`, `ldv` apart), head h in columns [h·head_dim, (h+1)·head_dim),
/// rows batch-major; out gets batch·query_time rows (`ldo` apart). q is scaled in place. For
/// models whose attention modules project q, k and v themselves (other widths, separate
/// LayerNorms, several key sources per query).
template <class T>
void attend_projected_heads(T* q, std::size_t ldq, const T* k, std::size_t ldk, const T* v,
                            std::size_t ldv, std::size_t batch, std::size_t query_time,
                            std::size_t key_time, std::size_t heads, std::size_t head_dim, T scale,
                            T* out, std::size_t ldo) {
    for (std::size_t row = 0; row < batch * query_time; ++row) {
        T* q_row = q + row * ldq;
        for (std::size_t c = 0; c < heads * head_dim; ++c) {
            q_row[c] *= scale;
        }
    }
    kernels::workspace& ws = detail::attention_workspace();
    T* scratch = ws.buffer<T>(0, detail::attend_scratch_size<T>(head_dim, head_dim));
    detail::key_rule<T> every_key;
    every_key.key_count = key_time;
    for (std::size_t b = 0; b < batch; ++b) {
        for (std::size_t h = 0; h < heads; ++h) {
            const std::size_t column = h * head_dim;
            const detail::head_problem<T> problem{query_time, head_dim,
                                                  head_dim,   q + b * query_time * ldq + column,
                                                  ldq,        k + b * key_time * ldk + column,
                                                  ldk,        v + b * key_time * ldv + column,
                                                  ldv,        out + b * query_time * ldo + column,
                                                  ldo};
            detail::attend_head(problem, every_key, scratch);
        }
    }
}

} // namespace emofuse::attention
