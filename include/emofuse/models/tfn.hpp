// emofuse/models/tfn.hpp — MMSA's TFN (src/MMSA/models/singleTask/TFN.py), loaded from the
// state dict MMSA saves.
#pragma once

#include <emofuse/config.hpp>
#include <emofuse/core/batch.hpp>
#include <emofuse/core/checked_size.hpp>
#include <emofuse/core/error.hpp>
#include <emofuse/core/modality.hpp>
#include <emofuse/fusion/tensor_fusion.hpp>
#include <emofuse/heads/mlp.hpp>
#include <emofuse/models/mmsa_config.hpp>
#include <emofuse/models/mmsa_inputs.hpp>
#include <emofuse/models/mmsa_model.hpp>
#include <emofuse/models/mmsa_subnets.hpp>

#include <array>
#include <cmath>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace emofuse::models {

namespace detail {

/// TFN's fused tensor width (text_out + 1)(video_hidden + 1)(audio_hidden + 1), refused when it
/// overflows.
inline std::size_t tfn_tensor_width(std::size_t text_out, std::size_t audio_hidden,
                                    std::size_t video_hidden) {
    return checked_element_count("models::tfn: fused tensor width (text_out + 1)·(video_hidden + "
                                 "1)·(audio_hidden + 1)",
                                 {text_out + 1, video_hidden + 1, audio_hidden + 1});
}

/// MMSA's regression range: sigmoid(o)·output_range + output_shift, with the two values read
/// from the state dict (6 and −3 as MMSA creates them).
template <class T>
void apply_tfn_output_range(xt::xtensor<T, 2>& y, T range, T shift) {
    for (auto& value : y) {
        value = T(1) / (T(1) + std::exp(-value)) * range + shift;
    }
}

/// Reads the non-trainable `output_range` and `output_shift` (shape (1)) that TFN and MTFN
/// keep in their state dict in both train modes.
template <class T, class StateDict>
std::array<T, 2> load_tfn_output_range(const StateDict& sd, const std::string& prefix) {
    const std::array<std::size_t, 1> one{1};
    return {sd.template tensor<T, 1>(prefix + "output_range", one)(0),
            sd.template tensor<T, 1>(prefix + "output_shift", one)(0)};
}

/// post_fusion_layer_1 of TFN and MTFN as the fused tensor-fusion operator (ReLU after it, as
/// MMSA applies), in MMSA's batch order (audio, video, text). Its weight is read straight into
/// the operator (packed once: at MMSA's SIMS sizes it has 1.4·10^8 entries).
template <class T, class StateDict>
fusion::tensor_fusion_linear<T> load_tfn_fusion(const StateDict& sd, const std::string& prefix,
                                                std::size_t width, std::size_t post_fusion_dim) {
    const std::string at = prefix + "post_fusion_layer_1.";
    auto weight =
        sd.template tensor<T, 2>(at + "weight", std::array<std::size_t, 2>{post_fusion_dim, width});
    auto bias = sd.template tensor<T, 1>(at + "bias", std::array<std::size_t, 1>{post_fusion_dim});
    return fusion::tensor_fusion_linear<T>(std::move(weight), std::move(bias),
                                           fusion::tfn_activation::mmsa);
}

/// The (audio, video, text) batch MMSA's TFN fuses, without copying the features.
template <class T>
auto tfn_fusion_batch(const mmsa_subnet_features<T>& h) {
    return make_batch(audio(std::cref(h.audio)), vision(std::cref(h.video)),
                      text(std::cref(h.text)));
}

} // namespace detail

/// MMSA's TFN: SubNet on the time-averaged audio and vision, TextSubNet on the text, the
/// tensor [1; audio_h] ⊗ [1; video_h] ⊗ [1; text_h] (text fastest) through post_fusion_layer_1
/// (ReLU), post_fusion_layer_2 (ReLU), post_fusion_layer_3; in regression only, then
/// sigmoid·output_range + output_shift. The tensor is never built: post_fusion_layer_1 runs as
/// fusion::tensor_fusion_linear.
template <class T>
class tfn {
public:
    /// Builds MMSA's TFN for `config` (feature_dims, hidden_dims, text_out, post_fusion_dim,
    /// num_classes in classification) and loads `<prefix>...` tensors. Every shape is checked;
    /// missing tensors and tensors under `prefix` the model does not use are errors naming them.
    template <class StateDict>
    static tfn load(const mmsa_config& config, const StateDict& sd,
                    std::string_view prefix = "Model.") {
        const tracking_state_dict<StateDict> tracked(sd);
        const std::string at(prefix);
        const auto hidden = config.sizes("hidden_dims", 3);
        const std::size_t text_out = config.size("text_out");
        const std::size_t post = config.size("post_fusion_dim");
        const std::size_t out = config.output_dim();
        auto front = mmsa_subnet_front<T>::load(config, tracked, at, "tfn", text_out);
        auto fusion = detail::load_tfn_fusion<T>(
            tracked, at, detail::tfn_tensor_width(text_out, hidden[1], hidden[2]), post);
        std::vector<layers::dense<T>> head;
        head.push_back(
            detail::load_mmsa_linear<T>(tracked, at + "post_fusion_layer_2.", post, post));
        head.push_back(
            detail::load_mmsa_linear<T>(tracked, at + "post_fusion_layer_3.", post, out));
        const auto range = detail::load_tfn_output_range<T>(tracked, at);
        tracked.require_all_read(at, "tfn");
        return tfn(std::move(front), std::move(fusion),
                   heads::mlp<T>(std::move(head), layers::activation::relu),
                   !config.classification(), range);
    }

    /// MMSA's forward on prepared inputs (prepare_mmsa_inputs): {"M": (B, output_dim)}.
    [[nodiscard]] mmsa_outputs<T> forward(const mmsa_batch<T>& inputs) const {
        return run(inputs, false);
    }

    /// forward, plus what MMSA's dict also returns: Feature_t, Feature_a, Feature_v (the
    /// sub-network outputs) and Feature_f, the fused tensor (B, Π(d + 1)), built explicitly.
    [[nodiscard]] mmsa_outputs<T> forward_with_features(const mmsa_batch<T>& inputs) const {
        return run(inputs, true);
    }

    [[nodiscard]] std::size_t output_dim() const { return head_.outputs(); }

private:
    tfn(mmsa_subnet_front<T> front, fusion::tensor_fusion_linear<T> fusion, heads::mlp<T> head,
        bool regression, std::array<T, 2> range)
        : front_(std::move(front)), fusion_(std::move(fusion)), head_(std::move(head)),
          regression_(regression), output_range_(range[0]), output_shift_(range[1]) {}

    mmsa_outputs<T> run(const mmsa_batch<T>& inputs, bool with_features) const {
        const auto h = front_(inputs);
        const auto batch = detail::tfn_fusion_batch(h);
        auto y = head_(fusion_(batch));
        if (regression_) {
            detail::apply_tfn_output_range(y, output_range_, output_shift_);
        }
        mmsa_outputs<T> outputs;
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
    fusion::tensor_fusion_linear<T> fusion_;
    heads::mlp<T> head_;
    bool regression_;
    T output_range_;
    T output_shift_;
};

} // namespace emofuse::models
