/* io_socket.h: the kernel-socket DNS server (UDP workers and a TCP thread).
 *
 * UDP: `threads` worker threads; each has its own SO_REUSEPORT socket on
 * every listen address (the kernel spreads datagrams over them) and works
 * in batches of IOS_BATCH: one recvmmsg, eng_answer() per datagram into
 * preallocated buffers, one sendmmsg. Nothing is allocated, locked or
 * logged per packet; counters are per thread.
 *
 * TCP (RFC 7766): one thread with epoll over non-blocking listen sockets
 * and connections; 2-octet length framing, pipelined queries answered in
 * order, partial reads and writes, messages up to 65535 octets, idle
 * timeout, connection limit (connections beyond it are closed at once),
 * and a cap on the output queued per connection (past it the connection's
 * input is not read until the client reads its answers).
 *
 * UDP sources are checked as peer.h says (counted in bad_source and
 * loop_port, never answered), and every UDP answer, error answers included,
 * passes the worker's rate limiting table (rrl.h; a valid server cookie
 * exempts it), as on the DPDK path. TCP answers are not rate limited: the
 * handshake proves the client's address, so they cannot be reflected, and
 * TCP is where a slipped (truncated) answer sends a real client.
 *
 * Every I/O thread is a zonedb reader: UDP worker i uses reader id
 * rcu_base + i, the TCP thread rcu_base + threads. So the zonedb must be
 * created for at least ios_readers() readers past rcu_base.
 */
#ifndef EDGEDNS_IO_SOCKET_H
#define EDGEDNS_IO_SOCKET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "cmdsock.h"
#include "engine.h"
#include "rrl.h"
#include "zonedb.h"

#define IOS_BATCH 32
#define IOS_LISTEN_MAX 16
#define IOS_TCP_IDLE_MS_DEFAULT 10000
#define IOS_TCP_MAX_CONNS_DEFAULT 1024
#define IOS_TCP_OUT_CAP_DEFAULT (256u * 1024u)

/* One listen address: UDP and TCP on the same address and port. */
struct ios_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

struct ios_conf {
	const struct ios_addr *listen;
	unsigned nlisten;               /* 1..IOS_LISTEN_MAX */
	unsigned threads;               /* UDP workers, >= 1 */
	unsigned tcp_idle_ms;           /* 0: IOS_TCP_IDLE_MS_DEFAULT */
	unsigned tcp_max_conns;         /* 0: IOS_TCP_MAX_CONNS_DEFAULT */
	size_t tcp_out_cap;             /* 0: IOS_TCP_OUT_CAP_DEFAULT; >= 2 * 65537 */
	const struct eng_conf *eng;     /* must outlive the server */
	struct zonedb *db;
	unsigned rcu_base;              /* first zonedb reader id to use */
	struct rrl_conf rrl;            /* rate 0: off. As dpdk_conf.rrl: the rate is
	                                   per client prefix for the whole server, each
	                                   of the threads allows rate / threads */
};

struct ios;

/* Reader ids the server uses: threads + 1. */
unsigned ios_readers(const struct ios_conf *conf);

/* Create and bind every socket (so address errors show at start); no
 * thread yet. NULL on failure, with a message naming the address in err. */
struct ios *ios_new(const struct ios_conf *conf, char *err, size_t errlen);

/* Start the threads. 0 or ED_EIO (message in err). */
int ios_start(struct ios *ios, char *err, size_t errlen);

/* Stop and join the threads (each goes offline and unregisters from the
 * zonedb first). Idempotent. */
void ios_stop(struct ios *ios);

/* ios_stop() then close everything. NULL ignored. */
void ios_free(struct ios *ios);

/* Sum of every thread's counters into *out (overwritten). Any thread. */
void ios_counters(struct ios *ios, struct dp_counters *out);

/* Same, with the dp_counters_fn signature (arg is the ios). */
void ios_counters_cb(void *arg, struct dp_counters *out);

/* "127.0.0.1@53", "::1@5353", "[::1]@53", "0.0.0.0" (port 53): parse a
 * listen address. 0 or ED_EINVAL. */
int ios_parse_addr(const char *s, struct ios_addr *out);

/* Presentation form "ADDR@PORT" of a, into buf. Returns buf. */
char *ios_addr_str(const struct ios_addr *a, char *buf, size_t size);

#endif
