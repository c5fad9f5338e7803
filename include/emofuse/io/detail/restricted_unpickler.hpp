// emofuse/io/detail/restricted_unpickler.hpp — decodes pickles without executing anything: the
// one torch.save writes for a state dict (`data.pkl` of the zip checkpoint, dialect
// torch_state_dict) and pickled dicts of NumPy arrays such as MMSA's feature files (dialect
// numpy_data). It builds a plain value graph and understands only the opcodes and the few
// callables those need; each dialect names its own callables.
//
// Accepted opcodes: PROTO, FRAME, STOP, MARK, EMPTY_DICT/EMPTY_LIST/EMPTY_TUPLE,
// TUPLE/TUPLE1-3, SETITEM(S), APPEND(S), BINUNICODE/SHORT_BINUNICODE, BININT/BININT1/BININT2/
// LONG1 (up to 64 bits), BINFLOAT, NEWTRUE/NEWFALSE/NONE, BINPUT/LONG_BINPUT/MEMOIZE,
// BINGET/LONG_BINGET, GLOBAL/STACK_GLOBAL, REDUCE, BINPERSID and BUILD. GLOBAL may name only
// `collections.OrderedDict`, `torch._utils._rebuild_tensor_v2` and the `torch.<Type>Storage`
// classes of dtypes emofuse holds; REDUCE calls only the first two; BUILD only sets attributes
// of a dict (OrderedDict's `_metadata`); BINPERSID accepts only torch's storage ids. Every other
// opcode or global is an io_error naming it and its byte offset.
//
// The numpy_data dialect also accepts BINBYTES/SHORT_BINBYTES/BINBYTES8/BYTEARRAY8 and
// BINUNICODE8, and instead of the torch names the GLOBALs numpy.core.multiarray._reconstruct
// and .scalar, numpy.core.numeric._frombuffer (also under numpy._core, NumPy 2's name),
// numpy.ndarray, numpy.dtype, _codecs.encode and bytes (how protocol 2 writes bytes) and
// collections.OrderedDict. Calling them only records a description: an array node (dtype,
// shape, Fortran order, its data node) whose data size is checked against the shape, a dtype
// node, or bytes; the consumer copies arrays out. The stack, the MARK depth and
// the memo and the number of values are capped, and values live in one arena addressed by index, so
// shared or cyclic references cannot leak or recurse here (the consumer walks the graph with its
// own limits).
#pragma once

#include <emofuse/core/error.hpp>
#include <emofuse/io/stored_tensor.hpp>

#include <bit>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

namespace emofuse::io::detail {

inline constexpr std::size_t pickle_max_stack = 1'000'000;
inline constexpr std::size_t pickle_max_mark_depth = 1000;
inline constexpr std::size_t pickle_max_memo = 1'000'000;
// Each value takes ~200 bytes, so this bounds the decoder's memory (~400 MB) whatever the
// pickle's size; a state dict needs ~20 values per tensor.
inline constexpr std::size_t pickle_max_values = 2'000'000;
inline constexpr std::size_t pickle_max_rank = 64;

enum class pickle_kind {
    none,
    boolean,
    integer,
    real,
    string,
    tuple,
    list,
    dict,
    global,
    storage,
    tensor,
    bytes,
    numpy_dtype,
    numpy_array
};

/// Which callables GLOBAL may name: torch's for a state dict, NumPy's for pickled arrays.
enum class pickle_dialect { torch_state_dict, numpy_data };

/// The callables GLOBAL may name.
enum class pickle_callable {
    ordered_dict,
    rebuild_tensor,
    storage_type,
    codecs_encode,
    builtin_bytes,
    numpy_reconstruct,
    numpy_ndarray,
    numpy_dtype,
    numpy_frombuffer,
    numpy_scalar
};

/// What a NumPy array's elements are: numbers (of `element_type`), fixed-width UTF-32 strings
/// (dtype 'U'), or Python objects (dtype 'O', whose data is a pickled list).
enum class numpy_element { number, unicode, object };

struct pickle_node {
    pickle_kind kind = pickle_kind::none;
    std::int64_t integer = 0;       // integer, boolean (0/1)
    double real = 0;                // real
    std::string text;               // string; storage: its key; global: "module.name"
    std::vector<std::size_t> items; // tuple/list: items; dict: key, value, key, value, ...
    pickle_callable callable = pickle_callable::ordered_dict; // global
    dtype element_type = dtype::f32;       // global storage_type, storage, tensor
    std::uint64_t numel = 0;               // storage: its element count
    std::optional<std::size_t> attributes; // dict: the state BUILD gave it
    std::size_t storage = 0;               // tensor: its storage node
    std::uint64_t storage_offset = 0;      // tensor: in elements
    std::vector<std::uint64_t> shape;      // tensor
    std::vector<std::uint64_t> stride;     // tensor, in elements
    // bytes: `data_length` bytes at `data_offset` of the pickle, or (decoded) in `text`.
    bool data_in_pickle = false;
    std::size_t data_offset = 0;
    std::size_t data_length = 0;
    // numpy_dtype and numpy_array (whose `shape` is its shape and `storage` its data node: bytes
    // in C or Fortran order, or for object arrays a list).
    numpy_element element = numpy_element::number;
    std::uint64_t item_size = 0; // bytes per element
    bool big_endian = false;
    bool fortran_order = false;
    bool has_state = false; // BUILD (or the constructing call) gave it its state
};

/// The decoded graph: `nodes[root]` is the pickled object. Bytes nodes may refer into
/// `pickle`, which must outlive the graph.
struct pickle_graph {
    std::vector<pickle_node> nodes;
    std::size_t root = 0;
    std::span<const std::byte> pickle;

