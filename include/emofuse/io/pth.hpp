// emofuse/io/pth.hpp — reads PyTorch checkpoints in the zip format that torch.save writes since
// PyTorch 1.6 (`torch.save(model.state_dict(), "model.pth")`) without executing anything from
// the file, unlike torch.load.
//
// The archive holds `<prefix>/data.pkl` (the pickled object), `<prefix>/data/<key>` (one raw
// storage per key) and optionally `<prefix>/byteorder`; `<prefix>` is the directory of the first
// member (torch uses the file stem or "archive"). data.pkl is decoded by the restricted
// unpickler (detail/restricted_unpickler.hpp), which knows only ordered dicts, tensors rebuilt
// from storages, strings, numbers and None. Tensors of nested dicts, lists and tuples are
// flattened with '.' joins ({'state_dict': {'fc.weight': t}} → "state_dict.fc.weight");
// non-tensor leaves (an epoch count, a learning rate) go to state_dict::metadata() under the
// same names, and OrderedDict `_metadata` entries (module versions) under
// "_metadata:<module>:<key>". Views are materialised as C-order copies (shared storages,
// offsets and any non-negative strides); a view reaching past its storage, a container
// referenced twice (shared or cyclic), nesting deeper than 1000 and output beyond 16 times the
// file size are io_errors. The legacy (pre-1.6, non-zip) format is refused with a note on how
// to re-save.
#pragma once

