/*
 * Coroutine stacks: one mmap per stack with a guard page below it, a
 * per-thread pool of default-size stacks (so creating a generator is a list
 * pop, not a system call), and the SIGSEGV handler that turns a hit on a
 * guard page into a message naming the generator.
 *
 * The guard page is a guard region (madvise MADV_GUARD_INSTALL, Linux 6.13)
 * where the kernel has them: it lives in the page tables, so a stack stays
 * one mapping and adjacent stacks merge into one, and the number of live
 * generators is not bounded by vm.max_map_count. On older kernels the guard
 * is an mprotect(PROT_NONE) page: two mappings per stack (see "How many" in
 * docs/design.md).
 */
#define _GNU_SOURCE
#include "internal.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if YC_VALGRIND
#  include <valgrind/valgrind.h>
#endif

static _Atomic long exited_gens, exited_stacks, exited_tasks;
/* Live loops, counted by the loop layer (here so that yc_stats_get reads
 * them without reaching up a layer). */
_Atomic long yc__live_loops;

void yc__stats_add_exited(long gens, long stacks, long tasks)
{
    atomic_fetch_add_explicit(&exited_gens, gens, memory_order_relaxed);
    atomic_fetch_add_explicit(&exited_stacks, stacks, memory_order_relaxed);
    atomic_fetch_add_explicit(&exited_tasks, tasks, memory_order_relaxed);
}

size_t yc__page_size(void)
{
    static _Atomic size_t page; /* first use may race between threads: atomic */
    size_t p = atomic_load_explicit(&page, memory_order_relaxed);
    if (!p) {
        p = (size_t)sysconf(_SC_PAGESIZE);
        atomic_store_explicit(&page, p, memory_order_relaxed);
    }
    return p;
}

/* The mapping size of a stack with `usable` bytes above the guard page. */
static size_t map_size_for(size_t usable)
{
    size_t page = yc__page_size();
    return page + ((usable + page - 1) & ~(page - 1));
}

/* Fault injection (tests): while > 0, counts down the system calls made to
 * map stacks (mmap, mprotect); the one that brings it to 0 fails with
 * ENOMEM. Never touched on a path that does not map. */
static _Atomic long map_fault_countdown;

void yc__fault_map_after(long n)
{
    atomic_store_explicit(&map_fault_countdown, n, memory_order_relaxed);
}

/* The same for munmap, which fails when it would split a mapping at the
 * vm.max_map_count limit. */
static _Atomic long unmap_fault_countdown;

void yc__fault_unmap_after(long n)
{
    atomic_store_explicit(&unmap_fault_countdown, n, memory_order_relaxed);
}

static bool countdown_hits(_Atomic long *c)
{
    if (atomic_load_explicit(c, memory_order_relaxed) <= 0) return false;
    if (atomic_fetch_sub_explicit(c, 1, memory_order_relaxed) != 1) return false;
    errno = ENOMEM;
    return true;
}

static bool map_fault(void) { return countdown_hits(&map_fault_countdown); }

/* Puts a stack on the pool, whatever its count. */
static void pool_push(yc__thread *T, const yc__stack *st)
{
    yc__pool_node *n = (yc__pool_node *)(st->map + st->map_size - sizeof(yc__pool_node));
    n->st = *st;
    n->next = T->pool;
    T->pool = n;
    T->pool_count++;
}

/* Unmaps st; false when it could not and pooled it instead. */
static bool stack_unmap(yc__thread *T, const yc__stack *st)
{
    if (countdown_hits(&unmap_fault_countdown) || munmap(st->map, st->map_size) != 0) {
        /* Unmapping part of a mapping splits it, which fails (ENOMEM) at
         * the vm.max_map_count limit. Keep the stack for reuse instead,
         * giving its memory back: all but the top page, which holds the
         * pool node. yc_stack_pool_trim retries the unmap. */
        size_t page = yc__page_size();
        madvise(st->map + page, st->map_size - 2 * page, MADV_DONTNEED);
        pool_push(T, st);
        return false;
    }
#if YC_VALGRIND
    VALGRIND_STACK_DEREGISTER(st->vg_id);
#endif
    T->stacks_mapped--;
    return true;
}

