// python/src/metrics_accumulators.cpp — the streaming suites as objects (update / merge /
// compute) whose plain-data state can be read and restored, so they pickle and cross process
// boundaries (torch.multiprocessing, DDP ranks).
#include "arrays.hpp"
#include "bindings.hpp"

#include <emofuse/metrics/classification.hpp>
#include <emofuse/metrics/emotion.hpp>
#include <emofuse/metrics/open_vocabulary.hpp>
#include <emofuse/metrics/policy.hpp>
#include <emofuse/metrics/regression.hpp>
#include <emofuse/metrics/regression_suite.hpp>
#include <emofuse/metrics/sentiment.hpp>
#include <emofuse/metrics/suite_result.hpp>

#include <pybind11/stl.h>

#include <array>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace emofuse::python {

namespace em = emofuse::metrics;

namespace {

/// (dict shaped like emofuse-eval's JSON without intervals, warnings)
py::tuple result_tuple(const em::suite_result& result) {
    py::dict out;
    out["suite"] = result.suite;
    out["preset"] = result.preset;
    out["n"] = static_cast<std::uint64_t>(result.count);
    py::dict values;
    for (const auto& m : result.metrics) {
        values[py::str(m.key)] = m.value;
    }
    out["metrics"] = values;
    out["ci"] = py::dict();
    return py::make_tuple(out, result.warnings);
}

em::nan_policy policy_named(const std::string& nan) {
    if (nan != "error" && nan != "skip") {
        throw_value("nan", "\"error\" or \"skip\"", "\"" + nan + "\"");
    }
    return em::parse_nan_policy(nan);
}

py::tuple moments_tuple(const em::comoments& m) {
    return py::make_tuple(m.n, m.mean_x, m.mean_y, m.m2_x, m.m2_y, m.c_xy, m.sum_abs_err,
                          m.sum_sq_err);
}

em::comoments moments_from(const py::handle& state) {
    const auto v = state.cast<std::array<double, 8>>();
    return {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]};
}

template <class T, std::size_t N>
std::array<T, N> array_from(const py::handle& state, const char* what) {
    const auto v = state.cast<std::vector<T>>();
    if (v.size() != N) {
        throw_value(std::string("state: ") + what, std::to_string(N) + " values",
                    std::to_string(v.size()));
    }
    std::array<T, N> out{};
    std::copy(v.begin(), v.end(), out.begin());
    return out;
}

/// Checked (pred, truth) real vectors of one dtype.
std::pair<real_array, real_array> score_pair(py::handle pred, py::handle truth) {
    real_array p = real_vector(pred, "pred");
    real_array t = real_vector(truth, "truth");
    check_rows("pred", p.rows, "truth", t.rows);
    promote_together(p, t);
    return {std::move(p), std::move(t)};
}

// The score suites' update kernel is compiled for three x86-64 levels and the CPU picks one
// when the module loads (GCC's target_clones, an ifunc): the module itself targets the
// baseline, whose SSE2 lacks the registers for the kernel's 16 lanes x 8 sums, and runs it
// 3-4x slower than AVX-512 does. flatten inlines the whole update into each clone. The module
// is compiled with -ffp-contract=off, so no clone fuses a multiply-add and every clone gives
// the baseline's bits (the lanes fix the order of the sums).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12 && defined(__x86_64__) &&           \
    defined(__linux__)
#define EMOFUSE_PYTHON_ISA_CLONES 1
#define EMOFUSE_PYTHON_UPDATE_KERNEL                                                               \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"), flatten))
#else
#define EMOFUSE_PYTHON_ISA_CLONES 0
#define EMOFUSE_PYTHON_UPDATE_KERNEL
#endif

/// Score pairs of either precision into a suite (inlined into each clone below).
template <class Suite>
void update_either(Suite& suite, const real_array& truth, const real_array& pred) {
    if (pred.is_double) {
        suite.update(truth.values<double>(), pred.values<double>());
    } else {
        suite.update(truth.values<float>(), pred.values<float>());
    }
}

