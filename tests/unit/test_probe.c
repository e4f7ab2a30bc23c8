/* test_probe.c: probe query frames and the check of their responses
 * (dataplane/probe.c), through the real classifier, engine and in-place
 * reply, as a worker runs them. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "compile.h"
#include "dname.h"
#include "dnsconst.h"
#include "engine.h"
#include "pkt.h"
#include "probe.h"
#include "snapshot.h"
#include "zoneset.h"

static const char ZONE[] =
	"$ORIGIN probe.test.\n$TTL 300\n"
	"@ SOA ns1 hostmaster 4242 3600 600 86400 300\n"
	"@ NS ns1\n"
	"ns1 A 192.0.2.53\n"
	"www A 192.0.2.80\n"
	"www AAAA 2001:db8::80\n"
	"canary TXT \"a\\\"b\\\\c\\007\" \"second\"\n"
	"alias CNAME www\n";

static void *img;
static struct snap *snap;
static struct zoneset *zs;
static struct eng_conf conf;

static const uint8_t PORT_MAC[6] = { 0x02, 0, 0, 0, 0, 0x53 };

static int setup(void **state)
{
	(void)state;
	struct compile_diag diag;
	compile_diag_init(&diag);
	diag.out = stderr;
	size_t len;
	struct compile_opts o = { .origin = "probe.test." };
	if (compile_zone_mem(ZONE, strlen(ZONE), "probe.zone", &o, &img, &len, NULL, &diag) != 0)
		fail_msg("zone does not compile");
	compile_diag_free(&diag);
	char err[256];
	if (snap_open_mem(img, len, 0, &snap, err, sizeof(err)) != 0)
		fail_msg("snap_open_mem: %s", err);
	const struct snap *one = snap;
	zs = zs_new(&one, 1, NULL);
	assert_non_null(zs);
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

static void mkspec(struct probe_spec *s, bool v6, const char *qname, uint16_t qtype)
{
	static const uint8_t src_mac[6] = PROBE_SRC_MAC;
	memset(s, 0, sizeof(*s));
	memcpy(s->dst_mac, PORT_MAC, 6);
	memcpy(s->src_mac, src_mac, 6);
	s->v6 = v6;
	int f = v6 ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(f, v6 ? PROBE_SRC6 : PROBE_SRC4, s->src), 1);
	assert_int_equal(inet_pton(f, v6 ? "2001:db8::53" : "192.0.2.53", s->dst), 1);
	s->sport = 40000;
	s->dport = 53;
	s->id = 0xbeef;
	s->ip_id = 7;
	s->qname_len = dname_from_str(qname, s->qname);
	assert_true(s->qname_len > 0);
	s->qtype = qtype;
	s->edns_size = PROBE_EDNS_SIZE;
}

static void mkfilter(struct pkt_filter *f)
{
	memset(f, 0, sizeof(*f));
	memcpy(f->mac, PORT_MAC, 6);
	f->dns_port = 53;
	f->n4 = f->n6 = 1;
	inet_pton(AF_INET, "192.0.2.53", f->v4[0]);
	inet_pton(AF_INET6, "2001:db8::53", f->v6[0]);
}

/* What the worker does with a probe frame: classify, answer in place,
 * reply headers with the UDP checksum in software. Returns the length. */
static size_t through_path(uint8_t *fr, size_t len, size_t cap)
{
	struct pkt_filter f;
	struct pkt_meta m;
	mkfilter(&f);
	assert_int_equal(pkt_classify(&f, fr, len, 0, &m), PKT_DNS);
	uint8_t q[512];
	memcpy(q, fr + m.dns, m.dns_len);
	struct eng_xport x = { .transport = ENG_UDP };
	size_t rlen = eng_answer(&conf, zs, q, m.dns_len, fr + m.dns, cap - m.dns, &x);
	assert_true(rlen > 0);
	return pkt_reply(fr, &m, rlen, false);
}

/* Probe qname/qtype over v6 or not; the checked result. */
static const char *probe(bool v6, const char *qname, uint16_t qtype, struct probe_result *r,
                         uint8_t *fr, size_t *flen, struct probe_spec *s)
{
	mkspec(s, v6, qname, qtype);
	size_t n = probe_build(s, fr, 2048);
	assert_true(n > 0);
	*flen = through_path(fr, n, 2048);
	return probe_check(s, fr, *flen, r);
}

