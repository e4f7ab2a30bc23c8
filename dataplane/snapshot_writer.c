/* snapshot_writer.c: builds the zone snapshot image (the format is in snapshot.h).
 *
 * Memory: one 24-octet record per RR, the rdata and owner names in two
 * arenas, a 32-octet record per owner. The build sorts the RR records in
 * place so that every rrset is one run (its RRSIGs the run right after it),
 * sorts the canonical names once, measures the blob in a dry run and then
 * fills one allocation holding the whole file.
 *
 * Choices where snapshot.h leaves room:
 *  - An RRSIG whose covered type has no rrset at its owner is accepted by
 *    snapw_add_rr() and then not stored (nothing could reach it); nor is
 *    it counted in nrrs, which counts the RRs in the file.
 *  - One class per zone: an RR of another class than the first is EINVAL.
 *  - The chain: NSEC3 when the apex has NSEC3PARAM; else NSEC when any NSEC
 *    exists; else NSEC3 (parameters of the first NSEC3 added) when NSEC3
 *    records exist. Exactly one of SNAP_F_NSEC/SNAP_F_NSEC3 is set. NSEC3
 *    records of another chain (alg, iterations, salt) are not stored.
 *  - An NSEC3 owner whose first label is not 32 base32hex characters, or
 *    two owners with one hash: ED_EZONE.
 *  - An owner with NSEC3 and other types: a canonical node for the others,
 *    an NSEC3 node for the NSEC3 set (and its RRSIGs).
 *  - wnsec (NSEC3): the entry matching H(*.name), else the one with the
 *    largest hash below it, wrapping to the last entry.
 *
 * Files: this one holds the builder API, the owner table, classification,
 * canonical order, the file layout and I/O; snapshot_links.c the node links
 * (cuts, wildcards, NSEC/NSEC3); snapshot_emit.c the rrset wire and node
 * emission; snapshot_writer_int.h the structures they share.
 */
#include "snapshot_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>

#include "dname.h"
#include "dnsconst.h"
#include "error.h"
#include "snapshot.h"
#include "snapshot_writer_int.h"


/* Make room for need elements in a growable array (doubling). */
int snapw_grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : 64;
	while (n < need)
		n *= 2;
	if (n > SIZE_MAX / elem)
		return ED_ENOMEM;
	void *q = realloc(*p, n * elem);
	if (q == NULL)
		return ED_ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

/* ---- owner table ------------------------------------------------------ */

uint32_t snapw_owner_find(const struct snapw *w, const uint8_t *lname, size_t len,
                          uint64_t h)
{
	for (size_t i = h & w->hmask;; i = (i + 1) & w->hmask) {
		uint64_t v = w->htab[i];
		if (v == 0)
			return NONE;
		if ((v >> 32) != (h >> 32))
			continue;   /* most misses end here, without touching owners[] */
		const struct wowner *o = &w->owners[(uint32_t)v - 1];
		if (o->hash == h && o->len == len &&
		    memcmp(oname(w, o), lname, len) == 0)
			return (uint32_t)v - 1;
	}
}

/* Rebuild the table with every owner in it, at least slots slots and at
 * most half full after one more owner. The slots to fill are prefetched a
 * few owners ahead: a big table misses the cache on nearly every insert. */
static int owner_rehash(struct snapw *w, size_t slots)
{
	while ((w->nowners + 1) * 2 > slots)
		slots *= 2;
	uint64_t *t = calloc(slots, sizeof(*t));
	if (t == NULL)
		return ED_ENOMEM;
	size_t mask = slots - 1;
	for (size_t id = 0; id < w->nowners; id++) {
		if (id + 8 < w->nowners)
			__builtin_prefetch(&t[w->owners[id + 8].hash & mask], 1);
		size_t i = w->owners[id].hash & mask;
		while (t[i] != 0)
			i = (i + 1) & mask;
		t[i] = (w->owners[id].hash >> 32 << 32) | ((uint32_t)id + 1);
	}
	free(w->htab);
	w->htab = t;
	w->hmask = mask;
	w->nhashed = w->nowners;
	return 0;
}

