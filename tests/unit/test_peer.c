/* test_peer.c: the senders never answered (dataplane/peer.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "peer.h"

static void t_loop_port(void **state)
{
	(void)state;
	static const uint16_t loop[] = { 7, 11, 13, 17, 19, 37, 69, 123 };
	unsigned n = 0;
	for (unsigned p = 0; p < 65536; p++) {
		bool want = false;
		for (size_t i = 0; i < sizeof(loop) / sizeof(loop[0]); i++)
			want |= p == loop[i];
		assert_int_equal(peer_loop_port((uint16_t)p), want);
		n += want;
	}
	assert_int_equal(n, sizeof(loop) / sizeof(loop[0]));
	/* 0 is the callers' check; 53 is a resolver's fixed port */
	assert_false(peer_loop_port(0));
	assert_false(peer_loop_port(53));
}

static void t_v4(void **state)
{
	(void)state;
	static const uint8_t never[][4] = {
		{ 0, 0, 0, 0 }, { 0, 255, 255, 255 }, { 224, 0, 0, 1 }, { 239, 255, 255, 250 },
		{ 240, 0, 0, 0 }, { 255, 255, 255, 255 },
	};
	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
		assert_true(peer_v4_never(never[i], PEER_WIRE));
		assert_true(peer_v4_never(never[i], PEER_HOST));
	}
	static const uint8_t lo[][4] = { { 127, 0, 0, 1 }, { 127, 1, 2, 3 } };
	for (size_t i = 0; i < 2; i++) {
		assert_true(peer_v4_never(lo[i], PEER_WIRE));
		assert_false(peer_v4_never(lo[i], PEER_HOST));
	}
	static const uint8_t ok[][4] = {
		{ 1, 0, 0, 0 }, { 126, 255, 255, 255 }, { 128, 0, 0, 0 }, { 192, 0, 2, 1 },
		{ 198, 51, 100, 255 }, { 223, 255, 255, 255 },
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_false(peer_v4_never(ok[i], PEER_WIRE));
		assert_false(peer_v4_never(ok[i], PEER_HOST));
	}
}

static void t_v6(void **state)
{
	(void)state;
	static const uint8_t never[][16] = {
		{ 0 },                                                /* :: */
		{ [12] = 192, 0, 2, 1 },                              /* ::192.0.2.1 */
		{ [10] = 0xff, [11] = 0xff, 127, 0, 0, 1 },           /* ::ffff:127.0.0.1 */
		{ [10] = 0xff, [11] = 0xff, 192, 0, 2, 53 },
		{ [10] = 0xff, [11] = 0xff },                         /* ::ffff:0.0.0.0 */
		{ 0xff, 0x02, [15] = 1 },
		{ 0xff, 0x0e, [15] = 0x53 },
	};
	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
		assert_true(peer_v6_never(never[i], PEER_WIRE));
		assert_true(peer_v6_never(never[i], PEER_HOST));
	}
	static const uint8_t one[16] = { [15] = 1 };
	assert_true(peer_v6_never(one, PEER_WIRE));
	assert_false(peer_v6_never(one, PEER_HOST));
	static const uint8_t ok[][16] = {
		{ 0x20, 0x01, 0x0d, 0xb8, [15] = 1 },
		{ 0xfe, 0x80, [15] = 1 },
		{ [9] = 1, [10] = 0xff, [11] = 0xff, 192, 0, 2, 1 }, /* not ::ffff:0:0/96 */
		{ [10] = 0xff, [11] = 0xfe, 192, 0, 2, 1 },
		{ [11] = 1, 192, 0, 2, 1 },                           /* not ::/96 */
		{ 0xfe, 0xff, [15] = 1 },
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_false(peer_v6_never(ok[i], PEER_WIRE));
		assert_false(peer_v6_never(ok[i], PEER_HOST));
	}
}

static void t_mac(void **state)
{
	(void)state;
	static const uint8_t never[][6] = {
		{ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, { 0x01, 0x00, 0x5e, 0x7f, 0xff, 0xfa },
		{ 0x33, 0x33, 0xff, 0x00, 0x00, 0x53 }, { 0x01, 0x80, 0xc2, 0, 0, 0 },
		{ 0, 0, 0, 0, 0, 0 },
	};
	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++)
		assert_true(peer_mac_never(never[i]));
	static const uint8_t ok[][6] = {
		{ 0x02, 0, 0, 0, 0, 0x01 }, { 0, 0, 0, 0, 0, 1 }, { 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff },
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_false(peer_mac_never(ok[i]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_loop_port),
		cmocka_unit_test(t_v4),
		cmocka_unit_test(t_v6),
		cmocka_unit_test(t_mac),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
