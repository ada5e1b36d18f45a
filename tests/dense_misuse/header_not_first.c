/* The generator's struct must start with `yc_sgen sgen`: does not compile. */
#include <yieldc.h>

typedef struct {
    int64_t n;
    yc_sgen sgen;
} gen_t;

YC_SGEN_FN(bad, gen_t, s)
{
    YC_SGEN_BEGIN();
    YC_SYIELD(yc_int(s->n));
    YC_SGEN_END();
}

int main(void)
{
    gen_t g;
    return yc_sgen_init(&g.sgen, &bad);
}
