// emofuse/align/contrastive.hpp — contrastive alignment scores between two modalities:
// cosine-similarity matrix, InfoNCE with temperature, and CLIP's symmetric form.
#pragma once

#include "emofuse/config.hpp"
#include "emofuse/core/error.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

namespace emofuse::align {

namespace detail {

// Row norms clamped below at 1e-12 (torch.nn.functional.normalize's eps).
template <class T>
std::vector<double> clamped_row_norms(const xt::xtensor<T, 2>& x) {
    const std::size_t n = x.shape(0), d = x.shape(1);
    std::vector<double> norms(n);
    for (std::size_t i = 0; i < n; ++i) {
        double sq = 0;
        for (std::size_t f = 0; f < d; ++f) {
            const double v = static_cast<double>(x(i, f));
            sq += v * v;
        }
        norms[i] = std::max(std::sqrt(sq), 1e-12);
    }
    return norms;
}

} // namespace detail

/// S[i, j] = cos(a_i, b_j) with rows normalised as F.normalize does (norm clamped at 1e-12,
/// so a zero row has similarity 0 with everything). a is (N, d), b is (M, d).
template <class T, class Out = T>
xt::xtensor<Out, 2> cosine_similarity_matrix(const xt::xtensor<T, 2>& a,
                                             const xt::xtensor<T, 2>& b) {
    check_size("cosine_similarity_matrix", "feature size of b (as a)", a.shape(1), b.shape(1));
    const std::size_t n = a.shape(0), m = b.shape(0), d = a.shape(1);
    const auto na = detail::clamped_row_norms(a);
    const auto nb = detail::clamped_row_norms(b);
    xt::xtensor<Out, 2> out = xt::xtensor<Out, 2>::from_shape({n, m});
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t j = 0; j < m; ++j) {
            double dot = 0;
            for (std::size_t f = 0; f < d; ++f) {
                dot += static_cast<double>(a(i, f)) * static_cast<double>(b(j, f));
            }
            out(i, j) = static_cast<Out>(dot / (na[i] * nb[j]));
        }
    }
    return out;
}

namespace detail {

// mean_i [logsumexp_j s[i, j]/τ − s[i, i]/τ] over rows (or columns when `columns`).
inline double info_nce_of(const xt::xtensor<double, 2>& sim, double temperature, bool columns) {
    const std::size_t n = sim.shape(0);
    double total = 0;
    std::vector<double> logits(n);
    for (std::size_t i = 0; i < n; ++i) {
        double top = -std::numeric_limits<double>::infinity();
        for (std::size_t j = 0; j < n; ++j) {
            logits[j] = (columns ? sim(j, i) : sim(i, j)) / temperature;
            top = std::max(top, logits[j]);
        }
        double sum = 0;
        for (std::size_t j = 0; j < n; ++j) {
            sum += std::exp(logits[j] - top);
        }
        total += top + std::log(sum) - logits[i];
    }
    return total / static_cast<double>(n);
}

template <class T>
void check_pairs(const char* stage, const xt::xtensor<T, 2>& a, const xt::xtensor<T, 2>& b,
                 double temperature) {
    check_size(stage, "rows of b (one positive per row of a)", a.shape(0), b.shape(0));
    if (a.shape(0) == 0) {
        throw value_error(
            emofuse::detail::concat_message(stage, ": batch: expected at least one pair, got 0"));
    }
    if (!(temperature > 0) || !std::isfinite(temperature)) {
        throw value_error(emofuse::detail::concat_message(
            stage, ": temperature: expected a finite positive value, got ", temperature));
    }
}

} // namespace detail

/// InfoNCE of a against b: row i of a has b_i as its positive and every other row of b as
/// negatives; the loss is cross-entropy of cos(a_i, b_j)/τ over j, averaged over i
/// (F.cross_entropy(sim / τ, arange(N))). Similarities and loss are computed in double.
template <class T>
double info_nce(const xt::xtensor<T, 2>& a, const xt::xtensor<T, 2>& b, double temperature) {
    detail::check_pairs("info_nce", a, b, temperature);
    return detail::info_nce_of(cosine_similarity_matrix<T, double>(a, b), temperature, false);
}

/// CLIP's symmetric loss: (InfoNCE(a→b) + InfoNCE(b→a)) / 2 on one similarity matrix.
template <class T>
double clip_loss(const xt::xtensor<T, 2>& a, const xt::xtensor<T, 2>& b, double temperature) {
    detail::check_pairs("clip_loss", a, b, temperature);
    const auto sim = cosine_similarity_matrix<T, double>(a, b);
    return 0.5 * (detail::info_nce_of(sim, temperature, false) +
                  detail::info_nce_of(sim, temperature, true));
}

} // namespace emofuse::align
