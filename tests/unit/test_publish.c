/* test_publish.c: zone publication without a dataplane (files only) and
 * the zone state files. Each test works in its own temporary directory.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "config.h"
#include "error.h"
#include "publish.h"
#include "zonestate.h"

#define ZHEAD "$ORIGIN example.com.\n$TTL 300\n" \
	"@ SOA ns1 hostmaster %u 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.1\n"

static char dir[64];

static int setup(void **state)
{
	strcpy(dir, "/tmp/edgedns-test-publish-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	DIR *d = opendir(dir);
	if (d != NULL) {
		struct dirent *e;
		char p[PATH_MAX];
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(dir);
	return 0;
}

/* RRs of text (SOA first), parsed by ldns. */
static ldns_rr_list *parse(const char *text)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	assert_non_null(f);
	ldns_zone *z = NULL;
	ldns_status st = ldns_zone_new_frm_fp(&z, f, NULL, 300, LDNS_RR_CLASS_IN);
	fclose(f);
	assert_int_equal(st, LDNS_STATUS_OK);
	ldns_rr_list *l = ldns_rr_list_new();
	if (ldns_zone_soa(z) != NULL)
		ldns_rr_list_push_rr(l, ldns_rr_clone(ldns_zone_soa(z)));
	for (size_t i = 0; i < ldns_rr_list_rr_count(ldns_zone_rrs(z)); i++)
		ldns_rr_list_push_rr(l, ldns_rr_clone(ldns_rr_list_rr(ldns_zone_rrs(z), i)));
	ldns_zone_deep_free(z);
	return l;
}

static ldns_rr_list *zone_v(unsigned serial, const char *extra)
{
	char buf[4096];
	int n = snprintf(buf, sizeof(buf), ZHEAD, serial);
	snprintf(buf + n, sizeof(buf) - (size_t)n, "%s", extra);
	return parse(buf);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	char *b = malloc(1 << 20);
	assert_non_null(b);
	*len = fread(b, 1, 1 << 20, f);
	fclose(f);
	return b;
}

static int same_rrs(ldns_rr_list *a, ldns_rr_list *b)
{
	ldns_rr_list_sort(a);
	ldns_rr_list_sort(b);
	return ldns_rr_list_compare(a, b) == 0;
}

static const struct publish_conf *conf(void)
{
	static struct publish_conf pc;
	pc.snapshot_dir = dir;
	pc.dataplane_socket = NULL;
	pc.timeout_ms = 0;
	return &pc;
}

static void test_publish_files_and_round_trip(void **state)
{
	ldns_rr_list *rrs = zone_v(7, "www A 192.0.2.2\nWWW AAAA 2001:db8::2\n"
	                              "t TXT \"a b\\\"c\" \"d;e\"\n@ MX 10 mail\nmail A 192.0.2.3\n"
	                              "sub NS ns.sub\nns.sub A 192.0.2.9\n");
	/* An AXFR's closing SOA counts once. */
	ldns_rr_list_push_rr(rrs, ldns_rr_clone(ldns_rr_list_rr(rrs, 0)));
	struct publish_result res;
	char err[512];
	int rc = publish_zone(conf(), "Example.COM", rrs, &res, NULL, err, sizeof(err));
	assert_int_equal(rc, 0);
	assert_int_equal(res.serial, 7);
	assert_int_equal(res.rrs, 10);
	char p[PATH_MAX];
	struct stat sb;
	snprintf(p, sizeof(p), "%s/example.com.snap", dir);
	assert_string_equal(res.snapshot, p);
	assert_int_equal(stat(p, &sb), 0);
	snprintf(p, sizeof(p), "%s/example.com.zone", dir);
	assert_string_equal(res.zonefile, p);
	assert_int_equal(stat(p, &sb), 0);
	snprintf(p, sizeof(p), "%s/example.com.zone.tmp", dir);
	assert_int_not_equal(stat(p, &sb), 0);

	ldns_rr_list *back = NULL;
	uint32_t serial = 0;
	rc = publish_load_last(conf(), "example.com.", &back, &serial, err, sizeof(err));
	assert_int_equal(rc, 0);
	assert_int_equal(serial, 7);
	ldns_rr_free(ldns_rr_list_pop_rr(rrs));   /* the repeated SOA */
	assert_int_equal(ldns_rr_list_rr_count(back), ldns_rr_list_rr_count(rrs));
	assert_true(same_rrs(back, rrs));
	ldns_rr_list_deep_free(back);
	ldns_rr_list_deep_free(rrs);

	/* The text starts with $ORIGIN and the SOA, one RR a line. */
	size_t len;
	snprintf(p, sizeof(p), "%s/example.com.zone", dir);
	char *t = slurp(p, &len);
	assert_non_null(t);
	assert_true(len > 30 && strncmp(t, "$ORIGIN example.com.\nexample.com.\t", 34) == 0);
	assert_non_null(strstr(t, "\tSOA\t"));
	free(t);
}

