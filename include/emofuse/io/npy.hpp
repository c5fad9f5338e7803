// emofuse/io/npy.hpp — reads and writes NumPy .npy files (format versions 1.0, 2.0 and 3.0).
//
// Read: dtypes f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1 in little ('<'), native ('='), not-applicable
// ('|', one-byte types only) or big ('>') byte order — big-endian data is byte-swapped on load —
// and fortran_order True or False (Fortran-ordered data is transposed into C order on load).
// The header is a Python dict literal; it is parsed by a strict tokenizer that accepts exactly
// the keys descr, fortran_order and shape, each once, and rejects anything else (it never
// evaluates Python). The data must be exactly product(shape) × itemsize bytes: truncated data
// and trailing bytes are both io_errors.
// Write: version 1.0 (2.0 when the header needs more than 65535 bytes), C order, little endian,
// header padded so the data starts at a multiple of 64 bytes, like numpy.save.
#pragma once

#include <emofuse/config.hpp>
#include <emofuse/core/error.hpp>
#include <emofuse/io/convert.hpp>
#include <emofuse/io/detail/binary_file.hpp>
#include <emofuse/io/state_dict.hpp>
#include <emofuse/io/stored_tensor.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace emofuse::io {

/// Largest .npy header accepted; numpy itself refuses more than 10,000 bytes by default.
inline constexpr std::size_t npy_max_header_size = 1u << 20;
/// Largest rank accepted (numpy 2 allows 64 dimensions).
inline constexpr std::size_t npy_max_rank = 64;

namespace detail {

struct npy_header {
    dtype type = dtype::f32;
    bool big_endian = false;
    bool fortran_order = false;
    std::vector<std::size_t> shape;
};

/// Where the header text sits in the file, from the magic string and version bytes.
struct npy_preamble {
    int major_version = 1;
    std::size_t header_offset = 10;
    std::size_t header_length = 0;
};

inline constexpr std::size_t npy_version_bytes = 8;                    // magic + major + minor
inline constexpr char npy_magic[] = {'\x93', 'N', 'U', 'M', 'P', 'Y'}; // 6 bytes

[[noreturn]] inline void npy_fail(std::string_view source, std::string_view message) {
    throw io_error(emofuse::detail::concat_message("io::npy: ", source, ": ", message));
}

/// Checks the magic string and version (`first` holds at least 8 bytes) and returns how many
/// bytes the header-length field takes.
inline npy_preamble npy_read_version(std::span<const std::byte> first, std::string_view source) {
    if (first.size() < npy_version_bytes ||
        std::memcmp(first.data(), npy_magic, sizeof(npy_magic)) != 0) {
        npy_fail(source, "not a .npy file (missing the \\x93NUMPY magic string)");
    }
    const auto major = static_cast<int>(first[6]);
    const auto minor = static_cast<int>(first[7]);
    if ((major != 1 && major != 2 && major != 3) || minor != 0) {
        npy_fail(source,
                 emofuse::detail::concat_message("unsupported format version ", major, ".", minor,
                                                 " (emofuse reads 1.0, 2.0 and 3.0)"));
    }
    npy_preamble preamble;
    preamble.major_version = major;
    preamble.header_offset = major == 1 ? 10 : 12;
    return preamble;
}

/// Reads the header length (`first` holds header_offset bytes) and checks it against the
/// limit and the `total_size` of the file.
inline void npy_read_header_length(npy_preamble& preamble, std::span<const std::byte> first,
                                   std::size_t total_size, std::string_view source) {
    const std::size_t length =
        preamble.major_version == 1
            ? read_little_endian<std::uint16_t>(first.data() + npy_version_bytes)
            : read_little_endian<std::uint32_t>(first.data() + npy_version_bytes);
    if (length > npy_max_header_size) {
        npy_fail(source,
                 emofuse::detail::concat_message("header length ", length, " exceeds the limit of ",
                                                 npy_max_header_size, " bytes"));
    }
    if (length > total_size - preamble.header_offset) {
        npy_fail(source,
                 emofuse::detail::concat_message("header length ", length, " is larger than the ",
                                                 total_size - preamble.header_offset,
                                                 " bytes that follow it (file truncated?)"));
    }
    preamble.header_length = length;
}

/// Strict tokenizer for the header's Python dict literal, e.g.
/// {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
class npy_header_parser {
public:
    npy_header_parser(std::string_view text, std::string_view source)
        : text_(text), source_(source) {}

