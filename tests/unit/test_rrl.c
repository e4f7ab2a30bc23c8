/* test_rrl.c: response rate limiting, one rule per test.
 *
 * Time is simulated through rrl_check()'s now_ms, so every count is exact.
 * Slipped answers are built by hand and parsed back with ldns.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <ldns/ldns.h>
#include <sys/socket.h>

#include "error.h"
#include "rrl.h"

/* ---- helpers ------------------------------------------------------------ */

#define SEED 0x5eed5eed12345678ULL

struct addr {
	int family;
	uint8_t a[16];
};

static struct addr ip(const char *s)
{
	struct addr x;
	memset(&x, 0, sizeof(x));
	if (inet_pton(AF_INET, s, x.a) == 1)
		x.family = AF_INET;
	else if (inet_pton(AF_INET6, s, x.a) == 1)
		x.family = AF_INET6;
	else
		fail_msg("bad test address %s", s);
	return x;
}

static struct rrl_table *table(uint32_t rate, uint32_t burst, uint32_t slip)
{
	struct rrl_conf c;
	rrl_conf_defaults(&c);
	c.rate = rate;
	c.burst = burst;
	c.slip = slip;
	struct rrl_table *t = rrl_new(&c, SEED);
	assert_non_null(t);
	return t;
}

static enum rrl_verdict check(struct rrl_table *t, const char *s, uint64_t now)
{
	struct addr x = ip(s);
	return rrl_check(t, x.family, x.a, now);
}

/* Responses to s at now, n times; how many passed. */
static unsigned passes(struct rrl_table *t, const char *s, uint64_t now, unsigned n)
{
	unsigned p = 0;
	for (unsigned i = 0; i < n; i++)
		p += check(t, s, now) == RRL_PASS;
	return p;
}

/* ---- configuration ------------------------------------------------------ */

static void test_conf(void **state)
{
	(void)state;
	struct rrl_conf c;
	rrl_conf_defaults(&c);
	assert_int_equal(c.rate, RRL_RATE_DEFAULT);
	assert_int_equal(c.rate, 200);
	assert_int_equal(c.burst, 0);
	assert_int_equal(c.slip, RRL_SLIP_DEFAULT);
	assert_int_equal(c.v4_prefix, 24);
	assert_int_equal(c.v6_prefix, 56);
	assert_int_equal(c.table_size, 65536);
	char err[128];
	assert_int_equal(rrl_conf_check(&c, err, sizeof(err)), ED_OK);

	struct rrl_conf bad[6];
	for (int i = 0; i < 6; i++)
		bad[i] = c;
	bad[0].rate = RRL_RATE_MAX + 1;
	bad[1].burst = RRL_RATE_MAX + 1;
	bad[2].slip = RRL_SLIP_MAX + 1;
	bad[3].v4_prefix = 33;
	bad[4].v6_prefix = 129;
	bad[5].table_size = RRL_TABLE_MAX + 1;
	for (int i = 0; i < 6; i++) {
		err[0] = 0;
		assert_int_equal(rrl_conf_check(&bad[i], err, sizeof(err)), ED_EINVAL);
		assert_non_null(strstr(err, "rrl"));
		assert_null(rrl_new(&bad[i], SEED));
	}

	/* the largest configuration the fixed point allows works */
	struct rrl_conf big = c;
	big.rate = RRL_RATE_MAX;
	big.burst = RRL_RATE_MAX;
	big.table_size = 3;   /* rounded up to 4 */
	struct rrl_table *t = rrl_new(&big, SEED);
	assert_non_null(t);
	assert_int_equal(passes(t, "192.0.2.1", 5, RRL_RATE_MAX), RRL_RATE_MAX);
	assert_int_equal(check(t, "192.0.2.1", 5), RRL_DROP);
	assert_int_equal(check(t, "192.0.2.1", 6), RRL_PASS);
	rrl_free(t);
	rrl_free(NULL);
}

