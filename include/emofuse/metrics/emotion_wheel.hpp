// emofuse/metrics/emotion_wheel.hpp — OV-MER emotion-wheel scoring as MERTools computes it
// (MER2025 Track 2/3 and MER2026 Track 2, my_affectgpt/evaluation/wheel.py). The tables come
// in as plain data (io/xlsx/emotion_wheel.hpp reads them from the folder the organisers
// ship); this header builds wheel.py's mapping chain from them and scores answers.
//
// The chain, per answer word w (after Python's lower()/strip()):
//   w -> raw labels      format.csv: every listed form and the name itself -> name
//   raw -> labels        synonym.xlsx, 8 runs merged: word -> word, synonym -> word
//   labels -> cluster    per wheel: the first label, in sorted order, the wheel lists, mapped
//                        to its level-1 group (level 1) or level-2 group (level 2; a level-1
//                        word goes to its first level-2 child in sorted order)
// and a word with no cluster is dropped. Per wheel: P = |G∩P|/|P| (0 for an empty
// prediction), R = |G∩P|/|G|, samples whose mapped truth is empty skipped, P and R averaged
// over samples, F = 2PR/(P + R); the triple averaged over wheels 1..5.
#pragma once

#include <emofuse/core/error.hpp>
#include <emofuse/metrics/open_vocabulary.hpp>
#include <emofuse/metrics/suite_result.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace emofuse::metrics {

namespace detail {

/// Length of the Python-whitespace code point starting at text[at], or 0: ASCII \t\n\v\f\r,
/// \x1c-\x1f and space, and (UTF-8) U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029,
/// U+202F, U+205F, U+3000 — what str.strip() removes.
inline std::size_t python_space_at(std::string_view text, std::size_t at) noexcept {
    const auto byte = [&](std::size_t i) {
        return at + i < text.size() ? static_cast<unsigned char>(text[at + i]) : 0u;
    };
    const unsigned first = byte(0);
    if ((first >= 0x09 && first <= 0x0d) || (first >= 0x1c && first <= 0x20)) {
        return 1;
    }
    if (first == 0xc2 && (byte(1) == 0x85 || byte(1) == 0xa0)) {
        return 2;
    }
    if (first == 0xe1 && byte(1) == 0x9a && byte(2) == 0x80) {
        return 3;
    }
    if (first == 0xe2 && byte(1) == 0x80 &&
        (byte(2) <= 0x8a || byte(2) == 0xa8 || byte(2) == 0xa9 || byte(2) == 0xaf)) {
        return 3;
    }
    if (first == 0xe2 && byte(1) == 0x81 && byte(2) == 0x9f) {
        return 3;
    }
    if (first == 0xe3 && byte(1) == 0x80 && byte(2) == 0x80) {
        return 3;
    }
    return 0;
}

/// Python's str.strip() on UTF-8 text.
inline std::string_view python_strip(std::string_view text) noexcept {
    std::size_t begin = 0;
    while (begin < text.size()) {
        const std::size_t n = python_space_at(text, begin);
        if (n == 0) {
            break;
        }
        begin += n;
    }
    std::size_t end = text.size();
    while (end > begin) {
        // Find the code point that ends at `end`: step back over continuation bytes.
        std::size_t start = end - 1;
        while (start > begin && (static_cast<unsigned char>(text[start]) & 0xc0u) == 0x80u) {
            --start;
        }
        const std::size_t n = python_space_at(text, start);
        if (n == 0 || start + n != end) {
            break;
        }
        end = start;
    }
    return text.substr(begin, end - begin);
}

/// `text.lower().strip()` with ASCII lower-casing (see docs/metrics.md: exact whenever the
/// tables' words have no non-ASCII cased letters, as in both shipped folders).
inline std::string python_lower_strip(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return std::string(python_strip(out));
}

} // namespace detail

