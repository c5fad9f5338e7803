// safetensors: files written from torch tensors, round trips, and every malformed case.
#include <emofuse/io/safetensors.hpp>

#include "io_fixtures.hpp"

#include <bit>
#include <cstdint>
#include <string>
#include <vector>

using namespace emofuse::io;
using io_test::message_of;

namespace {

/// A safetensors image: length prefix (the true length unless overridden), header, data.
std::vector<std::byte> image(const std::string& header, std::size_t data_size = 0,
                             std::uint64_t length = UINT64_MAX) {
    std::vector<std::byte> bytes;
    const std::uint64_t prefix = length == UINT64_MAX ? header.size() : length;
    for (int i = 0; i < 8; ++i) {
        bytes.push_back(static_cast<std::byte>((prefix >> (8 * i)) & 0xff));
    }
    for (char c : header) {
        bytes.push_back(static_cast<std::byte>(c));
    }
    for (std::size_t i = 0; i < data_size; ++i) {
        bytes.push_back(static_cast<std::byte>(i * 37 + 1));
    }
    return bytes;
}

std::string parse_error(const std::string& header, std::size_t data_size = 0) {
    return message_of<emofuse::io_error>(
        [&] { (void)parse_safetensors(image(header, data_size), "bad.safetensors"); });
}

/// Checks every tensor of `tensors` against the fixture description.
void check_against_expected(const state_dict& tensors, const nlohmann::json& expected) {
    CHECK(tensors.size() == expected.size());
    for (const auto& item : expected.items()) {
        const std::string& name = item.key(); // (clang 14: no bindings in INFO's lambda)
        INFO("tensor " << name);
        REQUIRE(tensors.contains(name));
        io_test::check_tensor(tensors.at(name), item.value());
    }
}

} // namespace

TEST_CASE("load_safetensors reads a torch module's state_dict") {
    const auto path = io_test::data_path("model.safetensors");
    const auto tensors = load_safetensors(path);
    CHECK(tensors.source() == path.string());
    CHECK(tensors.names() == std::vector<std::string>{"0.bias", "0.weight", "1.bias", "1.weight",
                                                      "2.bias", "2.weight"});
    CHECK(tensors.metadata() == std::map<std::string, std::string>{{"format", "pt"}});
    check_against_expected(tensors, io_test::expected()["safetensors"]["model"]);
    CHECK(tensors.tensor<float, 2>("0.weight", {3, 4}).shape()[1] == 4);
    CHECK(tensors.tensor<double, 1>("2.bias", {2}).size() == 2);
}

TEST_CASE("load_safetensors reads every dtype torch writes, f16/bf16 specials exactly") {
    const auto tensors = load_safetensors(io_test::data_path("mixed.safetensors"));
    check_against_expected(tensors, io_test::expected()["safetensors"]["mixed"]);
    CHECK(tensors.metadata().at("note") == "all dtypes");
    CHECK(tensors.at("float.scalar").shape.empty());
    CHECK(tensors.tensor<float, 0>("float.scalar")() == -7.5f);
    CHECK(tensors.tensor<float, 2>("float.empty", {0, 4}).size() == 0);
    CHECK(tensors.tensor<bool, 2>("bool.mask")(2, 1));
}

TEST_CASE("parse_safetensors agrees with load_safetensors") {
    for (const char* name : {"model.safetensors", "mixed.safetensors", "empty.safetensors"}) {
        const auto path = io_test::data_path(name);
        const auto from_file = load_safetensors(path);
        const auto from_memory = parse_safetensors(io_test::read_bytes(path));
        CHECK(from_memory.source() == "<memory>");
        CHECK(from_memory.names() == from_file.names());
        for (const auto& tensor_name : from_file.names()) {
            CHECK(from_memory.at(tensor_name) == from_file.at(tensor_name));
        }
        CHECK(from_memory.metadata() == from_file.metadata());
    }
    CHECK(load_safetensors(io_test::data_path("empty.safetensors")).empty());
}

