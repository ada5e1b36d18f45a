/* The layer check's fixture: a file of the low layer that calls up into
 * the high one (fixture_high) and includes the high layer's header. */
#include "high.h"

int fixture_low(int x) { return x + 1; }

int fixture_low_calls_up(int x) { return fixture_high(x); }
