// emofuse/fusion/detail/fft.hpp — an iterative radix-2 complex FFT (power-of-two sizes) and
// the circular convolution of two real sequences built on it (for compact bilinear pooling).
#pragma once

#include "emofuse/core/error.hpp"
#include "emofuse/fusion/detail/namespace.hpp"

#include <cmath>
#include <cstddef>
#include <numbers>
#include <utility>
#include <vector>

namespace emofuse::fusion::detail {

/// A size-n radix-2 FFT plan: bit-reversal table and, per stage, its twiddles stored
/// contiguously so the butterfly loops read them in order. Immutable after construction, so
/// one plan may be used from several threads.
template <class T>
class fft_plan {
public:
    explicit fft_plan(std::size_t n) : n_(n) {
        if (n == 0 || (n & (n - 1)) != 0) {
            throw value_error(emofuse::detail::concat_message(
                "fusion::fft: size: expected a power of two, got ", n));
        }
        std::size_t bits = 0;
        while ((std::size_t{1} << bits) < n) {
            ++bits;
        }
        reversed_.resize(n);
        for (std::size_t i = 0; i < n; ++i) {
            std::size_t r = 0;
            for (std::size_t b = 0; b < bits; ++b) {
                r |= ((i >> b) & 1u) << (bits - 1 - b);
            }
            reversed_[i] = r;
        }
        // Stage with butterflies of span `half` uses w_j = exp(−2πi·j/(2·half)), j < half;
        // stages are stored one after another (1 + 2 + ... + n/2 = n − 1 values).
        cos_.reserve(n);
        sin_.reserve(n);
        for (std::size_t half = 1; half < n; half *= 2) {
            for (std::size_t j = 0; j < half; ++j) {
                const long double angle = -2.0L * std::numbers::pi_v<long double> *
                                          static_cast<long double>(j) /
                                          static_cast<long double>(2 * half);
                cos_.push_back(static_cast<T>(std::cos(angle)));
                sin_.push_back(static_cast<T>(std::sin(angle)));
            }
        }
    }

    [[nodiscard]] std::size_t size() const { return n_; }

    /// In place: X_k = Σ_j x_j·exp(−2πi·jk/n) (inverse = false) or exp(+2πi·jk/n) (inverse =
    /// true, unscaled).
    void transform(T* re, T* im, bool inverse) const {
        for (std::size_t i = 0; i < n_; ++i) {
            const std::size_t r = reversed_[i];
            if (r > i) {
                std::swap(re[i], re[r]);
                std::swap(im[i], im[r]);
            }
        }
        const T sign = inverse ? T(-1) : T(1);
        std::size_t offset = 0;
        for (std::size_t half = 1; half < n_; half *= 2) {
            const T* wc = cos_.data() + offset;
            const T* ws = sin_.data() + offset;
            for (std::size_t start = 0; start < n_; start += 2 * half) {
                T* are = re + start;
                T* aim = im + start;
                T* bre = re + start + half;
                T* bim = im + start + half;
                for (std::size_t j = 0; j < half; ++j) {
                    const T c = wc[j];
                    const T s = sign * ws[j];
                    const T tre = bre[j] * c - bim[j] * s;
                    const T tim = bre[j] * s + bim[j] * c;
                    bre[j] = are[j] - tre;
                    bim[j] = aim[j] - tim;
                    are[j] += tre;
                    aim[j] += tim;
                }
            }
            offset += half;
        }
    }

    /// out = a ⊛ b (circular, length n) for real a, b, with two complex transforms: one
    /// forward FFT of a + i·b gives both spectra, their product is Hermitian, and one inverse
    /// FFT scaled by 1/n gives the real result. `re`, `im` are n-value scratch arrays.
    void circular_convolution(const T* a, const T* b, T* out, T* re, T* im) const {
        for (std::size_t i = 0; i < n_; ++i) {
            re[i] = a[i];
            im[i] = b[i];
        }
        transform(re, im, false);
        // A_k = (C_k + conj C_{n−k}) / 2, B_k = (C_k − conj C_{n−k}) / (2i), P_k = A_k·B_k;
        // k and n−k are handled together so the spectrum can be overwritten in place.
        for (std::size_t k = 0; k <= n_ / 2; ++k) {
            const std::size_t m = (n_ - k) & (n_ - 1);
            const T cr = re[k], ci = im[k], dr = re[m], di = im[m];
            const T ar = (cr + dr) / 2, ai = (ci - di) / 2; // A_k
            const T br = (ci + di) / 2, bi = (dr - cr) / 2; // B_k
            const T pr = ar * br - ai * bi, pi = ar * bi + ai * br;
            // P_{n−k} = conj(P_k) because a ⊛ b is real.
            re[k] = pr;
            im[k] = pi;
            re[m] = pr;
            im[m] = -pi;
        }
        transform(re, im, true);
        const T scale = T(1) / static_cast<T>(n_);
        for (std::size_t i = 0; i < n_; ++i) {
            out[i] = re[i] * scale;
        }
    }

private:
    std::size_t n_;
    std::vector<std::size_t> reversed_;
    std::vector<T> cos_;
    std::vector<T> sin_;
};

} // namespace emofuse::fusion::detail
