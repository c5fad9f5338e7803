# Optional components. Each exists only when its dependency was found, and each is installed
# in its own export set so the package config can load it only when present.

# emofuse::csd — CMU computational sequence files (.csd, HDF5): io/csd/ headers.
if(HDF5_FOUND)
    add_library(emofuse_csd INTERFACE)
    add_library(emofuse::csd ALIAS emofuse_csd)
    set_target_properties(emofuse_csd PROPERTIES EXPORT_NAME csd)
    if(TARGET hdf5::hdf5)
        target_link_libraries(emofuse_csd INTERFACE emofuse hdf5::hdf5)
    else()
        target_include_directories(emofuse_csd INTERFACE ${HDF5_C_INCLUDE_DIRS} ${HDF5_INCLUDE_DIRS})
        target_compile_definitions(emofuse_csd INTERFACE ${HDF5_C_DEFINITIONS} ${HDF5_DEFINITIONS})
        target_link_libraries(emofuse_csd INTERFACE emofuse ${HDF5_C_LIBRARIES} ${HDF5_LIBRARIES})
    endif()
    # zlib (which libhdf5's gzip filter uses anyway) checks what each stored chunk inflates
    # to before HDF5 reads it; without it emofuse's own, slower inflater does.
    find_package(ZLIB QUIET)
    set(EMOFUSE_CSD_ZLIB ${ZLIB_FOUND})
    if(ZLIB_FOUND)
        target_link_libraries(emofuse_csd INTERFACE ZLIB::ZLIB)
        target_compile_definitions(emofuse_csd INTERFACE EMOFUSE_CSD_HAVE_ZLIB=1)
    endif()
    if(EMOFUSE_INSTALL)
        install(TARGETS emofuse_csd EXPORT emofuse_csdTargets)
        install(EXPORT emofuse_csdTargets NAMESPACE emofuse::
                DESTINATION ${CMAKE_INSTALL_DATADIR}/cmake/emofuse)
    endif()
    message(STATUS "emofuse: HDF5 ${HDF5_VERSION} found, emofuse::csd and emofuse-align enabled")
else()
    message(STATUS "emofuse: HDF5 not found (apt-get install libhdf5-dev), emofuse::csd disabled")
endif()

# emofuse::xlsx — .xlsx first-sheet reading and the OV-MER emotion_wheel/ folder (io/xlsx/
# headers): needs expat. Build tree only for now (not installed).
if(EXPAT_FOUND)
    add_library(emofuse_xlsx INTERFACE)
    add_library(emofuse::xlsx ALIAS emofuse_xlsx)
    target_link_libraries(emofuse_xlsx INTERFACE emofuse EXPAT::EXPAT)
    message(STATUS "emofuse: expat found, emofuse::xlsx and emofuse-eval --suite ov --wheel enabled")
else()
    message(STATUS "emofuse: expat not found (apt-get install libexpat1-dev), emofuse::xlsx disabled")
endif()

# emofuse::unicode — Unicode normalisation with utf8proc: text/unicode_fold.hpp (LLM answers in
# emofuse-eval --pred-format llm).
if(UTF8PROC_FOUND)
    add_library(emofuse_unicode INTERFACE)
    add_library(emofuse::unicode ALIAS emofuse_unicode)
    set_target_properties(emofuse_unicode PROPERTIES EXPORT_NAME unicode)
    target_link_libraries(emofuse_unicode INTERFACE emofuse PkgConfig::UTF8PROC)
    if(EMOFUSE_INSTALL)
        install(TARGETS emofuse_unicode EXPORT emofuse_unicodeTargets)
        install(EXPORT emofuse_unicodeTargets NAMESPACE emofuse::
                DESTINATION ${CMAKE_INSTALL_DATADIR}/cmake/emofuse)
    endif()
    message(STATUS "emofuse: utf8proc ${UTF8PROC_VERSION} found, emofuse::unicode and "
                   "emofuse-eval --pred-format llm enabled")
else()
    message(STATUS "emofuse: utf8proc not found (apt-get install libutf8proc-dev), "
                   "emofuse::unicode and emofuse-eval --pred-format llm disabled")
endif()
