/*
 * yieldc side of the event loop differential test (README.md beside this
 * file).
 *
 *   runner_loop [FILE...]       (stdin when no FILE)
 *   runner_loop --features      the optional steps this build can run
 *
 * Reads loop scenarios, runs each one with yc_loop_run on the virtual
 * clock and prints the same trace as oracle_loop.py does with asyncio.
 * Every task body (and the main body) is a tree of steps interpreted on
 * the task's own stack; an agen body is interpreted inside a yieldc
 * generator that a task iterates (anext = yc_next, athrow = yc_throw,
 * aclose = yc_close) and that may sleep and await like the task: yieldc
 * parks the whole chain. Only the public API is used.
 *
 * A `ret` travels as a control code through normal completion of the C
 * blocks, so finally blocks and timeout exits run where Python runs them;
 * a `ret` leaving a finally block leaves the construct with goto, which
 * drops the exception in flight as Python's return-in-finally does.
 *
 * After each scenario the runner checks yc_stats: a task, generator,
 * exception or loop still alive is reported on stderr as "LEAK <id> ...".
 */
#include <yieldc.h>

#include <math.h>

YC_EXC_TYPE(UserError, yc_Exception);

#include "sx.h"

/* Queues and synchronisation primitives: CMake defines YC_LOOPDIFF_SYNC
 * when the library has them (src/queue.c and src/locks.c). */
#ifndef YC_LOOPDIFF_SYNC
#  define YC_LOOPDIFF_SYNC 0
#endif
#if YC_LOOPDIFF_SYNC
#  define YC_LOOPDIFF_SYNC_FEATURES " queue lock event semaphore"
#else
#  define YC_LOOPDIFF_SYNC_FEATURES ""
#endif

/* ======================================================================
 * Scenarios
 * ==================================================================== */

enum ctl { CTL_NORMAL, CTL_RETURN };

enum step_kind {
    ST_NOP, ST_YIELD, ST_RET, ST_RAISE, ST_RERAISE, ST_INFO, ST_TRY, ST_SPAWN, ST_SLEEP,
    ST_AWAIT, ST_CANCEL, ST_UNCANCEL, ST_CANCELLING, ST_STATE, ST_RESULT, ST_EXCEPTION,
    ST_TIMEOUT, ST_MKTIMEOUT, ST_RESCHEDULE, ST_EXPIRED, ST_TREPR, ST_WAIT_FOR, ST_SHIELD,
    ST_GATHER, ST_WAIT, ST_AS_COMPLETED, ST_ANEXT, ST_ATHROW, ST_ACLOSE, ST_ASTATE,
    ST_TASKGROUP, ST_TGSPAWN, ST_MKTASKGROUP, ST_SYNC_WAIT, ST_SYNC, ST_SYNC_WITH
};

#define MAX_EXCEPT 4
#define SYM_CUR (-1) /* the current task (uncancel, cancelling) */

struct step;
typedef struct block {
    struct step *v;
    int n;
} block;

typedef struct step {
    int kind;
    int sym;                 /* the named object: task, gather, timeout, agen */
    int64_t num;             /* ms, exception tag, value, finally id */
    bool none;               /* ms or value is none */
    bool flag;               /* spawn eager, gather rex, timeout_at */
    const yc_exc_type *type; /* raise, athrow */
    const char *msg;         /* cancel message (borrowed from the form) */
    int mode;                /* wait's return_when; the op of a sync step */
    int *list;               /* gather, wait, as_completed: symbols */
    int nlist;
    block body;              /* try, timeout */
    int nexc;
    const yc_exc_type *exc_type[MAX_EXCEPT];
    block handler[MAX_EXCEPT];
    bool has_fin;
    block fin;
} step;

enum sym_kind { SK_NAME, SK_MAIN, SK_TASK, SK_AGEN, SK_QUEUE, SK_LOCK, SK_EVENT, SK_SEMAPHORE };

typedef struct sym {
    char *name;
    int kind;
    block body;              /* main, task, agen */
    yc_task *fut;            /* the spawned task or gather future (referenced) */
    int *children;           /* a gather future's: symbols, in argument order */
    int nchildren;
    yc_gen *gen;             /* an agen's generator */
    yc_cm *cm;               /* a timeout made under this name: its manager */
    yc_cm *tg;               /* a task group made under this name: its manager */
    void *obj;               /* a queue, lock, event or semaphore (declared) */
    int64_t arg1;            /* its maxsize or value */
    int arg2;                /* its kind (queue), bounded (semaphore) */
    yc_timeout *tm;          /* ... and the timeout (referenced) */
    yc_val ret;              /* the value of a `ret` on its way out */
    bool unretrieved;        /* reported when released at the end */
    struct scenario *sc;
} sym;

typedef struct scenario {
    char *id;
    sym *syms;
    int nsyms, capsyms;
    int *created;            /* futures (tasks, gathers) in creation order */
    int ncreated;
    yc_loop *loop;           /* while it runs */
} scenario;

static int leaks;

static const struct {
    const char *name;
    const yc_exc_type *t;
} type_table[] = {
    {"BaseException", &yc_BaseException},   {"Exception", &yc_Exception},
    {"ValueError", &yc_ValueError},         {"KeyError", &yc_KeyError},
    {"LookupError", &yc_LookupError},       {"TypeError", &yc_TypeError},
    {"RuntimeError", &yc_RuntimeError},     {"UserError", &UserError},
    {"CancelledError", &yc_CancelledError}, {"TimeoutError", &yc_TimeoutError},
    {"InvalidStateError", &yc_InvalidStateError},
    {"StopAsyncIteration", &yc_StopAsyncIteration},
    {"GeneratorExit", &yc_GeneratorExit},   {"SystemExit", &yc_SystemExit},
    {"KeyboardInterrupt", &yc_KeyboardInterrupt},
    {"ExceptionGroup", &yc_ExceptionGroup}, {"BaseExceptionGroup", &yc_BaseExceptionGroup},
    {"QueueEmpty", &yc_QueueEmpty},         {"QueueFull", &yc_QueueFull},
    {"QueueShutDown", &yc_QueueShutDown},
};

static const yc_exc_type *type_of(const sx *x)
{
    if (x && x->kind == SX_SYM)
        for (size_t i = 0; i < sizeof type_table / sizeof type_table[0]; i++)
            if (strcmp(type_table[i].name, x->sym) == 0) return type_table[i].t;
    die("unknown exception type");
}

static int64_t int_of(const sx *x)
{
    if (x && x->kind == SX_INT) return x->i;
    die("expected an integer");
}

static const sx *arg(const sx *x, int i)
{
    if (i >= x->n) die("missing argument");
    return x->v[i];
}

/* The symbol named by x, made on first use. */
static int sym_of(scenario *sc, const sx *x)
{
    if (!x || x->kind != SX_SYM) die("scenario %s: expected a name", sc->id);
    for (int i = 0; i < sc->nsyms; i++)
        if (strcmp(sc->syms[i].name, x->sym) == 0) return i;
    if (sc->nsyms == sc->capsyms) {
        sc->capsyms = sc->capsyms ? sc->capsyms * 2 : 16;
        sc->syms = xrealloc(sc->syms, (size_t)sc->capsyms * sizeof *sc->syms);
    }
    sym *y = &sc->syms[sc->nsyms];
    memset(y, 0, sizeof *y);
    y->name = strdup(x->sym);
    y->sc = sc;
    return sc->nsyms++;
}

/* A duration in ms, or none. */
static void ms_of(step *s, const sx *x)
{
    s->none = x->kind == SX_NONE;
    if (!s->none) s->num = int_of(x);
}

static void list_of(scenario *sc, step *s, const sx *x)
{
    if (x->kind != SX_LIST) die("expected a list of names");
    s->nlist = x->n;
    s->list = xmalloc((size_t)(x->n + 1) * sizeof *s->list);
    for (int i = 0; i < x->n; i++) s->list[i] = sym_of(sc, x->v[i]);
}

static void compile_block(scenario *sc, block *b, sx *const *v, int n);

/* The steps of queues, locks, events and semaphores (feature "sync"):
 * waiting ones first, then the others, then the managers. */
