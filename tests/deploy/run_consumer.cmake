# cmake -P script behind the deploy tests (see CMakeLists.txt next to it).
cmake_minimum_required(VERSION 3.21)

function(run)
    execute_process(COMMAND ${ARGV} RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT result EQUAL 0)
        message(FATAL_ERROR "command failed (${result}): ${ARGV}\n${out}\n${err}")
    endif()
    message("${out}")
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
set(configure_args -S ${CONSUMER_SOURCE_DIR} -B ${WORK_DIR}/build -G ${CONSUMER_GENERATOR}
    -DCMAKE_CXX_COMPILER=${CONSUMER_CXX_COMPILER} -DCMAKE_BUILD_TYPE=Release)

if(MODE STREQUAL "find_package")
    set(prefix ${WORK_DIR}/prefix)
    run(${CMAKE_COMMAND} --install ${EMOFUSE_BINARY_DIR} --prefix ${prefix})
    if(NOT EXISTS ${prefix}/share/cmake/emofuse/emofuseConfigVersion.cmake)
        message(FATAL_ERROR "install did not produce emofuseConfigVersion.cmake")
    endif()
    run(${CMAKE_COMMAND} ${configure_args} -DCMAKE_PREFIX_PATH=${prefix})
else()
    run(${CMAKE_COMMAND} ${configure_args} -DEMOFUSE_SOURCE_DIR=${EMOFUSE_SOURCE_DIR})
endif()
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run(${WORK_DIR}/build/consumer)
