// emofuse/fusion/early_concat.hpp — early fusion: concatenation per time step of sequences that
// share their time axis, and late concatenation with a modality-present mask.
#pragma once

#include "emofuse/core/batch.hpp"
#include "emofuse/core/concepts.hpp"
#include "emofuse/core/error.hpp"
#include "emofuse/fusion/concat.hpp"
#include "emofuse/fusion/detail/inputs.hpp"
#include "emofuse/fusion/modality_mask.hpp"

#include <boost/hana/for_each.hpp>
#include <boost/hana/front.hpp>
#include <boost/hana/keys.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

namespace emofuse::fusion {

/// Concatenates every time step's feature vectors, in batch order, of sequences with the same
/// number of time steps: (batch, T, Σ d_m). A frame of the result is valid when it is valid in
/// every modality: lengths are the per-sample minimum, and a frame mask (the AND of the inputs'
/// validity) is attached when any input has holes or lengths differ. Values are copied for all
/// frames, padding included.
struct early_concat : fusion_stage_base {
    template <batch_type Batch>
    auto operator()(const Batch& batch) const {
        using T = detail::batch_value_t<Batch>;
        constexpr const char* stage = "fusion::early_concat";
        const std::size_t rows = batch_size(batch, stage);
        const auto keys = hana::keys(batch);
        const std::size_t steps = entry_of(batch[hana::front(keys)]).max_time();
        std::size_t width = 0;
        bool holes = false;
        hana::for_each(keys, [&](auto key) {
            const auto& x = entry_of(batch[key]);
            using entry = std::remove_cvref_t<decltype(x)>;
            static_assert(is_sequence_v<entry>,
                          "fusion::early_concat joins sequences per time step; for utterance "
                          "features use fusion::concat");
            static_assert(std::is_same_v<typename entry::value_type, T>,
                          "fusion::early_concat: every modality must have the same element type");
            if (x.max_time() != steps) {
                throw shape_error(emofuse::detail::concat_message(
                    stage, ": time steps of modality '", name_of(key), "': expected ", steps,
                    " (the first modality's), got ", x.max_time()));
            }
            holes = holes || x.has_frame_mask();
            width += x.feature_size();
        });
        auto values = xt::xtensor<T, 3>::from_shape({rows, steps, width});
        std::vector<std::size_t> lengths(rows, steps);
        xt::xtensor<std::uint8_t, 2> valid = xt::ones<std::uint8_t>({rows, steps});
        std::size_t offset = 0;
        hana::for_each(keys, [&](auto key) {
            const auto& x = entry_of(batch[key]);
            const std::size_t d = x.feature_size();
            for (std::size_t b = 0; b < rows; ++b) {
                lengths[b] = std::min(lengths[b], x.length(b));
                if (x.length(b) != steps) {
                    holes = true;
                }
                for (std::size_t t = 0; t < steps; ++t) {
                    std::copy_n(x.frame(b, t), d, values.data() + (b * steps + t) * width + offset);
                    if (!x.valid(b, t)) {
                        valid(b, t) = 0;
                    }
                }
            }
            offset += d;
        });
        if (holes) {
            return sequence<T>(std::move(values), std::move(lengths), std::move(valid));
        }
        return sequence<T>(std::move(values), std::move(lengths));
    }

    /// Missing modalities: an absent modality's frames are zeros for that sample.
    template <batch_type Batch>
    auto operator()(const Batch& batch, const modality_mask& mask) const {
        return (*this)(zero_absent(batch, mask, "fusion::early_concat"));
    }
};

/// Late concatenation (fusion::concat) that also accepts a modality-present mask: an absent
/// modality's block of the output row is zeros.
template <class Dims = dims<>>
struct masked_concat : fusion_stage_base {
    static constexpr std::size_t output_size = concat<Dims>::output_size;

    template <batch_type Batch>
    auto operator()(const Batch& batch) const {
        return concat<Dims>{}(batch);
    }

    template <batch_type Batch>
    auto operator()(const Batch& batch, const modality_mask& mask) const {
        return concat<Dims>{}(zero_absent(batch, mask, "fusion::masked_concat"));
    }
};

} // namespace emofuse::fusion
