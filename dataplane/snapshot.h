/* snapshot.h: the zone snapshot file format and its reader.
 *
 * One immutable, position-independent file per zone. All integers are host
 * (little-endian x86) order except inside wire-format bytes, which are
 * network order. Offsets, never pointers. The reader maps the file, checks
 * it once (bounds, structure, checksum) and from then on the answer engine
 * uses it without any further check or parse.
 *
 * File layout (every section 64-byte aligned):
 *
 *   struct snap_header                      at 0, header_size bytes
 *   struct snap_node   nodes[nnodes]        at nodes_off
 *   uint64_t           table[table_slots]   at table_off   (name hash index)
 *   struct snap_nsec3  nsec3[nnsec3]        at nsec3_off   (sorted by hash)
 *   uint8_t            blob[blob_size]      at blob_off    (names, rrsets)
 *
 * Nodes. One node per owner name in the zone, plus one per empty
 * non-terminal (a name with no data that has descendants with data), plus
 * one per NSEC3 owner name. Nodes [0, ncanon) are all names except NSEC3
 * owners, sorted in DNSSEC canonical order (RFC 4034 6.1), so node 0 is the
 * apex; they are the names a query can reach, and they alone are in the
 * hash index. Nodes [ncanon, nnodes) are the NSEC3 owners (reached only
 * through the nsec3 table), in NSEC3 hash order.
 *
 * Hash index. table_slots is a power of two, load at most 1/2. A slot is
 * 0 when empty, else ((uint64_t)fingerprint << 32) | (node index + 1),
 * where for h = dname_hash(lowercase owner name): the home slot is
 * h & (table_slots - 1), the fingerprint is (uint32_t)(h >> 32), and
 * collisions probe linearly (wrapping). max_probe is the longest probe
 * sequence any present name needs (a lookup may stop after max_probe
 * slots). A fingerprint match is confirmed by comparing the node's name.
 *
 * Blob. Offsets into the blob are uint32_t and 0 means "none": the blob
 * starts with 8 zero octets so no real item sits at 0. Items:
 *   - names: lowercase uncompressed wire names (no alignment);
 *   - rrsets: struct snap_rrset (4-byte aligned) followed by its wire
 *     octets, padded to 4. A node's rrsets are consecutive: the first at
 *     node.rrsets, each next at the end of the previous (offset + sizeof
 *     header + wlen rounded up to 4). Within a node they are sorted by type,
 *     except that RRSIG rrsets are never in a node's list: each rrset's
 *     signatures are a separate struct snap_rrset of type RRSIG at
 *     rrset.sigs, holding the RRSIG RRs that cover that type.
 *
 * RRset wire form ("ready to copy"): the RRs of the set in the zone's
 * order, each as
 *     C0 0C | type | class | ttl | rdlength | rdata
 * i.e. with the owner already written as a compression pointer to offset
 * 12 of a DNS message, where the question name sits. For the rdata of
 * types whose names may be compressed (NS, CNAME, PTR, MX, SOA: RFC 3597
 * 4), each name in rdata is written as its leading labels as in the zone
 * file (original case) followed, where the name's remaining suffix equals
 * (case-insensitively) a suffix of the owner name, by a pointer
 * 0xC000 | (12 + k), k the offset of that suffix in the owner name; a name
 * with no common suffix except the root is written whole. So when the
 * answer's owner is the question name, the bytes are the final response
 * bytes. All other types' rdata is written exactly as in the zone (no
 * compression, original case). SNAP_RRSET_RELOC is set on an rrset whose
 * wire holds at least one such owner-relative pointer.
 *
 * NSEC3 table. For NSEC3-signed zones: one struct snap_nsec3 per NSEC3
 * owner, sorted by the raw 20-octet SHA-1 hash (memcmp order), with the
 * index of the node that owns the NSEC3 rrset.
 */
#ifndef EDGEDNS_SNAPSHOT_H
#define EDGEDNS_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#define SNAP_MAGIC "EDNSSNAP"       /* 8 octets, no NUL */
#define SNAP_VERSION 1u
#define SNAP_ALIGN 64u
#define SNAP_BLOB_MAX 0xffffffffULL /* blob offsets are 32-bit */
#define SNAP_NSEC3_HASHLEN 20
/* NSEC3 chains served: SHA-1 only, at most this many extra iterations (the
 * engine hashes per negative answer; RFC 9276 asks for 0). */
