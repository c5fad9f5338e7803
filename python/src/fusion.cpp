// python/src/fusion.cpp — fusion operators on lists of (n, d_m) utterance-level arrays. The
// library's stages take compile-time batches, so each operator is instantiated for one to
// three modalities (keys m0, m1, m2 in list order) and float32 / float64.
#include "arrays.hpp"
#include "bindings.hpp"

#include <emofuse/core/batch.hpp>
#include <emofuse/core/modality.hpp>
#include <emofuse/fusion/concat.hpp>
#include <emofuse/fusion/low_rank_fusion.hpp>
#include <emofuse/fusion/tensor_fusion.hpp>

#include <pybind11/stl.h>

#include <string>
#include <utility>
#include <vector>

namespace emofuse::python {

namespace {

constexpr std::size_t max_modalities = 3;

template <class T>
xt::xtensor<T, 2> copy_matrix(const real_array& a) {
    auto out = xt::xtensor<T, 2>::from_shape({a.rows, a.cols});
    if (a.is_double) {
        std::copy_n(a.values<double>().data(), a.rows * a.cols, out.data());
    } else {
        std::copy_n(a.values<float>().data(), a.rows * a.cols, out.data());
    }
    return out;
}

/// The modalities as (n, d_m) arrays of one dtype (float64 when any is float64).
struct modality_inputs {
    std::vector<real_array> arrays;
    bool is_double = false;
};

modality_inputs read_modalities(const py::sequence& modalities) {
    if (modalities.size() < 1 || modalities.size() > max_modalities) {
        throw_value("modalities", "1 to 3 arrays", std::to_string(modalities.size()));
    }
    modality_inputs in;
    for (std::size_t m = 0; m < modalities.size(); ++m) {
        const std::string name = "modalities[" + std::to_string(m) + "]";
        in.arrays.push_back(real_matrix(modalities[m], name.c_str()));
        in.is_double = in.is_double || in.arrays.back().is_double;
        if (m > 0) {
            check_rows(name.c_str(), in.arrays.back().rows, "modalities[0]", in.arrays[0].rows);
        }
    }
    return in;
}

/// Calls stage(batch) on a batch built from the inputs (keys m0, m1, m2 in order).
template <class T, class Stage>
auto with_batch(const modality_inputs& in, const Stage& stage) {
    const auto& a = in.arrays;
    const auto run = [&](auto&& batch) {
        const py::gil_scoped_release unlocked;
        return stage(batch);
    };
    switch (a.size()) {
    case 1:
        return run(make_batch(modality<"m0">(copy_matrix<T>(a[0]))));
    case 2:
        return run(
            make_batch(modality<"m0">(copy_matrix<T>(a[0])), modality<"m1">(copy_matrix<T>(a[1]))));
    default:
        return run(make_batch(modality<"m0">(copy_matrix<T>(a[0])),
                              modality<"m1">(copy_matrix<T>(a[1])),
                              modality<"m2">(copy_matrix<T>(a[2]))));
    }
}

template <class T>
py::array tensor_fusion_as(const modality_inputs& in, bool prepend_one) {
    if (prepend_one) {
        return to_numpy(
            with_batch<T>(in, fusion::tensor_fusion<dims<>, fusion::tensor_form::prepend_one>{}));
    }
    return to_numpy(
        with_batch<T>(in, fusion::tensor_fusion<dims<>, fusion::tensor_form::no_prepend>{}));
}

template <class T>
py::array low_rank_fusion_as(const modality_inputs& in, const py::sequence& factors,
                             py::handle rank_weights, py::handle bias) {
    std::vector<xt::xtensor<T, 3>> packed;
    for (std::size_t m = 0; m < factors.size(); ++m) {
        const std::string name = "factors[" + std::to_string(m) + "]";
        py::array f = as_array(factors[m], name.c_str());
        if (f.ndim() != 3) {
            throw_value(name, "a 3-D array (rank, d + 1, H)", "shape " + shape_text(f));
        }
        const auto shape = std::vector<std::size_t>(f.shape(), f.shape() + 3);
        const real_array flat =
            real_matrix(f.reshape({f.shape(0) * f.shape(1), f.shape(2)}), name.c_str());
        auto factor = xt::xtensor<T, 3>::from_shape({shape[0], shape[1], shape[2]});
        const auto matrix = copy_matrix<T>(flat);
        std::copy_n(matrix.data(), matrix.size(), factor.data());
        packed.push_back(std::move(factor));
    }
    const fusion::low_rank_fusion<T> stage(
        std::move(packed), copy_matrix<T>(real_matrix(rank_weights, "rank_weights")),
        copy_matrix<T>(real_matrix(bias, "bias")));
    return to_numpy(with_batch<T>(in, stage));
}

} // namespace

void bind_fusion(py::module_& m) {
    m.def(
        "concat",
        [](const py::sequence& modalities) {
            const auto in = read_modalities(modalities);
            const auto stage = fusion::concat<>{};
            return in.is_double ? to_numpy(with_batch<double>(in, stage))
                                : to_numpy(with_batch<float>(in, stage));
        },
        py::arg("modalities"), "Concatenates (n, d_m) arrays along features, in list order.");
    m.def(
        "tensor_fusion",
        [](const py::sequence& modalities, bool prepend_one) {
            const auto in = read_modalities(modalities);
            return in.is_double ? tensor_fusion_as<double>(in, prepend_one)
                                : tensor_fusion_as<float>(in, prepend_one);
        },
        py::arg("modalities"), py::arg("prepend_one") = true,
        "TFN's outer product per sample: vec([1, h_0] ⊗ [1, h_1] ⊗ ...), (n, Π(d_m + 1)).");
    m.def(
        "low_rank_fusion",
        [](const py::sequence& modalities, const py::sequence& factors, py::handle rank_weights,
           py::handle bias) {
            const auto in = read_modalities(modalities);
            if (factors.size() != modalities.size()) {
                throw_value("factors",
                            std::to_string(modalities.size()) + " arrays (one per modality)",
                            std::to_string(factors.size()));
            }
            return in.is_double ? low_rank_fusion_as<double>(in, factors, rank_weights, bias)
                                : low_rank_fusion_as<float>(in, factors, rank_weights, bias);
        },
        py::arg("modalities"), py::arg("factors"), py::arg("rank_weights"), py::arg("bias"),
        "LMF (MMSA): factors[m] (rank, d_m + 1, H), rank_weights (1, rank), bias (1, H); "
        "returns (n, H).");
}

} // namespace emofuse::python
