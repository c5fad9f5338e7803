// libFuzzer target: the .csd reader on arbitrary bytes (opened as an in-memory HDF5 image).
// Any emofuse::error is an accepted outcome; a crash, hang or sanitizer report is a bug.
#include <emofuse/io/csd/reader.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        const auto file = emofuse::io::csd::file_source::from_image(
            std::span<const unsigned char>(data, size), "fuzz-input");
        std::vector<double> intervals;
        std::vector<float> features;
        for (const auto& key : file->keys()) {
            intervals.clear();
            features.clear();
            file->read(key, intervals, features);
        }
    } catch (const emofuse::error&) {
    }
    return 0;
}
