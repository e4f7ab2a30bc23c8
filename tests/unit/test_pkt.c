/* test_pkt.c: frame classification and in-place replies (dataplane/pkt.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "pkt.h"

static const uint8_t OUR_MAC[6] = { 0x02, 0, 0, 0, 0, 0x53 };
static const uint8_t CLI_MAC[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t V4_SRV[4] = { 192, 0, 2, 53 };
static const uint8_t V4_CLI[4] = { 192, 0, 2, 1 };
static const uint8_t V6_SRV[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x53 };
static const uint8_t V6_CLI[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x01 };

/* A minimal query: ID 0x1234, RD, one question "a." A IN. */
static const uint8_t DNSQ[] = { 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
                                1, 'a', 0, 0, 1, 0, 1 };

static void setup_filter(struct pkt_filter *f)
{
	memset(f, 0, sizeof(*f));
	memcpy(f->mac, OUR_MAC, 6);
	f->dns_port = 53;
	f->n4 = 1;
	memcpy(f->v4[0], V4_SRV, 4);
	f->n6 = 1;
	memcpy(f->v6[0], V6_SRV, 16);
}

/* Reference checksum, the textbook way: 16-bit big-endian words. */
static uint16_t ref_sum(const uint8_t *p, size_t n, uint32_t sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static uint16_t ref_udp_cksum(const uint8_t *ip, int v6, const uint8_t *udp, size_t ulen)
{
	uint32_t s = v6 ? ref_sum(ip + 8, 32, 0) : ref_sum(ip + 12, 8, 0);
	s += 17 + (uint32_t)ulen;
	uint16_t r = (uint16_t)~ref_sum(udp, ulen, s);
	return r;
}

static size_t put_eth(uint8_t *fr, uint16_t type, int vlan)
{
	memcpy(fr, OUR_MAC, 6);
	memcpy(fr + 6, CLI_MAC, 6);
	size_t o = 12;
	if (vlan) {
		fr[o++] = 0x81;
		fr[o++] = 0x00;
		fr[o++] = 0x00;
		fr[o++] = 0x07;
	}
	fr[o++] = (uint8_t)(type >> 8);
	fr[o++] = (uint8_t)type;
	return o;
}

/* A UDP/IPv4 frame from the client to dst port dport carrying pl. */
static size_t v4_frame(uint8_t *fr, int vlan, uint16_t dport, const uint8_t *pl, size_t plen)
{
	size_t l2 = put_eth(fr, 0x0800, vlan);
	uint8_t *ip = fr + l2, *udp = ip + 20;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	size_t tot = 20 + 8 + plen;
	ip[2] = (uint8_t)(tot >> 8);
	ip[3] = (uint8_t)tot;
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, V4_CLI, 4);
	memcpy(ip + 16, V4_SRV, 4);
	uint16_t c = (uint16_t)~ref_sum(ip, 20, 0);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	udp[0] = 0xc0;
	udp[1] = 0x01;
	udp[2] = (uint8_t)(dport >> 8);
	udp[3] = (uint8_t)dport;
	udp[4] = (uint8_t)((8 + plen) >> 8);
	udp[5] = (uint8_t)(8 + plen);
	udp[6] = udp[7] = 0;
	memcpy(udp + 8, pl, plen);
	c = ref_udp_cksum(ip, 0, udp, 8 + plen);
	udp[6] = (uint8_t)(c >> 8);
	udp[7] = (uint8_t)c;
	return l2 + tot;
}

static size_t v6_frame(uint8_t *fr, uint16_t dport, const uint8_t *pl, size_t plen)
{
	size_t l2 = put_eth(fr, 0x86dd, 0);
	uint8_t *ip = fr + l2, *udp = ip + 40;
	memset(ip, 0, 40);
	ip[0] = 0x60;
	ip[4] = (uint8_t)((8 + plen) >> 8);
	ip[5] = (uint8_t)(8 + plen);
	ip[6] = 17;
	ip[7] = 64;
	memcpy(ip + 8, V6_CLI, 16);
	memcpy(ip + 24, V6_SRV, 16);
	udp[0] = 0xc0;
	udp[1] = 0x02;
	udp[2] = (uint8_t)(dport >> 8);
	udp[3] = (uint8_t)dport;
	udp[4] = (uint8_t)((8 + plen) >> 8);
	udp[5] = (uint8_t)(8 + plen);
	udp[6] = udp[7] = 0;
	memcpy(udp + 8, pl, plen);
	uint16_t c = ref_udp_cksum(ip, 1, udp, 8 + plen);
	udp[6] = (uint8_t)(c >> 8);
	udp[7] = (uint8_t)c;
	return l2 + 40 + 8 + plen;
}

