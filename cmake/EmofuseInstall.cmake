# Installs the headers, the exported emofuse::emofuse target and a relocatable package config.
include(CMakePackageConfigHelpers)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/emofuse DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS emofuse EXPORT emofuseTargets)

set(EMOFUSE_CMAKE_DIR ${CMAKE_INSTALL_DATADIR}/cmake/emofuse)
install(EXPORT emofuseTargets NAMESPACE emofuse:: DESTINATION ${EMOFUSE_CMAKE_DIR})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/emofuseConfig.cmake.in
    ${PROJECT_BINARY_DIR}/emofuseConfig.cmake
    INSTALL_DESTINATION ${EMOFUSE_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/emofuseConfigVersion.cmake
    VERSION ${PROJECT_VERSION}
    COMPATIBILITY SameMajorVersion
    ARCH_INDEPENDENT)
install(FILES ${PROJECT_BINARY_DIR}/emofuseConfig.cmake
              ${PROJECT_BINARY_DIR}/emofuseConfigVersion.cmake
        DESTINATION ${EMOFUSE_CMAKE_DIR})
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/emofuse)