    npy_header parse() {
        npy_header header;
        bool has_descr = false, has_order = false, has_shape = false;
        skip_space();
        expect('{');
        while (true) {
            skip_space();
            if (peek() == '}') {
                break;
            }
            const std::string key = parse_string();
            skip_space();
            expect(':');
            skip_space();
            if (key == "descr") {
                mark_once(has_descr, key);
                parse_descr(parse_string(), header);
            } else if (key == "fortran_order") {
                mark_once(has_order, key);
                header.fortran_order = parse_bool();
            } else if (key == "shape") {
                mark_once(has_shape, key);
                header.shape = parse_shape();
            } else {
                fail("unexpected key '" + key +
                     "' (a .npy header has descr, fortran_order, shape)");
            }
            skip_space();
            if (peek() == ',') {
                ++position_;
                continue;
            }
            if (peek() != '}') {
                fail("expected ',' or '}' after the value of '" + key + "'");
            }
        }
        expect('}');
        skip_space();
        if (position_ != text_.size()) {
            fail("unexpected text after the header dict");
        }
        if (!has_descr || !has_order || !has_shape) {
            fail(std::string("the header dict lacks '") +
                 (!has_descr   ? "descr"
                  : !has_order ? "fortran_order"
                               : "shape") +
                 "'");
        }
        return header;
    }

private:
    [[noreturn]] void fail(const std::string& message) const {
        npy_fail(source_, emofuse::detail::concat_message("malformed header at offset ", position_,
                                                          ": ", message));
    }

    char peek() const { return position_ < text_.size() ? text_[position_] : '\0'; }

    void expect(char wanted) {
        if (position_ >= text_.size() || text_[position_] != wanted) {
            fail(std::string("expected '") + wanted + "'");
        }
        ++position_;
    }

    void skip_space() {
        while (position_ < text_.size() && (text_[position_] == ' ' || text_[position_] == '\n' ||
                                            text_[position_] == '\t' || text_[position_] == '\r')) {
            ++position_;
        }
    }

    void mark_once(bool& seen, const std::string& key) {
        if (seen) {
            fail("key '" + key + "' appears twice");
        }
        seen = true;
    }

    /// A quoted string without escapes ('...' or "...").
    std::string parse_string() {
        const char quote = peek();
        if (quote != '\'' && quote != '"') {
            fail("expected a quoted string");
        }
        ++position_;
        const std::size_t start = position_;
        while (position_ < text_.size() && text_[position_] != quote) {
            if (text_[position_] == '\\' || text_[position_] == '\n') {
                fail("escapes and line breaks are not allowed in header strings");
            }
            ++position_;
        }
        if (position_ >= text_.size()) {
            fail("unterminated string");
        }
        std::string value(text_.substr(start, position_ - start));
        ++position_;
        return value;
    }

    bool parse_bool() {
        if (text_.substr(position_, 4) == "True") {
            position_ += 4;
            return true;
        }
        if (text_.substr(position_, 5) == "False") {
            position_ += 5;
            return false;
        }
        fail("fortran_order must be True or False");
    }

