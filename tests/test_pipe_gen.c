/* Generator stages (yc_iter_stage / yc_iter_source with yc_stage_pull and
 * yc_stage_emit, or plain yc_yield), pipelines packaged as functions, and
 * closing: the last stage closes everything upstream, also when an error
 * stops it. */
#include "test_pipe_util.h"

typedef struct gctx {
    int64_t n;        /* source: how many */
    int produced;     /* source: items emitted */
    int finally_runs;
    int64_t raise_on; /* raise ValueError when this value passes; -1: never */
} gctx;

static yc_val src_body(yc_stage *s, void *ctx)
{
    gctx *c = ctx;
    YC_TRY {
        for (int64_t i = 0; i < c->n; i++) {
            c->produced++;
            yc_stage_emit(s, yc_int(i));
        }
    } YC_FINALLY {
        c->finally_runs++;
    } YC_END;
    return YC_NONE;
}

static yc_val sq_body(yc_stage *s, void *ctx)
{
    gctx *c = ctx;
    YC_TRY {
        yc_val v;
        while (yc_stage_pull(s, &v)) {
            if (v.i == c->raise_on) yc_raisef(&yc_ValueError, "stage failed at %lld", (long long)v.i);
            yc_stage_emit(s, yc_int(v.i * v.i));
        }
    } YC_FINALLY {
        c->finally_runs++;
    } YC_END;
    return YC_NONE;
}

static yc_val odd_body(yc_stage *s, void *ctx)
{
    (void)ctx;
    yc_val v;
    while (yc_stage_pull(s, &v))
        if (v.i % 2) yc_stage_emit(s, v);
    return YC_NONE;
}

/* The plain style: yc_iter_next on the upstream and yc_yield. */
static yc_val plus1_body(yc_stage *s, void *ctx)
{
    (void)ctx;
    yc_val v;
    int st;
    while ((st = yc_iter_next(yc_stage_upstream(s), &v)) == YC_YIELD) yc_yield(yc_int(v.i + 1));
    YC_CHECK(st);
    return YC_NONE;
}

static yc_iter *gen_pipeline(gctx *a, gctx *b)
{
    yc_gen_opts so = {.name = "numbers"}, qo = {.name = "squares"}, oo = {.name = "odds"};
    return yc_iter_stage(yc_iter_stage(yc_iter_source(src_body, a, &so), sq_body, b, &qo), odd_body,
                         NULL, &oo);
}

TEST(generator_stages_per_item_and_in_blocks)
{
    for (int path = 0; path < 2; path++) {
        gctx a = {1000, 0, 0, -1}, b = {0, 0, 0, -1};
        yc_iter *p = gen_pipeline(&a, &b);
        CHECK(p != NULL);
        int64_t got[600];
        size_t n;
        int st = path ? pull_all_batch(p, 64, got, 600, &n) : pull_all(p, got, 600, &n);
        CHECK_ST(st, YC_RETURN);
        CHECK_EQ_INT(n, 500);
        bool ok = n == 500;
        for (size_t i = 0; ok && i < n; i++) ok = got[i] == (int64_t)(2 * i + 1) * (int64_t)(2 * i + 1);
        CHECK(ok);
        CHECK_EQ_INT(a.finally_runs, 1);
        CHECK_EQ_INT(b.finally_runs, 1);
        yc_iter_free(p);
    }
}

/* Per item, a pull runs each generator stage only as far as one output
 * needs (python-semantics 10.5). */
