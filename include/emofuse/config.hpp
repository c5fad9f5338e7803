// emofuse/config.hpp — version, compiler/architecture detection, and the one place that
// names xtensor and xsimd header paths (their layout changed after xtensor 0.25).
#pragma once

#define EMOFUSE_VERSION_MAJOR 0
#define EMOFUSE_VERSION_MINOR 1
#define EMOFUSE_VERSION_PATCH 0
#define EMOFUSE_VERSION                                                                            \
    (EMOFUSE_VERSION_MAJOR * 10000 + EMOFUSE_VERSION_MINOR * 100 + EMOFUSE_VERSION_PATCH)

#if __cplusplus < 202002L && !(defined(_MSVC_LANG) && _MSVC_LANG >= 202002L)
#error                                                                                             \
    "emofuse needs C++20: compile with -std=c++20 (CMake: cxx_std_20 comes with emofuse::emofuse)"
#endif

#if defined(__clang__)
#define EMOFUSE_COMPILER_CLANG 1
#elif defined(__GNUC__)
#define EMOFUSE_COMPILER_GCC 1
#elif defined(_MSC_VER)
#define EMOFUSE_COMPILER_MSVC 1
#endif

#if defined(__GNUC__) || defined(__clang__)
#define EMOFUSE_RESTRICT __restrict__
#define EMOFUSE_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define EMOFUSE_RESTRICT
#define EMOFUSE_ALWAYS_INLINE inline
#endif

// xtensor >= 0.26 moved its headers into sub-folders; 0.24/0.25 (Debian 12) keep them flat.
#if __has_include(<xtensor/containers/xtensor.hpp>)
#include <xtensor/containers/xadapt.hpp>
#include <xtensor/containers/xtensor.hpp>
#define EMOFUSE_XTENSOR_NESTED_LAYOUT 1
#else
#include <xtensor/xadapt.hpp>
#include <xtensor/xtensor.hpp>
#endif

#include <xsimd/xsimd.hpp>

namespace emofuse {

/// Semantic version of the headers in use.
struct version_info {
    int major, minor, patch;
};
inline constexpr version_info version{EMOFUSE_VERSION_MAJOR, EMOFUSE_VERSION_MINOR,
                                      EMOFUSE_VERSION_PATCH};

/// The SIMD architecture kernels are compiled for (chosen by the consumer's -m flags).
using simd_arch = xsimd::default_arch;

} // namespace emofuse
