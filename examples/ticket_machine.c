/*
 * ticket_machine: a generator that keeps its state between calls.
 *
 * Every press of the button is a yc_next(): the machine adds one to the last
 * number it handed out, prints a ticket with the wall-clock time, and yields
 * the number. yc_send(g, yc_int(n)) is a press that first resets the counter,
 * so that press prints ticket n + 1. In Python:
 *
 *     def ticket_machine(last=0):
 *         while True:
 *             last += 1
 *             print(now(), last)
 *             sent = yield last
 *             if sent is not None:
 *                 last = sent
 *
 * Run it without arguments for a scripted session, or with -i to press the
 * button yourself (Enter: a ticket, a number: reset, q: quit).
 */
#include <yieldc.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The wall-clock time as "2026-01-31 14:05:09.123". */
static void timestamp(char *buf, size_t n)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    size_t len = strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(buf + len, n - len, ".%03ld", ts.tv_nsec / 1000000);
}

/* The generator body. It runs on its own stack, so `last` simply lives on
 * while the machine is suspended in yc_yield(). */
static yc_val ticket_machine(void *arg)
{
    int64_t last = *(const int64_t *)arg;
    for (;;) {
        last++; /* increment first, then print */
        char when[48];
        timestamp(when, sizeof when);
        printf("  [%s] ticket %" PRId64 "\n", when, last);
        yc_val sent = yc_yield(yc_int(last)); /* None for a plain press */
        if (yc_type_of(sent) == YC_T_INT)
            last = sent.i; /* the next ticket is sent + 1 */
        else if (!yc_is_none(sent))
            yc_raisef(&yc_TypeError, "reset the ticket machine with an int");
    }
}

/* Reports a failed call: its status, then the pending exception with its
 * traceback, which it consumes. */
static void print_error(const char *what, int st)
{
    fflush(stdout); /* keep the output in order when both go to one file */
    fprintf(stderr, "%s: %s\n", what, yc_status_name(st));
    yc_exc *e = yc_err_take();
    yc_exc_print(e, stderr);
    yc_exc_unref(e);
}

/* One press: a plain one (reset None) or a reset. Returns the ticket, or -1
 * after reporting an error. */
static int64_t press(yc_gen *g, yc_val reset)
{
    yc_val ticket;
    int st = yc_send(g, reset, &ticket);
    if (st != YC_YIELD) {
        print_error("press", st);
        return -1;
    }
    return ticket.i;
}

static int interactive(yc_gen *g)
{
    char line[64];
    printf("Enter: ticket, a number: reset, q: quit\n");
    while (fgets(line, sizeof line, stdin) && line[0] != 'q') {
        char *end;
        long long n = strtoll(line, &end, 10);
        yc_val reset = end != line ? yc_int(n) : YC_NONE;
        if (press(g, reset) < 0) return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int64_t start = 0;
    yc_gen *g = yc_gen_new(ticket_machine, &start, &(yc_gen_opts){.name = "ticket_machine"});
    if (!g) {
        print_error("yc_gen_new", YC_RAISE);
        return 1;
    }
    if (argc > 1 && strcmp(argv[1], "-i") == 0) {
        int rc = interactive(g);
        yc_gen_free(g);
        return rc;
    }

    int ok = 1;
    printf("three presses:\n");
    for (int i = 1; i <= 3; i++) ok &= press(g, YC_NONE) == i;

    printf("reset to 100 with a send (that press prints 101), then one more press:\n");
    ok &= press(g, yc_int(100)) == 101;
    ok &= press(g, YC_NONE) == 102;

    /* An exception raised in the body ends the generator; the caller gets
     * YC_RAISE and the exception, never a jump. */
    printf("reset with a string: the machine raises TypeError and is closed:\n");
    yc_val v;
    int st = yc_send(g, yc_str("ninety"), &v);
    if (st == YC_RAISE) {
        print_error("  send(\"ninety\")", st);
    } else {
        fprintf(stderr, "expected YC_RAISE, got %s\n", yc_status_name(st));
        ok = 0;
    }
    printf("  state now %s; another press gives %s\n", yc_gen_state_name(yc_gen_state_of(g)),
           yc_status_name(yc_next(g, &v)));

    yc_gen_free(g);
    return ok ? 0 : 1;
}
