/* test_compile.c: the zone compiler and its checks, one test each.
 *
 * Each test compiles a small zone from a string and expects a message of a
 * given severity at a given line (or none). Run from the repository root
 * (make unit does): the good-zone test reads tests/data/example.com.zone.
 */
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

#include "compile.h"
#include "dname.h"
#include "error.h"
#include "rrsort.h"
#include "snapshot.h"

#define SOA "@ SOA ns1 hostmaster 2024010101 7200 3600 1209600 300\n"
#define HEAD "$ORIGIN example.com.\n$TTL 3600\n" SOA "@ NS ns1\nns1 A 192.0.2.53\n"
/* HEAD is lines 1-5; a test's own lines start at 6. */

static struct compile_diag diag;
static struct compile_result res;

/* Compile text (check only unless img) and return the ED_* code. */
static int run_opts(const char *text, const struct compile_opts *o,
                    void **img, size_t *len)
{
	compile_diag_free(&diag);
	compile_diag_init(&diag);
	if (getenv("TEST_VERBOSE") != NULL)
		diag.out = stderr;
	return compile_zone_mem(text, strlen(text), "t.zone", o, img, len, &res,
	                        &diag);
}

static int run(const char *text)
{
	return run_opts(text, NULL, NULL, NULL);
}

/* The number of messages of sev at line (0: any) containing needle. */
static int count_msgs(enum compile_sev sev, unsigned line, const char *needle)
{
	int n = 0;
	for (unsigned i = 0; i < diag.nmsgs; i++) {
		const struct compile_msg *m = &diag.msgs[i];
		if (m->sev == sev && (line == 0 || m->line == line) &&
		    strstr(m->text, needle) != NULL)
			n++;
	}
	return n;
}

static void dump(void)
{
	for (unsigned i = 0; i < diag.nmsgs; i++)
		fprintf(stderr, "  | %s\n", diag.msgs[i].text);
}

#define expect_msg(sev, line, needle) do { \
	if (count_msgs((sev), (line), (needle)) != 1) { \
		dump(); \
		fail_msg("expected one %s at line %u with \"%s\"", \
		         (sev) == COMPILE_ERROR ? "error" : "warning", \
		         (unsigned)(line), (needle)); \
	} } while (0)

#define expect_clean() do { \
	if (diag.errors != 0 || diag.warnings != 0) { \
		dump(); \
		fail_msg("expected no messages"); \
	} } while (0)

/* ---- parsing ------------------------------------------------------------ */

static void test_good_minimal(void **state)
{
	(void)state;
	assert_int_equal(run(HEAD "www A 192.0.2.1\n"), 0);
	expect_clean();
	assert_string_equal(res.origin, "example.com.");
	assert_int_equal(res.serial, 2024010101u);
	assert_int_equal(res.rrs, 4);
}

static void test_syntax_error_line(void **state)
{
	(void)state;
	assert_int_equal(run(HEAD "\n; comment\nbad A 300.1.1.1\nok A 192.0.2.1\n"
	                     "x MX ten mail\n"), ED_ESYNTAX);
	expect_msg(COMPILE_ERROR, 8, "t.zone:8: error: ");
	expect_msg(COMPILE_ERROR, 10, "t.zone:10: error: ");
	assert_int_equal(diag.errors, 2);
}

static void test_multiline_line_numbers(void **state)
{
	(void)state;
	/* The SOA spans lines 2-5; the bad RR is on line 8 after a comment
	 * and a blank line; the second multi-line RR starts on line 9. */
	const char *z = "$ORIGIN example.com.\n"
	                "@ 3600 SOA ns1 hostmaster (\n"
	                "   1 ; serial\n"
	                "   2 3 4\n"
	                "   5 )\n"
	                "; c\n"
	                "\n"
	                "www CNAME a\n"
	                "www TXT ( \"x\"\n"
	                "  \"y\" )\n"
	                "@ NS ns1.example.net.\n";
	assert_int_equal(run(z), ED_EZONE);
	expect_msg(COMPILE_ERROR, 9, "CNAME beside other data at www.example.com.");
	expect_msg(COMPILE_ERROR, 9, "CNAME at line 8, TXT at line 9");
}