TEST_CASE("save_safetensors round-trips every dtype and the metadata") {
    const auto original = load_safetensors(io_test::data_path("mixed.safetensors"));
    io_test::scratch_file file(".safetensors");
    save_safetensors(file.path(), original, {{"extra", "yes"}, {"note", "overridden"}});
    const auto reloaded = load_safetensors(file.path());
    CHECK(reloaded.names() == original.names());
    for (const auto& name : original.names()) {
        CHECK(reloaded.at(name) == original.at(name));
    }
    CHECK(reloaded.metadata().at("extra") == "yes");
    CHECK(reloaded.metadata().at("note") == "overridden");
    CHECK(reloaded.metadata().at("producer") == original.metadata().at("producer"));

    // The header is padded to 8 bytes and every tensor is aligned to its element size.
    const auto bytes = io_test::read_bytes(file.path());
    const auto header_length = detail::read_little_endian<std::uint64_t>(bytes.data());
    CHECK(header_length % 8 == 0);
    const auto header = nlohmann::json::parse(
        std::string(reinterpret_cast<const char*>(bytes.data() + 8), header_length));
    for (const auto& [name, info] : header.items()) {
        if (name != "__metadata__") {
            const auto begin = info["data_offsets"][0].get<std::size_t>();
            CHECK(begin % dtype_size(*dtype_from_name(info["dtype"].get<std::string>())) == 0);
        }
    }
    CHECK(serialize_safetensors(original, {{"extra", "yes"}, {"note", "overridden"}}) == bytes);
}

TEST_CASE("save_safetensors writes xtensor values that load back exactly") {
    state_dict tensors;
    xt::xtensor<double, 3> values({2, 1, 3});
    for (std::size_t i = 0; i < values.size(); ++i) {
        values.data()[i] = 1.0 / static_cast<double>(i + 1);
    }
    tensors.insert("block.0.weight", values);
    tensors.insert("block.0.mask", xt::xtensor<bool, 1>({true, false}));
    tensors.insert("", stored_tensor{dtype::f32, {0}, {}}); // empty names are legal
    const auto reloaded = parse_safetensors(serialize_safetensors(tensors));
    CHECK(reloaded.tensor<double, 3>("block.0.weight") == values);
    CHECK(reloaded.tensor<bool, 1>("block.0.mask")(0));
    CHECK(reloaded.contains(""));
    CHECK(reloaded.metadata().empty());

    state_dict reserved;
    reserved.insert("__metadata__", xt::xtensor<float, 1>({1.0f}));
    CHECK_THROWS_AS(serialize_safetensors(reserved), emofuse::value_error);
}

TEST_CASE("save_safetensors is atomic: a failed save leaves nothing, a save replaces") {
    io_test::scratch_file file(".safetensors");
    const auto leftovers = [&] {
        std::size_t count = 0;
        for (const auto& entry : std::filesystem::directory_iterator(file.path().parent_path())) {
            count += entry.path().filename().string().starts_with(file.path().filename().string())
                         ? 1
                         : 0;
        }
        return count;
    };
    state_dict reserved;
    reserved.insert("__metadata__", xt::xtensor<float, 1>({1.0f}));
    CHECK_THROWS_AS(save_safetensors(file.path(), reserved), emofuse::value_error);
    CHECK_FALSE(std::filesystem::exists(file.path()));
    CHECK(leftovers() == 0);

    file.write(io_test::to_bytes("an older, different file"));
    state_dict tensors;
    tensors.insert("w", xt::xtensor<float, 1>({1.0f, 2.0f}));
    save_safetensors(file.path(), tensors);
    CHECK(load_safetensors(file.path()).tensor<float, 1>("w")(1) == 2.0f);
    CHECK(leftovers() == 1);
}

TEST_CASE("safetensors: zero-size tensors may share an offset") {
    const auto tensors =
        parse_safetensors(image(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},)"
                                R"("b":{"dtype":"F32","shape":[2,0],"data_offsets":[0,0]},)"
                                R"("c":{"dtype":"U8","shape":[3],"data_offsets":[0,3]}})",
                                3));
    CHECK(tensors.size() == 3);
    CHECK(tensors.at("c").bytes.size() == 3);
    // Trailing spaces pad the header, as the reference writer does.
    CHECK(parse_safetensors(image("{}      ")).empty());
}

