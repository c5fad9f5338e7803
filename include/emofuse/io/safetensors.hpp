// emofuse/io/safetensors.hpp — reads and writes safetensors files (the format of Hugging Face
// `safetensors`), validating the header completely before touching tensor bytes.
//
// Layout: an 8-byte little-endian header length N, N bytes of JSON, then the data buffer.
// The JSON object maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end)}
// (offsets relative to the data buffer) plus an optional "__metadata__" string→string map.
// Rules enforced here (the same as the reference Rust loader, plus a few stricter ones):
//  - N ≤ 100,000,000 and N ≤ file size − 8; the JSON starts with '{', is one object, and is at
//    most 3 levels deep; no key appears twice in any object;
//  - every tensor entry has exactly the keys dtype, shape, data_offsets; dtype is one of F16
//    BF16 F32 F64 I8 I16 I32 I64 U8 U16 U32 U64 BOOL; shape and offsets are non-negative integers;
//  - end − begin == product(shape) × itemsize, without overflow;
//  - the tensors, sorted by offset, cover the data buffer exactly: no overlap, no gap, nothing
//    after the last tensor.
#pragma once

#include <emofuse/core/error.hpp>
#include <emofuse/io/detail/binary_file.hpp>
#include <emofuse/io/state_dict.hpp>
#include <emofuse/io/stored_tensor.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace emofuse::io {

/// Largest JSON header accepted (the reference implementation's limit).
inline constexpr std::size_t safetensors_max_header_size = 100'000'000;

