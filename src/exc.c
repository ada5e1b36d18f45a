/*
 * Exceptions: types, objects, chaining, tracebacks, hooks, the error
 * indicator, raise and the try/except/finally machinery. Groups are made
 * and split in exc_group.c; exceptions are printed by exc_print.c.
 *
 * A raise unwinds with longjmp to the innermost YC_TRY of the *current
 * coroutine* (each coroutine has its own chain, so no jump crosses a
 * switch). When a generator has no handler left, the exception ends the
 * generator and travels to its resumer as a status; outside generators the
 * fatal hook runs.
 */
#define _GNU_SOURCE
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- types ---------------------------------------------------------- */

const yc_exc_type yc_BaseException = {.name = "BaseException"};
#define T(name_, base_) const yc_exc_type yc_##name_ = {.name = #name_, .base = &yc_##base_};
T(SystemExit, BaseException)
T(KeyboardInterrupt, BaseException)
T(GeneratorExit, BaseException)
T(CancelledError, BaseException)
T(Exception, BaseException)
T(StopIteration, Exception)
T(StopAsyncIteration, Exception)
T(AttributeError, Exception)
T(MemoryError, Exception)
T(TypeError, Exception)
T(EOFError, Exception)
T(AssertionError, Exception)
T(ArithmeticError, Exception)
T(ZeroDivisionError, ArithmeticError)
T(OverflowError, ArithmeticError)
T(LookupError, Exception)
T(IndexError, LookupError)
T(KeyError, LookupError)
T(OSError, Exception)
T(FileNotFoundError, OSError)
T(TimeoutError, OSError)
T(RuntimeError, Exception)
T(NotImplementedError, RuntimeError)
T(RecursionError, RuntimeError)
T(ValueError, Exception)
T(FileExistsError, OSError)
T(PermissionError, OSError)
T(BlockingIOError, OSError)
T(InterruptedError, OSError)
T(IsADirectoryError, OSError)
T(NotADirectoryError, OSError)
T(ChildProcessError, OSError)
T(ProcessLookupError, OSError)
T(ConnectionError, OSError)
T(ConnectionResetError, ConnectionError)
T(BrokenPipeError, ConnectionError)
T(ConnectionRefusedError, ConnectionError)
T(ConnectionAbortedError, ConnectionError)
T(BrokenBarrierError, RuntimeError)
T(InvalidStateError, Exception)
T(QueueEmpty, Exception)
T(QueueFull, Exception)
T(QueueShutDown, Exception)
T(LimitOverrunError, Exception)
T(IncompleteReadError, EOFError)
T(SubprocessError, Exception)
T(BaseExceptionGroup, BaseException)
#undef T
/* The one type with two bases: ExceptionGroup(BaseExceptionGroup, Exception) */
const yc_exc_type yc_ExceptionGroup = {
    .name = "ExceptionGroup",
    .base = &yc_BaseExceptionGroup,
    .base2 = &yc_Exception,
};

/* A walk over more types than this is taken to loop (a malformed user type,
 * e.g. one that is its own base): it stops instead of hanging. */
#define TYPE_VISITS_MAX 1024
/* Second bases waiting while the walk follows first bases; a malformed
 * graph with more has the extra ones skipped. */
#define TYPE_PENDING_MAX 32

/* Depth first through base, then base2: ExceptionGroup's MRO order. Each
 * type costs one visit, so a graph with loops or shared bases ends within
 * TYPE_VISITS_MAX steps whatever its shape. */
bool yc_type_is_subtype(const yc_exc_type *t, const yc_exc_type *base)
{
    const yc_exc_type *pending[TYPE_PENDING_MAX];
    int np = 0;
    for (int visits = 0; visits < TYPE_VISITS_MAX; visits++, t = t->base) {
        if (!t) {
            if (np == 0) return false;
            t = pending[--np];
        }
        if (t == base) return true;
        if (t->base2 && np < TYPE_PENDING_MAX) pending[np++] = t->base2;
    }
    return false;
}

