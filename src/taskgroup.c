/*
 * Task groups: asyncio.TaskGroup (Lib/asyncio/taskgroups.py of 3.13) as a
 * manager for YC_WITH. The exit waits for every child; the first failure
 * cancels the others and the body (the parent task), undone by uncancel
 * at the exit; the failures come out as one exception group, except
 * SystemExit and KeyboardInterrupt, which come out bare.
 *
 * The group is referenced by its manager and by the done callback of each
 * child still running, so a child finishing after the manager is gone
 * (freed without its exit) finds it alive.
 */
#define _GNU_SOURCE
#include "loop.h"
#include "task.h"

#include <stdio.h>
#include <string.h>

#define TG_MAGIC 0x79635467u /* "ycTg" */

/* A child still running: a node of the group's list, holding the child's
 * done callback (its user data is the node; it holds a reference to the
 * group), so that a child costs one block. */
typedef struct tg_child {
    yc__fcb cb; /* on the child: tg_on_task_done, then child_release */
    struct tg_child *prev, *next;
    yc_task *task; /* referenced */
    yc_taskgroup *g;
} tg_child;

struct yc_taskgroup {
    yc_cm cm; /* first: the manager */
    uint32_t magic;
    int refs;
    bool entered, exiting, aborting, parent_cancel_requested;
    yc_loop *loop;
    yc_task *parent;     /* referenced from enter */
    tg_child *first, *last; /* the children still running, oldest first */
    size_t ntasks;
    yc_exc **errors;     /* the children's failures, referenced */
    size_t nerrors, caperrors;
    yc_exc *base_error;  /* the first SystemExit or KeyboardInterrupt */
    yc_task *on_completed; /* what the exit waits on */
};

static bool tg_ok(const yc_taskgroup *g) { return g && g->magic == TG_MAGIC; }

static void tg_unref(void *p)
{
    yc_taskgroup *g = p;
    if (--g->refs > 0) return; /* each child's node holds one */
    for (size_t i = 0; i < g->nerrors; i++) yc_exc_unref(g->errors[i]);
    yc__free(g->errors);
    yc_exc_unref(g->base_error);
    yc_task_unref(g->parent);
    yc_task_unref(g->on_completed);
    g->magic = 0;
    yc__free(g);
}

int yc_taskgroup_format(const yc_taskgroup *g, char *buf, size_t n)
{
    if (!buf) n = 0;
    if (!tg_ok(g)) return snprintf(buf, n, "<invalid task group>");
    char info[96] = "";
    size_t k = 0;
    if (g->ntasks) k += (size_t)snprintf(info + k, sizeof info - k, " tasks=%zu", g->ntasks);
    if (g->nerrors) k += (size_t)snprintf(info + k, sizeof info - k, " errors=%zu", g->nerrors);
    if (g->aborting) snprintf(info + k, sizeof info - k, " cancelling");
    else if (g->entered) snprintf(info + k, sizeof info - k, " entered");
    return snprintf(buf, n, "<TaskGroup%s>", info);
}

/* RuntimeError "TaskGroup <repr> ..." (fmt: what follows the repr). */
static int tg_error(const yc_taskgroup *g, const char *what)
{
    char repr[128];
    yc_taskgroup_format(g, repr, sizeof repr);
    return yc__fail(YC_EINVAL, &yc_RuntimeError, "TaskGroup %s %s", repr, what);
}

static bool is_base_error(const yc_exc *e)
{
    return yc_exc_is(e, &yc_SystemExit) || yc_exc_is(e, &yc_KeyboardInterrupt);
}

/* _abort: cancels every child not done (in the order they were made). */
static void tg_abort(yc_taskgroup *g)
{
    g->aborting = true;
    for (tg_child *c = g->first; c; c = c->next)
        if (c->task->state == FUT_PENDING) yc_task_cancel(c->task, NULL);
}

static void child_unlink(yc_taskgroup *g, tg_child *c);

/* A child's node goes: after its callback ran, or unrun (its loop closed:
 * then it is still linked). */
static void child_release(void *p)
{
    tg_child *c = p;
    yc_taskgroup *g = c->g;
    if (c->task) child_unlink(g, c);
    yc__free(c);
    tg_unref(g);
}

static bool grow(void **v, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap) return true;
    size_t c = *cap ? 2 * *cap : 8;
    void *p = yc__realloc(*v, c * size);
    if (!p) return false;
    *v = p;
    *cap = c;
    return true;
}