/* burst 0 is the rate; zero prefixes and table size are the defaults */
static void test_conf_zero_means_default(void **state)
{
	(void)state;
	struct rrl_conf c;
	memset(&c, 0, sizeof(c));
	c.rate = 5;
	struct rrl_table *t = rrl_new(&c, SEED);
	assert_non_null(t);
	assert_int_equal(passes(t, "192.0.2.1", 0, 5), 5);
	assert_int_equal(check(t, "192.0.2.200", 0), RRL_DROP);   /* same /24 */
	assert_int_equal(check(t, "192.0.3.1", 0), RRL_PASS);
	assert_int_equal(passes(t, "2001:db8:0:ff00::1", 0, 5), 5);
	assert_int_equal(check(t, "2001:db8:0:ffff::1", 0), RRL_DROP);   /* same /56 */
	rrl_free(t);
}

/* ---- limiting ----------------------------------------------------------- */

/* One response every 10 ms at rate 100/s, for 10 s: all pass. */
static void test_under_rate(void **state)
{
	(void)state;
	struct rrl_table *t = table(100, 0, 2);
	unsigned p = 0;
	for (uint64_t now = 1000; now < 11000; now += 10)
		p += check(t, "192.0.2.1", now) == RRL_PASS;
	assert_int_equal(p, 1000);
	struct rrl_stats st;
	rrl_stats(t, &st);
	assert_int_equal(st.passed, 1000);
	assert_int_equal(st.limited, 0);
	rrl_free(t);
}

/* A flood of one response per ms (1000/s) from one /24 at rate 100, burst
 * 100, for 10 s: the burst, then exactly one every 10 ms. Earned:
 * 100 + 9999 ms x 0.1 = 1099.9 responses, so 1099 pass. */
static void test_flood_limited_to_rate(void **state)
{
	(void)state;
	struct rrl_table *t = table(100, 100, 0);
	char a[32];
	unsigned p = 0, in_6th_s = 0, first_drop = 0;
	for (uint64_t now = 1000; now < 11000; now++) {
		snprintf(a, sizeof(a), "192.0.2.%u", (unsigned)(now % 256));
		enum rrl_verdict v = rrl_check(t, AF_INET, ip(a).a, now);
		assert_true(v == RRL_PASS || v == RRL_DROP);
		p += v == RRL_PASS;
		if (v == RRL_PASS && now >= 6000 && now < 7000)
			in_6th_s++;
		if (v == RRL_DROP && first_drop == 0)
			first_drop = (unsigned)now;
	}
	assert_int_equal(p, 1099);
	assert_int_equal(in_6th_s, 100);
	/* 100 tokens at 1000, 0.9 spent net per ms: the 111th query is dropped */
	assert_int_equal(first_drop, 1111);
	struct rrl_stats st;
	rrl_stats(t, &st);
	assert_int_equal(st.passed, 1099);
	assert_int_equal(st.limited, 10000 - 1099);
	assert_int_equal(st.dropped, 10000 - 1099);
	assert_int_equal(st.slipped, 0);
	rrl_free(t);
}

/* The flood leaves other prefixes alone, the neighbouring /24 too. */
static void test_others_unaffected(void **state)
{
	(void)state;
	struct rrl_table *t = table(100, 100, 0);
	unsigned other = 0, next24 = 0, v6 = 0, n = 0;
	for (uint64_t now = 0; now < 5000; now++) {
		for (int i = 0; i < 10; i++)
			check(t, "192.0.2.66", now);
		if (now % 20 == 0) {   /* 50/s each */
			n++;
			other += check(t, "198.51.100.7", now) == RRL_PASS;
			next24 += check(t, "192.0.3.66", now) == RRL_PASS;
			v6 += check(t, "2001:db8::1", now) == RRL_PASS;
		}
	}
	assert_int_equal(other, n);
	assert_int_equal(next24, n);
	assert_int_equal(v6, n);
	assert_int_equal(check(t, "192.0.2.1", 4999), RRL_DROP);   /* the flooder */
	rrl_free(t);
}

