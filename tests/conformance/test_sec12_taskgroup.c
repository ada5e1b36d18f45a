/*
 * Conformance: python-semantics.md 12.32-12.39, asyncio.TaskGroup as a
 * YC_WITH manager, on the virtual clock. Expected logs are CPython 3.13's
 * for the same program, except where asyncio iterates a set of tasks (the
 * order in which a failing group cancels its children): yieldc cancels
 * them in creation order, CPython in the set's order.
 */
#include "loop_util.h"

static yc_val fail_after(void *arg)
{
    const char *msg = arg;
    double d = msg[0] == 'x' ? 0.1 : 0.1; /* every failure here is at 100 ms */
    yc_sleep(d);
    LOG("raise %s at %ld", msg, now_ms());
    if (msg[1] == 'K') yc_raise(yc_exc_new(&yc_KeyError, "%s", msg));
    if (msg[1] == 'S') yc_raise(yc_exc_new_value(&yc_SystemExit, yc_int(3)));
    yc_raise(yc_exc_new(&yc_ValueError, "%s", msg));
}

static yc_val sibling(void *arg)
{
    YC_TRY {
        yc_sleep(10);
        LOG("%s done", (const char *)arg);
    } YC_EXCEPT(&yc_CancelledError) {
        LOG("%s cancelled at %ld", (const char *)arg, now_ms());
        yc_reraise();
    } YC_END;
    return YC_NONE;
}

static void spawn(yc_taskgroup *g, yc_gen_fn fn, const char *arg)
{
    yc_task *t = yc_taskgroup_spawn(g, fn, (void *)arg, NULL);
    if (!t) YC_CHECK(-1);
    yc_task_unref(t);
}

static void log_group(const yc_exc *eg)
{
    char text[200];
    yc_exc_format(eg, text, sizeof text);
    LOG("%s", text);
    for (size_t i = 0; i < yc_exc_group_size(eg); i++) log_exc(" member", yc_exc_group_item(eg, i));
}

static yc_val child_fails(void *arg)
{
    (void)arg;
    YC_TRY {
        YC_WITH(yc_cm_taskgroup(), g) {
            spawn(g.p, sibling, "s1");
            spawn(g.p, fail_after, "v1");
            spawn(g.p, sibling, "s2");
            YC_TRY {
                yc_sleep(10);
            } YC_EXCEPT(&yc_CancelledError) {
                LOG("body cancelled at %ld", now_ms());
                yc_reraise();
            } YC_END;
        } YC_END_WITH;
    } YC_EXCEPT(&yc_ExceptionGroup) {
        log_group(yc_exc_current());
    } YC_END;
    LOG("parent cancelling %d", yc_task_cancelling(yc_task_current()));
    return YC_NONE;
}

TEST(sec12_32_a_failing_child_cancels_its_siblings_and_the_body)
{
    /* [12.32] */
    log_clear();
    CHECK_ST(run_v(child_fails, NULL, NULL), YC_OK);
    CHECK_LOG_IS("raise v1 at 100|s1 cancelled at 100|s2 cancelled at 100|body cancelled at 100|"
                 "ExceptionGroup: unhandled errors in a TaskGroup (1 sub-exception)|"
                 " member: ValueError: v1|parent cancelling 0");
}

static yc_val two_fail(void *arg)
{
    (void)arg;
    YC_TRY {
        YC_WITH(yc_cm_taskgroup(), g) {
            spawn(g.p, fail_after, "a");
            spawn(g.p, fail_after, "bK");
            spawn(g.p, sibling, "s");
        } YC_END_WITH;
    } YC_EXCEPT(&yc_BaseExceptionGroup) {
        log_group(yc_exc_current());
    } YC_END;
    return YC_NONE;
}

