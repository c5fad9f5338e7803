// emofuse/fusion/low_rank_fusion.hpp — low-rank multimodal fusion (LMF, Liu et al. 2018), a
// rank-r CP factorisation of tensor fusion's weight, with MMSA's parameter layout.
//
// f_m = [1; h_m]·W_m with W_m (rank, d_m + 1, H), so f_m is (rank, batch, H);
// Z = f_1 ⊙ f_2 ⊙ ... ⊙ f_N; y = fusion_weights·Z + fusion_bias, fusion_weights (1, rank),
// fusion_bias (1, H). MMSA's LMF visits (audio, video, text) with the factor names
// audio_factor, video_factor, text_factor.
#pragma once

#include "emofuse/core/batch.hpp"
#include "emofuse/core/concepts.hpp"
#include "emofuse/core/error.hpp"
#include "emofuse/fusion/detail/inputs.hpp"
#include "emofuse/fusion/detail/packed_linear.hpp"
#include "emofuse/fusion/modality_mask.hpp"
#include "emofuse/kernels/workspace.hpp"

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace emofuse::fusion {

/// LMF over any number of modalities in batch order. Parameters are repacked at construction
/// so that each modality's factor is one GEMM with H·rank outputs whose bias is the factor's
/// row for the prepended 1; the rank weights are folded into the first modality's factor.
/// operator() is const and thread-safe (scratch is per thread).
template <class T>
class low_rank_fusion : public fusion_stage_base {
public:
    /// factors[m]: (rank, d_m + 1, H); rank_weights: (1, rank); bias: (1, H).
    low_rank_fusion(std::vector<xt::xtensor<T, 3>> factors, xt::xtensor<T, 2> rank_weights,
                    xt::xtensor<T, 2> bias)
        : factors_(std::move(factors)), rank_weights_(std::move(rank_weights)),
          bias_(std::move(bias)) {
        constexpr const char* stage = "fusion::low_rank_fusion";
        if (factors_.empty()) {
            throw shape_error("fusion::low_rank_fusion: factors: expected at least one, got 0");
        }
        rank_ = factors_[0].shape(0);
        out_ = factors_[0].shape(2);
        for (std::size_t m = 0; m < factors_.size(); ++m) {
            const std::string name = "factor " + std::to_string(m) + " rank (dim 0)";
            check_size(stage, name, rank_, factors_[m].shape(0));
            check_size(stage, "factor " + std::to_string(m) + " outputs (dim 2)", out_,
                       factors_[m].shape(2));
            if (factors_[m].shape(1) == 0) {
                throw shape_error(emofuse::detail::concat_message(
                    stage, ": factor ", m, " rows (dim 1 = d + 1): expected at least 1, got 0"));
            }
        }
        if (rank_weights_.shape(0) != 1 || rank_weights_.shape(1) != rank_) {
            throw shape_error(emofuse::detail::concat_message(
                stage, ": fusion_weights shape: expected (1, ", rank_, "), got (",
                rank_weights_.shape(0), ", ", rank_weights_.shape(1), ")"));
        }
        if (bias_.shape(0) != 1 || bias_.shape(1) != out_) {
            throw shape_error(emofuse::detail::concat_message(
                stage, ": fusion_bias shape: expected (1, ", out_, "), got (", bias_.shape(0), ", ",
                bias_.shape(1), ")"));
        }
        pack();
    }

    /// Loads `<prefix><factor_names[m]>` (rank, d_m + 1, H) per modality in batch order,
    /// `<prefix>fusion_weights` (1, rank) and `<prefix>fusion_bias` (1, H) — MMSA's names,
    /// whose factor names are mmsa_factor_names for the batch order (audio, vision, text).
    template <class StateDict>
    static low_rank_fusion from_state_dict(const StateDict& sd, const std::string& prefix,
                                           const std::vector<std::string>& factor_names) {
        std::vector<xt::xtensor<T, 3>> factors;
        for (const auto& name : factor_names) {
            factors.push_back(sd.template tensor<T, 3>(prefix + name));
        }
        return low_rank_fusion(std::move(factors),
                               sd.template tensor<T, 2>(prefix + "fusion_weights"),
                               sd.template tensor<T, 2>(prefix + "fusion_bias"));
    }

    /// MMSA's factor names, for a batch ordered (audio, vision, text).
    static std::vector<std::string> mmsa_factor_names() {
        return {"audio_factor", "video_factor", "text_factor"};
    }

    [[nodiscard]] std::size_t rank() const { return rank_; }
    [[nodiscard]] std::size_t outputs() const { return out_; }
    [[nodiscard]] std::size_t modalities() const { return factors_.size(); }
    /// Features modality m must have (d_m).
    [[nodiscard]] std::size_t input_features(std::size_t m) const {
        return factors_.at(m).shape(1) - 1;
    }
    [[nodiscard]] std::size_t parameter_count() const {
        std::size_t count = rank_weights_.size() + bias_.size();
        for (const auto& f : factors_) {
            count += f.size();
        }
        return count;
    }
    [[nodiscard]] const std::vector<xt::xtensor<T, 3>>& factors() const { return factors_; }
    [[nodiscard]] const xt::xtensor<T, 2>& rank_weights() const { return rank_weights_; }
    [[nodiscard]] const xt::xtensor<T, 2>& bias() const { return bias_; }

    template <batch_type Batch>
    features<T> operator()(const Batch& batch) const {
        static_assert(std::is_same_v<detail::batch_value_t<Batch>, T>,
                      "fusion::low_rank_fusion<T>: the batch's element type must be T");
        constexpr const char* stage = "fusion::low_rank_fusion";
        const auto views = detail::feature_views<T>(batch);
        detail::check_modality_count(stage, factors_.size(), views.size());
        for (std::size_t m = 0; m < views.size(); ++m) {
            detail::check_features(stage, views[m], input_features(m));
        }
        const std::size_t rows = batch_size(batch, stage);
        features<T> y({rows, out_});
        forward(views.data(), rows, y.data());
        return y;
    }

    /// Missing modalities: an absent h_m is zeros, so its factor contributes its row for the
    /// prepended 1 (W_m[:, 0, :]).
    template <batch_type Batch>
    features<T> operator()(const Batch& batch, const modality_mask& mask) const {
        return (*this)(zero_absent(batch, mask, "fusion::low_rank_fusion"));
    }

private:
    void pack() {
        // kernels_[m] holds (rank·H, d_m) with row (r, h) = W_m[r, 1:, h] and bias W_m[r, 0, h]:
        // f_m = h_m·Wᵀ + b. Rank weights scale the first modality's rows.
        kernels_.clear();
        for (std::size_t m = 0; m < factors_.size(); ++m) {
            const auto& f = factors_[m];
            const std::size_t d = f.shape(1) - 1;
            auto w = xt::xtensor<T, 2>::from_shape({rank_ * out_, d});
            auto b = xt::xtensor<T, 1>::from_shape({rank_ * out_});
            for (std::size_t r = 0; r < rank_; ++r) {
                const T scale = m == 0 ? rank_weights_(0, r) : T(1);
                for (std::size_t h = 0; h < out_; ++h) {
                    b(r * out_ + h) = scale * f(r, 0, h);
                    for (std::size_t i = 0; i < d; ++i) {
                        w(r * out_ + h, i) = scale * f(r, i + 1, h);
                    }
                }
            }
            kernels_.emplace_back(w.data(), b.data(), rank_ * out_, d);
        }
    }

    void forward(const detail::feature_view<T>* views, std::size_t rows, T* y) const {
        if (rows == 0 || out_ == 0) {
            return;
        }
        const std::size_t width = rank_ * out_;
        kernels::workspace& ws = detail::fusion_scratch();
        T* product = ws.buffer<T>(0, rows * width);
        T* factor = ws.buffer<T>(1, rows * width);
        for (std::size_t m = 0; m < kernels_.size(); ++m) {
            T* target = m == 0 ? product : factor;
            kernels_[m].apply(views[m].data, views[m].cols, rows, target);
            if (m != 0) {
                for (std::size_t i = 0; i < rows * width; ++i) {
                    product[i] *= factor[i];
                }
            }
        }
        for (std::size_t r = 0; r < rows; ++r) {
            const T* z = product + r * width;
            T* out = y + r * out_;
            for (std::size_t h = 0; h < out_; ++h) {
                out[h] = bias_(0, h);
            }
            for (std::size_t k = 0; k < rank_; ++k) {
                for (std::size_t h = 0; h < out_; ++h) {
                    out[h] += z[k * out_ + h];
                }
            }
        }
    }

    std::vector<xt::xtensor<T, 3>> factors_;
    xt::xtensor<T, 2> rank_weights_;
    xt::xtensor<T, 2> bias_;
    std::size_t rank_ = 0;
    std::size_t out_ = 0;
    // Per modality: (rank·H, d_m) with row (r, h) = W_m[r, 1:, h], bias W_m[r, 0, h], packed
    // once into the GEMM's panels.
    std::vector<detail::packed_linear<T>> kernels_;
};

} // namespace emofuse::fusion
