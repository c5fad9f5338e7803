# Finds emofuse's dependencies. A missing one stops configuration with the Debian package
# that provides it (cmake/install-deps.sh installs them all).
include(GNUInstallDirs)

macro(emofuse_require package debian_package)
    find_package(${package} ${ARGN} QUIET)
    if(NOT ${package}_FOUND)
        message(FATAL_ERROR
            "emofuse needs ${package}, which was not found. On Debian/Ubuntu: "
            "apt-get install ${debian_package}  (or run cmake/install-deps.sh)")
    endif()
endmacro()

emofuse_require(xtensor libxtensor-dev)
emofuse_require(xsimd libxsimd-dev)
emofuse_require(Boost libboost-dev 1.70)
emofuse_require(nlohmann_json nlohmann-json3-dev 3)

if(EMOFUSE_BUILD_TESTS)
    emofuse_require(doctest doctest-dev)
endif()
if(EMOFUSE_BUILD_BENCH)
    emofuse_require(benchmark libbenchmark-dev)
endif()

# Optional components: each exists only when its dependency is found.
find_package(HDF5 QUIET COMPONENTS C)
find_package(EXPAT QUIET) # emofuse::xlsx (.xlsx reading, the OV-MER emotion wheel)
find_package(MPI QUIET COMPONENTS CXX)
find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
    pkg_check_modules(UTF8PROC QUIET IMPORTED_TARGET libutf8proc)
endif()
