/* python-semantics.md section 10: generator expressions and lazy pipelines.
 * Each test names the item it checks. The Python behind each one is quoted
 * above it; yc_genexpr / YC_GENEXPR stands for the generator expression. */
#include "../test_pipe_util.h"

typedef struct gx_ctx {
    int cond_calls, elem_calls, inner_calls;
    int64_t factor;     /* read by elem when it runs (late binding) */
    int64_t raise_on;   /* elem raises ValueError for this x */
    bool stopiter;      /* elem raises StopIteration instead */
} gx_ctx;

static bool gx_odd(void *ctx, yc_val x)
{
    ((gx_ctx *)ctx)->cond_calls++;
    return x.i % 2 != 0;
}

static yc_val gx_scale(void *ctx, yc_val x)
{
    gx_ctx *c = ctx;
    c->elem_calls++;
    if (x.i == c->raise_on) {
        if (c->stopiter) yc_raise(yc_exc_new_value(&yc_StopIteration, yc_int(0)));
        yc_raisef(&yc_ValueError, "bad %lld", (long long)x.i);
    }
    return yc_int(x.i * c->factor);
}

static yc_iter *gx_inner_range(void *ctx, yc_val x)
{
    ((gx_ctx *)ctx)->inner_calls++;
    if (x.i == 5) { /* 5 "is not iterable" */
        yc_err_set(yc_exc_new(&yc_TypeError, "'int' object is not iterable"));
        return NULL;
    }
    return yc_iter_range(0, x.i, 1);
}

/* 10.1  g = (e for x in A if c for y in B): A is evaluated and iter(A)
 * called at creation (a non-iterable A fails there); c, B and e run on
 * next; a non-iterable B fails only at the first next. */
