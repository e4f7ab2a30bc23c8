/* test_engine_cookie.c: DNS Cookies in the answer engine (RFC 7873, RFC
 * 9018): the cookie in our answers, the verdicts, BADCOOKIE over UDP only,
 * FORMERR for bad lengths, cookies off, room kept for the option, the
 * fast path giving the general path's bytes, and a query without a question
 * asking for a server cookie (RFC 7873 5.4). */
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
#include <netinet/in.h>

#include "cookie.h"
#include "dname.h"
#include "engine.h"
#include "snapshot.h"
#include "snapshot_writer.h"
#include "zoneset.h"

#define NOW 1700000000u

static const char *const ZONE[] = {
	"example.com. 3600 IN SOA ns1.example.com. h.example.com. 7 7200 3600 1209600 300",
	"example.com. 3600 IN NS ns1.example.com.",
	"example.com. 3600 IN MX 10 mail.example.com.",
	"ns1.example.com. 3600 IN A 192.0.2.1",
	"mail.example.com. 3600 IN A 192.0.2.2",
	"www.example.com. 3600 IN CNAME mail.example.com.",
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

static void *img;
static struct snap *snap;
static struct zoneset *zs;
static struct eng_cookie_conf ckconf;
static struct eng_conf conf;
static struct sockaddr_in v4;
static struct sockaddr_in6 v6;
static const uint8_t CC[8] = { 0x24, 0x64, 0xc4, 0xab, 0xcf, 0x10, 0xc9, 0x57 };

static int setup(void **state)
{
	(void)state;
	uint8_t apex[256];
	assert_true(dname_from_str("example.com.", apex) > 0);
	struct snapw *w = snapw_new(apex);
	ldns_rdf *orig = ldns_dname_new_frm_str("example.com.");
	for (int i = 0; ZONE[i] != NULL; i++) {
		ldns_rr *rr = NULL;
		assert_int_equal(ldns_rr_new_frm_str(&rr, ZONE[i], 3600, orig, NULL), LDNS_STATUS_OK);
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
	if (snapw_build(w, &img, &len, NULL, err, sizeof(err)) != 0)
		fail_msg("snapw_build: %s", err);
	snapw_free(w);
	if (snap_open_mem(img, len, 0, &snap, err, sizeof(err)) != 0)
		fail_msg("snap_open_mem: %s", err);
	const struct snap *one = snap;
	zs = zs_new(&one, 1, NULL);
	assert_non_null(zs);
	assert_int_equal(eng_cookie_parse_secret("e5e973e5a6b2a43f48e7dc849e37bfcf", ckconf.secret), 0);
	v4.sin_family = AF_INET;
	inet_pton(AF_INET, "198.51.100.100", &v4.sin_addr);
	v6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8:220:1:59de:d0f4:8769:82b8", &v6.sin6_addr);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	zs_free(zs);
	snap_close(snap);
	free(img);
	return 0;
}

/* Before each test: cookies on with the one secret, nothing else. */
static int reset(void **state)
{
	(void)state;
	memset(&conf, 0, sizeof(conf));
	conf.cookie = &ckconf;
	ckconf.has_prev = false;
	return 0;
}

/* ---- queries and answers -------------------------------------------------- */

/* A query for name/type; payload < 0: no OPT, else an OPT with opts. */
static size_t mkq(uint8_t *w, const char *name, uint16_t type, int payload,
                  const uint8_t *opts, size_t optlen)
{
	memset(w, 0, 12);
	w[0] = 0xbe;
	w[1] = 0xef;
	w[5] = 1;
	size_t p = 12 + dname_from_str(name, w + 12);
	w[p++] = (uint8_t)(type >> 8);
	w[p++] = (uint8_t)type;
	w[p++] = 0;
	w[p++] = 1;
	if (payload >= 0) {
		w[11] = 1;
		uint8_t opt[11] = { 0, 0, 41, (uint8_t)(payload >> 8), (uint8_t)payload, 0, 0, 0, 0,
		                    (uint8_t)(optlen >> 8), (uint8_t)optlen };
		memcpy(w + p, opt, 11);
		if (optlen > 0)
			memcpy(w + p + 11, opts, optlen);
		p += 11 + optlen;
	}
	return p;
}

/* A COOKIE option: cc (8 octets) then sclen octets of sc; returns its size. */
static size_t ckopt(uint8_t *o, const uint8_t *cc, const uint8_t *sc, size_t sclen)
{
	o[0] = 0;
	o[1] = 10;
	o[2] = (uint8_t)((8 + sclen) >> 8);
	o[3] = (uint8_t)(8 + sclen);
	memcpy(o + 4, cc, 8);
	if (sclen > 0)
		memcpy(o + 12, sc, sclen);
	return 12 + sclen;
}

static uint8_t resp[65536];
static size_t resp_len;
static uint8_t verdict;

/* Answer q as one burst of one, check eng_answer() gives the same bytes,
 * and parse the answer (NULL when nothing is sent). */
static ldns_pkt *answer(const struct eng_conf *cf, const uint8_t *q, size_t qlen, int tcp,
                        const struct sockaddr *sa, uint32_t now, size_t cap)
{
	struct eng_msg m = { .q = q, .qlen = qlen, .resp = resp, .cap = cap, .client = sa,
	                     .now = now, .cookie = 0xff };
	eng_answer_burst(cf, zs, &m, 1, tcp ? ENG_TCP : ENG_UDP);
	resp_len = m.rlen;
	verdict = m.cookie;
	static uint8_t single[65536];
	struct eng_xport x = { tcp ? ENG_TCP : ENG_UDP, sa, now };
	size_t n = eng_answer(cf, zs, q, qlen, single, cap, &x);
	assert_int_equal(n, resp_len);
	assert_memory_equal(single, resp, n);
	if (resp_len == 0)
		return NULL;
	ldns_pkt *p = NULL;
	if (ldns_wire2pkt(&p, resp, resp_len) != LDNS_STATUS_OK)
		fail_msg("response does not parse");
	return p;
}

/* The COOKIE option of an answer: its length (0: none), its data in out. */
static size_t cookie_of(const ldns_pkt *p, uint8_t *out)
{
	ldns_rdf *d = ldns_pkt_edns_data(p);
	if (d == NULL)
		return 0;
	const uint8_t *o = ldns_rdf_data(d);
	size_t n = ldns_rdf_size(d), found = 0;
	for (size_t i = 0; i + 4 <= n;) {
		size_t len = (size_t)(o[i + 2] << 8 | o[i + 3]);
		assert_true(i + 4 + len <= n);
		if ((o[i] << 8 | o[i + 1]) == 10) {
			assert_int_equal(found, 0);   /* one at most */
			memcpy(out, o + i + 4, len);
			found = len;
		}
		i += 4 + len;
	}
	return found;
}

/* The answer's cookie is our client cookie and a fresh server cookie for
 * this address at now. */
static void assert_fresh_cookie(const ldns_pkt *p, const uint8_t *cc, const uint8_t *ip,
                                size_t iplen, uint32_t now)
{
	uint8_t got[64], want[16];
	assert_int_equal(cookie_of(p, got), 24);
	assert_memory_equal(got, cc, 8);
	eng_cookie_make(ckconf.secret, cc, ip, iplen, now, want);
	assert_memory_equal(got + 8, want, 16);
}

static const uint8_t *ip4(void)
{
	return (const uint8_t *)&v4.sin_addr;
}

/* A query with a client cookie only; the server cookie it gets back. */
static void learn(const struct sockaddr *sa, uint32_t now, uint8_t sc[16])
{
	uint8_t q[512], o[64], got[64];
	size_t n = mkq(q, "mail.example.com.", LDNS_RR_TYPE_A, 1232, o, ckopt(o, CC, NULL, 0));
	ldns_pkt *p = answer(&conf, q, n, 0, sa, now, sizeof(resp));
	assert_int_equal(cookie_of(p, got), 24);
	memcpy(sc, got + 8, 16);
	ldns_pkt_free(p);
}

/* ---- tests ----------------------------------------------------------------- */

static void test_client_cookie_gets_server_cookie(void **state)
{
	(void)state;
	uint8_t q[512], o[64];
	size_t n = mkq(q, "mail.example.com.", LDNS_RR_TYPE_A, 1232, o, ckopt(o, CC, NULL, 0));
	ldns_pkt *p = answer(&conf, q, n, 0, (const struct sockaddr *)&v4, NOW, sizeof(resp));
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	assert_int_equal(verdict, ENG_COOKIE_CLIENT);
	assert_fresh_cookie(p, CC, ip4(), 4, NOW);
	ldns_pkt_free(p);
	/* IPv6, over TCP */
	p = answer(&conf, q, n, 1, (const struct sockaddr *)&v6, NOW, sizeof(resp));
	assert_int_equal(ldns_pkt_ancount(p), 1);
	assert_fresh_cookie(p, CC, v6.sin6_addr.s6_addr, 16, NOW);
	ldns_pkt_free(p);
	/* an IPv4-mapped address is the IPv4 address */
	struct sockaddr_in6 mapped = { .sin6_family = AF_INET6 };
	inet_pton(AF_INET6, "::ffff:198.51.100.100", &mapped.sin6_addr);
	p = answer(&conf, q, n, 0, (const struct sockaddr *)&mapped, NOW, sizeof(resp));
	assert_fresh_cookie(p, CC, ip4(), 4, NOW);
	ldns_pkt_free(p);
}

static void test_valid_cookie_answered(void **state)
{
	(void)state;
	uint8_t sc[16], q[512], o[64];
	learn((const struct sockaddr *)&v4, NOW, sc);
	size_t n = mkq(q, "www.example.com.", LDNS_RR_TYPE_A, 1232, o, ckopt(o, CC, sc, 16));
	ldns_pkt *p = answer(&conf, q, n, 0, (const struct sockaddr *)&v4, NOW + 100, sizeof(resp));
	assert_int_equal(verdict, ENG_COOKIE_VALID);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(p), 2);   /* CNAME and A */
	assert_fresh_cookie(p, CC, ip4(), 4, NOW + 100);   /* always made anew */
	ldns_pkt_free(p);
	/* after a secret rotation, the old secret as the previous one */
	uint8_t old[16];
	memcpy(old, ckconf.secret, 16);
	memcpy(ckconf.prev, old, 16);
	ckconf.has_prev = true;
	assert_int_equal(eng_cookie_parse_secret("445536bcd2513298075a5d379663c962", ckconf.secret), 0);
	p = answer(&conf, q, n, 0, (const struct sockaddr *)&v4, NOW + 200, sizeof(resp));
	assert_int_equal(verdict, ENG_COOKIE_VALID);
	assert_int_equal(ldns_pkt_ancount(p), 2);
	assert_fresh_cookie(p, CC, ip4(), 4, NOW + 200);   /* with the new secret */
	ldns_pkt_free(p);
	ckconf.has_prev = false;
	p = answer(&conf, q, n, 0, (const struct sockaddr *)&v4, NOW + 200, sizeof(resp));
	assert_int_equal(verdict, ENG_COOKIE_BAD);
	ldns_pkt_free(p);
	memcpy(ckconf.secret, old, 16);
}

/* UDP: BADCOOKIE, the question, no records, a fresh cookie to retry with. */
static void check_badcookie(const uint8_t *q, size_t n, const struct sockaddr *sa,
                            const uint8_t *ip, size_t iplen, uint32_t now)
{
	ldns_pkt *p = answer(&conf, q, n, 0, sa, now, sizeof(resp));
	assert_int_equal(verdict, ENG_COOKIE_BAD);
	assert_int_equal(resp[3] & 0x0f, 23 & 0x0f);
	assert_int_equal(ldns_pkt_edns_extended_rcode(p), 23 >> 4);
	assert_int_equal(ldns_pkt_qdcount(p), 1);
	assert_int_equal(ldns_pkt_ancount(p), 0);
	assert_int_equal(ldns_pkt_nscount(p), 0);
	assert_int_equal(resp[10] << 8 | resp[11], 1);   /* the OPT */
	assert_false(ldns_pkt_aa(p));
	assert_fresh_cookie(p, CC, ip, iplen, now);
	ldns_pkt_free(p);
	/* TCP: answered as usual, with a fresh cookie */
	p = answer(&conf, q, n, 1, sa, now, sizeof(resp));
	assert_int_equal(verdict, ENG_COOKIE_BAD);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_edns_extended_rcode(p), 0);
	assert_true(ldns_pkt_ancount(p) >= 1);
	assert_fresh_cookie(p, CC, ip, iplen, now);
	ldns_pkt_free(p);
}