    std::span<const std::byte> bytes_of(const pickle_node& node) const {
        if (node.data_in_pickle) {
            return pickle.subspan(node.data_offset, node.data_length);
        }
        return std::as_bytes(std::span(node.text.data(), node.text.size()));
    }
};

/// The Python name of a value of `kind`, for messages.
constexpr std::string_view pickle_kind_name(pickle_kind kind) noexcept {
    switch (kind) {
    case pickle_kind::none:
        return "None";
    case pickle_kind::boolean:
        return "bool";
    case pickle_kind::integer:
        return "int";
    case pickle_kind::real:
        return "float";
    case pickle_kind::string:
        return "str";
    case pickle_kind::tuple:
        return "tuple";
    case pickle_kind::list:
        return "list";
    case pickle_kind::dict:
        return "dict";
    case pickle_kind::global:
        return "class or function";
    case pickle_kind::storage:
        return "bare storage";
    case pickle_kind::tensor:
        return "tensor";
    case pickle_kind::bytes:
        return "bytes";
    case pickle_kind::numpy_dtype:
        return "numpy dtype";
    case pickle_kind::numpy_array:
        return "numpy array";
    }
    return "?";
}

/// The emofuse dtype of `torch.<name>` storages, nullopt for storages of other dtypes.
inline std::optional<dtype> torch_storage_dtype(std::string_view name) noexcept {
    constexpr std::pair<std::string_view, dtype> known[] = {
        {"FloatStorage", dtype::f32}, {"DoubleStorage", dtype::f64},
        {"HalfStorage", dtype::f16},  {"BFloat16Storage", dtype::bf16},
        {"LongStorage", dtype::i64},  {"IntStorage", dtype::i32},
        {"ShortStorage", dtype::i16}, {"CharStorage", dtype::i8},
        {"ByteStorage", dtype::u8},   {"BoolStorage", dtype::boolean}};
    for (const auto& [storage_name, type] : known) {
        if (storage_name == name) {
            return type;
        }
    }
    return std::nullopt;
}

/// The pickle name of opcode `code` for messages ("" when it is not a pickle opcode).
inline std::string_view pickle_opcode_name(std::uint8_t code) noexcept {
    switch (code) {
    case '(':
        return "MARK";
    case '.':
        return "STOP";
    case '0':
        return "POP";
    case '1':
        return "POP_MARK";
    case '2':
        return "DUP";
    case 'F':
        return "FLOAT";
    case 'I':
        return "INT";
    case 'J':
        return "BININT";
    case 'K':
        return "BININT1";
    case 'L':
        return "LONG";
    case 'M':
        return "BININT2";
    case 'N':
        return "NONE";
    case 'P':
        return "PERSID";
    case 'Q':
        return "BINPERSID";
    case 'R':
        return "REDUCE";
    case 'S':
        return "STRING";
    case 'T':
        return "BINSTRING";
    case 'U':
        return "SHORT_BINSTRING";
    case 'V':
        return "UNICODE";
    case 'X':
        return "BINUNICODE";
    case 'a':
        return "APPEND";
    case 'b':
        return "BUILD";
    case 'c':
        return "GLOBAL";
    case 'd':
        return "DICT";
    case '}':
        return "EMPTY_DICT";
    case 'e':
        return "APPENDS";
    case 'g':
        return "GET";
    case 'h':
        return "BINGET";
    case 'i':
        return "INST";
    case 'j':
        return "LONG_BINGET";
    case 'l':
        return "LIST";
    case ']':
        return "EMPTY_LIST";
    case 'o':
        return "OBJ";
    case 'p':
        return "PUT";
    case 'q':
        return "BINPUT";
    case 'r':
        return "LONG_BINPUT";
    case 's':
        return "SETITEM";
    case 't':
        return "TUPLE";
    case ')':
        return "EMPTY_TUPLE";
    case 'u':
        return "SETITEMS";
    case 'G':
        return "BINFLOAT";
    case 'B':
        return "BINBYTES";
    case 'C':
        return "SHORT_BINBYTES";
    case 0x80:
        return "PROTO";
    case 0x81:
        return "NEWOBJ";
    case 0x82:
        return "EXT1";
    case 0x83:
        return "EXT2";
    case 0x84:
        return "EXT4";
    case 0x85:
        return "TUPLE1";
    case 0x86:
        return "TUPLE2";
    case 0x87:
        return "TUPLE3";
    case 0x88:
        return "NEWTRUE";
    case 0x89:
        return "NEWFALSE";
    case 0x8a:
        return "LONG1";
    case 0x8b:
        return "LONG4";
    case 0x8c:
        return "SHORT_BINUNICODE";
    case 0x8d:
        return "BINUNICODE8";
    case 0x8e:
        return "BINBYTES8";
    case 0x8f:
        return "EMPTY_SET";
    case 0x90:
        return "ADDITEMS";
    case 0x91:
        return "FROZENSET";
    case 0x92:
        return "NEWOBJ_EX";
    case 0x93:
        return "STACK_GLOBAL";
    case 0x94:
        return "MEMOIZE";
    case 0x95:
        return "FRAME";
    case 0x96:
        return "BYTEARRAY8";
    case 0x97:
        return "NEXT_BUFFER";
    case 0x98:
        return "READONLY_BUFFER";
    default:
        return "";
    }
}

class restricted_unpickler {
public:
    /// `what` starts every error message (e.g. "io::pth: model.pth: archive/data.pkl").
    restricted_unpickler(std::span<const std::byte> pickle, std::string what,
                         pickle_dialect dialect = pickle_dialect::torch_state_dict)
        : input_(pickle), what_(std::move(what)), dialect_(dialect) {}