TEST_CASE("safetensors: too short, absurd or truncated header lengths") {
    CHECK(message_of<emofuse::io_error>([] { (void)parse_safetensors({}); }).find("too short") !=
          std::string::npos);
    const auto seven = image("{}");
    CHECK_THROWS_AS(parse_safetensors(std::span(seven).first(7)), emofuse::io_error);
    const auto absurd = message_of<emofuse::io_error>(
        [] { (void)parse_safetensors(image("{}", 0, std::uint64_t{1} << 63), "x.st"); });
    CHECK(absurd.find("exceeds the limit") != std::string::npos);
    CHECK(absurd.find("x.st") != std::string::npos);
    const auto longer = message_of<emofuse::io_error>(
        [] { (void)parse_safetensors(image("{}", 0, 1000), "x.st"); });
    CHECK(longer.find("header length 1000") != std::string::npos);
    CHECK(longer.find("truncated") != std::string::npos);
    // A header length just under the limit but past the end of the file.
    CHECK_THROWS_AS(parse_safetensors(image("{}", 0, safetensors_max_header_size)),
                    emofuse::io_error);
}

TEST_CASE("safetensors: the header must be a JSON object") {
    CHECK(parse_error("[]").find("must start with '{'") != std::string::npos);
    CHECK(parse_error(" {}").find("must start with '{'") != std::string::npos);
    CHECK(parse_error("").find("must start with '{'") != std::string::npos);
    CHECK(parse_error(R"({"a":)").find("not valid JSON") != std::string::npos);
    CHECK(parse_error("{} {}").find("not valid JSON") != std::string::npos);
    CHECK(parse_error(std::string("{}\0", 3)).find("NUL byte at offset 2") != std::string::npos);
    CHECK(parse_error(std::string("{}\0 {\"junk\": 1}", 15)).find("NUL byte") != std::string::npos);
    CHECK(parse_error("{\"\xff\":1}").find("not valid JSON") != std::string::npos);
    CHECK(parse_error(R"({"a":[[[[1]]]]})").find("nests deeper") != std::string::npos);
    CHECK(parse_error(std::string(100000, '{')).find("bad.safetensors") != std::string::npos);
}

