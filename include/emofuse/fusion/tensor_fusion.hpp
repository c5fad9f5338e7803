// emofuse/fusion/tensor_fusion.hpp — tensor fusion (TFN): the outer product of the modality
// vectors, as z itself or fused with the linear layer that follows it.
//
// z = vec(f_1 ⊗ f_2 ⊗ ... ⊗ f_N) in batch order, last modality fastest, where f_m = [1; h_m]
// (tensor_form::prepend_one: MMSA, MultiBench) or f_m = h_m (tensor_form::no_prepend: the
// CMU-MultimodalSDK variant). MMSA's TFN visits (audio, video, text): feed it
// only<audio, vision, text>(...) to use MMSA weights unchanged.
#pragma once

#include "emofuse/config.hpp"
#include "emofuse/core/batch.hpp"
#include "emofuse/core/checked_size.hpp"
#include "emofuse/core/concepts.hpp"
#include "emofuse/core/dims.hpp"
#include "emofuse/core/error.hpp"
#include "emofuse/fusion/detail/inputs.hpp"
#include "emofuse/fusion/detail/packed_linear.hpp"
#include "emofuse/fusion/modality_mask.hpp"
#include "emofuse/kernels/epilogue.hpp"
#include "emofuse/kernels/packed_operand.hpp"
#include "emofuse/layers/dense.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace emofuse::fusion {

/// Whether each factor gets a prepended 1 (named after the peers that use each form).
enum class tensor_form {
    prepend_one,
    no_prepend,
    mmsa = prepend_one,
    multibench = prepend_one,
    cmu_sdk = no_prepend,
};

namespace detail {

/// Output width Π(d_m + 1) (or Π d_m) of a static dims<...>, or dynamic.
template <class Dims, tensor_form Form>
constexpr std::size_t tensor_width() {
    if constexpr (Dims::count == 0) {
        return dynamic;
    } else if constexpr (Form == tensor_form::prepend_one) {
        return Dims::product_plus_one;
    } else {
        return Dims::product;
    }
}

/// Checks the batch against a dims<...> (when given) and returns Π of the factor sizes.
template <class Dims, class T, std::size_t N>
std::size_t tensor_product_width(std::string_view stage,
                                 const std::array<feature_view<T>, N>& views, tensor_form form) {
    if constexpr (Dims::count != 0) {
        check_modality_count(stage, Dims::count, N);
        for (std::size_t m = 0; m < N; ++m) {
            if (Dims::values[m] != dynamic) {
                check_features(stage, views[m], Dims::values[m]);
            }
        }
    }
    std::array<std::size_t, N> factors{};
    for (std::size_t m = 0; m < N; ++m) {
        factors[m] = views[m].cols + (form == tensor_form::prepend_one ? 1 : 0);
    }
    // The outer product is materialised per row: its width must not wrap.
    return checked_byte_count(stage, std::span<const std::size_t>(factors));
}

/// Copies modality m's rows into `out` as (rows, n_m) factors, with a leading 1 for
/// prepend_one. Returns n_m.
template <class T>
std::size_t write_factor(const feature_view<T>& view, std::size_t rows, tensor_form form, T* out) {
    const std::size_t lead = form == tensor_form::prepend_one ? 1 : 0;
    const std::size_t n = view.cols + lead;
    for (std::size_t r = 0; r < rows; ++r) {
        T* dst = out + r * n;
        if (lead) {
            dst[0] = T(1);
        }
        std::copy_n(view.row(r), view.cols, dst + lead);
    }
    return n;
}

/// out[0 : Π n_m] = vec(f_0 ⊗ ... ⊗ f_{k-1}) for one sample, built in place from the back
/// (entry i of the partial product only ever moves to a position ≥ i).
template <class T>
void outer_product_into(const T* const* factors, const std::size_t* sizes, std::size_t count,
                        T* out) {
    std::size_t filled = 1;
    out[0] = T(1);
    for (std::size_t m = 0; m < count; ++m) {
        const T* f = factors[m];
        const std::size_t n = sizes[m];
        for (std::size_t i = filled; i-- > 0;) {
            const T v = out[i];
            T* dst = out + i * n;
            for (std::size_t j = 0; j < n; ++j) {
                dst[j] = v * f[j];
            }
        }
        filled *= n;
    }
}

} // namespace detail

/// The outer-product tensor z itself (MultiBench's TensorFusion returns this), one row per
/// sample. With dims<d_1, ..., d_N> the feature sizes are checked and output_size is a
/// compile-time constant.
template <class Dims = dims<>, tensor_form Form = tensor_form::prepend_one>
struct tensor_fusion : fusion_stage_base {
    static_assert(is_dims_v<Dims>, "fusion::tensor_fusion<Dims>: Dims must be emofuse::dims<...>");
    static constexpr std::size_t output_size = detail::tensor_width<Dims, Form>();
    static constexpr tensor_form form = Form;

