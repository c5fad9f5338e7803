// emofuse/models/tetfn.hpp — MMSA's TETFN (src/MMSA/models/multiTask/TETFN.py): BERT text,
// LSTM+Conv1d audio and vision, MulT-style crossmodal transformers with two text-enhanced
// ones, and four heads (M, T, A, V), built from MMSA's configuration and loaded from its AMIO
// checkpoint.
#pragma once

#include <emofuse/attention/crossmodal.hpp>
#include <emofuse/attention/load.hpp>
#include <emofuse/config.hpp>
#include <emofuse/core/error.hpp>
#include <emofuse/encoders/conv1d.hpp>
#include <emofuse/encoders/recurrent.hpp>
#include <emofuse/layers/dense.hpp>
#include <emofuse/models/detail/mmsa_bert_models.hpp>
#include <emofuse/models/detail/recurrent_common.hpp>
#include <emofuse/models/mmsa_config.hpp>
#include <emofuse/models/mmsa_inputs.hpp>
#include <emofuse/models/mmsa_model.hpp>
#include <emofuse/models/mult.hpp>
#include <emofuse/text/bert.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <limits>
#include <string>
#include <string_view>
#include <utility>

namespace emofuse::models {

/// MMSA's TETFN, eval mode. Batch-first throughout (MMSA permutes to (T, B, d) for its
/// encoders; the values are the same):
///   l = Conv1d_l(BERT(text_bert)),  a = Conv1d_a(LSTM_a(audio)),  v = Conv1d_v'(LSTM_v(vision))
///   (LSTMs over the whole padded sequences — the lengths TETFN receives are not used; kernels
///   conv1d_kernel_size_l and, for BOTH audio and vision, conv1d_kernel_size_a: MMSA's
///   video_model is built with the audio kernel; no padding, no bias)
///   h_l = mem_l([E_la(l, a), E_lv(l, v)]),  h_a = mem_a([E_al(a, l), TE_av(v, a, l)]),
///   h_v = mem_v([E_vl(v, l), TE_va(a, v, l)]),  TE(q, k, t) = upper(k, lower(q, t))
/// where E are MMSA's TransformerEncoders (2 layers, √d scaling, no positions, future mask),
/// TE's lower (1 layer) and upper (2 layers) add sinusoidal positions, and mem (2 layers,
/// width 2d) runs self-attention; each takes its last step. Then
///   Feature_f = ReLU(pf₁([h_l, h_a, h_v])), M = pf₃(ReLU(pf₂(Feature_f)))
///   Feature_m = ReLU(p_m₁(max over time of m)), m ∈ {t: l, a, v}, T/A/V = p_m₃(ReLU(p_m₂(·)))
/// Every head ends in one output whatever train_mode says (post_*_layer_3 are Linear(·, 1)).
template <class T>
class tetfn {
public:
    tetfn() = default;

