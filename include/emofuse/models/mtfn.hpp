// emofuse/models/mtfn.hpp — MMSA's multi-task TFN (src/MMSA/models/multiTask/MTFN.py), loaded
// from the state dict MMSA saves.
#pragma once

#include <emofuse/config.hpp>
#include <emofuse/core/error.hpp>
#include <emofuse/fusion/tensor_fusion.hpp>
#include <emofuse/heads/mlp.hpp>
#include <emofuse/models/mmsa_config.hpp>
#include <emofuse/models/mmsa_inputs.hpp>
#include <emofuse/models/mmsa_model.hpp>
#include <emofuse/models/mmsa_subnets.hpp>
#include <emofuse/models/tfn.hpp>

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace emofuse::models {

/// MMSA's MTFN: TFN's network for "M" (sigmoid·output_range + output_shift in regression
/// only) plus the unimodal read-outs "T", "A", "V" on text_h, audio_h, video_h, which are never
/// range-mapped.
template <class T>
class mtfn {
public:
    /// Builds MMSA's MTFN for `config` (feature_dims, hidden_dims, text_out, post_fusion_dim,
    /// post_text_dim, post_audio_dim, post_video_dim, num_classes in classification) and loads
    /// `<prefix>...` tensors. Every shape is checked; missing tensors and tensors under `prefix`
    /// the model does not use are errors naming them.
    template <class StateDict>
    static mtfn load(const mmsa_config& config, const StateDict& sd,
                     std::string_view prefix = "Model.") {
        const tracking_state_dict<StateDict> tracked(sd);
        const std::string at(prefix);
        const auto hidden = config.sizes("hidden_dims", 3);
        const std::size_t text_out = config.size("text_out");
        const std::size_t post = config.size("post_fusion_dim");
        const std::size_t out = config.output_dim();
        auto front = mmsa_subnet_front<T>::load(config, tracked, at, "mtfn", text_out);
        auto unimodal = mmsa_unimodal_heads<T>::load(config, tracked, at, front);
        auto fusion = detail::load_tfn_fusion<T>(
            tracked, at, detail::tfn_tensor_width(text_out, hidden[1], hidden[2]), post);
        std::vector<layers::dense<T>> head;
        head.push_back(
            detail::load_mmsa_linear<T>(tracked, at + "post_fusion_layer_2.", post, post));
        head.push_back(
            detail::load_mmsa_linear<T>(tracked, at + "post_fusion_layer_3.", post, out));
        const auto range = detail::load_tfn_output_range<T>(tracked, at);
        tracked.require_all_read(at, "mtfn");
        return mtfn(std::move(front), std::move(unimodal), std::move(fusion),
                    heads::mlp<T>(std::move(head), layers::activation::relu),
                    !config.classification(), range);
    }

    /// MMSA's forward on prepared inputs (prepare_mmsa_inputs): "M", "T", "A", "V", each
    /// (B, output_dim). Unlike MMSA's, it also runs a batch of one (MMSA's multi-task
    /// TextSubNet squeezes the batch axis away there and its torch.cat fails).
    [[nodiscard]] mmsa_outputs<T> forward(const mmsa_batch<T>& inputs) const {
        return run(inputs, false);
    }

    /// forward, plus Feature_t, Feature_a, Feature_v (the sub-network outputs) and Feature_f,
    /// the fused tensor (B, Π(d + 1)), built explicitly.
    [[nodiscard]] mmsa_outputs<T> forward_with_features(const mmsa_batch<T>& inputs) const {
        return run(inputs, true);
    }

    [[nodiscard]] std::size_t output_dim() const { return head_.outputs(); }

private:
    mtfn(mmsa_subnet_front<T> front, mmsa_unimodal_heads<T> unimodal,
         fusion::tensor_fusion_linear<T> fusion, heads::mlp<T> head, bool regression,
         std::array<T, 2> range)
        : front_(std::move(front)), unimodal_(std::move(unimodal)), fusion_(std::move(fusion)),
          head_(std::move(head)), regression_(regression), output_range_(range[0]),
          output_shift_(range[1]) {}

    mmsa_outputs<T> run(const mmsa_batch<T>& inputs, bool with_features) const {
        const auto h = front_(inputs);
        mmsa_outputs<T> outputs;
        unimodal_(h, outputs);
        const auto batch = detail::tfn_fusion_batch(h);
        auto y = head_(fusion_(batch));
        if (regression_) {
            detail::apply_tfn_output_range(y, output_range_, output_shift_);
        }
        outputs.emplace("M", std::move(y));
        if (with_features) {
            outputs.emplace("Feature_f",
                            fusion::tensor_fusion<dims<>, fusion::tensor_form::mmsa>{}(batch));
            outputs.emplace("Feature_t", h.text);
            outputs.emplace("Feature_a", h.audio);
            outputs.emplace("Feature_v", h.video);
        }
        return outputs;
    }

    mmsa_subnet_front<T> front_;
    mmsa_unimodal_heads<T> unimodal_;
    fusion::tensor_fusion_linear<T> fusion_;
    heads::mlp<T> head_;
    bool regression_;
    T output_range_;
    T output_shift_;
};

} // namespace emofuse::models
