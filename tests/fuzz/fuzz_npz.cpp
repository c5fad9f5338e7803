// libFuzzer target for the .npz reader: parse_npz must either throw io_error or return tensors
// that convert cleanly, and load_npz must agree with it on the same bytes on disk.
#include <emofuse/io/npz.hpp>

#include "fuzz_common.hpp"

#include <cstddef>
#include <cstdint>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace emofuse::io;
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
    bool parsed = false;
    state_dict tensors;
    try {
        tensors = parse_npz(bytes, "fuzz");
        parsed = true;
    } catch (const emofuse::io_error&) {
    }

    const auto& path = fuzz::write_scratch(bytes, ".npz");
    try {
        const auto from_file = load_npz(path);
        fuzz::require(parsed, "load_npz accepts only what parse_npz accepts");
        fuzz::require(from_file.names() == tensors.names(), "file and memory names agree");
        for (const auto& [name, tensor] : from_file) {
            fuzz::require(tensor == tensors.at(name), "file and memory tensors agree");
        }
    } catch (const emofuse::io_error&) {
        fuzz::require(!parsed, "load_npz rejects only what parse_npz rejects");
    }
    for (const auto& [name, tensor] : tensors) {
        fuzz::exercise_conversions(tensor);
    }
    return 0;
}
