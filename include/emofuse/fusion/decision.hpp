// emofuse/fusion/decision.hpp — late decision fusion: combining per-modality predictions.
//
// weighted_mean: out = Σ_m w_m·p_m / Σ_m w_m over the modalities present for the sample
//   (all of them without a mask), for regression outputs or class probabilities.
// majority_vote: each present modality votes for the argmax of its class scores (the first
//   maximum on ties within a row); the class with most votes wins, and a tie between classes
//   goes to the smallest class index (numpy.argmax of the vote counts, scipy.stats.mode).
//   The output is (batch, 1) holding the class index. A NaN score makes the sample's result NaN.
#pragma once

#include "emofuse/core/batch.hpp"
#include "emofuse/core/concepts.hpp"
#include "emofuse/core/error.hpp"
#include "emofuse/fusion/detail/inputs.hpp"
#include "emofuse/fusion/modality_mask.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <utility>
#include <vector>

namespace emofuse::fusion {

/// Weighted mean of per-modality predictions (all of one width). operator() is const and
/// thread-safe.
template <class T>
class weighted_mean : public fusion_stage_base {
public:
    /// One non-negative weight per modality, in batch order, with a positive sum.
    explicit weighted_mean(std::vector<T> weights) : weights_(std::move(weights)) {
        T total = 0;
        for (std::size_t m = 0; m < weights_.size(); ++m) {
            if (!(weights_[m] >= T(0)) || !std::isfinite(weights_[m])) {
                throw value_error(emofuse::detail::concat_message(
                    "fusion::weighted_mean: weight ", m, ": expected a finite value >= 0, got ",
                    weights_[m]));
            }
            total += weights_[m];
        }
        if (!(total > T(0))) {
            throw value_error("fusion::weighted_mean: weights: expected a positive sum, got 0");
        }
    }

    template <batch_type Batch>
    features<T> operator()(const Batch& batch) const {
        return fuse(batch, nullptr);
    }

    /// Missing modalities are left out of the mean (their weight too). A sample with no present
    /// modality of positive weight: value_error.
    template <batch_type Batch>
    features<T> operator()(const Batch& batch, const modality_mask& mask) const {
        check_modality_mask("fusion::weighted_mean", mask,
                            batch_size(batch, "fusion::weighted_mean"),
                            detail::modality_count_v<Batch>);
        return fuse(batch, &mask);
    }

private:
    template <batch_type Batch>
    features<T> fuse(const Batch& batch, const modality_mask* mask) const {
        constexpr const char* stage = "fusion::weighted_mean";
        const auto x = detail::feature_views<T>(batch);
        detail::check_modality_count(stage, weights_.size(), x.size());
        const std::size_t width = x[0].cols;
        for (const auto& v : x) {
            detail::check_features(stage, v, width);
        }
        const std::size_t rows = batch_size(batch, stage);
        features<T> out = xt::zeros<T>({rows, width});
        for (std::size_t r = 0; r < rows; ++r) {
            T total = 0;
            for (std::size_t m = 0; m < x.size(); ++m) {
                if (mask != nullptr && (*mask)(r, m) == 0) {
                    continue;
                }
                total += weights_[m];
                const T* p = x[m].row(r);
                for (std::size_t j = 0; j < width; ++j) {
                    out(r, j) += weights_[m] * p[j];
                }
            }
            if (!(total > T(0))) {
                throw value_error(emofuse::detail::concat_message(
                    stage, ": sample ", r,
                    ": expected a present modality with positive weight, got none"));
            }
            for (std::size_t j = 0; j < width; ++j) {
                out(r, j) /= total;
            }
        }
        return out;
    }

    std::vector<T> weights_;
};

/// Majority vote over per-modality class scores (batch, classes), all of one width.
struct majority_vote : fusion_stage_base {
    static constexpr std::size_t output_size = 1;

    template <batch_type Batch>
    auto operator()(const Batch& batch) const {
        return fuse(batch, nullptr);
    }

    /// Missing modalities do not vote. A sample where no modality is present: value_error.
    template <batch_type Batch>
    auto operator()(const Batch& batch, const modality_mask& mask) const {
        check_modality_mask("fusion::majority_vote", mask,
                            batch_size(batch, "fusion::majority_vote"),
                            detail::modality_count_v<Batch>);
        return fuse(batch, &mask);
    }

private:
    template <batch_type Batch>
    auto fuse(const Batch& batch, const modality_mask* mask) const {
        using T = detail::batch_value_t<Batch>;
        constexpr const char* stage = "fusion::majority_vote";
        const auto x = detail::feature_views<T>(batch);
        const std::size_t classes = x[0].cols;
        if (classes == 0) {
            throw shape_error("fusion::majority_vote: classes: expected at least 1, got 0");
        }
        for (const auto& v : x) {
            detail::check_features(stage, v, classes);
        }
        const std::size_t rows = batch_size(batch, stage);
        features<T> out = features<T>::from_shape({rows, std::size_t{1}});
        std::vector<std::size_t> votes(classes);
        for (std::size_t r = 0; r < rows; ++r) {
            std::fill(votes.begin(), votes.end(), 0);
            bool any = false;
            bool nan = false;
            for (std::size_t m = 0; m < x.size(); ++m) {
                if (mask != nullptr && (*mask)(r, m) == 0) {
                    continue;
                }
                any = true;
                const T* s = x[m].row(r);
                std::size_t best = 0;
                for (std::size_t c = 0; c < classes; ++c) {
                    nan = nan || std::isnan(s[c]);
                    if (s[c] > s[best]) {
                        best = c;
                    }
                }
                ++votes[best];
            }
            if (!any) {
                throw value_error(emofuse::detail::concat_message(
                    stage, ": sample ", r, ": expected at least one present modality, got none"));
            }
            std::size_t winner = 0;
            for (std::size_t c = 1; c < classes; ++c) {
                if (votes[c] > votes[winner]) {
                    winner = c;
                }
            }
            out(r, 0) = nan ? std::numeric_limits<T>::quiet_NaN() : static_cast<T>(winner);
        }
        return out;
    }
};

} // namespace emofuse::fusion
