/*
 * Printing exceptions as CPython 3.13's traceback module does
 * (TracebackException and its format): the chain of causes and contexts,
 * oldest first, and each group as a tree of its members.
 *
 * Two passes, as there. The first makes a node per exception shown and
 * decides which cause and context each node shows, with one set of the
 * exceptions met across the whole tree: a cause or context already met is
 * not shown again (this also ends cycles). The order matters and is
 * CPython's: a stack of nodes, where a node pushes its cause, its context,
 * then its members, so the last member is looked at first. The second pass
 * prints the nodes; it recurses once per level of group nesting, which
 * max_group_depth bounds.
 */
#define _GNU_SOURCE /* strerror_r returning the text */
#include "internal.h"

#include <inttypes.h>
#include <string.h>

#define MAX_GROUP_WIDTH 15 /* members printed per group */
#define MAX_GROUP_DEPTH 10 /* levels of nested groups printed */
#define NO_NODE UINT32_MAX

static const char cause_msg[] =
    "\nThe above exception was the direct cause of the following exception:\n\n";
static const char context_msg[] =
    "\nDuring handling of the above exception, another exception occurred:\n\n";

/* ---- the string form ------------------------------------------------ */

/* str(e): a group's "msg (N sub-exceptions)"; for KeyError (and its
 * subtypes) the repr of its one argument, as KeyError.__str__ does; else
 * the message, or the value's repr (str and repr agree for every kind of
 * yc_val), or "" without arguments. An errno exception's message is
 * already "[Errno N] strerror: detail". */
static void exc_str(yc__out *o, const yc_exc *e)
{
    bool key = yc_type_is_subtype(e->type, &yc_KeyError) && !e->err;
    if (e->nexcs) {
        yc__out_put(o, yc_exc_msg(e), strlen(yc_exc_msg(e)));
        yc__out_printf(o, " (%" PRIu32 " sub-exception%s)", e->nexcs, e->nexcs > 1 ? "s" : "");
    } else if (e->msg && *e->msg) {
        if (key) yc__repr_str(o, e->msg, strlen(e->msg));
        else yc__out_put(o, e->msg, strlen(e->msg));
    } else if (!yc_is_none(e->value)) {
        yc__repr_val(o, e->value, 0);
    }
}

int yc_exc_str(const yc_exc *e, char *buf, size_t n)
{
    yc__out o = {buf, buf ? n : 0, 0};
    if (!e) yc__out_put(&o, "None", 4);
    else exc_str(&o, e);
    return yc__out_end(&o);
}

int yc_exc_format(const yc_exc *e, char *buf, size_t n)
{
    yc__out o = {buf, buf ? n : 0, 0};
    if (!e) {
        yc__out_put(&o, "None", 4);
        return yc__out_end(&o);
    }
    const char *name = yc__type_name(e->type);
    yc__out_put(&o, name, strlen(name));
    size_t before = o.len;
    yc__out_put(&o, ": ", 2);
    exc_str(&o, e);
    if (o.len == before + 2) o.len = before; /* empty str: the name alone */
    return yc__out_end(&o);
}

#define REPR_DEPTH 64 /* nested groups shown by yc_exc_repr; deeper ones as ... */

/* repr(e): Type(args), where args are what Python's constructor got: the
 * message, the value, (errno, strerror) for an errno exception, (msg,
 * [members]) for a group, nothing otherwise. */
