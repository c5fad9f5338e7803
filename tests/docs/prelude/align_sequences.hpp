// Computational sequences for docs/alignment.md: word vectors, COVAREP audio, FACET vision
// and labels, as read from .csd files.
#include <emofuse/align/computational_sequence.hpp>

const emofuse::align::computational_sequence<float> words{"words", {}, 300, {}};
const emofuse::align::computational_sequence<float> covarep{"covarep", {}, 74, {}};
const emofuse::align::computational_sequence<float> facet{"facet", {}, 35, {}};
const emofuse::align::computational_sequence<float> labels{"labels", {}, 1, {}};
