/* engine.c: the engine's entry points: query parsing, the fast path, the
 * burst, and the response header and OPT (RFC 6891). Resolution is in
 * engine_resolve.c, response writing in engine_wire.c.
 *
 * Every byte written is bounds-checked against the response limit; nothing
 * here allocates, locks, logs or calls the kernel. Snapshot data is trusted
 * (validated once at load), query bytes are not.
 */
#include "engine_int.h"

#include <netinet/in.h>

/* ---- cookies and our OPT ------------------------------------------------- */

/* The client's address for cookies; an IPv4-mapped IPv6 address is the
 * IPv4 address (the same cookie whichever socket a PoP took it on). */
static void peer_of(const struct sockaddr *sa, uint32_t now, struct eng_peer *pe)
{
	pe->ip = NULL;
	pe->iplen = 0;
	pe->now = now;
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		pe->ip = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
		pe->iplen = 4;
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		bool mapped = IN6_IS_ADDR_V4MAPPED(a);
		pe->ip = a->s6_addr + (mapped ? 12 : 0);
		pe->iplen = mapped ? 4 : 16;
	}
}

/* One COOKIE option (olen octets at opt) into ck: the verdict, and the
 * cookie to answer with. false: a second COOKIE or a length RFC 7873
 * 5.2.2 answers with FORMERR. With cookies off or no client address the
 * option is not looked at, as by a server that does not know it. */
static bool take_cookie(const struct eng_conf *conf, const struct eng_peer *pe,
                        const uint8_t *opt, size_t olen, struct eng_ck *ck)
{
	const struct eng_cookie_conf *cc = conf->cookie;
	if (cc == NULL || pe->iplen == 0) {
		ck->verdict = ENG_COOKIE_CLIENT;
		return true;
	}
	if (ck->verdict != ENG_COOKIE_NONE)
		return false;
	if (olen != COOKIE_CLIENT_LEN && (olen < COOKIE_CLIENT_LEN + COOKIE_SERVER_MIN ||
	                                  olen > COOKIE_CLIENT_LEN + COOKIE_SERVER_MAX))
		return false;
	if (olen == COOKIE_CLIENT_LEN)
		ck->verdict = ENG_COOKIE_CLIENT;
	else if (eng_cookie_check(cc, opt, opt + COOKIE_CLIENT_LEN, olen - COOKIE_CLIENT_LEN,
	                          pe->ip, pe->iplen, pe->now))
		ck->verdict = ENG_COOKIE_VALID;
	else
		ck->verdict = ENG_COOKIE_BAD;
	memcpy(ck->out, opt, COOKIE_CLIENT_LEN);
	eng_cookie_make(cc->secret, opt, pe->ip, pe->iplen, pe->now, ck->out + COOKIE_CLIENT_LEN);
	ck->answer = true;
	return true;
}

/* The size of our OPT record: NSID when asked (nsid) and configured, COOKIE
 * when ck has one to answer with, the EDE when ede is not NULL. The one
 * place it is computed: both paths keep this much room below their limit. */
static inline size_t opt_size(const struct eng_conf *conf, bool nsid, const struct eng_ck *ck,
                              const struct eng_ede *ede)
{
	return 11 + (nsid && conf->nsid_len > 0 ? 4u + conf->nsid_len : 0) +
	       (ck->answer ? 4u + sizeof(ck->out) : 0) + (ede != NULL ? 6u + ede->len : 0);
}

/* Our OPT record at p (opt_size() octets, room checked by the caller):
 * payload size, extended rcode, DO, then the options. Returns its size. */
