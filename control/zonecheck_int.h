/* zonecheck_int.h: the zone checker's private parts, shared by zonecheck.c
 * (storage, collection, reports, zc_run()) and zonecheck_rules.c (the
 * per-name checks zc_run() makes in its two passes). Not for other modules.
 */
#ifndef EDGEDNS_ZONECHECK_INT_H
#define EDGEDNS_ZONECHECK_INT_H

#include <stddef.h>
#include <stdint.h>

#include "dname.h"
#include "zonecheck.h"

/* struct rr flags */
#define RR_DROP 0x1u    /* duplicate or out of zone: not kept */
#define RR_CANON 0x2u   /* a lowercased copy of the rdata follows it */

/* struct name flags */
#define N_SOA 0x001u
#define N_NS 0x002u
#define N_CNAME 0x004u
#define N_DNAME 0x008u
#define N_ADDR 0x010u       /* A or AAAA */
#define N_OUTZONE 0x020u
#define N_NSTARGET 0x040u   /* named as the target of some NS RR */
#define N_APEX 0x080u
#define N_DELEG 0x100u      /* NS and not the apex */
#define N_ENT 0x200u        /* added by zc_run(): an ancestor without RRs */

struct rr {
	uint64_t data;      /* arena offset of the rdata */
	uint32_t name;      /* index into names[] */
	uint32_t line;
	uint32_t file;
	uint32_t ttl;
	uint16_t type;
	uint16_t rclass;
	uint16_t rdlen;
	uint16_t flags;
};

struct name {
	uint64_t hash;      /* dname_hash() of the lowercase name */
	uint64_t off;       /* arena offset of the lowercase wire name */
	uint32_t cut;       /* index + 1 of the nearest enclosing cut, 0: none */
	uint16_t flags;
	uint8_t len;
	uint8_t pad;
};

struct report {
	uint64_t text;      /* offset into the text arena */
	uint32_t file, line;
	uint32_t seq;
	uint32_t sev;
};

struct arena {
	uint8_t *p;
	size_t len, cap;
};

struct zc {
	zc_report_fn fn;
	unsigned flags;         /* ZC_* */
	void *arg;
	struct arena data;      /* names and rdata */
	struct rr *rrs;
	size_t nrrs, rrcap;
	size_t nkept;
	struct name *names;
	size_t nnames, namecap;
	uint64_t *slots;        /* hash >> 32 << 32 | (name index + 1), 0 empty */
	size_t nslots;
	size_t nhashed;         /* names[0..nhashed) are in slots[] */
	int unsorted;           /* names came out of canonical order: no more
	                         * appending without the table */
	size_t last_name;       /* index name_intern() gave last (a hint) */
	long soa_name;          /* name of the first SOA, -1: none */
	/* Reports of zc_run(), sorted before delivery. */
	struct report *reps;
	size_t nreps, repcap;
	struct arena text;
	int oom;
	int ran;
	long add_errors;        /* errors reported by zc_add() */
	unsigned long unshown[2]; /* errors, warnings over ZC_REPORT_MAX */
	uint8_t apex[DNAME_MAXLEN];
};

static inline const uint8_t *name_wire(const struct zc *zc, uint32_t i)
{
	return zc->data.p + zc->names[i].off;
}

static inline const uint8_t *rr_rdata(const struct zc *zc, const struct rr *r)
{
	return zc->data.p + r->data;
}

/* The rdata with names lowercased (for comparisons). */
static inline const uint8_t *rr_crdata(const struct zc *zc, const struct rr *r)
{
	return zc->data.p + r->data + ((r->flags & RR_CANON) ? r->rdlen : 0);
}

#define NAMESTR(zc, i, buf) dname_to_str(name_wire((zc), (i)), (buf), sizeof(buf))

/* Put every name in the lookup table (names added in canonical order wait
 * outside it) and stop deferring; 0 or ED_ENOMEM. zc_run() calls it first:
 * zc_name_find() is for after. */
int zc_table_complete(struct zc *zc);

/* Index of the lowercase name lname (len octets, hash h), or -1. */
long zc_name_find(const struct zc *zc, const uint8_t *lname, size_t len,
                  uint64_t h);

/* A report of zc_run(), buffered and delivered sorted by position. */
void zc_note(struct zc *zc, enum zc_severity sev, uint32_t file,
             uint32_t line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Nearest strict ancestor of lname (below or at the apex) that is a
 * delegation or holds a DNAME: its index + 1, 0 when none. lname must be
 * at or below the apex. */
uint32_t zc_find_cut(const struct zc *zc, const uint8_t *lname,
                     unsigned apex_labels);

/* Pass A over the RRs of one name, rrs[idx[a..b)] (sorted by name, type,
 * canonical rdata): out-of-zone, per-RRset checks (duplicates dropped,
 * TTLs), name flags, CNAME/DNAME/SOA counts. apex_i: the apex's name
 * index, UINT32_MAX when it has none. */
void zc_check_name_a(struct zc *zc, const uint32_t *idx, size_t a, size_t b,
                     uint32_t apex_i);

/* Pass B over one name [a, b): occluded data, glue. Needs the flags and
 * cuts of every name (pass A and the cuts done). */
void zc_check_name_b(struct zc *zc, const uint32_t *idx, size_t a, size_t b,
                     unsigned apex_labels);

#endif
