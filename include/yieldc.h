/*
 * yieldc: Python's generators, coroutines and exceptions for C.
 *
 * Public API. Everything here is prefixed yc_ / YC_. Names with a double
 * underscore (yc__, YC__) are private: they appear only because macros need
 * them, and may change at any time.
 *
 * Conventions used by every function below
 * ----------------------------------------
 * - Status codes: functions that can fail return an `int` status from the
 *   YC_STATUS_MAP table. A negative status always means an exception is
 *   pending in the calling coroutine's error indicator (yc_err_get()).
 * - Caller-side functions (yc_next, yc_send, yc_throw, yc_close, yc_iter_*)
 *   never jump: they return a status. Only yc_raise() and friends jump, to the
 *   innermost YC_TRY of the current coroutine.
 * - Ownership is stated per function: "takes" means the callee owns the
 *   reference afterwards (even on failure), "borrows" that the caller keeps it,
 *   "new reference" that the caller must release it.
 * - A generator is resumed by one thread at a time; everything else here is
 *   per-thread state (current coroutine, error indicator, stack pool).
 */
#ifndef YIELDC_H
#define YIELDC_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define YC_VERSION_MAJOR 0
#define YC_VERSION_MINOR 1
#define YC_VERSION_PATCH 0

#if defined(YC_STATIC) || !defined(__GNUC__)
#  define YC_API
#else
#  define YC_API __attribute__((visibility("default")))
#endif
#if defined(__GNUC__)
#  define YC_NORETURN __attribute__((noreturn))
#  define YC_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#  define YC_NORETURN
#  define YC_PRINTF(f, a)
#endif

/* ======================================================================
 * Status codes
 * ==================================================================== */

/* X(name, value, description). Non-negative: an outcome. Negative: an
 * exception is pending (yc_err_get()). */
#define YC_STATUS_MAP(X)                                                      \
    X(OK, 0, "success")                                                       \
    X(YIELD, 1, "a value was yielded")                                        \
    X(RETURN, 2, "exhausted: StopIteration, with the return value")          \
    X(RAISE, -1, "an exception was raised (see yc_err_get())")               \
    X(EINVAL, -2, "invalid argument or wrong state; nothing was changed")    \
    X(EBUSY, -3, "generator already executing; nothing was changed")         \
    X(ENOMEM, -4, "out of memory; nothing was changed")

enum yc_status {
#define YC__STATUS_ENUM(name, value, desc) YC_##name = value,
    YC_STATUS_MAP(YC__STATUS_ENUM)
#undef YC__STATUS_ENUM
};

/* "YC_YIELD" etc. for a status; "YC_UNKNOWN" for anything else. Static. */
YC_API const char *yc_status_name(int status);
/* The description from YC_STATUS_MAP. Static string. */
YC_API const char *yc_status_str(int status);

/* ======================================================================
 * Values
 * ==================================================================== */

/* The kinds a yc_val can hold. None is distinct from 0 and NULL. */
typedef enum yc_type {
    YC_T_NONE = 0,
    YC_T_BOOL,
    YC_T_INT,   /* int64_t in .i  */
    YC_T_FLOAT, /* double in .f   */
    YC_T_PTR,   /* void * in .p   */
    YC_T_BYTES  /* .s with length yc_len(v); not NUL-terminated in general */
} yc_type;

/* A small value passed by value in two registers, never allocated. A value
 * that points to memory (PTR, BYTES) borrows it: the producer says how long
 * it stays valid (for a yielded buffer: until the generator is resumed). */
typedef struct yc_val {
    union {
        int64_t i;
        double f;
        void *p;
        const char *s;
        bool b;
    };
    uint64_t meta; /* type in the low 8 bits, byte length above: use yc_type_of() / yc_len() */
} yc_val;

#define YC_NONE ((yc_val){{.i = 0}, YC_T_NONE})

static inline yc_val yc_none(void) { return YC_NONE; }
static inline yc_val yc_int(int64_t i) { yc_val v = {{.i = i}, YC_T_INT}; return v; }
static inline yc_val yc_float(double f) { yc_val v = {{.f = f}, YC_T_FLOAT}; return v; }
static inline yc_val yc_bool(bool b) { yc_val v = {{.i = b ? 1 : 0}, YC_T_BOOL}; return v; }
static inline yc_val yc_ptr(void *p) { yc_val v = {{.p = p}, YC_T_PTR}; return v; }
/* n must be below 2^56. */
static inline yc_val yc_bytes(const void *s, size_t n)
{
    yc_val v = {{.s = (const char *)s}, YC_T_BYTES | ((uint64_t)n << 8)};
    return v;
}
/* A NUL-terminated string, as BYTES of its length (the NUL not counted). */
YC_API yc_val yc_str(const char *s);

static inline yc_type yc_type_of(yc_val v) { return (yc_type)(v.meta & 0xff); }
static inline size_t yc_len(yc_val v) { return (size_t)(v.meta >> 8); }
static inline bool yc_is_none(yc_val v) { return yc_type_of(v) == YC_T_NONE; }
/* Same type and same contents (BYTES compared byte-wise, FLOAT with ==). */
YC_API bool yc_val_eq(yc_val a, yc_val b);
/* Python's repr() of the value into buf (always NUL-terminated when n > 0;
 * buf may be NULL with n == 0 to measure): None, True, False, 42; floats
 * as float.__repr__ (the shortest digits that read back as the same
 * double: 0.1, 10.0, 1e+16, 1e-05, 0.0001, -0.0, inf, -inf, nan);
 * b'a\\n\\x00' for bytes (escapes and quotes as bytes.__repr__); tuples
 * (yieldc/iter.h) as (1, b'x'), (1,) and (), nested up to 32 deep, deeper
 * ones shown as (...); other pointers as <pointer 0x..>. Returns the
 * length it wanted to write, like snprintf. Never fails. */
YC_API int yc_val_format(yc_val v, char *buf, size_t n);
/* The Python name of v's kind, for messages like "expected int, got bytes":
 * "NoneType", "bool", "int", "float", "bytes", "tuple" (a tuple value), or
 * "pointer" (a PTR that is not a tuple; Python has no such type). A static
 * string; never NULL ("?" for a value whose type bits are invalid). */
YC_API const char *yc_val_type_name(yc_val v);

/* ======================================================================
 * Exceptions
 * ==================================================================== */

