/*
 * The generator protocol: creation, next/send/throw/close with Python's
 * states and errors, yield, yield from (PEP 380), PEP 479, finalisation.
 *
 * States move C -> R -> S/X as python-semantics.md section 8 says. The
 * state is atomic: a resume claims the generator with a compare-and-swap
 * (S or C -> R), so a second resume, re-entrant or from another thread, sees
 * R and gets "generator already executing". Only the resumer moves the state
 * out of R, after the generator's stack has been left, so another thread can
 * never switch onto a stack that is still in use.
 *
 * The biased claim (x86-64 fast path only; claim.c): the thread that
 * creates a generator owns its bias, and its fast path claims with plain
 * stores instead of the locked compare-and-swap. Any other thread revokes
 * the bias before its first claim, for good.
 */
#include "internal.h"
#include "claim.h"

#include <sched.h>
#include <string.h>

#if YC_ASAN
#  include <sanitizer/asan_interface.h>
#endif

#define NAME_MAX_LEN 255

/* With the assembly fast paths (src/arch/fast_path.h), the public
 * yc_next, yc_send and yc__yield are in src/arch/fast_path_x86_64.S, and
 * the C functions below are what they fall back to: the complete protocol, of which the fast
 * paths only duplicate the common case. */
#if YC_FAST_PATH
#  define GEN_NEXT yc__next_slow
#  define GEN_SEND yc__send_slow
#  define GEN_YIELD yc__yield_slow
YC_HIDDEN int yc__next_slow(yc_gen *g, yc_val *out);
YC_HIDDEN int yc__send_slow(yc_gen *g, yc_val v, yc_val *out);
YC_HIDDEN yc_val yc__yield_slow(yc_val v, const char *file, int line);
/* yc_next's fast path under a second name, with the iterator type's
 * signature: a generator's yc_iter_type.next (below). The yc_iter is the
 * generator's first member, so the assembly takes it as the yc_gen. */
YC_HIDDEN int yc__gen_iter_next(yc_iter *it, yc_val *out);
_Static_assert(offsetof(struct yc_gen, it) == 0, "a generator's yc_iter is the generator");
#else
#  define GEN_NEXT yc_next
#  define GEN_SEND yc_send
#  define GEN_YIELD yc__yield
#endif

static const yc_iter_type gen_iter_type;

/* ---- misuse checks --------------------------------------------------- */

static int bad_gen(const yc_gen *g)
{
    if (!g) return yc__fail(YC_EINVAL, &yc_TypeError, "generator is NULL");
    return yc__fail(YC_EINVAL, &yc_ValueError, "not a live generator (freed or corrupted)");
}

/* A live generator: its magic is YC__GEN_MAGIC, or YC__GEN_MAGIC_FROM
 * while it is suspended in yield from over a stackful generator (which
 * sends a resume to the chain walk, chain_send). GEN_PLAIN: the first
 * kind only, the test of the C paths that do what the fast paths do. */
#define GEN_OK(g)                                                                          \
    YC_LIKELY((g) != NULL && ({                                                            \
                  uint32_t m_ = MAGIC(g);                                                  \
                  m_ == YC__GEN_MAGIC || m_ == YC__GEN_MAGIC_FROM;                         \
              }))
#define GEN_PLAIN(g) YC_LIKELY((g) != NULL && MAGIC(g) == YC__GEN_MAGIC)
/* The magic word (internal.h: relaxed atomic, read and written). */
#define MAGIC(g) YC__GEN_MAGIC_OF(g)
#define SET_MAGIC(g, m) __atomic_store_n(&(g)->magic, (m), __ATOMIC_RELAXED)

/* A resume of a running generator. One whose coroutine is parked in a
 * task's await (yieldc/loop.h) waits like a suspended async generator, and
 * gets CPython's message for those (op: "anext", "athrow", "aclose"). */
static int busy(const yc_gen *g, const char *op)
{
    if (g->co.parked)
        return yc__fail(YC_EBUSY, &yc_RuntimeError, "%s(): asynchronous generator is already running",
                        op);
    return yc__fail(YC_EBUSY, &yc_ValueError, "generator already executing");
}

/* ---- the body's side ------------------------------------------------- */

/* What the assembly fast paths assume (src/arch/fast_path.h). The offsets
 * and values are generated from these structures (src/arch/offsets.c):
 * asserting them here again catches a header that is stale, or made with
 * other definitions than this file's. */
#if YC_FAST_PATH
#include "yc_offsets.h"
#define FP_OFF(type, field, off) _Static_assert(offsetof(type, field) == (off), #type "." #field)
FP_OFF(struct yc_gen, magic, YC__FP_GEN_MAGIC);
FP_OFF(struct yc_gen, state, YC__FP_GEN_STATE);
FP_OFF(struct yc_gen, owner, YC__FP_GEN_OWNER);
FP_OFF(struct yc_gen, claiming, YC__FP_GEN_CLAIMING);
FP_OFF(struct yc_gen, flags, YC__FP_GEN_FLAGS);
_Static_assert(YC_GEN_SHARE_FPENV == YC__FP_SHARE_FPENV, "YC_GEN_SHARE_FPENV");
FP_OFF(struct yc_gen, out, YC__FP_GEN_OUT);
FP_OFF(struct yc_gen, scratch, YC__FP_GEN_SCRATCH);
FP_OFF(struct yc_gen, yield_file, YC__FP_GEN_YIELD_FILE);
FP_OFF(struct yc_gen, yield_line, YC__FP_GEN_YIELD_LINE);
FP_OFF(struct yc_gen, susp, YC__FP_GEN_SUSP);
FP_OFF(struct yc_gen, co, YC__FP_GEN_CO);
FP_OFF(yc__coro, ctx, 0);
FP_OFF(yc__coro, resumer, YC__FP_CORO_RESUMER);
FP_OFF(yc__coro, gen, YC__FP_CORO_GEN);
FP_OFF(yc__thread, cur, 0);
_Static_assert(YC__GEN_MAGIC == YC__FP_GEN_MAGIC_VAL, "YC__GEN_MAGIC");
_Static_assert(YC_GEN_RUNNING == YC__FP_RUNNING, "YC_GEN_RUNNING");
_Static_assert(YC_GEN_SUSPENDED == YC__FP_SUSPENDED, "YC_GEN_SUSPENDED");
_Static_assert(YC_GEN_CREATED == YC__FP_CREATED, "YC_GEN_CREATED");
_Static_assert(YC_YIELD == YC__FP_YIELD, "YC_YIELD");
_Static_assert(YC__SUSP_YIELD == YC__FP_SUSP_YIELD, "YC__SUSP_YIELD");
_Static_assert(YC_T_NONE == 0, "YC_NONE is two zero words (the fast yc_next sends it)");
FP_OFF(yc_val, meta, 8); /* a yc_val is two words, stored and passed as such */
_Static_assert(sizeof(yc_val) == 16, "yc_val");
#undef FP_OFF
#endif

