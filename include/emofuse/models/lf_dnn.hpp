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

/// LF_DNN's late fusion: [audio_h; video_h; text_h] (MMSA's torch.cat order).
template <class T>
xt::xtensor<T, 2> lf_dnn_fusion(const mmsa_subnet_features<T>& h) {
    return fusion::concat<>{}(
        make_batch(audio(std::cref(h.audio)), vision(std::cref(h.video)), text(std::cref(h.text))));
}

} // namespace detail

/// MMSA's LF_DNN: the sub-networks of TFN (text output size text_out), their outputs
/// concatenated as (audio, video, text), then post_fusion_layer_1 (ReLU), post_fusion_layer_2
/// (ReLU), post_fusion_layer_3. No range mapping in either train mode.
template <class T>
class lf_dnn {
public:
    /// Builds MMSA's LF_DNN for `config` (feature_dims, hidden_dims, text_out,
    /// post_fusion_dim, num_classes in classification) and loads `<prefix>...` tensors. Every
    /// shape is checked; missing tensors and tensors under `prefix` the model does not use are
    /// errors naming them.
    template <class StateDict>
    static lf_dnn load(const mmsa_config& config, const StateDict& sd,
                       std::string_view prefix = "Model.") {
        const tracking_state_dict<StateDict> tracked(sd);
        const std::string at(prefix);
        const auto hidden = config.sizes("hidden_dims", 3);
        const std::size_t text_out = config.size("text_out");
        auto front = mmsa_subnet_front<T>::load(config, tracked, at, "lf_dnn", text_out);
        auto head = detail::load_mmsa_post_layers<T>(
            tracked, at + "post_fusion_layer_", text_out + hidden[1] + hidden[2],
            config.size("post_fusion_dim"), config.output_dim());
        tracked.require_all_read(at, "lf_dnn");
        return lf_dnn(std::move(front), std::move(head));
    }

    /// MMSA's forward on prepared inputs (prepare_mmsa_inputs): {"M": (B, output_dim)}.
    [[nodiscard]] mmsa_outputs<T> forward(const mmsa_batch<T>& inputs) const {
        return run(inputs, false);
    }

    /// forward, plus Feature_t, Feature_a, Feature_v (the sub-network outputs) and Feature_f,
    /// the concatenation.
    [[nodiscard]] mmsa_outputs<T> forward_with_features(const mmsa_batch<T>& inputs) const {
        return run(inputs, true);
    }

    [[nodiscard]] std::size_t output_dim() const { return head_.outputs(); }

private:
    lf_dnn(mmsa_subnet_front<T> front, heads::mlp<T> head)
        : front_(std::move(front)), head_(std::move(head)) {}

    mmsa_outputs<T> run(const mmsa_batch<T>& inputs, bool with_features) const {
        const auto h = front_(inputs);
        auto fused = detail::lf_dnn_fusion(h);
        mmsa_outputs<T> outputs;
        outputs.emplace("M", head_(fused));
        if (with_features) {
            outputs.emplace("Feature_f", std::move(fused));
            outputs.emplace("Feature_t", h.text);
            outputs.emplace("Feature_a", h.audio);
            outputs.emplace("Feature_v", h.video);
        }
        return outputs;
    }

    mmsa_subnet_front<T> front_;
    heads::mlp<T> head_;
};

} // namespace emofuse::models
