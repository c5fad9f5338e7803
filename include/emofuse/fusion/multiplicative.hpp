// emofuse/fusion/multiplicative.hpp — MultiBench's multiplicative interactions (Jayakumar et
// al. 2020): a hypernetwork in m_1 produces the weights applied to m_2.
//
// Two-modal, m_1 ∈ R^n, m_2 ∈ R^m (batch order), MultiBench's parameter names W, U, V, b:
//   matrix: W (n, m, d), U (n, d), V (m, d), b (d):  out = m_2ᵀ(m_1·W + V) + (m_1·U + b)
//   vector: W (n, m), U (n, m), V (m), b (m):         out = (m_1W + V) ⊙ m_2 + (m_1U + b)
//   scalar: W (n), U (n), V (1), b (1):               out = (m_1·W + V)·m_2 + (m_1·U + b)
// Three-modal (MultiplicativeInteractions3Modal): out = m_3ᵀ·A(m_1, m_2) + B(m_1, m_2) with A
// a `matrix3D` interaction (W (n, m, p, d), U (n, p, d), V (m, p, d), b (p, d), names a.W ...)
// and B a `matrix` interaction (names b.W ...), per sample. (MultiBench's torch.matmul of
// (B, p) with (B, p, d) broadcasts across the batch; emofuse contracts each sample with its own
// A, the evident intent.)
// The matrix forms are a tensor fusion of [1; m_1] ⊗ [1; m_2] with the packed weight
// [[b, V], [U, W]], so they run on the same blocked kernel as tensor_fusion_linear.
#pragma once

#include "emofuse/core/batch.hpp"
#include "emofuse/core/concepts.hpp"
#include "emofuse/core/error.hpp"
#include "emofuse/fusion/detail/inputs.hpp"
#include "emofuse/fusion/modality_mask.hpp"
#include "emofuse/fusion/tensor_fusion.hpp"
#include "emofuse/kernels/linear.hpp"

#include <boost/hana/keys.hpp>
#include <boost/hana/map.hpp>
#include <boost/hana/pair.hpp>
#include <boost/hana/unpack.hpp>

#include <algorithm>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <utility>

