// io::load_pth / parse_pth: torch.save zip checkpoints written by torch 1.13 (fixtures from
// tests/io/generate_pth_fixtures.py), compared with .npz files of the values torch holds, and
// hostile checkpoints that must be refused with an io_error naming the problem.
#include <emofuse/io/detail/restricted_unpickler.hpp>
#include <emofuse/io/load_state_dict.hpp>
#include <emofuse/io/npz.hpp>
#include <emofuse/io/pth.hpp>

#include "io_fixtures.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

using namespace emofuse::io;

namespace {

std::filesystem::path pth_path(std::string_view name) {
    return io_test::data_path("pth") / name;
}

/// Every tensor equals the generator's .npz, byte for byte (bfloat16 there as uint16 bits).
void check_matches_npz(const state_dict& tensors, std::string_view npz_name) {
    const auto expected = load_npz(pth_path(npz_name));
    CHECK(tensors.names() == expected.names());
    for (const auto& [name, want] : expected) {
        CAPTURE(name);
        REQUIRE(tensors.contains(name));
        const auto& got = tensors.at(name);
        CHECK(got.shape == want.shape);
        CHECK(got.bytes == want.bytes);
        if (want.type == dtype::u16 && got.type == dtype::bf16) {
            continue;
        }
        CHECK(dtype_name(got.type) == dtype_name(want.type));
    }
}

std::string pth_error(std::string_view name) {
    return io_test::message_of<emofuse::io_error>([&] { (void)load_pth(pth_path(name)); });
}

bool contains(std::string_view text, std::string_view part) {
    return text.find(part) != std::string_view::npos;
}

std::vector<std::byte> pickle_bytes(std::string_view text) {
    return io_test::to_bytes(text);
}

} // namespace

TEST_CASE("load_pth reads every storage dtype torch writes") {
    const auto tensors = load_pth(pth_path("dtypes.pth"));
    check_matches_npz(tensors, "dtypes.npz");
    CHECK(tensors.at("bfloat16").type == dtype::bf16);
    CHECK(tensors.at("float16").type == dtype::f16);
    CHECK(tensors.at("bool").type == dtype::boolean);
    CHECK(tensors.at("int8").type == dtype::i8);
    CHECK(tensors.at("uint8").type == dtype::u8);
    CHECK(tensors.tensor<std::int64_t, 1>("int64")(2) == (std::int64_t{1} << 40) + 7);
}

TEST_CASE("load_pth: views of shared storages, offsets, strides, 0-d, empty, tied weights") {
    const auto tensors = load_pth(pth_path("views.pth"));
    check_matches_npz(tensors, "views.npz");
    // base = arange(12).reshape(3, 4); the transposed view is gathered in C order.
    const auto transposed = tensors.tensor<float, 2>("transposed");
    REQUIRE(transposed.shape(0) == 4);
    CHECK(transposed(1, 0) == 1.0f);
    CHECK(transposed(0, 1) == 4.0f);
    CHECK(tensors.tensor<float, 2>("block")(1, 1) == 10.0f);
    CHECK(tensors.tensor<float, 2>("expanded")(1, 2) == 3.0f);
    CHECK(tensors.at("scalar").shape.empty());
    CHECK(tensors.tensor<float, 0>("scalar")() == 2.5f);
    CHECK(tensors.at("empty").shape == std::vector<std::size_t>{0, 3});
    CHECK(tensors.at("empty").bytes.empty());
    CHECK(tensors.at("tied_a") == tensors.at("tied_b"));
    CHECK(tensors.tensor<std::int64_t, 1>("long_view")(2) == 8);
}

TEST_CASE("load_pth: an nn.Module state dict keeps its _metadata versions") {
    const auto tensors = load_pth(pth_path("module.pth"));
    check_matches_npz(tensors, "module.npz");
    CHECK(tensors.contains("2.weight_hh_l0"));
    CHECK(tensors.at("1.num_batches_tracked").type == dtype::i64);
    const auto& metadata = tensors.metadata();
    CHECK(metadata.at("_metadata::version") == "1");
    CHECK(metadata.at("_metadata:1:version") == "2"); // BatchNorm's state-dict version
    CHECK(metadata.at("_metadata:2:version") == "1");
}

