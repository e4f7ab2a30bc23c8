/* birdconf.h: the BIRD 2 configuration of the appliance, generated from a
 * plain description (struct birdconf) and the templates in bgp/templates/
 * (built into the library by the Makefile).
 *
 * The naming contract (control and anycast.h rely on it):
 *
 *   anycast_S_4, anycast_S_6   static protocols of service S carrying its
 *                              IPv4 and IPv6 prefixes (blackhole routes):
 *                              the normal announcement. Channel preference
 *                              BIRDCONF_PREF_ANYCAST.
 *   gshut_S_4, gshut_S_6       the same prefixes with the GRACEFUL_SHUTDOWN
 *                              community (65535,0) (RFC 8326) and
 *                              bgp_local_pref 0, added by their import
 *                              filter; preference BIRDCONF_PREF_GSHUT, so
 *                              when both are up the gshut route is the best
 *                              one and the only one exported.
 *   bgp_N                      the BGP session with neighbour N (one
 *                              address family: that of N's address; N is
 *                              the neighbour's name, or its address with
 *                              '_' for '.' and ':').
 *   bfd1                       the BFD protocol, when a neighbour uses BFD.
 *   device1                    the device protocol.
 *
 * All four protocols of every service exist (a family without prefixes
 * gets an empty static protocol) and all are "disabled" in the file: fail
 * closed. A BIRD that starts, restarts or is reconfigured announces nothing
 * until control enables them on the control socket. The BGP export filter
 * accepts only routes of these protocols (by protocol name); BGP imports
 * nothing; there is no kernel protocol, so nothing reaches the kernel's
 * routing table.
 *
 * Drain, in BIRD terms (anycast.h does it): enable gshut_S_*, wait until
 * their routes are in the table (the best route of each prefix now
 * carries the community, BGP sends it as an update replacing the plain
 * one: no gap), disable anycast_S_* (not best: no change on the wire),
 * wait (BIRDCONF_DRAIN_MS by default) for the routers to move traffic,
 * disable gshut_S_* (the withdraw).
 *
 * Every string is validated: names are BIRD symbols (letters, digits, '_',
 * beginning with a letter), addresses and prefixes parse, a password has no
 * quote, backslash or control character. A bad value is ED_EINVAL with a
 * message naming it ("neighbor[1] 'r2': address '192.0.2.x' is not an IPv4
 * or IPv6 address").
 */
#ifndef EDGEDNS_BIRDCONF_H
#define EDGEDNS_BIRDCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum birdconf_bfd {
	BIRDCONF_BFD_DEFAULT = 0,  /* on */
	BIRDCONF_BFD_ON,
	BIRDCONF_BFD_OFF,
};

/* A BGP neighbour (PoP router). Zero fields take defaults. */
struct birdconf_neighbor {
	const char *name;          /* the protocol is bgp_<name>; unique. NULL:
	                              from the address, '.' and ':' as '_'
	                              (bgp_192_0_2_1, bgp_2001_db8__1) */
	const char *address;       /* IPv4 or IPv6; the session's family */
	unsigned port;             /* 0: 179 */
	uint32_t remote_as;        /* 1..4294967295 */
	const char *password;      /* TCP MD5 (RFC 2385); NULL: none */
	enum birdconf_bfd bfd;     /* default on: the session runs through the
	                              dataplane's exception path, when that dies
	                              no withdraw can be sent and the router
	                              must notice by itself */
	const char *source;        /* source address; NULL: BIRD chooses */
	const char *interface;     /* NULL; required for a link-local address */
	unsigned multihop;         /* 0: directly connected; else the TTL */
	unsigned hold_time;        /* s, 0: BIRDCONF_DEFAULT_HOLD_TIME */
};

/* An anycast service: the prefixes the appliance announces while healthy.
 * An address without length is a host route (/32, /128). */
struct birdconf_service {
	const char *name;          /* protocols anycast_<name>_4 ... */
	const char *const *prefixes4;
	size_t n4;
	const char *const *prefixes6;
	size_t n6;
};

struct birdconf {
	const char *router_id;     /* an IPv4 address */
	uint32_t local_as;
	const struct birdconf_neighbor *neighbors;
	size_t n_neighbors;
	const struct birdconf_service *services;
	size_t n_services;
	unsigned bfd_interval_ms;  /* 0: BIRDCONF_DEFAULT_BFD_INTERVAL_MS */
	unsigned bfd_multiplier;   /* 0: BIRDCONF_DEFAULT_BFD_MULTIPLIER */
	const char *control_socket;/* the path BIRD is started with (-s), for
	                              the file's header; NULL: none written */
	const char *log;           /* NULL or "syslog", "stderr", or a file */
};

/* 100 ms x 3: a dead peer is noticed within 300 ms. */
#define BIRDCONF_DEFAULT_BFD_INTERVAL_MS 100u
#define BIRDCONF_DEFAULT_BFD_MULTIPLIER 3u
#define BIRDCONF_DEFAULT_HOLD_TIME 30u
#define BIRDCONF_PREF_ANYCAST 200
#define BIRDCONF_PREF_GSHUT 210
#define BIRDCONF_DRAIN_MS 10000u

/* Check every field: 0 or ED_EINVAL with a message in err. */
int birdconf_check(const struct birdconf *cf, char *err, size_t errlen);

/* The whole bird.conf into a malloc'ed string (*out, *outlen). 0,
 * ED_EINVAL (birdconf_check), ED_ENOMEM. */
int birdconf_render(const struct birdconf *cf, char **out, size_t *outlen, char *err,
                    size_t errlen);

/* Render and write to path: a temporary file in the same directory,
 * fsynced, renamed over path, the directory fsynced. 0, ED_EINVAL, ED_EIO,
 * ED_ENOMEM. */
int birdconf_write(const struct birdconf *cf, const char *path, char *err, size_t errlen);

/* Write len octets of text to path the same way (temporary file in the
 * same directory, mode, fsync, rename, directory fsync): birdconf_write()
 * with mode 0644. 0, ED_EIO, ED_ENOMEM. */
int birdconf_write_file(const char *path, const char *text, size_t len, unsigned mode,
                        char *err, size_t errlen);

/* The protocol names of service svc: kind "anycast" or "gshut", family 4
 * or 6, into buf ("anycast_dns_4"). 0 or ED_EINVAL (svc not a valid name,
 * buffer too small). */
int birdconf_proto_name(const char *svc, const char *kind, int family, char *buf,
                        size_t buflen);

#endif