/* Addresses share a bucket exactly when they share the prefix. */
static void test_prefix_buckets(void **state)
{
	(void)state;
	struct rrl_table *t = table(10, 10, 0);
	/* IPv4 /24: 10 between the two, then both limited */
	for (int i = 0; i < 5; i++) {
		assert_int_equal(check(t, "192.0.2.1", 0), RRL_PASS);
		assert_int_equal(check(t, "192.0.2.254", 0), RRL_PASS);
	}
	assert_int_equal(check(t, "192.0.2.1", 0), RRL_DROP);
	assert_int_equal(check(t, "192.0.2.254", 0), RRL_DROP);
	assert_int_equal(check(t, "::ffff:192.0.2.77", 0), RRL_DROP);   /* v4-mapped */
	assert_int_equal(passes(t, "192.0.3.1", 0, 10), 10);
	assert_int_equal(passes(t, "192.0.1.255", 0, 10), 10);

	/* IPv6 /56: 2001:db8:0:ff00::/56 */
	assert_int_equal(passes(t, "2001:db8:0:ff00::1", 0, 6), 6);
	assert_int_equal(passes(t, "2001:db8:0:ffff:ffff::9", 0, 6), 4);
	assert_int_equal(check(t, "2001:db8:0:ff12::", 0), RRL_DROP);
	assert_int_equal(passes(t, "2001:db8:0:fe00::1", 0, 10), 10);
	assert_int_equal(passes(t, "2001:db8:1:ff00::1", 0, 10), 10);

	/* IPv4 and IPv6 keys with the same octets stay apart */
	assert_int_equal(passes(t, "1.2.3.4", 0, 11), 10);
	assert_int_equal(passes(t, "102:300::", 0, 11), 10);
	rrl_free(t);

	/* other prefix lengths */
	struct rrl_conf c;
	rrl_conf_defaults(&c);
	c.rate = 1;
	c.v4_prefix = 32;
	c.v6_prefix = 128;
	t = rrl_new(&c, SEED);
	assert_non_null(t);
	assert_int_equal(check(t, "192.0.2.1", 0), RRL_PASS);
	assert_int_equal(check(t, "192.0.2.2", 0), RRL_PASS);
	assert_int_equal(check(t, "192.0.2.1", 0), RRL_DROP);
	assert_int_equal(check(t, "2001:db8::1", 0), RRL_PASS);
	assert_int_equal(check(t, "2001:db8::2", 0), RRL_PASS);
	rrl_free(t);
	c.v4_prefix = 8;
	c.v6_prefix = 20;   /* not on an octet boundary */
	t = rrl_new(&c, SEED);
	assert_non_null(t);
	assert_int_equal(check(t, "10.1.2.3", 0), RRL_PASS);
	assert_int_equal(check(t, "10.200.0.1", 0), RRL_DROP);
	assert_int_equal(check(t, "2001:0fff::", 0), RRL_PASS);
	assert_int_equal(check(t, "2001:0000:ffff::", 0), RRL_DROP);   /* same /20 */
	assert_int_equal(check(t, "2001:1000::", 0), RRL_PASS);       /* next /20 */
	rrl_free(t);
}

/* A table of one set (two buckets): prefixes colliding in it never reset
 * each other's budget; a full (long idle) bucket is taken over. */
static void test_collisions(void **state)
{
	(void)state;
	struct rrl_conf c;
	rrl_conf_defaults(&c);
	c.rate = 10;
	c.slip = 0;
	c.table_size = 2;
	struct rrl_table *t = rrl_new(&c, SEED);
	assert_non_null(t);
	const char *A = "192.0.2.1", *B = "198.51.100.1", *C = "203.0.113.1";
	assert_int_equal(passes(t, A, 0, 11), 10);
	assert_int_equal(passes(t, B, 0, 5), 5);
	/* no room for C: it shares A's (empty) or B's (5 left) bucket, the
	 * same one each time, without owning it */
	unsigned cp = passes(t, C, 0, 11);
	assert_true(cp == 0 || cp == 5);
	assert_int_equal(check(t, A, 0), RRL_DROP);
	assert_int_equal(passes(t, B, 0, 5), 5 - cp);
	/* 500 ms later nothing is full: still no fresh burst for anyone */
	assert_int_equal(passes(t, C, 500, 11), 5);
	assert_int_equal(passes(t, cp ? A : B, 500, 11), 5);
	assert_int_equal(passes(t, cp ? B : A, 500, 11), 0);
	/* 1 s after that both are full: C takes one over and has its own burst */
	assert_int_equal(passes(t, C, 1500, 11), 10);
	/* and whichever of A and B was left keeps its own */
	unsigned a = passes(t, A, 1500, 11), b = passes(t, B, 1500, 11);
	assert_true((a == 10 && b == 0) || (a == 0 && b == 10));
	rrl_free(t);
}

/* Three prefixes flooding in turn through a set of two buckets get at
 * most those two buckets' worth, not a fresh burst at every turn. */
