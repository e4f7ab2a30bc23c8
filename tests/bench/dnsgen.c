/* dnsgen.c: a DPDK DNS query generator for the dataplane benchmarks.
 *
 * edgedns-dnsgen EAL-ARGS -- --queries FILE --dst IP [options]
 *
 * Every query of FILE becomes one complete Ethernet frame before the first
 * is sent (addresses, checksums and all); the send loop copies frames into
 * mbufs from one mempool, in bursts, on one lcore, paced by the TSC when a
 * rate is given, and reads replies between bursts. A reply counts when it is
 * UDP from the server's address and port and its DNS ID matches the one the
 * frame to its address and port carried: the ID is a hash of the client's
 * address and port, so no per-query state is kept. The summary is one JSON
 * line on stdout; diagnostics go to stderr. Exit 0, 1 on a runtime failure,
 * 2 on bad options.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_memcpy.h>
#include <rte_udp.h>

#include "dname.h"

#define PROG "edgedns-dnsgen"
#define BURST 32
#define NB_DESC 1024
#define NB_MBUF 8191
#define FRAME_MAX 384          /* Ethernet + IPv6 + UDP + a 255-octet name + OPT */
#define DRAIN_MAX_MS 500       /* replies are awaited at most this long */
#define DRAIN_IDLE_MS 50       /* ... or until none came for this long */
#define LINK_WAIT_MS 10000

struct opts {
	const char *port;          /* devspec to hot-plug, or NULL: first port */
	const char *queries;
	int family;                /* AF_INET or AF_INET6, from --dst */
	uint8_t dst[16], src[16];  /* server address; source prefix */
	unsigned src_plen;
	bool src_set;
	struct rte_ether_addr dst_mac, src_mac;
	bool src_mac_set;
	uint16_t dport;
	double duration;
	uint64_t rate, count;
	unsigned edns_pct, do_pct;
	bool reflect;
	bool linger;
};

/* The frames, back to back in one buffer. */
struct frames {
	uint8_t *buf;
	uint32_t *off;
	uint16_t *len;
	size_t n;
};

struct stats {
	uint64_t sent, tx_full, received, answered, unmatched, tc, rcodes[16];
	uint64_t rx_missed;         /* replies the port dropped (imissed + rx_nombuf) */
	uint64_t max_gap;           /* longest loop iteration (TSC): time not polling */
};

static volatile sig_atomic_t quit;

static void on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: " PROG " EAL-ARGS -- --queries FILE --dst IP [options]\n"
	        "  --port DEVSPEC     device to hot-plug and use (default: first probed port)\n"
	        "  --queries FILE     one query a line: NAME TYPE [E|D|N|0|1]\n"
	        "                     (E: EDNS, D or 1: EDNS+DO, N: no EDNS; none or 0: the mix)\n"
	        "  --dst IP           server address, IPv4 or IPv6\n"
	        "  --src PREFIX       source range, varied per frame (default 198.51.100.0/24\n"
	        "                     or 2001:db8:100::/64)\n"
	        "  --dst-mac MAC      server MAC (default ff:ff:ff:ff:ff:ff)\n"
	        "  --src-mac MAC      our MAC (default the port's)\n"
	        "  --dport N          server port (default 53)\n"
	        "  --duration S       send for at most S seconds (default 10)\n"
	        "  --rate PPS         offered queries/s, 0 = as fast as possible (default 0)\n"
	        "  --count N          stop after N queries (default: no limit)\n"
	        "  --edns PCT         share of mix queries with EDNS0 1232 (default 70)\n"
	        "  --do PCT           share of those EDNS queries with DO (default 30)\n"
	        "  --reflect          count reflected queries too (a MAC/5-tuple swapping peer)\n"
	        "  --linger           after the summary, keep the port open (not polled) until\n"
	        "                     SIGINT or SIGTERM: the peer can stop first\n");
}

static void bad(const char *opt, const char *arg, const char *why)
{
	fprintf(stderr, PROG ": %s: '%s': %s\n", opt, arg, why);
	exit(2);
}