static size_t put_opt(const struct eng_conf *conf, uint8_t *p, uint8_t rcode, bool dobit,
                      bool nsid, const struct eng_ck *ck, const struct eng_ede *ede)
{
	size_t len = opt_size(conf, nsid, ck, ede);
	p[0] = 0;
	wr16(p + 1, T_OPT);
	wr16(p + 3, conf->udp_max ? conf->udp_max : ENG_UDP_MAX_DEFAULT);
	p[5] = (uint8_t)(rcode >> 4);
	p[6] = 0;
	p[7] = dobit ? 0x80 : 0;
	p[8] = 0;
	wr16(p + 9, (uint16_t)(len - 11));
	size_t o = 11;
	if (nsid && conf->nsid_len > 0) {
		wr16(p + o, EDNS_NSID);
		wr16(p + o + 2, conf->nsid_len);
		memcpy(p + o + 4, conf->nsid, conf->nsid_len);
		o += 4u + conf->nsid_len;
	}
	if (ck->answer) {
		wr16(p + o, EDNS_COOKIE);
		wr16(p + o + 2, (uint16_t)sizeof(ck->out));
		memcpy(p + o + 4, ck->out, sizeof(ck->out));
		o += 4u + sizeof(ck->out);
	}
	if (ede != NULL) {
		wr16(p + o, EDNS_EDE);
		wr16(p + o + 2, (uint16_t)(2u + ede->len));
		wr16(p + o + 4, ede->code);
		memcpy(p + o + 6, ede->text, ede->len);
	}
	return len;
}

/* The Extended DNS Error of an expired zone. RFC 8914 offers three near
 * fits; we take 14 "Not Ready": "the server is unable to answer the query,
 * as it was not fully functional when the query was received", which is
 * what a secondary without valid data is, and which a refresh ends.
 * 3 "Stale Answer" is for answering from old data, and we give none;
 * 22 "No Reachable Authority" is a resolver's ("could not reach any of the
 * authoritative name servers") and would tell the client we recursed.
 * The text says why. */
#define EDE_NOT_READY 14
static const struct eng_ede ede_expired = { EDE_NOT_READY, 12, "zone expired" };

/* The zone chosen for the query is expired (its SOA EXPIRE passed without
 * a refresh): SERVFAIL, not authoritative, no records (RFC 1034 4.3.5 for
 * a secondary without valid data), with the EDE when the query has EDNS
 * and it fits. */
static void answer_expired(struct ctx *c)
{
	c->rcode = RC_SERVFAIL;
	c->aa = false;
	if (c->edns && room(c, 6u + ede_expired.len))
		c->ede = &ede_expired;
}

/* ---- query parsing ------------------------------------------------------ */

/* Parse everything after the question: RRs in answer/authority (no OPT
 * allowed there), and at most one OPT in additional. Returns the rcode to
 * answer with (RC_NOERROR to go on). */
static int parse_rest(struct ctx *c, const uint8_t *q, size_t len, size_t p)
{
	unsigned an = rd16(q + 6), ns = rd16(q + 8), ar = rd16(q + 10);
	unsigned total = an + ns + ar;
	for (unsigned i = 0; i < total; i++) {
		size_t owner = p;
		p = dname_skip_wire(q, len, p, 1);
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
				else if (code == EDNS_COOKIE &&
				         !take_cookie(c->conf, &c->peer, q + o + 4, olen, &c->ck))
					return RC_FORMERR;
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
	if (c->edns && c->pos + opt_size(c->conf, c->nsid, &c->ck, c->ede) <= c->cap) {
		/* room was kept: limit excludes the OPT */
		c->pos += put_opt(c->conf, r + c->pos, c->rcode, c->do_bit, c->nsid, &c->ck,
		                  c->ede);
		ar++;
	}
	wr16(r + 10, ar);
	return c->pos;
}

/* The fast path: the common case without the general machinery, a plain
 * QUERY (no EDNS option but one COOKIE, cookies on) for IN data that exists at exactly the
 * question name in a zone not expired, whose answer needs no additional
 * section and fits.
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
	uint32_t zflags;        /* the zone's ZS_F_* */
	size_t limit;           /* where the answer must end (the OPT after it) */
	size_t optlen;          /* our OPT's size, 0 without EDNS */
	struct eng_ck ck;       /* the COOKIE (cookies on, a valid or client
	                           cookie, or any over TCP) */
	bool edns;
	bool dobit;             /* DO set: signatures with the answer (RFC 4035 3.1.1) */
	bool ok;                /* still a fast-path candidate */
	const struct snap_node *node;   /* prefetch hint from fast_probe */
	uint64_t cname_h;       /* hash of a CNAME target, 0: none (prefetch) */
};