static void fix_v4_hdr_cksum(uint8_t *ip)
{
	ip[10] = ip[11] = 0;
	uint16_t c = (uint16_t)~ref_sum(ip, (size_t)(ip[0] & 15) * 4, 0);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
}

/* Both checksums of a frame (l2 octets of Ethernet) made right again
 * after its addresses or ports were changed. */
static void fix_v4(uint8_t *fr, size_t l2)
{
	uint8_t *ip = fr + l2, *udp = ip + 20;
	fix_v4_hdr_cksum(ip);
	size_t ulen = (size_t)(udp[4] << 8 | udp[5]);
	udp[6] = udp[7] = 0;
	uint16_t c = ref_udp_cksum(ip, 0, udp, ulen);
	udp[6] = (uint8_t)(c >> 8);
	udp[7] = (uint8_t)c;
}

static void fix_v6(uint8_t *fr)
{
	uint8_t *ip = fr + 14, *udp = ip + 40;
	size_t ulen = (size_t)(udp[4] << 8 | udp[5]);
	udp[6] = udp[7] = 0;
	uint16_t c = ref_udp_cksum(ip, 1, udp, ulen);
	udp[6] = (uint8_t)(c >> 8);
	udp[7] = (uint8_t)c;
}

static void t_v4_query(void **state)
{
	(void)state;
	struct pkt_filter f;
	struct pkt_meta m;
	uint8_t fr[256];
	setup_filter(&f);
	size_t n = v4_frame(fr, 0, 53, DNSQ, sizeof(DNSQ));
	assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_DNS);
	assert_int_equal(m.l2, 14);
	assert_int_equal(m.l3, 20);
	assert_int_equal(m.dns, 42);
	assert_int_equal(m.dns_len, sizeof(DNSQ));
	assert_int_equal(m.v6, 0);
	/* Ethernet padding after the IP packet is allowed */
	memset(fr + n, 0, 20);
	assert_int_equal(pkt_classify(&f, fr, n + 20, 0, &m), PKT_DNS);
	/* 802.1Q */
	n = v4_frame(fr, 1, 53, DNSQ, sizeof(DNSQ));
	assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_DNS);
	assert_int_equal(m.l2, 18);
	assert_int_equal(m.dns, 46);
}

static void t_v6_query(void **state)
{
	(void)state;
	struct pkt_filter f;
	struct pkt_meta m;
	uint8_t fr[256];
	setup_filter(&f);
	size_t n = v6_frame(fr, 53, DNSQ, sizeof(DNSQ));
	assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_DNS);
	assert_int_equal(m.l3, 40);
	assert_int_equal(m.dns, 62);
	assert_int_equal(m.v6, 1);
}

static void t_kernel(void **state)
{
	(void)state;
	struct pkt_filter f;
	struct pkt_meta m;
	uint8_t fr[256];
	setup_filter(&f);
	/* ARP */
	size_t n = put_eth(fr, 0x0806, 0);
	memset(fr + n, 0, 28);
	assert_int_equal(pkt_classify(&f, fr, n + 28, 0, &m), PKT_KERNEL);
	/* broadcast destination MAC */
	n = v4_frame(fr, 0, 53, DNSQ, sizeof(DNSQ));
	memset(fr, 0xff, 6);
	assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_KERNEL);
	/* another UDP port */
	n = v4_frame(fr, 0, 5353, DNSQ, sizeof(DNSQ));
	assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_KERNEL);
	/* another destination address */
	n = v4_frame(fr, 0, 53, DNSQ, sizeof(DNSQ));
	fr[14 + 19] = 54;
	fix_v4_hdr_cksum(fr + 14);
	assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_KERNEL);
	/* TCP */
	n = v4_frame(fr, 0, 53, DNSQ, sizeof(DNSQ));
	fr[14 + 9] = 6;
	fix_v4_hdr_cksum(fr + 14);
	assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_KERNEL);
	/* fragments: MF, and an offset */
	n = v4_frame(fr, 0, 53, DNSQ, sizeof(DNSQ));
	fr[14 + 6] = 0x20;
	fix_v4_hdr_cksum(fr + 14);
	assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_KERNEL);
	n = v4_frame(fr, 0, 53, DNSQ, sizeof(DNSQ));
	fr[14 + 7] = 0x10;
	fix_v4_hdr_cksum(fr + 14);
	assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_KERNEL);
	/* DF alone is fine */
	n = v4_frame(fr, 0, 53, DNSQ, sizeof(DNSQ));
	fr[14 + 6] = 0x40;
	fix_v4_hdr_cksum(fr + 14);
	assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_DNS);
	/* NOTIFY (opcode 4) and a response (QR) */
	uint8_t q[sizeof(DNSQ)];
	memcpy(q, DNSQ, sizeof(q));
	q[2] = 4 << 3;
	n = v4_frame(fr, 0, 53, q, sizeof(q));
	assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_KERNEL);
	q[2] = 0x80;
	n = v4_frame(fr, 0, 53, q, sizeof(q));
	assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_KERNEL);
	/* IPv6: an extension header (hop-by-hop), ICMPv6 */
	n = v6_frame(fr, 53, DNSQ, sizeof(DNSQ));
	fr[14 + 6] = 0;
	assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_KERNEL);
	fr[14 + 6] = 58;
	assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_KERNEL);
	/* 802.1ad outer tag */
	n = v4_frame(fr, 1, 53, DNSQ, sizeof(DNSQ));
	fr[12] = 0x88;
	fr[13] = 0xa8;
	assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_KERNEL);
}

