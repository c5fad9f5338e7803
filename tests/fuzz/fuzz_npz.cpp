// libFuzzer target for the .npz reader: parse_npz must either throw io_error or return tensors
// that convert cleanly, and load_npz must agree with it on the same bytes on disk. Each input
// is also decoded as a raw DEFLATE stream, and, when zlib is available, compared with zlib:
// same acceptance, same output.
#include <emofuse/io/npz.hpp>

#include "fuzz_common.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#if EMOFUSE_FUZZ_HAVE_ZLIB
#include <zlib.h>
#endif

namespace {

void check_inflate(std::span<const std::byte> bytes) {
    using emofuse::io::detail::inflate;
    constexpr std::size_t cap = std::size_t{1} << 16; // larger outputs are skipped
#if EMOFUSE_FUZZ_HAVE_ZLIB
    std::vector<unsigned char> expected(cap);
    z_stream stream{};
    fuzz::require(inflateInit2(&stream, -15) == Z_OK, "zlib initialises");
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(bytes.data()));
    stream.avail_in = static_cast<uInt>(bytes.size());
    stream.next_out = expected.data();
    stream.avail_out = static_cast<uInt>(cap);
    const int result = ::inflate(&stream, Z_FINISH);
    const std::size_t produced = cap - stream.avail_out;
    const bool input_exhausted = stream.avail_in == 0;
    inflateEnd(&stream);
    if (result == Z_STREAM_END) {
        const auto ours = inflate(bytes, produced, "fuzz"); // must not throw
        fuzz::require(ours.size() == produced &&
                          std::equal(ours.begin(), ours.end(),
                                     reinterpret_cast<const std::byte*>(expected.data())),
                      "inflate output equals zlib's");
        return;
    }
    if (result == Z_DATA_ERROR || (result == Z_BUF_ERROR && input_exhausted && produced < cap)) {
        try {
            (void)inflate(bytes, cap, "fuzz");
            fuzz::require(false, "inflate rejects what zlib rejects");
        } catch (const emofuse::io_error&) {
        }
    }
#else
    try {
        (void)inflate(bytes, cap, "fuzz");
    } catch (const emofuse::io_error&) {
    }
#endif
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace emofuse::io;
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
    check_inflate(bytes);
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
