// .npy: files written by numpy (every dtype, byte order, Fortran order, versions 1-3),
// round trips, and hostile headers.
#include <emofuse/io/npy.hpp>

#include "io_fixtures.hpp"

#include <bit>
#include <cstdint>
#include <string>
#include <vector>

using namespace emofuse::io;
using emofuse::dynamic;
using io_test::message_of;

namespace {

/// A version 1.0 .npy image with the given header text and data bytes.
std::vector<std::byte> npy_image(const std::string& header, std::size_t data_size = 0,
                                 int major = 1) {
    std::string bytes = "\x93NUMPY";
    bytes.push_back(static_cast<char>(major));
    bytes.push_back('\0');
    const std::size_t length = header.size();
    bytes.push_back(static_cast<char>(length & 0xff));
    bytes.push_back(static_cast<char>((length >> 8) & 0xff));
    if (major != 1) {
        bytes.push_back(static_cast<char>((length >> 16) & 0xff));
        bytes.push_back(static_cast<char>((length >> 24) & 0xff));
    }
    bytes += header;
    bytes.append(data_size, '\x01');
    return io_test::to_bytes(bytes);
}

std::string header_error(const std::string& header, std::size_t data_size = 0) {
    return message_of<emofuse::io_error>(
        [&] { (void)parse_npy(npy_image(header, data_size), "bad.npy"); });
}

std::string dict(const std::string& descr, const std::string& shape,
                 const std::string& order = "False") {
    return "{'descr': '" + descr + "', 'fortran_order': " + order + ", 'shape': " + shape + ", }\n";
}

} // namespace

TEST_CASE("load_npy_file reads every fixture numpy wrote, bit for bit") {
    const auto& fixtures = io_test::expected()["npy"];
    REQUIRE(fixtures.size() >= 20);
    for (const auto& item : fixtures.items()) {
        const std::string& name = item.key(); // (clang 14: no bindings in INFO's lambda)
        const auto& entry = item.value();
        INFO("fixture " << name << ".npy");
        const auto path = io_test::data_path(name + ".npy");
        const auto tensor = load_npy_file(path);
        io_test::check_tensor(tensor, entry);
        CHECK(parse_npy(io_test::read_bytes(path)) == tensor);
    }
}

TEST_CASE("load_npy_file: big-endian data is byte-swapped, Fortran order is transposed") {
    // be_i8 holds [1, -2, 2^40 + 3] as big-endian int64.
    const auto swapped = load_npy<std::int64_t, 1>(io_test::data_path("be_i8.npy"));
    CHECK(swapped(0) == 1);
    CHECK(swapped(1) == -2);
    CHECK(swapped(2) == (std::int64_t{1} << 40) + 3);
    // fortran_f4_2x3x4 is arange(24).reshape(2, 3, 4) * 0.5 stored column-major.
    const auto transposed = load_npy<float, 3>(io_test::data_path("fortran_f4_2x3x4.npy"));
    for (std::size_t i = 0; i < 2; ++i) {
        for (std::size_t j = 0; j < 3; ++j) {
            for (std::size_t k = 0; k < 4; ++k) {
                CHECK(transposed(i, j, k) == 0.5f * static_cast<float>(i * 12 + j * 4 + k));
            }
        }
    }
    const auto small = load_npy<int, 2>(io_test::data_path("fortran_i2_3x2.npy"));
    CHECK(small(2, 1) == 2);
    CHECK(small(0, 1) == -2);
}

TEST_CASE_TEMPLATE("load_npy converts dtypes and checks the shape", T, float, double) {
    const auto values = load_npy<T, 2>(io_test::data_path("f4_2x3.npy"), {2, dynamic});
    CHECK(values.shape()[1] == 3);
    const auto halves = load_npy<T, 1>(io_test::data_path("f2_special.npy"));
    CHECK(halves(2) == T(0x1p-24));
    CHECK(halves(7) == T(65504));
    CHECK(load_npy<T, 0>(io_test::data_path("scalar_f8.npy"))() == T(3.25));
    CHECK(load_npy<T, 2>(io_test::data_path("empty_f4_0x3.npy"), {0, 3}).size() == 0);

    const auto rank = message_of<emofuse::shape_error>(
        [] { (void)load_npy<T, 3>(io_test::data_path("f4_2x3.npy")); });
    CHECK(rank.find("f4_2x3.npy") != std::string::npos);
    CHECK(rank.find("expected rank 3") != std::string::npos);
    CHECK_THROWS_AS((load_npy<T, 2>(io_test::data_path("f4_2x3.npy"), {3, 2})),
                    emofuse::shape_error);
}

TEST_CASE_TEMPLATE("save_npy round-trips through load_npy", T, float, double, std::int32_t,
                   std::uint8_t, bool) {
    xt::xtensor<T, 3> values({2, 3, 2});
    for (std::size_t i = 0; i < values.size(); ++i) {
        values.data()[i] = static_cast<T>(i % 3 == 0);
    }
    io_test::scratch_file file(".npy");
    save_npy(file.path(), values);
    CHECK(load_npy<T, 3>(file.path()) == values);
    const auto bytes = io_test::read_bytes(file.path());
    // numpy.save pads the header so the data starts at a multiple of 64 bytes.
    CHECK((bytes.size() - values.size() * sizeof(T)) % 64 == 0);
    CHECK(serialize_npy(to_stored(values)) == bytes);
}