/// Calls visit(word) for each word of MERTools' string_to_list on text: a leading '[' and a
/// trailing ']' removed, split at quotes (' ") and commas, each piece stripped, empty pieces
/// dropped. ("[" alone, on which MERTools raises IndexError, gives no words.)
template <class Visit>
void for_each_mertools_word(std::string_view text, Visit&& visit) {
    if (!text.empty() && text.front() == '[') {
        text.remove_prefix(1);
    }
    if (!text.empty() && text.back() == ']') {
        text.remove_suffix(1);
    }
    std::size_t start = 0;
    for (std::size_t at = 0; at <= text.size(); ++at) {
        if (at < text.size() && text[at] != '\'' && text[at] != '"' && text[at] != ',') {
            continue;
        }
        const auto piece = detail::python_strip(text.substr(start, at - start));
        if (!piece.empty()) {
            visit(piece);
        }
        start = at + 1;
    }
}

/// MERTools' string_to_list for text, as a list (see for_each_mertools_word).
[[nodiscard]] inline std::vector<std::string> mertools_string_to_list(std::string_view text) {
    std::vector<std::string> out;
    for_each_mertools_word(text, [&](std::string_view word) { out.emplace_back(word); });
    return out;
}

/// The emotion_wheel/ folder's content as plain data, cells already read the way pandas
/// reads them (io::xlsx::read_emotion_wheel fills it).
struct emotion_wheel_tables {
    /// format.csv rows in file order: (name, format) as read; a missing cell is "".
    std::vector<std::pair<std::string, std::string>> forms;
    /// synonym.xlsx: synonym_runs[r] holds run r+1's rows (word_runK, synonym_runK); a
    /// missing synonym cell is "". `synonym_rows[i]` is row i's sheet row (for messages).
    std::vector<std::vector<std::pair<std::string, std::string>>> synonym_runs;
    std::vector<std::uint32_t> synonym_rows;
    /// One wheel*.xlsx: its name ("wheel3") and rows of (level1, level2, level3) cells, a
    /// missing cell continuing the row above.
    struct wheel {
        std::string name;
        std::vector<std::array<std::optional<std::string>, 3>> rows;
    };
    /// Every wheel*.xlsx of the folder (all count as candidate labels, as MERTools' glob).
    std::vector<wheel> wheels;
};

/// Which release of wheel.py: MER2025 returns NaN where MER2026 returns 0 (a wheel with no
/// scorable sample, and F when P + R = 0). Both use the same tables: MER2026's
/// wheel_mapping.npz is the chain built from its folder's files.
enum class wheel_release { mertools2025, mertools2026 };

/// The mapping chain compiled into one lookup: answer word -> cluster id per (wheel, level)
/// slot, or no_cluster.
class emotion_wheel_map {
public:
    static constexpr std::size_t scored_wheels = 5; // wheel_metric_calculation's wheel1..wheel5
    static constexpr std::size_t slots = scored_wheels * 2;
    static constexpr std::int32_t no_cluster = -1;

    /// Builds the chain; value_error for what makes wheel.py fail while loading (a synonym
    /// word no wheel lists, a missing wheel1..wheel5).
    explicit emotion_wheel_map(const emotion_wheel_tables& tables) {
        const auto wheel_maps = build_wheels(tables);
        const auto raw_mapping = build_synonyms(tables, wheel_maps.candidates);
        build_words(tables, raw_mapping, wheel_maps);
    }

    /// Slot of wheel w (0-based) at level (1 or 2).
    [[nodiscard]] static constexpr std::size_t slot(std::size_t wheel, int level) noexcept {
        return wheel * 2 + static_cast<std::size_t>(level - 1);
    }

    /// The clusters of one word (already lower-cased and stripped), or nullptr when
    /// format.csv does not list it. value_error when its chain reaches a format.csv name the
    /// synonym table lacks (wheel.py raises KeyError there).
    [[nodiscard]] const std::array<std::int32_t, slots>* clusters(std::string_view word) const {
        const std::uint32_t hash = hash_word(word);
        for (std::size_t at = hash & mask_;; at = (at + 1) & mask_) {
            const auto& slot_entry = table_[at];
            if (slot_entry.word == 0) {
                return nullptr;
            }
            const std::size_t w = slot_entry.word - 1;
            if (slot_entry.hash != hash || key(w) != word) {
                continue;
            }
            if (missing_raw_[w] != nullptr) {
                throw value_error(
                    "metrics::emotion_wheel: the word \"" + std::string(word.substr(0, 60)) +
                    "\" maps (format.csv) to \"" + missing_raw_[w]->substr(0, 60) +
                    "\", which synonym.xlsx does not list (MERTools raises KeyError)");
            }
            return &clusters_[w];
        }
    }

