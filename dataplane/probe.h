/* probe.h: in-band probe frames: a DNS query frame built as a client would
 * send it to the anycast address, and the check of the response frame the
 * dataplane's packet path produced for it.
 *
 * The command socket's "probe" command (io_dpdk.c) builds one query frame
 * per worker lcore with probe_build(), passes it through the worker's own
 * packet path (classification, engine, in-place reply: the code NIC frames
 * take) by a per-worker ring, and reads the result with probe_check().
 * Plain bytes in and out: no mbuf, no allocation, no I/O, so the unit tests
 * and the fuzzer drive both directly. probe_check() reads a frame of any
 * content within len octets (bounds-checked, first error kept).
 */
#ifndef EDGEDNS_PROBE_H
#define EDGEDNS_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dname.h"

/* The probe source addresses when the command names none: documentation
 * addresses, never routed and never on the wire (the frame goes from the
 * command thread into a worker's ring and back). */
#define PROBE_SRC4 "198.51.100.254"
#define PROBE_SRC6 "2001:db8:ffff::fe"
/* Locally administered unicast: never a port's own MAC address. */
#define PROBE_SRC_MAC { 0x02, 0x65, 0x64, 0x6e, 0x73, 0x70 }
#define PROBE_EDNS_SIZE 1232       /* the OPT record's payload size */
#define PROBE_RDATA_MAX 256        /* first answer's rdata, presentation form */

/* One probe query, as sent by the client side. Addresses in network order
 * (4 octets used for IPv4), ports and numbers in host order. */
struct probe_spec {
	uint8_t dst_mac[6];        /* the port's MAC address */
	uint8_t src_mac[6];
	bool v6;
	uint8_t src[16];           /* the probe's source address */
	uint8_t dst[16];           /* the anycast (served) address */
	uint16_t sport, dport;
	uint16_t id;               /* DNS message ID */
	uint16_t ip_id;            /* IPv4 identification */
	uint8_t qname[DNAME_MAXLEN];  /* wire form, case as given */
	size_t qname_len;
	uint16_t qtype;
	uint16_t edns_size;        /* 0: no OPT record */
};

/* What the response said. */
struct probe_result {
	uint16_t rcode;            /* with the OPT record's extended bits */
	bool aa, tc;
	uint16_t ancount;
	bool has_serial;           /* the answer section has a SOA: its serial */
	uint32_t serial;
	uint16_t an_type;          /* type of the first answer RR (0: none) */
	/* presentation form of the first answer's rdata when it is an A, AAAA
	 * or TXT record ("" otherwise), cut with "..." past PROBE_RDATA_MAX */
	char rdata[PROBE_RDATA_MAX];
};

/* Write the query frame for s into fr (cap octets): Ethernet, IPv4 (no
 * options, DF clear) or IPv6, UDP with its checksum, one question class IN
 * with RD clear and an OPT record when edns_size. Returns the frame length,
 * or 0 when it does not fit cap or s->qname is not a valid wire name. */
size_t probe_build(const struct probe_spec *s, uint8_t *fr, size_t cap);

/* Check that the len octets at fr are the response to the query of s:
 * MAC addresses, IP addresses and ports swapped, lengths consistent, IPv4
 * header checksum and UDP checksum right (present: the worker computes it
 * in software for probes), DNS ID equal, QR set, opcode QUERY, the
 * question echoed, every RR within the message. Returns NULL and fills *r,
 * or a static message saying what is wrong (r partly filled). */
const char *probe_check(const struct probe_spec *s, const uint8_t *fr, size_t len,
                        struct probe_result *r);

/* RR type number of a mnemonic ("SOA", "aaaa", "TYPE65"); 0 when unknown. */
uint16_t probe_qtype(const char *s);

/* The mnemonic of type t into buf ("TYPE65" for those without one). */
const char *probe_type_str(uint16_t t, char *buf, size_t size);

#endif