static void test_collisions_no_fresh_burst(void **state)
{
	(void)state;
	struct rrl_conf c;
	rrl_conf_defaults(&c);
	c.rate = 10;
	c.slip = 0;
	c.table_size = 2;
	struct rrl_table *t = rrl_new(&c, SEED);
	assert_non_null(t);
	const char *p[3] = { "192.0.2.1", "198.51.100.1", "203.0.113.1" };
	unsigned n = 0;
	for (uint64_t now = 0; now < 10000; now++)
		for (int i = 0; i < 3; i++)
			n += check(t, p[(now + (uint64_t)i) % 3], now) == RRL_PASS;
	/* two buckets, each: burst 10 + 10 s x 10/s */
	assert_true(n <= 2 * (10 + 100));
	assert_true(n >= 10 + 100);
	rrl_free(t);
}

/* ---- slip --------------------------------------------------------------- */

static void slip_pattern(uint32_t slip, const enum rrl_verdict *want, unsigned n)
{
	struct rrl_table *t = table(1, 1, slip);
	assert_int_equal(check(t, "192.0.2.1", 0), RRL_PASS);
	unsigned ns = 0, nd = 0;
	for (unsigned i = 0; i < 3 * n; i++) {
		enum rrl_verdict v = check(t, "192.0.2.1", 0);
		assert_int_equal(v, want[i % n]);
		ns += v == RRL_SLIP;
		nd += v == RRL_DROP;
	}
	struct rrl_stats st;
	rrl_stats(t, &st);
	assert_int_equal(st.passed, 1);
	assert_int_equal(st.limited, 3 * n);
	assert_int_equal(st.slipped, ns);
	assert_int_equal(st.dropped, nd);
	rrl_free(t);
}

static void test_slip(void **state)
{
	(void)state;
	const enum rrl_verdict s0[] = { RRL_DROP };
	const enum rrl_verdict s1[] = { RRL_SLIP };
	const enum rrl_verdict s2[] = { RRL_DROP, RRL_SLIP };
	const enum rrl_verdict s3[] = { RRL_DROP, RRL_DROP, RRL_SLIP };
	slip_pattern(0, s0, 1);
	slip_pattern(1, s1, 1);
	slip_pattern(2, s2, 2);
	slip_pattern(3, s3, 3);
	enum rrl_verdict s255[255];
	for (int i = 0; i < 254; i++)
		s255[i] = RRL_DROP;
	s255[254] = RRL_SLIP;
	slip_pattern(255, s255, 255);
}

/* The slip counter is per bucket: one prefix's drops do not bring another
 * prefix's slip nearer. */
static void test_slip_per_bucket(void **state)
{
	(void)state;
	struct rrl_table *t = table(1, 1, 2);
	assert_int_equal(check(t, "192.0.2.1", 0), RRL_PASS);
	assert_int_equal(check(t, "198.51.100.1", 0), RRL_PASS);
	assert_int_equal(check(t, "192.0.2.1", 0), RRL_DROP);
	assert_int_equal(check(t, "198.51.100.1", 0), RRL_DROP);
	assert_int_equal(check(t, "192.0.2.1", 0), RRL_SLIP);
	assert_int_equal(check(t, "198.51.100.1", 0), RRL_SLIP);
	rrl_free(t);
}

/* ---- time --------------------------------------------------------------- */

static void test_rate_zero_off(void **state)
{
	(void)state;
	struct rrl_table *t = table(0, 0, 2);
	for (unsigned i = 0; i < 100000; i++)
		assert_int_equal(check(t, i & 1 ? "192.0.2.1" : "2001:db8::1", 7), RRL_PASS);
	rrl_prefetch(t, AF_INET, ip("192.0.2.1").a);
	struct rrl_stats st;
	rrl_stats(t, &st);
	assert_int_equal(st.passed, 100000);
	assert_int_equal(st.limited, 0);
	rrl_free(t);
}

