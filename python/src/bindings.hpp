// python/src/bindings.hpp — one registration function per area (each in its own translation
// unit, so the module's sources compile in parallel).
#pragma once

#include <pybind11/pybind11.h>

namespace emofuse::python {

void bind_metric_suites(pybind11::module_& m);
void bind_metric_accumulators(pybind11::module_& m);
void bind_align(pybind11::module_& m);
void bind_fusion(pybind11::module_& m);
void bind_models(pybind11::module_& m);

} // namespace emofuse::python
