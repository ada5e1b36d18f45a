/*
 * Stackless ("dense") generators: the protocol of src/gen.c for bodies that
 * are one resumable function (include/yieldc/dense.h), and their slabs.
 *
 * A body runs on its resumer's coroutine, as a plain call: the library
 * calls type->body(g, sent, out) and the body jumps to g->pc. It comes back
 * with YC_YIELD (suspended at a new pc), or with g->fin set when it ended
 * (YC_RETURN with *out, or YC_RAISE with the exception in the resumer's
 * error indicator, where the stackful kind puts it too).
 *
 * Exceptions never jump. A raise (or a throw, close, or a subiterator's
 * failure) is handed to dispatch(), which walks the open try records in the
 * user's struct (innermost last) and answers with the label of the
 * construct to run next, or NULL when the exception leaves the body. The
 * same walk carries a return through finally blocks. A try record moves
 * through these phases:
 *
 *   BODY --normal end--> ELSE ------------------------+
 *     |                                               |
 *     +--exception--> EXC --clause matches--> EXCEPT --end--> HANDLED
 *     |                |                        |             |
 *     +--return--> RET |      raise in handler: FIN_EXC       |
 *                  |   v                        v             v
 *                  +-> FINALLY (why: NONE / EXC / RET) --end--> FIN_DONE
 *
 * and YC_STRY_END then pops it and goes on with what `why` (or the phase,
 * when there is no finally) says: nothing, the exception, or the return.
 *
 * The handled exception (sys.exc_info()) of a body is g->handled, borrowed
 * from the try record that handles it. While the body runs, the resumer's
 * coroutine's exc_info shows it (so yc_exc_current() and the context of
 * every exception made there see it), and is restored when the body
 * returns; the resumer's own value is kept in the try area (h.caller) for
 * the moments the body stops handling one.
 */
#define YC__SGEN_DEFINE_INLINES /* dense.h's inline fast paths are defined (exported) here */
#include "internal.h"

#include <string.h>

#define SG_MAGIC YC__SGEN_MAGIC
#define SG_TYPE_MAGIC YC__SGEN_TYPE_MAGIC
#define SG_DEAD YC__SGEN_DEAD
#define SG_POOLED YC__SGEN_POOLED
#define SG_CLASS_SHIFT YC__SGEN_CLASS_SHIFT /* (NCLASS: a block of its own) */

enum { PH_BODY, PH_ELSE, PH_EXC, PH_EXCEPT, PH_HANDLED, PH_FIN_EXC, PH_RET, PH_FINALLY, PH_FIN_DONE };
enum { WHY_NONE, WHY_EXC, WHY_RET };

/* The try area: the header, then the records (as YC_SGEN_TRIES lays them out). */
typedef struct area {
    yc__sgen_tries h;
    yc__sgen_try t[];
} area;

static inline const yc_sgen_type *type_of(const yc_sgen *g)
{
    return (const yc_sgen_type *)(const void *)g->it.type;
}
static inline area *area_of(yc_sgen *g) { return (area *)(void *)((char *)g + g->tries); }
static inline yc__sgen_try *top(yc_sgen *g) { return &area_of(g)->t[g->ntry - 1]; }
static inline yc__sgen_try *rec_at(yc_sgen *g, int depth) { return &area_of(g)->t[depth - 1]; }

static inline bool sg_ok(const yc_sgen *g)
{
    return g && g->magic == SG_MAGIC; /* mark_dead clears the magic with the state */
}

static int bad_sgen(const yc_sgen *g)
{
    if (!g) return yc__fail(YC_EINVAL, &yc_TypeError, "generator is NULL");
    return yc__fail(YC_EINVAL, &yc_ValueError, "not a live generator (freed or corrupted)");
}

static int busy(void) { return yc__fail(YC_EBUSY, &yc_ValueError, "generator already executing"); }

/* ---- the handled exception ------------------------------------------- */

/* The body now handles h (NULL: nothing of its own). When it starts
 * handling one, what the resumer's coroutine showed until then is the
 * resumer's own, kept to be restored. Handling nothing before and after,
 * the coroutine shows the resumer's own, as it is: h.caller may be from an
 * earlier resume, by another resumer (2.8). */
static void set_handled(yc_sgen *g, yc_exc *h)
{
    yc__coro *co = yc__cur();
    if (!g->handled && !h) return;
    if (!g->handled) area_of(g)->h.caller = co->exc_info;
    g->handled = h;
    co->exc_info = h ? h : area_of(g)->h.caller;
}

/* A body suspending while it handles an exception: the resumer gets its
 * own handled exception back (2.9). */
void yc__sgen_suspend_handling(yc_sgen *g) { yc__cur()->exc_info = area_of(g)->h.caller; }

static void pop(yc_sgen *g)
{
    yc__sgen_try *r = top(g);
    g->ntry--;
    set_handled(g, r->saved);
    r->phase = PH_BODY;
}

