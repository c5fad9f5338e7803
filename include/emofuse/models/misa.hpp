// emofuse/models/misa.hpp — MMSA's MISA (src/MMSA/models/singleTask/MISA.py): modality-invariant
// and -specific representations of BERT's masked mean and two stacked bidirectional RNNs per
// non-verbal modality, fused by one nn.TransformerEncoderLayer over the six codes.
#pragma once

#include <emofuse/attention/load.hpp>
#include <emofuse/attention/torch_transformer.hpp>
#include <emofuse/config.hpp>
#include <emofuse/core/error.hpp>
#include <emofuse/encoders/recurrent.hpp>
#include <emofuse/layers/dense.hpp>
#include <emofuse/layers/layer_norm.hpp>
#include <emofuse/models/detail/mmsa_bert.hpp>
#include <emofuse/models/mmsa_config.hpp>
#include <emofuse/models/mmsa_inputs.hpp>
#include <emofuse/models/mmsa_model.hpp>
#include <emofuse/models/mmsa_subnets.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace emofuse::models {

/// MMSA's MISA in inference (use_bert, the only mode MISA.py accepts):
///   lengths = the ones in each BERT mask (MISA packs audio AND vision with the TEXT's lengths,
///             ignoring audio_lengths/vision_lengths; each must not exceed their steps)
///   u_t = Σ_t mask·BERT(text_bert)[t] / Σ_t mask                         (B, 768)
///   u_v = [h1_fwd, h2_fwd, h1_bwd, h2_bwd]: h1 = final states of vrnn1 (bidirectional LSTM or
///         GRU, `rnncell`) over the packed vision, h2 = those of vrnn2 over vlayer_norm of
///         vrnn1's outputs (4·feature_dims[2]); u_a alike with arnn1, arnn2, alayer_norm
///   o_m = LayerNorm(relu(project_m(u_m)))                                 (B, hidden_size)
///   private_m = sigmoid(private_m(o_m)), shared_m = sigmoid(shared(o_m))
///   h = nn.TransformerEncoderLayer(d_model=hidden_size, nhead=2; post-LN, ReLU, eps 1e-5) over
///       the six codes (private t, v, a, shared t, v, a), concatenated in that order
///   M = fusion_layer_3(relu(fusion_layer_1(h)))
/// The reconstruction, discriminator and shared-private discriminator layers and tlayer_norm
/// serve the training losses: their tensors are shape-checked, not run.
template <class T>
class misa {
public:
    static constexpr std::string_view mmsa_name = "misa";
    /// Not split over the batch by parallel_forward: its transformer layer's 2048-wide
    /// feed-forward product gets depth blocks from the GEMM that depend on the row count
    /// (6 per sample), so a run of rows would differ in the last bits from the whole batch.
    static constexpr bool batch_invariant = false;

    misa() = default;

