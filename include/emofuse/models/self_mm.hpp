// emofuse/models/self_mm.hpp — MMSA's Self-MM (src/MMSA/models/multiTask/SELF_MM.py): BERT's
// [CLS] state, packed LSTMs over audio and vision, a fusion read-out and three unimodal ones.
#pragma once

#include <emofuse/config.hpp>
#include <emofuse/core/error.hpp>
#include <emofuse/encoders/recurrent.hpp>
#include <emofuse/layers/dense.hpp>
#include <emofuse/models/detail/mmsa_bert.hpp>
#include <emofuse/models/mmsa_config.hpp>
#include <emofuse/models/mmsa_inputs.hpp>
#include <emofuse/models/mmsa_model.hpp>
#include <emofuse/models/mmsa_subnets.hpp>

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace emofuse::models {

/// MMSA's SELF_MM in inference:
///   text  = BertTextEncoder(text_bert)[:, 0, :]                       (B, text_out)
///   audio = linear_1(h_n of LSTM(audio, packed by the lengths))       (B, audio_out)
///   video = the same with video_model                                 (B, video_out)
///   Feature_f = relu(post_fusion_layer_1(cat(text, audio, video))), M = layer_3(relu(layer_2))
///   Feature_t = relu(post_text_layer_1(text)), T = layer_3(relu(layer_2(Feature_t))); A, V alike.
/// The lengths are the inputs' audio_lengths/vision_lengths on unaligned data, and the number
/// of ones in each BERT mask when need_data_aligned (MMSA's trainer passes 0 then). Every head
/// ends in ONE output, in classification too (SELF_MM.py builds them with out_features 1).
template <class T>
class self_mm {
public:
    static constexpr std::string_view mmsa_name = "self_mm";

    self_mm() = default;

    /// Builds MMSA's SELF_MM for `config` and loads `<prefix>...` tensors. Keys: feature_dims,
    /// {a,v}_lstm_hidden_size, {a,v}_lstm_layers (1: MMSA's AuViSubNet squeezes h_n only with
    /// one layer), audio_out, video_out, text_out (= BERT's hidden size), post_{fusion,text,
    /// audio,video}_dim, need_data_aligned, transformers, bert_num_attention_heads (optional).
    /// Missing, mis-shaped and unused tensors are errors naming them.
    template <class StateDict>
    static self_mm load(const mmsa_config& config, const StateDict& sd,
                        std::string_view prefix = "Model.") {
        const tracking_state_dict<StateDict> tracked(sd);
        const std::string at(prefix);
        self_mm model;
        model.aligned_ = config.flag("need_data_aligned");
        model.bert_ =
            detail::mmsa_bert_encoder<T>::load(config, sd, tracked, at + "text_model.", mmsa_name);
        const std::size_t text_out = config.size("text_out");
        if (text_out != model.bert_.hidden_size()) {
            throw value_error("models::self_mm: text_out is " + std::to_string(text_out) +
                              " but BERT's hidden size is " +
                              std::to_string(model.bert_.hidden_size()) +
                              " (SELF_MM feeds BERT's [CLS] state to layers sized by text_out)" +
                              config.context());
        }
        const auto dims = config.feature_dims();
        model.audio_ = load_subnet(config, tracked, at + "audio_model.", "a", dims[1],
                                   config.size("audio_out"));
        model.video_ = load_subnet(config, tracked, at + "video_model.", "v", dims[2],
                                   config.size("video_out"));
        const std::size_t audio_out = model.audio_.linear.out_features();
        const std::size_t video_out = model.video_.linear.out_features();
        model.fusion_ = load_head(config, tracked, at + "post_fusion_layer_",
                                  text_out + audio_out + video_out, "post_fusion_dim");
        model.text_head_ =
            load_head(config, tracked, at + "post_text_layer_", text_out, "post_text_dim");
        model.audio_head_ =
            load_head(config, tracked, at + "post_audio_layer_", audio_out, "post_audio_dim");
        model.video_head_ =
            load_head(config, tracked, at + "post_video_layer_", video_out, "post_video_dim");
        tracked.require_all_read(at, mmsa_name);
        return model;
    }

    /// {"M", "T", "A", "V"}, each (B, 1), on PREPARED inputs (text = text_bert).
    [[nodiscard]] mmsa_outputs<T> forward(const mmsa_batch<T>& inputs) const {
        auto outputs = forward_with_features(inputs);
        for (const char* feature : {"Feature_t", "Feature_a", "Feature_v", "Feature_f"}) {
            outputs.erase(feature);
        }
        return outputs;
    }

    /// SELF_MM's whole output dict: M, T, A, V and Feature_t, Feature_a, Feature_v (the
    /// unimodal heads' first hidden layers) and Feature_f (the fusion head's).
    [[nodiscard]] mmsa_outputs<T> forward_with_features(const mmsa_batch<T>& inputs) const {
        const auto tokens = detail::mmsa_bert_encoder<T>::tokens(inputs.text, mmsa_name);
        const std::size_t batch = tokens.batch();
        detail::check_sequence_input(mmsa_name, inputs.audio, batch,
                                     audio_.rnn.options().input_size, "audio");
        detail::check_sequence_input(mmsa_name, inputs.vision, batch,
                                     video_.rnn.options().input_size, "vision");
        const auto [audio_lengths, vision_lengths] =
            detail::sequence_lengths(inputs, tokens, aligned_, mmsa_name);
        const auto text = detail::first_token(bert_(tokens));
        const auto audio = audio_(inputs.audio, audio_lengths);
        const auto video = video_(inputs.vision, vision_lengths);

        mmsa_outputs<T> outputs;
        const auto fused = detail::concat_columns<T>({&text, &audio, &video});
        fusion_.run(fused, "M", "Feature_f", outputs);
        text_head_.run(text, "T", "Feature_t", outputs);
        audio_head_.run(audio, "A", "Feature_a", outputs);
        video_head_.run(video, "V", "Feature_v", outputs);
        return outputs;
    }

    /// 1 in both train modes (SELF_MM's heads have one output).
    [[nodiscard]] std::size_t output_dim() const { return 1; }

private:
    /// AuViSubNet: a batch-first nn.LSTM run on packed sequences, its final h, then linear_1.
    struct subnet {
        encoders::lstm<T> rnn;
        layers::dense<T> linear;

        xt::xtensor<T, 2> operator()(const xt::xtensor<T, 3>& x,
                                     const std::vector<std::size_t>& lengths) const {
            const auto states = rnn(x, lengths);
            return detail::dense_rows(linear, detail::state_rows(states.h_n, 0));
        }
    };

    /// relu(layer_1) → the feature, relu(layer_2), layer_3 → the output.
    struct head {
        layers::dense<T> first, second, third;

        void run(const xt::xtensor<T, 2>& x, const char* output, const char* feature,
                 mmsa_outputs<T>& outputs) const {
            auto hidden = detail::dense_rows(first, x, layers::activation::relu);
            outputs.emplace(
                output, detail::dense_rows(
                            third, detail::dense_rows(second, hidden, layers::activation::relu)));
            outputs.emplace(feature, std::move(hidden));
        }
    };

    template <class Tracked>
    static subnet load_subnet(const mmsa_config& config, const Tracked& sd,
                              const std::string& prefix, const std::string& letter, std::size_t in,
                              std::size_t out) {
        const std::size_t layers = config.size(letter + "_lstm_layers");
        if (layers != 1) {
            throw value_error("models::self_mm: " + letter + "_lstm_layers is " +
                              std::to_string(layers) +
                              "; MMSA's AuViSubNet squeezes h_n to (batch, hidden) only for one "
                              "layer (with more, SELF_MM's torch.cat fails)" +
                              config.context());
        }
        const std::size_t hidden = config.size(letter + "_lstm_hidden_size");
        subnet net;
        net.rnn = encoders::lstm<T>::from_state_dict(
            sd, prefix + "rnn.", {.input_size = in, .hidden_size = hidden, .batch_first = true});
        net.linear = detail::load_mmsa_linear<T>(sd, prefix + "linear_1.", hidden, out);
        return net;
    }

    template <class Tracked>
    static head load_head(const mmsa_config& config, const Tracked& sd, const std::string& stem,
                          std::size_t in, const std::string& width_key) {
        const std::size_t width = config.size(width_key);
        return {detail::load_mmsa_linear<T>(sd, stem + "1.", in, width),
                detail::load_mmsa_linear<T>(sd, stem + "2.", width, width),
                detail::load_mmsa_linear<T>(sd, stem + "3.", width, 1)};
    }

    bool aligned_ = false;
    detail::mmsa_bert_encoder<T> bert_;
    subnet audio_, video_;
    head fusion_, text_head_, audio_head_, video_head_;
};

} // namespace emofuse::models