static void test_refill_after_pause(void **state)
{
	(void)state;
	struct rrl_table *t = table(10, 10, 0);
	assert_int_equal(passes(t, "192.0.2.1", 1000, 20), 10);
	/* a token every 100 ms, halves kept */
	assert_int_equal(check(t, "192.0.2.1", 1050), RRL_DROP);
	assert_int_equal(check(t, "192.0.2.1", 1099), RRL_DROP);
	assert_int_equal(check(t, "192.0.2.1", 1100), RRL_PASS);
	assert_int_equal(check(t, "192.0.2.1", 1100), RRL_DROP);
	assert_int_equal(passes(t, "192.0.2.1", 1350, 5), 2);
	/* a long pause fills the bucket, never over the burst */
	assert_int_equal(passes(t, "192.0.2.1", 60000, 20), 10);
	assert_int_equal(passes(t, "192.0.2.1", UINT64_MAX / 2, 20), 10);
	rrl_free(t);

	/* burst above rate: tokens build up to it */
	t = table(10, 30, 0);
	assert_int_equal(passes(t, "192.0.2.1", 0, 40), 30);
	assert_int_equal(passes(t, "192.0.2.1", 1000, 40), 10);
	assert_int_equal(passes(t, "192.0.2.1", 5000, 40), 30);
	rrl_free(t);
}

/* A clock that goes back gives nothing away and breaks nothing. */
static void test_clock_backwards(void **state)
{
	(void)state;
	struct rrl_table *t = table(10, 10, 0);
	assert_int_equal(passes(t, "192.0.2.1", 10000, 20), 10);
	assert_int_equal(passes(t, "192.0.2.1", 5000, 20), 0);
	assert_int_equal(passes(t, "192.0.2.1", 0, 20), 0);
	/* back where it was: the time between counts once, not again */
	assert_int_equal(passes(t, "192.0.2.1", 10000, 20), 0);
	assert_int_equal(passes(t, "192.0.2.1", 10099, 20), 0);
	assert_int_equal(passes(t, "192.0.2.1", 10100, 20), 1);
	/* extremes */
	assert_int_equal(passes(t, "192.0.2.1", UINT64_MAX, 20), 10);
	assert_int_equal(passes(t, "192.0.2.1", 3, 20), 0);
	assert_int_equal(passes(t, "192.0.2.1", UINT64_MAX, 20), 0);
	/* a new prefix while the clock is behind starts with its burst */
	assert_int_equal(passes(t, "198.51.100.1", 3, 20), 10);
	rrl_free(t);
}

/* rrl_prefetch then rrl_check over a burst: the same verdicts. */
static void test_prefetch_burst(void **state)
{
	(void)state;
	struct rrl_table *t = table(10, 10, 2), *u = table(10, 10, 2);
	struct addr a[32];
	char s[32];
	for (int i = 0; i < 32; i++) {
		snprintf(s, sizeof(s), "192.0.%d.1", i % 4);
		a[i] = ip(s);
	}
	for (uint64_t now = 0; now < 300; now += 10) {
		for (int i = 0; i < 32; i++)
			rrl_prefetch(t, a[i].family, a[i].a);
		for (int i = 0; i < 32; i++)
			assert_int_equal(rrl_check(t, a[i].family, a[i].a, now),
			                 rrl_check(u, a[i].family, a[i].a, now));
	}
	/* another family passes */
	assert_int_equal(rrl_check(t, AF_UNIX, a[0].a, 0), RRL_PASS);
	rrl_prefetch(t, AF_UNIX, a[0].a);
	rrl_free(t);
	rrl_free(u);
}

/* ---- truncated answers -------------------------------------------------- */

/* A response as the engine writes it: example.com. A with two answers,
 * an NS in authority, glue and an OPT (payload 1232, DO, NSID) in
 * additional. */
static size_t mkresp(uint8_t *w, int with_opt)
{
	static const uint8_t hdr[12] = { 0xbe, 0xef, 0x85, 0x00, 0, 1, 0, 2, 0, 1, 0, 2 };
	static const uint8_t q[] = { 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
	                             0, 1, 0, 1 };
	static const uint8_t a1[] = { 0xc0, 12, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 192, 0, 2, 1 };
	static const uint8_t a2[] = { 0xc0, 12, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 192, 0, 2, 2 };
	static const uint8_t ns[] = { 0xc0, 12, 0, 2, 0, 1, 0, 0, 0x0e, 0x10, 0, 6,
	                              3, 'n', 's', '1', 0xc0, 12 };
	/* glue: owner ns1.example.com. by pointer to the NS rdata */
	static const uint8_t glue[] = { 0xc0, 0, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4,
	                                192, 0, 2, 53 };
	static const uint8_t opt[] = { 0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 8,
	                               0, 3, 0, 4, 'e', 'd', 'g', 'e' };
	memcpy(w, hdr, 12);
	memcpy(w + 12, q, sizeof(q));
	size_t p = 12 + sizeof(q);
	memcpy(w + p, a1, sizeof(a1));
	p += sizeof(a1);
	memcpy(w + p, a2, sizeof(a2));
	p += sizeof(a2);
	size_t nsp = p;
	memcpy(w + p, ns, sizeof(ns));
	p += sizeof(ns);
	memcpy(w + p, glue, sizeof(glue));
	w[p + 1] = (uint8_t)(nsp + 12);   /* the NS rdata */
	p += sizeof(glue);
	if (with_opt) {
		memcpy(w + p, opt, sizeof(opt));
		p += sizeof(opt);
	} else {
		w[11] = 1;
	}
	return p;
}