/* The snapshot's serial from its header; the text of the version that
 * went before stays a readable base when the two are apart (what a stop
 * between the snapshot's rename and the text's leaves). */
static void test_snapshot_serial(void **state)
{
	char err[512], p[PATH_MAX];
	uint32_t serial = 0;
	assert_int_equal(publish_snapshot_serial(conf(), "example.com", &serial, err, sizeof(err)),
	                 ED_ENOENT);
	ldns_rr_list *v1 = zone_v(1, "www A 192.0.2.1\n"), *v2 = zone_v(2, "www A 192.0.2.2\n");
	assert_int_equal(publish_zone(conf(), "example.com", v1, NULL, NULL, err, sizeof(err)), 0);
	snprintf(p, sizeof(p), "%s/example.com.zone", dir);
	size_t l1;
	char *t1 = slurp(p, &l1);
	assert_non_null(t1);
	struct publish_result r1, r2;
	memset(&r1, 0, sizeof(r1));
	memset(&r2, 0, sizeof(r2));
	uint64_t sum = 0;
	assert_int_equal(publish_snapshot_ident(conf(), "example.com", &serial, &sum, err,
	                                        sizeof(err)), 0);
	r1.checksum = sum;
	assert_int_equal(publish_zone(conf(), "example.com", v2, &r2, NULL, err, sizeof(err)), 0);
	assert_int_equal(publish_snapshot_serial(conf(), "example.com", &serial, err, sizeof(err)), 0);
	assert_int_equal(serial, 2);
	/* the identity of a version: the result's checksum is the header's,
	 * and another content has another */
	assert_int_equal(publish_snapshot_ident(conf(), "example.com", &serial, &sum, err,
	                                        sizeof(err)), 0);
	assert_true(sum != 0 && sum == r2.checksum);
	assert_true(r1.checksum != 0 && r1.checksum != r2.checksum);
	/* the text of v1 back in place: as if stopped before the text's rename */
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(t1, 1, l1, f), l1);
	fclose(f);
	ldns_rr_list *back = NULL;
	assert_int_equal(publish_load_last(conf(), "example.com", &back, &serial, err, sizeof(err)), 0);
	assert_int_equal(serial, 1);
	assert_int_equal(publish_snapshot_serial(conf(), "example.com", &serial, err, sizeof(err)), 0);
	assert_int_equal(serial, 2);
	ldns_rr_list_deep_free(back);
	/* not a snapshot */
	snprintf(p, sizeof(p), "%s/example.com.snap", dir);
	f = fopen(p, "w");
	fputs("not a snapshot", f);
	fclose(f);
	assert_int_equal(publish_snapshot_serial(conf(), "example.com", &serial, err, sizeof(err)),
	                 ED_EFORMAT);
	assert_int_equal(publish_remove(conf(), "example.com", err, sizeof(err)), 0);
	free(t1);
	ldns_rr_list_deep_free(v1);
	ldns_rr_list_deep_free(v2);
}

static void test_load_last_missing(void **state)
{
	ldns_rr_list *back = NULL;
	uint32_t serial;
	char err[512];
	assert_int_equal(publish_load_last(conf(), "example.com", &back, &serial, err,
	                                   sizeof(err)), ED_ENOENT);
	assert_null(back);
	assert_int_equal(publish_remove(conf(), "example.com", err, sizeof(err)), ED_ENOENT);
}

