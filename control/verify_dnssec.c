/* verify_dnssec.c: step 5 of the gate (verify.h): RRSIGs, signed RRsets,
 * the NSEC or NSEC3 chain. The signatures are checked by ldns. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dname.h"
#include "error.h"
#include "verify_int.h"

#define DNSKEY_FLAG_ZONE 0x0100u
#define NSEC3_HASH_SHA1 1
#define SHA1_LEN 20

struct dctx {
	const struct vzone *z;
	const struct verify_policy *pol;
	uint32_t now;
	struct verify_report *rep;
	ldns_rr_list *keys;     /* the zone keys (shallow) */
	ldns_rr_list *set;      /* scratch: the RRset being verified (shallow) */
	uint16_t *tags;         /* key tag of each zone key */
	uint8_t algs[32];       /* bit per algorithm of a zone key */
};

static int bit(const uint8_t *set, unsigned i)
{
	return set[i >> 3] & (1u << (i & 7));
}

/* Messages name things in presentation form. */
struct names { char a[1100], t[32]; };

static const char *nstr(struct names *nb, const uint8_t *name)
{
	return dname_to_str(name, nb->a, sizeof(nb->a));
}

static const char *tstr(struct names *nb, uint16_t type)
{
	return verify_type_str(type, nb->t, sizeof(nb->t));
}

static size_t rdlen(const struct vrr *r)
{
	return r->len - r->rdoff;
}

static const uint8_t *rdata(const struct vrr *r)
{
	return r->wire + r->rdoff;
}

/* ---- RRSIGs ------------------------------------------------------------ */

/* RRSIG rdata: covered(2) alg(1) labels(1) ttl(4) expiration(4)
 * inception(4) tag(2) signer signature. */
#define RRSIG_FIXED 18

/* Checks one RRSIG over the RRset v[a..b). 0, 1 refused, ED_ENOMEM. */
static int check_rrsig(struct dctx *d, const struct vname *nm,
                       const struct vrr *sig, size_t a, size_t b,
                       uint8_t *got)
{
	const struct vzone *z = d->z;
	struct names nb;
	const uint8_t *r = rdata(sig);
	uint16_t covered = rd16(r);
	const char *own = nstr(&nb, nm->owner), *ty = tstr(&nb, covered);
	size_t slen = rdlen(sig) > RRSIG_FIXED ?
	              dname_check(r + RRSIG_FIXED, rdlen(sig) - RRSIG_FIXED) : 0;
	if (slen == 0)
		return verify_refuse(d->rep, "RRSIG %s %s is malformed", own, ty);
	if (slen != dname_len(z->apex) || memcmp(r + RRSIG_FIXED, z->apex, slen) != 0)
		return verify_refuse(d->rep, "RRSIG %s %s: signer is not the apex",
		                     own, ty);
	if (r[3] > dname_labels(nm->owner))
		return verify_refuse(d->rep, "RRSIG %s %s: label count %u exceeds the "
		                     "owner's", own, ty, r[3]);

	/* Times in RFC 1982 arithmetic around now (RFC 4034 3.1.5). */
	uint32_t exp = rd32(r + 8), inc = rd32(r + 12);
	int64_t left = (int32_t)(exp - d->now), since = (int32_t)(d->now - inc);
	if ((int32_t)(exp - inc) < 0)
		return verify_refuse(d->rep, "RRSIG %s %s expires before its "
		                     "inception", own, ty);
	if (since < 0)
		return verify_refuse(d->rep, "RRSIG %s %s is not yet valid "
		                     "(inception in %lld s)", own, ty,
		                     (long long)-since);
	if (left < 0)
		return verify_refuse(d->rep, "RRSIG %s %s expired %lld s ago",
		                     own, ty, (long long)-left);
	if (left < (int64_t)d->pol->rrsig_margin)
		return verify_refuse(d->rep, "RRSIG %s %s expires in %lld s, margin "
		                     "%u s", own, ty, (long long)left,
		                     d->pol->rrsig_margin);

	uint8_t alg = r[2];
	uint16_t tag = rd16(r + 16);
	int have_key = 0;
	for (size_t k = 0; k < ldns_rr_list_rr_count(d->keys) && !have_key; k++)
		have_key = d->tags[k] == tag &&
		           ldns_rdf2native_int8(ldns_rr_rdf(ldns_rr_list_rr(d->keys, k),
		                                            2)) == alg;
	if (!have_key)
		return verify_refuse(d->rep, "RRSIG %s %s: no zone key with tag %u "
		                     "and algorithm %u in the apex DNSKEY set",
		                     own, ty, tag, alg);

	ldns_rr_list_set_rr_count(d->set, 0);
	for (size_t i = a; i < b; i++)
		if (!ldns_rr_list_push_rr(d->set, z->v[i].rr))
			return ED_ENOMEM;
	/* Our copies: ldns canonicalizes the RRSIG's owner in place. */
	ldns_status st = ldns_verify_rrsig_keylist_notime(d->set, sig->rr,
	                                                  d->keys, NULL);
	if (st == LDNS_STATUS_MEM_ERR)
		return ED_ENOMEM;
	if (st != LDNS_STATUS_OK)
		return verify_refuse(d->rep, "RRSIG %s %s (key tag %u) does not "
		                     "verify: %s", own, ty, tag,
		                     ldns_get_errorstr_by_id(st));
	d->rep->rrsigs_checked++;
	got[alg >> 3] |= (uint8_t)(1u << (alg & 7));
	return 0;
}