namespace emofuse::fusion {

/// Which interaction MultiBench's `output` argument selects.
enum class interaction { matrix, vector, scalar };

namespace detail {

/// A row-major copy of any xtensor as a flat vector.
template <class Tensor>
auto flatten_copy(const Tensor& t) {
    auto out = xt::xtensor<typename Tensor::value_type, 1>::from_shape({t.size()});
    std::copy_n(t.data(), t.size(), out.data());
    return out;
}

/// Packs matrix-form parameters into the (d_out, (n+1)·(m+1)) weight of a tensor fusion of
/// [1; m_1] ⊗ [1; m_2]: column (0, 0) = b, (0, 1+j) = V[j], (1+i, 0) = U[i], (1+i, 1+j) =
/// W[i, j]; `out` values per (i, j) cell (d, or p·d for matrix3D).
template <class T>
xt::xtensor<T, 2> pack_interaction(const T* w, const T* u, const T* v, const T* b, std::size_t n,
                                   std::size_t m, std::size_t out) {
    const std::size_t width = (n + 1) * (m + 1);
    auto packed = xt::xtensor<T, 2>::from_shape({out, width});
    for (std::size_t o = 0; o < out; ++o) {
        packed(o, 0) = b[o];
        for (std::size_t j = 0; j < m; ++j) {
            packed(o, 1 + j) = v[j * out + o];
        }
        for (std::size_t i = 0; i < n; ++i) {
            packed(o, (1 + i) * (m + 1)) = u[i * out + o];
            for (std::size_t j = 0; j < m; ++j) {
                packed(o, (1 + i) * (m + 1) + 1 + j) = w[(i * m + j) * out + o];
            }
        }
    }
    return packed;
}

} // namespace detail

/// Two-modal multiplicative interaction. operator() is const and thread-safe.
template <class T>
class multiplicative_interaction : public fusion_stage_base {
public:
    /// matrix: w (n, m, d), u (n, d), v (m, d), b (d). vector: w (n, m), u (n, m), v (m),
    /// b (m). scalar: w (n), u (n), v (1), b (1). Given flattened with their shapes.
    multiplicative_interaction(interaction kind, std::size_t n, std::size_t m, std::size_t d,
                               xt::xtensor<T, 1> w, xt::xtensor<T, 1> u, xt::xtensor<T, 1> v,
                               xt::xtensor<T, 1> b)
        : kind_(kind), n_(n), m_(m), d_(kind == interaction::matrix ? d : m) {
        constexpr const char* stage = "fusion::multiplicative_interaction";
        switch (kind_) {
        case interaction::matrix:
            check_size(stage, "W size (n·m·d)", n * m * d, w.size());
            check_size(stage, "U size (n·d)", n * d, u.size());
            check_size(stage, "V size (m·d)", m * d, v.size());
            check_size(stage, "b size (d)", d, b.size());
            fused_.emplace(
                detail::pack_interaction(w.data(), u.data(), v.data(), b.data(), n, m, d),
                xt::xtensor<T, 1>(), tfn_activation::linear);
            break;
        case interaction::vector:
        case interaction::scalar: {
            const std::size_t k = kind_ == interaction::vector ? m : 1;
            check_size(stage, "W size", n * k, w.size());
            check_size(stage, "U size", n * k, u.size());
            check_size(stage, "V size", k, v.size());
            check_size(stage, "b size", k, b.size());
            // One linear on m_1 with 2k outputs: rows [Wᵀ; Uᵀ], bias [V; b].
            hyper_weight_ = xt::xtensor<T, 2>::from_shape({2 * k, n});
            hyper_bias_ = xt::xtensor<T, 1>::from_shape({2 * k});
            for (std::size_t o = 0; o < k; ++o) {
                for (std::size_t i = 0; i < n; ++i) {
                    hyper_weight_(o, i) = w(i * k + o);
                    hyper_weight_(k + o, i) = u(i * k + o);
                }
                hyper_bias_(o) = v(o);
                hyper_bias_(k + o) = b(o);
            }
            break;
        }
        }
    }

    /// Loads `<prefix>W`, `<prefix>U`, `<prefix>V`, `<prefix>b` (MultiBench's names).
    template <class StateDict>
    static multiplicative_interaction from_state_dict(const StateDict& sd,
                                                      const std::string& prefix, interaction kind) {
        auto flat = [](const std::string&, const auto& tensor) {
            return detail::flatten_copy(tensor);
        };
        if (kind == interaction::matrix) {
            auto w = sd.template tensor<T, 3>(prefix + "W");
            const std::size_t n = w.shape(0), m = w.shape(1), d = w.shape(2);
            return multiplicative_interaction(
                kind, n, m, d, flat("W", w),
                flat("U", sd.template tensor<T, 2>(prefix + "U", {n, d})),
                flat("V", sd.template tensor<T, 2>(prefix + "V", {m, d})),
                sd.template tensor<T, 1>(prefix + "b", {d}));
        }
        if (kind == interaction::vector) {
            auto w = sd.template tensor<T, 2>(prefix + "W");
            const std::size_t n = w.shape(0), m = w.shape(1);
            return multiplicative_interaction(
                kind, n, m, m, flat("W", w),
                flat("U", sd.template tensor<T, 2>(prefix + "U", {n, m})),
                sd.template tensor<T, 1>(prefix + "V", {m}),
                sd.template tensor<T, 1>(prefix + "b", {m}));
        }
        auto w = sd.template tensor<T, 1>(prefix + "W");
        const std::size_t n = w.size();
        return multiplicative_interaction(kind, n, dynamic, 1, std::move(w),
                                          sd.template tensor<T, 1>(prefix + "U", {n}),
                                          sd.template tensor<T, 1>(prefix + "V", {1}),
                                          sd.template tensor<T, 1>(prefix + "b", {1}));
    }

