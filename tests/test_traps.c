/* Issue 14, sections 1 and 3: the traps that gave silently wrong answers,
 * and the cases ported from CPython's own tests (test_itertools,
 * test_contextlib, test_generators, test_exceptions) where yieldc
 * disagreed. Each test names its item as [issue14.N]; where the behaviour is
 * a numbered item of the semantics spec, that number too. */
#include "test_pipe_util.h"

#include <yieldc/with.h>

/* ---- groupby: a group the groupby moved past is empty ------------------ */

/* CPython:
 *   it = groupby('AAAAABBBCC'); _, a = next(it); _, b = next(it); k, c = next(it)
 *   list(a), list(b), (k, len(list(c)))  ->  [] [] ('C', 2)
 * and a group read before moving on has all its items ('A', 5). */
TEST(issue14_3_groupby_old_groups_are_empty)
{
    const char *s = "AAAAABBBCC";
    yc_val items[10];
    for (int i = 0; i < 10; i++) items[i] = yc_bytes(s + i, 1);
    yc_iter *g = yc_iter_groupby(yc_iter_array(items, 10), NULL, NULL);
    yc_val v;
    CHECK_ST(yc_iter_next(g, &v), YC_YIELD);
    yc_iter *a = yc_tuple_of(v)->items[1].p;
    CHECK_ST(yc_iter_next(g, &v), YC_YIELD);
    yc_iter *b = yc_tuple_of(v)->items[1].p;
    CHECK_ST(yc_iter_next(g, &v), YC_YIELD);
    CHECK_VAL(yc_tuple_of(v)->items[0], yc_str("C"));
    yc_iter *c = yc_tuple_of(v)->items[1].p;
    CHECK(a != b && b != c);
    CHECK_ST(yc_iter_next(a, &v), YC_RETURN); /* [] */
    CHECK_ST(yc_iter_next(b, &v), YC_RETURN); /* [] */
    int n = 0;
    while (yc_iter_next(c, &v) == YC_YIELD) {
        CHECK_VAL(v, yc_str("C"));
        n++;
    }
    CHECK_EQ_INT(n, 2);
    CHECK_ST(yc_iter_next(g, &v), YC_RETURN);
    CHECK_ST(yc_iter_next(c, &v), YC_RETURN);
    yc_iter_free(g);

    /* ('A', 5): the first group read before moving on */
    g = yc_iter_groupby(yc_iter_array(items, 10), NULL, NULL);
    CHECK_ST(yc_iter_next(g, &v), YC_YIELD);
    CHECK_VAL(yc_tuple_of(v)->items[0], yc_str("A"));
    a = yc_tuple_of(v)->items[1].p;
    n = 0;
    while (yc_iter_next(a, &v) == YC_YIELD) n++;
    CHECK_EQ_INT(n, 5);
    /* a half-read group, then the groupby moves on: the rest is skipped and
     * the old group stays empty */
    CHECK_ST(yc_iter_next(g, &v), YC_YIELD);
    b = yc_tuple_of(v)->items[1].p;
    CHECK_ST(yc_iter_next(b, &v), YC_YIELD);
    CHECK_ST(yc_iter_next(g, &v), YC_YIELD);
    CHECK_VAL(yc_tuple_of(v)->items[0], yc_str("C"));
    CHECK_ST(yc_iter_next(b, &v), YC_RETURN);
    CHECK_ST(yc_iter_next(a, &v), YC_RETURN);
    yc_iter_free(g);
}

/* ---- tee: upstream re-entering its own tee ----------------------------- */

typedef struct tee_ctx {
    yc_iter *branch; /* the branch the generator pulls from inside */
    int st;
    char msg[128];
} tee_ctx;

static yc_val reenter_body(void *arg)
{
    tee_ctx *c = arg;
    yc_yield(yc_int(1));
    yc_val v;
    c->st = yc_iter_next(c->branch, &v);
    yc_exc *e = yc_err_take();
    if (e) yc_exc_format(e, c->msg, sizeof c->msg);
    yc_exc_unref(e);
    yc_yield(yc_int(2));
    return YC_NONE;
}

TEST(issue14_3_tee_reentry_raises)
{
    tee_ctx c = {0};
    yc_iter *br[2];
    CHECK_ST(yc_iter_tee(yc_iter_gen(reenter_body, &c, NULL), 2, 100, br), YC_OK);
    c.branch = br[0];
    yc_val v;
    CHECK_ST(yc_iter_next(br[0], &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_ST(yc_iter_next(br[0], &v), YC_YIELD); /* the generator pulls br[0] inside */
    CHECK_INTV(v, 2);
    CHECK_ST(c.st, YC_RAISE);
    CHECK_STR(c.msg, "RuntimeError: cannot re-enter the tee iterator");
    /* no value served twice, none lost */
    CHECK_ST(yc_iter_next(br[0], &v), YC_RETURN);
    CHECK_ST(yc_iter_next(br[1], &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_ST(yc_iter_next(br[1], &v), YC_YIELD);
    CHECK_INTV(v, 2);
    CHECK_ST(yc_iter_next(br[1], &v), YC_RETURN);
    yc_iter_free(br[0]);
    yc_iter_free(br[1]);
}

/* ---- islice's messages, checked against CPython 3.11 and 3.13 ---------- */

TEST(issue14_3_islice_messages_as_cpython)
{
    static const char stop[] =
        "ValueError: Stop argument for islice() must be None or an integer: 0 <= x <= sys.maxsize.";
    static const char idx[] =
        "ValueError: Indices for islice() must be None or an integer: 0 <= x <= sys.maxsize.";
    static const char step[] = "ValueError: Step for islice() must be a positive integer or None.";
    struct { int64_t a, b, c; const char *msg; } cases[] = {
        {0, -1, 1, stop},            /* islice(it, -1), islice(it, 0, -1) */
        {-1, 5, 1, idx},             /* islice(it, -1, 5) */
        {-1, YC_NO_LIMIT, 1, idx},   /* islice(it, -1, None) */
        {-1, -1, 1, stop},           /* both bad: CPython checks stop first */
        {-1, 5, 0, idx},             /* start before step */
        {0, -1, 0, stop},
        {0, 5, 0, step},
        {1, -1, 1, stop},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK(yc_iter_islice(yc_iter_range(0, 3, 1), cases[i].a, cases[i].b, cases[i].c) == NULL);
        CHECK_EXC(&yc_ValueError, cases[i].msg);
    }
    CHECK(yc_iter_take(yc_iter_range(0, 3, 1), -1) == NULL);
    CHECK_EXC(&yc_ValueError, stop);
    CHECK(yc_iter_drop(yc_iter_range(0, 3, 1), -1) == NULL);
    CHECK_EXC(&yc_ValueError, idx);
}

TEST_MAIN()