    pickle_graph run() {
        while (true) {
            opcode_offset_ = position_;
            const auto code = static_cast<std::uint8_t>(take(1)[0]);
            if (code == '.') {
                if (stack_.size() != 1 || !marks_.empty()) {
                    fail("STOP leaves ", stack_.size(), " values and ", marks_.size(),
                         " open MARKs on the stack (expected exactly one value)");
                }
                return {std::move(nodes_), stack_.back(), input_};
            }
            step(code);
        }
    }

private:
    template <class... Parts>
    [[noreturn]] void fail(const Parts&... parts) const {
        throw io_error(
            emofuse::detail::concat_message(what_, " byte ", opcode_offset_, ": ", parts...));
    }

    std::span<const std::byte> take(std::size_t count) {
        if (count > input_.size() - position_) {
            fail("the pickle ends inside an opcode (truncated data)");
        }
        const auto part = input_.subspan(position_, count);
        position_ += count;
        return part;
    }
    template <class Unsigned>
    Unsigned take_little_endian() {
        const auto bytes = take(sizeof(Unsigned));
        Unsigned value = 0;
        for (std::size_t index = 0; index < sizeof(Unsigned); ++index) {
            value |= static_cast<Unsigned>(static_cast<Unsigned>(bytes[index]) << (8 * index));
        }
        return value;
    }
    std::string_view take_text(std::size_t length) {
        const auto bytes = take(length);
        return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
    }
    std::string_view take_line() {
        const std::size_t start = position_;
        while (position_ < input_.size() && input_[position_] != std::byte{'\n'}) {
            ++position_;
        }
        if (position_ == input_.size()) {
            fail("GLOBAL's name is not terminated by a newline (truncated data)");
        }
        ++position_;
        return {reinterpret_cast<const char*>(input_.data()) + start, position_ - 1 - start};
    }

    std::size_t add(pickle_node node) {
        if (nodes_.size() >= pickle_max_values) {
            fail("the pickle holds more than ", pickle_max_values, " values");
        }
        nodes_.push_back(std::move(node));
        return nodes_.size() - 1;
    }
    void push(std::size_t node) {
        if (stack_.size() >= pickle_max_stack) {
            fail("the pickle stack exceeds ", pickle_max_stack, " values");
        }
        stack_.push_back(node);
    }
    void push_new(pickle_kind kind) {
        pickle_node node;
        node.kind = kind;
        push(add(std::move(node)));
    }
    std::size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
    std::size_t pop() {
        if (stack_.size() <= floor()) {
            fail(opcode(), " needs a value but the stack is empty");
        }
        const std::size_t node = stack_.back();
        stack_.pop_back();
        return node;
    }
    std::size_t top() const {
        if (stack_.size() <= floor()) {
            fail(opcode(), " needs a value but the stack is empty");
        }
        return stack_.back();
    }
    /// The values pushed since the last MARK, which is removed.
    std::vector<std::size_t> pop_mark() {
        if (marks_.empty()) {
            fail(opcode(), " without a MARK");
        }
        const std::size_t start = marks_.back();
        marks_.pop_back();
        std::vector<std::size_t> items(stack_.begin() + static_cast<std::ptrdiff_t>(start),
                                       stack_.end());
        stack_.resize(start);
        return items;
    }
    std::string opcode() const {
        const auto code = static_cast<std::uint8_t>(input_[opcode_offset_]);
        return std::string(pickle_opcode_name(code));
    }
    pickle_node& node_at(std::size_t index) { return nodes_[index]; }

    void memo_put(std::uint64_t index) {
        const std::size_t value = top();
        const auto found = memo_.find(index);
        if (found != memo_.end()) {
            found->second = value;
            return;
        }
        if (memo_.size() >= pickle_max_memo) {
            fail("the pickle memo exceeds ", pickle_max_memo, " entries");
        }
        memo_.emplace(index, value);
    }
    void memo_get(std::uint64_t index) {
        const auto found = memo_.find(index);
        if (found == memo_.end()) {
            fail(opcode(), " reads memo entry ", index, ", which was never stored");
        }
        push(found->second);
    }

    void push_integer(std::int64_t value, pickle_kind kind = pickle_kind::integer) {
        pickle_node node;
        node.kind = kind;
        node.integer = value;
        push(add(std::move(node)));
    }
    void push_string(std::string_view text) {
        pickle_node node;
        node.kind = pickle_kind::string;
        node.text = std::string(text);
        push(add(std::move(node)));
    }
    void push_sequence(pickle_kind kind, std::vector<std::size_t> items) {
        pickle_node node;
        node.kind = kind;
        node.items = std::move(items);
        push(add(std::move(node)));
    }

    /// The NumPy callable `module.name` names (NumPy 2 moved numpy.core to numpy._core).
    static std::optional<pickle_callable> numpy_callable(std::string_view module,
                                                         std::string_view name) {
        const bool multiarray =
            module == "numpy.core.multiarray" || module == "numpy._core.multiarray";
        const bool numeric = module == "numpy.core.numeric" || module == "numpy._core.numeric";
        if (multiarray && name == "_reconstruct") {
            return pickle_callable::numpy_reconstruct;
        }
        if (multiarray && name == "scalar") {
            return pickle_callable::numpy_scalar;
        }
        if (numeric && name == "_frombuffer") {
            return pickle_callable::numpy_frombuffer;
        }
        if (module == "numpy" && name == "ndarray") {
            return pickle_callable::numpy_ndarray;
        }
        if (module == "numpy" && name == "dtype") {
            return pickle_callable::numpy_dtype;
        }
        if (module == "_codecs" && name == "encode") {
            return pickle_callable::codecs_encode;
        }
        if ((module == "__builtin__" || module == "builtins") && name == "bytes") {
            return pickle_callable::builtin_bytes; // protocol 2 writes b'' as bytes()
        }
        return std::nullopt;
    }