    /// A tuple of non-negative integers: (), (3,), (3, 4) or (3, 4,); Python 2's 3L suffix is
    /// accepted. A one-element tuple needs its trailing comma ((3) is an int in Python).
    std::vector<std::size_t> parse_shape() {
        std::vector<std::size_t> shape;
        expect('(');
        bool trailing_comma = false;
        while (true) {
            skip_space();
            if (peek() == ')') {
                break;
            }
            if (peek() < '0' || peek() > '9') {
                fail("shape must be a tuple of non-negative integers");
            }
            std::size_t extent = 0;
            while (peek() >= '0' && peek() <= '9') {
                const auto digit = static_cast<std::size_t>(peek() - '0');
                if (extent > (std::numeric_limits<std::size_t>::max() - digit) / 10) {
                    fail("a shape extent overflows size_t");
                }
                extent = extent * 10 + digit;
                ++position_;
            }
            if (peek() == 'L') {
                ++position_;
            }
            shape.push_back(extent);
            if (shape.size() > npy_max_rank) {
                fail(emofuse::detail::concat_message("more than ", npy_max_rank, " dimensions"));
            }
            skip_space();
            trailing_comma = peek() == ',';
            if (trailing_comma) {
                ++position_;
            } else if (peek() != ')') {
                fail("expected ',' or ')' in the shape tuple");
            }
        }
        if (shape.size() == 1 && !trailing_comma) {
            fail("a one-dimensional shape is written (n,), not (n)");
        }
        expect(')');
        return shape;
    }

    void parse_descr(const std::string& descr, npy_header& header) {
        const std::string_view code = descr.size() >= 1 ? std::string_view(descr).substr(1) : "";
        const char order = descr.empty() ? '\0' : descr.front();
        const auto found = dtype_from_numpy_code(code);
        if (!found || (order != '<' && order != '>' && order != '|' && order != '=')) {
            fail(
                "unsupported descr '" + descr +
                "' (emofuse reads f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1 with byte order < > = or |)");
        }
        if (order == '|' && dtype_size(*found) != 1) {
            fail("descr '" + descr + "' gives no byte order for a multi-byte type");
        }
        header.type = *found;
        header.big_endian = order == '>' && dtype_size(*found) > 1;
    }

