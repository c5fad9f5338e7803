// Raw timed streams as examples/demo/aligned_data.hpp holds them before alignment.
#include <emofuse/align/interval_align.hpp>
#include <emofuse/align/tensors.hpp>

#include <cstddef>

namespace align = emofuse::align;
const align::computational_sequence<float> words{"words", {}, 12, {}};
const align::computational_sequence<float> audio{"audio", {}, 8, {}};
const align::computational_sequence<float> vision{"vision", {}, 8, {}};
const align::computational_sequence<float> labels{"labels", {}, 1, {}};
const std::size_t seq_len = 50;