    void push_global(std::string_view module, std::string_view name) {
        pickle_node node;
        node.kind = pickle_kind::global;
        node.text = emofuse::detail::concat_message(module, ".", name);
        if (dialect_ == pickle_dialect::numpy_data) {
            if (module == "collections" && name == "OrderedDict") {
                node.callable = pickle_callable::ordered_dict;
            } else if (const auto callable = numpy_callable(module, name)) {
                node.callable = *callable;
            } else {
                fail(opcode(), " ",
                     printable(std::string(module) + " " + std::string(name), '\'', 120),
                     " is refused: a pickle of arrays may name only numpy's ndarray, dtype, "
                     "_reconstruct, _frombuffer and scalar, _codecs.encode, bytes and "
                     "collections.OrderedDict (emofuse never imports or calls anything a "
                     "pickle names)");
            }
        } else if (module == "collections" && name == "OrderedDict") {
            node.callable = pickle_callable::ordered_dict;
        } else if (module == "torch._utils" && name == "_rebuild_tensor_v2") {
            node.callable = pickle_callable::rebuild_tensor;
        } else if (module == "torch" && torch_storage_dtype(name)) {
            node.callable = pickle_callable::storage_type;
            node.element_type = *torch_storage_dtype(name);
        } else if (module == "torch" && name.ends_with("Storage")) {
            fail(printable("torch." + std::string(name), '\'', 120),
                 " tensors cannot be held by an emofuse state_dict (it reads "
                 "float, double, half, bfloat16, int8-64, uint8 and bool storages)");
        } else {
            fail(opcode(), " ", printable(std::string(module) + " " + std::string(name), '\'', 120),
                 " is refused: a state dict may name only collections.OrderedDict, "
                 "torch._utils._rebuild_tensor_v2 and torch.<dtype>Storage (emofuse never "
                 "imports or calls anything a checkpoint names)");
        }
        push(add(std::move(node)));
    }

    const pickle_node& expect(std::size_t index, pickle_kind kind, std::string_view what) {
        if (nodes_[index].kind != kind) {
            fail(opcode(), ": ", what);
        }
        return nodes_[index];
    }
    std::uint64_t expect_count(std::size_t index, std::string_view what) {
        const auto& node = nodes_[index];
        if (node.kind != pickle_kind::integer || node.integer < 0) {
            fail(opcode(), ": ", what, " is not a non-negative integer");
        }
        return static_cast<std::uint64_t>(node.integer);
    }
    std::vector<std::uint64_t> expect_counts(std::size_t index, std::string_view what) {
        const auto items = expect(index, pickle_kind::tuple,
                                  emofuse::detail::concat_message(what, " is not a tuple"))
                               .items;
        if (items.size() > pickle_max_rank) {
            fail(opcode(), ": ", what, " has ", items.size(), " dimensions (at most ",
                 pickle_max_rank, ")");
        }
        std::vector<std::uint64_t> counts;
        for (std::size_t item : items) {
            counts.push_back(expect_count(item, what));
        }
        return counts;
    }

    void reduce() {
        const std::size_t arguments = pop();
        const std::size_t callable = pop();
        if (nodes_[callable].kind != pickle_kind::global) {
            fail("REDUCE calls something that is not an allowed GLOBAL");
        }
        const auto args =
            expect(arguments, pickle_kind::tuple, "the arguments are not a tuple").items;
        switch (nodes_[callable].callable) {
        case pickle_callable::ordered_dict: {
            if (!args.empty()) {
                fail("REDUCE: collections.OrderedDict is called with arguments (only "
                     "OrderedDict() is accepted)");
            }
            push_new(pickle_kind::dict);
            return;
        }
        case pickle_callable::rebuild_tensor: {
            // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
            if (args.size() != 6 && args.size() != 7) {
                fail("REDUCE: torch._utils._rebuild_tensor_v2 takes 6 or 7 arguments, got ",
                     args.size());
            }
            pickle_node tensor;
            tensor.kind = pickle_kind::tensor;
            const auto& storage =
                expect(args[0], pickle_kind::storage,
                       "_rebuild_tensor_v2's first argument is not a persistent storage");
            tensor.storage = args[0];
            tensor.element_type = storage.element_type;
            tensor.storage_offset = expect_count(args[1], "the storage offset");
            tensor.shape = expect_counts(args[2], "the size");
            tensor.stride = expect_counts(args[3], "the stride");
            if (tensor.shape.size() != tensor.stride.size()) {
                fail("REDUCE: _rebuild_tensor_v2 gets a size of ", tensor.shape.size(),
                     " dimensions but a stride of ", tensor.stride.size());
            }
            expect(args[4], pickle_kind::boolean, "requires_grad is not a bool");
            const auto& hooks = nodes_[args[5]];
            if (hooks.kind != pickle_kind::dict || !hooks.items.empty()) {
                fail("REDUCE: _rebuild_tensor_v2 gets backward hooks (only an empty "
                     "OrderedDict is accepted)");
            }
            if (args.size() == 7 && nodes_[args[6]].kind != pickle_kind::none &&
                !(nodes_[args[6]].kind == pickle_kind::dict && nodes_[args[6]].items.empty())) {
                fail("REDUCE: _rebuild_tensor_v2 gets tensor metadata (only None or an empty "
                     "dict is accepted)");
            }
            push(add(std::move(tensor)));
            return;
        }
        case pickle_callable::storage_type:
            fail("REDUCE calls ", printable(nodes_[callable].text, '\'', 120),
                 " (storages may appear only in persistent ids)");
        case pickle_callable::numpy_ndarray:
            fail("REDUCE calls numpy.ndarray (it may only be _reconstruct's argument)");
        case pickle_callable::codecs_encode:
            push(add(latin1_bytes(args)));
            return;
        case pickle_callable::builtin_bytes: {
            if (!args.empty()) {
                fail("REDUCE: bytes is accepted only as bytes(), how protocol 2 writes b''");
            }
            pickle_node empty;
            empty.kind = pickle_kind::bytes;
            push(add(std::move(empty)));
            return;
        }
        case pickle_callable::numpy_dtype:
            push(add(numpy_dtype_of(args)));
            return;
        case pickle_callable::numpy_reconstruct:
            push(add(numpy_reconstruct(args)));
            return;
        case pickle_callable::numpy_frombuffer:
            push(add(numpy_frombuffer(args)));
            return;
        case pickle_callable::numpy_scalar:
            push(add(numpy_scalar(args)));
            return;
        }
    }

