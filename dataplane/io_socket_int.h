/* io_socket_int.h: the kernel-socket server's private parts, shared by
 * io_socket.c (addresses, sockets, UDP workers, setup and teardown) and
 * io_tcp.c (the TCP thread: RFC 7766 connection handling).
 * Not part of the io_socket.h contract; nothing here is for other modules.
 */
#ifndef EDGEDNS_IO_SOCKET_INT_H
#define EDGEDNS_IO_SOCKET_INT_H

#include <pthread.h>
#include <stdalign.h>
#include <stdint.h>
#include <sys/socket.h>

#include "io_socket.h"

#define TCP_MSG_MAX 65535u   /* largest DNS message over TCP */

/* Single writer per counter block: the owner adds with a relaxed store
 * (no locked instruction), readers sum with relaxed loads. */
#define CNT_ADD(f, v) __atomic_store_n(&(f), (f) + (v), __ATOMIC_RELAXED)

enum { K_STOP = 1, K_LISTEN, K_CONN, K_UDP };

/* An epoll tag: every epoll data.ptr points to a struct starting with one. */
struct tag {
	int kind;
	int fd;
	unsigned idx;
};

struct udpw;     /* a UDP worker (io_socket.c only) */
struct tconn;    /* a TCP connection (io_tcp.c only) */

/* The TCP thread's context. Set up and freed by io_socket.c; used by
 * the TCP thread alone while it runs (counters excepted). */
struct tcpt {
	alignas(64) struct dp_counters cnt;
	alignas(64) struct ios *ios;
	unsigned rid;
	pthread_t th;
	int started;
	int ep;
	struct tag ls[IOS_LISTEN_MAX];
	unsigned nconns;
	struct tconn *head, *tail;
	uint8_t *scratch;       /* TCP_MSG_MAX: one response */
	uint32_t now;           /* unix seconds, read once per wakeup (cookies) */
};

struct ios {
	struct ios_conf conf;
	struct ios_addr listen[IOS_LISTEN_MAX];
	int stopfd;
	struct tag stoptag;
	struct udpw **udp;
	struct tcpt *tcp;
	int running;
};

/* setsockopt() of one int. */
static inline int ios_set_int(int fd, int level, int opt, int v)
{
	return setsockopt(fd, level, opt, &v, sizeof(v));
}

/* The TCP thread (pthread start routine; arg is ios->tcp): accepts,
 * answers and closes connections until the stop eventfd fires, then closes
 * every connection. A zonedb reader with id tcp->rid. */
void *ios_tcp_thread(void *arg);

#endif