static uint64_t parse_u64(const char *opt, const char *arg, uint64_t max)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || arg[0] == '-' || v > max)
		bad(opt, arg, "expected a whole number in range");
	return v;
}

static void parse_mac(const char *opt, const char *arg, struct rte_ether_addr *mac)
{
	unsigned b[6];
	char tail;
	if (sscanf(arg, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
	           &tail) != 6)
		bad(opt, arg, "expected a MAC address aa:bb:cc:dd:ee:ff");
	for (int i = 0; i < 6; i++) {
		if (b[i] > 255)
			bad(opt, arg, "expected a MAC address aa:bb:cc:dd:ee:ff");
		mac->addr_bytes[i] = (uint8_t)b[i];
	}
}

static int parse_ip(const char *s, uint8_t out[16])
{
	if (inet_pton(AF_INET, s, out) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, s, out) == 1)
		return AF_INET6;
	return 0;
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	enum { O_PORT = 256, O_QUERIES, O_DST, O_SRC, O_DST_MAC, O_SRC_MAC, O_DPORT,
	       O_DURATION, O_RATE, O_COUNT, O_EDNS, O_DO, O_REFLECT, O_LINGER, O_HELP };
	static const struct option lo[] = {
		{ "port", required_argument, NULL, O_PORT },
		{ "queries", required_argument, NULL, O_QUERIES },
		{ "dst", required_argument, NULL, O_DST },
		{ "src", required_argument, NULL, O_SRC },
		{ "dst-mac", required_argument, NULL, O_DST_MAC },
		{ "src-mac", required_argument, NULL, O_SRC_MAC },
		{ "dport", required_argument, NULL, O_DPORT },
		{ "duration", required_argument, NULL, O_DURATION },
		{ "rate", required_argument, NULL, O_RATE },
		{ "count", required_argument, NULL, O_COUNT },
		{ "edns", required_argument, NULL, O_EDNS },
		{ "do", required_argument, NULL, O_DO },
		{ "reflect", no_argument, NULL, O_REFLECT },
		{ "linger", no_argument, NULL, O_LINGER },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	const char *src = NULL;
	memset(o, 0, sizeof(*o));
	memset(o->dst_mac.addr_bytes, 0xff, RTE_ETHER_ADDR_LEN);
	o->dport = 53;
	o->duration = 10;
	o->edns_pct = 70;
	o->do_pct = 30;
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		char *end;
		switch (c) {
		case O_PORT: o->port = optarg; break;
		case O_QUERIES: o->queries = optarg; break;
		case O_DST:
			o->family = parse_ip(optarg, o->dst);
			if (o->family == 0)
				bad("--dst", optarg, "expected an IPv4 or IPv6 address");
			break;
		case O_SRC: src = optarg; break;
		case O_DST_MAC: parse_mac("--dst-mac", optarg, &o->dst_mac); break;
		case O_SRC_MAC:
			parse_mac("--src-mac", optarg, &o->src_mac);
			o->src_mac_set = true;
			break;
		case O_DPORT:
			o->dport = (uint16_t)parse_u64("--dport", optarg, 65535);
			if (o->dport == 0)
				bad("--dport", optarg, "port 0");
			break;
		case O_DURATION:
			errno = 0;
			o->duration = strtod(optarg, &end);
			if (errno != 0 || end == optarg || *end != '\0' || !(o->duration > 0) ||
			    o->duration > 86400)
				bad("--duration", optarg, "expected seconds, more than 0");
			break;
		case O_RATE: o->rate = parse_u64("--rate", optarg, 1000000000ULL); break;
		case O_COUNT: o->count = parse_u64("--count", optarg, UINT64_MAX); break;
		case O_EDNS: o->edns_pct = (unsigned)parse_u64("--edns", optarg, 100); break;
		case O_DO: o->do_pct = (unsigned)parse_u64("--do", optarg, 100); break;
		case O_REFLECT: o->reflect = true; break;
		case O_LINGER: o->linger = true; break;
		case O_HELP: usage(stdout); exit(0);
		default:
			fprintf(stderr, PROG ": '%s': unknown option or missing argument\n",
			        argv[optind - 1]);
			usage(stderr);
			exit(2);
		}
	}
	if (optind < argc)
		bad("arguments", argv[optind], "unexpected (options only, after the EAL's --)");
	if (o->queries == NULL || o->family == 0) {
		fprintf(stderr, PROG ": --queries and --dst are required\n");
		usage(stderr);
		exit(2);
	}
	if (src == NULL)
		src = o->family == AF_INET ? "198.51.100.0/24" : "2001:db8:100::/64";
	char addr[INET6_ADDRSTRLEN + 8];
	snprintf(addr, sizeof(addr), "%s", src);
	char *slash = strchr(addr, '/');
	unsigned maxlen = o->family == AF_INET ? 32 : 128;
	if (slash != NULL)
		*slash = '\0';
	if (parse_ip(addr, o->src) != o->family)
		bad("--src", src, "expected an address/prefix of the same family as --dst");
	o->src_plen = slash != NULL ? (unsigned)parse_u64("--src", slash + 1, maxlen) : maxlen;
	o->src_set = true;
}

