// emofuse/io/pkl.hpp — reads pickled dicts of NumPy arrays, such as MMSA's processed feature
// files (`aligned_50.pkl`, `unaligned_50.pkl`: {"train"|"valid"|"test": {"text": array, "id":
// object array of str, ...}}), without executing anything from the file, unlike pickle.load.
//
// The pickle is decoded by the restricted unpickler (detail/restricted_unpickler.hpp, dialect
// numpy_data), which knows dicts, lists, tuples, str, bytes, int, float, bool, None and NumPy
// arrays, dtypes and scalars described by their pickled state; any other global is refused by
// name. Only the value at the requested key path is copied out: numeric arrays as C-order
// little-endian stored_tensors (big-endian data byte-swapped, Fortran order transposed), str
// ('U') arrays and object arrays of str as UTF-8 string lists. Containers reached twice
// (shared or cyclic), nesting deeper than 1000 and output beyond 16 times the file size are
// io_errors. The whole file is held in memory while it is decoded.
#pragma once

#include <emofuse/core/checked_size.hpp>
#include <emofuse/core/error.hpp>
#include <emofuse/io/detail/binary_file.hpp>
#include <emofuse/io/detail/restricted_unpickler.hpp>
#include <emofuse/io/npy.hpp>
#include <emofuse/io/state_dict.hpp>
#include <emofuse/io/stored_tensor.hpp>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace emofuse::io {

enum class pickled_kind {
    none,
    boolean,
    integer,
    real,
    string,
    bytes,
    list,
    tuple,
    dict,
    array,  ///< a numeric NumPy array or scalar (0-d)
    strings ///< a NumPy str array or object array of str
};

/// A value read from a pickle.
struct pickled_value {
    pickled_kind kind = pickled_kind::none;
    std::int64_t integer = 0;         ///< integer; boolean (0 or 1)
    double real = 0;                  ///< real
    std::string text;                 ///< string (UTF-8); bytes
    std::vector<std::string> keys;    ///< dict: its keys in order (int keys in decimal)
    std::vector<pickled_value> items; ///< list, tuple; dict: the value of each key
    stored_tensor array;              ///< array
    std::vector<std::string> strings; ///< strings, in C order
    std::vector<std::size_t> shape;   ///< strings: the array's shape

    /// The value of dict key `key`, nullptr when absent or when this is not a dict.
    const pickled_value* find(std::string_view key) const noexcept {
        for (std::size_t index = 0; index < keys.size(); ++index) {
            if (keys[index] == key) {
                return &items[index];
            }
        }
        return nullptr;
    }
};

/// One split of a feature file: its numeric arrays under their keys, and its string arrays
/// and lists (MMSA's `id`, `raw_text`).
struct pkl_split {
    state_dict arrays;
    std::map<std::string, std::vector<std::string>, std::less<>> strings;
};

namespace detail {

inline constexpr std::size_t pkl_max_nesting = 1000;
inline constexpr std::uint64_t pkl_output_factor = 16;

/// "'train', 'valid', 'test'" for messages (at most 20 keys).
inline std::string listed_keys(const std::vector<std::string>& keys) {
    std::string text;
    for (std::size_t index = 0; index < keys.size() && index < 20; ++index) {
        text += (index == 0 ? "" : ", ") + printable(keys[index], '\'', 60);
    }
    if (keys.size() > 20) {
        text += emofuse::detail::concat_message(", ... (", keys.size(), " in all)");
    }
    return text.empty() ? std::string("no keys") : text;
}

class pkl_reader {
public:
    pkl_reader(std::span<const std::byte> pickle, std::string source)
        : what_("io::pkl: " + source),
          budget_(pickle.size() > (std::uint64_t{1} << 58)
                      ? ~std::uint64_t{0}
                      : pickle.size() * pkl_output_factor + (std::uint64_t{1} << 20)),
          graph_(restricted_unpickle(pickle, what_, pickle_dialect::numpy_data)),
          visited_(graph_.nodes.size(), false) {}

