// Parity of every metric and suite with the committed numpy / scikit-learn / peer-formula
// fixtures (tests/metrics/generate_fixtures.py). Tolerance: 1e-12 relative in double. With
// float inputs the reference is numpy on float32 arrays (as MMSA runs on float tensors):
// counts-based keys and correlations still match to 1e-12; MAE/MSE/RMSE to 1e-6 because
// numpy subtracts and accumulates them in float32 while emofuse accumulates in double.
#include "fixtures.hpp"

#include <emofuse/metrics/classification.hpp>
#include <emofuse/metrics/emotion.hpp>
#include <emofuse/metrics/open_vocabulary.hpp>
#include <emofuse/metrics/regression.hpp>
#include <emofuse/metrics/regression_suite.hpp>
#include <emofuse/metrics/sentiment.hpp>
#include <emofuse/metrics/significance.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <set>
#include <span>
#include <string>
#include <vector>

namespace em = emofuse::metrics;
using metrics_test::close;
using metrics_test::fixtures;

namespace {

constexpr double tight = 1e-12;

em::sentiment_dataset dataset_of(const std::string& name) {
    if (name == "mosi") {
        return em::sentiment_dataset::mosi;
    }
    return name == "mosei" ? em::sentiment_dataset::mosei : em::sentiment_dataset::sims;
}

em::sentiment_preset preset_of(const std::string& name) {
    return name == "mmsa" ? em::sentiment_preset::mmsa : em::sentiment_preset::mult;
}

void check_suite(const em::suite_result& result, const nlohmann::json& expected,
                 double float_error_tolerance, const std::string& label) {
    CAPTURE(label);
    REQUIRE(result.metrics.size() == expected.size());
    for (const auto& m : result.metrics) {
        CAPTURE(m.key);
        REQUIRE(expected.contains(m.key));
        const bool error_key = m.key == "MAE" || m.key == "mae" || m.key == "mse" ||
                               m.key == "rmse" || m.key == "valmse" || m.key == "overall";
        CHECK_MESSAGE(close(m.value, expected[m.key], error_key ? float_error_tolerance : tight),
                      "got ", std::to_string(m.value) + " (" + nlohmann::json(m.value).dump() + ")",
                      " expected ", expected[m.key].dump());
    }
}

template <class T>
void formula_data(std::size_t n, std::vector<T>& truth, std::vector<T>& pred) {
    truth.resize(n);
    pred.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint64_t a = (static_cast<std::uint64_t>(i) * 2654435761ULL) % (1ULL << 32);
        const double t = (static_cast<double>(a % 19) - 9.0) / 3.0;
        const std::uint64_t b = (static_cast<std::uint64_t>(i) * 40503ULL) % 65536ULL;
        const double p = 0.75 * t + (static_cast<double>(b) / 16384.0 - 2.0);
        truth[i] = static_cast<T>(static_cast<float>(t)); // the fixture rounds to float32
        pred[i] = static_cast<T>(static_cast<float>(p));
    }
}

} // namespace

TEST_CASE_TEMPLATE("sentiment suites match MMSA / MulT formulas", T, float, double) {
    for (const auto& c : fixtures()["sentiment"]) {
        const auto truth = metrics_test::as_vector<T>(c["truth"]);
        const auto pred = metrics_test::as_vector<T>(c["pred"]);
        const auto& expected = std::is_same_v<T, double> ? c["expected64"] : c["expected32"];
        const double error_tol = std::is_same_v<T, double> ? tight : 1e-6;
        for (const auto& [preset, keys] : expected.items()) {
            em::sentiment_suite suite(dataset_of(c["dataset"]), preset_of(preset));
            suite.update(std::span<const T>(truth), std::span<const T>(pred));
            check_suite(suite.compute(), keys, error_tol,
                        c["name"].get<std::string>() + "/" + preset);
        }
    }
}

