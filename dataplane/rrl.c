/* rrl.c: response rate limiting: token buckets per client prefix.
 *
 * The table is 2-way set associative: a keyed hash of the masked prefix
 * picks a 64-octet set of two 32-octet buckets, so a lookup touches one
 * cache line. Each bucket holds its prefix, so two prefixes that hash to
 * the same set never share a bucket while there is room; see take_bucket()
 * for what happens when there is none.
 *
 * Tokens are kept in thousandths: `rate` responses per second is `rate`
 * thousandths per millisecond, so the refill is exact integer arithmetic.
 */
#include "rrl.h"

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dname.h"
#include "dnsconst.h"
#include "error.h"

#define UNIT 1000u     /* one response, in token thousandths */
#define FAM_V4 4
#define FAM_V6 6

struct rrl_bucket {
	uint64_t k0, k1;      /* the masked prefix (IPv4: k0 only) */
	uint64_t last_ms;     /* time of the last refill: never moves backwards */
	uint32_t tokens;      /* thousandths, <= cap */
	uint8_t fam;          /* 0: empty, FAM_V4, FAM_V6 */
	uint8_t nslip;        /* limited responses since the last slipped one */
	uint8_t pad[2];
};
_Static_assert(sizeof(struct rrl_bucket) == 32, "two buckets per cache line");

struct rrl_set {
	alignas(64) struct rrl_bucket b[2];
};

struct rrl_table {
	struct rrl_set *sets;
	uint64_t set_mask;
	uint64_t key[4];      /* hash secrets, from the seed */
	uint64_t m6[2];       /* IPv6 prefix mask, in address octet order */
	uint64_t m4;          /* IPv4 prefix mask, likewise (low 4 octets) */
	uint32_t rate;        /* thousandths per ms */
	uint32_t cap;         /* burst, in thousandths */
	uint64_t fill_ms;     /* an idle bucket is full after this long */
	uint32_t slip;
	bool on;
	/* written by the owner lcore, read by any thread: own cache line */
	alignas(64) _Atomic uint64_t passed;
	_Atomic uint64_t slipped;
	_Atomic uint64_t dropped;
};

/* ---- configuration -------------------------------------------------- */

void rrl_conf_defaults(struct rrl_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->rate = RRL_RATE_DEFAULT;
	c->burst = 0;
	c->slip = RRL_SLIP_DEFAULT;
	c->v4_prefix = RRL_V4_PREFIX_DEFAULT;
	c->v6_prefix = RRL_V6_PREFIX_DEFAULT;
	c->table_size = RRL_TABLE_DEFAULT;
}

int rrl_conf_check(const struct rrl_conf *c, char *err, size_t errlen)
{
	if (c->rate > RRL_RATE_MAX) {
		ed_seterr(err, errlen, "rrl rate %u is over %u", c->rate, RRL_RATE_MAX);
		return ED_EINVAL;
	}
	if (c->burst > RRL_RATE_MAX) {
		ed_seterr(err, errlen, "rrl burst %u is over %u", c->burst, RRL_RATE_MAX);
		return ED_EINVAL;
	}
	if (c->slip > RRL_SLIP_MAX) {
		ed_seterr(err, errlen, "rrl slip %u is over %u", c->slip, RRL_SLIP_MAX);
		return ED_EINVAL;
	}
	if (c->v4_prefix > 32) {
		ed_seterr(err, errlen, "rrl IPv4 prefix /%u is over /32", c->v4_prefix);
		return ED_EINVAL;
	}
	if (c->v6_prefix > 128) {
		ed_seterr(err, errlen, "rrl IPv6 prefix /%u is over /128", c->v6_prefix);
		return ED_EINVAL;
	}
	if (c->table_size > RRL_TABLE_MAX) {
		ed_seterr(err, errlen, "rrl table size %u is over %u", c->table_size,
		          RRL_TABLE_MAX);
		return ED_EINVAL;
	}
	return ED_OK;
}

