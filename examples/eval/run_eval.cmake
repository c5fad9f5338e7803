# Runs emofuse-eval once (or twice, to check determinism) and checks its exit code, output
# and any file it writes. Invoked by CTest as
#   cmake -DEXE=... -DARGS="a|b|c" [-DSTDIN=file] -DEXPECT_EXIT=0 [-DEXPECT_STDOUT=regex]
#         [-DEXPECT_STDERR=regex] [-DFORBID_STDERR=regex] [-DMAX_STDERR_BYTES=n]
#         [-DCHECK_FILE=path -DCHECK_FILE_REGEX=regex [-DFILE_BEFORE=content]]
#         [-DSTDOUT_FILE=path] [-DFILE_SIZE_LIMIT=blocks] [-DTERMINAL=ON]
#         [-DGENERATE_FILE=path -DGENERATE_TEXT=text -DGENERATE_COUNT=n [-DGENERATE_SUFFIX=s]]
#         [-DSTOP_AFTER=seconds] [-DREPEAT_SAME=ON] -P run_eval.cmake
# FILE_BEFORE: CHECK_FILE exists with this content before the run (else it is removed).
# STDOUT_FILE: stdout goes to that file (e.g. /dev/full) instead of being captured.
# FILE_SIZE_LIMIT: runs under `ulimit -f` (SIGXFSZ ignored), so writes beyond it fail.
# TERMINAL: runs under script(1), so stderr is a terminal (stdout and stderr are merged).
# STOP_AFTER: the run is stopped after that many seconds if still running (not a failure).
# GENERATE_*: first writes GENERATE_TEXT repeated GENERATE_COUNT times, GENERATE_SUFFIX and a
# newline to GENERATE_FILE.
string(REPLACE "|" ";" ARGS "${ARGS}") # arguments arrive joined with |
if(DEFINED GENERATE_FILE)
    string(REPEAT "${GENERATE_TEXT}" ${GENERATE_COUNT} generated)
    file(WRITE ${GENERATE_FILE} "${generated}${GENERATE_SUFFIX}\n")
endif()
set(command ${EXE} ${ARGS})
if(DEFINED FILE_SIZE_LIMIT)
    # (no ';' in the script: it would split the CMake list)
    set(command sh -c "ulimit -f ${FILE_SIZE_LIMIT} && trap '' XFSZ && exec \"$0\" \"$@\"" ${command})
endif()
if(TERMINAL)
    string(JOIN " " joined ${command})
    set(command script -qec "${joined}" /dev/null)
endif()
set(input_args)
if(DEFINED STDIN)
    set(input_args INPUT_FILE ${STDIN})
endif()
set(output_args OUTPUT_VARIABLE out)
if(DEFINED STDOUT_FILE)
    set(output_args OUTPUT_FILE ${STDOUT_FILE})
endif()
if(DEFINED CHECK_FILE)
    if(DEFINED FILE_BEFORE)
        file(WRITE ${CHECK_FILE} "${FILE_BEFORE}")
    else()
        file(REMOVE ${CHECK_FILE})
    endif()
endif()
set(timeout 100)
if(DEFINED STOP_AFTER)
    set(timeout ${STOP_AFTER})
endif()
execute_process(COMMAND ${command} ${input_args} ${output_args}
                RESULT_VARIABLE code ERROR_VARIABLE err TIMEOUT ${timeout})
if(DEFINED STOP_AFTER AND code MATCHES "timeout")
    set(code "${EXPECT_EXIT}") # stopped as intended: only its output is checked
endif()
if(NOT code STREQUAL "${EXPECT_EXIT}")
    message(FATAL_ERROR "exit code ${code}, expected ${EXPECT_EXIT}\nstdout:\n${out}\nstderr:\n${err}")
endif()
if(DEFINED EXPECT_STDOUT AND NOT out MATCHES "${EXPECT_STDOUT}")
    message(FATAL_ERROR "stdout does not match '${EXPECT_STDOUT}':\n${out}\nstderr:\n${err}")
endif()
if(DEFINED EXPECT_STDERR AND NOT err MATCHES "${EXPECT_STDERR}")
    message(FATAL_ERROR "stderr does not match '${EXPECT_STDERR}':\n${err}")
endif()
if(DEFINED FORBID_STDERR AND err MATCHES "${FORBID_STDERR}")
    message(FATAL_ERROR "stderr matches '${FORBID_STDERR}' but should not:\n${err}")
endif()
if(DEFINED MAX_STDERR_BYTES)
    string(LENGTH "${err}" length)
    if(length GREATER MAX_STDERR_BYTES)
        message(FATAL_ERROR "stderr has ${length} bytes, expected at most ${MAX_STDERR_BYTES}")
    endif()
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
    execute_process(COMMAND ${command} ${input_args}
                    RESULT_VARIABLE code2 OUTPUT_VARIABLE out2 ERROR_VARIABLE err2 TIMEOUT 100)
    if(NOT out STREQUAL out2)
        message(FATAL_ERROR "two runs with the same seed differ:\n${out}\n---\n${out2}")
    endif()
endif()
