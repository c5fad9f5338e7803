// emofuse/fusion/nl_gate.hpp — MultiBench's non-local gate (NLgate, after Wang et al.'s
// non-local blocks): out = flatten(q + softmax(q·k)·v) per sample.
//
// Batch order: the first modality gives q, the second gives k and v. Each may first pass an
// optional linear layer (MultiBench's qli, kli, vli); then q is viewed as (thw, c), k as
// (c, tf), v as (tf, c), the softmax runs over tf, and the output has thw·c features.
#pragma once

#include "emofuse/core/batch.hpp"
#include "emofuse/core/concepts.hpp"
#include "emofuse/core/error.hpp"
#include "emofuse/fusion/detail/inputs.hpp"
#include "emofuse/fusion/modality_mask.hpp"
#include "emofuse/layers/dense.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <utility>

namespace emofuse::fusion {

/// Sizes of the non-local gate's views.
struct nl_gate_dims {
    std::size_t thw = 0; ///< rows of q
    std::size_t c = 0;   ///< channels shared by q, k, v
    std::size_t tf = 0;  ///< columns of k, rows of v
};

/// NL-gate with optional q/k/v linear layers (an empty dense = none). operator() is const and
/// thread-safe.
template <class T>
class nl_gate : public fusion_stage_base {
public:
    nl_gate(nl_gate_dims dims, layers::dense<T> q_linear = {}, layers::dense<T> k_linear = {},
            layers::dense<T> v_linear = {})
        : dims_(dims), q_(std::move(q_linear)), k_(std::move(k_linear)), v_(std::move(v_linear)) {
        constexpr const char* stage = "fusion::nl_gate";
        if (!q_.empty()) {
            q_.check(stage, "q linear (qli)", dynamic, dims_.thw * dims_.c);
        }
        if (!k_.empty()) {
            k_.check(stage, "k linear (kli)", dynamic, dims_.c * dims_.tf);
        }
        if (!v_.empty()) {
            v_.check(stage, "v linear (vli)", dynamic, dims_.tf * dims_.c);
        }
    }

    /// Loads `<prefix>qli.`, `<prefix>kli.`, `<prefix>vli.` where present.
    template <class StateDict>
    static nl_gate from_state_dict(const StateDict& sd, const std::string& prefix,
                                   nl_gate_dims dims) {
        return nl_gate(dims, layers::load_optional_dense<T>(sd, prefix + "qli."),
                       layers::load_optional_dense<T>(sd, prefix + "kli."),
                       layers::load_optional_dense<T>(sd, prefix + "vli."));
    }

    [[nodiscard]] std::size_t outputs() const { return dims_.thw * dims_.c; }
    [[nodiscard]] std::size_t parameter_count() const {
        return q_.parameter_count() + k_.parameter_count() + v_.parameter_count();
    }

    template <batch_type Batch>
    features<T> operator()(const Batch& batch) const {
        static_assert(std::is_same_v<detail::batch_value_t<Batch>, T>,
                      "fusion::nl_gate<T>: the batch's element type must be T");
        constexpr const char* stage = "fusion::nl_gate";
        const auto views = detail::feature_views<T>(batch);
        detail::check_modality_count(stage, 2, views.size());
        const std::size_t qn = dims_.thw * dims_.c;
        const std::size_t kn = dims_.c * dims_.tf;
        detail::check_features(stage, views[0], q_.empty() ? qn : q_.in_features());
        detail::check_features(stage, views[1], k_.empty() ? kn : k_.in_features());
        // v comes from the second modality too: through vli, or viewed directly as (tf, c).
        detail::check_features(stage, views[1], v_.empty() ? dims_.tf * dims_.c : v_.in_features());
        const std::size_t rows = batch_size(batch, stage);
        features<T> out = features<T>::from_shape({rows, qn});
        if (rows == 0) {
            return out;
        }
        kernels::workspace& ws = detail::fusion_scratch();
        const T* q = views[0].data;
        const T* k = views[1].data;
        const T* v = views[1].data;
        if (!q_.empty()) {
            T* buf = ws.buffer<T>(0, rows * qn);
            q_.apply(views[0].data, rows, buf);
            q = buf;
        }
        if (!k_.empty()) {
            T* buf = ws.buffer<T>(1, rows * kn);
            k_.apply(views[1].data, rows, buf);
            k = buf;
        }
        if (!v_.empty()) {
            T* buf = ws.buffer<T>(2, rows * kn);
            v_.apply(views[1].data, rows, buf);
            v = buf;
        }
        T* scores = ws.buffer<T>(3, dims_.tf);
        for (std::size_t r = 0; r < rows; ++r) {
            sample(q + r * qn, k + r * kn, v + r * kn, scores, out.data() + r * qn);
        }
        return out;
    }

    /// Missing modalities: an absent modality is zeros before its linear layer.
    template <batch_type Batch>
    features<T> operator()(const Batch& batch, const modality_mask& mask) const {
        return (*this)(zero_absent(batch, mask, "fusion::nl_gate"));
    }

private:
    void sample(const T* q, const T* k, const T* v, T* scores, T* out) const {
        const std::size_t c = dims_.c;
        const std::size_t tf = dims_.tf;
        for (std::size_t i = 0; i < dims_.thw; ++i) {
            const T* qi = q + i * c;
            T top = -std::numeric_limits<T>::infinity();
            for (std::size_t j = 0; j < tf; ++j) {
                T s = 0;
                for (std::size_t p = 0; p < c; ++p) {
                    s += qi[p] * k[p * tf + j];
                }
                scores[j] = s;
                top = std::max(top, s);
            }
            T total = 0;
            for (std::size_t j = 0; j < tf; ++j) {
                scores[j] = std::exp(scores[j] - top);
                total += scores[j];
            }
            T* oi = out + i * c;
            for (std::size_t p = 0; p < c; ++p) {
                oi[p] = qi[p];
            }
            for (std::size_t j = 0; j < tf; ++j) {
                const T weight = scores[j] / total;
                for (std::size_t p = 0; p < c; ++p) {
                    oi[p] += weight * v[j * c + p];
                }
            }
        }
    }

    nl_gate_dims dims_;
    layers::dense<T> q_;
    layers::dense<T> k_;
    layers::dense<T> v_;
};

} // namespace emofuse::fusion
