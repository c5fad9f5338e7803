// emofuse/models/mlf_dnn.hpp — MMSA's multi-task LF_DNN (src/MMSA/models/multiTask/MLF_DNN.py),
// loaded from the state dict MMSA saves.
#pragma once

#include <emofuse/config.hpp>
#include <emofuse/core/error.hpp>
#include <emofuse/heads/mlp.hpp>
#include <emofuse/models/lf_dnn.hpp>
#include <emofuse/models/mmsa_config.hpp>
#include <emofuse/models/mmsa_inputs.hpp>
#include <emofuse/models/mmsa_model.hpp>
#include <emofuse/models/mmsa_subnets.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

namespace emofuse::models {

/// MMSA's MLF_DNN: LF_DNN's network for "M" plus the unimodal read-outs "T", "A", "V" on
/// text_h, audio_h, video_h. No range mapping on any output.
template <class T>
class mlf_dnn {
public:
    /// Builds MMSA's MLF_DNN for `config` (feature_dims, hidden_dims, text_out,
    /// post_fusion_dim, post_text_dim, post_audio_dim, post_video_dim, num_classes in
    /// classification) and loads `<prefix>...` tensors. Every
    /// shape is checked; missing tensors and tensors under `prefix` the model does not use are
    /// errors naming them.
    template <class StateDict>
    static mlf_dnn load(const mmsa_config& config, const StateDict& sd,
                        std::string_view prefix = "Model.") {
        const tracking_state_dict<StateDict> tracked(sd);
        const std::string at(prefix);
        const auto hidden = config.sizes("hidden_dims", 3);
        const std::size_t text_out = config.size("text_out");
        auto front = mmsa_subnet_front<T>::load(config, tracked, at, "mlf_dnn", text_out);
        auto unimodal = mmsa_unimodal_heads<T>::load(config, tracked, at, front);
        auto head = detail::load_mmsa_post_layers<T>(
            tracked, at + "post_fusion_layer_", text_out + hidden[1] + hidden[2],
            config.size("post_fusion_dim"), config.output_dim());
        tracked.require_all_read(at, "mlf_dnn");
        return mlf_dnn(std::move(front), std::move(unimodal), std::move(head));
    }

    /// MMSA's forward on prepared inputs (prepare_mmsa_inputs): "M", "T", "A", "V", each
    /// (B, output_dim). Unlike MMSA's, it also runs a batch of one (MMSA's multi-task
    /// TextSubNet squeezes the batch axis away there and its torch.cat fails).
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
    mlf_dnn(mmsa_subnet_front<T> front, mmsa_unimodal_heads<T> unimodal, heads::mlp<T> head)
        : front_(std::move(front)), unimodal_(std::move(unimodal)), head_(std::move(head)) {}

    mmsa_outputs<T> run(const mmsa_batch<T>& inputs, bool with_features) const {
        const auto h = front_(inputs);
        auto fused = detail::lf_dnn_fusion(h);
        mmsa_outputs<T> outputs;
        unimodal_(h, outputs);
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
    mmsa_unimodal_heads<T> unimodal_;
    heads::mlp<T> head_;
};

} // namespace emofuse::models
