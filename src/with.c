/*
 * Context managers: the manager protocol, the YC_WITH construct,
 * generator-based managers (contextlib.contextmanager), the ready-made
 * managers and exit stacks (contextlib.ExitStack). python-semantics.md
 * section 9; docs/with.md.
 *
 * YC_WITH is a YC_TRY without clauses: its frame (a yc__try at the start of
 * a yc__with) sits on the running coroutine's handler chain while the body
 * runs, so a raise in the body, or the GeneratorExit of closing a generator
 * suspended in it, lands in the construct. yc__with_end unlinks the frame
 * first, then runs the exit, so anything the exit raises goes to the
 * enclosing handler. Leaving the body by return, break, continue or goto
 * runs the frame's cleanup function (GCC/Clang), which does the same with no
 * exception.
 *
 * User code (enter, exit, exit functions, callbacks) may report failure by
 * status or by raising; call_guarded catches a raise, so nothing in here is
 * ever left by a jump except the deliberate re-raises of YC_WITH.
 */
#define _GNU_SOURCE
#include "internal.h"
#include "guard.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* GCC warns -Wclobbered about locals and arguments live across the setjmp
 * of YC__GUARD in call_guarded although none is modified between the setjmp
 * and a longjmp, which is the case C leaves indeterminate. */
#if defined(__GNUC__) && !defined(__clang__)
#  pragma GCC diagnostic ignored "-Wclobbered"
#endif

static int no_memory(void)
{
    yc__err_set(yc__cur(), &yc__nomem);
    return YC_ENOMEM;
}

/* ---- calling user code --------------------------------------------- */

enum { CALL_ENTER, CALL_EXIT, CALL_FN, CALL_CB };

typedef struct call {
    int kind;
    yc_cm *cm;
    yc_exc *e;
    yc_val *out;
    yc_exit_fn fn;
    yc_callback_fn cb;
    void *ud;
} call;

static int call_run(const call *c)
{
    switch (c->kind) {
    case CALL_ENTER: return c->cm->type->enter(c->cm, c->out);
    case CALL_EXIT: return c->cm->type->exit(c->cm, c->e);
    case CALL_FN: return c->fn(c->ud, c->e);
    default: c->cb(c->ud); return YC_OK;
    }
}

/*
 * Runs c, turning a raise inside it into YC_RAISE with that exception
 * pending (chained by the raise, as in Python). An exception reported by
 * status is taken as it is, like an error propagated from a call in
 * CPython: it may come from a nested manager (an exit stack sets its
 * contexts deliberately, None included). A negative status always leaves
 * an exception pending.
 */
static int call_guarded(const call *c)
{
    int st;
    YC__GUARD(t) {
        st = yc__cb_caught(&t);
    } else {
        st = call_run(c);
        yc__try_end(&t);
    }
    if (st >= 0) return st;
    if (!yc__cur()->err)
        yc__fail(YC_RAISE, &yc_RuntimeError,
                 "'%s' returned an error status but no exception was pending",
                 c->cm ? yc_cm_name(c->cm) : "exit function");
    return st;
}

/* ---- the protocol --------------------------------------------------- */

static bool is_manager(const yc_cm *cm)
{
    return cm && cm->type && cm->type->enter && cm->type->exit;
}

/* CPython 3.13's message: a type with an enter but no exit says which
 * method it missed; any other non-manager does not. */
static int not_a_manager(const yc_cm *cm)
{
    bool no_exit = cm && cm->type && cm->type->enter && !cm->type->exit;
    return yc__fail(YC_EINVAL, &yc_TypeError,
                    "'%s' object does not support the context manager protocol%s",
                    yc_cm_name(cm), no_exit ? " (missed __exit__ method)" : "");
}

const char *yc_cm_name(const yc_cm *cm)
{
    if (!cm) return "NULL";
    return cm->type && cm->type->name ? cm->type->name : "yc_cm";
}

#define CM_TYPE_BAD(cm) YC__TYPE_SIZE_BAD((cm)->type, yc_cm_type, "yc_cm_type")

int yc_cm_enter(yc_cm *cm, yc_val *out)
{
    if (!is_manager(cm)) return not_a_manager(cm);
    if (CM_TYPE_BAD(cm)) return YC_EINVAL;
    yc_val v = YC_NONE;
    int st = call_guarded(&(call){.kind = CALL_ENTER, .cm = cm, .out = &v});
    if (st < 0) return st;
    if (out) *out = v;
    return YC_OK;
}

