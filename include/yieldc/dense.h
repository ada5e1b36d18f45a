/* yieldc: stackless ("dense") generators.
 * Included by yieldc.h; do not include directly. docs/stackless.md is the guide.
 *
 * A stackless generator has no stack of its own. Its locals live in a struct
 * the user declares (first member `yc_sgen sgen`), and its body is one C
 * function that the library re-enters at the point where it last yielded
 * (a computed goto: GCC and Clang only). It speaks the whole generator
 * protocol of the stackful kind (python-semantics.md sections 1-8): next,
 * send, throw, close, return values, PEP 479, "generator ignored
 * GeneratorExit", "generator already executing", states, exception context
 * and tracebacks naming the generator. It is a yc_iter: YC_FOREACH, pipeline
 * stages, reducers and yc_yield_from accept &x.sgen.it, and its own
 * YC_SYIELD_FROM delegates to any yc_iter (stackful generators included).
 *
 *   typedef struct {
 *       yc_sgen sgen;          first member
 *       YC_SGEN_TRIES(1);      only if the body uses YC_STRY (n: nesting depth)
 *       int64_t n;             everything that lives across a yield
 *   } countdown_t;
 *
 *   YC_SGEN_FN(countdown, countdown_t, s)      defines the type `countdown`
 *   {
 *       YC_SGEN_BEGIN();
 *       YC_STRY(s) {
 *           while (s->n > 0) YC_SYIELD(yc_int(s->n--));
 *       } YC_SFINALLY {
 *           puts("finally");                    runs on return, raise, close
 *       } YC_STRY_END;
 *       YC_SRETURN(yc_str("liftoff"));
 *       YC_SGEN_END();
 *   }
 *
 *   countdown_t c = {.n = 3};                   embedded in your memory, or
 *   yc_sgen_init(&c.sgen, &countdown);          yc_sgen_new(&countdown)
 *   YC_FOREACH(v, &c.sgen.it, st) ...
 *   yc_sgen_fini(&c.sgen);                      closes it if suspended
 *
 * Rules (each misuse is a compile error, a -Wall warning, or a RuntimeError;
 * docs/stackless.md lists the messages):
 * - yields only in the body itself (a helper that yields is a generator of
 *   its own, delegated to with YC_SYIELD_FROM);
 * - a C local does not survive a yield: keep such state in the struct;
 * - leave the body only by YC_SRETURN, YC_SRAISE or its end (a plain
 *   `return` does not compile); leave a YC_STRY only through its end;
 * - call functions that return a status (YC_SCHECK them), not ones that
 *   raise with yc_raise (longjmp): see YC_SCALL_RAISING;
 * - one thread at a time per generator (not checked across threads).
 */
#ifndef YIELDC_DENSE_H
#define YIELDC_DENSE_H

#ifndef YIELDC_H
#  error "include <yieldc.h>, not <yieldc/dense.h>"
#endif
#if !defined(__GNUC__)
#  error "yieldc stackless generators need GCC or Clang (labels as values)"
#endif

/* ======================================================================
 * Types
 * ==================================================================== */

/* The library's part of a stackless generator: 48 bytes, the first member of
 * the user's struct. Fields are private (read them with the functions
 * below); the inline fast paths at the end of this header and each type's
 * own next and send read and write them, so their layout is part of the
 * ABI of this version (the soname's, docs/design.md). */
typedef struct yc_sgen {
    yc_iter it;           /* first: a stackless generator is an iterator */
    void *pc;             /* where the body resumes (NULL: at its start) */
    yc_iter *yf;          /* the subiterator while delegating (yield from) */
    yc_exc *handled;      /* the exception the body handles (borrowed from a try record) */
    uint32_t line;        /* the line of the last suspension, for tracebacks */
    uint16_t tries;       /* offset of the try area in the struct (0: none yet) */
    uint8_t state;        /* yc_gen_state, or a dead mark */
    uint8_t ntry;         /* open YC_STRY constructs */
    uint32_t magic;       /* YC__SGEN_MAGIC while initialised */
    uint8_t flags;        /* YC__SGEN_POOLED (memory from yc_sgen_new), and its size class */
    int8_t fin;           /* how the body ended (YC_RETURN / YC_RAISE) */
} yc_sgen;

