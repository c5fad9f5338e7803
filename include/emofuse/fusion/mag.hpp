// emofuse/fusion/mag.hpp — the multimodal adaptation gate (MAG, Rahman et al. 2020, MAG-BERT),
// applied to every time step.
//
// With t the main modality (the first in batch order, text in MAG-BERT) and auxiliaries x_m:
//   g_m = ReLU(W_hm [x_m; t] + b_hm),  H = Σ_m g_m ⊙ (W_m x_m + b_m),
//   α = min(β·‖t‖₂ / (‖H‖₂ + ε), 1) with ‖H‖₂ = 0 replaced by 1,  out = LayerNorm(t + α·H).
// MAG-BERT's names: W_hv, W_v (visual) and W_ha, W_a (acoustic), LayerNorm, for the batch order
// (text, vision, audio); dropout is a training-time operation and is not applied.
#pragma once

#include "emofuse/core/batch.hpp"
#include "emofuse/core/concepts.hpp"
#include "emofuse/core/error.hpp"
#include "emofuse/fusion/detail/inputs.hpp"
#include "emofuse/fusion/modality_mask.hpp"
#include "emofuse/layers/dense.hpp"

#include <boost/hana/for_each.hpp>
#include <boost/hana/front.hpp>
#include <boost/hana/keys.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace emofuse::fusion {

/// One auxiliary modality's parameters: the gate W_hm acting on [x_m; t] (d_main,
/// d_m + d_main) and the projection W_m (d_main, d_m).
template <class T>
struct mag_auxiliary {
    layers::dense<T> gate;
    layers::dense<T> projection;
};

/// State-dict prefixes (relative to the stage's prefix) of one auxiliary's gate and projection.
struct mag_names {
    std::string gate;
    std::string projection;
};

/// MAG over a main modality and any number of auxiliaries, per time step on sequences that
/// share their time axis (returns a sequence with the main modality's lengths and frame mask),
/// or per sample on utterance features (returns features). Every frame is computed, padding
/// included, as PyTorch does on padded tensors. operator() is const and thread-safe.
template <class T>
class mag : public fusion_stage_base {
public:
    mag(std::vector<mag_auxiliary<T>> auxiliaries, xt::xtensor<T, 1> norm_weight,
        xt::xtensor<T, 1> norm_bias, T beta_shift, T norm_eps = T(1e-5), T eps = T(1e-6))
        : aux_(std::move(auxiliaries)), norm_weight_(std::move(norm_weight)),
          norm_bias_(std::move(norm_bias)), beta_(beta_shift), norm_eps_(norm_eps), eps_(eps) {
        constexpr const char* stage = "fusion::mag";
        if (aux_.empty()) {
            throw shape_error("fusion::mag: auxiliary modalities: expected at least one, got 0");
        }
        main_ = aux_[0].projection.out_features();
        check_size(stage, "LayerNorm weight size", main_, norm_weight_.size());
        check_size(stage, "LayerNorm bias size", main_, norm_bias_.size());
        for (std::size_t m = 0; m < aux_.size(); ++m) {
            const std::string name = "auxiliary " + std::to_string(m + 1);
            const std::size_t d = aux_[m].projection.in_features();
            aux_[m].projection.check(stage, name + " projection", d, main_);
            aux_[m].gate.check(stage, name + " gate", d + main_, main_);
        }
        pack();
    }

    /// Loads `<prefix><names[m].gate>weight/bias`, `<prefix><names[m].projection>weight/bias`
    /// and `<prefix><norm>weight/bias`. The defaults are MAG-BERT's for (text, vision, audio).
    template <class StateDict>
    static mag from_state_dict(const StateDict& sd, const std::string& prefix, T beta_shift,
                               const std::vector<mag_names>& names = {{"W_hv.", "W_v."},
                                                                      {"W_ha.", "W_a."}},
                               const std::string& norm = "LayerNorm.", T norm_eps = T(1e-5)) {
        std::vector<mag_auxiliary<T>> aux;
        for (const auto& n : names) {
            aux.push_back({layers::load_dense<T>(sd, prefix + n.gate),
                           layers::load_dense<T>(sd, prefix + n.projection)});
        }
        const std::size_t d = aux.empty() ? 0 : aux[0].projection.out_features();
        return mag(std::move(aux), sd.template tensor<T, 1>(prefix + norm + "weight", {d}),
                   sd.template tensor<T, 1>(prefix + norm + "bias", {d}), beta_shift, norm_eps);
    }

    [[nodiscard]] std::size_t main_features() const { return main_; }
    [[nodiscard]] T beta_shift() const { return beta_; }
    [[nodiscard]] std::size_t parameter_count() const {
        std::size_t count = norm_weight_.size() + norm_bias_.size();
        for (const auto& a : aux_) {
            count += a.gate.parameter_count() + a.projection.parameter_count();
        }
        return count;
    }

