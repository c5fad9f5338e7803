// emofuse/fusion/compact_bilinear.hpp — multimodal compact bilinear pooling (MCB, Fukui et al.
// 2016): the count sketch of the outer product x_0 ⊗ x_1, of size D.
//
// Ψ_m(x)_j = Σ_{i: h_m(i) = j} s_m(i)·x_i with fixed hashes h_m: [d_m) → [D) and signs
// s_m ∈ {±1}, computed in O(d_m); z = Ψ_0(x_0) ⊛ Ψ_1(x_1), the circular convolution
// z = IFFT(FFT(Ψ_0)·FFT(Ψ_1)) with the 1/D-scaled inverse. Optionally followed by power and L2
// normalisation (MCB for VQA). Batch order gives x_0, x_1.
#pragma once

#include "emofuse/core/batch.hpp"
#include "emofuse/core/concepts.hpp"
#include "emofuse/core/error.hpp"
#include "emofuse/fusion/bilinear.hpp"
#include "emofuse/fusion/detail/fft.hpp"
#include "emofuse/fusion/detail/inputs.hpp"
#include "emofuse/fusion/modality_mask.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

namespace emofuse::fusion {

/// How z = Ψ_0 ⊛ Ψ_1 is computed. Both give the same values up to rounding.
enum class mcb_convolution {
    /// Radix-2 FFT of both sketches and one inverse: O(D log D) per sample (D a power of two).
    fft,
    /// The sketch of the outer product directly, z[(h_0(i) + h_1(j)) mod D] += s_0(i)s_1(j)
    /// x_0i x_1j: O(d_0·d_1) per sample, any D.
    direct,
    /// direct when d_0·d_1 is below the FFT's cost (about 5·D·log2 D), else fft.
    automatic,
};

/// MCB over two modalities. operator() is const and thread-safe.
template <class T>
class compact_bilinear : public fusion_stage_base {
public:
    using index_vector = xt::xtensor<std::int64_t, 1>;

    /// Hashes and signs drawn from a fixed generator (splitmix64) seeded with `seed`: the same
    /// seed gives the same sketch on every platform.
    compact_bilinear(std::size_t d0, std::size_t d1, std::size_t output, std::uint64_t seed = 0,
                     bool normalize = false, mcb_convolution method = mcb_convolution::automatic)
        : compact_bilinear(random_hash(d0, output, seed, 0), random_sign(d0, seed, 1),
                           random_hash(d1, output, seed, 2), random_sign(d1, seed, 3), output,
                           normalize, method) {}

    /// Given hashes h_m (values in [0, D)) and signs s_m (values ±1).
    compact_bilinear(index_vector h0, index_vector s0, index_vector h1, index_vector s1,
                     std::size_t output, bool normalize = false,
                     mcb_convolution method = mcb_convolution::automatic)
        : h0_(std::move(h0)), s0_(std::move(s0)), h1_(std::move(h1)), s1_(std::move(s1)),
          output_(output), normalize_(normalize) {
        constexpr const char* stage = "fusion::compact_bilinear";
        if (output_ == 0) {
            throw value_error("fusion::compact_bilinear: output size D: expected > 0, got 0");
        }
        check_size(stage, "s_0 size (= h_0 size)", h0_.size(), s0_.size());
        check_size(stage, "s_1 size (= h_1 size)", h1_.size(), s1_.size());
        check_values(h0_, s0_, "0");
        check_values(h1_, s1_, "1");
        const bool power_of_two = (output_ & (output_ - 1)) == 0;
        if (method == mcb_convolution::automatic) {
            std::size_t log2 = 0;
            while ((std::size_t{1} << log2) < output_) {
                ++log2;
            }
            method = (!power_of_two || h0_.size() * h1_.size() < 5 * output_ * log2)
                         ? mcb_convolution::direct
                         : mcb_convolution::fft;
        }
        if (method == mcb_convolution::fft) {
            if (!power_of_two) {
                throw value_error(emofuse::detail::concat_message(
                    stage, ": output size D for the FFT convolution: expected a power of two, got ",
                    output_));
            }
            plan_ = std::make_shared<const detail::fft_plan<T>>(output_);
        }
        method_ = method;
    }

    /// Loads `<prefix>h0`, `<prefix>s0`, `<prefix>h1`, `<prefix>s1` (integer tensors, (d_m,)).
    template <class StateDict>
    static compact_bilinear from_state_dict(const StateDict& sd, const std::string& prefix,
                                            std::size_t output, bool normalize = false,
                                            mcb_convolution method = mcb_convolution::automatic) {
        return compact_bilinear(sd.template tensor<std::int64_t, 1>(prefix + "h0"),
                                sd.template tensor<std::int64_t, 1>(prefix + "s0"),
                                sd.template tensor<std::int64_t, 1>(prefix + "h1"),
                                sd.template tensor<std::int64_t, 1>(prefix + "s1"), output,
                                normalize, method);
    }

    [[nodiscard]] std::size_t outputs() const { return output_; }
    [[nodiscard]] mcb_convolution method() const { return method_; }
    [[nodiscard]] const index_vector& hash(std::size_t m) const { return m == 0 ? h0_ : h1_; }
    [[nodiscard]] const index_vector& sign(std::size_t m) const { return m == 0 ? s0_ : s1_; }
    /// No trained parameters: the sketch is fixed.
    [[nodiscard]] std::size_t parameter_count() const { return 0; }

