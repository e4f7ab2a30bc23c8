/* service.h: the zone service of edgedns-control: keeps every configured
 * zone in sync with its primaries and published on the dataplane.
 *
 * Per zone a state machine driven by libevent timers on the main thread:
 *
 *   loading -> (refresh due) -> transferring -> published
 *                                    |-> failed (retry with backoff)
 *   published/failed --(SOA EXPIRE passes without a refresh)--> expired
 *
 * A refresh is a job for a small pool of worker threads: an SOA query to
 * the zone's primaries in order (failover to the next on any error), and
 * when the serial is newer an IXFR (AXFR fallback, xfr_update()), the
 * verification gate (verify_zone() with the zone's policy), then
 * publish_zone(). The result comes back to the main thread (event_active
 * on a notification event), which updates the state, saves it
 * (zonestate_save) and arms the next timer:
 *   success: SOA REFRESH +- refresh-jitter percent;
 *   failure: SOA RETRY * 2^(failures-1), at most REFRESH;
 *   expire_at = last successful refresh + SOA EXPIRE, or + the EDNS
 *   EXPIRE option of that primary's SOA answer when it gave one and it
 *   is less (RFC 7314: a secondary as primary); when it passes the
 *   zone is marked expired, and so on the dataplane ("expire ZONE": its
 *   snapshot and files are kept, its names answered SERVFAIL with the
 *   Extended DNS Error 14 "Not Ready"); the next successful refresh
 *   publishes the version again, and the dataplane's load serves it.
 * A version refused by the gate is logged with the reason and counted; the
 * last good version keeps being served.
 *
 * Catalog zones (RFC 9432, consumer): a configured catalog is refreshed
 * and verified as a zone but not published; its version is parsed
 * (catalog.h) and its member zones become zones of the service with the
 * catalog's template settings: new members start at once, removed ones
 * are removed (dataplane, files, state), a member whose unique id changed
 * is reset (removed, transferred again). A configured zone wins over a
 * member of the same name, and the first catalog over a later one. A
 * refused catalog version keeps the member set. The member set is saved
 * (catalog.h) so members are served at start before the catalog refreshes.
 *
 * Every svc_* function below runs on the main thread (the thread of the
 * event base) unless said otherwise. Requires evthread_use_pthreads()
 * before the event base is created.
 */
#ifndef EDGEDNS_SERVICE_H
#define EDGEDNS_SERVICE_H

#include <stdint.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>

#include "config.h"

#define SVC_DEFAULT_WORKERS 4
#define SVC_DEFAULT_REFRESH 3600u  /* SOA timers until a version is known */
#define SVC_DEFAULT_RETRY 60u
#define SVC_DEFAULT_EXPIRE 1209600u

struct svc;

/* Zone states, as svc_state_name() spells them in status replies. */
enum svc_state {
	SVC_LOADING = 0,   /* nothing published yet, first refresh pending */
	SVC_REFRESH_DUE,   /* a refresh job is queued */
	SVC_TRANSFERRING,  /* a worker runs the refresh */
	SVC_PUBLISHED,     /* the last refresh succeeded; served */
	SVC_FAILED,        /* the last refresh failed; the last good version
	                      (if any) is still served until it expires */
	SVC_EXPIRED,       /* SOA EXPIRE passed: answered SERVFAIL */
};

const char *svc_state_name(enum svc_state s);

/* A service for the zones of cfg (cfg must outlive it) on base, with
 * nworkers threads (0: SVC_DEFAULT_WORKERS). Nothing runs until
 * svc_start(). NULL with the reason in err. */
struct svc *svc_new(const struct cfg *cfg, struct event_base *base, unsigned nworkers,
                    char *err, size_t errlen);

/* Load every zone's saved state and last published version, expire the
 * expired ones on the dataplane, start the workers and arm the timers.
 * Returns 0 or a negative ED_E* code (threads could not start). */
int svc_start(struct svc *s, char *err, size_t errlen);

