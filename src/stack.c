/*
 * Coroutine stacks: carved from chunks, with a guard page below each; the
 * per-thread size classes that reuse them without a system call; and the
 * SIGSEGV handler that turns a hit on a guard page into a message naming
 * the generator.
 *
 * A chunk is one mmap of up to YC_STACK_CHUNK_SLOTS slots of one size,
 * each a guard page with the usable stack above it:
 *
 *     | guard | stack 0 ... | guard | stack 1 ... | ... |
 *
 * Its header (struct yc__chunk) lives outside the mapping, in a header
 * slab shared by all threads (below, "header slabs"), so a stack that a
 * generator keeps shallow costs its top page and nothing else.
 *
 * The guard pages of a chunk are made when it is mapped: guard regions
 * (madvise MADV_GUARD_INSTALL, Linux 6.13) where the kernel has them, all
 * in one process_madvise call where it takes one for the calling process,
 * else one madvise each; else mprotect(PROT_NONE) pages. A guard region
 * lives in the page tables, so a chunk stays one mapping and the number of
 * live generators is not bounded by vm.max_map_count.
 *
 * Ownership. The thread that maps a chunk owns it, and only the owner
 * touches its lists and bitmaps. A stack freed by another thread is not
 * reused: that thread gives its memory back (one madvise) and counts it
 * off the chunk's atomic `debt`. The owner "holds" a chunk while the chunk
 * has a free slot (it is then on the owner's class list); a full chunk is
 * held by its stacks alone. The invariant, with out = the slots the owner
 * handed out and did not get back itself:
 *
 *     stacks in use = (held ? out : 0) + debt
 *
 * so a held chunk has debt <= 0 (minus the stacks freed elsewhere), and
 * whoever brings the stacks in use of an unheld chunk to 0 unmaps it: the
 * last foreign free, or the owner dropping its hold (at thread exit). The
 * owner takes a full chunk back when it frees one of its stacks itself.
 * Only these transitions are atomic operations; taking and returning a
 * stack of a held chunk are bit operations.
 *
 * docs/design.md ("Stacks") has the policy and the figures.
 */
#define _GNU_SOURCE
#include "internal.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#if YC_VALGRIND
#  include <valgrind/memcheck.h>
#  include <valgrind/valgrind.h>
#endif

_Static_assert(YC_STACK_CHUNK_SLOTS >= 1 && YC_STACK_CHUNK_SLOTS <= 64,
               "YC_STACK_CHUNK_SLOTS: a chunk's slots are the bits of one word");

static _Atomic long exited_gens, exited_stacks, exited_chunks, exited_tasks;
/* Live loops and exceptions, counted by the loop and exception layers
 * (here so that yc_stats_get reads them without reaching up a layer). */
_Atomic long yc__live_loops;
_Atomic long yc__live_excs;

void yc__stats_add_exited(long gens, long tasks)
{
    atomic_fetch_add_explicit(&exited_gens, gens, memory_order_relaxed);
    atomic_fetch_add_explicit(&exited_tasks, tasks, memory_order_relaxed);
}

static _Atomic size_t page_bytes; /* first use may race between threads: atomic */

static __attribute__((noinline)) size_t page_size_learn(void)
{
    size_t p = (size_t)sysconf(_SC_PAGESIZE);
    atomic_store_explicit(&page_bytes, p, memory_order_relaxed);
    return p;
}

size_t yc__page_size(void)
{
    size_t p = atomic_load_explicit(&page_bytes, memory_order_relaxed);
    return YC_LIKELY(p) ? p : page_size_learn();
}

/* The slot size of a stack with `usable` bytes above the guard page, for
 * pages of `page` bytes. */
static inline size_t map_size_with(size_t usable, size_t page)
{
    return page + ((usable + page - 1) & ~(page - 1));
}

static size_t map_size_for(size_t usable) { return map_size_with(usable, yc__page_size()); }

/* Fault injection (tests): while > 0, counts down the system calls made to
 * map stacks (mmap, and each madvise, process_madvise or mprotect making
 * guard pages); the one that brings it to 0 fails with ENOMEM. Never
 * touched on a path that does not map. */
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

/* The value of an atomic kind, probed on first use: two threads may probe
 * at once; both find the same, the first stays. */
static int kind_of(_Atomic int *k, int (*probe)(void), int unclear)
{
    int kind = atomic_load_explicit(k, memory_order_relaxed);
    if (kind) return kind;
    int unknown = 0;
    kind = probe();
    if (!kind) return unclear;
    atomic_compare_exchange_strong_explicit(k, &unknown, kind, memory_order_relaxed,
                                            memory_order_relaxed);
    return atomic_load_explicit(k, memory_order_relaxed);
}

int yc__stack_guard_kind(void) { return kind_of(&guard_kind, guard_probe, YC__GUARD_MPROTECT); }

/* ---- advice over many ranges in one system call ------------------------ */

#ifndef SYS_process_madvise
#  define SYS_process_madvise 440 /* the same number on every architecture */
#endif
#ifndef SYS_pidfd_open
#  define SYS_pidfd_open 434
#endif
#ifndef PIDFD_SELF
#  define PIDFD_SELF (-10000) /* Linux 6.15 uapi (PIDFD_SELF_THREAD) */
#endif
#define ADV_PROTECT (-1)      /* not advice: mprotect(PROT_NONE) */

/* How process_madvise is called on ourselves: 0 not yet known, else a
 * YC__BATCH_* value. */
static _Atomic int batch_kind;

void yc__stack_batch_force(int kind)
{
    atomic_store_explicit(&batch_kind, kind, memory_order_relaxed);
}

/* One process_madvise over iov[0..n) the way `kind` says (with the
 * PIDFD_SELF sentinel, or a pidfd of our own opened for the call, so that
 * nothing is held across a fork or a close of every descriptor). True when
 * every byte was advised. */
static bool batch_call(int kind, const struct iovec *iov, size_t n, int advice)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += iov[i].iov_len;
    int fd = PIDFD_SELF;
    if (kind == YC__BATCH_PIDFD_OPEN && (fd = (int)syscall(SYS_pidfd_open, getpid(), 0)) < 0)
        return false;
    long r = syscall(SYS_process_madvise, fd, iov, n, advice, 0);
    if (fd >= 0) close(fd);
    return r >= 0 && (size_t)r == total;
}

