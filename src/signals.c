/*
 * Signals as loop callbacks, asyncio.Runner's Ctrl-C, and SIGPIPE.
 *
 * The process-wide handler (installed with sigaction for each signal a
 * loop handles) is async-signal-safe and tiny: it sets the signal's bit
 * in the owning loop's pending mask and wakes the loop through the
 * eventfd of its thread-safe calls (an atomic exchange and a write). On
 * its next iteration the loop's on_wake hook takes the mask and schedules
 * each signal's node (made when its handler was added, so this cannot
 * fail) in the ready queue. docs/design.md says why this and not
 * signalfd.
 *
 * One loop owns a signal at a time (owner[]). Removing a handler restores
 * the disposition from before the first add, then waits until no handler
 * invocation still reads the old owner (in_handler), so the loop's state
 * can be freed right after.
 */
#define _GNU_SOURCE
#include "loop.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>

#define NSIGS 65 /* Linux: 1..64 */

/* A signal's node in the ready queue, made when its handler is added, so
 * that scheduling the callback cannot fail. Freed when the handler goes,
 * or, when it is queued then, by the ready queue's drop. */
typedef struct sig_node {
    yc__handle h; /* first */
    struct yc__sigs *s;
    int sig;
} sig_node;

typedef struct yc__sigs {
    yc__close_hook hook; /* first: the close hook is the state */
    yc_loop *loop;
    _Atomic uint64_t pending; /* bit sig-1: arrived, callback not yet scheduled */
    struct {
        yc_callback_fn fn; /* NULL: none */
        void *arg;
        sig_node *node;
        struct sigaction old; /* the disposition to restore */
    } h[NSIGS];
    /* asyncio.Runner's Ctrl-C (yc_loop_run) */
    yc_task *main_task; /* borrowed while the run lasts */
    int interrupts;
} yc__sigs;

static yc__sigs *_Atomic owner[NSIGS];
static _Atomic int in_handler;

static void on_signal(int sig)
{
    atomic_fetch_add(&in_handler, 1);
    yc__sigs *s = sig > 0 && sig < NSIGS ? atomic_load(&owner[sig]) : NULL;
    if (s) {
        atomic_fetch_or(&s->pending, (uint64_t)1 << (sig - 1));
        yc__loop_wake(s->loop);
    }
    atomic_fetch_sub(&in_handler, 1);
}

/* signal.valid_signals() on Linux: 1..64 without glibc's reserved 32, 33. */
static bool valid_signal(int sig)
{
    return sig >= 1 && sig < NSIGS && (sig < 32 || sig >= SIGRTMIN);
}

static void sig_run(yc__handle *h)
{
    sig_node *n = (sig_node *)h;
    yc__sigs *s = n->s;
    /* the callback may remove its own handler (freeing n): read first */
    yc__loop_call_user(s->loop, s->h[n->sig].fn, s->h[n->sig].arg);
}

static void sig_drop(yc__handle *h) { yc__free(h); }

/* On the loop's thread, after each drain of the eventfd: queues the nodes
 * of the signals that arrived (one already queued stays as it is). */
static void sigs_on_wake(yc_loop *L)
{
    yc__sigs *s = L->sigs;
    uint64_t p = atomic_exchange(&s->pending, 0);
    for (int sig = 1; p && sig < NSIGS; sig++) {
        uint64_t bit = (uint64_t)1 << (sig - 1);
        if (!(p & bit)) continue;
        p &= ~bit;
        sig_node *n = s->h[sig].node;
        if (!n || n->h.queued) continue; /* removed meanwhile, or due already */
        n->h.cancelled = false;
        yc__loop_ready(L, &n->h);
    }
}

/* Stops handling sig in s: the old disposition back, the owner cleared
 * once no handler invocation can still read it. */
static void unhandle(yc__sigs *s, int sig)
{
    sigaction(sig, &s->h[sig].old, NULL);
    atomic_store(&owner[sig], NULL);
#if YC_TSAN
    atomic_fetch_sub(&yc__tsan_sig_handlers, 1);
#endif
    while (atomic_load(&in_handler) > 0) sched_yield();
    sig_node *n = s->h[sig].node;
    if (n->h.queued) n->h.cancelled = true; /* the ready queue drops it */
    else yc__free(n);
    s->h[sig].node = NULL;
    s->h[sig].fn = NULL;
    s->h[sig].arg = NULL;
    atomic_fetch_and(&s->pending, ~((uint64_t)1 << (sig - 1)));
}

static void sigs_close(yc_loop *L, yc__close_hook *h)
{
    yc__sigs *s = (yc__sigs *)h;
    for (int sig = 1; sig < NSIGS; sig++)
        if (s->h[sig].fn) unhandle(s, sig);
    L->on_wake = NULL;
    L->sigs = NULL;
    yc__free(s);
}

static yc__sigs *sigs_of(yc_loop *L)
{
    if (L->sigs) return L->sigs;
    yc__sigs *s = yc__malloc(sizeof *s);
    if (!s) {
        yc__fail(YC_ENOMEM, &yc_MemoryError, NULL);
        return NULL;
    }
    memset(s, 0, sizeof *s);
    s->loop = L;
    s->hook.fn = sigs_close;
    yc__loop_add_close_hook(L, &s->hook);
    L->sigs = s;
    L->on_wake = sigs_on_wake;
    return s;
}

