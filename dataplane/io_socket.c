/* io_socket.c: kernel-socket DNS server: addresses, sockets, batched UDP
 * workers, setup and teardown (the TCP thread is in io_tcp.c). */
#include "io_socket_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "peer.h"

#define RXBUF_SIZE 65536u    /* > any UDP payload, so truncation is seen */
#define TXBUF_SIZE 65535u
#define CTL_SIZE 64u         /* >= CMSG_SPACE(sizeof(struct in6_pktinfo)) */
#define UDP_DRAIN 8          /* batches taken from one socket per wakeup */

union ctlbuf {
	char buf[CTL_SIZE];
	struct cmsghdr align;
};

struct udpw {
	alignas(64) struct dp_counters cnt;
	alignas(64) struct ios *ios;
	unsigned idx;
	unsigned rid;
	pthread_t th;
	int started;
	int ep;
	struct tag socks[IOS_LISTEN_MAX];
	struct mmsghdr rx[IOS_BATCH];
	struct iovec rxiov[IOS_BATCH];
	struct sockaddr_storage peer[IOS_BATCH];
	union ctlbuf rxctl[IOS_BATCH];
	struct mmsghdr tx[IOS_BATCH];
	struct iovec txiov[IOS_BATCH];
	union ctlbuf txctl[IOS_BATCH];
	uint8_t *rxbuf;         /* IOS_BATCH * RXBUF_SIZE */
	uint8_t *txbuf;         /* IOS_BATCH * TXBUF_SIZE */
	struct rrl_table *rrl;  /* NULL: rate limiting off */
};

/* ---- addresses --------------------------------------------------------- */

int ios_parse_addr(const char *s, struct ios_addr *out)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *at = strrchr(s, '@');
	size_t hl = at != NULL ? (size_t)(at - s) : strlen(s);
	unsigned long port = 53;
	if (at != NULL) {
		char *end;
		errno = 0;
		port = strtoul(at + 1, &end, 10);
		if (at[1] == '\0' || *end != '\0' || errno != 0 || port > 65535)
			return ED_EINVAL;
	}
	if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') {
		s++;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(host))
		return ED_EINVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	memset(out, 0, sizeof(*out));
	struct sockaddr_in *a4 = (struct sockaddr_in *)&out->ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&out->ss;
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		out->len = sizeof(*a4);
		return ED_OK;
	}
	if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		out->len = sizeof(*a6);
		return ED_OK;
	}
	return ED_EINVAL;
}

char *ios_addr_str(const struct ios_addr *a, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *a4 = (const struct sockaddr_in *)&a->ss;
		inet_ntop(AF_INET, &a4->sin_addr, host, sizeof(host));
		port = ntohs(a4->sin_port);
	} else if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&a->ss;
		inet_ntop(AF_INET6, &a6->sin6_addr, host, sizeof(host));
		port = ntohs(a6->sin6_port);
	}
	snprintf(buf, size, "%s@%u", host, port);
	return buf;
}

