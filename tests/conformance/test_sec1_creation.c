/*
 * python-semantics.md section 1: creation.
 *
 * Each TEST names the item it covers in brackets. CPython 3.13 is the oracle.
 * Items without a C counterpart test the nearest C behaviour, and a comment
 * says what part does not apply.
 */
#include "test.h"

/* ---- helpers ---------------------------------------------------------- */

static int ran;         /* body code that ran before the first yield */
static int after_yield; /* body code that ran after the first yield */

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

/* ---- [1.1] calling a generator function runs no body code ------------- */

static yc_val flag_body(void *arg)
{
    (void)arg;
    ran++;
    yc_yield(yc_int(1));
    after_yield++;
    return YC_NONE;
}

/* [1.1] creation executes no body code; state C (gi_running and
 * gi_suspended both false), gi_yieldfrom None */
TEST(c1_1_create_runs_no_body_code)
{
    ran = after_yield = 0;
    yc_gen *g = gen(flag_body, NULL, "g11");
    CHECK(yc_err_get() == NULL);
    CHECK_EQ_INT(ran, 0);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CREATED);
    CHECK_STR(yc_gen_state_name(yc_gen_state_of(g)), "GEN_CREATED");
    CHECK(yc_gen_yieldfrom(g) == NULL);
    CHECK_STR(yc_gen_name(g), "g11");
    CHECK(yc_gen_current() == NULL); /* nothing is running */
    CHECK_ST(yc_gen_free(g), YC_OK);
    CHECK_EQ_INT(ran, 0); /* freeing a created generator runs nothing either */
    CHECK_EQ_INT(after_yield, 0);
}

/* [1.1] many generators from one function are independent, none runs */
TEST(c1_1_create_many_runs_nothing)
{
    ran = 0;
    yc_gen *gs[8];
    for (int i = 0; i < 8; i++) gs[i] = gen(flag_body, NULL, NULL);
    CHECK_EQ_INT(ran, 0);
    for (int i = 0; i < 8; i++) {
        CHECK_EQ_INT(yc_gen_state_of(gs[i]), YC_GEN_CREATED);
        CHECK_STR(yc_gen_name(gs[i]), "generator"); /* default name */
    }
    CHECK_ST(yc_next(gs[3], NULL), YC_YIELD);
    CHECK_EQ_INT(ran, 1);
    for (int i = 0; i < 8; i++)
        CHECK_EQ_INT(yc_gen_state_of(gs[i]), i == 3 ? YC_GEN_SUSPENDED : YC_GEN_CREATED);
    for (int i = 0; i < 8; i++) CHECK_ST(yc_gen_free(gs[i]), YC_OK);
}

/* [1.1] argument binding has no C counterpart (the body gets one void *).
 * Nearest: the argument reaches the body unchanged, and is only read when
 * the body runs (binding happens at the call, evaluation lazily). */
static yc_val arg_body(void *arg)
{
    int *p = arg;
    yc_yield(yc_int(*p));
    return yc_ptr(arg);
}

TEST(c1_1_argument_reaches_body_unchanged)
{
    int x = 5;
    yc_gen *g = gen(arg_body, &x, "g");
    x = 6; /* read at first next, not at creation */
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 6);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK(yc_type_of(v) == YC_T_PTR && v.p == &x);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* [1.1] a binding error is raised by the call itself. Nearest C: invalid
 * creation arguments fail in yc_gen_new, which returns NULL with the
 * exception pending and creates nothing. */