static int invalid_signal(int sig)
{
    return yc__fail(YC_EINVAL, &yc_ValueError, "invalid signal number %d", sig);
}

int yc_loop_add_signal_handler(yc_loop *L, int sig, yc_callback_fn fn, void *arg)
{
    if (!L) return yc__fail(YC_EINVAL, &yc_TypeError, "loop is NULL");
    if (!yc__loop_ok(L)) return yc__fail(YC_EINVAL, &yc_ValueError, "not a live event loop");
    if (!fn) return yc__fail(YC_EINVAL, &yc_TypeError, "callback is NULL");
    if (!valid_signal(sig)) return invalid_signal(sig);
    if (L->state == LOOP_CLOSED) return yc__loop_closed_error();
    if (sig == SIGKILL || sig == SIGSTOP)
        return yc__fail(YC_EINVAL, &yc_RuntimeError, "sig %d cannot be caught", sig);
    yc__sigs *cur = atomic_load(&owner[sig]);
    if (cur && cur->loop != L)
        return yc__fail(YC_EINVAL, &yc_RuntimeError, "sig %d is handled by another event loop",
                        sig);
    yc__sigs *s = sigs_of(L);
    if (!s) return YC_ENOMEM;
    if (!s->h[sig].fn) {
        sig_node *n = yc__malloc(sizeof *n);
        if (!n) return yc__fail(YC_ENOMEM, &yc_MemoryError, NULL);
        memset(n, 0, sizeof *n);
        n->h.run = sig_run;
        n->h.drop = sig_drop;
        n->s = s;
        n->sig = sig;
        yc__sigs *expected = NULL;
        if (!atomic_compare_exchange_strong(&owner[sig], &expected, s)) {
            yc__free(n);
            return yc__fail(YC_EINVAL, &yc_RuntimeError,
                            "sig %d is handled by another event loop", sig);
        }
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sa.sa_flags = SA_RESTART; /* asyncio's siginterrupt(sig, False) */
        sigfillset(&sa.sa_mask);
        if (sigaction(sig, &sa, &s->h[sig].old) != 0) {
            int err = errno;
            atomic_store(&owner[sig], NULL);
            yc__free(n);
            if (err == EINVAL)
                return yc__fail(YC_EINVAL, &yc_RuntimeError, "sig %d cannot be caught", sig);
            yc_err_set(yc_exc_new_errno(&yc_OSError, err, NULL));
            return YC_EINVAL;
        }
        s->h[sig].node = n;
#if YC_TSAN
        atomic_fetch_add(&yc__tsan_sig_handlers, 1);
#endif
    }
    s->h[sig].fn = fn;
    s->h[sig].arg = arg;
    return YC_OK;
}

int yc_loop_remove_signal_handler(yc_loop *L, int sig)
{
    if (!L) return yc__fail(YC_EINVAL, &yc_TypeError, "loop is NULL");
    if (!yc__loop_ok(L)) return yc__fail(YC_EINVAL, &yc_ValueError, "not a live event loop");
    if (!valid_signal(sig)) return invalid_signal(sig);
    yc__sigs *s = L->sigs;
    if (!s || !s->h[sig].fn) return 0;
    unhandle(s, sig);
    return 1;
}

/* ---- asyncio.Runner's Ctrl-C ----------------------------------------- */

/* Runner._on_sigint, run as a loop callback: the first Ctrl-C cancels the
 * main task; another one (or one after it is done) raises
 * KeyboardInterrupt, which stops the loop and comes out of the run. */
static void runner_on_sigint(void *arg)
{
    yc__sigs *s = ((yc_loop *)arg)->sigs;
    s->interrupts++;
    if (s->interrupts == 1 && s->main_task && !yc_task_done(s->main_task)) {
        yc_task_cancel(s->main_task, NULL);
        return;
    }
    yc_raise(yc_exc_new(&yc_KeyboardInterrupt, NULL));
}

bool yc__runner_sigint_begin(yc_loop *L, yc_task *main_task)
{
    struct sigaction old;
    if (sigaction(SIGINT, NULL, &old) != 0 || (old.sa_flags & SA_SIGINFO) ||
        old.sa_handler != SIG_DFL || atomic_load(&owner[SIGINT]))
        return false; /* the program handles Ctrl-C itself */
    if (yc_loop_add_signal_handler(L, SIGINT, runner_on_sigint, L) < 0) {
        yc_err_clear();
        return false;
    }
    L->sigs->main_task = main_task;
    L->sigs->interrupts = 0;
    return true;
}

void yc__runner_sigint_end(yc_loop *L, yc_task *main_task, bool installed, int *st)
{
    if (!installed) return;
    yc__sigs *s = L->sigs;
    int interrupts = s ? s->interrupts : 0;
    if (s) s->main_task = NULL;
    if (s && s->h[SIGINT].fn == runner_on_sigint) yc_loop_remove_signal_handler(L, SIGINT);
    if (*st < 0 && interrupts > 0 && yc_exc_is(yc_err_get(), &yc_CancelledError) &&
        yc_task_uncancel(main_task) == 0) {
        yc_exc *cancelled = yc_err_take();
        yc_exc *e = yc_exc_new(&yc_KeyboardInterrupt, NULL);
        if (yc_exc_type_of(e) == &yc_KeyboardInterrupt) e->context = cancelled; /* raised in except */
        else yc_exc_unref(cancelled);
        yc_err_set(e);
        *st = YC_RAISE;
    }
}