/* ---- how a body ends ------------------------------------------------- */

/* The exception e (owned) leaves the body: PEP 479, then the resumer's
 * error indicator. */
static void *finish_exc(yc_sgen *g, yc_exc *e)
{
    yc__coro *co = yc__cur();
    if (yc_exc_is(e, &yc_StopIteration)) {
        yc_exc *r = yc_exc_new(&yc_RuntimeError, "generator raised StopIteration");
        yc__exc_chain(r, e);
        yc_exc_set_cause(r, e); /* takes our reference */
        e = r;
    }
    yc__err_set(co, e);
    g->fin = YC_RAISE;
    return NULL;
}

/* Drops every open try record (a body that left them by break or goto, or
 * a generator abandoned while suspended inside them). */
static void drop_tries(yc_sgen *g)
{
    while (g->ntry > 0) {
        yc__sgen_try *r = top(g);
        yc_exc_unref(r->exc);
        r->exc = NULL;
        g->ntry--;
        r->phase = PH_BODY;
    }
    g->handled = NULL;
}

/* The body's lexical try depth does not match the open records: a YC_STRY
 * was left by break, continue or goto. Ends the generator, loudly. */
static void *bad_nesting(yc_sgen *g)
{
    if (g->handled) yc__cur()->exc_info = area_of(g)->h.caller;
    drop_tries(g);
    yc_exc *e = yc_exc_new(&yc_RuntimeError,
                           "YC_STRY block left by break, continue or goto in generator '%s'",
                           type_of(g)->name);
    return finish_exc(g, e);
}

/*
 * Where the exception e (owned, context and traceback already set) goes:
 * the dispatch label of the innermost open construct that still has
 * something to run for it, or NULL when it leaves the body (finished).
 */
static void *dispatch(yc_sgen *g, yc_exc *e)
{
    while (g->ntry > 0) {
        yc__sgen_try *r = top(g);
        switch (r->phase) {
        case PH_BODY: /* look for a matching clause, then finally */
            r->exc = e;
            r->phase = PH_EXC;
            return r->disp;
        case PH_EXCEPT: /* raised in a handler (chained to what it handled): finally */
            yc_exc_unref(r->exc);
            r->exc = e;
            r->phase = PH_FIN_EXC;
            set_handled(g, r->saved);
            return r->disp;
        default: /* raised in finally: replaces what was pending there */
            yc_exc_unref(r->exc);
            r->exc = NULL;
            pop(g);
            break;
        }
    }
    return finish_exc(g, e);
}

/* As dispatch, for a return of v: through every finally, then out. */
static void *unwind_return(yc_sgen *g, yc_val v, yc_val *out)
{
    while (g->ntry > 0) {
        yc__sgen_try *r = top(g);
        if (r->phase == PH_BODY || r->phase == PH_EXCEPT) {
            if (r->phase == PH_EXCEPT) { /* the handled exception is done with */
                yc_exc_unref(r->exc);
                r->exc = NULL;
                set_handled(g, r->saved);
            }
            area_of(g)->h.ret = v;
            r->phase = PH_RET;
            return r->disp;
        }
        yc_exc_unref(r->exc); /* a return in finally swallows what was pending */
        r->exc = NULL;
        pop(g);
    }
    *out = v;
    g->fin = YC_RETURN;
    return NULL;
}

/* ---- called by the body's macros ------------------------------------- */

void *yc__sgen_return(yc_sgen *g, yc_val v, yc_val *out, int depth)
{
    if (YC_LIKELY(g->ntry == 0 && depth == 0)) {
        *out = v;
        g->fin = YC_RETURN;
        return NULL;
    }
    if (g->ntry != depth) return bad_nesting(g);
    return unwind_return(g, v, out);
}

void *yc__sgen_raise(yc_sgen *g, yc_exc *e, const char *file, int line, const char *func,
                     int depth)
{
    yc__coro *co = yc__cur();
    if (!yc__exc_valid(e))
        e = yc_exc_new(&yc_TypeError, "exceptions must derive from BaseException, not %s",
                       e ? "a foreign pointer" : "NULL");
    if (g->ntry != depth) {
        yc_exc_unref(e);
        return bad_nesting(g);
    }
    yc__exc_chain(e, yc__handled(co));
    yc__tb_add(e, file, line, func, type_of(g)->name);
    return dispatch(g, e);
}

void *yc__sgen_reraise(yc_sgen *g, const char *file, int line, const char *func, int depth)
{
    if (g->ntry != depth) return bad_nesting(g);
    yc__coro *co = yc__cur();
    yc_exc *h = yc__handled(co);
    if (!h) {
        h = yc_exc_new(&yc_RuntimeError, "No active exception to reraise");
    } else {
        yc_exc_ref(h);
    }
    yc__tb_add(h, file, line, func, type_of(g)->name);
    return dispatch(g, h);
}