    template <batch_type Batch>
    auto operator()(const Batch& batch) const {
        using T_in = detail::batch_value_t<Batch>;
        static_assert(std::is_same_v<T_in, T>,
                      "fusion::mag<T>: the batch's element type must be T");
        constexpr const char* stage = "fusion::mag";
        constexpr std::size_t n = detail::modality_count_v<Batch>;
        detail::check_modality_count(stage, aux_.size() + 1, n);
        const std::size_t samples = batch_size(batch, stage);
        std::array<const T*, n> data{};
        std::array<std::size_t, n> cols{};
        std::size_t steps = 1;
        std::size_t index = 0;
        const auto keys = hana::keys(batch);
        using first_entry = entry_t<std::remove_cvref_t<decltype(batch[hana::front(keys)])>>;
        constexpr bool sequences = is_sequence_v<first_entry>;
        hana::for_each(keys, [&](auto key) {
            const auto& x = entry_of(batch[key]);
            using entry = std::remove_cvref_t<decltype(x)>;
            static_assert(is_sequence_v<entry> == sequences,
                          "fusion::mag: either every modality is a sequence (per time step) or "
                          "every modality is utterance features");
            std::size_t d = 0;
            if constexpr (sequences) {
                if (index == 0) {
                    steps = x.max_time();
                } else if (x.max_time() != steps) {
                    throw shape_error(emofuse::detail::concat_message(
                        stage, ": time steps of modality '", name_of(key), "': expected ", steps,
                        " (the main modality's), got ", x.max_time()));
                }
                d = x.feature_size();
                data[index] = x.values().data();
            } else {
                d = x.shape(1);
                data[index] = x.data();
            }
            const std::size_t expected =
                index == 0 ? main_ : aux_[index - 1].projection.in_features();
            if (d != expected) {
                throw shape_error(mismatch_message(
                    stage, "features of modality '" + std::string(name_of(key)) + "'", expected,
                    d));
            }
            cols[index++] = d;
        });
        const std::size_t rows = samples * steps;
        if constexpr (sequences) {
            const auto& main = entry_of(batch[hana::front(keys)]);
            auto values = xt::xtensor<T, 3>::from_shape({samples, steps, main_});
            forward(data.data(), cols.data(), rows, values.data());
            if (main.has_frame_mask()) {
                return sequence<T>(std::move(values), main.lengths(), main.frame_mask());
            }
            return sequence<T>(std::move(values), main.lengths());
        } else {
            auto out = features<T>::from_shape({rows, main_});
            forward(data.data(), cols.data(), rows, out.data());
            return out;
        }
    }

    /// Missing modalities: an absent modality is zeros for that sample (all its frames).
    template <batch_type Batch>
    auto operator()(const Batch& batch, const modality_mask& mask) const {
        return (*this)(zero_absent(batch, mask, "fusion::mag"));
    }

private:
    // Rows per block: the block's gate/projection outputs stay in L2 between the GEMMs and the
    // per-row norm-ratio and LayerNorm pass.
    static constexpr std::size_t block_rows = 128;

    void pack() {
        // Main modality: every gate's t-columns stacked, (A·d, d) with the gates' biases; each
        // auxiliary: [gate's x_m-columns; projection] stacked, (2d, d_m) with [0; b_m].
        const std::size_t a = aux_.size();
        auto main_weight = xt::xtensor<T, 2>::from_shape({a * main_, main_});
        xt::xtensor<T, 1> main_bias = xt::zeros<T>({a * main_});
        aux_stack_.clear();
        for (std::size_t m = 0; m < a; ++m) {
            const auto& g = aux_[m].gate;
            const auto& p = aux_[m].projection;
            const std::size_t d = p.in_features();
            auto weight = xt::xtensor<T, 2>::from_shape({2 * main_, d});
            xt::xtensor<T, 1> bias = xt::zeros<T>({2 * main_});
            for (std::size_t h = 0; h < main_; ++h) {
                for (std::size_t i = 0; i < d; ++i) {
                    weight(h, i) = g.weight()(h, i);
                    weight(main_ + h, i) = p.weight()(h, i);
                }
                for (std::size_t i = 0; i < main_; ++i) {
                    main_weight(m * main_ + h, i) = g.weight()(h, d + i);
                }
                if (g.bias().size()) {
                    main_bias(m * main_ + h) = g.bias()(h);
                }
                if (p.bias().size()) {
                    bias(main_ + h) = p.bias()(h);
                }
            }
            aux_stack_.emplace_back(std::move(weight), std::move(bias));
        }
        main_stack_ = layers::dense<T>(std::move(main_weight), std::move(main_bias));
    }

