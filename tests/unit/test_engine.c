/* test_engine.c: the answer engine's rules, one test each.
 *
 * Zones are built in memory (RRs parsed by ldns, fed to the snapshot
 * writer), queries are built as wire bytes, responses are parsed back with
 * ldns and checked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "dname.h"
#include "engine.h"
#include "snapshot.h"
#include "snapshot_writer.h"
#include "zoneset.h"

/* ---- helpers ------------------------------------------------------------ */

struct built {
	void *img;
	struct snap *snap;
};

#define MAX_Z 4
static struct built zones[MAX_Z];
static int nzones;
static struct zoneset *zs;
static struct eng_conf conf;

/* Build a zone from RR lines (presentation format, absolute or relative to
 * origin) and add it to the zone set. */
static void add_zone(const char *origin, const char *const *lines)
{
	uint8_t apex[256];
	assert_true(dname_from_str(origin, apex) > 0);
	struct snapw *w = snapw_new(apex);
	assert_non_null(w);
	ldns_rdf *orig = ldns_dname_new_frm_str(origin);
	ldns_rdf *prev = NULL;
	for (int i = 0; lines[i] != NULL; i++) {
		ldns_rr *rr = NULL;
		ldns_status st = ldns_rr_new_frm_str(&rr, lines[i], 3600, orig, &prev);
		if (st != LDNS_STATUS_OK)
			fail_msg("bad test RR '%s': %s", lines[i], ldns_get_errorstr_by_id(st));
		ldns_buffer *b = ldns_buffer_new(512);
		assert_int_equal(ldns_rr_rdata2buffer_wire(b, rr), LDNS_STATUS_OK);
		ldns_rdf *owner = ldns_rr_owner(rr);
		int rc = snapw_add_rr(w, ldns_rdf_data(owner), ldns_rr_get_type(rr),
		                      ldns_rr_get_class(rr), ldns_rr_ttl(rr),
		                      ldns_buffer_begin(b), (uint16_t)ldns_buffer_position(b));
		assert_int_equal(rc, 0);
		ldns_buffer_free(b);
		ldns_rr_free(rr);
	}
	ldns_rdf_deep_free(orig);
	ldns_rdf_deep_free(prev);
	char err[256];
	size_t len;
	struct built *z = &zones[nzones++];
	int rc = snapw_build(w, &z->img, &len, NULL, err, sizeof(err));
	if (rc != 0)
		fail_msg("snapw_build: %s", err);
	snapw_free(w);
	rc = snap_open_mem(z->img, len, 0, &z->snap, err, sizeof(err));
	if (rc != 0)
		fail_msg("snap_open_mem: %s", err);
}

static void make_set(void)
{
	const struct snap *s[MAX_Z];
	for (int i = 0; i < nzones; i++)
		s[i] = zones[i].snap;
	zs = zs_new(s, (uint32_t)nzones, NULL);
	assert_non_null(zs);
}

static int teardown(void **state)
{
	(void)state;
	zs_free(zs);
	zs = NULL;
	for (int i = 0; i < nzones; i++) {
		snap_close(zones[i].snap);
		free(zones[i].img);
	}
	nzones = 0;
	memset(&conf, 0, sizeof(conf));
	return 0;
}

/* Query wire: name (presentation), type, class; edns: -1 none, else the
 * payload size; flags: do bit, version. */
struct qopt {
	int edns;          /* -1: no OPT */
	int dobit;
	int version;
	int nsid;
	uint16_t qclass;
	int opcode;
	int tcp;
};

static size_t mkquery(uint8_t *w, const char *name, uint16_t type, const struct qopt *o)
{
	memset(w, 0, 12);
	w[0] = 0x12;
	w[1] = 0x34;
	w[2] = (uint8_t)(((o ? o->opcode : 0) << 3) | 0x01);   /* RD */
	w[5] = 1;
	size_t n = dname_from_str(name, w + 12);
	assert_true(n > 0);
	size_t p = 12 + n;
	w[p++] = (uint8_t)(type >> 8);
	w[p++] = (uint8_t)type;
	uint16_t cls = o && o->qclass ? o->qclass : 1;
	w[p++] = (uint8_t)(cls >> 8);
	w[p++] = (uint8_t)cls;
	if (o && o->edns >= 0) {
		w[11] = 1;
		w[p++] = 0;
		w[p++] = 0;
		w[p++] = 41;
		w[p++] = (uint8_t)(o->edns >> 8);
		w[p++] = (uint8_t)o->edns;
		w[p++] = 0;
		w[p++] = (uint8_t)o->version;
		w[p++] = o->dobit ? 0x80 : 0;
		w[p++] = 0;
		w[p++] = 0;
		w[p++] = o->nsid ? 4 : 0;
		if (o->nsid) {
			w[p++] = 0;
			w[p++] = 3;
			w[p++] = 0;
			w[p++] = 0;
		}
	}
	return p;
}

static uint8_t resp[65536];
static size_t resp_len;

static ldns_pkt *ask_raw(const uint8_t *q, size_t qlen, int tcp)
{
	struct eng_xport x = { tcp ? ENG_TCP : ENG_UDP, NULL, 0 };
	resp_len = eng_answer(&conf, zs, q, qlen, resp, sizeof(resp), &x);
	if (resp_len == 0)
		return NULL;
	ldns_pkt *p = NULL;
	ldns_status st = ldns_wire2pkt(&p, resp, resp_len);
	if (st != LDNS_STATUS_OK)
		fail_msg("response does not parse: %s", ldns_get_errorstr_by_id(st));
	return p;
}

static ldns_pkt *ask(const char *name, uint16_t type, const struct qopt *o)
{
	uint8_t q[600];
	size_t n = mkquery(q, name, type, o);
	return ask_raw(q, n, o ? o->tcp : 0);
}

static const struct qopt EDNS = { .edns = 1232, .qclass = 1 };
static const struct qopt DO = { .edns = 1232, .dobit = 1, .qclass = 1 };

static int count_type(const ldns_rr_list *l, ldns_rr_type t)
{
	int n = 0;
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++)
		n += ldns_rr_get_type(ldns_rr_list_rr(l, i)) == t;
	return n;
}

static int has_rr(const ldns_rr_list *l, const char *text)
{
	ldns_rr *want = NULL;
	assert_int_equal(ldns_rr_new_frm_str(&want, text, 0, NULL, NULL), LDNS_STATUS_OK);
	int found = 0;
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++)
		found |= ldns_rr_compare(ldns_rr_list_rr(l, i), want) == 0;
	ldns_rr_free(want);
	return found;
}

