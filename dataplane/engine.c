/* engine.c: authoritative answers from zone snapshots (RFC 1034 4.3.2,
 * RFC 4035 3.1, RFC 5155 7.2, RFC 6672, RFC 4592, RFC 6891, RFC 8482).
 *
 * Every byte written is bounds-checked against the response limit; nothing
 * here allocates, locks, logs or calls the kernel. Snapshot data is trusted
 * (validated once at load), query bytes are not.
 */
#include "engine.h"

#include <stdbool.h>
#include <string.h>

#include <nettle/sha1.h>

#include "dname.h"
#include "dnsconst.h"
#include "snapshot.h"

/* RR types and classes used here. */

#define EDNS_NSID 3
#define MAX_ADDL 64
#define MAX_PROOFS 8
#define PTR_MAX 0x3fffu

/* A name being resolved: the question name, or a CNAME/DNAME target. */
struct name {
	uint8_t lc[DNAME_MAXLEN + 1 + 8]; /* lowercase wire form; 8 octets of
	                                     slack for word-wise hashing */
	uint8_t len;
	uint8_t nlab;
	uint16_t pos;                    /* where a copy of it sits in the response */
	uint8_t off[DNAME_MAXLABELS];
	uint64_t hs[DNAME_MAXLABELS + 1];
};

enum sect { S_AN, S_NS, S_AR };

struct ctx {
	const struct eng_conf *conf;
	const struct zoneset *zs;
	uint8_t *r;
	size_t pos;
	size_t limit;          /* where RRs must stop: room for the OPT is kept */
	uint16_t cnt[3];
	uint8_t rcode;         /* may exceed 15: extended (EDNS) */
	bool aa, tc, dnssec;
	bool edns, do_bit, nsid;
	uint16_t qtype, qclass;
	bool tcp;
	size_t cap;
	enum sect sect;
	struct name *q;        /* the question name (the caller's storage) */
	/* targets of NS/MX/SRV written, for the additional section */
	uint16_t addl[MAX_ADDL];
	unsigned naddl;
	const struct snap *addl_zone;
	/* proof records written (node indexes), to write each once */
	uint32_t proofs[MAX_PROOFS];
	unsigned nproofs;
	/* wildcard proofs to write in authority once the answer is complete */
	struct { const struct snap *s; uint32_t nsec, nsec3; } wproof[ENG_CNAME_CHAIN_MAX + 1];
	unsigned nwproof;
	/* answer rrsets written (blob offsets), so none is written twice */
	uint32_t an_sets[ENG_CNAME_CHAIN_MAX + 2];
	uint16_t an_pos[ENG_CNAME_CHAIN_MAX + 2];
	unsigned nan_sets;
	bool referral;          /* glue that does not fit sets TC */
	unsigned cnames;        /* CNAMEs (incl. DNAME-synthesized) written */
	unsigned apex_labels;   /* labels of the answering zone's apex */
	/* an rrset that does not fit is written again with its rdata names
	 * compressed against each other (NS sets of other providers) */
	bool squeeze;
	unsigned nsq;
	uint16_t sq_pos[32];
};

/* ---- small writers ---------------------------------------------------- */

static inline void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline bool room(const struct ctx *c, size_t n)
{
	return c->pos + n <= c->limit;
}

/* Position of the suffix that starts k octets into the (uncompressed form
 * of the) name written at pos in the response. Follows pointers we wrote. */
static uint16_t suffix_pos(const uint8_t *r, uint16_t pos, unsigned k)
{
	for (unsigned guard = 0; guard < 256; guard++) {
		uint8_t l = r[pos];
		if (l >= 0xc0) {
			pos = (uint16_t)(((l & 0x3f) << 8) | r[pos + 1]);
			continue;
		}
		if (k == 0)
			return pos;
		k -= 1u + l;
		pos = (uint16_t)(pos + 1u + l);
	}
	return pos;
}

/* Write a 2-octet pointer to pos, or the lowercase name lc when pos cannot
 * be pointed to. */
static bool put_ref(struct ctx *c, uint16_t pos, const uint8_t *lc)
{
	if (pos <= PTR_MAX) {
		if (!room(c, 2))
			return false;
		wr16(c->r + c->pos, (uint16_t)(0xc000u | pos));
		c->pos += 2;
		return true;
	}
	size_t n = dname_len(lc);
	if (!room(c, n))
		return false;
	memcpy(c->r + c->pos, lc, n);
	c->pos += n;
	return true;
}

/* Write the lowercase name lc, compressed against the question name: its
 * labels not shared with the qname's suffix, then a pointer. Returns the
 * position written at, or 0 when out of room. */
static uint16_t put_name(struct ctx *c, const uint8_t *lc)
{
	uint8_t off[DNAME_MAXLABELS];
	unsigned n = dname_label_offsets(lc, off);
	size_t len = (size_t)off[n] + 1;
	/* Longest common label suffix with the question name. */
	unsigned i = n, j = c->q->nlab;
	while (i > 0 && j > 0) {
		unsigned li = lc[off[i - 1]], lj = c->q->lc[c->q->off[j - 1]];
		if (li != lj || memcmp(lc + off[i - 1], c->q->lc + c->q->off[j - 1], li + 1u) != 0)
			break;
		i--;
		j--;
	}
	uint16_t at = (uint16_t)c->pos;
	if (i == n && j == c->q->nlab) {
		/* Only the root in common: write it whole. */
		if (!room(c, len))
			return 0;
		memcpy(c->r + c->pos, lc, len);
		c->pos += len;
		return at;
	}
	size_t lit = off[i];
	if (!room(c, lit + 2))
		return 0;
	memcpy(c->r + c->pos, lc, lit);
	c->pos += lit;
	wr16(c->r + c->pos, (uint16_t)(0xc000u | (12u + c->q->off[j])));
	c->pos += 2;
	return at;
}

/* Where an rrset's owner is in the response. */
struct owner {
	uint16_t pos;          /* placement of the owner name (0: not yet written) */
	const uint8_t *lc;     /* the owner name, lowercase, uncompressed */
	int shift;             /* placed length - stored length (wildcards) */
	bool wild;             /* stored owner is "*.<suffix>", placed is lc */
};

static size_t read_name(const uint8_t *r, size_t pos, size_t end, uint8_t *out);

/* Squeeze mode: write the rdata name at src (its leading labels, then the
 * root or an owner-relative pointer) compressed against the rdata names
 * written before it in this rrset, when one of them shares a suffix that
 * starts within the leading labels. *used gets the stored octets consumed.
 * Returns false when nothing was found to point to (nothing written). */
static bool squeeze_name(struct ctx *c, const uint8_t *src, const struct owner *o,
                         size_t *used, bool *fit)
{
	uint8_t lc[DNAME_MAXLEN + 1], off[DNAME_MAXLABELS];
	size_t lit = 0;
	while (src[lit] != 0 && src[lit] < 0xc0)
		lit += 1u + src[lit];
	size_t len;
	if (src[lit] == 0) {
		len = lit + 1;
		*used = len;
	} else {
		if (o->wild)
			return false;
		unsigned k = (unsigned)(((src[lit] & 0x3f) << 8) | src[lit + 1]) - 12u;
		size_t tail = dname_len(o->lc + k);
		if (lit + tail > DNAME_MAXLEN)
			return false;
		memcpy(lc + lit, o->lc + k, tail);
		len = lit + tail;
		*used = lit + 2;
	}
	memcpy(lc, src, lit);
	dname_lower(lc, lc, len);
	unsigned n = dname_label_offsets(lc, off);
	for (unsigned j = 0; j < n && off[j] < lit; j++) {
		size_t slen = len - off[j];
		for (unsigned i = 0; i < c->nsq; i++) {
			uint8_t b[DNAME_MAXLEN + 1 + 8], boff[DNAME_MAXLABELS];
			size_t bl = read_name(c->r, c->sq_pos[i], c->pos, b);
			if (bl < slen || memcmp(b + bl - slen, lc + off[j], slen) != 0)
				continue;
			unsigned bn = dname_label_offsets(b, boff);
			bool boundary = false;
			for (unsigned k = 0; k <= bn; k++)
				boundary |= boff[k] == bl - slen;
			if (!boundary)
				continue;
			uint16_t at = suffix_pos(c->r, c->sq_pos[i], (unsigned)(bl - slen));
			if (at > PTR_MAX)
				continue;
			*fit = room(c, (size_t)off[j] + 2);
			if (*fit) {
				memcpy(c->r + c->pos, src, off[j]);
				c->pos += off[j];
				wr16(c->r + c->pos, (uint16_t)(0xc000u | at));
				c->pos += 2;
			}
			return true;
		}
	}
	return false;
}

