/* test_engine_expired.c: zones marked expired in the zone set (ZS_F_EXPIRED):
 * SERVFAIL, AA clear, the question only, and with EDNS the Extended DNS
 * Error 14 "zone expired" (RFC 8914) in our OPT; the fast path and the
 * burst give the general path's bytes; zones not expired (siblings, a
 * child below an expired parent) still answer; DS goes by the parent. */
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

/* ---- zones -------------------------------------------------------------- */

static const char *const PARENT[] = {
	"example.com. 3600 IN SOA ns1.example.com. h.example.com. 7 7200 3600 1209600 300",
	"example.com. 3600 IN NS ns1.example.com.",
	"example.com. 3600 IN MX 10 mail.example.com.",
	"ns1.example.com. 3600 IN A 192.0.2.1",
	"mail.example.com. 3600 IN A 192.0.2.2",
	"www.example.com. 3600 IN CNAME mail.example.com.",
	"sub.example.com. 3600 IN NS ns.sub.example.com.",
	"sub.example.com. 3600 IN DS 12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	"ns.sub.example.com. 3600 IN A 192.0.2.4",
	NULL,
};

static const char *const CHILD[] = {
	"sub.example.com. 3600 IN SOA ns.sub.example.com. h.example.com. 3 7200 3600 1209600 60",
	"sub.example.com. 3600 IN NS ns.sub.example.com.",
	"ns.sub.example.com. 3600 IN A 192.0.2.4",
	"www.sub.example.com. 3600 IN A 192.0.2.44",
	NULL,
};

static const char *const SIBLING[] = {
	"example.net. 3600 IN SOA ns1.example.net. h.example.net. 1 7200 3600 1209600 300",
	"example.net. 3600 IN NS ns1.example.net.",
	"ns1.example.net. 3600 IN A 192.0.2.10",
	"www.example.net. 3600 IN A 192.0.2.11",
	NULL,
};

enum { Z_PARENT, Z_CHILD, Z_SIBLING, NZ };

static void *imgs[NZ];
static struct snap *snaps[NZ];
static struct zoneset *zs;
static struct eng_conf conf;

static struct snap *build(const char *origin, const char *const *lines, void **img)
{
	uint8_t apex[256];
	assert_true(dname_from_str(origin, apex) > 0);
	struct snapw *w = snapw_new(apex);
	assert_non_null(w);
	ldns_rdf *orig = ldns_dname_new_frm_str(origin);
	for (int i = 0; lines[i] != NULL; i++) {
		ldns_rr *rr = NULL;
		assert_int_equal(ldns_rr_new_frm_str(&rr, lines[i], 3600, orig, NULL), LDNS_STATUS_OK);
		ldns_buffer *b = ldns_buffer_new(512);
		assert_int_equal(ldns_rr_rdata2buffer_wire(b, rr), LDNS_STATUS_OK);
		assert_int_equal(snapw_add_rr(w, ldns_rdf_data(ldns_rr_owner(rr)), ldns_rr_get_type(rr),
		                              ldns_rr_get_class(rr), ldns_rr_ttl(rr),
		                              ldns_buffer_begin(b), (uint16_t)ldns_buffer_position(b)),
		                 0);
		ldns_buffer_free(b);
		ldns_rr_free(rr);
	}
	ldns_rdf_deep_free(orig);
	char err[256];
	size_t len;
	if (snapw_build(w, img, &len, NULL, err, sizeof(err)) != 0)
		fail_msg("snapw_build: %s", err);
	snapw_free(w);
	struct snap *s = NULL;
	if (snap_open_mem(*img, len, 0, &s, err, sizeof(err)) != 0)
		fail_msg("snap_open_mem: %s", err);
	return s;
}

/* The zone set with the zones whose bit is in expired marked expired. */
static void make_set(unsigned expired)
{
	zs_free(zs);
	uint32_t flags[NZ];
	for (unsigned i = 0; i < NZ; i++)
		flags[i] = (expired >> i) & 1u ? ZS_F_EXPIRED : 0;
	zs = zs_new_flags((const struct snap *const *)snaps, flags, NZ, NULL);
	assert_non_null(zs);
}

