/* test_xfr.c: TSIG sign/verify round trips and failures (tsig.h), IXFR
 * diff application (xfr_ixfr_apply), the OPT RR reader (xfr_opt_parse). The network side is in tests/xfr. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "error.h"
#include "tsig.h"
#include "rrsort.h"
#include "verify.h"
#include "xfr.h"
#include "xfr_int.h"

static const uint8_t secret[] = "0123456789abcdef0123456789abcdef";
static const uint8_t query[] = {
	0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0,
	7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, 252, 0, 1,
};

/* A request signed by the client, verified by a "server" chain, answered
 * (the same bytes with QR) and signed, verified by the client. */
static void t_tsig_roundtrip(void **st)
{
	(void)st;
	const char *algs[] = { "hmac-sha256.", "hmac-sha384", "HMAC-SHA512." };
	for (int a = 0; a < 3; a++) {
		struct tsig_key k;
		assert_int_equal(tsig_key_init(&k, "Xfr-Key.", algs[a], secret, 32), 0);
		struct tsig_chain cli = { 0 }, srv = { 0 };
		uint8_t m[512];
		size_t len = sizeof(query);
		memcpy(m, query, len);
		assert_int_equal(tsig_sign(&k, &cli, m, &len, sizeof(m), 1000000), 0);
		assert_int_equal(tsig_verify(&k, &srv, m, len, 1000010, NULL), TSIG_OK);
		{       /* the first message of the response (later ones, timers
			   only, are checked against knotd and nsd in tests/xfr) */
			len = sizeof(query);
			memcpy(m, query, len);
			m[2] |= 0x80;
			assert_int_equal(tsig_sign(&k, &srv, m, &len, sizeof(m), 1000001), 0);
			struct tsig_chain c2 = cli;
			assert_int_equal(tsig_verify(&k, &cli, m, len, 1000002, NULL), TSIG_OK);
			/* altered, too late, wrong key name, unsigned */
			m[len - 30] ^= 1;
			assert_int_equal(tsig_verify(&k, &c2, m, len, 1000002, NULL), TSIG_BADMAC);
			m[len - 30] ^= 1;
			assert_int_equal(tsig_verify(&k, &c2, m, len, 1000002 + 400, NULL), TSIG_BADTIME);
			struct tsig_key k2;
			assert_int_equal(tsig_key_init(&k2, "other.", algs[a], secret, 32), 0);
			struct tsig_info ti;
			assert_int_equal(tsig_verify(&k2, &c2, m, len, 1000002, &ti), TSIG_WRONG_KEY);
			assert_string_equal(ti.key, "xfr-key.");
			assert_int_equal(tsig_verify(&k, &c2, query, sizeof(query), 1000002, NULL),
			                 TSIG_UNSIGNED);
		}
	}
}

static void t_tsig_bad_keys(void **st)
{
	(void)st;
	struct tsig_key k;
	assert_int_equal(tsig_key_init(&k, "k.", "hmac-md5.sig-alg.reg.int.", secret, 32), ED_EINVAL);
	assert_int_equal(tsig_key_init(&k, "k.", "hmac-sha256", secret, 0), ED_EINVAL);
	assert_int_equal(tsig_key_init(&k, "k.", "hmac-sha384.", secret, 32), 0);
	assert_int_equal(k.mac_len, 48);
}

static ldns_rr_list *rrs(const char *const *text)
{
	ldns_rr_list *l = ldns_rr_list_new();
	for (; *text; text++) {
		ldns_rr *rr = NULL;
		assert_int_equal(ldns_rr_new_frm_str(&rr, *text, 3600, NULL, NULL), LDNS_STATUS_OK);
		ldns_rr_list_push_rr(l, rr);
	}
	return l;
}

#define SOA(n) "example. 3600 IN SOA ns.example. h.example. " #n " 1 1 1 1"

