// emofuse/models/mlmf.hpp — MMSA's multi-task LMF (src/MMSA/models/multiTask/MLMF.py), loaded
// from the state dict MMSA saves.
#pragma once

#include <emofuse/config.hpp>
#include <emofuse/core/error.hpp>
#include <emofuse/fusion/low_rank_fusion.hpp>
#include <emofuse/models/lmf.hpp>
#include <emofuse/models/mmsa_config.hpp>
#include <emofuse/models/mmsa_inputs.hpp>
#include <emofuse/models/mmsa_model.hpp>
#include <emofuse/models/mmsa_subnets.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

namespace emofuse::models {

/// MMSA's MLMF: LMF's network for "M" plus the unimodal read-outs "T", "A", "V" on text_h,
/// audio_h, video_h. No activation or range mapping on any output.
template <class T>
class mlmf {
public:
    /// Builds MMSA's MLMF for `config` (feature_dims, hidden_dims, rank, post_text_dim,
    /// post_audio_dim, post_video_dim, num_classes in classification) and loads `<prefix>...`
    /// tensors. Every shape is checked; missing tensors and tensors under `prefix` the model does
    /// not use are errors naming them.
    template <class StateDict>
    static mlmf load(const mmsa_config& config, const StateDict& sd,
                     std::string_view prefix = "Model.") {
        const tracking_state_dict<StateDict> tracked(sd);
        const std::string at(prefix);
        const auto hidden = config.sizes("hidden_dims", 3);
        const std::size_t text_out = hidden[0] / 2;
        auto front = mmsa_subnet_front<T>::load(config, tracked, at, "mlmf", text_out);
        auto unimodal = mmsa_unimodal_heads<T>::load(config, tracked, at, front);
        auto fusion = detail::load_lmf_fusion<T>(tracked, at, config.size("rank"), hidden[1],
                                                 hidden[2], text_out, config.output_dim());
        tracked.require_all_read(at, "mlmf");
        return mlmf(std::move(front), std::move(unimodal), std::move(fusion));
    }

    /// MMSA's forward on prepared inputs (prepare_mmsa_inputs): "M", "T", "A", "V", each
    /// (B, output_dim). Unlike MMSA's, it also runs a batch of one (MMSA's multi-task
    /// TextSubNet squeezes the batch axis away there and its torch.cat fails).
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
    mlmf(mmsa_subnet_front<T> front, mmsa_unimodal_heads<T> unimodal,
         fusion::low_rank_fusion<T> fusion)
        : front_(std::move(front)), unimodal_(std::move(unimodal)), fusion_(std::move(fusion)) {}

    mmsa_outputs<T> run(const mmsa_batch<T>& inputs, bool with_features) const {
        const auto h = front_(inputs);
        mmsa_outputs<T> outputs;
        unimodal_(h, outputs);
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
    mmsa_unimodal_heads<T> unimodal_;
    fusion::low_rank_fusion<T> fusion_;
};

} // namespace emofuse::models