/* Copy one rdata name from the snapshot wire at *src, translating the
 * owner-relative pointers to where the owner really is. */
static bool copy_rdname(struct ctx *c, const uint8_t **src, const struct owner *o)
{
	const uint8_t *s = *src;
	if (c->squeeze) {
		size_t at = c->pos, used = 0;
		bool fit = true, done = squeeze_name(c, s, o, &used, &fit);
		if (fit && c->nsq < sizeof(c->sq_pos) / sizeof(c->sq_pos[0]) && at <= PTR_MAX)
			c->sq_pos[c->nsq++] = (uint16_t)at;
		if (done) {
			*src = s + used;
			return fit;
		}
	}
	for (;;) {
		uint8_t l = *s;
		if (l == 0) {
			if (!room(c, 1))
				return false;
			c->r[c->pos++] = 0;
			s++;
			break;
		}
		if (l >= 0xc0) {
			unsigned k = (unsigned)(((l & 0x3f) << 8) | s[1]) - 12u;
			s += 2;
			if (o->wild) {
				if (k == 0) {
					/* the wildcard owner itself: its "*" label */
					if (!room(c, 2))
						return false;
					c->r[c->pos++] = 1;
					c->r[c->pos++] = '*';
					k = 2;
				}
				k = (unsigned)((int)k + o->shift);
			}
			uint16_t at = o->pos <= PTR_MAX ? suffix_pos(c->r, o->pos, k) : 0xffff;
			if (!put_ref(c, at, o->lc + k))
				return false;
			break;
		}
		if (!room(c, 1u + l))
			return false;
		memcpy(c->r + c->pos, s, 1u + l);
		c->pos += 1u + l;
		s += 1u + l;
	}
	*src = s;
	return true;
}

/* Move the owner-relative pointers in one RR's rdata (validated layout of
 * NS, CNAME, PTR, MX, SOA) by delta. */
static void shift_name(uint8_t *p, uint16_t delta)
{
	while (*p != 0 && *p < 0xc0)
		p += 1u + *p;
	if (*p >= 0xc0)
		wr16(p, (uint16_t)(rd16(p) + delta));
}

static void shift_rdata(uint8_t *rd, uint16_t type, uint16_t delta)
{
	switch (type) {
	case T_MX:
		shift_name(rd + 2, delta);
		break;
	case T_SOA: {
		uint8_t *p = rd;
		while (*p != 0 && *p < 0xc0)
			p += 1u + *p;
		shift_name(rd, delta);
		shift_name(p + (*p == 0 ? 1 : 2), delta);
		break;
	}
	case T_NS: case T_CNAME: case T_PTR:
		shift_name(rd, delta);
		break;
	}
}

/* Write an rrset from the snapshot. ttl: 0 keeps the stored TTL. On no room
 * nothing is left written and false is returned. *rdata0 (may be NULL) gets
 * the response position of the first RR's rdata. */
static bool put_rrset(struct ctx *c, const struct snap_rrset *rs, struct owner *o,
                      uint32_t ttl, uint16_t *rdata0)
{
	const uint8_t *w = snap_rrset_wire(rs);
	size_t start = c->pos;
	uint16_t opos = o->pos;
	uint16_t first_rdata = 0;

	bool compressible = rs->type == T_NS || rs->type == T_MX || rs->type == T_CNAME ||
	                    rs->type == T_PTR || rs->type == T_SOA;
	if (!o->wild && !c->squeeze && o->pos >= 12 && o->pos < 12u + c->q->len) {
		/* The owner is the question name or one of its suffixes, which
		 * sit uncompressed in the question: the stored bytes are final
		 * but for the owner pointers and the owner-relative pointers in
		 * rdata, which move by where that suffix starts. */
		if (room(c, rs->wlen)) {
			uint8_t *r = c->r + c->pos;
			memcpy(r, w, rs->wlen);
			c->pos += rs->wlen;
			first_rdata = (uint16_t)(start + 12);
			unsigned delta = o->pos - 12u;
			if (delta == 0 && ttl == 0)
				goto done;
			bool reloc = delta != 0 && (rs->flags & SNAP_RRSET_RELOC);
			for (unsigned i = 0; i < rs->count; i++) {
				uint16_t rdlen = rd16(r + 10);
				wr16(r, (uint16_t)(0xc000u | o->pos));
				if (ttl != 0)
					wr32(r + 6, ttl);
				if (reloc)
					shift_rdata(r + 12, rs->type, (uint16_t)delta);
				r += 12u + rdlen;
			}
			goto done;
		}
		if (!compressible)
			return false;
		/* too big as stored: try the slow path, which can squeeze */
	}
	bool reloc = (rs->flags & SNAP_RRSET_RELOC) != 0 || (c->squeeze && compressible);
	for (unsigned i = 0; i < rs->count; i++) {
		uint16_t rdlen = rd16(w + 10);
		/* owner */
		if (o->pos == 0) {
			o->pos = put_name(c, o->lc);
			if (o->pos == 0)
				goto full;
		} else if (!put_ref(c, o->pos, o->lc)) {
			goto full;
		}
		if (!room(c, 10))
			goto full;
		uint8_t *f = c->r + c->pos;
		memcpy(f, w + 2, 10);
		if (ttl != 0)
			wr32(f + 4, ttl);
		c->pos += 10;
		if (i == 0)
			first_rdata = (uint16_t)c->pos;
		const uint8_t *rd = w + 12;
		if (!reloc) {
			if (!room(c, rdlen))
				goto full;
			memcpy(c->r + c->pos, rd, rdlen);
			c->pos += rdlen;
		} else {
			size_t rstart = c->pos;
			const uint8_t *rend = rd + rdlen;
			switch (rs->type) {
			case T_MX:
				if (!room(c, 2))
					goto full;
				memcpy(c->r + c->pos, rd, 2);
				c->pos += 2;
				rd += 2;
				if (!copy_rdname(c, &rd, o))
					goto full;
				break;
			case T_SOA:
				if (!copy_rdname(c, &rd, o) || !copy_rdname(c, &rd, o))
					goto full;
				break;
			default: /* NS, CNAME, PTR */
				if (!copy_rdname(c, &rd, o))
					goto full;
				break;
			}
			size_t rest = (size_t)(rend - rd);
			if (!room(c, rest))
				goto full;
			memcpy(c->r + c->pos, rd, rest);
			c->pos += rest;
			wr16(c->r + rstart - 2, (uint16_t)(c->pos - rstart));
		}
		w += 12u + rdlen;
	}
done:
	c->cnt[c->sect] = (uint16_t)(c->cnt[c->sect] + rs->count);
	if (rdata0 != NULL)
		*rdata0 = first_rdata;
	return true;
full:
	c->pos = start;
	o->pos = opos;
	if (!c->squeeze && compressible && rs->count > 1) {
		c->squeeze = true;
		c->nsq = 0;
		bool ok = put_rrset(c, rs, o, ttl, rdata0);
		c->squeeze = false;
		return ok;
	}
	return false;
}

/* Note the target names of NS/MX/SRV RRs just written at [start, pos), for
 * the additional section. */
static void note_targets(struct ctx *c, size_t start, uint16_t type, unsigned count,
                         const struct snap *s)
{
	unsigned skip = type == T_MX ? 2 : type == T_SRV ? 6 : type == T_NS ? 0 : 99;
	if (skip == 99)
		return;
	size_t p = start;
	c->addl_zone = s;
	for (unsigned i = 0; i < count && p < c->pos; i++) {
		/* owner: pointer or name */
		while (c->r[p] != 0 && c->r[p] < 0xc0)
			p += 1u + c->r[p];
		p += c->r[p] == 0 ? 1 : 2;
		uint16_t rdlen = rd16(c->r + p + 8);
		size_t rd = p + 10;
		if (rdlen > skip && c->naddl < MAX_ADDL && rd + skip <= PTR_MAX)
			c->addl[c->naddl++] = (uint16_t)(rd + skip);
		p = rd + rdlen;
	}
}

