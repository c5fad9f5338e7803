# cmake -DPAGE=<file.md> -DPAGE_NAME=<name in messages> -DPAGE_ID=<C identifier>
#       -DPRELUDE_DIR=<dir> -DPRELUDE_NAME=<dir in messages> -DOUTPUT=<file> -P extract_snippets.cmake
#
# Writes the C++ of every ```cpp block of a Markdown page as a fragment that the docs test
# (tests/docs/CMakeLists.txt) includes, with every other page's, into one translation unit
# at namespace scope. The rules (see tests/docs/README.md):
#   - every fenced block carries a language; ```cpp (or c++, cxx) blocks are compiled, any
#     other language (sh, console, cmake, text, ...) is not; an untagged fence is an error;
#   - a ```cpp block becomes the body of its own function `void snippet()` in namespace
#     emofuse_docs::<PAGE_ID>_L<line>, with its #include lines moved to the top of the
#     fragment (each behind __has_include, so a missing header is an #error at its page line
#     that does not stop the other pages);
#   - `<!-- snippet: prelude NAME -->` on the line before the fence splices
#     PRELUDE_DIR/NAME.hpp (its #include lines moved up too, the rest at the start of the
#     function body) to declare the inputs a fragment uses; several preludes are spliced in
#     the order given (`prelude a prelude b`);
#   - `<!-- snippet: namespace-scope -->` compiles the block at namespace scope instead (for
#     blocks that define functions or classes).
# #line directives make every diagnostic name the page (or prelude) and its line, by absolute
# path so that the compiler can quote the offending line; a markup mistake becomes an #error
# at its line (see fail()).
cmake_minimum_required(VERSION 3.21)

foreach(var PAGE PAGE_NAME PAGE_ID PRELUDE_DIR PRELUDE_NAME OUTPUT)
    if(NOT DEFINED ${var})
        message(FATAL_ERROR "extract_snippets.cmake: -D${var}=... is required")
    endif()
endforeach()

# Markdown lines may hold ';', '[', ']' and '\', which CMake lists treat specially: they are
# swapped for control characters while the text is a list and restored line by line.
string(ASCII 1 semicolon_mark)
string(ASCII 2 open_bracket_mark)
string(ASCII 3 close_bracket_mark)
string(ASCII 4 backslash_mark)

function(read_lines file out_var)
    file(READ "${file}" text)
    string(REPLACE "\r\n" "\n" text "${text}")
    string(REGEX REPLACE "\n$" "" text "${text}") # a final newline ends the last line
    string(REPLACE ";" "${semicolon_mark}" text "${text}")
    string(REPLACE "\\" "${backslash_mark}" text "${text}")
    string(REPLACE "[" "${open_bracket_mark}" text "${text}")
    string(REPLACE "]" "${close_bracket_mark}" text "${text}")
    string(REPLACE "\n" ";" lines "${text}")
    set(${out_var} "${lines}" PARENT_SCOPE)
endfunction()

function(restore line out_var)
    string(REPLACE "${semicolon_mark}" ";" line "${line}")
    string(REPLACE "${backslash_mark}" "\\" line "${line}")
    string(REPLACE "${open_bracket_mark}" "[" line "${line}")
    string(REPLACE "${close_bracket_mark}" "]" line "${line}")
    set(${out_var} "${line}" PARENT_SCOPE)
endfunction()

# A markup mistake becomes the page's whole translation unit: an #error at the page's line.
# The compiler then reports it as `page:line: error: ...` like any broken snippet, and the
# other pages still compile (a failing generator step would stop the whole target).
macro(fail line_number)
    string(CONCAT what ${ARGN})
    string(REPLACE "\\" "\\\\" what "${what}")
    string(REPLACE "\"" "\\\"" what "${what}")
    file(WRITE "${OUTPUT}" "#line ${line_number} \"${PAGE}\"\n#error \"${what}\"\n")
    message(STATUS "${PAGE_NAME}:${line_number}: ${what}")
    return()
endmacro()

# Splits code lines (first line numbered `first`, from file `name`) into the #include lines
# (for the top of the translation unit) and the rest (for the body), each with #line markers.
function(split_code lines first name includes_var body_var)
    set(includes "")
    set(body "")
    set(number ${first})
    set(expected -1) # the line the compiler will assign to the next body line
    foreach(line IN LISTS lines)
        restore("${line}" line)
        if(line MATCHES "^[ \t]*#[ \t]*include[ \t]")
            if(line MATCHES "include[ \t]*(<[^>]+>|\"[^\"]+\")")
                set(header "${CMAKE_MATCH_1}")
                string(REPLACE "\"" "\\\"" quoted "${header}")
                string(APPEND includes "#if __has_include(${header})\n#line ${number} \"${name}\"\n"
                       "${line}\n#else\n#line ${number} \"${name}\"\n"
                       "#error \"no header ${quoted}\"\n#endif\n")
            else()
                string(APPEND includes "#line ${number} \"${name}\"\n${line}\n")
            endif()
        else()
            if(NOT number EQUAL expected)
                string(APPEND body "#line ${number} \"${name}\"\n")
            endif()
            string(APPEND body "${line}\n")
            math(EXPR expected "${number} + 1")
        endif()
        math(EXPR number "${number} + 1")
    endforeach()
    set(${includes_var} "${includes}" PARENT_SCOPE)
    set(${body_var} "${body}" PARENT_SCOPE)
endfunction()

read_lines("${PAGE}" page_lines)

