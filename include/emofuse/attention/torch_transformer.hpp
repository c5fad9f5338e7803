// emofuse/attention/torch_transformer.hpp — PyTorch's own nn.TransformerEncoderLayer and
// nn.TransformerEncoder (post-LN or norm_first, any activation, key padding and attention
// masks), in inference, with torch's parameter names (loaders in load.hpp).
#pragma once

#include "emofuse/attention/mask.hpp"
#include "emofuse/attention/multi_head.hpp"
#include "emofuse/config.hpp"
#include "emofuse/core/concepts.hpp"
#include "emofuse/core/error.hpp"
#include "emofuse/core/sequence.hpp"
#include "emofuse/kernels/epilogue.hpp"
#include "emofuse/kernels/workspace.hpp"
#include "emofuse/layers/dense.hpp"
#include "emofuse/layers/layer_norm.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace emofuse::attention {

/// The constructor arguments of nn.TransformerEncoderLayer that state dicts do not store
/// (dropout is the identity in inference; batch_first is the `layout` of each call).
struct torch_encoder_options {
    /// norm_first=True: x + SA(LN₁(x)), then x + FF(LN₂(x)) (pre-LN); false is torch's post-LN
    /// LN₁(x + SA(x)), then LN₂(x + FF(x)).
    bool norm_first;
    /// `activation` between linear1 and linear2: torch's "relu" or "gelu" (exact erf form);
    /// a callable such as torch.tanh maps to the other layers::activation values.
    layers::activation activation;
    /// layer_norm_eps of norm1 and norm2.
    double layer_norm_eps;
    /// eps of the optional final `norm` of nn.TransformerEncoder (its own nn.LayerNorm).
    double final_norm_eps;

    /// nn.TransformerEncoderLayer's defaults: post-LN, ReLU, eps 1e-5 (and an nn.LayerNorm
    /// with its default eps as the final norm).
    [[nodiscard]] static constexpr torch_encoder_options pytorch() {
        return {false, layers::activation::relu, 1e-5, 1e-5};
    }
};

/// torch's src_key_padding_mask (batch, T), non-zero = padded key (True, as torch), as an
/// attention_mask.
template <class T>
[[nodiscard]] attention_mask<T>
from_key_padding_mask(const xt::xtensor<std::uint8_t, 2>& src_key_padding_mask) {
    attention_mask<T> mask;
    mask.key_valid = xt::xtensor<std::uint8_t, 2>(src_key_padding_mask.shape());
    for (std::size_t i = 0; i < src_key_padding_mask.size(); ++i) {
        mask.key_valid.data()[i] = src_key_padding_mask.data()[i] != 0 ? 0 : 1;
    }
    return mask;
}

namespace detail {

/// Scratch of the torch encoder layers of one thread (slot 0 residual sums or normalised
/// inputs, slot 1 FFN hidden units); separate from attention_workspace(), which the
/// multi-head attention they call uses, and from the GEMM's own.
[[nodiscard]] inline kernels::workspace& torch_encoder_workspace() {
    thread_local kernels::workspace ws;
    return ws;
}

} // namespace detail

/// nn.TransformerEncoderLayer in eval mode (self_attn, linear1, linear2, norm1, norm2):
///   post-LN (default): x ← LN₁(x + SA(x)),  x ← LN₂(x + W₂·act(W₁·x + b₁) + b₂)
///   norm_first:        x ← x + SA(LN₁(x)),  x ← x + W₂·act(W₁·LN₂(x) + b₁) + b₂
/// SA is multi_head_attention over the layer's own tokens, keys masked by the mask.
template <class T>
class torch_encoder_layer {
public:
    torch_encoder_layer() = default;

    /// Throws shape_error when a part's size disagrees with self_attn's embed_dim (d_model)
    /// or linear2's inputs differ from linear1's outputs (dim_feedforward).
    torch_encoder_layer(multi_head_attention<T> self_attn, layers::dense<T> linear1,
                        layers::dense<T> linear2, layers::layer_norm<T> norm1,
                        layers::layer_norm<T> norm2, torch_encoder_options options)
        : self_attn_(std::move(self_attn)), linear1_(std::move(linear1)),
          linear2_(std::move(linear2)), norm1_(std::move(norm1)), norm2_(std::move(norm2)),
          options_(options) {
        constexpr std::string_view stage = "attention::torch_encoder_layer";
        const std::size_t d = self_attn_.embed_dim();
        check_size(stage, "linear1 input features (d_model)", d, linear1_.in_features());
        check_size(stage, "linear2 input features (dim_feedforward)", linear1_.out_features(),
                   linear2_.in_features());
        check_size(stage, "linear2 output features (d_model)", d, linear2_.out_features());
        check_size(stage, "norm1 size (d_model)", d, norm1_.size());
        check_size(stage, "norm2 size (d_model)", d, norm2_.size());
    }

    [[nodiscard]] std::size_t d_model() const { return self_attn_.embed_dim(); }
    [[nodiscard]] std::size_t dim_feedforward() const { return linear1_.out_features(); }
    [[nodiscard]] const torch_encoder_options& options() const { return options_; }
    [[nodiscard]] const multi_head_attention<T>& self_attn() const { return self_attn_; }

