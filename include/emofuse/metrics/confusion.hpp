// emofuse/metrics/confusion.hpp — confusion counts for any number of classes: the plain-data
// state (a K×K array of 64-bit counts, row = truth, column = prediction) behind every
// single-label classification metric.
#pragma once

#include <emofuse/core/error.hpp>
#include <emofuse/metrics/blocked.hpp>
#include <emofuse/platform/prefetch.hpp>

#include <algorithm>
#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

namespace emofuse::metrics {

/// How to normalise a confusion matrix (scikit-learn's `normalize=`): rows sum to 1, columns
/// sum to 1, or the whole matrix sums to 1. A row or column with no samples stays 0.
enum class confusion_normalization { none, by_true, by_pred, by_all };

namespace detail {

/// First index whose label is outside [0, K), or size() when all are valid. The common
/// (valid) case is a max-reduction over the labels viewed as unsigned (a negative label
/// becomes huge), which vectorises.
template <std::integral L>
std::size_t first_label_out_of_range(std::span<const L> labels, std::size_t num_classes) {
    using unsigned_label = std::make_unsigned_t<L>;
    unsigned_label largest = 0;
    for (const L label : labels) {
        largest = std::max(largest, static_cast<unsigned_label>(label));
    }
    if (static_cast<std::uint64_t>(largest) < num_classes) {
        return labels.size();
    }
    for (std::size_t i = 0; i < labels.size(); ++i) {
        if (static_cast<std::uint64_t>(static_cast<unsigned_label>(labels[i])) >= num_classes) {
            return i;
        }
    }
    return labels.size();
}

template <std::integral L>
void check_labels(std::string_view stage, std::string_view what, std::span<const L> labels,
                  std::size_t num_classes) {
    const std::size_t bad = first_label_out_of_range(labels, num_classes);
    if (bad != labels.size()) {
        throw value_error(emofuse::detail::concat_message(stage, ": ", what, " label at index ",
                                                          bad, ": expected a class id in [0, ",
                                                          num_classes, "), got ", +labels[bad]));
    }
}

/// Small tables (K*K <= 256) are counted in two steps: one byte-sized cell code per sample
/// (a vectorised pass), then a histogram over the codes into interleaved 32-bit
/// sub-histograms, which break the store-to-load dependency when consecutive samples fall
/// into the same cell.
inline constexpr std::size_t confusion_copies = 8;
inline constexpr std::size_t confusion_small_cells = 256;
/// Samples per flush of the 32-bit sub-histograms into the 64-bit counts.
inline constexpr std::size_t confusion_chunk = std::size_t(1) << 30;
/// Tables of up to 64 cells (K <= 8) are counted two samples at a time: the pair of cell
/// codes indexes a cells² table of 16-bit counts (two interleaved copies, at most 16 KiB),
/// which halves the read-modify-write increments; rows and columns of that table are then
/// the counts of the first and the second sample of each pair.
inline constexpr std::size_t confusion_pair_cells = 64;
inline constexpr std::size_t confusion_pair_copies = 2;
/// Samples per flush of the 16-bit pair tables: each copy sees at most a quarter of them.
inline constexpr std::size_t confusion_pair_chunk = std::size_t(1) << 17;
static_assert(confusion_pair_chunk / (2 * confusion_pair_copies) <= 0xFFFF);

inline constexpr std::size_t label_line_bytes = 64;

} // namespace detail

/// K×K confusion counts. Plain data: `state()` is a contiguous array of K*K uint64 counts
/// (row-major, [truth][prediction]) that shards can all-reduce with an elementwise sum.
class confusion_counts {
public:
    explicit confusion_counts(std::size_t num_classes) : num_classes_(num_classes) {
        if (num_classes == 0) {
            throw value_error(mismatch_message("metrics::confusion_counts", "number of classes",
                                               "at least 1", num_classes));
        }
        counts_.assign(num_classes * num_classes, 0);
    }

    [[nodiscard]] std::size_t num_classes() const noexcept { return num_classes_; }

    /// Counts every pair (truth[i], pred[i]); labels must be class ids in [0, K). A span
    /// longer than detail::parallel_block is counted on the thread pool when K <= 16
    /// (docs/metrics.md, "Threads"); counts are exact, so any split gives the same table. A
    /// bad label throws and leaves the counts as they were.
    template <std::integral L>
    void update(std::span<const L> truth, std::span<const L> pred) {
        check_size("metrics::confusion_counts::update", "prediction count", truth.size(),
                   pred.size());
        if (!counted_in_blocks(truth.size())) {
            count_span(truth, pred);
            return;
        }
        count_blocks(truth, pred, [&](confusion_counts& block, std::size_t begin, std::size_t end) {
            block.count_span(truth.subspan(begin, end - begin), pred.subspan(begin, end - begin));
        });
    }