/* A refused version leaves the last good files byte for byte. */
static void refused_keeps(const char *extra, int drop_soa)
{
	char err[512], p1[PATH_MAX], p2[PATH_MAX];
	ldns_rr_list *good = zone_v(1, "www A 192.0.2.2\n");
	assert_int_equal(publish_zone(conf(), "example.com", good, NULL, NULL, err, sizeof(err)), 0);
	ldns_rr_list_deep_free(good);
	snprintf(p1, sizeof(p1), "%s/example.com.snap", dir);
	snprintf(p2, sizeof(p2), "%s/example.com.zone", dir);
	size_t l1, l2, m1, m2;
	char *s1 = slurp(p1, &l1), *s2 = slurp(p2, &l2);
	assert_non_null(s1);
	assert_non_null(s2);

	ldns_rr_list *bad = zone_v(2, extra);
	if (drop_soa) {
		ldns_rr *soa = ldns_rr_list_rr(bad, 0);
		ldns_rr_list *rest = ldns_rr_list_new();
		for (size_t i = 1; i < ldns_rr_list_rr_count(bad); i++)
			ldns_rr_list_push_rr(rest, ldns_rr_list_rr(bad, i));
		ldns_rr_free(soa);
		ldns_rr_list_free(bad);
		bad = rest;
	}
	struct compile_diag d;
	compile_diag_init(&d);
	struct publish_result res;
	int rc = publish_zone(conf(), "example.com", bad, &res, &d, err, sizeof(err));
	assert_int_equal(rc, ED_EFORMAT);
	assert_true(d.errors > 0);
	assert_non_null(strstr(err, "example.com.zone"));
	compile_diag_free(&d);
	ldns_rr_list_deep_free(bad);

	char *t1 = slurp(p1, &m1), *t2 = slurp(p2, &m2);
	assert_true(l1 == m1 && memcmp(s1, t1, l1) == 0);
	assert_true(l2 == m2 && memcmp(s2, t2, l2) == 0);
	char tmp[PATH_MAX];
	struct stat sb;
	snprintf(tmp, sizeof(tmp), "%s/example.com.zone.tmp", dir);
	assert_int_not_equal(stat(tmp, &sb), 0);
	uint32_t serial = 0;
	ldns_rr_list *back = NULL;
	assert_int_equal(publish_load_last(conf(), "example.com", &back, &serial, err,
	                                   sizeof(err)), 0);
	assert_int_equal(serial, 1);
	ldns_rr_list_deep_free(back);
	free(s1);
	free(s2);
	free(t1);
	free(t2);
}

static void test_refused_cname_beside_data(void **state)
{
	refused_keeps("www A 192.0.2.2\nwww CNAME ns1\n", 0);
}

static void test_refused_no_soa(void **state)
{
	refused_keeps("www A 192.0.2.2\n", 1);
}

static void test_refused_out_of_zone(void **state)
{
	refused_keeps("www.example.org. A 192.0.2.2\n", 0);
}

/* Zone names that are not harmless path components map to safe names
 * inside dir; names that are not domain names are refused. */
static void test_hostile_names(void **state)
{
	static const char *names[] = { "..", "a/b.example", "x\\.y\\/z.example", "\\..example",
	                               "-x.example", "example.com\\000" };
	char err[512];
	unsigned published = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char fn[CFG_ZONE_FILENAME_MAX + 1];
		size_t n = cfg_zone_filename(names[i], fn, sizeof(fn));
		if (n == 0)
			continue;
		assert_null(strchr(fn, '/'));
		assert_true(strcmp(fn, "..") != 0 && strcmp(fn, ".") != 0);
		/* A zone whose apex is that name: the snapshot lands in dir. */
		ldns_rdf *o = NULL;
		if (ldns_str2rdf_dname(&o, names[i]) != LDNS_STATUS_OK)
			continue;
		char *os = ldns_rdf2str(o);
		char text[1024];
		snprintf(text, sizeof(text),
		         "$ORIGIN %s\n$TTL 300\n@ SOA ns1 h 3 3600 600 86400 300\n@ NS ns1\n"
		         "ns1 A 192.0.2.1\n", os);
		ldns_rr_list *rrs = parse(text);
		struct publish_result res;
		int rc = publish_zone(conf(), names[i], rrs, &res, NULL, err, sizeof(err));
		assert_int_equal(rc, 0);
		char want[PATH_MAX];
		snprintf(want, sizeof(want), "%s/%s.snap", dir, fn);
		assert_string_equal(res.snapshot, want);
		published++;
		assert_int_equal(publish_remove(conf(), names[i], err, sizeof(err)), 0);
		ldns_rr_list_deep_free(rrs);
		free(os);
		ldns_rdf_deep_free(o);
	}
	assert_true(published >= 4);
	ldns_rr_list *rrs = zone_v(1, "");
	assert_int_equal(publish_zone(conf(), "a..b", rrs, NULL, NULL, err, sizeof(err)),
	                 ED_EINVAL);
	assert_int_equal(publish_zone(conf(), "", rrs, NULL, NULL, err, sizeof(err)), ED_EINVAL);
	ldns_rr_list_deep_free(rrs);
	/* Nothing was written outside dir's own files. */
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned n = 0;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	assert_int_equal(n, 0);
}

