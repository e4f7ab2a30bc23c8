/* publish.h: a verified zone version goes live, and stays so across
 * restarts.
 *
 * publish_zone() writes the zone's text (one RR per line, canonical
 * order) and compiles it with the zone compiler (so the compiler's checks
 * are the first gate), writes the snapshot with the writer's temporary
 * name + fsync + rename, renames the text into place next to it, then
 * tells the dataplane to load the snapshot and confirms, from the
 * dataplane's own "zones" reply, that the zone is served with the new
 * serial. Until the snapshot's rename nothing on disk changes: a failure
 * (compiler error, disk full, crash) leaves the last good snapshot and
 * text in place, and the dataplane serving it.
 *
 * File names come from cfg_zone_filename() (config.h): a zone name is
 * never used as a path as it is. In snapshot_dir: NAME.snap (what the
 * dataplane loads, also at boot) and NAME.zone (the text, the base for the
 * next IXFR after a restart).
 *
 * Control-plane only: allocates, blocks on files and on the dataplane.
 */
#ifndef EDGEDNS_PUBLISH_H
#define EDGEDNS_PUBLISH_H

#include <limits.h>
#include <stdint.h>

#include <ldns/ldns.h>

#include "compile.h"

struct publish_conf {
	const char *snapshot_dir;
	const char *dataplane_socket;   /* NULL: write files only (tests, no dataplane) */
	unsigned timeout_ms;            /* for the dataplane's reply; 0: 30000 */
};

struct publish_result {
	uint32_t serial;
	char snapshot[PATH_MAX];
	char zonefile[PATH_MAX];
	uint64_t rrs;
	double compile_s;               /* text + compile + snapshot write */
	double load_s;                  /* dataplane load until confirmed */
};

/* Publish rrs (the whole zone, SOA included; any order; a repeated SOA
 * counts once) as zone (presentation form). Compiler messages go to diag
 * (may be NULL). Returns 0, or a negative ED_E* code with the reason in
 * err: ED_EFORMAT when the compiler refused the zone, ED_EIO for files,
 * and for the dataplane not answering, refusing the load, or serving
 * another serial afterwards, ED_EINVAL for a zone that is not a domain
 * name, ED_ENOMEM. A dataplane failure comes after the files were
 * replaced: they hold the new version (loaded at the next reload or
 * boot). Not concurrently for the same zone (NAME.zone.tmp is shared). */
int publish_zone(const struct publish_conf *pc, const char *zone, const ldns_rr_list *rrs,
                 struct publish_result *res, struct compile_diag *diag, char *err,
                 size_t errlen);

/* The last published version of zone, read back from NAME.zone: *rrs
 * (caller frees with ldns_rr_list_deep_free) and *serial. ED_ENOENT when
 * none was published. */
int publish_load_last(const struct publish_conf *pc, const char *zone, ldns_rr_list **rrs,
                      uint32_t *serial, char *err, size_t errlen);

/* Remove zone's files (a zone dropped from the configuration or a
 * catalog) after telling the dataplane to drop it. ED_ENOENT: nothing. */
int publish_remove(const struct publish_conf *pc, const char *zone, char *err, size_t errlen);

/* One line to the dataplane's command socket and its one-line JSON reply
 * (*reply malloc()ed, no newline; at most 16 MiB), on a fresh connection,
 * all within timeout_ms (0: 30000). ED_EIO with the reason otherwise
 * (ED_ENOMEM when out of memory). */
int dpctl_command(const char *sock, const char *line, unsigned timeout_ms, char **reply,
                  char *err, size_t errlen);

#endif