    template <batch_type Batch>
    features<T> operator()(const Batch& batch) const {
        constexpr const char* stage = "fusion::compact_bilinear";
        const auto x = detail::bilinear_inputs<T>(batch, stage, h0_.size(), h1_.size());
        const std::size_t rows = batch_size(batch, stage);
        features<T> out = xt::zeros<T>({rows, output_});
        if (rows == 0) {
            return out;
        }
        kernels::workspace& ws = detail::fusion_scratch();
        if (method_ == mcb_convolution::direct) {
            direct(x[0], x[1], rows, out.data(), ws);
        } else {
            T* a = ws.buffer<T>(0, output_);
            T* b = ws.buffer<T>(1, output_);
            T* re = ws.buffer<T>(2, output_);
            T* im = ws.buffer<T>(3, output_);
            for (std::size_t r = 0; r < rows; ++r) {
                sketch(x[0].row(r), h0_, s0_, a);
                sketch(x[1].row(r), h1_, s1_, b);
                plan_->circular_convolution(a, b, out.data() + r * output_, re, im);
            }
        }
        if (normalize_) {
            detail::power_l2_normalize(out.data(), rows, output_, output_);
        }
        return out;
    }

    /// Missing modalities: an absent modality is zeros (so z = 0 for that sample).
    template <batch_type Batch>
    features<T> operator()(const Batch& batch, const modality_mask& mask) const {
        return (*this)(zero_absent(batch, mask, "fusion::compact_bilinear"));
    }

private:
    static std::uint64_t splitmix64(std::uint64_t& state) {
        std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    static index_vector random_hash(std::size_t d, std::size_t output, std::uint64_t seed,
                                    std::uint64_t stream) {
        auto h = index_vector::from_shape({d});
        std::uint64_t state = seed * 4 + stream;
        for (auto& v : h) {
            v = static_cast<std::int64_t>(output == 0 ? 0 : splitmix64(state) % output);
        }
        return h;
    }
    static index_vector random_sign(std::size_t d, std::uint64_t seed, std::uint64_t stream) {
        auto s = index_vector::from_shape({d});
        std::uint64_t state = seed * 4 + stream;
        for (auto& v : s) {
            v = (splitmix64(state) >> 63) != 0 ? 1 : -1;
        }
        return s;
    }

    void check_values(const index_vector& h, const index_vector& s, const char* m) const {
        for (std::size_t i = 0; i < h.size(); ++i) {
            if (h(i) < 0 || static_cast<std::size_t>(h(i)) >= output_) {
                throw value_error(emofuse::detail::concat_message(
                    "fusion::compact_bilinear: h_", m, "[", i, "]: expected a value in [0, ",
                    output_, "), got ", h(i)));
            }
            if (s(i) != 1 && s(i) != -1) {
                throw value_error(emofuse::detail::concat_message(
                    "fusion::compact_bilinear: s_", m, "[", i, "]: expected +1 or -1, got ", s(i)));
            }
        }
    }

    // Ψ(x) into out (D values), O(d).
    void sketch(const T* x, const index_vector& h, const index_vector& s, T* out) const {
        std::fill_n(out, output_, T(0));
        for (std::size_t i = 0; i < h.size(); ++i) {
            out[h(i)] += static_cast<T>(s(i)) * x[i];
        }
    }

    void direct(const detail::feature_view<T>& x0, const detail::feature_view<T>& x1,
                std::size_t rows, T* out, kernels::workspace& ws) const {
        const std::size_t d0 = h0_.size();
        const std::size_t d1 = h1_.size();
        // Per sample: signed values s_1(j)·x_1j, then one pass per i over the hash offsets of
        // modality 1 shifted by h_0(i): the index wraps at D (a mask when D is a power of two).
        T* signed1 = ws.buffer<T>(0, d1);
        const std::int64_t* h1 = h1_.data();
        const bool power_of_two = (output_ & (output_ - 1)) == 0;
        const std::size_t mask = output_ - 1;
        for (std::size_t r = 0; r < rows; ++r) {
            const T* a = x0.row(r);
            const T* b = x1.row(r);
            T* z = out + r * output_;
            for (std::size_t j = 0; j < d1; ++j) {
                signed1[j] = static_cast<T>(s1_(j)) * b[j];
            }
            for (std::size_t i = 0; i < d0; ++i) {
                const T ai = static_cast<T>(s0_(i)) * a[i];
                const std::size_t base = static_cast<std::size_t>(h0_(i));
                if (power_of_two) {
                    for (std::size_t j = 0; j < d1; ++j) {
                        z[(base + static_cast<std::size_t>(h1[j])) & mask] += ai * signed1[j];
                    }
                } else {
                    for (std::size_t j = 0; j < d1; ++j) {
                        std::size_t k = base + static_cast<std::size_t>(h1[j]);
                        z[k >= output_ ? k - output_ : k] += ai * signed1[j];
                    }
                }
            }
        }
    }

    index_vector h0_, s0_, h1_, s1_;
    std::size_t output_;
    bool normalize_;
    mcb_convolution method_ = mcb_convolution::direct;
    std::shared_ptr<const detail::fft_plan<T>> plan_;
};

} // namespace emofuse::fusion