/* YC_SCHECK: the pending exception of a failed call, raised at file:line
 * without chaining it again: its context was set where it was made (a
 * throw into a created or closed generator from an except block raises the
 * thrown exception with none, as CPython does) [4.6, 4.7]. */
void *yc__sgen_raise_failed(yc_sgen *g, const char *file, int line, const char *func,
                            int depth)
{
    yc_exc *e = yc__err_take_failed(yc__cur());
    if (g->ntry != depth) {
        yc_exc_unref(e);
        return bad_nesting(g);
    }
    yc__tb_add(e, file, line, func, type_of(g)->name);
    return dispatch(g, e);
}

void *yc__sgen_from(yc_sgen *g, yc_iter *it, yc_val *out, yc_val *in, void *resume,
                    const char *file, int depth)
{
    if (g->ntry != depth) return bad_nesting(g);
    yc__coro *co = yc__cur();
    if (!it) {
        yc_exc *e = yc_exc_new(&yc_TypeError, "'NULL' object is not iterable");
        yc__exc_chain(e, yc__handled(co));
        yc__tb_add(e, file, (int)g->line, NULL, type_of(g)->name);
        return dispatch(g, e);
    }
    int st = yc_iter_next(it, out);
    if (st < 0 && yc_exc_is(co->err, &yc_StopIteration)) {
        *out = yc_exc_value(co->err); /* an iterator ending by StopIteration(v) */
        yc__err_set(co, NULL);
        st = YC_RETURN;
    }
    if (st == YC_YIELD) { /* suspends: as YC_SYIELD does */
        g->yf = it;
        g->pc = resume;
        if (g->handled) yc__sgen_suspend_handling(g);
        g->state = YC_GEN_SUSPENDED;
        return YC__SGEN_ON;
    }
    if (st == YC_RETURN) {
        *in = *out;
        return resume;
    }
    yc_exc *e = yc__err_take_failed(co);
    yc__tb_add(e, file, (int)g->line, NULL, type_of(g)->name);
    return dispatch(g, e);
}

void *yc__sgen_try_push(yc_sgen *g, yc__sgen_tries *a, int depth, void *disp)
{
    if (g->ntry != depth - 1) return bad_nesting(g);
    if (YC_UNLIKELY(!g->tries)) {
        ptrdiff_t off = (char *)a - (char *)g;
        if (off < (ptrdiff_t)sizeof *g || off > UINT16_MAX)
            return finish_exc(g, yc_exc_new(&yc_RuntimeError,
                                             "generator '%s': YC_SGEN_TRIES must lie within "
                                             "64 KiB of the struct's start", type_of(g)->name));
        g->tries = (uint16_t)off;
        a->caller = yc__cur()->exc_info; /* handles nothing yet: this is the resumer's */
    }
    yc__sgen_try *r = rec_at(g, depth);
    r->disp = disp;
    r->exc = NULL;
    r->saved = g->handled;
    r->phase = PH_BODY;
    r->why = WHY_NONE;
    g->ntry = (uint8_t)depth;
    return YC__SGEN_ON;
}

void yc__sgen_try_ok(yc_sgen *g, int depth)
{
    yc__sgen_try *r = rec_at(g, depth);
    switch (r->phase) {
    case PH_BODY:
        r->phase = PH_ELSE;
        break;
    case PH_EXCEPT:
        yc_exc_unref(r->exc); /* handled */
        r->exc = NULL;
        set_handled(g, r->saved);
        r->phase = PH_HANDLED;
        break;
    case PH_FINALLY:
        set_handled(g, r->saved);
        r->phase = PH_FIN_DONE;
        break;
    default:
        break;
    }
}

int yc__sgen_try_catch(yc_sgen *g, int depth, const yc_exc_type *type)
{
    yc__sgen_try *r = rec_at(g, depth);
    if (r->phase != PH_EXC || !type || !yc_exc_is(r->exc, type)) return 0;
    r->phase = PH_EXCEPT;
    set_handled(g, r->exc);
    return 1;
}

int yc__sgen_try_finally(yc_sgen *g, int depth)
{
    yc__sgen_try *r = rec_at(g, depth);
    r->why = r->phase == PH_EXC || r->phase == PH_FIN_EXC ? WHY_EXC
             : r->phase == PH_RET                         ? WHY_RET
                                                          : WHY_NONE;
    r->phase = PH_FINALLY;
    if (r->why == WHY_EXC) set_handled(g, r->exc);
    return 1;
}

