# <tool>_isa_builds_agree: every ISA build of a tool that this CPU can run gives the same
# exit code, stdout, stderr and output files, bit for bit, on each case of CASES_FILE. The
# builds are run through the launcher with EMOFUSE_ISA=<level>.
#   cmake -DLAUNCHER=<tool> -DLEVELS=a,b,c -DCASES_FILE=<file> -DWORK=<dir>
#         [-DIGNORE=<regex of output files not compared>] [-D<NAME>=<dir> for each @NAME@]
#         -P builds_agree.cmake
# Each line of CASES_FILE is one run: its arguments separated by |, where @OUT@ is that run's
# output directory and any other @NAME@ the -DNAME value. A reported " in <seconds> s" is
# not compared. Bitwise equality holds because the tools use no SIMD kernel whose result
# depends on the vector width and are built with -ffp-contract=off (cmake/EmofuseTool.cmake).
cmake_minimum_required(VERSION 3.21)
include(${CMAKE_CURRENT_LIST_DIR}/cpu_levels.cmake)
string(REPLACE "," ";" LEVELS "${LEVELS}")
set(runnable "")
foreach(level IN LISTS LEVELS)
    if(level IN_LIST CPU_LEVELS)
        list(APPEND runnable ${level})
    endif()
endforeach()
list(LENGTH runnable count)
if(count LESS 2)
    message("SKIP: this CPU runs only one of the builds (${runnable}); nothing to compare")
    return()
endif()
list(GET runnable 0 reference)

file(STRINGS ${CASES_FILE} cases REGEX "^[^#]")
file(REMOVE_RECURSE ${WORK})
set(case_number 0)
foreach(case IN LISTS cases)
    math(EXPR case_number "${case_number} + 1")
    foreach(level IN LISTS runnable)
        set(out_dir ${WORK}/${level}/case${case_number})
        file(MAKE_DIRECTORY ${out_dir})
        set(args "${case}")
        string(REPLACE "@OUT@" "${out_dir}" args "${args}")
        string(REGEX MATCHALL "@[A-Z_]+@" placeholders "${args}")
        foreach(placeholder IN LISTS placeholders)
            string(REPLACE "@" "" name ${placeholder})
            if(NOT DEFINED ${name})
                message(FATAL_ERROR "${CASES_FILE}: ${placeholder} needs -D${name}=...")
            endif()
            string(REPLACE "${placeholder}" "${${name}}" args "${args}")
        endforeach()
        string(REPLACE "|" ";" args "${args}")
        execute_process(COMMAND ${CMAKE_COMMAND} -E env EMOFUSE_ISA=${level} ${LAUNCHER} ${args}
                        RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 120)
        set(result "exit ${code}\n--- stdout\n${out}\n--- stderr\n${err}")
        string(REPLACE "${out_dir}" "<out>" result "${result}")
        string(REGEX REPLACE " in [0-9.e+-]+ s" " in <time> s" result "${result}")
        file(GLOB_RECURSE files RELATIVE ${out_dir} ${out_dir}/*)
        list(SORT files)
        if(level STREQUAL reference)
            set(reference_result "${result}")
            set(reference_files "${files}")
            set(reference_dir ${out_dir})
            message("case ${case_number} (${reference}): ${code}, ${files}")
            continue()
        endif()
        if(NOT result STREQUAL reference_result)
            message(FATAL_ERROR "case ${case_number}: the ${level} build differs from the "
                                "${reference} build\n${level}:\n${result}\n${reference}:\n"
                                "${reference_result}")
        endif()
        if(NOT files STREQUAL reference_files)
            message(FATAL_ERROR "case ${case_number}: ${level} wrote ${files}, "
                                "${reference} wrote ${reference_files}")
        endif()
        foreach(file IN LISTS files)
            if(DEFINED IGNORE AND file MATCHES "${IGNORE}")
                continue()
            endif()
            execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${out_dir}/${file}
                                    ${reference_dir}/${file} RESULT_VARIABLE differ)
            if(NOT differ EQUAL 0)
                message(FATAL_ERROR "case ${case_number}: ${file} of the ${level} build differs "
                                    "from the ${reference} build's")
            endif()
        endforeach()
    endforeach()
endforeach()
message("${case_number} cases: builds ${runnable} agree bit for bit")
