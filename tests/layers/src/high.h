/* The layer check's fixture: the high layer's header. */
#ifndef FIXTURE_HIGH_H
#define FIXTURE_HIGH_H
int fixture_low(int x);
int fixture_high(int x);
#endif
