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

/// The network for "M" of LMF and MLMF (mmsa_subnet_model's Network): low-rank fusion
/// f_m = [1; h_m]·W_m per rank, Z = f_audio ⊙ f_video ⊙ f_text, M = fusion_weights·Z +
/// fusion_bias, with a text sub-network of output size text_hidden / 2 (MMSA's choice).
/// Feature_f is MMSA's fusion_zy as (B, rank·output_dim).
template <class T>
class lmf_network {
public:
    static std::size_t text_out(const mmsa_config& config) {
        return config.sizes("hidden_dims", 3)[0] / 2;
    }

    template <class StateDict>
    static lmf_network load(const mmsa_config& config, const StateDict& sd,
                            const std::string& prefix, const mmsa_subnet_front<T>& front) {
        return lmf_network(load_lmf_fusion<T>(sd, prefix, config.size("rank"), front.audio_hidden(),
                                              front.video_hidden(), front.text_out(),
                                              config.output_dim()));
    }

    [[nodiscard]] std::size_t outputs() const { return fusion_.outputs(); }

    void operator()(const mmsa_subnet_features<T>& h, mmsa_outputs<T>& outputs,
                    bool with_features) const {
        outputs.emplace("M", fusion_(lmf_fusion_batch(h)));
        if (with_features) {
            outputs.emplace("Feature_f", lmf_fused_factors(fusion_, h));
        }
    }

private:
    explicit lmf_network(fusion::low_rank_fusion<T> fusion) : fusion_(std::move(fusion)) {}

    fusion::low_rank_fusion<T> fusion_;
};

} // namespace detail

/// MMSA's LMF: the sub-networks of TFN (text output size text_hidden / 2, MMSA's choice), then
/// low-rank fusion: f_m = [1; h_m]·W_m per rank, Z = f_audio ⊙ f_video ⊙ f_text, M =
/// fusion_weights·Z + fusion_bias. No activation or range mapping in either train mode. forward
/// gives {"M": (B, output_dim)}; forward_with_features adds Feature_t, Feature_a, Feature_v and
/// Feature_f, MMSA's fusion_zy as (B, rank·output_dim).
template <class T>
class lmf : public mmsa_subnet_model<lmf<T>, T, detail::lmf_network<T>, false> {
    using model = mmsa_subnet_model<lmf<T>, T, detail::lmf_network<T>, false>;
    friend model;

public:
    /// MMSA's model key; `load` reads feature_dims, hidden_dims, rank (num_classes in
    /// classification) from the config.
    static constexpr std::string_view mmsa_name = "lmf";

private:
    explicit lmf(model loaded) : model(std::move(loaded)) {}
};

} // namespace emofuse::models
