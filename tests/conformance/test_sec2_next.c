/*
 * python-semantics.md section 2: next().
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

/* ---- [2.1] each next resumes at the yield, which evaluates to None ----- */

static yc_val log_sent(void *arg)
{
    yc_val *log = arg;
    for (int i = 0; i < 3; i++) {
        rec(i);
        log[i] = yc_yield(yc_int(10 + i));
    }
    rec(3);
    return YC_NONE;
}

TEST(c2_1_next_resumes_yield_evaluates_to_none)
{
    norder = 0;
    yc_val log[3] = {yc_int(-1), yc_int(-1), yc_int(-1)};
    yc_gen *g = gen(log_sent, log, "g21");
    yc_val v;
    for (int i = 0; i < 3; i++) {
        CHECK_ST(yc_next(g, &v), YC_YIELD);
        CHECK_INTV(v, 10 + i);
        CHECK_STATE(g, YC_GEN_SUSPENDED);
        CHECK_EQ_INT(norder, i + 1); /* ran exactly one step */
        for (int j = 0; j < 3; j++) {
            if (j < i) CHECK(yc_is_none(log[j]));
            else CHECK_INTV(log[j], -1); /* not yet evaluated */
        }
    }
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK(yc_is_none(log[2]));
    CHECK_ORDER(0, 1, 2, 3);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- [2.2] return v / falling off the end ----------------------------- */

static yc_val ret_kind(void *arg)
{
    int k = *(int *)arg;
    yc_yield(yc_int(1));
    static const int64_t pair[2] = {1, 2};
    switch (k) {
    case 0: return yc_int(42);
    case 1: return YC_NONE; /* falling off the end */
    case 2: return yc_bytes(pair, sizeof pair); /* a "tuple": not unpacked */
    case 3: return yc_float(0.5);
    case 4: return yc_bool(false);
    case 5: return yc_ptr(NULL); /* NULL is a value, not None */
    default: return yc_int(0);
    }
}

/* [2.2] return v -> SI(v), v exactly as returned; ⇒ X (gi_frame None has no
 * C counterpart) */
TEST(c2_2_return_value_exact)
{
    static const int64_t *pairp;
    for (int k = 0; k < 6; k++) {
        yc_gen *g = gen(ret_kind, &k, NULL);
        yc_val v;
        CHECK_ST(yc_next(g, &v), YC_YIELD);
        v = yc_int(-7);
        CHECK_ST(yc_next(g, &v), YC_RETURN);
        CHECK(yc_err_get() == NULL);
        switch (k) {
        case 0: CHECK_INTV(v, 42); break;
        case 1: CHECK(yc_is_none(v)); break;
        case 2:
            pairp = (const int64_t *)v.s;
            CHECK(yc_type_of(v) == YC_T_BYTES && yc_len(v) == 2 * sizeof(int64_t));
            CHECK(pairp[0] == 1 && pairp[1] == 2);
            break;
        case 3: CHECK_VAL(v, yc_float(0.5)); break;
        case 4: CHECK_VAL(v, yc_bool(false)); CHECK(!yc_is_none(v)); break;
        case 5: CHECK(yc_type_of(v) == YC_T_PTR && v.p == NULL); break;
        }
        CHECK_STATE(g, YC_GEN_CLOSED);
        CHECK(yc_gen_yieldfrom(g) == NULL);
        CHECK_ST(yc_gen_free(g), YC_OK);
    }
}

static yc_exc *stop_obj;

static yc_val ret_exception_value(void *arg)
{
    (void)arg;
    yc_yield(YC_NONE);
    return yc_ptr(stop_obj); /* `return StopIteration(3)` */
}

/* [2.2] returning an exception object makes it the value; it is not
 * raised */
TEST(c2_2_return_exception_object_is_a_value)
{
    stop_obj = yc_exc_new_value(&yc_StopIteration, yc_int(3));
    yc_gen *g = gen(ret_exception_value, NULL, NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK(yc_type_of(v) == YC_T_PTR && v.p == stop_obj);
    CHECK(yc_err_get() == NULL);
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
    yc_exc_unref(stop_obj);
}

/* ---- [2.3] after exhaustion ------------------------------------------- */

static int body_steps;

static yc_val one_then_return(void *arg)
{
    (void)arg;
    body_steps++;
    yc_yield(yc_int(1));
    body_steps++;
    return yc_int(7);
}

/* [2.3] after exhaustion next/send give a fresh StopIteration() (the return
 * value is reported once); throw(E) raises E as is; close gives None */
TEST(c2_3_after_exhaustion)
{
    body_steps = 0;
    yc_gen *g = gen(one_then_return, NULL, "g23");
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_INTV(v, 7);
    CHECK_EQ_INT(body_steps, 2);
    for (int i = 0; i < 3; i++) {
        v = yc_int(-1);
        CHECK_ST(yc_next(g, &v), YC_RETURN);
        CHECK(yc_is_none(v));
        v = yc_int(-1);
        CHECK_ST(yc_send(g, yc_int(5), &v), YC_RETURN);
        CHECK(yc_is_none(v));
        v = yc_int(-1);
        CHECK_ST(yc_send(g, YC_NONE, &v), YC_RETURN);
        CHECK(yc_is_none(v));
        CHECK(yc_err_get() == NULL);
        CHECK_STATE(g, YC_GEN_CLOSED);
    }
    yc_exc *e = yc_exc_new(&yc_IndexError, "late");
    yc_exc_ref(e);
    CHECK_ST(yc_throw(g, e, &v), YC_RAISE);
    yc_exc *got = yc_err_take();
    CHECK(got == e); /* as is */
    CHECK_EXC_OBJ(got, &yc_IndexError, "IndexError: late");
    CHECK(yc_exc_context(got) == NULL);
    yc_exc_unref(got);
    yc_exc_unref(e);
    CHECK_STATE(g, YC_GEN_CLOSED);
    v = yc_int(-1);
    CHECK_ST(yc_close(g, &v), YC_OK);
    CHECK(yc_is_none(v));
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK_EQ_INT(body_steps, 2); /* nothing ran again */
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- [2.4] single use ------------------------------------------------- */

static yc_val three(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++) yc_yield(yc_int(i));
    return yc_int(99);
}

/* [2.4] list(g) twice gives [0, 1, 2] and then [] */
TEST(c2_4_single_use)
{
    yc_gen *g = gen(three, NULL, NULL);
    int st, n = 0;
    YC_FOREACH(x, yc_gen_iter(g), st) {
        CHECK_INTV(x, n);
        n++;
    }
    CHECK_ST(st, YC_RETURN);
    CHECK_EQ_INT(n, 3);
    n = 0;
    YC_FOREACH(x, yc_gen_iter(g), st) {
        (void)x;
        n++;
    }
    CHECK_ST(st, YC_RETURN);
    CHECK_EQ_INT(n, 0);
    CHECK(yc_err_get() == NULL);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- [2.5] re-entrancy ------------------------------------------------ */

enum { OP_NEXT, OP_SEND, OP_SEND_NONE, OP_THROW, OP_CLOSE, OP_NOPS };
static const char *const op_names[] = {"next", "send", "send(None)", "throw", "close"};

static int do_op(yc_gen *g, int op)
{
    yc_val v = yc_int(-1);
    switch (op) {
    case OP_NEXT: return yc_next(g, &v);
    case OP_SEND: return yc_send(g, yc_int(5), &v);
    case OP_SEND_NONE: return yc_send(g, YC_NONE, &v);
    case OP_THROW: return yc_throw(g, yc_exc_new(&yc_KeyError, "never raised"), &v);
    default: return yc_close(g, &v);
    }
}

static int reached, reached_after;

/* Re-enters itself (found with yc_gen_current()) after its first yield and
 * does not catch the error. */
static yc_val reenter_uncaught(void *arg)
{
    int op = *(int *)arg;
    yc_gen *me = yc_gen_current();
    YC_TRY {
        yc_yield(yc_int(1));
        int st = do_op(me, op);
        CHECK_ST(st, YC_EBUSY);
        /* the target's state is not corrupted */
        CHECK_EQ_INT(yc_gen_state_of(me), YC_GEN_RUNNING);
        /* the error surfaces here, in the running body */
        yc_exc *e = yc_err_get();
        CHECK_EXC_OBJ(e, &yc_ValueError, "ValueError: generator already executing");
        CHECK(yc_exc_context(e) == NULL);
        reached++;
        YC_CHECK(st);
        reached_after++; /* not reached */
    } YC_FINALLY {
        rec(1);
    } YC_END;
    reached_after++;
    return yc_none();
}

/* [2.5] next/send/throw/close on the running generator from its own body:
 * ValueError "generator already executing" at the call site; uncaught it
 * ends the generator (⇒ X) and reaches the resumer */
TEST(c2_5_reentrant_uncaught_kills_generator)
{
    for (int op = 0; op < OP_NOPS; op++) {
        reached = reached_after = norder = 0;
        yc_gen *g = gen(reenter_uncaught, &op, "g25");
        yc_val v;
        CHECK_ST(yc_next(g, &v), YC_YIELD);
        CHECK_ST(yc_next(g, &v), YC_RAISE);
        yc_exc *e = yc_err_take();
        CHECK_EXC_OBJ(e, &yc_ValueError, "ValueError: generator already executing");
        CHECK(yc_exc_context(e) == NULL);
        yc_exc_unref(e);
        if (reached != 1 || reached_after != 0 || norder != 1)
            test_fail(__FILE__, __LINE__, "op %s: reached %d, after %d, finally %d",
                      op_names[op], reached, reached_after, norder);
        CHECK_STATE(g, YC_GEN_CLOSED);
        CHECK_ST(yc_next(g, &v), YC_RETURN);
        CHECK(yc_is_none(v));
        CHECK_ST(yc_gen_free(g), YC_OK);
    }
}

static int caught_count;

/* Re-enters itself (passed through arg) and catches the error. */
typedef struct reent_arg {
    yc_gen *self;
    int op;
} reent_arg;

static yc_val reenter_caught(void *arg)
{
    reent_arg *ra = arg;
    yc_yield(yc_int(1));
    YC_TRY {
        YC_CHECK(do_op(ra->self, ra->op));
        rec(99); /* not reached */
    } YC_EXCEPT(&yc_ValueError) {
        CHECK_STR(yc_exc_msg(yc_exc_current()), "generator already executing");
        caught_count++;
    } YC_END;
    CHECK_EQ_INT(yc_gen_state_of(ra->self), YC_GEN_RUNNING);
    yc_val sent = yc_yield(yc_int(2)); /* carries on normally */
    CHECK_INTV(sent, 20);
    return yc_int(3);
}

/* [2.5] caught, the generator carries on normally */
TEST(c2_5_reentrant_caught_carries_on)
{
    for (int op = 0; op < OP_NOPS; op++) {
        caught_count = norder = 0;
        reent_arg ra = {NULL, op};
        yc_gen *g = gen(reenter_caught, &ra, "g25c");
        ra.self = g;
        yc_val v;
        CHECK_ST(yc_next(g, &v), YC_YIELD);
        CHECK_INTV(v, 1);
        CHECK_ST(yc_next(g, &v), YC_YIELD);
        CHECK_INTV(v, 2);
        CHECK_STATE(g, YC_GEN_SUSPENDED);
        CHECK_ST(yc_send(g, yc_int(20), &v), YC_RETURN);
        CHECK_INTV(v, 3);
        if (caught_count != 1 || norder != 0)
            test_fail(__FILE__, __LINE__, "op %s: caught %d, order %d", op_names[op],
                      caught_count, norder);
        CHECK(yc_err_get() == NULL);
        CHECK_ST(yc_gen_free(g), YC_OK);
    }
}

static yc_val reenter_before_first_yield(void *arg)
{
    yc_gen **self = arg;
    int st = yc_next(*self, NULL);
    CHECK_ST(st, YC_EBUSY);
    YC_CHECK(st);
    return yc_none();
}

/* [2.5] also while running the first time (C -> R), uncaught */
TEST(c2_5_reentrant_on_first_run)
{
    yc_gen *g = NULL;
    g = gen(reenter_before_first_yield, &g, NULL);
    CHECK_ST(yc_next(g, NULL), YC_RAISE);
    CHECK_EXC(&yc_ValueError, "ValueError: generator already executing");
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

static yc_val free_self(void *arg)
{
    (void)arg;
    yc_gen *me = yc_gen_current();
    CHECK_ST(yc_gen_free(me), YC_EBUSY);
    CHECK_EXC(&yc_ValueError, "ValueError: generator already executing");
    CHECK_EQ_INT(yc_gen_state_of(me), YC_GEN_RUNNING);
    yc_yield(yc_int(1));
    return YC_NONE;
}

/* [2.5] (C API) freeing the running generator from its body is refused the
 * same way, and changes nothing */
TEST(c2_5_reentrant_free_refused)
{
    yc_gen *g = gen(free_self, NULL, NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* From a subgenerator that the outer one delegates to. */
typedef struct deleg_arg {
    yc_gen *outer;
    yc_gen *sub;
    int op;
    int catch_in_sub;
} deleg_arg;

static yc_val reenter_sub(void *arg)
{
    deleg_arg *da = arg;
    yc_yield(yc_int(1));
    /* every level of the chain is running */
    CHECK_EQ_INT(yc_gen_state_of(da->outer), YC_GEN_RUNNING);
    CHECK_EQ_INT(yc_gen_state_of(da->sub), YC_GEN_RUNNING);
    CHECK(yc_gen_current() == da->sub);
    if (da->catch_in_sub) {
        YC_TRY {
            YC_CHECK(do_op(da->outer, da->op));
        } YC_EXCEPT(&yc_ValueError) {
            rec(1);
        } YC_END;
        yc_yield(yc_int(2));
        return yc_int(3);
    }
    YC_CHECK(do_op(da->outer, da->op));
    rec(99);
    return yc_none();
}

static yc_val reenter_outer(void *arg)
{
    deleg_arg *da = arg;
    volatile yc_val r = yc_none(); /* set in the try, read after it */
    YC_TRY {
        r = yc_yield_from(yc_gen_iter(da->sub));
    } YC_EXCEPT(&yc_ValueError) {
        rec(2);
        yc_reraise();
    } YC_END;
    yc_yield(r);
    return yc_none();
}

/* [2.5] from a subgenerator it is delegating to: the ValueError surfaces in
 * the sub; uncaught it travels through the delegating generator */
TEST(c2_5_reentrant_from_subgenerator)
{
    for (int op = 0; op < OP_NOPS; op++) {
        norder = 0;
        deleg_arg da = {NULL, NULL, op, 0};
        da.sub = gen(reenter_sub, &da, "sub");
        da.outer = gen(reenter_outer, &da, "outer");
        yc_val v;
        CHECK_ST(yc_next(da.outer, &v), YC_YIELD);
        CHECK_INTV(v, 1);
        CHECK_ST(yc_next(da.outer, &v), YC_RAISE);
        CHECK_EXC(&yc_ValueError, "ValueError: generator already executing");
        CHECK_ORDER(2);
        CHECK_STATE(da.outer, YC_GEN_CLOSED);
        CHECK_STATE(da.sub, YC_GEN_CLOSED);
        CHECK_ST(yc_gen_free(da.outer), YC_OK);
        CHECK_ST(yc_gen_free(da.sub), YC_OK);
    }
}

/* [2.5] from a subgenerator, caught there: both carry on */
TEST(c2_5_reentrant_from_subgenerator_caught)
{
    for (int op = 0; op < OP_NOPS; op++) {
        norder = 0;
        deleg_arg da = {NULL, NULL, op, 1};
        da.sub = gen(reenter_sub, &da, "sub");
        da.outer = gen(reenter_outer, &da, "outer");
        yc_val v;
        CHECK_ST(yc_next(da.outer, &v), YC_YIELD);
        CHECK_INTV(v, 1);
        CHECK_ST(yc_next(da.outer, &v), YC_YIELD);
        CHECK_INTV(v, 2);
        CHECK_ORDER(1);
        CHECK_STATE(da.outer, YC_GEN_SUSPENDED);
        CHECK_STATE(da.sub, YC_GEN_SUSPENDED);
        CHECK_ST(yc_next(da.outer, &v), YC_YIELD);
        CHECK_INTV(v, 3); /* the sub's return value, yielded by outer */
        CHECK_ST(yc_next(da.outer, &v), YC_RETURN);
        CHECK(yc_err_get() == NULL);
        CHECK_ST(yc_gen_free(da.outer), YC_OK);
        CHECK_ST(yc_gen_free(da.sub), YC_OK);
    }
}

/* ---- [2.6] the running state seen from inside ------------------------- */

static yc_gen *self_seen;

static yc_val observe_self(void *arg)
{
    yc_gen **self = arg;
    self_seen = yc_gen_current();
    CHECK(self_seen == *self);
    CHECK_EQ_INT(yc_gen_state_of(*self), YC_GEN_RUNNING); /* gi_running */
    CHECK_STR(yc_gen_state_name(yc_gen_state_of(*self)), "GEN_RUNNING");
    CHECK(yc_gen_yieldfrom(*self) == NULL);
    yc_yield(yc_int(1));
    CHECK(yc_gen_current() == *self);
    CHECK_EQ_INT(yc_gen_state_of(*self), YC_GEN_RUNNING);
    rec(1);
    return YC_NONE;
}

/* [2.6] inside its own body the generator reports R (not S) */
TEST(c2_6_running_inside_body)
{
    norder = 0;
    self_seen = NULL;
    yc_gen *g = NULL;
    g = gen(observe_self, &g, "g26");
    CHECK(yc_gen_current() == NULL);
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    CHECK(self_seen == g);
    CHECK(yc_gen_current() == NULL);
    CHECK_STATE(g, YC_GEN_SUSPENDED);
    CHECK_ST(yc_next(g, NULL), YC_RETURN);
    CHECK_ORDER(1);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

static yc_val inner_observer(void *arg)
{
    yc_gen **pair = arg; /* {outer, inner} */
    CHECK(yc_gen_current() == pair[1]);
    CHECK_EQ_INT(yc_gen_state_of(pair[0]), YC_GEN_RUNNING);
    CHECK_EQ_INT(yc_gen_state_of(pair[1]), YC_GEN_RUNNING);
    rec(1);
    yc_yield(yc_int(1));
    return YC_NONE;
}

static yc_val outer_driver(void *arg)
{
    yc_gen **pair = arg;
    CHECK_ST(yc_next(pair[1], NULL), YC_YIELD); /* a plain next from a body */
    CHECK(yc_gen_current() == pair[0]);
    CHECK_EQ_INT(yc_gen_state_of(pair[1]), YC_GEN_SUSPENDED);
    CHECK_EQ_INT(yc_gen_state_of(pair[0]), YC_GEN_RUNNING);
    rec(2);
    return YC_NONE;
}

/* [2.6] a generator that calls next on another from its body stays R while
 * the other runs; the other is R too */
TEST(c2_6_running_while_driving_another)
{
    norder = 0;
    yc_gen *pair[2];
    pair[0] = gen(outer_driver, pair, "outer");
    pair[1] = gen(inner_observer, pair, "inner");
    CHECK_ST(yc_next(pair[0], NULL), YC_RETURN);
    CHECK_ORDER(1, 2);
    CHECK_ST(yc_gen_free(pair[0]), YC_OK);
    CHECK_ST(yc_gen_free(pair[1]), YC_OK);
}

/* ---- [2.7] an exception escaping the body ----------------------------- */

static yc_exc *escaping;

static yc_val raise_after_yield(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_yield(yc_int(1));
        rec(1);
        escaping = yc_exc_new(&yc_ZeroDivisionError, "division by zero");
        yc_raise(escaping);
    } YC_FINALLY {
        rec(2);
    } YC_END;
    rec(99);
    yc_yield(yc_int(2));
    return yc_none();
}

/* [2.7] it propagates out of next (the same object); ⇒ X; a later next is
 * StopIteration() */
TEST(c2_7_exception_escapes_next)
{
    norder = 0;
    escaping = NULL;
    yc_gen *g = gen(raise_after_yield, NULL, "g27");
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_next(g, &v), YC_RAISE);
    yc_exc *e = yc_err_take();
    CHECK(e == escaping);
    CHECK_EXC_OBJ(e, &yc_ZeroDivisionError, "ZeroDivisionError: division by zero");
    yc_exc_unref(e);
    CHECK_ORDER(1, 2);
    CHECK_STATE(g, YC_GEN_CLOSED);
    v = yc_int(-1);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK(yc_is_none(v));
    CHECK_ST(yc_send(g, yc_int(1), &v), YC_RETURN);
    CHECK(yc_is_none(v));
    CHECK(yc_err_get() == NULL);
    CHECK_ORDER(1, 2); /* nothing ran again */
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- [2.8] exception context flows through the call -------------------- */

static yc_exc *seen_in_body;

static yc_val raise_value_error(void *arg)
{
    (void)arg;
    yc_yield(yc_int(1));
    seen_in_body = yc_exc_current(); /* sys.exc_info() in the body */
    yc_raisef(&yc_ValueError, "from body");
}

/* [2.8] caller handling IndexError calls next; the body's ValueError has
 * the IndexError as __context__ */
TEST(c2_8_context_from_caller)
{
    seen_in_body = NULL;
    yc_gen *g = gen(raise_value_error, NULL, "g28");
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    YC_TRY {
        yc_raisef(&yc_IndexError, "caller");
    } YC_EXCEPT(&yc_IndexError) {
        yc_exc *ie = yc_exc_current();
        CHECK_ST(yc_next(g, NULL), YC_RAISE);
        yc_exc *e = yc_err_take();
        CHECK_EXC_OBJ(e, &yc_ValueError, "ValueError: from body");
        CHECK(yc_exc_context(e) == ie);
        CHECK(yc_exc_cause(e) == NULL);
        CHECK(!yc_exc_suppress_context(e));
        CHECK(seen_in_body == ie); /* the body saw the caller's exception */
        CHECK(yc_exc_current() == ie); /* the caller's state is untouched */
        yc_exc_unref(e);
    } YC_END;
    CHECK(yc_exc_current() == NULL);
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* [2.8] with nothing being handled, there is no context */
TEST(c2_8_no_context_when_caller_handles_nothing)
{
    seen_in_body = (yc_exc *)1;
    yc_gen *g = gen(raise_value_error, NULL, NULL);
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    CHECK_ST(yc_next(g, NULL), YC_RAISE);
    yc_exc *e = yc_err_take();
    CHECK_EXC_OBJ(e, &yc_ValueError, "ValueError: from body");
    CHECK(yc_exc_context(e) == NULL);
    CHECK(seen_in_body == NULL);
    yc_exc_unref(e);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* [2.8] the context also flows on the first next (C -> R), and through
 * send */
static yc_val raise_at_once(void *arg)
{
    int after_yield = *(int *)arg;
    if (after_yield) yc_yield(yc_int(1));
    yc_raisef(&yc_ValueError, "v");
}

TEST(c2_8_context_first_next_and_send)
{
    for (int k = 0; k < 2; k++) {
        yc_gen *g = gen(raise_at_once, &k, NULL);
        if (k) CHECK_ST(yc_next(g, NULL), YC_YIELD);
        YC_TRY {
            yc_raisef(&yc_IndexError, "caller");
        } YC_EXCEPT(&yc_IndexError) {
            if (k) CHECK_ST(yc_send(g, yc_int(3), NULL), YC_RAISE);
            else CHECK_ST(yc_next(g, NULL), YC_RAISE);
            yc_exc *e = yc_err_take();
            CHECK_EXC_OBJ(e, &yc_ValueError, "ValueError: v");
            CHECK(yc_exc_context(e) == yc_exc_current());
            CHECK_EXC_OBJ(yc_exc_context(e), &yc_IndexError, "IndexError: caller");
            yc_exc_unref(e);
        } YC_END;
        CHECK_ST(yc_gen_free(g), YC_OK);
    }
}

/* ---- [2.9] the handled exception is saved per generator ---------------- */

static yc_exc *seen[4];

static yc_val keeps_exc_info(void *arg)
{
    int raise_again = *(int *)arg;
    YC_TRY {
        yc_raisef(&yc_KeyError, "k");
    } YC_EXCEPT(&yc_KeyError) {
        seen[0] = yc_exc_current();
        yc_yield(yc_int(1));
        seen[1] = yc_exc_current();
        if (raise_again) yc_raisef(&yc_TypeError, "t");
        yc_yield(yc_int(2));
        seen[2] = yc_exc_current();
    } YC_END;
    seen[3] = yc_exc_current();
    yc_yield(yc_int(3));
    return yc_none();
}

/* [2.9] a generator suspended in `except KeyError` sees the KeyError when
 * resumed, whatever the caller handles; the caller does not see it */
TEST(c2_9_exc_info_saved_per_generator)
{
    memset(seen, 0, sizeof seen);
    int raise_again = 0;
    yc_gen *g = gen(keeps_exc_info, &raise_again, "g29");
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_EXC_OBJ(seen[0], &yc_KeyError, "KeyError: 'k'");
    CHECK(yc_exc_current() == NULL); /* not the generator's KeyError */
    YC_TRY {
        yc_raisef(&yc_IndexError, "c");
    } YC_EXCEPT(&yc_IndexError) {
        yc_exc *ie = yc_exc_current();
        CHECK_ST(yc_next(g, &v), YC_YIELD);
        CHECK_INTV(v, 2);
        CHECK(seen[1] == seen[0]);         /* its own KeyError, still alive */
        CHECK(yc_exc_current() == ie);     /* ours, not the generator's */
        CHECK_ST(yc_next(g, &v), YC_YIELD);
        CHECK_INTV(v, 3);
        CHECK(seen[2] == seen[0]);
        CHECK(seen[3] == ie); /* out of its except block: the caller's */
        CHECK(yc_exc_current() == ie);
    } YC_END;
    CHECK(yc_exc_current() == NULL);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* [2.9] raising in that except block after the resume: the context is the
 * generator's own KeyError, not the caller's IndexError */
TEST(c2_9_raise_in_resumed_except_block_chains_own_exception)
{
    memset(seen, 0, sizeof seen);
    int raise_again = 1;
    yc_gen *g = gen(keeps_exc_info, &raise_again, NULL);
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    YC_TRY {
        yc_raisef(&yc_IndexError, "c");
    } YC_EXCEPT(&yc_IndexError) {
        CHECK_ST(yc_next(g, NULL), YC_RAISE);
        yc_exc *e = yc_err_take();
        CHECK_EXC_OBJ(e, &yc_TypeError, "TypeError: t");
        yc_exc *ctx = yc_exc_context(e);
        CHECK_EXC_OBJ(ctx, &yc_KeyError, "KeyError: 'k'");
        /* the KeyError was raised when the caller handled nothing */
        CHECK(ctx && yc_exc_context(ctx) == NULL);
        yc_exc_unref(e);
    } YC_END;
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* [2.9] two generators suspended in different except blocks each keep
 * their own */
static yc_val handle_one(void *arg)
{
    const yc_exc_type *t = arg;
    YC_TRY {
        yc_raisef(t, "own");
    } YC_EXCEPT_ANY {
        yc_yield(yc_ptr(yc_exc_current()));
        yc_yield(yc_ptr(yc_exc_current()));
    } YC_END;
    return yc_none();
}

TEST(c2_9_two_generators_keep_their_own)
{
    yc_gen *a = gen(handle_one, (void *)&yc_KeyError, "a");
    yc_gen *b = gen(handle_one, (void *)&yc_OSError, "b");
    yc_val va, vb, va2, vb2;
    CHECK_ST(yc_next(a, &va), YC_YIELD);
    CHECK_ST(yc_next(b, &vb), YC_YIELD);
    CHECK_EXC_OBJ(va.p, &yc_KeyError, "KeyError: 'own'");
    CHECK_EXC_OBJ(vb.p, &yc_OSError, "OSError: own");
    CHECK_ST(yc_next(b, &vb2), YC_YIELD);
    CHECK_ST(yc_next(a, &va2), YC_YIELD);
    CHECK(va2.p == va.p);
    CHECK(vb2.p == vb.p);
    CHECK(yc_exc_current() == NULL);
    CHECK_ST(yc_gen_free(a), YC_OK);
    CHECK_ST(yc_gen_free(b), YC_OK);
}

TEST_MAIN()
