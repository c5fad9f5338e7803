// emofuse/emofuse.hpp — the umbrella header: everything that needs no optional dependency.
#pragma once

#include "emofuse/config.hpp"

#include "emofuse/core/batch.hpp"
#include "emofuse/core/concepts.hpp"
#include "emofuse/core/dims.hpp"
#include "emofuse/core/error.hpp"
#include "emofuse/core/modality.hpp"
#include "emofuse/core/pipeline.hpp"
#include "emofuse/core/sequence.hpp"

#include "emofuse/align/pool.hpp"

#include "emofuse/fusion/concat.hpp"

#include "emofuse/heads/linear.hpp"
#include "emofuse/heads/ridge.hpp"

#include "emofuse/kernels/linear.hpp"