static void test_bad_cookie(void **state)
{
	(void)state;
	uint8_t sc[16], x[32], q[512], o[64];
	const struct sockaddr *sa = (const struct sockaddr *)&v4;
	learn(sa, NOW, sc);
	/* tampered hash */
	memcpy(x, sc, 16);
	x[12] ^= 0x40;
	size_t n = mkq(q, "mail.example.com.", LDNS_RR_TYPE_A, 1232, o, ckopt(o, CC, x, 16));
	check_badcookie(q, n, sa, ip4(), 4, NOW);
	/* a name the fast path does not take (MX: additional section) */
	n = mkq(q, "example.com.", LDNS_RR_TYPE_MX, 1232, o, ckopt(o, CC, x, 16));
	check_badcookie(q, n, sa, ip4(), 4, NOW);
	/* good cookie, but from another address */
	n = mkq(q, "mail.example.com.", LDNS_RR_TYPE_A, 1232, o, ckopt(o, CC, sc, 16));
	check_badcookie(q, n, (const struct sockaddr *)&v6, v6.sin6_addr.s6_addr, 16, NOW);
	/* too old, and from too far ahead */
	check_badcookie(q, n, sa, ip4(), 4, NOW + COOKIE_LIFETIME + 1);
	check_badcookie(q, n, sa, ip4(), 4, NOW - COOKIE_SKEW - 1);
	/* server cookies of other lengths (another server's): not ours */
	memset(x, 0x5a, sizeof(x));
	n = mkq(q, "mail.example.com.", LDNS_RR_TYPE_A, 1232, o, ckopt(o, CC, x, 8));
	check_badcookie(q, n, sa, ip4(), 4, NOW);
	n = mkq(q, "mail.example.com.", LDNS_RR_TYPE_A, 1232, o, ckopt(o, CC, x, 32));
	check_badcookie(q, n, sa, ip4(), 4, NOW);
}