const char *yc__type_name(const yc_exc_type *t) { return t->name ? t->name : "?"; }

/* ---- objects -------------------------------------------------------- */

/* Handed out when an exception cannot be allocated. Immortal: no context,
 * cause or traceback is ever attached to it, so it owns nothing. */
yc_exc yc__nomem = {
    .magic = YC__EXC_MAGIC,
    .refs = -1,
    .type = &yc_MemoryError,
    .msg = (char *)"out of memory",
};

bool yc__exc_valid(const yc_exc *e) { return e && e->magic == YC__EXC_MAGIC; }

yc_exc *yc__exc_alloc(const yc_exc_type *t, uint32_t n)
{
    yc_exc *e = yc__malloc(sizeof *e + n * sizeof(yc_exc *));
    if (!e) return &yc__nomem;
    memset(e, 0, sizeof *e);
    e->magic = YC__EXC_MAGIC;
    e->refs = 1;
    e->type = t ? t : &yc_BaseException;
    if (n) {
        e->excs = (yc_exc **)(e + 1);
        e->nexcs = n;
    }
    atomic_fetch_add_explicit(&yc__live_excs, 1, memory_order_relaxed);
    return e;
}

/* A group needs its members (yc_exc_group_new): for a group type t, the
 * TypeError Python's ExceptionGroup("m") raises, where given counts the
 * arguments; NULL for any other type. */
static yc_exc *group_type_refused(const yc_exc_type *t, int given)
{
    if (!t || !yc_type_is_subtype(t, &yc_BaseExceptionGroup)) return NULL;
    return yc_exc_new(&yc_TypeError,
                      "BaseExceptionGroup.__new__() takes exactly 2 arguments (%d given)", given);
}

yc_exc *yc_exc_newv(const yc_exc_type *t, const char *fmt, va_list ap)
{
    yc_exc *e = group_type_refused(t, fmt && *fmt);
    if (e) return e;
    e = yc__exc_alloc(t, 0);
    if (e == &yc__nomem || !fmt || !*fmt) return e;
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) return e;
    e->msg = yc__malloc((size_t)n + 1);
    if (!e->msg) { /* out of memory: MemoryError, not a half-made exception */
        yc_exc_unref(e);
        return &yc__nomem;
    }
    vsnprintf(e->msg, (size_t)n + 1, fmt, ap);
    return e;
}

yc_exc *yc_exc_new(const yc_exc_type *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    yc_exc *e = yc_exc_newv(t, fmt, ap);
    va_end(ap);
    return e;
}

yc_exc *yc_exc_new_value(const yc_exc_type *t, yc_val value)
{
    yc_exc *e = group_type_refused(t, !yc_is_none(value));
    if (e) return e;
    e = yc__exc_alloc(t, 0);
    if (e != &yc__nomem) e->value = value;
    return e;
}

/* The subclass CPython's OSError(err, ...) constructor picks for err
 * (Objects/exceptions.c, errnomap; spec 12.56), or OSError itself. */
static const yc_exc_type *errno_subclass(int err)
{
    switch (err) {
    case ECONNRESET: return &yc_ConnectionResetError;
    case EPIPE:
    case ESHUTDOWN: return &yc_BrokenPipeError;
    case ECONNREFUSED: return &yc_ConnectionRefusedError;
    case ECONNABORTED: return &yc_ConnectionAbortedError;
    case EAGAIN: /* EWOULDBLOCK is EAGAIN on Linux */
    case EINPROGRESS:
    case EALREADY: return &yc_BlockingIOError;
    case EINTR: return &yc_InterruptedError;
    case ETIMEDOUT: return &yc_TimeoutError;
    case EACCES:
    case EPERM: return &yc_PermissionError;
    case EEXIST: return &yc_FileExistsError;
    case ENOENT: return &yc_FileNotFoundError;
    case EISDIR: return &yc_IsADirectoryError;
    case ENOTDIR: return &yc_NotADirectoryError;
    case ECHILD: return &yc_ChildProcessError;
    case ESRCH: return &yc_ProcessLookupError;
    default: return &yc_OSError;
    }
}

