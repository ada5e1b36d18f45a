/*
 * Internal declarations shared by the modules of yieldc. Never installed.
 * Internal names carry the yc__ prefix; each module's file-local names are
 * static.
 */
#ifndef YC_INTERNAL_H
#define YC_INTERNAL_H

#define YC_TEST_HOOKS 1 /* the library defines its test hooks (yieldc.h) */
#include "yieldc.h"
#include "arch/arch.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- compile-time options (all in one place, reported by yc_config) ---- */

/* YC_ASAN, YC_TSAN, and YC_FAST_PATH: whether yc_next, yc_send and
 * yc__yield are the assembly fast paths of src/arch/fast_path_x86_64.S
 * (then src/gen.c defines their C versions as yc__next_slow,
 * yc__send_slow and yc__yield_slow, which the fast paths fall back to). */
#include "arch/fast_path.h"
#if YC_TSAN
#  include <signal.h> /* sigset_t in yc__thread */
#endif

#ifndef YC_VALGRIND
#  if defined(__has_include)
#    if __has_include(<valgrind/valgrind.h>)
#      define YC_VALGRIND 1
#    endif
#  endif
#endif
#ifndef YC_VALGRIND
#  define YC_VALGRIND 0
#endif

/* Stacks (stack.c; docs/design.md, "Stacks"). A chunk is one mmap holding
 * up to YC_STACK_CHUNK_SLOTS stacks of one size, and at most about
 * YC_STACK_CHUNK_BYTES (at least 4 stacks: larger stacks are mapped one by
 * one). Each thread keeps chunks for up to YC_STACK_CLASSES distinct sizes
 * at once. A pool's worth is YC_STACK_POOL_MAX free stacks, or a chunk's
 * slots if fewer: a chunk with no stack in use is unmapped when its size
 * class has a pool's worth of free stacks besides, and a class keeping the
 * memory of more than twice that many free stacks gives back the least
 * recently used down to a pool's worth. */
#ifndef YC_STACK_POOL_MAX
#  define YC_STACK_POOL_MAX 64
#endif
#ifndef YC_STACK_CHUNK_SLOTS
#  define YC_STACK_CHUNK_SLOTS 64 /* at most 64: a chunk's slots are bits of a word */
#endif
#ifndef YC_STACK_CHUNK_BYTES
#  define YC_STACK_CHUNK_BYTES (16u << 20)
#endif
#ifndef YC_STACK_CLASSES
#  define YC_STACK_CLASSES 4
#endif

#define YC_LIKELY(x) __builtin_expect(!!(x), 1)
#define YC_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define YC_HIDDEN __attribute__((visibility("hidden")))

/* ---- allocation (util.c) ---- */

YC_HIDDEN void *yc__malloc(size_t n);
YC_HIDDEN void *yc__realloc(void *p, size_t n);
YC_HIDDEN void yc__free(void *p);
YC_HIDDEN char *yc__strdup(const char *s);

/* ---- type structs that can grow (iter.c) ---- */

/* A user's yc_iter_type or yc_cm_type whose size field is neither 0 nor
 * this library's size: YC_OK if it can be used anyway (a newer header's
 * larger struct whose extra bytes are all zero), else YC_EINVAL with a
 * TypeError naming the struct (what), the type and both sizes. */
YC_HIDDEN int yc__type_size_check(const void *type, size_t size, size_t known, const char *what,
                                  const char *name);
/* Whether type struct t (of struct type T) has a size other than the
 * common ones (0, ours): one test, inline. */
#define YC__TYPE_SIZE_ODD(t, T) ((t)->size != 0 && (t)->size != sizeof(T))
/* Whether type struct t cannot be used (the check out of line). */
#define YC__TYPE_SIZE_BAD(t, T, what)                                                      \
    (YC_UNLIKELY(YC__TYPE_SIZE_ODD(t, T)) &&                                              \
     yc__type_size_check((t), (t)->size, sizeof(T), (what), (t)->name) != YC_OK)

/* yc_iter_type.flags: the type is one of the library's pipeline stages
 * (stage.h's pst_type). Read only in a type whose size covers it (size is
 * sizeof(yc_iter_type): types built against an older header have no flags
 * field), and a whole word, not a bit: a user type that sets flags against
 * the header's "leave it 0" is not taken for a stage unless it copies this
 * exact value. */
