/* yieldc: context managers (with, generator-based managers, exit stacks).
 * Included by yieldc.h; do not include directly.
 *
 * Python's `with` statement and contextlib for C (docs/semantics.md
 * section 9; docs/with.md has the rules for each way out of a block):
 *
 *   YC_WITH(yc_cm_fopen(path, "rb"), f) {     with open(path, "rb") as f:
 *       FILE *in = f.p;                           ...
 *       ...                                   (exit runs on every way out)
 *   } YC_END_WITH;
 *
 * A manager is a yc_cm: an object with an enter and an exit operation. Write
 * your own by embedding yc_cm as the first member of a struct, or write a
 * generator (setup, yield the resource, clean up in YC_FINALLY) and wrap it
 * with yc_cm_gen_new: that is contextlib.contextmanager.
 */
#ifndef YIELDC_WITH_H
#define YIELDC_WITH_H

#ifndef YIELDC_H
#  error "include <yieldc.h>, not <yieldc/with.h>"
#endif

#include <pthread.h>

/* ======================================================================
 * The manager protocol
 * ==================================================================== */

typedef struct yc_cm yc_cm;

/* What an exit returns besides a negative status (Python's truth value of
 * __exit__'s result). */
#define YC_EXIT_PROPAGATE 0 /* false: a pending exception goes on (= YC_OK) */
#define YC_EXIT_SUPPRESS 1  /* true: the pending exception is swallowed */

/* The operations of a manager. Both enter and exit are required.
 *
 * enter: the manager's __enter__. Stores the value the block binds in *out
 *   (never NULL) and returns YC_OK; or fails by raising (yc_raise: the
 *   library catches the raise and turns it into YC_RAISE), or with a
 *   negative status after yc_err_set. Exit does not run when enter fails.
 * exit: the manager's __exit__. e is the exception leaving the block
 *   (borrowed; NULL when the block ended normally or by return, break,
 *   continue or goto). Returns YC_EXIT_PROPAGATE, YC_EXIT_SUPPRESS (any
 *   positive value suppresses; ignored when e is NULL), or fails: that
 *   exception replaces e. Raise a new exception (yc_raise chains it to e, as
 *   Python does); an exception reported by status (yc_err_set, or the status
 *   of a call that failed) is taken as it is, like an error propagated in
 *   CPython.
 * free: releases the manager (and what it owns); NULL when there is nothing
 *   to release (a manager you own and reuse).
 * size: 0 (this version's layout: what a designated initialiser leaves), or
 *   sizeof(yc_cm_type) as the type was built; a type that sets a field
 *   added after 0.1 must set it. Checked by yc_cm_enter and yc_cm_exit (and
 *   so YC_WITH) as yc_iter_type's size is (yieldc.h): YC_EINVAL, TypeError
 *   naming the type and both sizes. */
typedef struct yc_cm_type {
    const char *name; /* for messages: "fopen", "generator_cm", ... */
    int (*enter)(yc_cm *cm, yc_val *out);
    int (*exit)(yc_cm *cm, yc_exc *e);
    void (*free)(yc_cm *cm);
    size_t size; /* 0, or sizeof(yc_cm_type) as built (above) */
} yc_cm_type;

/* Embed as the first member of your manager struct. */
struct yc_cm {
    const yc_cm_type *type;
};

/* cm's enter. Borrows cm. YC_OK with *out (out may be NULL) the bound
 * value; YC_EINVAL with TypeError "'NAME' object does not support the
 * context manager protocol" when cm is NULL or its type lacks enter or exit
 * (NAME is "NULL" for NULL; a type with enter but no exit adds
 * " (missed __exit__ method)", as CPython 3.13 does); otherwise what enter returned (negative:
 * exception pending). */
YC_API int yc_cm_enter(yc_cm *cm, yc_val *out);
/* cm's exit with e pending (borrowed; NULL for none). Borrows cm. Returns
 * YC_EXIT_PROPAGATE (0), YC_EXIT_SUPPRESS (1: only when e is not NULL) or a
 * negative status with the exit's exception pending; YC_EINVAL (TypeError)
 * for a non-manager or an e that is not an exception. Runs in the caller's
 * context: yc_exc_current() in the exit is whatever the caller is handling
 * (YC_WITH makes it e). */