/* The RRSIGs of name nm: v[*s0..*s1). */
static void rrsig_range(const struct vzone *z, const struct vname *nm,
                        size_t *s0, size_t *s1)
{
	*s0 = *s1 = nm->end;
	for (size_t i = nm->first; i < nm->end; i++) {
		if (z->v[i].type != LDNS_RR_TYPE_RRSIG)
			continue;
		if (*s0 == nm->end)
			*s0 = i;
		*s1 = i + 1;
	}
}

/* Is the RRset of type t at nm signed (RFC 4035 2.2)? */
static int signable(const struct vname *nm, uint16_t t)
{
	if (nm->flags & VN_BELOW)
		return 0;
	if (nm->flags & VN_CUT)
		return t == LDNS_RR_TYPE_DS || t == LDNS_RR_TYPE_NSEC;
	return 1;
}

static int check_name_sigs(struct dctx *d, const struct vname *nm)
{
	const struct vzone *z = d->z;
	struct names nb;
	size_t s0, s1;
	rrsig_range(z, nm, &s0, &s1);
	for (size_t s = s0; s < s1; s++)
		if (rdlen(&z->v[s]) < RRSIG_FIXED + 1)
			return verify_refuse(d->rep, "RRSIG at %s is malformed",
			                     nstr(&nb, nm->owner));
	for (size_t k = nm->first; k < nm->end;) {
		size_t e = k;
		uint16_t t = z->v[k].type;
		while (e < nm->end && z->v[e].type == t)
			e++;
		if (t != LDNS_RR_TYPE_RRSIG) {
			uint8_t got[32] = { 0 };
			int nsig = 0;
			for (size_t s = s0; s < s1; s++) {
				if (rd16(rdata(&z->v[s])) != t)
					continue;
				if (!signable(nm, t))
					return verify_refuse(d->rep, "RRSIG %s %s over data "
					                     "that is not authoritative",
					                     nstr(&nb, nm->owner),
					                     tstr(&nb, t));
				int rc = check_rrsig(d, nm, &z->v[s], k, e, got);
				if (rc != 0)
					return rc;
				nsig++;
			}
			if (signable(nm, t)) {
				for (unsigned alg = 0; alg < 256; alg++) {
					if (!bit(d->algs, alg) || bit(got, alg))
						continue;
					if (nsig == 0)
						return verify_refuse(d->rep, "%s %s is not signed",
						                     nstr(&nb, nm->owner),
						                     tstr(&nb, t));
					return verify_refuse(d->rep, "%s %s has no RRSIG of "
					                     "algorithm %u", nstr(&nb, nm->owner),
					                     tstr(&nb, t), alg);
				}
			}
		}
		k = e;
	}
	/* RRSIGs whose RRset is not there. */
	for (size_t s = s0; s < s1; s++) {
		uint16_t t = rd16(rdata(&z->v[s]));
		int found = 0;
		for (size_t k = nm->first; k < nm->end && !found; k++)
			found = z->v[k].type == t && t != LDNS_RR_TYPE_RRSIG;
		if (!found)
			return verify_refuse(d->rep, "RRSIG %s %s covers no RRset",
			                     nstr(&nb, nm->owner), tstr(&nb, t));
	}
	return 0;
}

/* ---- type bitmaps ------------------------------------------------------ */

/* The smallest type above after (-1: the first) in an NSEC/NSEC3 type
 * bitmap; -1 when none, -2 when the bitmap is malformed. */
