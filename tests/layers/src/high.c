/* The layer check's fixture: a file of the high layer, calling down. */
#include "high.h"

int fixture_high(int x) { return fixture_low(x) * 2; }
