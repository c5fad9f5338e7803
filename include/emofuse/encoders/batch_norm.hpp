// emofuse/encoders/batch_norm.hpp — nn.BatchNorm1d in inference: the running statistics fold
// into one scale and shift per channel.
#pragma once

#include <emofuse/config.hpp>
#include <emofuse/core/error.hpp>

#include <array>
#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace emofuse::encoders {

/// The constructor arguments of nn.BatchNorm1d that matter in inference (momentum does not;
/// track_running_stats = False, which normalises by the batch's own statistics, is not
/// supported).
struct batch_norm_options {
    std::size_t num_features = 0;
    double eps = 1e-5;
    /// The layer has weight and bias.
    bool affine = true;
};

/// nn.BatchNorm1d in eval() mode: y = (x − running_mean) / √(running_var + eps)·weight + bias
/// per channel, computed as y = x·scale + shift with scale and shift folded at construction.
/// Inputs are (N, C) or (N, C, L), channels on axis 1 as in torch.
template <class T>
class batch_norm {
public:
    static_assert(std::is_floating_point_v<T>,
                  "encoders::batch_norm<T>: T must be float or double");

    batch_norm() = default;

    /// Running statistics (C) and, for an affine layer, weight and bias (C) — empty tensors
    /// for affine = false. Throws shape_error for mismatched sizes, value_error for a
    /// negative or NaN running_var + eps, or eps < 0.
    batch_norm(const xt::xtensor<T, 1>& running_mean, const xt::xtensor<T, 1>& running_var,
               const xt::xtensor<T, 1>& weight, const xt::xtensor<T, 1>& bias, double eps = 1e-5)
        : scale_(running_mean.size()), shift_(running_mean.size()) {
        constexpr std::string_view stage = "encoders::batch_norm";
        const std::size_t channels = running_mean.size();
        check_size(stage, "running_var size (running_mean size)", channels, running_var.size());
        if (weight.size() != 0 || bias.size() != 0) {
            check_size(stage, "weight size (running_mean size)", channels, weight.size());
            check_size(stage, "bias size (running_mean size)", channels, bias.size());
        }
        if (!(eps >= 0.0)) {
            throw value_error(
                emofuse::detail::concat_message(stage, ": eps: expected >= 0, got ", eps));
        }
        for (std::size_t c = 0; c < channels; ++c) {
            const double variance = static_cast<double>(running_var(c)) + eps;
            if (!(variance > 0.0)) {
                throw value_error(emofuse::detail::concat_message(
                    stage, ": running_var + eps of channel ", c, ": expected > 0, got ", variance));
            }
            const double inv_std = 1.0 / std::sqrt(variance);
            const double w = weight.size() ? static_cast<double>(weight(c)) : 1.0;
            const double b = bias.size() ? static_cast<double>(bias(c)) : 0.0;
            scale_[c] = static_cast<T>(w * inv_std);
            shift_[c] = static_cast<T>(b - static_cast<double>(running_mean(c)) * w * inv_std);
        }
    }

    /// Loads `<prefix>running_mean`, `running_var` and, with options.affine, `weight`, `bias`
    /// (`num_batches_tracked` is ignored). `StateDict` is io::state_dict or anything with
    /// contains(name) and tensor<T, N>(name, shape). Throws value_error for a missing tensor or
    /// a weight with affine = false, shape_error for a wrong size.
    template <class StateDict>
    static batch_norm from_state_dict(const StateDict& sd, const std::string& prefix,
                                      const batch_norm_options& options) {
        const std::array<std::size_t, 1> shape{options.num_features};
        auto load = [&](std::string_view kind) {
            const std::string name = prefix + std::string(kind);
            if (!sd.contains(name)) {
                throw value_error(
                    emofuse::detail::concat_message("encoders::batch_norm: parameter '", name,
                                                    "': expected in the state dict, missing"));
            }
            return sd.template tensor<T, 1>(name, shape);
        };
        xt::xtensor<T, 1> weight;
        xt::xtensor<T, 1> bias;
        if (options.affine) {
            weight = load("weight");
            bias = load("bias");
        } else if (sd.contains(prefix + "weight") || sd.contains(prefix + "bias")) {
            throw value_error(emofuse::detail::concat_message(
                "encoders::batch_norm: parameter '", prefix,
                "weight' or 'bias': not expected (the options say affine = false)"));
        }
        return batch_norm(load("running_mean"), load("running_var"), weight, bias, options.eps);
    }

    [[nodiscard]] std::size_t num_features() const { return scale_.size(); }

    /// (N, C) input.
    [[nodiscard]] xt::xtensor<T, 2> operator()(const xt::xtensor<T, 2>& x) const {
        check_size("encoders::batch_norm", "input channels (axis 1, num_features)", num_features(),
                   x.shape(1));
        xt::xtensor<T, 2> y(x.shape());
        apply(x.data(), y.data(), x.shape(0), 1);
        return y;
    }

    /// (N, C, L) input.
    [[nodiscard]] xt::xtensor<T, 3> operator()(const xt::xtensor<T, 3>& x) const {
        check_size("encoders::batch_norm", "input channels (axis 1, num_features)", num_features(),
                   x.shape(1));
        xt::xtensor<T, 3> y(x.shape());
        apply(x.data(), y.data(), x.shape(0), x.shape(2));
        return y;
    }

    /// What operator() computes, in place on `samples` × num_features() × `length` values
    /// (length 1 for (N, C)), for a stage that keeps its own buffer instead of allocating one
    /// per call.
    void apply_in_place(T* x, std::size_t samples, std::size_t length) const {
        apply(x, x, samples, length);
    }

private:
    void apply(const T* x, T* y, std::size_t samples, std::size_t length) const {
        const std::size_t channels = num_features();
        for (std::size_t n = 0; n < samples; ++n) {
            for (std::size_t c = 0; c < channels; ++c) {
                const T scale = scale_[c];
                const T shift = shift_[c];
                const std::size_t at = (n * channels + c) * length;
                for (std::size_t l = 0; l < length; ++l) {
                    y[at + l] = x[at + l] * scale + shift;
                }
            }
        }
    }

    std::vector<T> scale_;
    std::vector<T> shift_;
};

} // namespace emofuse::encoders
