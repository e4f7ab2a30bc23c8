/* test_kprobe.c: the kernel probes' frames (kprobe.h): the SYN is well
 * formed (checksums against the reference fold), the kernel's SYN-ACK and
 * RST are recognised only for our tuple and sequence number. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kprobe.h"

static uint16_t fold_sum(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static struct kprobe_spec spec(int v6)
{
	struct kprobe_spec s;
	memset(&s, 0, sizeof(s));
	s.v6 = v6;
	if (v6) {
		inet_pton(AF_INET6, "2001:db8:ffff::fe", s.src);
		inet_pton(AF_INET6, "2001:db8:53::53", s.dst);
	} else {
		inet_pton(AF_INET, "198.51.100.254", s.src);
		inet_pton(AF_INET, "198.51.100.53", s.dst);
	}
	memcpy(s.dst_mac, "\x02\x00\x00\x00\x00\x01", 6);
	memcpy(s.src_mac, "\x02\x65\x64\x6e\x73\x70", 6);
	s.sport = 40000;
	s.dport = 53;
	s.seq = 0xfffffffeu;       /* seq + 1 wraps */
	return s;
}

/* The kernel's answer to s: from dst:dport to src:sport, ack = seq + 1. */
static size_t answer(const struct kprobe_spec *s, uint8_t flags, uint32_t ack, uint8_t *fr)
{
	struct kprobe_spec r = *s;
	memcpy(r.src, s->dst, 16);
	memcpy(r.dst, s->src, 16);
	r.sport = s->dport;
	r.dport = s->sport;
	size_t len = kprobe_build(&r, flags, 12345, fr, 128);
	size_t l3 = s->v6 ? 40 : 20;
	uint8_t *tcp = fr + 14 + l3;
	tcp[8] = (uint8_t)(ack >> 24);
	tcp[9] = (uint8_t)(ack >> 16);
	tcp[10] = (uint8_t)(ack >> 8);
	tcp[11] = (uint8_t)ack;
	return len;
}

static void t_syn(void **st)
{
	(void)st;
	for (int v6 = 0; v6 < 2; v6++) {
		struct kprobe_spec s = spec(v6);
		uint8_t fr[128];
		assert_int_equal(kprobe_build(&s, KPROBE_SYN, s.seq, fr, 20), 0);
		size_t len = kprobe_build(&s, KPROBE_SYN, s.seq, fr, sizeof(fr));
		size_t l3 = v6 ? 40 : 20;
		assert_int_equal(len, 14 + l3 + 20);
		assert_memory_equal(fr, s.dst_mac, 6);
		const uint8_t *ip = fr + 14, *tcp = ip + l3;
		if (!v6)
			assert_int_equal(fold_sum(ip, 20, 0), 0xffff);
		/* the TCP checksum over the pseudo header sums to all ones */
		uint32_t ps = v6 ? fold_sum(ip + 8, 32, 0) : fold_sum(ip + 12, 8, 0);
		assert_int_equal(fold_sum(tcp, 20, ps + 6 + 20), 0xffff);
		assert_int_equal(tcp[13], KPROBE_SYN);
		assert_int_equal(tcp[0] << 8 | tcp[1], 40000);
		assert_int_equal(tcp[2] << 8 | tcp[3], 53);
		/* our own SYN is not an answer */
		assert_int_equal(kprobe_match(&s, fr, len), 0);
	}
}

static void t_match(void **st)
{
	(void)st;
	for (int v6 = 0; v6 < 2; v6++) {
		struct kprobe_spec s = spec(v6);
		uint8_t fr[128];
		size_t len = answer(&s, KPROBE_SYN | KPROBE_ACK, s.seq + 1, fr);
		assert_int_equal(kprobe_match(&s, fr, len), KPROBE_SYN | KPROBE_ACK);
		assert_int_equal(kprobe_match(&s, fr, len - 1), 0);      /* short */
		len = answer(&s, KPROBE_RST | KPROBE_ACK, s.seq + 1, fr);
		assert_int_equal(kprobe_match(&s, fr, len), KPROBE_RST | KPROBE_ACK);
		/* another sequence number: an older probe's */
		len = answer(&s, KPROBE_SYN | KPROBE_ACK, s.seq, fr);
		assert_int_equal(kprobe_match(&s, fr, len), 0);
		/* another port, another address family */
		struct kprobe_spec o = s;
		o.sport++;
		len = answer(&o, KPROBE_SYN | KPROBE_ACK, s.seq + 1, fr);
		assert_int_equal(kprobe_match(&s, fr, len), 0);
		struct kprobe_spec f = spec(!v6);
		len = answer(&f, KPROBE_SYN | KPROBE_ACK, s.seq + 1, fr);
		assert_int_equal(kprobe_match(&s, fr, len), 0);
		/* a plain ACK of data is not an answer to the SYN */
		len = answer(&s, KPROBE_ACK, s.seq + 1, fr);
		assert_int_equal(kprobe_match(&s, fr, len), 0);
	}
}

/* ICMP: the echo request's checksums, and the reply that matches (its
 * identifier and sequence number, from the probed address). */
static void t_echo(void **st)
{
	(void)st;
	for (int v6 = 0; v6 < 2; v6++) {
		struct kprobe_spec s = spec(v6);
		s.icmp = true;
		uint8_t fr[128];
		size_t len = kprobe_build_echo(&s, fr, sizeof(fr));
		size_t l3 = v6 ? 40 : 20;
		assert_int_equal(len, 14 + l3 + 16);
		const uint8_t *ip = fr + 14, *ic = ip + l3;
		assert_int_equal(ic[0], v6 ? 128 : 8);
		uint32_t ps = v6 ? fold_sum(ip + 8, 32, 0) + 58 + 16 : 0;
		assert_int_equal(fold_sum(ic, 16, ps), 0xffff);
		assert_int_equal(kprobe_match(&s, fr, len), 0);   /* the request */
		/* the reply: addresses swapped, type 0 / 129 */
		struct kprobe_spec r = s;
		memcpy(r.src, s.dst, 16);
		memcpy(r.dst, s.src, 16);
		len = kprobe_build_echo(&r, fr, sizeof(fr));
		uint8_t *ric = fr + 14 + l3;
		ric[0] = v6 ? 129 : 0;
		assert_int_equal(kprobe_match(&s, fr, len), KPROBE_ECHO);
		ric[7] ^= 1;                                       /* another sequence */
		assert_int_equal(kprobe_match(&s, fr, len), 0);
		ric[7] ^= 1;
		struct kprobe_spec t = s;
		t.icmp = false;                                     /* a TCP probe */
		assert_int_equal(kprobe_match(&t, fr, len), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_syn),
		cmocka_unit_test(t_match),
		cmocka_unit_test(t_echo),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
