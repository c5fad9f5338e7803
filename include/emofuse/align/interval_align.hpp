// emofuse/align/interval_align.hpp — interval alignment with the CMU-MultimodalSDK's exact
// semantics (`mmdataset.align` + `impute`), streamed one video at a time.
//
// Per video, every other sequence's rows are sorted by start once and each reference row
// finds its frames by binary search over the sorted starts and a running maximum of the
// ends, so a video costs O(F log F + W log F + kept frames) instead of the SDK's O(W × F).
#pragma once

#include "emofuse/align/aligned_rows.hpp"
#include "emofuse/align/collapse.hpp"
#include "emofuse/align/computational_sequence.hpp"
#include "emofuse/align/sequence_source.hpp"
#include "emofuse/core/shard.hpp"
#include "emofuse/platform/parallel.hpp"
#include "emofuse/platform/prefetch.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <exception>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
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
    /// Called after each video: (videos done, videos in total, video id), in video order, one
    /// call at a time; on the calling thread when aligning serially, else on any of the pool's
    /// threads (the hand-over of finished videos overlaps the aligning of the next ones).
    std::function<void(std::size_t, std::size_t, std::string_view)> progress;
    /// At most this many threads align videos at once (0: num_threads(), see
    /// platform/parallel.hpp). The result does not depend on it; collapse functions must be
    /// safe to call concurrently when it is not 1.
    unsigned threads = 0;
    /// Align only shard `shard` of `shards` of the videos (core/shard.hpp's contiguous rule
    /// over the ids present in every sequence, in the order the whole run aligns them), as
    /// one process of a run split over several does (emofuse-mpi-align). The report then
    /// counts that shard's videos, segments and imputed keys; removed_ids lists every id
    /// missing somewhere, as in a whole run.
    std::size_t shard = 0;
    std::size_t shards = 1;
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

/// The aligned entries of one video: one aligned_rows per input, in input order.
using aligned_chunk = std::vector<any_aligned_rows>;

/// Receives each video's aligned entries as soon as they are ready.
using align_sink = std::function<void(std::string_view video, aligned_chunk& chunk)>;

/// Feature size of the aligned rows of a sequence of feature size `d`: `d` without collapse
/// functions, else the sum of their output widths (what `emofuse-align` sizes its tensors by).
inline std::size_t aligned_feature_size(const std::vector<collapse_function>& collapse,
                                        std::size_t d) {
    if (collapse.empty()) {
        return d;
    }
    std::size_t width = 0;
    for (const auto& fn : collapse) {
        width += fn.output_size(d);
    }
    return width;
}

namespace detail {

inline constexpr std::string_view align_stage = "align";

// The frames kept for one reference row: indices into the sorted rows, their clipped
// [start, end] (row-major), and the segment's extent (min clipped start, max clipped end).
struct kept_frames {
    std::vector<std::size_t> rows;
    std::vector<double> clipped;
    double first_start = 0.0;
    double last_end = 0.0;