/* Does process_madvise work on ourselves this way, with the advice stacks
 * need (guard regions where we make them, else MADV_DONTNEED: Linux 6.13
 * allows any advice for the calling process)? Checked by the effect, as
 * guard_probe does: two pages written before are no longer resident. */
static bool batch_works(int kind)
{
    size_t page = yc__page_size();
    char *p = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return false;
    p[0] = p[page] = 1;
    int advice = yc__stack_guard_kind() == YC__GUARD_REGION ? MADV_GUARD_INSTALL : MADV_DONTNEED;
    struct iovec iov[2] = {{p, page}, {p + page, page}};
    unsigned char res[2] = {1, 1};
    bool ok = batch_call(kind, iov, 2, advice) && mincore(p, 2 * page, res) == 0 &&
              !(res[0] & 1) && !(res[1] & 1);
    munmap(p, 2 * page);
    return ok;
}

static int batch_probe(void)
{
#if YC_VALGRIND
    if (RUNNING_ON_VALGRIND) return YC__BATCH_NONE; /* 3.19 knows neither call, and says so */
#endif
    if (batch_works(YC__BATCH_PIDFD_SELF)) return YC__BATCH_PIDFD_SELF;
    if (batch_works(YC__BATCH_PIDFD_OPEN)) return YC__BATCH_PIDFD_OPEN;
    return YC__BATCH_NONE;
}

int yc__stack_batch_kind(void) { return kind_of(&batch_kind, batch_probe, YC__BATCH_NONE); }

/*
 * Applies advice (or ADV_PROTECT) to the ranges iov[0..n): one
 * process_madvise where the kernel takes it, else one call per range. For
 * guard pages (`mapping`) each system call counts for fault injection.
 * Returns 0 or an errno value. A batch the kernel refuses at run time (a
 * seccomp filter, say) is redone range by range: the advice is idempotent.
 */
static int advise(const struct iovec *iov, size_t n, int advice, bool mapping)
{
    int kind = advice == ADV_PROTECT ? YC__BATCH_NONE : yc__stack_batch_kind();
    if (n > 1 && kind != YC__BATCH_NONE) {
        if (mapping && map_fault()) return ENOMEM;
        if (batch_call(kind, iov, n, advice)) return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (mapping && map_fault()) return ENOMEM;
        int r = advice == ADV_PROTECT ? mprotect(iov[i].iov_base, iov[i].iov_len, PROT_NONE)
                                      : madvise(iov[i].iov_base, iov[i].iov_len, advice);
        if (r != 0) return errno ? errno : ENOMEM;
    }
    return 0;
}

/* ---- chunks ------------------------------------------------------------- */

typedef struct yc__chunk yc__chunk;

struct yc__chunk {
    /* set when mapped, then read-only: any thread freeing a stack reads them */
    uint64_t owner;          /* serial of the thread that mapped it */
    char *slots;             /* slot 0: the start of the mapping */
    size_t bytes;            /* of the whole mapping */
    size_t map_size;         /* of each slot */
    uint32_t nslots;
    uint32_t probe;          /* offset in a slot of the deep probe (shed_deep),
                                | PROBE_VG; 0: no rule (a lone stack, or
                                no page below the top KEEP_PAGES + 1) */
    uint32_t probe_top;      /* offset of the top probe: the top page's start */
    bool classed;            /* carved by a size class; else a lone stack */
    /* the owner's */
    struct yc__chunk *prev, *next; /* on its class's circular list while held;
                                      next: on a stranded list */
    uint64_t free;           /* free slots (never used, or given back to us) */
    uint64_t warm;           /* free slots that keep the memory they used */
    uint64_t deep;           /* slots keeping the pages of a deep run (shed_deep);
                                those of free ones are counted in ndeep */
    uint32_t out;            /* slots handed out and not given back to us */
    uint32_t cls;            /* index of its class while held */
    /* shared */
    _Atomic long debt;       /* see the top of this file */
#if YC_VALGRIND
    unsigned vg_id[];        /* Valgrind's ids of the slots, when running on it */
#endif
};

/* The ranges of one batched system call, per thread: a chunk's guard pages
 * fit in one batch. */
#define BATCH_CAP 64
_Static_assert(YC_STACK_CHUNK_SLOTS <= BATCH_CAP, "a chunk's guard pages fit in one batch");
static _Thread_local struct iovec batch_iov[BATCH_CAP];

static struct iovec *scratch(size_t *cap)
{
    *cap = BATCH_CAP;
    return batch_iov;
}

/* A stack returned to the pool keeps its top KEEP_PAGES pages (the
 * generator's header and the frames of a shallow run) and gives back what
 * a deeper run touched below them; two probes tell (stack_left_top_page,
 * PROBE_BYTES; shed_deep, DEEP_PROBE_BYTES). */
#define KEEP_PAGES 4
#define PROBE_BYTES 32
#define DEEP_PROBE_BYTES 256
#define DEEP_KEEP 4 /* free stacks per class that keep a deep run's pages */
#define PROBE_VG 1 /* in yc__chunk.probe (32-aligned): running on Valgrind */

/* ---- header slabs ------------------------------------------------------- */

/*
 * Chunk headers are carved from slabs: 64 KiB mappings aligned to their
 * size, shared by every thread under one lock (a header is taken when a
 * chunk is mapped and given back when it is unmapped, each next to a
 * system call, by whichever thread unmaps it). A slab starts with its own
 * header (struct hslab) in the first stride; headers follow, each `stride`
 * bytes (a multiple of 64, so a header's address leaves the low 6 bits of
 * yc__stack.where to the slot index). A slab whose headers are all free is
 * unmapped, unless it is the only slab with room (kept, so that a thread
 * mapping and unmapping one chunk over and over does not map a slab each
 * time). Memory: 128 bytes a chunk (384 under Valgrind, with the slots'
 * ids), 2 bytes a stack of a full chunk.
 */
