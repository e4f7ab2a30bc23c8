/* verify.h: the gate a new zone version passes before it goes live.
 *
 * A secondary zone service receives a whole zone (an AXFR, or an IXFR
 * applied to the current version) and calls verify_zone() with it and the
 * version being served. The compiler's checks (compile.h, zonecheck.h) are
 * not repeated here; this gate adds, in this order, stopping at the first
 * failure:
 *
 *   1. structure: one SOA, at the apex (the SOA's owner); class IN only.
 *      RRs outside the zone are ignored (the compiler reports them);
 *      duplicate RRs count once (an AXFR repeats its SOA at the end).
 *   2. serial (RFC 1982) against the previous version: greater is a new
 *      version; equal is VERIFY_UP_TO_DATE and nothing else is checked;
 *      smaller, or exactly 2^31 apart (undefined), is refused.
 *   3. blast radius against the previous version: refused when more than
 *      max_remove_pct percent of its data RRs are gone, or when the apex NS
 *      set changed (unless allow_ns_change). Data RRs are all but SOA,
 *      RRSIG, NSEC, NSEC3, NSEC3PARAM and ZONEMD, which change with every
 *      serial or signing run; RRs are compared by owner, type and rdata
 *      (names in the RFC 4034 6.2 types case-insensitively), not TTL.
 *   4. ZONEMD (RFC 8976): the apex ZONEMD records of scheme 1 (SIMPLE)
 *      and hash 1 (SHA384) or 2 (SHA512) are the supported ones; others
 *      are ignored, and a zone with none counts as without ZONEMD. When
 *      supported records exist, at least one with the SOA's serial must
 *      carry the digest of the zone (RFC 8976 3: every RR at or below the
 *      apex in canonical order and form, duplicates once, occluded data
 *      included, the apex ZONEMD RRset and the RRSIGs covering it left
 *      out). Two supported records with the same hash and the SOA serial
 *      make that hash unusable (RFC 8976 4). require_zonemd refuses a zone
 *      without a verified ZONEMD.
 *   5. DNSSEC, when the apex has a DNSKEY RRset (the zone keys in it:
 *      flag ZONE, protocol 3):
 *      - every RRSIG has the apex as signer, a label count no larger than
 *        its owner's, covers an authoritative RRset that exists, and
 *        verifies with a zone key of its key tag and algorithm (so an
 *        algorithm ldns cannot verify is refused);
 *      - no RRSIG is not yet valid, expired, or expires within
 *        rrsig_margin seconds of now (times in RFC 1982 arithmetic, as
 *        RFC 4034 3.1.5);
 *      - every authoritative RRset (not NS at a delegation, nor anything
 *        below one) has a valid RRSIG of every zone key algorithm
 *        (RFC 4035 2.2);
 *      - the denial chain: with an NSEC3PARAM at the apex (the first with
 *        flags 0 and hash SHA-1; others alone are refused), the NSEC3
 *        chain of its parameters, else the NSEC chain.
 *        NSEC: one per authoritative name, each pointing to the next in
 *        canonical order, the last to the apex, its bitmap the types at
 *        the name. NSEC3: a closed chain in hash order; one NSEC3 for each
 *        authoritative name and empty non-terminal (an insecure delegation,
 *        or an empty non-terminal above nothing but insecure delegations,
 *        may instead be covered by an NSEC3 with the opt-out flag), its
 *        bitmap the types at the name; no NSEC3 that matches no name.
 *      An RRSIG or NSEC at a name below a delegation is refused too.
 *      A zone without an apex DNSKEY is taken as unsigned: nothing of
 *      this step runs.
 *
 * force (an operator's override) lets steps 2 and 3 pass (an equal serial
 * then counts as a new version and the other steps run); it never
 * overrides ZONEMD or DNSSEC. What it overrode is in the report's reason.
 *
 * The cryptography is ldns's (RRSIG verification, NSEC3 hashing) and
 * OpenSSL's (the ZONEMD digests).
 *
 * Control-plane only: allocates (about twice the zone: a canonical copy of
 * each RR), no I/O, no global state; any number of threads may verify
 * different zones at the same time. Cost: one sort of each version, one
 * signature verification per RRSIG, one NSEC3 hash per name.
 */
#ifndef EDGEDNS_VERIFY_H
#define EDGEDNS_VERIFY_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <ldns/ldns.h>

#define VERIFY_RRSIG_MARGIN   172800u  /* 2 days, default rrsig_margin */
#define VERIFY_MAX_REMOVE_PCT 50u      /* default max_remove_pct */