yc_exc *yc_exc_new_errno(const yc_exc_type *t, int err, const char *fmt, ...)
{
    if (t == &yc_OSError) t = errno_subclass(err); /* as CPython's OSError() */
    yc_exc *refused = group_type_refused(t, 1);
    if (refused) return refused;
    char detail[512] = "";
    if (fmt && *fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(detail, sizeof detail, fmt, ap);
        va_end(ap);
    }
    char ebuf[128];
    const char *es = strerror_r(err, ebuf, sizeof ebuf);
    yc_exc *e = detail[0] ? yc_exc_new(t, "[Errno %d] %s: %s", err, es, detail)
                          : yc_exc_new(t, "[Errno %d] %s", err, es);
    if (e != &yc__nomem) e->err = err;
    return e;
}

/* Whether a traceback entry's `where` is an owned copy. */
static bool where_owned(const yc_exc *e, const char *w)
{
    uintptr_t lo = (uintptr_t)e->where_small, p = (uintptr_t)w;
    return w && (p < lo || p >= lo + sizeof e->where_small);
}

yc_exc *yc_exc_ref(yc_exc *e)
{
    if (e && e->refs > 0) e->refs++;
    return e;
}

/* Drops a reference to e; when it was the last one, puts e on *todo. */
static void release(yc_exc *e, yc_exc **todo)
{
    if (e && e->refs > 0 && --e->refs == 0) {
        e->free_next = *todo;
        *todo = e;
    }
}

/* Frees e's own memory (its members live in the same block). */
static void exc_free(yc_exc *e)
{
    for (uint32_t i = 0; i < e->ntb; i++)
        if (where_owned(e, e->tb[i].where)) yc__free((void *)e->tb[i].where);
    if (e->tb != e->tb_small) yc__free(e->tb);
    yc__free(e->msg);
    e->magic = 0;
    yc__free(e);
    atomic_fetch_sub_explicit(&yc__live_excs, 1, memory_order_relaxed);
}

/* Chains of contexts and causes and nested groups can be deep, so this
 * iterates: the exceptions whose last reference went wait on a list
 * threaded through them, and each one freed releases its links. */
void yc_exc_unref(yc_exc *e)
{
    yc_exc *todo = NULL;
    release(e, &todo);
    while (todo) {
        yc_exc *x = todo;
        todo = x->free_next;
        release(x->context, &todo);
        release(x->cause, &todo);
        for (uint32_t i = 0; i < x->nexcs; i++) release(x->excs[i], &todo);
        exc_free(x);
    }
}

const yc_exc_type *yc_exc_type_of(const yc_exc *e) { return e ? e->type : NULL; }
const char *yc_exc_msg(const yc_exc *e) { return e && e->msg ? e->msg : ""; }
yc_val yc_exc_value(const yc_exc *e) { return e ? e->value : YC_NONE; }
int yc_exc_errno(const yc_exc *e) { return e ? e->err : 0; }
yc_exc *yc_exc_context(const yc_exc *e) { return e ? e->context : NULL; }
yc_exc *yc_exc_cause(const yc_exc *e) { return e ? e->cause : NULL; }
bool yc_exc_suppress_context(const yc_exc *e) { return e && e->suppress_context; }
bool yc_exc_is(const yc_exc *e, const yc_exc_type *t) { return e && yc_type_is_subtype(e->type, t); }

/* A stack of exceptions for exc_reaches: inline first, then on the heap. */
typedef struct exc_list {
    const yc_exc **v, *small[32];
    size_t n, cap;
} exc_list;

