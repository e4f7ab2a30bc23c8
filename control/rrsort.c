/* rrsort.c: canonical order of ldns RRs by precomputed memcmp() keys. */
#include "rrsort.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dname.h"
#include "error.h"
#include "rdata_canon.h"

/* Owner: at most 2 octets per name octet plus terminators; then type,
 * class and at most 65535 octets of rdata. */
#define KEY_MAX (2 * DNAME_MAXLEN + DNAME_MAXLABELS + 1 + 4 + 65535)

/* The key of rr into out (KEY_MAX octets): the owner's labels from the
 * root, lowercase, each octet 0 or 1 escaped as 1 followed by 1 or 2 and
 * the label ended by 0, the name ended by another 0 (so a name sorts
 * before the names below it, and memcmp() is the RFC 4034 6.1 order);
 * then type and class, big-endian; then the canonical rdata. Returns the
 * length. */
static size_t key_of(const ldns_rr *rr, uint8_t *out)
{
	const ldns_rdf *ow = ldns_rr_owner(rr);
	const uint8_t *name = ow ? ldns_rdf_data(ow) : NULL;
	size_t nlen = name ? dname_check(name, ldns_rdf_size(ow)) : 0;
	size_t o = 0;
	if (nlen > 0) {
		uint8_t off[DNAME_MAXLABELS];
		unsigned n = dname_label_offsets(name, off);
		for (unsigned i = n; i-- > 0;) {
			const uint8_t *l = name + off[i];
			for (unsigned k = 1; k <= l[0]; k++) {
				uint8_t c = dname_lower_octet(l[k]);
				if (c <= 1) {
					out[o++] = 1;
					out[o++] = (uint8_t)(c + 1);
				} else {
					out[o++] = c;
				}
			}
			out[o++] = 0;
		}
	}
	out[o++] = 0;
	uint16_t t = (uint16_t)ldns_rr_get_type(rr), c = (uint16_t)ldns_rr_get_class(rr);
	out[o++] = (uint8_t)(t >> 8);
	out[o++] = (uint8_t)t;
	out[o++] = (uint8_t)(c >> 8);
	out[o++] = (uint8_t)c;
	size_t rd = o;
	for (size_t k = 0; k < ldns_rr_rd_count(rr); k++) {
		const ldns_rdf *f = ldns_rr_rdf(rr, k);
		size_t s = ldns_rdf_size(f);
		if (o - rd + s > 65535)
			break;  /* not an RR the wire can carry: order by what fits */
		memcpy(out + o, ldns_rdf_data(f), s);
		o += s;
	}
	rdata_canon_lower(t, out + rd, o - rd);
	return o;
}

static int key_cmp(const uint8_t *a, size_t la, const uint8_t *b, size_t lb)
{
	int c = memcmp(a, b, la < lb ? la : lb);
	if (c != 0)
		return c;
	return (la > lb) - (la < lb);
}

/* Two keys' room per thread, for the functions that compare RR by RR. */
static _Thread_local uint8_t ka[KEY_MAX], kb[KEY_MAX];

int rrsort_cmp(const ldns_rr *a, const ldns_rr *b)
{
	size_t la = key_of(a, ka), lb = key_of(b, kb);
	return key_cmp(ka, la, kb, lb);
}

int rrsort_is_sorted(ldns_rr *const *v, size_t n)
{
	uint8_t *prev = ka, *cur = kb;
	size_t lp = n > 0 ? key_of(v[0], prev) : 0;
	for (size_t i = 1; i < n; i++) {
		size_t lc = key_of(v[i], cur);
		if (key_cmp(prev, lp, cur, lc) > 0)
			return 0;
		uint8_t *t = prev;
		prev = cur;
		cur = t;
		lp = lc;
	}
	return 1;
}

int rrsort_list_is_sorted(const ldns_rr_list *l, size_t from)
{
	size_t n = ldns_rr_list_rr_count(l);
	if (from >= n)
		return 1;
	uint8_t *prev = ka, *cur = kb;
	size_t lp = key_of(ldns_rr_list_rr(l, from), prev);
	for (size_t i = from + 1; i < n; i++) {
		size_t lc = key_of(ldns_rr_list_rr(l, i), cur);
		if (key_cmp(prev, lp, cur, lc) > 0)
			return 0;
		uint8_t *t = prev;
		prev = cur;
		cur = t;
		lp = lc;
	}
	return 1;
}

