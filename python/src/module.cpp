// python/src/module.cpp — the compiled part of the emofuse Python package, `emofuse._core`.
// emofuse's exceptions become Python ones: shape_error and value_error ValueError, io_error
// OSError, any other emofuse::error RuntimeError.
#include "bindings.hpp"

#include <emofuse/core/error.hpp>
#include <emofuse/platform/parallel.hpp>

namespace py = pybind11;

PYBIND11_MODULE(_core, m) {
    m.doc() = "Compiled bindings of the emofuse C++ library (use the `emofuse` package).";
    py::register_exception_translator([](std::exception_ptr raised) {
        try {
            if (raised) {
                std::rethrow_exception(raised);
            }
        } catch (const emofuse::shape_error& e) {
            PyErr_SetString(PyExc_ValueError, e.what());
        } catch (const emofuse::value_error& e) {
            PyErr_SetString(PyExc_ValueError, e.what());
        } catch (const emofuse::io_error& e) {
            PyErr_SetString(PyExc_OSError, e.what());
        } catch (const emofuse::error& e) {
            PyErr_SetString(PyExc_RuntimeError, e.what());
        }
    });
    m.def("set_num_threads", &emofuse::set_num_threads, pybind11::arg("n"),
          "Sets how many threads emofuse's parallel work uses from now on (0: back to the "
          "default, EMOFUSE_NUM_THREADS, else every core). Results do not depend on it.");
    m.def("num_threads", &emofuse::num_threads,
          "The thread count emofuse's parallel work uses (set_num_threads, else "
          "EMOFUSE_NUM_THREADS, else every core).");
    auto metrics = m.def_submodule("metrics", "Metric suites, accumulators and tests.");
    emofuse::python::bind_metric_suites(metrics);
    emofuse::python::bind_metric_accumulators(metrics);
    auto align = m.def_submodule("align", "Interval alignment and .csd files.");
    emofuse::python::bind_align(align);
    auto fusion = m.def_submodule("fusion", "Fusion operators on (n, d_m) arrays.");
    emofuse::python::bind_fusion(fusion);
    auto models = m.def_submodule("models", "MMSA checkpoints run by the model zoo.");
    emofuse::python::bind_models(models);
}
