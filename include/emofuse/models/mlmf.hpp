// emofuse/models/mlmf.hpp — MMSA's multi-task LMF (src/MMSA/models/multiTask/MLMF.py), loaded
// from the state dict MMSA saves.
#pragma once

#include <emofuse/config.hpp>
#include <emofuse/models/lmf.hpp>
#include <emofuse/models/mmsa_config.hpp>
#include <emofuse/models/mmsa_subnets.hpp>

#include <string_view>
#include <utility>

namespace emofuse::models {

/// MMSA's MLMF: LMF's network for "M" plus the unimodal read-outs "T", "A", "V" on text_h, audio_h,
/// video_h. No activation or range mapping on any output. forward_with_features adds Feature_t,
/// Feature_a, Feature_v and Feature_f, MMSA's fusion_zy as (B, rank·output_dim). Unlike MMSA's, it
/// also runs a batch of one (MMSA's multi-task TextSubNet squeezes the batch axis away there and
/// its torch.cat fails).
template <class T>
class mlmf : public mmsa_subnet_model<mlmf<T>, T, detail::lmf_network<T>, true> {
    using model = mmsa_subnet_model<mlmf<T>, T, detail::lmf_network<T>, true>;
    friend model;

public:
    /// MMSA's model key; `load` reads feature_dims, hidden_dims, rank, post_text_dim,
    /// post_audio_dim, post_video_dim (num_classes in classification) from the config.
    static constexpr std::string_view mmsa_name = "mlmf";

private:
    explicit mlmf(model loaded) : model(std::move(loaded)) {}
};

} // namespace emofuse::models
