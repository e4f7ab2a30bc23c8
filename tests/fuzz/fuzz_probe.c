/* fuzz_probe.c: any frame through probe_check(), with the query it is
 * checked against taken from the frame itself (its swapped addresses,
 * ports, ID and question), so that the checks pass often enough to reach
 * the DNS sections. Nothing may be read past the frame; the rdata text
 * stays inside its buffer. Then probe_build() with the same query must
 * give a frame the classifier takes as a query, unless its source is one
 * peer.h refuses (or port 0). data[0]: bit 0 IPv6, bit 1 an OPT record. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "peer.h"
#include "pkt.h"
#include "probe.h"

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size - 1 > 4096)
		return 0;
	/* a copy of its own size: ASan sees any read past it */
	size_t len = size - 1;
	uint8_t *fr = malloc(len ? len : 1);
	if (fr == NULL)
		return 0;
	memcpy(fr, data + 1, len);
	struct probe_spec s;
	memset(&s, 0, sizeof(s));
	s.v6 = data[0] & 1;
	s.edns_size = (data[0] & 2) ? 1232 : 0;
	size_t l3 = s.v6 ? 40 : 20, dns = 14 + l3 + 8;
	if (len >= 12) {
		memcpy(s.src_mac, fr, 6);
		memcpy(s.dst_mac, fr + 6, 6);
	}
	if (!s.v6 && len >= 34) {
		memcpy(s.dst, fr + 26, 4);
		memcpy(s.src, fr + 30, 4);
	} else if (s.v6 && len >= 54) {
		memcpy(s.dst, fr + 22, 16);
		memcpy(s.src, fr + 38, 16);
	}
	if (len >= dns) {
		s.dport = rd16(fr + 14 + l3);
		s.sport = rd16(fr + 14 + l3 + 2);
	}
	if (len >= dns + 2)
		s.id = rd16(fr + dns);
	if (len > dns + 12) {
		size_t ql = dname_check(fr + dns + 12, len - dns - 12);
		if (ql > 0 && len >= dns + 12 + ql + 2) {
			memcpy(s.qname, fr + dns + 12, ql);
			s.qname_len = ql;
			s.qtype = rd16(fr + dns + 12 + ql);
		}
	}
	struct probe_result r;
	const char *why = probe_check(&s, fr, len, &r);
	if (why == NULL && strlen(r.rdata) >= sizeof(r.rdata))
		abort();
	if (why != NULL && why[0] == '\0')
		abort();

	uint8_t q[2048];
	size_t qn = probe_build(&s, q, sizeof(q));
	if (qn != 0) {
		struct pkt_filter f;
		struct pkt_meta m;
		memset(&f, 0, sizeof(f));
		memcpy(f.mac, s.dst_mac, 6);
		f.dns_port = s.dport;
		f.n4 = f.n6 = 1;
		memcpy(f.v4[0], s.dst, 4);
		memcpy(f.v6[0], s.dst, 16);
		enum pkt_verdict v = pkt_classify(&f, q, qn, 0, &m);
		/* the verdict peer.h's rules give its source (the served
		 * address is the destination), else a query */
		bool own = memcmp(s.src_mac, s.dst_mac, 6) == 0;
		bool bad_src = peer_mac_never(s.src_mac) ||
		               (s.v6 ? peer_v6_never(s.src, PEER_WIRE) || memcmp(s.src, s.dst, 16) == 0
		                     : peer_v4_never(s.src, PEER_WIRE) || memcmp(s.src, s.dst, 4) == 0);
		enum pkt_verdict want = own ? PKT_OWN : bad_src ? PKT_BAD_SOURCE
		                      : s.sport == 0 ? PKT_MALFORMED
		                      : peer_loop_port(s.sport) ? PKT_LOOP_PORT : PKT_DNS;
		if (v != want)
			abort();
	}
	free(fr);
	return 0;
}