/* ---- frames ------------------------------------------------------------ */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	uint64_t x = rng_state;    /* xorshift64*: deterministic runs */
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/* The DNS ID of a query from this address (its last 4 octets) and port. */
static inline uint16_t query_id(uint32_t addr_tail, uint16_t port)
{
	uint32_t h = (addr_tail ^ ((uint32_t)port << 16 | port)) * 0x9e3779b1u;
	return (uint16_t)(h >> 16);
}

static uint16_t type_code(const char *t)
{
	static const struct { const char *name; uint16_t code; } types[] = {
		{ "A", 1 }, { "NS", 2 }, { "CNAME", 5 }, { "SOA", 6 }, { "PTR", 12 },
		{ "MX", 15 }, { "TXT", 16 }, { "AAAA", 28 }, { "SRV", 33 }, { "NAPTR", 35 },
		{ "DNAME", 39 }, { "DS", 43 }, { "RRSIG", 46 }, { "NSEC", 47 },
		{ "DNSKEY", 48 }, { "NSEC3", 50 }, { "NSEC3PARAM", 51 }, { "HTTPS", 65 },
		{ "SVCB", 64 }, { "CAA", 257 }, { "ANY", 255 },
	};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcasecmp(t, types[i].name) == 0)
			return types[i].code;
	if (strncasecmp(t, "TYPE", 4) == 0 && t[4] >= '0' && t[4] <= '9') {
		char *end;
		unsigned long v = strtoul(t + 4, &end, 10);
		if (*end == '\0' && v > 0 && v <= 65535)
			return (uint16_t)v;
	}
	return 0;
}

/* A source address and port for frame i: a host of the prefix (not the
 * network or broadcast address of an IPv4 prefix up to /30) and a port in
 * 1024-65535, both from the generator. */
static void pick_source(const struct opts *o, uint8_t addr[16], uint16_t *port)
{
	unsigned alen = o->family == AF_INET ? 4 : 16;
	unsigned hbits = (alen * 8) - o->src_plen;
	if (hbits > 16)
		hbits = 16;
	uint32_t nhost = 1u << hbits, host;
	if (o->family == AF_INET && hbits >= 2)
		host = 1 + (uint32_t)(rng() % (nhost - 2));
	else
		host = (uint32_t)(rng() % nhost);
	memcpy(addr, o->src, alen);
	uint32_t mask = nhost - 1;
	uint32_t tail = (uint32_t)addr[alen - 2] << 8 | addr[alen - 1];
	tail = (tail & ~mask) | (host & mask);
	addr[alen - 2] = (uint8_t)(tail >> 8);
	addr[alen - 1] = (uint8_t)tail;
	*port = (uint16_t)(1024 + rng() % (65536 - 1024));
}

