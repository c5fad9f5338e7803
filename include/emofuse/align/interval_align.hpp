// emofuse/align/interval_align.hpp — interval alignment with the CMU-MultimodalSDK's exact
// semantics (`mmdataset.align` + `impute`), streamed one video at a time.
//
// Per video, every other sequence's rows are sorted by start once and each reference row
// finds its frames by binary search over the sorted starts and a running maximum of the
// ends, so a video costs O(F log F + W log F + kept frames) instead of the SDK's O(W × F).
#pragma once

#include "emofuse/align/collapse.hpp"
#include "emofuse/align/computational_sequence.hpp"
#include "emofuse/align/sequence_source.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace emofuse::align {

/// What `align` does.
struct align_options {
    /// Name of the reference sequence (the SDK's `reference`).
    std::string reference;
    /// Collapse functions applied to every segment, outputs concatenated along features.
    /// Empty: each entry keeps its clipped intervals and raw feature rows.
    std::vector<collapse_function> collapse;
    /// After aligning, give every reference key missing in another sequence the reference's
    /// interval and zero features (the SDK's `impute(reference, numpy.zeros)`).
    bool impute_zeros = false;
    /// Called after each video: (videos done, videos in total, video id).
    std::function<void(std::size_t, std::size_t, std::string_view)> progress;
};

/// What `align` did.
struct align_report {
    /// Video ids not present in every sequence; the SDK warns and removes them everywhere.
    std::vector<std::string> removed_ids;
    std::size_t videos = 0;
    /// Reference rows skipped because |end - start| < ε (their index is not reused).
    std::size_t skipped_reference_rows = 0;
    /// Keys written per sequence (input order), imputed ones included.
    std::vector<std::size_t> segments;
    /// Keys imputed per sequence (input order).
    std::vector<std::size_t> imputed;
};

/// The aligned entries of one video: one sequence per input, in input order.
using aligned_chunk = std::vector<any_sequence>;

/// Receives each video's aligned entries as soon as they are ready.
using align_sink = std::function<void(std::string_view video, aligned_chunk& chunk)>;

namespace detail {

inline constexpr std::string_view align_stage = "align";

// One sequence's rows for the current video, sorted by start, with a running max of ends.
template <class T>
class video_rows {
public:
    // Loads the rows of `keys` (concatenated in key order, as the SDK does), checks the
    // times, and (if `sort`) stable-sorts them by start.
    void load(const sequence_source& source, const std::vector<std::string>& keys,
              std::string_view video, bool sort) {
        own_intervals_.clear();
        own_features_.clear();
        rows_ = {};
        if (keys.size() != 1 || !source.view(keys.front(), rows_)) {
            for (const auto& key : keys) {
                source.read(key, own_intervals_, own_features_);
            }
            point_at_own(source.feature_size());
        }
        dim_ = source.feature_size();
        if (rows_.count * dim_ != 0 && rows_.features == nullptr) {
            throw io_error(emofuse::detail::concat_message(
                align_stage, ": ", source.label(), ", video '", video, "': features missing"));
        }
        check_intervals(align_stage, source.label(), video, rows_.intervals, rows_.count);
        if (sort) {
            sort_by_start();
            max_end_.resize(rows_.count);
            double running = -std::numeric_limits<double>::infinity();
            for (std::size_t j = 0; j < rows_.count; ++j) {
                running = std::max(running, rows_.intervals[2 * j + 1]);
                max_end_[j] = running;
            }
        }
    }

    [[nodiscard]] const rows_view<T>& rows() const { return rows_; }
    [[nodiscard]] std::size_t dim() const { return dim_; }

    // Indices (sorted order) of the frames that meet [r0, r1] and whose clipped length
    // exceeds ε, with their clipped intervals — the SDK's __intersect_and_copy.
    void intersect(double r0, double r1, std::vector<std::size_t>& kept,
                   std::vector<double>& clipped) const {
        kept.clear();
        clipped.clear();
        const double eps = interval_epsilon;
        const double* iv = rows_.intervals;
        // Conservative bounds (2ε): the exact SDK test below decides.
        const auto lo_it = std::partition_point(max_end_.begin(), max_end_.end(),
                                                [&](double e) { return e <= r0 - 2 * eps; });
        const std::size_t lo = static_cast<std::size_t>(lo_it - max_end_.begin());
        std::size_t first = lo;
        std::size_t count = rows_.count - lo;
        while (count > 0) { // first index with start >= r1 + 2ε
            const std::size_t half = count / 2;
            if (iv[2 * (first + half)] < r1 + 2 * eps) {
                first += half + 1;
                count -= half + 1;
            } else {
                count = half;
            }
        }
        for (std::size_t j = lo; j < first; ++j) {
            const double s0 = iv[2 * j];
            const double s1 = iv[2 * j + 1];
            if (r1 - s0 > -eps && s1 - r0 > -eps) {
                const double c0 = std::max(s0, r0);
                const double c1 = std::min(s1, r1);
                if (std::abs(c0 - c1) > eps) {
                    kept.push_back(j);
                    clipped.push_back(c0);
                    clipped.push_back(c1);
                }
            }
        }
    }

private:
    void point_at_own(std::size_t dim) {
        rows_.count = own_intervals_.size() / 2;
        rows_.intervals = own_intervals_.data();
        rows_.features = own_features_.data();
        if (own_intervals_.size() % 2 != 0 || own_features_.size() != rows_.count * dim) {
            throw shape_error(emofuse::detail::concat_message(
                align_stage, ": rows read: expected ", rows_.count, " feature rows of ", dim,
                " values, got ", own_features_.size(), " values"));
        }
    }