#define SNAP_NSEC3_ITERS_MAX 500

/* Header flags. */
#define SNAP_F_SIGNED 0x1u  /* zone has DNSKEY and RRSIGs */
#define SNAP_F_NSEC 0x2u    /* NSEC chain present */
#define SNAP_F_NSEC3 0x4u   /* NSEC3 chain present (nsec3 table, params) */

struct snap_header {
	char magic[8];           /* SNAP_MAGIC */
	uint32_t version;        /* SNAP_VERSION */
	uint32_t header_size;    /* sizeof(struct snap_header) */
	uint64_t file_size;      /* whole file */
	uint64_t checksum;       /* XXH3_64bits of octets [header_size, file_size) */
	uint64_t created;        /* unix time of the build */
	uint32_t serial;         /* SOA serial */
	uint32_t flags;          /* SNAP_F_* */
	uint32_t nnodes;         /* all nodes */
	uint32_t ncanon;         /* nodes in canonical order and in the index */
	uint32_t nrrsets;        /* rrsets, RRSIG sets not counted */
	uint32_t nrrs;           /* resource records, RRSIGs included */
	uint32_t soa;            /* blob offset of the apex SOA rrset */
	uint32_t apex_ns;        /* blob offset of the apex NS rrset */
	uint32_t neg_ttl;        /* min(SOA TTL, SOA MINIMUM): TTL of the SOA in negative answers (RFC 2308 3) */
	uint32_t max_probe;      /* longest probe sequence in the hash index */
	uint64_t nodes_off;      /* file offset of nodes[] */
	uint64_t table_off;      /* file offset of table[] */
	uint64_t table_slots;    /* power of two */
	uint64_t nsec3_off;      /* file offset of nsec3[] (0 when none) */
	uint64_t nnsec3;
	uint64_t blob_off;
	uint64_t blob_size;
	/* NSEC3PARAM of the chain the table is built from (SNAP_F_NSEC3). */
	uint8_t nsec3_alg;       /* 1 = SHA-1 */
	uint8_t nsec3_flags;
	uint16_t nsec3_iters;
	uint8_t nsec3_saltlen;
	uint8_t nsec3_salt[255];
	uint8_t apex_len;        /* octets of apex[] */
	uint8_t apex[255];       /* lowercase wire name of the zone */
	uint8_t reserved[1024 - 652]; /* zero; sizeof == 1024 */
};

/* Node flags. */
#define SNAP_N_APEX 0x0001u     /* the zone apex (node 0) */
#define SNAP_N_DELEG 0x0002u    /* NS here and not the apex: a zone cut */
#define SNAP_N_DNAME 0x0004u    /* has a DNAME rrset */
#define SNAP_N_CNAME 0x0008u    /* has a CNAME rrset */
#define SNAP_N_ENT 0x0010u      /* empty non-terminal: no rrsets */
#define SNAP_N_WILD 0x0020u     /* the name's leftmost label is "*" */
#define SNAP_N_NSEC3 0x0040u    /* an NSEC3 owner, outside the canonical area */
#define SNAP_N_HAS_DS 0x0080u   /* a delegation with a DS rrset */
#define SNAP_N_NSEC 0x0100u     /* has an NSEC rrset */

struct snap_node {
	uint32_t name;      /* blob offset of the lowercase owner name */
	uint32_t rrsets;    /* blob offset of the first rrset, 0 when none */
	uint16_t nrrsets;   /* rrsets in the node's list (RRSIG sets excluded) */
	uint16_t flags;     /* SNAP_N_* */
	uint8_t namelen;    /* octets of the owner name */
	uint8_t nlabels;    /* labels of the owner name, root not counted */
	uint16_t pad;
	uint32_t cut;       /* index + 1 of the nearest strict ancestor that is a
	                       SNAP_N_DELEG or SNAP_N_DNAME node; 0 when none.
	                       A node with cut != 0 is occluded by that cut (glue
	                       below a delegation, or data below a DNAME). */
	uint32_t wild;      /* index + 1 of the node "*.<this name>", 0 if none */
	uint32_t nsec;      /* NSEC zones: index + 1 of the last node at or before
	                       this one in canonical order that has an NSEC rrset
	                       (its NSEC matches or covers this name); 0 if none.
	                       NSEC3 zones: index + 1 into nsec3[] of the entry
	                       whose hash equals H(this name); 0 if none. */
	uint32_t wnsec;     /* NSEC zones: index + 1 of the node whose NSEC
	                       covers "*.<this name>" (its canonical predecessor's
	                       NSEC); NSEC3 zones: index + 1 into nsec3[] of the
	                       entry that covers or matches H(*.<this name>);
	                       0 if none or unsigned. */
};

