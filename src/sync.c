/*
 * The helpers that sync.h declares for both synchronisation modules
 * (queue.c, locks.c): binding a primitive to its loop (the slow path of
 * sync.h's inline yc__sync_bind), raising a pending exception at the
 * caller's line, and snprintf-style appending.
 *
 * Its own file, below locks.c and queue.c in the layer's order
 * (docs/design.md, "Layers"): sync.h's inline bind calls into it, so it
 * cannot live in one of the files that include sync.h without a circle.
 */
#define _GNU_SOURCE
#include "sync.h"

#include <stdarg.h>
#include <stdio.h>

int yc__sync_bind_slow(uint64_t *id, const yc_loop *L, const void *obj,
                       int (*fmt)(const void *obj, char *buf, size_t n))
{
    if (!*id) *id = L->id;
    if (*id == L->id) return YC_OK;
    char repr[512];
    fmt(obj, repr, sizeof repr);
    return yc__fail(YC_EINVAL, &yc_RuntimeError, "%s is bound to a different event loop", repr);
}

void yc__sync_raise(const char *file, int line, const char *func)
{
    yc__coro *co = yc__cur();
    yc__raise_in(co, yc__err_take_failed(co), file, line, func);
}

void yc__sb_printf(yc__sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bool room = b->buf && b->len < b->n;
    int k = vsnprintf(room ? b->buf + b->len : NULL, room ? b->n - b->len : 0, fmt, ap);
    va_end(ap);
    if (k > 0) b->len += (size_t)k;
}
