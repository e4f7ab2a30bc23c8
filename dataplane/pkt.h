/* pkt.h: Ethernet, IPv4/IPv6 and UDP framing for the DPDK fast path.
 *
 * pkt_classify() decides what a received frame is: a DNS query the fast
 * path answers, something for the kernel (the exception path), a frame to
 * drop and count as malformed, or our own frame looped back. pkt_reply()
 * turns an answered query frame into its response in place. Both work on
 * plain bytes (no mbuf), touch nothing but the frame, and never allocate,
 * lock or call the kernel, so the unit tests and the fuzzer drive them
 * directly.
 */
#ifndef EDGEDNS_PKT_H
#define EDGEDNS_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PKT_ADDR_MAX 16

/* What a port answers: DNS to dns_port on one of the served addresses, in
 * frames sent to the port's own MAC address. Each served address has the
 * length of its prefix on the link (0: the address alone, /32 or /128):
 * an IPv4 prefix of /30 or shorter has a network and a broadcast address,
 * the forms of its broadcast, which are never a source (RFC 1122 3.2.1.3,
 * 3.3.6; RFC 1812 5.3.7). */
struct pkt_filter {
	uint8_t mac[6];
	uint16_t dns_port;               /* host order */
	unsigned n4, n6;
	uint8_t v4[PKT_ADDR_MAX][4];
	uint8_t v6[PKT_ADDR_MAX][16];
	uint8_t plen4[PKT_ADDR_MAX];     /* 0..32; 0: 32 */
	uint8_t plen6[PKT_ADDR_MAX];     /* 0..128; 0: 128 (kept: IPv6 has no
	                                    broadcast address) */
};

enum pkt_verdict {
	PKT_DNS = 0,     /* a UDP DNS query to a served address: answer it */
	PKT_KERNEL,      /* anything else well formed: to the exception port */
	PKT_MALFORMED,   /* broken framing, bad checksum, reserved VLAN ID */
	PKT_OWN,         /* a frame with our own source MAC (looped back) */
	PKT_BAD_SOURCE,  /* a source never answered (peer.h): a group or zero
	                    MAC; to a served address, an impossible, served or
	                    directed-broadcast IP source */
	PKT_LOOP_PORT,   /* DNS to a served address from the port of a service
	                    that answers anything (peer_loop_port()) */
};

/* Checksum facts the NIC already established (mbuf offload flags). */
#define PKT_RX_IP_GOOD 0x1u
#define PKT_RX_L4_GOOD 0x2u
#define PKT_RX_IP_BAD  0x4u
#define PKT_RX_L4_BAD  0x8u

/* Where the parts of a DNS frame are. */
struct pkt_meta {
	uint16_t l2;        /* Ethernet header, with an 802.1Q tag if any */
	uint16_t l3;        /* IP header length (IPv4 without options: 20) */
	uint16_t dns;       /* offset of the DNS message in the frame */
	uint16_t dns_len;   /* its length (from the UDP length) */
	uint8_t v6;         /* 1: IPv6 */
};

/* Classify frame fr of len octets received on a port with filter f.
 * rx_flags: PKT_RX_* from the NIC (0 when it checks nothing). On PKT_DNS,
 * *m says where the DNS message is. Rules, in order:
 *  - shorter than an Ethernet header: malformed; our own source MAC: own;
 *    a group or all-zero source MAC: bad source (any frame);
 *  - not to our MAC, 802.1ad or stacked tags, non-IP ethertypes: kernel;
 *    an 802.1Q tag with the reserved VLAN ID 4095: malformed;
 *  - IPv4: bad version, IHL < 5, lengths beyond the frame, bad header
 *    checksum: malformed; not a served destination: kernel; a source that
 *    is never answered (peer_v4_never() as seen on the wire, a served
 *    address, the network or broadcast address of a served prefix): bad
 *    source, whatever the protocol; options, fragments, not UDP: kernel;
 *  - IPv6: bad version or payload length: malformed; not a served
 *    destination: kernel; peer_v6_never() (wire) or a served address as
 *    the source: bad source; any extension header or other next header:
 *    kernel;
 *  - UDP not to dns_port: kernel; UDP length not equal to the IP payload,
 *    source port 0, bad checksum (and a zero checksum over IPv6):
 *    malformed; a looping service's source port (peer_loop_port()): loop
 *    port;
 *  - DNS: a response (QR), or an opcode other than QUERY (NOTIFY, UPDATE),
 *    goes to the kernel; shorter than 12 octets stays DNS (the engine
 *    answers nothing over UDP). */
enum pkt_verdict pkt_classify(const struct pkt_filter *f, const uint8_t *fr, size_t len,
                              unsigned rx_flags, struct pkt_meta *m);

/* Whether frame fr of len octets carries BGP (TCP, either port 179) or
 * BFD control (UDP to port 3784, single hop, or 4784, multihop), over IPv4
 * (any header length, not a later fragment) or IPv6 (TCP or UDP right
 * after the fixed header), with one 802.1Q tag at most; the addresses and
 * MACs are not looked at. For the dataplane lease (io_dpdk.h): what is cut
 * on the exception path, in both directions, when it has run out. Reads
 * at most the first 4 octets past the IP header; anything shorter is not
 * routing. */
bool pkt_is_routing(const uint8_t *fr, size_t len);

/* Rewrite the headers of query frame fr (classified PKT_DNS, *m) into the
 * headers of its response, whose dns_len octets of DNS message are already
 * at fr + m->dns: swap MAC addresses, IP addresses and ports, set the
 * lengths, TTL / hop limit 64, the IPv4 header checksum, and the UDP
 * checksum (computed here unless l4_offload: then the pseudo-header sum
 * is left for the NIC, as DPDK's checksum offload wants). Returns the
 * frame length. */
size_t pkt_reply(uint8_t *fr, const struct pkt_meta *m, size_t dns_len, bool l4_offload);

/* The UDP checksum of a complete frame described by m (0 if it is right,
 * when the field is included). Exposed for the tests. */
uint16_t pkt_udp_cksum(const uint8_t *fr, const struct pkt_meta *m, size_t udp_len);

/* The checksum of the IPv4 header at ip, ihl octets long, in memory byte
 * order: the value to store in a zeroed checksum field, or 0 when the
 * field holds the right one. */
uint16_t pkt_ipv4_cksum(const uint8_t *ip, size_t ihl);

#endif
