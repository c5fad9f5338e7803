// Multi-head attention: parity with torch.nn.MultiheadAttention (float64) in both layouts,
// self and cross attention, masks, one and many heads; bad input.
#include "fixture.hpp"

#include <emofuse/attention/multi_head.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>

namespace ea = emofuse::attention;
using attention_testing::check_close;
using attention_testing::fixture;
using attention_testing::parity_tolerance;

namespace {

template <class T>
ea::multi_head_attention<T> mha_of(const fixture& f) {
    const std::size_t heads = std::stoul(f.meta("heads"));
    return ea::multi_head_attention<T>(
        heads, f.get<T, 2>("in_proj_weight"),
        f.has("in_proj_bias") ? f.get<T, 1>("in_proj_bias") : xt::xtensor<T, 1>(),
        f.get<T, 2>("out_proj.weight"),
        f.has("out_proj.bias") ? f.get<T, 1>("out_proj.bias") : xt::xtensor<T, 1>());
}

} // namespace

TEST_CASE_TEMPLATE("multi_head_attention matches torch.nn.MultiheadAttention", T, float, double) {
    for (const char* name :
         {"mha_self_batch_first", "mha_cross_sequence_first", "mha_heads1_batch1",
          "mha_many_heads_mask3d", "mha_fully_masked", "mha_no_bias_causal"}) {
        CAPTURE(name);
        const fixture f(name);
        const auto mha = mha_of<T>(f);
        const auto order = f.meta("layout") == "batch_first" ? ea::layout::batch_first
                                                             : ea::layout::sequence_first;
        ea::attention_mask<T> mask;
        if (f.has("key_lengths")) {
            mask.key_lengths = f.sizes("key_lengths");
        }
        if (f.has("additive")) {
            mask.additive = f.get<T, 3>("additive");
        }
        const auto q = f.get<T, 3>("query");
        const auto k = f.get<T, 3>("key");
        const auto v = f.get<T, 3>("value");
        const auto out = mha(q, k, v, mask, order);
        check_close(out, f.get<double, 3>("expected"), parity_tolerance<T>(), name);
        if (f.meta("layout") == "batch_first" && q.shape() == k.shape()) {
            // The self-attention overload (one tensor) runs the fused K/V projection.
            bool same = true;
            for (std::size_t i = 0; i < q.size(); ++i) {
                same = same && q.data()[i] == k.data()[i] && q.data()[i] == v.data()[i];
            }
            if (same) {
                check_close(mha(q, mask, order), f.get<double, 3>("expected"),
                            parity_tolerance<T>(), name);
            }
        }
    }
}

TEST_CASE("the causal future mask equals the additive causal triangle") {
    const fixture f("mha_no_bias_causal");
    const auto mha = mha_of<double>(f);
    ea::attention_mask<double> mask;
    mask.future = ea::future_mask::causal;
    check_close(mha(f.get<double, 3>("query"), mask), f.get<double, 3>("expected"), 1e-11);
}

TEST_CASE("sequence-first equals batch-first on transposed inputs") {
    const fixture f("mha_self_batch_first");
    const auto mha = mha_of<float>(f);
    const auto x = f.get<float, 3>("query"); // (B, T, d)
    xt::xtensor<float, 3> xs({x.shape(1), x.shape(0), x.shape(2)});
    for (std::size_t b = 0; b < x.shape(0); ++b) {
        for (std::size_t t = 0; t < x.shape(1); ++t) {
            for (std::size_t c = 0; c < x.shape(2); ++c) {
                xs(t, b, c) = x(b, t, c);
            }
        }
    }
    ea::attention_mask<float> mask;
    mask.key_lengths = f.sizes("key_lengths");
    const auto a = mha(x, mask, ea::layout::batch_first);
    const auto s = mha(xs, mask, ea::layout::sequence_first);
    for (std::size_t b = 0; b < x.shape(0); ++b) {
        for (std::size_t t = 0; t < x.shape(1); ++t) {
            for (std::size_t c = 0; c < x.shape(2); ++c) {
                CHECK(a(b, t, c) == doctest::Approx(s(t, b, c)).epsilon(1e-6));
            }
        }
    }
}