#define YC__ITER_STAGE 0x73746731u /* "stg1" */
static inline bool yc__iter_is_stage(const yc_iter_type *t)
{
    return t->size == sizeof(yc_iter_type) && t->flags == YC__ITER_STAGE;
}

/* ---- stacks (stack.c) ---- */

/* A stack: a slot of a chunk, a guard page at map and the usable stack
 * above it. */
typedef struct yc__stack {
    char *map;               /* start of the slot (the guard page) */
    size_t map_size;         /* guard page + usable bytes */
    uintptr_t where;         /* the header of the chunk it was carved from
                                (64-aligned) | its index there (< 64):
                                stack.c's business */
} yc__stack;

/* The chunks of one stack size a thread carves from: those with a free
 * slot, on a circular list, most recently used first. */
typedef struct yc__stack_class {
    size_t map_size;         /* of each slot; 0: class unused */
    struct yc__chunk *head;  /* NULL: no chunk with a free slot */
    int32_t nfree;           /* free slots in those chunks */
    int32_t nwarm;           /* of which keep their memory (were used) */
    int32_t keep;            /* a pool's worth of free stacks */
    int32_t ndeep;           /* at least the free stacks keeping a deep run's
                                pages (stack.c, shed_deep) */
} yc__stack_class;

YC_HIDDEN size_t yc__page_size(void);

/* ---- coroutines and threads (coro.c) ---- */

/* A raw coroutine: a context plus the per-coroutine exception state. A
 * thread's own stack is its "main" coroutine (gen == NULL). */
typedef struct yc__coro {
    yc__ctx ctx;                /* saved context while not running */
    struct yc__coro *resumer;   /* who switched to us; valid while running */
    yc__try *handlers;          /* innermost YC_TRY frame */
    yc_exc *exc_info;           /* exception being handled (borrowed) */
    yc_exc *err;                /* error indicator (owned) */
    struct yc_gen *gen;         /* owning generator, NULL for main */
    const char *name;           /* the generator's name, for tracebacks (its
                                   layer sets it: exc.c reads it here) */
    const void *stack_lo;       /* for sanitizers and overflow reports */
    size_t stack_size;
    bool parked;                /* part of a task's chain parked in an await
                                   (the event loop): its generator is RUNNING
                                   but waits, as a suspended async generator */
    /* An exception thrown into a task's parked chain (the event loop)
     * climbs it as CPython's throw does: each coroutine's handled
     * exception counts only once the exception has reached it. in_throw:
     * in that chain, not reached yet (yc__handled skips it); throwing:
     * the coroutine the exception is in now (when it ends with an
     * exception, that is chained to its resumer's own, which carries on). */
    bool in_throw;
    bool throwing;
    yc__ret *ret;             /* the YC_RETURN being prepared or run (exc.c) */
#if YC_ASAN
    void *asan_fake;
    bool asan_landed;         /* an on-top function already finished the switch */
#endif
#if YC_TSAN
    void *tsan_fiber;
#endif
} yc__coro;

/* Everything per thread. */
typedef struct yc__thread {
    yc__coro *cur;         /* running coroutine; NULL until initialised */
    yc__coro main;
    long gens;             /* generators created minus freed here */
    long tasks;            /* task and future objects made minus freed here */
    /* stacks (stack.c) */
    yc__stack_class classes[YC_STACK_CLASSES];
    struct yc__chunk *stranded; /* chunks whose munmap failed, to retry */
    uint64_t serial;       /* owner id in the chunks it maps; 0: none yet */
    long pool_count;       /* free stacks keeping their memory */
    long stacks_mapped;    /* stacks in use or pooled: carved minus given back here */
    long stack_chunks;     /* chunks mapped minus unmapped here */
    size_t retain_map_size; /* the class an event loop asked to retain   */
    int32_t retain_keep;   /* how many free stacks it keeps (yc__stack_retain) */
    yc__stack last_freed;  /* the stack freed last, parked for the next get
                              (stack.c, "the last freed stack"); map NULL: none */
    void *altstack;        /* our sigaltstack, if we installed one */
    size_t altstack_size;
#if YC_TSAN
    sigset_t tsan_mask;    /* the mask to restore after a switch (coro.c) */
    bool tsan_blocked;     /* signals blocked by a switch under way */
#endif
} yc__thread;

