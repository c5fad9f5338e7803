# <tool>_isa_instructions: each build of a tool holds only instructions of its ISA level. The
# baseline build must have no VEX/EVEX (AVX) instruction and the avx2 build no EVEX (AVX-512)
# one, or they would crash on CPUs without them. The higher builds must use AVX (proof that
# their -march reached the compiler); how much AVX-512 code the compiler emits depends on the
# tool and the optimisation level (none is required: at -O0 there may be none).
#   cmake -DOBJDUMP=objdump -DLEVELS=a,b -DFILES=<build of a>,<build of b> -P ...
cmake_minimum_required(VERSION 3.21)
string(REPLACE "," ";" LEVELS "${LEVELS}")
string(REPLACE "," ";" FILES "${FILES}")
# AT&T syntax from objdump: AVX mnemonics start with v; EVEX shows as zmm, mask or
# upper-16 registers, or an embedded broadcast.
set(vex_regex "\t(v[a-z0-9]+( |$)|[^\t]*%[yz]mm)")
set(evex_regex "%zmm|%k[0-7]|%[xy]mm(1[6-9]|2[0-9]|3[01])|\\{1to[0-9]+\\}")
foreach(level file IN ZIP_LISTS LEVELS FILES)
    get_filename_component(name ${file} NAME)
    set(listing ${CMAKE_CURRENT_BINARY_DIR}/${name}.disassembly)
    execute_process(COMMAND ${OBJDUMP} -d --no-show-raw-insn ${file}
                    OUTPUT_FILE ${listing} RESULT_VARIABLE code ERROR_VARIABLE err)
    if(NOT code EQUAL 0)
        message(FATAL_ERROR "${OBJDUMP} ${file} failed: ${err}")
    endif()
    file(STRINGS ${listing} vex REGEX "${vex_regex}")
    file(STRINGS ${listing} evex REGEX "${evex_regex}")
    file(REMOVE ${listing})
    list(LENGTH vex vex_count)
    list(LENGTH evex evex_count)
    message("${name} (${level}): ${vex_count} VEX/EVEX instructions, ${evex_count} EVEX")
    if(level STREQUAL "baseline" AND vex_count GREATER 0)
        list(SUBLIST vex 0 5 shown)
        string(JOIN "\n" shown ${shown})
        message(FATAL_ERROR "${name} has AVX instructions, e.g.\n${shown}")
    elseif(level STREQUAL "avx2" AND evex_count GREATER 0)
        list(SUBLIST evex 0 5 shown)
        string(JOIN "\n" shown ${shown})
        message(FATAL_ERROR "${name} has AVX-512 instructions, e.g.\n${shown}")
    elseif(NOT level STREQUAL "baseline" AND vex_count EQUAL 0)
        message(FATAL_ERROR "${name} has no AVX instruction: was it built with its -march?")
    endif()
endforeach()
