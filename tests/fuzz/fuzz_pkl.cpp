// libFuzzer target for the .pkl reader (pickled dicts of NumPy arrays, MMSA's feature files).
// parse_pkl must either throw io_error or return values whose arrays are consistent and
// convert cleanly; load_pkl must agree with it on the same bytes on disk, and to_pkl_split
// must accept or refuse the result with io_error only.
#include <emofuse/io/pkl.hpp>

#include "fuzz_common.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace {

void check_value(const emofuse::io::pickled_value& value) {
    using emofuse::io::pickled_kind;
    switch (value.kind) {
    case pickled_kind::array: {
        const auto expected = emofuse::io::checked_byte_count(value.array.type, value.array.shape);
        fuzz::require(expected && *expected == value.array.bytes.size(),
                      "an array's bytes match its dtype and shape");
        fuzz::exercise_conversions(value.array);
        break;
    }
    case pickled_kind::strings: {
        const auto count = emofuse::try_element_count(value.shape);
        fuzz::require(count && *count == value.strings.size(),
                      "a string array holds one string per element");
        break;
    }
    case pickled_kind::dict:
        fuzz::require(value.keys.size() == value.items.size(), "one value per dict key");
        [[fallthrough]];
    case pickled_kind::list:
    case pickled_kind::tuple:
        for (const auto& item : value.items) {
            check_value(item);
        }
        break;
    default:
        break;
    }
}

bool same(const emofuse::io::pickled_value& a, const emofuse::io::pickled_value& b) {
    if (a.kind != b.kind || a.integer != b.integer || a.text != b.text || a.keys != b.keys ||
        !(a.array == b.array) || a.strings != b.strings || a.shape != b.shape ||
        a.items.size() != b.items.size()) {
        return false;
    }
    // NaN reals compare by their bits.
    if (std::memcmp(&a.real, &b.real, sizeof a.real) != 0) {
        return false;
    }
    for (std::size_t index = 0; index < a.items.size(); ++index) {
        if (!same(a.items[index], b.items[index])) {
            return false;
        }
    }
    return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace emofuse::io;
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
    bool parsed = false;
    pickled_value value;
    try {
        value = parse_pkl(bytes, "fuzz");
        parsed = true;
    } catch (const emofuse::io_error&) {
    }
    const auto& path = fuzz::write_scratch(bytes, ".pkl");
    try {
        const auto from_file = load_pkl(path);
        fuzz::require(parsed, "load_pkl accepts only what parse_pkl accepts");
        fuzz::require(same(from_file, value), "file and memory values agree");
    } catch (const emofuse::io_error&) {
        fuzz::require(!parsed, "load_pkl rejects only what parse_pkl rejects");
    }
    if (!parsed) {
        return 0;
    }
    check_value(value);
    // Each top-level entry as a split of a feature file.
    for (const auto& item : value.items) {
        try {
            const auto split = to_pkl_split(item, "fuzz");
            for (const auto& [name, tensor] : split.arrays) {
                fuzz::exercise_conversions(tensor);
            }
        } catch (const emofuse::io_error&) {
            fuzz::require(item.kind != pickled_kind::dict, "only a non-dict split is refused");
        }
    }
    return 0;
}
