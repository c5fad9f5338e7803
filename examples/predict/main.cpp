// emofuse-predict — runs a model MMSA trained, from MMSA's own checkpoint and configuration,
// on the arrays of an MMSA feature file, and writes its outputs (optionally scoring M).
#include "common/cli.hpp"
#include "common/mmsa_predict.hpp"
#include "predict/predict_tool.hpp"

#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

namespace {

namespace cli = emofuse::cli;
namespace mmsa = emofuse::cli::mmsa;
using emofuse::cli::predict_tool::options;
using emofuse::cli::predict_tool::parse;
using emofuse::cli::predict_tool::print_usage;

constexpr std::string_view tool = "emofuse-predict";
int run(int argc, char** argv) {
    cli::remove_outputs_on_signals();
    const options opts = parse(argc, argv);
    if (opts.help) {
        print_usage();
        return 0;
    }
    if (opts.threads != 0) {
        emofuse::set_num_threads(opts.threads);
    }
    const auto directory =
        opts.out.parent_path().empty() ? std::filesystem::path(".") : opts.out.parent_path();
    cli::sweep_stale_outputs(tool, directory);
    const auto result = mmsa::predict(opts.request, tool);
    emofuse::cli::predict_tool::deliver(tool, opts, result, [&](const std::string& names) {
        std::fprintf(stderr, "%.*s: %s, %zu samples in %zu batch%s (%.3f s): wrote %s to %s\n",
                     static_cast<int>(tool.size()), tool.data(), result.model.c_str(),
                     result.samples, result.batches, result.batches == 1 ? "" : "es",
                     result.seconds, names.c_str(), cli::quoted_path(opts.out).c_str());
    });
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    return cli::run_tool(tool, [&] { return run(argc, argv); });
}
