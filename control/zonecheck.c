/* zonecheck.c: semantic zone checks over wire RRs (see zonecheck.h):
 * storage, collecting, reports, zc_run() (its per-name checks are in
 * zonecheck_rules.c). */
#include "zonecheck_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dname.h"
#include "dnsconst.h"
#include "error.h"
#include "rdata_canon.h"

#define ZC_REPORT_MAX 100000

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


/* A slot holds the high half of the name's hash next to its index + 1, so
 * a probe that meets another name is rejected without reading names[]. */
static uint64_t slot_of(uint64_t h, size_t i)
{
	return (h >> 32 << 32) | ((uint64_t)i + 1);
}

long zc_name_find(const struct zc *zc, const uint8_t *lname, size_t len,
                  uint64_t h)
{
	if (zc->nslots == 0)
		return -1;
	size_t mask = zc->nslots - 1;
	for (size_t s = h & mask;; s = (s + 1) & mask) {
		uint64_t v = zc->slots[s];
		if (v == 0)
			return -1;
		if ((v >> 32) != (h >> 32))
			continue;
		uint32_t i = (uint32_t)v - 1;
		const struct name *n = &zc->names[i];
		if (n->hash == h && n->len == len &&
		    memcmp(zc->data.p + n->off, lname, len) == 0)
			return (long)i;
	}
}

/* Rebuild the table with every name in it, at least 1024 slots and at
 * most half full after one more name. The slots to fill are prefetched a
 * few names ahead: a big table misses the cache on nearly every insert. */
static int slots_rebuild(struct zc *zc)
{
	size_t ns = zc->nslots ? zc->nslots : 1024;
	while ((zc->nnames + 1) * 2 > ns)
		ns *= 2;
	uint64_t *sl = calloc(ns, sizeof(*sl));
	if (sl == NULL)
		return ED_ENOMEM;
	size_t mask = ns - 1;
	for (size_t i = 0; i < zc->nnames; i++) {
		if (i + 8 < zc->nnames)
			__builtin_prefetch(&sl[zc->names[i + 8].hash & mask], 1);
		uint64_t h = zc->names[i].hash;
		size_t s = h & mask;
		while (sl[s] != 0)
			s = (s + 1) & mask;
		sl[s] = slot_of(h, i);
	}
	free(zc->slots);
	zc->slots = sl;
	zc->nslots = ns;
	zc->nhashed = zc->nnames;
	return 0;
}

int zc_table_complete(struct zc *zc)
{
	zc->unsorted = 1;
	if (zc->nhashed == zc->nnames && zc->nslots != 0)
		return 0;
	return slots_rebuild(zc);
}

