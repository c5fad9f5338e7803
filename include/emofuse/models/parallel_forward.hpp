// emofuse/models/parallel_forward.hpp — a zoo model's forward over a batch on the library's
// threads (platform/parallel.hpp): the batch is cut into runs of a fixed number of rows, each
// run's forward runs on one thread, and the outputs are joined in row order (docs/models.md,
// "Threads").
#pragma once

#include <emofuse/config.hpp>
#include <emofuse/core/error.hpp>
#include <emofuse/models/mmsa_inputs.hpp>
#include <emofuse/models/mmsa_model.hpp>
#include <emofuse/platform/parallel.hpp>

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace emofuse::models {

/// Rows per run of parallel_forward. Fixed, never derived from the thread count, so the runs
/// (and therefore the bits of every output) are the same at any thread count. 16 rows keep the
/// GEMMs inside a run at full register tiles (6 or 12 rows) while a batch of 32, MMSA's
/// default, still gives two threads a run each.
inline constexpr std::size_t parallel_forward_rows = 16;

/// Whether each sample's outputs from Model's forward are the same bits whatever its
/// batch-mates: true unless the model declares `static constexpr bool batch_invariant = false`
/// (then parallel_forward leaves its batch whole), or, type-erased, answers
/// `batch_invariant()` (mmsa_model).
template <class Model>
[[nodiscard]] constexpr bool batch_invariant_forward() {
    if constexpr (requires { Model::batch_invariant; }) {
        return Model::batch_invariant;
    } else {
        return true;
    }
}

namespace detail {

template <class Model>
[[nodiscard]] bool splits_over_batch(const Model& model) {
    if constexpr (requires { model.batch_invariant(); }) {
        return model.batch_invariant();
    } else {
        return batch_invariant_forward<Model>();
    }
}

} // namespace detail

/// The rows [begin, end) of a batch (its per-sample lengths too, when it has them).
template <class T>
[[nodiscard]] mmsa_batch<T> mmsa_batch_rows(const mmsa_batch<T>& batch, std::size_t begin,
                                            std::size_t end) {
    const auto rows_of = [&](const xt::xtensor<T, 3>& values) {
        if (begin > end || end > values.shape(0)) {
            throw shape_error("models::mmsa_batch_rows: rows [" + std::to_string(begin) + ", " +
                              std::to_string(end) + ") of a batch of " +
                              std::to_string(values.shape(0)));
        }
        xt::xtensor<T, 3> rows =
            xt::xtensor<T, 3>::from_shape({end - begin, values.shape(1), values.shape(2)});
        const std::size_t row_size = values.shape(1) * values.shape(2);
        std::copy_n(values.data() + begin * row_size, (end - begin) * row_size, rows.data());
        return rows;
    };
    const auto lengths_of = [&](const std::vector<std::size_t>& lengths) {
        if (lengths.empty()) {
            return lengths;
        }
        if (begin > end || end > lengths.size()) {
            throw shape_error("models::mmsa_batch_rows: rows [" + std::to_string(begin) + ", " +
                              std::to_string(end) + ") of " + std::to_string(lengths.size()) +
                              " lengths");
        }
        return std::vector<std::size_t>(lengths.begin() + static_cast<std::ptrdiff_t>(begin),
                                        lengths.begin() + static_cast<std::ptrdiff_t>(end));
    };
    return {rows_of(batch.text), rows_of(batch.audio), rows_of(batch.vision),
            lengths_of(batch.audio_lengths), lengths_of(batch.vision_lengths)};
}

/// `model.forward(inputs)` with the batch split into runs of `rows_per_run` rows (the last one
/// shorter), the runs' forwards spread over the library's threads and their outputs joined in
/// row order. `Model` is any zoo model (mmsa_model<T>, tfn<T>, ...): its forward must be const
/// and safe to call from several threads at once (every zoo model's is: weights are
/// read-only, scratch is per thread).
///
/// Determinism: the runs depend on the batch size and `rows_per_run` only, so every output has
/// the same bits at any thread count, and, for a model that computes each sample alone, the
/// same bits as one forward of the whole batch (tests/models/test_parallel_forward checks
/// every zoo model). A model that is not batch-invariant (batch_invariant_forward) is one
/// plain forward of the whole batch, as is a batch of at most `rows_per_run` rows: no copy,
/// no thread woken (the GEMMs inside may still split over their columns).
/// Called from inside other parallel work, the runs execute one after another on the calling
/// thread (platform/parallel.hpp), with the same results.
///
/// Throws value_error for rows_per_run = 0 or a run whose outputs do not match the others'
/// names and widths; shape_error for modalities or lengths of different sample counts;
/// whatever a run's forward throws.
template <class Model, class T>
requires requires(const Model& m, const mmsa_batch<T>& b) {
    { m.forward(b) } -> std::convertible_to<mmsa_outputs<T>>;
}
[[nodiscard]] mmsa_outputs<T> parallel_forward(const Model& model, const mmsa_batch<T>& inputs,
                                               std::size_t rows_per_run = parallel_forward_rows) {
    if (rows_per_run == 0) {
        throw value_error("models::parallel_forward: rows_per_run must be at least 1");
    }
    const std::size_t samples = inputs.text.shape(0);
    if (samples <= rows_per_run || !detail::splits_over_batch(model)) {
        return model.forward(inputs);
    }
    // What splitting needs (the forward checks the rest, as it would unsplit): one row count.
    for (const auto count : {inputs.audio.shape(0), inputs.vision.shape(0)}) {
        if (count != samples) {
            throw shape_error("models::parallel_forward: text, audio and vision hold " +
                              std::to_string(samples) + ", " +
                              std::to_string(inputs.audio.shape(0)) + " and " +
                              std::to_string(inputs.vision.shape(0)) +
                              " samples; they must hold the same number");
        }
    }
    for (const auto* lengths : {&inputs.audio_lengths, &inputs.vision_lengths}) {
        if (!lengths->empty() && lengths->size() != samples) {
            throw shape_error("models::parallel_forward: " + std::to_string(lengths->size()) +
                              " lengths for " + std::to_string(samples) + " samples");
        }
    }
    const std::size_t runs = (samples + rows_per_run - 1) / rows_per_run;
    std::vector<mmsa_outputs<T>> run_outputs(runs);
    parallel_for(samples, rows_per_run, [&](std::size_t begin, std::size_t end) {
        run_outputs[begin / rows_per_run] = model.forward(mmsa_batch_rows(inputs, begin, end));
    });

    // The first run's outputs name the keys and widths; every run must agree.
    mmsa_outputs<T> joined;
    for (const auto& [name, values] : run_outputs.front()) {
        joined.emplace(name, xt::xtensor<T, 2>::from_shape({samples, values.shape(1)}));
    }
    for (std::size_t run = 0; run < runs; ++run) {
        const std::size_t begin = run * rows_per_run;
        const std::size_t rows = std::min(rows_per_run, samples - begin);
        const auto& outputs = run_outputs[run];
        if (outputs.size() != joined.size()) {
            throw value_error(
                "models::parallel_forward: the forward of rows [" + std::to_string(begin) + ", " +
                std::to_string(begin + rows) + ") returned " + std::to_string(outputs.size()) +
                " outputs, rows [0, " + std::to_string(std::min(rows_per_run, samples)) + ") " +
                std::to_string(joined.size()));
        }
        for (auto& [name, values] : joined) {
            const auto found = outputs.find(name);
            if (found == outputs.end() || found->second.shape(0) != rows ||
                found->second.shape(1) != values.shape(1)) {
                throw value_error("models::parallel_forward: the forward of rows [" +
                                  std::to_string(begin) + ", " + std::to_string(begin + rows) +
                                  ") returned no output '" + name + "' of shape (" +
                                  std::to_string(rows) + ", " + std::to_string(values.shape(1)) +
                                  ")");
            }
            std::copy_n(found->second.data(), found->second.size(),
                        values.data() + begin * values.shape(1));
        }
    }
    return joined;
}

} // namespace emofuse::models
