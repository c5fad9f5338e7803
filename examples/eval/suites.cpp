// examples/eval/suites.cpp — the suite table and preset resolution.
#include "suites.hpp"

#include "answers.hpp"
#include "common/cli.hpp"
#include "options.hpp"

#include <emofuse/metrics/emotion.hpp>
#include <emofuse/metrics/sentiment.hpp>

namespace emofuse::eval {

namespace {

namespace em = emofuse::metrics;

// Binders of the table: each adapts one suite's parameters to a general binder.
bound_suite mosi_binder(const options& o, const suite_spec&, std::string_view preset) {
    return bind_sentiment(o, preset, em::sentiment_dataset::mosi);
}
bound_suite mosei_binder(const options& o, const suite_spec&, std::string_view preset) {
    return bind_sentiment(o, preset, em::sentiment_dataset::mosei);
}
bound_suite sims_binder(const options& o, const suite_spec&, std::string_view preset) {
    return bind_sentiment(o, preset, em::sentiment_dataset::sims);
}
bound_suite regression_binder(const options& o, const suite_spec&, std::string_view preset) {
    return bind_regression(o, preset);
}
template <em::emotion_suite_kind Kind, bool Valence = false>
bound_suite class_ids_binder(const options& o, const suite_spec& s, std::string_view) {
    return bind_class_ids(o, Kind, s.default_classes, Valence);
}
template <em::emotion_suite_kind Kind>
bound_suite class_answers_binder(const options& o, const suite_spec&, std::string_view) {
    return bind_class_answers(o, Kind);
}
bound_suite binary_emotions_binder(const options& o, const suite_spec&, std::string_view) {
    return bind_binary_emotions(o);
}
bound_suite open_vocabulary_binder(const options& o, const suite_spec&, std::string_view) {
    return bind_open_vocabulary(o);
}

using enum input_kind;
using em::emotion_suite_kind;

constexpr preset_spec none{};

constexpr std::array<suite_spec, 10> suites = {{
    {"mosi",
     {{{"mmsa", scores, mosi_binder, nullptr, 4}, {"mult", scores, mosi_binder}}},
     2,
     0,
     "one sentiment score per line, in [-3, 3]"},
    {"mosei",
     {{{"mmsa", scores, mosei_binder, nullptr, 4}, {"mult", scores, mosei_binder}}},
     2,
     0,
     ""},
    {"sims",
     {{{"mmsa", scores, sims_binder, nullptr, 4}, none}},
     1,
     0,
     "one sentiment score per line, in [-1, 1]"},
    {"regression",
     {{{"mertools", scores, regression_binder}, {"torchmetrics", scores, regression_binder}}},
     2,
     0,
     "one value per line; CCC ddof 0 / 1"},
    {"classification",
     {{{"sklearn", class_ids, class_ids_binder<emotion_suite_kind::classification>,
        class_answers_binder<emotion_suite_kind::classification>},
       none}},
     1,
     0,
     "one class id per line (or --logits)"},
    {"iemocap",
     {{{"default", class_ids, class_ids_binder<emotion_suite_kind::iemocap>,
        class_answers_binder<emotion_suite_kind::iemocap>},
       {"mult", binary_emotions, binary_emotions_binder}}},
     2,
     4,
     "default: class ids, 4 or 6 classes;\n"
     "mult: 4 per-emotion 0/1 columns per line\n"
     "(with --logits: 8 columns, 2 logits per emotion)"},
    {"meld",
     {{{"default", class_ids, class_ids_binder<emotion_suite_kind::meld>,
        class_answers_binder<emotion_suite_kind::meld>},
       none}},
     1,
     7,
     "class ids, 7 emotions (or 3 sentiments)"},
    {"mer2023",
     {{{"mertools", class_ids, class_ids_binder<emotion_suite_kind::mer2023, true>}, none}},
     1,
     6,
     "\"class valence\" per line (pred: --logits K logits + valence)"},
    {"mer2024",
     {{{"mertools", class_ids, class_ids_binder<emotion_suite_kind::mer2024>,
        class_answers_binder<emotion_suite_kind::mer2024>},
       none}},
     1,
     6,
     "class ids, 6 classes"},
    {"ov",
     {{{"default", word_sets, open_vocabulary_binder, open_vocabulary_binder}, none}},
     1,
     0,
     "comma-separated emotion words per line; --groups maps words"},
}};

/// Every suite has 1..max_presets named presets; a suite listed on the previous row (empty
/// help) has the same preset names, since the row shows them once. (Whether a binder is set
/// is checked where it is called: GCC's UBSan build cannot compare a function address with
/// nullptr in a constant expression.)
constexpr bool well_formed(std::span<const suite_spec> table) {
    for (std::size_t s = 0; s < table.size(); ++s) {
        const suite_spec& suite = table[s];
        if (suite.name.empty() || suite.preset_count == 0 || suite.preset_count > max_presets) {
            return false;
        }
        for (const auto& p : suite.presets()) {
            if (p.name.empty()) {
                return false;
            }
        }
        if (suite.help.empty()) {
            if (s == 0 || table[s - 1].preset_count != suite.preset_count) {
                return false;
            }
            for (std::size_t p = 0; p < suite.preset_count; ++p) {
                if (table[s - 1].preset_list[p].name != suite.preset_list[p].name) {
                    return false;
                }
            }
        }
    }
    return true;
}
static_assert(well_formed(suites));

} // namespace

std::span<const suite_spec> suite_table() noexcept {
    return suites;
}

resolved_suite resolve_suite(const options& o) {
    for (const auto& suite : suites) {
        if (suite.name != o.suite) {
            continue;
        }
        const auto presets = suite.presets();
        if (o.preset.empty()) {
            return {&suite, &presets.front()};
        }
        std::string valid;
        for (const auto& p : presets) {
            if (p.name == o.preset) {
                return {&suite, &p};
            }
            valid += (valid.empty() ? "" : ", ") + std::string(p.name);
        }
        throw cli::usage_error("--preset: suite \"" + o.suite + "\" has presets " + valid +
                               "; got " + cli::quoted(o.preset));
    }
    std::string names;
    for (const auto& suite : suites) {
        names += (names.empty() ? "" : ", ") + std::string(suite.name);
    }
    throw cli::usage_error("--suite: unknown suite " + cli::quoted(o.suite) + " (" + names + ")");
}

} // namespace emofuse::eval