enum {
    OP_PUT, OP_GET, OP_JOIN, OP_ACQUIRE, OP_EWAIT, OP_SACQUIRE, OP_WAITING_END,
    OP_PUT_NOWAIT = OP_WAITING_END, OP_GET_NOWAIT, OP_TASK_DONE, OP_QSHUTDOWN, OP_QSIZE,
    OP_RELEASE, OP_LOCKED, OP_ESET, OP_ECLEAR, OP_IS_SET, OP_SRELEASE, OP_SLOCKED,
    OP_WITHLOCK, OP_WITHSEM, OP_SYNC_END
};
static const char *const sync_names[] = {
    "put", "get", "join", "acquire", "ewait", "sacquire", "put_nowait", "get_nowait",
    "task_done", "qshutdown", "qsize", "release", "locked", "eset", "eclear", "is_set",
    "srelease", "slocked", "withlock", "withsem",
};

static int sync_op(const char *k)
{
    for (int i = 0; i < OP_SYNC_END; i++)
        if (!strcmp(k, sync_names[i])) return i;
    return -1;
}

static const struct {
    const char *name;
    int kind;
} simple_steps[] = {
    {"await", ST_AWAIT},     {"uncancel", ST_UNCANCEL}, {"cancelling", ST_CANCELLING},
    {"state", ST_STATE},     {"result", ST_RESULT},     {"exception", ST_EXCEPTION},
    {"expired", ST_EXPIRED}, {"trepr", ST_TREPR},       {"shield", ST_SHIELD},
    {"anext", ST_ANEXT},     {"aclose", ST_ACLOSE},     {"astate", ST_ASTATE},
};

static void compile_step(scenario *sc, step *s, const sx *x)
{
    if (x->kind != SX_LIST || x->n == 0 || x->v[0]->kind != SX_SYM) die("bad step");
    const char *k = x->v[0]->sym;
    for (size_t i = 0; i < sizeof simple_steps / sizeof simple_steps[0]; i++) {
        if (strcmp(k, simple_steps[i].name)) continue;
        s->kind = simple_steps[i].kind;
        s->sym = is_sym(arg(x, 1), "cur") ? SYM_CUR : sym_of(sc, arg(x, 1));
        return;
    }
    if (!strcmp(k, "y")) {
        s->kind = ST_YIELD;
        s->none = arg(x, 1)->kind == SX_NONE;
        if (!s->none) s->num = int_of(x->v[1]);
    } else if (!strcmp(k, "ret")) {
        s->kind = ST_RET;
        s->none = arg(x, 1)->kind == SX_NONE;
        if (!s->none) s->num = int_of(x->v[1]);
    } else if (!strcmp(k, "raise")) {
        s->kind = ST_RAISE;
        s->type = type_of(arg(x, 1));
        s->num = int_of(arg(x, 2));
    } else if (!strcmp(k, "reraise")) {
        s->kind = ST_RERAISE;
    } else if (!strcmp(k, "info")) {
        s->kind = ST_INFO;
    } else if (!strcmp(k, "try")) {
        s->kind = ST_TRY;
        const sx *body = arg(x, 1);
        if (body->kind != SX_LIST) die("try: body must be a list");
        compile_block(sc, &s->body, body->v, body->n);
        for (int i = 2; i < x->n; i++) {
            const sx *c = x->v[i];
            if (c->kind == SX_LIST && c->n >= 2 && is_sym(c->v[0], "exc")) {
                if (s->nexc == MAX_EXCEPT) die("try: more than %d except clauses", MAX_EXCEPT);
                s->exc_type[s->nexc] = type_of(c->v[1]);
                compile_block(sc, &s->handler[s->nexc], c->v + 2, c->n - 2);
                s->nexc++;
            } else if (c->kind == SX_LIST && c->n >= 2 && is_sym(c->v[0], "fin")) {
                s->has_fin = true;
                s->num = int_of(c->v[1]);
                compile_block(sc, &s->fin, c->v + 2, c->n - 2);
            } else {
                die("try: bad clause");
            }
        }
    } else if (!strcmp(k, "spawn")) {
        s->kind = ST_SPAWN;
        s->sym = sym_of(sc, arg(x, 1));
        s->flag = x->n > 2 && is_sym(x->v[2], "eager");
    } else if (!strcmp(k, "sleep")) {
        s->kind = ST_SLEEP;
        s->flag = is_sym(arg(x, 1), "nan"); /* sleep(NaN): ValueError */
        if (!s->flag) s->num = int_of(x->v[1]);
    } else if (!strcmp(k, "cancel")) {
        s->kind = ST_CANCEL;
        s->sym = sym_of(sc, arg(x, 1));
        if (x->n > 2) {
            if (x->v[2]->kind != SX_SYM) die("cancel: the message is a symbol");
            s->msg = x->v[2]->sym;
        }
    } else if (!strcmp(k, "timeout") || !strcmp(k, "timeout_at")) {
        s->kind = ST_TIMEOUT;
        s->flag = !strcmp(k, "timeout_at");
        s->sym = sym_of(sc, arg(x, 1));
        ms_of(s, arg(x, 2));
        compile_block(sc, &s->body, x->v + 3, x->n - 3);
    } else if (!strcmp(k, "mktimeout") || !strcmp(k, "reschedule") || !strcmp(k, "wait_for")) {
        s->kind = !strcmp(k, "mktimeout") ? ST_MKTIMEOUT : !strcmp(k, "reschedule") ? ST_RESCHEDULE
                                                                                    : ST_WAIT_FOR;
        s->sym = sym_of(sc, arg(x, 1));
        ms_of(s, arg(x, 2));
    } else if (!strcmp(k, "gather")) {
        s->kind = ST_GATHER;
        s->sym = is_sym(arg(x, 1), "-") ? SYM_CUR : sym_of(sc, x->v[1]);
        list_of(sc, s, arg(x, 2));
        s->flag = x->n > 3 && is_sym(x->v[3], "rex");
    } else if (!strcmp(k, "wait")) {
        s->kind = ST_WAIT;
        list_of(sc, s, arg(x, 1));
        const sx *m = arg(x, 2);
        s->mode = is_sym(m, "all") ? YC_ALL_COMPLETED : is_sym(m, "first") ? YC_FIRST_COMPLETED
                  : is_sym(m, "exc") ? YC_FIRST_EXCEPTION : (die("wait: bad mode"), 0);
        ms_of(s, arg(x, 3));
    } else if (!strcmp(k, "as_completed")) {
        s->kind = ST_AS_COMPLETED;
        list_of(sc, s, arg(x, 1));
        ms_of(s, arg(x, 2));
    } else if (!strcmp(k, "taskgroup")) {
        s->kind = ST_TASKGROUP;
        s->sym = sym_of(sc, arg(x, 1));
        compile_block(sc, &s->body, x->v + 2, x->n - 2);
    } else if (!strcmp(k, "mktaskgroup")) {
        s->kind = ST_MKTASKGROUP;
        s->sym = sym_of(sc, arg(x, 1));
    } else if (!strcmp(k, "tgspawn")) {
        s->kind = ST_TGSPAWN;
        s->sym = sym_of(sc, arg(x, 1));
        s->list = xmalloc(sizeof *s->list);
        s->list[0] = sym_of(sc, arg(x, 2));
        s->nlist = 1;
    } else if (sync_op(k) >= 0) {
        int op = sync_op(k);
        s->kind = op < OP_WAITING_END ? ST_SYNC_WAIT : op >= OP_WITHLOCK ? ST_SYNC_WITH : ST_SYNC;
        s->mode = op;
        s->sym = sym_of(sc, arg(x, 1));
        s->none = true;
        if ((op == OP_PUT || op == OP_PUT_NOWAIT) || (op == OP_QSHUTDOWN && x->n > 2)) {
            s->none = false;
            s->num = op == OP_QSHUTDOWN ? 1 : int_of(arg(x, 2));
        }
        if (op >= OP_WITHLOCK) compile_block(sc, &s->body, x->v + 2, x->n - 2);
    } else if (!strcmp(k, "athrow")) {
        s->kind = ST_ATHROW;
        s->sym = sym_of(sc, arg(x, 1));
        s->type = type_of(arg(x, 2));
        s->num = int_of(arg(x, 3));
    } else {
        die("unknown step %s", k);
    }
}

