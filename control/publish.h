/* publish.h: a verified zone version goes live, and stays so across
 * restarts.
 *
 * publish_zone() puts the RRs in canonical order (rrsort.h, SOA first),
 * compiles them with the zone compiler straight from the ldns RRs (so the
 * compiler's checks are the first gate), writes the snapshot with the
 * writer's temporary name + fsync + rename, tells the dataplane to load
 * it and confirms, from the dataplane's own "zones" reply, that the zone
 * is served with the new serial; then, off the path to the answer, it
 * writes the zone's text (one RR a line, that order) under a temporary
 * name, fsyncs and renames it into place. Until the snapshot's rename
 * nothing on disk changes: a failure (compiler error, disk full, crash)
 * leaves the last good snapshot and text in place, and the dataplane
 * serving it. Between the snapshot's rename and the text's, NAME.snap is
 * the new version and NAME.zone the one before it: a process that dies
 * there leaves the two apart, which publish_snapshot_serial() shows at
 * the next start (the text is still a true earlier version, a good base
 * for an IXFR; the zone service refreshes and publishes again).
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
	uint64_t checksum;              /* the snapshot header's (its identity) */
	char snapshot[PATH_MAX];
	char zonefile[PATH_MAX];
	uint64_t rrs;
	double compile_s;               /* order + compile + snapshot write */
	double load_s;                  /* dataplane load until confirmed */
	double text_s;                  /* NAME.zone written, after the load */
};

/* Publish rrs (the whole zone, SOA included; any order, fastest in the
 * one publish_order() gives; a repeated SOA counts once) as zone
 * (presentation form). Compiler messages go to diag (may be NULL), at
 * NAME.zone:LINE with the line the RR has in the text of this version. Returns 0, or a negative ED_E* code with the reason in
 * err: ED_EFORMAT when the compiler refused the zone, ED_EIO for files,
 * and for the dataplane not answering, refusing the load, or serving
 * another serial afterwards, ED_EINVAL for a zone that is not a domain
 * name, ED_ENOMEM. A dataplane failure comes after the files were
 * replaced: they hold the new version (loaded at the next reload or
 * boot); so do a text that could not be written (ED_EIO, the snapshot
 * is the new version). Not concurrently for the same zone (NAME.zone.tmp
 * is shared). */
int publish_zone(const struct publish_conf *pc, const char *zone, const ldns_rr_list *rrs,
                 struct publish_result *res, struct compile_diag *diag, char *err,
                 size_t errlen);

/* Reorder rrs in place as publish_zone() orders a version: the first
 * SOA first, then every other RR in canonical order (rrsort.h). A list in
 * that order costs publish_zone() and xfr_ixfr_apply() no sort. 0 or
 * ED_ENOMEM (rrs unchanged). */
int publish_order(ldns_rr_list *rrs);

/* The serial in the header of zone's NAME.snap (the header alone is
 * read). ED_ENOENT when there is none, ED_EFORMAT when it is not a
 * snapshot, ED_EIO. */
int publish_snapshot_serial(const struct publish_conf *pc, const char *zone, uint32_t *serial,
                            char *err, size_t errlen);

/* As publish_snapshot_serial(), with the header's content checksum too
 * (checksum may be NULL). */
int publish_snapshot_ident(const struct publish_conf *pc, const char *zone, uint32_t *serial,
                           uint64_t *checksum, char *err, size_t errlen);

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