static inline __attribute__((always_inline)) bool fast_parse(const struct eng_conf *conf, const struct zoneset *zs,
                       const uint8_t *q, size_t qlen, uint8_t *resp, size_t cap,
                       bool tcp, const struct eng_peer *pe, struct name *qn,
                       struct fast_state *fs)
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
	const uint8_t *cookie = NULL;
	size_t cookie_len = 0;
	if (edns) {
		/* exactly one OPT: root owner, version 0, no options but one
		 * well-formed COOKIE when cookies are on */
		const uint8_t *o = q + end;
		if (end + 11 > qlen || o[0] != 0 || rd16(o + 1) != T_OPT || o[6] != 0 ||
		    end + 11 + rd16(o + 9) != qlen)
			return false;
		size_t rdlen = rd16(o + 9);
		if (rdlen != 0) {
			cookie = o + 15;
			cookie_len = rdlen - 4;
			if (conf->cookie == NULL || pe->iplen == 0 || rdlen < 4 + COOKIE_CLIENT_LEN ||
			    rd16(o + 11) != EDNS_COOKIE || rd16(o + 13) != cookie_len ||
			    (cookie_len != COOKIE_CLIENT_LEN &&
			     (cookie_len < COOKIE_CLIENT_LEN + COOKIE_SERVER_MIN ||
			      cookie_len > COOKIE_CLIENT_LEN + COOKIE_SERVER_MAX)))
				return false;
		}
		fs->dobit = (o[7] & 0x80) != 0;
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
	uint32_t zflags;
	const struct snap *s = zs_find(zs, lc, off, n, hs, &zl, &zflags);
	if (s == NULL)
		return false;
	fs->zone = s;
	fs->zl = zl;
	fs->zflags = zflags;
	if (zflags & ZS_F_EXPIRED)
		return false;   /* SERVFAIL, from the general path */
	__builtin_prefetch(&s->table[hs[0] & s->mask]);
	/* the cookie last, once the query is known to be a candidate; a bad
	 * server cookie over UDP is answered BADCOOKIE by the general path */
	if (cookie != NULL) {
		take_cookie(conf, pe, cookie, cookie_len, &fs->ck);
		if (fs->ck.verdict == ENG_COOKIE_BAD && !tcp)
			return false;
	}
	fs->optlen = edns ? opt_size(conf, false, &fs->ck, NULL) : 0;
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

/* For a name that holds a CNAME: hash its target (the stored rdata: its
 * leading labels, then the root or a suffix of the question name) and
 * prefetch the target's index slot, so its lookup does not wait on memory
 * either. Hints only. */
static inline void fast_cname_slot(const struct name *qn, struct fast_state *fs)
{
	const struct snap_node *nd = fs->node;
	if (nd == NULL || !(nd->flags & SNAP_N_CNAME) || nd->nrrsets == 0)
		return;
	const struct snap *s = fs->zone;
	const struct snap_rrset *rs = snap_rrset_at(s, nd->rrsets);
	if (rs->type != T_CNAME)
		return;
	const uint8_t *src = snap_rrset_wire(rs) + 12;
	uint8_t lc[DNAME_MAXLEN + 1 + 8];
	size_t o = 0;
	while (src[o] != 0 && src[o] < 0xc0)
		o += 1u + src[o];
	if (src[o] >= 0xc0) {
		unsigned k = (unsigned)(((src[o] & 0x3f) << 8) | src[o + 1]) - 12u;
		if (k >= qn->len || o + qn->len - k > DNAME_MAXLEN)
			return;
		memcpy(lc + o, qn->lc + k, qn->len - k);
	} else {
		lc[o] = 0;
	}
	dname_lower(lc, src, o);
	fs->cname_h = dname_hash(lc);
	__builtin_prefetch(&s->table[fs->cname_h & s->mask]);
}

static inline void fast_cname_node(const struct fast_state *fs)
{
	const struct snap *s = fs->zone;
	uint64_t slot = s->table[fs->cname_h & s->mask];
	if (slot != 0 && (uint32_t)(slot >> 32) == (uint32_t)(fs->cname_h >> 32)) {
		const struct snap_node *n = &s->nodes[(uint32_t)slot - 1];
		__builtin_prefetch(n);
		__builtin_prefetch(s->blob + n->name);
	}
}

static size_t fast_opt_header(const struct eng_conf *conf, const uint8_t *q, uint8_t *resp,
                              size_t pos, unsigned count, const struct fast_state *fs);

/* One in-zone CNAME to a name that has the type asked for (no DNSSEC, no
 * further CNAME, no wildcard, no cut): the CNAME as stored, then the
 * target's rrset with its owners pointing at the CNAME's rdata. Anything
 * else goes to the general path (0). */
static size_t fast_cname(const struct eng_conf *conf, const uint8_t *q, uint8_t *resp,
                         const struct name *qn, const struct fast_state *fs,
                         const struct snap_node *nd)
{
	const struct snap *s = fs->zone;
	const struct snap_rrset *cn = snap_node_find(s, nd, T_CNAME);
	size_t end = fs->qend, optlen = fs->optlen;
	if (cn == NULL || cn->count != 1 || end + cn->wlen + optlen > fs->limit)
		return 0;
	memcpy(resp + end, snap_rrset_wire(cn), cn->wlen);
	size_t rd = end + 12, pos = end + cn->wlen;
	struct name t;
	size_t tl = eng_read_name(resp, rd, pos, t.lc);
	if (tl == 0 || rd > PTR_MAX)
		return 0;
	name_setup(&t, tl, (uint16_t)rd);
	if (!name_in_zone(&t, s, (unsigned)qn->nlab - fs->zl))
		return 0;
	const struct snap_node *tn = lookup(s, t.lc, t.len, t.hs[0]);
	if (tn == NULL || tn->cut != 0 || (tn->flags & (SNAP_N_DELEG | SNAP_N_CNAME)))
		return 0;
	const struct snap_rrset *rs = snap_node_find(s, tn, fs->qtype);
	if (rs == NULL || (rs->flags & SNAP_RRSET_RELOC) ||
	    pos + rs->wlen + optlen > fs->limit)
		return 0;
	memcpy(resp + pos, snap_rrset_wire(rs), rs->wlen);
	eng_place_rrset(resp + pos, rs, (uint16_t)rd, TTL_KEEP);   /* not RELOC */
	return fast_opt_header(conf, q, resp, pos + rs->wlen, 1u + rs->count, fs);
}

/* A name that does not exist, with no DNSSEC, no wildcard, cut or DNAME
 * above it: NXDOMAIN with the apex SOA at its negative TTL (RFC 2308 3).
 * The SOA's owner is the apex, a suffix of the question, so its stored
 * bytes only need their pointers moved there. Otherwise 0. */
static size_t fast_nxdomain(const struct eng_conf *conf, const uint8_t *q, uint8_t *resp,
                            const struct name *qn, const struct fast_state *fs)
{
	const struct snap *s = fs->zone;
	if (fs->dobit && (s->hdr->flags & SNAP_F_SIGNED))
		return 0;
	unsigned zl = fs->zl, i = 1;
	const struct snap_node *ce = NULL;
	for (; i <= zl && ce == NULL; i++)
		ce = lookup(s, qn->lc + qn->off[i], (size_t)(qn->len - qn->off[i]), qn->hs[i]);
	if (ce == NULL || ce->cut != 0 || ce->wild != 0 ||
	    (ce->flags & (SNAP_N_DELEG | SNAP_N_DNAME)))
		return 0;
	const struct snap_rrset *soa = snap_rrset_at(s, s->hdr->soa);
	size_t end = fs->qend, optlen = fs->optlen;
	if (end + soa->wlen + optlen > fs->limit)
		return 0;
	uint8_t *r = resp + end;
	memcpy(r, snap_rrset_wire(soa), soa->wlen);
	eng_place_rrset(r, soa, (uint16_t)(12u + qn->off[zl]), s->hdr->neg_ttl);
	size_t pos = fast_opt_header(conf, q, resp, end + soa->wlen, 0, fs);
	resp[3] = (uint8_t)((resp[3] & 0xf0) | RC_NXDOMAIN);
	resp[9] = (uint8_t)soa->count;
	return pos;
}

static inline __attribute__((always_inline)) size_t fast_finish(const struct eng_conf *conf, const uint8_t *q, uint8_t *resp,
                          const struct name *qn, const struct fast_state *fs)
{
	const struct snap *s = fs->zone;
	size_t end = fs->qend, limit = fs->limit;
	uint16_t qtype = fs->qtype;
	const struct snap_node *nd = lookup(s, qn->lc, qn->len, qn->hs[0]);
	if (nd == NULL)
		return fast_nxdomain(conf, q, resp, qn, fs);
	if (nd->cut != 0 || (nd->flags & SNAP_N_DELEG))
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
	if (rs == NULL) {
		if ((nd->flags & SNAP_N_CNAME) && !(fs->dobit && (s->hdr->flags & SNAP_F_SIGNED)))
			return fast_cname(conf, q, resp, qn, fs, nd);
		return 0;
	}
	/* with DO in a signed zone the signatures follow, as stored */
	const struct snap_rrset *sig = NULL;
	if (fs->dobit && (s->hdr->flags & SNAP_F_SIGNED) && rs->sigs != 0)
		sig = snap_rrset_at(s, rs->sigs);
	size_t optlen = fs->optlen;
	size_t wlen = rs->wlen + (sig != NULL ? sig->wlen : 0);
	if (end + wlen + optlen > limit)
		return 0;
	memcpy(resp + end, snap_rrset_wire(rs), rs->wlen);
	size_t pos = end + rs->wlen;
	unsigned count = rs->count;
	if (sig != NULL) {
		memcpy(resp + pos, snap_rrset_wire(sig), sig->wlen);
		pos += sig->wlen;
		count += sig->count;
	}
	return fast_opt_header(conf, q, resp, pos, count, fs);
}

/* The header of a fast-path answer (AA, count answers) and the OPT. */
static size_t fast_opt_header(const struct eng_conf *conf, const uint8_t *q, uint8_t *resp,
                              size_t pos, unsigned count, const struct fast_state *fs)
{
	resp[2] = (uint8_t)(0x80 | 0x04 | (q[2] & 0x01));
	resp[3] = (uint8_t)(q[3] & 0x10);
	resp[6] = (uint8_t)(count >> 8);
	resp[7] = (uint8_t)count;
	if (fs->edns)
		pos += put_opt(conf, resp + pos, RC_NOERROR, fs->dobit, false, &fs->ck, NULL);
	return pos;
}

static size_t fast_answer(const struct eng_conf *conf, const struct zoneset *zs,
                          const uint8_t *q, size_t qlen, uint8_t *resp, size_t cap,
                          bool tcp, const struct eng_peer *pe, struct name *qn,
                          struct fast_state *fs)
{
	if (!fast_parse(conf, zs, q, qlen, resp, cap, tcp, pe, qn, fs))
		return 0;
	return fast_finish(conf, q, resp, qn, fs);
}

/* A QUERY without a question (QDCOUNT 0). RFC 7873 5.4: with cookies on
 * and a COOKIE option, it asks for a server cookie: the answer has no
 * records but our OPT with the client cookie and a fresh server cookie,
 * RCODE NOERROR, or BADCOOKIE over UDP for a server cookie that did not
 * verify (over TCP, as for every query, the connection proves the address,
 * 5.2.3). Anything else, or an OPT that does not parse, is FORMERR, as
 * from a server that does not know cookies (5.4), without an OPT. */
static void no_question(struct ctx *c, const uint8_t *q, size_t qlen)
{
	int rc = parse_rest(c, q, qlen, 12);
	if (rc == RC_NOERROR && c->ck.answer) {
		c->rcode = c->ck.verdict == ENG_COOKIE_BAD && !c->tcp ? RC_BADCOOKIE : RC_NOERROR;
		return;
	}
	if (rc == RC_BADVERS) {
		c->rcode = RC_BADVERS;
		return;
	}
	c->rcode = RC_FORMERR;
	c->edns = false;
	c->ck.verdict = ENG_COOKIE_NONE;
	c->ck.answer = false;
}

/* Whether a UDP message could be a DNS client's query: a whole header,
 * and no more questions and records than its octets could hold (a question
 * takes at least 5, a record 11). Text from a service that answers
 * anything (chargen, daytime, qotd: the loop DoS class, CVE-2024-2169)
 * reads as counts of 0x2020 and more, which no datagram holds; so do the
 * random bytes of other protocols. Such a message gets no answer over UDP,
 * not even FORMERR or NOTIMP: an error answer to it would be answered in
 * turn. Over TCP the peer proved its address and cannot loop us: it gets
 * the error answer. (knotd and NSD drop a short header as well.) */
static inline bool udp_plausible(const uint8_t *q, size_t qlen)
{
	if (qlen < 12)
		return false;
	size_t need = 5u * rd16(q + 4) + 11u * ((size_t)rd16(q + 6) + rd16(q + 8) + rd16(q + 10));
	return need <= qlen - 12;
}

/* Everything the fast path does not answer. qn is the question name's
 * storage, already filled when fs->qend != 0. *verdict: enum eng_cookie. */
static size_t general(const struct eng_conf *conf, const struct zoneset *zs,
                      const uint8_t *q, size_t qlen, uint8_t *resp, size_t cap,
                      bool tcp, const struct eng_peer *pe, struct name *qn,
                      const struct fast_state *pre, uint8_t *verdict)
{
	struct ctx c;
	struct fast_state fs = *pre;
	c.q = qn;
	*verdict = ENG_COOKIE_NONE;
	if (qlen < 4 || cap < 12 || (q[2] & 0x80))
		return 0;           /* no ID and flags to answer with, or a response */
	if (!tcp && !udp_plausible(q, qlen))
		return 0;
	if (qlen < 12) {
		/* a header cut short, over TCP: FORMERR with the ID and flags
		 * it has (knotd drops it; an answer tells the client what is
		 * wrong) */
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
	c.tcp = tcp;
	c.cap = cap;
	c.peer = *pe;
	c.ck.verdict = ENG_COOKIE_NONE;
	c.ck.answer = false;
	c.ede = NULL;
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
	if (qend == 0 && rd16(q + 4) == 0) {
		no_question(&c, q, qlen);
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
			c.ck.verdict = ENG_COOKIE_NONE;
		}
		goto out;
	}
	/* keep room for our OPT */
	if (c.limit > cap)
		c.limit = cap;
	if (c.edns) {
		size_t opt = opt_size(conf, c.nsid, &c.ck, NULL);
		c.limit = c.limit > opt ? c.limit - opt : 0;
	}
	if (c.pos > c.limit) {
		c.pos = 12;
		wr16(resp + 4, 0);
		c.tc = true;
		goto out;
	}
	/* a server cookie that is not ours: over UDP, no data, only a fresh
	 * cookie to retry with (RFC 7873 5.2.3, 5.4); TCP proves the address */
	if (c.ck.verdict == ENG_COOKIE_BAD && !c.tcp) {
		c.rcode = RC_BADCOOKIE;
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
		eng_answer_chaos(&c);
		goto out;
	}
	if (c.qclass != C_IN && c.qclass != C_ANY) {
		c.rcode = RC_REFUSED;
		goto out;
	}

	/* The zone: longest apex that is a suffix of the name; DS is answered
	 * from the parent side of a cut (RFC 4035 3.1.4.1), so its zone is
	 * searched from the parent name first. An expired zone answers
	 * SERVFAIL for every name it encloses (the DS of its children too):
	 * it is still the zone we are configured for, without valid data. */
	unsigned zl = 0;
	uint32_t zflags = 0;
	const struct snap *s = NULL;
	if (fs.zone != NULL && c.qtype != T_DS) {
		s = fs.zone;
		zl = fs.zl;
		zflags = fs.zflags;
	} else if (c.qtype == T_DS && c.q->nlab > 0) {
		s = zs_find(zs, c.q->lc, c.q->off + 1, c.q->nlab - 1u, c.q->hs + 1, &zl, &zflags);
		zl++;
	}
	if (s == NULL)
		s = zs_find(zs, c.q->lc, c.q->off, c.q->nlab, c.q->hs, &zl, &zflags);
	if (s == NULL) {
		c.rcode = RC_REFUSED;
		goto out;
	}
	if (zflags & ZS_F_EXPIRED) {
		answer_expired(&c);
		goto out;
	}
	eng_answer_in(&c, s, zl);
out:
	*verdict = c.ck.verdict;
	return finish(&c, q);
}

size_t eng_answer(const struct eng_conf *conf, const struct zoneset *zs,
                  const uint8_t *q, size_t qlen, uint8_t *resp, size_t cap,
                  const struct eng_xport *x)
{
	struct name qn;
	struct fast_state fs = { 0 };
	struct eng_peer pe;
	bool tcp = x != NULL && x->transport == ENG_TCP;
	peer_of(x != NULL ? x->client : NULL, x != NULL ? x->now : 0, &pe);
	if (!conf->no_fast_path) {
		size_t n = fast_answer(conf, zs, q, qlen, resp, cap, tcp, &pe, &qn, &fs);
		if (n != 0)
			return n;
	}
	uint8_t verdict;
	return general(conf, zs, q, qlen, resp, cap, tcp, &pe, &qn, &fs, &verdict);
}

void eng_answer_burst(const struct eng_conf *conf, const struct zoneset *zs,
                      struct eng_msg *m, unsigned n, enum eng_transport transport)
{
	struct name qn[ENG_BURST_MAX];
	struct fast_state fs[ENG_BURST_MAX];
	struct eng_peer pe[ENG_BURST_MAX];
	bool tcp = transport == ENG_TCP;
	if (n > ENG_BURST_MAX)
		n = ENG_BURST_MAX;
	/* stage 1: parse, hash, find the zone, prefetch the index slot */
	for (unsigned i = 0; i < n; i++) {
		memset(&fs[i], 0, sizeof(fs[i]));
		peer_of(m[i].client, m[i].now, &pe[i]);
		fs[i].ok = !conf->no_fast_path &&
		           fast_parse(conf, zs, m[i].q, m[i].qlen, m[i].resp, m[i].cap, tcp,
		                      &pe[i], &qn[i], &fs[i]);
	}
	/* stage 2: the slot, prefetch the node; stage 3: prefetch its data */
	for (unsigned i = 0; i < n; i++)
		if (fs[i].ok)
			fast_probe(&qn[i], &fs[i]);
	for (unsigned i = 0; i < n; i++)
		if (fs[i].ok)
			fast_node(&fs[i]);
	/* stage 3b: names holding a CNAME: the target's slot, then its node */
	unsigned ncname = 0;
	for (unsigned i = 0; i < n; i++) {
		if (fs[i].ok) {
			fast_cname_slot(&qn[i], &fs[i]);
			ncname += fs[i].cname_h != 0;
		}
	}
	if (ncname > 0)
		for (unsigned i = 0; i < n; i++)
			if (fs[i].ok && fs[i].cname_h != 0)
				fast_cname_node(&fs[i]);
	/* stage 4: answer */
	for (unsigned i = 0; i < n; i++) {
		size_t len = fs[i].ok ? fast_finish(conf, m[i].q, m[i].resp, &qn[i], &fs[i]) : 0;
		m[i].cookie = fs[i].ck.verdict;
		if (len == 0)
			len = general(conf, zs, m[i].q, m[i].qlen, m[i].resp, m[i].cap, tcp, &pe[i],
			              &qn[i], &fs[i], &m[i].cookie);
		m[i].rlen = len;
	}
}
