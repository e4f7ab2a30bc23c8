/* test_verify.c: the zone version gate (control/verify.h).
 *
 * Zones are written as text here; the signed ones are signed at test time
 * with ldns-keygen (ECDSAP256SHA256) and ldns-signzone in a temporary
 * directory, and one is digested by dnspython (python3) as an independent
 * ZONEMD implementation; a test whose tool is missing is skipped. The
 * ZONEMD vectors are those of RFC 8976 Appendix A (with its errata).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "error.h"
#include "rrsort.h"
#include "verify.h"

static char tmpdir[] = "/tmp/edgedns-verify-XXXXXX";
static char ksk[128], zsk[128];   /* key base names, in tmpdir */
static char ksk15[128];           /* an ED25519 KSK, "" when none */
static int have_tools;
static time_t now;

/* ---- zones ------------------------------------------------------------- */

/* Every RR of zone text (the SOA first), deep copies; the caller frees
 * with ldns_rr_list_deep_free(). NULL when it does not parse. */
static ldns_rr_list *zone_from_fp(FILE *f)
{
	ldns_zone *z = NULL;
	ldns_status st = ldns_zone_new_frm_fp(&z, f, NULL, 3600, LDNS_RR_CLASS_IN);
	if (st != LDNS_STATUS_OK) {
		fprintf(stderr, "zone parse: %s\n", ldns_get_errorstr_by_id(st));
		return NULL;
	}
	ldns_rr_list *l = ldns_rr_list_new();
	if (ldns_zone_soa(z) != NULL)
		ldns_rr_list_push_rr(l, ldns_rr_clone(ldns_zone_soa(z)));
	for (size_t i = 0; i < ldns_rr_list_rr_count(ldns_zone_rrs(z)); i++)
		ldns_rr_list_push_rr(l, ldns_rr_clone(ldns_rr_list_rr(ldns_zone_rrs(z), i)));
	ldns_zone_deep_free(z);
	return l;
}

static ldns_rr_list *zone_text(const char *text)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	assert_non_null(f);
	ldns_rr_list *l = zone_from_fp(f);
	fclose(f);
	assert_non_null(l);
	return l;
}

static ldns_rr_list *zone_file(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return NULL;
	ldns_rr_list *l = zone_from_fp(f);
	fclose(f);
	return l;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* The zone signed by ldns-signzone with extra options opts and the keys
 * (base names in tmpdir), signatures valid from now+inc to now+exp
 * seconds. */
static ldns_rr_list *signed_zone_keys(const char *text, const char *opts,
                                      long inc, long exp, const char *keys)
{
	char in[256], out[256];
	snprintf(in, sizeof(in), "%s/in.zone", tmpdir);
	snprintf(out, sizeof(out), "%s/out.zone", tmpdir);
	write_file(in, text);
	unlink(out);
	int rc = sh("cd %s && ldns-signzone %s -i %lld -e %lld -f out.zone in.zone "
	            "%s >/dev/null", tmpdir, opts, (long long)(now + inc),
	            (long long)(now + exp), keys);
	assert_int_equal(rc, 0);
	ldns_rr_list *l = zone_file(out);
	assert_non_null(l);
	return l;
}

/* Signed with our KSK and ZSK (ECDSAP256SHA256). */
static ldns_rr_list *signed_zone(const char *text, const char *opts,
                                 long inc, long exp)
{
	char keys[300];
	snprintf(keys, sizeof(keys), "%s %s", ksk, zsk);
	return signed_zone_keys(text, opts, inc, exp, keys);
}

#define DAY 86400L

/* A zone with a secure and an insecure delegation (glue, occluded data),
 * a wildcard, empty non-terminals (b.c, c) and mixed case. */
static const char base_zone[] =
	"$ORIGIN example.com.\n$TTL 3600\n"
	"@ SOA ns1 hostmaster 2024010101 7200 3600 1209600 300\n"
	"@ NS ns1\n@ NS ns2.example.net.\n@ MX 10 Mail\n"
	"ns1 A 192.0.2.53\nmail A 192.0.2.25\n"
	"www A 192.0.2.80\nwww AAAA 2001:db8::80\nWWW TXT \"mixed\"\n"
	"*.wild TXT \"wild\"\na.b.c TXT \"deep\"\n"
	"sub NS ns.sub\nns.sub A 192.0.2.99\nx.sub TXT \"occluded\"\n"
	"secure NS ns.secure\n"
	"secure DS 12345 13 2 0000000000000000000000000000000000000000000000000000000000000000\n"
	"ns.secure A 192.0.2.98\n";

/* ---- list surgery ------------------------------------------------------- */

static int rr_is(const ldns_rr *rr, const char *owner, ldns_rr_type type,
                 ldns_rr_type covered)
{
	ldns_rdf *o = ldns_dname_new_frm_str(owner);
	int m = ldns_dname_compare(ldns_rr_owner(rr), o) == 0 &&
	        ldns_rr_get_type(rr) == type &&
	        (type != LDNS_RR_TYPE_RRSIG ||
	         ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr)) == covered);
	ldns_rdf_deep_free(o);
	return m;
}

static ldns_rr *find_rr(ldns_rr_list *l, const char *owner, ldns_rr_type type,
                        ldns_rr_type covered)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++)
		if (rr_is(ldns_rr_list_rr(l, i), owner, type, covered))
			return ldns_rr_list_rr(l, i);
	return NULL;
}

/* Remove (and free) the RRs of owner and type (RRSIGs: of that covered
 * type); returns how many. */
static size_t remove_rrs(ldns_rr_list *l, const char *owner, ldns_rr_type type,
                         ldns_rr_type covered)
{
	size_t j = 0, n = ldns_rr_list_rr_count(l), gone = 0;
	for (size_t i = 0; i < n; i++) {
		ldns_rr *rr = ldns_rr_list_rr(l, i);
		if (rr_is(rr, owner, type, covered)) {
			ldns_rr_free(rr);
			gone++;
		} else {
			ldns_rr_list_set_rr(l, rr, j++);
		}
	}
	ldns_rr_list_set_rr_count(l, j);
	return gone;
}

/* The first owner of an RR of type in l, in presentation form. */
static char *owner_of(ldns_rr_list *l, ldns_rr_type type, size_t nth)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
		ldns_rr *rr = ldns_rr_list_rr(l, i);
		if (ldns_rr_get_type(rr) == type && nth-- == 0)
			return ldns_rdf2str(ldns_rr_owner(rr));
	}
	return NULL;
}

/* The ZSK, to sign again what a test changed in a signed zone. */
static ldns_key_list *zsk_list;

/* Replace the RRSIGs over owner's RRset of type with fresh ones by the
 * ZSK (valid from a day ago for 30 days). */
static void resign(ldns_rr_list *z, const char *owner, ldns_rr_type type)
{
	remove_rrs(z, owner, LDNS_RR_TYPE_RRSIG, type);
	ldns_rr_list *set = ldns_rr_list_new();
	for (size_t i = 0; i < ldns_rr_list_rr_count(z); i++)
		if (rr_is(ldns_rr_list_rr(z, i), owner, type, 0))
			ldns_rr_list_push_rr(set, ldns_rr_list_rr(z, i));
	assert_true(ldns_rr_list_rr_count(set) > 0);
	ldns_rr_list *sigs = ldns_sign_public(set, zsk_list);
	assert_non_null(sigs);
	for (size_t i = 0; i < ldns_rr_list_rr_count(sigs); i++)
		ldns_rr_list_push_rr(z, ldns_rr_clone(ldns_rr_list_rr(sigs, i)));
	ldns_rr_list_deep_free(sigs);
	ldns_rr_list_free(set);
}