/* The on-top function's answer to a generator suspended in yield from:
 * "an exception is waiting in exc_in". No real value has this type byte. */
#define MARK_META 0xffu

/* Stores a value word by word: the resumer reads it back as two words, and
 * a single 16-byte load of two 8-byte stores cannot be store-forwarded. */
static inline void val_store(yc_val *dst, yc_val v)
{
    volatile int64_t *d = (volatile int64_t *)dst;
    d[0] = v.i;
    d[1] = (int64_t)v.meta;
}

/*
 * Hands control back to the resumer for the last time: the generator has
 * finished with `status` (YC_RETURN or YC_RAISE, result already stored).
 * Publishes CLOSED once off the stack. The stack is never used again and is
 * freed by yc_gen_free, never from here. noinline: reads the thread state,
 * which must not be cached from before an earlier switch.
 */
__attribute__((noinline)) static YC_NORETURN void gen_leave(yc_gen *g, int status)
{
    yc__coro *r = g->co.resumer;
    g->co.handlers = NULL;
    g->co.exc_info = NULL;
    g->yieldfrom = NULL;
    if (g->co.err) yc__err_set(&g->co, NULL); /* (mostly clear: no call then) */
    yc__T.cur = r;
    yc__coro_jump_x(&g->co, r, (uint64_t)status, 0, &g->state, YC_GEN_CLOSED, true);
    __builtin_unreachable();
}

static YC_NORETURN void gen_entry(void *arg)
{
    yc_gen *g = arg;
    yc__coro_landed(&g->co, false);
    yc_val r = g->fn(g->arg);
    val_store(g->out, r);
    gen_leave(g, YC_RETURN);
}

/* Ends the running generator g with exception e, which no handler of its
 * coroutine caught (PEP 479 applied); never returns. The exception layer
 * calls it through yc__coro_finish (internal.h, "Hooks"). */
static YC_NORETURN void gen_finish_exc(yc_gen *g, yc_exc *e)
{
    if (yc_exc_is(e, &yc_StopIteration)) { /* PEP 479 */
        yc_exc *r = yc_exc_new(&yc_RuntimeError, "generator raised StopIteration");
        yc__exc_chain(r, e);
        yc_exc_set_cause(r, e); /* takes our reference to e */
        e = r;
    }
    yc__coro *r = g->co.resumer;
    if (g->co.throwing) { /* a throw climbing a parked chain reaches r */
        g->co.throwing = false;
        if (r->in_throw) {
            if (r->exc_info) yc__exc_chain(e, r->exc_info);
            r->throwing = true;
        }
    }
    val_store(g->out, YC_NONE);
    yc__err_set(r, e);
    gen_leave(g, YC_RAISE);
}

__attribute__((constructor)) static void install_finish_hook(void)
{
    yc__coro_finish = gen_finish_exc;
}

static yc_gen *current_gen_or_raise(const char *what)
{
    yc_gen *g = yc__cur()->gen;
    if (YC_UNLIKELY(!g))
        yc_raise(yc_exc_new(&yc_RuntimeError, "%s outside a generator", what));
    return g;
}

/* Raises e in g at a yield site: an exception of the body's own making,
 * chained to whatever is being handled (the resumer's too, as in 2.8). */
static YC_NORETURN void raise_at(yc_gen *g, yc_exc *e, const char *file, int line)
{
    yc__raise_in(&g->co, e, file, line, NULL);
}

/* Raises a thrown exception e in g at its suspension point. As CPython's
 * throw does, it is chained only to the exception g itself is handling,
 * never to the thrower's. */
static YC_NORETURN void throw_at(yc_gen *g, yc_exc *e, const char *file, int line)
{
    if (g->co.exc_info) yc__exc_chain(e, g->co.exc_info);
    yc__tb_add(e, file, line, NULL, g->name);
    yc__deliver(&g->co, e);
}

/* How a throw-style resume wakes a generator suspended in yield from:
 * raise exc_in at the yield from (a throw), return done from it (the
 * subiterator returned), or carry on with exc_in as what the
 * subiterator's next or send raised (a chain walk resumed the subiterator
 * directly, chain_send). */
enum { WAKE_RAISE, WAKE_DONE, WAKE_SUBRAISE };

/*
 * Runs on g's stack, on top of its suspension point, when the resumer
 * throws (yc_throw, yc_close): raises exc_in there, as if the yield had
 * raised it; or, for a generator suspended in yield from, returns the mark
 * with the kind of wake-up (b: WAKE_RAISE, or WAKE_DONE when the
 * subiterator finished with g->done) for the delegation loop.
 */
static yc__xfer throw_ontop(uint64_t a, uint64_t b)
{
    yc_gen *g = (yc_gen *)(uintptr_t)a;
    if (g->susp == YC__SUSP_FROM) {
        yc__coro_landed(&g->co, true);
        return (yc__xfer){b, MARK_META};
    }
    yc__coro_landed(&g->co, false);
    yc_exc *e = g->exc_in;
    g->exc_in = NULL;
    throw_at(g, e, g->yield_file, g->yield_line);
}

/*
 * The yield fast path: store the value where the resumer wants it, note the
 * suspension point, and tail-jump to the resumer, publishing SUSPENDED once
 * off this stack. The resumer's next jump returns the sent value straight to
 * the body; a throw arrives through throw_ontop instead. (With YC_FAST_PATH
 * the assembly's yc__yield does the same with the jump inlined, and
 * comes here only when not in a generator.)
 */
__attribute__((noinline, cold)) static YC_NORETURN void yield_outside(void)
{
    (void)yc__cur();
    yc_raise(yc_exc_new(&yc_RuntimeError, "yc_yield() outside a generator"));
}

yc_val GEN_YIELD(yc_val v, const char *file, int line)
{
    yc__coro *co = yc__T.cur;
    if (YC_UNLIKELY(!co || !co->gen)) yield_outside();
    yc_gen *g = co->gen;
    yc__coro *r = co->resumer;
    val_store(g->out, v);
    g->yield_file = file;
    g->yield_line = line;
    __atomic_store_n(&g->susp, YC__SUSP_YIELD, __ATOMIC_RELAXED); /* (suspend_from_prep) */
    yc__T.cur = r;
    return yc__coro_jump_v(co, r, YC_YIELD, 0, &g->state, YC_GEN_SUSPENDED);
}

