// emofuse/attention/mult.hpp — the Multimodal Transformer (MulT, Tsai et al. 2019) forward pass
// over unaligned text, audio and vision sequences, as a fusion stage.
#pragma once

#include "emofuse/attention/crossmodal.hpp"
#include "emofuse/core/batch.hpp"
#include "emofuse/core/concepts.hpp"
#include "emofuse/core/error.hpp"
#include "emofuse/core/modality.hpp"
#include "emofuse/core/sequence.hpp"
#include "emofuse/layers/dense.hpp"

#include <boost/hana/tuple.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace emofuse::attention {

/// What the MulT fusion stage returns.
enum class mult_output {
    prediction, ///< out_layer(proj2(ReLU(proj1(h))) + h) — MulT's `output`
    hidden, ///< h, the concatenated last steps (batch, 2·(d_l + d_a + d_v)) — MulT's `last_hs`
};

/// MulT's parameters, by role. Index order of `crossmodal`: L←A, L←V, A←L, A←V, V←L, V←A
/// (trans_l_with_a, trans_l_with_v, trans_a_with_l, trans_a_with_v, trans_v_with_l,
/// trans_v_with_a); of `memory`: L, A, V (trans_l_mem, trans_a_mem, trans_v_mem).
template <class T>
struct mult_parameters {
    /// Conv1d(k=1, bias=False) weights as (d_m, orig_d_m); empty = identity (MulT skips the
    /// projection when orig_d_m == d_m).
    std::array<layers::dense<T>, 3> projections;
    std::array<crossmodal_encoder<T>, 6> crossmodal;
    std::array<crossmodal_encoder<T>, 3> memory;
    layers::dense<T> proj1;
    layers::dense<T> proj2;
    layers::dense<T> out_layer;
};

/// The MulT forward pass (eval mode, all three modalities):
///   x̂_m = Conv1d_m(x_m) (per frame), for each target m and source n ≠ m:
///   h_{m←n} = Encoder_{m←n}(x̂_m, x̂_n) (keys masked by n's lengths), h_m = [h_{m←n₁}, h_{m←n₂}]
///   (2·d_m), h_m = Encoder_m^mem(h_m) (self-attention, keys masked by m's lengths), last_m =
///   h_m at the sample's last valid step; h = [last_l, last_a, last_v];
///   prediction = out_layer(proj2(ReLU(proj1(h))) + h).
/// With full-length sequences the last valid step is MulT's h[-1]. Requires text, audio and
/// vision in the batch (as sequences).
template <class T>
class mult_model : public fusion_stage_base {
public:
    static constexpr auto required_modalities = hana::make_tuple(text, audio, vision);

    struct result {
        features<T> prediction; ///< (batch, output_dim)
        features<T> hidden;     ///< (batch, 2·(d_l + d_a + d_v))
    };

    mult_model() = default;

    explicit mult_model(mult_parameters<T> parameters, mult_output output = mult_output::prediction)
        : p_(std::move(parameters)), output_(output) {
        constexpr std::string_view stage = "attention::mult_model";
        for (std::size_t m = 0; m < 3; ++m) {
            check_size(stage,
                       std::string(block_name(2 * m + 1)) + " embed_dim (= " +
                           std::string(block_name(2 * m)) + "'s, the target's d)",
                       p_.crossmodal[2 * m].embed_dim(), p_.crossmodal[2 * m + 1].embed_dim());
        }
        std::size_t combined = 0;
        for (std::size_t m = 0; m < 3; ++m) {
            const std::size_t d = p_.crossmodal[2 * m].embed_dim();
            check_size(stage, std::string(memory_name(m)) + " embed_dim (2·d of its target)", 2 * d,
                       p_.memory[m].embed_dim());
            if (!p_.projections[m].empty()) {
                check_size(stage, std::string(projection_name(m)) + " output features (d)", d,
                           p_.projections[m].out_features());
            }
            combined += 2 * d;
        }
        check_size(stage, "proj1 input features (2·(d_l + d_a + d_v))", combined,
                   p_.proj1.in_features());
        check_size(stage, "proj1 output features", combined, p_.proj1.out_features());
        check_size(stage, "proj2 input features", combined, p_.proj2.in_features());
        check_size(stage, "proj2 output features", combined, p_.proj2.out_features());
        check_size(stage, "out_layer input features", combined, p_.out_layer.in_features());
    }

    [[nodiscard]] const mult_parameters<T>& parameters() const { return p_; }
    [[nodiscard]] std::size_t hidden_size() const { return p_.proj1.in_features(); }

