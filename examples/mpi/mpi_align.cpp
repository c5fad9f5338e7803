// emofuse-mpi-align — emofuse-align over MPI ranks: rank r of R aligns the videos
// [⌊r·N/R⌋, ⌊(r+1)·N/R⌋) of the N the whole run aligns (ids present in every input, in the
// single-process order) into its part file, and rank 0 writes the outputs from the parts in
// rank order: the same calls to the same writers as emofuse-align, so the same bytes.
//
// Run: mpirun -n R emofuse-mpi-align FLAGS (those of emofuse-align) --out DIR FILE.csd...
#include "align/align_tool.hpp"
#include "common/cli.hpp"
#include "mpi/align_part.hpp"
#include "mpi/mpi_run.hpp"

#include <emofuse/io/csd/align_files.hpp>

#include <mpi.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>

namespace {

namespace cli = emofuse::cli;
namespace mpi = emofuse::cli::mpi;
namespace align_tool = emofuse::cli::align_tool;
namespace csd = emofuse::io::csd;
namespace align = emofuse::align;

constexpr std::string_view tool = "emofuse-mpi-align";

constexpr std::string_view usage_preamble =
    "usage: mpirun -n R emofuse-mpi-align FLAGS --out DIR FILE.csd...\n"
    "\n"
    "emofuse-align over R MPI ranks, with its flags (below): rank r aligns the videos\n"
    "[r*N/R, (r+1)*N/R) of the N present in every input, in emofuse-align's order, into a part\n"
    "file in DIR (which every rank must see), and rank 0 writes the outputs from the parts:\n"
    "the same bytes as emofuse-align. A failing rank prints its error and the run writes\n"
    "nothing; every rank exits non-zero then. --threads applies to each rank.\n"
    "\n";

/// The part name of rank `w` in `out_dir`.
std::filesystem::path align_part_path(const std::filesystem::path& out_dir, const mpi::world& w) {
    return mpi::part_path(out_dir / "emofuse-mpi-align", w);
}

int run(int argc, char** argv, const mpi::world& w) {
    align_tool::arguments args;
    int status = mpi::parse_on_every_rank(
        tool, w, args, [&] { return align_tool::parse(argc, argv); },
        [] { std::cout << usage_preamble << align_tool::usage; });
    if (status != 0 || args.help) {
        return status;
    }
    align_tool::apply(args);
    // Only rank 0 sweeps what dead runs left (a rank on another machine cannot tell whether
    // a process id in a file name is alive), and before any rank writes its part.
    if (w.rank == 0) {
        cli::sweep_stale_outputs(tool, args.out_dir);
    }
    MPI_Barrier(MPI_COMM_WORLD);

    const auto start = std::chrono::steady_clock::now();
    align_tool::progress_display progress(tool);
    progress.attach(args.options, args.quiet || w.rank != 0);
    std::optional<mpi::owned_part> part;
    align::align_report shard_report;
    status = mpi::run_rank(tool, w, [&] {
        const auto opened =
            csd::open_inputs(args.inputs, args.options.align, args.options.tensors.has_value());
        std::error_code code;
        std::filesystem::create_directories(args.out_dir, code);
        align::align_options options = opened.align;
        options.shard = static_cast<std::size_t>(w.rank);
        options.shards = static_cast<std::size_t>(w.size);
        part.emplace(align_part_path(args.out_dir, w));
        mpi::align_part_writer writer(part->path(), opened.sources);
        shard_report = align::align_stream(
            opened.sources, options,
            [&](std::string_view video, align::aligned_chunk& chunk) { writer.add(video, chunk); });
        writer.finish(shard_report);
        part->written();
        return 0;
    });
    progress.end_line();
    const mpi::agreement agreed = mpi::agree(tool, w, status, shard_report.videos);
    if (agreed.worst_status != 0) {
        return status != 0 ? status : 1;
    }

    if (w.rank == 0) {
        status = cli::run_tool(tool, [&] {
            csd::align_files_options options = args.options;
            std::size_t total = 0;
            for (const auto count : agreed.counts) {
                total += static_cast<std::size_t>(count);
            }
            // The parts, in rank order, are the videos in the single-process order.
            options.videos = [&](std::span<const align::sequence_source* const> sources,
                                 const align::align_options& align_options,
                                 const align::align_sink& sink) {
                align::align_report report;
                report.removed_ids = shard_report.removed_ids; // every rank lists all of them
                report.segments.assign(sources.size(), 0);
                report.imputed.assign(sources.size(), 0);
                std::size_t done = 0;
                for (int r = 0; r < w.size; ++r) {
                    mpi::align_part_reader reader(align_part_path(args.out_dir, {r, w.size}),
                                                  sources);
                    reader.replay(
                        sink,
                        [&](std::string_view video) {
                            ++done;
                            if (align_options.progress) {
                                align_options.progress(done, total, video);
                            }
                        },
                        report);
                }
                return report;
            };
            align_tool::align_and_report(tool, args, options, progress, start);
            return 0;
        });
    }
    return mpi::share_join_status(status);
}

} // namespace

int main(int argc, char** argv) {
    return mpi::run_on_ranks(argc, argv, [&](const mpi::world& w) { return run(argc, argv, w); });
}