/* What g does before it suspends inside yield from: stores v for the
 * resumer, notes the suspension point and makes the resumer current.
 * Returns the resumer. noinline: reads the thread state, which must not be
 * cached across a switch (g may be resumed on another thread). */
__attribute__((noinline)) static yc__coro *suspend_from_prep(yc_gen *g, yc_val v, const char *file,
                                                             int line)
{
    yc__coro *r = g->co.resumer;
    val_store(g->out, v);
    g->yield_file = file;
    g->yield_line = line;
    __atomic_store_n(&g->susp, YC__SUSP_FROM, __ATOMIC_RELAXED);
    /* The gate of the chain walk (chain_send): g resumed by its own
     * delegator (by_delegator), a stackful subiterator itself suspended in
     * yield from (it has just yielded to g, on this thread), and nothing
     * handled in g that the innermost would have to see through it. Over
     * a generator suspended at a plain yield, g is resumed as usual: two
     * fast switches (g, then its subiterator from its delegation loop)
     * cost less than the C path's one. (sub's susp is read relaxed: another
     * thread may resume sub directly meanwhile; the magic is only a hint,
     * which the walk checks again on each level it claims.) */
    yc_gen *sub = (yc_gen *)g->yieldfrom;
    if (r->gen && r->gen->yieldfrom == &g->it && g->yieldfrom->type == &gen_iter_type &&
        __atomic_load_n(&sub->susp, __ATOMIC_RELAXED) == YC__SUSP_FROM && !g->co.exc_info)
        SET_MAGIC(g, YC__GEN_MAGIC_FROM);
    yc__T.cur = r;
    return r;
}

/* Suspends g inside yield from. Returns the sent value, with *wake -1;
 * or, when woken by a throw-style resume, sets *wake to the WAKE_ kind
 * and: for WAKE_RAISE sets *exc (owned) to raise; for WAKE_DONE returns
 * the subiterator's return value; for WAKE_SUBRAISE leaves what the
 * subiterator raised in g's error indicator. Inline (the thread state is read
 * out of line, before the switch), so that the resume lands in
 * yc__yield_from's loop itself: a `ret` after the switch is one the
 * return-stack predictor always misses. */
static inline __attribute__((always_inline)) yc_val suspend_from(yc_gen *g, yc_val v,
                                                                 const char *file, int line,
                                                                 yc_exc **exc, int *wake)
{
    yc__coro *r = suspend_from_prep(g, v, file, line);
    yc__xfer x = yc__coro_jump_x(&g->co, r, YC_YIELD, 0, &g->state, YC_GEN_SUSPENDED, false);
    SET_MAGIC(g, YC__GEN_MAGIC);
    *exc = NULL;
    *wake = -1;
    if (x.b == MARK_META) {
        *wake = (int)x.a;
        if (x.a == WAKE_DONE) {
            yc_val d = g->done;
            g->done = YC_NONE;
            return d;
        }
        if (x.a == WAKE_SUBRAISE) yc__err_set(&g->co, g->exc_in);
        else *exc = g->exc_in;
        g->exc_in = NULL;
        return YC_NONE;
    }
    yc_val sent;
    sent.i = (int64_t)x.a;
    sent.meta = x.b;
    return sent;
}

/* PEP 380. The delegation loop runs in the delegating generator g. */
yc_val yc__yield_from(yc_iter *it, const char *file, int line)
{
    yc_gen *g = current_gen_or_raise("yc_yield_from()");
    g->walk_to = NULL; /* covers nothing yet (read once susp is SUSP_FROM: uncover) */
    if (!it) raise_at(g, yc_exc_new(&yc_TypeError, "'NULL' object is not iterable"), file, line);
    yc_val v = YC_NONE;
    int st = yc_iter_next(it, &v);
    for (;;) {
        if (st < 0 && yc_exc_is(g->co.err, &yc_StopIteration)) {
            /* an iterator that reports exhaustion by raising StopIteration(v) */
            v = yc_exc_value(g->co.err);
            yc__err_set(&g->co, NULL);
            st = YC_RETURN;
        }
        if (st == YC_RETURN) {
            g->yieldfrom = NULL;
            return v;
        }
        if (st < 0) {
            g->yieldfrom = NULL;
            yc__err_raise(file, line, NULL);
        }
        g->yieldfrom = it;
        yc_exc *e;
        int wake;
        yc_val sent = suspend_from(g, v, file, line, &e, &wake);
        if (wake == WAKE_DONE) { /* the subiterator returned, resumed by another */
            g->yieldfrom = NULL;
            return sent;
        }
        if (wake == WAKE_SUBRAISE) { /* it raised, resumed by a chain walk */
            st = YC_RAISE;
            continue;
        }
        if (e) { /* the caller already dealt with the subiterator */
            g->yieldfrom = NULL;
            throw_at(g, e, file, line);
        }
        if (yc_is_none(sent)) {
            st = yc_iter_next(it, &v);
        } else if (it->type->send) {
            st = it->type->send(it, sent, &v);
        } else {
            g->yieldfrom = NULL;
            raise_at(g,
                     yc_exc_new(&yc_AttributeError, "'%s' object has no attribute 'send'",
                                it->type->name ? it->type->name : "iterator"),
                     file, line);
        }
    }
}

/* ---- the caller's side ----------------------------------------------- */

/*
 * Runs g (already claimed: state R) until it yields or finishes, sending v.
 * The generator's side stores the result in *out, moves an escaping
 * exception to our error indicator, restores the current coroutine and
 * publishes the new state, so this is a tail jump: it returns YC_YIELD,
 * YC_RETURN or YC_RAISE straight from the generator's jump.
 */
static inline int gen_go_from(yc__coro *me, yc_gen *g, yc_val v, yc_val *out)
{
    g->co.resumer = me;
    g->out = out ? out : &g->scratch;
    yc__T.cur = &g->co;
    return yc__coro_jump_i(me, &g->co, (uint64_t)v.i, v.meta, &g->state, YC_GEN_RUNNING);
}

static inline int gen_go(yc_gen *g, yc_val v, yc_val *out)
{
    return gen_go_from(yc__cur(), g, v, out);
}

/* As gen_go, waking g through throw_ontop with `kind` (WAKE_RAISE with
 * exc_in set, or WAKE_DONE with done set, by the callers below). */