TEST_CASE("multi_head_attention rejects bad parameters and inputs") {
    using tensor2 = xt::xtensor<float, 2>;
    using tensor1 = xt::xtensor<float, 1>;
    // embed_dim 10 is not a multiple of 4 heads.
    CHECK_THROWS_WITH_AS(
        ea::multi_head_attention<float>(4, tensor2({30, 10}), tensor1::from_shape({30}),
                                        tensor2({10, 10}), tensor1::from_shape({10})),
        doctest::Contains("multiple of heads"), emofuse::shape_error);
    CHECK_THROWS_AS(ea::multi_head_attention<float>(0, tensor2({30, 10}), tensor1::from_shape({30}),
                                                    tensor2({10, 10}), tensor1::from_shape({10})),
                    emofuse::value_error);
    CHECK_THROWS_WITH_AS(
        ea::multi_head_attention<float>(2, tensor2({20, 10}), tensor1::from_shape({30}),
                                        tensor2({10, 10}), tensor1::from_shape({10})),
        doctest::Contains("in_proj_weight rows"), emofuse::shape_error);
    CHECK_THROWS_AS(ea::multi_head_attention<float>(2, tensor2({30, 10}), tensor1::from_shape({29}),
                                                    tensor2({10, 10}), tensor1::from_shape({10})),
                    emofuse::shape_error);
    CHECK_THROWS_AS(ea::multi_head_attention<float>(2, tensor2({30, 10}), tensor1::from_shape({30}),
                                                    tensor2({10, 10}), tensor1::from_shape({9})),
                    emofuse::shape_error);

    const ea::multi_head_attention<float> mha(2, xt::zeros<float>({30, 10}), xt::zeros<float>({30}),
                                              xt::zeros<float>({10, 10}), xt::zeros<float>({10}));
    const xt::xtensor<float, 3> x = xt::zeros<float>({2, 4, 10});
    const xt::xtensor<float, 3> wrong_features = xt::zeros<float>({2, 4, 8});
    const xt::xtensor<float, 3> wrong_batch = xt::zeros<float>({3, 4, 10});
    const xt::xtensor<float, 3> keys = xt::zeros<float>({2, 6, 10});
    const xt::xtensor<float, 3> values_other_time = xt::zeros<float>({2, 5, 10});
    CHECK_THROWS_WITH_AS((void)mha(wrong_features), doctest::Contains("query features"),
                         emofuse::shape_error);
    CHECK_THROWS_AS((void)mha(x, wrong_batch, wrong_batch), emofuse::shape_error);
    CHECK_THROWS_WITH_AS((void)mha(x, keys, values_other_time),
                         doctest::Contains("value time steps"), emofuse::shape_error);
    ea::attention_mask<float> too_long;
    too_long.key_lengths = {6, 7};
    CHECK_THROWS_WITH_AS((void)mha(x, keys, keys, too_long), doctest::Contains("key_lengths[1]"),
                         emofuse::shape_error);
    ea::attention_mask<float> bad_additive;
    bad_additive.additive = xt::zeros<float>({3, 4, 6}); // neither 1, B=2 nor B·H=4
    CHECK_THROWS_AS((void)mha(x, keys, keys, bad_additive), emofuse::shape_error);
}

TEST_CASE_TEMPLATE("a key frame mask equals the same mask given as -inf additive entries", T, float,
                   double) {
    const fixture f("mha_cross_sequence_first");
    const auto mha = mha_of<T>(f);
    const auto q = f.get<T, 3>("query"); // (T_q, B, d) sequence-first
    const auto k = f.get<T, 3>("key");
    const auto v = f.get<T, 3>("value");
    const std::size_t batch = q.shape(1);
    const std::size_t tq = q.shape(0);
    const std::size_t tk = k.shape(0);
    ea::attention_mask<T> frames;
    frames.key_valid = xt::ones<std::uint8_t>({batch, tk});
    ea::attention_mask<T> additive;
    additive.additive = xt::zeros<T>({batch, tq, tk});
    for (std::size_t b = 0; b < batch; ++b) {
        for (std::size_t j = b; j < tk; j += 3) {
            frames.key_valid(b, j) = 0;
            for (std::size_t i = 0; i < tq; ++i) {
                additive.additive(b, i, j) = -std::numeric_limits<T>::infinity();
            }
        }
    }
    const auto a = mha(q, k, v, frames, ea::layout::sequence_first);
    const auto b = mha(q, k, v, additive, ea::layout::sequence_first);
    check_close(a, b, std::is_same_v<T, float> ? 1e-6 : 1e-13);
}

TEST_CASE("empty queries and empty keys") {
    const fixture f("mha_heads1_batch1");
    const auto mha = mha_of<double>(f);
    const xt::xtensor<double, 3> no_queries = xt::zeros<double>({1, 0, 8});
    const xt::xtensor<double, 3> keys = xt::ones<double>({1, 3, 8});
    CHECK(mha(no_queries, keys, keys).size() == 0);
    // No keys at all: every row sees nothing, so the output is out_proj.bias.
    const xt::xtensor<double, 3> queries = xt::ones<double>({1, 2, 8});
    const xt::xtensor<double, 3> no_keys = xt::zeros<double>({1, 0, 8});
    const auto out = mha(queries, no_keys, no_keys);
    for (std::size_t i = 0; i < 2; ++i) {
        for (std::size_t c = 0; c < 8; ++c) {
            CHECK(out(0, i, c) == doctest::Approx(mha.out_proj_bias()(c)).epsilon(1e-12));
        }
    }
}
