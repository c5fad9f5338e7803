// python/src/metrics_suites.cpp — every emofuse-eval suite and preset over arrays, with
// bootstrap confidence intervals, the paired bootstrap and McNemar's test. The data rules are
// the CLI's (the same NaN policy, class-count inference, logits argmax), applied to arrays.
#include "arrays.hpp"
#include "bindings.hpp"

#include "common/metric_suites.hpp"

#include <emofuse/metrics/bootstrap.hpp>
#include <emofuse/metrics/emotion.hpp>
#include <emofuse/metrics/open_vocabulary.hpp>
#include <emofuse/metrics/policy.hpp>
#include <emofuse/metrics/regression_suite.hpp>
#include <emofuse/metrics/sentiment.hpp>
#include <emofuse/metrics/significance.hpp>
#include <emofuse/metrics/suite_result.hpp>

#include <pybind11/stl.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace emofuse::python {

namespace em = emofuse::metrics;

namespace {

namespace suites = emofuse::cli::suites;

/// A suite bound to its data: evaluate(weights), empty weights = every sample once (what
/// the bootstrap resamples).
struct prepared_suite {
    std::string suite;
    std::string preset;
    std::size_t samples = 0; ///< rows the bootstrap resamples
    std::size_t scored = 0;  ///< samples the suite scores ("n"; ov skips empty truth sets)
    suites::evaluator evaluate;
};

struct suite_request {
    std::string suite;
    std::string preset; ///< empty: the suite's default
    py::object pred, truth;
    py::object pred_valence, truth_valence; ///< mer2023
    std::optional<std::size_t> num_classes;
    std::optional<bool> logits; ///< None: logits when pred is 2-D (class suites)
    std::vector<std::vector<std::pair<std::string, std::string>>> groups; ///< ov
    em::nan_policy nan = em::nan_policy::error;
};

/// The suite's table entry and preset (the default when `preset` is empty); ValueError naming
/// the valid choices otherwise.
std::pair<const suites::suite_entry*, const suites::preset_entry*>
resolve_preset(const std::string& suite, const std::string& preset) {
    const auto* entry = suites::find_suite(suite);
    if (entry == nullptr) {
        throw py::value_error("suite: expected one of " + suites::suite_names() + "; got \"" +
                              suite + "\"");
    }
    const auto* chosen = suites::find_preset(*entry, preset);
    if (chosen == nullptr) {
        throw py::value_error("preset: suite \"" + suite + "\" has presets " +
                              suites::preset_names(*entry, "\"") + "; got \"" + preset + "\"");
    }
    if (chosen->input == suites::input_kind::wheel_word_sets) {
        throw py::value_error("preset: \"" + preset + "\" scores on OV-MER emotion-wheel " +
                              "folders, which only emofuse-eval reads (--wheel DIR); the " +
                              "Python module offers suite \"ov\" with preset \"default\"");
    }
    return {entry, chosen};
}

/// Whether every value of `a` is finite: one branch-free pass (x - x is 0 only for finite x).
template <class T>
bool all_finite(const T* values, std::size_t count) {
    bool good = true;
    for (std::size_t i = 0; i < count; ++i) {
        good &= (values[i] - values[i]) == T(0);
    }
    return good;
}

/// Keeps the rows finite in every array under nan="skip"; ValueError naming the argument and
/// the first bad sample under nan="error". Scans without the GIL; nullopt: every row is usable
/// (the common case, which then needs no index list nor copy).
std::optional<std::vector<std::size_t>>
usable_rows(const std::vector<std::pair<const char*, const real_array*>>& arrays, std::size_t rows,
            em::nan_policy policy) {
    std::vector<std::size_t> keep;
    const char* bad = nullptr;
    std::size_t bad_row = 0;
    {
        const py::gil_scoped_release unlocked;
        bool clean = true;
        for (const auto& entry : arrays) {
            const real_array& a = *entry.second;
            clean = clean && (a.is_double ? all_finite(a.values<double>().data(), a.rows * a.cols)
                                          : all_finite(a.values<float>().data(), a.rows * a.cols));
        }
        if (clean) {
            return std::nullopt;
        }
        for (std::size_t r = 0; r < rows && bad == nullptr; ++r) {
            const char* row_bad = nullptr;
            for (const auto& [name, array] : arrays) {
                if (!array->finite_row(r)) {
                    row_bad = name;
                    break;
                }
            }
            if (row_bad == nullptr) {
                keep.push_back(r);
            } else if (policy == em::nan_policy::error) {
                bad = row_bad;
                bad_row = r;
            }
        }
    }
    if (bad != nullptr) {
        throw py::value_error(std::string(bad) + ": non-finite value (NaN or Inf) at sample " +
                              std::to_string(bad_row) +
                              " under nan=\"error\"; pass nan=\"skip\" to drop such samples");
    }
    if (keep.size() == rows) {
        return std::nullopt;
    }
    return keep;
}

/// The indices an optional selection stands for (all `rows` when it is empty).
std::vector<std::size_t> selected_rows(const std::optional<std::vector<std::size_t>>& keep,
                                       std::size_t rows) {
    if (keep) {
        return *keep;
    }
    std::vector<std::size_t> all(rows);
    for (std::size_t r = 0; r < rows; ++r) {
        all[r] = r;
    }
    return all;
}

prepared_suite prepare_scores(const suite_request& r, const std::string& preset) {
    auto pred = std::make_shared<real_array>(real_vector(r.pred, "pred"));
    auto truth = std::make_shared<real_array>(real_vector(r.truth, "truth"));
    check_rows("pred", pred->rows, "truth", truth->rows);
    promote_together(*pred, *truth);
    const auto keep =
        usable_rows({{"pred", pred.get()}, {"truth", truth.get()}}, pred->rows, r.nan);
    if (keep) {
        *pred = select_rows(*pred, *keep);
        *truth = select_rows(*truth, *keep);
    }
    prepared_suite out;
    out.samples = pred->rows;
    const auto owner =
        std::make_shared<std::pair<std::shared_ptr<real_array>, std::shared_ptr<real_array>>>(
            pred, truth);
    out.evaluate = pred->is_double
                       ? suites::score_evaluator(r.suite, preset, truth->values<double>(),
                                                 pred->values<double>(), owner)
                       : suites::score_evaluator(r.suite, preset, truth->values<float>(),
                                                 pred->values<float>(), owner);
    return out;
}

/// Class ids of the kept samples: views of the caller's int64 arrays when every sample is kept
/// and no logits need an argmax, else owned copies.
struct label_data {
    std::optional<label_array> truth_source, pred_source; ///< keep the viewed arrays alive
    std::vector<std::int64_t> truth_owned, pred_owned;
    std::span<const std::int64_t> truth, pred;
    std::vector<double> val_truth, val_pred;
};

/// Class predictions: labels (1-D) or logits (2-D, class = first argmax of `width` columns,
/// row-major groups of `width`). NaN handling is done by the caller on `logits`.
bool wants_logits(const suite_request& r) {
    if (r.logits) {
        return *r.logits;
    }
    return as_array(r.pred, "pred").ndim() == 2;
}

prepared_suite prepare_labels(const suite_request& r, const suites::suite_entry& entry) {
    const bool valence = suites::has_valence(r.suite);
    const bool logits = wants_logits(r);
    auto data = std::make_shared<label_data>();
    std::size_t k = r.num_classes.value_or(0);

    label_array truth = labels(r.truth, "truth");
    std::optional<label_array> pred_labels;
    std::optional<real_array> pred_logits;
    std::size_t pred_rows = 0;
    if (logits) {
        pred_logits = real_matrix(r.pred, "pred", k);
        pred_rows = pred_logits->rows;
        if (k == 0) {
            k = pred_logits->cols;
        }
        if (k == 0) {
            throw_value("pred", "at least one logit per sample",
                        "shape (" + std::to_string(pred_rows) + ", 0)");
        }
        if (pred_logits->is_double == false) {
            pred_logits->array =
                py::array::ensure(pred_logits->array.attr("astype")("float64"), py::array::c_style);
            pred_logits->is_double = true;
        }
    } else {
        pred_labels = labels(r.pred, "pred");
        pred_rows = pred_labels->rows;
    }
    check_rows("pred", pred_rows, "truth", truth.rows);

    std::vector<std::pair<const char*, const real_array*>> checked;
    std::optional<real_array> val_pred, val_truth;
    if (valence) {
        if (r.pred_valence.is_none() || r.truth_valence.is_none()) {
            throw py::value_error("suite \"mer2023\": expected pred_valence and truth_valence "
                                  "(valence scores), got None");
        }
        val_pred = real_vector(r.pred_valence, "pred_valence", true);
        val_truth = real_vector(r.truth_valence, "truth_valence", true);
        check_rows("pred_valence", val_pred->rows, "truth", truth.rows);
        check_rows("truth_valence", val_truth->rows, "truth", truth.rows);
        promote_together(*val_pred, *val_truth);
        checked.emplace_back("pred_valence", &*val_pred);
        checked.emplace_back("truth_valence", &*val_truth);
    } else if (!r.pred_valence.is_none() || !r.truth_valence.is_none()) {
        throw py::value_error("pred_valence / truth_valence: only suite \"mer2023\" has valence "
                              "metrics, got them for suite \"" +
                              r.suite + "\"");
    }
    if (pred_logits) {
        checked.emplace_back("pred", &*pred_logits);
    }
    const auto keep = usable_rows(checked, truth.rows, r.nan);
    const std::size_t kept = keep ? keep->size() : truth.rows;
    if (!keep && pred_labels) { // view the caller's labels in place when they are int64
        data->truth = truth.values;
        data->pred = pred_labels->values;
    } else {
        data->truth_owned.reserve(kept);
        data->pred_owned.reserve(kept);
        for (const auto i : selected_rows(keep, truth.rows)) {
            data->truth_owned.push_back(truth.values[i]);
            data->pred_owned.push_back(
                pred_logits ? static_cast<std::int64_t>(first_argmax(
                                  pred_logits->values<double>().data() + i * pred_logits->cols,
                                  pred_logits->cols))
                            : pred_labels->values[i]);
        }
        data->truth = data->truth_owned;
        data->pred = data->pred_owned;
    }
    if (valence) {
        const auto value = [](const real_array& a, std::size_t row) {
            return a.is_double ? a.values<double>()[row]
                               : static_cast<double>(a.values<float>()[row]);
        };
        for (const auto i : selected_rows(keep, truth.rows)) {
            data->val_truth.push_back(value(*val_truth, i));
            data->val_pred.push_back(value(*val_pred, i));
        }
    }
    if (k == 0) {
        k = entry.default_classes;
    }
    if (k == 0) { // the CLI's rule: the largest id seen, at least 2
        std::int64_t largest = 0;
        for (std::size_t i = 0; i < kept; ++i) {
            largest = std::max({largest, data->truth[i], data->pred[i]});
        }
        k = static_cast<std::size_t>(std::max<std::int64_t>(2, largest + 1));
    }
    data->truth_source = std::move(truth);
    data->pred_source = std::move(pred_labels);
    {
        em::emotion_suite probe(suites::emotion_kind(r.suite), k); // validates K for the suite
        probe.update(data->truth, data->pred);                     // and the label range
    }
    prepared_suite out;
    out.samples = kept;
    out.evaluate = suites::class_evaluator(r.suite, k, data->truth, data->pred,
                                           std::span<const double>(data->val_truth),
                                           std::span<const double>(data->val_pred), data);
    return out;
}

prepared_suite prepare_binary_emotions(const suite_request& r) {
    constexpr std::size_t emotions = 4;
    const bool logits = wants_logits(r) && as_array(r.pred, "pred").shape(1) == 2 * emotions;
    const label_array truth = labels(r.truth, "truth", 2, emotions);
    std::optional<label_array> pred_labels;
    std::optional<real_array> pred_logits;
    if (r.logits.value_or(logits)) {
        pred_logits = real_matrix(r.pred, "pred", 2 * emotions);
        check_rows("pred", pred_logits->rows, "truth", truth.rows);
        if (!pred_logits->is_double) {
            pred_logits->array =
                py::array::ensure(pred_logits->array.attr("astype")("float64"), py::array::c_style);
            pred_logits->is_double = true;
        }
    } else {
        pred_labels = labels(r.pred, "pred", 2, emotions);
        check_rows("pred", pred_labels->rows, "truth", truth.rows);
    }
    std::vector<std::pair<const char*, const real_array*>> checked;
    if (pred_logits) {
        checked.emplace_back("pred", &*pred_logits);
    }
    const auto keep = selected_rows(usable_rows(checked, truth.rows, r.nan), truth.rows);
    auto data = std::make_shared<std::pair<std::vector<std::int64_t>, std::vector<std::int64_t>>>();
    auto* t = &data->first;
    auto* p = &data->second;
    for (const auto i : keep) {
        for (std::size_t e = 0; e < emotions; ++e) {
            t->push_back(truth.values[i * emotions + e]);
            p->push_back(
                pred_logits
                    ? static_cast<std::int64_t>(first_argmax(
                          pred_logits->values<double>().data() + i * 2 * emotions + 2 * e, 2))
                    : pred_labels->values[i * emotions + e]);
        }
    }
    em::per_emotion_binary_suite probe; // validates the 0/1 labels now
    probe.update(std::span<const std::int64_t>(*t), std::span<const std::int64_t>(*p));
    prepared_suite out;
    out.samples = keep.size();
    out.evaluate = suites::binary_emotion_evaluator(std::span<const std::int64_t>(*t),
                                                    std::span<const std::int64_t>(*p), data);
    return out;
}

} // namespace

