// emofuse/models/mmim.hpp — MMSA's MMIM, MultiModal InfoMax (src/MMSA/models/singleTask/MMIM.py):
// BERT's [CLS] state, packed LSTM encoders for audio and vision, a tanh fusion network, and the
// two mutual-information terms MMIM's forward also returns (lld, nce).
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

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace emofuse::models {

/// MMSA's MMIM in inference (no labels, so MMILB's entropy term H is 0 and not returned):
///   text_h   = BertTextEncoder(text_bert)[:, 0, :]                       (B, d_tout = hidden)
///   audio_h  = linear_1(h of LSTM(audio, packed by lengths)), vision_h alike
///   Feature_f = tanh(linear_2(tanh(linear_1(cat(text_h, audio_h, vision_h))))),
///   M = linear_3(Feature_f)                                               (fusion_prj)
///   lld = Σ over mi_tv(text_h, vision_h), mi_ta(text_h, audio_h) [, mi_va(vision_h, audio_h)]
///         of mean_b Σ_j −(mu − y)² / (2·exp(logvar)), mu and logvar two-layer MLPs of x
///   nce = Σ over cpc_zt, cpc_zv, cpc_za of −mean_b(pos − logsumexp_j(x̂_b · p̂_j)) with
///         p = net(Feature_f) and x (text_h, vision_h, audio_h) both scaled to unit length.
/// h is the concatenation of h_n[0] and h_n[1] with `bidirectional` (the FIRST layer's two
/// directions, also with n_layer > 1, as MMIM's RNNEncoder indexes it), else h_n (one layer).
/// The lengths are audio_lengths/vision_lengths on unaligned data, the BERT mask's counts when
/// need_data_aligned.
template <class T>
class mmim {
public:
    static constexpr std::string_view mmsa_name = "mmim";

    mmim() = default;

    /// Builds MMSA's MMIM for `config` and loads `<prefix>...` tensors. Keys: feature_dims
    /// (feature_dims[0] = BERT's hidden size, MMIM's d_tout), d_{a,v}h, d_{a,v}out, n_layer,
    /// bidirectional, d_prjh, add_va, cpc_layers, cpc_activation, mmilb_mid_activation,
    /// need_data_aligned, train_mode/num_classes. Missing, mis-shaped and unused tensors are
    /// errors naming them.
    template <class StateDict>
    static mmim load(const mmsa_config& config, const StateDict& sd,
                     std::string_view prefix = "Model.") {
        const tracking_state_dict<StateDict> tracked(sd);
        const std::string at(prefix);
        mmim model;
        model.aligned_ = config.flag("need_data_aligned");
        model.bert_ =
            detail::mmsa_bert_encoder<T>::load(config, sd, tracked, at + "bertmodel.", mmsa_name);
        const auto dims = config.feature_dims();
        const std::size_t d_t = dims[0];
        if (d_t != model.bert_.hidden_size()) {
            throw value_error("models::mmim: feature_dims[0] (MMIM's d_tout) is " +
                              std::to_string(d_t) + " but BERT's hidden size is " +
                              std::to_string(model.bert_.hidden_size()) + config.context());
        }
        const std::size_t layers = config.size("n_layer");
        const bool bidirectional = config.flag("bidirectional");
        if (!bidirectional && layers != 1) {
            throw value_error("models::mmim: n_layer is " + std::to_string(layers) +
                              " with bidirectional false; MMIM's RNNEncoder squeezes h_n to "
                              "(batch, hidden) only for one layer (with more, its torch.cat "
                              "fails)" +
                              config.context());
        }
        model.visual_ = load_encoder(tracked, at + "visual_enc.", dims[2], config.size("d_vh"),
                                     config.size("d_vout"), layers, bidirectional);
        model.acoustic_ = load_encoder(tracked, at + "acoustic_enc.", dims[1], config.size("d_ah"),
                                       config.size("d_aout"), layers, bidirectional);
        const std::size_t d_v = config.size("d_vout"), d_a = config.size("d_aout");
        const std::size_t d_prj = config.size("d_prjh");
        const std::string fusion = at + "fusion_prj.";
        model.fusion_1_ =
            detail::load_mmsa_linear<T>(tracked, fusion + "linear_1.", d_t + d_a + d_v, d_prj);
        model.fusion_2_ = detail::load_mmsa_linear<T>(tracked, fusion + "linear_2.", d_prj, d_prj);
        model.fusion_3_ =
            detail::load_mmsa_linear<T>(tracked, fusion + "linear_3.", d_prj, config.output_dim());
        const auto mid = activation_named(config, "mmilb_mid_activation");
        model.bounds_.push_back(load_bound(tracked, at + "mi_tv.", d_t, d_v, mid, 0, 1));
        model.bounds_.push_back(load_bound(tracked, at + "mi_ta.", d_t, d_a, mid, 0, 2));
        if (config.flag("add_va")) {
            model.bounds_.push_back(load_bound(tracked, at + "mi_va.", d_v, d_a, mid, 1, 2));
        }
        const std::size_t cpc_layers = config.size("cpc_layers");
        const auto cpc_activation = activation_named(config, "cpc_activation");
        // cpc_zt predicts text_h, cpc_zv vision_h, cpc_za audio_h (features 0, 1, 2).
        const std::array<std::pair<const char*, std::size_t>, 3> cpcs{
            {{"cpc_zt.", d_t}, {"cpc_zv.", d_v}, {"cpc_za.", d_a}}};
        for (const auto& [name, width] : cpcs) {
            model.cpcs_.push_back(
                load_cpc(tracked, at + name, width, d_prj, cpc_layers, cpc_activation));
        }
        tracked.require_all_read(at, mmsa_name);
        return model;
    }

    /// {"M"} on PREPARED inputs (text = text_bert).
    [[nodiscard]] mmsa_outputs<T> forward(const mmsa_batch<T>& inputs) const {
        mmsa_outputs<T> outputs;
        const auto h = encode(inputs);
        const auto fusion = fuse(h);
        outputs.emplace("M", detail::dense_rows(fusion_3_, fusion));
        return outputs;
    }

    /// MMIM's output dict but pn_dic and H: M, Feature_t (text_h), Feature_a (audio_h),
    /// Feature_v (vision_h), Feature_f (the fusion), lld and nce as (1, 1) (they are means over
    /// the batch, so they depend on which samples share it).
    [[nodiscard]] mmsa_outputs<T> forward_with_features(const mmsa_batch<T>& inputs) const {
        const auto h = encode(inputs);
        auto fusion = fuse(h);
        mmsa_outputs<T> outputs;
        outputs.emplace("M", detail::dense_rows(fusion_3_, fusion));
        T lld = 0;
        for (const auto& term : bounds_) {
            lld += term.lld(h[term.x], h[term.y]);
        }
        T nce = 0;
        for (std::size_t m = 0; m < cpcs_.size(); ++m) {
            nce += cpcs_[m].nce(h[m], fusion);
        }
        outputs.emplace("lld", xt::xtensor<T, 2>({{lld}}));
        outputs.emplace("nce", xt::xtensor<T, 2>({{nce}}));
        outputs.emplace("Feature_t", h[0]);
        outputs.emplace("Feature_v", h[1]);
        outputs.emplace("Feature_a", h[2]);
        outputs.emplace("Feature_f", std::move(fusion));
        return outputs;
    }

    [[nodiscard]] std::size_t output_dim() const { return fusion_3_.out_features(); }

private:
    /// RNNEncoder: nn.LSTM on packed sequences, h as described above, then linear_1.
    struct encoder {
        encoders::lstm<T> rnn;
        layers::dense<T> linear;

        xt::xtensor<T, 2> operator()(const xt::xtensor<T, 3>& x,
                                     const std::vector<std::size_t>& lengths) const {
            const auto states = rnn(x, lengths);
            if (rnn.options().bidirectional) {
                const auto forward = detail::state_rows(states.h_n, 0);
                const auto backward = detail::state_rows(states.h_n, 1);
                return detail::dense_rows(linear, detail::concat_columns<T>({&forward, &backward}));
            }
            return detail::dense_rows(linear, detail::state_rows(states.h_n, 0));
        }
    };

    /// MMILB's log-likelihood term: mlp_mu and mlp_logvar (Linear, mid activation, Linear) of
    /// feature `x`, compared with feature `y` (indices into text_h, vision_h, audio_h).
    struct bound {
        layers::dense<T> mu_1, mu_2, logvar_1, logvar_2;
        layers::activation mid;
        std::size_t x, y;

        T lld(const xt::xtensor<T, 2>& xs, const xt::xtensor<T, 2>& ys) const {
            const auto mu = detail::dense_rows(mu_2, detail::dense_rows(mu_1, xs, mid));
            const auto logvar = detail::dense_rows(logvar_2, detail::dense_rows(logvar_1, xs, mid));
            T total = 0;
            const std::size_t batch = xs.shape(0);
            for (std::size_t b = 0; b < batch; ++b) {
                T row = 0;
                for (std::size_t j = 0; j < ys.shape(1); ++j) {
                    const T diff = mu(b, j) - ys(b, j);
                    row += -(diff * diff) / T(2) / std::exp(logvar(b, j));
                }
                total += row;
            }
            return total / static_cast<T>(batch);
        }
    };

    /// CPC: x̂ = net(fusion) (one Linear, or Linear, activation, then Linears), both x̂ and the
    /// feature scaled to unit rows; −mean_b(x_b·x̂_b − logsumexp_j(x_b·x̂_j)).
    struct cpc {
        std::vector<layers::dense<T>> net;
        layers::activation activation;

        T nce(const xt::xtensor<T, 2>& feature, const xt::xtensor<T, 2>& fusion) const {
            auto predicted = detail::dense_rows(
                net.front(), fusion, net.size() > 1 ? activation : layers::activation::identity);
            for (std::size_t l = 1; l < net.size(); ++l) {
                predicted = detail::dense_rows(net[l], predicted);
            }
            const auto x = unit_rows(feature);
            const auto p = unit_rows(predicted);
            const std::size_t batch = x.shape(0), width = x.shape(1);
            T total = 0;
            std::vector<T> scores(batch);
            for (std::size_t b = 0; b < batch; ++b) {
                for (std::size_t j = 0; j < batch; ++j) {
                    T dot = 0;
                    for (std::size_t k = 0; k < width; ++k) {
                        dot += x(b, k) * p(j, k);
                    }
                    scores[j] = dot;
                }
                const T top = *std::max_element(scores.begin(), scores.end());
                T sum = 0;
                for (const T score : scores) {
                    sum += std::exp(score - top);
                }
                total += scores[b] - (top + std::log(sum));
            }
            return -total / static_cast<T>(batch);
        }

        static xt::xtensor<T, 2> unit_rows(const xt::xtensor<T, 2>& values) {
            xt::xtensor<T, 2> out = values;
            for (std::size_t b = 0; b < out.shape(0); ++b) {
                T norm = 0;
                for (std::size_t k = 0; k < out.shape(1); ++k) {
                    norm += out(b, k) * out(b, k);
                }
                norm = std::sqrt(norm);
                for (std::size_t k = 0; k < out.shape(1); ++k) {
                    out(b, k) /= norm;
                }
            }
            return out;
        }
    };

    /// text_h, vision_h, audio_h.
    std::array<xt::xtensor<T, 2>, 3> encode(const mmsa_batch<T>& inputs) const {
        const auto tokens = detail::mmsa_bert_encoder<T>::tokens(inputs.text, mmsa_name);
        const std::size_t batch = tokens.batch();
        detail::check_sequence_input(mmsa_name, inputs.audio, batch,
                                     acoustic_.rnn.options().input_size, "audio");
        detail::check_sequence_input(mmsa_name, inputs.vision, batch,
                                     visual_.rnn.options().input_size, "vision");
        const auto [audio_lengths, vision_lengths] =
            detail::sequence_lengths(inputs, tokens, aligned_, mmsa_name);
        return {detail::first_token(bert_(tokens)), visual_(inputs.vision, vision_lengths),
                acoustic_(inputs.audio, audio_lengths)};
    }

    /// fusion_prj's y_2: tanh(linear_2(tanh(linear_1(cat(text_h, audio_h, vision_h))))).
    xt::xtensor<T, 2> fuse(const std::array<xt::xtensor<T, 2>, 3>& h) const {
        const auto joined = detail::concat_columns<T>({&h[0], &h[2], &h[1]});
        return detail::dense_rows(fusion_2_,
                                  detail::dense_rows(fusion_1_, joined, layers::activation::tanh),
                                  layers::activation::tanh);
    }

    template <class Tracked>
    static encoder load_encoder(const Tracked& sd, const std::string& prefix, std::size_t in,
                                std::size_t hidden, std::size_t out, std::size_t layers,
                                bool bidirectional) {
        encoder net;
        net.rnn = encoders::lstm<T>::from_state_dict(sd, prefix + "rnn.",
                                                     {.input_size = in,
                                                      .hidden_size = hidden,
                                                      .num_layers = layers,
                                                      .bidirectional = bidirectional,
                                                      .batch_first = true});
        net.linear = detail::load_mmsa_linear<T>(sd, prefix + "linear_1.",
                                                 (bidirectional ? 2 : 1) * hidden, out);
        return net;
    }

    /// MMILB(x_size, y_size): mlp_mu, mlp_logvar and entropy_prj (Linear(y, y // 4), used with
    /// labels only: shape-checked, not run).
    template <class Tracked>
    static bound load_bound(const Tracked& sd, const std::string& prefix, std::size_t x_size,
                            std::size_t y_size, layers::activation mid, std::size_t x,
                            std::size_t y) {
        static_cast<void>(
            detail::load_mmsa_linear<T>(sd, prefix + "entropy_prj.0.", y_size, y_size / 4));
        return {detail::load_mmsa_linear<T>(sd, prefix + "mlp_mu.0.", x_size, y_size),
                detail::load_mmsa_linear<T>(sd, prefix + "mlp_mu.2.", y_size, y_size),
                detail::load_mmsa_linear<T>(sd, prefix + "mlp_logvar.0.", x_size, y_size),
                detail::load_mmsa_linear<T>(sd, prefix + "mlp_logvar.2.", y_size, y_size),
                mid,
                x,
                y};
    }

    /// CPC(x_size, y_size, n_layers): `net` is one Linear(y, x) for one layer, else an
    /// nn.Sequential of Linear(y, x), the activation, then n_layers − 1 Linear(x, x) (indices
    /// 0, 1, 2, ...: MMIM appends the activation after the first layer only).
    template <class Tracked>
    static cpc load_cpc(const Tracked& sd, const std::string& prefix, std::size_t x_size,
                        std::size_t y_size, std::size_t layers, layers::activation activation) {
        cpc net{{}, activation};
        if (layers == 1) {
            net.net.push_back(detail::load_mmsa_linear<T>(sd, prefix + "net.", y_size, x_size));
            return net;
        }
        for (std::size_t l = 0; l < layers; ++l) {
            const std::size_t index = l == 0 ? 0 : l + 1;
            net.net.push_back(
                detail::load_mmsa_linear<T>(sd, prefix + "net." + std::to_string(index) + ".",
                                            l == 0 ? y_size : x_size, x_size));
        }
        return net;
    }

    /// torch.nn's activation class named by the configuration (`getattr(nn, name)`).
    static layers::activation activation_named(const mmsa_config& config, const char* key) {
        const auto& value = config.at(key);
        const std::string name = value.is_string() ? value.get<std::string>() : value.dump();
        if (name == "ReLU") {
            return layers::activation::relu;
        }
        if (name == "Tanh") {
            return layers::activation::tanh;
        }
        if (name == "Sigmoid") {
            return layers::activation::sigmoid;
        }
        if (name == "GELU") {
            return layers::activation::gelu;
        }
        throw value_error("models::mmim: " + std::string(key) + " is '" + name +
                          "'; supported: ReLU, Tanh, Sigmoid, GELU" + config.context());
    }

    bool aligned_ = false;
    detail::mmsa_bert_encoder<T> bert_;
    encoder visual_, acoustic_;
    layers::dense<T> fusion_1_, fusion_2_, fusion_3_;
    std::vector<bound> bounds_;
    std::vector<cpc> cpcs_;
};

} // namespace emofuse::models
