// emofuse/heads/mlp.hpp — a multi-layer perceptron read-out: dense layers with an activation
// between them, and optionally MMSA's regression output 6·sigmoid(o) − 3.
#pragma once

#include "emofuse/core/concepts.hpp"
#include "emofuse/core/error.hpp"
#include "emofuse/core/sequence.hpp"
#include "emofuse/kernels/epilogue.hpp"
#include "emofuse/layers/dense.hpp"

#include <cmath>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace emofuse::heads {

/// The activation between hidden layers (never after the last layer).
using activation = layers::activation;

/// What is applied to the last layer's output.
enum class output_transform {
    identity,
    /// MMSA's regression range: 6·sigmoid(o) − 3, so predictions lie in (−3, 3).
    mmsa_regression,
};

/// y = out(L_n(act(L_{n-1}(... act(L_1(x)))))). Each layer's input size must equal the
/// previous layer's output size (checked at construction).
template <class T>
class mlp : public head_stage_base {
public:
    mlp(std::vector<layers::dense<T>> layers, activation hidden = activation::relu,
        output_transform output = output_transform::identity)
        : layers_(std::move(layers)), hidden_(hidden), output_(output) {
        if (layers_.empty()) {
            throw shape_error("heads::mlp: layers: expected at least one, got 0");
        }
        for (std::size_t l = 1; l < layers_.size(); ++l) {
            check_size("heads::mlp",
                       "layer " + std::to_string(l) +
                           " inputs (weight columns) = previous layer's outputs",
                       layers_[l - 1].out_features(), layers_[l].in_features());
        }
    }

    /// Loads `<prefix>weight` and, when present, `<prefix>bias` for each layer prefix, e.g.
    /// {"post_fusion_layer_2.", "post_fusion_layer_3."} (MMSA TFN) or {"fc.0.", "fc.2."} (an
    /// nn.Sequential). `StateDict` is io::state_dict or anything with contains(name) and
    /// tensor<T, N>(name, shape).
    template <class StateDict>
    static mlp from_state_dict(const StateDict& sd, const std::vector<std::string>& prefixes,
                               activation hidden = activation::relu,
                               output_transform output = output_transform::identity) {
        std::vector<layers::dense<T>> stack;
        for (const auto& prefix : prefixes) {
            stack.push_back(layers::load_dense<T>(sd, prefix));
        }
        return mlp(std::move(stack), hidden, output);
    }

    [[nodiscard]] std::size_t inputs() const { return layers_.front().in_features(); }
    [[nodiscard]] std::size_t outputs() const { return layers_.back().out_features(); }
    [[nodiscard]] const std::vector<layers::dense<T>>& layers() const { return layers_; }
    [[nodiscard]] activation hidden_activation() const { return hidden_; }
    [[nodiscard]] output_transform output() const { return output_; }
    [[nodiscard]] std::size_t parameter_count() const {
        std::size_t count = 0;
        for (const auto& layer : layers_) {
            count += layer.parameter_count();
        }
        return count;
    }

    features<T> operator()(const features<T>& x) const {
        check_size("heads::mlp", "input features", inputs(), x.shape(1));
        const std::size_t rows = x.shape(0);
        features<T> current = x;
        for (std::size_t l = 0; l < layers_.size(); ++l) {
            const auto& layer = layers_[l];
            const bool last = l + 1 == layers_.size();
            features<T> next({rows, layer.out_features()});
            layer.apply(current.data(), layer.in_features(), rows, next.data(),
                        layer.out_features(), last ? activation::identity : hidden_);
            current = std::move(next);
        }
        if (output_ == output_transform::mmsa_regression) {
            for (auto& v : current) {
                v = T(6) / (T(1) + std::exp(-v)) - T(3);
            }
        }
        return current;
    }

private:
    std::vector<layers::dense<T>> layers_;
    activation hidden_;
    output_transform output_;
};

} // namespace emofuse::heads