int yc_cm_exit(yc_cm *cm, yc_exc *e)
{
    if (!is_manager(cm)) return not_a_manager(cm);
    if (CM_TYPE_BAD(cm)) return YC_EINVAL;
    if (e && !yc__exc_valid(e))
        return yc__fail(YC_EINVAL, &yc_TypeError, "yc_cm_exit: not an exception");
    int st = call_guarded(&(call){.kind = CALL_EXIT, .cm = cm, .e = e});
    if (st < 0) return st;
    return st > 0 && e ? YC_EXIT_SUPPRESS : YC_EXIT_PROPAGATE;
}

void yc_cm_free(yc_cm *cm)
{
    if (!cm || !cm->type || !cm->type->free) return;
    yc__coro *co = yc__cur();
    yc_exc *saved = co->err; /* the caller's pending error survives */
    co->err = NULL;
    cm->type->free(cm);
    yc__err_set(co, saved);
}

/* ---- YC_WITH -------------------------------------------------------- */

enum { W_DONE = 0, W_BODY = 1 };

/*
 * Enters cm (taken) for the construct w: on success links w's frame as the
 * innermost handler; on failure frees cm and raises enter's exception at
 * the YC_WITH line, with w not linked (so its cleanup, skipped by the jump,
 * has nothing to do).
 */
/* The generator suspended in this block is freed and will never run it
 * again (it ignored GeneratorExit): the manager is released without its
 * exit, as CPython drops it when the frame is cleared. */
static void yc__with_enter_as(yc__with *w, yc_cm *cm, const char *file, int line,
                              const char *func);

static void with_abandon(yc__try *t)
{
    yc__with *w = (yc__with *)t; /* t is the first member */
    yc_cm *cm = w->cm;
    w->cm = NULL;
    w->state = W_DONE;
    if (!w->borrowed) yc_cm_free(cm);
}

void yc__with_enter(yc__with *w, yc_cm *cm, const char *file, int line, const char *func)
{
    w->borrowed = false;
    yc__with_enter_as(w, cm, file, line, func);
}

void yc__with_enter_borrowed(yc__with *w, yc_cm *cm, const char *file, int line,
                             const char *func)
{
    w->borrowed = true;
    yc__with_enter_as(w, cm, file, line, func);
}

/* The enter of both forms; w->borrowed says whether cm is released at the
 * end (and when enter fails). */
static void yc__with_enter_as(yc__with *w, yc_cm *cm, const char *file, int line,
                              const char *func)
{
    w->cm = NULL;
    w->value = YC_NONE;
    w->state = W_DONE;
    w->file = file;
    w->line = line;
    w->func = func;
    w->t.exc = NULL;
    int st;
    if (cm) {
        st = yc_cm_enter(cm, &w->value);
    } else {
        st = YC_RAISE; /* a constructor failed: raise its exception */
        if (!yc__cur()->err) not_a_manager(NULL);
    }
    if (st < 0) {
        if (!w->borrowed) yc_cm_free(cm);
        yc__err_raise(file, line, func);
    }
    w->cm = cm;
    w->state = W_BODY;
    yc__try_push(&w->t);
    w->t.abandon = with_abandon;
}

/*
 * The way out of the construct, w's frame already unlinked: runs the exit
 * with e (owned; NULL for none) as the exception being handled, frees the
 * manager, then returns (normal end, or e suppressed) or raises (e not
 * suppressed, or what the exit raised).
 */
static void with_exit(yc__with *w, yc_exc *e)
{
    yc__coro *co = yc__cur();
    yc_cm *cm = w->cm;
    w->cm = NULL;
    w->state = W_DONE;
    yc_exc *saved = co->exc_info;
    if (e) co->exc_info = e; /* exit runs as if in `except:` (WITH_EXCEPT_START) */
    int st = yc_cm_exit(cm, e);
    co->exc_info = saved;
    if (!w->borrowed) yc_cm_free(cm);
    if (st < 0) {
        yc_exc *f = co->err;
        co->err = NULL;
        if (f != e) yc__tb_add(f, w->file, w->line, w->func, yc__coro_name(co));
        yc_exc_unref(e);
        yc__deliver(co, f);
    }
    if (e) {
        if (st == YC_EXIT_PROPAGATE) yc__deliver(co, e); /* unchanged */
        yc_exc_unref(e);                                   /* suppressed */
    }
}

void yc__with_end(yc__with *w)
{
    yc_exc *e = w->t.exc; /* set when a raise landed here */
    w->t.exc = NULL;
    yc__ret *r = w->t.ret; /* a YC_RETURN from the body: exit, then go on */
    w->t.ret = NULL;
    yc__try_end(&w->t); /* unlinks; nothing left to deliver */
    with_exit(w, e);
    if (r) {
        yc__cur()->ret = r;
        yc__try_return();
    }
}

