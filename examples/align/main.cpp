// emofuse-align — aligns CMU computational sequences (.csd files) to a reference sequence
// with the CMU-MultimodalSDK's semantics, one video in memory at a time.
//
//   emofuse-align --reference NAME --collapse mean[,std,...] [--impute zeros]
//                 [--tensors --seq-len N --pad left|right] [--gzip LEVEL] [--quiet]
//                 --out DIR FILE.csd...
#include "align/align_tool.hpp"
#include "common/cli.hpp"

#include <chrono>
#include <iostream>
#include <string_view>

namespace {

namespace cli = emofuse::cli;
namespace align_tool = emofuse::cli::align_tool;

constexpr std::string_view tool = "emofuse-align";

int run(int argc, char** argv) {
    cli::remove_outputs_on_signals();
    align_tool::arguments args = align_tool::parse(argc, argv);
    if (args.help) {
        std::cout << align_tool::usage;
        return 0;
    }
    align_tool::apply(args);
    cli::sweep_stale_outputs(tool, args.out_dir);
    const auto start = std::chrono::steady_clock::now();
    align_tool::progress_display progress(tool);
    progress.attach(args.options, args.quiet);
    align_tool::align_and_report(tool, args, args.options, progress, start);
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    return cli::run_tool(tool, [&] { return run(argc, argv); });
}