static void child_unlink(yc_taskgroup *g, tg_child *c)
{
    if (c->prev) c->prev->next = c->next;
    else g->first = c->next;
    if (c->next) c->next->prev = c->prev;
    else g->last = c->prev;
    g->ntasks--;
    yc_task_unref(c->task);
    c->task = NULL;
}

/* _on_task_done(task). The error list has room: the spawn reserved it. */
static void task_done(yc_taskgroup *g, yc_task *t)
{
    if (g->on_completed && !g->ntasks && g->on_completed->state == FUT_PENDING)
        yc__fut_set_result(g->on_completed, yc_bool(true));
    if (t->state == FUT_CANCELLED) return;
    t->log_tb = false; /* task.exception() */
    yc_exc *e = t->exc;
    if (!e) return;
    g->errors[g->nerrors++] = yc_exc_ref(e);
    if (is_base_error(e) && !g->base_error) g->base_error = yc_exc_ref(e);
    if (g->parent->state != FUT_PENDING) {
        char a[300], b[300], text[700];
        yc_task_format(t, a, sizeof a);
        yc_task_format(g->parent, b, sizeof b);
        snprintf(text, sizeof text,
                 "Task %s has errored out but its parent task %s is already completed", a, b);
        yc__loop_report(e, text);
        return;
    }
    if (!g->aborting && !g->parent_cancel_requested) {
        tg_abort(g);
        g->parent_cancel_requested = true;
        yc_task_cancel(g->parent, NULL);
    }
}

static void tg_on_task_done(yc_task *t, void *ud)
{
    tg_child *c = ud;
    child_unlink(c->g, c);
    task_done(c->g, t);
}

yc_task *yc_taskgroup_spawn(yc_taskgroup *g, yc_gen_fn fn, void *arg, const yc_task_opts *opts)
{
    if (!tg_ok(g)) {
        yc__fail(YC_EINVAL, &yc_TypeError, "not a task group");
        return NULL;
    }
    if (!g->entered) {
        tg_error(g, "has not been entered");
        return NULL;
    }
    if (g->exiting && !g->ntasks) {
        tg_error(g, "is finished");
        return NULL;
    }
    if (g->aborting) {
        tg_error(g, "is shutting down");
        return NULL;
    }
    /* room for the child and for its error (and the body's), reserved
     * before it can run */
    tg_child *c = yc__malloc(sizeof *c);
    if (!c || !grow((void **)&g->errors, &g->caperrors, g->nerrors + g->ntasks + 2,
                    sizeof *g->errors)) {
        yc__free(c);
        yc__fail(YC_ENOMEM, &yc_MemoryError, NULL);
        return NULL;
    }
    yc_task *t = yc_loop_spawn(g->loop, fn, arg, opts);
    if (!t) {
        yc__free(c);
        return NULL;
    }
    if (t->state != FUT_PENDING) { /* finished eagerly */
        yc__free(c);
        task_done(g, t);
        return t;
    }
    *c = (tg_child){.cb = {.fn = tg_on_task_done, .ud = c, .release = child_release},
                    .prev = g->last, .task = yc_task_ref(t), .g = g};
    g->refs++;
    if (yc__fut_add_fcb(t, &c->cb) < 0) {
        g->refs--;
        yc_task_unref(t); /* c->task's */
        yc__free(c);
        yc_task_cancel(t, NULL); /* cannot watch it: it must not run unwatched */
        yc_task_unref(t);
        return NULL;
    }
    if (g->last) g->last->next = c;
    else g->first = c;
    g->last = c;
    g->ntasks++;
    return t;
}

static int tg_enter(yc_cm *cm, yc_val *out)
{
    yc_taskgroup *g = (yc_taskgroup *)cm;
    if (g->entered) return tg_error(g, "has already been entered");
    yc_loop *L = yc__loop_running();
    if (!L) return yc__no_loop_error();
    yc_task *parent = yc_task_current();
    if (!parent) return tg_error(g, "cannot determine the parent task");
    /* what the exit waits on, made now: the exit cannot fail for memory
     * while children still run (they would outlive the group) */
    if (!g->on_completed && !(g->on_completed = yc__fut_new(L))) return YC_ENOMEM;
    g->loop = L;
    g->parent = yc_task_ref(parent);
    g->entered = true;
    *out = yc_ptr(g);
    return YC_OK;
}