    void forward(const T* const* data, const std::size_t* cols, std::size_t rows, T* out) const {
        const std::size_t a = aux_.size();
        const std::size_t d = main_;
        kernels::workspace& ws = detail::fusion_scratch();
        T* gates = ws.buffer<T>(0, block_rows * a * d);
        T* aux = ws.buffer<T>(1, block_rows * 2 * d);
        T* h = ws.buffer<T>(2, block_rows * d);
        for (std::size_t r0 = 0; r0 < rows; r0 += block_rows) {
            const std::size_t count = std::min(block_rows, rows - r0);
            const T* t = data[0] + r0 * d;
            main_stack_.apply(t, count, gates);
            for (std::size_t m = 0; m < a; ++m) {
                aux_stack_[m].apply(data[m + 1] + r0 * cols[m + 1], count, aux);
                for (std::size_t r = 0; r < count; ++r) {
                    const T* g = gates + r * a * d + m * d;
                    const T* u = aux + r * 2 * d;
                    T* hr = h + r * d;
                    for (std::size_t j = 0; j < d; ++j) {
                        const T gate = std::max(g[j] + u[j], T(0));
                        const T term = gate * u[d + j];
                        hr[j] = m == 0 ? term : hr[j] + term;
                    }
                }
            }
            for (std::size_t r = 0; r < count; ++r) {
                finish_row(t + r * d, h + r * d, out + (r0 + r) * d);
            }
        }
    }

    // α from the norms, then LayerNorm(t + α·H): three SIMD passes over the row (norms; the
    // sum; centred squares and the affine output).
    void finish_row(const T* t, const T* h, T* out) const {
        using batch = xsimd::batch<T, simd_arch>;
        constexpr std::size_t lanes = batch::size;
        const std::size_t d = main_;
        const std::size_t body = d - d % lanes;
        batch t_acc(T(0)), h_acc(T(0));
        for (std::size_t j = 0; j < body; j += lanes) {
            const batch tv = batch::load_unaligned(t + j);
            const batch hv = batch::load_unaligned(h + j);
            t_acc = xsimd::fma(tv, tv, t_acc);
            h_acc = xsimd::fma(hv, hv, h_acc);
        }
        T t_sq = horizontal_sum(t_acc);
        T h_sq = horizontal_sum(h_acc);
        for (std::size_t j = body; j < d; ++j) {
            t_sq += t[j] * t[j];
            h_sq += h[j] * h[j];
        }
        T h_norm = std::sqrt(h_sq);
        if (h_norm == T(0)) {
            h_norm = T(1);
        }
        const T alpha = std::min(std::sqrt(t_sq) / (h_norm + eps_) * beta_, T(1));
        const batch alpha_v(alpha);
        batch sum_v(T(0));
        for (std::size_t j = 0; j < body; j += lanes) {
            const batch v =
                xsimd::fma(alpha_v, batch::load_unaligned(h + j), batch::load_unaligned(t + j));
            v.store_unaligned(out + j);
            sum_v += v;
        }
        T sum = horizontal_sum(sum_v);
        for (std::size_t j = body; j < d; ++j) {
            out[j] = t[j] + alpha * h[j];
            sum += out[j];
        }
        const T mean = sum / static_cast<T>(d);
        const batch mean_v(mean);
        batch var_v(T(0));
        for (std::size_t j = 0; j < body; j += lanes) {
            const batch c = batch::load_unaligned(out + j) - mean_v;
            var_v = xsimd::fma(c, c, var_v);
        }
        T var = horizontal_sum(var_v);
        for (std::size_t j = body; j < d; ++j) {
            const T c = out[j] - mean;
            var += c * c;
        }
        var /= static_cast<T>(d);
        const T inv = T(1) / std::sqrt(var + norm_eps_);
        const batch inv_v(inv);
        for (std::size_t j = 0; j < body; j += lanes) {
            const batch c = (batch::load_unaligned(out + j) - mean_v) * inv_v;
            xsimd::fma(c, batch::load_unaligned(norm_weight_.data() + j),
                       batch::load_unaligned(norm_bias_.data() + j))
                .store_unaligned(out + j);
        }
        for (std::size_t j = body; j < d; ++j) {
            out[j] = (out[j] - mean) * inv * norm_weight_(j) + norm_bias_(j);
        }
    }

    template <class Batch>
    static T horizontal_sum(const Batch& b) {
#if XSIMD_VERSION_MAJOR >= 9
        return xsimd::reduce_add(b);
#else
        return xsimd::hadd(b);
#endif
    }

    std::vector<mag_auxiliary<T>> aux_;
    xt::xtensor<T, 1> norm_weight_;
    xt::xtensor<T, 1> norm_bias_;
    T beta_;
    T norm_eps_;
    T eps_;
    std::size_t main_ = 0;
    layers::dense<T> main_stack_;
    std::vector<layers::dense<T>> aux_stack_;
};

} // namespace emofuse::fusion
