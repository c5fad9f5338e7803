// emofuse-eval — evaluates predictions against truths with a named, peer-compatible metric
// suite, optionally with bootstrap confidence intervals and a confusion-matrix heat map.
// Usage: emofuse-eval --help
//
// options.* parse the command line, suites.* hold the one table of suites, input.* read
// the files, binders.* bind a suite to parsed data, output.* write the results.
#include "binders.hpp"
#include "common/cli.hpp"
#include "input.hpp"
#include "options.hpp"
#include "output.hpp"
#include "suites.hpp"

#include <emofuse/metrics/bootstrap.hpp>
#include <emofuse/metrics/suite_result.hpp>
#include <emofuse/platform/parallel.hpp>

#include <cstdint>
#include <filesystem>
#include <iostream>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

namespace em = emofuse::metrics;
namespace cli = emofuse::cli;
using namespace emofuse::eval;

/// Several --pred files: each run evaluated on its own, then every key summarised over the
/// runs (mean and ddof-0 std, and as MMSA's run.py prints them).
int run_several(const options& o, const suite_spec& suite, const preset_spec& preset) {
    std::vector<em::suite_result> results;
    std::vector<std::size_t> counts;
    for (const auto& path : o.pred_paths) {
        options one = o;
        one.pred_path = path;
        const bound_suite bound = bind_suite(one, suite, preset);
        if (bound.samples == 0) {
            throw input_error(display_name(path) + ": no samples to evaluate (after skipping "
                                                   "blank, comment and non-finite lines)");
        }
        for (const auto& note : bound.notes) {
            std::cerr << "emofuse-eval: note: " << path << ": " << note << "\n";
        }
        em::suite_result result = bound.evaluate({});
        for (const auto& warning : result.warnings) {
            std::cerr << "emofuse-eval: warning: " << path << ": " << warning << "\n";
        }
        results.push_back(std::move(result));
        counts.push_back(bound.scored);
    }
    write_run_summary(o, preset.name, preset.run_decimals, counts, results);
    return 0;
}

int run(int argc, char** argv) {
    cli::remove_outputs_on_signals();
    const options o = parse_options(argc, argv);
    if (!o.confusion_svg.empty()) {
        // What an interrupted earlier run left beside the SVG (a dead process's temporary).
        const auto parent = std::filesystem::path(o.confusion_svg).parent_path();
        cli::sweep_stale_outputs("emofuse-eval", parent.empty() ? "." : parent);
    }
    if (o.help) {
        std::cout << usage_text();
        return 0;
    }
    if (o.threads != 0) {
        emofuse::set_num_threads(o.threads); // the pool: reading, scoring and the bootstrap
    }
    const auto [suite, preset] = resolve_suite(o);
    const input_kind kind = preset->input;
    if (!o.group_paths.empty() && kind != input_kind::word_sets) {
        throw cli::usage_error(
            "--groups applies to --suite " +
            suites_where([](input_kind k) { return k == input_kind::word_sets; }) + " only");
    }
    if ((!o.wheel_dir.empty() || !o.level.empty()) &&
        !(suite->name == "ov" && preset->name.starts_with("mertools"))) {
        throw cli::usage_error("--wheel and --level apply to --suite ov --preset mertools or "
                               "mertools2026 only");
    }
    if (o.logits && (kind == input_kind::scores || kind == input_kind::word_sets)) {
        throw cli::usage_error("--logits applies to class suites only");
    }
    const auto single_label = [](input_kind k) { return k == input_kind::class_ids; };
    if (!o.confusion_svg.empty() && !single_label(kind)) {
        throw cli::usage_error("--confusion-svg needs a single-label class suite (" +
                               suites_where(single_label) + ")");
    }
    if (!o.confusion_svg.empty() && o.num_classes > max_svg_classes) {
        throw cli::usage_error("--confusion-svg draws at most " + std::to_string(max_svg_classes) +
                               " classes; --num-classes is " + std::to_string(o.num_classes));
    }

    if (o.predictions == pred_format::llm && !preset->answers) {
        throw cli::usage_error("--pred-format llm applies to --suite " +
                               suites_where([](const preset_spec& p) { return p.answers; }) +
                               " only");
    }
    if (o.pred_paths.size() > 1) {
        return run_several(o, *suite, *preset);
    }
    const bound_suite bound = bind_suite(o, *suite, *preset);
    for (const auto& note : bound.notes) {
        std::cerr << "emofuse-eval: note: " << note << "\n";
    }
    if (bound.samples == 0) {
        throw input_error(display_name(o.pred_path) +
                          ": no samples to evaluate (after skipping blank, comment and "
                          "non-finite lines)");
    }
    if (!o.confusion_svg.empty() && bound.num_classes > max_svg_classes) {
        throw cli::usage_error("--confusion-svg draws at most " + std::to_string(max_svg_classes) +
                               " classes; the data has " + std::to_string(bound.num_classes));
    }

    const em::suite_result result = bound.evaluate({});
    for (const auto& warning : result.warnings) {
        std::cerr << "emofuse-eval: warning: " << warning << "\n";
    }
    if (bound.scored != bound.samples) {
        std::cerr << "emofuse-eval: note: " << bound.samples - bound.scored << " of "
                  << bound.samples
                  << " samples have an empty truth set and are not scored (n counts the rest)\n";
    }
    em::bootstrap_result intervals;
    if (o.bootstrap > 0) {
        em::bootstrap_options b;
        b.resamples = o.bootstrap;
        b.seed = o.seed;
        b.confidence = o.confidence;
        progress_meter progress(o.bootstrap);
        intervals = em::bootstrap(
            bound.samples,
            [&](std::span<const std::uint32_t> w) {
                em::suite_result r = bound.evaluate(w);
                progress.tick();
                return r;
            },
            b);
    }
    if (!o.confusion_svg.empty()) {
        write_confusion_svg(o.confusion_svg, bound.confusion(),
                            "emofuse-eval: " + o.suite + " / " + std::string(preset->name) +
                                ", n = " + std::to_string(bound.samples),
                            bound.class_names);
    }
    write_results(o, preset->name, bound, result, intervals);
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    return cli::run_tool("emofuse-eval", [&] { return run(argc, argv); });
}
