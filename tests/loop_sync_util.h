/*
 * Shared by test_loop_queue.c and test_loop_locks.c: a trace that tasks
 * append tokens to (compared with CPython's, from tests/loop_sync_oracle.py),
 * running a main task on a virtual-clock loop, spawning and gathering
 * tasks, the tails of reprs, and an allocator that fails on request.
 */
#ifndef LOOP_SYNC_UTIL_H
#define LOOP_SYNC_UTIL_H

#include "test.h"

#include <stdarg.h>

#define UTIL_FN __attribute__((unused)) static

static char trace[8192];
static size_t trace_len;

static void tr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
UTIL_FN void tr(const char *fmt, ...)
{
    if (trace_len && trace_len + 1 < sizeof trace) trace[trace_len++] = ' ';
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(trace + trace_len, sizeof trace - trace_len, fmt, ap);
    va_end(ap);
    if (k > 0) trace_len += (size_t)k;
    if (trace_len >= sizeof trace) trace_len = sizeof trace - 1;
}

UTIL_FN void tr_reset(void)
{
    trace[0] = '\0';
    trace_len = 0;
}

static const yc_loop_opts vclock = {.clock = YC_CLOCK_VIRTUAL};

/* asyncio.run(fn(arg)) on a virtual clock, expecting a normal return; the
 * trace starts empty. */
UTIL_FN void run_main(yc_gen_fn fn, void *arg)
{
    tr_reset();
    CHECK_ST(yc_loop_run(fn, arg, &vclock, NULL), YC_OK);
}

#define IARG(i) ((void *)(intptr_t)(i))
#define ARGI(p) ((int)(intptr_t)(p))

UTIL_FN yc_task *spawn(yc_gen_fn fn, void *arg)
{
    yc_task *t = yc_task_spawn(fn, arg, NULL);
    CHECK(t != NULL);
    return t;
}

/* gather(*ts, return_exceptions=True), then the references dropped. */
UTIL_FN void gather_unref(yc_task **ts, size_t n)
{
    yc_gather(ts, n, YC_RETURN_EXCEPTIONS);
    for (size_t i = 0; i < n; i++) yc_task_unref(ts[i]);
}

/* A queue's repr without "<Queue at 0x... " (Python: split(" ", 3)[3]). */
UTIL_FN const char *queue_tail(const yc_queue *q)
{
    static char buf[4][512];
    static int k;
    char *b = buf[k++ & 3];
    yc_queue_format(q, b, 512);
    const char *p = b;
    for (int i = 0; i < 3 && p; i++) {
        p = strchr(p, ' ');
        if (p) p++;
    }
    return p ? p : b;
}

/* A lock's repr after " [" (Python: split(" [")[1]). */
UTIL_FN const char *bracket_tail(const char *repr)
{
    const char *p = strstr(repr, " [");
    return p ? p + 2 : repr;
}

/* An allocator that fails the nth allocation from now (0: none). */
static long alloc_fail_in;
static long alloc_failures;

UTIL_FN void *failing_alloc(void *ud, void *p, size_t n)
{
    (void)ud;
    if (n == 0) {
        free(p);
        return NULL;
    }
    if (alloc_fail_in > 0 && --alloc_fail_in == 0) {
        alloc_failures++;
        return NULL;
    }
    return realloc(p, n);
}

UTIL_FN void fail_alloc_after(long n)
{
    alloc_fail_in = n;
    alloc_failures = 0;
    yc_set_allocator(failing_alloc, NULL);
}

UTIL_FN void stop_failing(void) { alloc_fail_in = 0; }

/* The pending exception's "Type: message", taken. */
UTIL_FN const char *take_exc_text(void)
{
    static char buf[512];
    yc_exc *e = yc_err_take();
    if (!e) return "(none)";
    yc_exc_format(e, buf, sizeof buf);
    yc_exc_unref(e);
    return buf;
}

/* The exception being handled, as "Type: message" (inside YC_EXCEPT). */
UTIL_FN const char *caught_text(void)
{
    static char buf[512];
    yc_exc_format(yc_exc_current(), buf, sizeof buf);
    return buf;
}

#endif