TEST_CASE("load_pth flattens a nested checkpoint with '.' joins") {
    const auto tensors = load_pth(pth_path("nested.pth"));
    check_matches_npz(tensors, "nested.npz");
    CHECK(tensors.contains("state_dict.weight"));
    CHECK(tensors.contains("optimizer.state.0.exp_avg"));
    // Non-tensor leaves are kept as metadata under their flattened names.
    const auto& metadata = tensors.metadata();
    CHECK(metadata.at("epoch") == "7");
    CHECK(metadata.at("optimizer.param_groups.0.lr") == "0.001");
    CHECK(metadata.at("optimizer.param_groups.0.betas.1") == "0.999");
    CHECK(metadata.at("optimizer.param_groups.0.amsgrad") == "False");
    CHECK(metadata.at("optimizer.param_groups.0.foreach") == "None");
    CHECK(metadata.at("_metadata:state_dict:version") == "1");
}

TEST_CASE("parse_pth reads the bytes load_pth reads") {
    for (const char* name : {"dtypes.pth", "views.pth", "nested.pth"}) {
        CAPTURE(name);
        const auto from_file = load_pth(pth_path(name));
        const auto from_memory = parse_pth(io_test::read_bytes(pth_path(name)), "memory");
        CHECK(from_memory.names() == from_file.names());
        for (const auto& [tensor_name, tensor] : from_file) {
            CHECK(from_memory.at(tensor_name) == tensor);
        }
        CHECK(from_memory.metadata() == from_file.metadata());
        CHECK(from_memory.source() == "memory");
    }
}

TEST_CASE("load_pth: byteorder member, compressed members, ZIP64, other prefixes") {
    // Big-endian storages are swapped to native order; "little" changes nothing.
    check_matches_npz(load_pth(pth_path("big_endian.pth")), "dtypes.npz");
    check_matches_npz(load_pth(pth_path("little_endian.pth")), "dtypes.npz");
    CHECK(contains(pth_error("bad_byteorder.pth"), "'dtypes/byteorder' says 'middle'"));
    // DEFLATE members go through the bounded decoder; ZIP64 local headers; "archive/" prefix.
    check_matches_npz(load_pth(pth_path("deflated.pth")), "views.npz");
    check_matches_npz(load_pth(pth_path("zip64.pth")), "views.npz");
    check_matches_npz(load_pth(pth_path("archive_prefix.pth")), "views.npz");
    CHECK(load_pth(pth_path("zip_valid.pth")).tensor<float, 1>("w")(3) == 3.0f);
}

TEST_CASE("load_state_dict recognises .pth checkpoints and still reads .npz") {
    const auto tensors = load_state_dict(pth_path("views.pth"));
    check_matches_npz(tensors, "views.npz");
    CHECK(load_state_dict(pth_path("views.npz")).names() == tensors.names());
    // A checkpoint whose members lie still reaches the .pth reader's error.
    CHECK_THROWS_WITH_AS(load_state_dict(pth_path("zip_overlap.pth")), doctest::Contains("io::pth"),
                         emofuse::io_error);
    CHECK_THROWS_WITH_AS(load_state_dict(pth_path("legacy.pth")),
                         doctest::Contains("_use_new_zipfile_serialization=True"),
                         emofuse::io_error);
}

TEST_CASE("load_pth refuses the legacy format and says how to re-save") {
    const auto message = pth_error("legacy.pth");
    CHECK(contains(message, "legacy (pre-1.6)"));
    CHECK(contains(message, "torch.save(..., _use_new_zipfile_serialization=True)"));
    CHECK(contains(message, "safetensors"));
    CHECK(contains(message, "legacy.pth"));
}

