/*
 * Raw asymmetric coroutines: the per-thread state (running coroutine, the
 * thread's own "main" coroutine), the switch with its sanitizer
 * annotations, and thread start-up and exit.
 */
#define _GNU_SOURCE
#include "internal.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>

#if YC_ASAN
#  include <sanitizer/asan_interface.h>
#endif
#if YC_TSAN
#  include <sanitizer/tsan_interface.h>
#endif

__thread yc__thread yc__T __attribute__((tls_model("initial-exec")));

/* Set by the exception layer when it is loaded (exc.c): an error
 * indicator can only hold an exception that layer made. */
void (*yc__exc_release)(yc_exc *e);

/* Set by stack.c, the file above this one in the layer (internal.h,
 * "Hooks"): a thread's start and exit as the stacks see them. */
void (*yc__thread_start_hook)(void);
void (*yc__thread_stacks_exit)(yc__thread *T);
void (*yc__thread_stats_exit)(long gens, long tasks);

static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;

/*
 * Thread exit: give back the thread's stacks, fold its counters into the
 * global ones, drop the main coroutine's error indicator and our signal
 * stack.
 * Runs through the pthread key destructor (not for the main thread, whose
 * resources the OS reclaims at exit).
 */
static void thread_exit(void *unused)
{
    (void)unused;
    yc__thread *T = &yc__T;
    if (yc__thread_stacks_exit) yc__thread_stacks_exit(T);
    if (T->main.err && yc__exc_release) yc__exc_release(T->main.err);
    T->main.err = NULL;
    if (T->altstack) {
        stack_t ss = {.ss_flags = SS_DISABLE};
        sigaltstack(&ss, NULL);
        munmap(T->altstack, T->altstack_size);
        T->altstack = NULL;
    }
    if (yc__thread_stats_exit) yc__thread_stats_exit(T->gens, T->tasks);
    T->gens = T->tasks = 0;
    T->cur = NULL;
}

static void exit_key_create(void) { (void)pthread_key_create(&exit_key, thread_exit); }

/*
 * First use on this thread: make the main coroutine current, learn the
 * thread's stack bounds (for ASan), give the thread an alternate signal
 * stack so a generator's stack overflow can be reported, and register the
 * exit destructor. Returns the main coroutine.
 */
yc__coro *yc__thread_init(void)
{
    yc__thread *T = &yc__T;
    T->cur = &T->main;
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        void *addr;
        size_t size;
        if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
            T->main.stack_lo = addr;
            T->main.stack_size = size;
        }
        pthread_attr_destroy(&attr);
    }
    stack_t old;
    if (sigaltstack(NULL, &old) == 0 && (old.ss_flags & SS_DISABLE)) {
        size_t size = 64 * 1024;
        void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p != MAP_FAILED) {
            stack_t ss = {.ss_sp = p, .ss_size = size, .ss_flags = 0};
            if (sigaltstack(&ss, NULL) == 0) {
                T->altstack = p;
                T->altstack_size = size;
            } else {
                munmap(p, size);
            }
        }
    }
#if YC_TSAN
    T->main.tsan_fiber = __tsan_get_current_fiber();
#endif
    if (yc__thread_start_hook) yc__thread_start_hook();
    pthread_once(&exit_once, exit_key_create);
    pthread_setspecific(exit_key, T);
    return T->cur;
}

#if YC_ASAN || YC_TSAN /* (else inline: internal.h) */
void yc__coro_init(yc__coro *co, void *lo, void *hi, yc__ctx_entry entry, void *arg)
{
    yc__coro_init_plain(co, lo, hi, entry, arg);
#if YC_ASAN
    co->asan_fake = NULL;
    co->asan_landed = false;
#endif
#if YC_TSAN
    co->tsan_fiber = __tsan_create_fiber(0);
#endif
}

void yc__coro_destroy(yc__coro *co)
{
#if YC_TSAN
    if (co->tsan_fiber) __tsan_destroy_fiber(co->tsan_fiber);
    co->tsan_fiber = NULL;
#else
    (void)co;
#endif
}
#endif