TEST(sec12_33_two_failures_in_one_iteration_are_grouped)
{
    /* [12.33] both fail in the same iteration, before the group can
     * cancel the second */
    log_clear();
    CHECK_ST(run_v(two_fail, NULL, NULL), YC_OK);
    CHECK_LOG_IS("raise a at 100|raise bK at 100|s cancelled at 100|"
                 "ExceptionGroup: unhandled errors in a TaskGroup (2 sub-exceptions)|"
                 " member: ValueError: a| member: KeyError: 'bK'");
}

static yc_val body_raises(void *arg)
{
    (void)arg;
    YC_TRY {
        YC_WITH(yc_cm_taskgroup(), g) {
            spawn(g.p, sibling, "s");
            yc_sleep(0.1);
            yc_raise(yc_exc_new(&yc_KeyError, "body"));
        } YC_END_WITH;
    } YC_EXCEPT(&yc_ExceptionGroup) {
        yc_exc *eg = yc_exc_current();
        log_group(eg);
        yc_exc *match = NULL, *rest = NULL;
        CHECK_ST(yc_exc_group_split(eg, &yc_KeyError, &match, &rest), YC_OK);
        /* except* KeyError: a new group of all the members, nothing left */
        CHECK(match != eg && yc_exc_group_size(match) == 1 && rest == NULL);
        CHECK(yc_exc_group_item(match, 0) == yc_exc_group_item(eg, 0));
        yc_exc_unref(match);
    } YC_END;
    return YC_NONE;
}

TEST(sec12_34_the_body_s_exception_joins_the_group)
{
    /* [12.34] */
    log_clear();
    CHECK_ST(run_v(body_raises, NULL, NULL), YC_OK);
    CHECK_LOG_IS("s cancelled at 100|"
                 "ExceptionGroup: unhandled errors in a TaskGroup (1 sub-exception)|"
                 " member: KeyError: 'body'");
}

static yc_val system_exit(void *arg)
{
    (void)arg;
    YC_TRY {
        YC_WITH(yc_cm_taskgroup(), g) {
            spawn(g.p, sibling, "s");
            spawn(g.p, fail_after, "xS");
        } YC_END_WITH;
    } YC_EXCEPT(&yc_SystemExit) {
        log_exc("bare", yc_exc_current());
        yc_reraise();
    } YC_END;
    return YC_NONE;
}

TEST(sec12_35_SystemExit_propagates_bare)
{
    /* [12.35] and asyncio.run ends with it */
    log_clear();
    capture_reports();
    CHECK_ST(run_v(system_exit, NULL, NULL), YC_RAISE);
    CHECK_EXC(&yc_SystemExit, "SystemExit: 3");
    CHECK_LOG_IS("raise xS at 100|s cancelled at 100|bare: SystemExit: 3");
    release_reports();
}

static yc_val returns_none(void *arg)
{
    (void)arg;
    return YC_NONE;
}

static void log_spawn_error(const char *what, yc_taskgroup *g)
{
    CHECK(yc_taskgroup_spawn(g, returns_none, NULL, NULL) == NULL);
    log_exc(what, yc_err_get());
    yc_err_clear();
}

static yc_val misuse(void *arg)
{
    (void)arg;
    yc_cm *cm = yc_cm_taskgroup();
    yc_taskgroup *g = yc_taskgroup_of(cm);
    log_spawn_error("before", g);
    YC_WITH(cm, bound) {
        CHECK(bound.p == g);
        spawn(g, returns_none, NULL);
        log_spawn_error("enter twice", NULL);
    } YC_END_WITH;
    YC_TRY {
        YC_WITH(yc_cm_taskgroup(), g2) {
            spawn(g2.p, fail_after, "x");
            YC_TRY {
                yc_sleep(1);
            } YC_EXCEPT(&yc_CancelledError) {
                log_spawn_error("aborting", g2.p);
                yc_reraise();
            } YC_END;
        } YC_END_WITH;
    } YC_EXCEPT(&yc_ExceptionGroup) {
    } YC_END;
    return YC_NONE;
}