TEST_CASE_TEMPLATE("regression metrics match numpy", T, float, double) {
    for (const auto& c : fixtures()["sentiment"]) {
        CAPTURE(c["name"].get<std::string>());
        const auto truth = metrics_test::as_vector<T>(c["truth"]);
        const auto pred = metrics_test::as_vector<T>(c["pred"]);
        const auto& expected = std::is_same_v<T, double> ? c["regression64"] : c["regression32"];
        const double error_tol = std::is_same_v<T, double> ? tight : 1e-6;
        em::regression_accumulator acc;
        acc.update(std::span<const T>(truth), std::span<const T>(pred));
        const auto r0 = acc.compute(0);
        CHECK(close(r0.mae, expected["mae"], error_tol));
        CHECK(close(r0.mse, expected["mse"], error_tol));
        CHECK(close(r0.rmse, expected["rmse"], error_tol));
        CHECK(close(r0.pearson, expected["pearson"], tight));
        CHECK(r0.constant_input == expected["pearson"].is_null());
        CHECK(close(r0.ccc, expected["ccc_ddof0"], tight));
        CHECK(close(acc.compute(1).ccc, expected["ccc_ddof1"], tight));
        for (const auto preset :
             {em::regression_preset::mertools, em::regression_preset::torchmetrics}) {
            em::regression_suite suite(preset);
            suite.update(std::span<const T>(truth), std::span<const T>(pred));
            const auto r = suite.compute();
            REQUIRE(r.metrics.size() == 5);
            CHECK(r.metrics[0].key == "mae");
            CHECK(close(r.at("mae"), expected["mae"], error_tol));
            CHECK(close(r.at("mse"), expected["mse"], error_tol));
            CHECK(close(r.at("rmse"), expected["rmse"], error_tol));
            CHECK(close(r.at("pearson"), expected["pearson"], tight));
            CHECK(close(
                r.at("ccc"),
                expected[preset == em::regression_preset::mertools ? "ccc_ddof0" : "ccc_ddof1"],
                tight));
        }
    }
}

TEST_CASE("sentiment suites on 200003 samples (formula data) match the reference") {
    const auto& c = fixtures()["sentiment_large"];
    std::vector<double> truth, pred;
    formula_data(c["n"].get<std::size_t>(), truth, pred);
    for (const auto& [preset, keys] : c["expected64"].items()) {
        em::sentiment_suite suite(em::sentiment_dataset::mosei, preset_of(preset));
        suite.update(std::span<const double>(truth), std::span<const double>(pred));
        check_suite(suite.compute(), keys, tight, "large/" + preset);
    }
    em::regression_accumulator acc;
    acc.update(std::span<const double>(truth), std::span<const double>(pred));
    const auto r = acc.compute();
    CHECK(close(r.mae, c["regression64"]["mae"], tight));
    CHECK(close(r.mse, c["regression64"]["mse"], tight));
    CHECK(close(r.pearson, c["regression64"]["pearson"], tight));
    CHECK(close(r.ccc, c["regression64"]["ccc_ddof0"], tight));
}

TEST_CASE("classification metrics and suites match scikit-learn") {
    for (const auto& c : fixtures()["classification"]) {
        const std::string name = c["name"];
        CAPTURE(name);
        const auto k = c["num_classes"].get<std::size_t>();
        const auto truth = metrics_test::as_labels<int>(c["truth"]);
        const auto pred = metrics_test::as_labels<int>(c["pred"]);
        const auto& expected = c["expected"];

        em::emotion_suite suite(em::emotion_suite_kind::classification, k);
        suite.update(std::span<const int>(truth), std::span<const int>(pred));
        const auto result = suite.compute();
        check_suite(result, expected, tight, name);
        CHECK(result.warnings.empty() == !expected["kappa"].is_null());

        const auto& counts = suite.counts();
        const auto pc = em::per_class(counts);
        for (std::size_t cls = 0; cls < k; ++cls) {
            CAPTURE(cls);
            CHECK(close(pc.precision[cls], c["per_class"]["precision"][cls], tight));
            CHECK(close(pc.recall[cls], c["per_class"]["recall"][cls], tight));
            CHECK(close(pc.f1[cls], c["per_class"]["f1"][cls], tight));
        }
        const std::pair<const char*, em::confusion_normalization> norms[] = {
            {"none", em::confusion_normalization::none},
            {"true", em::confusion_normalization::by_true},
            {"pred", em::confusion_normalization::by_pred},
            {"all", em::confusion_normalization::by_all}};
        for (const auto& norm : norms) {
            const char* key = norm.first;
            CAPTURE(key);
            const auto matrix = counts.normalized(norm.second);
            REQUIRE(matrix.size() == k * k);
            for (std::size_t cell = 0; cell < k * k; ++cell) {
                CHECK(close(matrix[cell], c["confusion"][key][cell], tight));
            }
        }
        CHECK(close(em::f1_weighted_by_prediction(counts), c["f1_weighted_by_prediction"], tight));
        CHECK(close(em::recall(counts, em::average::macro), c["macro_recall_includes_pred_only"],
                    tight));

        // The dataset suites are views of the same counts.
        em::emotion_suite mer2024(em::emotion_suite_kind::mer2024, k);
        mer2024.update(std::span<const int>(truth), std::span<const int>(pred));
        const auto m = mer2024.compute();
        CHECK(close(m.at("emofscore"), expected["weighted_f1"], tight));
        CHECK(close(m.at("emoacc"), expected["accuracy"], tight));
        if (k == 4 || k == 6) {
            em::emotion_suite iemocap(em::emotion_suite_kind::iemocap, k);
            iemocap.update(std::span<const int>(truth), std::span<const int>(pred));
            const auto r = iemocap.compute();
            CHECK(close(r.at("accuracy"), expected["accuracy"], tight));
            CHECK(close(r.at("UA"), expected["uar"], tight));
            CHECK(close(r.at("weighted_f1"), expected["weighted_f1"], tight));
            CHECK(close(r.at("macro_f1"), expected["macro_f1"], tight));
        }
        if (k == 7 || k == 3) {
            em::emotion_suite meld(em::emotion_suite_kind::meld, k);
            meld.update(std::span<const int>(truth), std::span<const int>(pred));
            const auto r = meld.compute();
            CHECK(close(r.at("weighted_f1"), expected["weighted_f1"], tight));
            CHECK(close(r.at("accuracy"), expected["accuracy"], tight));
        }
    }
}

