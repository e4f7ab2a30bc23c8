/* snapshot_writer.h: build a zone snapshot file from resource records.
 *
 * The zone compiler (control/) feeds checked RRs, then writes the file. The
 * writer computes everything the engine relies on: node tree with empty
 * non-terminals, canonical order, hash index, cut/wildcard/NSEC/NSEC3
 * links, ready-to-copy rrset wire. Control-plane only (allocates, does I/O).
 */
#ifndef EDGEDNS_SNAPSHOT_WRITER_H
#define EDGEDNS_SNAPSHOT_WRITER_H

#include <stddef.h>
#include <stdint.h>

struct snapw;

struct snapw_stats {
	uint64_t file_size;
	uint32_t nnodes;
	uint32_t nrrsets;
	uint32_t nrrs;
	double bytes_per_rr;    /* file_size / nrrs */
	uint64_t checksum;      /* the header's: the identity of this version */
};

/* New builder for the zone whose apex is the wire name apex (any case).
 * NULL when out of memory or apex malformed. */
struct snapw *snapw_new(const uint8_t *apex);

/* Add one RR. owner and rdata in wire form, uncompressed (names inside
 * rdata as well); owner must be at or below the apex. RRs of the same owner
 * and type form one rrset in the order added (TTL of the set: the first
 * RR's). RRSIG RRs are attached to the set of their type covered. Returns 0
 * or ED_EINVAL (malformed, out of zone), ED_ELIMIT (blob over 4 GiB, rrset
 * wire over 65535 octets), ED_ENOMEM. Duplicates are the caller's check. */
int snapw_add_rr(struct snapw *w, const uint8_t *owner, uint16_t type,
                 uint16_t rclass, uint32_t ttl, const uint8_t *rdata,
                 uint16_t rdlen);

/* Build the image and write it to path: to "path.tmp.<pid>", fsync, rename
 * over path, fsync the directory. The builder can be freed afterwards.
 * Requires an SOA at the apex (ED_EZONE otherwise). stats may be NULL.
 * On error a message goes to err (when not NULL) and path is untouched. */
int snapw_write(struct snapw *w, const char *path, struct snapw_stats *stats,
                char *err, size_t errlen);

/* Build the image into memory (tests, fuzzing). *buf is malloc()ed, the
 * caller frees it. */
int snapw_build(struct snapw *w, void **buf, size_t *len,
                struct snapw_stats *stats, char *err, size_t errlen);

void snapw_free(struct snapw *w);

#endif
