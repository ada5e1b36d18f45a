/*
 * The generator fast paths in assembly: what the switch file and src/gen.c
 * must agree on. Preprocessor definitions only, so that the switch file
 * (a .S) can include it as well as the C code.
 *
 * Where YC_FAST_PATH is 1, the switch file defines the public yc_next,
 * yc_send and yc__yield itself: each does the common case (a live,
 * suspended generator on an initialised thread; a yield inside a
 * generator) with the context switch inlined, and jumps to the C
 * functions of src/gen.c (yc__next_slow, yc__send_slow, yc__yield_slow,
 * the complete protocol) for everything else, before changing anything.
 * The fused code does what the C code does on that path (the same checks,
 * the same stores, the same jump), minus the call into the separate jump
 * function and the marshalling of its six arguments: on the development
 * machines (AMD Zen 3, later Zen 5) each instruction on the round-trip path
 * costs measurably, and these are the ones between the protocol and the
 * switch (docs/design.md, "The fast paths"). Its claim is the biased one
 * (src/gen.c, "the biased claim"): plain stores when this thread owns the
 * generator's bias, the compare-and-swap when nobody does, and the C path
 * (which revokes a bias) when another thread does.
 *
 * Elsewhere (other architectures, YC_SWITCH=ucontext, and the sanitizer
 * builds, whose jumps must be annotated) the C functions carry the public
 * names and this file only supplies YC_ASAN and YC_TSAN.
 *
 * The layout constants are checked against the C structures by static
 * assertions in src/gen.c: a change to struct yc_gen, yc__coro or
 * yc__thread that moves one of these fields fails the build there.
 */
#ifndef YC_FAST_PATH_H
#define YC_FAST_PATH_H

/* The sanitizers whose switch annotations need the C jump wrappers. */
#if defined(__SANITIZE_ADDRESS__)
#  define YC_ASAN 1
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer)
#    define YC_ASAN 1
#  endif
#endif
#ifndef YC_ASAN
#  define YC_ASAN 0
#endif

#if defined(__SANITIZE_THREAD__)
#  define YC_TSAN 1
#elif defined(__has_feature)
#  if __has_feature(thread_sanitizer)
#    define YC_TSAN 1
#  endif
#endif
#ifndef YC_TSAN
#  define YC_TSAN 0
#endif

#if defined(__x86_64__) && !defined(YC_SWITCH_UCONTEXT) && !YC_ASAN && !YC_TSAN
#  define YC_FAST_PATH 1
#else
#  define YC_FAST_PATH 0
#endif

/* struct yc_gen (src/internal.h) */
#define YC__FP_GEN_MAGIC      0x08 /* uint32_t magic */
#define YC__FP_GEN_STATE      0x0c /* _Atomic int state */
#define YC__FP_GEN_OWNER      0x10 /* _Atomic uintptr_t owner */
#define YC__FP_GEN_CLAIMING   0x18 /* _Atomic int claiming */
#define YC__FP_GEN_FLAGS      0x1c /* uint32_t flags */
#define YC__FP_GEN_OUT        0x20 /* yc_val *out */
#define YC__FP_GEN_SCRATCH    0x28 /* yc_val scratch */
#define YC__FP_GEN_YIELD_FILE 0x50 /* const char *yield_file */
#define YC__FP_GEN_YIELD_LINE 0x58 /* int yield_line */
#define YC__FP_GEN_SUSP       0x5c /* int susp */
#define YC__FP_GEN_CO         0x80 /* yc__coro co */
/* yc__coro (src/internal.h); its context (the saved stack pointer) is at 0 */
#define YC__FP_CORO_RESUMER   0x08 /* yc__coro *resumer */
#define YC__FP_CORO_GEN       0x28 /* struct yc_gen *gen */
/* yc__thread: cur is at 0 */

/* Values (src/internal.h, src/gen.c and the public header) */
#define YC__FP_GEN_MAGIC_VAL  0x7963476e /* YC__GEN_MAGIC */
#define YC__FP_RUNNING        1          /* YC_GEN_RUNNING */
#define YC__FP_SUSPENDED      2          /* YC_GEN_SUSPENDED */
#define YC__FP_YIELD          1          /* YC_YIELD */
#define YC__FP_SUSP_YIELD     0          /* SUSP_YIELD (src/gen.c) */
#define YC__FP_SHARE_FPENV    1          /* YC_GEN_SHARE_FPENV */

#endif