    /// Counts pair i weights[i] times (a bootstrap resample's counts).
    template <std::integral L>
    void update(std::span<const L> truth, std::span<const L> pred,
                std::span<const std::uint32_t> weights) {
        check_size("metrics::confusion_counts::update", "prediction count", truth.size(),
                   pred.size());
        check_size("metrics::confusion_counts::update", "weight count", truth.size(),
                   weights.size());
        if (!counted_in_blocks(truth.size())) {
            count_span(truth, pred, weights);
            return;
        }
        count_blocks(truth, pred, [&](confusion_counts& block, std::size_t begin, std::size_t end) {
            block.count_span(truth.subspan(begin, end - begin), pred.subspan(begin, end - begin),
                             weights.subspan(begin, end - begin));
        });
    }

    /// Adds `count` samples of true class `truth` predicted as `pred`.
    void add(std::size_t truth, std::size_t pred, std::uint64_t count = 1) {
        if (truth >= num_classes_ || pred >= num_classes_) {
            throw value_error(emofuse::detail::concat_message(
                "metrics::confusion_counts::add: expected class ids in [0, ", num_classes_,
                "), got truth ", truth, " and prediction ", pred));
        }
        counts_[truth * num_classes_ + pred] += count;
    }

    /// Adds another shard's counts (same number of classes).
    void merge(const confusion_counts& other) {
        check_size("metrics::confusion_counts::merge", "number of classes", num_classes_,
                   other.num_classes_);
        for (std::size_t cell = 0; cell < counts_.size(); ++cell) {
            counts_[cell] += other.counts_[cell];
        }
    }

    /// Count of samples with true class t predicted as p.
    [[nodiscard]] std::uint64_t operator()(std::size_t t, std::size_t p) const {
        return counts_[t * num_classes_ + p];
    }

    [[nodiscard]] std::uint64_t total() const noexcept {
        std::uint64_t sum = 0;
        for (const auto c : counts_) {
            sum += c;
        }
        return sum;
    }

    /// Samples per true class (row sums).
    [[nodiscard]] std::vector<std::uint64_t> true_support() const {
        std::vector<std::uint64_t> out(num_classes_, 0);
        for (std::size_t t = 0; t < num_classes_; ++t) {
            for (std::size_t p = 0; p < num_classes_; ++p) {
                out[t] += (*this)(t, p);
            }
        }
        return out;
    }

    /// Samples per predicted class (column sums).
    [[nodiscard]] std::vector<std::uint64_t> predicted_support() const {
        std::vector<std::uint64_t> out(num_classes_, 0);
        for (std::size_t t = 0; t < num_classes_; ++t) {
            for (std::size_t p = 0; p < num_classes_; ++p) {
                out[p] += (*this)(t, p);
            }
        }
        return out;
    }

    /// The matrix as doubles, row-major [truth][prediction], normalised as asked. Rows or
    /// columns without samples are 0 (scikit-learn replaces their NaN by 0 too).
    [[nodiscard]] std::vector<double> normalized(confusion_normalization how) const {
        std::vector<double> out(counts_.begin(), counts_.end());
        const std::size_t k = num_classes_;
        if (how == confusion_normalization::by_true) {
            const auto rows = true_support();
            for (std::size_t t = 0; t < k; ++t) {
                for (std::size_t p = 0; p < k; ++p) {
                    out[t * k + p] = rows[t] ? out[t * k + p] / static_cast<double>(rows[t]) : 0.0;
                }
            }
        } else if (how == confusion_normalization::by_pred) {
            const auto cols = predicted_support();
            for (std::size_t t = 0; t < k; ++t) {
                for (std::size_t p = 0; p < k; ++p) {
                    out[t * k + p] = cols[p] ? out[t * k + p] / static_cast<double>(cols[p]) : 0.0;
                }
            }
        } else if (how == confusion_normalization::by_all) {
            const auto all = static_cast<double>(total());
            for (auto& v : out) {
                v = all > 0 ? v / all : 0.0;
            }
        }
        return out;
    }

    /// The same counts with truth and prediction swapped: what a peer that calls
    /// f1_score(pred, truth) computes on.
    [[nodiscard]] confusion_counts transposed() const {
        confusion_counts out(num_classes_);
        for (std::size_t t = 0; t < num_classes_; ++t) {
            for (std::size_t p = 0; p < num_classes_; ++p) {
                out.counts_[p * num_classes_ + t] = (*this)(t, p);
            }
        }
        return out;
    }

