/*
 * fanout: 1,000 tasks under a semaphore in a task group; one failure cancels the rest.
 *
 * Each task "fetches" one item (a short sleep) while holding a slot of a
 * semaphore of 50, so at most 50 run at once. Item 600 is corrupt: its task
 * raises, the task group cancels every task still running or waiting for
 * a slot, and the failure comes out of the group as an ExceptionGroup,
 * which the C form of `except*` (yc_exc_group_split) takes apart. Every
 * task's finally block runs, so the counts add up. In Python:
 *
 *     async def fetch(i, sem):
 *         async with sem:
 *             await asyncio.sleep(0.001 * (1 + i % 7))
 *             if i == 600:
 *                 raise ValueError(f"item {i} is corrupt")
 *
 *     try:
 *         async with asyncio.TaskGroup() as g:
 *             for i in range(1000):
 *                 g.create_task(fetch(i, sem))
 *     except* ValueError as eg:
 *         print(eg.exceptions)
 */
#include <yieldc.h>

#include <stdio.h>

#define TASKS 1000
#define SLOTS 50
#define BAD 600

static yc_semaphore *sem;
static int ids[TASKS]; /* task arguments outlive the tasks */
static int running, peak, fetched, cancelled, never_started;

static yc_val fetch(void *arg)
{
    int i = *(int *)arg;
    volatile int holding = 0;
    YC_TRY {
        YC_WITH(yc_cm_semaphore(sem), slot) { /* waits for one of the 50 slots */
            holding = 1;
            if (++running > peak) peak = running;
            yc_sleep(0.001 * (1 + i % 7));
            if (i == BAD) yc_raise(yc_exc_new(&yc_ValueError, "item %d is corrupt", i));
            fetched++;
        } YC_END_WITH; /* the slot is released on every way out */
    } YC_EXCEPT(&yc_CancelledError) {
        if (!holding) never_started++;
        cancelled++;
        yc_reraise();
    } YC_FINALLY {
        if (holding) running--;
    } YC_END;
    return yc_int(i);
}

static yc_val main_task(void *arg)
{
    (void)arg;
    sem = yc_semaphore_new(SLOTS, false);
    if (!sem) yc_raise(yc_err_take());
    YC_TRY {
        YC_WITH(yc_cm_taskgroup(), g) {
            for (int i = 0; i < TASKS; i++) {
                ids[i] = i;
                yc_task *t = yc_taskgroup_spawn(g.p, fetch, &ids[i], NULL);
                if (!t) yc_raise(yc_err_take());
                yc_task_unref(t);
            }
        } YC_END_WITH;
    } YC_EXCEPT(&yc_ExceptionGroup) {
        yc_exc *eg = yc_exc_current();
        yc_exc *match = NULL, *rest = NULL;
        yc_exc_group_split(eg, &yc_ValueError, &match, &rest); /* except* ValueError */
        char text[160];
        yc_exc_format(eg, text, sizeof text);
        printf("%s\n", text);
        for (size_t k = 0; k < yc_exc_group_size(match); k++) {
            yc_exc_format(yc_exc_group_item(match, k), text, sizeof text);
            printf("  except* ValueError: %s\n", text);
        }
        printf("  other errors: %s\n", rest ? "yes" : "none");
        yc_exc_unref(match);
        yc_exc_unref(rest);
    } YC_END;
    printf("fetched %d, cancelled %d (%d before they got a slot), at most %d at once (limit %d)\n",
           fetched, cancelled, never_started, peak, SLOTS);
    yc_semaphore_free(sem);
    return yc_bool(fetched + cancelled + 1 == TASKS && peak <= SLOTS && running == 0);
}

int main(void)
{
    yc_val ok;
    int st = yc_loop_run(main_task, NULL, NULL, &ok);
    if (st != YC_OK) {
        yc_exc_print(yc_err_get(), stderr);
        return 1;
    }
    return ok.b ? 0 : 1;
}