#define SLAB_BYTES ((size_t)64 << 10)

typedef struct hslab {
    struct hslab *prev, *next; /* on the list of slabs with a free header */
    void *free;                /* free headers, linked through their first word */
    uint32_t used;             /* headers handed out */
    uint32_t fresh;            /* headers never handed out: [fresh, cap) */
    uint32_t cap;
} hslab;

static pthread_mutex_t slab_lock = PTHREAD_MUTEX_INITIALIZER;
static hslab *slabs_with_room; /* circular, under slab_lock */

_Static_assert(sizeof(yc__chunk) <= 128, "a chunk header takes 128 bytes of a slab");

/* A fork while another thread holds the lock would leave the child's copy
 * locked for good: the forking thread takes it across the fork. */
static void slab_lock_take(void) { pthread_mutex_lock(&slab_lock); }
static void slab_lock_give(void) { pthread_mutex_unlock(&slab_lock); }
static void slab_atfork(void) { pthread_atfork(slab_lock_take, slab_lock_give, slab_lock_give); }
static pthread_once_t slab_once = PTHREAD_ONCE_INIT;

static size_t hdr_stride(void)
{
    static _Atomic size_t stride; /* first use may race: both find the same */
    size_t s = atomic_load_explicit(&stride, memory_order_relaxed);
    if (!s) {
        s = sizeof(yc__chunk);
#if YC_VALGRIND
        if (RUNNING_ON_VALGRIND) s += YC_STACK_CHUNK_SLOTS * sizeof(unsigned);
#endif
        s = (s + 63) & ~(size_t)63;
        atomic_store_explicit(&stride, s, memory_order_relaxed);
    }
    return s;
}

static void slab_link(hslab *h)
{
    if (!slabs_with_room) {
        h->prev = h->next = h;
        slabs_with_room = h;
        return;
    }
    h->next = slabs_with_room;
    h->prev = slabs_with_room->prev;
    h->prev->next = h;
    slabs_with_room->prev = h;
}

static void slab_unlink(hslab *h)
{
    if (h->next == h) {
        slabs_with_room = NULL;
        return;
    }
    h->prev->next = h->next;
    h->next->prev = h->prev;
    if (slabs_with_room == h) slabs_with_room = h->next;
}

/* A new slab, aligned to SLAB_BYTES (mapped twice as large, the rest
 * unmapped): NULL with errno set when mmap fails (a mapping call for
 * fault injection). */
static hslab *slab_map(void)
{
    char *p = map_fault() ? MAP_FAILED
                          : mmap(NULL, 2 * SLAB_BYTES, PROT_READ | PROT_WRITE,
                                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        if (!errno) errno = ENOMEM;
        return NULL;
    }
    char *s = (char *)(((uintptr_t)p + SLAB_BYTES - 1) & ~(uintptr_t)(SLAB_BYTES - 1));
    /* a failure here leaves a few pages of address space mapped, no memory */
    if (s > p) munmap(p, (size_t)(s - p));
    char *end = p + 2 * SLAB_BYTES;
    if (s + SLAB_BYTES < end) munmap(s + SLAB_BYTES, (size_t)(end - (s + SLAB_BYTES)));
    hslab *h = (hslab *)s;
    size_t stride = hdr_stride();
    h->free = NULL;
    h->used = 0;
    h->cap = (uint32_t)(SLAB_BYTES / stride);
    h->fresh = (uint32_t)((sizeof(hslab) + stride - 1) / stride);
    return h;
}

/* A chunk header (hdr_stride() bytes, 64-aligned, contents undefined), or
 * NULL with errno set. */
static yc__chunk *hdr_alloc(void)
{
    pthread_once(&slab_once, slab_atfork);
    pthread_mutex_lock(&slab_lock);
    hslab *h = slabs_with_room;
    if (!h) {
        if (!(h = slab_map())) {
            pthread_mutex_unlock(&slab_lock);
            return NULL;
        }
        slab_link(h);
    }
    void *c = h->free;
    if (c) h->free = *(void **)c;
    else c = (char *)h + (size_t)h->fresh++ * hdr_stride();
    h->used++;
    if (!h->free && h->fresh == h->cap) slab_unlink(h);
    pthread_mutex_unlock(&slab_lock);
    return c;
}

static void hdr_free(yc__chunk *c)
{
    hslab *h = (hslab *)((uintptr_t)c & ~(uintptr_t)(SLAB_BYTES - 1));
    pthread_mutex_lock(&slab_lock);
    bool was_full = !h->free && h->fresh == h->cap;
    *(void **)c = h->free;
    h->free = c;
    h->used--;
    if (was_full) slab_link(h);
    if (!h->used && h->next != h) { /* empty, and not the only slab with room */
        slab_unlink(h);
        if (munmap(h, SLAB_BYTES) != 0) slab_link(h); /* kept, as an empty slab */
    }
    pthread_mutex_unlock(&slab_lock);
}

static char *slot_addr(const yc__chunk *c, unsigned i)
{
    return c->slots + (size_t)i * c->map_size;
}

static int count(uint64_t m) { return __builtin_popcountll(m); }

/* A stack's chunk and slot index, kept in one word (yc__stack.where). */
static yc__chunk *chunk_of(const yc__stack *st) { return (yc__chunk *)(st->where & ~(uintptr_t)63); }
static unsigned slot_of(const yc__stack *st) { return (unsigned)(st->where & 63); }

static void stack_set(yc__stack *out, const yc__chunk *c, unsigned i)
{
    out->map = slot_addr(c, i);
    out->map_size = c->map_size;
    out->where = (uintptr_t)c | i;
}

/* Slots per chunk for stacks of map_size bytes: as many as fit in
 * YC_STACK_CHUNK_BYTES, at most YC_STACK_CHUNK_SLOTS; 0 when fewer than 4
 * fit (such stacks are mapped alone). */
static uint32_t chunk_slots(size_t map_size)
{
    size_t n = YC_STACK_CHUNK_BYTES / map_size;
    if (n > YC_STACK_CHUNK_SLOTS) n = YC_STACK_CHUNK_SLOTS;
    return n >= 4 ? (uint32_t)n : 0;
}