void *yc__sgen_try_end(yc_sgen *g, int depth, yc_val *out)
{
    if (g->ntry != depth) return bad_nesting(g);
    yc__sgen_try *r = rec_at(g, depth);
    int why = r->phase == PH_FIN_DONE                      ? r->why
              : r->phase == PH_EXC || r->phase == PH_FIN_EXC ? WHY_EXC
              : r->phase == PH_RET                         ? WHY_RET
                                                           : WHY_NONE;
    yc_exc *e = r->exc;
    r->exc = NULL;
    pop(g);
    if (why == WHY_EXC) return dispatch(g, e); /* propagates unchanged */
    yc_exc_unref(e);
    if (why == WHY_RET) return unwind_return(g, area_of(g)->h.ret, out);
    return YC__SGEN_ON;
}

/* ---- the resumer's side ---------------------------------------------- */

/* The body ended (g->fin: YC_RETURN with *out set, or YC_RAISE with the
 * exception pending): closed for good. The body's last call. */
yc__sgen_step yc__sgen_ended(yc_sgen *g, yc_val *out)
{
    g->state = YC_GEN_CLOSED;
    g->yf = NULL;
    g->handled = NULL;
    if (g->fin != YC_RETURN) *out = YC_NONE;
    return (yc__sgen_step){g->fin};
}

/*
 * Runs g's body (g suspended or created, not delegating) from g->pc with
 * `in` as the value sent; or, when e is not NULL, raises e (owned, context
 * and traceback set) at its suspension point first. Returns YC_YIELD (g
 * suspended), YC_RETURN or YC_RAISE (g closed).
 */
static int resume(yc_sgen *g, yc_val in, yc_exc *e, yc_val *out)
{
    yc__coro *co = yc__cur();
    yc_exc *saved = co->exc_info;
    g->state = YC_GEN_RUNNING;
    if (g->handled) { /* suspended in a handler: it sees its exception again */
        area_of(g)->h.caller = saved;
        co->exc_info = g->handled;
    }
    int st;
    if (e) {
        void *to = dispatch(g, e);
        if (!to) {
            st = yc__sgen_ended(g, out).st;
            goto done;
        }
        g->pc = to;
    }
    /* the body publishes SUSPENDED at its yield, or ends by yc__sgen_ended */
    st = type_of(g)->body(g, in, out).st;
done:
    co->exc_info = saved; /* as the body left it; but a body that jumped out
                             of a handler by longjmp did not */
    return st;
}

/* Raises e (owned) in g at its suspension point, as a throw does: chained
 * only to what g itself handles, with a traceback entry there. */
static int throw_at(yc_sgen *g, yc_exc *e, yc_val *out)
{
    if (g->handled) yc__exc_chain(e, g->handled);
    yc__tb_add(e, type_of(g)->file, (int)g->line, NULL, type_of(g)->name);
    return resume(g, YC_NONE, e, out);
}

/* Raises e (owned) in g at its yield from, which g has left (g->yf NULL):
 * a StopIteration there completes the yield from with its value, as
 * CPython 3.12+ does (the stackful kind's raise_in_delegator) [7.6]. */
static int throw_at_yf(yc_sgen *g, yc_exc *e, yc_val *out)
{
    if (yc_exc_is(e, &yc_StopIteration)) {
        yc_val v = yc_exc_value(e);
        yc_exc_unref(e);
        return resume(g, v, NULL, out);
    }
    return throw_at(g, e, out);
}

/* The subiterator of g (claimed: RUNNING) answered st with v: g suspends
 * again (it yielded), goes on after its yield from (it returned), or gets
 * its exception at the yield from. from_throw: st came from the
 * subiterator's throw (the exception is then raised in g as a throw). */
static int deleg_result(yc_sgen *g, int st, yc_val v, yc_val *out, bool from_throw)
{
    yc__coro *co = yc__cur();
    if (st < 0 && yc_exc_is(co->err, &yc_StopIteration)) {
        v = yc_exc_value(co->err); /* the subiterator ended by StopIteration(v) */
        yc__err_set(co, NULL);
        st = YC_RETURN;
    }
    if (st == YC_YIELD) {
        *out = v;
        g->state = YC_GEN_SUSPENDED;
        return YC_YIELD;
    }
    g->yf = NULL;
    if (st == YC_RETURN) return resume(g, v, NULL, out);
    yc_exc *e = yc__err_take_failed(co);
    if (from_throw) return throw_at(g, e, out);
    yc__tb_add(e, type_of(g)->file, (int)g->line, NULL, type_of(g)->name);
    return resume(g, YC_NONE, e, out);
}

/* One level of delegation: next or send(v) of g (suspended in a yield
 * from, not running) goes to its subiterator, and g deals with the answer.
 * (deleg_chain does a plain next of a g handling nothing itself.) */