static const char *const EXAMPLE[] = {
	"example.com. 3600 IN SOA ns1.example.com. hostmaster.example.com. 7 7200 3600 1209600 300",
	"example.com. 3600 IN NS ns1.example.com.",
	"example.com. 3600 IN NS ns2.example.net.",
	"example.com. 3600 IN MX 10 mail.example.com.",
	"ns1.example.com. 3600 IN A 192.0.2.1",
	"mail.example.com. 3600 IN A 192.0.2.2",
	"mail.example.com. 3600 IN AAAA 2001:db8::2",
	"www.example.com. 3600 IN CNAME web.example.com.",
	"web.example.com. 3600 IN A 192.0.2.3",
	"loop1.example.com. 3600 IN CNAME loop2.example.com.",
	"loop2.example.com. 3600 IN CNAME loop1.example.com.",
	"out.example.com. 3600 IN CNAME www.example.org.",
	"sub.example.com. 3600 IN NS ns.sub.example.com.",
	"sub.example.com. 3600 IN DS 12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	"ns.sub.example.com. 3600 IN A 192.0.2.4",
	"*.wild.example.com. 3600 IN TXT \"wild\"",
	"a.ent.example.com. 3600 IN A 192.0.2.5",
	"*.example.com. 3600 IN A 192.0.2.9",
	"d.example.com. 3600 IN DNAME example.net.",
	"dd.example.com. 3600 IN DNAME "
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
	"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb."
	"ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc.",
	"huge.example.com. 3600 IN NS nameserver-with-a-long-name-01.provider-01.other.com.",
	"huge.example.com. 3600 IN NS nameserver-with-a-long-name-02.provider-02.other.com.",
	"huge.example.com. 3600 IN NS nameserver-with-a-long-name-03.provider-03.other.com.",
	"huge.example.com. 3600 IN NS nameserver-with-a-long-name-04.provider-04.other.com.",
	"huge.example.com. 3600 IN NS nameserver-with-a-long-name-05.provider-05.other.com.",
	"huge.example.com. 3600 IN NS nameserver-with-a-long-name-06.provider-06.other.com.",
	"huge.example.com. 3600 IN NS nameserver-with-a-long-name-07.provider-07.other.com.",
	"huge.example.com. 3600 IN NS nameserver-with-a-long-name-08.provider-08.other.com.",
	"huge.example.com. 3600 IN NS nameserver-with-a-long-name-09.provider-09.other.com.",
	"huge.example.com. 3600 IN NS nameserver-with-a-long-name-10.provider-10.other.com.",
	"huge.example.com. 3600 IN NS nameserver-with-a-long-name-11.provider-11.other.com.",
	"huge.example.com. 3600 IN NS nameserver-with-a-long-name-12.provider-12.other.com.",
	"huge.example.com. 3600 IN NS nameserver-with-a-long-name-13.provider-13.other.com.",
	"huge.example.com. 3600 IN NS nameserver-with-a-long-name-14.provider-14.other.com.",
	"huge.example.com. 3600 IN NS nameserver-with-a-long-name-15.provider-15.other.com.",
	"huge.example.com. 3600 IN NS nameserver-with-a-long-name-16.provider-16.other.com.",
	"huge.example.com. 3600 IN NS nameserver-with-a-long-name-17.provider-17.other.com.",
	"huge.example.com. 3600 IN NS nameserver-with-a-long-name-18.provider-18.other.com.",
	"huge.example.com. 3600 IN NS nameserver-with-a-long-name-19.provider-19.other.com.",
	"huge.example.com. 3600 IN NS nameserver-with-a-long-name-20.provider-20.other.com.",
	"big.example.com. 3600 IN TXT \"0123456789012345678901234567890123456789012345678901234567890123456789\"",
	"big.example.com. 3600 IN TXT \"1123456789012345678901234567890123456789012345678901234567890123456789\"",
	"big.example.com. 3600 IN TXT \"2123456789012345678901234567890123456789012345678901234567890123456789\"",
	"big.example.com. 3600 IN TXT \"3123456789012345678901234567890123456789012345678901234567890123456789\"",
	"big.example.com. 3600 IN TXT \"4123456789012345678901234567890123456789012345678901234567890123456789\"",
	"big.example.com. 3600 IN TXT \"5123456789012345678901234567890123456789012345678901234567890123456789\"",
	"big.example.com. 3600 IN TXT \"6123456789012345678901234567890123456789012345678901234567890123456789\"",
	"big.example.com. 3600 IN TXT \"7123456789012345678901234567890123456789012345678901234567890123456789\"",
	NULL,
};

static int setup_example(void **state)
{
	(void)state;
	add_zone("example.com.", EXAMPLE);
	make_set();
	return 0;
}

/* ---- tests: lookup (RFC 1034 4.3.2) ------------------------------------ */

static void test_exact_match(void **state)
{
	(void)state;
	ldns_pkt *p = ask("mail.example.com.", LDNS_RR_TYPE_A, NULL);
	assert_non_null(p);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_true(ldns_pkt_aa(p));
	assert_true(ldns_pkt_qr(p));
	assert_true(ldns_pkt_rd(p));
	assert_int_equal(ldns_pkt_id(p), 0x1234);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	assert_true(has_rr(ldns_pkt_answer(p), "mail.example.com. 3600 IN A 192.0.2.2"));
	assert_int_equal(ldns_pkt_nscount(p), 0);
	ldns_pkt_free(p);
}

static void test_case_copied(void **state)
{
	(void)state;
	uint8_t q[300];
	size_t n = mkquery(q, "MaIl.ExAmPlE.cOm.", LDNS_RR_TYPE_A, NULL);
	ldns_pkt *p = ask_raw(q, n, 0);
	assert_non_null(p);
	/* question bytes identical, including case */
	assert_memory_equal(resp + 12, q + 12, n - 12);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	ldns_pkt_free(p);
}

static void test_nxdomain(void **state)
{
	(void)state;
	ldns_pkt *p = ask("nope.ent.example.com.", LDNS_RR_TYPE_A, NULL);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	assert_true(ldns_pkt_aa(p));
	assert_int_equal(ldns_pkt_ancount(p), 0);
	/* SOA with min(TTL, MINIMUM) = 300 */
	assert_true(has_rr(ldns_pkt_authority(p),
	            "example.com. 300 IN SOA ns1.example.com. hostmaster.example.com. 7 7200 3600 1209600 300"));
	ldns_pkt_free(p);
}

static void test_nodata(void **state)
{
	(void)state;
	ldns_pkt *p = ask("web.example.com.", LDNS_RR_TYPE_AAAA, NULL);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_true(ldns_pkt_aa(p));
	assert_int_equal(ldns_pkt_ancount(p), 0);
	assert_int_equal(count_type(ldns_pkt_authority(p), LDNS_RR_TYPE_SOA), 1);
	ldns_pkt_free(p);
}