#ifndef __cplusplus
_Static_assert(offsetof(yc_sgen, tries) == offsetof(yc_sgen, line) + 4 &&
                   offsetof(yc_sgen, ntry) == offsetof(yc_sgen, line) + 7 &&
                   offsetof(yc_sgen, flags) == offsetof(yc_sgen, magic) + 4 &&
                   sizeof(yc_sgen) == offsetof(yc_sgen, magic) + 8,
               "yc_sgen_new writes the header in words");
#endif

/* Private marks (src/dense.c and the inline fast paths share them). */
#define YC__SGEN_MAGIC 0x7963536eu      /* "ycSn": yc_sgen.magic of an initialised generator */
#define YC__SGEN_TYPE_MAGIC 0x7963536bu /* "ycSk": yc_sgen_type.magic (YC_SGEN_FN) */
#define YC__SGEN_DEAD 0xddu             /* yc_sgen.state of a finalised or freed one */
#define YC__SGEN_POOLED 1u              /* yc_sgen.flags: memory from yc_sgen_new; */
#define YC__SGEN_CLASS_SHIFT 1          /* its size class in bits 1-3 (0: 64-byte blocks) */

/* The 8 bytes from yc_sgen.magic of a pooled generator of class 0, as one
 * word (magic, flags, fin 0, padding 0). */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#  define YC__SGEN_MAGIC_WORD ((uint64_t)YC__SGEN_MAGIC | (uint64_t)YC__SGEN_POOLED << 32)
#else
#  define YC__SGEN_MAGIC_WORD ((uint64_t)YC__SGEN_MAGIC << 32 | (uint64_t)YC__SGEN_POOLED << 24)
#endif

/* What a body returns to the library (a struct, so that a plain `return 0;`
 * in a body does not compile). Private. */
typedef struct yc__sgen_step {
    int st;
} yc__sgen_step;

typedef yc__sgen_step (*yc__sgen_body)(yc_sgen *self, yc_val in, yc_val *out);

/* yc_iter_type.flags of every stackless generator type (a whole word, as
 * the library marks its pipeline stages): lets the library recognise a
 * stackless subiterator and resume the innermost generator of a yield-from
 * chain directly. Private. */
#define YC__SGEN_ITER_MARK 0x7367656eu /* "sgen" */

/* A generator type: made by YC_SGEN_FN, static. Fields are private. */
typedef struct yc_sgen_type {
    yc_iter_type it;      /* first: every stackless generator's it.type */
    yc__sgen_body body;
    const char *name;     /* the generator function's name (tracebacks, messages) */
    const char *file;     /* where the body is (tracebacks) */
    size_t size;          /* sizeof the user's struct (yc_sgen_new) */
    uint32_t magic;
} yc_sgen_type;

/* One try construct's record (private), and the try area. */
typedef struct yc__sgen_try {
    void *disp;           /* the construct's dispatch label */
    yc_exc *exc;          /* the exception in flight or being handled (owned) */
    yc_exc *saved;        /* the body's handled exception when the try began */
    uint8_t phase, why;
} yc__sgen_try;
typedef struct yc__sgen_tries {
    yc_val ret;           /* a return value passing through finally blocks */
    yc_exc *caller;       /* the resumer's handled exception, this resume */
} yc__sgen_tries;

/* In the struct, after `sgen`, when the body uses YC_STRY: room for n
 * nested try constructs (32 bytes each, plus 24 once). A body nesting
 * deeper fails to compile ("YC_STRY nested deeper than YC_SGEN_TRIES(n)"). */
#define YC_SGEN_TRIES(n)                                                      \
    struct {                                                                  \
        yc__sgen_tries h;                                                     \
        yc__sgen_try t[n];                                                    \
    } yc__tries