static uint32_t addr_tail(const uint8_t *a, unsigned alen)
{
	const uint8_t *p = a + alen - 4;
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Build one frame into f; returns its length, 0 when the name is invalid. */
static size_t build_frame(const struct opts *o, uint8_t *f, const uint8_t *qname,
                          size_t qlen, uint16_t qtype, int edns, int dobit)
{
	uint8_t saddr[16];
	uint16_t sport;
	pick_source(o, saddr, &sport);
	unsigned alen = o->family == AF_INET ? 4 : 16;
	size_t l3 = o->family == AF_INET ? sizeof(struct rte_ipv4_hdr)
	                                 : sizeof(struct rte_ipv6_hdr);
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)f;
	uint8_t *ip = f + sizeof(*eth);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + l3);
	uint8_t *dns = (uint8_t *)(udp + 1);

	uint16_t id = query_id(addr_tail(saddr, alen), sport);
	memset(dns, 0, 12);
	dns[0] = (uint8_t)(id >> 8);
	dns[1] = (uint8_t)id;
	dns[5] = 1;                             /* QDCOUNT; RD clear (authoritative) */
	size_t p = 12;
	memcpy(dns + p, qname, qlen);
	p += qlen;
	dns[p++] = (uint8_t)(qtype >> 8);
	dns[p++] = (uint8_t)qtype;
	dns[p++] = 0;
	dns[p++] = 1;
	if (edns) {
		const uint8_t opt[11] = { 0, 0, 41, 1232 >> 8, 1232 & 0xff, 0, 0,
		                          dobit ? 0x80 : 0, 0, 0, 0 };
		memcpy(dns + p, opt, sizeof(opt));
		p += sizeof(opt);
		dns[11] = 1;                    /* ARCOUNT */
	}
	uint16_t ulen = (uint16_t)(sizeof(*udp) + p);
	udp->src_port = rte_cpu_to_be_16(sport);
	udp->dst_port = rte_cpu_to_be_16(o->dport);
	udp->dgram_len = rte_cpu_to_be_16(ulen);
	udp->dgram_cksum = 0;

	rte_ether_addr_copy(&o->dst_mac, &eth->dst_addr);
	rte_ether_addr_copy(&o->src_mac, &eth->src_addr);
	if (o->family == AF_INET) {
		struct rte_ipv4_hdr *h = (struct rte_ipv4_hdr *)ip;
		memset(h, 0, sizeof(*h));
		eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
		h->version_ihl = RTE_IPV4_VHL_DEF;
		h->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*h) + ulen));
		h->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
		h->time_to_live = 64;
		h->next_proto_id = IPPROTO_UDP;
		memcpy(&h->src_addr, saddr, 4);
		memcpy(&h->dst_addr, o->dst, 4);
		h->hdr_checksum = rte_ipv4_cksum(h);
		udp->dgram_cksum = rte_ipv4_udptcp_cksum(h, udp);
	} else {
		struct rte_ipv6_hdr *h = (struct rte_ipv6_hdr *)ip;
		memset(h, 0, sizeof(*h));
		eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
		h->vtc_flow = rte_cpu_to_be_32(6u << 28);
		h->payload_len = rte_cpu_to_be_16(ulen);
		h->proto = IPPROTO_UDP;
		h->hop_limits = 64;
		memcpy(h->src_addr, saddr, 16);
		memcpy(h->dst_addr, o->dst, 16);
		udp->dgram_cksum = rte_ipv6_udptcp_cksum(h, udp);
	}
	return sizeof(*eth) + l3 + ulen;
}