static void test_empty_non_terminal(void **state)
{
	(void)state;
	/* ent.example.com exists (it has a child): NODATA, and the wildcard
	 * *.example.com does not apply to it (RFC 4592 2.2.2) */
	ldns_pkt *p = ask("ent.example.com.", LDNS_RR_TYPE_A, NULL);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(p), 0);
	assert_int_equal(count_type(ldns_pkt_authority(p), LDNS_RR_TYPE_SOA), 1);
	ldns_pkt_free(p);
}

static void test_cname_chain(void **state)
{
	(void)state;
	ldns_pkt *p = ask("www.example.com.", LDNS_RR_TYPE_A, NULL);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(p), 2);
	assert_true(has_rr(ldns_pkt_answer(p), "www.example.com. 3600 IN CNAME web.example.com."));
	assert_true(has_rr(ldns_pkt_answer(p), "web.example.com. 3600 IN A 192.0.2.3"));
	ldns_pkt_free(p);
}

static void test_cname_loop_bounded(void **state)
{
	(void)state;
	ldns_pkt *p = ask("loop1.example.com.", LDNS_RR_TYPE_A, NULL);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	/* the loop stops where an rrset would repeat */
	assert_int_equal(ldns_pkt_ancount(p), 2);
	ldns_pkt_free(p);
}

static void test_cname_out_of_zone(void **state)
{
	(void)state;
	ldns_pkt *p = ask("out.example.com.", LDNS_RR_TYPE_A, NULL);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	assert_int_equal(count_type(ldns_pkt_answer(p), LDNS_RR_TYPE_CNAME), 1);
	ldns_pkt_free(p);
}

static void test_dname(void **state)
{
	(void)state;
	ldns_pkt *p = ask("x.y.d.example.com.", LDNS_RR_TYPE_A, NULL);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_true(ldns_pkt_aa(p));
	assert_true(has_rr(ldns_pkt_answer(p), "d.example.com. 3600 IN DNAME example.net."));
	assert_true(has_rr(ldns_pkt_answer(p), "x.y.d.example.com. 3600 IN CNAME x.y.example.net."));
	ldns_pkt_free(p);
	/* the DNAME owner itself is not rewritten */
	p = ask("d.example.com.", LDNS_RR_TYPE_A, NULL);
	assert_int_equal(ldns_pkt_ancount(p), 0);
	ldns_pkt_free(p);
}

static void test_dname_overflow_yxdomain(void **state)
{
	(void)state;
	/* 63-octet labels: prefix + target > 255 octets */
	char q[300];
	snprintf(q, sizeof(q), "%s.%s.dd.example.com.",
	         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	         "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy");
	ldns_pkt *p = ask(q, LDNS_RR_TYPE_A, NULL);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_YXDOMAIN);
	assert_int_equal(count_type(ldns_pkt_answer(p), LDNS_RR_TYPE_DNAME), 1);
	assert_int_equal(count_type(ldns_pkt_answer(p), LDNS_RR_TYPE_CNAME), 0);
	ldns_pkt_free(p);
}

static void test_wildcard(void **state)
{
	(void)state;
	ldns_pkt *p = ask("a.b.wild.example.com.", LDNS_RR_TYPE_TXT, NULL);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_true(has_rr(ldns_pkt_answer(p), "a.b.wild.example.com. 3600 IN TXT \"wild\""));
	ldns_pkt_free(p);
	/* wildcard NODATA */
	p = ask("a.wild.example.com.", LDNS_RR_TYPE_A, NULL);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(p), 0);
	ldns_pkt_free(p);
	/* an existing name is never wildcard-synthesized */
	p = ask("web.example.com.", LDNS_RR_TYPE_A, NULL);
	assert_true(has_rr(ldns_pkt_answer(p), "web.example.com. 3600 IN A 192.0.2.3"));
	assert_int_equal(ldns_pkt_ancount(p), 1);
	ldns_pkt_free(p);
	/* apex wildcard for a missing name */
	p = ask("missing.example.com.", LDNS_RR_TYPE_A, NULL);
	assert_true(has_rr(ldns_pkt_answer(p), "missing.example.com. 3600 IN A 192.0.2.9"));
	ldns_pkt_free(p);
}

static void test_referral(void **state)
{
	(void)state;
	ldns_pkt *p = ask("www.sub.example.com.", LDNS_RR_TYPE_A, NULL);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_false(ldns_pkt_aa(p));
	assert_int_equal(ldns_pkt_ancount(p), 0);
	assert_true(has_rr(ldns_pkt_authority(p), "sub.example.com. 3600 IN NS ns.sub.example.com."));
	assert_true(has_rr(ldns_pkt_additional(p), "ns.sub.example.com. 3600 IN A 192.0.2.4"));
	ldns_pkt_free(p);
	/* at the cut itself, and glue below it: referral too */
	p = ask("ns.sub.example.com.", LDNS_RR_TYPE_A, NULL);
	assert_false(ldns_pkt_aa(p));
	assert_int_equal(ldns_pkt_ancount(p), 0);
	assert_int_equal(count_type(ldns_pkt_authority(p), LDNS_RR_TYPE_NS), 1);
	ldns_pkt_free(p);
}

static void test_ds_at_delegation(void **state)
{
	(void)state;
	ldns_pkt *p = ask("sub.example.com.", LDNS_RR_TYPE_DS, NULL);
	assert_true(ldns_pkt_aa(p));
	assert_int_equal(count_type(ldns_pkt_answer(p), LDNS_RR_TYPE_DS), 1);
	ldns_pkt_free(p);
}

static void test_additional_for_mx(void **state)
{
	(void)state;
	ldns_pkt *p = ask("example.com.", LDNS_RR_TYPE_MX, NULL);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	assert_true(has_rr(ldns_pkt_additional(p), "mail.example.com. 3600 IN A 192.0.2.2"));
	assert_true(has_rr(ldns_pkt_additional(p), "mail.example.com. 3600 IN AAAA 2001:db8::2"));
	ldns_pkt_free(p);
}

static void test_refused_outside(void **state)
{
	(void)state;
	ldns_pkt *p = ask("www.example.org.", LDNS_RR_TYPE_A, NULL);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_REFUSED);
	assert_false(ldns_pkt_aa(p));
	ldns_pkt_free(p);
	p = ask(".", LDNS_RR_TYPE_A, NULL);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_REFUSED);
	ldns_pkt_free(p);
}

static void test_any_minimal(void **state)
{
	(void)state;
	/* RFC 8482: one rrset */
	ldns_pkt *p = ask("mail.example.com.", LDNS_RR_TYPE_ANY, NULL);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	ldns_pkt_free(p);
}

/* ---- malformed queries ------------------------------------------------- */

