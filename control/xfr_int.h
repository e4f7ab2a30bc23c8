/* xfr_int.h: what xfr.c and xfr_ixfr.c share. */
#ifndef EDGEDNS_XFR_INT_H
#define EDGEDNS_XFR_INT_H

#include <stddef.h>
#include <stdint.h>

#include <ldns/ldns.h>

/* The serial of rr, which must be a well-formed SOA. */
uint32_t xfr_soa_serial(const ldns_rr *rr);

/* The OPT RR of a DNS message (RFC 6891) and its EXPIRE option (RFC 7314,
 * code 9, 4 octets in an answer; another length is ignored). */
#define XFR_EDNS_EXPIRE 9
struct xfr_opt {
	int present;             /* the message has an OPT RR */
	uint8_t ext_rcode;       /* upper 8 bits of the RCODE (BADVERS: 1) */
	uint8_t version;
	uint16_t udp_size;
	int has_expire;
	uint32_t expire;
};

/* Walk the len octets of message m (bounds-checked) to its additional
 * section and read the first OPT RR there into *o (zeroed first). 0, or
 * -1 when the message is malformed or has an OPT RR not owned by the root
 * or with options that run past its RDATA. */
int xfr_opt_parse(const uint8_t *m, size_t len, struct xfr_opt *o);

#endif
