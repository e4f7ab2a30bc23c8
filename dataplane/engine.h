/* engine.h: the authoritative answer engine.
 *
 * A pure function of (zoneset, query bytes, transport facts) to response
 * bytes: no I/O, no allocation, no locks, no logging. The DPDK path, the
 * kernel-socket path and the fuzzers all call eng_answer(). Callable from
 * any number of threads at once, each with its own response buffer; the
 * zoneset must stay alive for the duration of the call (RCU reader).
 */
#ifndef EDGEDNS_ENGINE_H
#define EDGEDNS_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "zoneset.h"

#define ENG_UDP_MAX_DEFAULT 1232   /* our EDNS payload size (DNS flag day 2020) */
#define ENG_TCP_MAX 65535
#define ENG_CNAME_CHAIN_MAX 5      /* CNAME records in one answer (as Knot DNS) */

struct eng_cookie_conf;   /* cookie.h */

/* Server identity answers, from configuration. NULL/0: off. */
struct eng_conf {
	uint16_t udp_max;          /* max UDP response; 0 = ENG_UDP_MAX_DEFAULT */
	const uint8_t *nsid;       /* NSID option payload (RFC 5001), raw octets */
	uint16_t nsid_len;
	const char *id_server;     /* CHAOS TXT id.server. */
	const char *hostname_bind; /* CHAOS TXT hostname.bind. */
	const char *version_bind;  /* CHAOS TXT version.bind. (off by default) */
	const char *version_server;/* CHAOS TXT version.server. (off by default) */
	const struct eng_cookie_conf *cookie;  /* DNS Cookies (RFC 7873/9018);
	                              NULL: off, the COOKIE option is ignored as
	                              by a server that does not know it */
	uint8_t no_fast_path;      /* tests and fuzzers: answer everything through
	                              the general path, to compare the two */
};

enum eng_transport { ENG_UDP = 0, ENG_TCP = 1 };

/* What the query's COOKIE option was worth (struct eng_msg.cookie). Only
 * ENG_COOKIE_VALID proves the client saw one of our earlier answers at that
 * address (the dataplane spares those from rate limiting). */
enum eng_cookie {
	ENG_COOKIE_NONE = 0,   /* no COOKIE option, or the query was malformed */
	ENG_COOKIE_CLIENT,     /* a client cookie only, or cookies are off (or
	                          the client address unknown): not checked */
	ENG_COOKIE_VALID,      /* a server cookie that verified */
	ENG_COOKIE_BAD,        /* a server cookie that did not verify: over UDP
	                          the answer is BADCOOKIE (RFC 7873 5.2.3) */
};

/* With cookies on, a query with a COOKIE option is answered with the client
 * cookie and a fresh server cookie made for the client's address at `now`.
 * client NULL (or not AF_INET/AF_INET6): no address to make a cookie for,
 * so cookies are answered as if off. now: unix seconds; callers with
 * cookies on must set it (read the clock once per batch, not per packet). */
struct eng_xport {
	enum eng_transport transport;
	const struct sockaddr *client;   /* may be NULL */
	uint32_t now;                    /* unix seconds (cookies) */
};

/* Answer one query.
 * q, qlen: the DNS message as received (no TCP length prefix).
 * resp, cap: response buffer; cap >= 512 (UDP) or ENG_TCP_MAX (TCP) is
 *   enough for any answer; a smaller cap lowers the limit the response is
 *   fitted to (with TC over UDP).
 * Returns the response length, or 0 when nothing must be sent: the message
 * is a response, or too short to carry an ID and flags, or, over UDP, not
 * a plausible query (shorter than a header, or with more questions and
 * records than its octets could hold: the text of a service that answers
 * anything, which an error answer would start a loop with). The cookie
 * verdict is reported by eng_answer_burst() (a burst of one will do).
 * A QUERY without a question but with a COOKIE option (cookies on) is
 * answered with a server cookie (RFC 7873 5.4). */
size_t eng_answer(const struct eng_conf *conf, const struct zoneset *zs,
                  const uint8_t *q, size_t qlen, uint8_t *resp, size_t cap,
                  const struct eng_xport *x);

#define ENG_BURST_MAX 32

/* One query of a burst: in q/qlen/resp/cap/client/now, out rlen (0: send
 * nothing) and cookie. */
struct eng_msg {
	const uint8_t *q;
	size_t qlen;
	uint8_t *resp;
	size_t cap;
	const struct sockaddr *client;   /* may be NULL */
	uint32_t now;                    /* unix seconds, as eng_xport.now */
	size_t rlen;
	uint8_t cookie;                  /* out: enum eng_cookie */
};

/* Answer up to ENG_BURST_MAX queries at once, the same answers as
 * eng_answer() gives one by one, with the memory of all of them
 * prefetched in stages (parse and hash all, then fetch index slots, nodes,
 * data) so their cache misses overlap. Same rules as eng_answer(): no
 * I/O, no allocation, no locks. */
void eng_answer_burst(const struct eng_conf *conf, const struct zoneset *zs,
                      struct eng_msg *m, unsigned n, enum eng_transport transport);

#endif