static void compile_block(scenario *sc, block *b, sx *const *v, int n)
{
    b->n = n;
    b->v = xmalloc((size_t)n * sizeof *b->v);
    for (int i = 0; i < n; i++) compile_step(sc, &b->v[i], v[i]);
}

static void block_free(block *b);

static void step_free(step *s)
{
    block_free(&s->body);
    for (int i = 0; i < s->nexc; i++) block_free(&s->handler[i]);
    block_free(&s->fin);
    free(s->list);
}

static void block_free(block *b)
{
    for (int i = 0; i < b->n; i++) step_free(&b->v[i]);
    free(b->v);
}

static scenario *compile_scenario(sx *x)
{
    if (x->kind != SX_LIST || x->n < 2 || !is_sym(x->v[0], "scn")) die("expected (scn ID ...)");
    scenario *sc = xmalloc(sizeof *sc);
    sbuf id = {0};
    sx_print(&id, x->v[1]);
    sc->id = id.s;
    /* the bodies' names first, so that steps can refer to any of them */
    for (int i = 2; i < x->n; i++) {
        const sx *f = x->v[i];
        if (f->kind != SX_LIST || f->n < 1) die("bad scenario part");
        if (is_sym(f->v[0], "main")) {
            int k = sym_of(sc, &(sx){.kind = SX_SYM, .sym = "main"});
            sc->syms[k].kind = SK_MAIN;
        } else if (is_sym(f->v[0], "task") || is_sym(f->v[0], "agen")) {
            int k = sym_of(sc, arg(f, 1));
            sym *y = &sc->syms[k];
            if (y->kind != SK_NAME) die("scenario %s: %s defined twice", sc->id, y->name);
            y->kind = is_sym(f->v[0], "task") ? SK_TASK : SK_AGEN;
        } else if (is_sym(f->v[0], "queue") || is_sym(f->v[0], "lock") ||
                   is_sym(f->v[0], "event") || is_sym(f->v[0], "semaphore")) {
            int k = sym_of(sc, arg(f, 1));
            sym *y = &sc->syms[k];
            const char *w = f->v[0]->sym;
            y->kind = w[0] == 'q' ? SK_QUEUE : w[0] == 'l' ? SK_LOCK : w[0] == 'e' ? SK_EVENT
                                                                        : SK_SEMAPHORE;
            if (y->kind == SK_QUEUE || y->kind == SK_SEMAPHORE) y->arg1 = int_of(arg(f, 2));
            if (f->n > 3) y->arg2 = is_sym(f->v[3], "lifo") ? YC_QUEUE_LIFO
                                   : is_sym(f->v[3], "prio") ? YC_QUEUE_PRIORITY : 1;
        } else if (!is_sym(f->v[0], "flags")) {
            die("scenario %s: unknown part", sc->id);
        }
    }
    for (int i = 2; i < x->n; i++) {
        sx *f = x->v[i];
        if (!is_sym(f->v[0], "main") && !is_sym(f->v[0], "task") && !is_sym(f->v[0], "agen"))
            continue; /* flags, declarations */
        bool m = is_sym(f->v[0], "main");
        int k = m ? sym_of(sc, &(sx){.kind = SX_SYM, .sym = "main"}) : sym_of(sc, f->v[1]);
        block b; /* compiled aside: steps may add symbols (sc->syms moves) */
        compile_block(sc, &b, f->v + (m ? 1 : 2), f->n - (m ? 1 : 2));
        sc->syms[k].body = b;
    }
    sc->created = xmalloc((size_t)(sc->nsyms + 1) * sizeof *sc->created);
    return sc;
}

static void scenario_free(scenario *sc)
{
    for (int i = 0; i < sc->nsyms; i++) {
        block_free(&sc->syms[i].body);
        free(sc->syms[i].children);
        free(sc->syms[i].name);
    }
    free(sc->syms);
    free(sc->created);
    free(sc->id);
    free(sc);
}

/* ======================================================================
 * The trace
 * ==================================================================== */

static sbuf out;     /* the current scenario's trace */
static bool quiet;   /* after the trace: nothing more is written */

YC_PRINTF(1, 2) static void trace(const char *fmt, ...)
{
    if (quiet) return;
    va_list ap;
    va_start(ap, fmt);
    sb_addv(&out, fmt, ap);
    va_end(ap);
    sb_add(&out, "\n");
}

static long now_ms(const scenario *sc)
{
    return sc->loop ? (long)llround(yc_loop_time(sc->loop) * 1000) : -1;
}

/* A line of the body of `self`: "  @T NAME text". */
YC_PRINTF(2, 3) static void tlog(const sym *self, const char *fmt, ...)
{
    if (quiet) return;
    sb_add(&out, "  @%ld %s ", now_ms(self->sc), self->name);
    va_list ap;
    va_start(ap, fmt);
    sb_addv(&out, fmt, ap);
    va_end(ap);
    sb_add(&out, "\n");
}

static void fv(sbuf *b, yc_val v)
{
    switch (yc_type_of(v)) {
    case YC_T_NONE: sb_add(b, "None"); break;
    case YC_T_INT: sb_add(b, "%" PRId64, v.i); break;
    default: {
        char tmp[128];
        yc_val_format(v, tmp, sizeof tmp);
        sb_add(b, "?%s", tmp);
    }
    }
}

#define CHAIN_DEPTH 4

/* A message as the trace shows it: a task's repr is cut after its name;
 * an agen's generator that yielded after GeneratorExit says it as
 * CPython's async generators do. */
static void fmsg(sbuf *b, const char *msg)
{
    if (!strcmp(msg, "generator ignored GeneratorExit")) {
        sb_add(b, "async %s", msg);
        return;
    }
    const char *t = strstr(msg, "<Task ");
    const char *nm = t ? strstr(t, "name=") : NULL;
    const char *q = nm ? strchr(nm + 6, '\'') : NULL;
    if (!q) {
        sb_add(b, "%s", msg);
        return;
    }
    sb_add(b, "%.*s>", (int)(q + 1 - msg), msg);
}

/* As oracle_loop.py's fx: Type: msg, then the cause and context chain. */
static void fx(sbuf *b, const yc_exc *e, int depth)
{
    if (!e) {
        sb_add(b, "None");
        return;
    }
    const char *msg = yc_exc_msg(e);
    sb_add(b, "%s", yc_exc_type_of(e)->name);
    bool group = yc_exc_is(e, &yc_BaseExceptionGroup);
    if (*msg || group) {
        sb_add(b, ": ");
        fmsg(b, msg);
    }
    if (group) { /* str(eg): "MESSAGE (N sub-exceptions)", then the members */
        size_t n = yc_exc_group_size(e);
        sb_add(b, " (%zu sub-exception%s) [", n, n == 1 ? "" : "s");
        for (size_t i = 0; i < n; i++) {
            if (i) sb_add(b, " | ");
            fx(b, yc_exc_group_item(e, i), depth + 1);
        }
        sb_add(b, "]");
    }
    if (!yc_is_none(yc_exc_value(e))) {
        sb_add(b, "!value:");
        fv(b, yc_exc_value(e));
    }
    if (depth < CHAIN_DEPTH) {
        if (yc_exc_cause(e)) {
            sb_add(b, " {cause: ");
            fx(b, yc_exc_cause(e), depth + 1);
            sb_add(b, "}");
        }
        if (yc_exc_context(e)) {
            sb_add(b, " {ctx: ");
            fx(b, yc_exc_context(e), depth + 1);
            sb_add(b, "}");
        }
    }
}

/* fx into a static buffer, valid until the next call. */
static const char *fxs(const yc_exc *e)
{
    static sbuf b;
    b.len = 0;
    fx(&b, e, 0);
    return sb_str(&b);
}

static const char *fvs(yc_val v)
{
    static sbuf b;
    b.len = 0;
    fv(&b, v);
    return sb_str(&b);
}

/* ======================================================================
 * Objects
 * ==================================================================== */

static sym *S(scenario *sc, int k) { return &sc->syms[k]; }

