/*
 * Allocation-failure sweep of stackless generators (tests/fault_sweep.h):
 * creation from the slabs, and the protocol's exceptions (raise, throw,
 * close, PEP 479, a mixed yield-from chain), with the Nth allocation
 * failing once or from then on. Each operation ends by giving the slabs
 * back (yc_sgen_pool_trim), so that every block is accounted for.
 */
#include "fault_sweep.h"

typedef struct {
    yc_sgen sgen;
    YC_SGEN_TRIES(2);
    int64_t i;
    yc_iter *sub;
} fgen;

/* yields 1, 2; a thrown KeyError is caught and yields 50; finally yields
 * nothing; a raise after the loop becomes the generator's exception */
YC_SGEN_FN(fbody, fgen, s)
{
    YC_SGEN_BEGIN();
    YC_STRY(s) {
        for (s->i = 1; s->i <= 2; s->i++) {
            YC_STRY(s) {
                YC_SYIELD(yc_int(s->i));
            } YC_SEXCEPT(&yc_KeyError) {
                YC_SYIELD(yc_int(50));
            } YC_STRY_END;
        }
        if (s->sub) YC_SYIELD_FROM(s->sub);
        YC_SRAISEF(&yc_ValueError, "end %d", 1);
    } YC_SFINALLY {
        fp_add("finally ");
    } YC_STRY_END;
    YC_SGEN_END();
}

/* Runs one step, recording its outcome; -1 when it failed with MemoryError. */
static int step(int st, yc_val v)
{
    if (st == YC_YIELD || st == YC_RETURN) {
        fp_add("%s:", st == YC_YIELD ? "y" : "r");
        fp_val(v);
        return 0;
    }
    yc_exc *e = yc_err_take();
    if (!e) return failed();
    return got_exc(e);
}

static int op_new_throw_raise(void)
{
    int r = 0;
    yc_sgen *g = yc_sgen_new(&fbody);
    if (!g) {
        r = failed();
        goto out;
    }
    yc_val v = YC_NONE;
    if (step(yc_sgen_next(g, &v), v) < 0 ||
        step(yc_sgen_throw(g, yc_exc_new(&yc_KeyError, "k"), &v), v) < 0 ||
        step(yc_sgen_next(g, &v), v) < 0 || step(yc_sgen_next(g, &v), v) < 0)
        r = -1;
    yc_sgen_free(g);
out:
    yc_sgen_pool_trim();
    return r;
}

static int op_close_chain(void)
{
    int r = 0;
    fgen leaf = {.sub = NULL};
    yc_sgen_init(&leaf.sgen, &fbody);
    fgen *outer = (fgen *)(void *)yc_sgen_new(&fbody);
    if (!outer) {
        r = failed();
        goto out;
    }
    outer->sub = &leaf.sgen.it;
    yc_val v = YC_NONE;
    for (int i = 0; i < 3 && r == 0; i++) r = step(yc_sgen_next(&outer->sgen, &v), v);
    if (r == 0) {
        int st = yc_sgen_close(&outer->sgen, &v);
        fp_add("close:%d ", st);
        if (st < 0) r = step(st, v);
    }
    yc_sgen_free(&outer->sgen);
out:
    yc_sgen_fini(&leaf.sgen);
    yc_sgen_pool_trim();
    return r;
}

static yc_val stackful_mid(void *arg) { return yc_yield_from((yc_iter *)arg); }

static int op_mixed_chain_to_the_end(void)
{
    int r = 0;
    fgen leaf = {.sub = NULL};
    yc_sgen_init(&leaf.sgen, &fbody);
    yc_gen *mid = yc_gen_new(stackful_mid, &leaf.sgen.it, NULL);
    if (!mid) {
        yc_sgen_fini(&leaf.sgen);
        return failed();
    }
    fgen outer = {.sub = yc_gen_iter(mid)};
    yc_sgen_init(&outer.sgen, &fbody);
    yc_val v = YC_NONE;
    int st;
    while (r == 0 && (st = yc_sgen_next(&outer.sgen, &v)) == YC_YIELD) r = step(st, v);
    if (r == 0) r = step(st, v); /* the leaf's ValueError, through both */
    yc_sgen_fini(&outer.sgen);
    yc_gen_free(mid);
    yc_sgen_fini(&leaf.sgen);
    return r;
}

/* the smallest size class (yc_sgen_new's inline path) and a struct beyond
 * the classes (a block of its own) */
typedef struct {
    yc_sgen sgen;
    int64_t i;
} small_t;

YC_SGEN_FN(small_body, small_t, s)
{
    YC_SGEN_BEGIN();
    for (;;) YC_SYIELD(yc_int(s->i++));
    YC_SGEN_END();
}

typedef struct {
    yc_sgen sgen;
    int64_t pad[200];
} large_t;

YC_SGEN_FN(large_body, large_t, s)
{
    YC_SGEN_BEGIN();
    YC_SYIELD(yc_int(s->pad[199]));
    YC_SGEN_END();
}

static int op_small_and_large(void)
{
    int r = 0;
    yc_sgen *a = yc_sgen_new(&small_body), *b = NULL;
    if (!a) {
        r = failed();
        goto out;
    }
    b = yc_sgen_new(&large_body);
    if (!b) {
        r = failed();
        goto out;
    }
    yc_val v = YC_NONE;
    if (step(yc_sgen_next(a, &v), v) < 0 || step(yc_sgen_next(b, &v), v) < 0) r = -1;
out:
    if (a) yc_sgen_free(a);
    if (b) yc_sgen_free(b);
    yc_sgen_pool_trim();
    return r;
}

/* outer -> mid -> leaf, all stackless: the values come through the
 * library's walk of the chain, the leaf's ValueError back up every level */
static int op_stackless_chain_to_the_end(void)
{
    int r = 0;
    fgen leaf = {.sub = NULL};
    yc_sgen_init(&leaf.sgen, &fbody);
    fgen mid = {.sub = &leaf.sgen.it};
    yc_sgen_init(&mid.sgen, &fbody);
    fgen outer = {.sub = &mid.sgen.it};
    yc_sgen_init(&outer.sgen, &fbody);
    yc_val v = YC_NONE;
    int st;
    while (r == 0 && (st = yc_sgen_next(&outer.sgen, &v)) == YC_YIELD) r = step(st, v);
    if (r == 0) r = step(st, v);
    yc_sgen_fini(&outer.sgen);
    yc_sgen_fini(&mid.sgen);
    yc_sgen_fini(&leaf.sgen);
    return r;
}

TEST(dense_fault_sweep)
{
    yc_sgen_pool_trim(); /* blocks of earlier tests came from malloc, not the counter */
    static const fault_op ops[] = {
        {"sgen_new_throw_raise", op_new_throw_raise, NULL},
        {"sgen_close_chain", op_close_chain, NULL},
        {"sgen_mixed_chain", op_mixed_chain_to_the_end, NULL},
        {"sgen_small_and_large", op_small_and_large, NULL},
        {"sgen_stackless_chain", op_stackless_chain_to_the_end, NULL},
    };
    sweep_all(ops, sizeof ops / sizeof ops[0]);
    CHECK(sweep_total_rounds > 6);
    CHECK_EQ_INT(yc_sgen_live(), 0);
}

TEST_MAIN()
