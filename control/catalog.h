/* catalog.h: the content of a catalog zone (RFC 9432, consumer side) and
 * the member list kept in the state directory.
 *
 * catz_parse() reads a transferred catalog version: version.$CATZ must be
 * one TXT RR "2" (version 1 and a missing or repeated version are
 * refused); each <unique-id>.zones.$CATZ holding exactly one PTR names a
 * member zone. Other properties (group, coo) and other records are
 * ignored. Refused ("broken", RFC 9432 5.1): a class other than IN, a
 * member node with more than one PTR, a member name listed twice, a PTR
 * target that cannot be a file name (cfg_zone_filename()), more members
 * than the limit.
 *
 * Control-plane only; no shared state: any thread.
 */
#ifndef EDGEDNS_CATALOG_H
#define EDGEDNS_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include <ldns/ldns.h>

#define CATZ_MAX_MEMBERS 100000u   /* per catalog */
#define CATZ_ID_MAX 256            /* a label, \DDD-escaped, + NUL */

struct catz_member {
	uint8_t wire[256];           /* the member's name, lowercase wire form */
	size_t wire_len;
	char name[1024];             /* presentation form, lowercase, final dot */
	char id[CATZ_ID_MAX];        /* the unique-id label, presentation form */
};

/* Members sorted by wire name. */
struct catz_set {
	struct catz_member *m;
	size_t n;
};

/* Parse zone (the whole catalog version) of the catalog at apex (lowercase
 * wire form) into *out (free with catz_set_free()); at most max members
 * (0: CATZ_MAX_MEMBERS). ED_EZONE with the reason in err for a version
 * that must not be processed, ED_ELIMIT for too many members,
 * ED_ENOMEM. *out is empty on failure. */
int catz_parse(const ldns_rr_list *zone, const uint8_t *apex, size_t apex_len, size_t max,
               struct catz_set *out, char *err, size_t errlen);

void catz_set_free(struct catz_set *set);

/* The member with this wire name (lowercase), or NULL. */
const struct catz_member *catz_find(const struct catz_set *set, const uint8_t *wire,
                                    size_t wire_len);

/* Save the member list of catalog (presentation form) in dir as
 * NAME.catalog (NAME from cfg_zone_filename()), atomically (temporary
 * file, fsync, rename, directory fsync). */
int catz_save(const char *dir, const char *catalog, uint32_t serial, const struct catz_set *set,
              char *err, size_t errlen);

/* Read it back. ED_ENOENT when none, ED_EFORMAT when not ours. */
int catz_load(const char *dir, const char *catalog, struct catz_set *out, uint32_t *serial,
              char *err, size_t errlen);

/* Remove it. ED_ENOENT when there was none. */
int catz_remove(const char *dir, const char *catalog, char *err, size_t errlen);

#endif
