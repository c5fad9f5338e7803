// The demo's tensor, bilinear and gated fusion rows. Each row pools every modality over time
// (mean), applies one fusion operator with seeded random weights (not trained) and hands the
// result to the ridge read-out, the only fitted part. The sample set's label contains the
// product s_audio·s_vision: a ridge on concatenated features cannot represent it, operators
// with multiplicative interactions between audio and vision expose it linearly. Operators that
// fuse exactly two modalities (MLB, MFB, MFH, MUTAN, MCB, multiplicative interaction) fuse
// (audio, vision) and keep the pooled text next to their output.
#pragma once

#include "comparison.hpp"
#include "sample_data.hpp"

#include <emofuse/align/pool.hpp>
#include <emofuse/core/pipeline.hpp>
#include <emofuse/fusion/bilinear.hpp>
#include <emofuse/fusion/compact_bilinear.hpp>
#include <emofuse/fusion/concat.hpp>
#include <emofuse/fusion/gmu.hpp>
#include <emofuse/fusion/low_rank_fusion.hpp>
#include <emofuse/fusion/mag.hpp>
#include <emofuse/fusion/multiplicative.hpp>
#include <emofuse/fusion/tensor_fusion.hpp>
#include <emofuse/layers/dense.hpp>

#include <cmath>
#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

namespace demo {

namespace fusion_detail {

namespace ef = emofuse::fusion;

/// Seeded normal draws (platform-independent: splitmix64 + Box–Muller).
class weights {
public:
    explicit weights(std::uint64_t seed) : rng_(seed) {}