    [[nodiscard]] bool contiguous() const {
        return !rows.empty() && rows.back() - rows.front() + 1 == rows.size();
    }
};

// The first index in [from, n) where `pred` is false, for a `pred` that is true on a prefix
// of [0, n) covering [0, from): doubling steps from `from`, then bisection, so a query near
// the previous one costs O(log distance).
template <class Pred>
std::size_t gallop(std::size_t from, std::size_t n, Pred pred) {
    std::size_t lo = from;
    std::size_t hi = from;
    std::size_t step = 1;
    while (hi < n && pred(hi)) {
        lo = hi + 1;
        hi = from + step;
        step *= 2;
    }
    // Bisection of [lo, min(hi, n)) written with selects, not branches: its outcome is
    // unpredictable, so branches would mispredict about every other step.
    std::size_t len = std::min(hi, n) - lo;
    while (len > 0) {
        const std::size_t half = len / 2;
        const bool below = pred(lo + half);
        lo = below ? lo + half + 1 : lo;
        len = below ? len - half - 1 : half;
    }
    return lo;
}

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
        lo_ = stop_ = 0;
        end_bound_ = start_bound_ = std::numeric_limits<double>::infinity();
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
        if (!sort) {
            check_intervals(align_stage, source.label(), video, rows_.intervals, rows_.count);
            return;
        }
        // One pass over the times: valid, already in start order, running max of the ends.
        const double* iv = rows_.intervals;
        max_end_.resize(rows_.count);
        bool valid = true;
        bool sorted = true;
        double previous_start = -std::numeric_limits<double>::infinity();
        double running_end = -std::numeric_limits<double>::infinity();
        for (std::size_t j = 0; j < rows_.count; ++j) {
            const double start = iv[2 * j];
            const double end = iv[2 * j + 1];
            valid &= (start - start == 0.0) & (end - end == 0.0) & (end >= start);
            sorted &= !(start < previous_start);
            previous_start = start;
            running_end = std::max(running_end, end);
            max_end_[j] = running_end;
        }
        if (!valid) { // names the first bad interval
            check_intervals(align_stage, source.label(), video, rows_.intervals, rows_.count);
        }
        if (!sorted) {
            sort_by_start();
            running_end = -std::numeric_limits<double>::infinity();
            for (std::size_t j = 0; j < rows_.count; ++j) {
                running_end = std::max(running_end, rows_.intervals[2 * j + 1]);
                max_end_[j] = running_end;
            }
        }
    }

    [[nodiscard]] const rows_view<T>& rows() const { return rows_; }
    [[nodiscard]] std::size_t dim() const { return dim_; }

    // The frames that meet [r0, r1] and whose clipped length exceeds ε, with their clipped
    // intervals: the SDK's __intersect_and_copy. Queries in increasing time (the usual
    // case) continue the search where the previous one ended.
    void intersect(double r0, double r1, kept_frames& out) {
        const double eps = interval_epsilon;
        const double* iv = rows_.intervals;
        // Conservative bounds (2ε): the exact SDK test below decides.
        const double end_bound = r0 - 2 * eps;
        const std::size_t lo = gallop(end_bound >= end_bound_ ? lo_ : 0, rows_.count,
                                      [&](std::size_t j) { return max_end_[j] <= end_bound; });
        const double start_bound = r1 + 2 * eps;
        const std::size_t from = start_bound >= start_bound_ && stop_ > lo ? stop_ : lo;
        const std::size_t stop =
            gallop(from, rows_.count, [&](std::size_t j) { return iv[2 * j] < start_bound; });
        lo_ = lo;
        end_bound_ = end_bound;
        stop_ = stop;
        start_bound_ = start_bound;

        const auto kept_at = [&](std::size_t j) {
            const double s0 = iv[2 * j];
            const double s1 = iv[2 * j + 1];
            return r1 - s0 > -eps && s1 - r0 > -eps &&
                   std::abs(std::max(s0, r0) - std::min(s1, r1)) > eps;
        };
        // Candidates that fail usually sit at the two ends (frames that only touch the row,
        // or overlap it by less than ε): trim those, then clip and check the rest in one
        // branch-free pass, which vectorises.
        std::size_t begin = lo;
        while (begin < stop && !kept_at(begin)) {
            ++begin;
        }
        std::size_t end = stop;
        while (end > begin && !kept_at(end - 1)) {
            --end;
        }
        const std::size_t m = end - begin;
        out.rows.resize(m);
        out.clipped.resize(2 * m);
        double* clipped = out.clipped.data();
        bool all_kept = true;
        double first = std::numeric_limits<double>::infinity();
        double last = -std::numeric_limits<double>::infinity();
        for (std::size_t t = 0; t < m; ++t) {
            const double s0 = iv[2 * (begin + t)];
            const double s1 = iv[2 * (begin + t) + 1];
            const double c0 = std::max(s0, r0);
            const double c1 = std::min(s1, r1);
            all_kept &= (r1 - s0 > -eps) & (s1 - r0 > -eps) & (std::abs(c0 - c1) > eps);
            clipped[2 * t] = c0;
            clipped[2 * t + 1] = c1;
            first = std::min(first, c0);
            last = std::max(last, c1);
        }
        if (all_kept) {
            std::iota(out.rows.begin(), out.rows.end(), begin);
            out.first_start = first;
            out.last_end = last;
            return;
        }
        // Some frame inside fails too (overlapping or sliver frames): keep the passing ones.
        std::size_t n = 0;
        first = std::numeric_limits<double>::infinity();
        last = -std::numeric_limits<double>::infinity();
        for (std::size_t t = 0; t < m; ++t) {
            if (kept_at(begin + t)) {
                out.rows[n] = begin + t;
                clipped[2 * n] = clipped[2 * t];
                clipped[2 * n + 1] = clipped[2 * t + 1];
                first = std::min(first, clipped[2 * n]);
                last = std::max(last, clipped[2 * n + 1]);
                ++n;
            }
        }
        out.rows.resize(n);
        out.clipped.resize(2 * n);
        out.first_start = first;
        out.last_end = last;
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
    // Where the previous intersect's searches ended, and for which bounds.
    std::size_t lo_ = 0;
    std::size_t stop_ = 0;
    double end_bound_ = std::numeric_limits<double>::infinity();
    double start_bound_ = std::numeric_limits<double>::infinity();
};

