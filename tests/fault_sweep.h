/*
 * The fault-injection sweep shared by the sweep tests (test_faults.c,
 * test_loop_faults.c): for every public operation that allocates, the Nth
 * allocation fails (mode "once": only the Nth; mode "sticky": the Nth and
 * every one after it), for N = 1, 2, ... until the operation completes
 * without meeting a failure. At every N:
 *   - no crash;
 *   - the operation either succeeds with exactly the result it has without
 *     failures (its "fingerprint"), or fails with MemoryError (or the
 *     exception the operation documents) surfacing through the normal
 *     status / exception path;
 *   - nothing pending afterwards, no live generator, exception, task or
 *     loop (yc_stats), and every block the library allocated was freed (a
 *     counting allocator: mallocs == frees).
 * A cap on N fails the sweep if the operation never completes.
 */
#ifndef YC_FAULT_SWEEP_H
#define YC_FAULT_SWEEP_H
#include "test.h"

#include <stdarg.h>

/* ---- the counting, failing allocator --------------------------------------- */

typedef struct fcounter {
    long calls;   /* allocation requests (n > 0) */
    long mallocs; /* successful allocations of a new block (p == NULL) */
    long frees;   /* blocks released (n == 0, p != NULL) */
    long fail_at; /* the request that fails (from 1; 0: none) */
    int sticky;   /* every request after fail_at fails too */
    long failed;  /* requests that failed */
} fcounter;

static fcounter fc;

static void *fault_alloc(void *ud, void *p, size_t n)
{
    fcounter *c = ud;
    if (n == 0) {
        if (p) c->frees++;
        free(p);
        return NULL;
    }
    c->calls++;
    if (c->fail_at && (c->calls == c->fail_at || (c->sticky && c->calls > c->fail_at))) {
        c->failed++;
        return NULL;
    }
    void *q = realloc(p, n);
    if (q && !p) c->mallocs++;
    return q;
}

static void fault_begin(long fail_at, int sticky)
{
    memset(&fc, 0, sizeof fc);
    fc.fail_at = fail_at;
    fc.sticky = sticky;
    yc_set_allocator(fault_alloc, &fc);
}

static void fault_end(void) { yc_set_allocator(NULL, NULL); }

/* ---- what an operation reports ------------------------------------------------ */

static char fp[4096];  /* fingerprint of the result */
static size_t fp_len;
static yc_exc *g_err;  /* the error the operation failed with (owned) */
static int g_noexc;    /* an error status came with nothing pending */
static int unraisables;

static void fp_add(const char *fmt, ...) YC_PRINTF(1, 2);
static void fp_add(const char *fmt, ...)
{
    if (fp_len >= sizeof fp - 1) return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(fp + fp_len, sizeof fp - fp_len, fmt, ap);
    va_end(ap);
    if (k > 0) fp_len += (size_t)k;
    if (fp_len > sizeof fp - 1) fp_len = sizeof fp - 1;
}

static void fp_val(yc_val v)
{
    const yc_tuple *t = yc_tuple_of(v);
    if (t) {
        fp_add("(");
        for (size_t i = 0; i < t->len; i++) {
            if (i) fp_add(",");
            fp_val(t->items[i]);
        }
        fp_add(")");
        return;
    }
    char buf[256];
    yc_val_format(v, buf, sizeof buf);
    fp_add("%s ", buf);
}

static void fp_exc(const yc_exc *e)
{
    char buf[256];
    yc_exc_format(e, buf, sizeof buf);
    fp_add("[%s]", buf);
}

/* The operation failed: keeps the pending error (the first one) in g_err.
 * Returns -1. */
static int failed(void)
{
    yc_exc *e = yc_err_take();
    if (!e) {
        g_noexc = 1;
    } else if (!g_err) {
        g_err = e;
    } else {
        yc_exc_unref(e);
    }
    return -1;
}

/* The operation got exception e (a new reference): MemoryError is a
 * failure, anything else is part of the result. */
static int got_exc(yc_exc *e)
{
    if (yc_exc_is(e, &yc_MemoryError)) {
        if (!g_err) g_err = e;
        else yc_exc_unref(e);
        return -1;
    }
    fp_exc(e);
    yc_exc_unref(e);
    return 0;
}

static void count_unraisable(yc_exc *e, const char *obj, void *ud)
{
    (void)e;
    (void)obj;
    (void)ud;
    unraisables++;
}

