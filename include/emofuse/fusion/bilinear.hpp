// emofuse/fusion/bilinear.hpp — the factorised bilinear family of block.bootstrap.pytorch:
// MLB, MFB, MFH and MUTAN, over two modalities in batch order (x_0, x_1).
//
//   MLB:   z = act(W_0 x_0) ⊙ act(W_1 x_1)
//   MFB:   z = sum-pool over groups of k of act(W_0 x_0) ⊙ act(W_1 x_1)  (o·k → o)
//   MFH:   z_0 as MFB with the un-pooled product p_0 kept; z_1 = pool(act(W'_0 x_0) ⊙
//          act(W'_1 x_1) ⊙ p_0); z = [z_0; z_1]
//   MUTAN: x_i = act(W_i q_i); m = (M_0 x_0) ⊙ (M_1 x_1) viewed as (R, P), summed over R
// then, where enabled, power and L2 normalisation (sign(z)·sqrt|z|, z / max(‖z‖₂, 1e-12),
// applied to z_0 and z_1 separately in MFH), the optional output layer and its activation.
// block's names: linear0, linear1 (MFH: linear0_0, linear1_0, linear0_1, linear1_1;
// MUTAN: also merge_linear0, merge_linear1), linear_out. block's defaults
// (bilinear_options::block()) are activ_input = activ_output = relu, normalize = false;
// dropout is training-only.
#pragma once

#include "emofuse/config.hpp"
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

namespace emofuse::fusion {

/// Element-wise activations of the fusion stages (the layers' set).
using activation = layers::activation;

/// Activations and normalisation shared by the bilinear family. Peers differ, so the stages
/// take it without a default: bilinear_options::block() or fields spelled out.
struct bilinear_options {
    activation input;  ///< after the input projections
    activation output; ///< after linear_out, or on z without one
    bool normalize;    ///< signed square root, then L2 per sample