size_t yc__gen_slot_bytes(size_t stack_size, int *per_chunk)
{
    size_t map_size = map_size_for((stack_size ? stack_size : YC_STACK_DEFAULT) +
                                   YC__GEN_HEADER_MAX);
    if (per_chunk) *per_chunk = (int)chunk_slots(map_size);
    return map_size;
}

/* Free stacks a class keeps: a chunk's worth, at most YC_STACK_POOL_MAX. */
static int32_t pool_keep(size_t map_size)
{
    uint32_t n = chunk_slots(map_size);
    return n < YC_STACK_POOL_MAX ? (int32_t)n : YC_STACK_POOL_MAX;
}

static _Atomic uint64_t last_serial;

static uint64_t thread_serial(yc__thread *T)
{
    if (!T->serial) T->serial = atomic_fetch_add_explicit(&last_serial, 1, memory_order_relaxed) + 1;
    return T->serial;
}

#if YC_VALGRIND
/* Tells Valgrind where the stacks of c are (or no longer are). */
static void vg_register(yc__chunk *c)
{
    if (!RUNNING_ON_VALGRIND) return; /* (vg_id is there only then) */
    size_t page = yc__page_size();
    for (unsigned i = 0; i < c->nslots; i++)
        c->vg_id[i] = VALGRIND_STACK_REGISTER(slot_addr(c, i) + page, slot_addr(c, i) + c->map_size);
}

static void vg_deregister(yc__chunk *c)
{
    if (!RUNNING_ON_VALGRIND) return;
    for (unsigned i = 0; i < c->nslots; i++) VALGRIND_STACK_DEREGISTER(c->vg_id[i]);
}
#else
static void vg_register(yc__chunk *c) { (void)c; }
static void vg_deregister(yc__chunk *c) { (void)c; }
#endif

/*
 * Maps a chunk of n slots of map_size bytes for T, every slot behind its
 * guard page, and takes its header from a slab. NULL with errno set when a
 * system call fails; nothing is then left mapped. The system calls, in
 * order (fault injection counts them): mmap, the guard pages, and an mmap
 * for a header slab when no slab has room.
 */
static yc__chunk *chunk_map(yc__thread *T, size_t map_size, uint32_t n, bool classed)
{
    size_t page = yc__page_size(), bytes = n * map_size;
    char *p = map_fault() ? MAP_FAILED
                          : mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (p == MAP_FAILED) {
        if (!errno) errno = ENOMEM;
        return NULL;
    }
    size_t cap;
    struct iovec *iov = scratch(&cap);
    for (unsigned i = 0; i < n; i++) iov[i] = (struct iovec){p + (size_t)i * map_size, page};
    int err = advise(iov, n,
                     yc__stack_guard_kind() == YC__GUARD_REGION ? MADV_GUARD_INSTALL : ADV_PROTECT,
                     true);
    yc__chunk *c = err ? NULL : hdr_alloc();
    if (!c) {
        if (!err) err = errno ? errno : ENOMEM;
        munmap(p, bytes);
        errno = err;
        return NULL;
    }
    c->owner = thread_serial(T);
    c->slots = p;
    c->bytes = bytes;
    c->map_size = map_size;
    c->nslots = n;
    /* classed slots are at most YC_STACK_CHUNK_BYTES / 4: the offset fits */
    c->probe = classed && map_size > (KEEP_PAGES + 1) * page
                   ? (uint32_t)(map_size - KEEP_PAGES * page - DEEP_PROBE_BYTES)
                   : 0;
    /* the top probe: the lowest bytes of the page holding the bottom of the
     * generator's header (the top page, or the one below where the header
     * takes more than a page: AArch64's ucontext_t), or of the page below
     * when the header leaves no room there (frames then start on it) */
    size_t hdr = map_size - YC__GEN_HEADER_MAX, top = hdr & ~(page - 1);
    if (hdr - top < PROBE_BYTES) top -= page;
    c->probe_top = (uint32_t)top;
    if (c->probe && c->probe + DEEP_PROBE_BYTES > top) c->probe = 0; /* no room for the rule */
#if YC_VALGRIND
    if (RUNNING_ON_VALGRIND) c->probe |= PROBE_VG; /* (the top probe too) */
#endif
    c->classed = classed;
    c->prev = c->next = NULL;
    c->free = c->warm = c->deep = 0;
    c->out = 0;
    c->cls = 0;
    atomic_init(&c->debt, 0);
    vg_register(c);
    T->stack_chunks++;
    return c;
}

/* Unmaps c and frees its header; false when munmap fails (at the
 * vm.max_map_count limit: it would split a mapping), c then being left as
 * it was. */
static bool chunk_unmap(yc__thread *T, yc__chunk *c)
{
    vg_deregister(c);
    if (countdown_hits(&unmap_fault_countdown) || munmap(c->slots, c->bytes) != 0) {
        vg_register(c);
        return false;
    }
    hdr_free(c);
    T->stack_chunks--;
    return true;
}

/* Unmaps a chunk nobody holds and no stack uses; when munmap fails it goes
 * on T's stranded list, for yc_stack_pool_trim to retry. */
static void chunk_unmap_or_strand(yc__thread *T, yc__chunk *c)
{
    if (chunk_unmap(T, c)) return;
    c->next = T->stranded;
    T->stranded = c;
}

/* Gives back the memory of a stack's slot (all but its guard page). */
static void slot_release(const yc__stack *st)
{
    size_t page = yc__page_size();
    madvise(st->map + page, st->map_size - page, MADV_DONTNEED);
}

/* ---- a thread's size classes ------------------------------------------- */

static yc__stack_class *class_find(yc__thread *T, size_t map_size)
{
    for (int i = 0; i < YC_STACK_CLASSES; i++)
        if (T->classes[i].map_size == map_size) return &T->classes[i];
    return NULL;
}

/* A class for map_size, reusing one that holds no chunk; NULL when all
 * YC_STACK_CLASSES hold chunks of other sizes. */
