/* zonedb.c: served zones; zoneset publication with one pointer and QSBR. */
#include "zonedb.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <rte_rcu_qsbr.h>

#include "dname.h"
#include "error.h"

/* One served zone. Only the writer (under db->mu) touches these. */
struct zent {
	struct snap *snap;
	char *path;             /* NULL when loaded from memory */
	time_t loaded;
	dev_t dev;              /* identity of the file when loaded */
	ino_t ino;
	off_t size;
	struct timespec mtime;
	int expired;            /* answered SERVFAIL (zonedb_expire) */
};

struct zonedb {
	/* Read by every reader: alone on its cache line. */
	alignas(64) const struct zoneset *cur;
	alignas(64) struct rte_rcu_qsbr *qsv;
	unsigned max_readers;
	pthread_mutex_t mu;     /* the writer: one change at a time, grace
	                           period included */
	pthread_mutex_t imu;    /* ents, nents, generation for the readers of
	                           information (zonedb_foreach(), ..._generation()):
	                           never held across a grace period */
	struct zent *ents;      /* sorted by apex, canonical order */
	unsigned nents;
	uint64_t generation;
	zonedb_log_fn log;
	void *log_arg;
};

static void zlog(struct zonedb *db, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void zlog(struct zonedb *db, int level, const char *fmt, ...)
{
	if (db->log == NULL)
		return;
	char msg[1024 + 4096 + 256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	db->log(db->log_arg, level, msg);
}


static const uint8_t *ent_apex(const struct zent *e)
{
	return e->snap->hdr->apex;
}

static void fill_info(const struct zent *e, struct zonedb_info *zi)
{
	memset(zi, 0, sizeof(*zi));
	dname_to_str(ent_apex(e), zi->apex, sizeof(zi->apex));
	zi->serial = e->snap->hdr->serial;
	zi->flags = e->snap->hdr->flags;
	if (e->path != NULL)
		snprintf(zi->path, sizeof(zi->path), "%s", e->path);
	zi->loaded = e->loaded;
	zi->file_size = e->snap->hdr->file_size;
	zi->expired = e->expired;
}

/* Parse a zone name given by a person into a lowercase wire name. */
static size_t parse_zone(const char *zone, uint8_t *out)
{
	size_t n = dname_from_str(zone, out);
	if (n > 0)
		dname_lower(out, out, n);
	return n;
}

static int find_ent(const struct zent *ents, unsigned n, const uint8_t *apex,
                    unsigned *pos)
{
	/* Binary search in canonical order; *pos is the insertion point. */
	unsigned lo = 0, hi = n;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		int c = dname_canon_cmp(ent_apex(&ents[mid]), apex);
		if (c == 0) {
			*pos = mid;
			return 1;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*pos = lo;
	return 0;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Wait until every online reader has passed a quiescent state. Unbounded:
 * the old zoneset may be in use until then. A reader that does not report
 * (a stuck worker lcore) holds the writer, and so the command socket, until
 * it does; past GRACE_WARN_MS that is logged, and its end too. */
#define GRACE_WARN_MS 1000
static void wait_grace(struct zonedb *db)
{
	uint64_t t = rte_rcu_qsbr_start(db->qsv);
	uint64_t t0 = 0;
	bool warned = false;
	/* Readers report once per batch, so a grace period is short; sleep
	 * between checks instead of spinning a core the workers may need. */
	for (unsigned i = 0; rte_rcu_qsbr_check(db->qsv, t, false) == 0; i++) {
		if (i < 64)
			continue;
		if (t0 == 0)
			t0 = mono_ms();
		else if (!warned && mono_ms() - t0 >= GRACE_WARN_MS) {
			zlog(db, 1, "zone publication: a reader has not passed a quiescent state for %u ms"
			     " (a stuck worker lcore?): waiting for it", GRACE_WARN_MS);
			warned = true;
		}
		struct timespec ts = { 0, 20000 };
		nanosleep(&ts, NULL);
	}
	if (warned)
		zlog(db, 0, "zone publication: grace period over after %llu ms",
		     (unsigned long long)(mono_ms() - t0));
}

/* Publish a zoneset over ents[0..n) and make ents the entry table.
 * Under db->mu. On success the old zoneset is freed after the grace period
 * and the old table's array freed (the caller closes what it replaced,
 * after this returns, i.e. after the grace period too). */
static int publish(struct zonedb *db, struct zent *ents, unsigned n)
{
	const struct snap **snaps = calloc(n ? n : 1, sizeof(*snaps));
	uint32_t *flags = calloc(n ? n : 1, sizeof(*flags));
	if (snaps == NULL || flags == NULL) {
		free(snaps);
		free(flags);
		return ED_ENOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		snaps[i] = ents[i].snap;
		flags[i] = ents[i].expired ? ZS_F_EXPIRED : 0;
	}
	int rc;
	struct zoneset *zs = zs_new_flags(snaps, flags, n, &rc);
	free(snaps);
	free(flags);
	if (zs == NULL)
		return rc;
	const struct zoneset *old = db->cur;
	struct zent *old_ents = db->ents;
	pthread_mutex_lock(&db->imu);
	__atomic_store_n(&db->cur, zs, __ATOMIC_RELEASE);
	db->generation++;
	db->ents = ents;
	db->nents = n;
	pthread_mutex_unlock(&db->imu);
	/* the old set, and the snapshots only it has, stay until no reader
	 * can hold them; information requests are answered meanwhile */
	wait_grace(db);
	zs_free((struct zoneset *)(uintptr_t)old);
	if (old_ents != ents)
		free(old_ents);
	return ED_OK;
}

static void ent_clear(struct zent *e)
{
	snap_close(e->snap);
	free(e->path);
	memset(e, 0, sizeof(*e));
}

struct zonedb *zonedb_new(unsigned max_readers, zonedb_log_fn log, void *log_arg)
{
	if (max_readers == 0)
		return NULL;
	struct zonedb *db = aligned_alloc(64, sizeof(*db));
	if (db == NULL)
		return NULL;
	memset(db, 0, sizeof(*db));
	db->max_readers = max_readers;
	db->log = log;
	db->log_arg = log_arg;
	size_t sz = rte_rcu_qsbr_get_memsize(max_readers);
	sz = (sz + 63u) & ~(size_t)63u;
	db->qsv = aligned_alloc(64, sz);
	if (db->qsv == NULL || rte_rcu_qsbr_init(db->qsv, max_readers) != 0)
		goto fail;
	if (pthread_mutex_init(&db->mu, NULL) != 0)
		goto fail;
	if (pthread_mutex_init(&db->imu, NULL) != 0) {
		pthread_mutex_destroy(&db->mu);
		goto fail;
	}
	db->cur = zs_new(NULL, 0, NULL);
	if (db->cur == NULL) {
		pthread_mutex_destroy(&db->mu);
		pthread_mutex_destroy(&db->imu);
		goto fail;
	}
	return db;
fail:
	free(db->qsv);
	free(db);
	return NULL;
}

void zonedb_free(struct zonedb *db)
{
	if (db == NULL)
		return;
	zs_free((struct zoneset *)(uintptr_t)db->cur);
	for (unsigned i = 0; i < db->nents; i++)
		ent_clear(&db->ents[i]);
	free(db->ents);
	pthread_mutex_destroy(&db->mu);
	pthread_mutex_destroy(&db->imu);
	free(db->qsv);
	free(db);
}

/* Install snap (owned) under db->mu: replace or insert, publish, close the
 * replaced snapshot. */
static int install(struct zonedb *db, struct snap *snap, const char *path,
                   const struct stat *st, struct zonedb_info *info,
                   char *err, size_t errlen)
{
	char *pcopy = NULL;
	if (path != NULL && (pcopy = strdup(path)) == NULL) {
		snap_close(snap);
		ed_seterr(err, errlen, "out of memory");
		return ED_ENOMEM;
	}
	unsigned n = db->nents, pos;
	int found = find_ent(db->ents, n, snap->hdr->apex, &pos);
	struct zent *ents = malloc((n + 1) * sizeof(*ents));
	if (ents == NULL) {
		free(pcopy);
		snap_close(snap);
		ed_seterr(err, errlen, "out of memory");
		return ED_ENOMEM;
	}
	if (n > 0)
		memcpy(ents, db->ents, n * sizeof(*ents));
	struct zent old = { 0 };
	if (found) {
		old = ents[pos];
	} else {
		memmove(&ents[pos + 1], &ents[pos], (n - pos) * sizeof(*ents));
		n++;
	}
	struct zent *e = &ents[pos];
	memset(e, 0, sizeof(*e));
	e->snap = snap;
	e->path = pcopy;
	e->loaded = time(NULL);
	if (st != NULL) {
		e->dev = st->st_dev;
		e->ino = st->st_ino;
		e->size = st->st_size;
		e->mtime = st->st_mtim;
	}
	int rc = publish(db, ents, n);
	if (rc != ED_OK) {
		free(ents);
		free(pcopy);
		snap_close(snap);
		ed_seterr(err, errlen, "publishing the zone set: %s", ed_strerror(rc));
		return rc;
	}
	if (found)
		ent_clear(&old);      /* after the grace period: no reader has it */
	if (info != NULL)
		fill_info(e, info);
	char apex[1024];
	dname_to_str(snap->hdr->apex, apex, sizeof(apex));
	zlog(db, 0, "zone %s serial %u loaded from %s", apex, snap->hdr->serial,
	     path != NULL ? path : "(memory)");
	return ED_OK;
}

static int check_zone(const char *zone, const struct snap *snap, const char *what,
                      char *err, size_t errlen)
{
	if (zone == NULL)
		return ED_OK;
	uint8_t want[DNAME_MAXLEN];
	size_t wl = parse_zone(zone, want);
	if (wl == 0) {
		ed_seterr(err, errlen, "bad zone name '%s'", zone);
		return ED_EINVAL;
	}
	if (wl != snap->hdr->apex_len || memcmp(want, snap->hdr->apex, wl) != 0) {
		char apex[1024];
		dname_to_str(snap->hdr->apex, apex, sizeof(apex));
		ed_seterr(err, errlen, "%s: holds zone %s, not %s", what, apex, zone);
		return ED_EINVAL;
	}
	return ED_OK;
}

int zonedb_load_snap(struct zonedb *db, const char *zone, struct snap *snap,
                     const char *path, struct zonedb_info *info, char *err,
                     size_t errlen)
{
	int rc = check_zone(zone, snap, path != NULL ? path : "snapshot", err, errlen);
	if (rc != ED_OK) {
		snap_close(snap);
		return rc;
	}
	pthread_mutex_lock(&db->mu);
	rc = install(db, snap, path, NULL, info, err, errlen);
	pthread_mutex_unlock(&db->mu);
	return rc;
}

int zonedb_load(struct zonedb *db, const char *zone, const char *path,
                struct zonedb_info *info, char *err, size_t errlen)
{
	struct stat st;
	/* The identity is taken before the open: a file renamed over path in
	 * between is then seen as changed by the next zonedb_load_dir(). */
	if (stat(path, &st) != 0) {
		ed_seterr(err, errlen, "%s: %s", path, strerror(errno));
		return ED_EIO;
	}
	struct snap *snap;
	/* Open before taking the mutex: the file I/O and checks of one load do
	 * not hold up the others. */
	int rc = snap_open(path, 0, &snap, err, errlen);
	if (rc != ED_OK) {
		if (err != NULL && errlen > 0 && err[0] == '\0')
			ed_seterr(err, errlen, "%s: %s", path, ed_strerror(rc));
		return rc;
	}
	rc = check_zone(zone, snap, path, err, errlen);
	if (rc != ED_OK) {
		snap_close(snap);
		return rc;
	}
	pthread_mutex_lock(&db->mu);
	rc = install(db, snap, path, &st, info, err, errlen);
	pthread_mutex_unlock(&db->mu);
	return rc;
}

int zonedb_drop(struct zonedb *db, const char *zone, char *err, size_t errlen)
{
	uint8_t apex[DNAME_MAXLEN];
	if (parse_zone(zone, apex) == 0) {
		ed_seterr(err, errlen, "bad zone name '%s'", zone);
		return ED_EINVAL;
	}
	pthread_mutex_lock(&db->mu);
	unsigned pos, n = db->nents;
	if (!find_ent(db->ents, n, apex, &pos)) {
		pthread_mutex_unlock(&db->mu);
		ed_seterr(err, errlen, "zone %s is not served", zone);
		return ED_ENOENT;
	}
	struct zent *ents = malloc((n ? n : 1) * sizeof(*ents));
	if (ents == NULL) {
		pthread_mutex_unlock(&db->mu);
		ed_seterr(err, errlen, "out of memory");
		return ED_ENOMEM;
	}
	if (n > 0)
		memcpy(ents, db->ents, n * sizeof(*ents));
	struct zent old = ents[pos];
	memmove(&ents[pos], &ents[pos + 1], (n - pos - 1) * sizeof(*ents));
	int rc = publish(db, ents, n - 1);
	if (rc != ED_OK) {
		free(ents);
		pthread_mutex_unlock(&db->mu);
		ed_seterr(err, errlen, "publishing the zone set: %s", ed_strerror(rc));
		return rc;
	}
	char name[1024];
	dname_to_str(ent_apex(&old), name, sizeof(name));
	ent_clear(&old);
	pthread_mutex_unlock(&db->mu);
	zlog(db, 0, "zone %s dropped", name);
	return ED_OK;
}

int zonedb_expire(struct zonedb *db, const char *zone, int expired,
                  struct zonedb_info *info, char *err, size_t errlen)
{
	uint8_t apex[DNAME_MAXLEN];
	if (parse_zone(zone, apex) == 0) {
		ed_seterr(err, errlen, "bad zone name '%s'", zone);
		return ED_EINVAL;
	}
	expired = expired != 0;
	pthread_mutex_lock(&db->mu);
	unsigned pos, n = db->nents;
	if (!find_ent(db->ents, n, apex, &pos)) {
		pthread_mutex_unlock(&db->mu);
		ed_seterr(err, errlen, "zone %s is not served", zone);
		return ED_ENOENT;
	}
	if (db->ents[pos].expired == expired) {
		/* already published, and every writer returns only after the
		 * grace period of its publication: in effect */
		if (info != NULL)
			fill_info(&db->ents[pos], info);
		pthread_mutex_unlock(&db->mu);
		return ED_OK;
	}
	struct zent *ents = malloc(n * sizeof(*ents));
	if (ents == NULL) {
		pthread_mutex_unlock(&db->mu);
		ed_seterr(err, errlen, "out of memory");
		return ED_ENOMEM;
	}
	memcpy(ents, db->ents, n * sizeof(*ents));
	ents[pos].expired = expired;
	int rc = publish(db, ents, n);
	if (rc != ED_OK) {
		free(ents);
		pthread_mutex_unlock(&db->mu);
		ed_seterr(err, errlen, "publishing the zone set: %s", ed_strerror(rc));
		return rc;
	}
	char name[1024];
	dname_to_str(ent_apex(&ents[pos]), name, sizeof(name));
	if (info != NULL)
		fill_info(&ents[pos], info);
	pthread_mutex_unlock(&db->mu);
	zlog(db, expired ? 1 : 0, "zone %s %s", name,
	     expired ? "expired: answered SERVFAIL" : "no longer expired: served");
	return ED_OK;
}

static int has_suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a > b && strcmp(s + a - b, suf) == 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A file loaded by zonedb_load_dir: opened, not yet installed. */
struct cand {
	struct snap *snap;
	char *path;
	struct stat st;
};

static int same_file(const struct zent *e, const char *path, const struct stat *st)
{
	return e->path != NULL && strcmp(e->path, path) == 0 && e->dev == st->st_dev &&
	       e->ino == st->st_ino && e->size == st->st_size &&
	       e->mtime.tv_sec == st->st_mtim.tv_sec &&
	       e->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

int zonedb_load_dir(struct zonedb *db, const char *dir,
                    struct zonedb_dir_result *res, char *err, size_t errlen)
{
	struct zonedb_dir_result r = { 0 };
	DIR *d = opendir(dir);
	if (d == NULL) {
		ed_seterr(err, errlen, "%s: %s", dir, strerror(errno));
		return ED_EIO;
	}
	char **names = NULL;
	size_t nnames = 0, capn = 0;
	int rc = ED_OK;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || !has_suffix(de->d_name, ".snap"))
			continue;
		if (nnames == capn) {
			size_t nc = capn ? capn * 2 : 16;
			char **nn = realloc(names, nc * sizeof(*nn));
			if (nn == NULL) {
				rc = ED_ENOMEM;
				break;
			}
			names = nn;
			capn = nc;
		}
		size_t len = strlen(dir) + 1 + strlen(de->d_name) + 1;
		if ((names[nnames] = malloc(len)) == NULL) {
			rc = ED_ENOMEM;
			break;
		}
		snprintf(names[nnames++], len, "%s/%s", dir, de->d_name);
	}
	closedir(d);
	struct cand *cands = NULL;
	unsigned ncand = 0;
	if (rc == ED_OK && nnames > 0)
		qsort(names, nnames, sizeof(*names), cmp_str);
	if (rc == ED_OK && (cands = calloc(nnames ? nnames : 1, sizeof(*cands))) == NULL)
		rc = ED_ENOMEM;
	if (rc != ED_OK) {
		ed_seterr(err, errlen, "%s: %s", dir, ed_strerror(rc));
		goto out;
	}

	pthread_mutex_lock(&db->mu);
	/* Open every new or changed file (under the mutex so that the served
	 * set compared against cannot change meanwhile). */
	for (size_t i = 0; i < nnames; i++) {
		const char *path = names[i];
		struct stat st;
		if (stat(path, &st) != 0) {
			zlog(db, 1, "%s: %s (skipped)", path, strerror(errno));
			r.failed++;
			continue;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		int same = 0;
		for (unsigned j = 0; j < db->nents && !same; j++)
			same = same_file(&db->ents[j], path, &st);
		if (same) {
			r.unchanged++;
			continue;
		}
		char msg[512] = "";
		struct snap *snap;
		int orc = snap_open(path, 0, &snap, msg, sizeof(msg));
		if (orc != ED_OK) {
			if (msg[0] == '\0')
				snprintf(msg, sizeof(msg), "%s: %s", path, ed_strerror(orc));
			zlog(db, 1, "%s (skipped)", msg);
			r.failed++;
			continue;
		}
		int dup = 0;
		for (unsigned j = 0; j < ncand && !dup; j++)
			dup = cands[j].snap->hdr->apex_len == snap->hdr->apex_len &&
			      memcmp(cands[j].snap->hdr->apex, snap->hdr->apex,
			             snap->hdr->apex_len) == 0;
		if (dup) {
			char apex[1024];
			dname_to_str(snap->hdr->apex, apex, sizeof(apex));
			zlog(db, 1, "%s: zone %s is also in another file of %s (skipped)",
			     path, apex, dir);
			snap_close(snap);
			r.failed++;
			continue;
		}
		cands[ncand].snap = snap;
		cands[ncand].path = names[i];
		cands[ncand].st = st;
		names[i] = NULL;
		ncand++;
	}
	if (ncand > 0) {
		/* New table: the old entries plus the candidates, merged. */
		unsigned n = db->nents;
		struct zent *ents = malloc((n + ncand) * sizeof(*ents));
		struct zent *olds = calloc(ncand, sizeof(*olds));
		unsigned nold = 0;
		if (ents == NULL || olds == NULL) {
			free(ents);
			free(olds);
			pthread_mutex_unlock(&db->mu);
			rc = ED_ENOMEM;
			ed_seterr(err, errlen, "%s: %s", dir, ed_strerror(rc));
			goto out;
		}
		if (n > 0)
			memcpy(ents, db->ents, n * sizeof(*ents));
		time_t now = time(NULL);
		for (unsigned i = 0; i < ncand; i++) {
			unsigned pos;
			if (find_ent(ents, n, cands[i].snap->hdr->apex, &pos)) {
				olds[nold++] = ents[pos];
			} else {
				memmove(&ents[pos + 1], &ents[pos], (n - pos) * sizeof(*ents));
				n++;
			}
			struct zent *e = &ents[pos];
			memset(e, 0, sizeof(*e));
			e->snap = cands[i].snap;
			e->path = cands[i].path;
			e->loaded = now;
			e->dev = cands[i].st.st_dev;
			e->ino = cands[i].st.st_ino;
			e->size = cands[i].st.st_size;
			e->mtime = cands[i].st.st_mtim;
		}
		rc = publish(db, ents, n);
		if (rc != ED_OK) {
			free(ents);
			free(olds);
			pthread_mutex_unlock(&db->mu);
			ed_seterr(err, errlen, "%s: publishing the zone set: %s", dir,
			       ed_strerror(rc));
			goto out;
		}
		for (unsigned i = 0; i < nold; i++)
			ent_clear(&olds[i]);
		free(olds);
		for (unsigned i = 0; i < ncand; i++) {
			char apex[1024];
			dname_to_str(cands[i].snap->hdr->apex, apex, sizeof(apex));
			zlog(db, 0, "zone %s serial %u loaded from %s", apex,
			     cands[i].snap->hdr->serial, cands[i].path);
			cands[i].snap = NULL;
			cands[i].path = NULL;
		}
		r.loaded = ncand;
		ncand = 0;
	}
	pthread_mutex_unlock(&db->mu);
out:
	for (unsigned i = 0; i < ncand; i++) {
		snap_close(cands[i].snap);
		free(cands[i].path);
	}
	free(cands);
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	if (res != NULL)
		*res = r;
	return rc;
}

unsigned zonedb_foreach(struct zonedb *db,
                        void (*fn)(void *arg, const struct zonedb_info *zi),
                        void *arg)
{
	struct zonedb_info *zi = malloc(sizeof(*zi));
	pthread_mutex_lock(&db->imu);
	unsigned n = db->nents;
	for (unsigned i = 0; i < n && zi != NULL; i++) {
		fill_info(&db->ents[i], zi);
		fn(arg, zi);
	}
	pthread_mutex_unlock(&db->imu);
	free(zi);
	return n;
}

uint64_t zonedb_generation(struct zonedb *db)
{
	pthread_mutex_lock(&db->imu);
	uint64_t g = db->generation;
	pthread_mutex_unlock(&db->imu);
	return g;
}

int zonedb_reader_register(struct zonedb *db, unsigned id)
{
	if (id >= db->max_readers)
		return ED_EINVAL;
	return rte_rcu_qsbr_thread_register(db->qsv, id) == 0 ? ED_OK : ED_EINVAL;
}

void zonedb_reader_unregister(struct zonedb *db, unsigned id)
{
	rte_rcu_qsbr_thread_unregister(db->qsv, id);
}

void zonedb_reader_online(struct zonedb *db, unsigned id)
{
	rte_rcu_qsbr_thread_online(db->qsv, id);
}

void zonedb_reader_offline(struct zonedb *db, unsigned id)
{
	rte_rcu_qsbr_thread_offline(db->qsv, id);
}

void zonedb_quiescent(struct zonedb *db, unsigned id)
{
	rte_rcu_qsbr_quiescent(db->qsv, id);
}

const struct zoneset *zonedb_current(const struct zonedb *db)
{
	return __atomic_load_n(&db->cur, __ATOMIC_ACQUIRE);
}
