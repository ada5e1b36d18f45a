/*
 * python-semantics.md section 3: send().
 *
 * Each TEST names the item it covers in brackets. CPython 3.13 is the oracle.
 */
#include "test.h"

/* ---- helpers ---------------------------------------------------------- */

static int ran; /* body steps that ran */

static yc_gen *gen(yc_gen_fn fn, void *arg, const char *name)
{
    yc_gen *g = yc_gen_new(fn, arg, &(yc_gen_opts){.name = name});
    CHECK(g != NULL);
    return g;
}

#define CHECK_STATE(g, s) CHECK_EQ_INT(yc_gen_state_of(g), (s))

#define JUST_STARTED "TypeError: can't send non-None value to a just-started generator"

/* ---- [3.1] send(v): the yield evaluates to v -------------------------- */

static const char payload[] = "payload";

/* Echoes what it is sent until it gets the int -1, then returns 99. */
static yc_val echo(void *arg)
{
    (void)arg;
    ran++;
    yc_val v = yc_yield(yc_str("ready"));
    while (!(yc_type_of(v) == YC_T_INT && v.i == -1)) {
        ran++;
        v = yc_yield(v);
    }
    return yc_int(99);
}

/* [3.1] send(v) resumes with the yield evaluating to v, and returns the
 * next yielded value; ⇒ S, and SI(ret) at the end; ⇒ X */
