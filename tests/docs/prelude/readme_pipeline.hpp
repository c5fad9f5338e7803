// Inputs of README.md's "A pipeline in 15 lines": word vectors and audio frames with
// per-sample lengths, utterance-level face embeddings, and a labelled training batch.
#include <emofuse/emofuse.hpp>

#include <cstddef>
#include <vector>

const xt::xtensor<float, 3> words = xt::zeros<float>({4, 20, 300});
const std::vector<std::size_t> word_counts{20, 12, 7, 15};
const xt::xtensor<float, 3> frames = xt::zeros<float>({4, 500, 74});
const std::vector<std::size_t> frame_counts{500, 320, 410, 90};
const emofuse::features<float> face_embeddings = xt::zeros<float>({4, 35});
const auto train_batch =
    emofuse::make_batch(emofuse::text(emofuse::sequence<float>(words, word_counts)),
                        emofuse::audio(emofuse::sequence<float>(frames, frame_counts)),
                        emofuse::vision(face_embeddings));
const emofuse::features<float> train_labels = xt::zeros<float>({4, 1});