static int setup(void **state)
{
	(void)state;
	snaps[Z_PARENT] = build("example.com.", PARENT, &imgs[Z_PARENT]);
	snaps[Z_CHILD] = build("sub.example.com.", CHILD, &imgs[Z_CHILD]);
	snaps[Z_SIBLING] = build("example.net.", SIBLING, &imgs[Z_SIBLING]);
	make_set(0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	zs_free(zs);
	zs = NULL;
	for (unsigned i = 0; i < NZ; i++) {
		snap_close(snaps[i]);
		free(imgs[i]);
	}
	return 0;
}

static int reset_conf(void **state)
{
	(void)state;
	memset(&conf, 0, sizeof(conf));
	make_set(0);
	return 0;
}

/* ---- queries ------------------------------------------------------------ */

/* edns < 0: no OPT; else the payload size. nsid: ask for NSID. */
static size_t mkquery(uint8_t *w, const char *name, uint16_t type, int edns, int dobit, int nsid)
{
	memset(w, 0, 12);
	w[0] = 0xab;
	w[1] = 0xcd;
	w[2] = 0x01;   /* RD */
	w[5] = 1;
	size_t n = dname_from_str(name, w + 12);
	assert_true(n > 0);
	size_t p = 12 + n;
	w[p++] = (uint8_t)(type >> 8);
	w[p++] = (uint8_t)type;
	w[p++] = 0;
	w[p++] = 1;
	if (edns >= 0) {
		w[11] = 1;
		static const uint8_t opt[] = { 0, 0, 41 };
		memcpy(w + p, opt, 3);
		p += 3;
		w[p++] = (uint8_t)(edns >> 8);
		w[p++] = (uint8_t)edns;
		w[p++] = 0;
		w[p++] = 0;
		w[p++] = dobit ? 0x80 : 0;
		w[p++] = 0;
		w[p++] = 0;
		w[p++] = nsid ? 4 : 0;
		if (nsid) {
			static const uint8_t o[4] = { 0, 3, 0, 0 };
			memcpy(w + p, o, 4);
			p += 4;
		}
	}
	return p;
}

static uint8_t resp[65536];
static size_t resp_len;

static ldns_pkt *ask(const char *name, uint16_t type, int edns)
{
	uint8_t q[600];
	size_t n = mkquery(q, name, type, edns, 0, 0);
	struct eng_xport x = { ENG_UDP, NULL, 0 };
	resp_len = eng_answer(&conf, zs, q, n, resp, sizeof(resp), &x);
	assert_true(resp_len >= 12);
	ldns_pkt *p = NULL;
	if (ldns_wire2pkt(&p, resp, resp_len) != LDNS_STATUS_OK)
		fail_msg("response to %s does not parse", name);
	return p;
}

/* The EDE our OPT carries, as option code, length, INFO-CODE, text. */
static const uint8_t EDE_EXPIRED[] = { 0, 15, 0, 14, 0, 14, 'z', 'o', 'n', 'e', ' ',
                                       'e', 'x', 'p', 'i', 'r', 'e', 'd' };

/* SERVFAIL for an expired zone: AA clear, the question only; the EDE as
 * the only option with EDNS, no OPT without. */
static void assert_expired(const ldns_pkt *p, int edns)
{
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_SERVFAIL);
	assert_false(ldns_pkt_aa(p));
	assert_true(ldns_pkt_qr(p));
	assert_true(ldns_pkt_rd(p));
	assert_int_equal(ldns_pkt_qdcount(p), 1);
	assert_int_equal(ldns_pkt_ancount(p), 0);
	assert_int_equal(ldns_pkt_nscount(p), 0);
	assert_int_equal(ldns_pkt_arcount(p), 0);   /* ldns takes the OPT out */
	if (edns) {
		assert_true(ldns_pkt_edns(p));
		ldns_rdf *d = ldns_pkt_edns_data(p);
		assert_non_null(d);
		assert_int_equal(ldns_rdf_size(d), sizeof(EDE_EXPIRED));
		assert_memory_equal(ldns_rdf_data(d), EDE_EXPIRED, sizeof(EDE_EXPIRED));
		assert_int_equal(resp[11], 1);      /* ARCOUNT: the OPT */
	} else {
		assert_false(ldns_pkt_edns(p));
		assert_int_equal(resp[11], 0);
	}
}