static void t_build_is_a_query_the_classifier_takes(void **state)
{
	(void)state;
	for (int v6 = 0; v6 <= 1; v6++) {
		struct probe_spec s;
		uint8_t fr[2048];
		struct pkt_filter f;
		struct pkt_meta m;
		mkspec(&s, v6, "www.Probe.test", T_A);
		size_t n = probe_build(&s, fr, sizeof(fr));
		assert_int_equal(n, 14 + (v6 ? 40 : 20) + 8 + 12 + s.qname_len + 4 + 11);
		mkfilter(&f);
		/* classify checks the IPv4 header and UDP checksums */
		assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_DNS);
		assert_int_equal(m.dns_len, 12 + s.qname_len + 4 + 11);
		const uint8_t *d = fr + m.dns;
		assert_int_equal(d[0] << 8 | d[1], 0xbeef);
		assert_int_equal(d[2], 0);              /* QR, opcode, RD clear */
		assert_memory_equal(d + 12, s.qname, s.qname_len);   /* case kept */
		/* too small a buffer, a bad name */
		assert_int_equal(probe_build(&s, fr, n - 1), 0);
		s.qname[0] = 70;
		assert_int_equal(probe_build(&s, fr, sizeof(fr)), 0);
	}
}

static void t_soa_serial(void **state)
{
	(void)state;
	for (int v6 = 0; v6 <= 1; v6++) {
		struct probe_spec s;
		struct probe_result r;
		uint8_t fr[2048];
		size_t n;
		assert_null(probe(v6, "probe.test.", T_SOA, &r, fr, &n, &s));
		assert_int_equal(r.rcode, RC_NOERROR);
		assert_true(r.aa);
		assert_false(r.tc);
		assert_int_equal(r.ancount, 1);
		assert_true(r.has_serial);
		assert_int_equal(r.serial, 4242);
		assert_int_equal(r.an_type, T_SOA);
		assert_string_equal(r.rdata, "");
	}
}

static void t_rdata(void **state)
{
	(void)state;
	struct probe_spec s;
	struct probe_result r;
	uint8_t fr[2048];
	size_t n;
	assert_null(probe(false, "www.probe.test.", T_A, &r, fr, &n, &s));
	assert_string_equal(r.rdata, "192.0.2.80");
	assert_false(r.has_serial);
	assert_null(probe(true, "www.probe.test.", T_AAAA, &r, fr, &n, &s));
	assert_string_equal(r.rdata, "2001:db8::80");
	assert_null(probe(false, "canary.probe.test.", T_TXT, &r, fr, &n, &s));
	assert_string_equal(r.rdata, "\"a\\\"b\\\\c\\007\" \"second\"");
	/* a CNAME first: its type, no rdata */
	assert_null(probe(false, "alias.probe.test.", T_A, &r, fr, &n, &s));
	assert_int_equal(r.an_type, T_CNAME);
	assert_int_equal(r.ancount, 2);
	assert_string_equal(r.rdata, "");
}

static void t_negative_answers(void **state)
{
	(void)state;
	struct probe_spec s;
	struct probe_result r;
	uint8_t fr[2048];
	size_t n;
	assert_null(probe(false, "nope.probe.test.", T_A, &r, fr, &n, &s));
	assert_int_equal(r.rcode, RC_NXDOMAIN);
	assert_true(r.aa);
	assert_int_equal(r.ancount, 0);
	assert_false(r.has_serial);     /* the SOA is in the authority section */
	assert_null(probe(false, "www.probe.test.", T_MX, &r, fr, &n, &s));
	assert_int_equal(r.rcode, RC_NOERROR);
	assert_int_equal(r.ancount, 0);
	assert_null(probe(true, "example.net.", T_SOA, &r, fr, &n, &s));
	assert_int_equal(r.rcode, RC_REFUSED);
	assert_false(r.aa);
}

/* Recompute the checksums of reply frame fr after an edit. */
static void fix_udp(uint8_t *fr, bool v6, size_t flen)
{
	struct pkt_meta m = { .l2 = 14, .l3 = v6 ? 40 : 20, .v6 = v6 };
	if (!v6) {
		fr[14 + 10] = fr[14 + 11] = 0;
		uint16_t h = pkt_ipv4_cksum(fr + 14, 20);
		memcpy(fr + 14 + 10, &h, 2);
	}
	size_t ulen = flen - 14 - m.l3;
	uint8_t *udp = fr + 14 + m.l3;
	udp[6] = udp[7] = 0;
	uint16_t c = pkt_udp_cksum(fr, &m, ulen);
	if (c == 0)
		c = 0xffff;
	memcpy(udp + 6, &c, 2);
}

/* A good SOA reply, edited by edit(), must fail with a message containing
 * want. */