namespace detail {

/// One validated tensor entry of a safetensors header.
struct safetensors_entry {
    std::string name;
    dtype type = dtype::f32;
    std::vector<std::size_t> shape;
    std::size_t begin = 0;
    std::size_t end = 0;
};

struct safetensors_header {
    std::vector<safetensors_entry> entries; // sorted by offset
    std::map<std::string, std::string> metadata;
};

/// An io_error raised from inside the JSON parser callback (kept apart from json errors).
struct safetensors_structure_error {
    std::string message;
};

inline std::string safetensors_known_dtypes() {
    return "F16, BF16, F32, F64, I8, I16, I32, I64, U8, U16, U32, U64, BOOL";
}

inline std::size_t safetensors_index(const nlohmann::json& value, std::string_view what,
                                     const std::string& name, std::string_view source) {
    if (!value.is_number_unsigned()) {
        throw io_error(emofuse::detail::concat_message(
            "io::safetensors: ", source, ": tensor '", name, "': ", what,
            " must be a non-negative integer, got ", value.dump()));
    }
    const auto number = value.get<std::uint64_t>();
    if (number > std::numeric_limits<std::size_t>::max()) {
        throw io_error(emofuse::detail::concat_message("io::safetensors: ", source, ": tensor '",
                                                       name, "': ", what, " ", number,
                                                       " does not fit in size_t"));
    }
    return static_cast<std::size_t>(number);
}

inline safetensors_entry parse_safetensors_entry(const std::string& name,
                                                 const nlohmann::json& info, std::size_t data_size,
                                                 std::string_view source) {
    const auto fail = [&](auto&&... parts) {
        throw io_error(emofuse::detail::concat_message("io::safetensors: ", source, ": tensor '",
                                                       name, "': ", parts...));
    };
    if (!info.is_object()) {
        fail("expected an object {dtype, shape, data_offsets}, got ", info.type_name());
    }
    for (const auto& [key, value] : info.items()) {
        if (key != "dtype" && key != "shape" && key != "data_offsets") {
            fail("unexpected key '", key, "' (allowed: dtype, shape, data_offsets)");
        }
    }
    for (const char* key : {"dtype", "shape", "data_offsets"}) {
        if (!info.contains(key)) {
            fail("missing key '", key, "'");
        }
    }
    safetensors_entry entry;
    entry.name = name;

    const auto& type = info["dtype"];
    if (!type.is_string()) {
        fail("dtype must be a string, got ", type.dump());
    }
    const auto parsed_type = dtype_from_name(type.get_ref<const std::string&>());
    if (!parsed_type) {
        fail("unsupported dtype '", type.get_ref<const std::string&>(), "' (emofuse reads ",
             safetensors_known_dtypes(), ")");
    }
    entry.type = *parsed_type;

    const auto& shape = info["shape"];
    if (!shape.is_array()) {
        fail("shape must be an array of non-negative integers, got ", shape.dump());
    }
    for (const auto& extent : shape) {
        entry.shape.push_back(safetensors_index(extent, "shape extent", name, source));
    }

    const auto& offsets = info["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2) {
        fail("data_offsets must be [begin, end], got ", offsets.dump());
    }
    entry.begin = safetensors_index(offsets[0], "data_offsets begin", name, source);
    entry.end = safetensors_index(offsets[1], "data_offsets end", name, source);
    if (entry.end < entry.begin) {
        fail("data_offsets [", entry.begin, ", ", entry.end, ") end before they begin");
    }
    if (entry.end > data_size) {
        fail("data_offsets [", entry.begin, ", ", entry.end, ") reach past the data buffer of ",
             data_size, " bytes (file truncated?)");
    }
    const auto byte_count = checked_byte_count(entry.type, entry.shape);
    if (!byte_count) {
        fail("shape ", shape_to_string(entry.shape), " of ", dtype_name(entry.type),
             " overflows size_t");
    }
    if (*byte_count != entry.end - entry.begin) {
        fail(dtype_name(entry.type), " shape ", shape_to_string(entry.shape), " needs ",
             *byte_count, " bytes, data_offsets [", entry.begin, ", ", entry.end, ") hold ",
             entry.end - entry.begin);
    }
    return entry;
}

/// Parses and validates the JSON header against a data buffer of `data_size` bytes.
inline safetensors_header parse_safetensors_header(std::string_view text, std::size_t data_size,
                                                   std::string_view source) {
    if (text.empty() || text.front() != '{') {
        throw io_error(
            emofuse::detail::concat_message("io::safetensors: ", source,
                                            ": the JSON header must start with '{' (is this a "
                                            "safetensors file?)"));
    }
    // nlohmann's lexer takes a NUL byte for the end of input, so "{}\0junk" would pass.
    if (const auto nul = text.find('\0'); nul != std::string_view::npos) {
        throw io_error(emofuse::detail::concat_message("io::safetensors: ", source,
                                                       ": the JSON header contains a NUL byte "
                                                       "at offset ",
                                                       nul));
    }
    // Reject duplicate keys (nlohmann would keep the last silently) and nesting deeper than the
    // format uses (top object → tensor object → shape array → integers).
    std::vector<std::set<std::string>> open_objects;
    const auto check_structure = [&](int depth, nlohmann::json::parse_event_t event,
                                     nlohmann::json& parsed) {
        using event_t = nlohmann::json::parse_event_t;
        if ((event == event_t::object_start || event == event_t::array_start) && depth > 2) {
            throw safetensors_structure_error{"the JSON header nests deeper than the format "
                                              "allows (tensor → shape → integers)"};
        }
        if (event == event_t::object_start) {
            open_objects.emplace_back();
        } else if (event == event_t::object_end && !open_objects.empty()) {
            open_objects.pop_back();
        } else if (event == event_t::key && !open_objects.empty()) {
            auto& key = parsed.get_ref<const std::string&>();
            if (!open_objects.back().insert(key).second) {
                throw safetensors_structure_error{emofuse::detail::concat_message(
                    "key '", key, "' appears twice in the same JSON object")};
            }
        }
        return true;
    };
    nlohmann::json header;
    try {
        header = nlohmann::json::parse(text.begin(), text.end(), check_structure);
    } catch (const safetensors_structure_error& structure) {
        throw io_error(
            emofuse::detail::concat_message("io::safetensors: ", source, ": ", structure.message));
    } catch (const nlohmann::json::exception& json_error) {
        throw io_error(emofuse::detail::concat_message(
            "io::safetensors: ", source, ": the header is not valid JSON: ", json_error.what()));
    }
    if (!header.is_object()) {
        throw io_error(emofuse::detail::concat_message("io::safetensors: ", source,
                                                       ": the header must be a JSON object, got ",
                                                       header.type_name()));
    }

    safetensors_header result;
    for (const auto& [name, info] : header.items()) {
        if (name == "__metadata__") {
            if (!info.is_object()) {
                throw io_error(emofuse::detail::concat_message(
                    "io::safetensors: ", source,
                    ": __metadata__ must be an object of strings, got ", info.type_name()));
            }
            for (const auto& [key, value] : info.items()) {
                if (!value.is_string()) {
                    throw io_error(emofuse::detail::concat_message(
                        "io::safetensors: ", source, ": __metadata__ value of '", key,
                        "' must be a string, got ", value.dump()));
                }
                result.metadata.emplace(key, value.get<std::string>());
            }
            continue;
        }
        result.entries.push_back(parse_safetensors_entry(name, info, data_size, source));
    }

    // The tensors must tile the data buffer: sorted by offset, each starts where the previous
    // one ended, and the last one ends at the end of the buffer.
    std::sort(result.entries.begin(), result.entries.end(), [](const auto& a, const auto& b) {
        return std::pair(a.begin, a.end) < std::pair(b.begin, b.end);
    });
    std::size_t covered = 0;
    const safetensors_entry* previous = nullptr;
    for (const auto& entry : result.entries) {
        if (entry.begin < covered) {
            throw io_error(emofuse::detail::concat_message(
                "io::safetensors: ", source, ": tensor '", entry.name, "' at [", entry.begin, ", ",
                entry.end, ") overlaps tensor '", previous->name, "' at [", previous->begin, ", ",
                previous->end, ")"));
        }
        if (entry.begin > covered) {
            throw io_error(emofuse::detail::concat_message(
                "io::safetensors: ", source, ": bytes [", covered, ", ", entry.begin,
                ") of the data buffer belong to no tensor (the format forbids holes)"));
        }
        covered = entry.end;
        previous = &entry;
    }
    if (covered != data_size) {
        throw io_error(emofuse::detail::concat_message(
            "io::safetensors: ", source, ": the data buffer has ", data_size,
            " bytes but the tensors cover only the first ", covered,
            " (trailing bytes are not allowed)"));
    }
    return result;
}

/// Validates the 8-byte length prefix against the total size; returns the header length.
inline std::size_t safetensors_header_length(const std::byte* prefix, std::size_t total_size,
                                             std::string_view source) {
    const auto length = read_little_endian<std::uint64_t>(prefix);
    if (length > safetensors_max_header_size) {
        throw io_error(emofuse::detail::concat_message(
            "io::safetensors: ", source, ": header length ", length, " exceeds the limit of ",
            safetensors_max_header_size, " bytes (corrupt file or not safetensors?)"));
    }
    if (length > total_size - 8) {
        throw io_error(emofuse::detail::concat_message(
            "io::safetensors: ", source, ": header length ", length, " is larger than the ",
            total_size - 8, " bytes after the length prefix (file truncated?)"));
    }
    return static_cast<std::size_t>(length);
}

inline void check_safetensors_size(std::size_t total_size, std::string_view source) {
    if (total_size < 8) {
        throw io_error(emofuse::detail::concat_message(
            "io::safetensors: ", source, ": ", total_size,
            " bytes is too short to hold the 8-byte header length"));
    }
}

inline state_dict make_state_dict(safetensors_header& header, std::string source) {
    state_dict tensors(std::move(source));
    tensors.set_metadata(std::move(header.metadata));
    return tensors;
}

/// Writes the header and the tensors through `sink(std::span<const std::byte>)`.
template <class Sink>
void write_safetensors(const state_dict& tensors,
                       const std::map<std::string, std::string>& extra_metadata, Sink&& sink) {
    // Larger elements first, so that with the header padded to 8 bytes every tensor starts at
    // a multiple of its element size (as the reference writer does); then by name.
    std::vector<std::pair<std::string_view, const stored_tensor*>> order;
    for (const auto& [name, tensor] : tensors) {
        if (name == "__metadata__") {
            throw value_error("io::save_safetensors: a tensor cannot be named '__metadata__'");
        }
        check_consistent(tensor, name, tensors.source());
        order.emplace_back(name, &tensor);
    }
    std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
        return dtype_size(a.second->type) > dtype_size(b.second->type);
    });

    nlohmann::json header = nlohmann::json::object();
    std::map<std::string, std::string> metadata = tensors.metadata();
    for (const auto& [key, value] : extra_metadata) {
        metadata.insert_or_assign(key, value);
    }
    if (!metadata.empty()) {
        header["__metadata__"] = metadata;
    }
    std::size_t offset = 0;
    for (const auto& [name, tensor] : order) {
        header[std::string(name)] = {{"dtype", std::string(dtype_name(tensor->type))},
                                     {"shape", tensor->shape},
                                     {"data_offsets", {offset, offset + tensor->bytes.size()}}};
        offset += tensor->bytes.size();
    }
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');

    std::vector<std::byte> prefix;
    append_little_endian<std::uint64_t>(prefix, text.size());
    sink(std::span<const std::byte>(prefix));
    sink(std::as_bytes(std::span(text)));
    for (const auto& entry : order) {
        sink(std::span<const std::byte>(entry.second->bytes));
    }
}

} // namespace detail