void yc__with_cleanup(yc__with *w)
{
    if (w->state != W_BODY) return;
    /* left by return, break, continue or goto: no exception in flight */
    yc_exc_unref(w->t.exc);
    w->t.exc = NULL;
    yc__try_end(&w->t);
    with_exit(w, NULL);
}

/* ---- generator-based managers --------------------------------------- */

enum { GCM_FRESH, GCM_ENTERED, GCM_DONE };

typedef struct gen_cm {
    yc_cm cm;
    yc_iter *it; /* owned */
    yc_gen *gen; /* it as a generator, when it is one */
    int state;
} gen_cm;

/* The exception of a misused constructor argument: the pending one (a
 * failed constructor of the argument), else TypeError. */
static void null_arg(const char *what)
{
    if (!yc__cur()->err) yc__fail(YC_EINVAL, &yc_TypeError, "%s", what);
}

/*
 * contextlib's
 *     try: raise RuntimeError(msg)
 *     finally: self.gen.close()
 * The close runs while the RuntimeError is being handled; its error, if
 * any, replaces the RuntimeError (with it as context).
 */
static int didnt_stop(gen_cm *c, const char *msg)
{
    yc__coro *co = yc__cur();
    yc_exc *re = yc_exc_new(&yc_RuntimeError, "%s", msg);
    yc__exc_chain(re, yc__handled(co));
    yc_exc *saved = co->exc_info;
    co->exc_info = re;
    int st = yc_iter_close(c->it, NULL);
    co->exc_info = saved;
    if (st < 0) {
        yc_exc_unref(re);
        return st;
    }
    yc__err_set(co, re);
    return YC_RAISE;
}

/* __enter__: next(gen); a generator that finishes instead of yielding is
 * "generator didn't yield", from None (context: the StopIteration) [9.3]. */
static int gcm_enter(yc_cm *cm, yc_val *out)
{
    gen_cm *c = (gen_cm *)cm;
    if (c->state != GCM_FRESH)
        return yc__fail(YC_RAISE, &yc_RuntimeError,
                        "cannot enter a generator-based context manager twice");
    c->state = GCM_ENTERED;
    if (!c->it->type || !c->it->type->next)
        return yc__fail(YC_RAISE, &yc_TypeError, "'%s' object is not an iterator",
                        c->it->type && c->it->type->name ? c->it->type->name : "iterator");
    yc_val v;
    int st = yc_iter_next(c->it, &v);
    if (st == YC_YIELD) {
        *out = v;
        return YC_OK;
    }
    yc__coro *co = yc__cur();
    yc_exc *si;
    if (st == YC_RETURN) {
        si = yc_exc_new_value(&yc_StopIteration, v);
        yc__exc_chain(si, yc__handled(co));
    } else if (yc_exc_is(co->err, &yc_StopIteration)) {
        si = co->err; /* an iterator raising StopIteration */
        co->err = NULL;
    } else {
        return st;
    }
    yc_exc *re = yc_exc_new(&yc_RuntimeError, "generator didn't yield");
    yc__exc_chain(re, si);
    yc_exc_set_cause(re, NULL); /* from None */
    yc_exc_unref(si);
    yc__err_set(co, re);
    return YC_RAISE;
}

/* Drops the pending exception x (e's own extra reference, or another) and
 * answers "false": the with statement re-raises e itself. restore: give e
 * back the traceback it had when thrown in (contextlib sets
 * exc.__traceback__ = traceback). */
static int gcm_false(yc__coro *co, yc_exc *e, uint32_t ntb, bool restore)
{
    yc__err_set(co, NULL);
    if (restore) yc__tb_truncate(e, ntb);
    return YC_EXIT_PROPAGATE;
}

