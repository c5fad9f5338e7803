// stored_tensor ↔ xtensor conversion: dtype rules, rank/shape checks and their messages.
#include <emofuse/io/convert.hpp>

#include "io_fixtures.hpp"

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

using namespace emofuse::io;
using emofuse::dynamic;
using io_test::message_of;

namespace {

template <class Element>
stored_tensor make(dtype type, std::vector<std::size_t> shape, const std::vector<Element>& values) {
    stored_tensor tensor{type, std::move(shape),
                         std::vector<std::byte>(values.size() * sizeof(Element))};
    if (!values.empty()) {
        std::memcpy(tensor.bytes.data(), values.data(), tensor.bytes.size());
    }
    return tensor;
}

} // namespace

TEST_CASE_TEMPLATE("to_xtensor converts every float dtype exactly", T, float, double) {
    const auto half = make<std::uint16_t>(dtype::f16, {2, 2}, {0x3c00, 0xc100, 0x0001, 0x7bff});
    const auto h = to_xtensor<T, 2>(half, "half", "<test>");
    CHECK(h(0, 0) == T(1));
    CHECK(h(0, 1) == T(-2.5));
    CHECK(h(1, 0) == T(0x1p-24));
    CHECK(h(1, 1) == T(65504));

    const auto bfloat = make<std::uint16_t>(dtype::bf16, {3}, {0x3f80, 0xc020, 0x0001});
    const auto b = to_xtensor<T, 1>(bfloat, "bfloat", "<test>");
    CHECK(b(0) == T(1));
    CHECK(b(1) == T(-2.5));
    CHECK(b(2) == T(std::bit_cast<float>(std::uint32_t{0x00010000}))); // float subnormal

    const auto single = make<float>(dtype::f32, {2}, {0.1f, -3.0e38f});
    const auto s = to_xtensor<T, 1>(single, "single", "<test>");
    CHECK(s(0) == T(0.1f));
    CHECK(s(1) == T(-3.0e38f));

    const auto wide = make<double>(dtype::f64, {2}, {0.1, 1e-300});
    const auto d = to_xtensor<T, 1>(wide, "double", "<test>");
    CHECK(d(0) == T(0.1));
    CHECK(d(1) == T(1e-300)); // 0 for float (underflow), exact for double
}

TEST_CASE_TEMPLATE("to_xtensor converts integer and bool dtypes to floats", T, float, double) {
    const auto ints = make<std::int64_t>(dtype::i64, {3}, {-5, 0, 1ll << 40});
    const auto i = to_xtensor<T, 1>(ints, "ints", "<test>");
    CHECK(i(0) == T(-5));
    CHECK(i(2) == T(1ll << 40));
    const auto mask = make<std::uint8_t>(dtype::boolean, {2}, {1, 0});
    const auto m = to_xtensor<T, 1>(mask, "mask", "<test>");
    CHECK(m(0) == T(1));
    CHECK(m(1) == T(0));
}

TEST_CASE("to_xtensor to integer types checks the range and refuses floats") {
    const auto ints = make<std::int64_t>(dtype::i64, {2}, {-5, 300});
    const auto wide = to_xtensor<std::int32_t, 1>(ints, "ids", "<test>");
    CHECK(wide(1) == 300);
    const auto narrow = message_of<emofuse::io_error>(
        [&] { (void)to_xtensor<std::int8_t, 1>(ints, "ids", "model.safetensors"); });
    CHECK(narrow.find("'ids'") != std::string::npos);
    CHECK(narrow.find("model.safetensors") != std::string::npos);
    CHECK(narrow.find("300") != std::string::npos);
    CHECK_THROWS_AS((to_xtensor<std::uint32_t, 1>(ints, "ids", "<test>")), emofuse::io_error);

    const auto floats = make<float>(dtype::f32, {1}, {1.0f});
    const auto lossy = message_of<emofuse::io_error>(
        [&] { (void)to_xtensor<std::int64_t, 1>(floats, "weight", "<test>"); });
    CHECK(lossy.find("F32") != std::string::npos);

    const auto mask = make<std::uint8_t>(dtype::u8, {3}, {0, 1, 2});
    CHECK_THROWS_AS((to_xtensor<bool, 1>(mask, "mask", "<test>")), emofuse::io_error);
    const auto valid_mask = make<std::uint8_t>(dtype::boolean, {2}, {0, 1});
    CHECK(to_xtensor<bool, 1>(valid_mask, "mask", "<test>")(1));
}

TEST_CASE("BOOL elements must be 0 or 1 whatever the target type") {
    const auto bad = make<std::uint8_t>(dtype::boolean, {3}, {0, 1, 2});
    const auto message =
        message_of<emofuse::io_error>([&] { (void)to_xtensor<bool, 1>(bad, "mask", "m.npy"); });
    CHECK(message.find("BOOL element 2 is byte 2") != std::string::npos);
    CHECK(message.find("m.npy") != std::string::npos);
    CHECK_THROWS_AS((to_xtensor<float, 1>(bad, "mask", "<test>")), emofuse::io_error);
    CHECK_THROWS_AS(cast_floating(bad, dtype::f32), emofuse::io_error);
}