EMOFUSE_PYTHON_UPDATE_KERNEL void update_kernel(em::regression_suite& suite,
                                                const real_array& truth, const real_array& pred) {
    update_either(suite, truth, pred);
}
EMOFUSE_PYTHON_UPDATE_KERNEL void update_kernel(em::sentiment_suite& suite, const real_array& truth,
                                                const real_array& pred) {
    update_either(suite, truth, pred);
}

/// The x86-64 level whose clone of the update kernel this CPU runs.
std::string update_kernel_level() {
#if EMOFUSE_PYTHON_ISA_CLONES
    __builtin_cpu_init();
    if (__builtin_cpu_supports("x86-64-v4")) {
        return "x86-64-v4";
    }
    if (__builtin_cpu_supports("x86-64-v3")) {
        return "x86-64-v3";
    }
#endif
    return "baseline";
}

/// Contiguous float32/float64 input is read in place (no copy, no per-element Python work).
template <class Suite>
void update_scores(Suite& suite, py::handle pred, py::handle truth) {
    const auto [p, t] = score_pair(pred, truth);
    const py::gil_scoped_release unlocked;
    update_kernel(suite, t, p);
}

class sentiment_accumulator {
public:
    sentiment_accumulator(const std::string& dataset, const std::string& preset,
                          const std::string& nan)
        : suite_(dataset_named(dataset), preset_named(preset), policy_named(nan)) {}

    void update(py::handle pred, py::handle truth) { update_scores(suite_, pred, truth); }
    void merge(const sentiment_accumulator& other) {
        if (other.suite_.dataset() != suite_.dataset() ||
            other.suite_.preset() != suite_.preset()) {
            throw py::value_error("other: expected an accumulator of the same suite and preset");
        }
        suite_.merge(other.suite_);
    }
    py::tuple compute() const { return result_tuple(suite_.compute()); }

    py::tuple state() const {
        const auto& s = suite_.state();
        return py::make_tuple(s.binary_all, s.binary_nonzero, s.exact_match, s.samples,
                              moments_tuple(s.moments));
    }
    void set_state(const py::tuple& state) {
        if (state.size() != 5) {
            throw_value("state", "a 5-tuple", std::to_string(state.size()) + " items");
        }
        em::sentiment_state s;
        s.binary_all = array_from<std::uint64_t, 4>(state[0], "binary_all");
        s.binary_nonzero = array_from<std::uint64_t, 4>(state[1], "binary_nonzero");
        s.exact_match = array_from<std::uint64_t, 3>(state[2], "exact_match");
        s.samples = state[3].cast<std::uint64_t>();
        s.moments = moments_from(state[4]);
        suite_.state() = s;
    }

private:
    static em::sentiment_dataset dataset_named(const std::string& name) {
        if (name == "mosi") {
            return em::sentiment_dataset::mosi;
        }
        if (name == "mosei") {
            return em::sentiment_dataset::mosei;
        }
        if (name == "sims") {
            return em::sentiment_dataset::sims;
        }
        throw_value("suite", "\"mosi\", \"mosei\" or \"sims\"", "\"" + name + "\"");
    }
    static em::sentiment_preset preset_named(const std::string& name) {
        if (name == "mmsa") {
            return em::sentiment_preset::mmsa;
        }
        if (name == "mult") {
            return em::sentiment_preset::mult;
        }
        throw_value("preset", "\"mmsa\" or \"mult\"", "\"" + name + "\"");
    }

    em::sentiment_suite suite_;
};

class regression_accumulator {
public:
    regression_accumulator(const std::string& preset, const std::string& nan)
        : suite_(preset_named(preset), policy_named(nan)) {}

    void update(py::handle pred, py::handle truth) { update_scores(suite_, pred, truth); }
    void merge(const regression_accumulator& other) {
        if (other.suite_.ccc_ddof() != suite_.ccc_ddof()) {
            throw py::value_error("other: expected an accumulator of the same preset");
        }
        suite_.merge(other.suite_);
    }
    py::tuple compute() const { return result_tuple(suite_.compute()); }
    py::tuple state() const { return moments_tuple(suite_.state()); }
    void set_state(const py::tuple& state) { suite_.state() = moments_from(state); }

private:
    static em::regression_preset preset_named(const std::string& name) {
        if (name == "mertools") {
            return em::regression_preset::mertools;
        }
        if (name == "torchmetrics") {
            return em::regression_preset::torchmetrics;
        }
        throw_value("preset", "\"mertools\" or \"torchmetrics\"", "\"" + name + "\"");
    }

