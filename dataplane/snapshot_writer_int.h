/* snapshot_writer_int.h: the snapshot writer's internal structures, shared by
 * snapshot_writer.c (builder API, classification, layout, file I/O),
 * snapshot_links.c (node flags, cuts, wildcards, NSEC/NSEC3 links) and
 * snapshot_emit.c (rrset wire and node emission). Not part of any API:
 * include it from those three files only.
 */
#ifndef EDGEDNS_SNAPSHOT_WRITER_INT_H
#define EDGEDNS_SNAPSHOT_WRITER_INT_H

#include <stddef.h>
#include <stdint.h>

#include "dname.h"
#include "dnsconst.h"
#include "snapshot.h"
#include "snapshot_writer.h"

#define NONE UINT32_MAX
#define RR_WIRE_HDR 12u /* C0 0C, type, class, ttl, rdlength */

/* One RR as added. Sorted in place by (owner, key, sig, seq): each rrset is
 * a run, and the run of the RRSIGs covering it follows it directly. */
struct wrr {
	uint64_t rd;        /* rdata arena offset << 16 | rdlen */
	uint32_t owner;
	uint32_t ttl;
	uint32_t seq;       /* insertion order */
	uint16_t type;
	uint16_t key;       /* type, or the type covered for an RRSIG */
};

/* wowner.flags */
#define O_DATA 0x1u     /* has an rrset that belongs to a canonical node */
#define O_N3 0x2u       /* has an NSEC3 rrset of the zone's chain */
#define O_CANON 0x4u    /* is a canonical node (with data or an ENT) */

/* wowner.tflags: types present (canonical part) */
#define TB_NS 0x001u
#define TB_CNAME 0x002u
#define TB_SOA 0x004u
#define TB_DNAME 0x008u
#define TB_DS 0x010u
#define TB_NSEC 0x020u
#define TB_DNSKEY 0x040u
#define TB_NSEC3PARAM 0x080u

struct wowner {
	uint64_t hash;      /* dname_hash of the lowercase name */
	uint32_t name;      /* names arena offset (lowercase wire name) */
	uint32_t rr_first;  /* run of its RRs in the sorted rrs[] */
	uint32_t rr_end;
	uint32_t node;      /* canonical node index or NONE */
	uint32_t n3;        /* NSEC3 node index or NONE */
	uint8_t len;
	uint8_t flags;
	uint16_t tflags;
};

struct snapw {
	uint8_t apex[DNAME_MAXLEN];
	size_t apex_len;
	uint16_t rclass;
	int have_class;
	int have_n3;            /* n3_rd is set */
	uint64_t n3_rd;         /* rd of the first NSEC3 RR added */

	struct wrr *rrs;
	size_t nrrs, rrs_cap;
	uint8_t *rdata;
	size_t rdata_len, rdata_cap;
	struct wowner *owners;
	size_t nowners, owners_cap;
	uint8_t *names;
	size_t names_len, names_cap;
	uint64_t *htab;         /* hash >> 32 << 32 | (owner id + 1), 0 empty */
	size_t hmask;
	size_t nhashed;         /* owners[0..nhashed) are in htab */
	int unsorted;           /* owners came out of canonical order: no
	                         * more appending without the table */
	uint32_t last_owner;    /* owner of the RR added last (a hint) */

	/* Results of the last build, for messages and tests. */
	uint32_t orphan_sigs;   /* RRSIGs whose covered rrset is absent: dropped */
	uint32_t dropped_n3;    /* NSEC3 RRs of another chain: dropped */
};

/* One NSEC3 node: the owner's hash (from its first label) and owner id. */
struct n3ent {
	uint8_t hash[SNAP_NSEC3_HASHLEN];
	uint32_t id;
};

/* State of one build, from classification to the finished image. */
struct build {
	struct snapw *w;
	struct snap_header *hd;     /* scratch header: params, counts */
	uint32_t *corder;           /* canonical node -> owner id */
	uint32_t ncanon;
	struct n3ent *n3;
	uint32_t nn3;
	struct snap_node *nodes;
	uint32_t *parent;
	int nsec_mode, nsec3_mode;
	char *err;
	size_t errlen;
};

/* Blob emission state: a measuring run (blob NULL) then the real one. */
struct emit {
	struct snapw *w;
	uint8_t *blob;          /* NULL: measure only */
	uint64_t pos;
	uint32_t nrrsets, nrrs, nsigsets;
	uint32_t soa, apex_ns;
	uint64_t *setoff;       /* scratch: offsets of a node's data rrsets */
	size_t setcap;
	char *err;
	size_t errlen;
};

static inline const uint8_t *oname(const struct snapw *w, const struct wowner *o)
{
	return w->names + o->name;
}

static inline const uint8_t *rr_rdata(const struct snapw *w, const struct wrr *r)
{
	return w->rdata + (r->rd >> 16);
}

static inline uint16_t rr_rdlen(const struct wrr *r)
{
	return (uint16_t)(r->rd & 0xffffu);
}

static inline int rr_is_sig(const struct wrr *r)
{
	return r->type == T_RRSIG;
}

/* snapshot_writer.c */

/* Make room for need elements in a growable array (doubling); 0 or ED_ENOMEM. */
int snapw_grow(void **p, size_t *cap, size_t need, size_t elem);

/* The id of the owner lname (lowercase, len octets, hash h), or NONE. */
uint32_t snapw_owner_find(const struct snapw *w, const uint8_t *lname, size_t len,
                          uint64_t h);

/* End of the run (same owner, key and sig) starting at i in the sorted rrs[]. */
size_t snapw_run_end(const struct snapw *w, size_t i, size_t end);

/* snapshot_links.c */

/* The NSEC3 nodes (owners with O_N3) sorted by hash into b->n3, b->nn3; sets
 * each owner's n3. ED_EZONE (message in b->err) for a bad or repeated hash. */
int snapw_nsec3_order(struct build *b);

/* Flags, cut, wildcard and chain links of the canonical nodes in b->nodes
 * (which must be allocated; the rrset fields are filled by emission). */
int snapw_link_nodes(struct build *b);

/* snapshot_emit.c */

/* Emit every node (canonical, then NSEC3) into e->blob from e->pos; in the
 * measuring run (e->blob NULL) nothing is stored, only e->pos advances. */
int snapw_emit_all(struct build *b, struct emit *e);

#endif