    template <batch_type Batch>
    auto operator()(const Batch& batch) const {
        using T = detail::batch_value_t<Batch>;
        constexpr std::size_t n = detail::modality_count_v<Batch>;
        const auto views = detail::feature_views<T>(batch);
        const std::size_t rows = batch_size(batch, "fusion::tensor_fusion");
        const std::size_t width =
            detail::tensor_product_width<Dims>("fusion::tensor_fusion", views, Form);
        std::array<std::size_t, n> sizes{};
        std::size_t total = 0;
        for (std::size_t m = 0; m < n; ++m) {
            sizes[m] = views[m].cols + (Form == tensor_form::prepend_one ? 1 : 0);
            total += sizes[m];
        }
        features<T> out({rows, width});
        std::vector<T> factor_rows(total);
        std::array<const T*, n> factors{};
        for (std::size_t r = 0; r < rows; ++r) {
            std::size_t offset = 0;
            for (std::size_t m = 0; m < n; ++m) {
                detail::write_factor(
                    detail::feature_view<T>{views[m].row(r), views[m].cols, views[m].name}, 1, Form,
                    factor_rows.data() + offset);
                factors[m] = factor_rows.data() + offset;
                offset += sizes[m];
            }
            detail::outer_product_into(factors.data(), sizes.data(), n, out.data() + r * width);
        }
        return out;
    }

    /// Missing modalities: an absent h_m is zeros (the prepended 1 stays, so z keeps the
    /// other modalities' unimodal and cross terms; in the no_prepend form z becomes 0).
    template <batch_type Batch>
    auto operator()(const Batch& batch, const modality_mask& mask) const {
        return (*this)(zero_absent(batch, mask, "fusion::tensor_fusion"));
    }
};

/// Peer presets of tensor_fusion_linear's activation (docs/presets.md); the stage takes one
/// without a default.
namespace tfn_activation {
/// MMSA's TFN (models/singleTask/TFN.py): relu(post_fusion_layer_1(z)).
inline constexpr kernels::epilogue mmsa = kernels::epilogue::relu;
/// A plain nn.Linear after the tensor.
inline constexpr kernels::epilogue linear = kernels::epilogue::none;
} // namespace tfn_activation

/// Tensor fusion followed by its linear layer (weight (H, Π n_m), bias (H), PyTorch layout),
/// with or without a ReLU: y = act(W·z + b) (tfn_activation names the peers' choices). z is never
/// materialised for the whole batch: W is packed once at construction into the kernels' GEMM
/// panels (kernels::packed_operand) and kernels::gemm_generated multiplies it by z, each block
/// of z (a chunk of samples × a block of columns) generated from the factors just before
/// the micro-kernel reads it, so it stays in cache while every column panel of W passes over it.
///
/// operator() is const and thread-safe (scratch is per thread).
template <class T, class Dims = dims<>, tensor_form Form = tensor_form::prepend_one>
class tensor_fusion_linear : public fusion_stage_base {
public:
    static_assert(is_dims_v<Dims>,
                  "fusion::tensor_fusion_linear<T, Dims>: Dims must be emofuse::dims<...>");
    static constexpr std::size_t input_size = detail::tensor_width<Dims, Form>();
    static constexpr tensor_form form = Form;

    tensor_fusion_linear(xt::xtensor<T, 2> weight, xt::xtensor<T, 1> bias, kernels::epilogue act)
        : inputs_(weight.shape(1)), outputs_(weight.shape(0)), activation_(act) {
        if constexpr (input_size != dynamic) {
            check_size("fusion::tensor_fusion_linear", "weight columns (Π of factor sizes)",
                       input_size, inputs_);
        }
        if (bias.size() != 0) {
            check_size("fusion::tensor_fusion_linear", "bias size", outputs_, bias.size());
        }
        linear_ = detail::packed_linear<T>(weight.data(), bias.size() != 0 ? bias.data() : nullptr,
                                           outputs_, inputs_);
    }

    /// Loads `<prefix>weight` (H, Π n_m) and, when present, `<prefix>bias` (H) — the
    /// nn.Linear after the tensor, e.g. MMSA's "post_fusion_layer_1.". `StateDict` is
    /// io::state_dict or anything with contains(name) and tensor<T, N>(name, shape).
    template <class StateDict>
    static tensor_fusion_linear from_state_dict(const StateDict& sd, const std::string& prefix,
                                                kernels::epilogue act) {
        auto p = layers::load_linear_parameters<T>(sd, prefix, input_size);
        return tensor_fusion_linear(std::move(p.weight), std::move(p.bias), act);
    }

    [[nodiscard]] std::size_t inputs() const { return inputs_; }
    [[nodiscard]] std::size_t outputs() const { return outputs_; }
    [[nodiscard]] std::size_t parameter_count() const {
        return inputs_ * outputs_ + linear_.bias().size();
    }
    [[nodiscard]] kernels::epilogue activation() const { return activation_; }
    /// The weight in nn.Linear layout (H, Π n_m), unpacked into a new tensor.
    [[nodiscard]] xt::xtensor<T, 2> weight() const { return linear_.weight(); }
    [[nodiscard]] const xt::xtensor<T, 1>& bias() const { return linear_.bias(); }