static void test_origin_from_soa(void **state)
{
	(void)state;
	/* No $ORIGIN and no opts.origin: the apex is the SOA owner and later
	 * relative names are relative to it. */
	assert_int_equal(run("example.org. 300 IN SOA ns1.example.org. h.example.org. 7 1 1 1 1\n"
	                     "@ NS ns1\nns1 A 192.0.2.1\n"), 0);
	expect_clean();
	assert_string_equal(res.origin, "example.org.");
	assert_int_equal(res.serial, 7);
	/* A relative name before anything names the origin is an error, not
	 * a name under the root. */
	assert_int_equal(run("www 60 A 192.0.2.1\n"
	                     "example.org. 300 IN SOA ns1.example.org. h.example.org. 7 1 1 1 1\n"
	                     "x.example.org. 60 CNAME y\n"), ED_ESYNTAX);
	expect_msg(COMPILE_ERROR, 1, "relative name but no origin");
	assert_int_equal(diag.errors, 1);
}

static void test_opts_origin(void **state)
{
	(void)state;
	struct compile_opts o = { .origin = "example.net" };
	assert_int_equal(run_opts("@ 60 SOA ns h 1 1 1 1 1\n@ NS ns\nns A 192.0.2.1\n",
	                          &o, NULL, NULL), 0);
	expect_clean();
	assert_string_equal(res.origin, "example.net.");
}

static void test_default_ttl_rules(void **state)
{
	(void)state;
	void *img = NULL;
	size_t len = 0;
	struct compile_opts o = { .origin = "example.com.", .default_ttl = 77 };
	/* Before $TTL: opts default, then the last explicit TTL (RFC 1035);
	 * after $TTL: the $TTL. Different names, so no TTL mismatch. */
	assert_int_equal(run_opts("a A 192.0.2.1\n"
	                          "@ 500 SOA ns1 h 1 1 1 1 1\n"
	                          "@ NS ns1\n"
	                          "$TTL 900\n"
	                          "ns1 A 192.0.2.53\n",
	                          &o, &img, &len), 0);
	expect_clean();
	assert_non_null(img);
	struct snap *s = NULL;
	char err[256];
	assert_int_equal(snap_open_mem(img, len, 0, &s, err, sizeof(err)), 0);
	uint8_t n[256];
	const uint32_t want[] = { 77, 500, 900 };
	const char *names[] = { "a.example.com.", "example.com.", "ns1.example.com." };
	const uint16_t types[] = { 1, 2, 1 };
	for (int i = 0; i < 3; i++) {
		size_t l = dname_from_str(names[i], n);
		const struct snap_node *nd = snap_lookup(s, n, l, dname_hash(n));
		assert_non_null(nd);
		const struct snap_rrset *rs = snap_node_find(s, nd, types[i]);
		assert_non_null(rs);
		assert_int_equal(rs->ttl, want[i]);
	}
	snap_close(s);
	free(img);
}

static void test_include(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_compile.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char p[512], q[512];
	snprintf(p, sizeof(p), "%s/main.zone", dir);
	snprintf(q, sizeof(q), "%s/hosts.inc", dir);
	FILE *f = fopen(p, "w");
	fputs("$ORIGIN example.com.\n$TTL 300\n" SOA "@ NS ns1\n"
	      "$INCLUDE hosts.inc lan\n"
	      "ns1 A 192.0.2.53\n", f);
	fclose(f);
	f = fopen(q, "w");
	fputs("; hosts under lan.example.com.\npc1 A 192.0.2.7\npc1 CNAME x\n", f);
	fclose(f);
	compile_diag_free(&diag);
	compile_diag_init(&diag);
	int rc = compile_zone_file(p, NULL, NULL, &res, &diag);
	assert_int_equal(rc, ED_EZONE);
	/* The error is in the included file, line 3, at a name under the
	 * include's origin; after the include the origin is back. */
	char want[600];
	snprintf(want, sizeof(want), "%s:3: error: CNAME beside other data at "
	         "pc1.lan.example.com.", q);
	expect_msg(COMPILE_ERROR, 3, want);
	assert_int_equal(diag.errors, 1);

	struct compile_opts o = { .flags = COMPILE_NOINCLUDE };
	compile_diag_free(&diag);
	compile_diag_init(&diag);
	assert_int_equal(compile_zone_file(p, &o, NULL, &res, &diag), ED_ESYNTAX);
	expect_msg(COMPILE_ERROR, 5, "$INCLUDE not allowed");
	unlink(p);
	unlink(q);
	rmdir(dir);
}