extern __thread yc__thread yc__T __attribute__((tls_model("initial-exec")));
#if YC_TSAN
/* Signal handlers a loop has installed (signals.c counts them): while there
 * are any, a switch under TSan blocks signals across it (coro.c). */
YC_HIDDEN extern _Atomic int yc__tsan_sig_handlers;
#endif

YC_HIDDEN yc__coro *yc__thread_init(void);

/* Hooks that upper layers install when the library is loaded (from an ELF
 * constructor, so that no call pays a test for them), for the few places
 * where this layer must act on their objects:
 *   yc__exc_release (exc.c): drops a reference to an exception, for the
 *     error indicator of a thread that exits;
 *   yc__coro_finish (gen.c): ends the running generator g with e, which no
 *     handler of its coroutine caught (PEP 479 applied); never returns. The
 *     exception layer calls it for a coroutine that has a generator, which
 *     only the generator layer makes. */
YC_HIDDEN extern void (*yc__exc_release)(yc_exc *e);
YC_HIDDEN extern void (*yc__coro_finish)(struct yc_gen *g, yc_exc *e);

/* Hooks within a layer, so that a layer's files use each other in one
 * direction only (docs/design.md, "Layers"), set the same way:
 *   yc__thread_start_hook (stack.c): a thread's first use, after coro.c
 *     set it up (installs the stack-overflow handler);
 *   yc__thread_stacks_exit (stack.c): a thread exits, before anything
 *     else is released (gives back its stacks);
 *   yc__thread_stats_exit (stack.c): a thread exits, last (folds its live
 *     counts into the global ones);
 *   yc__exc_print_hook (exc_print.c): the traceback printer the default
 *     unraisable and fatal reports of exc.c use. */
YC_HIDDEN extern void (*yc__thread_start_hook)(void);
YC_HIDDEN extern void (*yc__thread_stacks_exit)(yc__thread *T);
YC_HIDDEN extern void (*yc__thread_stats_exit)(long gens, long tasks);
YC_HIDDEN extern void (*yc__exc_print_hook)(const yc_exc *e, FILE *f);

/* The running coroutine of this thread. Do not cache across a switch: a
 * generator may be resumed on another thread. */
static inline yc__coro *yc__cur(void)
{
    yc__coro *c = yc__T.cur;
    return YC_LIKELY(c != NULL) ? c : yc__thread_init();
}

/*
 * Jumps between coroutines (see arch.h). Each comes in the return-type
 * flavours its callers need to tail-call it: _x (both words), _i (the first
 * word as an int status) and _v (both words as a yc_val). With sanitizers
 * the jumps go through wrappers that annotate the switch (and cannot be
 * tail calls); yc__coro_landed is called first thing by code that starts
 * running on a resumed stack other than by returning from a jump (a fresh
 * entry, an on-top function), with `returning` true when that code will
 * return into the pending jump. `dying` says that from is never resumed.
 */
#if YC_ASAN || YC_TSAN
#  define YC_SANITIZED_SWITCH 1
YC_HIDDEN yc__xfer yc__coro_jump_x(yc__coro *from, yc__coro *to, uint64_t a, uint64_t b,
                                   _Atomic int *flag, int val, bool dying);
YC_HIDDEN yc__xfer yc__coro_jump_ontop_x(yc__coro *from, yc__coro *to, uint64_t a, uint64_t b,
                                         yc__ctx_ontop fn);
YC_HIDDEN void yc__coro_landed(yc__coro *self, bool returning);
static inline int yc__coro_jump_i(yc__coro *from, yc__coro *to, uint64_t a, uint64_t b,
                                  _Atomic int *flag, int val)
{
    return (int)yc__coro_jump_x(from, to, a, b, flag, val, false).a;
}
static inline yc_val yc__coro_jump_v(yc__coro *from, yc__coro *to, uint64_t a, uint64_t b,
                                     _Atomic int *flag, int val)
{
    yc__xfer x = yc__coro_jump_x(from, to, a, b, flag, val, false);
    yc_val v;
    v.i = (int64_t)x.a;
    v.meta = x.b;
    return v;
}
static inline int yc__coro_jump_ontop_i(yc__coro *from, yc__coro *to, uint64_t a, uint64_t b,
                                        yc__ctx_ontop fn)
{
    return (int)yc__coro_jump_ontop_x(from, to, a, b, fn).a;
}
#else
#  define YC_SANITIZED_SWITCH 0
/* The same assembly entry points, declared with other return types; the
 * values travel in the same registers (rax:rdx / x0:x1). */
