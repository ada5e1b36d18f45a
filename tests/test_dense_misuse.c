/*
 * Misuse of stackless generators: the rows of docs/misuse.md's "Stackless
 * generators" table. Each gets its status and exception, and changes
 * nothing it should not.
 */
#include "test.h"

#include <pthread.h>

typedef struct {
    yc_sgen sgen;
    YC_SGEN_TRIES(1);
    int64_t i;
    int mode;
} m_t;

static int finally_runs;

/* mode 0: yields 1, 2, 3; mode 1: leaves a try by break, then returns;
 * mode 2: leaves a try by break, then opens another; mode 3: calls a
 * function that raises by longjmp, under YC_SCALL_RAISING */
static void raises_by_longjmp(void) { yc_raisef(&yc_KeyError, "jumped"); }

YC_SGEN_FN(mbody, m_t, s)
{
    YC_SGEN_BEGIN();
    if (s->mode == 3) {
        YC_STRY(s) {
            YC_SCALL_RAISING(raises_by_longjmp());
        } YC_SEXCEPT(&yc_KeyError) {
            YC_SYIELD(yc_int(77));
        } YC_STRY_END;
        YC_SCALL_RAISING(raises_by_longjmp());
    }
    for (s->i = 1; s->i <= 3; s->i++) {
        if (s->mode == 0) {
            YC_SYIELD(yc_int(s->i));
            continue;
        }
        YC_STRY(s) {
            YC_SYIELD(yc_int(s->i));
            if (s->i == 2) break; /* misuse: skips the construct's end */
        } YC_SFINALLY {
            finally_runs++;
        } YC_STRY_END;
    }
    if (s->mode == 2) {
        YC_STRY(s) {
            YC_SYIELD(yc_int(9));
        } YC_STRY_END;
    }
    YC_SRETURN(yc_int(4));
    YC_SGEN_END();
}

