// The demo's embedded sample set: deterministic, unaligned text/audio/vision sequences with a
// planted sentiment signal.
//
// Each sample has three latent scores s_text, s_audio, s_vision ~ N(0, 1). Every frame of a
// modality is s_m·u_m + noise (u_m a fixed unit direction, noise N(0, 1) per feature), with a
// different number of frames per modality and sample (words, 100 Hz-like audio, 30 Hz-like
// video). The label is
//     y = clip(1.2·s_text + 1.5·s_audio·s_vision + 0.3·ε, −3, 3)
// so part of the signal is a cross-modal product: no linear read-out of concatenated modality
// features can capture it; fusion operators with multiplicative interactions can.
#pragma once

#include <emofuse/core/batch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <vector>

namespace demo {

/// SplitMix64: a tiny generator whose output is the same on every platform (the standard
/// library's distributions are not), so the sample set is identical everywhere.
class splitmix64 {
public:
    explicit splitmix64(std::uint64_t seed) : state_(seed) {}

    std::uint64_t next() {
        std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
    /// Uniform in [0, 1).
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
    /// Uniform integer in [low, high].
    std::size_t between(std::size_t low, std::size_t high) {
        return low + static_cast<std::size_t>(uniform() * static_cast<double>(high - low + 1));
    }
    /// Standard normal (Box–Muller).
    double normal() {
        const double u1 = 1.0 - uniform();
        const double u2 = uniform();
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
    }

private:
    std::uint64_t state_;
};

/// Shape of one modality in the sample set.
struct modality_spec {
    std::size_t features;
    std::size_t min_frames;
    std::size_t max_frames;
};

inline constexpr modality_spec text_spec{12, 8, 30};
inline constexpr modality_spec audio_spec{8, 40, 150};
inline constexpr modality_spec vision_spec{8, 15, 60};

/// Feature sizes of the three modalities: the operators of the table are built for them.
struct feature_sizes {
    std::size_t text, audio, vision;
};

inline constexpr feature_sizes sample_feature_sizes{text_spec.features, audio_spec.features,
                                                    vision_spec.features};

/// One split of the sample set.
struct split {
    emofuse::sequence<float> text, audio, vision;
    emofuse::features<float> labels; // (samples, 1), in [−3, 3]

    [[nodiscard]] std::size_t size() const { return labels.shape(0); }
    [[nodiscard]] feature_sizes sizes() const {
        return {text.feature_size(), audio.feature_size(), vision.feature_size()};
    }
    [[nodiscard]] auto batch() const {
        return emofuse::make_batch(emofuse::text(text), emofuse::audio(audio),
                                   emofuse::vision(vision));
    }
};

struct sample_set {
    split train, test;
};

/// The latent scores of one sample (utterance) and its label
/// y = clip(1.2·s_text + 1.5·s_audio·s_vision + 0.3·ε, −3, 3).
struct latent_scores {
    double text, audio, vision;
    float label;
};

/// Draws one sample's scores and label (four normals, in this order).
inline latent_scores draw_latent(splitmix64& rng) {
    latent_scores z{};
    z.text = rng.normal();
    z.audio = rng.normal();
    z.vision = rng.normal();
    const double y = 1.2 * z.text + 1.5 * z.audio * z.vision + 0.3 * rng.normal();
    z.label = static_cast<float>(std::clamp(y, -3.0, 3.0));
    return z;
}

namespace detail {

inline std::vector<float> unit_direction(splitmix64& rng, std::size_t size) {
    std::vector<float> u(size);
    double norm = 0.0;
    for (float& v : u) {
        v = static_cast<float>(rng.normal());
        norm += static_cast<double>(v) * v;
    }
    for (float& v : u) {
        v = static_cast<float>(v / std::sqrt(norm));
    }
    return u;
}

/// One frame of a modality carrying latent score `score`: score·2·u + N(0, 1) per feature.
inline void planted_frame(splitmix64& rng, const std::vector<float>& direction, double score,
                          float* out) {
    for (std::size_t j = 0; j < direction.size(); ++j) {
        out[j] = static_cast<float>(score * 2.0 * direction[j] + rng.normal());
    }
}

/// The fixed unit directions u_text, u_audio, u_vision (drawn first from the seed).
inline std::vector<std::vector<float>> planted_directions(splitmix64& rng) {
    std::vector<std::vector<float>> directions;
    directions.push_back(unit_direction(rng, text_spec.features));
    directions.push_back(unit_direction(rng, audio_spec.features));
    directions.push_back(unit_direction(rng, vision_spec.features));
    return directions;
}

inline emofuse::sequence<float> make_sequence(splitmix64& rng, const modality_spec& spec,
                                              const std::vector<float>& direction,
                                              const std::vector<double>& latent) {
    const std::size_t n = latent.size();
    std::vector<std::size_t> lengths(n);
    for (std::size_t& length : lengths) {
        length = rng.between(spec.min_frames, spec.max_frames);
    }
    xt::xtensor<float, 3> values = xt::zeros<float>({n, spec.max_frames, spec.features});
    for (std::size_t b = 0; b < n; ++b) {
        for (std::size_t t = 0; t < lengths[b]; ++t) {
            planted_frame(rng, direction, latent[b], &values(b, t, 0));
        }
    }
    return emofuse::sequence<float>(std::move(values), std::move(lengths));
}

inline split make_split(splitmix64& rng, std::size_t samples,
                        const std::vector<std::vector<float>>& directions) {
    std::vector<double> s_text(samples), s_audio(samples), s_vision(samples);
    emofuse::features<float> labels = emofuse::features<float>::from_shape({samples, 1});
    for (std::size_t i = 0; i < samples; ++i) {
        const latent_scores z = draw_latent(rng);
        s_text[i] = z.text;
        s_audio[i] = z.audio;
        s_vision[i] = z.vision;
        labels(i, 0) = z.label;
    }
    return split{make_sequence(rng, text_spec, directions[0], s_text),
                 make_sequence(rng, audio_spec, directions[1], s_audio),
                 make_sequence(rng, vision_spec, directions[2], s_vision), std::move(labels)};
}

} // namespace detail

/// The embedded sample set: the same numbers for the same seed on every machine.
inline sample_set make_sample_set(std::size_t train_size, std::size_t test_size,
                                  std::uint64_t seed = 2026) {
    splitmix64 rng(seed);
    const std::vector<std::vector<float>> directions = detail::planted_directions(rng);
    split train = detail::make_split(rng, train_size, directions);
    split test = detail::make_split(rng, test_size, directions);
    return {std::move(train), std::move(test)};
}

} // namespace demo