/* Raises (as an exit's failure) e, referenced here. */
static int tg_raise(yc_exc *e)
{
    yc__err_set(yc__cur(), yc_exc_ref(e));
    return YC_RAISE;
}

/* The exit's wait for every child (__aexit__'s while loop). Returns YC_OK,
 * or a failure other than CancelledError (the task being destroyed);
 * *propagate becomes the CancelledError to re-raise when the parent was
 * cancelled from outside meanwhile. */
static int tg_wait_children(yc_taskgroup *g, yc_exc **propagate)
{
    yc_task *t = yc__task_running("TaskGroup's exit");
    if (!t) return YC_EINVAL;
    while (g->ntasks) {
        /* made at enter; only the group holds it between waits */
        if (g->on_completed->state != FUT_PENDING && !yc__fut_reset(g->on_completed))
            return yc__fail(YC_EINVAL, &yc_RuntimeError, "TaskGroup: its wait is held elsewhere");
        int st = yc__task_await(t, g->on_completed, NULL);
        if (st >= 0) continue;
        yc_exc *ex = yc_err_take();
        if (!yc_exc_is(ex, &yc_CancelledError)) {
            yc_err_set(ex);
            return st;
        }
        if (!g->aborting) { /* the parent is cancelled from outside */
            yc_exc_unref(*propagate);
            *propagate = ex;
            tg_abort(g);
        } else {
            yc_exc_unref(ex);
        }
    }
    return YC_OK;
}

/* __aexit__(e). */
static int tg_exit(yc_cm *cm, yc_exc *e)
{
    yc_taskgroup *g = (yc_taskgroup *)cm;
    g->exiting = true;
    if (e && is_base_error(e) && !g->base_error) g->base_error = yc_exc_ref(e);
    yc_exc *propagate = yc_exc_is(e, &yc_CancelledError) ? yc_exc_ref(e) : NULL;
    if (e && !g->aborting) tg_abort(g);
    int st = tg_wait_children(g, &propagate);
    if (st < 0) {
        yc_exc_unref(propagate);
        return st;
    }
    if (g->base_error) { /* raise self._base_error: chained as a raise here */
        yc_exc_unref(propagate);
        yc__exc_chain(g->base_error, yc__handled(yc__cur()));
        return tg_raise(g->base_error);
    }
    if (g->parent_cancel_requested && yc_task_uncancel(g->parent) == 0) {
        yc_exc_unref(propagate); /* no cancellation left to pass on */
        propagate = NULL;
    }
    if (propagate && !g->nerrors) {
        st = tg_raise(propagate);
        yc_exc_unref(propagate);
        return st;
    }
    yc_exc_unref(propagate);
    if (e && !yc_exc_is(e, &yc_CancelledError)) {
        if (!grow((void **)&g->errors, &g->caperrors, g->nerrors + 1, sizeof *g->errors))
            return yc__fail(YC_ENOMEM, &yc_MemoryError, NULL);
        g->errors[g->nerrors++] = yc_exc_ref(e);
    }
    if (!g->nerrors) return YC_EXIT_PROPAGATE;
    if (yc_task_cancelling(g->parent)) { /* keep an outside cancel's count */
        yc_task_uncancel(g->parent);
        yc_task_cancel(g->parent, NULL);
    }
    yc_exc *group = yc_exc_group_new("unhandled errors in a TaskGroup", g->errors, g->nerrors);
    g->nerrors = 0; /* taken */
    if (!group) return YC_RAISE;
    yc__exc_chain(group, yc__handled(yc__cur())); /* e, or what the caller handles */
    yc_exc_set_cause(group, NULL); /* raise ... from None */
    yc__err_set(yc__cur(), group);
    return YC_RAISE;
}

static void tg_free(yc_cm *cm) { tg_unref(cm); }

static const yc_cm_type taskgroup_type = {
    .name = "TaskGroup", .enter = tg_enter, .exit = tg_exit, .free = tg_free};

yc_cm *yc_cm_taskgroup(void)
{
    yc_taskgroup *g = yc__malloc(sizeof *g);
    if (!g) {
        yc__fail(YC_ENOMEM, &yc_MemoryError, NULL);
        return NULL;
    }
    memset(g, 0, sizeof *g);
    g->cm.type = &taskgroup_type;
    g->magic = TG_MAGIC;
    g->refs = 1;
    return &g->cm;
}

yc_taskgroup *yc_taskgroup_of(yc_cm *cm)
{
    return cm && cm->type == &taskgroup_type ? (yc_taskgroup *)cm : NULL;
}
