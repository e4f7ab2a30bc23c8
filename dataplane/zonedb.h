/* zonedb.h: the set of served zones, published to reader threads with RCU.
 *
 * The zonedb owns the loaded snapshots. Every change (load, drop, reload)
 * builds a new immutable zoneset over the snapshots and publishes it with
 * one atomic pointer store; readers take the current zoneset with one
 * atomic load and never lock. Reader threads report quiescent states
 * through DPDK's rte_rcu_qsbr; after each publication the writer waits for
 * a grace period and only then frees the old zoneset and the snapshots no
 * longer in the new one.
 *
 * A served zone may be marked expired (zonedb_expire): its snapshot stays
 * loaded and in the zoneset, flagged so that the engine answers SERVFAIL
 * for it; unmarking it, or loading a new snapshot for it, serves its data
 * again at once.
 *
 * Threads. Writers (zonedb_load, zonedb_load_snap, zonedb_drop,
 * zonedb_expire, zonedb_load_dir, zonedb_foreach) may be called from any thread that is
 * not a registered reader currently online (a writer waits for every
 * online reader: a reader writing would deadlock); they serialize among
 * themselves with a mutex, may block on file I/O and on the grace period,
 * and allocate. Never call them on the packet path.
 *
 * Readers. Each reader thread has a distinct id in [0, max_readers) and:
 *   zonedb_reader_register(db, id) once, at thread start;
 *   zonedb_reader_online(db, id) before its first zonedb_current();
 *   per loop iteration or batch: zs = zonedb_current(db), use zs for the
 *     batch, then zonedb_quiescent(db, id): zs must not be used after it;
 *   zonedb_reader_offline(db, id) before any blocking wait (epoll_wait,
 *     blocking recvmmsg) and zonedb_reader_online(db, id) after it, so an
 *     idle reader does not stall grace periods; zs must not be used while
 *     offline (load it again after coming online);
 *   zonedb_reader_unregister(db, id) at thread exit (after going offline).
 * A reader that stays online without reporting (a stuck worker lcore)
 * holds every writer in its grace period until it reports again: writers
 * wait, without a time limit (the old zoneset may still be in use), and
 * log once when the wait passes a second.
 * None of the reader calls allocate, lock or do a system call.
 */
#ifndef EDGEDNS_ZONEDB_H
#define EDGEDNS_ZONEDB_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "snapshot.h"
#include "zoneset.h"

struct zonedb;

/* One served zone, as reported to the command socket. */
struct zonedb_info {
	char apex[1024];        /* presentation form, "example.com." */
	uint32_t serial;        /* SOA serial of the snapshot served */
	uint32_t flags;         /* SNAP_F_* of the snapshot */
	char path[4096];        /* file it was loaded from ("" when from memory) */
	time_t loaded;          /* unix time of the load */
	uint64_t file_size;
	int expired;            /* marked expired (zonedb_expire) */
};

/* Log sink for messages about zones (loaded, skipped, dropped): level is
 * 0 for information, 1 for a warning or error. msg has no newline. */
typedef void (*zonedb_log_fn)(void *arg, int level, const char *msg);

/* New, empty zonedb (an empty zoneset is published, so zonedb_current()
 * never returns NULL) for up to max_readers reader threads (>= 1). log may
 * be NULL (silent). NULL on allocation failure. */
struct zonedb *zonedb_new(unsigned max_readers, zonedb_log_fn log, void *log_arg);

/* Free everything: the current zoneset and every snapshot. Only once no
 * reader can use the zonedb any more (reader threads joined). NULL ignored. */
void zonedb_free(struct zonedb *db);

/* Load the snapshot file at path and serve it: it replaces the zone with
 * the same apex (and clears its expired mark), or is added. When zone is
 * not NULL (presentation form, final dot optional, any case) the
 * snapshot's apex must equal it (ED_EINVAL otherwise, nothing changes).
 * Returns 0 once the new zoneset
 * is published (so from then on queries see the new snapshot), with *info
 * (when not NULL) describing the zone; else a negative ED_E* code and a
 * message naming the file in err. The replaced snapshot is closed after
 * the grace period, before this returns. */
int zonedb_load(struct zonedb *db, const char *zone, const char *path,
                struct zonedb_info *info, char *err, size_t errlen);

/* As zonedb_load() with a snapshot already opened (e.g. snap_open_mem).
 * Ownership of snap passes to the zonedb in every case (on error it is
 * closed). path may be NULL. */
int zonedb_load_snap(struct zonedb *db, const char *zone, struct snap *snap,
                     const char *path, struct zonedb_info *info, char *err,
                     size_t errlen);

/* Stop serving the zone (presentation form). ED_ENOENT when not served.
 * Its snapshot is closed after the grace period, before this returns. */
int zonedb_drop(struct zonedb *db, const char *zone, char *err, size_t errlen);

/* Mark the served zone (presentation form) expired (expired != 0) or not:
 * an expired zone keeps its snapshot and its place in the zoneset, and
 * the engine answers SERVFAIL for the names it encloses. ED_ENOENT when
 * not served. Returns 0 once the change is published and the grace period
 * has passed (every query from then on sees it); a zone already in that
 * state returns 0 at once without a publication. *info (may be NULL)
 * describes the zone. */
int zonedb_expire(struct zonedb *db, const char *zone, int expired,
                  struct zonedb_info *info, char *err, size_t errlen);

/* Result of zonedb_load_dir(). */
struct zonedb_dir_result {
	unsigned loaded;        /* new or changed files now served */
	unsigned unchanged;     /* same file (device, inode, size, mtime) as served */
	unsigned failed;        /* bad files, reported through the log and skipped */
};

/* Load every "*.snap" regular file of dir (the zone is the snapshot's own
 * apex), in one publication. A file identical (device, inode, size, mtime)
 * to the one a zone is served from is not reopened. A bad file, or two
 * files with the same apex, is reported through the log and skipped; the
 * others still load. Zones not found in dir are kept; a zone served from
 * a file elsewhere (zonedb_load) is replaced by its file in dir, if there
 * is one and it differs from the served file (a file loaded anew clears
 * the zone's expired mark; an unchanged one keeps it). Returns 0 (res
 * filled when not NULL) or a negative ED_E* code when dir cannot be read
 * (message in err). */
int zonedb_load_dir(struct zonedb *db, const char *dir,
                    struct zonedb_dir_result *res, char *err, size_t errlen);

/* Call fn for every served zone, in apex canonical order, under the writer
 * mutex (fn must not call other zonedb writers). Returns the zone count. */
unsigned zonedb_foreach(struct zonedb *db,
                        void (*fn)(void *arg, const struct zonedb_info *zi),
                        void *arg);

/* Publications so far (each load, drop, expire or load_dir that changed
 * anything). */
uint64_t zonedb_generation(struct zonedb *db);

/* ---- readers (see the header comment) ---------------------------------- */

int zonedb_reader_register(struct zonedb *db, unsigned id);
void zonedb_reader_unregister(struct zonedb *db, unsigned id);
void zonedb_reader_online(struct zonedb *db, unsigned id);
void zonedb_reader_offline(struct zonedb *db, unsigned id);
void zonedb_quiescent(struct zonedb *db, unsigned id);

/* The zoneset being served; never NULL. Valid until the calling reader's
 * next zonedb_quiescent() or zonedb_reader_offline(). Lock-free. */
const struct zoneset *zonedb_current(const struct zonedb *db);

#endif
