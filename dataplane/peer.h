/* peer.h: the senders the dataplane never answers, on any path.
 *
 * An answer goes back to the query's source: its address, its port and (on
 * the DPDK path, which swaps the headers) its MAC address. A source that
 * cannot be a DNS client turns an answer into a reflection onto a third
 * party, onto a group, onto ourselves, or into an endless exchange with a
 * service that answers anything (the "loop DoS" class, CVE-2024-2169).
 * These checks are the one statement of which sources those are; pkt.c
 * (DPDK frames) and io_socket.c (the kernel's server) both apply them, and
 * count what they drop. The policy and its reasons are in the README
 * ("Answers that never leave the box").
 *
 * Pure functions of their arguments: no I/O, no allocation, no lock; per
 * packet from any thread.
 */
#ifndef EDGEDNS_PEER_H
#define EDGEDNS_PEER_H

#include <stdbool.h>
#include <stdint.h>

/* Where the source was seen. PEER_WIRE: a frame from the network (the DPDK
 * path): loopback sources there are forged. PEER_HOST: a datagram the
 * kernel delivered to a socket: the kernel has dropped loopback and local
 * sources that came from the wire (martians), so those are the host's own
 * clients and are answered. */
enum peer_seen { PEER_WIRE = 0, PEER_HOST = 1 };

/* A UDP source port (host order) that is never answered: the well-known
 * services that answer any datagram they receive, so that an answer to
 * them is answered again: echo 7, systat 11, daytime 13, qotd 17, chargen
 * 19, time 37, tftp 69, ntp 123 (the services of the loop DoS study). All
 * below 1024: a resolver's source port is 53 or 1024 and above (RFC
 * 5452), and 53 (resolvers with a fixed query port) is answered. Port 0
 * (RFC 768: no port to answer to) is the callers' own check. */
bool peer_loop_port(uint16_t port);

/* An IPv4 source that is never a client: 0.0.0.0/8 (RFC 1122 3.2.1.3: this
 * host, only as a source during start-up, never answered), 224.0.0.0/4
 * multicast and 240.0.0.0/4 (reserved, and 255.255.255.255 broadcast), RFC
 * 1122 3.2.1.3 and RFC 1812 5.3.7; 127.0.0.0/8 loopback when seen on the
 * wire. a: 4 octets, network order. */
bool peer_v4_never(const uint8_t *a, enum peer_seen seen);

/* An IPv6 source that is never a client: ff00::/8 multicast (RFC 4291
 * 2.7), ::/96 (the unspecified address, RFC 4291 2.5.2, and the deprecated
 * IPv4-compatible addresses, 2.5.5.1) but ::1 seen on the host, and
 * ::ffff:0:0/96 IPv4-mapped addresses, which stand for IPv4 peers inside
 * one host's socket API and never appear in an IPv6 header (RFC 4291
 * 2.5.5.2): answering one would answer its embedded IPv4
 * address (::ffff:127.0.0.1, ::ffff:192.0.2.53) under another family's
 * checks. a: 16 octets, network order. */
bool peer_v6_never(const uint8_t *a, enum peer_seen seen);

/* A source MAC address that never sends: a group address (I/G bit set:
 * broadcast, IPv4 multicast 01:00:5e:..., IPv6 multicast 33:33:...; IEEE
 * 802.3 3.2.3: in a source address that bit is 0) or the
 * all-zero address. An answer swaps the MAC addresses, so it would go to
 * the group, or to no station. mac: 6 octets. */
bool peer_mac_never(const uint8_t *mac);

#endif