static bool exc_list_push(exc_list *l, const yc_exc *x)
{
    if (l->n == l->cap) {
        const yc_exc **big = yc__malloc(2 * l->cap * sizeof *big);
        if (!big) return false;
        memcpy(big, l->v, l->n * sizeof *big);
        if (l->v != l->small) yc__free(l->v);
        l->v = big;
        l->cap *= 2;
    }
    l->v[l->n++] = x;
    return true;
}

/* Pushes x's links (cause, context, a group's members) on todo. Returns
 * true when one of them is target, or when todo cannot grow. */
static bool push_links(exc_list *todo, const yc_exc *x, const yc_exc *target)
{
    const yc_exc *links[2] = {x->cause, x->context};
    for (int i = 0; i < 2; i++)
        if (links[i] && (links[i] == target || !exc_list_push(todo, links[i]))) return true;
    for (uint32_t i = 0; i < x->nexcs; i++)
        if (x->excs[i] == target || !exc_list_push(todo, x->excs[i])) return true;
    return false;
}

/* Whether target is from itself or reachable from it through __cause__,
 * __context__ and group member links. Every link holds a reference, so an
 * exception with a single reference (its holder's) is reachable from
 * nothing else. The walk visits each exception once (a cause and a context
 * are often the same, and a member may be in several groups); if it cannot
 * allocate its sets it answers true, which only refuses a link. */
static bool exc_reaches(const yc_exc *from, const yc_exc *target)
{
    if (from == target) return true;
    if (!from || !target || target->refs == 1) return false;
    yc__ptrset seen;
    yc__ptrset_init(&seen);
    exc_list todo = {.cap = 32};
    todo.v = todo.small;
    bool found = !exc_list_push(&todo, from);
    while (todo.n && !found) {
        const yc_exc *x = todo.v[--todo.n];
        int added = yc__ptrset_add(&seen, x);
        found = added < 0 || (added > 0 && push_links(&todo, x, target));
    }
    yc__ptrset_free(&seen);
    if (todo.v != todo.small) yc__free(todo.v);
    return found;
}

void yc_exc_set_cause(yc_exc *e, yc_exc *cause)
{
    if (cause && !yc__exc_valid(cause)) return; /* not an exception: e unchanged */
    if (!yc__exc_valid(e) || e->refs < 0 || exc_reaches(cause, e)) {
        yc_exc_unref(cause); /* a link to e itself would be a cycle never freed */
        return;
    }
    yc_exc_unref(e->cause);
    e->cause = cause;
    e->suppress_context = true;
}

void yc_exc_set_context(yc_exc *e, yc_exc *ctx)
{
    if (ctx && !yc__exc_valid(ctx)) return; /* not an exception: e unchanged */
    if (!yc__exc_valid(e) || e->refs < 0 || exc_reaches(ctx, e)) {
        yc_exc_unref(ctx); /* a link to e itself would be a cycle never freed */
        return;
    }
    yc_exc_unref(e->context);
    e->context = ctx;
}

void yc__exc_chain(yc_exc *e, yc_exc *ctx)
{
    if (!e || e->refs < 0 || !ctx || e == ctx) return;
    /* break a cycle: if e is already in ctx's context chain, cut it out */
    for (yc_exc *o = ctx; o; o = o->context) {
        if (o->context == e) {
            o->context = NULL;
            yc_exc_unref(e);
            break;
        }
    }
    /* e still reachable from ctx (it is the __cause__ of ctx or of one of
     * its contexts): no context link, which would make a cycle that
     * reference counting never frees (CPython's garbage collector would) */
    if (exc_reaches(ctx, e)) return;
    yc_exc_ref(ctx);
    yc_exc_unref(e->context);
    e->context = ctx;
}

/* ---- tracebacks ----------------------------------------------------- */

const char yc__main_name[] = "<main>";

