/* snapshot.c: map a zone snapshot and check every part of it once.
 *
 * After snap_open() the engine follows offsets with no check, so the
 * validator below is the whole safety argument: each rule the format states
 * (snapshot.h) and each property the engine relies on is checked here, in
 * one pass over the nodes, one over the hash index and one over the NSEC3
 * table.
 */
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "dname.h"
#include "dnsconst.h"
#include "error.h"


struct vctx {
	const uint8_t *base;
	uint64_t len;
	const struct snap_header *hd;
	const struct snap_node *nodes;
	const uint8_t *blob;
	uint64_t bsz;
	const char *path;
	char *err;
	size_t errlen;
	uint64_t nrrsets, nrrs;
	/* the node being checked */
	uint32_t node;
	const uint8_t *name;
	uint8_t namelen;
	uint8_t label_start[256 / 8]; /* bit k: a non-root label starts at k */
	unsigned types;               /* T_* bits seen in the node's list */
	uint16_t rclass;
	int have_class;
};

#define TY_NS 0x01u
#define TY_CNAME 0x02u
#define TY_SOA 0x04u
#define TY_DNAME 0x08u
#define TY_DS 0x10u
#define TY_NSEC 0x20u
#define TY_NSEC3 0x40u

static int fail(struct vctx *v, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct vctx *v, int code, const char *fmt, ...)
{
	if (v->err == NULL || v->errlen == 0)
		return code;
	int n = snprintf(v->err, v->errlen, "%s: ", v->path);
	if (n >= 0 && (size_t)n < v->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(v->err + n, v->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return code;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int is_lower(const uint8_t *name, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (dname_lower_octet(name[i]) != name[i])
			return 0;
	return 1;
}

/* A name inside rdata: labels, then the root or an owner-relative pointer
 * (0xC000 | (12 + k), k a non-root label start of the owner). Returns the
 * octets it takes, 0 when malformed. */
static size_t rname_check(struct vctx *v, const uint8_t *p, size_t n, int *reloc)
{
	size_t i = 0;
	for (;;) {
		if (i >= n)
			return 0;
		uint8_t l = p[i];
		if (l == 0)
			return i + 1 <= DNAME_MAXLEN ? i + 1 : 0;
		if ((l & 0xc0) == 0xc0) {
			if (i + 1 >= n)
				return 0;
			unsigned ptr = (unsigned)(l & 0x3f) << 8 | p[i + 1];
			if (ptr < 12 || ptr - 12 >= v->namelen)
				return 0;
			unsigned k = ptr - 12;
			if (!(v->label_start[k / 8] & (1u << (k % 8))))
				return 0;
			if (i + (v->namelen - k) > DNAME_MAXLEN)
				return 0;   /* expanded name over 255 */
			*reloc = 1;
			return i + 2;
		}
		if (l > DNAME_LABEL_MAX)
			return 0;
		i += 1u + l;
	}
}

int snap_rdata_verbatim_ok(uint16_t type, const uint8_t *rd, size_t n)
{
	size_t a;
	switch (type) {
	case T_DNAME:
		a = dname_check(rd, n);
		return a != 0 && a == n;
	case T_RRSIG:
		return n > 18 && dname_check(rd + 18, n - 18) != 0;
	case T_NSEC:
		return dname_check(rd, n) != 0;
	case T_NSEC3:
		if (n < 5 || 5u + rd[4] >= n)
			return 0;
		a = 5u + rd[4];
		return rd[a] >= 1 && a + 1 + rd[a] <= n;
	case T_NSEC3PARAM:
		return n >= 5 && 5u + rd[4] == n;
	}
	return 1;
}

/* Rdata of one RR in the wire; covered: expected type covered (RRSIG). */
static int rdata_ok(struct vctx *v, uint16_t type, const uint8_t *rd, size_t n,
                    uint16_t covered, int *reloc)
{
	size_t a, b;
	switch (type) {
	case T_NS:
	case T_CNAME:
	case T_PTR:
		a = rname_check(v, rd, n, reloc);
		return a != 0 && a == n;
	case T_MX:
		if (n < 3)
			return 0;
		a = rname_check(v, rd + 2, n - 2, reloc);
		return a != 0 && a + 2 == n;
	case T_SOA:
		a = rname_check(v, rd, n, reloc);
		if (a == 0)
			return 0;
		b = rname_check(v, rd + a, n - a, reloc);
		return b != 0 && a + b + 20 == n;
	case T_RRSIG:
		return n > 18 && get16(rd) == covered && snap_rdata_verbatim_ok(type, rd, n);
	}
	return snap_rdata_verbatim_ok(type, rd, n);
}

/* The rrset at off: bounds, alignment, and its wire parsed into exactly
 * count RRs. want: the type it must have; covered: for an RRSIG set. */
static int rrset_check(struct vctx *v, uint32_t off, uint16_t want,
                       uint16_t covered, const char *what)
{
	if (off < 8 || (off & 3u) != 0)
		return fail(v, ED_EFORMAT, "node %u: %s at blob offset %u is not a 4-aligned item",
		            v->node, what, off);
	if ((uint64_t)off + sizeof(struct snap_rrset) > v->bsz)
		return fail(v, ED_ERANGE, "node %u: %s runs past the blob", v->node, what);
	const struct snap_rrset *rs = (const struct snap_rrset *)(const void *)(v->blob + off);
	if ((uint64_t)off + sizeof(*rs) + ((rs->wlen + 3ull) & ~3ull) > v->bsz)
		return fail(v, ED_ERANGE, "node %u: %s runs past the blob", v->node, what);
	if (rs->type != want)
		return fail(v, ED_EFORMAT, "node %u: %s has type %u, expected %u", v->node,
		            what, rs->type, want);
	if (rs->count == 0 || rs->wlen > 0xffffu || (rs->flags & ~SNAP_RRSET_RELOC) != 0 ||
	    rs->pad != 0)
		return fail(v, ED_EFORMAT, "node %u: %s type %u: bad count, length or flags",
		            v->node, what, rs->type);
	if (want == T_RRSIG && rs->sigs != 0)
		return fail(v, ED_EFORMAT, "node %u: RRSIG set with signatures", v->node);
	const uint8_t *w = snap_rrset_wire(rs);
	size_t p = 0;
	int reloc = 0;
	for (unsigned k = 0; k < rs->count; k++) {
		if (p + 12 > rs->wlen)
			return fail(v, ED_EFORMAT, "node %u: type %u: wire shorter than %u RRs",
			            v->node, rs->type, rs->count);
		const uint8_t *r = w + p;
		uint16_t rdlen = get16(r + 10);
		if (r[0] != 0xc0 || r[1] != 0x0c || get16(r + 2) != rs->type ||
		    get32(r + 6) != rs->ttl)
			return fail(v, ED_EFORMAT, "node %u: type %u: RR %u: bad owner, type or TTL",
			            v->node, rs->type, k);
		if (v->have_class && get16(r + 4) != v->rclass)
			return fail(v, ED_EFORMAT, "node %u: type %u: RR %u: class differs",
			            v->node, rs->type, k);
		v->rclass = get16(r + 4);
		v->have_class = 1;
		if (p + 12 + rdlen > rs->wlen)
			return fail(v, ED_EFORMAT, "node %u: type %u: RR %u runs past the wire",
			            v->node, rs->type, k);
		if (!rdata_ok(v, rs->type, r + 12, rdlen, covered, &reloc))
			return fail(v, ED_EFORMAT, "node %u: type %u: RR %u: malformed rdata "
			            "(names or pointers)", v->node, rs->type, k);
		p += 12u + rdlen;
	}
	if (p != rs->wlen)
		return fail(v, ED_EFORMAT, "node %u: type %u: %zu octets after %u RRs",
		            v->node, rs->type, (size_t)(rs->wlen - p), rs->count);
	if (reloc != ((rs->flags & SNAP_RRSET_RELOC) != 0))
		return fail(v, ED_EFORMAT, "node %u: type %u: RELOC flag does not match the wire",
		            v->node, rs->type);
	v->nrrs += rs->count;
	return 0;
}

/* The node's list and the signatures of each set. */
static int rrsets_check(struct vctx *v, const struct snap_node *nd)
{
	v->types = 0;
	if (nd->nrrsets == 0) {
		if (nd->rrsets != 0)
			return fail(v, ED_EFORMAT, "node %u: rrsets without a count", v->node);
		return 0;
	}
	uint32_t off = nd->rrsets;
	int prev = -1;
	for (unsigned i = 0; i < nd->nrrsets; i++) {
		if ((off & 3u) != 0)
			return fail(v, ED_EFORMAT, "node %u: rrset %u not 4-aligned", v->node, i);
		if (off < 8 || (uint64_t)off + sizeof(struct snap_rrset) > v->bsz)
			return fail(v, ED_ERANGE, "node %u: rrset %u runs past the blob", v->node, i);
		const struct snap_rrset *rs = (const struct snap_rrset *)(const void *)(v->blob + off);
		uint16_t type = rs->type;
		if ((int)type <= prev || type == T_RRSIG)
			return fail(v, ED_EFORMAT, "node %u: rrset %u: type %u out of order or RRSIG",
			            v->node, i, type);
		prev = type;
		int rc = rrset_check(v, off, type, 0, "rrset");
		if (rc != 0)
			return rc;
		if (rs->sigs != 0) {
			rc = rrset_check(v, rs->sigs, T_RRSIG, type, "signature set");
			if (rc != 0)
				return rc;
		}
		switch (type) {
		case T_NS: v->types |= TY_NS; break;
		case T_CNAME: v->types |= TY_CNAME; break;
		case T_SOA: v->types |= TY_SOA; break;
		case T_DNAME: v->types |= TY_DNAME; break;
		case T_DS: v->types |= TY_DS; break;
		case T_NSEC: v->types |= TY_NSEC; break;
		case T_NSEC3: v->types |= TY_NSEC3; break;
		}
		v->nrrsets++;
		uint64_t next = (uint64_t)off + sizeof(*rs) + ((rs->wlen + 3ull) & ~3ull);
		if (next > UINT32_MAX)
			return fail(v, ED_ERANGE, "node %u: rrset list runs past the blob", v->node);
		off = (uint32_t)next;
	}
	return 0;
}

static int node_check(struct vctx *v, uint32_t i)
{
	const struct snap_header *hd = v->hd;
	const struct snap_node *nd = &v->nodes[i];
	int canon = i < hd->ncanon;
	v->node = i;
	if (nd->name < 8 || nd->name >= v->bsz)
		return fail(v, ED_ERANGE, "node %u: name offset %u outside the blob", i, nd->name);
	const uint8_t *name = v->blob + nd->name;
	size_t len = dname_check(name, v->bsz - nd->name);
	if (len == 0 || len != nd->namelen || dname_labels(name) != nd->nlabels ||
	    !is_lower(name, len) || nd->pad != 0)
		return fail(v, ED_EFORMAT, "node %u: malformed name or wrong length/labels", i);
	if (!dname_is_sub(name, hd->apex))
		return fail(v, ED_EFORMAT, "node %u: name outside the zone", i);
	v->name = name;
	v->namelen = nd->namelen;
	memset(v->label_start, 0, sizeof(v->label_start));
	for (size_t k = 0; name[k] != 0; k += 1u + name[k])
		v->label_start[k / 8] |= (uint8_t)(1u << (k % 8));

	if (i == 0 && (len != hd->apex_len || memcmp(name, hd->apex, len) != 0))
		return fail(v, ED_EFORMAT, "node 0 is not the apex");
	if (canon && i > 0 &&
	    dname_canon_cmp(v->blob + v->nodes[i - 1].name, name) >= 0)
		return fail(v, ED_EFORMAT, "node %u: not in canonical order", i);

	int rc = rrsets_check(v, nd);
	if (rc != 0)
		return rc;
	unsigned t = v->types;
	if (!canon) {
		if (nd->flags != SNAP_N_NSEC3 || nd->nrrsets != 1 || t != TY_NSEC3 ||
		    nd->cut != 0 || nd->wild != 0 || nd->nsec != 0 || nd->wnsec != 0)
			return fail(v, ED_EFORMAT, "node %u: malformed NSEC3 node", i);
		return 0;
	}
	uint16_t f = 0;
	if (i == 0)
		f |= SNAP_N_APEX;
	if ((t & TY_NS) && i != 0)
		f |= SNAP_N_DELEG;
	if ((f & SNAP_N_DELEG) && (t & TY_DS))
		f |= SNAP_N_HAS_DS;
	if (t & TY_DNAME)
		f |= SNAP_N_DNAME;
	if (t & TY_CNAME)
		f |= SNAP_N_CNAME;
	if (t & TY_NSEC)
		f |= SNAP_N_NSEC;
	if (nd->nrrsets == 0)
		f |= SNAP_N_ENT;
	if (name[0] == 1 && name[1] == '*')
		f |= SNAP_N_WILD;
	if (nd->flags != f)
		return fail(v, ED_EFORMAT, "node %u: flags 0x%x do not match its content (0x%x)",
		            i, nd->flags, f);
	if (t & TY_NSEC3)
		return fail(v, ED_EFORMAT, "node %u: NSEC3 rrset in a canonical node", i);
	return 0;
}

/* Links: need every node's name checked first. */
static int links_check(struct vctx *v, uint32_t i)
{
	const struct snap_header *hd = v->hd;
	const struct snap_node *nd = &v->nodes[i];
	const uint8_t *name = v->blob + nd->name;
	v->node = i;
	if (nd->cut != 0) {
		if (nd->cut - 1 >= i ||
		    !(v->nodes[nd->cut - 1].flags & (SNAP_N_DELEG | SNAP_N_DNAME)) ||
		    !dname_is_sub(name, v->blob + v->nodes[nd->cut - 1].name))
			return fail(v, ED_EFORMAT, "node %u: bad cut link %u", i, nd->cut);
	}
	if (nd->wild != 0) {
		const struct snap_node *c;
		if (nd->wild > hd->ncanon || nd->wild - 1 <= i ||
		    (c = &v->nodes[nd->wild - 1], c->namelen != nd->namelen + 2u) ||
		    !(c->flags & SNAP_N_WILD) ||
		    memcmp(v->blob + c->name + 2, name, nd->namelen) != 0)
			return fail(v, ED_EFORMAT, "node %u: bad wildcard link %u", i, nd->wild);
	}
	if (hd->flags & SNAP_F_NSEC) {
		if (nd->nsec > i + 1 || (nd->nsec != 0 && !(v->nodes[nd->nsec - 1].flags & SNAP_N_NSEC)) ||
		    ((nd->flags & SNAP_N_NSEC) && nd->nsec != i + 1) ||
		    nd->wnsec > hd->ncanon ||
		    (nd->wnsec != 0 && !(v->nodes[nd->wnsec - 1].flags & SNAP_N_NSEC)))
			return fail(v, ED_EFORMAT, "node %u: bad NSEC link", i);
	} else if (hd->flags & SNAP_F_NSEC3) {
		if (nd->nsec > hd->nnsec3 || nd->wnsec > hd->nnsec3)
			return fail(v, ED_EFORMAT, "node %u: NSEC3 link out of range", i);
	} else if (nd->nsec != 0 || nd->wnsec != 0) {
		return fail(v, ED_EFORMAT, "node %u: chain link in a zone without a chain", i);
	}
	return 0;
}

/* Every canonical node once in the index, reachable from its home slot
 * within max_probe slots without crossing an empty slot. */
static int table_check(struct vctx *v, const uint64_t *table)
{
	const struct snap_header *hd = v->hd;
	uint64_t mask = hd->table_slots - 1;
	uint8_t *seen = calloc(hd->ncanon / 8 + 1, 1);
	if (seen == NULL)
		return fail(v, ED_ENOMEM, "out of memory");
	/* Start the circular walk just after an empty slot (load <= 1/2). */
	uint64_t start = 0;
	while (start <= mask && table[start] != 0)
		start++;
	int rc = 0;
	uint64_t used = 0, run = 0;
	for (uint64_t n = 1; n <= hd->table_slots && rc == 0; n++) {
		uint64_t s = (start + n) & mask;
		uint64_t slot = table[s];
		if (slot == 0) {
			run = 0;
			continue;
		}
		run++;
		uint32_t idx = (uint32_t)slot;
		if (idx == 0 || idx > hd->ncanon) {
			rc = fail(v, ED_EFORMAT, "hash slot %llu: node %u out of range",
			          (unsigned long long)s, idx);
			break;
		}
		idx--;
		if (seen[idx / 8] & (1u << (idx % 8))) {
			rc = fail(v, ED_EFORMAT, "hash slot %llu: node %u indexed twice",
			          (unsigned long long)s, idx);
			break;
		}
		seen[idx / 8] |= (uint8_t)(1u << (idx % 8));
		used++;
		uint64_t h = dname_hash(v->blob + v->nodes[idx].name);
		uint64_t dist = (s - (h & mask)) & mask;   /* probes before s */
		if ((uint32_t)(slot >> 32) != (uint32_t)(h >> 32) || dist + 1 > hd->max_probe ||
		    dist >= run)
			rc = fail(v, ED_EFORMAT, "hash slot %llu: node %u not reachable by its hash",
			          (unsigned long long)s, idx);
	}
	if (rc == 0 && used != hd->ncanon)
		rc = fail(v, ED_EFORMAT, "hash index holds %llu of %u nodes",
		          (unsigned long long)used, hd->ncanon);
	free(seen);
	return rc;
}

static int section(struct vctx *v, uint64_t off, uint64_t count, uint64_t elem,
                   uint64_t after, const char *what, uint64_t *end)
{
	if (count > (1ull << 40) || off % SNAP_ALIGN != 0 || off < after ||
	    off > v->len || count * elem > v->len - off)
		return fail(v, ED_ERANGE, "%s section (offset %llu, %llu items) misplaced or "
		            "past the end", what, (unsigned long long)off,
		            (unsigned long long)count);
	*end = off + count * elem;
	return 0;
}

static int validate(struct vctx *v, unsigned flags)
{
	if (((uintptr_t)v->base & 7u) != 0)
		return fail(v, ED_EINVAL, "image not 8-aligned in memory");
	if (v->len < sizeof(struct snap_header))
		return fail(v, ED_EFORMAT, "truncated: %llu octets, shorter than the header",
		            (unsigned long long)v->len);
	const struct snap_header *hd = (const struct snap_header *)(const void *)v->base;
	v->hd = hd;
	if (memcmp(hd->magic, SNAP_MAGIC, 8) != 0)
		return fail(v, ED_EFORMAT, "not a snapshot (bad magic)");
	if (hd->version != SNAP_VERSION)
		return fail(v, ED_EVERSION, "format version %u, expected %u", hd->version,
		            SNAP_VERSION);
	if (hd->header_size != sizeof(*hd))
		return fail(v, ED_EFORMAT, "header size %u, expected %zu", hd->header_size,
		            sizeof(*hd));
	if (hd->file_size != v->len)
		return fail(v, ED_EFORMAT, "size %llu octets, header says %llu (truncated?)",
		            (unsigned long long)v->len, (unsigned long long)hd->file_size);
	if (!(flags & SNAP_OPEN_NOCHECKSUM) &&
	    XXH3_64bits(v->base + sizeof(*hd), v->len - sizeof(*hd)) != hd->checksum)
		return fail(v, ED_ECHECKSUM, "checksum mismatch");

	uint64_t end = 0;
	int rc = section(v, hd->nodes_off, hd->nnodes, sizeof(struct snap_node),
	                 sizeof(*hd), "node", &end);
	if (rc == 0)
		rc = section(v, hd->table_off, hd->table_slots, sizeof(uint64_t), end,
		             "hash index", &end);
	if (rc == 0 && (hd->nnsec3 != 0 || hd->nsec3_off != 0))
		rc = section(v, hd->nsec3_off, hd->nnsec3, sizeof(struct snap_nsec3), end,
		             "NSEC3", &end);
	if (rc == 0)
		rc = section(v, hd->blob_off, hd->blob_size, 1, end, "blob", &end);
	if (rc != 0)
		return rc;
	if (hd->blob_size < 8 || hd->blob_size > SNAP_BLOB_MAX)
		return fail(v, ED_EFORMAT, "blob size %llu out of range",
		            (unsigned long long)hd->blob_size);
	v->blob = v->base + hd->blob_off;
	v->bsz = hd->blob_size;
	v->nodes = (const struct snap_node *)(const void *)(v->base + hd->nodes_off);
	static const uint8_t zero8[8];
	if (memcmp(v->blob, zero8, 8) != 0)
		return fail(v, ED_EFORMAT, "blob does not start with 8 zero octets");
	if (hd->ncanon == 0 || hd->ncanon > hd->nnodes ||
	    hd->nnsec3 != (uint64_t)hd->nnodes - hd->ncanon)
		return fail(v, ED_EFORMAT, "node counts inconsistent (%u nodes, %u canonical, "
		            "%llu NSEC3)", hd->nnodes, hd->ncanon, (unsigned long long)hd->nnsec3);
	if (hd->table_slots < 2ull * hd->ncanon || (hd->table_slots & (hd->table_slots - 1)) ||
	    hd->max_probe == 0 || hd->max_probe > hd->table_slots)
		return fail(v, ED_EFORMAT, "hash index size or max_probe invalid");
	if ((hd->flags & ~(SNAP_F_SIGNED | SNAP_F_NSEC | SNAP_F_NSEC3)) != 0 ||
	    ((hd->flags & SNAP_F_NSEC) && (hd->flags & SNAP_F_NSEC3)) ||
	    (hd->nnsec3 > 0 && !(hd->flags & SNAP_F_NSEC3)))
		return fail(v, ED_EFORMAT, "header flags 0x%x invalid", hd->flags);
	if ((hd->flags & SNAP_F_NSEC3) &&
	    (hd->nsec3_alg != 1 || hd->nsec3_iters > SNAP_NSEC3_ITERS_MAX))
		return fail(v, ED_EFORMAT, "NSEC3 algorithm %u, %u iterations: not served",
		            hd->nsec3_alg, hd->nsec3_iters);
	if (hd->apex_len == 0 || dname_check(hd->apex, hd->apex_len) != hd->apex_len ||
	    !is_lower(hd->apex, hd->apex_len))
		return fail(v, ED_EFORMAT, "malformed apex name");

	for (uint32_t i = 0; i < hd->nnodes; i++) {
		rc = node_check(v, i);
		if (rc != 0)
			return rc;
	}
	for (uint32_t i = 0; i < hd->ncanon; i++) {
		rc = links_check(v, i);
		if (rc != 0)
			return rc;
	}
	if (v->nrrsets != hd->nrrsets || v->nrrs != hd->nrrs)
		return fail(v, ED_EFORMAT, "counts %llu rrsets/%llu RRs, header says %u/%u",
		            (unsigned long long)v->nrrsets, (unsigned long long)v->nrrs,
		            hd->nrrsets, hd->nrrs);

	/* Apex SOA and NS: the header's offsets are the apex's sets. */
	struct snap tmp = { .hdr = hd, .nodes = v->nodes, .blob = v->blob };
	const struct snap_rrset *soa = snap_node_find(&tmp, &v->nodes[0], T_SOA);
	const struct snap_rrset *ns = snap_node_find(&tmp, &v->nodes[0], T_NS);
	v->node = 0;
	if (soa == NULL || soa->count != 1 || hd->soa != (uint32_t)((const uint8_t *)soa - v->blob))
		return fail(v, ED_EFORMAT, "apex SOA missing or header soa offset wrong");
	if (hd->apex_ns != (ns ? (uint32_t)((const uint8_t *)ns - v->blob) : 0))
		return fail(v, ED_EFORMAT, "header apex_ns offset wrong");
	const uint8_t *sw = snap_rrset_wire(soa);
	const uint8_t *fixed = sw + soa->wlen - 20;   /* serial .. minimum */
	uint32_t minimum = get32(fixed + 16);
	if (hd->serial != get32(fixed) ||
	    hd->neg_ttl != (soa->ttl < minimum ? soa->ttl : minimum))
		return fail(v, ED_EFORMAT, "header serial or negative TTL differ from the SOA");

	rc = table_check(v, (const uint64_t *)(const void *)(v->base + hd->table_off));
	if (rc != 0)
		return rc;
	if (hd->nnsec3 > 0) {
		const struct snap_nsec3 *t =
			(const struct snap_nsec3 *)(const void *)(v->base + hd->nsec3_off);
		for (uint64_t i = 0; i < hd->nnsec3; i++) {
			if (t[i].node != hd->ncanon + i ||
			    (i > 0 && memcmp(t[i - 1].hash, t[i].hash, SNAP_NSEC3_HASHLEN) >= 0))
				return fail(v, ED_EFORMAT, "NSEC3 entry %llu: wrong node or out of order",
				            (unsigned long long)i);
		}
	}
	return 0;
}

static int open_image(const void *buf, size_t len, unsigned flags, const char *path,
                      struct snap **out, char *err, size_t errlen)
{
	struct vctx v = {
		.base = buf, .len = len, .path = path, .err = err, .errlen = errlen,
	};
	int rc = validate(&v, flags);
	if (rc != 0)
		return rc;
	struct snap *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return fail(&v, ED_ENOMEM, "out of memory");
	const struct snap_header *hd = v.hd;
	s->hdr = hd;
	s->nodes = v.nodes;
	s->table = (const uint64_t *)(const void *)(v.base + hd->table_off);
	s->nsec3 = hd->nnsec3 ? (const struct snap_nsec3 *)(const void *)(v.base + hd->nsec3_off)
	                      : NULL;
	s->blob = v.blob;
	s->mask = hd->table_slots - 1;
	snprintf(s->path, sizeof(s->path), "%s", path);
	*out = s;
	return 0;
}

int snap_open_mem(const void *buf, size_t len, unsigned flags,
                  struct snap **out, char *err, size_t errlen)
{
	if (err != NULL && errlen > 0)
		err[0] = 0;
	if (buf == NULL || out == NULL)
		return ED_EINVAL;
	return open_image(buf, len, flags, "(memory)", out, err, errlen);
}

/* A large snapshot is read into anonymous memory backed by transparent
 * huge pages (2 MiB), not mapped from the page cache in 4 KiB pages: a
 * lookup touches three random places of the image (index slot, node,
 * name and data), and with 4 KiB pages each of them is also a TLB miss.
 * Only where THP is "always" or "madvise"; anything failing here falls
 * back to mapping the file. Returns the region (length in *map_len) or
 * NULL. */
#define SNAP_HUGE_MIN (8u << 20)
#define SNAP_HUGE_PAGE (2u << 20)

/* Transparent huge pages on for madvise()d regions ("always" or
 * "madvise"); madvise() itself succeeds even when they are "never". */
static bool thp_enabled(void)
{
	static int known = -1;
	if (known < 0) {
		char buf[128] = "";
		FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
		if (f != NULL) {
			if (fgets(buf, sizeof(buf), f) == NULL)
				buf[0] = '\0';
			fclose(f);
		}
		known = strstr(buf, "[always]") != NULL || strstr(buf, "[madvise]") != NULL;
	}
	return known == 1;
}

static void *read_huge(int fd, size_t len, size_t *map_len)
{
	if (!thp_enabled())
		return NULL;
	size_t want = (len + SNAP_HUGE_PAGE - 1) & ~(size_t)(SNAP_HUGE_PAGE - 1);
	size_t over = want + SNAP_HUGE_PAGE;
	uint8_t *raw = mmap(NULL, over, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		return NULL;
	/* align to 2 MiB, give back the ends */
	uint8_t *p = (uint8_t *)(((uintptr_t)raw + SNAP_HUGE_PAGE - 1) &
	                         ~(uintptr_t)(SNAP_HUGE_PAGE - 1));
	if (p > raw)
		munmap(raw, (size_t)(p - raw));
	if (raw + over > p + want)
		munmap(p + want, (size_t)(raw + over - (p + want)));
	if (madvise(p, want, MADV_HUGEPAGE) != 0)
		goto fail;
	for (size_t done = 0; done < len;) {
		ssize_t n = pread(fd, p + done, len - done, (off_t)done);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			goto fail;
		}
		done += (size_t)n;
	}
	if (mprotect(p, want, PROT_READ) != 0)
		goto fail;
	*map_len = want;
	return p;
fail:
	munmap(p, want);
	return NULL;
}

int snap_open(const char *path, unsigned flags, struct snap **out,
              char *err, size_t errlen)
{
	if (err != NULL && errlen > 0)
		err[0] = 0;
	if (path == NULL || out == NULL)
		return ED_EINVAL;
	struct vctx v = { .path = path, .err = err, .errlen = errlen };
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(&v, errno == ENOENT ? ED_ENOENT : ED_EIO, "open: %s", strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int e = errno;
		close(fd);
		return fail(&v, ED_EIO, "stat: %s", strerror(e));
	}
	if ((uint64_t)st.st_size < sizeof(struct snap_header)) {
		close(fd);
		return fail(&v, ED_EFORMAT, "truncated: %lld octets, shorter than the header",
		            (long long)st.st_size);
	}
	size_t len = (size_t)st.st_size;
	size_t map_len = len;
	void *map = len >= SNAP_HUGE_MIN ? read_huge(fd, len, &map_len) : NULL;
	if (map == NULL) {
		map_len = len;
		map = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	}
	int e = errno;
	close(fd);
	if (map == MAP_FAILED)
		return fail(&v, ED_EIO, "mmap: %s", strerror(e));
	struct snap *s;
	int rc = open_image(map, len, flags, path, &s, err, errlen);
	if (rc != 0) {
		munmap(map, map_len);
		return rc;
	}
	s->map = map;
	s->map_len = map_len;
	*out = s;
	return 0;
}

void snap_close(struct snap *s)
{
	if (s == NULL)
		return;
	if (s->map != NULL)
		munmap(s->map, s->map_len);
	free(s);
}

const struct snap_rrset *snap_node_find(const struct snap *s,
                                        const struct snap_node *n,
                                        uint16_t type)
{
	uint32_t off = n->rrsets;
	for (unsigned i = 0; i < n->nrrsets; i++) {
		const struct snap_rrset *rs = snap_rrset_at(s, off);
		if (rs->type == type)
			return rs;
		if (rs->type > type)
			break;
		off = snap_rrset_next(off, rs);
	}
	return NULL;
}

const struct snap_node *snap_lookup(const struct snap *s, const uint8_t *lname,
                                    size_t len, uint64_t h)
{
	uint64_t i = h & s->mask;
	uint32_t fp = (uint32_t)(h >> 32);
	for (uint32_t p = 0; p < s->hdr->max_probe; p++) {
		uint64_t slot = s->table[i];
		if (slot == 0)
			return NULL;
		if ((uint32_t)(slot >> 32) == fp) {
			const struct snap_node *n = &s->nodes[(uint32_t)slot - 1];
			if (n->namelen == len && memcmp(s->blob + n->name, lname, len) == 0)
				return n;
		}
		i = (i + 1) & s->mask;
	}
	return NULL;
}