/* "<hash>.example.com." of name, NSEC3 without salt or iterations. */
static char *nsec3_owner(const char *name)
{
	ldns_rdf *n = ldns_dname_new_frm_str(name);
	ldns_rdf *apex = ldns_dname_new_frm_str("example.com.");
	uint8_t nosalt = 0;
	ldns_rdf *h = ldns_nsec3_hash_name(n, 1, 0, 0, &nosalt);
	assert_non_null(h);
	assert_int_equal(ldns_dname_cat(h, apex), LDNS_STATUS_OK);
	char *s = ldns_rdf2str(h);
	ldns_rdf_deep_free(n);
	ldns_rdf_deep_free(apex);
	ldns_rdf_deep_free(h);
	return s;
}

/* ---- running the gate --------------------------------------------------- */

static struct verify_report rep;

static void dump(void)
{
	fprintf(stderr, "  | %s: %s (zonemd %u, rrsigs %u, -%llu +%llu)\n",
	        verify_result_str(rep.result), rep.reason, rep.zonemd_verified,
	        rep.rrsigs_checked, (unsigned long long)rep.rrs_removed,
	        (unsigned long long)rep.rrs_added);
}

/* A list of l's RRs (the same ones) in the order of a published version. */
static ldns_rr_list *ordered(const ldns_rr_list *l)
{
	if (l == NULL)
		return NULL;
	ldns_rr_list *o = ldns_rr_list_new();
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++)
		ldns_rr_list_push_rr(o, ldns_rr_list_rr(l, i));
	assert_int_equal(rrsort_list(o), 0);
	return o;
}

/* verify_zone_diff() (the zone service's gate, its fast path for zones
 * without DNSSEC or ZONEMD comparing the versions by a merge) must decide
 * every case of this file as verify_zone() does: same result, reason and
 * counts. */
static void same_as_diff(const ldns_rr_list *nz, const ldns_rr_list *oz,
                         const struct verify_policy *pol, int rc)
{
	if (nz == NULL)
		return;
	ldns_rr_list *n2 = ordered(nz), *o2 = ordered(oz);
	struct verify_report r2;
	int rc2 = verify_zone_diff(n2, o2, NULL, 0, pol, now, &r2);
	if (rc2 != rc || r2.result != rep.result || strcmp(r2.reason, rep.reason) != 0 ||
	    r2.rrs != rep.rrs || r2.rrs_removed != rep.rrs_removed ||
	    r2.rrs_added != rep.rrs_added || r2.new_serial != rep.new_serial ||
	    r2.old_serial != rep.old_serial)
		fail_msg("verify_zone_diff: rc %d result %d \"%s\" rrs %llu -%llu +%llu; "
		         "verify_zone: rc %d result %d \"%s\" rrs %llu -%llu +%llu", rc2, r2.result,
		         r2.reason, (unsigned long long)r2.rrs, (unsigned long long)r2.rrs_removed,
		         (unsigned long long)r2.rrs_added, rc, rep.result, rep.reason,
		         (unsigned long long)rep.rrs, (unsigned long long)rep.rrs_removed,
		         (unsigned long long)rep.rrs_added);
	ldns_rr_list_free(n2);
	ldns_rr_list_free(o2);
}

static enum verify_result run(const ldns_rr_list *nz, const ldns_rr_list *oz,
                              const struct verify_policy *pol)
{
	int rc = verify_zone(nz, oz, pol, now, &rep);
	same_as_diff(nz, oz, pol, rc);
	if (getenv("TEST_VERBOSE") != NULL)
		dump();
	if (rc != 0 && rep.result != VERIFY_ERROR)
		fail_msg("rc %d with result %d", rc, rep.result);
	return rep.result;
}

#define expect_ok(nz, oz, pol) do { \
	if (run((nz), (oz), (pol)) != VERIFY_OK) { \
		dump(); \
		fail_msg("expected ok"); \
	} } while (0)

#define expect_refused(nz, oz, pol, needle) do { \
	if (run((nz), (oz), (pol)) != VERIFY_REFUSED || \
	    strstr(rep.reason, (needle)) == NULL) { \
		dump(); \
		fail_msg("expected refused with \"%s\"", (needle)); \
	} } while (0)

#define NEED_TOOLS() do { if (!have_tools) skip(); } while (0)

/* ---- serial ------------------------------------------------------------- */

static void test_serial_compare(void **state)
{
	(void)state;
	assert_int_equal(serial_compare(1, 1), 0);
	assert_int_equal(serial_compare(1, 2), -1);
	assert_int_equal(serial_compare(2, 1), 1);
	/* Wraparound: 0 comes after 0xffffffff. */
	assert_int_equal(serial_compare(0, 0xffffffffu), 1);
	assert_int_equal(serial_compare(0xffffffffu, 0), -1);
	assert_int_equal(serial_compare(5, 0xfffffff0u), 1);
	/* The largest step forward is 2^31 - 1; exactly 2^31 is undefined. */
	assert_int_equal(serial_compare(0x7fffffffu, 0), 1);
	assert_int_equal(serial_compare(0, 0x7fffffffu), -1);
	assert_int_equal(serial_compare(0x80000000u, 0), 2);
	assert_int_equal(serial_compare(0, 0x80000000u), 2);
	assert_int_equal(serial_compare(0xc0000000u, 0x40000000u), 2);
	assert_int_equal(serial_compare(0x80000001u, 0), -1);
	assert_int_equal(serial_compare(0, 0x80000001u), 1);
}

static ldns_rr_list *zone_serial(uint32_t serial, const char *extra)
{
	char text[2048];
	snprintf(text, sizeof(text),
	         "$ORIGIN example.com.\n$TTL 3600\n"
	         "@ SOA ns1 hostmaster %u 7200 3600 1209600 300\n"
	         "@ NS ns1\nns1 A 192.0.2.53\n%s", serial, extra);
	return zone_text(text);
}

static void test_serial_gate(void **state)
{
	(void)state;
	struct verify_policy pol;
	verify_policy_defaults(&pol);
	ldns_rr_list *old = zone_serial(1000, "");
	struct { uint32_t serial; enum verify_result want; const char *needle; } c[] = {
		{ 1001, VERIFY_OK, "" },
		{ 1000 + 0x7fffffffu, VERIFY_OK, "" },
		{ 1000, VERIFY_UP_TO_DATE, "serial 1000 unchanged" },
		{ 999, VERIFY_REFUSED, "serial 999 is older than the current 1000" },
		{ 1000 + 0x80000000u, VERIFY_REFUSED, "order undefined" },
		{ 1000 + 0x80000001u, VERIFY_REFUSED, "older" },
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		ldns_rr_list *nz = zone_serial(c[i].serial, "");
		if (run(nz, old, &pol) != c[i].want ||
		    strstr(rep.reason, c[i].needle) == NULL) {
			dump();
			fail_msg("serial %u", c[i].serial);
		}
		assert_int_equal(rep.old_serial, 1000);
		assert_int_equal(rep.new_serial, c[i].serial);
		ldns_rr_list_deep_free(nz);
	}
	/* Across the wrap. */
	ldns_rr_list *o2 = zone_serial(0xfffffff0u, "");
	ldns_rr_list *n2 = zone_serial(5, "");
	expect_ok(n2, o2, &pol);
	expect_refused(o2, n2, &pol, "older");
	/* force: older and equal serials go through, said so. */
	pol.force = true;
	expect_ok(o2, n2, &pol);
	assert_non_null(strstr(rep.reason, "forced: serial 4294967280 is older"));
	expect_ok(n2, n2, &pol);
	assert_non_null(strstr(rep.reason, "forced: serial 5 unchanged"));
	ldns_rr_list_deep_free(o2);
	ldns_rr_list_deep_free(n2);
	ldns_rr_list_deep_free(old);
}

/* ---- structure ---------------------------------------------------------- */