// Appends the entry `key` built from the kept frames: the collapsed row over their extent,
// or the raw rows with their clipped intervals when `collapse` is empty.
template <class T>
void append_entry(const rows_view<T>& rows, std::size_t dim, const kept_frames& kept,
                  const std::vector<collapse_function>& collapse, std::vector<T>& gather,
                  const std::string& key, aligned_rows<T>& out) {
    const std::size_t k = kept.rows.size();
    double* interval = nullptr;
    if (collapse.empty()) {
        T* dst = out.append(key, k, &interval);
        std::copy(kept.clipped.begin(), kept.clipped.end(), interval);
        for (std::size_t r = 0; r < k; ++r) {
            std::copy_n(rows.features + kept.rows[r] * dim, dim, dst + r * dim);
        }
        return;
    }
    T* dst = out.append(key, 1, &interval);
    interval[0] = kept.first_start;
    interval[1] = kept.last_end;
    // Kept frames are usually consecutive rows: collapse in place, gather otherwise.
    const T* features = rows.features + kept.rows.front() * dim;
    if (!kept.contiguous()) {
        gather.resize(k * dim);
        for (std::size_t r = 0; r < k; ++r) {
            std::copy_n(rows.features + kept.rows[r] * dim, dim, gather.data() + r * dim);
        }
        features = gather.data();
    }
    for (const auto& fn : collapse) {
        fn(kept.clipped.data(), features, k, dim, dst);
        dst += fn.output_size(dim);
    }
}

// A reference row to align to: its times and its index among the loaded reference rows.
struct reference_row {
    double start;
    double end;
    std::size_t row;
};

// The per-sequence state of one alignment run (typed by the sequence's precision).
struct sequence_state {
    virtual ~sequence_state() = default;
    virtual void load(const std::vector<std::string>& keys, std::string_view video, bool sort) = 0;
    // An empty output with the sequence's name and output width.
    virtual any_aligned_rows empty_output() const = 0;
    // The reference's own rows: entry keys[i] is loaded row refs[i].row, unclipped.
    virtual void append_own(const std::vector<reference_row>& refs,
                            const std::vector<std::string>& keys, any_aligned_rows& out) = 0;
    // Entry keys[i] from the frames meeting refs[i]; a reference row no frame meets gets
    // no entry, or with `impute` its interval and zero features. Returns entries imputed.
    virtual std::size_t append_aligned(const std::vector<reference_row>& refs,
                                       const std::vector<std::string>& keys, bool impute,
                                       any_aligned_rows& out) = 0;
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

    any_aligned_rows empty_output() const override {
        aligned_rows<T> out;
        out.name = source_.name();
        out.feature_size = aligned_feature_size(collapse_, source_.feature_size());
        return out;
    }

    void append_own(const std::vector<reference_row>& refs, const std::vector<std::string>& keys,
                    any_aligned_rows& out) override {
        auto& dst = std::get<aligned_rows<T>>(out);
        const std::size_t row_bytes = rows_.dim() * sizeof(T);
        for (std::size_t i = 0; i < refs.size(); ++i) {
            if (i + 1 < refs.size()) { // the next row is read after this one is written
                prefetch_range(rows_.rows().features + refs[i + 1].row * rows_.dim(), row_bytes);
            }
            const double* iv = rows_.rows().intervals + 2 * refs[i].row;
            current_.rows.assign(1, refs[i].row);
            current_.clipped.assign(iv, iv + 2); // the reference row itself, not clipped
            current_.first_start = iv[0];
            current_.last_end = iv[1];
            append_entry(rows_.rows(), rows_.dim(), current_, collapse_, gather_, keys[i], dst);
        }
    }