static void test_formerr_qdcount(void **state)
{
	(void)state;
	uint8_t q[300];
	size_t n = mkquery(q, "example.com.", LDNS_RR_TYPE_A, NULL);
	q[5] = 2;
	ldns_pkt *p = ask_raw(q, n, 0);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_FORMERR);
	ldns_pkt_free(p);
	q[5] = 0;
	p = ask_raw(q, n, 0);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_FORMERR);
	ldns_pkt_free(p);
}

static void test_formerr_compression_in_question(void **state)
{
	(void)state;
	static const uint8_t q[] = { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0,
	                             0xc0, 12, 0, 1, 0, 1 };
	ldns_pkt *p = ask_raw(q, sizeof(q), 0);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_FORMERR);
	ldns_pkt_free(p);
}

static void test_formerr_truncated(void **state)
{
	(void)state;
	uint8_t q[300];
	size_t n = mkquery(q, "example.com.", LDNS_RR_TYPE_A, NULL);
	/* over TCP every cut gets FORMERR; over UDP the ones that still have
	 * room for their question (5 octets), a plausible query: cuts of 12
	 * to 16 octets are not (engine.h) and get nothing */
	for (int tcp = 0; tcp <= 1; tcp++) {
		for (size_t cut = 12; cut < n; cut++) {
			ldns_pkt *p = ask_raw(q, cut, tcp);
			if (!tcp && cut < 17) {
				assert_null(p);
				continue;
			}
			assert_non_null(p);
			assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_FORMERR);
			ldns_pkt_free(p);
		}
	}
	/* a header cut short: over TCP, FORMERR from the ID and flags it has;
	 * over UDP nothing (knotd and NSD drop it too) */
	for (size_t cut = 4; cut < 12; cut++) {
		ldns_pkt *p = ask_raw(q, cut, 1);
		assert_non_null(p);
		assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_FORMERR);
		assert_int_equal(ldns_pkt_id(p), 0x1234);
		ldns_pkt_free(p);
		assert_null(ask_raw(q, cut, 0));
	}
	/* no ID and flags, or a response: no answer at all */
	for (size_t cut = 0; cut < 4; cut++) {
		assert_null(ask_raw(q, cut, 0));
		assert_null(ask_raw(q, cut, 1));
	}
	q[2] |= 0x80;
	assert_null(ask_raw(q, n, 0));
	assert_null(ask_raw(q, n, 1));
}

/* What the services of the loop DoS class (CVE-2024-2169) send: text,
 * whose header reads as a non-zero opcode or as a QUERY with counts no
 * datagram holds. Over UDP no answer at all, not even an error; over TCP
 * (which cannot be spoofed into a loop) the error answer. A plausible
 * query of another opcode still gets NOTIMP over UDP. */
static void test_udp_not_plausible(void **state)
{
	(void)state;
	static const char *const text[] = {
		/* chargen (RFC 864): 72 characters of the rotating pattern */
		"!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefgh\r\n",
		"\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghi\r\n",
		"Mon Jan  5 12:00:00 2026\r\n",          /* daytime (RFC 867) */
		"\"The quick brown fox.\" -- qotd\r\n",   /* qotd (RFC 865) */
		"ERROR\r\n",                              /* short lines */
		"hello, world",
		"PING PING PING",
	};
	for (size_t i = 0; i < sizeof(text) / sizeof(text[0]); i++) {
		const uint8_t *t = (const uint8_t *)text[i];
		size_t len = strlen(text[i]);
		if (t[2] & 0x80)
			continue;   /* QR: never answered anyway */
		assert_null(ask_raw(t, len, 0));
		ldns_pkt *p = ask_raw(t, len, 1);
		assert_non_null(p);
		ldns_pkt_rcode rc = ldns_pkt_get_rcode(p);
		assert_true(rc == LDNS_RCODE_FORMERR || rc == LDNS_RCODE_NOTIMPL);
		ldns_pkt_free(p);
	}
	/* counts beyond the octets, one too many: a record more than fits */
	uint8_t q[300];
	size_t n = mkquery(q, "example.com.", LDNS_RR_TYPE_A, NULL);
	q[7] = (uint8_t)((n - 12 - 5) / 11 + 1);   /* ANCOUNT */
	assert_null(ask_raw(q, n, 0));
	ldns_pkt *p = ask_raw(q, n, 1);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_FORMERR);
	ldns_pkt_free(p);
	/* as many as could fit: a plausible query, FORMERR over UDP */
	q[7] = (uint8_t)((n - 12 - 5) / 11);
	assert_true(q[7] > 0);
	p = ask_raw(q, n, 0);
	assert_non_null(p);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_FORMERR);
	ldns_pkt_free(p);
	/* other opcodes of a plausible shape: NOTIMP over UDP */
	for (unsigned op = 1; op < 16; op++) {
		n = mkquery(q, "example.com.", LDNS_RR_TYPE_SOA, NULL);
		q[2] = (uint8_t)(op << 3);
		p = ask_raw(q, n, 0);
		assert_non_null(p);
		assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOTIMPL);
		ldns_pkt_free(p);
	}
}

static void test_formerr_bad_labels(void **state)
{
	(void)state;
	uint8_t q[600] = { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0 };
	/* label of 64 */
	q[12] = 64;
	memset(q + 13, 'a', 64);
	q[77] = 0;
	q[78] = 0; q[79] = 1; q[80] = 0; q[81] = 1;
	ldns_pkt *p = ask_raw(q, 82, 0);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_FORMERR);
	ldns_pkt_free(p);
	/* name of 5 x 63-octet labels: over 255 */
	size_t o = 12;
	for (int i = 0; i < 5; i++) {
		q[o++] = 63;
		memset(q + o, 'b', 63);
		o += 63;
	}
	q[o++] = 0;
	q[o++] = 0; q[o++] = 1; q[o++] = 0; q[o++] = 1;
	p = ask_raw(q, o, 0);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_FORMERR);
	ldns_pkt_free(p);
}

static void test_notimp_opcode(void **state)
{
	(void)state;
	struct qopt o = { .edns = -1, .opcode = 2 };
	ldns_pkt *p = ask("example.com.", LDNS_RR_TYPE_SOA, &o);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOTIMPL);
	ldns_pkt_free(p);
	o.opcode = 4;   /* NOTIFY: for control, later */
	p = ask("example.com.", LDNS_RR_TYPE_SOA, &o);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOTIMPL);
	ldns_pkt_free(p);
}

/* ---- EDNS and truncation ------------------------------------------------ */

