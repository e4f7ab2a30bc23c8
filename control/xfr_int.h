/* xfr_int.h: what xfr.c and xfr_ixfr.c share. */
#ifndef EDGEDNS_XFR_INT_H
#define EDGEDNS_XFR_INT_H

#include <stdint.h>

#include <ldns/ldns.h>

/* The serial of rr, which must be a well-formed SOA. */
uint32_t xfr_soa_serial(const ldns_rr *rr);

#endif