/* RFC 7873 5.2.2: a COOKIE of 8 or 16 to 40 octets, and one of them. */
static void test_malformed_formerr(void **state)
{
	(void)state;
	static const size_t bad[] = { 0, 1, 7, 9, 15, 41, 48 };
	uint8_t q[512], o[128], x[64] = { 0 };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* option of bad[i] octets: the client cookie cut or padded */
		o[0] = 0;
		o[1] = 10;
		o[2] = 0;
		o[3] = (uint8_t)bad[i];
		memcpy(o + 4, CC, 8);
		memset(o + 12, 0x11, 48);
		size_t n = mkq(q, "mail.example.com.", LDNS_RR_TYPE_A, 1232, o, 4 + bad[i]);
		for (int tcp = 0; tcp < 2; tcp++) {
			ldns_pkt *p = answer(&conf, q, n, tcp, (const struct sockaddr *)&v4, NOW,
			                     sizeof(resp));
			assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_FORMERR);
			assert_int_equal(verdict, ENG_COOKIE_NONE);
			assert_false(ldns_pkt_edns(p));
			ldns_pkt_free(p);
		}
		/* with cookies off the option is not looked at */
		conf.cookie = NULL;
		ldns_pkt *p = answer(&conf, q, n, 0, (const struct sockaddr *)&v4, NOW, sizeof(resp));
		assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
		assert_int_equal(cookie_of(p, x), 0);
		assert_int_equal(verdict, ENG_COOKIE_CLIENT);
		ldns_pkt_free(p);
		conf.cookie = &ckconf;
	}
	/* two COOKIE options */
	size_t l = ckopt(o, CC, NULL, 0);
	l += ckopt(o + l, CC, NULL, 0);
	size_t n = mkq(q, "mail.example.com.", LDNS_RR_TYPE_A, 1232, o, l);
	ldns_pkt *p = answer(&conf, q, n, 0, (const struct sockaddr *)&v4, NOW, sizeof(resp));
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_FORMERR);
	ldns_pkt_free(p);
}

