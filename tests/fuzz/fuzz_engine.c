/* fuzz_engine.c: any bytes as a query; the response must parse and fit,
 * and the fast path must give the very bytes the general path gives. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "fuzz_common.h"
#include "snapshot.h"
#include "zoneset.h"

static struct zoneset *zs;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t resp[65536], slow[65536];
	static const struct eng_conf conf = { .nsid = (const uint8_t *)"fz", .nsid_len = 2,
	                                      .id_server = "fuzz" };
	static const struct eng_conf slow_conf = { .nsid = (const uint8_t *)"fz", .nsid_len = 2,
	                                           .id_server = "fuzz", .no_fast_path = 1 };
	if (zs == NULL) {
		void *img;
		size_t len;
		struct snap *s;
		fuzz_build_zone(&img, &len);
		if (snap_open_mem(img, len, 0, &s, NULL, 0) != 0)
			abort();
		const struct snap *one = s;
		zs = zs_new(&one, 1, NULL);
	}
	if (size < 1)
		return 0;
	/* first octet: transport and buffer size; the rest: the query */
	struct eng_xport x = { (data[0] & 1) ? ENG_TCP : ENG_UDP, NULL, 0 };
	size_t cap = (data[0] & 2) ? 512 : sizeof(resp);
	size_t n = eng_answer(&conf, zs, data + 1, size - 1, resp, cap, &x);
	if (n > cap)
		abort();
	size_t sn = eng_answer(&slow_conf, zs, data + 1, size - 1, slow, cap, &x);
	if (sn != n || memcmp(slow, resp, n) != 0)
		abort();   /* the two paths disagree */
	if (n > 0) {
		if (x.transport == ENG_UDP && n > ENG_UDP_MAX_DEFAULT)
			abort();
		ldns_pkt *p = NULL;
		if (ldns_wire2pkt(&p, resp, n) != LDNS_STATUS_OK)
			abort();   /* we wrote something that does not parse */
		ldns_pkt_free(p);
	}
	return 0;
}