static __attribute__((noinline)) int deleg_step(yc_sgen *g, yc_val v, yc_val *out)
{
    yc_iter *it = g->yf;
    g->state = YC_GEN_RUNNING;
    yc_val r = YC_NONE;
    int st;
    if (!yc_is_none(v) && !it->type->send) { /* 7.2: raised in g at its yield from */
        g->yf = NULL;
        yc_exc *e = yc_exc_new(&yc_AttributeError, "'%s' object has no attribute 'send'",
                               it->type->name ? it->type->name : "iterator");
        yc__exc_chain(e, g->handled ? g->handled : yc__handled(yc__cur()));
        yc__tb_add(e, type_of(g)->file, (int)g->line, NULL, type_of(g)->name);
        return resume(g, YC_NONE, e, out);
    }
    /* the subiterator runs as if called from g's frame: what g handles is
     * the context of what it raises (CPython's exception-state chain) */
    yc__coro *co = yc__cur();
    yc_exc *saved = co->exc_info;
    if (g->handled) co->exc_info = g->handled;
    st = yc_is_none(v) ? yc_iter_next(it, &r) : it->type->send(it, v, &r);
    co->exc_info = saved;
    return deleg_result(g, st, r, out, false);
}

/* The subiterator `it` of a delegating generator, when it is a stackless
 * generator that is itself suspended in a yield from (else NULL): the
 * chain walk goes on through it. Its type is recognised by its mark
 * (dense.h's YC__SGEN_ITER_MARK), read only where the type's size says the
 * field is there. */
static inline yc_sgen *chain_link(yc_iter *it)
{
    const yc_iter_type *t = it ? it->type : NULL;
    if (!t || t->size != sizeof(yc_iter_type) || t->flags != YC__SGEN_ITER_MARK) return NULL;
    yc_sgen *s = (yc_sgen *)it; /* a finalised one is SG_DEAD, not SUSPENDED */
    if (s->state != YC_GEN_SUSPENDED || !s->yf) return NULL;
    return s;
}

/* deleg_chain's way back up: st is what the level `last` answered; each
 * level above it gets that answer as from its subiterator. */
static __attribute__((noinline)) int deleg_unwind(yc_sgen *g, yc_sgen *last, int st, yc_val *out)
{
    while (last != g) {
        yc_sgen *p = g;
        if (YC_LIKELY(st == YC_YIELD)) {
            for (; p != last; p = (yc_sgen *)(void *)p->yf) p->state = YC_GEN_SUSPENDED;
            return YC_YIELD;
        }
        while (p->yf != &last->it) p = (yc_sgen *)(void *)p->yf; /* last's delegator */
        st = deleg_result(p, st, *out, out, false);
        last = p;
    }
    return st;
}

/*
 * next or send(v) of g, suspended in a yield from (gi_yieldfrom chains):
 * instead of each level calling the next level's next (its resumer, then
 * this file, then the level below, for every value: docs/stackless.md has
 * the measured cost),
 * the walk claims every stackless level that delegates to another
 * delegating stackless generator (RUNNING, as a call through each would
 * have made them), and hands the value to the deepest one's subiterator
 * directly. A value yielded comes back up by marking the levels SUSPENDED
 * again; anything else (the subiterator returned or raised) is dealt with
 * level by level, bottom up, by deleg_result, exactly as the nested calls
 * did (tracebacks, PEP 479, a level catching it and yielding again).
 *
 * A level that handles an exception stops the walk: its subiterator must
 * run with that exception as the context (deleg_step does that), so the
 * walk goes no deeper than it. No level above the deepest can change while
 * the walk is under way: each is RUNNING, and every operation on a running
 * generator fails with "generator already executing" without touching it.
 */
static int deleg_chain(yc_sgen *g, yc_val v, yc_val *out)
{
    yc_sgen *last = g, *sub;
    while (!last->handled && (sub = chain_link(last->yf)) != NULL) {
        last->state = YC_GEN_RUNNING;
        last = sub;
    }
    if (YC_UNLIKELY(!yc_is_none(v) || last->handled))
        return deleg_unwind(g, last, deleg_step(last, v, out), out);
    /* a plain next: the value goes straight to *out */
    last->state = YC_GEN_RUNNING;
    *out = YC_NONE; /* a return value, for an iterator that returns without one */
    int st = yc_iter_next(last->yf, out);
    if (YC_UNLIKELY(st != YC_YIELD))
        return deleg_unwind(g, last, deleg_result(last, st, *out, out, false), out);
    for (yc_sgen *p = g;; p = (yc_sgen *)(void *)p->yf) {
        p->state = YC_GEN_SUSPENDED;
        if (p == last) return YC_YIELD;
    }
}

/* next/send of a suspended or created g (checked, not running). */
static __attribute__((noinline)) int send_slow(yc_sgen *g, yc_val v, yc_val *out)
{
    switch (g->state) {
    case YC_GEN_CREATED:
        if (!yc_is_none(v))
            return yc__fail(YC_EINVAL, &yc_TypeError,
                            "can't send non-None value to a just-started generator");
        return resume(g, v, NULL, out);
    case YC_GEN_SUSPENDED:
        if (g->yf) return deleg_chain(g, v, out);
        return resume(g, v, NULL, out);
    case YC_GEN_RUNNING:
        return busy();
    default: /* closed: a fresh StopIteration() every time */
        *out = YC_NONE;
        return YC_RETURN;
    }
}