static ldns_pkt *parse(const uint8_t *w, size_t n)
{
	ldns_pkt *p = NULL;
	ldns_status st = ldns_wire2pkt(&p, w, n);
	if (st != LDNS_STATUS_OK)
		fail_msg("does not parse: %s", ldns_get_errorstr_by_id(st));
	return p;
}

static void test_truncate_response(void **state)
{
	(void)state;
	uint8_t w[512];
	size_t n = mkresp(w, 1);
	/* the input is a good message */
	ldns_pkt *p = parse(w, n);
	assert_int_equal(ldns_pkt_ancount(p), 2);
	assert_int_equal(ldns_pkt_nscount(p), 1);
	assert_int_equal(ldns_pkt_arcount(p), 1);   /* ldns takes the OPT out */
	assert_true(ldns_pkt_edns_do(p));
	ldns_pkt_free(p);

	size_t m = rrl_truncate(w, n);
	assert_int_equal(m, 12 + 17 + 11);
	p = parse(w, m);
	assert_int_equal(ldns_pkt_id(p), 0xbeef);
	assert_true(ldns_pkt_qr(p));
	assert_true(ldns_pkt_aa(p));
	assert_true(ldns_pkt_tc(p));
	assert_true(ldns_pkt_rd(p));
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_qdcount(p), 1);
	assert_int_equal(ldns_pkt_ancount(p), 0);
	assert_int_equal(ldns_pkt_nscount(p), 0);
	assert_int_equal(ldns_pkt_arcount(p), 0);
	ldns_rr *qr = ldns_rr_list_rr(ldns_pkt_question(p), 0);
	char *name = ldns_rdf2str(ldns_rr_owner(qr));
	assert_string_equal(name, "example.com.");
	free(name);
	assert_int_equal(ldns_rr_get_type(qr), LDNS_RR_TYPE_A);
	/* the OPT stays, its options go */
	assert_true(ldns_pkt_edns(p));
	assert_int_equal(ldns_pkt_edns_udp_size(p), 1232);
	assert_true(ldns_pkt_edns_do(p));
	assert_true(ldns_pkt_edns_data(p) == NULL ||
	            ldns_rdf_size(ldns_pkt_edns_data(p)) == 0);
	ldns_pkt_free(p);
	/* again on its own output: the same */
	assert_int_equal(rrl_truncate(w, m), m);
}

static void test_truncate_no_opt(void **state)
{
	(void)state;
	uint8_t w[512];
	size_t n = mkresp(w, 0);
	w[3] = 0x03;   /* NXDOMAIN: the rcode is kept */
	size_t m = rrl_truncate(w, n);
	assert_int_equal(m, 12 + 17);
	ldns_pkt *p = parse(w, m);
	assert_true(ldns_pkt_tc(p));
	assert_false(ldns_pkt_edns(p));
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	assert_int_equal(ldns_pkt_qdcount(p), 1);
	assert_int_equal(ldns_pkt_ancount(p) + ldns_pkt_nscount(p) + ldns_pkt_arcount(p), 0);
	ldns_pkt_free(p);

	/* no question (a FORMERR answer), just an OPT with extended rcode */
	static const uint8_t fe[] = { 0x12, 0x34, 0x80, 0x01, 0, 0, 0, 0, 0, 0, 0, 1,
	                              0, 0, 41, 0x04, 0xd0, 1, 0, 0, 0, 0, 0 };
	memcpy(w, fe, sizeof(fe));
	m = rrl_truncate(w, sizeof(fe));
	assert_int_equal(m, 23);
	p = parse(w, m);
	assert_true(ldns_pkt_tc(p));
	assert_int_equal(ldns_pkt_qdcount(p), 0);
	assert_int_equal(ldns_pkt_edns_extended_rcode(p), 1);
	ldns_pkt_free(p);
}