static void test_edns_echo(void **state)
{
	(void)state;
	ldns_pkt *p = ask("mail.example.com.", LDNS_RR_TYPE_A, &DO);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_true(ldns_pkt_edns(p));
	assert_true(ldns_pkt_edns_do(p));
	assert_int_equal(ldns_pkt_edns_udp_size(p), ENG_UDP_MAX_DEFAULT);
	ldns_pkt_free(p);
	p = ask("mail.example.com.", LDNS_RR_TYPE_A, NULL);
	assert_false(ldns_pkt_edns(p));
	ldns_pkt_free(p);
}

static void test_edns_badvers(void **state)
{
	(void)state;
	struct qopt o = { .edns = 1232, .version = 1 };
	ldns_pkt *p = ask("mail.example.com.", LDNS_RR_TYPE_A, &o);
	assert_true(ldns_pkt_edns(p));
	/* BADVERS = 16: 1 in the OPT's extended rcode, 0 in the header */
	assert_int_equal(ldns_pkt_edns_extended_rcode(p), 1);
	assert_int_equal(ldns_pkt_get_rcode(p), 0);
	assert_int_equal(ldns_pkt_ancount(p), 0);
	ldns_pkt_free(p);
}

static void test_formerr_trailing_octets(void **state)
{
	(void)state;
	uint8_t q[300];
	size_t n = mkquery(q, "mail.example.com.", LDNS_RR_TYPE_A, NULL);
	q[n++] = 0xde;
	q[n++] = 0xad;
	ldns_pkt *p = ask_raw(q, n, 0);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_FORMERR);
	ldns_pkt_free(p);
}

static void test_edns_unknown_option_ignored(void **state)
{
	(void)state;
	uint8_t q[300];
	size_t n = mkquery(q, "mail.example.com.", LDNS_RR_TYPE_A, &EDNS);
	/* append option 65001 len 2 to the OPT rdata */
	q[n - 1] = 6;
	q[n++] = 0xfd; q[n++] = 0xe9; q[n++] = 0; q[n++] = 2; q[n++] = 1; q[n++] = 2;
	ldns_pkt *p = ask_raw(q, n, 0);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	ldns_pkt_free(p);
}

static void test_edns_opt_wrong_section(void **state)
{
	(void)state;
	uint8_t q[300];
	size_t n = mkquery(q, "mail.example.com.", LDNS_RR_TYPE_A, &EDNS);
	q[11] = 0;
	q[7] = 1;   /* the OPT counted in the answer section */
	ldns_pkt *p = ask_raw(q, n, 0);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_FORMERR);
	ldns_pkt_free(p);
	/* two OPTs */
	n = mkquery(q, "mail.example.com.", LDNS_RR_TYPE_A, &EDNS);
	memcpy(q + n, q + n - 11, 11);
	n += 11;
	q[11] = 2;
	p = ask_raw(q, n, 0);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_FORMERR);
	ldns_pkt_free(p);
}

static void test_truncation_whole_rrsets(void **state)
{
	(void)state;
	/* 8 TXT of ~85 octets: > 512, < 1232 */
	ldns_pkt *p = ask("big.example.com.", LDNS_RR_TYPE_TXT, NULL);
	assert_true(ldns_pkt_tc(p));
	assert_int_equal(ldns_pkt_ancount(p), 0);   /* never a partial rrset */
	assert_true(resp_len <= 512);
	ldns_pkt_free(p);
	p = ask("big.example.com.", LDNS_RR_TYPE_TXT, &EDNS);
	assert_false(ldns_pkt_tc(p));
	assert_int_equal(ldns_pkt_ancount(p), 8);
	ldns_pkt_free(p);
	/* client buffer above our maximum is capped at 1232 */
	struct qopt big = { .edns = 4096 };
	p = ask("big.example.com.", LDNS_RR_TYPE_TXT, &big);
	assert_true(resp_len <= ENG_UDP_MAX_DEFAULT);
	ldns_pkt_free(p);
	/* TCP: no limit but the message size */
	struct qopt tcp = { .edns = -1, .tcp = 1 };
	p = ask("big.example.com.", LDNS_RR_TYPE_TXT, &tcp);
	assert_false(ldns_pkt_tc(p));
	assert_int_equal(ldns_pkt_ancount(p), 8);
	ldns_pkt_free(p);
}

static void test_referral_compressed_to_fit(void **state)
{
	(void)state;
	/* 20 NS names of other providers: 1300 octets as stored, under 1232
	 * once the names share their common suffix */
	ldns_pkt *p = ask("huge.example.com.", LDNS_RR_TYPE_NS, &EDNS);
	assert_false(ldns_pkt_tc(p));
	assert_int_equal(count_type(ldns_pkt_authority(p), LDNS_RR_TYPE_NS), 20);
	assert_true(resp_len <= 1232);
	ldns_pkt_free(p);
	p = ask("www.huge.example.com.", LDNS_RR_TYPE_A, &EDNS);
	assert_false(ldns_pkt_tc(p));
	assert_int_equal(count_type(ldns_pkt_authority(p), LDNS_RR_TYPE_NS), 20);
	ldns_pkt_free(p);
}

/* The fast path (plain answers, one CNAME) gives the general path's bytes. */
static void test_fast_path_same_as_general(void **state)
{
	(void)state;
	static const char *const names[] = {
		"mail.example.com.", "MaIl.example.com.", "www.example.com.", "WWW.Example.COM.",
		"out.example.com.", "loop1.example.com.", "big.example.com.", "missing.example.com.",
		"ns1.example.com.", "ns.sub.example.com.", "example.com.",
	};
	static const uint16_t types[] = { 1, 28, 16, 5, 6 };
	struct eng_conf slow = { .no_fast_path = 1 };
	static uint8_t a[65536], b[65536];
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
			for (int tcp = 0; tcp < 2; tcp++) {
				struct eng_xport x = { tcp ? ENG_TCP : ENG_UDP, NULL, 0 };
				uint8_t q[300];
				struct qopt o = { .edns = (int)(t & 1 ? 1232 : -1) };
				size_t n = mkquery(q, names[i], types[t], &o);
				size_t la = eng_answer(&conf, zs, q, n, a, sizeof(a), &x);
				size_t lb = eng_answer(&slow, zs, q, n, b, sizeof(b), &x);
				assert_int_equal(la, lb);
				assert_memory_equal(a, b, la);
			}
		}
	}
}