/* ---- the guard page ----------------------------------------------------- */

#ifndef MADV_GUARD_INSTALL
#  define MADV_GUARD_INSTALL 102 /* Linux 6.13 uapi; older headers lack it */
#endif

/* How guard pages are made: 0 not yet known, else a YC__GUARD_* value,
 * found out once per process by guard_probe. */
static _Atomic int guard_kind;

void yc__stack_guard_force(int kind)
{
    atomic_store_explicit(&guard_kind, kind, memory_order_relaxed);
}

/*
 * Can this process make guard regions? A kernel without them rejects the
 * advice (EINVAL), but an emulator may accept it and do nothing (qemu-user
 * treats unknown advice as a hint), so the probe checks the effect:
 * installing a guard region zaps the page under it, so a page written
 * before must no longer be resident. Anything unclear: mprotect.
 */
static int guard_probe(void)
{
    size_t page = yc__page_size();
    char *p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 0; /* try again next time */
    int kind = YC__GUARD_MPROTECT;
    unsigned char resident = 1;
    *(volatile char *)p = 1;
    if (madvise(p, page, MADV_GUARD_INSTALL) == 0 && mincore(p, page, &resident) == 0 &&
        !(resident & 1))
        kind = YC__GUARD_REGION;
    munmap(p, page);
    return kind;
}

int yc__stack_guard_kind(void)
{
    int kind = atomic_load_explicit(&guard_kind, memory_order_relaxed);
    if (kind) return kind;
    int unknown = 0;
    kind = guard_probe();
    if (!kind) return YC__GUARD_MPROTECT;
    /* two threads may probe at once: both find the same, the first stays */
    atomic_compare_exchange_strong_explicit(&guard_kind, &unknown, kind, memory_order_relaxed,
                                            memory_order_relaxed);
    return atomic_load_explicit(&guard_kind, memory_order_relaxed);
}

/* Makes the page at p a guard page; 0 or an errno value. */
static int guard_install(char *p)
{
    size_t page = yc__page_size();
    if (map_fault()) return ENOMEM;
    int r = yc__stack_guard_kind() == YC__GUARD_REGION ? madvise(p, page, MADV_GUARD_INSTALL)
                                                      : mprotect(p, page, PROT_NONE);
    return r == 0 ? 0 : errno ? errno : ENOMEM;
}

/*
 * Gets a stack with at least `usable` bytes: from the pool when the size is
 * the default one, else a fresh mapping. Returns 0, or an errno value (the
 * caller raises). The pool node lives at the top of a free stack's memory.
 */
