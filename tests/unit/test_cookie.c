/* test_cookie.c: RFC 9018 server cookies: the RFC's Appendix A test
 * vectors, the previous secret, the time window, version, address. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "cookie.h"
#include "error.h"

static void unhex(const char *s, uint8_t *out, size_t n)
{
	assert_int_equal(strlen(s), 2 * n);
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

/* An address's octets: 4 or 16. */
static size_t addr(const char *s, uint8_t *out)
{
	if (inet_pton(AF_INET, s, out) == 1)
		return 4;
	assert_int_equal(inet_pton(AF_INET6, s, out), 1);
	return 16;
}

static const char *const SECRET_A = "e5e973e5a6b2a43f48e7dc849e37bfcf";
static const char *const SECRET_OLD = "dd3bdf9344b678b185a6f5cb60fca715";
static const char *const SECRET_NEW = "445536bcd2513298075a5d379663c962";

/* RFC 9018 Appendix A: each response's server cookie. */
static void test_rfc9018_vectors(void **state)
{
	(void)state;
	static const struct {
		const char *secret, *cc, *ip;
		uint32_t now;
		const char *want;
	} v[] = {
		/* A.1 learning a new server cookie */
		{ "e5e973e5a6b2a43f48e7dc849e37bfcf", "2464c4abcf10c957", "198.51.100.100",
		  1559731985, "010000005cf79f111f8130c3eee29480" },
		/* A.2 the same client learning a renewed server cookie */
		{ "e5e973e5a6b2a43f48e7dc849e37bfcf", "2464c4abcf10c957", "198.51.100.100",
		  1559734385, "010000005cf7a871d4a564a1442aca77" },
		/* A.3 another client learning a renewed server cookie */
		{ "e5e973e5a6b2a43f48e7dc849e37bfcf", "fc93fc62807ddb86", "203.0.113.203",
		  1559734700, "010000005cf7a9acf73a7810aca2381e" },
		/* A.4 IPv6 query with a rolled-over secret */
		{ "445536bcd2513298075a5d379663c962", "22681ab97d52c298",
		  "2001:db8:220:1:59de:d0f4:8769:82b8", 1559741961,
		  "010000005cf7c609a6bb79d16625507a" },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t secret[16], cc[8], ip[16], want[16], got[16];
		unhex(v[i].secret, secret, 16);
		unhex(v[i].cc, cc, 8);
		unhex(v[i].want, want, 16);
		size_t iplen = addr(v[i].ip, ip);
		eng_cookie_make(secret, cc, ip, iplen, v[i].now, got);
		assert_memory_equal(got, want, 16);
		/* and it checks, at once and a minute later */
		struct eng_cookie_conf conf = { .has_prev = false };
		memcpy(conf.secret, secret, 16);
		assert_true(eng_cookie_check(&conf, cc, got, 16, ip, iplen, v[i].now));
		assert_true(eng_cookie_check(&conf, cc, got, 16, ip, iplen, v[i].now + 60));
	}
}

/* The cookies the RFC's queries bring back. */
static void test_rfc9018_queries(void **state)
{
	(void)state;
	struct eng_cookie_conf conf = { .has_prev = false };
	uint8_t cc[8], sc[16], ip[16];
	size_t iplen;

	/* A.2: the A.1 cookie, 40 minutes on: valid */
	unhex(SECRET_A, conf.secret, 16);
	unhex("2464c4abcf10c957", cc, 8);
	unhex("010000005cf79f111f8130c3eee29480", sc, 16);
	iplen = addr("198.51.100.100", ip);
	assert_true(eng_cookie_check(&conf, cc, sc, 16, ip, iplen, 1559734385));

	/* A.3: reserved octets set by the client are hashed as received; the
	 * cookie is 1h52m old at the query, so stale then, good when made */
	unhex("fc93fc62807ddb86", cc, 8);
	unhex("01abcdef5cf78f71a314227b6679ebf5", sc, 16);
	iplen = addr("203.0.113.203", ip);
	assert_false(eng_cookie_check(&conf, cc, sc, 16, ip, iplen, 1559734700));
	assert_true(eng_cookie_check(&conf, cc, sc, 16, ip, iplen, 0x5cf78f71));
	sc[1] = 0;   /* reserved octets changed: no longer ours */
	assert_false(eng_cookie_check(&conf, cc, sc, 16, ip, iplen, 0x5cf78f71));

	/* A.4: made with the old secret, checked after the roll-over: good
	 * only while the old secret is still accepted */
	unhex(SECRET_NEW, conf.secret, 16);
	unhex("22681ab97d52c298", cc, 8);
	unhex("010000005cf7c57926556bd0934c72f8", sc, 16);
	iplen = addr("2001:db8:220:1:59de:d0f4:8769:82b8", ip);
	assert_false(eng_cookie_check(&conf, cc, sc, 16, ip, iplen, 1559741961));
	unhex(SECRET_OLD, conf.prev, 16);
	conf.has_prev = true;
	assert_true(eng_cookie_check(&conf, cc, sc, 16, ip, iplen, 1559741961));
	/* a third secret as the previous one: no */
	unhex(SECRET_A, conf.prev, 16);
	assert_false(eng_cookie_check(&conf, cc, sc, 16, ip, iplen, 1559741961));
}