    /// _codecs.encode(text, 'latin1'): how protocol 2 writes bytes (each byte a code point).
    pickle_node latin1_bytes(const std::vector<std::size_t>& args) {
        if (args.size() != 2 || nodes_[args[0]].kind != pickle_kind::string ||
            nodes_[args[1]].kind != pickle_kind::string ||
            (nodes_[args[1]].text != "latin1" && nodes_[args[1]].text != "latin-1")) {
            fail("REDUCE: _codecs.encode is accepted only as encode(str, 'latin1'), how "
                 "protocol 2 writes bytes");
        }
        const std::string& text = nodes_[args[0]].text;
        pickle_node node;
        node.kind = pickle_kind::bytes;
        node.text.reserve(text.size());
        for (std::size_t index = 0; index < text.size();) {
            // Code points up to U+00FF take one or two UTF-8 bytes.
            const auto lead = static_cast<unsigned char>(text[index]);
            if (lead < 0x80) {
                node.text.push_back(static_cast<char>(lead));
                ++index;
                continue;
            }
            const auto next = index + 1 < text.size() ? static_cast<unsigned char>(text[index + 1])
                                                      : static_cast<unsigned char>(0);
            if ((lead != 0xc2 && lead != 0xc3) || (next & 0xc0u) != 0x80u) {
                fail("REDUCE: _codecs.encode(..., 'latin1') of a string with a character "
                     "beyond U+00FF or invalid UTF-8 at its byte ",
                     index);
            }
            node.text.push_back(static_cast<char>(((lead & 0x1fu) << 6) | (next & 0x3fu)));
            index += 2;
        }
        return node;
    }

    /// numpy.dtype(code, align, copy): numbers, 'U<n>' strings or 'O' objects.
    pickle_node numpy_dtype_of(const std::vector<std::size_t>& args) {
        if (args.empty() || args.size() > 3 || nodes_[args[0]].kind != pickle_kind::string) {
            fail("REDUCE: numpy.dtype is accepted only as dtype(code, align, copy)");
        }
        std::string_view code = nodes_[args[0]].text;
        pickle_node node;
        node.kind = pickle_kind::numpy_dtype;
        if (!code.empty() && (code.front() == '<' || code.front() == '>' || code.front() == '|' ||
                              code.front() == '=')) {
            node.big_endian = code.front() == '>';
            code.remove_prefix(1);
        }
        if (const auto type = dtype_from_numpy_code(code)) {
            node.element_type = *type;
            node.item_size = dtype_size(*type);
            return node;
        }
        if (code == "O8" || code == "O4" || code == "O") {
            node.element = numpy_element::object;
            return node;
        }
        if (code.starts_with('U')) {
            std::uint64_t characters = 0;
            const auto digits = code.substr(1);
            const auto parsed =
                std::from_chars(digits.data(), digits.data() + digits.size(), characters);
            if (!digits.empty() && parsed.ec == std::errc{} &&
                parsed.ptr == digits.data() + digits.size() && characters < (1ull << 40)) {
                node.element = numpy_element::unicode;
                node.item_size = 4 * characters;
                return node;
            }
        }
        fail("numpy dtype ", printable(nodes_[args[0]].text, '\'', 40),
             " is not read (emofuse reads f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1, str ('U') and "
             "object ('O') arrays)");
    }

    /// A dtype's pickled state: (version, byteorder, subarray, names, fields, elsize,
    /// alignment, flags[, metadata]).
    void build_numpy_dtype(pickle_node& dtype_node, std::size_t state) {
        const auto& items = nodes_[state].items;
        if (nodes_[state].kind != pickle_kind::tuple || (items.size() != 8 && items.size() != 9)) {
            fail("BUILD: a numpy dtype's state is not the 8- or 9-tuple NumPy writes");
        }
        if (nodes_[items[1]].kind != pickle_kind::string) {
            fail("BUILD: a numpy dtype's byte order is not a string");
        }
        const std::string& order = nodes_[items[1]].text;
        if (order != "<" && order != ">" && order != "|" && order != "=") {
            fail("BUILD: numpy dtype byte order ", printable(order, '\'', 16),
                 " (expected <, >, | or =)");
        }
        for (std::size_t field = 2; field < 5; ++field) {
            if (nodes_[items[field]].kind != pickle_kind::none) {
                fail("BUILD: structured or sub-array numpy dtypes are not read");
            }
        }
        const auto& size = nodes_[items[5]];
        if (size.kind != pickle_kind::integer) {
            fail("BUILD: a numpy dtype's element size is not an integer");
        }
        if (dtype_node.element == numpy_element::unicode && size.integer >= 0) {
            if (size.integer % 4 != 0) {
                fail("BUILD: a numpy str dtype of ", size.integer,
                     " bytes per element (UTF-32 needs a multiple of 4)");
            }
            dtype_node.item_size = static_cast<std::uint64_t>(size.integer);
        }
        dtype_node.big_endian = order == ">";
        dtype_node.has_state = true;
    }

