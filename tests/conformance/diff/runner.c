/*
 * yieldc side of the CPython differential test.
 *
 *   runner [-c] [FILE...]       (stdin when no FILE)
 *
 * Reads scenarios (the S-expression language of README.md), runs each one
 * with yieldc and prints the same trace as oracle.py does with CPython. A
 * generator body is a tree of steps interpreted on the generator's own
 * stack: yields with yc_yield, delegation with yc_yield_from, try blocks with
 * YC_TRY / YC_EXCEPT / YC_FINALLY, raises with yc_raise. `return`, `break`
 * and `continue` travel as control codes through normal completion of the
 * C blocks, so finally blocks run exactly where Python runs them; a control
 * code coming out of a finally block leaves the construct with goto, which
 * drops the exception in flight as Python's return-in-finally does.
 *
 * -c: compatibility with a CPython 3.11 oracle (see oracle.py): close
 * outcomes print without the return value, and throw(StopIteration) into a
 * just-created generator is skipped.
 *
 * Section 9 (context managers): a `cm` part is a generator-based manager
 * (contextlib.contextmanager) whose body is interpreted like a generator's;
 * a `with` step runs its body inside YC_WITH over a fresh yc_cm_gen_new, and
 * a `stack` step inside YC_WITH over an exit stack (yc_exitstack_*). A
 * control code leaving a with body returns from inside the construct, so
 * return, break and continue go through its cleanup path.
 *
 * After each scenario the runner checks yc_stats: a generator or exception
 * still alive is reported on stderr as "LEAK <id> ..." (the trace is not
 * affected; the driver reports it).
 */
#include <yieldc.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

YC_EXC_TYPE(UserError, yc_Exception);

#include "sx.h"

/* ======================================================================
 * Scenarios
 * ==================================================================== */

enum ctl { CTL_NORMAL, CTL_RETURN, CTL_BREAK, CTL_CONTINUE };

enum step_kind {
    ST_YIELD, ST_RET, ST_RAISE, ST_RERAISE, ST_TRY, ST_YF, ST_YFL, ST_LOOP, ST_BREAK,
    ST_CONTINUE, ST_CALL, ST_INFO, ST_STATE, ST_WITH, ST_STACK
};

/* The items of a stack step, registered in order inside its with block. */
enum { SI_ENTER, SI_CB, SI_PUSH };

typedef struct stack_item {
    int kind;
    int target;               /* SI_ENTER: the cm */
    int num;                  /* SI_CB, SI_PUSH: the tag */
    const yc_exc_type *type;  /* SI_CB: raised after logging, or NULL */
    int suppress;             /* SI_PUSH: what the exit function returns */
} stack_item;

enum op_kind { OP_NEXT, OP_SEND, OP_THROW, OP_CLOSE };
static const char *const op_names[] = {"next", "send", "throw", "close"};

#define MAX_EXCEPT 3

struct step;
typedef struct block {
    struct step *v;
    int n;
} block;

typedef struct step {
    int kind;
    yc_val val;               /* yield, return, send */
    const yc_exc_type *type;  /* raise, throw */
    int num;                  /* raise/throw tag, loop count, finally id */
    int target;               /* instance index (yf, call, state) */
    int op;                   /* call */
    block body;               /* try body, loop body */
    int nexc;
    const yc_exc_type *exc_type[MAX_EXCEPT];
    block handler[MAX_EXCEPT];
    bool has_fin;
    block fin;
    yc_val *items;            /* yfl */
    int nitems;
    stack_item *sitems;       /* stack */
    int nsitems;
} step;

typedef struct inst {
    char *name;
    bool is_gen;
    bool is_cm;       /* a generator-based context manager (cm part) */
    block body;       /* gen, cm */
    yc_val *items;    /* list */
    int nitems;
    yc_gen *g;
    bool dense;       /* a stackless generator (the `dense` part) */
    yc_sgen *sg;      /* dense: made by yc_sgen_new over its emitted body */
    yc_iter *it;      /* list: its iterator; gen: yc_gen_iter(g) or &sg->it */
    bool freed;
    yc_val ret;       /* the value of a `ret` step on its way out */
    bool tflag;       /* delegating, resumed by throw/close, its code not run since */
    struct scenario *sc;
} inst;

typedef struct scenario {
    char *id;
    inst *inst;
    int ninst;
    step *ops; /* kind ST_CALL */
    int nops;
    sx **opsrc;
    yc_iter **fresh; /* list iterators made by yfl steps */
    int nfresh, capfresh;
    void **arena;    /* per-entry cm instances, exit stack records */
    int narena, caparena;
    struct cm_rec **cms; /* every manager made (in the arena) */
    int ncms, capcms;
} scenario;

static bool compat;
static int leaks;

static const struct {
    const char *name;
    const yc_exc_type *t;
} type_table[] = {
    {"BaseException", &yc_BaseException}, {"Exception", &yc_Exception},
    {"ValueError", &yc_ValueError},       {"KeyError", &yc_KeyError},
    {"LookupError", &yc_LookupError},     {"TypeError", &yc_TypeError},
    {"RuntimeError", &yc_RuntimeError},   {"StopIteration", &yc_StopIteration},
    {"GeneratorExit", &yc_GeneratorExit}, {"KeyboardInterrupt", &yc_KeyboardInterrupt},
    {"AttributeError", &yc_AttributeError}, {"UserError", &UserError},
};

static const yc_exc_type *type_of(const sx *x)
{
    if (x && x->kind == SX_SYM)
        for (size_t i = 0; i < sizeof type_table / sizeof type_table[0]; i++)
            if (strcmp(type_table[i].name, x->sym) == 0) return type_table[i].t;
    die("unknown exception type");
}

