// io::load_pkl / parse_pkl / load_pkl_split: pickles written by Python's pickle with NumPy at
// protocols 2-5 (fixtures from tests/io/generate_pkl_fixtures.py), compared with an .npz of the
// values NumPy holds, and hostile pickles that must be refused with an io_error naming the
// problem.
#include <emofuse/io/npz.hpp>
#include <emofuse/io/pkl.hpp>

#include "io_fixtures.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

using namespace emofuse::io;

namespace {

std::filesystem::path pkl_path(std::string_view name) {
    return io_test::data_path("pkl") / name;
}

bool contains(std::string_view text, std::string_view part) {
    return text.find(part) != std::string_view::npos;
}

std::string pkl_error(std::string_view name) {
    return io_test::message_of<emofuse::io_error>([&] { (void)load_pkl(pkl_path(name)); });
}

/// The io_error of parsing a string literal's bytes (NULs included).
template <std::size_t N>
std::string bytes_error(const char (&literal)[N]) {
    const auto bytes = io_test::to_bytes(std::string_view(literal, N - 1));
    return io_test::message_of<emofuse::io_error>([&] { (void)parse_pkl(bytes, "t.pkl"); });
}

const pickled_value& at(const pickled_value& dict, std::string_view key) {
    const auto* found = dict.find(key);
    REQUIRE_MESSAGE(found != nullptr, key);
    return *found;
}

} // namespace

TEST_CASE("load_pkl reads NumPy arrays pickled at every protocol") {
    const auto expected = load_npz(pkl_path("values.expected.npz"));
    for (const std::string file :
         {"values_p2.pkl", "values_p3.pkl", "values_p4.pkl", "values_p5.pkl"}) {
        CAPTURE(file);
        const auto value = load_pkl(pkl_path(file));
        REQUIRE(value.kind == pickled_kind::dict);
        const auto split = to_pkl_split(value, file);
        for (const auto& [name, want] : expected) {
            CAPTURE(name);
            // Lists of numbers are arrays only in a split; everything else is one as it is.
            CHECK(split.arrays.at(name) == want);
            if (name.ends_with("_list")) {
                CHECK(at(value, name).kind == pickled_kind::list);
                continue;
            }
            const auto& got = at(value, name);
            REQUIRE(got.kind == pickled_kind::array);
            CHECK(dtype_name(got.array.type) == dtype_name(want.type));
            CHECK(got.array.shape == want.shape);
            CHECK(got.array.bytes == want.bytes);
        }
        CHECK(at(value, "zero_d").array.shape.empty());
        CHECK(at(value, "scalar_i8").array.shape.empty());

        const auto& unicode = at(value, "unicode");
        REQUIRE(unicode.kind == pickled_kind::strings);
        CHECK(unicode.strings == std::vector<std::string>{"happy", "", "Ünïcödé ☺", "😀x"});
        CHECK(unicode.shape == std::vector<std::size_t>{4});
        CHECK(at(value, "unicode_be").strings == std::vector<std::string>{"ab", "c"});
        CHECK(at(value, "unicode_2d").strings == std::vector<std::string>{"a", "bb", "ccc", "d"});
        CHECK(at(value, "unicode_2d").shape == std::vector<std::size_t>{2, 2});
        CHECK(at(value, "object_str").strings ==
              std::vector<std::string>{"video_1$_$0", "clip two", "ü"});

        const auto& plain = at(value, "plain");
        CHECK(at(plain, "none").kind == pickled_kind::none);
        CHECK(at(plain, "true").kind == pickled_kind::boolean);
        CHECK(at(plain, "true").integer == 1);
        CHECK(at(plain, "false").integer == 0);
        CHECK(at(plain, "int").integer == 42);
        CHECK(at(plain, "negative").integer == -123456789012);
        CHECK(at(plain, "float").real == -0.375);
        CHECK(at(plain, "str").text == "text ☺");
        CHECK(at(plain, "bytes").kind == pickled_kind::bytes);
        CHECK(at(plain, "bytes").text == std::string("\x00\x01\xff", 3));
        const auto& list = at(plain, "list");
        REQUIRE(list.kind == pickled_kind::list);
        REQUIRE(list.items.size() == 4);
        CHECK(list.items[1].real == 2.5);
        CHECK(list.items[2].text == "three");
        CHECK(list.items[3].kind == pickled_kind::none);
        const auto& tuple = at(plain, "tuple");
        REQUIRE(tuple.kind == pickled_kind::tuple);
        CHECK(tuple.items[1].items[1].integer == 3);
        CHECK(at(plain, "7").text == "int key");
    }
}