static inline int gen_go_wake(yc_gen *g, int kind, yc_val *out)
{
    yc__coro *me = yc__cur();
    g->co.resumer = me;
    g->out = out ? out : &g->scratch;
    yc__T.cur = &g->co;
    return yc__coro_jump_ontop_i(me, &g->co, (uint64_t)(uintptr_t)g, (uint64_t)kind, throw_ontop);
}

/* As gen_go, raising e (owned) at g's suspension point. */
static inline int gen_go_throw(yc_gen *g, yc_exc *e, yc_val *out)
{
    g->exc_in = e;
    return gen_go_wake(g, WAKE_RAISE, out);
}

/* Resumes g, suspended in yield from, with its yield from returning v. */
static int gen_go_done(yc_gen *g, yc_val v, yc_val *out)
{
    g->done = v;
    return gen_go_wake(g, WAKE_DONE, out);
}

/* Takes the caller's pending exception (after a failed call). */
static yc_exc *take_err(void) { return yc__err_take_failed(yc__cur()); }

/* Raises e (owned) in g, claimed and suspended in yield from, at its
 * yield from. As in CPython 3.12+, a StopIteration raised there completes
 * the yield from with its value instead. */
static int raise_in_delegator(yc_gen *g, yc_exc *e, yc_val *out)
{
    if (yc_exc_is(e, &yc_StopIteration)) {
        yc_val v = yc_exc_value(e);
        yc_exc_unref(e);
        return gen_go_done(g, v, out);
    }
    return gen_go_throw(g, e, out);
}

/*
 * Throws e (owned) into g, claimed and suspended in yield from. As CPython
 * does, the subiterator is dealt with from here, outside g's frame (g stays
 * RUNNING meanwhile): GeneratorExit closes it, then GeneratorExit (or what
 * the close raised) is raised in g; another exception goes to its throw: if
 * it yields, g stays suspended and the value is returned; if it returns, g
 * resumes with that as the value of its yield from; if it raises (or has no
 * throw), that is raised in g.
 */
static int throw_delegating(yc_gen *g, yc_exc *e, yc_val *out)
{
    yc_iter *it = g->yieldfrom;
    if (yc_exc_is(e, &yc_GeneratorExit)) {
        if (it->type->close && it->type->close(it, NULL) < 0) {
            yc_exc_unref(e);
            return raise_in_delegator(g, take_err(), out);
        }
        return gen_go_throw(g, e, out);
    }
    if (!it->type->throw_) return raise_in_delegator(g, e, out);
    yc_val v = YC_NONE;
    int st = it->type->throw_(it, e, &v);
    yc__coro *me = yc__cur();
    if (st < 0 && yc_exc_is(me->err, &yc_StopIteration)) {
        v = yc_exc_value(me->err); /* a throw reporting its end by StopIteration(v) */
        yc__err_set(me, NULL);
        st = YC_RETURN;
    }
    if (st == YC_YIELD) {
        if (out) *out = v;
        atomic_store_explicit(&g->state, YC_GEN_SUSPENDED, memory_order_release);
        return YC_YIELD;
    }
    if (st == YC_RETURN) return gen_go_done(g, v, out);
    return raise_in_delegator(g, take_err(), out);
}

static bool claim_covered(yc_gen *g, int want, int *from, int to);

/* A claim in C: the compare-and-swap of a move out of S or C, after
 * taking away another thread's bias (claim.h); a covered level through
 * its cover (claim_covered, below). */
static inline bool cas_state(yc_gen *g, int *from, int to)
{
    int want = *from;
    if (YC_LIKELY(yc__claim_cas(g, from, to))) return true;
    if (YC_UNLIKELY(*from == YC__GEN_COVERED || *from == YC__GEN_UNCOVERING))
        return claim_covered(g, want, from, to);
    return false;
}

static inline bool claim(yc_gen *g, int *from) { return cas_state(g, from, YC_GEN_RUNNING); }

/* ---- covered levels ---------------------------------------------------- */

/*
 * A chain walk (chain_send) keeps its result: when the level it switched
 * into yields, the levels it passed become COVERED (YC__GEN_COVERED)
 * instead of SUSPENDED again, each one's cover the walker R (the generator
 * whose delegation loop sent to the chain's top, r->yieldfrom), and
 * R->walk_to the level it switched into. While nothing else touches the
 * chain, R's next send from its delegation loop goes straight to walk_to
 * (cover_send): the levels between are not read or written, whatever
 * their number. Their walk_up links stay valid: a covered level does not
 * run.
 *
 * A covered level is RUNNING exactly when its cover is (R runs its
 * delegation loop, which does nothing but send to the chain, or the step
 * it started), SUSPENDED otherwise (gen_state). Only the holder of R's
 * claim changes R's covered levels: it uncovers them (SUSPENDED again)
 * before it does anything with R other than the resume that lands in R's
 * delegation loop (yc_throw, yc_close, yc_gen_free through yc_close,
 * yc_gen_stack_trim: claim_use), and any other claim of a covered level
 * claims its cover first, uncovers it and lets it go (claim_covered): a
 * cover running means the level is busy, as CPython's frames are during
 * the step. The fast paths never see the state: a covered level keeps
 * YC__GEN_MAGIC_FROM, which sends it to the C path.
 *
 * A claim from elsewhere holds the cover in its own state while it
 * uncovers (YC__GEN_UNCOVERING, a few stores): a claim of the cover or of
 * one of its levels that finds it waits for it to end, so the cover's own
 * next is never refused because another thread touched a level below.
 */

__attribute__((noinline)) static void uncover_slow(yc_gen *r)
{
    yc_gen *k = r->walk_to;
    r->walk_to = NULL;
    /* each level's link read before it is let go: once SUSPENDED, another
     * thread may claim it and start another yield from there */
    for (yc_gen *d = (yc_gen *)r->yieldfrom, *next; d != k; d = next) {
        next = (yc_gen *)d->yieldfrom;
        atomic_store_explicit(&d->state, YC_GEN_SUSPENDED, memory_order_release);
    }
}

/* Gives up what r covers: its covered levels SUSPENDED again (release: a
 * claimant that takes r's claim next sees them so). Only by the holder of
 * r's claim. (walk_to is set on entering yield from, not at creation: a
 * generator never suspended in yield from has garbage there.) */
static inline void uncover(yc_gen *r)
{
    if (YC_UNLIKELY(r->susp == YC__SUSP_FROM && r->walk_to != NULL)) uncover_slow(r);
}

/* g's state as the public API shows it: a covered level's is its cover's
 * (RUNNING, or SUSPENDED). */
