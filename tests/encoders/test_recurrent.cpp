// nn.LSTM / nn.GRU parity (fixtures from torch.nn, tests/encoders/generate_fixtures.py) and the
// errors of bad input.
#include "encoders_testing.hpp"

#include <emofuse/encoders/recurrent.hpp>
#include <emofuse/io/state_dict.hpp>

#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace {

namespace ee = emofuse::encoders;
using namespace encoders_testing;

ee::rnn_options options_of(const emofuse::io::state_dict& sd) {
    ee::rnn_options options;
    options.input_size = meta_size(sd, "input_size");
    options.hidden_size = meta_size(sd, "hidden_size");
    options.num_layers = meta_size(sd, "num_layers");
    options.bidirectional = meta_flag(sd, "bidirectional");
    options.batch_first = meta_flag(sd, "batch_first");
    options.bias = meta_flag(sd, "bias");
    return options;
}

template <class T, ee::rnn_cell_type Cell>
void check_case(const std::string& name) {
    INFO("case ", name);
    const auto sd = load_case(name);
    const auto rnn =
        ee::recurrent<T, Cell>::from_state_dict(sd, meta(sd, "prefix"), options_of(sd));
    ee::rnn_state<T> initial;
    if (sd.contains("h0")) {
        initial.h = sd.tensor<T, 3>("h0");
    }
    if (sd.contains("c0")) {
        initial.c = sd.tensor<T, 3>("c0");
    }
    const std::vector<std::size_t> lengths = lengths_of(sd);
    const auto result = rnn(sd.tensor<T, 3>("input"), lengths, initial);
    check_close<T>(result.output, sd.tensor<double, 3>("output"), "output");
    check_close<T>(result.h_n, sd.tensor<double, 3>("h_n"), "h_n");
    if constexpr (Cell == ee::rnn_cell_type::lstm) {
        check_close<T>(result.c_n, sd.tensor<double, 3>("c_n"), "c_n");
    } else {
        CHECK(result.c_n.size() == 0);
    }
}

const char* const rnn_cases[] = {"uni",  "bi_padded", "bi2_lengths", "bi2_full",
                                 "init", "l3_nobias", "l2_b1_init"};

} // namespace

TEST_CASE_TEMPLATE("lstm matches torch.nn.LSTM", T, float, double) {
    for (const char* c : rnn_cases) {
        check_case<T, ee::rnn_cell_type::lstm>(std::string("lstm_") + c);
    }
}

TEST_CASE_TEMPLATE("gru matches torch.nn.GRU", T, float, double) {
    for (const char* c : rnn_cases) {
        check_case<T, ee::rnn_cell_type::gru>(std::string("gru_") + c);
    }
}

TEST_CASE("with lengths, padded steps are never read and their outputs are zero") {
    // lstm_l3_nobias stores NaN in every padded step; the parity check above already fails on
    // any NaN, this states the zero outputs explicitly.
    const auto sd = load_case("lstm_l3_nobias");
    const auto rnn = ee::lstm<double>::from_state_dict(sd, meta(sd, "prefix"), options_of(sd));
    const auto lengths = lengths_of(sd);
    const auto result = rnn(sd.tensor<double, 3>("input"), lengths);
    for (std::size_t b = 0; b < lengths.size(); ++b) {
        for (std::size_t t = 0; t < result.output.shape(1); ++t) {
            for (std::size_t j = 0; j < result.output.shape(2); ++j) {
                const double v = result.output(b, t, j);
                CHECK_FALSE(std::isnan(v));
                if (t >= lengths[b]) {
                    CHECK(v == 0.0);
                }
            }
        }
    }
}

TEST_CASE("a bidirectional run with lengths differs from the padded run (reverse starts at the "
          "last valid step)") {
    const auto sd = load_case("gru_bi2_lengths");
    const auto rnn = ee::gru<double>::from_state_dict(sd, meta(sd, "prefix"), options_of(sd));
    const auto x = sd.tensor<double, 3>("input");
    const auto with_lengths = rnn(x, lengths_of(sd));
    const auto padded = rnn(x);
    // Sample 1 has length 1: its reverse output at step 0 saw only step 0 with lengths, the
    // whole padded sequence without.
    const std::size_t hidden = rnn.options().hidden_size;
    CHECK(std::abs(with_lengths.output(1, 0, hidden) - padded.output(1, 0, hidden)) > 1e-6);
    // Sample 0 is full: both runs agree on it.
    for (std::size_t t = 0; t < x.shape(1); ++t) {
        for (std::size_t j = 0; j < 2 * hidden; ++j) {
            CHECK(with_lengths.output(0, t, j) == doctest::Approx(padded.output(0, t, j)));
        }
    }
}

