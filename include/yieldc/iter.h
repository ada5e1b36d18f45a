/* yieldc: lazy pipelines (sources, combinators, reducers, generator expressions).
 * Included by yieldc.h; do not include directly. */
#ifndef YIELDC_ITER_H
#define YIELDC_ITER_H

#ifndef YIELDC_H
#  error "include <yieldc.h>, not <yieldc/iter.h>"
#endif

#endif
