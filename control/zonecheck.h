/* zonecheck.h: semantic checks of a zone's RRs in wire form.
 *
 * The checker collects the RRs of one zone (from the zone compiler's text
 * parser, or from a transfer), then runs the checks that Knot DNS's
 * semantic checks and nsd-checkzone do, and keeps the RRs that survive in
 * the order they were added. It knows nothing of files: each RR carries an
 * opaque position (file index, line) that comes back in the reports, so the
 * caller can print "file:line: error: text".
 *
 * Checks (E error, W warning; an RR a check drops is not kept). Each
 * report carries the position of the offending RR: for a conflict between
 * two RRs, the one added later; for a duplicate, the dropped copy.
 *   E class other than IN (RR dropped); meta type (OPT, TSIG, ANY, ...)
 *   E owner not at or below the apex (out-of-zone data; one report per
 *     name, at its first RR)
 *   E no SOA at the apex; SOA elsewhere; more than one SOA at the apex
 *   E no NS at the apex
 *   E CNAME beside other data (anything except RRSIG and NSEC); two CNAMEs
 *   E more than one DNAME at a name; any RR below a DNAME owner (RFC 6672
 *     2.3, Knot's "child record exists under DNAME"; RRSIGs not reported)
 *   E missing glue (Knot's check, made an error): an NS target of a
 *     delegation that is at or below the delegation and has no A/AAAA, or
 *     that is elsewhere in the zone, not below another zone cut, and has
 *     no A/AAAA (nor a wildcard with one). Targets below another cut are
 *     that cut's glue and not checked.
 *   W duplicate RR (owner, type, class and rdata equal, names in rdata of
 *     the RFC 4034 6.2 types compared case-insensitively): later one dropped
 *   W TTLs differ inside an RRset (RRSIG excepted): the set takes the TTL
 *     of its last RR, as Knot DNS does (its loader sets the set's TTL to
 *     each differing TTL in turn); with ZC_TTL_FIRST the first RR's, as
 *     BIND does
 *   W occluded data, one report per RRset: below a delegation anything but
 *     an A/AAAA at a name that is the target of some NS RR of the zone
 *     (glue, sibling glue included); at a delegation point anything but NS,
 *     DS, NSEC and such glue. RRSIGs are not
 *     reported (their covered set is). Occluded RRs are kept: the
 *     snapshot marks them and the engine never answers from them.
 *   W an apex NS target inside the zone without any A/AAAA
 *
 * Cost: O(n log n) in the number of RRs (one sort, hashed name lookups),
 * memory about 40 octets per RR plus its rdata and one copy per owner name.
 * Control-plane only: allocates; one checker per thread.
 */
#ifndef EDGEDNS_ZONECHECK_H
#define EDGEDNS_ZONECHECK_H

#include <stddef.h>
#include <stdint.h>

struct zc;

enum zc_severity { ZC_ERROR = 0, ZC_WARNING = 1 };

/* Report sink: text is one message without position or severity, e.g.
 * "CNAME beside other data at www.example.com."; file and line are the
 * position given to zc_add() for the offending RR (line 0: the message
 * belongs to the zone, not to one RR). text is valid during the call. */
typedef void (*zc_report_fn)(void *arg, enum zc_severity sev, uint32_t file,
                             uint32_t line, const char *text);

/* One kept RR as zc_get() returns it. Pointers stay valid until zc_free(). */
struct zc_rr {
	const uint8_t *owner;   /* lowercase wire name */
	const uint8_t *rdata;   /* as given to zc_add() (original case) */
	uint32_t ttl;           /* the RRset's TTL (RRSIG: the RR's own) */
	uint16_t type;
	uint16_t rclass;
	uint16_t rdlen;
	uint32_t file, line;
};

/* zc_new() flags */
#define ZC_TTL_FIRST 0x1u   /* an RRset whose TTLs differ takes its first
                               RR's TTL (default: its last RR's, as Knot) */

/* New checker; reports go to fn(arg, ...): the class and type checks
 * at once from zc_add(), all others from zc_run(). NULL when out of
 * memory. */
struct zc *zc_new(zc_report_fn fn, void *arg, unsigned flags);

/* Add one RR: owner an uncompressed wire name (any case), rdata in wire
 * form with names uncompressed. file and line are echoed in reports.
 * Returns 0 (also when the RR was reported and dropped), ED_EINVAL
 * (malformed owner), ED_ELIMIT (more than 2^32-1 RRs) or ED_ENOMEM. */
int zc_add(struct zc *zc, const uint8_t *owner, uint16_t type,
           uint16_t rclass, uint32_t ttl, const uint8_t *rdata,
           uint16_t rdlen, uint32_t file, uint32_t line);

/* Run all checks for the zone whose apex is the wire name apex (any case).
 * Reports are delivered sorted by (file, line). Call once, after the last
 * zc_add(). Returns the number of errors found, those of zc_add()
 * included (0: the zone may be served), or ED_ENOMEM / ED_EINVAL (apex
 * malformed, called twice). */
long zc_run(struct zc *zc, const uint8_t *apex);

/* RRs added (not counting those dropped by zc_add()) and, after zc_run(),
 * kept. */
size_t zc_added(const struct zc *zc);
size_t zc_kept(const struct zc *zc);

/* The i-th kept RR, i < zc_kept(), in the order added. Only after
 * zc_run(). Returns 0 or ED_ENOENT. */
int zc_get(const struct zc *zc, size_t i, struct zc_rr *out);

/* The wire owner of the first SOA added, or NULL: the apex when the caller
 * was not told one. */
const uint8_t *zc_first_soa_owner(const struct zc *zc);

void zc_free(struct zc *zc);

/* Name of an RR type for messages ("A", "TYPE65280"): buf holds at least
 * 16 octets; returns buf. */
char *zc_type_str(uint16_t type, char *buf, size_t size);

#endif
