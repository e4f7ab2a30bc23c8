/* snapshot_emit.c: the snapshot blob: each node's name and rrsets, the RRs
 * in wire form with their names compressed against the owner (pointers
 * relative to the owner at offset 12, SNAP_RRSET_RELOC), the RRSIG sets
 * after the list. Run twice: once to measure, once to fill the image.
 */
#include <stddef.h>
#include <string.h>

#include "dname.h"
#include "dnsconst.h"
#include "error.h"
#include "snapshot.h"
#include "snapshot_writer_int.h"

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
		size_t j = snapw_run_end(w, i, o->rr_end);
		const struct wrr *r = &w->rrs[i];
		if (!rr_is_sig(r) && (r->key == T_NSEC3) == (n3part != 0)) {
			if (snapw_grow((void **)&e->setoff, &e->setcap, nsets + 1,
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
		size_t j = snapw_run_end(w, i, o->rr_end);
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

/* Emit every node; in the measuring run (no blob) nothing is stored. */
int snapw_emit_all(struct build *b, struct emit *e)
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
