// emofuse/attention/multi_head.hpp — multi-head attention with torch.nn.MultiheadAttention's
// parameters (packed in_proj_weight/in_proj_bias, out_proj) and both tensor layouts.
#pragma once

#include "emofuse/attention/detail/attend.hpp"
#include "emofuse/attention/mask.hpp"
#include "emofuse/attention/scaled_dot_product.hpp"
#include "emofuse/config.hpp"
#include "emofuse/core/error.hpp"
#include "emofuse/kernels/gemm.hpp"
#include "emofuse/kernels/packed_operand.hpp"

#include <cmath>
#include <cstddef>
#include <string_view>
#include <utility>

namespace emofuse::attention {

/// How a (…, features) tensor orders its first two axes.
enum class layout {
    batch_first,    ///< (batch, time, features) — emofuse's sequences, torch batch_first=True
    sequence_first, ///< (time, batch, features) — torch's default, fairseq and MulT
};

/// A read-only view of tokens: `batch × time` rows of `features` values in either layout.
template <class T>
struct token_view {
    const T* data = nullptr;
    std::size_t batch = 0;
    std::size_t time = 0;
    std::size_t features = 0;
    layout order = layout::batch_first;

    /// Elements between time steps t and t+1 of one sample.
    [[nodiscard]] std::size_t time_stride() const {
        return order == layout::batch_first ? features : batch * features;
    }
    /// Offset of sample b's first time step.
    [[nodiscard]] std::size_t sample_offset(std::size_t b) const {
        return order == layout::batch_first ? b * time * features : b * features;
    }
};

/// A view of a rank-3 tensor in the given layout.
template <class T>
[[nodiscard]] token_view<T> view_of(const xt::xtensor<T, 3>& x, layout order) {
    return order == layout::batch_first
               ? token_view<T>{x.data(), x.shape(0), x.shape(1), x.shape(2), order}
               : token_view<T>{x.data(), x.shape(1), x.shape(0), x.shape(2), order};
}

/// torch.nn.MultiheadAttention (kdim = vdim = embed_dim, no bias_k/bias_v, no zero attention,
/// eval mode): q, k, v = split(in_proj), per head softmax(q_h·k_hᵀ/√d_h + mask)·v_h, concat,
/// out_proj. A query row whose keys are all masked gets a zero attention vector, so its output
/// is out_proj.bias (torch gives NaN there).
template <class T>
class multi_head_attention {
public:
    multi_head_attention() = default;

    /// in_proj_weight (3·d, d) and out_proj_weight (d, d) in PyTorch's (out, in) layout; the
    /// biases are (3·d) and (d), or empty for bias=False. Throws shape_error when d is not a
    /// multiple of `heads` or a shape disagrees.
    multi_head_attention(std::size_t heads, xt::xtensor<T, 2> in_proj_weight,
                         xt::xtensor<T, 1> in_proj_bias, xt::xtensor<T, 2> out_proj_weight,
                         xt::xtensor<T, 1> out_proj_bias)
        : heads_(heads), in_weight_(std::move(in_proj_weight)), in_bias_(std::move(in_proj_bias)),
          out_weight_(std::move(out_proj_weight)), out_bias_(std::move(out_proj_bias)) {
        constexpr std::string_view stage = "attention::multi_head_attention";
        embed_dim_ = out_weight_.shape(0);
        if (heads_ == 0) {
            throw value_error("attention::multi_head_attention: heads: expected at least 1, got 0");
        }
        if (embed_dim_ == 0 || embed_dim_ % heads_ != 0) {
            throw shape_error(emofuse::detail::concat_message(
                stage, ": embed_dim ", embed_dim_, " must be a positive multiple of heads (",
                heads_, ")"));
        }
        check_size(stage, "out_proj.weight columns (embed_dim)", embed_dim_, out_weight_.shape(1));
        check_size(stage, "in_proj_weight rows (3·embed_dim)", 3 * embed_dim_, in_weight_.shape(0));
        check_size(stage, "in_proj_weight columns (embed_dim)", embed_dim_, in_weight_.shape(1));
        if (in_bias_.size() != 0) {
            check_size(stage, "in_proj_bias size (3·embed_dim)", 3 * embed_dim_, in_bias_.size());
        }
        if (out_bias_.size() != 0) {
            check_size(stage, "out_proj.bias size (embed_dim)", embed_dim_, out_bias_.size());
        }
        // torch scales q after its bias: (x·W_qᵀ + b_q)/√d_h = x·W_qᵀ/√d_h + b_q/√d_h.
        scale_ = T(1) / std::sqrt(static_cast<T>(head_dim()));
        scaled_query_bias_ = xt::xtensor<T, 1>::from_shape({embed_dim_});
        for (std::size_t i = 0; i < embed_dim_; ++i) {
            scaled_query_bias_(i) = in_bias_.size() != 0 ? in_bias_(i) * scale_ : T(0);
        }
        pack();
    }