    std::size_t append_aligned(const std::vector<reference_row>& refs,
                               const std::vector<std::string>& keys, bool impute,
                               any_aligned_rows& out) override {
        auto& dst = std::get<aligned_rows<T>>(out);
        const rows_view<T>& rows = rows_.rows();
        const std::size_t row_bytes = rows_.dim() * sizeof(T);
        std::size_t imputed = 0;
        if (!refs.empty()) {
            rows_.intersect(refs[0].start, refs[0].end, next_);
        }
        for (std::size_t i = 0; i < refs.size(); ++i) {
            std::swap(current_, next_);
            // Look one segment ahead and start fetching its first frames while this one is
            // reduced: each segment starts past a gap the hardware prefetcher cannot see.
            if (i + 1 < refs.size()) {
                rows_.intersect(refs[i + 1].start, refs[i + 1].end, next_);
                if (!next_.rows.empty()) {
                    prefetch_range(rows.features + next_.rows.front() * rows_.dim(),
                                   std::min<std::size_t>(next_.rows.size(), 16) * row_bytes);
                }
            }
            if (!current_.rows.empty()) {
                append_entry(rows, rows_.dim(), current_, collapse_, gather_, keys[i], dst);
            } else if (impute) {
                double* interval = nullptr;
                T* features = dst.append(keys[i], 1, &interval);
                interval[0] = refs[i].start;
                interval[1] = refs[i].end;
                std::fill_n(features, dst.feature_size, T(0));
                ++imputed;
            }
        }
        return imputed;
    }

    std::size_t rows() const override { return rows_.rows().count; }
    const double* intervals() const override { return rows_.rows().intervals; }

private:
    const sequence_source& source_;
    const std::vector<collapse_function>& collapse_;
    video_rows<T> rows_;
    kept_frames current_;
    kept_frames next_;
    std::vector<T> gather_;
};

inline std::unique_ptr<sequence_state> make_state(const sequence_source& source,
                                                  const std::vector<collapse_function>& collapse) {
    if (source.type() == feature_type::float32) {
        return std::make_unique<typed_state<float>>(source, collapse);
    }
    return std::make_unique<typed_state<double>>(source, collapse);
}

// Sequence entries per video id, and the ids present in every sequence.
struct video_index {
    std::vector<std::map<std::string, std::vector<std::string>>> keys_by_video;
    std::vector<std::string> videos;
};

inline video_index index_videos(std::span<const sequence_source* const> sources,
                                align_report& report) {
    video_index index;
    index.keys_by_video.resize(sources.size());
    for (std::size_t s = 0; s < sources.size(); ++s) {
        for (auto& key : sources[s]->keys()) {
            index.keys_by_video[s][std::string(video_id(key))].push_back(std::move(key));
        }
    }
    std::set<std::string> all_ids;
    for (const auto& groups : index.keys_by_video) {
        for (const auto& kv : groups) {
            all_ids.insert(kv.first);
        }
    }
    for (const auto& id : all_ids) {
        const bool everywhere =
            std::all_of(index.keys_by_video.begin(), index.keys_by_video.end(),
                        [&](const auto& groups) { return groups.count(id) != 0; });
        (everywhere ? index.videos : report.removed_ids).push_back(id);
    }
    return index;
}

// Checks the sources and returns the reference's index.
inline std::size_t find_reference(std::span<const sequence_source* const> sources,
                                  const std::string& reference) {
    using emofuse::detail::concat_message;
    if (sources.empty()) {
        throw value_error(
            concat_message(align_stage, ": sequences: expected at least one, got none"));
    }
    std::size_t ref_index = sources.size();
    for (std::size_t s = 0; s < sources.size(); ++s) {
        if (sources[s] == nullptr) {
            throw value_error(concat_message(align_stage, ": sequence ", s, " is null"));
        }
        for (std::size_t t = 0; t < s; ++t) {
            if (sources[t]->name() == sources[s]->name()) {
                throw value_error(concat_message(align_stage,
                                                 ": sequence names must be unique, got '",
                                                 sources[s]->name(), "' twice"));
            }
        }
        if (sources[s]->name() == reference) {
            ref_index = s;
        }
    }
    if (ref_index == sources.size()) {
        std::string names;
        for (const auto* src : sources) {
            names += (names.empty() ? "'" : ", '") + src->name() + "'";
        }
        throw value_error(concat_message(align_stage, ": reference sequence: expected one of ",
                                         names, ", got '", reference, "'"));
    }
    return ref_index;
}

