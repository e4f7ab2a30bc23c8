/* kprobe.c: the frames of the kernel probes (kprobe.h). */
#include "kprobe.h"

#include <string.h>

#define ETH_HLEN 14

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, (uint16_t)(v >> 16));
	wr16(p + 2, (uint16_t)v);
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t sum16(uint32_t s, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)(p[n - 1] << 8);
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

size_t kprobe_build(const struct kprobe_spec *s, uint8_t flags, uint32_t seq, uint8_t *fr,
                    size_t cap)
{
	size_t l3 = s->v6 ? 40 : 20, flen = ETH_HLEN + l3 + 20;
	if (flen > cap)
		return 0;
	memset(fr, 0, flen);
	memcpy(fr, s->dst_mac, 6);
	memcpy(fr + 6, s->src_mac, 6);
	wr16(fr + 12, s->v6 ? 0x86dd : 0x0800);
	uint8_t *ip = fr + ETH_HLEN, *tcp = ip + l3;
	uint32_t ps;
	if (s->v6) {
		ip[0] = 0x60;
		wr16(ip + 4, 20);
		ip[6] = 6;
		ip[7] = 64;
		memcpy(ip + 8, s->src, 16);
		memcpy(ip + 24, s->dst, 16);
		ps = sum16(0, ip + 8, 32);
	} else {
		ip[0] = 0x45;
		wr16(ip + 2, (uint16_t)(20 + 20));
		ip[6] = 0x40;                      /* DF */
		ip[8] = 64;
		ip[9] = 6;
		memcpy(ip + 12, s->src, 4);
		memcpy(ip + 16, s->dst, 4);
		wr16(ip + 10, fold(sum16(0, ip, 20)));
		ps = sum16(0, ip + 12, 8);
	}
	wr16(tcp, s->sport);
	wr16(tcp + 2, s->dport);
	wr32(tcp + 4, seq);
	tcp[12] = 5 << 4;
	tcp[13] = flags;
	wr16(tcp + 14, 1024);
	ps += 6 + 20;                              /* protocol, TCP length */
	wr16(tcp + 16, fold(sum16(ps, tcp, 20)));
	return flen;
}

/* The L3 header of a frame from or to s's addresses: its protocol
 * payload and length, or NULL. */
static const uint8_t *l4_of(const struct kprobe_spec *s, const uint8_t *fr, size_t len,
                            uint8_t proto, size_t *rest)
{
	if (len < ETH_HLEN + 20)
		return NULL;
	uint16_t et = rd16(fr + 12);
	const uint8_t *ip = fr + ETH_HLEN;
	size_t r = len - ETH_HLEN;
	if (s->v6) {
		if (et != 0x86dd || r < 40 + 8 || (ip[0] >> 4) != 6 || ip[6] != proto ||
		    memcmp(ip + 8, s->dst, 16) != 0 || memcmp(ip + 24, s->src, 16) != 0)
			return NULL;
		*rest = r - 40;
		return ip + 40;
	}
	size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
	if (et != 0x0800 || (ip[0] >> 4) != 4 || ihl < 20 || r < ihl + 8 || ip[9] != proto ||
	    (rd16(ip + 6) & 0x3fff) != 0 || memcmp(ip + 12, s->dst, 4) != 0 ||
	    memcmp(ip + 16, s->src, 4) != 0)
		return NULL;
	*rest = r - ihl;
	return ip + ihl;
}

size_t kprobe_build_echo(const struct kprobe_spec *s, uint8_t *fr, size_t cap)
{
	size_t l3 = s->v6 ? 40 : 20, flen = ETH_HLEN + l3 + 16;
	if (flen > cap)
		return 0;
	memset(fr, 0, flen);
	memcpy(fr, s->dst_mac, 6);
	memcpy(fr + 6, s->src_mac, 6);
	wr16(fr + 12, s->v6 ? 0x86dd : 0x0800);
	uint8_t *ip = fr + ETH_HLEN, *ic = ip + l3;
	ic[0] = s->v6 ? 128 : 8;
	wr16(ic + 4, s->sport);
	wr16(ic + 6, (uint16_t)s->seq);
	memcpy(ic + 8, "edgedns!", 8);
	if (s->v6) {
		ip[0] = 0x60;
		wr16(ip + 4, 16);
		ip[6] = 58;
		ip[7] = 64;
		memcpy(ip + 8, s->src, 16);
		memcpy(ip + 24, s->dst, 16);
		wr16(ic + 2, fold(sum16(sum16(0, ip + 8, 32) + 58 + 16, ic, 16)));
	} else {
		ip[0] = 0x45;
		wr16(ip + 2, (uint16_t)(20 + 16));
		ip[6] = 0x40;
		ip[8] = 64;
		ip[9] = 1;
		memcpy(ip + 12, s->src, 4);
		memcpy(ip + 16, s->dst, 4);
		wr16(ip + 10, fold(sum16(0, ip, 20)));
		wr16(ic + 2, fold(sum16(0, ic, 16)));
	}
	return flen;
}

uint8_t kprobe_match(const struct kprobe_spec *s, const uint8_t *fr, size_t len)
{
	if (s->icmp) {
		size_t rest;
		const uint8_t *ic = l4_of(s, fr, len, s->v6 ? 58 : 1, &rest);
		if (ic == NULL || ic[0] != (s->v6 ? 129 : 0) || ic[1] != 0 ||
		    rd16(ic + 4) != s->sport || rd16(ic + 6) != (uint16_t)s->seq)
			return 0;
		return KPROBE_ECHO;
	}
	if (len < ETH_HLEN + 20)
		return 0;
	uint16_t et = rd16(fr + 12);
	const uint8_t *ip = fr + ETH_HLEN, *tcp;
	size_t rest = len - ETH_HLEN;
	if (s->v6) {
		if (et != 0x86dd || rest < 40 + 20 || (ip[0] >> 4) != 6 || ip[6] != 6 ||
		    memcmp(ip + 8, s->dst, 16) != 0 || memcmp(ip + 24, s->src, 16) != 0)
			return 0;
		tcp = ip + 40;
		rest -= 40;
	} else {
		size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
		if (et != 0x0800 || (ip[0] >> 4) != 4 || ihl < 20 || rest < ihl + 20 || ip[9] != 6 ||
		    (rd16(ip + 6) & 0x3fff) != 0 || memcmp(ip + 12, s->dst, 4) != 0 ||
		    memcmp(ip + 16, s->src, 4) != 0)
			return 0;
		tcp = ip + ihl;
		rest -= ihl;
	}
	if (rd16(tcp) != s->dport || rd16(tcp + 2) != s->sport)
		return 0;
	uint8_t f = tcp[13] & (KPROBE_SYN | KPROBE_RST | KPROBE_ACK);
	uint32_t ack = (uint32_t)rd16(tcp + 8) << 16 | rd16(tcp + 10);
	if ((f & KPROBE_ACK) && ack != s->seq + 1)
		return 0;                          /* not an answer to our SYN */
	if (f == (KPROBE_SYN | KPROBE_ACK) || (f & KPROBE_RST))
		return f;
	return 0;
}