    // Copies re-pack from the weights (the packed panels follow the SIMD architecture of the
    // translation unit, like layers::dense's).
    multi_head_attention(const multi_head_attention& other)
        : heads_(other.heads_), embed_dim_(other.embed_dim_), in_weight_(other.in_weight_),
          in_bias_(other.in_bias_), out_weight_(other.out_weight_), out_bias_(other.out_bias_),
          scaled_query_bias_(other.scaled_query_bias_), scale_(other.scale_) {
        pack();
    }
    multi_head_attention& operator=(const multi_head_attention& other) {
        if (this != &other) {
            *this = multi_head_attention(other);
        }
        return *this;
    }
    multi_head_attention(multi_head_attention&&) noexcept = default;
    multi_head_attention& operator=(multi_head_attention&&) noexcept = default;
    ~multi_head_attention() = default;

    [[nodiscard]] std::size_t embed_dim() const { return embed_dim_; }
    [[nodiscard]] std::size_t heads() const { return heads_; }
    [[nodiscard]] std::size_t head_dim() const { return embed_dim_ / heads_; }
    [[nodiscard]] const xt::xtensor<T, 2>& in_proj_weight() const { return in_weight_; }
    [[nodiscard]] const xt::xtensor<T, 1>& in_proj_bias() const { return in_bias_; }
    [[nodiscard]] const xt::xtensor<T, 2>& out_proj_weight() const { return out_weight_; }
    [[nodiscard]] const xt::xtensor<T, 1>& out_proj_bias() const { return out_bias_; }

    /// Attention of `query` over `key`/`value` (cross-attention; pass the same tensor three
    /// times for self-attention). Shapes (batch, T, d) or, sequence-first, (T, batch, d); key
    /// and value share T_k, which may differ from T_q. Returns the query's shape.
    [[nodiscard]] xt::xtensor<T, 3> operator()(const xt::xtensor<T, 3>& query,
                                               const xt::xtensor<T, 3>& key,
                                               const xt::xtensor<T, 3>& value,
                                               const attention_mask<T>& mask = {},
                                               layout order = layout::batch_first) const {
        xt::xtensor<T, 3> out(query.shape());
        forward(view_of(query, order), view_of(key, order), view_of(value, order), mask,
                out.data());
        return out;
    }

    /// Self-attention: query = key = value = x.
    [[nodiscard]] xt::xtensor<T, 3> operator()(const xt::xtensor<T, 3>& x,
                                               const attention_mask<T>& mask = {},
                                               layout order = layout::batch_first) const {
        return (*this)(x, x, x, mask, order);
    }

