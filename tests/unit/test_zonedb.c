/* test_zonedb.c: zone publication, grace periods and frees (run under ASan). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dname.h"
#include "error.h"
#include "snapshot.h"
#include "snapshot_writer.h"
#include "zonedb.h"
#include "zoneset.h"

/* ---- snapshots built in memory -------------------------------------------- */

static struct snapw *zone_builder(const char *zone, uint32_t serial)
{
	uint8_t apex[DNAME_MAXLEN], ns[DNAME_MAXLEN], www[DNAME_MAXLEN],
	        rname[DNAME_MAXLEN], rd[2 * DNAME_MAXLEN + 20];
	char buf[600];
	assert_true(dname_from_str(zone, apex) > 0);
	snprintf(buf, sizeof(buf), "ns1.%s", zone);
	size_t nl = dname_from_str(buf, ns);
	snprintf(buf, sizeof(buf), "hostmaster.%s", zone);
	size_t rl = dname_from_str(buf, rname);
	snprintf(buf, sizeof(buf), "www.%s", zone);
	assert_true(dname_from_str(buf, www) > 0);
	struct snapw *w = snapw_new(apex);
	assert_non_null(w);
	size_t n = 0;
	memcpy(rd, ns, nl);
	n += nl;
	memcpy(rd + n, rname, rl);
	n += rl;
	uint32_t v[5] = { serial, 3600, 600, 86400, 300 };
	for (unsigned i = 0; i < 5; i++) {
		rd[n++] = (uint8_t)(v[i] >> 24);
		rd[n++] = (uint8_t)(v[i] >> 16);
		rd[n++] = (uint8_t)(v[i] >> 8);
		rd[n++] = (uint8_t)v[i];
	}
	static const uint8_t a[4] = { 192, 0, 2, 1 };
	assert_int_equal(snapw_add_rr(w, apex, 6, 1, 3600, rd, (uint16_t)n), 0);
	assert_int_equal(snapw_add_rr(w, apex, 2, 1, 3600, ns, (uint16_t)nl), 0);
	assert_int_equal(snapw_add_rr(w, ns, 1, 1, 3600, a, 4), 0);
	assert_int_equal(snapw_add_rr(w, www, 1, 1, 3600, a, 4), 0);
	return w;
}

/* An in-memory image; the buffers stay alive until the end of the run
 * (snap_open_mem does not copy). */
struct image {
	void *buf;
	size_t len;
};

#define MAX_IMAGES 64
static struct image images[MAX_IMAGES];
static unsigned nimages;

static const struct image *image(const char *zone, uint32_t serial)
{
	assert_true(nimages < MAX_IMAGES);
	struct snapw *w = zone_builder(zone, serial);
	struct image *im = &images[nimages++];
	char err[256] = "";
	assert_int_equal(snapw_build(w, &im->buf, &im->len, NULL, err, sizeof(err)), 0);
	snapw_free(w);
	return im;
}

static struct snap *open_image(const struct image *im)
{
	struct snap *s = NULL;
	char err[256] = "";
	int rc = snap_open_mem(im->buf, im->len, 0, &s, err, sizeof(err));
	if (rc != 0)
		fail_msg("snap_open_mem: %s", err);
	return s;
}

static void write_zone_file(const char *path, const char *zone, uint32_t serial)
{
	struct snapw *w = zone_builder(zone, serial);
	char err[256] = "";
	int rc = snapw_write(w, path, NULL, err, sizeof(err));
	if (rc != 0)
		fail_msg("snapw_write %s: %s", path, err);
	snapw_free(w);
}