static int gen_state(const yc_gen *g)
{
    int s = atomic_load_explicit(&((yc_gen *)g)->state, memory_order_acquire);
    for (int n = 0; s == YC__GEN_COVERED; n++) {
        g = atomic_load_explicit(&((yc_gen *)g)->cover, memory_order_relaxed);
        if (!g || n > 64) return YC_GEN_SUSPENDED; /* (uncovered meanwhile) */
        s = atomic_load_explicit(&((yc_gen *)g)->state, memory_order_acquire);
        if (s != YC__GEN_COVERED) return s == YC_GEN_RUNNING ? YC_GEN_RUNNING : YC_GEN_SUSPENDED;
    }
    return s == YC__GEN_UNCOVERING ? YC_GEN_SUSPENDED : s;
}

/*
 * cas_state's rare case: g was found COVERED or UNCOVERING. For COVERED:
 * holds g's cover r (unless this coroutine is r, whose claim is then held
 * here) in YC__GEN_UNCOVERING, uncovers it, lets it go (SUSPENDED), and
 * claims g again from `want`; UNCOVERING (g is a cover that another claim
 * is uncovering): waits for it to end, then claims again. false, with
 * *from the state found (never COVERED or UNCOVERING): RUNNING when r runs
 * (g is part of r's step).
 */
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

__attribute__((noinline)) static bool claim_covered(yc_gen *g, int want, int *from, int to)
{
    for (int spins = 0;; spins++) {
        int s = atomic_load_explicit(&g->state, memory_order_acquire);
        if (s == YC__GEN_UNCOVERING) {
            /* no user code runs there: a few stores, unless preempted */
            if (spins < 64) cpu_relax();
            else sched_yield();
            continue;
        }
        if (s == YC__GEN_COVERED) {
            yc_gen *r = atomic_load_explicit(&g->cover, memory_order_relaxed);
            yc__coro *me = yc__T.cur;
            if (me && me->gen == r) {
                if (r->walk_to) uncover_slow(r);
                else atomic_store_explicit(&g->state, YC_GEN_SUSPENDED, memory_order_release);
                /* (the second: a level r no longer covers, never left so) */
            } else {
                int rs = YC_GEN_SUSPENDED;
                if (!cas_state(r, &rs, YC__GEN_UNCOVERING)) {
                    if (atomic_load_explicit(&g->state, memory_order_acquire) != YC__GEN_COVERED ||
                        atomic_load_explicit(&g->cover, memory_order_relaxed) != r)
                        continue; /* uncovered meanwhile: try g again */
                    *from = YC_GEN_RUNNING;
                    return false;
                }
                uncover(r);
                atomic_store_explicit(&r->state, YC_GEN_SUSPENDED, memory_order_release);
            }
        }
        int f = want;
        if (yc__claim_cas(g, &f, to)) {
            *from = want; /* as a claim that succeeds at once leaves it */
            return true;
        }
        if (f != YC__GEN_COVERED && f != YC__GEN_UNCOVERING) {
            *from = f;
            return false;
        }
    }
}

/* A claim for anything but a resume into g's body: as claim, and g gives
 * up what it covers. */
static inline bool claim_use(yc_gen *g, int *from)
{
    if (!claim(g, from)) return false;
    uncover(g);
    return true;
}

bool yc__gen_claim(yc_gen *g, int *from) { return claim_use(g, from); }

/*
 * The claim of a level below the one resumed, in a chain walk (S -> R; false
 * when g is in any other state): where this thread owns g's bias, the
 * owner's plain claim, as the fast paths' RESUME_CLAIM does it
 * (src/arch/fast_path_x86_64.S; the handshake with a revoker is
 * tests/model/bias.pml): announce, check the owner again, check and store
 * the state, withdraw the announce; plain stores in that order (the
 * compiler fences keep it; x86-64 keeps stores in order, and a revoker's
 * membarrier orders the announce before the owner's load). A lock'd
 * compare-and-swap a level would cost about as much as the rest of its
 * walk. Elsewhere, the compare-and-swap.
 */
static inline bool claim_walk(yc_gen *g)
{
#if YC_FAST_PATH
    uintptr_t me = (uintptr_t)&yc__T;
    if (YC_LIKELY(atomic_load_explicit(&g->owner, memory_order_relaxed) == me)) {
        atomic_store_explicit(&g->claiming, 1, memory_order_relaxed);
        atomic_signal_fence(memory_order_seq_cst);
        bool ok = atomic_load_explicit(&g->owner, memory_order_relaxed) == me &&
                  atomic_load_explicit(&g->state, memory_order_relaxed) == YC_GEN_SUSPENDED;
        if (ok) atomic_store_explicit(&g->state, YC_GEN_RUNNING, memory_order_relaxed);
        atomic_signal_fence(memory_order_seq_cst);
        atomic_store_explicit(&g->claiming, 0, memory_order_relaxed);
        if (ok) return true;
    }
#endif
    int from = YC_GEN_SUSPENDED;
    return claim(g, &from);
}

/*
 * Whether this resume of g comes from g's delegator, in its delegation
 * loop: only then may it walk g's chain (chain_send). The walk makes its
 * caller the innermost generator's resumer, skipping the levels between;
 * the event loop's park follows resumers from the coroutine that awaits up
 * to its task's generator (src/task.c), so the caller must be inside the
 * chain, never the loop stepping a task whose own generator delegates. A
 * chain's top, resumed by anyone else, is resumed as usual, and its
 * delegation loop walks from the level below.
 */
static inline bool by_delegator(const yc_gen *g)
{
    const yc__coro *me = yc__T.cur;
    return me && me->gen && me->gen->yieldfrom == &g->it;
}

/* The rest of a walk from top (claimed, as every level from top down to
 * d's walk_up) once d, resumed by r's delegation loop, has come back with
 * st: a yield covers the levels passed (r holds them, r->walk_to = d); a
 * return or raise wakes the level above with it, and so on up to top. */
static int chain_wake(yc_gen *r, yc_gen *top, yc_gen *d, int st, yc_val *out)
{
    while (d != top) {
        yc_gen *up = d->walk_up;
        if (st == YC_YIELD) {
            for (;; up = up->walk_up) {
                SET_MAGIC(up, YC__GEN_MAGIC_FROM); /* (the level over d's may be plain) */
                atomic_store_explicit(&up->cover, r, memory_order_relaxed);
                atomic_store_explicit(&up->state, YC__GEN_COVERED, memory_order_release);
                if (up == top) break;
            }
            r->walk_to = d;
            return YC_YIELD;
        }
        if (st == YC_RETURN) {
            st = gen_go_done(up, *d->out, out);
        } else {
            up->exc_in = take_err();
            st = gen_go_wake(up, WAKE_SUBRAISE, out);
        }
        d = up;
    }
    return st;
}