static void t_v4_options_kernel(void **state)
{
	(void)state;
	struct pkt_filter f;
	struct pkt_meta m;
	uint8_t fr[256], tmp[256];
	setup_filter(&f);
	size_t n = v4_frame(fr, 0, 53, DNSQ, sizeof(DNSQ));
	/* insert 4 octets of options (NOPs): IHL 6 */
	memcpy(tmp, fr + 34, n - 34);
	memset(fr + 34, 1, 4);
	memcpy(fr + 38, tmp, n - 34);
	fr[14] = 0x46;
	size_t tot = n - 14 + 4;
	fr[16] = (uint8_t)(tot >> 8);
	fr[17] = (uint8_t)tot;
	fix_v4_hdr_cksum(fr + 14);
	assert_int_equal(pkt_classify(&f, fr, n + 4, 0, &m), PKT_KERNEL);
}

static void t_malformed(void **state)
{
	(void)state;
	struct pkt_filter f;
	struct pkt_meta m;
	uint8_t fr[256];
	setup_filter(&f);
	size_t n = v4_frame(fr, 0, 53, DNSQ, sizeof(DNSQ));
	/* truncated frames: every length shorter than the packet */
	for (size_t l = 0; l < n; l++) {
		enum pkt_verdict v = pkt_classify(&f, fr, l, 0, &m);
		assert_true(v == PKT_MALFORMED || v == PKT_KERNEL);
	}
	assert_int_equal(pkt_classify(&f, fr, 10, 0, &m), PKT_MALFORMED);
	assert_int_equal(pkt_classify(&f, fr, 30, 0, &m), PKT_MALFORMED);
	/* IHL 4 */
	n = v4_frame(fr, 0, 53, DNSQ, sizeof(DNSQ));
	fr[14] = 0x44;
	fix_v4_hdr_cksum(fr + 14);
	fr[14] = 0x44;
	assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_MALFORMED);
	/* IP version 5 */
	n = v4_frame(fr, 0, 53, DNSQ, sizeof(DNSQ));
	fr[14] = 0x55;
	assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_MALFORMED);
	/* bad header checksum, unless the NIC says it is good */
	n = v4_frame(fr, 0, 53, DNSQ, sizeof(DNSQ));
	fr[14 + 10] ^= 1;
	assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_MALFORMED);
	assert_int_equal(pkt_classify(&f, fr, n, PKT_RX_IP_GOOD, &m), PKT_DNS);
	/* the NIC says bad */
	n = v4_frame(fr, 0, 53, DNSQ, sizeof(DNSQ));
	assert_int_equal(pkt_classify(&f, fr, n, PKT_RX_L4_BAD, &m), PKT_MALFORMED);
	assert_int_equal(pkt_classify(&f, fr, n, PKT_RX_IP_BAD, &m), PKT_MALFORMED);
	/* total length beyond the frame */
	n = v4_frame(fr, 0, 53, DNSQ, sizeof(DNSQ));
	fr[17] += 1;
	fix_v4_hdr_cksum(fr + 14);
	assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_MALFORMED);
	/* UDP length larger, then smaller, than the IP payload */
	n = v4_frame(fr, 0, 53, DNSQ, sizeof(DNSQ));
	fr[34 + 5] += 1;
	assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_MALFORMED);
	fr[34 + 5] -= 2;
	assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_MALFORMED);
	/* bad UDP checksum; a zero one is fine over IPv4 */
	n = v4_frame(fr, 0, 53, DNSQ, sizeof(DNSQ));
	fr[34 + 6] ^= 0x10;
	assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_MALFORMED);
	assert_int_equal(pkt_classify(&f, fr, n, PKT_RX_L4_GOOD, &m), PKT_DNS);
	fr[34 + 6] = fr[34 + 7] = 0;
	assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_DNS);
	/* source port 0 */
	n = v4_frame(fr, 0, 53, DNSQ, sizeof(DNSQ));
	fr[34] = fr[35] = 0;
	fr[34 + 6] = fr[34 + 7] = 0;
	assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_MALFORMED);
	/* sources that cannot be answered: well formed, but a source never
	 * answered (t_bad_source has the rest) */
	static const uint8_t bad4[][4] = { { 0, 0, 0, 0 }, { 127, 0, 0, 1 },
	                                   { 224, 0, 0, 1 }, { 255, 255, 255, 255 } };
	for (size_t i = 0; i < sizeof(bad4) / sizeof(bad4[0]); i++) {
		n = v4_frame(fr, 0, 53, DNSQ, sizeof(DNSQ));
		memcpy(fr + 14 + 12, bad4[i], 4);
		fix_v4_hdr_cksum(fr + 14);
		fr[34 + 6] = fr[34 + 7] = 0;
		assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_BAD_SOURCE);
	}
	/* IPv6: zero UDP checksum, bad checksum, payload length past the
	 * frame; a multicast source is a bad source */
	n = v6_frame(fr, 53, DNSQ, sizeof(DNSQ));
	fr[54 + 6] = fr[54 + 7] = 0;
	assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_MALFORMED);
	n = v6_frame(fr, 53, DNSQ, sizeof(DNSQ));
	fr[54 + 7] ^= 1;
	assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_MALFORMED);
	n = v6_frame(fr, 53, DNSQ, sizeof(DNSQ));
	fr[14 + 5] += 1;
	assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_MALFORMED);
	n = v6_frame(fr, 53, DNSQ, sizeof(DNSQ));
	fr[14 + 8] = 0xff;
	assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_BAD_SOURCE);
}

