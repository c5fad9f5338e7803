// A state dict holding an nn.TransformerEncoder under "encoder.", a batch of 4 × 50 tokens of
// 128 features and its src_key_padding_mask (1 = padded).
#include <emofuse/emofuse.hpp>

#include <cstdint>

const emofuse::io::state_dict sd;
const xt::xtensor<float, 3> x = xt::zeros<float>({4, 50, 128});
const xt::xtensor<std::uint8_t, 2> padded = xt::zeros<std::uint8_t>({4, 50});
