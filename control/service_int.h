/* service_int.h: what the zone service's files share (service.c: timers,
 * jobs and workers; service_zones.c: the zone table, removal, catalogs,
 * configuration reload). Not for other modules. */
#ifndef EDGEDNS_SERVICE_INT_H
#define EDGEDNS_SERVICE_INT_H

#include "service.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "catalog.h"
#include "ctllog.h"
#include "error.h"
#include "publish.h"
#include "verify.h"
#include "xfr.h"
#include "zonestate.h"

#define SOA_QUERY_TIMEOUT_MS 5000u

#define SVC_ZONEMD_MAX 160   /* "SCHEME ALG HEX" of a ZONEMD, SHA-512 */

/* How a primary compares with the version served (service_primaries.c). */
enum svc_pstate { PSTATE_UNKNOWN, PSTATE_SYNC, PSTATE_AHEAD, PSTATE_BEHIND, PSTATE_LAGGING,
                  PSTATE_DIVERGED };

/* What one primary served at the last look. In a job: filled by the
 * worker; in a zone: by svc_note_primaries() (main thread). */
struct svc_pseen {
	int tried;                /* job: asked for its SOA by the refresh */
	int seen;                 /* serial is valid */
	uint32_t serial;
	uint64_t soa_hash;        /* xfr_soa_hash() of its SOA */
	int zonemd_known;         /* its apex ZONEMD was asked for and answered */
	char zonemd[SVC_ZONEMD_MAX];  /* the lowest ZONEMD, "" for none */
	char error[256];
	/* zone only */
	time_t seen_at;
	time_t behind_since;      /* 0: not behind */
	enum svc_pstate state;
	char note[256];           /* why state, for people */
};

struct svc_zone {
	struct svc *svc;
	const struct cfg_zone *cz;
	const struct cfg_policy *pol;
	enum svc_state state;
	int served;               /* the dataplane has it, as far as we know */
	struct zone_state st;
	ldns_rr_list *current;    /* the version served (or last served) */
	uint32_t t_refresh, t_retry, t_expire;  /* from current's SOA */
	unsigned fails;           /* failed refreshes in a row */
	uint32_t refused_serial;  /* last serial refused (counted once) */
	int has_refused;
	struct event *timer;      /* next refresh */
	struct event *expire_ev;
	int busy;                 /* a job of this zone is queued or running */
	int again;                /* a refresh was asked for while busy */
	int expire_pending;       /* expired while busy: expire after */
	int republish;            /* NAME.snap and NAME.zone disagree (a stop
	                             between their writes): publish again at
	                             the next refresh, even when up to date */
	struct svc_pseen *prim;   /* per primary, n_primaries */
	int ours_known;           /* ours_*: of the version served */
	uint64_t ours_soa_hash;
	char ours_zonemd[SVC_ZONEMD_MAX];
	uint64_t divergences;     /* primaries seen diverged or lagging */
	uint32_t sig_min;         /* svc_sig_min() of current */
	uint64_t checksum;        /* snapshot checksum of the version served
	                             (what the dataplane must serve), 0: unknown */
	/* catalogs (service_catalog part, below) */
	struct svc_zone *catalog; /* a member: its catalog zone */
	struct cfg_zone *own_cz;  /* a member: cz, built from the template */
	char cat_id[CATZ_ID_MAX]; /* a member: its unique id */
	struct catz_set members;  /* a catalog: the member set applied */
	int removing;             /* 1: being removed, 2: being reset */
	int remove_pending;       /* removal waits for the running job */
	const struct cfg_zone *pending_cz;  /* reload: cz at the next idle */
	struct cfg_zone *pending_own;
	uint64_t notify_second;   /* NOTIFY rate */
	unsigned notify_count;
};

enum job_kind { JOB_REFRESH, JOB_EXPIRE, JOB_REMOVE };
enum job_outcome { OUT_UPTODATE, OUT_PUBLISHED, OUT_REFUSED, OUT_FAILED, OUT_EXPIRED,
                   OUT_REMOVED };