TEST_CASE("to_xtensor rank and extent errors name the tensor, the source and both shapes") {
    const auto tensor = make<float>(dtype::f32, {2, 3}, std::vector<float>(6, 1.0f));
    const auto rank = message_of<emofuse::shape_error>(
        [&] { (void)to_xtensor<float, 3>(tensor, "fc.weight", "head.safetensors"); });
    CHECK(rank.find("'fc.weight'") != std::string::npos);
    CHECK(rank.find("head.safetensors") != std::string::npos);
    CHECK(rank.find("expected rank 3") != std::string::npos);
    CHECK(rank.find("(2, 3)") != std::string::npos);

    const auto extent = message_of<emofuse::shape_error>([&] {
        (void)to_xtensor<float, 2>(tensor, "fc.weight", "head.safetensors", {dynamic, 4});
    });
    CHECK(extent.find("(any, 4)") != std::string::npos);
    CHECK(extent.find("(2, 3)") != std::string::npos);

    CHECK(to_xtensor<float, 2>(tensor, "fc.weight", "<test>", {2, dynamic}).shape()[1] == 3);
    CHECK(to_xtensor<float, 2>(tensor, "fc.weight", "<test>", {2, 3}).size() == 6);
}

TEST_CASE("to_xtensor handles rank 0 and empty tensors") {
    const auto scalar = make<double>(dtype::f64, {}, {2.5});
    CHECK(to_xtensor<float, 0>(scalar, "s", "<test>")() == 2.5f);
    const auto empty = make<float>(dtype::f32, {0, 4}, {});
    const auto e = to_xtensor<double, 2>(empty, "e", "<test>", {0, 4});
    CHECK(e.size() == 0);
    CHECK(e.shape()[1] == 4);
}

TEST_CASE("to_xtensor rejects a stored tensor whose bytes do not match its shape") {
    auto broken = make<float>(dtype::f32, {2, 2}, {1, 2, 3});
    const auto message = message_of<emofuse::shape_error>(
        [&] { (void)to_xtensor<float, 2>(broken, "w", "<test>"); });
    CHECK(message.find("needs 16 bytes, got 12") != std::string::npos);
    broken.shape = {std::size_t{1} << 40, std::size_t{1} << 40};
    CHECK_THROWS_AS((to_xtensor<float, 2>(broken, "w", "<test>")), emofuse::shape_error);
}

TEST_CASE_TEMPLATE("to_stored and to_xtensor round-trip", T, float, double, std::int64_t,
                   std::uint8_t, bool) {
    xt::xtensor<T, 2> values({2, 3});
    for (std::size_t i = 0; i < values.size(); ++i) {
        values.data()[i] = static_cast<T>(i % 2);
    }
    const auto stored = to_stored(values);
    CHECK(stored.type == dtype_of<T>());
    CHECK(stored.shape == std::vector<std::size_t>{2, 3});
    CHECK(stored.bytes.size() == 6 * sizeof(T));
    CHECK(to_xtensor<T, 2>(stored, "values", "<test>") == values);
}

TEST_CASE("cast_floating narrows with round-to-nearest-even and widens exactly") {
    const auto single = make<float>(dtype::f32, {4}, {1.0f, 0.1f, 65520.0f, -0x1p-25f});
    const auto half = cast_floating(single, dtype::f16);
    CHECK(half.type == dtype::f16);
    CHECK(half.bytes.size() == 8);
    const auto back = to_xtensor<float, 1>(half, "h", "<test>");
    CHECK(back(0) == 1.0f);
    CHECK(back(1) == half_to_float(0x2e66)); // 0.0999755859375
    CHECK(std::isinf(back(2)));
    CHECK(back(3) == 0.0f);
    CHECK(std::signbit(back(3)));
    const auto bfloat = cast_floating(single, dtype::bf16);
    CHECK(to_xtensor<float, 1>(bfloat, "b", "<test>")(1) == bfloat16_to_float(0x3dcd));
    const auto wide = cast_floating(single, dtype::f64);
    CHECK(to_xtensor<double, 1>(wide, "d", "<test>")(1) == double(0.1f));
    CHECK_THROWS_AS(cast_floating(single, dtype::i32), emofuse::value_error);
}

TEST_CASE("dtype names and sizes") {
    for (dtype type :
         {dtype::f16, dtype::bf16, dtype::f32, dtype::f64, dtype::i8, dtype::i16, dtype::i32,
          dtype::i64, dtype::u8, dtype::boolean, dtype::u16, dtype::u32, dtype::u64}) {
        CHECK(dtype_from_name(dtype_name(type)) == type);
        CHECK(dtype_size(type) >= 1);
    }
    CHECK_FALSE(dtype_from_name("F8_E4M3").has_value());
    CHECK_FALSE(dtype_from_name("f32").has_value());
    CHECK(dtype_size(dtype::bf16) == 2);
    CHECK(dtype_size(dtype::boolean) == 1);
    CHECK(shape_to_string(std::vector<std::size_t>{3}) == "(3,)");
    CHECK(shape_to_string(std::vector<std::size_t>{}) == "()");
    // The io size helpers use core/checked_size.hpp's rule (one helper for every size).
    CHECK_FALSE(emofuse::try_element_count(
                    std::vector<std::size_t>{std::size_t{1} << 33, std::size_t{1} << 33, 0})
                    .has_value());
    CHECK(emofuse::try_element_count(std::vector<std::size_t>{5, 0}) == std::size_t{0});
    CHECK_FALSE(
        checked_byte_count(dtype::f64, std::vector<std::size_t>{std::size_t{1} << 61}).has_value());
    CHECK(checked_byte_count(dtype::f64, std::vector<std::size_t>{std::size_t{1} << 60}) ==
          std::size_t{1} << 63);
    CHECK_FALSE(checked_byte_count(dtype::f32, std::vector<std::size_t>{std::size_t{1} << 33,
                                                                        std::size_t{1} << 33, 0})
                    .has_value());
}
