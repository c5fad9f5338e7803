// examples/common/mmsa_predict.hpp — the path from an MMSA checkpoint to predictions that
// emofuse-predict and emofuse-demo share: MMSA's configuration, the checkpoint, the arrays of
// an MMSA feature file (.npz, or a split of MMSA's .pkl), MMSA's data-loader steps and AMIO's
// alignment per batch, the zoo model's forward, the outputs as float32 arrays, and the metric suite
// on M.
#pragma once

#include "common/cli.hpp"
#include "common/npz_output.hpp"

#include <emofuse/config.hpp>
#include <emofuse/core/error.hpp>
#include <emofuse/core/shard.hpp>
#include <emofuse/io/convert.hpp>
#include <emofuse/io/load_state_dict.hpp>
#include <emofuse/io/npy.hpp>
#include <emofuse/io/npz.hpp>
#include <emofuse/io/pkl.hpp>
#include <emofuse/metrics/sentiment.hpp>
#include <emofuse/metrics/suite_result.hpp>
#include <emofuse/models/mmsa_config.hpp>
#include <emofuse/models/mmsa_inputs.hpp>
#include <emofuse/models/mmsa_zoo.hpp>
#include <emofuse/models/parallel_forward.hpp>
#include <emofuse/text/mmsa_text.hpp>
#include <emofuse/text/wordpiece.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>
#if __has_include(<unistd.h>)
#include <unistd.h>
#endif