static yc__stack_class *class_claim(yc__thread *T, size_t map_size)
{
    for (int i = 0; i < YC_STACK_CLASSES; i++) {
        yc__stack_class *k = &T->classes[i];
        if (!k->head) {
            int32_t keep = pool_keep(map_size);
            if (T->retain_map_size == map_size && T->retain_keep > keep) keep = T->retain_keep;
            *k = (yc__stack_class){.map_size = map_size, .keep = keep};
            return k;
        }
    }
    return NULL;
}

/* The circular list of the chunks a class holds. */
static void list_insert(yc__thread *T, yc__stack_class *k, yc__chunk *c) /* at the back */
{
    c->cls = (uint32_t)(k - T->classes);
    if (!k->head) {
        c->prev = c->next = c;
        k->head = c;
        return;
    }
    c->next = k->head;
    c->prev = k->head->prev;
    c->prev->next = c;
    k->head->prev = c;
}

static void list_remove(yc__stack_class *k, yc__chunk *c)
{
    if (c->next == c) {
        k->head = NULL;
        return;
    }
    c->prev->next = c->next;
    c->next->prev = c->prev;
    if (k->head == c) k->head = c->next;
}

static void list_to_front(yc__thread *T, yc__stack_class *k, yc__chunk *c)
{
    if (k->head == c) return;
    list_remove(k, c);
    list_insert(T, k, c);
    k->head = c;
}

/* The free stacks of chunk c (held by k) that keep their memory give it
 * back, up to `n`, in the batch iov[0..*len) of capacity cap, flushed when
 * full. */
static void purge_chunk(yc__thread *T, yc__stack_class *k, yc__chunk *c, int32_t n,
                        struct iovec *iov, size_t *len, size_t cap)
{
    size_t page = yc__page_size();
    while (c->warm && n-- > 0) {
        unsigned i = (unsigned)__builtin_ctzll(c->warm);
        c->warm &= c->warm - 1;
        if (c->deep >> i & 1) {
            c->deep &= ~((uint64_t)1 << i);
            k->ndeep--;
        }
        if (*len == cap) {
            advise(iov, *len, MADV_DONTNEED, false);
            *len = 0;
        }
        iov[(*len)++] = (struct iovec){slot_addr(c, i) + page, c->map_size - page};
        k->nwarm--;
        T->pool_count--;
        T->stacks_mapped--;
    }
}

/* Gives back the memory of k's least recently used free stacks until at
 * most `keep` keep theirs: one system call per batch of ranges. */
static void class_purge(yc__thread *T, yc__stack_class *k, int32_t keep)
{
    if (k->nwarm <= keep) return;
    size_t cap, len = 0;
    struct iovec *iov = scratch(&cap);
    yc__chunk *c = k->head->prev;
    for (;;) {
        purge_chunk(T, k, c, k->nwarm - keep, iov, &len, cap);
        if (k->nwarm <= keep || c == k->head) break;
        c = c->prev;
    }
    advise(iov, len, MADV_DONTNEED, false);
}

static bool chunk_idle(const yc__chunk *c) /* no stack in use (owner, held) */
{
    return (long)c->out + atomic_load_explicit(&c->debt, memory_order_acquire) == 0;
}

/* Unmaps c, held by k and idle. When munmap fails, c stays on k's list and
 * its free stacks give their memory back instead. */
static void chunk_release(yc__thread *T, yc__stack_class *k, yc__chunk *c)
{
    uint64_t free = c->free, warm = c->warm, deep = c->deep; /* c goes */
    list_remove(k, c);
    if (chunk_unmap(T, c)) {
        k->nfree -= count(free);
        k->nwarm -= count(warm);
        k->ndeep -= count(warm & deep);
        if (k->ndeep < 0) k->ndeep = 0;
        T->pool_count -= count(warm);
        T->stacks_mapped -= count(warm);
        return;
    }
    list_insert(T, k, c);
    size_t cap, len = 0;
    struct iovec *iov = scratch(&cap);
    purge_chunk(T, k, c, c->nslots, iov, &len, cap);
    advise(iov, len, MADV_DONTNEED, false);
}

/* ---- getting and returning stacks --------------------------------------- */

/* Takes a free slot of c (held by k), one that kept its memory first. */
static inline void slot_take(yc__thread *T, yc__stack_class *k, yc__chunk *c, yc__stack *out)
{
    uint64_t m = c->free & c->warm;
    if (m) {
        c->warm &= ~(m & -m);
        k->nwarm--;
        T->pool_count--;
    } else {
        m = c->free;
        T->stacks_mapped++;
    }
    unsigned i = (unsigned)__builtin_ctzll(m);
    c->free &= ~((uint64_t)1 << i);
    c->out++;
    k->nfree--;
    if (!c->free) { /* full: its stacks hold it now */
        list_remove(k, c);
        atomic_fetch_add_explicit(&c->debt, (long)c->nslots, memory_order_acq_rel);
    }
    stack_set(out, c, i);
}

/* yc__stack_get when k (NULL: no class for the size) has no free slot:
 * maps a chunk, or a lone stack. */
static __attribute__((noinline)) int stack_get_new(yc__thread *T, yc__stack_class *k,
                                                   size_t map_size, yc__stack *out)
{
    uint32_t n = chunk_slots(map_size);
    if (n && !k) k = class_claim(T, map_size);
    yc__chunk *c = chunk_map(T, map_size, k ? n : 1, k != NULL);
    if (!c) return errno;
    if (!k) { /* a lone stack: never held, unmapped when freed */
        T->stacks_mapped++;
        stack_set(out, c, 0);
        return 0;
    }
    c->free = n == 64 ? ~(uint64_t)0 : ((uint64_t)1 << n) - 1;
    k->nfree += (int32_t)n;
    list_insert(T, k, c);
    k->head = c;
    slot_take(T, k, c, out);
    return 0;
}

/*
 * Gets a stack of map_size bytes from the classes: a free slot of a chunk
 * of its size class, else a slot of a new chunk, else (too large for
 * chunks, or no class left for its size) a lone stack mapped for it.
 * Returns 0, or an errno value (the caller raises).
 */