static void test_max_rrs(void **state)
{
	(void)state;
	struct compile_opts o = { .max_rrs = 3 };
	assert_int_equal(run_opts(HEAD "www A 192.0.2.1\n", &o, NULL, NULL),
	                 ED_ELIMIT);
	expect_msg(COMPILE_ERROR, 6, "more than 3 RRs");
}

/* ---- semantic checks ------------------------------------------------------ */

static void test_soa_missing(void **state)
{
	(void)state;
	struct compile_opts o = { .origin = "example.com." };
	assert_int_equal(run_opts("@ 60 NS ns1\nns1 60 A 192.0.2.1\n", &o, NULL, NULL),
	                 ED_EZONE);
	expect_msg(COMPILE_ERROR, 0, "t.zone: error: no SOA at the zone apex example.com.");
	/* Without any way to know the zone name. */
	assert_int_equal(run("www.example.com. 60 A 192.0.2.1\n"), ED_EZONE);
	expect_msg(COMPILE_ERROR, 0, "no SOA record");
}

static void test_soa_twice(void **state)
{
	(void)state;
	assert_int_equal(run(HEAD "@ SOA ns1 hostmaster 2024010102 7200 3600 1209600 300\n"),
	                 ED_EZONE);
	expect_msg(COMPILE_ERROR, 6, "more than one SOA at example.com.");
}

static void test_soa_not_apex(void **state)
{
	(void)state;
	assert_int_equal(run(HEAD "sub SOA ns1 hostmaster 1 7200 3600 1209600 300\n"),
	                 ED_EZONE);
	expect_msg(COMPILE_ERROR, 6, "SOA not at the zone apex: sub.example.com.");
}

static void test_ns_apex_missing(void **state)
{
	(void)state;
	assert_int_equal(run("$ORIGIN example.com.\n$TTL 60\nwww A 192.0.2.1\n" SOA),
	                 ED_EZONE);
	expect_msg(COMPILE_ERROR, 4, "no NS at the zone apex example.com.");
}

static void test_cname_beside_data(void **state)
{
	(void)state;
	assert_int_equal(run(HEAD "www CNAME web\nwww A 192.0.2.1\n"), ED_EZONE);
	expect_msg(COMPILE_ERROR, 7, "CNAME beside other data at www.example.com.");
	/* CNAME at the apex is beside SOA and NS. */
	assert_int_equal(run(HEAD "@ CNAME www\n"), ED_EZONE);
	expect_msg(COMPILE_ERROR, 6, "CNAME beside other data at example.com.");
}

static void test_cname_with_rrsig_nsec(void **state)
{
	(void)state;
	assert_int_equal(run(HEAD
	        "www CNAME web\n"
	        "www RRSIG CNAME 13 3 3600 20300101000000 20200101000000 12345 "
	        "example.com. AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
	        "www NSEC x.example.com. CNAME RRSIG NSEC\n"), 0);
	assert_int_equal(diag.errors, 0);
}

static void test_two_cnames(void **state)
{
	(void)state;
	assert_int_equal(run(HEAD "www CNAME a\nwww CNAME b\n"), ED_EZONE);
	expect_msg(COMPILE_ERROR, 7, "more than one CNAME at www.example.com.");
	/* The same CNAME twice is a duplicate, not an error. */
	assert_int_equal(run(HEAD "www CNAME a\nWWW CNAME A\n"), 0);
	expect_msg(COMPILE_WARNING, 7, "duplicate RR dropped: www.example.com. CNAME");
}

static void test_two_dnames(void **state)
{
	(void)state;
	assert_int_equal(run(HEAD "old DNAME example.net.\nold DNAME example.org.\n"),
	                 ED_EZONE);
	expect_msg(COMPILE_ERROR, 7, "more than one DNAME at old.example.com.");
	/* One DNAME beside other data is fine; data below it is an error
	 * (RFC 6672 2.3). */
	assert_int_equal(run(HEAD "old DNAME example.net.\nold A 192.0.2.1\n"), 0);
	expect_clean();
	assert_int_equal(run(HEAD "old DNAME example.net.\nold A 192.0.2.1\n"
	                     "x.old A 192.0.2.2\n"), ED_EZONE);
	expect_msg(COMPILE_ERROR, 8, "A at x.old.example.com. is below the DNAME at old.example.com.");
	assert_int_equal(diag.errors, 1);
}

