/* zonecheck.c: semantic zone checks over wire RRs (see zonecheck.h). */
#include "zonecheck.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dname.h"
#include "dnsconst.h"
#include "error.h"


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

#define ZC_REPORT_MAX 100000

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
	uint32_t *slots;        /* name index + 1, 0 empty */
	size_t nslots;
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

/* ---- storage ----------------------------------------------------------- */

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : 64;
	while (n < need)
		n *= 2;
	void *q = realloc(*p, n * elem);
	if (q == NULL)
		return ED_ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

/* Append len octets; returns the offset or -1 when out of memory. */
static int64_t arena_put(struct arena *a, const void *src, size_t len)
{
	size_t cap = a->cap;
	void *p = a->p;
	if (grow(&p, &cap, a->len + len, 1) != 0)
		return -1;
	a->p = p;
	a->cap = cap;
	int64_t off = (int64_t)a->len;
	if (len > 0)
		memcpy(a->p + a->len, src, len);
	a->len += len;
	return off;
}

static const uint8_t *name_wire(const struct zc *zc, uint32_t i)
{
	return zc->data.p + zc->names[i].off;
}

static const uint8_t *rr_rdata(const struct zc *zc, const struct rr *r)
{
	return zc->data.p + r->data;
}

/* The rdata with names lowercased (for comparisons). */
static const uint8_t *rr_crdata(const struct zc *zc, const struct rr *r)
{
	return zc->data.p + r->data + ((r->flags & RR_CANON) ? r->rdlen : 0);
}

/* Index of the lowercase name lname (len octets, hash h), or -1. */
static long name_find(const struct zc *zc, const uint8_t *lname, size_t len,
                      uint64_t h)
{
	if (zc->nslots == 0)
		return -1;
	size_t mask = zc->nslots - 1;
	for (size_t s = h & mask;; s = (s + 1) & mask) {
		uint32_t v = zc->slots[s];
		if (v == 0)
			return -1;
		const struct name *n = &zc->names[v - 1];
		if (n->hash == h && n->len == len &&
		    memcmp(zc->data.p + n->off, lname, len) == 0)
			return (long)(v - 1);
	}
}

static int slots_grow(struct zc *zc)
{
	size_t ns = zc->nslots ? zc->nslots * 2 : 1024;
	uint32_t *sl = calloc(ns, sizeof(*sl));
	if (sl == NULL)
		return ED_ENOMEM;
	for (size_t i = 0; i < zc->nnames; i++) {
		size_t s = zc->names[i].hash & (ns - 1);
		while (sl[s] != 0)
			s = (s + 1) & (ns - 1);
		sl[s] = (uint32_t)i + 1;
	}
	free(zc->slots);
	zc->slots = sl;
	zc->nslots = ns;
	return 0;
}

/* Index of lname, added when new; -1 when out of memory. */
static long name_intern(struct zc *zc, const uint8_t *lname, size_t len)
{
	uint64_t h = dname_hash(lname);
	long i = name_find(zc, lname, len, h);
	if (i >= 0)
		return i;
	if ((zc->nnames + 1) * 2 > zc->nslots && slots_grow(zc) != 0)
		return -1;
	if (grow((void **)&zc->names, &zc->namecap, zc->nnames + 1,
	         sizeof(*zc->names)) != 0)
		return -1;
	int64_t off = arena_put(&zc->data, lname, len);
	if (off < 0)
		return -1;
	struct name *n = &zc->names[zc->nnames];
	memset(n, 0, sizeof(*n));
	n->hash = h;
	n->off = (uint64_t)off;
	n->len = (uint8_t)len;
	size_t mask = zc->nslots - 1;
	size_t s = h & mask;
	while (zc->slots[s] != 0)
		s = (s + 1) & mask;
	zc->slots[s] = (uint32_t)zc->nnames + 1;
	return (long)zc->nnames++;
}

/* ---- reports ----------------------------------------------------------- */

char *zc_type_str(uint16_t type, char *buf, size_t size)
{
	const ldns_rr_descriptor *d = ldns_rr_descript(type);
	if (d != NULL && d->_type == type && d->_name != NULL)
		snprintf(buf, size, "%s", d->_name);
	else
		snprintf(buf, size, "TYPE%u", type);
	return buf;
}

