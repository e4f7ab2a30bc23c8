/* compile.h: the zone compiler: zone file -> checked RRs -> snapshot.
 *
 * Text is parsed by ldns (RFC 1035 master file format with $ORIGIN, $TTL,
 * $INCLUDE), each RR converted to wire form, the zone checked by
 * zonecheck.h, and, when no error was found, the surviving RRs fed to the
 * snapshot writer (snapshot_writer.h). A zone with any error produces no
 * snapshot, and an existing file at the output path is left untouched.
 *
 * Messages for people go to a struct compile_diag as lines
 * "file:line: error: text" or "file:line: warning: text" ("file: ..." when
 * a message concerns the whole zone). Syntax errors and the class/type
 * checks come in file order as the parser meets them; the semantic checks
 * follow, sorted by file and line. After a syntax error the parser goes on
 * to the next entry (so all syntax errors are reported, up to
 * COMPILE_MAX_SYNTAX_ERRORS) but the semantic checks are skipped.
 *
 * Default TTL: an RR without TTL takes the last $TTL; before any $TTL, the
 * last TTL stated explicitly (RFC 1035 5.1), before that opts.default_ttl;
 * an RRSIG without TTL takes its original TTL field.
 *
 * Control-plane only: allocates, does I/O. Not thread-safe per diag; two
 * threads may compile two zones with their own diags at the same time.
 */
#ifndef EDGEDNS_COMPILE_H
#define EDGEDNS_COMPILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <ldns/ldns.h>

#include "snapshot_writer.h"

/* compile_opts.flags */
#define COMPILE_NOINCLUDE 0x1u   /* $INCLUDE is an error (untrusted text,
                                    fuzzing) */
#define COMPILE_TTL_FIRST 0x2u   /* an RRset with differing TTLs takes its
                                    first RR's TTL (default: its last
                                    RR's, as Knot DNS; see zonecheck.h) */

#define COMPILE_MAX_SYNTAX_ERRORS 100   /* then the parser gives up */
#define COMPILE_INCLUDE_DEPTH 8
#define COMPILE_DIAG_KEEP 1000          /* default of compile_diag.keep */

/* All zero (or a NULL pointer) means the defaults. */
struct compile_opts {
	const char *origin;     /* zone name in presentation form ("example.com.",
	                           the trailing dot optional); it is also the
	                           initial $ORIGIN. NULL: the apex is the owner
	                           of the first SOA, and relative names need a
	                           $ORIGIN (or come after that SOA) */
	uint32_t default_ttl;   /* TTL before any $TTL or explicit TTL;
	                           0: 3600 */
	unsigned max_rrs;       /* more RRs than this is an error; 0: no limit */
	unsigned flags;         /* COMPILE_* */
};

enum compile_sev { COMPILE_ERROR = 0, COMPILE_WARNING = 1 };

struct compile_msg {
	char *text;             /* whole line, e.g. "z.zone:12: error: CNAME
	                           beside other data at www.example.com.", no
	                           newline */
	const char *file;       /* file part of text (owned by the diag) */
	unsigned line;          /* 0: the message is about the whole zone */
	enum compile_sev sev;
};

/* Collects messages. compile_diag_init() it, optionally set out, cb or
 * keep, pass it to any number of compiles (messages and counts
 * accumulate), then compile_diag_free() it. */
struct compile_diag {
	/* Set by the caller: */
	FILE *out;              /* each message also written here, one line */
	int quiet;              /* warnings are counted but neither written to
	                           out, passed to cb nor kept */
	void (*cb)(void *arg, const struct compile_msg *m); /* each message */
	void *cb_arg;
	unsigned keep;          /* messages kept in msgs[]; later ones are only
	                           counted. compile_diag_init() sets
	                           COMPILE_DIAG_KEEP */
	/* Filled by the compiler: */
	struct compile_msg *msgs;
	unsigned nmsgs;
	unsigned long errors, warnings;
	/* private */
	char **files;
	unsigned nfiles;
};

