// nn.LSTMCell / nn.GRUCell parity (fixtures from torch.nn) and the errors of bad input.
#include "encoders_testing.hpp"

#include <emofuse/encoders/cells.hpp>
#include <emofuse/encoders/recurrent.hpp>
#include <emofuse/io/state_dict.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace {

namespace ee = emofuse::encoders;
using namespace encoders_testing;

ee::cell_options cell_options_of(const emofuse::io::state_dict& sd) {
    return {meta_size(sd, "input_size"), meta_size(sd, "hidden_size"), meta_flag(sd, "bias")};
}

template <class T, ee::rnn_cell_type Cell>
void check_cell_case(const std::string& name) {
    INFO("case ", name);
    const auto sd = load_case(name);
    const auto cell =
        ee::recurrent_cell<T, Cell>::from_state_dict(sd, meta(sd, "prefix"), cell_options_of(sd));
    ee::cell_state<T> state;
    if (sd.contains("h0")) {
        state.h = sd.tensor<T, 2>("h0");
    }
    if (sd.contains("c0")) {
        state.c = sd.tensor<T, 2>("c0");
    }
    const auto next = cell(sd.tensor<T, 2>("input"), state);
    check_close<T>(next.h, sd.tensor<double, 2>("h_n"), "h");
    if constexpr (Cell == ee::rnn_cell_type::lstm) {
        check_close<T>(next.c, sd.tensor<double, 2>("c_n"), "c");
    } else {
        CHECK(next.c.size() == 0);
    }
}

const char* const cell_cases[] = {"cell", "cell_zero_state", "cell_nobias"};

} // namespace

TEST_CASE_TEMPLATE("lstm_cell matches torch.nn.LSTMCell", T, float, double) {
    for (const char* c : cell_cases) {
        check_cell_case<T, ee::rnn_cell_type::lstm>(std::string("lstm_") + c);
    }
}

TEST_CASE_TEMPLATE("gru_cell matches torch.nn.GRUCell", T, float, double) {
    for (const char* c : cell_cases) {
        check_cell_case<T, ee::rnn_cell_type::gru>(std::string("gru_") + c);
    }
}

TEST_CASE("stepping a cell by hand equals the unidirectional layer with the same parameters") {
    const auto sd = load_case("gru_l2_b1_init"); // 2 layers; layer 0 is a GRU cell's parameters
    const std::string prefix = meta(sd, "prefix");
    ee::rnn_parameters<double> p{sd.tensor<double, 2>(prefix + "weight_ih_l0"),
                                 sd.tensor<double, 2>(prefix + "weight_hh_l0"),
                                 sd.tensor<double, 1>(prefix + "bias_ih_l0"),
                                 sd.tensor<double, 1>(prefix + "bias_hh_l0")};
    const ee::gru_cell<double> cell(p);
    ee::rnn_options options{p.weight_ih.shape(1), p.weight_hh.shape(1), 1, false, false, true};
    const ee::gru<double> layer(options, {p});
    const auto x = sd.tensor<double, 3>("input"); // (7, 1, 4)
    const auto expected = layer(x);
    ee::cell_state<double> state;
    for (std::size_t t = 0; t < x.shape(0); ++t) {
        xt::xtensor<double, 2> step({1, x.shape(2)});
        std::copy_n(x.data() + t * x.shape(2), x.shape(2), step.data());
        state = cell(step, state);
        for (std::size_t j = 0; j < options.hidden_size; ++j) {
            CHECK(state.h(0, j) == doctest::Approx(expected.output(t, 0, j)).epsilon(1e-13));
        }
    }
}

TEST_CASE("project_inputs for every step, then step(): the same states as calling the cell") {
    const auto sd = load_case("lstm_cell");
    const auto cell = ee::lstm_cell<double>::from_state_dict(sd, "cell.", cell_options_of(sd));
    const std::size_t batch = 3, steps = 4, features = cell.options().input_size;
    const std::size_t hidden = cell.options().hidden_size, width = 4 * hidden;
    // (batch, time, features), batch-first as MMSA's inputs: step t of sample b is row b·steps+t.
    xt::xtensor<double, 3> x = xt::xtensor<double, 3>::from_shape({batch, steps, features});
    for (std::size_t i = 0; i < x.size(); ++i) {
        x.data()[i] = std::sin(0.37 * static_cast<double>(i));
    }
    std::vector<double> projected(batch * steps * width);
    cell.project_inputs(x.data(), batch * steps, projected.data());
    std::vector<double> h(batch * hidden, 0.0), c(batch * hidden, 0.0);
    ee::cell_state<double> state;
    for (std::size_t t = 0; t < steps; ++t) {
        cell.step(projected.data() + t * width, steps * width, batch, h.data(), c.data());
        xt::xtensor<double, 2> frame = xt::xtensor<double, 2>::from_shape({batch, features});
        for (std::size_t b = 0; b < batch; ++b) {
            std::copy_n(x.data() + (b * steps + t) * features, features,
                        frame.data() + b * features);
        }
        state = cell(frame, state);
        for (std::size_t i = 0; i < batch * hidden; ++i) {
            CHECK(h[i] == state.h.data()[i]);
            CHECK(c[i] == state.c.data()[i]);
        }
    }
}

TEST_CASE("cells reject bad input with clear errors") {
    const auto sd = load_case("lstm_cell");
    const auto options = cell_options_of(sd);
    const auto cell = ee::lstm_cell<float>::from_state_dict(sd, "cell.", options);
    const xt::xtensor<float, 2> x = sd.tensor<float, 2>("input"); // (3, 5)
    const xt::xtensor<float, 2> wide = xt::zeros<float>({3, 6});
    CHECK_THROWS_WITH_AS(static_cast<void>(cell(wide)),
                         "encoders::lstm_cell: input features (input_size): expected 5, got 6",
                         emofuse::shape_error);
    ee::cell_state<float> state;
    state.c = xt::zeros<float>({2, 7});
    CHECK_THROWS_WITH_AS(static_cast<void>(cell(x, state)),
                         "encoders::lstm_cell: c shape: expected (3, 7) = (batch, hidden_size), "
                         "got (2, 7)",
                         emofuse::shape_error);
    CHECK_THROWS_WITH_AS(ee::lstm_cell<float>::from_state_dict(sd, "model.cell.", options),
                         "encoders::lstm_cell: parameter 'model.cell.weight_ih': expected in the "
                         "state dict, missing",
                         emofuse::value_error);
    auto no_bias = options;
    no_bias.bias = false;
    CHECK_THROWS_AS(ee::lstm_cell<float>::from_state_dict(sd, "cell.", no_bias),
                    emofuse::value_error);
    CHECK_THROWS_AS(ee::gru_cell<float>::from_state_dict(sd, "cell.", options),
                    emofuse::shape_error);
    const auto gsd = load_case("gru_cell");
    const auto gru = ee::gru_cell<float>::from_state_dict(gsd, "cell.", cell_options_of(gsd));
    ee::cell_state<float> with_c;
    with_c.c = xt::zeros<float>({3, 7});
    CHECK_THROWS_AS(static_cast<void>(gru(gsd.tensor<float, 2>("input"), with_c)),
                    emofuse::value_error);
}
