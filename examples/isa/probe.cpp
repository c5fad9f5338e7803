// A minimal tool built with emofuse_add_tool() for the ISA tests (isa_probe_builds_agree):
// settings made on the tool target must reach every build, and no build may fuse a*b+c
// into one FMA, which would make its result differ from the baseline build's.
#include <cstdio>

#ifndef ISA_PROBE_FROM_TARGET
#error "target_compile_definitions on the tool target did not reach this build"
#endif
#ifndef ISA_PROBE_FROM_LIBRARY
#error "a library linked to the tool target did not reach this build"
#endif

int main() {
    // volatile: the operands are read at run time, so the compiler cannot fold the result.
    volatile double a = 1.0 + 0x1p-30;
    volatile double b = 1.0 - 0x1p-30;
    volatile double c = -1.0;
    // a*b = 1 - 2^-60 rounds to 1, so a*b + c is 0 with two roundings and -2^-60 fused.
    const double r = a * b + c;
    std::printf("a*b+c = %a\n", r);
    return 0;
}