static int bm_next(const uint8_t *d, size_t len, int after)
{
	size_t p = 0;
	int last = -1;
	while (p < len) {
		if (len - p < 2)
			return -2;
		unsigned win = d[p], bl = d[p + 1];
		if ((int)win <= last || bl == 0 || bl > 32 || len - p - 2 < bl)
			return -2;
		last = (int)win;
		for (unsigned i = 0; i < bl; i++)
			for (unsigned b = 0; b < 8; b++) {
				int t = (int)(win * 256 + i * 8 + b);
				if ((d[p + 2 + i] & (0x80u >> b)) && t > after)
					return t;
			}
		p += 2 + bl;
	}
	return -1;
}

/* The smallest type above after at nm (NULL: an empty non-terminal); at a
 * delegation only NS, DS, NSEC and RRSIG count. */
static int name_next_type(const struct vzone *z, const struct vname *nm,
                          int after)
{
	if (nm == NULL)
		return -1;
	for (size_t i = nm->first; i < nm->end; i++) {
		int t = z->v[i].type;
		if (t <= after)
			continue;
		if ((nm->flags & VN_CUT) && t != LDNS_RR_TYPE_NS &&
		    t != LDNS_RR_TYPE_DS && t != LDNS_RR_TYPE_NSEC &&
		    t != LDNS_RR_TYPE_RRSIG)
			continue;
		return t;
	}
	return -1;
}

/* The bitmap bm of record what at owner must list the types at nm. */
static int check_bitmap(struct dctx *d, const char *what, const uint8_t *owner,
                        const struct vname *nm, const uint8_t *bm, size_t len)
{
	struct names nb;
	int e = name_next_type(d->z, nm, -1), b = bm_next(bm, len, -1);
	while (e != -1 || b != -1) {
		if (b == -2)
			return verify_refuse(d->rep, "%s %s: malformed type bitmap",
			                     what, nstr(&nb, owner));
		if (e == b) {
			e = name_next_type(d->z, nm, e);
			b = bm_next(bm, len, b);
		} else if (b == -1 || (e != -1 && e < b)) {
			return verify_refuse(d->rep, "%s %s: type bitmap lacks %s",
			                     what, nstr(&nb, owner),
			                     tstr(&nb, (uint16_t)e));
		} else {
			return verify_refuse(d->rep, "%s %s: type bitmap lists %s, "
			                     "absent at the name", what,
			                     nstr(&nb, owner), tstr(&nb, (uint16_t)b));
		}
	}
	return 0;
}

/* ---- NSEC -------------------------------------------------------------- */

static int check_nsec_chain(struct dctx *d)
{
	const struct vzone *z = d->z;
	struct names nb;
	char nb2[1100], nb3[1100];
	const struct vrr *prev = NULL;     /* NSEC of the previous name */
	const struct vname *prev_nm = NULL;
	const uint8_t *prev_owner = NULL;
	uint8_t next[DNAME_MAXLEN + 1];
	for (size_t ni = 0; ni <= z->nnames; ni++) {
		const struct vname *nm = ni < z->nnames ? &z->names[ni] : NULL;
		const struct vrr *nsec = NULL;
		if (nm != NULL) {
			int count = 0;
			for (size_t i = nm->first; i < nm->end; i++)
				if (z->v[i].type == LDNS_RR_TYPE_NSEC) {
					nsec = &z->v[i];
					count++;
				}
			if (nm->flags & VN_BELOW) {
				if (count > 0)
					return verify_refuse(d->rep, "NSEC at %s, below a "
					                     "delegation", nstr(&nb, nm->owner));
				continue;
			}
			if (nm->flags & VN_NSEC3)
				continue;
			if (count == 0)
				return verify_refuse(d->rep, "%s has no NSEC",
				                     nstr(&nb, nm->owner));
			if (count > 1)
				return verify_refuse(d->rep, "more than one NSEC at %s",
				                     nstr(&nb, nm->owner));
		}
		/* The previous NSEC must point here; the last one to the apex. */
		const uint8_t *want = nm != NULL ? nm->owner : z->apex;
		if (prev != NULL) {
			size_t nl = dname_check(rdata(prev), rdlen(prev));
			if (nl == 0)
				return verify_refuse(d->rep, "NSEC %s is malformed",
				                     nstr(&nb, prev_owner));
			dname_lower(next, rdata(prev), nl);
			if (nl != dname_len(want) || memcmp(next, want, nl) != 0)
				return verify_refuse(d->rep, "NSEC chain broken at %s: next "
				                     "is %s, expected %s",
				                     nstr(&nb, prev_owner),
				                     dname_to_str(next, nb2, sizeof(nb2)),
				                     dname_to_str(want, nb3, sizeof(nb3)));
			int rc = check_bitmap(d, "NSEC", prev_owner, prev_nm,
			                      rdata(prev) + nl, rdlen(prev) - nl);
			if (rc != 0)
				return rc;
		}
		if (nm == NULL)
			break;
		prev = nsec;
		prev_nm = nm;
		prev_owner = nm->owner;
	}
	return 0;
}