/* Sources that are never answered (peer.h): each one a well-formed query
 * that would be answered from the client's address. */
static void t_bad_source(void **state)
{
	(void)state;
	struct pkt_filter f;
	struct pkt_meta m;
	uint8_t fr[256];
	setup_filter(&f);
	/* a second served address of each family, with a /24 and a /64 */
	static const uint8_t V4_SRV2[4] = { 198, 51, 100, 53 };
	static const uint8_t V6_SRV2[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0x53, [15] = 0x53 };
	memcpy(f.v4[1], V4_SRV2, 4);
	f.plen4[1] = 24;
	f.n4 = 2;
	memcpy(f.v6[1], V6_SRV2, 16);
	f.plen6[1] = 64;
	f.n6 = 2;
	size_t n = v4_frame(fr, 0, 53, DNSQ, sizeof(DNSQ));
	assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_DNS);

	/* IPv4: a served address (the one asked, another one), from any
	 * port, 53 included; the network and broadcast addresses of a served
	 * /24; the unspecified, loopback, multicast, reserved ranges */
	struct { uint8_t a[4]; uint16_t sport; } bad4[] = {
		{ { 192, 0, 2, 53 }, 53 }, { { 192, 0, 2, 53 }, 40000 },
		{ { 198, 51, 100, 53 }, 53 }, { { 198, 51, 100, 255 }, 1234 },
		{ { 198, 51, 100, 0 }, 1234 }, { { 0, 1, 2, 3 }, 1234 },
		{ { 127, 0, 0, 1 }, 53 }, { { 127, 255, 255, 254 }, 1234 },
		{ { 224, 0, 0, 251 }, 5353 }, { { 239, 255, 255, 250 }, 1900 },
		{ { 240, 0, 0, 1 }, 1234 }, { { 255, 255, 255, 255 }, 1234 },
	};
	for (size_t i = 0; i < sizeof(bad4) / sizeof(bad4[0]); i++) {
		for (int vlan = 0; vlan <= 1; vlan++) {
			size_t l2 = vlan ? 18 : 14;
			n = v4_frame(fr, vlan, 53, DNSQ, sizeof(DNSQ));
			memcpy(fr + l2 + 12, bad4[i].a, 4);
			fr[l2 + 20] = (uint8_t)(bad4[i].sport >> 8);
			fr[l2 + 21] = (uint8_t)bad4[i].sport;
			fix_v4(fr, l2);
			assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_BAD_SOURCE);
			/* whatever goes to the served address: TCP, another UDP
			 * port, options (the kernel's share) are dropped too */
			fr[l2 + 9] = 6;
			fix_v4_hdr_cksum(fr + l2);
			assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_BAD_SOURCE);
		}
	}
	/* the neighbours of the broadcast address are clients; the prefix of
	 * an address served without one has no broadcast; a /31 (RFC 3021)
	 * neither */
	static const uint8_t good4[][4] = { { 198, 51, 100, 254 }, { 198, 51, 100, 1 },
	                                    { 192, 0, 2, 255 }, { 192, 0, 2, 0 },
	                                    { 198, 51, 101, 255 }, { 126, 255, 255, 255 },
	                                    { 223, 255, 255, 255 } };
	for (size_t i = 0; i < sizeof(good4) / sizeof(good4[0]); i++) {
		n = v4_frame(fr, 0, 53, DNSQ, sizeof(DNSQ));
		memcpy(fr + 14 + 12, good4[i], 4);
		fix_v4(fr, 14);
		assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_DNS);
	}
	f.plen4[1] = 31;
	n = v4_frame(fr, 0, 53, DNSQ, sizeof(DNSQ));
	memcpy(fr + 14 + 12, (const uint8_t[]){ 198, 51, 100, 52 }, 4);
	fix_v4(fr, 14);
	assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_DNS);
	f.plen4[1] = 30;    /* 198.51.100.52/30: .52 and .55 */
	assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_BAD_SOURCE);
	memcpy(fr + 14 + 12, (const uint8_t[]){ 198, 51, 100, 55 }, 4);
	fix_v4(fr, 14);
	assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_BAD_SOURCE);
	memcpy(fr + 14 + 12, (const uint8_t[]){ 198, 51, 100, 54 }, 4);
	fix_v4(fr, 14);
	assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_DNS);

	/* IPv6: served addresses, IPv4-mapped and IPv4-compatible ones,
	 * unspecified, loopback, multicast */
	static const uint8_t bad6[][16] = {
		{ 0x20, 0x01, 0x0d, 0xb8, [15] = 0x53 },
		{ 0x20, 0x01, 0x0d, 0xb8, 0, 0x53, [15] = 0x53 },
		{ [10] = 0xff, [11] = 0xff, 127, 0, 0, 1 },
		{ [10] = 0xff, [11] = 0xff, 192, 0, 2, 53 },
		{ [10] = 0xff, [11] = 0xff, 192, 0, 2, 1 },
		{ [12] = 192, 0, 2, 1 },
		{ 0 },
		{ [15] = 1 },
		{ 0xff, 0x02, [15] = 1 },
		{ 0xff, 0x05, [15] = 3 },
	};
	for (size_t i = 0; i < sizeof(bad6) / sizeof(bad6[0]); i++) {
		n = v6_frame(fr, 53, DNSQ, sizeof(DNSQ));
		memcpy(fr + 14 + 8, bad6[i], 16);
		fix_v6(fr);
		assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_BAD_SOURCE);
		fr[14 + 6] = 6;     /* TCP: the kernel's share, dropped too */
		assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_BAD_SOURCE);
	}
	/* an address near the mapped range, a link-local one: clients */
	static const uint8_t good6[][16] = {
		{ [10] = 0xff, [11] = 0xfe, 192, 0, 2, 1 },
		{ 0x00, 0x64, 0xff, 0x9b, [12] = 192, 0, 2, 1 },
		{ 0xfe, 0x80, [15] = 1 },
		{ 0x20, 0x01, 0x0d, 0xb8, 0, 0x53, [15] = 0x54 },
	};
	for (size_t i = 0; i < sizeof(good6) / sizeof(good6[0]); i++) {
		n = v6_frame(fr, 53, DNSQ, sizeof(DNSQ));
		memcpy(fr + 14 + 8, good6[i], 16);
		fix_v6(fr);
		assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_DNS);
	}

	/* group and zero source MACs: broadcast, IPv4 and IPv6 multicast,
	 * any I/G bit, all zero; on DNS frames and on any other frame (ARP) */
	static const uint8_t badmac[][6] = {
		{ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, { 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb },
		{ 0x33, 0x33, 0x00, 0x00, 0x00, 0x01 }, { 0x03, 0, 0, 0, 0, 0x01 },
		{ 0, 0, 0, 0, 0, 0 },
	};
	for (size_t i = 0; i < sizeof(badmac) / sizeof(badmac[0]); i++) {
		n = v4_frame(fr, 0, 53, DNSQ, sizeof(DNSQ));
		memcpy(fr + 6, badmac[i], 6);
		assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_BAD_SOURCE);
		n = v6_frame(fr, 53, DNSQ, sizeof(DNSQ));
		memcpy(fr + 6, badmac[i], 6);
		assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_BAD_SOURCE);
		n = put_eth(fr, 0x0806, 0);
		memset(fr + n, 0, 28);
		memset(fr, 0xff, 6);
		memcpy(fr + 6, badmac[i], 6);
		assert_int_equal(pkt_classify(&f, fr, n + 28, 0, &m), PKT_BAD_SOURCE);
	}
	/* a locally administered unicast MAC is a station */
	n = v4_frame(fr, 0, 53, DNSQ, sizeof(DNSQ));
	memcpy(fr + 6, (const uint8_t[]){ 0x02, 0xff, 0xff, 0xff, 0xff, 0xff }, 6);
	assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_DNS);
}

