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
    # Configure and install emofuse exactly as the Conan recipe and the vcpkg port do.
    set(prefix ${WORK_DIR}/prefix)
    run(${CMAKE_COMMAND} -S ${EMOFUSE_SOURCE_DIR} -B ${WORK_DIR}/emofuse-build
        -G ${CONSUMER_GENERATOR} -DCMAKE_CXX_COMPILER=${CONSUMER_CXX_COMPILER}
        -DEMOFUSE_BUILD_TESTS=OFF -DEMOFUSE_BUILD_EXAMPLES=OFF -DEMOFUSE_BUILD_BENCH=OFF
        -DEMOFUSE_INSTALL=ON)
    run(${CMAKE_COMMAND} --install ${WORK_DIR}/emofuse-build --prefix ${prefix})
    if(NOT EXISTS ${prefix}/share/cmake/emofuse/emofuseConfigVersion.cmake)
        message(FATAL_ERROR "install did not produce emofuseConfigVersion.cmake")
    endif()
    # SameMajorVersion: a request for another major version must be refused.
    execute_process(COMMAND ${CMAKE_COMMAND} -S ${CONSUMER_SOURCE_DIR} -B ${WORK_DIR}/refused
                            -DCMAKE_PREFIX_PATH=${prefix} -DEMOFUSE_REQUESTED_VERSION=1.0
                    RESULT_VARIABLE refused OUTPUT_QUIET ERROR_QUIET)
    if(refused EQUAL 0)
        message(FATAL_ERROR "find_package(emofuse 1.0) accepted version 0.x")
    endif()
    run(${CMAKE_COMMAND} ${configure_args} -DCMAKE_PREFIX_PATH=${prefix})
else()
    run(${CMAKE_COMMAND} ${configure_args} -DEMOFUSE_SOURCE_DIR=${EMOFUSE_SOURCE_DIR})
endif()
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run(${WORK_DIR}/build/consumer)
