/* yieldc: context managers (with, generator-based managers, exit stacks).
 * Included by yieldc.h; do not include directly. */
#ifndef YIELDC_WITH_H
#define YIELDC_WITH_H

#ifndef YIELDC_H
#  error "include <yieldc.h>, not <yieldc/with.h>"
#endif

#endif