    template <std::size_t N>
    xt::xtensor<float, N> normal(const std::array<std::size_t, N>& shape, float scale) {
        auto out = xt::xtensor<float, N>::from_shape(shape);
        for (float& v : out) {
            v = static_cast<float>(rng_.normal()) * scale;
        }
        return out;
    }
    emofuse::layers::dense<float> dense(std::size_t out, std::size_t in) {
        auto weight = normal<2>({out, in}, 1.0f / std::sqrt(static_cast<float>(in)));
        return emofuse::layers::dense<float>(std::move(weight), normal<1>({out}, 0.1f));
    }

private:
    splitmix64 rng_;
};

/// TFN rows are left out when Π(d_m + 1) exceeds this (real word vectors: 301·75·36 ≈ 8e5
/// features per sample would not fit a ridge read-out).
inline constexpr std::size_t max_tensor_fusion_width = 8192;

/// Mean-pooled utterance features of a split.
inline auto pooled(const split& s) {
    return emofuse::per_modality(emofuse::pool::mean{})(s.batch());
}

/// [text; op(audio, vision)] for the two-modality operators.
template <class Stage>
emofuse::features<float> text_and_pair(const split& s, const Stage& stage) {
    using namespace emofuse;
    const auto p = pooled(s);
    const features<float> pair = only<audio, vision>(std::cref(stage).get())(p);
    const auto& t = entry_of(p[text]);
    return fusion::concat{}(make_batch(text(t), audio(pair)));
}

} // namespace fusion_detail

/// Rows for the tensor, bilinear and gated fusion operators, built for `sizes`.
inline std::vector<method> fusion_methods(const feature_sizes& sizes = sample_feature_sizes) {
    using namespace emofuse;
    namespace fd = fusion_detail;
    const std::size_t dt = sizes.text;
    const std::size_t da = sizes.audio;
    const std::size_t dv = sizes.vision;
    fd::weights w(77);
    std::vector<method> rows;

    // TFN's z itself: [1; t] ⊗ [1; a] ⊗ [1; v] holds s_a·s_v directly (13·9·9 = 1053 features
    // on the sample set).
    const std::size_t width = (dt + 1) * (da + 1) * (dv + 1);
    if (width <= fd::max_tensor_fusion_width) {
        rows.push_back({"TFN z (tensor_fusion)", 0,
                        [](const split& s) { return fusion::tensor_fusion<>{}(fd::pooled(s)); },
                        10.0});
    }

    // TFN followed by its linear layer + ReLU, fused (random projection to 128).
    if (width <= fd::max_tensor_fusion_width) {
        auto stage = std::make_shared<fusion::tensor_fusion_linear<float>>(
            w.normal<2>({128, width}, 1.0f / std::sqrt(float(width))), w.normal<1>({128}, 0.1f),
            fusion::tfn_activation::mmsa);
        rows.push_back({"TFN + linear 128 + ReLU (fused)", stage->parameter_count(),
                        [stage](const split& s) { return (*stage)(fd::pooled(s)); }});
    }

    // LMF, rank 4, 64 outputs, MMSA layout.
    {
        std::vector<xt::xtensor<float, 3>> factors;
        for (std::size_t d : {dt, da, dv}) {
            factors.push_back(w.normal<3>({4, d + 1, 64}, 1.0f / std::sqrt(float(d + 1))));
        }
        auto stage = std::make_shared<fusion::low_rank_fusion<float>>(
            std::move(factors), w.normal<2>({1, 4}, 1.0f), w.normal<2>({1, 64}, 0.1f));
        rows.push_back({"LMF rank 4 -> 64", stage->parameter_count(),
                        [stage](const split& s) { return (*stage)(fd::pooled(s)); }});
    }

    // Bilinear family on (audio, vision), text kept alongside.
    const fusion::bilinear_options relu_in{fusion::activation::relu, fusion::activation::identity,
                                           false};
    {
        auto stage = std::make_shared<fusion::mlb<float>>(w.dense(64, da), w.dense(64, dv),
                                                          fusion::bilinear_options{});
        rows.push_back({"MLB(audio, vision) 64 + text", stage->parameter_count(),
                        [stage](const split& s) { return fd::text_and_pair(s, *stage); }});
    }
    {
        auto stage = std::make_shared<fusion::mfb<float>>(w.dense(128, da), w.dense(128, dv), 2,
                                                          fusion::bilinear_options{});
        rows.push_back({"MFB(audio, vision) o=64 k=2 + text", stage->parameter_count(),
                        [stage](const split& s) { return fd::text_and_pair(s, *stage); }});
    }
    {
        auto stage = std::make_shared<fusion::mfh<float>>(w.dense(128, da), w.dense(128, dv),
                                                          w.dense(128, da), w.dense(128, dv), 2,
                                                          fusion::bilinear_options{});
        rows.push_back({"MFH(audio, vision) 2x64 + text", stage->parameter_count(),
                        [stage](const split& s) { return fd::text_and_pair(s, *stage); }});
    }
    {
        auto stage = std::make_shared<fusion::mutan<float>>(w.dense(32, da), w.dense(32, dv),
                                                            w.dense(15 * 32, 32),
                                                            w.dense(15 * 32, 32), 15, relu_in);
        rows.push_back({"MUTAN(audio, vision) R=15 P=32 + text", stage->parameter_count(),
                        [stage](const split& s) { return fd::text_and_pair(s, *stage); }});
    }
    {
        auto stage = std::make_shared<fusion::compact_bilinear<float>>(da, dv, 256, 5);
        rows.push_back({"MCB(audio, vision) D=256 + text", 0,
                        [stage](const split& s) { return fd::text_and_pair(s, *stage); }});
    }
    {
        const std::size_t out = 16;
        auto stage = std::make_shared<fusion::multiplicative_interaction<float>>(
            fusion::interaction::matrix, da, dv, out, w.normal<1>({da * dv * out}, 0.3f),
            w.normal<1>({da * out}, 0.3f), w.normal<1>({dv * out}, 0.3f), w.normal<1>({out}, 0.1f));
        rows.push_back({"multiplicative matrix(audio, vision) + text",
                        (da * dv + da + dv + 1) * out,
                        [stage](const split& s) { return fd::text_and_pair(s, *stage); }});
    }

    // Gates over pooled features: GMU (N-modal) and MAG (text main, vision and audio gated).
    {
        std::vector<emofuse::layers::dense<float>> projections{w.dense(32, dt), w.dense(32, da),
                                                               w.dense(32, dv)};
        auto stage = std::make_shared<fusion::gmu<float>>(std::move(projections),
                                                          w.dense(3 * 32, dt + da + dv));
        rows.push_back({"GMU (3 modalities) 32", stage->parameter_count(),
                        [stage](const split& s) { return (*stage)(fd::pooled(s)); }});
    }
    {
        std::vector<fusion::mag_auxiliary<float>> aux;
        aux.push_back({w.dense(dt, dv + dt), w.dense(dt, dv)});
        aux.push_back({w.dense(dt, da + dt), w.dense(dt, da)});
        auto stage = std::make_shared<fusion::mag<float>>(std::move(aux), xt::ones<float>({dt}),
                                                          xt::zeros<float>({dt}), 0.5f);
        rows.push_back({"MAG (text gated by vision, audio)", stage->parameter_count(),
                        [stage](const split& s) {
                            const auto p = fd::pooled(s);
                            return (*stage)(make_batch(text(entry_of(p[text])),
                                                       vision(entry_of(p[vision])),
                                                       audio(entry_of(p[audio]))));
                        }});
    }
    return rows;
}

} // namespace demo