static void exc_repr(yc__out *o, const yc_exc *e, int depth)
{
    const char *name = yc__type_name(e->type);
    yc__out_put(o, name, strlen(name));
    yc__out_put(o, "(", 1);
    if (e->nexcs) {
        yc__repr_str(o, yc_exc_msg(e), strlen(yc_exc_msg(e)));
        yc__out_put(o, ", [", 3);
        for (uint32_t i = 0; i < e->nexcs; i++) {
            if (i) yc__out_put(o, ", ", 2);
            if (depth >= REPR_DEPTH) yc__out_put(o, "...", 3);
            else exc_repr(o, e->excs[i], depth + 1);
        }
        yc__out_put(o, "]", 1);
    } else if (e->err) {
        char ebuf[128];
        const char *es = strerror_r(e->err, ebuf, sizeof ebuf);
        yc__out_printf(o, "%d, ", e->err);
        yc__repr_str(o, es, strlen(es));
    } else if (e->msg && *e->msg) {
        yc__repr_str(o, e->msg, strlen(e->msg));
    } else if (!yc_is_none(e->value)) {
        yc__repr_val(o, e->value, 0);
    }
    yc__out_put(o, ")", 1);
}

int yc_exc_repr(const yc_exc *e, char *buf, size_t n)
{
    yc__out o = {buf, buf ? n : 0, 0};
    if (!e) yc__out_put(&o, "None", 4);
    else exc_repr(&o, e, 0);
    return yc__out_end(&o);
}

/* ---- first pass: the nodes ------------------------------------------ */

/* One exception as shown at one place in the tree (TracebackException). */
typedef struct pnode {
    const yc_exc *e;
    uint32_t cause, context; /* the nodes shown as its cause and context, or NO_NODE */
    uint32_t members;        /* a group's first member node; the others follow it */
    uint32_t newer;          /* format_node: the next exception of the chain printed */
} pnode;

typedef struct ptree {
    pnode *v, small[16];
    uint32_t n, cap;
    uint32_t *todo, todo_small[16]; /* nodes whose links are still to make */
    uint32_t ntodo, todo_cap;
    yc__ptrset seen;                /* every exception with a node */
} ptree;

/* Makes room for one more element in an array that starts inline. */
static bool grow(void **v, void *small, uint32_t n, uint32_t *cap, size_t size)
{
    if (n < *cap) return true;
    if (*cap > UINT32_MAX / 2 - 1) return false;
    void *big = yc__malloc(2 * (size_t)*cap * size);
    if (!big) return false;
    memcpy(big, *v, (size_t)n * size);
    if (*v != small) yc__free(*v);
    *v = big;
    *cap *= 2;
    return true;
}

static uint32_t node_new(ptree *t, const yc_exc *e)
{
    if (!grow((void **)&t->v, t->small, t->n, &t->cap, sizeof *t->v)) return NO_NODE;
    t->v[t->n] = (pnode){e, NO_NODE, NO_NODE, NO_NODE, NO_NODE};
    return t->n++;
}

/* A node for e (a cause or context) unless e is NULL or met before:
 * NO_NODE then, and also when out of memory (*oom set). */
static uint32_t node_unseen(ptree *t, const yc_exc *e, bool *oom)
{
    if (!e) return NO_NODE;
    int added = yc__ptrset_add(&t->seen, e);
    uint32_t x = added > 0 ? node_new(t, e) : NO_NODE;
    *oom |= added < 0 || (added > 0 && x == NO_NODE);
    return x;
}

static bool todo_push(ptree *t, uint32_t x)
{
    if (x == NO_NODE) return true;
    if (!grow((void **)&t->todo, t->todo_small, t->ntodo, &t->todo_cap, sizeof *t->todo))
        return false;
    t->todo[t->ntodo++] = x;
    return true;
}

/* The body of TracebackException.__init__'s queue loop for node x: makes
 * the nodes of the cause shown, of the context shown (compact: only
 * without a cause and when not suppressed) and of every member, and queues
 * them in that order. Returns false when out of memory. */
