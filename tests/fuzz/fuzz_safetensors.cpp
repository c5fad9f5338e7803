// libFuzzer target for the safetensors reader: parse_safetensors must either throw io_error or
// return tensors that convert cleanly, re-serialise to an image that parses back identically,
// and match what load_safetensors reads from the same bytes on disk.
#include <emofuse/io/safetensors.hpp>

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
        tensors = parse_safetensors(bytes, "fuzz");
        parsed = true;
    } catch (const emofuse::io_error&) {
    }

    // The file reader takes a different path (header first, then tensor by tensor): it must
    // agree with the in-memory parser on acceptance and on content.
    const auto& path = fuzz::write_scratch(bytes, ".safetensors");
    try {
        const auto from_file = load_safetensors(path);
        fuzz::require(parsed, "load_safetensors accepts only what parse_safetensors accepts");
        fuzz::require(from_file.names() == tensors.names(), "file and memory names agree");
        for (const auto& [name, tensor] : from_file) {
            fuzz::require(tensor == tensors.at(name), "file and memory tensors agree");
        }
        fuzz::require(from_file.metadata() == tensors.metadata(), "metadata agree");
    } catch (const emofuse::io_error&) {
        fuzz::require(!parsed, "load_safetensors rejects only what parse_safetensors rejects");
    }
    if (!parsed) {
        return 0;
    }

    for (const auto& [name, tensor] : tensors) {
        fuzz::exercise_conversions(tensor);
    }
    try {
        const auto again = parse_safetensors(serialize_safetensors(tensors));
        fuzz::require(again.names() == tensors.names(), "round trip keeps the names");
        for (const auto& [name, tensor] : tensors) {
            fuzz::require(again.at(name) == tensor, "round trip keeps every tensor");
        }
        fuzz::require(again.metadata() == tensors.metadata(), "round trip keeps the metadata");
    } catch (const emofuse::value_error&) {
        // Only a tensor named "__metadata__" cannot be written, and the reader never yields one.
        fuzz::require(false, "a parsed state_dict is always writable");
    }
    return 0;
}
