// python/src/arrays.cpp — see arrays.hpp.
#include "arrays.hpp"

#include <cmath>
#include <sstream>

namespace emofuse::python {

namespace {

bool is_real(const py::dtype& dtype) {
    return dtype.kind() == 'f' && (dtype.itemsize() == 4 || dtype.itemsize() == 8);
}
bool is_integer(const py::dtype& dtype) {
    return dtype.kind() == 'i' || dtype.kind() == 'u';
}

std::string rank_text(int rank, std::size_t cols) {
    if (rank == 1) {
        return "a 1-D array (n,)";
    }
    return cols == 0 ? std::string("a 2-D array (n, k)")
                     : "a 2-D array (n, " + std::to_string(cols) + ")";
}

py::array contiguous_as(const py::array& in, const py::dtype& dtype) {
    return py::array::ensure(in.attr("astype")(dtype, py::arg("copy") = false), py::array::c_style);
}

} // namespace

py::array as_array(py::handle obj, const char* name) {
    if (obj.is_none()) {
        throw py::type_error(std::string(name) + ": expected an array, got None");
    }
    if (py::isinstance<py::array>(obj)) {
        return py::reinterpret_borrow<py::array>(obj);
    }
    const std::string given = py::str(py::type::of(obj).attr("__name__"));
    py::array out;
    try {
        out = py::module_::import("numpy").attr("asarray")(obj);
    } catch (py::error_already_set& e) {
        throw py::type_error(std::string(name) +
                             ": expected an array-like of numbers (NumPy "
                             "array, buffer or __array__), got " +
                             given + " (" + e.what() + ")");
    }
    if (out.dtype().kind() == 'O') { // numpy wraps anything else in an object array
        throw py::type_error(std::string(name) +
                             ": expected an array-like of numbers (NumPy "
                             "array, buffer or __array__), got " +
                             given);
    }
    return out;
}

std::string shape_text(const py::array& array) {
    std::ostringstream out;
    out << "(";
    for (py::ssize_t d = 0; d < array.ndim(); ++d) {
        out << (d ? ", " : "") << array.shape(d);
    }
    out << (array.ndim() == 1 ? ",)" : ")");
    return out.str();
}

std::string dtype_text(const py::array& array) {
    return py::str(array.dtype());
}

void throw_value(const std::string& name, const std::string& expected, const std::string& given) {
    throw py::value_error(name + ": expected " + expected + ", got " + given);
}

void check_rows(const char* name, std::size_t rows, const char* reference, std::size_t expected) {
    if (rows != expected) {
        throw py::value_error(std::string(name) + ": expected " + std::to_string(expected) +
                              " samples (as " + reference + " has), got " + std::to_string(rows));
    }
}

static real_array make_real(py::handle obj, const char* name, int rank, std::size_t cols,
                            bool allow_integers) {
    py::array in = as_array(obj, name);
    const py::dtype dtype = in.dtype();
    if (!is_real(dtype) && !(allow_integers && is_integer(dtype))) {
        throw py::type_error(std::string(name) + ": expected dtype float32 or float64, got " +
                             dtype_text(in));
    }
    if (in.ndim() != rank || (rank == 2 && cols != 0 && in.shape(1) != py::ssize_t(cols))) {
        throw_value(name, rank_text(rank, cols), "shape " + shape_text(in));
    }
    real_array out;
    out.is_double = !is_real(dtype) || dtype.itemsize() == 8;
    out.array = contiguous_as(in, py::dtype(out.is_double ? "float64" : "float32"));
    out.rows = static_cast<std::size_t>(in.shape(0));
    out.cols = rank == 2 ? static_cast<std::size_t>(in.shape(1)) : 1;
    return out;
}

real_array real_vector(py::handle obj, const char* name, bool allow_integers) {
    return make_real(obj, name, 1, 0, allow_integers);
}

real_array real_matrix(py::handle obj, const char* name, std::size_t cols) {
    return make_real(obj, name, 2, cols, false);
}

void promote_together(real_array& a, real_array& b) {
    if (a.is_double == b.is_double) {
        return;
    }
    real_array& single = a.is_double ? b : a;
    single.array = contiguous_as(single.array, py::dtype("float64"));
    single.is_double = true;
}

bool real_array::finite_row(std::size_t row) const {
    for (std::size_t c = 0; c < cols; ++c) {
        const double v = is_double ? values<double>()[row * cols + c]
                                   : static_cast<double>(values<float>()[row * cols + c]);
        if (!std::isfinite(v)) {
            return false;
        }
    }
    return true;
}

std::vector<std::size_t> finite_rows(const real_array& a) {
    std::vector<std::size_t> keep;
    keep.reserve(a.rows);
    for (std::size_t r = 0; r < a.rows; ++r) {
        if (a.finite_row(r)) {
            keep.push_back(r);
        }
    }
    return keep;
}

real_array select_rows(const real_array& in, const std::vector<std::size_t>& keep) {
    real_array out = in;
    std::vector<py::ssize_t> shape{py::ssize_t(keep.size())};
    if (in.array.ndim() == 2) {
        shape.push_back(py::ssize_t(in.cols));
    }
    out.array = py::array(in.array.dtype(), shape);
    out.rows = keep.size();
    const auto item = static_cast<std::size_t>(in.array.itemsize()) * in.cols;
    const auto* src = static_cast<const char*>(in.array.data());
    auto* dst = static_cast<char*>(out.array.mutable_data());
    for (std::size_t i = 0; i < keep.size(); ++i) {
        std::copy(src + keep[i] * item, src + (keep[i] + 1) * item, dst + i * item);
    }
    return out;
}

label_array labels(py::handle obj, const char* name, int rank, std::size_t cols) {
    py::array in = as_array(obj, name);
    const py::dtype dtype = in.dtype();
    if (!is_integer(dtype) && !is_real(dtype) && dtype.kind() != 'b') {
        throw py::type_error(std::string(name) +
                             ": expected integer class ids (any integer "
                             "dtype, or floats holding whole numbers), got " +
                             dtype_text(in));
    }
    if (in.ndim() != rank || (rank == 2 && cols != 0 && in.shape(1) != py::ssize_t(cols))) {
        throw_value(name, rank_text(rank, cols), "shape " + shape_text(in));
    }
    label_array out;
    out.rows = static_cast<std::size_t>(in.shape(0));
    out.cols = rank == 2 ? static_cast<std::size_t>(in.shape(1)) : 1;
    const std::size_t count = out.rows * out.cols;
    if (dtype.kind() == 'i' && dtype.itemsize() == 8 && (in.flags() & py::array::c_style) != 0) {
        out.array = in;
        out.values = {static_cast<const std::int64_t*>(in.data()), count};
        return out;
    }
    if (is_real(dtype)) {
        const py::array as_double = contiguous_as(in, py::dtype("float64"));
        const auto* v = static_cast<const double*>(as_double.data());
        out.owned.resize(count);
        for (std::size_t i = 0; i < count; ++i) {
            if (!std::isfinite(v[i]) || v[i] != std::floor(v[i]) || std::fabs(v[i]) > 9.0e15) {
                std::ostringstream given;
                given << v[i] << " at index " << i / out.cols;
                throw_value(name, "a whole-number class id", given.str());
            }
            out.owned[i] = static_cast<std::int64_t>(v[i]);
        }
    } else {
        const py::array as_int = contiguous_as(in, py::dtype("int64"));
        const auto* v = static_cast<const std::int64_t*>(as_int.data());
        out.owned.assign(v, v + count);
    }
    out.values = out.owned;
    return out;
}

} // namespace emofuse::python
