// emofuse/models/mlf_dnn.hpp — MMSA's multi-task LF_DNN (src/MMSA/models/multiTask/MLF_DNN.py),
// loaded from the state dict MMSA saves.
#pragma once

#include <emofuse/config.hpp>
#include <emofuse/models/lf_dnn.hpp>
#include <emofuse/models/mmsa_config.hpp>
#include <emofuse/models/mmsa_subnets.hpp>

#include <string_view>
#include <utility>

namespace emofuse::models {

/// MMSA's MLF_DNN: LF_DNN's network for "M" plus the unimodal read-outs "T", "A", "V" on text_h,
/// audio_h, video_h. No range mapping on any output. forward_with_features adds Feature_t,
/// Feature_a, Feature_v and Feature_f, the concatenation. Unlike MMSA's, it also runs a batch of
/// one (MMSA's multi-task TextSubNet squeezes the batch axis away there and its torch.cat fails).
template <class T>
class mlf_dnn : public mmsa_subnet_model<mlf_dnn<T>, T, detail::lf_dnn_network<T>, true> {
    using model = mmsa_subnet_model<mlf_dnn<T>, T, detail::lf_dnn_network<T>, true>;
    friend model;

public:
    /// MMSA's model key; `load` reads feature_dims, hidden_dims, text_out, post_fusion_dim,
    /// post_text_dim, post_audio_dim, post_video_dim (num_classes in classification) from the
    /// config.
    static constexpr std::string_view mmsa_name = "mlf_dnn";

private:
    explicit mlf_dnn(model loaded) : model(std::move(loaded)) {}
};

} // namespace emofuse::models
