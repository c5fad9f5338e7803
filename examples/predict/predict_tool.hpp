// examples/predict/predict_tool.hpp — the command line emofuse-predict and
// emofuse-mpi-predict share.
#pragma once

#include "common/cli.hpp"
#include "common/mmsa_predict.hpp"

#include <emofuse/models/parallel_forward.hpp>
#include <emofuse/platform/parallel.hpp>
#include <emofuse/text/mmsa_text.hpp>

#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace emofuse::cli::predict_tool {

namespace mmsa = emofuse::cli::mmsa;

constexpr std::size_t max_batch = 1 << 20;
/// Upper end of --text-length: BERT's position table is 512 long.
constexpr std::size_t max_text_length = 512;

/// emofuse-predict's flags.
struct options {
    mmsa::predict_request request;
    std::filesystem::path out;
    std::filesystem::path truth;
    std::string suite;
    unsigned threads = 0; ///< 0: the library's default (EMOFUSE_NUM_THREADS, else every core)
    bool help = false;
};

/// emofuse-predict's usage text, on stdout.
inline void print_usage() {
    std::string models;
    for (const auto name : emofuse::models::mmsa_model_names()) {
        models += (models.empty() ? "" : ", ") + std::string(name);
    }
    std::printf(
        "usage: emofuse-predict --model NAME --dataset NAME --config CONFIG.json\n"
        "                       --weights FILE --inputs IN.npz|IN.pkl [--split NAME]\n"
        "                       --out OUT.npz\n"
        "                       [--mode regression|classification] [--batch N] [--threads N]\n"
        "                       [--eval TRUTH.npy --suite mosi|mosei|sims]\n"
        "                       [--text LINES.txt --vocab vocab.txt [--text-length N] [--cased]]\n"
        "Runs a model trained with MMSA (github.com/thuiar/MMSA) from its checkpoint and writes\n"
        "its outputs: M (samples, 1) in regression or (samples, num_classes) logits in\n"
        "classification, and T, A, V for the multi-task models, as float32 arrays.\n"
        "  --model NAME      MMSA's model key (%s)\n"
        "  --dataset NAME    the dataset entry of the configuration (mosi, mosei, sims, ...)\n"
        "  --config FILE     MMSA's config_regression.json (merged as MMSA does) or a flat JSON\n"
        "                    of the merged arguments\n"
        "  --weights FILE    the checkpoint MMSA saved (torch.save(model.state_dict()): .pth),\n"
        "                    or the same tensors as .safetensors/.npz; names under 'Model.'\n"
        "                    ('module.Model.' from nn.DataParallel is accepted)\n"
        "  --inputs IN.npz   the feature file's arrays: text, audio, vision (samples, steps,\n"
        "                    features; float32 or float64, padded), optionally audio_lengths\n"
        "                    and vision_lengths; MMSA's data-loader steps are applied\n"
        "  --inputs IN.pkl   MMSA's own feature file (aligned_50.pkl, ...), read without\n"
        "                    executing it, with --split: the same arrays from that split\n"
        "  --split NAME      the split of IN.pkl to run (train, valid, test)\n"
        "  --text LINES.txt  BERT-era models: one transcript per line (UTF-8), tokenized with\n"
        "                    --vocab as Hugging Face's BertTokenizer does, replaces text_bert\n"
        "  --vocab FILE      the BERT checkpoint's vocab.txt (with --text)\n"
        "  --text-length N   tokens per transcript, [CLS] and [SEP] included, 3-512 (default\n"
        "                    50, as MMSA's feature files)\n"
        "  --cased           a cased vocabulary: no lower-casing or accent stripping\n"
        "  --out OUT.npz     written when complete (no partial file on an error or a signal)\n"
        "  --mode MODE       MMSA's train_mode the checkpoint was trained in (default\n"
        "                    regression)\n"
        "  --batch N         samples per forward, 1-%zu (default 32)\n"
        "  --threads N       run each batch's forward on N threads, 1-%u, in runs of %zu\n"
        "                    samples (default: EMOFUSE_NUM_THREADS, else every core); the\n"
        "                    outputs are the same bytes whatever N is\n"
        "  --eval TRUTH.npy  also print the sentiment suite (MMSA's definitions) of M against\n"
        "                    one truth per sample (regression only), with --suite\n"
        "Exit status: 0 success, 1 bad input or failed run, 2 bad command line.\n",
        models.empty() ? "none in this build" : models.c_str(), max_batch,
        emofuse::detail::max_threads, emofuse::models::parallel_forward_rows);
}