    /// The raw counts: K*K uint64, row-major [truth][prediction].
    [[nodiscard]] std::span<std::uint64_t> state() noexcept { return counts_; }
    [[nodiscard]] std::span<const std::uint64_t> state() const noexcept { return counts_; }

private:
    /// The serial count of one span (sizes already checked).
    template <std::integral L>
    void count_span(std::span<const L> truth, std::span<const L> pred) {
        if (counts_.size() <= detail::confusion_pair_cells) {
            count_pairs(truth, pred); // checks the labels as it goes
            return;
        }
        check_labels(truth, pred);
        const std::size_t k = num_classes_;
        if (counts_.size() > detail::confusion_small_cells) {
            for (std::size_t i = 0; i < truth.size(); ++i) {
                ++counts_[static_cast<std::size_t>(truth[i]) * k +
                          static_cast<std::size_t>(pred[i])];
            }
            return;
        }
        constexpr std::size_t copies = detail::confusion_copies;
        const std::size_t cells = counts_.size();
        std::array<std::uint32_t, copies * detail::confusion_small_cells> local;
        for (std::size_t chunk = 0; chunk < truth.size(); chunk += detail::confusion_chunk) {
            const std::size_t end = std::min(truth.size(), chunk + detail::confusion_chunk);
            std::fill_n(local.begin(), copies * cells, std::uint32_t{0});
            // Cell codes first (vectorised), then a histogram over one byte per sample.
            constexpr std::size_t code_block = 1024;
            std::array<std::uint8_t, code_block> codes;
            for (std::size_t b = chunk; b < end; b += code_block) {
                const std::size_t m = std::min(code_block, end - b);
                for (std::size_t i = 0; i < m; ++i) {
                    codes[i] = static_cast<std::uint8_t>(static_cast<std::uint32_t>(truth[b + i]) *
                                                             static_cast<std::uint32_t>(k) +
                                                         static_cast<std::uint32_t>(pred[b + i]));
                }
                const std::size_t unrolled = m - m % copies;
                for (std::size_t i = 0; i < unrolled; i += copies) {
                    for (std::size_t c = 0; c < copies; ++c) {
                        ++local[c * cells + codes[i + c]];
                    }
                }
                for (std::size_t i = unrolled; i < m; ++i) {
                    ++local[codes[i]];
                }
            }
            for (std::size_t cell = 0; cell < cells; ++cell) {
                std::uint64_t sum = 0;
                for (std::size_t c = 0; c < copies; ++c) {
                    sum += local[c * cells + cell];
                }
                counts_[cell] += sum;
            }
        }
    }

    /// The serial weighted count of one span (sizes already checked).
    template <std::integral L>
    void count_span(std::span<const L> truth, std::span<const L> pred,
                    std::span<const std::uint32_t> weights) {
        check_labels(truth, pred);
        const std::size_t k = num_classes_;
        for (std::size_t i = 0; i < truth.size(); ++i) {
            counts_[static_cast<std::size_t>(truth[i]) * k + static_cast<std::size_t>(pred[i])] +=
                weights[i];
        }
    }

    /// Large spans of small tables are counted on the pool: every block keeps a table until
    /// they are added, so tables above confusion_small_cells (K > 16; 2 KiB) are counted
    /// serially rather than holding one large table per block.
    [[nodiscard]] bool counted_in_blocks(std::size_t samples) const noexcept {
        return samples > detail::parallel_block && counts_.size() <= detail::confusion_small_cells;
    }

    /// Counts a span longer than detail::parallel_block on the pool: one table per block,
    /// added in block order. A block that meets a bad label re-checks the whole span, so
    /// the message names the same label (and index) as a serial pass; nothing is counted.
    template <class CountBlock, std::integral L>
    void count_blocks(std::span<const L> truth, std::span<const L> pred, CountBlock count_block) {
        detail::blocked_reduce(
            truth.size(),
            [&](std::size_t begin, std::size_t end) {
                confusion_counts block(num_classes_);
                try {
                    count_block(block, begin, end);
                } catch (const value_error&) {
                    check_labels(truth, pred);
                    throw;
                }
                return block;
            },
            [&](const confusion_counts& block) { merge(block); });
    }