    /// Builds MMSA's MISA for `config` and loads `<prefix>...` tensors. Keys: feature_dims,
    /// hidden_size, rnncell ("lstm", else GRU), use_cmd_sim (false: a `discriminator` is in the
    /// checkpoint), transformers, bert_num_attention_heads (optional), train_mode/num_classes.
    /// BERT's hidden size must be 768 (MISA's project_t is nn.Linear(768, hidden_size)).
    /// Missing, mis-shaped and unused tensors are errors naming them.
    template <class StateDict>
    static misa load(const mmsa_config& config, const StateDict& sd,
                     std::string_view prefix = "Model.") {
        const tracking_state_dict<StateDict> tracked(sd);
        const std::string at(prefix);
        misa model;
        model.bert_ =
            detail::mmsa_bert_encoder<T>::load(config, sd, tracked, at + "bertmodel.", mmsa_name);
        if (model.bert_.hidden_size() != 768) {
            throw value_error("models::misa: BERT's hidden size is " +
                              std::to_string(model.bert_.hidden_size()) +
                              "; MISA.py projects it with nn.Linear(768, hidden_size), so only "
                              "768-wide BERTs (bert-base-*) run in MISA" +
                              config.context());
        }
        const auto dims = config.feature_dims();
        const std::size_t hs = config.size("hidden_size");
        const bool lstm = config.at("rnncell") == "lstm";
        model.visual_ = load_stack(tracked, at, "v", dims[2], lstm);
        model.acoustic_ = load_stack(tracked, at, "a", dims[1], lstm);
        static_cast<void>(load_norm(tracked, at + "tlayer_norm.", 2 * dims[0])); // unused

        const auto projection = [&](const std::string& m, std::size_t in) {
            const std::string stem = at + "project_" + m + ".project_" + m;
            return projected{detail::load_mmsa_linear<T>(tracked, stem + ".", in, hs),
                             load_norm(tracked, stem + "_layer_norm.", hs)};
        };
        model.project_t_ = projection("t", 768);
        model.project_v_ = projection("v", 4 * dims[2]);
        model.project_a_ = projection("a", 4 * dims[1]);
        model.private_t_ =
            detail::load_mmsa_linear<T>(tracked, at + "private_t.private_t_1.", hs, hs);
        model.private_v_ =
            detail::load_mmsa_linear<T>(tracked, at + "private_v.private_v_1.", hs, hs);
        model.private_a_ =
            detail::load_mmsa_linear<T>(tracked, at + "private_a.private_a_3.", hs, hs);
        model.shared_ = detail::load_mmsa_linear<T>(tracked, at + "shared.shared_1.", hs, hs);
        for (const char* m : {"t", "v", "a"}) {
            const std::string name = std::string("recon_") + m;
            static_cast<void>(
                detail::load_mmsa_linear<T>(tracked, at + name + "." + name + "_1.", hs, hs));
        }
        if (!config.flag("use_cmd_sim")) {
            static_cast<void>(detail::load_mmsa_linear<T>(
                tracked, at + "discriminator.discriminator_layer_1.", hs, hs));
            static_cast<void>(detail::load_mmsa_linear<T>(
                tracked, at + "discriminator.discriminator_layer_2.", hs, 3));
        }
        static_cast<void>(detail::load_mmsa_linear<T>(
            tracked, at + "sp_discriminator.sp_discriminator_layer_1.", hs, 4));
        if (hs % 2 != 0) {
            throw value_error("models::misa: hidden_size " + std::to_string(hs) +
                              " is odd; MISA's transformer layer has 2 heads" + config.context());
        }
        model.fusion_encoder_ =
            attention::load_torch_encoder_layer<T>(tracked, at + "transformer_encoder.layers.0.", 2,
                                                   attention::torch_encoder_options::pytorch());
        check_size("models::misa", "transformer_encoder.layers.0 d_model (hidden_size)", hs,
                   model.fusion_encoder_.d_model());
        model.fusion_1_ =
            detail::load_mmsa_linear<T>(tracked, at + "fusion.fusion_layer_1.", 6 * hs, 3 * hs);
        model.fusion_3_ = detail::load_mmsa_linear<T>(tracked, at + "fusion.fusion_layer_3.",
                                                      3 * hs, config.output_dim());
        tracked.require_all_read(at, mmsa_name);
        return model;
    }

