# vcpkg overlay port for emofuse, built from this checkout:
#   vcpkg install emofuse --overlay-ports=<emofuse>/cmake/vcpkg
# (in manifest mode: list "emofuse" in your vcpkg.json and pass the same overlay).
set(SOURCE_PATH "${CMAKE_CURRENT_LIST_DIR}/../../..")

vcpkg_cmake_configure(
    SOURCE_PATH "${SOURCE_PATH}"
    OPTIONS
        -DEMOFUSE_BUILD_TESTS=OFF
        -DEMOFUSE_BUILD_EXAMPLES=OFF
        -DEMOFUSE_BUILD_BENCH=OFF
        -DEMOFUSE_INSTALL=ON
)
vcpkg_cmake_install()
vcpkg_cmake_config_fixup(PACKAGE_NAME emofuse CONFIG_PATH share/cmake/emofuse)

# Header-only: nothing architecture-specific is left to install.
file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}/debug" "${CURRENT_PACKAGES_DIR}/lib")

file(INSTALL "${CMAKE_CURRENT_LIST_DIR}/usage" DESTINATION "${CURRENT_PACKAGES_DIR}/share/${PORT}")
vcpkg_install_copyright(FILE_LIST "${SOURCE_PATH}/LICENSE")