/* ======================================================================
 * Defining a generator
 * ==================================================================== */

/* Defines `static const yc_sgen_type fn_` (the generator function) and opens the definition of its
 * body, in which `s` is a T * to the generator's struct. T's first member
 * must be `yc_sgen sgen`. The body follows in braces and starts with
 * YC_SGEN_BEGIN() and ends with YC_SGEN_END(). */
#define YC_SGEN_FN(fn_, T, s)                                                 \
    _Static_assert(offsetof(T, sgen) == 0, "the first member of " #T          \
                                           " must be `yc_sgen sgen`");        \
    static yc__sgen_step fn_##__sgen_body(yc_sgen *, yc_val, yc_val *, T *);  \
    static yc__sgen_step fn_##__sgen_entry(yc_sgen *g, yc_val in, yc_val *out) \
    {                                                                         \
        return fn_##__sgen_body(g, in, out, (T *)(void *)g);                  \
    }                                                                         \
    YC__SGEN_RESUMER(fn_, T, next, (yc_iter * it, yc_val * out), YC_NONE,     \
                     (g->state & 1) == 0)                                     \
    YC__SGEN_RESUMER(fn_, T, send, (yc_iter * it, yc_val v, yc_val * out), v, \
                     g->state == YC_GEN_SUSPENDED)                            \
    static const yc_sgen_type fn_ = {                                         \
        .it = {.name = "generator",                                           \
               .next = fn_##__sgen_next,                                      \
               .send = fn_##__sgen_send,                                      \
               .throw_ = yc__sgen_throw,                                      \
               .close = yc__sgen_close,                                       \
               .free = yc__sgen_free_it,                                      \
               .size = sizeof(yc_iter_type),                                  \
               .flags = YC__SGEN_ITER_MARK},                                  \
        .body = fn_##__sgen_entry,                                            \
        .name = #fn_,                                                         \
        .file = __FILE__,                                                     \
        .size = sizeof(T),                                                    \
        .magic = YC__SGEN_TYPE_MAGIC,                                         \
    };                                                                        \
    static yc__sgen_step fn_##__sgen_body(                                    \
        yc_sgen *yc__sgen_self, yc_val yc__sgen_in __attribute__((unused)),   \
        yc_val *yc__sgen_out, T *s __attribute__((unused)))

/* A type's next and send: the common case (suspended at a yield, or for
 * next also created; not delegating, handling nothing) calls the body
 * directly; everything else goes to the library. `state & 1` is 0 for
 * CREATED (0) and SUSPENDED (2) only. Private. */
#ifndef __cplusplus
_Static_assert(YC_GEN_CREATED == 0 && YC_GEN_RUNNING == 1 && YC_GEN_SUSPENDED == 2 &&
                   YC_GEN_CLOSED == 3,
               "the states YC__SGEN_RESUMER tests");
#endif
#define YC__SGEN_RESUMER(fn_, T, op, params, sent, claimable)                 \
    static int fn_##__sgen_##op params                                        \
    {                                                                         \
        yc_sgen *g = (yc_sgen *)it;                                           \
        if (__builtin_expect((claimable) && !g->yf && !g->handled, 1)) {      \
            g->state = YC_GEN_RUNNING;                                        \
            return fn_##__sgen_body(g, (sent), out, (T *)(void *)g).st;       \
        }                                                                     \
        return yc__sgen_resume_cold(g, (sent), out);                          \
    }

/* ---- inside a body -------------------------------------------------------
 * Every macro below works only between YC_SGEN_BEGIN and YC_SGEN_END of a
 * YC_SGEN_FN body; anywhere else it fails to compile ("'yc__sgen_self'
 * undeclared"). */

#define YC__SCAT2(a, b) a##b
#define YC__SCAT(a, b) YC__SCAT2(a, b)
#define YC__SGEN_ON ((void *)1)