static bool expand(ptree *t, uint32_t x)
{
    const yc_exc *e = t->v[x].e;
    bool oom = false;
    uint32_t cause = node_unseen(t, e->cause, &oom);
    uint32_t context =
        cause == NO_NODE && !e->suppress_context ? node_unseen(t, e->context, &oom) : NO_NODE;
    uint32_t first = t->n;
    for (uint32_t i = 0; i < e->nexcs && !oom; i++)
        oom = yc__ptrset_add(&t->seen, e->excs[i]) < 0 || node_new(t, e->excs[i]) == NO_NODE;
    if (oom) return false;
    pnode *p = &t->v[x]; /* after node_new, which may move the array */
    p->cause = cause;
    p->context = context;
    p->members = e->nexcs ? first : NO_NODE;
    bool ok = todo_push(t, cause) && todo_push(t, context);
    for (uint32_t i = 0; ok && i < e->nexcs; i++) ok = todo_push(t, first + i);
    return ok;
}

/* The nodes of everything printed for e, e's the first. */
static bool build(ptree *t, const yc_exc *e)
{
    if (node_new(t, e) == NO_NODE || yc__ptrset_add(&t->seen, e) < 0 || !todo_push(t, 0))
        return false;
    while (t->ntodo)
        if (!expand(t, t->todo[--t->ntodo])) return false;
    return true;
}

/* ---- second pass: printing ------------------------------------------ */

/* _ExceptionPrintContext: where the printing is in the tree. */
typedef struct pctx {
    FILE *f;
    pnode *v;
    int depth;       /* exception_group_depth */
    bool need_close; /* the last member's closing line is still to print */
} pctx;

/* The indentation of the current group depth, then inside a group the
 * margin character and a space. */
static void margin(const pctx *c, char m)
{
    fprintf(c->f, "%*s", 2 * c->depth, "");
    if (c->depth) fprintf(c->f, "%c ", m);
}

/* _ExceptionPrintContext.emit: each line of text behind the margin. */
static void emit(const pctx *c, const char *text, char m)
{
    while (*text) {
        size_t len = strcspn(text, "\n");
        margin(c, m);
        fwrite(text, 1, len + (text[len] == '\n'), c->f);
        text += len + (text[len] == '\n');
    }
}

/* "Type: message" and a newline, emitted; a message too long for the
 * buffer on the stack is formatted on the heap (or cut when that fails).
 * noinline: the buffer stays out of the recursive printers' frames. */
__attribute__((noinline)) static void emit_exc_line(const pctx *c, const yc_exc *e)
{
    char small[512], *buf = small;
    int len = yc_exc_format(e, NULL, 0);
    size_t size = (len > 0 ? (size_t)len : 0) + 2;
    if (size > sizeof small && !(buf = yc__malloc(size))) {
        buf = small;
        size = sizeof small;
    }
    yc_exc_format(e, buf, size - 1);
    strcat(buf, "\n");
    emit(c, buf, '|');
    if (buf != small) yc__free(buf);
}

/* The title line, then e's traceback entries, outermost first. A yield
 * site has no C function name: it names the generator, as CPython names
 * the generator function's frame. */
static void emit_traceback(const pctx *c, const yc_exc *e, const char *title, char m)
{
    emit(c, title, m);
    for (uint32_t i = e->ntb; i-- > 0;) {
        const yc_tb_entry *t = &e->tb[i];
        margin(c, '|');
        fprintf(c->f, "  File \"%s\", line %d, in %s", t->file ? t->file : "?", t->line,
                t->func ? t->func : t->where ? t->where : "?");
        if (t->func && t->where && strcmp(t->where, yc__main_name) != 0)
            fprintf(c->f, " (generator '%s')", t->where);
        fputc('\n', c->f);
    }
}

static void format_node(pctx *c, uint32_t x);

/* The member separators and members of the group of node x (the group
 * branch of TracebackException.format). The closing line of the last
 * member is printed once, by the innermost group that ends there. */
