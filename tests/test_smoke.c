/* Quick end-to-end checks of the core: the detailed behaviour is covered by
 * tests/conformance/ (python-semantics.md) and the other test files. */
#include "test.h"

static yc_val counter(void *arg)
{
    int64_t n = *(int64_t *)arg;
    for (int64_t i = 0; i < n; i++) {
        yc_val sent = yc_yield(yc_int(i));
        if (!yc_is_none(sent)) i = sent.i - 1;
    }
    return yc_int(100 + n);
}

TEST(smoke_next_until_return)
{
    int64_t n = 3;
    yc_gen *g = yc_gen_new(counter, &n, NULL);
    CHECK(g != NULL);
    yc_val v;
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CREATED);
    for (int i = 0; i < 3; i++) {
        CHECK_ST(yc_next(g, &v), YC_YIELD);
        CHECK_INTV(v, i);
        CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_SUSPENDED);
    }
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_INTV(v, 103);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK(yc_is_none(v));
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

static volatile int finally_ran;

static yc_val with_finally(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_yield(yc_int(1));
        yc_yield(yc_int(2));
    } YC_FINALLY {
        finally_ran++;
    } YC_END;
    return YC_NONE;
}

TEST(smoke_close_runs_finally)
{
    finally_ran = 0;
    yc_gen *g = yc_gen_new(with_finally, NULL, &(yc_gen_opts){.name = "wf"});
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_close(g, &v), YC_OK);
    CHECK_EQ_INT(finally_ran, 1);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

static yc_val catcher(void *arg)
{
    (void)arg;
    for (;;) {
        YC_TRY {
            yc_yield(yc_int(0));
        } YC_EXCEPT(&yc_ValueError) {
            yc_yield(yc_int(42));
        } YC_END;
    }
    return YC_NONE;
}

TEST(smoke_throw_caught)
{
    yc_gen *g = yc_gen_new(catcher, NULL, NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_throw(g, yc_exc_new(&yc_ValueError, "x"), &v), YC_YIELD);
    CHECK_INTV(v, 42);
    CHECK_ST(yc_throw(g, yc_exc_new(&yc_KeyError, "k"), &v), YC_RAISE);
    CHECK_EXC(&yc_KeyError, "KeyError: 'k'");
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

static yc_val sub(void *arg)
{
    (void)arg;
    yc_yield(yc_int(1));
    yc_yield(yc_int(2));
    return yc_int(7);
}

static yc_val outer(void *arg)
{
    (void)arg;
    yc_gen *s = yc_gen_new(sub, NULL, NULL);
    volatile yc_val r = YC_NONE; /* set in YC_TRY, read after it */
    YC_TRY {
        r = yc_yield_from(yc_gen_iter(s));
    } YC_FINALLY {
        yc_gen_free(s);
    } YC_END;
    yc_yield(r);
    return YC_NONE;
}

TEST(smoke_yield_from)
{
    yc_gen *g = yc_gen_new(outer, NULL, NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK(yc_gen_yieldfrom(g) != NULL);
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 2);
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 7);
    CHECK(yc_gen_yieldfrom(g) == NULL);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

TEST_MAIN()
