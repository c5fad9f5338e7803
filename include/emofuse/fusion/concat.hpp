// emofuse/fusion/concat.hpp — late (utterance-level) concatenation of modality features.
#pragma once

#include "emofuse/core/batch.hpp"
#include "emofuse/core/concepts.hpp"
#include "emofuse/core/dims.hpp"

#include <boost/hana/for_each.hpp>
#include <boost/hana/front.hpp>
#include <boost/hana/keys.hpp>

#include <algorithm>
#include <cstddef>
#include <string>
#include <type_traits>

namespace emofuse::fusion {

/// Concatenates each sample's utterance vectors along features, in batch order (or in the
/// order given to only<...>). With dims<d_1, ..., d_n> the sizes are checked at run time and
/// the output size (their sum) is a compile-time constant.
template <class Dims = dims<>>
struct concat : fusion_stage_base {
    static_assert(is_dims_v<Dims>, "fusion::concat<Dims>: Dims must be emofuse::dims<...>");
    static constexpr std::size_t output_size = Dims::count == 0 ? dynamic : Dims::sum;

    template <batch_type Batch>
    auto operator()(const Batch& batch) const {
        using first_entry =
            entry_t<std::remove_cvref_t<decltype(batch[hana::front(hana::keys(batch))])>>;
        using T = typename first_entry::value_type;
        hana::for_each(hana::keys(batch), [&](auto key) {
            using entry = entry_t<std::remove_cvref_t<decltype(batch[key])>>;
            static_assert(is_features_v<entry>,
                          "fusion::concat joins utterance-level features (batch, features); "
                          "pool sequences first, e.g. per_modality(pool::mean{}) | concat{}");
            static_assert(std::is_same_v<typename entry::value_type, T>,
                          "fusion::concat: every modality must have the same element type");
        });
        const std::size_t rows = batch_size(batch, "fusion::concat");
        std::size_t width = 0;
        std::size_t index = 0;
        hana::for_each(hana::keys(batch), [&](auto key) {
            const std::size_t d = entry_of(batch[key]).shape(1);
            if constexpr (Dims::count != 0) {
                if (index >= Dims::count) {
                    throw shape_error(emofuse::detail::concat_message(
                        "fusion::concat: number of modalities: expected ", Dims::count,
                        " (from dims<...>), got more"));
                }
                if (Dims::values[index] != dynamic && Dims::values[index] != d) {
                    throw shape_error(
                        mismatch_message("fusion::concat",
                                         "features of modality '" + std::string(name_of(key)) + "'",
                                         Dims::values[index], d));
                }
            }
            width += d;
            ++index;
        });
        if constexpr (Dims::count != 0) {
            check_size("fusion::concat", "number of modalities (from dims<...>)", Dims::count,
                       index);
        }
        features<T> out({rows, width});
        std::size_t offset = 0;
        hana::for_each(hana::keys(batch), [&](auto key) {
            const auto& x = entry_of(batch[key]);
            const std::size_t d = x.shape(1);
            for (std::size_t r = 0; r < rows; ++r) {
                std::copy_n(x.data() + r * d, d, out.data() + r * width + offset);
            }
            offset += d;
        });
        return out;
    }
};

} // namespace emofuse::fusion