static __attribute__((noinline)) int class_get(yc__thread *T, size_t map_size, yc__stack *out)
{
    yc__stack_class *k = class_find(T, map_size);
    if (YC_UNLIKELY(!k || !k->head)) return stack_get_new(T, k, map_size, out);
    slot_take(T, k, k->head, out);
    return 0;
}

static inline void park_flush(yc__thread *T);

/* Takes the parked stack (below, "the last freed stack"). */
static inline int park_take(yc__thread *T, yc__stack *out)
{
    *out = T->last_freed;
    T->last_freed.map = NULL;
    T->pool_count--;
    return YC__STACK_WARM;
}

static __attribute__((noinline)) int get_slow(yc__thread *T, size_t usable, yc__stack *out)
{
    size_t map_size = map_size_for(usable);
    if (T->last_freed.map && T->last_freed.map_size == map_size) return park_take(T, out);
    park_flush(T);
    return class_get(T, map_size, out);
}

/* The parked stack when it has the size, else get_slow. (The fast paths
 * of get and put make no call but a tail call: a leaf needs no frame.) */
int yc__stack_get(yc__thread *T, size_t usable, yc__stack *out)
{
    size_t page = atomic_load_explicit(&page_bytes, memory_order_relaxed);
    size_t map_size = map_size_with(usable, page); /* (page 0 before the first learns it) */
    if (YC_LIKELY(page && T->last_freed.map && T->last_freed.map_size == map_size))
        return park_take(T, out);
    return get_slow(T, usable, out);
}

/* ---- giving back what a stack no longer uses ------------------------- */

/*
 * Two probes tell what a run touched, read when its stack is returned
 * (yc__stack_put), with no system call for a run that stayed in its top
 * page. A probe is a few bytes of the stack that read zero while no frame
 * wrote them: a run that went below them left a return address, a saved
 * register or a local there, unless its frames skipped exactly those
 * bytes (a large buffer left unwritten there; its pages then stay, as
 * every stack's did before this rule, and yc_gen_stack_trim gives them
 * back on request).
 *
 * The top probe is the lowest 32 bytes of the top page (see chunk_map),
 * which the generator's header keeps resident: reading it never faults, and costs
 * four loads. Only when it is not zero (the run left the top page) is it
 * cleared and the deep probe read: the highest 256 bytes of the page right
 * below the top KEEP_PAGES (a run that went deeper crossed them with
 * several frames). That page may never have been written (a run 2-4 pages
 * deep): the first read then maps the kernel's shared zero page (one
 * fault, no memory), and the next reads of this stack cost nothing more. When the deep probe is not zero,
 * everything below the top KEEP_PAGES pages goes, deep probe included
 * (one madvise; if it fails the pages stay).
 */
#if YC_VALGRIND
/* Under Valgrind (PROBE_VG in a chunk's probe): the probes lie below every
 * frame, which Memcheck holds inaccessible; make them readable first. */
static __attribute__((noinline)) void probe_vg(const char *probe, size_t n)
{
    VALGRIND_MAKE_MEM_DEFINED(probe, n);
}
#endif

typedef uint64_t __attribute__((may_alias)) probe_word; /* frames wrote other types */

static inline bool probe_set(const char *p)
{
    const probe_word *w = (const probe_word *)(const void *)p;
    return (w[0] | w[1] | w[2] | w[3]) != 0;
}

static bool deep_probe_set(const char *p)
{
    for (size_t i = 0; i < DEEP_PROBE_BYTES; i += PROBE_BYTES)
        if (probe_set(p + i)) return true;
    return false;
}

static inline bool stack_left_top_page(const yc__chunk *c, const yc__stack *st)
{
    const char *top = st->map + c->probe_top;
#if YC_VALGRIND
    if (YC_UNLIKELY(c->probe & PROBE_VG)) probe_vg(top, PROBE_BYTES);
#endif
    return probe_set(top);
}

static yc__stack_class *class_find(yc__thread *T, size_t map_size);

/* May k keep one more free stack's deep pages? Its count is an upper
 * bound (stacks taken, or chunks unmapped, do not lower it): at the limit,
 * it is counted again over the chunks k holds. */
static bool deep_room(yc__stack_class *k)
{
    if (k->ndeep < DEEP_KEEP) return true;
    int32_t n = 0;
    yc__chunk *c = k->head;
    if (c) do {
            n += count(c->deep & c->warm);
            c = c->next;
        } while (c != k->head);
    k->ndeep = n;
    return n < DEEP_KEEP;
}

/* After the top probe fired: clears it, and reads the deep probe. A deep
 * run's pages stay when this slot already kept them (a generator that runs
 * deep each time it is created reuses them, as it did before this rule),
 * or while its class keeps fewer than DEEP_KEEP such stacks; else they go. */
static __attribute__((noinline)) void shed_deep(yc__thread *T, yc__chunk *c, const yc__stack *st)
{
    size_t page = yc__page_size(), off = c->probe & ~(uint32_t)PROBE_VG;
    memset(st->map + c->probe_top, 0, PROBE_BYTES); /* for the next run */
    if (!off) return; /* a stack of at most KEEP_PAGES + 1 pages (large pages) */
#if YC_VALGRIND
    if (c->probe & PROBE_VG) probe_vg(st->map + off, DEEP_PROBE_BYTES);
#endif
    if (!deep_probe_set(st->map + off)) return;
    uint64_t bit = (uint64_t)1 << slot_of(st);
    if (c->deep & bit) return;
    yc__stack_class *k = class_find(T, c->map_size);
    if (k && deep_room(k)) {
        c->deep |= bit;
        k->ndeep++;
        return;
    }
    madvise(st->map + page, off + DEEP_PROBE_BYTES - page, MADV_DONTNEED);
}

size_t yc__stack_trim_below(const yc__stack *st, const char *sp)
{
    size_t page = yc__page_size();
    char *lo = st->map + page, *top = st->map + st->map_size;
    if (sp <= lo || sp > top) return 0; /* not on this stack: nothing to do */
    char *hi = (char *)((uintptr_t)(sp - YC__STACK_RED_ZONE) & ~(uintptr_t)(page - 1));
    if (hi <= lo) return 0;
    if (madvise(lo, (size_t)(hi - lo), MADV_DONTNEED) != 0) return 0;
    return (size_t)(hi - lo);
}