void yc__tb_add(yc_exc *e, const char *file, int line, const char *func, const char *where)
{
    if (!e || e->refs < 0) return;
    if (e->ntb == e->captb) {
        if (e->captb == 0) {
            e->tb = e->tb_small;
            e->captb = YC__TB_SMALL;
        } else {
            uint32_t cap = e->captb * 2;
            yc_tb_entry *tb = yc__malloc(cap * sizeof *tb);
            if (!tb) return; /* a traceback entry is not worth failing for */
            memcpy(tb, e->tb, e->ntb * sizeof *tb);
            if (e->tb != e->tb_small) yc__free(e->tb);
            e->tb = tb;
            e->captb = cap;
        }
    }
    uint32_t i = e->ntb;
    const char *w = NULL;
    if (where) {
        size_t n = strlen(where);
        if (i < YC__TB_SMALL && n < sizeof e->where_small[0]) {
            memcpy(e->where_small[i], where, n + 1);
            w = e->where_small[i];
        } else {
            w = yc__strdup(where);
        }
    }
    e->tb[i] = (yc_tb_entry){file, line, func, w};
    e->ntb = i + 1;
}

/* Drops the entries appended after the first n (contextlib restoring an
 * exception's original traceback, python-semantics.md 9.6a/9.7). */
void yc__tb_truncate(yc_exc *e, uint32_t n)
{
    if (!e || e->refs < 0) return;
    while (e->ntb > n) {
        const char *w = e->tb[--e->ntb].where;
        if (where_owned(e, w)) yc__free((void *)w);
    }
}

/* Every entry is copied, its generator name too (inline for the first
 * entries when short, as yc__tb_add stores them). */
bool yc__tb_copy(yc_exc *dst, const yc_exc *src)
{
    uint32_t n = src->ntb;
    if (n == 0) return true;
    yc_tb_entry *tb = dst->tb_small;
    if (n > YC__TB_SMALL && !(tb = yc__malloc(n * sizeof *tb))) return false;
    for (uint32_t i = 0; i < n; i++) {
        const char *w = src->tb[i].where;
        size_t len = w ? strlen(w) : 0;
        tb[i] = src->tb[i];
        if (w && i < YC__TB_SMALL && len < sizeof dst->where_small[0]) {
            memcpy(dst->where_small[i], w, len + 1);
            tb[i].where = dst->where_small[i];
        } else if (w && !(tb[i].where = yc__strdup(w))) {
            while (i-- > 0)
                if (where_owned(dst, tb[i].where)) yc__free((void *)tb[i].where);
            if (tb != dst->tb_small) yc__free(tb);
            return false;
        }
    }
    dst->tb = tb;
    dst->ntb = n;
    dst->captb = n > YC__TB_SMALL ? n : YC__TB_SMALL;
    return true;
}

const yc_tb_entry *yc_exc_traceback(const yc_exc *e, size_t *n)
{
    if (n) *n = e ? e->ntb : 0;
    return e ? e->tb : NULL;
}

/* ---- hooks ---------------------------------------------------------- */

/* Ends a generator that an exception escapes: installed by gen.c, the
 * layer above, when the library is loaded (internal.h, "Hooks"). */
void (*yc__coro_finish)(struct yc_gen *g, yc_exc *e);

/* The traceback printer for the default reports below: set by
 * exc_print.c, the file after this one in the layer (internal.h, "Hooks").
 * Without it (a static link that left exc_print.o out) the report still
 * names the exception and its message. */
void (*yc__exc_print_hook)(const yc_exc *e, FILE *f);

static void print_exc(const yc_exc *e, FILE *f)
{
    if (yc__exc_print_hook) {
        yc__exc_print_hook(e, f);
        return;
    }
    if (!e) {
        fputs("None\n", f);
        return;
    }
    const char *msg = yc_exc_msg(e);
    fprintf(f, "%s%s%s\n", yc__type_name(e->type), msg && *msg ? ": " : "", msg ? msg : "");
}