TEST(c3_1_send_value_becomes_yield_result)
{
    ran = 0;
    yc_gen *g = gen(echo, NULL, "echo");
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_VAL(v, yc_str("ready"));
    yc_val sends[] = {yc_int(7),      yc_float(2.25), yc_bool(true), yc_bool(false),
                      yc_ptr(&ran),   yc_ptr(NULL),   yc_int(0),     yc_bytes(payload, 7),
                      yc_int(INT64_MAX)};
    for (size_t i = 0; i < sizeof sends / sizeof *sends; i++) {
        v = YC_NONE;
        CHECK_ST(yc_send(g, sends[i], &v), YC_YIELD);
        CHECK_VAL(v, sends[i]);
        CHECK(yc_type_of(v) == yc_type_of(sends[i]));
        CHECK_STATE(g, YC_GEN_SUSPENDED);
    }
    CHECK(v.i == INT64_MAX);
    CHECK_EQ_INT(ran, 1 + (int)(sizeof sends / sizeof *sends));
    CHECK_ST(yc_send(g, yc_int(-1), &v), YC_RETURN);
    CHECK_INTV(v, 99);
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK(yc_err_get() == NULL);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* [3.1] a bytes value keeps its pointer and length through the round trip */
TEST(c3_1_send_bytes_borrowed_exactly)
{
    yc_gen *g = gen(echo, NULL, NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_send(g, yc_bytes(payload, 3), &v), YC_YIELD);
    CHECK(v.s == payload && yc_len(v) == 3);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- [3.2] send(None) is next() in every state ------------------------ */

static yc_val two_then_ret(void *arg)
{
    yc_val *log = arg;
    ran++;
    log[0] = yc_yield(yc_int(1));
    log[1] = yc_yield(yc_int(2));
    return yc_int(5);
}

/* [3.2] C, S, the final return and X: send(None) behaves as next */
TEST(c3_2_send_none_is_next)
{
    yc_val logn[2] = {yc_int(-1), yc_int(-1)}, logs[2] = {yc_int(-1), yc_int(-1)};
    yc_gen *gn = gen(two_then_ret, logn, "by_next");
    yc_gen *gs = gen(two_then_ret, logs, "by_send");
    for (int step = 0; step < 5; step++) {
        yc_val vn = yc_int(-9), vs = yc_int(-8);
        int sn = yc_next(gn, &vn);
        int ss = yc_send(gs, YC_NONE, &vs);
        CHECK_EQ_INT(ss, sn);
        CHECK_VAL(vs, vn);
        CHECK_EQ_INT(yc_gen_state_of(gs), yc_gen_state_of(gn));
        switch (step) {
        case 0: CHECK_ST(ss, YC_YIELD); CHECK_INTV(vs, 1); break;
        case 1: CHECK_ST(ss, YC_YIELD); CHECK_INTV(vs, 2); break;
        case 2: CHECK_ST(ss, YC_RETURN); CHECK_INTV(vs, 5); break;
        default: CHECK_ST(ss, YC_RETURN); CHECK(yc_is_none(vs)); break;
        }
    }
    CHECK(yc_is_none(logs[0]) && yc_is_none(logs[1]));
    CHECK(yc_is_none(logn[0]) && yc_is_none(logn[1]));
    CHECK(yc_err_get() == NULL);
    CHECK_ST(yc_gen_free(gn), YC_OK);
    CHECK_ST(yc_gen_free(gs), YC_OK);
}

static yc_val send_none_to_self(void *arg)
{
    (void)arg;
    int st = yc_send(yc_gen_current(), YC_NONE, NULL);
    CHECK_ST(st, YC_EBUSY);
    CHECK_EXC(&yc_ValueError, "ValueError: generator already executing");
    yc_yield(yc_int(1));
    return YC_NONE;
}

/* [3.2] in R too: send(None) is refused like next (2.5) */
TEST(c3_2_send_none_running)
{
    yc_gen *g = gen(send_none_to_self, NULL, NULL);
    yc_val v;
    CHECK_ST(yc_send(g, YC_NONE, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- [3.3] send(non-None) on a just-started generator ------------------ */

static yc_val counts_steps(void *arg)
{
    (void)arg;
    ran++;
    yc_val s = yc_yield(yc_int(1));
    ran++;
    yc_yield(s);
    return YC_NONE;
}

/* [3.3] TypeError with CPython's message; no body code runs; ⇒ stays C; a
 * later send(None) works. 0, false, NULL, 0.0 and "" are all non-None. */
TEST(c3_3_send_non_none_to_created)
{
    ran = 0;
    yc_gen *g = gen(counts_steps, NULL, "g33");
    yc_val bad[] = {yc_int(1), yc_int(0), yc_bool(false), yc_ptr(NULL), yc_float(0.0),
                    yc_bytes("", 0)};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        yc_val v = yc_int(-1);
        CHECK_ST(yc_send(g, bad[i], &v), YC_EINVAL);
        yc_exc *e = yc_err_get();
        CHECK(e && yc_exc_context(e) == NULL);
        CHECK_EXC(&yc_TypeError, JUST_STARTED);
        CHECK_STATE(g, YC_GEN_CREATED);
        CHECK_EQ_INT(ran, 0);
    }
    yc_val v;
    CHECK_ST(yc_send(g, YC_NONE, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_EQ_INT(ran, 1);
    CHECK_ST(yc_send(g, yc_int(8), &v), YC_YIELD); /* now non-None is fine */
    CHECK_INTV(v, 8);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* [3.3] the TypeError is raised in the caller: it chains to the exception
 * the caller is handling, and the generator is still C and still usable
 * with next */
TEST(c3_3_send_non_none_to_created_chains_caller_context)
{
    ran = 0;
    yc_gen *g = gen(counts_steps, NULL, NULL);
    YC_TRY {
        yc_raisef(&yc_IndexError, "caller");
    } YC_EXCEPT(&yc_IndexError) {
        CHECK_ST(yc_send(g, yc_int(1), NULL), YC_EINVAL);
        yc_exc *e = yc_err_take();
        char buf[256];
        yc_exc_format(e, buf, sizeof buf);
        CHECK_STR(buf, JUST_STARTED);
        CHECK(yc_exc_context(e) == yc_exc_current());
        yc_exc_unref(e);
    } YC_END;
    CHECK_STATE(g, YC_GEN_CREATED);
    CHECK_EQ_INT(ran, 0);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* [3.3] the refused send leaves a created generator closable and freeable
 * without running anything */
TEST(c3_3_refused_send_then_close)
{
    ran = 0;
    yc_gen *g = gen(counts_steps, NULL, NULL);
    CHECK_ST(yc_send(g, yc_int(1), NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, JUST_STARTED);
    CHECK_ST(yc_close(g, NULL), YC_OK);
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK_EQ_INT(ran, 0);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- [3.4] send on X ------------------------------------------------- */

static yc_val raises_after_one(void *arg)
{
    (void)arg;
    yc_yield(yc_int(1));
    yc_raisef(&yc_KeyError, "x");
}

/* [3.4] send(anything) on X -> StopIteration() with value None, however it
 * got closed (returned, raised, closed while S, closed while C) */
TEST(c3_4_send_on_closed)
{
    for (int how = 0; how < 4; how++) {
        yc_val log[2];
        yc_gen *g = how == 1 ? gen(raises_after_one, NULL, NULL) : gen(two_then_ret, log, NULL);
        yc_val v;
        switch (how) {
        case 0:
            CHECK_ST(yc_next(g, &v), YC_YIELD);
            CHECK_ST(yc_next(g, &v), YC_YIELD);
            CHECK_ST(yc_next(g, &v), YC_RETURN);
            CHECK_INTV(v, 5);
            break;
        case 1:
            CHECK_ST(yc_next(g, &v), YC_YIELD);
            CHECK_ST(yc_next(g, &v), YC_RAISE);
            CHECK_EXC(&yc_KeyError, "KeyError: 'x'");
            break;
        case 2:
            CHECK_ST(yc_next(g, &v), YC_YIELD);
            CHECK_ST(yc_close(g, &v), YC_OK);
            break;
        case 3:
            CHECK_ST(yc_close(g, &v), YC_OK);
            break;
        }
        CHECK_STATE(g, YC_GEN_CLOSED);
        yc_val sends[] = {yc_int(1), YC_NONE, yc_ptr(NULL), yc_str("s")};
        for (size_t i = 0; i < sizeof sends / sizeof *sends; i++) {
            v = yc_int(-1);
            CHECK_ST(yc_send(g, sends[i], &v), YC_RETURN);
            CHECK(yc_is_none(v));
            CHECK(yc_err_get() == NULL);
            CHECK_STATE(g, YC_GEN_CLOSED);
        }
        CHECK_ST(yc_gen_free(g), YC_OK);
    }
}

/* ---- [3.5] generator expressions have send ----------------------------- */

/* [3.5] C has no generator expressions. Nearest: a generator that yields
 * the items of an array and ignores what it is sent, as a generator
 * expression does: send works and the value is discarded. */
static yc_val items_of(void *arg)
{
    yc_iter *it = arg;
    int st;
    YC_FOREACH(x, it, st) yc_yield(x); /* the sent value is dropped */
    return YC_NONE;
}

/* [3.5] nearest C: sent values are dropped by a genexpr-like generator */
TEST(c3_5_sent_value_discarded)
{
    yc_val items[] = {yc_int(1), yc_int(2), yc_int(3)};
    yc_iter *it = yc_iter_array(items, 3);
    yc_gen *g = gen(items_of, it, "<genexpr>");
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_ST(yc_send(g, yc_int(42), &v), YC_YIELD);
    CHECK_INTV(v, 2);
    CHECK_ST(yc_send(g, yc_str("x"), &v), YC_YIELD);
    CHECK_INTV(v, 3);
    CHECK_ST(yc_send(g, yc_int(7), &v), YC_RETURN);
    CHECK(yc_is_none(v));
    CHECK_ST(yc_gen_free(g), YC_OK);
    yc_iter_free(it);
}

/* ---- [3.6] priming ---------------------------------------------------- */

/* A PEP 342 consumer: the running average of what it is sent. */
static yc_val averager(void *arg)
{
    (void)arg;
    double total = 0;
    int64_t count = 0;
    yc_val avg = YC_NONE;
    for (;;) {
        yc_val x = yc_yield(avg);
        if (yc_is_none(x)) break;
        total += (double)x.i;
        count++;
        avg = yc_float(total / (double)count);
    }
    return yc_int(count);
}

/* [3.6] a consumer must be advanced once before it is sent values: an
 * unprimed send is the 3.3 TypeError; next (or send(None)) primes it */
TEST(c3_6_priming)
{
    for (int prime_with_send = 0; prime_with_send < 2; prime_with_send++) {
        yc_gen *g = gen(averager, NULL, "averager");
        yc_val v;
        CHECK_ST(yc_send(g, yc_int(10), &v), YC_EINVAL);
        CHECK_EXC(&yc_TypeError, JUST_STARTED);
        CHECK_STATE(g, YC_GEN_CREATED);
        v = yc_int(-1);
        if (prime_with_send) CHECK_ST(yc_send(g, YC_NONE, &v), YC_YIELD);
        else CHECK_ST(yc_next(g, &v), YC_YIELD);
        CHECK(yc_is_none(v)); /* primed: suspended at the first yield */
        CHECK_ST(yc_send(g, yc_int(10), &v), YC_YIELD);
        CHECK_VAL(v, yc_float(10.0));
        CHECK_ST(yc_send(g, yc_int(20), &v), YC_YIELD);
        CHECK_VAL(v, yc_float(15.0));
        CHECK_ST(yc_send(g, yc_int(30), &v), YC_YIELD);
        CHECK_VAL(v, yc_float(20.0));
        CHECK_ST(yc_next(g, &v), YC_RETURN);
        CHECK_INTV(v, 3);
        CHECK_ST(yc_gen_free(g), YC_OK);
    }
}

TEST_MAIN()