/* ---- hashing ----------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* 64x64 -> 128 multiply, folded. */
static inline uint64_t mum(uint64_t a, uint64_t b)
{
	unsigned __int128 r = (unsigned __int128)a * b;
	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

/* Keyed hash of a bucket key: two folded multiplies with secret operands.
 * Not a MAC, but without the secrets an off-path sender cannot tell which
 * prefixes share a set, nor aim its flood at another prefix's set. */
static inline uint64_t key_hash(const struct rrl_table *t, uint64_t k0, uint64_t k1,
                                unsigned fam)
{
	uint64_t h = mum(k0 ^ t->key[0], k1 ^ t->key[1]);
	return mum(h ^ t->key[2] ^ fam, t->key[3]);
}

/* Prefix mask of `bits` over n octets, in octet order. */
static void make_mask(uint8_t *m, size_t n, unsigned bits)
{
	for (size_t i = 0; i < n; i++) {
		unsigned b = bits >= 8 ? 8 : bits;
		m[i] = (uint8_t)(0xff00u >> b);
		bits -= b;
	}
}

static const uint8_t V4MAPPED[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* The bucket key of addr: FAM_V4/FAM_V6, or 0 for another family. The
 * masks are in address octet order, so loads need no byte swap. */
static inline unsigned make_key(const struct rrl_table *t, int family, const uint8_t *addr,
                                uint64_t *k0, uint64_t *k1)
{
	if (family == AF_INET6) {
		if (memcmp(addr, V4MAPPED, sizeof(V4MAPPED)) != 0) {
			uint64_t a, b;
			memcpy(&a, addr, 8);
			memcpy(&b, addr + 8, 8);
			*k0 = a & t->m6[0];
			*k1 = b & t->m6[1];
			return FAM_V6;
		}
		addr += sizeof(V4MAPPED);
	} else if (family != AF_INET) {
		return 0;
	}
	uint32_t a;
	memcpy(&a, addr, 4);
	*k0 = a & t->m4;
	*k1 = 0;
	return FAM_V4;
}

/* ---- table ------------------------------------------------------------- */

struct rrl_table *rrl_new(const struct rrl_conf *c, uint64_t seed)
{
	if (rrl_conf_check(c, NULL, 0) != ED_OK)
		return NULL;
	struct rrl_table *t = aligned_alloc(alignof(struct rrl_table), sizeof(*t));
	if (t == NULL)
		return NULL;
	memset(t, 0, sizeof(*t));
	atomic_init(&t->passed, 0);
	atomic_init(&t->slipped, 0);
	atomic_init(&t->dropped, 0);
	if (c->rate == 0)
		return t;   /* off: no buckets */

	uint32_t size = c->table_size ? c->table_size : RRL_TABLE_DEFAULT;
	uint32_t buckets = 2;
	while (buckets < size)
		buckets <<= 1;
	size_t nsets = buckets / 2;
	t->sets = aligned_alloc(alignof(struct rrl_set), nsets * sizeof(struct rrl_set));
	if (t->sets == NULL) {
		free(t);
		return NULL;
	}
	memset(t->sets, 0, nsets * sizeof(struct rrl_set));
	t->set_mask = nsets - 1;
	for (int i = 0; i < 4; i++)
		t->key[i] = splitmix64(&seed);

	uint8_t m[16];
	make_mask(m, 16, c->v6_prefix ? c->v6_prefix : RRL_V6_PREFIX_DEFAULT);
	memcpy(&t->m6[0], m, 8);
	memcpy(&t->m6[1], m + 8, 8);
	uint32_t m4;
	make_mask(m, 4, c->v4_prefix ? c->v4_prefix : RRL_V4_PREFIX_DEFAULT);
	memcpy(&m4, m, 4);
	t->m4 = m4;

	uint32_t burst = c->burst ? c->burst : c->rate;
	t->rate = c->rate;
	t->cap = burst * UNIT;
	t->fill_ms = ((uint64_t)t->cap + t->rate - 1) / t->rate;
	t->slip = c->slip;
	t->on = true;
	return t;
}

void rrl_free(struct rrl_table *t)
{
	if (t == NULL)
		return;
	free(t->sets);
	free(t);
}

/* Single writer: a plain increment, stored so that readers never see a
 * torn value. No read-modify-write atomic. */
static inline void bump(_Atomic uint64_t *c)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
	                      memory_order_relaxed);
}

/* Add the tokens earned since b->last_ms. A clock behind last_ms earns
 * nothing and leaves last_ms alone, so going back and forth never pays an
 * interval twice. Refilling is idempotent: doing it on lookup changes no
 * bucket's future. */
static inline void refill(const struct rrl_table *t, struct rrl_bucket *b, uint64_t now)
{
	if (now <= b->last_ms)
		return;
	uint64_t el = now - b->last_ms;
	b->last_ms = now;
	if (el >= t->fill_ms) {
		b->tokens = t->cap;
		return;
	}
	uint64_t v = b->tokens + el * t->rate;   /* < 2 cap: no overflow */
	b->tokens = v < t->cap ? (uint32_t)v : t->cap;
}

static inline bool bucket_is(const struct rrl_bucket *b, unsigned fam, uint64_t k0,
                             uint64_t k1)
{
	return b->fam == fam && b->k0 == k0 && b->k1 == k1;
}

/* The bucket of a prefix not in its set. A bucket may be taken over only
 * when it is empty or, refilled to now, full: such a bucket is in the state
 * a new one starts in, so resetting it gives no tokens away (a fixed idle
 * time would, when burst exceeds rate times that time). When both are in
 * use, the newcomer shares one of them without owning it, always the same
 * one (a bit of its hash): prefixes flooding in turn through one set get
 * the budget of the set's buckets, not a fresh burst each time, and a
 * newcomer cannot draw on both. Sharing can limit a real client early,
 * which costs it a TCP retry; the other choice costs amplification. */
