/* dname.h: domain names in wire form: lowercase, label walk, canonical order, hash.
 *
 * Names here are uncompressed wire names (length-prefixed labels ending in
 * the root label 0). All functions are pure: no allocation, no I/O, safe on
 * any lcore or thread.
 */
#ifndef EDGEDNS_DNAME_H
#define EDGEDNS_DNAME_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define DNAME_MAXLEN 255     /* RFC 1035 2.3.4, wire octets incl. root */
#define DNAME_MAXLABELS 128  /* labels incl. root */
#define DNAME_LABEL_MAX 63

/* Seed of the name hash: the hash of the root name. */
#define DNAME_HASH_SEED 0x9e3779b97f4a7c15ULL

/* Offset just after the wire name at p in message m of len octets, a
 * compression pointer ending it when ptr_ok; 0 when the name is malformed
 * or runs past len. */
static inline size_t dname_skip_wire(const uint8_t *m, size_t len, size_t p, int ptr_ok)
{
	for (unsigned guard = 0; guard < 128; guard++) {
		if (p >= len)
			return 0;
		uint8_t l = m[p];
		if (l >= 0xc0)
			return ptr_ok && len - p >= 2 ? p + 2 : 0;
		if (l > 63)
			return 0;
		p += 1u + l;
		if (l == 0)
			return p;
	}
	return 0;
}

static inline uint8_t dname_lower_octet(uint8_t c)
{
	return (uint8_t)(c + ((uint8_t)(c - 'A') < 26u ? 32 : 0));
}

static inline uint64_t dname_hash_mix(uint64_t h, uint64_t w)
{
	h = (h ^ w) * 0x9fb21c651e98df25ULL;
	return h ^ (h >> 32);
}

/* End of a label: spread every input bit over the low bits the index uses. */
static inline uint64_t dname_hash_fin(uint64_t h)
{
	h *= 0xff51afd7ed558ccdULL;
	return h ^ (h >> 33);
}

/* Mix one label (its length octet and its octets) into the hash of the
 * suffix to its right. The hash of a name is built from the root leftward:
 * h(root) = DNAME_HASH_SEED, h(label.suffix) = dname_hash_step(h(suffix), label).
 * So one pass from the right yields the hash of every suffix of a name.
 * The label must already be lowercase. Reads exactly 1 + lab[0] octets:
 * the label in 8-octet words, the last one zero-filled. */
static inline uint64_t dname_hash_step(uint64_t h, const uint8_t *lab)
{
	size_t n = 1u + lab[0];
	uint64_t w;
	while (n > 8) {
		memcpy(&w, lab, 8);
		h = dname_hash_mix(h, w);
		lab += 8;
		n -= 8;
	}
	w = 0;
	memcpy(&w, lab, n);
	return dname_hash_fin(dname_hash_mix(h, w));
}

/* The same value as dname_hash_step(), for a label in a buffer that may be
 * read up to 8 octets past the label's end (the engine's padded copies):
 * whole-word loads, the tail masked instead of copied. Little-endian. */
static inline uint64_t dname_hash_step_padded(uint64_t h, const uint8_t *lab)
{
	size_t n = 1u + lab[0];
	uint64_t w;
	while (n > 8) {
		memcpy(&w, lab, 8);
		h = dname_hash_mix(h, w);
		lab += 8;
		n -= 8;
	}
	memcpy(&w, lab, 8);
	if (n < 8)
		w &= (1ULL << (8 * n)) - 1;
	return dname_hash_fin(dname_hash_mix(h, w));
}

/* Lowercase ASCII letters in the 8 octets of w, all at once. */
static inline uint64_t dname_lower_word(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ULL;
	uint64_t low7 = w & (0x7f * ones);
	uint64_t ge_a = low7 + (0x80 - 'A') * ones;      /* bit 7 set: >= 'A' */
	uint64_t gt_z = low7 + (0x80 - 'Z' - 1) * ones;  /* bit 7 set: > 'Z' */
	uint64_t up = ge_a & ~gt_z & ~w & (0x80 * ones);
	return w | (up >> 2);
}

/* Whether the len octets at a and b are equal, compared a word at a time:
 * both must be readable up to len rounded up to 8. */
static inline int dname_eq_padded(const uint8_t *a, const uint8_t *b, size_t len)
{
	uint64_t x, y, diff = 0;
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		diff |= x ^ y;
	}
	if (i < len) {
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		diff |= (x ^ y) & ((1ULL << (8 * (len - i))) - 1);
	}
	return diff == 0;
}

/* Length in octets of the wire name at name, which must be well formed. */
size_t dname_len(const uint8_t *name);

/* Label count of a well-formed wire name, not counting the root label. */
unsigned dname_labels(const uint8_t *name);

/* Check that name[0..maxlen) starts with a well-formed uncompressed wire
 * name; returns its length, or 0 when it is malformed (label > 63, name
 * > 255, compression pointer, runs past maxlen). */
size_t dname_check(const uint8_t *name, size_t maxlen);

/* Lowercase a well-formed wire name of len octets from src into dst
 * (src == dst allowed). */
void dname_lower(uint8_t *dst, const uint8_t *src, size_t len);

/* Fill off[] with the offset of each label of a well-formed name, leftmost
 * first; off[n] is the offset of the root label. Returns n (labels not
 * counting the root). off must hold DNAME_MAXLABELS entries. */
unsigned dname_label_offsets(const uint8_t *name, uint8_t *off);

/* Hash of a whole lowercase name (same value the suffix walk gives). */
uint64_t dname_hash(const uint8_t *lname);

/* Hashes of every suffix of a lowercase name: hs[i] is the hash of the name
 * starting at label i (hs[0] the whole name, hs[n] the root = seed).
 * off[] as from dname_label_offsets(), n its return value. */
void dname_hash_suffixes(const uint8_t *lname, const uint8_t *off, unsigned n,
                         uint64_t *hs);

/* Same, for a name in a buffer readable 8 octets past its end. */
static inline void dname_hash_suffixes_padded(const uint8_t *lname, const uint8_t *off,
                                              unsigned n, uint64_t *hs)
{
	uint64_t h = DNAME_HASH_SEED;
	hs[n] = h;
	for (unsigned i = n; i-- > 0;) {
		h = dname_hash_step_padded(h, lname + off[i]);
		hs[i] = h;
	}
}

/* DNSSEC canonical order (RFC 4034 6.1) of two lowercase wire names:
 * <0, 0, >0. */
int dname_canon_cmp(const uint8_t *a, const uint8_t *b);

/* 1 when lowercase name sub is equal to or below lowercase name parent. */
int dname_is_sub(const uint8_t *sub, const uint8_t *parent);

/* Presentation form of a wire name into buf (for messages and tests);
 * returns buf. Always NUL-terminates when size > 0. */
char *dname_to_str(const uint8_t *name, char *buf, size_t size);

/* Wire form of a presentation name ("www.example.com." or relative to the
 * root without the dot); returns the length or 0 when invalid. Handles
 * \. and \DDD escapes. For configuration, tests and tools. */
size_t dname_from_str(const char *str, uint8_t *out);

#endif