    [[nodiscard]] interaction kind() const { return kind_; }

    template <batch_type Batch>
    features<T> operator()(const Batch& batch) const {
        constexpr const char* stage = "fusion::multiplicative_interaction";
        static_assert(detail::modality_count_v<Batch> == 2,
                      "fusion::multiplicative_interaction fuses exactly two modalities (m_1, m_2); "
                      "use multiplicative_interaction_3 for three");
        const auto x = detail::feature_views<T>(batch);
        detail::check_features(stage, x[0], n_);
        if (kind_ != interaction::scalar) {
            detail::check_features(stage, x[1], m_);
        }
        const std::size_t rows = batch_size(batch, stage);
        if (kind_ == interaction::matrix) {
            return (*fused_)(batch);
        }
        const std::size_t m = x[1].cols;
        const std::size_t k = kind_ == interaction::vector ? m : 1;
        features<T> out = features<T>::from_shape({rows, m});
        if (rows == 0) {
            return out;
        }
        T* hyper = detail::fusion_scratch().template buffer<T>(0, rows * 2 * k);
        kernels::linear(x[0].data, rows, n_, hyper_weight_.data(), hyper_bias_.data(), 2 * k,
                        hyper);
        for (std::size_t r = 0; r < rows; ++r) {
            const T* h = hyper + r * 2 * k;
            const T* b = x[1].row(r);
            T* o = out.data() + r * m;
            for (std::size_t j = 0; j < m; ++j) {
                const std::size_t c = k == 1 ? 0 : j;
                o[j] = h[c] * b[j] + h[k + c];
            }
        }
        return out;
    }

    /// Missing modalities: an absent modality is zeros.
    template <batch_type Batch>
    features<T> operator()(const Batch& batch, const modality_mask& mask) const {
        return (*this)(zero_absent(batch, mask, "fusion::multiplicative_interaction"));
    }

private:
    interaction kind_;
    std::size_t n_, m_, d_;
    std::optional<tensor_fusion_linear<T>> fused_;
    xt::xtensor<T, 2> hyper_weight_;
    xt::xtensor<T, 1> hyper_bias_;
};

/// Three-modal multiplicative interaction: out = m_3ᵀ·A(m_1, m_2) + B(m_1, m_2).
template <class T>
class multiplicative_interaction_3 : public fusion_stage_base {
public:
    /// a_*: matrix3D parameters W (n, m, p, d), U (n, p, d), V (m, p, d), b (p, d);
    /// b_*: matrix parameters W (n, m, d), U (n, d), V (m, d), b (d); all flattened.
    multiplicative_interaction_3(std::size_t n, std::size_t m, std::size_t p, std::size_t d,
                                 const xt::xtensor<T, 1>& a_w, const xt::xtensor<T, 1>& a_u,
                                 const xt::xtensor<T, 1>& a_v, const xt::xtensor<T, 1>& a_b,
                                 xt::xtensor<T, 1> b_w, xt::xtensor<T, 1> b_u,
                                 xt::xtensor<T, 1> b_v, xt::xtensor<T, 1> b_b)
        : n_(n), m_(m), p_(p), d_(d), a_(make_a(n, m, p, d, a_w, a_u, a_v, a_b)),
          b_(interaction::matrix, n, m, d, std::move(b_w), std::move(b_u), std::move(b_v),
             std::move(b_b)) {}