    std::string_view text_;
    std::string_view source_;
    std::size_t position_ = 0;
};

/// Byte-swaps big-endian elements in place.
inline void npy_swap_bytes(std::vector<std::byte>& data, std::size_t item) {
    for (std::size_t start = 0; start + item <= data.size(); start += item) {
        std::reverse(data.begin() + static_cast<std::ptrdiff_t>(start),
                     data.begin() + static_cast<std::ptrdiff_t>(start + item));
    }
}

/// Reorders column-major (Fortran) elements into row-major (C) order.
inline std::vector<std::byte> npy_fortran_to_c(const std::vector<std::byte>& data,
                                               const std::vector<std::size_t>& shape,
                                               std::size_t item) {
    std::vector<std::byte> result(data.size());
    const std::size_t count = item == 0 ? 0 : data.size() / item;
    const std::size_t rank = shape.size();
    std::vector<std::size_t> fortran_stride(rank, 1);
    for (std::size_t axis = 1; axis < rank; ++axis) {
        fortran_stride[axis] = fortran_stride[axis - 1] * shape[axis - 1];
    }
    std::vector<std::size_t> index(rank, 0);
    std::size_t source_element = 0;
    for (std::size_t element = 0; element < count; ++element) {
        std::memcpy(result.data() + element * item, data.data() + source_element * item, item);
        // Advance the C-order multi-index (last axis fastest) and the Fortran offset with it.
        for (std::size_t axis = rank; axis-- > 0;) {
            ++index[axis];
            source_element += fortran_stride[axis];
            if (index[axis] < shape[axis]) {
                break;
            }
            source_element -= index[axis] * fortran_stride[axis];
            index[axis] = 0;
        }
    }
    return result;
}

/// Parses the header text and returns it with the number of data bytes it requires.
inline std::pair<npy_header, std::size_t> npy_parse_header(std::string_view text,
                                                           std::string_view source) {
    npy_header header = npy_header_parser(text, source).parse();
    const auto byte_count = checked_byte_count(header.type, header.shape);
    if (!byte_count) {
        npy_fail(source, "shape " + shape_to_string(header.shape) + " overflows size_t");
    }
    return {std::move(header), *byte_count};
}

inline void npy_check_data_size(std::size_t expected, std::size_t available,
                                const npy_header& header, std::string_view source) {
    if (available != expected) {
        npy_fail(source, emofuse::detail::concat_message(
                             dtype_name(header.type), " shape ", shape_to_string(header.shape),
                             " needs ", expected, " data bytes, the file has ", available,
                             available < expected ? " (truncated)" : " (trailing bytes)"));
    }
}

inline stored_tensor npy_finish(npy_header header, std::vector<std::byte> data) {
    const std::size_t item = dtype_size(header.type);
    if (header.big_endian) {
        npy_swap_bytes(data, item);
    }
    if (header.fortran_order && header.shape.size() > 1) {
        data = npy_fortran_to_c(data, header.shape, item);
    }
    return stored_tensor{header.type, std::move(header.shape), std::move(data)};
}

inline std::string npy_descr(dtype type) {
    switch (type) {
    case dtype::f16:
        return "<f2";
    case dtype::f32:
        return "<f4";
    case dtype::f64:
        return "<f8";
    case dtype::i8:
        return "|i1";
    case dtype::i16:
        return "<i2";
    case dtype::i32:
        return "<i4";
    case dtype::i64:
        return "<i8";
    case dtype::u8:
        return "|u1";
    case dtype::u16:
        return "<u2";
    case dtype::u32:
        return "<u4";
    case dtype::u64:
        return "<u8";
    case dtype::boolean:
        return "|b1";
    case dtype::bf16:
        break;
    }
    throw value_error("io::save_npy: .npy has no bfloat16 type; convert first, e.g. "
                      "cast_floating(tensor, dtype::f32)");
}

/// Magic, version, header length and padded header for data of `type` and `shape`: the data
/// starts at a multiple of 64 bytes, and at `minimum_size` bytes or later (a writer that
/// rewrites the header once the first extent is known reserves room for it that way).
inline std::vector<std::byte> npy_preamble_bytes(dtype type, const std::vector<std::size_t>& shape,
                                                 std::size_t minimum_size = 0) {
    std::string dict = "{'descr': '" + npy_descr(type) +
                       "', 'fortran_order': False, 'shape': " + shape_to_string(shape) + ", }";
    // Pad with spaces and end with '\n'.
    const bool version_1 = dict.size() + 1 + 63 + minimum_size <= 65535;
    const std::size_t offset = version_1 ? 10 : 12;
    const std::size_t unpadded = std::max(offset + dict.size() + 1, minimum_size);
    dict.append(unpadded - (offset + dict.size() + 1) + (64 - unpadded % 64) % 64, ' ');
    dict.push_back('\n');

    std::vector<std::byte> out;
    for (char c : npy_magic) {
        out.push_back(static_cast<std::byte>(c));
    }
    out.push_back(static_cast<std::byte>(version_1 ? 1 : 2));
    out.push_back(std::byte{0});
    if (version_1) {
        append_little_endian<std::uint16_t>(out, static_cast<std::uint16_t>(dict.size()));
    } else {
        append_little_endian<std::uint32_t>(out, static_cast<std::uint32_t>(dict.size()));
    }
    for (char c : dict) {
        out.push_back(static_cast<std::byte>(c));
    }
    return out;
}

/// The preamble for `tensor`.
inline std::vector<std::byte> npy_preamble_bytes(const stored_tensor& tensor) {
    return npy_preamble_bytes(tensor.type, tensor.shape);
}

} // namespace detail

/// Parses a .npy image held in memory. `source` names it in error messages.
inline stored_tensor parse_npy(std::span<const std::byte> bytes,
                               std::string_view source = "<memory>") {
    auto preamble = detail::npy_read_version(bytes, source);
    if (bytes.size() < preamble.header_offset) {
        detail::npy_fail(source, "the file ends inside the header length field");
    }
    detail::npy_read_header_length(preamble, bytes, bytes.size(), source);
    const std::string_view text(reinterpret_cast<const char*>(bytes.data()) +
                                    preamble.header_offset,
                                preamble.header_length);
    auto [header, byte_count] = detail::npy_parse_header(text, source);
    const auto data = bytes.subspan(preamble.header_offset + preamble.header_length);
    detail::npy_check_data_size(byte_count, data.size(), header, source);
    return detail::npy_finish(std::move(header), std::vector<std::byte>(data.begin(), data.end()));
}