/* Read the query file and build every frame. Exits 2 on a bad line. */
static void load_frames(const struct opts *o, struct frames *fr)
{
	FILE *f = fopen(o->queries, "r");
	if (f == NULL) {
		fprintf(stderr, PROG ": %s: %s\n", o->queries, strerror(errno));
		exit(2);
	}
	size_t cap = 1024, bcap = cap * 128, bused = 0, lineno = 0;
	fr->buf = malloc(bcap);
	fr->off = malloc(cap * sizeof(*fr->off));
	fr->len = malloc(cap * sizeof(*fr->len));
	fr->n = 0;
	char *line = NULL;
	size_t lcap = 0;
	while (getline(&line, &lcap, f) != -1) {
		lineno++;
		char name[1100], type[32], flag[8];
		int k = sscanf(line, "%1099s %31s %7s", name, type, flag);
		if (k <= 0 || name[0] == '#' || name[0] == ';')
			continue;
		uint8_t qname[256];
		uint16_t qtype = k >= 2 ? type_code(type) : 0;
		size_t qlen = strlen(name) < 1024 ? dname_from_str(name, qname) : 0;
		int edns, dobit;
		if (k < 3 || strcmp(flag, "0") == 0) {
			edns = rng() % 100 < o->edns_pct;
			dobit = edns && rng() % 100 < o->do_pct;
		} else if (strcmp(flag, "E") == 0) {
			edns = 1, dobit = 0;
		} else if (strcmp(flag, "D") == 0 || strcmp(flag, "1") == 0) {
			edns = 1, dobit = 1;
		} else if (strcmp(flag, "N") == 0) {
			edns = 0, dobit = 0;
		} else {
			qtype = 0;
			edns = dobit = 0;
		}
		if (k < 2 || qlen == 0 || qtype == 0) {
			fprintf(stderr, PROG ": %s:%zu: expected NAME TYPE [E|D|N|0|1]\n",
			        o->queries, lineno);
			exit(2);
		}
		if (fr->n == cap) {
			cap *= 2;
			fr->off = realloc(fr->off, cap * sizeof(*fr->off));
			fr->len = realloc(fr->len, cap * sizeof(*fr->len));
		}
		if (bused + FRAME_MAX > bcap) {
			bcap *= 2;
			fr->buf = realloc(fr->buf, bcap);
		}
		if (fr->off == NULL || fr->len == NULL || fr->buf == NULL || bcap > UINT32_MAX) {
			fprintf(stderr, PROG ": %s: too many queries for memory\n", o->queries);
			exit(1);
		}
		size_t len = build_frame(o, fr->buf + bused, qname, qlen, qtype, edns, dobit);
		fr->off[fr->n] = (uint32_t)bused;
		fr->len[fr->n] = (uint16_t)len;
		fr->n++;
		bused += (len + 63) & ~(size_t)63;
	}
	free(line);
	fclose(f);
	if (fr->n == 0) {
		fprintf(stderr, PROG ": %s: no queries\n", o->queries);
		exit(2);
	}
}

/* ---- replies ------------------------------------------------------------ */

/* Count one received frame: a reply when it is UDP between the server's
 * address and port and a client address and port whose ID it carries. With
 * reflect, a frame sent back unchanged (or with the 5-tuple swapped), QR
 * clear, counts too. */