    em::regression_suite suite_;
};

/// Class predictions from labels (1-D) or logits (2-D: first argmax per row), for the rows
/// in `keep` (all rows when empty and `all`).
std::vector<std::int64_t> class_predictions(py::handle pred, std::size_t num_classes,
                                            em::nan_policy policy, std::vector<std::size_t>& keep,
                                            std::size_t& rows) {
    std::vector<std::int64_t> out;
    if (as_array(pred, "pred").ndim() == 2) {
        real_array logits = real_matrix(pred, "pred", num_classes);
        if (!logits.is_double) {
            logits.array =
                py::array::ensure(logits.array.attr("astype")("float64"), py::array::c_style);
            logits.is_double = true;
        }
        rows = logits.rows;
        keep = finite_rows(logits);
        if (keep.size() != rows && policy == em::nan_policy::error) {
            std::size_t bad = 0;
            while (bad < keep.size() && keep[bad] == bad) {
                ++bad;
            }
            throw py::value_error("pred: non-finite logit at sample " + std::to_string(bad) +
                                  " under nan=\"error\"; pass nan=\"skip\" to drop such samples");
        }
        for (const auto i : keep) {
            out.push_back(static_cast<std::int64_t>(
                first_argmax(logits.values<double>().data() + i * num_classes, num_classes)));
        }
        return out;
    }
    const auto l = labels(pred, "pred");
    rows = l.rows;
    keep.resize(rows);
    for (std::size_t i = 0; i < rows; ++i) {
        keep[i] = i;
    }
    out.assign(l.values.begin(), l.values.end());
    return out;
}

class emotion_accumulator {
public:
    emotion_accumulator(const std::string& suite, std::size_t num_classes, const std::string& nan)
        : kind_(kind_named(suite)), policy_(policy_named(nan)), suite_(kind_, num_classes),
          valence_(em::nan_policy::error) {}

    void update(py::handle pred, py::handle truth, py::handle pred_valence,
                py::handle truth_valence) {
        const std::size_t k = suite_.counts().num_classes();
        std::vector<std::size_t> keep;
        std::size_t rows = 0;
        std::vector<std::int64_t> p = class_predictions(pred, k, policy_, keep, rows);
        const auto t_all = labels(truth, "truth");
        check_rows("pred", rows, "truth", t_all.rows);
        std::optional<real_array> vp, vt;
        if (kind_ == em::emotion_suite_kind::mer2023) {
            if (pred_valence.is_none() || truth_valence.is_none()) {
                throw py::value_error("suite \"mer2023\": expected pred_valence and "
                                      "truth_valence (valence scores), got None");
            }
            vp = real_vector(pred_valence, "pred_valence", true);
            vt = real_vector(truth_valence, "truth_valence", true);
            check_rows("pred_valence", vp->rows, "truth", rows);
            check_rows("truth_valence", vt->rows, "truth", rows);
        } else if (!pred_valence.is_none() || !truth_valence.is_none()) {
            throw py::value_error("pred_valence / truth_valence: only suite \"mer2023\" has "
                                  "valence metrics");
        }
        std::vector<std::int64_t> t;
        std::vector<double> val_p, val_t;
        std::vector<std::int64_t> kept_p;
        for (std::size_t j = 0; j < keep.size(); ++j) {
            const std::size_t i = keep[j];
            if (vp) {
                const double a =
                    vp->is_double ? vp->values<double>()[i] : double(vp->values<float>()[i]);
                const double b =
                    vt->is_double ? vt->values<double>()[i] : double(vt->values<float>()[i]);
                if (!std::isfinite(a) || !std::isfinite(b)) {
                    if (policy_ == em::nan_policy::error) {
                        throw py::value_error(
                            std::string(std::isfinite(a) ? "truth_valence" : "pred_valence") +
                            ": non-finite value at sample " + std::to_string(i) +
                            " under nan=\"error\"; pass nan=\"skip\" to drop such samples");
                    }
                    continue;
                }
                val_p.push_back(a);
                val_t.push_back(b);
            }
            t.push_back(t_all.values[i]);
            kept_p.push_back(p[j]);
        }
        const py::gil_scoped_release unlocked;
        // Check every label before counting any, so a failed update leaves the state as it was.
        em::detail::check_labels("update", "truth", std::span<const std::int64_t>(t), k);
        em::detail::check_labels("update", "prediction", std::span<const std::int64_t>(kept_p), k);
        suite_.update(std::span<const std::int64_t>(t), std::span<const std::int64_t>(kept_p));
        if (vp) {
            valence_.update(std::span<const double>(val_t), std::span<const double>(val_p));
        }
    }

