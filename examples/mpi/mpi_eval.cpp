// emofuse-mpi-eval — distributed evaluation: every rank scores its shard of the samples,
// the plain-data metric states are all-reduced (counts with MPI_SUM, co-moments with a
// user-defined MPI_Op running Chan's merge), and rank 0 checks that the reduced suites equal
// a single-process pass over all samples. Exit status 0 means they agree.
//
// Run: mpirun -np 2 emofuse-mpi-eval [SAMPLES] [--threads N]
#include "common/cli.hpp"

#include <emofuse/core/shard.hpp>

#include <emofuse/metrics/classification.hpp>
#include <emofuse/metrics/confusion.hpp>
#include <emofuse/metrics/emotion.hpp>
#include <emofuse/metrics/moments.hpp>
#include <emofuse/metrics/sentiment.hpp>
#include <emofuse/platform/parallel.hpp>

#include <mpi.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <span>
#include <string_view>
#include <vector>

namespace em = emofuse::metrics;

namespace {

namespace cli = emofuse::cli;

constexpr std::string_view tool = "emofuse-mpi-eval";

// Every rank holds the whole synthetic set (24 bytes a sample): 10^7 samples is 240 MB a rank.
constexpr std::size_t max_samples = 10'000'000;
constexpr std::size_t default_samples = 100003;

constexpr std::string_view usage =
    "usage: mpirun -np K emofuse-mpi-eval [SAMPLES] [--threads N]\n"
    "\n"
    "Scores a deterministic synthetic evaluation set of SAMPLES samples (1-10000000, default\n"
    "100003) split across the K ranks, all-reduces the metric states and checks on rank 0 that\n"
    "they equal a single-process pass. Rank r scores the samples [r*N/K, (r+1)*N/K).\n"
    "  --threads N  threads per rank, 1-4096 (default: EMOFUSE_NUM_THREADS, else every core)\n"
    "Exit status: 0 they agree, 1 a mismatch or a failed run, 2 bad command line.\n";

struct arguments {
    bool help = false;
    std::size_t samples = default_samples;
    unsigned threads = 0; // 0: the library's default
};

arguments parse(int argc, char** argv) {
    arguments args;
    bool have_samples = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            args.help = true;
            return args;
        }
        if (arg == "--threads") {
            if (i + 1 >= argc) {
                throw cli::usage_error("--threads: missing value");
            }
            args.threads =
                cli::parse_integer<unsigned>(arg, argv[++i], 1, emofuse::detail::max_threads);
            continue;
        }
        if (arg.starts_with("-") && arg.size() > 1 && !(arg[1] >= '0' && arg[1] <= '9')) {
            throw cli::usage_error("unknown option " + cli::quoted(arg));
        }
        if (have_samples) {
            throw cli::usage_error("expected one SAMPLES argument, got a second one " +
                                   cli::quoted(arg));
        }
        args.samples = cli::parse_integer<std::size_t>("SAMPLES", arg, 1, max_samples);
        have_samples = true;
    }
    return args;
}

constexpr std::size_t num_classes = 7;

/// Deterministic synthetic evaluation set: MOSI-style scores and 7-class emotion labels.
struct dataset {
    std::vector<double> truth, pred;
    std::vector<int> truth_label, pred_label;
};

dataset make_dataset(std::size_t n) {
    dataset d;
    std::uint64_t state = 0x243F6A8885A308D3ULL;
    const auto next = [&] { // splitmix64
        std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    };
    for (std::size_t i = 0; i < n; ++i) {
        const double t = static_cast<double>(next() % 19) / 3.0 - 3.0;
        const double noise = static_cast<double>(next() >> 11) / 9007199254740992.0 * 3.0 - 1.5;
        d.truth.push_back(t);
        d.pred.push_back(0.8 * t + noise);
        const int label = static_cast<int>(next() % num_classes);
        d.truth_label.push_back(label);
        d.pred_label.push_back(next() % 3 == 0 ? static_cast<int>(next() % num_classes) : label);
    }
    return d;
}

/// MPI reduction operator over comoments: Chan's parallel merge.
void merge_comoments(void* in, void* inout, int* count, MPI_Datatype*) {
    const auto* a = static_cast<const em::comoments*>(in);
    auto* b = static_cast<em::comoments*>(inout);
    for (int i = 0; i < *count; ++i) {
        b[i] = em::merge(a[i], b[i]);
    }
}

bool near(double a, double b) {
    if (std::isnan(a) || std::isnan(b)) {
        return std::isnan(a) && std::isnan(b);
    }
    return std::fabs(a - b) <= 1e-12 * std::max({std::fabs(a), std::fabs(b), 1e-300});
}