    void sort_by_start() {
        const double* iv = rows_.intervals;
        bool sorted = true;
        for (std::size_t j = 1; j < rows_.count && sorted; ++j) {
            sorted = !(iv[2 * j] < iv[2 * (j - 1)]);
        }
        if (sorted) {
            return;
        }
        std::vector<std::size_t> order(rows_.count);
        std::iota(order.begin(), order.end(), std::size_t{0});
        std::stable_sort(order.begin(), order.end(),
                         [&](std::size_t a, std::size_t b) { return iv[2 * a] < iv[2 * b]; });
        std::vector<double> intervals(2 * rows_.count);
        std::vector<T> features(rows_.count * dim_);
        for (std::size_t j = 0; j < rows_.count; ++j) {
            const std::size_t src = order[j];
            intervals[2 * j] = iv[2 * src];
            intervals[2 * j + 1] = iv[2 * src + 1];
            std::copy_n(rows_.features + src * dim_, dim_, features.data() + j * dim_);
        }
        own_intervals_ = std::move(intervals);
        own_features_ = std::move(features);
        rows_.intervals = own_intervals_.data();
        rows_.features = own_features_.data();
    }

    std::vector<double> own_intervals_;
    std::vector<T> own_features_;
    rows_view<T> rows_;
    std::vector<double> max_end_;
    std::size_t dim_ = 0;
};

// Output width of a sequence of feature size d.
inline std::size_t output_size(const std::vector<collapse_function>& collapse, std::size_t d) {
    if (collapse.empty()) {
        return d;
    }
    std::size_t width = 0;
    for (const auto& fn : collapse) {
        width += fn.output_size(d);
    }
    return width;
}

// Builds one aligned entry from k kept frames (sorted-order indices into `rows`).
template <class T>
segment<T> make_entry(const rows_view<T>& rows, std::size_t dim,
                      const std::vector<std::size_t>& kept, const std::vector<double>& clipped,
                      const std::vector<collapse_function>& collapse, std::vector<T>& gather) {
    const std::size_t k = kept.size();
    segment<T> out;
    if (collapse.empty()) {
        out.intervals = xt::xtensor<double, 2>::from_shape({k, 2});
        std::copy(clipped.begin(), clipped.end(), out.intervals.begin());
        out.features = xt::xtensor<T, 2>::from_shape({k, dim});
        for (std::size_t r = 0; r < k; ++r) {
            std::copy_n(rows.features + kept[r] * dim, dim, out.features.data() + r * dim);
        }
        return out;
    }
    const auto [lo, hi] = std::minmax_element(clipped.begin(), clipped.end());
    out.intervals = xt::xtensor<double, 2>::from_shape({1, 2});
    out.intervals(0, 0) = *lo;
    out.intervals(0, 1) = *hi;
    // Kept frames are usually consecutive rows: collapse in place, gather otherwise.
    const T* features = rows.features + kept.front() * dim;
    if (kept.back() - kept.front() + 1 != k) {
        gather.resize(k * dim);
        for (std::size_t r = 0; r < k; ++r) {
            std::copy_n(rows.features + kept[r] * dim, dim, gather.data() + r * dim);
        }
        features = gather.data();
    }
    out.features = xt::xtensor<T, 2>::from_shape({1, output_size(collapse, dim)});
    T* dst = out.features.data();
    for (const auto& fn : collapse) {
        fn(clipped.data(), features, k, dim, dst);
        dst += fn.output_size(dim);
    }
    return out;
}

// The per-sequence state of one alignment run (typed by the sequence's precision).
struct sequence_state {
    virtual ~sequence_state() = default;
    virtual void load(const std::vector<std::string>& keys, std::string_view video, bool sort) = 0;
    virtual any_sequence empty_chunk() const = 0;
    // Aligns to reference row [r0, r1]; adds `key` to `chunk` when a frame is kept.
    virtual bool align_row(double r0, double r1, const std::string& key, any_sequence& chunk) = 0;
    // The reference's own row `row` (of the loaded reference rows).
    virtual void own_row(std::size_t row, const std::string& key, any_sequence& chunk) = 0;
    virtual std::size_t rows() const = 0;
    virtual const double* intervals() const = 0;
};

template <class T>
class typed_state final : public sequence_state {
public:
    typed_state(const sequence_source& source, const std::vector<collapse_function>& collapse)
        : source_(source), collapse_(collapse) {}