namespace emofuse::cli::mmsa {

/// What a prediction run needs (emofuse-predict's flags).
struct predict_request {
    std::string model;
    std::string dataset;
    std::filesystem::path config;
    std::filesystem::path weights;
    std::filesystem::path inputs;
    std::string split; ///< non-empty: `inputs` is a pickled dict of splits, this one is read
    /// Non-empty: the BERT models' text_bert comes from these transcript lines (one per
    /// sample), tokenized with `vocab` as Hugging Face's BertTokenizer does, instead of from
    /// the inputs' text_bert array.
    std::filesystem::path text_lines;
    std::filesystem::path vocab;
    std::size_t text_length = language::mmsa_text_length; ///< tokens per sample, [CLS]/[SEP] in
    bool cased = false; ///< the vocabulary is cased: no lower-casing or accent stripping
    models::train_mode mode = models::train_mode::regression;
    std::size_t batch = 32;
    /// Run only shard `shard` of `shards` of the samples (core/shard.hpp's contiguous rule),
    /// as one rank of emofuse-mpi-predict does; each sample's outputs are those of a whole run.
    std::size_t shard = 0;
    std::size_t shards = 1;
};

/// One output of the model over all samples.
struct named_output {
    std::string name;
    xt::xtensor<float, 2> values;
};

/// Every output of the model over all samples, float32, in output_names() order.
struct prediction {
    std::string model;
    std::vector<named_output> outputs; ///< "M" first, then "T", "A", "V" for multi-task models
    std::size_t samples = 0;
    std::size_t batches = 0;
    double seconds = 0; ///< data-loader steps + forward, all batches
};

/// Shows "done/total samples" on stderr when it is a terminal and the run takes more than a
/// second (at most twice a second); silent in pipes and for short runs.
class progress_line {
public:
    progress_line(std::string_view tool, std::size_t total)
        : tool_(tool), total_(total),
#if __has_include(<unistd.h>)
          enabled_(::isatty(2) == 1),
#endif
          next_(std::chrono::steady_clock::now() + std::chrono::seconds(1)) {
    }
    progress_line(const progress_line&) = delete;
    progress_line& operator=(const progress_line&) = delete;
    ~progress_line() {
        if (shown_) {
            std::fprintf(stderr, "\r%.*s: %zu/%zu samples\033[K\n", static_cast<int>(tool_.size()),
                         tool_.data(), done_, total_);
        }
    }
    void advance(std::size_t samples) {
        done_ += samples;
        const auto now = std::chrono::steady_clock::now();
        if (!enabled_ || now < next_) {
            return;
        }
        next_ = now + std::chrono::milliseconds(500);
        shown_ = true;
        std::fprintf(stderr, "\r%.*s: %zu/%zu samples (%zu%%)\033[K",
                     static_cast<int>(tool_.size()), tool_.data(), done_, total_,
                     done_ * 100 / total_);
    }

private:
    std::string_view tool_;
    std::size_t total_;
    bool enabled_ = false;
    std::chrono::steady_clock::time_point next_;
    std::size_t done_ = 0;
    bool shown_ = false;
};

namespace detail {

inline std::string shape_text(std::span<const std::size_t> shape) {
    return io::shape_to_string(shape);
}

/// The array `name` of the inputs file, checked: present, float32 or float64, rank 3 with
/// time steps and features (and `samples` rows when given). Errors name the file, the array,
/// and the found and expected shapes.
inline const io::stored_tensor& feature_array(const io::state_dict& arrays, std::string_view name,
                                              std::optional<std::size_t> samples,
                                              std::string_view source) {
    const std::string where =
        "inputs " + quoted_path(std::string(source)) + ": array '" + std::string(name) + "'";
    if (!arrays.contains(name)) {
        std::string held;
        for (const auto& present : arrays.names()) {
            held += (held.empty() ? "'" : ", '") + present + "'";
        }
        throw io_error("inputs " + quoted_path(std::string(source)) + ": no array '" +
                       std::string(name) + "' (it holds " + (held.empty() ? "none" : held) +
                       "); MMSA's feature files name them text (text_bert for the models with "
                       "use_bert), audio and vision");
    }
    const auto& array = arrays.at(name);
    if (array.type != io::dtype::f32 && array.type != io::dtype::f64) {
        throw io_error(where + " is stored as " + std::string(io::dtype_name(array.type)) +
                       "; expected F32 (float32) or F64 (float64)");
    }
    const std::size_t rows = samples.value_or(array.shape.empty() ? 0 : array.shape[0]);
    const bool fits = array.shape.size() == 3 && array.shape[0] == rows && rows > 0 &&
                      array.shape[1] > 0 && array.shape[2] > 0;
    if (!fits) {
        const bool other_count = array.shape.size() == 3 && array.shape[0] != rows;
        throw shape_error(where + " has shape " + shape_text(array.shape) + ", expected (" +
                          (rows > 0 ? std::to_string(rows) : std::string("samples > 0")) +
                          ", steps > 0, features > 0)" +
                          (other_count ? " (the sample count differs from 'text')" : ""));
    }
    return array;
}

/// `<modality>_lengths` when present: one integer per sample in [0, time steps], returned
/// (empty when absent).
inline std::vector<std::size_t> read_lengths(const io::state_dict& arrays,
                                             std::string_view modality,
                                             const io::stored_tensor& values,
                                             std::string_view source) {
    const std::string name = std::string(modality) + "_lengths";
    if (!arrays.contains(name)) {
        return {};
    }
    const std::string where =
        "inputs " + quoted_path(std::string(source)) + ": array '" + name + "'";
    const auto& stored = arrays.at(name);
    const std::size_t samples = values.shape[0];
    const std::size_t steps = values.shape[1];
    if (stored.shape.size() != 1 || stored.shape[0] != samples) {
        throw shape_error(where + " has shape " + shape_text(stored.shape) + ", expected (" +
                          std::to_string(samples) + ",) (one length per sample of '" +
                          std::string(modality) + "')");
    }
    const auto lengths = io::to_xtensor<std::int64_t, 1>(stored, name, source);
    for (std::size_t index = 0; index < samples; ++index) {
        if (lengths(index) < 0 || static_cast<std::uint64_t>(lengths(index)) > steps) {
            throw value_error(where + " holds " + std::to_string(lengths(index)) + " at index " +
                              std::to_string(index) + ", outside [0, " + std::to_string(steps) +
                              "] ('" + std::string(modality) + "' has shape " +
                              shape_text(values.shape) + ")");
        }
    }
    return {lengths.begin(), lengths.end()};
}

/// Where the inputs' feature widths differ from the configuration's feature_dims, a note
/// naming each such array with its shape and the configured one; empty otherwise (text_bert,
/// whose last extent is the token count, is not compared).
inline std::string width_note(const models::mmsa_config& config,
                              const models::mmsa_batch<float>& raw) {
    const auto configured = config.feature_dims();
    const std::array<const xt::xtensor<float, 3>*, 3> arrays{&raw.text, &raw.audio, &raw.vision};
    const std::array<const char*, 3> names{"text", "audio", "vision"};
    std::string note;
    for (std::size_t m = config.flag_or_false("use_bert") ? 1 : 0; m < 3; ++m) {
        const auto& shape = arrays[m]->shape();
        if (shape[2] != configured[m]) {
            note += std::string(note.empty() ? "" : "; ") + "array '" + names[m] + "' has shape " +
                    shape_text(std::array{shape[0], shape[1], shape[2]}) +
                    ", the configuration's feature_dims give (" + std::to_string(shape[0]) +
                    ", any, " + std::to_string(configured[m]) + ")";
        }
    }
    return note;
}

/// Runs every batch: MMSA's data-loader steps and AMIO's alignment on the batch's raw rows
/// (each step acts per sample, so the batch size cannot change a result), then the forward,
/// split over the library's threads in fixed runs of rows (models::parallel_forward: the same
/// bytes at any thread count).
/// The model is loaded once, from the configuration as the first batch's preparation leaves
/// it (MMSA's loader sets feature_dims and seq_lens from the arrays, AMIO sets seq_lens after
/// its alignment).
inline prediction run_batches(const models::mmsa_config& configured, const io::state_dict& weights,
                              const models::mmsa_batch<float>& raw, std::size_t batch_size,
                              std::string_view tool) {
    // MMDataset.__init_mosi: feature_dims[i] = the array's width; with use_bert, text is
    // text_bert and MMSA sets 768 (bert-base's width): the configuration's value is kept, and
    // the model checks it against its BERT.
    models::mmsa_config config = configured;
    const std::size_t text_width =
        config.flag_or_false("use_bert") ? config.feature_dims()[0] : raw.text.shape(2);
    config.set("feature_dims", {text_width, raw.audio.shape(2), raw.vision.shape(2)});
    const std::size_t samples = raw.text.shape(0);
    prediction result;
    result.samples = samples;
    progress_line progress(tool, samples);
    std::optional<models::mmsa_model<float>> model;
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t begin = 0; begin < samples; begin += batch_size) {
        const std::size_t end = std::min(samples, begin + batch_size);
        models::mmsa_config batch_config = config;
        const auto prepared =
            models::prepare_mmsa_inputs(batch_config, models::mmsa_batch_rows(raw, begin, end));
        if (!model) {
            try {
                model.emplace(models::load_mmsa_model<float>(batch_config, weights));
            } catch (const std::exception& error) {
                // A checkpoint trained on other feature widths than the inputs': say which.
                const std::string note = width_note(configured, raw);
                if (note.empty()) {
                    throw;
                }
                throw shape_error(note +
                                  "; the model built for the inputs' widths (as MMSA's "
                                  "data loader builds it) does not fit the checkpoint: " +
                                  error.what());
            }
            result.model = std::string(model->name());
            for (const auto name : model->output_names()) {
                result.outputs.push_back({std::string(name), xt::xtensor<float, 2>::from_shape(
                                                                 {samples, model->output_dim()})});
            }
        }
        const auto outputs = models::parallel_forward(*model, prepared);
        for (auto& output : result.outputs) {
            const auto found = outputs.find(output.name);
            if (found == outputs.end() || found->second.shape(0) != end - begin ||
                found->second.shape(1) != model->output_dim()) {
                throw value_error("model '" + result.model + "' returned no output '" +
                                  output.name + "' of shape (" + std::to_string(end - begin) +
                                  ", " + std::to_string(model->output_dim()) + ")");
            }
            std::copy_n(found->second.data(), found->second.size(),
                        output.values.data() + begin * model->output_dim());
        }
        ++result.batches;
        progress.advance(end - begin);
    }
    result.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
}

} // namespace detail