TEST_CASE("save_npy writes f16 and rejects bf16") {
    const auto halves = load_npy_file(io_test::data_path("f2_special.npy"));
    io_test::scratch_file file(".npy");
    save_npy(file.path(), halves);
    CHECK(load_npy_file(file.path()) == halves);
    // numpy's own file and ours differ at most in header padding text: same data bytes.
    CHECK(io_test::read_bytes(file.path()) ==
          io_test::read_bytes(io_test::data_path("f2_special.npy")));
    stored_tensor bfloat{dtype::bf16, {1}, std::vector<std::byte>(2)};
    CHECK_THROWS_AS(serialize_npy(bfloat), emofuse::value_error);
    CHECK_THROWS_AS(save_npy("/nonexistent/emofuse/x.npy", halves), emofuse::io_error);
}

TEST_CASE("npy: versions 2.0 and 3.0 and lenient but valid header spellings") {
    CHECK(load_npy<float, 2>(io_test::data_path("v2_f4_2x2.npy"))(0, 0) == 1.5f);
    CHECK(load_npy<float, 2>(io_test::data_path("v3_f4_2x2.npy"))(1, 1) == 8.0f);
    const auto v2 = parse_npy(npy_image(dict("<f4", "(1,)"), 4, 2));
    CHECK(v2.shape == std::vector<std::size_t>{1});
    // Double quotes, key order, no trailing comma, Python 2 long suffix, '=' byte order.
    const auto spelled = parse_npy(
        npy_image("{\"shape\": (2L, 1), \"fortran_order\": False, \"descr\": \"=i2\"}   \n", 4));
    CHECK(spelled.shape == std::vector<std::size_t>{2, 1});
    CHECK(spelled.type == dtype::i16);
    CHECK(parse_npy(npy_image(dict("<f8", "()"), 8)).shape.empty());
    CHECK(parse_npy(npy_image(dict("|u1", "(0, 5)"), 0)).size() == 0);
    CHECK(parse_npy(npy_image(dict(">u1", "(2,)"), 2)).type == dtype::u8);
    // A Fortran-ordered 1-D array is already in C order.
    CHECK(parse_npy(npy_image(dict("<i1", "(3,)", "True"), 3)).bytes.size() == 3);
}

TEST_CASE("npy: bad magic, versions and header lengths") {
    CHECK(message_of<emofuse::io_error>([] { (void)parse_npy({}, "x.npy"); }).find("x.npy") !=
          std::string::npos);
    CHECK(message_of<emofuse::io_error>([] {
              (void)parse_npy(io_test::to_bytes("PK\x03\x04 zip"));
          }).find("magic") != std::string::npos);
    auto image = npy_image(dict("<f4", "(1,)"), 4);
    image[6] = std::byte{4};
    CHECK(message_of<emofuse::io_error>([&] { (void)parse_npy(image); }).find("version 4.0") !=
          std::string::npos);
    image[6] = std::byte{1};
    image[7] = std::byte{1};
    CHECK_THROWS_AS(parse_npy(image), emofuse::io_error);
    image[7] = std::byte{0};
    image[8] = std::byte{0xff}; // header length 0xff.. > file
    CHECK(message_of<emofuse::io_error>([&] { (void)parse_npy(image); }).find("truncated") !=
          std::string::npos);
    auto v2 = npy_image(dict("<f4", "(1,)"), 4, 2);
    v2[11] = std::byte{0x7f}; // 2 GB header length
    CHECK(message_of<emofuse::io_error>([&] { (void)parse_npy(v2); }).find("exceeds the limit") !=
          std::string::npos);
    CHECK_THROWS_AS(parse_npy(std::span(v2).first(10)), emofuse::io_error);
}

