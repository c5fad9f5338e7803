// examples/eval/output.cpp — writing emofuse-eval's results, its confusion SVG and its
// output files.
#include "output.hpp"

#include "common/cli.hpp"
#include "input.hpp"
#include "options.hpp"

#include <emofuse/core/error.hpp>
#include <emofuse/io/detail/binary_file.hpp>
#include <emofuse/metrics/across_runs.hpp>

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>
#include <span>
#include <sstream>
#include <system_error>

namespace emofuse::eval {

namespace {

std::string xml_escape(const std::string& s) {
    std::string out;
    for (const char c : s) {
        switch (c) {
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '&':
            out += "&amp;";
            break;
        case '"':
            out += "&quot;";
            break;
        default:
            out += c;
        }
    }
    return out;
}

std::string table_number(double v) {
    if (std::isnan(v)) {
        return "nan";
    }
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.6f", v);
    return buffer;
}

/// JSON has no NaN or infinity: finite values are numbers, the others the strings "nan",
/// "inf" and "-inf" (so the three stay distinguishable).
nlohmann::ordered_json json_number(double v) {
    if (std::isfinite(v)) {
        return v;
    }
    return std::isnan(v) ? "nan" : v > 0 ? "inf" : "-inf";
}

/// Python's round(v, decimals) on a double: the exact binary value rounded half to even,
/// which is what printf's %.Nf does (glibc rounds exactly, in the default rounding mode).
double python_round(double v, int decimals) {
    if (!std::isfinite(v)) {
        return v;
    }
    char buffer[400];
    std::snprintf(buffer, sizeof buffer, "%.*f", decimals, v);
    return std::strtod(buffer, nullptr);
}

void flush_results() {
    errno = 0;
    std::cout.flush();
    if (!std::cout) {
        const int code = errno;
        throw input_error(std::string("writing the results to stdout failed") +
                          (code != 0 ? std::string(": ") + std::strerror(code) : ""));
    }
}

} // namespace

progress_meter::progress_meter(std::size_t total)
    : total_(total), enabled_(::isatty(STDERR_FILENO) == 1),
      next_(std::chrono::steady_clock::now() + std::chrono::seconds(1)) {}

void progress_meter::tick() {
    const std::size_t done = ++done_;
    if (!enabled_) {
        return;
    }
    const auto now = std::chrono::steady_clock::now();
    const std::unique_lock lock(mutex_, std::try_to_lock);
    if (!lock.owns_lock() || now < next_) {
        return;
    }
    next_ = now + std::chrono::milliseconds(500);
    shown_ = true;
    std::cerr << "\remofuse-eval: bootstrap " << done << "/" << total_ << " resamples ("
              << done * 100 / total_ << "%)" << std::flush;
}

progress_meter::~progress_meter() {
    if (shown_) {
        std::cerr << "\remofuse-eval: bootstrap " << done_.load() << "/" << total_
                  << " resamples        \n";
    }
}

void write_output_file(const std::string& path, const std::string& content,
                       const std::string& stage) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        throw input_error(stage + ": " + path + " is a directory, not a file to write");
    }
    const bool existed = std::filesystem::exists(path, ec);
    // The writer is kept alive until errno is read: its destructor removes the temporary
    // file, which may change errno.
    std::optional<emofuse::io::detail::output_file> out;
    errno = 0;
    try {
        out.emplace(path, stage);
        out->write(std::as_bytes(std::span<const char>(content.data(), content.size())));
        out->finish();
    } catch (const emofuse::error& e) {
        const int code = errno;
        out.reset();
        throw input_error(std::string(e.what()) +
                          (code != 0 ? std::string(": ") + std::strerror(code) : ""));
    }
    if (existed) {
        cli::notice_replacing("emofuse-eval", path);
    }
}