    /// Runs the model on the three sequences (batch-first, their own lengths and frame masks).
    [[nodiscard]] result forward(const sequence<T>& text_seq, const sequence<T>& audio_seq,
                                 const sequence<T>& vision_seq) const {
        constexpr std::string_view stage = "attention::mult_model";
        const std::array<const sequence<T>*, 3> inputs{&text_seq, &audio_seq, &vision_seq};
        const std::size_t batch = text_seq.batch_size();
        check_size(stage, "audio batch (= text batch)", batch, audio_seq.batch_size());
        check_size(stage, "vision batch (= text batch)", batch, vision_seq.batch_size());
        std::array<xt::xtensor<T, 3>, 3> projected;
        for (std::size_t m = 0; m < 3; ++m) {
            projected[m] = project(m, inputs[m]->values());
        }
        features<T> hidden({batch, hidden_size()});
        std::size_t column = 0;
        for (std::size_t m = 0; m < 3; ++m) {
            const std::size_t first = (m == 0) ? 1 : 0;
            const std::size_t second = (m == 2) ? 1 : 2;
            const auto h_first = p_.crossmodal[2 * m](projected[m], projected[first],
                                                      key_padding_of(*inputs[first]));
            const auto h_second = p_.crossmodal[2 * m + 1](projected[m], projected[second],
                                                           key_padding_of(*inputs[second]));
            const auto joined = concat_features(h_first, h_second);
            const auto h = p_.memory[m](joined, key_padding_of(*inputs[m]));
            const std::size_t width = h.shape(2);
            for (std::size_t b = 0; b < batch; ++b) {
                const std::size_t last = last_valid_step(*inputs[m], b);
                T* dst = hidden.data() + b * hidden_size() + column;
                if (last == no_step) {
                    std::fill(dst, dst + width, T(0));
                } else {
                    const T* src = h.data() + (b * h.shape(1) + last) * width;
                    std::copy(src, src + width, dst);
                }
            }
            column += width;
        }
        result out;
        features<T> inner({batch, hidden_size()});
        p_.proj1.apply(hidden.data(), hidden_size(), batch, inner.data(), hidden_size(),
                       kernels::epilogue::relu);
        features<T> residual = hidden;
        p_.proj2.apply(inner.data(), hidden_size(), batch, residual.data(), hidden_size(),
                       kernels::epilogue::none, /*accumulate=*/true);
        out.prediction = features<T>({batch, p_.out_layer.out_features()});
        p_.out_layer.apply(residual.data(), hidden_size(), batch, out.prediction.data(),
                           p_.out_layer.out_features());
        out.hidden = std::move(hidden);
        return out;
    }

    /// Fusion stage: reads text, audio and vision sequences from the batch and returns the
    /// prediction or the hidden vector (see mult_output).
    template <batch_type Batch>
    [[nodiscard]] features<T> operator()(const Batch& batch) const {
        const auto& l = entry_of(batch[text]);
        const auto& a = entry_of(batch[audio]);
        const auto& v = entry_of(batch[vision]);
        static_assert(std::is_same_v<std::remove_cvref_t<decltype(l)>, sequence<T>> &&
                          std::is_same_v<std::remove_cvref_t<decltype(a)>, sequence<T>> &&
                          std::is_same_v<std::remove_cvref_t<decltype(v)>, sequence<T>>,
                      "attention::mult_model fuses unaligned sequences: text, audio and vision "
                      "must be emofuse::sequence<T> of the model's element type (do not pool "
                      "them first)");
        auto r = forward(l, a, v);
        return output_ == mult_output::prediction ? std::move(r.prediction) : std::move(r.hidden);
    }

private:
    static constexpr std::size_t no_step = static_cast<std::size_t>(-1);

    static std::string_view block_name(std::size_t i) {
        constexpr std::array<std::string_view, 6> names{"trans_l_with_a", "trans_l_with_v",
                                                        "trans_a_with_l", "trans_a_with_v",
                                                        "trans_v_with_l", "trans_v_with_a"};
        return names[i];
    }
    static std::string_view memory_name(std::size_t m) {
        constexpr std::array<std::string_view, 3> names{"trans_l_mem", "trans_a_mem",
                                                        "trans_v_mem"};
        return names[m];
    }
    static std::string_view projection_name(std::size_t m) {
        constexpr std::array<std::string_view, 3> names{"proj_l", "proj_a", "proj_v"};
        return names[m];
    }

    static std::size_t last_valid_step(const sequence<T>& s, std::size_t b) {
        for (std::size_t t = s.length(b); t > 0; --t) {
            if (s.valid(b, t - 1)) {
                return t - 1;
            }
        }
        return no_step;
    }

    xt::xtensor<T, 3> project(std::size_t m, const xt::xtensor<T, 3>& x) const {
        const layers::dense<T>& proj = p_.projections[m];
        const std::size_t d = p_.crossmodal[2 * m].embed_dim();
        if (proj.empty()) {
            check_size("attention::mult_model",
                       std::string(projection_name(m)) + " input features (no projection: d)", d,
                       x.shape(2));
            return x;
        }
        check_size("attention::mult_model",
                   std::string(projection_name(m)) + " input features (orig_d)", proj.in_features(),
                   x.shape(2));
        xt::xtensor<T, 3> out({x.shape(0), x.shape(1), d});
        proj.apply(x.data(), x.shape(2), x.shape(0) * x.shape(1), out.data(), d);
        return out;
    }

    static xt::xtensor<T, 3> concat_features(const xt::xtensor<T, 3>& a,
                                             const xt::xtensor<T, 3>& b) {
        const std::size_t rows = a.shape(0) * a.shape(1);
        const std::size_t da = a.shape(2);
        const std::size_t db = b.shape(2);
        xt::xtensor<T, 3> out({a.shape(0), a.shape(1), da + db});
        for (std::size_t r = 0; r < rows; ++r) {
            std::copy_n(a.data() + r * da, da, out.data() + r * (da + db));
            std::copy_n(b.data() + r * db, db, out.data() + r * (da + db) + da);
        }
        return out;
    }

    mult_parameters<T> p_;
    mult_output output_ = mult_output::prediction;
};

} // namespace emofuse::attention
