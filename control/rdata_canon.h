/* rdata_canon.h: canonical form of RR rdata (RFC 4034 6.2, as amended by
 * RFC 6840 5.1) and canonical rdata order (RFC 4034 6.3).
 *
 * The canonical form lowercases the domain names embedded in the rdata of
 * the types RFC 4034 6.2 lists (NS, MD, MF, CNAME, SOA, MB, MG, MR, PTR,
 * MINFO, MX, RP, AFSDB, RT, SIG, PX, NXT, NAPTR, KX, SRV, DNAME, A6, RRSIG;
 * RFC 6840 5.1 took NSEC out; HINFO, also listed, holds no name); the rdata of every
 * other type is its own canonical form. Two RRs of one owner and type are
 * duplicates when their canonical rdata are equal.
 *
 * Everything here is pure: no allocation, no I/O, any thread.
 */
#ifndef EDGEDNS_RDATA_CANON_H
#define EDGEDNS_RDATA_CANON_H

#include <stddef.h>
#include <stdint.h>

/* 1 for the types whose canonical form may differ from their rdata (names
 * in the rdata are lowercased), 0 for the others. */
int rdata_canon_type(uint16_t type);

/* Lowercase, in place, the names inside rdata rd (len octets) of type.
 * Malformed rdata is lowercased as far as it parses, the rest left alone;
 * nothing is read past rd + len. No-op for the types rdata_canon_type()
 * says 0 to. */
void rdata_canon_lower(uint16_t type, uint8_t *rd, size_t len);

/* Canonical order of two canonical rdata (RFC 4034 6.3): octet by octet
 * as unsigned, a proper prefix first. <0, 0 (equal) or >0. */
int rdata_canon_cmp(const uint8_t *a, size_t alen, const uint8_t *b,
                    size_t blen);

/* 1 when the canonical rdata a and b are equal, else 0. */
int rdata_canon_equal(const uint8_t *a, size_t alen, const uint8_t *b,
                      size_t blen);

#endif