static void test_cookies_off(void **state)
{
	(void)state;
	uint8_t q[512], o[64], x[64];
	size_t n = mkq(q, "mail.example.com.", LDNS_RR_TYPE_A, 1232, o, ckopt(o, CC, NULL, 0));
	conf.cookie = NULL;
	ldns_pkt *p = answer(&conf, q, n, 0, (const struct sockaddr *)&v4, NOW, sizeof(resp));
	assert_int_equal(ldns_pkt_ancount(p), 1);
	assert_true(ldns_pkt_edns(p));
	assert_int_equal(cookie_of(p, x), 0);
	assert_int_equal(verdict, ENG_COOKIE_CLIENT);
	ldns_pkt_free(p);
	/* no client address: answered as with cookies off */
	conf.cookie = &ckconf;
	p = answer(&conf, q, n, 0, NULL, NOW, sizeof(resp));
	assert_int_equal(ldns_pkt_ancount(p), 1);
	assert_int_equal(cookie_of(p, x), 0);
	assert_int_equal(verdict, ENG_COOKIE_CLIENT);
	ldns_pkt_free(p);
	/* no COOKIE in the query: none in the answer */
	n = mkq(q, "mail.example.com.", LDNS_RR_TYPE_A, 1232, NULL, 0);
	p = answer(&conf, q, n, 0, (const struct sockaddr *)&v4, NOW, sizeof(resp));
	assert_int_equal(cookie_of(p, x), 0);
	assert_int_equal(verdict, ENG_COOKIE_NONE);
	ldns_pkt_free(p);
}

