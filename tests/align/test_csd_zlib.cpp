// The bounded zlib inflation behind the .csd reader's chunk checks: the same helper counts the
// bytes of a chunk (checking it) and keeps them (the decoded-chunk read path).
#include <emofuse/io/csd/detail/zlib_stream.hpp>

#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace {

using emofuse::io::csd::detail::inflate_zlib;

// A zlib stream holding `data` in stored (uncompressed) deflate blocks, with its Adler-32.
std::vector<unsigned char> zlib_stream(const std::vector<unsigned char>& data) {
    std::vector<unsigned char> z{0x78, 0x01};
    std::size_t at = 0;
    do {
        const std::size_t n = std::min<std::size_t>(data.size() - at, 65535);
        const bool last = at + n == data.size();
        z.push_back(last ? 1 : 0);
        z.push_back(static_cast<unsigned char>(n & 0xff));
        z.push_back(static_cast<unsigned char>(n >> 8));
        z.push_back(static_cast<unsigned char>(~n & 0xff));
        z.push_back(static_cast<unsigned char>((~n >> 8) & 0xff));
        z.insert(z.end(), data.begin() + static_cast<std::ptrdiff_t>(at),
                 data.begin() + static_cast<std::ptrdiff_t>(at + n));
        at += n;
    } while (at < data.size());
    std::uint32_t a = 1, b = 0;
    for (const unsigned char c : data) {
        a = (a + c) % 65521;
        b = (b + a) % 65521;
    }
    const std::uint32_t adler = (b << 16) | a;
    for (int shift = 24; shift >= 0; shift -= 8) {
        z.push_back(static_cast<unsigned char>(adler >> shift));
    }
    return z;
}

std::vector<unsigned char> pattern(std::size_t n) {
    std::vector<unsigned char> data(n);
    for (std::size_t i = 0; i < n; ++i) {
        data[i] = static_cast<unsigned char>(i * 7 + i / 251);
    }
    return data;
}

// The message of the io_error `f` throws, or "no error".
template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const emofuse::io_error& e) {
        return e.what();
    }
    return "no error";
}

} // namespace

TEST_CASE("inflate_zlib counts or keeps a chunk's bytes, across its scratch buffer's size") {
    // 1000 bytes fit one step; 200000 take several 64 KiB steps of the counting buffer and
    // several stored blocks.
    for (const std::size_t n : {std::size_t{1000}, std::size_t{200000}}) {
        CAPTURE(n);
        const auto data = pattern(n);
        const auto z = zlib_stream(data);
        CHECK(inflate_zlib(z.data(), z.size(), nullptr, n, "chunk") == n);
        std::vector<unsigned char> out(n);
        CHECK(inflate_zlib(z.data(), z.size(), out.data(), n, "chunk") == n);
        CHECK(out == data);
    }
}

TEST_CASE("inflate_zlib refuses streams past their limit, truncated, or not zlib at all") {
    const auto data = pattern(100000);
    const auto z = zlib_stream(data);
    std::vector<unsigned char> out(data.size());
    for (unsigned char* keep : {static_cast<unsigned char*>(nullptr), out.data()}) {
        CAPTURE(keep != nullptr);
        const std::string past =
            error_of([&] { (void)inflate_zlib(z.data(), z.size(), keep, 99999, "bad chunk"); });
        CHECK(past.rfind("bad chunk (", 0) == 0);
#if defined(EMOFUSE_CSD_INFLATE_WITH_ZLIB)
        CHECK(past == "bad chunk (inflates to more than 99999 bytes)");
        const auto truncated = std::vector<unsigned char>(z.begin(), z.end() - 4);
        CHECK(error_of([&] {
                  (void)inflate_zlib(truncated.data(), truncated.size(), keep, data.size(),
                                     "bad chunk");
              }) == "bad chunk (invalid gzip data)");
        // zlib checks the Adler-32 too.
        auto wrong_sum = z;
        wrong_sum.back() ^= 1;
        CHECK(error_of([&] {
                  (void)inflate_zlib(wrong_sum.data(), wrong_sum.size(), keep, data.size(),
                                     "bad chunk");
              }) == "bad chunk (invalid gzip data)");
#endif
        const std::vector<unsigned char> not_zlib{0x1f, 0x8b, 8, 0, 0, 0, 0, 0};
        CHECK(error_of([&] {
                  (void)inflate_zlib(not_zlib.data(), not_zlib.size(), keep, 16, "bad chunk");
              }) == "bad chunk (not zlib data)");
    }
}
