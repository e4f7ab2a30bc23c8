/* probe.c: in-band probe query frames and the check of their responses. */
#include "probe.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dnsconst.h"
#include "pkt.h"

#define ETH_HLEN 14

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* ---- building ---------------------------------------------------------- */

size_t probe_build(const struct probe_spec *s, uint8_t *fr, size_t cap)
{
	if (s->qname_len == 0 || dname_check(s->qname, s->qname_len) != s->qname_len)
		return 0;
	size_t l3 = s->v6 ? 40 : 20;
	size_t dlen = 12 + s->qname_len + 4 + (s->edns_size ? 11 : 0);
	size_t flen = ETH_HLEN + l3 + 8 + dlen;
	if (flen > cap)
		return 0;
	memset(fr, 0, flen);
	memcpy(fr, s->dst_mac, 6);
	memcpy(fr + 6, s->src_mac, 6);
	wr16(fr + 12, s->v6 ? 0x86dd : 0x0800);
	uint8_t *ip = fr + ETH_HLEN, *udp = ip + l3, *d = udp + 8;
	if (s->v6) {
		ip[0] = 0x60;
		wr16(ip + 4, (uint16_t)(8 + dlen));
		ip[6] = 17;
		ip[7] = 64;
		memcpy(ip + 8, s->src, 16);
		memcpy(ip + 24, s->dst, 16);
	} else {
		ip[0] = 0x45;
		wr16(ip + 2, (uint16_t)(20 + 8 + dlen));
		wr16(ip + 4, s->ip_id);
		ip[8] = 64;
		ip[9] = 17;
		memcpy(ip + 12, s->src, 4);
		memcpy(ip + 16, s->dst, 4);
		uint16_t c = pkt_ipv4_cksum(ip, 20);
		memcpy(ip + 10, &c, 2);
	}
	wr16(udp, s->sport);
	wr16(udp + 2, s->dport);
	wr16(udp + 4, (uint16_t)(8 + dlen));
	wr16(d, s->id);
	wr16(d + 4, 1);                        /* QDCOUNT */
	wr16(d + 10, s->edns_size ? 1 : 0);    /* ARCOUNT */
	size_t o = 12;
	memcpy(d + o, s->qname, s->qname_len);
	o += s->qname_len;
	wr16(d + o, s->qtype);
	wr16(d + o + 2, C_IN);
	o += 4;
	if (s->edns_size) {
		/* root owner, OPT, payload size, TTL 0 (version 0, DO clear), no rdata */
		wr16(d + o + 1, T_OPT);
		wr16(d + o + 3, s->edns_size);
	}
	struct pkt_meta m = { .l2 = ETH_HLEN, .l3 = (uint16_t)l3, .v6 = s->v6 };
	uint16_t c = pkt_udp_cksum(fr, &m, 8 + dlen);
	if (c == 0)
		c = 0xffff;
	memcpy(udp + 6, &c, 2);
	return flen;
}

/* ---- checking: one bounds-checked cursor that keeps its first error ---- */

struct cur {
	const uint8_t *p;
	size_t len, off;
	const char *err;
};

static void cur_fail(struct cur *c, const char *why)
{
	if (c->err == NULL)
		c->err = why;
}

static bool cur_need(struct cur *c, size_t n, const char *why)
{
	if (c->err != NULL)
		return false;
	if (c->len - c->off < n) {
		cur_fail(c, why);
		return false;
	}
	return true;
}

static uint16_t cur_u16(struct cur *c, const char *why)
{
	if (!cur_need(c, 2, why))
		return 0;
	uint16_t v = rd16(c->p + c->off);
	c->off += 2;
	return v;
}

static uint32_t cur_u32(struct cur *c, const char *why)
{
	uint32_t hi = cur_u16(c, why);
	return hi << 16 | cur_u16(c, why);
}

static void cur_skip(struct cur *c, size_t n, const char *why)
{
	if (cur_need(c, n, why))
		c->off += n;
}

/* A name, compression pointers allowed. */
static void cur_name(struct cur *c, const char *why)
{
	if (c->err != NULL)
		return;
	size_t end = dname_skip_wire(c->p, c->len, c->off, 1);
	if (end == 0)
		cur_fail(c, why);
	else
		c->off = end;
}

/* Append s to out (size PROBE_RDATA_MAX) at *n; false once it is full
 * (then out ends in "..."). */
static bool out_put(char *out, size_t *n, const char *s, size_t len)
{
	if (*n + len + 4 > PROBE_RDATA_MAX) {
		memcpy(out + *n, "...", 4);
		*n = PROBE_RDATA_MAX;
		return false;
	}
	memcpy(out + *n, s, len);
	*n += len;
	out[*n] = '\0';
	return true;
}

/* TXT rdata in presentation form: quoted strings, '"' and '\' escaped,
 * other octets outside printable ASCII as \DDD. */