    void merge(const emotion_accumulator& other) {
        if (other.kind_ != kind_ ||
            other.suite_.counts().num_classes() != suite_.counts().num_classes()) {
            throw py::value_error("other: expected an accumulator of the same suite and number "
                                  "of classes");
        }
        suite_.merge(other.suite_);
        valence_.merge(other.valence_);
    }

    py::tuple compute() const {
        if (kind_ != em::emotion_suite_kind::mer2023) {
            return result_tuple(suite_.compute());
        }
        // MER2023 from the counts and the valence moments kept here (the suite's own formula).
        const auto& counts = suite_.counts();
        em::suite_result out;
        out.suite = "mer2023";
        out.preset = "mertools";
        out.count = static_cast<double>(counts.total());
        em::detail::require_samples("compute (mer2023)", out.count);
        const double fscore = em::f1(counts, em::average::weighted);
        const double valmse = em::mse(valence_.state());
        out.add("emofscore", fscore);
        out.add("emoacc", em::accuracy(counts));
        out.add("valmse", valmse);
        out.add("overall", fscore - valmse * 0.25);
        return result_tuple(out);
    }

    py::tuple state() const {
        const auto& counts = suite_.counts();
        const std::size_t k = counts.num_classes();
        std::vector<std::uint64_t> cells(k * k);
        for (std::size_t t = 0; t < k; ++t) {
            for (std::size_t p = 0; p < k; ++p) {
                cells[t * k + p] = counts(t, p);
            }
        }
        return py::make_tuple(k, cells, moments_tuple(valence_.state()));
    }
    void set_state(const py::tuple& state) {
        if (state.size() != 3) {
            throw_value("state", "a 3-tuple", std::to_string(state.size()) + " items");
        }
        const auto k = state[0].cast<std::size_t>();
        const auto cells = state[1].cast<std::vector<std::uint64_t>>();
        if (k != suite_.counts().num_classes() || cells.size() != k * k) {
            throw_value("state",
                        "counts of " + std::to_string(suite_.counts().num_classes()) + " classes",
                        std::to_string(cells.size()) + " cells for " + std::to_string(k));
        }
        em::confusion_counts counts(k);
        for (std::size_t c = 0; c < cells.size(); ++c) {
            counts.add(c / k, c % k, cells[c]);
        }
        suite_.counts() = counts;
        valence_ = em::regression_accumulator(em::nan_policy::error);
        valence_.merge(moments_from(state[2]));
    }

private:
    static em::emotion_suite_kind kind_named(const std::string& name) {
        for (const auto kind : {em::emotion_suite_kind::classification,
                                em::emotion_suite_kind::iemocap, em::emotion_suite_kind::meld,
                                em::emotion_suite_kind::mer2023, em::emotion_suite_kind::mer2024}) {
            if (em::to_string(kind) == name) {
                return kind;
            }
        }
        throw_value("suite",
                    "\"classification\", \"iemocap\", \"meld\", \"mer2023\" or \"mer2024\"",
                    "\"" + name + "\"");
    }

    em::emotion_suite_kind kind_;
    em::nan_policy policy_;
    em::emotion_suite suite_;
    em::regression_accumulator valence_;
};

class binary_emotion_accumulator {
public:
    binary_emotion_accumulator() = default;

