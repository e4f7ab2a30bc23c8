/* pkt.c: frame classification and in-place responses for the fast path. */
#include <string.h>

#include "peer.h"
#include "pkt.h"

#define ETH_HLEN 14
#define ETH_P_IPV4 0x0800
#define ETH_P_IPV6 0x86dd
#define ETH_P_8021Q 0x8100
#define IPPROTO_UDP_ 17
#define IPPROTO_TCP_ 6
#define PORT_BGP 179
#define PORT_BFD 3784          /* single hop (RFC 5881) */
#define PORT_BFD_MULTIHOP 4784 /* RFC 5883 */

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* One's complement sum (RFC 1071) of len octets, added to sum: 32-bit
 * words into a 64-bit accumulator, folded at the end. The result is in
 * the memory's byte order, which the one's complement sum does not mind
 * as long as it is folded and stored back the same way. */
static uint64_t csum_add(uint64_t sum, const uint8_t *p, size_t len)
{
	while (len >= 8) {
		uint32_t a, b;
		memcpy(&a, p, 4);
		memcpy(&b, p + 4, 4);
		sum += (uint64_t)a + b;
		p += 8;
		len -= 8;
	}
	if (len >= 4) {
		uint32_t a;
		memcpy(&a, p, 4);
		sum += a;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t a;
		memcpy(&a, p, 2);
		sum += a;
		p += 2;
		len -= 2;
	}
	if (len) {
		uint8_t last[2] = { p[0], 0 };
		uint16_t a;
		memcpy(&a, last, 2);
		sum += a;
	}
	return sum;
}

/* Fold to 16 bits and complement; the value is in memory byte order. */
static uint16_t csum_fold(uint64_t sum)
{
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffu) + (sum >> 16);
	sum = (sum & 0xffffu) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Pseudo-header sum: addresses, protocol, UDP length. */
static uint64_t pseudo_sum(const uint8_t *ip, bool v6, size_t udp_len)
{
	uint64_t sum = v6 ? csum_add(0, ip + 8, 32) : csum_add(0, ip + 12, 8);
	uint8_t tail[8] = { 0 };
	/* zero, protocol, then the length (32 bits for IPv6, 16 for IPv4; the
	 * sum is the same for lengths below 65536) */
	tail[3] = IPPROTO_UDP_;
	tail[6] = (uint8_t)(udp_len >> 8);
	tail[7] = (uint8_t)udp_len;
	return csum_add(sum, tail, 8);
}

uint16_t pkt_udp_cksum(const uint8_t *fr, const struct pkt_meta *m, size_t udp_len)
{
	const uint8_t *ip = fr + m->l2;
	uint64_t sum = pseudo_sum(ip, m->v6, udp_len);
	return csum_fold(csum_add(sum, ip + m->l3, udp_len));
}

uint16_t pkt_ipv4_cksum(const uint8_t *ip, size_t ihl)
{
	return csum_fold(csum_add(0, ip, ihl));
}

static bool v4_served(const struct pkt_filter *f, const uint8_t *a)
{
	for (unsigned i = 0; i < f->n4; i++)
		if (memcmp(f->v4[i], a, 4) == 0)
			return true;
	return false;
}

static bool v6_served(const struct pkt_filter *f, const uint8_t *a)
{
	for (unsigned i = 0; i < f->n6; i++)
		if (memcmp(f->v6[i], a, 16) == 0)
			return true;
	return false;
}

/* The network or broadcast address (host part all zeros or all ones) of
 * the prefix of a served address. */
static bool v4_prefix_broadcast(const struct pkt_filter *f, const uint8_t *a)
{
	uint32_t src = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
	for (unsigned i = 0; i < f->n4; i++) {
		unsigned plen = f->plen4[i];
		if (plen == 0 || plen > 30)
			continue;   /* the address alone, /31 (RFC 3021) or /32 */
		const uint8_t *s = f->v4[i];
		uint32_t net = (uint32_t)s[0] << 24 | (uint32_t)s[1] << 16 | (uint32_t)s[2] << 8 | s[3];
		uint32_t host = 0xffffffffu >> plen;
		if ((src & ~host) == (net & ~host) && ((src & host) == 0 || (src & host) == host))
			return true;
	}
	return false;
}

