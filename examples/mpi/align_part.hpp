// examples/mpi/align_part.hpp — one rank's share of an emofuse-mpi-align run: the aligned
// entries of its videos, in video order, as a "part" file that rank 0 reads back and hands
// to the writers exactly as the single-process run hands them its own videos.
//
// Layout (integers u64 little-endian; values in the machine's own float layout, as every
// rank of one run runs the same build): the magic line, the source count, per source its
// value size (4 or 8) and feature size; per video 'V', the video id, and per source its
// aligned feature size (collapse functions change it), its entry count and per entry the
// key, the row count, the intervals (rows × 2 float64) and the features (rows × aligned
// feature size); then 'E' and the shard's counts (videos, skipped reference rows, per
// source segments and imputed keys).
#pragma once

#include <emofuse/align/aligned_rows.hpp>
#include <emofuse/align/interval_align.hpp>
#include <emofuse/align/sequence_source.hpp>
#include <emofuse/core/checked_size.hpp>
#include <emofuse/core/error.hpp>
#include <emofuse/io/detail/binary_file.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace emofuse::cli::mpi {

inline constexpr std::string_view align_part_magic = "emofuse-mpi-align part 1\n";

/// Writes a part atomically: under a temporary name until finish() renames it into place.
class align_part_writer {
public:
    align_part_writer(const std::filesystem::path& path,
                      std::span<const align::sequence_source* const> sources)
        : file_(path, "emofuse-mpi-align: part"), sources_(sources.size()) {
        append_text(align_part_magic);
        append_u64(sources.size());
        for (const auto* source : sources) {
            append_u64(source->type() == align::feature_type::float32 ? 4 : 8);
            append_u64(source->feature_size());
        }
        flush();
    }

    /// One video's aligned entries, one aligned_rows per source (input order).
    void add(std::string_view video, const align::aligned_chunk& chunk) {
        if (chunk.size() != sources_) {
            throw value_error("emofuse-mpi-align: part: a video of " +
                              std::to_string(chunk.size()) + " sequences, expected " +
                              std::to_string(sources_));
        }
        append_text("V");
        append_string(video);
        for (const auto& any_rows : chunk) {
            std::visit(
                [&](const auto& rows) {
                    append_u64(rows.feature_size);
                    append_u64(rows.entries());
                    for (std::size_t e = 0; e < rows.entries(); ++e) {
                        append_string(rows.keys[e]);
                        append_u64(rows.rows(e));
                        append_values(std::span(rows.intervals_of(e), 2 * rows.rows(e)));
                        append_values(
                            std::span(rows.features_of(e), rows.rows(e) * rows.feature_size));
                    }
                },
                any_rows);
        }
        flush();
    }

    /// The shard's counts, then the file is renamed into place.
    void finish(const align::align_report& report) {
        append_text("E");
        append_u64(report.videos);
        append_u64(report.skipped_reference_rows);
        for (std::size_t s = 0; s < sources_; ++s) {
            append_u64(report.segments.at(s));
            append_u64(report.imputed.at(s));
        }
        flush();
        file_.finish();
    }

private:
    void append_u64(std::size_t value) {
        io::detail::append_little_endian<std::uint64_t>(buffer_, value);
    }
    void append_text(std::string_view text) {
        const auto bytes = std::as_bytes(std::span(text.data(), text.size()));
        buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
    }
    void append_string(std::string_view text) {
        append_u64(text.size());
        append_text(text);
    }
    template <class T>
    void append_values(std::span<const T> values) {
        const auto bytes = std::as_bytes(values);
        buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
    }
    void flush() {
        file_.write(buffer_);
        buffer_.clear();
    }

    io::detail::output_file file_;
    std::size_t sources_;
    std::vector<std::byte> buffer_;
};