    /// Cadene/block.bootstrap.pytorch (block/models/networks/fusions/fusions.py, MLB, MFB,
    /// MFH, Mutan): activ_input = activ_output = 'relu', normalize = False.
    [[nodiscard]] static constexpr bilinear_options block() {
        return {activation::relu, activation::relu, false};
    }
};

namespace detail {

/// z ← sign(z)·sqrt|z|, then z ← z / max(‖z‖₂, 1e-12) per row (torch's F.normalize). The
/// squared norm of sign(z)·sqrt|z| is Σ|z|, so one SIMD pass takes the roots and the norm.
template <class T>
void power_l2_normalize(T* z, std::size_t rows, std::size_t n, std::size_t ld) {
    using batch = xsimd::batch<T, simd_arch>;
    constexpr std::size_t lanes = batch::size;
    for (std::size_t r = 0; r < rows; ++r) {
        T* row = z + r * ld;
        batch total(T(0));
        std::size_t j = 0;
        for (; j + lanes <= n; j += lanes) {
            const batch v = batch::load_unaligned(row + j);
            const batch magnitude = xsimd::abs(v);
            const batch root = xsimd::sqrt(magnitude);
            xsimd::select(v < batch(T(0)), -root, root).store_unaligned(row + j);
            total += magnitude;
        }
#if XSIMD_VERSION_MAJOR >= 9
        T sum = xsimd::reduce_add(total);
#else
        T sum = xsimd::hadd(total);
#endif
        for (; j < n; ++j) {
            const T v = row[j];
            const T root = std::sqrt(std::abs(v));
            row[j] = v < T(0) ? -root : root;
            sum += std::abs(v);
        }
        const T scale = T(1) / std::max(std::sqrt(sum), T(1e-12));
        for (std::size_t i = 0; i < n; ++i) {
            row[i] *= scale;
        }
    }
}

/// dst[r, g] = Σ_{j<k} a[r, g·k + j]·b[r, g·k + j]: the element-wise product and block's
/// view(B, o, k).sum(2) in one pass; dst rows `ld` apart.
template <class T>
void multiply_sum_groups(const T* a, const T* b, std::size_t rows, std::size_t groups,
                         std::size_t k, T* dst, std::size_t ld) {
    for (std::size_t r = 0; r < rows; ++r) {
        const T* ar = a + r * groups * k;
        const T* br = b + r * groups * k;
        T* d = dst + r * ld;
        for (std::size_t g = 0; g < groups; ++g) {
            T sum = ar[g * k] * br[g * k];
            for (std::size_t j = 1; j < k; ++j) {
                sum += ar[g * k + j] * br[g * k + j];
            }
            d[g] = sum;
        }
    }
}

/// dst[r, g] = Σ_{j<k} src[r, g·k + j] (block's view(B, o, k).sum(2)); dst rows `ld` apart.
template <class T>
void sum_groups(const T* src, std::size_t rows, std::size_t groups, std::size_t k, T* dst,
                std::size_t ld) {
    for (std::size_t r = 0; r < rows; ++r) {
        const T* s = src + r * groups * k;
        T* d = dst + r * ld;
        for (std::size_t g = 0; g < groups; ++g) {
            T sum = s[g * k];
            for (std::size_t j = 1; j < k; ++j) {
                sum += s[g * k + j];
            }
            d[g] = sum;
        }
    }
}

/// The two inputs of a bilinear stage, checked against the projections' sizes.
template <class T, batch_type Batch>
std::array<feature_view<T>, 2> bilinear_inputs(const Batch& batch, std::string_view stage,
                                               std::size_t d0, std::size_t d1) {
    static_assert(modality_count_v<Batch> == 2,
                  "emofuse::fusion bilinear stages (MLB, MFB, MFH, MUTAN, MCB) fuse exactly two "
                  "modalities; select them with only<a, b>(stage)");
    const auto views = feature_views<T>(batch);
    check_features(stage, views[0], d0);
    check_features(stage, views[1], d1);
    return views;
}

/// Output layer (or none) and output activation; `z` is (rows, width).
template <class T>
features<T> bilinear_output(const layers::dense<T>& linear_out, activation act, const T* z,
                            std::size_t rows, std::size_t width) {
    features<T> out;
    if (linear_out.empty()) {
        out = features<T>::from_shape({rows, width});
        std::copy_n(z, rows * width, out.data());
    } else {
        out = features<T>::from_shape({rows, linear_out.out_features()});
        if (rows != 0) {
            linear_out.apply(z, rows, out.data());
        }
    }
    layers::activate(act, out.data(), out.size());
    return out;
}

} // namespace detail

/// Multimodal low-rank bilinear pooling (MLB, Kim et al. 2017).
template <class T>
class mlb : public fusion_stage_base {
public:
    mlb(layers::dense<T> linear0, layers::dense<T> linear1, bilinear_options options,
        layers::dense<T> linear_out = {})
        : l0_(std::move(linear0)), l1_(std::move(linear1)), out_(std::move(linear_out)),
          options_(options) {
        l0_.check("fusion::mlb", "linear0");
        l1_.check("fusion::mlb", "linear1", dynamic, l0_.out_features());
        if (!out_.empty()) {
            out_.check("fusion::mlb", "linear_out", l0_.out_features());
        }
    }

    template <class StateDict>
    static mlb from_state_dict(const StateDict& sd, const std::string& prefix,
                               bilinear_options options) {
        return mlb(layers::load_dense<T>(sd, prefix + "linear0."),
                   layers::load_dense<T>(sd, prefix + "linear1."), options,
                   layers::load_optional_dense<T>(sd, prefix + "linear_out."));
    }

    [[nodiscard]] std::size_t outputs() const {
        return out_.empty() ? l0_.out_features() : out_.out_features();
    }
    [[nodiscard]] std::size_t parameter_count() const {
        return l0_.parameter_count() + l1_.parameter_count() + out_.parameter_count();
    }

    template <batch_type Batch>
    features<T> operator()(const Batch& batch) const {
        const auto x =
            detail::bilinear_inputs<T>(batch, "fusion::mlb", l0_.in_features(), l1_.in_features());
        const std::size_t rows = batch_size(batch, "fusion::mlb");
        const std::size_t mm = l0_.out_features();
        kernels::workspace& ws = detail::fusion_scratch();
        T* a = ws.buffer<T>(0, rows * mm);
        T* b = ws.buffer<T>(1, rows * mm);
        if (rows != 0) {
            l0_.apply(x[0].data, rows, a);
            l1_.apply(x[1].data, rows, b);
        }
        layers::activate(options_.input, a, rows * mm);
        layers::activate(options_.input, b, rows * mm);
        for (std::size_t i = 0; i < rows * mm; ++i) {
            a[i] *= b[i];
        }
        if (options_.normalize) {
            detail::power_l2_normalize(a, rows, mm, mm);
        }
        return detail::bilinear_output(out_, options_.output, a, rows, mm);
    }

