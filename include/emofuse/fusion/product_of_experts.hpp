// emofuse/fusion/product_of_experts.hpp — the Gaussian product of experts of MultiBench's MVAE.
//
// Each modality gives an expert N(μ_m, exp(logvar_m)) as one row [μ; logvar] of 2·d values.
// With the N(0, 1) prior expert (μ = 0, logvar = 0) included by default:
//   T_m = 1 / (exp(logvar_m) + 1e-8),  μ = Σ μ_m·T_m / Σ T_m,  var = 1 / Σ T_m,
// and the output row is [μ; log var].
#pragma once

#include "emofuse/core/batch.hpp"
#include "emofuse/core/concepts.hpp"
#include "emofuse/core/error.hpp"
#include "emofuse/fusion/detail/inputs.hpp"
#include "emofuse/fusion/modality_mask.hpp"

#include <cmath>
#include <cstddef>

namespace emofuse::fusion {

/// Gaussian product of experts. operator() is const and thread-safe.
template <class T>
struct product_of_experts : fusion_stage_base {
    /// Include the N(0, 1) prior expert (MVAE's prior_expert).
    bool prior = true;

    template <batch_type Batch>
    features<T> operator()(const Batch& batch) const {
        return fuse(batch, nullptr);
    }

    /// Missing modalities: an absent expert is left out of the product (as MVAE does when it
    /// subsamples modalities). Zeros would be an N(0, 1) expert, so this stage does not use the
    /// zero-filling rule of the others. A sample with no expert and no prior has no defined
    /// product: value_error.
    template <batch_type Batch>
    features<T> operator()(const Batch& batch, const modality_mask& mask) const {
        check_modality_mask("fusion::product_of_experts", mask,
                            batch_size(batch, "fusion::product_of_experts"),
                            detail::modality_count_v<Batch>);
        return fuse(batch, &mask);
    }

private:
    template <batch_type Batch>
    features<T> fuse(const Batch& batch, const modality_mask* mask) const {
        constexpr const char* stage = "fusion::product_of_experts";
        const auto x = detail::feature_views<T>(batch);
        const std::size_t rows = batch_size(batch, stage);
        const std::size_t width = x[0].cols;
        if (width % 2 != 0) {
            throw shape_error(emofuse::detail::concat_message(
                stage, ": features of modality '", x[0].name,
                "': expected an even count ([μ; logvar]), got ", width));
        }
        for (const auto& v : x) {
            detail::check_features(stage, v, width);
        }
        const std::size_t d = width / 2;
        // Precisions are summed in double: with the prior alone, var = 1 + 1e-8 must survive
        // in a float result (1 + 1e-8 is 1 in float arithmetic).
        constexpr double eps = 1e-8;
        const double prior_precision = 1.0 / (1.0 + eps);
        features<T> out = features<T>::from_shape({rows, width});
        for (std::size_t r = 0; r < rows; ++r) {
            std::size_t experts = prior ? 1 : 0;
            for (std::size_t m = 0; m < x.size(); ++m) {
                experts += (mask == nullptr || (*mask)(r, m) != 0) ? 1 : 0;
            }
            if (experts == 0) {
                throw value_error(emofuse::detail::concat_message(
                    stage, ": sample ", r,
                    ": expected at least one present expert (or the prior), got none"));
            }
            for (std::size_t j = 0; j < d; ++j) {
                double weighted = 0;
                double precision = prior ? prior_precision : 0.0;
                for (std::size_t m = 0; m < x.size(); ++m) {
                    if (mask != nullptr && (*mask)(r, m) == 0) {
                        continue;
                    }
                    const T* row = x[m].row(r);
                    const double t = 1.0 / (std::exp(double(row[d + j])) + eps);
                    weighted += double(row[j]) * t;
                    precision += t;
                }
                out(r, j) = static_cast<T>(weighted / precision);
                out(r, d + j) = static_cast<T>(-std::log(precision));
            }
        }
        return out;
    }
};

} // namespace emofuse::fusion
