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
 */
#include "snapshot_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <nettle/sha1.h>
#include <nettle/version.h>
#include <xxhash.h>

#include "dname.h"
#include "dnsconst.h"
#include "error.h"
#include "snapshot.h"


#define NONE UINT32_MAX
#define RR_WIRE_HDR 12u /* C0 0C, type, class, ttl, rdlength */

/* One RR as added. Sorted in place by (owner, key, sig, seq): each rrset is
 * a run, and the run of the RRSIGs covering it follows it directly. */
struct wrr {
	uint64_t rd;        /* rdata arena offset << 16 | rdlen */
	uint32_t owner;
	uint32_t ttl;
	uint32_t seq;       /* insertion order */
	uint16_t type;
	uint16_t key;       /* type, or the type covered for an RRSIG */
};

/* wowner.flags */
#define O_DATA 0x1u     /* has an rrset that belongs to a canonical node */
#define O_N3 0x2u       /* has an NSEC3 rrset of the zone's chain */
#define O_CANON 0x4u    /* is a canonical node (with data or an ENT) */

/* wowner.tflags: types present (canonical part) */
#define TB_NS 0x001u
#define TB_CNAME 0x002u
#define TB_SOA 0x004u
#define TB_DNAME 0x008u
#define TB_DS 0x010u
#define TB_NSEC 0x020u
#define TB_DNSKEY 0x040u
#define TB_NSEC3PARAM 0x080u

struct wowner {
	uint64_t hash;      /* dname_hash of the lowercase name */
	uint32_t name;      /* names arena offset (lowercase wire name) */
	uint32_t rr_first;  /* run of its RRs in the sorted rrs[] */
	uint32_t rr_end;
	uint32_t node;      /* canonical node index or NONE */
	uint32_t n3;        /* NSEC3 node index or NONE */
	uint8_t len;
	uint8_t flags;
	uint16_t tflags;
};

struct snapw {
	uint8_t apex[DNAME_MAXLEN];
	size_t apex_len;
	uint16_t rclass;
	int have_class;
	int have_n3;            /* n3_rd is set */
	uint64_t n3_rd;         /* rd of the first NSEC3 RR added */

	struct wrr *rrs;
	size_t nrrs, rrs_cap;
	uint8_t *rdata;
	size_t rdata_len, rdata_cap;
	struct wowner *owners;
	size_t nowners, owners_cap;
	uint8_t *names;
	size_t names_len, names_cap;
	uint64_t *htab;         /* hash >> 32 << 32 | (owner id + 1), 0 empty */
	size_t hmask;

	/* Results of the last build, for messages and tests. */
	uint32_t orphan_sigs;   /* RRSIGs whose covered rrset is absent: dropped */
	uint32_t dropped_n3;    /* NSEC3 RRs of another chain: dropped */
};


/* Make room for need elements in a growable array (doubling). */
static int grow(void **p, size_t *cap, size_t need, size_t elem)
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

static inline const uint8_t *oname(const struct snapw *w, const struct wowner *o)
{
	return w->names + o->name;
}

static inline const uint8_t *rr_rdata(const struct snapw *w, const struct wrr *r)
{
	return w->rdata + (r->rd >> 16);
}

static inline uint16_t rr_rdlen(const struct wrr *r)
{
	return (uint16_t)(r->rd & 0xffffu);
}

static inline int rr_is_sig(const struct wrr *r)
{
	return r->type == T_RRSIG;
}

/* ---- owner table ------------------------------------------------------ */