/* An exception type: a name and a base, and for the rare type with two
 * bases (ExceptionGroup: BaseExceptionGroup and Exception) a second one.
 * Types are static objects compared by address. Define your own with
 * YC_EXC_TYPE; a type deriving from yc_ExceptionGroup inherits both of its
 * bases through it and leaves base2 NULL. Fields may be added at the end:
 * initialise with YC_EXC_TYPE or designated initialisers (a positional
 * {"Name", &base} leaves base2 NULL but draws -Wmissing-field-initializers). */
typedef struct yc_exc_type {
    const char *name;
    const struct yc_exc_type *base;  /* NULL only for BaseException */
    const struct yc_exc_type *base2; /* a second base, searched after base; NULL: none */
} yc_exc_type;

/* Defines a type object: YC_EXC_TYPE(ParseError, yc_ValueError); then use
 * &ParseError wherever a type is expected. */
#define YC_EXC_TYPE(name_, base_) const yc_exc_type name_ = {.name = #name_, .base = &(base_)}

/* The built-in hierarchy, as in Python:
 *   BaseException
 *    +-- SystemExit, KeyboardInterrupt, GeneratorExit, CancelledError
 *    +-- Exception
 *         +-- StopIteration, StopAsyncIteration, AttributeError,
 *             MemoryError, TypeError, EOFError, AssertionError
 *         +-- ArithmeticError -- ZeroDivisionError, OverflowError
 *         +-- LookupError -- IndexError, KeyError
 *         +-- OSError -- FileNotFoundError, TimeoutError, FileExistsError,
 *         |              PermissionError, BlockingIOError, InterruptedError,
 *         |              IsADirectoryError, NotADirectoryError,
 *         |              ChildProcessError, ProcessLookupError
 *         |   +-- ConnectionError -- ConnectionResetError, BrokenPipeError,
 *         |                          ConnectionRefusedError,
 *         |                          ConnectionAbortedError
 *         +-- RuntimeError -- NotImplementedError, RecursionError,
 *         |                   BrokenBarrierError
 *         +-- ValueError
 *         +-- InvalidStateError, QueueEmpty, QueueFull, QueueShutDown,
 *             LimitOverrunError (asyncio's), SubprocessError (subprocess's)
 *         EOFError -- IncompleteReadError (asyncio's)
 *    +-- BaseExceptionGroup
 *         +-- ExceptionGroup (also derives from Exception)
 * asyncio.TimeoutError is TimeoutError, as in Python 3.11+. */
#define YC__EXC_BUILTINS(X)                                                   \
    X(BaseException) X(SystemExit) X(KeyboardInterrupt) X(GeneratorExit)      \
    X(CancelledError) X(Exception) X(StopIteration) X(StopAsyncIteration)     \
    X(AttributeError) X(MemoryError) X(TypeError) X(EOFError)                 \
    X(AssertionError) X(ArithmeticError) X(ZeroDivisionError)                 \
    X(OverflowError) X(LookupError) X(IndexError) X(KeyError) X(OSError)      \
    X(FileNotFoundError) X(TimeoutError) X(RuntimeError)                      \
    X(NotImplementedError) X(RecursionError) X(ValueError)                    \
    X(FileExistsError) X(PermissionError) X(BlockingIOError)                  \
    X(InterruptedError) X(IsADirectoryError) X(NotADirectoryError)            \
    X(ChildProcessError) X(ProcessLookupError) X(ConnectionError)             \
    X(ConnectionResetError) X(BrokenPipeError) X(ConnectionRefusedError)      \
    X(ConnectionAbortedError) X(BrokenBarrierError) X(InvalidStateError)      \
    X(QueueEmpty) X(QueueFull) X(QueueShutDown) X(LimitOverrunError)          \
    X(IncompleteReadError) X(BaseExceptionGroup) X(ExceptionGroup)           \
    X(SubprocessError)
#define YC__EXC_DECLARE(n) YC_API extern const yc_exc_type yc_##n;
YC__EXC_BUILTINS(YC__EXC_DECLARE)
#undef YC__EXC_DECLARE

/* An exception object: reference counted and opaque. Not to be shared by
 * threads running at the same time. */
typedef struct yc_exc yc_exc;

/* New exception of type t with a printf-style message (fmt may be NULL for
 * none). Returns a new reference; never NULL: when memory runs out it returns
 * the preallocated MemoryError instead. */
YC_API yc_exc *yc_exc_new(const yc_exc_type *t, const char *fmt, ...) YC_PRINTF(2, 3);
YC_API yc_exc *yc_exc_newv(const yc_exc_type *t, const char *fmt, va_list ap);
/* New exception carrying a value, like StopIteration(value): no message;
 * printed as "StopIteration: <value>" (just "StopIteration" for None). */
YC_API yc_exc *yc_exc_new_value(const yc_exc_type *t, yc_val value);
/* New OSError-like exception with an errno, printed "[Errno N] strerror: msg"
 * (or "[Errno N] strerror" when fmt is NULL or ""; pass "'%s'" for a file
 * name, as CPython prints one). t == &yc_OSError picks the subclass
 * CPython's OSError() picks for err: ConnectionResetError for ECONNRESET,
 * BrokenPipeError for EPIPE and ESHUTDOWN, FileNotFoundError for ENOENT,
 * ... (python-semantics.md 12.56); any other t is kept as given. */
YC_API yc_exc *yc_exc_new_errno(const yc_exc_type *t, int err, const char *fmt, ...) YC_PRINTF(3, 4);

/* Reference counting. yc_exc_ref returns e; both accept NULL. */
YC_API yc_exc *yc_exc_ref(yc_exc *e);
YC_API void yc_exc_unref(yc_exc *e);

/* Accessors; all borrow e and return borrowed data that lives as long as e. */
YC_API const yc_exc_type *yc_exc_type_of(const yc_exc *e);
YC_API const char *yc_exc_msg(const yc_exc *e);   /* "" when none */
YC_API yc_val yc_exc_value(const yc_exc *e);      /* StopIteration's value; None otherwise */
YC_API int yc_exc_errno(const yc_exc *e);         /* 0 when none */
YC_API yc_exc *yc_exc_context(const yc_exc *e);   /* __context__, or NULL */
YC_API yc_exc *yc_exc_cause(const yc_exc *e);     /* __cause__, or NULL */
YC_API bool yc_exc_suppress_context(const yc_exc *e);
/* Sets __cause__ (takes cause; NULL clears it) and __suppress_context__.
 * A cause that is not an exception is ignored and e is left unchanged; so
 * is (released) one that would make a reference cycle: e itself, or one
 * whose causes and contexts lead back to e. */