#include <emofuse/core/checked_size.hpp>
#include <emofuse/core/error.hpp>
#include <emofuse/io/detail/binary_file.hpp>
#include <emofuse/io/detail/restricted_unpickler.hpp>
#include <emofuse/io/detail/zip_archive.hpp>
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
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace emofuse::io {

namespace detail {

inline constexpr std::size_t pth_max_nesting = 1000;
inline constexpr std::uint64_t pth_output_factor = 16;

/// True when `head` starts like a torch.save file in the legacy (pre-1.6) format: a
/// protocol-2 pickle of torch's magic number 0x1950a86a20f9469cfc6c as LONG1 (9 bytes needed).
inline bool is_legacy_torch_file(std::span<const std::byte> head) noexcept {
    constexpr unsigned char magic[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9};
    return head.size() >= sizeof magic && std::memcmp(head.data(), magic, sizeof magic) == 0;
}

inline std::string legacy_torch_message(std::string_view source) {
    return emofuse::detail::concat_message(
        "io::pth: ", source,
        " is a PyTorch checkpoint in the legacy (pre-1.6) pickle format, which cannot be read "
        "without executing it; re-save it with torch.save(..., "
        "_use_new_zipfile_serialization=True) in PyTorch >= 1.6 or convert it to safetensors");
}

template <class ReadAt>
class pth_reader {
public:
    pth_reader(ReadAt read_at, std::size_t total_size, std::string source)
        : source_(std::move(source)), what_("io::pth: " + source_),
          archive_(read_at, total_size, what_),
          budget_(total_size > (std::uint64_t{1} << 58)
                      ? ~std::uint64_t{0}
                      : total_size * pth_output_factor + (std::uint64_t{1} << 20)),
          tensors_(source_) {}

    state_dict read() {
        const auto& entries = archive_.entries();
        if (entries.empty()) {
            fail("the ZIP archive is empty (not a torch.save checkpoint)");
        }
        const std::string_view first = entries.front().name;
        if (first.find('/') == std::string_view::npos) {
            fail("the first ZIP member ", printable(first, '\'', 120),
                 " is not inside a directory (not a torch.save checkpoint)");
        }
        prefix_ = std::string(first.substr(0, first.find('/')));
        const auto* pickle_entry = archive_.find(prefix_ + "/data.pkl");
        if (pickle_entry == nullptr) {
            fail("no ", printable(prefix_ + "/data.pkl", '\'', 120),
                 " member (not a torch.save checkpoint)");
        }
        read_byte_order();
        const auto pickle = archive_.read(*pickle_entry);
        graph_ = restricted_unpickle(pickle, what_ + ": " + pickle_entry->name);
        visited_.assign(graph_.nodes.size(), false);
        const auto& root = graph_.nodes[graph_.root];
        if (root.kind != pickle_kind::dict) {
            fail("data.pkl holds a ", pickle_kind_name(root.kind),
                 ", not a dict of tensors (save model.state_dict())");
        }
        walk(graph_.root, "", 0);
        tensors_.set_metadata(std::move(metadata_));
        return std::move(tensors_);
    }

private:
    template <class... Parts>
    [[noreturn]] void fail(const Parts&... parts) const {
        throw io_error(emofuse::detail::concat_message(what_, ": ", parts...));
    }

    void read_byte_order() {
        const auto* entry = archive_.find(prefix_ + "/byteorder");
        if (entry == nullptr) {
            return; // torch before 2.1 writes none: little-endian
        }
        if (entry->uncompressed_size > 16) {
            fail(printable(entry->name, '\'', 120), " holds ", entry->uncompressed_size,
                 " bytes (expected \"little\" or \"big\")");
        }
        const auto bytes = archive_.read(*entry);
        const std::string_view order(reinterpret_cast<const char*>(bytes.data()), bytes.size());
        if (order == "big") {
            big_endian_ = true;
        } else if (order != "little") {
            fail(printable(entry->name, '\'', 120), " says ", printable(order, '\'', 16),
                 " (expected \"little\" or \"big\")");
        }
    }

    static std::string join(std::string_view prefix, std::string_view name) {
        if (prefix.empty() || name.empty()) {
            return std::string(prefix.empty() ? name : prefix);
        }
        return emofuse::detail::concat_message(prefix, ".", name);
    }

    std::string key_text(std::size_t key) const {
        const auto& node = graph_.nodes[key];
        return node.kind == pickle_kind::string ? node.text : std::to_string(node.integer);
    }

    static std::string scalar_text(const pickle_node& node) {
        switch (node.kind) {
        case pickle_kind::none:
            return "None";
        case pickle_kind::boolean:
            return node.integer != 0 ? "True" : "False";
        case pickle_kind::integer:
            return std::to_string(node.integer);
        case pickle_kind::string:
            return node.text;
        default: {
            char buffer[32];
            const auto result = std::to_chars(buffer, buffer + sizeof buffer, node.real);
            return std::string(buffer, result.ptr);
        }
        }
    }

    void walk(std::size_t index, const std::string& name, std::size_t depth) {
        if (depth > pth_max_nesting) {
            fail(printable(name, '\'', 80), ": containers nest deeper than ", pth_max_nesting);
        }
        const auto& node = graph_.nodes[index];
        switch (node.kind) {
        case pickle_kind::tensor:
            insert(name, materialise(node, name));
            return;
        case pickle_kind::none:
        case pickle_kind::boolean:
        case pickle_kind::integer:
        case pickle_kind::real:
        case pickle_kind::string:
            set_metadata(name, scalar_text(node));
            return;
        case pickle_kind::global:
        case pickle_kind::storage:
        case pickle_kind::bytes:
        case pickle_kind::numpy_dtype:
        case pickle_kind::numpy_array:
            fail(printable(name, '\'', 120), " holds a ", pickle_kind_name(node.kind),
                 ", not a tensor");
        case pickle_kind::tuple:
        case pickle_kind::list:
        case pickle_kind::dict:
            break;
        }
        visit_container_once(visited_, graph_, index, what_, name,
                             "shared or cyclic containers are not a state dict");
        if (node.kind == pickle_kind::dict) {
            for (std::size_t item = 0; item < node.items.size(); item += 2) {
                const std::string key = key_text(node.items[item]);
                if (key.empty()) {
                    fail(printable(name, '\'', 120), " has an empty key");
                }
                walk(node.items[item + 1], join(name, key), depth + 1);
            }
            if (node.attributes) {
                read_module_metadata(*node.attributes, name);
            }
        } else {
            for (std::size_t item = 0; item < node.items.size(); ++item) {
                walk(node.items[item], join(name, std::to_string(item)), depth + 1);
            }
        }
    }

    /// OrderedDict attributes: `_metadata` maps module names to {"version": n, ...}.
    void read_module_metadata(std::size_t attributes, const std::string& name) {
        const auto& state = graph_.nodes[attributes];
        for (std::size_t item = 0; item < state.items.size(); item += 2) {
            const auto& modules = graph_.nodes[state.items[item + 1]];
            if (key_text(state.items[item]) != "_metadata" || modules.kind != pickle_kind::dict) {
                continue;
            }
            for (std::size_t module = 0; module < modules.items.size(); module += 2) {
                const auto& entries = graph_.nodes[modules.items[module + 1]];
                if (entries.kind != pickle_kind::dict) {
                    continue;
                }
                const std::string module_name = join(name, key_text(modules.items[module]));
                for (std::size_t entry = 0; entry < entries.items.size(); entry += 2) {
                    const auto& value = graph_.nodes[entries.items[entry + 1]];
                    if (value.kind >= pickle_kind::tuple) {
                        continue; // only scalar entries are kept
                    }
                    metadata_["_metadata:" + module_name + ":" + key_text(entries.items[entry])] =
                        scalar_text(value);
                }
            }
        }
    }

    void set_metadata(const std::string& name, std::string value) {
        if (tensors_.contains(name) || !metadata_.emplace(name, std::move(value)).second) {
            fail("the name ", printable(name, '\'', 120), " appears twice");
        }
    }

    void insert(const std::string& name, stored_tensor tensor) {
        if (tensors_.contains(name) || metadata_.contains(name)) {
            fail("the tensor name ", printable(name, '\'', 120), " appears twice");
        }
        tensors_.insert(name, std::move(tensor));
    }

    /// The storage's bytes in native (little-endian) order, read once per key.
    const std::vector<std::byte>& storage_bytes(const pickle_node& storage) {
        const auto cached = storages_.find(storage.text);
        if (cached != storages_.end()) {
            return cached->second;
        }
        const std::string member = prefix_ + "/data/" + storage.text;
        const auto* entry = archive_.find(member);
        if (entry == nullptr) {
            fail("storage ", printable(storage.text, '\'', 120), " has no member ",
                 printable(member, '\'', 120));
        }
        const std::size_t item = dtype_size(storage.element_type);
        if (storage.numel > entry->uncompressed_size / item ||
            storage.numel * item != entry->uncompressed_size) {
            fail("storage ", printable(storage.text, '\'', 120), " declares ", storage.numel, " ",
                 dtype_name(storage.element_type), " elements but its member holds ",
                 entry->uncompressed_size, " bytes");
        }
        auto bytes = archive_.read(*entry);
        if (big_endian_ && item > 1) {
            for (std::size_t start = 0; start < bytes.size(); start += item) {
                std::reverse(bytes.begin() + static_cast<std::ptrdiff_t>(start),
                             bytes.begin() + static_cast<std::ptrdiff_t>(start + item));
            }
        }
        return storages_.emplace(storage.text, std::move(bytes)).first->second;
    }

    stored_tensor materialise(const pickle_node& tensor, const std::string& name) {
        const auto& storage = graph_.nodes[tensor.storage];
        stored_tensor result;
        result.type = tensor.element_type;
        const std::size_t item = dtype_size(result.type);
        for (std::uint64_t extent : tensor.shape) {
            if (extent > std::numeric_limits<std::size_t>::max()) {
                fail("tensor ", printable(name, '\'', 120),
                     " has an extent too large for this machine");
            }
            result.shape.push_back(static_cast<std::size_t>(extent));
        }
        const auto count = try_element_count(result.shape);
        const auto byte_count = count ? try_multiply(*count, item) : std::nullopt;
        if (!byte_count) {
            fail("tensor ", printable(name, '\'', 120), " of shape ", shape_to_string(result.shape),
                 " has more elements than fit in memory");
        }
        const auto& bytes = storage_bytes(storage); // checks the storage even for empty views
        if (*count == 0) {
            return result;
        }
        // The last element the view touches must lie inside the storage.
        std::uint64_t last = tensor.storage_offset;
        for (std::size_t axis = 0; axis < tensor.shape.size(); ++axis) {
            const std::uint64_t extent = tensor.shape[axis] - 1;
            const std::uint64_t stride = tensor.stride[axis];
            if (stride != 0 && extent > (~std::uint64_t{0} - last) / stride) {
                fail("tensor ", printable(name, '\'', 120), ": its strides overflow");
            }
            last += extent * stride;
        }
        if (last >= storage.numel) {
            fail("tensor ", printable(name, '\'', 120), " (offset ", tensor.storage_offset,
                 ", shape ", shape_to_string(result.shape), ") reaches element ", last,
                 " of storage ", printable(storage.text, '\'', 120), ", which holds ",
                 storage.numel, " elements");
        }
        if (*byte_count > budget_ - produced_) {
            fail("tensor ", printable(name, '\'', 120), " would take the output beyond ", budget_,
                 " bytes (16 times the file size): an expanded or repeated view");
        }
        produced_ += *byte_count;
        result.bytes.resize(*byte_count);
        const std::byte* source = bytes.data() + tensor.storage_offset * item;
        if (is_c_contiguous(tensor)) {
            std::memcpy(result.bytes.data(), source, *byte_count);
            return result;
        }
        // Strided gather in C order: an odometer over the index, tracking the source offset.
        const std::size_t rank = tensor.shape.size();
        std::vector<std::uint64_t> index(rank, 0);
        std::uint64_t offset = 0;
        for (std::size_t element = 0; element < *count; ++element) {
            std::memcpy(result.bytes.data() + element * item, source + offset * item, item);
            for (std::size_t axis = rank; axis-- > 0;) {
                if (++index[axis] < tensor.shape[axis]) {
                    offset += tensor.stride[axis];
                    break;
                }
                offset -= (tensor.shape[axis] - 1) * tensor.stride[axis];
                index[axis] = 0;
            }
        }
        return result;
    }

    static bool is_c_contiguous(const pickle_node& tensor) {
        std::uint64_t expected = 1;
        for (std::size_t axis = tensor.shape.size(); axis-- > 0;) {
            if (tensor.shape[axis] != 1 && tensor.stride[axis] != expected) {
                return false;
            }
            expected *= tensor.shape[axis];
        }
        return true;
    }

    std::string source_;
    std::string what_;
    zip_archive<ReadAt> archive_;
    std::uint64_t budget_ = 0;
    std::uint64_t produced_ = 0;
    std::string prefix_;
    bool big_endian_ = false;
    pickle_graph graph_;
    std::vector<bool> visited_;
    std::map<std::string, std::vector<std::byte>, std::less<>> storages_;
    std::map<std::string, std::string> metadata_;
    state_dict tensors_;
};

template <class ReadAt>
state_dict read_pth(ReadAt read_at, std::size_t total_size, const std::string& source) {
    // A file that is a bare pickle (PROTO opcode first) is a legacy or hand-made torch.save.
    const auto head = read_at(0, std::min<std::size_t>(total_size, 1));
    if (!head.empty() && head[0] == std::byte{0x80}) {
        throw io_error(legacy_torch_message(source));
    }
    return pth_reader<ReadAt>(std::move(read_at), total_size, source).read();
}

/// True when the file is a ZIP archive whose first member's directory holds data.pkl (a
/// torch.save checkpoint rather than an .npz), judged from the central directory alone so that
/// a checkpoint with lying members still reaches load_pth's errors; false for anything else.
inline bool is_pth_archive(const std::filesystem::path& path) {
    try {
        input_file input(path, "io::load_pth");
        auto read_at = [&input](std::size_t offset, std::size_t length) {
            return input.read_at(offset, length);
        };
        const zip_archive<decltype(read_at)> archive(read_at, input.size(), "io::pth",
                                                     /*validate=*/false);
        if (archive.entries().empty()) {
            return false;
        }
        const std::string_view first = archive.entries().front().name;
        const auto slash = first.find('/');
        return slash != std::string_view::npos &&
               archive.find(std::string(first.substr(0, slash)) + "/data.pkl") != nullptr;
    } catch (const io_error&) {
        return false;
    }
}

} // namespace detail

/// Parses a torch.save zip checkpoint held in memory. `source` names it in error messages.
inline state_dict parse_pth(std::span<const std::byte> bytes, std::string source = "<memory>") {
    auto read_at = [bytes, &source](std::size_t offset, std::size_t length) {
        if (offset > bytes.size() || length > bytes.size() - offset) {
            throw io_error(emofuse::detail::concat_message("io::pth: ", source, ": ", length,
                                                           " bytes at offset ", offset,
                                                           " lie outside the archive"));
        }
        const auto part = bytes.subspan(offset, length);
        return std::vector<std::byte>(part.begin(), part.end());
    };
    return detail::read_pth(read_at, bytes.size(), source);
}

/// Reads a torch.save zip checkpoint (PyTorch >= 1.6) as a state_dict, without executing
/// anything from it. Holds the pickle, the storages read so far and the result in memory.
inline state_dict load_pth(const std::filesystem::path& path) {
    detail::input_file input(path, "io::load_pth");
    auto read_at = [&input](std::size_t offset, std::size_t length) {
        return input.read_at(offset, length);
    };
    return detail::read_pth(read_at, input.size(), input.path());
}

} // namespace emofuse::io