static int is_wildcard(const struct ios_addr *a)
{
	if (a->ss.ss_family == AF_INET)
		return ((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr == htonl(INADDR_ANY);
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&a->ss;
	return IN6_IS_ADDR_UNSPECIFIED(&a6->sin6_addr);
}

#ifndef IPV6_FREEBIND
#define IPV6_FREEBIND 78
#endif

/* ---- sockets ----------------------------------------------------------- */

/* A bound socket for a, or -1 with the reason in err. */
static int open_sock(const struct ios_addr *a, int type, int reuseport,
                     char *err, size_t errlen)
{
	char as[INET6_ADDRSTRLEN + 8];
	const char *what = type == SOCK_DGRAM ? "udp" : "tcp";
	/* Listeners do not block; UDP sockets do, for sendmmsg (the worker
	 * receives with MSG_DONTWAIT). */
	int fd = socket(a->ss.ss_family,
	                type | SOCK_CLOEXEC | (type == SOCK_STREAM ? SOCK_NONBLOCK : 0), 0);
	if (fd < 0)
		goto fail;
	if (a->ss.ss_family == AF_INET6 && ios_set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1) != 0)
		goto fail;
	if (type == SOCK_STREAM && ios_set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1) != 0)
		goto fail;
	if (reuseport && ios_set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1) != 0)
		goto fail;
	/* Bind even before the address is on an interface: in DPDK mode the
	 * kernel's addresses are put on the exception port after we start,
	 * and an anycast address may be added late (as Knot DNS does). */
	if (ios_set_int(fd, a->ss.ss_family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6,
	                a->ss.ss_family == AF_INET ? IP_FREEBIND : IPV6_FREEBIND, 1) != 0)
		goto fail;
	if (type == SOCK_DGRAM && is_wildcard(a)) {
		/* Answers must leave from the address the query came to. */
		int rc = a->ss.ss_family == AF_INET
		         ? ios_set_int(fd, IPPROTO_IP, IP_PKTINFO, 1)
		         : ios_set_int(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
		if (rc != 0)
			goto fail;
	}
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) != 0)
		goto fail;
	return fd;
fail:
	snprintf(err, errlen, "%s %s: %s", what, ios_addr_str(a, as, sizeof(as)),
	         strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

/* ---- UDP ----------------------------------------------------------------- */

static void udp_setup(struct udpw *w)
{
	for (unsigned i = 0; i < IOS_BATCH; i++) {
		w->rxiov[i].iov_base = w->rxbuf + (size_t)i * RXBUF_SIZE;
		w->rxiov[i].iov_len = RXBUF_SIZE;
		struct msghdr *m = &w->rx[i].msg_hdr;
		memset(m, 0, sizeof(*m));
		m->msg_name = &w->peer[i];
		m->msg_iov = &w->rxiov[i];
		m->msg_iovlen = 1;
		w->txiov[i].iov_base = w->txbuf + (size_t)i * TXBUF_SIZE;
		m = &w->tx[i].msg_hdr;
		memset(m, 0, sizeof(*m));
		m->msg_iov = &w->txiov[i];
		m->msg_iovlen = 1;
	}
}

/* The control message of an answer to query i: leave from the address the
 * query was sent to (wildcard listeners). 0 octets when none. */
static size_t udp_reply_ctl(struct udpw *w, unsigned i, unsigned t)
{
	struct msghdr *rm = &w->rx[i].msg_hdr;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(rm); c != NULL; c = CMSG_NXTHDR(rm, c)) {
		struct msghdr *tm = &w->tx[t].msg_hdr;
		tm->msg_control = w->txctl[t].buf;
		tm->msg_controllen = CTL_SIZE;
		struct cmsghdr *o = CMSG_FIRSTHDR(tm);
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi, po;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			memset(&po, 0, sizeof(po));
			po.ipi_spec_dst = pi.ipi_addr;
			o->cmsg_level = IPPROTO_IP;
			o->cmsg_type = IP_PKTINFO;
			o->cmsg_len = CMSG_LEN(sizeof(po));
			memcpy(CMSG_DATA(o), &po, sizeof(po));
			return CMSG_SPACE(sizeof(po));
		}
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			o->cmsg_level = IPPROTO_IPV6;
			o->cmsg_type = IPV6_PKTINFO;
			o->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(o), &pi, sizeof(pi));
			return CMSG_SPACE(sizeof(pi));
		}
	}
	return 0;
}

/* What peer.h says of a datagram's source: 0 to answer it, else the
 * counter it is dropped into. */
enum { SRC_OK = 0, SRC_BAD, SRC_LOOP };

static int udp_source(const struct sockaddr_storage *ss)
{
	uint16_t port;
	bool never;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		port = ntohs(s4->sin_port);
		never = peer_v4_never((const uint8_t *)&s4->sin_addr, PEER_HOST);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		port = ntohs(s6->sin6_port);
		never = peer_v6_never(s6->sin6_addr.s6_addr, PEER_HOST);
	} else {
		return SRC_BAD;
	}
	if (never || port == 0)
		return SRC_BAD;
	return peer_loop_port(port) ? SRC_LOOP : SRC_OK;
}

