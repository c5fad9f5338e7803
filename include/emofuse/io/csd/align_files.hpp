// emofuse/io/csd/align_files.hpp — aligns .csd files into a directory (what `emofuse-align`
// runs): one video in memory at a time, every output written to a temporary file, and all of
// them renamed into place together only when the whole run succeeded.
#pragma once

#include "emofuse/align/interval_align.hpp"
#include "emofuse/align/tensors.hpp"
#include "emofuse/core/checked_size.hpp"
#include "emofuse/core/error.hpp"
#include "emofuse/io/csd/detail/hdf5_lock.hpp"
#include "emofuse/io/csd/reader.hpp"
#include "emofuse/io/csd/writer.hpp"
#include "emofuse/io/detail/binary_file.hpp"
#include "emofuse/io/detail/temporary_files.hpp"
#include "emofuse/io/npy.hpp"

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <system_error>
#include <variant>
#include <vector>

namespace emofuse::io::csd {

struct align_files_options {
    /// `align.reference` may name a sequence (root group) or a file stem.
    align::align_options align;
    /// When set, also writes `<stem>.npy` (samples, seq_len, features) per input and
    /// `tensor_keys.txt` (one segment key per sample), for the keys present in every
    /// aligned sequence (the SDK's hard_unify + get_tensors).
    std::optional<align::tensor_options> tensors;
    writer_options writer;
    /// Called with the outputs that will replace existing files (when there are any), just
    /// before the outputs are renamed into place (emofuse-align prints a notice).
    std::function<void(const std::vector<std::filesystem::path>&)> on_replace;
    /// Where the aligned videos come from: empty runs align::align_stream(sources, align,
    /// sink); emofuse-mpi-align's rank 0 hands over the videos its ranks aligned instead. The
    /// outputs are the calls to `sink`, in order; the returned report is the run's.
    std::function<align::align_report(std::span<const align::sequence_source* const> sources,
                                      const align::align_options& align,
                                      const align::align_sink& sink)>
        videos;
};

struct align_files_result {
    align::align_report report;
    std::vector<std::filesystem::path> written;
    /// The outputs that replaced an existing file of the same name.
    std::vector<std::filesystem::path> replaced;
    std::size_t tensor_samples = 0;
};

namespace detail {

// A .npy file (samples, seq_len, dim) whose sample count grows as samples are appended. It
// is written atomically (io::detail::output_file); the header reserves room for any count
// and is rewritten with the final one on finish().
class growing_npy {
public:
    growing_npy(const std::filesystem::path& path, dtype type, std::size_t seq_len, std::size_t dim)
        : file_(path, "align_files: tensors"), type_(type), seq_len_(seq_len), dim_(dim) {
        const auto first = header(0);
        header_size_ = first.size();
        file_.write(first);
    }

    // One sample: seq_len × dim values of the file's type.
    void append(std::span<const std::byte> sample) {
        file_.write(sample);
        ++samples_;
    }

    // Rewrites the header with the final count and closes the file (commit_together renames).
    void close() {
        file_.overwrite(0, header(samples_));
        file_.close();
    }

    io::detail::output_file& file() { return file_; }

private:
    // 128 bytes hold the header for any sample count, so it is rewritten in place.
    std::vector<std::byte> header(std::size_t samples) const {
        auto bytes = io::detail::npy_preamble_bytes(type_, {samples, seq_len_, dim_}, 128);
        if (header_size_ != 0 && bytes.size() != header_size_) {
            throw io_error("align_files: tensors: the .npy header outgrew its reserved room");
        }
        return bytes;
    }

