// A batch of MMSA-sized utterance vectors for fusion examples: audio 32, vision 128, text 32.
#include <emofuse/emofuse.hpp>

const auto batch =
    emofuse::make_batch(emofuse::audio(emofuse::features<float>(xt::zeros<float>({8, 32}))),
                        emofuse::vision(emofuse::features<float>(xt::zeros<float>({8, 128}))),
                        emofuse::text(emofuse::features<float>(xt::zeros<float>({8, 32}))));