static void test_remove(void **state)
{
	char err[512], p[PATH_MAX];
	ldns_rr_list *rrs = zone_v(4, "");
	assert_int_equal(publish_zone(conf(), "example.com", rrs, NULL, NULL, err, sizeof(err)), 0);
	ldns_rr_list_deep_free(rrs);
	assert_int_equal(publish_remove(conf(), "EXAMPLE.com.", err, sizeof(err)), 0);
	struct stat sb;
	snprintf(p, sizeof(p), "%s/example.com.snap", dir);
	assert_int_not_equal(stat(p, &sb), 0);
	snprintf(p, sizeof(p), "%s/example.com.zone", dir);
	assert_int_not_equal(stat(p, &sb), 0);
}

static void test_dpctl_missing_socket(void **state)
{
	char err[512], *reply = (char *)1;
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/nosuch.sock", dir);
	assert_int_equal(dpctl_command(p, "ping", 500, &reply, err, sizeof(err)), ED_EIO);
	assert_null(reply);
	assert_non_null(strstr(err, "nosuch.sock"));
	struct publish_conf pc = *conf();
	pc.dataplane_socket = p;
	ldns_rr_list *rrs = zone_v(4, "");
	assert_int_equal(publish_zone(&pc, "example.com", rrs, NULL, NULL, err, sizeof(err)),
	                 ED_EIO);
	ldns_rr_list_deep_free(rrs);
}

/* ---- zone state ---------------------------------------------------------- */

static void fill(struct zone_state *st)
{
	memset(st, 0, sizeof(*st));
	strcpy(st->zone, "example.com.");
	st->serial = 4294967295u;
	st->has_serial = 1;
	st->last_refresh = 1700000000;
	st->last_transfer = 1700000001;
	st->next_refresh = 1700003600;
	st->expire_at = 1701209600;
	strcpy(st->primary, "192.0.2.1@53");
	strcpy(st->last_error, "SOA query to 192.0.2.1@53: \"timed out\"\n");
	st->transfers = 3;
	st->refused = 1;
	st->failures = 9000000000ull;
}

static void test_state_round_trip(void **state)
{
	struct zone_state a, b;
	char err[512];
	fill(&a);
	assert_int_equal(zonestate_save(dir, &a, err, sizeof(err)), 0);
	memset(&b, 0x5a, sizeof(b));
	assert_int_equal(zonestate_load(dir, "Example.Com", &b, err, sizeof(err)), 0);
	assert_string_equal(b.zone, a.zone);
	assert_int_equal(b.serial, a.serial);
	assert_int_equal(b.has_serial, 1);
	assert_true(b.last_refresh == a.last_refresh && b.last_transfer == a.last_transfer &&
	            b.next_refresh == a.next_refresh && b.expire_at == a.expire_at);
	assert_string_equal(b.primary, a.primary);
	assert_string_equal(b.last_error, a.last_error);
	assert_true(b.transfers == 3 && b.refused == 1 && b.failures == 9000000000ull);

	a.has_serial = 0;
	a.serial = 0;
	assert_int_equal(zonestate_save(dir, &a, err, sizeof(err)), 0);
	assert_int_equal(zonestate_load(dir, "example.com", &b, err, sizeof(err)), 0);
	assert_int_equal(b.has_serial, 0);

	char p[PATH_MAX];
	struct stat sb;
	snprintf(p, sizeof(p), "%s/example.com.state", dir);
	assert_int_equal(stat(p, &sb), 0);
	snprintf(p, sizeof(p), "%s/example.com.state.tmp", dir);
	assert_int_not_equal(stat(p, &sb), 0);

	assert_int_equal(zonestate_remove(dir, "example.com", err, sizeof(err)), 0);
	assert_int_equal(zonestate_remove(dir, "example.com", err, sizeof(err)), ED_ENOENT);
}

