// Planted violation (never compiled): kernels sit below core and may not include it.
#pragma once

#include <emofuse/config.hpp>
#  include <emofuse/core/sequence.hpp>
