/* verify_int.h: what verify.c and verify_dnssec.c share: one zone version
 * as a sorted array of canonical RRs grouped by owner name. */
#ifndef EDGEDNS_VERIFY_INT_H
#define EDGEDNS_VERIFY_INT_H

#include <stddef.h>
#include <stdint.h>

#include <ldns/ldns.h>

#include "verify.h"

/* One RR in canonical form (RFC 4034 6.2: owner and the rdata names of the
 * listed types lowercased, no compression). */
struct vrr {
	ldns_rr *rr;        /* deep copy, ldns_rr2canonical()ed; ours */
	uint8_t *wire;      /* owner, type, class, TTL, rdlength, rdata */
	uint32_t len;
	uint16_t rdoff;     /* rdata offset in wire */
	uint16_t type;
};

/* vname.flags */
#define VN_APEX     0x01u
#define VN_CUT      0x02u  /* delegation point: NS, not the apex */
#define VN_BELOW    0x04u  /* below a delegation or DNAME: not authoritative */
#define VN_DS       0x08u  /* has a DS RRset */
#define VN_NSEC3    0x10u  /* has nothing but NSEC3 and RRSIG */
#define VN_DNAME    0x20u

/* The RRs of one owner name: v[first..end), sorted by type, then rdata. */
struct vname {
	size_t first, end;
	const uint8_t *owner;  /* lowercase wire name (in v[first].wire) */
	unsigned flags;
};

/* A zone version: its in-zone RRs sorted in canonical order (owner, class,
 * type, rdata: RFC 8976 3.3), each once; names[0] is the apex. */
struct vzone {
	struct vrr *v;
	size_t n;
	struct vname *names;
	size_t nnames;
	const uint8_t *apex;   /* lowercase wire name */
	const ldns_rr *soa;
	uint32_t serial;
};

/* Build z from the RRs of l. Returns 0; ED_EZONE with the reason in err
 * (no SOA, several SOAs, SOA off the apex, class not IN); ED_ENOMEM. z is
 * to be vzone_free()d in every case. */
int vzone_build(struct vzone *z, const ldns_rr_list *l, char *err,
                size_t errlen);
void vzone_free(struct vzone *z);

/* Index of the name equal to the lowercase wire name, or -1. */
long vzone_find_name(const struct vzone *z, const uint8_t *name);

/* Step 4 of verify.h. Returns 0 when it passes (or there is no ZONEMD and
 * none is required), 1 when refused, ED_ENOMEM. Fills rep->zonemd and
 * rep->zonemd_verified. */
int verify_zonemd(const struct vzone *z, const struct verify_policy *pol,
                  struct verify_report *rep);

/* Step 5 of verify.h. Returns 0 when it passes (or the zone is unsigned),
 * 1 when refused (rep->result and reason set), ED_ENOMEM. Fills
 * rep->dnssec and rep->rrsigs_checked. */
int verify_dnssec(const struct vzone *z, const struct verify_policy *pol,
                  time_t now, struct verify_report *rep);

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* Step 2 of verify.h for the two serials: 0 go on, 1 decided (up to
 * date or refused; rep set). What force let through is noted in forced. */
int verify_serial_step(uint32_t nserial, uint32_t oserial, const struct verify_policy *pol,
                       struct verify_report *rep, char *forced, size_t fsize);

/* Step 3's decision from its counts: removed of old_data data RRs gone,
 * ns_change the "apex NS set changed: ..." text or NULL. 0 go on, 1
 * refused. */
int verify_blast_decide(uint64_t removed, uint64_t old_data, const char *ns_change,
                        const struct verify_policy *pol, struct verify_report *rep,
                        char *forced, size_t fsize);

/* 1 for the types step 3 counts (all but SOA, RRSIG, NSEC, NSEC3,
 * NSEC3PARAM, ZONEMD). */
int verify_is_data(uint16_t t);

/* Appends "; " and a note (what force let through) to buf. */
void verify_note(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Set rep->result VERIFY_REFUSED and the reason; returns 1. */
int verify_refuse(struct verify_report *rep, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Presentation form of a type ("A", "TYPE65280") into buf. */
const char *verify_type_str(uint16_t type, char *buf, size_t size);

#endif
