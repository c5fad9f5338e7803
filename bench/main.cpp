// emofuse-bench's entry point: Google Benchmark's own, plus `--threads=N` (default 1), the
// size of the library's thread pool (platform/parallel.hpp) for every workload of the run.
// One thread by default, so each figure compares with the single-threaded anchors of the
// comparison scripts; `--threads=2` gives the scaling runs (docs/workloads.md).
#include <emofuse/platform/parallel.hpp>

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

int main(int argc, char** argv) {
    constexpr std::string_view flag = "--threads=";
    unsigned threads = 1;
    std::vector<char*> kept;
    for (int i = 0; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (i == 0 || !arg.starts_with(flag)) {
            kept.push_back(argv[i]);
            continue;
        }
        const std::string value(arg.substr(flag.size()));
        char* end = nullptr;
        const unsigned long parsed = std::strtoul(value.c_str(), &end, 10);
        if (value.empty() || *end != '\0' || parsed == 0 || parsed > emofuse::detail::max_threads) {
            std::cerr << "emofuse-bench: --threads: expected a whole number from 1 to "
                      << emofuse::detail::max_threads << ", got \"" << value << "\"\n";
            return 2;
        }
        threads = static_cast<unsigned>(parsed);
    }
    emofuse::set_num_threads(threads);
    benchmark::AddCustomContext("emofuse_threads", std::to_string(threads));
    int count = static_cast<int>(kept.size());
    kept.push_back(nullptr);
    benchmark::Initialize(&count, kept.data());
    if (benchmark::ReportUnrecognizedArguments(count, kept.data())) {
        return 2;
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
