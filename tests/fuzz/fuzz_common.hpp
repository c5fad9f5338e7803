// tests/fuzz/fuzz_common.hpp — shared checks for the reader fuzz targets: a parsed tensor must
// convert without undefined behaviour, and anything a reader accepts must survive a
// write → read round trip and read identically from a file.
#pragma once

#include <emofuse/io/convert.hpp>
#include <emofuse/io/stored_tensor.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <unistd.h>

namespace fuzz {

/// Stops the fuzzer with a message when an invariant fails (libFuzzer reports the input).
inline void require(bool condition, const char* what) {
    if (!condition) {
        std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
        std::abort();
    }
}

/// Converts `tensor` to float, double, int64 and bool xtensors of its rank (ranks 0-4).
/// Conversions may legitimately refuse with io_error: float dtypes or out-of-range values to
/// integers, BOOL bytes other than 0/1.
inline void exercise_conversions(const emofuse::io::stored_tensor& tensor) {
    using namespace emofuse::io;
    const auto convert = [&]<std::size_t N>() {
        try {
            const auto as_float = to_xtensor<float, N>(tensor, "fuzz", "fuzz");
            const auto as_double = to_xtensor<double, N>(tensor, "fuzz", "fuzz");
            require(as_float.size() == tensor.size() && as_double.size() == tensor.size(),
                    "converted size equals the stored element count");
        } catch (const emofuse::io_error&) {
            require(tensor.type == dtype::boolean, "float conversion refuses only bad BOOL bytes");
        }
        try {
            (void)to_xtensor<std::int64_t, N>(tensor, "fuzz", "fuzz");
        } catch (const emofuse::io_error&) {
        }
        try {
            const auto as_bool = to_xtensor<bool, N>(tensor, "fuzz", "fuzz");
            std::size_t set = 0;
            for (bool value : as_bool) {
                set += value ? 1 : 0; // reads every bool: UBSan flags invalid bool bytes
            }
            require(set <= tensor.size(), "bool count within size");
        } catch (const emofuse::io_error&) {
        }
    };
    switch (tensor.rank()) {
    case 0:
        convert.template operator()<0>();
        break;
    case 1:
        convert.template operator()<1>();
        break;
    case 2:
        convert.template operator()<2>();
        break;
    case 3:
        convert.template operator()<3>();
        break;
    case 4:
        convert.template operator()<4>();
        break;
    default:
        break;
    }
}

inline std::filesystem::path scratch_location;

inline void remove_scratch() {
    std::error_code ignored;
    std::filesystem::remove(scratch_location, ignored);
}

/// A per-process scratch file holding the current input, for the file-reading code paths,
/// removed at exit. It lives in /dev/shm where that exists: on a disk-backed /tmp the writes
/// would dominate the run time (measured: 3-4x fewer executions per second).
inline const std::filesystem::path& write_scratch(std::span<const std::byte> bytes,
                                                  const char* suffix) {
    if (scratch_location.empty()) {
        std::error_code code;
        const std::filesystem::path directory = std::filesystem::is_directory("/dev/shm", code)
                                                    ? std::filesystem::path("/dev/shm")
                                                    : std::filesystem::temp_directory_path();
        scratch_location = directory / ("emofuse_fuzz_" + std::to_string(::getpid()) + suffix);
        std::atexit(remove_scratch);
    }
    const auto& path = scratch_location;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    out.close();
    require(static_cast<bool>(out), "scratch file written");
    return path;
}

} // namespace fuzz
