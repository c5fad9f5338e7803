// Gates (MAG, GMU, FiLM, NL-gate) against the PyTorch references in generate_fixtures.py.
#include "fusion_testing.hpp"

#include <emofuse/fusion/film.hpp>
#include <emofuse/fusion/gmu.hpp>
#include <emofuse/fusion/mag.hpp>
#include <emofuse/fusion/nl_gate.hpp>

#include <limits>

using namespace emofuse;
using emofuse::test::check_close;
using emofuse::test::fixture;
using emofuse::test::tolerance;

namespace {

template <class T>
sequence<T> sequence_fixture(const std::string& c, int m) {
    auto x = fixture<T, 3>(c + "_x" + std::to_string(m));
    auto stored =
        xt::load_npy<std::uint64_t>(test::data_path(c + "_len" + std::to_string(m) + ".npy"));
    std::vector<std::size_t> lengths(stored.begin(), stored.end());
    return sequence<T>(std::move(x), std::move(lengths));
}

template <class T>
auto mag_batch(const std::string& c) {
    return make_batch(text(sequence_fixture<T>(c, 0)), vision(sequence_fixture<T>(c, 1)),
                      audio(sequence_fixture<T>(c, 2)));
}

} // namespace

TEST_CASE_TEMPLATE("MAG matches MAG-BERT per time step, on utterances and with masks", T, float,
                   double) {
    for (const std::string c : {"mag", "mag_b1", "mag_wide"}) {
        CAPTURE(c);
        const T beta = c == "mag" ? T(1) : c == "mag_b1" ? T(0.5) : T(0.7);
        const auto stage = fusion::mag<T>::from_state_dict(test::weights(c), "", beta);
        const auto batch = mag_batch<T>(c);
        const sequence<T> out = stage(batch);
        CHECK(out.lengths() == entry_of(batch[text]).lengths());
        check_close(out.values(), fixture<T, 3>(c + "_y"), tolerance<T>());
    }
    {
        const auto stage = fusion::mag<T>::from_state_dict(test::weights("mag_masked"), "", T(1));
        const auto out = stage(mag_batch<T>("mag_masked"), test::fixture_mask("mag_masked"));
        check_close(out.values(), fixture<T, 3>("mag_masked_y"), tolerance<T>());
    }
    {
        const auto stage =
            fusion::mag<T>::from_state_dict(test::weights("mag_features"), "", T(0.8));
        const auto batch = make_batch(text(fixture<T, 2>("mag_features_x0")),
                                      vision(fixture<T, 2>("mag_features_x1")),
                                      audio(fixture<T, 2>("mag_features_x2")));
        check_close(stage(batch), fixture<T, 2>("mag_features_y"), tolerance<T>());
    }
}

TEST_CASE("MAG replaces a zero ‖H‖ by 1: out = LayerNorm(t)") {
    // Zero projections make H = 0; α·H = 0 whatever α is, and nothing divides by zero.
    const std::size_t d = 4;
    fusion::mag_auxiliary<double> aux{
        {xt::zeros<double>({d, 2 + d}), xt::zeros<double>({d})},
        {xt::zeros<double>({d, std::size_t{2}}), xt::zeros<double>({d})}};
    const fusion::mag<double> stage({aux}, xt::ones<double>({d}), xt::zeros<double>({d}), 1.0);
    const features<double> t = {{1.0, 2.0, 3.0, 4.0}};
    const auto out = stage(make_batch(text(t), vision(features<double>({{5.0, 6.0}}))));
    const double inv = 1.0 / std::sqrt(1.25 + 1e-5);
    check_close(out, features<double>({{-1.5 * inv, -0.5 * inv, 0.5 * inv, 1.5 * inv}}), 1e-12);
}

TEST_CASE("MAG rejects bad input") {
    const auto stage = fusion::mag<float>::from_state_dict(test::weights("mag"), "", 1.f);
    auto batch = mag_batch<float>("mag");
    CHECK_THROWS_AS(stage(make_batch(text(sequence_fixture<float>("mag", 0)),
                                     vision(sequence_fixture<float>("mag", 1)))),
                    shape_error);
    auto short_audio = sequence<float>(xt::xtensor<float, 3>::from_shape({3, 2, 3}));
    CHECK_THROWS_WITH_AS(
        stage(make_batch(text(sequence_fixture<float>("mag", 0)),
                         vision(sequence_fixture<float>("mag", 1)), audio(short_audio))),
        doctest::Contains("time steps of modality 'audio'"), shape_error);
    auto wide_audio = sequence<float>(xt::xtensor<float, 3>::from_shape({3, 4, 5}));
    CHECK_THROWS_WITH_AS(
        stage(make_batch(text(sequence_fixture<float>("mag", 0)),
                         vision(sequence_fixture<float>("mag", 1)), audio(wide_audio))),
        doctest::Contains("features of modality 'audio': expected 3, got 5"), shape_error);
    CHECK_THROWS_AS(stage(batch, fusion::modality_mask::from_shape({3, 2})), shape_error);
    CHECK_THROWS_WITH_AS(
        fusion::mag<float>::from_state_dict(test::weights("mag"), "", 1.f, {{"W_hv.", "W_x."}}),
        doctest::Contains("W_x.weight"), io_error);
}

