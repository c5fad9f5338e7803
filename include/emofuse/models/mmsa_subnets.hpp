// emofuse/models/mmsa_subnets.hpp — MMSA's pre-fusion sub-networks (SubNet, TextSubNet in
// src/MMSA/models/subNets/FeatureNets.py; the multi-task models carry their own copies)
// and the parts that TFN, LMF, LF_DNN and their multi-task variants share.
#pragma once

#include <emofuse/config.hpp>
#include <emofuse/core/error.hpp>
#include <emofuse/encoders/batch_norm.hpp>
#include <emofuse/encoders/recurrent.hpp>
#include <emofuse/heads/mlp.hpp>
#include <emofuse/kernels/epilogue.hpp>
#include <emofuse/layers/dense.hpp>
#include <emofuse/models/mmsa_config.hpp>
#include <emofuse/models/mmsa_inputs.hpp>
#include <emofuse/models/mmsa_model.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace emofuse::models {

namespace detail {

/// An nn.Linear of MMSA's: `<prefix>weight` (out, in) and `<prefix>bias` (out), both required
/// (a missing one is an error naming it, never a layer silently without bias).
template <class T, class StateDict>
layers::dense<T> load_mmsa_linear(const StateDict& sd, const std::string& prefix, std::size_t in,
                                  std::size_t out) {
    auto weight = sd.template tensor<T, 2>(prefix + "weight", std::array<std::size_t, 2>{out, in});
    auto bias = sd.template tensor<T, 1>(prefix + "bias", std::array<std::size_t, 1>{out});
    return layers::dense<T>(std::move(weight), std::move(bias), prefix);
}

/// MMSA's three-layer read-outs (post_fusion_layer_1..3, post_text_layer_1..3, ...):
/// relu(L1), relu(L2), L3, after a dropout that is the identity in inference.
template <class T, class StateDict>
heads::mlp<T> load_mmsa_post_layers(const StateDict& sd, const std::string& stem, std::size_t in,
                                    std::size_t hidden, std::size_t out) {
    std::vector<layers::dense<T>> stack;
    stack.push_back(load_mmsa_linear<T>(sd, stem + "1.", in, hidden));
    stack.push_back(load_mmsa_linear<T>(sd, stem + "2.", hidden, hidden));
    stack.push_back(load_mmsa_linear<T>(sd, stem + "3.", hidden, out));
    return heads::mlp<T>(std::move(stack), layers::activation::relu);
}

} // namespace detail

/// MMSA's SubNet: BatchNorm1d(in) (running statistics), dropout (identity), then three
/// Linear layers, each followed by ReLU (the last one too). Maps (B, in) to (B, hidden).
template <class T>
class mmsa_subnet {
public:
    /// Loads `<prefix>norm.{weight,bias,running_mean,running_var}` (num_batches_tracked is
    /// accepted and unused) and `<prefix>linear_{1,2,3}.{weight,bias}`.
    template <class StateDict>
    static mmsa_subnet load(const StateDict& sd, const std::string& prefix, std::size_t in_size,
                            std::size_t hidden_size) {
        mmsa_subnet net;
        net.norm_ = encoders::batch_norm<T>::from_state_dict(sd, prefix + "norm.",
                                                             {.num_features = in_size});
        if constexpr (requires { sd.ignore(prefix); }) {
            sd.ignore(prefix + "norm.num_batches_tracked");
        }
        net.linear_[0] =
            detail::load_mmsa_linear<T>(sd, prefix + "linear_1.", in_size, hidden_size);
        net.linear_[1] =
            detail::load_mmsa_linear<T>(sd, prefix + "linear_2.", hidden_size, hidden_size);
        net.linear_[2] =
            detail::load_mmsa_linear<T>(sd, prefix + "linear_3.", hidden_size, hidden_size);
        return net;
    }

    [[nodiscard]] std::size_t in_size() const { return norm_.num_features(); }
    [[nodiscard]] std::size_t hidden_size() const { return linear_[2].out_features(); }

