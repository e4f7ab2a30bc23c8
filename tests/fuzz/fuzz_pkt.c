/* fuzz_pkt.c: any frame through pkt_classify(); a frame it takes as DNS
 * gets a reply written in place, which must stay inside the buffer and
 * come out as a well-formed frame with right checksums. Every frame also
 * goes through pkt_is_routing() in the fuzzer's own buffer of its exact
 * length, so a read past the frame is caught. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pkt.h"

#define ROOM 2048

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t fr[ROOM];
	if (size < 2 || size - 2 > ROOM)
		return 0;
	struct pkt_filter f;
	memset(&f, 0, sizeof(f));
	/* the frame's own destination fields are our filter often enough */
	size_t len = size - 2;
	volatile bool routing = pkt_is_routing(data + 2, len);
	(void)routing;
	memcpy(fr, data + 2, len);
	if (len >= 6)
		memcpy(f.mac, fr, 6);
	f.dns_port = 53;
	f.n4 = 1;
	if (len >= 34)
		memcpy(f.v4[0], fr + 30, 4);
	f.n6 = 1;
	if (len >= 54)
		memcpy(f.v6[0], fr + 38, 16);
	unsigned flags = data[0] & 0x0f;
	struct pkt_meta m;
	if (pkt_classify(&f, fr, len, flags, &m) != PKT_DNS)
		return 0;
	if (m.dns + (size_t)m.dns_len > len)
		abort();
	size_t dlen = (size_t)data[1] * 7;
	if (m.dns + dlen > ROOM)
		dlen = ROOM - m.dns;
	size_t out = pkt_reply(fr, &m, dlen, data[0] & 0x10);
	if (out != m.dns + dlen || out > ROOM)
		abort();
	/* the reply, seen from the client's side, is never malformed when
	 * it was computed in software */
	if (!(data[0] & 0x10)) {
		struct pkt_filter b;
		memset(&b, 0, sizeof(b));
		memcpy(b.mac, fr, 6);
		b.dns_port = (uint16_t)(fr[m.l2 + m.l3 + 2] << 8 | fr[m.l2 + m.l3 + 3]);
		b.n4 = b.n6 = 1;
		memcpy(b.v4[0], fr + m.l2 + 16, 4);
		memcpy(b.v6[0], fr + m.l2 + 24, 16);
		struct pkt_meta bm;
		/* (a source the other side would not answer, such as our
		 * served address being a loopback one, is PKT_BAD_SOURCE) */
		if (pkt_classify(&b, fr, out, 0, &bm) == PKT_MALFORMED && dlen + 8 < 65536 &&
		    memcmp(fr + 6, fr, 6) != 0)
			abort();
	}
	return 0;
}