/* RRset flags. */
#define SNAP_RRSET_RELOC 0x1u  /* wire holds owner-relative pointers (see above) */

struct snap_rrset {
	uint16_t type;      /* RR type (host order) */
	uint16_t count;     /* RRs in the set */
	uint32_t ttl;       /* TTL of the set (all RRs carry it in their wire too) */
	uint32_t sigs;      /* blob offset of the RRSIG rrset covering this type, 0 if none */
	uint32_t wlen;      /* octets of wire[] */
	uint16_t flags;     /* SNAP_RRSET_* */
	uint16_t pad;
	/* uint8_t wire[wlen] follows, then padding to 4 */
};

struct snap_nsec3 {
	uint8_t hash[SNAP_NSEC3_HASHLEN];
	uint32_t node;      /* node index of the NSEC3 owner */
};

/* A loaded snapshot: read-only after snap_open(), shareable by any number
 * of reader threads without locks. */
struct snap {
	const struct snap_header *hdr;
	const struct snap_node *nodes;
	const uint64_t *table;
	const struct snap_nsec3 *nsec3;
	const uint8_t *blob;
	uint64_t mask;          /* table_slots - 1 */
	void *map;              /* mmap base, or NULL when from memory */
	size_t map_len;
	char path[256];
};

/* snap_open() flags. */
#define SNAP_OPEN_NOCHECKSUM 0x1u /* skip the checksum (fuzzing: reach the
                                     structural checks with corrupt content) */

/* Map and validate the snapshot file at path. On success *out is the new
 * snapshot and 0 is returned; on failure a negative ED_E* code and, when
 * err is not NULL, a message naming the file and the first problem.
 * Validation checks every offset, count, name and rrset wire, so the engine
 * may follow any offset in a validated snapshot without a check.
 * Control-plane only: allocates and does I/O. */
int snap_open(const char *path, unsigned flags, struct snap **out,
              char *err, size_t errlen);

/* Validate a snapshot image already in memory (no copy is made: buf must
 * outlive the snapshot). Same checks as snap_open(). */
int snap_open_mem(const void *buf, size_t len, unsigned flags,
                  struct snap **out, char *err, size_t errlen);

/* Unmap and free. Only once no reader can still use it (after the grace
 * period). NULL is ignored. */
void snap_close(struct snap *s);

static inline const struct snap_rrset *
snap_rrset_at(const struct snap *s, uint32_t off)
{
	return (const struct snap_rrset *)(const void *)(s->blob + off);
}

static inline const uint8_t *snap_rrset_wire(const struct snap_rrset *rs)
{
	return (const uint8_t *)(rs + 1);
}

/* Offset of the rrset following rs in a node's list. */
static inline uint32_t snap_rrset_next(uint32_t off, const struct snap_rrset *rs)
{
	return off + (uint32_t)sizeof(*rs) + ((rs->wlen + 3u) & ~3u);
}

static inline const uint8_t *snap_node_name(const struct snap *s,
                                            const struct snap_node *n)
{
	return s->blob + n->name;
}

/* Structure of the rdata the engine reads in the types stored verbatim
 * (DNAME, RRSIG, NSEC, NSEC3, NSEC3PARAM): 1 when well formed or of
 * another type, 0 when not. The writer checks with it at add time and the
 * reader at load time. */
int snap_rdata_verbatim_ok(uint16_t type, const uint8_t *rd, size_t n);

/* The node's rrset of the given type, or NULL. No checks: s is validated. */
const struct snap_rrset *snap_node_find(const struct snap *s,
                                        const struct snap_node *n,
                                        uint16_t type);

/* Exact lookup of a lowercase wire name of len octets with hash h
 * (dname_hash()). Returns the node or NULL. Canonical nodes only. */
const struct snap_node *snap_lookup(const struct snap *s, const uint8_t *lname,
                                    size_t len, uint64_t h);

#endif
