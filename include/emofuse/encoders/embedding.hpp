// emofuse/encoders/embedding.hpp — nn.Embedding in inference: a row lookup.
#pragma once

#include <emofuse/config.hpp>
#include <emofuse/core/error.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>

namespace emofuse::encoders {

/// The constructor arguments of nn.Embedding that shape its weight. padding_idx changes
/// nothing in inference (its row is whatever was stored); max_norm, which rewrites rows during
/// the lookup, is not supported.
struct embedding_options {
    std::size_t num_embeddings = 0;
    std::size_t embedding_dim = 0;
};

/// nn.Embedding: out[..., :] = weight[index, :] for every index of the input.
template <class T>
class embedding {
public:
    static_assert(std::is_floating_point_v<T>, "encoders::embedding<T>: T must be float or double");

    embedding() = default;

    /// `weight` is (num_embeddings, embedding_dim).
    explicit embedding(xt::xtensor<T, 2> weight) : weight_(std::move(weight)) {}

    /// Loads `<prefix>weight` (num_embeddings, embedding_dim). Throws value_error when it is
    /// missing, shape_error for a wrong shape.
    template <class StateDict>
    static embedding from_state_dict(const StateDict& sd, const std::string& prefix,
                                     const embedding_options& options) {
        const std::string name = prefix + "weight";
        if (!sd.contains(name)) {
            throw value_error(
                emofuse::detail::concat_message("encoders::embedding: parameter '", name,
                                                "': expected in the state dict, missing"));
        }
        return embedding(sd.template tensor<T, 2>(
            name, std::array<std::size_t, 2>{options.num_embeddings, options.embedding_dim}));
    }

    [[nodiscard]] std::size_t num_embeddings() const { return weight_.shape(0); }
    [[nodiscard]] std::size_t embedding_dim() const { return weight_.shape(1); }
    [[nodiscard]] const xt::xtensor<T, 2>& weight() const { return weight_; }

    /// Indices of any rank N (any integer type) → (indices' shape…, embedding_dim). Throws
    /// value_error naming the first index outside [0, num_embeddings).
    template <class Index, std::size_t N>
    [[nodiscard]] xt::xtensor<T, N + 1> operator()(const xt::xtensor<Index, N>& indices) const {
        static_assert(std::is_integral_v<Index>, "encoders::embedding: indices must be integers");
        std::array<std::size_t, N + 1> shape{};
        std::copy(indices.shape().begin(), indices.shape().end(), shape.begin());
        shape[N] = embedding_dim();
        xt::xtensor<T, N + 1> out(shape);
        const std::size_t dim = embedding_dim();
        for (std::size_t i = 0; i < indices.size(); ++i) {
            const Index index = indices.data()[i];
            if (!std::in_range<std::size_t>(index) ||
                static_cast<std::size_t>(index) >= num_embeddings()) {
                throw value_error(emofuse::detail::concat_message(
                    "encoders::embedding: index at position ", i, ": expected in [0, ",
                    num_embeddings(), "), got ", +index));
            }
            std::copy_n(weight_.data() + static_cast<std::size_t>(index) * dim, dim,
                        out.data() + i * dim);
        }
        return out;
    }

private:
    xt::xtensor<T, 2> weight_;
};

} // namespace emofuse::encoders