/* An IPv4 source to a served address that is never answered. */
static bool v4_bad_source(const struct pkt_filter *f, const uint8_t *a)
{
	return peer_v4_never(a, PEER_WIRE) || v4_served(f, a) || v4_prefix_broadcast(f, a);
}

static bool v6_bad_source(const struct pkt_filter *f, const uint8_t *a)
{
	return peer_v6_never(a, PEER_WIRE) || v6_served(f, a);
}

/* UDP and DNS checks shared by both families; ip is the IP header, udp
 * the UDP header, plen the IP payload length (validated). */
static enum pkt_verdict udp_dns(const struct pkt_filter *f, const uint8_t *fr,
                                struct pkt_meta *m, size_t plen, unsigned rx_flags)
{
	const uint8_t *udp = fr + m->l2 + m->l3;
	if (plen < 8)
		return PKT_MALFORMED;
	if (rd16(udp + 2) != f->dns_port)
		return PKT_KERNEL;
	uint16_t ulen = rd16(udp + 4);
	if (ulen != plen || rd16(udp) == 0)
		return PKT_MALFORMED;
	if (rx_flags & PKT_RX_L4_BAD)
		return PKT_MALFORMED;
	if (rd16(udp + 6) == 0) {
		if (m->v6)
			return PKT_MALFORMED;   /* mandatory over IPv6 (RFC 8200 8.1) */
	} else if (!(rx_flags & PKT_RX_L4_GOOD) && pkt_udp_cksum(fr, m, ulen) != 0) {
		return PKT_MALFORMED;
	}
	if (peer_loop_port(rd16(udp)))
		return PKT_LOOP_PORT;
	m->dns = (uint16_t)(m->l2 + m->l3 + 8);
	m->dns_len = (uint16_t)(ulen - 8);
	const uint8_t *d = fr + m->dns;
	/* QR set, or an opcode other than QUERY: the kernel's server */
	if (m->dns_len >= 3 && (d[2] & 0xf8) != 0)
		return PKT_KERNEL;
	return PKT_DNS;
}

enum pkt_verdict pkt_classify(const struct pkt_filter *f, const uint8_t *fr, size_t len,
                              unsigned rx_flags, struct pkt_meta *m)
{
	if (len < ETH_HLEN)
		return PKT_MALFORMED;
	if (memcmp(fr + 6, f->mac, 6) == 0)
		return PKT_OWN;
	if (peer_mac_never(fr + 6))
		return PKT_BAD_SOURCE;
	if (memcmp(fr, f->mac, 6) != 0)
		return PKT_KERNEL;
	uint16_t type = rd16(fr + 12);
	size_t l2 = ETH_HLEN;
	if (type == ETH_P_8021Q) {
		if (len < ETH_HLEN + 4)
			return PKT_MALFORMED;
		/* VID 0xFFF is reserved (IEEE 802.1Q 9.6, table 9-2): never on the wire,
		 * and an answer would carry it back */
		if ((rd16(fr + 14) & 0x0fff) == 0x0fff)
			return PKT_MALFORMED;
		type = rd16(fr + 16);
		l2 += 4;
	}
	m->l2 = (uint16_t)l2;
	const uint8_t *ip = fr + l2;
	size_t avail = len - l2;
	if (type == ETH_P_IPV4) {
		m->v6 = 0;
		if (avail < 20 || (ip[0] >> 4) != 4)
			return PKT_MALFORMED;
		size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
		size_t tot = rd16(ip + 2);
		if (ihl < 20 || ihl > avail || tot < ihl || tot > avail)
			return PKT_MALFORMED;
		if (rx_flags & PKT_RX_IP_BAD)
			return PKT_MALFORMED;
		if (!(rx_flags & PKT_RX_IP_GOOD) && pkt_ipv4_cksum(ip, ihl) != 0)
			return PKT_MALFORMED;
		if (!v4_served(f, ip + 16))
			return PKT_KERNEL;
		/* before the kernel's share: no frame from such a source is
		 * ours to answer, by us or by the kernel */
		if (v4_bad_source(f, ip + 12))
			return PKT_BAD_SOURCE;
		if (ihl != 20 || (rd16(ip + 6) & 0x3fff) != 0 || ip[9] != IPPROTO_UDP_)
			return PKT_KERNEL;    /* options, fragments, not UDP */
		m->l3 = 20;
		return udp_dns(f, fr, m, tot - 20, rx_flags);
	}
	if (type == ETH_P_IPV6) {
		m->v6 = 1;
		if (avail < 40 || (ip[0] >> 4) != 6)
			return PKT_MALFORMED;
		size_t plen = rd16(ip + 4);
		if (40 + plen > avail)
			return PKT_MALFORMED;
		if (!v6_served(f, ip + 24))
			return PKT_KERNEL;
		if (v6_bad_source(f, ip + 8))
			return PKT_BAD_SOURCE;
		if (ip[6] != IPPROTO_UDP_)
			return PKT_KERNEL;    /* extension headers, ICMPv6, TCP, ... */
		m->l3 = 40;
		return udp_dns(f, fr, m, plen, rx_flags);
	}
	return PKT_KERNEL;
}