static void test_out_of_zone(void **state)
{
	(void)state;
	assert_int_equal(run(HEAD "www.example.net. A 192.0.2.1\n"
	                     "www.example.net. TXT \"x\"\n"
	                     "com. A 192.0.2.2\n"), ED_EZONE);
	expect_msg(COMPILE_ERROR, 6, "out-of-zone data: www.example.net. is not at or below example.com.");
	expect_msg(COMPILE_ERROR, 8, "out-of-zone data: com.");
	assert_int_equal(diag.errors, 2);
}

static void test_class_not_in(void **state)
{
	(void)state;
	assert_int_equal(run(HEAD "www CH TXT \"x\"\n"), ED_EZONE);
	expect_msg(COMPILE_ERROR, 6, "class CH is not IN: www.example.com. TXT");
}

static void test_occluded_glue(void **state)
{
	(void)state;
	assert_int_equal(run(HEAD
	        "sub NS ns.sub\n"
	        "ns.sub A 192.0.2.9\n"
	        "other.sub A 192.0.2.10\n"
	        "deep.ns.sub TXT \"hidden\"\n"
	        "sub MX 10 mail\n"), 0);
	expect_msg(COMPILE_WARNING, 8, "non-glue A at other.sub.example.com. below delegation sub.example.com.");
	expect_msg(COMPILE_WARNING, 9, "TXT at deep.ns.sub.example.com. below delegation sub.example.com. is occluded");
	expect_msg(COMPILE_WARNING, 10, "MX at delegation point sub.example.com. is occluded");
	assert_int_equal(diag.warnings, 3);
	/* Sibling glue: the target of one delegation below another is glue. */
	assert_int_equal(run(HEAD
	        "a NS ns.b\nb NS ns.b\nns.b A 192.0.2.9\n"), 0);
	expect_clean();
}

static void test_missing_glue(void **state)
{
	(void)state;
	assert_int_equal(run(HEAD
	        "sub NS ns1.sub\n"
	        "sub NS ns2.sub\n"
	        "sub NS ns.example.net.\n"
	        "ns1.sub AAAA 2001:db8::1\n"
	        "sub2 NS nowhere\n"), ED_EZONE);
	expect_msg(COMPILE_ERROR, 7, "missing glue: NS target ns2.sub.example.com. of delegation sub.example.com.");
	expect_msg(COMPILE_ERROR, 10, "missing glue: NS target nowhere.example.com. of delegation sub2.example.com.");
	assert_int_equal(diag.errors, 2);
	/* A target covered by a wildcard with an address is fine. */
	assert_int_equal(run(HEAD "*.w A 192.0.2.1\nsub NS x.w\n"), 0);
	expect_clean();
}

static void test_duplicates(void **state)
{
	(void)state;
	void *img = NULL;
	size_t len = 0;
	/* Case-insensitive names in MX rdata; TXT compares exactly. */
	assert_int_equal(run_opts(HEAD
	        "@ MX 10 mail\n"
	        "@ MX 10 MAIL.example.COM.\n"
	        "t TXT \"A\"\n"
	        "t TXT \"a\"\n"
	        "ns1 A 192.0.2.53\n", NULL, &img, &len), 0);
	expect_msg(COMPILE_WARNING, 7, "duplicate RR dropped: example.com. MX (first at line 6)");
	expect_msg(COMPILE_WARNING, 10, "duplicate RR dropped: ns1.example.com. A (first at line 5)");
	assert_int_equal(diag.warnings, 2);
	assert_int_equal(res.rrs_read, 8);
	assert_int_equal(res.rrs, 6);
	if (img != NULL) {
		struct snap *s = NULL;
		char err[256];
		assert_int_equal(snap_open_mem(img, len, 0, &s, err, sizeof(err)), 0);
		assert_int_equal(s->hdr->nrrs, 6);
		snap_close(s);
		free(img);
	}
}