/* DNS from the ports of services that answer anything: dropped; other
 * low and high ports, 53 included, are clients. */
static void t_loop_port(void **state)
{
	(void)state;
	struct pkt_filter f;
	struct pkt_meta m;
	uint8_t fr[256];
	setup_filter(&f);
	static const uint16_t loop[] = { 7, 11, 13, 17, 19, 37, 69, 123 };
	for (size_t i = 0; i < sizeof(loop) / sizeof(loop[0]); i++) {
		size_t n = v4_frame(fr, 0, 53, DNSQ, sizeof(DNSQ));
		fr[34] = (uint8_t)(loop[i] >> 8);
		fr[35] = (uint8_t)loop[i];
		fix_v4(fr, 14);
		assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_LOOP_PORT);
		/* an opcode the kernel would answer: dropped all the same */
		fr[42 + 2] = 5 << 3;
		fix_v4(fr, 14);
		assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_LOOP_PORT);
		/* to another port of ours: the kernel's business */
		n = v4_frame(fr, 0, 5353, DNSQ, sizeof(DNSQ));
		fr[34] = (uint8_t)(loop[i] >> 8);
		fr[35] = (uint8_t)loop[i];
		fix_v4(fr, 14);
		assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_KERNEL);
		/* broken: malformed before anything else */
		n = v4_frame(fr, 0, 53, DNSQ, sizeof(DNSQ));
		fr[34] = (uint8_t)(loop[i] >> 8);
		fr[35] = (uint8_t)loop[i];
		assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_MALFORMED);
		n = v6_frame(fr, 53, DNSQ, sizeof(DNSQ));
		fr[54] = (uint8_t)(loop[i] >> 8);
		fr[55] = (uint8_t)loop[i];
		fix_v6(fr);
		assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_LOOP_PORT);
	}
	static const uint16_t ok[] = { 1, 9, 53, 124, 1023, 1024, 5353, 65535 };
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		size_t n = v4_frame(fr, 0, 53, DNSQ, sizeof(DNSQ));
		fr[34] = (uint8_t)(ok[i] >> 8);
		fr[35] = (uint8_t)ok[i];
		fix_v4(fr, 14);
		assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_DNS);
	}
}

