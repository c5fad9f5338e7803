// emofuse/fusion/detail/packed_linear.hpp — an nn.Linear held only in the GEMM's packed panel
// layout (kernels::packed_operand), for fusion operators whose weights are too large to keep
// twice (tensor fusion's Π n_m columns) or that are repacked from a peer's layout (LMF).
#pragma once

#include "emofuse/config.hpp"
#include "emofuse/kernels/epilogue.hpp"
#include "emofuse/kernels/operand.hpp"
#include "emofuse/kernels/packed_operand.hpp"
#include "emofuse/kernels/workspace.hpp"

#include <algorithm>
#include <cstddef>
#include <utility>

namespace emofuse::fusion::detail {

/// y = act(x·Wᵀ + b) with W (out, in) packed once at construction; the unpacked weight is
/// not kept (weight() reads it back from the panels).
template <class T>
class packed_linear {
public:
    packed_linear() = default;
    /// `weight` is (out, in) row-major; `bias` (out) may be null (no bias).
    packed_linear(const T* weight, const T* bias, std::size_t out, std::size_t in)
        : weight_(kernels::packed_operand<T>::from_linear_weight(weight, out, in)) {
        if (bias != nullptr) {
            bias_ = xt::xtensor<T, 1>::from_shape({out});
            std::copy_n(bias, out, bias_.data());
        }
    }

    [[nodiscard]] std::size_t inputs() const { return weight_.depth(); }
    [[nodiscard]] std::size_t outputs() const { return weight_.columns(); }
    /// The bias, empty without one.
    [[nodiscard]] const xt::xtensor<T, 1>& bias() const { return bias_; }
    /// The weight in nn.Linear layout (out, in), unpacked into a new tensor.
    [[nodiscard]] xt::xtensor<T, 2> weight() const {
        auto w = xt::xtensor<T, 2>::from_shape({outputs(), inputs()});
        for (std::size_t h = 0; h < outputs(); ++h) {
            for (std::size_t k = 0; k < inputs(); ++k) {
                w(h, k) = weight_.at(k, h);
            }
        }
        return w;
    }

    /// y (rows, out) = act(x (rows, in, row stride ldx)·Wᵀ + b). Scratch: `ws`'s GEMM slots
    /// (by default the kernels' per-thread workspace).
    void apply(const T* x, std::size_t ldx, std::size_t rows, T* y,
               kernels::epilogue act = kernels::epilogue::none,
               kernels::workspace& ws = kernels::thread_workspace()) const {
        kernels::gemm(kernels::transpose::no, rows, T(1), x, ldx, weight_, T(0), y, outputs(),
                      post(act), ws);
    }

    /// y (rows, out) = act(z·Wᵀ + b) for a z that is generated block by block:
    /// `make_z(row0, rows, k0, depth, dst, ld)` writes z[row0 : row0+rows, k0 : k0+depth]
    /// (kernels::gemm_generated).
    template <class MakeZ>
    void apply_generated(std::size_t rows, MakeZ&& make_z, T* y,
                         kernels::epilogue act = kernels::epilogue::none,
                         kernels::workspace& ws = kernels::thread_workspace()) const {
        kernels::gemm_generated(rows, std::forward<MakeZ>(make_z), weight_, y, outputs(), post(act),
                                ws);
    }

private:
    [[nodiscard]] kernels::fused_epilogue<T> post(kernels::epilogue act) const {
        return {bias_.size() != 0 ? bias_.data() : nullptr, act};
    }

    kernels::packed_operand<T> weight_;
    xt::xtensor<T, 1> bias_;
};

} // namespace emofuse::fusion::detail
