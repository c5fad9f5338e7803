// models/parallel_forward.hpp: every zoo model's forward split over the batch gives, at 1, 2 and
// 3 threads, exactly the bits of one forward of the whole batch; the runs and their joining.
#include <emofuse/io/convert.hpp>
#include <emofuse/io/load_state_dict.hpp>
#include <emofuse/io/npz.hpp>
#include <emofuse/models/mmsa_zoo.hpp>
#include <emofuse/models/parallel_forward.hpp>
#include <emofuse/platform/parallel.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace {

namespace em = emofuse::models;
namespace io = emofuse::io;

std::filesystem::path data_path(const std::string& file) {
    return std::filesystem::path(EMOFUSE_TEST_DATA_DIR) / file;
}

/// Puts the pool back to its default when a test case ends, whatever happened in it.
struct restore_threads {
    ~restore_threads() { emofuse::set_num_threads(0); }
};

/// The fixture's rows repeated to `rows` samples; each copy's audio and vision (and text, when
/// it is not BERT tokens) scaled by its own factor so that no two samples are equal.
em::mmsa_batch<float> grown_inputs(const io::state_dict& raw, bool use_bert, std::size_t rows) {
    const auto grow = [&](const char* name, bool scale) {
        const auto values = io::to_xtensor<float, 3>(raw.at(name), name, "inputs");
        const std::size_t have = values.shape(0);
        const std::size_t row_size = values.shape(1) * values.shape(2);
        xt::xtensor<float, 3> grown =
            xt::xtensor<float, 3>::from_shape({rows, values.shape(1), values.shape(2)});
        for (std::size_t row = 0; row < rows; ++row) {
            const float factor = scale ? 1.0f + static_cast<float>(row) / 64.0f : 1.0f;
            for (std::size_t i = 0; i < row_size; ++i) {
                grown.data()[row * row_size + i] =
                    values.data()[(row % have) * row_size + i] * factor;
            }
        }
        return grown;
    };
    const auto lengths = [&](const char* name) {
        std::vector<std::size_t> grown;
        if (!raw.contains(name)) {
            return grown;
        }
        const auto values = io::to_xtensor<std::int64_t, 1>(raw.at(name), name, "inputs");
        for (std::size_t row = 0; row < rows; ++row) {
            grown.push_back(static_cast<std::size_t>(values(row % values.size())));
        }
        return grown;
    };
    return {grow(use_bert ? "text_bert" : "text", !use_bert), grow("audio", true),
            grow("vision", true), lengths("audio_lengths"), lengths("vision_lengths")};
}

bool same_bits(const em::mmsa_outputs<float>& a, const em::mmsa_outputs<float>& b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (const auto& [name, values] : a) {
        const auto found = b.find(name);
        if (found == b.end() || found->second.shape() != values.shape() ||
            std::memcmp(found->second.data(), values.data(), values.size() * sizeof(float)) != 0) {
            return false;
        }
    }
    return true;
}

/// Records the row counts (and text data) its forward saw; its outputs are each sample's first
/// text value and a column of its run's row count, so a misplaced run would show. Copies share
/// the record.
class recording_model {
public:
    em::mmsa_outputs<float> forward(const em::mmsa_batch<float>& inputs) const {
        const std::size_t rows = inputs.text.shape(0);
        {
            const std::lock_guard lock(log_->lock);
            log_->rows.push_back(rows);
            log_->data.push_back(inputs.text.data());
        }
        xt::xtensor<float, 2> m = xt::xtensor<float, 2>::from_shape({rows, 2});
        for (std::size_t row = 0; row < rows; ++row) {
            m(row, 0) = inputs.text(row, 0, 0);
            m(row, 1) = static_cast<float>(rows);
        }
        em::mmsa_outputs<float> outputs;
        outputs["M"] = m;
        if (extra_output_for_rows == rows) {
            outputs["T"] = m;
        }
        return outputs;
    }
    std::size_t output_dim() const { return 2; }
    std::vector<std::size_t> seen_rows() const { return log_->rows; }
    std::vector<const float*> seen_data() const { return log_->data; }
    std::vector<std::size_t> sorted_rows() const {
        auto rows = log_->rows;
        std::sort(rows.begin(), rows.end());
        return rows;
    }
    std::size_t extra_output_for_rows = 0;

private:
    struct call_log {
        std::mutex lock;
        std::vector<std::size_t> rows;
        std::vector<const float*> data;
    };
    std::shared_ptr<call_log> log_ = std::make_shared<call_log>();
};