int yc__stack_get(yc__thread *T, size_t usable, yc__stack *out)
{
    size_t map_size = map_size_for(usable);
    yc__pool_node *n = T->pool;
    if (n && n->st.map_size == map_size) {
        T->pool = n->next;
        T->pool_count--;
        *out = n->st;
        return 0;
    }
    char *p = map_fault() ? MAP_FAILED
                          : mmap(NULL, map_size, PROT_READ | PROT_WRITE,
                                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (p == MAP_FAILED) return errno ? errno : ENOMEM;
    int err = guard_install(p);
    if (err) {
        munmap(p, map_size);
        return err;
    }
    out->map = p;
    out->map_size = map_size;
    out->vg_id = 0;
#if YC_VALGRIND
    out->vg_id = VALGRIND_STACK_REGISTER(p + yc__page_size(), p + map_size);
#endif
    T->stacks_mapped++;
    return 0;
}

/* Returns a stack: pooled when it has the default size and the pool has
 * room, else unmapped. */
void yc__stack_put(yc__thread *T, const yc__stack *st)
{
    size_t default_map = map_size_for(YC_STACK_DEFAULT + YC__GEN_HEADER_MAX);
    if (st->map_size == default_map && T->pool_count < YC_STACK_POOL_MAX) {
        pool_push(T, st);
        return;
    }
    stack_unmap(T, st);
}

void yc_stack_pool_trim(void)
{
    yc__thread *T = &yc__T;
    while (T->pool) {
        yc__pool_node *n = T->pool;
        yc__stack st = n->st;
        T->pool = n->next;
        T->pool_count--;
        if (!stack_unmap(T, &st)) break; /* still cannot: it is back on top */
    }
}

void yc_stats_get(yc_stats *out)
{
    if (!out) return;
    yc__thread *T = &yc__T;
    extern _Atomic long yc__live_excs;
    out->generators = T->gens + atomic_load_explicit(&exited_gens, memory_order_relaxed);
    out->stacks_mapped =
        T->stacks_mapped + atomic_load_explicit(&exited_stacks, memory_order_relaxed);
    out->stacks_pooled = T->pool_count;
    out->exceptions = atomic_load_explicit(&yc__live_excs, memory_order_relaxed);
    out->tasks = T->tasks + atomic_load_explicit(&exited_tasks, memory_order_relaxed);
    out->loops = atomic_load_explicit(&yc__live_loops, memory_order_relaxed);
}

/* ---- stack overflow ------------------------------------------------- */

static struct sigaction old_segv, old_bus;

/* async-signal-safe helpers for the message */
static void put_str(char *buf, size_t *n, size_t cap, const char *s)
{
    while (*s && *n + 1 < cap) buf[(*n)++] = *s++;
}

static void put_num(char *buf, size_t *n, size_t cap, size_t v)
{
    char tmp[24];
    int i = 0;
    do tmp[i++] = (char)('0' + v % 10); while ((v /= 10) && i < 24);
    while (i && *n + 1 < cap) buf[(*n)++] = tmp[--i];
}

/*
 * SIGSEGV/SIGBUS on the alternate stack. If the fault address lies in the
 * guard page of the running generator (or up to 64 KiB below it: a large
 * frame can jump the guard page), print which generator overflowed and
 * abort. Otherwise hand the signal to whoever had it before us.
 */
static void on_fault(int sig, siginfo_t *si, void *uctx)
{
    yc__coro *co = yc__T.cur;
    struct yc_gen *g = co ? co->gen : NULL;
    if (g) {
        const char *addr = si->si_addr;
        const char *guard = g->stack.map;
        size_t page = yc__page_size();
        if (addr >= guard - 64 * 1024 && addr < guard + page) {
            char msg[512];
            size_t n = 0;
            put_str(msg, &n, sizeof msg, "yieldc: stack overflow in generator '");
            put_str(msg, &n, sizeof msg, g->name);
            put_str(msg, &n, sizeof msg, "' (stack size ");
            put_num(msg, &n, sizeof msg, co->stack_size);
            put_str(msg, &n, sizeof msg,
                    " bytes); give it a larger yc_gen_opts.stack_size\n");
            ssize_t w = write(2, msg, n);
            (void)w;
            signal(SIGABRT, SIG_DFL);
            abort();
        }
    }
    struct sigaction *old = sig == SIGBUS ? &old_bus : &old_segv;
    if (old->sa_flags & SA_SIGINFO) {
        old->sa_sigaction(sig, si, uctx);
    } else if (old->sa_handler == SIG_IGN) {
        return;
    } else if (old->sa_handler == SIG_DFL) {
        /* re-executing the faulting instruction kills us the default way */
        signal(sig, SIG_DFL);
    } else {
        old->sa_handler(sig);
    }
}

static pthread_once_t overflow_once = PTHREAD_ONCE_INIT;

static void overflow_install_once(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &old_segv);
    sigaction(SIGBUS, &sa, &old_bus);
}

void yc__overflow_install(void) { pthread_once(&overflow_once, overflow_install_once); }