/// The flags of emofuse-predict (usage_error for a bad command line).
inline options parse(int argc, char** argv) {
    options opts;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            opts.help = true;
            return opts;
        }
        const bool takes_value = arg == "--model" || arg == "--dataset" || arg == "--config" ||
                                 arg == "--weights" || arg == "--inputs" || arg == "--out" ||
                                 arg == "--mode" || arg == "--batch" || arg == "--eval" ||
                                 arg == "--suite" || arg == "--split" || arg == "--text" ||
                                 arg == "--vocab" || arg == "--text-length" || arg == "--threads";
        if (arg == "--cased") {
            opts.request.cased = true;
            continue;
        }
        if (!takes_value) {
            throw emofuse::cli::usage_error("unknown option " + emofuse::cli::quoted(arg));
        }
        if (i + 1 >= argc) {
            throw emofuse::cli::usage_error(std::string(arg) + ": missing value");
        }
        const std::string_view value = argv[++i];
        if (value.empty()) {
            throw emofuse::cli::usage_error(std::string(arg) + ": empty value");
        }
        auto& request = opts.request;
        if (arg == "--model") {
            request.model = value;
        } else if (arg == "--dataset") {
            request.dataset = value;
        } else if (arg == "--config") {
            request.config = value;
        } else if (arg == "--weights") {
            request.weights = value;
        } else if (arg == "--inputs") {
            request.inputs = value;
        } else if (arg == "--out") {
            opts.out = value;
        } else if (arg == "--mode") {
            if (value != "regression" && value != "classification") {
                throw emofuse::cli::usage_error(
                    "--mode: expected regression or classification, got " +
                    emofuse::cli::quoted(value));
            }
            request.mode = value == "regression" ? emofuse::models::train_mode::regression
                                                 : emofuse::models::train_mode::classification;
        } else if (arg == "--batch") {
            request.batch = emofuse::cli::parse_integer<std::size_t>(arg, value, 1, max_batch);
        } else if (arg == "--threads") {
            opts.threads =
                emofuse::cli::parse_integer<unsigned>(arg, value, 1, emofuse::detail::max_threads);
        } else if (arg == "--split") {
            request.split = value;
        } else if (arg == "--text") {
            request.text_lines = value;
        } else if (arg == "--vocab") {
            request.vocab = value;
        } else if (arg == "--text-length") {
            request.text_length =
                emofuse::cli::parse_integer<std::size_t>(arg, value, 3, max_text_length);
        } else if (arg == "--eval") {
            opts.truth = value;
        } else {
            mmsa::parse_suite(value);
            opts.suite = value;
        }
    }
    for (const auto& [flag, given] : {std::pair{"--model", !opts.request.model.empty()},
                                      std::pair{"--dataset", !opts.request.dataset.empty()},
                                      std::pair{"--config", !opts.request.config.empty()},
                                      std::pair{"--weights", !opts.request.weights.empty()},
                                      std::pair{"--inputs", !opts.request.inputs.empty()},
                                      std::pair{"--out", !opts.out.empty()}}) {
        if (!given) {
            throw emofuse::cli::usage_error(std::string(flag) + " is required");
        }
    }
    if (opts.request.split.empty() && opts.request.inputs.extension() == ".pkl") {
        throw emofuse::cli::usage_error("--inputs " +
                                        emofuse::cli::quoted_path(opts.request.inputs) +
                                        " is a pickle: name the split to run with --split (train, "
                                        "valid or test)");
    }
    if (opts.request.text_lines.empty() != opts.request.vocab.empty()) {
        throw emofuse::cli::usage_error("--text LINES.txt and --vocab vocab.txt go together");
    }
    if (opts.request.text_lines.empty() &&
        (opts.request.cased || opts.request.text_length != emofuse::language::mmsa_text_length)) {
        throw emofuse::cli::usage_error("--cased and --text-length apply to --text only");
    }
    if (opts.truth.empty() != opts.suite.empty()) {
        throw emofuse::cli::usage_error("--eval TRUTH.npy and --suite NAME go together");
    }
    if (!opts.truth.empty() && opts.request.mode == emofuse::models::train_mode::classification) {
        throw emofuse::cli::usage_error(
            "--eval scores sentiment regression: it needs --mode regression");
    }
    return opts;
}

/// The end of a run with its outputs in `result`: scores M when --eval asks (before writing,
/// so a bad truth file leaves no output behind), writes OUT.npz, prints the stderr summary
/// `summary(names)` (the output names, comma-separated), then the suite on stdout.
template <class Summary>
void deliver(std::string_view tool, const options& opts, const mmsa::prediction& result,
             Summary&& summary) {
    std::optional<metrics::suite_result> suite;
    if (!opts.truth.empty()) {
        suite = mmsa::evaluate(result, opts.truth, mmsa::parse_suite(opts.suite));
    }
    mmsa::write_prediction(opts.out, result, tool);
    std::string names;
    for (const auto& output : result.outputs) {
        names += (names.empty() ? "" : ", ") + output.name;
    }
    summary(names);
    if (suite) {
        mmsa::print_suite(*suite);
    }
    std::fflush(stdout);
    if (std::ferror(stdout) != 0) {
        throw io_error("writing the results to stdout failed");
    }
}

} // namespace emofuse::cli::predict_tool