/* Every shorter cut of a good response, and malformed ones: 0, and no
 * octet outside the buffer read (an exact-size heap copy, for ASan). */
static size_t trunc_copy(const uint8_t *w, size_t n)
{
	uint8_t *c = malloc(n ? n : 1);
	assert_non_null(c);
	memcpy(c, w, n);
	size_t m = rrl_truncate(c, n);
	if (m != 0) {
		assert_true(m <= n);
		assert_true(c[2] & 0x02);
		ldns_pkt *p = parse(c, m);
		assert_int_equal(ldns_pkt_ancount(p) + ldns_pkt_nscount(p), 0);
		ldns_pkt_free(p);
	}
	free(c);
	return m;
}

static void test_truncate_garbage(void **state)
{
	(void)state;
	uint8_t w[512];
	size_t n = mkresp(w, 1);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(trunc_copy(w, i), 0);
	assert_int_equal(trunc_copy(w, n), 40);

	uint8_t b[512];
	/* two questions */
	memcpy(b, w, n);
	b[5] = 2;
	assert_int_equal(trunc_copy(b, n), 0);
	/* a pointer in the question */
	memcpy(b, w, n);
	b[12] = 0xc0;
	b[13] = 0;
	assert_int_equal(trunc_copy(b, n), 0);
	/* a reserved label type */
	memcpy(b, w, n);
	b[12] = 0x47;
	assert_int_equal(trunc_copy(b, n), 0);
	/* rdlength past the end */
	memcpy(b, w, n);
	b[12 + 17 + 11] = 0xff;
	assert_int_equal(trunc_copy(b, n), 0);
	/* more records claimed than there are */
	memcpy(b, w, n);
	b[7] = 3;
	assert_int_equal(trunc_copy(b, n), 0);
	/* a record cut inside its fixed part, after a pointer */
	static const uint8_t cut[] = { 0, 0, 0x80, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0xc0, 12, 0, 1 };
	assert_int_equal(trunc_copy(cut, sizeof(cut)), 0);
	/* a name of many labels running to the end */
	memset(b, 1, sizeof(b));
	memset(b, 0, 12);
	b[5] = 1;
	assert_int_equal(trunc_copy(b, sizeof(b)), 0);

	/* random messages with small counts */
	uint64_t x = 0x243f6a8885a308d3ULL;
	unsigned ok = 0;
	for (int round = 0; round < 200000; round++) {
		size_t len = 0;
		for (size_t i = 0; i < sizeof(b); i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			b[i] = (uint8_t)x;
		}
		len = (size_t)(x >> 40) % 80;
		b[4] = 0;
		b[5] &= 1;
		b[6] = b[8] = b[10] = 0;
		b[7] &= 3;
		b[9] &= 1;
		b[11] &= 3;
		if (x & 0x10000) {   /* mostly short labels */
			for (size_t i = 12; i < len; i++)
				b[i] &= 0x07;
		}
		if (trunc_copy(b, len) != 0)
			ok++;
	}
	assert_true(ok > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conf),
		cmocka_unit_test(test_conf_zero_means_default),
		cmocka_unit_test(test_under_rate),
		cmocka_unit_test(test_flood_limited_to_rate),
		cmocka_unit_test(test_others_unaffected),
		cmocka_unit_test(test_prefix_buckets),
		cmocka_unit_test(test_collisions),
		cmocka_unit_test(test_collisions_no_fresh_burst),
		cmocka_unit_test(test_slip),
		cmocka_unit_test(test_slip_per_bucket),
		cmocka_unit_test(test_rate_zero_off),
		cmocka_unit_test(test_refill_after_pause),
		cmocka_unit_test(test_clock_backwards),
		cmocka_unit_test(test_prefetch_burst),
		cmocka_unit_test(test_truncate_response),
		cmocka_unit_test(test_truncate_no_opt),
		cmocka_unit_test(test_truncate_garbage),
	};
	return cmocka_run_group_tests_name("rrl", tests, NULL, NULL);
}
