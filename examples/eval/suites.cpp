// examples/eval/suites.cpp — preset resolution and the binder of each input kind.
#include "suites.hpp"

#include "answers.hpp"
#include "common/cli.hpp"
#include "options.hpp"

#include <stdexcept>
#include <string>

namespace emofuse::eval {

std::span<const suite_spec> suite_table() noexcept {
    return cli::suites::table;
}

bound_suite bind_suite(const options& o, const suite_spec& suite, const preset_spec& preset) {
    if (o.predictions == pred_format::llm && preset.input == input_kind::class_ids) {
        return bind_class_answers(o, cli::suites::emotion_kind(suite.name));
    }
    switch (preset.input) {
    case input_kind::scores:
        return bind_scores(o, suite.name, preset.name);
    case input_kind::class_ids:
        return bind_class_ids(o, suite.name, suite.default_classes);
    case input_kind::binary_emotions:
        return bind_binary_emotions(o);
    case input_kind::word_sets:
        return bind_open_vocabulary(o);
    case input_kind::wheel_word_sets:
        return bind_emotion_wheel(o, preset.name);
    }
    throw std::logic_error("emofuse-eval: suite table: preset " + std::string(preset.name) +
                           " of suite " + std::string(suite.name) + " has an unknown input kind");
}

resolved_suite resolve_suite(const options& o) {
    const suite_spec* suite = cli::suites::find_suite(o.suite);
    if (suite == nullptr) {
        throw cli::usage_error("--suite: unknown suite " + cli::quoted(o.suite) + " (" +
                               cli::suites::suite_names() + ")");
    }
    const preset_spec* preset = cli::suites::find_preset(*suite, o.preset);
    if (preset == nullptr) {
        throw cli::usage_error("--preset: suite \"" + o.suite + "\" has presets " +
                               cli::suites::preset_names(*suite) + "; got " +
                               cli::quoted(o.preset));
    }
    return {suite, preset};
}

} // namespace emofuse::eval
