// A test loader for docs/metrics.md: batches whose truth and pred are std::span<const float>
// views of the scores, as the snippet's comment says.
#include <span>
#include <vector>

struct loader_batch {
    std::span<const float> truth, pred;
};
const std::vector<float> scores(64);
const std::vector<loader_batch> test_loader{{scores, scores}, {scores, scores}};
