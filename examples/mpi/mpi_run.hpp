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
#include <filesystem>
#include <iostream>
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

/// A part file this rank owns: registered for removal on a signal from the start, removed
/// when the run ends (after rank 0 has joined it, or after a failure).
class owned_part {
public:
    explicit owned_part(std::filesystem::path path) : path_(std::move(path)), cleanup_(path_) {}
    owned_part(const owned_part&) = delete;
    owned_part& operator=(const owned_part&) = delete;
    ~owned_part() {
        std::error_code ignored;
        std::filesystem::remove(path_, ignored);
    }
    [[nodiscard]] const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
    io::detail::cleanup_entry cleanup_;
};

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
        std::cerr << tool << ": error: rank" << (failed.find(',') == std::string::npos ? " " : "s ")
                  << failed << " of " << w.size << " failed (see above); nothing was written\n";
    }
    return result;
}

/// After rank 0's join: every rank learns its exit status.
inline int share_join_status(int status) {
    MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);
    return status;
}

} // namespace emofuse::cli::mpi
