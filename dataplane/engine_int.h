/* engine_int.h: the answer engine's private parts, shared by engine.c
 * (parsing, fast path, entry points), engine_resolve.c (RFC 1034 lookup,
 * DNSSEC proofs) and engine_wire.c (writing and compressing the response).
 * Nothing here allocates, locks, logs or calls the kernel.
 */
#ifndef EDGEDNS_ENGINE_INT_H
#define EDGEDNS_ENGINE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cookie.h"
#include "dname.h"
#include "dnsconst.h"
#include "engine.h"
#include "snapshot.h"

#define EDNS_NSID 3
#define EDNS_EDE 15          /* Extended DNS Error (RFC 8914) */
#define MAX_ADDL 64
#define MAX_PROOFS 8
#define PTR_MAX 0x3fffu
#define TTL_KEEP UINT32_MAX   /* put_rrset: keep the stored TTL */

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

/* Where a query comes from and when, for cookies. */
struct eng_peer {
	const uint8_t *ip;     /* the client's address octets */
	uint8_t iplen;         /* 4 or 16; 0: unknown (cookies as if off) */
	uint32_t now;          /* unix seconds */
};

/* The COOKIE option of a query, and the one of its answer. */
struct eng_ck {
	uint8_t verdict;       /* enum eng_cookie */
	bool answer;           /* out goes in our OPT */
	uint8_t out[COOKIE_CLIENT_LEN + COOKIE_SERVER_LEN];  /* client cookie,
	                          our fresh server cookie */
};

/* An Extended DNS Error (RFC 8914 2) for our OPT: INFO-CODE and
 * EXTRA-TEXT (UTF-8, not NUL-terminated on the wire). */
struct eng_ede {
	uint16_t code;
	uint16_t len;          /* of text */
	const char *text;
};

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
	struct eng_peer peer;  /* for cookies */
	struct eng_ck ck;
	const struct eng_ede *ede;   /* NULL: none in our OPT */
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

/* Where an rrset's owner is in the response. */
struct owner {
	uint16_t pos;          /* placement of the owner name (0: not yet written) */
	const uint8_t *lc;     /* the owner name, lowercase, uncompressed */
	int shift;             /* placed length - stored length (wildcards) */
	bool wild;             /* stored owner is "*.<suffix>", placed is lc */
};

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
static inline void name_setup(struct name *n, size_t len, uint16_t pos)
{
	n->len = (uint8_t)len;
	n->pos = pos;
	n->nlab = (uint8_t)dname_label_offsets(n->lc, n->off);
	dname_hash_suffixes_padded(n->lc, n->off, n->nlab, n->hs);
}

/* ---- engine_wire.c ---------------------------------------------------- */

/* Position of the suffix k octets into the name written at pos. */
uint16_t eng_suffix_pos(const uint8_t *r, uint16_t pos, unsigned k);

/* Fix up an rrset just copied as stored to r: every owner pointer to
 * owner, the TTL (unless TTL_KEEP), and, when the rrset has owner-relative
 * rdata pointers, those moved to owner. owner must be where a suffix of
 * the question starts (uncompressed) unless the rrset is not RELOC. */
void eng_place_rrset(uint8_t *r, const struct snap_rrset *rs, uint16_t owner,
                     uint32_t ttl);

/* A pointer to pos, or the lowercase name lc when pos is out of reach. */
bool eng_put_ref(struct ctx *c, uint16_t pos, const uint8_t *lc);

/* The lowercase name lc compressed against the question; its position, or
 * 0 when out of room. */
uint16_t eng_put_name(struct ctx *c, const uint8_t *lc);

/* The name at pos of the response, lowercase, checked (only octets before
 * end are read); its length, 0 when malformed. out: DNAME_MAXLEN + 9. */
size_t eng_read_name(const uint8_t *r, size_t pos, size_t end, uint8_t *out);

/* One rrset from the snapshot with its owner at o; nothing written and
 * false when out of room. ttl TTL_KEEP keeps the stored TTL; *rdata0 (may be
 * NULL) gets the position of the first RR's rdata. */
bool eng_put_rrset(struct ctx *c, const struct snap_rrset *rs, struct owner *o,
                   uint32_t ttl, uint16_t *rdata0);

/* An rrset and (DNSSEC) its signatures, noting NS/MX/SRV targets for the
 * additional section; TC (answer, authority) and false when out of room. */
bool eng_put_set(struct ctx *c, const struct snap *s, const struct snap_rrset *rs,
                 struct owner *o, uint32_t ttl, uint16_t *rdata0);

/* ---- engine_resolve.c ------------------------------------------------- */

/* Answer the question (c->q) from zone s, its apex at label zl. */
void eng_answer_in(struct ctx *c, const struct snap *s, unsigned zl);

/* CHAOS TXT identity answers from the configuration. */
void eng_answer_chaos(struct ctx *c);

#endif
