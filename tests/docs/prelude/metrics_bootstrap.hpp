// Inputs of docs/metrics.md's bootstrap example: the namespace alias of the page's first
// example and MELD-style class ids (truth, prediction) of n samples.
#include <emofuse/metrics/bootstrap.hpp>
#include <emofuse/metrics/emotion.hpp>

#include <cstdint>
#include <span>
#include <vector>

namespace em = emofuse::metrics;
const std::vector<std::int32_t> truth_ids(2610), pred_ids(2610);
const std::span<const std::int32_t> truth(truth_ids), pred(pred_ids);
const std::size_t n = truth.size();