// Scores this rank's shard, all-reduces and (rank 0) compares; returns 0 when they agree.
int evaluate(const dataset& data, int rank, int size) {
    const std::size_t n = data.truth.size();
    const auto [begin, end] =
        emofuse::shard_range(n, static_cast<std::size_t>(rank), static_cast<std::size_t>(size));
    const auto shard = [&](const auto& v) {
        using value_type = typename std::decay_t<decltype(v)>::value_type;
        return std::span<const value_type>(v).subspan(begin, end - begin);
    };
    em::sentiment_suite sentiment(em::sentiment_dataset::mosi);
    sentiment.update(shard(data.truth), shard(data.pred));
    em::emotion_suite emotions(em::emotion_suite_kind::classification, num_classes);
    emotions.update(shard(data.truth_label), shard(data.pred_label));

    // All-reduce the plain states: counts are summed, co-moments merged with Chan's update.
    em::sentiment_state& s = sentiment.state();
    std::array<std::uint64_t, 12> counts{};
    std::copy(s.binary_all.begin(), s.binary_all.end(), counts.begin());
    std::copy(s.binary_nonzero.begin(), s.binary_nonzero.end(), counts.begin() + 4);
    std::copy(s.exact_match.begin(), s.exact_match.end(), counts.begin() + 8);
    counts[11] = s.samples;
    MPI_Allreduce(MPI_IN_PLACE, counts.data(), static_cast<int>(counts.size()), MPI_UINT64_T,
                  MPI_SUM, MPI_COMM_WORLD);
    std::copy(counts.begin(), counts.begin() + 4, s.binary_all.begin());
    std::copy(counts.begin() + 4, counts.begin() + 8, s.binary_nonzero.begin());
    std::copy(counts.begin() + 8, counts.begin() + 11, s.exact_match.begin());
    s.samples = counts[11];

    MPI_Datatype comoments_type;
    MPI_Type_contiguous(static_cast<int>(sizeof(em::comoments) / sizeof(double)), MPI_DOUBLE,
                        &comoments_type);
    MPI_Type_commit(&comoments_type);
    MPI_Op chan_merge;
    MPI_Op_create(&merge_comoments, /*commute=*/1, &chan_merge);
    MPI_Allreduce(MPI_IN_PLACE, &s.moments, 1, comoments_type, chan_merge, MPI_COMM_WORLD);

    auto confusion = emotions.counts().state();
    MPI_Allreduce(MPI_IN_PLACE, confusion.data(), static_cast<int>(confusion.size()), MPI_UINT64_T,
                  MPI_SUM, MPI_COMM_WORLD);

    int status = 0;
    if (rank == 0) {
        em::sentiment_suite single_sentiment(em::sentiment_dataset::mosi);
        single_sentiment.update(std::span<const double>(data.truth),
                                std::span<const double>(data.pred));
        em::emotion_suite single_emotions(em::emotion_suite_kind::classification, num_classes);
        single_emotions.update(std::span<const int>(data.truth_label),
                               std::span<const int>(data.pred_label));
        const auto check = [&](const em::suite_result& reduced, const em::suite_result& single) {
            for (std::size_t k = 0; k < reduced.metrics.size(); ++k) {
                const bool same = near(reduced.metrics[k].value, single.metrics[k].value);
                std::printf("%-20s %-18s reduced %.17g  single %.17g  %s\n", reduced.suite.c_str(),
                            reduced.metrics[k].key.c_str(), reduced.metrics[k].value,
                            single.metrics[k].value, same ? "ok" : "MISMATCH");
                status |= same ? 0 : 1;
            }
        };
        std::printf("%d ranks, %zu samples\n", size, n);
        check(sentiment.compute(), single_sentiment.compute());
        check(emotions.compute(), single_emotions.compute());
        const auto exact = single_emotions.counts().state();
        for (std::size_t i = 0; i < exact.size(); ++i) {
            status |= exact[i] == confusion[i] ? 0 : 1;
        }
        std::printf(status == 0 ? "all-reduced states equal the single-process pass\n"
                                : "MISMATCH between all-reduced and single-process results\n");
    }
    MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);
    MPI_Op_free(&chan_merge);
    MPI_Type_free(&comoments_type);
    return status;
}

} // namespace

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    // Every rank parses the same arguments and fails the same way: rank 0 alone reports.
    if (rank != 0) {
        std::cout.setstate(std::ios::badbit);
        std::cerr.setstate(std::ios::badbit);
    }
    arguments args;
    dataset data;
    int status = cli::run_tool(tool, [&] {
        args = parse(argc, argv);
        if (args.help) {
            std::cout << usage;
            return 0;
        }
        if (args.threads != 0) {
            emofuse::set_num_threads(args.threads);
        }
        // Every rank regenerates the data set (deterministic) and scores its own shard.
        data = make_dataset(args.samples);
        return 0;
    });
    // A rank that failed must not leave the others waiting in a collective: all stop together.
    int worst = status;
    MPI_Allreduce(&status, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (worst == 0 && !args.help) {
        status = cli::run_tool(tool, [&] { return evaluate(data, rank, size); });
    } else if (status == 0 && worst != 0) {
        std::cerr << tool << ": error: another rank failed to prepare its data\n";
        status = worst;
    }
    MPI_Finalize();
    return status;
}