/* Runs a library step that says where the body goes on: YC__SGEN_ON (here),
 * a label (a try construct's dispatch), or NULL (the body ended; return). */
#define YC__SGEN_GO(expr)                                                     \
    do {                                                                      \
        void *yc__to = (expr);                                                \
        if (__builtin_expect(yc__to != YC__SGEN_ON, 0)) {                     \
            if (yc__to) __extension__({ goto *yc__to; });                                         \
            return yc__sgen_ended(yc__sgen_self, yc__sgen_out);               \
        }                                                                     \
    } while (0)

/* The first statement of a body. (The dead store gives a body without
 * any yield an address-of-label expression, without which clang refuses
 * an indirect goto; the optimiser drops it.) */
#define YC_SGEN_BEGIN()                                                       \
    enum { yc__tdepth = 0 };                                                  \
    if (0) yc__sgen_self->pc = __extension__ &&yc__sgen_start;                              \
    if (yc__sgen_self->pc) __extension__({ goto *yc__sgen_self->pc; });                           \
    yc__sgen_start:

/* The last statement of a body: falling off the end returns None. */
#define YC_SGEN_END()                                                         \
    YC_SRETURN(YC_NONE);                                                      \
    return yc__sgen_ended(yc__sgen_self, yc__sgen_out)

/* yield v: hands v to the resumer and suspends. The value sent in (None
 * for next) is YC_SSENT() afterwards. v is evaluated before suspending. */
#define YC_SYIELD(v) YC__SYIELD((v), YC__SCAT(yc__sgen_l, __COUNTER__))
#define YC__SYIELD(v, L)                                                      \
    do {                                                                      \
        *yc__sgen_out = (v);                                                  \
        yc__sgen_self->pc = __extension__ &&L;                                              \
        yc__sgen_self->line = __LINE__;                                       \
        if (__builtin_expect(yc__sgen_self->handled != NULL, 0))              \
            yc__sgen_suspend_handling(yc__sgen_self);                         \
        yc__sgen_self->state = YC_GEN_SUSPENDED;                              \
        return (yc__sgen_step){YC_YIELD};                                     \
    L:;                                                                       \
    } while (0)

/* The value of the last YC_SYIELD (what send passed in; None for next) or
 * of the last YC_SYIELD_FROM (the subiterator's return value). */
#define YC_SSENT() (yc__sgen_in)

/* return v: StopIteration(v) for the resumer, after the finally blocks of
 * the open try constructs have run. */
#define YC_SRETURN(v)                                                         \
    YC__SGEN_GO(yc__sgen_return(yc__sgen_self, (v), yc__sgen_out, yc__tdepth))

/* raise e (takes e): to the innermost YC_STRY, or out of the generator.
 * Chained to the exception being handled, with a traceback entry naming
 * the generator. */
#define YC_SRAISE(e)                                                          \
    YC__SGEN_GO(yc__sgen_raise(yc__sgen_self, (e), __FILE__, __LINE__, __func__, yc__tdepth))
#define YC_SRAISEF(type, ...) YC_SRAISE(yc_exc_new((type), __VA_ARGS__))
/* A bare `raise` inside YC_SEXCEPT (or a finally run by an exception):
 * re-raises the exception being handled; RuntimeError "No active exception
 * to reraise" elsewhere. */
#define YC_SRERAISE()                                                         \
    YC__SGEN_GO(yc__sgen_reraise(yc__sgen_self, __FILE__, __LINE__, __func__, yc__tdepth))
/* A negative status (a failed yc_* call) raises the pending exception as
 * it is (its context was set where it was made), as YC_CHECK does. */
#define YC_SCHECK(expr)                                                       \
    do {                                                                      \
        if ((expr) < 0)                                                       \
            YC__SGEN_GO(yc__sgen_raise_failed(yc__sgen_self, __FILE__, __LINE__, \
                                              __func__, yc__tdepth));         \
    } while (0)
/* Calls stmt, a statement that may raise with yc_raise (a longjmp: stackful
 * code, YC_CHECK), under a YC_TRY of its own, and raises what it raised
 * here. Costs a setjmp: use it only around such calls. */