TEST_CASE("load_pth refuses hostile or unsupported pickles, naming the problem") {
    const std::pair<const char*, const char*> cases[] = {
        {"evil_os_system.pth", "byte 2: GLOBAL 'os system' is refused"},
        {"evil_builtins_eval.pth", "GLOBAL 'builtins eval' is refused"},
        {"evil_inst.pth", "pickle opcode INST (0x69) is not allowed"},
        {"evil_newobj.pth", "pickle opcode NEWOBJ (0x81) is not allowed"},
        {"evil_ext1.pth", "pickle opcode EXT1 (0x82) is not allowed"},
        {"unknown_opcode.pth", "unknown pickle opcode 0xff"},
        {"storage_call.pth", "REDUCE calls 'torch.FloatStorage'"},
        {"complex.pth", "'torch.ComplexFloatStorage' tensors cannot be held"},
        {"deep_marks.pth", "MARKs nest deeper than 1000"},
        {"deep_lists.pth", "containers nest deeper than 1000"},
        {"cyclic.pth", "'a.0' refers to a list already seen"},
        {"memo_missing.pth", "BINGET reads memo entry 5, which was never stored"},
        {"truncated_pickle.pth", "truncated data"},
        {"duplicate_names.pth", "the tensor name 'w' appears twice"},
        {"view_past_storage.pth", "reaches element 4 of storage '0', which holds 4 elements"},
        {"huge_numel.pth", "which holds 4 elements"},
        {"huge_expand.pth", "16 times the file size"},
        {"numel_lies.pth", "storage '0' declares 1000 F32 elements but its member holds 16 bytes"},
        {"missing_storage.pth", "storage '7' has no member 'archive/data/7'"},
        {"storage_retyped.pth", "storage '0' is declared twice with different dtypes"},
        {"not_a_dict.pth", "holds a list, not a dict of tensors"},
        {"no_prefix.pth", "first ZIP member 'data.pkl' is not inside a directory"},
    };
    for (const auto& [name, expected] : cases) {
        CAPTURE(name);
        const auto message = pth_error(name);
        CHECK(contains(message, expected));
        CHECK(contains(message, name)); // the file is named
    }
}

TEST_CASE("load_pth refuses ZIP archives whose headers lie") {
    const std::pair<const char*, const char*> cases[] = {
        {"zip_size_beyond_file.pth", "its 1000000000 bytes at offset"},
        {"zip_local_name.pth", "the local header names it 'archive/data/9'"},
        {"zip_local_size.pth", "the local header and the central directory disagree"},
        {"zip_bad_crc.pth", "CRC-32 mismatch"},
        {"zip_method.pth", "uses ZIP compression method 12"},
        {"zip_encrypted.pth", "member 'archive/data/0' is encrypted"},
        {"zip_duplicate.pth", "member 'archive/data/0' appears twice"},
        {"zip_overlap.pth", "members 'archive/data.pkl' and 'archive/data/0' overlap"},
    };
    for (const auto& [name, expected] : cases) {
        CAPTURE(name);
        CHECK(contains(pth_error(name), expected));
    }
}

TEST_CASE("parse_pth: every truncation of a checkpoint is an io_error") {
    const auto bytes = io_test::read_bytes(pth_path("zip_valid.pth"));
    for (std::size_t size = 0; size < bytes.size(); ++size) {
        CAPTURE(size);
        CHECK_THROWS_AS(parse_pth(std::span(bytes).first(size)), emofuse::io_error);
    }
    CHECK_THROWS_WITH_AS(parse_pth({}), doctest::Contains("not a ZIP archive"), emofuse::io_error);
}

TEST_CASE("restricted unpickler: every opcode outside the allowed set is refused by name") {
    // The opcodes a state dict pickle may use; everything else must be refused outright.
    const std::string_view allowed = "(.JKMNQRXabc}eh]jqrstu)G";
    const std::uint8_t allowed_high[] = {0x80, 0x85, 0x86, 0x87, 0x88, 0x89,
                                         0x8a, 0x8c, 0x93, 0x94, 0x95};
    for (int code = 0; code < 256; ++code) {
        const auto byte = static_cast<char>(code);
        if (allowed.find(byte) != std::string_view::npos ||
            std::find(std::begin(allowed_high), std::end(allowed_high), code) !=
                std::end(allowed_high)) {
            continue;
        }
        CAPTURE(code);
        const std::string pickle = std::string("\x80\x02", 2) + byte + "....";
        const auto message = io_test::message_of<emofuse::io_error>(
            [&] { (void)detail::restricted_unpickle(pickle_bytes(pickle), "test"); });
        const auto name = detail::pickle_opcode_name(static_cast<std::uint8_t>(code));
        if (name.empty()) {
            CHECK(contains(message, "unknown pickle opcode"));
        } else {
            CHECK(contains(message, std::string("pickle opcode ") + std::string(name)));
        }
        CHECK(contains(message, "test byte 2:"));
    }
}