    /// Loads `<prefix>a.W`, `a.U`, `a.V`, `a.b` and `<prefix>b.W`, `b.U`, `b.V`, `b.b`.
    template <class StateDict>
    static multiplicative_interaction_3 from_state_dict(const StateDict& sd,
                                                        const std::string& prefix) {
        auto aw = sd.template tensor<T, 4>(prefix + "a.W");
        const std::size_t n = aw.shape(0), m = aw.shape(1), p = aw.shape(2), d = aw.shape(3);
        auto flat = [](const auto& t) { return detail::flatten_copy(t); };
        return multiplicative_interaction_3(
            n, m, p, d, flat(aw), flat(sd.template tensor<T, 3>(prefix + "a.U", {n, p, d})),
            flat(sd.template tensor<T, 3>(prefix + "a.V", {m, p, d})),
            flat(sd.template tensor<T, 2>(prefix + "a.b", {p, d})),
            flat(sd.template tensor<T, 3>(prefix + "b.W", {n, m, d})),
            flat(sd.template tensor<T, 2>(prefix + "b.U", {n, d})),
            flat(sd.template tensor<T, 2>(prefix + "b.V", {m, d})),
            sd.template tensor<T, 1>(prefix + "b.b", {d}));
    }

    template <batch_type Batch>
    features<T> operator()(const Batch& batch) const {
        constexpr const char* stage = "fusion::multiplicative_interaction_3";
        static_assert(detail::modality_count_v<Batch> == 3,
                      "fusion::multiplicative_interaction_3 fuses exactly three modalities");
        const auto x = detail::feature_views<T>(batch);
        detail::check_features(stage, x[0], n_);
        detail::check_features(stage, x[1], m_);
        detail::check_features(stage, x[2], p_);
        const std::size_t rows = batch_size(batch, stage);
        // A and B both act on (m_1, m_2): one tensor fusion with p·d + d outputs would mix
        // layouts, so they run as two fused tensor products over the same pair.
        const auto pair = hana::unpack(hana::keys(batch), [&](auto k1, auto k2, auto) {
            return hana::make_map(hana::make_pair(k1, std::cref(batch[k1])),
                                  hana::make_pair(k2, std::cref(batch[k2])));
        });
        const features<T> a = a_(pair); // (rows, p·d)
        features<T> out = b_(pair);     // (rows, d)
        for (std::size_t r = 0; r < rows; ++r) {
            const T* m3 = x[2].row(r);
            const T* ar = a.data() + r * p_ * d_;
            T* o = out.data() + r * d_;
            for (std::size_t q = 0; q < p_; ++q) {
                for (std::size_t j = 0; j < d_; ++j) {
                    o[j] += m3[q] * ar[q * d_ + j];
                }
            }
        }
        return out;
    }

    /// Missing modalities: an absent modality is zeros.
    template <batch_type Batch>
    features<T> operator()(const Batch& batch, const modality_mask& mask) const {
        return (*this)(zero_absent(batch, mask, "fusion::multiplicative_interaction_3"));
    }

private:
    static tensor_fusion_linear<T> make_a(std::size_t n, std::size_t m, std::size_t p,
                                          std::size_t d, const xt::xtensor<T, 1>& w,
                                          const xt::xtensor<T, 1>& u, const xt::xtensor<T, 1>& v,
                                          const xt::xtensor<T, 1>& b) {
        constexpr const char* stage = "fusion::multiplicative_interaction_3";
        check_size(stage, "a.W size (n·m·p·d)", n * m * p * d, w.size());
        check_size(stage, "a.U size (n·p·d)", n * p * d, u.size());
        check_size(stage, "a.V size (m·p·d)", m * p * d, v.size());
        check_size(stage, "a.b size (p·d)", p * d, b.size());
        return tensor_fusion_linear<T>(
            detail::pack_interaction(w.data(), u.data(), v.data(), b.data(), n, m, p * d),
            xt::xtensor<T, 1>(), tfn_activation::linear);
    }

    std::size_t n_, m_, p_, d_;
    tensor_fusion_linear<T> a_;
    multiplicative_interaction<T> b_;
};

} // namespace emofuse::fusion