/* The room for the COOKIE is kept: an answer that fits only without it is
 * truncated with it; with NSID too. */
static void test_room_kept(void **state)
{
	(void)state;
	uint8_t q[512], o[64], x[64];
	const struct sockaddr *sa = (const struct sockaddr *)&v4;
	size_t n = mkq(q, "big.example.com.", LDNS_RR_TYPE_TXT, 1232, NULL, 0);
	ldns_pkt *p = answer(&conf, q, n, 0, sa, NOW, sizeof(resp));
	assert_false(ldns_pkt_tc(p));
	size_t plain = resp_len;   /* the answer with a bare OPT */
	ldns_pkt_free(p);
	static const uint8_t nsid_q[4] = { 0, 3, 0, 0 };
	for (int nsid = 0; nsid < 2; nsid++) {
		conf.nsid = nsid ? (const uint8_t *)"pop-ams-1" : NULL;
		conf.nsid_len = nsid ? 9 : 0;
		size_t extra = 28 + (nsid ? 13 : 0);
		for (size_t size = 512; size <= plain + extra + 4; size++) {
			size_t l = ckopt(o, CC, NULL, 0);
			if (nsid) {
				memcpy(o + l, nsid_q, 4);
				l += 4;
			}
			n = mkq(q, "big.example.com.", LDNS_RR_TYPE_TXT, (int)size, o, l);
			p = answer(&conf, q, n, 0, sa, NOW, sizeof(resp));
			assert_true(resp_len <= size);
			assert_int_equal(cookie_of(p, x), 24);
			assert_int_equal(ldns_pkt_tc(p), size < plain + extra);
			assert_int_equal(ldns_pkt_ancount(p), size < plain + extra ? 0 : 8);
			ldns_pkt_free(p);
		}
	}
	/* the buffer as the limit: no OPT cut in half */
	n = mkq(q, "big.example.com.", LDNS_RR_TYPE_TXT, 4096, o, ckopt(o, CC, NULL, 0));
	p = answer(&conf, q, n, 0, sa, NOW, 600);
	assert_true(resp_len <= 600);
	assert_true(ldns_pkt_tc(p));
	assert_int_equal(cookie_of(p, x), 24);
	ldns_pkt_free(p);
}

/* The fast path answers queries with a COOKIE-only OPT; every query gets
 * the general path's bytes and verdict. */