    std::vector<std::uint64_t> numpy_shape(std::size_t index) {
        const auto shape = expect_counts(index, "a numpy array's shape");
        std::uint64_t count = 1;
        for (const auto extent : shape) {
            if (extent != 0 && count > ~std::uint64_t{0} / extent) {
                fail(opcode(), ": a numpy array's shape has more elements than fit in 64 bits");
            }
            count *= extent;
        }
        return shape;
    }

    static std::uint64_t element_count(const std::vector<std::uint64_t>& shape) {
        std::uint64_t count = 1;
        for (const auto extent : shape) {
            count *= extent;
        }
        return count;
    }

    /// Gives `array` its dtype, shape, order and data, checking the data's size.
    void set_array_state(pickle_node& array, std::size_t dtype_index,
                         std::vector<std::uint64_t> shape, bool fortran, std::size_t data) {
        const auto& type = expect(dtype_index, pickle_kind::numpy_dtype,
                                  "a numpy array's dtype is not a numpy.dtype");
        array.element = type.element;
        array.element_type = type.element_type;
        array.item_size = type.item_size;
        array.big_endian = type.big_endian;
        array.fortran_order = fortran;
        array.shape = std::move(shape);
        array.storage = data;
        array.has_state = true;
        const std::uint64_t count = element_count(array.shape);
        if (array.element == numpy_element::object) {
            expect(data, pickle_kind::list, "an object array's data is not a list");
            return; // its length is checked where it is read (a list can grow later)
        }
        const auto& bytes = expect(data, pickle_kind::bytes, "a numpy array's data is not bytes");
        const std::uint64_t length = bytes.data_in_pickle ? bytes.data_length : bytes.text.size();
        if ((array.item_size != 0 && count > ~std::uint64_t{0} / array.item_size) ||
            count * array.item_size != length) {
            fail(opcode(), ": a numpy array of ", count, " elements of ", array.item_size,
                 " bytes comes with ", length, " data bytes");
        }
    }

    /// _reconstruct(ndarray, (0,), b'b'): an empty array that BUILD fills in.
    pickle_node numpy_reconstruct(const std::vector<std::size_t>& args) {
        if (args.size() != 3 || nodes_[args[0]].kind != pickle_kind::global ||
            nodes_[args[0]].callable != pickle_callable::numpy_ndarray) {
            fail("REDUCE: numpy _reconstruct is accepted only as _reconstruct(numpy.ndarray, "
                 "shape, typecode)");
        }
        pickle_node node;
        node.kind = pickle_kind::numpy_array;
        return node;
    }

    /// The array's state: ([version,] shape, dtype, is_fortran, data).
    void build_numpy_array(pickle_node& array, std::size_t state) {
        auto items = nodes_[state].items;
        if (nodes_[state].kind != pickle_kind::tuple || (items.size() != 4 && items.size() != 5)) {
            fail("BUILD: a numpy array's state is not the 4- or 5-tuple NumPy writes");
        }
        if (items.size() == 5) {
            expect(items[0], pickle_kind::integer, "a numpy array's state version is not an int");
            items.erase(items.begin());
        }
        const auto fortran =
            expect(items[2], pickle_kind::boolean, "a numpy array's Fortran flag is not a bool")
                .integer != 0;
        set_array_state(array, items[1], numpy_shape(items[0]), fortran, items[3]);
    }

    /// _frombuffer(buffer, dtype, shape, order): protocol 5's form of a contiguous array.
    pickle_node numpy_frombuffer(const std::vector<std::size_t>& args) {
        if (args.size() != 4) {
            fail("REDUCE: numpy _frombuffer takes 4 arguments, got ", args.size());
        }
        const auto& order =
            expect(args[3], pickle_kind::string, "_frombuffer's order is not a string");
        if (order.text != "C" && order.text != "F") {
            fail("REDUCE: _frombuffer's order ", printable(order.text, '\'', 16),
                 " (expected C or F)");
        }
        if (nodes_[args[1]].kind == pickle_kind::numpy_dtype &&
            nodes_[args[1]].element == numpy_element::object) {
            fail("REDUCE: _frombuffer of an object dtype");
        }
        pickle_node node;
        node.kind = pickle_kind::numpy_array;
        set_array_state(node, args[1], numpy_shape(args[2]), order.text == "F", args[0]);
        return node;
    }

    /// scalar(dtype, bytes): a NumPy number, kept as a 0-d array.
    pickle_node numpy_scalar(const std::vector<std::size_t>& args) {
        if (args.size() != 2) {
            fail("REDUCE: numpy scalar takes 2 arguments, got ", args.size());
        }
        if (nodes_[args[0]].kind == pickle_kind::numpy_dtype &&
            nodes_[args[0]].element != numpy_element::number) {
            fail("REDUCE: numpy scalars of str or object dtypes are not read");
        }
        pickle_node node;
        node.kind = pickle_kind::numpy_array;
        set_array_state(node, args[0], {}, false, args[1]);
        return node;
    }

    void push_bytes(std::size_t length) {
        const std::size_t offset = position_;
        take(length);
        pickle_node node;
        node.kind = pickle_kind::bytes;
        node.data_in_pickle = true;
        node.data_offset = offset;
        node.data_length = length;
        push(add(std::move(node)));
    }