static yc_exc *mkexc(const yc_exc_type *t, int64_t n) { return yc_exc_new(t, "e%" PRId64, n); }

static double secs(const step *s) { return s->none ? INFINITY : (double)s->num / 1000.0; }

/* The future named y, or NULL after logging "OP NAME -> not spawned". */
static yc_task *fut_of(const sym *self, const sym *y, const char *op)
{
    if (!y->fut) tlog(self, "%s %s -> not spawned", op, y->name);
    return y->fut;
}

/* A future's result as the trace shows it: a gather future's is the list
 * of its children's (asyncio's gather returns a list; yc_gather_future's
 * result is None and the children hold the results). */
static void fres(sbuf *b, scenario *sc, const sym *y, yc_val v)
{
    if (!y || !y->children) {
        fv(b, v);
        return;
    }
    sb_add(b, "[");
    for (int i = 0; i < y->nchildren; i++) {
        yc_task *c = S(sc, y->children[i])->fut;
        yc_exc *e = NULL;
        yc_val r = YC_NONE;
        if (i) sb_add(b, ", ");
        if (yc_task_cancelled(c)) {
            sb_add(b, "cancelled");
        } else if (yc_task_exception(c, &e) == YC_OK && e) {
            fx(b, e, 0);
        } else {
            yc_task_result(c, &r);
            fv(b, r);
        }
    }
    sb_add(b, "]");
    yc_err_clear();
}

static void log_caught(const sym *self) { tlog(self, "caught %s", fxs(yc_exc_current())); }

/* In YC_EXCEPT_ANY: logs "WHAT -> raise EXC" and re-raises. */
static YC_NORETURN void log_reraise(const sym *self, const char *what)
{
    tlog(self, "%s -> raise %s", what, fxs(yc_exc_current()));
    yc_reraise();
}

/* Runs op(self, s, ud) with its exceptions logged as "WHAT -> raise EXC"
 * and propagated (Python: try: ... except BaseException: log; raise). */
static void guarded(const sym *self, const char *what, void (*op)(const sym *, const step *, void *),
                    const step *s, void *ud)
{
    YC_TRY {
        op(self, s, ud);
    } YC_EXCEPT_ANY {
        log_reraise(self, what);
    } YC_END;
}

/* ======================================================================
 * The interpreter (runs on a task's stack, or an agen's)
 * ==================================================================== */

static int exec_block(sym *self, const block *b);
static yc_val task_body(void *arg);

static int exec_try(sym *self, const step *s)
{
    volatile int ctl = CTL_NORMAL;
    volatile int fctl = CTL_NORMAL;
    const yc_exc_type *t[MAX_EXCEPT] = {0};
    for (int i = 0; i < s->nexc; i++) t[i] = s->exc_type[i];

    YC_TRY {
        ctl = exec_block(self, &s->body);
    } YC_EXCEPT(t[0]) {
        log_caught(self);
        ctl = exec_block(self, &s->handler[0]);
    } YC_EXCEPT(t[1]) {
        log_caught(self);
        ctl = exec_block(self, &s->handler[1]);
    } YC_EXCEPT(t[2]) {
        log_caught(self);
        ctl = exec_block(self, &s->handler[2]);
    } YC_EXCEPT(t[3]) {
        log_caught(self);
        ctl = exec_block(self, &s->handler[3]);
    } YC_FINALLY {
        if (s->has_fin) {
            yc_val pending = self->ret; /* a return on its way out, if any */
            tlog(self, "fin %" PRId64, s->num);
            fctl = exec_block(self, &s->fin);
            /* return in finally: leave the construct, dropping whatever
             * was in flight (the cleanup attribute unlinks it) */
            if (fctl != CTL_NORMAL) goto leave;
            self->ret = pending; /* a return inside that did not happen */
        }
    } YC_END;
    return ctl;
leave:
    return fctl;
}

static void step_spawn(sym *self, const step *s)
{
    scenario *sc = self->sc;
    sym *y = S(sc, s->sym);
    if (y->kind != SK_TASK) die("scenario %s: spawn of %s, not a task", sc->id, y->name);
    if (y->fut) {
        tlog(self, "spawn %s -> again", y->name);
        return;
    }
    tlog(self, "spawn %s%s", y->name, s->flag ? " eager" : "");
    int slot = sc->ncreated++; /* the order of creation, as asyncio's */
    sc->created[slot] = s->sym;
    yc_task_opts o = {.name = y->name, .flags = s->flag ? YC_TASK_EAGER : 0};
    yc_task *t = yc_task_spawn(task_body, y, &o);
    if (!t) yc_raise(yc_err_take()); /* no running loop (an agen closed after the trace) */
    y->fut = t;
}

static void op_sleep(const sym *self, const step *s, void *ud)
{
    (void)self, (void)ud;
    yc_sleep(s->flag ? NAN : secs(s));
}

static void step_sleep(sym *self, const step *s)
{
    char what[64];
    if (s->flag) snprintf(what, sizeof what, "sleep nan");
    else snprintf(what, sizeof what, "sleep %" PRId64, s->num);
    guarded(self, what, op_sleep, s, NULL);
    tlog(self, "%s -> ok", what);
}

/* Waiting on one future: await, wait_for, shield. */
static void op_wait1(const sym *self, const step *s, void *ud)
{
    yc_task *t = S(self->sc, s->sym)->fut;
    yc_val *v = ud;
    if (s->kind == ST_AWAIT) *v = yc_await(t);
    else if (s->kind == ST_SHIELD) *v = yc_shield(t);
    else *v = yc_wait_for(t, secs(s));
}

static void step_wait1(sym *self, const step *s, const char *op)
{
    sym *y = S(self->sc, s->sym);
    if (!fut_of(self, y, op)) return;
    char what[64];
    snprintf(what, sizeof what, "%s %s", op, y->name);
    yc_val v = YC_NONE;
    guarded(self, what, op_wait1, s, &v);
    sbuf b = {0};
    fres(&b, self->sc, y, v);
    tlog(self, "%s -> %s", what, sb_str(&b));
    free(b.s);
}

static void step_cancel(sym *self, const step *s)
{
    sym *y = S(self->sc, s->sym);
    if (!fut_of(self, y, "cancel")) return;
    int r = yc_task_cancel(y->fut, s->msg);
    if (r < 0) die("scenario %s: yc_task_cancel: %s", self->sc->id, fxs(yc_err_get()));
    tlog(self, "cancel %s%s%s -> %s", y->name, s->msg ? " " : "", s->msg ? s->msg : "",
         r > 0 ? "True" : "False");
}

/* The task of uncancel / cancelling: "cur" or a named one. */
static yc_task *task_arg(sym *self, const step *s, const char *op, const char **name)
{
    if (s->sym == SYM_CUR) {
        *name = "cur";
        return yc_task_current();
    }
    sym *y = S(self->sc, s->sym);
    *name = y->name;
    if (y->children) die("scenario %s: %s of %s, not a task", self->sc->id, op, y->name);
    return fut_of(self, y, op);
}

static void step_uncancel(sym *self, const step *s, bool uncancel)
{
    const char *op = uncancel ? "uncancel" : "cancelling", *name;
    yc_task *t = task_arg(self, s, op, &name);
    if (t) tlog(self, "%s %s -> %d", op, name, uncancel ? yc_task_uncancel(t) : yc_task_cancelling(t));
}

static void step_state(sym *self, const step *s)
{
    sym *y = S(self->sc, s->sym);
    if (!fut_of(self, y, "state")) return;
    tlog(self, "state %s -> %s", y->name,
         yc_task_cancelled(y->fut) ? "cancelled" : yc_task_done(y->fut) ? "done" : "pending");
}

static void step_result(sym *self, const step *s, bool exception)
{
    const char *op = exception ? "exception" : "result";
    sym *y = S(self->sc, s->sym);
    if (!fut_of(self, y, op)) return;
    sbuf b = {0};
    int st;
    if (exception) {
        yc_exc *e = NULL;
        st = yc_task_exception(y->fut, &e);
        if (st == YC_OK) fx(&b, e, 0);
    } else {
        yc_val v;
        st = yc_task_result(y->fut, &v);
        if (st == YC_OK) fres(&b, self->sc, y, v);
    }
    if (st < 0) sb_add(&b, "raise %s", fxs(yc_err_get()));
    yc_err_clear();
    tlog(self, "%s %s -> %s", op, y->name, sb_str(&b));
    free(b.s);
}