    /// The value at `path` (a key of the top-level dict, then a key of that value, ...).
    pickled_value read(std::span<const std::string> path) {
        std::size_t index = graph_.root;
        std::string name;
        for (const auto& key : path) {
            const auto& node = graph_.nodes[index];
            if (node.kind != pickle_kind::dict) {
                fail(name.empty() ? std::string("the pickle") : printable(name, '\'', 120),
                     " holds a ", pickle_kind_name(node.kind), ", not a dict with key ",
                     printable(key, '\'', 60));
            }
            std::optional<std::size_t> found;
            std::vector<std::string> keys;
            for (std::size_t item = 0; item < node.items.size(); item += 2) {
                keys.push_back(key_text(node.items[item]));
                if (keys.back() == key) {
                    found = node.items[item + 1]; // the last one wins, as in Python
                }
            }
            if (!found) {
                fail("no key ", printable(key, '\'', 60), " in ",
                     name.empty() ? std::string("the top-level dict") : printable(name, '\'', 120),
                     " (it holds ", listed_keys(keys), ")");
            }
            name = join(name, key);
            index = *found;
        }
        return convert(index, name, 0);
    }

private:
    template <class... Parts>
    [[noreturn]] void fail(const Parts&... parts) const {
        throw io_error(emofuse::detail::concat_message(what_, ": ", parts...));
    }

    static std::string join(std::string_view prefix, std::string_view name) {
        return prefix.empty() ? std::string(name)
                              : emofuse::detail::concat_message(prefix, "/", name);
    }

    std::string key_text(std::size_t key) const {
        const auto& node = graph_.nodes[key];
        return node.kind == pickle_kind::string ? node.text : std::to_string(node.integer);
    }

    void spend(std::uint64_t bytes, const std::string& name) {
        if (bytes > budget_ - produced_) {
            fail(printable(name, '\'', 120), " would take the output beyond ", budget_,
                 " bytes (16 times the file size): an array referenced over and over");
        }
        produced_ += bytes;
    }

    pickled_value convert(std::size_t index, const std::string& name, std::size_t depth) {
        if (depth > pkl_max_nesting) {
            fail(printable(name, '\'', 80), ": containers nest deeper than ", pkl_max_nesting);
        }
        const auto& node = graph_.nodes[index];
        pickled_value value;
        switch (node.kind) {
        case pickle_kind::none:
            return value;
        case pickle_kind::boolean:
        case pickle_kind::integer:
            value.kind =
                node.kind == pickle_kind::boolean ? pickled_kind::boolean : pickled_kind::integer;
            value.integer = node.integer;
            return value;
        case pickle_kind::real:
            value.kind = pickled_kind::real;
            value.real = node.real;
            return value;
        case pickle_kind::string:
        case pickle_kind::bytes: {
            const auto bytes = node.kind == pickle_kind::string
                                   ? std::as_bytes(std::span(node.text.data(), node.text.size()))
                                   : graph_.bytes_of(node);
            spend(bytes.size(), name);
            value.kind =
                node.kind == pickle_kind::string ? pickled_kind::string : pickled_kind::bytes;
            value.text.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
            return value;
        }
        case pickle_kind::numpy_array:
            return convert_array(node, name);
        case pickle_kind::global:
        case pickle_kind::storage:
        case pickle_kind::tensor:
        case pickle_kind::numpy_dtype:
            fail(printable(name.empty() ? std::string("the pickle") : name, '\'', 120), " holds a ",
                 pickle_kind_name(node.kind), ", not data");
        case pickle_kind::tuple:
        case pickle_kind::list:
        case pickle_kind::dict:
            break;
        }
        visit_container_once(visited_, graph_, index, what_, name,
                             "shared or cyclic containers are not read");
        if (node.kind == pickle_kind::dict) {
            value.kind = pickled_kind::dict;
            for (std::size_t item = 0; item < node.items.size(); item += 2) {
                std::string key = key_text(node.items[item]);
                auto converted = convert(node.items[item + 1], join(name, key), depth + 1);
                const auto same = std::find(value.keys.begin(), value.keys.end(), key);
                if (same != value.keys.end()) { // the last one wins, as in Python
                    value.items[static_cast<std::size_t>(same - value.keys.begin())] =
                        std::move(converted);
                    continue;
                }
                value.keys.push_back(std::move(key));
                value.items.push_back(std::move(converted));
            }
            return value;
        }
        value.kind = node.kind == pickle_kind::list ? pickled_kind::list : pickled_kind::tuple;
        for (std::size_t item = 0; item < node.items.size(); ++item) {
            value.items.push_back(
                convert(node.items[item], join(name, std::to_string(item)), depth + 1));
        }
        return value;
    }