TEST(dense_init_null_and_bad_type)
{
    m_t m;
    CHECK_ST(yc_sgen_init(NULL, &mbody), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_sgen_init: generator is NULL");
    CHECK_ST(yc_sgen_init(&m.sgen, NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_sgen_init: type is NULL");
    yc_sgen_type fake;
    memset(&fake, 0, sizeof fake);
    CHECK_ST(yc_sgen_init(&m.sgen, &fake), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_sgen_init: not a stackless generator type (make it "
                             "with YC_SGEN_FN)");
    CHECK(yc_sgen_new(&fake) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_sgen_new: not a stackless generator type (make it "
                             "with YC_SGEN_FN)");
    CHECK(yc_sgen_new(NULL) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_sgen_new: type is NULL");
}

TEST(dense_protocol_on_null)
{
    CHECK_ST(yc_sgen_next(NULL, NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: generator is NULL");
    CHECK_ST(yc_sgen_send(NULL, YC_NONE, NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: generator is NULL");
    CHECK_ST(yc_sgen_close(NULL, NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: generator is NULL");
    CHECK_ST(yc_sgen_throw(NULL, yc_exc_new(&yc_KeyError, NULL), NULL), YC_EINVAL); /* e taken */
    CHECK_EXC(&yc_TypeError, "TypeError: generator is NULL");
    CHECK_ST(yc_sgen_fini(NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: generator is NULL");
    CHECK_ST(yc_sgen_free(NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: generator is NULL");
    CHECK_EQ_INT(yc_sgen_state_of(NULL), YC_GEN_CLOSED);
    CHECK(yc_sgen_name(NULL) == NULL);
    CHECK(yc_sgen_yieldfrom(NULL) == NULL);
    CHECK(yc_sgen_iter(NULL) == NULL);
}

TEST(dense_protocol_on_uninitialised_or_finalised)
{
    m_t m;
    memset(&m, 0, sizeof m);
    CHECK_ST(yc_sgen_next(&m.sgen, NULL), YC_EINVAL);
    CHECK_EXC(&yc_ValueError, "ValueError: not a live generator (freed or corrupted)");
    CHECK(yc_sgen_name(&m.sgen) == NULL);
    CHECK_ST(yc_sgen_init(&m.sgen, &mbody), YC_OK);
    CHECK_ST(yc_sgen_next(&m.sgen, NULL), YC_YIELD);
    CHECK_ST(yc_sgen_fini(&m.sgen), YC_OK);
    CHECK_ST(yc_sgen_next(&m.sgen, NULL), YC_EINVAL);
    CHECK_EXC(&yc_ValueError, "ValueError: not a live generator (freed or corrupted)");
    CHECK_ST(yc_sgen_fini(&m.sgen), YC_EINVAL); /* twice */
    CHECK_EXC(&yc_ValueError, NULL);
    CHECK_ST(yc_sgen_throw(&m.sgen, yc_exc_new(&yc_KeyError, NULL), NULL), YC_EINVAL);
    CHECK_EXC(&yc_ValueError, NULL);
    CHECK_EQ_INT(yc_sgen_state_of(&m.sgen), YC_GEN_CLOSED);
    /* the iterator dispatch reaches the same checks */
    CHECK_ST(yc_iter_next(&m.sgen.it, NULL), YC_EINVAL);
    CHECK_EXC(&yc_ValueError, NULL);
}

TEST(dense_free_and_fini_mixed_up)
{
    m_t m;
    yc_sgen_init(&m.sgen, &mbody);
    CHECK_ST(yc_sgen_free(&m.sgen), YC_EINVAL);
    CHECK_EXC(&yc_ValueError,
              "ValueError: yc_sgen_free: generator not made by yc_sgen_new (use yc_sgen_fini)");
    CHECK_EQ_INT(yc_sgen_state_of(&m.sgen), YC_GEN_CREATED);
    yc_sgen *g = yc_sgen_new(&mbody);
    CHECK_ST(yc_sgen_fini(g), YC_EINVAL);
    CHECK_EXC(&yc_ValueError,
              "ValueError: yc_sgen_fini: generator made by yc_sgen_new (use yc_sgen_free)");
    CHECK_EQ_INT(yc_sgen_live(), 1);
    CHECK_EQ_INT(yc_sgen_pool_trim(), 0); /* one is live: nothing given back */
    CHECK_ST(yc_sgen_free(g), YC_OK);
    CHECK_ST(yc_sgen_free(g), YC_EINVAL); /* double free, block not reused yet */
    CHECK_EXC(&yc_ValueError, "ValueError: not a live generator (freed or corrupted)");
    CHECK_EQ_INT(yc_sgen_live(), 0);
    yc_sgen_fini(&m.sgen);
    CHECK(yc_sgen_pool_trim() > 0);
}

/* Each size class (and a struct beyond them): a block freed is the next one
 * given to its class, zeroed again; the live count follows. */
#define SIZED(name, n)                                                        \
    typedef struct {                                                          \
        yc_sgen sgen;                                                         \
        int64_t w[n];                                                         \
    } name##_t;                                                               \
    YC_SGEN_FN(name, name##_t, s)                                             \
    {                                                                         \
        YC_SGEN_BEGIN();                                                      \
        YC_SYIELD(yc_int(s->w[n - 1]));                                       \
        YC_SGEN_END();                                                        \
    }
SIZED(sz64, 1)     /* 56 bytes + the 8-byte prefix: class 64 */
SIZED(sz128, 9)    /* 120 + 8: class 128 */
SIZED(sz256, 20)   /* 208 + 8: class 256 */
SIZED(sz2k, 250)   /* beyond the classes: a block of its own */

static void check_class(const yc_sgen_type *t, size_t nw, bool reused)
{
    yc_sgen *g = yc_sgen_new(t);
    CHECK(g != NULL);
    if (!g) return;
    int64_t *w = (int64_t *)(void *)(g + 1);
    for (size_t k = 0; k < nw; k++) CHECK_EQ_INT(w[k], 0);
    w[nw - 1] = 7;
    yc_val v;
    CHECK_ST(yc_sgen_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 7);
    for (size_t k = 0; k < nw; k++) w[k] = -1;
    CHECK_EQ_INT(yc_sgen_live(), 1);
    CHECK_ST(yc_sgen_free(g), YC_OK); /* suspended: closed, nothing to run */
    CHECK_EQ_INT(yc_sgen_live(), 0);
    yc_sgen *h = yc_sgen_new(t);
    CHECK(h != NULL);
    if (!h) return;
    if (reused) CHECK(h == g);
    w = (int64_t *)(void *)(h + 1);
    for (size_t k = 0; k < nw; k++) CHECK_EQ_INT(w[k], 0); /* zeroed again */
    CHECK_EQ_INT(yc_sgen_state_of(h), YC_GEN_CREATED);
    CHECK(yc_sgen_yieldfrom(h) == NULL);
    CHECK_ST(yc_sgen_free(h), YC_OK);
}

TEST(dense_slab_classes_zeroed_and_reused)
{
    check_class(&sz64, 1, true);
    check_class(&sz128, 9, true);
    check_class(&sz256, 20, true);
    check_class(&sz2k, 250, false);
    CHECK_EQ_INT(yc_sgen_live(), 0);
    CHECK(yc_sgen_pool_trim() > 0);
}

typedef struct {
    yc_sgen sgen;
    int op; /* 0: free itself, 1: fini itself */
    yc_sgen *self;
} selfree_t;

YC_SGEN_FN(selfree, selfree_t, s)
{
    YC_SGEN_BEGIN();
    YC_SCHECK(s->op ? yc_sgen_fini(s->self) : yc_sgen_free(s->self));
    YC_SGEN_END();
}

TEST(dense_free_or_fini_while_running)
{
    selfree_t *p = (selfree_t *)(void *)yc_sgen_new(&selfree);
    p->self = &p->sgen;
    p->op = 0;
    CHECK_ST(yc_sgen_next(&p->sgen, NULL), YC_RAISE);
    CHECK_EXC(&yc_ValueError, "ValueError: generator already executing");
    CHECK_ST(yc_sgen_free(&p->sgen), YC_OK);
    selfree_t e = {.op = 1};
    yc_sgen_init(&e.sgen, &selfree);
    e.self = &e.sgen;
    CHECK_ST(yc_sgen_next(&e.sgen, NULL), YC_RAISE);
    CHECK_EXC(&yc_ValueError, "ValueError: generator already executing");
    CHECK_ST(yc_sgen_fini(&e.sgen), YC_OK);
    yc_sgen_pool_trim();
}

static void *free_on_other_thread(void *arg)
{
    int st = yc_sgen_free(arg);
    yc_exc *e = yc_err_take();
    char buf[256] = "";
    if (e) yc_exc_format(e, buf, sizeof buf);
    yc_exc_unref(e);
    return (void *)(intptr_t)(st == YC_EINVAL &&
                              strcmp(buf, "ValueError: yc_sgen_free: generator made by another "
                                          "thread (free it there)") == 0);
}

TEST(dense_free_from_another_thread_refused)
{
    yc_sgen *g = yc_sgen_new(&mbody);
    CHECK_ST(yc_sgen_next(g, NULL), YC_YIELD);
    pthread_t t;
    void *ok = NULL;
    CHECK(pthread_create(&t, NULL, free_on_other_thread, g) == 0);
    pthread_join(t, &ok);
    CHECK(ok != NULL);
    CHECK_EQ_INT(yc_sgen_state_of(g), YC_GEN_SUSPENDED); /* untouched */
    CHECK_ST(yc_sgen_free(g), YC_OK);
    yc_sgen_pool_trim();
}

/* dense.h inlines the common cases of yc_sgen_new, yc_sgen_free,
 * yc_sgen_init, yc_sgen_fini and yc_sgen_next into the caller; the
 * library's exported symbols hold the same code. Called through pointers
 * (the exported symbols) and directly (inlined where the build optimises),
 * they share one slab and give the same answers to every misuse. */
static yc_sgen *(*volatile p_new)(const yc_sgen_type *) = yc_sgen_new;
static int (*volatile p_free)(yc_sgen *) = yc_sgen_free;
static int (*volatile p_init)(yc_sgen *, const yc_sgen_type *) = yc_sgen_init;
static int (*volatile p_fini)(yc_sgen *) = yc_sgen_fini;
static int (*volatile p_next)(yc_sgen *, yc_val *) = yc_sgen_next;

TEST(dense_exported_and_inline_paths_agree)
{
    yc_val v;
    /* a block freed by one path is the next one the other gives out */
    yc_sgen *a = yc_sgen_new(&mbody);
    CHECK(a != NULL);
    CHECK_ST(p_free(a), YC_OK);
    yc_sgen *b = yc_sgen_new(&mbody);
    CHECK(b == a);
    CHECK_EQ_INT(yc_sgen_live(), 1);
    ((m_t *)(void *)b)->mode = 7;
    CHECK_ST(yc_sgen_free(b), YC_OK);
    b = p_new(&mbody);
    CHECK(b == a);
    CHECK_EQ_INT(yc_sgen_state_of(b), YC_GEN_CREATED); /* zeroed again by either */
    CHECK_EQ_INT(((m_t *)(void *)b)->mode, 0);
    CHECK_ST(p_next(b, &v), YC_YIELD);
    CHECK_EQ_INT(v.i, 1);
    CHECK_ST(yc_sgen_next(b, &v), YC_YIELD);
    CHECK_EQ_INT(v.i, 2);
    CHECK_ST(p_next(b, NULL), YC_YIELD); /* out may be NULL on both */
    CHECK_ST(yc_sgen_next(b, NULL), YC_RETURN);
    CHECK_ST(p_next(b, &v), YC_RETURN); /* closed: StopIteration() again */
    CHECK(yc_is_none(v));
    CHECK_ST(p_free(b), YC_OK);
    CHECK_ST(yc_sgen_free(b), YC_EINVAL); /* freed by the other path */
    CHECK_EXC(&yc_ValueError, "ValueError: not a live generator (freed or corrupted)");
    CHECK_ST(p_next(b, NULL), YC_EINVAL);
    CHECK_EXC(&yc_ValueError, "ValueError: not a live generator (freed or corrupted)");
    CHECK_EQ_INT(yc_sgen_live(), 0);
    /* the misuses, through the exported symbols */
    CHECK(p_new(NULL) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_sgen_new: type is NULL");
    CHECK_ST(p_free(NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: generator is NULL");
    CHECK_ST(p_next(NULL, NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: generator is NULL");
    CHECK_ST(p_init(NULL, &mbody), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_sgen_init: generator is NULL");
    CHECK_ST(p_fini(NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: generator is NULL");
    m_t m = {.mode = 0}; /* init leaves the user's fields as they are */
    CHECK_ST(p_init(&m.sgen, NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_sgen_init: type is NULL");
    CHECK_ST(p_init(&m.sgen, &mbody), YC_OK);
    CHECK_ST(p_free(&m.sgen), YC_EINVAL);
    CHECK_EXC(&yc_ValueError,
              "ValueError: yc_sgen_free: generator not made by yc_sgen_new (use yc_sgen_fini)");
    CHECK_ST(yc_sgen_next(&m.sgen, &v), YC_YIELD);
    CHECK_ST(p_fini(&m.sgen), YC_OK);
    CHECK_ST(yc_sgen_fini(&m.sgen), YC_EINVAL); /* finalised by the other path */
    CHECK_EXC(&yc_ValueError, "ValueError: not a live generator (freed or corrupted)");
    yc_sgen *c = p_new(&mbody);
    CHECK_ST(p_fini(c), YC_EINVAL);
    CHECK_EXC(&yc_ValueError,
              "ValueError: yc_sgen_fini: generator made by yc_sgen_new (use yc_sgen_free)");
    /* a suspended generator inside a try: neither path's fast case; the
     * finally runs when either frees it */
    for (int k = 0; k < 2; k++) {
        yc_sgen *t = yc_sgen_new(&mbody);
        ((m_t *)(void *)t)->mode = 1;
        CHECK_ST(yc_sgen_next(t, NULL), YC_YIELD);
        int before = finally_runs;
        CHECK_ST(k ? p_free(t) : yc_sgen_free(t), YC_OK);
        CHECK_EQ_INT(finally_runs, before + 1);
    }
    CHECK_ST(yc_sgen_free(c), YC_OK);
    CHECK_EQ_INT(yc_sgen_live(), 0);
    yc_sgen_pool_trim();
    /* an empty slab: both paths refill it */
    c = yc_sgen_new(&mbody);
    CHECK(c != NULL);
    CHECK_ST(p_free(c), YC_OK);
    CHECK(yc_sgen_pool_trim() > 0);
    c = p_new(&mbody);
    CHECK(c != NULL);
    CHECK_ST(yc_sgen_free(c), YC_OK);
    yc_sgen_pool_trim();
}

TEST(dense_try_left_by_break_is_a_runtime_error)
{
    for (int mode = 1; mode <= 2; mode++) {
        finally_runs = 0;
        m_t m = {.mode = mode};
        yc_sgen_init(&m.sgen, &mbody);
        CHECK_ST(yc_sgen_next(&m.sgen, NULL), YC_YIELD);
        CHECK_ST(yc_sgen_next(&m.sgen, NULL), YC_YIELD);
        CHECK_ST(yc_sgen_next(&m.sgen, NULL), YC_RAISE); /* the break, then return or try */
        CHECK_EXC(&yc_RuntimeError, "RuntimeError: YC_STRY block left by break, continue or goto "
                                    "in generator 'mbody'");
        CHECK_EQ_INT(finally_runs, 1); /* the first construct's, not the one left by break */
        CHECK_EQ_INT(yc_sgen_state_of(&m.sgen), YC_GEN_CLOSED);
        yc_sgen_fini(&m.sgen);
    }
}

TEST(dense_call_raising_by_longjmp_under_scall_raising)
{
    m_t m = {.mode = 3};
    yc_sgen_init(&m.sgen, &mbody);
    yc_val v;
    CHECK_ST(yc_sgen_next(&m.sgen, &v), YC_YIELD); /* caught in the body's own try */
    CHECK_INTV(v, 77);
    CHECK_ST(yc_sgen_next(&m.sgen, &v), YC_RAISE); /* uncaught: ends the generator */
    yc_exc *e = yc_err_take();
    char buf[128];
    yc_exc_format(e, buf, sizeof buf);
    CHECK_STR(buf, "KeyError: 'jumped'");
    size_t n;
    const yc_tb_entry *tb = yc_exc_traceback(e, &n);
    CHECK(n >= 2);
    if (n >= 2) CHECK_STR(tb[n - 1].where, "mbody"); /* re-raised in the body */
    yc_exc_unref(e);
    CHECK_EQ_INT(yc_sgen_state_of(&m.sgen), YC_GEN_CLOSED);
    yc_sgen_fini(&m.sgen);
}

TEST_MAIN()