YC_HIDDEN int yc__ctx_jump_i(yc__ctx *from, yc__ctx *to, uint64_t a, uint64_t b,
                             _Atomic int *flag, int val) __asm__("yc__ctx_jump");
YC_HIDDEN yc_val yc__ctx_jump_v(yc__ctx *from, yc__ctx *to, uint64_t a, uint64_t b,
                                _Atomic int *flag, int val) __asm__("yc__ctx_jump");
YC_HIDDEN int yc__ctx_jump_ontop_i(yc__ctx *from, yc__ctx *to, uint64_t a, uint64_t b,
                                   yc__ctx_ontop fn) __asm__("yc__ctx_jump_ontop");
static inline yc__xfer yc__coro_jump_x(yc__coro *from, yc__coro *to, uint64_t a, uint64_t b,
                                       _Atomic int *flag, int val, bool dying)
{
#ifdef YC_HAVE_CTX_LEAVE
    if (dying) return yc__ctx_leave(&to->ctx, a, b, flag, val); /* nothing of from to save */
#else
    (void)dying;
#endif
    return yc__ctx_jump(&from->ctx, &to->ctx, a, b, flag, val);
}
static inline int yc__coro_jump_i(yc__coro *from, yc__coro *to, uint64_t a, uint64_t b,
                                  _Atomic int *flag, int val)
{
    return yc__ctx_jump_i(&from->ctx, &to->ctx, a, b, flag, val);
}
static inline yc_val yc__coro_jump_v(yc__coro *from, yc__coro *to, uint64_t a, uint64_t b,
                                     _Atomic int *flag, int val)
{
    return yc__ctx_jump_v(&from->ctx, &to->ctx, a, b, flag, val);
}
static inline int yc__coro_jump_ontop_i(yc__coro *from, yc__coro *to, uint64_t a, uint64_t b,
                                        yc__ctx_ontop fn)
{
    return yc__ctx_jump_ontop_i(&from->ctx, &to->ctx, a, b, fn);
}
static inline void yc__coro_landed(yc__coro *self, bool returning)
{
    (void)self;
    (void)returning;
}
#endif
/* yc__coro_jump_x between two coroutines suspended through the same call
 * sites (arch.h, yc__ctx_jump_ret), never dying. */
static inline yc__xfer yc__coro_jump_same(yc__coro *from, yc__coro *to, uint64_t a, uint64_t b,
                                          _Atomic int *flag, int val)
{
#if !YC_SANITIZED_SWITCH && defined(YC_HAVE_JUMP_RET)
    return yc__ctx_jump_ret(&from->ctx, &to->ctx, a, b, flag, val);
#else
    return yc__coro_jump_x(from, to, a, b, flag, val, false);
#endif
}
/* Prepares co to run entry(arg) on the stack [lo, hi); yc__coro_destroy
 * releases what that made. Inline where no sanitizer is told of a new
 * fiber (on the create path, where a call costs more than the work); the
 * sanitizer builds' versions (coro.c) add their annotations to this. */
static inline void yc__coro_init_plain(yc__coro *co, void *lo, void *hi, yc__ctx_entry entry,
                                       void *arg)
{
    co->stack_lo = lo;
    co->stack_size = (size_t)((char *)hi - (char *)lo);
    yc__ctx_init(&co->ctx, lo, hi, entry, arg);
}
#if YC_ASAN || YC_TSAN
YC_HIDDEN void yc__coro_init(yc__coro *co, void *lo, void *hi, yc__ctx_entry entry, void *arg);
YC_HIDDEN void yc__coro_destroy(yc__coro *co);
#else
static inline void yc__coro_init(yc__coro *co, void *lo, void *hi, yc__ctx_entry entry, void *arg)
{
    yc__coro_init_plain(co, lo, hi, entry, arg);
}
static inline void yc__coro_destroy(yc__coro *co) { (void)co; }
#endif

/* Gets a stack of at least `usable` bytes (stack.c). Returns 0, an errno
 * value (nothing got), or YC__STACK_WARM: *out is the stack this thread
 * freed last, unused since, so the top of it holds what its last user left
 * there (a freed generator's header, at the same address). */