/// The same, declaring its forward not batch-invariant.
class whole_batch_model : public recording_model {
public:
    static constexpr bool batch_invariant = false;
};

em::mmsa_batch<float> numbered_batch(std::size_t rows) {
    em::mmsa_batch<float> batch{xt::zeros<float>({rows, std::size_t{1}, std::size_t{1}}),
                                xt::zeros<float>({rows, std::size_t{2}, std::size_t{3}}),
                                xt::zeros<float>({rows, std::size_t{4}, std::size_t{5}})};
    for (std::size_t row = 0; row < rows; ++row) {
        batch.text(row, 0, 0) = static_cast<float>(row);
    }
    return batch;
}

} // namespace

TEST_CASE("parallel_forward: every zoo model gives one forward's bits at 1, 2 and 3 threads") {
    const restore_threads restore;
    // Every fixture case of tests/models/data: each model of the zoo, each train mode, and the
    // variants (unaligned, BERT text, unidirectional) whose forwards take other paths.
    const std::vector<std::string> cases{"tfn_mosi_regression",
                                         "tfn_mosi_classification",
                                         "lmf_mosi_regression",
                                         "lmf_mosi_classification",
                                         "lf_dnn_mosi_regression",
                                         "mtfn_sims_regression",
                                         "mlmf_sims_classification",
                                         "mlf_dnn_sims_regression",
                                         "ef_lstm_mosi_regression",
                                         "ef_lstm_mosi_unaligned_regression",
                                         "mfn_mosi_regression",
                                         "mfn_mosi_classification",
                                         "graph_mfn_mosi_regression",
                                         "graph_mfn_mosi_classification",
                                         "mult_mosi_regression",
                                         "mult_mosei_mixed_regression",
                                         "mult_mosi_bert_classification",
                                         "self_mm_mosi_regression",
                                         "self_mm_mosi_aligned_classification",
                                         "mmim_mosi_regression",
                                         "mmim_mosi_unidirectional_classification",
                                         "misa_mosi_regression",
                                         "bert_mag_mosi_regression",
                                         "cenet_mosi_classification",
                                         "almt_mosi_regression",
                                         "tetfn_mosi_regression",
                                         "tetfn_mosi_classification"};
    std::vector<std::string> models_seen;
    for (const auto& base : cases) {
        CAPTURE(base);
        const auto mode_at = base.rfind('_');
        const std::string mode_name = base.substr(mode_at + 1);
        const auto mode =
            mode_name == "regression" ? em::train_mode::regression : em::train_mode::classification;
        std::string model_name;
        std::string dataset;
        for (const char* name : {"mosi", "mosei", "sims"}) {
            const auto at = base.find(std::string("_") + name);
            if (at != std::string::npos && (model_name.empty() || at < model_name.size())) {
                model_name = base.substr(0, at);
                dataset = name;
            }
        }
        auto config =
            em::mmsa_config::load(data_path(base + ".config.json"), model_name, dataset, mode);
        std::filesystem::path weights_file = data_path(base + ".safetensors");
        if (!std::filesystem::exists(weights_file)) {
            weights_file = data_path(base + ".pth");
        }
        const auto weights = io::load_state_dict(weights_file);
        const auto raw = io::load_npz(data_path(base + ".inputs.npz"));
        // 33 rows: two full runs of 16 and one of a single row.
        const auto inputs = em::prepare_mmsa_inputs(
            config, grown_inputs(raw, config.flag_or_false("use_bert"), 33));
        const auto model = em::load_mmsa_model<float>(config, weights);
        models_seen.emplace_back(model.name());

        emofuse::set_num_threads(1);
        const auto whole = model.forward(inputs);
        for (const unsigned threads : {1u, 2u, 3u}) {
            CAPTURE(threads);
            emofuse::set_num_threads(threads);
            CHECK(same_bits(em::parallel_forward(model, inputs), whole));
            // Runs of 5 rows: seven runs, more than there are threads.
            CHECK(same_bits(em::parallel_forward(model, inputs, 5), whole));
        }
    }
    // Every model of the table was among the cases.
    for (const auto name : em::mmsa_model_names()) {
        CAPTURE(name);
        CHECK(std::find(models_seen.begin(), models_seen.end(), name) != models_seen.end());
    }
}

