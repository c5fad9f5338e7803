// emofuse/core/error.hpp — the exception hierarchy. Every error names the stage, the
// modality or tensor, what was expected and what was given.
#pragma once

#include <cstddef>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace emofuse {

/// Base of every exception emofuse throws.
class error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A tensor or container has the wrong rank, size or layout.
class shape_error : public error {
public:
    using error::error;
};

/// A value is outside what the operation defines: NaN/Inf under an error policy, a label
/// out of range, a negative length, an empty input.
class value_error : public error {
public:
    using error::error;
};

/// A file or stream could not be read or written, or its content is malformed.
class io_error : public error {
public:
    using error::error;
};

namespace detail {

template <class... Parts>
std::string concat_message(const Parts&... parts) {
    std::ostringstream out;
    (out << ... << parts);
    return out.str();
}

} // namespace detail

/// Builds "stage: what: expected E, got G".
template <class Expected, class Actual>
[[nodiscard]] std::string mismatch_message(std::string_view stage, std::string_view what,
                                           const Expected& expected, const Actual& actual) {
    return detail::concat_message(stage, ": ", what, ": expected ", expected, ", got ", actual);
}

/// Throws shape_error unless `expected == actual`.
template <class Size>
void check_size(std::string_view stage, std::string_view what, Size expected, Size actual) {
    if (expected != actual) {
        throw shape_error(mismatch_message(stage, what, expected, actual));
    }
}

} // namespace emofuse