static void t_ixfr_apply(void **st)
{
	(void)st;
	const char *base_t[] = { SOA(1), "a.example. A 192.0.2.1", "b.example. A 192.0.2.2",
	                         "c.example. TXT \"x\"", NULL };
	const char *del1[] = { SOA(1), "b.example. A 192.0.2.2", NULL };
	const char *add1[] = { SOA(2), "b.example. A 192.0.2.3", "d.example. A 192.0.2.4", NULL };
	const char *del2[] = { SOA(2), "c.example. TXT \"x\"", NULL };
	const char *add2[] = { SOA(3), NULL };
	const char *want_t[] = { SOA(3), "a.example. A 192.0.2.1", "b.example. A 192.0.2.3",
	                         "d.example. A 192.0.2.4", NULL };
	const char *delbad[] = { SOA(2), "zz.example. A 192.0.2.9", NULL };
	ldns_rr_list *base = rrs(base_t), *want = rrs(want_t);
	struct xfr_diff d[2] = {
		{ 1, 2, rrs(del1), rrs(add1) },
		{ 2, 3, rrs(del2), rrs(add2) },
	};
	ldns_rr_list *out = NULL;
	char err[256];
	assert_int_equal(xfr_ixfr_apply(base, d, 2, &out, err, sizeof(err)), 0);
	assert_int_equal(ldns_rr_list_rr_count(out), 4);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(ldns_rr_compare(ldns_rr_list_rr(out, i), ldns_rr_list_rr(want, i)), 0);
	ldns_rr_list_deep_free(out);
	/* chain not connected: the second step alone */
	assert_int_equal(xfr_ixfr_apply(base, &d[1], 1, &out, err, sizeof(err)), ED_EZONE);
	assert_null(out);
	assert_non_null(strstr(err, "starts at serial 2"));
	/* deleting a record that is not there */
	ldns_rr_list_deep_free(d[1].del);
	d[1].del = rrs(delbad);
	assert_int_equal(xfr_ixfr_apply(base, d, 2, &out, err, sizeof(err)), ED_EZONE);
	assert_non_null(strstr(err, "zz.example."));
	assert_int_equal(ldns_rr_list_rr_count(base), 4);   /* untouched */
	for (int i = 0; i < 2; i++) {
		ldns_rr_list_deep_free(d[i].del);
		ldns_rr_list_deep_free(d[i].add);
	}
	ldns_rr_list_deep_free(base);
	ldns_rr_list_deep_free(want);
}

/* The shared application gives the same version as the deep one,
 * keeps base intact when dropped, hands base over when kept; the gate
 * counts its blast radius from the diff as verify_zone() does. */
static void t_ixfr_shared(void **st)
{
	(void)st;
	const char *base_t[] = { SOA(1), "a.example. A 192.0.2.1", "b.example. A 192.0.2.2",
	                         "c.example. TXT \"x\"", "example. NS ns.example.",
	                         "ns.example. A 192.0.2.53", NULL };
	const char *del1[] = { SOA(1), "b.example. A 192.0.2.2", "c.example. TXT \"x\"", NULL };
	const char *add1[] = { SOA(2), "b.example. A 192.0.2.3", "d.example. A 192.0.2.4",
	                       "a.example. 60 A 192.0.2.1", NULL };
	const char *del2[] = { SOA(2), "d.example. A 192.0.2.4", NULL };
	const char *add2[] = { SOA(3), "e.example. A 192.0.2.5", NULL };
	struct xfr_diff d[2] = {
		{ 1, 2, rrs(del1), rrs(add1) },
		{ 2, 3, rrs(del2), rrs(add2) },
	};
	char err[256];
	for (size_t steps = 1; steps <= 2; steps++) {
		ldns_rr_list *base = rrs(base_t), *deep = NULL, *sh = NULL;
		assert_int_equal(rrsort_list(base), 0);
		struct xfr_shared own;
		assert_int_equal(xfr_ixfr_apply(base, d, steps, &deep, err, sizeof(err)), 0);
		assert_int_equal(xfr_ixfr_apply_shared(base, d, steps, &sh, &own, err, sizeof(err)), 0);
		size_t n = ldns_rr_list_rr_count(deep);
		assert_int_equal(ldns_rr_list_rr_count(sh), n);
		for (size_t i = 0; i < n; i++) {
			ldns_rr *x = ldns_rr_list_rr(deep, i), *y = ldns_rr_list_rr(sh, i);
			assert_int_equal(ldns_rr_compare(x, y), 0);
			assert_int_equal(ldns_rr_ttl(x), ldns_rr_ttl(y));
		}
		/* fresh: the new SOA and the added RRs alive at the end; gone:
		 * the old SOA and the base's RRs deleted or replaced */
		assert_int_equal(ldns_rr_list_rr_count(own.fresh), steps == 1 ? 4 : 4);
		assert_int_equal(ldns_rr_list_rr_count(own.gone), steps == 1 ? 4 : 4);
		assert_true(rrsort_list_is_sorted(sh, 1));

		/* the gate from the diff decides as the full one */
		struct verify_report r1, r2;
		assert_int_equal(verify_zone(sh, base, NULL, 0, &r1), 0);
		assert_int_equal(verify_zone_diff(sh, base, d, steps, NULL, 0, &r2), 0);
		assert_int_equal(r1.result, VERIFY_OK);
		assert_int_equal(r2.result, r1.result);
		assert_int_equal(r2.rrs_removed, r1.rrs_removed);
		assert_int_equal(r2.rrs_added, r1.rrs_added);
		assert_int_equal(r2.rrs_removed, steps == 1 ? 2 : 2);

		if (steps == 1) {
			xfr_shared_drop(sh, &own);     /* base untouched */
			assert_int_equal(ldns_rr_list_rr_count(base), 6);
			ldns_rr_list_deep_free(base);
		} else {
			xfr_shared_keep(base, &own);   /* sh owns every RR now */
			ldns_rr_list_deep_free(sh);
		}
		ldns_rr_list_deep_free(deep);
	}
	for (int i = 0; i < 2; i++) {
		ldns_rr_list_deep_free(d[i].del);
		ldns_rr_list_deep_free(d[i].add);
	}
}