void write_confusion_svg(const std::string& path, const metrics::confusion_counts& counts,
                         const std::string& title, const std::vector<std::string>& names) {
    const std::size_t k = counts.num_classes();
    const auto label = [&](std::size_t c) {
        return c < names.size() ? xml_escape(names[c]) : std::to_string(c);
    };
    const auto share = counts.normalized(metrics::confusion_normalization::by_true);
    const int cell = k > 12 ? 32 : 56;
    const int left = 90, top = 70;
    const int width = std::max(470, left + static_cast<int>(k) * cell + 30);
    const int height = top + static_cast<int>(k) * cell + 60;
    std::ostringstream svg;
    svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
        << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
    svg << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
    svg << "<text x=\"" << left << "\" y=\"20\" font-size=\"14\" font-weight=\"bold\">"
        << xml_escape(title) << "</text>\n";
    svg << "<text x=\"" << left + static_cast<int>(k) * cell / 2 << "\" y=\"" << top - 28
        << "\" text-anchor=\"middle\">predicted class</text>\n";
    svg << "<text transform=\"translate(" << 20 << "," << top + static_cast<int>(k) * cell / 2
        << ") rotate(-90)\" text-anchor=\"middle\">true class</text>\n";
    for (std::size_t c = 0; c < k; ++c) {
        svg << "<text x=\"" << left + static_cast<int>(c) * cell + cell / 2 << "\" y=\"" << top - 8
            << "\" text-anchor=\"middle\">" << label(c) << "</text>\n";
        svg << "<text x=\"" << left - 8 << "\" y=\""
            << top + static_cast<int>(c) * cell + cell / 2 + 4 << "\" text-anchor=\"end\">"
            << label(c) << "</text>\n";
    }
    for (std::size_t t = 0; t < k; ++t) {
        for (std::size_t p = 0; p < k; ++p) {
            const double v = share[t * k + p];
            // White -> deep blue.
            const int r = static_cast<int>(std::lround(255 - v * (255 - 8)));
            const int g = static_cast<int>(std::lround(255 - v * (255 - 48)));
            const int b = static_cast<int>(std::lround(255 - v * (255 - 107)));
            const int x = left + static_cast<int>(p) * cell;
            const int y = top + static_cast<int>(t) * cell;
            svg << "<rect x=\"" << x << "\" y=\"" << y << "\" width=\"" << cell << "\" height=\""
                << cell << "\" fill=\"rgb(" << r << "," << g << "," << b
                << ")\" stroke=\"#999\"><title>true " << label(t) << ", predicted " << label(p)
                << ": " << counts(t, p) << " (" << static_cast<double>(std::lround(v * 1000)) / 10.0
                << "% of true class)</title></rect>\n";
            svg << "<text x=\"" << x + cell / 2 << "\" y=\"" << y + cell / 2 + 4
                << "\" text-anchor=\"middle\" fill=\"" << (v > 0.5 ? "white" : "black") << "\">"
                << counts(t, p) << "</text>\n";
        }
    }
    svg << "<text x=\"" << left << "\" y=\"" << height - 20
        << "\" fill=\"#555\">colour: share of the true class (row-normalised); numbers: counts"
        << "</text>\n</svg>\n";
    write_output_file(path, svg.str(), "--confusion-svg");
}

