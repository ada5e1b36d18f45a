/*
 * Helpers for the event loop tests: an event log compared as one string
 * ("a|b|c"), and running a main task on the virtual clock.
 */
#ifndef YC_LOOP_UTIL_H
#define YC_LOOP_UTIL_H

#include "test.h"

#include <stdarg.h>

static char loop_log[8192];
static size_t loop_log_n;

static inline void log_clear(void)
{
    loop_log[0] = '\0';
    loop_log_n = 0;
}

/* Appends one event (printf-style), separated from the previous by '|'. */
static inline void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void logf_(const char *fmt, ...)
{
    if (loop_log_n && loop_log_n + 1 < sizeof loop_log) loop_log[loop_log_n++] = '|';
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(loop_log + loop_log_n, sizeof loop_log - loop_log_n, fmt, ap);
    va_end(ap);
    if (k > 0) loop_log_n += (size_t)k;
    if (loop_log_n >= sizeof loop_log) loop_log_n = sizeof loop_log - 1;
}
#define LOG(...) logf_(__VA_ARGS__)

/* Logs "what: Type: message" for an exception (borrowed). */
static inline void log_exc(const char *what, const yc_exc *e)
{
    char buf[400];
    yc_exc_format(e, buf, sizeof buf);
    LOG("%s: %s", what, buf);
}

#define CHECK_LOG_IS(want) CHECK_STR(loop_log, (want))

/* Runs fn(arg) as the main task of a loop on the virtual clock. */
static inline int run_v(yc_gen_fn fn, void *arg, yc_val *out)
{
    yc_loop_opts o = {.clock = YC_CLOCK_VIRTUAL};
    return yc_loop_run(fn, arg, &o, out);
}

/* Fails the test at file:line with what, then the pending error's type and
 * message (taken and released). */
static inline void fail_pending_at(const char *file, int line, const char *what)
{
    char buf[400] = "";
    yc_exc *e = yc_err_take();
    if (e) yc_exc_format(e, buf, sizeof buf);
    yc_exc_unref(e);
    test_fail(file, line, "%s: %s", what, buf);
}

/* Runs fn(arg) as the main task of a loop on the monotonic clock; when the run
 * does not end with YC_OK, fails the test at the caller's line with the status
 * and the formatted exception. */
#define RUN_MAIN(fn, arg) run_main_at((fn), (arg), __FILE__, __LINE__)
static inline void run_main_at(yc_gen_fn fn, void *arg, const char *file, int line)
{
    int st = yc_loop_run(fn, arg, NULL, NULL);
    if (st != YC_OK) fail_pending_at(file, line, yc_status_name(st));
}

/* TEST(name) whose body runs with a clear log and must leave as many open
 * descriptors as it found; then leftover() (NULL, or a function returning what
 * else the body left behind, or NULL when nothing) must find nothing. */
#define FD_TEST(name, leftover)                                               \
    static void name##_body(void);                                            \
    TEST(name)                                                                \
    {                                                                         \
        int fds0 = count_fds();                                               \
        log_clear();                                                          \
        name##_body();                                                        \
        check_left_at(__FILE__, __LINE__, #name, fds0, (leftover));           \
    }                                                                         \
    static void name##_body(void)
static inline void check_left_at(const char *file, int line, const char *name, int fds0,
                                 const char *(*leftover)(void))
{
    int fds1 = count_fds();
    if (fds1 != fds0)
        test_fail(file, line, "%s: %d descriptor(s) open before, %d after", name, fds0, fds1);
    const char *what = leftover ? leftover() : NULL;
    if (what) test_fail(file, line, "%s: %s", name, what);
}

/* The loop time in whole milliseconds (virtual clock: exact). */
static inline long now_ms(void) { return (long)(yc_loop_time(NULL) * 1000 + 0.5); }

/* A task body that sleeps for *(double *)arg seconds and returns it. */
static inline yc_val sleeper(void *arg)
{
    yc_sleep(*(double *)arg);
    return yc_float(*(double *)arg);
}

/* Unretrieved-exception reports go here instead of stderr. */
static char unraisable_text[2048];
static inline void capture_unraisable(yc_exc *e, const char *obj, void *ud)
{
    (void)ud;
    char buf[400] = "";
    if (e) yc_exc_format(e, buf, sizeof buf);
    size_t n = strlen(unraisable_text);
    snprintf(unraisable_text + n, sizeof unraisable_text - n, "%s%s%s%s", n ? "||" : "", obj,
             e ? " :: " : "", buf);
}
static inline void capture_reports(void)
{
    unraisable_text[0] = '\0';
    yc_set_unraisable_hook(capture_unraisable, NULL);
}
static inline void release_reports(void) { yc_set_unraisable_hook(NULL, NULL); }

#endif