TEST_CASE("recurrent layers reject bad input with clear errors") {
    const auto sd = load_case("lstm_bi2_lengths");
    const auto options = options_of(sd);
    const std::string prefix = meta(sd, "prefix");
    const auto rnn = ee::lstm<float>::from_state_dict(sd, prefix, options);
    const auto x = sd.tensor<float, 3>("input"); // (4, 5, 4), batch-first

    SUBCASE("wrong feature size") {
        const xt::xtensor<float, 3> wide = xt::zeros<float>({4, 5, 5});
        CHECK_THROWS_WITH_AS(static_cast<void>(rnn(wide)),
                             "encoders::lstm: input features (input_size): expected 4, got 5",
                             emofuse::shape_error);
    }
    SUBCASE("lengths") {
        const std::vector<std::size_t> zero{5, 0, 3, 4};
        CHECK_THROWS_WITH_AS(static_cast<void>(rnn(x, zero)),
                             "encoders::lstm: length of sample 1: expected at least 1, got 0",
                             emofuse::value_error);
        const std::vector<std::size_t> too_long{5, 6, 3, 4};
        CHECK_THROWS_WITH_AS(
            static_cast<void>(rnn(x, too_long)),
            "encoders::lstm: length of sample 1: expected at most 5 (time steps), got 6",
            emofuse::shape_error);
        const std::vector<std::size_t> short_list{5, 1};
        CHECK_THROWS_AS(static_cast<void>(rnn(x, short_list)), emofuse::shape_error);
    }
    SUBCASE("initial state shape") {
        ee::rnn_state<float> initial;
        initial.h = xt::zeros<float>({4, 3, 6}); // batch 3, not 4
        CHECK_THROWS_WITH_AS(static_cast<void>(rnn(x, {}, initial)),
                             "encoders::lstm: h_0 shape: expected (4, 4, 6) = "
                             "(num_layers·directions, batch, hidden_size), got (4, 3, 6)",
                             emofuse::shape_error);
    }
    SUBCASE("a GRU has no cell state") {
        const auto gsd = load_case("gru_uni");
        const auto g = ee::gru<float>::from_state_dict(gsd, meta(gsd, "prefix"), options_of(gsd));
        ee::rnn_state<float> initial;
        initial.c = xt::zeros<float>({1, 3, 6});
        CHECK_THROWS_AS(static_cast<void>(g(gsd.tensor<float, 3>("input"), {}, initial)),
                        emofuse::value_error);
    }
    SUBCASE("missing parameter") {
        auto partial = sd.without_prefix(""); // a copy
        emofuse::io::state_dict pruned;
        for (const auto& name : partial.names()) {
            if (name != prefix + "weight_hh_l1_reverse") {
                pruned.insert(name, partial.at(name));
            }
        }
        CHECK_THROWS_WITH_AS(
            ee::lstm<float>::from_state_dict(pruned, prefix, options),
            "encoders::lstm: parameter 'Model.text_subnet.rnn.weight_hh_l1_reverse': expected "
            "in the state dict, missing",
            emofuse::value_error);
    }
    SUBCASE("options that do not fit the state dict") {
        auto one_layer = options;
        one_layer.num_layers = 1;
        CHECK_THROWS_WITH_AS(ee::lstm<float>::from_state_dict(sd, prefix, one_layer),
                             "encoders::lstm: parameter 'Model.text_subnet.rnn.weight_ih_l1': not "
                             "expected (the options say num_layers = 1)",
                             emofuse::value_error);
        auto forward_only = options;
        forward_only.bidirectional = false;
        CHECK_THROWS_AS(ee::lstm<float>::from_state_dict(sd, prefix, forward_only), emofuse::error);
        auto no_bias = options;
        no_bias.bias = false;
        CHECK_THROWS_AS(ee::lstm<float>::from_state_dict(sd, prefix, no_bias),
                        emofuse::value_error);
        auto wrong_hidden = options;
        wrong_hidden.hidden_size = 7;
        CHECK_THROWS_AS(ee::lstm<float>::from_state_dict(sd, prefix, wrong_hidden),
                        emofuse::shape_error);
        // An LSTM's parameters are not a GRU's: 4·hidden rows, not 3·hidden.
        CHECK_THROWS_AS(ee::gru<float>::from_state_dict(sd, prefix, options), emofuse::shape_error);
    }
    SUBCASE("sizes whose projections overflow") {
        const xt::xtensor<float, 3> huge(std::array<std::size_t, 3>{std::size_t(1) << 62, 0, 4});
        CHECK_THROWS_WITH_AS(static_cast<void>(rnn(huge)),
                             doctest::Contains("input projections (time, batch, "
                                               "directions·gates·hidden_size): shape"),
                             emofuse::shape_error);
    }
    SUBCASE("zero sizes") {
        CHECK_THROWS_AS(ee::lstm<float>(ee::rnn_options{}, {}), emofuse::value_error);
    }
}

TEST_CASE("NaN in a valid step propagates as in torch") {
    const auto sd = load_case("lstm_uni");
    const auto rnn = ee::lstm<float>::from_state_dict(sd, meta(sd, "prefix"), options_of(sd));
    auto x = sd.tensor<float, 3>("input"); // (5, 3, 4), sequence-first
    x(2, 1, 0) = std::numeric_limits<float>::quiet_NaN();
    const auto result = rnn(x);
    // Sample 1 is NaN from step 2 on; the other samples are untouched.
    CHECK(std::isnan(result.output(2, 1, 0)));
    CHECK(std::isnan(result.h_n(0, 1, 0)));
    const auto clean = rnn(sd.tensor<float, 3>("input"));
    CHECK(result.output(4, 0, 0) == clean.output(4, 0, 0));
    CHECK(result.output(1, 1, 3) == clean.output(1, 1, 3));
}

TEST_CASE("empty batch or time returns the initial state") {
    ee::rnn_options options;
    options.input_size = 3;
    options.hidden_size = 2;
    std::vector<ee::rnn_parameters<double>> parameters(1);
    parameters[0].weight_ih = xt::ones<double>({8, 3});
    parameters[0].weight_hh = xt::ones<double>({8, 2});
    parameters[0].bias_ih = xt::zeros<double>({8});
    parameters[0].bias_hh = xt::zeros<double>({8});
    const ee::lstm<double> rnn(options, parameters);
    CHECK(rnn.parameter_count() == 8 * 3 + 8 * 2 + 16);
    const xt::xtensor<double, 3> none = xt::zeros<double>({0, 2, 3});
    const auto result = rnn(none);
    CHECK(result.output.shape(0) == 0);
    CHECK(result.h_n.shape(1) == 2);
    CHECK(xt::all(xt::equal(result.h_n, 0.0)));
}
