// Input of the extractor self-test.
#include <vector>

const std::vector<int> input{1, 2, 3};