    [[nodiscard]] const std::string& cluster_name(std::int32_t id) const {
        return cluster_names_.at(static_cast<std::size_t>(id));
    }
    [[nodiscard]] std::size_t word_count() const noexcept { return clusters_.size(); }

private:
    // FNV-1a: words are short, and the table below needs only a well-spread 32-bit hash.
    static std::uint32_t hash_word(std::string_view word) noexcept {
        std::uint32_t h = 2166136261u;
        for (const char c : word) {
            h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
        }
        return h;
    }
    [[nodiscard]] std::string_view key(std::size_t w) const noexcept {
        return std::string_view(keys_).substr(key_offsets_[w],
                                              key_offsets_[w + 1] - key_offsets_[w]);
    }
    using label_map = std::unordered_map<std::string, std::string>;
    struct wheel_maps_t {
        std::unordered_set<std::string> candidates;
        std::array<label_map, slots> maps;
    };

    // read_wheel_to_map + func_get_wheel_cluster: insertion-ordered groups, later entries
    // overwriting earlier ones in the cluster map exactly as the dict assignments do.
    static wheel_maps_t build_wheels(const emotion_wheel_tables& tables) {
        wheel_maps_t out;
        std::array<const emotion_wheel_tables::wheel*, scored_wheels> scored{};
        for (const auto& wheel : tables.wheels) {
            struct level2_group {
                std::string name;
                std::vector<std::string> level3;
            };
            struct level1_group {
                std::string name;
                std::vector<level2_group> children;
            };
            std::vector<level1_group> groups;
            std::string current[3];
            for (const auto& row : wheel.rows) {
                for (std::size_t l = 0; l < 3; ++l) {
                    if (row[l]) {
                        current[l] = *row[l];
                    }
                    current[l] = detail::python_lower_strip(current[l]);
                }
                auto g1 = std::find_if(groups.begin(), groups.end(),
                                       [&](const level1_group& g) { return g.name == current[0]; });
                if (g1 == groups.end()) {
                    groups.push_back({current[0], {}});
                    g1 = groups.end() - 1;
                }
                auto g2 = std::find_if(g1->children.begin(), g1->children.end(),
                                       [&](const level2_group& g) { return g.name == current[1]; });
                if (g2 == g1->children.end()) {
                    g1->children.push_back({current[1], {}});
                    g2 = g1->children.end() - 1;
                }
                g2->level3.push_back(current[2]);
            }
            for (const auto& g1 : groups) {
                out.candidates.insert(g1.name);
                for (const auto& g2 : g1.children) {
                    out.candidates.insert(g2.name);
                    out.candidates.insert(g2.level3.begin(), g2.level3.end());
                }
            }
            std::size_t number = 0;
            for (std::size_t k = 1; k <= scored_wheels; ++k) {
                if (wheel.name == "wheel" + std::to_string(k)) {
                    number = k;
                }
            }
            if (number == 0) {
                continue;
            }
            scored[number - 1] = &wheel;
            auto& level1 = out.maps[slot(number - 1, 1)];
            auto& level2 = out.maps[slot(number - 1, 2)];
            for (const auto& g1 : groups) {
                level1[g1.name] = g1.name;
                for (const auto& g2 : g1.children) {
                    level1[g2.name] = g1.name;
                    for (const auto& w : g2.level3) {
                        level1[w] = g1.name;
                    }
                }
                std::string first_child = g1.children.front().name;
                for (const auto& g2 : g1.children) {
                    first_child = std::min(first_child, g2.name);
                }
                level2[g1.name] = first_child;
                for (const auto& g2 : g1.children) {
                    level2[g2.name] = g2.name;
                    for (const auto& w : g2.level3) {
                        level2[w] = g2.name;
                    }
                }
            }
        }
        for (std::size_t k = 0; k < scored_wheels; ++k) {
            if (scored[k] == nullptr) {
                throw value_error("metrics::emotion_wheel: no wheel" + std::to_string(k + 1) +
                                  " table: MERTools scores wheel1 to wheel" +
                                  std::to_string(scored_wheels));
            }
        }
        return out;
    }