/* One RR to sort: the first 8 key octets after the prefix all keys share
 * (big-endian, so most comparisons end here), the key, its position. */
struct ent {
	uint64_t head;
	uint64_t off;       /* key offset in the arena */
	uint32_t len;
	uint32_t idx;
};

struct arena {
	uint8_t *p;
	size_t len, cap;
};

static int arena_add(struct arena *a, const uint8_t *k, size_t n)
{
	if (a->len + n > a->cap) {
		size_t cap = a->cap ? a->cap : 1u << 20;
		while (cap < a->len + n)
			cap *= 2;
		uint8_t *q = realloc(a->p, cap);
		if (q == NULL)
			return ED_ENOMEM;
		a->p = q;
		a->cap = cap;
	}
	memcpy(a->p + a->len, k, n);
	a->len += n;
	return 0;
}

struct sctx {
	const uint8_t *base;
	size_t skip;        /* octets every key shares */
};

static int ent_cmp(const void *x, const void *y, void *arg)
{
	const struct ent *a = x, *b = y;
	if (a->head != b->head)
		return a->head < b->head ? -1 : 1;
	const struct sctx *s = arg;
	size_t la = a->len > s->skip ? a->len - s->skip : 0;
	size_t lb = b->len > s->skip ? b->len - s->skip : 0;
	int c = key_cmp(s->base + a->off + s->skip, la, s->base + b->off + s->skip, lb);
	if (c != 0)
		return c;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

int rrsort_sort(ldns_rr **v, size_t n)
{
	if (n < 2)
		return 0;
	if (n > UINT32_MAX)
		return ED_ENOMEM;
	struct ent *e = malloc(n * sizeof(*e));
	ldns_rr **tmp = malloc(n * sizeof(*tmp));
	uint8_t *kbuf = malloc(KEY_MAX);
	struct arena a = { 0 };
	int rc = ED_ENOMEM;
	if (e == NULL || tmp == NULL || kbuf == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		size_t l = key_of(v[i], kbuf);
		e[i].off = a.len;
		e[i].len = (uint32_t)l;
		e[i].idx = (uint32_t)i;
		if (arena_add(&a, kbuf, l) != 0)
			goto out;
	}
	/* The prefix all keys share (the zone's apex, mostly). */
	size_t skip = e[0].len;
	const uint8_t *k0 = a.p + e[0].off;
	for (size_t i = 1; i < n && skip > 0; i++) {
		const uint8_t *k = a.p + e[i].off;
		size_t m = e[i].len < skip ? e[i].len : skip, j = 0;
		while (j < m && k[j] == k0[j])
			j++;
		skip = j;
	}
	for (size_t i = 0; i < n; i++) {
		const uint8_t *k = a.p + e[i].off;
		uint64_t h = 0;
		for (size_t j = 0; j < 8; j++)
			h = h << 8 | (skip + j < e[i].len ? k[skip + j] : 0);
		e[i].head = h;
	}
	struct sctx s = { a.p, skip };
	qsort_r(e, n, sizeof(*e), ent_cmp, &s);
	for (size_t i = 0; i < n; i++)
		tmp[i] = v[e[i].idx];
	memcpy(v, tmp, n * sizeof(*v));
	rc = 0;
out:
	free(e);
	free(tmp);
	free(kbuf);
	free(a.p);
	return rc;
}

int rrsort_list(ldns_rr_list *rrs)
{
	size_t n = ldns_rr_list_rr_count(rrs), soa = n, k = 0;
	if (n < 2)
		return 0;
	ldns_rr **v = malloc(n * sizeof(*v));
	if (v == NULL)
		return ED_ENOMEM;
	for (size_t i = 0; i < n && soa == n; i++)
		if (ldns_rr_get_type(ldns_rr_list_rr(rrs, i)) == LDNS_RR_TYPE_SOA)
			soa = i;
	if (soa < n)
		v[k++] = ldns_rr_list_rr(rrs, soa);
	for (size_t i = 0; i < n; i++)
		if (i != soa)
			v[k++] = ldns_rr_list_rr(rrs, i);
	size_t from = soa < n;
	if (!rrsort_is_sorted(v + from, n - from) && rrsort_sort(v + from, n - from) != 0) {
		free(v);
		return ED_ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		ldns_rr_list_set_rr(rrs, v[i], i);
	free(v);
	return 0;
}