bool pkt_is_routing(const uint8_t *fr, size_t len)
{
	if (len < ETH_HLEN)
		return false;
	uint16_t type = rd16(fr + 12);
	size_t l2 = ETH_HLEN;
	if (type == ETH_P_8021Q) {
		if (len < ETH_HLEN + 4)
			return false;
		type = rd16(fr + 16);
		l2 += 4;
	}
	const uint8_t *ip = fr + l2;
	size_t avail = len - l2, l3;
	uint8_t proto;
	if (type == ETH_P_IPV4) {
		if (avail < 20 || (ip[0] >> 4) != 4)
			return false;
		l3 = (size_t)(ip[0] & 0x0f) * 4;
		if ((rd16(ip + 6) & 0x1fff) != 0)
			return false;     /* a later fragment: no ports */
		proto = ip[9];
	} else if (type == ETH_P_IPV6) {
		if (avail < 40 || (ip[0] >> 4) != 6)
			return false;
		l3 = 40;
		proto = ip[6];
	} else {
		return false;
	}
	if (l3 < 20 || avail < l3 + 4)
		return false;
	uint16_t sport = rd16(ip + l3), dport = rd16(ip + l3 + 2);
	if (proto == IPPROTO_TCP_)
		return sport == PORT_BGP || dport == PORT_BGP;
	if (proto == IPPROTO_UDP_)
		return dport == PORT_BFD || dport == PORT_BFD_MULTIHOP;
	return false;
}

size_t pkt_reply(uint8_t *fr, const struct pkt_meta *m, size_t dns_len, bool l4_offload)
{
	uint8_t tmp[16];
	memcpy(tmp, fr, 6);
	memcpy(fr, fr + 6, 6);
	memcpy(fr + 6, tmp, 6);
	uint8_t *ip = fr + m->l2;
	uint8_t *udp = ip + m->l3;
	size_t ulen = 8 + dns_len;
	if (m->v6) {
		memcpy(tmp, ip + 8, 16);
		memcpy(ip + 8, ip + 24, 16);
		memcpy(ip + 24, tmp, 16);
		wr16(ip + 4, (uint16_t)ulen);
		ip[1] &= (uint8_t)~0x30;   /* ECN bits of the traffic class: not ECN capable */
		ip[7] = 64;
	} else {
		memcpy(tmp, ip + 12, 4);
		memcpy(ip + 12, ip + 16, 4);
		memcpy(ip + 16, tmp, 4);
		wr16(ip + 2, (uint16_t)(20 + ulen));
		ip[1] &= (uint8_t)~0x03;   /* ECN: the answer is not ECN capable */
		wr16(ip + 6, 0);        /* no DF: let routers fragment (as PMTUDISC_OMIT) */
		ip[8] = 64;
		wr16(ip + 10, 0);
		uint16_t c = pkt_ipv4_cksum(ip, 20);
		memcpy(ip + 10, &c, 2);
	}
	memcpy(tmp, udp, 2);
	memcpy(udp, udp + 2, 2);
	memcpy(udp + 2, tmp, 2);
	wr16(udp + 4, (uint16_t)ulen);
	wr16(udp + 6, 0);
	if (l4_offload) {
		/* the NIC wants the folded, uncomplemented pseudo-header sum */
		uint16_t c = (uint16_t)~csum_fold(pseudo_sum(ip, m->v6, ulen));
		memcpy(udp + 6, &c, 2);
	} else {
		uint16_t c = pkt_udp_cksum(fr, m, ulen);
		if (c == 0)
			c = 0xffff;     /* 0 means "no checksum" (RFC 768) */
		memcpy(udp + 6, &c, 2);
	}
	return m->l2 + m->l3 + ulen;
}
