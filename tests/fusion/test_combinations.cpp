// Multiplicative interactions, product of experts, attention sums, early/masked concat and late
// decision fusion against the references in generate_fixtures.py.
#include "fusion_testing.hpp"

#include <emofuse/fusion/attention_sum.hpp>
#include <emofuse/fusion/decision.hpp>
#include <emofuse/fusion/early_concat.hpp>
#include <emofuse/fusion/multiplicative.hpp>
#include <emofuse/fusion/product_of_experts.hpp>

#include <limits>

using namespace emofuse;
using emofuse::test::check_close;
using emofuse::test::fixture;
using emofuse::test::tolerance;

namespace {

template <class T>
auto batch2(const std::string& c) {
    return make_batch(vision(fixture<T, 2>(c + "_x0")), text(fixture<T, 2>(c + "_x1")));
}
template <class T>
auto batch3(const std::string& c) {
    return make_batch(audio(fixture<T, 2>(c + "_x0")), vision(fixture<T, 2>(c + "_x1")),
                      text(fixture<T, 2>(c + "_x2")));
}

} // namespace

TEST_CASE_TEMPLATE("multiplicative interactions match MultiBench (matrix, vector, scalar, 3-modal)",
                   T, float, double) {
    using fusion::interaction;
    for (const std::string c : {"mi_matrix", "mi_matrix_b1"}) {
        const auto stage = fusion::multiplicative_interaction<T>::from_state_dict(
            test::weights(c), "", interaction::matrix);
        check_close(stage(batch2<T>(c)), fixture<T, 2>(c + "_y"), tolerance<T>());
    }
    const auto vec = fusion::multiplicative_interaction<T>::from_state_dict(
        test::weights("mi_vector"), "", interaction::vector);
    check_close(vec(batch2<T>("mi_vector")), fixture<T, 2>("mi_vector_y"), tolerance<T>());
    const auto scalar = fusion::multiplicative_interaction<T>::from_state_dict(
        test::weights("mi_scalar"), "", interaction::scalar);
    check_close(scalar(batch2<T>("mi_scalar")), fixture<T, 2>("mi_scalar_y"), tolerance<T>());
    const auto three =
        fusion::multiplicative_interaction_3<T>::from_state_dict(test::weights("mi_3modal"), "");
    check_close(three(batch3<T>("mi_3modal")), fixture<T, 2>("mi_3modal_y"), tolerance<T>());

    CHECK_THROWS_AS(
        vec(make_batch(vision(fixture<T, 2>("mi_vector_x1")), text(fixture<T, 2>("mi_vector_x1")))),
        shape_error);
    CHECK_THROWS_AS(fusion::multiplicative_interaction<T>::from_state_dict(
                        test::weights("mi_vector"), "", interaction::matrix),
                    shape_error);
}

TEST_CASE_TEMPLATE("product of experts matches MVAE's, with the prior and with masks", T, float,
                   double) {
    check_close(fusion::product_of_experts<T>{}(batch3<T>("poe")), fixture<T, 2>("poe_y"),
                tolerance<T>());
    fusion::product_of_experts<T> no_prior;
    no_prior.prior = false;
    check_close(no_prior(batch3<T>("poe_noprior")), fixture<T, 2>("poe_noprior_y"), tolerance<T>());
    const auto mask = test::fixture_mask("poe_masked");
    // The last sample has only the prior: logvar = −log(1/(1 + 1e-8)) ≈ 1e-8 comes from a sum
    // near 1, which the reference (and any float64 code) knows only to ~1e-16 absolutely.
    check_close(fusion::product_of_experts<T>{}(batch3<T>("poe_masked"), mask),
                fixture<T, 2>("poe_masked_y"), tolerance<T>(), 1e-15);
    // Without the prior a sample with no expert has no product.
    auto none = mask;
    none(0, 0) = none(0, 1) = none(0, 2) = 0;
    CHECK_THROWS_WITH_AS(no_prior(batch3<T>("poe_masked"), none),
                         doctest::Contains("sample 0: expected at least one present expert"),
                         value_error);
    auto odd = make_batch(audio(features<T>::from_shape({2, 3})));
    CHECK_THROWS_AS(fusion::product_of_experts<T>{}(odd), shape_error);
}

