/*
 * The consumer of tests/packaging/run.sh: a program a user would build
 * against an installed yieldc or with yieldc as a subproject. It prints
 * what a generator yields and what a context manager saw, then the
 * library's version: run.sh compares the output with the text below.
 *
 *   countdown 3 2 1 returned liftoff
 *   suppressed KeyError
 *   yieldc 0.1.0
 */
#include <stdio.h>
#include <yieldc.h>

static yc_val countdown(void *arg)
{
    int64_t n = *(int64_t *)arg;
    while (n > 0) yc_yield(yc_int(n--));
    return yc_str("liftoff");
}

static yc_val suppressing(void *arg)
{
    (void)arg;
    YC_WITH(yc_cm_suppress(&yc_KeyError), v) {
        (void)v;
        yc_raisef(&yc_KeyError, "k");
    } YC_END_WITH;
    return yc_str("suppressed KeyError");
}

int main(void)
{
    int64_t from = 3;
    yc_gen *g = yc_gen_new(countdown, &from, NULL);
    yc_val v;
    int st;
    printf("countdown");
    while ((st = yc_next(g, &v)) == YC_YIELD) printf(" %lld", (long long)v.i);
    if (st != YC_RETURN) return 1;
    printf(" returned %.*s\n", (int)yc_len(v), v.s);
    yc_gen_free(g);

    g = yc_gen_new(suppressing, NULL, NULL);
    if (yc_next(g, &v) != YC_RETURN) return 1;
    printf("%.*s\n", (int)yc_len(v), v.s);
    yc_gen_free(g);
    printf("yieldc %d.%d.%d\n", YC_VERSION_MAJOR, YC_VERSION_MINOR, YC_VERSION_PATCH);
    return 0;
}
