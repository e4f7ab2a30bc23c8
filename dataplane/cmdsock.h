/* cmdsock.h: the dataplane command socket (unix stream, line protocol).
 *
 * One command per line (LF or CRLF), one JSON object per line in reply,
 * in order. Commands:
 *   ping                  {"ok":true,"pid":N,"uptime":S,"version":"0.9.0"}
 *   load <zone> <file>    {"ok":true,"zone":"example.com.","serial":N}
 *   load <file>           (zone taken from the snapshot)
 *   drop <zone>           {"ok":true,"zone":"example.com."}
 *   expire <zone>         {"ok":true,"zone":"example.com.","expired":true}
 *   unexpire <zone>       {"ok":true,"zone":"example.com.","expired":false}
 *   zones                 {"ok":true,"zones":[{"zone":..,"serial":..,
 *                          "file":..,"loaded":T,"size":B,"expired":E},...]}
 *   stats                 {"ok":true,"queries":N,...} (see cmdsock.c)
 *   reload                {"ok":true,"loaded":N,"unchanged":N,"failed":N}
 * and those of the I/O mode (conf.extra; DPDK: lcores, ports, probe, stall,
 * lease, see io_dpdk.h; socket mode takes "lease [MS]" without effect,
 * {"ok":true,"io":"socket",...,"enforced":false}: it has no exception path).
 * Any failure: {"ok":false,"error":"..."}. A "load", "drop", "expire" or
 * "unexpire" reply is sent only after the new zone set is published and
 * the grace period has passed: once the client reads "ok", every query is
 * answered from the new set. An expired zone keeps its snapshot loaded
 * and is answered SERVFAIL (Extended DNS Error "Not Ready"); "unexpire",
 * or a "load" of the zone, serves it again. "reload" is zonedb_load_dir() on the snapshot directory (new or
 * changed *.snap files are loaded, zones without a file are kept). Words
 * are separated by blanks; file names with blanks are not supported, and
 * relative file names are relative to the dataplane's working directory.
 * Blank lines are ignored (no reply). Lines are at most CMD_LINE_MAX
 * octets: a longer line gets an error reply and is skipped.
 *
 * The command socket runs its own thread; its commands are zonedb writers.
 */
#ifndef EDGEDNS_CMDSOCK_H
#define EDGEDNS_CMDSOCK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "zonedb.h"

#define CMD_LINE_MAX 4096
#define CMD_CLIENTS_MAX 32

/* The dataplane's counters, the same for every I/O mode. Each I/O thread
 * keeps its own (cache-aligned, single writer) and they are summed on
 * request. */
struct dp_counters {
	uint64_t queries_udp;     /* UDP datagrams taken as queries */
	uint64_t queries_tcp;     /* framed TCP messages */
	uint64_t responses[16];   /* responses sent, by RCODE (header, 4 bits) */
	uint64_t truncated;       /* UDP responses with TC set */
	uint64_t dropped;         /* queries without a response: engine said
	                             nothing, truncated datagram, send failed */
	uint64_t tcp_accepted;    /* connections served */
	uint64_t tcp_refused;     /* closed at once: connection limit */
	uint64_t tcp_timeouts;    /* closed for idleness */
	uint64_t tcp_open;        /* open now (a gauge) */
	/* DPDK mode: frames on the ports (all uint64_t: summed as an array) */
	uint64_t rx_frames;       /* received on the NIC ports */
	uint64_t tx_frames;       /* sent on the NIC ports (answers and kernel's) */
	uint64_t to_kernel;       /* passed to the exception port */
	uint64_t from_kernel;     /* sent by the kernel out of a NIC port */
	uint64_t malformed;       /* dropped: broken framing or checksum */
	uint64_t looped;          /* dropped: our own frames seen again */
	uint64_t tx_dropped;      /* answers a full TX queue refused */
	uint64_t kernel_dropped;  /* frames to or from the kernel refused */
	uint64_t rrl_limited;     /* answers over the rate limit */
	uint64_t rrl_slipped;     /* ... of which sent truncated (slip) */
	uint64_t loops;           /* poll loop iterations (the heartbeat) */
	uint64_t probes;          /* in-band probe frames through a worker's path
	                             (counted here only: never in rx, tx, queries,
	                             responses, to_kernel, dropped or malformed) */
	/* Every I/O mode: queries never taken, for their source (peer.h) */
	uint64_t bad_source;      /* dropped: a source never answered (group or
	                             zero MAC, impossible, served or broadcast
	                             address, source port 0) */
	uint64_t loop_port;       /* dropped: from a looping service's port */
	uint64_t lease_dropped;   /* BGP and BFD frames dropped on the exception
	                             path, either way, while control's lease had
	                             run out (io_dpdk.h "lease"; not in to_kernel,
	                             from_kernel or kernel_dropped) */
};

/* Add c into out, field by field, each read with a relaxed atomic load
 * (c may be a live thread's counters: one writer, readers anywhere). */
void dp_counters_add(struct dp_counters *out, const struct dp_counters *c);

/* Fill *out with the sum of all counters (called from the command thread). */
typedef void (*dp_counters_fn)(void *arg, struct dp_counters *out);

struct cmdsock_conf {
	const char *path;           /* unix socket path (replaced if stale) */
	struct zonedb *db;
	const char *snapdir;        /* for "reload" */
	dp_counters_fn counters;    /* may be NULL: stats without counters */
	void *counters_arg;
	struct timespec started;    /* CLOCK_MONOTONIC at start, for uptime */
	int frames;                 /* "stats" shows the DPDK frame counters */
	/* Commands of the I/O mode itself ("lcores", "ports", "probe",
	 * "stall" in DPDK mode), given as the line's n blank-separated words
	 * (w[0] the command): returns the JSON reply (no newline) in a
	 * malloc()ed string, or NULL when w[0] is not one of its own or its
	 * arguments do not fit it. Runs on the command thread. May be NULL. */
	char *(*extra)(void *arg, char *const *w, unsigned n);
	void *extra_arg;
};

struct cmdsock;

/* Bind and listen on conf->path and start the command thread. A live
 * socket at path (another dataplane answering) is an error; a stale one is
 * removed. The conf strings must outlive the cmdsock. NULL on failure with
 * a message in err. */
struct cmdsock *cmdsock_new(const struct cmdsock_conf *conf, char *err,
                            size_t errlen);

/* Stop the thread (a command being executed completes first), close every
 * client, remove the socket file. NULL ignored. */
void cmdsock_free(struct cmdsock *cs);

/* Execute one command line (no newline) and write the JSON reply (no
 * newline) to a malloc()ed string. Used by the thread; exposed for tests.
 * NULL when out of memory. */
char *cmdsock_exec(const struct cmdsock_conf *conf, const char *line);

/* Write s to f as a JSON string (quoted, escaped as the replies are), for
 * the extra commands' replies. */
void cmdsock_json_str(FILE *f, const char *s);

/* The name the replies give RCODE rcode (0 to 15): "NOERROR", "RCODE12". */
const char *cmdsock_rcode_name(unsigned rcode);

#endif