/* ---- tests -------------------------------------------------------------- */

static void test_expired_servfail_with_ede(void **state)
{
	(void)state;
	make_set(1u << Z_PARENT);
	static const char *const names[] = {
		"example.com.", "mail.example.com.", "MAIL.Example.COM.", "www.example.com.",
		"missing.example.com.", "a.b.ns1.example.com.", "ns.sub.example.com.",
	};
	static const uint16_t types[] = { LDNS_RR_TYPE_A, LDNS_RR_TYPE_SOA, LDNS_RR_TYPE_NS,
	                                  LDNS_RR_TYPE_MX, LDNS_RR_TYPE_ANY, LDNS_RR_TYPE_AAAA };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
			if (strstr(names[i], "sub.") != NULL)
				continue;   /* the child zone's, not expired */
			for (int edns = 0; edns < 2; edns++) {
				ldns_pkt *p = ask(names[i], types[t], edns ? 1232 : -1);
				assert_expired(p, edns);
				ldns_pkt_free(p);
			}
		}
	}
	/* the bytes: the question echoed as asked (case kept) */
	uint8_t q[600];
	size_t n = mkquery(q, "MAIL.Example.COM.", LDNS_RR_TYPE_A, -1, 0, 0);
	struct eng_xport x = { ENG_UDP, NULL, 0 };
	size_t l = eng_answer(&conf, zs, q, n, resp, sizeof(resp), &x);
	assert_int_equal(l, n);
	assert_memory_equal(resp + 12, q + 12, n - 12);
	assert_int_equal(resp[0], 0xab);
	assert_int_equal(resp[2], 0x81);   /* QR, RD; AA clear */
	assert_int_equal(resp[3], 2);      /* SERVFAIL */
}

/* The unexpired set answers the same queries. */
static void test_not_expired_answers(void **state)
{
	(void)state;
	ldns_pkt *p = ask("mail.example.com.", LDNS_RR_TYPE_A, 1232);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_true(ldns_pkt_aa(p));
	assert_int_equal(ldns_pkt_ancount(p), 1);
	assert_null(ldns_pkt_edns_data(p));
	ldns_pkt_free(p);
}

/* With DO and NSID asked and configured, the OPT carries NSID then the
 * EDE, and keeps DO. */
static void test_expired_ede_after_nsid(void **state)
{
	(void)state;
	make_set(1u << Z_PARENT);
	conf.nsid = (const uint8_t *)"pop1";
	conf.nsid_len = 4;
	uint8_t q[600];
	size_t n = mkquery(q, "mail.example.com.", LDNS_RR_TYPE_A, 1232, 1, 1);
	struct eng_xport x = { ENG_UDP, NULL, 0 };
	resp_len = eng_answer(&conf, zs, q, n, resp, sizeof(resp), &x);
	ldns_pkt *p = NULL;
	assert_int_equal(ldns_wire2pkt(&p, resp, resp_len), LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_SERVFAIL);
	assert_true(ldns_pkt_edns_do(p));
	ldns_rdf *d = ldns_pkt_edns_data(p);
	assert_non_null(d);
	assert_int_equal(ldns_rdf_size(d), 8 + sizeof(EDE_EXPIRED));
	assert_memory_equal(ldns_rdf_data(d), "\0\3\0\4pop1", 8);
	assert_memory_equal(ldns_rdf_data(d) + 8, EDE_EXPIRED, sizeof(EDE_EXPIRED));
	ldns_pkt_free(p);
}