TEST_CASE("restricted unpickler: stack, memo and values are capped") {
    std::string many_nones(detail::pickle_max_stack + 1, 'N');
    CHECK_THROWS_WITH_AS(detail::restricted_unpickle(pickle_bytes("\x80\x02" + many_nones), "t"),
                         doctest::Contains("the pickle stack exceeds 1000000 values"),
                         emofuse::io_error);
    std::string memo = "\x80\x02N";
    for (std::uint32_t index = 0; index <= detail::pickle_max_memo; ++index) {
        memo += 'r';
        for (int shift = 0; shift < 32; shift += 8) {
            memo += static_cast<char>((index >> shift) & 0xffu);
        }
    }
    CHECK_THROWS_WITH_AS(detail::restricted_unpickle(pickle_bytes(memo), "t"),
                         doctest::Contains("the pickle memo exceeds 1000000 entries"),
                         emofuse::io_error);
    // Values appended to a list leave the stack, but still count.
    std::string values = "\x80\x02]";
    for (int batch = 0; batch < 3; ++batch) {
        values += '(' + std::string(detail::pickle_max_stack - 1, 'N') + 'e';
    }
    CHECK_THROWS_WITH_AS(detail::restricted_unpickle(pickle_bytes(values + "."), "t"),
                         doctest::Contains("the pickle holds more than 2000000 values"),
                         emofuse::io_error);
}

TEST_CASE("restricted unpickler: integers, STOP and MARK boundaries") {
    // LONG1 of 2 bytes 0xff7f is -129; of 9 bytes is refused.
    const auto graph = detail::restricted_unpickle(pickle_bytes("\x80\x02\x8a\x02\x7f\xff."), "t");
    CHECK(graph.nodes[graph.root].integer == -129);
    CHECK_THROWS_WITH_AS(detail::restricted_unpickle(
                             pickle_bytes("\x80\x02\x8a\x09" + std::string(9, 'a') + "."), "t"),
                         doctest::Contains("does not fit 64 bits"), emofuse::io_error);
    // STOP must leave exactly one value; a TUPLE2 cannot reach below a MARK.
    CHECK_THROWS_WITH_AS(detail::restricted_unpickle(pickle_bytes("\x80\x02NN."), "t"),
                         doctest::Contains("STOP leaves 2 values"), emofuse::io_error);
    CHECK_THROWS_WITH_AS(detail::restricted_unpickle(pickle_bytes("\x80\x02NN(\x86."), "t"),
                         doctest::Contains("TUPLE2 needs a value but the stack is empty"),
                         emofuse::io_error);
    CHECK_THROWS_WITH_AS(detail::restricted_unpickle(pickle_bytes("\x80\x01N."), "t"),
                         doctest::Contains("pickle protocol 1"), emofuse::io_error);
}

TEST_CASE("crc32 (slicing by 8) equals the bitwise definition at every length and alignment") {
    std::vector<std::byte> bytes(67);
    for (std::size_t index = 0; index < bytes.size(); ++index) {
        bytes[index] = static_cast<std::byte>((index * 151 + 7) & 0xffu);
    }
    for (std::size_t start = 0; start < 8; ++start) {
        for (std::size_t length = 0; start + length <= bytes.size(); ++length) {
            std::uint32_t expected = 0xffffffffu;
            for (std::size_t index = start; index < start + length; ++index) {
                expected ^= static_cast<std::uint32_t>(bytes[index]);
                for (int bit = 0; bit < 8; ++bit) {
                    expected = (expected & 1u) != 0 ? 0xedb88320u ^ (expected >> 1) : expected >> 1;
                }
            }
            CAPTURE(start);
            CAPTURE(length);
            CHECK(detail::crc32(std::span(bytes).subspan(start, length)) ==
                  (expected ^ 0xffffffffu));
        }
    }
}
