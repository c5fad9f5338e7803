// emofuse/io/load_state_dict.hpp — one entry point for weights in any supported container:
// safetensors, .npz, PyTorch .pth (zip format), a single .npy, or a directory of .npy files,
// recognised by content.
#pragma once

#include <emofuse/core/error.hpp>
#include <emofuse/io/detail/binary_file.hpp>
#include <emofuse/io/npy.hpp>
#include <emofuse/io/npz.hpp>
#include <emofuse/io/pth.hpp>
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
///  - "PK\x03\x04" / "PK\x05\x06" (ZIP): load_pth when the first member's directory holds
///    data.pkl (what torch.save writes), load_npz otherwise;
///  - an 8-byte length followed by '{': load_safetensors;
///  - the start of a legacy (pre-1.6) torch.save pickle: load_pth, whose error says how to
///    re-save it.
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
        return detail::is_pth_archive(path) ? load_pth(path) : load_npz(path);
    }
    if (available == head.size() && head[8] == std::byte{'{'}) {
        return load_safetensors(path);
    }
    if (detail::is_legacy_torch_file(std::span(head).first(available))) {
        return load_pth(path);
    }
    throw io_error(emofuse::detail::concat_message(
        "io::load_state_dict: '", path.string(),
        "' is not a safetensors, .npz, .pth or .npy file (nor a directory of .npy files)"));
}

} // namespace emofuse::io