    pickled_value convert_array(const pickle_node& node, const std::string& name) {
        if (!node.has_state) {
            fail("the numpy array ", printable(name, '\'', 120),
                 " is never given its contents (no BUILD after _reconstruct)");
        }
        std::vector<std::size_t> shape;
        for (const auto extent : node.shape) {
            if (extent > std::numeric_limits<std::size_t>::max()) {
                fail("the numpy array ", printable(name, '\'', 120),
                     " has an extent too large for this machine");
            }
            shape.push_back(static_cast<std::size_t>(extent));
        }
        const auto count = try_element_count(shape);
        if (!count) {
            fail("the numpy array ", printable(name, '\'', 120), " of shape ",
                 shape_to_string(shape), " has more elements than fit in memory");
        }
        pickled_value value;
        if (node.element == numpy_element::object) {
            value.kind = pickled_kind::strings;
            value.shape = std::move(shape);
            const auto& list = graph_.nodes[node.storage];
            if (list.items.size() != *count) {
                fail("the object array ", printable(name, '\'', 120), " of shape ",
                     shape_to_string(value.shape), " holds ", list.items.size(), " objects");
            }
            for (std::size_t item = 0; item < list.items.size(); ++item) {
                const auto& object = graph_.nodes[list.items[item]];
                if (object.kind != pickle_kind::string) {
                    fail("the object array ", printable(name, '\'', 120), " holds a ",
                         pickle_kind_name(object.kind), " at index ", item,
                         " (object arrays are read only when they hold str)");
                }
                spend(object.text.size() + 1, name);
                value.strings.push_back(object.text);
            }
            return value;
        }
        const std::size_t item = static_cast<std::size_t>(node.item_size);
        const auto data = graph_.bytes_of(graph_.nodes[node.storage]);
        spend(data.size(), name);
        std::vector<std::byte> bytes(data.begin(), data.end());
        if (node.fortran_order && shape.size() > 1 && item > 0) {
            bytes = npy_fortran_to_c(bytes, shape, item);
        }
        if (node.element == numpy_element::unicode) {
            // Each string costs its object even when empty ('U0' elements have no data at
            // all, so the data size alone does not bound the count).
            spend(try_multiply(*count, sizeof(std::string))
                      .value_or(std::numeric_limits<std::size_t>::max()),
                  name);
            value.kind = pickled_kind::strings;
            value.strings.reserve(*count);
            for (std::size_t element = 0; element < *count; ++element) {
                value.strings.push_back(
                    utf32_to_utf8(std::span(bytes).subspan(element * item, item), node.big_endian,
                                  name, element));
            }
            value.shape = std::move(shape);
            return value;
        }
        if (node.big_endian && item > 1) {
            npy_swap_bytes(bytes, item);
        }
        value.kind = pickled_kind::array;
        value.array = stored_tensor{node.element_type, std::move(shape), std::move(bytes)};
        return value;
    }

    /// One element of a NumPy 'U' array: UTF-32 code points, NUL-padded on the right.
    std::string utf32_to_utf8(std::span<const std::byte> element, bool big_endian,
                              const std::string& name, std::size_t index) const {
        std::string text;
        for (std::size_t offset = 0; offset + 4 <= element.size(); offset += 4) {
            std::uint32_t code = 0;
            for (std::size_t byte = 0; byte < 4; ++byte) {
                const auto part = static_cast<std::uint32_t>(element[offset + byte]);
                code |= part << (8 * (big_endian ? 3 - byte : byte));
            }
            if (code == 0) {
                break;
            }
            if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
                char digits[8] = {};
                const auto end = std::to_chars(digits, digits + sizeof digits, code, 16).ptr;
                fail("the str array ", printable(name, '\'', 120), " holds code point 0x",
                     std::string_view(digits, static_cast<std::size_t>(end - digits)),
                     " (not a character) in element ", index);
            }
            if (code < 0x80) {
                text.push_back(static_cast<char>(code));
            } else if (code < 0x800) {
                text.push_back(static_cast<char>(0xc0 | (code >> 6)));
                text.push_back(static_cast<char>(0x80 | (code & 0x3f)));
            } else if (code < 0x10000) {
                text.push_back(static_cast<char>(0xe0 | (code >> 12)));
                text.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3f)));
                text.push_back(static_cast<char>(0x80 | (code & 0x3f)));
            } else {
                text.push_back(static_cast<char>(0xf0 | (code >> 18)));
                text.push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3f)));
                text.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3f)));
                text.push_back(static_cast<char>(0x80 | (code & 0x3f)));
            }
        }
        return text;
    }

    std::string what_;
    std::uint64_t budget_ = 0;
    std::uint64_t produced_ = 0;
    pickle_graph graph_;
    std::vector<bool> visited_;
};

