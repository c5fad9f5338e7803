// emofuse/heads/ridge.hpp — closed-form ridge regression read-out: fit on features, predict.
//
// Same estimate as scikit-learn's Ridge(alpha, fit_intercept=True) with the Cholesky
// solver: centre X and Y, solve (XcᵀXc + αI)W = XcᵀYc, intercept = ȳ − x̄ᵀW. Solved in
// double precision whatever T is.
#pragma once

#include "emofuse/core/concepts.hpp"
#include "emofuse/core/error.hpp"
#include "emofuse/core/sequence.hpp"
#include "emofuse/kernels/linear.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace emofuse::heads {

namespace detail {

// In-place Cholesky factorisation of a symmetric positive definite n×n matrix (lower
// triangle). Returns false when a pivot is not positive, or so small against the original
// diagonal entry that it is rounding noise (the matrix is numerically singular).
inline bool cholesky(std::vector<double>& a, std::size_t n) {
    constexpr double relative_floor = 1e-13;
    for (std::size_t j = 0; j < n; ++j) {
        const double original = a[j * n + j];
        double diagonal = original;
        for (std::size_t k = 0; k < j; ++k) {
            diagonal -= a[j * n + k] * a[j * n + k];
        }
        if (!(diagonal > relative_floor * original)) {
            return false;
        }
        const double pivot = std::sqrt(diagonal);
        a[j * n + j] = pivot;
        for (std::size_t i = j + 1; i < n; ++i) {
            double v = a[i * n + j];
            for (std::size_t k = 0; k < j; ++k) {
                v -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = v / pivot;
        }
    }
    return true;
}

// Solves L·Lᵀ·x = b in place for one right-hand side stored with stride `stride`.
inline void cholesky_solve(const std::vector<double>& l, std::size_t n, double* b,
                           std::size_t stride) {
    for (std::size_t i = 0; i < n; ++i) {
        double v = b[i * stride];
        for (std::size_t k = 0; k < i; ++k) {
            v -= l[i * n + k] * b[k * stride];
        }
        b[i * stride] = v / l[i * n + i];
    }
    for (std::size_t i = n; i-- > 0;) {
        double v = b[i * stride];
        for (std::size_t k = i + 1; k < n; ++k) {
            v -= l[k * n + i] * b[k * stride];
        }
        b[i * stride] = v / l[i * n + i];
    }
}

template <class T>
void require_finite(const features<T>& x, const char* what) {
    for (std::size_t i = 0; i < x.size(); ++i) {
        if (!std::isfinite(x.data()[i])) {
            throw value_error(emofuse::detail::concat_message(
                "heads::ridge::fit: ", what, " holds a non-finite value at row ", i / x.shape(1),
                ", column ", i % x.shape(1)));
        }
    }
}

} // namespace detail

/// Ridge regression with intercept, fitted in closed form.
template <class T>
class ridge : public head_stage_base {
public:
    explicit ridge(double alpha = 1.0) : alpha_(alpha) {
        if (!(alpha >= 0.0) || !std::isfinite(alpha)) {
            throw value_error(emofuse::detail::concat_message(
                "heads::ridge: alpha: expected a finite value >= 0, got ", alpha));
        }
    }

    /// Fits on x (samples, features) and targets y (samples, outputs).
    void fit(const features<T>& x, const features<T>& y) {
        const std::size_t n = x.shape(0);
        const std::size_t d = x.shape(1);
        const std::size_t m = y.shape(1);
        check_size("heads::ridge::fit", "target rows (one per sample)", n, y.shape(0));
        if (n == 0 || d == 0 || m == 0) {
            throw value_error(emofuse::detail::concat_message(
                "heads::ridge::fit: expected at least one sample, feature and target, got ", n,
                " samples, ", d, " features, ", m, " targets"));
        }
        detail::require_finite(x, "x");
        detail::require_finite(y, "y");

        std::vector<double> x_mean(d, 0.0), y_mean(m, 0.0);
        for (std::size_t r = 0; r < n; ++r) {
            for (std::size_t j = 0; j < d; ++j) {
                x_mean[j] += static_cast<double>(x(r, j));
            }
            for (std::size_t k = 0; k < m; ++k) {
                y_mean[k] += static_cast<double>(y(r, k));
            }
        }
        for (double& v : x_mean) {
            v /= static_cast<double>(n);
        }
        for (double& v : y_mean) {
            v /= static_cast<double>(n);
        }

        // coef (d, m): the primal system (d×d) when features <= samples, otherwise the
        // dual (kernel) system (n×n) — the same estimate, as sklearn's cholesky solver does.
        const std::vector<double> coef =
            d <= n ? solve_primal(x, y, x_mean, y_mean) : solve_dual(x, y, x_mean, y_mean);
        weight_ = xt::xtensor<T, 2>::from_shape({m, d});
        bias_ = xt::xtensor<T, 1>::from_shape({m});
        for (std::size_t k = 0; k < m; ++k) {
            double intercept = y_mean[k];
            for (std::size_t j = 0; j < d; ++j) {
                weight_(k, j) = static_cast<T>(coef[j * m + k]);
                intercept -= x_mean[j] * coef[j * m + k];
            }
            bias_(k) = static_cast<T>(intercept);
        }
    }