YC_API void yc_exc_set_cause(yc_exc *e, yc_exc *cause);
/* e.__context__ = ctx: sets __context__ (takes ctx; NULL clears it, as
 * `e.__context__ = None` does) and leaves __cause__ and
 * __suppress_context__ alone. The same refusals as yc_exc_set_cause: a ctx
 * that is not an exception, or one that would make a reference cycle
 * (released), leaves e unchanged. A later raise of e inside a handler sets
 * __context__ again to the exception being handled, as Python's raise
 * does. */
YC_API void yc_exc_set_context(yc_exc *e, yc_exc *ctx);
/* isinstance(e, t): t or a subtype of it. False for NULL e. */
YC_API bool yc_exc_is(const yc_exc *e, const yc_exc_type *t);
/* issubclass(t, base): base is t or found among t's bases, following base
 * and base2 depth first. False when either is NULL. A malformed type graph
 * cannot hang it: the walk stops (false) after 1024 types, and skips a
 * second base when 32 are already waiting. */
YC_API bool yc_type_is_subtype(const yc_exc_type *t, const yc_exc_type *base);

/* One traceback entry: where a raise (or a re-raise) happened. Entries are
 * ordered innermost first; `where` names the generator ("<main>" outside). */
typedef struct yc_tb_entry {
    const char *file;
    int line;
    const char *func;  /* C function, or NULL when not known (a yield site) */
    const char *where; /* generator name, or "<main>" */
} yc_tb_entry;
/* Returns the traceback array (borrowed from e) and stores its length in *n. */
YC_API const yc_tb_entry *yc_exc_traceback(const yc_exc *e, size_t *n);

/* Prints e like CPython 3.13's traceback module: the chain of causes and
 * contexts first, each with its "Traceback (most recent call last):" block
 * and the linking sentence, then "Type: message". A group is printed as a
 * tree with its members ("  | ExceptionGroup: m (2 sub-exceptions)",
 * "  +-+---------------- 1 ----------------", ...), at most 15 members per
 * group ("and N more exceptions") and 10 levels of nesting
 * ("... (max_group_depth is 10)"); an exception met twice in the tree has
 * its cause and context printed once. When memory for the walk runs out,
 * only e's own "Type: message" line is printed. */
YC_API void yc_exc_print(const yc_exc *e, FILE *f);
/* The last line of a traceback, as CPython prints it: "Type: str(e)", or
 * "Type" alone when str(e) is empty (see yc_exc_str), into buf,
 * snprintf-style (buf may be NULL with n == 0 to measure; "None" for a
 * NULL e). Examples: "ValueError: bad", "KeyError: 'k'",
 * "FileNotFoundError: [Errno 2] No such file or directory: 'x'",
 * "StopIteration: 5", "ExceptionGroup: m (2 sub-exceptions)",
 * "RuntimeError". Types are named without a module (CPython would print a
 * type defined in a script as __main__.ParseError). Borrows e. */
YC_API int yc_exc_format(const yc_exc *e, char *buf, size_t n);
/* str(e), snprintf-style: the message; for KeyError and its subtypes the
 * repr of the message ('k', with Python's quotes and escapes, as
 * KeyError.__str__ does); for an exception made with yc_exc_new_value the
 * repr of the value (5, b'x', 1.5); for an errno exception the
 * "[Errno N] strerror: detail" message; for a group "msg (N
 * sub-exceptions)"; "" with no argument. Borrows e. */
YC_API int yc_exc_str(const yc_exc *e, char *buf, size_t n);
/* repr(e), snprintf-style: "ValueError('bad')", "KeyError('k')",
 * "StopIteration(5)", "RuntimeError()", for an errno exception
 * "FileNotFoundError(2, 'No such file or directory')" (as Python, the
 * detail or filename is not part of the repr), for a group
 * "ExceptionGroup('m', [ValueError('a'), TypeError('b')])" (groups nested
 * more than 64 deep shown as ...). Strings are quoted and escaped as
 * Python's repr of a str. Borrows e; "None" for NULL. */
YC_API int yc_exc_repr(const yc_exc *e, char *buf, size_t n);

/* ----------------------------------------------------------------------
 * Exception groups (PEP 654)
 *
 * A group is an exception holding a message and one or more member
 * exceptions (any of which may be groups), as BaseExceptionGroup and
 * ExceptionGroup in Python 3.13. It owns its members. yc_exc_msg gives its
 * message, yc_exc_format "ExceptionGroup: msg (2 sub-exceptions)" and
 * yc_exc_print CPython's tree of the members. yc_exc_new and the other
 * constructors above refuse a group type: they return TypeError
 * "BaseExceptionGroup.__new__() takes exactly 2 arguments (N given)".
 * -------------------------------------------------------------------- */

/* BaseExceptionGroup(msg, excs): a group of the n exceptions excs[0..n-1]
 * with a copy of msg. Takes each of them, even on failure. Its type is
 * ExceptionGroup when every member is an Exception, else
 * BaseExceptionGroup. Returns a new reference; when memory runs out the
 * preallocated MemoryError. Misuse returns NULL with the exception pending
 * (the members taken all the same; a pointer that is no exception is left
 * alone): msg NULL -> TypeError "BaseExceptionGroup.__new__() argument 1
 * must be str, not None"; n == 0 -> ValueError "second argument
 * (exceptions) must be a non-empty sequence"; excs NULL -> TypeError
 * "second argument (exceptions) must be a sequence"; excs[i] NULL or not
 * an exception -> ValueError "Item i of second argument (exceptions) is
 * not an exception". */
YC_API yc_exc *yc_exc_group_new(const char *msg, yc_exc *const *excs, size_t n);
/* T(msg, excs) for a group type t: yc_BaseExceptionGroup (as above),
 * yc_ExceptionGroup or a type derived from either. The result has type t,
 * except that BaseExceptionGroup becomes ExceptionGroup as above. Same
 * ownership, returns and misuse as yc_exc_group_new, and: t NULL or not a
 * group type -> TypeError "BaseExceptionGroup.__new__(X): X is not a
 * subtype of BaseExceptionGroup"; a member that is not an Exception in an
 * ExceptionGroup -> TypeError "Cannot nest BaseExceptions in an
 * ExceptionGroup", in another type deriving from Exception -> TypeError
 * "Cannot nest BaseExceptions in 'NAME'". */
YC_API yc_exc *yc_exc_group_new_type(const yc_exc_type *t, const char *msg,
                                     yc_exc *const *excs, size_t n);