/// A list of numbers (int/bool → I64, any float → F64; also NumPy scalars of one dtype) as
/// a 1-d array; nullopt for any other list.
inline std::optional<stored_tensor> list_as_array(const pickled_value& list) {
    std::vector<std::size_t> shape{list.items.size()};
    if (list.items.empty()) {
        return stored_tensor{dtype::f64, shape, {}};
    }
    const auto& first = list.items.front();
    if (first.kind == pickled_kind::array && first.array.shape.empty()) {
        stored_tensor result{first.array.type, shape, {}};
        for (const auto& item : list.items) {
            if (item.kind != pickled_kind::array || !item.array.shape.empty() ||
                item.array.type != result.type) {
                return std::nullopt;
            }
            result.bytes.insert(result.bytes.end(), item.array.bytes.begin(),
                                item.array.bytes.end());
        }
        return result;
    }
    bool any_real = false;
    for (const auto& item : list.items) {
        if (item.kind == pickled_kind::real) {
            any_real = true;
        } else if (item.kind != pickled_kind::integer && item.kind != pickled_kind::boolean) {
            return std::nullopt;
        }
    }
    stored_tensor result{any_real ? dtype::f64 : dtype::i64, shape, {}};
    result.bytes.resize(list.items.size() * 8);
    for (std::size_t index = 0; index < list.items.size(); ++index) {
        const auto& item = list.items[index];
        if (any_real) {
            const double number =
                item.kind == pickled_kind::real ? item.real : static_cast<double>(item.integer);
            std::memcpy(result.bytes.data() + 8 * index, &number, 8);
        } else {
            std::memcpy(result.bytes.data() + 8 * index, &item.integer, 8);
        }
    }
    return result;
}

} // namespace detail

/// Decodes a pickle held in memory and returns the value at `path` (dict keys from the top;
/// empty: the whole pickle). `source` names it in error messages.
inline pickled_value parse_pkl(std::span<const std::byte> bytes, std::string source = "<memory>",
                               std::span<const std::string> path = {}) {
    const auto starts_with = [bytes](std::string_view magic) {
        return bytes.size() >= magic.size() &&
               std::memcmp(bytes.data(), magic.data(), magic.size()) == 0;
    };
    if (starts_with("PK\x03\x04") || starts_with("\x93NUMPY")) {
        throw io_error("io::pkl: " + source + " is " +
                       (starts_with("PK") ? "a ZIP archive (.npz or a torch.save checkpoint)"
                                          : "a .npy file") +
                       ", not a pickle");
    }
    return detail::pkl_reader(bytes, std::move(source)).read(path);
}

/// Reads a pickle file (protocols 2-5) without executing anything from it and returns the
/// value at `path`; only that value is copied out.
inline pickled_value load_pkl(const std::filesystem::path& path,
                              std::span<const std::string> keys = {}) {
    detail::input_file input(path, "io::load_pkl");
    const auto bytes = input.read_at(0, input.size());
    return parse_pkl(bytes, input.path(), keys);
}

/// The arrays of one split of a dict-of-splits feature file (MMSA's `.pkl`): numeric arrays
/// and lists of numbers go to `arrays` under their keys, str arrays and lists of str to
/// `strings`; other values (None, nested containers) are left out.
inline pkl_split to_pkl_split(const pickled_value& split, const std::string& source) {
    pkl_split result{state_dict(source), {}};
    if (split.kind != pickled_kind::dict) {
        throw io_error("io::pkl: " + source + ": the split is not a dict of arrays");
    }
    for (std::size_t index = 0; index < split.keys.size(); ++index) {
        const auto& key = split.keys[index];
        const auto& value = split.items[index];
        if (value.kind == pickled_kind::array) {
            result.arrays.insert(key, value.array);
        } else if (value.kind == pickled_kind::strings && value.shape.size() == 1) {
            result.strings.emplace(key, value.strings);
        } else if (value.kind == pickled_kind::list) {
            const bool all_text =
                !value.items.empty() &&
                std::all_of(value.items.begin(), value.items.end(), [](const pickled_value& item) {
                    return item.kind == pickled_kind::string;
                });
            if (all_text) {
                auto& texts = result.strings[key];
                for (const auto& item : value.items) {
                    texts.push_back(item.text);
                }
            } else if (auto array = detail::list_as_array(value)) {
                result.arrays.insert(key, std::move(*array));
            }
        }
    }
    return result;
}

/// Split `split` ("train", "valid", "test") of a dict-of-splits feature file.
inline pkl_split load_pkl_split(const std::filesystem::path& path, const std::string& split) {
    const std::string keys[] = {split};
    return to_pkl_split(load_pkl(path, keys), path.string() + " split '" + split + "'");
}

} // namespace emofuse::io
