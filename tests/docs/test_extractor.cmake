# cmake -DSCRATCH=<dir> -P test_extractor.cmake
#
# Self-test of extract_snippets.cmake: a page using every rule must give exactly
# selftest/expected_rules.cpp, and each markup mistake must give an #error at its page line.
cmake_minimum_required(VERSION 3.21)

if(NOT DEFINED SCRATCH)
    message(FATAL_ERROR "test_extractor.cmake: -DSCRATCH=<dir> is required")
endif()
set(here ${CMAKE_CURRENT_LIST_DIR})
set(PRELUDE_DIR ${here}/selftest/prelude)
file(MAKE_DIRECTORY ${SCRATCH})

function(extract page output)
    execute_process(
        COMMAND ${CMAKE_COMMAND} -DPAGE=${page} -DPAGE_NAME=page.md -DPAGE_ID=page
                -DPRELUDE_DIR=${PRELUDE_DIR} -DPRELUDE_NAME=selftest/prelude -DOUTPUT=${output}
                -P ${here}/extract_snippets.cmake
        RESULT_VARIABLE status OUTPUT_QUIET ERROR_VARIABLE errors)
    if(NOT status EQUAL 0)
        message(FATAL_ERROR "extract_snippets.cmake failed on ${page}: ${errors}")
    endif()
endfunction()

set(failures "")

# Every rule at once, compared line for line.
set(PAGE ${here}/selftest/rules.md)
extract(${PAGE} ${SCRATCH}/rules.cpp)
file(READ ${SCRATCH}/rules.cpp actual)
file(READ ${here}/selftest/expected_rules.cpp expected)
string(CONFIGURE "${expected}" expected @ONLY)
if(NOT actual STREQUAL expected)
    string(APPEND failures "\nrules.md: got\n${actual}\nexpected\n${expected}")
endif()

# Markup mistakes: name|page text|the line the #error must name|a part of its message (no ';'
# in the fields: they are list elements).
set(cases
    "untagged|Text\n\n```\nplain\n```\n|3|code block without a language"
    "directive_before_text|<!-- snippet: prelude selftest_input -->\nText\n|1|must stand right before a ```cpp block"
    "directive_before_shell|<!-- snippet: namespace-scope -->\n```sh\nls\n```\n|1|must stand right before a ```cpp block"
    "directive_at_end|Text\n<!-- snippet: namespace-scope -->\n|2|must stand right before a ```cpp block"
    "unknown_directive|<!-- snippet: frobnicate -->\n```cpp\ncode\n```\n|1|unknown snippet directive 'frobnicate'"
    "missing_prelude|<!-- snippet: prelude nowhere -->\n```cpp\ncode\n```\n|1|no snippet prelude selftest/prelude/nowhere.hpp"
    "prelude_without_name|<!-- snippet: prelude -->\n```cpp\ncode\n```\n|1|'prelude' needs a NAME"
    "empty_directive|<!-- snippet: -->\n```cpp\ncode\n```\n|1|empty snippet directive"
    "split_directive|<!-- snippet: prelude selftest_input\n-->\n```cpp\ncode\n```\n|1|a snippet directive is one line"
    "unclosed|Text\n```cpp\ncode\n|2|code block is never closed")
foreach(case IN LISTS cases)
    string(REPLACE "|" ";" fields "${case}")
    list(GET fields 0 name)
    list(GET fields 1 text)
    list(GET fields 2 line)
    list(GET fields 3 message)
    string(REPLACE "\\n" "\n" text "${text}")
    set(page ${SCRATCH}/${name}.md)
    file(WRITE ${page} "${text}")
    extract(${page} ${SCRATCH}/${name}.cpp)
    file(READ ${SCRATCH}/${name}.cpp actual)
    string(FIND "${actual}" "#line ${line} \"${page}\"\n#error \"" at_line)
    string(FIND "${actual}" "${message}" has_message)
    if(NOT at_line EQUAL 0 OR has_message EQUAL -1)
        string(APPEND failures "\n${name}: expected an #error at line ${line} saying "
                               "\"${message}\", got:\n${actual}")
    endif()
endforeach()

if(failures)
    message(FATAL_ERROR "extract_snippets.cmake self-test failed:${failures}")
endif()
list(LENGTH cases count)
message(STATUS "extract_snippets.cmake: the rules page and ${count} markup mistakes behave")
