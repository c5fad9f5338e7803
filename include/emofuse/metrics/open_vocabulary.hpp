// emofuse/metrics/open_vocabulary.hpp — open-vocabulary emotion metrics (MER2024 OV,
// AffectGPT): set precision / recall after mapping words to groups with user tables.
#pragma once

#include <emofuse/core/error.hpp>
#include <emofuse/metrics/policy.hpp>
#include <emofuse/metrics/suite_result.hpp>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace emofuse::metrics {

namespace detail {

inline std::string normalize_word(std::string_view word) {
    std::size_t begin = 0;
    std::size_t end = word.size();
    while (begin < end && std::isspace(static_cast<unsigned char>(word[begin]))) {
        ++begin;
    }
    while (end > begin && std::isspace(static_cast<unsigned char>(word[end - 1]))) {
        --end;
    }
    std::string out(word.substr(begin, end - begin));
    for (char& c : out) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

} // namespace detail

/// Maps emotion words to group names (a synonym list or one level of an emotion wheel).
/// Words are compared trimmed and lower-cased; a word the table does not list is its own
/// group.
class grouping_table {
public:
    grouping_table() = default;

    /// Adds `word -> group`; a word listed twice with different groups is a value_error.
    void add(std::string_view word, std::string_view group) {
        auto key = detail::normalize_word(word);
        auto value = detail::normalize_word(group);
        if (key.empty() || value.empty()) {
            throw value_error("metrics::grouping_table::add: expected a non-empty word and "
                              "group, got \"" +
                              std::string(word) + "\" -> \"" + std::string(group) + "\"");
        }
        const auto [it, inserted] = groups_.emplace(key, value);
        if (!inserted && it->second != value) {
            throw value_error("metrics::grouping_table::add: word \"" + key +
                              "\": expected one group, got \"" + it->second + "\" and \"" + value +
                              "\"");
        }
    }

    [[nodiscard]] std::string group_of(std::string_view word) const {
        auto key = detail::normalize_word(word);
        const auto it = groups_.find(key);
        return it == groups_.end() ? key : it->second;
    }

    [[nodiscard]] std::size_t size() const noexcept { return groups_.size(); }

private:
    std::unordered_map<std::string, std::string> groups_;
};

/// Plain-data state for one grouping table: the number of scored samples and the sums of
/// their per-sample precision and recall.
struct open_vocabulary_state {
    double samples = 0;
    double sum_precision = 0;
    double sum_recall = 0;
};
static_assert(std::is_trivially_copyable_v<open_vocabulary_state>);

/// Open-vocabulary suite `ov`. For each table: map every word of a sample's truth set G and
/// predicted set P to its group (duplicates collapse), precision = |G∩P|/|P| (0 when P is
/// empty), recall = |G∩P|/|G|; samples with empty G are skipped; average over samples.
/// Keys (each averaged over the tables): precision, recall, mer_ov_score = (P + R)/2 (MER2024
/// OV), f_score = 2PR/(P + R) from the averaged P and R (AffectGPT; 0 when P + R = 0).
class open_vocabulary_suite {
public:
    explicit open_vocabulary_suite(std::vector<grouping_table> tables)
        : tables_(std::move(tables)), states_(tables_.size()) {
        if (tables_.empty()) {
            throw value_error("metrics::open_vocabulary_suite: expected at least one grouping "
                              "table, got none");
        }
    }

    using word_set = std::vector<std::string>;

    void update(std::span<const word_set> truth, std::span<const word_set> pred) {
        update_impl(truth, pred, {});
    }
    void update(std::span<const word_set> truth, std::span<const word_set> pred,
                std::span<const std::uint32_t> weights) {
        check_size("metrics::open_vocabulary_suite::update", "weight count", truth.size(),
                   weights.size());
        update_impl(truth, pred, weights);
    }

    void merge(const open_vocabulary_suite& other) {
        check_size("metrics::open_vocabulary_suite::merge", "number of tables", states_.size(),
                   other.states_.size());
        for (std::size_t t = 0; t < states_.size(); ++t) {
            states_[t].samples += other.states_[t].samples;
            states_[t].sum_precision += other.states_[t].sum_precision;
            states_[t].sum_recall += other.states_[t].sum_recall;
        }
    }

    [[nodiscard]] std::span<const open_vocabulary_state> state() const noexcept { return states_; }
    [[nodiscard]] std::span<open_vocabulary_state> state() noexcept { return states_; }

    /// Per-sample (precision, recall) under table t; recall < 0 marks a skipped sample.
    [[nodiscard]] std::pair<double, double>
    score_sample(const word_set& truth, const word_set& pred, std::size_t t) const {
        const auto g = groups(truth, tables_[t]);
        if (g.empty()) {
            return {0.0, -1.0};
        }
        const auto p = groups(pred, tables_[t]);
        std::size_t common = 0;
        for (const auto& group : p) {
            common += std::binary_search(g.begin(), g.end(), group) ? 1 : 0;
        }
        const double precision =
            p.empty() ? 0.0 : static_cast<double>(common) / static_cast<double>(p.size());
        return {precision, static_cast<double>(common) / static_cast<double>(g.size())};
    }

    [[nodiscard]] suite_result compute() const {
        suite_result out;
        out.suite = "ov";
        out.preset = "default";
        double precision = 0, recall = 0, score = 0, f = 0;
        for (const auto& s : states_) {
            detail::require_samples("metrics::open_vocabulary_suite::compute (samples with a "
                                    "non-empty truth set)",
                                    s.samples);
            const double p = s.sum_precision / s.samples;
            const double r = s.sum_recall / s.samples;
            precision += p;
            recall += r;
            score += (p + r) / 2;
            f += p + r > 0 ? 2 * p * r / (p + r) : 0.0;
        }
        const auto tables = static_cast<double>(states_.size());
        out.count = states_.front().samples;
        out.add("precision", precision / tables);
        out.add("recall", recall / tables);
        out.add("mer_ov_score", score / tables);
        out.add("f_score", f / tables);
        return out;
    }

private:
    static std::vector<std::string> groups(const word_set& words, const grouping_table& table) {
        std::vector<std::string> out;
        for (const auto& w : words) {
            auto g = table.group_of(w);
            if (!g.empty()) {
                out.push_back(std::move(g));
            }
        }
        std::sort(out.begin(), out.end());
        out.erase(std::unique(out.begin(), out.end()), out.end());
        return out;
    }

    void update_impl(std::span<const word_set> truth, std::span<const word_set> pred,
                     std::span<const std::uint32_t> weights) {
        check_size("metrics::open_vocabulary_suite::update", "prediction count", truth.size(),
                   pred.size());
        for (std::size_t t = 0; t < tables_.size(); ++t) {
            for (std::size_t i = 0; i < truth.size(); ++i) {
                const double w = weights.empty() ? 1.0 : weights[i];
                if (w == 0) {
                    continue;
                }
                const auto [precision, recall] = score_sample(truth[i], pred[i], t);
                if (recall < 0) {
                    continue;
                }
                states_[t].samples += w;
                states_[t].sum_precision += w * precision;
                states_[t].sum_recall += w * recall;
            }
        }
    }

    std::vector<grouping_table> tables_;
    std::vector<open_vocabulary_state> states_;
};

} // namespace emofuse::metrics