static void test_burst_same_as_single(void **state)
{
	(void)state;
	static const char *const names[] = {
		"mail.example.com.", "MAIL.example.com.", "www.example.com.", "x.y.d.example.com.",
		"nope.ent.example.com.", "a.b.wild.example.com.", "www.sub.example.com.",
		"example.com.", "big.example.com.", "huge.example.com.", "www.example.org.",
		"loop1.example.com.", "missing.example.com.", "ent.example.com.",
	};
	static const uint16_t types[] = { 1, 28, 2, 15, 16, 5, 43, 255, 6, 46 };
	static uint8_t qs[ENG_BURST_MAX][600], single[65536], rs[ENG_BURST_MAX][4096];
	struct eng_msg m[ENG_BURST_MAX];
	struct eng_xport x = { ENG_UDP, NULL, 0 };
	unsigned k = 0, total = 0;
	for (size_t ni = 0; ni < sizeof(names) / sizeof(names[0]); ni++) {
		for (size_t ti = 0; ti < sizeof(types) / sizeof(types[0]); ti++) {
			struct qopt o = { .edns = (int)((ni + ti) % 3 == 0 ? -1 : 1232),
			                  .dobit = (int)(ti & 1) };
			m[k].qlen = mkquery(qs[k], names[ni], types[ti], &o);
			m[k].q = qs[k];
			m[k].resp = rs[k];
			m[k].cap = sizeof(rs[k]);
			m[k].client = NULL;
			m[k].now = 0;
			if (++k == ENG_BURST_MAX || (ni + 1 == sizeof(names) / sizeof(names[0]) &&
			                             ti + 1 == sizeof(types) / sizeof(types[0]))) {
				eng_answer_burst(&conf, zs, m, k, ENG_UDP);
				for (unsigned j = 0; j < k; j++) {
					size_t n = eng_answer(&conf, zs, m[j].q, m[j].qlen, single,
					                      m[j].cap, &x);
					assert_int_equal(n, m[j].rlen);
					assert_memory_equal(single, m[j].resp, n);
					total++;
				}
				k = 0;
			}
		}
	}
	assert_int_equal(total, 140);
}

/* ---- identity ------------------------------------------------------------ */

static void test_chaos_identity(void **state)
{
	(void)state;
	struct qopt ch = { .edns = -1, .qclass = 3 };
	ldns_pkt *p = ask("id.server.", LDNS_RR_TYPE_TXT, &ch);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_REFUSED);   /* off by default */
	ldns_pkt_free(p);
	conf.id_server = "pop1";
	p = ask("ID.SERVER.", LDNS_RR_TYPE_TXT, &ch);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_true(has_rr(ldns_pkt_answer(p), "id.server. 0 CH TXT \"pop1\""));
	ldns_pkt_free(p);
	p = ask("version.bind.", LDNS_RR_TYPE_TXT, &ch);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_REFUSED);
	ldns_pkt_free(p);
}

static void test_nsid(void **state)
{
	(void)state;
	conf.nsid = (const uint8_t *)"pop1";
	conf.nsid_len = 4;
	struct qopt o = { .edns = 1232, .nsid = 1 };
	ldns_pkt *p = ask("mail.example.com.", LDNS_RR_TYPE_A, &o);
	assert_true(ldns_pkt_edns(p));
	ldns_rdf *d = ldns_pkt_edns_data(p);
	assert_non_null(d);
	assert_int_equal(ldns_rdf_size(d), 8);
	assert_memory_equal(ldns_rdf_data(d), "\0\3\0\4pop1", 8);
	ldns_pkt_free(p);
	/* not asked: not sent */
	p = ask("mail.example.com.", LDNS_RR_TYPE_A, &EDNS);
	assert_null(ldns_pkt_edns_data(p));
	ldns_pkt_free(p);
}

/* ---- zone cut across loaded zones ----------------------------------------- */

static const char *const CHILD[] = {
	"sub.example.com. 3600 IN SOA ns.sub.example.com. h.example.com. 3 7200 3600 1209600 60",
	"sub.example.com. 3600 IN NS ns.sub.example.com.",
	"ns.sub.example.com. 3600 IN A 192.0.2.4",
	"www.sub.example.com. 3600 IN A 192.0.2.44",
	NULL,
};

static int setup_parent_child(void **state)
{
	(void)state;
	add_zone("example.com.", EXAMPLE);
	add_zone("sub.example.com.", CHILD);
	make_set();
	return 0;
}

static void test_longest_match_zone(void **state)
{
	(void)state;
	ldns_pkt *p = ask("www.sub.example.com.", LDNS_RR_TYPE_A, NULL);
	assert_true(ldns_pkt_aa(p));
	assert_true(has_rr(ldns_pkt_answer(p), "www.sub.example.com. 3600 IN A 192.0.2.44"));
	ldns_pkt_free(p);
	/* DS is answered by the parent */
	p = ask("sub.example.com.", LDNS_RR_TYPE_DS, NULL);
	assert_int_equal(count_type(ldns_pkt_answer(p), LDNS_RR_TYPE_DS), 1);
	ldns_pkt_free(p);
	/* the child's NXDOMAIN carries the child's SOA */
	p = ask("nx.sub.example.com.", LDNS_RR_TYPE_A, NULL);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	assert_true(has_rr(ldns_pkt_authority(p),
	            "sub.example.com. 60 IN SOA ns.sub.example.com. h.example.com. 3 7200 3600 1209600 60"));
	ldns_pkt_free(p);
}

/* ---- DNSSEC (pre-signed; signatures are opaque to the engine) ----------- */

#define SIG(t, n) " 3600 IN RRSIG " t " 13 " n " 3600 20300101000000 20200101000000 1 sec.test. AAAA"

static const char *const SIGNED[] = {
	"sec.test. 3600 IN SOA ns.sec.test. h.sec.test. 1 7200 3600 1209600 300",
	"sec.test." SIG("SOA", "2"),
	"sec.test. 3600 IN NS ns.sec.test.",
	"sec.test." SIG("NS", "2"),
	"sec.test. 300 IN NSEC a.sec.test. NS SOA RRSIG NSEC",
	"sec.test." SIG("NSEC", "2"),
	"a.sec.test. 3600 IN A 192.0.2.1",
	"a.sec.test." SIG("A", "3"),
	"a.sec.test. 300 IN NSEC ns.sec.test. A RRSIG NSEC",
	"a.sec.test." SIG("NSEC", "3"),
	"ns.sec.test. 3600 IN A 192.0.2.2",
	"ns.sec.test." SIG("A", "3"),
	"ns.sec.test. 300 IN NSEC sec.test. A RRSIG NSEC",
	"ns.sec.test." SIG("NSEC", "3"),
	NULL,
};

static int setup_signed(void **state)
{
	(void)state;
	add_zone("sec.test.", SIGNED);
	make_set();
	return 0;
}

