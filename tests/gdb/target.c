/*
 * The program tests/gdb/run.sh debugs: it sets up generators in known
 * states, then calls target_ready(), where gdb stops.
 *
 *   walker    suspended three calls deep (walk_down), 1 MiB stack
 *   handler   suspended inside a YC_EXCEPT handling "ValueError: bad input
 *             42", raised while "KeyError: 'k'" was being handled
 *   fresh     created, not started
 *   finished  ran to its end (closed), not freed yet
 *   a generator expression, suspended
 *   "numbers", a generator source (a stage), suspended
 *
 * Before that, gdb stops in target_in_generator(), called by the body of
 * "runner" (GEN_RUNNING); after it, in target_freed(), when all are freed.
 */
#include <stdio.h>
#include <yieldc.h>

__attribute__((noinline)) static void walk_down(int depth)
{
    if (depth == 0) {
        yc_yield(yc_int(1));
        return;
    }
    walk_down(depth - 1);
    __asm__ volatile("" ::: "memory"); /* no tail call: each level keeps its frame */
}

static yc_val walker_body(void *arg)
{
    (void)arg;
    walk_down(2);
    return YC_NONE;
}

static yc_val handler_body(void *arg)
{
    (void)arg;
    YC_TRY {
        YC_TRY {
            yc_raisef(&yc_KeyError, "k");
        } YC_EXCEPT(&yc_KeyError) {
            yc_raisef(&yc_ValueError, "bad input %d", 42);
        } YC_END;
    } YC_EXCEPT(&yc_ValueError) {
        yc_yield(yc_int(2)); /* suspended while handling it */
    } YC_END;
    return YC_NONE;
}

static yc_val short_body(void *arg)
{
    (void)arg;
    return YC_NONE;
}

static yc_val square(void *ctx, yc_val v)
{
    (void)ctx;
    return yc_int(v.i * v.i);
}

static yc_val numbers(yc_stage *s, void *ctx)
{
    (void)ctx;
    for (int i = 0; i < 3; i++) yc_stage_emit(s, yc_int(i));
    return YC_NONE;
}

__attribute__((noinline)) void target_ready(void) { __asm__ volatile("" ::: "memory"); }
__attribute__((noinline)) void target_freed(void) { __asm__ volatile("" ::: "memory"); }
__attribute__((noinline)) void target_in_generator(void) { __asm__ volatile("" ::: "memory"); }

static yc_val runner_body(void *arg)
{
    (void)arg;
    target_in_generator();
    return YC_NONE;
}

int main(void)
{
    yc_val v;
    yc_gen *runner = yc_gen_new(runner_body, NULL, &(yc_gen_opts){.name = "runner"});
    if (!runner || yc_next(runner, &v) != YC_RETURN) return 1;
    yc_gen_free(runner);
    yc_gen *walker = yc_gen_new(walker_body, NULL,
                                &(yc_gen_opts){.name = "walker", .stack_size = 1 << 20});
    yc_gen *handler = yc_gen_new(handler_body, NULL, &(yc_gen_opts){.name = "handler"});
    yc_gen *fresh = yc_gen_new(short_body, NULL, &(yc_gen_opts){.name = "fresh"});
    yc_gen *finished = yc_gen_new(short_body, NULL, &(yc_gen_opts){.name = "finished"});
    if (!walker || !handler || !fresh || !finished) return 1;
    if (yc_next(walker, &v) != YC_YIELD || yc_next(handler, &v) != YC_YIELD ||
        yc_next(finished, &v) != YC_RETURN)
        return 1;
    yc_iter *gx = YC_GENEXPR(yc_iter_range(0, 5, 1), .elem = square);
    if (!gx || yc_iter_next(gx, &v) != YC_YIELD) return 1;
    yc_iter *src = yc_iter_source(numbers, NULL, &(yc_gen_opts){.name = "numbers"});
    if (!src || yc_iter_next(src, &v) != YC_YIELD) return 1;
    target_ready();
    yc_iter_free(gx);
    yc_iter_free(src);
    yc_gen_free(walker);
    yc_gen_free(handler);
    yc_gen_free(fresh);
    yc_gen_free(finished);
    target_freed();
    puts("target done");
    return 0;
}
