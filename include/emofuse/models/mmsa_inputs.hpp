// emofuse/models/mmsa_inputs.hpp — from the arrays of an MMSA feature file to what an MMSA
// model's forward receives: the data loader's steps, then AMIO's alignment sub-network.
#pragma once

#include <emofuse/config.hpp>
#include <emofuse/core/error.hpp>
#include <emofuse/models/mmsa_config.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <utility>

namespace emofuse::models {

/// The three modality arrays, batch-first: text (B, T_t, D_t), audio (B, T_a, D_a),
/// vision (B, T_v, D_v), as MMSA's processed feature files hold them. For the models with
/// `use_bert`, text is the file's `text_bert` instead: (B, 3, seq_len) rows of token ids,
/// attention mask and segment ids.
template <class T>
struct mmsa_batch {
    xt::xtensor<T, 3> text;
    xt::xtensor<T, 3> audio;
    xt::xtensor<T, 3> vision;
};

namespace detail {

template <class T>
void check_batch(const mmsa_batch<T>& batch) {
    const std::size_t size = batch.text.shape(0);
    if (batch.audio.shape(0) != size || batch.vision.shape(0) != size) {
        throw shape_error("models::mmsa inputs: text, audio and vision hold " +
                          std::to_string(size) + ", " + std::to_string(batch.audio.shape(0)) +
                          " and " + std::to_string(batch.vision.shape(0)) +
                          " samples; they must hold the same number");
    }
    if (size == 0) {
        throw shape_error("models::mmsa inputs: the batch is empty");
    }
    for (const auto* array : {&batch.text, &batch.audio, &batch.vision}) {
        if (array->shape(1) == 0 || array->shape(2) == 0) {
            throw shape_error("models::mmsa inputs: a modality has no time steps or no features");
        }
    }
}

/// (B, T, D) → (B, 1, D): the mean over the padded time axis, NaN results replaced by 0
/// (MMDataset.__normalize). Summed step by step in T and divided in T, the order numpy's
/// np.mean takes over that (outer) axis, so float32 data gives MMSA's values bit for bit.
template <class T>
xt::xtensor<T, 3> mean_over_time(const xt::xtensor<T, 3>& values) {
    const std::size_t batch = values.shape(0), steps = values.shape(1), width = values.shape(2);
    xt::xtensor<T, 3> result = xt::xtensor<T, 3>::from_shape({batch, 1, width});
    for (std::size_t sample = 0; sample < batch; ++sample) {
        for (std::size_t feature = 0; feature < width; ++feature) {
            T sum = 0;
            for (std::size_t step = 0; step < steps; ++step) {
                sum += values(sample, step, feature);
            }
            const T mean = sum / static_cast<T>(steps);
            result(sample, 0, feature) = std::isnan(mean) ? T(0) : mean;
        }
    }
    return result;
}

/// AlignSubNet's 'avg_pool' for one modality (src/MMSA/models/subNets/AlignNets.py): when T is
/// not a multiple of `target`, the last frame is repeated until it is, then every run of
/// T' / target frames is averaged.
template <class T>
xt::xtensor<T, 3> average_pool_to(const xt::xtensor<T, 3>& values, std::size_t target) {
    const std::size_t batch = values.shape(0), steps = values.shape(1), width = values.shape(2);
    if (steps == target) {
        return values;
    }
    const std::size_t pool = steps % target == 0 ? steps / target : steps / target + 1;
    xt::xtensor<T, 3> result = xt::xtensor<T, 3>::from_shape({batch, target, width});
    for (std::size_t sample = 0; sample < batch; ++sample) {
        for (std::size_t out = 0; out < target; ++out) {
            for (std::size_t feature = 0; feature < width; ++feature) {
                T sum = 0;
                for (std::size_t k = 0; k < pool; ++k) {
                    const std::size_t step = std::min(out * pool + k, steps - 1);
                    sum += values(sample, step, feature);
                }
                result(sample, out, feature) = sum / static_cast<T>(pool);
            }
        }
    }
    return result;
}

} // namespace detail

/// MMSA's data-loader steps (src/MMSA/data_loader.py, MMDataset): audio entries equal to -inf
/// become 0 (`__init_mosi`); with `need_normalized`, audio and vision are averaged over their
/// padded time axis to one step and NaN becomes 0 (`__normalize`). Then, as MMDataLoader does,
/// the configuration's `seq_lens` become the lengths of the arrays (MMDataset.get_seq_len: with
/// `use_bert` the text's is text_bert's last extent).
template <class T>
mmsa_batch<T> apply_mmsa_loader_steps(mmsa_config& config, mmsa_batch<T> batch) {
    detail::check_batch(batch);
    for (auto& value : batch.audio) {
        if (value == -std::numeric_limits<T>::infinity()) {
            value = 0;
        }
    }
    if (config.flag_or_false("need_normalized")) {
        batch.audio = detail::mean_over_time(batch.audio);
        batch.vision = detail::mean_over_time(batch.vision);
    }
    const std::size_t text_steps =
        config.flag_or_false("use_bert") ? batch.text.shape(2) : batch.text.shape(1);
    config.set_seq_lens({text_steps, batch.audio.shape(1), batch.vision.shape(1)});
    return batch;
}

/// AMIO's alignment (src/MMSA/models/AMIO.py): with `need_model_aligned`, AlignSubNet in
/// 'avg_pool' mode brings audio and vision to the text's length, unless both already have it;
/// `seq_lens` then becomes that one length, as AMIO sets `args['seq_lens']`.
template <class T>
mmsa_batch<T> apply_mmsa_alignment(mmsa_config& config, mmsa_batch<T> batch) {
    if (!config.flag_or_false("need_model_aligned")) {
        return batch;
    }
    const std::size_t target = config.seq_lens()[0];
    if (batch.audio.shape(1) != target || batch.vision.shape(1) != target) {
        batch.audio = detail::average_pool_to(batch.audio, target);
        batch.vision = detail::average_pool_to(batch.vision, target);
    }
    config.set("seq_lens", target);
    return batch;
}

/// Both of the above: what MMSA's model receives from a feature file's arrays.
template <class T>
mmsa_batch<T> prepare_mmsa_inputs(mmsa_config& config, mmsa_batch<T> batch) {
    return apply_mmsa_alignment(config, apply_mmsa_loader_steps(config, std::move(batch)));
}

} // namespace emofuse::models
