/*
 * python-semantics.md section 4: throw().
 *
 * Each TEST names the item it covers in brackets. CPython 3.13 is the oracle
 * (4.8: a StopIteration thrown into a created generator escapes as is).
 */
#include "test.h"

/* ---- helpers ---------------------------------------------------------- */

static int order[32], norder;
static int ran; /* body code that ran */

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

/* A new exception with an extra reference kept by the test (for identity
 * checks after yc_throw has taken one). Release with yc_exc_unref. */
static yc_exc *held(const yc_exc_type *t, const char *msg)
{
    return yc_exc_ref(yc_exc_new(t, "%s", msg));
}

/* yc_exc_print into a string (malloc'd). */
__attribute__((noinline)) static char *print_to_string(const yc_exc *e)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    yc_exc_print(e, f);
    fclose(f);
    return buf;
}

#define NOT_AN_EXCEPTION "exceptions must be classes or instances deriving from BaseException, not "

/* The yield lines of the bodies below, for traceback checks. */
static int yline;

/* Yields 1, 2, 3 (counting steps in ran), with a finally that records 9. */
static yc_val plain3(void *arg)
{
    (void)arg;
    YC_TRY {
        ran++;
        yline = __LINE__; yc_yield(yc_int(1));
        ran++;
        yc_yield(yc_int(2));
        ran++;
        yc_yield(yc_int(3));
        ran++;
    } YC_FINALLY {
        rec(9);
    } YC_END;
    return yc_none();
}

/* ---- [4.1] argument forms --------------------------------------------- */

/* [4.1] The class forms (throw(Cls), throw(Cls, val), a tuple val, a
 * traceback third argument, the DeprecationWarning of 3.12+) have no C
 * counterpart: yc_throw takes one exception instance. What maps: an
 * instance is used as is, and an argument that is not an exception is a
 * TypeError that leaves the generator unchanged. */

static yc_exc *caught_obj;

static yc_val catch_any_and_yield(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_yield(yc_int(1));
        rec(99);
    } YC_EXCEPT_ANY {
        caught_obj = yc_exc_current();
        yc_yield(yc_int(2));
    } YC_END;
    return yc_none();
}

