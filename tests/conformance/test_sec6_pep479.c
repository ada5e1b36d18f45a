/*
 * python-semantics.md section 6: PEP 479 (StopIteration escaping a
 * generator body becomes RuntimeError).
 *
 * Each TEST names the item it covers in brackets. CPython 3.13 is the oracle.
 */
#include "test.h"

/* ---- helpers ---------------------------------------------------------- */

static int order[32], norder;

static void rec(int x)
{
    if (norder < 32) order[norder++] = x;
}

static void check_order(const char *file, int line, const int *want, int n)
{
    int bad = norder != n;
    for (int i = 0; !bad && i < n; i++) bad = order[i] != want[i];
    if (bad) {
        char got[256] = "", exp[256] = "";
        for (int i = 0; i < norder; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%d ", order[i]);
        for (int i = 0; i < n; i++)
            snprintf(exp + strlen(exp), sizeof exp - strlen(exp), "%d ", want[i]);
        test_fail(file, line, "order: got [ %s], want [ %s]", got, exp);
    }
}
#define CHECK_ORDER(...)                                                      \
    do {                                                                      \
        int want_[] = {__VA_ARGS__};                                          \
        check_order(__FILE__, __LINE__, want_, (int)(sizeof want_ / sizeof *want_)); \
    } while (0)

static yc_gen *gen(yc_gen_fn fn, void *arg, const char *name)
{
    yc_gen *g = yc_gen_new(fn, arg, &(yc_gen_opts){.name = name});
    CHECK(g != NULL);
    return g;
}

static void check_exc_obj(const char *file, int line, const yc_exc *e, const yc_exc_type *t,
                          const char *text)
{
    char buf[512];
    if (!e) {
        test_fail(file, line, "expected %s, got no exception", t->name);
        return;
    }
    yc_exc_format(e, buf, sizeof buf);
    if (yc_exc_type_of(e) != t) test_fail(file, line, "expected %s, got %s", t->name, buf);
    else if (text && strcmp(buf, text) != 0)
        test_fail(file, line, "expected \"%s\", got \"%s\"", text, buf);
}
#define CHECK_EXC_OBJ(e, t, text) check_exc_obj(__FILE__, __LINE__, (e), (t), (text))

#define CHECK_STATE(g, s) CHECK_EQ_INT(yc_gen_state_of(g), (s))

#define RAISED_SI "RuntimeError: generator raised StopIteration"

__attribute__((noinline)) static char *print_to_string(const yc_exc *e)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    yc_exc_print(e, f);
    fclose(f);
    return buf;
}

/* Checks that e is PEP 479's RuntimeError wrapping si. */
static void check_pep479(const char *file, int line, const yc_exc *e, const yc_exc *si)
{
    char buf[512] = "none";
    if (e) yc_exc_format(e, buf, sizeof buf);
    if (!e || yc_exc_type_of(e) != &yc_RuntimeError || strcmp(buf, RAISED_SI) != 0) {
        test_fail(file, line, "expected \"%s\", got \"%s\"", RAISED_SI, buf);
        return;
    }
    if (yc_exc_cause(e) != si) test_fail(file, line, "__cause__ is not the StopIteration");
    if (yc_exc_context(e) != si) test_fail(file, line, "__context__ is not the StopIteration");
    if (!yc_exc_suppress_context(e)) test_fail(file, line, "__suppress_context__ is False");
}
#define CHECK_PEP479(e, si) check_pep479(__FILE__, __LINE__, (e), (si))

/* ---- [6.1] a StopIteration escaping the body -------------------------- */

static yc_exc *si_obj;

YC_EXC_TYPE(MyStop, yc_StopIteration);

typedef struct si_arg {
    const yc_exc_type *type;
    int before_yield;
} si_arg;

static yc_val raise_stop(void *arg)
{
    si_arg *a = arg;
    YC_TRY {
        if (!a->before_yield) yc_yield(yc_int(1));
        si_obj = yc_exc_new_value(a->type, yc_int(7));
        yc_raise(si_obj);
    } YC_FINALLY {
        /* the StopIteration is in flight, not yet converted */
        CHECK(yc_exc_current() == si_obj);
        rec(1);
    } YC_END;
    rec(99);
    return yc_none();
}

/* [6.1] -> RuntimeError "generator raised StopIteration", __cause__ =
 * __context__ = the original, __suppress_context__ True; ⇒ X. Also for a
 * subclass, and before the first yield. */
