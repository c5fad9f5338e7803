// emofuse/fusion/attention_sum.hpp — attention-weighted sum of modality vectors of one size d:
// weights a = scorer([x_1; …; x_N]) (N values), out = Σ_m a_m·x_m.
//
// Two peers, two names: MERTools' attention fusion uses the scorer's outputs as they are
// (attention_sum_raw); the CMU-MultimodalSDK's multiple attention normalises them with a
// softmax (attention_sum_softmax). The scorer is a stack of nn.Linear layers with ReLU between
// them (MERTools: attention_mlp then fc_att).
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
#include <string>
#include <utility>
#include <vector>

namespace emofuse::fusion {

/// How the scorer's N outputs become weights.
enum class attention_weights {
    raw,     ///< as produced (MERTools)
    softmax, ///< softmax over modalities (CMU-MultimodalSDK)
};

/// Attention-weighted sum. operator() is const and thread-safe.
template <class T, attention_weights Weights>
class attention_sum : public fusion_stage_base {
public:
    explicit attention_sum(std::vector<layers::dense<T>> scorer) : scorer_(std::move(scorer)) {
        if (scorer_.empty()) {
            throw shape_error("fusion::attention_sum: scorer layers: expected at least one, got 0");
        }
        for (std::size_t l = 0; l < scorer_.size(); ++l) {
            scorer_[l].check("fusion::attention_sum", "scorer layer " + std::to_string(l),
                             l == 0 ? dynamic : scorer_[l - 1].out_features());
        }
    }

    /// Loads `<prefix>weight`/`bias` for each layer prefix, e.g. MERTools'
    /// {"attention_mlp.module.0.", "attention_mlp.module.3.", "fc_att."}.
    template <class StateDict>
    static attention_sum from_state_dict(const StateDict& sd,
                                         const std::vector<std::string>& layer_prefixes) {
        std::vector<layers::dense<T>> scorer;
        for (const auto& p : layer_prefixes) {
            scorer.push_back(layers::load_dense<T>(sd, p));
        }
        return attention_sum(std::move(scorer));
    }

    [[nodiscard]] std::size_t parameter_count() const {
        std::size_t count = 0;
        for (const auto& l : scorer_) {
            count += l.parameter_count();
        }
        return count;
    }

    template <batch_type Batch>
    features<T> operator()(const Batch& batch) const {
        constexpr const char* stage = "fusion::attention_sum";
        const auto x = detail::feature_views<T>(batch);
        const std::size_t n = x.size();
        const std::size_t d = x[0].cols;
        for (const auto& v : x) {
            detail::check_features(stage, v, d);
        }
        check_size(stage, "scorer inputs (modalities · features)", scorer_.front().in_features(),
                   n * d);
        check_size(stage, "scorer outputs (one weight per modality)", n,
                   scorer_.back().out_features());
        const std::size_t rows = batch_size(batch, stage);
        features<T> out = xt::zeros<T>({rows, d});
        if (rows == 0) {
            return out;
        }
        kernels::workspace& ws = detail::fusion_scratch();
        std::size_t widest = n * d;
        for (const auto& l : scorer_) {
            widest = std::max(widest, l.out_features());
        }
        T* current = ws.buffer<T>(0, rows * widest);
        T* next = ws.buffer<T>(1, rows * widest);
        for (std::size_t r = 0; r < rows; ++r) {
            for (std::size_t m = 0; m < n; ++m) {
                std::copy_n(x[m].row(r), d, current + r * n * d + m * d);
            }
        }
        for (std::size_t l = 0; l < scorer_.size(); ++l) {
            const bool last = l + 1 == scorer_.size();
            scorer_[l].apply(current, rows, next,
                             last ? kernels::epilogue::none : kernels::epilogue::relu);
            std::swap(current, next);
        }
        for (std::size_t r = 0; r < rows; ++r) {
            T* a = current + r * n;
            if constexpr (Weights == attention_weights::softmax) {
                T top = a[0];
                for (std::size_t m = 1; m < n; ++m) {
                    top = std::max(top, a[m]);
                }
                T total = 0;
                for (std::size_t m = 0; m < n; ++m) {
                    a[m] = std::exp(a[m] - top);
                    total += a[m];
                }
                for (std::size_t m = 0; m < n; ++m) {
                    a[m] /= total;
                }
            }
            T* o = out.data() + r * d;
            for (std::size_t m = 0; m < n; ++m) {
                const T* xm = x[m].row(r);
                for (std::size_t j = 0; j < d; ++j) {
                    o[j] += a[m] * xm[j];
                }
            }
        }
        return out;
    }

    /// Missing modalities: an absent modality is zeros (in the scorer's input and the sum).
    template <batch_type Batch>
    features<T> operator()(const Batch& batch, const modality_mask& mask) const {
        return (*this)(zero_absent(batch, mask, "fusion::attention_sum"));
    }

private:
    std::vector<layers::dense<T>> scorer_;
};

/// Softmax-normalised weights (CMU-MultimodalSDK multiple attention).
template <class T>
using attention_sum_softmax = attention_sum<T, attention_weights::softmax>;
/// Raw, unnormalised weights (MERTools attention fusion).
template <class T>
using attention_sum_raw = attention_sum<T, attention_weights::raw>;

} // namespace emofuse::fusion