/* Whether e is a group (isinstance(e, BaseExceptionGroup)). False for NULL. */
YC_API bool yc_exc_is_group(const yc_exc *e);
/* The number of members of g (len(g.exceptions)); 0 when g is NULL or not
 * a group. */
YC_API size_t yc_exc_group_size(const yc_exc *g);
/* g.exceptions[i], borrowed from g; NULL when g is NULL, not a group, or
 * i >= its size. */
YC_API yc_exc *yc_exc_group_item(const yc_exc *g, size_t i);
/* g.split(type): the members of g that are instances of type (*match), and
 * the others (*rest), searched recursively through nested groups. g is
 * borrowed. Each part is g itself when g is an instance of type (then
 * *rest is NULL), NULL when empty, else a new group with g's message,
 * traceback, __cause__ and __context__ (and __suppress_context__ set, as
 * CPython's split does), its nested groups split the same way; the new
 * groups are BaseExceptionGroup or ExceptionGroup by their members, even
 * when g's type derives from them. *match and *rest are new references
 * (NULL: none); either pointer may be NULL when that part is not wanted.
 * Returns YC_OK; on failure both are set to NULL: YC_EINVAL with TypeError
 * (g NULL or not an exception: "exceptions must be ... not NULL"; g not a
 * group: "descriptor 'split' for 'BaseExceptionGroup' objects doesn't
 * apply to a 'TYPE' object"; type NULL: "expected an exception type, a
 * tuple of exception types, or a callable (other than a class)") or
 * YC_ENOMEM with MemoryError. The C form of `except* type`. */
YC_API int yc_exc_group_split(yc_exc *g, const yc_exc_type *type, yc_exc **match,
                              yc_exc **rest);
/* g.subgroup(type): *match of yc_exc_group_split (new reference), or NULL
 * when nothing matches. NULL also on failure, with the exception pending
 * as for yc_exc_group_split ('subgroup' in the descriptor message); use
 * yc_exc_group_split(g, type, &match, NULL) to tell the two apart. */
YC_API yc_exc *yc_exc_group_subgroup(yc_exc *g, const yc_exc_type *type);

/* ----------------------------------------------------------------------
 * Raising, and the error indicator
 * -------------------------------------------------------------------- */

/* Raises e (takes it): jumps to the innermost YC_TRY of the current
 * coroutine. Sets e's __context__ to the exception being handled, as Python
 * does. With no YC_TRY: inside a generator the generator ends and its
 * resumer gets YC_RAISE; in plain code the fatal hook runs (default: print
 * and abort). */
#define yc_raise(e) yc__raise((e), __FILE__, __LINE__, __func__)
#define yc_raisef(type, ...) yc_raise(yc_exc_new((type), __VA_ARGS__))
/* raise e from cause (takes both; cause may be NULL: "from None"). */
#define yc_raise_from(e, cause) yc__raise_from((e), (cause), __FILE__, __LINE__, __func__)
/* Bare `raise` inside YC_EXCEPT: re-raises the exception being handled. */
#define yc_reraise() yc__reraise(__FILE__, __LINE__, __func__)
/* Turns a negative status into a raise of the pending exception. */
#define YC_CHECK(expr)                                                        \
    do {                                                                      \
        if ((expr) < 0) yc__err_raise(__FILE__, __LINE__, __func__);          \
    } while (0)
/* The constructor's result, or a raise of the pending exception when it is
 * NULL: a failed constructor becomes a raise in one call, in a generator
 * body, a task or a YC_TRY body, e.g.
 *     yc_gen *g = YC_CHECK_PTR(yc_gen_new(fn, arg, NULL));
 * The traceback entry names the caller's file and line. A NULL without a
 * pending exception raises RuntimeError "a call failed but no exception
 * was pending". expr is evaluated once; the result is a void * (converted
 * back to the pointer type on assignment). */
#define YC_CHECK_PTR(expr) yc__check_ptr((void *)(expr), __FILE__, __LINE__, __func__)

/* The error indicator of the current coroutine (a generator, or the thread
 * outside generators). Any function returning a negative status fills it;
 * a new error replaces (and releases) an older one. */
YC_API yc_exc *yc_err_get(void);   /* borrowed, or NULL */
YC_API yc_exc *yc_err_take(void);  /* new reference (clears it), or NULL */
YC_API void yc_err_clear(void);
/* Python's PyErr_Print: takes the pending error, flushes stdout, prints
 * the error to stderr as yc_exc_print does (traceback, chain, "Type:
 * message"), and releases it. Returns YC_OK; YC_EINVAL when no error was
 * pending (nothing printed, nothing set). */
YC_API int yc_err_print(void);
/* Sets it (takes e). For iterator implementations returning YC_RAISE. */
YC_API void yc_err_set(yc_exc *e);
/* The exception being handled (sys.exc_info()): inside YC_EXCEPT or a
 * YC_FINALLY reached by an exception. Borrowed, or NULL. */
YC_API yc_exc *yc_exc_current(void);

/* ----------------------------------------------------------------------
 * try / except / finally
 *
 *   YC_TRY {
 *       ...                              may raise
 *   } YC_EXCEPT(&yc_ValueError) {         any number, first match wins
 *       yc_exc *e = yc_exc_current();    borrowed
 *   } YC_FINALLY {                        optional; runs on every way out
 *       ...
 *   } YC_END;
 *
 * Python's rules: an exception raised in an except or finally block gets the
 * one being handled as __context__; an uncaught one runs the finally block
 * and propagates. Restrictions of C: locals modified in the body and read in
 * a handler must be volatile (setjmp; tools/check_try_locals.py finds the
 * ones that are not); leaving a block with return, break, continue or goto
 * skips YC_FINALLY (with GCC/Clang the handler is still unlinked safely):
 * return with YC_RETURN instead.
 *
 * YC_RETURN(expr), YC_RETURN_VOID(): Python's `return` inside try. expr is
 * evaluated where the macro stands (inside the body: an exception from it is
 * handled by the construct, as `try: return f()` does); then the finally
 * blocks of every YC_TRY of the current function that encloses the macro
 * run, innermost first, YC_WITH exits included, and the function returns the
 * value. A return inside an except or finally block discards the exception
 * being handled or in flight, as in Python; an exception raised by a
 * finally block on the way cancels the return and propagates. Outside any
 * YC_TRY it is a plain return. It allocates a small record while the
 * finally blocks run (no memory: MemoryError raised where it stands). GCC
 * and Clang only (__typeof__, __builtin_frame_address); expr's type is the
 * function's return type.
 * -------------------------------------------------------------------- */