/*
 * yield from resumed at the innermost generator (issue 12; docs/design.md,
 * "A chain resumed at its innermost level"). Sends v (None for a next)
 * into top, claimed and suspended in yield from, resumed by its delegator
 * (by_delegator), through its chain of stackful delegations: goes down the
 * levels suspended in yield from over a suspended stackful generator
 * (claiming each one: RUNNING, as CPython's frames all are during the
 * step), and switches straight into the deepest, with this caller as its
 * resumer, so its yield comes back here with the value already in *out.
 * The levels passed on the way down are then left covered by the
 * caller's generator (chain_wake; "covered levels" above), so that its
 * next send goes straight to the deepest again (cover_send). When the
 * deepest returns or raises, the level above is resumed inside its
 * delegation loop with that result, exactly as its own
 * call of the subiterator's next would have returned it (so PEP 380's and
 * PEP 479's handling, the traceback entries and the exception context are
 * each level's own code), and so on up to top.
 *
 * The walk stops (and the level reached is resumed as usual, its
 * delegation loop calling what is below) at a subiterator that is not a
 * stackful generator or cannot be claimed (running: the level's own call
 * then raises "generator already executing" there, as in CPython; closed;
 * being created), and at a level handling an exception: the deepest's
 * resumer is this caller, and yc__handled walks resumers, so a level
 * skipped must have nothing handled to show. The level over a generator
 * at a plain yield is passed (only a top over one is resumed as usual,
 * by its magic: suspend_from_prep): the walk ends in the generator that
 * yields.
 */
static int chain_send(yc_gen *r, yc_gen *top, yc_val v, yc_val *out)
{
    yc_gen *d = top;
    /* d's magic says its subiterator is a stackful generator and nothing
     * is handled in d (suspend_from_prep; fixed while d is suspended);
     * below top, a level over a generator at a plain yield (whose magic
     * is plain) is passed too when the same holds: the walk goes to the
     * generator that yields */
    while (MAGIC(d) == YC__GEN_MAGIC_FROM ||
           (d->susp == YC__SUSP_FROM && d->yieldfrom->type == &gen_iter_type && !d->co.exc_info)) {
        yc_gen *s = (yc_gen *)d->yieldfrom;
        if (!GEN_OK(s) || !claim_walk(s)) break;
        s->walk_up = d;
        d = s;
    }
    return chain_wake(r, top, d, gen_go(d, v, out), out);
}

/*
 * The cached send: r's delegation loop sends v to top, the first of the
 * levels r covers, whose walk ended at k (claimed here): switches straight
 * into k. A yield leaves the chain as it was. A return or raise: the
 * levels between take part in the wake-up as after a walk (RUNNING, each
 * one's walk_up its level above: k's may have been changed by a walk of
 * another chain through k meanwhile), and r covers nothing.
 */
static int cover_send(yc_gen *r, yc_gen *top, yc_gen *k, yc_val v, yc_val *out)
{
    int st = gen_go(k, v, out);
    if (YC_LIKELY(st == YC_YIELD)) return st;
    r->walk_to = NULL;
    for (yc_gen *d = top;;) {
        atomic_store_explicit(&d->state, YC_GEN_RUNNING, memory_order_relaxed);
        yc_gen *s = (yc_gen *)d->yieldfrom;
        s->walk_up = d;
        if (s == k) break;
        d = s;
    }
    return chain_wake(r, top, k, st, out);
}

static int send_slow(yc_gen *g, yc_val v, yc_val *out, int s)
{
    for (;;) {
        switch (s) {
        case YC_GEN_CREATED:
            if (!yc_is_none(v))
                return yc__fail(YC_EINVAL, &yc_TypeError,
                                "can't send non-None value to a just-started generator");
            if (claim(g, &s)) return gen_go(g, v, out);
            continue; /* lost a race: s holds the new state */
        case YC_GEN_SUSPENDED:
            /* the fast paths send a generator with the FROM magic here
             * (its claim as cheap as theirs); the magic is a hint, read
             * again by chain_send once g is claimed */
            if (MAGIC(g) == YC__GEN_MAGIC_FROM && by_delegator(g) && claim_walk(g))
                return chain_send(yc__T.cur->gen, g, v, out);
            if (!claim(g, &s)) continue;
            return gen_go(g, v, out);
        case YC__GEN_COVERED: {
            /* by its cover's delegation loop: the cached send; else the
             * claim above resolves the cover (claim_covered) */
            yc__coro *me = yc__T.cur;
            yc_gen *r = atomic_load_explicit(&g->cover, memory_order_relaxed);
            if (me && me->gen == r && r->yieldfrom == &g->it) {
                yc_gen *k = r->walk_to;
                if (YC_LIKELY(GEN_OK(k) && claim_walk(k))) return cover_send(r, g, k, v, out);
                uncover(r); /* k changed: walk again */
            }
            s = YC_GEN_SUSPENDED;
            continue;
        }
        case YC__GEN_UNCOVERING: /* the claim waits for it to end */
            s = YC_GEN_SUSPENDED;
            continue;
        case YC_GEN_RUNNING:
            return busy(g, "anext");
        default: /* closed: a fresh StopIteration() every time */
            if (out) *out = YC_NONE;
            return YC_RETURN;
        }
    }
}

/* The misuse and first-use cases of next/send, kept out of the fast path
 * so that it needs no stack frame. */
__attribute__((noinline)) static int send_cold(yc_gen *g, yc_val v, yc_val *out)
{
    if (!GEN_OK(g)) return bad_gen(g);
    (void)yc__cur(); /* first use on this thread */
    return send_slow(g, v, out, atomic_load_explicit(&g->state, memory_order_acquire));
}

/* yc_send and yc_next (with YC_FAST_PATH: what the assembly's yc_send
 * and yc_next fall back to when the fast claim does not apply; they are
 * this code's first branch and claim, with gen_go_from inlined). */
int GEN_SEND(yc_gen *g, yc_val v, yc_val *out)
{
    yc__coro *me = yc__T.cur;
    if (YC_UNLIKELY(!GEN_PLAIN(g) || !me)) return send_cold(g, v, out);
    int s = YC_GEN_SUSPENDED;
    if (YC_LIKELY(claim(g, &s))) return gen_go_from(me, g, v, out);
    return send_slow(g, v, out, s);
}

/* next expects the state it finds (one compare-and-swap, not a failing one
 * first: with the fast path, this code mostly runs for a generator's first
 * next, on CREATED). */
