/* zonecheck_rules.c: the zone checker's per-name checks (passes A and B
 * of zc_run()): duplicates, TTLs, SOA/CNAME/DNAME, occlusion, glue. */
#include "zonecheck_int.h"

#include <string.h>

#include "dname.h"
#include "dnsconst.h"
#include "rdata_canon.h"

static int rdata_equal(const struct zc *zc, const struct rr *x,
                       const struct rr *y)
{
	return rdata_canon_equal(rr_crdata(zc, x), x->rdlen, rr_crdata(zc, y),
	                         y->rdlen);
}

uint32_t zc_find_cut(const struct zc *zc, const uint8_t *lname,
                     unsigned apex_labels)
{
	uint8_t off[DNAME_MAXLABELS];
	uint64_t hs[DNAME_MAXLABELS + 1];
	unsigned n = dname_label_offsets(lname, off);
	dname_hash_suffixes(lname, off, n, hs);
	size_t len = dname_len(lname);
	for (unsigned i = 1; i + apex_labels <= n; i++) {
		long k = zc_name_find(zc, lname + off[i], len - off[i], hs[i]);
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
	long k = zc_name_find(zc, lname, len, hs[0]);
	if (k >= 0)
		return (zc->names[k].flags & N_ADDR) != 0;
	if (!wild)
		return 0;
	for (unsigned i = 1; i + apex_labels <= n; i++) {
		long e = zc_name_find(zc, lname + off[i], len - off[i], hs[i]);
		if (e < 0)
			continue;   /* not in the zone: go on up to the closest encloser */
		uint8_t w[DNAME_MAXLEN];
		size_t el = len - off[i];
		if (el + 2 > DNAME_MAXLEN)
			return 0;
		w[0] = 1;
		w[1] = '*';
		memcpy(w + 2, lname + off[i], el);
		long wi = zc_name_find(zc, w, el + 2, dname_hash(w));
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
			zc_note(zc, ZC_WARNING, r->file, r->line,
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
	zc_note(zc, ZC_WARNING, bad->file, bad->line,
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
void zc_check_name_a(struct zc *zc, const uint32_t *idx, size_t a,
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
		zc_note(zc, ZC_ERROR, r->file, r->line,
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
				zc_note(zc, ZC_ERROR, f->file, f->line,
				        "SOA not at the zone apex: %s",
				        NAMESTR(zc, ni, nb));
			else if (second != NULL)
				zc_note(zc, ZC_ERROR, second->file, second->line,
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
				zc_note(zc, ZC_ERROR, second->file, second->line,
				        "more than one CNAME at %s", NAMESTR(zc, ni, nb));
			break;
		case T_DNAME:
			n->flags |= N_DNAME;
			if (second != NULL)
				zc_note(zc, ZC_ERROR, second->file, second->line,
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
		zc_note(zc, ZC_ERROR, at->file, at->line,
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
		else if (zc_find_cut(zc, t, apex_labels) != 0)
			continue;   /* below another cut: that one's business */
		else
			ok = has_address(zc, t, 1, apex_labels);
		if (!ok)
			zc_note(zc, ZC_ERROR, r->file, r->line,
			        "missing glue: NS target %s of delegation %s has no A/AAAA",
			        dname_to_str(t, tn, sizeof(tn)),
			        dname_to_str(deleg, nb, sizeof(nb)));
	}
}

/* Pass B over one name [a, b): occluded data, glue. Needs the flags and
 * cuts of every name. */
void zc_check_name_b(struct zc *zc, const uint32_t *idx, size_t a,
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
			zc_note(zc, ZC_ERROR, f->file, f->line,
			        "%s at %s is below the DNAME at %s",
			        zc_type_str(t, tb, sizeof(tb)), NAMESTR(zc, ni, nb),
			        NAMESTR(zc, n->cut - 1, cb));
		} else if (cut != NULL) {
			if (!addr || !(n->flags & N_NSTARGET))
				zc_note(zc, ZC_WARNING, f->file, f->line,
				        "%s%s at %s below delegation %s is occluded",
				        addr ? "non-glue " : "",
				        zc_type_str(t, tb, sizeof(tb)),
				        NAMESTR(zc, ni, nb), NAMESTR(zc, n->cut - 1, cb));
		} else if (n->flags & N_DELEG) {
			if (t == T_NS)
				check_glue(zc, idx, s, e, ni, apex_labels);
			else if (t != T_DS && t != T_NSEC &&
			         !(addr && (n->flags & N_NSTARGET)))
				zc_note(zc, ZC_WARNING, f->file, f->line,
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
				zc_note(zc, ZC_WARNING, r->file, r->line,
				        "NS target %s of the apex has no A/AAAA in the zone",
				        dname_to_str(tg, tn, sizeof(tn)));
			}
		}
		s = e;
	}
}