static void test_fast_path_same_as_general(void **state)
{
	(void)state;
	static const char *const names[] = {
		"mail.example.com.", "MAIL.Example.com.", "www.example.com.", "nope.example.com.",
		"big.example.com.", "example.com.", "www.example.org.",
	};
	static const uint16_t types[] = { 1, 28, 16, 15, 6 };
	const struct sockaddr *addrs[] = { (const struct sockaddr *)&v4,
	                                   (const struct sockaddr *)&v6, NULL };
	struct eng_conf slow = conf;
	slow.no_fast_path = 1;
	uint8_t sc4[16], sc6[16];
	learn(addrs[0], NOW, sc4);
	learn(addrs[1], NOW, sc6);
	static uint8_t a[65536], b[65536];
	unsigned n_valid = 0;
	for (size_t ni = 0; ni < sizeof(names) / sizeof(names[0]); ni++)
	for (size_t ti = 0; ti < sizeof(types) / sizeof(types[0]); ti++)
	for (int kind = 0; kind < 6; kind++)
	for (int ai = 0; ai < 3; ai++)
	for (int tcp = 0; tcp < 2; tcp++) {
		uint8_t q[512], o[64], bad[32] = { 0 };
		size_t l = 0;
		const uint8_t *sc = ai == 1 ? sc6 : sc4;
		memcpy(bad, sc, 16);
		bad[9] ^= 1;
		switch (kind) {
		case 0: l = 0; break;                                  /* bare OPT */
		case 1: l = ckopt(o, CC, NULL, 0); break;              /* client only */
		case 2: l = ckopt(o, CC, sc, 16); break;               /* valid */
		case 3: l = ckopt(o, CC, bad, 16); break;              /* bad */
		case 4: l = ckopt(o, CC, bad, 24); break;              /* other length */
		case 5: l = ckopt(o, CC, sc, 16);                      /* and NSID */
			memcpy(o + l, "\0\3\0\0", 4);
			l += 4;
			break;
		}
		size_t n = mkq(q, names[ni], types[ti], (ti & 1) ? 1232 : 512, o, l);
		for (uint32_t dt = 0; dt <= 3000; dt += 3000) {
			struct eng_msg ma = { .q = q, .qlen = n, .resp = a, .cap = sizeof(a),
			                      .client = addrs[ai], .now = NOW + dt };
			struct eng_msg mb = ma;
			mb.resp = b;
			eng_answer_burst(&conf, zs, &ma, 1, tcp ? ENG_TCP : ENG_UDP);
			eng_answer_burst(&slow, zs, &mb, 1, tcp ? ENG_TCP : ENG_UDP);
			assert_int_equal(ma.rlen, mb.rlen);
			assert_memory_equal(a, b, ma.rlen);
			assert_int_equal(ma.cookie, mb.cookie);
			n_valid += ma.cookie == ENG_COOKIE_VALID;
			if (ai < 2 && (kind == 2 || kind == 5))
				assert_int_equal(ma.cookie, ENG_COOKIE_VALID);
			if (ai < 2 && (kind == 3 || kind == 4))
				assert_int_equal(ma.cookie, ENG_COOKIE_BAD);
		}
	}
	assert_true(n_valid > 0);
}

/* A QUERY with no question, only an OPT with opts (RFC 7873 5.4). */
static size_t mkq_noquestion(uint8_t *w, const uint8_t *opts, size_t optlen, uint8_t version)
{
	memset(w, 0, 12);
	w[0] = 0x5e;
	w[1] = 0x54;
	w[11] = 1;
	uint8_t opt[11] = { 0, 0, 41, 0x04, 0xd0, 0, version, 0, 0, (uint8_t)(optlen >> 8),
	                    (uint8_t)optlen };
	memcpy(w + 12, opt, 11);
	memcpy(w + 23, opts, optlen);
	return 23 + optlen;
}

/* The header of a no-question answer: ID, QR, opcode 0, no question and
 * no records but the OPT. */