static void test_structure(void **state)
{
	(void)state;
	/* An AXFR repeats the SOA at the end; out-of-zone RRs are ignored. */
	ldns_rr_list *z = zone_serial(7, "www A 192.0.2.1\nwww A 192.0.2.1\n"
	                              "other.net. A 192.0.2.2\n"
	                              "example.com. SOA ns1 hostmaster 7 7200 3600 1209600 300\n");
	expect_ok(z, NULL, NULL);
	assert_int_equal(rep.rrs, 4);
	assert_int_equal(rep.new_serial, 7);
	assert_int_equal(rep.rrs_added, 3);   /* NS, 2 A: data, no SOA */
	ldns_rr_list_deep_free(z);

	/* (ldns's zone reader drops a second SOA: add it by hand.) */
	z = zone_serial(7, "");
	ldns_rr *soa2 = NULL;
	assert_int_equal(ldns_rr_new_frm_str(&soa2, "example.com. 60 SOA ns1.example.com. "
	                                     "h.example.com. 8 1 1 1 1", 0, NULL, NULL), 0);
	ldns_rr_list_push_rr(z, soa2);
	expect_refused(z, NULL, NULL, "more than one SOA at example.com.");
	ldns_rr_list_deep_free(z);
	z = zone_serial(7, "");
	assert_int_equal(ldns_rr_new_frm_str(&soa2, "www.example.com. 60 SOA ns1.example.com. "
	                                     "h.example.com. 7 1 1 1 1", 0, NULL, NULL), 0);
	ldns_rr_list_push_rr(z, soa2);
	expect_refused(z, NULL, NULL, "SOA at www.example.com., below the apex");
	ldns_rr_list_deep_free(z);
	z = zone_text("$ORIGIN example.com.\n@ 60 NS ns1\n");
	expect_refused(z, NULL, NULL, "no SOA");
	ldns_rr_list_deep_free(z);

	/* A previous version of another zone is the caller's error. */
	ldns_rr_list *a = zone_serial(7, "");
	ldns_rr_list *b = zone_text("$ORIGIN example.org.\n"
	                            "@ 60 SOA ns1 h 6 1 1 1 1\n@ 60 NS ns1\n");
	assert_int_equal(verify_zone(a, b, NULL, now, &rep), ED_EINVAL);
	assert_int_equal(rep.result, VERIFY_ERROR);
	assert_non_null(strstr(rep.reason, "another zone (example.org.)"));
	assert_int_equal(verify_zone(NULL, b, NULL, now, &rep), ED_EINVAL);
	assert_int_equal(rep.result, VERIFY_ERROR);
	ldns_rr_list_deep_free(a);
	ldns_rr_list_deep_free(b);
}

static void test_ldns_zone(void **state)
{
	(void)state;
	const char *t1 = "$ORIGIN example.com.\n$TTL 60\n@ SOA ns1 h 1 1 1 1 1\n"
	                 "@ NS ns1\nns1 A 192.0.2.1\n";
	const char *t2 = "$ORIGIN example.com.\n$TTL 60\n@ SOA ns1 h 2 1 1 1 1\n"
	                 "@ NS ns1\nns1 A 192.0.2.2\n";
	ldns_zone *z1 = NULL, *z2 = NULL;
	FILE *f = fmemopen((void *)t1, strlen(t1), "r");
	assert_int_equal(ldns_zone_new_frm_fp(&z1, f, NULL, 60, LDNS_RR_CLASS_IN), 0);
	fclose(f);
	f = fmemopen((void *)t2, strlen(t2), "r");
	assert_int_equal(ldns_zone_new_frm_fp(&z2, f, NULL, 60, LDNS_RR_CLASS_IN), 0);
	fclose(f);
	assert_int_equal(verify_ldns_zone(z2, z1, NULL, now, &rep), 0);
	assert_int_equal(rep.result, VERIFY_OK);
	assert_int_equal(rep.rrs_removed, 1);
	assert_int_equal(rep.rrs_added, 1);
	assert_int_equal(verify_ldns_zone(z1, z1, NULL, now, &rep), 0);
	assert_int_equal(rep.result, VERIFY_UP_TO_DATE);
	ldns_zone_deep_free(z1);
	ldns_zone_deep_free(z2);
}

/* ---- blast radius ------------------------------------------------------- */

/* Apex NS, ns1 A and t1..t8 TXT: 10 data RRs; drop the first n TXT. */
static ldns_rr_list *zone_txt(uint32_t serial, int drop, const char *extra)
{
	char body[1024] = "";
	for (int i = 1; i <= 8; i++)
		if (i > drop)
			snprintf(body + strlen(body), sizeof(body) - strlen(body),
			         "t%d TXT \"%d\"\n", i, i);
	snprintf(body + strlen(body), sizeof(body) - strlen(body), "%s", extra);
	return zone_serial(serial, body);
}

static void test_blast_radius(void **state)
{
	(void)state;
	struct verify_policy pol;
	verify_policy_defaults(&pol);
	ldns_rr_list *old = zone_txt(1, 0, "");
	/* 5 of 10 gone: exactly at the limit, fine. A TTL change is not a
	 * removal. */
	ldns_rr_list *nz = zone_txt(2, 5, "n1 TXT \"new\"\nt8 60 TXT \"8\"\n");
	expect_ok(nz, old, &pol);
	assert_int_equal(rep.rrs_removed, 5);
	assert_int_equal(rep.rrs_added, 1);
	ldns_rr_list_deep_free(nz);
	/* 6 of 10: over. */
	nz = zone_txt(2, 6, "");
	expect_refused(nz, old, &pol, "removes 6 of 10 RRs (60.0%, limit 50%)");
	pol.max_remove_pct = 60;
	expect_ok(nz, old, &pol);
	pol.max_remove_pct = 100;
	ldns_rr_list *empty = zone_serial(2, "");   /* only NS and A remain */
	expect_ok(empty, old, &pol);
	pol.max_remove_pct = 0;
	expect_refused(nz, old, &pol, "removes 6 of 10");
	pol.max_remove_pct = 50;
	pol.force = true;
	expect_ok(nz, old, &pol);
	assert_non_null(strstr(rep.reason, "forced: removes 6 of 10 RRs"));
	assert_int_equal(rep.rrs_removed, 6);
	ldns_rr_list_deep_free(nz);
	ldns_rr_list_deep_free(empty);
	ldns_rr_list_deep_free(old);
}

static void test_ns_change(void **state)
{
	(void)state;
	struct verify_policy pol;
	verify_policy_defaults(&pol);
	ldns_rr_list *old = zone_txt(1, 0, "");
	ldns_rr_list *added = zone_txt(2, 0, "@ NS ns2.example.net.\n");
	ldns_rr_list *same = zone_txt(2, 0, "@ NS NS1\n");  /* case only */
	expect_refused(added, old, &pol, "apex NS set changed: + ns2.example.net.");
	expect_ok(same, old, &pol);
	/* A swap of the only NS: both sides named. */
	ldns_rr_list *swapped = zone_text(
		"$ORIGIN example.com.\n$TTL 3600\n"
		"@ SOA ns1 hostmaster 2 7200 3600 1209600 300\n"
		"@ NS ns3.example.net.\nns1 A 192.0.2.53\n"
		"t1 TXT \"1\"\nt2 TXT \"2\"\nt3 TXT \"3\"\nt4 TXT \"4\"\n"
		"t5 TXT \"5\"\nt6 TXT \"6\"\nt7 TXT \"7\"\nt8 TXT \"8\"\n");
	expect_refused(swapped, old, &pol,
	               "apex NS set changed: - ns1.example.com. + ns3.example.net.");
	pol.allow_ns_change = true;
	expect_ok(swapped, old, &pol);
	assert_string_equal(rep.reason, "");
	pol.allow_ns_change = false;
	pol.force = true;
	expect_ok(added, old, &pol);
	assert_non_null(strstr(rep.reason, "forced: apex NS set changed"));
	ldns_rr_list_deep_free(added);
	ldns_rr_list_deep_free(same);
	ldns_rr_list_deep_free(swapped);
	ldns_rr_list_deep_free(old);
}

