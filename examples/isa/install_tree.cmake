# isa_install_tree: `cmake --install` puts each tool's launcher in the bindir and its ISA
# builds in <libexecdir>/emofuse, and the installed launcher runs them from there.
#   cmake -DBUILD_DIR=<build tree> -DPREFIX=<empty dir> -DBINDIR=bin -DLIBEXECDIR=libexec
#         -DLEVELS=a,b,c -DTOOLS=emofuse-eval,... -DEVAL_DATA=<dir> -DBUILD_EVAL=<launcher>
#         -P install_tree.cmake
cmake_minimum_required(VERSION 3.21)
include(${CMAKE_CURRENT_LIST_DIR}/cpu_levels.cmake)
string(REPLACE "," ";" LEVELS "${LEVELS}")
string(REPLACE "," ";" TOOLS "${TOOLS}")
file(REMOVE_RECURSE ${PREFIX})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${PREFIX}
                RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT code EQUAL 0)
    message(FATAL_ERROR "cmake --install failed (${code}):\n${out}\n${err}")
endif()

set(expected "")
foreach(level IN LISTS LEVELS)
    if(level IN_LIST CPU_LEVELS)
        set(expected ${level})
    endif()
endforeach()
set(libexec ${PREFIX}/${LIBEXECDIR}/emofuse)
foreach(tool IN LISTS TOOLS)
    if(NOT EXISTS ${PREFIX}/${BINDIR}/${tool})
        message(FATAL_ERROR "${BINDIR}/${tool} was not installed")
    endif()
    foreach(level IN LISTS LEVELS)
        if(NOT EXISTS ${libexec}/${tool}-${level})
            message(FATAL_ERROR "${LIBEXECDIR}/emofuse/${tool}-${level} was not installed")
        endif()
        if(EXISTS ${PREFIX}/${BINDIR}/${tool}-${level})
            message(FATAL_ERROR "${tool}-${level} was installed in ${BINDIR} too")
        endif()
    endforeach()
    execute_process(COMMAND ${CMAKE_COMMAND} -E env EMOFUSE_ISA=list ${PREFIX}/${BINDIR}/${tool}
                    OUTPUT_VARIABLE listing RESULT_VARIABLE code)
    # The path is the launcher's directory joined with ../libexec/emofuse.
    string(REGEX MATCH "\nchosen: ([a-z0-9]+) ([^\n]*)" chosen "${listing}")
    get_filename_component(chosen_path "${CMAKE_MATCH_2}" REALPATH)
    if(NOT code EQUAL 0 OR NOT CMAKE_MATCH_1 STREQUAL expected
       OR NOT chosen_path STREQUAL "${libexec}/${tool}-${expected}")
        message(FATAL_ERROR "installed ${tool} chose '${chosen}', expected the ${expected} "
                            "build in ${libexec}:\n${listing}")
    endif()
    message("${tool}: ${listing}")
endforeach()

# The installed emofuse-eval runs and prints what the build tree's prints.
set(args --suite mosi --pred ${EVAL_DATA}/mosi_pred.txt --truth ${EVAL_DATA}/mosi_truth.txt)
execute_process(COMMAND ${PREFIX}/${BINDIR}/emofuse-eval ${args}
                RESULT_VARIABLE installed_code OUTPUT_VARIABLE installed_out ERROR_VARIABLE err)
execute_process(COMMAND ${BUILD_EVAL} ${args} OUTPUT_VARIABLE build_out)
if(NOT installed_code EQUAL 0 OR NOT installed_out MATCHES "\"Corr\": 0\\.769026"
   OR NOT installed_out STREQUAL build_out)
    message(FATAL_ERROR "installed emofuse-eval (exit ${installed_code}):\n${installed_out}\n"
                        "${err}\nbuild tree's:\n${build_out}")
endif()
message("installed emofuse-eval agrees with the build tree's")