struct verify_policy {
	bool require_zonemd;     /* refuse a zone without a verified ZONEMD */
	uint32_t rrsig_margin;   /* seconds an RRSIG must stay valid from now */
	unsigned max_remove_pct; /* refuse when more than this percentage of the
	                            previous data RRs is gone; >= 100: never */
	bool allow_ns_change;    /* an apex NS change is not refused */
	bool force;              /* operator override of steps 2 and 3 */
};

/* No ZONEMD required, margin 2 days, 50%, no NS change, no force. */
void verify_policy_defaults(struct verify_policy *p);

enum verify_result {
	VERIFY_OK = 0,       /* the new version may go live */
	VERIFY_UP_TO_DATE,   /* same serial as the previous version: keep it */
	VERIFY_REFUSED,      /* reason says why */
	VERIFY_ERROR,        /* the gate could not decide (see return code) */
};

struct verify_report {
	enum verify_result result;
	char reason[512];        /* for people, the first failure, e.g.
	                            "ZONEMD digest mismatch (SHA384)",
	                            "RRSIG www.example.com. A expires in 3600 s,
	                            margin 172800 s", "removes 4 of 5 RRs
	                            (80.0%, limit 50%)"; with VERIFY_OK empty,
	                            or "forced: ..." naming what force let
	                            through */
	unsigned zonemd_verified;/* ZONEMD records whose digest matched */
	unsigned rrsigs_checked; /* RRSIGs verified by signature */
	bool zonemd;             /* the zone has a supported ZONEMD record */
	bool dnssec;             /* the zone has an apex DNSKEY RRset */
	uint32_t old_serial, new_serial; /* old_serial 0 without a previous */
	uint64_t rrs;            /* RRs of the new version (in zone, once) */
	uint64_t rrs_removed, rrs_added; /* data RRs versus the previous */
};

/* Decide whether new_zone may replace old_zone. Both are whole zones, SOA
 * included, in any order (as a transfer delivers them; a repeated SOA is
 * fine); old_zone NULL: first load (no serial or blast radius checks). now
 * is the time RRSIG validity is checked against. Neither list is changed;
 * nothing of them is kept after the call. pol NULL: the defaults.
 *
 * Returns 0 when the gate decided: rep->result is VERIFY_OK,
 * VERIFY_UP_TO_DATE or VERIFY_REFUSED. Returns ED_ENOMEM, or ED_EINVAL
 * (new_zone or rep NULL; old_zone is not a valid version or is another
 * zone), with rep->result VERIFY_ERROR and the reason filled (when rep is
 * not NULL). */
int verify_zone(const ldns_rr_list *new_zone, const ldns_rr_list *old_zone,
                const struct verify_policy *pol, time_t now,
                struct verify_report *rep);

struct xfr_diff;

/* verify_zone() as the zone service calls it, without a canonical copy of
 * either version when the new one has no apex DNSKEY nor ZONEMD (and
 * require_zonemd is off): one pass over new_zone checks step 1, step 3
 * counts from diffs when there is one step (n steps of an IXFR whose
 * application to old_zone gave new_zone, xfr_ixfr_apply(); both versions
 * must then be in the order of a published version, rrsort_list(): SOA
 * first, the rest in canonical order, as the zone service keeps them),
 * else by a merge of the two versions when both are in that order, else
 * as verify_zone(). Otherwise, and for every zone with DNSSEC or ZONEMD,
 * it is verify_zone(). Same decisions, reasons and counts; in the fast
 * path duplicates count once only when they are neighbours (as in a
 * version in canonical order), and the previous version's structure is
 * not checked again beyond its SOA and apex (it passed when it came).
 * Returns as verify_zone(). */
int verify_zone_diff(const ldns_rr_list *new_zone, const ldns_rr_list *old_zone,
                     const struct xfr_diff *diffs, size_t ndiffs,
                     const struct verify_policy *pol, time_t now,
                     struct verify_report *rep);

/* The same for ldns_zone versions (the SOA is ldns_zone_soa()). */
int verify_ldns_zone(const ldns_zone *new_zone, const ldns_zone *old_zone,
                     const struct verify_policy *pol, time_t now,
                     struct verify_report *rep);

/* RFC 1982 serial number arithmetic on 32 bits: -1 when a < b, 0 when
 * equal, 1 when a > b, 2 when the order is undefined (exactly 2^31
 * apart). */
int serial_compare(uint32_t a, uint32_t b);

/* "ok", "up to date", "refused", "error". */
const char *verify_result_str(enum verify_result r);

#endif