TEST_CASE("npy: hostile or unsupported header dicts are io_errors at a stated offset") {
    CHECK(header_error(dict("<c8", "(1,)"), 8).find("unsupported descr '<c8'") !=
          std::string::npos);
    CHECK(header_error(dict("|O", "(1,)"), 8).find("unsupported descr") != std::string::npos);
    CHECK(header_error(dict("<U5", "(1,)"), 20).find("unsupported descr") != std::string::npos);
    CHECK(header_error(dict("", "(1,)"), 4).find("unsupported descr") != std::string::npos);
    CHECK(header_error(dict("|f4", "(1,)"), 4).find("no byte order") != std::string::npos);
    CHECK(header_error(dict("<f4", "(1,)", "1"), 4).find("True or False") != std::string::npos);
    CHECK(header_error(dict("<f4", "(1)"), 4).find("(n,)") != std::string::npos);
    CHECK(header_error(dict("<f4", "(-1,)"), 4).find("non-negative") != std::string::npos);
    CHECK(header_error(dict("<f4", "[1]"), 4).find("expected '('") != std::string::npos);
    CHECK(header_error(dict("<f4", "(1,,)"), 4).find("non-negative") != std::string::npos);
    CHECK(header_error(dict("<f4", "(1 2)"), 4).find("expected ',' or ')'") != std::string::npos);
    CHECK(header_error(dict("<f4", "(99999999999999999999999,)"), 4).find("overflows") !=
          std::string::npos);
    CHECK(header_error(dict("<f4", "(4294967296, 4294967296, 4)"), 4).find("overflows") !=
          std::string::npos);
    std::string deep = "(";
    for (int i = 0; i < 65; ++i) {
        deep += "1, ";
    }
    CHECK(header_error(dict("<f4", deep + ")"), 4).find("more than 64") != std::string::npos);
    CHECK(header_error("{'descr': '<f4', 'shape': (1,), }", 4).find("lacks 'fortran_order'") !=
          std::string::npos);
    CHECK(header_error("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", 4)
              .find("appears twice") != std::string::npos);
    CHECK(header_error("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", 4)
              .find("unexpected key 'x'") != std::string::npos);
    CHECK(header_error("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x", 4)
              .find("after the header dict") != std::string::npos);
    CHECK(header_error("{'descr': '<f4' 'fortran_order': False}", 4).find("expected ','") !=
          std::string::npos);
    CHECK(header_error("{'descr: '<f4'}", 4).find("expected ':'") != std::string::npos);
    CHECK(header_error("{'descr': '<f\\x34'}", 4).find("escapes") != std::string::npos);
    CHECK(header_error("{'descr", 4).find("unterminated") != std::string::npos);
    CHECK(header_error("", 4).find("expected '{'") != std::string::npos);
    CHECK(header_error("{descr: 1}", 4).find("quoted string") != std::string::npos);
    CHECK(header_error(std::string("{'descr': '<f4'\0}", 17), 4).find("offset") !=
          std::string::npos);
}

TEST_CASE("npy: data size must match the shape exactly") {
    const auto truncated = header_error(dict("<f4", "(2, 3)"), 20);
    CHECK(truncated.find("needs 24 data bytes") != std::string::npos);
    CHECK(truncated.find("has 20") != std::string::npos);
    CHECK(truncated.find("(truncated)") != std::string::npos);
    CHECK(header_error(dict("<f4", "(2, 3)"), 28).find("trailing") != std::string::npos);

    const auto bytes = io_test::read_bytes(io_test::data_path("fortran_f4_2x3x4.npy"));
    for (std::size_t length = 0; length < bytes.size(); ++length) {
        INFO("truncated to " << length);
        CHECK_THROWS_AS(parse_npy(std::span(bytes).first(length)), emofuse::io_error);
    }
    io_test::scratch_file file(".npy");
    for (std::size_t length : {std::size_t{0}, std::size_t{7}, std::size_t{9}, std::size_t{11},
                               std::size_t{64}, bytes.size() - 1}) {
        file.write(std::vector<std::byte>(bytes.begin(), bytes.begin() + length));
        const auto message =
            message_of<emofuse::io_error>([&] { (void)load_npy_file(file.path()); });
        CHECK(message.find(file.path().string()) != std::string::npos);
    }
    CHECK_THROWS_AS(load_npy_file("/nonexistent/emofuse/x.npy"), emofuse::io_error);
}

TEST_CASE("load_npy_directory reads one .npy per state-dict entry by PyTorch name") {
    const auto from_npy = load_npy_directory(io_test::data_path("model_npy"));
    CHECK(from_npy.source() == io_test::data_path("model_npy").string());
    CHECK(from_npy.names() == std::vector<std::string>{"0.bias", "0.weight", "1.bias", "1.weight",
                                                       "2.bias", "2.weight"});
    // The same torch tensors as model.safetensors (checked against expected.json there).
    const auto& expected = io_test::expected()["safetensors"]["model"];
    for (const auto& name : from_npy.names()) {
        const auto& tensor = from_npy.at(name);
        CHECK(tensor.shape == expected[name]["shape"].get<std::vector<std::size_t>>());
        const auto values = to_xtensor<float, 1>(
            stored_tensor{tensor.type, {tensor.size()}, tensor.bytes}, name, "<test>");
        for (std::size_t i = 0; i < values.size(); ++i) {
            CHECK(std::bit_cast<std::uint32_t>(values(i)) ==
                  expected[name]["f32_bits"][i].get<std::uint32_t>());
        }
    }
    CHECK(from_npy.tensor<float, 2>("0.weight", {3, 4}).size() == 12);

    const auto missing = message_of<emofuse::io_error>(
        [] { (void)load_npy_directory("/nonexistent/emofuse/weights"); });
    CHECK(missing.find("/nonexistent/emofuse/weights") != std::string::npos);
    CHECK_THROWS_AS(load_npy_directory(io_test::data_path("f4_2x3.npy")), emofuse::io_error);
}
