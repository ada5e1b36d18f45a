/*
 * The structure offsets and values the x86-64 generator fast paths use
 * (src/arch/fast_path_x86_64.S), computed from the C structures. Never
 * linked: the build compiles this file to assembly (-S, with the library's
 * own flags and definitions) and cmake/offsets.cmake turns each
 * "YC_OFFSET name value" string below into `#define name value` in the
 * generated header yc_offsets.h. Compiling, not running, is what lets a
 * cross build (AArch64) make the header too. src/gen.c asserts the same
 * values again.
 *
 * Each constant is an "i" operand printed with %c (the bare number, no
 * immediate prefix) into an .ascii directive of an asm statement.
 */
#include "internal.h"

#define OFFSET(name, value) \
    __asm__ volatile("\n.ascii \"YC_OFFSET " #name " %c0\"" : : "i"((long)(value)))

void yc__offsets(void);
void yc__offsets(void)
{
    /* struct yc_gen */
    OFFSET(YC__FP_GEN_MAGIC, offsetof(struct yc_gen, magic));
    OFFSET(YC__FP_GEN_STATE, offsetof(struct yc_gen, state));
    OFFSET(YC__FP_GEN_OWNER, offsetof(struct yc_gen, owner));
    OFFSET(YC__FP_GEN_CLAIMING, offsetof(struct yc_gen, claiming));
    OFFSET(YC__FP_GEN_FLAGS, offsetof(struct yc_gen, flags));
    OFFSET(YC__FP_GEN_OUT, offsetof(struct yc_gen, out));
    OFFSET(YC__FP_GEN_SCRATCH, offsetof(struct yc_gen, scratch));
    OFFSET(YC__FP_GEN_YIELD_FILE, offsetof(struct yc_gen, yield_file));
    OFFSET(YC__FP_GEN_YIELD_LINE, offsetof(struct yc_gen, yield_line));
    OFFSET(YC__FP_GEN_SUSP, offsetof(struct yc_gen, susp));
    OFFSET(YC__FP_GEN_CO, offsetof(struct yc_gen, co));
    /* yc__coro; the fast paths rely on its context being first and on
     * yc__thread's cur being first, which src/gen.c asserts */
    OFFSET(YC__FP_CORO_RESUMER, offsetof(yc__coro, resumer));
    OFFSET(YC__FP_CORO_GEN, offsetof(yc__coro, gen));
    /* values */
    OFFSET(YC__FP_GEN_MAGIC_VAL, YC__GEN_MAGIC);
    OFFSET(YC__FP_RUNNING, YC_GEN_RUNNING);
    OFFSET(YC__FP_SUSPENDED, YC_GEN_SUSPENDED);
    OFFSET(YC__FP_CREATED, YC_GEN_CREATED);
    OFFSET(YC__FP_YIELD, YC_YIELD);
    OFFSET(YC__FP_SUSP_YIELD, YC__SUSP_YIELD);
    OFFSET(YC__FP_SHARE_FPENV, YC_GEN_SHARE_FPENV);
}