/* The window: an hour back, five minutes ahead, across the 2106 wrap. */
static void test_time_window(void **state)
{
	(void)state;
	struct eng_cookie_conf conf = { .has_prev = false };
	unhex(SECRET_A, conf.secret, 16);
	uint8_t cc[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, ip[4] = { 192, 0, 2, 1 }, sc[16];
	static const uint32_t made[] = { 1559731985, 0xfffffe00u, 100 };
	for (size_t i = 0; i < sizeof(made) / sizeof(made[0]); i++) {
		uint32_t t = made[i];
		eng_cookie_make(conf.secret, cc, ip, 4, t, sc);
		assert_true(eng_cookie_check(&conf, cc, sc, 16, ip, 4, t));
		assert_true(eng_cookie_check(&conf, cc, sc, 16, ip, 4, t + COOKIE_LIFETIME));
		assert_false(eng_cookie_check(&conf, cc, sc, 16, ip, 4, t + COOKIE_LIFETIME + 1));
		assert_true(eng_cookie_check(&conf, cc, sc, 16, ip, 4, t - COOKIE_SKEW));
		assert_false(eng_cookie_check(&conf, cc, sc, 16, ip, 4, t - COOKIE_SKEW - 1));
		assert_false(eng_cookie_check(&conf, cc, sc, 16, ip, 4, t + 0x80000000u));
	}
}

/* Version, address, client cookie, length, secret: each one is bound. */
static void test_bound_fields(void **state)
{
	(void)state;
	struct eng_cookie_conf conf = { .has_prev = false };
	unhex(SECRET_A, conf.secret, 16);
	uint8_t cc[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, ip[16], sc[16], x[40];
	uint32_t now = 1700000000;
	size_t iplen = addr("2001:db8::53", ip);
	eng_cookie_make(conf.secret, cc, ip, iplen, now, sc);
	assert_true(eng_cookie_check(&conf, cc, sc, 16, ip, iplen, now));
	/* wrong version */
	memcpy(x, sc, 16);
	x[0] = 2;
	assert_false(eng_cookie_check(&conf, cc, x, 16, ip, iplen, now));
	x[0] = 0;
	assert_false(eng_cookie_check(&conf, cc, x, 16, ip, iplen, now));
	/* a changed hash octet, timestamp octet */
	memcpy(x, sc, 16);
	x[15] ^= 1;
	assert_false(eng_cookie_check(&conf, cc, x, 16, ip, iplen, now));
	memcpy(x, sc, 16);
	x[7] ^= 1;
	assert_false(eng_cookie_check(&conf, cc, x, 16, ip, iplen, now));
	/* another address, the same address as IPv4 octets */
	uint8_t ip2[16];
	memcpy(ip2, ip, 16);
	ip2[15] ^= 1;
	assert_false(eng_cookie_check(&conf, cc, sc, 16, ip2, iplen, now));
	assert_false(eng_cookie_check(&conf, cc, sc, 16, ip + 12, 4, now));
	/* another client cookie */
	uint8_t cc2[8] = { 1, 2, 3, 4, 5, 6, 7, 9 };
	assert_false(eng_cookie_check(&conf, cc2, sc, 16, ip, iplen, now));
	/* not 16 octets: not one of ours */
	memcpy(x, sc, 16);
	memset(x + 16, 0, 16);
	assert_false(eng_cookie_check(&conf, cc, x, 8, ip, iplen, now));
	assert_false(eng_cookie_check(&conf, cc, x, 24, ip, iplen, now));
	assert_false(eng_cookie_check(&conf, cc, x, 32, ip, iplen, now));
	/* another secret */
	conf.secret[0] ^= 1;
	assert_false(eng_cookie_check(&conf, cc, sc, 16, ip, iplen, now));
	/* ...unless it is the previous one */
	memcpy(conf.prev, conf.secret, 16);
	conf.prev[0] ^= 1;
	conf.has_prev = true;
	assert_true(eng_cookie_check(&conf, cc, sc, 16, ip, iplen, now));
	/* made always with the current secret */
	uint8_t fresh[16];
	eng_cookie_make(conf.secret, cc, ip, iplen, now, fresh);
	assert_memory_not_equal(fresh, sc, 16);
}

static void test_parse_secret(void **state)
{
	(void)state;
	uint8_t s[16], want[16];
	unhex(SECRET_A, want, 16);
	assert_int_equal(eng_cookie_parse_secret(SECRET_A, s), ED_OK);
	assert_memory_equal(s, want, 16);
	assert_int_equal(eng_cookie_parse_secret("E5E973E5A6B2A43F48E7DC849E37BFCF", s), ED_OK);
	assert_memory_equal(s, want, 16);
	memset(s, 0xaa, 16);
	assert_int_equal(eng_cookie_parse_secret("", s), ED_EINVAL);
	assert_int_equal(eng_cookie_parse_secret("e5e973e5a6b2a43f48e7dc849e37bfc", s), ED_EINVAL);
	assert_int_equal(eng_cookie_parse_secret("e5e973e5a6b2a43f48e7dc849e37bfcf0", s), ED_EINVAL);
	assert_int_equal(eng_cookie_parse_secret("g5e973e5a6b2a43f48e7dc849e37bfcf", s), ED_EINVAL);
	assert_int_equal(eng_cookie_parse_secret("e5e973e5a6b2a43f48e7dc849e37bfc ", s), ED_EINVAL);
	for (unsigned i = 0; i < 16; i++)
		assert_int_equal(s[i], 0xaa);   /* untouched on error */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc9018_vectors),
		cmocka_unit_test(test_rfc9018_queries),
		cmocka_unit_test(test_time_window),
		cmocka_unit_test(test_bound_fields),
		cmocka_unit_test(test_parse_secret),
	};
	return cmocka_run_group_tests_name("cookie", tests, NULL, NULL);
}