/* The per-thread layer's hook for releasing an exception (internal.h). */
__attribute__((constructor)) static void install_release_hook(void)
{
    yc__exc_release = yc_exc_unref;
}

static yc_unraisable_hook unraisable_fn;
static void *unraisable_ud;
static yc_fatal_hook fatal_fn;
static void *fatal_ud;

void yc_set_unraisable_hook(yc_unraisable_hook fn, void *ud)
{
    unraisable_fn = fn;
    unraisable_ud = ud;
}

void yc_set_fatal_hook(yc_fatal_hook fn, void *ud)
{
    fatal_fn = fn;
    fatal_ud = ud;
}

void yc__unraisable(yc_exc *e, const char *obj)
{
    if (unraisable_fn) {
        unraisable_fn(e, obj, unraisable_ud);
        return;
    }
    fprintf(stderr, "Exception ignored in: %s\n", obj);
    print_exc(e, stderr);
}

void yc__unraisable_report(yc_exc *e, const char *text)
{
    if (unraisable_fn) {
        unraisable_fn(e, text, unraisable_ud);
        return;
    }
    fprintf(stderr, "%s\n", text);
    if (e) print_exc(e, stderr);
}

/* The default report flushes every stdio stream first, so that what the
 * program printed before the error is not lost in abort (and comes out
 * before the traceback). */
static YC_NORETURN void fatal(yc_exc *e)
{
    if (fatal_fn) fatal_fn(e, fatal_ud);
    fflush(NULL);
    fputs("yieldc: uncaught exception outside any generator (no YC_TRY):\n", stderr);
    print_exc(e, stderr);
    abort();
}

/* ---- the error indicator -------------------------------------------- */

void yc__err_set(yc__coro *co, yc_exc *e)
{
    yc_exc *old = co->err;
    co->err = e;
    yc_exc_unref(old);
}

void yc_err_set(yc_exc *e)
{
    if (e && !yc__exc_valid(e)) e = yc_exc_new(&yc_TypeError, "yc_err_set: not an exception");
    yc__err_set(yc__cur(), e);
}

yc_exc *yc_err_get(void) { return yc__cur()->err; }

yc_exc *yc_err_take(void)
{
    yc__coro *co = yc__cur();
    yc_exc *e = co->err;
    co->err = NULL;
    return e;
}

void yc_err_clear(void) { yc__err_set(yc__cur(), NULL); }

/* A new exception made by a failing call in co: it gets the exception being
 * handled as context, as if raised there. */
int yc__fail(int status, const yc_exc_type *t, const char *fmt, ...)
{
    yc__coro *co = yc__cur();
    va_list ap;
    va_start(ap, fmt);
    yc_exc *e = yc_exc_newv(t, fmt, ap);
    va_end(ap);
    yc__exc_chain(e, yc__handled(co));
    yc__err_set(co, e);
    return status;
}

/* ---- raise ---------------------------------------------------------- */

yc_exc *yc__handled(yc__coro *co)
{
    if (!co) return NULL;
    if (co->exc_info) return co->exc_info;
    for (co = co->resumer; co; co = co->resumer) /* skipping what a throw has not reached */
        if (co->exc_info && (!co->in_throw || co->throwing)) return co->exc_info;
    return NULL;
}

yc_exc *yc_exc_current(void) { return yc__handled(yc__cur()); }

const char *yc__coro_name(const yc__coro *co)
{
    return co->gen ? co->name : yc__main_name;
}

void yc__deliver(yc__coro *co, yc_exc *e)
{
    yc__try *t = co->handlers;
    if (t) {
        yc__free(t->ret); /* an exception cancels a YC_RETURN passing through */
        t->ret = NULL;
        if (t->exc == e) {
            yc_exc_unref(e); /* a re-raise of the object t already holds */
        } else {
            yc_exc_unref(t->exc);
            t->exc = e;
        }
        longjmp(t->jb, 1);
    }
    if (co->gen) yc__coro_finish(co->gen, e); /* gen.c's hook: never returns */
    fatal(e);
}