    // read_candidate_synonym_onerun over the runs, merged (func_merge_map unions the lists).
    static std::unordered_map<std::string, std::vector<std::string>>
    build_synonyms(const emotion_wheel_tables& tables,
                   const std::unordered_set<std::string>& candidates) {
        std::unordered_map<std::string, std::vector<std::string>> merged;
        auto add = [&](const std::string& key, const std::string& raw) {
            auto& list = merged[key];
            if (std::find(list.begin(), list.end(), raw) == list.end()) {
                list.push_back(raw);
            }
        };
        for (std::size_t run = 0; run < tables.synonym_runs.size(); ++run) {
            const auto& rows = tables.synonym_runs[run];
            for (std::size_t i = 0; i < rows.size(); ++i) {
                const std::string raw = detail::python_lower_strip(rows[i].first);
                if (candidates.find(raw) == candidates.end()) {
                    const std::string row = i < tables.synonym_rows.size()
                                                ? std::to_string(tables.synonym_rows[i])
                                                : std::to_string(i + 2);
                    throw value_error("metrics::emotion_wheel: synonym.xlsx row " + row +
                                      ", word_run" + std::to_string(run + 1) + ": \"" +
                                      raw.substr(0, 60) +
                                      "\" is not a label of any wheel (MERTools asserts this)");
                }
                add(raw, raw);
                for (const auto& synonym : mertools_string_to_list(rows[i].second)) {
                    add(detail::python_lower_strip(synonym), raw);
                }
            }
        }
        return merged;
    }

    // read_format2raws, then func_backward_case3 evaluated once per word and slot.
    void build_words(const emotion_wheel_tables& tables,
                     const std::unordered_map<std::string, std::vector<std::string>>& raw_mapping,
                     const wheel_maps_t& wheels) {
        std::vector<std::vector<std::string>> raws_of;
        std::unordered_map<std::string, std::size_t> index;
        key_offsets_.assign(1, 0);
        auto add = [&](const std::string& form, const std::string& name) {
            const auto [it, inserted] = index.emplace(form, raws_of.size());
            if (inserted) {
                raws_of.emplace_back();
                keys_ += form;
                key_offsets_.push_back(keys_.size());
            }
            raws_of[it->second].push_back(name);
        };
        for (const auto& [name, forms] : tables.forms) {
            for (const auto& form : mertools_string_to_list(forms)) {
                add(form, name);
            }
            add(name, name);
        }
        // Open addressing, at most half full: a lookup touches one slot, then the key bytes.
        std::size_t capacity = 16;
        while (capacity < 2 * raws_of.size()) {
            capacity *= 2;
        }
        table_.assign(capacity, {});
        mask_ = capacity - 1;
        for (std::size_t w = 0; w < raws_of.size(); ++w) {
            const std::uint32_t hash = hash_word(key(w));
            std::size_t at = hash & mask_;
            while (table_[at].word != 0) {
                at = (at + 1) & mask_;
            }
            table_[at] = {hash, static_cast<std::uint32_t>(w + 1)};
        }
        std::unordered_map<std::string, std::int32_t> cluster_ids;
        clusters_.resize(raws_of.size());
        missing_raw_.resize(raws_of.size());
        std::vector<std::string> labels;
        for (std::size_t w = 0; w < raws_of.size(); ++w) {
            auto& entry = clusters_[w];
            labels.clear();
            for (const auto& raw : raws_of[w]) {
                const auto found = raw_mapping.find(raw);
                if (found == raw_mapping.end()) {
                    missing_raw_[w] = std::make_unique<std::string>(raw);
                    break;
                }
                labels.insert(labels.end(), found->second.begin(), found->second.end());
            }
            std::sort(labels.begin(), labels.end());
            for (std::size_t s = 0; s < slots; ++s) {
                entry[s] = no_cluster;
                for (const auto& label : labels) {
                    const auto hit = wheels.maps[s].find(label);
                    if (hit == wheels.maps[s].end()) {
                        continue;
                    }
                    const auto [id, inserted] = cluster_ids.emplace(
                        hit->second, static_cast<std::int32_t>(cluster_names_.size()));
                    if (inserted) {
                        cluster_names_.push_back(hit->second);
                    }
                    entry[s] = id->second;
                    break;
                }
            }
        }
    }

