/* A stackless yield in a helper function called by the body: it must be a
 * generator of its own. Does not compile. */
#include <yieldc.h>

static void helper(void) { YC_SYIELD(yc_int(1)); }

int main(void)
{
    helper();
    return 0;
}