#define YC_SCALL_RAISING(stmt)                                                \
    do {                                                                      \
        yc_exc *volatile yc__caught = NULL;                                          \
        YC_TRY { stmt; }                                                      \
        YC_EXCEPT_ANY { yc__caught = yc_exc_ref(yc_exc_current()); }          \
        YC_END;                                                               \
        if (yc__caught)                                                       \
            YC__SGEN_GO(yc__sgen_raise(yc__sgen_self, yc__caught, __FILE__,   \
                                       __LINE__, __func__, yc__tdepth));      \
    } while (0)

/* yield from it (borrowed; must outlive the delegation): PEP 380. next,
 * send, throw and close go to it until it ends; its return value is
 * YC_SSENT() afterwards. Raises what it raises (a NULL it: TypeError
 * "'NULL' object is not iterable"). */
#define YC_SYIELD_FROM(it) YC__SYIELD_FROM((it), YC__SCAT(yc__sgen_l, __COUNTER__))
#define YC__SYIELD_FROM(it, L)                                                \
    do {                                                                      \
        yc__sgen_self->line = __LINE__;                                       \
        void *yc__to = yc__sgen_from(yc__sgen_self, (it), yc__sgen_out, &yc__sgen_in, \
                                     __extension__ &&L, __FILE__, yc__tdepth);              \
        if (yc__to == YC__SGEN_ON) return (yc__sgen_step){YC_YIELD};         \
        if (!yc__to) return yc__sgen_ended(yc__sgen_self, yc__sgen_out);     \
        __extension__({ goto *yc__to; });                                    \
    L:;                                                                       \
    } while (0)

/* try / except / finally, with Python's rules, no setjmp, and a finally that
 * runs on YC_SRETURN too:
 *
 *   YC_STRY(s) {
 *       ...                                  may yield and raise
 *   } YC_SEXCEPT(&yc_KeyError) {             any number; first match wins
 *       yc_exc *e = yc_exc_current();        borrowed
 *   } YC_SFINALLY {                          optional
 *       ...
 *   } YC_STRY_END;
 *
 * s is the body's struct pointer (its YC_SGEN_TRIES sets how deep tries
 * nest). Leave the blocks only through their end, YC_SRETURN or a raise:
 * break, continue or goto out of them skip the bookkeeping, and the next
 * try construct, return or raise fails with RuntimeError "YC_STRY block
 * left by break, continue or goto". */
#define YC_STRY(s) YC__STRY(s, YC__SCAT(yc__t_disp, __COUNTER__))
#define YC__STRY(s, D)                                                        \
    {                                                                         \
        YC__NOSHADOW(enum { yc__tdp = yc__tdepth };)                          \
        YC__NOSHADOW(enum { yc__tdepth = yc__tdp + 1 };)                      \
        _Static_assert(yc__tdepth <= (int)(sizeof((s)->yc__tries.t) /        \
                                           sizeof((s)->yc__tries.t[0])),      \
                       "YC_STRY nested deeper than YC_SGEN_TRIES(n)");        \
        YC__SGEN_GO(yc__sgen_try_push(yc__sgen_self, &(s)->yc__tries.h, yc__tdepth, \
                                      __extension__ &&D));                    \
        if (0) {                                                              \
        D:;                                                                   \
        } else {
#define YC_SEXCEPT(type)                                                      \
            yc__sgen_try_ok(yc__sgen_self, yc__tdepth);                       \
        }                                                                     \
        if (yc__sgen_try_catch(yc__sgen_self, yc__tdepth, (type))) {
#define YC_SEXCEPT_ANY YC_SEXCEPT(&yc_BaseException)
#define YC_SFINALLY                                                           \
            yc__sgen_try_ok(yc__sgen_self, yc__tdepth);                       \
        }                                                                     \
        if (yc__sgen_try_finally(yc__sgen_self, yc__tdepth)) {
#define YC_STRY_END                                                           \
            yc__sgen_try_ok(yc__sgen_self, yc__tdepth);                       \
        }                                                                     \
        YC__SGEN_GO(yc__sgen_try_end(yc__sgen_self, yc__tdepth, yc__sgen_out));             \
    }                                                                         \
    do {} while (0)