/* __exit__ (python-semantics.md 9.5-9.9). */
static int gcm_exit(yc_cm *cm, yc_exc *e)
{
    gen_cm *c = (gen_cm *)cm;
    yc__coro *co = yc__cur();
    c->state = GCM_DONE;
    if (!e) { /* 9.5 */
        int st = yc_iter_next(c->it, NULL);
        if (st == YC_RETURN) return YC_EXIT_PROPAGATE;
        if (st == YC_YIELD) return didnt_stop(c, "generator didn't stop");
        if (yc_exc_is(co->err, &yc_StopIteration)) {
            yc__err_set(co, NULL);
            return YC_EXIT_PROPAGATE;
        }
        return st;
    }
    uint32_t ntb = e->ntb;
    int st = yc_iter_throw(c->it, yc_exc_ref(e), NULL); /* 9.6 */
    if (st == YC_YIELD) return didnt_stop(c, "generator didn't stop after throw()");
    if (st == YC_RETURN) return YC_EXIT_SUPPRESS; /* a StopIteration that is not e */
    yc_exc *x = co->err;
    if (!x) return st;
    if (yc_exc_is(x, &yc_StopIteration)) { /* 9.7: suppress unless it is e */
        if (x == e) return gcm_false(co, e, ntb, false);
        yc__err_set(co, NULL);
        return YC_EXIT_SUPPRESS;
    }
    if (yc_exc_is(x, &yc_RuntimeError)) {
        if (x == e) return gcm_false(co, e, ntb, true);
        /* PEP 479 wrapped the StopIteration thrown in, or the generator
         * raised RuntimeError from it: the original comes out [9.7] */
        if (yc_exc_is(e, &yc_StopIteration) && x->cause == e) return gcm_false(co, e, ntb, true);
        return st;
    }
    if (x != e) return st; /* 9.6c: a different exception propagates */
    return gcm_false(co, e, ntb, true); /* 9.6a */
}

static void gcm_free(yc_cm *cm)
{
    gen_cm *c = (gen_cm *)cm;
    yc_iter_free(c->it); /* a suspended generator is closed first */
    yc__free(c);
}

static const yc_cm_type gen_cm_type = {
    .name = "_GeneratorContextManager",
    .enter = gcm_enter,
    .exit = gcm_exit,
    .free = gcm_free,
};

static yc_cm *gen_cm_new(yc_iter *it, yc_gen *g)
{
    if (!it) {
        null_arg("'NULL' object is not an iterator");
        return NULL;
    }
    gen_cm *c = yc__malloc(sizeof *c);
    if (!c) {
        yc_iter_free(it);
        no_memory();
        return NULL;
    }
    c->cm.type = &gen_cm_type;
    c->it = it;
    c->gen = g;
    c->state = GCM_FRESH;
    return &c->cm;
}

yc_cm *yc_cm_iter(yc_iter *it) { return gen_cm_new(it, NULL); }

yc_cm *yc_cm_gen(yc_gen *g)
{
    yc_iter *it = yc_gen_iter(g);
    if (g && !it) { /* not a live generator */
        yc__fail(YC_EINVAL, &yc_ValueError, "yc_cm_gen: not a live generator");
        return NULL;
    }
    /* A running generator cannot be taken: whoever runs it still owns it
     * (a body wrapping itself, or another thread's). Nothing is done. */
    if (g && yc_gen_state_of(g) == YC_GEN_RUNNING) {
        yc__fail(YC_EBUSY, &yc_ValueError, "yc_cm_gen: generator already executing");
        return NULL;
    }
    return gen_cm_new(it, g);
}

yc_cm *yc_cm_gen_new(yc_gen_fn fn, void *arg, const yc_gen_opts *opts)
{
    yc_gen *g = yc_gen_new(fn, arg, opts);
    return g ? yc_cm_gen(g) : NULL;
}

yc_gen *yc_cm_gen_of(const yc_cm *cm)
{
    return cm && cm->type == &gen_cm_type ? ((const gen_cm *)cm)->gen : NULL;
}

/* ---- closing -------------------------------------------------------- */

typedef struct closing_cm {
    yc_cm cm;
    yc_iter *it; /* owned */
} closing_cm;

static int closing_enter(yc_cm *cm, yc_val *out)
{
    *out = yc_ptr(((closing_cm *)cm)->it);
    return YC_OK;
}

static int closing_exit(yc_cm *cm, yc_exc *e)
{
    (void)e;
    int st = yc_iter_close(((closing_cm *)cm)->it, NULL);
    return st < 0 ? st : YC_EXIT_PROPAGATE;
}

static void closing_free(yc_cm *cm)
{
    yc_iter_free(((closing_cm *)cm)->it);
    yc__free(cm);
}

static const yc_cm_type closing_type = {
    .name = "closing",
    .enter = closing_enter,
    .exit = closing_exit,
    .free = closing_free,
};

yc_cm *yc_cm_closing(yc_iter *it)
{
    if (!it) {
        null_arg("'NULL' object is not an iterator");
        return NULL;
    }
    closing_cm *c = yc__malloc(sizeof *c);
    if (!c) {
        yc_iter_free(it);
        no_memory();
        return NULL;
    }
    c->cm.type = &closing_type;
    c->it = it;
    return &c->cm;
}