int GEN_NEXT(yc_gen *g, yc_val *out)
{
    yc__coro *me = yc__T.cur;
    if (YC_UNLIKELY(!GEN_PLAIN(g) || !me)) return send_cold(g, YC_NONE, out);
    int s = atomic_load_explicit(&g->state, memory_order_relaxed);
    if (YC_LIKELY(s == YC_GEN_SUSPENDED || s == YC_GEN_CREATED) && claim(g, &s))
        return gen_go_from(me, g, YC_NONE, out);
    return send_slow(g, YC_NONE, out, s);
}

int yc_throw(yc_gen *g, yc_exc *e, yc_val *out)
{
    if (!yc__exc_valid(e)) return yc__not_an_exception(e);
    if (!GEN_OK(g)) {
        yc_exc_unref(e);
        return bad_gen(g);
    }
    if (out) *out = YC_NONE;
    int s = YC_GEN_SUSPENDED;
    for (;;) {
        switch (s) {
        case YC_GEN_SUSPENDED:
            if (!claim_use(g, &s)) continue;
            if (g->susp == YC__SUSP_FROM) return throw_delegating(g, e, out);
            return gen_go_throw(g, e, out);
        case YC_GEN_CREATED:
            /* raised before the first instruction: no try in the body can
             * see it; the generator is closed without running */
            if (!cas_state(g, &s, YC_GEN_CLOSED)) continue;
            yc__err_set(yc__cur(), e);
            return YC_RAISE;
        case YC_GEN_RUNNING:
            yc_exc_unref(e);
            return busy(g, "athrow");
        default:
            yc__err_set(yc__cur(), e);
            return YC_RAISE;
        }
    }
}

int yc_close(yc_gen *g, yc_val *out)
{
    if (!GEN_OK(g)) return bad_gen(g);
    if (out) *out = YC_NONE;
    int s = YC_GEN_SUSPENDED;
    for (;;) {
        switch (s) {
        case YC_GEN_SUSPENDED: {
            if (!claim(g, &s)) continue;
            if (!g->co.handlers && g->susp == YC__SUSP_YIELD) {
                /* No try block is open in the body and no subiterator is
                 * delegated to: GeneratorExit raised at the yield could only
                 * propagate straight out, running nothing. So close without
                 * resuming: same outcome, no exception to make. */
                atomic_store_explicit(&g->state, YC_GEN_CLOSED, memory_order_release);
                return YC_OK;
            }
            uncover(g); /* (claim_use's, here: at a plain yield g covers nothing) */
            /* A delegating generator's subiterator is closed first, from
             * here (CPython's order); what that close raises replaces the
             * GeneratorExit. The GeneratorExit is made here, so chained to
             * what the caller is handling, as CPython's close does;
             * throw_at replaces that context with the generator's own
             * handled exception if it has one. */
            yc_exc *ge = NULL;
            if (g->susp == YC__SUSP_FROM && g->yieldfrom->type->close &&
                g->yieldfrom->type->close(g->yieldfrom, NULL) < 0)
                ge = take_err();
            if (!ge) {
                ge = yc_exc_new(&yc_GeneratorExit, NULL);
                yc__exc_chain(ge, yc__handled(yc__cur()));
            }
            yc_val v;
            int st = gen_go_throw(g, ge, &v);
            if (st == YC_YIELD) {
                /* a traceback entry at the yield that ignored it (5.10: the
                 * unraisable hook's report prints one; CPython's names the
                 * frame that closed the generator, which a function cannot
                 * know here: the yield says more) */
                yc__fail(YC_RAISE, &yc_RuntimeError, "generator ignored GeneratorExit");
                if (g->yield_file)
                    yc__tb_add(yc__cur()->err, g->yield_file, g->yield_line, g->name, g->name);
                return YC_RAISE;
            }
            if (st == YC_RETURN) {
                if (out) *out = v; /* 3.13: the value of a generator that caught it */
                return YC_OK;
            }
            yc__coro *me = yc__cur();
            if (yc_exc_is(me->err, &yc_GeneratorExit)) {
                yc__err_set(me, NULL);
                return YC_OK;
            }
            return YC_RAISE;
        }
        case YC_GEN_CREATED:
            if (!cas_state(g, &s, YC_GEN_CLOSED)) continue;
            return YC_OK;
        case YC_GEN_RUNNING:
            return busy(g, "aclose");
        default:
            return YC_OK;
        }
    }
}

/* ---- creation and destruction ---------------------------------------- */

yc_gen *yc_gen_new(yc_gen_fn fn, void *arg, const yc_gen_opts *opts)
{
    if (!fn) {
        yc__fail(YC_EINVAL, &yc_TypeError, "yc_gen_new: generator function is NULL");
        return NULL;
    }
    size_t stack = opts && opts->stack_size ? opts->stack_size : YC_STACK_DEFAULT;
    if (stack < YC_STACK_MIN || stack > ((size_t)1 << 40)) {
        yc__fail(YC_EINVAL, &yc_ValueError,
                 "yc_gen_new: stack_size %zu is outside [%u, 2^40]", stack, YC_STACK_MIN);
        return NULL;
    }
    unsigned flags = opts ? opts->flags : 0;
    if (flags & ~YC_GEN_SHARE_FPENV) {
        yc__fail(YC_EINVAL, &yc_ValueError, "yc_gen_new: unknown flags 0x%x",
                 flags & ~YC_GEN_SHARE_FPENV);
        return NULL;
    }
    /* The generator's header sits at the top of its stack mapping, with its
     * name after it; the stack proper is everything below. */
    size_t header = YC__GEN_HEADER_MAX;
    yc__coro *me = yc__cur();
    yc__thread *T = &yc__T;
    yc__stack st;
    int err = yc__stack_get(T, stack + header, &st);
    if (YC_UNLIKELY(err > 0)) {
        yc_exc *e = yc_exc_new_errno(&yc_OSError, err, "cannot map a %zu-byte generator stack",
                                     stack);
        yc__exc_chain(e, yc__handled(me));
        yc__err_set(me, e);
        return NULL;
    }
    char *top = st.map + st.map_size;
    yc_gen *g = (yc_gen *)(top - header);
    /* The fields that depend on the stack alone. A stack this thread freed
     * last (YC__STACK_WARM) comes back with its last generator's header
     * as yc_gen_free left it, at this address: they hold these values. */
    void *lo;
    if (YC_LIKELY(err == YC__STACK_WARM)) {
        lo = (void *)g->co.stack_lo;
    } else {
        g->it.type = &gen_iter_type;
        g->stack = st;
        g->co.gen = g;
        lo = st.map + yc__page_size();
    }
    /* a name of the caller's is copied after the header; the default one
     * is the constant itself (no length to measure, nothing to copy) */
    const char *nm = "generator";
    if (opts && opts->name) {
        size_t nlen = strnlen(opts->name, NAME_MAX_LEN);
        char *copy = (char *)(g + 1);
        memcpy(copy, opts->name, nlen);
        copy[nlen] = '\0';
        nm = copy;
    }
    /* field by field, not memset: this is on the create fast path, and a
     * block clear of the whole header costs more than these stores */
    g->magic = YC__GEN_MAGIC;
    atomic_init(&g->state, YC_GEN_CREATED);
    atomic_init(&g->owner, yc__bias_owner());
    atomic_init(&g->claiming, 0);
    g->flags = flags;
    g->fn = fn;
    g->arg = arg;
    g->out = &g->scratch;
    g->scratch = YC_NONE;
    g->done = YC_NONE;
    g->exc_in = NULL;
    g->yield_file = NULL;
    g->yield_line = 0;
    g->susp = YC__SUSP_YIELD;
    g->yieldfrom = NULL;
    g->name = nm;
    g->co.resumer = NULL;
    g->co.handlers = NULL;
    g->co.exc_info = NULL;
    g->co.err = NULL;
    g->co.parked = false;
    g->co.in_throw = false;
    g->co.throwing = false;
    g->co.name = nm;
    yc__coro_init(&g->co, lo, (char *)g, gen_entry, g);
    T->gens++;
    return g;
}

