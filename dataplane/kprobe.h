/* kprobe.h: kernel probes, the frames of the health check of what the
 * kernel answers (TCP, ICMP echo) through the DPDK port, as a client
 * reaches it.
 *
 * The exception thread puts a TCP SYN from a probe source (a client's
 * address, routed like one) to a served address into the kernel through
 * the exception port; the kernel's SYN-ACK comes back through the same
 * exception port only if the kernel accepted the SYN and has a route back
 * to the client through the port (the lab's failure: the edge's default
 * routes removed, every client's TCP lost while a local connect works).
 * The SYN-ACK is taken off the path (it never reaches the wire) and the
 * half-open connection is reset with an RST.
 *
 * Pure functions of bytes: no allocation, no I/O; fuzzable.
 */
#ifndef EDGEDNS_KPROBE_H
#define EDGEDNS_KPROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KPROBE_SYN 0x02
#define KPROBE_RST 0x04
#define KPROBE_ACK 0x10
#define KPROBE_ECHO 0x80           /* kprobe_match(): an ICMP echo reply */

/* One TCP probe. Addresses in network order (4 octets used for IPv4),
 * ports and seq in host order. */
struct kprobe_spec {
	uint8_t dst_mac[6];        /* the port's (and its exception port's) MAC */
	uint8_t src_mac[6];        /* as the client side (PROBE_SRC_MAC) */
	bool v6;
	uint8_t src[16];           /* the probe source: a client */
	uint8_t dst[16];           /* the served address */
	bool icmp;                 /* an ICMP echo request (identifier sport,
	                              sequence number the low 16 bits of seq)
	                              instead of a TCP SYN */
	uint16_t sport, dport;
	uint32_t seq;              /* the SYN's sequence number */
};

/* Write the ICMP (ICMPv6) echo request of s (8 octets of data) as an
 * Ethernet frame into fr; its length, 0 when cap is short. */
size_t kprobe_build_echo(const struct kprobe_spec *s, uint8_t *fr, size_t cap);

/* Write a TCP segment of s with flags and sequence number seq (ACK number
 * 0, window 1024, no options, no data) as an Ethernet frame into fr (cap
 * octets), checksums computed. Returns its length, 0 when cap is short. */
size_t kprobe_build(const struct kprobe_spec *s, uint8_t flags, uint32_t seq, uint8_t *fr,
                    size_t cap);

/* Is fr (len octets, a frame the kernel sends) the kernel's answer to the
 * SYN of s: TCP from s->dst:dport to s->src:sport? Returns its TCP flags
 * (SYN|ACK: accepted; RST: refused), 0 when the frame is not one. For an
 * ICMP probe: KPROBE_ECHO for the echo reply from s->dst to s->src with
 * its identifier and sequence number, else 0. */
uint8_t kprobe_match(const struct kprobe_spec *s, const uint8_t *fr, size_t len);

#endif