/* ---- files and descriptors ------------------------------------------ */

enum { F_PENDING, F_OPEN, F_CLOSED };

typedef struct file_cm {
    yc_cm cm;
    int state;
    FILE *f;      /* stdio managers */
    int fd;       /* descriptor managers */
    int flags;    /* open(2) flags and mode, for yc_cm_open */
    unsigned mode;
    char *fmode;  /* fopen mode, for yc_cm_fopen; owned */
    char path[];  /* "" when wrapping an open file */
} file_cm;

/* OSError for errno err, FileNotFoundError for ENOENT, TimeoutError for
 * ETIMEDOUT; "[Errno N] strerror: 'path'" (no detail without a path). */
static int fail_errno(int err, const char *path)
{
    const yc_exc_type *t = err == ENOENT      ? &yc_FileNotFoundError
                           : err == ETIMEDOUT ? &yc_TimeoutError
                                              : &yc_OSError;
    yc_exc *e = path && *path ? yc_exc_new_errno(t, err, "'%s'", path)
                              : yc_exc_new_errno(t, err, NULL);
    yc__coro *co = yc__cur();
    yc__exc_chain(e, yc__handled(co));
    yc__err_set(co, e);
    return YC_RAISE;
}

static int closed_file(void)
{
    return yc__fail(YC_RAISE, &yc_ValueError, "I/O operation on closed file.");
}

static int file_enter(yc_cm *cm, yc_val *out)
{
    file_cm *c = (file_cm *)cm;
    if (c->state == F_CLOSED) return closed_file();
    if (c->state == F_PENDING) {
        c->f = fopen(c->path, c->fmode);
        if (!c->f) return fail_errno(errno, c->path);
        c->state = F_OPEN;
    }
    *out = yc_ptr(c->f);
    return YC_OK;
}

static int file_exit(yc_cm *cm, yc_exc *e)
{
    (void)e;
    file_cm *c = (file_cm *)cm;
    if (c->state != F_OPEN) return YC_EXIT_PROPAGATE; /* closing twice does nothing */
    c->state = F_CLOSED;
    if (fclose(c->f) != 0) return fail_errno(errno, c->path);
    return YC_EXIT_PROPAGATE;
}

static int fd_enter(yc_cm *cm, yc_val *out)
{
    file_cm *c = (file_cm *)cm;
    if (c->state == F_CLOSED) return closed_file();
    if (c->state == F_PENDING) {
        c->fd = open(c->path, c->flags, (mode_t)c->mode);
        if (c->fd < 0) return fail_errno(errno, c->path);
        c->state = F_OPEN;
    }
    *out = yc_int(c->fd);
    return YC_OK;
}

static int fd_exit(yc_cm *cm, yc_exc *e)
{
    (void)e;
    file_cm *c = (file_cm *)cm;
    if (c->state != F_OPEN) return YC_EXIT_PROPAGATE;
    c->state = F_CLOSED;
    if (close(c->fd) != 0) return fail_errno(errno, c->path);
    return YC_EXIT_PROPAGATE;
}

/* A manager freed while its file is open closes it (a file object's
 * finaliser); a failure there cannot propagate. */
static void file_free(yc_cm *cm)
{
    file_cm *c = (file_cm *)cm;
    if (c->state == F_OPEN) {
        c->state = F_CLOSED;
        if (c->fd >= 0 ? close(c->fd) : fclose(c->f)) {
            int err = errno;
            char obj[64];
            snprintf(obj, sizeof obj, "<%s manager at %p>", yc_cm_name(cm), (void *)cm);
            yc_exc *x = yc_exc_new_errno(&yc_OSError, err, NULL);
            yc__unraisable(x, obj);
            yc_exc_unref(x);
        }
    }
    yc__free(c->fmode);
    yc__free(c);
}

static const yc_cm_type fopen_type = {
    .name = "fopen", .enter = file_enter, .exit = file_exit, .free = file_free};
static const yc_cm_type file_type = {
    .name = "file", .enter = file_enter, .exit = file_exit, .free = file_free};
static const yc_cm_type open_type = {
    .name = "open", .enter = fd_enter, .exit = fd_exit, .free = file_free};
static const yc_cm_type fd_type = {
    .name = "fd", .enter = fd_enter, .exit = fd_exit, .free = file_free};

