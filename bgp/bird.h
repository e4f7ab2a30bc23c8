/* bird.h: a client of BIRD 2's control socket (the protocol of birdc).
 *
 * The protocol (BIRD's nest/cli.c, doc/reply_codes): a unix stream socket;
 * BIRD greets with "0001 BIRD 2.0.12 ready."; each request is one line of
 * text; each reply is a sequence of lines "NNNN-text" (more follow),
 * " text" (more follow, same code as the line before) and "NNNN text" (the
 * last line). Codes 0xxx: done, 1xxx: table entry, 2xxx: table heading,
 * 8xxx: run-time error, 9xxx: parse error. Commands that print tables end
 * with "0000 " after the rows. A line beginning with '+' is an asynchronous
 * printout (only after "echo"); it is skipped.
 *
 * Synchronous and blocking, for a worker thread: every call is bounded by
 * the handle's timeout (poll() on connect, send and each receive; the
 * deadline covers the whole call). One handle belongs to one thread at a
 * time; handles share nothing, there are no globals and no signals (sends
 * use MSG_NOSIGNAL). No logging: failures are a negative ED_E* code
 * (error.h, ed_strerror()) and a message for people in err (errlen
 * octets, always terminated, may be NULL):
 *
 *   ED_EIO       connect/send/receive failed, BIRD closed the socket (also
 *                in the middle of a reply), or the handle is not connected
 *   ED_ETIMEOUT  BIRD did not answer within the timeout
 *   ED_EFORMAT   not BIRD's protocol (bad greeting, malformed line)
 *   ED_ELIMIT    a reply longer than max_reply octets, or one line longer
 *                than BIRD_LINE_MAX
 *   ED_ERCODE    BIRD answered with an 8xxx/9xxx code; err holds "NNNN
 *                text" as BIRD wrote it (e.g. "8002 /etc/bird.conf:3:1
 *                syntax error"); the reply is complete and the connection
 *                stays usable
 *   ED_ENOENT    no such protocol (bird_enable(), bird_disable())
 *   ED_EBUSY     BIRD is shutting down (bird_configure())
 *   ED_EINVAL    a bad argument (a protocol name that is not a BIRD symbol,
 *                a prefix that is not one, a newline in a command...)
 *   ED_ENOMEM
 *
 * After ED_EIO, ED_ETIMEOUT, ED_EFORMAT or ED_ELIMIT the connection is out
 * of step with BIRD and is closed; bird_connect() again (same handle).
 *
 * The functions branch on reply codes; text is read only to extract data
 * (the rows of "show protocols", "show route" and "show status").
 *
 * The names of the protocols edgedns generates (anycast_S_4, gshut_S_4,
 * bgp_N...) are documented in birdconf.h; the announce, drain and withdraw
 * policy built on this client is anycast.h.
 */
#ifndef EDGEDNS_BIRD_H
#define EDGEDNS_BIRD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct bird_conn bird_conn_t;

/* Zero fields take the BIRD_DEFAULT_* values. */
struct bird_opts {
	unsigned timeout_ms;  /* one call: connect + greeting, or one command
	                         sent and its whole reply read */
	size_t max_reply;     /* octets of one reply, line ends included */
};
#define BIRD_DEFAULT_TIMEOUT_MS 5000u
#define BIRD_DEFAULT_MAX_REPLY (1u << 20)
#define BIRD_LINE_MAX 8192    /* one reply line; BIRD's own are < 1 KiB */
#define BIRD_CMD_MAX 1000     /* one command; BIRD refuses > 4 KiB (9000) */

/* A handle, not connected. NULL when out of memory. opts may be NULL. */
bird_conn_t *bird_new(const struct bird_opts *opts);

/* Close (if connected) and free. NULL is fine. */
void bird_free(bird_conn_t *c);

/* Connect to the socket at path and read the greeting, which must be a
 * 0001 reply (its text, "BIRD 2.0.12 ready.", is bird_greeting()). A
 * connected handle is closed first. 0, ED_EIO (no socket, refused: BIRD is
 * not running), ED_ETIMEOUT, ED_EFORMAT (not a BIRD greeting), ED_EINVAL
 * (path longer than a sockaddr_un holds). */
int bird_connect(bird_conn_t *c, const char *path, char *err, size_t errlen);

/* Close the socket; the handle stays, bird_connect() may follow. */
void bird_close(bird_conn_t *c);

bool bird_connected(const bird_conn_t *c);

/* The greeting's text of the current connection ("" when never
 * connected). Valid until the next bird_connect() or bird_free(). */
const char *bird_greeting(const bird_conn_t *c);

