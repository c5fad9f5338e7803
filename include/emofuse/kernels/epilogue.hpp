// emofuse/kernels/epilogue.hpp — the element-wise step fused into GEMM and linear stores.
#pragma once

#include <cmath>

namespace emofuse::kernels {

/// What is applied to each output element after the bias. gelu is x·Φ(x) in its exact erf
/// form (torch's approximate='none', kernels::gelu): fused, it saves a pass over a wide
/// output such as a transformer's feed-forward hidden units.
enum class epilogue { none, relu, gelu };

/// Bias and activation applied while a GEMM writes its result:
/// C[i, j] = act(alpha·(A·B)[i, j] + beta·C[i, j] + column_bias[j]).
/// `column_bias` may be null (no bias); otherwise it holds one value per output column.
template <class T>
struct fused_epilogue {
    const T* column_bias = nullptr;
    epilogue activation = epilogue::none;
};

namespace detail {

/// One output element: act(value + beta·*old + *bias); *old is not read when beta == 0.
template <class T>
T apply_epilogue_scalar(T value, T beta, const T* old, const T* bias, epilogue act) {
    if (beta != T(0)) {
        value += beta * *old;
    }
    if (bias) {
        value += *bias;
    }
    if (act == epilogue::gelu) {
        // x/2·erfc(−x/√2): gelu_reference's form.
        return T(0.5) * value *
               std::erfc(-value * T(0.70710678118654752440084436210484903928483593768847));
    }
    return (act == epilogue::relu && value < T(0)) ? T(0) : value;
}

} // namespace detail

} // namespace emofuse::kernels