static file_cm *file_cm_new(const yc_cm_type *t, const char *path)
{
    size_t n = path ? strlen(path) : 0;
    file_cm *c = yc__malloc(sizeof *c + n + 1);
    if (!c) return NULL;
    c->cm.type = t;
    c->state = F_PENDING;
    c->f = NULL;
    c->fd = -1;
    c->flags = 0;
    c->mode = 0;
    c->fmode = NULL;
    memcpy(c->path, path ? path : "", n + 1);
    return c;
}

yc_cm *yc_cm_fopen(const char *path, const char *mode)
{
    if (!path || !mode) {
        yc__fail(YC_EINVAL, &yc_TypeError, "yc_cm_fopen: %s is NULL", path ? "mode" : "path");
        return NULL;
    }
    file_cm *c = file_cm_new(&fopen_type, path);
    char *m = yc__strdup(mode);
    if (!c || !m) {
        yc__free(c);
        yc__free(m);
        no_memory();
        return NULL;
    }
    c->fmode = m;
    return &c->cm;
}

yc_cm *yc_cm_file(FILE *f)
{
    if (!f) {
        yc__fail(YC_EINVAL, &yc_TypeError, "yc_cm_file: FILE is NULL");
        return NULL;
    }
    file_cm *c = file_cm_new(&file_type, NULL);
    if (!c) {
        fclose(f); /* taken, even on failure */
        no_memory();
        return NULL;
    }
    c->f = f;
    c->state = F_OPEN;
    return &c->cm;
}

yc_cm *yc_cm_open(const char *path, int flags, unsigned mode)
{
    if (!path) {
        yc__fail(YC_EINVAL, &yc_TypeError, "yc_cm_open: path is NULL");
        return NULL;
    }
    file_cm *c = file_cm_new(&open_type, path);
    if (!c) {
        no_memory();
        return NULL;
    }
    c->flags = flags;
    c->mode = mode;
    return &c->cm;
}

yc_cm *yc_cm_fd(int fd)
{
    if (fd < 0) {
        yc__fail(YC_EINVAL, &yc_ValueError, "yc_cm_fd: negative file descriptor");
        return NULL;
    }
    file_cm *c = file_cm_new(&fd_type, NULL);
    if (!c) {
        close(fd);
        no_memory();
        return NULL;
    }
    c->fd = fd;
    c->state = F_OPEN;
    return &c->cm;
}

/* ---- mutex ---------------------------------------------------------- */

typedef struct mutex_cm {
    yc_cm cm;
    pthread_mutex_t *m; /* borrowed */
} mutex_cm;

static int mutex_enter(yc_cm *cm, yc_val *out)
{
    mutex_cm *c = (mutex_cm *)cm;
    int err = pthread_mutex_lock(c->m);
    if (err) return fail_errno(err, NULL);
    *out = yc_ptr(c->m);
    return YC_OK;
}

static int mutex_exit(yc_cm *cm, yc_exc *e)
{
    (void)e;
    int err = pthread_mutex_unlock(((mutex_cm *)cm)->m);
    return err ? fail_errno(err, NULL) : YC_EXIT_PROPAGATE;
}

static void plain_free(yc_cm *cm) { yc__free(cm); }

static const yc_cm_type mutex_type = {
    .name = "mutex", .enter = mutex_enter, .exit = mutex_exit, .free = plain_free};

yc_cm *yc_cm_mutex(pthread_mutex_t *m)
{
    if (!m) {
        yc__fail(YC_EINVAL, &yc_TypeError, "yc_cm_mutex: mutex is NULL");
        return NULL;
    }
    mutex_cm *c = yc__malloc(sizeof *c);
    if (!c) {
        no_memory();
        return NULL;
    }
    c->cm.type = &mutex_type;
    c->m = m;
    return &c->cm;
}

/* ---- suppress ------------------------------------------------------- */

typedef struct suppress_cm {
    yc_cm cm;
    size_t n;
    const yc_exc_type *types[];
} suppress_cm;

static int suppress_enter(yc_cm *cm, yc_val *out)
{
    (void)cm;
    *out = YC_NONE;
    return YC_OK;
}

static int suppress_exit(yc_cm *cm, yc_exc *e)
{
    suppress_cm *c = (suppress_cm *)cm;
    for (size_t i = 0; e && i < c->n; i++)
        if (yc_exc_is(e, c->types[i])) return YC_EXIT_SUPPRESS;
    return YC_EXIT_PROPAGATE;
}

static const yc_cm_type suppress_type = {
    .name = "suppress", .enter = suppress_enter, .exit = suppress_exit, .free = plain_free};

