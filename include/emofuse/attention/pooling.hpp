// emofuse/attention/pooling.hpp — additive attention pooling over time (mask-aware) and
// attention over modalities of fused utterance vectors.
#pragma once

#include "emofuse/core/batch.hpp"
#include "emofuse/core/concepts.hpp"
#include "emofuse/core/error.hpp"
#include "emofuse/core/sequence.hpp"
#include "emofuse/kernels/elementwise.hpp"
#include "emofuse/layers/dense.hpp"

#include <boost/hana/for_each.hpp>
#include <boost/hana/keys.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace emofuse::attention {

namespace detail {

/// Additive attention scores s_r = wᵀ·tanh(W·x_r + b) for `rows` rows of x.
template <class T>
void additive_scores(const layers::dense<T>& projection, const xt::xtensor<T, 1>& score_weight,
                     const T* x, std::size_t ld, std::size_t rows, std::vector<T>& hidden,
                     T* scores) {
    const std::size_t h = projection.out_features();
    hidden.resize(rows * h);
    projection.apply(x, ld, rows, hidden.data(), h);
    kernels::tanh(hidden.data(), hidden.data(), rows * h);
    for (std::size_t r = 0; r < rows; ++r) {
        T s(0);
        for (std::size_t k = 0; k < h; ++k) {
            s += score_weight(k) * hidden[r * h + k];
        }
        scores[r] = s;
    }
}

/// In place: softmax over the entries with use[i] != 0; the others (and all of them when none
/// is used) become 0.
template <class T>
void masked_softmax(T* scores, const std::uint8_t* use, std::size_t n) {
    T best = -std::numeric_limits<T>::infinity();
    for (std::size_t i = 0; i < n; ++i) {
        if (use[i]) {
            best = std::max(best, scores[i]);
        }
    }
    T total(0);
    for (std::size_t i = 0; i < n; ++i) {
        scores[i] = use[i] ? std::exp(scores[i] - best) : T(0);
        total += scores[i];
    }
    for (std::size_t i = 0; i < n; ++i) {
        scores[i] = total > T(0) ? scores[i] / total : T(0);
    }
}

template <class T>
void check_additive_parameters(std::string_view stage, const layers::dense<T>& projection,
                               const xt::xtensor<T, 1>& score_weight) {
    check_size(stage, "score weight size (projection output features)", projection.out_features(),
               score_weight.size());
}

} // namespace detail

/// Attention pooling over time: α_t = softmax_t(wᵀ·tanh(W·x_t + b)) over the valid frames of
/// each sample, output Σ_t α_t·x_t (batch, d). A sample with no valid frame pools to zeros.
/// W is (h, d) with bias (h) or none; w is (h) (nn.Linear(h, 1, bias=False).weight flattened;
/// a score bias would cancel in the softmax).
template <class T>
class attention_pool : public modality_stage_base {
public:
    using value_type = T;

    attention_pool() = default;
    attention_pool(layers::dense<T> projection, xt::xtensor<T, 1> score_weight)
        : projection_(std::move(projection)), score_weight_(std::move(score_weight)) {
        detail::check_additive_parameters("attention::attention_pool", projection_, score_weight_);
    }

    [[nodiscard]] std::size_t input_features() const { return projection_.in_features(); }

    /// Pools a sequence (batch, T, d) to (batch, d).
    [[nodiscard]] features<T> operator()(const sequence<T>& x) const {
        features<T> out;
        std::vector<T> weights;
        pool(x, out, weights);
        return out;
    }

    /// The attention weights α (batch, T) the pool uses for x (0 on invalid frames).
    [[nodiscard]] xt::xtensor<T, 2> weights(const sequence<T>& x) const {
        features<T> out;
        std::vector<T> w;
        pool(x, out, w);
        xt::xtensor<T, 2> result({x.batch_size(), x.max_time()});
        std::copy(w.begin(), w.end(), result.begin());
        return result;
    }

private:
    void pool(const sequence<T>& x, features<T>& out, std::vector<T>& weights) const {
        const std::size_t batch = x.batch_size();
        const std::size_t time = x.max_time();
        const std::size_t d = x.feature_size();
        check_size("attention::attention_pool", "input features (projection input features)",
                   input_features(), d);
        const std::size_t h = projection_.out_features();
        out = features<T>({batch, d});
        weights.assign(batch * time, T(0));
        // One projection for every frame; padding rows are computed but never read.
        std::vector<T> hidden(batch * time * h);
        projection_.apply(x.values().data(), d, batch * time, hidden.data(), h);
        std::vector<std::uint8_t> use(time);
        for (std::size_t b = 0; b < batch; ++b) {
            T* w = weights.data() + b * time;
            const std::size_t n = x.length(b);
            T* hb = hidden.data() + b * time * h;
            kernels::tanh(hb, hb, n * h);
            for (std::size_t t = 0; t < n; ++t) {
                use[t] = x.valid(b, t) ? 1 : 0;
                T s(0);
                for (std::size_t k = 0; k < h; ++k) {
                    s += score_weight_(k) * hb[t * h + k];
                }
                w[t] = s;
            }
            detail::masked_softmax(w, use.data(), n);
            T* o = out.data() + b * d;
            std::fill(o, o + d, T(0));
            for (std::size_t t = 0; t < n; ++t) {
                if (!use[t]) {
                    continue;
                }
                const T* frame = x.frame(b, t);
                for (std::size_t c = 0; c < d; ++c) {
                    o[c] += w[t] * frame[c];
                }
            }
        }
    }