/* ---- raw commands ------------------------------------------------------- */

/* One reply line: its code (a continuation line carries the code of the
 * line before it) and its text without the "NNNN-"/"NNNN "/" " prefix and
 * without the line end. */
struct bird_line {
	int code;
	const char *text;
};

/* A whole reply. code is the code of the last line (0 for the "0000"
 * that ends table output). Owned by the caller: bird_reply_free(). */
struct bird_reply {
	int code;
	size_t n;
	struct bird_line *lines;
	char *mem;             /* the texts */
};

/* Send cmd (one line, no line end, at most BIRD_CMD_MAX octets, no
 * control characters) and read its reply into *r. 0 when the last line's
 * code is 0xxx-7xxx, ED_ERCODE when the last line (or any line) has an
 * 8xxx/9xxx code: *r is complete in both cases. *r is zeroed first and
 * left empty on every other error. bird_reply_free(r) is safe whatever
 * the return. */
int bird_command(bird_conn_t *c, const char *cmd, struct bird_reply *r, char *err,
                 size_t errlen);

void bird_reply_free(struct bird_reply *r);

/* ---- protocols ---------------------------------------------------------- */

#define BIRD_NAME_MAX 64      /* BIRD's symbol length limit (SYM_MAX_LEN) */

/* One row of "show protocols". Fields longer than their arrays are cut. */
struct bird_protocol {
	char name[BIRD_NAME_MAX + 1];
	char proto[32];        /* "BGP", "Static", "BFD", "Device" */
	char table[BIRD_NAME_MAX + 1];   /* "master4", "---" */
	char state[16];        /* "up", "down", "start", "stop" */
	char since[48];        /* as BIRD's "timeformat protocol" prints it */
	char info[192];        /* "Established", "Active Socket: ...", "" */
};

struct bird_protocols {
	size_t n;
	struct bird_protocol *v;
};

/* "show protocols", or "show protocols "pattern"" when pattern is not NULL
 * (BIRD's shell pattern: '*', '?'; a plain name matches itself). No match
 * is not an error: 0 and n == 0. Free with bird_protocols_free(). */
int bird_show_protocols(bird_conn_t *c, const char *pattern, struct bird_protocols *out,
                        char *err, size_t errlen);

void bird_protocols_free(struct bird_protocols *p);

/* The row named name in p, or NULL. */
const struct bird_protocol *bird_protocols_find(const struct bird_protocols *p,
                                                const char *name);

/* One BGP session, from "show protocols all": the row's state and since,
 * and from its details the BGP state, the neighbour, the last error and
 * the routes exported over its channels. */
struct bird_bgp_session {
	char name[BIRD_NAME_MAX + 1];
	char state[16];        /* the row's: "up", "start", "down" */
	char since[48];
	char bgp_state[24];    /* "Established", "Active", "Connect", "Idle",
	                          "OpenSent", "OpenConfirm", "Down" (disabled) */
	char neighbor[64];     /* "192.0.2.1", "" when not shown */
	char last_error[160];  /* "Received: Bad peer AS", "" */
	long exported;         /* routes exported over its channels that are up;
	                          -1 when no channel shows its routes (down) */
};

struct bird_bgp_sessions {
	size_t n;
	struct bird_bgp_session *v;
};

/* "show protocols all": every BGP protocol (Proto "BGP") as above, in
 * BIRD's order. None is not an error (n == 0). 0 or a negative ED_E* code
 * with err. Free with bird_bgp_sessions_free(). */
int bird_show_bgp(bird_conn_t *c, struct bird_bgp_sessions *out, char *err, size_t errlen);

void bird_bgp_sessions_free(struct bird_bgp_sessions *s);

/* Enable or disable the protocol name (a BIRD symbol: letters, digits,
 * '_'; sent quoted, as a pattern that matches only that name, so it is
 * never a keyword such as "all"). 0 on success; *changed (may be NULL)
 * tells whether BIRD changed its state (0011 enabled / 0009 disabled) or
 * found it so already (0010 already enabled / 0008 already disabled).
 * ED_ENOENT when BIRD has no such protocol (8003 No protocols match),
 * ED_ERCODE for another refusal. */
int bird_enable(bird_conn_t *c, const char *name, bool *changed, char *err, size_t errlen);
int bird_disable(bird_conn_t *c, const char *name, bool *changed, char *err, size_t errlen);

/* ---- configuration ------------------------------------------------------ */