TEST_CASE_TEMPLATE("GMU matches the two-modal and N-modal forms", T, float, double) {
    for (const std::string c : {"gmu2", "gmu2_b1"}) {
        const auto stage = fusion::gmu<T>::from_state_dict(test::weights(c), "", 2);
        CHECK(stage.two_modal());
        check_close(
            stage(make_batch(audio(fixture<T, 2>(c + "_x0")), text(fixture<T, 2>(c + "_x1")))),
            fixture<T, 2>(c + "_y"), tolerance<T>());
    }
    const auto three = fusion::gmu<T>::from_state_dict(test::weights("gmu3"), "", 3);
    CHECK(!three.two_modal());
    auto batch3 = [](const std::string& c) {
        return make_batch(audio(fixture<T, 2>(c + "_x0")), vision(fixture<T, 2>(c + "_x1")),
                          text(fixture<T, 2>(c + "_x2")));
    };
    check_close(three(batch3("gmu3")), fixture<T, 2>("gmu3_y"), tolerance<T>());
    const auto masked = fusion::gmu<T>::from_state_dict(test::weights("gmu3_masked"), "", 3);
    check_close(masked(batch3("gmu3_masked"), test::fixture_mask("gmu3_masked")),
                fixture<T, 2>("gmu3_masked_y"), tolerance<T>());
    CHECK_THROWS_AS(
        three(make_batch(audio(fixture<T, 2>("gmu3_x0")), text(fixture<T, 2>("gmu3_x2")))),
        shape_error);
    CHECK_THROWS_AS(fusion::gmu<T>::from_state_dict(test::weights("gmu3"), "", 2), shape_error);
}

TEST_CASE_TEMPLATE("FiLM matches MultiBench's FiLM", T, float, double) {
    for (const std::string c : {"film", "film_b1"}) {
        const auto stage = fusion::film<T>::from_state_dict(test::weights(c), "");
        check_close(
            stage(make_batch(vision(fixture<T, 2>(c + "_x0")), text(fixture<T, 2>(c + "_x1")))),
            fixture<T, 2>(c + "_y"), tolerance<T>());
    }
    const auto stage = fusion::film<T>::from_state_dict(test::weights("film_masked"), "");
    const auto batch =
        make_batch(vision(fixture<T, 2>("film_masked_x0")), text(fixture<T, 2>("film_masked_x1")));
    check_close(stage(batch, test::fixture_mask("film_masked")), fixture<T, 2>("film_masked_y"),
                tolerance<T>());
    CHECK_THROWS_WITH_AS(stage(make_batch(text(fixture<T, 2>("film_masked_x1")),
                                          vision(fixture<T, 2>("film_masked_x0")))),
                         doctest::Contains("features of modality 'text'"), shape_error);
}

TEST_CASE_TEMPLATE("NL-gate matches MultiBench's NLgate with and without linear layers", T, float,
                   double) {
    const fusion::nl_gate_dims dims{3, 4, 2};
    for (const std::string c : {"nl_gate", "nl_gate_b1"}) {
        const auto stage = fusion::nl_gate<T>::from_state_dict(io::state_dict{}, "", dims);
        check_close(
            stage(make_batch(vision(fixture<T, 2>(c + "_x0")), audio(fixture<T, 2>(c + "_x1")))),
            fixture<T, 2>(c + "_y"), tolerance<T>());
    }
    const auto stage =
        fusion::nl_gate<T>::from_state_dict(test::weights("nl_gate_linear"), "", dims);
    check_close(stage(make_batch(vision(fixture<T, 2>("nl_gate_linear_x0")),
                                 audio(fixture<T, 2>("nl_gate_linear_x1")))),
                fixture<T, 2>("nl_gate_linear_y"), tolerance<T>());
    CHECK_THROWS_AS(
        stage(make_batch(vision(fixture<T, 2>("nl_gate_x0")), audio(fixture<T, 2>("nl_gate_x1")))),
        shape_error);
    CHECK_THROWS_AS(fusion::nl_gate<T>(dims, emofuse::layers::dense<T>(xt::zeros<T>({5, 7}))),
                    shape_error);
}

TEST_CASE("gates propagate NaN to the affected sample") {
    const auto stage = fusion::gmu<float>::from_state_dict(test::weights("gmu2"), "", 2);
    auto x0 = fixture<float, 2>("gmu2_x0");
    x0(1, 0) = std::numeric_limits<float>::quiet_NaN();
    const auto y = stage(make_batch(audio(x0), text(fixture<float, 2>("gmu2_x1"))));
    CHECK(std::isnan(y(1, 0)));
    CHECK(!std::isnan(y(0, 0)));
}