yc_cm *yc_cm_suppress_n(const yc_exc_type *const *types, size_t n)
{
    if (!types && n) {
        yc__fail(YC_EINVAL, &yc_TypeError, "yc_cm_suppress: types is NULL");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (!types[i]) {
            yc__fail(YC_EINVAL, &yc_TypeError, "yc_cm_suppress: type %zu is NULL", i);
            return NULL;
        }
    }
    suppress_cm *c = yc__malloc(sizeof *c + n * sizeof c->types[0]);
    if (!c) {
        no_memory();
        return NULL;
    }
    c->cm.type = &suppress_type;
    c->n = n;
    if (n) memcpy(c->types, types, n * sizeof c->types[0]);
    return &c->cm;
}

/* ---- exit stacks ---------------------------------------------------- */

enum { ES_CM, ES_FN, ES_CB };

typedef struct es_entry {
    int kind;
    yc_cm *cm; /* ES_CM: owned */
    yc_exit_fn fn;
    yc_callback_fn cb;
    void *ud;
} es_entry;

struct yc_exitstack {
    yc_cm cm; /* first: the stack as a manager */
    es_entry *v;
    size_t n, cap;
    int unwinding; /* nested yc_exitstack_exit calls running on it */
    bool freed;    /* freed by one of its exits: the unwinding frees it */
};

static int bad_stack(void) { return yc__fail(YC_EINVAL, &yc_TypeError, "exit stack is NULL"); }

/* Room for one more entry, so that pushing after an enter cannot fail. */
static int es_reserve(yc_exitstack *s)
{
    if (s->n < s->cap) return YC_OK;
    size_t cap = s->cap ? 2 * s->cap : 8;
    es_entry *v = yc__realloc(s->v, cap * sizeof *v);
    if (!v) return no_memory();
    s->v = v;
    s->cap = cap;
    return YC_OK;
}

static int es_push(yc_exitstack *s, es_entry x)
{
    int st = es_reserve(s);
    if (st < 0) return st;
    s->v[s->n++] = x;
    return YC_OK;
}

static int es_enter(yc_cm *cm, yc_val *out)
{
    *out = yc_ptr(cm); /* the stack itself: cm is its first member */
    return YC_OK;
}

static int es_exit(yc_cm *cm, yc_exc *e) { return yc_exitstack_exit((yc_exitstack *)cm, e); }

static void es_free(yc_cm *cm) { yc_exitstack_free((yc_exitstack *)cm); }

static const yc_cm_type exitstack_type = {
    .name = "ExitStack", .enter = es_enter, .exit = es_exit, .free = es_free};

yc_exitstack *yc_exitstack_new(void)
{
    yc_exitstack *s = yc__malloc(sizeof *s);
    if (!s) {
        no_memory();
        return NULL;
    }
    s->cm.type = &exitstack_type;
    s->v = NULL;
    s->n = s->cap = 0;
    s->unwinding = 0;
    s->freed = false;
    return s;
}

void yc_exitstack_free(yc_exitstack *s)
{
    if (!s) return;
    while (s->n) {
        es_entry *x = &s->v[--s->n];
        if (x->kind == ES_CM) yc_cm_free(x->cm);
    }
    if (s->unwinding) { /* from one of its own exits: the loop running it
                         * stops (nothing left) and frees s when it ends */
        s->freed = true;
        return;
    }
    yc__free(s->v);
    yc__free(s);
}

yc_cm *yc_exitstack_cm(yc_exitstack *s) { return s ? &s->cm : NULL; }

size_t yc_exitstack_size(const yc_exitstack *s) { return s ? s->n : 0; }

/* Registers cm (taken), entering it first when `enter`. */
static int es_add_cm(yc_exitstack *s, yc_cm *cm, bool enter, yc_val *out)
{
    int st;
    if (s && cm == &s->cm) /* it would own itself: never freed, or freed twice */
        return yc__fail(YC_EINVAL, &yc_ValueError, "an exit stack cannot be pushed onto itself");
    if (!s) {
        st = bad_stack();
    } else if (!cm) {
        st = yc__cur()->err ? YC_RAISE : not_a_manager(NULL);
    } else if (!is_manager(cm)) {
        st = not_a_manager(cm);
    } else if ((st = es_reserve(s)) == YC_OK) {
        yc_val v = YC_NONE;
        if (enter) st = yc_cm_enter(cm, &v);
        if (st == YC_OK) {
            s->v[s->n++] = (es_entry){.kind = ES_CM, .cm = cm};
            if (out) *out = v;
            return YC_OK;
        }
    }
    yc_cm_free(cm);
    return st;
}

int yc_exitstack_enter(yc_exitstack *s, yc_cm *cm, yc_val *out)
{
    return es_add_cm(s, cm, true, out);
}