void write_results(const options& o, std::string_view preset, const bound_suite& bound,
                   const metrics::suite_result& result,
                   const metrics::bootstrap_result& intervals) {
    if (o.format == "json") {
        nlohmann::ordered_json out;
        out["suite"] = o.suite;
        out["preset"] = preset;
        out["n"] = bound.scored;
        out["metrics"] = nlohmann::ordered_json::object();
        for (const auto& m : result.metrics) {
            out["metrics"][m.key] = json_number(m.value);
        }
        out["ci"] = nlohmann::ordered_json::object();
        for (std::size_t k = 0; k < intervals.keys.size(); ++k) {
            out["ci"][intervals.keys[k]] = {json_number(intervals.intervals[k].low),
                                            json_number(intervals.intervals[k].high)};
        }
        std::cout << out.dump(2) << "\n";
    } else {
        std::size_t width = 6;
        for (const auto& m : result.metrics) {
            width = std::max(width, m.key.size());
        }
        std::cout << "suite " << o.suite << ", preset " << preset << ", n = " << bound.scored
                  << "\n";
        std::cout << std::string(width - 6, ' ') << "metric  value";
        if (!intervals.keys.empty()) {
            std::cout << "      " << std::lround(o.confidence * 100) << "% CI (bootstrap, "
                      << o.bootstrap << " resamples)";
        }
        std::cout << "\n";
        for (std::size_t k = 0; k < result.metrics.size(); ++k) {
            const auto& m = result.metrics[k];
            std::cout << std::string(width - m.key.size(), ' ') << m.key << "  "
                      << table_number(m.value);
            if (k < intervals.keys.size()) {
                std::cout << "  [" << table_number(intervals.intervals[k].low) << ", "
                          << table_number(intervals.intervals[k].high) << "]";
            }
            std::cout << "\n";
        }
    }
    flush_results();
}

void write_run_summary(const options& o, std::string_view preset, int run_decimals,
                       const std::vector<std::size_t>& counts,
                       const std::vector<metrics::suite_result>& runs) {
    const auto summary = metrics::summarize_runs(runs);
    // What MMSA's run.py averages: each run's values as its metrics report them.
    std::vector<metrics::suite_result> reported = runs;
    if (run_decimals > 0) {
        for (auto& run : reported) {
            for (auto& m : run.metrics) {
                m.value = python_round(m.value, run_decimals);
            }
        }
    }
    const auto mmsa = metrics::summarize_runs(reported);
    const auto percent = [](double v) { return python_round(v * 100, 2); };
    if (o.format == "json") {
        nlohmann::ordered_json out;
        out["suite"] = o.suite;
        out["preset"] = preset;
        out["runs"] = runs.size();
        out["metrics"] = nlohmann::ordered_json::object();
        for (const auto& s : summary) {
            out["metrics"][s.key] = {{"mean", json_number(s.mean)}, {"std", json_number(s.std)}};
        }
        out["mmsa"] = nlohmann::ordered_json::object();
        for (const auto& s : mmsa) {
            out["mmsa"][s.key] = {json_number(percent(s.mean)), json_number(percent(s.std))};
        }
        out["per_run"] = nlohmann::ordered_json::array();
        for (std::size_t r = 0; r < runs.size(); ++r) {
            nlohmann::ordered_json run;
            run["pred"] = o.pred_paths[r];
            run["n"] = counts[r];
            run["metrics"] = nlohmann::ordered_json::object();
            for (const auto& m : runs[r].metrics) {
                run["metrics"][m.key] = json_number(m.value);
            }
            out["per_run"].push_back(std::move(run));
        }
        std::cout << out.dump(2) << "\n";
    } else {
        std::size_t width = 6;
        for (const auto& s : summary) {
            width = std::max(width, s.key.size());
        }
        const bool same_n = std::equal(counts.begin() + 1, counts.end(), counts.begin());
        std::cout << "suite " << o.suite << ", preset " << preset << ", " << runs.size()
                  << " runs, "
                  << (same_n ? "n = " + std::to_string(counts.front()) : "n differs by run");
        std::cout << "\n"
                  << std::string(width - 6, ' ') << "metric  mean      std       MMSA (x100)\n";
        for (std::size_t k = 0; k < summary.size(); ++k) {
            std::cout << std::string(width - summary[k].key.size(), ' ') << summary[k].key << "  "
                      << table_number(summary[k].mean) << "  " << table_number(summary[k].std)
                      << "  (" << shortest(percent(mmsa[k].mean)) << ", "
                      << shortest(percent(mmsa[k].std)) << ")\n";
        }
    }
    flush_results();
}

} // namespace emofuse::eval
