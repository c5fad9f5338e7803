# Included by the ISA test scripts: sets CPU_LEVELS to the ISA levels this machine's
# /proc/cpuinfo flags allow (lowest first), by the x86-64 psABI's definition of each level.
# The kernel lists a flag only when it also saves that state (AVX, AVX-512) on context switches.
file(STRINGS /proc/cpuinfo flag_line REGEX "^flags[ \t]*:" LIMIT_COUNT 1)
if(flag_line STREQUAL "")
    message(FATAL_ERROR "no flags line in /proc/cpuinfo")
endif()
string(REGEX REPLACE "^flags[ \t]*:[ \t]*" "" flag_line "${flag_line}")
string(REGEX REPLACE "[ \t]+" ";" cpu_flags "${flag_line}")
# x86-64-v2 and v3 (SSE3 is listed as pni; OSXSAVE follows from xsave). LZCNT ("abm") is left
# out: some hypervisors' /proc/cpuinfo omits it while CPUID reports it (this build machine's
# does), and every CPU with AVX2 and BMI1 has it.
set(avx2_flags cx16 lahf_lm popcnt pni sse4_1 sse4_2 ssse3
               avx avx2 bmi1 bmi2 f16c fma movbe xsave)
set(avx512_flags ${avx2_flags} avx512f avx512bw avx512cd avx512dq avx512vl)
set(CPU_LEVELS baseline)
foreach(level avx2 avx512)
    set(has_all TRUE)
    foreach(flag IN LISTS ${level}_flags)
        if(NOT flag IN_LIST cpu_flags)
            set(has_all FALSE)
        endif()
    endforeach()
    if(has_all)
        list(APPEND CPU_LEVELS ${level})
    endif()
endforeach()
