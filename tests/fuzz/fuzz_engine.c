/* fuzz_engine.c: any bytes as a query; the response must parse and fit,
 * and the fast path must give the very bytes (and cookie verdict) the
 * general path gives, with the zone served or marked expired. */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cookie.h"
#include "engine.h"
#include "fuzz_common.h"
#include "snapshot.h"
#include "zoneset.h"

#define FUZZ_NOW 1700000000u   /* the seeds' valid cookies are of this time */

static struct zoneset *zs_live, *zs_expired;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t resp[65536], slow[65536];
	/* the secret of the seeds with a server cookie */
	static const struct eng_cookie_conf ck = {
		.secret = { 0xe5, 0xe9, 0x73, 0xe5, 0xa6, 0xb2, 0xa4, 0x3f,
		            0x48, 0xe7, 0xdc, 0x84, 0x9e, 0x37, 0xbf, 0xcf },
		.prev = { 1 }, .has_prev = true,
	};
	static const struct eng_conf confs[2][2] = {
		{ { .nsid = (const uint8_t *)"fz", .nsid_len = 2, .id_server = "fuzz" },
		  { .nsid = (const uint8_t *)"fz", .nsid_len = 2, .id_server = "fuzz",
		    .no_fast_path = 1 } },
		{ { .nsid = (const uint8_t *)"fz", .nsid_len = 2, .id_server = "fuzz", .cookie = &ck },
		  { .nsid = (const uint8_t *)"fz", .nsid_len = 2, .id_server = "fuzz", .cookie = &ck,
		    .no_fast_path = 1 } },
	};
	static struct sockaddr_in v4 = { .sin_family = AF_INET };     /* 192.0.2.1 */
	static struct sockaddr_in6 v6 = { .sin6_family = AF_INET6,
	                                  .sin6_addr.s6_addr = { 0x20, 0x01, 0x0d, 0xb8,
	                                                         [15] = 1 } };
	if (zs_live == NULL) {
		void *img;
		size_t len;
		struct snap *s;
		fuzz_build_zone(&img, &len);
		if (snap_open_mem(img, len, 0, &s, NULL, 0) != 0)
			abort();
		const struct snap *one = s;
		static const uint32_t expired = ZS_F_EXPIRED;
		zs_live = zs_new(&one, 1, NULL);
		zs_expired = zs_new_flags(&one, &expired, 1, NULL);
		if (zs_live == NULL || zs_expired == NULL)
			abort();
		memcpy(&v4.sin_addr, "\xc0\x00\x02\x01", 4);
	}
	if (size < 1)
		return 0;
	/* first octet: transport (1), buffer size (2), client address (4, 8:
	 * IPv4, IPv6, none), cookies off (16), the zone expired (32); the
	 * rest: the query */
	const struct zoneset *zs = (data[0] & 32) ? zs_expired : zs_live;
	enum eng_transport tr = (data[0] & 1) ? ENG_TCP : ENG_UDP;
	size_t cap = (data[0] & 2) ? 512 : sizeof(resp);
	const struct sockaddr *client = (data[0] & 8) ? NULL
	                                : (data[0] & 4) ? (const struct sockaddr *)&v6
	                                                : (const struct sockaddr *)&v4;
	const struct eng_conf *conf = &confs[!(data[0] & 16)][0];
	const struct eng_conf *slow_conf = &confs[!(data[0] & 16)][1];
	struct eng_msg m = { .q = data + 1, .qlen = size - 1, .resp = resp, .cap = cap,
	                     .client = client, .now = FUZZ_NOW };
	eng_answer_burst(conf, zs, &m, 1, tr);
	size_t n = m.rlen;
	if (n > cap)
		abort();
	struct eng_msg ms = m;
	ms.resp = slow;
	eng_answer_burst(slow_conf, zs, &ms, 1, tr);
	if (ms.rlen != n || memcmp(slow, resp, n) != 0 || ms.cookie != m.cookie)
		abort();   /* the two paths disagree */
	struct eng_xport x = { tr, client, FUZZ_NOW };
	if (eng_answer(conf, zs, data + 1, size - 1, slow, cap, &x) != n || memcmp(slow, resp, n) != 0)
		abort();   /* the burst and the single answer disagree */
	if (n > 0) {
		if (tr == ENG_UDP && n > ENG_UDP_MAX_DEFAULT)
			abort();
		ldns_pkt *p = NULL;
		if (ldns_wire2pkt(&p, resp, n) != LDNS_STATUS_OK)
			abort();   /* we wrote something that does not parse */
		ldns_pkt_free(p);
	}
	return 0;
}
