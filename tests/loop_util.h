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
