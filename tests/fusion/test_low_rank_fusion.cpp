// Low-rank fusion (LMF) against MMSA's LMF written in PyTorch (generate_fixtures.py).
#include "fusion_testing.hpp"

#include <emofuse/fusion/low_rank_fusion.hpp>

#include <limits>

using namespace emofuse;
using emofuse::test::check_close;
using emofuse::test::fixture;
using emofuse::test::tolerance;

namespace {

template <class T>
auto lmf_batch(const std::string& c) {
    return make_batch(audio(fixture<T, 2>(c + "_x0")), vision(fixture<T, 2>(c + "_x1")),
                      text(fixture<T, 2>(c + "_x2")));
}

template <class T>
fusion::low_rank_fusion<T> load_lmf(const std::string& c) {
    return fusion::low_rank_fusion<T>::from_state_dict(
        test::weights(c), "", fusion::low_rank_fusion<T>::mmsa_factor_names());
}

} // namespace

TEST_CASE_TEMPLATE("low_rank_fusion matches MMSA's LMF, batch 1 and odd sizes included", T, float,
                   double) {
    for (const std::string c : {"lmf", "lmf_b1", "lmf_odd"}) {
        CAPTURE(c);
        const auto stage = load_lmf<T>(c);
        check_close(stage(lmf_batch<T>(c)), fixture<T, 2>(c + "_y"), tolerance<T>());
    }
}

TEST_CASE_TEMPLATE("low_rank_fusion with missing modalities keeps the factors' bias rows", T, float,
                   double) {
    const auto stage = load_lmf<T>("lmf_masked");
    check_close(stage(lmf_batch<T>("lmf_masked"), test::fixture_mask("lmf_masked")),
                fixture<T, 2>("lmf_masked_y"), tolerance<T>());
}

TEST_CASE("low_rank_fusion reports its shape and parameter count") {
    const auto stage = load_lmf<float>("lmf");
    CHECK(stage.rank() == 3);
    CHECK(stage.outputs() == 4);
    CHECK(stage.modalities() == 3);
    CHECK(stage.input_features(1) == 3);
    CHECK(stage.parameter_count() == 3 * (6 + 4 + 7) * 4 + 3 + 4);
}

TEST_CASE("low_rank_fusion rejects bad input") {
    const auto stage = load_lmf<float>("lmf");
    auto two = make_batch(audio(fixture<float, 2>("lmf_x0")), text(fixture<float, 2>("lmf_x2")));
    CHECK_THROWS_WITH_AS(stage(two), doctest::Contains("number of modalities: expected 3, got 2"),
                         shape_error);
    auto wrong = make_batch(audio(fixture<float, 2>("lmf_x0")), vision(fixture<float, 2>("lmf_x0")),
                            text(fixture<float, 2>("lmf_x2")));
    CHECK_THROWS_WITH_AS(stage(wrong), doctest::Contains("features of modality 'vision'"),
                         shape_error);
    CHECK_THROWS_AS(stage(lmf_batch<float>("lmf"), fusion::modality_mask::from_shape({5, 4})),
                    shape_error);
    const auto& f = stage.factors();
    CHECK_THROWS_AS(
        fusion::low_rank_fusion<float>({f[0], xt::xtensor<float, 3>::from_shape({2, 4, 4})},
                                       stage.rank_weights(), stage.bias()),
        shape_error);
    CHECK_THROWS_AS(
        fusion::low_rank_fusion<float>(f, xt::xtensor<float, 2>::from_shape({1, 2}), stage.bias()),
        shape_error);
    CHECK_THROWS_AS(fusion::low_rank_fusion<float>({}, stage.rank_weights(), stage.bias()),
                    shape_error);
    CHECK_THROWS_WITH_AS(
        fusion::low_rank_fusion<float>::from_state_dict(
            test::weights("lmf"), "", {"audio_factor", "vision_factor", "text_factor"}),
        doctest::Contains("vision_factor"), io_error);
}

TEST_CASE("low_rank_fusion propagates NaN to the affected sample only") {
    const auto stage = load_lmf<float>("lmf");
    auto batch = lmf_batch<float>("lmf");
    batch[text](2, 0) = std::numeric_limits<float>::quiet_NaN();
    const auto y = stage(batch);
    CHECK(std::isnan(y(2, 0)));
    CHECK(!std::isnan(y(1, 0)));
}