static inline void account(const struct opts *o, struct stats *st, const struct rte_mbuf *m)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t len = m->data_len;
	st->received++;
	if (len < sizeof(struct rte_ether_hdr))
		goto bad;
	const struct rte_ether_hdr *eth = (const struct rte_ether_hdr *)p;
	const uint8_t *sa, *da;
	const struct rte_udp_hdr *udp;
	unsigned alen;
	p += sizeof(*eth);
	len -= (uint32_t)sizeof(*eth);
	if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) && o->family == AF_INET) {
		const struct rte_ipv4_hdr *h = (const struct rte_ipv4_hdr *)p;
		if (len < sizeof(*h))
			goto bad;
		uint32_t ihl = (uint32_t)(h->version_ihl & 0xf) * 4;
		if (h->next_proto_id != IPPROTO_UDP || ihl < 20 || len < ihl + 8)
			goto bad;
		sa = (const uint8_t *)&h->src_addr;
		da = (const uint8_t *)&h->dst_addr;
		udp = (const struct rte_udp_hdr *)(p + ihl);
		len -= ihl;
		alen = 4;
	} else if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6) &&
	           o->family == AF_INET6) {
		const struct rte_ipv6_hdr *h = (const struct rte_ipv6_hdr *)p;
		if (len < sizeof(*h) + 8 || h->proto != IPPROTO_UDP)
			goto bad;
		sa = h->src_addr;
		da = h->dst_addr;
		udp = (const struct rte_udp_hdr *)(p + sizeof(*h));
		len -= (uint32_t)sizeof(*h);
		alen = 16;
	} else {
		goto bad;
	}
	if (len < sizeof(*udp) + 12)
		goto bad;
	const uint8_t *dns = (const uint8_t *)(udp + 1);
	uint16_t sport = rte_be_to_cpu_16(udp->src_port), dport = rte_be_to_cpu_16(udp->dst_port);
	const uint8_t *client;
	uint16_t cport;
	if (sport == o->dport && memcmp(sa, o->dst, alen) == 0) {
		client = da;             /* a reply (or a 5-tuple-swapped reflection) */
		cport = dport;
	} else if (o->reflect && dport == o->dport && memcmp(da, o->dst, alen) == 0) {
		client = sa;             /* our query, reflected as it was */
		cport = sport;
	} else {
		goto bad;
	}
	uint16_t id = (uint16_t)(dns[0] << 8 | dns[1]);
	if (id != query_id(addr_tail(client, alen), cport) || (!(dns[2] & 0x80) && !o->reflect))
		goto bad;
	st->answered++;
	st->rcodes[dns[3] & 0xf]++;
	if (dns[2] & 0x02)
		st->tc++;
	return;
bad:
	st->unmatched++;
}

/* ---- main --------------------------------------------------------------- */

static uint16_t setup_port(struct opts *o, struct rte_mempool **mp)
{
	uint16_t port = RTE_MAX_ETHPORTS;
	if (o->port != NULL) {
		char name[RTE_ETH_NAME_MAX_LEN];
		snprintf(name, sizeof(name), "%s", o->port);
		name[strcspn(name, ",")] = '\0';
		if (rte_eth_dev_get_port_by_name(name, &port) != 0) {
			int rc = rte_dev_probe(o->port);
			if (rc != 0 || rte_eth_dev_get_port_by_name(name, &port) != 0) {
				fprintf(stderr, PROG ": --port '%s': cannot probe: %s\n", o->port,
				        rte_strerror(-rc));
				exit(1);
			}
		}
	} else {
		uint16_t p;
		RTE_ETH_FOREACH_DEV(p) {
			port = p;
			break;
		}
		if (port == RTE_MAX_ETHPORTS) {
			fprintf(stderr, PROG ": no port: give --port DEVSPEC or the EAL a --vdev\n");
			exit(2);
		}
	}
	*mp = rte_pktmbuf_pool_create("dnsgen", NB_MBUF, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
	                              (int)rte_socket_id());
	if (*mp == NULL) {
		fprintf(stderr, PROG ": mempool: %s\n", rte_strerror(rte_errno));
		exit(1);
	}
	struct rte_eth_conf conf;
	memset(&conf, 0, sizeof(conf));
	uint16_t nrx = NB_DESC, ntx = NB_DESC;
	int rc = rte_eth_dev_configure(port, 1, 1, &conf);
	if (rc == 0)
		rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nrx, &ntx);
	if (rc == 0)
		rc = rte_eth_rx_queue_setup(port, 0, nrx, rte_eth_dev_socket_id(port), NULL, *mp);
	if (rc == 0)
		rc = rte_eth_tx_queue_setup(port, 0, ntx, rte_eth_dev_socket_id(port), NULL);
	if (rc == 0)
		rc = rte_eth_dev_start(port);
	if (rc != 0) {
		fprintf(stderr, PROG ": port %u: setup: %s (is the peer running?)\n", port,
		        rte_strerror(-rc));
		exit(1);
	}
	(void)rte_eth_promiscuous_enable(port);   /* not every PMD can; replies are to our MAC */
	if (!o->src_mac_set && rte_eth_macaddr_get(port, &o->src_mac) != 0) {
		fprintf(stderr, PROG ": port %u: no MAC address; give --src-mac\n", port);
		exit(2);
	}
	uint64_t hz = rte_get_tsc_hz(), until = rte_rdtsc() + hz * LINK_WAIT_MS / 1000;
	struct rte_eth_link link;
	do {
		memset(&link, 0, sizeof(link));
		rte_eth_link_get_nowait(port, &link);
		if (link.link_status == RTE_ETH_LINK_UP)
			break;
		rte_delay_ms(10);
	} while (rte_rdtsc() < until && !quit);
	if (link.link_status != RTE_ETH_LINK_UP) {
		fprintf(stderr, PROG ": port %u: link down after %d ms (is the peer running?)\n",
		        port, LINK_WAIT_MS);
		exit(1);
	}
	return port;
}