TEST(sec10_1_first_iterable_at_creation_rest_on_demand)
{
    gx_ctx c = {0, 0, 0, 1, -1, false};
    tsrc t;
    tsrc_init(&t, 6);
    yc_iter *g = YC_GENEXPR(tsrc_iter(&t), .elem = gx_scale, .cond = gx_odd,
                            .inner = gx_inner_range, .ctx = &c);
    CHECK(g != NULL);
    CHECK_EQ_INT(c.cond_calls + c.elem_calls + c.inner_calls, 0); /* nothing ran */
    CHECK_EQ_INT(t.produced, 0);
    int64_t got[16];
    size_t n;
    /* x = 1: y in range(1) -> 0; x = 3: 0 1 2; x = 5: not iterable */
    CHECK_ST(pull_all(g, got, 16, &n), YC_RAISE);
    CHECK_INTS(got, n, 0, 0, 1, 2);
    CHECK_EXC(&yc_TypeError, "TypeError: 'int' object is not iterable");
    CHECK_EQ_INT(c.inner_calls, 3);
    CHECK_EQ_INT(t.finally_runs, 1); /* the source went with the ended generator */
    yc_iter_free(g);

    /* a non-iterable A: the failure is at creation */
    c = (gx_ctx){0, 0, 0, 1, -1, false};
    g = YC_GENEXPR(gx_inner_range(&c, yc_int(5)), .elem = gx_scale, .ctx = &c);
    CHECK(g == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: 'int' object is not iterable");
    CHECK_EQ_INT(c.elem_calls, 0);
}

/* 10.2  Rebinding the name of A after creation has no effect; mutating the
 * object does; free variables of e and c are read when evaluated. */
TEST(sec10_2_rebinding_mutation_and_late_binding)
{
    yc_val items[] = {yc_int(1), yc_int(2), yc_int(3)};
    yc_val other[] = {yc_int(100)};
    yc_val *a = items;
    gx_ctx c = {0, 0, 0, 1, -1, false};
    yc_iter *g = YC_GENEXPR(yc_iter_array(a, 3), .elem = gx_scale, .ctx = &c);
    a = other;        /* rebinding: no effect */
    items[2] = yc_int(30); /* mutating A: seen */
    c.factor = 10;    /* late binding: e reads it when it runs */
    int64_t got[8];
    size_t n;
    yc_val v;
    CHECK_ST(yc_iter_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 10);
    c.factor = 2;
    CHECK_ST(pull_all(g, got, 8, &n), YC_RETURN);
    CHECK_INTS(got, n, 4, 60);
    CHECK(a == other);
    yc_iter_free(g);
}

/* 10.3  An exception in e propagates from next; the next next raises
 * StopIteration (the generator has ended). */
TEST(sec10_3_exception_in_element_then_stopiteration)
{
    gx_ctx c = {0, 0, 0, 1, 2, false};
    tsrc t;
    tsrc_init(&t, 5);
    yc_iter *g = YC_GENEXPR(tsrc_iter(&t), .elem = gx_scale, .ctx = &c, .name = "scaled");
    yc_val v;
    CHECK_ST(yc_iter_next(g, &v), YC_YIELD);
    CHECK_ST(yc_iter_next(g, &v), YC_YIELD);
    CHECK_ST(yc_iter_next(g, &v), YC_RAISE);
    yc_exc *e = yc_err_get();
    size_t ntb;
    const yc_tb_entry *tb = yc_exc_traceback(e, &ntb);
    CHECK(ntb >= 1 && tb[0].where && strcmp(tb[0].where, "scaled") == 0);
    CHECK_EXC(&yc_ValueError, "ValueError: bad 2");
    CHECK_ST(yc_iter_next(g, &v), YC_RETURN);
    CHECK(yc_is_none(v));
    CHECK_EQ_INT(t.finally_runs, 1);
    CHECK_EQ_INT(t.produced, 3);
    yc_iter_free(g);
}

/* 10.4  A generator expression is a full generator: single use, send,
 * throw, close, PEP 479. */
TEST(sec10_4_full_generator_single_use)
{
    gx_ctx c = {0, 0, 0, 1, -1, false};
    yc_iter *g = YC_GENEXPR(yc_iter_range(0, 3, 1), .elem = gx_scale, .ctx = &c);
    CHECK_STR(yc_iter_name(g), "generator");
    CHECK_ST(yc_iter_send(g, yc_int(1), NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: can't send non-None value to a just-started generator");
    int64_t got[8];
    size_t n;
    CHECK_ST(pull_all(g, got, 8, &n), YC_RETURN);
    CHECK_INTS(got, n, 0, 1, 2);
    CHECK_ST(pull_all(g, got, 8, &n), YC_RETURN); /* single use */
    CHECK_EQ_INT(n, 0);
    yc_iter_free(g);

    tsrc t;
    tsrc_init(&t, 5);
    g = YC_GENEXPR(tsrc_iter(&t), .ctx = &c);
    yc_val v;
    CHECK_ST(yc_iter_next(g, &v), YC_YIELD);
    CHECK_ST(yc_iter_send(g, yc_int(9), &v), YC_YIELD); /* the value is ignored */
    CHECK_INTV(v, 1);
    CHECK_ST(yc_iter_throw(g, yc_exc_new(&yc_KeyError, "k"), &v), YC_RAISE);
    CHECK_EXC(&yc_KeyError, "KeyError: 'k'");
    CHECK_EQ_INT(t.finally_runs, 1); /* the source was released with it */
    CHECK_ST(yc_iter_next(g, &v), YC_RETURN);
    yc_iter_free(g);

    tsrc_init(&t, 5);
    g = YC_GENEXPR(tsrc_iter(&t), .ctx = &c);
    CHECK_ST(yc_iter_next(g, &v), YC_YIELD);
    CHECK_ST(yc_iter_close(g, NULL), YC_OK);
    CHECK_EQ_INT(t.finally_runs, 1);
    CHECK_ST(yc_iter_next(g, &v), YC_RETURN);
    yc_iter_free(g);

    /* PEP 479: a StopIteration from e becomes RuntimeError */
    c = (gx_ctx){0, 0, 0, 1, 1, true};
    g = YC_GENEXPR(yc_iter_range(0, 3, 1), .elem = gx_scale, .ctx = &c);
    CHECK_ST(yc_iter_next(g, &v), YC_YIELD);
    CHECK_ST(yc_iter_next(g, &v), YC_RAISE);
    CHECK(yc_exc_is(yc_exc_cause(yc_err_get()), &yc_StopIteration));
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: generator raised StopIteration");
    yc_iter_free(g);
}

/* 10.5  sq(evens(numbers())) runs nothing when built; each pull drives the
 * upstream stages only as far as needed for one output item. */
static yc_val sq(void *ctx, yc_val x)
{
    (*(int *)ctx)++;
    return yc_int(x.i * x.i);
}

static bool even(void *ctx, yc_val x)
{
    (*(int *)ctx)++;
    return x.i % 2 == 0;
}

TEST(sec10_5_pipelines_run_nothing_when_built_and_pull_one_item)
{
    /* with combinators */
    tsrc t;
    tsrc_init(&t, 100);
    int sq_calls = 0, even_calls = 0;
    yc_iter *p = yc_iter_map(yc_iter_filter(tsrc_iter(&t), even, &even_calls), sq, &sq_calls);
    CHECK_EQ_INT(t.produced + sq_calls + even_calls, 0);
    yc_val v;
    CHECK_ST(yc_iter_next(p, &v), YC_YIELD); /* 0 */
    CHECK_EQ_INT(t.produced, 1);
    CHECK_ST(yc_iter_next(p, &v), YC_YIELD); /* 1 dropped, 2 */
    CHECK_INTV(v, 4);
    CHECK_EQ_INT(t.produced, 3);
    CHECK_EQ_INT(even_calls, 3);
    CHECK_EQ_INT(sq_calls, 2);
    yc_iter_free(p);

    /* with generator expressions */
    tsrc_init(&t, 100);
    sq_calls = even_calls = 0;
    yc_iter *evens = YC_GENEXPR(tsrc_iter(&t), .cond = even, .ctx = &even_calls);
    p = YC_GENEXPR(evens, .elem = sq, .ctx = &sq_calls);
    CHECK_EQ_INT(t.produced + sq_calls + even_calls, 0);
    CHECK_ST(yc_iter_next(p, &v), YC_YIELD);
    CHECK_ST(yc_iter_next(p, &v), YC_YIELD);
    CHECK_INTV(v, 4);
    CHECK_EQ_INT(t.produced, 3);
    CHECK_EQ_INT(sq_calls, 2);
    yc_iter_free(p); /* frees evens and the source */
    CHECK_EQ_INT(t.finally_runs, 1);
}

TEST_MAIN()