static void test_ttl_mismatch(void **state)
{
	(void)state;
	const char *z = HEAD "www 300 A 192.0.2.1\nwww 600 A 192.0.2.2\nwww 300 A 192.0.2.3\n";
	void *img = NULL;
	size_t len = 0;
	uint8_t n[256];
	size_t l = dname_from_str("www.example.com.", n);
	struct snap *s = NULL;
	char err[256];

	assert_int_equal(run_opts(z, NULL, &img, &len), 0);
	expect_msg(COMPILE_WARNING, 7, "TTL mismatch in RRset www.example.com. A: using 300 from line 8");
	assert_int_equal(snap_open_mem(img, len, 0, &s, err, sizeof(err)), 0);
	assert_int_equal(snap_node_find(s, snap_lookup(s, n, l, dname_hash(n)), 1)->ttl, 300);
	snap_close(s);
	free(img);

	struct compile_opts o = { .flags = COMPILE_TTL_FIRST };
	z = HEAD "www 300 A 192.0.2.1\nwww 600 A 192.0.2.2\n";
	assert_int_equal(run_opts(z, &o, &img, &len), 0);
	expect_msg(COMPILE_WARNING, 7, "using 300 from line 6");
	assert_int_equal(snap_open_mem(img, len, 0, &s, err, sizeof(err)), 0);
	assert_int_equal(snap_node_find(s, snap_lookup(s, n, l, dname_hash(n)), 1)->ttl, 300);
	snap_close(s);
	free(img);

	/* RRSIGs of one type covered may differ in TTL. */
	assert_int_equal(run(HEAD
	        "www 300 A 192.0.2.1\n"
	        "www 300 RRSIG A 13 3 300 20300101000000 20200101000000 1 example.com. AAAA\n"
	        "www 600 RRSIG A 13 3 300 20300101000000 20200101000000 2 example.com. AAAA\n"), 0);
	expect_clean();
}

static void test_errors_leave_snapshot(void **state)
{
	(void)state;
	char p[] = "/tmp/test_compile_zone.XXXXXX";
	int fd = mkstemp(p);
	assert_true(fd >= 0);
	const char *z = HEAD "www CNAME a\nwww A 192.0.2.1\n";
	assert_int_equal(write(fd, z, strlen(z)), (ssize_t)strlen(z));
	close(fd);
	char out[600];
	snprintf(out, sizeof(out), "%s.snap", p);
	FILE *f = fopen(out, "w");
	fputs("old", f);
	fclose(f);
	compile_diag_free(&diag);
	compile_diag_init(&diag);
	assert_int_equal(compile_zone_file(p, NULL, out, &res, &diag), ED_EZONE);
	struct stat st;
	assert_int_equal(stat(out, &st), 0);
	assert_int_equal(st.st_size, 3);
	/* And an unreadable zone file is an I/O error with a message. */
	assert_int_equal(compile_zone_file("/nonexistent/x.zone", NULL, out, &res,
	                                   &diag), ED_EIO);
	expect_msg(COMPILE_ERROR, 0, "/nonexistent/x.zone: error: ");
	assert_int_equal(stat(out, &st), 0);
	assert_int_equal(st.st_size, 3);
	unlink(out);
	unlink(p);
}

/* ---- the sample zone, end to end ------------------------------------------ */

static void test_example_zone(void **state)
{
	(void)state;
	const char *zf = "tests/data/example.com.zone";
	char out[] = "/tmp/test_compile_snap.XXXXXX";
	int fd = mkstemp(out);
	assert_true(fd >= 0);
	close(fd);
	compile_diag_free(&diag);
	compile_diag_init(&diag);
	int rc = compile_zone_file(zf, NULL, out, &res, &diag);
	if (rc != 0)
		dump();
	assert_int_equal(rc, 0);
	expect_clean();
	assert_string_equal(res.origin, "example.com.");
	assert_int_equal(res.serial, 2024010101u);
	assert_true(res.rrs > 50);
	assert_int_equal(res.snap.nrrs, res.rrs);

	struct snap *s = NULL;
	char err[256];
	assert_int_equal(snap_open(out, 0, &s, err, sizeof(err)), 0);
	assert_int_equal(s->hdr->serial, 2024010101u);
	assert_int_equal(s->hdr->nrrs, res.rrs);
	assert_int_equal(s->hdr->nnodes, res.snap.nnodes);
	snap_close(s);
	unlink(out);

	/* The in-memory variant builds the same zone. */
	FILE *f = fopen(zf, "r");
	assert_non_null(f);
	static char text[1 << 16];
	size_t n = fread(text, 1, sizeof(text), f);
	fclose(f);
	void *img = NULL;
	size_t len = 0;
	assert_int_equal(run_opts(text, NULL, &img, &len), 0);
	(void)n;
	assert_int_equal(snap_open_mem(img, len, 0, &s, err, sizeof(err)), 0);
	assert_int_equal(s->hdr->serial, 2024010101u);
	assert_int_equal(s->hdr->nrrs, res.rrs);
	snap_close(s);
	free(img);
}

