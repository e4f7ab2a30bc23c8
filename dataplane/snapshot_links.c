/* snapshot_links.c: the links between the snapshot's nodes: node flags, the
 * zone cut and wildcard of each canonical node, the NSEC3 table (owner hashes
 * from base32hex, sorted) and the nsec/wnsec links of either chain (NSEC by
 * canonical order, NSEC3 by hashing each name and "*.<name>", RFC 5155).
 * Choices are described at the top of snapshot_writer.c.
 */
#include <stdlib.h>
#include <string.h>

#include <nettle/sha1.h>
#include <nettle/version.h>

#include "dname.h"
#include "dnsconst.h"
#include "error.h"
#include "snapshot.h"
#include "snapshot_writer_int.h"

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

int snapw_nsec3_order(struct build *b)
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
int snapw_link_nodes(struct build *b)
{
	struct snapw *w = b->w;
	uint32_t nc = b->ncanon;
	b->parent = malloc((nc ? nc : 1) * sizeof(*b->parent));
	uint32_t *anc = malloc((nc ? nc : 1) * sizeof(*anc));
	if (b->parent == NULL || anc == NULL) {
		free(anc);
		return ED_ENOMEM;
	}
	/* In canonical order a node's ancestors all come before it (they are
	 * canonical nodes too) and its parent is on the path anc[0..depth)
	 * from the apex to the node before it: no name lookups. */
	uint32_t depth = 0;
	for (uint32_t i = 0; i < nc; i++) {
		uint32_t id = b->corder[i];
		struct snap_node *nd = &b->nodes[i];
		canon_flags(w, id, nd);
		nd->wild = 0;   /* set below, by the wildcard child if there is one */
		if (i == 0) {
			b->parent[0] = NONE;
			anc[depth++] = 0;
			continue;
		}
		const struct wowner *o = &w->owners[id];
		const uint8_t *pn = oname(w, o) + 1 + oname(w, o)[0];
		size_t plen = o->len - 1u - oname(w, o)[0];
		uint32_t p = NONE;
		while (depth > 0) {
			const struct wowner *a = &w->owners[b->corder[anc[depth - 1]]];
			if (a->len == plen && memcmp(oname(w, a), pn, plen) == 0) {
				p = anc[depth - 1];
				break;
			}
			depth--;
		}
		if (p == NONE) {
			/* Not reached for a canonical order; kept for safety. */
			uint32_t pid = snapw_owner_find(w, pn, plen, dname_hash(pn));
			p = w->owners[pid].node;
			depth = 0;
		}
		anc[depth++] = i;
		b->parent[i] = p;
		struct snap_node *pd = &b->nodes[p];
		if (nd->flags & SNAP_N_WILD)
			pd->wild = i + 1;   /* "*.<parent>" */
		nd->cut = (pd->flags & (SNAP_N_DELEG | SNAP_N_DNAME)) ? p + 1 : pd->cut;
	}
	free(anc);
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