/* Write an rrset and, with DNSSEC, its signatures; note additional targets.
 * On no room: TC (answer, authority) and false. */
static bool put_set(struct ctx *c, const struct snap *s, const struct snap_rrset *rs,
                    struct owner *o, uint32_t ttl, uint16_t *rdata0)
{
	size_t start = c->pos;
	uint16_t cnt = c->cnt[c->sect];
	if (!put_rrset(c, rs, o, ttl, rdata0))
		goto full;
	if (c->dnssec && rs->sigs != 0) {
		struct owner so = *o;
		if (!put_rrset(c, snap_rrset_at(s, rs->sigs), &so, ttl, NULL)) {
			c->pos = start;
			c->cnt[c->sect] = cnt;
			goto full;
		}
	}
	if (c->sect != S_AR)
		note_targets(c, start, rs->type, rs->count, s);
	return true;
full:
	if (c->sect != S_AR)
		c->tc = true;
	return false;
}

/* ---- lookups ----------------------------------------------------------- */

/* Exact lookup in the name index (see snapshot.h); snap_lookup() inlined. */
static inline const struct snap_node *lookup(const struct snap *s, const uint8_t *ln,
                                             size_t len, uint64_t h)
{
	uint64_t i = h & s->mask;
	uint32_t fp = (uint32_t)(h >> 32);
	for (uint32_t p = s->hdr->max_probe; p > 0; p--) {
		uint64_t slot = s->table[i];
		if (slot == 0)
			return NULL;
		if ((uint32_t)(slot >> 32) == fp) {
			const struct snap_node *n = &s->nodes[(uint32_t)slot - 1];
			if (n->namelen != len)
				goto next;
			/* word-wise where the blob goes on past the name */
			if (n->name + ((len + 7) & ~(size_t)7) <= s->hdr->blob_size) {
				if (dname_eq_padded(s->blob + n->name, ln, len))
					return n;
			} else if (memcmp(s->blob + n->name, ln, len) == 0) {
				return n;
			}
		}
next:
		i = (i + 1) & s->mask;
	}
	return NULL;
}

/* Closest encloser of n in s: the node of the longest existing suffix,
 * searched from the whole name up to label zl (the apex). */
static const struct snap_node *closest(const struct snap *s, const struct name *n,
                                       unsigned zl, unsigned *cel)
{
	for (unsigned i = 0; i <= zl; i++) {
		const struct snap_node *nd = lookup(s, n->lc + n->off[i],
		                                         (size_t)(n->len - n->off[i]), n->hs[i]);
		if (nd != NULL) {
			*cel = i;
			return nd;
		}
	}
	*cel = zl;
	return &s->nodes[0];
}

/* Whether the name n is at or below the apex of s (apex_labels labels). */
static inline bool name_in_zone(const struct name *n, const struct snap *s,
                                unsigned apex_labels)
{
	return n->nlab >= apex_labels &&
	       n->len - n->off[n->nlab - apex_labels] == s->hdr->apex_len &&
	       memcmp(n->lc + n->off[n->nlab - apex_labels], s->hdr->apex,
	              s->hdr->apex_len) == 0;
}

/* Labels and suffix hashes of the len-octet name already in n->lc. */
static void name_setup(struct name *n, size_t len, uint16_t pos)
{
	n->len = (uint8_t)len;
	n->pos = pos;
	n->nlab = (uint8_t)dname_label_offsets(n->lc, n->off);
	dname_hash_suffixes_padded(n->lc, n->off, n->nlab, n->hs);
}

/* Read the (possibly compressed) name at pos of the response, lowercase,
 * into out, which must have 8 octets of slack past DNAME_MAXLEN + 1. The
 * name may come from rdata copied verbatim (SRV), so it is checked: only
 * octets before end are read; 0 when it is not a well-formed name. */
static size_t read_name(const uint8_t *r, size_t pos, size_t end, uint8_t *out)
{
	size_t o = 0;
	for (unsigned guard = 0; guard < 128; guard++) {
		if (pos >= end)
			return 0;
		uint8_t l = r[pos];
		if (l >= 0xc0) {
			if (pos + 1 >= end)
				return 0;
			pos = (size_t)(((l & 0x3f) << 8) | r[pos + 1]);
			continue;
		}
		if (l > DNAME_LABEL_MAX || o + 1u + l > DNAME_MAXLEN || pos + 1u + l > end)
			return 0;
		if (pos + 72 <= end) {
			/* whole words: out has slack, and r is readable to end */
			for (unsigned i = 0; i < 1u + l; i += 8)
				memcpy(out + o + i, r + pos + i, 8);
		} else {
			memcpy(out + o, r + pos, 1u + l);
		}
		o += 1u + l;
		if (l == 0) {
			for (size_t i = 0; i < o; i += 8) {
				uint64_t w;
				memcpy(&w, out + i, 8);
				w = dname_lower_word(w);
				memcpy(out + i, &w, 8);
			}
			return o;
		}
		pos += 1u + l;
	}
	return 0;
}

/* Canonical predecessor-or-equal of lc among the canonical nodes. */
static uint32_t canon_pred(const struct snap *s, const uint8_t *lc)
{
	uint32_t lo = 0, hi = s->hdr->ncanon;   /* node 0 (apex) <= lc */
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (dname_canon_cmp(snap_node_name(s, &s->nodes[mid]), lc) <= 0)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static void nsec3_hash(const struct snap_header *h, const uint8_t *lc, size_t len,
                       uint8_t out[SNAP_NSEC3_HASHLEN])
{
	struct sha1_ctx sc;
	sha1_init(&sc);
	sha1_update(&sc, len, lc);
	sha1_update(&sc, h->nsec3_saltlen, h->nsec3_salt);
	sha1_digest(&sc, SHA1_DIGEST_SIZE, out);
	for (unsigned i = 0; i < h->nsec3_iters; i++) {
		sha1_init(&sc);
		sha1_update(&sc, SHA1_DIGEST_SIZE, out);
		sha1_update(&sc, h->nsec3_saltlen, h->nsec3_salt);
		sha1_digest(&sc, SHA1_DIGEST_SIZE, out);
	}
}

/* NSEC3 entry (index + 1) matching or covering the hash of lc. */
static uint32_t nsec3_cover(const struct snap *s, const uint8_t *lc, size_t len)
{
	uint64_t n = s->hdr->nnsec3;
	if (n == 0)
		return 0;
	uint8_t h[SNAP_NSEC3_HASHLEN];
	nsec3_hash(s->hdr, lc, len, h);
	if (memcmp(s->nsec3[0].hash, h, sizeof(h)) > 0)
		return (uint32_t)n;     /* below all: the last one covers (wraps) */
	uint64_t lo = 0, hi = n;
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (memcmp(s->nsec3[mid].hash, h, sizeof(h)) <= 0)
			lo = mid;
		else
			hi = mid;
	}
	return (uint32_t)lo + 1;
}

/* ---- DNSSEC proofs ----------------------------------------------------- */

static bool proof_seen(struct ctx *c, uint32_t id)
{
	for (unsigned i = 0; i < c->nproofs; i++)
		if (c->proofs[i] == id)
			return true;
	if (c->nproofs < MAX_PROOFS)
		c->proofs[c->nproofs++] = id;
	return false;
}

/* The NSEC rrset (and signature) of node index+1 nsec. */
static void put_nsec(struct ctx *c, const struct snap *s, uint32_t nsec)
{
	if (nsec == 0 || proof_seen(c, nsec - 1))
		return;
	const struct snap_node *n = &s->nodes[nsec - 1];
	const struct snap_rrset *rs = snap_node_find(s, n, T_NSEC);
	if (rs == NULL)
		return;
	struct owner o = { 0, snap_node_name(s, n), 0, false };
	put_set(c, s, rs, &o, 0, NULL);
}