TEST_CASE("safetensors: tensor entries are checked field by field") {
    const auto entry = [](const std::string& fields) { return R"({"w":{)" + fields + "}}"; };
    CHECK(parse_error(R"({"w":3})").find("expected an object") != std::string::npos);
    CHECK(parse_error(entry(R"("dtype":"F32","shape":[1])")).find("missing key 'data_offsets'") !=
          std::string::npos);
    CHECK(parse_error(entry(R"("dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1)"), 4)
              .find("unexpected key 'x'") != std::string::npos);
    const auto unknown =
        parse_error(entry(R"("dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1])"), 1);
    CHECK(unknown.find("unsupported dtype 'F8_E4M3'") != std::string::npos);
    CHECK(unknown.find("'w'") != std::string::npos);
    CHECK(parse_error(entry(R"("dtype":4,"shape":[1],"data_offsets":[0,4])"), 4)
              .find("dtype must be a string") != std::string::npos);
    CHECK(parse_error(entry(R"("dtype":"F32","shape":7,"data_offsets":[0,4])"), 4)
              .find("shape must be an array") != std::string::npos);
    CHECK(parse_error(entry(R"("dtype":"F32","shape":[-1],"data_offsets":[0,4])"), 4)
              .find("non-negative integer") != std::string::npos);
    CHECK(parse_error(entry(R"("dtype":"F32","shape":[1.0],"data_offsets":[0,4])"), 4)
              .find("non-negative integer") != std::string::npos);
    CHECK(parse_error(entry(R"("dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,4])"),
                      4)
              .find("non-negative integer") != std::string::npos);
    CHECK(parse_error(
              entry(R"("dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,4])"), 4)
              .find("overflows") != std::string::npos);
    CHECK(parse_error(entry(R"("dtype":"F32","shape":[1],"data_offsets":[0])"), 4)
              .find("must be [begin, end]") != std::string::npos);
    CHECK(parse_error(entry(R"("dtype":"F32","shape":[1],"data_offsets":{"b":0})"), 4)
              .find("must be [begin, end]") != std::string::npos);
    CHECK(parse_error(entry(R"("dtype":"F32","shape":[1],"data_offsets":[4,0])"), 4)
              .find("end before they begin") != std::string::npos);
    CHECK(parse_error(entry(R"("dtype":"F32","shape":[1],"data_offsets":[0,8])"), 4)
              .find("reach past the data buffer of 4 bytes") != std::string::npos);
    const auto size = parse_error(entry(R"("dtype":"F32","shape":[2],"data_offsets":[0,4])"), 4);
    CHECK(size.find("needs 8 bytes") != std::string::npos);
    CHECK(size.find("hold 4") != std::string::npos);
    CHECK(parse_error(R"({"w":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 4)
              .find("key 'dtype' appears twice") != std::string::npos);
}

TEST_CASE("safetensors: tensors must tile the data buffer exactly") {
    const std::string a = R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
    const auto overlap =
        parse_error("{" + a + R"(,"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12);
    CHECK(overlap.find("overlaps") != std::string::npos);
    CHECK(overlap.find("'a'") != std::string::npos);
    CHECK(overlap.find("'b'") != std::string::npos);
    const auto same =
        parse_error("{" + a + R"(,"b":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}})", 8);
    CHECK(same.find("overlaps") != std::string::npos);
    const auto hole =
        parse_error("{" + a + R"(,"b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}})", 16);
    CHECK(hole.find("bytes [8, 12)") != std::string::npos);
    CHECK(hole.find("holes") != std::string::npos);
    const auto leading = parse_error(R"({"b":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})", 2);
    CHECK(leading.find("bytes [0, 1)") != std::string::npos);
    const auto trailing = parse_error("{" + a + "}", 12);
    CHECK(trailing.find("has 12 bytes but the tensors cover only the first 8") !=
          std::string::npos);
    CHECK(parse_error("{}", 1).find("trailing") != std::string::npos);
}

TEST_CASE("safetensors: duplicate names and malformed metadata") {
    const std::string a = R"("a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]})";
    CHECK(parse_error("{" + a + "," + a + "}", 1).find("key 'a' appears twice") !=
          std::string::npos);
    CHECK(parse_error(R"({"__metadata__":[]})").find("__metadata__ must be an object") !=
          std::string::npos);
    CHECK(parse_error(R"({"__metadata__":{"k":1}})").find("value of 'k' must be a string") !=
          std::string::npos);
    CHECK(parse_error(R"({"__metadata__":{"k":"a","k":"b"}})").find("appears twice") !=
          std::string::npos);
}

TEST_CASE("safetensors: every truncation of a valid file is an io_error") {
    const auto bytes = io_test::read_bytes(io_test::data_path("model.safetensors"));
    for (std::size_t length = 0; length < bytes.size(); ++length) {
        INFO("truncated to " << length << " of " << bytes.size() << " bytes");
        CHECK_THROWS_AS(parse_safetensors(std::span(bytes).first(length)), emofuse::io_error);
    }
    io_test::scratch_file file(".safetensors");
    for (std::size_t length : {std::size_t{0}, std::size_t{5}, std::size_t{8}, std::size_t{20},
                               bytes.size() / 2, bytes.size() - 1}) {
        file.write(std::vector<std::byte>(bytes.begin(), bytes.begin() + length));
        const auto message =
            message_of<emofuse::io_error>([&] { (void)load_safetensors(file.path()); });
        CHECK(message.find(file.path().string()) != std::string::npos);
    }
}

TEST_CASE("load_safetensors: missing files and directories") {
    const auto missing = message_of<emofuse::io_error>(
        [] { (void)load_safetensors("/nonexistent/emofuse/model.safetensors"); });
    CHECK(missing.find("/nonexistent/emofuse/model.safetensors") != std::string::npos);
    CHECK_THROWS_AS(load_safetensors(io_test::data_path("")), emofuse::io_error);
    CHECK_THROWS_AS(save_safetensors("/nonexistent/emofuse/out.safetensors", state_dict()),
                    emofuse::io_error);
}
