// emofuse/models/mtfn.hpp — MMSA's multi-task TFN (src/MMSA/models/multiTask/MTFN.py), loaded
// from the state dict MMSA saves.
#pragma once

#include <emofuse/config.hpp>
#include <emofuse/models/mmsa_config.hpp>
#include <emofuse/models/mmsa_subnets.hpp>
#include <emofuse/models/tfn.hpp>

#include <string_view>
#include <utility>

namespace emofuse::models {

/// MMSA's MTFN: TFN's network for "M" (sigmoid·output_range + output_shift in regression only) plus
/// the unimodal read-outs "T", "A", "V" on text_h, audio_h, video_h, which are never range-mapped.
/// forward_with_features adds Feature_t, Feature_a, Feature_v and Feature_f, the fused tensor (B,
/// Π(d + 1)). Unlike MMSA's, it also runs a batch of one (MMSA's multi-task TextSubNet squeezes the
/// batch axis away there and its torch.cat fails).
template <class T>
class mtfn : public mmsa_subnet_model<mtfn<T>, T, detail::tfn_network<T>, true> {
    using model = mmsa_subnet_model<mtfn<T>, T, detail::tfn_network<T>, true>;
    friend model;

public:
    /// MMSA's model key; `load` reads feature_dims, hidden_dims, text_out, post_fusion_dim,
    /// post_text_dim, post_audio_dim, post_video_dim (num_classes in classification) from the
    /// config.
    static constexpr std::string_view mmsa_name = "mtfn";

private:
    explicit mtfn(model loaded) : model(std::move(loaded)) {}
};

} // namespace emofuse::models
