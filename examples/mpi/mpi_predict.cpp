// emofuse-mpi-predict — emofuse-predict over MPI ranks: rank r of R runs the samples
// [⌊r·N/R⌋, ⌊(r+1)·N/R⌋) of the inputs and writes their outputs as its part (an .npz next to
// OUT.npz); rank 0 stacks the parts in rank order, scores them (--eval) and writes OUT.npz
// as emofuse-predict does: a sample's outputs do not depend on the other samples of its
// batch, so the file holds the same bytes.
//
// Run: mpirun -n R emofuse-mpi-predict FLAGS (those of emofuse-predict)
#include "common/cli.hpp"
#include "common/mmsa_predict.hpp"
#include "common/npz_output.hpp"
#include "mpi/mpi_run.hpp"
#include "predict/predict_tool.hpp"

#include <emofuse/core/error.hpp>
#include <emofuse/io/convert.hpp>
#include <emofuse/io/npz.hpp>

#include <mpi.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace cli = emofuse::cli;
namespace mpi = emofuse::cli::mpi;
namespace mmsa = emofuse::cli::mmsa;
namespace predict_tool = emofuse::cli::predict_tool;

constexpr std::string_view tool = "emofuse-mpi-predict";

constexpr std::string_view usage_preamble =
    "usage: mpirun -n R emofuse-mpi-predict FLAGS (those of emofuse-predict, below)\n"
    "emofuse-predict over R MPI ranks: rank r runs the samples [r*N/R, (r+1)*N/R) and writes\n"
    "their outputs as a part file next to OUT.npz (a folder every rank must see); rank 0\n"
    "stacks the parts, scores them (--eval) and writes OUT.npz: the same bytes as\n"
    "emofuse-predict. A failing rank prints its error and the run writes nothing; every rank\n"
    "exits non-zero then.\n\n";

// Part members are named "<index>.<output>": the .npz reader lists names sorted, and the
// index keeps the model's output order (M first).
std::string part_member_name(std::size_t index, const std::string& output) {
    return std::to_string(index) + "." + output;
}

void write_part(const std::filesystem::path& path, const mmsa::prediction& result) {
    std::vector<cli::npz_member> members;
    for (std::size_t index = 0; index < result.outputs.size(); ++index) {
        members.push_back({part_member_name(index, result.outputs[index].name),
                           emofuse::io::to_stored(result.outputs[index].values)});
    }
    cli::save_npz(path, members, std::string(tool) + ": part");
}

/// The parts of all ranks stacked in rank order: the whole run's outputs.
mmsa::prediction join_parts(const std::filesystem::path& out, const mpi::world& w) {
    mmsa::prediction joined;
    std::vector<std::vector<float>> values;
    std::vector<std::size_t> widths;
    for (int r = 0; r < w.size; ++r) {
        const std::filesystem::path path = mpi::part_path(out, {r, w.size});
        const auto arrays = emofuse::io::load_npz(path);
        const auto names = arrays.names();
        if (names.empty()) {
            continue; // a rank with no samples (fewer samples than ranks)
        }
        const bool first = joined.outputs.empty();
        if (!first && names.size() != joined.outputs.size()) {
            throw emofuse::io_error("part " + cli::quoted_path(path) + " holds " +
                                    std::to_string(names.size()) + " outputs, rank 0's " +
                                    std::to_string(joined.outputs.size()));
        }
        std::size_t rows = 0;
        for (std::size_t index = 0; index < names.size(); ++index) {
            const auto& stored = arrays.at(names[index]);
            const std::string expected_prefix = std::to_string(index) + ".";
            if (!names[index].starts_with(expected_prefix) || stored.shape.size() != 2) {
                throw emofuse::io_error("part " + cli::quoted_path(path) + ": unexpected array " +
                                        cli::quoted(names[index]));
            }
            const std::string name = names[index].substr(expected_prefix.size());
            const auto output = emofuse::io::to_xtensor<float, 2>(stored, name, path.string());
            if (first) {
                joined.outputs.push_back({name, {}});
                widths.push_back(output.shape(1));
                values.emplace_back();
            } else if (joined.outputs[index].name != name || widths[index] != output.shape(1)) {
                throw emofuse::io_error("part " + cli::quoted_path(path) + ": output " +
                                        cli::quoted(name) + " does not match the other parts'");
            }
            values[index].insert(values[index].end(), output.begin(), output.end());
            rows = output.shape(0);
        }
        joined.samples += rows;
    }
    for (std::size_t index = 0; index < joined.outputs.size(); ++index) {
        auto& stacked = joined.outputs[index].values;
        stacked = xt::xtensor<float, 2>::from_shape({joined.samples, widths[index]});
        std::copy(values[index].begin(), values[index].end(), stacked.begin());
    }
    return joined;
}

int run(int argc, char** argv, const mpi::world& w) {
    predict_tool::options opts;
    int status = mpi::parse_on_every_rank(
        tool, w, opts, [&] { return predict_tool::parse(argc, argv); },
        [] {
            std::fputs(std::string(usage_preamble).c_str(), stdout);
            predict_tool::print_usage();
        });
    if (status != 0 || opts.help) {
        return status;
    }
    if (opts.threads != 0) {
        emofuse::set_num_threads(opts.threads); // threads within each rank
    }
    const auto directory =
        opts.out.parent_path().empty() ? std::filesystem::path(".") : opts.out.parent_path();
    // Only rank 0 sweeps what dead runs left (a rank on another machine cannot tell whether
    // a process id in a file name is alive), and before any rank writes its part.
    if (w.rank == 0) {
        cli::sweep_stale_outputs(tool, directory);
    }
    MPI_Barrier(MPI_COMM_WORLD);

    std::optional<mpi::owned_part> part;
    std::size_t samples = 0;
    status = mpi::run_rank(tool, w, [&] {
        mmsa::predict_request request = opts.request;
        request.shard = static_cast<std::size_t>(w.rank);
        request.shards = static_cast<std::size_t>(w.size);
        const auto result = mmsa::predict(request, tool);
        samples = result.samples;
        part.emplace(mpi::part_path(opts.out, w));
        write_part(part->path(), result);
        part->written();
        return 0;
    });
    const mpi::agreement agreed = mpi::agree(tool, w, status, samples);
    if (agreed.worst_status != 0) {
        return status != 0 ? status : 1;
    }

    if (w.rank == 0) {
        status = cli::run_tool(tool, [&] {
            const auto result = join_parts(opts.out, w);
            predict_tool::deliver(tool, opts, result, [&](const std::string& names) {
                std::fprintf(stderr, "%.*s: %zu samples on %d ranks: wrote %s to %s\n",
                             static_cast<int>(tool.size()), tool.data(), result.samples, w.size,
                             names.c_str(), cli::quoted_path(opts.out).c_str());
            });
            return 0;
        });
    }
    return mpi::share_join_status(status);
}

} // namespace

int main(int argc, char** argv) {
    return mpi::run_on_ranks(argc, argv, [&](const mpi::world& w) { return run(argc, argv, w); });
}
