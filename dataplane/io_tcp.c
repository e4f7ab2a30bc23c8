/* io_tcp.c: the kernel-socket server's TCP thread (RFC 7766): one epoll
 * loop over the listeners and connections (see io_socket.h). */
#include "io_socket_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define TCP_EVENTS 64
#define TCP_INBUF_MIN 4096u

struct tconn {
	struct tag tag;         /* K_CONN */
	struct tconn *prev, *next;  /* idle order: least recently active first */
	uint64_t last_ms;
	uint8_t *in;
	size_t inlen, incap;
	uint8_t *out;
	size_t outoff, outlen, outcap;
	uint32_t evmask;        /* events registered with epoll */
	int eof;                /* the client has shut its sending side */
	struct sockaddr_storage peer;
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void lru_unlink(struct tcpt *t, struct tconn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		t->head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		t->tail = c->prev;
	c->prev = c->next = NULL;
}

static void lru_push(struct tcpt *t, struct tconn *c)
{
	c->prev = t->tail;
	c->next = NULL;
	if (t->tail != NULL)
		t->tail->next = c;
	else
		t->head = c;
	t->tail = c;
}

static void conn_touch(struct tcpt *t, struct tconn *c, uint64_t now)
{
	c->last_ms = now;
	if (t->tail != c) {
		lru_unlink(t, c);
		lru_push(t, c);
	}
}

static void conn_close(struct tcpt *t, struct tconn *c)
{
	lru_unlink(t, c);
	close(c->tag.fd);     /* also leaves the epoll set */
	free(c->in);
	free(c->out);
	free(c);
	t->nconns--;
	__atomic_store_n(&t->cnt.tcp_open, t->nconns, __ATOMIC_RELAXED);
}

static size_t conn_pending(const struct tconn *c)
{
	return c->outlen - c->outoff;
}

/* Append a framed response; -1 when out of memory. */
static int conn_queue(struct tconn *c, const uint8_t *msg, size_t len)
{
	size_t pending = conn_pending(c);
	if (c->outoff > 0) {
		memmove(c->out, c->out + c->outoff, pending);
		c->outoff = 0;
		c->outlen = pending;
	}
	if (c->outlen + 2 + len > c->outcap) {
		size_t nc = c->outcap ? c->outcap : 4096;
		while (nc < c->outlen + 2 + len)
			nc *= 2;
		uint8_t *no = realloc(c->out, nc);
		if (no == NULL)
			return -1;
		c->out = no;
		c->outcap = nc;
	}
	c->out[c->outlen] = (uint8_t)(len >> 8);
	c->out[c->outlen + 1] = (uint8_t)len;
	memcpy(c->out + c->outlen + 2, msg, len);
	c->outlen += 2 + len;
	return 0;
}

/* Answer every complete message in the input, in order, while the output
 * queue has room for one more largest answer. -1: close the connection. */
static int conn_process(struct tcpt *t, struct tconn *c, const struct zoneset *zs)
{
	const struct ios_conf *ic = &t->ios->conf;
	struct eng_xport x = { ENG_TCP, (const struct sockaddr *)&c->peer, t->now };
	size_t off = 0;
	while (c->inlen - off >= 2) {
		size_t mlen = ((size_t)c->in[off] << 8) | c->in[off + 1];
		if (c->inlen - off - 2 < mlen)
			break;
		if (conn_pending(c) + 2 + TCP_MSG_MAX > ic->tcp_out_cap)
			break;   /* backpressure: the client is not reading */
		CNT_ADD(t->cnt.queries_tcp, 1);
		size_t len = eng_answer(ic->eng, zs, c->in + off + 2, mlen, t->scratch,
		                        TCP_MSG_MAX, &x);
		off += 2 + mlen;
		if (len == 0) {
			CNT_ADD(t->cnt.dropped, 1);
			continue;
		}
		if (conn_queue(c, t->scratch, len) != 0)
			return -1;
		CNT_ADD(t->cnt.responses[t->scratch[3] & 15], 1);
	}
	if (off > 0) {
		memmove(c->in, c->in + off, c->inlen - off);
		c->inlen -= off;
	}
	return 0;
}

/* Write what is queued. -1: close the connection. */
static int conn_flush(struct tcpt *t, struct tconn *c, uint64_t now)
{
	while (conn_pending(c) > 0) {
		ssize_t r = send(c->tag.fd, c->out + c->outoff, conn_pending(c),
		                 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -1;
		}
		c->outoff += (size_t)r;
		conn_touch(t, c, now);
	}
	if (conn_pending(c) == 0)
		c->outoff = c->outlen = 0;
	return 0;
}

/* One read into the input buffer (grown to hold the message at its head). */
static int conn_read(struct tcpt *t, struct tconn *c, uint64_t now)
{
	size_t need = TCP_INBUF_MIN;
	if (c->inlen >= 2) {
		size_t m = 2 + (((size_t)c->in[0] << 8) | c->in[1]);
		if (m > need)
			need = m;
	}
	if (need > c->incap) {
		uint8_t *ni = realloc(c->in, need);
		if (ni == NULL)
			return -1;
		c->in = ni;
		c->incap = need;
	}
	if (c->inlen == c->incap)
		return 0;   /* full of complete messages waiting for output room */
	ssize_t r = recv(c->tag.fd, c->in + c->inlen, c->incap - c->inlen, MSG_DONTWAIT);
	if (r > 0) {
		c->inlen += (size_t)r;
		conn_touch(t, c, now);
	} else if (r == 0) {
		c->eof = 1;
	} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
		return -1;
	}
	return 0;
}