/* The NSEC3 rrset of nsec3 table entry index+1 e. */
static void put_nsec3(struct ctx *c, const struct snap *s, uint32_t e)
{
	if (e == 0)
		return;
	uint32_t ni = s->nsec3[e - 1].node;
	if (proof_seen(c, ni))
		return;
	const struct snap_node *n = &s->nodes[ni];
	const struct snap_rrset *rs = snap_node_find(s, n, T_NSEC3);
	if (rs == NULL)
		return;
	struct owner o = { 0, snap_node_name(s, n), 0, false };
	put_set(c, s, rs, &o, 0, NULL);
}

/* NSEC3: closest provable encloser of name n starting at label i (walking
 * up to the apex label zl), and the NSEC3 covering the next closer name. */
static void nsec3_ce_proof(struct ctx *c, const struct snap *s, const struct name *n,
                           unsigned i, unsigned zl)
{
	for (; i <= zl; i++) {
		const struct snap_node *nd = lookup(s, n->lc + n->off[i],
		                                         (size_t)(n->len - n->off[i]), n->hs[i]);
		if (nd != NULL && nd->nsec != 0) {
			put_nsec3(c, s, nd->nsec);
			if (i > 0)
				put_nsec3(c, s, nsec3_cover(s, n->lc + n->off[i - 1],
				                            (size_t)(n->len - n->off[i - 1])));
			return;
		}
	}
}

/* ---- answers ------------------------------------------------------------ */

/* Placement of the suffix of n that starts at label i. */
static uint16_t name_suffix(const struct ctx *c, const struct name *n, unsigned i)
{
	if (n->pos > PTR_MAX)
		return 0xffff;
	return suffix_pos(c->r, n->pos, n->off[i]);
}

/* The apex SOA for a negative answer about n (apex at label zl of n), with
 * the negative TTL (RFC 2308 3). */
static void put_soa_neg(struct ctx *c, const struct snap *s, const struct name *n,
                        unsigned zl)
{
	enum sect prev = c->sect;
	c->sect = S_NS;
	struct owner o = { name_suffix(c, n, zl), s->hdr->apex, 0, false };
	put_set(c, s, snap_rrset_at(s, s->hdr->soa), &o, s->hdr->neg_ttl, NULL);
	c->sect = prev;
}

static void referral(struct ctx *c, const struct snap *s, const struct name *n,
                     const struct snap_node *cut, unsigned cutl, unsigned zl)
{
	if (c->cnt[S_AN] == 0)
		c->aa = false;
	c->referral = true;
	c->sect = S_NS;
	struct owner o = { name_suffix(c, n, cutl), n->lc + n->off[cutl], 0, false };
	const struct snap_rrset *ns = snap_node_find(s, cut, T_NS);
	if (ns == NULL || !put_set(c, s, ns, &o, 0, NULL))
		return;
	if (!c->dnssec)
		return;
	const struct snap_rrset *ds = snap_node_find(s, cut, T_DS);
	if (ds != NULL) {
		put_set(c, s, ds, &o, 0, NULL);
	} else if (s->hdr->flags & SNAP_F_NSEC3) {
		if (cut->nsec != 0)
			put_nsec3(c, s, cut->nsec);
		else
			nsec3_ce_proof(c, s, n, cutl + 1, zl);
	} else {
		put_nsec(c, s, cut->nsec);
	}
}

/* Denial of the name n (NXDOMAIN), closest encloser ce at label cel. */
static void nxdomain(struct ctx *c, const struct snap *s, const struct name *n,
                     const struct snap_node *ce, unsigned cel, unsigned zl)
{
	c->rcode = RC_NXDOMAIN;
	put_soa_neg(c, s, n, zl);
	if (!c->dnssec)
		return;
	c->sect = S_NS;
	if (s->hdr->flags & SNAP_F_NSEC3) {
		/* RFC 5155 7.2.2: the closest provable encloser (the closest
		 * encloser itself unless it is an opt-out empty non-terminal
		 * without an NSEC3), the next closer name, its wildcard */
		for (unsigned i = cel; i <= zl; i++) {
			const struct snap_node *pe = i == cel ? ce :
			        lookup(s, n->lc + n->off[i], (size_t)(n->len - n->off[i]), n->hs[i]);
			if (pe == NULL || pe->nsec == 0)
				continue;
			put_nsec3(c, s, pe->nsec);
			put_nsec3(c, s, nsec3_cover(s, n->lc + n->off[i - 1],
			                            (size_t)(n->len - n->off[i - 1])));
			put_nsec3(c, s, pe->wnsec);
			break;
		}
	} else {
		put_nsec(c, s, s->nodes[canon_pred(s, n->lc)].nsec);
		put_nsec(c, s, ce->wnsec);
	}
}

/* No data of the type at an existing name (node nd; wild: reached through
 * the wildcard nd whose parent, the closest encloser, is at label cel). */
static void nodata(struct ctx *c, const struct snap *s, const struct name *n,
                   const struct snap_node *nd, bool wild, unsigned cel, unsigned zl)
{
	put_soa_neg(c, s, n, zl);
	if (!c->dnssec)
		return;
	c->sect = S_NS;
	if (s->hdr->flags & SNAP_F_NSEC3) {
		if (wild) {
			nsec3_ce_proof(c, s, n, cel, zl);
			put_nsec3(c, s, nd->nsec);
		} else if (nd->nsec != 0) {
			put_nsec3(c, s, nd->nsec);
		} else {
			nsec3_ce_proof(c, s, n, 1, zl);   /* opt-out: DS at insecure cut */
		}
	} else {
		if (wild)
			put_nsec(c, s, s->nodes[canon_pred(s, n->lc)].nsec);
		put_nsec(c, s, nd->nsec);
	}
}

/* Wildcard answers also prove that the query name itself does not exist;
 * the proof goes to authority after the answer is complete. */
static void wild_proof(struct ctx *c, const struct snap *s, const struct name *n,
                       unsigned cel)
{
	if (!c->dnssec || c->nwproof >= sizeof(c->wproof) / sizeof(c->wproof[0]))
		return;
	unsigned i = c->nwproof++;
	c->wproof[i].s = s;
	c->wproof[i].nsec = 0;
	c->wproof[i].nsec3 = 0;
	if (s->hdr->flags & SNAP_F_NSEC3)
		c->wproof[i].nsec3 = nsec3_cover(s, n->lc + n->off[cel - 1],
		                                 (size_t)(n->len - n->off[cel - 1]));
	else
		c->wproof[i].nsec = s->nodes[canon_pred(s, n->lc)].nsec;
}

static void put_wild_proofs(struct ctx *c)
{
	c->sect = S_NS;
	for (unsigned i = 0; i < c->nwproof; i++) {
		if (c->wproof[i].nsec3 != 0)
			put_nsec3(c, c->wproof[i].s, c->wproof[i].nsec3);
		else
			put_nsec(c, c->wproof[i].s, c->wproof[i].nsec);
	}
}

/* Whether the answer already holds the rrset rs; *pos then gets the
 * response position noted with it (a DNAME's target). */
static bool answer_has(const struct ctx *c, const struct snap *s,
                       const struct snap_rrset *rs, uint16_t *pos)
{
	uint32_t off = (uint32_t)((const uint8_t *)rs - s->blob);
	for (unsigned i = 0; i < c->nan_sets; i++) {
		if (c->an_sets[i] == off) {
			*pos = c->an_pos[i];
			return true;
		}
	}
	return false;
}

/* Note that the answer holds rs, with a position to remember. */
static void answer_note(struct ctx *c, const struct snap *s, const struct snap_rrset *rs,
                        uint16_t pos)
{
	if (c->nan_sets < sizeof(c->an_sets) / sizeof(c->an_sets[0])) {
		c->an_pos[c->nan_sets] = pos;
		c->an_sets[c->nan_sets++] = (uint32_t)((const uint8_t *)rs - s->blob);
	}
}

enum step { STEP_DONE, STEP_FOLLOW };

/* Answer the name n from node nd (exact match, or the wildcard nd with the
 * closest encloser at label cel). May set *next to a CNAME target to follow. */