/* ---- timeouts ------------------------------------------------------- */

static yc_cm *new_timeout(sym *self, const step *s)
{
    (void)self;
    yc_cm *cm = s->flag ? yc_cm_timeout_at(secs(s)) : yc_cm_timeout(secs(s));
    if (!cm) yc_raise(yc_err_take()); /* no running loop: as asyncio.timeout() */
    return cm;
}

/* Records cm as the timeout named y (a reference of ours). */
static void keep_timeout(sym *y, yc_cm *cm)
{
    yc_timeout_unref(y->tm);
    y->cm = cm;
    y->tm = yc_timeout_ref(yc_timeout_of(cm));
}

typedef struct with_args {
    yc_cm *cm;
    int ctl;
} with_args;

static void op_timeout_body(const sym *self, const step *s, void *ud)
{
    with_args *w = ud;
    YC_WITH(w->cm, v) {
        w->ctl = exec_block((sym *)self, &s->body);
    } YC_END_WITH;
}

static void tm_exit_log(const sym *self, const sym *y)
{
    tlog(self, "timeout %s exit%s", y->name, yc_timeout_expired(y->tm) ? " expired" : "");
}

/* async with the timeout named (made now, or entered again) */
static int step_timeout(sym *self, const step *s)
{
    sym *y = S(self->sc, s->sym);
    tlog(self, "timeout %s", y->name);
    with_args w = {.ctl = CTL_NORMAL};
    if (y->tm) {
        w.cm = y->cm; /* YC_WITH releases one reference: ours stays */
        yc_timeout_ref(y->tm);
    } else {
        w.cm = new_timeout(self, s);
        keep_timeout(y, w.cm);
    }
    YC_TRY {
        op_timeout_body(self, s, &w);
    } YC_FINALLY {
        tm_exit_log(self, y);
    } YC_END;
    return w.ctl;
}

static void step_mktimeout(sym *self, const step *s)
{
    sym *y = S(self->sc, s->sym);
    tlog(self, "mktimeout %s", y->name);
    keep_timeout(y, new_timeout(self, s));
    yc_cm_free(y->cm); /* ours is the only reference now */
}

static const sym *tm_named(const sym *self, const step *s, const char *op)
{
    const sym *y = S(self->sc, s->sym);
    if (!y->tm) {
        tlog(self, "%s %s -> not made", op, y->name);
        return NULL;
    }
    return y;
}

static void step_reschedule(sym *self, const step *s)
{
    const sym *y = tm_named(self, s, "reschedule");
    if (!y) return;
    double when = s->none ? INFINITY : yc_loop_time(NULL) + (double)s->num / 1000.0;
    int st = yc_timeout_reschedule(y->tm, when);
    char ms[32];
    snprintf(ms, sizeof ms, "%" PRId64, s->num);
    tlog(self, "reschedule %s %s -> %s%s", y->name, s->none ? "None" : ms, st < 0 ? "raise " : "ok",
         st < 0 ? fxs(yc_err_get()) : "");
    yc_err_clear();
}

static void step_expired(sym *self, const step *s)
{
    const sym *y = tm_named(self, s, "expired");
    if (y) tlog(self, "expired %s -> %s", y->name, yc_timeout_expired(y->tm) ? "True" : "False");
}

static void step_trepr(sym *self, const step *s)
{
    const sym *y = tm_named(self, s, "trepr");
    if (!y) return;
    char buf[128];
    yc_timeout_format(y->tm, buf, sizeof buf);
    tlog(self, "trepr %s -> %s", y->name, buf);
}

/* ---- gather, wait, as_completed ------------------------------------- */

/* The spawned futures of s's list: their symbols into ks, tasks into ts;
 * the names into b. Returns how many. */
static int spawned(const sym *self, const step *s, int *ks, yc_task **ts, sbuf *b)
{
    int n = 0;
    for (int i = 0; i < s->nlist; i++) {
        sym *y = S(self->sc, s->list[i]);
        if (!y->fut) continue;
        sb_add(b, "%s%s", n ? " " : "", y->name);
        ks[n] = s->list[i];
        ts[n++] = y->fut;
    }
    return n;
}

typedef struct multi_args {
    yc_task **ts;
    int n;
    size_t ndone;
    yc_task *g;           /* gather: the future awaited (NULL: yc_gather) */
    sym *self;
} multi_args;

static void op_gather(const sym *self, const step *s, void *ud)
{
    (void)self;
    multi_args *m = ud;
    if (m->g) yc_await(m->g);
    else yc_gather(m->ts, (size_t)m->n, s->flag ? YC_RETURN_EXCEPTIONS : 0);
}

static void step_gather(sym *self, const step *s)
{
    scenario *sc = self->sc;
    int ks[64];
    yc_task *ts[64];
    sbuf names = {0};
    if (s->nlist > 64) die("gather: too many");
    int n = spawned(self, s, ks, ts, &names);
    sym tmp = {.children = ks, .nchildren = n};
    sym *y = s->sym == SYM_CUR ? &tmp : S(sc, s->sym);
    multi_args m = {.ts = ts, .n = n};
    if (s->sym != SYM_CUR) {
        if (y->fut) die("scenario %s: gather %s made twice", sc->id, y->name);
        y->fut = yc_gather_future(ts, (size_t)n, s->flag ? YC_RETURN_EXCEPTIONS : 0);
        if (!y->fut) yc_raise(yc_err_take());
        y->children = xmalloc((size_t)(n + 1) * sizeof *y->children);
        memcpy(y->children, ks, (size_t)n * sizeof *ks);
        y->nchildren = n;
        sc->created[sc->ncreated++] = s->sym;
        m.g = y->fut;
    }
    char what[256];
    snprintf(what, sizeof what, "gather %s (%s)", s->sym == SYM_CUR ? "-" : y->name, sb_str(&names));
    free(names.s);
    guarded(self, what, op_gather, s, &m);
    sbuf b = {0};
    fres(&b, sc, y, YC_NONE);
    tlog(self, "%s -> %s", what, sb_str(&b));
    free(b.s);
}

static void op_wait(const sym *self, const step *s, void *ud)
{
    (void)self;
    multi_args *m = ud;
    m->ndone = yc_wait(m->ts, (size_t)m->n, secs(s), s->mode);
}

static const char *const wait_modes[] = {"all", "first", "exc"};

static void step_wait(sym *self, const step *s)
{
    int ks[64];
    yc_task *ts[64];
    sbuf names = {0};
    if (s->nlist > 64) die("wait: too many");
    int n = spawned(self, s, ks, ts, &names);
    char what[256];
    snprintf(what, sizeof what, "wait (%s) %s", sb_str(&names), wait_modes[s->mode]);
    free(names.s);
    multi_args m = {.ts = ts, .n = n};
    guarded(self, what, op_wait, s, &m);
    sbuf d = {0}, p = {0};
    for (int i = 0; i < n; i++) {
        sbuf *b = yc_task_done(ts[i]) ? &d : &p;
        sb_add(b, "%s%s", b->len ? " " : "", S(self->sc, ks[i])->name);
    }
    tlog(self, "%s -> done (%s) pending (%s)", what, sb_str(&d), sb_str(&p));
    free(d.s);
    free(p.s);
}

static const char *name_of_fut(scenario *sc, const yc_task *t)
{
    for (int i = 0; i < sc->nsyms; i++)
        if (sc->syms[i].fut == t) return sc->syms[i].name;
    return "?";
}

static void op_as_completed(const sym *self, const step *s, void *ud)
{
    multi_args *m = ud;
    yc_iter *it = yc_as_completed(m->ts, (size_t)m->n, secs(s));
    if (!it) yc_raise(yc_err_take());
    YC_TRY {
        yc_val v;
        int st;
        while ((st = yc_iter_next(it, &v)) == YC_YIELD)
            tlog(self, "as_completed -> %s", name_of_fut(self->sc, v.p));
        YC_CHECK(st);
    } YC_FINALLY {
        yc_iter_free(it);
    } YC_END;
}