// The per-video work of align_videos, on one thread's states: appends the video's entries to
// `out` and counts its segments, imputed entries and skipped reference rows into `report`.
class video_aligner {
public:
    video_aligner(std::span<const sequence_source* const> sources, const align_options& options,
                  const video_index& index, std::size_t ref_index)
        : sources_(sources), options_(options), index_(index), ref_index_(ref_index) {}

    [[nodiscard]] std::vector<std::unique_ptr<sequence_state>> make_states() const {
        std::vector<std::unique_ptr<sequence_state>> states;
        for (const auto* src : sources_) {
            states.push_back(make_state(*src, options_.collapse));
        }
        return states;
    }

    void align(const std::string& video, std::vector<std::unique_ptr<sequence_state>>& states,
               std::vector<any_aligned_rows>& out, align_report& report) {
        const auto entries = [&](std::size_t s) {
            return std::visit([](const auto& rows) { return rows.entries(); }, out[s]);
        };
        entries_before_.resize(sources_.size());
        for (std::size_t s = 0; s < sources_.size(); ++s) {
            entries_before_[s] = entries(s);
            if (s != ref_index_) {
                states[s]->load(index_.keys_by_video[s].at(video), video, true);
            }
        }
        sequence_state& ref = *states[ref_index_];
        for (const auto& ref_key : index_.keys_by_video[ref_index_].at(video)) {
            ref.load({ref_key}, ref_key, false);
            refs_.clear();
            keys_.clear();
            const double* riv = ref.intervals();
            for (std::size_t i = 0; i < ref.rows(); ++i) {
                const double r0 = riv[2 * i];
                const double r1 = riv[2 * i + 1];
                if (std::abs(r0 - r1) < interval_epsilon) {
                    ++report.skipped_reference_rows;
                    continue;
                }
                refs_.push_back({r0, r1, i});
                keys_.push_back(ref_key + "[" + std::to_string(i) + "]");
            }
            // Sequence by sequence, so each one's frames stream through memory in order.
            for (std::size_t s = 0; s < sources_.size(); ++s) {
                if (s == ref_index_) {
                    ref.append_own(refs_, keys_, out[s]);
                } else {
                    report.imputed[s] +=
                        states[s]->append_aligned(refs_, keys_, options_.impute_zeros, out[s]);
                }
            }
        }
        for (std::size_t s = 0; s < sources_.size(); ++s) {
            report.segments[s] += entries(s) - entries_before_[s];
        }
    }

private:
    std::span<const sequence_source* const> sources_;
    const align_options& options_;
    const video_index& index_;
    std::size_t ref_index_;
    std::vector<reference_row> refs_;
    std::vector<std::string> keys_;
    std::vector<std::size_t> entries_before_;
};

template <class T>
void append_rows(const aligned_rows<T>& from, aligned_rows<T>& to) {
    for (std::size_t e = 0; e < from.entries(); ++e) {
        double* intervals = nullptr;
        T* features = to.append(from.keys[e], from.rows(e), &intervals);
        std::copy_n(from.intervals_of(e), 2 * from.rows(e), intervals);
        std::copy_n(from.features_of(e), from.rows(e) * from.feature_size, features);
    }
}

