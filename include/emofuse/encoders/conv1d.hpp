// emofuse/encoders/conv1d.hpp — nn.Conv1d in inference (groups = 1, zero padding), as one GEMM
// of the unfolded windows with the weight packed once.
#pragma once

#include <emofuse/config.hpp>
#include <emofuse/core/checked_size.hpp>
#include <emofuse/core/error.hpp>
#include <emofuse/kernels/epilogue.hpp>
#include <emofuse/kernels/linear.hpp>
#include <emofuse/kernels/packed_operand.hpp>
#include <emofuse/kernels/workspace.hpp>

#include <array>
#include <cstddef>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace emofuse::encoders {

/// The constructor arguments of nn.Conv1d. groups must be 1 and padding_mode 'zeros' (not
/// represented here).
struct conv1d_options {
    std::size_t in_channels = 0;
    std::size_t out_channels = 0;
    std::size_t kernel_size = 1;
    std::size_t stride = 1;
    std::size_t padding = 0;
    std::size_t dilation = 1;
    /// The layer has a bias.
    bool bias = true;
};

/// nn.Conv1d: y[n, o, t] = bias[o] + Σ_c Σ_k weight[o, c, k]·x[n, c, t·stride + k·dilation −
/// padding], x zero outside [0, L). Input (N, C_in, L), output (N, C_out, L_out) with
/// L_out = ⌊(L + 2·padding − dilation·(kernel_size − 1) − 1) / stride⌋ + 1.
///
/// The windows of all samples are unfolded into rows of C_in·kernel_size values and
/// multiplied by the (C_out, C_in·kernel_size) weight, packed once at construction, in one
/// GEMM with the bias fused into its store. operator() is const and thread-safe (scratch is
/// per thread). The weight is also kept as given; copies re-pack from it.
template <class T>
class conv1d {
public:
    static_assert(std::is_floating_point_v<T>, "encoders::conv1d<T>: T must be float or double");

    conv1d() = default;

    /// `weight` is (out_channels, in_channels, kernel_size); `bias` (out_channels) or empty.
    /// Throws value_error for a zero kernel size, stride or dilation, shape_error for a bias of
    /// the wrong size.
    conv1d(const xt::xtensor<T, 3>& weight, const xt::xtensor<T, 1>& bias, std::size_t stride = 1,
           std::size_t padding = 0, std::size_t dilation = 1)
        : options_{weight.shape(1), weight.shape(0), weight.shape(2), stride,
                   padding,         dilation,        bias.size() != 0},
          weight_(weight), bias_(bias.begin(), bias.end()) {
        constexpr std::string_view stage = "encoders::conv1d";
        if (options_.kernel_size == 0 || stride == 0 || dilation == 0) {
            throw value_error(emofuse::detail::concat_message(
                stage, ": kernel_size, stride and dilation: expected > 0, got ",
                options_.kernel_size, ", ", stride, ", ", dilation));
        }
        if (bias.size() != 0) {
            check_size(stage, "bias size (out_channels)", options_.out_channels, bias.size());
        }
        pack();
    }

    conv1d(const conv1d& other)
        : options_(other.options_), weight_(other.weight_), bias_(other.bias_) {
        pack();
    }
    conv1d& operator=(const conv1d& other) {
        if (this != &other) {
            options_ = other.options_;
            weight_ = other.weight_;
            bias_ = other.bias_;
            pack();
        }
        return *this;
    }
    conv1d(conv1d&&) noexcept = default;
    conv1d& operator=(conv1d&&) noexcept = default;
    ~conv1d() = default;