/* ---- NSEC3 ------------------------------------------------------------- */

struct n3param {
	uint8_t alg, flags;
	uint16_t iter;
	uint8_t saltlen;
	const uint8_t *salt;
	/* NSEC3 only */
	uint8_t hlen;
	const uint8_t *next;
	const uint8_t *bm;
	size_t bmlen;
};

/* Parse NSEC3PARAM (nsec3 0) or NSEC3 rdata; 0 when malformed. */
static int n3_parse(const struct vrr *r, struct n3param *p, int nsec3)
{
	const uint8_t *d = rdata(r);
	size_t len = rdlen(r);
	memset(p, 0, sizeof(*p));
	if (len < 5 || len - 5 < d[4])
		return 0;
	p->alg = d[0];
	p->flags = d[1];
	p->iter = rd16(d + 2);
	p->saltlen = d[4];
	p->salt = d + 5;
	if (!nsec3)
		return 1;
	size_t o = 5u + p->saltlen;
	if (len - o < 1 || len - o - 1 < d[o])
		return 0;
	p->hlen = d[o];
	p->next = d + o + 1;
	p->bm = d + o + 1 + p->hlen;
	p->bmlen = len - o - 1 - p->hlen;
	return 1;
}

static int same_params(const struct n3param *a, const struct n3param *b)
{
	return a->alg == b->alg && a->iter == b->iter &&
	       a->saltlen == b->saltlen &&
	       memcmp(a->salt, b->salt, a->saltlen) == 0;
}

struct n3 {
	uint8_t hash[SHA1_LEN];
	const struct vrr *r;
	const uint8_t *owner;
	struct n3param p;
	int used;
};

static int n3_cmp(const void *x, const void *y)
{
	return memcmp(((const struct n3 *)x)->hash, ((const struct n3 *)y)->hash,
	              SHA1_LEN);
}

/* First label of name, base32hex (RFC 4648), into out; 0 when it is not a
 * SHA-1 hash. */
static int label_hash(const uint8_t *name, uint8_t *out)
{
	return name[0] == 32 &&
	       ldns_b32_pton_extended_hex((const char *)name + 1, 32, out,
	                                  SHA1_LEN) == SHA1_LEN;
}

static const char *hash_str(const uint8_t *h, char *buf)
{
	int n = ldns_b32_ntop_extended_hex(h, SHA1_LEN, buf, 33);
	buf[n > 0 ? n : 0] = 0;
	return buf;
}

/* NSEC3 hash of a wire name, by ldns. */
static int n3_hash(const uint8_t *name, const struct n3param *p, uint8_t *out)
{
	ldns_rdf *r = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, dname_len(name),
	                                    name);
	if (r == NULL)
		return ED_ENOMEM;
	ldns_rdf *h = ldns_nsec3_hash_name(r, p->alg, p->iter, p->saltlen, p->salt);
	ldns_rdf_deep_free(r);
	if (h == NULL)
		return ED_ENOMEM;
	int ok = label_hash(ldns_rdf_data(h), out);
	ldns_rdf_deep_free(h);
	return ok ? 0 : ED_ENOMEM;
}

/* An empty non-terminal: a suffix of some owner name. */
struct ent {
	const uint8_t *name;
	int secure;     /* above something but insecure delegations */
};

static int ent_cmp(const void *x, const void *y)
{
	return dname_canon_cmp(((const struct ent *)x)->name,
	                       ((const struct ent *)y)->name);
}

