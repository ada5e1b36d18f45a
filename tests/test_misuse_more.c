/* More rows of docs/misuse.md: the reducers' NULL arguments, generator
 * expressions, the body side of generator stages, stages reentered from
 * their callbacks, owned values, the allocator, generator managers over
 * running generators, and the rows the audit of the whole public API added;
 * last, a check that the table names every public function and only tests
 * that exist. Each misuse returns the documented status and exception and
 * leaves the documented state; the harness checks that nothing leaks
 * (generators, exceptions) and the sanitizer / valgrind runs check the
 * memory. */
#include "test_pipe_util.h"

#include <ctype.h>
#include <signal.h>

static long live_gens(void)
{
    yc_stats s;
    yc_stats_get(&s);
    return s.generators;
}

static long live_excs(void)
{
    yc_stats s;
    yc_stats_get(&s);
    return s.exceptions;
}

/* The text of an exception, for checks inside YC_EXCEPT. */
static char caught[512];

static void note_caught(void)
{
    yc_exc_format(yc_exc_current(), caught, sizeof caught);
}

/* BYTES items: min, max, reduce, first and nth hand over owned copies of
 * them, so a copy that is not released shows under ASan / valgrind. */
static const yc_val words[] = {
    {{.s = "pear"}, YC_T_BYTES | (4u << 8)},
    {{.s = "apple"}, YC_T_BYTES | (5u << 8)},
    {{.s = "fig"}, YC_T_BYTES | (3u << 8)},
};
#define NWORDS (sizeof words / sizeof words[0])

static yc_iter *words_iter(void) { return yc_iter_array(words, NWORDS); }

static yc_val one_or_none(void *arg)
{
    (void)arg;
    yc_yield(yc_int(1));
    return YC_NONE;
}

/* An iterator type without next (the one required operation). */
static const yc_iter_type no_next_type = {.name = "half_iterator"};

static void check_exhausted(yc_iter *it)
{
    CHECK_ST(yc_iter_next(it, NULL), YC_RETURN);
}

/* ======================================================================
 * Reducers: NULL it, NULL out, NULL function
 * ==================================================================== */

static yc_val longest(void *ctx, yc_val acc, yc_val x)
{
    (void)ctx;
    return yc_len(x) > yc_len(acc) ? x : acc;
}

static bool each_true(void *ctx, yc_val x)
{
    (void)x;
    ++*(int *)ctx;
    return true;
}