    /// torch's persistent id: ('storage', StorageType, key, location, numel).
    void persistent_load() {
        const auto id = expect(pop(), pickle_kind::tuple, "the persistent id is not a tuple").items;
        if (id.size() != 5 || nodes_[id[0]].kind != pickle_kind::string ||
            nodes_[id[0]].text != "storage") {
            fail("BINPERSID: only torch's ('storage', type, key, location, numel) ids are "
                 "accepted");
        }
        const auto& type =
            expect(id[1], pickle_kind::global, "the storage type is not a torch.<dtype>Storage");
        if (type.callable != pickle_callable::storage_type) {
            fail("BINPERSID: the storage type ", printable(type.text, '\'', 120),
                 " is not a torch.<dtype>Storage");
        }
        pickle_node storage;
        storage.kind = pickle_kind::storage;
        storage.element_type = type.element_type;
        storage.text = expect(id[2], pickle_kind::string, "the storage key is not a string").text;
        expect(id[3], pickle_kind::string, "the storage location is not a string");
        storage.numel = expect_count(id[4], "the storage's element count");
        const auto [known, inserted] =
            storages_.emplace(storage.text, std::pair(storage.element_type, storage.numel));
        if (!inserted && known->second != std::pair(storage.element_type, storage.numel)) {
            fail("BINPERSID: storage ", printable(storage.text, '\'', 120),
                 " is declared twice with different dtypes or sizes");
        }
        push(add(std::move(storage)));
    }

    void set_item(std::size_t dict, std::size_t key, std::size_t value) {
        const auto kind = nodes_[key].kind;
        if (kind != pickle_kind::string && kind != pickle_kind::integer) {
            fail(opcode(), ": a dict key is neither a string nor an integer");
        }
        auto& items = nodes_[dict].items;
        items.push_back(key);
        items.push_back(value);
    }

    void step(std::uint8_t code) {
        switch (code) {
        case 0x80: { // PROTO
            const auto version = static_cast<std::uint8_t>(take(1)[0]);
            if (version < 2 || version > 5) {
                fail("pickle protocol ", int{version},
                     dialect_ == pickle_dialect::numpy_data
                         ? " is not read (emofuse reads 2-5)"
                         : " is not one torch.save writes (2-5)");
            }
            return;
        }
        case 0x95: // FRAME: a length hint only
            if (take_little_endian<std::uint64_t>() > input_.size() - position_) {
                fail("FRAME declares more bytes than remain in the pickle");
            }
            return;
        case '(':
            if (marks_.size() >= pickle_max_mark_depth) {
                fail("MARKs nest deeper than ", pickle_max_mark_depth);
            }
            marks_.push_back(stack_.size());
            return;
        case '}':
            push_new(pickle_kind::dict);
            return;
        case ']':
            push_new(pickle_kind::list);
            return;
        case ')':
            push_new(pickle_kind::tuple);
            return;
        case 0x85:
        case 0x86:
        case 0x87: {
            std::vector<std::size_t> items(code - 0x84u);
            for (std::size_t index = items.size(); index-- > 0;) {
                items[index] = pop();
            }
            push_sequence(pickle_kind::tuple, std::move(items));
            return;
        }
        case 't':
            push_sequence(pickle_kind::tuple, pop_mark());
            return;
        case 'X':
            push_string(take_text(take_little_endian<std::uint32_t>()));
            return;
        case 0x8c:
            push_string(take_text(take_little_endian<std::uint8_t>()));
            return;
        case 'J':
            push_integer(static_cast<std::int32_t>(take_little_endian<std::uint32_t>()));
            return;
        case 'K':
            push_integer(take_little_endian<std::uint8_t>());
            return;
        case 'M':
            push_integer(take_little_endian<std::uint16_t>());
            return;
        case 0x8a: { // LONG1: little-endian two's complement of n bytes
            const std::size_t length = take_little_endian<std::uint8_t>();
            if (length > 8) {
                fail("LONG1 integer of ", length, " bytes does not fit 64 bits");
            }
            const auto bytes = take(length);
            std::uint64_t value = 0;
            for (std::size_t index = 0; index < length; ++index) {
                value |= static_cast<std::uint64_t>(bytes[index]) << (8 * index);
            }
            if (length > 0 && length < 8 &&
                (static_cast<std::uint8_t>(bytes[length - 1]) & 0x80u)) {
                value |= ~std::uint64_t{0} << (8 * length); // sign extension
            }
            push_integer(static_cast<std::int64_t>(value));
            return;
        }
        case 'G': { // BINFLOAT: big-endian IEEE double
            const auto bytes = take(8);
            std::uint64_t bits = 0;
            for (std::byte byte : bytes) {
                bits = (bits << 8) | static_cast<std::uint64_t>(byte);
            }
            pickle_node node;
            node.kind = pickle_kind::real;
            node.real = std::bit_cast<double>(bits);
            push(add(std::move(node)));
            return;
        }
        case 0x88:
            push_integer(1, pickle_kind::boolean);
            return;
        case 0x89:
            push_integer(0, pickle_kind::boolean);
            return;
        case 'N':
            push_new(pickle_kind::none);
            return;
        case 'q':
            memo_put(take_little_endian<std::uint8_t>());
            return;
        case 'r':
            memo_put(take_little_endian<std::uint32_t>());
            return;
        case 0x94:
            memo_put(memo_.size());
            return;
        case 'h':
            memo_get(take_little_endian<std::uint8_t>());
            return;
        case 'j':
            memo_get(take_little_endian<std::uint32_t>());
            return;
        case 's': {
            const std::size_t value = pop();
            const std::size_t key = pop();
            const std::size_t dict = top();
            expect(dict, pickle_kind::dict, "the target is not a dict");
            set_item(dict, key, value);
            return;
        }
        case 'u': {
            const auto items = pop_mark();
            const std::size_t dict = top();
            expect(dict, pickle_kind::dict, "the target is not a dict");
            if (items.size() % 2 != 0) {
                fail("SETITEMS with an odd number of values");
            }
            for (std::size_t index = 0; index < items.size(); index += 2) {
                set_item(dict, items[index], items[index + 1]);
            }
            return;
        }
        case 'a': {
            const std::size_t value = pop();
            const std::size_t list = top();
            expect(list, pickle_kind::list, "the target is not a list");
            node_at(list).items.push_back(value);
            return;
        }
        case 'e': {
            const auto items = pop_mark();
            const std::size_t list = top();
            expect(list, pickle_kind::list, "the target is not a list");
            auto& target = node_at(list).items;
            target.insert(target.end(), items.begin(), items.end());
            return;
        }
        case 'c': {
            const std::string module(take_line());
            const std::string name(take_line());
            push_global(module, name);
            return;
        }
        case 0x93: { // STACK_GLOBAL
            const std::string name =
                expect(pop(), pickle_kind::string, "the name is not a string").text;
            const std::string module =
                expect(pop(), pickle_kind::string, "the module is not a string").text;
            push_global(module, name);
            return;
        }
        case 'R':
            reduce();
            return;
        case 'Q':
            persistent_load();
            return;
        case 'b': {
            const std::size_t state = pop();
            const std::size_t target = top();
            const auto target_kind = nodes_[target].kind;
            if (dialect_ == pickle_dialect::numpy_data &&
                (target_kind == pickle_kind::numpy_dtype ||
                 target_kind == pickle_kind::numpy_array)) {
                if (nodes_[target].has_state) {
                    fail("BUILD sets the state of a numpy ",
                         target_kind == pickle_kind::numpy_array ? "array" : "dtype", " twice");
                }
                if (target_kind == pickle_kind::numpy_array) {
                    build_numpy_array(nodes_[target], state);
                } else {
                    build_numpy_dtype(nodes_[target], state);
                }
                return;
            }
            expect(target, pickle_kind::dict, "BUILD may only set attributes of a dict");
            expect(state, pickle_kind::dict, "BUILD's state is not a dict");
            if (nodes_[target].attributes) {
                fail("BUILD sets the attributes of a dict twice");
            }
            node_at(target).attributes = state;
            return;
        }
        case 'B':
        case 'C':
        case 0x8e:
        case 0x96:
        case 0x8d:
            if (dialect_ == pickle_dialect::numpy_data) {
                const std::size_t length =
                    code == 'B'   ? take_little_endian<std::uint32_t>()
                    : code == 'C' ? take_little_endian<std::uint8_t>()
                                  : checked_length(take_little_endian<std::uint64_t>());
                if (code == 0x8d) {
                    push_string(take_text(length));
                } else {
                    push_bytes(length);
                }
                return;
            }
            [[fallthrough]];
        default: {
            const auto name = pickle_opcode_name(code);
            if (name.empty()) {
                fail("unknown pickle opcode 0x", hex(code));
            }
            if (dialect_ == pickle_dialect::numpy_data) {
                fail("pickle opcode ", name, " (0x", hex(code),
                     ") is not allowed in a pickle of arrays (emofuse never executes code from "
                     "a pickle)");
            }
            fail("pickle opcode ", name, " (0x", hex(code),
                 ") is not allowed in a state dict (emofuse never executes code from a "
                 "checkpoint)");
        }
        }
    }