static enum step answer_node(struct ctx *c, const struct snap *s, const struct name *n,
                             const struct snap_node *nd, bool wild, unsigned cel,
                             unsigned zl, struct name *next)
{
	struct owner o = { n->pos, n->lc, 0, wild };
	if (wild)
		o.shift = (int)n->len - (int)nd->namelen;
	c->sect = S_AN;
	const struct snap_rrset *rs = NULL;

	if (c->qtype == T_ANY && nd->nrrsets > 0) {
		/* RFC 8482: one rrset, the first by type, where (as in Knot
		 * DNS) all the signatures at the name count as type RRSIG. */
		const struct snap_rrset *first = snap_rrset_at(s, nd->rrsets);
		if (first->type > T_RRSIG) {
			bool any = false;
			uint32_t off = nd->rrsets;
			for (unsigned i = 0; i < nd->nrrsets; i++) {
				const struct snap_rrset *x = snap_rrset_at(s, off);
				if (x->sigs != 0) {
					if (!put_rrset(c, snap_rrset_at(s, x->sigs), &o, 0, NULL)) {
						c->tc = true;
						return STEP_DONE;
					}
					any = true;
				}
				off = snap_rrset_next(off, x);
			}
			if (any) {
				if (wild)
					wild_proof(c, s, n, cel);
				return STEP_DONE;
			}
		}
	}
	if (c->qtype == T_ANY || c->qtype == T_RRSIG) {
		/* RFC 8482: one rrset (the first by type); for RRSIG the
		 * signatures of the first signed rrset. */
		uint32_t off = nd->rrsets;
		for (unsigned i = 0; i < nd->nrrsets; i++) {
			const struct snap_rrset *x = snap_rrset_at(s, off);
			if (c->qtype == T_ANY || x->sigs != 0) {
				rs = x;
				break;
			}
			off = snap_rrset_next(off, x);
		}
		if (rs == NULL) {
			nodata(c, s, n, nd, wild, cel, zl);
			return STEP_DONE;
		}
		if (c->qtype == T_RRSIG) {
			if (!put_rrset(c, snap_rrset_at(s, rs->sigs), &o, 0, NULL)) {
				c->tc = true;
				return STEP_DONE;
			}
			if (wild)
				wild_proof(c, s, n, cel);
			return STEP_DONE;
		}
		if (put_set(c, s, rs, &o, 0, NULL) && wild)
			wild_proof(c, s, n, cel);
		return STEP_DONE;
	}

	rs = snap_node_find(s, nd, c->qtype);
	if (rs != NULL) {
		if (put_set(c, s, rs, &o, 0, NULL) && wild)
			wild_proof(c, s, n, cel);
		return STEP_DONE;
	}
	if (nd->flags & SNAP_N_CNAME) {
		rs = snap_node_find(s, nd, T_CNAME);
		uint16_t unused = 0;
		if (c->cnames >= ENG_CNAME_CHAIN_MAX || answer_has(c, s, rs, &unused))
			return STEP_DONE;      /* chain too long, or a loop: it ends here */
		answer_note(c, s, rs, 0);
		c->cnames++;
		uint16_t rd = 0;
		if (!put_set(c, s, rs, &o, 0, &rd))
			return STEP_DONE;
		if (wild)
			wild_proof(c, s, n, cel);
		size_t tl = read_name(c->r, rd, c->pos, next->lc);
		if (tl == 0)
			return STEP_DONE;
		name_setup(next, tl, rd);
		return name_in_zone(next, s, c->apex_labels) ? STEP_FOLLOW : STEP_DONE;
	}
	nodata(c, s, n, nd, wild, cel, zl);
	return STEP_DONE;
}

/* DNAME at the ancestor dn (label dl of n): the DNAME, a synthesized CNAME,
 * and the new name to follow. */
static enum step dname_synth(struct ctx *c, const struct snap *s, const struct name *n,
                             const struct snap_node *dn, unsigned dl, struct name *next)
{
	c->sect = S_AN;
	const struct snap_rrset *rs = snap_node_find(s, dn, T_DNAME);
	struct owner o = { name_suffix(c, n, dl), n->lc + n->off[dl], 0, false };
	uint16_t rd = 0;
	/* written before in this chain: its target is where it was written */
	if (!answer_has(c, s, rs, &rd)) {
		if (!put_set(c, s, rs, &o, 0, &rd))
			return STEP_DONE;
		answer_note(c, s, rs, rd);
	}
	const uint8_t *target = snap_rrset_wire(rs) + 12;
	size_t tlen = dname_len(target);
	size_t plen = n->off[dl];
	if (plen + tlen > DNAME_MAXLEN) {
		/* RFC 6672 2.2; Knot DNS adds the SOA and denies the name
		 * below the DNAME as for NXDOMAIN */
		c->rcode = RC_YXDOMAIN;
		put_soa_neg(c, s, n, n->nlab - c->apex_labels);
		if (c->dnssec) {
			c->sect = S_NS;
			if (s->hdr->flags & SNAP_F_NSEC3)
				put_nsec3(c, s, nsec3_cover(s, n->lc + n->off[dl - 1],
				                            (size_t)(n->len - n->off[dl - 1])));
			else
				put_nsec(c, s, s->nodes[canon_pred(s, n->lc)].nsec);
		}
		return STEP_DONE;
	}
	if (c->cnames >= ENG_CNAME_CHAIN_MAX)
		return STEP_DONE;
	c->cnames++;
	/* CNAME n -> <prefix of n>.<target>, TTL of the DNAME */
	size_t start = c->pos;
	size_t need = 2 + 10 + plen + 2;
	if (!room(c, need)) {
		c->tc = true;
		return STEP_DONE;
	}
	uint8_t *p = c->r + c->pos;
	bool ptr_ok = n->pos <= PTR_MAX && rd <= PTR_MAX;
	if (!ptr_ok) {
		c->tc = true;   /* beyond compression reach: cannot happen below 16 KiB */
		return STEP_DONE;
	}
	wr16(p, (uint16_t)(0xc000u | n->pos));
	wr16(p + 2, T_CNAME);
	wr16(p + 4, C_IN);
	wr32(p + 6, rs->ttl);
	wr16(p + 10, (uint16_t)(plen + 2));
	/* the prefix labels (lowercase), then the DNAME's target */
	uint8_t *d = p + 12;
	memcpy(d, n->lc, plen);
	wr16(d + plen, (uint16_t)(0xc000u | rd));
	c->pos = start + need;
	c->cnt[S_AN]++;

	memcpy(next->lc, n->lc, plen);
	dname_lower(next->lc + plen, target, tlen);
	name_setup(next, plen + tlen, (uint16_t)(start + 12));
	return name_in_zone(next, s, c->apex_labels) ? STEP_FOLLOW : STEP_DONE;
}

/* Resolve one name within zone s (its apex at label zl of n). */
static enum step resolve(struct ctx *c, const struct snap *s, const struct name *n,
                         unsigned zl, struct name *next)
{
	unsigned cel;
	const struct snap_node *ce = closest(s, n, zl, &cel);

	if (ce->cut != 0) {
		const struct snap_node *cut = &s->nodes[ce->cut - 1];
		unsigned cutl = n->nlab - cut->nlabels;
		if (cut->flags & SNAP_N_DELEG) {
			referral(c, s, n, cut, cutl, zl);
			return STEP_DONE;
		}
		return dname_synth(c, s, n, cut, cutl, next);
	}
	if (cel > 0) {
		if (ce->flags & SNAP_N_DELEG) {
			referral(c, s, n, ce, cel, zl);
			return STEP_DONE;
		}
		if (ce->flags & SNAP_N_DNAME)
			return dname_synth(c, s, n, ce, cel, next);
		if (ce->wild != 0)
			return answer_node(c, s, n, &s->nodes[ce->wild - 1], true, cel, zl, next);
		nxdomain(c, s, n, ce, cel, zl);
		return STEP_DONE;
	}
	if ((ce->flags & SNAP_N_DELEG) && c->qtype != T_DS) {
		referral(c, s, n, ce, 0, zl);
		return STEP_DONE;
	}
	return answer_node(c, s, n, ce, false, 0, zl, next);
}

/* Targets of NS, MX and SRV in the answer and authority: their A and AAAA
 * from the same zone, then (DNSSEC) their signatures, as room allows, as
 * Knot DNS orders them. Only glue of a referral that does not fit sets TC. */
