// The demo's aligned-from-raw-streams path: raw timed streams per video (word intervals,
// 100 Hz audio frames, 30 Hz video frames, utterance labels) as CMU computational sequences,
// and the CMU-SDK two-step recipe that turns such streams (generated here or read from .csd
// files) into the table's splits:
//   1. align audio and vision to the words, collapsing each word's frames with the mean;
//   2. align everything to the labels (no collapse): one `video[i]` entry per labelled
//      utterance, holding that utterance's word-level rows;
// then stack the entries present everywhere into sequence<float> (padding/truncating to a
// sequence length) and the labels into (samples, 1).
//
// The generated streams carry the planted signal of sample_data.hpp: each utterance draws its
// latent scores and label with draw_latent; every word vector, and every audio/video frame
// whose centre falls inside the utterance, is score·2·u + noise (frames in the pauses between
// utterances are noise only).
#pragma once

#include "sample_data.hpp"

#include <emofuse/align/collapse.hpp>
#include <emofuse/align/computational_sequence.hpp>
#include <emofuse/align/interval_align.hpp>
#include <emofuse/align/tensors.hpp>
#include <emofuse/core/error.hpp>

#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace demo {

namespace ea = emofuse::align;

inline constexpr double audio_rate_hz = 100.0;
inline constexpr double video_rate_hz = 30.0;

/// Raw streams in the order the recipe takes them: words, audio, vision, labels.
struct raw_streams {
    std::vector<ea::any_sequence> sequences;
    std::size_t videos = 0;
    std::size_t utterances = 0;
};

namespace detail {

// Row-wise builder of one entry (intervals and features grow together).
struct entry_builder {
    std::vector<double> intervals;
    std::vector<float> features;

    void add(double start, double end, const float* row, std::size_t d) {
        intervals.push_back(start);
        intervals.push_back(end);
        features.insert(features.end(), row, row + d);
    }
    ea::segment<float> finish(std::size_t d) && {
        const std::size_t rows = intervals.size() / 2;
        ea::segment<float> out;
        out.intervals = xt::xtensor<double, 2>::from_shape({rows, 2});
        std::copy(intervals.begin(), intervals.end(), out.intervals.begin());
        out.features = xt::xtensor<float, 2>::from_shape({rows, d});
        std::copy(features.begin(), features.end(), out.features.begin());
        return out;
    }
};

struct utterance_span {
    double start, end;
    latent_scores scores;
};

// Frames at `rate` Hz over [0, duration): each is planted with the score of the utterance
// holding its centre (`score_of` picks the modality's score), else noise only.
inline ea::segment<float> frame_stream(splitmix64& rng, double rate, double duration,
                                       const std::vector<utterance_span>& spans,
                                       const std::vector<float>& direction,
                                       double (*score_of)(const latent_scores&)) {
    entry_builder entry;
    std::vector<float> row(direction.size());
    const auto frames = static_cast<std::size_t>(std::floor(duration * rate));
    std::size_t span = 0;
    for (std::size_t k = 0; k < frames; ++k) {
        const double start = static_cast<double>(k) / rate;
        const double end = static_cast<double>(k + 1) / rate;
        const double centre = 0.5 * (start + end);
        while (span < spans.size() && spans[span].end <= centre) {
            ++span;
        }
        const bool inside = span < spans.size() && spans[span].start <= centre;
        planted_frame(rng, direction, inside ? score_of(spans[span].scores) : 0.0, row.data());
        entry.add(start, end, row.data(), row.size());
    }
    return std::move(entry).finish(direction.size());
}

template <class T>
ea::computational_sequence<T> empty_sequence(std::string name, std::size_t d) {
    ea::computational_sequence<T> seq;
    seq.name = std::move(name);
    seq.feature_size = d;
    return seq;
}

} // namespace detail

/// Raw streams of videos holding `train_utterances` + `test_utterances` labelled utterances
/// (1–4 per video; video ids `train_NNNN` / `test_NNNN`). Words last 0.2–0.6 s, 8–30 per
/// utterance, pauses of 0.3–1.0 s between utterances.
inline raw_streams make_raw_streams(std::size_t train_utterances, std::size_t test_utterances,
                                    std::uint64_t seed = 2026) {
    splitmix64 rng(seed);
    const std::vector<std::vector<float>> directions = detail::planted_directions(rng);
    auto words = detail::empty_sequence<float>("words", text_spec.features);
    auto audio = detail::empty_sequence<float>("audio", audio_spec.features);
    auto vision = detail::empty_sequence<float>("vision", vision_spec.features);
    auto labels = detail::empty_sequence<float>("labels", 1);
    raw_streams out;

    auto make_videos = [&](const char* prefix, std::size_t utterances) {
        std::size_t done = 0;
        for (std::size_t video = 0; done < utterances; ++video) {
            char key[32];
            std::snprintf(key, sizeof key, "%s_%04zu", prefix, video);
            const std::size_t count = std::min(rng.between(1, 4), utterances - done);
            detail::entry_builder word_rows, label_rows;
            std::vector<detail::utterance_span> spans;
            std::vector<float> row(text_spec.features);
            double t = 0.5;
            for (std::size_t u = 0; u < count; ++u) {
                const latent_scores z = draw_latent(rng);
                const double start = t;
                const std::size_t n_words = rng.between(text_spec.min_frames, text_spec.max_frames);
                for (std::size_t w = 0; w < n_words; ++w) {
                    const double length = 0.2 + 0.4 * rng.uniform();
                    detail::planted_frame(rng, directions[0], z.text, row.data());
                    word_rows.add(t, t + length, row.data(), row.size());
                    t += length;
                }
                spans.push_back({start, t, z});
                label_rows.add(start, t, &z.label, 1);
                t += 0.3 + 0.7 * rng.uniform();
            }
            const double duration = t + 0.2;
            audio.entries.emplace(
                key, detail::frame_stream(rng, audio_rate_hz, duration, spans, directions[1],
                                          [](const latent_scores& z) { return z.audio; }));
            vision.entries.emplace(
                key, detail::frame_stream(rng, video_rate_hz, duration, spans, directions[2],
                                          [](const latent_scores& z) { return z.vision; }));
            words.entries.emplace(key, std::move(word_rows).finish(text_spec.features));
            labels.entries.emplace(key, std::move(label_rows).finish(1));
            done += count;
            ++out.videos;
        }
        out.utterances += done;
    };
    make_videos("train", train_utterances);
    make_videos("test", test_utterances);
    out.sequences = {std::move(words), std::move(audio), std::move(vision), std::move(labels)};
    return out;
}