TEST_CASE_TEMPLATE("mer2023 suite matches MERTools", T, float, double) {
    const auto& c = fixtures()["mer2023"];
    const auto truth = metrics_test::as_labels<int>(c["truth"]);
    const auto pred = metrics_test::as_labels<int>(c["pred"]);
    const auto val_truth = metrics_test::as_vector<T>(c["val_truth"]);
    const auto val_pred = metrics_test::as_vector<T>(c["val_pred"]);
    em::emotion_suite suite(em::emotion_suite_kind::mer2023, 6);
    suite.update(std::span<const int>(truth), std::span<const int>(pred));
    suite.update_valence(std::span<const T>(val_truth), std::span<const T>(val_pred));
    // The fixture's valence values are float32-exact and sklearn works in float64.
    check_suite(suite.compute(), c["expected"], tight, "mer2023");
}

TEST_CASE("iemocap mult preset matches MulT's per-emotion evaluation") {
    const auto& c = fixtures()["iemocap_mult"];
    std::vector<int> truth, pred;
    for (std::size_t i = 0; i < c["truth"].size(); ++i) {
        for (std::size_t e = 0; e < 4; ++e) {
            truth.push_back(c["truth"][i][e].get<int>());
            const double l0 = c["logits"][i][2 * e].get<double>();
            const double l1 = c["logits"][i][2 * e + 1].get<double>();
            pred.push_back(l1 > l0 ? 1 : 0); // numpy.argmax: first maximum wins
        }
    }
    em::per_emotion_binary_suite suite;
    suite.update(std::span<const int>(truth), std::span<const int>(pred));
    check_suite(suite.compute(), c["expected"], tight, "iemocap/mult");
}

TEST_CASE("open-vocabulary suite matches the reference transcription") {
    const auto& c = fixtures()["ov"];
    std::vector<em::grouping_table> tables;
    for (const auto& t : c["tables"]) {
        em::grouping_table table;
        for (const auto& row : t) {
            table.add(row[0].get<std::string>(), row[1].get<std::string>());
        }
        tables.push_back(std::move(table));
    }
    const auto sets = [](const nlohmann::json& j) {
        std::vector<std::vector<std::string>> out;
        for (const auto& s : j) {
            out.push_back(s.get<std::vector<std::string>>());
        }
        return out;
    };
    const auto truth = sets(c["truth"]);
    const auto pred = sets(c["pred"]);
    em::open_vocabulary_suite first({tables[0]});
    first.update(truth, pred);
    check_suite(first.compute(), c["expected_first"], tight, "ov/first");
    em::open_vocabulary_suite both(tables);
    both.update(truth, pred);
    check_suite(both.compute(), c["expected_both"], tight, "ov/both");
}

TEST_CASE("McNemar tests match scipy.stats") {
    for (const auto& c : fixtures()["mcnemar"]) {
        const auto b = c["b"].get<std::uint64_t>();
        const auto cc = c["c"].get<std::uint64_t>();
        CAPTURE(b);
        CAPTURE(cc);
        const auto exact = em::mcnemar_from_counts(b, cc, em::mcnemar_method::exact);
        CHECK(close(exact.statistic, c["exact_statistic"], tight));
        // lgamma-based binomial tail: 1e-10 relative (scipy uses its own incomplete beta).
        CHECK(close(exact.p_value, c["exact_p"], 1e-10));
        const auto chi = em::mcnemar_from_counts(b, cc, em::mcnemar_method::chi_square_corrected);
        CHECK(close(chi.statistic, c["chi2_statistic"], tight));
        CHECK(close(chi.p_value, c["chi2_p"], 1e-10));
    }
}
