/* zoneset.h: an immutable set of loaded zone snapshots, and its publication.
 *
 * A zoneset is built once (control thread) and then only read. Readers find
 * the zone of a query name by the longest apex that is a suffix of it.
 * Changing the served zones means building a new zoneset and publishing it
 * with one pointer store (zs_publish); the old set and the snapshots no
 * longer in the new one are freed after every reader has passed a
 * quiescent state (rte_rcu_qsbr).
 *
 * A zone may be marked expired (a secondary whose SOA EXPIRE passed
 * without a refresh): it stays in the set, so it still encloses the names
 * below its apex, but the engine answers them SERVFAIL instead of from its
 * data. The mark is a flag in the slot the lookup reads anyway.
 */
#ifndef EDGEDNS_ZONESET_H
#define EDGEDNS_ZONESET_H

#include <stdint.h>
#include <stddef.h>
#include <string.h>

#include "dname.h"
#include "snapshot.h"

#define ZS_F_EXPIRED 1u           /* zs_slot.flags: answer SERVFAIL */

struct zs_slot {
	uint32_t hash_hi;          /* dname_hash(apex) >> 32 (the low bits
	                              place the slot; the apex is compared) */
	uint32_t flags;            /* ZS_F_* */
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

/* As zs_new(), with each zone's ZS_F_* flags (flags NULL: all 0). */
struct zoneset *zs_new_flags(const struct snap *const *snaps, const uint32_t *flags,
                             uint32_t n, int *err);

/* Free the set itself (not the snapshots). NULL is ignored. */
void zs_free(struct zoneset *zs);

/* Slot of the zone whose apex has hash h and equals lname (lowercase), or
 * NULL. */
static inline const struct zs_slot *zs_slot_exact(const struct zoneset *zs,
                                                  const uint8_t *lname, size_t len,
                                                  uint64_t h)
{
	for (uint32_t j = (uint32_t)h & zs->mask;; j = (j + 1) & zs->mask) {
		const struct zs_slot *sl = &zs->slots[j];
		if (sl->snap == NULL)
			return NULL;
		if (sl->hash_hi == (uint32_t)(h >> 32) && sl->snap->hdr->apex_len == len &&
		    memcmp(sl->snap->hdr->apex, lname, len) == 0)
			return sl;
	}
}

/* Zone whose apex has hash h and equals lname (lowercase), or NULL. */
static inline const struct snap *zs_find_exact(const struct zoneset *zs,
                                               const uint8_t *lname, size_t len,
                                               uint64_t h)
{
	const struct zs_slot *sl = zs_slot_exact(zs, lname, len, h);
	return sl != NULL ? sl->snap : NULL;
}

/* The zone with the longest apex that is a suffix of the lowercase name
 * whose label offsets (off[0..n]) and suffix hashes (hs[0..n]) are given
 * (see dname_hash_suffixes). *label is set to the index of the label where
 * the apex starts and *flags to the zone's ZS_F_* flags (an expired zone
 * is found like any other: the caller decides what it answers). NULL when
 * no zone encloses the name. Lock-free, no
 * allocation: callable per packet. lname must be readable 8 octets past
 * its end (the engine's padded copies): apexes are compared word-wise. */
static inline __attribute__((always_inline)) const struct snap *zs_find(const struct zoneset *zs, const uint8_t *lname,
                                         const uint8_t *off, unsigned n,
                                         const uint64_t *hs, unsigned *label,
                                         uint32_t *flags)
{
	if (zs == NULL || zs->nzones == 0 || n < zs->min_labels)
		return NULL;
	/* Longest apex first: start at the suffix with max_labels labels. */
	unsigned first = n > zs->max_labels ? n - zs->max_labels : 0;
	unsigned last = n - zs->min_labels;
	for (unsigned i = first; i <= last; i++) {
		uint64_t h = hs[i];
		size_t len = (size_t)(off[n] - off[i]) + 1u;
		for (uint32_t j = (uint32_t)h & zs->mask;; j = (j + 1) & zs->mask) {
			const struct zs_slot *sl = &zs->slots[j];
			if (sl->snap == NULL)
				break;
			/* the header's apex[] is followed by more header: padded */
			if (sl->hash_hi == (uint32_t)(h >> 32) && sl->snap->hdr->apex_len == len &&
			    dname_eq_padded(sl->snap->hdr->apex, lname + off[i], len)) {
				*label = i;
				*flags = sl->flags;
				return sl->snap;
			}
		}
	}
	return NULL;
}

#endif
