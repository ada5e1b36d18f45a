/* Helpers shared by the pipeline tests (test_pipe_*.c, test_sources.c,
 * conformance/test_sec10_*.c): a generator source that records whether its
 * finally block ran, pulling helpers for the per-item and the block path,
 * and traceback checks. */
#ifndef TEST_PIPE_UTIL_H
#define TEST_PIPE_UTIL_H

#include "test.h"

/* A generator source over ints [0, n) (or the values in `vals`) that counts
 * its finally blocks and the items it produced. */
typedef struct tsrc {
    int64_t n;
    const int64_t *vals;
    int finally_runs;
    int produced;
    int raise_at; /* raise ValueError("source failed") before this item; -1: never */
} tsrc;

static yc_val tsrc_body(void *arg)
{
    tsrc *t = arg;
    YC_TRY {
        for (int64_t i = 0; i < t->n; i++) {
            if (i == t->raise_at) yc_raisef(&yc_ValueError, "source failed");
            t->produced++;
            yc_yield(yc_int(t->vals ? t->vals[i] : i));
        }
    } YC_FINALLY {
        t->finally_runs++;
    } YC_END;
    return YC_NONE;
}

static inline void tsrc_init(tsrc *t, int64_t n)
{
    memset(t, 0, sizeof *t);
    t->n = n;
    t->raise_at = -1;
}

static inline yc_iter *tsrc_iter(tsrc *t)
{
    yc_gen_opts o = {.name = "tsrc"};
    return yc_iter_gen(tsrc_body, t, &o);
}

/* Pulls everything item by item (yc_iter_next) into out[0..max); returns
 * the final status, *n the count. Ints only (others stored as -999). */
static inline int pull_all(yc_iter *it, int64_t *out, size_t max, size_t *n)
{
    yc_val v;
    int st;
    *n = 0;
    while ((st = yc_iter_next(it, &v)) == YC_YIELD) {
        if (*n < max) out[*n] = yc_type_of(v) == YC_T_INT ? v.i : -999;
        (*n)++;
    }
    return st;
}

/* The same through yc_iter_next_batch with blocks of cap. */
static inline int pull_all_batch(yc_iter *it, size_t cap, int64_t *out, size_t max, size_t *n)
{
    yc_val buf[64];
    if (cap > 64) cap = 64;
    int st;
    *n = 0;
    for (;;) {
        size_t k = 99;
        st = yc_iter_next_batch(it, buf, cap, &k);
        for (size_t i = 0; i < k; i++) {
            if (*n < max) out[*n] = yc_type_of(buf[i]) == YC_T_INT ? buf[i].i : -999;
            (*n)++;
        }
        if (st != YC_YIELD) break;
        if (k == 0) {
            test_fail(__FILE__, __LINE__, "next_batch returned YC_YIELD with no value");
            break;
        }
    }
    return st;
}

/* Whether e's traceback has an entry File "<pipeline>" ... in `name`. */
static inline bool tb_has_stage(const yc_exc *e, const char *name)
{
    size_t n;
    const yc_tb_entry *tb = yc_exc_traceback(e, &n);
    for (size_t i = 0; i < n; i++)
        if (tb[i].file && strcmp(tb[i].file, "<pipeline>") == 0 && tb[i].func &&
            strcmp(tb[i].func, name) == 0)
            return true;
    return false;
}

/* Takes the pending exception, checks its text and that the traceback names
 * the stage. */
#define CHECK_EXC_STAGE(type, text, stage)                                    \
    do {                                                                      \
        yc_exc *ce_ = yc_err_get();                                           \
        if (ce_ && !tb_has_stage(ce_, (stage)))                               \
            test_fail(__FILE__, __LINE__, "traceback does not name stage %s", (stage)); \
        CHECK_EXC((type), (text));                                            \
    } while (0)

#define CHECK_INTS(got, n, ...)                                               \
    do {                                                                      \
        const int64_t want_[] = {__VA_ARGS__};                                \
        size_t wn_ = sizeof want_ / sizeof want_[0];                          \
        if ((size_t)(n) != wn_) {                                             \
            test_fail(__FILE__, __LINE__, "%s: %zu items, want %zu", #got, (size_t)(n), wn_); \
        } else {                                                              \
            for (size_t i_ = 0; i_ < wn_; i_++)                               \
                if ((got)[i_] != want_[i_]) {                                 \
                    test_fail(__FILE__, __LINE__, "%s[%zu] = %lld, want %lld", #got, i_, \
                              (long long)(got)[i_], (long long)want_[i_]);    \
                    break;                                                    \
                }                                                             \
        }                                                                     \
    } while (0)

/* A temporary file with the given contents; returns its path (static
 * buffer per call site is the caller's). */
static inline void tmp_file(char *path, size_t n, const void *data, size_t len)
{
    snprintf(path, n, "/tmp/yc_pipe_test_XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0) {
        test_fail(__FILE__, __LINE__, "mkstemp failed");
        return;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, (const char *)data + off, len - off);
        if (w <= 0) break;
        off += (size_t)w;
    }
    close(fd);
}

/* The int64 block callbacks of the map/filter pipeline the tests and the
 * benchmark use: x * 3 in place, then the values not divisible by 7. */
static inline void i64_triple(void *ctx, int64_t *xs, size_t n)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++) xs[i] *= 3;
}

static inline size_t i64_not7(void *ctx, int64_t *xs, size_t n)
{
    (void)ctx;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        xs[j] = xs[i];
        j += xs[i] % 7 != 0;
    }
    return j;
}

#endif