/// Loads the configuration (MMSA's file or a flat merged JSON), the checkpoint (any format
/// io::load_state_dict reads) and the inputs (.npz with MMSA's array names, or with
/// `request.split` that split of MMSA's .pkl, whose keys are the same names), checks them
/// against each other and predicts every sample, `request.batch` samples at a time. Arrays
/// stored as float64 are rounded to float32 first, as MMSA's loader does (`astype(np.float32)`
/// in MMDataset.__init_mosi), and the feature widths come from the arrays, as there too.
inline prediction predict(const predict_request& request, std::string_view tool) {
    if (request.batch == 0) {
        throw usage_error("--batch: expected at least 1 sample per batch");
    }
    const auto config =
        models::mmsa_config::load(request.config, request.model, request.dataset, request.mode);
    const auto weights = io::load_state_dict(request.weights);
    const bool pickled = !request.split.empty();
    const auto arrays = pickled ? io::load_pkl_split(request.inputs, request.split).arrays
                                : io::load_npz(request.inputs);
    const std::string source =
        request.inputs.string() + (pickled ? ":" + request.split : std::string());
    // MMDataset.__init_mosi reads text_bert instead of text for the models with use_bert.
    const bool use_bert = config.flag_or_false("use_bert");
    const std::string text_name = use_bert ? "text_bert" : "text";
    xt::xtensor<float, 3> text_values;
    if (!request.text_lines.empty()) {
        if (!use_bert) {
            throw usage_error("--text: model '" + request.model +
                              "' reads text features, not BERT tokens (use_bert is not set in "
                              "its configuration); give them in --inputs");
        }
        language::bert_tokenizer_options tokenizer_options;
        tokenizer_options.do_lower_case = !request.cased;
        const auto tokenizer =
            language::bert_tokenizer::from_file(request.vocab, std::move(tokenizer_options));
        text_values =
            language::mmsa_text_bert_from_file(tokenizer, request.text_lines, request.text_length);
        const std::size_t rows =
            detail::feature_array(arrays, "audio", std::nullopt, source).shape[0];
        if (text_values.shape(0) != rows) {
            throw value_error("--text " + request.text_lines.string() + ": " +
                              std::to_string(text_values.shape(0)) + " transcripts, but " + source +
                              " holds " + std::to_string(rows) + " samples (one line per sample)");
        }
    } else {
        text_values = io::to_xtensor<float, 3>(
            detail::feature_array(arrays, text_name, std::nullopt, source), text_name, source);
    }
    const std::size_t samples = text_values.shape(0);
    const auto& audio = detail::feature_array(arrays, "audio", samples, source);
    const auto& vision = detail::feature_array(arrays, "vision", samples, source);
    models::mmsa_batch<float> raw{std::move(text_values),
                                  io::to_xtensor<float, 3>(audio, "audio", source),
                                  io::to_xtensor<float, 3>(vision, "vision", source),
                                  detail::read_lengths(arrays, "audio", audio, source),
                                  detail::read_lengths(arrays, "vision", vision, source)};
    if (request.shards > 1) {
        const index_range rows = shard_range(samples, request.shard, request.shards);
        raw = models::mmsa_batch_rows(raw, rows.begin, rows.end);
    }
    return detail::run_batches(config, weights, raw, request.batch, tool);
}

