/* YC_STRY in a body whose struct has no YC_SGEN_TRIES: does not compile. */
#include <yieldc.h>

typedef struct {
    yc_sgen sgen;
} gen_t;

YC_SGEN_FN(bad, gen_t, s)
{
    YC_SGEN_BEGIN();
    YC_STRY(s) {
        YC_SYIELD(yc_int(1));
    } YC_SFINALLY {
    } YC_STRY_END;
    YC_SGEN_END();
}

int main(void)
{
    gen_t g;
    return yc_sgen_init(&g.sgen, &bad);
}
