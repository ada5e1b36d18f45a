/*
 * Internal: the int64 block loops (blocks_i64.c): range's fill and sum's
 * block sums, vectorised, each with an AVX2 form chosen at run time.
 */
#ifndef YC_BLOCKS_I64_H
#define YC_BLOCKS_I64_H

#include "internal.h"

/* The block loops of range and sum have a second version for AVX2, chosen
 * at run time on x86-64 (the library is built for baseline x86-64, whose
 * 16-byte vectors hold one value; AVX2's hold two). YC_PST_AVX2 is 1 when
 * that choice exists; yc__pst_avx2() tells whether to take the AVX2 loops:
 * the CPU has AVX2 and the environment variable YC_NO_AVX2 was not set when
 * it was first asked (the tests use it to run the baseline loops too). A
 * build for AVX2 itself (-mavx2, -march=native) needs no choice: its
 * baseline loops use AVX2 already. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__AVX2__) && !defined(YC_NO_AVX2)
#  define YC_PST_AVX2 1
#  define YC_TARGET_AVX2 __attribute__((target("avx2")))
YC_HIDDEN extern int yc__pst_avx2_on; /* -1: not asked yet, else 0 / 1 */
YC_HIDDEN bool yc__pst_avx2_init(void);
static inline bool yc__pst_avx2(void)
{
    int on = __atomic_load_n(&yc__pst_avx2_on, __ATOMIC_RELAXED);
    return YC_LIKELY(on >= 0) ? on != 0 : yc__pst_avx2_init();
}
#else
#  define YC_PST_AVX2 0
#endif

/* buf[0, k) = cur, cur + step, ... as INT values (yc_val) or as plain
 * int64 (_i64); unsigned lanes, as the step after the last value may wrap.
 * Each returns the value after the last. The _avx2 forms exist when
 * YC_PST_AVX2 is 1, for yc__pst_avx2() true. */
YC_HIDDEN uint64_t yc__range_fill(yc_val *buf, size_t k, uint64_t cur, uint64_t step);
YC_HIDDEN uint64_t yc__range_fill_i64(int64_t *buf, size_t k, uint64_t cur, uint64_t step);
#if YC_PST_AVX2
YC_HIDDEN uint64_t yc__range_fill_avx2(yc_val *buf, size_t k, uint64_t cur, uint64_t step);
YC_HIDDEN uint64_t yc__range_fill_i64_avx2(int64_t *buf, size_t k, uint64_t cur, uint64_t step);
#endif

/* The int fast paths of sum: true with *sum when every value of buf[0, k)
 * is an INT in [-2^52, 2^52) (so that a running total within [-SUM_SAFE,
 * SUM_SAFE] cannot overflow within a block of at most 1024 values); false
 * sends the block through the item-by-item sum. yc__sum_block takes a
 * yc_val block (short blocks and blocks above YC_BATCH: false) and chooses
 * the AVX2 loop itself; the int64 forms are the two loops. */
#define SUM_SAFE ((int64_t)1 << 62)
YC_HIDDEN bool yc__sum_block(const yc_val *buf, size_t k, int64_t *sum);
YC_HIDDEN bool yc__sum_i64_small(const int64_t *buf, size_t k, int64_t *sum);
#if YC_PST_AVX2
YC_HIDDEN bool yc__sum_i64_small_avx2(const int64_t *buf, size_t k, int64_t *sum);
#endif

#endif