/// Total rows of every entry of a sequence.
inline std::size_t total_rows(const ea::any_sequence& seq) {
    return std::visit(
        [](const auto& s) {
            std::size_t rows = 0;
            for (const auto& kv : s.entries) {
                rows += kv.second.rows();
            }
            return rows;
        },
        seq);
}

/// The recipe's output: utterance-level sequences keyed `video[i]`, and what it took.
struct aligned_streams {
    std::vector<ea::any_sequence> sequences; // words, audio, vision, labels
    std::vector<std::string> keys;           // entries present in all four
    std::size_t videos = 0;
    std::vector<std::string> removed_ids;
    double seconds = 0.0;
};

/// The CMU-SDK two-step recipe on [words, audio, vision, labels].
inline aligned_streams align_to_labels(const std::vector<ea::any_sequence>& streams) {
    if (streams.size() != 4) {
        throw emofuse::value_error("demo: align_to_labels expects words, audio, vision, labels");
    }
    const auto start = std::chrono::steady_clock::now();
    ea::align_options to_words;
    to_words.reference = ea::sequence_name(streams[0]);
    to_words.collapse = {ea::collapse::mean()};
    ea::align_report report;
    std::vector<ea::any_sequence> word_level =
        ea::align({streams[0], streams[1], streams[2]}, to_words, &report);
    word_level.push_back(streams[3]);

    ea::align_options to_labels;
    to_labels.reference = ea::sequence_name(streams[3]);
    ea::align_report label_report;
    aligned_streams out;
    out.sequences = ea::align(word_level, to_labels, &label_report);
    out.keys = ea::common_keys(out.sequences);
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    out.videos = label_report.videos;
    out.removed_ids = report.removed_ids;
    out.removed_ids.insert(out.removed_ids.end(), label_report.removed_ids.begin(),
                           label_report.removed_ids.end());
    return out;
}

namespace detail {

// A float copy of a sequence's entries `keys` as sequence<float>; non-finite features (real
// COVAREP files hold -inf) become 0 and are counted in `replaced`.
inline emofuse::sequence<float> stacked(const ea::any_sequence& seq,
                                        const std::vector<std::string>& keys, std::size_t seq_len,
                                        std::size_t& replaced) {
    emofuse::sequence<float> out = std::visit(
        [&](const auto& s) {
            using T = typename std::decay_t<decltype(s)>::value_type;
            if constexpr (std::is_same_v<T, float>) {
                return ea::to_sequence(s, keys, seq_len);
            } else {
                const emofuse::sequence<double> wide = ea::to_sequence(s, keys, seq_len);
                xt::xtensor<float, 3> values = xt::cast<float>(wide.values());
                return emofuse::sequence<float>(std::move(values), wide.lengths());
            }
        },
        seq);
    xt::xtensor<float, 3> values = out.values();
    std::size_t bad = 0;
    for (float& v : values) {
        if (!std::isfinite(v)) {
            v = 0.0f;
            ++bad;
        }
    }
    replaced += bad;
    return bad == 0 ? out : emofuse::sequence<float>(std::move(values), out.lengths());
}

} // namespace detail

/// One split from the aligned sequences: entries `keys`, padded/truncated to `seq_len` steps;
/// the label is the first label column (sentiment in CMU-MOSI/MOSEI files).
inline split make_aligned_split(const aligned_streams& aligned,
                                const std::vector<std::string>& keys, std::size_t seq_len,
                                std::size_t& replaced) {
    split out{detail::stacked(aligned.sequences[0], keys, seq_len, replaced),
              detail::stacked(aligned.sequences[1], keys, seq_len, replaced),
              detail::stacked(aligned.sequences[2], keys, seq_len, replaced),
              emofuse::features<float>::from_shape({keys.size(), 1})};
    const emofuse::sequence<float> labels =
        detail::stacked(aligned.sequences[3], keys, 1, replaced);
    for (std::size_t n = 0; n < keys.size(); ++n) {
        out.labels(n, 0) = labels.values()(n, 0, 0);
    }
    return out;
}

} // namespace demo
