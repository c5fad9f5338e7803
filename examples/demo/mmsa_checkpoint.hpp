// examples/demo/mmsa_checkpoint.hpp — the demo's last section: a checkpoint that MMSA's own
// LF_DNN code trained and saved (examples/data/zoo, made by tests/models/generate_fixtures.py
// --demo), run through emofuse-predict's code path on held-out samples and scored.
#pragma once

#include "common/mmsa_predict.hpp"

#include <emofuse/core/error.hpp>
#include <emofuse/io/npz.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>

namespace demo {

/// The committed sample's files in `directory`.
struct zoo_sample {
    std::filesystem::path directory;
    [[nodiscard]] std::filesystem::path config() const {
        return directory / "lf_dnn_mosi.config.json";
    }
    [[nodiscard]] std::filesystem::path weights() const { return directory / "lf_dnn_mosi.pth"; }
    [[nodiscard]] std::filesystem::path inputs() const { return directory / "heldout.inputs.npz"; }
    [[nodiscard]] std::filesystem::path truth() const { return directory / "heldout.truth.npy"; }
    [[nodiscard]] std::filesystem::path expected() const {
        return directory / "heldout.expected.npz";
    }
};

/// Where the sample is: `chosen` when given, else the source tree's examples/data/zoo (a build
/// tree's demo), else <prefix>/share/emofuse/zoo beside an installed demo.
inline zoo_sample find_zoo_sample(const std::string& chosen, const char* source_directory) {
    if (!chosen.empty()) {
        return {chosen};
    }
    std::error_code code;
    if (std::filesystem::is_directory(source_directory, code)) {
        return {source_directory};
    }
    const auto executable = std::filesystem::read_symlink("/proc/self/exe", code);
    if (!code) {
        const auto installed = executable.parent_path().parent_path() / "share/emofuse/zoo";
        if (std::filesystem::is_directory(installed, code)) {
            return {installed};
        }
    }
    return {source_directory};
}

/// Runs the sample through emofuse-predict's path, compares with MMSA's own forward on the
/// same inputs, prints the MOSI suite and the equivalent command line.
inline void run_mmsa_checkpoint(const zoo_sample& sample) {
    namespace mmsa = emofuse::cli::mmsa;
    mmsa::predict_request request;
    request.model = "lf_dnn";
    request.dataset = "mosi";
    request.config = sample.config();
    request.weights = sample.weights();
    request.inputs = sample.inputs();
    const auto result = mmsa::predict(request, "emofuse-demo");
    std::printf(
        "\nMMSA checkpoint: MMSA's LF_DNN class (its 'mosi' configuration entry), trained\n"
        "  by MMSA's own code on a synthetic feature set and saved as MMSA's trainer saves\n"
        "  it, run by emofuse-predict's code path on %zu held-out samples: data-loader\n"
        "  steps + forward in %.2f ms\n",
        result.samples, 1e3 * result.seconds);
    // MMSA's own forward on the same inputs, recorded when the sample was made.
    const auto expected =
        emofuse::io::load_npz(sample.expected()).tensor<float, 2>("M", {result.samples, 1});
    const auto& predicted = result.outputs.front().values;
    double largest = 0;
    for (std::size_t i = 0; i < predicted.size(); ++i) {
        largest = std::max(largest, std::abs(static_cast<double>(predicted.data()[i]) -
                                             static_cast<double>(expected.data()[i])));
    }
    std::printf("  largest |emofuse - MMSA's PyTorch forward| over M: %.2g\n", largest);
    const auto suite =
        mmsa::evaluate(result, sample.truth(), emofuse::metrics::sentiment_dataset::mosi);
    mmsa::print_suite(suite, "  ");
    std::printf("  the same with the command-line tool:\n"
                "  emofuse-predict --model lf_dnn --dataset mosi --config %s --weights %s "
                "--inputs %s --out predictions.npz --eval %s --suite mosi\n",
                sample.config().c_str(), sample.weights().c_str(), sample.inputs().c_str(),
                sample.truth().c_str());
}

} // namespace demo