static void vformat(char *buf, size_t size, const char *fmt, va_list ap)
{
	vsnprintf(buf, size, fmt, ap);
}

/* Immediate report (during zc_add()). */
static void report_now(struct zc *zc, enum zc_severity sev, uint32_t file,
                       uint32_t line, const char *fmt, ...)
{
	char buf[1400];
	va_list ap;
	va_start(ap, fmt);
	vformat(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (zc->fn != NULL)
		zc->fn(zc->arg, sev, file, line, buf);
}

/* Buffered report (during zc_run()), delivered sorted by position. Past
 * ZC_REPORT_MAX they are only counted (a broken 10M-RR zone must not
 * take gigabytes of messages). */
static void report(struct zc *zc, enum zc_severity sev, uint32_t file,
                   uint32_t line, const char *fmt, ...)
{
	char buf[1400];
	va_list ap;
	if (zc->nreps >= ZC_REPORT_MAX) {
		zc->unshown[sev == ZC_ERROR ? 0 : 1]++;
		return;
	}
	va_start(ap, fmt);
	vformat(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (grow((void **)&zc->reps, &zc->repcap, zc->nreps + 1,
	         sizeof(*zc->reps)) != 0) {
		zc->oom = 1;
		return;
	}
	int64_t off = arena_put(&zc->text, buf, strlen(buf) + 1);
	if (off < 0) {
		zc->oom = 1;
		return;
	}
	struct report *r = &zc->reps[zc->nreps];
	r->text = (uint64_t)off;
	r->file = file;
	r->line = line;
	r->seq = (uint32_t)zc->nreps;
	r->sev = sev;
	zc->nreps++;
}

static int report_cmp(const void *a, const void *b)
{
	const struct report *x = a, *y = b;
	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* ---- canonical rdata (RFC 4034 6.2, as amended by RFC 6840 5.1) -------- */

/* Lowercase the name at rd[*o], advance *o past it; -1 when malformed. */
static int lower_name_at(uint8_t *rd, size_t len, size_t *o)
{
	if (*o >= len)
		return -1;
	size_t n = dname_check(rd + *o, len - *o);
	if (n == 0)
		return -1;
	dname_lower(rd + *o, rd + *o, n);
	*o += n;
	return 0;
}

/* Lowercase the names inside the rdata of the types whose canonical form
 * lowercases them. Malformed rdata is left as far as it got. */
static void canon_rdata(uint16_t type, uint8_t *rd, size_t len)
{
	size_t o = 0;
	switch (type) {
	case T_NS: case T_MD: case T_MF: case T_CNAME: case T_MB: case T_MG:
	case T_MR: case T_PTR: case T_DNAME: case T_NXT:
		lower_name_at(rd, len, &o);
		break;
	case T_SOA: case T_MINFO: case T_RP:
		if (lower_name_at(rd, len, &o) == 0)
			lower_name_at(rd, len, &o);
		break;
	case T_MX: case T_AFSDB: case T_RT: case T_KX:
		o = 2;
		lower_name_at(rd, len, &o);
		break;
	case T_PX:
		o = 2;
		if (lower_name_at(rd, len, &o) == 0)
			lower_name_at(rd, len, &o);
		break;
	case T_SRV:
		o = 6;
		lower_name_at(rd, len, &o);
		break;
	case T_SIG: case T_RRSIG:
		o = 18;
		lower_name_at(rd, len, &o);
		break;
	case T_NAPTR:
		o = 4;
		for (int i = 0; i < 3 && o < len; i++)
			o += 1u + rd[o];
		lower_name_at(rd, len, &o);
		break;
	case T_A6:
		if (len > 0 && rd[0] <= 128) {
			o = 1u + (128u - rd[0] + 7u) / 8u;
			if (rd[0] > 0)
				lower_name_at(rd, len, &o);
		}
		break;
	default:
		break;
	}
}

/* 1 for the types canon_rdata() may change. */
static int canon_type(uint16_t type)
{
	switch (type) {
	case T_NS: case T_MD: case T_MF: case T_CNAME: case T_MB: case T_MG:
	case T_MR: case T_PTR: case T_DNAME: case T_NXT: case T_SOA:
	case T_MINFO: case T_RP: case T_MX: case T_AFSDB: case T_RT: case T_KX:
	case T_PX: case T_SRV: case T_SIG: case T_RRSIG: case T_NAPTR: case T_A6:
		return 1;
	}
	return 0;
}

/* ---- collecting -------------------------------------------------------- */

struct zc *zc_new(zc_report_fn fn, void *arg, unsigned flags)
{
	struct zc *zc = calloc(1, sizeof(*zc));
	if (zc == NULL)
		return NULL;
	zc->fn = fn;
	zc->arg = arg;
	zc->flags = flags;
	zc->soa_name = -1;
	return zc;
}

void zc_free(struct zc *zc)
{
	if (zc == NULL)
		return;
	free(zc->data.p);
	free(zc->text.p);
	free(zc->rrs);
	free(zc->names);
	free(zc->slots);
	free(zc->reps);
	free(zc);
}

static const char *class_str(uint16_t c, char *buf, size_t size)
{
	switch (c) {
	case 3: return "CH";
	case 4: return "HS";
	case 254: return "NONE";
	case 255: return "ANY";
	}
	snprintf(buf, size, "CLASS%u", c);
	return buf;
}

static int is_meta_type(uint16_t type)
{
	return type == 0 || type == T_OPT || (type >= 128 && type <= 255);
}

int zc_add(struct zc *zc, const uint8_t *owner, uint16_t type,
           uint16_t rclass, uint32_t ttl, const uint8_t *rdata,
           uint16_t rdlen, uint32_t file, uint32_t line)
{
	uint8_t lname[DNAME_MAXLEN];
	char nb[1024], tb[16];
	size_t len = dname_check(owner, DNAME_MAXLEN);
	if (len == 0 || zc->ran)
		return ED_EINVAL;
	dname_lower(lname, owner, len);
	if (rclass != LDNS_RR_CLASS_IN) {
		char cb[16];
		report_now(zc, ZC_ERROR, file, line,
		           "class %s is not IN: %s %s", class_str(rclass, cb, sizeof(cb)),
		           dname_to_str(lname, nb, sizeof(nb)),
		           zc_type_str(type, tb, sizeof(tb)));
		zc->add_errors++;
		return 0;
	}
	if (is_meta_type(type)) {
		report_now(zc, ZC_ERROR, file, line,
		           "type %s is not zone data: %s",
		           zc_type_str(type, tb, sizeof(tb)),
		           dname_to_str(lname, nb, sizeof(nb)));
		zc->add_errors++;
		return 0;
	}
	if (zc->nrrs >= UINT32_MAX - 1)
		return ED_ELIMIT;
	if (grow((void **)&zc->rrs, &zc->rrcap, zc->nrrs + 1,
	         sizeof(*zc->rrs)) != 0)
		return ED_ENOMEM;
	long ni = name_intern(zc, lname, len);
	if (ni < 0)
		return ED_ENOMEM;
	int64_t off = arena_put(&zc->data, rdata, rdlen);
	if (off < 0)
		return ED_ENOMEM;
	struct rr *r = &zc->rrs[zc->nrrs];
	memset(r, 0, sizeof(*r));
	r->data = (uint64_t)off;
	r->name = (uint32_t)ni;
	r->line = line;
	r->file = file;
	r->ttl = ttl;
	r->type = type;
	r->rclass = rclass;
	r->rdlen = rdlen;
	/* A lowercased copy only when lowercasing changes something. */
	if (canon_type(type)) {
		uint8_t crd[65536];
		memcpy(crd, rdata, rdlen);
		canon_rdata(type, crd, rdlen);
		if (memcmp(crd, rdata, rdlen) != 0) {
			if (arena_put(&zc->data, crd, rdlen) < 0)
				return ED_ENOMEM;
			r->flags |= RR_CANON;
		}
	}
	if (type == T_SOA && zc->soa_name < 0)
		zc->soa_name = ni;
	zc->nrrs++;
	return 0;
}

size_t zc_added(const struct zc *zc)
{
	return zc->nrrs;
}

size_t zc_kept(const struct zc *zc)
{
	return zc->ran ? zc->nkept : 0;
}

const uint8_t *zc_first_soa_owner(const struct zc *zc)
{
	return zc->soa_name < 0 ? NULL : name_wire(zc, (uint32_t)zc->soa_name);
}

int zc_get(const struct zc *zc, size_t i, struct zc_rr *out)
{
	if (!zc->ran || i >= zc->nkept)
		return ED_ENOENT;
	const struct rr *r = &zc->rrs[i];
	out->owner = name_wire(zc, r->name);
	out->rdata = rr_rdata(zc, r);
	out->ttl = r->ttl;
	out->type = r->type;
	out->rclass = r->rclass;
	out->rdlen = r->rdlen;
	out->file = r->file;
	out->line = r->line;
	return 0;
}

/* ---- checks ------------------------------------------------------------ */

static int rr_cmp(const void *a, const void *b, void *ctx)
{
	const struct zc *zc = ctx;
	uint32_t ia = *(const uint32_t *)a, ib = *(const uint32_t *)b;
	const struct rr *x = &zc->rrs[ia], *y = &zc->rrs[ib];
	if (x->name != y->name)
		return x->name < y->name ? -1 : 1;
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	size_t m = x->rdlen < y->rdlen ? x->rdlen : y->rdlen;
	int c = memcmp(rr_crdata(zc, x), rr_crdata(zc, y), m);
	if (c != 0)
		return c;
	if (x->rdlen != y->rdlen)
		return x->rdlen < y->rdlen ? -1 : 1;
	return ia < ib ? -1 : ia > ib;
}

static int rdata_equal(const struct zc *zc, const struct rr *x,
                       const struct rr *y)
{
	return x->rdlen == y->rdlen &&
	       memcmp(rr_crdata(zc, x), rr_crdata(zc, y), x->rdlen) == 0;
}

#define NAMESTR(zc, i, buf) dname_to_str(name_wire((zc), (i)), (buf), sizeof(buf))

/* Nearest strict ancestor of lname (below or at the apex) that is a
 * delegation or holds a DNAME: its index + 1, 0 when none. lname must be
 * at or below the apex. */
static uint32_t find_cut(const struct zc *zc, const uint8_t *lname,
                         unsigned apex_labels)
{
	uint8_t off[DNAME_MAXLABELS];
	uint64_t hs[DNAME_MAXLABELS + 1];
	unsigned n = dname_label_offsets(lname, off);
	dname_hash_suffixes(lname, off, n, hs);
	size_t len = dname_len(lname);
	for (unsigned i = 1; i + apex_labels <= n; i++) {
		long k = name_find(zc, lname + off[i], len - off[i], hs[i]);
		if (k >= 0 && (zc->names[k].flags & (N_DELEG | N_DNAME)))
			return (uint32_t)k + 1;
	}
	return 0;
}

/* 1 when an A or AAAA answers for lname: at the name itself or, when the
 * name does not exist and wild is set, through the wildcard at its closest
 * encloser. */
static int has_address(const struct zc *zc, const uint8_t *lname, int wild,
                       unsigned apex_labels)
{
	uint8_t off[DNAME_MAXLABELS];
	uint64_t hs[DNAME_MAXLABELS + 1];
	unsigned n = dname_label_offsets(lname, off);
	dname_hash_suffixes(lname, off, n, hs);
	size_t len = dname_len(lname);
	long k = name_find(zc, lname, len, hs[0]);
	if (k >= 0)
		return (zc->names[k].flags & N_ADDR) != 0;
	if (!wild)
		return 0;
	for (unsigned i = 1; i + apex_labels <= n; i++) {
		long e = name_find(zc, lname + off[i], len - off[i], hs[i]);
		if (e < 0)
			continue;   /* not in the zone: go on up to the closest encloser */
		uint8_t w[DNAME_MAXLEN];
		size_t el = len - off[i];
		if (el + 2 > DNAME_MAXLEN)
			return 0;
		w[0] = 1;
		w[1] = '*';
		memcpy(w + 2, lname + off[i], el);
		long wi = name_find(zc, w, el + 2, dname_hash(w));
		return wi >= 0 && (zc->names[wi].flags & N_ADDR) != 0;
	}
	return 0;
}

/* The RR of rrs[idx[a..b)] that was added first. */
static const struct rr *first_added(const struct zc *zc, const uint32_t *idx,
                                    size_t a, size_t b, int skip_drop)
{
	const struct rr *best = NULL;
	uint32_t bi = UINT32_MAX;
	for (size_t k = a; k < b; k++) {
		const struct rr *r = &zc->rrs[idx[k]];
		if (skip_drop && (r->flags & RR_DROP))
			continue;
		if (idx[k] < bi) {
			bi = idx[k];
			best = r;
		}
	}
	return best;
}

/* Per RRset [a, b) of one name, one type: duplicates and TTLs. */
static void check_rrset(struct zc *zc, const uint32_t *idx, size_t a, size_t b)
{
	char nb[1024], tb[16];
	struct rr *r0 = &zc->rrs[idx[a]];
	for (size_t k = a + 1; k < b; k++) {
		struct rr *r = &zc->rrs[idx[k]];
		const struct rr *p = &zc->rrs[idx[k - 1]];
		/* Equal rdata sort together, first added first. */
		if (rdata_equal(zc, p, r)) {
			const struct rr *orig = p;
			for (size_t j = k - 1; j > a &&
			     (zc->rrs[idx[j]].flags & RR_DROP); j--)
				orig = &zc->rrs[idx[j - 1]];
			r->flags |= RR_DROP;
			report(zc, ZC_WARNING, r->file, r->line,
			       "duplicate RR dropped: %s %s (first at line %u)",
			       NAMESTR(zc, r->name, nb),
			       zc_type_str(r->type, tb, sizeof(tb)), orig->line);
		}
	}
	if (r0->type == T_RRSIG)
		return;
	/* The RR where a TTL first differs from the first RR's (reading the
	 * zone top down), and the RR whose TTL the set takes: the first one, or
	 * as Knot does, the last one (duplicates included: Knot takes their TTL
	 * before it drops them). */
	const struct rr *first = first_added(zc, idx, a, b, 1);
	const struct rr *last = NULL, *bad = NULL;
	for (size_t k = a; k < b; k++) {
		const struct rr *r = &zc->rrs[idx[k]];
		if (last == NULL || r > last)
			last = r;
		if (r->ttl != first->ttl && (bad == NULL || r < bad))
			bad = r;
	}
	if (bad == NULL)
		return;
	const struct rr *use = (zc->flags & ZC_TTL_FIRST) ? first : last;
	uint32_t ttl = use->ttl;
	report(zc, ZC_WARNING, bad->file, bad->line,
	       "TTL mismatch in RRset %s %s: using %u from line %u",
	       NAMESTR(zc, bad->name, nb), zc_type_str(bad->type, tb, sizeof(tb)),
	       ttl, use->line);
	for (size_t k = a; k < b; k++)
		zc->rrs[idx[k]].ttl = ttl;
}

/* The k-th (0-based) RR added of those kept in [a, b). */
static const struct rr *nth_added(const struct zc *zc, const uint32_t *idx,
                                  size_t a, size_t b, unsigned nth)
{
	uint32_t best[2] = { UINT32_MAX, UINT32_MAX };
	for (size_t k = a; k < b; k++) {
		if (zc->rrs[idx[k]].flags & RR_DROP)
			continue;
		uint32_t v = idx[k];
		if (v < best[0]) {
			best[1] = best[0];
			best[0] = v;
		} else if (v < best[1]) {
			best[1] = v;
		}
	}
	return best[nth] == UINT32_MAX ? NULL : &zc->rrs[best[nth]];
}

/* Pass A over the RRs of one name [a, b): out-of-zone, per-RRset checks,
 * flags, CNAME/DNAME/SOA counts. */
static void check_name_a(struct zc *zc, const uint32_t *idx, size_t a,
                         size_t b, uint32_t apex_i)
{
	char nb[1024], ab[1024], tb[16];
	uint32_t ni = zc->rrs[idx[a]].name;
	struct name *n = &zc->names[ni];
	if (!dname_is_sub(name_wire(zc, ni), zc->apex)) {
		const struct rr *r = first_added(zc, idx, a, b, 0);
		n->flags |= N_OUTZONE;
		for (size_t k = a; k < b; k++)
			zc->rrs[idx[k]].flags |= RR_DROP;
		report(zc, ZC_ERROR, r->file, r->line,
		       "out-of-zone data: %s is not at or below %s",
		       NAMESTR(zc, ni, nb), dname_to_str(zc->apex, ab, sizeof(ab)));
		return;
	}
	if (ni == apex_i)
		n->flags |= N_APEX;
	const struct rr *cname = NULL, *other = NULL;
	for (size_t s = a; s < b;) {
		size_t e = s + 1;
		uint16_t t = zc->rrs[idx[s]].type;
		while (e < b && zc->rrs[idx[e]].type == t)
			e++;
		check_rrset(zc, idx, s, e);
		const struct rr *f = first_added(zc, idx, s, e, 1);
		/* For SOA, CNAME, DNAME: a second RR (after duplicates went). */
		const struct rr *second = (t == T_SOA || t == T_CNAME ||
		                           t == T_DNAME) ?
		                          nth_added(zc, idx, s, e, 1) : NULL;
		switch (t) {
		case T_SOA:
			n->flags |= N_SOA;
			if (ni != apex_i)
				report(zc, ZC_ERROR, f->file, f->line,
				       "SOA not at the zone apex: %s",
				       NAMESTR(zc, ni, nb));
			else if (second != NULL)
				report(zc, ZC_ERROR, second->file, second->line,
				       "more than one SOA at %s", NAMESTR(zc, ni, nb));
			break;
		case T_NS:
			n->flags |= N_NS;
			if (ni != apex_i)
				n->flags |= N_DELEG;
			break;
		case T_CNAME:
			n->flags |= N_CNAME;
			cname = f;
			if (second != NULL)
				report(zc, ZC_ERROR, second->file, second->line,
				       "more than one CNAME at %s", NAMESTR(zc, ni, nb));
			break;
		case T_DNAME:
			n->flags |= N_DNAME;
			if (second != NULL)
				report(zc, ZC_ERROR, second->file, second->line,
				       "more than one DNAME at %s", NAMESTR(zc, ni, nb));
			break;
		case T_A:
		case T_AAAA:
			n->flags |= N_ADDR;
			break;
		default:
			break;
		}
		if (t != T_CNAME && t != T_RRSIG && t != T_NSEC &&
		    (other == NULL || f < other))
			other = f;
		s = e;
	}
	if (cname != NULL && other != NULL) {
		const struct rr *at = cname > other ? cname : other;
		report(zc, ZC_ERROR, at->file, at->line,
		       "CNAME beside other data at %s (CNAME at line %u, %s at line %u)",
		       NAMESTR(zc, ni, nb), cname->line,
		       zc_type_str(other->type, tb, sizeof(tb)), other->line);
	}
}

/* An NS RRset [a, b) at the delegation ni: glue for in-zone targets. */
static void check_glue(struct zc *zc, const uint32_t *idx, size_t a, size_t b,
                       uint32_t ni, unsigned apex_labels)
{
	char nb[1024], tn[1024];
	const uint8_t *deleg = name_wire(zc, ni);
	for (size_t k = a; k < b; k++) {
		const struct rr *r = &zc->rrs[idx[k]];
		if (r->flags & RR_DROP)
			continue;
		const uint8_t *t = rr_crdata(zc, r);
		if (dname_check(t, r->rdlen) == 0 || !dname_is_sub(t, zc->apex))
			continue;
		int ok;
		if (dname_is_sub(t, deleg))
			ok = has_address(zc, t, 0, apex_labels);
		else if (find_cut(zc, t, apex_labels) != 0)
			continue;   /* below another cut: that one's business */
		else
			ok = has_address(zc, t, 1, apex_labels);
		if (!ok)
			report(zc, ZC_ERROR, r->file, r->line,
			       "missing glue: NS target %s of delegation %s has no A/AAAA",
			       dname_to_str(t, tn, sizeof(tn)),
			       dname_to_str(deleg, nb, sizeof(nb)));
	}
}

/* Pass B over one name [a, b): occluded data, glue. Needs the flags and
 * cuts of every name. */
static void check_name_b(struct zc *zc, const uint32_t *idx, size_t a,
                         size_t b, unsigned apex_labels)
{
	char nb[1024], cb[1024], tb[16], tn[1024];
	uint32_t ni = zc->rrs[idx[a]].name;
	const struct name *n = &zc->names[ni];
	if (n->flags & N_OUTZONE)
		return;
	const struct name *cut = n->cut ? &zc->names[n->cut - 1] : NULL;
	for (size_t s = a; s < b;) {
		size_t e = s + 1;
		uint16_t t = zc->rrs[idx[s]].type;
		while (e < b && zc->rrs[idx[e]].type == t)
			e++;
		const struct rr *f = first_added(zc, idx, s, e, 1);
		int addr = t == T_A || t == T_AAAA;
		if (f == NULL || t == T_RRSIG) {
			/* signatures follow the data they cover */
		} else if (cut != NULL && (cut->flags & N_DNAME)) {
			/* RFC 6672 2.3: no RRs below a DNAME owner (Knot: error). */
			report(zc, ZC_ERROR, f->file, f->line,
			       "%s at %s is below the DNAME at %s",
			       zc_type_str(t, tb, sizeof(tb)), NAMESTR(zc, ni, nb),
			       NAMESTR(zc, n->cut - 1, cb));
		} else if (cut != NULL) {
			if (!addr || !(n->flags & N_NSTARGET))
				report(zc, ZC_WARNING, f->file, f->line,
				       "%s%s at %s below delegation %s is occluded",
				       addr ? "non-glue " : "",
				       zc_type_str(t, tb, sizeof(tb)),
				       NAMESTR(zc, ni, nb), NAMESTR(zc, n->cut - 1, cb));
		} else if (n->flags & N_DELEG) {
			if (t == T_NS)
				check_glue(zc, idx, s, e, ni, apex_labels);
			else if (t != T_DS && t != T_NSEC &&
			         !(addr && (n->flags & N_NSTARGET)))
				report(zc, ZC_WARNING, f->file, f->line,
				       "%s at delegation point %s is occluded",
				       zc_type_str(t, tb, sizeof(tb)), NAMESTR(zc, ni, nb));
		} else if ((n->flags & N_APEX) && t == T_NS) {
			for (size_t k = s; k < e; k++) {
				const struct rr *r = &zc->rrs[idx[k]];
				const uint8_t *tg = rr_crdata(zc, r);
				if ((r->flags & RR_DROP) ||
				    dname_check(tg, r->rdlen) == 0 ||
				    !dname_is_sub(tg, zc->apex) ||
				    has_address(zc, tg, 1, apex_labels))
					continue;
				report(zc, ZC_WARNING, r->file, r->line,
				       "NS target %s of the apex has no A/AAAA in the zone",
				       dname_to_str(tg, tn, sizeof(tn)));
			}
		}
		s = e;
	}
}

long zc_run(struct zc *zc, const uint8_t *apex)
{
	char ab[1024];
	size_t alen = dname_check(apex, DNAME_MAXLEN);
	if (alen == 0 || zc->ran)
		return ED_EINVAL;
	zc->ran = 1;
	dname_lower(zc->apex, apex, alen);
	unsigned apex_labels = dname_labels(zc->apex);
	long ai = name_find(zc, zc->apex, alen, dname_hash(zc->apex));
	uint32_t apex_i = ai < 0 ? UINT32_MAX : (uint32_t)ai;

	uint32_t *idx = malloc((zc->nrrs ? zc->nrrs : 1) * sizeof(*idx));
	if (idx == NULL)
		return ED_ENOMEM;
	for (size_t i = 0; i < zc->nrrs; i++)
		idx[i] = (uint32_t)i;
	if (zc->nrrs > 0)
		qsort_r(idx, zc->nrrs, sizeof(*idx), rr_cmp, zc);

	/* Pass A: per name. */
	for (size_t s = 0; s < zc->nrrs;) {
		size_t e = s + 1;
		while (e < zc->nrrs && zc->rrs[idx[e]].name == zc->rrs[idx[s]].name)
			e++;
		check_name_a(zc, idx, s, e, apex_i);
		s = e;
	}
	const struct name *an = ai < 0 ? NULL : &zc->names[ai];
	if (an == NULL || !(an->flags & N_SOA)) {
		report(zc, ZC_ERROR, 0, 0, "no SOA at the zone apex %s",
		       dname_to_str(zc->apex, ab, sizeof(ab)));
	} else if (!(an->flags & N_NS)) {
		const struct rr *soa = NULL;
		for (size_t i = 0; i < zc->nrrs && soa == NULL; i++)
			if (zc->rrs[i].name == apex_i && zc->rrs[i].type == T_SOA)
				soa = &zc->rrs[i];
		report(zc, ZC_ERROR, soa->file, soa->line,
		       "no NS at the zone apex %s",
		       dname_to_str(zc->apex, ab, sizeof(ab)));
	}

	/* Empty non-terminals: every ancestor of an in-zone name gets an
	 * entry, so a closest encloser is found where it really is. */
	size_t nreal = zc->nnames;
	for (size_t i = 0; i < nreal; i++) {
		if (zc->names[i].flags & N_OUTZONE)
			continue;
		uint8_t nm[DNAME_MAXLEN];
		size_t l = zc->names[i].len;
		memcpy(nm, name_wire(zc, (uint32_t)i), l);
		const uint8_t *p = nm;
		unsigned labels = dname_labels(nm);
		for (unsigned k = labels; k > apex_labels + 1; k--) {
			p += 1u + *p;
			size_t pl = l - (size_t)(p - nm);
			long e = name_find(zc, p, pl, dname_hash(p));
			if (e >= 0)
				break;  /* its ancestors are there already */
			e = name_intern(zc, p, pl);
			if (e < 0)
				return ED_ENOMEM;
			zc->names[e].flags |= N_ENT;
		}
	}

	/* NS targets (glue is an address at an NS target), then cuts. */
	for (size_t i = 0; i < zc->nrrs; i++) {
		const struct rr *r = &zc->rrs[i];
		if (r->type != T_NS || (r->flags & RR_DROP))
			continue;
		const uint8_t *t = rr_crdata(zc, r);
		size_t tl = dname_check(t, r->rdlen);
		if (tl == 0)
			continue;
		long k = name_find(zc, t, tl, dname_hash(t));
		if (k >= 0)
			zc->names[k].flags |= N_NSTARGET;
	}
	for (size_t i = 0; i < zc->nnames; i++)
		if (!(zc->names[i].flags & N_OUTZONE) && i != apex_i)
			zc->names[i].cut = find_cut(zc, name_wire(zc, (uint32_t)i),
			                            apex_labels);

	/* Pass B: per name. */
	for (size_t s = 0; s < zc->nrrs;) {
		size_t e = s + 1;
		while (e < zc->nrrs && zc->rrs[idx[e]].name == zc->rrs[idx[s]].name)
			e++;
		check_name_b(zc, idx, s, e, apex_labels);
		s = e;
	}
	free(idx);

	/* Keep the survivors in the order added. */
	size_t kept = 0;
	for (size_t i = 0; i < zc->nrrs; i++)
		if (!(zc->rrs[i].flags & RR_DROP))
			zc->rrs[kept++] = zc->rrs[i];
	zc->nkept = kept;

	if (zc->oom)
		return ED_ENOMEM;
	long errors = zc->add_errors;
	if (zc->nreps > 0)
		qsort(zc->reps, zc->nreps, sizeof(*zc->reps), report_cmp);
	for (size_t i = 0; i < zc->nreps; i++) {
		const struct report *r = &zc->reps[i];
		if (r->sev == ZC_ERROR)
			errors++;
		if (zc->fn != NULL)
			zc->fn(zc->arg, (enum zc_severity)r->sev, r->file, r->line,
			       (const char *)zc->text.p + r->text);
	}
	errors += (long)zc->unshown[0];
	if ((zc->unshown[0] || zc->unshown[1]) && zc->fn != NULL) {
		char buf[128];
		snprintf(buf, sizeof(buf), "%lu more errors and %lu more warnings "
		         "not shown", zc->unshown[0], zc->unshown[1]);
		zc->fn(zc->arg, zc->unshown[0] ? ZC_ERROR : ZC_WARNING, 0, 0, buf);
	}
	return errors;
}
