// emofuse/models/ef_lstm.hpp — MMSA's EF_LSTM (src/MMSA/models/singleTask/EF_LSTM.py): early
// fusion by concatenating the aligned modalities per time step, BatchNorm1d over the time
// axis, a stacked LSTM, and two dense layers on the last layer's final hidden state.
#pragma once

#include <emofuse/config.hpp>
#include <emofuse/core/error.hpp>
#include <emofuse/encoders/batch_norm.hpp>
#include <emofuse/encoders/recurrent.hpp>
#include <emofuse/kernels/epilogue.hpp>
#include <emofuse/layers/dense.hpp>
#include <emofuse/models/detail/recurrent_common.hpp>
#include <emofuse/models/mmsa_config.hpp>
#include <emofuse/models/mmsa_inputs.hpp>
#include <emofuse/models/mmsa_model.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace emofuse::models {

/// MMSA's `ef_lstm` in inference:
///   x = BatchNorm1d(seq_len)(cat(text, audio, vision, dim=-1))   (B, T, D): T is the channel
///   h = LSTM(D, hidden_dims, num_layers, batch_first)(x).h_n[-1]
///   M = out(relu(linear(h)))
/// Dropout is the identity. See docs/models.md for MMSA's quirks.
template <class T>
class ef_lstm {
public:
    /// Builds MMSA's EF_LSTM for `config` and loads `<prefix>norm.*`, `lstm.*`, `linear.*`
    /// and `out.*`. The BatchNorm's channel count is the aligned sequence length: `seq_lens`
    /// as one integer (what AMIO leaves in the configuration, as prepare_mmsa_inputs does),
    /// or, with `need_model_aligned`, the text's entry of the list (what AMIO sets it to).
    /// Every shape is checked; unused tensors under the prefix are an error.
    template <class StateDict>
    static ef_lstm load(const mmsa_config& config, const StateDict& sd,
                        std::string_view prefix = "Model.") {
        constexpr std::string_view model = "ef_lstm";
        ef_lstm result;
        result.features_ = config.feature_dims();
        result.steps_ = aligned_length(config);
        const std::size_t hidden = config.size("hidden_dims");
        const std::size_t layers = config.size("num_layers");
        if (hidden < 2) {
            // EF_LSTM.forward squeezes (B, hidden): with hidden 1 the feature axis goes and
            // nn.Linear(1, 1) fails on MMSA's side too.
            throw value_error(
                "models::ef_lstm: hidden_dims = " + std::to_string(hidden) +
                ": MMSA's EF_LSTM cannot run with fewer than 2 hidden units (its .squeeze() "
                "removes the feature axis of the final hidden state)" +
                config.context());
        }
        const std::size_t in = result.features_[0] + result.features_[1] + result.features_[2];
        const tracking_state_dict<StateDict> tracked(sd);
        const std::string at(prefix);
        for (const char* kind : {"weight", "bias", "running_mean", "running_var"}) {
            detail::require_tensor(tracked, model, at + "norm." + kind);
        }
        result.norm_ = encoders::batch_norm<T>::from_state_dict(tracked, at + "norm.",
                                                                {result.steps_, 1e-5, true});
        tracked.ignore(at + "norm.num_batches_tracked");
        encoders::rnn_options options;
        options.input_size = in;
        options.hidden_size = hidden;
        options.num_layers = layers;
        options.batch_first = true;
        result.lstm_ = encoders::lstm<T>::from_state_dict(tracked, at + "lstm.", options);
        result.linear_ = detail::load_mmsa_linear<T>(tracked, model, at + "linear", hidden, hidden);
        result.out_ =
            detail::load_mmsa_linear<T>(tracked, model, at + "out", hidden, config.output_dim());
        tracked.require_all_read(prefix, model);
        return result;
    }

    /// MMSA's forward on prepared inputs: every modality (B, seq_len, feature_dims[m]).
    /// Returns "M" (B, output_dim) — MMSA returns (output_dim) for a batch of one, see
    /// docs/models.md.
    [[nodiscard]] mmsa_outputs<T> forward(const mmsa_batch<T>& inputs) const {
        detail::check_aligned_inputs("ef_lstm", inputs, features_, steps_);
        const std::size_t batch = inputs.text.shape(0);
        const std::size_t width = features_[0] + features_[1] + features_[2];
        // The concatenated, normalised input lives in a per-thread buffer: at MOSI's sizes it
        // is megabytes, whose fresh pages would cost more than the copy itself on every call.
        thread_local xt::xtensor<T, 3> fused;
        const std::array<std::size_t, 3> shape{batch, steps_, width};
        if (!std::equal(shape.begin(), shape.end(), fused.shape().begin())) {
            fused.resize(shape);
        }
        T* row = fused.data();
        for (std::size_t b = 0; b < batch; ++b) {
            for (std::size_t t = 0; t < steps_; ++t) {
                for (const auto* array : {&inputs.text, &inputs.audio, &inputs.vision}) {
                    const std::size_t n = array->shape(2);
                    const T* from = array->data() + (b * steps_ + t) * n;
                    row = std::copy(from, from + n, row);
                }
            }
        }
        // BatchNorm1d on (B, T, D) normalises channel t = time step t.
        norm_.apply_in_place(fused.data(), batch, width);
        const auto states = lstm_(fused);
        const std::size_t hidden = lstm_.options().hidden_size;
        const T* last = states.h_n.data() + (lstm_.options().num_layers - 1) * batch * hidden;
        xt::xtensor<T, 2> projected = xt::xtensor<T, 2>::from_shape({batch, hidden});
        linear_.apply(last, batch, projected.data(), kernels::epilogue::relu);
        xt::xtensor<T, 2> output = xt::xtensor<T, 2>::from_shape({batch, out_.out_features()});
        out_.apply(projected.data(), batch, output.data());
        mmsa_outputs<T> result;
        result.emplace("M", std::move(output));
        return result;
    }

    [[nodiscard]] std::size_t output_dim() const { return out_.out_features(); }
    /// The aligned sequence length the BatchNorm was built for.
    [[nodiscard]] std::size_t sequence_length() const { return steps_; }

private:
    static std::size_t aligned_length(const mmsa_config& config) {
        const auto& lengths = config.at("seq_lens");
        if (lengths.is_array()) {
            if (!config.flag_or_false("need_model_aligned")) {
                throw value_error(
                    "models::ef_lstm: seq_lens is a list and need_model_aligned is off: MMSA's "
                    "EF_LSTM builds nn.BatchNorm1d(seq_lens), which needs AMIO's alignment to "
                    "make it one length" +
                    config.context());
            }
            return config.seq_lens()[0];
        }
        return config.size("seq_lens");
    }

    std::array<std::size_t, 3> features_{};
    std::size_t steps_ = 0;
    encoders::batch_norm<T> norm_;
    encoders::lstm<T> lstm_;
    layers::dense<T> linear_;
    layers::dense<T> out_;
};

} // namespace emofuse::models