static void describe(const yc_gen *g, char *buf, size_t n)
{
    snprintf(buf, n, "<generator object %s at %p>", g->name, (const void *)g);
}

/* yc_gen_free's finalisation of a suspended g: closes it so its finally
 * blocks run (5.10), an error it raises going to the unraisable hook.
 * YC_OK, or YC_EBUSY (g is running after all: nothing done). Out of line:
 * its buffer would give the common path a large frame. */
static __attribute__((noinline)) int free_close(yc_gen *g)
{
    yc__coro *me = yc__cur();
    yc_exc *saved = me->err; /* the caller's pending error survives */
    me->err = NULL;
    int st = yc_close(g, NULL);
    if (st == YC_EBUSY) {
        yc__err_set(me, saved);
        return busy(g, "aclose");
    }
    if (st < 0) {
        char obj[320];
        describe(g, obj, sizeof obj);
        yc__unraisable(me->err, obj);
    }
    yc__err_set(me, saved);
    return YC_OK;
}

int yc_gen_free(yc_gen *g)
{
    if (!GEN_OK(g)) return bad_gen(g);
    int s = gen_state(g);
    if (s == YC_GEN_RUNNING) return busy(g, "aclose");
    if (s == YC_GEN_SUSPENDED && free_close(g) != YC_OK) return YC_EBUSY;
    /* A generator abandoned while suspended (it ignored GeneratorExit)
     * still has try blocks open on its stack, each owning the exception
     * it was handling, and with blocks owning their managers: release them
     * (innermost first) before the stack goes. As in CPython, whose frame
     * is cleared without running the rest of the body, no exit runs. */
    for (yc__try *t = g->co.handlers; t; t = t->prev) {
        yc_exc_unref(t->exc);
        t->exc = NULL;
        yc__free(t->ret); /* a YC_RETURN that was running its finally blocks */
        t->ret = NULL;
        if (t->abandon) t->abandon(t);
    }
    g->co.handlers = NULL;
    yc__thread *T = &yc__T;
    yc__stack st = g->stack;
    if (g->exc_in) yc_exc_unref(g->exc_in); /* (mostly NULL: no call then) */
    if (g->co.err) yc_exc_unref(g->co.err);
    yc__coro_destroy(&g->co);
#if YC_ASAN
    /* frames left on an abandoned stack keep their redzones poisoned: clear
     * them before the memory serves another generator */
    __asan_unpoison_memory_region(g->co.stack_lo, g->co.stack_size);
#endif
    g->magic = YC__GEN_DEAD;
    T->gens--;
    yc__stack_put(T, &st);
    return YC_OK;
}

/* ---- introspection --------------------------------------------------- */

yc_gen_state yc_gen_state_of(const yc_gen *g)
{
    return GEN_OK(g) ? (yc_gen_state)gen_state(g) : YC_GEN_CLOSED;
}

const char *yc_gen_state_name(yc_gen_state s)
{
    switch (s) {
    case YC_GEN_CREATED: return "GEN_CREATED";
    case YC_GEN_RUNNING: return "GEN_RUNNING";
    case YC_GEN_SUSPENDED: return "GEN_SUSPENDED";
    case YC_GEN_CLOSED: return "GEN_CLOSED";
    }
    return "GEN_UNKNOWN";
}

const char *yc_gen_name(const yc_gen *g) { return GEN_OK(g) ? g->name : NULL; }

yc_iter *yc_gen_yieldfrom(const yc_gen *g)
{
    if (!GEN_OK(g) || gen_state(g) != YC_GEN_SUSPENDED) return NULL;
    return g->yieldfrom;
}

size_t yc_gen_stack_size(const yc_gen *g)
{
    return GEN_OK(g) ? g->co.stack_size : 0;
}

yc_iter *yc_gen_iter(yc_gen *g) { return GEN_OK(g) ? &g->it : NULL; }

yc_gen *yc_gen_current(void) { return yc__cur()->gen; }

/* ---- a generator as an iterator -------------------------------------- */

/* With the fast paths, next is yc_next's assembly itself (no jump in
 * between, and yc_iter_next's tail call reaches it without a frame). */
#if YC_FAST_PATH
#  define GEN_ITER_NEXT yc__gen_iter_next
#else
static int it_next(yc_iter *it, yc_val *out) { return yc_next((yc_gen *)it, out); }
#  define GEN_ITER_NEXT it_next
#endif
static int it_send(yc_iter *it, yc_val v, yc_val *out) { return yc_send((yc_gen *)it, v, out); }
static int it_throw(yc_iter *it, yc_exc *e, yc_val *out) { return yc_throw((yc_gen *)it, e, out); }
static int it_close(yc_iter *it, yc_val *out) { return yc_close((yc_gen *)it, out); }
static void it_free(yc_iter *it) { yc_gen_free((yc_gen *)it); }

static const yc_iter_type gen_iter_type = {
    .name = "generator",
    .next = GEN_ITER_NEXT,
    .send = it_send,
    .throw_ = it_throw,
    .close = it_close,
    .free = it_free,
};