/* next and send of everything but the common case, which each type's own
 * next and send (dense.h's YC__SGEN_RESUMER) run by calling the body. */
int yc__sgen_resume_cold(yc_sgen *g, yc_val v, yc_val *out)
{
    if (YC_LIKELY(sg_ok(g) && g->state == YC_GEN_SUSPENDED && g->yf)) return deleg_chain(g, v, out);
    if (!sg_ok(g)) return bad_sgen(g);
    return send_slow(g, v, out);
}

int yc__sgen_throw(yc_iter *it, yc_exc *e, yc_val *out)
{
    yc_sgen *g = (yc_sgen *)it;
    if (!yc__exc_valid(e)) return yc__not_an_exception(e);
    if (!sg_ok(g)) {
        yc_exc_unref(e);
        return bad_sgen(g);
    }
    *out = YC_NONE;
    switch (g->state) {
    case YC_GEN_SUSPENDED:
        break;
    case YC_GEN_RUNNING:
        yc_exc_unref(e);
        return busy();
    case YC_GEN_CREATED: /* raised before the first instruction: nothing runs */
        g->state = YC_GEN_CLOSED;
        /* fall through */
    default:
        yc__err_set(yc__cur(), e);
        return YC_RAISE;
    }
    yc_iter *sub = g->yf;
    if (!sub) return throw_at(g, e, out);
    /* delegating: the subiterator is dealt with from here, g RUNNING meanwhile */
    g->state = YC_GEN_RUNNING;
    if (yc_exc_is(e, &yc_GeneratorExit)) {
        g->yf = NULL;
        if (sub->type->close && sub->type->close(sub, NULL) < 0) {
            yc_exc_unref(e);
            return throw_at_yf(g, yc__err_take_failed(yc__cur()), out);
        }
        return throw_at(g, e, out);
    }
    if (!sub->type->throw_) {
        g->yf = NULL;
        return throw_at_yf(g, e, out);
    }
    yc_val v = YC_NONE;
    int st = sub->type->throw_(sub, e, &v);
    return deleg_result(g, st, v, out, true);
}

int yc__sgen_close(yc_iter *it, yc_val *out)
{
    yc_sgen *g = (yc_sgen *)it;
    yc_val tmp;
    if (!out) out = &tmp;
    if (!sg_ok(g)) return bad_sgen(g);
    *out = YC_NONE;
    switch (g->state) {
    case YC_GEN_SUSPENDED:
        break;
    case YC_GEN_RUNNING:
        return busy();
    default: /* created: nothing runs (5.7); closed: nothing to do (5.8) */
        g->state = YC_GEN_CLOSED;
        return YC_OK;
    }
    if (!g->ntry && !g->yf) {
        /* no try open, no subiterator: GeneratorExit at the yield could only
         * propagate straight out, running nothing */
        g->state = YC_GEN_CLOSED;
        return YC_OK;
    }
    yc__coro *me = yc__cur();
    yc_exc *ge = NULL;
    if (g->yf) { /* the subiterator is closed first; what that raises replaces GeneratorExit */
        yc_iter *sub = g->yf;
        g->yf = NULL;
        g->state = YC_GEN_RUNNING;
        if (sub->type->close && sub->type->close(sub, NULL) < 0) ge = yc__err_take_failed(me);
    }
    if (!ge) {
        ge = yc_exc_new(&yc_GeneratorExit, NULL);
        yc__exc_chain(ge, yc__handled(me));
    }
    yc_val v;
    int st = throw_at(g, ge, &v);
    if (st == YC_YIELD)
        return yc__fail(YC_RAISE, &yc_RuntimeError, "generator ignored GeneratorExit");
    if (st == YC_RETURN) {
        *out = v; /* 3.13: the value of a generator that caught it and returned */
        return YC_OK;
    }
    if (yc_exc_is(me->err, &yc_GeneratorExit)) {
        yc__err_set(me, NULL);
        return YC_OK;
    }
    return YC_RAISE;
}

/* ---- public entry points --------------------------------------------- */

/* yc_sgen_next (dense.h, inline) but for its common case; out not NULL. */
int yc__sgen_next_cold(yc_sgen *g, yc_val *out) { return yc__sgen_resume_cold(g, YC_NONE, out); }

int yc_sgen_send(yc_sgen *g, yc_val v, yc_val *out)
{
    yc_val tmp;
    if (!sg_ok(g)) return bad_sgen(g);
    return g->it.type->send(&g->it, v, out ? out : &tmp);
}

int yc_sgen_throw(yc_sgen *g, yc_exc *e, yc_val *out)
{
    yc_val tmp;
    return yc__sgen_throw((yc_iter *)g, e, out ? out : &tmp);
}