/* An SOA answer: question, one answer RR (compressed owner), then the
 * additional section given. */
static size_t answer_with(uint8_t *m, const uint8_t *add, size_t addlen, uint16_t arcount)
{
	static const uint8_t head[] = {
		0x12, 0x34, 0x84, 0x00, 0, 1, 0, 1, 0, 0, 0, 0,
		7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, 6, 0, 1,
		0xc0, 12, 0, 6, 0, 1, 0, 0, 0x0e, 0x10, 0, 22,
		0, 0, 0, 0, 0, 5, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4,
	};
	memcpy(m, head, sizeof(head));
	m[11] = (uint8_t)arcount;
	if (addlen > 0)
		memcpy(m + sizeof(head), add, addlen);
	return sizeof(head) + addlen;
}

static void t_opt_parse(void **st)
{
	(void)st;
	uint8_t m[512];
	struct xfr_opt o;
	/* no OPT */
	size_t n = answer_with(m, NULL, 0, 0);
	assert_int_equal(xfr_opt_parse(m, n, &o), 0);
	assert_false(o.present);
	/* OPT with a cookie, then EXPIRE 1209600 (0x00127500) */
	static const uint8_t ok[] = {
		0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 20,
		0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8,
		0, 9, 0, 4, 0x00, 0x12, 0x75, 0x00,
	};
	n = answer_with(m, ok, sizeof(ok), 1);
	assert_int_equal(xfr_opt_parse(m, n, &o), 0);
	assert_true(o.present && o.has_expire);
	assert_int_equal(o.expire, 1209600);
	assert_int_equal(o.udp_size, 1232);
	assert_int_equal(o.ext_rcode, 0);
	/* after another additional RR (an A glue), BADVERS, no option */
	static const uint8_t badvers[] = {
		0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1,
		0, 0, 41, 0x02, 0x00, 1, 0, 0, 0, 0, 0,
	};
	n = answer_with(m, badvers, sizeof(badvers), 2);
	assert_int_equal(xfr_opt_parse(m, n, &o), 0);
	assert_true(o.present && !o.has_expire);
	assert_int_equal(o.ext_rcode, 1);
	/* EXPIRE of another length than 4: ignored */
	static const uint8_t short_[] = {
		0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 6,
		0, 9, 0, 2, 0xff, 0xff,
	};
	n = answer_with(m, short_, sizeof(short_), 1);
	assert_int_equal(xfr_opt_parse(m, n, &o), 0);
	assert_true(o.present && !o.has_expire);
	/* option past the RDATA, RDATA past the message, owner not root,
	 * ARCOUNT larger than the RRs there */
	uint8_t bad[sizeof(ok)];
	memcpy(bad, ok, sizeof(ok));
	bad[sizeof(ok) - 5] = 5;
	n = answer_with(m, bad, sizeof(bad), 1);
	assert_int_equal(xfr_opt_parse(m, n, &o), -1);
	n = answer_with(m, ok, sizeof(ok), 1);
	assert_int_equal(xfr_opt_parse(m, n - 1, &o), -1);
	static const uint8_t owner[] = { 0xc0, 12, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0 };
	n = answer_with(m, owner, sizeof(owner), 1);
	assert_int_equal(xfr_opt_parse(m, n, &o), -1);
	n = answer_with(m, ok, sizeof(ok), 2);
	assert_int_equal(xfr_opt_parse(m, n, &o), 0);   /* the OPT comes first */
	n = answer_with(m, NULL, 0, 1);
	assert_int_equal(xfr_opt_parse(m, n, &o), -1);
	assert_int_equal(xfr_opt_parse(m, 5, &o), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_tsig_roundtrip),
		cmocka_unit_test(t_tsig_bad_keys),
		cmocka_unit_test(t_ixfr_apply),
		cmocka_unit_test(t_ixfr_shared),
		cmocka_unit_test(t_opt_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
