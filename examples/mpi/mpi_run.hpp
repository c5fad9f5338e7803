// examples/mpi/mpi_run.hpp — the run protocol emofuse-mpi-align and emofuse-mpi-predict
// share: every rank does its shard and writes its part, all ranks agree on who failed (one
// collective, so a failed rank never leaves the others blocked), rank 0 joins the parts, and
// every rank removes its own part whatever happened.
#pragma once

#include "common/cli.hpp"

#include <emofuse/io/detail/temporary_files.hpp>

#include <mpi.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace emofuse::cli::mpi {

/// This process's place in MPI_COMM_WORLD.
struct world {
    int rank = 0;
    int size = 1;

    static world current() {
        world w;
        MPI_Comm_rank(MPI_COMM_WORLD, &w.rank);
        MPI_Comm_size(MPI_COMM_WORLD, &w.size);
        return w;
    }
    /// "TOOL: rank R of N", the prefix of this rank's error lines.
    [[nodiscard]] std::string label(std::string_view tool) const {
        return std::string(tool) + ": rank " + std::to_string(rank) + " of " + std::to_string(size);
    }
};

/// Where rank `w.rank` keeps its part of the output `target`: a hidden sibling named after
/// the target, the rank and the rank count.
inline std::filesystem::path part_path(const std::filesystem::path& target, const world& w) {
    return target.parent_path() / ("." + target.filename().string() + ".part-" +
                                   std::to_string(w.rank) + "-of-" + std::to_string(w.size));
}

/// A part file this rank writes: registered for removal on a signal from the start, and
/// removed when the run ends (after rank 0 has joined it, or after a failure) once written()
/// says this rank put it there — a failed rank leaves alone whatever held the name.
class owned_part {
public:
    explicit owned_part(std::filesystem::path path) : path_(std::move(path)), cleanup_(path_) {}
    owned_part(const owned_part&) = delete;
    owned_part& operator=(const owned_part&) = delete;
    ~owned_part() {
        if (written_) {
            std::error_code ignored;
            std::filesystem::remove(path_, ignored);
        }
    }
    [[nodiscard]] const std::filesystem::path& path() const { return path_; }
    void written() noexcept { written_ = true; }

private:
    std::filesystem::path path_;
    io::detail::cleanup_entry cleanup_;
    bool written_ = false;
};

/// Writes `text` to stderr in one piece: mpirun forwards each rank's stderr as it comes, so
/// lines written in several pieces by two ranks at once could interleave.
inline void write_stderr_whole(const std::string& text) {
    std::cerr.flush();
    std::fwrite(text.data(), 1, text.size(), stderr);
    std::fflush(stderr);
}

/// run_tool for this rank's share of the work: the same exit status and error line, prefixed
/// "TOOL: rank R of N", and written in one piece.
template <class Body>
int run_rank(std::string_view tool, const world& w, Body&& body) {
    std::ostringstream messages;
    std::streambuf* const console = std::cerr.rdbuf(messages.rdbuf());
    const int status = run_tool(w.label(tool), std::forward<Body>(body));
    std::cerr.rdbuf(console);
    write_stderr_whole(messages.str());
    return status;
}

/// What the ranks learnt in the agreement step.
struct agreement {
    int worst_status = 0;
    std::vector<std::uint64_t> counts; ///< each rank's item count, rank order
};

/// The agreement step after the shards: every rank gives its exit status (0: its part is
/// complete) and its item count, and learns everyone's. Rank 0 names the ranks that failed
/// (each failed rank has printed its own error) and says that nothing was written.
inline agreement agree(std::string_view tool, const world& w, int status, std::uint64_t count) {
    std::vector<int> statuses(static_cast<std::size_t>(w.size));
    MPI_Allgather(&status, 1, MPI_INT, statuses.data(), 1, MPI_INT, MPI_COMM_WORLD);
    agreement result;
    result.counts.resize(statuses.size());
    MPI_Allgather(&count, 1, MPI_UINT64_T, result.counts.data(), 1, MPI_UINT64_T, MPI_COMM_WORLD);
    std::string failed;
    for (std::size_t r = 0; r < statuses.size(); ++r) {
        if (statuses[r] != 0) {
            failed += (failed.empty() ? "" : ", ") + std::to_string(r);
            result.worst_status = std::max(result.worst_status, statuses[r]);
        }
    }
    if (w.rank == 0 && !failed.empty()) {
        write_stderr_whole(std::string(tool) + ": error: rank" +
                           (failed.find(',') == std::string::npos ? " " : "s ") + failed + " of " +
                           std::to_string(w.size) + " failed (see above); nothing was written\n");
    }
    return result;
}

/// Parses the command line on every rank (each fails the same way: rank 0 alone reports) and
/// prints the usage from rank 0 when asked; `parse()` returns the options, `print_usage()`
/// writes the usage. Returns the exit status of a bad command line, else 0.
template <class Options, class Parse, class PrintUsage>
int parse_on_every_rank(std::string_view tool, const world& w, Options& options, Parse&& parse,
                        PrintUsage&& print_usage) {
    if (w.rank != 0) {
        std::cerr.setstate(std::ios::badbit);
    }
    const int status = run_tool(tool, [&] {
        options = parse();
        if (options.help && w.rank == 0) {
            print_usage();
        }
        return 0;
    });
    std::cerr.clear();
    return status;
}

/// main() of an MPI tool: MPI around `run(world)`, whose status is the exit status.
template <class Run>
int run_on_ranks(int& argc, char**& argv, Run&& run) {
    int provided = 0;
    // Only the main thread calls MPI; the library's worker threads never do.
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    remove_outputs_on_signals();
    const int status = run(world::current());
    // Every rank has printed its messages and removed its part before any rank exits (mpirun
    // ends the whole job as soon as one rank exits non-zero).
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Finalize();
    return status;
}

/// After rank 0's join: every rank learns its exit status.
inline int share_join_status(int status) {
    MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);
    return status;
}

} // namespace emofuse::cli::mpi