    struct table_slot {
        std::uint32_t hash = 0;
        std::uint32_t word = 0; // word index + 1; 0: empty
    };
    std::vector<table_slot> table_;
    std::size_t mask_ = 0;
    std::string keys_;                     // every word, back to back
    std::vector<std::size_t> key_offsets_; // word w is keys_[offsets[w], offsets[w + 1])
    std::vector<std::array<std::int32_t, slots>> clusters_;
    std::vector<std::unique_ptr<std::string>> missing_raw_; // set where wheel.py raises KeyError
    std::vector<std::string> cluster_names_;
};

/// One answer mapped onto every slot: sorted, unique cluster ids per slot.
struct wheel_answer {
    std::vector<std::int32_t> ids;
    std::array<std::uint32_t, emotion_wheel_map::slots + 1> offsets{};

    [[nodiscard]] std::span<const std::int32_t> slot(std::size_t s) const noexcept {
        return std::span<const std::int32_t>(ids).subspan(offsets[s], offsets[s + 1] - offsets[s]);
    }
};

/// Maps one answer as wheel.py does: string_to_list, lower().strip(), the chain; words that
/// reach no cluster are dropped. Writes into `out`, reusing its storage.
inline void map_wheel_answer(const emotion_wheel_map& map, std::string_view text,
                             wheel_answer& out) {
    using clusters_t = std::array<std::int32_t, emotion_wheel_map::slots>;
    // Answers hold a handful of words: a small fixed buffer, then the heap.
    constexpr std::size_t inline_words = 16;
    std::array<const clusters_t*, inline_words> inline_found{};
    std::vector<const clusters_t*> more;
    std::size_t count = 0;
    std::string key; // reused across the answer's words
    for_each_mertools_word(text, [&](std::string_view word) {
        key.assign(word);
        for (char& c : key) {
            if (c >= 'A' && c <= 'Z') {
                c = static_cast<char>(c - 'A' + 'a');
            }
        }
        const auto stripped = detail::python_strip(key);
        if (stripped.size() != key.size()) {
            key = std::string(stripped);
        }
        if (const auto* clusters = map.clusters(key)) {
            if (count < inline_words) {
                inline_found[count] = clusters;
            } else {
                more.push_back(clusters);
            }
            ++count;
        }
    });
    const auto found = [&](std::size_t i) {
        return i < inline_words ? inline_found[i] : more[i - inline_words];
    };
    out.ids.clear();
    for (std::size_t s = 0; s < emotion_wheel_map::slots; ++s) {
        const auto begin = out.ids.size();
        for (std::size_t i = 0; i < count; ++i) {
            const std::int32_t id = (*found(i))[s];
            if (id != emotion_wheel_map::no_cluster &&
                std::find(out.ids.begin() + static_cast<std::ptrdiff_t>(begin), out.ids.end(),
                          id) == out.ids.end()) {
                out.ids.push_back(id);
            }
        }
        if (out.ids.size() - begin > 1) {
            std::sort(out.ids.begin() + static_cast<std::ptrdiff_t>(begin), out.ids.end());
        }
        out.offsets[s + 1] = static_cast<std::uint32_t>(out.ids.size());
    }
}

/// The same, returning a new answer.
[[nodiscard]] inline wheel_answer map_wheel_answer(const emotion_wheel_map& map,
                                                   std::string_view text) {
    wheel_answer out;
    map_wheel_answer(map, text, out);
    return out;
}

/// Which levels a wheel suite reports.
enum class wheel_levels { level1, level2, both };

/// Suite `ov`, presets mertools / mertools2026: per (wheel, level) sums of per-sample P and
/// R over the samples whose mapped truth is non-empty. Keys per reported level L:
/// levelL_f_score, levelL_precision, levelL_recall (each averaged over wheels 1..5); with both
/// levels also track2_score = the mean of the two F scores (MER2025 Track 2's ranking score).
class emotion_wheel_suite {
public:
    emotion_wheel_suite(wheel_release release, wheel_levels levels)
        : release_(release), levels_(levels) {}

    void update(std::span<const wheel_answer> truth, std::span<const wheel_answer> pred) {
        update_impl(truth, pred, {});
    }
    void update(std::span<const wheel_answer> truth, std::span<const wheel_answer> pred,
                std::span<const std::uint32_t> weights) {
        check_size("metrics::emotion_wheel_suite::update", "weight count", truth.size(),
                   weights.size());
        update_impl(truth, pred, weights);
    }