static void step_as_completed(sym *self, const step *s)
{
    int ks[64];
    yc_task *ts[64];
    sbuf names = {0};
    if (s->nlist > 64) die("as_completed: too many");
    multi_args m = {.ts = ts, .n = spawned(self, s, ks, ts, &names)};
    free(names.s);
    guarded(self, "as_completed", op_as_completed, s, &m);
    tlog(self, "as_completed -> end");
}

/* ---- async generators ----------------------------------------------- */

static sym *agen_of(const sym *self, const step *s)
{
    sym *y = S(self->sc, s->sym);
    if (y->kind != SK_AGEN) die("scenario %s: %s is not an agen", self->sc->id, y->name);
    return y;
}

/* A generator's status as an async generator's awaitable: the yielded
 * value in *v, StopAsyncIteration when it ended, its exception raised. A
 * StopAsyncIteration escaping the body becomes RuntimeError "async
 * generator raised StopAsyncIteration" (cause and context: it), as CPython
 * does for async generators (yieldc's generators are sync ones: PEP 479
 * converts StopIteration only). */
static void agen_outcome(int st)
{
    if (st == YC_RETURN) yc_raise(yc_exc_new(&yc_StopAsyncIteration, NULL));
    if (st >= 0) return;
    YC_TRY {
        YC_CHECK(st);
    } YC_EXCEPT(&yc_StopAsyncIteration) {
        yc_raise_from(yc_exc_new(&yc_RuntimeError, "async generator raised StopAsyncIteration"),
                      yc_exc_ref(yc_exc_current()));
    } YC_END;
}

static void op_agen(const sym *self, const step *s, void *ud)
{
    yc_gen *g = agen_of(self, s)->gen;
    yc_val *v = ud;
    if (s->kind == ST_ANEXT) agen_outcome(yc_next(g, v));
    else if (s->kind == ST_ATHROW) agen_outcome(yc_throw(g, mkexc(s->type, s->num), v));
    else YC_CHECK(yc_close(g, NULL));
}

static void step_agen(sym *self, const step *s, const char *op)
{
    sym *y = agen_of(self, s);
    char what[64];
    snprintf(what, sizeof what, "%s %s", op, y->name);
    yc_val v = YC_NONE;
    /* athrow() of an async generator that has ended returns None, where
     * throw() into an ended generator raises: the harness does as
     * CPython's async generator */
    if (s->kind == ST_ATHROW && yc_gen_state_of(y->gen) == YC_GEN_CLOSED) {
        tlog(self, "%s -> None", what);
        return;
    }
    guarded(self, what, op_agen, s, &v);
    tlog(self, "%s -> %s", what, s->kind == ST_ACLOSE ? "ok" : fvs(v));
}

static void step_astate(sym *self, const step *s)
{
    sym *y = agen_of(self, s);
    static const char letters[] = "CRSX";
    tlog(self, "astate %s -> %c", y->name, letters[yc_gen_state_of(y->gen)]);
}

/* ---- task groups --------------------------------------------------- */

/*
 * A task group outlives its block (tgspawn after exit, entering it again):
 * YC_WITH gets a keeper, a manager that enters and exits the group's and
 * frees nothing; the group's manager is released at the end of the
 * scenario.
 */
typedef struct keeper {
    yc_cm cm;
    yc_cm *inner;
} keeper;

static int keeper_enter(yc_cm *cm, yc_val *out) { return yc_cm_enter(((keeper *)cm)->inner, out); }
static int keeper_exit(yc_cm *cm, yc_exc *e) { return yc_cm_exit(((keeper *)cm)->inner, e); }
static void keeper_free(yc_cm *cm) { free(cm); }
static const yc_cm_type keeper_type = {
    .name = "keeper", .enter = keeper_enter, .exit = keeper_exit, .free = keeper_free};

static void op_tg_body(const sym *self, const step *s, void *ud)
{
    keeper *k = xmalloc(sizeof *k);
    k->cm.type = &keeper_type;
    k->inner = S(self->sc, s->sym)->tg;
    YC_WITH(&k->cm, v) {
        *(int *)ud = exec_block((sym *)self, &s->body);
    } YC_END_WITH;
}

static void tg_exit_log(const sym *self, const sym *y) { tlog(self, "taskgroup %s exit", y->name); }

static int step_taskgroup(sym *self, const step *s)
{
    sym *y = S(self->sc, s->sym);
    tlog(self, "taskgroup %s", y->name);
    if (!y->tg && !(y->tg = yc_cm_taskgroup())) yc_raise(yc_err_take());
    int ctl = CTL_NORMAL;
    YC_TRY {
        op_tg_body(self, s, &ctl);
    } YC_FINALLY {
        tg_exit_log(self, y);
    } YC_END;
    return ctl;
}

static void step_mktaskgroup(sym *self, const step *s)
{
    sym *y = S(self->sc, s->sym);
    tlog(self, "mktaskgroup %s", y->name);
    yc_cm_free(y->tg);
    if (!(y->tg = yc_cm_taskgroup())) yc_raise(yc_err_take());
}

static void step_tgspawn(sym *self, const step *s)
{
    scenario *sc = self->sc;
    sym *g = S(sc, s->sym), *y = S(sc, s->list[0]);
    if (y->kind != SK_TASK) die("scenario %s: tgspawn of %s, not a task", sc->id, y->name);
    if (!g->tg) {
        tlog(self, "tgspawn %s %s -> not made", g->name, y->name);
        return;
    }
    if (y->fut) {
        tlog(self, "tgspawn %s %s -> again", g->name, y->name);
        return;
    }
    tlog(self, "tgspawn %s %s", g->name, y->name);
    int slot = sc->ncreated++;
    sc->created[slot] = s->list[0];
    yc_task_opts o = {.name = y->name};
    yc_task *t = yc_taskgroup_spawn(yc_taskgroup_of(g->tg), task_body, y, &o);
    if (!t) {
        sc->ncreated--;
        tlog(self, "tgspawn %s %s -> raise %s", g->name, y->name, fxs(yc_err_get()));
        yc_raise(yc_err_take());
    }
    y->fut = t;
}

/* ---- queues, locks, events, semaphores (feature "sync") ------------ */

#if YC_LOOPDIFF_SYNC
/* Makes the declared objects. */
static void sync_make(scenario *sc)
{
    for (int i = 0; i < sc->nsyms; i++) {
        sym *y = &sc->syms[i];
        switch (y->kind) {
        case SK_QUEUE: y->obj = yc_queue_new((size_t)y->arg1, y->arg2); break;
        case SK_LOCK: y->obj = yc_lock_new(); break;
        case SK_EVENT: y->obj = yc_event_new(); break;
        case SK_SEMAPHORE: y->obj = yc_semaphore_new((long)y->arg1, y->arg2 != 0); break;
        default: continue;
        }
        if (!y->obj) die("scenario %s: %s: %s", sc->id, y->name, fxs(yc_err_get()));
    }
}

static void sync_free(scenario *sc)
{
    for (int i = 0; i < sc->nsyms; i++) {
        sym *y = &sc->syms[i];
        if (!y->obj) continue;
        if (y->kind == SK_QUEUE) yc_queue_free(y->obj);
        else if (y->kind == SK_LOCK) yc_lock_free(y->obj);
        else if (y->kind == SK_EVENT) yc_event_free(y->obj);
        else yc_semaphore_free(y->obj);
        y->obj = NULL;
    }
}

static void *sync_obj(const sym *self, const step *s, int kind)
{
    sym *y = S(self->sc, s->sym);
    if (y->kind != kind || !y->obj) die("scenario %s: %s is not declared as needed", self->sc->id, y->name);
    return y->obj;
}