typedef struct yc__try {
    struct yc__try *prev;
    struct yc__coro *co;
    yc_exc *exc;        /* the exception in flight in this block, owned */
    yc_exc *saved_info; /* exception being handled when the block began */
    /* releases what the construct owns when its generator is freed while
     * suspended inside it and will never run it again (NULL: nothing) */
    void (*abandon)(struct yc__try *t);
    int phase;
    void *frame;         /* the function's frame (YC_RETURN), or NULL */
    struct yc__ret *ret; /* a YC_RETURN passing through it, or NULL */
    jmp_buf jb;
} yc__try;

/* A YC_RETURN in progress: where it returns to and its value (after the
 * struct, copied with memcpy: any alignment). On the heap: the finally
 * blocks it runs reuse the stack below their frames. */
typedef struct yc__ret {
    jmp_buf jb;
    void *frame;
    size_t size;
} yc__ret;

#if defined(__GNUC__)
#  define YC__TRY_CLEANUP __attribute__((cleanup(yc__try_cleanup)))
#else
#  define YC__TRY_CLEANUP
#endif
/* A declaration that a nested use of the same macro repeats (YC_TRY in
 * YC_TRY, YC_WITH in YC_WITH): the inner one shadows the outer on purpose,
 * and -Wshadow is told so for that declaration only. */
#if defined(__GNUC__)
#  define YC__NOSHADOW(decl)                                                  \
    _Pragma("GCC diagnostic push")                                            \
    _Pragma("GCC diagnostic ignored \"-Wshadow\"")                             \
    decl                                                                      \
    _Pragma("GCC diagnostic pop")
#else
#  define YC__NOSHADOW(decl) decl
#endif

/* Each clause re-arms the jump buffer, so a raise inside an except or finally
 * block lands back in this construct (which then runs finally and
 * propagates); yc__try_catch refuses to catch twice in one construct. */
#if defined(__GNUC__)
#  define YC__FRAME() __builtin_frame_address(0)
#else
#  define YC__FRAME() NULL
#endif

#define YC_TRY                                                                \
    {                                                                         \
        YC__NOSHADOW(yc__try yc__t YC__TRY_CLEANUP;)                          \
        yc__try_push(&yc__t);                                                 \
        yc__t.frame = YC__FRAME();                                            \
        if (setjmp(yc__t.jb) == 0) {
#define YC_EXCEPT(type)                                                       \
            yc__try_done(&yc__t);                                             \
        } else if (yc__try_catch(&yc__t, (type)) && setjmp(yc__t.jb) == 0) {
#define YC_EXCEPT_ANY YC_EXCEPT(&yc_BaseException)
/* except (A, B, ...): YC_EXCEPT_TYPES(&yc_KeyError, &yc_IndexError) catches
 * an instance of any of the types listed (at least one). */
#define YC_EXCEPT_TYPES(...)                                                  \
            yc__try_done(&yc__t);                                             \
        } else if (yc__try_catch_types(&yc__t, (const yc_exc_type *const[]){__VA_ARGS__, NULL}) \
                   && setjmp(yc__t.jb) == 0) {
#define YC_FINALLY                                                            \
            yc__try_done(&yc__t);                                             \
        }                                                                     \
        if (yc__try_finally(&yc__t) && setjmp(yc__t.jb) == 0) {
#define YC_END                                                                \
            yc__try_done(&yc__t);                                             \
        }                                                                     \
        yc__try_end(&yc__t);                                                  \
    }                                                                         \
    do {} while (0)

#if defined(__GNUC__)
#  define YC_RETURN(expr)                                                     \
    do {                                                                      \
        __typeof__(expr) yc__rv = (expr);                                     \
        if (setjmp(yc__ret_prep(&yc__rv, sizeof yc__rv, YC__FRAME())->jb) == 0) \
            yc__try_return();                                                 \
        yc__ret_value(&yc__rv, sizeof yc__rv);                                \
        return yc__rv;                                                        \
    } while (0)
#  define YC_RETURN_VOID()                                                    \
    do {                                                                      \
        if (setjmp(yc__ret_prep(NULL, 0, YC__FRAME())->jb) == 0)              \
            yc__try_return();                                                 \
        yc__ret_value(NULL, 0);                                               \
        return;                                                               \
    } while (0)
#endif

/* ======================================================================
 * Iterators
 * ==================================================================== */

typedef struct yc_iter yc_iter;

/* The operations of an iterator. Only next is required; a NULL send, throw or
 * close means the iterator has none (yield from then behaves as PEP 380 says
 * for such subiterators). Each returns YC_YIELD with *out set, YC_RETURN with
 * *out the return value (None for plain iterators), or a negative status with
 * the error indicator set (yc_err_set). They must not jump. throw takes e.
 * close returns YC_OK (with *out the return value, if out is not NULL).
 * next_batch (optional, NULL: none) is the block path: yc_iter_next_batch
 * calls it with the contract stated there. Fill the struct with designated
 * initialisers ({.name = "x", .next = x_next}), not positionally.
 * size: the struct's size as the type was built, so that later versions can
 * add fields at the end without breaking binaries built against this
 * header: 0 (what a designated initialiser leaves) means this version's
 * layout; a type that sets a field added after 0.1 must set .size =
 * sizeof(yc_iter_type). Checked at use (yc_iter_next, yc_iter_send,
 * yc_iter_throw, yc_iter_close, yc_iter_next_batch): a size below this
 * layout's, or a larger one (a newer header) whose extra fields are not all
 * zero, fails with YC_EINVAL and a TypeError naming the type and both
 * sizes (docs/design.md, "Versions and the ABI"). */
typedef struct yc_iter_type {
    const char *name; /* for messages: "list_iterator", "generator", ... */
    int (*next)(yc_iter *it, yc_val *out);
    int (*send)(yc_iter *it, yc_val v, yc_val *out);
    int (*throw_)(yc_iter *it, yc_exc *e, yc_val *out);
    int (*close)(yc_iter *it, yc_val *out);
    void (*free)(yc_iter *it); /* NULL: yc_iter_free does nothing */
    int (*next_batch)(yc_iter *it, yc_val *buf, size_t cap, size_t *n);
    size_t size; /* 0, or sizeof(yc_iter_type) as built (above) */
    /* Added after 0.1 (read only when size covers it): reserved for the
     * library's own types, which it marks here; leave it 0. */
    unsigned flags;
} yc_iter_type;

/* Embed as the first member of your iterator struct. */
struct yc_iter {
    const yc_iter_type *type;
};