int yc_sgen_close(yc_sgen *g, yc_val *out) { return yc__sgen_close((yc_iter *)g, out); }

yc_gen_state yc_sgen_state_of(const yc_sgen *g)
{
    return sg_ok(g) ? (yc_gen_state)g->state : YC_GEN_CLOSED;
}

const char *yc_sgen_name(const yc_sgen *g) { return sg_ok(g) ? type_of(g)->name : NULL; }

yc_iter *yc_sgen_yieldfrom(const yc_sgen *g)
{
    return sg_ok(g) && g->state == YC_GEN_SUSPENDED ? g->yf : NULL;
}

yc_iter *yc_sgen_iter(yc_sgen *g) { return sg_ok(g) ? &g->it : NULL; }

/* ---- life cycle ------------------------------------------------------ */

static bool type_ok(const yc_sgen_type *t) { return t && t->magic == SG_TYPE_MAGIC && t->body; }

static int bad_type(const yc_sgen_type *t, const char *fn)
{
    return yc__fail(YC_EINVAL, &yc_TypeError, "%s: %s", fn,
                    t ? "not a stackless generator type (make it with YC_SGEN_FN)"
                      : "type is NULL");
}

/* One assignment of the whole header: the compiler writes it as a few wide
 * stores (every field not named is zero: no pc, no subiterator, no try). */
static inline void init_header(yc_sgen *g, const yc_sgen_type *t, uint8_t flags)
{
    *g = (yc_sgen){.it.type = &t->it, .state = YC_GEN_CREATED, .magic = SG_MAGIC,
                   .flags = flags};
}

/* yc_sgen_init (dense.h, inline) but for its common case: the checks. */
int yc__sgen_init_cold(yc_sgen *g, const yc_sgen_type *type)
{
    if (!g) return yc__fail(YC_EINVAL, &yc_TypeError, "yc_sgen_init: generator is NULL");
    if (!type_ok(type)) return bad_type(type, "yc_sgen_init");
    init_header(g, type, 0);
    return YC_OK;
}

/* No try open and no subiterator (so no handled exception either), not
 * running: closing g could run nothing, whatever its state, and it holds
 * nothing, so finalising it is marking it dead. */
static inline bool quiet(const yc_sgen *g) { return YC__SGEN_QUIET(g); }

static inline void mark_dead(yc_sgen *g)
{
    g->state = SG_DEAD;
    g->magic = 0;
}

/* Finalisation (5.10): closes a suspended g, reporting a failure to the
 * unraisable hook, and releases what an abandoned one still holds. */
static int finalise_slow(yc_sgen *g)
{
    if (g->state == YC_GEN_RUNNING) return busy();
    if (g->state == YC_GEN_SUSPENDED && (g->ntry || g->yf)) { /* else nothing could run */
        yc__coro *me = yc__cur();
        yc_exc *saved = me->err; /* the caller's pending error survives */
        me->err = NULL;
        if (yc__sgen_close(&g->it, NULL) < 0) {
            char obj[320];
            snprintf(obj, sizeof obj, "<generator object %s at %p>", type_of(g)->name,
                     (void *)g);
            yc__unraisable(me->err, obj);
        }
        yc__err_set(me, saved);
    }
    drop_tries(g); /* it ignored GeneratorExit: as CPython, no more of it runs */
    g->yf = NULL;
    mark_dead(g);
    return YC_OK;
}

static inline int finalise(yc_sgen *g)
{
    if (YC_UNLIKELY(!quiet(g))) return finalise_slow(g);
    mark_dead(g);
    return YC_OK;
}

/* yc_sgen_fini (dense.h, inline) but for its common case. */
int yc__sgen_fini_cold(yc_sgen *g)
{
    if (!sg_ok(g)) return bad_sgen(g);
    if (g->flags & SG_POOLED)
        return yc__fail(YC_EINVAL, &yc_ValueError,
                        "yc_sgen_fini: generator made by yc_sgen_new (use yc_sgen_free)");
    return finalise(g);
}

/*
 * Slabs. Each thread keeps a free list per size class and the chunks it
 * carved them from. A block is a one-word prefix (the owning thread's pool,
 * to refuse a free from another thread) followed by the generator. Chunks
 * are given back only by yc_sgen_pool_trim, when none of the thread's
 * generators is live.
 */
#define NCLASS 5
#define CHUNK_BYTES (256u * 1024u - 64u) /* with malloc's header: 64 pages when mapped */

typedef struct chunk {
    struct chunk *next;
} chunk;

typedef yc__sgen_pool pool; /* dense.h: the inline fast paths use class 0's list */
_Static_assert(sizeof(((pool *)0)->free) / sizeof(void *) == NCLASS, "a free list per class");