static void bad(bool v6, void (*edit)(uint8_t *fr, size_t *len, bool v6), bool fix,
                const char *want)
{
	struct probe_spec s;
	struct probe_result r;
	uint8_t fr[2048];
	size_t n;
	assert_null(probe(v6, "probe.test.", T_SOA, &r, fr, &n, &s));
	edit(fr, &n, v6);
	if (fix)
		fix_udp(fr, v6, n);
	const char *why = probe_check(&s, fr, n, &r);
	if (why == NULL || strstr(why, want) == NULL)
		fail_msg("want '%s', got '%s'", want, why ? why : "(ok)");
}

#define DNS(v6) (14 + ((v6) ? 40 : 20) + 8)

static void e_mac(uint8_t *fr, size_t *n, bool v6) { (void)n; (void)v6; fr[5] ^= 1; }
static void e_ipsrc(uint8_t *fr, size_t *n, bool v6) { (void)n; fr[14 + (v6 ? 8 : 12)] ^= 1; }
static void e_sport(uint8_t *fr, size_t *n, bool v6) { (void)n; fr[DNS(v6) - 8 + 1] ^= 1; }
static void e_id(uint8_t *fr, size_t *n, bool v6) { (void)n; fr[DNS(v6) + 1] ^= 1; }
static void e_qr(uint8_t *fr, size_t *n, bool v6) { (void)n; fr[DNS(v6) + 2] &= 0x7f; }
static void e_opcode(uint8_t *fr, size_t *n, bool v6) { (void)n; fr[DNS(v6) + 2] |= 0x20; }
static void e_qname(uint8_t *fr, size_t *n, bool v6) { (void)n; fr[DNS(v6) + 13] ^= 0x20; }
static void e_qdcount(uint8_t *fr, size_t *n, bool v6) { (void)n; fr[DNS(v6) + 5] = 2; }
static void e_ancount(uint8_t *fr, size_t *n, bool v6) { (void)n; fr[DNS(v6) + 7] += 3; }
static void e_arcount(uint8_t *fr, size_t *n, bool v6) { (void)n; fr[DNS(v6) + 11] -= 1; }
static void e_cksum(uint8_t *fr, size_t *n, bool v6) { (void)n; fr[DNS(v6) - 1] ^= 0x10; }
static void e_nocksum(uint8_t *fr, size_t *n, bool v6) { (void)n; fr[DNS(v6) - 2] = fr[DNS(v6) - 1] = 0; }
static void e_ip4cksum(uint8_t *fr, size_t *n, bool v6) { (void)n; (void)v6; fr[14 + 10] ^= 1; }
static void e_ethertype(uint8_t *fr, size_t *n, bool v6) { (void)n; fr[12] = v6 ? 0x08 : 0x86; fr[13] = v6 ? 0x00 : 0xdd; }

/* The UDP length one octet longer than the IP payload says. */
static void e_udplen(uint8_t *fr, size_t *n, bool v6)
{
	(void)n;
	fr[DNS(v6) - 8 + 5] += 1;
}

/* The SOA rdata one octet shorter (RDLENGTH), the message as long. */
static void e_soa_rdlen(uint8_t *fr, size_t *n, bool v6)
{
	(void)n;
	/* question probe.test. SOA IN: 12 + 12 + 4; then the answer: C0 0C,
	 * type, class, TTL, RDLENGTH */
	size_t rdl = DNS(v6) + 12 + 12 + 4 + 2 + 8;
	fr[rdl + 1] -= 1;
}

static void t_bad_replies(void **state)
{
	(void)state;
	for (int v6 = 0; v6 <= 1; v6++) {
		bad(v6, e_mac, false, "MAC addresses");
		bad(v6, e_ethertype, false, "IP version");
		bad(v6, e_ipsrc, true, "IP addresses");
		bad(v6, e_sport, true, "UDP ports");
		bad(v6, e_udplen, true, "UDP length");
		bad(v6, e_cksum, false, "UDP checksum wrong");
		bad(v6, e_nocksum, false, "no UDP checksum");
		bad(v6, e_id, true, "DNS ID");
		bad(v6, e_qr, true, "QR clear");
		bad(v6, e_opcode, true, "opcode");
		bad(v6, e_qdcount, true, "QDCOUNT");
		bad(v6, e_qname, true, "question name");
		bad(v6, e_ancount, true, "RR");
		bad(v6, e_arcount, true, "octets after the last RR");
		bad(v6, e_soa_rdlen, true, "SOA rdata");
	}
	bad(false, e_ip4cksum, false, "IPv4 header checksum");
}

