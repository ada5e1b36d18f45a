/* Fused stages (YC_I64_KERNEL, YC_VAL_KERNEL in yieldc/iter.h): a kernel
 * gives the same items, in the same order, as the separate map and filter
 * stages it fuses, pulled by blocks or one at a time; YC_DROP works from
 * nested loops and switches; the context pointer reaches the body; a body
 * that raises ends the stage like any callback; empty input, one item,
 * early close and use after close; the yc_val form over non-int values. */
#include "test_pipe_util.h"

/* ---- kernels ------------------------------------------------------------------ */

/* map(x * 3) then filter(y % 7 != 0) */
YC_I64_KERNEL(triple_not7, x, ctx, {
    x *= 3;
    if (x % 7 == 0) YC_DROP;
})


/* filter, map, filter, map: the steps after a drop do not run for the
 * dropped item (counted after each filter step) */
typedef struct steps {
    int64_t mul;
    int64_t past_first, past_second; /* items that got past each filter */
} steps;

YC_I64_KERNEL(four_steps, x, ctx, {
    steps *s = ctx;
    if (x % 2 == 0) YC_DROP; /* odd ones */
    s->past_first++;
    x = x * s->mul;          /* times mul */
    if (x % 3 == 0) YC_DROP; /* not multiples of 3 */
    s->past_second++;
    x += 1; /* then + 1 */
})

/* YC_DROP from inside a loop and a switch of the body's own */
YC_I64_KERNEL(nested_drop, x, ctx, {
    for (int64_t d = 2; d * d <= x; d++)
        if (x % d == 0) YC_DROP; /* primes only ... */
    switch (x) {
    case 0:
    case 1:
        YC_DROP; /* ... and not 0 or 1 */
    default:
        break;
    }
})

/* raises at the value the context says */
YC_I64_KERNEL(raise_at, x, ctx, {
    if (x == *(int64_t *)ctx) yc_raisef(&yc_ValueError, "kernel at %lld", (long long)x);
    x = -x;
})

/* keeps the strings of a given length, upper-casing their first byte into a
 * buffer of the context's (values are borrowed: the buffer outlives them) */
typedef struct lens {
    size_t want;
    char store[16][8];
    int used;
} lens;

YC_VAL_KERNEL(strings_of_len, v, ctx, {
    lens *l = ctx;
    if (yc_type_of(v) != YC_T_BYTES || yc_len(v) != l->want) YC_DROP;
    if (l->used >= 16) YC_DROP;
    char *b = l->store[l->used++];
    memcpy(b, v.s, yc_len(v));
    if (b[0] >= 'a' && b[0] <= 'z') b[0] = (char)(b[0] - 'a' + 'A');
    v = yc_bytes(b, yc_len(v));
})

/* ---- tests -------------------------------------------------------------------- */

TEST(kernel_matches_separate_stages)
{
    for (int64_t n = 0; n < 3000; n += 997) {
        int64_t a[3000], b[3000];
        size_t na, nb;
        yc_iter *fused = yc_iter_filter_i64(yc_iter_range(0, n, 1), triple_not7, NULL);
        CHECK_ST(pull_all_batch(fused, 64, a, 3000, &na), YC_RETURN);
        yc_iter_free(fused);
        yc_iter *sep = yc_iter_filter_i64(yc_iter_map_i64(yc_iter_range(0, n, 1), i64_triple, NULL),
                                          i64_not7, NULL);
        CHECK_ST(pull_all(sep, b, 3000, &nb), YC_RETURN);
        yc_iter_free(sep);
        CHECK_EQ_INT(na, nb);
        for (size_t i = 0; i < na && i < nb; i++) CHECK_EQ_INT(a[i], b[i]);
    }
    /* and through the reducers' block path, over several blocks */
    int64_t want = 0;
    for (int64_t x = 0; x < 100000; x++)
        if ((x * 3) % 7 != 0) want += x * 3;
    yc_iter *p = yc_iter_filter_i64(yc_iter_range(0, 100000, 1), triple_not7, NULL);
    yc_val s;
    CHECK_ST(yc_iter_sum(p, yc_int(0), &s), YC_OK);
    CHECK_INTV(s, want);
    yc_iter_free(p);
    int64_t c = -1;
    p = yc_iter_filter_i64(yc_iter_range(0, 100000, 1), triple_not7, NULL);
    CHECK_ST(yc_iter_count(p, &c), YC_OK);
    CHECK_EQ_INT(c, 100000 - (100000 + 6) / 7);
    yc_iter_free(p);
}