    /// {"M"} on PREPARED inputs (text = text_bert).
    [[nodiscard]] mmsa_outputs<T> forward(const mmsa_batch<T>& inputs) const {
        const auto tokens = detail::mmsa_bert_encoder<T>::tokens(inputs.text, mmsa_name);
        const std::size_t batch = tokens.batch();
        detail::check_sequence_input(mmsa_name, inputs.audio, batch, acoustic_.input_size(),
                                     "audio");
        detail::check_sequence_input(mmsa_name, inputs.vision, batch, visual_.input_size(),
                                     "vision");
        const auto lengths = detail::mask_lengths(tokens, mmsa_name);
        check_text_lengths(lengths, inputs.audio.shape(1), "audio");
        check_text_lengths(lengths, inputs.vision.shape(1), "vision");

        const std::size_t hs = shared_.out_features();
        const auto text = masked_mean(bert_(tokens), tokens);
        const auto video = visual_(inputs.vision, lengths);
        const auto audio = acoustic_(inputs.audio, lengths);
        const auto o_t = project_t_(text), o_v = project_v_(video), o_a = project_a_(audio);

        // The six codes of each sample as one (B, 6, hs) batch-first sequence: the layer runs
        // per sample, so this is MISA's (6, B, hs) stack, and its rows are h's concatenation.
        xt::xtensor<T, 3> codes = xt::xtensor<T, 3>::from_shape({batch, 6, hs});
        const std::array<std::pair<const layers::dense<T>*, const xt::xtensor<T, 2>*>, 6> parts{
            {{&private_t_, &o_t},
             {&private_v_, &o_v},
             {&private_a_, &o_a},
             {&shared_, &o_t},
             {&shared_, &o_v},
             {&shared_, &o_a}}};
        for (std::size_t k = 0; k < parts.size(); ++k) {
            const auto& [layer, input] = parts[k];
            layer->apply(input->data(), hs, batch, codes.data() + k * hs, 6 * hs,
                         layers::activation::sigmoid);
        }
        codes = fusion_encoder_(codes);
        xt::xtensor<T, 2> h = xt::xtensor<T, 2>::from_shape({batch, 6 * hs});
        std::copy(codes.begin(), codes.end(), h.begin());
        mmsa_outputs<T> outputs;
        outputs.emplace(
            "M", detail::dense_rows(fusion_3_,
                                    detail::dense_rows(fusion_1_, h, layers::activation::relu)));
        return outputs;
    }

    /// The same as forward: MISA's forward returns only "M".
    [[nodiscard]] mmsa_outputs<T> forward_with_features(const mmsa_batch<T>& inputs) const {
        return forward(inputs);
    }

    [[nodiscard]] std::size_t output_dim() const { return fusion_3_.out_features(); }

private:
    /// extract_features: rnn1 over the packed sequence, its outputs (zero past each length)
    /// layer-normalised, rnn2 over those; [h1_fwd, h2_fwd, h1_bwd, h2_bwd] per sample.
    template <class Rnn>
    struct stack_of {
        Rnn first, second;
        layers::layer_norm<T> norm;

        xt::xtensor<T, 2> operator()(const xt::xtensor<T, 3>& x,
                                     const std::vector<std::size_t>& lengths) const {
            auto one = first(x, lengths);
            auto& between = one.output; // (B, T, 2H), batch-first
            const std::size_t width = between.shape(2);
            norm.apply(between.data(), width, between.shape(0) * between.shape(1), between.data(),
                       width);
            const auto two = second(between, lengths);
            const std::size_t batch = x.shape(0), hidden = width / 2;
            xt::xtensor<T, 2> joined = xt::xtensor<T, 2>::from_shape({batch, 4 * hidden});
            const std::array<const xt::xtensor<T, 3>*, 4> order{&one.h_n, &two.h_n, &one.h_n,
                                                                &two.h_n};
            for (std::size_t b = 0; b < batch; ++b) {
                for (std::size_t k = 0; k < 4; ++k) {
                    const std::size_t direction = k / 2;
                    std::copy_n(order[k]->data() + (direction * batch + b) * hidden, hidden,
                                joined.data() + b * 4 * hidden + k * hidden);
                }
            }
            return joined;
        }
    };

    /// vrnn/arnn as LSTMs or GRUs (`rnncell`).
    struct rnn_stack {
        std::variant<stack_of<encoders::lstm<T>>, stack_of<encoders::gru<T>>> stack;

        [[nodiscard]] std::size_t input_size() const {
            return std::visit([](const auto& s) { return s.first.options().input_size; }, stack);
        }
        xt::xtensor<T, 2> operator()(const xt::xtensor<T, 3>& x,
                                     const std::vector<std::size_t>& lengths) const {
            return std::visit([&](const auto& s) { return s(x, lengths); }, stack);
        }
    };