TEST_CASE("load_pkl copies out only the value at the key path") {
    const std::string keys[] = {"plain", "list"};
    const auto list = load_pkl(pkl_path("values_p4.pkl"), keys);
    CHECK(list.kind == pickled_kind::list);
    CHECK(list.items.size() == 4);
    const std::string missing[] = {"plain", "nope"};
    const auto message = io_test::message_of<emofuse::io_error>(
        [&] { (void)load_pkl(pkl_path("values_p4.pkl"), missing); });
    CHECK(contains(message, "values_p4.pkl: no key 'nope' in 'plain' (it holds 'none', 'true'"));
    const std::string through_list[] = {"plain", "list", "0"};
    CHECK(contains(io_test::message_of<emofuse::io_error>(
                       [&] { (void)load_pkl(pkl_path("values_p4.pkl"), through_list); }),
                   "'plain/list' holds a list, not a dict with key '0'"));
}

TEST_CASE("load_pkl_split reads a split of an MMSA feature file") {
    const auto inputs =
        load_npz(io_test::data_path("../../models/data") / "tfn_mosi_regression.inputs.npz");
    for (const std::string file : {"mmsa_mini_p2.pkl", "mmsa_mini_p4.pkl", "mmsa_mini_p5.pkl"}) {
        CAPTURE(file);
        const auto split = load_pkl_split(pkl_path(file), "test");
        for (const char* name : {"text", "audio", "vision", "audio_lengths", "vision_lengths"}) {
            CAPTURE(name);
            REQUIRE(split.arrays.contains(name));
            CHECK(split.arrays.at(name).shape == inputs.at(name).shape);
            CHECK(split.arrays.at(name).bytes == inputs.at(name).bytes);
            CHECK(split.arrays.at(name).type == inputs.at(name).type);
        }
        for (const char* name :
             {"text_bert", "regression_labels", "classification_labels", "regression_labels_T"}) {
            CHECK(split.arrays.contains(name));
        }
        CHECK(split.arrays.at("regression_labels").shape == std::vector<std::size_t>{4});
        REQUIRE(split.strings.contains("id"));
        CHECK(split.strings.at("id") == std::vector<std::string>{"video300$_$0", "video300$_$1",
                                                                 "video300$_$2", "video300$_$3"});
        CHECK(split.strings.at("raw_text").front() == "utterance 300 ☺");
        CHECK(load_pkl_split(pkl_path(file), "train").arrays.at("text").shape ==
              std::vector<std::size_t>{6, 7, 16});
    }
    const auto message = io_test::message_of<emofuse::io_error>(
        [] { (void)load_pkl_split(pkl_path("mmsa_mini_p4.pkl"), "tset"); });
    CHECK(contains(message, "no key 'tset' in the top-level dict (it holds 'train', 'valid', "
                            "'test')"));
}

TEST_CASE("load_pkl refuses hostile pickles by name") {
    const std::pair<const char*, const char*> cases[] = {
        {"hostile_os_system.pkl", "byte 2: GLOBAL 'os system' is refused: a pickle of arrays "
                                  "may name only numpy's"},
        {"hostile_builtins_eval.pkl", "STACK_GLOBAL 'builtins eval' is refused"},
        {"hostile_torch_global.pkl", "GLOBAL 'torch._utils _rebuild_tensor_v2' is refused"},
        {"hostile_inst.pkl", "pickle opcode INST (0x69) is not allowed in a pickle of arrays"},
        {"hostile_huge_shape.pkl", "a numpy array of 4611686018427387904 elements of 4 bytes "
                                   "comes with 16 data bytes"},
        {"hostile_huge_bytes.pkl", "the pickle ends inside an opcode (truncated data)"},
        {"hostile_deep_marks.pkl", "MARKs nest deeper than 1000"},
        {"hostile_deep_lists.pkl", "containers nest deeper than 1000"},
        {"hostile_cycle.pkl", "refers to a list already seen (shared or cyclic"},
        {"hostile_object_int.pkl", "the object array 'id' holds a int at index 0 (object arrays "
                                   "are read only when they hold str)"},
        {"hostile_complex.pkl", "numpy dtype 'c8' is not read"},
        {"hostile_structured.pkl", "numpy dtype 'V4' is not read"},
        {"hostile_set.pkl", "pickle opcode EMPTY_SET (0x8f) is not allowed"},
        {"hostile_protocol0.pkl", "pickle opcode DICT (0x64) is not allowed"},
    };
    for (const auto& [file, part] : cases) {
        CAPTURE(std::string(file));
        const auto message = pkl_error(file);
        CAPTURE(message);
        CHECK(contains(message, "io::pkl: "));
        CHECK(contains(message, file));
        CHECK(contains(message, part));
    }
}