#define YC__STACK_WARM (-1)
YC_HIDDEN int yc__stack_get(yc__thread *T, size_t usable, yc__stack *out);
YC_HIDDEN void yc__stack_put(yc__thread *T, const yc__stack *st);
/* Bytes kept below a suspended stack pointer by yc__stack_trim_below. */
#define YC__STACK_RED_ZONE 512
/* Gives back the pages of st below sp (a suspended coroutine's saved stack
 * pointer) minus YC__STACK_RED_ZONE, rounded down to a page: one madvise.
 * Returns the bytes given back (0: none, or sp not on st). */
YC_HIDDEN size_t yc__stack_trim_below(const yc__stack *st, const char *sp);
/*
 * Makes the class of stacks of `usable` bytes keep up to n free stacks with
 * their memory (an event loop's peak number of tasks), instead of a pool's
 * worth: a loop that spawns and joins batches of tasks reuses warm stacks
 * instead of faulting fresh pages in for every batch. n at or below a
 * pool's worth restores the default, and what the class keeps beyond it is
 * given back at once. One such class per thread.
 */
YC_HIDDEN void yc__stack_retain(yc__thread *T, size_t usable, int32_t n);
/* Thread exit: gives back the thread's free stacks, leaves chunks with
 * stacks still in use to those stacks, and folds its stack counters into
 * the process-wide ones. */
YC_HIDDEN void yc__stack_thread_exit(yc__thread *T);
YC_HIDDEN void yc__overflow_install(void);
YC_HIDDEN void yc__stats_add_exited(long gens, long tasks);
/* Live loops and exceptions (stack.c, for yc_stats_get; counted by the
 * loop and exception layers; tasks are counted per thread). */
extern _Atomic long yc__live_loops;
extern _Atomic long yc__live_excs;
/* Set by the event loop (yc_loop_new) so that the sources of the
 * pipelines (a lower layer) can wait for a non-blocking descriptor inside
 * a task: waits in the running task until fd is readable. YC_OK when it
 * waited, 1 when no task runs here (the caller reports its EAGAIN),
 * negative with the exception pending (a cancellation, ...). NULL until a
 * loop was made. */
YC_HIDDEN extern int (*yc__fd_wait_readable)(int fd);

/* ---- exceptions (exc.c) ---- */

#define YC__EXC_MAGIC 0x79634578u /* "ycEx" */
#define YC__TB_SMALL 2

struct yc_exc {
    uint32_t magic;
    int32_t refs;              /* < 0: immortal (the preallocated MemoryError) */
    const yc_exc_type *type;
    char *msg;                 /* owned; NULL for none */
    yc_val value;              /* StopIteration's value */
    int err;                   /* errno for OSError */
    bool suppress_context;
    yc_exc *context;           /* owned */
    yc_exc *cause;             /* owned */
    yc_exc **excs;             /* a group's members (owned), in the same block; NULL otherwise */
    uint32_t nexcs;            /* a group's member count (>= 1); 0 otherwise */
    yc_exc *free_next;         /* yc_exc_unref's list of exceptions to free */
    yc_tb_entry *tb;           /* tb_small, or an owned array */
    uint32_t ntb, captb;
    /* The first entries live inline, with short generator names, so a
     * raise (every close throws GeneratorExit) needs no allocation for its
     * traceback. A longer `where` is an owned copy. */
    yc_tb_entry tb_small[YC__TB_SMALL];
    char where_small[YC__TB_SMALL][32];
};

YC_HIDDEN bool yc__exc_valid(const yc_exc *e);
/* Sets the error indicator of co (takes e). */
YC_HIDDEN void yc__err_set(yc__coro *co, yc_exc *e);
/* Sets the current coroutine's error indicator to a new exception and
 * returns status. */
YC_HIDDEN int yc__fail(int status, const yc_exc_type *t, const char *fmt, ...) YC_PRINTF(3, 4);
/* Appends a traceback entry to e (no-op for the immortal MemoryError). */
YC_HIDDEN void yc__tb_add(yc_exc *e, const char *file, int line, const char *func,
                          const char *where);
/* Drops the traceback entries after the first n (no-op for fewer). */
YC_HIDDEN void yc__tb_truncate(yc_exc *e, uint32_t n);
/* Takes co's pending exception after a call failed (a RuntimeError if a
 * broken callee left none). Returns a new reference. */