static void additional(struct ctx *c)
{
	const struct snap *s = c->addl_zone;
	struct { const struct snap_rrset *rs; uint16_t pos; const struct snap_node *nd; } put[2 * MAX_ADDL];
	unsigned nput = 0;
	c->sect = S_AR;
	for (unsigned i = 0; i < c->naddl; i++) {
		uint8_t t[DNAME_MAXLEN + 1 + 8];
		size_t tl = read_name(c->r, c->addl[i], c->pos, t);
		if (tl <= 1 || !dname_is_sub(t, s->hdr->apex))
			continue;
		const struct snap_node *nd = lookup(s, t, tl, dname_hash(t));
		if (nd == NULL)
			continue;
		bool dup = false;
		for (unsigned j = 0; j < nput; j++)
			dup |= put[j].nd == nd;
		if (dup)
			continue;
		static const uint16_t types[2] = { T_A, T_AAAA };
		for (unsigned k = 0; k < 2; k++) {
			const struct snap_rrset *rs = snap_node_find(s, nd, types[k]);
			if (rs == NULL)
				continue;
			struct owner o = { c->addl[i], snap_node_name(s, nd), 0, false };
			if (!put_rrset(c, rs, &o, 0, NULL)) {
				if (c->referral && nd->cut != 0)
					c->tc = true;   /* glue below the cut is needed */
				return;
			}
			put[nput].rs = rs;
			put[nput].pos = c->addl[i];
			put[nput].nd = nd;
			nput++;
		}
	}
	if (!c->dnssec)
		return;
	for (unsigned j = 0; j < nput; j++) {
		if (put[j].rs->sigs == 0)
			continue;
		struct owner o = { put[j].pos, snap_node_name(s, put[j].nd), 0, false };
		if (!put_rrset(c, snap_rrset_at(s, put[j].rs->sigs), &o, 0, NULL))
			return;
	}
}

static void answer_in(struct ctx *c, const struct snap *s, unsigned zl)
{
	struct name buf[2];
	const struct name *n = c->q;
	c->aa = true;
	c->dnssec = c->do_bit && (s->hdr->flags & SNAP_F_SIGNED);
	c->apex_labels = c->q->nlab - zl;
	for (unsigned hop = 0;; hop++) {
		struct name *next = &buf[hop & 1];
		/* bounded: each FOLLOW wrote one more of at most
		 * ENG_CNAME_CHAIN_MAX CNAMEs */
		if (resolve(c, s, n, zl, next) != STEP_FOLLOW || c->tc)
			break;
		n = next;
		zl = n->nlab - c->apex_labels;
	}
	if (c->nwproof > 0 && !c->tc)
		put_wild_proofs(c);
	if (!c->tc && c->naddl > 0)
		additional(c);
}

/* CHAOS TXT identity names. */
static void answer_chaos(struct ctx *c)
{
	static const struct { const char *name; size_t off; } ids[] = {
		{ "\2id\6server", offsetof(struct eng_conf, id_server) },
		{ "\10hostname\4bind", offsetof(struct eng_conf, hostname_bind) },
		{ "\7version\4bind", offsetof(struct eng_conf, version_bind) },
		{ "\7version\6server", offsetof(struct eng_conf, version_server) },
	};
	c->rcode = RC_REFUSED;
	if (c->qtype != T_TXT && c->qtype != T_ANY)
		return;
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		size_t nl = strlen(ids[i].name) + 1;
		if (nl != c->q->len || memcmp(ids[i].name, c->q->lc, nl) != 0)
			continue;
		const char *val = *(const char *const *)(const void *)((const char *)c->conf + ids[i].off);
		if (val == NULL)
			return;
		size_t vl = strlen(val);
		if (vl > 255)
			vl = 255;
		if (!room(c, 2 + 10 + 1 + vl))
			return;
		uint8_t *p = c->r + c->pos;
		wr16(p, 0xc00c);
		wr16(p + 2, T_TXT);
		wr16(p + 4, C_CH);
		wr32(p + 6, 0);
		wr16(p + 10, (uint16_t)(1 + vl));
		p[12] = (uint8_t)vl;
		memcpy(p + 13, val, vl);
		c->pos += 13 + vl;
		c->cnt[S_AN] = 1;
		c->rcode = RC_NOERROR;
		return;
	}
}

/* ---- query parsing ------------------------------------------------------ */

/* Skip a name in a message (compression allowed); 0 on malformed. */
static size_t skip_name(const uint8_t *q, size_t len, size_t p)
{
	for (unsigned guard = 0; guard < 128; guard++) {
		if (p >= len)
			return 0;
		uint8_t l = q[p];
		if (l >= 0xc0)
			return p + 2 <= len ? p + 2 : 0;
		if (l > 63)
			return 0;
		p += 1u + l;
		if (l == 0)
			return p;
	}
	return 0;
}

/* Parse everything after the question: RRs in answer/authority (no OPT
 * allowed there), and at most one OPT in additional. Returns the rcode to
 * answer with (RC_NOERROR to go on). */
static int parse_rest(struct ctx *c, const uint8_t *q, size_t len, size_t p)
{
	unsigned an = rd16(q + 6), ns = rd16(q + 8), ar = rd16(q + 10);
	unsigned total = an + ns + ar;
	for (unsigned i = 0; i < total; i++) {
		size_t owner = p;
		p = skip_name(q, len, p);
		if (p == 0 || p + 10 > len)
			return RC_FORMERR;
		uint16_t type = rd16(q + p);
		uint16_t rdlen = rd16(q + p + 8);
		size_t rd = p + 10;
		if (rd + rdlen > len)
			return RC_FORMERR;
		if (type == T_OPT) {
			/* RFC 6891 6.1.1: only in additional, once, owned by the root */
			if (i < an + ns || c->edns || p != owner + 1)
				return RC_FORMERR;
			c->edns = true;
			uint16_t size = rd16(q + p + 2);
			uint8_t version = q[p + 5];
			c->do_bit = (q[p + 6] & 0x80) != 0;
			uint16_t lim = c->conf->udp_max ? c->conf->udp_max : ENG_UDP_MAX_DEFAULT;
			if (size < 512)
				size = 512;
			if (!c->tcp)
				c->limit = size < lim ? size : lim;
			size_t o = rd;
			while (o < rd + rdlen) {
				if (o + 4 > rd + rdlen)
					return RC_FORMERR;
				uint16_t code = rd16(q + o), olen = rd16(q + o + 2);
				if (o + 4 + olen > rd + rdlen)
					return RC_FORMERR;
				if (code == EDNS_NSID)
					c->nsid = true;
				o += 4u + olen;
			}
			if (version > 0)
				return RC_BADVERS;
		}
		p = rd + rdlen;
	}
	if (p != len)
		return RC_FORMERR;  /* octets after the last record */
	return RC_NOERROR;
}

/* Parse the question into c->q; returns the offset after it, or 0.
 * The name is copied whole, walked by its length octets, then lowercased
 * and hashed a word at a time. */
static size_t parse_question(struct ctx *c, const uint8_t *q, size_t len)
{
	size_t avail = len - 12;
	size_t cp = avail < DNAME_MAXLEN ? avail : DNAME_MAXLEN;
	uint8_t *lc = c->q->lc;
	memcpy(lc, q + 12, cp);
	size_t o = 0;
	unsigned n = 0;
	for (;;) {
		if (o >= cp)
			return 0;   /* runs past the message, or over 255 octets */
		uint8_t l = lc[o];
		if (l > 63)
			return 0;   /* compression (or a reserved label type) in a question */
		c->q->off[n] = (uint8_t)o;
		o += 1u + l;
		if (l == 0)
			break;
		n++;
	}
	if (12 + o + 4 > len)
		return 0;
	for (size_t i = 0; i < o; i += 8) {
		uint64_t w;
		memcpy(&w, lc + i, 8);
		w = dname_lower_word(w);
		memcpy(lc + i, &w, 8);
	}
	c->q->len = (uint8_t)o;
	c->q->nlab = (uint8_t)n;
	c->q->pos = 12;
	dname_hash_suffixes_padded(lc, c->q->off, n, c->q->hs);
	const uint8_t *t = q + 12 + o;
	c->qtype = rd16(t);
	c->qclass = rd16(t + 2);
	return 12 + o + 4;
}