static const char *txt_str(const uint8_t *rd, size_t len, char *out)
{
	size_t n = 0, i = 0;
	out[0] = '\0';
	while (i < len) {
		size_t sl = rd[i++];
		if (sl > len - i)
			return "TXT string runs past its rdata";
		if (n > 0 && !out_put(out, &n, " ", 1))
			return NULL;
		if (!out_put(out, &n, "\"", 1))
			return NULL;
		for (size_t k = 0; k < sl; k++) {
			uint8_t ch = rd[i + k];
			char e[8];
			size_t el;
			if (ch == '"' || ch == '\\') {
				e[0] = '\\';
				e[1] = (char)ch;
				el = 2;
			} else if (ch < 0x20 || ch >= 0x7f) {
				el = (size_t)snprintf(e, sizeof(e), "\\%03u", ch);
			} else {
				e[0] = (char)ch;
				el = 1;
			}
			if (!out_put(out, &n, e, el))
				return NULL;
		}
		if (!out_put(out, &n, "\"", 1))
			return NULL;
		i += sl;
	}
	return NULL;
}

/* The first answer RR: its rdata at rd (rdlen octets) in the message. */
static const char *first_answer(uint16_t type, const uint8_t *rd, size_t rdlen,
                                struct probe_result *r)
{
	r->an_type = type;
	if (type == T_A || type == T_AAAA) {
		size_t want = type == T_A ? 4 : 16;
		if (rdlen != want)
			return type == T_A ? "A rdata not 4 octets" : "AAAA rdata not 16 octets";
		inet_ntop(type == T_A ? AF_INET : AF_INET6, rd, r->rdata, sizeof(r->rdata));
		return NULL;
	}
	if (type == T_TXT)
		return txt_str(rd, rdlen, r->rdata);
	return NULL;
}

/* The serial of the SOA rdata at [off, end) of message d: two names, then it. */
static const char *soa_serial(const uint8_t *d, size_t off, size_t end, struct probe_result *r)
{
	struct cur c = { d, end, off, NULL };
	/* names may point anywhere before them in the message: skip them
	 * within the rdata's end (a pointer ends the name) */
	cur_name(&c, "SOA rdata: bad MNAME");
	cur_name(&c, "SOA rdata: bad RNAME");
	uint32_t serial = cur_u32(&c, "SOA rdata too short");
	cur_skip(&c, 16, "SOA rdata too short");
	if (c.err != NULL)
		return c.err;
	if (c.off != end)
		return "SOA rdata longer than its fields";
	r->has_serial = true;
	r->serial = serial;
	return NULL;
}

static const char *check_dns(const struct probe_spec *s, const uint8_t *d, size_t dlen,
                             struct probe_result *r)
{
	struct cur c = { d, dlen, 0, NULL };
	uint16_t id = cur_u16(&c, "DNS message shorter than its header");
	uint16_t fl = cur_u16(&c, "DNS message shorter than its header");
	uint16_t qd = cur_u16(&c, "DNS message shorter than its header");
	uint16_t an = cur_u16(&c, "DNS message shorter than its header");
	uint16_t ns = cur_u16(&c, "DNS message shorter than its header");
	uint16_t ar = cur_u16(&c, "DNS message shorter than its header");
	if (c.err != NULL)
		return c.err;
	if (id != s->id)
		return "DNS ID differs from the query's";
	if (!(fl & 0x8000))
		return "QR clear";
	if (((fl >> 11) & 0xf) != 0)
		return "opcode not QUERY";
	r->aa = (fl & 0x0400) != 0;
	r->tc = (fl & 0x0200) != 0;
	r->rcode = fl & 0x0f;
	r->ancount = an;
	if (qd != 1)
		return "QDCOUNT not 1";
	if (!cur_need(&c, s->qname_len + 4, "question cut short"))
		return c.err;
	if (memcmp(d + c.off, s->qname, s->qname_len) != 0)
		return "question name not echoed";
	c.off += s->qname_len;
	if (cur_u16(&c, "") != s->qtype || cur_u16(&c, "") != C_IN)
		return "question type or class not echoed";
	unsigned total = (unsigned)an + ns + ar;
	for (unsigned i = 0; i < total; i++) {
		cur_name(&c, "RR owner name malformed or cut short");
		uint16_t type = cur_u16(&c, "RR cut short");
		cur_u16(&c, "RR cut short");
		uint32_t ttl = cur_u32(&c, "RR cut short");
		uint16_t rdlen = cur_u16(&c, "RR cut short");
		if (!cur_need(&c, rdlen, "rdata runs past the message"))
			return c.err;
		const char *why = NULL;
		if (i == 0 && an > 0)
			why = first_answer(type, d + c.off, rdlen, r);
		if (why == NULL && i < an && type == T_SOA && !r->has_serial)
			why = soa_serial(d, c.off, c.off + rdlen, r);
		if (why == NULL && i >= (unsigned)an + ns && type == T_OPT)
			r->rcode = (uint16_t)(r->rcode | (ttl >> 24) << 4);
		if (why != NULL)
			return why;
		c.off += rdlen;
	}
	if (c.err != NULL)
		return c.err;
	if (c.off != dlen)
		return "octets after the last RR";
	return NULL;
}