YC_API int yc_cm_exit(yc_cm *cm, yc_exc *e);
/* Releases cm through its type's free. NULL is ignored. A pending
 * exception of the caller survives the call. */
YC_API void yc_cm_free(yc_cm *cm);
/* The type's name ("NULL" for NULL). Static or borrowed from the type. */
YC_API const char *yc_cm_name(const yc_cm *cm);

/* ======================================================================
 * The with construct
 *
 *   YC_WITH(cm, var) {
 *       ...                          var: a yc_val, the value enter bound
 *   } YC_END_WITH;
 *
 * cm is taken: it is released at the end of the construct, on every path.
 * A NULL cm (a constructor failed) raises the pending exception at the
 * YC_WITH line, or TypeError when none is pending. Python's rules:
 * - enter runs first; if it fails its exception is raised at the YC_WITH
 *   line, and neither the body nor exit runs;
 * - the block left normally, or with GCC/Clang by return, break, continue
 *   or goto: exit runs with no exception (an exception exit raises then
 *   propagates from there, replacing the return or the jump);
 * - an exception leaving the body (raised there or in anything it calls,
 *   GeneratorExit from closing the generator it is suspended in included):
 *   exit runs with it, in an except-like context; if exit suppresses it,
 *   execution continues after YC_END_WITH, else it propagates unchanged; an
 *   exception raised by exit replaces it.
 * break and continue bind to the loop around YC_WITH, as in Python. Locals
 * modified in the body and read after YC_END_WITH on the suppressed path
 * must be volatile (setjmp). Without GCC/Clang's cleanup attribute, leaving
 * the body by return, break, continue or goto is undefined: never do it.
 * -------------------------------------------------------------------- */