/* ======================================================================
 * Life cycle
 * ==================================================================== */

/* Initialises the generator whose struct starts at g (memory the caller
 * owns: a struct of type's T, e.g. an element of an array): state CREATED,
 * nothing runs. The user's fields are left as they are. Returns YC_OK, or
 * YC_EINVAL with TypeError when g or type is NULL or type is not a
 * stackless generator type. Allocates nothing. */
YC_API int yc_sgen_init(yc_sgen *g, const yc_sgen_type *type);
/* Ends a generator made by yc_sgen_init: a suspended one is closed first,
 * so its finally blocks run (a failure goes to the unraisable hook); what
 * it still holds (exceptions of try blocks it left open by ignoring
 * GeneratorExit) is released. The memory stays the caller's; g must be
 * initialised again before any other use. Returns YC_OK, YC_EBUSY (g is
 * running: nothing done) or YC_EINVAL (NULL, not initialised, or made by
 * yc_sgen_new: use yc_sgen_free). */
YC_API int yc_sgen_fini(yc_sgen *g);

/* A new generator of type, its struct zeroed (set your fields before the
 * first next), from this thread's slab of its size class (64, 128, 256,
 * 512 or 1024 bytes; a larger struct gets a block of its own). Returns
 * NULL with TypeError (type NULL or not a stackless generator type) or
 * MemoryError pending. Free with yc_sgen_free (or yc_iter_free). */
YC_API yc_sgen *yc_sgen_new(const yc_sgen_type *type);
/* Frees a generator made by yc_sgen_new, closing it first as yc_sgen_fini
 * does. Its memory goes back to the slab of the freeing thread. Returns
 * YC_OK, YC_EBUSY (running: nothing done) or YC_EINVAL (NULL, freed, or
 * not made by yc_sgen_new). */
YC_API int yc_sgen_free(yc_sgen *g);
/* Gives the calling thread's slab memory back to the allocator, when no
 * generator of yc_sgen_new made on this thread is live (else does nothing).
 * Returns the number of bytes given back. */
YC_API size_t yc_sgen_pool_trim(void);
/* Generators of yc_sgen_new made on this thread and not yet freed. */
YC_API long yc_sgen_live(void);

/* ======================================================================
 * The protocol (also reachable as g->it with yc_iter_*)
 * ==================================================================== */

/* The same contracts as yc_next, yc_send, yc_throw and yc_close (yieldc.h):
 * next: YC_YIELD with *out, YC_RETURN with the return value (once; None
 * afterwards), YC_RAISE (the body raised; g closed), YC_EBUSY (running),
 * YC_EINVAL (g NULL or not initialised). send: a non-None v into a created
 * generator is YC_EINVAL (TypeError), g unchanged. throw takes e (even on
 * failure); e NULL or not an exception: YC_EINVAL. close: YC_OK (*out the
 * return value when the body caught GeneratorExit and returned),
 * YC_RAISE with RuntimeError "generator ignored GeneratorExit" when it
 * yielded (it stays suspended), or with what it raised. out may be NULL. */
YC_API int yc_sgen_next(yc_sgen *g, yc_val *out);
YC_API int yc_sgen_send(yc_sgen *g, yc_val v, yc_val *out);
YC_API int yc_sgen_throw(yc_sgen *g, yc_exc *e, yc_val *out);
YC_API int yc_sgen_close(yc_sgen *g, yc_val *out);

/* The state (YC_GEN_CLOSED for NULL or an uninitialised g). */
YC_API yc_gen_state yc_sgen_state_of(const yc_sgen *g);
/* The generator function's name (static), or NULL for NULL / uninitialised. */
YC_API const char *yc_sgen_name(const yc_sgen *g);
/* The subiterator g delegates to while suspended in YC_SYIELD_FROM, else
 * NULL (gi_yieldfrom). Borrowed. */