/* The empty non-terminals of z, sorted, each once. */
static int collect_ents(const struct vzone *z, struct ent **out, size_t *nout)
{
	struct ent *e = NULL;
	size_t n = 0, cap = 0, apexlen = dname_len(z->apex);
	for (size_t ni = 1; ni < z->nnames; ni++) {
		const struct vname *nm = &z->names[ni];
		if (nm->flags & (VN_BELOW | VN_NSEC3))
			continue;
		int secure = !((nm->flags & VN_CUT) && !(nm->flags & VN_DS));
		for (const uint8_t *p = nm->owner + 1 + nm->owner[0];
		     dname_len(p) > apexlen; p += 1 + p[0]) {
			if (vzone_find_name(z, p) >= 0)
				continue;
			if (n == cap) {
				size_t nc = cap ? cap * 2 : 64;
				struct ent *ne = realloc(e, nc * sizeof(*ne));
				if (ne == NULL) {
					free(e);
					return ED_ENOMEM;
				}
				e = ne;
				cap = nc;
			}
			e[n].name = p;
			e[n].secure = secure;
			n++;
		}
	}
	if (n > 0)
		qsort(e, n, sizeof(*e), ent_cmp);
	size_t j = 0;
	for (size_t i = 0; i < n; i++) {
		if (j > 0 && ent_cmp(&e[j - 1], &e[i]) == 0)
			e[j - 1].secure |= e[i].secure;
		else
			e[j++] = e[i];
	}
	*out = e;
	*nout = j;
	return 0;
}

/* name (nm its RRs, NULL for an empty non-terminal) must have its NSEC3 in
 * chain c[0..n), or be covered by an opt-out one when optout_ok. */
static int n3_match(struct dctx *d, struct n3 *c, size_t n,
                    const struct n3param *par, const uint8_t *name,
                    const struct vname *nm, int optout_ok)
{
	struct names nb;
	char hb[40];
	struct n3 key;
	int rc = n3_hash(name, par, key.hash);
	if (rc != 0)
		return rc;
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (memcmp(c[mid].hash, key.hash, SHA1_LEN) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < n && memcmp(c[lo].hash, key.hash, SHA1_LEN) == 0) {
		c[lo].used = 1;
		return check_bitmap(d, "NSEC3", c[lo].owner, nm, c[lo].p.bm,
		                    c[lo].p.bmlen);
	}
	const struct n3 *cover = &c[lo > 0 ? lo - 1 : n - 1];
	if (optout_ok && (cover->p.flags & 1))
		return 0;
	return verify_refuse(d->rep, "%s%s has no NSEC3 (hash %s)",
	                     nm == NULL ? "empty non-terminal " : "",
	                     nstr(&nb, name), hash_str(key.hash, hb));
}

static int check_nsec3_chain(struct dctx *d, const struct n3param *par)
{
	const struct vzone *z = d->z;
	struct names nb;
	char hb[40], hb2[40];
	size_t n = 0, apexlab = dname_labels(z->apex);
	for (size_t i = 0; i < z->n; i++)
		n += z->v[i].type == LDNS_RR_TYPE_NSEC3;
	struct n3 *c = calloc(n ? n : 1, sizeof(*c));
	struct ent *ents = NULL;
	size_t nents = 0;
	if (c == NULL)
		return ED_ENOMEM;
	int rc = 0;
	n = 0;
	for (size_t ni = 0; ni < z->nnames && rc == 0; ni++) {
		const struct vname *nm = &z->names[ni];
		for (size_t i = nm->first; i < nm->end && rc == 0; i++) {
			if (z->v[i].type != LDNS_RR_TYPE_NSEC3)
				continue;
			struct n3 *e = &c[n];
			if (!n3_parse(&z->v[i], &e->p, 1) || e->p.hlen != SHA1_LEN)
				rc = verify_refuse(d->rep, "NSEC3 %s is malformed",
				                   nstr(&nb, nm->owner));
			else if (!same_params(&e->p, par))
				continue;   /* another chain, not the one in use */
			else if (dname_labels(nm->owner) != apexlab + 1 ||
			         !label_hash(nm->owner, e->hash))
				rc = verify_refuse(d->rep, "NSEC3 at %s: owner is not a "
				                   "hash below the apex",
				                   nstr(&nb, nm->owner));
			else if (n > 0 && c[n - 1].owner == nm->owner)
				rc = verify_refuse(d->rep, "more than one NSEC3 at %s",
				                   nstr(&nb, nm->owner));
			else if (nm->flags & VN_BELOW)
				rc = verify_refuse(d->rep, "NSEC3 at %s, below a "
				                   "delegation", nstr(&nb, nm->owner));
			else {
				e->r = &z->v[i];
				e->owner = nm->owner;
				n++;
			}
		}
	}
	if (rc == 0 && n == 0)
		rc = verify_refuse(d->rep, "no NSEC3 chain for the apex NSEC3PARAM");
	if (rc != 0)
		goto out;
	qsort(c, n, sizeof(*c), n3_cmp);
	for (size_t i = 0; i < n; i++) {
		const struct n3 *nx = &c[(i + 1) % n];
		if (memcmp(c[i].p.next, nx->hash, SHA1_LEN) != 0) {
			rc = verify_refuse(d->rep, "NSEC3 chain broken at %s: next is "
			                   "%s, expected %s", nstr(&nb, c[i].owner),
			                   hash_str(c[i].p.next, hb),
			                   hash_str(nx->hash, hb2));
			goto out;
		}
	}
	for (size_t ni = 0; ni < z->nnames && rc == 0; ni++) {
		const struct vname *nm = &z->names[ni];
		if (nm->flags & (VN_BELOW | VN_NSEC3))
			continue;
		int insecure = (nm->flags & VN_CUT) && !(nm->flags & VN_DS);
		rc = n3_match(d, c, n, par, nm->owner, nm, insecure);
	}
	if (rc == 0)
		rc = collect_ents(z, &ents, &nents);
	for (size_t i = 0; i < nents && rc == 0; i++)
		rc = n3_match(d, c, n, par, ents[i].name, NULL, !ents[i].secure);
	for (size_t i = 0; i < n && rc == 0; i++)
		if (!c[i].used)
			rc = verify_refuse(d->rep, "NSEC3 %s matches no name in the "
			                   "zone", nstr(&nb, c[i].owner));
out:
	free(ents);
	free(c);
	return rc;
}