/// Reads a .npy file; the header is validated before the data buffer is allocated.
inline stored_tensor load_npy_file(const std::filesystem::path& file) {
    detail::input_file input(file, "io::load_npy");
    const std::string& source = input.path();
    std::array<std::byte, 12> first{};
    const std::size_t version_bytes = std::min<std::size_t>(input.size(), 8);
    input.read(std::span(first).first(version_bytes));
    auto preamble = detail::npy_read_version(std::span(first).first(version_bytes), source);
    if (input.size() < preamble.header_offset) {
        detail::npy_fail(source, "the file ends inside the header length field");
    }
    input.read(std::span(first).subspan(8, preamble.header_offset - 8));
    detail::npy_read_header_length(preamble, first, input.size(), source);
    std::string text(preamble.header_length, '\0');
    input.read(std::as_writable_bytes(std::span(text)));
    auto [header, byte_count] = detail::npy_parse_header(text, source);
    detail::npy_check_data_size(
        byte_count, input.size() - preamble.header_offset - preamble.header_length, header, source);
    std::vector<std::byte> data(byte_count);
    input.read(data);
    return detail::npy_finish(std::move(header), std::move(data));
}

/// Reads a .npy file as an xtensor of rank N, converting the dtype (see to_xtensor).
template <class T, std::size_t N>
xt::xtensor<T, N> load_npy(const std::filesystem::path& file) {
    return to_xtensor<T, N>(load_npy_file(file), file.filename().string(), file.string());
}

/// As above, also checking each extent of `expected_shape` that is not emofuse::dynamic.
template <class T, std::size_t N>
xt::xtensor<T, N> load_npy(const std::filesystem::path& file,
                           const std::array<std::size_t, N>& expected_shape) {
    return to_xtensor<T, N>(load_npy_file(file), file.filename().string(), file.string(),
                            expected_shape);
}

/// Serialises a tensor to a .npy image in memory (bf16 is rejected: numpy has no such type).
inline std::vector<std::byte> serialize_npy(const stored_tensor& tensor) {
    check_consistent(tensor, "<array>", "io::serialize_npy");
    auto out = detail::npy_preamble_bytes(tensor);
    out.insert(out.end(), tensor.bytes.begin(), tensor.bytes.end());
    return out;
}

/// Writes a .npy file that numpy.load reads.
inline void save_npy(const std::filesystem::path& file, const stored_tensor& tensor) {
    check_consistent(tensor, file.filename().string(), file.string());
    const auto preamble = detail::npy_preamble_bytes(tensor);
    detail::output_file output(file, "io::save_npy");
    output.write(preamble);
    output.write(tensor.bytes);
    output.finish();
}

/// Writes an xtensor as a .npy file of the matching dtype.
template <class T, std::size_t N>
void save_npy(const std::filesystem::path& file, const xt::xtensor<T, N>& values) {
    save_npy(file, to_stored(values));
}

/// Reads every `<name>.npy` file of a directory as tensor `<name>`, so parameters saved one
/// file per state-dict entry (`fusion.0.weight.npy`) load by their PyTorch names. Other files
/// and sub-directories are ignored. Throws io_error when `directory` is not a readable
/// directory; each file is read by load_npy_file (its errors name the file).
inline state_dict load_npy_directory(const std::filesystem::path& directory) {
    std::error_code code;
    if (!std::filesystem::is_directory(directory, code)) {
        throw io_error(emofuse::detail::concat_message(
            "io::load_npy_directory: '", directory.string(), "' is not a readable directory"));
    }
    state_dict tensors(directory.string());
    std::filesystem::directory_iterator entries(directory, code);
    for (; !code && entries != std::filesystem::directory_iterator(); entries.increment(code)) {
        const auto& path = entries->path();
        if (path.extension() == ".npy" && entries->is_regular_file(code)) {
            tensors.insert(path.stem().string(), load_npy_file(path));
        }
    }
    if (code) {
        throw io_error(emofuse::detail::concat_message(
            "io::load_npy_directory: listing '", directory.string(), "' failed: ", code.message()));
    }
    return tensors;
}

} // namespace emofuse::io