/* ---- ZONEMD ------------------------------------------------------------- */

/* RFC 8976 Appendix A.1. */
static const char rfc_simple[] =
	"$ORIGIN example.\n"
	"example.      86400  IN  SOA     ns1 admin 2018031900 (\n"
	"                                 1800 900 604800 86400 )\n"
	"              86400  IN  NS      ns1\n"
	"              86400  IN  NS      ns2\n"
	"              86400  IN  ZONEMD  2018031900 1 1 (\n"
	"                                 c68090d90a7aed71\n"
	"                                 6bc459f9340e3d7c\n"
	"                                 1370d4d24b7e2fc3\n"
	"                                 a1ddc0b9a87153b9\n"
	"                                 a9713b3c9ae5cc27\n"
	"                                 777f98b8e730044c )\n"
	"ns1           3600   IN  A       203.0.113.63\n"
	"ns2           3600   IN  AAAA    2001:db8::63\n";

/* RFC 8976 Appendix A.2: occluded data, duplicates, out-of-zone data,
 * case, wildcard, rdata order, a non-apex ZONEMD. */
static const char rfc_complex[] =
	"$ORIGIN example.\n"
	"example.      86400  IN  SOA     ns1 admin 2018031900 (\n"
	"                                 1800 900 604800 86400 )\n"
	"              86400  IN  NS      ns1\n"
	"              86400  IN  NS      ns2\n"
	"              86400  IN  ZONEMD  2018031900 1 1 (\n"
	"                                 a3b69bad980a3504\n"
	"                                 e1cffcb0fd6397f9\n"
	"                                 3848071c93151f55\n"
	"                                 2ae2f6b1711d4bd2\n"
	"                                 d8b39808226d7b9d\n"
	"                                 b71e34b72077f8fe )\n"
	"ns1           3600   IN  A       203.0.113.63\n"
	"NS2           3600   IN  AAAA    2001:db8::63\n"
	"occluded.sub  7200   IN  TXT     \"I'm occluded but must be digested\"\n"
	"sub           7200   IN  NS      ns1\n"
	"duplicate     300    IN  TXT     \"I must be digested just once\"\n"
	"duplicate     300    IN  TXT     \"I must be digested just once\"\n"
	"foo.test.     555    IN  TXT     \"out-of-zone data must be excluded\"\n"
	"UPPERCASE     3600   IN  TXT     \"canonicalize uppercase owner names\"\n"
	"*             777    IN  PTR     dont-forget-about-wildcards\n"
	"mail          3600   IN  MX      20 MAIL1\n"
	"mail          3600   IN  MX      10 Mail2.Example.\n"
	"sortme        3600   IN  AAAA    2001:db8::5:61\n"
	"sortme        3600   IN  AAAA    2001:db8::3:62\n"
	"sortme        3600   IN  AAAA    2001:db8::4:63\n"
	"sortme        3600   IN  AAAA    2001:db8::1:65\n"
	"sortme        3600   IN  AAAA    2001:db8::2:64\n"
	"non-apex      900    IN  ZONEMD  2018031900 1 1 (\n"
	"                                 616c6c6f77656420\n"
	"                                 6275742069676e6f\n"
	"                                 7265642e20616c6c\n"
	"                                 6f77656420627574\n"
	"                                 2069676e6f726564\n"
	"                                 2e20616c6c6f7765 )\n";

/* RFC 8976 Appendix A.3: SHA384 and SHA512, an unknown hash and scheme. */
static const char rfc_multiple[] =
	"$ORIGIN example.\n"
	"example.      86400  IN  SOA     ns1 admin 2018031900 (\n"
	"                                 1800 900 604800 86400 )\n"
	"example.      86400  IN  NS      ns1.example.\n"
	"example.      86400  IN  NS      ns2.example.\n"
	"example.      86400  IN  ZONEMD  2018031900 1 1 (\n"
	"                                 62e6cf51b02e54b9\n"
	"                                 b5f967d547ce4313\n"
	"                                 6792901f9f88e637\n"
	"                                 493daaf401c92c27\n"
	"                                 9dd10f0edb1c56f8\n"
	"                                 080211f8480ee306 )\n"
	"example.      86400  IN  ZONEMD  2018031900 1 2 (\n"
	"                                 08cfa1115c7b948c\n"
	"                                 4163a901270395ea\n"
	"                                 226a930cd2cbcf2f\n"
	"                                 a9a5e6eb85f37c8a\n"
	"                                 4e114d884e66f176\n"
	"                                 eab121cb02db7d65\n"
	"                                 2e0cc4827e7a3204\n"
	"                                 f166b47e5613fd27 )\n"
	"example.      86400  IN  ZONEMD  2018031900 1 240 (\n"
	"                                 e2d523f654b9422a\n"
	"                                 96c5a8f44607bbee )\n"
	"example.      86400  IN  ZONEMD  2018031900 241 1 (\n"
	"                                 e1846540e33a9e41\n"
	"                                 89792d18d5d131f6\n"
	"                                 05fc283eaaaaaaaa\n"
	"                                 aaaaaaaaaaaaaaaa\n"
	"                                 aaaaaaaaaaaaaaaa\n"
	"                                 aaaaaaaaaaaaaaaa)\n"
	"ns1.example.  3600   IN  A       203.0.113.63\n"
	"ns2.example.  86400  IN  TXT     \"This example has multiple digests\"\n"
	"NS2.EXAMPLE.  3600   IN  AAAA    2001:db8::63\n";

/* text with the first occurrence of from replaced by to. */
static char *replace(const char *text, const char *from, const char *to)
{
	const char *p = strstr(text, from);
	assert_non_null(p);
	size_t n = strlen(text) - strlen(from) + strlen(to) + 1;
	char *s = malloc(n);
	assert_non_null(s);
	snprintf(s, n, "%.*s%s%s", (int)(p - text), text, to, p + strlen(from));
	return s;
}

static void expect_text(const char *text, const struct verify_policy *pol,
                        enum verify_result want, const char *needle)
{
	ldns_rr_list *z = zone_text(text);
	if (run(z, NULL, pol) != want || strstr(rep.reason, needle) == NULL) {
		dump();
		fail_msg("expected %s with \"%s\"", verify_result_str(want), needle);
	}
	ldns_rr_list_deep_free(z);
}

static void test_zonemd_rfc8976(void **state)
{
	(void)state;
	struct verify_policy pol;
	verify_policy_defaults(&pol);
	pol.require_zonemd = true;
	expect_text(rfc_simple, &pol, VERIFY_OK, "");
	assert_int_equal(rep.zonemd_verified, 1);
	assert_true(rep.zonemd);
	assert_false(rep.dnssec);
	expect_text(rfc_complex, &pol, VERIFY_OK, "");
	assert_int_equal(rep.zonemd_verified, 1);
	expect_text(rfc_multiple, &pol, VERIFY_OK, "");
	assert_int_equal(rep.zonemd_verified, 2);
}