/* No room for the EDE in the client's 512 octets (a long name and a long
 * NSID): SERVFAIL all the same, the OPT without it, within the limit. */
static void test_expired_ede_only_when_it_fits(void **state)
{
	(void)state;
	make_set(1u << Z_PARENT);
	static uint8_t nsid[230];
	memset(nsid, 'n', sizeof(nsid));
	conf.nsid = nsid;
	conf.nsid_len = sizeof(nsid);
	char name[300];
	snprintf(name, sizeof(name), "%.63s.%.63s.%.63s.%.40s.example.com.",
	         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	         "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
	         "ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc",
	         "dddddddddddddddddddddddddddddddddddddddd");
	uint8_t q[600];
	size_t n = mkquery(q, name, LDNS_RR_TYPE_A, 512, 0, 1);
	struct eng_xport x = { ENG_UDP, NULL, 0 };
	resp_len = eng_answer(&conf, zs, q, n, resp, sizeof(resp), &x);
	assert_true(resp_len <= 512);
	ldns_pkt *p = NULL;
	assert_int_equal(ldns_wire2pkt(&p, resp, resp_len), LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_SERVFAIL);
	ldns_rdf *d = ldns_pkt_edns_data(p);
	assert_non_null(d);
	assert_int_equal(ldns_rdf_size(d), 4 + sizeof(nsid));   /* NSID only */
	ldns_pkt_free(p);
	/* with a larger payload the EDE is there */
	n = mkquery(q, name, LDNS_RR_TYPE_A, 1232, 0, 1);
	resp_len = eng_answer(&conf, zs, q, n, resp, sizeof(resp), &x);
	assert_int_equal(ldns_wire2pkt(&p, resp, resp_len), LDNS_STATUS_OK);
	d = ldns_pkt_edns_data(p);
	assert_int_equal(ldns_rdf_size(d), 4 + sizeof(nsid) + sizeof(EDE_EXPIRED));
	ldns_pkt_free(p);
}

/* A sibling and a child not expired answer as before; a name outside every
 * zone is still REFUSED. */
static void test_expired_parent_others_answer(void **state)
{
	(void)state;
	make_set(1u << Z_PARENT);
	ldns_pkt *p = ask("www.example.net.", LDNS_RR_TYPE_A, 1232);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_true(ldns_pkt_aa(p));
	assert_int_equal(ldns_pkt_ancount(p), 1);
	ldns_pkt_free(p);
	p = ask("www.sub.example.com.", LDNS_RR_TYPE_A, -1);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_true(ldns_pkt_aa(p));
	assert_int_equal(ldns_pkt_ancount(p), 1);
	ldns_pkt_free(p);
	p = ask("sub.example.com.", LDNS_RR_TYPE_SOA, -1);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	ldns_pkt_free(p);
	p = ask("www.example.org.", LDNS_RR_TYPE_A, 1232);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_REFUSED);
	assert_null(ldns_pkt_edns_data(p));
	ldns_pkt_free(p);
}

/* DS is answered from the parent side: an expired parent gives SERVFAIL
 * for its child's DS though the child is served; an expired child does not
 * stop the parent answering its DS, while its own names are SERVFAIL. */
static void test_expired_ds_parent_side(void **state)
{
	(void)state;
	make_set(1u << Z_PARENT);
	for (int edns = 0; edns < 2; edns++) {
		ldns_pkt *p = ask("sub.example.com.", LDNS_RR_TYPE_DS, edns ? 1232 : -1);
		assert_expired(p, edns);
		ldns_pkt_free(p);
	}
	make_set(1u << Z_CHILD);
	ldns_pkt *p = ask("sub.example.com.", LDNS_RR_TYPE_DS, 1232);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_true(ldns_pkt_aa(p));
	assert_int_equal(ldns_pkt_ancount(p), 1);
	ldns_pkt_free(p);
	p = ask("www.sub.example.com.", LDNS_RR_TYPE_A, 1232);
	assert_expired(p, 1);
	ldns_pkt_free(p);
	p = ask("sub.example.com.", LDNS_RR_TYPE_SOA, -1);
	assert_expired(p, 0);
	ldns_pkt_free(p);
	/* the parent itself answers */
	p = ask("mail.example.com.", LDNS_RR_TYPE_A, -1);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	ldns_pkt_free(p);
	/* a DS of a name with no served parent: the zone at the name decides */
	make_set(1u << Z_SIBLING);
	p = ask("example.net.", LDNS_RR_TYPE_DS, 1232);
	assert_expired(p, 1);
	ldns_pkt_free(p);
}

