/*
 * Internal: the guarded call, the one frame in which the library runs user
 * callbacks that may raise (pipeline stages and reducers, context managers'
 * enter and exit). A raise inside it is caught there and becomes a pending
 * exception with a status, without reaching the caller's handlers; a
 * YC_RETURN passing through goes on (yc__try_end continues it).
 *
 *     YC__GUARD(t) {
 *         ...undo what was set for the callbacks...
 *         return yc__cb_caught(&t);   // YC_RAISE, the exception pending
 *     }
 *     ...callbacks...
 *     yc__try_end(&t);                // on every way out of the body
 *
 * A macro, not a function: a function that calls setjmp is never inlined,
 * and the per-item paths (map's next, filter's next) would pay a call and
 * an indirect call per item. One frame serves a whole block of callbacks.
 * Locals changed after YC__GUARD and read on the caught path must be
 * volatile; the files that use it turn off GCC's -Wclobbered, which cannot
 * tell that none is.
 */
#ifndef YC_GUARD_H
#define YC_GUARD_H

#include "internal.h"

#include <setjmp.h>

/* Declares frame t, links it and sets its landing point: the statement
 * after YC__GUARD(t) runs when a callback raised (or a return passes). */
#define YC__GUARD(t)                                                          \
    yc__try t;                                                                \
    yc__try_push(&t);                                                         \
    if (setjmp(t.jb))

/* On the caught path: takes the exception the frame caught, unlinks the
 * frame and makes the exception pending; returns YC_RAISE. */
static inline int yc__cb_caught(yc__try *t)
{
    yc_exc *e = t->exc;
    t->exc = NULL;
    yc__try_end(t);
    yc__err_set(yc__cur(), e);
    return YC_RAISE;
}

#endif