YC_HIDDEN yc_exc *yc__err_take_failed(yc__coro *co);
/* Fails with TypeError "exceptions must be ... deriving from BaseException,
 * not NULL / a foreign pointer": returns YC_EINVAL. */
YC_HIDDEN int yc__not_an_exception(const yc_exc *e);
/* The exception being handled as seen from co (its own, else its resumer's). */
YC_HIDDEN yc_exc *yc__handled(yc__coro *co);
/* Sets e.__context__ = ctx (ref'd) unless that would make a cycle, as
 * CPython's _PyErr_SetObject does. */
YC_HIDDEN void yc__exc_chain(yc_exc *e, yc_exc *ctx);
/* The raise machinery without context chaining or traceback: delivers e to
 * co's innermost handler, or ends the generator, or calls the fatal hook. */
YC_HIDDEN YC_NORETURN void yc__deliver(yc__coro *co, yc_exc *e);
/* Raise at a given location in co (chains context, adds a traceback entry). */
YC_HIDDEN YC_NORETURN void yc__raise_in(yc__coro *co, yc_exc *e, const char *file, int line,
                                        const char *func);
YC_HIDDEN void yc__unraisable(yc_exc *e, const char *obj);
/* The same for a report whose text is the whole description (the event
 * loop's "Task exception was never retrieved\nfuture: <Task ...>"): the
 * default hook prints the text, then e when not NULL. */
YC_HIDDEN void yc__unraisable_report(yc_exc *e, const char *text);
YC_HIDDEN extern yc_exc yc__nomem;
/* A new exception of type t (NULL: BaseException) with room for n member
 * pointers after it (e->excs, e->nexcs = n), nothing else set; the
 * preallocated MemoryError when out of memory. */
YC_HIDDEN yc_exc *yc__exc_alloc(const yc_exc_type *t, uint32_t n);
/* Copies src's traceback into dst, which has none. Returns false, with dst
 * unchanged, when out of memory. */
YC_HIDDEN bool yc__tb_copy(yc_exc *dst, const yc_exc *src);
/* A type's name for messages ("?" for a type without one). */
YC_HIDDEN const char *yc__type_name(const yc_exc_type *t);
/* "<main>": a traceback entry's `where` outside generators. */
YC_HIDDEN extern const char yc__main_name[];

/* A bounded text writer with snprintf's contract (repr.c): writes what fits
 * in buf[0..cap-1) and counts the whole length wanted in len. */
typedef struct yc__out {
    char *buf;
    size_t cap; /* 0: only count */
    size_t len;
} yc__out;
YC_HIDDEN void yc__out_put(yc__out *o, const char *s, size_t len);
YC_HIDDEN void yc__out_printf(yc__out *o, const char *fmt, ...) YC_PRINTF(2, 3);
/* NUL-terminates and returns the length wanted (capped at INT32_MAX). */
YC_HIDDEN int yc__out_end(yc__out *o);
/* repr(v); depth counts the tuples around v. */
YC_HIDDEN void yc__repr_val(yc__out *o, yc_val v, int depth);
/* repr() of a str holding the UTF-8 text[0..len): quotes and escapes as
 * Python (\uNNNN for unprintable code points); a byte that is not UTF-8
 * is shown as \xNN. */
YC_HIDDEN void yc__repr_str(yc__out *o, const char *text, size_t len);

/* A set of pointers (open addressing), for walks over exceptions: inline
 * slots first, then on the heap. */
typedef struct yc__ptrset {
    const void **slots;
    size_t cap, n;
    const void *small[32];
} yc__ptrset;
YC_HIDDEN void yc__ptrset_init(yc__ptrset *s);
/* Adds p (not NULL): 1 if it was new, 0 if already there, -1 when out of
 * memory (the set unchanged). */
YC_HIDDEN int yc__ptrset_add(yc__ptrset *s, const void *p);
YC_HIDDEN void yc__ptrset_free(yc__ptrset *s);

/* ---- generators (gen.c) ---- */

#define YC__GEN_MAGIC 0x7963476eu /* "ycGn" */
#define YC__GEN_DEAD 0x64656164u  /* "dead" */
/* The magic of a live generator suspended in yield from over a stackful
 * generator: the assembly fast paths, which check for YC__GEN_MAGIC, then
 * leave the resume to the C path, which resumes the innermost generator of
 * the chain directly (gen.c, chain_send). */
