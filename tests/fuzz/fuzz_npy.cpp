// libFuzzer target for the .npy reader: parse_npy must either throw io_error or return a
// tensor that converts cleanly, re-serialises to an image that parses back identically, and
// matches what load_npy_file reads from the same bytes on disk.
#include <emofuse/io/npy.hpp>

#include "fuzz_common.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace emofuse::io;
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
    std::optional<stored_tensor> tensor;
    try {
        tensor = parse_npy(bytes, "fuzz");
    } catch (const emofuse::io_error&) {
    }

    const auto& path = fuzz::write_scratch(bytes, ".npy");
    try {
        const auto from_file = load_npy_file(path);
        fuzz::require(tensor.has_value(), "load_npy_file accepts only what parse_npy accepts");
        fuzz::require(from_file == *tensor, "file and memory tensors agree");
    } catch (const emofuse::io_error&) {
        fuzz::require(!tensor, "load_npy_file rejects only what parse_npy rejects");
    }
    if (!tensor) {
        return 0;
    }

    fuzz::exercise_conversions(*tensor);
    // The reader returns C-order little-endian data, so writing it back and reading again
    // must give the same tensor whatever byte order and memory order the input used.
    const auto again = parse_npy(serialize_npy(*tensor));
    fuzz::require(again == *tensor, "round trip keeps the tensor");
    return 0;
}