    /// Loads `<prefix>text_model.model.*` (BERT or RoBERTa by `transformers`),
    /// `audio_model.*`, `video_model.*`, `proj_l.*`, the nine encoders, and the post-fusion,
    /// text, audio and video layers. Configuration keys: feature_dims, a_lstm_hidden_size,
    /// v_lstm_hidden_size, a_lstm_layers, v_lstm_layers, conv1d_kernel_size_l,
    /// conv1d_kernel_size_a, dst_feature_dims, nheads, post_{fusion,text,audio,video}_dim,
    /// transformers, bert_num_attention_heads (optional). Missing, mis-shaped or unknown
    /// tensors: errors naming them.
    template <class StateDict>
    static tetfn load(const mmsa_config& config, const StateDict& sd,
                      std::string_view prefix = "Model.") {
        const std::string at(prefix);
        tracking_state_dict<StateDict> tracked(sd);
        tetfn model;
        model.bert_ =
            detail::load_mmsa_bert<T>("tetfn", config, sd, tracked, at + "text_model.model.");
        const auto dims = config.feature_dims();
        const std::size_t d = config.size("dst_feature_dims");
        const std::size_t heads = config.size("nheads");
        if (heads == 0 || d == 0 || d % heads != 0) {
            throw value_error("models::tetfn: dst_feature_dims (" + std::to_string(d) +
                              ") must be a positive multiple of nheads (" + std::to_string(heads) +
                              ")" + config.context());
        }
        model.d_ = d;
        model.audio_dim_ = dims[1];
        model.vision_dim_ = dims[2];
        const std::size_t kernel_l = positive(config, "conv1d_kernel_size_l");
        const std::size_t kernel_a = positive(config, "conv1d_kernel_size_a");
        model.proj_l_ = encoders::conv1d<T>::from_state_dict(
            tracked, at + "proj_l.",
            encoders::conv1d_options{model.bert_.hidden_size(), d, kernel_l, 1, 0, 1, false});
        const std::array<const char*, 2> subnets{"audio_model.", "video_model."};
        const std::array<const char*, 2> keys{"a_lstm_", "v_lstm_"};
        for (std::size_t m = 0; m < 2; ++m) {
            encoders::rnn_options options;
            options.input_size = dims[m + 1];
            options.hidden_size = config.size(std::string(keys[m]) + "hidden_size");
            options.num_layers = config.size(std::string(keys[m]) + "layers");
            options.batch_first = true;
            model.lstm_[m] =
                encoders::lstm<T>::from_state_dict(tracked, at + subnets[m] + "rnn.", options);
            model.conv_[m] = encoders::conv1d<T>::from_state_dict(
                tracked, at + subnets[m] + "conv.",
                encoders::conv1d_options{options.hidden_size, d, kernel_a, 1, 0, 1, false});
        }

        detail::mult_shape_map shapes;
        for (const char* name :
             {"trans_l_with_a", "trans_l_with_v", "trans_a_with_l", "trans_v_with_l"}) {
            detail::add_mmsa_encoder_shapes(shapes, at + name + ".", d, 2);
        }
        for (const char* name : {"trans_a_with_v", "trans_v_with_a"}) {
            detail::add_mmsa_encoder_shapes(shapes, at + name + ".lower_mha.", d, 1);
            detail::add_mmsa_encoder_shapes(shapes, at + name + ".upper_mha.", d, 2);
            for (const char* part : {".lower_mha.", ".upper_mha."}) {
                shapes[at + name + part + "embed_positions._float_tensor"] = {1};
            }
        }
        for (const char* name : {"trans_l_mem", "trans_a_mem", "trans_v_mem"}) {
            detail::add_mmsa_encoder_shapes(shapes, at + name + ".", 2 * d, 2);
        }
        detail::require_listed_tensors("tetfn", "TETFN", tracked, shapes, config);
        const detail::mult_shaped_state_dict<tracking_state_dict<StateDict>> view(tracked, shapes);
        auto plain = attention::encoder_options::mmsa();
        plain.mask_future = true; // get_network(..., attn_mask=True)
        auto positioned = plain;
        positioned.add_positions = true; // TextEnhancedTransformer's position_embedding=True
        positioned.positions = attention::position_options{0, true};
        const auto encoder = [&](const std::string& name, const attention::encoder_options& o) {
            return attention::load_crossmodal_encoder<T>(view, at + name + ".", heads, o);
        };
        model.l_with_a_ = encoder("trans_l_with_a", plain);
        model.l_with_v_ = encoder("trans_l_with_v", plain);
        model.a_with_l_ = encoder("trans_a_with_l", plain);
        model.v_with_l_ = encoder("trans_v_with_l", plain);
        model.a_with_v_lower_ = encoder("trans_a_with_v.lower_mha", positioned);
        model.a_with_v_upper_ = encoder("trans_a_with_v.upper_mha", positioned);
        model.v_with_a_lower_ = encoder("trans_v_with_a.lower_mha", positioned);
        model.v_with_a_upper_ = encoder("trans_v_with_a.upper_mha", positioned);
        model.memory_[0] = encoder("trans_l_mem", plain);
        model.memory_[1] = encoder("trans_a_mem", plain);
        model.memory_[2] = encoder("trans_v_mem", plain);
        for (const auto& [name, shape] : shapes) {
            if (name.ends_with(".version") || name.ends_with("._float_tensor")) {
                tracked.ignore(name); // buffers the forward never reads
            }
        }

        const std::array<const char*, 4> heads_names{"fusion", "text", "audio", "video"};
        const std::array<std::size_t, 4> inputs{6 * d, d, d, d};
        for (std::size_t h = 0; h < 4; ++h) {
            const std::string base = at + "post_" + heads_names[h] + "_layer_";
            const std::size_t width = config.size("post_" + std::string(heads_names[h]) + "_dim");
            model.post_[h][0] =
                detail::load_mmsa_linear<T>(tracked, "tetfn", base + "1", inputs[h], width);
            model.post_[h][1] =
                detail::load_mmsa_linear<T>(tracked, "tetfn", base + "2", width, width);
            model.post_[h][2] = detail::load_mmsa_linear<T>(tracked, "tetfn", base + "3", width, 1);
        }
        tracked.require_all_read(prefix, "tetfn");
        return model;
    }