static struct rrl_bucket *take_bucket(const struct rrl_table *t, struct rrl_set *s,
                                      unsigned fam, uint64_t k0, uint64_t k1, uint64_t h,
                                      uint64_t now)
{
	struct rrl_bucket *a = &s->b[0], *b = &s->b[1], *v;
	refill(t, a, now);
	refill(t, b, now);
	if (a->fam == 0 || (b->fam != 0 && a->tokens == t->cap))
		v = a;
	else if (b->fam == 0 || b->tokens == t->cap)
		v = b;
	else
		return &s->b[h >> 63];
	v->k0 = k0;
	v->k1 = k1;
	v->fam = (uint8_t)fam;
	v->tokens = t->cap;
	v->nslip = 0;   /* last_ms: max(last, now), from the refill */
	return v;
}

enum rrl_verdict rrl_check(struct rrl_table *t, int family, const uint8_t *addr,
                           uint64_t now_ms)
{
	uint64_t k0, k1;
	unsigned fam;
	if (!t->on || (fam = make_key(t, family, addr, &k0, &k1)) == 0) {
		bump(&t->passed);
		return RRL_PASS;
	}
	uint64_t h = key_hash(t, k0, k1, fam);
	struct rrl_set *s = &t->sets[h & t->set_mask];
	struct rrl_bucket *b;
	if (bucket_is(&s->b[0], fam, k0, k1))
		b = &s->b[0];
	else if (bucket_is(&s->b[1], fam, k0, k1))
		b = &s->b[1];
	else
		b = take_bucket(t, s, fam, k0, k1, h, now_ms);
	refill(t, b, now_ms);
	if (b->tokens >= UNIT) {
		b->tokens -= UNIT;
		bump(&t->passed);
		return RRL_PASS;
	}
	if (t->slip != 0 && ++b->nslip >= t->slip) {
		b->nslip = 0;
		bump(&t->slipped);
		return RRL_SLIP;
	}
	bump(&t->dropped);
	return RRL_DROP;
}

void rrl_prefetch(const struct rrl_table *t, int family, const uint8_t *addr)
{
	uint64_t k0, k1;
	unsigned fam;
	if (!t->on || (fam = make_key(t, family, addr, &k0, &k1)) == 0)
		return;
	__builtin_prefetch(&t->sets[key_hash(t, k0, k1, fam) & t->set_mask], 1, 3);
}

void rrl_stats(const struct rrl_table *t, struct rrl_stats *out)
{
	/* C11 atomic_load takes a non-const pointer; nothing is written. */
	struct rrl_table *w = (struct rrl_table *)t;
	out->passed = atomic_load_explicit(&w->passed, memory_order_relaxed);
	out->slipped = atomic_load_explicit(&w->slipped, memory_order_relaxed);
	out->dropped = atomic_load_explicit(&w->dropped, memory_order_relaxed);
	out->limited = out->slipped + out->dropped;
}

/* ---- slipped answers --------------------------------------------------- */

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

size_t rrl_truncate(uint8_t *r, size_t len)
{
	if (len < 12)
		return 0;
	unsigned qd = rd16(r + 4);
	unsigned an = rd16(r + 6), ns = rd16(r + 8), ar = rd16(r + 10);
	if (qd > 1)
		return 0;
	size_t p = 12;
	if (qd == 1) {
		/* the question is the first name: nothing before it to point at */
		p = dname_skip_wire(r, len, p, 0);
		if (p == 0 || len - p < 4)
			return 0;
		p += 4;
	}
	size_t qend = p, opt = 0;
	/* walk every record, so a response that does not parse is not sent */
	for (unsigned i = 0; i < an + ns + ar; i++) {
		size_t owner = p;
		p = dname_skip_wire(r, len, p, 1);
		if (p == 0 || len - p < 10)
			return 0;
		uint16_t type = rd16(r + p), rdlen = rd16(r + p + 8);
		p += 10;
		if (len - p < rdlen)
			return 0;
		if (type == T_OPT && i >= an + ns && opt == 0 && r[owner] == 0)
			opt = owner;
		p += rdlen;
	}
	r[2] |= 0x02;   /* TC */
	wr16(r + 6, 0);
	wr16(r + 8, 0);
	wr16(r + 10, opt ? 1 : 0);
	if (opt == 0)
		return qend;
	/* root owner, type, class (payload size), TTL (extended rcode, version,
	 * DO); options dropped */
	memmove(r + qend, r + opt, 9);
	wr16(r + qend + 9, 0);
	return qend + 11;
}
