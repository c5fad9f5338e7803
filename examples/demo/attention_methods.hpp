// The demo's attention rows: crossmodal attention (MulT blocks) over the unaligned sequences,
// the full MulT forward, and attention pooling per modality. Operator weights are seeded
// random draws (not trained); only the ridge read-out is fitted, as for every other row.
#pragma once

#include "comparison.hpp"
#include "sample_data.hpp"

#include <emofuse/align/pool.hpp>
#include <emofuse/attention/connectors.hpp>
#include <emofuse/attention/crossmodal.hpp>
#include <emofuse/attention/mult.hpp>
#include <emofuse/attention/pooling.hpp>
#include <emofuse/core/pipeline.hpp>
#include <emofuse/encoders/conv1d.hpp>
#include <emofuse/fusion/concat.hpp>
#include <emofuse/layers/dense.hpp>
#include <emofuse/layers/layer_norm.hpp>

#include <array>
#include <cmath>
#include <cstddef>
#include <memory>
#include <random>
#include <vector>

namespace demo {

namespace attention_detail {

namespace ea = emofuse::attention;

/// Seeded normal draws with standard deviation `scale`.
class weight_source {
public:
    explicit weight_source(std::uint64_t seed) : rng_(seed) {}

    xt::xtensor<float, 2> matrix(std::size_t rows, std::size_t cols, float scale) {
        xt::xtensor<float, 2> w({rows, cols});
        fill(w.data(), w.size(), scale);
        return w;
    }
    xt::xtensor<float, 1> vector(std::size_t size, float scale) {
        xt::xtensor<float, 1> v = xt::xtensor<float, 1>::from_shape({size});
        fill(v.data(), v.size(), scale);
        return v;
    }
    emofuse::layers::dense<float> dense(std::size_t out, std::size_t in, bool bias = true) {
        const float scale = 1.0f / std::sqrt(static_cast<float>(in));
        return emofuse::layers::dense<float>(matrix(out, in, scale),
                                             bias ? vector(out, 0.1f) : xt::xtensor<float, 1>());
    }
    /// nn.Conv1d(in, out, kernel_size=1, bias=False), MulT's projection (draws as dense()).
    emofuse::encoders::conv1d<float> pointwise_conv(std::size_t out, std::size_t in) {
        xt::xtensor<float, 3> w({out, in, 1});
        fill(w.data(), w.size(), 1.0f / std::sqrt(static_cast<float>(in)));
        return emofuse::encoders::conv1d<float>(w, xt::xtensor<float, 1>());
    }
    static emofuse::layers::layer_norm<float> unit_norm(std::size_t d) {
        return emofuse::layers::layer_norm<float>(xt::ones<float>({d}), xt::zeros<float>({d}));
    }
    ea::crossmodal_encoder<float> encoder(std::size_t d, std::size_t heads, std::size_t layers) {
        std::vector<ea::crossmodal_layer<float>> stack;
        const float scale = 1.0f / std::sqrt(static_cast<float>(d));
        for (std::size_t i = 0; i < layers; ++i) {
            stack.emplace_back(
                ea::multi_head_attention<float>(heads, matrix(3 * d, d, scale), vector(3 * d, 0.1f),
                                                matrix(d, d, scale), vector(d, 0.1f)),
                unit_norm(d), dense(4 * d, d), dense(d, 4 * d), unit_norm(d),
                emofuse::layers::activation::relu);
        }
        // MulT's encoder; unaligned utterances of unrelated lengths, so no future mask, and
        // every frame gets a position.
        auto options = ea::encoder_options::mult_original();
        options.mask_future = false;
        options.positions.zero_position_for_padding_frames = false;
        return ea::crossmodal_encoder<float>(std::move(stack), unit_norm(d), options);
    }

private:
    void fill(float* p, std::size_t n, float scale) {
        std::normal_distribution<float> normal(0.0f, scale);
        for (std::size_t i = 0; i < n; ++i) {
            p[i] = normal(rng_);
        }
    }
    std::mt19937_64 rng_;
};

template <class Stage>
std::size_t dense_parameters(const Stage& s) {
    return s.weight().size() + s.bias().size();
}

inline std::size_t encoder_parameters(const ea::crossmodal_encoder<float>& e) {
    const std::size_t d = e.embed_dim();
    // Per layer: in/out projections with biases, two layer norms, FFN d → 4d → d.
    const std::size_t layer = 4 * d * d + 4 * d + 4 * d + (4 * d * d + 4 * d) + (4 * d * d + d);
    return e.layer_count() * layer + 2 * d;
}

} // namespace attention_detail

/// Rows for the attention stages (emofuse::attention), built for `sizes`.
inline std::vector<method> attention_methods(const feature_sizes& sizes = sample_feature_sizes) {
    namespace ea = emofuse::attention;
    using attention_detail::weight_source;
    std::vector<method> methods;
    constexpr std::size_t d = 16;
    constexpr std::size_t heads = 2;
    const std::array<std::size_t, 3> input_sizes{sizes.text, sizes.audio, sizes.vision};

    // Crossmodal attention: each modality projected to d (Conv1d k=1), then the six MulT
    // directional blocks (one pre-LN layer each) over the unaligned sequences, each block's
    // output averaged over the target's valid frames, concatenated (6·d).
    {
        auto w = std::make_shared<weight_source>(11);
        struct blocks {
            std::array<ea::linear_projector<float>, 3> projections;
            std::array<ea::crossmodal_encoder<float>, 6> encoders;
        };
        auto b = std::make_shared<blocks>();
        std::size_t parameters = 0;
        for (std::size_t m = 0; m < 3; ++m) {
            b->projections[m] = ea::linear_projector<float>(w->dense(d, input_sizes[m], false));
            parameters += d * input_sizes[m];
        }
        for (auto& e : b->encoders) {
            e = w->encoder(d, heads, 1);
            parameters += attention_detail::encoder_parameters(e);
        }
        methods.push_back(
            {"crossmodal attention (MulT blocks, mean)", parameters, [b](const split& s) {
                 using namespace emofuse;
                 const std::array<sequence<float>, 3> x{b->projections[0](s.text),
                                                        b->projections[1](s.audio),
                                                        b->projections[2](s.vision)};
                 std::vector<features<float>> pooled;
                 std::size_t block = 0;
                 for (std::size_t target = 0; target < 3; ++target) {
                     for (std::size_t source = 0; source < 3; ++source) {
                         if (source != target) {
                             pooled.push_back(
                                 pool::mean{}(b->encoders[block++](x[target], x[source])));
                         }
                     }
                 }
                 features<float> out({s.size(), 6 * d});
                 for (std::size_t r = 0; r < s.size(); ++r) {
                     for (std::size_t k = 0; k < 6; ++k) {
                         std::copy_n(pooled[k].data() + r * d, d, out.data() + r * 6 * d + k * d);
                     }
                 }
                 return out;
             }});
    }

    // The full MulT forward (six blocks, 3-layer self-attention memories, last valid step),
    // read out from its 6·d hidden vector.
    {
        weight_source w(23);
        ea::mult_parameters<float> p;
        std::size_t parameters = 0;
        for (std::size_t m = 0; m < 3; ++m) {
            p.projections[m] = w.pointwise_conv(d, input_sizes[m]);
            parameters += d * input_sizes[m];
        }
        for (auto& e : p.crossmodal) {
            e = w.encoder(d, heads, 1);
            parameters += attention_detail::encoder_parameters(e);
        }
        for (auto& e : p.memory) {
            e = w.encoder(2 * d, heads, 3);
            parameters += attention_detail::encoder_parameters(e);
        }
        p.proj1 = w.dense(6 * d, 6 * d);
        p.proj2 = w.dense(6 * d, 6 * d);
        p.out_layer = w.dense(1, 6 * d);
        parameters += 2 * (36 * d * d + 6 * d) + 6 * d + 1;
        auto model = std::make_shared<ea::mult_model<float>>(std::move(p), ea::mult_output::hidden);
        methods.push_back({"MulT (crossmodal + memory, last step)", parameters,
                           [model](const split& s) { return (*model)(s.batch()); }});
    }

    // Attention pooling per modality (softmax(wᵀ tanh(W x_t)) over valid frames), then concat.
    {
        weight_source w(37);
        auto make_pool = [&](std::size_t in) {
            return ea::attention_pool<float>(w.dense(d, in), w.vector(d, 1.0f));
        };
        std::size_t parameters = 0;
        for (std::size_t in : input_sizes) {
            parameters += d * in + d + d;
        }
        auto composed = emofuse::only<emofuse::text>(make_pool(input_sizes[0])) |
                        emofuse::only<emofuse::audio>(make_pool(input_sizes[1])) |
                        emofuse::only<emofuse::vision>(make_pool(input_sizes[2])) |
                        emofuse::fusion::concat{};
        auto pipe = std::make_shared<decltype(composed)>(std::move(composed));
        methods.push_back({"attention pooling + concat", parameters,
                           [pipe](const split& s) { return (*pipe)(s.batch()); }});
    }
    return methods;
}

} // namespace demo