struct job {
	struct job *next;
	enum job_kind kind;
	struct svc_zone *z;
	/* in: read-only for the worker (the zone is busy meanwhile) */
	const ldns_rr_list *current;
	uint32_t cur_serial;
	int republish;            /* publish current even when up to date */
	/* out */
	enum job_outcome outcome;
	ldns_rr_list *newzone;    /* OUT_PUBLISHED: the version now served */
	struct xfr_shared shared; /* what newzone shares with current */
	uint32_t serial;
	const char *kind_name;    /* "AXFR", "IXFR", "" */
	char primary[CFG_ADDR_STRLEN];
	char error[512];
	double secs;
	uint32_t sig_min;         /* OUT_PUBLISHED: svc_sig_min() of newzone */
	uint64_t checksum;        /* OUT_PUBLISHED: its snapshot's checksum */
	double t_transfer, t_gate, t_compile, t_load, t_text;  /* seconds, of secs */
	int has_expire;           /* the primary answered EDNS EXPIRE (RFC 7314) */
	uint32_t expire;          /* its value, seconds */
	struct svc_pseen *prim;   /* n_primaries */
	int ours_known;           /* ours_*: the version served after the job */
	uint64_t ours_soa_hash;
	char ours_zonemd[SVC_ZONEMD_MAX];
	struct catz_set members;  /* a catalog, OUT_PUBLISHED: its members */
	int has_members;
};

struct svc_watch {
	char *name;               /* canonical, lowercase */
	struct svc_facts f;
};

struct svc {
	const struct cfg *cfg;
	struct event_base *base;
	struct svc_zone **zones;  /* stable pointers: members come and go */
	unsigned nz, cap;
	struct svc_zone **ix;     /* by apex, open addressing; ix_cap a power of 2 */
	size_t ix_cap;
	unsigned jobs_out;        /* queued or running */
	const struct cfg *initial_cfg;  /* the caller's: never freed here */
	struct cfg **retired;     /* replaced by a reload, freed when no job runs */
	unsigned n_retired;
	char *snapshot_dir, *state_dir, *dataplane_socket;  /* pc: own copies */
	struct publish_conf pc;
	pthread_t *threads;
	unsigned nthreads, started;
	pthread_mutex_t mu;
	pthread_cond_t cv;        /* workers: a job is queued, or stop */
	pthread_cond_t idle_cv;   /* svc_free(): a job finished */
	struct job *qhead, *qtail;
	struct job *dhead, *dtail;
	unsigned running;
	int stopping;
	int applying_final;       /* svc_free(): apply results, arm nothing */
	struct event *done_ev;
	unsigned seed;
	pthread_mutex_t facts_mu;  /* watch: service_facts.c */
	struct svc_watch *watch;
	unsigned n_watch;
};

/* service.c: timers (main thread), the job queue, zone state on disk;
 * the TSIG key of a primary in xfr.h's terms (p->key set). */
void svc_tsig_of(const struct cfg_primary *p, struct xfr_tsig *t);
void svc_arm_refresh(struct svc_zone *z, uint32_t delay);
void svc_enqueue(struct svc *s, struct job *j);
struct job *svc_job_new(struct svc_zone *z, enum job_kind kind);
void svc_soa_timers(struct svc_zone *z);
void svc_zone_boot(struct svc_zone *z);
void svc_zone_save(struct svc_zone *z);
/* service_primaries.c: the cross-check of primaries. svc_cross_check()
 * runs on the worker at the end of a refresh (served: the version served
 * after it, may be NULL); the rest on the main thread. */
void svc_cross_check(struct job *j, const ldns_rr_list *served);
void svc_note_primaries(struct svc_zone *z, const struct job *j, time_t now);
json_t *svc_primaries_json(const struct svc_zone *z);
int svc_divergent(const struct svc_zone *z);
/* service_facts.c */
uint32_t svc_sig_min(const ldns_rr_list *rrs);
void svc_facts_update(struct svc_zone *z);
void svc_facts_clear(struct svc_zone *z);
void svc_facts_loading(struct svc_zone *z, uint32_t serial);   /* any thread */
void svc_watch_free(struct svc *s);
/* service_zones.c: the zone table, removal, catalogs (main thread unless
 * a name says run_: that runs on a worker). */
void svc_after_job(struct svc *s, struct svc_zone *z, struct job *j);
void svc_catalog_parse_job(struct svc *s, struct job *j, const ldns_rr_list *zone);
void svc_catalogs_boot(struct svc *s);
int svc_index_rebuild(struct svc *s);
void svc_removed(struct svc *s, struct job *j);
void svc_retire_free(struct svc *s);
void svc_run_remove(struct svc *s, struct job *j);
void svc_start_remove(struct svc_zone *z);
struct svc_zone *svc_zone_add(struct svc *s, const struct cfg_zone *cz, struct cfg_zone *own);
void svc_zone_destroy(struct svc_zone *z);
struct svc_zone *svc_zone_lookup(const struct svc *s, const char *name);
struct svc_zone *svc_zone_lookup_wire(const struct svc *s, const uint8_t *w, size_t wl);

/* libevent callbacks of a zone (service.c). */
void svc_on_timer(evutil_socket_t fd, short ev, void *arg);
void svc_on_expire(evutil_socket_t fd, short ev, void *arg);

#endif
