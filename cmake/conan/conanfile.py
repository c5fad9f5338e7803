"""Conan 2 recipe for emofuse (header-only).

From the repository root:
    conan create cmake/conan --build=missing
Consumers then `requires("emofuse/0.1.0")` and use `find_package(emofuse CONFIG REQUIRED)`
with `target_link_libraries(app PRIVATE emofuse::emofuse)` through Conan's CMakeDeps.
"""
import os

from conan import ConanFile
from conan.tools.cmake import CMake, CMakeDeps, CMakeToolchain, cmake_layout
from conan.tools.files import copy, load

required_conan_version = ">=2.0"


class EmofuseConan(ConanFile):
    name = "emofuse"
    description = ("Header-only C++20 toolkit for multimodal emotion recognition: alignment, "
                   "attention, tensor and bilinear fusion, read-out heads and metrics")
    license = "BSD-3-Clause"
    topics = ("multimodal", "emotion-recognition", "sentiment-analysis", "fusion", "simd",
              "header-only")
    package_type = "header-library"
    settings = "os", "arch", "compiler", "build_type"
    no_copy_source = True

    def set_version(self):
        # The version lives in one place: the project() call of the top-level CMakeLists.txt.
        cmakelists = load(self, os.path.join(self.recipe_folder, "..", "..", "CMakeLists.txt"))
        marker = "project(emofuse VERSION "
        self.version = cmakelists.split(marker, 1)[1].split()[0]

    def export_sources(self):
        root = os.path.join(self.recipe_folder, "..", "..")
        for pattern in ("CMakeLists.txt", "LICENSE", "include/*", "cmake/*.cmake",
                        "cmake/*.cmake.in"):
            copy(self, pattern, src=root, dst=self.export_sources_folder)

    def layout(self):
        cmake_layout(self)

    def requirements(self):
        # The public headers include these, so consumers need their headers too.
        self.requires("xtensor/[>=0.24.3 <0.26]", transitive_headers=True)
        self.requires("xsimd/[>=8.1.0 <10]", transitive_headers=True)
        self.requires("boost/[>=1.74.0]", transitive_headers=True,
                      options={"header_only": True})
        self.requires("nlohmann_json/[>=3.10 <4]", transitive_headers=True)

    def package_id(self):
        self.info.clear()

    def generate(self):
        toolchain = CMakeToolchain(self)
        toolchain.cache_variables["EMOFUSE_BUILD_TESTS"] = False
        toolchain.cache_variables["EMOFUSE_BUILD_EXAMPLES"] = False
        toolchain.cache_variables["EMOFUSE_BUILD_BENCH"] = False
        toolchain.cache_variables["EMOFUSE_INSTALL"] = True
        toolchain.generate()
        CMakeDeps(self).generate()

    def build(self):
        cmake = CMake(self)
        cmake.configure()

    def package(self):
        cmake = CMake(self)
        cmake.install()

    def package_info(self):
        self.cpp_info.bindirs = []
        self.cpp_info.libdirs = []
        # Consumers get the same names as with the CMake package config.
        self.cpp_info.set_property("cmake_file_name", "emofuse")
        self.cpp_info.set_property("cmake_target_name", "emofuse::emofuse")
        self.cpp_info.requires = ["xtensor::xtensor", "xsimd::xsimd", "boost::headers",
                                  "nlohmann_json::nlohmann_json"]