static void assert_cookie_only(const ldns_pkt *p)
{
	assert_int_equal(ldns_pkt_id(p), 0x5e54);
	assert_true(ldns_pkt_qr(p));
	assert_int_equal(ldns_pkt_get_opcode(p), LDNS_PACKET_QUERY);
	assert_int_equal(ldns_pkt_qdcount(p), 0);
	assert_int_equal(ldns_pkt_ancount(p), 0);
	assert_int_equal(ldns_pkt_nscount(p), 0);
	assert_int_equal(resp[10] << 8 | resp[11], 1);   /* the OPT alone */
	assert_false(ldns_pkt_aa(p));
}

/* RFC 7873 5.4: a query with no question and a COOKIE learns (or
 * confirms) its server cookie: NOERROR and a fresh cookie for a client
 * cookie or a valid server cookie, BADCOOKIE (UDP) for one that does not
 * verify; without cookies (off, or no COOKIE) it stays FORMERR. */
static void test_no_question_cookie(void **state)
{
	(void)state;
	uint8_t q[512], o[64], sc[16], x[16];
	const struct sockaddr *sa = (const struct sockaddr *)&v4;
	size_t n = mkq_noquestion(q, o, ckopt(o, CC, NULL, 0), 0);
	for (int tcp = 0; tcp <= 1; tcp++) {
		ldns_pkt *p = answer(&conf, q, n, tcp, sa, NOW, sizeof(resp));
		assert_non_null(p);
		assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
		assert_int_equal(ldns_pkt_edns_extended_rcode(p), 0);
		assert_int_equal(verdict, ENG_COOKIE_CLIENT);
		assert_cookie_only(p);
		assert_fresh_cookie(p, CC, ip4(), 4, NOW);
		ldns_pkt_free(p);
	}
	/* IPv6 too */
	ldns_pkt *p = answer(&conf, q, n, 0, (const struct sockaddr *)&v6, NOW, sizeof(resp));
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_fresh_cookie(p, CC, v6.sin6_addr.s6_addr, 16, NOW);
	ldns_pkt_free(p);
	/* the cookie it learnt is valid: confirmed, NOERROR */
	learn(sa, NOW, sc);
	n = mkq_noquestion(q, o, ckopt(o, CC, sc, 16), 0);
	p = answer(&conf, q, n, 0, sa, NOW + 10, sizeof(resp));
	assert_int_equal(verdict, ENG_COOKIE_VALID);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_edns_extended_rcode(p), 0);
	assert_cookie_only(p);
	assert_fresh_cookie(p, CC, ip4(), 4, NOW + 10);
	ldns_pkt_free(p);
	/* a tampered one: BADCOOKIE with a fresh cookie over UDP; over TCP
	 * the connection proves the address (5.2.3): NOERROR */
	memcpy(x, sc, 16);
	x[9] ^= 1;
	n = mkq_noquestion(q, o, ckopt(o, CC, x, 16), 0);
	p = answer(&conf, q, n, 0, sa, NOW + 10, sizeof(resp));
	assert_int_equal(verdict, ENG_COOKIE_BAD);
	assert_int_equal(resp[3] & 0x0f, 23 & 0x0f);
	assert_int_equal(ldns_pkt_edns_extended_rcode(p), 23 >> 4);
	assert_cookie_only(p);
	assert_fresh_cookie(p, CC, ip4(), 4, NOW + 10);
	ldns_pkt_free(p);
	p = answer(&conf, q, n, 1, sa, NOW + 10, sizeof(resp));
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_edns_extended_rcode(p), 0);
	assert_fresh_cookie(p, CC, ip4(), 4, NOW + 10);
	ldns_pkt_free(p);
	/* EDNS version 1: BADVERS, still with the cookie */
	n = mkq_noquestion(q, o, ckopt(o, CC, NULL, 0), 1);
	p = answer(&conf, q, n, 0, sa, NOW, sizeof(resp));
	assert_int_equal(ldns_pkt_edns_extended_rcode(p), 16 >> 4);
	assert_int_equal(resp[3] & 0x0f, 0);
	assert_fresh_cookie(p, CC, ip4(), 4, NOW);
	ldns_pkt_free(p);
	/* FORMERR, no OPT: a COOKIE of a bad length, an OPT without a COOKIE,
	 * no OPT at all, cookies off, no client address */
	uint8_t bad[8];
	memset(bad, 0, sizeof(bad));
	size_t bl = ckopt(o, CC, NULL, 0);
	o[3] = 7;   /* a COOKIE of 7 octets */
	n = mkq_noquestion(q, o, bl - 1, 0);
	struct { size_t n; const struct eng_conf *cf; const struct sockaddr *sa; } fe[5];
	fe[0].n = n;
	fe[1].n = mkq_noquestion(q + 128, bad, 0, 0);
	memset(q + 256, 0, 12);
	q[256] = 0x5e;
	q[257] = 0x54;
	fe[2].n = 12;
	struct eng_conf off = conf;
	off.cookie = NULL;
	fe[3].n = mkq_noquestion(q + 384, o, ckopt(o, CC, NULL, 0), 0);
	const uint8_t *qs[5] = { q, q + 128, q + 256, q + 384, q + 384 };
	for (unsigned i = 0; i < 5; i++) {
		fe[i].cf = i == 3 ? &off : &conf;
		fe[i].sa = i == 4 ? NULL : sa;
	}
	fe[4].n = fe[3].n;
	for (unsigned i = 0; i < 5; i++) {
		for (int tcp = 0; tcp <= 1; tcp++) {
			p = answer(fe[i].cf, qs[i], fe[i].n, tcp, fe[i].sa, NOW, sizeof(resp));
			assert_non_null(p);
			assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_FORMERR);
			assert_int_equal(resp_len, 12);
			assert_int_equal(ldns_pkt_qdcount(p), 0);
			ldns_pkt_free(p);
		}
	}
}

