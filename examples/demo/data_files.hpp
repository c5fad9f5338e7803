// The demo's --data DIR: real CMU computational sequence files (CMU-MOSI/MOSEI layout) instead
// of the embedded sample set. Needs the emofuse::csd component (HDF5).
//
// Which file plays which role is read from the file names (case-insensitive), first pattern
// with a match wins, two files matching the same pattern is an error:
//   text   *wordvector*, *word_vector*, *glove*, *bert*, *words* (so a MOSI directory's
//          TimestampedWordVectors wins over TimestampedWords; string features are rejected)
//   audio  *covarep*, *opensmile*, *audio*, *acoustic*
//   vision *facet*, *openface*, *visual*, *vision*
//   labels *label*
// The train/test split is by video: a video goes to test when FNV-1a-64(video id) mod 10000 <
// test_fraction·10000, so the split is deterministic and a video's utterances stay together.
#pragma once

#include "aligned_data.hpp"

#include <emofuse/io/csd/reader.hpp>
#include <emofuse/io/csd/writer.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace demo {

namespace data_detail {

namespace fs = std::filesystem;

struct role {
    const char* name;
    std::vector<std::string_view> patterns;
};

inline std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

// The file of `dir` playing `r`, or an io_error naming the role and the files seen.
inline fs::path find_role(const std::vector<fs::path>& files, const role& r, const fs::path& dir) {
    for (std::string_view pattern : r.patterns) {
        std::vector<fs::path> hits;
        for (const fs::path& f : files) {
            if (lower(f.filename().string()).find(pattern) != std::string::npos) {
                hits.push_back(f);
            }
        }
        if (hits.size() == 1) {
            return hits.front();
        }
        if (hits.size() > 1) {
            throw emofuse::io_error("--data: directory '" + dir.string() +
                                    "': " + std::to_string(hits.size()) + " files match '*" +
                                    std::string(pattern) + "*' for the " + r.name +
                                    " sequence (e.g. '" + hits[0].filename().string() + "' and '" +
                                    hits[1].filename().string() + "')");
        }
    }
    std::string expected;
    for (std::string_view p : r.patterns) {
        expected += (expected.empty() ? "*" : ", *") + std::string(p) + "*";
    }
    throw emofuse::io_error("--data: directory '" + dir.string() + "': no .csd file for the " +
                            r.name + " sequence (expected a name matching " + expected + ")");
}

inline std::uint64_t fnv1a64(std::string_view text) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (const char c : text) {
        h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
    }
    return h;
}

} // namespace data_detail

/// The four files of a CMU-MOSI/MOSEI directory in recipe order: words, audio, vision, labels.
inline std::array<std::filesystem::path, 4> find_data_files(const std::filesystem::path& dir) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
        throw emofuse::io_error("--data: '" + dir.string() + "' is not a directory");
    }
    std::vector<fs::path> files;
    for (const auto& item : fs::directory_iterator(dir)) {
        if (item.is_regular_file() &&
            data_detail::lower(item.path().extension().string()) == ".csd") {
            files.push_back(item.path());
        }
    }
    std::sort(files.begin(), files.end());
    const std::array<data_detail::role, 4> roles{{
        {"text (word vectors)", {"wordvector", "word_vector", "glove", "bert", "words"}},
        {"audio", {"covarep", "opensmile", "audio", "acoustic"}},
        {"vision", {"facet", "openface", "visual", "vision"}},
        {"labels", {"label"}},
    }};
    std::array<fs::path, 4> out;
    for (std::size_t r = 0; r < roles.size(); ++r) {
        out[r] = data_detail::find_role(files, roles[r], dir);
    }
    return out;
}

/// Whether `video` goes to the test split (see the file comment).
inline bool is_test_video(std::string_view video, double test_fraction) {
    return static_cast<double>(data_detail::fnv1a64(video) % 10000) < test_fraction * 10000.0;
}

/// Writes raw streams as CMU-MOSI-named .csd files into `dir` (created if needed), shaped to
/// exercise what real files hold: the audio is stored as float64 and one feature of the
/// frame at 0.50 s of the first video (inside its first word) is −inf, as in MOSI's COVAREP.
/// The four files appear together or not at all; `on_replace` hears which existing files
/// they replace, before they do.
inline void write_sample_csd(
    const std::filesystem::path& dir, const raw_streams& streams,
    const std::function<void(const std::vector<std::filesystem::path>&)>& on_replace = {}) {
    namespace csd = emofuse::io::csd;
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec || !fs::is_directory(dir)) {
        throw emofuse::io_error("--write-sample-csd: cannot create the directory '" + dir.string() +
                                "'" + (ec ? ": " + ec.message() : ""));
    }
    const std::array<const char*, 4> names{"CMU_MOSI_TimestampedWordVectors.csd",
                                           "CMU_MOSI_COVAREP.csd", "CMU_MOSI_Visual_Facet_42.csd",
                                           "CMU_MOSI_Opinion_Labels.csd"};
    const auto& audio = std::get<ea::computational_sequence<float>>(streams.sequences[1]);
    ea::computational_sequence<double> wide_audio;
    wide_audio.name = audio.name;
    wide_audio.metadata = audio.metadata;
    wide_audio.feature_size = audio.feature_size;
    for (const auto& [key, entry] : audio.entries) {
        wide_audio.entries.emplace(
            key, ea::segment<double>{entry.intervals, xt::cast<double>(entry.features)});
    }
    if (!wide_audio.entries.empty() && wide_audio.entries.begin()->second.rows() > 50) {
        wide_audio.entries.begin()->second.features(50, 0) =
            -std::numeric_limits<double>::infinity();
    }
    // gzip level 1: level 9 (the SDK's) spends seconds on noise that barely compresses.
    csd::writer_options options;
    options.gzip_level = 1;
    std::vector<std::unique_ptr<csd::writer>> writers;
    std::vector<emofuse::io::detail::pending_output> outputs;
    std::vector<fs::path> replaced;
    const auto write = [&](const fs::path& path, const auto& seq) {
        auto out = std::make_unique<csd::writer>(path, seq.name, options);
        for (const auto& [key, entry] : seq.entries) {
            ea::validate_segment(seq.name, key, entry, seq.feature_size);
            out->write(key, entry);
        }
        out->close(seq.metadata);
        outputs.push_back(out->pending());
        if (fs::exists(fs::symlink_status(path, ec))) {
            replaced.push_back(path);
        }
        writers.push_back(std::move(out));
    };
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (i == 1) {
            write(dir / names[i], wide_audio);
        } else {
            std::visit([&](const auto& seq) { write(dir / names[i], seq); }, streams.sequences[i]);
        }
    }
    if (on_replace && !replaced.empty()) {
        on_replace(replaced);
    }
    emofuse::io::detail::commit_together(outputs, "--write-sample-csd");
    for (auto& w : writers) {
        w->committed();
    }
}

/// Reads the four sequences of `dir` (recipe order).
inline std::vector<ea::any_sequence> read_data_dir(const std::filesystem::path& dir) {
    std::vector<ea::any_sequence> out;
    for (const auto& file : find_data_files(dir)) {
        out.push_back(emofuse::io::csd::read_csd(file));
    }
    return out;
}

} // namespace demo
