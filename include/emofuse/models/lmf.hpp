// emofuse/models/lmf.hpp — MMSA's LMF (src/MMSA/models/singleTask/LMF.py), loaded from the
// state dict MMSA saves.
#pragma once

#include <emofuse/config.hpp>
#include <emofuse/core/batch.hpp>
#include <emofuse/core/error.hpp>
#include <emofuse/core/modality.hpp>
#include <emofuse/fusion/low_rank_fusion.hpp>
#include <emofuse/models/mmsa_config.hpp>
#include <emofuse/models/mmsa_inputs.hpp>
#include <emofuse/models/mmsa_model.hpp>
#include <emofuse/models/mmsa_subnets.hpp>

#include <array>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace emofuse::models {

namespace detail {

/// LMF's fusion as MMSA stores it: audio_factor (rank, audio_hidden + 1, out), video_factor,
/// text_factor (rank, text_out + 1, out), fusion_weights (1, rank), fusion_bias (1, out) —
/// exactly fusion::low_rank_fusion's layout in batch order (audio, video, text).
template <class T, class StateDict>
fusion::low_rank_fusion<T> load_lmf_fusion(const StateDict& sd, const std::string& prefix,
                                           std::size_t rank, std::size_t audio_hidden,
                                           std::size_t video_hidden, std::size_t text_out,
                                           std::size_t out) {
    std::vector<xt::xtensor<T, 3>> factors;
    const std::array<std::pair<const char*, std::size_t>, 3> sizes{{{"audio_factor", audio_hidden},
                                                                    {"video_factor", video_hidden},
                                                                    {"text_factor", text_out}}};
    for (const auto& [name, size] : sizes) {
        factors.push_back(sd.template tensor<T, 3>(
            prefix + name, std::array<std::size_t, 3>{rank, size + 1, out}));
    }
    return fusion::low_rank_fusion<T>(
        std::move(factors),
        sd.template tensor<T, 2>(prefix + "fusion_weights", std::array<std::size_t, 2>{1, rank}),
        sd.template tensor<T, 2>(prefix + "fusion_bias", std::array<std::size_t, 2>{1, out}));
}

/// MMSA's Feature_f of LMF: fusion_zy (B, rank, out) = Π_m [1; h_m]·W_m[r], returned as
/// (B, rank·out) with out fastest (MMSA squeezes it to (B, rank) when out = 1).
template <class T>
xt::xtensor<T, 2> lmf_fused_factors(const fusion::low_rank_fusion<T>& fusion,
                                    const mmsa_subnet_features<T>& h) {
    const std::array<const xt::xtensor<T, 2>*, 3> inputs{&h.audio, &h.video, &h.text};
    const std::size_t rows = h.audio.shape(0), rank = fusion.rank(), out = fusion.outputs();
    xt::xtensor<T, 2> product = xt::ones<T>({rows, rank * out});
    for (std::size_t m = 0; m < 3; ++m) {
        const auto& factor = fusion.factors()[m];
        const auto& x = *inputs[m];
        for (std::size_t b = 0; b < rows; ++b) {
            for (std::size_t r = 0; r < rank; ++r) {
                for (std::size_t o = 0; o < out; ++o) {
                    T sum = factor(r, 0, o);
                    for (std::size_t i = 0; i < x.shape(1); ++i) {
                        sum += x(b, i) * factor(r, i + 1, o);
                    }
                    product(b, r * out + o) *= sum;
                }
            }
        }
    }
    return product;
}

/// The (audio, video, text) batch MMSA's LMF fuses, without copying the features.
template <class T>
auto lmf_fusion_batch(const mmsa_subnet_features<T>& h) {
    return make_batch(audio(std::cref(h.audio)), vision(std::cref(h.video)),
                      text(std::cref(h.text)));
}

} // namespace detail

/// MMSA's LMF: the sub-networks of TFN (text output size text_hidden / 2, MMSA's choice), then
/// low-rank fusion: f_m = [1; h_m]·W_m per rank, Z = f_audio ⊙ f_video ⊙ f_text,
/// M = fusion_weights·Z + fusion_bias. No activation or range mapping in either train mode.
template <class T>
class lmf {
public:
    /// Builds MMSA's LMF for `config` (feature_dims, hidden_dims, rank, num_classes in
    /// classification) and loads `<prefix>...` tensors. Every shape is checked; missing tensors
    /// and tensors under `prefix` the model does not use are errors naming them.
    template <class StateDict>
    static lmf load(const mmsa_config& config, const StateDict& sd,
                    std::string_view prefix = "Model.") {
        const tracking_state_dict<StateDict> tracked(sd);
        const std::string at(prefix);
        const auto hidden = config.sizes("hidden_dims", 3);
        const std::size_t text_out = hidden[0] / 2;
        auto front = mmsa_subnet_front<T>::load(config, tracked, at, "lmf", text_out);
        auto fusion = detail::load_lmf_fusion<T>(tracked, at, config.size("rank"), hidden[1],
                                                 hidden[2], text_out, config.output_dim());
        tracked.require_all_read(at, "lmf");
        return lmf(std::move(front), std::move(fusion));
    }

    /// MMSA's forward on prepared inputs (prepare_mmsa_inputs): {"M": (B, output_dim)}.
    [[nodiscard]] mmsa_outputs<T> forward(const mmsa_batch<T>& inputs) const {
        return run(inputs, false);
    }

    /// forward, plus Feature_t, Feature_a, Feature_v (the sub-network outputs) and Feature_f,
    /// MMSA's fusion_zy as (B, rank·output_dim).
    [[nodiscard]] mmsa_outputs<T> forward_with_features(const mmsa_batch<T>& inputs) const {
        return run(inputs, true);
    }

    [[nodiscard]] std::size_t output_dim() const { return fusion_.outputs(); }

private:
    lmf(mmsa_subnet_front<T> front, fusion::low_rank_fusion<T> fusion)
        : front_(std::move(front)), fusion_(std::move(fusion)) {}

    mmsa_outputs<T> run(const mmsa_batch<T>& inputs, bool with_features) const {
        const auto h = front_(inputs);
        mmsa_outputs<T> outputs;
        outputs.emplace("M", fusion_(detail::lmf_fusion_batch(h)));
        if (with_features) {
            outputs.emplace("Feature_f", detail::lmf_fused_factors(fusion_, h));
            outputs.emplace("Feature_t", h.text);
            outputs.emplace("Feature_a", h.audio);
            outputs.emplace("Feature_v", h.video);
        }
        return outputs;
    }

    mmsa_subnet_front<T> front_;
    fusion::low_rank_fusion<T> fusion_;
};

} // namespace emofuse::models