TEST(c6_1_stop_iteration_becomes_runtime_error)
{
    for (int k = 0; k < 4; k++) {
        norder = 0;
        si_obj = NULL;
        si_arg a = {k & 1 ? &MyStop : &yc_StopIteration, k >> 1};
        yc_gen *g = gen(raise_stop, &a, "g61");
        yc_val v;
        if (!a.before_yield) CHECK_ST(yc_next(g, &v), YC_YIELD);
        v = yc_int(-1);
        CHECK_ST(yc_next(g, &v), YC_RAISE);
        yc_exc *e = yc_err_take();
        CHECK(si_obj != NULL);
        CHECK_PEP479(e, si_obj);
        CHECK_EXC_OBJ(si_obj, a.type, k & 1 ? "MyStop: 7" : "StopIteration: 7");
        CHECK_INTV(yc_exc_value(si_obj), 7);
        CHECK(yc_exc_context(si_obj) == NULL);
        CHECK_ORDER(1);
        yc_exc_unref(e);
        CHECK_STATE(g, YC_GEN_CLOSED);
        v = yc_int(-1);
        CHECK_ST(yc_next(g, &v), YC_RETURN);
        CHECK(yc_is_none(v));
        CHECK_ST(yc_gen_free(g), YC_OK);
    }
}

static yc_val raise_stop_plain(void *arg)
{
    (void)arg;
    yc_yield(yc_int(1));
    si_obj = yc_exc_new_value(&yc_StopIteration, yc_int(7));
    yc_raise(si_obj);
}

/* [6.1] the traceback prints "StopIteration: 7", then the "direct cause"
 * sentence, then the RuntimeError */
