/* Patterns check_try_locals must flag: each function's name says where the
 * read is. */
#include <yieldc.h>
#include <stdio.h>

int param_in_finally(int n)
{
    YC_TRY {
        n += 2;
        yc_raisef(&yc_ValueError, "x");
    } YC_FINALLY {
        printf("%d\n", n);
    } YC_END;
    return 0;
}

int nested_inner_read_in_outer_handler(void)
{
    long total = 0;
    YC_TRY {
        YC_TRY {
            total = 7;
        } YC_EXCEPT(&yc_KeyError) {
            puts("key");
        } YC_END;
    } YC_EXCEPT_ANY {
        printf("%ld\n", total);
    } YC_END;
    return 0;
}

int struct_member_after(void)
{
    yc_val s = yc_int(0);
    YC_TRY {
        s.i = 1;
    } YC_EXCEPT_ANY {
        puts("x");
    } YC_END;
    return (int)s.i;
}

int pointer_reassigned(const char *p)
{
    const char *cur = p;
    YC_TRY {
        cur = p + 1;
    } YC_EXCEPT_ANY {
        puts(cur);
    } YC_END;
    return 0;
}

int with_body_suppressed(yc_cm *cm)
{
    int done = 0;
    YC_WITH(cm, v) {
        (void)v;
        done = 1;
    } YC_END_WITH;
    return done;
}

int borrowed_with_handler_after(yc_cm *cm)
{
    long n = 0;
    YC_WITH_BORROWED(cm, v) {
        (void)v;
        n = 2;
    } YC_END_WITH;
    return (int)n;
}