static void test_state_missing(void **state)
{
	struct zone_state st;
	char err[512];
	assert_int_equal(zonestate_load(dir, "example.com", &st, err, sizeof(err)), ED_ENOENT);
	assert_int_equal(zonestate_load(dir, "a..b", &st, err, sizeof(err)), ED_EINVAL);
}

static void write_state(const char *text)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/example.com.state", dir);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_state_garbage(void **state)
{
	static const char *bad[] = {
		"",
		"garbage",
		"[1,2]",
		"{\"version\":1,\"zone\":\"example.com.\"",
		"{\"zone\":\"example.com.\"}",
		"{\"version\":2,\"zone\":\"example.com.\"}",
		"{\"version\":1,\"zone\":5}",
		"{\"version\":1,\"zone\":\"example.org.\"}",
		"{\"version\":1,\"zone\":\"example.com.\",\"serial\":\"5\"}",
		"{\"version\":1,\"zone\":\"example.com.\",\"serial\":4294967296}",
		"{\"version\":1,\"zone\":\"example.com.\",\"serial\":-1}",
		"{\"version\":1,\"zone\":\"example.com.\",\"expire_at\":1.5}",
		"{\"version\":1,\"zone\":\"example.com.\",\"transfers\":-3}",
		"{\"version\":1,\"zone\":\"example.com.\",\"primary\":true}",
		"{\"version\":1,\"zone\":\"example.com.\",\"bogus\":1}",
		"{\"version\":1,\"zone\":\"example.com.\",\"zone\":\"example.com.\"}",
		"{\"version\":1,\"zone\":\"example.com.\",\"last_error\":\"a\\u0000b\"}",
	};
	struct zone_state st;
	char err[512];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_state(bad[i]);
		err[0] = '\0';
		int rc = zonestate_load(dir, "example.com", &st, err, sizeof(err));
		if (rc != ED_EFORMAT)
			fail_msg("case %zu: rc %d (%s)", i, rc, err);
		assert_non_null(strstr(err, "example.com.state"));
	}
	write_state("{\"version\":1,\"zone\":\"example.com.\"}");
	assert_int_equal(zonestate_load(dir, "example.com", &st, err, sizeof(err)), 0);
	assert_int_equal(st.has_serial, 0);
}

/* A crash between the temporary file and the rename: the old state is
 * read, and the next save replaces the leftover. */
static void test_state_crash_leftover(void **state)
{
	struct zone_state a, b;
	char err[512], p[PATH_MAX];
	fill(&a);
	a.serial = 10;
	assert_int_equal(zonestate_save(dir, &a, err, sizeof(err)), 0);
	snprintf(p, sizeof(p), "%s/example.com.state.tmp", dir);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs("{\"version\":1,\"zone\":\"exa", f);   /* half written */
	fclose(f);
	assert_int_equal(zonestate_load(dir, "example.com", &b, err, sizeof(err)), 0);
	assert_int_equal(b.serial, 10);
	a.serial = 11;
	assert_int_equal(zonestate_save(dir, &a, err, sizeof(err)), 0);
	assert_int_equal(zonestate_load(dir, "example.com", &b, err, sizeof(err)), 0);
	assert_int_equal(b.serial, 11);
	struct stat sb;
	assert_int_not_equal(stat(p, &sb), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_publish_files_and_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_serial, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_last_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_cname_beside_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_no_soa, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_out_of_zone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dpctl_missing_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_crash_leftover, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
