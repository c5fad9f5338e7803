// Planted violation (never compiled): metrics may not include kernels.
#pragma once

#include <emofuse/core/error.hpp>
#include <emofuse/platform/prefetch.hpp>
#include "emofuse/kernels/simd.hpp"