    /// Counting for K*K <= confusion_pair_cells (see there). The labels are range-checked in
    /// the same pass as the codes are made, block by block before any code is used; counts_
    /// changes only at the end, so a bad label leaves the state as it was.
    template <std::integral L>
    void count_pairs(std::span<const L> truth, std::span<const L> pred) {
        using unsigned_label = std::make_unsigned_t<L>;
        constexpr std::size_t copies = detail::confusion_pair_copies;
        constexpr std::size_t max_pairs =
            detail::confusion_pair_cells * detail::confusion_pair_cells;
        const auto k = static_cast<std::uint32_t>(num_classes_);
        const auto cells = static_cast<std::uint32_t>(counts_.size());
        const std::size_t pair_cells = std::size_t(cells) * cells;
        std::array<std::uint16_t, copies * max_pairs> table;
        constexpr std::size_t code_block = 1024; // pairs per block of codes
        std::array<std::uint16_t, code_block> codes;
        std::array<std::uint64_t, detail::confusion_pair_cells> added{};
        const auto in_range = [&](unsigned_label largest) {
            return static_cast<std::uint64_t>(largest) < num_classes_;
        };
        const std::size_t paired = truth.size() - truth.size() % 2;
        for (std::size_t chunk = 0; chunk < paired; chunk += detail::confusion_pair_chunk) {
            const std::size_t end = std::min(paired, chunk + detail::confusion_pair_chunk);
            std::fill_n(table.begin(), copies * pair_cells, std::uint16_t{0});
            for (std::size_t b = chunk; b < end; b += 2 * code_block) {
                const std::size_t pairs = std::min(2 * code_block, end - b) / 2;
                const L* t = truth.data() + b;
                const L* p = pred.data() + b;
                unsigned_label largest = 0;
                for (std::size_t j = 0; j < 2 * pairs; ++j) {
                    largest = std::max(largest, std::max(static_cast<unsigned_label>(t[j]),
                                                         static_cast<unsigned_label>(p[j])));
                }
                if (!in_range(largest)) {
                    check_labels(truth, pred); // throws, naming the first bad label
                }
                for (std::size_t j = 0; j < pairs; ++j) {
                    const std::uint32_t first = static_cast<std::uint32_t>(t[2 * j]) * k +
                                                static_cast<std::uint32_t>(p[2 * j]);
                    const std::uint32_t second = static_cast<std::uint32_t>(t[2 * j + 1]) * k +
                                                 static_cast<std::uint32_t>(p[2 * j + 1]);
                    codes[j] = static_cast<std::uint16_t>(first * cells + second);
                }
                // The increments touch no label memory: fetch the next block's labels
                // meanwhile, one cache line of each array per group of pairs.
                const std::size_t next = b + 2 * code_block;
                const std::size_t ahead_bytes =
                    next < truth.size() ? std::min(2 * code_block, truth.size() - next) * sizeof(L)
                                        : 0;
                const auto* next_t = reinterpret_cast<const char*>(truth.data() + next);
                const auto* next_p = reinterpret_cast<const char*>(pred.data() + next);
                constexpr std::size_t group = 8; // pairs per prefetched line pair
                const std::size_t unrolled = pairs - pairs % group;
                for (std::size_t j = 0; j < unrolled; j += group) {
                    const std::size_t line = j / group * detail::label_line_bytes;
                    if (line < ahead_bytes) {
                        prefetch_for_read(next_t + line);
                        prefetch_for_read(next_p + line);
                    }
                    for (std::size_t i = 0; i < group; i += copies) {
                        for (std::size_t c = 0; c < copies; ++c) {
                            ++table[c * pair_cells + codes[j + i + c]];
                        }
                    }
                }
                for (std::size_t j = unrolled; j < pairs; ++j) {
                    ++table[codes[j]];
                }
            }
            // Row sums count the first sample of each pair, column sums the second.
            std::array<std::uint32_t, detail::confusion_pair_cells> columns{};
            for (std::size_t first = 0; first < cells; ++first) {
                std::uint32_t row = 0;
                for (std::size_t c = 0; c < copies; ++c) {
                    const std::uint16_t* line = table.data() + c * pair_cells + first * cells;
                    for (std::size_t second = 0; second < cells; ++second) {
                        row += line[second];
                        columns[second] += line[second];
                    }
                }
                added[first] += row;
            }
            for (std::size_t second = 0; second < cells; ++second) {
                added[second] += columns[second];
            }
        }
        if (paired != truth.size()) {
            const auto t = static_cast<unsigned_label>(truth[paired]);
            const auto p = static_cast<unsigned_label>(pred[paired]);
            if (!in_range(std::max(t, p))) {
                check_labels(truth, pred);
            }
            ++added[static_cast<std::size_t>(t) * num_classes_ + static_cast<std::size_t>(p)];
        }
        for (std::size_t cell = 0; cell < cells; ++cell) {
            counts_[cell] += added[cell];
        }
    }

    template <std::integral L>
    void check_labels(std::span<const L> truth, std::span<const L> pred) const {
        detail::check_labels("metrics::confusion_counts::update", "truth", truth, num_classes_);
        detail::check_labels("metrics::confusion_counts::update", "prediction", pred, num_classes_);
    }

    std::size_t num_classes_;
    std::vector<std::uint64_t> counts_;
};

} // namespace emofuse::metrics
