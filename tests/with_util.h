/* Helpers shared by the context manager tests (test_with.c,
 * test_exitstack.c, conformance/test_sec9_contextlib.c): a trace of what
 * ran, exception formatting, and a configurable hand-written manager. */
#ifndef YC_WITH_UTIL_H
#define YC_WITH_UTIL_H

#include "test.h"

#include <stdarg.h>

/* ---- a trace of what ran -------------------------------------------- */

static char trace[2048];

static void tr(const char *fmt, ...) __attribute__((format(printf, 1, 2), unused));
static void tr(const char *fmt, ...)
{
    size_t len = strlen(trace);
    if (len && len + 1 < sizeof trace) trace[len++] = ',', trace[len] = '\0';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(trace + len, sizeof trace - len, fmt, ap);
    va_end(ap);
}

/* "Type: message", or "None" for NULL, in one of 8 rotating buffers. */
static __attribute__((unused)) const char *xs(const yc_exc *e)
{
    static char bufs[8][256];
    static int i;
    char *b = bufs[i++ & 7];
    if (!e) return "None";
    yc_exc_format(e, b, 256);
    return b;
}

#define CHECK_XS(e, text) CHECK_STR(xs(e), (text))

/* The chain of contexts of e, "A -> B -> C" (at most 8 links). */
static __attribute__((unused)) const char *ctx_chain(const yc_exc *e)
{
    static char buf[1024];
    buf[0] = '\0';
    for (int i = 0; e && i < 8; i++, e = yc_exc_context(e)) {
        if (i) strncat(buf, " -> ", sizeof buf - strlen(buf) - 1);
        strncat(buf, xs(e), sizeof buf - strlen(buf) - 1);
    }
    return buf;
}

/* ---- a hand-written manager ----------------------------------------- */

/* Its enter binds yc_int(bind); exit returns exit_ret, or fails with
 * exit_fail (raised with yc_raise, or reported by status when by_status).
 * Everything it does goes to the trace: "enter A", "exit A <exc>",
 * "free A". */
typedef struct log_cm {
    yc_cm cm;
    const char *name;
    int64_t bind;
    int exit_ret;
    const yc_exc_type *enter_fail;
    const yc_exc_type *exit_fail;
    bool by_status;
    int entered, exited, freed;
    const yc_exc *seen;      /* the exception exit received (compare only) */
    bool current_was_seen;   /* yc_exc_current() in exit was that exception */
} log_cm;

static int log_enter(yc_cm *cm, yc_val *out)
{
    log_cm *c = (log_cm *)cm;
    c->entered++;
    tr("enter %s", c->name);
    if (c->enter_fail) {
        yc_exc *e = yc_exc_new(c->enter_fail, "enter %s", c->name);
        if (c->by_status) {
            yc_err_set(e);
            return YC_RAISE;
        }
        yc_raise(e);
    }
    *out = yc_int(c->bind);
    return YC_OK;
}

static int log_exit(yc_cm *cm, yc_exc *e)
{
    log_cm *c = (log_cm *)cm;
    c->exited++;
    c->seen = e;
    c->current_was_seen = yc_exc_current() == e;
    tr("exit %s %s", c->name, xs(e));
    if (c->exit_fail) {
        yc_exc *f = yc_exc_new(c->exit_fail, "exit %s", c->name);
        if (c->by_status) {
            yc_err_set(f);
            return YC_RAISE;
        }
        yc_raise(f);
    }
    return c->exit_ret;
}

static void log_free(yc_cm *cm)
{
    log_cm *c = (log_cm *)cm;
    c->freed++;
    tr("free %s", c->name);
}

static const yc_cm_type log_type = {
    .name = "log_cm", .enter = log_enter, .exit = log_exit, .free = log_free};

static __attribute__((unused)) yc_cm *log_init(log_cm *c, const char *name)
{
    memset(c, 0, sizeof *c);
    c->cm.type = &log_type;
    c->name = name;
    return &c->cm;
}

/* ---- misc ----------------------------------------------------------- */

/* An fd is open (fcntl does not fail with EBADF). */
static __attribute__((unused)) bool fd_is_open(int fd)
{
    return fd >= 0 && (fcntl(fd, F_GETFD) != -1 || errno != EBADF);
}

/* A temporary file holding text; the path goes in buf (unlink it). */
static __attribute__((unused)) void temp_file(char *buf, size_t n, const char *text)
{
    snprintf(buf, n, "/tmp/yc_with_test_XXXXXX");
    int fd = mkstemp(buf);
    if (fd < 0) return;
    if (text && write(fd, text, strlen(text)) < 0) buf[0] = '\0';
    close(fd);
}

#endif