/* A burst of mixed verdicts: each its own. */
static void test_burst_verdicts(void **state)
{
	(void)state;
	uint8_t sc[16], bad[16];
	const struct sockaddr *sa = (const struct sockaddr *)&v4;
	learn(sa, NOW, sc);
	memcpy(bad, sc, 16);
	bad[15] ^= 0x80;
	static uint8_t qs[ENG_BURST_MAX][512], rs[ENG_BURST_MAX][2048];
	struct eng_msg m[ENG_BURST_MAX];
	static const uint8_t want[4] = { ENG_COOKIE_NONE, ENG_COOKIE_CLIENT, ENG_COOKIE_VALID,
	                                 ENG_COOKIE_BAD };
	for (unsigned i = 0; i < ENG_BURST_MAX; i++) {
		uint8_t o[64];
		size_t l = 0;
		switch (i % 4) {
		case 1: l = ckopt(o, CC, NULL, 0); break;
		case 2: l = ckopt(o, CC, sc, 16); break;
		case 3: l = ckopt(o, CC, bad, 16); break;
		}
		m[i] = (struct eng_msg){ .q = qs[i], .resp = rs[i], .cap = sizeof(rs[i]),
		                         .client = sa, .now = NOW, .cookie = 0xff };
		m[i].qlen = mkq(qs[i], i & 4 ? "www.example.com." : "mail.example.com.",
		                LDNS_RR_TYPE_A, 1232, o, l);
	}
	eng_answer_burst(&conf, zs, m, ENG_BURST_MAX, ENG_UDP);
	for (unsigned i = 0; i < ENG_BURST_MAX; i++) {
		assert_int_equal(m[i].cookie, want[i % 4]);
		assert_int_equal(rs[i][3] & 0x0f, i % 4 == 3 ? 7 : 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_client_cookie_gets_server_cookie, reset),
		cmocka_unit_test_setup(test_valid_cookie_answered, reset),
		cmocka_unit_test_setup(test_bad_cookie, reset),
		cmocka_unit_test_setup(test_malformed_formerr, reset),
		cmocka_unit_test_setup(test_cookies_off, reset),
		cmocka_unit_test_setup(test_room_kept, reset),
		cmocka_unit_test_setup(test_fast_path_same_as_general, reset),
		cmocka_unit_test_setup(test_burst_verdicts, reset),
		cmocka_unit_test_setup(test_no_question_cookie, reset),
	};
	return cmocka_run_group_tests_name("engine cookies", tests, setup, teardown);
}
