// emofuse/io/detail/binary_file.hpp — checked binary file reading and writing shared by the
// tensor readers: every failure is an io_error that names the file and the operation.
#pragma once

#include <emofuse/core/error.hpp>
#include <emofuse/io/detail/temporary_files.hpp>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <system_error>
#include <vector>

namespace emofuse::io::detail {

/// A binary input file with its size known up front, so readers can validate lengths
/// before allocating anything.
class input_file {
public:
    input_file(const std::filesystem::path& path, std::string_view stage)
        : path_(path.string()), stage_(stage) {
        std::error_code code;
        if (!std::filesystem::is_regular_file(path, code)) {
            throw io_error(emofuse::detail::concat_message(
                stage_, ": cannot open '", path_,
                "': ", code ? code.message() : std::string("not a regular file")));
        }
        const auto size = std::filesystem::file_size(path, code);
        if (code) {
            throw io_error(emofuse::detail::concat_message(stage_, ": cannot stat '", path_,
                                                           "': ", code.message()));
        }
        size_ = static_cast<std::size_t>(size);
        stream_.open(path, std::ios::binary);
        if (!stream_) {
            throw io_error(
                emofuse::detail::concat_message(stage_, ": cannot open '", path_, "' for reading"));
        }
    }

    std::size_t size() const noexcept { return size_; }
    const std::string& path() const noexcept { return path_; }

    /// Reads exactly `destination.size()` bytes at the current position.
    void read(std::span<std::byte> destination) {
        if (destination.empty()) {
            return;
        }
        stream_.read(reinterpret_cast<char*>(destination.data()),
                     static_cast<std::streamsize>(destination.size()));
        if (static_cast<std::size_t>(stream_.gcount()) != destination.size()) {
            throw io_error(emofuse::detail::concat_message(
                stage_, ": '", path_, "' ended early: wanted ", destination.size(),
                " more bytes, read ", stream_.gcount(), " (was the file truncated?)"));
        }
    }

    /// Reads `length` bytes starting at byte `offset` of the file (bounds-checked first).
    std::vector<std::byte> read_at(std::size_t offset, std::size_t length) {
        if (offset > size_ || length > size_ - offset) {
            throw io_error(emofuse::detail::concat_message(
                stage_, ": '", path_, "': ", length, " bytes at offset ", offset,
                " lie outside the file of ", size_, " bytes"));
        }
        stream_.clear();
        stream_.seekg(static_cast<std::streamoff>(offset));
        std::vector<std::byte> bytes(length);
        read(bytes);
        return bytes;
    }

private:
    std::string path_;
    std::string stage_;
    std::size_t size_ = 0;
    std::ifstream stream_;
};

/// A binary output file written atomically: the bytes go to a temporary file next to the
/// target (temporary_path: its name holds this process's id, and it is registered for removal
/// on a signal, see temporary_files.hpp), which `finish()` renames over the target, so a
/// failed or interrupted save never leaves a truncated file under the target name. Several
/// outputs can be committed together instead: `close()` each, then commit_together on their
/// `pending()` names and `committed()` each. Without a commit the temporary file is removed.
class output_file {
public:
    output_file(const std::filesystem::path& path, std::string_view stage)
        : target_(path), temporary_(temporary_path(path)), stage_(stage), cleanup_(temporary_) {
        check_replaceable(target_, stage_);
        errno = 0;
        stream_.open(temporary_, std::ios::binary | std::ios::trunc);
        if (!stream_) {
            throw io_error(emofuse::detail::concat_message(
                stage_, ": cannot open '", target_.string(), "' for writing: ", reason()));
        }
    }
    output_file(const output_file&) = delete;
    output_file& operator=(const output_file&) = delete;

    ~output_file() {
        if (!committed_) {
            stream_.close();
            std::error_code ignored;
            std::filesystem::remove(temporary_, ignored);
        }
    }

    void write(std::span<const std::byte> bytes) {
        if (bytes.empty()) {
            return;
        }
        errno = 0;
        stream_.write(reinterpret_cast<const char*>(bytes.data()),
                      static_cast<std::streamsize>(bytes.size()));
        check();
    }

    /// Replaces bytes already written at `offset` (e.g. a header whose sizes are known only
    /// at the end); later writes continue at the end.
    void overwrite(std::size_t offset, std::span<const std::byte> bytes) {
        stream_.seekp(static_cast<std::streamoff>(offset));
        write(bytes);
        stream_.seekp(0, std::ios::end);
        check();
    }

    /// Flushes and closes the temporary file: its bytes are complete.
    void close() {
        if (!stream_.is_open()) {
            return;
        }
        errno = 0;
        stream_.flush();
        check();
        stream_.close();
        check();
    }

    /// The temporary file and its target, for commit_together.
    [[nodiscard]] pending_output pending() const { return {temporary_, target_}; }

    /// The temporary file was renamed onto the target: nothing is left to remove.
    void committed() noexcept {
        committed_ = true;
        cleanup_.release();
    }

    /// close(), then renames the temporary file over the target.
    void finish() {
        close();
        const pending_output output = pending();
        commit_together(std::span(&output, 1), stage_);
        committed();
    }

private:
    static std::string reason() {
        return errno != 0 ? std::string(std::strerror(errno)) : std::string("unknown reason");
    }

    void check() {
        if (!stream_) {
            throw io_error(emofuse::detail::concat_message(stage_, ": writing '", target_.string(),
                                                           "' failed: ", reason()));
        }
    }

    std::filesystem::path target_;
    std::filesystem::path temporary_;
    std::string stage_;
    cleanup_entry cleanup_;
    std::ofstream stream_;
    bool committed_ = false;
};

/// Little-endian unsigned integer of `Size` bytes.
template <class Unsigned>
Unsigned read_little_endian(const std::byte* data) noexcept {
    Unsigned value = 0;
    for (std::size_t index = 0; index < sizeof(Unsigned); ++index) {
        value |= static_cast<Unsigned>(static_cast<Unsigned>(data[index]) << (8 * index));
    }
    return value;
}

template <class Unsigned>
void append_little_endian(std::vector<std::byte>& out, Unsigned value) {
    for (std::size_t index = 0; index < sizeof(Unsigned); ++index) {
        out.push_back(static_cast<std::byte>((value >> (8 * index)) & 0xffu));
    }
}

} // namespace emofuse::io::detail