/* ---- the sweep ----------------------------------------------------------------- */

typedef struct fault_op {
    const char *name;
    int (*fn)(void);           /* 0: completed (fingerprint written); -1: failed */
    const yc_exc_type *alt;    /* another exception a failure may surface as */
} fault_op;

#define FAULT_CAP 400L

static long sweep_total_rounds;

static void sweep(const fault_op *op, int sticky)
{
    static char base[sizeof fp];
    const char *mode = sticky ? "sticky" : "once";
    yc_set_unraisable_hook(count_unraisable, NULL);

    /* baseline: no failure */
    fp_len = 0;
    fp[0] = 0;
    g_err = NULL;
    g_noexc = 0;
    fault_begin(0, 0);
    int r = op->fn();
    long base_calls = fc.calls;
    if (r != 0) {
        char buf[256] = "none";
        if (g_err) yc_exc_format(g_err, buf, sizeof buf);
        test_fail(__FILE__, __LINE__, "%s: fails without injected failures (%s)", op->name, buf);
        yc_exc_unref(g_err);
        g_err = NULL;
        yc_err_clear();
        fault_end();
        yc_set_unraisable_hook(NULL, NULL);
        return;
    }
    fault_end();
    if (fc.mallocs != fc.frees)
        test_fail(__FILE__, __LINE__, "%s: baseline leaks %ld block(s)", op->name,
                  fc.mallocs - fc.frees);
    memcpy(base, fp, sizeof fp);

    long n;
    for (n = 1; n <= FAULT_CAP; n++) {
        fp_len = 0;
        fp[0] = 0;
        g_err = NULL;
        g_noexc = 0;
        fault_begin(n, sticky);
        r = op->fn();
        sweep_total_rounds++;
        if (r < 0) {
            if (g_noexc)
                test_fail(__FILE__, __LINE__, "%s %s N=%ld: error status with no exception pending",
                          op->name, mode, n);
            if (!fc.failed)
                test_fail(__FILE__, __LINE__, "%s %s N=%ld: failed with no injected failure",
                          op->name, mode, n);
            if (g_err && !yc_exc_is(g_err, &yc_MemoryError) &&
                !(op->alt && yc_exc_is(g_err, op->alt))) {
                char buf[256];
                yc_exc_format(g_err, buf, sizeof buf);
                test_fail(__FILE__, __LINE__, "%s %s N=%ld: failed with \"%s\", want MemoryError",
                          op->name, mode, n, buf);
            }
        } else if (strcmp(fp, base) != 0) {
            test_fail(__FILE__, __LINE__, "%s %s N=%ld: completed with \"%s\", want \"%s\"",
                      op->name, mode, n, fp, base);
        }
        /* released through the counting allocator that made them */
        yc_exc_unref(g_err);
        g_err = NULL;
        yc_exc *pending = yc_err_take();
        if (pending) {
            char buf[256];
            yc_exc_format(pending, buf, sizeof buf);
            test_fail(__FILE__, __LINE__, "%s %s N=%ld: left pending \"%s\"", op->name, mode, n,
                      buf);
            yc_exc_unref(pending);
        }
        fault_end();
        if (fc.mallocs != fc.frees)
            test_fail(__FILE__, __LINE__, "%s %s N=%ld: leaked %ld heap block(s)", op->name, mode,
                      n, fc.mallocs - fc.frees);
        yc_stats s;
        yc_stats_get(&s);
        if (s.generators || s.exceptions || s.tasks || s.loops) {
            test_fail(__FILE__, __LINE__,
                      "%s %s N=%ld: %ld generator(s), %ld exception(s), %ld task(s), %ld loop(s) "
                      "alive",
                      op->name, mode, n, s.generators, s.exceptions, s.tasks, s.loops);
            break; /* later rounds would only repeat it */
        }
        if (!fc.failed) break;
    }
    if (n > FAULT_CAP)
        test_fail(__FILE__, __LINE__, "%s %s: still failing at N=%ld (cap)", op->name, mode,
                  FAULT_CAP);
    if (getenv("YC_FAULTS_VERBOSE"))
        fprintf(stderr, "  %-22s %-6s %3ld allocation(s), %ld round(s): %.70s\n", op->name,
                mode, base_calls, n, base);
    yc_set_unraisable_hook(NULL, NULL);
}

static void sweep_all(const fault_op *ops, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        sweep(&ops[i], 0);
        sweep(&ops[i], 1);
    }
}

#endif