void compile_diag_init(struct compile_diag *d);
void compile_diag_free(struct compile_diag *d);

/* What a compile found out. Filled as far as the compile got. */
struct compile_result {
	uint8_t apex[256];      /* lowercase wire name of the zone */
	char origin[1024];      /* the same in presentation form */
	uint32_t serial;        /* SOA serial */
	uint64_t rrs_read;      /* RRs parsed (also those reported and dropped) */
	uint64_t rrs;           /* RRs in the snapshot: duplicates dropped */
	struct snapw_stats snap;/* from the writer; zero when none was built */
};

/* Compile the zone file zonefile into the snapshot file out_path (written
 * atomically by snapw_write()). out_path NULL: check only, write nothing.
 * opts, res and diag may be NULL. Returns 0; ED_ESYNTAX (syntax errors),
 * ED_EZONE (semantic errors), ED_EIO (zone file unreadable, snapshot not
 * written; errno is not kept, the diag has the message), ED_ELIMIT
 * (max_rrs, or an RRset too large for the snapshot), ED_EINVAL (bad
 * opts.origin), ED_ENOMEM. */
int compile_zone_file(const char *zonefile, const struct compile_opts *opts,
                      const char *out_path, struct compile_result *res,
                      struct compile_diag *diag);

/* Compile zone text held in memory (len octets, no NUL needed); name is the
 * file name used in messages. On success *img is the snapshot image
 * (malloc()ed, caller frees) of *imglen octets; img NULL: check only.
 * $INCLUDE paths are relative to the current directory. Returns as
 * compile_zone_file(). For tests, fuzzers and benchmarks. */
int compile_zone_mem(const char *text, size_t len, const char *name,
                     const struct compile_opts *opts, void **img,
                     size_t *imglen, struct compile_result *res,
                     struct compile_diag *diag);

/* Parse and check the zone file; on success *w is a snapshot builder
 * holding the checked RRs (caller: snapw_write() or snapw_build(), then
 * snapw_free()). For callers that pick the output path from the zone name
 * (res->apex). w NULL: check only. Returns as compile_zone_file(). */
int compile_zone_build(const char *zonefile, const struct compile_opts *opts,
                       struct snapw **w, struct compile_result *res,
                       struct compile_diag *diag);

/* The common core: parse and check text, and on success hand back a
 * snapshot builder *w holding the checked RRs (caller: snapw_write() or
 * snapw_build(), then snapw_free()). w NULL: check only. dir: directory for
 * relative $INCLUDE paths (NULL: the current one). Returns as
 * compile_zone_file(); *w is NULL on failure. */
int compile_zone_text(const char *text, size_t len, const char *name,
                      const char *dir, const struct compile_opts *opts,
                      struct snapw **w, struct compile_result *res,
                      struct compile_diag *diag);

/* The same for a zone already parsed into ldns RRs (a transfer, the
 * zone service's version): rrs[0..n) with absolute names and TTLs. The
 * checks, messages and snapshot are those compile_zone_text() gives for
 * the text of these RRs in this order, one RR a line: rrs[i] is reported
 * at name:line0+i. No text is made or parsed. opts->default_ttl and
 * COMPILE_NOINCLUDE do not apply. Returns as compile_zone_text() (no
 * ED_ESYNTAX: an RR whose rdata is over 65535 octets is an error
 * reported at its line, and the zone is refused with ED_ESYNTAX all the
 * same). */
int compile_zone_rrs(ldns_rr *const *rrs, size_t n, const char *name,
                     unsigned line0, const struct compile_opts *opts,
                     struct snapw **w, struct compile_result *res,
                     struct compile_diag *diag);

/* The snapshot writer's message err about path without a leading "path: "
 * (so it reads well after "path: error: "); ed_strerror(rc) when empty. */
const char *compile_writer_msg(const char *err, const char *path, int rc);

#endif