    /// Updates x in place: batch × time tokens of d_model values in `order` (contiguous).
    /// `mask` describes the keys (lengths, frame mask, causal or additive); the mask and the
    /// sizes are checked by the attention.
    void apply(T* x, std::size_t batch, std::size_t time, const attention_mask<T>& mask,
               layout order) const {
        const std::size_t d = d_model();
        const std::size_t rows = batch * time;
        const std::size_t hidden = dim_feedforward();
        kernels::workspace& ws = detail::torch_encoder_workspace();
        T* buffer = ws.buffer<T>(0, rows * d);
        T* hidden_units = ws.buffer<T>(1, rows * hidden);
        const token_view<T> tokens{x, batch, time, d, order};
        if (options_.norm_first) {
            norm1_.apply(x, d, rows, buffer, d);
            const token_view<T> normed{buffer, batch, time, d, order};
            self_attn_.forward(normed, normed, normed, mask, x, /*accumulate=*/true);
            norm2_.apply(x, d, rows, buffer, d);
            linear1_.apply(buffer, d, rows, hidden_units, hidden, options_.activation);
            linear2_.apply(hidden_units, hidden, rows, x, d, kernels::epilogue::none,
                           /*accumulate=*/true);
            return;
        }
        // buffer = x + SA(x), x = LN₁(buffer); then the same around the feed-forward block.
        std::copy_n(x, rows * d, buffer);
        self_attn_.forward(tokens, tokens, tokens, mask, buffer, /*accumulate=*/true);
        norm1_.apply(buffer, d, rows, x, d);
        linear1_.apply(x, d, rows, hidden_units, hidden, options_.activation);
        std::copy_n(x, rows * d, buffer);
        linear2_.apply(hidden_units, hidden, rows, buffer, d, kernels::epilogue::none,
                       /*accumulate=*/true);
        norm2_.apply(buffer, d, rows, x, d);
    }

    /// The layer over x: (batch, T, d_model), or (T, batch, d_model) with
    /// layout::sequence_first (torch's batch_first=False).
    [[nodiscard]] xt::xtensor<T, 3> operator()(const xt::xtensor<T, 3>& x,
                                               const attention_mask<T>& mask = {},
                                               layout order = layout::batch_first) const {
        check_size("attention::torch_encoder_layer", "input features (d_model)", d_model(),
                   x.shape(2));
        xt::xtensor<T, 3> out = x;
        const token_view<T> view = view_of(x, order);
        apply(out.data(), view.batch, view.time, mask, order);
        return out;
    }

private:
    multi_head_attention<T> self_attn_;
    layers::dense<T> linear1_;
    layers::dense<T> linear2_;
    layers::layer_norm<T> norm1_;
    layers::layer_norm<T> norm2_;
    torch_encoder_options options_ = torch_encoder_options::pytorch();
};

/// nn.TransformerEncoder in eval mode: the layers in turn, then the optional final `norm`.
/// emofuse computes every query position, padded ones included, as torch's standard path
/// does; torch 1.13's "fast path" (eval, no grad, batch_first, post-LN, padding mask given,
/// even head count) runs on nested tensors and returns 0 at padded positions instead (the
/// final norm's bias when there is a norm). The values at valid positions agree; the sequence
/// form keeps the lengths, so padded positions stay marked as padding. A query whose keys are
/// all masked gets a zero attention vector (torch: NaN).
template <class T>
class torch_encoder : public modality_stage_base {
public:
    torch_encoder() = default;

    /// `norm` with size 0 (default-constructed) = no final norm. Throws value_error for no
    /// layers, shape_error when the layers' or the norm's sizes disagree.
    explicit torch_encoder(std::vector<torch_encoder_layer<T>> layers,
                           layers::layer_norm<T> norm = {})
        : layers_(std::move(layers)), norm_(std::move(norm)) {
        constexpr std::string_view stage = "attention::torch_encoder";
        if (layers_.empty()) {
            throw value_error("attention::torch_encoder: layers: expected at least one, got none");
        }
        for (std::size_t i = 0; i < layers_.size(); ++i) {
            check_size(stage, "layers." + std::to_string(i) + " d_model (layers.0's)",
                       layers_.front().d_model(), layers_[i].d_model());
        }
        if (has_norm()) {
            check_size(stage, "norm size (d_model)", d_model(), norm_.size());
        }
    }

    [[nodiscard]] std::size_t d_model() const { return layers_.front().d_model(); }
    [[nodiscard]] std::size_t layer_count() const { return layers_.size(); }
    [[nodiscard]] bool has_norm() const { return norm_.size() != 0; }
    [[nodiscard]] const std::vector<torch_encoder_layer<T>>& layers() const { return layers_; }

    /// The encoder over x: (batch, T, d_model), or (T, batch, d_model) with
    /// layout::sequence_first (torch's batch_first=False). torch's src_key_padding_mask is
    /// from_key_padding_mask(m) (or key_lengths); its `mask` is future_mask::causal for
    /// generate_square_subsequent_mask, else `additive` (1, T, T) (−inf where a bool mask is
    /// True) or (batch·nhead, T, T).
    [[nodiscard]] xt::xtensor<T, 3> operator()(const xt::xtensor<T, 3>& x,
                                               const attention_mask<T>& mask = {},
                                               layout order = layout::batch_first) const {
        check_size("attention::torch_encoder", "input features (d_model)", d_model(), x.shape(2));
        xt::xtensor<T, 3> out = x;
        const token_view<T> view = view_of(x, order);
        for (const auto& layer : layers_) {
            layer.apply(out.data(), view.batch, view.time, mask, order);
        }
        if (has_norm()) {
            norm_.apply(out.data(), d_model(), view.batch * view.time, out.data(), d_model());
        }
        return out;
    }

    /// Per-modality stage: keys masked by the sequence's lengths and frame mask; the result
    /// keeps them.
    [[nodiscard]] sequence<T> operator()(const sequence<T>& x) const {
        auto values = (*this)(x.values(), key_padding_of(x));
        if (x.has_frame_mask()) {
            return sequence<T>(std::move(values), x.lengths(), x.frame_mask());
        }
        return sequence<T>(std::move(values), x.lengths());
    }

private:
    std::vector<torch_encoder_layer<T>> layers_;
    layers::layer_norm<T> norm_;
};

} // namespace emofuse::attention