static yc_val val_of(const sx *x)
{
    if (x && x->kind == SX_INT) return yc_int(x->i);
    if (x && x->kind == SX_NONE) return YC_NONE;
    die("expected an integer or none");
}

static int int_of(const sx *x)
{
    if (x && x->kind == SX_INT) return (int)x->i;
    die("expected an integer");
}

static int inst_index(const scenario *sc, const sx *x)
{
    if (x && x->kind == SX_SYM)
        for (int i = 0; i < sc->ninst; i++)
            if (strcmp(sc->inst[i].name, x->sym) == 0) return i;
    die("scenario %s: unknown instance", sc->id);
}

static const sx *arg(const sx *x, int i)
{
    if (i >= x->n) die("missing argument");
    return x->v[i];
}

static void compile_block(scenario *sc, block *b, sx *const *v, int n);

static int op_kind_of(const sx *x)
{
    for (int i = 0; i < 4; i++)
        if (is_sym(x, op_names[i])) return i;
    die("unknown operation");
}

/* An operation: (OP TARGET ARGS...), from a call step or the ops list. */
static void compile_op(scenario *sc, step *s, const sx *x, int first)
{
    s->kind = ST_CALL;
    s->op = op_kind_of(arg(x, first));
    s->target = inst_index(sc, arg(x, first + 1));
    if (sc->inst[s->target].is_cm) die("scenario %s: a cm is not an iterator", sc->id);
    if (s->op != OP_NEXT && !sc->inst[s->target].is_gen)
        die("scenario %s: only next applies to a list", sc->id);
    if (s->op == OP_SEND) s->val = val_of(arg(x, first + 2));
    if (s->op == OP_THROW) {
        s->type = type_of(arg(x, first + 2));
        s->num = int_of(arg(x, first + 3));
    }
}