    /// Fits one target per sample.
    void fit(const features<T>& x, const xt::xtensor<T, 1>& y) {
        features<T> column({y.size(), std::size_t{1}});
        std::copy(y.begin(), y.end(), column.begin());
        fit(x, column);
    }

    [[nodiscard]] bool fitted() const { return weight_.size() != 0; }
    [[nodiscard]] double alpha() const { return alpha_; }
    /// (outputs, features), like sklearn's coef_.
    [[nodiscard]] const xt::xtensor<T, 2>& weight() const { return weight_; }
    [[nodiscard]] const xt::xtensor<T, 1>& bias() const { return bias_; }

    features<T> operator()(const features<T>& x) const {
        if (!fitted()) {
            throw value_error("heads::ridge: predict called before fit");
        }
        check_size("heads::ridge", "input features", weight_.shape(1), x.shape(1));
        features<T> y({x.shape(0), weight_.shape(0)});
        kernels::linear(x.data(), x.shape(0), weight_.shape(1), weight_.data(), bias_.data(),
                        weight_.shape(0), y.data());
        return y;
    }

private:
    void throw_not_positive_definite(std::size_t n, std::size_t d) const {
        throw value_error(emofuse::detail::concat_message(
            "heads::ridge::fit: the regularised Gram matrix is not positive definite (alpha = ",
            alpha_, ", ", n, " samples, ", d, " features); use alpha > 0"));
    }

    // (XcᵀXc + αI)·coef = XcᵀYc.
    std::vector<double> solve_primal(const features<T>& x, const features<T>& y,
                                     const std::vector<double>& x_mean,
                                     const std::vector<double>& y_mean) const {
        const std::size_t n = x.shape(0), d = x.shape(1), m = y.shape(1);
        std::vector<double> gram(d * d, 0.0), coef(d * m, 0.0), xc(d);
        for (std::size_t r = 0; r < n; ++r) {
            for (std::size_t j = 0; j < d; ++j) {
                xc[j] = static_cast<double>(x(r, j)) - x_mean[j];
            }
            for (std::size_t i = 0; i < d; ++i) {
                for (std::size_t j = 0; j <= i; ++j) {
                    gram[i * d + j] += xc[i] * xc[j];
                }
                for (std::size_t k = 0; k < m; ++k) {
                    coef[i * m + k] += xc[i] * (static_cast<double>(y(r, k)) - y_mean[k]);
                }
            }
        }
        for (std::size_t i = 0; i < d; ++i) {
            gram[i * d + i] += alpha_;
        }
        if (!detail::cholesky(gram, d)) {
            throw_not_positive_definite(n, d);
        }
        for (std::size_t k = 0; k < m; ++k) {
            detail::cholesky_solve(gram, d, coef.data() + k, m);
        }
        return coef;
    }

    // (XcXcᵀ + αI)·A = Yc, coef = XcᵀA.
    std::vector<double> solve_dual(const features<T>& x, const features<T>& y,
                                   const std::vector<double>& x_mean,
                                   const std::vector<double>& y_mean) const {
        const std::size_t n = x.shape(0), d = x.shape(1), m = y.shape(1);
        std::vector<double> xc(n * d), kernel(n * n, 0.0), dual(n * m), coef(d * m, 0.0);
        for (std::size_t r = 0; r < n; ++r) {
            for (std::size_t j = 0; j < d; ++j) {
                xc[r * d + j] = static_cast<double>(x(r, j)) - x_mean[j];
            }
            for (std::size_t k = 0; k < m; ++k) {
                dual[r * m + k] = static_cast<double>(y(r, k)) - y_mean[k];
            }
        }
        for (std::size_t i = 0; i < n; ++i) {
            for (std::size_t j = 0; j <= i; ++j) {
                double v = 0.0;
                for (std::size_t f = 0; f < d; ++f) {
                    v += xc[i * d + f] * xc[j * d + f];
                }
                kernel[i * n + j] = v;
            }
            kernel[i * n + i] += alpha_;
        }
        if (!detail::cholesky(kernel, n)) {
            throw_not_positive_definite(n, d);
        }
        for (std::size_t k = 0; k < m; ++k) {
            detail::cholesky_solve(kernel, n, dual.data() + k, m);
        }
        for (std::size_t r = 0; r < n; ++r) {
            for (std::size_t j = 0; j < d; ++j) {
                for (std::size_t k = 0; k < m; ++k) {
                    coef[j * m + k] += xc[r * d + j] * dual[r * m + k];
                }
            }
        }
        return coef;
    }

    double alpha_;
    xt::xtensor<T, 2> weight_;
    xt::xtensor<T, 1> bias_;
};

} // namespace emofuse::heads