/* Dispatch to the type's operation. it NULL -> YC_EINVAL; a type without
 * next -> YC_EINVAL, TypeError "'NAME' object is not an iterator". A missing
 * operation: send -> AttributeError, throw -> the exception is raised as
 * is (YC_RAISE, e taken), close -> YC_OK. out may be NULL. */
YC_API int yc_iter_next(yc_iter *it, yc_val *out);
YC_API int yc_iter_send(yc_iter *it, yc_val v, yc_val *out);
YC_API int yc_iter_throw(yc_iter *it, yc_exc *e, yc_val *out);
YC_API int yc_iter_close(yc_iter *it, yc_val *out);
/* The block path of lazy pipelines (yieldc/iter.h): stores up to cap values
 * (cap >= 1) in buf and their count in *n, as that many calls of next would,
 * and returns YC_YIELD (*n >= 1; more may follow), or YC_RETURN or a
 * negative status: the iterator ended or failed after the *n values stored
 * (*n may be 0; on an error, values consumed before it may be dropped). The
 * return value of YC_RETURN is not reported. Every value of one batch stays
 * valid until the iterator is pulled again. An iterator whose type has
 * next_batch gets one call of it (*n is 0 on entry; the sources and stages
 * of yieldc/iter.h have one), which must keep this contract: YC_YIELD with
 * *n of 0, or *n above cap, fails with RuntimeError instead. Any other
 * iterator gets one call of next (*n is 1 on YC_YIELD, else 0). it NULL,
 * buf NULL, n NULL or cap 0: YC_EINVAL (TypeError / ValueError), *n = 0
 * when n is not NULL. */
YC_API int yc_iter_next_batch(yc_iter *it, yc_val *buf, size_t cap, size_t *n);
/* Releases an iterator (for a generator: yc_gen_free). NULL is ignored. */
YC_API void yc_iter_free(yc_iter *it);

/* An iterator over an array of values (type name "list_iterator"; next
 * only). Borrows items, which must outlive it. Returns NULL with
 * MemoryError pending when allocation fails, or TypeError when items is
 * NULL and n > 0. Free with yc_iter_free. */
YC_API yc_iter *yc_iter_array(const yc_val *items, size_t n);

/* for (v in it): declares `yc_val var` in the loop; `st` (an int lvalue)
 * receives YC_RETURN on exhaustion or a negative status on error (the loop
 * stops; nothing jumps). After `break`, st is YC_YIELD. */
#define YC_FOREACH(var, it, st)                                               \
    for (yc_val var; ((st) = yc_iter_next((it), &var)) == YC_YIELD;)

/* ======================================================================
 * Generators
 * ==================================================================== */

typedef struct yc_gen yc_gen;

/* A generator function: runs on the generator's own stack; yields with
 * yc_yield(); its return value is StopIteration's value. */
typedef yc_val (*yc_gen_fn)(void *arg);

typedef enum yc_gen_state {
    YC_GEN_CREATED = 0,
    YC_GEN_RUNNING,
    YC_GEN_SUSPENDED,
    YC_GEN_CLOSED
} yc_gen_state;

typedef struct yc_gen_opts {
    const char *name;  /* for messages and tracebacks; copied. NULL: "generator" */
    size_t stack_size; /* bytes of stack; 0: the default (YC_STACK_DEFAULT) */
    unsigned flags;    /* YC_GEN_* below, or 0 */
} yc_gen_opts;

/* flags: the generator promises to leave the floating-point control state
 * (the rounding mode, exception masks, flush-to-zero; on x86-64 MXCSR and
 * the x87 control word) as it finds it at every resume. Its round trips may
 * then skip saving and restoring that state, so that it runs with its
 * resumer's: the x86-64 assembly fast paths of yc_next, yc_send and
 * yc_yield do (the save is about 40% of a round trip there); every other
 * switch, and every other build, keeps each side's own state as without
 * the flag. A generator that breaks the promise may change its resumer's
 * rounding, or not see its own again. Any other bit: ValueError. */
#define YC_GEN_SHARE_FPENV 1u

/* Creates a generator that will run fn(arg); runs nothing (state CREATED).
 * arg is borrowed: it must stay valid while the generator can run. opts may
 * be NULL. Returns NULL with an exception pending on failure: TypeError
 * (fn is NULL), ValueError (stack_size out of range, or an unknown bit in
 * flags) or OSError with the
 * errno (the stack could not be mapped). Allocates no heap memory. */
YC_API yc_gen *yc_gen_new(yc_gen_fn fn, void *arg, const yc_gen_opts *opts);

/* Frees g. A suspended generator is closed first, so its finally blocks
 * run; a failure there goes to the unraisable hook. Returns YC_OK, YC_EBUSY
 * (g is running: nothing done) or YC_EINVAL (NULL, or a freed generator
 * where that is detectable). */
YC_API int yc_gen_free(yc_gen *g);

/* next(g): YC_YIELD with *out the yielded value, YC_RETURN with *out the
 * return value (exactly once; None afterwards), YC_RAISE when the body
 * raised (g is closed), YC_EBUSY when g is running, YC_EINVAL for NULL.
 * out may be NULL. */
YC_API int yc_next(yc_gen *g, yc_val *out);
/* g.send(v): as yc_next, the current yield returning v. A non-None v into a
 * created generator is YC_EINVAL (TypeError) and g stays created. */
YC_API int yc_send(yc_gen *g, yc_val v, yc_val *out);
/* g.throw(e): raises e (taken, even on failure) at the suspension point.
 * Returns as yc_send. On a created or closed generator e propagates at once
 * (YC_RAISE, closed). e NULL or not an exception: YC_EINVAL (TypeError). */
YC_API int yc_throw(yc_gen *g, yc_exc *e, yc_val *out);
/* g.close(): raises GeneratorExit at the suspension point. YC_OK when the
 * generator ended (*out: its return value if it caught GeneratorExit and
 * returned, None otherwise), YC_RAISE with RuntimeError "generator ignored
 * GeneratorExit" when it yielded (it stays suspended), or with the exception
 * it raised. On created or closed generators: YC_OK, nothing runs. */
YC_API int yc_close(yc_gen *g, yc_val *out);

YC_API yc_gen_state yc_gen_state_of(const yc_gen *g);
YC_API const char *yc_gen_state_name(yc_gen_state s); /* "GEN_CREATED", ... */
YC_API const char *yc_gen_name(const yc_gen *g);      /* borrowed from g */
/* The subiterator g delegates to while suspended in yc_yield_from, else
 * NULL (gi_yieldfrom). Borrowed. */
