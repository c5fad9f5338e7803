// emofuse/fusion/detail/namespace.hpp — declares emofuse::fusion::detail with the core helpers
// that code inside emofuse::fusion names as `detail::...` (e.g. detail::concat_message in
// fusion/concat.hpp), so those names resolve whichever fusion headers were included first.
#pragma once

#include "emofuse/core/error.hpp"

namespace emofuse::fusion::detail {

using emofuse::detail::concat_message;

} // namespace emofuse::fusion::detail
