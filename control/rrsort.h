/* rrsort.h: a zone's ldns RRs in DNSSEC canonical order, sorted fast.
 *
 * The order: owner (RFC 4034 6.1, case-insensitive), then type, then
 * class, then canonical rdata (RFC 4034 6.2: the names in the rdata of the
 * listed types lowercased; 6.3: octet by octet, a proper prefix first).
 * For a zone of one class this is the order of ldns_rr_compare(), which
 * the text of a published zone and the IXFR application used before; TTLs
 * are not part of it (two RRs differing only in TTL compare equal).
 *
 * The sort builds each RR's key once (the owner's labels from the root,
 * escaped so that memcmp() gives the canonical order, then type, class
 * and canonical rdata) instead of converting both RRs on every
 * comparison, as ldns_rr_compare() does. publish.h keeps the zone it
 * publishes in this order (SOA first), xfr_ixfr_apply() produces it, so
 * a version is sorted once, when it arrives by AXFR.
 *
 * Control-plane only: rrsort_sort() allocates (about 60 octets per RR,
 * freed before it returns); the rest is pure. Any thread.
 */
#ifndef EDGEDNS_RRSORT_H
#define EDGEDNS_RRSORT_H

#include <stddef.h>

#include <ldns/ldns.h>

/* The order above: <0, 0, >0. Converts both RRs (no allocation): for a
 * few comparisons, not for sorting a zone. */
int rrsort_cmp(const ldns_rr *a, const ldns_rr *b);

/* Sort v[0..n) into the order above; RRs that compare equal keep their
 * relative order (a stable sort). Returns 0 or ED_ENOMEM (v unchanged). */
int rrsort_sort(ldns_rr **v, size_t n);

/* 1 when v[0..n) is in the order above (equal neighbours allowed). */
int rrsort_is_sorted(ldns_rr *const *v, size_t n);

/* The same for the RRs of l from index from on. */
int rrsort_list_is_sorted(const ldns_rr_list *l, size_t from);

/* Reorder the list in place: its first SOA first, then every other RR in
 * the order above (the order of a published version, publish.h). A list
 * already in it is only checked. 0 or ED_ENOMEM (l unchanged). */
int rrsort_list(ldns_rr_list *l);

#endif
