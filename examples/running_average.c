/*
 * running_average: a coroutine (PEP 342) that consumes the values sent to it.
 *
 * It is primed with one yc_next() (which runs it to its first yield), then
 * every yc_send() hands it a number and returns the average so far. Closing
 * it raises GeneratorExit at the yield: the coroutine catches it, its
 * finally block prints a summary, and the value it returns comes back from
 * yc_close() (Python 3.13 semantics). In Python:
 *
 *     def averager():
 *         total, count, average = 0.0, 0, None
 *         try:
 *             while True:
 *                 value = yield average
 *                 total += value
 *                 count += 1
 *                 average = total / count
 *         except GeneratorExit:
 *             pass
 *         finally:
 *             print(f"closed after {count} values")
 *         return average
 */
#include <yieldc.h>

#include <stdio.h>

static yc_val averager(void *arg)
{
    const char *name = arg;
    /* Modified inside YC_TRY and read in the handlers: volatile, because
     * the handlers are reached by longjmp. */
    volatile double total = 0;
    volatile long count = 0;
    YC_TRY {
        yc_val average = YC_NONE;
        for (;;) {
            yc_val v = yc_yield(average);
            double x;
            if (yc_type_of(v) == YC_T_INT)
                x = (double)v.i;
            else if (yc_type_of(v) == YC_T_FLOAT)
                x = v.f;
            else
                yc_raisef(&yc_TypeError, "an average of numbers only");
            total += x;
            count++;
            average = yc_float(total / (double)count);
        }
    } YC_EXCEPT(&yc_GeneratorExit) {
        /* closed: fall through to finally, then return the result */
    } YC_FINALLY {
        /* runs on close, on an exception, on every way out of the try */
        printf("  [%s finally] %ld values, total %g\n", name, count, total);
    } YC_END;
    return count ? yc_float(total / (double)count) : YC_NONE;
}

static void print_error(const char *what, int st)
{
    fflush(stdout); /* keep the output in order when both go to one file */
    fprintf(stderr, "%s: %s\n", what, yc_status_name(st));
    yc_exc *e = yc_err_take();
    yc_exc_print(e, stderr);
    yc_exc_unref(e);
}

/* Sends x and prints the average it answers. Returns 0, or -1 after
 * reporting an error. */
static int feed(yc_gen *g, yc_val x)
{
    char in[64], out[64], what[80];
    yc_val avg;
    int st = yc_send(g, x, &avg);
    yc_val_format(x, in, sizeof in);
    if (st != YC_YIELD) {
        snprintf(what, sizeof what, "  send(%s)", in);
        print_error(what, st);
        return -1;
    }
    yc_val_format(avg, out, sizeof out);
    printf("  send(%s) -> average %s\n", in, out);
    return 0;
}

int main(void)
{
    int ok = 1;
    yc_val v;
    int st;

    printf("averager \"temps\": prime, send four values, close:\n");
    yc_gen *g = yc_gen_new(averager, (void *)"temps", &(yc_gen_opts){.name = "averager"});
    if (!g) {
        print_error("yc_gen_new", YC_RAISE);
        return 1;
    }
    st = yc_next(g, &v); /* priming: runs to the first yield, which yields None */
    if (st != YC_YIELD) print_error("prime", st);
    ok &= st == YC_YIELD && yc_is_none(v);
    const double temps[] = {21.5, 23.0, 19.5, 24.0};
    for (size_t i = 0; i < sizeof temps / sizeof temps[0]; i++)
        ok &= feed(g, yc_float(temps[i])) == 0;
    st = yc_close(g, &v); /* GeneratorExit at the yield; finally runs */
    if (st != YC_OK) {
        print_error("close", st);
        ok = 0;
    } else {
        printf("  close() returned %g\n", v.f);
        ok &= yc_type_of(v) == YC_T_FLOAT && v.f == 22.0;
    }
    yc_gen_free(g);

    printf("averager \"mixed\": a value of the wrong type ends it with TypeError:\n");
    g = yc_gen_new(averager, (void *)"mixed", &(yc_gen_opts){.name = "averager"});
    if (!g) {
        print_error("yc_gen_new", YC_RAISE);
        return 1;
    }
    ok &= yc_next(g, NULL) == YC_YIELD;
    ok &= feed(g, yc_int(3)) == 0;
    ok &= feed(g, yc_str("four")) == -1; /* expected: prints the traceback */
    printf("  state after the error: %s\n", yc_gen_state_name(yc_gen_state_of(g)));
    ok &= yc_gen_state_of(g) == YC_GEN_CLOSED;
    yc_gen_free(g);
    return ok ? 0 : 1;
}