    /// project_m: LayerNorm(relu(Linear(u))).
    struct projected {
        layers::dense<T> linear;
        layers::layer_norm<T> norm;

        xt::xtensor<T, 2> operator()(const xt::xtensor<T, 2>& u) const {
            auto y = detail::dense_rows(linear, u, layers::activation::relu);
            norm.apply(y.data(), y.shape(1), y.shape(0), y.data(), y.shape(1));
            return y;
        }
    };

    template <class Tracked>
    static layers::layer_norm<T> load_norm(const Tracked& sd, const std::string& prefix,
                                           std::size_t size) {
        auto weight = sd.template tensor<T, 1>(prefix + "weight", std::array<std::size_t, 1>{size});
        auto bias = sd.template tensor<T, 1>(prefix + "bias", std::array<std::size_t, 1>{size});
        return layers::layer_norm<T>(std::move(weight), std::move(bias), T(1e-5));
    }

    template <class Tracked>
    static rnn_stack load_stack(const Tracked& sd, const std::string& at, const std::string& m,
                                std::size_t size, bool lstm) {
        const auto load = [&]<class Rnn>() {
            const encoders::rnn_options first{.input_size = size,
                                              .hidden_size = size,
                                              .bidirectional = true,
                                              .batch_first = true};
            auto second = first;
            second.input_size = 2 * size;
            return stack_of<Rnn>{Rnn::from_state_dict(sd, at + m + "rnn1.", first),
                                 Rnn::from_state_dict(sd, at + m + "rnn2.", second),
                                 load_norm(sd, at + m + "layer_norm.", 2 * size)};
        };
        if (lstm) {
            return {load.template operator()<encoders::lstm<T>>()};
        }
        return {load.template operator()<encoders::gru<T>>()};
    }

    /// Σ_t mask·hidden[t] / Σ_t mask per sample (B, hidden).
    static xt::xtensor<T, 2> masked_mean(const xt::xtensor<T, 3>& hidden,
                                         const language::bert_tokens& tokens) {
        const std::size_t batch = hidden.shape(0), seq = hidden.shape(1), width = hidden.shape(2);
        xt::xtensor<T, 2> mean = xt::zeros<T>({batch, width});
        for (std::size_t b = 0; b < batch; ++b) {
            T count = 0;
            T* row = mean.data() + b * width;
            for (std::size_t t = 0; t < seq; ++t) {
                const T weight = static_cast<T>(tokens.attention_mask(b, t));
                count += weight;
                if (weight != T(0)) {
                    const T* step = hidden.data() + (b * seq + t) * width;
                    for (std::size_t j = 0; j < width; ++j) {
                        row[j] += weight * step[j];
                    }
                }
            }
            for (std::size_t j = 0; j < width; ++j) {
                row[j] /= count;
            }
        }
        return mean;
    }

    static void check_text_lengths(const std::vector<std::size_t>& lengths, std::size_t steps,
                                   const char* modality) {
        for (std::size_t b = 0; b < lengths.size(); ++b) {
            if (lengths[b] > steps) {
                throw shape_error("models::misa: sample " + std::to_string(b) + " has " +
                                  std::to_string(lengths[b]) + " text tokens but " + modality +
                                  " has " + std::to_string(steps) +
                                  " steps; MISA packs audio and vision with the text's lengths "
                                  "(its BERT mask), which must not exceed their steps");
            }
        }
    }

    detail::mmsa_bert_encoder<T> bert_;
    rnn_stack visual_, acoustic_;
    projected project_t_, project_v_, project_a_;
    layers::dense<T> private_t_, private_v_, private_a_, shared_;
    attention::torch_encoder_layer<T> fusion_encoder_;
    layers::dense<T> fusion_1_, fusion_3_;
};

} // namespace emofuse::models