#if YC_SANITIZED_SWITCH
/*
 * The annotated jumps. ASan is told which stack comes next (and, for a
 * dying coroutine, that its fake stack can go) and, once back, that the
 * switch finished; TSan which fiber runs. A coroutine resumed through an
 * on-top function finishes the switch there (yc__coro_landed), so the
 * wrapper must not finish it a second time.
 */
#if YC_TSAN
/*
 * TSan runs a signal handler that arrives while instrumented code runs at
 * the next call it intercepts, in the fiber current then. A signal that
 * arrived in a task's fiber just before the task switched away would wait
 * in that fiber until it ran again, while the loop slept in epoll_wait for
 * the wake-up that handler writes: a hang (test_signals, about one run in
 * three when the signal comes from another thread during a busy task). So,
 * under TSan only, a switch blocks the asynchronous signals first (the
 * return of the intercepted pthread_sigmask runs what is pending in the
 * fiber leaving) and the fiber arriving unblocks them (what came meanwhile
 * runs in it). Synchronous signals (a fault on a guard page) stay open.
 * Only while a loop handles signals: two system calls a switch are slow.
 */
_Atomic int yc__tsan_sig_handlers;

static void tsan_block(void)
{
    if (!atomic_load_explicit(&yc__tsan_sig_handlers, memory_order_relaxed)) return;
    yc__thread *T = &yc__T;
    sigset_t all;
    sigfillset(&all);
    sigdelset(&all, SIGSEGV);
    sigdelset(&all, SIGBUS);
    sigdelset(&all, SIGILL);
    sigdelset(&all, SIGFPE);
    sigdelset(&all, SIGTRAP);
    sigdelset(&all, SIGABRT);
    if (!T->tsan_blocked && pthread_sigmask(SIG_BLOCK, &all, &T->tsan_mask) == 0)
        T->tsan_blocked = true;
}

static void tsan_unblock(void)
{
    yc__thread *T = &yc__T;
    if (T->tsan_blocked) {
        T->tsan_blocked = false;
        pthread_sigmask(SIG_SETMASK, &T->tsan_mask, NULL);
    }
}
#endif

static void before(yc__coro *from, yc__coro *to, bool dying)
{
#if YC_TSAN
    tsan_block();
#endif
#if YC_ASAN
    __sanitizer_start_switch_fiber(dying ? NULL : &from->asan_fake, to->stack_lo, to->stack_size);
#else
    (void)from;
    (void)dying;
#endif
#if YC_TSAN
    __tsan_switch_to_fiber(to->tsan_fiber, 0);
#else
    (void)to;
#endif
}

static void after(yc__coro *self)
{
#if YC_TSAN
    tsan_unblock();
#endif
#if YC_ASAN
    if (self->asan_landed) self->asan_landed = false;
    else __sanitizer_finish_switch_fiber(self->asan_fake, NULL, NULL);
#else
    (void)self;
#endif
}

yc__xfer yc__coro_jump_x(yc__coro *from, yc__coro *to, uint64_t a, uint64_t b, _Atomic int *flag,
                         int val, bool dying)
{
    before(from, to, dying);
#if YC_TSAN
    /* the switch publishes *flag with a plain store TSan cannot see: tell
     * it, so that a resume ordered by the generator's state is ordered */
    if (flag) __tsan_release((void *)flag);
#endif
    yc__xfer x = yc__ctx_jump(&from->ctx, &to->ctx, a, b, flag, val);
    after(from);
    return x;
}

yc__xfer yc__coro_jump_ontop_x(yc__coro *from, yc__coro *to, uint64_t a, uint64_t b,
                               yc__ctx_ontop fn)
{
    before(from, to, false);
    yc__xfer x = yc__ctx_jump_ontop(&from->ctx, &to->ctx, a, b, fn);
    after(from);
    return x;
}

void yc__coro_landed(yc__coro *self, bool returning)
{
#if YC_TSAN
    tsan_unblock();
#endif
#if YC_ASAN
    __sanitizer_finish_switch_fiber(self->asan_fake, NULL, NULL);
    self->asan_landed = returning;
#else
    (void)self;
    (void)returning;
#endif
}
#endif
