// emofuse/models/lf_dnn.hpp — MMSA's LF_DNN (src/MMSA/models/singleTask/LF_DNN.py), loaded from
// the state dict MMSA saves.
#pragma once

#include <emofuse/config.hpp>
#include <emofuse/core/batch.hpp>
#include <emofuse/core/error.hpp>
#include <emofuse/core/modality.hpp>
#include <emofuse/fusion/concat.hpp>
#include <emofuse/heads/mlp.hpp>
#include <emofuse/models/mmsa_config.hpp>
#include <emofuse/models/mmsa_inputs.hpp>
#include <emofuse/models/mmsa_model.hpp>
#include <emofuse/models/mmsa_subnets.hpp>

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

namespace emofuse::models {

namespace detail {

/// The network for "M" of LF_DNN and MLF_DNN (mmsa_subnet_model's Network): the sub-network outputs
/// concatenated as (audio, video, text) (MMSA's torch.cat order), then post_fusion_layer_1 (ReLU),
/// post_fusion_layer_2 (ReLU), post_fusion_layer_3. Feature_f is the concatenation.
template <class T>
class lf_dnn_network {
public:
    static std::size_t text_out(const mmsa_config& config) { return config.size("text_out"); }

    template <class StateDict>
    static lf_dnn_network load(const mmsa_config& config, const StateDict& sd,
                               const std::string& prefix, const mmsa_subnet_front<T>& front) {
        return lf_dnn_network(
            load_mmsa_post_layers<T>(sd, prefix + "post_fusion_layer_",
                                     front.text_out() + front.audio_hidden() + front.video_hidden(),
                                     config.size("post_fusion_dim"), config.output_dim()));
    }

    [[nodiscard]] std::size_t outputs() const { return head_.outputs(); }

    void operator()(const mmsa_subnet_features<T>& h, mmsa_outputs<T>& outputs,
                    bool with_features) const {
        auto fused = fusion::concat<>{}(make_batch(
            audio(std::cref(h.audio)), vision(std::cref(h.video)), text(std::cref(h.text))));
        outputs.emplace("M", head_(fused));
        if (with_features) {
            outputs.emplace("Feature_f", std::move(fused));
        }
    }

private:
    explicit lf_dnn_network(heads::mlp<T> head) : head_(std::move(head)) {}

    heads::mlp<T> head_;
};

} // namespace detail

/// MMSA's LF_DNN: the sub-networks of TFN (text output size text_out), their outputs concatenated
/// as (audio, video, text), then post_fusion_layer_1 (ReLU), post_fusion_layer_2 (ReLU),
/// post_fusion_layer_3. No range mapping in either train mode. forward gives {"M": (B,
/// output_dim)}; forward_with_features adds Feature_t, Feature_a, Feature_v and Feature_f, the
/// concatenation.
template <class T>
class lf_dnn : public mmsa_subnet_model<lf_dnn<T>, T, detail::lf_dnn_network<T>, false> {
    using model = mmsa_subnet_model<lf_dnn<T>, T, detail::lf_dnn_network<T>, false>;
    friend model;

public:
    /// MMSA's model key; `load` reads feature_dims, hidden_dims, text_out, post_fusion_dim
    /// (num_classes in classification) from the config.
    static constexpr std::string_view mmsa_name = "lf_dnn";

private:
    explicit lf_dnn(model loaded) : model(std::move(loaded)) {}
};

} // namespace emofuse::models
