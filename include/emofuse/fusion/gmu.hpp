// emofuse/fusion/gmu.hpp — the gated multimodal unit (GMU, Arevalo et al. 2017).
//
// h_m = tanh(W_m x_m + b_m) (H outputs each), gate on the concatenated inputs [x_1; …; x_N]:
//   two-modal form (gate with H outputs):  z = σ(W_z[x_1; x_2] + b_z), out = z ⊙ h_1 + (1−z) ⊙ h_2
//   N-modal form (gate with N·H outputs):  z = σ(W_z[x_1; …; x_N] + b_z), z_m its m-th block of H,
//                                          out = Σ_m z_m ⊙ h_m.
// State-dict names (emofuse's reference module in tests/fusion/generate_fixtures.py):
// projections.<m>.weight/bias (nn.ModuleList, batch order) and gate.weight/bias.
#pragma once

#include "emofuse/core/batch.hpp"
#include "emofuse/core/concepts.hpp"
#include "emofuse/core/error.hpp"
#include "emofuse/fusion/detail/inputs.hpp"
#include "emofuse/fusion/modality_mask.hpp"
#include "emofuse/kernels/gemm.hpp"
#include "emofuse/layers/dense.hpp"

#include <cmath>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace emofuse::fusion {

/// GMU over any number of modalities in batch order (at least two). The form follows from the
/// gate's size: H outputs with two modalities is the two-modal form, N·H the N-modal form.
/// operator() is const and thread-safe.
template <class T>
class gmu : public fusion_stage_base {
public:
    gmu(std::vector<layers::dense<T>> projections, layers::dense<T> gate)
        : projections_(std::move(projections)), gate_(std::move(gate)) {
        constexpr const char* stage = "fusion::gmu";
        if (projections_.size() < 2) {
            throw shape_error(emofuse::detail::concat_message(
                stage, ": projections: expected at least 2 modalities, got ", projections_.size()));
        }
        out_ = projections_[0].out_features();
        std::size_t total = 0;
        for (std::size_t m = 0; m < projections_.size(); ++m) {
            projections_[m].check(stage, "projection " + std::to_string(m), dynamic, out_);
            total += projections_[m].in_features();
        }
        two_modal_ = projections_.size() == 2 && gate_.out_features() == out_;
        gate_.check(stage, "gate", total, two_modal_ ? out_ : projections_.size() * out_);
    }

    /// Loads `<prefix>projections.<m>.` for m < modalities and `<prefix>gate.`.
    template <class StateDict>
    static gmu from_state_dict(const StateDict& sd, const std::string& prefix,
                               std::size_t modalities) {
        std::vector<layers::dense<T>> projections;
        for (std::size_t m = 0; m < modalities; ++m) {
            projections.push_back(
                layers::load_dense<T>(sd, prefix + "projections." + std::to_string(m) + "."));
        }
        return gmu(std::move(projections), layers::load_dense<T>(sd, prefix + "gate."));
    }

    [[nodiscard]] std::size_t outputs() const { return out_; }
    [[nodiscard]] bool two_modal() const { return two_modal_; }
    [[nodiscard]] std::size_t parameter_count() const {
        std::size_t count = gate_.parameter_count();
        for (const auto& p : projections_) {
            count += p.parameter_count();
        }
        return count;
    }

    template <batch_type Batch>
    features<T> operator()(const Batch& batch) const {
        static_assert(std::is_same_v<detail::batch_value_t<Batch>, T>,
                      "fusion::gmu<T>: the batch's element type must be T");
        constexpr const char* stage = "fusion::gmu";
        const auto views = detail::feature_views<T>(batch);
        detail::check_modality_count(stage, projections_.size(), views.size());
        for (std::size_t m = 0; m < views.size(); ++m) {
            detail::check_features(stage, views[m], projections_[m].in_features());
        }
        const std::size_t rows = batch_size(batch, stage);
        features<T> out = xt::zeros<T>({rows, out_});
        if (rows == 0) {
            return out;
        }
        const std::size_t n = views.size();
        const std::size_t gate_width = gate_.out_features();
        const std::size_t total = gate_.in_features();
        kernels::workspace& ws = detail::fusion_scratch();
        T* z = ws.buffer<T>(0, rows * gate_width);
        T* h = ws.buffer<T>(1, rows * out_);
        // The gate acts on the concatenated inputs: one GEMM per modality against its block of
        // columns of W_z, accumulated, so the concatenation is never built.
        std::size_t offset = 0;
        for (std::size_t m = 0; m < n; ++m) {
            const bool last = m + 1 == n;
            kernels::gemm(kernels::transpose::no, kernels::transpose::yes, rows, gate_width,
                          views[m].cols, T(1), views[m].data, views[m].cols,
                          gate_.weight().data() + offset, total, m == 0 ? T(0) : T(1), z,
                          gate_width,
                          kernels::fused_epilogue<T>{last ? gate_.bias_data() : nullptr});
            offset += views[m].cols;
        }
        layers::activate(layers::activation::sigmoid, z, rows * gate_width);
        for (std::size_t m = 0; m < n; ++m) {
            projections_[m].apply(views[m].data, rows, h);
            layers::activate(layers::activation::tanh, h, rows * out_);
            for (std::size_t r = 0; r < rows; ++r) {
                T* o = out.data() + r * out_;
                const T* hr = h + r * out_;
                if (two_modal_) {
                    const T* zr = z + r * out_;
                    for (std::size_t j = 0; j < out_; ++j) {
                        o[j] += (m == 0 ? zr[j] : T(1) - zr[j]) * hr[j];
                    }
                } else {
                    const T* zr = z + r * gate_width + m * out_;
                    for (std::size_t j = 0; j < out_; ++j) {
                        o[j] += zr[j] * hr[j];
                    }
                }
            }
        }
        return out;
    }

    /// Missing modalities: an absent x_m is zeros (so h_m = tanh(b_m) still enters).
    template <batch_type Batch>
    features<T> operator()(const Batch& batch, const modality_mask& mask) const {
        return (*this)(zero_absent(batch, mask, "fusion::gmu"));
    }

private:
    std::vector<layers::dense<T>> projections_;
    layers::dense<T> gate_;
    std::size_t out_ = 0;
    bool two_modal_ = false;
};

} // namespace emofuse::fusion
