// emofuse/metrics/regression_suite.hpp — the `regression` suite (mae, mse, rmse, pearson,
// ccc) for continuous targets such as valence / arousal, with the CCC ddof as a preset.
#pragma once

#include <emofuse/core/error.hpp>
#include <emofuse/metrics/policy.hpp>
#include <emofuse/metrics/regression.hpp>
#include <emofuse/metrics/suite_result.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace emofuse::metrics {

/// Presets of the `regression` suite: `mertools` (the default; CCC with ddof = 0, as
/// MERTools and most AVEC/MuSe code) and `torchmetrics` (CCC with ddof = 1, as
/// torchmetrics' ConcordanceCorrCoef).
enum class regression_preset { mertools, torchmetrics };

[[nodiscard]] inline std::string_view to_string(regression_preset p) {
    return p == regression_preset::mertools ? "mertools" : "torchmetrics";
}

/// Keys: mae, mse, rmse, pearson, ccc.
class regression_suite {
public:
    explicit regression_suite(regression_preset preset = regression_preset::mertools,
                              nan_policy policy = nan_policy::error)
        : preset_(preset), accumulator_(policy) {}

    template <class T>
    void update(std::span<const T> truth, std::span<const T> pred) {
        accumulator_.update(truth, pred);
    }
    template <class T>
    void update(std::span<const T> truth, std::span<const T> pred,
                std::span<const std::uint32_t> weights) {
        accumulator_.update(truth, pred, weights);
    }
    void merge(const regression_suite& other) { accumulator_.merge(other.accumulator_); }

    [[nodiscard]] const comoments& state() const noexcept { return accumulator_.state(); }
    [[nodiscard]] comoments& state() noexcept { return accumulator_.state(); }
    [[nodiscard]] int ccc_ddof() const noexcept {
        return preset_ == regression_preset::mertools ? 0 : 1;
    }

    [[nodiscard]] suite_result compute() const {
        suite_result out;
        out.suite = "regression";
        out.preset = std::string(to_string(preset_));
        const auto r = accumulator_.compute(ccc_ddof());
        out.count = r.count;
        out.add("mae", r.mae);
        out.add("mse", r.mse);
        out.add("rmse", r.rmse);
        out.add("pearson", r.pearson);
        out.add("ccc", r.ccc);
        if (r.constant_input) {
            out.warnings.emplace_back("pearson is NaN: predictions or truths are constant");
        }
        return out;
    }

private:
    regression_preset preset_;
    regression_accumulator accumulator_;
};

} // namespace emofuse::metrics