/* ---- the step ---------------------------------------------------------- */

int verify_dnssec(const struct vzone *z, const struct verify_policy *pol,
                  time_t now, struct verify_report *rep)
{
	const struct vname *ap = &z->names[0];
	struct dctx d;
	memset(&d, 0, sizeof(d));
	d.z = z;
	d.pol = pol;
	d.now = (uint32_t)now;
	d.rep = rep;
	struct n3param par;
	int ndnskey = 0, nparam = 0, usable = 0, rc = 0;
	for (size_t i = ap->first; i < ap->end; i++) {
		if (z->v[i].type == LDNS_RR_TYPE_DNSKEY)
			ndnskey++;
		/* RFC 5155 4: an NSEC3PARAM with flags other than 0 is ignored;
		 * we can follow a chain of SHA-1 only. */
		if (z->v[i].type != LDNS_RR_TYPE_NSEC3PARAM || usable)
			continue;
		nparam++;
		usable = n3_parse(&z->v[i], &par, 0) && par.flags == 0 &&
		         par.alg == NSEC3_HASH_SHA1;
	}
	if (ndnskey == 0)
		return 0;
	rep->dnssec = true;
	d.keys = ldns_rr_list_new();
	d.set = ldns_rr_list_new();
	d.tags = calloc((size_t)ndnskey, sizeof(*d.tags));
	if (d.keys == NULL || d.set == NULL || d.tags == NULL) {
		rc = ED_ENOMEM;
		goto out;
	}
	for (size_t i = ap->first; i < ap->end; i++) {
		const struct vrr *r = &z->v[i];
		if (r->type != LDNS_RR_TYPE_DNSKEY || rdlen(r) < 4 ||
		    !(rd16(rdata(r)) & DNSKEY_FLAG_ZONE) || rdata(r)[2] != 3)
			continue;
		if (!ldns_rr_list_push_rr(d.keys, r->rr)) {
			rc = ED_ENOMEM;
			goto out;
		}
		d.tags[ldns_rr_list_rr_count(d.keys) - 1] = ldns_calc_keytag(r->rr);
		uint8_t alg = rdata(r)[3];
		d.algs[alg >> 3] |= (uint8_t)(1u << (alg & 7));
	}
	if (ldns_rr_list_rr_count(d.keys) == 0) {
		rc = verify_refuse(rep, "the apex DNSKEY set has no zone key");
		goto out;
	}
	for (size_t ni = 0; ni < z->nnames && rc == 0; ni++)
		rc = check_name_sigs(&d, &z->names[ni]);
	if (rc != 0)
		goto out;
	if (usable)
		rc = check_nsec3_chain(&d, &par);
	else if (nparam > 0)
		rc = verify_refuse(rep, "no apex NSEC3PARAM with flags 0 and hash "
		                   "algorithm 1 (SHA-1)");
	else
		rc = check_nsec_chain(&d);
out:
	free(d.tags);
	ldns_rr_list_free(d.keys);
	ldns_rr_list_free(d.set);
	return rc;
}