std::vector<std::vector<std::string>> word_sets(const py::object& obj, const char* name) {
    std::vector<std::vector<std::string>> out;
    if (!py::isinstance<py::sequence>(obj) || py::isinstance<py::str>(obj)) {
        throw py::type_error(std::string(name) +
                             ": expected a sequence of word lists (or of "
                             "comma-separated strings), got " +
                             std::string(py::str(py::type::of(obj).attr("__name__"))));
    }
    for (const auto item : obj) {
        std::vector<std::string> words;
        if (py::isinstance<py::str>(item)) {
            words = suites::split_words(item.cast<std::string>());
        } else {
            try {
                words = item.cast<std::vector<std::string>>();
            } catch (const py::cast_error&) {
                throw py::type_error(std::string(name) + ": sample " + std::to_string(out.size()) +
                                     ": expected a list of strings or a comma-separated string, "
                                     "got " +
                                     std::string(py::str(py::type::of(item).attr("__name__"))));
            }
        }
        out.push_back(std::move(words));
    }
    return out;
}

namespace {

prepared_suite prepare_open_vocabulary(const suite_request& r) {
    std::vector<em::grouping_table> tables;
    for (const auto& pairs : r.groups) {
        em::grouping_table table;
        for (const auto& [word, group] : pairs) {
            table.add(word, group);
        }
        tables.push_back(std::move(table));
    }
    auto truth =
        std::make_shared<std::vector<std::vector<std::string>>>(word_sets(r.truth, "truth"));
    auto pred = std::make_shared<std::vector<std::vector<std::string>>>(word_sets(r.pred, "pred"));
    check_rows("pred", pred->size(), "truth", truth->size());
    auto scoring = suites::open_vocabulary_evaluator(std::move(tables), truth, pred);
    prepared_suite out;
    out.samples = truth->size();
    out.scored = scoring.scored;
    if (out.samples > 0 && out.scored == 0) {
        throw py::value_error("truth: every truth set is empty; ov scores only samples with a "
                              "non-empty truth set");
    }
    out.evaluate = std::move(scoring.evaluate);
    return out;
}

prepared_suite prepare(const suite_request& r) {
    const auto [entry, chosen] = resolve_preset(r.suite, r.preset);
    const std::string preset(chosen->name);
    if (!r.groups.empty() && r.suite != "ov") {
        throw py::value_error("groups: applies to suite \"ov\" only, got suite \"" + r.suite +
                              "\"");
    }
    const auto input = chosen->input;
    if (r.logits.value_or(false) &&
        (input == suites::input_kind::scores || input == suites::input_kind::word_sets)) {
        throw py::value_error("logits: applies to class suites only, got suite \"" + r.suite +
                              "\"");
    }
    if (r.num_classes && *r.num_classes == 0) {
        throw_value("num_classes", "at least 1", "0");
    }
    prepared_suite out = input == suites::input_kind::scores            ? prepare_scores(r, preset)
                         : input == suites::input_kind::word_sets       ? prepare_open_vocabulary(r)
                         : input == suites::input_kind::binary_emotions ? prepare_binary_emotions(r)
                                                                        : prepare_labels(r, *entry);
    out.suite = r.suite;
    out.preset = preset;
    if (input != suites::input_kind::word_sets) {
        out.scored = out.samples;
    }
    if (out.samples == 0) {
        throw py::value_error("pred: no samples to evaluate (expected at least one finite "
                              "sample, got 0)");
    }
    return out;
}

em::bootstrap_options bootstrap_settings(std::size_t resamples, std::uint64_t seed,
                                         double confidence, unsigned threads) {
    if (!(confidence > 0 && confidence < 1)) {
        throw_value("confidence", "a number in (0, 1)", std::to_string(confidence));
    }
    em::bootstrap_options b;
    b.resamples = resamples;
    b.seed = seed;
    b.confidence = confidence;
    b.threads = threads;
    return b;
}

/// (result dict shaped like emofuse-eval's JSON, warnings)
py::tuple evaluate(const suite_request& request, std::size_t bootstrap, std::uint64_t seed,
                   double confidence, unsigned threads) {
    const auto options = bootstrap_settings(bootstrap, seed, confidence, threads);
    const prepared_suite bound = prepare(request);
    em::suite_result result;
    em::bootstrap_result intervals;
    {
        const py::gil_scoped_release unlocked;
        result = bound.evaluate({});
        if (bootstrap > 0) {
            intervals = em::bootstrap(bound.samples, bound.evaluate, options);
        }
    }
    py::dict out;
    out["suite"] = bound.suite;
    out["preset"] = bound.preset;
    out["n"] = bound.scored;
    py::dict metrics_dict;
    for (const auto& m : result.metrics) {
        metrics_dict[py::str(m.key)] = m.value;
    }
    out["metrics"] = metrics_dict;
    py::dict ci;
    for (std::size_t k = 0; k < intervals.keys.size(); ++k) {
        ci[py::str(intervals.keys[k])] =
            py::make_tuple(intervals.intervals[k].low, intervals.intervals[k].high);
    }
    out["ci"] = ci;
    return py::make_tuple(out, result.warnings);
}

suite_request make_request(std::string suite, py::object pred, py::object truth, std::string preset,
                           std::optional<std::size_t> num_classes, std::optional<bool> logits,
                           std::vector<std::vector<std::pair<std::string, std::string>>> groups,
                           const std::string& nan, py::object pred_valence,
                           py::object truth_valence) {
    suite_request r;
    r.suite = std::move(suite);
    r.pred = std::move(pred);
    r.truth = std::move(truth);
    r.preset = std::move(preset);
    r.num_classes = num_classes;
    r.logits = logits;
    r.groups = std::move(groups);
    if (nan != "error" && nan != "skip") {
        throw_value("nan", "\"error\" or \"skip\"", "\"" + nan + "\"");
    }
    r.nan = em::parse_nan_policy(nan);
    r.pred_valence = std::move(pred_valence);
    r.truth_valence = std::move(truth_valence);
    return r;
}

} // namespace