static void test_dnssec_positive(void **state)
{
	(void)state;
	ldns_pkt *p = ask("a.sec.test.", LDNS_RR_TYPE_A, &DO);
	assert_int_equal(count_type(ldns_pkt_answer(p), LDNS_RR_TYPE_A), 1);
	assert_int_equal(count_type(ldns_pkt_answer(p), LDNS_RR_TYPE_RRSIG), 1);
	ldns_pkt_free(p);
	/* without DO: no signatures */
	p = ask("a.sec.test.", LDNS_RR_TYPE_A, &EDNS);
	assert_int_equal(count_type(ldns_pkt_answer(p), LDNS_RR_TYPE_RRSIG), 0);
	ldns_pkt_free(p);
}

/* The fast path's DO answers are the general path's, byte for byte. */
static void test_dnssec_fast_path_same(void **state)
{
	(void)state;
	static const char *const names[] = { "a.sec.test.", "ns.sec.test.", "sec.test.", "b.sec.test." };
	static const uint16_t types[] = { 1, 2, 6, 47, 16 };
	struct eng_xport x = { ENG_UDP, NULL, 0 };
	struct eng_conf slow = { .no_fast_path = 1 };
	static uint8_t a[4096], b[4096];
	for (size_t i = 0; i < 4; i++) {
		for (size_t t = 0; t < 5; t++) {
			uint8_t q[300];
			size_t n = mkquery(q, names[i], types[t], &DO);
			size_t la = eng_answer(&conf, zs, q, n, a, sizeof(a), &x);
			size_t lb = eng_answer(&slow, zs, q, n, b, sizeof(b), &x);
			assert_int_equal(la, lb);
			assert_memory_equal(a, b, la);
		}
	}
}

static void test_dnssec_nxdomain_nsec(void **state)
{
	(void)state;
	ldns_pkt *p = ask("b.sec.test.", LDNS_RR_TYPE_A, &DO);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	const ldns_rr_list *au = ldns_pkt_authority(p);
	/* a.sec.test NSEC covers b; the apex NSEC covers *.sec.test */
	assert_true(has_rr(au, "a.sec.test. 300 IN NSEC ns.sec.test. A RRSIG NSEC"));
	assert_true(has_rr(au, "sec.test. 300 IN NSEC a.sec.test. NS SOA RRSIG NSEC"));
	assert_int_equal(count_type(au, LDNS_RR_TYPE_SOA), 1);
	assert_int_equal(count_type(au, LDNS_RR_TYPE_RRSIG), 3);
	ldns_pkt_free(p);
}

static void test_dnssec_nodata_nsec(void **state)
{
	(void)state;
	ldns_pkt *p = ask("a.sec.test.", LDNS_RR_TYPE_TXT, &DO);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	const ldns_rr_list *au = ldns_pkt_authority(p);
	assert_true(has_rr(au, "a.sec.test. 300 IN NSEC ns.sec.test. A RRSIG NSEC"));
	assert_int_equal(count_type(au, LDNS_RR_TYPE_NSEC), 1);
	ldns_pkt_free(p);
}

/* ---- regressions (review of 2026-11-23) ----------------------------------- */

static const char *const DNAME_LOOP[] = {
	"ex. 3600 IN SOA ns.ex. h.ex. 1 2 3 4 5",
	"ex. 3600 IN NS ns.ex.",
	"ns.ex. 3600 IN A 192.0.2.1",
	"a.ex. 3600 IN DNAME b.ex.",
	"x.b.ex. 3600 IN DNAME cccccccccccccccccccc.ex.",
	"z.cccccccccccccccccccc.ex. 3600 IN CNAME w.a.ex.",
	NULL,
};

/* A DNAME met a second time in one chain must point at its own target. */
static void test_regress_dname_met_twice(void **state)
{
	(void)state;
	add_zone("ex.", DNAME_LOOP);
	make_set();
	ldns_pkt *p = ask("z.x.a.ex.", LDNS_RR_TYPE_A, NULL);
	assert_true(has_rr(ldns_pkt_answer(p), "w.a.ex. 3600 IN CNAME w.b.ex."));
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	ldns_pkt_free(p);
}

#define SIG8(n) "www.ex. 3600 IN RRSIG A 13 2 3600 20300101000000 20200101000000 " n \
	" ex. AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

static const char *const BIGSIGS[] = {
	"ex. 3600 IN SOA ns.ex. h.ex. 1 2 3 4 5",
	"ex. 3600 IN NS ns.ex.",
	"ns.ex. 3600 IN A 192.0.2.1",
	"www.ex. 3600 IN A 192.0.2.2",
	SIG8("1"), SIG8("2"), SIG8("3"), SIG8("4"), SIG8("5"), SIG8("6"), SIG8("7"), SIG8("8"),
	NULL,
};

/* A qtype RRSIG answer that does not fit sets TC. */
static void test_regress_rrsig_tc(void **state)
{
	(void)state;
	add_zone("ex.", BIGSIGS);
	make_set();
	ldns_pkt *p = ask("www.ex.", LDNS_RR_TYPE_RRSIG, NULL);
	assert_true(ldns_pkt_tc(p));
	ldns_pkt_free(p);
	struct qopt tcp = { .edns = -1, .tcp = 1 };
	p = ask("www.ex.", LDNS_RR_TYPE_RRSIG, &tcp);
	assert_false(ldns_pkt_tc(p));
	assert_int_equal(count_type(ldns_pkt_answer(p), LDNS_RR_TYPE_RRSIG), 8);
	ldns_pkt_free(p);
}

static void nsec3_label(const char *name, char *out)
{
	ldns_rdf *n = ldns_dname_new_frm_str(name);
	ldns_rdf *h = ldns_nsec3_hash_name(n, 1, 0, 0, NULL);
	char *t = ldns_rdf2str(h);
	char *dot = strchr(t, '.');
	if (dot != NULL)
		*dot = 0;
	snprintf(out, 64, "%s", t);
	free(t);
	ldns_rdf_deep_free(h);
	ldns_rdf_deep_free(n);
}

/* NSEC3 NXDOMAIN below an opt-out empty non-terminal (no NSEC3 of its own):
 * the proof starts at the closest provable encloser, the apex. */
