// emofuse/io/load_state_dict.hpp — one entry point for weights in any supported container:
// safetensors, .npz, a single .npy, or a directory of .npy files, recognised by content.
#pragma once

#include <emofuse/core/error.hpp>
#include <emofuse/io/detail/binary_file.hpp>
#include <emofuse/io/npy.hpp>
#include <emofuse/io/npz.hpp>
#include <emofuse/io/safetensors.hpp>
#include <emofuse/io/state_dict.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <span>
#include <system_error>

namespace emofuse::io {

/// Reads named tensors from `path`, choosing the reader by content rather than extension:
///  - a directory: load_npy_directory (each `<name>.npy` → tensor `<name>`);
///  - "\x93NUMPY" magic: one .npy file, as a single tensor named after the file stem;
///  - "PK\x03\x04" / "PK\x05\x06" (ZIP): load_npz;
///  - an 8-byte length followed by '{': load_safetensors.
/// Anything else is an io_error naming the file and the formats tried.
inline state_dict load_state_dict(const std::filesystem::path& path) {
    std::error_code code;
    if (std::filesystem::is_directory(path, code)) {
        return load_npy_directory(path);
    }
    std::array<std::byte, 9> head{};
    std::size_t available = 0;
    {
        detail::input_file input(path, "io::load_state_dict");
        available = std::min(input.size(), head.size());
        input.read(std::span(head).first(available));
    }
    const auto starts_with = [&](std::string_view magic) {
        return available >= magic.size() &&
               std::memcmp(head.data(), magic.data(), magic.size()) == 0;
    };
    if (starts_with("\x93NUMPY")) {
        state_dict tensors(path.string());
        tensors.insert(path.stem().string(), load_npy_file(path));
        return tensors;
    }
    if (starts_with("PK\x03\x04") || starts_with("PK\x05\x06")) {
        return load_npz(path);
    }
    if (available == head.size() && head[8] == std::byte{'{'}) {
        return load_safetensors(path);
    }
    throw io_error(emofuse::detail::concat_message(
        "io::load_state_dict: '", path.string(),
        "' is not a safetensors, .npz or .npy file (nor a directory of .npy files)"));
}

} // namespace emofuse::io
