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

/// The network for "M" of TFN and MTFN (mmsa_subnet_model's Network): the tensor
/// [1; audio_h] ⊗ [1; video_h] ⊗ [1; text_h] through post_fusion_layer_1 (ReLU),
/// post_fusion_layer_2 (ReLU), post_fusion_layer_3; in regression only, then
/// sigmoid·output_range + output_shift. Feature_f is the tensor, built explicitly.
template <class T>
class tfn_network {
public:
    static std::size_t text_out(const mmsa_config& config) { return config.size("text_out"); }

    template <class StateDict>
    static tfn_network load(const mmsa_config& config, const StateDict& sd,
                            const std::string& prefix, const mmsa_subnet_front<T>& front) {
        const std::size_t post = config.size("post_fusion_dim");
        const std::size_t out = config.output_dim();
        auto fusion = load_tfn_fusion<T>(
            sd, prefix,
            tfn_tensor_width(front.text_out(), front.audio_hidden(), front.video_hidden()), post);
        std::vector<layers::dense<T>> head;
        head.push_back(load_mmsa_linear<T>(sd, prefix + "post_fusion_layer_2.", post, post));
        head.push_back(load_mmsa_linear<T>(sd, prefix + "post_fusion_layer_3.", post, out));
        const auto range = load_tfn_output_range<T>(sd, prefix);
        return tfn_network(std::move(fusion),
                           heads::mlp<T>(std::move(head), layers::activation::relu),
                           !config.classification(), range);
    }

    [[nodiscard]] std::size_t outputs() const { return head_.outputs(); }

    void operator()(const mmsa_subnet_features<T>& h, mmsa_outputs<T>& outputs,
                    bool with_features) const {
        const auto batch = tfn_fusion_batch(h);
        auto y = head_(fusion_(batch));
        if (regression_) {
            apply_tfn_output_range(y, output_range_, output_shift_);
        }
        outputs.emplace("M", std::move(y));
        if (with_features) {
            outputs.emplace("Feature_f",
                            fusion::tensor_fusion<dims<>, fusion::tensor_form::mmsa>{}(batch));
        }
    }

private:
    tfn_network(fusion::tensor_fusion_linear<T> fusion, heads::mlp<T> head, bool regression,
                std::array<T, 2> range)
        : fusion_(std::move(fusion)), head_(std::move(head)), regression_(regression),
          output_range_(range[0]), output_shift_(range[1]) {}

    fusion::tensor_fusion_linear<T> fusion_;
    heads::mlp<T> head_;
    bool regression_;
    T output_range_;
    T output_shift_;
};

} // namespace detail

/// MMSA's TFN: SubNet on the time-averaged audio and vision, TextSubNet on the text, the
/// tensor [1; audio_h] ⊗ [1; video_h] ⊗ [1; text_h] (text fastest) through post_fusion_layer_1
/// (ReLU), post_fusion_layer_2 (ReLU), post_fusion_layer_3; in regression only, then
/// sigmoid·output_range + output_shift. The tensor is never built: post_fusion_layer_1 runs as
/// fusion::tensor_fusion_linear. forward gives {"M": (B, output_dim)}; forward_with_features
/// adds Feature_t, Feature_a, Feature_v and Feature_f, the fused tensor (B, Π(d + 1)).
template <class T>
class tfn : public mmsa_subnet_model<tfn<T>, T, detail::tfn_network<T>, false> {
    using model = mmsa_subnet_model<tfn<T>, T, detail::tfn_network<T>, false>;
    friend model;

public:
    /// MMSA's model key; `load` reads feature_dims, hidden_dims, text_out, post_fusion_dim
    /// (num_classes in classification) from the config.
    static constexpr std::string_view mmsa_name = "tfn";

private:
    explicit tfn(model loaded) : model(std::move(loaded)) {}
};

} // namespace emofuse::models
