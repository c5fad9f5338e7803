// The first real stages against numpy / scikit-learn references (tests/core/generate_fixtures.py).
#include <doctest/doctest.h>

#include "fixtures.hpp"

#include <emofuse/align/pool.hpp>
#include <emofuse/core/pipeline.hpp>
#include <emofuse/fusion/concat.hpp>
#include <emofuse/heads/linear.hpp>
#include <emofuse/heads/ridge.hpp>

#include <limits>

using namespace emofuse;
using emofuse::test::check_close;
using emofuse::test::fixture;
using emofuse::test::tolerance_for;

namespace {

template <class T>
sequence<T> pooling_input(bool masked) {
    auto x = fixture<T, 3>("pool_x");
    auto lengths_stored = fixture<std::size_t, 1, std::uint64_t>("pool_lengths");
    std::vector<std::size_t> lengths(lengths_stored.begin(), lengths_stored.end());
    if (!masked) {
        return sequence<T>(x, lengths);
    }
    return sequence<T>(x, lengths, fixture<std::uint8_t, 2, std::uint8_t>("pool_mask"));
}

} // namespace

TEST_CASE_TEMPLATE("pooling over time matches numpy, with lengths and frame masks", T, float,
                   double) {
    for (bool masked : {false, true}) {
        CAPTURE(masked);
        const std::string suffix = masked ? "_masked" : "";
        const sequence<T> seq = pooling_input<T>(masked);
        // Sums of at most 7 frames: a few ulps of T.
        check_close(pool::mean{}(seq), fixture<T, 2>("pool_mean" + suffix), tolerance_for<T>());
        check_close(pool::max{}(seq), fixture<T, 2>("pool_max" + suffix), 0.0);
        check_close(pool::last{}(seq), fixture<T, 2>("pool_last" + suffix), 0.0);
    }
}

TEST_CASE("pooling propagates NaN from a valid frame and ignores padding") {
    xt::xtensor<float, 3> x = {{{1.f}, {std::numeric_limits<float>::quiet_NaN()}, {3.f}},
                               {{1.f}, {2.f}, {std::numeric_limits<float>::quiet_NaN()}}};
    sequence<float> seq(x, {3, 2});
    const auto mean = pool::mean{}(seq);
    const auto max = pool::max{}(seq);
    CHECK(std::isnan(mean(0, 0)));
    CHECK(std::isnan(max(0, 0)));
    CHECK(mean(1, 0) == 1.5f); // the NaN sits in padding
    CHECK(max(1, 0) == 2.f);
}

TEST_CASE("pooling an empty batch gives an empty matrix") {
    sequence<float> seq(xt::xtensor<float, 3>::from_shape({0, 4, 3}));
    const auto out = pool::mean{}(seq);
    CHECK(out.shape(0) == 0);
    CHECK(out.shape(1) == 3);
}

TEST_CASE_TEMPLATE("concat and linear head match numpy", T, float, double) {
    auto batch =
        make_batch(text(fixture<T, 2>("concat_text")), audio(fixture<T, 2>("concat_audio")),
                   vision(fixture<T, 2>("concat_vision")));
    auto pipe =
        fusion::concat<dims<4, 3, 5>>{} |
        heads::linear<T, 12, 2>(fixture<T, 2>("linear_weight"), fixture<T, 1>("linear_bias"));
    static_assert(decltype(pipe)::input_size == dynamic);
    static_assert(fusion::concat<dims<4, 3, 5>>::output_size == 12);
    check_close(pipe.features(batch), fixture<T, 2>("concat_out"), 0.0);
    check_close(pipe(batch), fixture<T, 2>("linear_out"), tolerance_for<T>());
}

TEST_CASE_TEMPLATE("ridge read-out matches scikit-learn Ridge", T, float, double) {
    // Fitting is done in double whatever T is; float inputs lose ~1e-7 relative precision,
    // amplified by the conditioning of the Gram matrix, hence 1e-4 for float.
    const double tolerance = sizeof(T) == 4 ? 1e-4 : 1e-10;
    for (const char* name : {"ridge_primal", "ridge_dual", "ridge_unregularised"}) {
        CAPTURE(name);
        const std::string prefix = name;
        const double alpha = prefix == "ridge_primal" ? 0.7 : prefix == "ridge_dual" ? 2.5 : 0.0;
        heads::ridge<T> head(alpha);
        head.fit(fixture<T, 2>(prefix + "_x"), fixture<T, 2>(prefix + "_y"));
        check_close(head.weight(), fixture<T, 2>(prefix + "_coef"), tolerance);
        check_close(head.bias(), fixture<T, 1>(prefix + "_intercept"), tolerance);
        check_close(head(fixture<T, 2>(prefix + "_x_test")), fixture<T, 2>(prefix + "_pred"),
                    tolerance);
    }
}

TEST_CASE("ridge rejects bad input with clear errors") {
    heads::ridge<double> head(1.0);
    const features<double> x = {{1, 2}, {3, 4}};
    SUBCASE("predict before fit") {
        CHECK_THROWS_WITH_AS(head(x), "heads::ridge: predict called before fit", value_error);
    }
    SUBCASE("negative or NaN alpha") {
        CHECK_THROWS_AS(heads::ridge<double>(-1.0), value_error);
        const double nan = std::numeric_limits<double>::quiet_NaN();
        CHECK_THROWS_AS(static_cast<void>(heads::ridge<double>(nan)), value_error);
    }
    SUBCASE("targets of another length") {
        CHECK_THROWS_WITH_AS(head.fit(x, features<double>{{1}}),
                             "heads::ridge::fit: target rows (one per sample): expected 2, got 1",
                             shape_error);
    }
    SUBCASE("no samples") {
        CHECK_THROWS_AS(
            head.fit(features<double>::from_shape({0, 2}), features<double>::from_shape({0, 1})),
            value_error);
    }
    SUBCASE("non-finite features") {
        const features<double> bad = {{1, 2}, {std::numeric_limits<double>::infinity(), 4}};
        CHECK_THROWS_WITH_AS(head.fit(bad, features<double>{{1}, {2}}),
                             "heads::ridge::fit: x holds a non-finite value at row 1, column 0",
                             value_error);
    }
    SUBCASE("a singular system without regularisation") {
        heads::ridge<double> unregularised(0.0);
        const features<double> collinear = {{1, 2}, {2, 4}, {3, 6}};
        CHECK_THROWS_AS(unregularised.fit(collinear, features<double>{{1}, {2}, {3}}), value_error);
    }
    SUBCASE("predicting with the wrong width") {
        head.fit(x, features<double>{{1}, {2}});
        CHECK_THROWS_WITH_AS(head(features<double>{{1, 2, 3}}),
                             "heads::ridge: input features: expected 2, got 3", shape_error);
    }
}
