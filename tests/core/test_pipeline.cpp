// The composer: per_modality, only<...>, a | b, static sizes and run-time checks.
#include <doctest/doctest.h>

#include <emofuse/align/pool.hpp>
#include <emofuse/core/pipeline.hpp>
#include <emofuse/fusion/concat.hpp>
#include <emofuse/heads/linear.hpp>
#include <emofuse/heads/ridge.hpp>

using namespace emofuse;

namespace {

// A per-modality stage that doubles every value and records nothing else.
struct doubler : modality_stage_base {
    template <class T>
    features<T> operator()(const features<T>& x) const {
        return x * T(2);
    }
};

template <class T>
auto three_modalities() {
    xt::xtensor<T, 3> t = xt::ones<T>({2, 4, 2});
    xt::xtensor<T, 3> a = xt::ones<T>({2, 3, 1}) * T(3);
    features<T> v = {{5, 6, 7}, {8, 9, 10}};
    return make_batch(text(sequence<T>(t, {4, 1})), audio(sequence<T>(a)), vision(v));
}

} // namespace

TEST_CASE_TEMPLATE("a pipeline runs per-modality stages, a fuser and a head in order", T, float,
                   double) {
    auto batch = three_modalities<T>();
    xt::xtensor<T, 2> weight = xt::ones<T>({1, 6});
    xt::xtensor<T, 1> bias = {T(0.5)};
    auto pipe = per_modality(pool::mean{}) | fusion::concat{} | heads::linear<T>(weight, bias);
    static_assert(decltype(pipe)::size == 3);

    const features<T> fused = pipe.features(batch);
    const features<T> expected_fused = {{1, 1, 3, 5, 6, 7}, {1, 1, 3, 8, 9, 10}};
    CHECK(fused == expected_fused);

    const features<T> out = pipe(batch);
    REQUIRE(out.shape(0) == 2);
    CHECK(out(0, 0) == doctest::Approx(23.5));
    CHECK(out(1, 0) == doctest::Approx(32.5));
}

TEST_CASE("only<...> restricts a per-modality stage and passes the rest through") {
    auto batch = make_batch(text(features<float>{{1, 2}}), audio(features<float>{{3}}));
    auto pipe = only<audio>(doubler{}) | fusion::concat{};
    const features<float> expected = {{1, 2, 6}};
    CHECK(pipe(batch) == expected);
}

TEST_CASE("only<...> feeds a fuser the chosen modalities in the chosen order") {
    auto batch = make_batch(text(features<float>{{1, 2}}), audio(features<float>{{3}}),
                            vision(features<float>{{4, 5, 6}}));
    auto pipe = per_modality(pool::mean{}) | only<vision, text>(fusion::concat{});
    const features<float> expected = {{4, 5, 6, 1, 2}};
    CHECK(pipe(batch) == expected);
}

TEST_CASE("pipelines compose with pipelines") {
    auto batch = make_batch(text(features<double>{{1, 2}}), audio(features<double>{{3}}));
    auto front = per_modality(doubler{}) | per_modality(doubler{});
    xt::xtensor<double, 2> weight = {{1, 0, 0}, {0, 0, 1}};
    auto back = heads::linear<double, 3, 2>(weight) |
                heads::linear<double, 2, 2>(xt::xtensor<double, 2>{{1, 1}, {0, 1}});
    auto pipe = front | fusion::concat<dims<2, 1>>{} | back;
    static_assert(decltype(pipe)::size == 5);
    static_assert(decltype(pipe)::output_size == 2);
    const features<double> expected = {{16, 12}};
    CHECK(pipe(batch) == expected);
}

TEST_CASE("static dims are checked against the data at run time") {
    auto batch = make_batch(text(features<float>{{1, 2}}), audio(features<float>{{3}}));
    SUBCASE("a feature size that differs from dims") {
        auto pipe = per_modality(pool::mean{}) | fusion::concat<dims<3, 1>>{};
        CHECK_THROWS_WITH_AS(pipe(batch),
                             "fusion::concat: features of modality 'text': expected 3, got 2",
                             shape_error);
    }
    SUBCASE("fewer modalities than dims") {
        auto pipe = per_modality(pool::mean{}) | fusion::concat<dims<2, 1, 4>>{};
        CHECK_THROWS_WITH_AS(
            pipe(batch), "fusion::concat: number of modalities (from dims<...>): expected 3, got 2",
            shape_error);
    }
    SUBCASE("a head whose weights do not match the fused width") {
        auto pipe = per_modality(pool::mean{}) | fusion::concat{} |
                    heads::linear<float>(xt::xtensor<float, 2>::from_shape({1, 4}));
        CHECK_THROWS_WITH_AS(pipe(batch), "heads::linear: input features: expected 4, got 3",
                             shape_error);
    }
    SUBCASE("weights that contradict the head's static sizes") {
        using head = heads::linear<float, 3, 1>;
        CHECK_THROWS_WITH_AS(head(xt::xtensor<float, 2>::from_shape({2, 3})),
                             "heads::linear: weight rows (outputs): expected 1, got 2",
                             shape_error);
    }
}

TEST_CASE("fit the read-out of a pipeline on the features of the stages before it") {
    const std::size_t n = 32;
    xt::xtensor<double, 3> t = xt::zeros<double>({n, std::size_t{3}, std::size_t{1}});
    features<double> a = features<double>::from_shape({n, std::size_t{1}});
    features<double> y = features<double>::from_shape({n, std::size_t{1}});
    for (std::size_t i = 0; i < n; ++i) {
        const double u = static_cast<double>(i) / n, w = static_cast<double>((i * 7) % n) / n;
        for (std::size_t s = 0; s < 3; ++s) {
            t(i, s, 0) = u;
        }
        a(i, 0) = w;
        y(i, 0) = 2.0 * u - 3.0 * w + 1.0;
    }
    auto batch = make_batch(text(sequence<double>(t)), audio(a));
    auto pipe = per_modality(pool::mean{}) | fusion::concat{} | heads::ridge<double>(1e-9);
    pipe.last().fit(pipe.features(batch), y);
    const features<double> prediction = pipe(batch);
    for (std::size_t i = 0; i < n; ++i) {
        CHECK(prediction(i, 0) == doctest::Approx(y(i, 0)).epsilon(1e-6));
    }
    CHECK(pipe.last().weight()(0, 0) == doctest::Approx(2.0).epsilon(1e-6));
    CHECK(pipe.last().weight()(0, 1) == doctest::Approx(-3.0).epsilon(1e-6));
}