set(tu_includes "")
set(tu_bodies "")
set(snippet_count 0)
set(number 0)
set(in_fence FALSE)
set(pending_directive "")
set(pending_directive_line 0)
foreach(raw IN LISTS page_lines)
    math(EXPR number "${number} + 1")
    if(in_fence)
        if(raw MATCHES "^ *(```+|~~~+)[ \t]*$" AND CMAKE_MATCH_1 MATCHES "^${fence_marker}")
            set(in_fence FALSE)
            if(fence_compiled)
                split_code("${code_lines}" ${code_first} "${PAGE}" includes body)
                set(prelude_body "")
                foreach(prelude IN LISTS snippet_preludes)
                    read_lines("${PRELUDE_DIR}/${prelude}.hpp" prelude_lines)
                    split_code("${prelude_lines}" 1 "${PRELUDE_DIR}/${prelude}.hpp" one_includes
                               one_body)
                    string(APPEND tu_includes "${one_includes}")
                    string(APPEND prelude_body "${one_body}")
                endforeach()
                string(APPEND tu_includes "${includes}")
                set(scope "namespace emofuse_docs::${PAGE_ID}_L${fence_line} {\n")
                if(snippet_namespace_scope)
                    string(APPEND tu_bodies "${scope}${prelude_body}${body}} // namespace\n\n")
                else()
                    string(APPEND tu_bodies
                           "${scope}void snippet() {\n${prelude_body}${body}}\n} // namespace\n\n")
                endif()
                math(EXPR snippet_count "${snippet_count} + 1")
            endif()
        elseif(fence_compiled)
            # Drop the fence's own indentation (blocks nested in list items).
            if(NOT fence_indent STREQUAL "")
                string(REGEX REPLACE "^${fence_indent}" "" raw "${raw}")
            endif()
            # Joined by hand: list(APPEND) would drop a leading empty line.
            string(APPEND code_lines "${code_separator}${raw}")
            set(code_separator ";")
        endif()
        continue()
    endif()

    if(raw MATCHES "^( *)(```+|~~~+)[ \t]*([^ \t`]*)")
        set(in_fence TRUE)
        set(fence_indent "${CMAKE_MATCH_1}")
        set(fence_marker "${CMAKE_MATCH_2}")
        string(TOLOWER "${CMAKE_MATCH_3}" language)
        set(fence_line ${number})
        math(EXPR code_first "${number} + 1")
        set(code_lines "")
        set(code_separator "")
        if(language STREQUAL "")
            fail(${number} "code block without a language: write ```cpp for code that must "
                           "compile, or name what it is (```sh, ```console, ```cmake, ```text)")
        endif()
        if(language MATCHES "^(cpp|c\\+\\+|cxx)$")
            set(fence_compiled TRUE)
        else()
            set(fence_compiled FALSE)
        endif()
        set(snippet_preludes "")
        set(snippet_namespace_scope FALSE)
        if(NOT pending_directive STREQUAL "")
            if(NOT fence_compiled)
                fail(${pending_directive_line}
                     "'<!-- snippet: ... -->' must stand right before a ```cpp block")
            endif()
            restore("${pending_directive}" directive)
            string(REGEX REPLACE "[ \t]+" ";" words "${directive}")
            while(words)
                list(POP_FRONT words word)
                if(word STREQUAL "prelude")
                    list(POP_FRONT words prelude)
                    if(NOT "${prelude}" MATCHES "^[A-Za-z0-9_-]+$")
                        fail(${pending_directive_line} "'prelude' needs a NAME "
                             "(a file ${PRELUDE_NAME}/NAME.hpp)")
                    endif()
                    if(NOT EXISTS "${PRELUDE_DIR}/${prelude}.hpp")
                        fail(${pending_directive_line} "no snippet prelude "
                             "${PRELUDE_NAME}/${prelude}.hpp")
                    endif()
                    list(APPEND snippet_preludes ${prelude})
                elseif(word STREQUAL "namespace-scope")
                    set(snippet_namespace_scope TRUE)
                else()
                    fail(${pending_directive_line} "unknown snippet directive '${word}' "
                         "(known: 'prelude NAME', 'namespace-scope')")
                endif()
            endwhile()
            set(pending_directive "")
        endif()
        continue()
    endif()

    if(NOT pending_directive STREQUAL "")
        fail(${pending_directive_line}
             "'<!-- snippet: ... -->' must stand right before a ```cpp block")
    endif()
    if(raw MATCHES "^[ \t]*<!--[ \t]*snippet:(.*)-->[ \t]*$")
        string(STRIP "${CMAKE_MATCH_1}" pending_directive)
        set(pending_directive_line ${number})
        if(pending_directive STREQUAL "")
            fail(${number} "empty snippet directive")
        endif()
    elseif(raw MATCHES "<!--[ \t]*snippet")
        fail(${number} "a snippet directive is one line: '<!-- snippet: ... -->'")
    endif()
endforeach()

if(in_fence)
    fail(${fence_line} "code block is never closed")
endif()
if(NOT pending_directive STREQUAL "")
    fail(${pending_directive_line} "'<!-- snippet: ... -->' must stand right before a ```cpp block")
endif()

string(CONCAT tu "// Generated from ${PAGE_NAME} by tests/docs/extract_snippets.cmake: ${snippet_count} "
       "snippet(s). Edit the page, not this file.\n")
string(APPEND tu "${tu_includes}\n${tu_bodies}")
# Only rewrite when the content changes, so an unchanged page is not recompiled needlessly.
if(EXISTS "${OUTPUT}")
    file(READ "${OUTPUT}" previous)
endif()
if(NOT previous STREQUAL tu)
    file(WRITE "${OUTPUT}" "${tu}")
endif()
