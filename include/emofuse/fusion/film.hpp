// emofuse/fusion/film.hpp — feature-wise linear modulation (FiLM, Perez et al. 2018) as
// MultiBench writes it: out = γ(c) ⊙ x + β(c), with γ and β linear in the conditioning c.
//
// Batch order: the first modality is x (MultiBench's base_modal 0), the second is c (its
// gamma/beta_generate_modal 1). State-dict names: g_net.weight/bias, b_net.weight/bias.
#pragma once

#include "emofuse/core/batch.hpp"
#include "emofuse/core/concepts.hpp"
#include "emofuse/core/error.hpp"
#include "emofuse/fusion/detail/inputs.hpp"
#include "emofuse/fusion/modality_mask.hpp"
#include "emofuse/layers/dense.hpp"

#include <cstddef>
#include <string>
#include <utility>

namespace emofuse::fusion {

/// FiLM of the first modality by the second. operator() is const and thread-safe.
template <class T>
class film : public fusion_stage_base {
public:
    film(layers::dense<T> gamma, layers::dense<T> beta)
        : gamma_(std::move(gamma)), beta_(std::move(beta)) {
        gamma_.check("fusion::film", "gamma network (g_net)");
        beta_.check("fusion::film", "beta network (b_net)", gamma_.in_features(),
                    gamma_.out_features());
    }

    /// Loads `<prefix>g_net.` and `<prefix>b_net.` (MultiBench's FiLM with linear networks).
    template <class StateDict>
    static film from_state_dict(const StateDict& sd, const std::string& prefix) {
        return film(layers::load_dense<T>(sd, prefix + "g_net."),
                    layers::load_dense<T>(sd, prefix + "b_net."));
    }

    [[nodiscard]] std::size_t outputs() const { return gamma_.out_features(); }
    [[nodiscard]] std::size_t parameter_count() const {
        return gamma_.parameter_count() + beta_.parameter_count();
    }

    template <batch_type Batch>
    features<T> operator()(const Batch& batch) const {
        static_assert(std::is_same_v<detail::batch_value_t<Batch>, T>,
                      "fusion::film<T>: the batch's element type must be T");
        constexpr const char* stage = "fusion::film";
        const auto views = detail::feature_views<T>(batch);
        detail::check_modality_count(stage, 2, views.size());
        detail::check_features(stage, views[0], gamma_.out_features());
        detail::check_features(stage, views[1], gamma_.in_features());
        const std::size_t rows = batch_size(batch, stage);
        const std::size_t d = gamma_.out_features();
        features<T> out = features<T>::from_shape({rows, d});
        if (rows == 0) {
            return out;
        }
        T* beta = detail::fusion_scratch().template buffer<T>(0, rows * d);
        gamma_.apply(views[1].data, rows, out.data());
        beta_.apply(views[1].data, rows, beta);
        for (std::size_t i = 0; i < rows * d; ++i) {
            out.data()[i] = out.data()[i] * views[0].data[i] + beta[i];
        }
        return out;
    }

    /// Missing modalities: an absent modality is zeros (absent c gives γ = b_g, β = b_b).
    template <batch_type Batch>
    features<T> operator()(const Batch& batch, const modality_mask& mask) const {
        return (*this)(zero_absent(batch, mask, "fusion::film"));
    }

private:
    layers::dense<T> gamma_;
    layers::dense<T> beta_;
};

} // namespace emofuse::fusion