/// Parses a safetensors image held in memory. `source` names it in error messages.
inline state_dict parse_safetensors(std::span<const std::byte> bytes,
                                    std::string source = "<memory>") {
    detail::check_safetensors_size(bytes.size(), source);
    const std::size_t header_length =
        detail::safetensors_header_length(bytes.data(), bytes.size(), source);
    const std::string_view text(reinterpret_cast<const char*>(bytes.data() + 8), header_length);
    const auto data = bytes.subspan(8 + header_length);
    auto header = detail::parse_safetensors_header(text, data.size(), source);
    auto tensors = detail::make_state_dict(header, std::move(source));
    for (auto& entry : header.entries) {
        const auto slice = data.subspan(entry.begin, entry.end - entry.begin);
        stored_tensor tensor{entry.type, std::move(entry.shape),
                             std::vector<std::byte>(slice.begin(), slice.end())};
        tensors.insert(std::move(entry.name), std::move(tensor));
    }
    return tensors;
}

/// Reads a safetensors file. Only the header is read before validation, and each tensor is
/// read straight into its own buffer, so a corrupt header never causes a huge allocation and
/// the peak memory is the size of the tensors.
inline state_dict load_safetensors(const std::filesystem::path& file) {
    detail::input_file input(file, "io::load_safetensors");
    const std::string& source = input.path();
    detail::check_safetensors_size(input.size(), source);
    std::byte prefix[8];
    input.read(prefix);
    const std::size_t header_length =
        detail::safetensors_header_length(prefix, input.size(), source);
    std::string text(header_length, '\0');
    input.read(std::as_writable_bytes(std::span(text)));
    auto header = detail::parse_safetensors_header(text, input.size() - 8 - header_length, source);
    auto tensors = detail::make_state_dict(header, source);
    for (auto& entry : header.entries) { // sorted by offset and contiguous: read in order
        stored_tensor tensor{entry.type, std::move(entry.shape),
                             std::vector<std::byte>(entry.end - entry.begin)};
        input.read(tensor.bytes);
        tensors.insert(std::move(entry.name), std::move(tensor));
    }
    return tensors;
}

/// Serialises tensors to a safetensors image in memory. The metadata written is the
/// state_dict's own metadata overlaid with `metadata`.
inline std::vector<std::byte>
serialize_safetensors(const state_dict& tensors,
                      const std::map<std::string, std::string>& metadata = {}) {
    std::vector<std::byte> out;
    detail::write_safetensors(tensors, metadata, [&](std::span<const std::byte> bytes) {
        out.insert(out.end(), bytes.begin(), bytes.end());
    });
    return out;
}

/// Writes a safetensors file that the Python `safetensors` package and PyTorch tools read.
inline void save_safetensors(const std::filesystem::path& file, const state_dict& tensors,
                             const std::map<std::string, std::string>& metadata = {}) {
    detail::output_file output(file, "io::save_safetensors");
    detail::write_safetensors(tensors, metadata,
                              [&](std::span<const std::byte> bytes) { output.write(bytes); });
    output.finish();
}

} // namespace emofuse::io