/* Every cut of a good reply fails, and reads nothing past the cut (ASan). */
static void t_truncated(void **state)
{
	(void)state;
	for (int v6 = 0; v6 <= 1; v6++) {
		struct probe_spec s;
		struct probe_result r;
		uint8_t fr[2048];
		size_t n;
		assert_null(probe(v6, "canary.probe.test.", T_TXT, &r, fr, &n, &s));
		for (size_t k = 0; k < n; k++) {
			uint8_t *cut = malloc(k ? k : 1);
			memcpy(cut, fr, k);
			assert_non_null(probe_check(&s, cut, k, &r));
			free(cut);
		}
	}
}

static void t_extended_rcode(void **state)
{
	(void)state;
	struct probe_spec s;
	struct probe_result r;
	uint8_t fr[2048];
	size_t n;
	assert_null(probe(false, "probe.test.", T_SOA, &r, fr, &n, &s));
	/* the OPT record is last, without options: its TTL's first octet is
	 * the upper 8 bits of the rcode */
	fr[n - 11 + 5] = 1;
	fix_udp(fr, false, n);
	assert_null(probe_check(&s, fr, n, &r));
	assert_int_equal(r.rcode, 16);
}

static void t_long_txt_is_cut(void **state)
{
	(void)state;
	/* a TXT answer, made by hand: two strings of 200 octets */
	uint8_t rd[402];
	rd[0] = rd[201] = 200;
	memset(rd + 1, 'x', 200);
	memset(rd + 202, '"', 200);
	struct probe_spec s;
	struct probe_result r;
	uint8_t fr[2048];
	size_t n;
	mkspec(&s, false, "probe.test.", T_TXT);
	s.edns_size = 0;
	n = probe_build(&s, fr, sizeof(fr));
	uint8_t *d = fr + DNS(false);
	d[2] |= 0x84;                 /* QR, AA */
	d[7] = 1;                     /* ANCOUNT */
	uint8_t rr[12] = { 0xc0, 0x0c, 0, T_TXT, 0, 1, 0, 0, 0, 60, 402 >> 8, 402 & 0xff };
	memcpy(fr + n, rr, sizeof(rr));
	memcpy(fr + n + sizeof(rr), rd, sizeof(rd));
	size_t dlen = n - DNS(false) + sizeof(rr) + sizeof(rd);
	struct pkt_meta m = { .l2 = 14, .l3 = 20, .dns = DNS(false) };
	n = pkt_reply(fr, &m, dlen, false);
	assert_null(probe_check(&s, fr, n, &r));
	assert_int_equal(r.an_type, T_TXT);
	size_t l = strlen(r.rdata);
	assert_true(l < PROBE_RDATA_MAX && l > PROBE_RDATA_MAX - 8);
	assert_string_equal(r.rdata + l - 3, "...");
	assert_memory_equal(r.rdata, "\"xxxx", 5);
	/* a string that runs past its rdata */
	fr[n - 201] = 250;
	fix_udp(fr, false, n);
	assert_string_equal(probe_check(&s, fr, n, &r), "TXT string runs past its rdata");
}

static void t_types(void **state)
{
	(void)state;
	char b[16];
	assert_int_equal(probe_qtype("SOA"), T_SOA);
	assert_int_equal(probe_qtype("aaaa"), T_AAAA);
	assert_int_equal(probe_qtype("Txt"), T_TXT);
	assert_int_equal(probe_qtype("TYPE65"), 65);
	assert_int_equal(probe_qtype("type65535"), 65535);
	assert_int_equal(probe_qtype("TYPE0"), 0);
	assert_int_equal(probe_qtype("TYPE65536"), 0);
	assert_int_equal(probe_qtype("TYPE"), 0);
	assert_int_equal(probe_qtype("TYPE-1"), 0);
	assert_int_equal(probe_qtype("BOGUS"), 0);
	assert_string_equal(probe_type_str(T_AAAA, b, sizeof(b)), "AAAA");
	assert_string_equal(probe_type_str(65, b, sizeof(b)), "HTTPS");
	assert_string_equal(probe_type_str(999, b, sizeof(b)), "TYPE999");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_build_is_a_query_the_classifier_takes),
		cmocka_unit_test(t_soa_serial),
		cmocka_unit_test(t_rdata),
		cmocka_unit_test(t_negative_answers),
		cmocka_unit_test(t_bad_replies),
		cmocka_unit_test(t_truncated),
		cmocka_unit_test(t_extended_rcode),
		cmocka_unit_test(t_long_txt_is_cut),
		cmocka_unit_test(t_types),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