    /// (B, in) → (B, hidden).
    [[nodiscard]] xt::xtensor<T, 2> operator()(const xt::xtensor<T, 2>& x) const {
        const std::size_t rows = x.shape(0);
        const std::size_t hidden = hidden_size();
        xt::xtensor<T, 2> normed = norm_(x);
        xt::xtensor<T, 2> first = xt::xtensor<T, 2>::from_shape({rows, hidden});
        xt::xtensor<T, 2> second = xt::xtensor<T, 2>::from_shape({rows, hidden});
        linear_[0].apply(normed.data(), rows, first.data(), kernels::epilogue::relu);
        linear_[1].apply(first.data(), rows, second.data(), kernels::epilogue::relu);
        linear_[2].apply(second.data(), rows, first.data(), kernels::epilogue::relu);
        return first;
    }

private:
    encoders::batch_norm<T> norm_;
    std::array<layers::dense<T>, 3> linear_;
};

/// MMSA's TextSubNet as its models build it (one layer, unidirectional): nn.LSTM run over the
/// whole padded sequence (no lengths: padding steps are processed as data, as in MMSA), its
/// final hidden state h_n, dropout (identity), Linear(hidden, out). Maps (B, T, in) to (B, out).
template <class T>
class mmsa_text_subnet {
public:
    /// Loads `<prefix>rnn.{weight_ih_l0,weight_hh_l0,bias_ih_l0,bias_hh_l0}` and
    /// `<prefix>linear_1.{weight,bias}`.
    template <class StateDict>
    static mmsa_text_subnet load(const StateDict& sd, const std::string& prefix,
                                 std::size_t in_size, std::size_t hidden_size,
                                 std::size_t out_size) {
        mmsa_text_subnet net;
        net.rnn_ = encoders::lstm<T>::from_state_dict(
            sd, prefix + "rnn.",
            {.input_size = in_size, .hidden_size = hidden_size, .batch_first = true});
        net.linear_ = detail::load_mmsa_linear<T>(sd, prefix + "linear_1.", hidden_size, out_size);
        return net;
    }

    [[nodiscard]] std::size_t in_size() const { return rnn_.options().input_size; }
    [[nodiscard]] std::size_t out_size() const { return linear_.out_features(); }

    /// (B, T, in) → (B, out).
    [[nodiscard]] xt::xtensor<T, 2> operator()(const xt::xtensor<T, 3>& x) const {
        const std::size_t rows = x.shape(0);
        const auto states = rnn_(x);
        xt::xtensor<T, 2> y = xt::xtensor<T, 2>::from_shape({rows, out_size()});
        // h_n is (1, B, hidden): its rows are the batch's final states, contiguous.
        linear_.apply(states.h_n.data(), rows, y.data());
        return y;
    }

private:
    encoders::lstm<T> rnn_;
    layers::dense<T> linear_;
};

/// The sub-network outputs of one batch: MMSA's text_h, audio_h, video_h (its Feature_t,
/// Feature_a, Feature_v).
template <class T>
struct mmsa_subnet_features {
    xt::xtensor<T, 2> text;
    xt::xtensor<T, 2> audio;
    xt::xtensor<T, 2> video;
};

/// The pre-fusion front of TFN, LMF, LF_DNN, MTFN, MLMF and MLF_DNN: audio_subnet and
/// video_subnet (SubNet) on the time-averaged audio and vision, text_subnet (TextSubNet) on the
/// text sequence. `feature_dims` and `hidden_dims` are in MMSA's (text, audio, video) order.
template <class T>
class mmsa_subnet_front {
public:
    /// Loads `<prefix>audio_subnet.`, `<prefix>video_subnet.` and `<prefix>text_subnet.` for
    /// `config`'s feature_dims and hidden_dims; `text_out` is the text sub-network's output
    /// size (args.text_out, or LMF's text_hidden / 2).
    template <class StateDict>
    static mmsa_subnet_front load(const mmsa_config& config, const StateDict& sd,
                                  const std::string& prefix, std::string model,
                                  std::size_t text_out) {
        const auto features = config.feature_dims();
        const auto hidden = config.sizes("hidden_dims", 3);
        mmsa_subnet_front front;
        front.model_ = std::move(model);
        front.audio_ = mmsa_subnet<T>::load(sd, prefix + "audio_subnet.", features[1], hidden[1]);
        front.video_ = mmsa_subnet<T>::load(sd, prefix + "video_subnet.", features[2], hidden[2]);
        front.text_ = mmsa_text_subnet<T>::load(sd, prefix + "text_subnet.", features[0], hidden[0],
                                                text_out);
        return front;
    }