    /// A 64-bit length that must fit in what remains of the pickle.
    std::size_t checked_length(std::uint64_t length) {
        if (length > input_.size() - position_) {
            fail("the pickle ends inside an opcode (truncated data)");
        }
        return static_cast<std::size_t>(length);
    }

    static std::string hex(std::uint8_t code) {
        constexpr char digits[] = "0123456789abcdef";
        return {digits[code >> 4], digits[code & 0xfu]};
    }

    std::span<const std::byte> input_;
    std::string what_;
    pickle_dialect dialect_;
    std::size_t position_ = 0;
    std::size_t opcode_offset_ = 0;
    std::vector<pickle_node> nodes_;
    std::vector<std::size_t> stack_;
    std::vector<std::size_t> marks_;
    std::unordered_map<std::uint64_t, std::size_t> memo_;
    std::map<std::string, std::pair<dtype, std::uint64_t>, std::less<>> storages_;
};

/// Marks container `index` as walked. A second visit is a shared or cyclic reference, which
/// could multiply a consumer's output without bound: an io_error "<what>: '<name>' refers to
/// a <kind> already seen (<why>)".
inline void visit_container_once(std::vector<bool>& visited, const pickle_graph& graph,
                                 std::size_t index, std::string_view what, std::string_view name,
                                 std::string_view why) {
    if (visited[index]) {
        throw io_error(emofuse::detail::concat_message(
            what, ": ", printable(name, '\'', 120), " refers to a ",
            pickle_kind_name(graph.nodes[index].kind), " already seen (", why, ")"));
    }
    visited[index] = true;
}

/// Decodes `pickle`; every failure is an io_error starting with `what`.
inline pickle_graph restricted_unpickle(std::span<const std::byte> pickle, std::string what,
                                        pickle_dialect dialect = pickle_dialect::torch_state_dict) {
    if (pickle.empty()) {
        throw io_error(emofuse::detail::concat_message(what, ": the pickle is empty"));
    }
    return restricted_unpickler(pickle, std::move(what), dialect).run();
}

} // namespace emofuse::io::detail