#define YC_WITH(cm, var)                                                      \
    {                                                                         \
        YC__NOSHADOW(yc__with yc__w YC__WITH_CLEANUP;)                        \
        yc__with_enter(&yc__w, (cm), __FILE__, __LINE__, __func__);           \
        yc__w.t.frame = YC__FRAME();                                          \
        if (setjmp(yc__w.t.jb) == 0) {                                        \
            yc_val var = yc__w.value;                                         \
            (void)var;
/* YC_WITH_BORROWED(cm, var) { ... } YC_END_WITH: the same construct with cm
 * borrowed: it is entered and exited but never released, so a reusable
 * manager (yc_cm_suppress_n, an exit stack's, one of your own) can be entered
 * again afterwards, as Python's `with cm:` twice on one object does, and the
 * caller frees it (yc_cm_free) when done. Everything else is YC_WITH's
 * contract; a NULL cm raises as for YC_WITH. Whether a manager may be entered
 * twice is its own business: a generator-based one (yc_cm_gen_new) refuses
 * the second enter with RuntimeError "cannot enter a generator-based context
 * manager twice" (9.10), raised at the YC_WITH_BORROWED line. */
#define YC_WITH_BORROWED(cm, var)                                             \
    {                                                                         \
        yc__with yc__w YC__WITH_CLEANUP;                                      \
        yc__with_enter_borrowed(&yc__w, (cm), __FILE__, __LINE__, __func__);  \
        yc__w.t.frame = YC__FRAME();                                          \
        if (setjmp(yc__w.t.jb) == 0) {                                        \
            yc_val var = yc__w.value;                                         \
            (void)var;

#define YC_END_WITH                                                           \
        }                                                                     \
        yc__with_end(&yc__w);                                                 \
    }                                                                         \
    do {} while (0)

/* ======================================================================
 * Generator-based managers (contextlib.contextmanager)
 *
 *   static yc_val opened(void *arg) {
 *       FILE *f = fopen(arg, "r");              setup
 *       if (!f) yc_raise(...);
 *       YC_TRY {
 *           yc_yield(yc_ptr(f));                hand-off: the bound value
 *       } YC_FINALLY {
 *           fclose(f);                          wrap-up, on every way out
 *       } YC_END;
 *       return YC_NONE;
 *   }
 *   YC_WITH(yc_cm_gen_new(opened, path, NULL), f) { ... } YC_END_WITH;
 *
 * enter is next(gen); exit is next(gen) or gen.throw(e), with contextlib's
 * rules (docs/semantics.md 9.2-9.10): "generator didn't yield", "generator
 * didn't stop", "generator didn't stop after throw()", suppression when the
 * generator catches and finishes, the original exception (same object,
 * original traceback) when it re-raises it, and a StopIteration raised in
 * the body coming out as itself. Single use: a second enter fails with
 * RuntimeError "cannot enter a generator-based context manager twice".
 * -------------------------------------------------------------------- */

/* A manager over the generator fn(arg), created now (state CREATED, nothing
 * runs): contextmanager's decorated call. arg and opts as yc_gen_new.
 * Returns a new manager, or NULL with the exception of yc_gen_new (or
 * MemoryError) pending. */
YC_API yc_cm *yc_cm_gen_new(yc_gen_fn fn, void *arg, const yc_gen_opts *opts);
/* The same over an existing generator g (taken: freed with the manager,
 * even on failure). g NULL: NULL, with the pending exception kept, or
 * TypeError "'NULL' object is not an iterator". g running (from its own
 * body, or on another thread): NULL with ValueError "yc_cm_gen: generator
 * already executing", and g is not taken. */
YC_API yc_cm *yc_cm_gen(yc_gen *g);
/* The same over any iterator (taken; freed with yc_iter_free): enter is
 * its next, exit its next or throw. An iterator without next fails at
 * enter with TypeError "'NAME' object is not an iterator". */
YC_API yc_cm *yc_cm_iter(yc_iter *it);
/* The generator of a manager made by yc_cm_gen_new or yc_cm_gen (borrowed,
 * lives as long as cm), NULL for any other manager. */
YC_API yc_gen *yc_cm_gen_of(const yc_cm *cm);

/* ======================================================================
 * Ready-made managers
 *
 * Each constructor returns a new manager, or NULL with MemoryError (or
 * the error named) pending. A manager is released by yc_cm_free, by the
 * YC_WITH it is given to, or by the exit stack it is entered into.
 * -------------------------------------------------------------------- */

/* contextlib.closing: binds yc_ptr(it); exit closes it (yc_iter_close:
 * its error propagates) and never suppresses. Takes it: freed with the
 * manager. Reusable. it NULL: as yc_cm_gen. */
YC_API yc_cm *yc_cm_closing(yc_iter *it);

/* A FILE* opened at enter with fopen(path, mode), bound as yc_ptr(FILE *),
 * closed with fclose at exit (a failing fclose raises OSError). path and
 * mode are copied. A failing fopen raises at enter OSError with the errno,
 * FileNotFoundError for ENOENT: "[Errno 2] No such file or directory:
 * 'path'". Freeing the manager closes a file still open; entering it after
 * exit: ValueError "I/O operation on closed file.". */
YC_API yc_cm *yc_cm_fopen(const char *path, const char *mode);
/* The same over an open FILE *f (taken: closed at exit, or when the manager
 * is freed; also when this call fails). f NULL: TypeError. */
YC_API yc_cm *yc_cm_file(FILE *f);
/* A file descriptor opened at enter with open(path, flags, mode), bound as
 * yc_int(fd), closed at exit; errors as yc_cm_fopen. */
YC_API yc_cm *yc_cm_open(const char *path, int flags, unsigned mode);
/* The same over an open descriptor fd >= 0 (taken, as yc_cm_file). */
YC_API yc_cm *yc_cm_fd(int fd);

/* Locks m at enter (pthread_mutex_lock; an error raises OSError with its
 * errno), unlocks it at exit; never suppresses. Borrows m, which must
 * outlive the manager. Binds yc_ptr(m). Reusable. Freeing the manager does
 * not unlock. */
YC_API yc_cm *yc_cm_mutex(pthread_mutex_t *m);

/* contextlib.suppress(types...): exit suppresses an exception that is an
 * instance of one of the n types (copied; n may be 0: suppresses nothing).
 * Binds None. Reusable. types NULL with n > 0: TypeError. */
YC_API yc_cm *yc_cm_suppress_n(const yc_exc_type *const *types, size_t n);
/* yc_cm_suppress(&yc_KeyError, &yc_ValueError): the same, types listed. */
#define yc_cm_suppress(...)                                                   \
    yc_cm_suppress_n((const yc_exc_type *const[]){__VA_ARGS__},               \
                     sizeof((const yc_exc_type *const[]){__VA_ARGS__}) /      \
                         sizeof(const yc_exc_type *))

/* contextlib.nullcontext(value): enter binds value (borrowed: what it
 * points to must outlive the manager's use), exit does nothing and never
 * suppresses. For code that takes a manager when there is nothing to
 * manage. Reusable. Returns NULL only with MemoryError. */
YC_API yc_cm *yc_cm_nullcontext(yc_val value);
/* contextlib.chdir(path): enter changes the working directory to path
 * (copied) and binds None; exit goes back to the directory enter left
 * (held open as a descriptor, so it works even if that directory was
 * renamed) and never suppresses. Reentrant: nested enters of the same
 * manager go back one level per exit. A failing chdir raises at enter
 * FileNotFoundError, PermissionError, NotADirectoryError or OSError,
 * "[Errno 2] No such file or directory: 'path'"; a failing return raises
 * OSError at exit. The working directory belongs to the process: not for
 * tasks or threads that use relative paths at the same time. path NULL:
 * TypeError "yc_cm_chdir: path is NULL". */
YC_API yc_cm *yc_cm_chdir(const char *path);
/* contextlib.redirect_stdout / redirect_stderr for C streams: while the
 * block runs, what is written to stream goes where target writes. Enter
 * flushes both streams and makes stream's file descriptor a copy of
 * target's (dup2), so printf, write(1, ...) and child processes all follow
 * it; exit flushes stream and puts its descriptor back. Binds
 * yc_ptr(target); never suppresses. Borrows both streams, which must stay
 * open while the manager is entered. Reentrant. A manager freed inside its
 * block puts the stream back first. A failing dup2 raises OSError with its
 * errno (EBADF for a stream without a descriptor, such as one of
 * fmemopen). stream or target NULL: TypeError "yc_cm_redirect: stream is
 * NULL" ("target"). */
YC_API yc_cm *yc_cm_redirect(FILE *stream, FILE *target);
/* redirect_stdout(target), redirect_stderr(target) */
#define yc_cm_redirect_stdout(target) yc_cm_redirect(stdout, (target))
#define yc_cm_redirect_stderr(target) yc_cm_redirect(stderr, (target))

/* ======================================================================
 * Exit stacks (contextlib.ExitStack)
 *
 * A LIFO of exits: managers entered through it, exit functions and plain
 * callbacks. Unwinding runs them newest first, each with the exception
 * pending at that point: an exit that suppresses clears it, one that raises
 * replaces it (the new exception's context chain ends at the one it
 * replaces). A callback pushed while unwinding runs too.
 * -------------------------------------------------------------------- */

typedef struct yc_exitstack yc_exitstack;

/* push(): an exit function with a user pointer. e as a manager's exit
 * (borrowed, NULL for none); returns YC_EXIT_PROPAGATE, YC_EXIT_SUPPRESS or
 * a negative status (or raises). */
typedef int (*yc_exit_fn)(void *ud, yc_exc *e);
/* callback(): called with arg; cannot suppress; fails by raising. */
typedef void (*yc_callback_fn)(void *arg);

/* A new, empty stack, or NULL with MemoryError pending. */
YC_API yc_exitstack *yc_exitstack_new(void);
/* Frees s. Its remaining exits do not run: the managers still on it are
 * freed (yc_cm_free), the functions and callbacks dropped. Unwind first
 * with yc_exitstack_close, or use the stack in YC_WITH. NULL is ignored.
 * Called from one of s's own exits while s unwinds, the same happens and
 * the memory goes when that unwinding ends. */
YC_API void yc_exitstack_free(yc_exitstack *s);
/* s as a manager (borrowed from s; freeing it frees s): enter binds
 * yc_ptr(s), exit unwinds s with the pending exception and suppresses it
 * when an exit did and none raised afterwards. Reusable. NULL for NULL, with
 * the pending exception kept. */
YC_API yc_cm *yc_exitstack_cm(yc_exitstack *s);

/* enter_context: enters cm and pushes its exit. Takes cm (freed after its
 * exit runs, or now when this fails). YC_OK with *out (may be NULL) the
 * bound value; enter's error (cm is not pushed); YC_EINVAL for a NULL s
 * (TypeError) or a non-manager (TypeError "'NAME' object does not support
 * the context manager protocol"; for a NULL cm, the pending exception if
 * any); YC_ENOMEM (cm not entered). */
YC_API int yc_exitstack_enter(yc_exitstack *s, yc_cm *cm, yc_val *out);
/* push(cm): pushes the exit of an already entered cm, without entering it.
 * Takes cm. YC_OK, YC_EINVAL, YC_ENOMEM as above. For both: s's own manager
 * (yc_exitstack_cm(s)) is YC_EINVAL with ValueError, and is not taken. */
YC_API int yc_exitstack_push_cm(yc_exitstack *s, yc_cm *cm);
/* push(exit_fn): pushes fn(ud, e). YC_OK; YC_EINVAL (s or fn NULL:
 * TypeError); YC_ENOMEM. */
YC_API int yc_exitstack_push(yc_exitstack *s, yc_exit_fn fn, void *ud);
/* callback(fn, arg): pushes fn(arg). Same returns. */
YC_API int yc_exitstack_callback(yc_exitstack *s, yc_callback_fn fn, void *arg);
/* pop_all(): moves every exit of s, in order, to a new stack (returned, new;
 * s is left empty). NULL with MemoryError (nothing moved) or TypeError
 * (s NULL) pending. */
YC_API yc_exitstack *yc_exitstack_pop_all(yc_exitstack *s);
/* close(): unwinds s with no exception. YC_OK, or a negative status with
 * the exception the last raising exit left. s is empty afterwards and
 * reusable. YC_EINVAL for NULL. */
YC_API int yc_exitstack_close(yc_exitstack *s);
/* __exit__: unwinds s with e pending (borrowed; NULL for none). Returns
 * YC_EXIT_SUPPRESS when e was given and an exit suppressed it (or what
 * replaced it) with nothing raised afterwards, YC_EXIT_PROPAGATE, or a
 * negative status with the replacing exception pending. */
YC_API int yc_exitstack_exit(yc_exitstack *s, yc_exc *e);
/* Exits currently on s (0 for NULL). */
YC_API size_t yc_exitstack_size(const yc_exitstack *s);

/* ======================================================================
 * Private: used by YC_WITH
 * ==================================================================== */

typedef struct yc__with {
    yc__try t;        /* first: the handler frame a raise in the body lands in */
    yc_cm *cm;        /* owned until exit has run */
    yc_val value;     /* what enter bound */
    int state;
    const char *file; /* the YC_WITH line, for tracebacks */
    int line;
    const char *func;
    bool borrowed;    /* YC_WITH_BORROWED: cm is not released */
} yc__with;

#if defined(__GNUC__)
#  define YC__WITH_CLEANUP __attribute__((cleanup(yc__with_cleanup)))
#else
#  define YC__WITH_CLEANUP
#endif

YC_API void yc__with_enter(yc__with *w, yc_cm *cm, const char *file, int line, const char *func);
YC_API void yc__with_enter_borrowed(yc__with *w, yc_cm *cm, const char *file, int line,
                                    const char *func);
YC_API void yc__with_end(yc__with *w);
YC_API void yc__with_cleanup(yc__with *w);

#endif