static void op_sync_wait(const sym *self, const step *s, void *ud)
{
    yc_val *v = ud;
    switch (s->mode) {
    case OP_PUT: yc_queue_put(sync_obj(self, s, SK_QUEUE), yc_int(s->num)); break;
    case OP_GET: *v = yc_queue_get(sync_obj(self, s, SK_QUEUE)); break;
    case OP_JOIN: yc_queue_join(sync_obj(self, s, SK_QUEUE)); break;
    case OP_ACQUIRE: yc_lock_acquire(sync_obj(self, s, SK_LOCK)); *v = yc_bool(true); break;
    case OP_EWAIT: yc_event_wait(sync_obj(self, s, SK_EVENT)); *v = yc_bool(true); break;
    default: yc_semaphore_acquire(sync_obj(self, s, SK_SEMAPHORE)); *v = yc_bool(true); break;
    }
}

/* The steps that do not wait; an exception is logged and raised. */
static void sync_now(sym *self, const step *s, sbuf *r)
{
    void *o = S(self->sc, s->sym)->obj;
    int st = YC_OK;
    yc_val v = YC_NONE;
    switch (s->mode) {
    case OP_PUT_NOWAIT: st = yc_queue_put_nowait(sync_obj(self, s, SK_QUEUE), yc_int(s->num)); break;
    case OP_GET_NOWAIT: st = yc_queue_get_nowait(sync_obj(self, s, SK_QUEUE), &v); break;
    case OP_TASK_DONE: st = yc_queue_task_done(sync_obj(self, s, SK_QUEUE)); break;
    case OP_QSHUTDOWN: yc_queue_shutdown(sync_obj(self, s, SK_QUEUE), !s->none); break;
    case OP_QSIZE:
        o = sync_obj(self, s, SK_QUEUE);
        sb_add(r, "%zu empty=%s full=%s", yc_queue_qsize(o), yc_queue_empty(o) ? "True" : "False",
               yc_queue_full(o) ? "True" : "False");
        return;
    case OP_RELEASE: st = yc_lock_release(sync_obj(self, s, SK_LOCK)); break;
    case OP_LOCKED: v = yc_bool(yc_lock_locked(sync_obj(self, s, SK_LOCK))); break;
    case OP_ESET: yc_event_set(sync_obj(self, s, SK_EVENT)); break;
    case OP_ECLEAR: yc_event_clear(sync_obj(self, s, SK_EVENT)); break;
    case OP_IS_SET: v = yc_bool(yc_event_is_set(sync_obj(self, s, SK_EVENT))); break;
    case OP_SRELEASE: st = yc_semaphore_release(sync_obj(self, s, SK_SEMAPHORE)); break;
    default: v = yc_bool(yc_semaphore_locked(sync_obj(self, s, SK_SEMAPHORE))); break;
    }
    if (st < 0) {
        sb_add(r, "raise %s", fxs(yc_err_get()));
        return;
    }
    if (yc_type_of(v) == YC_T_BOOL) sb_add(r, "%s", v.b ? "True" : "False");
    else fv(r, v);
}

static void sync_what(const sym *self, const step *s, char *what, size_t n)
{
    int k = snprintf(what, n, "%s %s", sync_names[s->mode], S(self->sc, s->sym)->name);
    if (!s->none && k > 0 && (size_t)k < n) snprintf(what + k, n - (size_t)k, " %" PRId64, s->num);
}

static void step_sync(sym *self, const step *s)
{
    char what[64];
    sync_what(self, s, what, sizeof what);
    if (s->kind == ST_SYNC_WAIT) {
        yc_val v = YC_NONE;
        guarded(self, what, op_sync_wait, s, &v);
        tlog(self, "%s -> %s", what, yc_type_of(v) == YC_T_BOOL ? "True" : fvs(v));
        return;
    }
    sbuf r = {0};
    sync_now(self, s, &r);
    tlog(self, "%s -> %s", what, sb_str(&r));
    free(r.s);
    if (yc_err_get()) yc_raise(yc_err_take());
}

static void op_sync_with(const sym *self, const step *s, void *ud)
{
    yc_cm *cm = s->mode == OP_WITHLOCK ? yc_cm_lock(sync_obj(self, s, SK_LOCK))
                                       : yc_cm_semaphore(sync_obj(self, s, SK_SEMAPHORE));
    if (!cm) yc_raise(yc_err_take());
    YC_WITH(cm, v) {
        *(int *)ud = exec_block((sym *)self, &s->body);
    } YC_END_WITH;
}

static void sync_with_exit_log(const sym *self, const step *s)
{
    tlog(self, "%s %s exit", sync_names[s->mode], S(self->sc, s->sym)->name);
}

static int step_sync_with(sym *self, const step *s)
{
    tlog(self, "%s %s", sync_names[s->mode], S(self->sc, s->sym)->name);
    int ctl = CTL_NORMAL;
    YC_TRY {
        op_sync_with(self, s, &ctl);
    } YC_FINALLY {
        sync_with_exit_log(self, s);
    } YC_END;
    return ctl;
}
#else
static void sync_make(scenario *sc)
{
    for (int i = 0; i < sc->nsyms; i++)
        if (sc->syms[i].kind >= SK_QUEUE) die("scenario %s: queues and locks are not in the library", sc->id);
}
static void sync_free(scenario *sc) { (void)sc; }
static void step_sync(sym *self, const step *s) { (void)self, (void)s; }
static int step_sync_with(sym *self, const step *s) { (void)self, (void)s; return CTL_NORMAL; }
#endif

/* ---- dispatch ------------------------------------------------------- */

static int exec_step(sym *self, const step *s)
{
    switch (s->kind) {
    case ST_YIELD: yc_yield(s->none ? YC_NONE : yc_int(s->num)); break;
    case ST_RET:
        self->ret = s->none ? YC_NONE : yc_int(s->num);
        return CTL_RETURN;
    case ST_RAISE: yc_raise(mkexc(s->type, s->num));
    case ST_RERAISE: yc_reraise();
    case ST_INFO: tlog(self, "info %s", fxs(yc_exc_current())); break;
    case ST_TRY: return exec_try(self, s);
    case ST_SPAWN: step_spawn(self, s); break;
    case ST_SLEEP: step_sleep(self, s); break;
    case ST_AWAIT: step_wait1(self, s, "await"); break;
    case ST_SHIELD: step_wait1(self, s, "shield"); break;
    case ST_WAIT_FOR: step_wait1(self, s, "wait_for"); break;
    case ST_CANCEL: step_cancel(self, s); break;
    case ST_UNCANCEL: step_uncancel(self, s, true); break;
    case ST_CANCELLING: step_uncancel(self, s, false); break;
    case ST_STATE: step_state(self, s); break;
    case ST_RESULT: step_result(self, s, false); break;
    case ST_EXCEPTION: step_result(self, s, true); break;
    case ST_TIMEOUT: return step_timeout(self, s);
    case ST_MKTIMEOUT: step_mktimeout(self, s); break;
    case ST_RESCHEDULE: step_reschedule(self, s); break;
    case ST_EXPIRED: step_expired(self, s); break;
    case ST_TREPR: step_trepr(self, s); break;
    case ST_GATHER: step_gather(self, s); break;
    case ST_WAIT: step_wait(self, s); break;
    case ST_AS_COMPLETED: step_as_completed(self, s); break;
    case ST_ANEXT: step_agen(self, s, "anext"); break;
    case ST_ATHROW: step_agen(self, s, "athrow"); break;
    case ST_ACLOSE: step_agen(self, s, "aclose"); break;
    case ST_ASTATE: step_astate(self, s); break;
    case ST_TASKGROUP: return step_taskgroup(self, s);
    case ST_TGSPAWN: step_tgspawn(self, s); break;
    case ST_MKTASKGROUP: step_mktaskgroup(self, s); break;
    case ST_SYNC_WAIT: step_sync(self, s); break;
    case ST_SYNC: step_sync(self, s); break;
    case ST_SYNC_WITH: return step_sync_with(self, s);
    default: break;
    }
    return CTL_NORMAL;
}

static int exec_block(sym *self, const block *b)
{
    for (int i = 0; i < b->n; i++) {
        int c = exec_step(self, &b->v[i]);
        if (c != CTL_NORMAL) return c;
    }
    return CTL_NORMAL;
}

static char main_name[64]; /* yc_loop_run's name for the main task ("Task-N") */

static void op_body(const sym *self, const step *s, void *ud)
{
    (void)s;
    sym *me = (sym *)self;
    me->ret = YC_NONE;
    if (exec_block(me, &me->body) == CTL_NORMAL) me->ret = YC_NONE;
    *(yc_val *)ud = me->ret;
}