    /// Missing modalities: an absent modality is zeros.
    template <batch_type Batch>
    features<T> operator()(const Batch& batch, const modality_mask& mask) const {
        return (*this)(zero_absent(batch, mask, "fusion::mlb"));
    }

private:
    layers::dense<T> l0_, l1_, out_;
    bilinear_options options_;
};

/// Multimodal factorised bilinear pooling (MFB, Yu et al. 2017): o outputs from o·k factors.
template <class T>
class mfb : public fusion_stage_base {
public:
    mfb(layers::dense<T> linear0, layers::dense<T> linear1, std::size_t factor,
        bilinear_options options, layers::dense<T> linear_out = {})
        : l0_(std::move(linear0)), l1_(std::move(linear1)), out_(std::move(linear_out)),
          factor_(factor), options_(options) {
        constexpr const char* stage = "fusion::mfb";
        l0_.check(stage, "linear0");
        l1_.check(stage, "linear1", dynamic, l0_.out_features());
        if (factor_ == 0 || l0_.out_features() % factor_ != 0) {
            throw shape_error(emofuse::detail::concat_message(
                stage, ": linear0 outputs: expected a multiple of the factor k = ", factor_,
                ", got ", l0_.out_features()));
        }
        if (!out_.empty()) {
            out_.check(stage, "linear_out", l0_.out_features() / factor_);
        }
    }

    /// Loads `<prefix>linear0.`, `<prefix>linear1.` and, when present, `<prefix>linear_out.`.
    template <class StateDict>
    static mfb from_state_dict(const StateDict& sd, const std::string& prefix, std::size_t factor,
                               bilinear_options options) {
        return mfb(layers::load_dense<T>(sd, prefix + "linear0."),
                   layers::load_dense<T>(sd, prefix + "linear1."), factor, options,
                   layers::load_optional_dense<T>(sd, prefix + "linear_out."));
    }

    /// Pooled size o.
    [[nodiscard]] std::size_t pooled() const { return l0_.out_features() / factor_; }
    [[nodiscard]] std::size_t outputs() const {
        return out_.empty() ? pooled() : out_.out_features();
    }
    [[nodiscard]] std::size_t parameter_count() const {
        return l0_.parameter_count() + l1_.parameter_count() + out_.parameter_count();
    }

    template <batch_type Batch>
    features<T> operator()(const Batch& batch) const {
        const auto x =
            detail::bilinear_inputs<T>(batch, "fusion::mfb", l0_.in_features(), l1_.in_features());
        const std::size_t rows = batch_size(batch, "fusion::mfb");
        const std::size_t wide = l0_.out_features();
        const std::size_t o = pooled();
        kernels::workspace& ws = detail::fusion_scratch();
        T* a = ws.buffer<T>(0, rows * wide);
        T* b = ws.buffer<T>(1, rows * wide);
        T* z = ws.buffer<T>(2, rows * o);
        if (rows != 0) {
            l0_.apply(x[0].data, x[0].cols, rows, a, wide);
            l1_.apply(x[1].data, x[1].cols, rows, b, wide);
        }
        layers::activate(options_.input, a, rows * wide);
        layers::activate(options_.input, b, rows * wide);
        detail::multiply_sum_groups(a, b, rows, o, factor_, z, o);
        if (options_.normalize) {
            detail::power_l2_normalize(z, rows, o, o);
        }
        return detail::bilinear_output(out_, options_.output, z, rows, o);
    }

    /// Missing modalities: an absent modality is zeros.
    template <batch_type Batch>
    features<T> operator()(const Batch& batch, const modality_mask& mask) const {
        return (*this)(zero_absent(batch, mask, "fusion::mfb"));
    }

private:
    layers::dense<T> l0_, l1_, out_;
    std::size_t factor_;
    bilinear_options options_;
};

/// Multimodal factorised high-order pooling (MFH, Yu et al. 2018): two cascaded MFB stages.
template <class T>
class mfh : public fusion_stage_base {
public:
    mfh(layers::dense<T> linear0_0, layers::dense<T> linear1_0, layers::dense<T> linear0_1,
        layers::dense<T> linear1_1, std::size_t factor, bilinear_options options,
        layers::dense<T> linear_out = {})
        : l00_(std::move(linear0_0)), l10_(std::move(linear1_0)), l01_(std::move(linear0_1)),
          l11_(std::move(linear1_1)), out_(std::move(linear_out)), factor_(factor),
          options_(options) {
        constexpr const char* stage = "fusion::mfh";
        l00_.check(stage, "linear0_0");
        const std::size_t wide = l00_.out_features();
        l10_.check(stage, "linear1_0", dynamic, wide);
        l01_.check(stage, "linear0_1", l00_.in_features(), wide);
        l11_.check(stage, "linear1_1", l10_.in_features(), wide);
        if (factor_ == 0 || wide % factor_ != 0) {
            throw shape_error(emofuse::detail::concat_message(
                stage, ": linear0_0 outputs: expected a multiple of the factor k = ", factor_,
                ", got ", wide));
        }
        if (!out_.empty()) {
            out_.check(stage, "linear_out", 2 * (wide / factor_));
        }
    }

