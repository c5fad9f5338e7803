// examples/eval/wheel_binder.cpp — suite ov, presets mertools / mertools2026: answers scored
// on an OV-MER emotion_wheel/ folder (--wheel DIR) as MERTools' wheel.py scores them. Needs
// emofuse::xlsx (expat); without it the presets say so.
#include "binders.hpp"

#include "common/cli.hpp"
#include "input.hpp"
#include "options.hpp"

#include <emofuse/metrics/emotion_wheel.hpp>

#ifdef EMOFUSE_EVAL_HAVE_XLSX
#include <emofuse/io/xlsx/emotion_wheel.hpp>
#endif

#include <algorithm>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace emofuse::eval {

namespace em = emofuse::metrics;

bound_suite bind_emotion_wheel(const options& o, std::string_view preset) {
    if (o.wheel_dir.empty()) {
        throw cli::usage_error("--preset " + std::string(preset) +
                               ": give the emotion_wheel/ folder with --wheel DIR");
    }
    if (!o.group_paths.empty()) {
        throw cli::usage_error("--groups: the " + std::string(preset) +
                               " preset maps words through --wheel DIR, not --groups");
    }
#ifndef EMOFUSE_EVAL_HAVE_XLSX
    throw cli::usage_error("--wheel: this emofuse-eval was built without expat "
                           "(apt-get install libexpat1-dev, then reconfigure)");
#else
    const auto release = preset == "mertools2026" ? em::wheel_release::mertools2026
                                                  : em::wheel_release::mertools2025;
    const auto levels = o.level == "1"   ? em::wheel_levels::level1
                        : o.level == "2" ? em::wheel_levels::level2
                                         : em::wheel_levels::both;
    const auto map =
        std::make_shared<const em::emotion_wheel_map>(io::xlsx::read_emotion_wheel(o.wheel_dir));
    const text_file pred_file = read_text(o.pred_path);
    const text_file truth_file = read_text(o.truth_path);
    check_same_length(pred_file.name, pred_file.lines, truth_file.name, truth_file.lines);
    // "-" is the empty answer, as for the default preset (a blank line would be skipped).
    auto map_lines = [&](const text_file& file) {
        auto out = std::make_shared<std::vector<em::wheel_answer>>();
        out->reserve(file.rows());
        for (std::size_t i = 0; i < file.rows(); ++i) {
            const std::string& text = file.texts[i];
            try {
                out->push_back(em::map_wheel_answer(*map, text == "-" ? std::string() : text));
            } catch (const emofuse::value_error& e) {
                fail_at(file.name, file.lines[i], e.what());
            }
        }
        return std::shared_ptr<const std::vector<em::wheel_answer>>(std::move(out));
    };
    const auto truth = map_lines(truth_file);
    const auto pred = map_lines(pred_file);
    bound_suite bound;
    bound.samples = truth->size();
    bound.scored = static_cast<std::size_t>(std::count_if(
        truth->begin(), truth->end(), [](const em::wheel_answer& a) { return !a.ids.empty(); }));
    bound.evaluate = [=](std::span<const std::uint32_t> w) {
        em::emotion_wheel_suite suite(release, levels);
        if (w.empty()) {
            suite.update(*truth, *pred);
        } else {
            suite.update(*truth, *pred, w);
        }
        return suite.compute();
    };
    return bound;
#endif
}

} // namespace emofuse::eval