static void test_zonemd_bad(void **state)
{
	(void)state;
	struct verify_policy pol;
	verify_policy_defaults(&pol);
	/* One digest octet changed. */
	char *t = replace(rfc_simple, "c68090d90a7aed71", "c68090d90a7aed72");
	expect_text(t, &pol, VERIFY_REFUSED, "ZONEMD digest mismatch (SHA384)");
	assert_int_equal(rep.zonemd_verified, 0);
	free(t);
	/* The data changed under the digest. */
	t = replace(rfc_simple, "203.0.113.63", "203.0.113.64");
	expect_text(t, &pol, VERIFY_REFUSED, "ZONEMD digest mismatch (SHA384)");
	free(t);
	/* In A.3, both supported digests are wrong after a change. */
	t = replace(rfc_multiple, "multiple digests", "multiple digest");
	expect_text(t, &pol, VERIFY_REFUSED, "ZONEMD digest mismatch (SHA384, SHA512)");
	free(t);
	/* One good SHA512 is enough when the SHA384 is bad. */
	t = replace(rfc_multiple, "62e6cf51b02e54b9", "62e6cf51b02e54b8");
	expect_text(t, &pol, VERIFY_OK, "");
	assert_int_equal(rep.zonemd_verified, 1);
	free(t);
	/* The ZONEMD serial is not the SOA's. */
	t = replace(rfc_simple, "ZONEMD  2018031900", "ZONEMD  2018031901");
	expect_text(t, &pol, VERIFY_REFUSED,
	            "ZONEMD serial 2018031901 does not match the SOA serial 2018031900");
	free(t);
	/* A digest of the wrong length for its hash. */
	t = replace(rfc_simple, "777f98b8e730044c", "777f98b8e730044c00");
	expect_text(t, &pol, VERIFY_REFUSED, "ZONEMD digest mismatch");
	free(t);
	/* Two SHA384 records: that hash cannot be used (RFC 8976 4). */
	t = replace(rfc_simple, "ns1           3600",
	            "@ 86400 ZONEMD 2018031900 1 1 "
	            "000000000000000000000000000000000000000000000000"
	            "000000000000000000000000000000000000000000000000\n"
	            "ns1           3600");
	expect_text(t, &pol, VERIFY_REFUSED, "more than one SIMPLE SHA384 record");
	free(t);
}

static void test_zonemd_absent(void **state)
{
	(void)state;
	struct verify_policy pol;
	verify_policy_defaults(&pol);
	/* Only an unknown scheme and an unknown hash: as if no ZONEMD. */
	const char *only_unknown =
		"$ORIGIN example.\n$TTL 3600\n"
		"@ SOA ns1 admin 2018031900 1800 900 604800 86400\n"
		"@ NS ns1\nns1 A 203.0.113.63\n"
		"@ ZONEMD 2018031900 1 240 e2d523f654b9422a96c5a8f44607bbee\n"
		"@ ZONEMD 2018031900 241 1 e1846540e33a9e4189792d18d5d131f605fc283e"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n";
	expect_text(only_unknown, &pol, VERIFY_OK, "");
	assert_false(rep.zonemd);
	assert_int_equal(rep.zonemd_verified, 0);
	pol.require_zonemd = true;
	expect_text(only_unknown, &pol, VERIFY_REFUSED, "no supported ZONEMD");
	/* None at all. */
	ldns_rr_list *z = zone_serial(1, "");
	expect_refused(z, NULL, &pol, "no ZONEMD, required by policy");
	pol.require_zonemd = false;
	expect_ok(z, NULL, &pol);
	ldns_rr_list_deep_free(z);
	/* A ZONEMD below the apex is data, not a digest of the zone. */
	expect_text("$ORIGIN example.\n$TTL 3600\n"
	            "@ SOA ns1 admin 1 1800 900 604800 86400\n@ NS ns1\n"
	            "ns1 A 203.0.113.63\n"
	            "sub ZONEMD 1 1 1 000000000000000000000000000000000000000000000000"
	            "000000000000000000000000000000000000000000000000\n",
	            &pol, VERIFY_OK, "");
	assert_false(rep.zonemd);
}

/* dnspython (an independent ZONEMD implementation) digests a rich zone;
 * the gate must agree, and must not after a change. */
static const char dnspython_digest[] =
	"import sys, dns.zone, dns.rdataset\n"
	"z = dns.zone.from_file(sys.argv[1], origin='example.com.', relativize=False)\n"
	"mds = [z.compute_digest(h) for h in (dns.zone.DigestHashAlgorithm.SHA384,\n"
	"                                     dns.zone.DigestHashAlgorithm.SHA512)]\n"
	"z.replace_rdataset(z.origin, dns.rdataset.from_rdata_list(3600, mds))\n"
	"z.to_file(sys.argv[2], relativize=False)\n";

static void test_zonemd_dnspython(void **state)
{
	(void)state;
	if (sh("/usr/bin/python3 -c 'import dns.zone; dns.zone.Zone.compute_digest' "
	       ">/dev/null 2>&1") != 0)
		skip();
	char py[256], in[256], out[256];
	snprintf(py, sizeof(py), "%s/digest.py", tmpdir);
	snprintf(in, sizeof(in), "%s/py-in.zone", tmpdir);
	snprintf(out, sizeof(out), "%s/py-out.zone", tmpdir);
	write_file(py, dnspython_digest);
	write_file(in, "$ORIGIN example.com.\n$TTL 3600\n"
	           "@ SOA ns1 hostmaster 42 7200 3600 1209600 300\n"
	           "@ NS ns1\n@ NS ns2.example.net.\n@ MX 10 Mail.Example.COM.\n"
	           "@ MX 5 mx.example.net.\n@ CAA 0 issue \"ca.example\"\n"
	           "ns1 A 192.0.2.53\nMixed.Case A 192.0.2.1\n"
	           "srv._tcp SRV 0 5 5060 Sip.Example.COM.\n"
	           "*.wild 300 TXT \"wild\" \"card\"\na.b.c TXT \"deep\\\\032esc\"\n"
	           "sub NS ns.sub\nns.sub A 192.0.2.99\nx.y.sub TXT \"occluded\"\n"
	           "dn DNAME target.example.net.\nc CNAME Www.Example.COM.\n"
	           "z AAAA 2001:db8::1\nz AAAA 2001:db8::1:0\nz AAAA ::1\n"
	           "nonapex ZONEMD 42 1 1 00112233445566778899aabbccddeeff"
	           "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n");
	assert_int_equal(sh("/usr/bin/python3 %s %s %s", py, in, out), 0);
	struct verify_policy pol;
	verify_policy_defaults(&pol);
	pol.require_zonemd = true;
	ldns_rr_list *z = zone_file(out);
	assert_non_null(z);
	expect_ok(z, NULL, &pol);
	assert_int_equal(rep.zonemd_verified, 2);
	ldns_rr *a = find_rr(z, "mixed.case.example.com.", LDNS_RR_TYPE_A, 0);
	assert_non_null(a);
	ldns_rr_set_ttl(a, 3599);
	expect_refused(z, NULL, &pol, "ZONEMD digest mismatch (SHA384, SHA512)");
	ldns_rr_list_deep_free(z);
}

/* ---- DNSSEC ------------------------------------------------------------- */

static void test_dnssec_nsec_good(void **state)
{
	(void)state;
	NEED_TOOLS();
	ldns_rr_list *z = signed_zone(base_zone, "", -DAY, 30 * DAY);
	/* Owner case does not matter to a signature (RFC 4034 6.2). */
	ldns_rr *sig = find_rr(z, "www.example.com.", LDNS_RR_TYPE_RRSIG,
	                       LDNS_RR_TYPE_A);
	assert_non_null(sig);
	ldns_rdf_deep_free(ldns_rr_owner(sig));
	ldns_rr_set_owner(sig, ldns_dname_new_frm_str("WWW.Example.COM."));
	expect_ok(z, NULL, NULL);
	assert_true(rep.dnssec);
	assert_false(rep.zonemd);
	/* Every RRSIG checked: the signer made one per signed RRset. */
	size_t sigs = 0;
	for (size_t i = 0; i < ldns_rr_list_rr_count(z); i++)
		sigs += ldns_rr_get_type(ldns_rr_list_rr(z, i)) == LDNS_RR_TYPE_RRSIG;
	assert_int_equal(rep.rrsigs_checked, sigs);
	assert_true(sigs >= 20);
	/* The caller's RRs are left as they were (ldns lowercases an RRSIG's
	 * owner in place when verifying, const notwithstanding: it gets our
	 * copies). */
	assert_memory_equal(ldns_rdf_data(ldns_rr_owner(sig)), "\003WWW\007Example\003COM", 16);
	ldns_rr_list_deep_free(z);
}