    template <class StateDict>
    static mfh from_state_dict(const StateDict& sd, const std::string& prefix, std::size_t factor,
                               bilinear_options options) {
        return mfh(layers::load_dense<T>(sd, prefix + "linear0_0."),
                   layers::load_dense<T>(sd, prefix + "linear1_0."),
                   layers::load_dense<T>(sd, prefix + "linear0_1."),
                   layers::load_dense<T>(sd, prefix + "linear1_1."), factor, options,
                   layers::load_optional_dense<T>(sd, prefix + "linear_out."));
    }

    [[nodiscard]] std::size_t pooled() const { return l00_.out_features() / factor_; }
    [[nodiscard]] std::size_t outputs() const {
        return out_.empty() ? 2 * pooled() : out_.out_features();
    }
    [[nodiscard]] std::size_t parameter_count() const {
        return l00_.parameter_count() + l10_.parameter_count() + l01_.parameter_count() +
               l11_.parameter_count() + out_.parameter_count();
    }

    template <batch_type Batch>
    features<T> operator()(const Batch& batch) const {
        const auto x = detail::bilinear_inputs<T>(batch, "fusion::mfh", l00_.in_features(),
                                                  l10_.in_features());
        const std::size_t rows = batch_size(batch, "fusion::mfh");
        const std::size_t wide = l00_.out_features();
        const std::size_t o = pooled();
        kernels::workspace& ws = detail::fusion_scratch();
        T* skip = ws.buffer<T>(0, rows * wide);
        T* b = ws.buffer<T>(1, rows * wide);
        T* c = ws.buffer<T>(2, rows * wide);
        T* z = ws.buffer<T>(3, rows * 2 * o);
        if (rows != 0) {
            l00_.apply(x[0].data, rows, skip);
            l10_.apply(x[1].data, rows, b);
        }
        layers::activate(options_.input, skip, rows * wide);
        layers::activate(options_.input, b, rows * wide);
        for (std::size_t i = 0; i < rows * wide; ++i) {
            skip[i] *= b[i];
        }
        detail::sum_groups(skip, rows, o, factor_, z, 2 * o);
        if (rows != 0) {
            l01_.apply(x[0].data, rows, b);
            l11_.apply(x[1].data, rows, c);
        }
        layers::activate(options_.input, b, rows * wide);
        layers::activate(options_.input, c, rows * wide);
        for (std::size_t i = 0; i < rows * wide; ++i) {
            b[i] = b[i] * c[i] * skip[i];
        }
        detail::sum_groups(b, rows, o, factor_, z + o, 2 * o);
        if (options_.normalize) {
            detail::power_l2_normalize(z, rows, o, 2 * o);
            detail::power_l2_normalize(z + o, rows, o, 2 * o);
        }
        return detail::bilinear_output(out_, options_.output, z, rows, 2 * o);
    }

    /// Missing modalities: an absent modality is zeros.
    template <batch_type Batch>
    features<T> operator()(const Batch& batch, const modality_mask& mask) const {
        return (*this)(zero_absent(batch, mask, "fusion::mfh"));
    }

private:
    layers::dense<T> l00_, l10_, l01_, l11_, out_;
    std::size_t factor_;
    bilinear_options options_;
};

/// MUTAN (Ben-younes et al. 2017): a rank-R Tucker fusion. merge_linear_i map the projected
/// inputs to R·P values, viewed (R, P) rank-major and summed over R.
template <class T>
class mutan : public fusion_stage_base {
public:
    mutan(layers::dense<T> linear0, layers::dense<T> linear1, layers::dense<T> merge_linear0,
          layers::dense<T> merge_linear1, std::size_t rank, bilinear_options options,
          layers::dense<T> linear_out = {})
        : l0_(std::move(linear0)), l1_(std::move(linear1)), m0_(std::move(merge_linear0)),
          m1_(std::move(merge_linear1)), out_(std::move(linear_out)), rank_(rank),
          options_(options) {
        constexpr const char* stage = "fusion::mutan";
        l0_.check(stage, "linear0");
        l1_.check(stage, "linear1");
        m0_.check(stage, "merge_linear0", l0_.out_features());
        m1_.check(stage, "merge_linear1", l1_.out_features(), m0_.out_features());
        if (rank_ == 0 || m0_.out_features() % rank_ != 0) {
            throw shape_error(emofuse::detail::concat_message(
                stage, ": merge_linear0 outputs: expected a multiple of the rank R = ", rank_,
                ", got ", m0_.out_features()));
        }
        if (!out_.empty()) {
            out_.check(stage, "linear_out", m0_.out_features() / rank_);
        }
    }