    void update(py::handle pred, py::handle truth, const std::string& nan) {
        constexpr std::size_t emotions = 4;
        const auto t = labels(truth, "truth", 2, emotions);
        std::vector<std::int64_t> p, kept_t;
        const py::array pred_array = as_array(pred, "pred");
        if (pred_array.ndim() == 2 && pred_array.shape(1) == 2 * emotions) {
            real_array logits = real_matrix(pred, "pred", 2 * emotions);
            if (!logits.is_double) {
                logits.array =
                    py::array::ensure(logits.array.attr("astype")("float64"), py::array::c_style);
                logits.is_double = true;
            }
            check_rows("pred", logits.rows, "truth", t.rows);
            const auto policy = policy_named(nan);
            for (std::size_t i = 0; i < logits.rows; ++i) {
                if (!logits.finite_row(i)) {
                    if (policy == em::nan_policy::error) {
                        throw py::value_error("pred: non-finite logit at sample " +
                                              std::to_string(i) + " under nan=\"error\"");
                    }
                    continue;
                }
                for (std::size_t e = 0; e < emotions; ++e) {
                    p.push_back(static_cast<std::int64_t>(first_argmax(
                        logits.values<double>().data() + i * 2 * emotions + 2 * e, 2)));
                    kept_t.push_back(t.values[i * emotions + e]);
                }
            }
        } else {
            const auto l = labels(pred, "pred", 2, emotions);
            check_rows("pred", l.rows, "truth", t.rows);
            p.assign(l.values.begin(), l.values.end());
            kept_t.assign(t.values.begin(), t.values.end());
        }
        const py::gil_scoped_release unlocked;
        suite_.update(std::span<const std::int64_t>(kept_t), std::span<const std::int64_t>(p));
    }
    void merge(const binary_emotion_accumulator& other) { suite_.merge(other.suite_); }
    py::tuple compute() const { return result_tuple(suite_.compute()); }
    std::vector<std::uint64_t> state() const {
        return {suite_.state().begin(), suite_.state().end()};
    }
    void set_state(const std::vector<std::uint64_t>& cells) {
        auto target = suite_.state();
        if (cells.size() != target.size()) {
            throw_value("state", std::to_string(target.size()) + " counts",
                        std::to_string(cells.size()));
        }
        std::copy(cells.begin(), cells.end(), target.begin());
    }

private:
    em::per_emotion_binary_suite suite_;
};

class open_vocabulary_accumulator {
public:
    using table_pairs = std::vector<std::pair<std::string, std::string>>;

    explicit open_vocabulary_accumulator(std::vector<table_pairs> groups)
        : groups_(std::move(groups)), suite_(tables(groups_)) {}

    void update(const py::object& pred, const py::object& truth) {
        const auto p = word_sets(pred, "pred");
        const auto t = word_sets(truth, "truth");
        check_rows("pred", p.size(), "truth", t.size());
        const py::gil_scoped_release unlocked;
        suite_.update(t, p);
    }
    void merge(const open_vocabulary_accumulator& other) { suite_.merge(other.suite_); }
    py::tuple compute() const { return result_tuple(suite_.compute()); }
    std::vector<std::array<double, 3>> state() const {
        std::vector<std::array<double, 3>> out;
        for (const auto& s : suite_.state()) {
            out.push_back({s.samples, s.sum_precision, s.sum_recall});
        }
        return out;
    }
    void set_state(const std::vector<std::array<double, 3>>& values) {
        auto target = suite_.state();
        if (values.size() != target.size()) {
            throw_value("state", std::to_string(target.size()) + " tables",
                        std::to_string(values.size()));
        }
        for (std::size_t t = 0; t < values.size(); ++t) {
            target[t] = {values[t][0], values[t][1], values[t][2]};
        }
    }
    const std::vector<table_pairs>& groups() const { return groups_; }

private:
    static std::vector<em::grouping_table> tables(const std::vector<table_pairs>& groups) {
        std::vector<em::grouping_table> out;
        for (const auto& pairs : groups) {
            em::grouping_table table;
            for (const auto& [word, group] : pairs) {
                table.add(word, group);
            }
            out.push_back(std::move(table));
        }
        if (out.empty()) {
            out.emplace_back();
        }
        return out;
    }

    std::vector<table_pairs> groups_;
    em::open_vocabulary_suite suite_;
};

} // namespace