static void test_dnssec_tampered(void **state)
{
	(void)state;
	NEED_TOOLS();
	ldns_rr_list *z = signed_zone(base_zone, "", -DAY, 30 * DAY);
	ldns_rr *sig = find_rr(z, "www.example.com.", LDNS_RR_TYPE_RRSIG,
	                       LDNS_RR_TYPE_A);
	assert_non_null(sig);
	ldns_rdf_data(ldns_rr_rdf(sig, 8))[10] ^= 0x40;
	expect_refused(z, NULL, NULL, "RRSIG www.example.com. A (key tag");
	assert_non_null(strstr(rep.reason, "does not verify"));
	ldns_rr_list_deep_free(z);

	/* The data under a good signature changed. */
	z = signed_zone(base_zone, "", -DAY, 30 * DAY);
	ldns_rr *a = find_rr(z, "mail.example.com.", LDNS_RR_TYPE_A, 0);
	ldns_rdf_data(ldns_rr_rdf(a, 0))[3] ^= 1;
	expect_refused(z, NULL, NULL, "RRSIG mail.example.com. A");
	ldns_rr_list_deep_free(z);

	/* The ZSK gone from the DNSKEY set: what it signed is named. */
	z = signed_zone(base_zone, "", -DAY, 30 * DAY);
	for (size_t i = 0; i < ldns_rr_list_rr_count(z); i++) {
		ldns_rr *k = ldns_rr_list_rr(z, i);
		if (ldns_rr_get_type(k) == LDNS_RR_TYPE_DNSKEY &&
		    ldns_rdf2native_int16(ldns_rr_rdf(k, 0)) == 256) {
			ldns_rr_list_set_rr(z, ldns_rr_list_rr(z, ldns_rr_list_rr_count(z) - 1), i);
			ldns_rr_list_set_rr_count(z, ldns_rr_list_rr_count(z) - 1);
			ldns_rr_free(k);
			break;
		}
	}
	expect_refused(z, NULL, NULL, "RRSIG example.com. NS: no zone key with tag");
	ldns_rr_list_deep_free(z);
}

static void test_dnssec_unsigned_rrset(void **state)
{
	(void)state;
	NEED_TOOLS();
	ldns_rr_list *z = signed_zone(base_zone, "", -DAY, 30 * DAY);
	assert_int_equal(remove_rrs(z, "www.example.com.", LDNS_RR_TYPE_RRSIG,
	                            LDNS_RR_TYPE_AAAA), 1);
	expect_refused(z, NULL, NULL, "www.example.com. AAAA is not signed");
	ldns_rr_list_deep_free(z);
	/* An RRSIG with nothing to cover. */
	z = signed_zone(base_zone, "", -DAY, 30 * DAY);
	assert_int_equal(remove_rrs(z, "ns1.example.com.", LDNS_RR_TYPE_A, 0), 1);
	expect_refused(z, NULL, NULL, "RRSIG ns1.example.com. A covers no RRset");
	ldns_rr_list_deep_free(z);
	/* Glue is not signed, and needs no signature. */
	z = signed_zone(base_zone, "", -DAY, 30 * DAY);
	assert_null(find_rr(z, "ns.sub.example.com.", LDNS_RR_TYPE_RRSIG, LDNS_RR_TYPE_A));
	ldns_rr_list_deep_free(z);
}

static void test_dnssec_nsec_broken(void **state)
{
	(void)state;
	NEED_TOOLS();
	ldns_rr_list *z = signed_zone(base_zone, "", -DAY, 30 * DAY);
	assert_int_equal(remove_rrs(z, "mail.example.com.", LDNS_RR_TYPE_NSEC, 0), 1);
	assert_int_equal(remove_rrs(z, "mail.example.com.", LDNS_RR_TYPE_RRSIG,
	                            LDNS_RR_TYPE_NSEC), 1);
	expect_refused(z, NULL, NULL, "mail.example.com. has no NSEC");
	ldns_rr_list_deep_free(z);
	/* The last name's NSEC, the one that closes the chain, removed. */
	z = signed_zone(base_zone, "", -DAY, 30 * DAY);
	assert_int_equal(remove_rrs(z, "www.example.com.", LDNS_RR_TYPE_NSEC, 0), 1);
	assert_int_equal(remove_rrs(z, "www.example.com.", LDNS_RR_TYPE_RRSIG,
	                            LDNS_RR_TYPE_NSEC), 1);
	expect_refused(z, NULL, NULL, "www.example.com. has no NSEC");
	ldns_rr_list_deep_free(z);
	/* An NSEC that skips a name, signed again: the chain check names it. */
	z = signed_zone(base_zone, "", -DAY, 30 * DAY);
	ldns_rr *nsec = find_rr(z, "a.b.c.example.com.", LDNS_RR_TYPE_NSEC, 0);
	assert_non_null(nsec);
	ldns_rdf_deep_free(ldns_rr_set_rdf(nsec,
		ldns_dname_new_frm_str("ns1.example.com."), 0));
	resign(z, "a.b.c.example.com.", LDNS_RR_TYPE_NSEC);
	expect_refused(z, NULL, NULL, "NSEC chain broken at a.b.c.example.com.: "
	               "next is ns1.example.com., expected mail.example.com.");
	ldns_rr_list_deep_free(z);
	/* A bitmap that lists a type the name lacks. */
	z = signed_zone(base_zone, "", -DAY, 30 * DAY);
	nsec = find_rr(z, "mail.example.com.", LDNS_RR_TYPE_NSEC, 0);
	assert_int_equal(ldns_nsec_bitmap_set_type(ldns_rr_rdf(nsec, 1),
	                                           LDNS_RR_TYPE_AAAA), 0);
	resign(z, "mail.example.com.", LDNS_RR_TYPE_NSEC);
	expect_refused(z, NULL, NULL, "NSEC mail.example.com.: type bitmap lists "
	               "AAAA, absent at the name");
	ldns_rr_list_deep_free(z);
	/* The RRSIG of a resigned set verifies (the helper is sound). */
	z = signed_zone(base_zone, "", -DAY, 30 * DAY);
	resign(z, "www.example.com.", LDNS_RR_TYPE_A);
	expect_ok(z, NULL, NULL);
	ldns_rr_list_deep_free(z);
	/* A name added after signing: unsigned first (canonical order). */
	char *t = replace(base_zone, "ns1 A", "extra A 192.0.2.7\nns1 A");
	ldns_rr_list *s = signed_zone(base_zone, "", -DAY, 30 * DAY);
	ldns_rr_list *u = zone_text(t);
	ldns_rr_list_push_rr(s, ldns_rr_clone(find_rr(u, "extra.example.com.",
	                                              LDNS_RR_TYPE_A, 0)));
	expect_refused(s, NULL, NULL, "extra.example.com. A is not signed");
	free(t);
	ldns_rr_list_deep_free(s);
	ldns_rr_list_deep_free(u);
}

static void test_dnssec_nsec3(void **state)
{
	(void)state;
	NEED_TOOLS();
	ldns_rr_list *z = signed_zone(base_zone, "-n -s abcd -t 1", -DAY, 30 * DAY);
	expect_ok(z, NULL, NULL);
	assert_true(rep.rrsigs_checked > 0);
	/* One NSEC3 (and its RRSIG) removed: the chain breaks there. */
	char *owner = owner_of(z, LDNS_RR_TYPE_NSEC3, 3);
	assert_non_null(owner);
	assert_int_equal(remove_rrs(z, owner, LDNS_RR_TYPE_NSEC3, 0), 1);
	assert_int_equal(remove_rrs(z, owner, LDNS_RR_TYPE_RRSIG,
	                            LDNS_RR_TYPE_NSEC3), 1);
	expect_refused(z, NULL, NULL, "NSEC3 chain broken at ");
	free(owner);
	ldns_rr_list_deep_free(z);

	/* Opt-out, no salt, no iterations (RFC 9276). */
	z = signed_zone(base_zone, "-n -p -t 0", -DAY, 30 * DAY);
	expect_ok(z, NULL, NULL);
	ldns_rr_list_deep_free(z);
}