/* Append a new owner; into the table too when table is set. */
static int owner_add(struct snapw *w, const uint8_t *lname, size_t len,
                     uint64_t h, int table, uint32_t *id)
{
	if (w->nowners >= NONE - 1)
		return ED_ELIMIT;
	if (w->names_len + len > UINT32_MAX)
		return ED_ELIMIT;
	if (snapw_grow((void **)&w->names, &w->names_cap, w->names_len + len, 1) != 0 ||
	    snapw_grow((void **)&w->owners, &w->owners_cap, w->nowners + 1,
	         sizeof(*w->owners)) != 0)
		return ED_ENOMEM;
	struct wowner *o = &w->owners[w->nowners];
	memset(o, 0, sizeof(*o));
	o->hash = h;
	o->name = (uint32_t)w->names_len;
	o->len = (uint8_t)len;
	o->node = NONE;
	o->n3 = NONE;
	memcpy(w->names + w->names_len, lname, len);
	w->names_len += len;
	if (table) {
		size_t i = h & w->hmask;
		while (w->htab[i] != 0)
			i = (i + 1) & w->hmask;
		w->htab[i] = (h >> 32 << 32) | ((uint32_t)w->nowners + 1);
		w->nhashed++;
	}
	*id = (uint32_t)w->nowners++;
	return 0;
}

/* The id of the owner lname (lowercase, len octets, hash h), added when new. */
static int owner_intern(struct snapw *w, const uint8_t *lname, size_t len,
                        uint64_t h, uint32_t *id)
{
	w->unsorted = 1;
	if (w->nhashed < w->nowners || (w->nowners + 1) * 2 > w->hmask + 1) {
		int rc = owner_rehash(w, w->hmask + 1);
		if (rc != 0)
			return rc;
	}
	uint32_t f = snapw_owner_find(w, lname, len, h);
	if (f != NONE) {
		*id = f;
		return 0;
	}
	return owner_add(w, lname, len, h, 1, id);
}

/* ---- builder ---------------------------------------------------------- */

struct snapw *snapw_new(const uint8_t *apex)
{
	if (apex == NULL)
		return NULL;
	size_t len = dname_check(apex, DNAME_MAXLEN);
	if (len == 0)
		return NULL;
	struct snapw *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return NULL;
	dname_lower(w->apex, apex, len);
	w->apex_len = len;
	uint32_t id;
	if (owner_rehash(w, 1024) != 0 ||
	    owner_add(w, w->apex, len, dname_hash(w->apex), 1, &id) != 0) {
		snapw_free(w);
		return NULL;
	}
	return w;
}

void snapw_free(struct snapw *w)
{
	if (w == NULL)
		return;
	free(w->rrs);
	free(w->rdata);
	free(w->owners);
	free(w->names);
	free(w->htab);
	free(w);
}

/* Structure of the rdata of the types whose names the writer compresses or
 * whose layout the engine reads; the reader checks the same. */
static int rdata_check(uint16_t type, const uint8_t *rd, size_t n)
{
	size_t a, b;
	switch (type) {
	case T_NS:
	case T_CNAME:
	case T_PTR:
		a = dname_check(rd, n);
		return a != 0 && a == n;
	case T_MX:
		if (n < 3)
			return 0;
		a = dname_check(rd + 2, n - 2);
		return a != 0 && a + 2 == n;
	case T_SOA:
		a = dname_check(rd, n);
		if (a == 0)
			return 0;
		b = dname_check(rd + a, n - a);
		return b != 0 && a + b + 20 == n;
	}
	return snap_rdata_verbatim_ok(type, rd, n);
}