static void write_bytes(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* ---- log capture ---------------------------------------------------------- */

static char logbuf[8192];

static void capture(void *arg, int level, const char *msg)
{
	(void)arg;
	size_t l = strlen(logbuf);
	snprintf(logbuf + l, sizeof(logbuf) - l, "%d:%s\n", level, msg);
}

static uint32_t serial_of(const struct zoneset *zs, const char *zone)
{
	uint8_t apex[DNAME_MAXLEN];
	size_t n = dname_from_str(zone, apex);
	dname_lower(apex, apex, n);
	const struct snap *s = zs_find_exact(zs, apex, n, dname_hash(apex));
	return s != NULL ? s->hdr->serial : 0;
}

static const struct snap *snap_of(const struct zoneset *zs, const char *zone)
{
	uint8_t apex[DNAME_MAXLEN];
	size_t n = dname_from_str(zone, apex);
	dname_lower(apex, apex, n);
	return zs_find_exact(zs, apex, n, dname_hash(apex));
}

/* The zone's ZS_F_* flags in the zoneset; -1 when not in it. */
static int flags_of(const struct zoneset *zs, const char *zone)
{
	uint8_t apex[DNAME_MAXLEN];
	size_t n = dname_from_str(zone, apex);
	dname_lower(apex, apex, n);
	const struct zs_slot *sl = zs_slot_exact(zs, apex, n, dname_hash(apex));
	return sl != NULL ? (int)sl->flags : -1;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_empty(void **state)
{
	(void)state;
	assert_null(zonedb_new(0, NULL, NULL));
	struct zonedb *db = zonedb_new(2, NULL, NULL);
	assert_non_null(db);
	const struct zoneset *zs = zonedb_current(db);
	assert_non_null(zs);
	assert_int_equal(zs->nzones, 0);
	assert_int_equal(zonedb_generation(db), 0);
	char err[128] = "";
	assert_int_equal(zonedb_drop(db, "example.com.", err, sizeof(err)), ED_ENOENT);
	assert_non_null(strstr(err, "example.com"));
	assert_int_equal(zonedb_reader_register(db, 2), ED_EINVAL);
	zonedb_free(db);
}

struct collect {
	char apex[8][1024];
	uint32_t serial[8];
	int expired[8];
	unsigned n;
};

static void collect_fn(void *arg, const struct zonedb_info *zi)
{
	struct collect *c = arg;
	if (c->n < 8) {
		snprintf(c->apex[c->n], sizeof(c->apex[0]), "%s", zi->apex);
		c->expired[c->n] = zi->expired;
		c->serial[c->n++] = zi->serial;
	}
}

static void test_load_replace_drop(void **state)
{
	(void)state;
	struct zonedb *db = zonedb_new(1, NULL, NULL);
	assert_non_null(db);
	const struct image *a1 = image("example.com.", 1);
	const struct image *a2 = image("example.com.", 2);
	const struct image *b = image("b.example.", 9);
	struct zonedb_info zi;
	char err[256] = "";

	assert_int_equal(zonedb_load_snap(db, "Example.COM", open_image(a1), NULL, &zi,
	                                  err, sizeof(err)), ED_OK);
	assert_string_equal(zi.apex, "example.com.");
	assert_int_equal(zi.serial, 1);
	const struct zoneset *zs = zonedb_current(db);
	assert_int_equal(zs->nzones, 1);
	assert_int_equal(serial_of(zs, "example.com."), 1);

	/* Same apex: replaced, not added. */
	assert_int_equal(zonedb_load_snap(db, NULL, open_image(a2), NULL, &zi, err,
	                                  sizeof(err)), ED_OK);
	zs = zonedb_current(db);
	assert_int_equal(zs->nzones, 1);
	assert_int_equal(serial_of(zs, "example.com."), 2);

	/* Another zone: added. */
	assert_int_equal(zonedb_load_snap(db, "b.example.", open_image(b), NULL, NULL, err,
	                                  sizeof(err)), ED_OK);
	zs = zonedb_current(db);
	assert_int_equal(zs->nzones, 2);
	assert_int_equal(serial_of(zs, "b.example."), 9);

	/* Apex mismatch: refused, nothing changes. */
	err[0] = '\0';
	assert_int_equal(zonedb_load_snap(db, "c.example.", open_image(a1), NULL, NULL, err,
	                                  sizeof(err)), ED_EINVAL);
	assert_non_null(strstr(err, "c.example."));
	assert_ptr_equal(zonedb_current(db), zs);
	assert_int_equal(zonedb_generation(db), 3);

	struct collect c = { .n = 0 };
	assert_int_equal(zonedb_foreach(db, collect_fn, &c), 2);
	/* Canonical order: b.example. < example.com. (by TLD first). */
	assert_string_equal(c.apex[0], "example.com.");
	assert_string_equal(c.apex[1], "b.example.");
	assert_int_equal(c.serial[0], 2);

	assert_int_equal(zonedb_drop(db, "EXAMPLE.com", err, sizeof(err)), ED_OK);
	zs = zonedb_current(db);
	assert_int_equal(zs->nzones, 1);
	assert_int_equal(serial_of(zs, "example.com."), 0);
	assert_int_equal(zonedb_drop(db, "example.com.", err, sizeof(err)), ED_ENOENT);
	assert_int_equal(zonedb_drop(db, "bad..name", err, sizeof(err)), ED_EINVAL);
	zonedb_free(db);
}

static char tmpdir[256];

static void rm_tree(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return;
	struct dirent *de;
	char p[512];
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

static int dir_setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_zonedb.XXXXXX");
	return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int dir_teardown(void **state)
{
	(void)state;
	rm_tree(tmpdir);
	return 0;
}

/* expire/unexpire: the snapshot stays (same pointer), only the flag in
 * the published set changes; a load of the zone clears it; load_dir keeps
 * it for an unchanged file and clears it for a new one. */
static void test_expire_unexpire(void **state)
{
	(void)state;
	logbuf[0] = '\0';
	struct zonedb *db = zonedb_new(1, capture, NULL);
	assert_non_null(db);
	const struct image *a1 = image("example.com.", 1);
	const struct image *a2 = image("example.com.", 2);
	const struct image *b = image("b.example.", 9);
	struct zonedb_info zi;
	char err[256] = "";
	assert_int_equal(zonedb_load_snap(db, NULL, open_image(a1), NULL, NULL, err, sizeof(err)),
	                 ED_OK);
	assert_int_equal(zonedb_load_snap(db, NULL, open_image(b), NULL, NULL, err, sizeof(err)),
	                 ED_OK);
	const struct zoneset *zs = zonedb_current(db);
	const struct snap *snap1 = snap_of(zs, "example.com.");
	assert_non_null(snap1);
	assert_int_equal(flags_of(zs, "example.com."), 0);
	uint64_t gen = zonedb_generation(db);

	memset(&zi, 0xff, sizeof(zi));
	assert_int_equal(zonedb_expire(db, "EXAMPLE.com", 1, &zi, err, sizeof(err)), ED_OK);
	assert_string_equal(zi.apex, "example.com.");
	assert_int_equal(zi.serial, 1);
	assert_int_equal(zi.expired, 1);
	assert_int_equal(zonedb_generation(db), gen + 1);
	zs = zonedb_current(db);
	assert_int_equal(zs->nzones, 2);
	assert_int_equal(flags_of(zs, "example.com."), ZS_F_EXPIRED);
	assert_int_equal(flags_of(zs, "b.example."), 0);
	assert_ptr_equal(snap_of(zs, "example.com."), snap1);
	assert_non_null(strstr(logbuf, "1:zone example.com. expired"));

	/* The zones listing shows it. */
	struct collect c = { .n = 0 };
	zonedb_foreach(db, collect_fn, &c);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.expired[0], 1);   /* example.com. */
	assert_int_equal(c.expired[1], 0);

	/* Already expired: ok, no publication. */
	assert_int_equal(zonedb_expire(db, "example.com.", 1, NULL, err, sizeof(err)), ED_OK);
	assert_int_equal(zonedb_generation(db), gen + 1);
	assert_ptr_equal(zonedb_current(db), zs);

	/* unexpire: the same snapshot served again. */
	assert_int_equal(zonedb_expire(db, "example.com.", 0, &zi, err, sizeof(err)), ED_OK);
	assert_int_equal(zi.expired, 0);
	zs = zonedb_current(db);
	assert_int_equal(flags_of(zs, "example.com."), 0);
	assert_ptr_equal(snap_of(zs, "example.com."), snap1);

	/* A load of a new snapshot clears the mark. */
	assert_int_equal(zonedb_expire(db, "example.com.", 1, NULL, err, sizeof(err)), ED_OK);
	assert_int_equal(zonedb_load_snap(db, NULL, open_image(a2), NULL, &zi, err, sizeof(err)),
	                 ED_OK);
	assert_int_equal(zi.expired, 0);
	zs = zonedb_current(db);
	assert_int_equal(flags_of(zs, "example.com."), 0);
	assert_int_equal(serial_of(zs, "example.com."), 2);

	/* A drop of an expired zone; errors. */
	assert_int_equal(zonedb_expire(db, "b.example.", 1, NULL, err, sizeof(err)), ED_OK);
	assert_int_equal(zonedb_drop(db, "b.example.", err, sizeof(err)), ED_OK);
	assert_int_equal(flags_of(zonedb_current(db), "b.example."), -1);
	err[0] = '\0';
	assert_int_equal(zonedb_expire(db, "b.example.", 1, NULL, err, sizeof(err)), ED_ENOENT);
	assert_non_null(strstr(err, "not served"));
	assert_int_equal(zonedb_expire(db, "bad..name", 0, NULL, err, sizeof(err)), ED_EINVAL);
	zonedb_free(db);
}

/* load_dir keeps the mark of a zone whose file did not change and clears
 * it for one loaded anew. */
static void test_expire_load_dir(void **state)
{
	(void)state;
	char pa[512], pz[512];
	snprintf(pa, sizeof(pa), "%s/a.example.snap", tmpdir);
	write_zone_file(pa, "a.example.", 1);
	snprintf(pz, sizeof(pz), "%s/z.example.snap", tmpdir);
	write_zone_file(pz, "z.example.", 5);
	struct zonedb *db = zonedb_new(1, NULL, NULL);
	assert_non_null(db);
	struct zonedb_dir_result r;
	char err[256] = "";
	assert_int_equal(zonedb_load_dir(db, tmpdir, &r, err, sizeof(err)), ED_OK);
	assert_int_equal(r.loaded, 2);
	assert_int_equal(zonedb_expire(db, "a.example.", 1, NULL, err, sizeof(err)), ED_OK);
	assert_int_equal(zonedb_expire(db, "z.example.", 1, NULL, err, sizeof(err)), ED_OK);
	write_zone_file(pz, "z.example.", 6);
	assert_int_equal(zonedb_load_dir(db, tmpdir, &r, err, sizeof(err)), ED_OK);
	assert_int_equal(r.loaded, 1);
	assert_int_equal(r.unchanged, 1);
	const struct zoneset *zs = zonedb_current(db);
	assert_int_equal(flags_of(zs, "a.example."), ZS_F_EXPIRED);
	assert_int_equal(flags_of(zs, "z.example."), 0);
	assert_int_equal(serial_of(zs, "z.example."), 6);
	zonedb_free(db);
}

static void test_load_dir(void **state)
{
	(void)state;
	char p[512];
	logbuf[0] = '\0';
	snprintf(p, sizeof(p), "%s/a.example.snap", tmpdir);
	write_zone_file(p, "a.example.", 1);
	snprintf(p, sizeof(p), "%s/z.example.snap", tmpdir);
	write_zone_file(p, "z.example.", 5);
	snprintf(p, sizeof(p), "%s/broken.snap", tmpdir);
	write_bytes(p, "not a snapshot at all");
	snprintf(p, sizeof(p), "%s/ignored.snap.tmp.1", tmpdir);
	write_bytes(p, "a temporary file of a writer");
	snprintf(p, sizeof(p), "%s/readme.txt", tmpdir);
	write_bytes(p, "not a .snap file");

	struct zonedb *db = zonedb_new(1, capture, NULL);
	assert_non_null(db);
	struct zonedb_dir_result r;
	char err[256] = "";
	assert_int_equal(zonedb_load_dir(db, tmpdir, &r, err, sizeof(err)), ED_OK);
	assert_int_equal(r.loaded, 2);
	assert_int_equal(r.failed, 1);
	assert_int_equal(r.unchanged, 0);
	assert_int_equal(zonedb_generation(db), 1);   /* one publication for all */
	const struct zoneset *zs = zonedb_current(db);
	assert_int_equal(zs->nzones, 2);
	assert_int_equal(serial_of(zs, "z.example."), 5);
	assert_non_null(strstr(logbuf, "broken.snap"));
	assert_non_null(strstr(logbuf, "0:zone a.example. serial 1 loaded from"));

	/* Again: nothing changed, nothing reopened or published. */
	assert_int_equal(zonedb_load_dir(db, tmpdir, &r, err, sizeof(err)), ED_OK);
	assert_int_equal(r.loaded, 0);
	assert_int_equal(r.unchanged, 2);
	assert_int_equal(zonedb_generation(db), 1);
	assert_ptr_equal(zonedb_current(db), zs);

	/* A new version (written and renamed: a new inode) and a second file
	 * for the same zone (skipped, the first in name order wins). */
	snprintf(p, sizeof(p), "%s/z.example.snap", tmpdir);
	write_zone_file(p, "z.example.", 6);
	snprintf(p, sizeof(p), "%s/zz-dup.snap", tmpdir);
	write_zone_file(p, "z.example.", 7);
	logbuf[0] = '\0';
	assert_int_equal(zonedb_load_dir(db, tmpdir, &r, err, sizeof(err)), ED_OK);
	assert_int_equal(r.loaded, 1);
	assert_int_equal(r.unchanged, 1);
	assert_int_equal(r.failed, 2);
	assert_non_null(strstr(logbuf, "zz-dup.snap"));
	assert_int_equal(serial_of(zonedb_current(db), "z.example."), 6);
	unlink(p);

	/* zonedb_load from a path, with and without the zone name. */
	struct zonedb_info zi;
	snprintf(p, sizeof(p), "%s/a.example.snap", tmpdir);
	write_zone_file(p, "a.example.", 2);
	assert_int_equal(zonedb_load(db, "a.example", p, &zi, err, sizeof(err)), ED_OK);
	assert_int_equal(zi.serial, 2);
	assert_string_equal(zi.path, p);
	assert_true(zi.loaded > 0);
	err[0] = '\0';
	assert_int_equal(zonedb_load(db, "z.example.", p, NULL, err, sizeof(err)), ED_EINVAL);
	assert_non_null(strstr(err, "a.example."));
	snprintf(p, sizeof(p), "%s/missing.snap", tmpdir);
	assert_int_not_equal(zonedb_load(db, NULL, p, NULL, err, sizeof(err)), ED_OK);
	assert_non_null(strstr(err, "missing.snap"));
	snprintf(p, sizeof(p), "%s/broken.snap", tmpdir);
	assert_int_not_equal(zonedb_load(db, NULL, p, NULL, err, sizeof(err)), ED_OK);
	assert_int_equal(zonedb_current(db)->nzones, 2);

	assert_int_equal(zonedb_load_dir(db, "/nonexistent/dir", &r, err, sizeof(err)), ED_EIO);
	assert_non_null(strstr(err, "/nonexistent/dir"));
	zonedb_free(db);
}

/* ---- readers against a writer ----------------------------------------------- */

#define READERS 4
#define SWAPS 1500
#define HAMMER_SECONDS 8

struct hammer {
	struct zonedb *db;
	unsigned id;
	volatile int *stop;
	int *started;
	unsigned long reads;
	unsigned long bad;
};

static void *reader(void *arg)
{
	struct hammer *h = arg;
	assert_int_equal(zonedb_reader_register(h->db, h->id), ED_OK);
	zonedb_reader_online(h->db, h->id);
	__atomic_fetch_add(h->started, 1, __ATOMIC_RELEASE);
	unsigned long it = 0;
	while (!__atomic_load_n(h->stop, __ATOMIC_ACQUIRE)) {
		const struct zoneset *zs = zonedb_current(h->db);
		/* Read everything the engine would: the set, each snapshot
		 * header and its nodes; twice, to see it does not change. */
		uint64_t sum1 = 0, sum2 = 0;
		for (unsigned pass = 0; pass < 2; pass++) {
			uint64_t *sum = pass ? &sum2 : &sum1;
			for (uint32_t i = 0; i < zs->nzones; i++) {
				const struct snap *s = zs->zones[i];
				*sum += s->hdr->serial + s->nodes[0].namelen + s->hdr->apex[1];
				if (s->hdr->serial != 1 && s->hdr->serial != 2 && s->hdr->serial != 3)
					h->bad++;
			}
			for (uint32_t j = 0; j <= zs->mask; j++)
				if (zs->slots[j].snap != NULL)
					*sum += zs->slots[j].snap->hdr->file_size;
		}
		if (sum1 != sum2)
			h->bad++;
		h->reads++;
		zonedb_quiescent(h->db, h->id);
		/* Half the readers now and then go offline as around a blocking
		 * wait; the others stay online, so every grace period needs
		 * them to run and report. */
		if ((h->id & 1) && (++it & 1023) == 0) {
			zonedb_reader_offline(h->db, h->id);
			sched_yield();
			zonedb_reader_online(h->db, h->id);
		}
	}
	zonedb_reader_offline(h->db, h->id);
	zonedb_reader_unregister(h->db, h->id);
	return NULL;
}

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_readers_vs_writer(void **state)
{
	(void)state;
	struct zonedb *db = zonedb_new(READERS, NULL, NULL);
	assert_non_null(db);
	const struct image *v[3] = { image("hammer.example.", 1), image("hammer.example.", 2),
	                             image("other.example.", 3) };
	char err[256] = "";
	assert_int_equal(zonedb_load_snap(db, NULL, open_image(v[0]), NULL, NULL, err,
	                                  sizeof(err)), ED_OK);
	volatile int stop = 0;
	int started = 0;
	struct hammer h[READERS];
	pthread_t th[READERS];
	for (unsigned i = 0; i < READERS; i++) {
		h[i] = (struct hammer){ .db = db, .id = i, .stop = &stop, .started = &started };
		assert_int_equal(pthread_create(&th[i], NULL, reader, &h[i]), 0);
	}
	double t0 = mono();
	while (__atomic_load_n(&started, __ATOMIC_ACQUIRE) < READERS && mono() - t0 < 5)
		;
	assert_int_equal(started, READERS);
	unsigned swaps = 0;
	for (; swaps < SWAPS && mono() - t0 < HAMMER_SECONDS; swaps++) {
		int rc;
		switch (swaps % 5) {
		case 0: case 1: case 2:     /* replace the zone */
			rc = zonedb_load_snap(db, "hammer.example.", open_image(v[swaps & 1]),
			                      NULL, NULL, err, sizeof(err));
			break;
		case 3:                     /* add a second zone */
			rc = zonedb_load_snap(db, NULL, open_image(v[2]), NULL, NULL, err,
			                      sizeof(err));
			break;
		default:                    /* and drop it again */
			rc = zonedb_drop(db, "other.example.", err, sizeof(err));
			break;
		}
		assert_int_equal(rc, ED_OK);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	unsigned long reads = 0, bad = 0;
	for (unsigned i = 0; i < READERS; i++) {
		pthread_join(th[i], NULL);
		reads += h[i].reads;
		bad += h[i].bad;
	}
	print_message("%u swaps, %lu reads in %.3fs\n", swaps, reads, mono() - t0);
	assert_int_equal(bad, 0);
	assert_true(swaps >= 100);
	assert_int_equal(zonedb_generation(db), (uint64_t)swaps + 1);
	zonedb_free(db);
}

/* A writer waits for an online reader that has not reported, and not for
 * an offline one. */
struct slow_writer {
	struct zonedb *db;
	const struct image *im;
	volatile int done;
};

static void *writer(void *arg)
{
	struct slow_writer *w = arg;
	char err[256];
	assert_int_equal(zonedb_load_snap(w->db, NULL, open_image(w->im), NULL, NULL, err,
	                                  sizeof(err)), ED_OK);
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void test_grace_waits_for_reader(void **state)
{
	(void)state;
	struct zonedb *db = zonedb_new(2, NULL, NULL);
	assert_non_null(db);
	char err[256];
	const struct image *a = image("grace.example.", 1), *b = image("grace.example.", 2);
	assert_int_equal(zonedb_load_snap(db, NULL, open_image(a), NULL, NULL, err,
	                                  sizeof(err)), ED_OK);
	/* This thread is reader 0: online, holding the zoneset. */
	assert_int_equal(zonedb_reader_register(db, 0), ED_OK);
	assert_int_equal(zonedb_reader_register(db, 1), ED_OK);   /* never online */
	zonedb_reader_online(db, 0);
	const struct zoneset *held = zonedb_current(db);
	assert_int_equal(held->zones[0]->hdr->serial, 1);

	struct slow_writer w = { .db = db, .im = b };
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, writer, &w), 0);
	/* The new set is published at once, but the writer cannot return (and
	 * free what this reader holds) before the reader reports. */
	double t0 = mono();
	while (zonedb_current(db) == held && mono() - t0 < 5)
		;
	assert_ptr_not_equal(zonedb_current(db), held);
	struct timespec ts = { 0, 100 * 1000000 };
	nanosleep(&ts, NULL);
	assert_int_equal(__atomic_load_n(&w.done, __ATOMIC_ACQUIRE), 0);
	assert_int_equal(held->zones[0]->hdr->serial, 1);   /* still valid */
	zonedb_quiescent(db, 0);
	pthread_join(th, NULL);
	assert_int_equal(w.done, 1);
	assert_int_equal(zonedb_current(db)->zones[0]->hdr->serial, 2);

	/* Offline readers do not hold up a writer. */
	zonedb_reader_offline(db, 0);
	w.done = 0;
	w.im = a;
	assert_int_equal(pthread_create(&th, NULL, writer, &w), 0);
	pthread_join(th, NULL);
	assert_int_equal(w.done, 1);
	zonedb_reader_unregister(db, 0);
	zonedb_reader_unregister(db, 1);
	zonedb_free(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_load_replace_drop),
		cmocka_unit_test_setup_teardown(test_load_dir, dir_setup, dir_teardown),
		cmocka_unit_test(test_expire_unexpire),
		cmocka_unit_test_setup_teardown(test_expire_load_dir, dir_setup, dir_teardown),
		cmocka_unit_test(test_readers_vs_writer),
		cmocka_unit_test(test_grace_waits_for_reader),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	for (unsigned i = 0; i < nimages; i++)
		free(images[i].buf);
	return rc;
}