    /// MMSA's forward on PREPARED inputs: "M", "T", "A", "V" (batch, 1).
    [[nodiscard]] mmsa_outputs<T> forward(const mmsa_batch<T>& inputs) const {
        auto all = forward_with_features(inputs);
        mmsa_outputs<T> outputs;
        for (const char* key : {"M", "T", "A", "V"}) {
            outputs.emplace(key, std::move(all.at(key)));
        }
        return outputs;
    }

    /// MMSA's whole output dict: M, T, A, V and Feature_t, Feature_a, Feature_v, Feature_f.
    /// shape_error naming the modality for a text that is not (batch, 3, T), audio or vision
    /// whose batch or width differs, or a sequence shorter than its convolution's kernel;
    /// value_error for bad token rows.
    [[nodiscard]] mmsa_outputs<T> forward_with_features(const mmsa_batch<T>& inputs) const {
        const language::bert_tokens tokens = detail::mmsa_bert_tokens("tetfn", inputs.text);
        const std::size_t batch = tokens.batch();
        check_modality("audio", inputs.audio, batch, audio_dim_, conv_[0]);
        check_modality("vision", inputs.vision, batch, vision_dim_, conv_[1]);
        if (tokens.seq() < proj_l_.options().kernel_size) {
            throw shape_error("models::tetfn: text: " + std::to_string(tokens.seq()) +
                              " tokens, fewer than proj_l's kernel size (" +
                              std::to_string(proj_l_.options().kernel_size) + ")");
        }
        const auto l = proj_l_.forward_channels_last(bert_.forward(tokens));
        const auto a = conv_[0].forward_channels_last(lstm_[0](inputs.audio).output);
        const auto v = conv_[1].forward_channels_last(lstm_[1](inputs.vision).output);

        const auto h_l = memory_[0](concat(l_with_a_(l, a), l_with_v_(l, v)));
        const auto h_a =
            memory_[1](concat(a_with_l_(a, l), a_with_v_upper_(a, a_with_v_lower_(v, l))));
        const auto h_v =
            memory_[2](concat(v_with_l_(v, l), v_with_a_upper_(v, v_with_a_lower_(a, l))));
        const std::size_t width = 2 * d_;
        xt::xtensor<T, 2> fused = xt::xtensor<T, 2>::from_shape({batch, 3 * width});
        std::size_t part = 0;
        for (const auto* h : {&h_l, &h_a, &h_v}) {
            const std::size_t steps = h->shape(1);
            for (std::size_t b = 0; b < batch; ++b) {
                const T* last = h->data() + (b * steps + steps - 1) * width;
                std::copy_n(last, width, fused.data() + b * 3 * width + part * width);
            }
            ++part;
        }
        mmsa_outputs<T> outputs;
        const std::array<const char*, 4> keys{"M", "T", "A", "V"};
        const std::array<const char*, 4> features{"Feature_f", "Feature_t", "Feature_a",
                                                  "Feature_v"};
        const std::array<xt::xtensor<T, 2>, 4> head_inputs{fused, max_over_time(l),
                                                           max_over_time(a), max_over_time(v)};
        for (std::size_t h = 0; h < 4; ++h) {
            auto [feature, output] = run_head(post_[h], head_inputs[h]);
            outputs.emplace(features[h], std::move(feature));
            outputs.emplace(keys[h], std::move(output));
        }
        return outputs;
    }

    [[nodiscard]] std::size_t output_dim() const { return 1; }

private:
    static std::size_t positive(const mmsa_config& config, const char* key) {
        const std::size_t value = config.size(key);
        if (value == 0) {
            throw value_error(std::string("models::tetfn: ") + key +
                              ": expected at least 1, got 0" + config.context());
        }
        return value;
    }