int snapw_add_rr(struct snapw *w, const uint8_t *owner, uint16_t type,
                 uint16_t rclass, uint32_t ttl, const uint8_t *rdata,
                 uint16_t rdlen)
{
	if (w == NULL || owner == NULL || (rdata == NULL && rdlen > 0))
		return ED_EINVAL;
	size_t len = dname_check(owner, DNAME_MAXLEN);
	if (len == 0)
		return ED_EINVAL;
	uint8_t lname[DNAME_MAXLEN];
	dname_lower(lname, owner, len);
	if (!dname_is_sub(lname, w->apex))
		return ED_EINVAL;
	if (w->have_class && rclass != w->rclass)
		return ED_EINVAL;   /* a zone has one class */
	if (!rdata_check(type, rdata, rdlen))
		return ED_EINVAL;
	if (RR_WIRE_HDR + rdlen > 0xffffu)
		return ED_ELIMIT;
	if (w->nrrs >= UINT32_MAX || w->rdata_len + rdlen >= (1ull << 48))
		return ED_ELIMIT;
	/* Zones arrive sorted by owner: most RRs repeat the owner before, and
	 * an owner after the last one in canonical order is new (appended;
	 * the table waits until an owner breaks the order or the build). */
	uint32_t id = w->last_owner;
	if (id >= w->nowners || w->owners[id].len != len ||
	    memcmp(oname(w, &w->owners[id]), lname, len) != 0) {
		int rc;
		if (!w->unsorted && dname_canon_cmp(lname,
		    oname(w, &w->owners[w->nowners - 1])) > 0)
			rc = owner_add(w, lname, len, dname_hash(lname), 0, &id);
		else
			rc = owner_intern(w, lname, len, dname_hash(lname), &id);
		if (rc != 0)
			return rc;
		w->last_owner = id;
	}
	if (snapw_grow((void **)&w->rdata, &w->rdata_cap, w->rdata_len + rdlen, 1) != 0 ||
	    snapw_grow((void **)&w->rrs, &w->rrs_cap, w->nrrs + 1, sizeof(*w->rrs)) != 0)
		return ED_ENOMEM;
	struct wrr *r = &w->rrs[w->nrrs];
	r->rd = ((uint64_t)w->rdata_len << 16) | rdlen;
	r->owner = id;
	r->ttl = ttl;
	r->seq = (uint32_t)w->nrrs;
	r->type = type;
	r->key = type;
	if (type == T_RRSIG)
		r->key = (uint16_t)(rdata[0] << 8 | rdata[1]);
	if (rdlen > 0)
		memcpy(w->rdata + w->rdata_len, rdata, rdlen);
	w->rdata_len += rdlen;
	if (type == T_NSEC3 && !w->have_n3) {
		w->have_n3 = 1;
		w->n3_rd = r->rd;
	}
	w->rclass = rclass;
	w->have_class = 1;
	w->nrrs++;
	return 0;
}

/* ---- build helpers ---------------------------------------------------- */