/* ---- compiling ldns RRs (compile_zone_rrs) ----------------------------- */

/* The RRs of text (ldns's zone reader), SOA first, the rest in the order
 * publish gives a version (rrsort.h). */
static ldns_rr_list *rrs_of(const char *text)
{
	FILE *f = fmemopen((void *)(uintptr_t)text, strlen(text), "r");
	assert_non_null(f);
	ldns_zone *z = NULL;
	assert_int_equal(ldns_zone_new_frm_fp(&z, f, NULL, 3600, LDNS_RR_CLASS_IN), LDNS_STATUS_OK);
	fclose(f);
	ldns_rr_list *l = ldns_rr_list_new();
	ldns_rr_list_push_rr(l, ldns_rr_clone(ldns_zone_soa(z)));
	for (size_t i = 0; i < ldns_rr_list_rr_count(ldns_zone_rrs(z)); i++)
		ldns_rr_list_push_rr(l, ldns_rr_clone(ldns_rr_list_rr(ldns_zone_rrs(z), i)));
	ldns_zone_deep_free(z);
	assert_int_equal(rrsort_list(l), 0);
	return l;
}

/* "$ORIGIN o" and one RR a line, as publish writes a version's text. */
static char *text_of(const ldns_rr_list *l, const char *origin)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	fprintf(f, "$ORIGIN %s\n", origin);
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++)
		ldns_rr_print(f, ldns_rr_list_rr(l, i));
	fclose(f);
	return buf;
}

/* Compile l straight from its RRs: the image (header's build time zeroed)
 * or NULL, with the messages in d. */
static void *compile_list(const ldns_rr_list *l, struct compile_diag *d, size_t *len, int *rc)
{
	struct compile_opts o = { .origin = "example.com." };
	struct snapw *w = NULL;
	struct compile_result r;
	size_t n = ldns_rr_list_rr_count(l);
	ldns_rr **v = malloc(n * sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = ldns_rr_list_rr(l, i);
	*rc = compile_zone_rrs(v, n, "t.zone", 2, &o, &w, &r, d);
	free(v);
	void *img = NULL;
	*len = 0;
	if (*rc == 0) {
		char err[256];
		assert_int_equal(snapw_build(w, &img, len, NULL, err, sizeof(err)), 0);
		((struct snap_header *)img)->created = 0;
	}
	snapw_free(w);
	return img;
}

/* A zone compiled from its ldns RRs gives the snapshot, octet for octet,
 * that compiling the text of the same RRs gives; a zone with errors the
 * same messages at the same lines. */
static void test_rrs_same_as_text(void **state)
{
	(void)state;
	FILE *f = fopen("tests/data/example.com.zone", "r");
	assert_non_null(f);
	static char zt[1 << 16];
	size_t zl = fread(zt, 1, sizeof(zt) - 1, f);
	fclose(f);
	zt[zl] = 0;
	const char *bad = HEAD "www A 192.0.2.1\nwww CNAME ns1\nout.example.org. A 192.0.2.2\n"
	                  "dup TXT \"x\"\ndup TXT \"x\"\nsub NS ns.sub\n";
	const char *cases[] = { zt, HEAD "a 60 TXT \"1\"\na 120 TXT \"2\"\n", bad };
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		ldns_rr_list *l = rrs_of(cases[c]);
		char *t = text_of(l, "example.com.");
		struct compile_opts o = { .origin = "example.com." };
		void *a = NULL;
		size_t al = 0;
		compile_diag_free(&diag);
		compile_diag_init(&diag);
		int ra = compile_zone_mem(t, strlen(t), "t.zone", &o, &a, &al, &res, &diag);
		struct compile_diag d2;
		compile_diag_init(&d2);
		size_t bl;
		int rb;
		void *b = compile_list(l, &d2, &bl, &rb);
		assert_int_equal(ra, rb);
		assert_int_equal(diag.errors, d2.errors);
		assert_int_equal(diag.warnings, d2.warnings);
		assert_int_equal(diag.nmsgs, d2.nmsgs);
		for (unsigned i = 0; i < diag.nmsgs; i++)
			assert_string_equal(diag.msgs[i].text, d2.msgs[i].text);
		if (ra == 0) {
			((struct snap_header *)a)->created = 0;
			assert_int_equal(al, bl);
			assert_memory_equal(a, b, al);
		} else {
			assert_true(diag.errors > 0);
		}
		compile_diag_free(&d2);
		free(a);
		free(b);
		free(t);
		ldns_rr_list_deep_free(l);
	}
}