/* 802.1Q: VID 4095 is reserved (malformed); 0 (priority only) and 4094
 * are fine. */
static void t_vlan(void **state)
{
	(void)state;
	struct pkt_filter f;
	struct pkt_meta m;
	uint8_t fr[256];
	setup_filter(&f);
	static const struct { uint16_t tci; enum pkt_verdict v; } c[] = {
		{ 0x0fff, PKT_MALFORMED }, { 0xefff, PKT_MALFORMED }, { 0x0000, PKT_DNS },
		{ 0xe000, PKT_DNS }, { 0x0ffe, PKT_DNS }, { 0x0001, PKT_DNS },
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		size_t n = v4_frame(fr, 1, 53, DNSQ, sizeof(DNSQ));
		fr[14] = (uint8_t)(c[i].tci >> 8);
		fr[15] = (uint8_t)c[i].tci;
		assert_int_equal(pkt_classify(&f, fr, n, 0, &m), c[i].v);
	}
}

/* The reply is not ECN capable, whatever the query's marks (RFC 3168:
 * a CE or ECT mark must not be echoed by a sender that does not do ECN);
 * the DSCP bits are kept. */
static void t_reply_ecn(void **state)
{
	(void)state;
	struct pkt_filter f;
	struct pkt_meta m;
	uint8_t fr[512];
	setup_filter(&f);
	size_t n = v4_frame(fr, 0, 53, DNSQ, sizeof(DNSQ));
	fr[15] = 0xb8 | 0x03;          /* DSCP EF, CE */
	fix_v4_hdr_cksum(fr + 14);
	assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_DNS);
	pkt_reply(fr, &m, sizeof(DNSQ), false);
	assert_int_equal(fr[15], 0xb8);
	assert_int_equal(ref_sum(fr + 14, 20, 0), 0xffff);
	n = v6_frame(fr, 53, DNSQ, sizeof(DNSQ));
	fr[14] = 0x6b;                 /* traffic class 0xb? ... */
	fr[15] = 0x30;                 /* ... low nibble 3: ECN CE */
	assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_DNS);
	pkt_reply(fr, &m, sizeof(DNSQ), false);
	assert_int_equal(fr[14], 0x6b);
	assert_int_equal(fr[15] & 0x30, 0);
}

