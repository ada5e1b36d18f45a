/*
 * agents: a million independent agents, each a stackless generator with its own state machine.
 *
 * Every agent is a small struct in one big array: the library's 48-byte
 * header and the agent's own fields, nothing else (no stack). Its life is
 * written as straight-line code with loops, as a Python generator would
 * be: wander while it has energy, walk to the nearest food, eat, rest, and
 * start again; it dies (returns) when it runs out of energy on the way.
 * Each yield hands the driver what the agent is doing. The driver steps
 * every live agent once per round, round-robin, through the iterator
 * protocol, and tallies the activities. In Python:
 *
 *     def agent(rng):
 *         energy, pos = 50, rng() % 1000
 *         while True:
 *             while energy > 25:
 *                 pos += rng() % 3 - 1; energy -= 1 + rng() % 3
 *                 yield WANDER
 *             while pos % 64:
 *                 pos += -1 if pos % 64 < 32 else 1; energy -= 1
 *                 if energy <= 0: return "starved"
 *                 yield SEEK
 *             for _ in range(4): energy += 15; yield EAT
 *             for _ in range(rng() % 8): yield REST
 *
 * Usage: agents [AGENTS [ROUNDS]] (default 1000000 agents, 30 rounds). It
 * prints the memory per agent (the struct, and the growth of the process's
 * resident memory while the agents were made and started), the steps per
 * second, and where the population is at the end.
 */
#include <yieldc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { WANDER, SEEK, EAT, REST, NACTIVITY };
static const char *const activity_name[NACTIVITY] = {"wander", "seek food", "eat", "rest"};

typedef struct {
    yc_sgen sgen;     /* first: the generator's state */
    uint32_t rng;     /* everything below lives across yields */
    int16_t energy;
    int16_t pos;
    uint8_t timer;
} agent_t;

static uint32_t next_rand(agent_t *a) /* xorshift32 */
{
    uint32_t x = a->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return a->rng = x;
}

YC_SGEN_FN(agent, agent_t, a)
{
    YC_SGEN_BEGIN();
    a->energy = 50;
    a->pos = (int16_t)(next_rand(a) % 1000);
    for (;;) {
        while (a->energy > 25) {
            a->pos = (int16_t)(a->pos + (int)(next_rand(a) % 3) - 1);
            a->energy = (int16_t)(a->energy - 1 - (int)(next_rand(a) % 3));
            YC_SYIELD(yc_int(WANDER));
        }
        while (a->pos % 64 != 0) {
            a->pos = (int16_t)(a->pos + ((a->pos % 64 + 64) % 64 < 32 ? -1 : 1));
            if (--a->energy <= 0) YC_SRETURN(yc_str("starved"));
            YC_SYIELD(yc_int(SEEK));
        }
        for (a->timer = 0; a->timer < 4; a->timer++) {
            a->energy = (int16_t)(a->energy + 15);
            YC_SYIELD(yc_int(EAT));
        }
        for (a->timer = (uint8_t)(next_rand(a) % 8); a->timer > 0; a->timer--)
            YC_SYIELD(yc_int(REST));
    }
    YC_SGEN_END();
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) kb = atol(line + 6);
    if (f) fclose(f);
    return kb;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    int rounds = argc > 2 ? atoi(argv[2]) : 30;
    if (n <= 0 || rounds <= 0) {
        fprintf(stderr, "usage: %s [AGENTS [ROUNDS]]\n", argv[0]);
        return 2;
    }

    long rss0 = rss_kib();
    agent_t *agents = malloc((size_t)n * sizeof *agents);
    if (!agents) {
        perror("malloc");
        return 1;
    }
    long count[NACTIVITY] = {0}, dead = 0, steps = 0;
    int *last = calloc((size_t)n, sizeof *last);
    if (!last) {
        perror("calloc");
        return 1;
    }
    double t0 = now_s();
    for (long i = 0; i < n; i++) { /* made and started: each one at its first yield */
        agents[i].rng = (uint32_t)(i * 2654435761u) | 1u;
        if (yc_sgen_init(&agents[i].sgen, &agent) != YC_OK) return 1;
        yc_val v;
        if (yc_iter_next(&agents[i].sgen.it, &v) != YC_YIELD) return 1;
        last[i] = (int)v.i;
    }
    double t1 = now_s();
    long rss1 = rss_kib();

    for (int r = 0; r < rounds; r++) {
        for (long i = 0; i < n; i++) {
            if (last[i] < 0) continue; /* dead */
            yc_val v;
            int st = yc_iter_next(&agents[i].sgen.it, &v);
            steps++;
            if (st == YC_YIELD) {
                last[i] = (int)v.i;
            } else if (st == YC_RETURN) {
                last[i] = -1;
                dead++;
            } else {
                yc_exc_print(yc_err_get(), stderr);
                return 1;
            }
        }
    }
    double t2 = now_s();
    for (long i = 0; i < n; i++)
        if (last[i] >= 0) count[last[i]]++;

    printf("%ld agents, %d rounds: %ld steps in %.3f s, %.1f million steps/s\n", n, rounds, steps,
           t2 - t1, (double)steps / (t2 - t1) / 1e6);
    printf("made and started in %.3f s (%.1f ns each)\n", t1 - t0, (t1 - t0) * 1e9 / (double)n);
    printf("memory per agent: %zu bytes of struct (%zu of them the library's); the process "
           "grew by %.1f bytes per agent (with the driver's 4-byte activity array)\n",
           sizeof(agent_t), sizeof(yc_sgen), (double)(rss1 - rss0) * 1024.0 / (double)n);
    printf("at the end:");
    for (int k = 0; k < NACTIVITY; k++) printf(" %s %ld,", activity_name[k], count[k]);
    printf(" starved %ld\n", dead);

    for (long i = 0; i < n; i++) yc_sgen_fini(&agents[i].sgen); /* closes the live ones */
    free(last);
    free(agents);
    return 0;
}