/* A task's (and main's) body: "NAME start", the steps, "NAME end -> ...". */
static yc_val task_body(void *arg)
{
    sym *self = arg;
    if (self->kind == SK_MAIN) {
        self->sc->loop = yc_loop_current();
        snprintf(main_name, sizeof main_name, "%s", yc_task_name(yc_task_current()));
    }
    tlog(self, "start");
    yc_val v = YC_NONE;
    guarded(self, "end", op_body, NULL, &v);
    tlog(self, "end -> %s", fvs(v));
    return v;
}

static yc_val agen_body(void *arg)
{
    sym *self = arg;
    tlog(self, "start");
    exec_block(self, &self->body);
    return YC_NONE;
}

/* ======================================================================
 * Running a scenario
 * ==================================================================== */

static scenario *cur_sc;
static const char *unref_target; /* the future being released at the end */
static sbuf unretrieved;

/* "name='X'" in a repr, copied into buf. */
static const char *repr_name(const char *text, char *buf, size_t n)
{
    const char *p = strstr(text, "name='");
    if (!p || !n) return NULL;
    p += 6;
    size_t k = 0;
    while (p[k] && p[k] != '\'' && k + 1 < n) {
        buf[k] = p[k];
        k++;
    }
    buf[k] = '\0';
    return buf;
}

static void on_report(yc_exc *e, const char *obj, void *ud)
{
    (void)ud;
    if (quiet || !cur_sc) return;
    char name[128];
    size_t first = strcspn(obj, "\n");
    const char *who = repr_name(obj, name, sizeof name);
    const char *t = strstr(obj, " <Task "); /* "... destroying <Task ...>": the name only */
    if (t && (size_t)(t - obj) < first) first = (size_t)(t - obj);
    if (unref_target && strstr(obj, "exception was never retrieved")) {
        /* a task's repr has its name; a gather future's has none: it is
         * the one being released (releasing it may release its children) */
        sym *y = NULL;
        for (int i = 0; i < cur_sc->nsyms && !y; i++)
            if (!strcmp(cur_sc->syms[i].name, who ? who : unref_target)) y = &cur_sc->syms[i];
        if (y) y->unretrieved = true;
        return;
    }
    sb_add(&out, "  @%ld report: %.*s", now_ms(cur_sc), (int)first, obj);
    if (who) sb_add(&out, " [%s]", strcmp(who, main_name) ? who : "main");
    if (e) sb_add(&out, " %s", fxs(e));
    sb_add(&out, "\n");
}

static void tail_lines(scenario *sc)
{
    sbuf b = {0};
    for (int i = 0; i < sc->nsyms; i++) {
        sym *y = &sc->syms[i];
        if (y->kind != SK_TASK) continue;
        sb_add(&b, "%s%s=%s", b.len ? " " : "  tasks ", y->name,
               !y->fut ? "-" : yc_task_cancelled(y->fut) ? "cancelled"
               : yc_task_done(y->fut) ? "done" : "pending");
    }
    if (b.len) trace("%s", b.s);
    b.len = 0;
    for (int i = 0; i < sc->nsyms; i++) {
        sym *y = &sc->syms[i];
        if (y->kind != SK_AGEN) continue;
        sb_add(&b, "%s%s=%c", b.len ? " " : "  agens ", y->name, "CRSX"[yc_gen_state_of(y->gen)]);
    }
    if (b.len) trace("%s", b.s);
    free(b.s);
    /* the timeouts and task groups hold their tasks */
    for (int i = 0; i < sc->nsyms; i++) {
        yc_timeout_unref(sc->syms[i].tm);
        sc->syms[i].tm = NULL;
        yc_cm_free(sc->syms[i].tg);
        sc->syms[i].tg = NULL;
    }
    /* release the futures in creation order: an exception nobody
     * retrieved is reported then (asyncio: _log_traceback) */
    unretrieved.len = 0;
    for (int i = 0; i < sc->ncreated; i++) {
        sym *y = S(sc, sc->created[i]);
        unref_target = y->name;
        yc_task_unref(y->fut);
        y->fut = NULL;
    }
    unref_target = NULL;
    for (int i = 0; i < sc->ncreated; i++) /* in creation order */
        if (S(sc, sc->created[i])->unretrieved) sb_add(&unretrieved, " %s", S(sc, sc->created[i])->name);
    if (unretrieved.len) trace("  unretrieved%s", unretrieved.s);
}

static void run_scenario(scenario *sc)
{
    static long tasks0, gens0, excs0;
    out.len = 0;
    quiet = false;
    cur_sc = sc;
    trace("=== %s", sc->id);
    int m = -1;
    for (int i = 0; i < sc->nsyms; i++) {
        sym *y = &sc->syms[i];
        if (y->kind == SK_MAIN) m = i;
        if (y->kind != SK_AGEN) continue;
        y->gen = yc_gen_new(agen_body, y, &(yc_gen_opts){.name = y->name});
        if (!y->gen) die("yc_gen_new failed");
    }
    if (m < 0) die("scenario %s: no main", sc->id);
    sync_make(sc);
    yc_val v;
    yc_loop_opts o = {.clock = YC_CLOCK_VIRTUAL};
    int st = yc_loop_run(task_body, S(sc, m), &o, &v);
    sc->loop = NULL;
    if (st == YC_OK) trace("< ok %s", fvs(v));
    else trace("< raise %s", fxs(yc_err_get()));
    yc_err_clear();
    tail_lines(sc);
    /* after the trace: every object goes, silently */
    quiet = true;
    for (int i = 0; i < sc->nsyms; i++) {
        sym *y = &sc->syms[i];
        yc_gen_free(y->gen);
        y->gen = NULL;
    }
    for (int i = 0; i < sc->nsyms; i++) { /* made by agens closed just now */
        sym *y = &sc->syms[i];
        yc_timeout_unref(y->tm);
        y->tm = NULL;
        yc_cm_free(y->tg);
        y->tg = NULL;
    }
    sync_free(sc);
    yc_err_clear();
    cur_sc = NULL;
    fwrite(out.s, 1, out.len, stdout);
    fflush(stdout);

    yc_stats stats;
    yc_stats_get(&stats);
    if (stats.tasks != tasks0 || stats.generators != gens0 || stats.exceptions != excs0 ||
        stats.loops != 0) {
        fprintf(stderr, "LEAK %s: tasks %+ld generators %+ld exceptions %+ld loops %ld\n", sc->id,
                stats.tasks - tasks0, stats.generators - gens0, stats.exceptions - excs0,
                stats.loops);
        leaks++;
        tasks0 = stats.tasks;
        gens0 = stats.generators;
        excs0 = stats.exceptions;
    }
}

static char *read_all(FILE *f)
{
    size_t cap = 1 << 16, len = 0;
    char *s = xmalloc(cap);
    for (;;) {
        size_t n = fread(s + len, 1, cap - len - 1, f);
        len += n;
        if (len + 1 < cap) {
            if (feof(f) || ferror(f)) break;
            continue;
        }
        cap *= 2;
        s = xrealloc(s, cap);
    }
    s[len] = '\0';
    return s;
}

static void run_text(const char *text)
{
    lexer lx = {text, 1};
    sx *x;
    while ((x = sx_read(&lx)) != NULL) {
        scenario *sc = compile_scenario(x);
        run_scenario(sc);
        scenario_free(sc);
        sx_free(x);
    }
}

int main(int argc, char **argv)
{
    yc_set_unraisable_hook(on_report, NULL);
    int nfiles = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--features")) {
            puts("taskgroup" YC_LOOPDIFF_SYNC_FEATURES);
            return 0;
        }
        FILE *f = fopen(argv[i], "r");
        if (!f) die("%s: %s", argv[i], strerror(errno));
        char *text = read_all(f);
        fclose(f);
        run_text(text);
        free(text);
        nfiles++;
    }
    if (!nfiles) {
        char *text = read_all(stdin);
        run_text(text);
        free(text);
    }
    free(out.s);
    free(unretrieved.s);
    yc_stack_pool_trim();
    return leaks ? 3 : 0;
}