static void t_own(void **state)
{
	(void)state;
	struct pkt_filter f;
	struct pkt_meta m;
	uint8_t fr[256];
	setup_filter(&f);
	size_t n = v4_frame(fr, 0, 53, DNSQ, sizeof(DNSQ));
	memcpy(fr + 6, OUR_MAC, 6);
	assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_OWN);
}

/* The reply: addresses and ports swapped, lengths and checksums right
 * (checked with the reference implementation), for both families, odd
 * and even lengths, with and without checksum offload. */
static void t_reply(void **state)
{
	(void)state;
	struct pkt_filter f;
	struct pkt_meta m;
	uint8_t fr[2048];
	setup_filter(&f);
	for (int v6 = 0; v6 <= 1; v6++) {
		for (size_t rl = 12; rl < 1300; rl += 97) {
			size_t n = v6 ? v6_frame(fr, 53, DNSQ, sizeof(DNSQ))
			              : v4_frame(fr, 0, 53, DNSQ, sizeof(DNSQ));
			assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_DNS);
			for (size_t i = 0; i < rl; i++)
				fr[m.dns + i] = (uint8_t)(i * 7 + rl);
			size_t out = pkt_reply(fr, &m, rl, false);
			assert_int_equal(out, m.dns + rl);
			assert_memory_equal(fr, CLI_MAC, 6);
			assert_memory_equal(fr + 6, OUR_MAC, 6);
			uint8_t *ip = fr + m.l2, *udp = ip + m.l3;
			if (v6) {
				assert_memory_equal(ip + 8, V6_SRV, 16);
				assert_memory_equal(ip + 24, V6_CLI, 16);
				assert_int_equal(ip[4] << 8 | ip[5], 8 + rl);
			} else {
				assert_memory_equal(ip + 12, V4_SRV, 4);
				assert_memory_equal(ip + 16, V4_CLI, 4);
				assert_int_equal(ip[2] << 8 | ip[3], 28 + rl);
				assert_int_equal(ref_sum(ip, 20, 0), 0xffff);
			}
			assert_int_equal(udp[0] << 8 | udp[1], 53);
			assert_int_equal(udp[2] << 8 | udp[3], v6 ? 0xc002 : 0xc001);
			assert_int_equal(udp[4] << 8 | udp[5], 8 + rl);
			assert_int_not_equal(udp[6] << 8 | udp[7], 0);
			/* the whole datagram sums to 0 (0xffff) with the pseudo-header */
			assert_int_equal(ref_udp_cksum(ip, v6, udp, 8 + rl), 0);
			/* and the reply classifies as a valid frame the other way */
			struct pkt_filter back;
			setup_filter(&back);
			memcpy(back.mac, CLI_MAC, 6);
			back.dns_port = v6 ? 0xc002 : 0xc001;
			memcpy(back.v4[0], V4_CLI, 4);
			memcpy(back.v6[0], V6_CLI, 16);
			struct pkt_meta bm;
			/* a response: QR is in our bytes by chance; any verdict
			 * but malformed shows the framing is right */
			assert_int_not_equal(pkt_classify(&back, fr, out, 0, &bm), PKT_MALFORMED);
			/* offload: the pseudo-header sum, uncomplemented */
			n = v6 ? v6_frame(fr, 53, DNSQ, sizeof(DNSQ))
			       : v4_frame(fr, 0, 53, DNSQ, sizeof(DNSQ));
			assert_int_equal(pkt_classify(&f, fr, n, 0, &m), PKT_DNS);
			pkt_reply(fr, &m, rl, true);
			ip = fr + m.l2;
			udp = ip + m.l3;
			uint32_t ps = v6 ? ref_sum(ip + 8, 32, 0) : ref_sum(ip + 12, 8, 0);
			uint16_t want = ref_sum(NULL, 0, ps + 17 + (uint32_t)(8 + rl));
			assert_int_equal(udp[6] << 8 | udp[7], want);
		}
	}
}

/* pkt_is_routing(): BGP over TCP (either port 179) and BFD control (UDP
 * to 3784 or 4784), IPv4 and IPv6, tagged or not; nothing else. */
