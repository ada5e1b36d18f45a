/* The control for the other programs here: the same skeleton, used right,
 * compiles cleanly with -Wall -Wextra -Werror. */
#include <yieldc.h>

typedef struct {
    yc_sgen sgen;
    YC_SGEN_TRIES(1);
    int64_t kept;
} gen_t;

YC_SGEN_FN(good, gen_t, s)
{
    YC_SGEN_BEGIN();
    s->kept = 2;
    YC_STRY(s) {
        YC_SYIELD(yc_int(1));
        YC_SYIELD(yc_int(s->kept));
    } YC_SFINALLY {
        s->kept = 0;
    } YC_STRY_END;
    YC_SGEN_END();
}

int main(void)
{
    gen_t g;
    return yc_sgen_init(&g.sgen, &good);
}