TEST(sec12_36_sec12_37_sec12_38_spawning_at_the_wrong_time)
{
    /* [12.37] before the block; [12.38] while shutting down; a NULL
     * group. ([12.36] after the block needs the group past YC_WITH: next
     * test.) */
    log_clear();
    CHECK_ST(run_v(misuse, NULL, NULL), YC_OK);
    CHECK_LOG_IS("before: RuntimeError: TaskGroup <TaskGroup> has not been entered|"
                 "enter twice: TypeError: not a task group|raise x at 100|"
                 "aborting: RuntimeError: TaskGroup <TaskGroup errors=1 cancelling> is shutting "
                 "down");
}

static yc_val after_and_twice(void *arg)
{
    (void)arg;
    yc_cm *cm = yc_cm_taskgroup();
    yc_taskgroup *g = yc_taskgroup_of(cm);
    yc_val v;
    CHECK_ST(yc_cm_enter(cm, &v), YC_OK);
    spawn(g, returns_none, NULL);
    CHECK_ST(yc_cm_enter(cm, &v), YC_EINVAL);
    log_exc("twice", yc_err_get());
    yc_err_clear();
    CHECK_ST(yc_cm_exit(cm, NULL), YC_EXIT_PROPAGATE);
    log_spawn_error("after", g);
    char repr[64];
    yc_taskgroup_format(g, repr, sizeof repr);
    LOG("%s", repr);
    yc_cm_free(cm);
    return YC_NONE;
}

TEST(sec12_36_sec12_39_after_the_block_and_entering_twice)
{
    /* [12.36] [12.39] with the manager's enter and exit called by hand */
    log_clear();
    CHECK_ST(run_v(after_and_twice, NULL, NULL), YC_OK);
    CHECK_LOG_IS("twice: RuntimeError: TaskGroup <TaskGroup tasks=1 entered> has already been "
                 "entered|after: RuntimeError: TaskGroup <TaskGroup entered> is finished|"
                 "<TaskGroup entered>");
}

static void enter_in_callback(void *arg)
{
    yc_cm *cm = arg;
    CHECK_ST(yc_cm_enter(cm, NULL), YC_EINVAL);
    log_exc("no task", yc_err_get());
    yc_err_clear();
}

static yc_val no_parent(void *arg)
{
    (void)arg;
    yc_cm *cm = yc_cm_taskgroup();
    yc_loop_call_soon(NULL, enter_in_callback, cm, NULL);
    yc_sleep(0.1);
    yc_cm_free(cm);
    return YC_NONE;
}

TEST(sec12_39_no_parent_task)
{
    /* [12.39] */
    log_clear();
    CHECK_ST(run_v(no_parent, NULL, NULL), YC_OK);
    CHECK_LOG_IS("no task: RuntimeError: TaskGroup <TaskGroup> cannot determine the parent task");
}

static yc_val outside_cancel(void *arg)
{
    (void)arg;
    YC_TRY {
        YC_WITH(yc_cm_taskgroup(), g) {
            spawn(g.p, sibling, "s");
        } YC_END_WITH;
    } YC_EXCEPT(&yc_CancelledError) {
        LOG("body got CancelledError, cancelling %d", yc_task_cancelling(yc_task_current()));
        yc_reraise();
    } YC_END;
    return YC_NONE;
}

static yc_val cancels_it(void *arg)
{
    (void)arg;
    yc_task *t = yc_task_spawn(outside_cancel, NULL, NULL);
    yc_sleep(0.5);
    yc_task_cancel(t, NULL);
    YC_TRY {
        yc_await(t);
    } YC_EXCEPT(&yc_CancelledError) {
        LOG("cancelled %d", yc_task_cancelled(t));
    } YC_END;
    yc_task_unref(t);
    return YC_NONE;
}

TEST(sec12_32_a_cancel_from_outside_cancels_the_children_and_propagates)
{
    log_clear();
    CHECK_ST(run_v(cancels_it, NULL, NULL), YC_OK);
    CHECK_LOG_IS("s cancelled at 500|body got CancelledError, cancelling 1|cancelled 1");
}

TEST_MAIN()