#define YC__GEN_MAGIC_FROM 0x7963476fu /* "ycGo" */

/* The internal state of a level of a yield from chain that a chain walk
 * passed and left suspended in yield from, held by its cover (yc_gen.cover,
 * the generator whose delegation loop walked the chain): RUNNING exactly
 * when its cover is, SUSPENDED otherwise (gen.c, "covered levels"). Never
 * seen through the public API; a covered level keeps YC__GEN_MAGIC_FROM,
 * so the assembly fast paths never see it. */
#define YC__GEN_COVERED 4
/* The internal state of a cover while a claim of one of its covered levels
 * from elsewhere (another thread, or a coroutine other than the cover)
 * gives its levels back (gen.c, claim_covered): a few stores, no user
 * code. A claim that finds it waits for SUSPENDED again rather than
 * reporting the generator busy (its owner's next is not refused because
 * another thread touched a level below); the public API shows SUSPENDED. */
#define YC__GEN_UNCOVERING 5
/* The magic word, read while the generator may run on another thread
 * (which switches it between the two live values: gen.c, suspend_from):
 * a relaxed atomic access, a plain load on the machines we build for. */
#define YC__GEN_MAGIC_OF(g) __atomic_load_n(&(g)->magic, __ATOMIC_RELAXED)

struct yc_gen {
    yc_iter it;                /* first: a generator is an iterator */
    uint32_t magic;
    _Atomic int state;         /* yc_gen_state */
    _Atomic uintptr_t owner;   /* the biased claim (gen.c): the thread (&yc__T)
                                  that may claim with plain stores; 0 none,
                                  YC__OWNER_REVOKING while being taken away */
    _Atomic int claiming;      /* 1 while the owner's plain claim is under way */
    uint32_t flags;            /* yc_gen_opts.flags (YC_GEN_SHARE_FPENV) */
    yc_val *out;               /* where the resumer wants the result */
    yc_val scratch;            /* out when the resumer passed NULL */
    yc_val done;               /* a subiterator's return value, for yield from */
    yc_exc *exc_in;            /* to raise at the resume point (owned) */
    const char *yield_file;    /* the suspension point, for tracebacks */
    int yield_line;
    int susp;                  /* how it is suspended: SUSP_YIELD / SUSP_FROM */
    yc_iter *yieldfrom;        /* subiterator while delegating */
    struct yc_gen *walk_up;    /* the level above, while a resume of a yield from
                                  chain holds this one (gen.c, chain_send; on
                                  the cache line of yieldfrom, which it reads) */
    struct yc_gen *walk_to;    /* while this generator covers the levels below it
                                  (their state YC__GEN_COVERED): the level its
                                  cached send resumes (gen.c, cover_send); NULL
                                  when it covers none (set on entering yield
                                  from: valid while susp is SUSP_FROM). Its
                                  claim's holder's. */
    _Atomic(struct yc_gen *) cover; /* while this level is YC__GEN_COVERED: the
                                  generator whose claim holds it (written before
                                  the state's release store) */
    yc__stack stack;
    yc__coro co;
    const char *name;          /* a copy after the struct, or the default constant */
    yc_gen_fn fn;
    void *arg;
};

/* How a suspended generator is suspended (yc_gen.susp). */
enum { YC__SUSP_YIELD, YC__SUSP_FROM };

#define YC__OWNER_REVOKING ((uintptr_t)1)

/* Bytes reserved at the top of every stack mapping for the generator's
 * header and name (so all default-size stacks map the same size). */
#define YC__GEN_HEADER_MAX (((sizeof(struct yc_gen) + 256) + 63) & ~(size_t)63)

YC_HIDDEN const char *yc__coro_name(const yc__coro *co);

/* The C claim of g for a use other than a resume into its body (gen.c):
 * moves g's state from *from (SUSPENDED or CREATED) to RUNNING, a covered
 * level through its cover, and gives up what g itself covers. false, with
 * *from the state found (never YC__GEN_COVERED), when g was not in *from
 * (a covered level whose cover runs: RUNNING). */
YC_HIDDEN bool yc__gen_claim(struct yc_gen *g, int *from);

#endif