/* Stop: queued jobs are abandoned, running ones get up to wait_ms to
 * finish (their results are applied and saved); those still running
 * after that are left to die with the process (a publish in flight is
 * atomic on disk). Every zone's state is saved. Then frees s. NULL: no-op.
 * Returns the number of jobs abandoned while running. */
unsigned svc_free(struct svc *s, unsigned wait_ms);

/* Refresh zone now (a control-socket command, a NOTIFY). A refresh
 * already queued or running is not doubled; one requested while a job
 * runs is run again after it. ED_ENOENT: no such zone. */
int svc_refresh(struct svc *s, const char *zone);

/* The same for a configured zone found already. */
void svc_refresh_zone(struct svc *s, const struct cfg_zone *cz);

/* Status as JSON: zone NULL: {"zones":[...]} for all zones, else the one
 * zone's object (NULL: no such zone). Each zone: name, state, served,
 * serial (null when none), primary, last_refresh, next_refresh,
 * expire_at, last_error, transfers, refused, failures, and per primary
 * the last serial seen and error. Caller owns the reference. */
json_t *svc_status(struct svc *s, const char *zone);

/* The configuration the service runs with (changes with svc_reload(): do
 * not keep it across events). */
const struct cfg *svc_cfg(const struct svc *s);

/* The settings of a zone the service runs (configured, catalog or catalog
 * member) by name (presentation form, any case); NULL when none. Valid
 * until the next event (members come and go). */
const struct cfg_zone *svc_zone_find(struct svc *s, const char *name);

/* NOTIFY rate of cz's zone (its policy's notify-rate per second): 1 when
 * one more is allowed in second now, 0 otherwise (or no such zone). */
int svc_notify_allow(struct svc *s, const struct cfg_zone *cz, uint64_t now);

/* Re-read the configuration file (svc_cfg()->path). On error nothing
 * changes and err holds "file:line: ..." (cfg_load()), or why the new one
 * cannot be applied (snapshot-dir, state-dir, dataplane-socket changed).
 * Otherwise zones and catalogs added start (transfer now), those removed
 * are removed (dropped from the dataplane, files and state deleted, a
 * catalog with its members), the others keep their data and use the new
 * primaries, ACLs and policy from their next refresh. socket,
 * notify-listen and log apply at the next restart (logged). The service
 * owns the new cfg; the old one is freed once no job uses it (the one
 * given to svc_new() stays the caller's). */
int svc_reload(struct svc *s, char *err, size_t errlen);

/* Timer arithmetic (pure, any thread; exposed for the unit tests). */

/* Seconds until the next retry after `failures` (>= 1) failures in a row:
 * retry * 2^(failures-1), at most refresh (and at least 1). */
uint32_t svc_retry_delay(uint32_t retry, uint32_t refresh, unsigned failures);

/* refresh +- jitter_pct percent of it, r in [0,1) choosing where in that
 * range; at least 1. */
uint32_t svc_jitter(uint32_t refresh, unsigned jitter_pct, double r);

/* What the health checks read of a zone, from any thread. */
struct svc_facts {
	int known;               /* the zone is configured (or a member) */
	int served;              /* a version is served and not expired */
	int expired;
	int has_serial;
	uint32_t serial;         /* the version served */
	int has_loading;
	uint32_t loading_serial; /* a version being published (from the
	                            dataplane's load until control has taken
	                            it as served): the dataplane may answer
	                            either */
	uint64_t checksum;       /* snapshot checksum of the version served
	                            (the dataplane's probes report the one each
	                            worker answers from); 0: not known */
	uint32_t sig_expire_min; /* earliest RRSIG expiration (seconds since
	                            the epoch, RFC 1982 order); 0: unsigned */
	enum svc_state state;
};

/* Keep facts for zone name (presentation form), e.g. a critical zone of a
 * service; before svc_start(). 0, ED_EINVAL, ED_ENOMEM. */
int svc_watch(struct svc *s, const char *name);

/* The facts of a watched zone; ED_ENOENT when not watched. Any thread. */
int svc_facts(struct svc *s, const char *name, struct svc_facts *out);

#endif