/* [4.1] throw(inst) uses inst itself */
TEST(c4_1_instance_used_as_is)
{
    norder = 0;
    caught_obj = NULL;
    yc_gen *g = gen(catch_any_and_yield, NULL, NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    yc_exc *e = held(&yc_ValueError, "mine");
    CHECK_ST(yc_throw(g, e, &v), YC_YIELD);
    CHECK_INTV(v, 2);
    CHECK(caught_obj == e);
    CHECK_EQ_INT(norder, 0);
    yc_exc_unref(e);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* [4.1] throw(NULL) -> TypeError, generator unchanged in S, C and X */
TEST(c4_1_throw_null_is_type_error_generator_unchanged)
{
    ran = norder = 0;
    yc_gen *g = gen(plain3, NULL, "g41");
    yc_val v = yc_int(-1);
    /* C: stays C, nothing ran */
    CHECK_ST(yc_throw(g, NULL, &v), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: " NOT_AN_EXCEPTION "NULL");
    CHECK_STATE(g, YC_GEN_CREATED);
    CHECK_EQ_INT(ran, 0);
    /* S: stays S at the same yield; the body saw nothing */
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_ST(yc_throw(g, NULL, &v), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: " NOT_AN_EXCEPTION "NULL");
    CHECK_STATE(g, YC_GEN_SUSPENDED);
    CHECK_EQ_INT(ran, 1);
    CHECK_EQ_INT(norder, 0);
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 2);
    /* X: stays X */
    CHECK_ST(yc_close(g, NULL), YC_OK);
    CHECK_ORDER(9);
    CHECK_ST(yc_throw(g, NULL, &v), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: " NOT_AN_EXCEPTION "NULL");
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* [4.1] throw(1): a pointer that is not an exception -> TypeError with the
 * same message prefix; generator unchanged */
TEST(c4_1_throw_foreign_pointer_is_type_error)
{
    ran = norder = 0;
    static union {
        char bytes[512];
        uint64_t align;
    } not_exc; /* zeroed, large enough for any header check */
    yc_gen *g = gen(plain3, NULL, NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_throw(g, (yc_exc *)&not_exc, &v), YC_EINVAL);
    yc_exc *e = yc_err_take();
    CHECK_EXC_OBJ(e, &yc_TypeError, NULL);
    CHECK(strncmp(yc_exc_msg(e), NOT_AN_EXCEPTION, strlen(NOT_AN_EXCEPTION)) == 0);
    yc_exc_unref(e);
    CHECK_STATE(g, YC_GEN_SUSPENDED);
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 2);
    CHECK_EQ_INT(norder, 0);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* [4.1] (C API) a NULL generator: TypeError, and the exception is still
 * taken (released) */
TEST(c4_1_throw_into_null_generator_takes_exception)
{
    CHECK_ST(yc_throw(NULL, yc_exc_new(&yc_ValueError, "x"), NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, NULL);
    /* the leak check after the test verifies the ValueError was released */
}

/* ---- [4.2] type I: not caught ----------------------------------------- */

static yc_val nested_finallies(void *arg)
{
    (void)arg;
    YC_TRY {
        YC_TRY {
            yline = __LINE__; yc_yield(yc_int(1));
            rec(99);
        } YC_EXCEPT(&yc_KeyError) {
            rec(98); /* does not match */
        } YC_FINALLY {
            rec(1);
        } YC_END;
        rec(97);
    } YC_FINALLY {
        rec(2);
    } YC_END;
    rec(96);
    return yc_none();
}

/* [4.2] raised at the yield; finally blocks run inner to outer; the same
 * object propagates; its traceback has the generator at the yield line;
 * ⇒ X */
TEST(c4_2_uncaught_propagates_same_object)
{
    norder = 0;
    yc_gen *g = gen(nested_finallies, NULL, "g42");
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    yc_exc *e = held(&yc_ValueError, "boom");
    v = yc_int(-1);
    CHECK_ST(yc_throw(g, e, &v), YC_RAISE);
    yc_exc *got = yc_err_take();
    CHECK(got == e);
    CHECK_EXC_OBJ(got, &yc_ValueError, "ValueError: boom");
    CHECK(yc_exc_context(got) == NULL);
    CHECK(yc_exc_cause(got) == NULL);
    CHECK_ORDER(1, 2);
    size_t n = 0;
    const yc_tb_entry *tb = yc_exc_traceback(got, &n);
    int found = 0;
    for (size_t i = 0; i < n; i++)
        if (tb[i].line == yline && tb[i].where && strcmp(tb[i].where, "g42") == 0 &&
            tb[i].file && strstr(tb[i].file, "test_sec4_throw.c"))
            found = 1;
    CHECK(found);
    yc_exc_unref(got);
    yc_exc_unref(e);
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK(yc_is_none(v));
    CHECK_ORDER(1, 2);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* [4.2] the thrown exception is raised at the yield, so it chains only to
 * what the *generator* is handling there. A generator handling nothing,
 * thrown into by a caller that handles IndexError: __context__ stays None
 * (CPython chains the thrown exception to the generator's own exc_info
 * only: `try: raise IndexError` / `except: g.throw(ValueError())` gives a
 * ValueError with __context__ None). */
TEST(c4_2_thrown_exception_does_not_chain_to_callers_exception)
{
    norder = 0;
    yc_gen *g = gen(nested_finallies, NULL, NULL);
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    yc_exc *e = held(&yc_ValueError, "v");
    YC_TRY {
        yc_raisef(&yc_IndexError, "caller");
    } YC_EXCEPT(&yc_IndexError) {
        CHECK_ST(yc_throw(g, e, NULL), YC_RAISE);
        yc_exc *got = yc_err_take();
        CHECK(got == e);
        CHECK(yc_exc_context(got) == NULL);
        yc_exc_unref(got);
    } YC_END;
    CHECK_ORDER(1, 2);
    yc_exc_unref(e);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

static yc_val suspended_in_except(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_raisef(&yc_KeyError, "k");
    } YC_EXCEPT(&yc_KeyError) {
        yc_yield(yc_int(1));
    } YC_END;
    return yc_none();
}

/* [4.2] a generator suspended inside `except KeyError`: the thrown
 * exception's __context__ is that KeyError */
TEST(c4_2_thrown_exception_chains_to_generators_own_exception)
{
    yc_gen *g = gen(suspended_in_except, NULL, NULL);
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    yc_exc *e = held(&yc_ValueError, "v");
    YC_TRY {
        yc_raisef(&yc_IndexError, "caller");
    } YC_EXCEPT(&yc_IndexError) {
        CHECK_ST(yc_throw(g, e, NULL), YC_RAISE);
        yc_exc *got = yc_err_take();
        CHECK(got == e);
        yc_exc *ctx = yc_exc_context(got);
        CHECK_EXC_OBJ(ctx, &yc_KeyError, "KeyError: 'k'");
        CHECK(ctx && yc_exc_context(ctx) == NULL);
        yc_exc_unref(got);
    } YC_END;
    yc_exc_unref(e);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- [4.3] type II-a: caught, yields y -------------------------------- */

static yc_val sent_in_handler, sent_after;

static yc_val catch_then_yield(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_yield(yc_int(1));
        rec(99);
    } YC_EXCEPT(&yc_ValueError) {
        caught_obj = yc_exc_current();
        rec(1);
        sent_in_handler = yc_yield(yc_int(2)); /* throw returns 2 */
        rec(2);
    } YC_END;
    sent_after = yc_yield(yc_int(3));
    rec(3);
    return yc_int(4);
}

/* [4.3] throw returns y; ⇒ S; later sends continue from that yield */
TEST(c4_3_caught_and_yields)
{
    norder = 0;
    caught_obj = NULL;
    sent_in_handler = sent_after = yc_int(-1);
    yc_gen *g = gen(catch_then_yield, NULL, "g43");
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    yc_exc *e = held(&yc_ValueError, "v");
    v = yc_int(-1);
    CHECK_ST(yc_throw(g, e, &v), YC_YIELD);
    CHECK_INTV(v, 2);
    CHECK(yc_err_get() == NULL);
    CHECK(caught_obj == e);
    CHECK_STATE(g, YC_GEN_SUSPENDED);
    CHECK_ORDER(1);
    CHECK_ST(yc_send(g, yc_int(20), &v), YC_YIELD);
    CHECK_INTV(v, 3);
    CHECK_INTV(sent_in_handler, 20);
    CHECK_ST(yc_send(g, yc_int(30), &v), YC_RETURN);
    CHECK_INTV(v, 4);
    CHECK_INTV(sent_after, 30);
    CHECK_ORDER(1, 2, 3);
    yc_exc_unref(e);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* [4.3] caught repeatedly in a loop: each throw returns the next yield */
static yc_val catch_loop(void *arg)
{
    (void)arg;
    for (volatile int64_t i = 0; i < 3; i++) { /* volatile: live across setjmp */
        YC_TRY {
            yc_yield(yc_int(i));
        } YC_EXCEPT(&yc_Exception) {
            rec((int)(10 + i));
        } YC_END;
    }
    return yc_none();
}

/* [4.3] each caught throw returns the next yield; the last one returns */
TEST(c4_3_caught_in_a_loop)
{
    norder = 0;
    yc_gen *g = gen(catch_loop, NULL, NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 0);
    CHECK_ST(yc_throw(g, yc_exc_new(&yc_KeyError, "a"), &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_ST(yc_throw(g, yc_exc_new(&yc_TypeError, "b"), &v), YC_YIELD);
    CHECK_INTV(v, 2);
    CHECK_STATE(g, YC_GEN_SUSPENDED);
    CHECK_ST(yc_throw(g, yc_exc_new(&yc_OSError, "c"), &v), YC_RETURN);
    CHECK(yc_is_none(v));
    CHECK_ORDER(10, 11, 12);
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- [4.4] type II-b: caught, returns v ------------------------------- */

static yc_val catch_then_return(void *arg)
{
    int from_handler = *(int *)arg;
    YC_TRY {
        yc_yield(yc_int(1));
        rec(99);
    } YC_EXCEPT(&yc_ValueError) {
        rec(1);
        if (from_handler) return yc_int(5); /* `return 5` in the except block */
        rec(2);
    } YC_END;
    rec(3);
    return yc_none(); /* falls off the end */
}

/* [4.4] caught and returns v -> SI(v) out of throw; ⇒ X */
TEST(c4_4_caught_and_returns)
{
    for (int from_handler = 0; from_handler < 2; from_handler++) {
        norder = 0;
        yc_gen *g = gen(catch_then_return, &from_handler, "g44");
        yc_val v;
        CHECK_ST(yc_next(g, &v), YC_YIELD);
        v = yc_int(-1);
        CHECK_ST(yc_throw(g, yc_exc_new(&yc_ValueError, "v"), &v), YC_RETURN);
        CHECK(yc_err_get() == NULL);
        if (from_handler) {
            CHECK_INTV(v, 5);
            CHECK_ORDER(1);
        } else {
            CHECK(yc_is_none(v));
            CHECK_ORDER(1, 2, 3);
        }
        CHECK_STATE(g, YC_GEN_CLOSED);
        v = yc_int(-1);
        CHECK_ST(yc_next(g, &v), YC_RETURN);
        CHECK(yc_is_none(v));
        CHECK_ST(yc_gen_free(g), YC_OK);
    }
}

/* ---- [4.5] type II-c: caught, raises F -------------------------------- */

static yc_exc *raised_f;

static yc_val catch_then_raise(void *arg)
{
    int from = *(int *)arg;
    YC_TRY {
        yc_yield(yc_int(1));
    } YC_EXCEPT(&yc_ValueError) {
        rec(1);
        raised_f = yc_exc_new(&yc_TypeError, "F");
        if (from) yc_raise_from(raised_f, yc_exc_ref(yc_exc_current()));
        yc_raise(raised_f);
    } YC_FINALLY {
        rec(2);
    } YC_END;
    rec(99);
    return yc_none();
}

/* [4.5] caught-and-raise-another: F.__context__ is the thrown exception,
 * no __cause__; printed with "During handling..."; ⇒ X */
TEST(c4_5_caught_and_raises_another)
{
    norder = 0;
    int from = 0;
    yc_gen *g = gen(catch_then_raise, &from, "g45");
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    yc_exc *e = held(&yc_ValueError, "thrown");
    CHECK_ST(yc_throw(g, e, NULL), YC_RAISE);
    yc_exc *f = yc_err_take();
    CHECK(f == raised_f);
    CHECK_EXC_OBJ(f, &yc_TypeError, "TypeError: F");
    CHECK(yc_exc_context(f) == e);
    CHECK(yc_exc_cause(f) == NULL);
    CHECK(!yc_exc_suppress_context(f));
    CHECK(yc_exc_context(e) == NULL);
    CHECK_ORDER(1, 2);
    char *out = print_to_string(f);
    const char *a = strstr(out, "ValueError: thrown\n");
    const char *b = strstr(out, "\nDuring handling of the above exception, another exception "
                                "occurred:\n");
    const char *c = strstr(out, "TypeError: F\n");
    CHECK(a && b && c && a < b && b < c);
    CHECK(strstr(out, "direct cause") == NULL);
    free(out);
    yc_exc_unref(f);
    yc_exc_unref(e);
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* [4.5] `raise F from e` sets __cause__ (and __suppress_context__) */
TEST(c4_5_caught_and_raises_from)
{
    norder = 0;
    int from = 1;
    yc_gen *g = gen(catch_then_raise, &from, NULL);
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    yc_exc *e = held(&yc_ValueError, "thrown");
    CHECK_ST(yc_throw(g, e, NULL), YC_RAISE);
    yc_exc *f = yc_err_take();
    CHECK_EXC_OBJ(f, &yc_TypeError, "TypeError: F");
    CHECK(yc_exc_cause(f) == e);
    CHECK(yc_exc_context(f) == e);
    CHECK(yc_exc_suppress_context(f));
    CHECK_ORDER(1, 2);
    char *out = print_to_string(f);
    CHECK(strstr(out, "The above exception was the direct cause of the following exception:"));
    CHECK(strstr(out, "During handling") == NULL);
    free(out);
    yc_exc_unref(f);
    yc_exc_unref(e);
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- [4.6] throw on C ------------------------------------------------- */

static yc_val guarded_body(void *arg)
{
    (void)arg;
    YC_TRY {
        ran++;
        yc_yield(yc_int(1));
    } YC_EXCEPT_ANY {
        rec(1);
    } YC_FINALLY {
        rec(2);
    } YC_END;
    return yc_none();
}

/* [4.6] raised before the first body instruction: no try/finally sees it;
 * it propagates unchanged; ⇒ X and the body never runs */
TEST(c4_6_throw_into_created)
{
    ran = norder = 0;
    yc_gen *g = gen(guarded_body, NULL, "g46");
    yc_exc *e = held(&yc_ValueError, "early");
    yc_val v = yc_int(-1);
    CHECK_ST(yc_throw(g, e, &v), YC_RAISE);
    yc_exc *got = yc_err_take();
    CHECK(got == e);
    CHECK_EXC_OBJ(got, &yc_ValueError, "ValueError: early");
    CHECK(yc_exc_context(got) == NULL);
    CHECK(yc_exc_cause(got) == NULL);
    yc_exc_unref(got);
    yc_exc_unref(e);
    CHECK_EQ_INT(ran, 0);
    CHECK_EQ_INT(norder, 0);
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK(yc_is_none(v));
    CHECK_EQ_INT(ran, 0);
    CHECK_ST(yc_gen_free(g), YC_OK);
    CHECK_EQ_INT(norder, 0);
}

/* [4.6] also with a caller handling another exception: unchanged (the
 * generator handles nothing, so nothing chains) */
TEST(c4_6_throw_into_created_while_caller_handles)
{
    ran = norder = 0;
    yc_gen *g = gen(guarded_body, NULL, NULL);
    yc_exc *e = held(&yc_KeyboardInterrupt, "");
    YC_TRY {
        yc_raisef(&yc_IndexError, "caller");
    } YC_EXCEPT(&yc_IndexError) {
        CHECK_ST(yc_throw(g, e, NULL), YC_RAISE);
        yc_exc *got = yc_err_take();
        CHECK(got == e);
        CHECK(yc_exc_context(got) == NULL);
        yc_exc_unref(got);
    } YC_END;
    yc_exc_unref(e);
    CHECK_EQ_INT(ran, 0);
    CHECK_EQ_INT(norder, 0);
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- [4.7] throw on X ------------------------------------------------- */

/* [4.7] E raised directly, the generator stays X (after return, after an
 * escaping exception, after close) */
TEST(c4_7_throw_into_closed)
{
    for (int how = 0; how < 3; how++) {
        ran = norder = 0;
        yc_gen *g = gen(plain3, NULL, NULL);
        yc_val v;
        CHECK_ST(yc_next(g, &v), YC_YIELD);
        if (how == 0) {
            while (yc_next(g, &v) == YC_YIELD) {}
        } else if (how == 1) {
            CHECK_ST(yc_throw(g, yc_exc_new(&yc_KeyError, "first"), &v), YC_RAISE);
            CHECK_EXC(&yc_KeyError, "KeyError: 'first'");
        } else {
            CHECK_ST(yc_close(g, &v), YC_OK);
        }
        CHECK_STATE(g, YC_GEN_CLOSED);
        CHECK_ORDER(9);
        int ran_before = ran;
        yc_exc *e = held(&yc_ValueError, "late");
        CHECK_ST(yc_throw(g, e, &v), YC_RAISE);
        yc_exc *got = yc_err_take();
        CHECK(got == e);
        CHECK_EXC_OBJ(got, &yc_ValueError, "ValueError: late");
        CHECK(yc_exc_context(got) == NULL);
        yc_exc_unref(got);
        yc_exc_unref(e);
        CHECK_STATE(g, YC_GEN_CLOSED);
        CHECK_EQ_INT(ran, ran_before);
        CHECK_ORDER(9);
        CHECK_ST(yc_gen_free(g), YC_OK);
    }
}

/* [4.7] raised directly: a caller handling IndexError does not become its
 * __context__ (CPython: `g.throw(ValueError())` on a closed g inside
 * `except IndexError` gives __context__ None) */
TEST(c4_7_throw_into_closed_while_caller_handles)
{
    yc_gen *g = gen(plain3, NULL, NULL);
    CHECK_ST(yc_close(g, NULL), YC_OK);
    yc_exc *e = held(&yc_ValueError, "late");
    YC_TRY {
        yc_raisef(&yc_IndexError, "caller");
    } YC_EXCEPT(&yc_IndexError) {
        CHECK_ST(yc_throw(g, e, NULL), YC_RAISE);
        yc_exc *got = yc_err_take();
        CHECK(got == e);
        CHECK(yc_exc_context(got) == NULL);
        yc_exc_unref(got);
    } YC_END;
    yc_exc_unref(e);
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- [4.8] throw(StopIteration) --------------------------------------- */

YC_EXC_TYPE(MyStop, yc_StopIteration);

/* [4.8] into S, not caught -> RuntimeError "generator raised
 * StopIteration", __cause__ = __context__ = the SI; ⇒ X */
TEST(c4_8_stop_iteration_into_suspended)
{
    const yc_exc_type *types[2] = {&yc_StopIteration, &MyStop};
    for (int k = 0; k < 2; k++) {
        ran = norder = 0;
        yc_gen *g = gen(plain3, NULL, "g48");
        CHECK_ST(yc_next(g, NULL), YC_YIELD);
        yc_exc *si = yc_exc_ref(yc_exc_new_value(types[k], yc_int(5)));
        CHECK_ST(yc_throw(g, si, NULL), YC_RAISE);
        yc_exc *got = yc_err_take();
        CHECK_EXC_OBJ(got, &yc_RuntimeError, "RuntimeError: generator raised StopIteration");
        CHECK(yc_exc_cause(got) == si);
        CHECK(yc_exc_context(got) == si);
        CHECK(yc_exc_suppress_context(got));
        CHECK_EXC_OBJ(si, types[k], k ? "MyStop: 5" : "StopIteration: 5");
        CHECK_INTV(yc_exc_value(si), 5);
        CHECK_ORDER(9);
        yc_exc_unref(got);
        yc_exc_unref(si);
        CHECK_STATE(g, YC_GEN_CLOSED);
        CHECK_ST(yc_gen_free(g), YC_OK);
    }
}

/* [4.8] into C (3.12/3.13): the StopIteration itself escapes; ⇒ X */
TEST(c4_8_stop_iteration_into_created_escapes_3_13)
{
    ran = norder = 0;
    yc_gen *g = gen(plain3, NULL, NULL);
    yc_exc *si = yc_exc_ref(yc_exc_new_value(&yc_StopIteration, yc_int(5)));
    CHECK_ST(yc_throw(g, si, NULL), YC_RAISE);
    yc_exc *got = yc_err_take();
    CHECK(got == si);
    CHECK_EXC_OBJ(got, &yc_StopIteration, "StopIteration: 5");
    CHECK(yc_exc_cause(got) == NULL);
    yc_exc_unref(got);
    yc_exc_unref(si);
    CHECK_EQ_INT(ran, 0);
    CHECK_EQ_INT(norder, 0);
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* [4.8] into X: raised as is (4.7), not converted */
TEST(c4_8_stop_iteration_into_closed_not_converted)
{
    yc_gen *g = gen(plain3, NULL, NULL);
    CHECK_ST(yc_close(g, NULL), YC_OK);
    CHECK_ST(yc_throw(g, yc_exc_new_value(&yc_StopIteration, yc_int(1)), NULL), YC_RAISE);
    CHECK_EXC(&yc_StopIteration, "StopIteration: 1");
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- [4.9] throw(GeneratorExit) --------------------------------------- */

static yc_val catch_exception_only(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_yield(yc_int(1));
    } YC_EXCEPT(&yc_Exception) {
        rec(99); /* GeneratorExit is not an Exception */
    } YC_FINALLY {
        rec(1);
    } YC_END;
    return yc_none();
}

/* [4.9] not caught: GeneratorExit propagates out of throw (close would
 * swallow it); finally runs; ⇒ X */
TEST(c4_9_generator_exit_propagates_from_throw)
{
    norder = 0;
    yc_gen *g = gen(catch_exception_only, NULL, "g49");
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    yc_exc *e = held(&yc_GeneratorExit, "");
    CHECK_ST(yc_throw(g, e, NULL), YC_RAISE);
    yc_exc *got = yc_err_take();
    CHECK(got == e);
    CHECK_EXC_OBJ(got, &yc_GeneratorExit, "GeneratorExit");
    yc_exc_unref(got);
    yc_exc_unref(e);
    CHECK_ORDER(1);
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);

    /* the same generator closed instead: close swallows it */
    norder = 0;
    g = gen(catch_exception_only, NULL, NULL);
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    CHECK_ST(yc_close(g, NULL), YC_OK);
    CHECK(yc_err_get() == NULL);
    CHECK_ORDER(1);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

static yc_val catch_generator_exit_and_yield(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_yield(yc_int(1));
    } YC_EXCEPT(&yc_GeneratorExit) {
        rec(1);
        yc_yield(yc_int(2));
    } YC_END;
    return yc_none();
}

/* [4.9] thrown (not closed), a caught GeneratorExit may be followed by a
 * yield: throw returns it, no "ignored GeneratorExit" */
TEST(c4_9_generator_exit_caught_and_yield)
{
    norder = 0;
    yc_gen *g = gen(catch_generator_exit_and_yield, NULL, NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_throw(g, yc_exc_new(&yc_GeneratorExit, NULL), &v), YC_YIELD);
    CHECK_INTV(v, 2);
    CHECK(yc_err_get() == NULL);
    CHECK_STATE(g, YC_GEN_SUSPENDED);
    CHECK_ORDER(1);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- [4.10] BaseExceptions -------------------------------------------- */

/* [4.10] KeyboardInterrupt, SystemExit, CancelledError: not caught by
 * `except Exception`, finally runs, propagates; ⇒ X */
TEST(c4_10_base_exceptions_not_caught_by_except_exception)
{
    const yc_exc_type *types[3] = {&yc_KeyboardInterrupt, &yc_SystemExit, &yc_CancelledError};
    for (int k = 0; k < 3; k++) {
        norder = 0;
        yc_gen *g = gen(catch_exception_only, NULL, NULL);
        CHECK_ST(yc_next(g, NULL), YC_YIELD);
        yc_exc *e = yc_exc_ref(yc_exc_new(types[k], NULL));
        CHECK_ST(yc_throw(g, e, NULL), YC_RAISE);
        yc_exc *got = yc_err_take();
        CHECK(got == e);
        CHECK_EXC_OBJ(got, types[k], types[k]->name);
        yc_exc_unref(got);
        yc_exc_unref(e);
        CHECK_ORDER(1);
        CHECK_STATE(g, YC_GEN_CLOSED);
        CHECK_ST(yc_gen_free(g), YC_OK);
    }
}

/* [4.10] the same rules otherwise: `except BaseException` catches it and
 * the generator may yield (4.3) */
TEST(c4_10_base_exception_caught_by_base_exception)
{
    norder = 0;
    caught_obj = NULL;
    yc_gen *g = gen(catch_any_and_yield, NULL, NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    yc_exc *e = held(&yc_KeyboardInterrupt, "");
    CHECK_ST(yc_throw(g, e, &v), YC_YIELD);
    CHECK_INTV(v, 2);
    CHECK(caught_obj == e);
    CHECK_STATE(g, YC_GEN_SUSPENDED);
    yc_exc_unref(e);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- [4.11] throw on R ------------------------------------------------ */

static yc_val throw_into_self(void *arg)
{
    int catch_it = *(int *)arg;
    yc_gen *me = yc_gen_current();
    yc_yield(yc_int(1));
    if (catch_it) {
        YC_TRY {
            YC_CHECK(yc_throw(me, yc_exc_new(&yc_KeyError, "never raised"), NULL));
            rec(99);
        } YC_EXCEPT(&yc_KeyError) {
            rec(98); /* the argument is never raised anywhere */
        } YC_EXCEPT(&yc_ValueError) {
            CHECK_STR(yc_exc_msg(yc_exc_current()), "generator already executing");
            rec(1);
        } YC_END;
        CHECK_EQ_INT(yc_gen_state_of(me), YC_GEN_RUNNING);
        yc_yield(yc_int(2));
        return yc_none();
    }
    int st = yc_throw(me, yc_exc_new(&yc_KeyError, "never raised"), NULL);
    CHECK_ST(st, YC_EBUSY);
    CHECK_EQ_INT(yc_gen_state_of(me), YC_GEN_RUNNING);
    YC_CHECK(st);
    rec(99);
    return yc_none();
}

/* [4.11] ValueError "generator already executing"; the exception passed
 * in is released, never raised; caught the body carries on */
TEST(c4_11_throw_on_running)
{
    for (int catch_it = 0; catch_it < 2; catch_it++) {
        norder = 0;
        yc_gen *g = gen(throw_into_self, &catch_it, "g411");
        yc_val v;
        CHECK_ST(yc_next(g, &v), YC_YIELD);
        if (catch_it) {
            CHECK_ST(yc_next(g, &v), YC_YIELD);
            CHECK_INTV(v, 2);
            CHECK_ORDER(1);
            CHECK_STATE(g, YC_GEN_SUSPENDED);
        } else {
            CHECK_ST(yc_next(g, &v), YC_RAISE);
            CHECK_EXC(&yc_ValueError, "ValueError: generator already executing");
            CHECK_EQ_INT(norder, 0);
            CHECK_STATE(g, YC_GEN_CLOSED);
        }
        CHECK_ST(yc_gen_free(g), YC_OK);
    }
}

TEST_MAIN()
