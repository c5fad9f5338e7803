// A batch of MOSEI-shaped sequences for attention examples: text 50 × 300, audio 500 × 74,
// vision 500 × 35.
#include <emofuse/emofuse.hpp>

const auto batch =
    emofuse::make_batch(emofuse::text(emofuse::sequence<float>(xt::zeros<float>({2, 50, 300}))),
                        emofuse::audio(emofuse::sequence<float>(xt::zeros<float>({2, 500, 74}))),
                        emofuse::vision(emofuse::sequence<float>(xt::zeros<float>({2, 500, 35}))));