    /// The raw form: writes query-shaped output (same layout as `query`) to `out`, which must
    /// not alias the inputs; with `accumulate` the result is added to what `out` holds (a
    /// fused residual). When key and value view the same data, their projections run as one
    /// GEMM. Every token is projected, padding included; padding keys are never read after.
    void forward(const token_view<T>& query, const token_view<T>& key, const token_view<T>& value,
                 const attention_mask<T>& mask, T* out, bool accumulate = false) const {
        constexpr std::string_view stage = "attention::multi_head_attention";
        const std::size_t d = embed_dim_;
        check_size(stage, "query features (embed_dim)", d, query.features);
        check_size(stage, "key features (embed_dim)", d, key.features);
        check_size(stage, "value features (embed_dim)", d, value.features);
        check_size(stage, "key batch (= query batch)", query.batch, key.batch);
        check_size(stage, "value batch (= query batch)", query.batch, value.batch);
        check_size(stage, "value time steps (= key time steps)", key.time, value.time);
        if (key.order != value.order || key.order != query.order) {
            throw shape_error("attention::multi_head_attention: query, key and value must share "
                              "one layout");
        }
        const std::size_t batch = query.batch;
        const std::size_t tq = query.time;
        const std::size_t tk = key.time;
        detail::check_mask(stage, mask, batch, heads_, tq, tk);
        const std::size_t rows = batch * tq;
        if (rows == 0) {
            return;
        }
        const std::size_t dh = head_dim();
        const bool shared_kv = key.data == value.data;
        const std::size_t key_rows = batch * tk;

        kernels::workspace& ws = detail::attention_workspace();
        T* scratch = ws.buffer<T>(0, detail::attend_scratch_size<T>(dh, dh));
        T* kv = ws.buffer<T>(1, key_rows * 2 * d);
        T* q = ws.buffer<T>(2, rows * d);
        T* heads_out = ws.buffer<T>(3, rows * d);
        const T* bias = in_bias_.size() != 0 ? in_bias_.data() : nullptr;

        // Q = (x·W_qᵀ + b_q)/√d_h, K|V = x·W_{k|v}ᵀ + b_{k|v}, every token in storage order,
        // with the weights packed at construction.
        kernels::gemm(kernels::transpose::no, rows, scale_, query.data, d, packed_query_, T(0), q,
                      d, kernels::fused_epilogue<T>{scaled_query_bias_.data()});
        if (shared_kv) {
            kernels::gemm(kernels::transpose::no, key_rows, T(1), key.data, d, packed_key_value_,
                          T(0), kv, 2 * d, kernels::fused_epilogue<T>{bias ? bias + d : nullptr});
        } else {
            kernels::gemm(kernels::transpose::no, kernels::transpose::yes, key_rows, d, d, T(1),
                          key.data, d, in_weight_.data() + d * d, d, T(0), kv, 2 * d,
                          kernels::fused_epilogue<T>{bias ? bias + d : nullptr});
            kernels::gemm(kernels::transpose::no, kernels::transpose::yes, key_rows, d, d, T(1),
                          value.data, d, in_weight_.data() + 2 * d * d, d, T(0), kv + d, 2 * d,
                          kernels::fused_epilogue<T>{bias ? bias + 2 * d : nullptr});
        }
        // Row strides and per-sample offsets in the projected buffers (the inputs' order).
        const bool batch_first = query.order == layout::batch_first;
        const std::size_t q_ld = batch_first ? d : batch * d;
        const std::size_t kv_ld = batch_first ? 2 * d : batch * 2 * d;
        for (std::size_t b = 0; b < batch; ++b) {
            const std::size_t q_offset = batch_first ? b * tq * d : b * d;
            const std::size_t kv_offset = batch_first ? b * tk * 2 * d : b * 2 * d;
            for (std::size_t h = 0; h < heads_; ++h) {
                const detail::key_rule<T> rule =
                    detail::rule_for(mask, b, h, batch, heads_, tq, tk);
                const detail::head_problem<T> problem{tq,    dh,
                                                      dh,    q + q_offset + h * dh,
                                                      q_ld,  kv + kv_offset + h * dh,
                                                      kv_ld, kv + kv_offset + d + h * dh,
                                                      kv_ld, heads_out + q_offset + h * dh,
                                                      q_ld};
                detail::attend_head(problem, rule, scratch);
            }
        }
        kernels::gemm(
            kernels::transpose::no, rows, T(1), heads_out, d, packed_out_, accumulate ? T(1) : T(0),
            out, d, kernels::fused_epilogue<T>{out_bias_.size() != 0 ? out_bias_.data() : nullptr});
    }

private:
    /// W_q, W_k|W_v (one operand: keys and values of the same tokens are one GEMM) and
    /// out_proj, packed once for the GEMM.
    void pack() {
        const std::size_t d = embed_dim_;
        using packed = kernels::packed_operand<T>;
        packed_query_ = packed::from_linear_weight(in_weight_.data(), d, d);
        packed_key_value_ = packed::from_linear_weight(in_weight_.data() + d * d, 2 * d, d);
        packed_out_ = packed::from_linear_weight(out_weight_.data(), d, d);
    }

    std::size_t heads_ = 1;
    std::size_t embed_dim_ = 0;
    xt::xtensor<T, 2> in_weight_;
    xt::xtensor<T, 1> in_bias_;
    xt::xtensor<T, 2> out_weight_;
    xt::xtensor<T, 1> out_bias_;
    xt::xtensor<T, 1> scaled_query_bias_;
    T scale_ = T(1);
    kernels::packed_operand<T> packed_query_;
    kernels::packed_operand<T> packed_key_value_;
    kernels::packed_operand<T> packed_out_;
};

} // namespace emofuse::attention