/* Index of lname, added when new; -1 when out of memory. */
static long name_intern(struct zc *zc, const uint8_t *lname, size_t len)
{
	/* Zones arrive sorted by owner: most RRs repeat the name before. */
	if (zc->last_name < zc->nnames) {
		const struct name *l = &zc->names[zc->last_name];
		if (l->len == len && memcmp(zc->data.p + l->off, lname, len) == 0)
			return (long)zc->last_name;
	}
	uint64_t h = dname_hash(lname);
	/* While the names come in canonical order, one after the last is new:
	 * it is appended, and the table waits until a name breaks the order
	 * or zc_run() needs it. */
	int table = zc->unsorted || (zc->nnames > 0 &&
	            dname_canon_cmp(lname, name_wire(zc, (uint32_t)(zc->nnames - 1))) <= 0);
	if (table) {
		zc->unsorted = 1;
		if ((zc->nhashed < zc->nnames || (zc->nnames + 1) * 2 > zc->nslots) &&
		    slots_rebuild(zc) != 0)
			return -1;
		long i = zc_name_find(zc, lname, len, h);
		if (i >= 0) {
			zc->last_name = (size_t)i;
			return i;
		}
	}
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
	if (table) {
		size_t mask = zc->nslots - 1;
		size_t s = h & mask;
		while (zc->slots[s] != 0)
			s = (s + 1) & mask;
		zc->slots[s] = slot_of(h, zc->nnames);
		zc->nhashed++;
	}
	zc->last_name = zc->nnames;
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

/* Immediate report (during zc_add()). */
static void report_now(struct zc *zc, enum zc_severity sev, uint32_t file,
                       uint32_t line, const char *fmt, ...)
{
	char buf[1400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (zc->fn != NULL)
		zc->fn(zc->arg, sev, file, line, buf);
}

/* Buffered report (during zc_run()), delivered sorted by position. Past
 * ZC_REPORT_MAX they are only counted (a broken 10M-RR zone must not
 * take gigabytes of messages). */
void zc_note(struct zc *zc, enum zc_severity sev, uint32_t file,
             uint32_t line, const char *fmt, ...)
{
	char buf[1400];
	va_list ap;
	if (zc->nreps >= ZC_REPORT_MAX) {
		zc->unshown[sev == ZC_ERROR ? 0 : 1]++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
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
	if (rdata_canon_type(type)) {
		uint8_t crd[65536];
		memcpy(crd, rdata, rdlen);
		rdata_canon_lower(type, crd, rdlen);
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
	int c = rdata_canon_cmp(rr_crdata(zc, x), x->rdlen, rr_crdata(zc, y),
	                        y->rdlen);
	if (c != 0)
		return c;
	return ia < ib ? -1 : ia > ib;
}


long zc_run(struct zc *zc, const uint8_t *apex)
{
	char ab[1024];
	size_t alen = dname_check(apex, DNAME_MAXLEN);
	if (alen == 0 || zc->ran)
		return ED_EINVAL;
	zc->ran = 1;
	dname_lower(zc->apex, apex, alen);
	if (zc_table_complete(zc) != 0)
		return ED_ENOMEM;
	unsigned apex_labels = dname_labels(zc->apex);
	long ai = zc_name_find(zc, zc->apex, alen, dname_hash(zc->apex));
	uint32_t apex_i = ai < 0 ? UINT32_MAX : (uint32_t)ai;

	uint32_t *idx = malloc((zc->nrrs ? zc->nrrs : 1) * sizeof(*idx));
	if (idx == NULL)
		return ED_ENOMEM;
	for (size_t i = 0; i < zc->nrrs; i++)
		idx[i] = (uint32_t)i;
	/* Zones arrive in canonical order, which is this one: sort only
	 * when that is not so. */
	size_t sorted = 1;
	while (sorted < zc->nrrs && rr_cmp(&idx[sorted - 1], &idx[sorted], zc) < 0)
		sorted++;
	if (sorted < zc->nrrs)
		qsort_r(idx, zc->nrrs, sizeof(*idx), rr_cmp, zc);

	/* Pass A: per name. */
	for (size_t s = 0; s < zc->nrrs;) {
		size_t e = s + 1;
		while (e < zc->nrrs && zc->rrs[idx[e]].name == zc->rrs[idx[s]].name)
			e++;
		zc_check_name_a(zc, idx, s, e, apex_i);
		s = e;
	}
	const struct name *an = ai < 0 ? NULL : &zc->names[ai];
	if (an == NULL || !(an->flags & N_SOA)) {
		zc_note(zc, ZC_ERROR, 0, 0, "no SOA at the zone apex %s",
		        dname_to_str(zc->apex, ab, sizeof(ab)));
	} else if (!(an->flags & N_NS)) {
		const struct rr *soa = NULL;
		for (size_t i = 0; i < zc->nrrs && soa == NULL; i++)
			if (zc->rrs[i].name == apex_i && zc->rrs[i].type == T_SOA)
				soa = &zc->rrs[i];
		zc_note(zc, ZC_ERROR, soa->file, soa->line,
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
			long e = zc_name_find(zc, p, pl, dname_hash(p));
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
		long k = zc_name_find(zc, t, tl, dname_hash(t));
		if (k >= 0)
			zc->names[k].flags |= N_NSTARGET;
	}
	for (size_t i = 0; i < zc->nnames; i++)
		if (!(zc->names[i].flags & N_OUTZONE) && i != apex_i)
			zc->names[i].cut = zc_find_cut(zc, name_wire(zc, (uint32_t)i),
			                               apex_labels);

	/* Pass B: per name. */
	for (size_t s = 0; s < zc->nrrs;) {
		size_t e = s + 1;
		while (e < zc->nrrs && zc->rrs[idx[e]].name == zc->rrs[idx[s]].name)
			e++;
		zc_check_name_b(zc, idx, s, e, apex_labels);
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
