/*
 * Misuse of the event loop's functions (docs/misuse.md, "Event loop"):
 * NULL and dead arguments, body-side calls outside a task, objects of
 * another loop, and the accessors' answers for nothing.
 */
#include "loop_util.h"

#include <math.h>

static void nothing_cb(void *arg) { (void)arg; }
static void nothing_done(yc_task *t, void *ud)
{
    (void)t;
    (void)ud;
}

static yc_val returns_none(void *arg)
{
    (void)arg;
    return YC_NONE;
}

TEST(task_functions_with_NULL)
{
    CHECK_ST(yc_task_cancel(NULL, "m"), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: task is NULL");
    CHECK_EQ_INT(yc_task_cancelling(NULL), 0);
    CHECK_EQ_INT(yc_task_uncancel(NULL), 0);
    CHECK(!yc_task_done(NULL) && !yc_task_cancelled(NULL));
    CHECK(yc_task_name(NULL) == NULL && yc_task_loop(NULL) == NULL);
    yc_val v = yc_int(3);
    CHECK_ST(yc_task_result(NULL, &v), YC_EINVAL);
    CHECK(yc_is_none(v));
    CHECK_EXC(&yc_TypeError, "TypeError: task is NULL");
    yc_exc *e = (yc_exc *)1;
    CHECK_ST(yc_task_exception(NULL, &e), YC_EINVAL);
    CHECK(e == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: task is NULL");
    CHECK_ST(yc_task_add_done_callback(NULL, nothing_done, NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: task is NULL");
    CHECK_EQ_INT(yc_task_remove_done_callback(NULL, nothing_done, NULL), 0);
    CHECK_ST(yc_future_set_result(NULL, YC_NONE), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: task is NULL");
    CHECK_ST(yc_future_set_exception(NULL, yc_exc_new(&yc_ValueError, NULL)), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: task is NULL"); /* and the exception was released */
    CHECK(yc_task_ref(NULL) == NULL);
    yc_task_unref(NULL);
    char buf[64];
    yc_task_format(NULL, buf, sizeof buf);
    CHECK_STR(buf, "<invalid task>");
    CHECK(yc_task_current() == NULL);
}

static yc_val future_misuse(void *arg)
{
    (void)arg;
    yc_task *f = yc_future_new(NULL);
    CHECK_ST(yc_future_set_exception(f, NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, NULL);
    CHECK(!yc_task_done(f));
    CHECK_ST(yc_task_add_done_callback(f, NULL, NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: callback is NULL");
    yc_task_cancel(f, NULL);
    yc_task_unref(f);
    return YC_NONE;
}

TEST(future_misuse_changes_nothing)
{
    CHECK_ST(run_v(future_misuse, NULL, NULL), YC_OK);
}

TEST(handles_with_NULL)
{
    yc_handle_cancel(NULL);
    CHECK(!yc_handle_cancelled(NULL));
    CHECK(isnan(yc_handle_when(NULL)));
    yc_handle_free(NULL);
}

static int which;
static yc_task *done_task;

static yc_val calls_body_side(void *arg)
{
    (void)arg;
    switch (which) {
    case 0: yc_await(done_task); break;
    case 1: yc_sleep(1); break;
    case 2: yc_sleep_until(1); break;
    case 3: yc_wait_for(done_task, 1); break;
    case 4: yc_shield(done_task); break;
    case 5: yc_gather(&done_task, 1, 0); break;
    case 6: yc_wait(&done_task, 1, 1, YC_ALL_COMPLETED); break;
    }
    return YC_NONE;
}

static const char *const body_side_names[] = {"yc_await()", "yc_sleep()", "yc_sleep_until()",
                                              "yc_wait_for()", "yc_shield()", "yc_gather()",
                                              "yc_wait()"};

TEST(body_side_calls_in_a_plain_generator_raise_RuntimeError)
{
    for (which = 0; which < 7; which++) {
        yc_gen *g = yc_gen_new(calls_body_side, NULL, NULL);
        CHECK_ST(yc_next(g, NULL), YC_RAISE);
        CHECK_EXC(&yc_RuntimeError, "RuntimeError: no running event loop");
        yc_gen_free(g);
    }
}

static void body_side_in_callback(void *arg)
{
    (void)arg;
    for (which = 0; which < 7; which++) {
        yc_gen *g = yc_gen_new(calls_body_side, NULL, NULL);
        CHECK_ST(yc_next(g, NULL), YC_RAISE);
        char want[128];
        snprintf(want, sizeof want, "RuntimeError: %s outside a task", body_side_names[which]);
        CHECK_EXC(&yc_RuntimeError, want);
        yc_gen_free(g);
    }
}

static yc_val schedules_callback(void *arg)
{
    (void)arg;
    done_task = yc_future_new(NULL);
    yc_future_set_result(done_task, YC_NONE);
    yc_loop_call_soon(NULL, body_side_in_callback, NULL, NULL);
    yc_sleep(0.1);
    yc_task_unref(done_task);
    done_task = NULL;
    return YC_NONE;
}

TEST(body_side_calls_in_a_loop_callback_raise_outside_a_task)
{
    CHECK_ST(run_v(schedules_callback, NULL, NULL), YC_OK);
}

static yc_loop *other_loop;
static yc_task *foreign;

static yc_val uses_foreign(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_await(foreign);
    } YC_EXCEPT(&yc_RuntimeError) {
        CHECK(strstr(yc_exc_msg(yc_exc_current()), "attached to a different loop") != NULL);
    } YC_END;
    YC_TRY {
        yc_wait_for(foreign, 1);
    } YC_EXCEPT(&yc_ValueError) {
        log_exc("wait_for", yc_exc_current());
    } YC_END;
    yc_task *mine = yc_future_new(NULL);
    yc_task *both[2] = {mine, foreign};
    CHECK(yc_gather_future(both, 2, 0) == NULL);
    CHECK_EXC(&yc_ValueError, NULL);
    CHECK(yc_gather_future(both, 1, 4) == NULL);
    CHECK_EXC(&yc_ValueError, "ValueError: yc_gather: unknown flags 0x4");
    CHECK(yc_gather_future(NULL, 2, 0) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_gather: tasks is NULL");
    CHECK(yc_as_completed(both, 2, INFINITY) == NULL);
    CHECK_EXC(&yc_ValueError, NULL);
    CHECK(yc_as_completed(both, 1, NAN) == NULL);
    CHECK_EXC(&yc_ValueError, "ValueError: Invalid delay: NaN (not a number)");
    YC_TRY {
        yc_wait(both, 1, NAN, YC_ALL_COMPLETED);
    } YC_EXCEPT(&yc_ValueError) {
        log_exc("wait", yc_exc_current());
    } YC_END;
    YC_TRY {
        yc_wait_for(mine, NAN);
    } YC_EXCEPT(&yc_ValueError) {
        log_exc("wait_for nan", yc_exc_current());
    } YC_END;
    yc_task_cancel(mine, NULL);
    yc_task_unref(mine);
    return YC_NONE;
}

TEST(tasks_of_another_loop_and_bad_arguments)
{
    other_loop = yc_loop_new(NULL);
    foreign = yc_future_new(other_loop);
    log_clear();
    CHECK_ST(run_v(uses_foreign, NULL, NULL), YC_OK);
    CHECK_LOG_IS("wait_for: ValueError: The future belongs to a different loop than the one "
                 "specified as the loop argument|"
                 "wait: ValueError: Invalid delay: NaN (not a number)|"
                 "wait_for nan: ValueError: Invalid delay: NaN (not a number)");
    capture_reports();
    yc_task *t = yc_loop_spawn(other_loop, returns_none, NULL, &(yc_task_opts){.name = "t"});
    yc_loop *L = yc_loop_new(NULL);
    CHECK_ST(yc_loop_run_until_complete(L, t, NULL), YC_EINVAL);
    CHECK_EXC(&yc_ValueError, NULL);
    yc_loop_free(L);
    yc_task_unref(t);
    yc_task_unref(foreign);
    yc_loop_free(other_loop); /* t was never run: reported destroyed */
    CHECK_STR(unraisable_text, "Task was destroyed but it is pending!\ntask: <Task pending name='t'>");
    release_reports();
}

TEST(timeout_functions_with_NULL)
{
    CHECK(yc_timeout_of(NULL) == NULL);
    CHECK(yc_timeout_ref(NULL) == NULL);
    yc_timeout_unref(NULL);
    CHECK(isnan(yc_timeout_when(NULL)));
    CHECK(!yc_timeout_expired(NULL));
    CHECK_ST(yc_timeout_reschedule(NULL, 1), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: not a timeout");
    CHECK(yc_timeout_cm(NULL) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: not a timeout");
    char buf[64];
    yc_timeout_format(NULL, buf, sizeof buf);
    CHECK_STR(buf, "<invalid timeout>");
    CHECK(yc_cm_timeout_at(NAN) == NULL);
    CHECK_EXC(&yc_ValueError, "ValueError: Invalid delay: NaN (not a number)");
    yc_cm *cm = yc_cm_timeout_at(5); /* at creation needs no loop */
    CHECK(yc_timeout_of(cm) != NULL);
    CHECK(yc_timeout_when(yc_timeout_of(cm)) == 5);
    yc_cm_free(cm);
}

TEST(taskgroup_functions_with_NULL)
{
    CHECK(yc_taskgroup_of(NULL) == NULL);
    yc_cm *cm = yc_cm_suppress_n(NULL, 0);
    CHECK(yc_taskgroup_of(cm) == NULL); /* not a task group's manager */
    yc_cm_free(cm);
    char buf[64];
    yc_taskgroup_format(NULL, buf, sizeof buf);
    CHECK_STR(buf, "<invalid task group>");
    CHECK(yc_taskgroup_spawn(NULL, returns_none, NULL, NULL) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: not a task group");
    yc_cm *g = yc_cm_taskgroup();
    yc_taskgroup_format(yc_taskgroup_of(g), buf, sizeof buf);
    CHECK_STR(buf, "<TaskGroup>");
    CHECK_ST(yc_cm_enter(g, NULL), YC_EINVAL); /* no loop */
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: no running event loop");
    yc_cm_free(g);
}

TEST(yc_cm_suppress_of_nothing_is_freed)
{
    yc_cm *cm = yc_cm_suppress_n(NULL, 0);
    CHECK(yc_timeout_of(cm) == NULL);
    yc_cm_free(cm);
}

TEST(callbacks_of_a_closed_or_freed_loop)
{
    yc_loop *L = yc_loop_new(NULL);
    yc_handle *h = (yc_handle *)1;
    CHECK_ST(yc_loop_call_later(L, 1, nothing_cb, NULL, &h), YC_OK);
    CHECK(h != NULL);
    yc_loop_close(L); /* drops the scheduled callback; h stays valid */
    yc_handle_cancel(h);
    CHECK(yc_handle_cancelled(h));
    yc_handle_free(h);
    CHECK_ST(yc_loop_call_at(L, 1, nothing_cb, NULL, &h), YC_EINVAL);
    CHECK(h == NULL);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: Event loop is closed");
    CHECK_ST(yc_loop_call_soon_threadsafe(L, nothing_cb, NULL), YC_EINVAL);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: Event loop is closed");
    CHECK_ST(yc_loop_call_soon_threadsafe(L, NULL, NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: callback is NULL");
    yc_loop_stop(NULL);
    yc_loop_free(L);
}

TEST(no_loop_at_all)
{
    double a = yc_loop_time(NULL); /* no loop: the monotonic clock */
    CHECK(a > 0 && yc_loop_time(NULL) >= a);
    CHECK(yc_as_completed(NULL, 0, INFINITY) == NULL);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: no running event loop");
    CHECK(yc_gather_future(NULL, 0, 0) == NULL);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: no running event loop");
    CHECK(yc_loop_spawn(NULL, returns_none, NULL, NULL) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: loop is NULL");
}

static yc_val bad_values(void *arg)
{
    (void)arg;
    CHECK(yc_task_spawn(returns_none, NULL, &(yc_task_opts){.stack_size = 100}) == NULL);
    CHECK_EXC(&yc_ValueError, "ValueError: yc_gen_new: stack_size 100 is outside [16384, 2^40]");
    CHECK(yc_cm_timeout(NAN) == NULL);
    CHECK_EXC(&yc_ValueError, "ValueError: Invalid delay: NaN (not a number)");
    YC_TRY {
        yc_sleep_until(NAN);
    } YC_EXCEPT(&yc_ValueError) {
        log_exc("sleep_until", yc_exc_current());
    } YC_END;
    YC_WITH(yc_cm_timeout(1), tm) {
        CHECK_ST(yc_timeout_reschedule(tm.p, NAN), YC_EINVAL);
        CHECK_EXC(&yc_ValueError, "ValueError: Invalid delay: NaN (not a number)");
        CHECK(yc_timeout_when(tm.p) == 1); /* unchanged */
    } YC_END_WITH;
    yc_val v = yc_int(1);
    yc_task *f = yc_future_new(NULL);
    CHECK_ST(yc_task_result(f, &v), YC_EINVAL);
    CHECK(yc_is_none(v));
    CHECK_EXC(&yc_InvalidStateError, "InvalidStateError: Result is not set.");
    yc_future_set_result(f, YC_NONE);
    yc_task_unref(f);
    yc_gather(NULL, 0, 0); /* nothing to wait for: returns */
    return YC_NONE;
}

TEST(bad_values_in_a_task)
{
    log_clear();
    CHECK_ST(run_v(bad_values, NULL, NULL), YC_OK);
    CHECK_LOG_IS("sleep_until: ValueError: Invalid delay: NaN (not a number)");
}

TEST_MAIN()
