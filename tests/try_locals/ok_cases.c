/* Patterns check_try_locals must not flag. */
#include <yieldc.h>
#include <stdio.h>

static void set(int *p) { *p = 1; }

int volatile_local(void)
{
    volatile int count = 0;
    YC_TRY {
        count++;
        yc_raisef(&yc_ValueError, "stop");
    } YC_EXCEPT(&yc_ValueError) {
        printf("%d\n", count);
    } YC_END;
    return count;
}

int address_taken(void)
{
    int flag = 0;
    YC_TRY {
        set(&flag);
        flag = 2;
    } YC_EXCEPT_ANY {
        printf("%d\n", flag);
    } YC_END;
    return flag;
}

int declared_inside(void)
{
    int r = 0;
    YC_TRY {
        int n = 3;
        n++;
        printf("%d\n", n);
    } YC_FINALLY {
        r = 1;
    } YC_END;
    return r;
}

int not_read_after(void)
{
    int n = 0, m = 4;
    YC_TRY {
        n = 5;
        printf("%d %d\n", n, m);
    } YC_EXCEPT_ANY {
        puts("m unchanged in the body");
        printf("%d\n", m);
    } YC_END;
    return m;
}

int pointer_target(int *out)
{
    YC_TRY {
        *out = 3;
        out[0] = 4;
    } YC_EXCEPT_ANY {
        printf("%d\n", *out);
    } YC_END;
    return 0;
}

int marked(void)
{
    int n = 0;
    YC_TRY {
        n = 1;
    } YC_EXCEPT_ANY {
        puts("handled");
    } YC_END;
    return n; /* check_try_locals: ok (no raise can follow the assignment) */
}