TEST(c6_1_printed_chain)
{
    yc_gen *g = gen(raise_stop_plain, NULL, "g61p");
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    CHECK_ST(yc_next(g, NULL), YC_RAISE);
    yc_exc *e = yc_err_take();
    CHECK_PEP479(e, si_obj);
    char *out = print_to_string(e);
    const char *a = strstr(out, "StopIteration: 7\n");
    const char *b = strstr(out, "\nThe above exception was the direct cause of the following "
                                "exception:\n\n");
    const char *c = strstr(out, RAISED_SI "\n");
    CHECK(a && b && c && a < b && b < c);
    CHECK(strstr(out, "During handling") == NULL);
    /* the RuntimeError's line ends the output */
    size_t len = strlen(out), clen = strlen(RAISED_SI "\n");
    CHECK(len >= clen && strcmp(out + len - clen, RAISED_SI "\n") == 0);
    free(out);
    yc_exc_unref(e);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

static yc_val raise_stop_no_value(void *arg)
{
    (void)arg;
    yc_raise(yc_exc_new(&yc_StopIteration, NULL)); /* `raise StopIteration` */
}

/* [6.1] a StopIteration with no value: the cause prints "StopIteration" */
TEST(c6_1_stop_iteration_without_value)
{
    yc_gen *g = gen(raise_stop_no_value, NULL, NULL);
    CHECK_ST(yc_next(g, NULL), YC_RAISE);
    yc_exc *e = yc_err_take();
    CHECK_EXC_OBJ(e, &yc_RuntimeError, RAISED_SI);
    CHECK_EXC_OBJ(yc_exc_cause(e), &yc_StopIteration, "StopIteration");
    CHECK(yc_is_none(yc_exc_value(yc_exc_cause(e))));
    yc_exc_unref(e);
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

static yc_val stop_in_except(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_raisef(&yc_KeyError, "k");
    } YC_EXCEPT(&yc_KeyError) {
        yc_raise(yc_exc_new_value(&yc_StopIteration, yc_int(1)));
    } YC_END;
    return yc_none();
}

/* [6.1] the StopIteration keeps its own context; the RuntimeError's
 * context and cause are the StopIteration */
TEST(c6_1_stop_iteration_raised_while_handling)
{
    yc_gen *g = gen(stop_in_except, NULL, NULL);
    CHECK_ST(yc_next(g, NULL), YC_RAISE);
    yc_exc *e = yc_err_take();
    yc_exc *si = yc_exc_cause(e);
    CHECK_PEP479(e, si);
    CHECK_EXC_OBJ(si, &yc_StopIteration, "StopIteration: 1");
    CHECK_EXC_OBJ(yc_exc_context(si), &yc_KeyError, "KeyError: 'k'");
    yc_exc_unref(e);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- [6.2] implicit next() on an exhausted iterator ------------------- */

/* Python's builtin next(it): StopIteration(value) on exhaustion. */
static yc_val py_next(yc_iter *it)
{
    yc_val v;
    int st = yc_iter_next(it, &v);
    if (st == YC_RETURN) yc_raise(yc_exc_new_value(&yc_StopIteration, v));
    YC_CHECK(st);
    return v;
}

static yc_val next_on_exhausted(void *arg)
{
    yc_iter *it = arg;
    for (;;) {
        yc_val x = py_next(it); /* `yield next(it)` */
        yc_yield(x);
    }
    return yc_none(); /* not reached */
}

/* [6.2] `next()` on an exhausted iterator inside the body -> RuntimeError
 * with the StopIteration as cause */
TEST(c6_2_implicit_next_on_exhausted_iterator)
{
    yc_val items[] = {yc_int(1)};
    yc_iter *it = yc_iter_array(items, 1);
    yc_gen *g = gen(next_on_exhausted, it, NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_ST(yc_next(g, &v), YC_RAISE);
    yc_exc *e = yc_err_take();
    CHECK_EXC_OBJ(e, &yc_RuntimeError, RAISED_SI);
    CHECK_PEP479(e, yc_exc_cause(e));
    CHECK_EXC_OBJ(yc_exc_cause(e), &yc_StopIteration, "StopIteration");
    yc_exc_unref(e);
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
    yc_iter_free(it);
}

/* An iterator that reports exhaustion by raising StopIteration (as a
 * Python-level __next__ does), with a value. */
typedef struct raising_iter {
    yc_iter it;
    int left;
} raising_iter;

static int raising_next(yc_iter *it, yc_val *out)
{
    raising_iter *r = (raising_iter *)it;
    if (r->left > 0) {
        *out = yc_int(r->left--);
        return YC_YIELD;
    }
    yc_err_set(yc_exc_new_value(&yc_StopIteration, yc_int(42)));
    return YC_RAISE;
}

static const yc_iter_type raising_type = {.name = "raising", .next = raising_next};

static yc_val check_on_raising(void *arg)
{
    yc_iter *it = arg;
    for (;;) {
        yc_val x;
        YC_CHECK(yc_iter_next(it, &x));
        yc_yield(x);
    }
    return yc_none(); /* not reached */
}

/* [6.2] a StopIteration from an iterator, raised in the body by YC_CHECK
 * -> RuntimeError */
TEST(c6_2_stop_iteration_from_iterator_in_body)
{
    raising_iter r = {{&raising_type}, 1};
    yc_gen *g = gen(check_on_raising, &r.it, NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_ST(yc_next(g, &v), YC_RAISE);
    yc_exc *e = yc_err_take();
    CHECK_PEP479(e, yc_exc_cause(e));
    CHECK_EXC_OBJ(yc_exc_cause(e), &yc_StopIteration, "StopIteration: 42");
    yc_exc_unref(e);
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* [6.2] (C API) yc_next on an exhausted generator is a status, not an
 * exception: a body that checks it ends normally, nothing is converted */
static yc_val drains_another(void *arg)
{
    yc_gen *inner = arg;
    yc_val v;
    int n = 0;
    while (yc_next(inner, &v) == YC_YIELD) n++;
    CHECK(yc_err_get() == NULL);
    CHECK_ST(yc_next(inner, &v), YC_RETURN); /* exhausted again: fresh SI() */
    return yc_int(n);
}

static yc_val two_items(void *arg)
{
    (void)arg;
    yc_yield(yc_int(1));
    yc_yield(yc_int(2));
    return yc_none();
}

/* [6.2] nearest C: exhaustion seen through yc_next is a status */
TEST(c6_2_exhausted_generator_status_not_converted)
{
    yc_gen *inner = gen(two_items, NULL, "inner");
    yc_gen *g = gen(drains_another, inner, "outer");
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_INTV(v, 2);
    CHECK(yc_err_get() == NULL);
    CHECK_ST(yc_gen_free(g), YC_OK);
    CHECK_ST(yc_gen_free(inner), YC_OK);
}

/* [6.2] generator expressions have no C counterpart; a generator that
 * does what `(next(iter([])) for _ in range(3))` does is the first test
 * above (c6_2_implicit_next_on_exhausted_iterator). */

/* ---- [6.3] a StopIteration caught inside the body --------------------- */

static yc_val catches_stop(void *arg)
{
    int how = *(int *)arg;
    YC_TRY {
        if (how == 0) yc_raise(yc_exc_new_value(&yc_StopIteration, yc_int(1)));
        else { /* next(iter([])) */
            yc_iter *it = yc_iter_array(NULL, 0);
            YC_TRY {
                py_next(it);
            } YC_FINALLY {
                yc_iter_free(it);
            } YC_END;
        }
        rec(99);
    } YC_EXCEPT(how == 2 ? &yc_Exception : &yc_StopIteration) {
        CHECK(yc_exc_is(yc_exc_current(), &yc_StopIteration));
        rec(1);
    } YC_END;
    yc_yield(yc_int(2));
    rec(2);
    return yc_int(3);
}

/* [6.3] caught (by `except StopIteration` or `except Exception`), it is
 * harmless: the generator goes on and returns normally */
TEST(c6_3_caught_stop_iteration_is_harmless)
{
    for (int how = 0; how < 3; how++) {
        norder = 0;
        yc_gen *g = gen(catches_stop, &how, NULL);
        yc_val v;
        CHECK_ST(yc_next(g, &v), YC_YIELD);
        CHECK_INTV(v, 2);
        CHECK(yc_err_get() == NULL);
        CHECK_STATE(g, YC_GEN_SUSPENDED);
        CHECK_ST(yc_next(g, &v), YC_RETURN);
        CHECK_INTV(v, 3);
        CHECK(yc_err_get() == NULL);
        CHECK_ORDER(1, 2);
        CHECK_ST(yc_gen_free(g), YC_OK);
    }
}

static yc_val catches_thrown_stop(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_yield(yc_int(1));
    } YC_EXCEPT(&yc_StopIteration) {
        rec(1);
    } YC_END;
    return yc_int(4);
}

/* [6.3] a thrown StopIteration caught in the body: no conversion, the
 * generator returns */
TEST(c6_3_thrown_stop_iteration_caught)
{
    norder = 0;
    yc_gen *g = gen(catches_thrown_stop, NULL, NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_throw(g, yc_exc_new_value(&yc_StopIteration, yc_int(9)), &v), YC_RETURN);
    CHECK_INTV(v, 4);
    CHECK(yc_err_get() == NULL);
    CHECK_ORDER(1);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- [6.4] list comprehensions are not generators ---------------------- */

/* [6.4] C has no list comprehensions. Nearest: a StopIteration outside any
 * generator is not converted: raised in plain code it is caught as itself,
 * and a plain iterator's StopIteration reaches its caller unchanged. */
TEST(c6_4_stop_iteration_outside_generators_unchanged)
{
    yc_exc *si = yc_exc_ref(yc_exc_new_value(&yc_StopIteration, yc_int(5)));
    volatile int caught = 0;
    YC_TRY {
        yc_raise(si);
    } YC_EXCEPT(&yc_RuntimeError) {
        caught = 2;
    } YC_EXCEPT(&yc_StopIteration) {
        CHECK(yc_exc_current() == si);
        caught = 1;
    } YC_END;
    CHECK_EQ_INT(caught, 1);
    yc_exc_unref(si);

    raising_iter r = {{&raising_type}, 0};
    yc_val v;
    CHECK_ST(yc_iter_next(&r.it, &v), YC_RAISE);
    CHECK_EXC(&yc_StopIteration, "StopIteration: 42");
}

/* ---- [6.5] StopAsyncIteration, async generators, coroutines ------------ */

static yc_exc *sai_obj;

static yc_val raise_stop_async(void *arg)
{
    (void)arg;
    yc_yield(yc_int(1));
    sai_obj = yc_exc_new(&yc_StopAsyncIteration, NULL);
    yc_raise(sai_obj);
}

/* [6.5] StopAsyncIteration escaping a sync generator is not converted */
TEST(c6_5_stop_async_iteration_not_converted)
{
    sai_obj = NULL;
    yc_gen *g = gen(raise_stop_async, NULL, NULL);
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    CHECK_ST(yc_next(g, NULL), YC_RAISE);
    yc_exc *e = yc_err_take();
    CHECK(e == sai_obj);
    CHECK_EXC_OBJ(e, &yc_StopAsyncIteration, "StopAsyncIteration");
    CHECK(yc_exc_cause(e) == NULL);
    CHECK(yc_exc_context(e) == NULL);
    yc_exc_unref(e);
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* [6.5] async generators ("async generator raised StopIteration /
 * StopAsyncIteration") and coroutines ("coroutine raised StopIteration")
 * have no public counterpart yet: the coroutine/task layer is a later
 * roadmap item (DESIGN.md section 5, item 5). Add their tests with it. */

TEST_MAIN()
