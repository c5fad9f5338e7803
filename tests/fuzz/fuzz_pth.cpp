// libFuzzer target for the .pth reader. Each input is used twice:
//  - as a whole checkpoint: parse_pth must either throw io_error or return tensors that
//    convert cleanly, and load_pth must agree with it on the same bytes on disk;
//  - as the pickle alone (data.pkl): the restricted unpickler must decode or refuse it, and
//    when it decodes, the input is wrapped in a well-formed archive with a storage member of
//    the declared size for every storage it names, so that mutations reach the tensor
//    rebuilding and flattening (a mutated pickle inside a ZIP would mostly fail the CRC).
#include <emofuse/io/detail/restricted_unpickler.hpp>
#include <emofuse/io/detail/zip_archive.hpp>
#include <emofuse/io/pth.hpp>

#include "fuzz_common.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace {

/// A stored ZIP archive of `members`, laid out as torch.save lays it out.
std::vector<std::byte> stored_zip(const std::map<std::string, std::vector<std::byte>>& members) {
    using emofuse::io::detail::append_little_endian;
    std::vector<std::byte> out;
    std::vector<std::byte> central;
    for (const auto& [name, data] : members) {
        const auto offset = static_cast<std::uint32_t>(out.size());
        const std::uint32_t crc = emofuse::io::detail::crc32(data);
        const auto size = static_cast<std::uint32_t>(data.size());
        const auto name_length = static_cast<std::uint16_t>(name.size());
        append_little_endian<std::uint32_t>(out, 0x04034b50);
        for (std::uint16_t field : {20, 0, 0, 0, 0x21}) { // version, flags, method, time, date
            append_little_endian<std::uint16_t>(out, field);
        }
        for (std::uint32_t field : {crc, size, size}) {
            append_little_endian<std::uint32_t>(out, field);
        }
        append_little_endian<std::uint16_t>(out, name_length);
        append_little_endian<std::uint16_t>(out, 0);
        for (char c : name) {
            out.push_back(static_cast<std::byte>(c));
        }
        out.insert(out.end(), data.begin(), data.end());

        append_little_endian<std::uint32_t>(central, 0x02014b50);
        for (std::uint16_t field : {20, 20, 0, 0, 0, 0x21}) {
            append_little_endian<std::uint16_t>(central, field);
        }
        for (std::uint32_t field : {crc, size, size}) {
            append_little_endian<std::uint32_t>(central, field);
        }
        for (std::uint16_t field : {name_length, std::uint16_t{0}, std::uint16_t{0},
                                    std::uint16_t{0}, std::uint16_t{0}}) {
            append_little_endian<std::uint16_t>(central, field);
        }
        append_little_endian<std::uint32_t>(central, 0); // external attributes
        append_little_endian<std::uint32_t>(central, offset);
        for (char c : name) {
            central.push_back(static_cast<std::byte>(c));
        }
    }
    const auto directory_offset = static_cast<std::uint32_t>(out.size());
    out.insert(out.end(), central.begin(), central.end());
    append_little_endian<std::uint32_t>(out, 0x06054b50);
    for (std::uint16_t field :
         {std::uint16_t{0}, std::uint16_t{0}, static_cast<std::uint16_t>(members.size()),
          static_cast<std::uint16_t>(members.size())}) {
        append_little_endian<std::uint16_t>(out, field);
    }
    append_little_endian<std::uint32_t>(out, static_cast<std::uint32_t>(central.size()));
    append_little_endian<std::uint32_t>(out, directory_offset);
    append_little_endian<std::uint16_t>(out, 0);
    return out;
}

void check_parsed(const emofuse::io::state_dict& tensors) {
    for (const auto& [name, tensor] : tensors) {
        fuzz::require(!name.empty(), "tensor names are not empty");
        fuzz::exercise_conversions(tensor);
    }
}

void fuzz_pickle(std::span<const std::byte> pickle) {
    using namespace emofuse::io;
    detail::pickle_graph graph;
    try {
        graph = detail::restricted_unpickle(pickle, "fuzz");
    } catch (const emofuse::io_error&) {
        return;
    }
    std::map<std::string, std::vector<std::byte>> members;
    members.emplace("archive/data.pkl", std::vector<std::byte>(pickle.begin(), pickle.end()));
    std::size_t total = 0;
    for (const auto& node : graph.nodes) {
        if (node.kind != detail::pickle_kind::storage) {
            continue;
        }
        const std::size_t item = dtype_size(node.element_type);
        if (node.numel > (std::size_t{1} << 20) / item || total + node.numel * item > (1u << 20)) {
            return; // keep each run small
        }
        total += node.numel * item;
        std::vector<std::byte> data(static_cast<std::size_t>(node.numel) * item);
        for (std::size_t index = 0; index < data.size(); ++index) {
            // Bytes 0 and 1 only, so BOOL storages are valid and conversions get exercised.
            data[index] = static_cast<std::byte>(index % 3 == 0 ? 1 : 0);
        }
        members.emplace("archive/data/" + node.text, std::move(data));
    }
    const auto archive = stored_zip(members);
    try {
        check_parsed(parse_pth(archive, "fuzz"));
    } catch (const emofuse::io_error&) {
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace emofuse::io;
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
    fuzz_pickle(bytes);

    bool parsed = false;
    state_dict tensors;
    try {
        tensors = parse_pth(bytes, "fuzz");
        parsed = true;
    } catch (const emofuse::io_error&) {
    }
    const auto& path = fuzz::write_scratch(bytes, ".pth");
    try {
        const auto from_file = load_pth(path);
        fuzz::require(parsed, "load_pth accepts only what parse_pth accepts");
        fuzz::require(from_file.names() == tensors.names(), "file and memory names agree");
        for (const auto& [name, tensor] : from_file) {
            fuzz::require(tensor == tensors.at(name), "file and memory tensors agree");
        }
        fuzz::require(from_file.metadata() == tensors.metadata(), "metadata agree");
    } catch (const emofuse::io_error&) {
        fuzz::require(!parsed, "load_pth rejects only what parse_pth rejects");
    }
    check_parsed(tensors);
    return 0;
}