// Aligns video by video, appending each video's entries to `out` (one per source, input
// order, created here) and then calling `video_done(video, out)`, which may consume and
// clear them. `expected_entries` (0: unknown) sizes the outputs up front.
//
// With more than one thread (options.threads, num_threads()) and sources that may be read
// concurrently, videos are aligned in waves of two per thread, each on its own thread's
// states, and handed to video_done in video order while the next wave is aligned: every
// output, the report, the progress calls and the first error (in video order) are those of
// the serial loop, and video_done is never called by two threads at once, but it may run on
// any of the pool's threads. Memory stays bounded by two waves' videos.
template <class VideoDone>
align_report align_videos(std::span<const sequence_source* const> sources,
                          const align_options& options, std::vector<any_aligned_rows>& out,
                          VideoDone&& video_done, std::size_t expected_entries = 0) {
    const std::size_t ref_index = find_reference(sources, options.reference);
    align_report report;
    report.segments.assign(sources.size(), 0);
    report.imputed.assign(sources.size(), 0);
    const video_index index = index_videos(sources, report);
    const index_range shard = shard_range(index.videos.size(), options.shard, options.shards);
    const std::span<const std::string> videos(index.videos.data() + shard.begin, shard.size());
    video_aligner aligner{sources, options, index, ref_index};

    auto states = aligner.make_states();
    out.clear();
    for (const auto& state : states) {
        out.push_back(state->empty_output());
        std::visit([&](auto& rows) { rows.reserve(expected_entries, !options.collapse.empty()); },
                   out.back());
    }
    const auto video_finished = [&](const std::string& video) {
        ++report.videos;
        video_done(std::string_view(video), out);
        if (options.progress) {
            options.progress(report.videos, videos.size(), video);
        }
    };

    unsigned threads = num_threads();
    if (options.threads != 0 && options.threads < threads) {
        threads = options.threads;
    }
    const bool concurrent_reads =
        std::all_of(sources.begin(), sources.end(),
                    [](const sequence_source* src) { return src->concurrent_reads(); });
    if (threads <= 1 || videos.size() <= 1 || !concurrent_reads) {
        for (const auto& video : videos) {
            aligner.align(video, states, out, report);
            video_finished(video);
        }
        return report;
    }

    struct video_result {
        std::vector<any_aligned_rows> rows;
        align_report counts;
        std::exception_ptr error;
    };
    // Hands a finished wave over in video order: the serial loop's outputs, counts, progress
    // calls and first error.
    const auto hand_over = [&](std::vector<video_result>& results, std::size_t first) {
        for (std::size_t v = 0; v < results.size(); ++v) {
            video_result& result = results[v];
            if (result.error) {
                std::rethrow_exception(result.error);
            }
            for (std::size_t s = 0; s < sources.size(); ++s) {
                std::visit(
                    [](const auto& from, auto& to) {
                        if constexpr (std::is_same_v<decltype(from.features),
                                                     decltype(to.features)>) {
                            append_rows(from, to);
                        }
                    },
                    result.rows[s], out[s]);
                report.segments[s] += result.counts.segments[s];
                report.imputed[s] += result.counts.imputed[s];
            }
            report.skipped_reference_rows += result.counts.skipped_reference_rows;
            result.rows.clear();
            video_finished(videos[first + v]);
        }
    };
    // Wave k is aligned while wave k - 1 is handed over: the hand-over is the first chunk of
    // wave k's parallel_for, so video_done (the writers of align_files) runs on one thread while
    // the others align. Small waves keep the last, unoverlapped hand-over short.
    const std::size_t wave = 2 * static_cast<std::size_t>(threads);
    std::vector<video_result> aligning;
    std::vector<video_result> finished;
    std::size_t finished_first = 0;
    for (std::size_t first = 0; first < videos.size() || !finished.empty(); first += wave) {
        const std::size_t count = first < videos.size() ? std::min(wave, videos.size() - first) : 0;
        const std::size_t hand_over_chunks = finished.empty() ? 0 : 1;
        aligning.clear();
        aligning.resize(count);
        parallel_for(
            count + hand_over_chunks, 1,
            [&](std::size_t begin, std::size_t end) {
                if (begin < hand_over_chunks) {
                    hand_over(finished, finished_first);
                    return;
                }
                video_aligner local{sources, options, index, ref_index};
                auto local_states = local.make_states();
                for (std::size_t v = begin - hand_over_chunks; v < end - hand_over_chunks; ++v) {
                    video_result& result = aligning[v];
                    try {
                        for (const auto& state : local_states) {
                            result.rows.push_back(state->empty_output());
                        }
                        result.counts.segments.assign(sources.size(), 0);
                        result.counts.imputed.assign(sources.size(), 0);
                        local.align(videos[first + v], local_states, result.rows, result.counts);
                    } catch (...) {
                        result.error = std::current_exception();
                    }
                }
            },
            threads);
        finished.swap(aligning);
        finished_first = first;
    }
    return report;
}

} // namespace detail