/* The address octets of a peer, for rate limiting (family in *fam). */
static const uint8_t *peer_addr(const struct sockaddr_storage *ss, int *fam)
{
	*fam = ss->ss_family;
	if (ss->ss_family == AF_INET)
		return (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr;
	return ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
}

/* Answer one received batch of n datagrams on socket s and send the
 * answers. The zoneset is used only between online and quiescent. */
_Static_assert(IOS_BATCH <= ENG_BURST_MAX, "a UDP batch is one engine burst");

static void udp_batch(struct udpw *w, const struct tag *s, unsigned n)
{
	struct ios *ios = w->ios;
	const struct eng_conf *conf = ios->conf.eng;
	const struct zoneset *zs = zonedb_current(ios->conf.db);
	uint64_t rc[16] = { 0 };
	unsigned nq = 0, ndrop = 0, ntc = 0, t = 0, nbad = 0, nloop = 0, limited = 0, slipped = 0;
	struct eng_msg m[IOS_BATCH];
	unsigned idx[IOS_BATCH];
	uint32_t now = (uint32_t)time(NULL);   /* once a batch, for cookies */
	struct timespec mono;                  /* and for rate limiting (vDSO) */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &mono);
	uint64_t now_ms = (uint64_t)mono.tv_sec * 1000u + (uint64_t)mono.tv_nsec / 1000000u;
	for (unsigned i = 0; i < n; i++) {
		struct msghdr *rm = &w->rx[i].msg_hdr;
		if (rm->msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
			ndrop++;
			continue;
		}
		int src = udp_source(&w->peer[i]);
		if (src != SRC_OK) {
			nbad += src == SRC_BAD;
			nloop += src == SRC_LOOP;
			continue;
		}
		if (w->rrl != NULL) {
			int fam;
			const uint8_t *a = peer_addr(&w->peer[i], &fam);
			rrl_prefetch(w->rrl, fam, a);
		}
		m[nq].q = w->rxiov[i].iov_base;
		m[nq].qlen = w->rx[i].msg_len;
		m[nq].resp = w->txbuf + (size_t)nq * TXBUF_SIZE;
		m[nq].cap = TXBUF_SIZE;
		m[nq].client = (const struct sockaddr *)&w->peer[i];
		m[nq].now = now;
		idx[nq] = i;
		nq++;
	}
	/* one burst: the engine overlaps the memory fetches of all of them */
	eng_answer_burst(conf, zs, m, nq, ENG_UDP);
	for (unsigned j = 0; j < nq; j++) {
		unsigned i = idx[j];
		struct msghdr *rm = &w->rx[i].msg_hdr;
		size_t len = m[j].rlen;
		uint8_t *resp = m[j].resp;
		/* every answer, errors too; a valid server cookie proves the
		 * source address: exempt */
		if (len != 0 && w->rrl != NULL && m[j].cookie != ENG_COOKIE_VALID) {
			int fam;
			const uint8_t *a = peer_addr(&w->peer[i], &fam);
			enum rrl_verdict v = rrl_check(w->rrl, fam, a, now_ms);
			if (v != RRL_PASS) {
				limited++;
				if (v == RRL_SLIP && (len = rrl_truncate(resp, len)) != 0)
					slipped++;
				else
					len = 0;
			}
		}
		if (len == 0) {
			ndrop++;
			continue;
		}
		rc[resp[3] & 15]++;
		ntc += (resp[2] >> 1) & 1;
		struct msghdr *tm = &w->tx[t].msg_hdr;
		tm->msg_name = &w->peer[i];
		tm->msg_namelen = rm->msg_namelen;
		tm->msg_control = NULL;
		tm->msg_controllen = rm->msg_controllen ? udp_reply_ctl(w, i, t) : 0;
		if (tm->msg_controllen == 0)
			tm->msg_control = NULL;
		w->txiov[t].iov_base = resp;
		w->txiov[t].iov_len = len;
		t++;
	}
	/* Done with the zoneset of this batch. */
	zonedb_quiescent(ios->conf.db, w->rid);
	unsigned sent = 0;
	while (sent < t) {
		int r = sendmmsg(s->fd, &w->tx[sent], t - sent, 0);
		if (r > 0) {
			sent += (unsigned)r;
		} else if (r < 0 && errno == EINTR) {
			continue;
		} else {
			/* The first datagram left fails (e.g. no route): skip it. */
			uint8_t *resp = w->tx[sent].msg_hdr.msg_iov->iov_base;
			rc[resp[3] & 15]--;
			ndrop++;
			sent++;
		}
	}
	CNT_ADD(w->cnt.queries_udp, nq);
	if (ndrop)
		CNT_ADD(w->cnt.dropped, ndrop);
	if (nbad)
		CNT_ADD(w->cnt.bad_source, nbad);
	if (nloop)
		CNT_ADD(w->cnt.loop_port, nloop);
	if (limited) {
		CNT_ADD(w->cnt.rrl_limited, limited);
		CNT_ADD(w->cnt.rrl_slipped, slipped);
	}
	if (ntc)
		CNT_ADD(w->cnt.truncated, ntc);
	for (unsigned k = 0; k < 16; k++)
		if (rc[k])
			CNT_ADD(w->cnt.responses[k], rc[k]);
}