    [[nodiscard]] std::size_t text_out() const { return text_.out_size(); }
    [[nodiscard]] std::size_t audio_hidden() const { return audio_.hidden_size(); }
    [[nodiscard]] std::size_t video_hidden() const { return video_.hidden_size(); }

    /// Checks the prepared inputs — text (B, T, D_t), audio (B, 1, D_a), vision (B, 1, D_v):
    /// the one time step is MMSA's squeeze(1) of the time-averaged features (need_normalized) —
    /// and runs the three sub-networks. shape_error naming the modality and both shapes.
    [[nodiscard]] mmsa_subnet_features<T> operator()(const mmsa_batch<T>& inputs) const {
        const std::size_t rows = inputs.text.shape(0);
        check_input("text", inputs.text, rows, dynamic, text_.in_size());
        check_input("audio", inputs.audio, rows, 1, audio_.in_size());
        check_input("vision", inputs.vision, rows, 1, video_.in_size());
        // (B, 1, D) holds the same values as (B, D).
        auto squeezed = [](const xt::xtensor<T, 3>& x) {
            xt::xtensor<T, 2> y = xt::xtensor<T, 2>::from_shape({x.shape(0), x.shape(2)});
            std::copy(x.begin(), x.end(), y.begin());
            return y;
        };
        return {text_(inputs.text), audio_(squeezed(inputs.audio)),
                video_(squeezed(inputs.vision))};
    }

private:
    void check_input(std::string_view modality, const xt::xtensor<T, 3>& x, std::size_t rows,
                     std::size_t steps, std::size_t width) const {
        const bool ok = x.shape(0) == rows && x.shape(0) != 0 &&
                        (steps == dynamic || x.shape(1) == steps) && x.shape(1) != 0 &&
                        x.shape(2) == width;
        if (ok) {
            return;
        }
        throw shape_error(emofuse::detail::concat_message(
            "models::", model_, ": ", modality, " input: expected shape (", rows, ", ",
            steps == dynamic ? std::string("T >= 1") : std::to_string(steps), ", ", width,
            "), got (", x.shape(0), ", ", x.shape(1), ", ", x.shape(2), ")",
            steps == 1 && x.shape(1) != 1
                ? "; MMSA's model takes it averaged over time (need_normalized: run "
                  "prepare_mmsa_inputs)"
                : "",
            x.shape(0) != rows ? " (the batch size must be the text's)" : ""));
    }

    std::string model_;
    mmsa_subnet<T> audio_;
    mmsa_subnet<T> video_;
    mmsa_text_subnet<T> text_;
};

/// The unimodal read-outs of MMSA's multi-task models (MTFN, MLMF, MLF_DNN): per modality,
/// dropout (identity), relu(post_<m>_layer_1), relu(post_<m>_layer_2), post_<m>_layer_3, giving
/// the outputs "T" (from text_h), "A" (audio_h) and "V" (video_h). No range mapping.
template <class T>
class mmsa_unimodal_heads {
public:
    /// Loads `<prefix>post_text_layer_{1,2,3}.` (post_text_dim), `post_audio_layer_…`
    /// (post_audio_dim), `post_video_layer_…` (post_video_dim) for the front's output sizes.
    template <class StateDict>
    static mmsa_unimodal_heads load(const mmsa_config& config, const StateDict& sd,
                                    const std::string& prefix, const mmsa_subnet_front<T>& front) {
        const std::size_t out = config.output_dim();
        return mmsa_unimodal_heads(
            detail::load_mmsa_post_layers<T>(sd, prefix + "post_text_layer_", front.text_out(),
                                             config.size("post_text_dim"), out),
            detail::load_mmsa_post_layers<T>(sd, prefix + "post_audio_layer_", front.audio_hidden(),
                                             config.size("post_audio_dim"), out),
            detail::load_mmsa_post_layers<T>(sd, prefix + "post_video_layer_", front.video_hidden(),
                                             config.size("post_video_dim"), out));
    }