/// Aligns every source to the reference, one video at a time, handing each video's entries
/// to `sink` (cleared after the sink returns) in video order, one call at a time; with several
/// threads the sink may run on any of the pool's threads while later videos are aligned.
/// Memory is bounded by the largest video (two waves of videos with threads). Entry keys are
/// `key[i]` with `key` the reference entry key and i the reference row's stored index.
inline align_report align_stream(std::span<const sequence_source* const> sources,
                                 const align_options& options, const align_sink& sink) {
    aligned_chunk chunk;
    return detail::align_videos(sources, options, chunk,
                                [&](std::string_view video, aligned_chunk& rows) {
                                    sink(video, rows);
                                    for (auto& seq : rows) {
                                        std::visit([](auto& r) { r.clear(); }, seq);
                                    }
                                });
}

namespace detail {

// Sources over in-memory sequences (which must outlive them).
struct memory_sources {
    explicit memory_sources(const std::vector<any_sequence>& sequences) {
        for (const auto& seq : sequences) {
            std::visit(
                [&](const auto& s) {
                    using T = typename std::decay_t<decltype(s)>::value_type;
                    owned.push_back(std::make_unique<memory_source<T>>(s));
                },
                seq);
            pointers.push_back(owned.back().get());
        }
    }
    std::vector<std::unique_ptr<sequence_source>> owned;
    std::vector<const sequence_source*> pointers;
};

} // namespace detail

/// Aligns sequences held in memory into contiguous rows (the fast form: a few allocations
/// per video); returns one aligned_rows per input, in input order, with its name and metadata.
inline std::vector<any_aligned_rows> align_rows(const std::vector<any_sequence>& sequences,
                                                const align_options& options,
                                                align_report* report = nullptr) {
    const detail::memory_sources sources(sequences);
    // Each output has at most one entry per reference row.
    std::size_t reference_rows = 0;
    for (const auto& seq : sequences) {
        std::visit(
            [&](const auto& s) {
                if (s.name == options.reference) {
                    for (const auto& kv : s.entries) {
                        reference_rows += kv.second.rows();
                    }
                }
            },
            seq);
    }
    std::vector<any_aligned_rows> out;
    const align_report done = detail::align_videos(
        sources.pointers, options, out, [](std::string_view, auto&) {}, reference_rows);
    for (std::size_t s = 0; s < out.size(); ++s) {
        std::visit([](auto& rows, const auto& in) { rows.metadata = in.metadata; }, out[s],
                   sequences[s]);
    }
    if (report != nullptr) {
        *report = done;
    }
    return out;
}

/// Aligns sequences held in memory; returns the aligned sequences in input order, each
/// with its input's name and metadata (one allocation per entry: see align_rows).
inline std::vector<any_sequence> align(const std::vector<any_sequence>& sequences,
                                       const align_options& options,
                                       align_report* report = nullptr) {
    const detail::memory_sources sources(sequences);
    std::vector<any_sequence> out;
    for (const auto& seq : sequences) {
        std::visit(
            [&](const auto& s) {
                using T = typename std::decay_t<decltype(s)>::value_type;
                computational_sequence<T> aligned;
                aligned.name = s.name;
                aligned.metadata = s.metadata;
                aligned.feature_size = aligned_feature_size(options.collapse, s.feature_size);
                out.emplace_back(std::move(aligned));
            },
            seq);
    }
    aligned_chunk chunk;
    const align_report done = detail::align_videos(
        sources.pointers, options, chunk, [&](std::string_view, aligned_chunk& rows) {
            for (std::size_t s = 0; s < rows.size(); ++s) {
                std::visit(
                    [](auto& src, auto& dst) {
                        if constexpr (std::is_same_v<
                                          typename std::decay_t<decltype(src)>::value_type,
                                          typename std::decay_t<decltype(dst)>::value_type>) {
                            append_entries(src, dst);
                            src.clear();
                        }
                    },
                    rows[s], out[s]);
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
