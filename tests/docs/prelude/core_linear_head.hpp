// Inputs of docs/core.md's composition line: a trained linear read-out in PyTorch's (out, in)
// layout over the 300 + 35 pooled text and vision features.
#include <emofuse/emofuse.hpp>

const xt::xtensor<float, 2> w = xt::zeros<float>({1, 335});
const xt::xtensor<float, 1> b = xt::zeros<float>({1});