TEST(generator_stages_are_lazy_per_item)
{
    gctx a = {1000, 0, 0, -1}, b = {0, 0, 0, -1};
    yc_iter *p = gen_pipeline(&a, &b);
    CHECK_EQ_INT(a.produced, 0); /* nothing ran when built */
    yc_val v;
    CHECK_ST(yc_iter_next(p, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_EQ_INT(a.produced, 2); /* 0 (squared: even, dropped) and 1 */
    CHECK_ST(yc_iter_next(p, &v), YC_YIELD);
    CHECK_INTV(v, 9);
    CHECK_EQ_INT(a.produced, 4);
    CHECK_ST(yc_iter_close(p, NULL), YC_OK);
    CHECK_EQ_INT(a.finally_runs, 1);
    CHECK_EQ_INT(b.finally_runs, 1);
    CHECK_ST(yc_iter_next(p, &v), YC_RETURN);
    yc_iter_free(p);
}

TEST(plain_yield_stages_mix_with_emit_stages)
{
    gctx a = {10, 0, 0, -1};
    yc_iter *p = yc_iter_stage(yc_iter_source(src_body, &a, NULL), plus1_body, NULL, NULL);
    p = yc_iter_stage(p, odd_body, NULL, NULL);
    int64_t got[16];
    size_t n;
    CHECK_ST(pull_all_batch(p, 8, got, 16, &n), YC_RETURN);
    CHECK_INTS(got, n, 1, 3, 5, 7, 9);
    yc_iter_free(p);
}

TEST(error_in_a_generator_stage_closes_the_rest)
{
    for (int path = 0; path < 2; path++) {
        gctx a = {1000, 0, 0, -1}, b = {0, 0, 0, 7};
        yc_iter *p = gen_pipeline(&a, &b);
        int64_t got[600];
        size_t n;
        int st = path ? pull_all_batch(p, 64, got, 600, &n) : pull_all(p, got, 600, &n);
        CHECK_ST(st, YC_RAISE);
        yc_exc *e = yc_err_get();
        size_t ntb;
        const yc_tb_entry *tb = yc_exc_traceback(e, &ntb);
        CHECK(ntb >= 1 && tb[0].where && strcmp(tb[0].where, "squares") == 0);
        CHECK_EXC_STAGE(&yc_ValueError, "ValueError: stage failed at 7", "stage");
        CHECK_EQ_INT(a.finally_runs, 1); /* the source generator was closed */
        CHECK_EQ_INT(b.finally_runs, 1);
        CHECK(a.produced < 1000);
        CHECK_ST(yc_iter_next(p, NULL), YC_RETURN);
        yc_iter_free(p);
    }
}

/* A stage pulling lines through a 5-byte buffer: the values of one block
 * are never invalidated by a refill within the same pull. */
static yc_val pass_body(yc_stage *s, void *ctx)
{
    (void)ctx;
    yc_val v;
    while (yc_stage_pull(s, &v)) yc_stage_emit(s, v);
    return YC_NONE;
}

TEST(stage_blocks_never_mix_two_upstream_pulls)
{
    char path[64];
    char text[400];
    size_t w = 0;
    for (int i = 0; i < 50; i++) w += (size_t)snprintf(text + w, sizeof text - w, "L%02d\n", i);
    tmp_file(path, sizeof path, text, w);
    yc_io_opts o = {.buf_size = 5, .flags = YC_IO_STRIP};
    yc_iter *p = yc_iter_stage(yc_iter_lines_path(path, &o), pass_body, NULL, NULL);
    yc_val buf[32];
    size_t n, seen = 0;
    int st;
    do {
        st = yc_iter_next_batch(p, buf, 32, &n);
        for (size_t i = 0; i < n; i++) {
            char want[8];
            snprintf(want, sizeof want, "L%02zu", seen + i);
            CHECK(yc_len(buf[i]) == 3 && memcmp(buf[i].s, want, 3) == 0);
        }
        seen += n;
    } while (st == YC_YIELD);
    CHECK_ST(st, YC_RETURN);
    CHECK_EQ_INT(seen, 50);
    yc_iter_free(p);
    unlink(path);
}

static yc_stage *stolen;

static yc_val steal_body(yc_stage *s, void *ctx)
{
    (void)ctx;
    stolen = s;
    return YC_NONE;
}

TEST(emit_outside_its_body_raises)
{
    yc_iter *p = yc_iter_source(steal_body, NULL, NULL);
    CHECK_ST(yc_iter_next(p, NULL), YC_RETURN);
    volatile int caught = 0;
    YC_TRY {
        yc_stage_emit(stolen, yc_int(1));
    } YC_EXCEPT(&yc_RuntimeError) {
        caught = 1;
    } YC_END;
    CHECK(caught);
    yc_iter_free(p);
    CHECK(yc_iter_stage(NULL, pass_body, NULL, NULL) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: stage: upstream iterator is NULL");
    CHECK(yc_iter_stage(yc_iter_range(0, 1, 1), NULL, NULL, NULL) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: stage: the body function is NULL");
}

/* ---- pipelines as functions ------------------------------------------------ */

typedef struct parse_ctx {
    int64_t bad_value; /* a record with this value raises */
    int parsed;
} parse_ctx;

static yc_val parse_int(void *ctx, yc_val line)
{
    parse_ctx *c = ctx;
    char tmp[32];
    size_t n = yc_len(line) < 31 ? yc_len(line) : 31;
    memcpy(tmp, line.s, n);
    tmp[n] = '\0';
    char *end;
    long long v = strtoll(tmp, &end, 10);
    if (end == tmp) yc_raisef(&yc_ValueError, "not a number: '%s'", tmp);
    if (v == c->bad_value) yc_raisef(&yc_ValueError, "bad value %lld", v);
    c->parsed++;
    return yc_int(v);
}

static bool positive(void *ctx, yc_val x)
{
    (void)ctx;
    return x.i > 0;
}

/* A reusable pipeline: takes an iterator of lines, returns one of the
 * positive numbers in them. Built once per use, like a generator function. */
static yc_iter *positive_numbers(yc_iter *lines, parse_ctx *c)
{
    return yc_iter_filter(yc_iter_map(lines, parse_int, c), positive, NULL);
}

TEST(pipeline_function_reused_over_two_sources)
{
    char p1[64], p2[64];
    const char *t1 = "3\n-1\n4\n", *t2 = "10\n0\n20\n";
    tmp_file(p1, sizeof p1, t1, strlen(t1));
    tmp_file(p2, sizeof p2, t2, strlen(t2));
    parse_ctx c = {-999, 0};
    yc_iter *a = positive_numbers(yc_iter_lines_path(p1, NULL), &c);
    yc_iter *b = positive_numbers(yc_iter_lines_path(p2, NULL), &c);
    yc_val s1, s2;
    CHECK_ST(yc_iter_sum(a, yc_int(0), &s1), YC_OK);
    CHECK_ST(yc_iter_sum(b, yc_int(0), &s2), YC_OK);
    CHECK_INTV(s1, 7);
    CHECK_INTV(s2, 30);
    CHECK_EQ_INT(c.parsed, 6);
    yc_iter_free(a);
    yc_iter_free(b);
    unlink(p1);
    unlink(p2);
}

TEST(files_and_generators_upstream_are_closed_when_freed)
{
    char path[64];
    const char *text = "1\n2\n3\nx\n5\n6\n";
    tmp_file(path, sizeof path, text, strlen(text));
    int fd = open(path, O_RDONLY);
    yc_io_opts o = {.flags = YC_IO_CLOSE, .buf_size = 4};
    gctx g = {0, 0, 0, -1};
    parse_ctx c = {-999, 0};
    /* lines(fd) -> generator stage -> map(parse) -> filter -> sum */
    yc_iter *p = positive_numbers(yc_iter_stage(yc_iter_lines_fd(fd, &o), pass_body, &g, NULL), &c);
    yc_iter_free(p);
    CHECK(fcntl(fd, F_GETFD) == -1); /* freed unpulled: the fd went with it */

    fd = open(path, O_RDONLY);
    yc_gen_opts go = {.name = "passer"};
    yc_iter *stage = yc_iter_stage(yc_iter_lines_fd(fd, &o), pass_body, NULL, &go);
    p = positive_numbers(stage, &c);
    yc_val out;
    CHECK_ST(yc_iter_sum(p, yc_int(0), &out), YC_RAISE);
    CHECK_EXC_STAGE(&yc_ValueError, "ValueError: not a number: 'x\n'", "map");
    /* map goes on after its callback raised, as CPython's does
     * (sum(map(parse, lines)) raises; the map object stays usable): the
     * file is still open and the next pull parses the line after 'x' */
    CHECK(fcntl(fd, F_GETFD) != -1);
    CHECK_ST(yc_iter_next(p, &out), YC_YIELD);
    CHECK_INTV(out, 5);
    yc_iter_free(p);
    CHECK(fcntl(fd, F_GETFD) == -1); /* freeing it closed the file */
    unlink(path);
}

TEST(closing_the_last_stage_runs_every_finally)
{
    gctx a = {100, 0, 0, -1}, b = {0, 0, 0, -1};
    yc_gen_opts so = {.name = "numbers"};
    yc_iter *p = yc_iter_stage(yc_iter_source(src_body, &a, &so), sq_body, &b, NULL);
    p = yc_iter_map(p, NULL, NULL); /* fails: and frees what it was given */
    CHECK(p == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: map: the function is NULL");
    /* the map constructor freed everything it was given: no generator left */
    yc_stats st;
    yc_stats_get(&st);
    CHECK_EQ_INT(st.generators, 0);
    CHECK_EQ_INT(a.finally_runs, 0); /* never started: nothing to run */

    a = (gctx){100, 0, 0, -1};
    b = (gctx){0, 0, 0, -1};
    p = yc_iter_take(yc_iter_stage(yc_iter_source(src_body, &a, &so), sq_body, &b, NULL), 5);
    yc_val v;
    CHECK_ST(yc_iter_next(p, &v), YC_YIELD);
    yc_iter_free(p); /* free closes: both finally blocks run */
    CHECK_EQ_INT(a.finally_runs, 1);
    CHECK_EQ_INT(b.finally_runs, 1);
}

/* A body that emits from a finally block while it is being closed: closing
 * reports it as Python reports a yield during close. */
static yc_val stubborn_body(yc_stage *s, void *ctx)
{
    (void)ctx;
    YC_TRY {
        yc_stage_emit(s, yc_int(1));
    } YC_FINALLY {
        yc_stage_emit(s, yc_int(2));
    } YC_END;
    return YC_NONE;
}

static void unraisable_count(yc_exc *e, const char *obj, void *ud)
{
    (void)e;
    (void)obj;
    (*(int *)ud)++;
}

TEST(emit_while_closing_is_an_ignored_generatorexit)
{
    yc_iter *p = yc_iter_source(stubborn_body, NULL, NULL);
    CHECK_ST(yc_iter_next(p, NULL), YC_YIELD);
    CHECK_ST(yc_iter_close(p, NULL), YC_RAISE);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: generator ignored GeneratorExit");
    int n = 0;
    yc_set_unraisable_hook(unraisable_count, &n);
    yc_iter_free(p); /* the abandoned generator is still freed */
    yc_set_unraisable_hook(NULL, NULL);
}

TEST_MAIN()