TEST_CASE("parse_pkl: hand-made pickles reach each check") {
    // A numpy.dtype REDUCE with a BUILD state naming fields (a structured dtype).
    CHECK(contains(
        bytes_error("\x80\x02"
                    "cnumpy\ndtype\nX\x02\x00\x00\x00"
                    "f4\x89\x88\x87R"
                    "(K\x03X\x01\x00\x00\x00<N)NJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb."),
        "structured or sub-array numpy dtypes are not read"));
    // _reconstruct with something other than numpy.ndarray.
    CHECK(contains(bytes_error("\x80\x02"
                               "cnumpy.core.multiarray\n_reconstruct\n"
                               "cnumpy\ndtype\nK\x00\x85X\x01\x00\x00\x00"
                               "b\x87R."),
                   "_reconstruct(numpy.ndarray, shape, typecode)"));
    // An array never given its state.
    CHECK(contains(bytes_error("\x80\x02"
                               "cnumpy.core.multiarray\n_reconstruct\n"
                               "cnumpy\nndarray\nK\x00\x85X\x01\x00\x00\x00"
                               "b\x87R."),
                   "is never given its contents"));
    // _codecs.encode with another encoding, and with a character beyond U+00FF.
    CHECK(contains(bytes_error("\x80\x02"
                               "c_codecs\nencode\nX\x01\x00\x00\x00"
                               "a"
                               "X\x04\x00\x00\x00utf8\x86R."),
                   "encode(str, 'latin1')"));
    CHECK(contains(bytes_error("\x80\x02"
                               "c_codecs\nencode\nX\x03\x00\x00\x00\xe2\x98\xba"
                               "X\x06\x00\x00\x00latin1\x86R."),
                   "beyond U+00FF"));
    // Calling numpy.ndarray itself.
    CHECK(contains(bytes_error("\x80\x02"
                               "cnumpy\nndarray\n)R."),
                   "REDUCE calls numpy.ndarray"));
    // NEXT_BUFFER (out-of-band protocol 5 buffers) is not in the file.
    CHECK(contains(bytes_error("\x80\x05\x97."), "NEXT_BUFFER (0x97) is not allowed"));
    CHECK(contains(bytes_error("\x80\x06."), "pickle protocol 6 is not read (emofuse reads 2-5)"));
    CHECK(contains(bytes_error(""), "the pickle is empty"));
    CHECK(contains(bytes_error("PK\x03\x04rest"), "t.pkl is a ZIP archive (.npz or a torch.save "
                                                  "checkpoint), not a pickle"));
    CHECK(contains(bytes_error("\x93NUMPY\x01"), "t.pkl is a .npy file, not a pickle"));
    // A 'U0' array of 2**40 empty strings has no data bytes; the output bound stops it.
    CHECK(contains(bytes_error("\x80\x04\x8c\x15numpy.core.multiarray\x8c\x0c_reconstruct\x93"
                               "\x8c\x05numpy\x8c\x07ndarray\x93K\x00\x85"
                               "C\x01"
                               "b\x87R(K\x01\x8a\x06\x00\x00\x00\x00\x00\x01\x85\x8c\x05numpy"
                               "\x8c\x05"
                               "dtype\x93\x8c\x02U0\x89\x88\x87R\x89"
                               "C\x00tb."),
                   "would take the output beyond"));
    // NumPy 2 names the module numpy._core: same arrays.
    auto bytes = io_test::read_bytes(pkl_path("values_p2.pkl"));
    std::string text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    for (std::size_t at = 0; (at = text.find("numpy.core.", at)) != std::string::npos;) {
        text.replace(at, 11, "numpy._core.");
    }
    const auto renamed = parse_pkl(io_test::to_bytes(text), "numpy2.pkl");
    CHECK(at(renamed, "fortran_f4").array ==
          load_pkl(pkl_path("values_p2.pkl")).find("fortran_f4")->array);
}

TEST_CASE("parse_pkl: every truncation of a small pickle is an io_error") {
    for (const char* file : {"values_p2.pkl", "values_p5.pkl"}) {
        const auto bytes = io_test::read_bytes(pkl_path(file));
        for (std::size_t size = 0; size < bytes.size(); ++size) {
            CAPTURE(size);
            const std::span<const std::byte> part(bytes.data(), size);
            CHECK_THROWS_AS((void)parse_pkl(part, file), emofuse::io_error);
        }
    }
}

TEST_CASE("load_pth still refuses NumPy globals and byte strings") {
    const auto pickle = io_test::read_bytes(pkl_path("values_p4.pkl"));
    const auto message = io_test::message_of<emofuse::io_error>(
        [&] { (void)detail::restricted_unpickle(pickle, "data.pkl"); });
    CHECK(contains(message, "a state dict may name only collections.OrderedDict"));
}