/// Writes every output of `result` to `path` as float32 arrays (one .npz, atomically).
inline void write_prediction(const std::filesystem::path& path, const prediction& result,
                             std::string_view tool) {
    std::error_code code;
    const bool existed = std::filesystem::exists(path, code);
    std::vector<npz_member> members;
    for (const auto& output : result.outputs) {
        members.push_back({output.name, io::to_stored(output.values)});
    }
    save_npz(path, members, std::string(tool) + ": --out");
    if (existed) {
        notice_replacing(tool, path);
    }
}

/// "mosi", "mosei" or "sims": the suite's dataset; usage_error naming the choices otherwise.
inline metrics::sentiment_dataset parse_suite(std::string_view name) {
    for (const auto dataset : {metrics::sentiment_dataset::mosi, metrics::sentiment_dataset::mosei,
                               metrics::sentiment_dataset::sims}) {
        if (metrics::to_string(dataset) == name) {
            return dataset;
        }
    }
    throw usage_error("--suite: unknown suite " + quoted(name) + " (mosi, mosei, sims)");
}

/// The sentiment suite (MMSA's MetricsTop definitions) on M against `truth` (.npy, one value
/// per sample: shape (N,) or (N, 1)), both in float32 as MMSA's metrics see them.
inline metrics::suite_result evaluate(const prediction& result,
                                      const std::filesystem::path& truth_file,
                                      metrics::sentiment_dataset dataset) {
    const auto& predicted = result.outputs.front().values;
    if (predicted.shape(1) != 1) {
        throw usage_error("--eval scores one sentiment value per sample: M has " +
                          std::to_string(predicted.shape(1)) +
                          " columns (classification logits); use --mode regression");
    }
    const auto stored = io::load_npy_file(truth_file);
    const std::string name = truth_file.filename().string();
    const bool column = stored.shape.size() == 2 && stored.shape[1] == 1;
    if (!(stored.shape.size() == 1 || column) || stored.shape[0] != result.samples) {
        throw shape_error("--eval " + quoted_path(truth_file) + ": array '" + name +
                          "' has shape " + detail::shape_text(stored.shape) + ", expected (" +
                          std::to_string(result.samples) + ",) or (" +
                          std::to_string(result.samples) + ", 1) (one truth per sample of M, " +
                          "shape " + detail::shape_text(predicted.shape()) + ")");
    }
    const xt::xtensor<float, 1> truth =
        column ? xt::xtensor<float, 1>(
                     xt::flatten(io::to_xtensor<float, 2>(stored, name, truth_file.string())))
               : io::to_xtensor<float, 1>(stored, name, truth_file.string());
    metrics::sentiment_suite suite(dataset, metrics::sentiment_preset::mmsa);
    suite.update(std::span<const float>(truth.data(), truth.size()),
                 std::span<const float>(predicted.data(), predicted.size()));
    return suite.compute();
}

/// The suite as "key  value" lines (each value in the shortest form that reads back to the
/// same double) after a "suite S, preset P, n = N" line, each prefixed by `indent`; warnings
/// last.
inline void print_suite(const metrics::suite_result& suite, std::string_view indent = "") {
    std::size_t width = 0;
    for (const auto& metric : suite.metrics) {
        width = std::max(width, metric.key.size());
    }
    const int pad = static_cast<int>(indent.size());
    std::printf("%.*ssuite %s, preset %s, n = %.0f\n", pad, indent.data(), suite.suite.c_str(),
                suite.preset.c_str(), suite.count);
    for (const auto& metric : suite.metrics) {
        std::array<char, 32> value{};
        const auto written =
            std::to_chars(value.data(), value.data() + value.size() - 1, metric.value);
        *written.ptr = '\0';
        std::printf("%.*s%*s  %s\n", pad, indent.data(), static_cast<int>(width),
                    metric.key.c_str(), value.data());
    }
    for (const auto& warning : suite.warnings) {
        std::printf("%.*swarning: %s\n", pad, indent.data(), warning.c_str());
    }
}

} // namespace emofuse::cli::mmsa