    layers::dense<T> projection_;
    xt::xtensor<T, 1> score_weight_;
};

/// Attention over modalities: for utterance vectors h_m (batch, d) of M modalities (all of
/// size d), α_m = softmax_m(wᵀ·tanh(W·h_m + b)) and the output is Σ_m α_m·h_m (batch, d).
/// An optional (batch, M) presence mask excludes missing modalities (none present → zeros).
/// Modalities are visited in batch order (or the order of only<...>).
template <class T>
class modality_attention : public fusion_stage_base {
public:
    using value_type = T;

    modality_attention() = default;
    modality_attention(layers::dense<T> projection, xt::xtensor<T, 1> score_weight)
        : projection_(std::move(projection)), score_weight_(std::move(score_weight)) {
        detail::check_additive_parameters("attention::modality_attention", projection_,
                                          score_weight_);
    }

    template <batch_type Batch>
    [[nodiscard]] features<T> operator()(const Batch& batch) const {
        return fuse(batch, nullptr);
    }

    /// With present(b, m) != 0 marking the modalities sample b has.
    template <batch_type Batch>
    [[nodiscard]] features<T> operator()(const Batch& batch,
                                         const xt::xtensor<std::uint8_t, 2>& present) const {
        return fuse(batch, &present);
    }

private:
    template <batch_type Batch>
    features<T> fuse(const Batch& batch, const xt::xtensor<std::uint8_t, 2>* present) const {
        constexpr std::string_view stage = "attention::modality_attention";
        std::vector<const features<T>*> inputs;
        hana::for_each(hana::keys(batch), [&](auto key) {
            using entry = entry_t<std::remove_cvref_t<decltype(batch[key])>>;
            static_assert(std::is_same_v<entry, features<T>>,
                          "attention::modality_attention weighs utterance vectors: every "
                          "modality must be features<T> (batch, d); pool sequences first");
            const auto& x = entry_of(batch[key]);
            check_size(stage,
                       "features of modality '" + std::string(name_of(key)) +
                           "' (projection input features)",
                       projection_.in_features(), x.shape(1));
            inputs.push_back(&x);
        });
        const std::size_t rows = batch_size(batch, stage);
        const std::size_t m_count = inputs.size();
        if (present && (present->shape(0) != rows || present->shape(1) != m_count)) {
            throw shape_error(emofuse::detail::concat_message(
                stage, ": presence mask shape: expected (", rows, ", ", m_count, "), got (",
                present->shape(0), ", ", present->shape(1), ")"));
        }
        const std::size_t d = projection_.in_features();
        std::vector<T> scores(m_count * rows);
        std::vector<T> hidden;
        for (std::size_t m = 0; m < m_count; ++m) {
            detail::additive_scores(projection_, score_weight_, inputs[m]->data(), d, rows, hidden,
                                    scores.data() + m * rows);
        }
        features<T> out({rows, d});
        std::vector<T> s(m_count);
        std::vector<std::uint8_t> use(m_count);
        for (std::size_t b = 0; b < rows; ++b) {
            for (std::size_t m = 0; m < m_count; ++m) {
                s[m] = scores[m * rows + b];
                use[m] = present ? ((*present)(b, m) != 0 ? 1 : 0) : 1;
            }
            detail::masked_softmax(s.data(), use.data(), m_count);
            T* o = out.data() + b * d;
            std::fill(o, o + d, T(0));
            for (std::size_t m = 0; m < m_count; ++m) {
                if (!use[m]) {
                    continue;
                }
                const T* h = inputs[m]->data() + b * d;
                for (std::size_t c = 0; c < d; ++c) {
                    o[c] += s[m] * h[c];
                }
            }
        }
        return out;
    }

    layers::dense<T> projection_;
    xt::xtensor<T, 1> score_weight_;
};

} // namespace emofuse::attention