    static void check_modality(const char* what, const xt::xtensor<T, 3>& values, std::size_t batch,
                               std::size_t width, const encoders::conv1d<T>& conv) {
        if (values.shape(0) != batch || values.shape(2) != width ||
            values.shape(1) < conv.options().kernel_size) {
            throw shape_error(
                std::string("models::tetfn: ") + what + ": expected shape (" +
                std::to_string(batch) + ", steps ≥ " + std::to_string(conv.options().kernel_size) +
                ", " + std::to_string(width) +
                ") (text_bert's batch, the Conv1d kernel, feature_dims' width), "
                "got (" +
                std::to_string(values.shape(0)) + ", " + std::to_string(values.shape(1)) + ", " +
                std::to_string(values.shape(2)) + ")");
        }
    }

    /// [x, y] along the features; both (batch, steps, d).
    static xt::xtensor<T, 3> concat(const xt::xtensor<T, 3>& x, const xt::xtensor<T, 3>& y) {
        const std::size_t rows = x.shape(0) * x.shape(1), d = x.shape(2);
        xt::xtensor<T, 3> joined = xt::xtensor<T, 3>::from_shape({x.shape(0), x.shape(1), 2 * d});
        for (std::size_t r = 0; r < rows; ++r) {
            std::copy_n(x.data() + r * d, d, joined.data() + r * 2 * d);
            std::copy_n(y.data() + r * d, d, joined.data() + r * 2 * d + d);
        }
        return joined;
    }

    /// torch.max over the time axis (padding steps included, as in MMSA).
    static xt::xtensor<T, 2> max_over_time(const xt::xtensor<T, 3>& x) {
        const std::size_t batch = x.shape(0), steps = x.shape(1), d = x.shape(2);
        xt::xtensor<T, 2> result = xt::xtensor<T, 2>::from_shape({batch, d});
        std::fill(result.begin(), result.end(), -std::numeric_limits<T>::infinity());
        for (std::size_t b = 0; b < batch; ++b) {
            for (std::size_t t = 0; t < steps; ++t) {
                const T* row = x.data() + (b * steps + t) * d;
                for (std::size_t c = 0; c < d; ++c) {
                    result(b, c) = std::max(result(b, c), row[c]);
                }
            }
        }
        return result;
    }

    /// (ReLU(layer₁(x)), layer₃(ReLU(layer₂(ReLU(layer₁(x)))))).
    static std::pair<xt::xtensor<T, 2>, xt::xtensor<T, 2>>
    run_head(const std::array<layers::dense<T>, 3>& head, const xt::xtensor<T, 2>& x) {
        const std::size_t batch = x.shape(0);
        xt::xtensor<T, 2> feature = xt::xtensor<T, 2>::from_shape({batch, head[0].out_features()});
        head[0].apply(x.data(), batch, feature.data(), kernels::epilogue::relu);
        xt::xtensor<T, 2> hidden = xt::xtensor<T, 2>::from_shape({batch, head[1].out_features()});
        head[1].apply(feature.data(), batch, hidden.data(), kernels::epilogue::relu);
        xt::xtensor<T, 2> output = xt::xtensor<T, 2>::from_shape({batch, 1});
        head[2].apply(hidden.data(), batch, output.data());
        return {std::move(feature), std::move(output)};
    }

    language::bert_model<T> bert_;
    encoders::conv1d<T> proj_l_;
    std::array<encoders::lstm<T>, 2> lstm_;   ///< audio, video
    std::array<encoders::conv1d<T>, 2> conv_; ///< audio, video
    attention::crossmodal_encoder<T> l_with_a_, l_with_v_, a_with_l_, v_with_l_;
    attention::crossmodal_encoder<T> a_with_v_lower_, a_with_v_upper_, v_with_a_lower_,
        v_with_a_upper_;
    std::array<attention::crossmodal_encoder<T>, 3> memory_; ///< l, a, v
    std::array<std::array<layers::dense<T>, 3>, 4> post_;    ///< fusion, text, audio, video
    std::size_t d_ = 0, audio_dim_ = 0, vision_dim_ = 0;
};

} // namespace emofuse::models
