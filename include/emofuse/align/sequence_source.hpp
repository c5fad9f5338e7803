// emofuse/align/sequence_source.hpp — where the aligner reads a sequence from, one entry at a
// time (an in-memory sequence, or a .csd file read lazily), so memory stays bounded by one
// video.
#pragma once

#include "emofuse/align/computational_sequence.hpp"

#include <cstddef>
#include <string>
#include <type_traits>
#include <vector>

namespace emofuse::align {

/// Precision of a sequence's features.
enum class feature_type { float32, float64 };

template <class T>
inline constexpr feature_type feature_type_of = sizeof(T) == 4 ? feature_type::float32
                                                               : feature_type::float64;

/// Rows stored contiguously elsewhere: intervals (count, 2), features (count, d).
template <class T>
struct rows_view {
    const double* intervals = nullptr;
    const T* features = nullptr;
    std::size_t count = 0;
};

/// A readable computational sequence.
class sequence_source {
public:
    virtual ~sequence_source() = default;

    /// The sequence's name (the root group of a .csd file).
    [[nodiscard]] virtual const std::string& name() const = 0;
    /// How errors name it, e.g. "sequence 'audio'" or "file 'a.csd' (sequence 'audio')".
    [[nodiscard]] virtual std::string label() const { return "sequence '" + name() + "'"; }
    [[nodiscard]] virtual feature_type type() const = 0;
    [[nodiscard]] virtual std::size_t feature_size() const = 0;
    /// Every entry key, in byte-wise order.
    [[nodiscard]] virtual std::vector<std::string> keys() const = 0;

    /// Appends the rows of entry `key` (converted to the requested precision). Throws
    /// emofuse::error when the entry is malformed (wrong ranks or sizes).
    virtual void read(const std::string& key, std::vector<double>& intervals,
                      std::vector<float>& features) const = 0;
    virtual void read(const std::string& key, std::vector<double>& intervals,
                      std::vector<double>& features) const = 0;

    /// Rows of entry `key` without a copy, when the source holds them in memory with the
    /// requested precision; false otherwise.
    virtual bool view(const std::string&, rows_view<float>&) const { return false; }
    virtual bool view(const std::string&, rows_view<double>&) const { return false; }

    /// True when read() and view() may run on several threads at once (the aligner then
    /// aligns videos in parallel); false keeps every read on the calling thread.
    [[nodiscard]] virtual bool concurrent_reads() const { return false; }
};

/// A source over a computational_sequence in memory (not copied: it must outlive the source).
template <class T>
class memory_source final : public sequence_source {
public:
    explicit memory_source(const computational_sequence<T>& seq) : seq_(seq) {}

    [[nodiscard]] const std::string& name() const override { return seq_.name; }
    [[nodiscard]] feature_type type() const override { return feature_type_of<T>; }
    [[nodiscard]] std::size_t feature_size() const override { return seq_.feature_size; }
    [[nodiscard]] std::vector<std::string> keys() const override {
        std::vector<std::string> out;
        out.reserve(seq_.entries.size());
        for (const auto& kv : seq_.entries) {
            out.push_back(kv.first);
        }
        return out;
    }

    void read(const std::string& key, std::vector<double>& intervals,
              std::vector<float>& features) const override {
        append(key, intervals, features);
    }
    void read(const std::string& key, std::vector<double>& intervals,
              std::vector<double>& features) const override {
        append(key, intervals, features);
    }

    bool view(const std::string& key, rows_view<float>& out) const override {
        return view_as(key, out);
    }
    bool view(const std::string& key, rows_view<double>& out) const override {
        return view_as(key, out);
    }
    /// Reads only look up the (unchanging) sequence in memory.
    [[nodiscard]] bool concurrent_reads() const override { return true; }

private:
    const segment<T>& checked(const std::string& key) const {
        const auto it = seq_.entries.find(key);
        if (it == seq_.entries.end()) {
            throw value_error("memory_source: sequence '" + seq_.name + "': no entry '" + key +
                              "'");
        }
        // Shapes only: the aligner checks the times of everything it reads.
        const segment<T>& entry = it->second;
        if (entry.intervals.shape(1) != 2 || entry.features.shape(0) != entry.rows() ||
            entry.features.shape(1) != seq_.feature_size) {
            validate_segment(seq_.name, key, entry, seq_.feature_size); // throws with details
        }
        return entry;
    }

    template <class U>
    void append(const std::string& key, std::vector<double>& intervals,
                std::vector<U>& features) const {
        const segment<T>& entry = checked(key);
        intervals.insert(intervals.end(), entry.intervals.begin(), entry.intervals.end());
        features.reserve(features.size() + entry.features.size());
        for (const T v : entry.features) {
            features.push_back(static_cast<U>(v));
        }
    }

    template <class U>
    bool view_as(const std::string& key, rows_view<U>& out) const {
        if constexpr (std::is_same_v<U, T>) {
            const segment<T>& entry = checked(key);
            out = {entry.intervals.data(), entry.features.data(), entry.rows()};
            return true;
        } else {
            return false;
        }
    }

    const computational_sequence<T>& seq_;
};

} // namespace emofuse::align
