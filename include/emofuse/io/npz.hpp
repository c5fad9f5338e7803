// emofuse/io/npz.hpp — reads NumPy .npz archives (numpy.savez, numpy.savez_compressed): a ZIP
// file whose members are .npy files. Each member `<name>.npy` becomes tensor `<name>`.
//
// Supported: stored members (numpy.savez) and deflate members (numpy.savez_compressed), ZIP64
// sizes and offsets (numpy always writes ZIP64 local headers), archive comments. Every
// member's CRC-32 is verified. Rejected with an io_error (the checks of io/detail/zip_archive.hpp,
// shared with the .pth and .xlsx readers): other compression methods, encrypted members,
// multi-disk archives, duplicate names, a declared size that deflate could not produce from
// the compressed size, local headers that disagree with the central directory, overlapping
// members, and any size or offset that points outside the file. Members whose name does not
// end in .npy are skipped.
#pragma once

#include <emofuse/core/error.hpp>
#include <emofuse/io/detail/binary_file.hpp>
#include <emofuse/io/detail/zip_archive.hpp>
#include <emofuse/io/npy.hpp>
#include <emofuse/io/state_dict.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace emofuse::io {

namespace detail {

/// The archive is validated whole first (io/detail/zip_archive.hpp: every size and offset,
/// local headers against the central directory, no overlapping members, unique names), then
/// the .npy members are read one at a time.
template <class ReadAt>
state_dict read_npz(ReadAt read_at, std::size_t total_size, std::string source) {
    zip_archive<ReadAt> archive(std::move(read_at), total_size, "io::npz: " + source);
    state_dict tensors(source);
    for (const auto& entry : archive.entries()) {
        const std::string_view name = entry.name;
        if (!name.ends_with(".npy")) {
            continue;
        }
        tensors.insert(std::string(name.substr(0, name.size() - 4)),
                       parse_npy(archive.read(entry), source + ":" + entry.name));
    }
    return tensors;
}

} // namespace detail

/// Parses an .npz archive held in memory. `source` names it in error messages.
inline state_dict parse_npz(std::span<const std::byte> bytes, std::string source = "<memory>") {
    auto read_at = [&](std::size_t offset, std::size_t length) {
        if (offset > bytes.size() || length > bytes.size() - offset) {
            throw io_error(emofuse::detail::concat_message("io::npz: ", source, ": ", length,
                                                           " bytes at offset ", offset,
                                                           " lie outside the archive"));
        }
        const auto part = bytes.subspan(offset, length);
        return std::vector<std::byte>(part.begin(), part.end());
    };
    return detail::read_npz(read_at, bytes.size(), source);
}

/// Reads an .npz archive (numpy.savez or savez_compressed) as a state_dict: member `<name>.npy` →
/// tensor `<name>`. Only the directory and one member at a time are held in memory besides the
/// result.
inline state_dict load_npz(const std::filesystem::path& file) {
    detail::input_file input(file, "io::load_npz");
    auto read_at = [&](std::size_t offset, std::size_t length) {
        return input.read_at(offset, length);
    };
    return detail::read_npz(read_at, input.size(), input.path());
}

} // namespace emofuse::io
