/* A plain C return in a body (it must be YC_SRETURN): does not compile. */
#include <yieldc.h>

typedef struct {
    yc_sgen sgen;
} gen_t;

YC_SGEN_FN(bad, gen_t, s)
{
    YC_SGEN_BEGIN();
    YC_SYIELD(yc_int(1));
    return 0;
    YC_SGEN_END();
}

int main(void)
{
    gen_t g;
    return yc_sgen_init(&g.sgen, &bad);
}
