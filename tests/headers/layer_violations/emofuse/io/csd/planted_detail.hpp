// Planted violation (never compiled): csd may use io::detail (an enclosing namespace) and its
// own detail, but not align's. Comments naming kernels::detail::x do not count.
#pragma once

namespace emofuse::io::csd {
inline void planted() {
    io::detail::output_file* ok_enclosing = nullptr;
    csd::detail::handle ok_own;
    emofuse::detail::concat_message("root detail is visible everywhere");
    align::detail::hidden(); // the violation
    (void)ok_enclosing;
}
} // namespace emofuse::io::csd