void yc__raise_in(yc__coro *co, yc_exc *e, const char *file, int line, const char *func)
{
    if (!yc__exc_valid(e))
        e = yc_exc_new(&yc_TypeError,
                       "exceptions must derive from BaseException, not %s",
                       e ? "a foreign pointer" : "NULL");
    yc__exc_chain(e, yc__handled(co));
    yc__tb_add(e, file, line, func, yc__coro_name(co));
    yc__deliver(co, e);
}

/* noinline: a raise after a resume must read this thread's state afresh */
__attribute__((noinline)) void yc__raise(yc_exc *e, const char *file, int line, const char *func)
{
    yc__raise_in(yc__cur(), e, file, line, func);
}

__attribute__((noinline)) void yc__raise_from(yc_exc *e, yc_exc *cause, const char *file,
                                              int line, const char *func)
{
    if (yc__exc_valid(e)) yc_exc_set_cause(e, yc__exc_valid(cause) ? cause : NULL);
    else if (yc__exc_valid(cause)) yc_exc_unref(cause); /* takes both, even on misuse */
    yc__raise_in(yc__cur(), e, file, line, func);
}

__attribute__((noinline)) void yc__reraise(const char *file, int line, const char *func)
{
    yc__coro *co = yc__cur();
    yc_exc *h = yc__handled(co);
    if (!h) h = yc_exc_new(&yc_RuntimeError, "No active exception to reraise");
    else yc_exc_ref(h);
    yc__tb_add(h, file, line, func, yc__coro_name(co));
    yc__deliver(co, h);
}

/* A negative status becomes a raise of the pending exception. It already
 * has its context (set where it was first raised or created), so only a
 * traceback entry is added. */
yc_exc *yc__err_take_failed(yc__coro *co)
{
    yc_exc *e = co->err;
    co->err = NULL;
    if (!e) {
        e = yc_exc_new(&yc_RuntimeError, "a call failed but no exception was pending");
        yc__exc_chain(e, yc__handled(co));
    }
    return e;
}

int yc__not_an_exception(const yc_exc *e)
{
    return yc__fail(YC_EINVAL, &yc_TypeError,
                    "exceptions must be classes or instances deriving from BaseException, not %s",
                    e ? "a foreign pointer" : "NULL");
}

__attribute__((noinline)) void yc__err_raise(const char *file, int line, const char *func)
{
    yc__coro *co = yc__cur();
    yc_exc *e = yc__err_take_failed(co);
    yc__tb_add(e, file, line, func, yc__coro_name(co));
    yc__deliver(co, e);
}

void *yc__check_ptr(void *p, const char *file, int line, const char *func)
{
    if (!p) yc__err_raise(file, line, func);
    return p;
}

/* ---- try / except / finally ----------------------------------------- */

enum { PH_BODY, PH_EXCEPT, PH_HANDLED, PH_FINALLY, PH_FINALLY_DONE, PH_ENDED };

void yc__try_push(yc__try *t)
{
    yc__coro *co = yc__cur();
    t->co = co;
    t->prev = co->handlers;
    t->exc = NULL;
    t->saved_info = co->exc_info;
    t->abandon = NULL;
    t->phase = PH_BODY;
    t->frame = NULL;
    t->ret = NULL;
    co->handlers = t;
}

int yc__try_catch(yc__try *t, const yc_exc_type *type)
{
    if (t->ret || t->phase != PH_BODY || !t->exc || !type || !yc_exc_is(t->exc, type)) return 0;
    t->phase = PH_EXCEPT;
    t->co->exc_info = t->exc;
    return 1;
}

/* except (A, B, ...): the first type of the NULL-terminated list that
 * matches the exception in flight catches it. */
