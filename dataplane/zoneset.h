/* zoneset.h: an immutable set of loaded zone snapshots, and its publication.
 *
 * A zoneset is built once (control thread) and then only read. Readers find
 * the zone of a query name by the longest apex that is a suffix of it.
 * Changing the served zones means building a new zoneset and publishing it
 * with one pointer store (zs_publish); the old set and the snapshots no
 * longer in the new one are freed after every reader has passed a
 * quiescent state (rte_rcu_qsbr).
 */
#ifndef EDGEDNS_ZONESET_H
#define EDGEDNS_ZONESET_H

#include <stdint.h>
#include <stddef.h>

#include "snapshot.h"

struct zs_slot {
	uint64_t hash;             /* dname_hash(apex) */
	const struct snap *snap;   /* NULL: empty slot */
};

struct zoneset {
	uint32_t nzones;
	uint32_t mask;             /* slots - 1, slots a power of two */
	uint8_t min_labels;        /* fewest labels of any apex */
	uint8_t max_labels;        /* most labels of any apex */
	uint16_t pad;
	uint32_t refs_pad;
	const struct snap **zones; /* the nzones snapshots, any order */
	struct zs_slot slots[];    /* open addressing, linear probe */
};

/* Build a zoneset over n snapshots (the array is copied, the snapshots are
 * not; the caller keeps ownership of them). Two snapshots with the same
 * apex: ED_EEXIST. Returns NULL on allocation failure or duplicate (with
 * *err set to the code when err is not NULL). n may be 0. */
struct zoneset *zs_new(const struct snap *const *snaps, uint32_t n, int *err);

/* Free the set itself (not the snapshots). NULL is ignored. */
void zs_free(struct zoneset *zs);

/* Zone whose apex has hash h and equals lname (lowercase), or NULL. */
const struct snap *zs_find_exact(const struct zoneset *zs, const uint8_t *lname,
                                 size_t len, uint64_t h);

/* The zone with the longest apex that is a suffix of the lowercase name
 * whose label offsets (off[0..n]) and suffix hashes (hs[0..n]) are given
 * (see dname_hash_suffixes). *label is set to the index of the label where
 * the apex starts. NULL when no zone encloses the name. Lock-free, no
 * allocation: callable per packet. */
const struct snap *zs_find(const struct zoneset *zs, const uint8_t *lname,
                           const uint8_t *off, unsigned n, const uint64_t *hs,
                           unsigned *label);

#endif