/* The NSEC3 of name taken out of the chain (no salt, no iterations): its
 * predecessor relinked to its successor and signed again. */
static void nsec3_unlink(ldns_rr_list *z, const char *name)
{
	char *gone = nsec3_owner(name), *pred = NULL;
	ldns_rr *g = find_rr(z, gone, LDNS_RR_TYPE_NSEC3, 0);
	assert_non_null(g);
	uint8_t raw[20];
	assert_int_equal(ldns_b32_pton_extended_hex(gone, 32, raw, 20), 20);
	for (size_t i = 0; i < ldns_rr_list_rr_count(z) && pred == NULL; i++) {
		ldns_rr *r = ldns_rr_list_rr(z, i);
		if (ldns_rr_get_type(r) == LDNS_RR_TYPE_NSEC3 &&
		    memcmp(ldns_rdf_data(ldns_nsec3_next_owner(r)) + 1, raw, 20) == 0) {
			ldns_rdf_deep_free(ldns_rr_set_rdf(r,
				ldns_rdf_clone(ldns_nsec3_next_owner(g)), 4));
			pred = ldns_rdf2str(ldns_rr_owner(r));
		}
	}
	assert_non_null(pred);
	assert_int_equal(remove_rrs(z, gone, LDNS_RR_TYPE_NSEC3, 0), 1);
	assert_int_equal(remove_rrs(z, gone, LDNS_RR_TYPE_RRSIG, LDNS_RR_TYPE_NSEC3), 1);
	resign(z, pred, LDNS_RR_TYPE_NSEC3);
	free(gone);
	free(pred);
}

static void test_dnssec_nsec3_names(void **state)
{
	(void)state;
	NEED_TOOLS();
	/* The chain stays closed and signed, but the empty non-terminal
	 * c.example.com. has lost its NSEC3. */
	ldns_rr_list *z = signed_zone(base_zone, "-n -t 0", -DAY, 30 * DAY);
	nsec3_unlink(z, "c.example.com.");
	expect_refused(z, NULL, NULL, "empty non-terminal c.example.com. has no NSEC3");
	ldns_rr_list_deep_free(z);
	/* An insecure delegation without NSEC3: only under an opt-out NSEC3. */
	z = signed_zone(base_zone, "-n -t 0", -DAY, 30 * DAY);
	nsec3_unlink(z, "sub.example.com.");
	expect_refused(z, NULL, NULL, "sub.example.com. has no NSEC3");
	for (size_t i = 0; i < ldns_rr_list_rr_count(z); i++) {
		ldns_rr *r = ldns_rr_list_rr(z, i);
		if (ldns_rr_get_type(r) == LDNS_RR_TYPE_NSEC3)
			ldns_rdf_data(ldns_rr_rdf(r, 1))[0] |= 1;   /* opt-out */
	}
	for (int i = 0; ; i++) {
		char *o = owner_of(z, LDNS_RR_TYPE_NSEC3, (size_t)i);
		if (o == NULL)
			break;
		resign(z, o, LDNS_RR_TYPE_NSEC3);
		free(o);
	}
	expect_ok(z, NULL, NULL);
	/* The secure delegation cannot be opted out. */
	nsec3_unlink(z, "secure.example.com.");
	expect_refused(z, NULL, NULL, "secure.example.com. has no NSEC3");
	ldns_rr_list_deep_free(z);
	/* A bitmap that does not say what is at the name. */
	z = signed_zone(base_zone, "-n -t 0", -DAY, 30 * DAY);
	char *w = nsec3_owner("www.example.com.");
	ldns_rr *r = find_rr(z, w, LDNS_RR_TYPE_NSEC3, 0);
	ldns_rdf *bm = ldns_nsec3_bitmap(r);
	assert_int_equal(ldns_nsec_bitmap_clear_type(bm, LDNS_RR_TYPE_AAAA), 0);
	resign(z, w, LDNS_RR_TYPE_NSEC3);
	expect_refused(z, NULL, NULL, ": type bitmap lacks AAAA");
	assert_non_null(strstr(rep.reason, w));
	free(w);
	ldns_rr_list_deep_free(z);
}

static void test_dnssec_times(void **state)
{
	(void)state;
	NEED_TOOLS();
	struct verify_policy pol;
	verify_policy_defaults(&pol);
	/* Expires in an hour: inside the two-day margin. */
	ldns_rr_list *z = signed_zone(base_zone, "", -DAY, 3600);
	expect_refused(z, NULL, &pol, "expires in 3600 s, margin 172800 s");
	assert_non_null(strstr(rep.reason, "RRSIG example.com. NS"));
	pol.rrsig_margin = 1800;
	expect_ok(z, NULL, &pol);
	pol.rrsig_margin = VERIFY_RRSIG_MARGIN;
	ldns_rr_list_deep_free(z);
	/* Already expired. */
	z = signed_zone(base_zone, "", -10 * DAY, -DAY);
	expect_refused(z, NULL, &pol, "RRSIG example.com. NS expired 86400 s ago");
	ldns_rr_list_deep_free(z);
	/* Not yet valid. */
	z = signed_zone(base_zone, "", DAY, 30 * DAY);
	expect_refused(z, NULL, &pol, "RRSIG example.com. NS is not yet valid "
	               "(inception in 86400 s)");
	ldns_rr_list_deep_free(z);
	/* One RRSIG re-made to expire soon, the rest fine: it is named. */
	z = signed_zone(base_zone, "", -DAY, 30 * DAY);
	ldns_rr_list *soon = signed_zone(base_zone, "", -DAY, DAY);
	remove_rrs(z, "www.example.com.", LDNS_RR_TYPE_RRSIG, LDNS_RR_TYPE_AAAA);
	ldns_rr_list_push_rr(z, ldns_rr_clone(find_rr(soon, "www.example.com.",
	                     LDNS_RR_TYPE_RRSIG, LDNS_RR_TYPE_AAAA)));
	expect_refused(z, NULL, &pol,
	               "RRSIG www.example.com. AAAA expires in 86400 s, margin 172800 s");
	ldns_rr_list_deep_free(z);
	ldns_rr_list_deep_free(soon);
}

static void test_dnssec_zonemd(void **state)
{
	(void)state;
	NEED_TOOLS();
	struct verify_policy pol;
	verify_policy_defaults(&pol);
	pol.require_zonemd = true;
	/* ldns-signzone digests and signs the ZONEMD (another implementation
	 * of RFC 8976); NSEC and NSEC3. */
	ldns_rr_list *z = signed_zone(base_zone, "-z 1:1 -z 1:2", -DAY, 30 * DAY);
	expect_ok(z, NULL, &pol);
	assert_int_equal(rep.zonemd_verified, 2);
	assert_true(rep.dnssec);
	/* A changed signature is data too: the digest catches it first. */
	ldns_rr *sig = find_rr(z, "www.example.com.", LDNS_RR_TYPE_RRSIG,
	                       LDNS_RR_TYPE_A);
	ldns_rdf_data(ldns_rr_rdf(sig, 8))[10] ^= 0x40;
	expect_refused(z, NULL, &pol, "ZONEMD digest mismatch (SHA384, SHA512)");
	ldns_rr_list_deep_free(z);
	z = signed_zone(base_zone, "-n -t 0 -z 1:1", -DAY, 30 * DAY);
	expect_ok(z, NULL, &pol);
	assert_int_equal(rep.zonemd_verified, 1);
	/* The RRSIG over the ZONEMD is outside the digest but still checked. */
	sig = find_rr(z, "example.com.", LDNS_RR_TYPE_RRSIG, LDNS_RR_TYPE_ZONEMD);
	assert_non_null(sig);
	ldns_rdf_data(ldns_rr_rdf(sig, 8))[10] ^= 0x40;
	expect_refused(z, NULL, &pol, "RRSIG example.com. ZONEMD (key tag");
	ldns_rr_list_deep_free(z);
}

