/*
 * The generator fast paths in assembly: whether they are built, and the
 * sanitizer switches that decide it. Preprocessor definitions only, so
 * that the assembly (a .S) can include it as well as the C code.
 *
 * Where YC_FAST_PATH is 1, src/arch/fast_path_x86_64.S defines the
 * public yc_next, yc_send and yc__yield: each does the common case (a live,
 * suspended generator on an initialised thread; a yield inside a
 * generator) with the context switch inlined, and jumps to the C
 * functions of src/gen.c (yc__next_slow, yc__send_slow, yc__yield_slow,
 * the complete protocol) for everything else, before changing anything.
 * The fused code does what the C code does on that path (the same checks,
 * the same stores, the same jump), minus the call into the separate jump
 * function and the marshalling of its six arguments, which are what stood
 * between the protocol and the switch on the round trip (docs/design.md,
 * "The fast paths", has the measurements). Its claim is the biased one
 * (src/claim.c): plain stores when this thread owns the
 * generator's bias, the compare-and-swap when nobody does, and the C path
 * (which revokes a bias) when another thread does.
 *
 * Elsewhere (other architectures, YC_SWITCH=ucontext, and the sanitizer
 * builds, whose jumps must be annotated) the C functions carry the public
 * names and this file only supplies YC_ASAN and YC_TSAN.
 *
 * The structure offsets and values the fast paths use are not written
 * here: src/arch/offsets.c computes them from the C structures, compiled
 * to assembly at build time, and cmake/offsets.cmake extracts them into
 * the generated header yc_offsets.h (YC__FP_*), which the assembly
 * includes; src/gen.c asserts them again against the structures it is
 * compiled with. A field moved in C moves the assembly with it.
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

#endif
