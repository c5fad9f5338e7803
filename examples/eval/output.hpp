// examples/eval/output.hpp — what emofuse-eval writes: the results (JSON or table) on
// stdout, the confusion-matrix SVG, bootstrap progress on a terminal.
#pragma once

#include "binders.hpp"

#include <emofuse/metrics/bootstrap.hpp>
#include <emofuse/metrics/confusion.hpp>
#include <emofuse/metrics/suite_result.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace emofuse::eval {

struct options;

/// Counts finished bootstrap resamples and, when stderr is a terminal, shows
/// "resamples done / total" there at most twice a second (first after one second, so short
/// runs print nothing). tick() may be called from several threads.
class progress_meter {
public:
    explicit progress_meter(std::size_t total);
    progress_meter(const progress_meter&) = delete;
    progress_meter& operator=(const progress_meter&) = delete;
    ~progress_meter();

    void tick();

private:
    std::size_t total_;
    bool enabled_;
    std::chrono::steady_clock::time_point next_;
    std::atomic<std::size_t> done_{0};
    std::mutex mutex_;
    bool shown_ = false;
};

/// Writes `content` to `path` atomically (a temporary file renamed over it), saying on
/// stderr when an existing file is replaced; failures name `stage` and the system's reason.
void write_output_file(const std::string& path, const std::string& content,
                       const std::string& stage);

/// A heat map of the confusion matrix: rows are true classes, columns predictions, colour
/// is the share of the true class, each cell shows its count.
/// `names` labels the classes (empty: their ids).
void write_confusion_svg(const std::string& path, const metrics::confusion_counts& counts,
                         const std::string& title, const std::vector<std::string>& names = {});

/// The results on stdout in o.format; input_error when stdout cannot be written.
void write_results(const options& o, std::string_view preset, const bound_suite& bound,
                   const metrics::suite_result& result, const metrics::bootstrap_result& intervals);

/// Runs of one model (several --pred files): each key's mean and ddof-0 std over the runs,
/// and the pair MMSA's run.py prints (round(mean * 100, 2), round(std * 100, 2)) over the
/// values as the peer reports each run (rounded to `run_decimals` when it is not 0). JSON
/// also lists each run's values.
void write_run_summary(const options& o, std::string_view preset, int run_decimals,
                       const std::vector<std::size_t>& counts,
                       const std::vector<metrics::suite_result>& runs);

} // namespace emofuse::eval