/* Whether the head of the input is a complete message (left unanswered
 * only under backpressure). */
static int conn_blocked(const struct tconn *c)
{
	if (c->inlen < 2)
		return 0;
	return c->inlen - 2 >= (((size_t)c->in[0] << 8) | c->in[1]);
}

static int conn_rearm(struct tcpt *t, struct tconn *c)
{
	uint32_t want = 0;
	if (!c->eof && !conn_blocked(c))
		want |= EPOLLIN;
	if (conn_pending(c) > 0)
		want |= EPOLLOUT;
	if (want == c->evmask)
		return 0;
	struct epoll_event ev = { .events = want, .data.ptr = c };
	if (epoll_ctl(t->ep, EPOLL_CTL_MOD, c->tag.fd, &ev) != 0)
		return -1;
	c->evmask = want;
	return 0;
}

static void conn_event(struct tcpt *t, struct tconn *c, uint32_t events,
                       const struct zoneset *zs, uint64_t now)
{
	if (conn_flush(t, c, now) != 0)
		goto close;
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !c->eof && !conn_blocked(c)) {
		if (conn_read(t, c, now) != 0)
			goto close;
	}
	if (conn_process(t, c, zs) != 0 || conn_flush(t, c, now) != 0)
		goto close;
	if (c->eof && conn_pending(c) == 0 && !conn_blocked(c))
		goto close;   /* every answer sent; a partial message is dropped */
	if ((events & EPOLLERR) || conn_rearm(t, c) != 0)
		goto close;
	return;
close:
	conn_close(t, c);
}

static void tcp_accept(struct tcpt *t, const struct tag *l, uint64_t now)
{
	const struct ios_conf *ic = &t->ios->conf;
	for (unsigned k = 0; k < 64; k++) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		int fd = accept4(l->fd, (struct sockaddr *)&peer, &plen,
		                 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (t->nconns >= ic->tcp_max_conns) {
			close(fd);
			CNT_ADD(t->cnt.tcp_refused, 1);
			continue;
		}
		struct tconn *c = calloc(1, sizeof(*c));
		if (c == NULL || (c->in = malloc(TCP_INBUF_MIN)) == NULL) {
			free(c);
			close(fd);
			CNT_ADD(t->cnt.tcp_refused, 1);
			continue;
		}
		c->tag.kind = K_CONN;
		c->tag.fd = fd;
		c->incap = TCP_INBUF_MIN;
		c->peer = peer;
		c->evmask = EPOLLIN;
		ios_set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1);
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		if (epoll_ctl(t->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
			free(c->in);
			free(c);
			close(fd);
			continue;
		}
		c->last_ms = now;
		lru_push(t, c);
		t->nconns++;
		CNT_ADD(t->cnt.tcp_accepted, 1);
		__atomic_store_n(&t->cnt.tcp_open, t->nconns, __ATOMIC_RELAXED);
	}
}

void *ios_tcp_thread(void *arg)
{
	struct tcpt *t = arg;
	struct ios *ios = t->ios;
	struct zonedb *db = ios->conf.db;
	uint64_t idle = ios->conf.tcp_idle_ms;
	pthread_setname_np(pthread_self(), "dns-tcp");
	zonedb_reader_register(db, t->rid);
	struct epoll_event evs[TCP_EVENTS];
	int stop = 0;
	while (!stop) {
		uint64_t now = now_ms();
		int timeout = -1;
		if (t->head != NULL) {
			uint64_t due = t->head->last_ms + idle;
			timeout = due <= now ? 0 : (int)(due - now);
		}
		int n = epoll_wait(t->ep, evs, TCP_EVENTS, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		zonedb_reader_online(db, t->rid);
		const struct zoneset *zs = zonedb_current(db);
		now = now_ms();
		t->now = (uint32_t)time(NULL);
		for (int i = 0; i < n; i++) {
			struct tag *tg = evs[i].data.ptr;
			if (tg->kind == K_STOP)
				stop = 1;
			else if (tg->kind == K_LISTEN)
				tcp_accept(t, tg, now);
			else
				conn_event(t, (struct tconn *)tg, evs[i].events, zs, now);
		}
		zonedb_reader_offline(db, t->rid);
		while (t->head != NULL && t->head->last_ms + idle <= now) {
			conn_close(t, t->head);
			CNT_ADD(t->cnt.tcp_timeouts, 1);
		}
	}
	while (t->head != NULL)
		conn_close(t, t->head);
	zonedb_reader_unregister(db, t->rid);
	return NULL;
}