static size_t finish(struct ctx *c, const uint8_t *q)
{
	uint8_t *r = c->r;
	r[2] = (uint8_t)(0x80 | (q[2] & 0x79) | (c->aa ? 0x04 : 0) | (c->tc ? 0x02 : 0));
	/* RA and AD clear; CD copied (RFC 4035 3.2.2) */
	r[3] = (uint8_t)((q[3] & 0x10) | (c->rcode & 0x0f));
	wr16(r + 6, c->cnt[S_AN]);
	wr16(r + 8, c->cnt[S_NS]);
	uint16_t ar = c->cnt[S_AR];
	size_t optlen = 11 + (c->nsid && c->conf->nsid_len > 0 ? 4u + c->conf->nsid_len : 0);
	if (c->edns && c->pos + optlen <= c->cap) {
		/* room was kept: limit excludes the OPT */
		uint8_t *p = r + c->pos;
		uint16_t udp = c->conf->udp_max ? c->conf->udp_max : ENG_UDP_MAX_DEFAULT;
		bool nsid = c->nsid && c->conf->nsid_len > 0;
		p[0] = 0;
		wr16(p + 1, T_OPT);
		wr16(p + 3, udp);
		p[5] = (uint8_t)(c->rcode >> 4);
		p[6] = 0;
		p[7] = c->do_bit ? 0x80 : 0;
		p[8] = 0;
		wr16(p + 9, nsid ? (uint16_t)(4 + c->conf->nsid_len) : 0);
		c->pos += 11;
		if (nsid) {
			wr16(r + c->pos, EDNS_NSID);
			wr16(r + c->pos + 2, c->conf->nsid_len);
			memcpy(r + c->pos + 4, c->conf->nsid, c->conf->nsid_len);
			c->pos += 4u + c->conf->nsid_len;
		}
		ar++;
	}
	wr16(r + 10, ar);
	return c->pos;
}

/* The fast path: the common case without the general machinery, a plain
 * QUERY (no EDNS options, no DO) for IN data that exists at exactly the
 * question name, whose answer needs no additional section and fits.
 * Everything else, and everything malformed, takes the general path, which
 * gives the same bytes for what this path answers (the fuzzer compares
 * them). It runs in stages so a burst can prefetch between them:
 * fast_parse (question, hashes, zone), fast_probe (index slot),
 * fast_node (node), fast_finish (answer). */

/* What the fast path learnt: the parsed question (qend != 0) and its zone
 * (zone != NULL), handed to the general path so it does not parse and hash
 * the name again; and, for fast_finish, the limits. */
struct fast_state {
	size_t qend;
	uint16_t qtype, qclass;
	const struct snap *zone;
	unsigned zl;
	size_t limit;
	bool edns;
	bool ok;                /* still a fast-path candidate */
	const struct snap_node *node;   /* prefetch hint from fast_probe */
};

static inline __attribute__((always_inline)) bool fast_parse(const struct eng_conf *conf, const struct zoneset *zs,
                       const uint8_t *q, size_t qlen, uint8_t *resp, size_t cap,
                       bool tcp, struct name *qn, struct fast_state *fs)
{
	if (qlen < 17 || cap < 512 || (q[2] & 0xf8) != 0 || q[4] != 0 || q[5] != 1 ||
	    (q[6] | q[7] | q[8] | q[9] | q[10]) != 0 || q[11] > 1)
		return false;
	uint8_t *off = qn->off;
	size_t p = 12;
	unsigned n = 0;
	for (;;) {
		if (p >= qlen || p - 12 >= DNAME_MAXLEN)
			return false;
		uint8_t l = q[p];
		if (l > 63)
			return false;
		off[n] = (uint8_t)(p - 12);
		p += 1u + l;
		if (l == 0)
			break;
		n++;
	}
	size_t len = p - 12;
	size_t end = p + 4;
	if (end > qlen)
		return false;

	/* lowercase copy, a word at a time (resp is read past the question,
	 * within its first 512 octets), and the hashes of every suffix */
	memcpy(resp, q, end);
	uint8_t *lc = qn->lc;
	for (size_t i = 0; i < len; i += 8) {
		uint64_t w;
		memcpy(&w, resp + 12 + i, 8);
		w = dname_lower_word(w);
		memcpy(lc + i, &w, 8);
	}
	uint64_t *hs = qn->hs;
	dname_hash_suffixes_padded(lc, off, n, hs);
	qn->len = (uint8_t)len;
	qn->nlab = (uint8_t)n;
	qn->pos = 12;
	uint16_t qtype = rd16(q + p);
	fs->qtype = qtype;
	fs->qclass = rd16(q + p + 2);
	fs->qend = end;
	if (fs->qclass != C_IN)
		return false;
	switch (qtype) {
	case 0: case T_NS: case T_MX: case T_SRV: case T_DS: case T_RRSIG:
	case T_OPT: case T_IXFR: case T_AXFR: case T_ANY:
		return false;
	}
	size_t limit = tcp ? ENG_TCP_MAX : 512;
	bool edns = q[11] == 1;
	if (edns) {
		/* exactly one bare OPT: root owner, version 0, no DO, no options */
		const uint8_t *o = q + end;
		if (end + 11 != qlen || o[0] != 0 || rd16(o + 1) != T_OPT || o[6] != 0 ||
		    (o[7] & 0x80) != 0 || rd16(o + 9) != 0)
			return false;
		if (!tcp) {
			size_t size = rd16(o + 3), lim = conf->udp_max ? conf->udp_max : ENG_UDP_MAX_DEFAULT;
			limit = size < 512 ? 512 : size;
			if (limit > lim)
				limit = lim;
		}
	} else if (end != qlen) {
		return false;
	}
	if (limit > cap)
		limit = cap;
	fs->limit = limit;
	fs->edns = edns;

	unsigned zl;
	const struct snap *s = zs_find(zs, lc, off, n, hs, &zl);
	if (s == NULL)
		return false;
	fs->zone = s;
	fs->zl = zl;
	__builtin_prefetch(&s->table[hs[0] & s->mask]);
	return true;
}

/* Prefetch the node the index slot names (hint only: fast_finish looks up
 * for real). */
static inline void fast_probe(const struct name *qn, struct fast_state *fs)
{
	const struct snap *s = fs->zone;
	uint64_t slot = s->table[qn->hs[0] & s->mask];
	fs->node = NULL;
	if (slot != 0 && (uint32_t)(slot >> 32) == (uint32_t)(qn->hs[0] >> 32)) {
		fs->node = &s->nodes[(uint32_t)slot - 1];
		__builtin_prefetch(fs->node);
	}
}

static inline void fast_node(const struct fast_state *fs)
{
	if (fs->node != NULL) {
		__builtin_prefetch(fs->zone->blob + fs->node->name);
		__builtin_prefetch(fs->zone->blob + fs->node->rrsets);
	}
}

static inline __attribute__((always_inline)) size_t fast_finish(const struct eng_conf *conf, const uint8_t *q, uint8_t *resp,
                          const struct name *qn, const struct fast_state *fs)
{
	const struct snap *s = fs->zone;
	size_t end = fs->qend, limit = fs->limit;
	uint16_t qtype = fs->qtype;
	bool edns = fs->edns;
	const struct snap_node *nd = lookup(s, qn->lc, qn->len, qn->hs[0]);
	if (nd == NULL || nd->cut != 0 || (nd->flags & SNAP_N_DELEG))
		return 0;
	const struct snap_rrset *rs = NULL;
	uint32_t roff = nd->rrsets;
	for (unsigned i = 0; i < nd->nrrsets; i++) {
		const struct snap_rrset *x = snap_rrset_at(s, roff);
		if (x->type >= qtype) {
			if (x->type == qtype)
				rs = x;
			break;
		}
		roff = snap_rrset_next(roff, x);
	}
	size_t optlen = edns ? 11 : 0;
	if (rs == NULL || end + rs->wlen + optlen > limit)
		return 0;
	memcpy(resp + end, snap_rrset_wire(rs), rs->wlen);
	size_t pos = end + rs->wlen;
	resp[2] = (uint8_t)(0x80 | 0x04 | (q[2] & 0x01));
	resp[3] = (uint8_t)(q[3] & 0x10);
	resp[6] = (uint8_t)(rs->count >> 8);
	resp[7] = (uint8_t)rs->count;
	if (edns) {
		uint8_t *o = resp + pos;
		uint16_t udp = conf->udp_max ? conf->udp_max : ENG_UDP_MAX_DEFAULT;
		o[0] = 0;
		wr16(o + 1, T_OPT);
		wr16(o + 3, udp);
		memset(o + 5, 0, 6);
		pos += 11;
	}
	return pos;
}