__thread yc__sgen_pool yc__sgen_tls __attribute__((tls_model("initial-exec")));

static const size_t class_size[NCLASS] = {64, 128, 256, 512, 1024};

/* The size class of a block of `block` bytes (64 << c), NCLASS beyond them. */
static inline int class_of(size_t block)
{
    if (YC_LIKELY(block <= 64)) return 0;
    if (block > 1024) return NCLASS;
    return 64 - __builtin_clzll((unsigned long long)block - 1) - 6;
}

/* A free block of class c (c < NCLASS) when the list is empty: a new chunk
 * is carved into blocks. NULL when the allocator fails. Out of line, so
 * that yc_sgen_new's common path saves no registers. */
static __attribute__((noinline)) void *block_refill(pool *p, int c)
{
    size_t sz = class_size[c];
    chunk *ch = yc__malloc(CHUNK_BYTES);
    if (!ch) return NULL;
    ch->next = (chunk *)p->chunks;
    p->chunks = ch;
    char *first = (char *)ch + 64; /* blocks start 64-byte aligned within the chunk */
    size_t n = (CHUNK_BYTES - 64) / sz;
    for (size_t i = n; i-- > 1;) { /* all but the first go on the list, in address order */
        void *blk = first + i * sz;
        *(void **)blk = p->free[c];
        p->free[c] = blk;
    }
    return first;
}

/* Makes the generator of type in block b (class c, or NCLASS: a block of
 * its own): the struct zeroed, the header set, the prefix naming p. */
static inline yc_sgen *new_in(pool *p, void *b, int c, const yc_sgen_type *type)
{
    yc_sgen *g = (yc_sgen *)(void *)((char *)b + sizeof(void *));
    if (YC_LIKELY(c == 0)) memset(b, 0, 64); /* a constant size: a few stores, no call */
    else memset(g, 0, type->size);
    *(pool **)b = p;
    init_header(g, type, (uint8_t)(SG_POOLED | (unsigned)c << SG_CLASS_SHIFT));
    p->live++;
    return g;
}

/* yc_sgen_new but for its common case, which dense.h's inline yc_sgen_new
 * does in the caller (a 64-byte block on this thread's list): a bad type,
 * a larger class, an empty list, a struct beyond the classes, or no
 * memory. */
yc_sgen *yc__sgen_new_cold(const yc_sgen_type *type)
{
    if (!type_ok(type)) {
        bad_type(type, "yc_sgen_new");
        return NULL;
    }
    pool *p = &yc__sgen_tls;
    int c = class_of(sizeof(void *) + type->size);
    void *b = c < NCLASS ? p->free[c] : NULL;
    if (b) p->free[c] = *(void **)b;
    else b = c < NCLASS ? block_refill(p, c) : yc__malloc(sizeof(void *) + type->size);
    if (!b) {
        yc__err_set(yc__cur(), yc_exc_new(&yc_MemoryError, NULL));
        return NULL;
    }
    return new_in(p, b, c, type);
}

/* yc_sgen_free but for its common case, which dense.h's inline yc_sgen_free
 * does in the caller (a quiet generator of a 64-byte block): the checks, a
 * generator that may have something to run or release when closed, a
 * larger class, or a block of its own. */
int yc__sgen_free_cold(yc_sgen *g)
{
    if (!sg_ok(g)) return bad_sgen(g);
    if (!(g->flags & SG_POOLED))
        return yc__fail(YC_EINVAL, &yc_ValueError,
                        "yc_sgen_free: generator not made by yc_sgen_new (use yc_sgen_fini)");
    void *b = (char *)g - sizeof(void *);
    pool *p = &yc__sgen_tls;
    if (*(pool **)b != p)
        return yc__fail(YC_EINVAL, &yc_ValueError,
                        "yc_sgen_free: generator made by another thread (free it there)");
    int st = finalise(g);
    if (st != YC_OK) return st;
    p->live--;
    int c = g->flags >> SG_CLASS_SHIFT;
    if (c == NCLASS) {
        yc__free(b);
        return YC_OK;
    }
    *(void **)b = p->free[c];
    p->free[c] = b;
    return YC_OK;
}

void yc__sgen_free_it(yc_iter *it)
{
    yc_sgen *g = (yc_sgen *)it;
    if (sg_ok(g) && !(g->flags & SG_POOLED)) yc_sgen_fini(g);
    else yc_sgen_free(g);
}

size_t yc_sgen_pool_trim(void)
{
    pool *p = &yc__sgen_tls;
    if (p->live != 0) return 0;
    size_t n = 0;
    while (p->chunks) {
        chunk *ch = (chunk *)p->chunks;
        p->chunks = ch->next;
        yc__free(ch);
        n += CHUNK_BYTES;
    }
    memset(p->free, 0, sizeof p->free);
    return n;
}

long yc_sgen_live(void) { return yc__sgen_tls.live; }
