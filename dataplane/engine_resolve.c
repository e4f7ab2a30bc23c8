/* engine_resolve.c: RFC 1034 4.3.2 resolution in one zone snapshot: zone
 * cuts, CNAME/DNAME chains, wildcards, referrals, negative answers and their
 * DNSSEC proofs (RFC 4035 3.1, RFC 5155 7.2, RFC 6672, RFC 4592). */
#include "engine_int.h"

#include <nettle/sha1.h>

/* ---- lookups ----------------------------------------------------------- */

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
	eng_put_set(c, s, rs, &o, TTL_KEEP, NULL);
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
	eng_put_set(c, s, rs, &o, TTL_KEEP, NULL);
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
	return eng_suffix_pos(c->r, n->pos, n->off[i]);
}

/* The apex SOA for a negative answer about n (apex at label zl of n), with
 * the negative TTL (RFC 2308 3). */
static void put_soa_neg(struct ctx *c, const struct snap *s, const struct name *n,
                        unsigned zl)
{
	enum sect prev = c->sect;
	c->sect = S_NS;
	struct owner o = { name_suffix(c, n, zl), s->hdr->apex, 0, false };
	eng_put_set(c, s, snap_rrset_at(s, s->hdr->soa), &o, s->hdr->neg_ttl, NULL);
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
	if (ns == NULL || !eng_put_set(c, s, ns, &o, TTL_KEEP, NULL))
		return;
	if (!c->dnssec)
		return;
	const struct snap_rrset *ds = snap_node_find(s, cut, T_DS);
	if (ds != NULL) {
		eng_put_set(c, s, ds, &o, TTL_KEEP, NULL);
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
					if (!eng_put_rrset(c, snap_rrset_at(s, x->sigs), &o, TTL_KEEP, NULL)) {
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
			if (!eng_put_rrset(c, snap_rrset_at(s, rs->sigs), &o, TTL_KEEP, NULL)) {
				c->tc = true;
				return STEP_DONE;
			}
			if (wild)
				wild_proof(c, s, n, cel);
			return STEP_DONE;
		}
		if (eng_put_set(c, s, rs, &o, TTL_KEEP, NULL) && wild)
			wild_proof(c, s, n, cel);
		return STEP_DONE;
	}

	rs = snap_node_find(s, nd, c->qtype);
	if (rs != NULL) {
		if (eng_put_set(c, s, rs, &o, TTL_KEEP, NULL) && wild)
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
		if (!eng_put_set(c, s, rs, &o, TTL_KEEP, &rd))
			return STEP_DONE;
		if (wild)
			wild_proof(c, s, n, cel);
		size_t tl = eng_read_name(c->r, rd, c->pos, next->lc);
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
		if (!eng_put_set(c, s, rs, &o, TTL_KEEP, &rd))
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
		struct name t;
		size_t tl = eng_read_name(c->r, c->addl[i], c->pos, t.lc);
		if (tl <= 1)
			continue;
		name_setup(&t, tl, 0);
		if (!name_in_zone(&t, s, c->apex_labels))
			continue;
		const struct snap_node *nd = lookup(s, t.lc, t.len, t.hs[0]);
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
			if (!eng_put_rrset(c, rs, &o, TTL_KEEP, NULL)) {
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
		if (!eng_put_rrset(c, snap_rrset_at(s, put[j].rs->sigs), &o, TTL_KEEP, NULL))
			return;
	}
}

void eng_answer_in(struct ctx *c, const struct snap *s, unsigned zl)
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
void eng_answer_chaos(struct ctx *c)
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