    void load(const std::vector<std::string>& keys, std::string_view video, bool sort) override {
        rows_.load(source_, keys, video, sort);
    }

    any_sequence empty_chunk() const override {
        computational_sequence<T> seq;
        seq.name = source_.name();
        seq.feature_size = output_size(collapse_, source_.feature_size());
        return seq;
    }

    bool align_row(double r0, double r1, const std::string& key, any_sequence& chunk) override {
        rows_.intersect(r0, r1, kept_, clipped_);
        if (kept_.empty()) {
            return false;
        }
        auto& entries = std::get<computational_sequence<T>>(chunk).entries;
        entries.insert_or_assign(
            entries.end(), key,
            make_entry(rows_.rows(), rows_.dim(), kept_, clipped_, collapse_, gather_));
        return true;
    }

    void own_row(std::size_t row, const std::string& key, any_sequence& chunk) override {
        const double* iv = rows_.rows().intervals + 2 * row;
        clipped_.assign(iv, iv + 2); // the reference row itself, not clipped
        kept_.assign(1, row);
        auto& entries = std::get<computational_sequence<T>>(chunk).entries;
        entries.insert_or_assign(
            entries.end(), key,
            make_entry(rows_.rows(), rows_.dim(), kept_, clipped_, collapse_, gather_));
    }

    std::size_t rows() const override { return rows_.rows().count; }
    const double* intervals() const override { return rows_.rows().intervals; }

private:
    const sequence_source& source_;
    const std::vector<collapse_function>& collapse_;
    video_rows<T> rows_;
    std::vector<std::size_t> kept_;
    std::vector<double> clipped_;
    std::vector<T> gather_;
};

inline std::unique_ptr<sequence_state> make_state(const sequence_source& source,
                                                  const std::vector<collapse_function>& collapse) {
    if (source.type() == feature_type::float32) {
        return std::make_unique<typed_state<float>>(source, collapse);
    }
    return std::make_unique<typed_state<double>>(source, collapse);
}

// Adds zero entries for the reference keys a sequence lacks (the SDK's impute).
inline std::size_t impute_zeros(const any_sequence& reference, any_sequence& other) {
    return std::visit(
        [&](const auto& ref, auto& out) {
            using T = typename std::decay_t<decltype(out)>::value_type;
            std::size_t added = 0;
            for (const auto& [key, entry] : ref.entries) {
                if (out.entries.count(key) != 0) {
                    continue;
                }
                segment<T> zero;
                zero.intervals = entry.intervals;
                zero.features = xt::zeros<T>({entry.rows(), out.feature_size});
                out.entries.emplace(key, std::move(zero));
                ++added;
            }
            return added;
        },
        reference, other);
}

} // namespace detail