TEST_CASE_TEMPLATE("attention sums: softmax (CMU-SDK) and raw (MERTools) weights", T, float,
                   double) {
    const std::vector<std::string> layers{"attention_mlp.", "fc_att."};
    for (const std::string c : {"att_softmax", "att_softmax_b1"}) {
        const auto stage =
            fusion::attention_sum_softmax<T>::from_state_dict(test::weights(c), layers);
        check_close(stage(batch3<T>(c)), fixture<T, 2>(c + "_y"), tolerance<T>());
    }
    const auto raw =
        fusion::attention_sum_raw<T>::from_state_dict(test::weights("att_raw"), layers);
    check_close(raw(batch3<T>("att_raw")), fixture<T, 2>("att_raw_y"), tolerance<T>());
    const auto masked =
        fusion::attention_sum_raw<T>::from_state_dict(test::weights("att_raw_masked"), layers);
    check_close(masked(batch3<T>("att_raw_masked"), test::fixture_mask("att_raw_masked")),
                fixture<T, 2>("att_raw_masked_y"), tolerance<T>());
    CHECK_THROWS_AS(raw(batch2<T>("mi_vector")), shape_error);
}

TEST_CASE_TEMPLATE("masked late concat and early concat per time step", T, float, double) {
    const auto mask = test::fixture_mask("concat_masked");
    check_close(fusion::masked_concat<dims<3, 2, 4>>{}(batch3<T>("concat_masked"), mask),
                fixture<T, 2>("concat_masked_y"), 0.0);
    static_assert(fusion::masked_concat<dims<3, 2, 4>>::output_size == 9);
    CHECK_THROWS_AS(fusion::masked_concat<>{}(batch3<T>("concat_masked"),
                                              fusion::modality_mask::from_shape({5, 2})),
                    shape_error);

    auto seq = [](int m) {
        auto x = fixture<T, 3>("early_concat_x" + std::to_string(m));
        auto stored = xt::load_npy<std::uint64_t>(
            test::data_path("early_concat_len" + std::to_string(m) + ".npy"));
        return sequence<T>(std::move(x), std::vector<std::size_t>(stored.begin(), stored.end()));
    };
    const auto fused = fusion::early_concat{}(make_batch(audio(seq(0)), text(seq(1))));
    check_close(fused.values(), fixture<T, 3>("early_concat_y"), 0.0);
    CHECK(fused.lengths() == std::vector<std::size_t>{4, 2, 1});
    CHECK(fused.has_frame_mask());
    CHECK(fused.valid(0, 3));
    CHECK(!fused.valid(1, 2));
    // Modality 1 absent for sample 0: its frames become zeros.
    fusion::modality_mask present = xt::ones<std::uint8_t>({3, 2});
    present(0, 1) = 0;
    const auto masked = fusion::early_concat{}(make_batch(audio(seq(0)), text(seq(1))), present);
    CHECK(masked.values()(0, 0, 2) == T(0));
    CHECK(masked.values()(0, 0, 0) == fused.values()(0, 0, 0));
    auto other_time = sequence<T>(xt::xtensor<T, 3>::from_shape({3, 5, 2}));
    CHECK_THROWS_WITH_AS(fusion::early_concat{}(make_batch(audio(seq(0)), text(other_time))),
                         doctest::Contains("time steps of modality 'text'"), shape_error);
}

TEST_CASE_TEMPLATE("late decision fusion: weighted mean and majority vote", T, float, double) {
    const fusion::weighted_mean<T> mean({T(0.5), T(0.3), T(0.2)});
    check_close(mean(batch3<T>("decision_mean")), fixture<T, 2>("decision_mean_y"), tolerance<T>());
    check_close(mean(batch3<T>("decision_mean_masked"), test::fixture_mask("decision_mean_masked")),
                fixture<T, 2>("decision_mean_masked_y"), tolerance<T>());
    // Ties between classes go to the smallest index (the fixture has 3-way ties).
    check_close(fusion::majority_vote{}(batch3<T>("decision_vote")),
                fixture<T, 2>("decision_vote_y"), 0.0);
    fusion::modality_mask none = xt::ones<std::uint8_t>({6, 3});
    none(4, 0) = none(4, 1) = none(4, 2) = 0;
    CHECK_THROWS_WITH_AS(fusion::majority_vote{}(batch3<T>("decision_vote"), none),
                         doctest::Contains("sample 4"), value_error);
    CHECK_THROWS_AS(mean(batch3<T>("decision_mean"), none), value_error);
    CHECK_THROWS_AS(fusion::weighted_mean<T>({T(1), T(-1)}), value_error);
    CHECK_THROWS_AS(fusion::weighted_mean<T>({T(0), T(0)}), value_error);
    CHECK_THROWS_AS(fusion::weighted_mean<T>({T(1), T(1)})(batch3<T>("decision_mean")),
                    shape_error);
    auto scores = batch3<T>("decision_vote");
    scores[vision](2, 1) = std::numeric_limits<T>::quiet_NaN();
    const auto voted = fusion::majority_vote{}(scores);
    CHECK(std::isnan(voted(2, 0)));
    CHECK(voted(1, 0) == T(0));
}