    io::detail::output_file file_;
    dtype type_;
    std::size_t seq_len_;
    std::size_t dim_;
    std::size_t header_size_ = 0;
    std::size_t samples_ = 0;
};

} // namespace detail

/// The inputs of a run, opened: one file_source per path (input order) and the run's
/// alignment options with the reference resolved to a sequence name.
struct opened_inputs {
    std::vector<std::unique_ptr<file_source>> files;
    std::vector<const align::sequence_source*> sources;
    align::align_options align;
};

/// Opens `inputs` and checks them as align_files does: distinct file names (and stems, when
/// `tensors`), and `align.reference` naming a sequence (root group) or a file stem.
inline opened_inputs open_inputs(const std::vector<std::filesystem::path>& inputs,
                                 const align::align_options& align, bool tensors) {
    if (inputs.empty()) {
        throw value_error("align_files: inputs: expected at least one .csd file, got none");
    }
    opened_inputs opened;
    auto& files = opened.files;
    std::set<std::string> names;
    std::set<std::string> stems;
    for (const auto& path : inputs) {
        if (!names.insert(path.filename().string()).second) {
            throw value_error("align_files: two inputs share the file name '" +
                              path.filename().string() + "' (outputs would collide)");
        }
        if (tensors && !stems.insert(path.stem().string()).second) {
            throw value_error("align_files: two inputs share the stem '" + path.stem().string() +
                              "' (their .npy tensors would collide)");
        }
        files.push_back(std::make_unique<file_source>(path));
        opened.sources.push_back(files.back().get());
    }
    align::align_options& align_options = opened.align;
    align_options = align;
    const bool is_root = std::any_of(files.begin(), files.end(), [&](const auto& f) {
        return f->name() == align_options.reference;
    });
    if (!is_root) {
        for (const auto& f : files) {
            if (f->path().stem().string() == align_options.reference) {
                align_options.reference = f->name();
            }
        }
    }
    if (std::none_of(files.begin(), files.end(),
                     [&](const auto& f) { return f->name() == align_options.reference; })) {
        std::string known;
        for (const auto& f : files) {
            known += (known.empty() ? "'" : ", '") + f->name() + "' (" +
                     f->path().filename().string() + ")";
        }
        throw value_error("align_files: reference: expected a sequence or file stem among " +
                          known + ", got " + printable(align.reference, '\''));
    }
    return opened;
}

/// Aligns the sequences in `inputs` and writes each under its file name in `out_dir`.
/// Throws emofuse::error (io_error for bad files) and leaves no output file behind then.
inline align_files_result align_files(const std::vector<std::filesystem::path>& inputs,
                                      const std::filesystem::path& out_dir,
                                      const align_files_options& options) {
    namespace fs = std::filesystem;
    const opened_inputs opened = open_inputs(inputs, options.align, options.tensors.has_value());
    const auto& files = opened.files;
    const auto& sources = opened.sources;
    const align::align_options& align_options = opened.align;
    std::error_code ec;
    fs::create_directories(out_dir, ec);
    if (ec || !fs::is_directory(out_dir)) {
        throw io_error("align_files: output directory '" + out_dir.string() + "': cannot create" +
                       (ec ? ": " + ec.message() : std::string(" (a file has that name)")));
    }
    std::vector<std::unique_ptr<writer>> writers;
    std::vector<std::unique_ptr<detail::growing_npy>> tensors;
    for (const auto& f : files) {
        const fs::path target = out_dir / f->path().filename();
        if (fs::exists(target) && fs::equivalent(target, f->path())) {
            throw value_error("align_files: output '" + target.string() +
                              "' is the input file itself; choose another --out directory");
        }
        writers.push_back(std::make_unique<writer>(target, f->name(), options.writer));
        if (options.tensors) {
            const std::size_t width =
                align::aligned_feature_size(align_options.collapse, f->feature_size());
            tensors.push_back(std::make_unique<detail::growing_npy>(
                out_dir / (f->path().stem().string() + ".npy"),
                f->type() == align::feature_type::float32 ? dtype::f32 : dtype::f64,
                options.tensors->seq_len, width));
        }
    }
    std::string key_list;
    align_files_result result;
    std::vector<char> buffer;
    const align::align_sink sink = [&](std::string_view, align::aligned_chunk& chunk) {
        for (std::size_t s = 0; s < chunk.size(); ++s) {
            std::visit(
                [&](const auto& rows) {
                    for (std::size_t e = 0; e < rows.entries(); ++e) {
                        writers[s]->write(rows.keys[e], rows.intervals_of(e), rows.features_of(e),
                                          rows.rows(e), rows.feature_size);
                    }
                },
                chunk[s]);
            writers[s]->flush();
        }
        {
            // Readers of the next videos may be in libhdf5 on other threads meanwhile.
            const detail::hdf5_lock hdf5;
            H5garbage_collect(); // hand HDF5's free-list memory back after each video
        }
        if (!options.tensors) {
            return;
        }
        for (const auto& entry : align::common_entries(chunk)) {
            std::visit(
                [&](const auto& rows) {
                    const std::string& key = rows.keys[entry[0]];
                    if (key.find_first_of("\n\r") != std::string::npos) {
                        throw value_error("align_files: tensor keys: segment key " +
                                          printable(key, '"') +
                                          " holds a line break, but tensor_keys.txt has one "
                                          "key per line; rename the entry or drop --tensors");
                    }
                    key_list += key + "\n";
                },
                chunk[0]);
            ++result.tensor_samples;
            for (std::size_t s = 0; s < chunk.size(); ++s) {
                std::visit(
                    [&](const auto& rows) {
                        using T = typename std::decay_t<decltype(rows)>::value_type;
                        buffer.resize(emofuse::checked_byte_count(
                            "align_files: tensor sample (seq_len, features)",
                            {options.tensors->seq_len, rows.feature_size}, sizeof(T)));
                        T* sample = reinterpret_cast<T*>(buffer.data());
                        align::pad_truncate(rows.features_of(entry[s]), rows.rows(entry[s]),
                                            rows.feature_size, *options.tensors, sample);
                        tensors[s]->append(std::as_bytes(
                            std::span(sample, options.tensors->seq_len * rows.feature_size)));
                    },
                    chunk[s]);
            }
        }
    };
    result.report = options.videos ? options.videos(sources, align_options, sink)
                                   : align::align_stream(sources, align_options, sink);
    // Everything is written: close each output, then rename all of them into place together.
    std::optional<io::detail::output_file> keys;
    if (options.tensors) {
        keys.emplace(out_dir / "tensor_keys.txt", "align_files: tensor keys");
        keys->write(std::as_bytes(std::span(key_list.data(), key_list.size())));
        keys->close();
        for (auto& tensor : tensors) {
            tensor->close();
        }
    }
    for (std::size_t s = 0; s < files.size(); ++s) {
        writers[s]->close(files[s]->metadata());
    }
    std::vector<io::detail::pending_output> outputs;
    for (const auto& w : writers) {
        outputs.push_back(w->pending());
    }
    for (const auto& tensor : tensors) {
        outputs.push_back(tensor->file().pending());
    }
    if (keys) {
        outputs.push_back(keys->pending());
    }
    for (const auto& output : outputs) {
        if (fs::exists(fs::symlink_status(output.target, ec))) {
            result.replaced.push_back(output.target);
        }
    }
    if (options.on_replace && !result.replaced.empty()) {
        options.on_replace(result.replaced);
    }
    io::detail::commit_together(outputs, "align_files");
    for (auto& w : writers) {
        w->committed();
        result.written.push_back(w->path());
    }
    for (auto& tensor : tensors) {
        tensor->file().committed();
    }
    if (keys) {
        keys->committed();
    }
    return result;
}

} // namespace emofuse::io::csd