TEST_CASE("parallel_forward: runs of fixed rows, joined in order, whatever the thread count") {
    const restore_threads restore;
    const auto inputs = numbered_batch(37);
    for (const unsigned threads : {1u, 2u, 3u}) {
        CAPTURE(threads);
        emofuse::set_num_threads(threads);
        const recording_model model;
        const auto outputs = em::parallel_forward(model, inputs, 8);
        CHECK(model.sorted_rows() == std::vector<std::size_t>{5, 8, 8, 8, 8});
        REQUIRE(outputs.size() == 1);
        const auto& m = outputs.at("M");
        REQUIRE(m.shape(0) == 37);
        for (std::size_t row = 0; row < 37; ++row) {
            CHECK(m(row, 0) == static_cast<float>(row));
            CHECK(m(row, 1) == (row < 32 ? 8.0f : 5.0f));
        }
    }
}

TEST_CASE("parallel_forward: a batch of one run is one plain forward, without a copy") {
    const restore_threads restore;
    emofuse::set_num_threads(2);
    for (const std::size_t rows : {std::size_t{1}, em::parallel_forward_rows}) {
        const auto inputs = numbered_batch(rows);
        const recording_model model;
        const auto outputs = em::parallel_forward(model, inputs);
        REQUIRE(model.seen_rows().size() == 1);
        CHECK(model.seen_rows().front() == rows);
        CHECK(model.seen_data().front() == inputs.text.data());
        CHECK(outputs.at("M").shape(0) == rows);
    }
}

TEST_CASE("parallel_forward: a model that is not batch-invariant keeps its batch whole") {
    const restore_threads restore;
    emofuse::set_num_threads(2);
    static_assert(em::batch_invariant_forward<recording_model>());
    static_assert(!em::batch_invariant_forward<whole_batch_model>());
    static_assert(!em::batch_invariant_forward<em::misa<float>>());
    const auto inputs = numbered_batch(40);
    const whole_batch_model model;
    const auto outputs = em::parallel_forward(model, inputs, 8);
    CHECK(model.seen_rows() == std::vector<std::size_t>{40});
    CHECK(outputs.at("M").shape(0) == 40);
    // Through the zoo's type-erased model too.
    const em::mmsa_model<float> erased("whole", em::mmsa_task::single, whole_batch_model{});
    CHECK_FALSE(erased.batch_invariant());
    CHECK(
        em::mmsa_model<float>("runs", em::mmsa_task::single, recording_model{}).batch_invariant());
}

TEST_CASE("parallel_forward: bad arguments and disagreeing runs are clear errors") {
    const restore_threads restore;
    emofuse::set_num_threads(2);
    const recording_model model;
    CHECK_THROWS_WITH_AS((void)em::parallel_forward(model, numbered_batch(4), 0),
                         "models::parallel_forward: rows_per_run must be at least 1",
                         emofuse::value_error);
    auto uneven = numbered_batch(20);
    uneven.audio = xt::zeros<float>({std::size_t{19}, std::size_t{2}, std::size_t{3}});
    CHECK_THROWS_WITH_AS((void)em::parallel_forward(model, uneven, 8),
                         "models::parallel_forward: text, audio and vision hold 20, 19 and 20 "
                         "samples; they must hold the same number",
                         emofuse::shape_error);
    auto short_lengths = numbered_batch(20);
    short_lengths.vision_lengths.assign(19, 1);
    CHECK_THROWS_WITH_AS((void)em::parallel_forward(model, short_lengths, 8),
                         "models::parallel_forward: 19 lengths for 20 samples",
                         emofuse::shape_error);
    // The last run (4 rows) returns an output the others do not.
    recording_model odd;
    odd.extra_output_for_rows = 4;
    CHECK_THROWS_WITH_AS((void)em::parallel_forward(odd, numbered_batch(20), 8),
                         doctest::Contains("the forward of rows [16, 20) returned 2 outputs"),
                         emofuse::value_error);
    CHECK_THROWS_WITH_AS((void)em::mmsa_batch_rows(numbered_batch(3), 2, 4),
                         "models::mmsa_batch_rows: rows [2, 4) of a batch of 3",
                         emofuse::shape_error);
}