static void t_routing(void **state)
{
	(void)state;
	uint8_t fr[256];
	uint8_t pl[24] = { 0 };
	/* BFD single hop and multihop, both families; the source port of BFD
	 * (49152 and up) and other UDP are not */
	size_t n = v4_frame(fr, 0, 3784, pl, 24);
	assert_true(pkt_is_routing(fr, n));
	n = v4_frame(fr, 1, 4784, pl, 24);
	assert_true(pkt_is_routing(fr, n));
	n = v6_frame(fr, 3784, pl, 24);
	assert_true(pkt_is_routing(fr, n));
	n = v6_frame(fr, 4784, pl, 24);
	assert_true(pkt_is_routing(fr, n));
	n = v4_frame(fr, 0, 53, pl, 20);
	assert_false(pkt_is_routing(fr, n));
	n = v6_frame(fr, 3785, pl, 20);
	assert_false(pkt_is_routing(fr, n));
	/* a BFD reply goes from 3784 to the peer's source port: to 49152 */
	n = v4_frame(fr, 0, 49152, pl, 20);
	size_t l2 = 14;
	fr[l2 + 20] = 3784 >> 8;
	fr[l2 + 21] = 3784 & 0xff;
	assert_false(pkt_is_routing(fr, n));   /* (source 3784 alone: not BFD control) */

	/* TCP: the same frames with protocol 6; 179 at either end */
	n = v4_frame(fr, 0, 179, pl, 20);
	fr[l2 + 9] = 6;
	assert_true(pkt_is_routing(fr, n));
	fr[l2 + 20] = 0;
	fr[l2 + 21] = 179;
	fr[l2 + 22] = 0xc0;
	assert_true(pkt_is_routing(fr, n));       /* from 179 */
	fr[l2 + 21] = 53;
	assert_false(pkt_is_routing(fr, n));      /* DNS over TCP */
	n = v6_frame(fr, 179, pl, 20);
	fr[l2 + 6] = 6;
	assert_true(pkt_is_routing(fr, n));
	n = v4_frame(fr, 1, 179, pl, 20);
	fr[l2 + 4 + 9] = 6;
	assert_true(pkt_is_routing(fr, n));       /* 802.1Q */

	/* IPv4 with options: the ports are after the longer header */
	uint8_t opt[64];
	n = v4_frame(fr, 0, 179, pl, 20);
	fr[l2 + 9] = 6;
	memcpy(opt, fr + l2 + 20, 28);
	memset(fr + l2 + 20, 1, 4);               /* 4 octets of NOP options */
	memcpy(fr + l2 + 24, opt, 28);
	fr[l2] = 0x46;
	assert_true(pkt_is_routing(fr, n + 4));
	/* a later fragment carries no ports; the first one does */
	n = v4_frame(fr, 0, 3784, pl, 20);
	fr[l2 + 7] = 0x10;
	assert_false(pkt_is_routing(fr, n));
	fr[l2 + 6] = 0x20;   /* MF, offset 0x10: still later */
	assert_false(pkt_is_routing(fr, n));
	fr[l2 + 6] = 0x20;
	fr[l2 + 7] = 0;      /* MF, offset 0: the first */
	assert_true(pkt_is_routing(fr, n));

	/* short, truncated and other frames */
	n = v4_frame(fr, 0, 3784, pl, 20);
	assert_false(pkt_is_routing(fr, 13));
	assert_false(pkt_is_routing(fr, l2 + 20 + 3));   /* ports cut */
	assert_true(pkt_is_routing(fr, l2 + 20 + 4));
	fr[l2] = 0x44;                                   /* IHL 4: not IPv4 */
	assert_false(pkt_is_routing(fr, n));
	fr[l2] = 0x55;                                   /* version 5 */
	assert_false(pkt_is_routing(fr, n));
	n = v4_frame(fr, 0, 3784, pl, 20);
	fr[12] = 0x08;
	fr[13] = 0x06;                                   /* ARP */
	assert_false(pkt_is_routing(fr, n));
	n = v6_frame(fr, 3784, pl, 20);
	fr[l2 + 6] = 44;                                 /* a fragment header */
	assert_false(pkt_is_routing(fr, n));
	fr[l2 + 6] = 58;                                 /* ICMPv6 */
	assert_false(pkt_is_routing(fr, n));
	assert_false(pkt_is_routing(fr, l2 + 40 + 3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_routing),
		cmocka_unit_test(t_v4_query),
		cmocka_unit_test(t_v6_query),
		cmocka_unit_test(t_kernel),
		cmocka_unit_test(t_v4_options_kernel),
		cmocka_unit_test(t_malformed),
		cmocka_unit_test(t_own),
		cmocka_unit_test(t_bad_source),
		cmocka_unit_test(t_loop_port),
		cmocka_unit_test(t_vlan),
		cmocka_unit_test(t_reply),
		cmocka_unit_test(t_reply_ecn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