    /// Loads `<prefix>weight` (out, in, kernel) and, with options.bias, `<prefix>bias` (out).
    /// Throws value_error for a missing tensor or a bias with bias = false, shape_error for a
    /// wrong shape (a grouped convolution's weight included).
    template <class StateDict>
    static conv1d from_state_dict(const StateDict& sd, const std::string& prefix,
                                  const conv1d_options& options) {
        constexpr std::string_view stage = "encoders::conv1d";
        auto require = [&](const std::string& name) {
            if (!sd.contains(name)) {
                throw value_error(emofuse::detail::concat_message(
                    stage, ": parameter '", name, "': expected in the state dict, missing"));
            }
        };
        require(prefix + "weight");
        const auto weight = sd.template tensor<T, 3>(
            prefix + "weight", std::array<std::size_t, 3>{options.out_channels, options.in_channels,
                                                          options.kernel_size});
        xt::xtensor<T, 1> bias;
        if (options.bias) {
            require(prefix + "bias");
            bias = sd.template tensor<T, 1>(prefix + "bias",
                                            std::array<std::size_t, 1>{options.out_channels});
        } else if (sd.contains(prefix + "bias")) {
            throw value_error(emofuse::detail::concat_message(
                stage, ": parameter '", prefix,
                "bias': not expected (the options say bias = false)"));
        }
        return conv1d(weight, bias, options.stride, options.padding, options.dilation);
    }

    [[nodiscard]] const conv1d_options& options() const { return options_; }
    /// (out_channels, in_channels, kernel_size), as given (empty for a default-constructed
    /// layer).
    [[nodiscard]] const xt::xtensor<T, 3>& weight() const { return weight_; }
    /// No outputs: a default-constructed layer.
    [[nodiscard]] bool empty() const { return options_.out_channels == 0; }

    /// L_out for an input of `length` steps; shape_error when the padded input is shorter
    /// than one dilated kernel.
    [[nodiscard]] std::size_t output_length(std::size_t length) const {
        const auto twice_padding = try_multiply(options_.padding, 2);
        const auto dilated = try_multiply(options_.dilation, options_.kernel_size - 1);
        if (!twice_padding || *twice_padding > std::numeric_limits<std::size_t>::max() - length ||
            !dilated || *dilated == std::numeric_limits<std::size_t>::max()) {
            throw shape_error(emofuse::detail::concat_message(
                "encoders::conv1d: padding ", options_.padding, ", dilation ", options_.dilation,
                " and kernel_size ", options_.kernel_size, ": their window overflows size_t"));
        }
        const std::size_t padded = length + *twice_padding;
        const std::size_t span = *dilated + 1;
        if (padded < span) {
            throw shape_error(emofuse::detail::concat_message(
                "encoders::conv1d: input length: expected at least ", span,
                " after padding (dilation·(kernel_size − 1) + 1), got ", padded));
        }
        return (padded - span) / options_.stride + 1;
    }

    /// x (N, in_channels, L) → (N, out_channels, L_out).
    [[nodiscard]] xt::xtensor<T, 3> operator()(const xt::xtensor<T, 3>& x) const {
        check_size("encoders::conv1d", "input channels (axis 1, in_channels)", options_.in_channels,
                   x.shape(1));
        const std::size_t samples = x.shape(0);
        const std::size_t length = x.shape(2);
        const std::size_t out_length = output_length(length);
        const std::size_t out_channels = options_.out_channels;
        xt::xtensor<T, 3> y(std::array<std::size_t, 3>{samples, out_channels, out_length});
        const std::size_t rows = samples * out_length;
        if (rows == 0 || out_channels == 0) {
            return y;
        }
        check_window_bytes(samples, out_length);
        T* products = scratch().template buffer<T>(1, rows * out_channels);
        multiply_windows(x.data(), {channels_first_strides(length), samples, length, out_length},
                         products);
        // (N·L_out, C_out) rows → (N, C_out, L_out).
        for (std::size_t n = 0; n < samples; ++n) {
            const T* src = products + n * out_length * out_channels;
            T* dst = y.data() + n * out_channels * out_length;
            for (std::size_t t = 0; t < out_length; ++t) {
                for (std::size_t o = 0; o < out_channels; ++o) {
                    dst[o * out_length + t] = src[t * out_channels + o];
                }
            }
        }
        return y;
    }

