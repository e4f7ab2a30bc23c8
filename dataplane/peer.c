/* peer.c: the senders the dataplane never answers (peer.h). */
#include <string.h>

#include "peer.h"

bool peer_loop_port(uint16_t port)
{
	switch (port) {   /* the compiler makes this a bit test */
	case 7: case 11: case 13: case 17: case 19: case 37: case 69: case 123:
		return true;
	default:
		return false;
	}
}

bool peer_v4_never(const uint8_t *a, enum peer_seen seen)
{
	if (a[0] == 0 || a[0] >= 224)
		return true;
	return a[0] == 127 && seen == PEER_WIRE;
}

bool peer_v6_never(const uint8_t *a, enum peer_seen seen)
{
	if (a[0] == 0xff)
		return true;
	static const uint8_t zero[12] = { 0 };
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	if (memcmp(a, mapped, 12) == 0)
		return true;
	if (memcmp(a, zero, 12) != 0)
		return false;
	/* ::/96: only ::1, the host's own loopback, is a client */
	static const uint8_t one[4] = { 0, 0, 0, 1 };
	return !(seen == PEER_HOST && memcmp(a + 12, one, 4) == 0);
}

bool peer_mac_never(const uint8_t *mac)
{
	if (mac[0] & 1)
		return true;
	static const uint8_t zero[6] = { 0 };
	return memcmp(mac, zero, 6) == 0;
}