/// Aligns every source to the reference, one video at a time, handing each video's entries
/// to `sink`. Memory is bounded by the largest video. Entry keys are `key[i]` with `key` the
/// reference entry key and i the reference row's stored index.
inline align_report align_stream(std::span<const sequence_source* const> sources,
                                 const align_options& options, const align_sink& sink) {
    using emofuse::detail::concat_message;
    const std::string_view stage = detail::align_stage;
    if (sources.empty()) {
        throw value_error(concat_message(stage, ": sequences: expected at least one, got none"));
    }
    std::size_t ref_index = sources.size();
    for (std::size_t s = 0; s < sources.size(); ++s) {
        if (sources[s] == nullptr) {
            throw value_error(concat_message(stage, ": sequence ", s, " is null"));
        }
        for (std::size_t t = 0; t < s; ++t) {
            if (sources[t]->name() == sources[s]->name()) {
                throw value_error(concat_message(stage, ": sequence names must be unique, got '",
                                                 sources[s]->name(), "' twice"));
            }
        }
        if (sources[s]->name() == options.reference) {
            ref_index = s;
        }
    }
    if (ref_index == sources.size()) {
        std::string names;
        for (const auto* src : sources) {
            names += (names.empty() ? "'" : ", '") + src->name() + "'";
        }
        throw value_error(concat_message(stage, ": reference sequence: expected one of ", names,
                                         ", got '", options.reference, "'"));
    }

    // Unify: keys grouped by video id; ids missing from any sequence are removed.
    std::vector<std::map<std::string, std::vector<std::string>>> by_video(sources.size());
    for (std::size_t s = 0; s < sources.size(); ++s) {
        for (auto& key : sources[s]->keys()) {
            by_video[s][std::string(video_id(key))].push_back(std::move(key));
        }
    }
    align_report report;
    report.segments.assign(sources.size(), 0);
    report.imputed.assign(sources.size(), 0);
    std::set<std::string> all_ids;
    for (const auto& groups : by_video) {
        for (const auto& kv : groups) {
            all_ids.insert(kv.first);
        }
    }
    std::vector<std::string> videos;
    for (const auto& id : all_ids) {
        const bool everywhere = std::all_of(by_video.begin(), by_video.end(),
                                            [&](const auto& groups) { return groups.count(id); });
        (everywhere ? videos : report.removed_ids).push_back(id);
    }

    std::vector<std::unique_ptr<detail::sequence_state>> states;
    for (const auto* src : sources) {
        states.push_back(detail::make_state(*src, options.collapse));
    }
    detail::sequence_state& ref = *states[ref_index];
    const double eps = interval_epsilon;

    for (const auto& video : videos) {
        aligned_chunk chunk;
        for (const auto& state : states) {
            chunk.push_back(state->empty_chunk());
        }
        for (std::size_t s = 0; s < sources.size(); ++s) {
            if (s != ref_index) {
                states[s]->load(by_video[s].at(video), video, true);
            }
        }
        for (const auto& ref_key : by_video[ref_index].at(video)) {
            ref.load({ref_key}, ref_key, false);
            const double* riv = ref.intervals();
            for (std::size_t i = 0; i < ref.rows(); ++i) {
                const double r0 = riv[2 * i];
                const double r1 = riv[2 * i + 1];
                if (std::abs(r0 - r1) < eps) {
                    ++report.skipped_reference_rows;
                    continue;
                }
                const std::string key = ref_key + "[" + std::to_string(i) + "]";
                for (std::size_t s = 0; s < sources.size(); ++s) {
                    if (s == ref_index) {
                        ref.own_row(i, key, chunk[s]);
                    } else {
                        states[s]->align_row(r0, r1, key, chunk[s]);
                    }
                }
            }
        }
        if (options.impute_zeros) {
            for (std::size_t s = 0; s < sources.size(); ++s) {
                if (s != ref_index) {
                    report.imputed[s] += detail::impute_zeros(chunk[ref_index], chunk[s]);
                }
            }
        }
        for (std::size_t s = 0; s < sources.size(); ++s) {
            report.segments[s] +=
                std::visit([](const auto& seq) { return seq.entries.size(); }, chunk[s]);
        }
        ++report.videos;
        sink(video, chunk);
        if (options.progress) {
            options.progress(report.videos, videos.size(), video);
        }
    }
    return report;
}

/// Aligns sequences held in memory; returns the aligned sequences in input order, each
/// with its input's name and metadata.
inline std::vector<any_sequence> align(const std::vector<any_sequence>& sequences,
                                       const align_options& options,
                                       align_report* report = nullptr) {
    std::vector<std::unique_ptr<sequence_source>> sources;
    std::vector<const sequence_source*> pointers;
    std::vector<any_sequence> out;
    for (const auto& seq : sequences) {
        std::visit(
            [&](const auto& s) {
                using T = typename std::decay_t<decltype(s)>::value_type;
                sources.push_back(std::make_unique<memory_source<T>>(s));
                computational_sequence<T> aligned;
                aligned.name = s.name;
                aligned.metadata = s.metadata;
                aligned.feature_size = detail::output_size(options.collapse, s.feature_size);
                out.emplace_back(std::move(aligned));
            },
            seq);
        pointers.push_back(sources.back().get());
    }
    const align_report done =
        align_stream(pointers, options, [&](std::string_view, aligned_chunk& chunk) {
            for (std::size_t s = 0; s < chunk.size(); ++s) {
                std::visit(
                    [](auto& dst, auto& src) {
                        if constexpr (std::is_same_v<std::decay_t<decltype(dst)>,
                                                     std::decay_t<decltype(src)>>) {
                            // Videos arrive in key order: appending with an end hint is
                            // O(1) per entry (a wrong hint only costs a normal insert).
                            while (!src.entries.empty()) {
                                dst.entries.insert(dst.entries.end(),
                                                   src.entries.extract(src.entries.begin()));
                            }
                        }
                    },
                    out[s], chunk[s]);
            }
        });
    if (report != nullptr) {
        *report = done;
    }
    return out;
}

/// Convenience for sequences of one precision.
template <class T>
std::vector<computational_sequence<T>>
align(const std::vector<computational_sequence<T>>& sequences, const align_options& options,
      align_report* report = nullptr) {
    std::vector<any_sequence> in(sequences.begin(), sequences.end());
    std::vector<computational_sequence<T>> out;
    for (auto& seq : align(in, options, report)) {
        out.push_back(std::move(std::get<computational_sequence<T>>(seq)));
    }
    return out;
}

} // namespace emofuse::align