YC_API yc_iter *yc_gen_yieldfrom(const yc_gen *g);
YC_API size_t yc_gen_stack_size(const yc_gen *g);
/* g as an iterator (borrowed from g; freeing it frees g). */
YC_API yc_iter *yc_gen_iter(yc_gen *g);
/* The generator currently running on this thread, or NULL. */
YC_API yc_gen *yc_gen_current(void);

/* Inside a generator body -------------------------------------------- */

/* Suspends the current generator, handing v to its resumer. Returns the
 * value sent in (None for next). If resumed by throw or close, raises that
 * exception here instead. Outside a generator: raises RuntimeError. */
#define yc_yield(v) yc__yield((v), __FILE__, __LINE__)
/* PEP 380 delegation to it (borrowed; must outlive the call): forwards
 * next/send/throw/close, and returns it's return value. Raises what it
 * raises. */
#define yc_yield_from(it) yc__yield_from((it), __FILE__, __LINE__)

/* ======================================================================
 * Hooks and configuration
 * ==================================================================== */

/* Called when an exception cannot propagate (a failing close while a
 * generator is freed). obj describes the object ("<generator object g at
 * 0x...>"); e is borrowed. Default: CPython's "Exception ignored in:"
 * message on stderr. NULL restores the default. Process-wide. */
typedef void (*yc_unraisable_hook)(yc_exc *e, const char *obj, void *ud);
YC_API void yc_set_unraisable_hook(yc_unraisable_hook fn, void *ud);

/* Called when yc_raise finds no handler outside any generator. Must not
 * return: if it does, e is printed to stderr and abort() follows. Default:
 * flush every stdio stream (fflush(NULL)), print e and abort(). */
typedef void (*yc_fatal_hook)(yc_exc *e, void *ud);
YC_API void yc_set_fatal_hook(yc_fatal_hook fn, void *ud);

/* The allocator for everything yieldc allocates except stacks (mmap):
 * fn(ud, p, n) behaves like realloc(p, n), and like free(p) when n == 0
 * (returning NULL). Set it before creating anything. NULL restores malloc.
 * A block is resized and freed by the allocator set at that moment, so a
 * change while objects exist is only safe between allocators over the same
 * heap (wrappers of malloc, as for fault injection); yieldc cannot tell.
 * Process-wide and not synchronized: not while other threads use yieldc. */
typedef void *(*yc_alloc_fn)(void *ud, void *p, size_t n);
YC_API void yc_set_allocator(yc_alloc_fn fn, void *ud);

/* Live object counts, for leak checks. Generators, tasks, stacks and
 * chunks are counted for the calling thread plus threads that exited;
 * exceptions and loops process-wide. Stacks are carved from chunks (one mmap holding up to 64
 * stacks of one size; docs/design.md, "Stacks"): a stack counts from its
 * first use until its memory is given back. */
typedef struct yc_stats {
    long generators;    /* created and not yet freed */
    long exceptions;    /* live exception objects */
    long stacks_mapped; /* stacks in use, plus free ones keeping their memory */
    long stacks_pooled; /* free stacks keeping their memory in this thread's
                           chunks, for reuse without a system call */
    long tasks;         /* live task and future objects (yieldc/loop.h) */
    long loops;         /* live event loops */
    long stack_chunks;  /* mappings holding stacks: chunks, and stacks too
                           large for chunks, each mapped alone */
} yc_stats;
YC_API void yc_stats_get(yc_stats *out);
/* Gives back the memory of the calling thread's free stacks: unmaps its
 * chunks with no stack in use, and releases the pages of the free stacks
 * of the others (MADV_DONTNEED, batched). Afterwards stacks_pooled is 0.
 * A thread's free stacks are also given back when it exits. */
YC_API void yc_stack_pool_trim(void);
/* Gives back the pages of g's stack below what g uses now: for a created
 * or suspended generator, everything more than 512 bytes below its saved
 * stack pointer, rounded down to a page (one madvise MADV_DONTNEED; the
 * pages come back, zeroed, if g runs that deep again); for a closed one
 * not yet freed, everything below its header. Works on a generator of
 * any thread (it is claimed meanwhile, as a resume claims it: a resume
 * from elsewhere at that moment gets "generator already executing").
 * Borrows g. *released (if not NULL) gets the bytes of the range given
 * back, resident or not (0 when there was nothing to give back). Returns
 * YC_OK; YC_EINVAL with TypeError (g NULL) or ValueError (not a live
 * generator); YC_EBUSY with ValueError "generator already executing" (g
 * running, e.g. trimming itself) or RuntimeError (a task's generator
 * parked in an await). A stack freed to the pool also gives back what lay
 * below its top 4 pages when its generator ran deeper, once its size
 * keeps 4 free stacks that did (docs/design.md, "Stacks"). */
YC_API int yc_gen_stack_trim(yc_gen *g, size_t *released);

/* The configuration, e.g. "switch=x86_64-sysv fast_path=1
 * stack_default=262144 stack_pool_max=64 stack_chunk_slots=64
 * stack_chunk_bytes=16777216 stack_classes=4 stack_guard=region
 * stack_batch=pidfd_self claim=biased asan=0 tsan=0 valgrind=1": build
 * options (fast_path=1: the assembly fast paths of yc_next, yc_send and
 * yc_yield; the stack_ options: chunks of at most stack_chunk_slots stacks
 * and about stack_chunk_bytes, chunks for up to stack_classes sizes per
 * thread, at most stack_pool_max free stacks kept per size), how this
 * kernel lets us make guard pages (region or mprotect) and whether it
 * advises many ranges in one call (stack_batch: pidfd_self or pidfd_open,
 * process_madvise on ourselves; none: one madvise per range), and whether
 * generators get the biased claim
 * (biased: the x86-64 fast path with the membarrier system call; cas
 * otherwise, or with the environment variable YC_NO_BIAS=1), and the
 * event loop's I/O backend (io=io_uring, or io=epoll io_uring=WHY:
 * docs/io.md, "Backends"). Static string. */
YC_API const char *yc_config(void);

#ifndef YC_STACK_DEFAULT
#  define YC_STACK_DEFAULT (256u * 1024u)
#endif
#define YC_STACK_MIN (16u * 1024u)

/* ======================================================================
 * Sub-APIs
 * ==================================================================== */

#include "yieldc/with.h" /* context managers */
#include "yieldc/iter.h" /* lazy pipelines */
#include "yieldc/loop.h" /* the event loop: tasks, time, queues, locks */
#include "yieldc/io.h"   /* descriptors and sockets for tasks */
#include "yieldc/thread.h" /* the loop's thread pool, files, names, signals */
#include "yieldc/subprocess.h" /* child processes with pipes as streams */
#include "yieldc/dense.h" /* stackless generators */