static void compile_step(scenario *sc, step *s, const sx *x)
{
    if (x->kind != SX_LIST || x->n == 0 || x->v[0]->kind != SX_SYM) die("bad step");
    const char *k = x->v[0]->sym;
    if (!strcmp(k, "y")) {
        s->kind = ST_YIELD;
        s->val = val_of(arg(x, 1));
    } else if (!strcmp(k, "ret")) {
        s->kind = ST_RET;
        s->val = val_of(arg(x, 1));
    } else if (!strcmp(k, "raise")) {
        s->kind = ST_RAISE;
        s->type = type_of(arg(x, 1));
        s->num = int_of(arg(x, 2));
    } else if (!strcmp(k, "reraise")) {
        s->kind = ST_RERAISE;
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
    } else if (!strcmp(k, "yf")) {
        s->kind = ST_YF;
        s->target = inst_index(sc, arg(x, 1));
        if (sc->inst[s->target].is_cm) die("scenario %s: yield from a cm", sc->id);
    } else if (!strcmp(k, "yfl")) {
        s->kind = ST_YFL;
        s->nitems = x->n - 1;
        s->items = xmalloc((size_t)s->nitems * sizeof *s->items);
        for (int i = 0; i < s->nitems; i++) s->items[i] = val_of(x->v[i + 1]);
    } else if (!strcmp(k, "loop")) {
        s->kind = ST_LOOP;
        s->num = int_of(arg(x, 1));
        compile_block(sc, &s->body, x->v + 2, x->n - 2);
    } else if (!strcmp(k, "break")) {
        s->kind = ST_BREAK;
    } else if (!strcmp(k, "continue")) {
        s->kind = ST_CONTINUE;
    } else if (!strcmp(k, "call")) {
        compile_op(sc, s, x, 1);
    } else if (!strcmp(k, "info")) {
        s->kind = ST_INFO;
    } else if (!strcmp(k, "state")) {
        s->kind = ST_STATE;
        s->target = inst_index(sc, arg(x, 1));
        if (sc->inst[s->target].is_cm) die("scenario %s: state of a cm", sc->id);
    } else if (!strcmp(k, "with")) {
        s->kind = ST_WITH;
        s->target = inst_index(sc, arg(x, 1));
        if (!sc->inst[s->target].is_cm) die("scenario %s: with needs a cm", sc->id);
        compile_block(sc, &s->body, x->v + 2, x->n - 2);
    } else if (!strcmp(k, "stack")) {
        s->kind = ST_STACK;
        const sx *items = arg(x, 1);
        if (items->kind != SX_LIST) die("stack: items must be a list");
        s->nsitems = items->n;
        s->sitems = xmalloc((size_t)items->n * sizeof *s->sitems);
        for (int i = 0; i < items->n; i++) {
            const sx *it = items->v[i];
            stack_item *si = &s->sitems[i];
            if (it->kind != SX_LIST || it->n < 2) die("stack: bad item");
            if (is_sym(it->v[0], "enter")) {
                si->kind = SI_ENTER;
                si->target = inst_index(sc, it->v[1]);
                if (!sc->inst[si->target].is_cm) die("scenario %s: enter needs a cm", sc->id);
            } else if (is_sym(it->v[0], "cb")) {
                si->kind = SI_CB;
                si->num = int_of(it->v[1]);
            } else if (is_sym(it->v[0], "cbraise")) {
                si->kind = SI_CB;
                si->type = type_of(it->v[1]);
                si->num = int_of(arg(it, 2));
            } else if (is_sym(it->v[0], "push")) {
                si->kind = SI_PUSH;
                si->num = int_of(it->v[1]);
                si->suppress = int_of(arg(it, 2));
            } else {
                die("stack: unknown item");
            }
        }
        compile_block(sc, &s->body, x->v + 2, x->n - 2);
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
    free(s->items);
    free(s->sitems);
}

static void block_free(block *b)
{
    for (int i = 0; i < b->n; i++) step_free(&b->v[i]);
    free(b->v);
}

/* A `break` or `continue` outside any loop is a no-op (the oracle writes
 * `pass` for it, Python having no such statement there). */
static void fix_loopless(block *b, bool in_loop)
{
    for (int i = 0; i < b->n; i++) {
        step *s = &b->v[i];
        if (!in_loop && (s->kind == ST_BREAK || s->kind == ST_CONTINUE)) s->kind = -1;
        bool inner = in_loop || s->kind == ST_LOOP;
        fix_loopless(&s->body, inner);
        for (int j = 0; j < s->nexc; j++) fix_loopless(&s->handler[j], in_loop);
        fix_loopless(&s->fin, in_loop);
    }
}

static scenario *compile_scenario(sx *x)
{
    if (x->kind != SX_LIST || x->n < 2 || !is_sym(x->v[0], "scn")) die("expected (scn ID ...)");
    scenario *sc = xmalloc(sizeof *sc);
    sbuf id = {0};
    sx_print(&id, x->v[1]);
    sc->id = id.s;
    sc->inst = xmalloc((size_t)x->n * sizeof *sc->inst);
    /* instances first, so that steps can refer to any of them */
    for (int i = 2; i < x->n; i++) {
        const sx *f = x->v[i];
        if (f->kind != SX_LIST || f->n < 2) die("bad scenario part");
        if (is_sym(f->v[0], "gen") || is_sym(f->v[0], "list") || is_sym(f->v[0], "cm")) {
            inst *in = &sc->inst[sc->ninst++];
            if (f->v[1]->kind != SX_SYM) die("instance name must be a symbol");
            in->name = strdup(f->v[1]->sym);
            in->is_gen = is_sym(f->v[0], "gen");
            in->is_cm = is_sym(f->v[0], "cm");
            in->sc = sc;
        }
    }
    int k = 0;
    for (int i = 2; i < x->n; i++) {
        sx *f = x->v[i];
        if (is_sym(f->v[0], "gen") || is_sym(f->v[0], "cm")) {
            compile_block(sc, &sc->inst[k].body, f->v + 2, f->n - 2);
            fix_loopless(&sc->inst[k].body, false);
            k++;
        } else if (is_sym(f->v[0], "list")) {
            inst *in = &sc->inst[k++];
            in->nitems = f->n - 2;
            in->items = xmalloc((size_t)in->nitems * sizeof *in->items);
            for (int j = 0; j < in->nitems; j++) in->items[j] = val_of(f->v[j + 2]);
        } else if (is_sym(f->v[0], "ops")) {
            sc->nops = f->n - 1;
            sc->ops = xmalloc((size_t)sc->nops * sizeof *sc->ops);
            sc->opsrc = f->v + 1;
            for (int j = 0; j < sc->nops; j++) compile_op(sc, &sc->ops[j], f->v[j + 1], 0);
        } else if (is_sym(f->v[0], "dense")) {
            /* the generators that are stackless (emit_dense.py) */
            for (int j = 1; j < f->n; j++) {
                inst *in = &sc->inst[inst_index(sc, f->v[j])];
                if (!in->is_gen) die("scenario %s: only a generator can be dense", sc->id);
#ifndef YC_DIFF_DENSE
                die("scenario %s: this runner has no stackless bodies (difftest.py --kinds)", sc->id);
#endif
                in->dense = true;
            }
        } else if (!is_sym(f->v[0], "flags")) {
            die("unknown scenario part");
        }
    }
    return sc;
}

static void scenario_free(scenario *sc)
{
    for (int i = 0; i < sc->ninst; i++) {
        block_free(&sc->inst[i].body);
        free(sc->inst[i].items);
        free(sc->inst[i].name);
    }
    for (int i = 0; i < sc->nops; i++) step_free(&sc->ops[i]);
    free(sc->ops);
    free(sc->inst);
    free(sc->fresh);
    for (int i = 0; i < sc->narena; i++) free(sc->arena[i]);
    free(sc->arena);
    free(sc->cms);
    free(sc->id);
    free(sc);
}

/* ======================================================================
 * The trace
 * ==================================================================== */

static sbuf out; /* the current scenario's trace */

YC_PRINTF(1, 2) static void trace(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sb_addv(&out, fmt, ap);
    va_end(ap);
    sb_add(&out, "\n");
}

/* A line of the body of `self`: its code ran (see inst.tflag). */
#define btrace(self, ...) ((self)->tflag = false, trace(__VA_ARGS__))

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

/* As oracle.py's fx: Type: msg, StopIteration(value), then the chain. */
static void fx(sbuf *b, const yc_exc *e, int depth)
{
    if (!e) {
        sb_add(b, "None");
        return;
    }
    const char *name = yc_exc_type_of(e)->name;
    const char *msg = yc_exc_msg(e);
    if (yc_exc_is(e, &yc_StopIteration)) {
        sb_add(b, "%s(", name);
        fv(b, yc_exc_value(e));
        sb_add(b, ")");
        if (*msg) sb_add(b, "!msg:%s", msg); /* CPython has no such thing */
    } else if (*msg) {
        sb_add(b, "%s: %s", name, msg);
    } else {
        sb_add(b, "%s", name);
        if (!yc_is_none(yc_exc_value(e))) {
            sb_add(b, "!value:");
            fv(b, yc_exc_value(e));
        }
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

/* A generator instance's state and subiterator, whichever its kind. */
static yc_gen_state inst_state(const inst *in)
{
    return in->dense ? yc_sgen_state_of(in->sg) : yc_gen_state_of(in->g);
}

static yc_iter *inst_yf(const inst *in)
{
    return in->dense ? yc_sgen_yieldfrom(in->sg) : yc_gen_yieldfrom(in->g);
}

static const char *inst_name_of_iter(const scenario *sc, const yc_iter *it)
{
    for (int i = 0; i < sc->ninst; i++) {
        const inst *in = &sc->inst[i];
        if (!in->freed && in->it == it) return in->name;
    }
    return "[]";
}

static void state_of(sbuf *b, const inst *in)
{
    if (!in->is_gen) {
        sb_add(b, "-");
        return;
    }
    if (in->freed) {
        sb_add(b, "freed");
        return;
    }
    static const char letters[] = "CRSX";
    yc_gen_state s = inst_state(in);
    sb_add(b, "%c", s <= YC_GEN_CLOSED ? letters[s] : '?');
    if (s == YC_GEN_SUSPENDED) {
        yc_iter *yf = inst_yf(in);
        if (yf) sb_add(b, "<%s", inst_name_of_iter(in->sc, yf));
    }
}

/* ======================================================================
 * Operations (top level, and calls from inside a body)
 * ==================================================================== */

static yc_exc *mkexc(const yc_exc_type *t, int num)
{
    if (t == &yc_StopIteration) return yc_exc_new_value(t, yc_int(num));
    return yc_exc_new(t, "e%d", num);
}

/* As oracle.py's si_differs: whether throw(StopIteration) into t is one of
 * the places where CPython 3.11 and 3.13 differ: t just created, or t's
 * delegation chain ending in an iterator without throw. */
static bool si_differs(const scenario *sc, const inst *t)
{
    yc_gen_state st = inst_state(t);
    if (st == YC_GEN_CREATED) return true;
    while (st == YC_GEN_SUSPENDED) {
        yc_iter *yf = inst_yf(t);
        if (!yf) return false;
        const inst *sub = NULL;
        for (int i = 0; i < sc->ninst; i++)
            if (sc->inst[i].is_gen && !sc->inst[i].freed && sc->inst[i].it == yf) sub = &sc->inst[i];
        if (!sub) return true; /* a list iterator */
        t = sub;
        st = inst_state(t);
    }
    return false;
}

/* The generator instance whose iterator is it, or NULL. */
static inst *gen_inst_of(scenario *sc, const yc_iter *it)
{
    for (int i = 0; i < sc->ninst; i++)
        if (sc->inst[i].is_gen && !sc->inst[i].freed && sc->inst[i].it == it) return &sc->inst[i];
    return NULL;
}

/* Before a throw or close of t: flags the delegating generators of t's
 * chain (tflag). CPython 3.11 mishandles a throw() into such a generator
 * while the delegated throw/close is still under way (it pops the
 * subiterator off the running frame: corrupted state, even SystemError);
 * 3.12 fixed it. Compat mode skips those throws, the flag telling them
 * apart the same way in oracle.py: set here, cleared when the generator's
 * own code runs (it logs a line) or the operation returns. */
static int mark_chain(scenario *sc, inst *t, inst **chain)
{
    int n = 0;
    while (t && t->is_gen && inst_state(t) == YC_GEN_SUSPENDED && n < 64) {
        yc_iter *yf = inst_yf(t);
        if (!yf) break;
        if (!t->tflag) {
            t->tflag = true;
            chain[n++] = t;
        }
        t = gen_inst_of(sc, yf);
    }
    return n;
}

/* Whether a throw into t reaches, down its delegation chain, a running
 * generator flagged by mark_chain (CPython 3.11 recurses into it and
 * corrupts the frames on the way). */
static bool throw_hits_flagged(scenario *sc, inst *t)
{
    while (t && t->is_gen) {
        yc_gen_state st = inst_state(t);
        if (st == YC_GEN_RUNNING) return t->tflag;
        if (st != YC_GEN_SUSPENDED) return false;
        yc_iter *yf = inst_yf(t);
        if (!yf) return false;
        t = gen_inst_of(sc, yf);
    }
    return false;
}

/* Performs s on its target. Writes the outcome into o; returns the status.
 * A negative status leaves the exception pending; YC_RAISE of a
 * StopIteration is reported as "return" (CPython cannot tell them apart).
 * *skipped is set for the version-dependent throw that -c skips. */
static int do_op(scenario *sc, const step *s, sbuf *o, yc_val *v, bool *skipped)
{
    inst *t = &sc->inst[s->target];
    int st;
    *v = YC_NONE;
    *skipped = false;
    switch (s->op) {
    case OP_NEXT:
        st = !t->is_gen ? yc_iter_next(t->it, v)
             : t->dense ? yc_sgen_next(t->sg, v) : yc_next(t->g, v);
        break;
    case OP_SEND:
        st = !t->is_gen ? yc_iter_send(t->it, s->val, v)
             : t->dense ? yc_sgen_send(t->sg, s->val, v) : yc_send(t->g, s->val, v);
        break;
    case OP_THROW:
        if (compat && t->is_gen &&
            ((s->type == &yc_StopIteration && si_differs(sc, t)) ||
             throw_hits_flagged(sc, t))) {
            sb_add(o, "skip");
            *skipped = true;
            return YC_OK;
        }
        {
            inst *chain[64];
            int n = mark_chain(sc, t, chain);
            yc_exc *e = mkexc(s->type, s->num);
            st = !t->is_gen ? yc_iter_throw(t->it, e, v)
                 : t->dense ? yc_sgen_throw(t->sg, e, v) : yc_throw(t->g, e, v);
            while (n > 0) chain[--n]->tflag = false;
        }
        break;
    default: {
        inst *chain[64];
        int n = mark_chain(sc, t, chain);
        st = !t->is_gen ? yc_iter_close(t->it, v)
             : t->dense ? yc_sgen_close(t->sg, v) : yc_close(t->g, v);
        while (n > 0) chain[--n]->tflag = false;
        break;
    }
    }
    if (st == YC_YIELD) {
        sb_add(o, "yield ");
        fv(o, *v);
    } else if (st == YC_RETURN) {
        sb_add(o, "return ");
        fv(o, *v);
    } else if (st == YC_OK) {
        sb_add(o, "ok");
        if (!compat) {
            sb_add(o, " ");
            fv(o, *v);
        }
    } else if (st < 0 && yc_exc_type_of(yc_err_get()) == &yc_StopIteration) {
        sb_add(o, "return ");
        fv(o, yc_exc_value(yc_err_get()));
    } else if (st < 0) {
        sb_add(o, "raise ");
        fx(o, yc_err_get(), 0);
    } else {
        sb_add(o, "status %d", st);
    }
    return st;
}

/* ======================================================================
 * The interpreter (runs on a generator's stack)
 * ==================================================================== */

static int exec_block(inst *self, const block *b);

/* Returned by call_op for a target already freed (the caller raises the
 * harness's RuntimeError its own way). */
enum { CALL_FREED = 100 };

/* What both kinds do for a call step: performs the operation and logs it.
 * Returns do_op's status (*v its value; a negative one leaves the exception
 * pending) or CALL_FREED. */
static int call_op(inst *self, const step *s, yc_val *v)
{
    scenario *sc = self->sc;
    inst *t = &sc->inst[s->target];
    if (t->freed) {
        btrace(self, "  %s call %s %s -> freed", self->name, op_names[s->op], t->name);
        return CALL_FREED;
    }
    sbuf o = {0};
    bool skipped;
    int st = do_op(sc, s, &o, v, &skipped);
    btrace(self, "  %s call %s %s -> %s", self->name, op_names[s->op], t->name, sb_str(&o));
    free(o.s);
    return st;
}

static int exec_call(inst *self, const step *s)
{
    yc_val v;
    int st = call_op(self, s, &v);
    if (st == CALL_FREED)
        yc_raisef(&yc_RuntimeError, "harness: %s is freed", self->sc->inst[s->target].name);
    if (st == YC_RETURN) yc_raise(yc_exc_new_value(&yc_StopIteration, v));
    YC_CHECK(st);
    return CTL_NORMAL;
}

static void log_caught(inst *self)
{
    sbuf b = {0};
    fx(&b, yc_exc_current(), 0);
    btrace(self, "  %s caught %s", self->name, sb_str(&b));
    free(b.s);
}

static int exec_try(inst *self, const step *s)
{
    /* Written into in the body or a handler, read after the construct. */
    volatile int ctl = CTL_NORMAL;
    volatile int fctl = CTL_NORMAL;
    const yc_exc_type *t0 = s->nexc > 0 ? s->exc_type[0] : NULL;
    const yc_exc_type *t1 = s->nexc > 1 ? s->exc_type[1] : NULL;
    const yc_exc_type *t2 = s->nexc > 2 ? s->exc_type[2] : NULL;

    if (!s->has_fin) {
        YC_TRY {
            ctl = exec_block(self, &s->body);
        } YC_EXCEPT(t0) {
            log_caught(self);
            ctl = exec_block(self, &s->handler[0]);
        } YC_EXCEPT(t1) {
            log_caught(self);
            ctl = exec_block(self, &s->handler[1]);
        } YC_EXCEPT(t2) {
            log_caught(self);
            ctl = exec_block(self, &s->handler[2]);
        } YC_END;
        return ctl;
    }
    YC_TRY {
        ctl = exec_block(self, &s->body);
    } YC_EXCEPT(t0) {
        log_caught(self);
        ctl = exec_block(self, &s->handler[0]);
    } YC_EXCEPT(t1) {
        log_caught(self);
        ctl = exec_block(self, &s->handler[1]);
    } YC_EXCEPT(t2) {
        log_caught(self);
        ctl = exec_block(self, &s->handler[2]);
    } YC_FINALLY {
        yc_val pending = self->ret; /* a return on its way out, if any */
        btrace(self, "  %s fin %d", self->name, s->num);
        fctl = exec_block(self, &s->fin);
        /* return/break/continue in finally: leave the construct, dropping
         * whatever was in flight (the cleanup attribute unlinks it) */
        if (fctl != CTL_NORMAL) goto leave;
        self->ret = pending; /* a return inside that did not happen */
    } YC_END;
    return ctl;
leave:
    return fctl;
}

/* Memory that lives until the end of the scenario. */
static void *arena_alloc(scenario *sc, size_t n)
{
    if (sc->narena == sc->caparena) {
        sc->caparena = sc->caparena ? sc->caparena * 2 : 8;
        sc->arena = xrealloc(sc->arena, (size_t)sc->caparena * sizeof *sc->arena);
    }
    return sc->arena[sc->narena++] = xmalloc(n);
}

static yc_val gen_body(void *arg);

/* A list iterator for a yfl step, freed at the end of the scenario. */
static yc_iter *fresh_list(scenario *sc, const yc_val *items, int n)
{
    yc_iter *it = yc_iter_array(items, (size_t)n);
    if (!it) die("yc_iter_array failed");
    if (sc->nfresh == sc->capfresh) {
        sc->capfresh = sc->capfresh ? sc->capfresh * 2 : 8;
        sc->fresh = xrealloc(sc->fresh, (size_t)sc->capfresh * sizeof *sc->fresh);
    }
    sc->fresh[sc->nfresh++] = it;
    return it;
}

/*
 * The managers a scenario made, each wrapped in a record that outlives it
 * and releases it only after the scenario's trace is written (output
 * discarded). When a manager is released, a generator of its that is still
 * suspended (it ignored GeneratorExit) is closed again and may run code;
 * CPython does that when the last reference goes, which depends on
 * tracebacks and reference cycles, so the oracle keeps every manager alive
 * to the end and both sides finalise them silently. This also covers a
 * generator abandoned while suspended in a with block, which never releases
 * that block's manager (docs/with.md).
 */
typedef struct cm_rec {
    yc_cm cm;
    yc_cm *inner;
} cm_rec;

static int rec_enter(yc_cm *cm, yc_val *out) { return yc_cm_enter(((cm_rec *)cm)->inner, out); }
static int rec_exit(yc_cm *cm, yc_exc *e) { return yc_cm_exit(((cm_rec *)cm)->inner, e); }

static void rec_free(yc_cm *cm)
{
    (void)cm; /* released at the end of the scenario: release_cms */
}

static void release_cms(scenario *sc)
{
    for (int i = 0; i < sc->ncms; i++) {
        yc_cm_free(sc->cms[i]->inner);
        sc->cms[i]->inner = NULL;
    }
}

static const yc_cm_type rec_type = {
    .name = "_GeneratorContextManager", .enter = rec_enter, .exit = rec_exit, .free = rec_free};

/* inner in a record released at the end of the scenario. */
static yc_cm *keep_cm(scenario *sc, yc_cm *inner)
{
    cm_rec *r = arena_alloc(sc, sizeof *r);
    r->cm.type = &rec_type;
    r->inner = inner;
    if (sc->ncms == sc->capcms) {
        sc->capcms = sc->capcms ? sc->capcms * 2 : 8;
        sc->cms = xrealloc(sc->cms, (size_t)sc->capcms * sizeof *sc->cms);
    }
    sc->cms[sc->ncms++] = r;
    return &r->cm;
}

/* A fresh manager over the cm part def: calling the decorated function.
 * Each call gets its own instance record (its `ret` value, its flag), and
 * its generator is named "cm:NAME" so that unraisable reports ignore it
 * (CPython finalises it later, silently). */
static yc_cm *new_cm(scenario *sc, const inst *def)
{
    inst *in = arena_alloc(sc, sizeof *in);
    *in = *def;
    in->tflag = false;
    char name[64];
    snprintf(name, sizeof name, "cm:%s", def->name);
    yc_cm *cm = yc_cm_gen_new(gen_body, in, &(yc_gen_opts){.name = name});
    if (!cm) die("yc_cm_gen_new failed");
    return keep_cm(sc, cm);
}

static int exec_with(inst *self, const step *s)
{
    scenario *sc = self->sc;
    const inst *def = &sc->inst[s->target];
    YC_WITH(new_cm(sc, def), v) {
        sbuf b = {0};
        fv(&b, v);
        btrace(self, "  %s with %s = %s", self->name, def->name, sb_str(&b));
        free(b.s);
        int ctl = exec_block(self, &s->body);
        if (ctl != CTL_NORMAL) return ctl; /* leaves the construct: exit runs */
    } YC_END_WITH;
    btrace(self, "  %s with %s end", self->name, def->name);
    return CTL_NORMAL;
}

/* A callback or exit function registered by a stack step. */
typedef struct stack_reg {
    inst *self;
    const stack_item *item;
} stack_reg;

static void stack_cb(void *arg)
{
    stack_reg *r = arg;
    btrace(r->self, "  %s cb %d", r->self->name, r->item->num);
    if (r->item->type) yc_raise(mkexc(r->item->type, r->item->num));
}

static int stack_push_fn(void *ud, yc_exc *e)
{
    stack_reg *r = ud;
    sbuf b = {0};
    fx(&b, e, 0);
    btrace(r->self, "  %s push %d %s", r->self->name, r->item->num, sb_str(&b));
    free(b.s);
    return r->item->suppress ? YC_EXIT_SUPPRESS : YC_EXIT_PROPAGATE;
}

static int exec_stack(inst *self, const step *s)
{
    scenario *sc = self->sc;
    yc_exitstack *es = yc_exitstack_new();
    if (!es) die("yc_exitstack_new failed");
    YC_WITH(keep_cm(sc, yc_exitstack_cm(es)), sv) {
        yc_exitstack *st = sv.p;
        btrace(self, "  %s stack", self->name);
        for (int i = 0; i < s->nsitems; i++) {
            const stack_item *it = &s->sitems[i];
            if (it->kind == SI_ENTER) {
                const inst *def = &sc->inst[it->target];
                yc_val v;
                YC_CHECK(yc_exitstack_enter(st, new_cm(sc, def), &v));
                sbuf b = {0};
                fv(&b, v);
                btrace(self, "  %s stack enter %s = %s", self->name, def->name, sb_str(&b));
                free(b.s);
                continue;
            }
            stack_reg *r = arena_alloc(sc, sizeof *r);
            r->self = self;
            r->item = it;
            if (it->kind == SI_CB) YC_CHECK(yc_exitstack_callback(st, stack_cb, r));
            else YC_CHECK(yc_exitstack_push(st, stack_push_fn, r));
        }
        int ctl = exec_block(self, &s->body);
        if (ctl != CTL_NORMAL) return ctl;
    } YC_END_WITH;
    btrace(self, "  %s stack end", self->name);
    return CTL_NORMAL;
}

static int exec_step(inst *self, const step *s)
{
    scenario *sc = self->sc;
    sbuf b = {0};
    switch (s->kind) {
    case ST_YIELD: {
        yc_val r = yc_yield(s->val);
        fv(&b, r);
        btrace(self, "  %s got %s", self->name, sb_str(&b));
        break;
    }
    case ST_RET:
        self->ret = s->val;
        return CTL_RETURN;
    case ST_RAISE:
        yc_raise(mkexc(s->type, s->num));
    case ST_RERAISE:
        yc_reraise();
    case ST_TRY:
        return exec_try(self, s);
    case ST_YF: {
        inst *t = &sc->inst[s->target];
        if (t->freed) yc_raisef(&yc_RuntimeError, "harness: %s is freed", t->name);
        yc_val r = yc_yield_from(t->it);
        fv(&b, r);
        btrace(self, "  %s yf %s = %s", self->name, t->name, sb_str(&b));
        break;
    }
    case ST_YFL: {
        yc_val r = yc_yield_from(fresh_list(sc, s->items, s->nitems));
        fv(&b, r);
        btrace(self, "  %s yfl = %s", self->name, sb_str(&b));
        break;
    }
    case ST_LOOP:
        for (int i = 0; i < s->num; i++) {
            int c = exec_block(self, &s->body);
            if (c == CTL_BREAK) break;
            if (c == CTL_CONTINUE) continue;
            if (c == CTL_RETURN) return c;
        }
        break;
    case ST_BREAK:
        return CTL_BREAK;
    case ST_CONTINUE:
        return CTL_CONTINUE;
    case ST_CALL:
        return exec_call(self, s);
    case ST_INFO:
        fx(&b, yc_exc_current(), 0);
        btrace(self, "  %s info %s", self->name, sb_str(&b));
        break;
    case ST_WITH:
        return exec_with(self, s);
    case ST_STACK:
        return exec_stack(self, s);
    case ST_STATE:
        state_of(&b, &sc->inst[s->target]);
        btrace(self, "  %s state %s=%s", self->name, sc->inst[s->target].name, sb_str(&b));
        break;
    default: /* a break/continue outside loops: nothing */
        break;
    }
    free(b.s);
    return CTL_NORMAL;
}

static int exec_block(inst *self, const block *b)
{
    for (int i = 0; i < b->n; i++) {
        int c = exec_step(self, &b->v[i]);
        if (c != CTL_NORMAL) return c;
    }
    return CTL_NORMAL;
}

static yc_val gen_body(void *arg)
{
    inst *self = arg;
    btrace(self, "  %s start", self->name);
    int c = exec_block(self, &self->body);
    return c == CTL_RETURN ? self->ret : YC_NONE;
}

#ifdef YC_DIFF_DENSE
/* ======================================================================
 * Stackless bodies (the runner variant built by emit_dense.py)
 *
 * A stackless body cannot be interpreted (no C locals across a yield, and
 * YC_STRY is lexical), so emit_dense.py writes each generator of a batch
 * as a YC_SGEN_FN body in C, in one file that includes this one with
 * YC_DIFF_DENSE defined, and defines dense_lookup. The bodies log and
 * operate through the helpers below, which share the trace and operation
 * code above with the stackful interpreter; each returns a status that the
 * body YC_SCHECKs where the interpreter would yc_raise.
 * ==================================================================== */

/* The first members of every emitted body's struct. */
typedef struct dense_head {
    yc_sgen sgen;
    inst *self;
} dense_head;

/* The emitted body of generator `name` of scenario `sid`, or NULL. */
static const yc_sgen_type *dense_lookup(const char *sid, const char *name);

static inst *d_inst(inst *self, const char *name)
{
    scenario *sc = self->sc;
    for (int i = 0; i < sc->ninst; i++)
        if (strcmp(sc->inst[i].name, name) == 0) return &sc->inst[i];
    die("scenario %s: unknown instance %s", sc->id, name);
}

static void d_start(inst *self) { btrace(self, "  %s start", self->name); }

static void d_got(inst *self, yc_val r)
{
    sbuf b = {0};
    fv(&b, r);
    btrace(self, "  %s got %s", self->name, sb_str(&b));
    free(b.s);
}

static void d_fin(inst *self, int id) { btrace(self, "  %s fin %d", self->name, id); }

static void d_info(inst *self)
{
    sbuf b = {0};
    fx(&b, yc_exc_current(), 0);
    btrace(self, "  %s info %s", self->name, sb_str(&b));
    free(b.s);
}

static void d_state(inst *self, const char *name)
{
    sbuf b = {0};
    inst *t = d_inst(self, name);
    state_of(&b, t);
    btrace(self, "  %s state %s=%s", self->name, t->name, sb_str(&b));
    free(b.s);
}

/* D_NEW: a helper made an exception for the body to raise (YC_SRAISE, as
 * the interpreter's yc_raise: chained to what is handled), taken by d_new. */
enum { D_NEW = 101 };
static yc_exc *d_new_exc;

static int d_raise_new(yc_exc *e)
{
    d_new_exc = e;
    return D_NEW;
}

static yc_exc *d_new(void)
{
    yc_exc *e = d_new_exc;
    d_new_exc = NULL;
    return e;
}

static int d_freed(const char *name)
{
    return d_raise_new(yc_exc_new(&yc_RuntimeError, "harness: %s is freed", name));
}

/* Before a yf step: YC_OK, or D_NEW when the target is freed. */
static int d_yf_check(inst *self, const char *name)
{
    return d_inst(self, name)->freed ? d_freed(name) : YC_OK;
}

static yc_iter *d_yf_it(inst *self, const char *name) { return d_inst(self, name)->it; }

static void d_yf(inst *self, const char *name, yc_val r)
{
    sbuf b = {0};
    fv(&b, r);
    btrace(self, "  %s yf %s = %s", self->name, name, sb_str(&b));
    free(b.s);
}

static yc_iter *d_yfl_it(inst *self, const yc_val *items, int n)
{
    return fresh_list(self->sc, items, n);
}

static void d_yfl(inst *self, yc_val r)
{
    sbuf b = {0};
    fv(&b, r);
    btrace(self, "  %s yfl = %s", self->name, sb_str(&b));
    free(b.s);
}

/* A call step: YC_OK, a negative status with the operation's exception
 * pending, or D_NEW (StopIteration(v) when the operation returned v; the
 * harness's error for a freed target). */
static int d_call(inst *self, int op, const char *target, yc_val v, const yc_exc_type *t, int num)
{
    step s = {.kind = ST_CALL, .op = op, .val = v, .type = t, .num = num};
    s.target = (int)(d_inst(self, target) - self->sc->inst);
    yc_val r;
    int st = call_op(self, &s, &r);
    if (st == CALL_FREED) return d_freed(target);
    if (st == YC_RETURN) return d_raise_new(yc_exc_new_value(&yc_StopIteration, r));
    return st < 0 ? st : YC_OK;
}
#endif

/* ======================================================================
 * Running a scenario
 * ==================================================================== */

static sbuf unraisable;

static void on_unraisable(yc_exc *e, const char *obj, void *ud)
{
    (void)ud;
    if (strstr(obj, "<generator object cm:")) return; /* a manager's generator */
    unraisable.len = 0;
    sb_add(&unraisable, "unraisable ");
    fx(&unraisable, e, 0);
}

static void states_line(scenario *sc)
{
    sbuf b = {0};
    sb_add(&b, "  states");
    for (int i = 0; i < sc->ninst; i++) {
        if (!sc->inst[i].is_gen) continue;
        sb_add(&b, " %s=", sc->inst[i].name);
        state_of(&b, &sc->inst[i]);
    }
    trace("%s", sb_str(&b));
    free(b.s);
}

static void run_scenario(scenario *sc)
{
    out.len = 0;
    trace("=== %s", sc->id);
    for (int i = 0; i < sc->ninst; i++) {
        inst *in = &sc->inst[i];
        if (in->is_gen && in->dense) {
#ifdef YC_DIFF_DENSE
            const yc_sgen_type *type = dense_lookup(sc->id, in->name);
            if (!type) die("scenario %s: no stackless body for %s", sc->id, in->name);
            in->sg = yc_sgen_new(type);
            if (!in->sg) die("yc_sgen_new failed");
            ((dense_head *)(void *)in->sg)->self = in;
            in->it = &in->sg->it;
#endif
        } else if (in->is_gen) {
            in->g = yc_gen_new(gen_body, in, &(yc_gen_opts){.name = in->name});
            if (!in->g) die("yc_gen_new failed");
            in->it = yc_gen_iter(in->g);
        } else {
            in->it = yc_iter_array(in->items, (size_t)in->nitems);
            if (!in->it) die("yc_iter_array failed");
        }
    }
    for (int i = 0; i < sc->nops; i++) {
        sbuf o = {0};
        sx_print(&o, sc->opsrc[i]);
        o.s[o.len - 1] = '\0'; /* the closing paren */
        trace("> %s", o.s + 1);
        o.len = 0;
        yc_val v;
        bool skipped;
        do_op(sc, &sc->ops[i], &o, &v, &skipped);
        yc_err_clear();
        trace("< %s", sb_str(&o));
        free(o.s);
        states_line(sc);
    }
    /* free every generator: delegators before their subiterators, else in
     * declaration order */
    for (;;) {
        int pick = -1, first = -1;
        for (int i = 0; i < sc->ninst && pick < 0; i++) {
            inst *in = &sc->inst[i];
            if (!in->is_gen || in->freed) continue;
            if (first < 0) first = i;
            bool busy = false;
            for (int j = 0; j < sc->ninst && !busy; j++) {
                inst *o = &sc->inst[j];
                if (!o->is_gen || o->freed || inst_state(o) != YC_GEN_SUSPENDED) continue;
                if (inst_yf(o) == in->it) busy = true;
            }
            if (!busy) pick = i;
        }
        if (first < 0) break;
        if (pick < 0) pick = first;
        inst *in = &sc->inst[pick];
        trace("> free %s", in->name);
        unraisable.len = 0;
        int st = in->dense ? yc_sgen_free(in->sg) : yc_gen_free(in->g);
        in->freed = true;
        in->g = NULL;
        in->sg = NULL;
        in->it = NULL;
        if (st != YC_OK) {
            trace("< free failed: %s", yc_status_name(st));
            yc_err_clear();
        } else {
            trace("< %s", unraisable.len ? unraisable.s : "ok");
        }
    }
    /* the managers, after the trace, output discarded (see cm_rec); before
     * the list iterators, which their generators may be delegating to */
    size_t traced = out.len;
    release_cms(sc);
    out.len = traced;
    for (int i = 0; i < sc->ninst; i++)
        if (!sc->inst[i].is_gen) yc_iter_free(sc->inst[i].it);
    for (int i = 0; i < sc->nfresh; i++) yc_iter_free(sc->fresh[i]);
    fwrite(out.s, 1, out.len, stdout);
    fflush(stdout);

    /* counts are process-wide: report what this scenario added */
    static long gens0, excs0, sgens0;
    yc_stats stats;
    yc_stats_get(&stats);
    long sgens = yc_sgen_live();
    if (stats.generators != gens0 || stats.exceptions != excs0 || sgens != sgens0 ||
        yc_err_get()) {
        fprintf(stderr, "LEAK %s: generators %+ld exceptions %+ld stackless %+ld pending=%s\n",
                sc->id, stats.generators - gens0, stats.exceptions - excs0, sgens - sgens0,
                yc_err_get() ? "yes" : "no");
        leaks++;
        yc_err_clear();
        gens0 = stats.generators;
        excs0 = stats.exceptions;
        sgens0 = sgens;
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
    yc_set_unraisable_hook(on_unraisable, NULL);
    int nfiles = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-c")) {
            compat = true;
        } else {
            FILE *f = fopen(argv[i], "r");
            if (!f) die("%s: %s", argv[i], strerror(errno));
            char *text = read_all(f);
            fclose(f);
            run_text(text);
            free(text);
            nfiles++;
        }
    }
    if (!nfiles) {
        char *text = read_all(stdin);
        run_text(text);
        free(text);
    }
    free(out.s);
    free(unraisable.s);
    yc_stack_pool_trim();
    yc_sgen_pool_trim();
    return leaks ? 3 : 0;
}