static uint32_t owner_find(const struct snapw *w, const uint8_t *lname, size_t len,
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

static int owner_rehash(struct snapw *w, size_t slots)
{
	uint64_t *t = calloc(slots, sizeof(*t));
	if (t == NULL)
		return ED_ENOMEM;
	size_t mask = slots - 1;
	for (size_t id = 0; id < w->nowners; id++) {
		size_t i = w->owners[id].hash & mask;
		while (t[i] != 0)
			i = (i + 1) & mask;
		t[i] = (w->owners[id].hash >> 32 << 32) | ((uint32_t)id + 1);
	}
	free(w->htab);
	w->htab = t;
	w->hmask = mask;
	return 0;
}

/* The id of the owner lname (lowercase, len octets, hash h), added when new. */
static int owner_intern(struct snapw *w, const uint8_t *lname, size_t len,
                        uint64_t h, uint32_t *id)
{
	uint32_t f = owner_find(w, lname, len, h);
	if (f != NONE) {
		*id = f;
		return 0;
	}
	if (w->nowners >= NONE - 1)
		return ED_ELIMIT;
	if ((w->nowners + 1) * 2 > w->hmask + 1) {
		int rc = owner_rehash(w, (w->hmask + 1) * 2);
		if (rc != 0)
			return rc;
	}
	if (w->names_len + len > UINT32_MAX)
		return ED_ELIMIT;
	if (grow((void **)&w->names, &w->names_cap, w->names_len + len, 1) != 0 ||
	    grow((void **)&w->owners, &w->owners_cap, w->nowners + 1,
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
	size_t i = h & w->hmask;
	while (w->htab[i] != 0)
		i = (i + 1) & w->hmask;
	w->htab[i] = (h >> 32 << 32) | ((uint32_t)w->nowners + 1);
	*id = (uint32_t)w->nowners++;
	return 0;
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
	    owner_intern(w, w->apex, len, dname_hash(w->apex), &id) != 0) {
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
	uint32_t id;
	int rc = owner_intern(w, lname, len, dname_hash(lname), &id);
	if (rc != 0)
		return rc;
	if (grow((void **)&w->rdata, &w->rdata_cap, w->rdata_len + rdlen, 1) != 0 ||
	    grow((void **)&w->rrs, &w->rrs_cap, w->nrrs + 1, sizeof(*w->rrs)) != 0)
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
static size_t run_end(const struct snapw *w, size_t i, size_t end)
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

struct n3ent {
	uint8_t hash[SNAP_NSEC3_HASHLEN];
	uint32_t id;
};

static int n3ent_cmp(const void *a, const void *b)
{
	return memcmp(((const struct n3ent *)a)->hash, ((const struct n3ent *)b)->hash,
	              SNAP_NSEC3_HASHLEN);
}

/* RFC 4648 base32hex, no padding, case-insensitive: 32 characters -> 20 octets. */
static int b32hex_hash(const uint8_t *s, size_t n, uint8_t *out)
{
	if (n != 32)
		return -1;
	uint32_t acc = 0;
	unsigned bits = 0, o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned c = s[i], v;
		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'v')
			v = c - 'a' + 10;
		else if (c >= 'A' && c <= 'V')
			v = c - 'A' + 10;
		else
			return -1;
		acc = (acc << 5) | v;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	return 0;
}

static void sha1_final(struct sha1_ctx *c, uint8_t *digest)
{
#if NETTLE_VERSION_MAJOR > 3 || (NETTLE_VERSION_MAJOR == 3 && NETTLE_VERSION_MINOR >= 10)
	sha1_digest(c, digest);
#else
	sha1_digest(c, SHA1_DIGEST_SIZE, digest);
#endif
}

/* RFC 5155 5: IH(salt, x, 0) = H(x || salt), IH(salt, x, k) = H(IH(k-1) || salt). */
static void nsec3_hash(const struct snap_header *hd, const uint8_t *lname,
                       size_t len, uint8_t *out)
{
	struct sha1_ctx c;
	sha1_init(&c);
	sha1_update(&c, len, lname);
	sha1_update(&c, hd->nsec3_saltlen, hd->nsec3_salt);
	sha1_final(&c, out);
	for (unsigned k = 0; k < hd->nsec3_iters; k++) {
		sha1_init(&c);
		sha1_update(&c, SNAP_NSEC3_HASHLEN, out);
		sha1_update(&c, hd->nsec3_saltlen, hd->nsec3_salt);
		sha1_final(&c, out);
	}
}

/* Index of the last entry <= h, or -1 when h is below all; *eq when equal. */
static long n3_floor(const struct n3ent *t, size_t n, const uint8_t *h, int *eq)
{
	size_t lo = 0, hi = n;  /* first entry > h is in [lo, hi] */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (memcmp(t[mid].hash, h, SNAP_NSEC3_HASHLEN) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*eq = lo > 0 && memcmp(t[lo - 1].hash, h, SNAP_NSEC3_HASHLEN) == 0;
	return (long)lo - 1;
}

/* ---- rrset wire --------------------------------------------------------- */

struct ownerinfo {
	const uint8_t *name;    /* lowercase */
	uint8_t off[DNAME_MAXLABELS];
	unsigned n;
};

/* Write name (original case) compressed against the owner; returns octets. */
static size_t put_name(uint8_t *out, const uint8_t *name, const struct ownerinfo *oi,
                       int *reloc)
{
	uint8_t off[DNAME_MAXLABELS];
	unsigned n = dname_label_offsets(name, off);
	unsigned m = 0;
	while (m < n && m < oi->n) {
		const uint8_t *a = name + off[n - 1 - m];
		const uint8_t *b = oi->name + oi->off[oi->n - 1 - m];
		if (a[0] != b[0])
			break;
		unsigned k;
		for (k = 1; k <= a[0]; k++)
			if (dname_lower_octet(a[k]) != b[k])
				break;
		if (k <= a[0])
			break;
		m++;
	}
	if (m == 0) {
		size_t len = (size_t)off[n] + 1u;
		if (out != NULL)
			memcpy(out, name, len);
		return len;
	}
	size_t pre = off[n - m];
	unsigned ptr = 0xc000u | (12u + oi->off[oi->n - m]);
	if (out != NULL) {
		memcpy(out, name, pre);
		out[pre] = (uint8_t)(ptr >> 8);
		out[pre + 1] = (uint8_t)ptr;
	}
	*reloc = 1;
	return pre + 2;
}

/* rdata of one RR as stored in the wire; returns octets. */
static size_t put_rdata(uint8_t *out, uint16_t type, const uint8_t *rd, size_t n,
                        const struct ownerinfo *oi, int *reloc)
{
	size_t o = 0, a;
	switch (type) {
	case T_NS:
	case T_CNAME:
	case T_PTR:
		return put_name(out, rd, oi, reloc);
	case T_MX:
		if (out != NULL)
			memcpy(out, rd, 2);
		return 2 + put_name(out ? out + 2 : NULL, rd + 2, oi, reloc);
	case T_SOA:
		a = dname_len(rd);
		o = put_name(out, rd, oi, reloc);
		o += put_name(out ? out + o : NULL, rd + a, oi, reloc);
		a += dname_len(rd + a);
		if (out != NULL)
			memcpy(out + o, rd + a, 20);
		return o + 20;
	}
	if (out != NULL && n > 0)
		memcpy(out, rd, n);
	return n;
}

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

struct emit {
	struct snapw *w;
	uint8_t *blob;          /* NULL: measure only */
	uint64_t pos;
	uint32_t nrrsets, nrrs, nsigsets;
	uint32_t soa, apex_ns;
	uint64_t *setoff;       /* scratch: offsets of a node's data rrsets */
	size_t setcap;
	char *err;
	size_t errlen;
};

/* Emit the rrset of RRs [i, j) at e->pos (4-aligned). */
static int emit_set(struct emit *e, size_t i, size_t j, const struct ownerinfo *oi)
{
	const struct snapw *w = e->w;
	const struct wrr *first = &w->rrs[i];
	char nb[DNAME_MAXLEN * 4 + 1];
	if (j - i > 0xffffu) {
		ed_seterr(e->err, e->errlen, "%s type %u: more than 65535 RRs in one set",
		       dname_to_str(oi->name, nb, sizeof(nb)), first->type);
		return ED_ELIMIT;
	}
	uint8_t *hdrp = e->blob ? e->blob + e->pos : NULL;
	uint8_t *out = hdrp ? hdrp + sizeof(struct snap_rrset) : NULL;
	size_t wlen = 0;
	int reloc = 0;
	for (size_t k = i; k < j; k++) {
		const struct wrr *r = &w->rrs[k];
		uint8_t *p = out ? out + wlen : NULL;
		size_t rl = put_rdata(p ? p + RR_WIRE_HDR : NULL, r->type, rr_rdata(w, r),
		                      rr_rdlen(r), oi, &reloc);
		if (p != NULL) {
			p[0] = 0xc0;
			p[1] = 0x0c;
			put16(p + 2, r->type);
			put16(p + 4, w->rclass);
			put32(p + 6, first->ttl);
			put16(p + 10, (unsigned)rl);
		}
		wlen += RR_WIRE_HDR + rl;
		if (wlen > 0xffffu) {
			ed_seterr(e->err, e->errlen, "%s type %u: rrset wire over 65535 octets",
			       dname_to_str(oi->name, nb, sizeof(nb)), first->type);
			return ED_ELIMIT;
		}
	}
	if (hdrp != NULL) {
		struct snap_rrset rs = {
			.type = first->type,
			.count = (uint16_t)(j - i),
			.ttl = first->ttl,
			.wlen = (uint32_t)wlen,
			.flags = reloc ? SNAP_RRSET_RELOC : 0,
		};
		memcpy(hdrp, &rs, sizeof(rs));
	}
	e->pos += sizeof(struct snap_rrset) + ((wlen + 3u) & ~(size_t)3u);
	e->nrrs += (uint32_t)(j - i);
	return 0;
}

/* Emit the name and rrsets of owner id as node nd: the canonical part
 * (n3part 0: every type but NSEC3) or the NSEC3 part. The node's list is
 * consecutive; the RRSIG sets follow the list. */
static int emit_node(struct emit *e, uint32_t id, int n3part, struct snap_node *nd)
{
	struct snapw *w = e->w;
	const struct wowner *o = &w->owners[id];
	struct ownerinfo oi;
	oi.name = oname(w, o);
	oi.n = dname_label_offsets(oi.name, oi.off);
	nd->name = (uint32_t)e->pos;
	if (e->blob != NULL)
		memcpy(e->blob + e->pos, oi.name, o->len);
	e->pos = (e->pos + o->len + 3u) & ~(uint64_t)3u;
	nd->rrsets = 0;
	nd->nrrsets = 0;

	/* Pass 1: the list. */
	size_t nsets = 0;
	for (size_t i = o->rr_first; i < o->rr_end;) {
		size_t j = run_end(w, i, o->rr_end);
		const struct wrr *r = &w->rrs[i];
		if (!rr_is_sig(r) && (r->key == T_NSEC3) == (n3part != 0)) {
			if (grow((void **)&e->setoff, &e->setcap, nsets + 1,
			         sizeof(*e->setoff)) != 0)
				return ED_ENOMEM;
			if (nd->nrrsets == 0)
				nd->rrsets = (uint32_t)e->pos;
			if (nd->nrrsets == 0xffffu)
				return ED_ELIMIT;
			e->setoff[nsets++] = e->pos;
			if (!n3part && id == 0 && r->type == T_SOA)
				e->soa = (uint32_t)e->pos;
			if (!n3part && id == 0 && r->type == T_NS)
				e->apex_ns = (uint32_t)e->pos;
			int rc = emit_set(e, i, j, &oi);
			if (rc != 0)
				return rc;
			nd->nrrsets++;
			e->nrrsets++;
		}
		i = j;
	}
	/* Pass 2: the signatures, each right after the run it covers. */
	size_t k = 0;
	int prev_in = 0;        /* the previous run was a data set emitted above */
	uint16_t prev_key = 0;
	for (size_t i = o->rr_first; i < o->rr_end;) {
		size_t j = run_end(w, i, o->rr_end);
		const struct wrr *r = &w->rrs[i];
		if (!rr_is_sig(r)) {
			prev_in = (r->key == T_NSEC3) == (n3part != 0);
			prev_key = r->key;
			if (prev_in)
				k++;
		} else {
			if (prev_in && prev_key == r->key) {
				if (e->blob != NULL) {
					uint32_t so = (uint32_t)e->pos;
					memcpy(e->blob + e->setoff[k - 1] +
					       offsetof(struct snap_rrset, sigs), &so, sizeof(so));
				}
				int rc = emit_set(e, i, j, &oi);
				if (rc != 0)
					return rc;
				e->nsigsets++;
			}
			prev_in = 0;
		}
		i = j;
	}
	return 0;
}

/* ---- the build -------------------------------------------------------- */

static void canon_flags(const struct snapw *w, uint32_t id, struct snap_node *nd)
{
	const struct wowner *o = &w->owners[id];
	const uint8_t *name = oname(w, o);
	uint16_t f = 0;
	if (id == 0)
		f |= SNAP_N_APEX;
	if ((o->tflags & TB_NS) && id != 0)
		f |= SNAP_N_DELEG;
	if ((f & SNAP_N_DELEG) && (o->tflags & TB_DS))
		f |= SNAP_N_HAS_DS;
	if (o->tflags & TB_DNAME)
		f |= SNAP_N_DNAME;
	if (o->tflags & TB_CNAME)
		f |= SNAP_N_CNAME;
	if (o->tflags & TB_NSEC)
		f |= SNAP_N_NSEC;
	if (!(o->flags & O_DATA))
		f |= SNAP_N_ENT;
	if (name[0] == 1 && name[1] == '*')
		f |= SNAP_N_WILD;
	nd->flags = f;
	nd->namelen = o->len;
	nd->nlabels = (uint8_t)dname_labels(name);
}

/* Node index of "*.<name of id>", or NONE. */
static uint32_t wild_of(const struct snapw *w, uint32_t id)
{
	const struct wowner *o = &w->owners[id];
	if (o->len + 2u > DNAME_MAXLEN)
		return NONE;
	uint8_t buf[DNAME_MAXLEN];
	buf[0] = 1;
	buf[1] = '*';
	memcpy(buf + 2, oname(w, o), o->len);
	uint32_t f = owner_find(w, buf, o->len + 2u, dname_hash_step(o->hash, buf));
	return f == NONE ? NONE : w->owners[f].node;
}

struct build {
	struct snapw *w;
	struct snap_header *hd;     /* scratch header: params, counts */
	uint32_t *corder;           /* canonical node -> owner id */
	uint32_t ncanon;
	struct n3ent *n3;
	uint32_t nn3;
	struct snap_node *nodes;
	uint32_t *parent;
	int nsec_mode, nsec3_mode;
	char *err;
	size_t errlen;
};

/* Sort the RRs, set owner runs, flags and the chain parameters. */
static int classify(struct build *b)
{
	struct snapw *w = b->w;
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
		size_t j = run_end(w, i, o->rr_end);
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

static int nsec3_order(struct build *b)
{
	struct snapw *w = b->w;
	size_t n = 0;
	for (size_t id = 0; id < w->nowners; id++)
		n += (w->owners[id].flags & O_N3) != 0;
	if (n + b->ncanon >= NONE)
		return ED_ELIMIT;
	b->n3 = malloc((n ? n : 1) * sizeof(*b->n3));
	if (b->n3 == NULL)
		return ED_ENOMEM;
	size_t k = 0;
	for (size_t id = 0; id < w->nowners; id++) {
		const struct wowner *o = &w->owners[id];
		if (!(o->flags & O_N3))
			continue;
		const uint8_t *name = oname(w, o);
		if (b32hex_hash(name + 1, name[0], b->n3[k].hash) != 0) {
			char nb[DNAME_MAXLEN * 4 + 1];
			ed_seterr(b->err, b->errlen, "NSEC3 owner %s: first label is not a "
			       "base32hex SHA-1 hash", dname_to_str(name, nb, sizeof(nb)));
			return ED_EZONE;
		}
		b->n3[k++].id = (uint32_t)id;
	}
	qsort(b->n3, n, sizeof(*b->n3), n3ent_cmp);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && memcmp(b->n3[i - 1].hash, b->n3[i].hash, SNAP_NSEC3_HASHLEN) == 0) {
			char nb[DNAME_MAXLEN * 4 + 1];
			ed_seterr(b->err, b->errlen, "NSEC3 owner %s: hash appears twice",
			       dname_to_str(oname(w, &w->owners[b->n3[i].id]), nb, sizeof(nb)));
			return ED_EZONE;
		}
		w->owners[b->n3[i].id].n3 = b->ncanon + (uint32_t)i;
	}
	b->nn3 = (uint32_t)n;
	return 0;
}

/* Flags, cut, wildcard and chain links of the canonical nodes. */
static int link_nodes(struct build *b)
{
	struct snapw *w = b->w;
	uint32_t nc = b->ncanon;
	b->parent = malloc((nc ? nc : 1) * sizeof(*b->parent));
	if (b->parent == NULL)
		return ED_ENOMEM;
	for (uint32_t i = 0; i < nc; i++) {
		uint32_t id = b->corder[i];
		struct snap_node *nd = &b->nodes[i];
		canon_flags(w, id, nd);
		uint32_t wi = wild_of(w, id);
		nd->wild = wi == NONE ? 0 : wi + 1;
		if (i == 0) {
			b->parent[0] = NONE;
			continue;
		}
		const struct wowner *o = &w->owners[id];
		const uint8_t *pn = oname(w, o) + 1 + oname(w, o)[0];
		size_t plen = o->len - 1u - oname(w, o)[0];
		uint32_t pid = owner_find(w, pn, plen, dname_hash(pn));
		uint32_t p = w->owners[pid].node;   /* ancestors are canonical */
		b->parent[i] = p;
		const struct snap_node *pd = &b->nodes[p];
		nd->cut = (pd->flags & (SNAP_N_DELEG | SNAP_N_DNAME)) ? p + 1 : pd->cut;
	}
	if (b->nsec_mode) {
		uint32_t last = 0;
		for (uint32_t i = 0; i < nc; i++) {
			if (b->nodes[i].flags & SNAP_N_NSEC)
				last = i + 1;
			b->nodes[i].nsec = last;
		}
		/* The predecessor of "*.<name>": name itself, or the end of the
		 * leading children subtrees whose label sorts before "*" (first
		 * octet < '*'). Subtrees are contiguous in canonical order. */
		uint32_t *send = malloc((nc ? nc : 1) * sizeof(*send));
		uint32_t *stack = malloc((nc ? nc : 1) * sizeof(*stack));
		if (send == NULL || stack == NULL) {
			free(send);
			free(stack);
			return ED_ENOMEM;
		}
		uint32_t sp = 0;
		for (uint32_t i = 0; i < nc; i++) {
			while (sp > 0 && stack[sp - 1] != b->parent[i])
				send[stack[--sp]] = i;
			stack[sp++] = i;
		}
		while (sp > 0)
			send[stack[--sp]] = nc;
		for (uint32_t i = 0; i < nc; i++) {
			struct snap_node *nd = &b->nodes[i];
			if (nd->wild != 0) {
				nd->wnsec = b->nodes[nd->wild - 1].nsec;
				continue;
			}
			uint32_t j = i + 1;
			while (j < send[i]) {
				/* j is a child of i: its first label is the child label. */
				const uint8_t *cn = oname(w, &w->owners[b->corder[j]]);
				if (cn[1] >= '*')
					break;
				j = send[j];
			}
			nd->wnsec = b->nodes[j - 1].nsec;
		}
		free(send);
		free(stack);
	} else if (b->nsec3_mode && b->nn3 > 0 && b->hd->nsec3_alg == 1) {
		for (uint32_t i = 0; i < nc; i++) {
			const struct wowner *o = &w->owners[b->corder[i]];
			uint8_t h[SNAP_NSEC3_HASHLEN];
			int eq;
			nsec3_hash(b->hd, oname(w, o), o->len, h);
			long f = n3_floor(b->n3, b->nn3, h, &eq);
			b->nodes[i].nsec = eq ? (uint32_t)f + 1 : 0;
			if (o->len + 2u > DNAME_MAXLEN)
				continue;
			uint8_t wn[DNAME_MAXLEN];
			wn[0] = 1;
			wn[1] = '*';
			memcpy(wn + 2, oname(w, o), o->len);
			nsec3_hash(b->hd, wn, o->len + 2u, h);
			f = n3_floor(b->n3, b->nn3, h, &eq);
			b->nodes[i].wnsec = f < 0 ? b->nn3 : (uint32_t)f + 1;
		}
	}
	return 0;
}

/* Emit every node; in the measuring run (no blob) nothing is stored. */
static int emit_all(struct build *b, struct emit *e)
{
	struct snap_node scratch;
	for (uint32_t i = 0; i < b->ncanon; i++) {
		struct snap_node *nd = e->blob ? &b->nodes[i] : &scratch;
		int rc = emit_node(e, b->corder[i], 0, nd);
		if (rc != 0)
			return rc;
	}
	for (uint32_t i = 0; i < b->nn3; i++) {
		struct snap_node *nd = e->blob ? &b->nodes[b->ncanon + i] : &scratch;
		int rc = emit_node(e, b->n3[i].id, 1, nd);
		if (rc != 0)
			return rc;
		const uint8_t *name = oname(b->w, &b->w->owners[b->n3[i].id]);
		nd->flags = SNAP_N_NSEC3;
		nd->namelen = (uint8_t)dname_len(name);
		nd->nlabels = (uint8_t)dname_labels(name);
	}
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
		rc = nsec3_order(&b);
	/* Dry run: measure the blob, so the whole file is one allocation. */
	if (rc == 0) {
		e.pos = 8;
		rc = emit_all(&b, &e);
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
	rc = link_nodes(&b);
	if (rc != 0)
		goto out;
	e.blob = out + hd.blob_off;
	e.pos = 8;
	e.nrrs = e.nrrsets = e.nsigsets = 0;
	rc = emit_all(&b, &e);
	if (rc != 0)
		goto out;

	uint64_t *table = (uint64_t *)(void *)(out + hd.table_off);
	uint64_t mask = slots - 1;
	uint32_t max_probe = 1;
	for (uint32_t i = 0; i < b.ncanon; i++) {
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
