/* A C local read after a yield: its value did not survive the yield.
 * Must not compile with -Wall -Werror (gcc: -Wmaybe-uninitialized, clang:
 * -Wuninitialized). */
#include <yieldc.h>

typedef struct {
    yc_sgen sgen;
    int64_t n;
} gen_t;

YC_SGEN_FN(bad, gen_t, s)
{
    YC_SGEN_BEGIN();
    int64_t twice = s->n * 2;
    YC_SYIELD(yc_int(1));
    YC_SYIELD(yc_int(twice));
    YC_SGEN_END();
}

/* The generator is used (a body that nothing can reach is dropped by the
 * optimiser before any warning: yc_sgen_init and yc_sgen_next are inline). */
int main(void)
{
    gen_t g = {.n = 1};
    yc_val v = YC_NONE;
    yc_sgen_init(&g.sgen, &bad);
    while (yc_sgen_next(&g.sgen, &v) == YC_YIELD) continue;
    yc_sgen_fini(&g.sgen);
    return (int)v.i;
}