int yc_exitstack_push_cm(yc_exitstack *s, yc_cm *cm) { return es_add_cm(s, cm, false, NULL); }

int yc_exitstack_push(yc_exitstack *s, yc_exit_fn fn, void *ud)
{
    if (!s) return bad_stack();
    if (!fn) return yc__fail(YC_EINVAL, &yc_TypeError, "exit function is NULL");
    return es_push(s, (es_entry){.kind = ES_FN, .fn = fn, .ud = ud});
}

int yc_exitstack_callback(yc_exitstack *s, yc_callback_fn fn, void *arg)
{
    if (!s) return bad_stack();
    if (!fn) return yc__fail(YC_EINVAL, &yc_TypeError, "callback is NULL");
    return es_push(s, (es_entry){.kind = ES_CB, .cb = fn, .ud = arg});
}

yc_exitstack *yc_exitstack_pop_all(yc_exitstack *s)
{
    if (!s) {
        bad_stack();
        return NULL;
    }
    yc_exitstack *t = yc_exitstack_new();
    if (!t) return NULL;
    t->v = s->v;
    t->n = s->n;
    t->cap = s->cap;
    s->v = NULL;
    s->n = s->cap = 0;
    return t;
}

/* Sets n.__context__ = ctx, which may be NULL. */
static void set_context(yc_exc *n, yc_exc *ctx)
{
    if (ctx) {
        yc__exc_chain(n, ctx);
    } else {
        yc_exc *old = n->context;
        n->context = NULL;
        yc_exc_unref(old);
    }
}

/* ExitStack's _fix_exception_context: makes the context chain of new end
 * at old (the exception it replaces) where it reached frame (the one being
 * handled when the unwinding began), as nested with statements would. A
 * chain that ends elsewhere (or at nothing) is left alone, as CPython does. */
static void fix_context(yc_exc *n, yc_exc *old, yc_exc *frame)
{
    for (;;) {
        yc_exc *c = n->context;
        if (!c || c == old) return;
        if (c == frame) break;
        n = c;
    }
    set_context(n, old);
}

/* Runs one exit with p pending (borrowed), releasing what the entry owns. */
static int es_run(const es_entry *x, yc_exc *p)
{
    int st;
    switch (x->kind) {
    case ES_CM:
        st = yc_cm_exit(x->cm, p);
        yc_cm_free(x->cm);
        return st;
    case ES_FN:
        return call_guarded(&(call){.kind = CALL_FN, .fn = x->fn, .ud = x->ud, .e = p});
    default:
        st = call_guarded(&(call){.kind = CALL_CB, .cb = x->cb, .ud = x->ud});
        return st < 0 ? st : YC_EXIT_PROPAGATE; /* a callback never suppresses */
    }
}

/*
 * ExitStack.__exit__. Exits run newest first, each with the exception
 * pending at that point (p, owned). Runs in the caller's context (CPython
 * runs every callback with sys.exception() the one being handled when
 * __exit__ began: frame), so a raise in a callback is chained to frame and
 * fix_context then moves the end of its chain to p.
 */
int yc_exitstack_exit(yc_exitstack *s, yc_exc *e)
{
    if (!s) return bad_stack();
    if (e && !yc__exc_valid(e))
        return yc__fail(YC_EINVAL, &yc_TypeError, "yc_exitstack_exit: not an exception");
    yc__coro *co = yc__cur();
    yc_exc *frame = yc__handled(co);
    yc_exc *p = yc_exc_ref(e);
    bool suppressed = false, pending_raise = false;
    s->unwinding++;
    while (s->n) {
        es_entry x = s->v[--s->n];
        int st = es_run(&x, p);
        if (st < 0) {
            yc_exc *f = co->err;
            co->err = NULL;
            fix_context(f, p, frame);
            yc_exc_unref(p);
            p = f;
            pending_raise = true;
        } else if (st > 0) {
            suppressed = true;
            pending_raise = false;
            yc_exc_unref(p);
            p = NULL;
        }
    }
    if (--s->unwinding == 0 && s->freed) {
        yc__free(s->v);
        yc__free(s);
    }
    if (pending_raise) {
        yc__err_set(co, p);
        return YC_RAISE;
    }
    yc_exc_unref(p);
    return e && suppressed ? YC_EXIT_SUPPRESS : YC_EXIT_PROPAGATE;
}

int yc_exitstack_close(yc_exitstack *s)
{
    int st = yc_exitstack_exit(s, NULL);
    return st < 0 ? st : YC_OK;
}
