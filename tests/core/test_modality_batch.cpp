// Modality keys, sequences and the multimodal batch.
#include <doctest/doctest.h>

#include <emofuse/core/batch.hpp>
#include <emofuse/core/dims.hpp>

#include <boost/hana/contains.hpp>

#include <string>

using namespace emofuse;

TEST_CASE("modality keys are compile-time values usable as hana map keys") {
    static_assert(name_of(text) == "text");
    static_assert(name_of(modality<"depth">) == "depth");
    static_assert(!std::is_same_v<decltype(text), decltype(audio)>);
    static_assert(std::is_same_v<decltype(modality<"text">), decltype(text)>);

    auto batch = make_batch(text(features<float>::from_shape({2, 3})),
                            modality<"depth">(features<float>::from_shape({2, 1})));
    static_assert(decltype(hana::contains(batch, text))::value);
    static_assert(decltype(hana::contains(batch, modality<"depth">))::value);
    static_assert(!decltype(hana::contains(batch, audio))::value);
    CHECK(batch_size(batch) == 2);
}

TEST_CASE("the batch keeps the order its entries were given in") {
    auto batch = make_batch(vision(features<double>::from_shape({1, 1})),
                            text(features<double>::from_shape({1, 1})),
                            audio(features<double>::from_shape({1, 1})));
    std::string order;
    hana::for_each(hana::keys(batch), [&](auto key) { order += std::string(name_of(key)) + ","; });
    CHECK(order == "vision,text,audio,");
}

TEST_CASE("batch_size rejects modalities with different sample counts") {
    auto batch = make_batch(text(features<float>::from_shape({3, 2})),
                            audio(sequence<float>(xt::xtensor<float, 3>::from_shape({4, 5, 2}))));
    CHECK_THROWS_WITH_AS(batch_size(batch, "demo"),
                         "demo: modality 'audio' has 4 samples but 'text' has 3", shape_error);
}

TEST_CASE_TEMPLATE("sequence validates lengths and masks", T, float, double) {
    xt::xtensor<T, 3> values = xt::zeros<T>({2, 4, 3});
    SUBCASE("full length by default") {
        sequence<T> seq(values);
        CHECK(seq.batch_size() == 2);
        CHECK(seq.max_time() == 4);
        CHECK(seq.feature_size() == 3);
        CHECK(seq.length(1) == 4);
        CHECK(seq.valid(1, 3));
        CHECK_FALSE(seq.has_frame_mask());
    }
    SUBCASE("lengths bound the valid frames") {
        sequence<T> seq(values, {4, 2});
        CHECK(seq.valid(1, 1));
        CHECK_FALSE(seq.valid(1, 2));
    }
    SUBCASE("a frame mask adds holes inside the lengths") {
        xt::xtensor<std::uint8_t, 2> mask = {{1, 0, 1, 1}, {1, 1, 1, 1}};
        sequence<T> seq(values, {4, 2}, mask);
        CHECK_FALSE(seq.valid(0, 1));
        CHECK(seq.valid(0, 2));
        CHECK_FALSE(seq.valid(1, 3));
    }
    SUBCASE("wrong number of lengths") {
        CHECK_THROWS_WITH_AS(sequence<T>(values, {4}),
                             "sequence: number of lengths (one per sample): expected 2, got 1",
                             shape_error);
    }
    SUBCASE("a length beyond the time axis") {
        CHECK_THROWS_WITH_AS(sequence<T>(values, {4, 5}),
                             "sequence: length of sample 1: expected at most 4 (time steps), got 5",
                             shape_error);
    }
    SUBCASE("a mask of the wrong shape") {
        xt::xtensor<std::uint8_t, 2> mask = xt::ones<std::uint8_t>({2, 3});
        CHECK_THROWS_WITH_AS(sequence<T>(values, {4, 4}, mask),
                             "sequence: frame mask shape: expected (2, 4), got (2, 3)",
                             shape_error);
    }
}

TEST_CASE("static dims compute sums and products at compile time") {
    using tfn = dims<32, 128, 32>;
    static_assert(tfn::count == 3);
    static_assert(tfn::sum == 192);
    static_assert(tfn::product_plus_one == 33 * 129 * 33);
    static_assert(dims<4, dynamic>::sum == dynamic);
    static_assert(!dims<4, dynamic>::is_static);
    static_assert(static_sizes_conflict(3, 4));
    static_assert(!static_sizes_conflict(3, dynamic));
    CHECK(tfn::values[1] == 128);
}

TEST_CASE("printable keeps a message on one line and bounded") {
    CHECK(emofuse::printable("words") == "\"words\"");
    CHECK(emofuse::printable("a\nb\x7f", '\'') == "'a\\x0ab\\x7f'");
    const std::string long_token(100, 'x');
    CHECK(emofuse::printable(long_token) == "\"" + std::string(60, 'x') + "...\" (100 bytes)");
    CHECK(emofuse::printable(long_token, '"', std::string_view::npos) ==
          "\"" + long_token + "\"");
    CHECK(emofuse::printable(std::string(60, 'y')) == "\"" + std::string(60, 'y') + "\"");
}