    /// The same convolution over channels-last input, emofuse's batch-first sequences:
    /// x (N, L, in_channels) → (N, L_out, out_channels), i.e. operator() of x.transpose(1, 2)
    /// with the result transposed back, without either transpose (the GEMM's rows are
    /// already (sample, step)).
    [[nodiscard]] xt::xtensor<T, 3> forward_channels_last(const xt::xtensor<T, 3>& x) const {
        check_size("encoders::conv1d", "input channels (axis 2, in_channels)", options_.in_channels,
                   x.shape(2));
        const std::size_t samples = x.shape(0);
        const std::size_t length = x.shape(1);
        const std::size_t out_length = output_length(length);
        xt::xtensor<T, 3> y(std::array<std::size_t, 3>{samples, out_length, options_.out_channels});
        const std::size_t rows = samples * out_length;
        if (rows == 0 || options_.out_channels == 0) {
            return y;
        }
        if (options_.kernel_size == 1 && options_.stride == 1 && options_.padding == 0) {
            // Every row of x is its own window: no unfolding.
            kernels::linear(x.data(), rows, packed_, bias_.empty() ? nullptr : bias_.data(),
                            y.data());
            return y;
        }
        check_window_bytes(samples, out_length);
        multiply_windows(x.data(), {channels_last_strides(length), samples, length, out_length},
                         y.data());
        return y;
    }

private:
    /// Element strides of one input layout.
    struct input_strides {
        std::size_t sample, channel, step;
    };
    struct input_layout {
        input_strides strides;
        std::size_t samples, length, out_length;
    };

    [[nodiscard]] input_strides channels_first_strides(std::size_t length) const {
        return {options_.in_channels * length, length, 1};
    }
    [[nodiscard]] input_strides channels_last_strides(std::size_t length) const {
        return {length * options_.in_channels, 1, options_.in_channels};
    }

    [[nodiscard]] std::size_t window_size() const {
        return options_.in_channels * options_.kernel_size;
    }

    /// Throws shape_error when the unfolded windows' byte count overflows size_t.
    void check_window_bytes(std::size_t samples, std::size_t out_length) const {
        static_cast<void>(checked_byte_count(
            "encoders::conv1d: unfolded windows (N, L_out, in_channels·kernel_size)",
            {samples, out_length, window_size()}, sizeof(T)));
    }

    /// products (N·L_out rows of out_channels) = unfold(x)·Wᵀ + b.
    void multiply_windows(const T* x, input_layout in, T* products) const {
        const std::size_t rows = in.samples * in.out_length;
        T* windows = scratch().template buffer<T>(0, rows * window_size());
        unfold(x, in, windows);
        kernels::linear(windows, rows, packed_, bias_.empty() ? nullptr : bias_.data(), products);
    }

    /// windows[(n·L_out + t), c·K + k] = x[n, c, t·stride + k·dilation − padding] or 0, x read
    /// through the layout's strides.
    void unfold(const T* x, const input_layout& in, T* windows) const {
        const std::size_t channels = options_.in_channels;
        const std::size_t kernel = options_.kernel_size;
        const std::size_t width = window_size();
        for (std::size_t n = 0; n < in.samples; ++n) {
            for (std::size_t t = 0; t < in.out_length; ++t) {
                T* row = windows + (n * in.out_length + t) * width;
                const std::size_t start = t * options_.stride; // in padded coordinates
                for (std::size_t c = 0; c < channels; ++c) {
                    const T* channel = x + n * in.strides.sample + c * in.strides.channel;
                    for (std::size_t k = 0; k < kernel; ++k) {
                        const std::size_t at = start + k * options_.dilation;
                        const bool inside =
                            at >= options_.padding && at - options_.padding < in.length;
                        row[c * kernel + k] =
                            inside ? channel[(at - options_.padding) * in.strides.step] : T(0);
                    }
                }
            }
        }
    }

    void pack() {
        packed_ = kernels::packed_operand<T>::from_linear_weight(
            weight_.data(), options_.out_channels, window_size());
    }

    /// Scratch of the convolutions of one thread (slot 0 windows, slot 1 products); separate
    /// from kernels::thread_workspace(), which the GEMM uses.
    [[nodiscard]] static kernels::workspace& scratch() {
        thread_local kernels::workspace ws;
        return ws;
    }

    conv1d_options options_{};
    xt::xtensor<T, 3> weight_ = xt::xtensor<T, 3>::from_shape({0, 0, 1});
    kernels::packed_operand<T> packed_;
    std::vector<T> bias_;
};

} // namespace emofuse::encoders