    /// Adds "T", "A" and "V" to `outputs`.
    template <class Outputs>
    void operator()(const mmsa_subnet_features<T>& h, Outputs& outputs) const {
        outputs.emplace("T", text_(h.text));
        outputs.emplace("A", audio_(h.audio));
        outputs.emplace("V", video_(h.video));
    }

private:
    mmsa_unimodal_heads(heads::mlp<T> text, heads::mlp<T> audio, heads::mlp<T> video)
        : text_(std::move(text)), audio_(std::move(audio)), video_(std::move(video)) {}

    heads::mlp<T> text_;
    heads::mlp<T> audio_;
    heads::mlp<T> video_;
};

/// A model on the SubNet/TextSubNet front: TFN, LMF, LF_DNN (single task) and their multi-task
/// twins MTFN, MLMF, MLF_DNN, which add the unimodal read-outs "T", "A", "V" to the same network
/// for "M". `Network` is that fusion network; it provides
///   static std::size_t text_out(const mmsa_config&)     the text sub-network's output size,
///   static Network load(config, sd, prefix, front)      loads its `<prefix>...` tensors,
///   void operator()(features, outputs, with_features)   adds "M" (and "Feature_f"),
///   std::size_t outputs() const                         the width of "M".
/// The model classes derive from it (CRTP: `Model` is the derived class, which names itself in
/// `Model::mmsa_name`, MMSA's model key).
template <class Model, class T, class Network, bool MultiTask>
class mmsa_subnet_model {
public:
    /// Builds MMSA's model for `config` and loads `<prefix>...` tensors (prefix "Model.", as
    /// AMIO's state dict names them). Every shape is checked against the config (an error names
    /// tensor, expected and found shapes); missing tensors and tensors under `prefix` the model
    /// does not use are errors naming them and the model.
    template <class StateDict>
    static Model load(const mmsa_config& config, const StateDict& sd,
                      std::string_view prefix = "Model.") {
        const std::string_view model = Model::mmsa_name;
        const tracking_state_dict<StateDict> tracked(sd);
        const std::string at(prefix);
        auto front = mmsa_subnet_front<T>::load(config, tracked, at, std::string(model),
                                                Network::text_out(config));
        std::optional<mmsa_unimodal_heads<T>> unimodal;
        if constexpr (MultiTask) {
            unimodal = mmsa_unimodal_heads<T>::load(config, tracked, at, front);
        }
        auto network = Network::load(config, tracked, at, front);
        tracked.require_all_read(at, model);
        return Model(mmsa_subnet_model(std::move(front), std::move(unimodal), std::move(network)));
    }

    /// MMSA's forward on prepared inputs (prepare_mmsa_inputs): {"M": (B, output_dim)}, and for the
    /// multi-task models "T", "A", "V" too, each (B, output_dim). Unlike MMSA's multi-task models,
    /// it also runs a batch of one (MMSA's multi-task TextSubNet squeezes the batch axis away there
    /// and its torch.cat fails).
    [[nodiscard]] mmsa_outputs<T> forward(const mmsa_batch<T>& inputs) const {
        return run(inputs, false);
    }

    /// forward, plus what MMSA's dict also returns: Feature_t, Feature_a, Feature_v (the
    /// sub-network outputs) and the model's Feature_f.
    [[nodiscard]] mmsa_outputs<T> forward_with_features(const mmsa_batch<T>& inputs) const {
        return run(inputs, true);
    }

    [[nodiscard]] std::size_t output_dim() const { return network_.outputs(); }

private:
    mmsa_subnet_model(mmsa_subnet_front<T> front, std::optional<mmsa_unimodal_heads<T>> unimodal,
                      Network network)
        : front_(std::move(front)), unimodal_(std::move(unimodal)), network_(std::move(network)) {}

    mmsa_outputs<T> run(const mmsa_batch<T>& inputs, bool with_features) const {
        auto h = front_(inputs);
        mmsa_outputs<T> outputs;
        if (unimodal_) {
            (*unimodal_)(h, outputs);
        }
        network_(h, outputs, with_features);
        if (with_features) {
            outputs.emplace("Feature_t", std::move(h.text));
            outputs.emplace("Feature_a", std::move(h.audio));
            outputs.emplace("Feature_v", std::move(h.video));
        }
        return outputs;
    }

    mmsa_subnet_front<T> front_;
    std::optional<mmsa_unimodal_heads<T>> unimodal_;
    Network network_;
};

} // namespace emofuse::models