YC_API yc_iter *yc_sgen_yieldfrom(const yc_sgen *g);
/* g as an iterator (&g->it), NULL for NULL / uninitialised. Borrowed from
 * g; yc_iter_free on it is yc_sgen_free (yc_sgen_fini for an embedded g). */
YC_API yc_iter *yc_sgen_iter(yc_sgen *g);

/* ======================================================================
 * Inline fast paths (private)
 *
 * yc_sgen_new, yc_sgen_free, yc_sgen_init, yc_sgen_fini and yc_sgen_next
 * are defined here as GNU `extern inline`: a caller compiled with
 * optimisation inlines their common case (a block from this thread's
 * 64-byte slab, a generator that is quiet, a first or plain next), which
 * is a few stores and a call of the body; every other case calls the
 * library (yc__sgen_*_cold, the full checked function). The library holds
 * the same definitions as its exported symbols (src/dense.c), so a caller
 * at -O0 or taking their address gets the same behaviour.
 * ==================================================================== */

/* One thread's slabs: the free blocks of each size class (linked through
 * their first word), the chunks they were carved from, and the number of
 * generators of yc_sgen_new made on this thread and not yet freed. A
 * block is a one-word prefix (the owning thread's pool) and the generator.
 * Private; its layout is part of this version's ABI. */
typedef struct yc__sgen_pool {
    void *free[5];
    void *chunks;
    long live;
} yc__sgen_pool;
YC_API extern __thread yc__sgen_pool yc__sgen_tls __attribute__((tls_model("initial-exec")));

YC_API int yc__sgen_init_cold(yc_sgen *g, const yc_sgen_type *type);
YC_API int yc__sgen_fini_cold(yc_sgen *g);
YC_API yc_sgen *yc__sgen_new_cold(const yc_sgen_type *type);
YC_API int yc__sgen_free_cold(yc_sgen *g);
YC_API int yc__sgen_next_cold(yc_sgen *g, yc_val *out);

#ifdef YC__SGEN_DEFINE_INLINES /* src/dense.c: the exported definitions */
#  define YC__SGEN_INLINE YC_API
#else
#  define YC__SGEN_INLINE extern __inline__ __attribute__((gnu_inline, unused))
#endif

/* Closing g could run nothing and it holds nothing: no try open, no
 * subiterator (so no handled exception), not running. */
#define YC__SGEN_QUIET(g) (!((g)->ntry | ((g)->yf != NULL) | ((g)->state == YC_GEN_RUNNING)))

YC__SGEN_INLINE int yc_sgen_init(yc_sgen *g, const yc_sgen_type *type)
{
    if (__builtin_expect(!g || !type || type->magic != YC__SGEN_TYPE_MAGIC || !type->body, 0))
        return yc__sgen_init_cold(g, type);
    __builtin_memset(g, 0, sizeof *g); /* no pc, subiterator or try; CREATED */
    g->it.type = &type->it;
    g->magic = YC__SGEN_MAGIC;
    return YC_OK;
}

YC__SGEN_INLINE int yc_sgen_fini(yc_sgen *g)
{
    if (__builtin_expect(!g || g->magic != YC__SGEN_MAGIC || (g->flags & YC__SGEN_POOLED) ||
                             !YC__SGEN_QUIET(g), 0))
        return yc__sgen_fini_cold(g);
    g->state = YC__SGEN_DEAD;
    g->magic = 0;
    return YC_OK;
}