static void udp_drain(struct udpw *w, const struct tag *s)
{
	for (unsigned b = 0; b < UDP_DRAIN; b++) {
		for (unsigned i = 0; i < IOS_BATCH; i++) {
			struct msghdr *m = &w->rx[i].msg_hdr;
			m->msg_namelen = sizeof(w->peer[i]);
			m->msg_control = w->rxctl[i].buf;
			m->msg_controllen = CTL_SIZE;
			m->msg_flags = 0;
		}
		int n = recvmmsg(s->fd, w->rx, IOS_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;   /* EAGAIN: drained; other errors: next wakeup */
		udp_batch(w, s, (unsigned)n);
		if (n < IOS_BATCH)
			return;
	}
}

static void *udp_thread(void *arg)
{
	struct udpw *w = arg;
	struct ios *ios = w->ios;
	struct zonedb *db = ios->conf.db;
	char name[16];
	snprintf(name, sizeof(name), "dns-udp/%u", w->idx);
	pthread_setname_np(pthread_self(), name);
	zonedb_reader_register(db, w->rid);
	struct epoll_event evs[IOS_LISTEN_MAX + 1];
	for (;;) {
		/* Offline while blocked: an idle worker must not hold up a
		 * zone publication. */
		int n = epoll_wait(w->ep, evs, IOS_LISTEN_MAX + 1, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		zonedb_reader_online(db, w->rid);
		int stop = 0;
		for (int i = 0; i < n; i++) {
			const struct tag *tg = evs[i].data.ptr;
			if (tg->kind == K_STOP)
				stop = 1;
			else
				udp_drain(w, tg);
		}
		zonedb_reader_offline(db, w->rid);
		if (stop)
			break;
	}
	zonedb_reader_unregister(db, w->rid);
	return NULL;
}

/* ---- server ---------------------------------------------------------------- */

unsigned ios_readers(const struct ios_conf *conf)
{
	return conf->threads + 1;
}

static int ep_add(int ep, int fd, void *ptr)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = ptr };
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

struct ios *ios_new(const struct ios_conf *conf, char *err, size_t errlen)
{
	if (conf->nlisten == 0 || conf->nlisten > IOS_LISTEN_MAX || conf->threads == 0 ||
	    conf->db == NULL || conf->eng == NULL) {
		snprintf(err, errlen, "io: bad configuration");
		return NULL;
	}
	struct ios *ios = calloc(1, sizeof(*ios));
	if (ios == NULL)
		goto nomem;
	ios->conf = *conf;
	memcpy(ios->listen, conf->listen, conf->nlisten * sizeof(*ios->listen));
	ios->conf.listen = ios->listen;
	if (ios->conf.tcp_idle_ms == 0)
		ios->conf.tcp_idle_ms = IOS_TCP_IDLE_MS_DEFAULT;
	if (ios->conf.tcp_max_conns == 0)
		ios->conf.tcp_max_conns = IOS_TCP_MAX_CONNS_DEFAULT;
	if (ios->conf.tcp_out_cap == 0)
		ios->conf.tcp_out_cap = IOS_TCP_OUT_CAP_DEFAULT;
	if (ios->conf.tcp_out_cap < 2 * (TCP_MSG_MAX + 2))
		ios->conf.tcp_out_cap = 2 * (TCP_MSG_MAX + 2);
	ios->stoptag.kind = K_STOP;
	ios->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ios->stoptag.fd = ios->stopfd;
	if (ios->stopfd < 0) {
		snprintf(err, errlen, "io: eventfd: %s", strerror(errno));
		goto fail;
	}

	/* TCP first: a TCP bind conflict also finds another server on the
	 * address, which SO_REUSEPORT on UDP would silently share it with. */
	ios->tcp = aligned_alloc(64, sizeof(*ios->tcp));
	if (ios->tcp == NULL)
		goto nomem;
	memset(ios->tcp, 0, sizeof(*ios->tcp));
	struct tcpt *t = ios->tcp;
	t->ios = ios;
	t->rid = conf->rcu_base + conf->threads;
	t->ep = -1;
	for (unsigned a = 0; a < conf->nlisten; a++)
		t->ls[a].fd = -1;
	if ((t->scratch = malloc(TCP_MSG_MAX)) == NULL)
		goto nomem;
	if ((t->ep = epoll_create1(EPOLL_CLOEXEC)) < 0 || ep_add(t->ep, ios->stopfd, &ios->stoptag) != 0) {
		snprintf(err, errlen, "io: epoll: %s", strerror(errno));
		goto fail;
	}
	for (unsigned a = 0; a < conf->nlisten; a++) {
		int fd = open_sock(&ios->listen[a], SOCK_STREAM, 0, err, errlen);
		if (fd < 0)
			goto fail;
		t->ls[a].kind = K_LISTEN;
		t->ls[a].fd = fd;
		t->ls[a].idx = a;
		if (listen(fd, SOMAXCONN) != 0 || ep_add(t->ep, fd, &t->ls[a]) != 0) {
			char as[64];
			snprintf(err, errlen, "tcp %s: %s",
			         ios_addr_str(&ios->listen[a], as, sizeof(as)), strerror(errno));
			goto fail;
		}
	}

	ios->udp = calloc(conf->threads, sizeof(*ios->udp));
	if (ios->udp == NULL)
		goto nomem;
	for (unsigned i = 0; i < conf->threads; i++) {
		struct udpw *w = aligned_alloc(64, sizeof(*w));
		if (w == NULL)
			goto nomem;
		memset(w, 0, sizeof(*w));
		ios->udp[i] = w;
		w->ios = ios;
		w->idx = i;
		w->rid = conf->rcu_base + i;
		w->ep = -1;
		for (unsigned a = 0; a < IOS_LISTEN_MAX; a++)
			w->socks[a].fd = -1;
		w->rxbuf = malloc((size_t)IOS_BATCH * RXBUF_SIZE);
		w->txbuf = malloc((size_t)IOS_BATCH * TXBUF_SIZE);
		if (w->rxbuf == NULL || w->txbuf == NULL)
			goto nomem;
		if (conf->rrl.rate > 0) {
			struct rrl_conf rc = conf->rrl;
			rc.rate = (rc.rate + conf->threads - 1) / conf->threads;
			if (rc.burst)
				rc.burst = (rc.burst + conf->threads - 1) / conf->threads;
			uint64_t seed;
			if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
				seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ i;
			if (rrl_conf_check(&rc, err, errlen) != ED_OK)
				goto fail;
			if ((w->rrl = rrl_new(&rc, seed)) == NULL)
				goto nomem;
		}
		udp_setup(w);
		if ((w->ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
		    ep_add(w->ep, ios->stopfd, &ios->stoptag) != 0) {
			snprintf(err, errlen, "io: epoll: %s", strerror(errno));
			goto fail;
		}
		for (unsigned a = 0; a < conf->nlisten; a++) {
			int fd = open_sock(&ios->listen[a], SOCK_DGRAM, 1, err, errlen);
			if (fd < 0)
				goto fail;
			w->socks[a].kind = K_UDP;
			w->socks[a].fd = fd;
			w->socks[a].idx = a;
			ios_set_int(fd, SOL_SOCKET, SO_RCVBUF, 4 << 20);
			if (ep_add(w->ep, fd, &w->socks[a]) != 0) {
				snprintf(err, errlen, "io: epoll: %s", strerror(errno));
				goto fail;
			}
		}
	}
	return ios;
nomem:
	snprintf(err, errlen, "io: out of memory");
fail:
	ios_free(ios);
	return NULL;
}

int ios_start(struct ios *ios, char *err, size_t errlen)
{
	int rc;
	for (unsigned i = 0; i < ios->conf.threads; i++) {
		struct udpw *w = ios->udp[i];
		if ((rc = pthread_create(&w->th, NULL, udp_thread, w)) != 0)
			goto fail;
		w->started = 1;
	}
	if ((rc = pthread_create(&ios->tcp->th, NULL, ios_tcp_thread, ios->tcp)) != 0)
		goto fail;
	ios->tcp->started = 1;
	ios->running = 1;
	return ED_OK;
fail:
	snprintf(err, errlen, "io: starting a thread: %s", strerror(rc));
	ios->running = 1;
	ios_stop(ios);
	return ED_EIO;
}

void ios_stop(struct ios *ios)
{
	if (ios == NULL || !ios->running)
		return;
	uint64_t one = 1;
	ssize_t ignored = write(ios->stopfd, &one, sizeof(one));
	(void)ignored;
	for (unsigned i = 0; i < ios->conf.threads; i++) {
		if (ios->udp[i] != NULL && ios->udp[i]->started) {
			pthread_join(ios->udp[i]->th, NULL);
			ios->udp[i]->started = 0;
		}
	}
	if (ios->tcp != NULL && ios->tcp->started) {
		pthread_join(ios->tcp->th, NULL);
		ios->tcp->started = 0;
	}
	ios->running = 0;
}

void ios_free(struct ios *ios)
{
	if (ios == NULL)
		return;
	ios_stop(ios);
	if (ios->udp != NULL) {
		for (unsigned i = 0; i < ios->conf.threads; i++) {
			struct udpw *w = ios->udp[i];
			if (w == NULL)
				continue;
			for (unsigned a = 0; a < IOS_LISTEN_MAX; a++)
				if (w->socks[a].fd >= 0)
					close(w->socks[a].fd);
			if (w->ep >= 0)
				close(w->ep);
			free(w->rxbuf);
			free(w->txbuf);
			rrl_free(w->rrl);
			free(w);
		}
		free(ios->udp);
	}
	if (ios->tcp != NULL) {
		struct tcpt *t = ios->tcp;
		for (unsigned a = 0; a < ios->conf.nlisten; a++)
			if (t->ls[a].fd >= 0)
				close(t->ls[a].fd);
		if (t->ep >= 0)
			close(t->ep);
		free(t->scratch);
		free(t);
	}
	if (ios->stopfd >= 0)
		close(ios->stopfd);
	free(ios);
}

void ios_counters(struct ios *ios, struct dp_counters *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < ios->conf.threads; i++)
		dp_counters_add(out, &ios->udp[i]->cnt);
	dp_counters_add(out, &ios->tcp->cnt);
}

void ios_counters_cb(void *arg, struct dp_counters *out)
{
	ios_counters(arg, out);
}