    void merge(const emotion_wheel_suite& other) {
        for (std::size_t s = 0; s < states_.size(); ++s) {
            states_[s].samples += other.states_[s].samples;
            states_[s].sum_precision += other.states_[s].sum_precision;
            states_[s].sum_recall += other.states_[s].sum_recall;
        }
    }

    [[nodiscard]] std::span<const open_vocabulary_state> state() const noexcept { return states_; }

    [[nodiscard]] suite_result compute() const {
        suite_result out;
        out.suite = "ov";
        out.preset = release_ == wheel_release::mertools2025 ? "mertools" : "mertools2026";
        double most = 0;
        for (const auto& s : states_) {
            most = std::max(most, s.samples);
        }
        out.count = most;
        double f_sum = 0;
        for (int level = 1; level <= 2; ++level) {
            if ((level == 1 && levels_ == wheel_levels::level2) ||
                (level == 2 && levels_ == wheel_levels::level1)) {
                continue;
            }
            double f = 0, p = 0, r = 0;
            for (std::size_t w = 0; w < emotion_wheel_map::scored_wheels; ++w) {
                const auto [wf, wp, wr] = wheel_scores(w, level, out);
                f += wf;
                p += wp;
                r += wr;
            }
            const auto wheels = static_cast<double>(emotion_wheel_map::scored_wheels);
            const std::string prefix = "level" + std::to_string(level) + "_";
            out.add(prefix + "f_score", f / wheels);
            out.add(prefix + "precision", p / wheels);
            out.add(prefix + "recall", r / wheels);
            f_sum += f / wheels;
        }
        if (levels_ == wheel_levels::both) {
            out.add("track2_score", f_sum / 2);
        }
        return out;
    }

private:
    std::array<double, 3> wheel_scores(std::size_t wheel, int level, suite_result& out) const {
        const auto& s = states_[emotion_wheel_map::slot(wheel, level)];
        const double nan = std::numeric_limits<double>::quiet_NaN();
        const bool r2025 = release_ == wheel_release::mertools2025;
        double p = 0, r = 0;
        if (s.samples > 0) {
            p = s.sum_precision / s.samples;
            r = s.sum_recall / s.samples;
        } else {
            out.warnings.push_back("wheel" + std::to_string(wheel + 1) + " level" +
                                   std::to_string(level) +
                                   ": no sample's truth maps onto the wheel" +
                                   (r2025 ? " (MER2025's wheel.py gives NaN)" : " (scored 0)"));
            if (r2025) {
                return {nan, nan, nan};
            }
        }
        double f = 0;
        if (p + r > 0) {
            f = 2 * p * r / (p + r);
        } else if (r2025) {
            f = nan; // numpy's 0/0
        }
        return {f, p, r};
    }

    void update_impl(std::span<const wheel_answer> truth, std::span<const wheel_answer> pred,
                     std::span<const std::uint32_t> weights) {
        check_size("metrics::emotion_wheel_suite::update", "prediction count", truth.size(),
                   pred.size());
        for (std::size_t i = 0; i < truth.size(); ++i) {
            const double w = weights.empty() ? 1.0 : weights[i];
            if (w == 0) {
                continue;
            }
            for (std::size_t s = 0; s < emotion_wheel_map::slots; ++s) {
                const auto g = truth[i].slot(s);
                if (g.empty()) {
                    continue;
                }
                const auto p = pred[i].slot(s);
                std::size_t common = 0;
                for (const auto id : p) {
                    common += std::binary_search(g.begin(), g.end(), id) ? 1 : 0;
                }
                states_[s].samples += w;
                if (!p.empty()) {
                    states_[s].sum_precision +=
                        w * static_cast<double>(common) / static_cast<double>(p.size());
                    states_[s].sum_recall +=
                        w * static_cast<double>(common) / static_cast<double>(g.size());
                }
            }
        }
    }

    wheel_release release_;
    wheel_levels levels_;
    std::array<open_vocabulary_state, emotion_wheel_map::slots> states_{};
};

} // namespace emofuse::metrics