static void print_group(pctx *c, uint32_t x)
{
    const pnode *p = &c->v[x];
    const yc_exc *e = p->e;
    bool top = c->depth == 0;
    if (top) c->depth++;
    if (e->ntb)
        emit_traceback(c, e, "Exception Group Traceback (most recent call last):\n",
                       top ? '+' : '|');
    emit_exc_line(c, e);
    uint32_t n = e->nexcs <= MAX_GROUP_WIDTH ? e->nexcs : MAX_GROUP_WIDTH + 1;
    c->need_close = false;
    for (uint32_t i = 0; i < n; i++) {
        bool last = i == n - 1, cut = i >= MAX_GROUP_WIDTH;
        if (last) c->need_close = true;
        fprintf(c->f, "%*s%s+---------------- ", 2 * c->depth, "", i == 0 ? "+-" : "  ");
        if (cut) fprintf(c->f, "... ----------------\n");
        else fprintf(c->f, "%" PRIu32 " ----------------\n", i + 1);
        c->depth++;
        if (!cut) {
            format_node(c, p->members + i);
        } else {
            char more[64];
            uint32_t left = e->nexcs - MAX_GROUP_WIDTH;
            snprintf(more, sizeof more, "and %" PRIu32 " more exception%s\n", left,
                     left > 1 ? "s" : "");
            emit(c, more, '|');
        }
        if (last && c->need_close) {
            fprintf(c->f, "%*s+------------------------------------\n", 2 * c->depth, "");
            c->need_close = false;
        }
        c->depth--;
    }
    if (top) c->depth = 0;
}

/* One exception of a chain: its traceback and line, or its group tree. */
static void print_one(pctx *c, uint32_t x)
{
    const yc_exc *e = c->v[x].e;
    if (!e->nexcs) {
        if (e->ntb) emit_traceback(c, e, "Traceback (most recent call last):\n", '|');
        emit_exc_line(c, e);
    } else if (c->depth > MAX_GROUP_DEPTH) {
        char deep[64];
        snprintf(deep, sizeof deep, "... (max_group_depth is %d)\n", MAX_GROUP_DEPTH);
        emit(c, deep, '|');
    } else {
        print_group(c, x);
    }
}

/* TracebackException.format of node x: its chain of shown causes and
 * contexts, oldest first, each after the sentence that links it to the
 * one before. The chain is walked once to thread it oldest first. */
static void format_node(pctx *c, uint32_t x)
{
    uint32_t oldest = NO_NODE;
    for (uint32_t y = x; y != NO_NODE;) {
        pnode *p = &c->v[y];
        p->newer = oldest;
        oldest = y;
        y = p->cause != NO_NODE ? p->cause : p->context;
    }
    for (uint32_t y = oldest; y != NO_NODE; y = c->v[y].newer) {
        if (c->v[y].cause != NO_NODE) emit(c, cause_msg, '|');
        else if (c->v[y].context != NO_NODE) emit(c, context_msg, '|');
        print_one(c, y);
    }
}

void yc_exc_print(const yc_exc *e, FILE *f)
{
    if (!f) f = stderr;
    if (!e) {
        fputs("None\n", f);
        return;
    }
    ptree t = {.cap = 16, .todo_cap = 16};
    t.v = t.small;
    t.todo = t.todo_small;
    yc__ptrset_init(&t.seen);
    pctx c = {.f = f};
    if (build(&t, e)) {
        c.v = t.v;
        format_node(&c, 0);
    } else {
        emit_exc_line(&c, e); /* out of memory: e's own line */
    }
    yc__ptrset_free(&t.seen);
    if (t.v != t.small) yc__free(t.v);
    if (t.todo != t.todo_small) yc__free(t.todo);
}

/* exc.c, above this file in the layer, prints its default reports through
 * this hook (internal.h, "Hooks"). */
__attribute__((constructor)) static void install_print_hook(void)
{
    yc__exc_print_hook = yc_exc_print;
}

int yc_err_print(void)
{
    yc_exc *e = yc_err_take();
    if (!e) return YC_EINVAL;
    fflush(stdout); /* what the program printed comes first, as in Python */
    yc_exc_print(e, stderr);
    yc_exc_unref(e);
    return YC_OK;
}