/// Reads the part at `path`, checks that it holds `sources`' sequences, and calls
/// `sink(video, chunk)` for each of its videos in order; `on_video` after each. Adds the
/// part's counts to `report`. Throws io_error naming the part when it is cut short or was
/// written for other inputs.
class align_part_reader {
public:
    align_part_reader(std::filesystem::path path,
                      std::span<const align::sequence_source* const> sources)
        : path_(std::move(path)), stream_(path_, std::ios::binary), sources_(sources) {
        if (!stream_) {
            fail("cannot open it");
        }
        std::error_code code;
        size_ = static_cast<std::size_t>(std::filesystem::file_size(path_, code));
        if (code) {
            fail("cannot size it: " + code.message());
        }
        std::string magic(align_part_magic.size(), '\0');
        read_bytes(magic.data(), magic.size());
        if (magic != align_part_magic) {
            fail("not an emofuse-mpi-align part");
        }
        if (read_u64() != sources.size()) {
            fail("written for another number of inputs");
        }
        for (const auto* source : sources) {
            const std::size_t value_size = read_u64();
            const std::size_t feature_size = read_u64();
            const bool float32 = source->type() == align::feature_type::float32;
            if (value_size != (float32 ? 4 : 8) || feature_size != source->feature_size()) {
                fail("written for other inputs (" + source->label() + " differs)");
            }
        }
    }

    void replay(const align::align_sink& sink,
                const std::function<void(std::string_view video)>& on_video,
                align::align_report& report) {
        align::aligned_chunk chunk;
        std::string video;
        for (;;) {
            char tag = 0;
            read_bytes(&tag, 1);
            if (tag == 'E') {
                break;
            }
            if (tag != 'V') {
                fail("a record of unknown kind");
            }
            video = read_string();
            read_chunk(chunk);
            sink(video, chunk);
            on_video(video);
        }
        report.videos += read_u64();
        report.skipped_reference_rows += read_u64();
        for (std::size_t s = 0; s < sources_.size(); ++s) {
            report.segments.at(s) += read_u64();
            report.imputed.at(s) += read_u64();
        }
        if (remaining() != 0) {
            fail("bytes after its end");
        }
    }

private:
    [[noreturn]] void fail(const std::string& why) const {
        throw io_error("emofuse-mpi-align: part '" + path_.string() + "': " + why);
    }

    void read_bytes(void* out, std::size_t size) {
        if (size > remaining() ||
            !stream_.read(static_cast<char*>(out), static_cast<std::streamsize>(size))) {
            fail("cut short");
        }
        consumed_ += size;
    }
    std::size_t read_u64() {
        std::array<std::byte, 8> bytes{};
        read_bytes(bytes.data(), bytes.size());
        return static_cast<std::size_t>(
            io::detail::read_little_endian<std::uint64_t>(bytes.data()));
    }
    std::string read_string() {
        const std::size_t size = read_u64();
        if (size > remaining()) {
            fail("cut short");
        }
        std::string text(size, '\0');
        read_bytes(text.data(), size);
        return text;
    }
    // Bytes left in the file: no count read from it may ask for more.
    [[nodiscard]] std::size_t remaining() const { return size_ - consumed_; }

    void read_chunk(align::aligned_chunk& chunk) {
        chunk.clear();
        for (const auto* source : sources_) {
            if (source->type() == align::feature_type::float32) {
                chunk.emplace_back(align::aligned_rows<float>{});
            } else {
                chunk.emplace_back(align::aligned_rows<double>{});
            }
            std::visit(
                [&](auto& rows) {
                    using T = typename std::decay_t<decltype(rows)>::value_type;
                    rows.feature_size = read_u64();
                    const std::size_t entries = read_u64();
                    for (std::size_t e = 0; e < entries; ++e) {
                        const std::string key = read_string();
                        const std::size_t count = read_u64();
                        // Sizes checked against what the file holds before allocating.
                        const std::size_t interval_bytes = checked_byte_count(
                            "emofuse-mpi-align: part intervals", {count, 2}, sizeof(double));
                        const std::size_t feature_bytes =
                            checked_byte_count("emofuse-mpi-align: part features",
                                               {count, rows.feature_size}, sizeof(T));
                        if (interval_bytes > remaining() ||
                            feature_bytes > remaining() - interval_bytes) {
                            fail("cut short");
                        }
                        double* intervals = nullptr;
                        T* features = rows.append(key, count, &intervals);
                        read_bytes(intervals, interval_bytes);
                        read_bytes(features, feature_bytes);
                    }
                },
                chunk.back());
        }
    }

    std::filesystem::path path_;
    std::ifstream stream_;
    std::span<const align::sequence_source* const> sources_;
    std::size_t size_ = 0;
    std::size_t consumed_ = 0;
};

} // namespace emofuse::cli::mpi
