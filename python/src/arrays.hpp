// python/src/arrays.hpp — turning Python array-likes (NumPy arrays, buffer-protocol objects,
// anything with __array__ such as CPU torch tensors) into typed views for the library, with
// errors that name the argument, the expected and the given shape or dtype.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace emofuse::python {

namespace py = pybind11;

/// `obj` as a NumPy array without copying when it already is one or shares memory through
/// the buffer protocol / __array__ (numpy.asarray semantics); TypeError naming `name` when
/// it is not array-like.
py::array as_array(py::handle obj, const char* name);

/// "(3, 4)" for a shape.
std::string shape_text(const py::array& array);
/// "float32", "int64", "object"...
std::string dtype_text(const py::array& array);

/// A C-contiguous float32 or float64 array of a checked rank. Strided input is copied into a
/// contiguous one; a float32/float64 contiguous input is viewed in place.
struct real_array {
    py::array array;
    bool is_double = true;
    std::size_t rows = 0;
    std::size_t cols = 1; ///< 1 for a vector

    template <class T>
    [[nodiscard]] std::span<const T> values() const {
        return {static_cast<const T*>(array.data()), rows * cols};
    }
    [[nodiscard]] bool finite_row(std::size_t row) const;
};

/// A real vector (rank 1). TypeError unless the dtype is float32/float64 (`allow_integers`
/// also takes integer dtypes, converted to float64); ValueError for another rank.
real_array real_vector(py::handle obj, const char* name, bool allow_integers = false);
/// A real matrix (rank 2) with `cols` columns (0: any).
real_array real_matrix(py::handle obj, const char* name, std::size_t cols = 0);
/// Brings two real arrays to one dtype: float64 when they differ (as NumPy promotes).
void promote_together(real_array& a, real_array& b);
/// A copy of the rows of `in` listed in `keep`.
real_array select_rows(const real_array& in, const std::vector<std::size_t>& keep);

/// Class ids as int64: viewed in place for a contiguous int64 array, converted otherwise
/// (other integer dtypes; floats holding whole numbers, as text files give). TypeError for
/// other dtypes, ValueError for a fractional or non-finite value or a wrong rank.
struct label_array {
    py::array array; ///< keeps the viewed memory alive
    std::vector<std::int64_t> owned;
    std::span<const std::int64_t> values;
    std::size_t rows = 0;
    std::size_t cols = 1;
};
label_array labels(py::handle obj, const char* name, int rank = 1, std::size_t cols = 0);
/// Row indices of a float array that are finite in every column (for nan="skip").
std::vector<std::size_t> finite_rows(const real_array& a);

/// Open-vocabulary samples: a sequence whose items are word lists or comma-separated strings.
std::vector<std::vector<std::string>> word_sets(const py::object& obj, const char* name);

/// Index of the first largest of `count` values (numpy.argmax).
inline std::size_t first_argmax(const double* row, std::size_t count) {
    std::size_t best = 0;
    for (std::size_t i = 1; i < count; ++i) {
        best = row[i] > row[best] ? i : best;
    }
    return best;
}

/// An xtensor handed to NumPy without a copy: the array owns the tensor's buffer through a
/// capsule.
template <class Tensor>
py::array to_numpy(Tensor&& tensor) {
    using owned_type = std::decay_t<Tensor>;
    using T = typename owned_type::value_type;
    auto* owned = new owned_type(std::forward<Tensor>(tensor));
    const py::capsule release(owned, [](void* p) { delete static_cast<owned_type*>(p); });
    std::vector<py::ssize_t> shape(owned->shape().begin(), owned->shape().end());
    return py::array_t<T>(shape, owned->data(), release);
}

/// ValueError "name: expected E, got G".
[[noreturn]] void throw_value(const std::string& name, const std::string& expected,
                              const std::string& given);
/// Checks a length against the reference argument's.
void check_rows(const char* name, std::size_t rows, const char* reference, std::size_t expected);

} // namespace emofuse::python