static int rr_cmp(const void *pa, const void *pb)
{
	const struct wrr *a = pa, *b = pb;
	if (a->owner != b->owner)
		return a->owner < b->owner ? -1 : 1;
	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	if (rr_is_sig(a) != rr_is_sig(b))
		return rr_is_sig(a) ? 1 : -1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* End of the run (same owner, key and sig) starting at i. */
size_t snapw_run_end(const struct snapw *w, size_t i, size_t end)
{
	const struct wrr *a = &w->rrs[i];
	size_t j = i + 1;
	while (j < end && w->rrs[j].key == a->key &&
	       rr_is_sig(&w->rrs[j]) == rr_is_sig(a))
		j++;
	return j;
}

/* Canonical order on names stored with their labels reversed (root label
 * dropped): compare label by label from the root. */
struct ckey {
	uint64_t off;       /* into the reversed-name arena */
	uint32_t id;
	uint32_t len;
};

static int ckey_cmp(const void *pa, const void *pb, void *ctx)
{
	const struct ckey *a = pa, *b = pb;
	const uint8_t *base = ctx;
	const uint8_t *x = base + a->off, *y = base + b->off;
	size_t i = 0, j = 0;
	while (i < a->len && j < b->len) {
		unsigned la = x[i], lb = y[j];
		int c = memcmp(x + i + 1, y + j + 1, la < lb ? la : lb);
		if (c != 0)
			return c;
		if (la != lb)
			return la < lb ? -1 : 1;
		i += 1u + la;
		j += 1u + lb;
	}
	return (i < a->len) - (j < b->len);
}

static void reverse_labels(uint8_t *dst, const uint8_t *name)
{
	uint8_t off[DNAME_MAXLABELS];
	unsigned n = dname_label_offsets(name, off);
	size_t o = 0;
	for (unsigned i = n; i-- > 0;) {
		size_t l = 1u + name[off[i]];
		memcpy(dst + o, name + off[i], l);
		o += l;
	}
}

/* ---- the build -------------------------------------------------------- */

/* Sort the RRs, set owner runs, flags and the chain parameters. */
static int classify(struct build *b)
{
	struct snapw *w = b->w;
	/* RRs added in canonical order (as the control plane adds them) are
	 * in this order already, unless the zone is signed. */
	size_t sorted = 1;
	while (sorted < w->nrrs && rr_cmp(&w->rrs[sorted - 1], &w->rrs[sorted]) < 0)
		sorted++;
	if (sorted < w->nrrs)
		qsort(w->rrs, w->nrrs, sizeof(*w->rrs), rr_cmp);
	for (size_t id = 0; id < w->nowners; id++) {
		struct wowner *o = &w->owners[id];
		o->rr_first = o->rr_end = 0;
		o->node = o->n3 = NONE;
		o->flags = 0;
		o->tflags = 0;
	}
	w->orphan_sigs = 0;
	w->dropped_n3 = 0;
	int prev_data = 0;
	uint16_t prev_key = 0;
	uint32_t prev_owner = NONE;
	int any_n3 = 0;
	for (size_t i = 0; i < w->nrrs;) {
		const struct wrr *r = &w->rrs[i];
		struct wowner *o = &w->owners[r->owner];
		if (r->owner != prev_owner) {
			size_t end = i + 1;
			while (end < w->nrrs && w->rrs[end].owner == r->owner)
				end++;
			o->rr_first = (uint32_t)i;
			o->rr_end = (uint32_t)end;
			prev_data = 0;
			prev_owner = r->owner;
		}
		size_t j = snapw_run_end(w, i, o->rr_end);
		if (rr_is_sig(r)) {
			if (!(prev_data && prev_key == r->key))
				w->orphan_sigs += (uint32_t)(j - i);
			prev_data = 0;
		} else {
			prev_data = 1;
			prev_key = r->key;
			switch (r->type) {
			case T_NSEC3: o->flags |= O_N3; any_n3 = 1; break;
			case T_NS: o->tflags |= TB_NS; break;
			case T_CNAME: o->tflags |= TB_CNAME; break;
			case T_SOA: o->tflags |= TB_SOA; break;
			case T_DNAME: o->tflags |= TB_DNAME; break;
			case T_DS: o->tflags |= TB_DS; break;
			case T_NSEC: o->tflags |= TB_NSEC; break;
			case T_DNSKEY: o->tflags |= TB_DNSKEY; break;
			case T_NSEC3PARAM: o->tflags |= TB_NSEC3PARAM; break;
			}
			if (r->type != T_NSEC3)
				o->flags |= O_DATA;
		}
		i = j;
	}

	/* Apex SOA: serial and negative TTL. */
	const struct wowner *apex = &w->owners[0];
	const struct wrr *soa = NULL;
	for (size_t i = apex->rr_first; i < apex->rr_end; i++) {
		const struct wrr *r = &w->rrs[i];
		if (r->type != T_SOA)
			continue;
		if (soa != NULL) {
			ed_seterr(b->err, b->errlen, "more than one SOA at the apex");
			return ED_EZONE;
		}
		soa = r;
	}
	if (soa == NULL) {
		ed_seterr(b->err, b->errlen, "no SOA at the apex");
		return ED_EZONE;
	}
	const uint8_t *rd = rr_rdata(w, soa);
	size_t a = dname_len(rd);
	a += dname_len(rd + a);
	uint32_t serial = (uint32_t)rd[a] << 24 | (uint32_t)rd[a + 1] << 16 |
	                  (uint32_t)rd[a + 2] << 8 | rd[a + 3];
	uint32_t minimum = (uint32_t)rd[a + 16] << 24 | (uint32_t)rd[a + 17] << 16 |
	                   (uint32_t)rd[a + 18] << 8 | rd[a + 19];
	b->hd->serial = serial;
	b->hd->neg_ttl = soa->ttl < minimum ? soa->ttl : minimum;

	/* The chain: NSEC3 when the apex has NSEC3PARAM (RFC 5155 10.4: added
	 * once the NSEC3 chain is complete); else NSEC when any NSEC exists;
	 * else NSEC3 when NSEC3 records exist (parameters of the first). */
	const uint8_t *param = NULL;
	if (apex->tflags & TB_NSEC3PARAM) {
		for (size_t i = apex->rr_first; i < apex->rr_end && param == NULL; i++)
			if (w->rrs[i].type == T_NSEC3PARAM)
				param = rr_rdata(w, &w->rrs[i]);
	} else {
		for (size_t id = 0; id < w->nowners && !b->nsec_mode; id++)
			if (w->owners[id].tflags & TB_NSEC)
				b->nsec_mode = 1;
		if (!b->nsec_mode && any_n3)
			param = w->rdata + (w->n3_rd >> 16);
	}
	if (param != NULL) {
		b->nsec3_mode = 1;
		b->hd->nsec3_alg = param[0];
		b->hd->nsec3_flags = param[1];
		b->hd->nsec3_iters = (uint16_t)(param[2] << 8 | param[3]);
		b->hd->nsec3_saltlen = param[4];
		memcpy(b->hd->nsec3_salt, param + 5, param[4]);
		if (param[0] != 1 || b->hd->nsec3_iters > SNAP_NSEC3_ITERS_MAX) {
			ed_seterr(b->err, b->errlen, "NSEC3 algorithm %u with %u iterations: only "
			          "SHA-1 (1) with at most %u iterations is served (RFC 9276)",
			          param[0], b->hd->nsec3_iters, SNAP_NSEC3_ITERS_MAX);
			return ED_EZONE;
		}
		/* NSEC3 owners of another chain (other alg, iterations or salt)
		 * cannot go in this table: drop them. */
		for (size_t id = 0; id < w->nowners; id++) {
			struct wowner *o = &w->owners[id];
			if (!(o->flags & O_N3))
				continue;
			for (size_t i = o->rr_first; i < o->rr_end; i++) {
				const struct wrr *r = &w->rrs[i];
				if (r->type != T_NSEC3)
					continue;
				const uint8_t *p = rr_rdata(w, r);
				if (p[0] != param[0] || memcmp(p + 2, param + 2, 3u + param[4]) != 0) {
					o->flags &= (uint8_t)~O_N3;
					for (size_t k = o->rr_first; k < o->rr_end; k++)
						if (w->rrs[k].key == T_NSEC3)
							w->dropped_n3++;
				}
				break;
			}
		}
	} else if (any_n3) {
		/* An NSEC3 chain that is not the zone's (NSEC zone in transition):
		 * unreachable, so not stored. */
		for (size_t id = 0; id < w->nowners; id++) {
			struct wowner *o = &w->owners[id];
			if (!(o->flags & O_N3))
				continue;
			o->flags &= (uint8_t)~O_N3;
			for (size_t k = o->rr_first; k < o->rr_end; k++)
				if (w->rrs[k].key == T_NSEC3)
					w->dropped_n3++;
		}
	}
	return 0;
}

/* Canonical nodes: owners with data plus their empty non-terminals, sorted. */
static int canon_order(struct build *b)
{
	struct snapw *w = b->w;
	if (w->nhashed < w->nowners) {
		int rc = owner_rehash(w, w->hmask + 1);
		if (rc != 0)
			return rc;
	}
	size_t nstart = w->nowners;
	for (size_t id = 0; id < nstart; id++) {
		if (!(w->owners[id].flags & O_DATA) || (w->owners[id].flags & O_CANON))
			continue;
		w->owners[id].flags |= O_CANON;
		uint8_t name[DNAME_MAXLEN];
		size_t len = w->owners[id].len;
		memcpy(name, oname(w, &w->owners[id]), len);
		size_t pos = 0;
		while (len - pos > w->apex_len) {
			pos += 1u + name[pos];
			uint32_t pid;
			int rc = owner_intern(w, name + pos, len - pos,
			                      dname_hash(name + pos), &pid);
			if (rc != 0)
				return rc;
			if (w->owners[pid].flags & O_CANON)
				break;
			w->owners[pid].flags |= O_CANON;
		}
	}
	if (!(w->owners[0].flags & O_CANON))
		return ED_EZONE;    /* unreachable: the SOA is checked before */

	size_t n = 0, revlen = 0;
	for (size_t id = 0; id < w->nowners; id++)
		if (w->owners[id].flags & O_CANON) {
			n++;
			revlen += w->owners[id].len;
		}
	if (n >= NONE / 2)
		return ED_ELIMIT;
	struct ckey *keys = malloc(n * sizeof(*keys));
	uint8_t *rev = malloc(revlen + 1);
	b->corder = malloc(n * sizeof(*b->corder));
	if (keys == NULL || rev == NULL || b->corder == NULL) {
		free(keys);
		free(rev);
		return ED_ENOMEM;
	}
	size_t k = 0, ro = 0;
	for (size_t id = 0; id < w->nowners; id++) {
		const struct wowner *o = &w->owners[id];
		if (!(o->flags & O_CANON))
			continue;
		reverse_labels(rev + ro, oname(w, o));
		keys[k].off = ro;
		keys[k].id = (uint32_t)id;
		keys[k].len = o->len - 1u;
		ro += o->len;
		k++;
	}
	size_t sorted = 1;
	while (sorted < n && ckey_cmp(&keys[sorted - 1], &keys[sorted], rev) < 0)
		sorted++;
	if (sorted < n)
		qsort_r(keys, n, sizeof(*keys), ckey_cmp, rev);
	for (size_t i = 0; i < n; i++) {
		b->corder[i] = keys[i].id;
		w->owners[keys[i].id].node = (uint32_t)i;
	}
	free(keys);
	free(rev);
	b->ncanon = (uint32_t)n;
	return 0;
}

static uint64_t align64(uint64_t v)
{
	return (v + SNAP_ALIGN - 1) & ~(uint64_t)(SNAP_ALIGN - 1);
}

static int build_image(struct snapw *w, uint8_t **img, size_t *imglen,
                       struct snapw_stats *stats, char *err, size_t errlen)
{
	struct snap_header hd;
	memset(&hd, 0, sizeof(hd));
	struct build b = { .w = w, .hd = &hd, .err = err, .errlen = errlen };
	struct emit e = { .w = w, .err = err, .errlen = errlen };
	uint8_t *out = NULL;
	int rc = classify(&b);
	if (rc == 0)
		rc = canon_order(&b);
	if (rc == 0)
		rc = snapw_nsec3_order(&b);
	/* Dry run: measure the blob, so the whole file is one allocation. */
	if (rc == 0) {
		e.pos = 8;
		rc = snapw_emit_all(&b, &e);
	}
	if (rc == 0 && e.pos > SNAP_BLOB_MAX) {
		ed_seterr(err, errlen, "blob of %llu octets is over the 4 GiB format limit",
		       (unsigned long long)e.pos);
		rc = ED_ELIMIT;
	}
	if (rc != 0)
		goto out;

	uint64_t nnodes = (uint64_t)b.ncanon + b.nn3;
	uint64_t slots = 16;
	while (slots < 2ull * b.ncanon)
		slots <<= 1;
	uint64_t blob_size = e.pos;
	hd.header_size = sizeof(hd);
	hd.nodes_off = align64(sizeof(hd));
	hd.table_off = align64(hd.nodes_off + nnodes * sizeof(struct snap_node));
	hd.table_slots = slots;
	uint64_t end = hd.table_off + slots * sizeof(uint64_t);
	hd.nnsec3 = b.nn3;
	if (b.nn3 > 0) {
		hd.nsec3_off = align64(end);
		end = hd.nsec3_off + b.nn3 * sizeof(struct snap_nsec3);
	}
	hd.blob_off = align64(end);
	hd.blob_size = blob_size;
	hd.file_size = hd.blob_off + blob_size;
	if (hd.file_size > SIZE_MAX || (out = calloc(1, hd.file_size)) == NULL) {
		rc = ED_ENOMEM;
		goto out;
	}

	b.nodes = (struct snap_node *)(void *)(out + hd.nodes_off);
	rc = snapw_link_nodes(&b);
	if (rc != 0)
		goto out;
	e.blob = out + hd.blob_off;
	e.pos = 8;
	e.nrrs = e.nrrsets = e.nsigsets = 0;
	rc = snapw_emit_all(&b, &e);
	if (rc != 0)
		goto out;

	uint64_t *table = (uint64_t *)(void *)(out + hd.table_off);
	uint64_t mask = slots - 1;
	uint32_t max_probe = 1;
	for (uint32_t i = 0; i < b.ncanon; i++) {
		if (i + 8 < b.ncanon)   /* a miss on nearly every insert otherwise */
			__builtin_prefetch(&table[w->owners[b.corder[i + 8]].hash & mask], 1);
		uint64_t h = w->owners[b.corder[i]].hash;
		uint32_t probe = 1;
		uint64_t s = h & mask;
		while (table[s] != 0) {
			s = (s + 1) & mask;
			probe++;
		}
		table[s] = (h >> 32 << 32) | (i + 1u);
		if (probe > max_probe)
			max_probe = probe;
	}
	if (b.nn3 > 0) {
		struct snap_nsec3 *t = (struct snap_nsec3 *)(void *)(out + hd.nsec3_off);
		for (uint32_t i = 0; i < b.nn3; i++) {
			memcpy(t[i].hash, b.n3[i].hash, SNAP_NSEC3_HASHLEN);
			t[i].node = b.ncanon + i;
		}
	}

	memcpy(hd.magic, SNAP_MAGIC, 8);
	hd.version = SNAP_VERSION;
	hd.created = (uint64_t)time(NULL);
	hd.nnodes = (uint32_t)nnodes;
	hd.ncanon = b.ncanon;
	hd.nrrsets = e.nrrsets;
	hd.nrrs = e.nrrs;
	hd.soa = e.soa;
	hd.apex_ns = e.apex_ns;
	hd.max_probe = max_probe;
	if (b.nsec_mode)
		hd.flags |= SNAP_F_NSEC;
	if (b.nsec3_mode)
		hd.flags |= SNAP_F_NSEC3;
	if (e.nsigsets > 0 || (w->owners[0].tflags & TB_DNSKEY))
		hd.flags |= SNAP_F_SIGNED;
	hd.apex_len = (uint8_t)w->apex_len;
	memcpy(hd.apex, w->apex, w->apex_len);
	hd.checksum = XXH3_64bits(out + sizeof(hd), hd.file_size - sizeof(hd));
	memcpy(out, &hd, sizeof(hd));

	if (stats != NULL) {
		stats->file_size = hd.file_size;
		stats->nnodes = hd.nnodes;
		stats->nrrsets = hd.nrrsets;
		stats->nrrs = hd.nrrs;
		stats->bytes_per_rr = hd.nrrs ? (double)hd.file_size / hd.nrrs : 0.0;
		stats->checksum = hd.checksum;
	}
	*img = out;
	*imglen = hd.file_size;
	out = NULL;
out:
	free(out);
	free(b.corder);
	free(b.n3);
	free(b.parent);
	free(e.setoff);
	if (rc == ED_ENOMEM)
		ed_seterr(err, errlen, "out of memory building the snapshot");
	else if (rc != 0 && err != NULL && errlen > 0 && err[0] == 0)
		ed_seterr(err, errlen, "%s", ed_strerror(rc));
	return rc;
}

int snapw_build(struct snapw *w, void **buf, size_t *len,
                struct snapw_stats *stats, char *err, size_t errlen)
{
	if (err != NULL && errlen > 0)
		err[0] = 0;
	if (w == NULL || buf == NULL || len == NULL)
		return ED_EINVAL;
	uint8_t *img;
	int rc = build_image(w, &img, len, stats, err, errlen);
	if (rc == 0)
		*buf = img;
	return rc;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n > (1u << 30) ? (1u << 30) : n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

int snapw_write(struct snapw *w, const char *path, struct snapw_stats *stats,
                char *err, size_t errlen)
{
	if (err != NULL && errlen > 0)
		err[0] = 0;
	if (w == NULL || path == NULL)
		return ED_EINVAL;
	char tmp[4096];
	int n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		ed_seterr(err, errlen, "%s: path too long", path);
		return ED_EINVAL;
	}
	uint8_t *img;
	size_t len;
	char berr[256] = "";
	int rc = build_image(w, &img, &len, stats, berr, sizeof(berr));
	if (rc != 0) {
		ed_seterr(err, errlen, "%s: %s", path, berr);
		return rc;
	}
	const char *what = NULL;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		what = "create";
	else if (write_all(fd, img, len) != 0)
		what = "write";
	else if (fsync(fd) != 0)
		what = "fsync";
	int saved = errno;
	if (fd >= 0 && close(fd) != 0 && what == NULL) {
		what = "close";
		saved = errno;
	}
	free(img);
	if (what == NULL && rename(tmp, path) != 0) {
		what = "rename";
		saved = errno;
	}
	if (what != NULL) {
		if (fd >= 0 || strcmp(what, "rename") == 0)
			unlink(tmp);
		ed_seterr(err, errlen, "%s: %s %s: %s", path, what, tmp, strerror(saved));
		return ED_EIO;
	}
	/* Make the rename durable: fsync the directory holding path. */
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = 0;
	else
		*slash = 0;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) != 0) {
		saved = errno;
		if (dfd >= 0)
			close(dfd);
		ed_seterr(err, errlen, "%s: fsync directory %s: %s", path, dir, strerror(saved));
		return ED_EIO;
	}
	close(dfd);
	return 0;
}