YC__SGEN_INLINE yc_sgen *yc_sgen_new(const yc_sgen_type *type)
{
    yc__sgen_pool *p = &yc__sgen_tls;
    void **b = (void **)p->free[0];
    if (__builtin_expect(!type || type->magic != YC__SGEN_TYPE_MAGIC || !type->body ||
                             type->size > 64 - sizeof(void *) || !b, 0))
        return yc__sgen_new_cold(type);
    p->free[0] = *b;
    p->live++;
    /* The block in whole words, each written once: yc_sgen_free reads the
     * header's last word (magic, flags) back whole, and a load that spans
     * several stores still in flight waits for them all. */
    yc_sgen *g = (yc_sgen *)(void *)(b + 1);
    uint64_t w[2] = {0, YC__SGEN_MAGIC_WORD};
    b[0] = p;
    g->it.type = &type->it;
    g->pc = NULL;
    g->yf = NULL;
    g->handled = NULL;
    __builtin_memcpy(&g->line, &w[0], 8);  /* line, tries, state (CREATED), ntry */
    __builtin_memcpy(&g->magic, &w[1], 8); /* magic, flags (pooled, class 0), fin */
    __builtin_memset(g + 1, 0, 64 - sizeof(void *) - sizeof *g); /* the user's bytes */
    return g;
}

YC__SGEN_INLINE int yc_sgen_free(yc_sgen *g)
{
    yc__sgen_pool *p = &yc__sgen_tls;
    if (__builtin_expect(!g || g->magic != YC__SGEN_MAGIC || g->flags != YC__SGEN_POOLED ||
                             ((void **)(void *)g)[-1] != (void *)p || !YC__SGEN_QUIET(g), 0))
        return yc__sgen_free_cold(g);
    void **b = (void **)(void *)g - 1;
    g->state = YC__SGEN_DEAD;
    g->magic = 0;
    p->live--;
    *b = p->free[0];
    p->free[0] = b;
    return YC_OK;
}

YC__SGEN_INLINE int yc_sgen_next(yc_sgen *g, yc_val *out)
{
    yc_val tmp;
    if (!out) out = &tmp;
    if (__builtin_expect(!g || g->magic != YC__SGEN_MAGIC || (g->state & 1) != 0 || g->yf ||
                             g->handled, 0))
        return yc__sgen_next_cold(g, out); /* running, closed, delegating, handling, bad */
    g->state = YC_GEN_RUNNING;
    return ((const yc_sgen_type *)(const void *)g->it.type)->body(g, YC_NONE, out).st;
}

/* ======================================================================
 * Private: used by the macros above
 * ==================================================================== */

YC_API int yc__sgen_resume_cold(yc_sgen *g, yc_val v, yc_val *out);
YC_API int yc__sgen_throw(yc_iter *it, yc_exc *e, yc_val *out);
YC_API int yc__sgen_close(yc_iter *it, yc_val *out);
YC_API void yc__sgen_free_it(yc_iter *it);
YC_API yc__sgen_step yc__sgen_ended(yc_sgen *g, yc_val *out);
YC_API void yc__sgen_suspend_handling(yc_sgen *g);
YC_API void *yc__sgen_return(yc_sgen *g, yc_val v, yc_val *out, int depth);
YC_API void *yc__sgen_raise(yc_sgen *g, yc_exc *e, const char *file, int line,
                            const char *func, int depth);
YC_API void *yc__sgen_reraise(yc_sgen *g, const char *file, int line, const char *func,
                              int depth);
YC_API void *yc__sgen_raise_failed(yc_sgen *g, const char *file, int line, const char *func,
                                   int depth);
YC_API void *yc__sgen_from(yc_sgen *g, yc_iter *it, yc_val *out, yc_val *in, void *resume,
                           const char *file, int depth);
YC_API void *yc__sgen_try_push(yc_sgen *g, yc__sgen_tries *area, int depth, void *disp);
YC_API void yc__sgen_try_ok(yc_sgen *g, int depth);
YC_API int yc__sgen_try_catch(yc_sgen *g, int depth, const yc_exc_type *type);
YC_API int yc__sgen_try_finally(yc_sgen *g, int depth);
YC_API void *yc__sgen_try_end(yc_sgen *g, int depth, yc_val *out);

#endif /* YIELDC_DENSE_H */
