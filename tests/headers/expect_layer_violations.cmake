# Runs check_layers.cmake on the planted headers in layer_violations/ and requires it to fail
# with exactly the expected messages, so the `layers` test is known to catch what it claims.
#   cmake -DTABLE=<docs/architecture.md> -DSOURCE_DIR=<repo> -P expect_layer_violations.cmake

set(planted "${CMAKE_CURRENT_LIST_DIR}/layer_violations")
execute_process(
    COMMAND "${CMAKE_COMMAND}" -DTABLE=${TABLE} -DHEADERS=${planted} -DSOURCE_DIR=${SOURCE_DIR}
            -P "${CMAKE_CURRENT_LIST_DIR}/check_layers.cmake"
    RESULT_VARIABLE status
    OUTPUT_VARIABLE output
    ERROR_VARIABLE output)
if(status EQUAL 0)
    message(FATAL_ERROR "check_layers passed on planted violations:\n${output}")
endif()
set(dir "tests/headers/layer_violations/emofuse")
set(expected
    "${dir}/io/csd/planted_detail.hpp:10: csd uses emofuse::align::detail, private to align"
    "${dir}/kernels/planted_edge.hpp:5: kernels -> core (emofuse/core/sequence.hpp) is not an allowed edge: kernels may include config, errors, platform"
    "${dir}/loose/planted_orphan.hpp:1: belongs to no layer"
    "${dir}/metrics/planted_include.hpp:6: metrics -> kernels (emofuse/kernels/simd.hpp) is not an allowed edge: metrics may include errors, platform"
    "check_layers: 4 layering violation(s) in 4 headers")
foreach(text IN LISTS expected)
    string(FIND "${output}" "${text}" at)
    if(at LESS 0)
        message(FATAL_ERROR "check_layers did not report\n  ${text}\nIts output:\n${output}")
    endif()
endforeach()
message(STATUS "check_layers reports every planted violation, and only those")