/* ======================================================================
 * Private: used by the macros above
 * ==================================================================== */

YC_API YC_NORETURN void yc__raise(yc_exc *e, const char *file, int line, const char *func);
YC_API YC_NORETURN void yc__raise_from(yc_exc *e, yc_exc *cause, const char *file, int line,
                                       const char *func);
YC_API YC_NORETURN void yc__reraise(const char *file, int line, const char *func);
YC_API YC_NORETURN void yc__err_raise(const char *file, int line, const char *func);
YC_API yc_val yc__yield(yc_val v, const char *file, int line);
YC_API yc_val yc__yield_from(yc_iter *it, const char *file, int line);
YC_API void yc__try_push(yc__try *t);
YC_API int yc__try_catch(yc__try *t, const yc_exc_type *type);
YC_API int yc__try_catch_types(yc__try *t, const yc_exc_type *const *types);
YC_API void *yc__check_ptr(void *p, const char *file, int line, const char *func);
YC_API void yc__try_done(yc__try *t);
YC_API int yc__try_finally(yc__try *t);
YC_API void yc__try_end(yc__try *t);
YC_API void yc__try_cleanup(yc__try *t);
YC_API yc__ret *yc__ret_prep(const void *val, size_t size, void *frame);
YC_API void yc__try_return(void);
YC_API void yc__ret_value(void *dst, size_t size);
/* Test hooks, for yieldc's own tests only: declared when YC_TEST_HOOKS is
 * defined (the test build defines it), never exported from the shared
 * library (hidden), so a program can reach them only by linking the static
 * library. */
#ifdef YC_TEST_HOOKS
#  define YC__TEST_HOOK __attribute__((visibility("hidden")))
/* Test hook: the nth system call mapping a stack from now on (mmap, or the
 * madvise or mprotect making its guard page) fails with ENOMEM; 0
 * disables. */
YC__TEST_HOOK void yc__fault_map_after(long n);
/* Test hook: the nth munmap of a stack from now on fails with ENOMEM (as at
 * the vm.max_map_count limit); 0 disables. */
YC__TEST_HOOK void yc__fault_unmap_after(long n);
/* Test hook: the bytes a generator with a stack of stack_size bytes (0:
 * the default) takes in a chunk (its guard page, stack and header, in whole
 * pages: the header's size differs with the switch and the target), and in
 * *per_chunk (when not NULL) how many a chunk holds (0: mapped alone). */
YC__TEST_HOOK size_t yc__gen_slot_bytes(size_t stack_size, int *per_chunk);
/* Test hooks: how stack guard pages are made, 1 (YC__GUARD_REGION) a guard
 * region in the page tables (madvise MADV_GUARD_INSTALL, Linux 6.13+: no
 * extra mapping) or 2 (YC__GUARD_MPROTECT) a PROT_NONE page (a mapping of
 * its own). _kind finds out on first use; _force sets it for stacks mapped
 * from now on (0: find out again). */
#define YC__GUARD_REGION 1
#define YC__GUARD_MPROTECT 2
YC__TEST_HOOK int yc__stack_guard_kind(void);
YC__TEST_HOOK void yc__stack_guard_force(int kind);
/* Test hooks: how the guard pages of a chunk (and the release of many free
 * stacks) are batched: 1 (YC__BATCH_PIDFD_SELF) one process_madvise with
 * the PIDFD_SELF sentinel (Linux 6.15+), 2 (YC__BATCH_PIDFD_OPEN) the same
 * through a pidfd opened for the call (6.13+), 3 (YC__BATCH_NONE) one
 * madvise per range. _kind finds out on first use; _force sets it (0:
 * find out again). */
#define YC__BATCH_PIDFD_SELF 1
#define YC__BATCH_PIDFD_OPEN 2
#define YC__BATCH_NONE 3
YC__TEST_HOOK int yc__stack_batch_kind(void);
YC__TEST_HOOK void yc__stack_batch_force(int kind);
/* Test hooks: the biased claim (docs/design.md). _kind: 1 if generators
 * created now get a bias, else 2. _force: 1 bias every new generator (no
 * revocation limit), 2 none, 0 back to the default (find out again, with
 * YC_NO_BIAS from the environment as it is now). */
YC__TEST_HOOK int yc__bias_kind(void);
YC__TEST_HOOK void yc__bias_force(int mode);
/* Test hooks: fault injection for descriptor I/O (include/yieldc/io.h).
 * yc__io_fault(op, count, err, short_to): the next count system calls of
 * kind op (-1: every one until yc__io_fault_reset; 0: none) fail with
 * errno err without being made, or, when err is 0, are made with their
 * length cut to short_to bytes (1 when 0; readv/writev: the first buffer
 * only). _calls: how many calls of kind op were made or faulted since the
 * last reset. _reset disarms every fault and zeroes the counts. */
#define YC__IOF_READ 0     /* read, readv (yc_io_read*, stream reads) */
#define YC__IOF_WRITE 1    /* write/send, writev/sendmsg, stream writes */
#define YC__IOF_ACCEPT 2
#define YC__IOF_CONNECT 3
#define YC__IOF_SENDTO 4
#define YC__IOF_RECVFROM 5
#define YC__IOF_KINDS 6
YC__TEST_HOOK void yc__io_fault(int op, long count, int err, size_t short_to);
YC__TEST_HOOK long yc__io_fault_calls(int op);
YC__TEST_HOOK void yc__io_fault_reset(void);
/* Test hook: the probe that chooses the I/O backend (docs/io.md) sees the
 * ring's setup fail with errno err (EPERM as under seccomp or
 * kernel.io_uring_disabled, ENOSYS as on an old kernel), as if the kernel
 * refused it; 0 restores the real setup. The choice is made again at the
 * next loop (yc_config() keeps what it said first). */
YC__TEST_HOOK void yc__io_uring_refuse(int err);
/* Test hook: how long yc_stream_serve waits before accepting again after
 * accept ran out of a resource (EMFILE, ENFILE, ENOBUFS, ENOMEM); < 0
 * restores the default (1 second, asyncio's ACCEPT_RETRY_DELAY). */
YC__TEST_HOOK void yc__stream_accept_retry_delay(double seconds);
#endif /* YC_TEST_HOOKS */

#ifdef __cplusplus
}
#endif
#endif /* YIELDC_H */