static void print_summary(const struct opts *o, const struct stats *st, double window)
{
	static const char *const rn[16] = {
		"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN",
		"YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE", "RCODE11", "RCODE12", "RCODE13",
		"RCODE14", "RCODE15",
	};
	uint64_t ok = st->answered < st->sent ? st->answered : st->sent;
	double loss = st->sent ? 100.0 * (double)(st->sent - ok) / (double)st->sent : 0;
	printf("{\"sent\":%" PRIu64 ",\"received\":%" PRIu64 ",\"answered\":%" PRIu64
	       ",\"unmatched\":%" PRIu64 ",\"tx_full\":%" PRIu64 ",\"rx_missed\":%" PRIu64 ",\"window_s\":%.3f"
	       ",\"rate\":%" PRIu64 ",\"sent_per_s\":%.0f,\"answered_per_s\":%.0f"
	       ",\"loss_pct\":%.4f,\"tc\":%" PRIu64 ",\"max_gap_us\":%.0f,\"rcodes\":{",
	       st->sent, st->received, st->answered, st->unmatched, st->tx_full, st->rx_missed, window,
	       o->rate, window > 0 ? (double)st->sent / window : 0,
	       window > 0 ? (double)st->answered / window : 0, loss, st->tc,
	       (double)st->max_gap * 1e6 / (double)rte_get_tsc_hz());
	const char *sep = "";
	for (int i = 0; i < 16; i++) {
		if (st->rcodes[i] == 0)
			continue;
		printf("%s\"%s\":%" PRIu64, sep, rn[i], st->rcodes[i]);
		sep = ",";
	}
	printf("}}\n");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	/* Our options (after the EAL's --) are checked before the EAL starts. */
	int eal_argc = 1;
	while (eal_argc < argc && strcmp(argv[eal_argc], "--") != 0)
		eal_argc++;
	if (eal_argc == argc) {
		fprintf(stderr, PROG ": no '--' between the EAL's arguments and ours\n");
		usage(stderr);
		return 2;
	}
	struct opts o;
	argv[eal_argc] = argv[0];
	parse_opts(argc - eal_argc, argv + eal_argc, &o);
	struct frames fr;
	load_frames(&o, &fr);           /* with --src-mac or a zero one, set below */
	bool src_mac_set = o.src_mac_set;
	if (rte_eal_init(eal_argc, argv) < 0) {
		fprintf(stderr, PROG ": EAL init failed: %s\n", rte_strerror(rte_errno));
		return 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	struct rte_mempool *mp;
	uint16_t port = setup_port(&o, &mp);
	if (!src_mac_set) {
		for (size_t i = 0; i < fr.n; i++)
			memcpy(fr.buf + fr.off[i] + RTE_ETHER_ADDR_LEN, o.src_mac.addr_bytes,
			       RTE_ETHER_ADDR_LEN);
	}
	fprintf(stderr, PROG ": port %u, %zu frames built, sending for at most %.1f s\n", port,
	        fr.n, o.duration);

	struct stats st;
	memset(&st, 0, sizeof(st));
	struct rte_mbuf *tx[BURST], *rx[BURST];
	const uint64_t hz = rte_get_tsc_hz();
	const uint64_t t0 = rte_rdtsc();
	const uint64_t t_end = t0 + (uint64_t)(o.duration * (double)hz);
	const uint64_t drain_max = hz * DRAIN_MAX_MS / 1000, drain_idle = hz * DRAIN_IDLE_MS / 1000;
	const double per_tick = (double)o.rate / (double)hz;
	const uint64_t min_burst = RTE_MAX(RTE_MIN(o.rate / 100000, (uint64_t)BURST), (uint64_t)1);
	const uint64_t t_end_due = (uint64_t)((double)(t_end - t0) * per_tick);
	uint64_t t_stop = 0, last_rx = t0;
	size_t next = 0;
	bool sending = true;
	uint64_t prev = t0, t_tick = t0 + hz, sent_tick = 0, answered_tick = 0;
	for (;;) {
		uint64_t now = rte_rdtsc();
		if (now - prev > st.max_gap)
			st.max_gap = now - prev;
		prev = now;
		if (unlikely(now >= t_tick)) {
			/* Once a second, to stderr: warm-up and stalls show here. */
			fprintf(stderr, PROG ": %.0f s: sent %" PRIu64 "/s, answered %" PRIu64 "/s\n",
			        (double)(now - t0) / (double)hz, st.sent - sent_tick,
			        st.answered - answered_tick);
			sent_tick = st.sent;
			answered_tick = st.answered;
			t_tick += hz;
		}
		if (sending && (now >= t_end || quit || (o.count && st.sent >= o.count))) {
			sending = false;
			t_stop = now;
		}
		if (sending) {
			uint64_t want = BURST;
			if (o.rate) {
				/* Paced in bursts of at least min_burst (10 us worth of
				 * queries): a burst per due query costs the generator
				 * more than the rate it is meant to hold. */
				uint64_t due = (uint64_t)((double)(now - t0) * per_tick);
				want = due > st.sent ? due - st.sent : 0;
				if (want > BURST)
					want = BURST;
				else if (want < min_burst && due < t_end_due)
					want = 0;
			}
			if (o.count && o.count - st.sent < want)
				want = o.count - st.sent;
			if (want > 0 && rte_pktmbuf_alloc_bulk(mp, tx, (unsigned)want) == 0) {
				for (unsigned i = 0; i < want; i++) {
					const uint8_t *f = fr.buf + fr.off[next];
					uint16_t len = fr.len[next];
					if (++next == fr.n)
						next = 0;
					rte_prefetch0(fr.buf + fr.off[next]);
					rte_memcpy(rte_pktmbuf_mtod(tx[i], uint8_t *), f, len);
					tx[i]->data_len = len;
					tx[i]->pkt_len = len;
				}
				uint16_t k = rte_eth_tx_burst(port, 0, tx, (uint16_t)want);
				st.sent += k;
				if (k < want) {
					st.tx_full += want - k;
					/* Not sent: those frames go out on the next burst. */
					next = (next + fr.n - (want - k) % fr.n) % fr.n;
					rte_pktmbuf_free_bulk(tx + k, (unsigned)(want - k));
				}
			}
		}
		uint16_t n = rte_eth_rx_burst(port, 0, rx, BURST);
		for (uint16_t i = 0; i < n; i++)
			account(&o, &st, rx[i]);
		if (n > 0) {
			rte_pktmbuf_free_bulk(rx, n);
			last_rx = now;
		}
		if (!sending && (now - t_stop > drain_max ||
		                 now - (last_rx > t_stop ? last_rx : t_stop) > drain_idle))
			break;
	}
	struct rte_eth_stats es;
	if (rte_eth_stats_get(port, &es) == 0)
		st.rx_missed = es.imissed + es.rx_nombuf;
	print_summary(&o, &st, (double)(t_stop - t0) / (double)hz);
	/* A memif server unmaps the shared rings when its client goes, under
	 * its polling lcore's feet (DPDK 22.11): with --linger the server is
	 * stopped first, while this side no longer polls. */
	while (o.linger && !quit)
		rte_delay_us_sleep(100 * 1000);

	rte_eth_dev_stop(port);
	rte_eth_dev_close(port);
	rte_eal_cleanup();
	return 0;
}