    /// Loads block's names; without linear1/merge_linear1 (block's shared = True) the
    /// modality-0 layers serve both inputs.
    template <class StateDict>
    static mutan from_state_dict(const StateDict& sd, const std::string& prefix, std::size_t rank,
                                 bilinear_options options) {
        auto l0 = layers::load_dense<T>(sd, prefix + "linear0.");
        auto m0 = layers::load_dense<T>(sd, prefix + "merge_linear0.");
        auto l1 = sd.contains(prefix + "linear1.weight")
                      ? layers::load_dense<T>(sd, prefix + "linear1.")
                      : l0;
        auto m1 = sd.contains(prefix + "merge_linear1.weight")
                      ? layers::load_dense<T>(sd, prefix + "merge_linear1.")
                      : m0;
        return mutan(std::move(l0), std::move(l1), std::move(m0), std::move(m1), rank, options,
                     layers::load_optional_dense<T>(sd, prefix + "linear_out."));
    }

    [[nodiscard]] std::size_t rank() const { return rank_; }
    [[nodiscard]] std::size_t pooled() const { return m0_.out_features() / rank_; }
    [[nodiscard]] std::size_t outputs() const {
        return out_.empty() ? pooled() : out_.out_features();
    }
    [[nodiscard]] std::size_t parameter_count() const {
        return l0_.parameter_count() + l1_.parameter_count() + m0_.parameter_count() +
               m1_.parameter_count() + out_.parameter_count();
    }

    template <batch_type Batch>
    features<T> operator()(const Batch& batch) const {
        const auto x = detail::bilinear_inputs<T>(batch, "fusion::mutan", l0_.in_features(),
                                                  l1_.in_features());
        const std::size_t rows = batch_size(batch, "fusion::mutan");
        const std::size_t p = pooled();
        const std::size_t wide = m0_.out_features();
        kernels::workspace& ws = detail::fusion_scratch();
        T* h0 = ws.buffer<T>(0, rows * l0_.out_features());
        T* h1 = ws.buffer<T>(1, rows * l1_.out_features());
        T* a = ws.buffer<T>(2, rows * wide);
        T* b = ws.buffer<T>(3, rows * wide);
        if (rows != 0) {
            l0_.apply(x[0].data, rows, h0);
            l1_.apply(x[1].data, rows, h1);
            layers::activate(options_.input, h0, rows * l0_.out_features());
            layers::activate(options_.input, h1, rows * l1_.out_features());
            m0_.apply(h0, rows, a);
            m1_.apply(h1, rows, b);
        }
        // z[r, j] = Σ_k a[r, k·P + j]·b[r, k·P + j], written over h0 (no longer needed).
        T* z = ws.buffer<T>(0, rows * p);
        for (std::size_t r = 0; r < rows; ++r) {
            const T* ar = a + r * wide;
            const T* br = b + r * wide;
            T* zr = z + r * p;
            for (std::size_t j = 0; j < p; ++j) {
                zr[j] = ar[j] * br[j];
            }
            for (std::size_t k = 1; k < rank_; ++k) {
                for (std::size_t j = 0; j < p; ++j) {
                    zr[j] += ar[k * p + j] * br[k * p + j];
                }
            }
        }
        if (options_.normalize) {
            detail::power_l2_normalize(z, rows, p, p);
        }
        return detail::bilinear_output(out_, options_.output, z, rows, p);
    }

    /// Missing modalities: an absent modality is zeros.
    template <batch_type Batch>
    features<T> operator()(const Batch& batch, const modality_mask& mask) const {
        return (*this)(zero_absent(batch, mask, "fusion::mutan"));
    }

private:
    layers::dense<T> l0_, l1_, m0_, m1_, out_;
    std::size_t rank_;
    bilinear_options options_;
};

} // namespace emofuse::fusion