/* RFC 4035 2.2: each RRset signed with each algorithm of the zone keys. */
static void test_dnssec_algorithms(void **state)
{
	(void)state;
	NEED_TOOLS();
	if (ksk15[0] == 0)
		skip();
	char keys[400];
	snprintf(keys, sizeof(keys), "%s %s %s", ksk, zsk, ksk15);
	/* The ED25519 KSK signs only the DNSKEY set. */
	ldns_rr_list *z = signed_zone_keys(base_zone, "", -DAY, 30 * DAY, keys);
	expect_refused(z, NULL, NULL, "example.com. NS has no RRSIG of algorithm 15");
	ldns_rr_list_deep_free(z);
	z = signed_zone_keys(base_zone, "-U", -DAY, 30 * DAY, keys);
	expect_ok(z, NULL, NULL);
	ldns_rr_list_deep_free(z);
}

/* Leftovers: data removed from a signed zone without signing again. */
static void test_dnssec_leftovers(void **state)
{
	(void)state;
	NEED_TOOLS();
	char *t = replace(base_zone, "ns1 A", "gone A 192.0.2.7\nns1 A");
	/* NSEC: the name keeps its NSEC, which now lists a type not there. */
	ldns_rr_list *z = signed_zone(t, "", -DAY, 30 * DAY);
	assert_int_equal(remove_rrs(z, "gone.example.com.", LDNS_RR_TYPE_A, 0), 1);
	assert_int_equal(remove_rrs(z, "gone.example.com.", LDNS_RR_TYPE_RRSIG,
	                            LDNS_RR_TYPE_A), 1);
	expect_refused(z, NULL, NULL, "NSEC gone.example.com.: type bitmap lists A, "
	               "absent at the name");
	ldns_rr_list_deep_free(z);
	/* NSEC3: an NSEC3 for a name no longer in the zone. */
	z = signed_zone(t, "-n -t 0", -DAY, 30 * DAY);
	assert_int_equal(remove_rrs(z, "gone.example.com.", LDNS_RR_TYPE_A, 0), 1);
	assert_int_equal(remove_rrs(z, "gone.example.com.", LDNS_RR_TYPE_RRSIG,
	                            LDNS_RR_TYPE_A), 1);
	char *h = nsec3_owner("gone.example.com.");
	expect_refused(z, NULL, NULL, "matches no name in the zone");
	assert_non_null(strstr(rep.reason, h));
	free(h);
	ldns_rr_list_deep_free(z);
	free(t);
	/* Signed glue and a signed delegation NS are refused. */
	z = signed_zone(base_zone, "", -DAY, 30 * DAY);
	resign(z, "ns.sub.example.com.", LDNS_RR_TYPE_A);
	expect_refused(z, NULL, NULL, "RRSIG ns.sub.example.com. A over data that "
	               "is not authoritative");
	ldns_rr_list_deep_free(z);
	z = signed_zone(base_zone, "", -DAY, 30 * DAY);
	resign(z, "secure.example.com.", LDNS_RR_TYPE_NS);
	expect_refused(z, NULL, NULL, "RRSIG secure.example.com. NS over data that "
	               "is not authoritative");
	ldns_rr_list_deep_free(z);
}

/* A signed version replacing an older one: re-signing changes every
 * RRSIG and NSEC, which the blast radius does not count. */
static void test_dnssec_resign(void **state)
{
	(void)state;
	NEED_TOOLS();
	ldns_rr_list *old = signed_zone(base_zone, "", -DAY, 30 * DAY);
	char *t = replace(base_zone, "2024010101", "2024010102");
	ldns_rr_list *nz = signed_zone(t, "-n -t 0", -DAY / 2, 31 * DAY);
	expect_ok(nz, old, NULL);
	assert_int_equal(rep.rrs_removed, 0);
	assert_int_equal(rep.rrs_added, 0);
	free(t);
	ldns_rr_list_deep_free(old);
	ldns_rr_list_deep_free(nz);
}

/* ---- setup -------------------------------------------------------------- */

static int key(char *out, size_t size, const char *flags)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "cd %s && ldns-keygen %s example.com "
	         "2>/dev/null", tmpdir, flags);
	FILE *p = popen(cmd, "r");
	if (p == NULL)
		return -1;
	int ok = fgets(out, (int)size, p) != NULL;
	int rc = pclose(p);
	if (!ok || rc != 0)
		return -1;
	out[strcspn(out, "\r\n")] = 0;
	return 0;
}

/* The ZSK's private key, with its key tag from the public one. */
static int load_zsk(void)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s.private", tmpdir, zsk);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	ldns_key *k = NULL;
	ldns_status st = ldns_key_new_frm_fp(&k, f);
	fclose(f);
	if (st != LDNS_STATUS_OK)
		return -1;
	snprintf(path, sizeof(path), "%s/%s.key", tmpdir, zsk);
	f = fopen(path, "r");
	ldns_rr *pub = NULL;
	if (f == NULL || ldns_rr_new_frm_fp(&pub, f, NULL, NULL, NULL) != 0) {
		if (f != NULL)
			fclose(f);
		ldns_key_deep_free(k);
		return -1;
	}
	fclose(f);
	ldns_key_set_pubkey_owner(k, ldns_rdf_clone(ldns_rr_owner(pub)));
	ldns_key_set_flags(k, 256);
	ldns_key_set_keytag(k, ldns_calc_keytag(pub));
	ldns_key_set_inception(k, (uint32_t)(now - DAY));
	ldns_key_set_expiration(k, (uint32_t)(now + 30 * DAY));
	ldns_rr_free(pub);
	zsk_list = ldns_key_list_new();
	ldns_key_list_push_key(zsk_list, k);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	now = time(NULL);
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	have_tools = key(ksk, sizeof(ksk), "-a ECDSAP256SHA256 -k") == 0 &&
	             key(zsk, sizeof(zsk), "-a ECDSAP256SHA256") == 0 &&
	             sh("command -v ldns-signzone >/dev/null") == 0;
	if (key(ksk15, sizeof(ksk15), "-a ED25519 -k") != 0)
		ksk15[0] = 0;
	if (have_tools && load_zsk() != 0)
		have_tools = 0;
	if (!have_tools)
		fprintf(stderr, "ldns-keygen/ldns-signzone missing: DNSSEC tests "
		        "skipped\n");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (zsk_list != NULL)
		ldns_key_list_free(zsk_list);
	if (getenv("TEST_KEEP") == NULL)
		sh("rm -rf %s", tmpdir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_serial_compare),
		cmocka_unit_test(test_serial_gate),
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_ldns_zone),
		cmocka_unit_test(test_blast_radius),
		cmocka_unit_test(test_ns_change),
		cmocka_unit_test(test_zonemd_rfc8976),
		cmocka_unit_test(test_zonemd_bad),
		cmocka_unit_test(test_zonemd_absent),
		cmocka_unit_test(test_zonemd_dnspython),
		cmocka_unit_test(test_dnssec_nsec_good),
		cmocka_unit_test(test_dnssec_tampered),
		cmocka_unit_test(test_dnssec_unsigned_rrset),
		cmocka_unit_test(test_dnssec_nsec_broken),
		cmocka_unit_test(test_dnssec_nsec3),
		cmocka_unit_test(test_dnssec_nsec3_names),
		cmocka_unit_test(test_dnssec_times),
		cmocka_unit_test(test_dnssec_zonemd),
		cmocka_unit_test(test_dnssec_algorithms),
		cmocka_unit_test(test_dnssec_leftovers),
		cmocka_unit_test(test_dnssec_resign),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