/* "configure" (path NULL: the file BIRD was started with) or "configure
 * "path"". 0 when BIRD took the new configuration: 0003 Reconfigured,
 * 0004 Reconfiguration in progress (protocols are being restarted; it
 * completes by itself) or 0005 queued behind one in progress; the code is
 * in *code (may be NULL). ED_ERCODE with BIRD's message when the file does
 * not parse (8002 "file:line:col text") or cannot be read; ED_EBUSY when
 * BIRD is shutting down (0006).
 *
 * Note: BIRD compares each protocol's configured "disabled" with its
 * run-time state, so a configure turns every protocol that was enabled by
 * bird_enable() but is disabled in the file off again (and the reverse).
 * With edgedns' generated file (birdconf.h: announcing protocols disabled)
 * a configure therefore withdraws the anycast routes; the caller enables
 * them again (anycast_assert()). */
int bird_configure(bird_conn_t *c, const char *path, int *code, char *err, size_t errlen);

/* "configure status": *code is 3 when no reconfiguration is running
 * (BIRD: "Daemon is up and running"), 4 while one is (protocols being
 * restarted or stopped), 5 when another is queued behind it, 6 when BIRD
 * is shutting down. After a configure answered 0004, wait for 3 before
 * reading or asserting protocol states: until then BIRD may still be
 * applying the new file's "disabled" to them. */
int bird_configure_status(bird_conn_t *c, int *code, char *err, size_t errlen);

/* "configure check [\"path\"]": BIRD parses the file without applying it.
 * 0 (0020 Configuration OK) or ED_ERCODE with BIRD's message. */
int bird_configure_check(bird_conn_t *c, const char *path, char *err, size_t errlen);

/* ---- status ------------------------------------------------------------- */

/* "show status". last_reboot changes when BIRD restarts (a new process),
 * last_reconfig on each configure: comparing them with the values seen
 * before tells control to assert its announcements again. */
struct bird_status {
	char version[32];       /* "2.0.12" */
	char router_id[48];
	char server_time[48];
	char last_reboot[48];
	char last_reconfig[48];
	int code;               /* 13 */
	char message[64];       /* "Daemon is up and running",
	                           "Reconfiguration in progress",
	                           "Shutdown in progress" */
};

int bird_show_status(bird_conn_t *c, struct bird_status *st, char *err, size_t errlen);

/* ---- routes ------------------------------------------------------------- */

#define BIRD_ROUTE_COMMUNITIES 32

/* One route of "show route PREFIX all": the prefix's routes in every table
 * of its family, best first. */
struct bird_route {
	char table[BIRD_NAME_MAX + 1];   /* "master4" */
	char net[64];                    /* "203.0.113.53/32" */
	char dest[24];                   /* "unicast", "blackhole", ... */
	char proto[BIRD_NAME_MAX + 1];   /* where it came from: "bgp_r1" */
	char gw[48];                     /* first "via" address, or "" */
	bool primary;                    /* the best route of its net ('*') */
	size_t ncommunities;             /* BGP.community, (asn << 16) | value */
	uint32_t communities[BIRD_ROUTE_COMMUNITIES];
	bool communities_cut;            /* more than BIRD_ROUTE_COMMUNITIES */
};

struct bird_routes {
	size_t n;
	struct bird_route *v;
};

/* The routes of exactly prefix ("203.0.113.53/32", "2001:db8:53::53/128";
 * an address without length is a host route), not a covering one: "show
 * route PREFIX [protocol PROTO] all". protocol (NULL: any) keeps the
 * routes of one protocol. A prefix with no route is 0 with n == 0 (BIRD's
 * 8001 "Network not found"). Free with bird_routes_free(). */
int bird_show_route(bird_conn_t *c, const char *prefix, const char *protocol,
                    struct bird_routes *out, char *err, size_t errlen);

void bird_routes_free(struct bird_routes *r);

/* Whether the route carries the standard community (asn, value), e.g.
 * BIRD_GSHUT_ASN, BIRD_GSHUT_VALUE: GRACEFUL_SHUTDOWN, RFC 8326. */
bool bird_route_has_community(const struct bird_route *r, uint16_t asn, uint16_t value);
#define BIRD_GSHUT_ASN 65535
#define BIRD_GSHUT_VALUE 0

/* "203.0.113.53/32" or "2001:db8::1" (host route) into canonical text
 * with its length ("2001:db8::1/128"). 0, or ED_EINVAL when not an IPv4
 * or IPv6 prefix or host bits are set. family gets 4 or 6 (may be NULL). */
int bird_prefix_norm(const char *in, char *out, size_t outlen, int *family);

/* Whether s is a BIRD symbol we accept as a protocol name: 1 to
 * BIRD_NAME_MAX of [A-Za-z0-9_], not beginning with a digit. */
bool bird_name_ok(const char *s);

#endif