/* A stack freed by a thread that does not own its chunk (or cannot take
 * it back): given back for good, and counted off the chunk, which the last
 * such free of an unheld chunk unmaps. */
static void foreign_put(yc__thread *T, const yc__stack *st)
{
    yc__chunk *c = chunk_of(st);
    slot_release(st);
    T->stacks_mapped--;
    if (atomic_fetch_sub_explicit(&c->debt, 1, memory_order_acq_rel) == 1)
        chunk_unmap_or_strand(T, c);
}

/* A stack of a chunk that is not ours to reuse: a lone stack, or another
 * thread's chunk. */
static __attribute__((noinline)) void put_elsewhere(yc__thread *T, const yc__stack *st)
{
    yc__chunk *c = chunk_of(st);
    if (c->classed) {
        foreign_put(T, st);
        return;
    }
    T->stacks_mapped--;
    if (!chunk_unmap(T, c)) {
        slot_release(st);
        c->next = T->stranded;
        T->stranded = c;
    }
}

/* Our chunk c, full (so on no list), gets one of its stacks back: its
 * class takes it back, our stack's share of the debt becoming the hold.
 * NULL when no class is left for its size (the stack then goes as a
 * foreign one). */
static __attribute__((noinline)) yc__stack_class *take_back(yc__thread *T, const yc__stack *st)
{
    yc__chunk *c = chunk_of(st);
    yc__stack_class *k = class_find(T, c->map_size);
    if (!k) k = class_claim(T, c->map_size);
    if (!k) {
        foreign_put(T, st);
        return NULL;
    }
    atomic_fetch_sub_explicit(&c->debt, (long)c->nslots, memory_order_acq_rel);
    list_insert(T, k, c);
    return k;
}

/* After a free into c (held by k): unmap c if no stack of it is in use and
 * its class has a pool's worth of free stacks elsewhere, or give back the
 * memory of the least recently used free stacks if the class keeps too
 * many. */
static __attribute__((noinline)) void after_put(yc__thread *T, yc__stack_class *k, yc__chunk *c)
{
    if (chunk_idle(c)) {
        if (k->nfree - (int32_t)(c->nslots - c->out) >= k->keep) chunk_release(T, k, c);
    } else if (k->nwarm > 2 * k->keep) {
        class_purge(T, k, k->keep);
    }
}

/*
 * Returns a stack of our own chunk (c), its probes read, to the chunk's
 * free slots, keeping its memory, and the chunk to the front of its class;
 * then after_put's rules apply. The common case is a few loads and stores.
 */
static __attribute__((noinline)) void class_put(yc__thread *T, yc__chunk *c,
                                                const yc__stack *st)
{
    yc__stack_class *k;
    if (YC_LIKELY(c->free)) { /* held */
        k = &T->classes[c->cls];
        if (k->head != c) list_to_front(T, k, c);
    } else if (!(k = take_back(T, st))) {
        return;
    }
    k->head = c;
    uint64_t bit = (uint64_t)1 << slot_of(st);
    c->free |= bit;
    c->warm |= bit;
    c->out--;
    k->nfree++;
    k->nwarm++;
    T->pool_count++;
    if (YC_UNLIKELY(c->out + atomic_load_explicit(&c->debt, memory_order_relaxed) == 0 ||
                    k->nwarm > 2 * k->keep))
        after_put(T, k, c);
}

/* ---- the last freed stack ----------------------------------------------- */

/*
 * The stack a thread freed last is parked in T->last_freed instead of
 * going back to its chunk, and the thread's next get of that size takes it
 * again: a create, run and free cycle then costs a few loads and stores
 * each way instead of the class's bitmap and list work (docs/design.md,
 * "Stacks", has the figures). A parked stack stays handed out in its
 * chunk, and counts as pooled (T->pool_count), as it would in its chunk.
 *
 * The classes see the same gets and puts in the same order as without the
 * parking, so their rules (idle chunks unmapped, the keep limits, the deep
 * pages kept or given back, the most recently used chunk first) decide as
 * before: every other get or put, and every trim, first returns the parked
 * stack to its chunk (park_flush); and only a stack whose return would
 * have changed nothing but counts is parked (parkable): one that stayed in
 * its top page, of a chunk already at the front of its class, that would
 * neither make its chunk idle enough to unmap nor push its class over the
 * keep limit. The one difference: a get that takes the parked stack gets
 * that very slot, where its chunk could have handed out another warm one.
 * One stack only, for that reason: a second would return to its chunk out
 * of order.
 */
static __attribute__((noinline)) void park_return(yc__thread *T)
{
    yc__stack st = T->last_freed;
    T->last_freed.map = NULL;
    T->pool_count--; /* counted again by class_put */
    class_put(T, chunk_of(&st), &st);
}

static inline void park_flush(yc__thread *T)
{
    if (YC_UNLIKELY(T->last_freed.map != NULL)) park_return(T);
}

/* Would class_put of a stack of our chunk c (that stayed in its top page)
 * change nothing but counts? */
static inline bool parkable(const yc__thread *T, const yc__chunk *c)
{
    if (YC_UNLIKELY(!c->free)) return false; /* full: its class takes it back */
    const yc__stack_class *k = &T->classes[c->cls];
    if (YC_UNLIKELY(k->head != c || k->nwarm >= 2 * k->keep)) return false;
    long left = (long)c->out - 1 + atomic_load_explicit(&c->debt, memory_order_relaxed);
    /* idle after the put: unmapped if its class has keep free stacks besides */
    return left != 0 || k->nfree + 1 - (int32_t)(c->nslots - c->out + 1) < k->keep;
}

/*
 * Returns a stack. A lone stack is unmapped; a stack of another thread's
 * chunk is given back for good (foreign_put), neither touching our
 * classes. A stack of our own chunk is parked (above), or goes back to its
 * chunk (class_put), after the deep pages rule (shed_deep) where its run
 * left the top page.
 */
static inline void park(yc__thread *T, const yc__stack *st)
{
    T->last_freed = *st;
    T->pool_count++;
}

