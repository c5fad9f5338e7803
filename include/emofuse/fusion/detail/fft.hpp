// emofuse/fusion/detail/fft.hpp — an iterative radix-2 complex FFT (power-of-two sizes) and
// the circular convolution of two real sequences built on it (for compact bilinear pooling).
#pragma once

#include "emofuse/config.hpp"
#include "emofuse/core/error.hpp"

#include <algorithm>
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
    using batch = xsimd::batch<T, simd_arch>;

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
        decimation_in_time(re, im, inverse ? T(-1) : T(1));
    }

    /// out = a ⊛ b (circular, length n) for real a, b. One forward transform of a + i·b gives
    /// both spectra; their product is Hermitian; one inverse transform scaled by 1/n gives the
    /// real result. The forward pass is decimation-in-frequency (natural order in,
    /// bit-reversed out) and the inverse decimation-in-time from bit-reversed order, so no
    /// bit-reversal permutation is ever done; the product pairs frequencies k and n − k through
    /// the reversal table. `re`, `im` are n-value scratch arrays.
    void circular_convolution(const T* a, const T* b, T* out, T* re, T* im) const {
        std::copy_n(a, n_, re);
        std::copy_n(b, n_, im);
        forward_bit_reversed(re, im);
        // Position p holds frequency k = rev(p). A_k = (C_k + conj C_{n−k}) / 2,
        // B_k = (C_k − conj C_{n−k}) / (2i), P_k = A_k·B_k and P_{n−k} = conj P_k.
        for (std::size_t p = 0; p < n_; ++p) {
            const std::size_t k = reversed_[p];
            const std::size_t m = (n_ - k) & (n_ - 1);
            if (m < k) {
                continue; // handled with its partner
            }
            const std::size_t q = reversed_[m];
            const T cr = re[p], ci = im[p], dr = re[q], di = im[q];
            const T ar = (cr + dr) / 2, ai = (ci - di) / 2;
            const T br = (ci + di) / 2, bi = (dr - cr) / 2;
            const T pr = ar * br - ai * bi, pi = ar * bi + ai * br;
            re[p] = pr;
            im[p] = pi;
            re[q] = pr;
            im[q] = m == k ? pi : -pi;
        }
        inverse_from_bit_reversed(re, im);
        const T scale = T(1) / static_cast<T>(n_);
        for (std::size_t i = 0; i < n_; ++i) {
            out[i] = re[i] * scale;
        }
    }

private:
    // Decimation in frequency: natural-order input, bit-reversed-order spectrum.
    void forward_bit_reversed(T* re, T* im) const {
        constexpr std::size_t lanes = batch::size;
        for (std::size_t half = n_ / 2; half >= 1; half /= 2) {
            const T* wc = cos_.data() + (half - 1);
            const T* ws = sin_.data() + (half - 1);
            for (std::size_t start = 0; start < n_; start += 2 * half) {
                T* are = re + start;
                T* aim = im + start;
                T* bre = re + start + half;
                T* bim = im + start + half;
                std::size_t j = 0;
                for (; j + lanes <= half; j += lanes) {
                    const batch ar = batch::load_unaligned(are + j);
                    const batch ai = batch::load_unaligned(aim + j);
                    const batch br = batch::load_unaligned(bre + j);
                    const batch bi = batch::load_unaligned(bim + j);
                    const batch c = batch::load_unaligned(wc + j);
                    const batch sn = batch::load_unaligned(ws + j);
                    const batch dr = ar - br, di = ai - bi;
                    (ar + br).store_unaligned(are + j);
                    (ai + bi).store_unaligned(aim + j);
                    (dr * c - di * sn).store_unaligned(bre + j);
                    (dr * sn + di * c).store_unaligned(bim + j);
                }
                for (; j < half; ++j) {
                    const T dr = are[j] - bre[j], di = aim[j] - bim[j];
                    are[j] += bre[j];
                    aim[j] += bim[j];
                    bre[j] = dr * wc[j] - di * ws[j];
                    bim[j] = dr * ws[j] + di * wc[j];
                }
            }
            if (half == 1) {
                break;
            }
        }
    }

    // Decimation in time with conjugate twiddles from bit-reversed order: natural-order
    // output of the unscaled inverse transform.
    void inverse_from_bit_reversed(T* re, T* im) const { decimation_in_time(re, im, T(-1)); }

    // Radix-2 decimation-in-time passes over bit-reversed input; sign −1 conjugates the
    // twiddles (inverse transform).
    void decimation_in_time(T* re, T* im, T sign) const {
        constexpr std::size_t lanes = batch::size;
        std::size_t offset = 0;
        for (std::size_t half = 1; half < n_; half *= 2) {
            const T* wc = cos_.data() + offset;
            const T* ws = sin_.data() + offset;
            for (std::size_t start = 0; start < n_; start += 2 * half) {
                T* are = re + start;
                T* aim = im + start;
                T* bre = re + start + half;
                T* bim = im + start + half;
                std::size_t j = 0;
                // Split real/imaginary arrays make every butterfly span of ≥ one register a
                // plain SIMD loop (twiddles contiguous per stage).
                for (; j + lanes <= half; j += lanes) {
                    const batch c = batch::load_unaligned(wc + j);
                    const batch sn = batch(sign) * batch::load_unaligned(ws + j);
                    const batch br = batch::load_unaligned(bre + j);
                    const batch bi = batch::load_unaligned(bim + j);
                    const batch tre = br * c - bi * sn;
                    const batch tim = br * sn + bi * c;
                    const batch ar = batch::load_unaligned(are + j);
                    const batch ai = batch::load_unaligned(aim + j);
                    (ar - tre).store_unaligned(bre + j);
                    (ai - tim).store_unaligned(bim + j);
                    (ar + tre).store_unaligned(are + j);
                    (ai + tim).store_unaligned(aim + j);
                }
                for (; j < half; ++j) {
                    const T c = wc[j];
                    const T sn = sign * ws[j];
                    const T tre = bre[j] * c - bim[j] * sn;
                    const T tim = bre[j] * sn + bim[j] * c;
                    bre[j] = are[j] - tre;
                    bim[j] = aim[j] - tim;
                    are[j] += tre;
                    aim[j] += tim;
                }
            }
            offset += half;
        }
    }

    std::size_t n_;
    std::vector<std::size_t> reversed_;
    std::vector<T> cos_;
    std::vector<T> sin_;
};

} // namespace emofuse::fusion::detail