TEST(kernel_steps_after_a_drop_do_not_run)
{
    steps s = {.mul = 3};
    int64_t got[64];
    size_t n;
    yc_iter *p = yc_iter_filter_i64(yc_iter_range(0, 20, 1), four_steps, &s);
    CHECK_ST(pull_all(p, got, 64, &n), YC_RETURN);
    yc_iter_free(p);
    /* odd x in [0, 20): 10; times 3 is always a multiple of 3: none kept */
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(s.past_first, 10);
    CHECK_EQ_INT(s.past_second, 0);
    s = (steps){.mul = 5};
    p = yc_iter_filter_i64(yc_iter_range(0, 20, 1), four_steps, &s);
    CHECK_ST(pull_all_batch(p, 3, got, 64, &n), YC_RETURN);
    yc_iter_free(p);
    /* odd x, 5x not a multiple of 3: x = 1 5 7 11 13 17 19 -> 5x + 1 */
    CHECK_INTS(got, n, 6, 26, 36, 56, 66, 86, 96);
    CHECK_EQ_INT(s.past_first, 10);
    CHECK_EQ_INT(s.past_second, 7);
}

TEST(kernel_drop_from_nested_loop_and_switch)
{
    int64_t got[64];
    size_t n;
    yc_iter *p = yc_iter_filter_i64(yc_iter_range(0, 40, 1), nested_drop, NULL);
    CHECK_ST(pull_all(p, got, 64, &n), YC_RETURN);
    yc_iter_free(p);
    CHECK_INTS(got, n, 2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37);
}

TEST(kernel_empty_one_item_and_early_close)
{
    yc_val v;
    yc_iter *p = yc_iter_filter_i64(yc_iter_range(0, 0, 1), triple_not7, NULL);
    CHECK_ST(yc_iter_next(p, &v), YC_RETURN);
    CHECK_ST(yc_iter_next(p, &v), YC_RETURN);
    yc_iter_free(p);

    p = yc_iter_filter_i64(yc_iter_range(5, 6, 1), triple_not7, NULL);
    CHECK_ST(yc_iter_next(p, &v), YC_YIELD);
    CHECK_VAL(v, yc_int(15));
    CHECK_ST(yc_iter_next(p, &v), YC_RETURN);
    yc_iter_free(p);

    tsrc t;
    tsrc_init(&t, 1000);
    p = yc_iter_filter_i64(tsrc_iter(&t), triple_not7, NULL);
    CHECK_ST(yc_iter_next(p, &v), YC_YIELD);
    CHECK_INTV(v, 3); /* 0 is a multiple of 7 */
    CHECK_ST(yc_iter_close(p, NULL), YC_OK);
    CHECK_EQ_INT(t.finally_runs, 1);
    CHECK_ST(yc_iter_next(p, &v), YC_RETURN); /* use after close */
    yc_val s;
    CHECK_ST(yc_iter_sum(p, yc_int(0), &s), YC_OK);
    CHECK_INTV(s, 0);
    yc_iter_free(p);
}

TEST(kernel_body_raises)
{
    int64_t at = 4000;
    tsrc t;
    tsrc_init(&t, 10000);
    yc_iter *p = yc_iter_filter_i64(tsrc_iter(&t), raise_at, &at);
    yc_val s;
    CHECK_ST(yc_iter_sum(p, yc_int(0), &s), YC_RAISE);
    CHECK_EXC_STAGE(&yc_ValueError, "ValueError: kernel at 4000", "filter_i64");
    CHECK_EQ_INT(t.finally_runs, 1); /* upstream closed */
    yc_val v;
    CHECK_ST(yc_iter_next(p, &v), YC_RETURN);
    yc_iter_free(p);
    /* one at a time: the items before it come out, negated */
    at = 2;
    p = yc_iter_filter_i64(yc_iter_range(0, 10, 1), raise_at, &at);
    CHECK_ST(yc_iter_next(p, &v), YC_YIELD);
    CHECK_INTV(v, 0);
    CHECK_ST(yc_iter_next(p, &v), YC_YIELD);
    CHECK_INTV(v, -1);
    CHECK_ST(yc_iter_next(p, &v), YC_RAISE);
    CHECK_EXC_STAGE(&yc_ValueError, "ValueError: kernel at 2", "filter_i64");
    yc_iter_free(p);
}

TEST(kernel_val_form_over_strings)
{
    yc_val items[] = {yc_str("ab"), yc_int(2), yc_str("cd"), yc_str("xyz"), YC_NONE,
                      yc_str("ef"), yc_str("")};
    lens l = {.want = 2};
    yc_iter *p = yc_iter_filter_batch(yc_iter_array(items, 7), strings_of_len, &l);
    yc_val v;
    const char *want[] = {"Ab", "Cd", "Ef"};
    for (int i = 0; i < 3; i++) {
        CHECK_ST(yc_iter_next(p, &v), YC_YIELD);
        CHECK(yc_type_of(v) == YC_T_BYTES && yc_len(v) == 2 && memcmp(v.s, want[i], 2) == 0);
    }
    CHECK_ST(yc_iter_next(p, &v), YC_RETURN);
    yc_iter_free(p);
    /* the same through a reducer's block pull */
    lens l2 = {.want = 2};
    int64_t c = -1;
    p = yc_iter_filter_batch(yc_iter_array(items, 7), strings_of_len, &l2);
    CHECK_ST(yc_iter_count(p, &c), YC_OK);
    CHECK_EQ_INT(c, 3);
    yc_iter_free(p);
}

TEST_MAIN()