void bind_metric_suites(py::module_& m) {
    m.def(
        "suite_table",
        [] {
            py::list rows;
            for (const auto& suite : suites::table) {
                py::list presets;
                for (const auto& preset : suite.presets()) {
                    if (preset.input != suites::input_kind::wheel_word_sets) {
                        presets.append(std::string(preset.name));
                    }
                }
                rows.append(
                    py::make_tuple(std::string(suite.name), presets, suite.default_classes));
            }
            return rows;
        },
        "emofuse-eval's suites as (name, presets with the default first, default class count "
        "or 0 when inferred from the data); the emotion-wheel presets, which need emofuse-eval's "
        "--wheel folder, are left out.");
    using groups_type = std::vector<std::vector<std::pair<std::string, std::string>>>;
    m.def(
        "evaluate",
        [](std::string suite, py::object pred, py::object truth, std::string preset,
           std::optional<std::size_t> num_classes, std::optional<bool> logits, groups_type groups,
           const std::string& nan, py::object pred_valence, py::object truth_valence,
           std::size_t bootstrap, std::uint64_t seed, double confidence, unsigned threads) {
            return evaluate(make_request(std::move(suite), std::move(pred), std::move(truth),
                                         std::move(preset), num_classes, logits, std::move(groups),
                                         nan, std::move(pred_valence), std::move(truth_valence)),
                            bootstrap, seed, confidence, threads);
        },
        py::arg("suite"), py::arg("pred"), py::arg("truth"), py::arg("preset") = "",
        py::arg("num_classes") = py::none(), py::arg("logits") = py::none(),
        py::arg("groups") = groups_type{}, py::arg("nan") = "error",
        py::arg("pred_valence") = py::none(), py::arg("truth_valence") = py::none(),
        py::arg("bootstrap") = 0, py::arg("seed") = 0, py::arg("confidence") = 0.95,
        py::arg("threads") = 0,
        "Evaluates one emofuse-eval suite; returns (result dict shaped like the CLI's JSON, "
        "warnings).");

    m.def(
        "paired_bootstrap",
        [](std::string suite, std::string metric, py::object pred_a, py::object pred_b,
           py::object truth, std::string preset, std::optional<std::size_t> num_classes,
           std::optional<bool> logits, groups_type groups, std::size_t resamples,
           std::uint64_t seed, double confidence, unsigned threads) {
            const auto a =
                prepare(make_request(suite, std::move(pred_a), truth, preset, num_classes, logits,
                                     groups, "error", py::none(), py::none()));
            const auto b =
                prepare(make_request(suite, std::move(pred_b), truth, preset, num_classes, logits,
                                     groups, "error", py::none(), py::none()));
            if (!a.evaluate({}).contains(metric)) {
                std::string keys;
                for (const auto& v : a.evaluate({}).metrics) {
                    keys += (keys.empty() ? "" : ", ") + v.key;
                }
                throw py::value_error("metric: suite \"" + suite + "\" has keys " + keys +
                                      "; got \"" + metric + "\"");
            }
            const auto options = bootstrap_settings(resamples, seed, confidence, threads);
            em::paired_bootstrap_result r;
            {
                const py::gil_scoped_release unlocked;
                r = em::paired_bootstrap(
                    a.samples,
                    [&](std::span<const std::uint32_t> w) { return a.evaluate(w).at(metric); },
                    [&](std::span<const std::uint32_t> w) { return b.evaluate(w).at(metric); },
                    options);
            }
            py::dict out;
            out["metric"] = metric;
            out["observed_delta"] = r.observed_delta;
            out["delta_interval"] = py::make_tuple(r.delta_interval.low, r.delta_interval.high);
            out["p_value"] = r.p_value;
            out["resamples"] = r.resamples;
            return out;
        },
        py::arg("suite"), py::arg("metric"), py::arg("pred_a"), py::arg("pred_b"), py::arg("truth"),
        py::arg("preset") = "", py::arg("num_classes") = py::none(), py::arg("logits") = py::none(),
        py::arg("groups") = groups_type{}, py::arg("resamples") = 1000, py::arg("seed") = 0,
        py::arg("confidence") = 0.95, py::arg("threads") = 0,
        "Paired bootstrap of metric(A) - metric(B) on the same resamples.");

    m.def(
        "mcnemar",
        [](py::object truth, py::object pred_a, py::object pred_b,
           std::optional<std::size_t> num_classes, const std::string& method) {
            const auto t = labels(truth, "truth");
            const auto a = labels(pred_a, "pred_a");
            const auto b = labels(pred_b, "pred_b");
            check_rows("pred_a", a.rows, "truth", t.rows);
            check_rows("pred_b", b.rows, "truth", t.rows);
            if (method != "exact" && method != "chi_square_corrected") {
                throw_value("method", "\"exact\" or \"chi_square_corrected\"",
                            "\"" + method + "\"");
            }
            std::size_t k = num_classes.value_or(0);
            if (k == 0) {
                std::int64_t largest = 0;
                for (std::size_t i = 0; i < t.rows; ++i) {
                    largest = std::max({largest, t.values[i], a.values[i], b.values[i]});
                }
                k = static_cast<std::size_t>(std::max<std::int64_t>(2, largest + 1));
            }
            const auto r =
                em::mcnemar(t.values, a.values, b.values, k,
                            method == "exact" ? em::mcnemar_method::exact
                                              : em::mcnemar_method::chi_square_corrected);
            py::dict out;
            out["only_a_correct"] = r.only_a_correct;
            out["only_b_correct"] = r.only_b_correct;
            out["statistic"] = r.statistic;
            out["p_value"] = r.p_value;
            return out;
        },
        py::arg("truth"), py::arg("pred_a"), py::arg("pred_b"), py::arg("num_classes") = py::none(),
        py::arg("method") = "exact", "McNemar's test of two classifiers on the same samples.");
}

} // namespace emofuse::python