TEST(c1_1_bad_creation_raised_by_the_call)
{
    yc_stats s0, s1;
    yc_stats_get(&s0);
    CHECK(yc_gen_new(NULL, NULL, NULL) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_gen_new: generator function is NULL");
    CHECK(yc_gen_new(flag_body, NULL, &(yc_gen_opts){.stack_size = 100}) == NULL);
    yc_exc *e = yc_err_take();
    CHECK_EXC_OBJ(e, &yc_ValueError, NULL);
    CHECK(strstr(yc_exc_msg(e), "stack_size") != NULL);
    yc_exc_unref(e);
    yc_stats_get(&s1);
    CHECK_EQ_INT(s1.generators, s0.generators);
}

/* ---- [1.2] any yield makes it a generator ----------------------------- */

/* [1.2] `if False: yield` has no C counterpart: every yc_gen_fn is a
 * generator. Nearest: a function that never yields (or only in a branch
 * that is never taken) is still a generator: created runs nothing, the
 * first next gives YC_RETURN. */
static volatile int never; /* always 0 */

static yc_val never_yields(void *arg)
{
    (void)arg;
    ran++;
    if (never) yc_yield(YC_NONE); /* unreachable yield */
    return yc_int(5);
}

/* [1.2] never-yielding function: created runs nothing, first next -> YC_RETURN */
TEST(c1_2_generator_that_never_yields)
{
    ran = 0;
    yc_gen *g = gen(never_yields, NULL, "g12");
    CHECK_EQ_INT(ran, 0);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CREATED);
    yc_val v = yc_int(-1);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_INTV(v, 5);
    CHECK_EQ_INT(ran, 1);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK(yc_is_none(v));
    CHECK_EQ_INT(ran, 1);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

static yc_val empty_body(void *arg)
{
    (void)arg;
    return YC_NONE;
}

/* [1.2] the emptiest generator: first next is StopIteration() at once */
TEST(c1_2_empty_body_is_a_generator)
{
    yc_gen *g = gen(empty_body, NULL, NULL);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CREATED);
    yc_val v = yc_int(-1);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK(yc_is_none(v));
    CHECK(yc_err_get() == NULL);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- [1.3] first next runs to the first yield ------------------------- */

TEST(c1_3_first_next_runs_to_first_yield)
{
    ran = after_yield = 0;
    yc_gen *g = gen(flag_body, NULL, "g13");
    yc_val v = YC_NONE;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_EQ_INT(ran, 1);
    CHECK_EQ_INT(after_yield, 0); /* stopped at the yield */
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_SUSPENDED);
    CHECK(yc_err_get() == NULL);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

static yc_val bare_yield(void *arg)
{
    (void)arg;
    yc_yield(YC_NONE); /* bare `yield` */
    return YC_NONE;
}

/* [1.3] a bare yield gives None */
TEST(c1_3_bare_yield_gives_none)
{
    yc_gen *g = gen(bare_yield, NULL, NULL);
    yc_val v = yc_int(-1);
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK(yc_is_none(v));
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_SUSPENDED);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

static const char hello[] = "hello";

static yc_val typed_first(void *arg)
{
    int which = *(int *)arg;
    switch (which) {
    case 0: yc_yield(yc_int(INT64_MIN)); break;
    case 1: yc_yield(yc_float(-2.5)); break;
    case 2: yc_yield(yc_bool(false)); break;
    case 3: yc_yield(yc_ptr(NULL)); break;
    case 4: yc_yield(yc_bytes(hello, 5)); break;
    }
    return YC_NONE;
}

/* [1.3] the operand of the first yield arrives exactly (every value kind;
 * 0, false and NULL are not None) */
TEST(c1_3_first_yield_operand_exact)
{
    yc_val want[5] = {yc_int(INT64_MIN), yc_float(-2.5), yc_bool(false), yc_ptr(NULL),
                      yc_bytes(hello, 5)};
    for (int i = 0; i < 5; i++) {
        yc_gen *g = gen(typed_first, &i, NULL);
        yc_val v = YC_NONE;
        CHECK_ST(yc_next(g, &v), YC_YIELD);
        CHECK_VAL(v, want[i]);
        CHECK(!yc_is_none(v));
        if (i == 4) CHECK(v.s == hello && yc_len(v) == 5);
        CHECK_ST(yc_gen_free(g), YC_OK);
    }
}

/* [1.3] yc_next with a NULL out still runs to the first yield */
TEST(c1_3_first_next_out_null)
{
    ran = after_yield = 0;
    yc_gen *g = gen(flag_body, NULL, NULL);
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    CHECK_EQ_INT(ran, 1);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_SUSPENDED);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- [1.4] raising before the first yield ----------------------------- */

static yc_exc *raised_obj;
static int fin_ran;
static int raise_line;

static yc_val raise_first(void *arg)
{
    (void)arg;
    ran++;
    yc_exc *e = yc_exc_new(&yc_KeyError, "early");
    raised_obj = e;
    raise_line = __LINE__; yc_raise(e);
}

/* [1.4] the exception propagates out of the first next; ⇒ X */
TEST(c1_4_raise_before_first_yield)
{
    ran = 0;
    raised_obj = NULL;
    yc_gen *g = gen(raise_first, NULL, "g14");
    yc_val v = yc_int(-1);
    CHECK_ST(yc_next(g, &v), YC_RAISE);
    yc_exc *e = yc_err_take();
    CHECK(e != NULL && e == raised_obj); /* the same object */
    CHECK_EXC_OBJ(e, &yc_KeyError, "KeyError: 'early'");
    CHECK(yc_exc_context(e) == NULL);
    CHECK(yc_exc_cause(e) == NULL);
    /* its traceback names the generator and the raise site */
    size_t n = 0;
    const yc_tb_entry *tb = yc_exc_traceback(e, &n);
    int found = 0;
    for (size_t i = 0; i < n; i++)
        if (tb[i].line == raise_line && tb[i].where && strcmp(tb[i].where, "g14") == 0 &&
            tb[i].func && strcmp(tb[i].func, "raise_first") == 0)
            found = 1;
    CHECK(found);
    yc_exc_unref(e);
    CHECK_EQ_INT(ran, 1);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    /* closed: a later next is a fresh StopIteration(); nothing runs */
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK(yc_is_none(v));
    CHECK_EQ_INT(ran, 1);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

static yc_val raise_first_with_finally(void *arg)
{
    (void)arg;
    YC_TRY {
        ran++;
        yc_raisef(&yc_ValueError, "bad %d", 42);
    } YC_FINALLY {
        fin_ran++;
        CHECK(yc_exc_is(yc_exc_current(), &yc_ValueError)); /* in flight */
    } YC_END;
    after_yield++; /* never reached */
    yc_yield(yc_none()); /* (compound literals after setjmp: -Wclobbered) */
    return yc_none();
}

/* [1.4] finally blocks before the first yield run, then the exception
 * propagates; no yield is reached */
TEST(c1_4_raise_before_first_yield_runs_finally)
{
    ran = fin_ran = after_yield = 0;
    yc_gen *g = gen(raise_first_with_finally, NULL, NULL);
    CHECK_ST(yc_next(g, NULL), YC_RAISE);
    CHECK_EXC(&yc_ValueError, "ValueError: bad 42");
    CHECK_EQ_INT(ran, 1);
    CHECK_EQ_INT(fin_ran, 1);
    CHECK_EQ_INT(after_yield, 0);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    CHECK_ST(yc_next(g, NULL), YC_RETURN);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- [1.5] returning before any yield --------------------------------- */

static yc_val return_first(void *arg)
{
    (void)arg;
    ran++;
    return yc_bytes(hello, 3);
}

/* [1.5] return v before any yield -> SI(v) on the first next; ⇒ X */
TEST(c1_5_return_before_first_yield)
{
    ran = 0;
    yc_gen *g = gen(return_first, NULL, "g15");
    yc_val v = YC_NONE;
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_VAL(v, yc_bytes("hel", 3));
    CHECK(v.s == hello);
    CHECK(yc_err_get() == NULL);
    CHECK_EQ_INT(ran, 1);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    /* the value is reported once; afterwards StopIteration() */
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK(yc_is_none(v));
    CHECK_EQ_INT(ran, 1);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* [1.5] through send(None) as the first call: same outcome */
TEST(c1_5_return_before_first_yield_send_none)
{
    ran = 0;
    yc_gen *g = gen(never_yields, NULL, NULL);
    yc_val v = YC_NONE;
    CHECK_ST(yc_send(g, YC_NONE, &v), YC_RETURN);
    CHECK_INTV(v, 5);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

TEST_MAIN()