static void test_regress_nsec3_optout_ent_nxdomain(void **state)
{
	(void)state;
	char ha[64], hn[64], l1[300], l2[300], want[300];
	nsec3_label("ex.", ha);
	nsec3_label("ns.ex.", hn);
	snprintf(l1, sizeof(l1), "%s.ex. 300 IN NSEC3 1 1 0 - AN000000000000000000000000000000 NS SOA RRSIG DNSKEY NSEC3PARAM", ha);
	snprintf(l2, sizeof(l2), "%s.ex. 300 IN NSEC3 1 1 0 - 41000000000000000000000000000000 A RRSIG", hn);
	const char *const z[] = {
		"ex. 3600 IN SOA ns.ex. h.ex. 1 2 3 4 5",
		"ex. 3600 IN NS ns.ex.",
		"ex. 3600 IN DNSKEY 257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==",
		"ex. 0 IN NSEC3PARAM 1 0 0 -",
		"ns.ex. 3600 IN A 192.0.2.1",
		"a.b.ex. 3600 IN NS ns.other.",
		l1, l2,
		"41000000000000000000000000000000.ex. 300 IN NSEC3 1 1 0 - 4A000000000000000000000000000000 A RRSIG",
		"4A000000000000000000000000000000.ex. 300 IN NSEC3 1 1 0 - AHTCAT4GONGNB18P465POI86MK9242CE A RRSIG",
		"AN000000000000000000000000000000.ex. 300 IN NSEC3 1 1 0 - S0000000000000000000000000000000 A RRSIG",
		"S0000000000000000000000000000000.ex. 300 IN NSEC3 1 1 0 - 2SN1SML2HCDKFA5DIS9IQHFPQ9I9LV7S A RRSIG",
		NULL,
	};
	add_zone("ex.", z);
	make_set();
	ldns_pkt *p = ask("x.b.ex.", LDNS_RR_TYPE_A, &DO);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	snprintf(want, sizeof(want), "%s.ex. 300 IN NSEC3 1 1 0 - AN000000000000000000000000000000 NS SOA RRSIG DNSKEY NSEC3PARAM", ha);
	assert_true(has_rr(ldns_pkt_authority(p), want));
	assert_true(count_type(ldns_pkt_authority(p), LDNS_RR_TYPE_NSEC3) >= 2);
	ldns_pkt_free(p);
}

/* A SOA MINIMUM of 0 gives negative answers a TTL of 0 (not the SOA's). */
static void test_regress_negative_ttl_zero(void **state)
{
	(void)state;
	static const char *const z[] = {
		"zero.test. 3600 IN SOA ns.zero.test. h.zero.test. 1 2 3 4 0",
		"zero.test. 3600 IN NS ns.zero.test.",
		"ns.zero.test. 3600 IN A 192.0.2.1",
		NULL,
	};
	add_zone("zero.test.", z);
	make_set();
	struct eng_conf slow = { .no_fast_path = 1 };
	for (int i = 0; i < 2; i++) {
		struct eng_conf saved = conf;
		if (i == 1)
			conf = slow;
		ldns_pkt *p = ask("nx.zero.test.", LDNS_RR_TYPE_A, &EDNS);
		conf = saved;
		assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
		assert_true(has_rr(ldns_pkt_authority(p),
		            "zero.test. 0 IN SOA ns.zero.test. h.zero.test. 1 2 3 4 0"));
		ldns_pkt_free(p);
	}
}

/* A response buffer too small for the question: the bare header with TC,
 * no read or write past it. */
static void test_regress_cap_below_question(void **state)
{
	(void)state;
	add_zone("example.com.", EXAMPLE);
	make_set();
	uint8_t q[600];
	char name[300];
	snprintf(name, sizeof(name), "%s.%s.%s.example.com.",
	         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	         "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
	         "ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc");
	size_t n = mkquery(q, name, LDNS_RR_TYPE_SOA, NULL);
	static uint8_t small[200];
	struct eng_xport x = { ENG_UDP, NULL, 0 };
	struct eng_conf slow = { .no_fast_path = 1 };
	size_t len = eng_answer(&slow, zs, q, n, small, sizeof(small), &x);
	assert_int_equal(len, 12);
	assert_true(small[2] & 0x02);       /* TC */
	assert_int_equal(small[5], 0);      /* no question */
}

int main(void)
{
	const struct CMUnitTest example[] = {
		cmocka_unit_test(test_exact_match),
		cmocka_unit_test(test_case_copied),
		cmocka_unit_test(test_nxdomain),
		cmocka_unit_test(test_nodata),
		cmocka_unit_test(test_empty_non_terminal),
		cmocka_unit_test(test_cname_chain),
		cmocka_unit_test(test_cname_loop_bounded),
		cmocka_unit_test(test_cname_out_of_zone),
		cmocka_unit_test(test_dname),
		cmocka_unit_test(test_dname_overflow_yxdomain),
		cmocka_unit_test(test_wildcard),
		cmocka_unit_test(test_referral),
		cmocka_unit_test(test_ds_at_delegation),
		cmocka_unit_test(test_additional_for_mx),
		cmocka_unit_test(test_refused_outside),
		cmocka_unit_test(test_any_minimal),
		cmocka_unit_test(test_formerr_qdcount),
		cmocka_unit_test(test_udp_not_plausible),
		cmocka_unit_test(test_formerr_compression_in_question),
		cmocka_unit_test(test_formerr_truncated),
		cmocka_unit_test(test_formerr_bad_labels),
		cmocka_unit_test(test_notimp_opcode),
		cmocka_unit_test(test_formerr_trailing_octets),
		cmocka_unit_test(test_edns_echo),
		cmocka_unit_test(test_edns_badvers),
		cmocka_unit_test(test_edns_unknown_option_ignored),
		cmocka_unit_test(test_edns_opt_wrong_section),
		cmocka_unit_test(test_truncation_whole_rrsets),
		cmocka_unit_test(test_referral_compressed_to_fit),
		cmocka_unit_test(test_burst_same_as_single),
		cmocka_unit_test(test_fast_path_same_as_general),
		cmocka_unit_test(test_chaos_identity),
		cmocka_unit_test(test_nsid),
	};
	const struct CMUnitTest parent_child[] = {
		cmocka_unit_test(test_longest_match_zone),
	};
	const struct CMUnitTest dnssec[] = {
		cmocka_unit_test(test_dnssec_positive),
		cmocka_unit_test(test_dnssec_fast_path_same),
		cmocka_unit_test(test_dnssec_nxdomain_nsec),
		cmocka_unit_test(test_dnssec_nodata_nsec),
	};
	const struct CMUnitTest regress[] = {
		cmocka_unit_test_teardown(test_regress_dname_met_twice, teardown),
		cmocka_unit_test_teardown(test_regress_rrsig_tc, teardown),
		cmocka_unit_test_teardown(test_regress_nsec3_optout_ent_nxdomain, teardown),
		cmocka_unit_test_teardown(test_regress_cap_below_question, teardown),
		cmocka_unit_test_teardown(test_regress_negative_ttl_zero, teardown),
	};
	int fails = 0;
	fails += cmocka_run_group_tests_name("engine", example, setup_example, teardown);
	fails += cmocka_run_group_tests_name("engine zone cut", parent_child, setup_parent_child, teardown);
	fails += cmocka_run_group_tests_name("engine dnssec", dnssec, setup_signed, teardown);
	fails += cmocka_run_group_tests_name("engine regressions", regress, NULL, NULL);
	return fails != 0;
}