static size_t fast_answer(const struct eng_conf *conf, const struct zoneset *zs,
                          const uint8_t *q, size_t qlen, uint8_t *resp, size_t cap,
                          bool tcp, struct name *qn, struct fast_state *fs)
{
	if (!fast_parse(conf, zs, q, qlen, resp, cap, tcp, qn, fs))
		return 0;
	return fast_finish(conf, q, resp, qn, fs);
}

/* Everything the fast path does not answer. qn is the question name's
 * storage, already filled when fs->qend != 0. */
static size_t general(const struct eng_conf *conf, const struct zoneset *zs,
                      const uint8_t *q, size_t qlen, uint8_t *resp, size_t cap,
                      const struct eng_xport *x, struct name *qn,
                      const struct fast_state *pre)
{
	struct ctx c;
	struct fast_state fs = *pre;
	c.q = qn;
	if (qlen < 4 || cap < 12 || (q[2] & 0x80))
		return 0;           /* no ID and flags to answer with, or a response */
	if (qlen < 12) {
		/* a header cut short: FORMERR with the ID and flags it has
		 * (knotd drops it; an answer tells the client what is wrong) */
		memcpy(resp, q, 4);
		resp[2] = (uint8_t)(0x80 | (q[2] & 0x79));
		resp[3] = RC_FORMERR;
		memset(resp + 4, 0, 8);
		return 12;
	}

	c.conf = conf;
	c.zs = zs;
	c.r = resp;
	c.cnt[0] = c.cnt[1] = c.cnt[2] = 0;
	c.rcode = RC_NOERROR;
	c.aa = c.tc = c.dnssec = c.edns = c.do_bit = c.nsid = false;
	c.tcp = x != NULL && x->transport == ENG_TCP;
	c.cap = cap;
	c.naddl = 0;
	c.nproofs = 0;
	c.nwproof = 0;
	c.nan_sets = 0;
	c.referral = false;
	c.cnames = 0;
	c.squeeze = false;
	c.nsq = 0;
	c.addl_zone = NULL;
	c.sect = S_AN;
	c.limit = c.tcp ? ENG_TCP_MAX : 512;

	memcpy(resp, q, 4);
	wr16(resp + 4, 0);
	c.pos = 12;

	unsigned opcode = (q[2] >> 3) & 0x0f;
	size_t qend = 0;
	if (fs.qend != 0) {
		qend = fs.qend;        /* parsed by the fast path */
		c.qtype = fs.qtype;
		c.qclass = fs.qclass;
	} else if (rd16(q + 4) == 1) {
		qend = parse_question(&c, q, qlen);
	}
	if (qend != 0) {
		/* echo the question byte for byte (0x20 case preserved) */
		size_t ql = qend - 12;
		if (12 + ql > cap) {
			/* no room even for the question: the bare header, TC */
			c.tc = true;
			goto out;
		}
		memcpy(resp + 12, q + 12, ql);
		wr16(resp + 4, 1);
		c.pos = qend;
	}
	if (opcode != 0) {
		c.rcode = RC_NOTIMP;
		goto out;
	}
	if (qend == 0) {
		c.rcode = RC_FORMERR;
		c.pos = 12;
		wr16(resp + 4, 0);
		goto out;
	}
	int rc = parse_rest(&c, q, qlen, qend);
	if (rc != RC_NOERROR) {
		c.rcode = (uint8_t)rc;
		if (rc == RC_FORMERR) {
			c.edns = false;
		}
		goto out;
	}
	/* keep room for our OPT */
	if (c.limit > cap)
		c.limit = cap;
	if (c.edns) {
		size_t opt = 11 + (c.nsid && conf->nsid_len ? 4u + conf->nsid_len : 0);
		c.limit = c.limit > opt ? c.limit - opt : 0;
	}
	if (c.pos > c.limit) {
		c.pos = 12;
		wr16(resp + 4, 0);
		c.tc = true;
		goto out;
	}

	switch (c.qtype) {
	case 0:
		c.rcode = RC_NOTIMP;
		goto out;
	case T_AXFR:
		c.rcode = c.tcp ? RC_NOTAUTH : RC_NOTIMP;
		goto out;
	case T_IXFR:
		c.rcode = RC_NOTAUTH;
		goto out;
	default:
		break;
	}
	if (c.qclass == C_CH) {
		answer_chaos(&c);
		goto out;
	}
	if (c.qclass != C_IN && c.qclass != C_ANY) {
		c.rcode = RC_REFUSED;
		goto out;
	}

	/* The zone: longest apex that is a suffix of the name; DS is answered
	 * from the parent side of a cut (RFC 4035 3.1.4.1), so its zone is
	 * searched from the parent name first. */
	unsigned zl = 0;
	const struct snap *s = NULL;
	if (fs.zone != NULL && c.qtype != T_DS) {
		s = fs.zone;
		zl = fs.zl;
	} else if (c.qtype == T_DS && c.q->nlab > 0) {
		s = zs_find(zs, c.q->lc, c.q->off + 1, c.q->nlab - 1u, c.q->hs + 1, &zl);
		zl++;
	}
	if (s == NULL)
		s = zs_find(zs, c.q->lc, c.q->off, c.q->nlab, c.q->hs, &zl);
	if (s == NULL) {
		c.rcode = RC_REFUSED;
		goto out;
	}
	answer_in(&c, s, zl);
out:
	return finish(&c, q);
}

size_t eng_answer(const struct eng_conf *conf, const struct zoneset *zs,
                  const uint8_t *q, size_t qlen, uint8_t *resp, size_t cap,
                  const struct eng_xport *x)
{
	struct name qn;
	struct fast_state fs = { 0 };
	if (!conf->no_fast_path) {
		size_t n = fast_answer(conf, zs, q, qlen, resp, cap,
		                       x != NULL && x->transport == ENG_TCP, &qn, &fs);
		if (n != 0)
			return n;
	}
	return general(conf, zs, q, qlen, resp, cap, x, &qn, &fs);
}

void eng_answer_burst(const struct eng_conf *conf, const struct zoneset *zs,
                      struct eng_msg *m, unsigned n, enum eng_transport transport)
{
	struct name qn[ENG_BURST_MAX];
	struct fast_state fs[ENG_BURST_MAX];
	bool tcp = transport == ENG_TCP;
	if (n > ENG_BURST_MAX)
		n = ENG_BURST_MAX;
	/* stage 1: parse, hash, find the zone, prefetch the index slot */
	for (unsigned i = 0; i < n; i++) {
		memset(&fs[i], 0, sizeof(fs[i]));
		fs[i].ok = !conf->no_fast_path &&
		           fast_parse(conf, zs, m[i].q, m[i].qlen, m[i].resp, m[i].cap, tcp,
		                      &qn[i], &fs[i]);
	}
	/* stage 2: the slot, prefetch the node; stage 3: prefetch its data */
	for (unsigned i = 0; i < n; i++)
		if (fs[i].ok)
			fast_probe(&qn[i], &fs[i]);
	for (unsigned i = 0; i < n; i++)
		if (fs[i].ok)
			fast_node(&fs[i]);
	/* stage 4: answer */
	for (unsigned i = 0; i < n; i++) {
		size_t len = fs[i].ok ? fast_finish(conf, m[i].q, m[i].resp, &qn[i], &fs[i]) : 0;
		if (len == 0) {
			struct eng_xport x = { transport, m[i].client };
			len = general(conf, zs, m[i].q, m[i].qlen, m[i].resp, m[i].cap, &x,
			              &qn[i], &fs[i]);
		}
		m[i].rlen = len;
	}
}
