/* The program of issue 14 section 1: `count` is changed inside YC_TRY and
 * read in YC_EXCEPT. It prints 3 at -O0 and 0 at -O2; check_try_locals must
 * flag it (the read in the handler, line 14). */
#include <yieldc.h>
#include <stdio.h>

int main(void)
{
    int count = 0;
    YC_TRY {
        for (int i = 0; i < 3; i++) count++;
        yc_raisef(&yc_ValueError, "stop");
    } YC_EXCEPT(&yc_ValueError) {
        printf("handler: %d\n", count);
    } YC_END;
    printf("after: %d\n", count);
    return 0;
}