TEST(reducers_null_iterator)
{
    yc_val out = yc_int(7);
    bool b = true;
    CHECK_ST(yc_iter_sum(NULL, yc_int(0), &out), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_iter_sum: iterator is NULL");
    CHECK_ST(yc_iter_min(NULL, NULL, NULL, &out), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_iter_min: iterator is NULL");
    CHECK_ST(yc_iter_max(NULL, NULL, NULL, &out), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_iter_max: iterator is NULL");
    yc_val init = yc_int(0);
    CHECK_ST(yc_iter_reduce(NULL, longest, NULL, &init, &out), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_iter_reduce: iterator is NULL");
    CHECK_ST(yc_iter_any(NULL, NULL, NULL, &b), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_iter_any: iterator is NULL");
    CHECK_ST(yc_iter_all(NULL, NULL, NULL, &b), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_iter_all: iterator is NULL");
    int calls = 0;
    CHECK_ST(yc_iter_for_each(NULL, each_true, &calls), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_iter_for_each: iterator is NULL");
    CHECK_EQ_INT(calls, 0);
    /* *out is set only on YC_OK ... */
    CHECK_INTV(out, 7);
    CHECK(b);
    /* ... except for first and nth, which always set it (None) */
    CHECK_ST(yc_iter_first(NULL, &out), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_iter_first: iterator is NULL");
    CHECK(yc_is_none(out));
    out = yc_int(7);
    CHECK_ST(yc_iter_nth(NULL, 1, &out), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_iter_nth: iterator is NULL");
    CHECK(yc_is_none(out));
    /* collect empties its vector first */
    yc_vec v = {(yc_val *)&out, 5, 5};
    CHECK_ST(yc_iter_collect(NULL, &v), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_iter_collect: iterator is NULL");
    CHECK(v.items == NULL && v.len == 0 && v.cap == 0);
    yc_vec_free(&v);
}

TEST(reducers_null_out_discard_the_result)
{
    /* out NULL: the reducer runs and its result is dropped (released, for
     * the owned ones), as yc_iter_next drops the value for a NULL out */
    yc_iter *it = yc_iter_range(0, 5, 1);
    CHECK_ST(yc_iter_count(it, NULL), YC_OK);
    check_exhausted(it);
    yc_iter_free(it);

    it = yc_iter_range(0, 5, 1);
    CHECK_ST(yc_iter_sum(it, yc_int(0), NULL), YC_OK);
    check_exhausted(it);
    yc_iter_free(it);

    it = words_iter();
    CHECK_ST(yc_iter_min(it, NULL, NULL, NULL), YC_OK);
    check_exhausted(it);
    yc_iter_free(it);

    it = words_iter();
    CHECK_ST(yc_iter_max(it, NULL, NULL, NULL), YC_OK);
    check_exhausted(it);
    yc_iter_free(it);

    it = words_iter();
    CHECK_ST(yc_iter_reduce(it, longest, NULL, NULL, NULL), YC_OK);
    check_exhausted(it);
    yc_iter_free(it);

    /* any / all stop at the deciding item, as with an out */
    it = yc_iter_range(0, 5, 1);
    CHECK_ST(yc_iter_any(it, NULL, NULL, NULL), YC_OK); /* stops at 1 */
    yc_val v;
    CHECK_ST(yc_iter_next(it, &v), YC_YIELD);
    CHECK_INTV(v, 2);
    CHECK_ST(yc_iter_all(it, NULL, NULL, NULL), YC_OK); /* to the end */
    check_exhausted(it);
    yc_iter_free(it);

    it = words_iter();
    CHECK_ST(yc_iter_first(it, NULL), YC_OK); /* takes "pear" */
    CHECK_ST(yc_iter_nth(it, 0, NULL), YC_OK); /* takes "apple" */
    CHECK_ST(yc_iter_next(it, &v), YC_YIELD);
    CHECK_VAL(v, yc_str("fig"));
    CHECK_ST(yc_iter_nth(it, 3, NULL), YC_RETURN); /* ended first: no error */
    yc_iter_free(it);
    CHECK(yc_err_get() == NULL);
}

TEST(reducers_null_function_or_out_of_collect)
{
    yc_iter *it = yc_iter_range(0, 3, 1);
    yc_val out = yc_int(7);
    CHECK_ST(yc_iter_reduce(it, NULL, NULL, NULL, &out), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: reduce: the function is NULL");
    CHECK_INTV(out, 7);
    CHECK_ST(yc_iter_for_each(it, NULL, NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: for_each: the function is NULL");
    CHECK_ST(yc_iter_collect(it, NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_iter_collect: out is NULL");
    yc_val v;
    CHECK_ST(yc_iter_next(it, &v), YC_YIELD); /* nothing was consumed */
    CHECK_INTV(v, 0);
    yc_iter_free(it);
}

TEST(reducers_start_and_items_of_the_wrong_kind)
{
    yc_iter *it = yc_iter_range(0, 3, 1);
    yc_val out = yc_int(7);
    CHECK_ST(yc_iter_sum(it, yc_str("a"), &out), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: sum() can't sum bytes [use b''.join(seq) instead]");
    CHECK_ST(yc_iter_sum(it, YC_NONE, &out), YC_RAISE);
    CHECK_EXC(&yc_TypeError, "TypeError: unsupported operand type(s) for +: 'NoneType' and 'int'");
    CHECK_INTV(out, 7);
    yc_val v;
    CHECK_ST(yc_iter_next(it, &v), YC_YIELD); /* nothing was consumed */
    CHECK_INTV(v, 0);
    yc_iter_free(it);

    yc_val mixed[] = {yc_int(1), yc_str("a")};
    it = yc_iter_array(mixed, 2);
    CHECK_ST(yc_iter_min(it, NULL, NULL, &out), YC_RAISE);
    CHECK_EXC(&yc_TypeError, "TypeError: '<' not supported between instances of 'bytes' and 'int'");
    CHECK_INTV(out, 7);
    yc_iter_free(it);
    it = yc_iter_array(mixed, 2);
    CHECK_ST(yc_iter_max(it, NULL, NULL, &out), YC_RAISE);
    CHECK_EXC(&yc_TypeError, "TypeError: '>' not supported between instances of 'bytes' and 'int'");
    yc_iter_free(it);
}

/* A reducer over the generator that is running it: the generator is
 * RUNNING, so its first pull is "already executing". */
static yc_val count_myself(void *arg)
{
    (void)arg;
    int64_t n = -1;
    CHECK_ST(yc_iter_count(yc_gen_iter(yc_gen_current()), &n), YC_EBUSY);
    CHECK_EXC(&yc_ValueError, "ValueError: generator already executing");
    CHECK_EQ_INT(n, -1);
    yc_yield(yc_int(1));
    return YC_NONE;
}

TEST(reducer_over_its_own_running_generator)
{
    yc_gen *g = yc_gen_new(count_myself, NULL, NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD); /* the body goes on */
    CHECK_INTV(v, 1);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ======================================================================
 * Generator expressions
 * ==================================================================== */

TEST(yc_genexpr_null_def_is_the_identity)
{
    /* def NULL is the all-NULL definition: (x for x in src) */
    yc_iter *g = yc_genexpr(yc_iter_range(0, 3, 1), NULL);
    CHECK(g != NULL);
    CHECK_STR(yc_iter_name(g), "generator");
    yc_val v;
    for (int i = 0; i < 3; i++) {
        CHECK_ST(yc_iter_next(g, &v), YC_YIELD);
        CHECK_INTV(v, i);
    }
    CHECK_ST(yc_iter_next(g, &v), YC_RETURN);
    yc_iter_free(g);
    CHECK_EQ_INT(live_gens(), 0);
}

TEST(yc_genexpr_null_source)
{
    yc_genexpr_def d = {0};
    CHECK(yc_genexpr(NULL, &d) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: generator: upstream iterator is NULL");
    /* a failed constructor's error is kept */
    CHECK(yc_genexpr(yc_iter_range(0, 1, 0), &d) == NULL);
    CHECK_EXC(&yc_ValueError, "ValueError: range() arg 3 must not be zero");
    CHECK_EQ_INT(live_gens(), 0);
}

/* ======================================================================
 * Generator stages: the body side used where it does not belong
 * ==================================================================== */

static yc_stage *held; /* a stage whose body has run */

static yc_val pass_body(yc_stage *s, void *ctx)
{
    (void)ctx;
    held = s;
    yc_val v;
    while (yc_stage_pull(s, &v)) yc_stage_emit(s, v);
    return YC_NONE;
}

static yc_val got; /* not a local: written (or not) across a raise */

TEST(yc_stage_pull_outside_its_body)
{
    yc_iter *p = yc_iter_stage(yc_iter_range(0, 10, 1), pass_body, NULL, NULL);
    yc_val buf[2];
    size_t n = 0;
    /* a block request: the body pulls a block of 10 and emits 2 of them,
     * so its input block still holds 8 items */
    CHECK_ST(yc_iter_next_batch(p, buf, 2, &n), YC_YIELD);
    CHECK_EQ_INT(n, 2);
    volatile int raised = 0;
    got = yc_int(-1);
    caught[0] = '\0';
    YC_TRY {
        yc_stage_pull(held, &got);
    } YC_EXCEPT(&yc_RuntimeError) {
        note_caught();
        raised = 1;
    } YC_END;
    CHECK(raised);
    CHECK_STR(caught, "RuntimeError: yc_stage_pull() outside its stage's body");
    CHECK_INTV(got, -1);
    /* nothing taken: the stage goes on with item 2 */
    CHECK_ST(yc_iter_next_batch(p, buf, 2, &n), YC_YIELD);
    CHECK_EQ_INT(n, 2);
    CHECK_INTV(buf[0], 2);
    yc_iter_free(p);
}

TEST(yc_stage_emit_outside_its_body)
{
    yc_iter *p = yc_iter_stage(yc_iter_range(0, 10, 1), pass_body, NULL, NULL);
    yc_val v;
    CHECK_ST(yc_iter_next(p, &v), YC_YIELD);
    CHECK_INTV(v, 0);
    volatile int raised = 0;
    YC_TRY {
        yc_stage_emit(held, yc_int(99));
    } YC_EXCEPT(&yc_RuntimeError) {
        note_caught();
        raised = 1;
    } YC_END;
    CHECK(raised);
    CHECK_STR(caught, "RuntimeError: yc_stage_emit() outside its stage's body");
    CHECK_ST(yc_iter_next(p, &v), YC_YIELD); /* 99 never reached the stage */
    CHECK_INTV(v, 1);
    yc_iter_free(p);
}

/* The body of stage A uses stage B's handle. */
typedef struct two_stages {
    yc_stage *other;
    bool emit; /* use emit (else pull) on the other stage */
} two_stages;

static yc_val meddle_body(yc_stage *s, void *ctx)
{
    two_stages *t = ctx;
    yc_val v;
    if (!yc_stage_pull(s, &v)) return YC_NONE;
    if (t->emit) yc_stage_emit(t->other, v);
    else yc_stage_pull(t->other, &v);
    yc_stage_emit(s, v);
    return YC_NONE;
}

static void stage_of_another_generator(bool emit)
{
    yc_iter *b = yc_iter_stage(yc_iter_range(0, 10, 1), pass_body, NULL, NULL);
    yc_val buf[2];
    size_t n;
    CHECK_ST(yc_iter_next_batch(b, buf, 2, &n), YC_YIELD); /* B holds 8 items */
    two_stages t = {held, emit};
    yc_iter *a = yc_iter_stage(yc_iter_range(100, 110, 1), meddle_body, &t, NULL);
    yc_val v = yc_int(-1);
    CHECK_ST(yc_iter_next(a, &v), YC_RAISE);
    CHECK_EXC(&yc_RuntimeError, emit ? "RuntimeError: yc_stage_emit() outside its stage's body"
                                     : "RuntimeError: yc_stage_pull() outside its stage's body");
    CHECK(yc_is_none(v));
    CHECK_ST(yc_iter_next(a, &v), YC_RETURN); /* A ended, as a stage that raised */
    CHECK_ST(yc_iter_next_batch(b, buf, 2, &n), YC_YIELD); /* B unaffected */
    CHECK_EQ_INT(n, 2);
    CHECK_INTV(buf[0], 2);
    yc_iter_free(a);
    yc_iter_free(b);
}

TEST(yc_stage_pull_stage_of_another_generator) { stage_of_another_generator(false); }
TEST(yc_stage_emit_stage_of_another_generator) { stage_of_another_generator(true); }

typedef enum { PULL_NULL_STAGE, PULL_NULL_V, EMIT_NULL_STAGE } null_kind;

static yc_val null_arg_body(yc_stage *s, void *ctx)
{
    null_kind k = *(null_kind *)ctx;
    yc_val v;
    if (k == PULL_NULL_STAGE) yc_stage_pull(NULL, &v);
    else if (k == PULL_NULL_V) yc_stage_pull(s, NULL);
    else yc_stage_emit(NULL, yc_int(1));
    yc_stage_emit(s, yc_int(1));
    return YC_NONE;
}

static void stage_null_arg(null_kind k, const char *text)
{
    yc_iter *src = yc_iter_range(0, 3, 1);
    yc_iter *p = yc_iter_stage(src, null_arg_body, &k, NULL);
    CHECK_ST(yc_iter_next(p, NULL), YC_RAISE);
    CHECK_EXC(&yc_TypeError, text);
    CHECK_ST(yc_iter_next(p, NULL), YC_RETURN);
    yc_iter_free(p);
}

TEST(yc_stage_pull_emit_null_arguments)
{
    stage_null_arg(PULL_NULL_STAGE, "TypeError: yc_stage_pull: stage is NULL");
    stage_null_arg(PULL_NULL_V, "TypeError: yc_stage_pull: v is NULL");
    stage_null_arg(EMIT_NULL_STAGE, "TypeError: yc_stage_emit: stage is NULL");
}

TEST(yc_stage_null_outside_any_body)
{
    volatile int raised = 0;
    YC_TRY {
        yc_stage_pull(NULL, &got);
    } YC_EXCEPT(&yc_TypeError) {
        note_caught();
        raised = 1;
    } YC_END;
    CHECK(raised);
    CHECK_STR(caught, "TypeError: yc_stage_pull: stage is NULL");
    CHECK(yc_stage_upstream(NULL) == NULL);
}

/* A generator stage pulled from its own body: as a generator resumed from
 * its own body, "already executing", and the body goes on. */
static yc_val pull_myself_body(yc_stage *s, void *ctx)
{
    yc_iter **self = ctx;
    yc_val v = yc_int(-1);
    CHECK_ST(yc_iter_next(*self, &v), YC_EBUSY);
    CHECK_EXC(&yc_ValueError, "ValueError: generator already executing");
    CHECK(yc_is_none(v));
    yc_val buf[2];
    size_t n = 5;
    CHECK_ST(yc_iter_next_batch(*self, buf, 2, &n), YC_EBUSY);
    CHECK_EXC(&yc_ValueError, "ValueError: generator already executing");
    CHECK_EQ_INT(n, 0);
    while (yc_stage_pull(s, &v)) yc_stage_emit(s, v);
    return YC_NONE;
}

TEST(generator_stage_pulled_from_its_own_body)
{
    tsrc t;
    tsrc_init(&t, 3);
    yc_iter *self = NULL;
    self = yc_iter_stage(tsrc_iter(&t), pull_myself_body, &self, NULL);
    int64_t got_[8];
    size_t n;
    CHECK_ST(pull_all(self, got_, 8, &n), YC_RETURN); /* unaffected */
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_INT(got_[2], 2);
    CHECK_EQ_INT(t.finally_runs, 1);
    yc_iter_free(self);
}

/* ======================================================================
 * Pipeline constructors, sources and small functions
 * ==================================================================== */

TEST(more_constructor_argument_errors_free_upstream)
{
    /* each takes its upstream: freed (closed first) on the error */
    tsrc t;
    tsrc_init(&t, 3);
    yc_iter *up = tsrc_iter(&t);
    CHECK_ST(yc_iter_next(up, NULL), YC_YIELD);
    CHECK(yc_iter_map_batch(up, NULL, NULL) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: map_batch: the function is NULL");
    CHECK_EQ_INT(t.finally_runs, 1);
    CHECK(yc_iter_filter_batch(yc_iter_range(0, 3, 1), NULL, NULL) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: filter_batch: the function is NULL");
    CHECK(yc_iter_flat_map(yc_iter_range(0, 3, 1), NULL, NULL) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: flat_map: the function is NULL");
    CHECK(yc_iter_dropwhile(yc_iter_range(0, 3, 1), NULL, NULL) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: dropwhile: the predicate is NULL");
    /* tee: out NULL, max_buffer 0 */
    CHECK_ST(yc_iter_tee(yc_iter_range(0, 3, 1), 2, 10, NULL), YC_EINVAL);
    CHECK_EXC(&yc_ValueError, "ValueError: tee: out is NULL");
    yc_iter *br[2] = {NULL, NULL};
    CHECK_ST(yc_iter_tee(yc_iter_range(0, 3, 1), 2, 0, br), YC_EINVAL);
    CHECK_EXC(&yc_ValueError, "ValueError: tee: max_buffer must be at least one");
    CHECK(br[0] == NULL && br[1] == NULL);
    CHECK_ST(yc_iter_tee(NULL, 2, 10, br), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: tee: upstream iterator is NULL");
}

TEST(generator_options_errors_through_other_constructors)
{
    /* yc_gen_new's errors come out of everything that makes a generator */
    yc_gen_opts tiny = {.stack_size = 100};
    const char *text = "ValueError: yc_gen_new: stack_size 100 is outside [16384, 2^40]";
    CHECK(yc_iter_gen(one_or_none, NULL, &tiny) == NULL);
    CHECK_EXC(&yc_ValueError, text);
    CHECK(yc_iter_source(pass_body, NULL, &tiny) == NULL);
    CHECK_EXC(&yc_ValueError, text);
    tsrc t;
    tsrc_init(&t, 3);
    CHECK(yc_iter_stage(tsrc_iter(&t), pass_body, NULL, &tiny) == NULL);
    CHECK_EXC(&yc_ValueError, text);
    CHECK_EQ_INT(t.finally_runs, 0); /* never started: freed without running */
    CHECK(yc_cm_gen_new(one_or_none, NULL, &tiny) == NULL);
    CHECK_EXC(&yc_ValueError, text);
    CHECK(yc_cm_gen_new(NULL, NULL, NULL) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_gen_new: generator function is NULL");
    CHECK_EQ_INT(live_gens(), 0);
}

static yc_val ident(void *ctx, yc_val x)
{
    (void)ctx;
    return x;
}

static bool truthy(void *ctx, yc_val x)
{
    (void)ctx;
    return yc_val_truthy(x);
}

static void ident_batch(void *ctx, yc_val *xs, size_t n)
{
    (void)ctx;
    (void)xs;
    (void)n;
}

static size_t keep_all(void *ctx, yc_val *xs, size_t n)
{
    (void)ctx;
    (void)xs;
    return n;
}

static yc_iter *once(void *ctx, yc_val x)
{
    (void)ctx;
    return yc_iter_repeat(x, 1);
}

static yc_val stage_pass(yc_stage *s, void *ctx)
{
    (void)s;
    (void)ctx;
    return YC_NONE;
}

TEST(every_stage_constructor_null_upstream)
{
    /* NULL upstream, nothing pending: TypeError naming the stage's kind;
     * with a pending error (a failed inner constructor): that error kept */
    size_t k = 0;
#define NULL_UP(kind_, call_)                                                 \
    do {                                                                      \
        CHECK((call_) == NULL);                                               \
        CHECK_EXC(&yc_TypeError, "TypeError: " kind_ ": upstream iterator is NULL"); \
        k++;                                                                  \
    } while (0)
    NULL_UP("map", yc_iter_map(NULL, ident, NULL));
    NULL_UP("map", yc_iter_map_batch(NULL, ident_batch, NULL));
    NULL_UP("filter", yc_iter_filter(NULL, truthy, NULL));
    NULL_UP("filter", yc_iter_filter_batch(NULL, keep_all, NULL));
    NULL_UP("islice", yc_iter_islice(NULL, 0, 5, 1));
    NULL_UP("islice", yc_iter_take(NULL, 5));
    NULL_UP("islice", yc_iter_drop(NULL, 5));
    NULL_UP("takewhile", yc_iter_takewhile(NULL, truthy, NULL));
    NULL_UP("dropwhile", yc_iter_dropwhile(NULL, truthy, NULL));
    NULL_UP("enumerate", yc_iter_enumerate(NULL, 0));
    NULL_UP("flat_map", yc_iter_flat_map(NULL, once, NULL));
    NULL_UP("batched", yc_iter_batch(NULL, 2));
    NULL_UP("window", yc_iter_window(NULL, 2));
    NULL_UP("accumulate", yc_iter_accumulate(NULL, NULL, NULL, NULL));
    NULL_UP("groupby", yc_iter_groupby(NULL, NULL, NULL));
    NULL_UP("unique", yc_iter_unique(NULL, NULL, NULL));
    NULL_UP("cycle", yc_iter_cycle(NULL));
    NULL_UP("stage", yc_iter_stage(NULL, stage_pass, NULL, NULL));
    NULL_UP("generator", yc_genexpr(NULL, NULL));
#undef NULL_UP
    CHECK_EQ_INT(k, 19);
    /* a pending error is kept by every one of them */
    yc_iter *p = yc_iter_window(yc_iter_range(0, 1, 0), 2);
    p = yc_iter_cycle(yc_iter_enumerate(p, 0));
    p = yc_iter_accumulate(p, NULL, NULL, NULL);
    p = yc_iter_unique(yc_iter_groupby(p, NULL, NULL), NULL, NULL);
    CHECK(p == NULL);
    CHECK_EXC(&yc_ValueError, "ValueError: range() arg 3 must not be zero");
    CHECK_EQ_INT(live_gens(), 0);
}

TEST(sources_without_misuse_to_report)
{
    /* repeat: negative times is empty (Python's repeat(x, -1)) */
    yc_iter *r = yc_iter_repeat(yc_int(1), -5);
    CHECK_ST(yc_iter_next(r, NULL), YC_RETURN);
    yc_iter_free(r);
    /* counter with step 0: the same value forever, as itertools.count */
    yc_iter *c = yc_iter_counter(7, 0);
    yc_val v;
    CHECK_ST(yc_iter_next(c, &v), YC_YIELD);
    CHECK_ST(yc_iter_next(c, &v), YC_YIELD);
    CHECK_INTV(v, 7);
    yc_iter_free(c);
    /* type names of anything, "?" for NULL */
    CHECK_STR(yc_iter_name(NULL), "?");
    yc_iter half = {&no_next_type};
    CHECK_STR(yc_iter_name(&half), "half_iterator");
}

TEST(yc_iter_gen_null_function)
{
    CHECK(yc_iter_gen(NULL, NULL, NULL) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_gen_new: generator function is NULL");
    CHECK_EQ_INT(live_gens(), 0);
}

TEST(yc_iter_zip_chain_null_array)
{
    CHECK(yc_iter_zip(NULL, 2) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: zip: its is NULL");
    CHECK(yc_iter_chain(NULL, 2) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: chain: its is NULL");
    /* n 0: empty, whatever its is */
    yc_iter *z = yc_iter_zip(NULL, 0), *c = yc_iter_chain(NULL, 0);
    CHECK_ST(yc_iter_next(z, NULL), YC_RETURN);
    CHECK_ST(yc_iter_next(c, NULL), YC_RETURN);
    yc_iter_free(z);
    yc_iter_free(c);
}

TEST(yc_vec_free_null_and_twice)
{
    yc_vec_free(NULL);
    yc_iter *it = words_iter();
    yc_vec v;
    CHECK_ST(yc_iter_collect(it, &v), YC_OK);
    CHECK_EQ_INT(v.len, NWORDS);
    yc_vec_free(&v);
    CHECK(v.items == NULL && v.len == 0 && v.cap == 0);
    yc_vec_free(&v); /* empty: nothing to do */
    yc_iter_free(it);
}

static yc_val boom(void *ctx, yc_val x)
{
    (void)ctx;
    (void)x;
    yc_raisef(&yc_ValueError, "boom");
}

/* The name the pipeline's traceback entry gives the stage that failed. */
static const char *failing_stage_name(yc_iter *m, char *buf, size_t n)
{
    buf[0] = '\0';
    CHECK_ST(yc_iter_next(m, NULL), YC_RAISE);
    yc_exc *e = yc_err_take();
    size_t ntb = 0;
    const yc_tb_entry *tb = yc_exc_traceback(e, &ntb);
    for (size_t i = 0; i < ntb; i++)
        if (tb[i].file && strcmp(tb[i].file, "<pipeline>") == 0)
            snprintf(buf, n, "%s", tb[i].func);
    yc_exc_unref(e);
    return buf;
}

TEST(yc_iter_label_null_label_restores_the_kind)
{
    char buf[32];
    yc_iter *m = yc_iter_map(yc_iter_range(0, 3, 1), boom, NULL);
    CHECK_ST(yc_iter_label(m, "parse"), YC_OK);
    CHECK_STR(failing_stage_name(m, buf, sizeof buf), "parse");
    yc_iter_free(m);
    m = yc_iter_map(yc_iter_range(0, 3, 1), boom, NULL);
    CHECK_ST(yc_iter_label(m, "parse"), YC_OK);
    CHECK_ST(yc_iter_label(m, NULL), YC_OK);
    CHECK_STR(failing_stage_name(m, buf, sizeof buf), "map");
    yc_iter_free(m);
}

TEST(yc_iter_zip_chain_same_iterator_twice)
{
    /* zip(it, it) pairs consecutive items in Python; here each upstream
     * is taken (owned) once: refused, the iterator freed once */
    tsrc t;
    tsrc_init(&t, 4);
    yc_iter *it = tsrc_iter(&t);
    CHECK_ST(yc_iter_next(it, NULL), YC_YIELD);
    yc_iter *two[] = {it, it};
    CHECK(yc_iter_zip(two, 2) == NULL);
    CHECK_EXC(&yc_ValueError,
              "ValueError: zip: the same iterator is given twice (each upstream is taken once)");
    CHECK_EQ_INT(t.finally_runs, 1); /* freed (closed first) once */
    CHECK_EQ_INT(live_gens(), 0);
    /* chain, with a NULL among them too: the error is the NULL's, and the
     * iterator is still freed once */
    it = yc_iter_range(0, 3, 1);
    yc_iter *three[] = {it, NULL, it};
    CHECK(yc_iter_chain(three, 3) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: chain: upstream iterator is NULL");
    /* many: found by sorting */
    yc_iter *many[100];
    for (int i = 0; i < 100; i++) many[i] = yc_iter_range(i, i + 1, 1);
    yc_iter_free(many[77]);
    many[77] = many[3];
    CHECK(yc_iter_chain(many, 100) == NULL);
    CHECK_EXC(&yc_ValueError,
              "ValueError: chain: the same iterator is given twice (each upstream is taken once)");
    for (int i = 0; i < 100; i++) many[i] = yc_iter_range(i, i + 1, 1);
    yc_iter *c = yc_iter_chain(many, 100); /* all distinct: fine */
    int64_t n = 0;
    CHECK_ST(yc_iter_count(c, &n), YC_OK);
    CHECK_EQ_INT(n, 100);
    yc_iter_free(c);
}

/* ======================================================================
 * A stage pulled from inside its own callback
 * ==================================================================== */

static yc_iter *reentered_stage; /* the stage whose callback pulls it */
static int reentries;

static void pull_own_stage(void)
{
    yc_val v = yc_int(-1);
    reentries++;
    CHECK_ST(yc_iter_next(reentered_stage, &v), YC_EBUSY);
    CHECK_EXC(&yc_ValueError, NULL);
    CHECK(yc_is_none(v));
    yc_val buf[4];
    size_t n = 3;
    CHECK_ST(yc_iter_next_batch(reentered_stage, buf, 4, &n), YC_EBUSY);
    CHECK_EXC(&yc_ValueError, NULL);
    CHECK_EQ_INT(n, 0);
}

static yc_val longer_pulling(void *ctx, yc_val acc, yc_val x)
{
    (void)ctx;
    pull_own_stage();
    return yc_len(x) > yc_len(acc) ? x : acc;
}

static yc_val first_letter_pulling(void *ctx, yc_val x)
{
    (void)ctx;
    pull_own_stage();
    return yc_bytes(x.s, 1);
}

static yc_iter *letters_pulling(void *ctx, yc_val x)
{
    (void)ctx;
    pull_own_stage();
    return yc_iter_repeat(x, 2);
}

/* Pulls everything from the stage; returns the formatted items. */
static const char *drain(yc_iter *it, char *out, size_t n)
{
    out[0] = '\0';
    yc_val v;
    int st;
    while ((st = yc_iter_next(it, &v)) == YC_YIELD) {
        char b[64];
        const yc_tuple *t = yc_tuple_of(v);
        yc_val_format(t ? t->items[0] : v, b, sizeof b);
        strncat(out, b, n - strlen(out) - 1);
        strncat(out, " ", n - strlen(out) - 1);
    }
    CHECK_ST(st, YC_RETURN);
    return out;
}

TEST(stateful_stage_pulled_from_its_own_callback)
{
    /* accumulate, unique, groupby and flat_map keep state across their
     * callback: a pull from inside it is "already executing" (as for a
     * generator) and changes nothing; the outer pull goes on */
    static const yc_val fruit[] = {
        {{.s = "apple"}, YC_T_BYTES | (5u << 8)},
        {{.s = "avocado"}, YC_T_BYTES | (7u << 8)},
        {{.s = "fig"}, YC_T_BYTES | (3u << 8)},
    };
    char out[256];
    reentries = 0;
    reentered_stage = yc_iter_accumulate(yc_iter_array(fruit, 3), longer_pulling, NULL, NULL);
    CHECK_STR(drain(reentered_stage, out, sizeof out), "b'apple' b'avocado' b'avocado' ");
    yc_iter_free(reentered_stage);
    CHECK_EQ_INT(reentries, 2);

    reentries = 0;
    reentered_stage = yc_iter_unique(yc_iter_array(fruit, 3), first_letter_pulling, NULL);
    CHECK_STR(drain(reentered_stage, out, sizeof out), "b'apple' b'fig' ");
    yc_iter_free(reentered_stage);
    CHECK_EQ_INT(reentries, 3);

    reentries = 0;
    reentered_stage = yc_iter_groupby(yc_iter_array(fruit, 3), first_letter_pulling, NULL);
    CHECK_STR(drain(reentered_stage, out, sizeof out), "b'a' b'f' ");
    yc_iter_free(reentered_stage);
    CHECK_EQ_INT(reentries, 3);

    reentries = 0;
    reentered_stage = yc_iter_flat_map(yc_iter_array(fruit, 2), letters_pulling, NULL);
    CHECK_STR(drain(reentered_stage, out, sizeof out),
              "b'apple' b'apple' b'avocado' b'avocado' ");
    yc_iter_free(reentered_stage);
    CHECK_EQ_INT(reentries, 2);
}

static yc_val tripled_pulling(void *ctx, yc_val x)
{
    (void)ctx;
    yc_val v;
    if (x.i == 0) CHECK_ST(yc_iter_next(reentered_stage, &v), YC_YIELD); /* takes item 1 */
    return yc_int(x.i * 3);
}

TEST(stateless_stage_pulled_from_its_own_callback)
{
    /* map, filter, takewhile, dropwhile keep nothing across the callback:
     * as with CPython's map, the inner pull just takes the next item */
    char out[128];
    reentered_stage = yc_iter_map(yc_iter_range(0, 4, 1), tripled_pulling, NULL);
    CHECK_STR(drain(reentered_stage, out, sizeof out), "0 6 9 ");
    yc_iter_free(reentered_stage);
}

static yc_val tripled_pulling_then_freeing(void *ctx, yc_val x)
{
    (void)ctx;
    yc_val v;
    if (x.i == 0) {
        CHECK_ST(yc_iter_next(reentered_stage, &v), YC_YIELD); /* takes item 1 */
        yc_iter_free(reentered_stage); /* after the nested callback: still refused */
        CHECK_EXC(&yc_ValueError, "ValueError: map is already executing (called from its own callback)");
    }
    return yc_int(x.i * 3);
}

TEST(stateless_stage_freed_after_a_nested_pull_from_its_own_callback)
{
    char out[128];
    reentered_stage = yc_iter_map(yc_iter_range(0, 4, 1), tripled_pulling_then_freeing, NULL);
    CHECK_STR(drain(reentered_stage, out, sizeof out), "0 6 9 ");
    yc_iter_free(reentered_stage);
}

static const char reentered_flat_map[] =
    "ValueError: flat_map is already executing (called from its own callback)";

static yc_iter *close_and_free_own_stage(void *ctx, yc_val x)
{
    (void)ctx;
    reentries++;
    CHECK_ST(yc_iter_close(reentered_stage, NULL), YC_EBUSY);
    CHECK_EXC(&yc_ValueError, reentered_flat_map);
    yc_iter_free(reentered_stage); /* refused: nothing done, the error pending */
    CHECK_EXC(&yc_ValueError, reentered_flat_map);
    return yc_iter_repeat(x, 1);
}

TEST(stateful_stage_closed_or_freed_from_its_own_callback)
{
    char out[128];
    reentries = 0;
    reentered_stage = yc_iter_flat_map(yc_iter_range(0, 3, 1), close_and_free_own_stage, NULL);
    CHECK_STR(drain(reentered_stage, out, sizeof out), "0 1 2 ");
    CHECK_EQ_INT(reentries, 3);
    yc_iter_free(reentered_stage);
}

/* ======================================================================
 * Context managers over generators that are running
 * ==================================================================== */

static yc_val wrap_myself(void *arg)
{
    yc_cm **out = arg;
    *out = yc_cm_gen(yc_gen_current());
    CHECK_EXC(&yc_ValueError, "ValueError: yc_cm_gen: generator already executing");
    yc_yield(yc_int(1)); /* still running normally */
    return yc_int(2);
}

TEST(yc_cm_gen_running_generator)
{
    yc_cm *cm = (yc_cm *)&cm;
    yc_gen *g = yc_gen_new(wrap_myself, &cm, NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK(cm == NULL);
    CHECK_INTV(v, 1);
    /* not taken: the caller still owns g */
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_SUSPENDED);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_INTV(v, 2);
    CHECK_ST(yc_gen_free(g), YC_OK);
    CHECK_EQ_INT(live_gens(), 0);
}

TEST(yc_cm_gen_of_non_generator_manager)
{
    CHECK(yc_cm_gen_of(NULL) == NULL);
    yc_cm *cm = yc_cm_suppress(&yc_KeyError);
    CHECK(yc_cm_gen_of(cm) == NULL);
    yc_cm_free(cm);
}

/* ======================================================================
 * Owned values
 * ==================================================================== */

/* An allocator that counts, over malloc (compatible with the default). */
static long n_allocs, n_frees;

static void *counting_alloc(void *ud, void *p, size_t n)
{
    (void)ud;
    if (n == 0) {
        if (p) n_frees++;
        free(p);
        return NULL;
    }
    if (!p) n_allocs++;
    return realloc(p, n);
}

TEST(yc_val_copy_release_of_values_that_own_nothing)
{
    int x;
    yc_val plain[] = {YC_NONE, yc_bool(true), yc_int(-5), yc_float(2.5), yc_ptr(&x), yc_ptr(NULL),
                      yc_tuple_val(NULL)};
    n_allocs = n_frees = 0;
    yc_set_allocator(counting_alloc, NULL);
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        yc_val c = yc_val_copy(plain[i]);
        CHECK(c.i == plain[i].i && c.meta == plain[i].meta); /* itself */
        yc_val_release(c);                                   /* nothing to free */
        yc_val_release(plain[i]);
    }
    yc_set_allocator(NULL, NULL);
    CHECK_EQ_INT(n_allocs, 0);
    CHECK_EQ_INT(n_frees, 0);
    CHECK(yc_err_get() == NULL);
    CHECK_EQ_INT(x = 1, 1);
}

TEST(yc_val_copy_of_empty_bytes_owns_a_block)
{
    n_allocs = n_frees = 0;
    yc_set_allocator(counting_alloc, NULL);
    yc_val c = yc_val_copy(yc_bytes(NULL, 0)); /* an empty BYTES may have no pointer */
    CHECK_EQ_INT(yc_type_of(c), YC_T_BYTES);
    CHECK_EQ_INT(yc_len(c), 0);
    CHECK(c.s != NULL);
    yc_val_release(c);
    yc_set_allocator(NULL, NULL);
    CHECK_EQ_INT(n_allocs, 1);
    CHECK_EQ_INT(n_frees, 1);
}

/* ======================================================================
 * The allocator
 * ==================================================================== */

TEST(yc_set_allocator_with_live_objects)
{
    /* Blocks made before a change are released by the allocator in place
     * when they go: fine between allocators over the same heap, as here;
     * undefined otherwise (docs/misuse.md). */
    n_allocs = n_frees = 0;
    yc_set_allocator(counting_alloc, NULL);
    yc_exc *e = yc_exc_new(&yc_KeyError, "made under counting_alloc");
    yc_iter *it = yc_iter_range(0, 3, 1);
    yc_set_allocator(NULL, (void *)&n_allocs); /* NULL: malloc; ud ignored */
    long made = n_allocs;
    CHECK(made >= 3);
    yc_exc_unref(e);
    yc_iter_free(it);
    CHECK_EQ_INT(n_frees, 0); /* released through free(), not counting_alloc */
    CHECK_EQ_INT(live_excs(), 0);
}

/* ======================================================================
 * Exceptions: cycles, malformed types, NULL buffers
 * ==================================================================== */

TEST(yc_exc_set_cause_cycle_refused)
{
    /* e.__cause__ = e: refused (a reference cycle would never be freed);
     * the cause taken is released, e unchanged */
    yc_exc *e = yc_exc_new(&yc_KeyError, "k");
    yc_exc_set_cause(e, yc_exc_ref(e));
    CHECK(yc_exc_cause(e) == NULL);
    CHECK(!yc_exc_suppress_context(e));
    /* a.__cause__ = b, then b.__cause__ = a */
    yc_exc *a = yc_exc_new(&yc_ValueError, "a"), *b = yc_exc_new(&yc_TypeError, "b");
    yc_exc_set_cause(a, yc_exc_ref(b));
    CHECK(yc_exc_cause(a) == b);
    yc_exc_set_cause(b, yc_exc_ref(a));
    CHECK(yc_exc_cause(b) == NULL);
    /* through a context: c.__context__ = e (raised while handling e) */
    yc_exc *volatile c = NULL;
    YC_TRY {
        yc_raise(yc_exc_ref(e));
    } YC_EXCEPT_ANY {
        YC_TRY {
            yc_raisef(&yc_RuntimeError, "c");
        } YC_EXCEPT_ANY {
            c = yc_exc_ref(yc_exc_current());
        } YC_END;
    } YC_END;
    CHECK(yc_exc_context(c) == e);
    yc_exc_set_cause(e, yc_exc_ref(c));
    CHECK(yc_exc_cause(e) == NULL);
    char buf[64];
    yc_exc_format(e, buf, sizeof buf);
    CHECK_STR(buf, "KeyError: 'k'");
    yc_exc_unref(a);
    yc_exc_unref(b);
    yc_exc_unref(c);
    yc_exc_unref(e);
    CHECK_EQ_INT(live_excs(), 0);
}

TEST(raise_cause_while_handling_its_effect)
{
    /* c = KeyError(); try: raise ValueError from c  except: raise c
     * would make c.__context__ = the ValueError, whose __cause__ is c: the
     * context link that closes the cycle is not made */
    yc_exc *c = yc_exc_new(&yc_KeyError, "c");
    yc_exc *volatile v = NULL;
    YC_TRY {
        YC_TRY {
            yc_raise_from(yc_exc_new(&yc_ValueError, "v"), yc_exc_ref(c));
        } YC_EXCEPT(&yc_ValueError) {
            v = yc_exc_ref(yc_exc_current());
            yc_raise(yc_exc_ref(c));
        } YC_END;
    } YC_EXCEPT(&yc_KeyError) {
        CHECK(yc_exc_current() == c);
    } YC_END;
    CHECK(yc_exc_cause(v) == c);
    CHECK(yc_exc_context(c) == NULL);
    yc_exc_unref(v);
    yc_exc_unref(c);
    CHECK_EQ_INT(live_excs(), 0);
}

/* A chain of n exceptions, each raised from the previous one while
 * handling it (cause and context both the previous one, as in a loop of
 * "except E as x: raise F from x"); or, with mixed, each with a cause of
 * its own too. Returns the last; *first gets a reference to the first. */
static yc_exc *long_chain(int n, bool mixed, yc_exc **first)
{
    yc_exc *prev = yc_exc_new(&yc_KeyError, "0");
    *first = yc_exc_ref(prev);
    for (int i = 1; i < n; i++) {
        yc_exc *volatile next = NULL;
        YC_TRY {
            yc_raise(prev); /* prev is being handled below */
        } YC_EXCEPT_ANY {
            yc_exc *cause =
                mixed ? yc_exc_new(&yc_OSError, "side %d", i) : yc_exc_ref(yc_exc_current());
            YC_TRY {
                yc_raise_from(yc_exc_new(&yc_ValueError, "%d", i), cause);
            } YC_EXCEPT_ANY {
                next = yc_exc_ref(yc_exc_current());
            } YC_END;
        } YC_END;
        prev = next;
    }
    return prev;
}

TEST(exception_cycle_check_on_long_chains)
{
    for (int mixed = 0; mixed < 2; mixed++) {
        yc_exc *first, *last = long_chain(200, mixed, &first);
        CHECK(yc_exc_context(last) != NULL);
        yc_exc_set_cause(first, yc_exc_ref(last)); /* first is in last's chain */
        CHECK(yc_exc_cause(first) == NULL);
        yc_exc *other = yc_exc_new(&yc_TypeError, "other");
        yc_exc_set_cause(other, yc_exc_ref(last)); /* no cycle: accepted */
        CHECK(yc_exc_cause(other) == last);
        yc_exc_unref(other);
        yc_exc_unref(last);
        yc_exc_unref(first);
        CHECK_EQ_INT(live_excs(), 0);
    }
}

/* Types of the wrong shape: a base chain that loops, a NULL name. */
static yc_exc_type looping = {.name = "Looping"};
static const yc_exc_type unnamed = {.base = &yc_Exception};

TEST(exception_types_of_the_wrong_shape)
{
    looping.base = &looping; /* Looping(Looping): no BaseException at the root */
    CHECK(yc_type_is_subtype(&looping, &looping));
    CHECK(!yc_type_is_subtype(&looping, &yc_Exception)); /* ends, no hang */
    yc_exc *e = yc_exc_new(&looping, "x");
    CHECK(!yc_exc_is(e, &yc_BaseException));
    volatile int caught_here = 0;
    YC_TRY {
        YC_TRY {
            yc_raise(e);
        } YC_EXCEPT(&yc_Exception) { /* no match, and no hang */
            caught_here = 1;
        } YC_END;
    } YC_EXCEPT(&looping) {
        caught_here = 2;
    } YC_END;
    CHECK_EQ_INT(caught_here, 2);
    looping.base = NULL;

    CHECK(!yc_type_is_subtype(NULL, &yc_Exception));
    CHECK(!yc_type_is_subtype(&yc_KeyError, NULL));
    CHECK(!yc_exc_is(NULL, NULL));

    e = yc_exc_new(&unnamed, "m");
    char buf[64];
    CHECK_EQ_INT(yc_exc_format(e, buf, sizeof buf), 4);
    CHECK_STR(buf, "?: m");
    CHECK(yc_exc_is(e, &yc_Exception));
    yc_exc_unref(e);
}

TEST(format_into_a_null_buffer)
{
    /* buf NULL: only the length is computed, whatever n says */
    yc_exc *e = yc_exc_new(&yc_KeyError, "k");
    CHECK_EQ_INT(yc_exc_format(e, NULL, 100), 13);
    CHECK_EQ_INT(yc_exc_format(NULL, NULL, 100), 4);
    yc_exc_unref(e);
    CHECK_EQ_INT(yc_val_format(yc_int(12345), NULL, 100), 5);
    char buf[8] = "xxxxxxx";
    CHECK_EQ_INT(yc_val_format(yc_int(12345), buf, 0), 5); /* n 0: buf untouched */
    CHECK_STR(buf, "xxxxxxx");
}

TEST(empty_bytes_without_a_pointer)
{
    /* yc_bytes(NULL, 0) is an empty BYTES value */
    yc_val v = yc_bytes(NULL, 0);
    char buf[16];
    CHECK_EQ_INT(yc_val_format(v, buf, sizeof buf), 3);
    CHECK_STR(buf, "b''");
    CHECK(yc_val_eq(v, yc_str("")));
    CHECK(!yc_val_truthy(v));
    CHECK(yc_is_none(yc_str(NULL))); /* a NULL string is None */
}

/* ======================================================================
 * Iterators of the wrong shape
 * ==================================================================== */

static yc_val delegate_to(void *arg)
{
    volatile int raised = 0;
    YC_TRY {
        yc_yield_from((yc_iter *)arg);
    } YC_EXCEPT(&yc_TypeError) {
        note_caught();
        raised = 1;
    } YC_END;
    CHECK(raised);
    return YC_NONE;
}

TEST(iterator_type_without_next)
{
    yc_iter it = {&no_next_type};
    const char *msg = "TypeError: 'half_iterator' object is not an iterator";
    yc_val v = yc_int(7);
    CHECK_ST(yc_iter_next(&it, &v), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, msg);
    CHECK_INTV(v, 7);
    CHECK_ST(yc_iter_send(&it, YC_NONE, &v), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, msg);
    yc_val buf[4];
    size_t n = 9;
    CHECK_ST(yc_iter_next_batch(&it, buf, 4, &n), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, msg);
    CHECK_EQ_INT(n, 0);
    int st;
    int loops = 0;
    YC_FOREACH(x, &it, st) { (void)x; loops++; }
    CHECK_ST(st, YC_EINVAL);
    CHECK_EXC(&yc_TypeError, msg);
    CHECK_EQ_INT(loops, 0);
    int64_t count = -1;
    CHECK_ST(yc_iter_count(&it, &count), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, msg);
    CHECK_EQ_INT(count, -1);
    /* close and free of a type without them do nothing (documented) */
    CHECK_ST(yc_iter_close(&it, NULL), YC_OK);
    yc_iter_free(&it);
    /* yield from such an iterator raises it in the body */
    yc_gen *g = yc_gen_new(delegate_to, &it, NULL);
    CHECK_ST(yc_next(g, NULL), YC_RETURN);
    CHECK_STR(caught, msg);
    CHECK_ST(yc_gen_free(g), YC_OK);
    /* as a stage's upstream: the stage fails with it at the first pull */
    yc_iter *m = yc_iter_take(&it, 5);
    CHECK_ST(yc_iter_next(m, &v), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, msg);
    CHECK_ST(yc_iter_next(m, &v), YC_RETURN);
    yc_iter_free(m);
}

/* ======================================================================
 * Exit stacks freed while they unwind, or pushed onto themselves
 * ==================================================================== */

static char trace[256];

static void tr(const char *s)
{
    strncat(trace, s, sizeof trace - strlen(trace) - 1);
}

static void cb_note(void *arg) { tr((const char *)arg); }

static void cb_free_stack(void *arg)
{
    tr("free ");
    yc_exitstack_free(arg); /* the stack that is running this callback */
}

/* A manager that records its exit and its release. */
typedef struct note_cm {
    yc_cm cm;
    const char *name;
} note_cm;

static int note_enter(yc_cm *cm, yc_val *out)
{
    (void)cm;
    *out = YC_NONE;
    return YC_OK;
}

static int note_exit(yc_cm *cm, yc_exc *e)
{
    (void)e;
    tr("exit ");
    tr(((note_cm *)cm)->name);
    return YC_EXIT_PROPAGATE;
}

static void note_free(yc_cm *cm)
{
    tr("release ");
    tr(((note_cm *)cm)->name);
}

static const yc_cm_type note_type = {
    .name = "note", .enter = note_enter, .exit = note_exit, .free = note_free};

TEST(yc_exitstack_free_from_its_own_exit)
{
    /* As yc_exitstack_free says: the exits still on the stack do not run
     * and its managers are released; the memory goes when the unwinding
     * that runs the freeing exit ends. */
    note_cm a = {{&note_type}, "A "}, b = {{&note_type}, "B "};
    yc_exitstack *s = yc_exitstack_new();
    CHECK_ST(yc_exitstack_enter(s, &a.cm, NULL), YC_OK);
    CHECK_ST(yc_exitstack_callback(s, cb_note, "cb1 "), YC_OK);
    CHECK_ST(yc_exitstack_enter(s, &b.cm, NULL), YC_OK);
    CHECK_ST(yc_exitstack_callback(s, cb_free_stack, s), YC_OK);
    CHECK_ST(yc_exitstack_callback(s, cb_note, "cb2 "), YC_OK);
    trace[0] = '\0';
    CHECK_ST(yc_exitstack_close(s), YC_OK);
    CHECK_STR(trace, "cb2 free release B release A ");
    /* s is gone now */
}

TEST(yc_exitstack_freed_through_its_manager_while_unwinding)
{
    /* the same through the stack's own manager, with an exception pending */
    note_cm a = {{&note_type}, "A "};
    yc_exitstack *s = yc_exitstack_new();
    CHECK_ST(yc_exitstack_enter(s, &a.cm, NULL), YC_OK);
    CHECK_ST(yc_exitstack_callback(s, cb_free_stack, s), YC_OK);
    yc_exc *e = yc_exc_new(&yc_KeyError, "k");
    trace[0] = '\0';
    CHECK_ST(yc_cm_exit(yc_exitstack_cm(s), e), YC_EXIT_PROPAGATE);
    CHECK_STR(trace, "free release A ");
    yc_exc_unref(e);
}

TEST(yc_exitstack_pushed_onto_itself)
{
    /* refused, and not taken: the stack is not freed */
    yc_exitstack *s = yc_exitstack_new();
    CHECK_ST(yc_exitstack_callback(s, cb_note, "cb "), YC_OK);
    CHECK_ST(yc_exitstack_enter(s, yc_exitstack_cm(s), NULL), YC_EINVAL);
    CHECK_EXC(&yc_ValueError, "ValueError: an exit stack cannot be pushed onto itself");
    CHECK_ST(yc_exitstack_push_cm(s, yc_exitstack_cm(s)), YC_EINVAL);
    CHECK_EXC(&yc_ValueError, "ValueError: an exit stack cannot be pushed onto itself");
    CHECK_EQ_INT(yc_exitstack_size(s), 1);
    trace[0] = '\0';
    CHECK_ST(yc_exitstack_close(s), YC_OK);
    CHECK_STR(trace, "cb ");
    yc_exitstack_free(s);
}

/* ======================================================================
 * The rest of the audit: NULL and neutral arguments
 * ==================================================================== */

TEST(functions_without_arguments_outside_everything)
{
    /* nothing pending, nothing handled, no generator: neutral answers */
    CHECK(yc_err_get() == NULL);
    CHECK(yc_err_take() == NULL);
    yc_err_clear();
    CHECK(yc_exc_current() == NULL);
    CHECK(yc_gen_current() == NULL);
    CHECK(yc_config() != NULL && strstr(yc_config(), "switch=") != NULL);
    yc_stack_pool_trim();
    yc_stats_get(NULL); /* ignored */
    yc_exitstack *s = yc_exitstack_new();
    CHECK_EQ_INT(yc_exitstack_size(s), 0);
    yc_exitstack_free(s);
    CHECK(yc_err_get() == NULL);
}

TEST(yc_err_set_null_clears)
{
    yc_err_set(yc_exc_new(&yc_KeyError, "k"));
    CHECK(yc_err_get() != NULL);
    yc_err_set(NULL);
    CHECK(yc_err_get() == NULL);
    CHECK_EQ_INT(live_excs(), 0);
}

TEST(yc_except_null_type_never_matches)
{
    volatile int where = 0;
    YC_TRY {
        YC_TRY {
            yc_raisef(&yc_KeyError, "k");
        } YC_EXCEPT(NULL) {
            where = 1;
        } YC_END;
    } YC_EXCEPT(&yc_KeyError) {
        where = 2;
    } YC_END;
    CHECK_EQ_INT(where, 2);
}

TEST(yc_exc_new_errno_unknown_errno)
{
    yc_exc *e = yc_exc_new_errno(&yc_OSError, 99999, "x");
    char buf[128];
    yc_exc_format(e, buf, sizeof buf);
    CHECK_STR(buf, "OSError: [Errno 99999] Unknown error 99999: x");
    CHECK_EQ_INT(yc_exc_errno(e), 99999);
    yc_exc_unref(e);
}

TEST(yc_exc_traceback_null_count)
{
    yc_exc *volatile e = NULL;
    YC_TRY {
        yc_raisef(&yc_KeyError, "k");
    } YC_EXCEPT_ANY {
        e = yc_exc_ref(yc_exc_current());
    } YC_END;
    const yc_tb_entry *tb = yc_exc_traceback(e, NULL);
    CHECK(tb != NULL);
    CHECK(tb && tb[0].line > 0);
    yc_exc_unref(e);
}

static void print_to_null_file(void *arg)
{
    (void)arg;
    yc_exc *e = yc_exc_new(&yc_KeyError, "to stderr");
    yc_exc_print(e, NULL);
    yc_exc_unref(e);
    yc_exc_print(NULL, NULL);
}

TEST(yc_exc_print_null_file_is_stderr)
{
    char out[256];
    int st = test_in_child(print_to_null_file, NULL, out, sizeof out);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK_STR(out, "KeyError: 'to stderr'\nNone\n");
}

static void hook_noop(yc_exc *e, const char *obj, void *ud)
{
    (void)e;
    (void)obj;
    ++*(int *)ud;
}

static yc_val ignores_exit(void *arg)
{
    (void)arg;
    for (;;) {
        YC_TRY {
            yc_yield(YC_NONE);
        } YC_EXCEPT(&yc_GeneratorExit) {
        } YC_END;
    }
    return YC_NONE;
}

static void unraisable_after_reset(void *arg)
{
    int *calls = arg;
    yc_set_unraisable_hook(hook_noop, calls);
    yc_set_unraisable_hook(NULL, (void *)1); /* back to the default; ud dropped */
    yc_gen *g = yc_gen_new(ignores_exit, NULL, &(yc_gen_opts){.name = "stubborn"});
    yc_next(g, NULL);
    yc_gen_free(g); /* close fails: "generator ignored GeneratorExit" */
    fprintf(stderr, "calls=%d\n", *calls);
}

TEST(yc_set_unraisable_hook_null_restores_the_default)
{
    int calls = 0;
    char out[512];
    int st = test_in_child(unraisable_after_reset, &calls, out, sizeof out);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(strncmp(out, "Exception ignored in: <generator object stubborn at ", 52) == 0);
    CHECK(strstr(out, "RuntimeError: generator ignored GeneratorExit\ncalls=0\n") != NULL);
}

static void fatal_noop(yc_exc *e, void *ud)
{
    (void)e;
    (void)ud;
    fputs("custom\n", stderr);
}

static void fatal_after_reset(void *arg)
{
    (void)arg;
    yc_set_fatal_hook(fatal_noop, NULL);
    yc_set_fatal_hook(NULL, NULL); /* back to the default */
    yc_raisef(&yc_KeyError, "nobody catches this");
}

TEST(yc_set_fatal_hook_null_restores_the_default)
{
    char out[512];
    int st = test_in_child(fatal_after_reset, NULL, out, sizeof out);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
    CHECK(strstr(out, "custom") == NULL);
    CHECK(strstr(out, "yieldc: uncaught exception outside any generator (no YC_TRY):\n") == out);
    CHECK(strstr(out, "KeyError: 'nobody catches this'\n") != NULL);
}

TEST(yc_cm_enter_null_out)
{
    yc_cm *cm = yc_cm_suppress(&yc_KeyError);
    CHECK_ST(yc_cm_enter(cm, NULL), YC_OK);
    CHECK_ST(yc_cm_exit(cm, NULL), YC_EXIT_PROPAGATE);
    yc_cm_free(cm);
}

/* ======================================================================
 * The table itself: every public function has a row, and every test a
 * row names exists
 * ==================================================================== */

#ifdef YC_SOURCE_DIR

/* The whole file under the source tree, NUL-terminated (NULL if absent). */
static char *slurp(const char *rel)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", YC_SOURCE_DIR, rel);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += r;
        if (len + 1 == cap) buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    if (buf) buf[len] = '\0';
    return buf;
}

static bool is_ident(char c) { return isalnum((unsigned char)c) || c == '_'; }

/* word occurs in text as a whole identifier */
static bool has_word(const char *text, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = text; (p = strstr(p, word)) != NULL; p += n)
        if ((p == text || !is_ident(p[-1])) && !is_ident(p[n])) return true;
    return false;
}

static int check_header(const char *rel, const char *doc)
{
    char *h = slurp(rel);
    CHECK(h != NULL);
    if (!h) return 0;
    int found = 0;
    for (const char *p = h; (p = strstr(p, "YC_API")) != NULL; p += 6) {
        const char *paren = strchr(p, '('), *semi = strchr(p, ';');
        if (!paren || (semi && semi < paren)) continue;
        const char *e = paren;
        while (e > p && !is_ident(e[-1])) e--;
        const char *b = e;
        while (b > p && is_ident(b[-1])) b--;
        char name[128];
        size_t n = (size_t)(e - b);
        if (n == 0 || n >= sizeof name) continue;
        memcpy(name, b, n);
        name[n] = '\0';
        if (strncmp(name, "yc_", 3) != 0 || name[3] == '_') continue; /* macros, yc__ private */
        found++;
        if (!has_word(doc, name))
            test_fail(__FILE__, __LINE__, "docs/misuse.md has no row for %s", name);
    }
    free(h);
    return found;
}

/* Each name in a row's test cell is TEST(name) in the file it names. */
static void check_test_ref(const char *file, const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, "tests/%s", file);
    char *src = slurp(rel);
    if (!src) {
        test_fail(__FILE__, __LINE__, "docs/misuse.md names %s, which does not exist", rel);
        return;
    }
    char want[256];
    snprintf(want, sizeof want, "TEST(%s)", name);
    if (!strstr(src, want))
        test_fail(__FILE__, __LINE__, "docs/misuse.md names %s:%s, not in that file", file, name);
    free(src);
}

static int check_test_cells(const char *doc)
{
    int refs = 0;
    char line[4096];
    for (const char *p = doc; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (n < sizeof line && n > 2 && p[0] == '|' && p[1] == ' ') {
            memcpy(line, p, n);
            line[n] = '\0';
            char *end = strrchr(line, '|'); /* the row's last '|' */
            *end = '\0';
            char *cell = strrchr(line, '|') + 1; /* the test column */
            char file[128] = "";
            for (char *tok = strtok(cell, ",;"); tok; tok = strtok(NULL, ",;")) {
                while (*tok == ' ') tok++;
                char *paren = strstr(tok, " (");
                if (paren) *paren = '\0';
                size_t tl = strlen(tok);
                while (tl && tok[tl - 1] == ' ') tok[--tl] = '\0';
                char *colon = strstr(tok, ".c:");
                if (colon) {
                    size_t fl = (size_t)(colon + 2 - tok);
                    memcpy(file, tok, fl);
                    file[fl] = '\0';
                    tok = colon + 3;
                }
                bool ident = *tok != '\0';
                for (char *q = tok; *q; q++) ident &= is_ident(*q);
                if (!ident || !*file || strcmp(tok, "none") == 0) continue;
                check_test_ref(file, tok);
                refs++;
            }
        }
        p += n + (nl ? 1 : 0);
    }
    return refs;
}

TEST(misuse_table_covers_the_public_api)
{
    char *doc = slurp("docs/misuse.md");
    if (!doc) { /* a build that cannot see the source tree */
        fprintf(stderr, "  (docs/misuse.md not found under %s: not checked)\n", YC_SOURCE_DIR);
        return;
    }
    int n = check_header("include/yieldc.h", doc) + check_header("include/yieldc/with.h", doc) +
            check_header("include/yieldc/iter.h", doc) + check_header("include/yieldc/loop.h", doc) +
            check_header("include/yieldc/io.h", doc) +
            check_header("include/yieldc/thread.h", doc) +
            check_header("include/yieldc/subprocess.h", doc);
    CHECK(n >= 250);
    CHECK(!strstr(doc, "## Not covered yet"));
    CHECK(check_test_cells(doc) >= 150);
    free(doc);
}
#endif

TEST_MAIN()