static __attribute__((noinline)) void put_slow(yc__thread *T, const yc__stack *st)
{
    yc__chunk *c = chunk_of(st);
    /* a thread that only frees (a generator it never ran) must still fold
     * its counts, and retry its stranded chunks, when it exits */
    if (YC_UNLIKELY(!T->cur)) yc__thread_init();
    if (YC_UNLIKELY(c->owner != T->serial || !c->classed)) { /* immutable fields */
        put_elsewhere(T, st);
        return;
    }
    park_flush(T);
    if (YC_UNLIKELY(stack_left_top_page(c, st))) {
        shed_deep(T, c, st);
    } else if (YC_LIKELY(parkable(T, c))) {
        park(T, st);
        return;
    }
    class_put(T, c, st);
}

/* put_slow's common case, where nothing needs a call: parks the stack. */
void yc__stack_put(yc__thread *T, const yc__stack *st)
{
    const yc__chunk *c = chunk_of(st);
    bool plain = T->cur && c->owner == T->serial && c->classed && !T->last_freed.map;
#if YC_VALGRIND
    plain = plain && !(c->probe & PROBE_VG); /* the probe needs probe_vg first */
#endif
    if (YC_LIKELY(plain && !probe_set(st->map + c->probe_top) && parkable(T, c))) {
        park(T, st);
        return;
    }
    put_slow(T, st);
}

/* after_put's first rule over all of k's chunks: idle chunks are
 * unmapped, least recently used first, while the others hold `keep` free
 * stacks (keep 0: every idle chunk); the order of those left stays. */
static void class_shed(yc__thread *T, yc__stack_class *k, int32_t keep)
{
    yc__chunk *todo = NULL; /* least recently used first */
    while (k->head) {
        yc__chunk *c = k->head;
        list_remove(k, c);
        c->next = todo;
        todo = c;
    }
    while (todo) {
        yc__chunk *c = todo;
        todo = c->next;
        list_insert(T, k, c);
        if (chunk_idle(c) && k->nfree - (int32_t)(c->nslots - c->out) >= keep)
            chunk_release(T, k, c);
        else
            k->head = c;
    }
}

void yc__stack_retain(yc__thread *T, size_t usable, int32_t n)
{
    size_t map_size = map_size_for(usable);
    if (!chunk_slots(map_size)) return; /* mapped alone: never pooled */
    park_flush(T);
    int32_t keep = pool_keep(map_size);
    if (n < keep) n = keep;
    T->retain_map_size = map_size;
    T->retain_keep = n;
    yc__stack_class *k = class_find(T, map_size);
    if (!k || !k->head) return;
    bool lower = n < k->keep;
    k->keep = n;
    if (!lower) return;
    class_shed(T, k, k->keep);
    if (k->head && k->nwarm > 2 * k->keep) class_purge(T, k, k->keep);
}

void yc_stack_pool_trim(void)
{
    yc__thread *T = &yc__T;
    park_flush(T);
    for (int i = 0; i < YC_STACK_CLASSES; i++) {
        yc__stack_class *k = &T->classes[i];
        /* the chunks with no stack in use go; the others give back the
         * memory of their free stacks */
        class_shed(T, k, 0);
        if (k->head) class_purge(T, k, 0);
        else k->map_size = 0;
    }
    for (yc__chunk **p = &T->stranded; *p;) {
        yc__chunk *c = *p, *next = c->next;
        if (chunk_unmap(T, c)) *p = next;
        else p = &c->next;
    }
}

void yc__stack_thread_exit(yc__thread *T)
{
    yc_stack_pool_trim();
    /* what is left has stacks in use (or could not be unmapped): drop our
     * hold, leaving each chunk to its stacks */
    for (int i = 0; i < YC_STACK_CLASSES; i++) {
        yc__stack_class *k = &T->classes[i];
        while (k->head) {
            yc__chunk *c = k->head;
            list_remove(k, c);
            long out = c->out;
            if (atomic_fetch_add_explicit(&c->debt, out, memory_order_acq_rel) + out == 0)
                chunk_unmap_or_strand(T, c);
        }
        *k = (yc__stack_class){0};
    }
    /* a stranded chunk whose munmap still fails stays mapped: still counted */
    atomic_fetch_add_explicit(&exited_stacks, T->stacks_mapped, memory_order_relaxed);
    atomic_fetch_add_explicit(&exited_chunks, T->stack_chunks, memory_order_relaxed);
    T->stacks_mapped = T->stack_chunks = T->pool_count = 0;
}

void yc_stats_get(yc_stats *out)
{
    if (!out) return;
    yc__thread *T = &yc__T;
    out->generators = T->gens + atomic_load_explicit(&exited_gens, memory_order_relaxed);
    out->stacks_mapped =
        T->stacks_mapped + atomic_load_explicit(&exited_stacks, memory_order_relaxed);
    out->stacks_pooled = T->pool_count;
    out->exceptions = atomic_load_explicit(&yc__live_excs, memory_order_relaxed);
    out->tasks = T->tasks + atomic_load_explicit(&exited_tasks, memory_order_relaxed);
    out->loops = atomic_load_explicit(&yc__live_loops, memory_order_relaxed);
    out->stack_chunks =
        T->stack_chunks + atomic_load_explicit(&exited_chunks, memory_order_relaxed);
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
    if (co && co->gen) {
        const char *addr = si->si_addr;
        size_t page = yc__page_size();
        /* the guard page is right below the usable stack (yc_gen_new) */
        const char *guard = (const char *)co->stack_lo - page;
        if (addr >= guard - 64 * 1024 && addr < guard + page) {
            char msg[512];
            size_t n = 0;
            put_str(msg, &n, sizeof msg, "yieldc: stack overflow in generator '");
            put_str(msg, &n, sizeof msg, co->name);
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

/* coro.c, below this file in the layer, starts and ends threads; it
 * reaches the stacks through these hooks (internal.h, "Hooks"). */
__attribute__((constructor)) static void install_thread_hooks(void)
{
    yc__thread_start_hook = yc__overflow_install;
    yc__thread_stacks_exit = yc__stack_thread_exit;
    yc__thread_stats_exit = yc__stats_add_exited;
}