/* The fast path (on by default) and the general path give the same bytes
 * for every mix of expired zones, names and query forms; and so does the
 * burst against single queries. */
static void test_expired_fast_general_burst_same(void **state)
{
	(void)state;
	static const char *const names[] = {
		"mail.example.com.", "MaIl.example.com.", "www.example.com.", "example.com.",
		"missing.example.com.", "ns.sub.example.com.", "www.sub.example.com.",
		"sub.example.com.", "www.example.net.", "nx.example.net.", "www.example.org.",
	};
	static const uint16_t types[] = { 1, 28, 5, 6, 2, 15, 43, 255 };
	struct eng_conf slow = { .no_fast_path = 1 };
	static uint8_t a[65536], b[65536];
	static uint8_t qs[ENG_BURST_MAX][600], rs[ENG_BURST_MAX][4096];
	struct eng_msg m[ENG_BURST_MAX];
	unsigned servfail = 0;
	for (unsigned set = 0; set < (1u << NZ); set++) {
		make_set(set);
		unsigned k = 0;
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
				for (int form = 0; form < 4; form++) {
					int edns = form & 1 ? 1232 : -1, tcp = form >> 1;
					struct eng_xport x = { tcp ? ENG_TCP : ENG_UDP, NULL, 0 };
					uint8_t q[600];
					size_t n = mkquery(q, names[i], types[t], edns, (int)(t & 1) && edns > 0,
					                   0);
					size_t la = eng_answer(&conf, zs, q, n, a, sizeof(a), &x);
					size_t lb = eng_answer(&slow, zs, q, n, b, sizeof(b), &x);
					assert_int_equal(la, lb);
					assert_memory_equal(a, b, la);
					servfail += (a[3] & 0x0f) == 2;
					if (tcp)
						continue;
					memcpy(qs[k], q, n);
					m[k].q = qs[k];
					m[k].qlen = n;
					m[k].resp = rs[k];
					m[k].cap = sizeof(rs[k]);
					m[k].client = NULL;
					m[k].now = 0;
					if (++k < ENG_BURST_MAX)
						continue;
					eng_answer_burst(&conf, zs, m, k, ENG_UDP);
					for (unsigned j = 0; j < k; j++) {
						size_t l = eng_answer(&conf, zs, m[j].q, m[j].qlen, a, m[j].cap,
						                      &(struct eng_xport){ ENG_UDP, NULL, 0 });
						assert_int_equal(l, m[j].rlen);
						assert_memory_equal(a, m[j].resp, l);
					}
					k = 0;
				}
			}
		}
	}
	assert_true(servfail > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_expired_servfail_with_ede, reset_conf),
		cmocka_unit_test_setup(test_not_expired_answers, reset_conf),
		cmocka_unit_test_setup(test_expired_ede_after_nsid, reset_conf),
		cmocka_unit_test_setup(test_expired_ede_only_when_it_fits, reset_conf),
		cmocka_unit_test_setup(test_expired_parent_others_answer, reset_conf),
		cmocka_unit_test_setup(test_expired_ds_parent_side, reset_conf),
		cmocka_unit_test_setup(test_expired_fast_general_burst_same, reset_conf),
	};
	return cmocka_run_group_tests_name("engine expired zones", tests, setup, teardown);
}