/* The owners in any order give the snapshot the canonical order gives (an
 * rrset keeps the order its RRs came in): the owners reversed (each out of
 * order), and in order but for the last RR of a name moved to the end (the
 * name comes back after the lookup tables were put off). */
static void test_rrs_any_order(void **state)
{
	(void)state;
	FILE *f = fopen("tests/data/example.com.zone", "r");
	assert_non_null(f);
	static char zt[1 << 16];
	size_t zl = fread(zt, 1, sizeof(zt) - 1, f);
	fclose(f);
	zt[zl] = 0;
	ldns_rr_list *l = rrs_of(zt);
	size_t n = ldns_rr_list_rr_count(l);
	assert_true(n > 10);
	struct compile_diag d;
	compile_diag_init(&d);
	size_t al, bl, cl;
	int ra, rb, rc;
	void *a = compile_list(l, &d, &al, &ra);
	assert_int_equal(ra, 0);
	assert_non_null(a);

	ldns_rr_list *rev = ldns_rr_list_new();
	for (size_t e = n; e > 0;) {
		size_t s = e - 1;
		while (s > 0 && ldns_dname_compare(ldns_rr_owner(ldns_rr_list_rr(l, s - 1)),
		                                   ldns_rr_owner(ldns_rr_list_rr(l, e - 1))) == 0)
			s--;
		for (size_t i = s; i < e; i++)
			ldns_rr_list_push_rr(rev, ldns_rr_list_rr(l, i));
		e = s;
	}
	void *b = compile_list(rev, &d, &bl, &rb);
	assert_int_equal(rb, 0);
	assert_int_equal(al, bl);
	assert_memory_equal(a, b, al);

	size_t m = n / 2;   /* the last RR of a name that has several */
	while (m + 1 < n && !(ldns_dname_compare(ldns_rr_owner(ldns_rr_list_rr(l, m - 1)),
	                                         ldns_rr_owner(ldns_rr_list_rr(l, m))) == 0 &&
	                      ldns_dname_compare(ldns_rr_owner(ldns_rr_list_rr(l, m)),
	                                         ldns_rr_owner(ldns_rr_list_rr(l, m + 1))) != 0))
		m++;
	assert_true(m + 1 < n);
	ldns_rr_list *late = ldns_rr_list_new();
	for (size_t i = 0; i < n; i++)
		if (i != m)
			ldns_rr_list_push_rr(late, ldns_rr_list_rr(l, i));
	ldns_rr_list_push_rr(late, ldns_rr_list_rr(l, m));
	void *c = compile_list(late, &d, &cl, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(al, cl);
	assert_memory_equal(a, c, al);

	assert_int_equal(d.errors, 0);
	compile_diag_free(&d);
	free(a);
	free(b);
	free(c);
	ldns_rr_list_free(rev);
	ldns_rr_list_free(late);
	ldns_rr_list_deep_free(l);
}

int main(void)
{
	compile_diag_init(&diag);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_minimal),
		cmocka_unit_test(test_rrs_same_as_text),
		cmocka_unit_test(test_rrs_any_order),
		cmocka_unit_test(test_syntax_error_line),
		cmocka_unit_test(test_multiline_line_numbers),
		cmocka_unit_test(test_origin_from_soa),
		cmocka_unit_test(test_opts_origin),
		cmocka_unit_test(test_default_ttl_rules),
		cmocka_unit_test(test_include),
		cmocka_unit_test(test_max_rrs),
		cmocka_unit_test(test_soa_missing),
		cmocka_unit_test(test_soa_twice),
		cmocka_unit_test(test_soa_not_apex),
		cmocka_unit_test(test_ns_apex_missing),
		cmocka_unit_test(test_cname_beside_data),
		cmocka_unit_test(test_cname_with_rrsig_nsec),
		cmocka_unit_test(test_two_cnames),
		cmocka_unit_test(test_two_dnames),
		cmocka_unit_test(test_out_of_zone),
		cmocka_unit_test(test_class_not_in),
		cmocka_unit_test(test_occluded_glue),
		cmocka_unit_test(test_missing_glue),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_ttl_mismatch),
		cmocka_unit_test(test_errors_leave_snapshot),
		cmocka_unit_test(test_example_zone),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	compile_diag_free(&diag);
	return rc;
}