const char *probe_check(const struct probe_spec *s, const uint8_t *fr, size_t len,
                        struct probe_result *r)
{
	memset(r, 0, sizeof(*r));
	if (len < ETH_HLEN)
		return "frame shorter than an Ethernet header";
	if (memcmp(fr, s->src_mac, 6) != 0 || memcmp(fr + 6, s->dst_mac, 6) != 0)
		return "MAC addresses not swapped";
	if (rd16(fr + 12) != (s->v6 ? 0x86dd : 0x0800))
		return "not the query's IP version";
	const uint8_t *ip = fr + ETH_HLEN;
	size_t avail = len - ETH_HLEN, plen;
	struct pkt_meta m = { .l2 = ETH_HLEN, .v6 = s->v6 };
	if (s->v6) {
		if (avail < 40 || ip[0] >> 4 != 6)
			return "IPv6 header cut short or bad version";
		plen = rd16(ip + 4);
		if (40 + plen > avail)
			return "IPv6 payload length beyond the frame";
		if (ip[6] != 17)
			return "not UDP (or an extension header)";
		if (memcmp(ip + 8, s->dst, 16) != 0 || memcmp(ip + 24, s->src, 16) != 0)
			return "IP addresses not swapped";
		m.l3 = 40;
	} else {
		if (avail < 20 || ip[0] != 0x45)
			return "IPv4 header cut short, bad version or options";
		size_t tot = rd16(ip + 2);
		if (tot < 20 || tot > avail)
			return "IPv4 total length wrong";
		if (pkt_ipv4_cksum(ip, 20) != 0)
			return "IPv4 header checksum wrong";
		if ((rd16(ip + 6) & 0x3fff) != 0)
			return "IPv4 fragment";
		if (ip[9] != 17)
			return "not UDP";
		if (memcmp(ip + 12, s->dst, 4) != 0 || memcmp(ip + 16, s->src, 4) != 0)
			return "IP addresses not swapped";
		plen = tot - 20;
		m.l3 = 20;
	}
	const uint8_t *udp = ip + m.l3;
	if (plen < 8)
		return "UDP header cut short";
	if (rd16(udp) != s->dport || rd16(udp + 2) != s->sport)
		return "UDP ports not swapped";
	if (rd16(udp + 4) != plen)
		return "UDP length differs from the IP payload length";
	if (rd16(udp + 6) == 0)
		return "no UDP checksum";
	if (pkt_udp_cksum(fr, &m, plen) != 0)
		return "UDP checksum wrong";
	return check_dns(s, udp + 8, plen - 8, r);
}

/* ---- RR type names ---------------------------------------------------- */

static const struct {
	const char *name;
	uint16_t type;
} types[] = {
	{ "A", T_A }, { "NS", T_NS }, { "CNAME", T_CNAME }, { "SOA", T_SOA },
	{ "PTR", T_PTR }, { "MX", T_MX }, { "TXT", T_TXT }, { "AAAA", T_AAAA },
	{ "SRV", T_SRV }, { "NAPTR", T_NAPTR }, { "DNAME", T_DNAME }, { "DS", T_DS },
	{ "RRSIG", T_RRSIG }, { "NSEC", T_NSEC }, { "DNSKEY", T_DNSKEY },
	{ "NSEC3", T_NSEC3 }, { "NSEC3PARAM", T_NSEC3PARAM }, { "TLSA", 52 },
	{ "CDS", 59 }, { "CDNSKEY", 60 }, { "ZONEMD", 63 }, { "SVCB", 64 },
	{ "HTTPS", 65 }, { "ANY", T_ANY }, { "CAA", 257 },
};

uint16_t probe_qtype(const char *s)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcasecmp(s, types[i].name) == 0)
			return types[i].type;
	if (strncasecmp(s, "TYPE", 4) == 0 && s[4] >= '0' && s[4] <= '9') {
		char *end;
		unsigned long v = strtoul(s + 4, &end, 10);
		if (*end == '\0' && v >= 1 && v <= 65535)
			return (uint16_t)v;
	}
	return 0;
}

const char *probe_type_str(uint16_t t, char *buf, size_t size)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].type == t) {
			snprintf(buf, size, "%s", types[i].name);
			return buf;
		}
	snprintf(buf, size, "TYPE%u", t);
	return buf;
}
