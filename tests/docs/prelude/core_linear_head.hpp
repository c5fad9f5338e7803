// Inputs of docs/core.md's composition line: the namespace it is written in and a trained
// linear read-out in PyTorch's (out, in) layout.
#include <emofuse/emofuse.hpp>

using namespace emofuse;
const xt::xtensor<float, 2> w = xt::zeros<float>({1, 335});
const xt::xtensor<float, 1> b = xt::zeros<float>({1});