    template <batch_type Batch>
    features<T> operator()(const Batch& batch) const {
        static_assert(std::is_same_v<detail::batch_value_t<Batch>, T>,
                      "fusion::tensor_fusion_linear<T>: the batch's element type must be T");
        constexpr std::size_t n = detail::modality_count_v<Batch>;
        constexpr const char* stage = "fusion::tensor_fusion_linear";
        const auto views = detail::feature_views<T>(batch);
        const std::size_t rows = batch_size(batch, stage);
        const std::size_t width = detail::tensor_product_width<Dims>(stage, views, Form);
        check_size(stage, "Π of factor sizes (weight columns)", inputs(), width);
        features<T> y({rows, outputs()});
        forward(views.data(), n, rows, y.data());
        return y;
    }

    /// Missing modalities: an absent h_m is zeros; the prepended 1 stays.
    template <batch_type Batch>
    features<T> operator()(const Batch& batch, const modality_mask& mask) const {
        return (*this)(zero_absent(batch, mask, "fusion::tensor_fusion_linear"));
    }

private:
    void forward(const detail::feature_view<T>* views, std::size_t n, std::size_t rows,
                 T* y) const {
        const std::size_t out = outputs();
        const std::size_t width = inputs();
        if (rows == 0 || out == 0) {
            return;
        }
        if (n > max_modalities) {
            throw shape_error(emofuse::detail::concat_message(
                "fusion::tensor_fusion_linear: number of modalities: expected at most ",
                max_modalities, ", got ", n));
        }
        kernels::workspace& ws = detail::fusion_scratch();
        // Factors with their leading 1 (slot 0), then the outer product of all factors but the
        // last, per sample (slot 1): prefix(r, p) for p < width / n_last. z(r, p·n_last + t) =
        // prefix(r, p)·last(r, t) is generated per block inside the product.
        std::array<std::size_t, max_modalities> sizes{};
        std::size_t factor_total = 0;
        for (std::size_t m = 0; m < n; ++m) {
            sizes[m] = views[m].cols + (Form == tensor_form::prepend_one ? 1 : 0);
            factor_total += sizes[m];
        }
        // Slack after the last factor: make_z reads whole vectors past a row's end.
        using batch = xsimd::batch<T, simd_arch>;
        constexpr std::size_t lanes = batch::size;
        static_assert(lanes * sizeof(T) <= kernels::generated_row_slack_bytes,
                      "make_z's vector stores must fit in gemm_generated's row slack");
        T* factors = ws.buffer<T>(0, rows * factor_total + lanes);
        std::fill_n(factors + rows * factor_total, lanes, T(0));
        std::array<const T*, max_modalities> factor_of{};
        {
            T* at = factors;
            for (std::size_t m = 0; m < n; ++m) {
                detail::write_factor(views[m], rows, Form, at);
                factor_of[m] = at;
                at += rows * sizes[m];
            }
        }
        const std::size_t last = sizes[n - 1];
        const std::size_t prefixes = last == 0 ? 0 : width / last;
        T* prefix = ws.buffer<T>(1, std::max<std::size_t>(1, rows * prefixes));
        std::array<const T*, max_modalities> row_factors{};
        for (std::size_t r = 0; r < rows && prefixes != 0; ++r) {
            for (std::size_t m = 0; m + 1 < n; ++m) {
                row_factors[m] = factor_of[m] + r * sizes[m];
            }
            detail::outer_product_into(row_factors.data(), sizes.data(), n - 1,
                                       prefix + r * prefixes);
        }
        const T* last_factor = factor_of[n - 1];
        auto make_z = [&](std::size_t r0, std::size_t tile_rows, std::size_t k0, std::size_t depth,
                          T* dst, std::size_t ld) {
            for (std::size_t r = 0; r < tile_rows; ++r) {
                const T* pre = prefix + (r0 + r) * prefixes;
                const T* f = last_factor + (r0 + r) * last;
                T* row = dst + r * ld;
                // Runs of z that share one prefix entry: a scaled copy of the last factor, in
                // whole vectors. A run's last vector spills past it; the next run (or the
                // row's slack, see kernels::gemm_generated) overwrites the spill, and the
                // factor buffer's slack covers the reads past the last factor row.
                std::size_t p = k0 / last;
                std::size_t t = k0 % last;
                for (std::size_t k = 0; k < depth; t = 0, ++p) {
                    const std::size_t run = std::min(last - t, depth - k);
                    const batch scale(pre[p]);
                    for (std::size_t i = 0; i < run; i += lanes) {
                        (scale * batch::load_unaligned(f + t + i)).store_unaligned(row + k + i);
                    }
                    k += run;
                }
            }
        };
        linear_.apply_generated(rows, make_z, y, activation_);
    }

    static constexpr std::size_t max_modalities = 16;

    detail::packed_linear<T> linear_; // W (H, Π n_m) and b, W packed once for the GEMM
    std::size_t inputs_;
    std::size_t outputs_;
    kernels::epilogue activation_;
};

} // namespace emofuse::fusion