void bind_metric_accumulators(py::module_& m) {
    m.def("update_kernel_level", &update_kernel_level,
          "The x86-64 level (\"x86-64-v4\", \"x86-64-v3\" or \"baseline\") whose build of the "
          "score accumulators' update kernel this CPU runs.");
    constexpr const char* compute_doc =
        "(result dict shaped like emofuse-eval's JSON, warnings) of every sample seen.";
    py::class_<sentiment_accumulator>(m, "SentimentAccumulator",
                                      "Streaming mosi / mosei / sims suite.")
        .def(py::init<const std::string&, const std::string&, const std::string&>(),
             py::arg("suite"), py::arg("preset") = "mmsa", py::arg("nan") = "error")
        .def("update", &sentiment_accumulator::update, py::arg("pred"), py::arg("truth"),
             "Adds (pred, truth) score pairs.")
        .def("merge", &sentiment_accumulator::merge, py::arg("other"),
             "Adds another accumulator's samples.")
        .def("compute", &sentiment_accumulator::compute, compute_doc)
        .def_property("state", &sentiment_accumulator::state, &sentiment_accumulator::set_state,
                      "Plain-data state (counts and co-moments).");
    py::class_<regression_accumulator>(m, "RegressionAccumulator", "Streaming regression suite.")
        .def(py::init<const std::string&, const std::string&>(), py::arg("preset") = "mertools",
             py::arg("nan") = "error")
        .def("update", &regression_accumulator::update, py::arg("pred"), py::arg("truth"),
             "Adds (pred, truth) pairs.")
        .def("merge", &regression_accumulator::merge, py::arg("other"),
             "Adds another accumulator's samples.")
        .def("compute", &regression_accumulator::compute, compute_doc)
        .def_property("state", &regression_accumulator::state, &regression_accumulator::set_state,
                      "Plain-data state (co-moments).");
    py::class_<emotion_accumulator>(m, "EmotionAccumulator",
                                    "Streaming single-label emotion suite.")
        .def(py::init<const std::string&, std::size_t, const std::string&>(), py::arg("suite"),
             py::arg("num_classes"), py::arg("nan") = "error")
        .def("update", &emotion_accumulator::update, py::arg("pred"), py::arg("truth"),
             py::arg("pred_valence") = py::none(), py::arg("truth_valence") = py::none(),
             "Adds class ids (pred may be (n, K) logits).")
        .def("merge", &emotion_accumulator::merge, py::arg("other"),
             "Adds another accumulator's samples.")
        .def("compute", &emotion_accumulator::compute, compute_doc)
        .def_property("state", &emotion_accumulator::state, &emotion_accumulator::set_state,
                      "Plain-data state (confusion counts, valence co-moments).");
    py::class_<binary_emotion_accumulator>(m, "BinaryEmotionAccumulator",
                                           "Streaming IEMOCAP per-emotion binary suite (mult).")
        .def(py::init<>())
        .def("update", &binary_emotion_accumulator::update, py::arg("pred"), py::arg("truth"),
             py::arg("nan") = "error", "Adds (n, 4) 0/1 labels (pred may be (n, 8) logits).")
        .def("merge", &binary_emotion_accumulator::merge, py::arg("other"),
             "Adds another accumulator's samples.")
        .def("compute", &binary_emotion_accumulator::compute, compute_doc)
        .def_property("state", &binary_emotion_accumulator::state,
                      &binary_emotion_accumulator::set_state, "Plain-data state (counts).");
    py::class_<open_vocabulary_accumulator>(m, "OpenVocabularyAccumulator",
                                            "Streaming open-vocabulary suite.")
        .def(py::init<std::vector<open_vocabulary_accumulator::table_pairs>>(), py::arg("groups"))
        .def("update", &open_vocabulary_accumulator::update, py::arg("pred"), py::arg("truth"),
             "Adds word sets.")
        .def("merge", &open_vocabulary_accumulator::merge, py::arg("other"),
             "Adds another accumulator's samples.")
        .def("compute", &open_vocabulary_accumulator::compute, compute_doc)
        .def_property("state", &open_vocabulary_accumulator::state,
                      &open_vocabulary_accumulator::set_state,
                      "Plain-data state (per table: samples, precision and recall sums).")
        .def_property_readonly("groups", &open_vocabulary_accumulator::groups,
                               "The grouping tables as (word, group) pairs.");
}

} // namespace emofuse::python
