# Runs emofuse-eval once (or twice, to check determinism) and checks its exit code, output
# and any file it writes. Invoked by CTest as
#   cmake -DEXE=... -DARGS="a|b|c" [-DSTDIN=file] -DEXPECT_EXIT=0 [-DEXPECT_STDOUT=regex]
#         [-DEXPECT_STDERR=regex] [-DCHECK_FILE=path -DCHECK_FILE_REGEX=regex]
#         [-DREPEAT_SAME=ON] -P run_eval.cmake
string(REPLACE "|" ";" ARGS "${ARGS}") # arguments arrive joined with |
set(input_args)
if(DEFINED STDIN)
    set(input_args INPUT_FILE ${STDIN})
endif()
if(DEFINED CHECK_FILE)
    file(REMOVE ${CHECK_FILE})
endif()
execute_process(COMMAND ${EXE} ${ARGS} ${input_args}
                RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 60)
if(NOT code STREQUAL "${EXPECT_EXIT}")
    message(FATAL_ERROR "exit code ${code}, expected ${EXPECT_EXIT}\nstdout:\n${out}\nstderr:\n${err}")
endif()
if(DEFINED EXPECT_STDOUT AND NOT out MATCHES "${EXPECT_STDOUT}")
    message(FATAL_ERROR "stdout does not match '${EXPECT_STDOUT}':\n${out}\nstderr:\n${err}")
endif()
if(DEFINED EXPECT_STDERR AND NOT err MATCHES "${EXPECT_STDERR}")
    message(FATAL_ERROR "stderr does not match '${EXPECT_STDERR}':\n${err}")
endif()
if(NOT EXPECT_EXIT STREQUAL "0")
    # A failure is reported as exactly one line.
    string(STRIP "${err}" stripped)
    string(FIND "${stripped}" "\n" newline)
    if(NOT newline EQUAL -1 OR stripped STREQUAL "")
        message(FATAL_ERROR "expected one error line on stderr, got:\n${err}")
    endif()
endif()
if(DEFINED CHECK_FILE)
    if(NOT EXISTS ${CHECK_FILE})
        message(FATAL_ERROR "${CHECK_FILE} was not written")
    endif()
    file(READ ${CHECK_FILE} content)
    if(NOT content MATCHES "${CHECK_FILE_REGEX}")
        message(FATAL_ERROR "${CHECK_FILE} does not match '${CHECK_FILE_REGEX}'")
    endif()
endif()
if(REPEAT_SAME)
    execute_process(COMMAND ${EXE} ${ARGS} ${input_args}
                    RESULT_VARIABLE code2 OUTPUT_VARIABLE out2 ERROR_VARIABLE err2 TIMEOUT 60)
    if(NOT out STREQUAL out2)
        message(FATAL_ERROR "two runs with the same seed differ:\n${out}\n---\n${out2}")
    endif()
endif()