int yc__try_catch_types(yc__try *t, const yc_exc_type *const *types)
{
    if (!types) return 0;
    for (; *types; types++)
        if (yc__try_catch(t, *types)) return 1;
    return 0;
}

void yc__try_done(yc__try *t)
{
    if (t->phase == PH_EXCEPT) {
        yc_exc_unref(t->exc); /* handled */
        t->exc = NULL;
        t->co->exc_info = t->saved_info;
        t->phase = PH_HANDLED;
    } else if (t->phase == PH_FINALLY) {
        t->co->exc_info = t->saved_info;
        t->phase = PH_FINALLY_DONE;
    }
}

int yc__try_finally(yc__try *t)
{
    t->phase = PH_FINALLY;
    if (t->exc) t->co->exc_info = t->exc;
    return 1;
}

static void try_unlink(yc__try *t)
{
    yc__coro *co = t->co;
    if (co->handlers == t) {
        co->handlers = t->prev;
    } else {
        for (yc__try *p = co->handlers; p; p = p->prev)
            if (p->prev == t) {
                p->prev = t->prev;
                break;
            }
    }
    co->exc_info = t->saved_info;
    t->phase = PH_ENDED;
}

/* ---- YC_RETURN --------------------------------------------------------
 *
 * YC_RETURN(v) copies v into a record r on the heap (the finally blocks it
 * runs reuse the stack below their own frames), sets r's jump buffer, and calls
 * yc__try_return. That hands r to the innermost try frame if it belongs to
 * the same function (same frame address) and jumps into the frame: its
 * except clauses refuse (t->ret), its finally block runs, and yc__try_end
 * passes r on to the next frame of the function, or, when there is none,
 * jumps back to r, where the macro reads the value (yc__ret_value) and
 * returns. Functions that call setjmp are never inlined, so the frame address
 * tells the function's own frames from its callers'. */

yc__ret *yc__ret_prep(const void *val, size_t size, void *frame)
{
    yc__ret *r = yc__malloc(sizeof *r + (size ? size : 1));
    if (!r) yc__raise(&yc__nomem, __FILE__, __LINE__, __func__);
    r->frame = frame;
    r->size = size;
    if (size) memcpy(r + 1, val, size);
    yc__cur()->ret = r;
    return r;
}

/* Hands co->ret to the innermost frame if it is the function's own, else
 * jumps back to the macro at once. */
static YC_NORETURN void ret_continue(yc__coro *co, yc__ret *r)
{
    yc__try *t = co->handlers;
    co->ret = r;
    if (!t || !r->frame || t->frame != r->frame) longjmp(r->jb, 1);
    /* the return passes through t: what t handles or has in flight is
     * discarded, as Python's return discards it */
    yc_exc_unref(t->exc);
    t->exc = NULL;
    co->exc_info = t->saved_info;
    t->ret = r;
    longjmp(t->jb, 1);
}

void yc__try_return(void)
{
    yc__coro *co = yc__cur();
    ret_continue(co, co->ret);
}

/* Copies the value of the YC_RETURN that jumped back into dst and frees
 * its record. */
void yc__ret_value(void *dst, size_t size)
{
    yc__coro *co = yc__cur();
    yc__ret *r = co->ret;
    co->ret = NULL;
    if (size) memcpy(dst, r + 1, size);
    yc__free(r);
}

void yc__try_end(yc__try *t)
{
    yc__ret *r = t->ret;
    t->ret = NULL;
    try_unlink(t);
    yc_exc *e = t->exc;
    if (e) {
        t->exc = NULL;
        yc__deliver(t->co, e); /* propagate, unchanged */
    }
    if (r) ret_continue(t->co, r);
}

void yc__try_cleanup(yc__try *t)
{
    if (t->phase == PH_ENDED) return;
    yc__free(t->ret);
    t->ret = NULL;
    /* left by return/break/goto: unlink, drop what was in flight */
    try_unlink(t);
    yc_exc_unref(t->exc);
    t->exc = NULL;
}
